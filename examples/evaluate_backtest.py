"""Backtest with sktime's evaluate and an expanding window; plot the last forecast.

python examples/evaluate_backtest.py [--quick] [--out examples_out]
"""

from __future__ import annotations

from _common import parse
from matplotlib.figure import Figure
from sktime.forecasting.model_evaluation import evaluate
from sktime.performance_metrics.forecasting import MeanSquaredError
from sktime.split import ExpandingWindowSplitter

from sae_forecast import LightSAERLinearForecaster
from sae_forecast.data import load_dataset

args = parse(__doc__)
y = load_dataset("ETTh2").iloc[: 2000 if args.quick else 11520]
fh = list(range(1, 25))
cv = ExpandingWindowSplitter(fh=fh, initial_window=len(y) - 3 * 240, step_length=240)
forecaster = LightSAERLinearForecaster(
    seq_len=96, pred_len=24, pool_size=3, max_epochs=2 if args.quick else 20, random_state=0
)
results = evaluate(forecaster, cv=cv, y=y, scoring=MeanSquaredError(), return_data=True)
print(results[["test_MeanSquaredError", "fit_time", "len_train_window"]])
results.drop(columns=["y_train", "y_test", "y_pred"]).to_csv(args.out / "backtest.csv")

last = results.iloc[-1]
figure = Figure(figsize=(8, 3.5), layout="constrained")
ax = figure.subplots()
ax.plot(last["y_train"]["OT"].iloc[-96:], label="history (OT)")
ax.plot(last["y_test"]["OT"], label="actual")
ax.plot(last["y_pred"]["OT"], label="LightSAE-RLinear forecast")
ax.set_title("ETTh2 oil temperature: last backtest window")
ax.set_ylabel("OT")
ax.legend()
figure.savefig(args.out / "backtest.png", dpi=110)
