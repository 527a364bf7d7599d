"""Behaviour of the forecasters beyond sktime's checks: horizons, indexes, state, updates."""

from __future__ import annotations

import pickle
import threading
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sktime.base import load

from sae_forecast import (
    LightSAEiTransformerForecaster,
    LightSAEPatchTSTForecaster,
    LightSAERLinearForecaster,
    LightSAERMLPForecaster,
)
from tests.forecasting.conftest import TINY, make_frame

TINY_BODIES = {
    LightSAERLinearForecaster: {},
    LightSAERMLPForecaster: {"d_model": 8},
    LightSAEPatchTSTForecaster: {
        "d_model": 8,
        "n_heads": 2,
        "d_ff": 8,
        "n_layers": 1,
        "patch_len": 4,
        "stride": 2,
    },
    LightSAEiTransformerForecaster: {"d_model": 8, "n_heads": 2, "d_ff": 8, "n_layers": 1},
}
ALL = list(TINY_BODIES)


def tiny(cls=LightSAERLinearForecaster, **overrides):
    return cls(**{**TINY, **TINY_BODIES[cls], **overrides})


@pytest.mark.parametrize("cls", ALL)
def test_fit_then_predict_without_fh_at_fit(cls, frame):
    forecaster = tiny(cls, pred_len=None).fit(make_frame(n_rows=300))
    assert forecaster.pred_len_ == 96  # the paper's first horizon
    y_pred = forecaster.predict(fh=[1, 5, 96])
    assert y_pred.shape == (3, 3)
    assert np.isfinite(y_pred.to_numpy()).all()


def test_pred_len_from_fh_at_fit(frame):
    forecaster = tiny(pred_len=None).fit(frame, fh=[2, 4])
    assert forecaster.pred_len_ == 4
    assert forecaster.predict(fh=[1, 3]).shape == (2, 3)


@pytest.mark.parametrize("index", ["datetime", "period", "range"])
def test_index_and_columns_of_the_forecast(index):
    frame = make_frame(index=index)
    y_pred = tiny().fit(frame).predict(fh=[1, 2, 6])
    last = frame.index[-1]
    if index == "range":
        expected = [last + 1, last + 2, last + 6]
    else:
        expected = [last + k * frame.index.freq for k in (1, 2, 6)]
    assert list(y_pred.index) == list(expected)
    assert list(y_pred.columns) == list(frame.columns)


def test_requested_steps_are_rows_of_the_full_forecast(frame):
    forecaster = tiny().fit(frame)
    full = forecaster.predict(fh=list(range(1, 7)))
    some = forecaster.predict(fh=[2, 5])
    np.testing.assert_array_equal(some.to_numpy(), full.to_numpy()[[1, 4]])


def test_series_in_series_out():
    y = make_frame(n_columns=1)["sensor_0"]
    y_pred = tiny().fit(y).predict(fh=[1, 2])
    assert isinstance(y_pred, pd.Series) and y_pred.name == "sensor_0"


def test_fh_beyond_trained_horizon_says_how_to_refit(frame):
    forecaster = tiny().fit(frame)
    with pytest.raises(
        ValueError,
        match=r"fh reaches 9 steps ahead, but the forecaster was "
        r"trained for pred_len=6\. Refit with pred_len=9",
    ):
        forecaster.predict(fh=[1, 9])


def test_in_sample_fh_is_refused(frame):
    forecaster = tiny().fit(frame)
    with pytest.raises(NotImplementedError, match="can not perform in-sample prediction"):
        forecaster.predict(fh=[-1, 0, 1])


def test_forecast_is_in_original_units(frame):
    y_pred = tiny(max_epochs=5).fit(frame).predict(fh=[1])
    assert 30 < y_pred.to_numpy().mean() < 70  # the series lives around 50


@pytest.mark.parametrize("cls", ALL)
def test_same_random_state_bitwise_identical(cls, frame):
    a = tiny(cls, random_state=5).fit(frame).predict(fh=[1, 2, 3])
    b = tiny(cls, random_state=5).fit(frame).predict(fh=[1, 2, 3])
    c = tiny(cls, random_state=6).fit(frame).predict(fh=[1, 2, 3])
    assert np.array_equal(a.to_numpy(), b.to_numpy())
    assert not np.array_equal(a.to_numpy(), c.to_numpy())


