"""spaCy components of the labeller (registered factories, spaCy 3.8).

Each step of the pipeline is a component working on the document text (character
offsets) with the compiled rules of ``extract.py`` / ``context.py`` and storing its
output in ``Doc`` extensions. Every rule-driven component is a ``RulePipe``: it owns the
rule files it was built from and saves them with the pipeline (``nlp.to_disk`` /
``spacy.load``), so a saved pipeline is a labeller version. The steps:

* ``radbot_sections``   -> ``doc._.radbot_low`` (lower-cased text, misspelt key terms corrected:
  ``spelling.py``; a table's rows as headed statements: ``tables.py``; ``doc._.radbot_offsets``
  maps its offsets back), ``doc._.radbot_sections``
* ``radbot_sentences``  -> ``doc._.radbot_sents`` (and token sentence starts)
* ``radbot_levels``     -> level groups per sentence, carried levels
* ``radbot_findings``   -> ``doc._.radbot_findings`` (``extract.Finding`` list)
* ``radbot_context``    -> assertion of every finding (ConText rules)
* ``radbot_resolver``   -> ``doc._.radbot_result`` (per-level labels, evidence, confidence)

Speed: the tokenizer is spaCy's rule-less (whitespace) Cython tokenizer and keeps
the input text in ``doc.user_data`` (``Doc.text`` re-joins every token). Level
groups, findings and assertions depend only on the sentence text (plus the carried
levels), so the levels / findings / context components cache their per-sentence
results with offsets relative to the sentence start (``cache_size`` entries per
component, in the pipeline's config; 0 disables); report text is highly templated, so most
sentences are hits.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

import numpy
from spacy.attrs import IDX, SENT_START
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.util import registry
from spacy.vocab import Vocab

from labeling.nlp import extract, spelling, tables
from labeling.nlp.bounded_cache import DEFAULT_CACHE_SIZE, BoundedCache
from labeling.nlp.context import (
    ALTERNATIVE,
    CONTEXT_FILE,
    NEGATED,
    POSSIBLE,
    SCOPE,
    ConText,
    Trigger,
    assertion_of,
    load_rules,
)
from labeling.nlp.resolver import resolve
from labeling.nlp.rulefiles import RuleFiles, load_yaml
from spine.labels import GRADED_FIELDS, GRADES, LEVELS

_EXTENSIONS = (
    "radbot_low",
    # normalised -> original offsets after misspelt key terms were corrected (None: same text)
    "radbot_offsets",
    "radbot_sections",
    "radbot_sents",
    "radbot_findings",
    "radbot_result",
)
for _name in _EXTENSIONS:
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)


def _extension_key(name: str) -> tuple[str, str, None, None]:
    # where spaCy keeps a Doc extension's value: doc.user_data under this key
    return ("._.", name, None, None)


# The components read and write their extensions in ``doc.user_data`` directly: ``doc._`` builds
# an accessor object and each read through it runs Python code (about 1 microsecond; 2-3% of
# labelling a report). ``doc._.radbot_low`` and the others read the same values.
LOW = _extension_key("radbot_low")
OFFSETS = _extension_key("radbot_offsets")
SECTIONS = _extension_key("radbot_sections")
SENTS = _extension_key("radbot_sents")
FINDINGS = _extension_key("radbot_findings")
RESULT = _extension_key("radbot_result")


def extension_data(doc: Doc) -> dict[Any, Any]:
    """Where ``doc``'s extensions live: ``doc.user_data`` (which spaCy types as keyed by str; the
    extensions' keys are tuples)."""
    return doc.user_data


def _check_extension_storage() -> None:
    probe = Doc(Vocab(), words=["x"])
    probe._.radbot_low = "written through doc._"
    if extension_data(probe).get(LOW) != "written through doc._":
        raise RuntimeError(
            "this spaCy keeps Doc extension values elsewhere than in doc.user_data[('._.', name, "
            "None, None)], where labeling/nlp/components.py reads them"
        )


_check_extension_storage()


_TEXT_KEY = "radbot_text"


def doc_text(doc: Doc) -> str:
    """The text of ``doc``: the tokenizer's input when it is known to match (or the text of a
    ``text_doc``), else ``doc.text``."""
    text = doc.user_data.get(_TEXT_KEY)
    if text is None:
        return doc.text
    if not len(doc):
        return text if _TEXT_ONLY in doc.user_data else doc.text
    last = doc[-1]
    return text if last.idx + len(last.text_with_ws) == len(text) else doc.text


_TEXT_ONLY = "radbot_text_only"


