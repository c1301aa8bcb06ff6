"""Bad input gets one clear LoadError naming the file and the problem, never a raw traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pydicom
import pytest
from dicom_samples import dicom_file

from medinteract.errors import DecoderError, LoadError, MedinteractError, SeriesError
from medinteract.io import load


def assert_names(err: pytest.ExceptionInfo, path, *words: str) -> None:
    message = str(err.value)
    assert str(path) in message, message
    for word in words:
        assert word in message, message
    assert isinstance(err.value, MedinteractError)


def test_nonexistent_path(tmp_path):
    path = tmp_path / "nope.dcm"
    with pytest.raises(LoadError) as err:
        load(path)
    assert_names(err, path, "does not exist")


def test_empty_folder(tmp_path):
    with pytest.raises(LoadError) as err:
        load(tmp_path)
    assert_names(err, tmp_path, "empty folder")


def test_folder_without_dicom(tmp_path):
    (tmp_path / "README.txt").write_text("hello")
    (tmp_path / "notes.md").write_text("# notes")
    with pytest.raises(LoadError) as err:
        load(tmp_path)
    assert_names(err, tmp_path, "no DICOM files", "README.txt")


def test_folder_with_dicom_but_no_images(tmp_path):
    shutil.copy(dicom_file("rtplan.dcm"), tmp_path / "plan.dcm")
    with pytest.raises(LoadError) as err:
        load(tmp_path)
    assert_names(err, tmp_path, "no images", "RT Plan")


def test_non_dicom_file_with_dcm_name(tmp_path):
    path = tmp_path / "scan.dcm"
    path.write_text("this is a text file, not a scan\n" * 20)
    with pytest.raises(LoadError) as err:
        load(path)
    assert_names(err, path, "not a DICOM file")
    assert isinstance(err.value.__cause__, Exception)  # chained, not leaked


@pytest.mark.parametrize("fraction", [0.5, 0.9])
def test_truncated_dicom_file(tmp_path, fraction):
    data = dicom_file("CT_small.dcm").read_bytes()
    path = tmp_path / "truncated.dcm"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(LoadError) as err:
        load(path)
    assert_names(err, path, "truncated")


def test_truncated_header(tmp_path):
    data = dicom_file("CT_small.dcm").read_bytes()
    path = tmp_path / "header_only.dcm"
    path.write_bytes(data[:1500])
    with pytest.raises(LoadError) as err:
        load(path)
    assert_names(err, path)


@pytest.mark.parametrize("name, kind", [("rtplan.dcm", "RT Plan"), ("test-SR.dcm", "SR")])
def test_dicom_without_pixel_data(name, kind):
    path = dicom_file(name)
    with pytest.raises(LoadError) as err:
        load(path)
    assert_names(err, path, "no image", kind)


def test_unknown_extension(tmp_path):
    path = tmp_path / "scan.xyz"
    path.write_bytes(b"\x00" * 300)
    with pytest.raises(LoadError) as err:
        load(path)
    assert_names(err, path, "unknown file type", ".xyz", "NIfTI")


def test_dicom_without_extension_is_recognised(tmp_path):
    path = tmp_path / "IM0001"
    shutil.copy(dicom_file("CT_small.dcm"), path)
    assert load(path).modality == "CT"


def test_several_series_without_choice_is_a_series_error(ct_series, tmp_path):
    ct_series([0.0, 2.5], tmp_path / "s" / "a", number=1)
    ct_series([0.0, 2.5], tmp_path / "s" / "b", number=2)
    with pytest.raises(SeriesError) as err:
        load(tmp_path / "s")
    assert_names(err, tmp_path / "s", "2 series", "series=")
    assert isinstance(err.value, LoadError)


def test_bad_series_value(ct_series, tmp_path):
    ct_series([0.0, 2.5], tmp_path / "s", number=4, description="AXIAL")
    with pytest.raises(SeriesError) as err:
        load(tmp_path / "s", series="CORONAL")
    assert_names(err, tmp_path / "s", "CORONAL", "AXIAL")


def test_series_choice_on_a_non_dicom_file(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.zeros((4, 4)))
    with pytest.raises(LoadError, match="series= only applies"):
        load(path, series=1)


def test_list_with_a_non_dicom_file(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(LoadError) as err:
        load([dicom_file("CT_small.dcm"), text])
    assert_names(err, text, "not a DICOM file")


def test_damaged_compressed_pixel_data_is_a_load_error():
    path = dicom_file("emri_small_jpeg_2k_lossless_too_short.dcm")
    with pytest.raises(LoadError) as err:
        load(path)
    assert_names(err, path)


def test_missing_decoder_is_a_decoder_error_naming_syntax_and_package(monkeypatch):
    """Our translation of pydicom's "no plugin available" state (simulated in-process)."""
    path = dicom_file("MR_small_jp2klossless.dcm")
    syntax = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
    decoder = pydicom.pixels.get_decoder(syntax)
    monkeypatch.setattr(decoder, "_available", {})
    monkeypatch.setattr(decoder, "_unavailable",
                        {"pylibjpeg": ("pylibjpeg>=2.0", "pylibjpeg-openjpeg>=2.0")})
    with pytest.raises(DecoderError) as err:
        load(path)
    assert_names(err, path, syntax.name, str(syntax), "pylibjpeg-openjpeg",
                 'pip install "medinteract[decoders]"')


