# fixtures/ holds files the tests run in subprocesses (one fails to import on purpose), not tests.
collect_ignore_glob = ["fixtures/*"]


def pytest_configure(config):
    # the marks upstream's requires_multigpu / periodic attach (torch 2.15+), used by test_conformance
    config.addinivalue_line("markers", "multigpu: needs two or more GPUs (upstream's requires_multigpu)")
    config.addinivalue_line("markers", "periodic: runs in periodic CI mode (upstream's periodic)")
