"""Chronological validation split for skorch: the last windows, never shuffled."""

from __future__ import annotations

from sae_forecast.data.windows import chronological_split

__all__ = ["ChronologicalSplit"]


class ChronologicalSplit:
    """Use the last windows of the training data as the validation set.

    A drop-in for skorch's ``train_split``. skorch's default ``ValidSplit`` draws a random
    (stratified) subset, which for overlapping forecasting windows leaks the future into
    training; this split keeps time order and, by default, drops the ``pred_len - 1`` windows
    between the parts so that no validation target is also a training target.

    Parameters
    ----------
    validation_size : float or int, default=0.1
        Fraction (``0 <= v < 1``) or number of windows in the validation tail.
    gap : int or "auto", default="auto"
        Windows dropped between training and validation; ``"auto"`` uses ``pred_len - 1``
        (read from the dataset, or from ``y.shape[1]``).

    Notes
    -----
    The windows must be consecutive (stride 1) and in time order, as
    :func:`~sae_forecast.data.sliding_windows` and :class:`~sae_forecast.training.SeriesWindows`
    produce them.

    Examples
    --------
    >>> import numpy as np
    >>> from sae_forecast.training import SeriesWindows
    >>> data = SeriesWindows(np.zeros((40, 1)), seq_len=8, pred_len=4)
    >>> train, valid = ChronologicalSplit(0.2)(data)
    >>> len(train), len(valid)
    (20, 6)
    """

    def __init__(self, validation_size: float | int = 0.1, gap: int | str = "auto") -> None:
        self.validation_size = validation_size
        self.gap = gap

    def __call__(self, dataset, y=None, groups=None, **fit_params):
        gap = self.gap
        if gap == "auto":
            pred_len = getattr(dataset, "pred_len", None)
            if pred_len is None and y is not None:
                pred_len = y.shape[1]
            gap = max(0, (pred_len or 1) - 1)
        train, valid = chronological_split(len(dataset), self.validation_size, gap)
        return dataset.subset(train), (dataset.subset(valid) if len(valid) else None)

    def __repr__(self) -> str:
        return f"ChronologicalSplit(validation_size={self.validation_size!r}, gap={self.gap!r})"
