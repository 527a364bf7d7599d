"""Fleets: pretrain on a panel, adapt to one device in fit (the gates, the embedding, all)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from sae_forecast.forecasting import FORECASTERS, LightSAERLinearForecaster
from sae_forecast.forecasting._fleet import panel_devices
from tests.forecasting.conftest import TINY, make_frame

SMALL = {"d_model": 8, "n_heads": 2, "d_ff": 8, "n_layers": 1, "patch_len": 4, "stride": 4}
GATES = {"embedding.gate_logits", "embedding.bias"}


def _small(cls) -> dict:
    own = {k: v for k, v in SMALL.items() if k in cls().get_params()}
    return {**TINY, **own}


def make_panel(n_devices=3, n_rows=60, n_columns=3) -> pd.DataFrame:
    """Devices with the same columns at different levels (device i around 50 + 40 i)."""
    frames = {
        f"device_{i}": make_frame(n_rows, n_columns, seed=i) + 40 * i for i in range(n_devices)
    }
    return pd.concat(frames, names=["device", "time"])


def _state(forecaster) -> dict:
    return {k: v.clone() for k, v in forecaster.net_.module_.state_dict().items()}


def _changed(state: dict, reference: dict) -> set:
    return {name for name in state if not torch.equal(state[name], reference[name])}


def _pretrained(cls=LightSAERLinearForecaster, **params):
    forecaster = cls(**{**_small(cls), **params})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the panel is long enough: no warning expected
        forecaster.pretrain(make_panel())
    return forecaster


@pytest.mark.parametrize("name", list(FORECASTERS))
def test_pretrain_fit_predict_update_on_a_panel(name):
    forecaster = _pretrained(FORECASTERS[name])
    assert forecaster.state == "pretrained"
    assert forecaster.fleet_.devices == ["device_0", "device_1", "device_2"]
    y = make_frame(80, seed=9)
    forecaster.fit(y)
    assert forecaster.state == "fitted"
    assert set(forecaster.trainable_) == GATES  # "auto" with LightSAE: the gates
    # every other weight and statistic (PatchTST's BatchNorm) is exactly the pretrained one
    assert _changed(_state(forecaster), forecaster.fleet_.weights) == GATES
    prediction = forecaster.predict(fh=[1, 2, 3])
    assert prediction.shape == (3, 3) and np.isfinite(prediction.to_numpy()).all()
    later = make_frame(100, seed=9).iloc[80:]
    forecaster.update(later, update_params=True)
    assert forecaster.cutoff[0] == later.index[-1]


def test_fit_starts_from_the_pretrained_weights_and_keeps_them():
    forecaster = _pretrained(adapt="none")
    pretrained = {k: v.clone() for k, v in forecaster.fleet_.weights.items()}
    forecaster.fit(make_frame(80, seed=9))
    assert _changed(_state(forecaster), pretrained) == set()  # "none": exactly the pretrained
    assert forecaster.n_epochs_ == 0
    assert _changed(forecaster.fleet_.weights, pretrained) == set()
    # a second fit: sktime resets to the pretrained state (not to a new forecaster)
    forecaster.fit(make_frame(90, seed=8))
    assert _changed(_state(forecaster), pretrained) == set()


def test_gates_adaptation_changes_only_the_gate_parameters():
    forecaster = _pretrained(adapt="gates")
    pretrained = {k: v.clone() for k, v in forecaster.fleet_.weights.items()}
    forecaster.fit(make_frame(80, seed=9))
    assert _changed(_state(forecaster), pretrained) == GATES
    fitted = _state(forecaster)
    forecaster.update(make_frame(110, seed=9).iloc[80:], update_params=True)
    assert _changed(_state(forecaster), pretrained) == GATES  # update respects the choice
    assert _changed(_state(forecaster), fitted) == GATES
    assert _changed(forecaster.fleet_.weights, pretrained) == set()


def test_embedding_adaptation_leaves_the_rest_of_the_backbone_unchanged():
    cls = FORECASTERS["iTransformer"]
    forecaster = _pretrained(cls, adapt="embedding")
    pretrained = {k: v.clone() for k, v in forecaster.fleet_.weights.items()}
    forecaster.fit(make_frame(80, seed=9))
    changed = _changed(_state(forecaster), pretrained)
    assert changed and all(name.startswith("embedding.") for name in changed)
    assert forecaster.trainable_ == ("embedding.*",)


def test_all_adaptation_trains_beyond_the_embedding():
    forecaster = _pretrained(FORECASTERS["RMLP"], adapt="all")
    pretrained = {k: v.clone() for k, v in forecaster.fleet_.weights.items()}
    forecaster.fit(make_frame(80, seed=9))
    changed = _changed(_state(forecaster), pretrained)
    assert any(not name.startswith("embedding.") for name in changed)
    assert forecaster.trainable_ is None


def test_none_adaptation_update_keeps_the_weights():
    forecaster = _pretrained(adapt="none")
    forecaster.fit(make_frame(80, seed=9))
    before = _state(forecaster)
    forecaster.update(make_frame(110, seed=9).iloc[80:], update_params=True)
    assert _changed(_state(forecaster), before) == set()


def test_auto_adapts_every_weight_without_gates():
    forecaster = _pretrained(embedding="shared")
    forecaster.fit(make_frame(80, seed=9))
    assert forecaster.trainable_ is None


def test_gates_without_a_lightsae_embedding_fail_before_pretraining():
    forecaster = LightSAERLinearForecaster(**{**TINY, "embedding": "shared", "adapt": "gates"})
    with pytest.raises(ValueError, match=r"adapt='gates' trains the LightSAE gates, but "):
        forecaster.pretrain(make_panel())
    assert not hasattr(forecaster, "fleet_")


def test_unknown_adapt_is_an_error_listing_the_choices():
    with pytest.raises(ValueError, match=r"adapt must be one of \['auto', 'gates'"):
        LightSAERLinearForecaster(**{**TINY, "adapt": "bias"}).pretrain(make_panel())


def test_a_panel_with_mismatched_columns_gets_a_clear_error():
    panel = make_panel()
    panel.loc["device_2", "sensor_1"] = np.nan  # device_2 does not report sensor_1
    with pytest.raises(ValueError, match=r"must report the same columns, but device 'device_2'"):
        LightSAERLinearForecaster(**TINY).pretrain(panel)


def test_a_list_of_devices_with_different_columns_gets_a_clear_error():
    a = make_frame(120)
    b = make_frame(120).rename(columns={"sensor_2": "humidity"})
    with pytest.raises(ValueError, match=r"series 1 has \['sensor_0', 'sensor_1', 'humidity'\]"):
        LightSAERLinearForecaster(**TINY).pretrain([a, b])


def test_fit_after_pretrain_needs_the_pretrained_columns():
    forecaster = _pretrained()
    with pytest.raises(ValueError, match=r"pretrained on \['sensor_0', 'sensor_1', 'sensor_2'\]"):
        forecaster.fit(make_frame(80, n_columns=2))
    reordered = make_frame(80)[["sensor_2", "sensor_0", "sensor_1"]]
    with pytest.raises(ValueError, match=r"in the same order"):
        forecaster.fit(reordered)
    renamed = make_frame(80).set_axis(["a", "b", "c"], axis=1)
    with pytest.warns(UserWarning, match="matched by position"):
        forecaster.fit(renamed)


def test_fh_beyond_the_pretrained_horizon_is_refused_in_fit():
    forecaster = _pretrained()
    with pytest.raises(ValueError, match=r"pretrained for pred_len=6"):
        forecaster.fit(make_frame(80), fh=list(range(1, 9)))


def test_a_horizon_within_the_pretrained_one_keeps_the_network():
    forecaster = LightSAERLinearForecaster(**{**TINY, "pred_len": None})
    forecaster.pretrain(make_panel(), fh=list(range(1, 7)))
    forecaster.fit(make_frame(80), fh=[1, 2])
    assert forecaster.pred_len_ == 6 and len(forecaster.predict()) == 2


def _forecast(seed: int) -> np.ndarray:
    forecaster = _pretrained(random_state=seed)
    return forecaster.fit(make_frame(80, seed=9)).predict(fh=[1, 2, 3]).to_numpy()


def test_equal_seeds_give_identical_results():
    np.testing.assert_array_equal(_forecast(3), _forecast(3))
    assert not np.array_equal(_forecast(3), _forecast(4))


def test_a_second_pretrain_continues_from_the_pretrained_weights():
    forecaster = _pretrained()
    first = {k: v.clone() for k, v in forecaster.fleet_.weights.items()}
    more = make_panel(n_devices=2).rename(index={"device_0": "new_0", "device_1": "new_1"})
    forecaster.pretrain(more)
    assert forecaster.fleet_.devices[-2:] == ["new_0", "new_1"]
    assert _changed(forecaster.fleet_.weights, first)
    restarted = LightSAERLinearForecaster(**_small(LightSAERLinearForecaster)).pretrain(more)
    assert _changed(forecaster.fleet_.weights, restarted.fleet_.weights)


def test_devices_at_different_levels_share_one_model():
    forecaster = _pretrained()
    for level in (0, 400):  # each device is scaled on its own span: forecasts follow its level
        y = make_frame(80, seed=9) + level
        forecast = forecaster.fit(y).predict(fh=[1, 2, 3]).to_numpy()
        assert abs(forecast.mean() - y.to_numpy()[-24:].mean()) < 10


def test_short_devices_are_reported_in_a_warning():
    panel = pd.concat({"long": make_frame(60), "short": make_frame(20)}, names=["d", "t"])
    with pytest.warns(UserWarning, match=r"\['short'\] are too short for a validation tail"):
        LightSAERLinearForecaster(**TINY).pretrain(panel)


def test_pretrain_leaves_the_callers_panel_unchanged():
    panel = make_panel()
    panel.iloc[5, 0] = np.nan
    copy = panel.copy()
    LightSAERLinearForecaster(**TINY).pretrain(panel)
    pd.testing.assert_frame_equal(panel, copy)


def test_plain_fit_on_a_panel_still_fits_one_model_per_series():
    forecaster = LightSAERLinearForecaster(**TINY).fit(make_panel(n_devices=2))
    assert forecaster.forecasters_.shape == (2, 1)
    assert not hasattr(forecaster, "fleet_")
    assert forecaster.predict(fh=[1]).shape == (2, 3)


def test_panel_devices_fills_missing_time_stamps_per_device():
    panel = make_panel(n_devices=2).drop(index=("device_1", pd.Timestamp("2021-01-01 05:00")))
    names, frames = panel_devices(panel)
    assert names == ["device_0", "device_1"]
    assert len(frames[1]) == 60 and frames[1].iloc[5].isna().all()


def test_fit_on_a_panel_after_pretrain_adapts_one_copy_per_device():
    forecaster = _pretrained(adapt="gates")
    pretrained = {k: v.clone() for k, v in forecaster.fleet_.weights.items()}
    forecaster.fit(make_panel(n_devices=2))
    for copy in forecaster.forecasters_.iloc[:, 0]:
        assert _changed(_state(copy), pretrained) == GATES
    assert forecaster.predict(fh=[1, 2]).shape == (4, 3)