def test_bitwise_identical_in_parallel_threads(frame):
    options = {"dropout": 0.3}
    serial = tiny(LightSAEiTransformerForecaster, **options).fit(frame).predict(fh=[1, 2])
    results = {}

    def work(key):
        forecaster = tiny(LightSAEiTransformerForecaster, **options)
        results[key] = forecaster.fit(frame).predict(fh=[1, 2])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for key in range(2):
        assert np.array_equal(results[key].to_numpy(), serial.to_numpy())


@pytest.mark.parametrize("cls", ALL)
def test_save_load_and_pickle_round_trip(cls, frame, tmp_path):
    forecaster = tiny(cls).fit(frame)
    expected = forecaster.predict(fh=[1, 2, 3])
    forecaster.save(tmp_path / "model")
    for restored in (load(tmp_path / "model.zip"), cls.load_from_path(tmp_path / "model.zip")):
        np.testing.assert_array_equal(
            restored.predict(fh=[1, 2, 3]).to_numpy(), expected.to_numpy()
        )
    unpickled = pickle.loads(pickle.dumps(forecaster))
    np.testing.assert_array_equal(unpickled.predict(fh=[1, 2, 3]).to_numpy(), expected.to_numpy())
    in_memory = load(forecaster.save())
    np.testing.assert_array_equal(in_memory.predict(fh=[1, 2, 3]).to_numpy(), expected.to_numpy())


def test_clone_is_unfitted_with_same_parameters(frame):
    forecaster = tiny(embedding="sae", rank=3).fit(frame)
    twin = clone(forecaster)
    assert twin.get_params() == forecaster.get_params()
    assert not twin.is_fitted
    assert not hasattr(twin, "net_")


@pytest.mark.parametrize("cls", ALL)
def test_no_remember_data_future_warning(cls, frame):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tiny(cls).fit(frame).predict(fh=[1])
    assert not [w for w in caught if "remember_data" in str(w.message)]


def test_constructor_only_stores_arguments():
    forecaster = LightSAERLinearForecaster(seq_len=-5, embedding="nonsense")
    assert forecaster.seq_len == -5 and forecaster.embedding == "nonsense"


def test_input_is_not_modified(frame):
    before = frame.copy(deep=True)
    forecaster = tiny().fit(frame)
    forecaster.update(make_frame(n_rows=170).iloc[160:], update_params=True)
    pd.testing.assert_frame_equal(frame, before)


def test_update_without_params_moves_the_context_only(frame):
    full = make_frame(n_rows=180)
    forecaster = tiny().fit(full.iloc[:160])
    weights = {k: v.clone() for k, v in forecaster.model_.state_dict().items()}
    forecaster.update(full.iloc[160:170], update_params=False)
    assert forecaster.cutoff[0] == full.index[169]
    assert all(torch.equal(v, forecaster.model_.state_dict()[k]) for k, v in weights.items())
    scaler = forecaster.scaler_
    context = scaler.transform(full.iloc[170 - 12 : 170].to_numpy()).astype(np.float32)
    expected = scaler.inverse_transform(forecaster.predict_windows(context[None])[0, 0])
    np.testing.assert_allclose(forecaster.predict(fh=[1]).to_numpy()[0], expected, rtol=1e-5)


def test_update_with_params_fine_tunes(frame):
    full = make_frame(n_rows=200)
    forecaster = tiny().fit(full.iloc[:160])
    weights = {k: v.clone() for k, v in forecaster.model_.state_dict().items()}
    forecaster.update(full.iloc[160:200], update_params=True)
    changed = [
        k for k, v in weights.items() if not torch.equal(v, forecaster.model_.state_dict()[k])
    ]
    assert changed
    assert forecaster.cutoff[0] == full.index[-1]


def test_update_params_is_reproducible(frame):
    full = make_frame(n_rows=200)
    a = tiny(random_state=3).fit(full.iloc[:160]).update(full.iloc[160:], update_params=True)
    b = tiny(random_state=3).fit(full.iloc[:160]).update(full.iloc[160:], update_params=True)
    assert np.array_equal(a.predict(fh=[1]).to_numpy(), b.predict(fh=[1]).to_numpy())


