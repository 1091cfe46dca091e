"""Public API: report text -> five per-level label sets with evidence and confidence.

>>> from labeling.nlp.labeller import Labeller
>>> lab = Labeller()
>>> r = lab.label("L4-5: Small disc bulge.", report_id="R1")
>>> r.levels[3].disc
'bulge'
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labeling.nlp import components
from labeling.nlp.bounded_cache import DEFAULT_CACHE_SIZE
from labeling.nlp.resolver import Resolution
from labeling.nlp.rulefiles import RuleFiles, rules_digest
from labeling.nlp.spelling import map_evidence
from spine.labels import GUIDE_VERSION, LEVELS, LevelLabels

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

    from labeling.nlp.learned import LearnedModel

MAX_CHARS = 100_000


# The code that turns report text into labels (not the evaluation, corpus or learned-layer tools:
# the learned layer carries its own version).
_LABELLING_CODE = (
    "bounded_cache.py",
    "components.py",
    "context.py",
    "extract.py",
    "fastregex.py",
    "labeller.py",
    "resolver.py",
    "rulefiles.py",
    "spelling.py",
    "tables.py",
    "../../spine/labels.py",
)


def _code_digest() -> str:
    """A digest of the labeller's own code: the same rules read by other code are another labeller."""
    h = hashlib.sha256()
    for name in _LABELLING_CODE:
        h.update(name.encode())
        h.update((Path(__file__).parent / name).read_bytes())
    return h.hexdigest()[:8]


_CODE_DIGEST = _code_digest()


def _version(rules_digest_: str) -> str:
    return f"radbot-rules-{GUIDE_VERSION}-{rules_digest_}-{_CODE_DIGEST}"


def rules_version(rules_dir: str | Path | None = None) -> str:
    """The version of a labeller built from ``rules_dir``: the guide, its rule files' digest and the
    digest of the code that reads them."""
    return _version(rules_digest(rules_dir))


def pipeline_version(nlp: Language) -> str:
    """The version of a built (or loaded) pipeline: the rule files its components own, and the code."""
    return _version(
        RuleFiles.merged(
            [proc.files for _name, proc in nlp.pipeline if isinstance(proc, components.RulePipe)]
        ).digest()
    )


LABELLER_RULES_VERSION = rules_version()

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
# (in ASCII text the bytes left after deleting these are the control characters: counted in C,
# without a match object each)
_NOT_CONTROL_ASCII = bytes(i for i in range(128) if not _CONTROL.match(chr(i)))


def _count_control(text: str) -> int:
    if text.isascii():
        return len(text.encode("ascii").translate(None, _NOT_CONTROL_ASCII))
    return len(_CONTROL.findall(text))


# While many reports are labelled, the cyclic collector's youngest generation runs once per
# this many new container objects instead of CPython's 700. The labeller makes and frees many
# short-lived lists, tuples and records per sentence; the young passes over them find nothing
# to collect and cost 5-8% of batch labelling (bench/labeller.py). Older generations keep their
# settings, and the threshold is restored when the batch ends.
_BATCH_YOUNG_GC_THRESHOLD = 20_000


@contextlib.contextmanager
def _fewer_young_collections() -> Iterator[None]:
    young, middle, old = gc.get_threshold()
    if young == 0 or young >= _BATCH_YOUNG_GC_THRESHOLD:  # collector off, or set higher already
        yield
        return
    gc.set_threshold(_BATCH_YOUNG_GC_THRESHOLD, middle, old)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, old)


@dataclass
class ReportLabels:
    report_id: str | None
    levels: list[LevelLabels]
    evidence: list[list[dict]]
    confidence: list[dict[str, float]]
    errors: list[str] = field(default_factory=list)
    version: str = LABELLER_RULES_VERSION
    decisions: list[dict] = field(default_factory=list, repr=False)

    def by_level(self) -> dict[str, LevelLabels]:
        return {lv.level: lv for lv in self.levels}

    def to_exchange_rows(self) -> list[dict[str, Any]]:
        rows = []
        for lv, ev, conf in zip(self.levels, self.evidence, self.confidence, strict=True):
            row = lv.to_exchange(report_id=self.report_id)
            row["evidence"] = [dict(e) for e in ev]
            row["confidence"] = dict(conf)
            rows.append(row)
        return rows


def empty_result(report_id: str | None, errors: list[str]) -> ReportLabels:
    levels = [LevelLabels(level=lv) for lv in LEVELS]
    conf = [
        {
            k: 0.5
            for k in (
                "disc",
                "canal_stenosis",
                "left_foraminal",
                "right_foraminal",
                "left_subarticular",
                "right_subarticular",
                "uncertain",
            )
        }
        for _ in LEVELS
    ]
    return ReportLabels(report_id, levels, [[] for _ in LEVELS], conf, errors)


