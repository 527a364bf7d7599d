"""A new device joins the fleet: pretrain on the stations you have, adapt to the new one.

python examples/new_device.py [--quick] [--out examples_out]

beijing_air holds 12 air-quality stations that report the same 11 variables. Eleven of them
are the fleet; the twelfth joins with two weeks of history. One LightSAE-RLinear network is
pretrained on the fleet (``pretrain``), then adapted to the new station by re-learning only its
gates (``fit`` with ``adapt="gates"``), and compared with a model trained on the two weeks alone.
"""

from __future__ import annotations

import time

import pandas as pd
from _common import parse

from sae_forecast import LightSAERLinearForecaster
from sae_forecast.data import load_dataset

args = parse(__doc__)
air = load_dataset("beijing_air")  # columns <station>_<variable>
air = air.iloc[-2000:] if args.quick else air
station = air.columns.str.rsplit("_", n=1).str[0]
fleet = {
    name: air.loc[:, station == name].rename(columns=lambda c: c.rsplit("_", 1)[1])
    for name in dict.fromkeys(station)
}
new = "Wanliu"
n_test, two_weeks = (200 if args.quick else 2000), 14 * 24
joined = len(air) - n_test  # the new station joins here; the rows after it are the test
panel = pd.concat(
    {name: frame.iloc[:joined] for name, frame in fleet.items() if name != new},
    names=["station", "time"],
)
history = fleet[new].iloc[joined - two_weeks : joined]
print(f"fleet: {panel.index.levels[0].size} stations x {panel.shape[1]} variables; "
      f"{new}: {len(history)} hours of history")  # fmt: skip

settings = {
    "seq_len": 96,
    "pred_len": 24,
    "pool_size": 7,
    "max_epochs": 1 if args.quick else 10,
    "random_state": 0,
}
forecaster = LightSAERLinearForecaster(**settings, adapt="gates")
began = time.perf_counter()
forecaster.pretrain(panel)  # one network, every station scaled on its own span
pretrain_s = time.perf_counter() - began

rows = []
for name, model in (("alone", LightSAERLinearForecaster(**settings)), ("gates", forecaster)):
    began = time.perf_counter()
    model.fit(history)  # after pretrain: starts from the fleet's weights, trains the gates
    seconds = time.perf_counter() - began
    score = model.score_windows(fleet[new].iloc[joined - two_weeks :], start=two_weeks - 96)
    trained = sum(p.numel() for p in model.model_.parameters() if p.requires_grad)
    rows.append({"model": name, "test_mse": score["mse"], "trained_weights": trained,
                 "fit_s": seconds})  # fmt: skip
table = pd.DataFrame(rows)
table.to_csv(args.out / "new_device.csv", index=False)
print(f"pretraining: {pretrain_s:.1f} s")
print(table.round(4).to_string(index=False))
print("forecast of the next 3 hours:\n", forecaster.predict(fh=[1, 2, 3]).iloc[:, :4].round(1))
