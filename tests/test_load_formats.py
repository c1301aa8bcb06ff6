"""Loading NIfTI, ordinary images and NumPy files."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import skimage.data
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from medinteract.errors import LoadError
from medinteract.io import load

spacings = st.floats(0.1, 10.0, allow_nan=False).map(lambda v: round(v, 3))
values = st.floats(-2000, 3000, allow_nan=False, width=32)


# -- NIfTI ------------------------------------------------------------------------------------
def write_nifti(path, xyz: np.ndarray, affine: np.ndarray) -> None:
    nib.save(nib.Nifti1Image(xyz.astype(np.float32), affine), str(path))


def test_nifti_ras_affine_becomes_lps_and_zyx(tmp_path):
    xyz = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)  # nibabel index (i, j, k)
    affine = np.array([[-0.8, 0, 0, 10.0],  # i runs towards patient right (R -> x decreasing)
                       [0, 0.9, 0, -20.0],  # j runs anterior
                       [0, 0, 2.5, 30.0],   # k runs superior
                       [0, 0, 0, 1]])
    path = tmp_path / "vol.nii.gz"
    write_nifti(path, xyz, affine)
    scan = load(path)
    assert scan.shape == (6, 5, 4)
    np.testing.assert_array_equal(scan.array, xyz.transpose(2, 1, 0))
    assert scan.spacing == pytest.approx((2.5, 0.9, 0.8))
    assert scan.origin == pytest.approx((-10.0, 20.0, 30.0))  # RAS (10, -20, 30) in LPS
    np.testing.assert_allclose(scan.direction, [[0, 0, 1], [0, -1, 0], [1, 0, 0]])
    # a voxel's LPS position matches nibabel's RAS position with x, y negated
    k, j, i = 3, 2, 1
    ras = affine @ [i, j, k, 1]
    np.testing.assert_allclose(scan.index_to_mm((k, j, i)), [-ras[0], -ras[1], ras[2]])
    assert scan.name == "vol"
    assert "pixdim" in set(scan.metadata["keyword"])


def test_nifti_scaling_is_applied(tmp_path):
    image = nib.Nifti1Image(np.arange(24, dtype=np.int16).reshape(2, 3, 4), np.eye(4))
    image.header.set_slope_inter(2.0, -5.0)
    path = tmp_path / "scaled.nii"
    nib.save(image, str(path))
    np.testing.assert_array_equal(load(path).array,
                                  (np.arange(24).reshape(2, 3, 4) * 2.0 - 5.0).T)


def test_nifti_single_slice_is_2d_and_4d_is_refused(tmp_path):
    write_nifti(tmp_path / "flat.nii", np.ones((4, 5, 1)), np.eye(4))
    flat = load(tmp_path / "flat.nii")
    assert flat.shape == (5, 4) and flat.spatial_ndim == 2
    write_nifti(tmp_path / "time.nii", np.ones((4, 5, 6, 3)), np.eye(4))
    with pytest.raises(LoadError, match="4 dimensions"):
        load(tmp_path / "time.nii")


def test_damaged_nifti(tmp_path):
    path = tmp_path / "bad.nii.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(LoadError, match="bad.nii.gz"):
        load(path)


@settings(max_examples=25, deadline=None)
@given(array=arrays(np.float32, st.tuples(st.integers(2, 6), st.integers(1, 6),
                                           st.integers(1, 6)), elements=values),
       spacing=st.tuples(spacings, spacings, spacings))
def test_nifti_round_trip(tmp_path_factory, array, spacing):
    path = tmp_path_factory.mktemp("nii") / "r.nii.gz"
    dz, dy, dx = spacing
    affine = np.diag([-dx, -dy, dz, 1.0])  # LPS-aligned axes
    write_nifti(path, array.transpose(2, 1, 0), affine)
    scan = load(path)
    np.testing.assert_array_equal(scan.array, array)
    assert scan.spacing == pytest.approx(spacing, rel=1e-5)
    np.testing.assert_allclose(scan.direction, np.eye(3)[::-1], atol=1e-7)


# -- ordinary images --------------------------------------------------------------------------
def test_greyscale_png_is_yx(tmp_path):
    camera = skimage.data.camera()
    Image.fromarray(camera).save(tmp_path / "camera.png")
    scan = load(tmp_path / "camera.png")
    assert scan.shape == camera.shape and not scan.is_rgb
    np.testing.assert_array_equal(scan.array, camera)
    assert scan.spacing == (1.0, 1.0) and scan.name == "camera" and scan.modality == "OT"


def test_colour_images_are_yxc_with_two_spacings(tmp_path):
    retina = skimage.data.astronaut()
    Image.fromarray(retina).save(tmp_path / "photo.png")
    Image.fromarray(retina).save(tmp_path / "photo.jpg", quality=95)
    png, jpg = load(tmp_path / "photo.png"), load(tmp_path / "photo.jpg")
    assert png.shape == retina.shape and png.is_rgb and len(png.spacing) == 2
    np.testing.assert_array_equal(png.array, retina)
    assert jpg.shape == retina.shape and jpg.is_rgb
    assert np.mean(np.abs(jpg.array - retina)) < 5  # lossy, but the same picture


def test_16_bit_tiff_and_tiff_stack(tmp_path):
    import tifffile

    image = (np.arange(30 * 40, dtype=np.uint16).reshape(30, 40) * 50)
    tifffile.imwrite(tmp_path / "deep.tif", image)
    np.testing.assert_array_equal(load(tmp_path / "deep.tif").array, image)
    stack = np.stack([image, image + 1, image + 2])
    tifffile.imwrite(tmp_path / "stack.tiff", stack, photometric="minisblack")
    scan = load(tmp_path / "stack.tiff")
    assert scan.shape == (3, 30, 40) and scan.is_volume
    np.testing.assert_array_equal(scan.array, stack)


def test_palette_png_is_expanded(tmp_path):
    image = Image.fromarray(skimage.data.astronaut()).convert("P")
    image.save(tmp_path / "pal.png")
    assert load(tmp_path / "pal.png").shape == (512, 512, 3)


def test_damaged_png(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    with pytest.raises(LoadError, match="broken.png"):
        load(path)


# -- NumPy ------------------------------------------------------------------------------------
def test_npz_spacing_key_is_honoured(tmp_path):
    volume = np.random.default_rng(0).normal(size=(3, 4, 5))
    np.savez(tmp_path / "v.npz", image=volume, spacing=[2.0, 0.5, 0.5])
    scan = load(tmp_path / "v.npz")
    np.testing.assert_array_equal(scan.array, volume.astype(np.float32))
    assert scan.spacing == (2.0, 0.5, 0.5)


def test_npz_with_one_unnamed_array_and_rgb_via_spacing(tmp_path):
    np.savez(tmp_path / "one.npz", np.ones((4, 4)))
    assert load(tmp_path / "one.npz").shape == (4, 4)
    np.savez(tmp_path / "rgb.npz", array=np.ones((4, 5, 3)), spacing=[0.2, 0.2])
    rgb = load(tmp_path / "rgb.npz")
    assert rgb.is_rgb and rgb.spacing == (0.2, 0.2)


def test_npz_with_several_arrays_needs_a_name(tmp_path):
    np.savez(tmp_path / "two.npz", a=np.ones((4, 4)), b=np.zeros((4, 4)))
    with pytest.raises(LoadError, match="'image'"):
        load(tmp_path / "two.npz")


def test_numpy_refuses_pickles_and_odd_arrays(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(LoadError, match="obj.npy"):
        load(tmp_path / "obj.npy")
    np.save(tmp_path / "line.npy", np.ones(5))
    with pytest.raises(LoadError, match="line.npy"):
        load(tmp_path / "line.npy")
    np.save(tmp_path / "complex.npy", np.ones((3, 3), complex))
    with pytest.raises(LoadError, match="complex"):
        load(tmp_path / "complex.npy")


@settings(max_examples=25, deadline=None)
@given(array=arrays(np.float32, st.one_of(
           st.tuples(st.integers(1, 6), st.integers(1, 6)),
           st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 6))), elements=values),
       spacing=st.lists(spacings, min_size=3, max_size=3))
def test_numpy_round_trip(tmp_path_factory, array, spacing):
    folder = tmp_path_factory.mktemp("npy")
    spacing = spacing[: array.ndim]
    np.save(folder / "a.npy", array)
    np.testing.assert_array_equal(load(folder / "a.npy").array, array)
    np.savez_compressed(folder / "a.npz", image=array, spacing=spacing)
    scan = load(folder / "a.npz")
    np.testing.assert_array_equal(scan.array, array)
    assert scan.spacing == tuple(spacing)


def test_file_kind_matches_what_load_reads(tmp_path):
    from pydicom.data import get_testdata_file

    from medinteract.io.loader import file_kind

    dicom_without_suffix = tmp_path / "IM0001"
    dicom_without_suffix.write_bytes(
        open(get_testdata_file("CT_small.dcm", download=False), "rb").read())
    readme = tmp_path / "README"
    readme.write_text("not a scan")
    kinds = {name: file_kind(tmp_path / name) for name in
             ("a.nii.gz", "b.PNG", "c.npz", "d.dcm", "notes.txt")}
    assert kinds == {"a.nii.gz": "nifti", "b.PNG": "image", "c.npz": "numpy", "d.dcm": "dicom",
                     "notes.txt": None}
    assert file_kind(dicom_without_suffix) == "dicom" and file_kind(readme) is None
    assert load(dicom_without_suffix).modality == "CT"
