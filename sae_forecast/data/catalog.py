"""The benchmark datasets: where each file comes from, its shape, split rule and checksum."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATALOG", "DatasetInfo"]


@dataclass(frozen=True)
class DatasetInfo:
    """What the library knows about one benchmark dataset.

    Parameters
    ----------
    name : str
        Catalog key, e.g. ``"ETTh1"``.
    filename : str
        File name looked up in the data home (a ``.gz`` twin is accepted as well).
    file_format : {"csv", "lstnet", "npz"}
        ``csv``: header and a ``date`` column; ``lstnet``: comma-separated values without
        header or dates (LSTNet's ``*.txt.gz``); ``npz``: PEMS arrays under key ``data``.
    freq : str
        Sampling frequency (pandas alias).
    n_channels : int
        Number of value columns.
    n_rows : int
        Number of rows.
    split : {"ett_hour", "ett_minute", "ratio_7_1_2", "ratio_6_2_2"}
        The standard split rule (see :mod:`sae_forecast.data.splits`).
    checksums : tuple of (str, str)
        Accepted checksums, any one of which must match: ``("sha256", hex)`` of the
        uncompressed content, or ``("git-blob", hex)``, the git object id of the file as
        downloaded (``git hash-object FILE``), as recorded from public copies.
    url : str or None
        Where :func:`~sae_forecast.data.download_dataset` fetches the file.
    horizons : tuple of int
        The benchmark horizons.
    start : str or None
        First timestamp for formats without dates (``lstnet``, ``npz``).
    has_gaps : bool
        Whether the file has missing values (imputed by the protocol).

    Examples
    --------
    >>> from sae_forecast.data import CATALOG
    >>> info = CATALOG["ETTh1"]
    >>> info.n_channels, info.split, info.horizons
    (7, 'ett_hour', (96, 192, 336, 720))
    """

    name: str
    filename: str
    file_format: str
    freq: str
    n_channels: int
    n_rows: int
    split: str
    checksums: tuple[tuple[str, str], ...]
    url: str | None
    horizons: tuple[int, ...] = (96, 192, 336, 720)
    start: str | None = None
    has_gaps: bool = False


_ETT_URL = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/{}.csv"
_LSTNET_URL = "https://raw.githubusercontent.com/laiguokun/multivariate-time-series-data/master/{}"
_PEMS_URL = "https://raw.githubusercontent.com/Kyushu-U-AI/CME-Mamba/main/dataset/PEMS/{}.npz"
_PEMS_HORIZONS = (12, 24, 48, 96)
_EPF_URL = (
    "https://raw.githubusercontent.com/thuml/TimeXer/"
    "76011909357972bd55a27adba2e1be994d81b327/dataset/EPF"
)

CATALOG: dict[str, DatasetInfo] = {
    "ETTh1": DatasetInfo(
        "ETTh1",
        "ETTh1.csv",
        "csv",
        "h",
        7,
        17420,
        "ett_hour",
        (("sha256", "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066"),),
        _ETT_URL.format("ETTh1"),
    ),
    "ETTh2": DatasetInfo(
        "ETTh2",
        "ETTh2.csv",
        "csv",
        "h",
        7,
        17420,
        "ett_hour",
        (("sha256", "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b"),),
        _ETT_URL.format("ETTh2"),
    ),
    "ETTm1": DatasetInfo(
        "ETTm1",
        "ETTm1.csv",
        "csv",
        "15min",
        7,
        69680,
        "ett_minute",
        (("sha256", "6ce1759b1a18e3328421d5d75fadcb316c449fcd7cec32820c8dafda71986c9e"),),
        _ETT_URL.format("ETTm1"),
    ),
    "ETTm2": DatasetInfo(
        "ETTm2",
        "ETTm2.csv",
        "csv",
        "15min",
        7,
        69680,
        "ett_minute",
        (("sha256", "db973ca252c6410a30d0469b13d696cf919648d0f3fd588c60f03fdbdbadd1fd"),),
        _ETT_URL.format("ETTm2"),
    ),
    "Weather": DatasetInfo(
        "Weather",
        "weather.csv",
        "csv",
        "10min",
        21,
        52696,
        "ratio_7_1_2",
        (("sha256", "34ee981d07313e51da2a50bb600072c8ae4a69cb4b0651f4cb93a069d7a2ba63"),),
        None,  # distributed in Autoformer's weather.zip; place weather.csv in the data home
    ),
    "exchange_rate": DatasetInfo(
        "exchange_rate",
        "exchange_rate.csv",
        "csv",
        "D",
        8,
        7588,
        "ratio_7_1_2",
        (("sha256", "48b4d9d3d508f5104162e85b9a6042e3557fde11aa9f2944eba8c0d0efc89842"),),
        None,  # distributed in Autoformer's exchange_rate.zip
    ),
    "national_illness": DatasetInfo(
        "national_illness",
        "national_illness.csv",
        "csv",
        "7D",
        7,
        966,
        "ratio_7_1_2",
        (("sha256", "93601f64d2566dc796ca4305adad8b8560c2db1a1ff04543c3bd813a7263570a"),),
        None,
        horizons=(24, 36, 48, 60),
    ),
    "beijing_air": DatasetInfo(
        "beijing_air",
        "beijing_air.csv",
        "csv",
        "h",
        132,
        35064,
        "ratio_7_1_2",
        (("sha256", "8a4fc54a44504c3b86155de3dc5a8e48a2865de49ac8df2ab6ca14ac0c27ad31"),),
        None,
        has_gaps=True,  # built from the 12 UCI station files, see docs/data.md
    ),
    # Day-ahead electricity prices (target OT) with two day-ahead forecasts as covariates
    # known for the next day (Lago et al., 2021), as vendored by TimeXer; see docs/data.md.
    **{
        f"EPF_{market}": DatasetInfo(
            f"EPF_{market}",
            f"EPF_{market}.csv",
            "csv",
            "h",
            3,
            52416,
            "ratio_7_1_2",
            (("sha256", sha256), ("git-blob", blob)),
            f"{_EPF_URL}/{market}.csv",
            horizons=(24,),
        )
        for market, sha256, blob in (
            (
                "NP",
                "cbba6af8cf505d6d1fcadf87e86b6651abdae4a1adf616ee4956f6c1cd039fb8",
                "0d14cca3466ca742cce0b36a83f2c2abf626d6e8",
            ),
            (
                "PJM",
                "58cc0ad32e22e61d9e183b0dc8201747f8c2ef822e469832c5beea8d88251cc0",
                "75be301851b30429ad2629df77114b2a98efacd1",
            ),
            (
                "BE",
                "93ca5ab6614adef1e93e561d5fd6868588c035ea68a676c9423462113303e8ab",
                "506468f1f0275d1685a0a0410f3821a7011dfbae",
            ),
        )
    },
    "ECL": DatasetInfo(
        "ECL",
        "electricity.csv",
        "csv",
        "h",
        321,
        26304,
        "ratio_7_1_2",
        (
            ("git-blob", "45c680ea6a68c7f37257702d2647f5040eebddf7"),
            ("git-blob", "efd0a347df4846c16f4845f6e70b2624e1e0de1b"),
        ),
        "https://raw.githubusercontent.com/Kyushu-U-AI/CME-Mamba/main/dataset/electricity/"
        "electricity.csv",
    ),
    "Traffic": DatasetInfo(
        "Traffic",
        "traffic.txt.gz",
        "lstnet",
        "h",
        862,
        17544,
        "ratio_7_1_2",
        (("git-blob", "63ddb74bf7602568f36056a0b1a47aa407f0a6fe"),),
        _LSTNET_URL.format("traffic/traffic.txt.gz"),
        start="2016-07-01 02:00:00",
    ),
    "Solar": DatasetInfo(
        "Solar",
        "solar_AL.txt.gz",
        "lstnet",
        "10min",
        137,
        52560,
        "ratio_7_1_2",
        (("git-blob", "08a1f235546b3708309ff4fb544a54bb82e4f5e7"),),
        _LSTNET_URL.format("solar-energy/solar_AL.txt.gz"),
        start="2006-01-01 00:00:00",
    ),
    "PEMS03": DatasetInfo(
        "PEMS03",
        "PEMS03.npz",
        "npz",
        "5min",
        358,
        26208,
        "ratio_6_2_2",
        (("git-blob", "b4487154fc9611a3bf9856b0aad34efa610ea8ae"),),
        _PEMS_URL.format("PEMS03"),
        horizons=_PEMS_HORIZONS,
        start="2018-09-01 00:00:00",
    ),
    "PEMS04": DatasetInfo(
        "PEMS04",
        "PEMS04.npz",
        "npz",
        "5min",
        307,
        16992,
        "ratio_6_2_2",
        (("git-blob", "a1a39eac4b86963b1ac22874fd1cc693eb642cd2"),),
        _PEMS_URL.format("PEMS04"),
        horizons=_PEMS_HORIZONS,
        start="2018-01-01 00:00:00",
    ),
    "PEMS07": DatasetInfo(
        "PEMS07",
        "PEMS07.npz",
        "npz",
        "5min",
        883,
        28224,
        "ratio_6_2_2",
        (("git-blob", "28c547f80eb8804d3e378168c80f77f82db2680a"),),
        _PEMS_URL.format("PEMS07"),
        horizons=_PEMS_HORIZONS,
        start="2017-05-01 00:00:00",
    ),
    "PEMS08": DatasetInfo(
        "PEMS08",
        "PEMS08.npz",
        "npz",
        "5min",
        170,
        17856,
        "ratio_6_2_2",
        (("git-blob", "f5f3e84a00417573aa8487fe1e9e8cd13c6026c8"),),
        _PEMS_URL.format("PEMS08"),
        horizons=_PEMS_HORIZONS,
        start="2016-07-01 00:00:00",
    ),
}
