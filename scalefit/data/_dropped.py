"""A row left out of a fit, and why (light: read back with a saved fit)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dropped:
    """One row not fitted, and why.

    Attributes:
        line: 1-based line in the source file (header = line 1), or None without a text file.
        row: the row's index label in the DataFrame.
        reason: why it was dropped, e.g. "loss is nan".
    """

    line: int | None
    row: object
    reason: str
