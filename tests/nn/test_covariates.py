"""Tests of sae_forecast.nn.covariates and of the four backbones reading covariates."""

from __future__ import annotations

import pytest
import torch

from sae_forecast.nn import (
    BACKBONES,
    CovariateNorm,
    CovariateProjection,
    CovariateTokens,
    GatedCovariateProjection,
    RLinear,
)
from sae_forecast.nn.seeding import reset_parameters
from tests.models import N_CHANNELS, PRED_LEN, SEQ_LEN, build_backbone

WINDOW = SEQ_LEN + PRED_LEN
COUNTS = [(2, 0), (0, 2), (2, 1)]  # (n_future, n_past): future only, past only, both
GATED = ["RLinear", "RMLP", "PatchTST"]  # iTransformer reads covariates as tokens, no gates
CASES = [
    (name, n_future, n_past, gates)
    for name in BACKBONES
    for n_future, n_past in COUNTS
    for gates in ([False, True] if name in GATED else [None])
]


def _ids(case):
    name, n_future, n_past, gates = case
    return f"{name}-f{n_future}-p{n_past}" + ("-gated" if gates else "")


def _build(name, n_future, n_past, gates=None, **overrides):
    options = {"n_future_covariates": n_future, "n_past_covariates": n_past, **overrides}
    if gates is not None:
        options["covariate_gates"] = gates
    return build_backbone(name, "lightsae", **options)


def _inputs(n_covariates, batch=4):
    return torch.randn(batch, SEQ_LEN, N_CHANNELS), torch.randn(batch, WINDOW, n_covariates)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_forecasts_only_the_targets(case):
    name, n_future, n_past, gates = case
    model = _build(name, n_future, n_past, gates)
    x, covariates = _inputs(n_future + n_past)
    assert model(x, covariates).shape == (4, PRED_LEN, N_CHANNELS)


