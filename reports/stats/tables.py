"""Confusion counts of one comparison, kept up to date one disc level at a time.

Every figure the agreement dashboard shows for a comparison (a model version against a
reference, the labeller against gold, two annotators) is a function of how often each
reference value met each compared value, per field and disc level. Holding those counts
instead of the label rows lets a new gold label move a comparison by adding and removing
one level's pair, in constant time, rather than recomputing it over the archive: the
figures are then read off tables of a few dozen cells, whatever the archive's size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from reports.stats.bootstrap import kappa_of_tables
from spine.labels import CANAL_CLASSES, FIELD_VALUES, LEVELS, canal_class

_LEVEL_INDEX = {level: i for i, level in enumerate(LEVELS)}
_CANAL_FIELDS = ("disc", "canal_stenosis")


class AgreementCounts:
    """Per field: a (level, reference value, compared value) table of counts; with the canal
    class (spine.labels.canal_class of disc and canal stenosis) where both are compared.

    Values are a field's spine.labels.FIELD_VALUES, so tables of every comparison of the
    same fields line up and can be added.
    """

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields: tuple[str, ...] = tuple(fields)
        self._index: dict[str, dict[Any, int]] = {
            name: {value: i for i, value in enumerate(FIELD_VALUES[name])} for name in self.fields
        }
        self.tables: dict[str, np.ndarray] = {
            name: np.zeros((len(LEVELS), len(FIELD_VALUES[name]), len(FIELD_VALUES[name])), int)
            for name in self.fields
        }
        self._canal_at = (
            tuple(self.fields.index(name) for name in _CANAL_FIELDS)
            if set(_CANAL_FIELDS) <= set(self.fields)
            else None
        )
        k = len(CANAL_CLASSES)
        self.canal: np.ndarray | None = (
            np.zeros((len(LEVELS), k, k), int) if self._canal_at is not None else None
        )

    def add(
        self, level: str, reference: Sequence[Any], compared: Sequence[Any], times: int = 1
    ) -> None:
        """Count one level's pair ``times`` times (-1 takes a counted pair away again).

        ``reference`` and ``compared`` hold the fields' values in ``fields`` order.
        """
        self.add_pairs([(level, reference, compared)], times)

    def add_pairs(
        self, pairs: Iterable[tuple[str, Sequence[Any], Sequence[Any]]], times: int = 1
    ) -> None:
        """add() of many (level, reference, compared) pairs at once: one numpy update per
        field, where add() costs microseconds a pair in numpy's scalar indexing."""
        pairs = list(pairs)
        if not pairs:
            return
        at = np.fromiter((_LEVEL_INDEX[level] for level, _, _ in pairs), int, len(pairs))
        for i, name in enumerate(self.fields):
            index = self._index[name]
            ref = np.fromiter((index[r[i]] for _, r, _ in pairs), int, len(pairs))
            other = np.fromiter((index[c[i]] for _, _, c in pairs), int, len(pairs))
            np.add.at(self.tables[name], (at, ref, other), times)
        if self.canal is not None and self._canal_at is not None:
            disc, canal = self._canal_at
            ref = np.fromiter(
                (canal_class(r[disc], r[canal]) for _, r, _ in pairs), int, len(pairs)
            )
            other = np.fromiter(
                (canal_class(c[disc], c[canal]) for _, _, c in pairs), int, len(pairs)
            )
            np.add.at(self.canal, (at, ref, other), times)

    @property
    def n(self) -> int:
        """Pairs counted."""
        return int(self.tables[self.fields[0]].sum()) if self.fields else 0

    def copy(self) -> AgreementCounts:
        out = AgreementCounts(self.fields)
        out.tables = {name: table.copy() for name, table in self.tables.items()}
        out.canal = None if self.canal is None else self.canal.copy()
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AgreementCounts) or other.fields != self.fields:
            return NotImplemented
        same_canal = (self.canal is None and other.canal is None) or (
            self.canal is not None
            and other.canal is not None
            and np.array_equal(self.canal, other.canal)
        )
        return same_canal and all(
            np.array_equal(self.tables[name], other.tables[name]) for name in self.fields
        )

    @classmethod
    def of_columns(
        cls,
        levels: np.ndarray,
        reference: Mapping[str, np.ndarray],
        compared: Mapping[str, np.ndarray],
        fields: Sequence[str],
    ) -> AgreementCounts:
        """Counts of aligned column arrays (one entry per level pair), in one pass per field."""
        out = cls(fields)
        at = _codes(np.asarray(levels, dtype=str), LEVELS)
        for name in out.fields:
            values = tuple(str(v) for v in FIELD_VALUES[name])
            ref = _codes(np.asarray(reference[name], dtype=str), values)
            other = _codes(np.asarray(compared[name], dtype=str), values)
            np.add.at(out.tables[name], (at, ref, other), 1)
        if out.canal is not None:
            np.add.at(out.canal, (at, canal_classes(reference), canal_classes(compared)), 1)
        return out


def _codes(values: np.ndarray, vocabulary: Sequence[str]) -> np.ndarray:
    codes = np.full(values.shape, -1, dtype=np.int64)
    for i, value in enumerate(vocabulary):
        codes[values == value] = i
    if (codes < 0).any():
        unknown = sorted(set(values[codes < 0].tolist()))
        raise ValueError(f"{unknown} not among {list(vocabulary)}")
    return codes


def canal_classes(fields: Mapping[str, np.ndarray]) -> np.ndarray:
    """spine.labels.canal_class over arrays."""
    disc, canal = np.asarray(fields["disc"], str), np.asarray(fields["canal_stenosis"], str)
    return np.where(
        canal == "none", np.where(disc == "none", 0, 1), np.where(disc == "herniation", 3, 2)
    )


def presence_tables(counts: AgreementCounts, present: Mapping[str, frozenset[Any]]) -> np.ndarray:
    """(level, reference present, compared present) counts of a finding that is present
    when one of its fields holds one of its values, one sample per field (foramina: per side)."""
    out = np.zeros((len(LEVELS), 2, 2), dtype=np.int64)
    for name, values in present.items():
        hot = np.zeros((len(FIELD_VALUES[name]), 2), dtype=np.int64)
        for i, value in enumerate(FIELD_VALUES[name]):
            hot[i, int(value in values)] = 1
        out += np.einsum("ia,lij,jb->lab", hot, counts.tables[name], hot)
    return out


def kappa_or_none(table: np.ndarray) -> float | None:
    """Cohen's kappa of one K x K table; None where it is undefined (one value only, on
    both sides, or no pairs at all)."""
    table = np.asarray(table)
    if int((table.sum(axis=0) + table.sum(axis=1) > 0).sum()) < 2:
        return None
    value = float(kappa_of_tables(table[None])[0])
    return None if math.isnan(value) else value


def field_agreement(counts: AgreementCounts) -> list[dict[str, Any]]:
    """Per field over every level: the pairs, the percentage that agree and Cohen's kappa,
    as the curation progress page and the dashboard's agreement panel show them."""
    out = []
    for name in counts.fields:
        table = counts.tables[name].sum(axis=0)
        n = int(table.sum())
        out.append(
            {
                "field": name,
                "n": n,
                "percent": 100 * int(np.trace(table)) / n if n else None,
                "kappa": kappa_or_none(table),
            }
        )
    return out


__all__ = [
    "AgreementCounts",
    "canal_classes",
    "field_agreement",
    "kappa_or_none",
    "presence_tables",
]
