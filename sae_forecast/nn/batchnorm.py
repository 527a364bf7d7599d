"""PatchTST's BatchNorm over tokens, with a training mode that keeps its output, not its input.

``torch.nn.BatchNorm1d`` keeps its input for backward. In the chunked encoder
(:meth:`~sae_forecast.nn.transformer.EncoderLayer.forward_in_chunks`) the norm's output is kept
anyway (it is the input the next chunked block recomputes from), so a norm that rebuilds
``x_hat = (y - bias) / weight`` from its output holds one full-size tensor fewer per norm
(the idea of in-place activated BatchNorm, Rota Bulo et al., 2018).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["TokenBatchNorm"]

# Rebuilding x_hat from the output divides by the weight: it loses about
# ulp(|bias| / |weight|), so past this ratio (or at a zero weight) the input is kept instead.
MAX_BIAS_TO_WEIGHT = 100.0


class _BatchNormKeepingOutput(torch.autograd.Function):
    """Training-mode batch norm of ``(rows, features)`` that saves its output when it can.

    The forward is ``torch.native_batch_norm`` itself (the output and the running statistics
    are bitwise those of ``torch.nn.BatchNorm1d``); the backward is the usual batch-norm
    gradient written in terms of the output (``x_hat = (y - bias) / weight``) so that it
    allocates one full-size tensor, the input's gradient; where the weight is too small to
    divide by, it keeps the input and builds ``x_hat`` from it.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, momentum, eps):
        y, mean, invstd = torch.native_batch_norm(
            x, weight, bias, running_mean, running_var, True, momentum, eps
        )
        ratio = (bias.abs() / weight.abs()).max()  # inf at a zero weight
        ctx.from_output = bool(ratio <= MAX_BIAS_TO_WEIGHT)
        kept = y if ctx.from_output else x
        ctx.save_for_backward(kept, weight, bias, mean, invstd)
        return y

    @staticmethod
    def backward(ctx, grad):
        kept, weight, bias, mean, invstd = ctx.saved_tensors
        if not ctx.from_output:
            return (*_gradients((kept - mean) * invstd, grad, weight, invstd), *[None] * 4)
        # x_hat = (y - bias) / weight, never built whole: the only full-size tensor this
        # backward allocates is the gradient it returns
        rows = grad.shape[0]
        grad_bias = grad.sum(0)  # (features,)
        grad_weight = (_column_dot(grad, kept) - bias * grad_bias) / weight
        scale = weight * invstd
        # grad_x = scale * (grad - grad_bias / rows - x_hat * grad_weight / rows)
        shift = scale * (bias / weight * grad_weight - grad_bias) / rows
        grad_x = torch.addcmul(shift, grad, scale)
        grad_x.addcmul_(kept, invstd * grad_weight / rows, value=-1.0)
        return grad_x, grad_weight, grad_bias, None, None, None, None


def _gradients(x_hat: Tensor, grad: Tensor, weight: Tensor, invstd: Tensor) -> tuple:
    """The batch-norm gradients of the input, weight and bias from ``x_hat`` (overwritten)."""
    rows = grad.shape[0]
    grad_bias = grad.sum(0)  # (features,)
    grad_weight = _column_dot(grad, x_hat)  # (features,)
    x_hat.mul_(grad_weight / rows)
    grad_x = (grad - grad_bias / rows).sub_(x_hat).mul_(weight * invstd)
    return grad_x, grad_weight, grad_bias


def _column_dot(a: Tensor, b: Tensor, rows_per_block: int = 16384) -> Tensor:
    """``(a * b).sum(0)`` of two ``(rows, features)`` tensors, a block of rows at a time, so
    that no full-size product is built."""
    blocks = zip(a.split(rows_per_block), b.split(rows_per_block), strict=True)
    return torch.stack([(block_a * block_b).sum(0) for block_a, block_b in blocks]).sum(0)


class TokenBatchNorm(nn.Module):
    """BatchNorm over the feature axis of ``(batch, tokens, d_model)``, as in PatchTST.

    Statistics are taken over batch and tokens together.

    Parameters
    ----------
    d_model : int
        Number of features.

    Examples
    --------
    >>> norm = TokenBatchNorm(8)
    >>> x = torch.randn(4, 3, 8)
    >>> bool(torch.equal(norm(x), norm.forward_keeping_output(x)))
    True
    """

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(d_model)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``x`` of shape ``(batch, tokens, d_model)``."""
        return self.norm(x.reshape(-1, x.shape[-1])).view_as(x)

    def forward_keeping_output(self, x: Tensor) -> Tensor:
        """:meth:`forward` whose backward keeps the output instead of the input.

        The output and the running statistics are bitwise those of :meth:`forward`; the
        gradients agree to float rounding (they are computed by other kernels). Outside training
        with gradients, or with a norm that is not affine or tracks no statistics, it is
        :meth:`forward`.
        """
        norm = self.norm
        plain = not (self.training and torch.is_grad_enabled() and norm.affine)
        if plain or not norm.track_running_stats:
            return self(x)
        norm.num_batches_tracked.add_(1)
        momentum = norm.momentum
        if momentum is None:  # a cumulative average, as BatchNorm1d computes it
            momentum = 1.0 / float(norm.num_batches_tracked)
        flat = x.reshape(-1, x.shape[-1])  # (rows, d_model)
        y = _BatchNormKeepingOutput.apply(
            flat, norm.weight, norm.bias, norm.running_mean, norm.running_var, momentum, norm.eps
        )
        return y.view_as(x)