@pytest.mark.parametrize("revin", [True, False])
@pytest.mark.parametrize("case", [c for c in CASES if c[2]], ids=_ids)
def test_horizon_rows_of_past_only_covariates_never_reach_the_output(case, revin):
    name, n_future, n_past, gates = case
    model = _build(name, n_future, n_past, gates, revin=revin).eval()
    x, covariates = _inputs(n_future + n_past)
    changed = covariates.clone()
    changed[:, SEQ_LEN:, n_future:] = torch.randn(4, PRED_LEN, n_past) * 1e6
    nans = covariates.clone()
    nans[:, SEQ_LEN:, n_future:] = float("nan")
    with torch.no_grad():
        reference = model(x, covariates)
        assert torch.equal(model(x, changed), reference)
        assert torch.equal(model(x, nans), reference)
        lookback = covariates.clone()
        lookback[:, : SEQ_LEN // 2, n_future:] += 3.0 * torch.randn(4, SEQ_LEN // 2, n_past)
        assert not torch.allclose(model(x, lookback), reference)  # the lookback rows are read


@pytest.mark.parametrize("case", [c for c in CASES if c[1]], ids=_ids)
def test_horizon_rows_of_future_known_covariates_change_the_output(case):
    name, n_future, n_past, gates = case
    model = _build(name, n_future, n_past, gates).eval()
    x, covariates = _inputs(n_future + n_past)
    changed = covariates.clone()
    changed[:, SEQ_LEN:, :n_future] += 3.0 * torch.randn(4, PRED_LEN, n_future)
    with torch.no_grad():
        difference = (model(x, changed) - model(x, covariates)).abs()
    assert (difference.amax(dim=(0, 1)) > 1e-6).all()  # every channel's forecast moves


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_gradients_reach_every_parameter(case):
    name, n_future, n_past, gates = case
    model = _build(name, n_future, n_past, gates, dropout=0.0)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, covariates = _inputs(n_future + n_past, batch=6)
    y = torch.randn(6, PRED_LEN, N_CHANNELS)
    for _ in range(2):  # the right factors start at 0, so the left ones move from step 2 on
        optimiser.zero_grad()
        torch.nn.functional.mse_loss(model(x, covariates), y).backward()
        optimiser.step()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert missing == []
    assert any("covariate" in n for n, _ in model.named_parameters())


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_seeded_construction_draws_the_same_weights(case):
    name, n_future, n_past, gates = case
    a = reset_parameters(_build(name, n_future, n_past, gates), torch.Generator().manual_seed(5))
    b = reset_parameters(_build(name, n_future, n_past, gates), torch.Generator().manual_seed(5))
    c = reset_parameters(_build(name, n_future, n_past, gates), torch.Generator().manual_seed(6))
    for (key, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), key
    covariate_weights = [k for k in a.state_dict() if "covariate" in k and "weight" in k]
    assert covariate_weights
    for key in covariate_weights:  # the generator, not the global state, draws them
        assert not torch.equal(a.state_dict()[key], c.state_dict()[key]), key


@pytest.mark.parametrize("name", GATED)
def test_gated_projection_starts_as_the_shared_one_and_then_diverges(name):
    shared = reset_parameters(_build(name, 2, 1, False), torch.Generator().manual_seed(3)).eval()
    gated = reset_parameters(_build(name, 2, 1, True), torch.Generator().manual_seed(3)).eval()
    offsets = gated.covariate_projection.channel_offsets
    assert offsets.shape == (N_CHANNELS, 3)
    assert torch.equal(offsets, torch.zeros_like(offsets))
    x, covariates = _inputs(3)
    with torch.no_grad():
        torch.testing.assert_close(gated(x, covariates), shared(x, covariates))
    optimiser = torch.optim.SGD([offsets], lr=1.0)
    y = torch.randn(4, PRED_LEN, N_CHANNELS)
    torch.nn.functional.mse_loss(gated(x, covariates), y).backward()
    optimiser.step()
    assert (offsets.abs() > 0).all()
    with torch.no_grad():
        difference = (gated(x, covariates) - shared(x, covariates)).abs()
    assert (difference.amax(dim=(0, 1)) > 1e-5).all()


def _loop_reference(module, covariates):
    """Per-covariate terms written out one column at a time, ``(B, C, out)``."""
    future = [covariates[:, :, c] @ module.future_weight[c] for c in range(module.n_future)]
    past = [
        covariates[:, :SEQ_LEN, module.n_future + c] @ module.past_weight[c]
        for c in range(module.n_past)
    ]
    return torch.stack(future + past, dim=1)


@pytest.mark.parametrize(("n_future", "n_past"), COUNTS)
def test_projections_equal_a_loop_over_covariates(n_future, n_past):
    shared = CovariateProjection(SEQ_LEN, PRED_LEN, N_CHANNELS, n_future, n_past, 5)
    gated = GatedCovariateProjection(SEQ_LEN, PRED_LEN, N_CHANNELS, n_future, n_past, 5)
    with torch.no_grad():
        for module in (shared, gated):
            for p in module.parameters():
                p.normal_()
    covariates = torch.randn(4, WINDOW, n_future + n_past)
    terms = _loop_reference(shared, covariates)
    expected = (terms.sum(dim=1) + shared.bias)[:, None].expand(-1, N_CHANNELS, -1)
    torch.testing.assert_close(shared(covariates), expected)
    gated_terms = _loop_reference(gated, covariates)
    weights = 1.0 + gated.channel_offsets  # (N, C)
    expected = (weights[None, :, :, None] * gated_terms[:, None]).sum(dim=2) + gated.bias
    torch.testing.assert_close(gated(covariates), expected)
    torch.testing.assert_close(gated.covariate_terms(covariates), gated_terms)


def test_covariate_tokens_embed_each_kind_with_its_own_shared_linear():
    tokens = CovariateTokens(SEQ_LEN, PRED_LEN, n_future=2, n_past=1, d_model=6)
    covariates = torch.randn(4, WINDOW, 3)
    out = tokens(covariates)
    assert out.shape == (4, 3, 6)
    torch.testing.assert_close(out[:, 1], tokens.future(covariates[:, :, 1]))
    torch.testing.assert_close(out[:, 2], tokens.past(covariates[:, :SEQ_LEN, 2]))


def test_norm_uses_lookback_statistics_with_a_floor():
    norm = CovariateNorm(SEQ_LEN)
    varying = torch.randn(2, WINDOW, 1) * 3.0 + 5.0
    flag = torch.zeros(2, WINDOW, 1)
    flag[:, -2:] = 1.0  # a holiday in the horizon, none in the lookback
    out = norm(torch.cat([varying, flag], dim=-1))
    lookback = varying[:, :SEQ_LEN]
    mean = lookback.mean(dim=1, keepdim=True)
    std = torch.sqrt(lookback.var(dim=1, unbiased=False, keepdim=True) + 1e-5)
    torch.testing.assert_close(out[..., :1], (varying - mean) / std)
    assert torch.equal(out[:, :-2, 1], torch.zeros(2, WINDOW - 2))
    torch.testing.assert_close(out[:, -2:, 1], torch.full((2, 2), 10.0))  # 1 / floor 0.1


@pytest.mark.parametrize("name", list(BACKBONES))
def test_revin_centres_the_covariates_and_without_it_they_are_used_as_given(name):
    x, covariates = _inputs(2)
    shifted = covariates + 4.0
    with torch.no_grad():
        model = _build(name, 1, 1).eval()
        torch.testing.assert_close(model(x, shifted), model(x, covariates), atol=1e-5, rtol=0)
        raw = _build(name, 1, 1, revin=False).eval()
        assert not torch.allclose(raw(x, shifted), raw(x, covariates), atol=1e-3)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_bf16_runs_with_covariates_and_returns_the_dtype_of_x(case):
    name, n_future, n_past, gates = case
    model = _build(name, n_future, n_past, gates, dropout=0.0).eval()
    bf16 = _build(name, n_future, n_past, gates, dropout=0.0, precision="bf16").eval()
    bf16.load_state_dict(model.state_dict())
    x, covariates = _inputs(n_future + n_past)
    with torch.no_grad():
        low, high = bf16(x, covariates), model(x, covariates)
    assert low.dtype == torch.float32
    assert torch.allclose(low, high, atol=0.1, rtol=0.05)


@pytest.mark.parametrize("name", list(BACKBONES))
def test_missing_or_misshapen_covariates_name_expected_and_given_shapes(name):
    model = _build(name, 2, 1)
    x, covariates = _inputs(3)
    expected = (
        r"expected covariates of shape \(batch=4, seq_len \+ pred_len=40, "
        r"n_future_covariates \+ n_past_covariates=3\), got "
    )
    with pytest.raises(ValueError, match=expected + "None"):
        model(x)
    with pytest.raises(ValueError, match=expected + r"\(4, 32, 3\)"):
        model(x, covariates[:, :SEQ_LEN])  # lookback rows only
    with pytest.raises(ValueError, match=expected + r"\(4, 40, 2\)"):
        model(x, covariates[..., :2])
    with pytest.raises(ValueError, match=expected + r"\(3, 40, 3\)"):
        model(x, covariates[:3])


@pytest.mark.parametrize("name", list(BACKBONES))
def test_covariates_given_to_a_model_built_without_are_refused(name):
    model = build_backbone(name, "lightsae")
    x, covariates = _inputs(1)
    with pytest.raises(ValueError, match=r"built without covariates .*got covariates of shape"):
        model(x, covariates)


@pytest.mark.parametrize("name", list(BACKBONES))
@pytest.mark.parametrize("argument", ["n_future_covariates", "n_past_covariates"])
@pytest.mark.parametrize("value", [-1, 1.5, True])
def test_invalid_covariate_counts_are_refused(name, argument, value):
    with pytest.raises(ValueError, match=rf"{argument} must be a non-negative integer, got "):
        build_backbone(name, "shared", **{argument: value})


@pytest.mark.parametrize("kind", [CovariateProjection, GatedCovariateProjection])
def test_projection_needs_at_least_one_covariate(kind):
    with pytest.raises(ValueError, match="need at least one covariate"):
        kind(SEQ_LEN, PRED_LEN, N_CHANNELS, 0, 0, PRED_LEN)
    with pytest.raises(ValueError, match="n_past must be a non-negative integer, got -2"):
        kind(SEQ_LEN, PRED_LEN, N_CHANNELS, 1, -2, PRED_LEN)


def test_rlinear_learns_a_target_driven_by_a_future_covariate():
    generator = torch.Generator().manual_seed(0)

    def windows(batch):
        driver = torch.randn(batch, WINDOW, 1, generator=generator)  # i.i.d. noise
        series = 2.0 * driver  # the target is twice the future-known covariate
        return series[:, :SEQ_LEN], driver, series[:, SEQ_LEN:]

    def train(model, use_covariates):
        optimiser = torch.optim.Adam(model.parameters(), lr=0.03)
        for _ in range(200):
            x, driver, y = windows(64)
            optimiser.zero_grad()
            forecast = model(x, driver) if use_covariates else model(x)
            torch.nn.functional.mse_loss(forecast, y).backward()
            optimiser.step()
        x, driver, y = windows(512)
        with torch.no_grad():
            forecast = model(x, driver) if use_covariates else model(x)
            return torch.nn.functional.mse_loss(forecast, y).item()

    with_covariate = train(RLinear(SEQ_LEN, PRED_LEN, 1, n_future_covariates=1), True)
    without = train(RLinear(SEQ_LEN, PRED_LEN, 1), False)
    assert with_covariate < 0.01 * without, (with_covariate, without)


def test_itransformer_encodes_the_channels_tokens_with_the_covariates_tokens_as_memory():
    model = _build("iTransformer", 2, 1, revin=False, dropout=0.0).eval()
    fed = []
    for layer in model.encoder.layers:
        layer.ff_in.register_forward_hook(lambda _m, args, _o: fed.append(args[0].shape[1]))
    x, covariates = _inputs(3)
    with torch.no_grad():
        out = model(x, covariates)
        targets = model.embedding(x.transpose(1, 2))  # (B, N, d)
        encoded = model.encoder(targets, memory=model.covariate_tokens(covariates))  # (B, N, d)
        expected = model.projector(encoded).transpose(1, 2)  # (B, H, N)
    assert set(fed) == {N_CHANNELS}  # covariate tokens never reach a feed-forward block
    torch.testing.assert_close(out, expected)


def test_itransformer_with_covariates_adds_only_the_covariate_token_maps():
    plain = set(build_backbone("iTransformer", "lightsae").state_dict())
    with_covariates = set(_build("iTransformer", 2, 1).state_dict())
    assert plain <= with_covariates
    assert sorted(with_covariates - plain) == [
        "covariate_tokens.future.bias",
        "covariate_tokens.future.weight",
        "covariate_tokens.past.bias",
        "covariate_tokens.past.weight",
    ]
