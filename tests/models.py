"""Tiny backbone configurations shared by the tests."""

from __future__ import annotations

from sae_forecast.nn import BACKBONES

SEQ_LEN, PRED_LEN, N_CHANNELS = 32, 8, 3

TINY = {
    "RLinear": {},
    "RMLP": {"d_model": 16},
    "PatchTST": {
        "d_model": 16,
        "n_heads": 2,
        "d_ff": 32,
        "n_layers": 1,
        "patch_len": 8,
        "stride": 4,
    },
    "iTransformer": {"d_model": 16, "n_heads": 2, "d_ff": 16, "n_layers": 1},
}


def build_backbone(name, embedding, **overrides):
    """Return a tiny backbone ``name`` with the given embedding kind."""
    options = {"embedding": embedding, "rank": 4, "pool_size": 2, **TINY[name], **overrides}
    return BACKBONES[name](SEQ_LEN, PRED_LEN, N_CHANNELS, **options)
