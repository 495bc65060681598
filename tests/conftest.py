# fixtures/ holds files the tests run in subprocesses (one fails to import on purpose), not tests.
collect_ignore_glob = ["fixtures/*"]