def text_doc(vocab: Vocab, text: str) -> Doc:
    """A document of ``text`` with no tokens, for the pipeline's labels alone.

    The steps read the text and write character offsets; only spaCy's own token view of a
    document (``doc.sents``, token attributes) needs tokens, and making them and marking the
    sentence starts on them took 7% of the instructions of labelling a report
    (``bench/labeller_instructions.py``). ``nlp(text)`` still gives a tokenized document, and
    ``doc.text`` of this one is empty: a step reads the text through ``doc_text``.
    """
    doc = Doc(vocab)
    doc.user_data[_TEXT_KEY] = text
    doc.user_data[_TEXT_ONLY] = True
    return doc


class StagePipe:
    """A labeller step that works through a batch of documents before handing any on.

    ``nlp.pipe`` would otherwise take each document through every step before the next
    document starts; running one step over a whole batch keeps that step's code and rule
    tables in the processor's caches, which made batch labelling 15% faster
    (``bench/labeller.py --no-cache``). A step's output depends on its document only, so the
    order of work changes no label.
    """

    def __init__(self, process: Callable[[Doc], Doc]):
        self._process = process

    def __call__(self, doc: Doc) -> Doc:
        return self._process(doc)

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._run(batch)
                batch = []
        if batch:
            yield from self._run(batch)

    def _run(self, batch: list[Doc]) -> list[Doc]:
        process = self._process
        return [process(doc) for doc in batch]


class RulePipe(StagePipe):
    """A labeller step that owns the rule files it was built from.

    As spaCy's SpanRuler keeps its patterns, the files travel with the pipeline:
    ``nlp.to_disk(path)`` writes each component's files into its folder and
    ``spacy.load(path)`` (``from_disk``) builds the component from them again, so a saved
    pipeline is a labeller version, whatever folder it was first built from.
    """

    def __init__(
        self,
        names: tuple[str, ...],
        build: Callable[[RuleFiles], Callable[[Doc], Doc]],
        rules_dir: str = "",
    ):
        self.names = names
        self._build = build
        self._use(RuleFiles.from_dir(rules_dir or None, names))

    def _use(self, files: RuleFiles) -> None:
        self.files = files
        self._process = self._build(files)

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        self.files.write(path)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> RulePipe:
        self._use(RuleFiles.read_saved(path, self.names))
        return self

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        return json.dumps(dict(self.files.texts)).encode("utf-8")

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> RulePipe:
        saved = json.loads(data.decode("utf-8"))
        self._use(RuleFiles(tuple(sorted((name, saved[name]) for name in self.names))))
        return self


@Language.factory("radbot_sections", default_config={"rules_dir": ""})
def make_sections(nlp: Language, name: str, rules_dir: str) -> RulePipe:
    return RulePipe(spelling.SPELLER_FILES, _sections, rules_dir)


def _sections(files: RuleFiles) -> Callable[[Doc], Doc]:
    rules = extract.rules_for(files.subset(extract.RULES_FILES))
    speller = spelling.speller_for(files)

    def sections(doc: Doc) -> Doc:
        # Misspelt key terms read as the term (guide v1.2); offsets via doc._.radbot_offsets.
        data = extension_data(doc)
        low, offsets = speller.correct(extract.lower_same_length(doc_text(doc)))
        # a table's rows read as headed statements (tables.py)
        low, table_offsets = tables.read_tables(low, rules)
        data[OFFSETS] = spelling.chained(offsets, table_offsets)
        data[LOW] = low
        data[SECTIONS] = extract.find_sections(low, rules)
        return doc

    return sections


# SENT_START's "not a sentence start" (-1) in the unsigned array Doc.from_array takes
_NOT_A_SENT_START = numpy.iinfo(numpy.uint64).max


@Language.factory("radbot_sentences", default_config={"rules_dir": "", "set_sent_starts": True})
def make_sentences(nlp: Language, name: str, rules_dir: str, set_sent_starts: bool) -> RulePipe:
    return RulePipe(
        extract.RULES_FILES, partial(_sentences, set_sent_starts=set_sent_starts), rules_dir
    )


def _sentences(files: RuleFiles, set_sent_starts: bool) -> Callable[[Doc], Doc]:
    rules = extract.rules_for(files)

    def sentences(doc: Doc) -> Doc:
        data = extension_data(doc)
        low: str = data[LOW]
        sents = extract.split_sentences(low, data[SECTIONS], rules)
        data[SENTS] = sents
        # What an unticked template box says is no statement: the steps after this one do not see
        # it (the sentences were cut on the whole text, which keeps each template line one).
        data[LOW] = extract.blank_unticked(low, rules)
        if set_sent_starts and len(doc):
            idx = doc.to_array(IDX)  # (token start offsets, unsigned; the first is 0)
            offsets = data.get(OFFSETS)  # sentence offsets are in the normalised text
            starts = numpy.array(
                [s.start if offsets is None else offsets.to_orig(s.start) for s in sents],
                dtype=idx.dtype,
            )
            # the token each sentence starts in: the last one starting at or before it
            arr: numpy.ndarray = numpy.full((len(doc), 1), _NOT_A_SENT_START, dtype=numpy.uint64)
            arr[0, 0] = 1
            arr[numpy.maximum(idx.searchsorted(starts, side="right") - 1, 0), 0] = 1
            doc.from_array([SENT_START], arr)  # type: ignore[arg-type]  # thinc's Ints2d: a 2-d int array
        return doc

    return sentences


