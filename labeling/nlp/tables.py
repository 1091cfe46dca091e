"""Tables in report text, read row by row as the statements they stand for.

A structured report may give its levels as a table under a header row::

    Level | Disc       | Canal    | Left NF | Right NF
    L4-5  | protrusion | moderate | mild    | none

The labeller reads sentences, so each row is rewritten in the form it reads everywhere
else, one heading and its value per cell::

    L4-5: disc: protrusion. canal: moderate. left nf: mild. right nf: none.

The headings are the report's own words: what "canal" or "left nf" means is left to the
rules that read every other "heading: value". A header row is a line whose first cell
names the level column (levels.yaml ``table_level_column``) and that has at least one
other heading, followed by rows whose first cell names a level. Cells are divided by
"|" (each "|" starts a cell: an empty cell keeps its column), by tabs, or by runs of two
or more spaces; in a table lined up with spaces a cell belongs to the column whose
heading starts nearest to it (a cell left empty then takes no other column's heading).
The table goes on over blank lines and lines that rule it off, and ends at the first other
line whose first cell names no level.

Only what lies between the cells is replaced, and the header row is blanked, so a span
inside a cell maps back to that cell of the original text, and one that starts on a
heading written in starts at the cell (``spelling.OffsetMap``).

Pure module: no spaCy, no Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise
from typing import TYPE_CHECKING

from labeling.nlp.spelling import OffsetMap, replaced

if TYPE_CHECKING:
    from labeling.nlp.extract import Rules

# a line that only rules the table off ("|---|---|", "=====")
_RULE_LINE = re.compile(r"[ \t|:+=_\-–—]*")
# a cell of a table lined up with spaces or tabs: words joined by single spaces
_SPACED_CELL = re.compile(r"[^\s|]+(?: [^\s|]+)*")


def _cells(low: str, start: int, end: int) -> tuple[list[tuple[int, int]], bool]:
    """The (start, end) of each cell of the line ``low[start:end]``, stripped, and whether
    the line divides them with "|" (else with tabs or runs of spaces: empty cells are not
    seen, and ``_spaced_columns`` places the cells by where they start)."""
    if "|" not in low[start:end]:
        return [m.span() for m in _SPACED_CELL.finditer(low, start, end)], False
    bounds = [start - 1, *(i for i in range(start, end) if low[i] == "|"), end]
    cells = []
    for a, b in pairwise(bounds):
        a += 1
        while a < b and low[a] in " \t":
            a += 1
        while b > a and low[b - 1] in " \t":
            b -= 1
        cells.append((a, b))
    # "| a | b |": the empty cells outside the first and last bar are no cells
    if cells and cells[0][0] == cells[0][1] and low[start:end].lstrip(" \t").startswith("|"):
        cells = cells[1:]
    if cells and cells[-1][0] == cells[-1][1] and low[start:end].rstrip(" \t").endswith("|"):
        cells = cells[:-1]
    return cells, True


def _spaced_columns(
    head: list[tuple[int, int]], head_start: int, row: list[tuple[int, int]], row_start: int
) -> list[int]:
    """The column of each cell of a row lined up with spaces: the heading that starts nearest
    to where the cell starts, left to right (no two cells share one)."""
    starts = [a - head_start for a, _b in head]
    out = []
    prev = -1
    for a, _b in row:
        x = a - row_start
        options = range(prev + 1, len(starts))
        if not options:
            out.append(-1)
            continue
        prev = min(options, key=lambda k: abs(starts[k] - x))
        out.append(prev)
    return out


def _lines(low: str, start: int) -> Iterator[tuple[int, int]]:
    """The (start, end) of each line from ``start`` on, as the table reader asks for them."""
    while start <= len(low):
        end = low.find("\n", start)
        if end < 0:
            end = len(low)
        yield start, end
        start = end + 1


def _is_row(low: str, cells: list[tuple[int, int]], rules: Rules) -> bool:
    if len(cells) < 2:
        return False
    a, b = cells[0]
    return rules.level_re.match(low, a, b) is not None


def _table_at(low: str, line_start: int, rules: Rules) -> tuple[list[tuple[int, int, str]], int]:
    """The replacements that read the table whose header line starts at ``line_start`` (none
    when it is no table), and where the table ends."""
    lines = _lines(low, line_start)
    h0, h1 = next(lines)
    head, piped = _cells(low, h0, h1)
    headings = [low[a:b] for a, b in head]
    if len(head) < 2 or not any(headings[1:]):
        return [], h1
    out: list[tuple[int, int, str]] = [(h0, h1, "")]
    rows = 0
    end = h1
    for a, b in lines:
        if _RULE_LINE.fullmatch(low, a, b):
            continue  # a blank line, or one that rules the table off
        cells, row_piped = _cells(low, a, b)
        if row_piped != piped or not _is_row(low, cells, rules):
            break
        columns = list(range(len(cells))) if piped else _spaced_columns(head, h0, cells, a)
        prev_end = cells[0][1]
        joiner = ": "
        for (cs, ce), k in zip(cells[1:], columns[1:], strict=True):
            if cs == ce:
                continue  # an empty cell says nothing
            heading = headings[k] if 0 < k < len(headings) else ""
            out.append((prev_end, cs, f"{joiner}{heading}: " if heading else joiner))
            joiner = ". "
            prev_end = ce
        out.append((prev_end, b, "."))
        rows += 1
        end = b
    if not rows:
        return [], h1
    return out, end


def read_tables(low: str, rules: Rules) -> tuple[str, OffsetMap | None]:
    """``low`` with each table's rows rewritten as headed statements (see above), and the map
    back to ``low`` (None: no table)."""
    starts = [0] if rules.table_header_start_re.match(low) else []
    starts += [m.start() + 1 for m in rules.table_header_re.finditer(low)]
    if not starts:
        return low, None
    replacements: list[tuple[int, int, str]] = []
    done = -1
    for start in starts:
        if start <= done:
            continue
        found, done = _table_at(low, start, rules)
        replacements += found
    if not replacements:
        return low, None
    # (a span that starts on a heading written in starts at its cell)
    return replaced(low, replacements, inside_to_end=True)
