"""Upstream path: distributed/distributed_utils of torch's private testing package (same public names)."""

from testing._ranks.mock_pg import MockProcessGroup, create_mock_pg, mock_init_dist, with_dist, with_fake_comms

__all__ = ["MockProcessGroup", "create_mock_pg", "mock_init_dist", "with_dist", "with_fake_comms"]
