"""Why LightSAE works: the paper's mechanism analysis as tools on trained models.

Two observations motivate LightSAE (Ren & Yu, 2025): the channel-specific (auxiliary) weights
learned by a full-rank SAE are low-rank, and channels cluster into groups that share
dynamics. This subpackage measures both on any fitted forecaster, backbone or embedding:

- :mod:`~sae_forecast.analysis.spectrum`: singular-value energy of the per-channel weights.
- :mod:`~sae_forecast.analysis.gates`: gate entropy, pool collapse, channel clustering.
- :mod:`~sae_forecast.analysis.plots`: matplotlib figures of both.

Nothing here trains a model.
"""

from sae_forecast.analysis._inputs import get_embedding
from sae_forecast.analysis.gates import (
    agreement,
    cluster_channels,
    collapse_report,
    effective_components,
    gate_entropy,
    gate_matrix,
    residual_features,
)
from sae_forecast.analysis.plots import (
    plot_channel_map,
    plot_energy_curves,
    plot_gain_vs_channels,
    plot_gate_heatmap,
)
from sae_forecast.analysis.spectrum import (
    channel_spectra,
    energy_ratio,
    rank_for_energy,
    spectrum_table,
)

__all__ = [
    "agreement",
    "channel_spectra",
    "cluster_channels",
    "collapse_report",
    "effective_components",
    "energy_ratio",
    "gate_entropy",
    "gate_matrix",
    "get_embedding",
    "plot_channel_map",
    "plot_energy_curves",
    "plot_gain_vs_channels",
    "plot_gate_heatmap",
    "rank_for_energy",
    "residual_features",
    "spectrum_table",
]
