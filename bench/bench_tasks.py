"""The job function the benchmark schedules. It never runs: the benchmark starts no RQ worker."""


def noop(*_args: object) -> None:
    """Do nothing."""
