"""Fit a LightSAE-RLinear forecaster on ETTh1 and compare it with the shared baseline.

python examples/quickstart.py [--quick] [--out examples_out]
"""

from __future__ import annotations

from _common import parse

from sae_forecast import LightSAERLinearForecaster
from sae_forecast.data import load_dataset

args = parse(__doc__)
y = load_dataset("ETTh1")  # reads $SAE_FORECAST_DATA
y_train, y_test = y.iloc[:8640], y.iloc[8640 : 8640 + 24]
epochs = 2 if args.quick else 20

errors = {}
for embedding in ("shared", "lightsae"):
    forecaster = LightSAERLinearForecaster(
        seq_len=96, pred_len=24, embedding=embedding, pool_size=3, max_epochs=epochs, random_state=0
    )
    y_pred = forecaster.fit(y_train).predict(fh=list(range(1, 25)))
    errors[embedding] = float(((y_pred - y_test) ** 2).to_numpy().mean())
    y_pred.to_csv(args.out / f"quickstart_{embedding}.csv")

for embedding, mse in errors.items():
    print(f"{embedding:>9}: MSE of the next 24 hours (original units) = {mse:.3f}")
