"""How the command line reads values: flag types, and defaults taken from HASCHED_* variables.

A flag's bad value is reported by argparse as `argument --lease-ttl: ...`. An environment default
is only checked after parsing (argparse never checks defaults), and then named by its variable:
`HASCHED_LEASE_TTL: expected a number of seconds, got 'abc'`.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hasched.errors import ValidationError

ENV_PREFIX = "HASCHED_"
Convert = Callable[[str], Any]


def seconds(text: str) -> float:
    """A duration in seconds, fractions allowed."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}")
    return value


def whole_seconds(text: str) -> int:
    """A duration in whole seconds (RQ's timeouts and TTLs)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of seconds, got {text!r}") from None


def count(text: str) -> int:
    """A whole number (how many)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def one_of(*choices: str) -> Convert:
    """A converter that accepts only `choices` (argparse checks a flag's choices itself)."""

    def convert(text: str) -> str:
        if text not in choices:
            raise argparse.ArgumentTypeError(f"expected one of {', '.join(choices)}, got {text!r}")
        return text

    return convert


@dataclass(frozen=True, slots=True)
class EnvValue:
    """A default read from a HASCHED_* variable, converted once parsing is over."""

    var: str
    text: str
    convert: Convert | None

    def __str__(self) -> str:
        return self.text


def env(name: str, default: Any = None, convert: Convert | None = None) -> Any:
    """The default of an option: HASCHED_`name` when set (checked later), else `default`."""
    var = ENV_PREFIX + name
    text = os.environ.get(var)
    return default if text is None else EnvValue(var, text, convert)


def resolve_env(args: argparse.Namespace) -> dict[str, str]:
    """Convert the environment defaults in `args` in place; return {field: variable} for the
    options whose value came from the environment, so later errors can name the variable.
    A value that does not convert raises ValidationError naming the variable."""
    sources: dict[str, str] = {}
    for dest, value in vars(args).items():
        if not isinstance(value, EnvValue):
            continue
        converted: Any = value.text
        if value.convert is not None:
            try:
                converted = value.convert(value.text)
            except argparse.ArgumentTypeError as e:
                raise ValidationError(value.var, str(e)) from None
        setattr(args, dest, converted)
        sources[dest.replace("_", "-")] = value.var
    return sources
