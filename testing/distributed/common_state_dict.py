"""Upstream path: distributed/common_state_dict of torch's private testing package (same public names)."""

from testing._helpers.state_dict import (
    FusionEmbedding,
    FusionEmbeddingWithHook,
    FusionEmbeddingWithModifier,
    VerifyStateDictMixin,
)

__all__ = ["FusionEmbedding", "FusionEmbeddingWithHook", "FusionEmbeddingWithModifier", "VerifyStateDictMixin"]