def sanitize(text: Any) -> tuple[str, list[str]]:
    """A clean str to label and the per-report errors found on the way."""
    errors: list[str] = []
    if text is None:
        return "", ["empty report"]
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
        errors.append("report given as bytes; decoded as UTF-8")
    if not isinstance(text, str):
        return "", [f"report text is {type(text).__name__}, not str"]
    if len(text) > MAX_CHARS:
        errors.append(f"report longer than {MAX_CHARS} characters; labelled the first {MAX_CHARS}")
        text = text[:MAX_CHARS]
    n_bad = _count_control(text)
    if n_bad:
        # Same-length replacement keeps evidence offsets valid in the original text.
        text = _CONTROL.sub(" ", text)
        if n_bad > max(20, len(text) // 20):
            errors.append(f"report contains {n_bad} control/undecodable characters (binary data?)")
    if not text.strip():
        errors.append("empty report")
    return text, errors


class Labeller:
    """Builds the spaCy pipeline once; ``label`` / ``label_many`` reuse it.

    They hand the pipeline documents with no tokens (``components.text_doc``): a step added to
    it reads the report through ``components.doc_text``, as the labeller's own steps do.

    ``to_disk`` saves the pipeline with its rule files; ``from_disk`` labels with a saved one.
    """

    def __init__(
        self,
        learned: LearnedModel | None = None,
        rules_dir: str | Path | None = None,
        *,
        nlp: Language | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.nlp = (
            nlp
            if nlp is not None
            else components.build_nlp(str(rules_dir or ""), cache_size=cache_size)
        )
        self.learned = learned
        self.version = pipeline_version(self.nlp) + (
            f"+learned-{learned.version}" if learned else ""
        )

    def to_disk(self, path: str | Path) -> None:
        self.nlp.to_disk(path)

    @classmethod
    def from_disk(cls, path: str | Path, learned: LearnedModel | None = None) -> Labeller:
        # (as in components.build_nlp: the package import is the slow part)
        import spacy

        return cls(learned, nlp=spacy.load(path))

    # -- one report -----------------------------------------------------------
    def label(self, text: Any, report_id: str | None = None) -> ReportLabels:
        clean, errors = sanitize(text)
        if "empty report" in errors or not clean:
            return empty_result(report_id, errors or ["empty report"])
        try:
            doc = self.nlp(components.text_doc(self.nlp.vocab, clean))
        except Exception as exc:  # noqa: BLE001 - one bad report never fails the caller
            return empty_result(
                report_id, [*errors, f"labeller failed: {type(exc).__name__}: {exc}"]
            )
        return self._result(doc, report_id, errors)

    # -- many reports ---------------------------------------------------------
    def label_many(
        self, items: Iterable[tuple[str, Any]], batch_size: int = 256
    ) -> Iterator[ReportLabels]:
        with _fewer_young_collections():
            batch: list[tuple[Any, str, list[str]]] = []
            for report_id, text in items:
                clean, errors = sanitize(text)
                batch.append((report_id, clean, errors))
                if len(batch) >= batch_size:
                    yield from self._run_batch(batch, batch_size)
                    batch = []
            if batch:
                yield from self._run_batch(batch, batch_size)

    def _run_batch(
        self, batch: list[tuple[Any, str, list[str]]], batch_size: int
    ) -> Iterator[ReportLabels]:
        # Docs are consumed as nlp.pipe yields them (few objects alive at once keeps the
        # garbage collector cheap); after a pipeline failure the rest go one at a time.
        vocab = self.nlp.vocab
        docs = self.nlp.pipe(
            (
                components.text_doc(vocab, b[1])
                for b in batch
                if b[1] and "empty report" not in b[2]
            ),
            batch_size=batch_size,
        )
        broken = False
        for report_id, clean, errors in batch:
            if not clean or "empty report" in errors:
                yield empty_result(report_id, errors or ["empty report"])
                continue
            doc = None
            if not broken:
                try:
                    doc = next(docs)
                except Exception:  # noqa: BLE001 - fall back to one at a time
                    broken = True
            if doc is None:
                yield self.label(clean, report_id)
                continue
            try:
                yield self._result(doc, report_id, errors)
            except Exception as exc:  # noqa: BLE001
                yield empty_result(
                    report_id, [*errors, f"labeller failed: {type(exc).__name__}: {exc}"]
                )

    # -- helpers --------------------------------------------------------------
    def _result(self, doc: Doc, report_id: str | None, errors: list[str]) -> ReportLabels:
        data = components.extension_data(doc)  # (doc._.radbot_result and the others)
        res: Resolution = data[components.RESULT]
        offsets = data.get(components.OFFSETS)
        if offsets is not None:  # spans into the original text, not the corrected one
            map_evidence(
                [*res.evidence, *(d.evidence for dec in res.decisions for d in dec.values())],
                offsets,
            )
        errors = list(errors)
        if not any(g.levels for s in data.get(components.SENTS) or () for g in s.levels):
            errors.append("no lumbar disc level mentioned")
        out = ReportLabels(
            report_id, res.levels, res.evidence, res.confidence, errors, self.version, res.decisions
        )
        if self.learned is not None:
            self.learned.apply(out)
        return out
