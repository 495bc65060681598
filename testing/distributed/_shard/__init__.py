"""Upstream path: distributed/_shard of torch's private testing package."""