@Language.factory(
    "radbot_levels", default_config={"rules_dir": "", "cache_size": DEFAULT_CACHE_SIZE}
)
def make_levels(nlp: Language, name: str, rules_dir: str, cache_size: int) -> RulePipe:
    return RulePipe(extract.RULES_FILES, partial(_levels, cache_size=cache_size), rules_dir)


def _levels(files: RuleFiles, cache_size: int) -> Callable[[Doc], Doc]:
    rules = extract.rules_for(files)
    cache = BoundedCache(cache_size)
    LevelGroup = extract.LevelGroup

    def levels(doc: Doc) -> Doc:
        # A sentence naming no level takes the level of the nearest level mention before it
        # in the same paragraph (guide v1.2); a paragraph ends at a blank line, a section
        # header, and each numbered or bulleted item is one of its own, except the items of a
        # level heading ("L4-5:" then "- disc bulge").
        data = extension_data(doc)
        low: str = data[LOW]
        sents: list[extract.Sentence] = data[SENTS]
        region_starts = sorted(s0 for s0, _e, _n in data.get(SECTIONS) or ())[1:]
        # A range is a mention too: the sentences after "T12-L1 through L2-3: ..." belong to the
        # levels it covers, as a range. A level named only as the term of a comparison ("larger
        # than at L3-4") is not carried. Carried state: (levels, tier).
        ri = 0
        carried = _NO_LEVELS
        last = _NO_LEVELS  # the last level mention of the section ("at this level")
        heading = _NO_LEVELS  # the levels of a heading line that items follow
        prev_end = -1
        prev_heading = False
        for s in sents:
            new_region = prev_end < 0
            while ri < len(region_starts) and region_starts[ri] <= s.start:
                ri += 1
                new_region = True
            if new_region:
                carried = last = heading = _NO_LEVELS
                prev_heading = False
            else:
                brk = extract.paragraph_break(low, prev_end, s.start)
                if brk == "blank":
                    carried = heading if prev_heading else _NO_LEVELS
                    if not prev_heading:
                        heading = _NO_LEVELS
                elif brk == "item":
                    carried = heading
            prev_end = s.end
            # Level groups depend on the sentence text only (offsets relative to its start).
            text = low[s.start : s.end]
            rel = cache.get(text)
            if rel is None:
                rel = cache.put(text, tuple(extract.find_level_groups(text, 0, len(text), rules)))
            if rel:
                a = s.start
                s.levels = [LevelGroup(g.start + a, g.end + a, g.levels, g.kind) for g in rel]
            else:
                s.levels = []
            s.inherited, s.inherited_tier = carried
            own = [g for g in s.levels if g.kind != "compare"]
            if not own and not carried[0] and last[0] and rules.anaphora_re.search(text):
                s.inherited, s.inherited_tier = last  # "Mild canal stenosis at this level."
            if any(k in text for k in rules.same_as_keys):
                # "L4-5: Same as above" (the level named last before it), "similar to L3-4"
                s.copy_from = extract.copied_levels(low, s, last[0], rules)
            if s.section == "other":
                continue  # clinical sentences give no level to the next ones
            named = [g for g in own if g.kind in _CARRIED_KINDS]
            prev_heading = False
            if named:
                g = named[-1]
                carried = (g.levels, "range" if g.kind == "range" else "specific")
                last = carried
                specific = [x for x in named if x.kind != "range"]
                s.heading = bool(specific) and specific[0].start - s.start < 8
                if text.endswith(":") or extract.HEADING_ONLY.match(text, g.end - s.start):
                    heading = carried
                    prev_heading = True
                else:
                    heading = _NO_LEVELS
            elif any(g.kind == "remaining" for g in own):
                # "The remaining levels are normal." turns away from the level named; a whole-spine
                # aside ("As at all levels, there is facet arthropathy.") and vague wording do not
                carried = _NO_LEVELS
        return doc

    return levels


