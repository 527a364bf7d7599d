"""Data-parallel training through accelerate: two CPU processes (gloo) against one."""

from __future__ import annotations

import os
import pickle
import socket
import time

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from skorch.callbacks import Callback

from sae_forecast.nn import RLinear
from sae_forecast.nn.quantile import QuantileRLinear
from sae_forecast.training import ForecastingNet, SeriesWindows
from sae_forecast.training.distributed import (
    AcceleratedForecastingNet,
    AcceleratedQuantileNet,
    batch_loader,
    require_accelerate,
)
from sae_forecast.training.quantile import QuantileNet

accelerate = pytest.importorskip("accelerate")

WORLD_SIZE = 2
FIT_ROWS = 320  # of 400: the last 80 rows score the forecasts
# Tiny iTransformer: early stopping (patience 1, improvements under 1e-4 are misses) ends it
# before max_epochs, restoring the best weights, in every process at the same epoch.
SETTINGS = {
    "seq_len": 16,
    "pred_len": 8,
    "d_model": 16,
    "n_heads": 2,
    "d_ff": 16,
    "n_layers": 1,
    "rank": 2,
    "pool_size": 2,
    "max_epochs": 14,
    "patience": 1,
    "lr": 0.005,
    "batch_size": 16,
    "validation_size": 0.2,
    "random_state": 0,
}


def _frame():
    from tests.forecasting.conftest import make_frame

    return make_frame(n_rows=400, n_columns=3)


def _fit(accelerator=None, batch_size=SETTINGS["batch_size"]) -> dict:
    """Fit the tiny forecaster and return what the test compares."""
    from sae_forecast import LightSAEiTransformerForecaster

    settings = {**SETTINGS, "batch_size": batch_size}
    forecaster = LightSAEiTransformerForecaster(**settings, accelerator=accelerator)
    frame = _frame()
    forecaster.fit(frame.iloc[:FIT_ROWS])
    score = forecaster.score_windows(frame, start=FIT_ROWS - SETTINGS["seq_len"])
    history = forecaster.net_.history
    state = forecaster.model_.state_dict()
    restored = pickle.loads(pickle.dumps(forecaster))
    return {
        "weights": np.concatenate([v.detach().cpu().numpy().ravel() for v in state.values()]),
        "forecast": forecaster.predict(fh=list(range(1, 9))).to_numpy(),
        "restored_forecast": restored.predict(fh=list(range(1, 9))).to_numpy(),
        "valid_loss": np.array(history[:, "valid_loss"]),
        "lr": np.array(history[:, "event_lr"]),
        "train_windows": np.array(sum(history[0, "batches", :, "train_batch_size"])),
        "test_mse": np.array(score["mse"]),
        "module_type": np.array(type(forecaster.model_).__name__),
    }


QUANTILE_OPTIONS = {
    "module__seq_len": 16,
    "module__pred_len": 4,
    "module__n_channels": 3,
    "module__levels": (0.1, 0.5, 0.9),
    "criterion__levels": (0.1, 0.5, 0.9),
    "max_epochs": 3,
    "random_state": 0,
}


def _quantile_windows():
    series = np.sin(np.arange(200) / 6)[:, None] * np.ones((1, 3))
    return SeriesWindows(series + np.random.default_rng(0).normal(0, 0.1, series.shape), 16, 4)


def _fit_quantile(accelerator) -> dict:
    """Fit the quantile net data-parallel and return what the test compares."""
    data = _quantile_windows()
    net = AcceleratedQuantileNet(QuantileRLinear, accelerator=accelerator, **QUANTILE_OPTIONS)
    net.fit(data)
    state = net.module_.state_dict()
    return {
        "weights": np.concatenate([v.detach().cpu().numpy().ravel() for v in state.values()]),
        "valid_loss": np.array(net.history[:, "valid_loss"]),
        "quantiles": net.forward(data)[1].numpy(),
    }


