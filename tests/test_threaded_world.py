"""spawn_threads_and_init_comms: ranks are processes here (threads upstream); outcomes are upstream's."""

import os
import time

import pytest

from helpers import FIXTURES, outcomes
from oracle import upstream_outcomes


def test_threaded_world_outcomes_equal_upstream():
    assert outcomes(FIXTURES / "upstream_threaded_sample.py") == upstream_outcomes("upstream_threaded_sample.py")


def test_a_rank_that_does_not_finish_is_upstreams_timeout_error_and_nothing_is_left(tmp_path, monkeypatch):
    from testing._ranks.threaded_world import run_on_ranks

    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the ranks' store directory goes
    import torch.distributed as dist

    def hangs_on_rank_one():
        if dist.get_rank() == 1:
            time.sleep(600)

    forked = []
    fork = os.fork

    def recording_fork():
        pid = fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", recording_fork)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"^Thread 1 terminated or timed out after 3 seconds"):
        run_on_ranks(2, hangs_on_rank_one, timeout=3)
    assert time.monotonic() - started < 60
    assert [n for n in os.listdir(tmp_path) if n.startswith("testing-")] == []  # the ranks' store directory is gone
    assert len(forked) == 2
    for pid in forked:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # killed and reaped: no rank is left