_NO_LEVELS: tuple[frozenset[str], str] = (frozenset(), "specific")
_SIDE_KINDS = frozenset(("side_left", "side_right", "side_both"))
_LATERAL_FAMILY = {
    "left_foraminal": "foraminal",
    "right_foraminal": "foraminal",
    "left_subarticular": "subarticular",
    "right_subarticular": "subarticular",
}
_CARRIED_KINDS = ("single", "list", "range")
_GRADED_FIELDS = frozenset(GRADED_FIELDS)
# the grades a report states (not "none", not "unspecified")
_STATED_GRADES = frozenset(g for g in GRADES if g not in ("none", "unspecified"))


@Language.factory(
    "radbot_findings", default_config={"rules_dir": "", "cache_size": DEFAULT_CACHE_SIZE}
)
def make_findings(nlp: Language, name: str, rules_dir: str, cache_size: int) -> RulePipe:
    return RulePipe(extract.RULES_FILES, partial(_findings, cache_size=cache_size), rules_dir)


def _findings(files: RuleFiles, cache_size: int) -> Callable[[Doc], Doc]:
    rules = extract.rules_for(files)
    cache = BoundedCache(cache_size)
    Finding = extract.Finding

    def sentence_result(
        masked_text: str, s: extract.Sentence, carried: frozenset
    ) -> tuple[tuple[extract.SentenceFinding, ...], frozenset]:
        """Findings of one sentence with offsets relative to its start, and the disc side
        it passes on (pure in its key)."""
        a = s.start
        rel = extract.Sentence(
            0,
            len(masked_text),
            s.section,
            [extract.LevelGroup(g.start - a, g.end - a, g.levels, g.kind) for g in s.levels],
            s.inherited,
            s.heading,
            s.inherited_tier,
        )
        # the term of a comparison ("larger than at L3-4") is masked but takes no finding
        own = [g for g in rel.levels if g.kind != "compare"]
        hint = (
            frozenset().union(*(g.levels for g in own if g.kind == "single"))
            if own
            else rel.inherited
        )
        cuts, mentions, sides = extract.sentence_findings(masked_text, rel, rules, hint, carried)
        if not mentions:
            return (), sides
        out = []
        groups_by_clause = [(extract.clause_of_position(cuts, g.start), g) for g in own]
        excepting = any(g.kind == "except" for g in own)
        # (clause, family, items) -> fields: which findings went to both sides
        both: dict[tuple[int, str, int], set[str]] | None = None
        for m in mentions:
            exception = (
                extract.exception_spoken_of(own, max(i.start for i in m.items), masked_text, rules)
                if excepting
                else None
            )
            if exception is not None:
                levels, tier = exception.levels, "specific"
            else:
                levels, tier = extract.levels_of_clause(m.clause, groups_by_clause, rel)
            if not levels and tier != "unscoped":
                continue
            paired = (
                extract.respective_grades(m, levels, own, masked_text, rules)
                if m.field in _GRADED_FIELDS and len(levels) > 1
                else None
            )
            if paired is None and len(levels) > 1 and m.value in _STATED_GRADES:
                # "moderate at L3-4 and to a lesser degree at L2-3": L2-3 has no stated grade
                lesser = extract.lesser_levels(own, masked_text, rules) & levels
                if lesser and lesser != levels:
                    paired = [(levels - lesser, m.value), (lesser, "unspecified")]
            sided = True
            if m.field in _LATERAL_FAMILY and not any(i.kind in _SIDE_KINDS for i in m.items):
                # a foraminal / subarticular finding with no side word that went to both sides
                if both is None:
                    both = {}
                    for other in mentions:
                        if other.field in _LATERAL_FAMILY:
                            both.setdefault(
                                (other.clause, _LATERAL_FAMILY[other.field], id(other.items)), set()
                            ).add(other.field)
                sided = len(both[(m.clause, _LATERAL_FAMILY[m.field], id(m.items))]) < 2
            own_value = m.value
            if m.field in _LATERAL_FAMILY and m.field in _GRADED_FIELDS:
                # "foraminal stenosis, left and right, mild and moderate respectively"
                own_value = extract.respective_side_grade(m, masked_text, rules) or own_value
            for each_levels, value in paired or [(levels, own_value)]:
                out.append(
                    extract.SentenceFinding(
                        m.field,
                        value,
                        m.strength,
                        min(i.start for i in m.items),
                        max(i.end for i in m.items),
                        m.clause,
                        m.negated,
                        any(i.kind == "grade" for i in m.items),
                        each_levels,
                        tier,
                        sided,
                    )
                )
        return tuple(out), sides

    def findings(doc: Doc) -> Doc:
        data = extension_data(doc)
        known: str | None = data.get(LOW)
        low: str = extract.lower_same_length(doc_text(doc)) if known is None else known
        masked = rules.exclusion_re.sub(extract.blanked, low)
        out: list[extract.Finding] = []
        sides: frozenset = frozenset()  # disc side a continuing sentence takes (guide v1.2)
        prev_section = None
        sents: list[extract.Sentence] = data[SENTS]
        for si, s in enumerate(sents):
            if s.section == "other":
                prev_section = None
                continue
            # a sentence continues the previous one when it names no other level
            own = [g for g in s.levels if g.kind != "compare"]
            same = all(g.kind in ("single", "list") for g in own) and (
                not own or frozenset().union(*(g.levels for g in own)) == s.inherited
            )
            carried: frozenset = (
                sides if same and s.inherited and s.section == prev_section else frozenset()
            )
            prev_section = s.section
            mtext = masked[s.start : s.end]
            ltext = low[s.start : s.end]
            key = (
                mtext,
                None if ltext == mtext else ltext,
                (s.inherited, s.inherited_tier) if not own else None,
                carried,
            )
            res: tuple[tuple[extract.SentenceFinding, ...], frozenset] | None = cache.get(key)
            if res is None:
                res = cache.put(key, sentence_result(mtext, s, carried))
            found, sides = res
            a = s.start
            section = s.section
            for f in found:
                out.append(
                    Finding(
                        f.field,
                        f.value,
                        f.strength,
                        f.start + a,
                        f.end + a,
                        si,
                        f.clause,
                        f.negated,
                        f.has_grade,
                        "affirmed",
                        f.levels,
                        f.tier,
                        section,
                        f.sided,
                    )
                )
        data[FINDINGS] = out
        return doc

    return findings


