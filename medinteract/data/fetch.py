"""Optional downloads of public datasets: cached, checksummed, with a progress bar.

Everything else in :mod:`medinteract.data` works offline; this module is the only one that
touches the network, and only when :func:`fetch` is called. Files are downloaded once with
`pooch <https://www.fatiando.org/pooch/>`_ into a cache folder (``MEDINTERACT_DATA_DIR``, or the
operating system's cache folder, e.g. ``~/.cache/medinteract``), verified against the checksum
published for them, and reused afterwards.

Examples
--------
>>> list_remote()["name"].tolist()
['pneumoniamnist', 'breastmnist', 'chestmnist', 'nodulemnist3d', 'brain_mr']

``fetch("pneumoniamnist")`` downloads the file on first use and returns its cached path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import pandas as pd

from medinteract.errors import LoadError

__all__ = ["RemoteFile", "REGISTRY", "list_remote", "fetch", "cache_dir"]

#: Environment variable naming the download cache folder.
CACHE_ENV = "MEDINTERACT_DATA_DIR"


@dataclass(frozen=True)
class RemoteFile:
    """A downloadable file with its published checksum.

    Attributes
    ----------
    name : str
        Short name used with :func:`fetch`.
    url : str
        Where the file is downloaded from.
    known_hash : str
        ``"sha256:<hex>"`` or ``"md5:<hex>"``: the checksum the download must match.
    fname : str
        File name in the cache.
    description : str
        What the data is, and where it comes from (cite it as its authors ask).
    """

    name: str
    url: str
    known_hash: str
    fname: str
    description: str = ""


#: Public datasets that :func:`fetch` knows by name (never downloaded unless asked).
REGISTRY: dict[str, RemoteFile] = {f.name: f for f in (
    RemoteFile(
        name="pneumoniamnist",
        url="https://zenodo.org/records/10519652/files/pneumoniamnist.npz?download=1",
        known_hash="md5:28209eda62fecd6e6a2d98b1501bb15f",
        fname="pneumoniamnist.npz",
        description=(
            "PneumoniaMNIST (MedMNIST v2): 5,856 paediatric chest X-rays resized to 28x28, "
            "labelled normal/pneumonia, split into train/val/test (NumPy .npz, about 4 MB). "
            "CC BY 4.0. Yang et al., Scientific Data 10:41 (2023); images from Kermany et al., "
            "Cell 172:1122 (2018). Checksum: the MD5 published by MedMNIST."
        ),
    ),
    RemoteFile(
        name="breastmnist",
        url="https://zenodo.org/records/10519652/files/breastmnist.npz?download=1",
        known_hash="md5:750601b1f35ba3300ea97c75c52ff8f6",
        fname="breastmnist.npz",
        description=(
            "BreastMNIST (MedMNIST v2): 780 breast ultrasound images resized to 28x28, "
            "labelled malignant (0) or normal/benign (1), split into train/val/test (NumPy "
            ".npz, about 0.6 MB). CC BY 4.0. Yang et al., Scientific Data 10:41 (2023); images "
            "from Al-Dhabyani et al., Data in Brief 28:104863 (2020). Checksum: the MD5 "
            "published by MedMNIST."
        ),
    ),
    RemoteFile(
        name="chestmnist",
        url="https://zenodo.org/records/10519652/files/chestmnist.npz?download=1",
        known_hash="md5:02c8a6516a18b556561a56cbdd36c4a8",
        fname="chestmnist.npz",
        description=(
            "ChestMNIST (MedMNIST v2): 112,120 frontal chest X-rays resized to 28x28 with 14 "
            "text-mined findings each (multi-label), split into train/val/test by patient "
            "(NumPy .npz, about 80 MB). CC BY 4.0. Yang et al., Scientific Data 10:41 (2023); "
            "images from NIH ChestX-ray14, Wang et al., CVPR 2017. Checksum: the MD5 "
            "published by MedMNIST."
        ),
    ),
    RemoteFile(
        name="nodulemnist3d",
        url="https://zenodo.org/records/10519652/files/nodulemnist3d.npz?download=1",
        known_hash="md5:8755a7e9e05a4d9ce80a24c3e7a256f3",
        fname="nodulemnist3d.npz",
        description=(
            "NoduleMNIST3D (MedMNIST v2): 1,633 lung nodules from thoracic CT as 28x28x28 "
            "volumes, labelled benign (0) or malignant (1), split into train/val/test (NumPy "
            ".npz). CC BY 4.0. Yang et al., Scientific Data 10:41 (2023); CT from LIDC-IDRI, "
            "Armato et al., Medical Physics 38:915 (2011). Checksum: the MD5 published by "
            "MedMNIST."
        ),
    ),
    RemoteFile(
        name="brain_mr",
        url=("https://gitlab.com/scikit-image/data/-/raw/"
             "2cdc5ce89b334d28f06a58c9f0ca21aa6992a5ba/brain.tiff"),
        known_hash="sha256:bcdbaf424fbad7b1fb0f855f608c68e5a838f35affc323ff04ea17f678eef5c6",
        fname="brain.tiff",
        description=(
            "Ten axial MR slices of a human head, 256x256 (TIFF), from the scikit-image data "
            "repository (the file behind skimage.data.brain()). Pixel spacing is not stored."
        ),
    ),
)}


def list_remote() -> pd.DataFrame:
    """The datasets :func:`fetch` can download: name, file, URL, checksum and description."""
    return pd.DataFrame(
        [(f.name, f.fname, f.url, f.known_hash, f.description) for f in REGISTRY.values()],
        columns=["name", "file", "url", "known_hash", "description"],
    )


def cache_dir() -> Path:
    """The download cache: ``$MEDINTERACT_DATA_DIR`` or the OS cache folder for medinteract."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    import pooch

    return Path(pooch.os_cache("medinteract"))


