"""The bench runs the user's code path: a bench row is a plain forecaster fit."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from skorch.helper import predefined_split

from sae_forecast import LightSAERLinearForecaster
from sae_forecast.bench.presets import Run, build_runs
from sae_forecast.bench.runs import train
from sae_forecast.data import prepare_benchmark, split_borders
from sae_forecast.nn import RLinear
from sae_forecast.training import ForecastingNet, SeriesWindows
from tests.bench import ROOT

TINY = (("max_epochs", 2), ("pool_size", 2), ("rank", 3))


def _frame(n_rows=600, gaps=False) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    t = np.arange(n_rows)[:, None]
    values = np.sin(t / 8 + np.arange(4)) + 0.3 * rng.normal(size=(n_rows, 4))
    if gaps:
        values[rng.random(values.shape) < 0.1] = np.nan
        values[100:140, 2] = np.nan  # an outage
    index = pd.date_range("2024-01-01", periods=n_rows, freq="h")
    return pd.DataFrame(values, index=index, columns=list("abcd"))


def _state(module) -> dict:
    return {k: v.clone() for k, v in module.state_dict().items()}


def _equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("gaps", [False, True])
def test_a_bench_row_trains_the_weights_of_the_users_forecaster(gaps):
    frame = _frame(gaps=gaps)
    run = Run("synthetic", "RLinear", "lightsae", 24, seed=5, lrs=(0.01,), parameters=TINY)
    bench_forecaster, record = train(run, frame=frame)
    borders = split_borders("ratio_7_1_2", len(frame), 96)
    user = LightSAERLinearForecaster(
        seq_len=96, pred_len=24, lr=0.01, random_state=5, max_epochs=2, pool_size=2, rank=3,
        validation_size=borders["valid"][1] - borders["train"][1] - 24 + 1,
    ).fit(frame.iloc[: borders["valid"][1]])  # fmt: skip
    assert _equal(_state(bench_forecaster.model_), _state(user.model_))
    score = user.score_windows(frame.iloc[: borders["test"][1]], start=borders["test"][0])
    assert record["mse"] == score["mse"] and record["test_windows"] == score["n_windows"]


@pytest.mark.parametrize("gaps", [False, True])
def test_the_forecaster_path_is_the_standard_protocol_bitwise(gaps):
    """A net built by hand on the protocol's parts (as the bench before it did) trains the
    weights of the forecaster path, so results recorded by that bench stay valid."""
    frame = _frame(gaps=gaps)
    run = Run("synthetic", "RLinear", "lightsae", 24, seed=5, lrs=(0.01,), parameters=TINY)
    forecaster, record = train(run, frame=frame)
    data = prepare_benchmark(frame, 96, rule="ratio_7_1_2")

    def windows(part):
        values, observed = data.part(part)
        return SeriesWindows(values, 96, 24, observed=observed)

    net = ForecastingNet(
        RLinear, module__seq_len=96, module__pred_len=24, module__n_channels=4,
        module__embedding="lightsae", module__rank=3, module__pool_size=2, lr=0.01,
        max_epochs=2, random_state=5, train_split=predefined_split(windows("valid")),
    ).fit(windows("train"))  # fmt: skip
    assert _equal(_state(net.module_), _state(forecaster.model_))
    test = windows("test")
    assert record["test_windows"] == len(test)


def test_the_lr_grid_keeps_the_fit_with_the_lowest_validation_loss():
    run = Run("synthetic", "RLinear", "shared", 24, lrs=(0.5, 0.001), parameters=TINY)
    forecaster, record = train(run, frame=_frame())
    assert record["lr"] == forecaster.lr
    other = train(Run(**{**run.__dict__, "lrs": (0.5 if record["lr"] == 0.001 else 0.001,)}),
                  frame=_frame())[1]  # fmt: skip
    assert record["valid_mse"] <= other["valid_mse"]


def test_every_test_window_is_scored_and_the_record_is_complete(data_home):
    run = Run("ETTh1", "RLinear", "lightsae", 96, lrs=(0.005,), parameters=(("max_epochs", 1),))
    _, record = train(run, str(data_home))
    # ETTh1 test rows 11424..14400 (2976 rows from seq_len before the border): 2976-96-96+1
    assert record["test_windows"] == 2785
    assert record["params"] == 9216 + 10 * 96 * 25 + 25 * 96 + 7 * 10 + 7 * 96
    assert 0 < record["s_per_epoch"] <= record["s_per_epoch_with_valid"]
    assert 0 < record["mse"] < 2 and record["infer_ms_per_window"] > 0
    assert record["key"] == run.key and record["parameters"] == {"max_epochs": 1}


def test_keys_name_the_whole_configuration():
    run = Run("ETTh1", "RLinear", "lightsae", 96)
    assert run.key == Run("ETTh1", "RLinear", "lightsae", 96).key
    assert run.key != Run("ETTh1", "RLinear", "lightsae", 96, parameters=(("rank", 5),)).key
    assert run.key != Run("ETTh1", "RLinear", "lightsae", 96, lrs=(0.01,)).key


@pytest.mark.parametrize(
    ("folder", "preset"),
    [("", "results"), ("reference", "reference"), ("reference_pooled", "reference_pooled")],
)
def test_published_records_are_exactly_the_runs_of_their_preset(folder, preset):
    lines = (ROOT / "docs" / folder / "runs.jsonl").read_text().splitlines()
    recorded = {json.loads(line)["key"] for line in lines}
    assert recorded == {run.key for run in build_runs(preset)}


def test_the_protocol_splits_rows_so_repeated_timestamps_do_not_stop_a_run():
    frame = _frame()
    frame.index = frame.index.where(frame.index != frame.index[300], frame.index[299])
    assert frame.index.has_duplicates  # as in Weather, where one timestamp repeats
    run = Run("synthetic", "RLinear", "shared", 24, lrs=(0.01,), parameters=TINY)
    assert train(run, frame=frame)[1]["mse"] == train(run, frame=_frame())[1]["mse"]