def test_decoder_error_when_the_decoder_packages_cannot_be_imported(tmp_path):
    """A real environment where every decoder plugin's import fails (run in a subprocess)."""
    files = {name: str(dicom_file(name)) for name in
             ("MR2_J2KR.dcm", "MR_small_jpeg_ls_lossless.dcm", "JPEG-LL.dcm")}
    script = textwrap.dedent(f"""
        import json, sys
        for blocked in ("pylibjpeg", "libjpeg", "openjpeg", "rle", "gdcm", "PIL", "jpeg_ls"):
            sys.modules[blocked] = None  # any import of these now fails
        from medinteract.errors import DecoderError
        from medinteract.io import load
        results = {{}}
        for name, path in {files!r}.items():
            try:
                load(path)
                results[name] = "loaded"
            except DecoderError as err:
                results[name] = str(err)
        print(json.dumps(results))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, check=True)
    results = json.loads(done.stdout.strip().splitlines()[-1])
    for name, message in results.items():
        syntax = pydicom.dcmread(files[name], stop_before_pixels=True).file_meta.TransferSyntaxUID
        assert files[name] in message
        assert syntax.name in message and str(syntax) in message
        assert 'pip install "medinteract[decoders]"' in message
    assert "pylibjpeg-openjpeg" in results["MR2_J2KR.dcm"]
    assert "pylibjpeg-libjpeg" in results["MR_small_jpeg_ls_lossless.dcm"]
    assert "Traceback" not in done.stderr


def all_test_files():
    folders = {dicom_file("CT_small.dcm").parent,  # shipped with pydicom
               dicom_file("emri_small.dcm").parent}  # pydicom-data
    return sorted(p for folder in folders for p in folder.glob("*.dcm")
                  if p.stat().st_size < 3_000_000)  # the big ones are covered elsewhere


@pytest.mark.slow
def test_every_pydicom_test_file_loads_or_raises_a_clear_error():
    """No file in pydicom's test set makes a raw pydicom/numpy exception escape."""
    files = all_test_files()
    assert len(files) > 100
    loaded, refused = 0, []
    for path in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                load(path)
            loaded += 1
        except MedinteractError as err:
            assert str(path) in str(err)
            assert err.__cause__ is None or "Traceback" not in str(err)
            refused.append(path.name)
    assert loaded > 100
    for name in ("rtplan.dcm", "test-SR.dcm", "MR_truncated.dcm", "waveform_ecg.dcm"):
        assert name in refused


def test_bad_lists(tmp_path):
    with pytest.raises(LoadError, match="empty list"):
        load([])
    with pytest.raises(LoadError, match="is a folder"):
        load([dicom_file("CT_small.dcm"), tmp_path])
    with pytest.raises(LoadError, match="does not exist"):
        load([dicom_file("CT_small.dcm"), tmp_path / "gone.dcm"])


def test_dicomdir_points_to_its_folder():
    path = dicom_file("CT_small.dcm").parent / "dicomdirtests" / "DICOMDIR-implicit"
    if not path.exists():
        pytest.skip("pydicom's dicomdirtests folder is not installed")
    with pytest.raises(LoadError, match="load the folder") as err:
        load(path)
    assert_names(err, path, "Media Storage Directory")


@pytest.mark.parametrize(("reader", "name"), [
    *[("load", n) for n in ("empty.dcm", "empty", "empty.png", "empty.npy", "empty.nii")],
    ("dicom_table", "empty.dcm"), ("dicom_table", "empty")])
def test_zero_byte_file_is_reported_as_empty(tmp_path, reader, name):
    from medinteract import io

    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(LoadError) as err:
        getattr(io, reader)(path)
    assert_names(err, path, "empty (0 bytes)")


def test_folder_named_like_a_dicom_file(tmp_path):
    folder = tmp_path / "x.dcm"
    folder.mkdir()
    with pytest.raises(LoadError) as err:
        load(folder)
    assert_names(err, folder, "empty folder")


def test_unicode_path_loads_and_is_named_in_errors(tmp_path):
    source = pydicom.data.get_testdata_file("CT_small.dcm", download=False)
    good = tmp_path / "ünïcødé 日本.dcm"
    shutil.copy(source, good)
    assert load(good).paths == (good,)
    bad = tmp_path / "dañado 日本.dcm"
    bad.write_bytes(good.read_bytes()[:-3000])
    with pytest.raises(LoadError) as err:
        load(bad)
    assert_names(err, bad)


def test_complex_nifti_is_refused_not_silently_made_real(tmp_path):
    nib = pytest.importorskip("nibabel")
    path = tmp_path / "complex.nii"
    nib.save(nib.Nifti1Image(np.ones((4, 5, 6), np.complex64), np.eye(4)), str(path))
    with pytest.raises(LoadError) as err:
        load(path)
    assert_names(err, path, "complex")


def test_npz_spacing_with_one_value_is_refused(tmp_path):
    path = tmp_path / "line.npz"
    np.savez(path, image=np.zeros((3, 3)), spacing=[1.0])
    with pytest.raises(LoadError) as err:
        load(path)
    assert_names(err, path, "2 or 3 spatial axes")


def test_truncated_numpy_file_is_called_damaged_not_pickled(tmp_path):
    whole = tmp_path / "whole.npy"
    np.save(whole, np.zeros((50, 50)))
    path = tmp_path / "cut.npy"
    path.write_bytes(whole.read_bytes()[:300])
    with pytest.raises(LoadError) as err:
        load(path)
    assert_names(err, path, "truncated")
    assert "pickle" not in str(err.value)


@pytest.mark.parametrize("name", ["garbage.npy", "garbage.npz"])
def test_garbage_numpy_file_is_called_not_numpy_not_pickled(tmp_path, name):
    # numpy.load calls every file without the NPY/zip marker "pickled (object) data"
    path = tmp_path / name
    path.write_bytes(b"this is not an array at all")
    with pytest.raises(LoadError) as err:
        load(path)
    assert_names(err, path, "is not a NumPy file")
    assert "pickle" not in str(err.value)


def test_pickles_and_object_arrays_are_named_as_such(tmp_path):
    import pickle

    path = tmp_path / "pickled.npy"
    path.write_bytes(pickle.dumps({"image": [1, 2, 3]}))
    with pytest.raises(LoadError) as err:
        load(path)
    assert_names(err, path, "is a Python pickle", "never loads pickled objects")
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(LoadError) as err:
        load(objects)
    assert_names(err, objects, "Python objects", "never loads pickled objects")


def test_rt_dose_with_a_malformed_scaling_is_a_load_error(tmp_path):
    ds = pydicom.dcmread(pydicom.data.get_testdata_file("rtdose.dcm", download=False))
    ds["DoseGridScaling"]._value = "abc"  # as a damaged file would hold it
    path = tmp_path / "dose.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(path)
        with pytest.raises(LoadError) as err:
            load(path)
    assert_names(err, path, "DoseGridScaling")


def test_damaged_tiff_is_one_error_and_no_log_noise(tmp_path, capsys):
    path = tmp_path / "broken.tif"
    path.write_bytes(b"II*\x00garbage")
    with pytest.raises(LoadError) as err:
        load(path)
    assert_names(err, path, "damaged")
    assert capsys.readouterr().err == ""


def test_ct_with_a_malformed_rescale_slope_is_a_load_error_not_wrong_numbers(tmp_path):
    ds = pydicom.dcmread(pydicom.data.get_testdata_file("CT_small.dcm", download=False))
    ds["RescaleSlope"]._value = "x1"
    path = tmp_path / "slope.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(path)
        with pytest.raises(LoadError) as err:
            load(path)
    assert_names(err, path, "RescaleSlope")
