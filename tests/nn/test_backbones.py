"""Family-wide contract: every embedding kind inside every backbone."""

from __future__ import annotations

import pytest
import torch

from sae_forecast.nn import BACKBONES, EMBEDDING_KINDS, parameter_count
from sae_forecast.nn.seeding import reset_parameters
from tests.models import N_CHANNELS, PRED_LEN, SEQ_LEN, build_backbone

ALL = [(b, k) for b in BACKBONES for k in EMBEDDING_KINDS]
AUXILIARY = ["sae", "sae_lowrank", "lightsae"]


def _embedding_io(model):
    emb = model.embedding
    return emb.in_features, emb.out_features


@pytest.mark.parametrize(("backbone", "kind"), ALL)
def test_output_shape(backbone, kind):
    model = build_backbone(backbone, kind)
    assert model(torch.randn(5, SEQ_LEN, N_CHANNELS)).shape == (5, PRED_LEN, N_CHANNELS)


@pytest.mark.parametrize(("backbone", "kind"), ALL)
def test_parameter_count_is_body_plus_embedding_formula(backbone, kind):
    model = build_backbone(backbone, kind)
    body = sum(p.numel() for p in model.parameters()) - sum(
        p.numel() for p in model.embedding.parameters()
    )
    shared_body = build_backbone(backbone, "shared")
    assert body == sum(p.numel() for p in shared_body.parameters()) - sum(
        p.numel() for p in shared_body.embedding.parameters()
    )
    i, o = _embedding_io(model)
    expected = parameter_count(kind, N_CHANNELS, i, o, rank=4, pool_size=2)
    assert sum(p.numel() for p in model.embedding.parameters()) == expected


@pytest.mark.parametrize(("backbone", "kind"), ALL)
def test_gradients_reach_every_parameter_after_one_step(backbone, kind):
    model = build_backbone(backbone, kind, dropout=0.0)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = torch.randn(6, SEQ_LEN, N_CHANNELS), torch.randn(6, PRED_LEN, N_CHANNELS)
    for _ in range(2):  # the right factors start at 0, so the left ones move from step 2 on
        optimiser.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimiser.step()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing


@pytest.mark.parametrize("backbone", list(BACKBONES))
@pytest.mark.parametrize("kind", AUXILIARY)
def test_equals_shared_model_at_initialisation(backbone, kind):
    model = build_backbone(backbone, kind).eval()
    shared = build_backbone(backbone, "shared").eval()
    body = {k: v for k, v in model.state_dict().items() if not k.startswith("embedding.")}
    shared.load_state_dict(body, strict=False)
    with torch.no_grad():
        shared.embedding.weight.copy_(model.embedding.shared_weight)
    x = torch.randn(4, SEQ_LEN, N_CHANNELS)
    with torch.no_grad():
        assert torch.allclose(model(x), shared(x), atol=1e-6)


@pytest.mark.parametrize("backbone", list(BACKBONES))
@pytest.mark.parametrize("kind", AUXILIARY)
def test_eval_cache_invalidated_by_optimiser_step(backbone, kind):
    model = build_backbone(backbone, kind, dropout=0.0)
    x, y = torch.randn(6, SEQ_LEN, N_CHANNELS), torch.randn(6, PRED_LEN, N_CHANNELS)
    optimiser = torch.optim.SGD(model.embedding.parameters(), lr=1.0)
    for _ in range(2):
        model.train()
        optimiser.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimiser.step()
        model.eval()
        with torch.no_grad():
            before = model(x)
    optimiser.zero_grad()
    model.train()
    torch.nn.functional.mse_loss(model(x), y).backward()
    model.eval()
    optimiser.step()  # a step while in eval mode: only the version counters can tell
    with torch.no_grad():
        after = model(x)
        model.embedding._cache = None
        fresh = model(x)
    assert not torch.allclose(before, after)
    assert torch.allclose(after, fresh, atol=1e-6)


@pytest.mark.parametrize(("backbone", "kind"), ALL)
def test_overfits_one_small_batch(backbone, kind):
    torch.manual_seed(1)
    model = build_backbone(backbone, kind, dropout=0.0)
    reset_parameters(model, torch.Generator().manual_seed(1))
    t = torch.arange(SEQ_LEN + PRED_LEN, dtype=torch.float32)
    phase = torch.rand(8, 1, N_CHANNELS) * 6.28
    series = torch.sin(t[None, :, None] * 0.3 + phase) + 0.1 * torch.randn(8, 1, N_CHANNELS)
    x, y = series[:, :SEQ_LEN], series[:, SEQ_LEN:] + 0.1 * torch.randn(8, PRED_LEN, N_CHANNELS)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(200):
        optimiser.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert min(losses[-10:]) <= 0.1 * losses[0], (losses[0], losses[-1])


