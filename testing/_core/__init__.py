"""The kernel every other layer stands on: what the run is and what a test is.

Configuration (``config``, the only reader of the command line and the environment), the device
table (``devices``), the torch-release table (``versions``), test naming and device-class
instantiation (``naming``, ``instantiate``), ``TestCase`` with ``assertEqual`` (``case``,
``case_members``, ``compare``), skip messages and exit codes (``skips``), signals, notices and temp
files. A line belongs here when the rest of the harness needs it to run any test at all. It imports
nothing else of ``testing``.
"""