def _process(index: int, port: int, out_dir: str, fit=_fit) -> None:
    """One rank of the data-parallel fit (run by torch.multiprocessing.spawn)."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(index),
        LOCAL_RANK=str(index),
        WORLD_SIZE=str(WORLD_SIZE),
    )
    torch.set_num_threads(1)
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    assert accelerator.num_processes == WORLD_SIZE
    result = fit(accelerator)
    np.savez(os.path.join(out_dir, f"rank{index}.npz"), **result)
    accelerator.wait_for_everyone()  # no rank tears the process group down under another
    accelerator.end_training()
    # The results are on disk. Leave without the interpreter's teardown: there, gloo's
    # threads now and then abort the process ("terminate called without an active
    # exception", 1 run in 6 on 2 cores) after the work is done.
    os._exit(0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spawn(out_dir, timeout: float = 240.0, fit=_fit) -> list[dict]:
    context = mp.start_processes(
        _process,
        args=(_free_port(), str(out_dir), fit),
        nprocs=WORLD_SIZE,
        join=False,
        start_method="spawn",
    )
    deadline = time.monotonic() + timeout
    while not context.join(timeout=2):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.terminate()
            pytest.fail(f"the {WORLD_SIZE} training processes did not finish in {timeout:.0f} s")
    return [dict(np.load(out_dir / f"rank{r}.npz")) for r in range(WORLD_SIZE)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two ranks of one data-parallel fit, and the same fit in this one process (with the
    two processes' batches as one: the same number of optimiser steps)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = _fit(batch_size=WORLD_SIZE * SETTINGS["batch_size"])
    finally:
        torch.set_num_threads(previous)
    return _spawn(tmp_path_factory.mktemp("ranks")), single


@pytest.mark.slow
def test_ranks_agree_on_weights_history_and_forecasts(runs):
    (first, second), _ = runs
    np.testing.assert_array_equal(first["weights"], second["weights"])
    np.testing.assert_array_equal(first["valid_loss"], second["valid_loss"])  # shared history
    np.testing.assert_array_equal(first["forecast"], second["forecast"])
    assert str(first["module_type"]) == "iTransformer"  # unwrapped after training
    # the trained forecaster pickles without its process group and forecasts the same
    np.testing.assert_array_equal(first["restored_forecast"], first["forecast"])


@pytest.mark.slow
def test_two_processes_share_the_batches_and_the_schedule(runs):
    (first, _), single = runs
    # The shared history holds the batches of both processes: each window once per epoch
    # (not twice), the last round of batches completed from the start of the epoch.
    per_round = SETTINGS["batch_size"] * WORLD_SIZE
    n_windows = int(single["train_windows"])
    assert int(first["train_windows"]) == -(-n_windows // per_round) * per_round
    # The learning rate halves once per epoch, whatever the number of processes.
    n = min(len(first["lr"]), len(single["lr"]))
    np.testing.assert_array_equal(first["lr"][:n], single["lr"][:n])


@pytest.mark.slow
def test_two_processes_forecast_like_one(runs):
    (first, _), single = runs
    # Same gradients up to the order of the windows and the padded last round: close, not equal.
    assert float(first["test_mse"]) == pytest.approx(float(single["test_mse"]), rel=0.2)
    np.testing.assert_allclose(first["valid_loss"][:3], single["valid_loss"][:3], rtol=0.1)


@pytest.mark.slow
def test_quantile_output_trains_data_parallel(tmp_path):
    first, second = _spawn(tmp_path, fit=_fit_quantile)
    np.testing.assert_array_equal(first["weights"], second["weights"])
    np.testing.assert_array_equal(first["valid_loss"], second["valid_loss"])
    assert len(first["valid_loss"]) == QUANTILE_OPTIONS["max_epochs"]
    assert first["quantiles"].shape == (181, 4, 3, 3)
    assert (np.diff(first["quantiles"], axis=-1) >= 0).all()  # ordered levels
    assert first["valid_loss"][-1] < first["valid_loss"][0]  # it learned


def test_one_process_trains_quantiles_like_the_plain_quantile_net():
    data = _quantile_windows()
    plain = QuantileNet(QuantileRLinear, **QUANTILE_OPTIONS).fit(data)
    accelerated = AcceleratedQuantileNet(
        QuantileRLinear, accelerator=accelerate.Accelerator(cpu=True), **QUANTILE_OPTIONS
    ).fit(data)
    np.testing.assert_array_equal(plain.forward(data)[1], accelerated.forward(data)[1])
    np.testing.assert_array_equal(
        plain.history[:, "valid_loss"], accelerated.history[:, "valid_loss"]
    )
    assert len(accelerated.optimizer_.param_groups) == 2  # the spread head's own group


def test_one_process_trains_like_the_plain_net():
    series = np.sin(np.arange(200) / 6)[:, None] * np.ones((1, 3))
    data = SeriesWindows(series, seq_len=16, pred_len=4)
    options = {
        "module__seq_len": 16,
        "module__pred_len": 4,
        "module__n_channels": 3,
        "max_epochs": 3,
        "random_state": 0,
    }
    plain = ForecastingNet(RLinear, **options).fit(data)
    accelerated = AcceleratedForecastingNet(
        RLinear, accelerator=accelerate.Accelerator(cpu=True), **options
    ).fit(data)
    np.testing.assert_array_equal(plain.predict(data), accelerated.predict(data))
    assert isinstance(accelerated.module_, RLinear)  # plain module between fits


class _RecordTypes(Callback):
    """Records the optimiser's and the criterion's types during the training batches."""

    def initialize(self):
        self.seen = set()
        return self

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.seen.add((type(net.optimizer_).__name__, type(net.criterion_).__name__))


def test_only_the_module_is_prepared_by_accelerate():
    # skorch's AccelerateMixin would also wrap the criterion (DistributedDataParallel refuses a
    # module without parameters) and the optimiser (unpicklable once an LR scheduler used it);
    # the net's own _initialize_accelerator prepares the module only (pinned skorch versions).
    data = SeriesWindows(np.random.default_rng(0).normal(size=(80, 2)), seq_len=8, pred_len=2)
    net = AcceleratedForecastingNet(
        RLinear,
        accelerator=accelerate.Accelerator(cpu=True),
        module__seq_len=8,
        module__pred_len=2,
        module__n_channels=2,
        max_epochs=2,
        callbacks=[("types", _RecordTypes())],
    ).fit(data)
    assert dict(net.callbacks_)["types"].seen == {("Adam", "MSELoss")}
    assert type(pickle.loads(pickle.dumps(net)).optimizer_) is torch.optim.Adam


@pytest.mark.parametrize(
    ("method", "net_class"),
    [("conformal", AcceleratedForecastingNet), ("quantile", AcceleratedQuantileNet)],
)
def test_forecaster_with_an_accelerator_fits_updates_and_pickles_like_without(method, net_class):
    from sae_forecast import LightSAERLinearForecaster
    from tests.forecasting.conftest import TINY, make_frame

    frame = make_frame(n_rows=200)
    settings = {**TINY, "interval_method": method}
    plain = LightSAERLinearForecaster(**settings).fit(frame.iloc[:170])
    accelerated = LightSAERLinearForecaster(
        **settings, accelerator=accelerate.Accelerator(cpu=True)
    )
    accelerated.fit(frame.iloc[:170])
    assert isinstance(accelerated.net_, net_class)
    for forecaster in (plain, accelerated):
        forecaster.update(frame.iloc[170:])  # fine-tunes through the same builder
    expected = plain.predict(fh=[1, 2, 3]).to_numpy()
    np.testing.assert_array_equal(accelerated.predict(fh=[1, 2, 3]).to_numpy(), expected)
    bands = plain.predict_interval(fh=[1, 2, 3], coverage=0.8).to_numpy()
    got = accelerated.predict_interval(fh=[1, 2, 3], coverage=0.8).to_numpy()
    np.testing.assert_array_equal(got, bands)
    restored = pickle.loads(pickle.dumps(accelerated))
    np.testing.assert_array_equal(restored.predict(fh=[1, 2, 3]).to_numpy(), expected)


class _Overriding:
    """An accelerator with some attributes replaced (accelerate's state is process-global)."""

    def __init__(self, accelerator, **overrides) -> None:
        self._accelerator = accelerator
        vars(self).update(overrides)

    def __getattr__(self, name):
        return getattr(self._accelerator, name)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"mixed_precision": "fp16"}, 'mixed_precision="bf16"'),
        ({"gradient_accumulation_steps": 4}, "raise batch_size instead"),
    ],
)
def test_unsupported_accelerator_settings_are_refused(setting, message):
    accelerator = _Overriding(accelerate.Accelerator(cpu=True), **setting)
    data = SeriesWindows(np.zeros((60, 2)), seq_len=8, pred_len=2)
    net = AcceleratedForecastingNet(
        RLinear,
        accelerator=accelerator,
        module__seq_len=8,
        module__pred_len=2,
        module__n_channels=2,
    )
    with pytest.raises(ValueError, match=message):
        net.fit(data)


