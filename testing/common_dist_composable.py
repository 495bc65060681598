"""Upstream path: common_dist_composable of torch's private testing package (same public names)."""

from testing._helpers.composable import (
    CompositeModel,
    CompositeParamModel,
    FakeSequential,
    NestedSequentialModel,
    UnitModule,
    UnitParamModule,
)

__all__ = ["CompositeModel", "CompositeParamModel", "FakeSequential", "NestedSequentialModel", "UnitModule", "UnitParamModule"]
