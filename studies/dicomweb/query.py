"""QIDO-RS query parameters (PS3.18 8.3.4) into a matching specification.

Which attributes can be matched, and how: single values, UID lists, wildcards ``*``
and ``?``, date ranges, universal matching (an empty value). ``limit``, ``offset``,
``includefield`` and ``fuzzymatching``. The selectors turn a ``Query`` into querysets; this module only reads
and checks the parameters. Pure Python (pydicom's data dictionary for keyword and tag
names), no Django.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pydicom.datadict import keyword_for_tag, tag_for_keyword

LEVELS = ("study", "series", "instance")
MAX_RESULTS = 1000  # one answer's rows: a client pages on with offset

# Attribute -> (level, kind). kinds: "uid" (a UID or a list), "date" (a date or a range),
# "code" (CS: exact, several values allowed), "text" (LO/SH: exact or wildcard, case
# sensitive), "name" (PN: like text, case insensitive), "number" (IS).
MATCHING: dict[str, tuple[str, str]] = {
    "StudyInstanceUID": ("study", "uid"),
    "PatientID": ("study", "text"),
    "PatientName": ("study", "name"),
    "AccessionNumber": ("study", "text"),
    "StudyDate": ("study", "date"),
    "StudyDescription": ("study", "text"),
    "ModalitiesInStudy": ("study", "code"),
    "PatientSex": ("study", "code"),
    "SeriesInstanceUID": ("series", "uid"),
    "Modality": ("series", "code"),
    "SeriesNumber": ("series", "number"),
    "SeriesDescription": ("series", "text"),
    "SOPInstanceUID": ("instance", "uid"),
    "SOPClassUID": ("instance", "uid"),
    "InstanceNumber": ("instance", "number"),
}
RESERVED = frozenset({"limit", "offset", "includefield", "fuzzymatching", "accept", "charset"})
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")
_DATE = re.compile(r"[0-9]{8}")
_TAG = re.compile(r"[0-9A-Fa-f]{8}")


class QueryError(ValueError):
    """A query parameter that cannot be read: the answer is 400."""


@dataclass(frozen=True)
class UidMatch:
    uids: tuple[str, ...]


@dataclass(frozen=True)
class DateMatch:
    start: dt.date | None
    end: dt.date | None


@dataclass(frozen=True)
class TextMatch:
    values: tuple[str, ...]  # any of them matches
    case_sensitive: bool = True

    def regex(self, value: str) -> str | None:
        """An anchored regular expression for a value with wildcards; None without."""
        if "*" not in value and "?" not in value:
            return None
        pieces = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value)
        return "^" + "".join(pieces) + "$"

    def accepts(self, constant: str) -> bool:
        """Whether a value every row shares (the archive's Modality, SOP class) matches."""
        for value in self.values:
            pattern = self.regex(value)
            flags = 0 if self.case_sensitive else re.IGNORECASE
            if (pattern and re.match(pattern, constant, flags)) or (
                value == constant if self.case_sensitive else value.lower() == constant.lower()
            ):
                return True
        return False


@dataclass(frozen=True)
class NumberMatch:
    value: int


Match = UidMatch | DateMatch | TextMatch | NumberMatch


@dataclass(frozen=True)
class Query:
    level: str
    matches: dict[str, Match] = field(default_factory=dict)
    # Attributes to return besides the required ones: named by includefield, or given
    # for matching (PS3.18: a matching key is returned too).
    include: frozenset[str] = frozenset()
    include_all: bool = False
    limit: int = MAX_RESULTS
    offset: int = 0
    requested_limit: int | None = None  # as the client gave it, before the server's cap
    ignored: tuple[str, ...] = ()  # given, but not supported for matching here

    def wants(self, keyword: str) -> bool:
        return self.include_all or keyword in self.include


def keyword_of(name: str) -> str | None:
    """A keyword ("PatientID") for a keyword or a tag ("00100020"); None if neither."""
    if _TAG.fullmatch(name):
        return keyword_for_tag(int(name, 16)) or None
    return name if tag_for_keyword(name) is not None else None


def _levels_up_to(level: str) -> tuple[str, ...]:
    return LEVELS[: LEVELS.index(level) + 1]


def parse_query(
    params: Mapping[str, list[str]] | Iterable[tuple[str, list[str]]], level: str
) -> Query:
    """The query of a search at ``level`` from its parameters (name -> values)."""
    items = list(params.items() if isinstance(params, Mapping) else params)
    fuzzy = _fuzzy(items)
    matches: dict[str, Match] = {}
    include: set[str] = set()
    include_all = False
    ignored: list[str] = []
    requested: int | None = None
    offset = 0
    for name, values in items:
        if name == "limit":
            requested = _whole(name, values)
        elif name == "offset":
            offset = _whole(name, values)
        elif name == "includefield":
            for value in values:
                for item in value.split(","):
                    if item.strip().lower() == "all":
                        include_all = True
                    elif keyword := keyword_of(item.strip()):
                        include.add(keyword)
        elif name in RESERVED:
            continue
        else:
            keyword = keyword_of(name)
            if keyword is None:
                if "." in name and all(keyword_of(p) for p in name.split(".")):
                    ignored.append(name)  # a sequence path: not matched here
                    continue
                raise QueryError(f"{name!r} is neither a query parameter nor a DICOM attribute")
            if len(values) != 1:
                raise QueryError(f"{keyword} is given {len(values)} times; give it once")
            include.add(keyword)
            known = MATCHING.get(keyword)
            if known is None or known[0] not in _levels_up_to(level):
                ignored.append(keyword)
                continue
            if values[0] == "":
                continue  # universal matching: every row, and the attribute is returned
            matches[keyword] = _match(keyword, known[1], values[0], fuzzy=fuzzy)
    return Query(
        level=level,
        matches=matches,
        include=frozenset(include),
        include_all=include_all,
        limit=MAX_RESULTS if requested is None else min(requested, MAX_RESULTS),
        offset=offset,
        requested_limit=requested,
        ignored=tuple(ignored),
    )


def _whole(name: str, values: list[str]) -> int:
    if len(values) != 1 or not values[0].isascii() or not values[0].isdigit():
        raise QueryError(f"{name} must be one whole number, 0 or more")
    return int(values[0])


def _fuzzy(items: list[tuple[str, list[str]]]) -> bool:
    values = [value for name, given in items if name == "fuzzymatching" for value in given]
    if not values:
        return False
    if len(values) != 1 or values[0].lower() not in ("true", "false"):
        raise QueryError("fuzzymatching must be given once, as true or false")
    return values[0].lower() == "true"


def _match(keyword: str, kind: str, value: str, *, fuzzy: bool = False) -> Match:
    if kind == "uid":
        uids = tuple(u.strip() for u in re.split(r"[\\,]", value) if u.strip())
        if not uids or not all(_UID.fullmatch(u) and len(u) <= 64 for u in uids):
            raise QueryError(f"{keyword} must be a UID or a list of UIDs")
        return UidMatch(uids)
    if kind == "date":
        return _date_match(keyword, value)
    if kind == "number":
        if not re.fullmatch(r"[+-]?[0-9]{1,10}", value.strip()):
            raise QueryError(f"{keyword} must be a whole number")
        return NumberMatch(int(value))
    if kind == "code":
        return TextMatch(tuple(v.strip() for v in re.split(r"[\\,]", value) if v.strip()))
    if kind == "name" and fuzzy and "*" not in value and "?" not in value:
        # Fuzzy semantic matching of names is the server's to define (PS3.18 8.3.4.1):
        # here a name matches when the value occurs anywhere in it, whatever the case, so
        # a viewer's study list finds a patient from part of the name (OHIF sends the
        # typed text with fuzzymatching=true and no wildcards).
        value = f"*{value}*"
    return TextMatch((value,), case_sensitive=kind != "name")


def _date_match(keyword: str, value: str) -> DateMatch:
    start, dash, end = value.strip().partition("-")
    if not dash:
        day = _date(keyword, start)
        return DateMatch(day, day)
    if not start and not end:
        raise QueryError(f"{keyword}: a range needs a start or an end")
    first = _date(keyword, start) if start else None
    last = _date(keyword, end) if end else None
    if first and last and first > last:
        raise QueryError(f"{keyword}: the range ends before it starts")
    return DateMatch(first, last)


def _date(keyword: str, value: str) -> dt.date:
    if not _DATE.fullmatch(value):
        raise QueryError(f"{keyword} must be a date YYYYMMDD or a range YYYYMMDD-YYYYMMDD")
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError as exc:
        raise QueryError(f"{keyword}: {value} is not a date") from exc
