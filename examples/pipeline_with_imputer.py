"""Forecast air quality with gaps: an sktime pipeline with an Imputer before the forecaster.

python examples/pipeline_with_imputer.py [--quick] [--out examples_out]
"""

from __future__ import annotations

from _common import parse
from sktime.forecasting.compose import TransformedTargetForecaster
from sktime.transformations.series.impute import Imputer

from sae_forecast import LightSAERLinearForecaster
from sae_forecast.data import load_dataset

args = parse(__doc__)
air = load_dataset("beijing_air")  # 132 channels: 12 stations x 11 variables, 1.6% missing
air = air.iloc[:3000, :22] if args.quick else air.iloc[:24000]
print(f"{int(air.isna().sum().sum())} missing values in {air.shape[1]} channels")

try:
    LightSAERLinearForecaster(pred_len=24).fit(air)
except ValueError as error:
    print("without an imputer:", str(error)[:120], "...")

pipe = TransformedTargetForecaster(
    [
        ("impute", Imputer(method="ffill")),
        (
            "forecast",
            LightSAERLinearForecaster(
                seq_len=96,
                pred_len=24,
                pool_size=10,
                max_epochs=2 if args.quick else 20,
                random_state=0,
            ),
        ),
    ]
)
pipe.set_config(remember_data=False)
y_pred = pipe.fit(air).predict(fh=list(range(1, 25)))
y_pred.to_csv(args.out / "air_quality_forecast.csv")
print(y_pred.iloc[:3, :5].round(1))
