"""Upstream path: distributed.fake_pg of torch's private testing package (same public names)."""

from testing._ranks.fake_pg import FakeProcessGroup, FakeStore, _create_fake_pg

__all__ = ["FakeProcessGroup", "FakeStore", "_create_fake_pg"]
