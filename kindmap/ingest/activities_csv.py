"""Read opportunities or support services from a CSV file: file in, validated rows out.

Headers are matched to fields case-insensitively (spaces and hyphens count as ``_``);
``columns`` maps a field to a differently named header (``{"title": "Activity"}``).
List fields (interests, area_codes) are separated by ``;`` or ``|``. A schedule that
starts with ``DTSTART`` or ``RRULE`` is an RFC 5545 recurrence, otherwise OSM
opening-hours syntax. A row may name its place by ``place_name`` (resolved later,
against the database) instead of ``place_id`` or lon/lat.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from kindmap.errors import DataError, InvalidQuery
from kindmap.ingest.limits import ImportLimits, bounded_rows, check_file_size
from kindmap.ingest.problems import RowProblem
from kindmap.models.activities import OpportunityCreate, SupportCreate
from kindmap.recurrence import check_rrule

KINDS = {"opportunity": OpportunityCreate, "support": SupportCreate}
LIST_FIELDS = {"interests", "area_codes"}
EXTRA_FIELDS = {"place_name"}
MAX_CELL = 5000


@dataclass
class ActivityRow:
    row: int
    record: OpportunityCreate | SupportCreate | None
    place_name: str | None = None
    raw: dict = field(default_factory=dict)


@dataclass
class ActivitiesRead:
    kind: str
    columns: dict[str, str]
    rows: list[ActivityRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def _key(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", (text or "").strip().lower())


def _pick_columns(header: list[str], model, columns: dict[str, str], name: str) -> dict[str, str]:
    fields = set(model.model_fields) | EXTRA_FIELDS
    unknown = sorted(set(columns) - fields)
    if unknown:
        raise DataError(f"unknown field(s) in the column mapping: {', '.join(unknown)}; fields are: {', '.join(sorted(fields))}")
    by_key = {_key(h): h for h in header}
    picked: dict[str, str] = {}
    for target in fields:
        wanted = columns.get(target)
        if wanted is not None:
            if wanted not in header:
                raise DataError(f"{name} has no column {wanted!r} (mapped to {target}); its columns are: {', '.join(header)}")
            picked[target] = wanted
        elif target in by_key:
            picked[target] = by_key[target]
    return picked


def _value(target: str, text: str):
    text = text.strip()
    if text == "":
        return None
    if target in LIST_FIELDS:
        return [part.strip() for part in re.split(r"[;|]", text) if part.strip()]
    if target == "sample":
        return text.lower() in ("1", "true", "yes", "y")
    return text


def _row_record(model, values: dict, i: int, out: ActivitiesRead) -> None:
    place_name = values.pop("place_name", None)
    if model is OpportunityCreate and values.get("schedule") and not values.get("schedule_kind"):
        upper = values["schedule"].lstrip().upper()
        values["schedule_kind"] = "rrule" if upper.startswith(("DTSTART", "RRULE")) else "opening_hours"
    if model is OpportunityCreate and values.get("schedule") and str(values.get("schedule_kind", "")).lower() == "rrule":
        # Before the model parses it: a rule kindmap cannot list (finer than daily, never occurring…)
        # is a problem of this row, found in bounded time (see kindmap.recurrence).
        try:
            values["schedule"] = check_rrule(values["schedule"])
        except ValueError as exc:
            out.problems.append(RowProblem(i, out.columns.get("schedule", "schedule"), str(exc)))
            return
    try:
        record = model.model_validate(values, context={"place_pending": bool(place_name)})
    except ValidationError as exc:
        for error in exc.errors():
            loc = ".".join(str(p) for p in error.get("loc", ()) if not isinstance(p, int)) or None
            message = error["msg"].removeprefix("Value error, ")
            named, sep, rest = message.partition(": ")
            if loc is None and sep and named in out.columns:  # a whole-row check that names its field
                loc, message = named, rest
            column = out.columns.get(loc, loc) if loc else None
            out.problems.append(RowProblem(i, column, message))
        return
    out.rows.append(ActivityRow(i, record, place_name=place_name, raw=values))


def read_activities(path: Path, *, kind: str, columns: dict[str, str] | None = None,
                    limits: ImportLimits | None = None) -> ActivitiesRead:
    """Read and validate every row within ``limits``; bad rows become ``problems`` (rows count from 1)."""
    if kind not in KINDS:
        raise InvalidQuery(f"kind must be one of: {', '.join(KINDS)}")
    model = KINDS[kind]
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist; check the path")
    limits = limits or ImportLimits()
    check_file_size(path, max_mb=limits.max_upload_mb)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            picked = _pick_columns(header, model, columns or {}, path.name)
            required = ("title",) if kind == "opportunity" else ("name", "kind")
            missing = [f for f in required if f not in picked]
            if missing:
                raise DataError(f"{path.name} has no {', '.join(missing)} column; its columns are: "
                                f"{', '.join(header) or '(none)'}. Map one with --column FIELD=HEADER.")
            out = ActivitiesRead(kind=kind, columns=picked)
            for i, row in enumerate(bounded_rows(reader, max_rows=limits.max_rows, what=path.name), start=1):
                if None in row:
                    out.problems.append(RowProblem(i, None, "more cells than the header has columns"))
                    continue
                cells = {t: row.get(h) or "" for t, h in picked.items()}
                too_long = [picked[t] for t, v in cells.items() if len(v) > MAX_CELL]
                if too_long:
                    out.problems.append(RowProblem(i, too_long[0], f"longer than {MAX_CELL} characters"))
                    continue
                values = {t: v for t, v in ((t, _value(t, c)) for t, c in cells.items()) if v is not None}
                _row_record(model, values, i, out)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path.name} is not UTF-8 text; save it as UTF-8 CSV") from exc
    except csv.Error as exc:
        raise DataError(f"{path.name} is not a readable CSV file ({exc})") from exc
    return out
