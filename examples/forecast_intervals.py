"""Forecast ETTh1 four days ahead with conformal 80% and 95% intervals, and plot them.

python examples/forecast_intervals.py [--quick] [--out examples_out]
"""

from __future__ import annotations

from _common import parse

from sae_forecast import LightSAERLinearForecaster
from sae_forecast.analysis.plots import plot_forecast_bands
from sae_forecast.data import load_dataset

args = parse(__doc__)
y = load_dataset("ETTh1")  # reads $SAE_FORECAST_DATA
cut = 4000 if args.quick else 11520  # train + validation rows of the standard split
y_train, y_next = y.iloc[:cut], y.iloc[cut : cut + 96]
fh = list(range(1, 97))

forecaster = LightSAERLinearForecaster(
    seq_len=96,
    pred_len=96,
    pool_size=3,
    lr=0.005,
    max_epochs=2 if args.quick else 30,
    random_state=0,
)
forecaster.fit(y_train)  # calibrates on the validation tail it holds out: no extra training
point = forecaster.predict(fh=fh)
bands = forecaster.predict_interval(fh=fh, coverage=[0.8, 0.95])

for coverage in (0.8, 0.95):
    lower = bands.xs((coverage, "lower"), axis=1, level=[1, 2])
    upper = bands.xs((coverage, "upper"), axis=1, level=[1, 2])
    inside = ((lower <= y_next) & (y_next <= upper)).to_numpy().mean()
    print(f"{100 * coverage:.0f}% intervals hold {100 * inside:.0f}% of the next 96 hours")
bands.to_csv(args.out / "intervals.csv")

figure = plot_forecast_bands(
    y.iloc[cut - 96 : cut + 96],
    point,
    bands,
    channels=["HUFL", "MUFL", "OT"],
    title="ETTh1: LightSAE-RLinear forecast with conformal 80% and 95% intervals",
)
figure.savefig(args.out / "intervals.png", dpi=110)
