"""Tests of sae_forecast.data.loaders and catalog, on the real files and on fakes."""

from __future__ import annotations

import gzip
import hashlib
import shutil

import numpy as np
import pandas as pd
import pytest

from sae_forecast.data import CATALOG, load_dataset, split_borders
from sae_forecast.data.catalog import DatasetInfo
from sae_forecast.data.loaders import dataset_path, get_data_home, verify_file

LOCAL = {
    "ETTh1": (17420, 7, "h"),
    "ETTh2": (17420, 7, "h"),
    "ETTm1": (69680, 7, "15min"),
    "ETTm2": (69680, 7, "15min"),
    "Weather": (52696, 21, None),
    "exchange_rate": (7588, 8, "D"),
    "national_illness": (966, 7, "7D"),
    "beijing_air": (35064, 132, "h"),
}


@pytest.mark.parametrize("name", list(LOCAL))
def test_real_files_load_with_shape_and_frequency(name, data_home):
    rows, channels, freq = LOCAL[name]
    frame = load_dataset(name, data_home)
    assert frame.shape == (rows, channels) == (CATALOG[name].n_rows, CATALOG[name].n_channels)
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.freqstr == freq
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert frame.attrs["freq"] == CATALOG[name].freq


def test_ett_columns_and_first_row(data_home):
    frame = load_dataset("ETTh1", data_home)
    assert list(frame.columns) == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    assert frame.index[0] == pd.Timestamp("2016-07-01 00:00")
    assert frame.iloc[0, 0] == pytest.approx(5.827000141143799)


def test_weather_is_irregular_in_every_copy(data_home):
    frame = load_dataset("Weather", data_home)
    assert frame.index.has_duplicates  # one duplicated timestamp, as SOURCES.md documents
    assert frame.attrs["freq"] == "10min"


def test_beijing_air_gaps_are_nan(data_home):
    frame = load_dataset("beijing_air", data_home)
    assert int(frame.isna().sum().sum()) == 72205
    assert frame.columns[0] == "Aotizhongxin_PM2.5"


def test_env_variable_is_the_default_home(data_home, monkeypatch):
    monkeypatch.setenv("SAE_FORECAST_DATA", str(data_home))
    assert get_data_home() == data_home
    assert load_dataset("ETTh2").shape == (17420, 7)


def test_cache_folder_when_nothing_is_set(monkeypatch, tmp_path):
    monkeypatch.delenv("SAE_FORECAST_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert get_data_home() == tmp_path / "sae_forecast"


def test_missing_file_says_where_and_how(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("Traffic", tmp_path)
    message = str(info.value)
    assert str(tmp_path / "traffic.txt.gz") in message
    assert "download_dataset('Traffic')" in message
    assert "SAE_FORECAST_DATA" in message


def test_checksum_mismatch_names_both_sums(data_home, tmp_path):
    raw = gzip.decompress((data_home / "ETTh1.csv.gz").read_bytes())
    tampered = raw.replace(b"5.827000141143799", b"5.827000141143798", 1)
    (tmp_path / "ETTh1.csv").write_bytes(tampered)
    with pytest.raises(ValueError, match="Checksum mismatch for dataset 'ETTh1'") as info:
        load_dataset("ETTh1", tmp_path)
    assert hashlib.sha256(tampered).hexdigest() in str(info.value)
    assert CATALOG["ETTh1"].checksums[0][1] in str(info.value)
    assert load_dataset("ETTh1", tmp_path, verify=False).shape == (17420, 7)


def test_plain_and_gzipped_files_both_verify(data_home, tmp_path):
    with gzip.open(data_home / "ETTh2.csv.gz") as src, open(tmp_path / "ETTh2.csv", "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert dataset_path("ETTh2", tmp_path).name == "ETTh2.csv"
    verify_file(tmp_path / "ETTh2.csv", CATALOG["ETTh2"])


def _blob(raw: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()


def test_lstnet_and_npz_readers_on_fake_files(tmp_path, monkeypatch):
    text = b"1,2,3\n4,5,6\n7,8,9\n"
    packed = gzip.compress(text)
    (tmp_path / "traffic.txt.gz").write_bytes(packed)
    fake = DatasetInfo(
        "Traffic",
        "traffic.txt.gz",
        "lstnet",
        "h",
        3,
        3,
        "ratio_7_1_2",
        (("git-blob", _blob(packed)),),
        None,
        start="2016-07-01 02:00:00",
    )
    monkeypatch.setitem(CATALOG, "Traffic", fake)
    frame = load_dataset("Traffic", tmp_path)
    assert frame.shape == (3, 3) and frame.index.freqstr == "h"
    assert frame.iloc[2, 1] == 8.0

    data = np.arange(24, dtype=np.float32).reshape(4, 3, 2)  # (time, sensors, features)
    np.savez(tmp_path / "PEMS08.npz", data=data)
    raw = (tmp_path / "PEMS08.npz").read_bytes()
    fake = DatasetInfo(
        "PEMS08",
        "PEMS08.npz",
        "npz",
        "5min",
        3,
        4,
        "ratio_6_2_2",
        (("git-blob", _blob(raw)),),
        None,
        start="2016-07-01",
    )
    monkeypatch.setitem(CATALOG, "PEMS08", fake)
    frame = load_dataset("PEMS08", tmp_path)
    np.testing.assert_array_equal(frame.to_numpy(), data[..., 0])
    assert frame.index.freqstr == "5min"


def test_unknown_dataset_lists_names():
    with pytest.raises(ValueError, match="Unknown dataset 'ETTh3'; choose one of"):
        load_dataset("ETTh3")


def test_catalog_covers_the_paper_and_local_sets():
    paper = {
        "ETTh1",
        "ETTh2",
        "ETTm1",
        "ETTm2",
        "Weather",
        "ECL",
        "Traffic",
        "Solar",
        "PEMS03",
        "PEMS04",
        "PEMS07",
        "PEMS08",
    }
    covariates = {"EPF_NP", "EPF_PJM", "EPF_BE"}  # day-ahead prices with known-ahead forecasts
    local = {"beijing_air", "exchange_rate", "national_illness"}
    assert paper | local | covariates == set(CATALOG)
    assert all(CATALOG[f"PEMS0{i}"].horizons == (12, 24, 48, 96) for i in (3, 4, 7, 8))
    assert all(info.checksums for info in CATALOG.values())


@pytest.mark.parametrize("market", ["NP", "PJM", "BE"])
def test_epf_markets_follow_timexers_protocol(market):
    info = CATALOG[f"EPF_{market}"]
    assert (info.n_channels, info.n_rows, info.horizons) == (3, 52416, (24,))
    # 70/10/20 by rows: training ends at row 36691, validation at 41933 (TimeXer's borders)
    borders = split_borders(info.split, info.n_rows, 168)
    assert borders["train"][1] == 36691 and borders["valid"][1] == 41933