def fetch(
    source: str | RemoteFile,
    *,
    cache: str | PathLike[str] | None = None,
    base_url: str | None = None,
    progressbar: bool = True,
) -> Path:
    """Download a public dataset once (checksum-verified) and return its cached path.

    Parameters
    ----------
    source : str or RemoteFile
        A name from :func:`list_remote`, or a :class:`RemoteFile` describing another file.
    cache : path-like, optional
        Cache folder; defaults to :func:`cache_dir`.
    base_url : str, optional
        Download from this folder URL instead (a mirror): the file is fetched from
        ``base_url + "/" + fname`` and must still match the published checksum.
    progressbar : bool, optional
        Show a tqdm progress bar while downloading.

    Returns
    -------
    Path
        The verified file in the cache.

    Raises
    ------
    ValueError
        For an unknown dataset name.
    LoadError
        If the download fails or the file does not match its checksum (nothing is kept then).
    """
    import pooch

    remote = _remote(source)
    url = remote.url if base_url is None else f"{base_url.rstrip('/')}/{remote.fname}"
    folder = Path(cache) if cache is not None else cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        path = pooch.retrieve(url, known_hash=remote.known_hash, fname=remote.fname,
                              path=folder, progressbar=progressbar)
    except ValueError as exc:
        if "hash" not in str(exc).lower():  # e.g. a URL pooch cannot handle
            raise LoadError(url, f"could not download {remote.name!r} ({exc})",
                            "check the URL; http, https, ftp, sftp and doi are supported"
                            ) from None
        raise LoadError(
            url, f"the download of {remote.name!r} does not match its checksum "
                 f"{remote.known_hash}; the file was discarded",
            "the server sent a different file (changed upstream, a mirror out of date, or a "
            "broken download); try again later or report it",
        ) from None
    except Exception as exc:  # noqa: BLE001 - network errors come in many types
        raise LoadError(url, f"could not download {remote.name!r} ({type(exc).__name__}: "
                             f"{exc})", "check the internet connection or use the offline "
                                        "samples in medinteract.data") from None
    return Path(path)


def _remote(source: str | RemoteFile) -> RemoteFile:
    if isinstance(source, RemoteFile):
        return source
    if source not in REGISTRY:
        raise ValueError(f"unknown dataset {source!r}; choose from {', '.join(REGISTRY)}")
    return REGISTRY[source]
