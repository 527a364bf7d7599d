"""Load benchmark datasets from a local data home, verifying their checksums."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import shutil
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from sae_forecast.data.catalog import CATALOG, DatasetInfo

__all__ = ["dataset_path", "download_dataset", "get_data_home", "load_dataset", "verify_file"]

ENV_VAR = "SAE_FORECAST_DATA"


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """Return the folder holding the data files.

    ``data_home`` when given; else ``$SAE_FORECAST_DATA``; else the user cache folder
    (``$XDG_CACHE_HOME/sae_forecast`` or ``~/.cache/sae_forecast``).

    Examples
    --------
    >>> get_data_home("/tmp/data").as_posix()
    '/tmp/data'
    """
    if data_home is not None:
        return Path(data_home).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "sae_forecast"


def _info(name: str) -> DatasetInfo:
    if name not in CATALOG:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {sorted(CATALOG)}.")
    return CATALOG[name]


def dataset_path(name: str, data_home: str | os.PathLike | None = None) -> Path:
    """Return the path of dataset ``name``'s file (plain or ``.gz``) in the data home.

    Raises
    ------
    FileNotFoundError
        Saying where it looked and how to get the file.
    """
    info = _info(name)
    folder = get_data_home(data_home)
    candidates = [folder / info.filename]
    if info.filename.endswith(".gz"):
        candidates.append(folder / info.filename[: -len(".gz")])
    else:
        candidates.append(folder / (info.filename + ".gz"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    how = (
        f"download it with sae_forecast.data.download_dataset({name!r}) (from {info.url}, "
        "checksum verified)"
        if info.url
        else "this dataset has no stable direct download"
    )
    raise FileNotFoundError(
        f"Dataset {name!r} not found: looked for {' and '.join(str(c) for c in candidates)} "
        f"(data home from the data_home argument, ${ENV_VAR}, or the user cache folder). "
        f"Place {info.filename} there, or {how}."
    )


def _git_blob_id(raw: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()


def _matches(raw: bytes, info: DatasetInfo) -> tuple[bool, list[str]]:
    content = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    seen = []
    for kind, expected in info.checksums:
        actual = hashlib.sha256(content).hexdigest() if kind == "sha256" else _git_blob_id(raw)
        seen.append(f"{kind} {actual}")
        if actual == expected:
            return True, seen
    return False, seen


def verify_file(path: Path, info: DatasetInfo) -> None:
    """Raise ``ValueError`` when ``path`` matches none of ``info``'s checksums."""
    ok, seen = _matches(path.read_bytes(), info)
    if not ok:
        expected = ", ".join(f"{k} {v}" for k, v in info.checksums)
        again = f" with download_dataset({info.name!r})" if info.url else ""
        raise ValueError(
            f"Checksum mismatch for dataset {info.name!r} at {path}: expected {expected}, got "
            f"{', '.join(seen)}. The file is corrupt or a different version; delete it and "
            f"download it again{again}."
        )


def _read_csv(path: Path, info: DatasetInfo) -> pd.DataFrame:
    frame = pd.read_csv(path, index_col=0)
    frame.index = pd.to_datetime(frame.index, format="mixed")
    return frame


def _read_lstnet(path: Path, info: DatasetInfo) -> pd.DataFrame:
    frame = pd.read_csv(path, header=None)
    frame.columns = [str(c) for c in frame.columns]
    frame.index = pd.date_range(info.start, periods=len(frame), freq=info.freq)
    return frame


def _read_npz(path: Path, info: DatasetInfo) -> pd.DataFrame:
    with np.load(path) as archive:
        data = archive["data"]
    values = data[..., 0] if data.ndim == 3 else data  # PEMS: (time, sensors, features)
    index = pd.date_range(info.start, periods=len(values), freq=info.freq)
    return pd.DataFrame(values, index=index, columns=[str(c) for c in range(values.shape[1])])


_READERS = {"csv": _read_csv, "lstnet": _read_lstnet, "npz": _read_npz}


def load_dataset(
    name: str, data_home: str | os.PathLike | None = None, *, verify: bool = True
) -> pd.DataFrame:
    """Load a benchmark dataset as a DataFrame: time index, one float column per channel.

    Parameters
    ----------
    name : str
        A key of :data:`~sae_forecast.data.CATALOG`, e.g. ``"ETTh1"``, ``"Weather"``,
        ``"beijing_air"``.
    data_home : path-like or None, default=None
        Folder with the files; default ``$SAE_FORECAST_DATA``, then the user cache folder.
    verify : bool, default=True
        Check the file against the catalog's checksum first.

    Returns
    -------
    pandas.DataFrame
        Rows in file order (the standard splits count rows). The index is a
        ``DatetimeIndex`` with its frequency set where the timestamps are regular; Weather has
        one duplicated timestamp and one gap in every public copy, so its index keeps
        ``freq=None`` (nominal frequency in ``frame.attrs["freq"]``). Missing values
        (``beijing_air``) are NaN.

    Examples
    --------
    >>> from sae_forecast.data import load_dataset
    >>> frame = load_dataset("ETTh1")  # from $SAE_FORECAST_DATA
    >>> frame.shape, frame.index.freqstr
    ((17420, 7), 'h')
    """
    info = _info(name)
    path = dataset_path(name, data_home)
    if verify:
        verify_file(path, info)
    frame = _READERS[info.file_format](path, info).astype(np.float64)
    frame.index.name = "date"
    frame.attrs["freq"] = info.freq
    frame.attrs["name"] = info.name
    if frame.index.is_unique and frame.index.is_monotonic_increasing:
        with contextlib.suppress(ValueError):  # irregular timestamps keep freq None
            frame.index.freq = info.freq
    return frame


def download_dataset(
    name: str, data_home: str | os.PathLike | None = None, *, overwrite: bool = False
) -> Path:
    """Download dataset ``name`` into the data home and verify its checksum.

    Uses only ``urllib`` (no extra dependency). The file is written under a temporary name
    and moved into place only when its checksum matches. Never called by the test suite.

    Returns
    -------
    pathlib.Path
        The verified file.
    """
    info = _info(name)
    if info.url is None:
        raise ValueError(
            f"Dataset {name!r} has no direct download; see docs/data.md for its "
            "source and place the file in the data home."
        )
    folder = get_data_home(data_home)
    target = folder / info.filename
    if target.is_file() and not overwrite:
        verify_file(target, info)
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(info.url, timeout=120) as response:
        raw = response.read()
    ok, seen = _matches(raw, info)
    if not ok:
        raise ValueError(
            f"Downloaded {info.url} but its checksum ({', '.join(seen)}) matches "
            f"none of {info.checksums}; the remote file changed. Nothing written."
        )
    partial = target.with_suffix(target.suffix + ".part")
    with open(partial, "wb") as handle:
        shutil.copyfileobj(io.BytesIO(raw), handle)
    partial.replace(target)
    return target
