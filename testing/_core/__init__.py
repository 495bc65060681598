"""The core: configuration, the device table, naming, instantiation, TestCase and assertEqual, skips."""
