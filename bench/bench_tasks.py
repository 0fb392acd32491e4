"""The job function the benchmark schedules. It never runs: the benchmark starts no RQ worker."""


def noop() -> None:
    """Do nothing."""
