"""FleetWindows: per-device scaling, per-device validation tails, no window across devices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sae_forecast.training import FleetWindows

SEQ, PRED = 6, 3


def _devices(lengths=(40, 30, 50), levels=(0.0, 100.0, -50.0), seed=0):
    rng = np.random.default_rng(seed)
    return [level + rng.normal(size=(n, 2)) for n, level in zip(lengths, levels, strict=True)]


def _device_of_rows(lengths):
    return np.repeat(np.arange(len(lengths)), lengths)


def test_windows_never_cross_from_one_device_to_the_next():
    lengths = (40, 30, 50)
    fleet = FleetWindows.from_series(_devices(lengths), SEQ, PRED, validation_size=0.2)
    owner = _device_of_rows(lengths)
    for part in (fleet.train, fleet.valid):
        starts = part.starts.numpy()
        assert (owner[starts] == owner[starts + SEQ + PRED - 1]).all()


def test_each_device_is_validated_on_its_own_tail_after_a_gap():
    lengths = (40, 30, 50)
    fleet = FleetWindows.from_series(_devices(lengths), SEQ, PRED, validation_size=3)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    last_start = offsets + np.array(lengths) - SEQ - PRED  # last window start of each device
    valid = fleet.valid.starts.numpy()
    expected = np.concatenate([np.arange(s - 2, s + 1) for s in last_start])
    np.testing.assert_array_equal(valid, expected)
    train = fleet.train.starts.numpy()
    for start in last_start:  # training stops pred_len - 1 windows before the tail
        owned = train[(train <= start) & (train > start - 100)]
        assert owned.max() == start - 3 - (PRED - 1)


def test_each_device_is_scaled_on_its_own_training_span_only():
    devices = _devices()
    changed = [d.copy() for d in devices]
    changed[1][-5:] += 1e6  # values in the validation tail only
    a = FleetWindows.from_series(devices, SEQ, PRED, validation_size=0.2)
    b = FleetWindows.from_series(changed, SEQ, PRED, validation_size=0.2)
    for scaler_a, scaler_b in zip(a.scalers, b.scalers, strict=True):
        np.testing.assert_array_equal(scaler_a.mean, scaler_b.mean)
    assert [round(float(s.mean[0]) / 50) for s in a.scalers] == [0, 2, -1]
    assert abs(float(a.train.values.mean())) < 0.5  # every device standardised around 0


def test_scale_false_keeps_original_units():
    fleet = FleetWindows.from_series(_devices(), SEQ, PRED, scale=False)
    assert float(fleet.train.values.max()) > 90


def test_windows_are_lazy_one_copy_of_the_series_shared_by_both_parts():
    lengths = (40, 30, 50)
    fleet = FleetWindows.from_series(_devices(lengths), SEQ, PRED)
    assert fleet.train.values is fleet.valid.values
    assert fleet.train.values.shape == (sum(lengths), 2)
    assert fleet.train.values.dtype == torch.float32


def test_short_devices_train_without_a_tail_and_too_short_ones_are_left_out():
    fleet = FleetWindows.from_series(_devices((40, 10, 5)), SEQ, PRED, validation_size=0.2)
    assert fleet.without_tail == [1]  # 2 windows: no room for a tail and the gap
    assert fleet.without_window == [2]
    assert fleet.used == [0, 1]
    assert len(fleet.scalers) == 2


def test_no_tail_anywhere_gives_no_validation_set():
    fleet = FleetWindows.from_series(_devices((10, 10, 10)), SEQ, PRED, validation_size=0.1)
    assert fleet.valid is None
    assert len(fleet.train) == 3 * (10 - SEQ - PRED + 1)


def test_no_complete_window_is_an_error_naming_the_window_length():
    with pytest.raises(ValueError, match=r"no device has a complete window of .* = 9 rows"):
        FleetWindows.from_series(_devices((5, 8, 3)), SEQ, PRED)


def test_a_channel_never_observed_on_a_device_is_named_with_the_device():
    devices = _devices()
    devices[2][:, 1] = np.nan
    with pytest.raises(
        ValueError, match=r"device 'east': y has no observed .* for channel\(s\) \['rain'\]"
    ):
        FleetWindows.from_series(
            devices, SEQ, PRED, names=["north", "west", "east"], columns=["temp", "rain"]
        )


def test_gaps_on_one_device_give_masks_for_every_device():
    devices = _devices()
    devices[0][-3, 0] = np.nan
    fleet = FleetWindows.from_series(devices, SEQ, PRED)
    assert fleet.train.weight.shape == fleet.train.values.shape  # every device's rows
    assert int((fleet.train.weight == 0).sum()) == 1
    clean = FleetWindows.from_series(_devices(), SEQ, PRED)
    assert clean.train.weight is None