@pytest.mark.parametrize("backbone", list(BACKBONES))
def test_wrong_input_shape_names_expected_and_actual(backbone):
    model = build_backbone(backbone, "lightsae")
    with pytest.raises(ValueError, match=r"seq_len=32, n_channels=3\), got \(2, 32, 4\)"):
        model(torch.randn(2, SEQ_LEN, 4))


@pytest.mark.parametrize("backbone", list(BACKBONES))
def test_bf16_autocast_returns_fp32_close_to_fp32(backbone):
    model = build_backbone(backbone, "lightsae", dropout=0.0).eval()
    bf16 = build_backbone(backbone, "lightsae", dropout=0.0, precision="bf16").eval()
    bf16.load_state_dict(model.state_dict())
    x = torch.randn(4, SEQ_LEN, N_CHANNELS)
    with torch.no_grad():
        low, high = bf16(x), model(x)
    assert low.dtype == torch.float32
    assert torch.allclose(low, high, atol=0.1, rtol=0.05)


def test_invalid_precision_is_rejected():
    with pytest.raises(
        ValueError, match=r"precision must be one of \('fp32', 'bf16'\), got 'fp16'"
    ):
        build_backbone("RLinear", "shared", precision="fp16")


def test_patch_longer_than_window_is_rejected():
    with pytest.raises(ValueError, match="need 1 <= patch_len <= seq_len"):
        build_backbone("PatchTST", "shared", patch_len=64)


@pytest.mark.parametrize("backbone", list(BACKBONES))
def test_revin_can_be_switched_off(backbone):
    model = build_backbone(backbone, "shared", revin=False).eval()
    x = torch.randn(2, SEQ_LEN, N_CHANNELS)
    with torch.no_grad():
        assert not torch.allclose(model(x + 5.0) - 5.0, model(x), atol=1e-3)
    with_revin = build_backbone(backbone, "shared").eval()
    with torch.no_grad():  # RevIN makes the forecast follow a shift of the input exactly
        assert torch.allclose(with_revin(x + 5.0) - 5.0, with_revin(x), atol=1e-4)


@pytest.mark.parametrize("backbone", list(BACKBONES))
def test_seeded_initialisation_is_reproducible(backbone):
    a = reset_parameters(build_backbone(backbone, "lightsae"), torch.Generator().manual_seed(5))
    b = reset_parameters(build_backbone(backbone, "lightsae"), torch.Generator().manual_seed(5))
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


LIGHTSAE_KEYS = [
    "embedding.shared_weight",
    "embedding.bias",
    "embedding.left_pool",
    "embedding.right",
    "embedding.gate_logits",
]
EXPECTED_KEYS = {
    "RLinear": LIGHTSAE_KEYS,
    "RMLP": [
        *LIGHTSAE_KEYS,
        "temporal.0.weight",
        "temporal.0.bias",
        "temporal.3.weight",
        "temporal.3.bias",
        "projection.weight",
        "projection.bias",
    ],
}


def _without_covariates(backbone, **explicit):
    # every covariate argument at its "none" value: the model must not change at all
    if backbone != "iTransformer":
        explicit.setdefault("covariate_gates", True)
    return build_backbone(
        backbone, "lightsae", n_future_covariates=0, n_past_covariates=0, **explicit
    )


@pytest.mark.parametrize("backbone", list(EXPECTED_KEYS))
def test_state_dict_keys_are_the_written_ones(backbone):
    assert list(build_backbone(backbone, "lightsae").state_dict()) == EXPECTED_KEYS[backbone]
    assert list(_without_covariates(backbone).state_dict()) == EXPECTED_KEYS[backbone]


@pytest.mark.parametrize("backbone", list(BACKBONES))
def test_no_covariates_adds_no_module_parameter_buffer_or_random_draw(backbone):
    torch.manual_seed(11)
    plain = build_backbone(backbone, "lightsae")
    plain_next = torch.rand(4)
    torch.manual_seed(11)
    explicit = _without_covariates(backbone)
    assert torch.equal(torch.rand(4), plain_next)  # construction drew exactly as before
    assert [n for n, _ in explicit.named_modules()] == [n for n, _ in plain.named_modules()]
    assert [n for n, _ in explicit.named_buffers()] == [n for n, _ in plain.named_buffers()]
    assert not any("covariate" in n for n, _ in explicit.named_modules())
    for (key, p), q in zip(plain.state_dict().items(), explicit.state_dict().values(), strict=True):
        assert torch.equal(p, q), key
    generator = torch.Generator().manual_seed(2)
    reset_parameters(explicit, generator)
    after_reset = torch.rand(3, generator=generator)
    generator = torch.Generator().manual_seed(2)
    reset_parameters(plain, generator)
    assert torch.equal(torch.rand(3, generator=generator), after_reset)
    x = torch.randn(2, SEQ_LEN, N_CHANNELS)
    assert torch.equal(explicit.eval()(x), plain.eval()(x))
