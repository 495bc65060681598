"""Rank processes: launchers, the engine, MultiProcessTestCase and the DTensor bases, CPU emulation, LocalTensor twins."""
