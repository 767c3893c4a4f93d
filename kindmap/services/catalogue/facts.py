"""Unknown is shown as unknown: what each filter asks, how many places nearby are known to
meet it, known not to, or not known yet, and in words why a search found nothing.

Most sources say nothing about most facts (on the Rutland demo step-free access is recorded
for none of 196 places), so a filter that keeps only "yes" often answers nothing, and
"nothing" must not read as "no such place". Each criterion filter has two strengths:
"yes" (known to) and, with ``include_unknown``, "yes, or not known yet".
"""

from __future__ import annotations

import numpy as np

from kindmap.services.catalogue.index import FACT_NAMES, HOURS_KNOWN_BIT, CatalogIndex


def _fact_table() -> np.ndarray:
    """(packed code → 17 counts): yes/no/unknown per criterion, then hours known/unknown."""
    codes = np.arange(1 << (HOURS_KNOWN_BIT + 1))
    table = np.zeros((codes.size, 3 * len(FACT_NAMES) + 2), dtype=np.int64)
    for k in range(len(FACT_NAMES)):
        value = (codes >> (2 * k)) & 3  # 2 yes, 1 no, 0 not known
        for col, v in enumerate((2, 1, 0)):
            table[:, 3 * k + col] = value == v
    known = (codes >> HOURS_KNOWN_BIT) & 1
    table[:, -2], table[:, -1] = known == 1, known == 0
    return table


_FACT_TABLE = _fact_table()

# Filter name -> words for it in a sentence.
WORDS = {"free": "whether it is free", "drop_in": "whether you can drop in", "wheelchair": "wheelchair access",
         "step_free": "step-free access", "quiet": "whether there is a quiet space", "hours": "opening hours"}


def tri(index: CatalogIndex, name: str, positions: np.ndarray | slice = slice(None)) -> np.ndarray:
    """int8 per place (or per ``positions``) for a criterion: 1 known yes, 0 known no, -1 not known
    (wheelchair 'limited' counts as no)."""
    column = {"free": index.free, "drop_in": index.drop_in, "wheelchair": index.wheelchair_tri,
              "step_free": index.step_free, "quiet": index.quiet}[name]
    return column[positions]


def wanted_criteria(q) -> dict[str, bool]:
    """The criterion filters a query sets, by name (True: has it, False: has not)."""
    values = {"free": q.free, "drop_in": q.drop_in, "wheelchair": q.wheelchair, "step_free": q.step_free, "quiet": q.quiet}
    return {k: v for k, v in values.items() if v is not None}


def _count(positions: np.ndarray | slice, index: CatalogIndex) -> int:
    return index.size if isinstance(positions, slice) else int(np.asarray(positions).size)


def criteria_mask(index: CatalogIndex, q, positions: np.ndarray | slice = slice(None)) -> np.ndarray:
    """Bool per place (or per ``positions``): meets every criterion filter (known, or with
    ``q.include_unknown`` not known yet)."""
    keep = np.ones(_count(positions, index), dtype=bool)
    for name, wanted in wanted_criteria(q).items():
        column = tri(index, name, positions)
        ok = column == (1 if wanted else 0)
        if q.include_unknown:
            ok |= column == -1
        keep &= ok
    return keep


def time_mask(index: CatalogIndex, q, *, states: np.ndarray | None, during: np.ndarray | None,
              positions: np.ndarray | slice = slice(None)) -> np.ndarray:
    """Bool per place (or per ``positions``): open at the time / in a free window asked for (or hours not
    known, with ``include_unknown``).

    ``states`` (``HoursIndex.distinct_states``) and ``during`` (``HoursIndex.distinct_open_during``)
    are per distinct hours string, so the cost follows the places looked at, not the catalogue.
    """
    keep = np.ones(_count(positions, index), dtype=bool)
    if states is None and during is None:
        return keep
    codes = index.hours.codes(positions)
    if states is not None:
        st = states[codes]
        keep &= (st == 1) | (q.include_unknown & (st == -1))
    if during is not None:
        dur = during[codes]
        keep &= (dur | ~index.hours.known(positions)) if q.include_unknown else dur
    return keep


def count_facts(index: CatalogIndex, positions: np.ndarray, q, *, states: np.ndarray | None,
                during: np.ndarray | None) -> dict[str, dict[str, int]]:
    """Per criterion and for hours: how many of ``positions`` are yes / no / not known.

    Criteria: ``yes``, ``no``, ``unknown``. Hours: ``known``, ``unknown``, and with a time or free
    windows ``open`` (open then) and ``closed`` (hours known, closed then). ``states`` and ``during``
    are per distinct hours string, as for :func:`time_mask`.
    """
    # one histogram of the packed facts, then a product with the code → counts table: a few
    # numpy calls however many criteria, instead of three comparisons per criterion
    # (only the codes that occur: a product with all 2,048 rows of the table in integers took most of
    # this function's time)
    histogram = np.bincount(index.facts[positions], minlength=_FACT_TABLE.shape[0])
    seen = np.flatnonzero(histogram)
    counts = (histogram[seen] @ _FACT_TABLE[seen]).tolist()
    out: dict[str, dict[str, int]] = {}
    for k, name in enumerate(FACT_NAMES):
        out[name] = {"yes": counts[3 * k], "no": counts[3 * k + 1], "unknown": counts[3 * k + 2]}
    hours = {"known": counts[-2], "unknown": counts[-1]}
    if states is not None or during is not None:
        codes = index.hours.codes(positions)
        known = index.hours.known(positions)
        open_ = np.ones(known.size, dtype=bool)
        if states is not None:
            open_ &= states[codes] == 1
        if during is not None:
            open_ &= during[codes]
        hours["open"] = int((open_ & known).sum())
        hours["closed"] = int((~open_ & known).sum())
    out["hours"] = hours
    return out


def empty_hint(facts: dict[str, dict[str, int]], q, *, nearby: int, timed: bool, where: str = "nearby") -> str:
    """Why nothing matched, in plain words, naming the facts that are missing (not 'try a larger distance')."""
    if nearby == 0:
        return f"No places {where} match the kind chosen; try a larger distance or another kind of place."
    missing = []
    for name, wanted in wanted_criteria(q).items():
        f = facts[name]
        known = f["yes"] + f["no"]
        if f["unknown"]:
            missing.append(f"{WORDS[name]} is known for {known} of {nearby} places {where}")
    if timed and facts["hours"]["unknown"]:
        missing.append(f"hours are known for {facts['hours']['known']} of {nearby} places {where}")
    if not missing:
        return f"None of the {nearby} places {where} match every filter; try fewer filters or another time."
    text = "; ".join(missing)
    text = text[0].upper() + text[1:] + "."
    if not q.include_unknown:
        text += " Choose \u201cyes, or not known yet\u201d to see places where it is not recorded, then check before you go."
    return text
