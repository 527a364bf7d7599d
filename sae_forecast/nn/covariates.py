"""Exogenous covariates: their window normalisation and the modules that read them.

A covariate tensor has shape ``(batch, seq_len + pred_len, n_future + n_past)``: rows
``0..L-1`` are the lookback, rows ``L..L+H-1`` the horizon; the first ``n_future`` columns are
known over the horizon (calendar features, planned prices) and are read over all ``L + H``
rows, the last ``n_past`` columns are observed only up to the forecast origin and are read over
the first ``L`` rows only: their horizon rows never reach the output, whatever they hold.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sae_forecast.nn.embeddings.base import SHARED_STD, _check_positive, _normal

__all__ = [
    "COVARIATE_EPS",
    "COVARIATE_MIN_STD",
    "CovariateNorm",
    "CovariateProjection",
    "CovariateTokens",
    "GatedCovariateProjection",
    "make_covariate_projection",
    "split_covariates",
]

COVARIATE_EPS = 1e-5  # added to the lookback variance, as RevIN does for the targets
# Covariates arrive globally standardised (std about 1), so a lookback std below 0.1 means a
# column (nearly) constant over the window, e.g. a holiday flag: centre it, do not blow it up.
COVARIATE_MIN_STD = 0.1


def _check_counts(n_future: int, n_past: int) -> None:
    for name, value in (("n_future", n_future), ("n_past", n_past)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")
    if n_future + n_past < 1:
        raise ValueError(
            f"need at least one covariate, got n_future={n_future} and n_past={n_past}."
        )


def split_covariates(covariates: Tensor, seq_len: int, n_future: int) -> tuple[Tensor, Tensor]:
    """Split covariates into the future-known and the past-only windows.

    Parameters
    ----------
    covariates : Tensor
        Shape ``(batch, seq_len + pred_len, n_future + n_past)``, future-known columns first.
    seq_len : int
        Lookback length ``L``.
    n_future : int
        Number of future-known columns.

    Returns
    -------
    future : Tensor
        All rows of the future-known columns, ``(batch, seq_len + pred_len, n_future)``.
    past : Tensor
        The lookback rows of the past-only columns, ``(batch, seq_len, n_past)``.

    Examples
    --------
    >>> import torch
    >>> future, past = split_covariates(torch.randn(2, 12, 3), seq_len=8, n_future=1)
    >>> tuple(future.shape), tuple(past.shape)
    ((2, 12, 1), (2, 8, 2))
    """
    return covariates[..., :n_future], covariates[:, :seq_len, n_future:]


class CovariateNorm(nn.Module):
    """Normalise each covariate column per window with the statistics of its lookback rows.

    ``(c - mean) / max(sqrt(var + 1e-5), 0.1)`` over all ``seq_len + pred_len`` rows, with
    ``mean`` and ``var`` taken over the first ``seq_len`` rows only (so a past-only column's
    horizon rows never enter the statistics). The floor keeps a column that is constant over
    the lookback (a holiday flag) centred instead of blown up. As in :class:`RevIN`, the
    statistics are detached: gradients reach the covariates through the centred and scaled
    values only. Covariates are inputs, so nothing is ever denormalised. Backbones use it
    when ``revin=True``; otherwise covariates are used as given.

    Parameters
    ----------
    seq_len : int
        Lookback length ``L``.

    Examples
    --------
    >>> import torch
    >>> norm = CovariateNorm(seq_len=4)
    >>> flag = torch.tensor([[[1.0], [1.0], [1.0], [1.0], [0.0], [1.0]]])  # (1, L+H, 1)
    >>> norm(flag).flatten().tolist()  # constant lookback: centred, scaled by the floor 0.1
    [0.0, 0.0, 0.0, 0.0, -10.0, 0.0]
    """

    def __init__(self, seq_len: int) -> None:
        super().__init__()
        _check_positive(seq_len=seq_len)
        self.seq_len = seq_len

    def forward(self, covariates: Tensor) -> Tensor:
        """Normalise ``covariates (batch, seq_len + pred_len, n_covariates)``; same shape."""
        lookback = covariates[:, : self.seq_len]  # (B, L, C)
        mean = lookback.mean(dim=1, keepdim=True).detach()  # (B, 1, C)
        variance = (lookback - mean).square().mean(dim=1, keepdim=True)  # (B, 1, C)
        std = torch.sqrt(variance + COVARIATE_EPS).clamp_min(COVARIATE_MIN_STD).detach()
        return (covariates - mean) / std

    def extra_repr(self) -> str:
        return f"seq_len={self.seq_len}"


class CovariateProjection(nn.Module):
    """Additive covariate term, the same for every target channel.

    Each covariate column ``c`` gets its own linear map ``W_c`` of its window (future-known:
    ``seq_len + pred_len`` values, past-only: the ``seq_len`` lookback values) to
    ``out_features``; the per-covariate terms are summed and one bias is added:
    ``t = sum_c window_c W_c + b``. One contraction per kind of covariate, no loop over
    columns. Weights start as ``N(0, 1e-2)`` (as the shared channel embedding), the bias at 0.

    Parameters
    ----------
    seq_len : int
        Lookback length ``L``.
    pred_len : int
        Horizon ``H``.
    n_channels : int
        Number of target channels ``N`` the term is broadcast to.
    n_future : int
        Number of future-known covariates (read over ``L + H`` rows).
    n_past : int
        Number of past-only covariates (read over the first ``L`` rows).
    out_features : int
        Length of the term added to each channel (``H`` for an output, ``d_model`` for a
        hidden state).

    Examples
    --------
    >>> import torch
    >>> projection = CovariateProjection(16, 4, n_channels=3, n_future=2, n_past=1, out_features=4)
    >>> term = projection(torch.randn(5, 20, 3))
    >>> tuple(term.shape), bool(torch.equal(term[:, 0], term[:, 2]))
    ((5, 3, 4), True)
    """

    def __init__(
        self,
        seq_len: int,
        pred_len: int,
        n_channels: int,
        n_future: int,
        n_past: int,
        out_features: int,
    ) -> None:
        super().__init__()
        _check_positive(
            seq_len=seq_len, pred_len=pred_len, n_channels=n_channels, out_features=out_features
        )
        _check_counts(n_future, n_past)
        self.seq_len = seq_len
        self.pred_len = pred_len
        self.n_channels = n_channels
        self.n_future = n_future
        self.n_past = n_past
        self.out_features = out_features
        window = seq_len + pred_len
        self.future_weight = (
            nn.Parameter(torch.empty(n_future, window, out_features)) if n_future else None
        )
        self.past_weight = (
            nn.Parameter(torch.empty(n_past, seq_len, out_features)) if n_past else None
        )
        self.bias = nn.Parameter(torch.zeros(out_features))
        self._reset_maps(None)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw every ``W_c ~ N(0, 1e-2)`` (from ``generator`` when given); the bias is 0."""
        self._reset_maps(generator)

    def _reset_maps(self, generator: torch.Generator | None) -> None:
        with torch.no_grad():
            for weight in (self.future_weight, self.past_weight):
                if weight is not None:
                    weight.copy_(_normal(weight.shape, SHARED_STD, generator))
            self.bias.zero_()

    def covariate_terms(self, covariates: Tensor) -> Tensor:
        """Each covariate's own term ``window_c W_c`` (no bias).

        Parameters
        ----------
        covariates : Tensor
            Shape ``(batch, seq_len + pred_len, n_future + n_past)``.

        Returns
        -------
        Tensor
            Shape ``(batch, n_future + n_past, out_features)``, future-known first.
        """
        future, past = split_covariates(covariates, self.seq_len, self.n_future)
        terms = []
        if self.future_weight is not None:
            terms.append(torch.einsum("blc,clo->bco", future, self.future_weight))  # (B, Cf, o)
        if self.past_weight is not None:
            terms.append(torch.einsum("blc,clo->bco", past, self.past_weight))  # (B, Cp, o)
        return torch.cat(terms, dim=1)  # (B, C, out)

    def forward(self, covariates: Tensor) -> Tensor:
        """Covariate term for every target channel.

        Parameters
        ----------
        covariates : Tensor
            Shape ``(batch, seq_len + pred_len, n_future + n_past)``, future-known first.

        Returns
        -------
        Tensor
            Shape ``(batch, n_channels, out_features)`` (a broadcast view: every channel gets
            the same term).
        """
        future, past = split_covariates(covariates, self.seq_len, self.n_future)
        term = self.bias  # (out,)
        if self.future_weight is not None:
            term = term + torch.einsum("blc,clo->bo", future, self.future_weight)  # (B, out)
        if self.past_weight is not None:
            term = term + torch.einsum("blc,clo->bo", past, self.past_weight)  # (B, out)
        return term[:, None, :].expand(-1, self.n_channels, -1)  # (B, N, out)

    def extra_repr(self) -> str:
        return (
            f"seq_len={self.seq_len}, pred_len={self.pred_len}, n_channels={self.n_channels}, "
            f"n_future={self.n_future}, n_past={self.n_past}, out_features={self.out_features}"
        )


