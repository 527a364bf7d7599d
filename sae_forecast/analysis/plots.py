"""Figures for the mechanism analysis (matplotlib's object-oriented API, no global state).

Every function builds and returns a new :class:`matplotlib.figure.Figure`; nothing is shown
or saved. Save one with ``fig.savefig("name.png")``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from sae_forecast.analysis.spectrum import DEFAULT_LEVELS, energy_ratio

__all__ = [
    "plot_channel_map",
    "plot_energy_curves",
    "plot_forecast_bands",
    "plot_gain_vs_channels",
    "plot_gate_heatmap",
]

CURVE_KINDS = ("singular_values", "energy")
MAP_METHODS = ("pca", "tsne")
MAX_TICK_LABELS = 40  # channel names are written on the heatmap up to this many channels


def _energy_curves(values: Any, kind: str) -> np.ndarray:
    if kind not in CURVE_KINDS:
        raise ValueError(f"kind must be one of {CURVE_KINDS}, got {kind!r}.")
    curves = np.atleast_2d(np.asarray(values, dtype=np.float64))  # (N, r)
    return energy_ratio(curves) if kind == "singular_values" else curves


def _draw_levels(ax, levels: Sequence[float]) -> None:
    for level in levels:
        ax.axhline(level, color="0.45", linestyle="--", linewidth=0.9, zorder=0)
        ax.annotate(
            f"{100 * level:g}%",
            xy=(1.0, level),
            xycoords=("axes fraction", "data"),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            color="0.35",
        )


def plot_energy_curves(
    curves: Mapping[str, Any],
    *,
    kind: str = "singular_values",
    levels: Sequence[float] = DEFAULT_LEVELS,
    band: tuple[float, float] = (0.1, 0.9),
    max_rank: int | None = None,
    title: str = "Cumulative singular-value energy per channel",
) -> Figure:
    """Mean cumulative energy ``E_k`` against ``k``, with a band across channels.

    Parameters
    ----------
    curves : mapping of str to array-like of shape (n_channels, r)
        One entry per model or embedding (the legend label): per-channel singular values
        (see :func:`~sae_forecast.analysis.channel_spectra`) or energy curves.
    kind : {"singular_values", "energy"}, default="singular_values"
        What the arrays hold; singular values are turned into energy curves first.
    levels : sequence of float, default=(0.9, 0.95, 0.99)
        Energy shares drawn as dashed horizontal lines.
    band : tuple of float, default=(0.1, 0.9)
        Quantiles across channels bounding the shaded band; ``(0, 1)`` spans min to max.
    max_rank : int or None, default=None
        Last ``k`` shown; None shows all.
    title : str, default="Cumulative singular-value energy per channel"
        Axes title.

    Returns
    -------
    Figure
        One axes: a mean line and a band per entry.

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_energy_curves({"SAE": np.array([[3.0, 1.0, 0.2], [2.0, 2.0, 0.1]])})
    >>> len(fig.axes), len(fig.axes[0].lines)  # the mean curve and three level lines
    (1, 4)
    """
    if not curves:
        raise ValueError("curves is empty: pass at least one {label: array} entry.")
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    for label, values in curves.items():
        energy = _energy_curves(values, kind)[:, :max_rank]  # (N, k shown)
        ranks = np.arange(1, energy.shape[1] + 1)
        low, high = np.quantile(energy, band, axis=0)
        (line,) = ax.plot(ranks, energy.mean(axis=0), marker="o", markersize=3, label=label)
        ax.fill_between(ranks, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    _draw_levels(ax, levels)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlim(left=0.5)
    ax.set_xlabel("number of singular values k")
    ax.set_ylabel("share of energy $E_k$")
    ax.set_title(title)
    band_text = f"band: {100 * band[0]:g}-{100 * band[1]:g}% of channels"
    ax.legend(title=f"mean curve ({band_text})", loc="lower right", fontsize=9, title_fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _heatmap_order(gates: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """Channels by cluster label, then dominant component, then its weight (largest first)."""
    dominant = gates.argmax(axis=1)
    strength = -gates.max(axis=1)
    keys = (strength, dominant) if labels is None else (strength, dominant, labels)
    return np.lexsort(keys)


def _check_channel_vector(values: Any, n_channels: int, name: str) -> np.ndarray | None:
    if values is None:
        return None
    values = np.asarray(values)
    if values.shape != (n_channels,):
        raise ValueError(
            f"{name} must have one entry per channel ({n_channels}), got {values.shape}."
        )
    return values


def _label_channel_axis(ax, order: np.ndarray, channel_names: np.ndarray | None) -> None:
    if len(order) > MAX_TICK_LABELS:
        ax.yaxis.set_major_locator(NullLocator())
        return
    names = order if channel_names is None else channel_names[order]
    ax.set_yticks(np.arange(len(order)), [str(name) for name in names], fontsize=7)


def plot_gate_heatmap(
    gates: Any,
    labels: Any = None,
    channel_names: Any = None,
    *,
    title: str = "LightSAE gates",
) -> Figure:
    """Heatmap of the gates, channels grouped by cluster and dominant pool component.

    The colour scale runs from 0 to the largest gate, so near-uniform gates stay readable.

    Parameters
    ----------
    gates : array-like of shape (n_channels, K)
        Gate rows (see :func:`~sae_forecast.analysis.gate_matrix`).
    labels : array-like of shape (n_channels,), default=None
        Cluster label or known type per channel: channels are grouped by it, groups are
        separated by white lines and labelled on the right.
    channel_names : array-like of shape (n_channels,), default=None
        Tick labels (shown up to 40 channels); channel indices when None.
    title : str, default="LightSAE gates"
        Axes title.

    Returns
    -------
    Figure
        Two axes: the heatmap and its colour bar.

    Examples
    --------
    >>> import numpy as np
    >>> gates = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    >>> fig = plot_gate_heatmap(gates, labels=[0, 1, 0], channel_names=["a", "b", "c"])
    >>> [tick.get_text() for tick in fig.axes[0].get_yticklabels()]
    ['a', 'c', 'b']
    """
    gates = np.atleast_2d(np.asarray(gates, dtype=np.float64))
    n_channels, pool_size = gates.shape
    labels = _check_channel_vector(labels, n_channels, "labels")
    channel_names = _check_channel_vector(channel_names, n_channels, "channel_names")
    order = _heatmap_order(gates, labels)
    fig = Figure(figsize=(3.8 + 0.4 * pool_size, 2.2 + 0.16 * min(n_channels, 60)))
    ax = fig.add_subplot()
    image = ax.imshow(gates[order], aspect="auto", cmap="viridis", vmin=0.0, vmax=gates.max())
    ax.set_xticks(np.arange(pool_size), [str(k) for k in range(pool_size)])
    ax.set_xlabel("pool component k")
    ax.set_ylabel("channel")
    _label_channel_axis(ax, order, channel_names)
    if labels is not None:
        _mark_groups(ax, labels[order], pool_size)
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="gate weight $g_{ik}$", pad=0.04 if labels is None else 0.1)
    fig.tight_layout()
    return fig


def _group_name(label) -> str:
    return str(label) if isinstance(label, str) else f"group {label}"


def _mark_groups(ax, sorted_labels: np.ndarray, pool_size: int) -> None:
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    ends = np.r_[starts[1:], len(sorted_labels)]
    for start, end in zip(starts, ends, strict=True):
        if start > 0:
            ax.axhline(start - 0.5, color="white", linewidth=2)
        ax.annotate(
            _group_name(sorted_labels[start]),
            xy=(pool_size - 0.5, (start + end - 1) / 2),
            xytext=(3, 0),
            textcoords="offset points",
            rotation=90,
            va="center",
            ha="left",
            fontsize=8,
            annotation_clip=False,
        )


def _embed_2d(features: np.ndarray, method: str, random_state: int | None):
    if method == "pca":
        pca = PCA(n_components=2, random_state=random_state)
        points = pca.fit_transform(features)
        share = 100 * pca.explained_variance_ratio_
        return points, (f"PC 1 ({share[0]:.0f}% of variance)", f"PC 2 ({share[1]:.0f}%)")
    if method == "tsne":
        perplexity = float(np.clip((len(features) - 1) / 3, 1.0, 30.0))
        tsne = TSNE(n_components=2, perplexity=perplexity, random_state=random_state, init="pca")
        return tsne.fit_transform(features), ("t-SNE 1", "t-SNE 2")
    raise ValueError(f"method must be one of {MAP_METHODS}, got {method!r}.")


def plot_channel_map(
    features: Any,
    types: Any = None,
    *,
    method: str = "pca",
    random_state: int | None = 0,
    title: str | None = None,
) -> Figure:
    """Channels as points in 2-D (PCA or t-SNE of their features), coloured by known type.

    Parameters
    ----------
    features : array-like of shape (n_channels, n_features)
        One row per channel, e.g. gates or :func:`~sae_forecast.analysis.residual_features`.
    types : array-like of shape (n_channels,), default=None
        Known type per channel: one colour and legend entry each. One colour when None.
    method : {"pca", "tsne"}, default="pca"
        Projection to 2-D.
    random_state : int or None, default=0
        Seed of the projection.
    title : str or None, default=None
        Axes title; a default naming the method when None.

    Returns
    -------
    Figure
        One axes with one scatter collection per type.

    Examples
    --------
    >>> import numpy as np
    >>> features = np.random.default_rng(0).normal(size=(8, 5))
    >>> fig = plot_channel_map(features, types=[0, 1] * 4)
    >>> len(fig.axes[0].collections)
    2
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or min(features.shape) < 2:
        raise ValueError(
            "features must be 2-D with at least 2 channels and 2 features, got shape "
            f"{features.shape}."
        )
    types = _check_channel_vector(types, len(features), "types")
    points, axis_labels = _embed_2d(features, method, random_state)
    fig = Figure(figsize=(5.6, 4.6))
    ax = fig.add_subplot()
    if types is None:
        ax.scatter(points[:, 0], points[:, 1], s=30, alpha=0.85)
    else:
        for index, kind in enumerate(np.unique(types)):
            inside = types == kind
            ax.scatter(
                points[inside, 0],
                points[inside, 1],
                s=30,
                alpha=0.85,
                label=f"{kind}",
                color=f"C{index % 10}",
                marker="os^D"[index // 10 % 4],  # ten colours, then a new marker shape
            )
        ax.legend(title="type", fontsize=8, title_fontsize=9, loc="best")
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title(title or f"Channel map ({'PCA' if method == 'pca' else 't-SNE'})")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _as_gain_series(gains: Any, n_points: int) -> dict[str, np.ndarray]:
    series = dict(gains) if isinstance(gains, Mapping) else {"": gains}
    series = {name: np.asarray(values, dtype=np.float64) for name, values in series.items()}
    for name, values in series.items():
        if values.shape != (n_points,):
            raise ValueError(
                f"gains{f' {name!r}' if name else ''} must have one value per entry of "
                f"n_channels ({n_points}), got shape {values.shape}."
            )
    return series


def plot_gain_vs_channels(
    n_channels: Any,
    gains: Any,
    labels: Any = None,
    *,
    title: str = "Channel-specific embedding vs shared baseline",
) -> Figure:
    """Relative MSE change (%) against the number of channels, on a log axis.

    Parameters
    ----------
    n_channels : array-like of int, shape (n_points,)
        Channel count of each dataset.
    gains : array-like of shape (n_points,) or mapping of str to such arrays
        ``100 * (mse_model - mse_baseline) / mse_baseline`` per dataset (negative: better
        than the baseline). A mapping draws one labelled line per model or backbone.
    labels : array-like of str, shape (n_points,), default=None
        Dataset names written next to the points.
    title : str, default="Channel-specific embedding vs shared baseline"
        Axes title.

    Returns
    -------
    Figure
        One axes with a line per series and a zero line.

    Examples
    --------
    >>> fig = plot_gain_vs_channels(
    ...     [7, 21, 321], {"RLinear": [-1.0, -2.5, -4.0]}, labels=["ETTh1", "Weather", "ECL"]
    ... )
    >>> fig.axes[0].get_xscale(), len(fig.axes[0].texts)
    ('log', 3)
    """
    counts = np.asarray(n_channels, dtype=np.float64)
    if counts.ndim != 1 or (counts <= 0).any():
        raise ValueError(f"n_channels must be a 1-D array of positive counts, got {counts}.")
    series = _as_gain_series(gains, len(counts))
    labels = _check_channel_vector(labels, len(counts), "labels")
    order = np.argsort(counts, kind="stable")
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    ax.axhline(0.0, color="0.3", linewidth=1.0, zorder=0)
    for name, values in series.items():
        ax.plot(counts[order], values[order], marker="o", label=name or None)
    if labels is not None:
        first = next(iter(series.values()))
        for count, value, text in zip(counts, first, labels, strict=True):
            ax.annotate(
                str(text), (count, value), xytext=(4, 4), textcoords="offset points", fontsize=8
            )
    _format_channel_axis(ax, counts)
    ax.set_ylabel("MSE change vs shared baseline (%, < 0 is better)")
    ax.set_title(title)
    if any(series):
        ax.legend(fontsize=9)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def _format_channel_axis(ax, counts: np.ndarray) -> None:
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(np.unique(counts)))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(counts.min() / 1.5, counts.max() * 1.5)
    ax.set_xlabel("number of channels (log scale)")