@Language.factory(
    "radbot_context", default_config={"rules_dir": "", "cache_size": DEFAULT_CACHE_SIZE}
)
def make_context(nlp: Language, name: str, rules_dir: str, cache_size: int) -> RulePipe:
    # (the findings rules for their side words: "R none" is the right side's grade)
    return RulePipe(
        (CONTEXT_FILE, extract.FINDINGS_FILE), partial(_context, cache_size=cache_size), rules_dir
    )


def _context(files: RuleFiles, cache_size: int) -> Callable[[Doc], Doc]:
    engine = ConText(load_rules(text=files.text(CONTEXT_FILE)))
    sides = _side_words(load_yaml(files.text(extract.FINDINGS_FILE)))
    cache = BoundedCache(cache_size)

    def sentence_assertions(text: str, targets: tuple) -> tuple:
        triggers = engine.find_triggers(text)
        mods = engine.modifiers(text, [(a, b) for a, b, *_ in targets], triggers, inside=True)
        _other_sides_none(text, targets, mods, sides, triggers)
        assertions = [
            assertion_of(m, text=text, start=t[0], has_grade=t[2], end=t[1])
            for t, m in zip(targets, mods, strict=True)
        ]
        _alternatives(targets, mods, assertions)
        _coordinated(text, targets, mods, assertions)
        _doubted_subject(text, triggers, targets, mods, assertions)
        return tuple(zip(assertions, _scoped(text, triggers, targets), strict=True))

    def context(doc: Doc) -> Doc:
        data = extension_data(doc)
        findings: list[extract.Finding] = data.get(FINDINGS) or []
        if not findings:
            return doc
        low: str = data[LOW]
        sents: list[extract.Sentence] = data[SENTS]
        by_sent: dict[int, list[extract.Finding]] = {}
        for f in findings:
            by_sent.setdefault(f.sentence, []).append(f)
        for si, fs in by_sent.items():
            s = sents[si]
            a = s.start
            text = low[a : s.end]
            # The assertion of a finding depends only on the sentence text and the finding's place.
            key = (text, tuple((f.start - a, f.end - a, f.has_grade, f.field, f.value) for f in fs))
            res = cache.get(key)
            if res is None:
                res = cache.put(key, sentence_assertions(text, key[1]))
            own_levels = any(g.kind != "compare" for g in s.levels)
            for f, (assertion, scoped) in zip(fs, res, strict=True):
                f.assertion = assertion
                if scoped and not own_levels and f.tier in ("specific", "unscoped"):
                    # "The remaining disc spaces show no stenosis" after an L5-S1 sentence speaks of the
                    # other levels, not of the level it would inherit: it must not erase L5-S1.
                    f.tier, f.levels = "remaining", _ALL_LEVELS
        return doc

    return context


_ALL_LEVELS = frozenset(LEVELS)
# Clause breaks that end what a scope statement ("the remaining disc spaces ...") speaks of.
_CLAUSE_BREAK = re.compile(
    r";|:|\b(?:but|however|although|though|whereas|while|except|apart\s+from|aside\s+from)\b"
)


