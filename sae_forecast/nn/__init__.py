"""Pure PyTorch core: the SAE embedding family, RevIN, the encoder, four backbones, covariates.

Nothing here imports sktime or skorch.
"""

from sae_forecast.nn.backbone import PRECISIONS, Backbone
from sae_forecast.nn.covariates import (
    CovariateNorm,
    CovariateProjection,
    CovariateTokens,
    GatedCovariateProjection,
    make_covariate_projection,
)
from sae_forecast.nn.dropout import SeededDropout
from sae_forecast.nn.embeddings import (
    DEFAULT_POOL_SIZE,
    DEFAULT_RANK,
    EMBEDDING_KINDS,
    ChannelEmbedding,
    IndependentEmbedding,
    LightSAEEmbedding,
    LowRankSAEEmbedding,
    SAEEmbedding,
    SharedEmbedding,
    make_embedding,
    parameter_count,
)
from sae_forecast.nn.export import deployable, export_onnx
from sae_forecast.nn.itransformer import iTransformer
from sae_forecast.nn.merge import merge_embeddings, to_independent
from sae_forecast.nn.patchtst import PatchTST
from sae_forecast.nn.revin import RevIN
from sae_forecast.nn.rlinear import RLinear
from sae_forecast.nn.rmlp import RMLP
from sae_forecast.nn.seeding import attach_generator, reset_parameters
from sae_forecast.nn.transformer import TransformerEncoder

BACKBONES = {"RLinear": RLinear, "RMLP": RMLP, "PatchTST": PatchTST, "iTransformer": iTransformer}

__all__ = [
    "BACKBONES",
    "DEFAULT_POOL_SIZE",
    "DEFAULT_RANK",
    "EMBEDDING_KINDS",
    "PRECISIONS",
    "RMLP",
    "Backbone",
    "ChannelEmbedding",
    "CovariateNorm",
    "CovariateProjection",
    "CovariateTokens",
    "GatedCovariateProjection",
    "IndependentEmbedding",
    "LightSAEEmbedding",
    "LowRankSAEEmbedding",
    "PatchTST",
    "RLinear",
    "RevIN",
    "SAEEmbedding",
    "SeededDropout",
    "SharedEmbedding",
    "TransformerEncoder",
    "attach_generator",
    "deployable",
    "export_onnx",
    "iTransformer",
    "make_covariate_projection",
    "make_embedding",
    "merge_embeddings",
    "parameter_count",
    "reset_parameters",
    "to_independent",
]