def test_batch_loader_gathers_whole_batches_in_a_seeded_order():
    data = SeriesWindows(np.arange(60.0)[:, None], seq_len=4, pred_len=2)
    first = [
        X[:, 0, 0]
        for X, _ in batch_loader(
            data, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(1)
        )
    ]
    again = [
        X[:, 0, 0]
        for X, _ in batch_loader(
            data, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(1)
        )
    ]
    assert [len(b) for b in first] == [8] * 6 + [7]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert sorted(torch.cat(first).tolist()) == list(range(55))


def test_missing_accelerate_is_explained(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "accelerate", None)
    with pytest.raises(ImportError, match=r"sae-forecast\[distributed\]"):
        require_accelerate()


def test_forecaster_with_an_accelerator_reads_covariates_like_without():
    from sae_forecast import LightSAERLinearForecaster
    from tests.forecasting.test_exogenous import driven

    y, X = driven(n_rows=200)
    settings = {"seq_len": 12, "pred_len": 6, "max_epochs": 2, "random_state": 0}
    plain = LightSAERLinearForecaster(**settings).fit(y[:170], X=X[:170])
    accelerated = LightSAERLinearForecaster(
        **settings, accelerator=accelerate.Accelerator(cpu=True)
    ).fit(y[:170], X=X[:170])
    for forecaster in (plain, accelerated):
        forecaster.update(y[170:190], X=X[170:190])
    expected = plain.predict(fh=[1, 2, 3], X=X[190:196]).to_numpy()
    np.testing.assert_array_equal(accelerated.predict(fh=[1, 2, 3], X=X[190:196]), expected)
