"""Forecast tomorrow's Nord Pool prices with the day-ahead load and wind forecasts as covariates.

The grid-load and wind-power forecasts are published before the day-ahead prices are set, so
their values for the next 24 hours are known when the price forecast is made: they are
future-known covariates (``future_covariates="all"``, sktime's convention that ``X`` at
``predict`` covers ``fh``). The same forecaster is fitted without ``X`` for comparison; both
are scored on every test window of the 70/10/20 split, and tomorrow's forecast is plotted with
its conformal 80% and 95% intervals.

python examples/day_ahead_prices.py [--quick] [--out examples_out]
"""

from __future__ import annotations

from _common import parse

from sae_forecast import LightSAERLinearForecaster
from sae_forecast.analysis.plots import plot_forecast_bands
from sae_forecast.data import load_dataset, split_borders

args = parse(__doc__)
frame = load_dataset("EPF_NP")  # reads $SAE_FORECAST_DATA
y, X = frame[["OT"]], frame.drop(columns="OT")  # price; load and wind forecasts
borders = split_borders("ratio_7_1_2", len(frame), 168)
cut = 12000 if args.quick else borders["valid"][1]  # train + validation rows
test_end = cut + 2000 if args.quick else borders["test"][1]
fh = list(range(1, 25))  # tomorrow, hour by hour


def forecaster(**covariates):
    return LightSAERLinearForecaster(
        seq_len=168,
        pred_len=24,
        lr=0.005,
        max_epochs=2 if args.quick else 10,
        random_state=0,
        **covariates,
    )


with_x = forecaster(future_covariates="all").fit(y.iloc[:cut], X=X.iloc[:cut])
without = forecaster().fit(y.iloc[:cut])

start = cut - 168  # the first test window's lookback starts 168 rows before the test rows
scores = {
    "with day-ahead X": with_x.score_windows(y.iloc[:test_end], X.iloc[:test_end], start=start),
    "without X": without.score_windows(y.iloc[:test_end], start=start),
}
for name, score in scores.items():
    print(f"{name:>17}: test MSE {score['mse']:.3f}, MAE {score['mae']:.3f} (scaled)")

tomorrow = X.iloc[cut : cut + 24]  # the day-ahead forecasts for tomorrow's 24 hours
point = with_x.predict(fh=fh, X=tomorrow)
bands = with_x.predict_interval(fh=fh, X=tomorrow, coverage=[0.8, 0.95])
bands.to_csv(args.out / "day_ahead_intervals.csv")
figure = plot_forecast_bands(
    y.iloc[cut - 72 : cut + 24],
    point,
    bands,
    title="Nord Pool price: LightSAE-RLinear with the day-ahead load and wind forecasts",
)
figure.savefig(args.out / "day_ahead_prices.png", dpi=110)