def _alternatives(targets: tuple, mods: list, assertions: list) -> None:
    """Findings offered with an alternative (guide v1.2) stay hedged unless the alternatives
    are one schema finding ("protrusion versus extrusion": a herniation either way; "mild versus
    moderate stenosis": the stenosis is certain), or a two-sided trigger ("X or Y") lacks a side."""
    groups: dict[int, tuple] = {}
    for k, m in enumerate(mods):
        t = m.get(ALTERNATIVE)
        if t is not None and assertions[k] == "hedged" and POSSIBLE not in m:
            groups.setdefault(id(t), (t, []))[1].append(k)
    ordered = sorted(groups.values(), key=lambda g: g[0].start)
    for (t, ks), (_nt, next_ks) in pairwise(ordered):
        if t.rule.direction == "forward":
            # "either a bulge or a small protrusion": what "either" hedges is the first
            # alternative of the "or" after it
            next_ks.extend(ks)
            ks.clear()
    for t, ks in ordered:
        if not ks:
            continue
        # The alternatives are the nearest findings on each side of the trigger.
        left = [k for k in ks if targets[k][1] <= t.start]
        right = [k for k in ks if targets[k][0] >= t.end]
        if left:
            near = max(targets[k][1] for k in left)
            left = [k for k in left if targets[k][1] == near]
        if right:
            near = min(targets[k][0] for k in right)
            right = [k for k in right if targets[k][0] == near]
        alts = left + right
        same = len({targets[k][3] for k in alts}) == 1 and (
            targets[alts[0]][3] != "disc" or len({targets[k][4] for k in alts}) == 1
        )
        keep = set(alts)
        if (t.rule.both_sides and not (left and right)) or (left and right and same):
            keep = set()
        for k in ks:
            if k not in keep:
                assertions[k] = "affirmed"


class _SideWords(NamedTuple):
    """The side words of the findings rules, in group ``left`` or ``right``."""

    anywhere: re.Pattern
    before: re.Pattern  # ending where a trigger starts ("R none", "right: normal")
    # starting where a trigger ends ("none right", "none on the right", "none bilaterally"),
    # with a group ``both`` too
    after: re.Pattern
    # a place word of the findings rules, in group ``canal``, ``foraminal`` or ``subarticular``
    places: re.Pattern


# the group of ``_SideWords.places`` that names each stenosis field's place
_PLACE_OF_FIELD = {"canal_stenosis": "canal", **_LATERAL_FAMILY}


def _side_words(findings: dict) -> _SideWords:
    sides, letters = findings["sides"], findings["side_letters"]
    left = "|".join([*sides["left"], letters["left"]])
    right = "|".join([*sides["right"], letters["right"]])
    both = "|".join(sides["both"])
    word = rf"(?:(?P<left>{left})|(?P<right>{right}))"
    either = rf"(?:(?P<both>{both})|(?P<left>{left})|(?P<right>{right}))"
    places = "|".join(
        f"(?P<{group}>{'|'.join(findings['locations'][location])})"
        for group, location in (
            ("canal", "canal"),
            ("foraminal", "foramen"),
            ("subarticular", "subarticular"),
        )
    )
    return _SideWords(
        re.compile(rf"(?<![a-z0-9]){word}(?![a-z0-9])"),
        re.compile(rf"(?<![a-z0-9]){word}[\s:=-]*$"),
        re.compile(rf"\s+(?:on\s+(?:the\s+)?)?{either}(?:\s+sides?)?(?![a-z0-9])"),
        re.compile(rf"(?<![a-z0-9])(?:{places})(?![a-z0-9])"),
    )


_AND_BEFORE = re.compile(r"(?:\sand|&|,)\s*$")


def _negates_another(
    text: str, start: int, end: int, t: Trigger, field: str, sides: _SideWords
) -> bool:
    """Whether a forward negation inside the finding ``text[start:end]`` of ``field``, after the
    finding's own side or place word, is the value of the other side or place named right after
    it: "Mild right and no left foraminal narrowing", "Mild canal and no foraminal stenosis".
    Not a negation that coordinates no other ("neither canal nor foraminal stenosis")."""
    if _AND_BEFORE.search(text, start, t.start) is None:
        return False
    if field in _LATERAL_FAMILY:
        side = field.split("_", 1)[0]
        word = sides.after.match(text, t.end)
        if word is not None and word.lastgroup not in (side, "both"):
            return any(w.lastgroup == side for w in sides.anywhere.finditer(text, start, t.start))
    own = _PLACE_OF_FIELD[field]
    place = sides.places.search(text, t.end, end)
    return (
        place is not None
        and place.lastgroup != own
        and any(p.lastgroup == own for p in sides.places.finditer(text, start, t.start))
    )


