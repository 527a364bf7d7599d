"""Every public forecaster passes sktime's own estimator checks (all of them, per class)."""

from __future__ import annotations

import pytest
from sktime.utils.estimator_checks import check_estimator

from sae_forecast.forecasting import FORECASTERS


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FORECASTERS))
def test_passes_sktime_check_estimator(name):
    # One call per class runs the ~690 checks with both get_test_params sets; parametrising
    # each check separately (parametrize_with_checks) costs ~20x more set-up time.
    results = check_estimator(FORECASTERS[name], raise_exceptions=False)
    failed = {test: str(result)[:500] for test, result in results.items() if result != "PASSED"}
    assert len(results) > 600
    assert failed == {}


@pytest.mark.parametrize("name", list(FORECASTERS))
def test_get_test_params_gives_at_least_two_sets(name):
    params = FORECASTERS[name].get_test_params()
    assert len(params) >= 2
    assert all("max_epochs" in p and p["max_epochs"] <= 2 for p in params)