def plot_forecast_bands(
    actual: Any,
    forecast: Any,
    intervals: Any,
    *,
    channels: Sequence | None = None,
    title: str = "Forecast with prediction intervals",
) -> Figure:
    """The actual series, the point forecast and its interval bands, one panel per channel.

    Parameters
    ----------
    actual : DataFrame
        Observed values to draw (e.g. the last lookback rows and the forecast period).
    forecast : DataFrame
        Point forecast (``predict``), same columns as ``actual``.
    intervals : DataFrame
        ``predict_interval`` output: columns ``(channel, coverage, "lower"/"upper")``. Every
        coverage is drawn as a band, the widest palest.
    channels : sequence or None, default=None
        Channels to draw; the first three of ``forecast`` when None.
    title : str, default="Forecast with prediction intervals"
        Figure title.

    Returns
    -------
    Figure
        One axes per channel, each with the actual and forecast lines and one band per
        coverage.

    Examples
    --------
    >>> import pandas as pd
    >>> index = pd.RangeIndex(4)
    >>> point = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]}, index=index)
    >>> bands = pd.concat(
    ...     {("a", 0.8, "lower"): point["a"] - 1, ("a", 0.8, "upper"): point["a"] + 1}, axis=1
    ... )
    >>> fig = plot_forecast_bands(point + 0.5, point, bands)
    >>> len(fig.axes), len(fig.axes[0].collections)
    (1, 1)
    """
    chosen = list(forecast.columns[:3] if channels is None else channels)
    missing = [c for c in chosen if c not in forecast.columns or c not in intervals.columns]
    if missing or not chosen:
        raise ValueError(
            f"channels {missing or chosen} are not in both the forecast and the intervals; "
            f"choose from {list(forecast.columns)}."
        )
    coverages = sorted(intervals[chosen[0]].columns.get_level_values(0).unique(), reverse=True)
    fig = Figure(figsize=(8.0, 2.3 * len(chosen) + 0.6))
    axes = fig.subplots(len(chosen), 1, sharex=True, squeeze=False)[:, 0]
    for ax, channel in zip(axes, chosen, strict=True):
        for index, coverage in enumerate(coverages):
            band = intervals[channel][coverage]
            ax.fill_between(
                band.index,
                band["lower"],
                band["upper"],
                color="C0",
                alpha=0.15 + 0.2 * index,
                linewidth=0,
                label=f"{100 * coverage:g}% interval",
            )
        ax.plot(actual.index, actual[channel], color="black", linewidth=1.0, label="actual")
        ax.plot(forecast.index, forecast[channel], color="C0", linewidth=1.4, label="forecast")
        ax.set_ylabel(str(channel))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, ncol=2 + len(coverages), loc="upper left")
    fig.suptitle(title)
    fig.autofmt_xdate()  # slanted date labels that do not overlap
    fig.tight_layout()
    return fig
