"""Row-level problems found while reading an input file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowProblem:
    """One problem in one input row; ``row`` counts data rows from 1 (CSV: header is row 0)."""

    row: int
    column: str | None
    problem: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column!r}" if self.column else "")
        return f"{where}: {self.problem}"


def summarise(problems: list[RowProblem], *, limit: int = 20) -> str:
    """A readable multi-line summary, capped at ``limit`` lines."""
    lines = [str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"… and {len(problems) - limit} more")
    return "\n".join(lines)