def _other_sides_none(
    text: str, targets: tuple, mods: list, sides: _SideWords, triggers: list
) -> None:
    """A backward negation right after the other side's word is that side's grade ("Foramina:
    L mild / R none"): it does not deny a finding that names its own side before it. A finding
    with no side word of its own ("NFS L none R none") keeps the negation.

    A backward negation followed by a side word, with none before it, is that side's grade
    ("Foraminal stenosis: mild left, none right", "mild on the left, none on the right",
    "none bilaterally"): it denies the finding of that side, whose span runs through it, and
    not the other side's."""
    for k, m in enumerate(mods):
        t = m.get(NEGATED)
        field = targets[k][3]
        if t is None or field not in _PLACE_OF_FIELD:
            continue
        start, end = targets[k][:2]
        if t.rule.direction == "forward":
            if start < t.start and _negates_another(text, start, end, t, field, sides):
                del m[NEGATED]
            continue
        if t.rule.direction != "backward" or field not in _LATERAL_FAMILY:
            continue
        side = field.split("_", 1)[0]  # (the lateral fields are named left_... and right_...)
        word = sides.before.search(text, max(end, t.start - 24), t.start)
        if (
            word is not None
            and word.lastgroup != side
            and any(w.lastgroup == side for w in sides.anywhere.finditer(text, start, end))
        ):
            del m[NEGATED]
    for t in triggers:
        if t.rule.category != NEGATED or t.rule.direction != "backward":
            continue
        word = sides.after.match(text, t.end)
        if word is None or sides.before.search(text, max(0, t.start - 24), t.start):
            continue
        named = word.lastgroup or ""  # (always set: every alternative is a named group)
        for k, m in enumerate(mods):
            field = targets[k][3]
            if field not in _LATERAL_FAMILY:
                continue
            start, end = targets[k][:2]
            if named in ("both", field.split("_", 1)[0]):
                if start < t.start and end >= word.end(named):
                    m.setdefault(NEGATED, t)
            elif m.get(NEGATED) is t:
                del m[NEGATED]


_AND = re.compile(r"\s(?:and|&|as\s+well\s+as|plus)\s")


def _coordinated(low: str, targets: tuple, mods: list, assertions: list) -> None:
    """A hedge before a finding doubts that finding; a graded finding coordinated after it is a
    statement of its own: "possible small protrusion and moderate canal stenosis" (the stenosis
    is definite; "possible mild foraminal and canal stenosis" still doubts both)."""
    for k, m in enumerate(mods):
        t = m.get(POSSIBLE)
        if (
            t is None
            or assertions[k] != "hedged"
            or ALTERNATIVE in m
            or t.rule.direction != "forward"
        ):
            continue
        start, _end, has_grade = targets[k][:3]
        if not has_grade or start < t.end:
            continue
        last = None
        for a in _AND.finditer(low, t.end, start):
            last = a.start()
        if last is not None and any(t.end <= o[0] and o[1] <= last for o in targets):
            assertions[k] = "affirmed"


# A participle ("touching", "contacting"): a root contact phrased as one describes the disc before it
_PARTICIPLE = re.compile(r"[a-z]+ing(?![a-z])")
# What ends a hedged subject: a clause break between it and the hedge after it
_SUBJECT_BREAK = re.compile(r"[.;,:()]|\b(?:and|but|or|with|which|while|whereas)\b")


def _doubted_subject(
    low: str, triggers: list, targets: tuple, mods: list, assertions: list
) -> None:
    """A hedge that doubts its whole subject ("... cannot be excluded") doubts the finding that
    subject names, though farther back than the hedge reaches: the nearest finding before it with
    no clause break between ("a small sequestered fragment inferior to the disc space cannot be
    excluded"), and a disc right before a doubted root contact phrased as its participle ("a tiny
    left foraminal protrusion touching the exiting left L5 root cannot be excluded")."""
    for t in triggers:
        if not t.rule.subject or t.rule.category != POSSIBLE:
            continue
        before = [k for k, tg in enumerate(targets) if tg[1] <= t.start]
        if not before:
            continue
        end = max(targets[k][1] for k in before)
        if _SUBJECT_BREAK.search(low, end, t.start) is None:
            for k in before:
                if targets[k][1] == end and assertions[k] == "affirmed":
                    assertions[k] = "hedged"
    for k, m in enumerate(mods):
        t = m.get(POSSIBLE)
        start, end, _has_grade, field = targets[k][:4]
        if (
            t is None
            or assertions[k] != "hedged"
            or not t.rule.subject
            or field not in _LATERAL_FAMILY  # where a root contact is labelled
            or t.start < end
            or _PARTICIPLE.match(low, start) is None
        ):
            continue
        for j, (o_start, o_end, _g, o_field, *_rest) in enumerate(targets):
            if (
                o_field == "disc"
                and assertions[j] == "affirmed"
                and o_start < start
                and not low[o_end:start].strip()
            ):
                assertions[j] = "hedged"


