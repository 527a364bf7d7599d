"""Tune rank and pool size: scikit-learn GridSearchCV on the skorch net, and sktime
ForecastingGridSearchCV on the forecaster.

    python examples/grid_search.py [--quick] [--out examples_out]
"""

from __future__ import annotations

import pandas as pd
from _common import parse
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sktime.forecasting.model_selection import ForecastingGridSearchCV
from sktime.split import SlidingWindowSplitter

from sae_forecast import LightSAERLinearForecaster
from sae_forecast.data import load_dataset, prepare_benchmark, sliding_windows
from sae_forecast.nn import RLinear
from sae_forecast.training import ForecastingNet

args = parse(__doc__)
epochs, rows = (1, 2000) if args.quick else (10, 8640)
grid = {"rank": [5, 25], "pool_size": [1, 3]}

# 1. scikit-learn on the net: windows as arrays (strided views), targets (n, 24, 7)
values, _ = prepare_benchmark(load_dataset("ETTh1"), 96).part("train")
X, Y = sliding_windows(values[:rows], seq_len=96, pred_len=24)
net = ForecastingNet(
    RLinear,
    module__seq_len=96,
    module__pred_len=24,
    module__n_channels=7,
    module__embedding="lightsae",
    lr=0.005,
    max_epochs=epochs,
    random_state=0,
)
sk_search = GridSearchCV(
    net, {f"module__{k}": v for k, v in grid.items()}, cv=TimeSeriesSplit(n_splits=2)
).fit(X, Y)
print("GridSearchCV best:", sk_search.best_params_, f"(neg. MSE {sk_search.best_score_:.4f})")

# 2. sktime on the forecaster, with a temporal splitter and parallel processes
y = load_dataset("ETTh1").iloc[:rows]
fh = list(range(1, 25))
search = ForecastingGridSearchCV(
    LightSAERLinearForecaster(seq_len=96, pred_len=24, max_epochs=epochs, random_state=0),
    cv=SlidingWindowSplitter(fh=fh, window_length=rows // 2, step_length=rows // 5),
    param_grid=grid,
    backend="loky" if not args.quick else None,
).fit(y, fh=fh)
print("ForecastingGridSearchCV best:", search.best_params_)

pd.DataFrame(sk_search.cv_results_).to_csv(args.out / "grid_search_sklearn.csv", index=False)
search.cv_results_.to_csv(args.out / "grid_search_sktime.csv", index=False)