class GatedCovariateProjection(CovariateProjection):
    """Covariate term weighted per target channel: LightSAE's idea applied to covariates.

    Target channel ``i`` gets ``t_i = sum_c (1 + d_ic) window_c W_c + b``: the per-covariate
    terms of :class:`CovariateProjection`, each scaled by the channel's own weight
    ``1 + d_ic``. ``d`` (``n_channels x n_covariates``) starts at exactly 0, so the module
    starts as the shared projection and learns how much each channel listens to each
    covariate.

    Parameters
    ----------
    seq_len : int
        Lookback length ``L``.
    pred_len : int
        Horizon ``H``.
    n_channels : int
        Number of target channels ``N`` (rows of ``d``).
    n_future : int
        Number of future-known covariates (read over ``L + H`` rows).
    n_past : int
        Number of past-only covariates (read over the first ``L`` rows).
    out_features : int
        Length of the term added to each channel.

    Examples
    --------
    >>> import torch
    >>> gated = GatedCovariateProjection(16, 4, n_channels=3, n_future=2, n_past=1, out_features=4)
    >>> gated.channel_offsets.shape
    torch.Size([3, 3])
    >>> gated(torch.randn(5, 20, 3)).shape
    torch.Size([5, 3, 4])
    """

    def __init__(
        self,
        seq_len: int,
        pred_len: int,
        n_channels: int,
        n_future: int,
        n_past: int,
        out_features: int,
    ) -> None:
        super().__init__(seq_len, pred_len, n_channels, n_future, n_past, out_features)
        self.channel_offsets = nn.Parameter(torch.zeros(n_channels, n_future + n_past))

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw the shared maps as :class:`CovariateProjection` does; ``d = 0``."""
        self._reset_maps(generator)
        with torch.no_grad():
            self.channel_offsets.zero_()

    def channel_weights(self) -> Tensor:
        """Return ``1 + d``, shape ``(n_channels, n_future + n_past)``."""
        return 1.0 + self.channel_offsets

    def forward(self, covariates: Tensor) -> Tensor:
        """Covariate term per target channel.

        Parameters
        ----------
        covariates : Tensor
            Shape ``(batch, seq_len + pred_len, n_future + n_past)``, future-known first.

        Returns
        -------
        Tensor
            Shape ``(batch, n_channels, out_features)``.
        """
        terms = self.covariate_terms(covariates)  # (B, C, out)
        weighted = torch.einsum("bco,nc->bno", terms, self.channel_weights())  # (B, N, out)
        return weighted + self.bias


class CovariateTokens(nn.Module):
    """Covariates as variate tokens (iTransformer): one token per covariate column.

    :class:`~sae_forecast.nn.iTransformer` gives these tokens to its encoder as memory:
    read-only keys and values that the channels' tokens attend to in every layer, never
    queries and never updated, so each covariate costs a key, not a token of encoder work.
    Future-known columns are embedded by one ``Linear(seq_len + pred_len, d_model)`` shared by
    all of them, past-only columns (lookback rows only) by one ``Linear(seq_len, d_model)``, as
    iTransformer embeds every variate with one map. The layers are seeded like every
    ``Linear`` by :func:`~sae_forecast.nn.reset_parameters`.

    Parameters
    ----------
    seq_len : int
        Lookback length ``L``.
    pred_len : int
        Horizon ``H``.
    n_future : int
        Number of future-known covariates.
    n_past : int
        Number of past-only covariates.
    d_model : int
        Token width.

    Examples
    --------
    >>> import torch
    >>> tokens = CovariateTokens(16, 4, n_future=2, n_past=1, d_model=8)
    >>> tokens(torch.randn(5, 20, 3)).shape
    torch.Size([5, 3, 8])
    """

    def __init__(self, seq_len: int, pred_len: int, n_future: int, n_past: int, d_model: int):
        super().__init__()
        _check_positive(seq_len=seq_len, pred_len=pred_len, d_model=d_model)
        _check_counts(n_future, n_past)
        self.seq_len = seq_len
        self.n_future = n_future
        self.future = nn.Linear(seq_len + pred_len, d_model) if n_future else None
        self.past = nn.Linear(seq_len, d_model) if n_past else None

    def forward(self, covariates: Tensor) -> Tensor:
        """Embed ``covariates (batch, seq_len + pred_len, n_future + n_past)``.

        Returns
        -------
        Tensor
            Tokens ``(batch, n_future + n_past, d_model)``, future-known first.
        """
        future, past = split_covariates(covariates, self.seq_len, self.n_future)
        tokens = []
        if self.future is not None:
            tokens.append(self.future(future.transpose(1, 2)))  # (B, Cf, d_model)
        if self.past is not None:
            tokens.append(self.past(past.transpose(1, 2)))  # (B, Cp, d_model)
        return torch.cat(tokens, dim=1)  # (B, C, d_model)


def make_covariate_projection(
    seq_len: int,
    pred_len: int,
    n_channels: int,
    n_future: int,
    n_past: int,
    out_features: int,
    *,
    gates: bool = False,
) -> CovariateProjection:
    """Build the covariate projection of a backbone: gated per channel or shared.

    Parameters
    ----------
    seq_len, pred_len, n_channels, n_future, n_past, out_features : int
        See :class:`CovariateProjection`.
    gates : bool, default=False
        ``True`` builds a :class:`GatedCovariateProjection`, ``False`` a
        :class:`CovariateProjection`.

    Returns
    -------
    CovariateProjection

    Examples
    --------
    >>> type(make_covariate_projection(16, 4, 3, 1, 0, 4, gates=True)).__name__
    'GatedCovariateProjection'
    """
    kind = GatedCovariateProjection if gates else CovariateProjection
    return kind(seq_len, pred_len, n_channels, n_future, n_past, out_features)