def _scoped(low: str, triggers: list, targets: tuple) -> tuple:
    """Per target: does a scope statement ("the remaining disc spaces", "elsewhere") speak of it?

    A target after the cue in the same clause, around it ("the canal is otherwise patent"), or
    just before it with no comma between ("no stenosis at the remaining disc spaces")."""
    cues = [t for t in triggers if t.rule.category == SCOPE]
    if not cues:
        return (False,) * len(targets)
    # (clause numbers by bisection; no nested function: see extract.blanked)
    breaks = [m.start() for m in _CLAUSE_BREAK.finditer(low)]
    out = []
    for a, b, *_ in targets:
        hit = False
        for c in cues:
            if a <= c.start < b:
                hit = True
            elif c.end <= a:
                hit = bisect_right(breaks, c.start) == bisect_right(breaks, a)
            else:
                hit = bisect_right(breaks, b) == bisect_right(breaks, c.start) and (
                    "," not in low[b : c.start]
                )
            if hit:
                break
        out.append(hit)
    return tuple(out)


@Language.factory("radbot_resolver", default_config={"cache_size": DEFAULT_CACHE_SIZE})
def make_resolver(nlp: Language, name: str, cache_size: int) -> StagePipe:
    # Decisions depend on the mentions' signatures (section, tier, assertion ...), not on
    # their text, so novel reports hit this table too.
    decisions = BoundedCache(cache_size)

    def resolver(doc: Doc) -> Doc:
        mentioned: set = set()
        data = extension_data(doc)
        sents: list[extract.Sentence] = data.get(SENTS) or []
        for s in sents:
            if s.section != "other":
                for g in s.levels:
                    if g.kind in ("single", "list"):
                        mentioned |= g.levels
        findings = data.get(FINDINGS) or []
        if any(s.copy_from for s in sents):
            findings = extract.with_copied_findings(findings, sents)
        data[RESULT] = resolve(findings, mentioned, decisions)
        return doc

    return StagePipe(resolver)


class FastTokenizer:
    """A lean whitespace tokenizer (spaCy's rule-less Cython ``Tokenizer``).

    spaCy's default English tokenizer costs more than the whole rule pipeline;
    the labeller works on character offsets, so whitespace-delimited tokens
    are enough. ``doc.text`` always equals the input text.
    """

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self._tok = Tokenizer(vocab)

    def __call__(self, text: str) -> Doc:
        doc = self._tok(text)
        # ``Doc.text`` joins every token again; the components read the input text from here.
        doc.user_data[_TEXT_KEY] = text
        return doc

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        for text in texts:
            yield self(text)

    def to_bytes(self, **kwargs: Any) -> bytes:
        return b""

    def from_bytes(self, data: bytes, **kwargs: Any) -> FastTokenizer:
        return self

    def to_disk(self, path: str | Path, **kwargs: Any) -> None:
        return None

    def from_disk(self, path: str | Path, **kwargs: Any) -> FastTokenizer:
        return self


@registry.tokenizers("radbot_fast_tokenizer.v1")
def create_fast_tokenizer() -> Callable[[Language], FastTokenizer]:
    def make(nlp: Language) -> FastTokenizer:
        return FastTokenizer(nlp.vocab)

    return make


def build_nlp(
    rules_dir: str = "",
    set_sent_starts: bool = True,
    fast_tokenizer: bool = True,
    cache_size: int = DEFAULT_CACHE_SIZE,
) -> Language:
    # spaCy's package import is the slow part (0.5 s): components register with Language only
    import spacy

    # The tokenizer comes from the config: building English's default one (its special
    # cases) only to replace it took a fifth of a second of every labeller start.
    config = (
        {"nlp": {"tokenizer": {"@tokenizers": "radbot_fast_tokenizer.v1"}}}
        if fast_tokenizer
        else {}
    )
    nlp = spacy.blank("en", config=config)
    nlp.add_pipe("radbot_sections", config={"rules_dir": rules_dir})
    nlp.add_pipe(
        "radbot_sentences", config={"rules_dir": rules_dir, "set_sent_starts": set_sent_starts}
    )
    cached = {"rules_dir": rules_dir, "cache_size": cache_size}
    nlp.add_pipe("radbot_levels", config=cached)
    nlp.add_pipe("radbot_findings", config=cached)
    nlp.add_pipe("radbot_context", config=cached)
    nlp.add_pipe("radbot_resolver", config={"cache_size": cache_size})
    return nlp
