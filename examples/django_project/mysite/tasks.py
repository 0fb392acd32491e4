"""The example's job functions; an RQ worker with this project on its path runs them."""


def report(fmt: str = "pdf") -> str:
    return f"report.{fmt}"


def poll() -> None:
    pass


def launch() -> None:
    pass