def test_hard_inputs_give_finite_forecasts():
    frame = make_frame()
    frame["constant"] = 3.0
    assert np.isfinite(tiny().fit(frame).predict(fh=[1, 2]).to_numpy()).all()
    single = make_frame(n_columns=1)
    assert np.isfinite(tiny().fit(single).predict(fh=[1]).to_numpy()).all()
    integers = make_frame().round().astype(int)
    assert np.isfinite(tiny().fit(integers).predict(fh=[1]).to_numpy()).all()
    huge = make_frame() * 1e12
    y_pred = tiny().fit(huge).predict(fh=[1])
    assert np.isfinite(y_pred.to_numpy()).all()
    assert 1e12 < y_pred.to_numpy().mean() < 1e14


def test_unscaled_training_reads_raw_values_and_still_forecasts_the_level():
    y = make_frame() * 1e12  # level 5e13, std 7e12: far outside what the weights see
    forecaster = tiny(scale=False).fit(y.iloc[:-6])
    assert forecaster.scaler_.mean.tolist() == [0.0] * 3  # scale=False: the identity
    assert forecaster.scaler_.std.tolist() == [1.0] * 3
    error = forecaster.predict(fh=list(range(1, 7))).to_numpy() - y.iloc[-6:].to_numpy()
    assert np.abs(error).mean() < 3 * y.std().mean()  # RevIN keeps the raw level in reach


def test_fitted_attributes(frame):
    forecaster = tiny().fit(frame)
    assert forecaster.n_epochs_ >= 1 and 1 <= forecaster.best_epoch_ <= forecaster.n_epochs_
    assert type(forecaster.model_).__name__ == "RLinear"
    assert forecaster.model_.embedding.pool_size == 2
    assert list(forecaster.columns_) == list(frame.columns)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_device(frame):
    forecaster = tiny(device="cuda").fit(frame)
    assert next(forecaster.model_.parameters()).is_cuda
    cpu = tiny().fit(frame).predict(fh=[1])
    np.testing.assert_allclose(forecaster.predict(fh=[1]).to_numpy(), cpu.to_numpy(), rtol=1e-2)


@pytest.mark.parametrize("cls", ALL)
def test_pooled_bias_reaches_the_embedding_of_every_backbone(cls, frame):
    forecaster = tiny(cls, pooled_bias=True).fit(frame)
    embedding = forecaster.model_.embedding
    assert embedding.bias is None and embedding.bias_pool.shape == (
        TINY["pool_size"],
        6 if cls is LightSAERLinearForecaster else 8,
    )
    assert np.isfinite(forecaster.predict(fh=[1, 2]).to_numpy()).all()


def test_pooled_bias_with_another_embedding_is_refused(frame):
    with pytest.raises(ValueError, match=r"pooled_bias=True mixes .* embedding=.shared. has none"):
        tiny(embedding="shared", pooled_bias=True).fit(frame)


@pytest.mark.parametrize("cls", [LightSAEPatchTSTForecaster, LightSAEiTransformerForecaster])
def test_chunked_training_forecasts_as_the_unchunked(cls, frame):
    whole = tiny(cls, dropout=0.2).fit(frame)
    chunked = tiny(cls, dropout=0.2, chunk_size=2).fit(frame)  # a few rows per chunk
    assert chunked.model_.encoder.chunk_size == 2
    np.testing.assert_allclose(
        chunked.predict(fh=[1, 2, 3]).to_numpy(),
        whole.predict(fh=[1, 2, 3]).to_numpy(),
        rtol=1e-4,
        atol=1e-4,
    )
    assert chunked.net_.history[-1, "train_loss"] == pytest.approx(
        whole.net_.history[-1, "train_loss"], rel=1e-5
    )


def test_compile_true_forecasts_like_eager_and_reproducibly(frame):
    # inductor for real (this machine has the C++ compiler it needs); RLinear's graphs are
    # small, so compiling takes seconds. Compiled kernels round differently from eager.
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no fallback to eager
        compiled = tiny(compile=True).fit(frame)
        again = tiny(compile=True).fit(frame)
    eager = tiny().fit(frame)
    assert compiled.net_.compiled and not eager.net_.compiled
    assert type(compiled.net_.module_) is type(eager.net_.module_)  # the plain module
    fh = [1, 2, 3]
    forecast = compiled.predict(fh=fh).to_numpy()
    np.testing.assert_array_equal(forecast, again.predict(fh=fh).to_numpy())
    np.testing.assert_allclose(forecast, eager.predict(fh=fh).to_numpy(), rtol=1e-4)
    restored = pickle.loads(pickle.dumps(compiled))
    np.testing.assert_array_equal(restored.predict(fh=fh).to_numpy(), forecast)
