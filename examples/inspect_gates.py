"""Look inside a trained LightSAE: gate collapse diagnostics, clusters, singular-value energy.

python examples/inspect_gates.py [--quick] [--out examples_out]
"""

from __future__ import annotations

import numpy as np
from _common import parse

from sae_forecast import LightSAERLinearForecaster
from sae_forecast.analysis import (
    agreement,
    channel_spectra,
    cluster_channels,
    collapse_report,
    gate_matrix,
    plot_energy_curves,
    plot_gate_heatmap,
)
from sae_forecast.data import make_heterogeneous_series

args = parse(__doc__)
# channels of 4 known types: can the gates find them?
y, types = make_heterogeneous_series(
    n_channels=32, n_types=4, n_steps=1500 if args.quick else 6000, noise=0.3, random_state=0
)
forecaster = LightSAERLinearForecaster(
    seq_len=96,
    pred_len=24,
    pool_size=4,
    lr=0.01,
    max_epochs=3 if args.quick else 30,
    random_state=0,
)
forecaster.fit(y)

gates = gate_matrix(forecaster)
report = collapse_report(gates)
labels = cluster_channels(gates, n_clusters=4)
print({k: round(v, 3) if isinstance(v, float) else v for k, v in report.items()})
print(f"gate clusters vs true types: ARI {agreement(labels, types):.2f}")

plot_gate_heatmap(gates, labels=types, channel_names=list(y.columns)).savefig(
    args.out / "gates.png", dpi=110
)
plot_energy_curves({"LightSAE residual": channel_spectra(forecaster)}).savefig(
    args.out / "energy.png", dpi=110
)
np.savetxt(args.out / "gates.csv", gates, delimiter=",")
