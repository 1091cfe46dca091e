"""Rule extraction over report text: sections, sentences, levels, findings.

Pure functions on character offsets, driven by the YAML rule files in
``rules/``. The spaCy components in ``components.py`` call them; keeping the
logic here keeps the components thin and the whole thing fast (one compiled
regex pass per rule family over the document, no per-token Python loops).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from labeling.nlp.fastregex import dispatched, guard, guarded
from labeling.nlp.rulefiles import RuleFiles, load_yaml
from spine.labels import GRADE_RANK, LEVELS, higher_grade

# The rule files ``Rules`` reads.
FINDINGS_FILE = "findings.yaml"
RULES_FILES = (FINDINGS_FILE, "levels.yaml", "sections.yaml")


def _alt(fragments: Iterable[str]) -> str:
    return "|".join(_by_length(fragments))


def _by_length(fragments: Iterable[str]) -> list[str]:
    return sorted(fragments, key=len, reverse=True)


# Characters that text pasted from a word processor or a PDF writes for plain ones, each for one:
# the hyphens and minus signs (U+2010, U+2011, U+2012, U+2212, U+FE63: "L4" + one of them + "5";
# the en and em dashes the rules read as they are) and the full-width forms of the ASCII
# characters (U+FF01 to U+FF5E).
_PLAIN_FORMS = {
    **dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2212\ufe63"), "-"),
    **{code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)},
}


def lower_same_length(text: str) -> str:
    """Lower-case text keeping every character offset (and the plain form of a pasted hyphen or
    full-width character)."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return low.translate(_PLAIN_FORMS)


# --------------------------------------------------------------------------
# Data records


@dataclass(slots=True)
class Sentence:
    start: int
    end: int
    section: str
    levels: list[LevelGroup] = field(default_factory=list)  # the level mentions in it
    inherited: frozenset = frozenset()  # levels carried from the previous sentence
    heading: bool = False
    inherited_tier: str = "specific"  # "range" when the carried mention is a range
    # the levels whose findings this sentence's levels take ("Same as above", levels.yaml
    # ``same_as``), those it does not state itself; their sided findings only when it names no
    # side of its own ("Similar appearance on the left" is not the right side's finding)
    copy_from: frozenset = frozenset()
    copy_sides: bool = True

    # (written out, as for the other records made per sentence: the compiled build compiles
    # this __init__; the one dataclass writes runs interpreted, at a few times the cost)
    def __init__(
        self,
        start: int,
        end: int,
        section: str,
        levels: list[LevelGroup] | None = None,
        inherited: frozenset = frozenset(),
        heading: bool = False,
        inherited_tier: str = "specific",
        copy_from: frozenset = frozenset(),
        copy_sides: bool = True,
    ) -> None:
        self.start = start
        self.end = end
        self.section = section
        self.levels = [] if levels is None else levels
        self.inherited = inherited
        self.heading = heading
        self.inherited_tier = inherited_tier
        self.copy_from = copy_from
        self.copy_sides = copy_sides


@dataclass(slots=True)
class LevelGroup:
    start: int
    end: int
    levels: frozenset
    kind: str  # single | list | range | remaining | all | vague | compare

    # (written out: see SentenceFinding)
    def __init__(self, start: int, end: int, levels: frozenset, kind: str) -> None:
        self.start = start
        self.end = end
        self.levels = levels
        self.kind = kind


@dataclass(slots=True)
class Finding:
    field: str  # disc | canal_stenosis | left_foraminal | ...
    value: str  # bulge/herniation or a grade
    strength: str  # direct | indirect | root
    start: int
    end: int
    sentence: int
    clause: int
    negated_lexically: bool = False  # "foramina are patent"
    has_grade: bool = False
    assertion: str = "affirmed"
    levels: frozenset = frozenset()
    tier: str = ""
    section: str = ""
    sided: bool = True  # False: a foraminal / subarticular finding that names no side (both sides)

    def __init__(
        self,
        field: str,
        value: str,
        strength: str,
        start: int,
        end: int,
        sentence: int,
        clause: int,
        negated_lexically: bool = False,
        has_grade: bool = False,
        assertion: str = "affirmed",
        levels: frozenset = frozenset(),
        tier: str = "",
        section: str = "",
        sided: bool = True,
    ) -> None:
        self.field = field
        self.value = value
        self.strength = strength
        self.start = start
        self.end = end
        self.sentence = sentence
        self.clause = clause
        self.negated_lexically = negated_lexically
        self.has_grade = has_grade
        self.assertion = assertion
        self.levels = levels
        self.tier = tier
        self.section = section
        self.sided = sided


@dataclass(slots=True)
class SentenceFinding:
    """A finding of one sentence, placed: its span from the sentence start and the levels it
    speaks of (what the findings component keeps per sentence text)."""

    field: str
    value: str
    strength: str
    start: int
    end: int
    clause: int
    negated: bool  # lexically
    has_grade: bool
    levels: frozenset
    tier: str
    sided: bool

    # (not frozen, and __init__ written out: see Sentence; a frozen record's fields are set
    # through object.__setattr__, several times slower)
    def __init__(
        self,
        field: str,
        value: str,
        strength: str,
        start: int,
        end: int,
        clause: int,
        negated: bool,
        has_grade: bool,
        levels: frozenset,
        tier: str,
        sided: bool,
    ) -> None:
        self.field = field
        self.value = value
        self.strength = strength
        self.start = start
        self.end = end
        self.clause = clause
        self.negated = negated
        self.has_grade = has_grade
        self.levels = levels
        self.tier = tier
        self.sided = sided


# --------------------------------------------------------------------------
# Rules compiled once


class Rules:
    def __init__(self, rules_dir: str | Path | None = None, *, files: RuleFiles | None = None):
        files = files or RuleFiles.from_dir(rules_dir, RULES_FILES)
        f = load_yaml(files.text("findings.yaml"))
        lv = load_yaml(files.text("levels.yaml"))
        sec = load_yaml(files.text("sections.yaml"))
        self.version = f"findings-{f['version']}/levels-{lv['version']}/sections-{sec['version']}"

        # sections
        self.section_of: dict[str, str] = {}
        for name in ("findings", "impression", "other", "clinic", "imaging"):
            for h in sec[name]:
                self.section_of.setdefault(h, name)
        # A header-like line start (a few words, then a colon or the end of the line); the words
        # are looked up in ``section_of`` (one cheap pass, however many header names).
        self.section_re = re.compile(r"(?im)^" + _SECTION_LINE)
        # ... found by the line break before it (the engine scans for it), or at the start
        self.section_after_break_re = re.compile(r"(?im)\n" + _SECTION_LINE)
        # A findings or impression header run into the text after a full stop ("... are
        # normal. Impression: ...", "INDICATION: back pain. FINDINGS: L4-5: ..." in a report
        # flattened to one line); its group names the section.
        # (dispatched: the engine looks only at blanks, for the blank the header starts with)
        self.inline_header_re = dispatched(
            r"(?<=[.!?])[ \t]+(?:(?P<findings>"
            + _alt(re.escape(h) for h in sec["findings"] if h not in ("report", "body"))
            + ")|(?P<impression>"
            + _alt(re.escape(h) for h in sec["impression"])
            + r"))[ \t]*:"
        )
        self.no_attribution = frozenset(sec["no_attribution"])
        self.clinic_cue_re = re.compile(
            "(?<![a-z])(?:" + "|".join(sec["clinic_cues"]) + ")(?![a-z])"
        )
        self.clinic_cue_keys = tuple(sec["clinic_cue_keys"])
        self.clinical_order_keys = tuple(sec["clinical_sentence"]["order_keys"])
        self.unticked_re = re.compile(sec["unticked_box"])
        source = sec["imaging_source"]
        self.imaging_source_re = re.compile(f"(?<![a-z]){source}(?![a-z])")
        self.attribution_re = guarded(
            "|".join(f"(?:{x.replace('{source}', source)})" for x in sec["attribution"])
        )
        start = sec["attribution_start"].replace("{source}", source)
        # at the sentence start, or at a line start inside it (after an unpunctuated title line)
        self.attribution_start_re = re.compile(start)
        self.attribution_line_re = re.compile(f"\\n[ \\t]*(?:{start})")
        self.prior_imaging_re = re.compile(sec["prior_imaging"].replace("{source}", source))
        cs = sec["clinical_sentence"]
        # one match at the sentence start (after list markers): group "hist" or "lead" (read for
        # which matched only: dispatched on the first character)
        self.clinical_start_re = dispatched(
            r"(?:(?:"
            + _BULLET
            + r"|\(?\d{1,2}[.)])[ \t]*)*(?:(?P<hist>"
            + cs["history"]
            + ")|(?P<lead>"
            + cs["lead"]
            + "))",
            kind_groups=True,
            min_alternatives=2,
        )
        self.clinical_order_re = re.compile(cs["order"])
        self.clinical_words_re = re.compile(sec["clinical_words"])

        # levels
        # (dispatched on the first character: of the groups, "ls" and "oa" start where a match
        # starts, and they are read for whether they matched only; _mention_levels)
        self.level_re = dispatched(
            "(?:"
            + lv["level"]
            + ")|(?P<ls>"
            + lv["lumbosacral"]
            + ")|(?:"
            + lv["outside"]
            + ")|(?:"
            + lv["listhesis"]["pair"]
            + ")",
            kind_groups=True,
            min_alternatives=2,
        )
        self.space_digit_unit_re = re.compile(lv["space_digit_unit"])
        f_disc = _alt([*f["disc"]["bulge"], *f["disc"]["herniation"], "dis[ck]s?"])
        word = lv["listhesis_word"]
        aux = [
            lv["listhesis"]["before"].replace("{word}", word),
            lv["vertebra_disc"]["before"],
            lv["vertebra_disc"]["at"].replace("{disc}", f_disc),
            lv["listhesis"]["of"].replace("{word}", word),
            lv["listhesis"]["verb"].replace("{word}", word),
            lv["vertebra_disc"]["after"].replace("{disc}", f_disc),
            lv["vertebra_disc"]["below"],
            lv["vertebra_disc"]["above"],
        ]
        # Single-vertebra mentions (listhesis, disc at a vertebra); the level is the disc below.
        self.vertebra_re = guarded("(?<![a-z])(?:" + "|".join(f"(?:{x})" for x in aux) + ")")
        self.anaphora_re = re.compile(lv["anaphora"])
        self.ordinal_re = re.compile(lv["ordinal_anaphora"])
        self.same_as_re = re.compile(lv["same_as"])
        self.same_as_study_re = re.compile(lv["same_as_study"])
        self.same_as_keys = tuple(lv["same_as_keys"])
        self.bare_re = re.compile(lv["bare_continuation"])
        self.range_re = re.compile(lv["range_joiner"])
        # matched right before a mention (its end at the mention's start)
        self.compare_re = re.compile("(?:" + lv["comparison"] + r")\s*$")
        self.exception_re = re.compile(lv["exception"])
        self.relative_after_exception_re = re.compile(lv["relative_after_exception"])
        self.list_re = re.compile(lv["list_joiner"])
        self.own_value_re = re.compile(lv["own_value"])
        self.own_value_before_re = re.compile(lv["own_value_before"])
        # a table's header row: at the text's start, or found by the line break before it
        table_head = r"[ \t|]*(?:" + lv["table_level_column"] + r")[ \t]*(?:\||\t| {2})"
        self.table_header_start_re = re.compile(table_head)
        self.table_header_re = re.compile("\n" + table_head)
        # One group per kind, each behind its first-letter guard, and one word-start check for
        # all of them; dispatched below on the first character (which the guards only speed up
        # where the dispatch cannot be made: fastregex.dispatched).
        gparts = [
            guard(
                f"(?P<{kind}>"
                + "|".join(f"(?:{frag})(?![a-z])" for frag in _by_length(lv["global"][kind]))
                + ")"
            )
            for kind in ("remaining", "all", "vague")
        ]
        self.global_re = dispatched(
            "(?<![a-z])(?:" + "|".join(gparts) + ")", kind_groups=True, min_alternatives=2
        )

        # findings tokens
        self.exclusion_re = dispatched(
            "|".join(f"(?:{x})" for x in f["exclusions"]), min_alternatives=2
        )
        g_all = []
        self.grade_words = []
        for grade in ("mild", "moderate", "severe"):
            for w in f["grades"][grade]:
                g_all.append(w)
                self.grade_words.append((re.compile(rf"(?<![a-z]){w}(?![a-z])"), grade))
        for w in f["weak_grades"]:
            self.grade_words.append((re.compile(rf"(?<![a-z]){w}(?![a-z])"), "mild"))
        self.grade_cache: dict[str, str] = {}  # grade item text -> grade
        g = _alt(g_all)
        joiners = "|".join([r"\s*-\s*to\s*-\s*", *f["grade_range_joiners"]])
        # A list of grades closed by "or" is one grade item, so that its commas split no
        # clause: "no mild, moderate or severe stenosis" (a negation reaches past the commas).
        # (one match of the first grade, then the list's rest or a range's: the alternation of
        # grade words is the costly part of the pattern)
        grade_list = rf"(?:\s*,\s*(?:{g}))+\s*,?\s+or\s+(?:{g})"
        grade_pat = rf"(?:{g})(?:{grade_list}|(?:{joiners})(?:{g}))?"
        self.grade_word_re = re.compile(rf"(?<![a-z])(?:{g})(?![a-z])")
        self.prior_before_re = re.compile(f["prior_grade"]["before"])
        self.prior_after_re = re.compile(f["prior_grade"]["after"])
        self.prior_seen_before_re = re.compile(f["prior_grade"]["seen_before"])
        self.now_re = re.compile(f["prior_grade"]["now"])
        self.superlative_before_re = re.compile(f["superlative_grade_before"])
        self.hedge_before_grade_re = dispatched(f["hedged_grade_before"])
        self.lesser_before_re = re.compile(f["lesser_degree"]["before"])
        self.lesser_after_re = re.compile(f["lesser_degree"]["after"])
        # (searched for in every sentence with a graded finding: dispatched, the engine scans
        # for its first character instead of trying a match at every one)
        self.respectively_re = dispatched(f["respectively"])
        self.restated_stenosis_re = re.compile(f["restated_stenosis"])
        self.pronoun_object_re = re.compile(f["pronoun_object"])
        self.bare_root_gap_re = re.compile(f["bare_root_gap"])
        parts = []

        def add(kind: str, frags: Iterable[str]) -> None:
            # (guarded: a group the word's first character cannot start is skipped at once)
            parts.append(guard(f"(?P<{kind}>(?:{_alt(frags)})(?![a-z0-9]))"))

        add("side_both", f["sides"]["both"])
        add("grade", [grade_pat])
        add("grade_weak", f["weak_grades"])
        for place, frags in f.get("place_stenosis", {}).items():
            add(f"ps_{place}", frags)  # "ccs": split into the place and its stenosis
        add("loc_subarticular", f["locations"]["subarticular"])
        add("loc_foramen", f["locations"]["foramen"])
        add("loc_canal", f["locations"]["canal"])
        add("disc_bulge", f["disc"]["bulge"])
        add("disc_herniation", f["disc"]["herniation"])
        add("disc_part", f["disc"]["part"])
        # (mass effect before contact: "mass effect on the thecal sac" presses the sac in, while
        # "mass effect on the root" is a root's contact)
        add("core_mass", f["cores"]["mass_effect"])
        add("core_contact", f["cores"]["contact"])
        add("core_stenosis", f["cores"]["stenosis"])
        add("core_patent", f["cores"]["patent"])
        add("other", f["other_findings"])
        add("intradural", f["intradural"])
        add("qual_exiting", f["root_qualifiers"]["exiting"])
        add("qual_traversing", f["root_qualifiers"]["traversing"])
        add("root", [f["nerve_root"]])
        parts.append(guard(r"(?P<rootnum>(?<![/\-–])(?:l[1-5]|s[12])(?![a-z0-9/\-–]))"))
        # a bare side letter before what has a side ("L paracentral HNP", "mod L and mild R NF")
        sl = f["side_letters"]
        before = (
            rf"(?:(?:{_alt(g_all + f['weak_grades'])})\s+)?(?:{_alt(sl['before'])})(?![a-z0-9])"
        )
        letters = {"left": sl["left"], "right": sl["right"]}
        # ... or a letter given its own grade at the end of a statement ("NF narrowing mild L, mod R",
        # "NF: L mild, R mod")
        # (or the other side's letter: "NFS L mild R mild", "Foramina: L mild / R none")
        end = (
            r"(?:\s*(?:[,.;)/]|$)|\s+(?:and|&)(?![a-z])|\s+(?:"
            + letters["left"]
            + "|"
            + letters["right"]
            + r")(?=\s))"
        )

        def graded(x: str) -> str:  # the letter first: one character test before any look-behind
            return (
                rf"{x}(?:" + "|".join(f"(?<={re.escape(w)} {x})" for w in sl["after_grades"]) + ")"
            )

        none_values = [*f["place_none_values"], "patent", "normal"]
        # a side's value: a grade, a range ("mild-moderate", "moderate to severe") or a clear place
        value = rf"(?:{_alt(g_all + none_values)})(?:(?:\s*[-\u2013\u2014]\s*|\s+to\s+)(?:{_alt(g_all)}))?"
        narrowed = r"(?:\s+(?:narrow(?:ed|ing)|stenos[ie]s|stenotic))?"
        for side, other in (("left", "right"), ("right", "left")):
            x, y = letters[side], letters[other]
            letter = (
                rf"{x}(?=[\s-]+{before}|(?:\s+(?:and|&)\s+|\s*/\s*)(?:[a-z]+\s+)?{y}\s+{before})"
            )
            add(
                f"side_{side}",
                [
                    *f["sides"][side],
                    letter,
                    rf"{graded(x)}(?={end})",
                    # ... or its own value after it, a grade or a clear place ("NF: R none, L
                    # mild", "Foramina: L, moderate; R, none", "NF: L mildly narrowed, R patent")
                    # (a range is one value: "NF: R moderate, L mild-moderate")
                    rf"{x}(?=(?:\s*[,:=]\s*|\s+){value}{narrowed}{end})",
                ],
            )
        # a sentence of a side and its value only ("No foraminal stenosis on the left. Mild on the
        # right.", "Foraminal stenosis. Left: mild. Right: moderate.", "The right is severe.", "It
        # is moderate."): it goes on the sentence before, whose place it grades
        side = _alt([*f["sides"]["left"], *f["sides"]["right"], sl["left"], sl["right"]])
        on_side = rf"(?:on\s+(?:the\s+)?)?(?:{side})(?:\s+sides?)?"
        same = r"(?:(?:the\s+)?same|similar(?:ly)?|likewise)"  # ("Similar on the right.")
        side_is = (
            rf"(?:(?:the\s+)?(?:{side})(?:\s+(?:one|side))?|it)\s+(?:is|was|appears)\s+(?:also\s+)?"
        )
        self.side_value_sentence_re = dispatched(  # (matched at each full stop)
            rf"(?:{on_side}\s*[:,=-]?\s*{value}|(?:{value}|{same})\s+{on_side}|{side_is}{value})"
            r"(?![a-z0-9])(?=\s*(?:[.;]|$))",
            min_alternatives=2,
        )
        # a side and its value after a colon, an opening bracket or a dash ("Bilateral foraminal
        # stenosis: left moderate, right mild"): sentence_findings cuts a clause there
        self.side_pair_opening_re = re.compile(
            rf"[:(\-\u2013\u2014](?=\s*(?:(?:{side})\s*[:,=]?\s*{value}|{value}\s+(?:{side}))"
            r"(?![a-z0-9]))"
        )
        self.lateral_place_re = re.compile(
            rf"(?<![a-z0-9])(?:{_alt([*f['locations']['foramen'], *f['locations']['subarticular']])})"
            r"(?![a-z0-9])"
        )
        self.canal_place_re = re.compile(
            rf"(?<![a-z0-9])(?:{_alt(f['locations']['canal'])})(?![a-z0-9])"
        )
        # literal punctuation ("->", "+") is found anywhere; word separators at a word start
        word_seps = [x for x in f["clause_separators"] if x[:1].isalpha() or x[:1] == "\\"]
        punct_seps = [x for x in f["clause_separators"] if not (x[:1].isalpha() or x[:1] == "\\")]
        parts.append(guard("(?P<sep>" + "|".join(f"(?:{x})" for x in word_seps) + ")"))
        # One word-start check, then the alternatives (fast path for mid-word positions),
        # dispatched on the word's first character (fastregex.dispatched: a named group here
        # only names the kind of item).
        self.item_re = dispatched(
            "(?P<psep>"
            + "|".join(re.escape(x) for x in punct_seps)
            + ")|(?<![a-z0-9])(?:"
            + "|".join(parts)
            + ")",
            kind_groups=True,
            # (the alternations after the first character dispatched on the second from three
            # alternatives on: 10% faster than from eight on bench/labeller.py's sentences)
            min_alternatives=3,
        )

        dd = f["disc_direction"]
        ant = _alt(dd["anterior"])
        post = _alt(dd["posterior"])
        # an anterior word that describes the disc, not the thecal sac or a vertebra
        self.anterior_re = re.compile(rf"(?<![a-z])(?:{ant})(?![a-z])(?!{dd['not_disc']})")
        self.posterior_re = re.compile(rf"(?<![a-z-])(?:{post})(?![a-z])")
        # "bulges anteriorly (and posteriorly)" after the disc word
        self.anterior_after_re = re.compile(
            rf"(?:\s+(?:extend|project|direct|orient|point)[a-z]*)?\s*(?:{ant})(?![a-z])"
            rf"(?P<post>(?:\s*(?:,|and|&|/|or)\s*|\s+)(?:{post})(?![a-z]))?"
        )
        # words between a grade and the finding it modifies ("small amount of ... narrowing")
        self.weak_gap_re = re.compile(
            r"(?:[\s-]+|(?<![a-z])(?:amount|degree|of|the|a|an|central|spinal)(?![a-z]))*"
        )
        self.grade_clause_words = frozenset(f["grade_clause_words"].split())
        # the one-word direction words of a disc ("central", "paracentral", "foraminal" ...)
        self.disc_direction_words = frozenset(
            w for w in f["disc_direction"]["posterior"] if w.isalpha()
        )
        self.place_none_re = re.compile(
            "(?<![a-z])(?:" + "|".join(map(re.escape, f["place_none_values"])) + ")(?![a-z])"
        )
        # any side word ("similar appearance on the left" names a side)
        self.side_word_re = re.compile(
            "(?<![a-z])(?:"
            + "|".join(f["sides"]["both"] + f["sides"]["left"] + f["sides"]["right"])
            + ")(?![a-z])"
        )
        # a side given "none" right after it, a value of its own ("left none right mild")
        self.side_none_re = re.compile(
            r"\s+(?:" + "|".join(map(re.escape, f["place_none_values"])) + ")(?![a-z])"
        )
        self.modifier_gap_re = re.compile(
            r"[,;]|(?<![a-z])(?:on|in|at|of|to|due|from|with|and|or|by|than)(?![a-z])"
        )

        # sentence boundaries: every one but the last starts at a blank, and the last (no space
        # after a full stop) follows a "." "?" or "!"; the two checks in front let the engine
        # leave every other position after two tests instead of five look-behinds
        blank = (
            r"\n[ \t]*\n"
            r"|\n(?=[ \t]*(?:" + _BULLET + r"|\d{1,2}[.)][ \t]|" + _LEVEL_HEAD + r"[^\n]{0,25}:"
            r"|[a-z][a-z /]{1,40}:))"
            r"|(?<=[.;:?!])[ \t]*\n"
            # a dictated line that starts with a level, after a line with no end punctuation
            # ("L2 3 mild central canal stenosis" / "L3 4 moderate ..."), unless that line
            # breaks off where the sentence must go on ("... most marked at" / "L4-5")
            + r"|\n"
            + _UNPUNCTUATED_LINE_END
            + r"(?=[ \t]*"
            + _LEVEL_HEAD
            + r"[ \t.]+(?:[-–—][ \t]+)?(?:[a-z0-9]|"
            + _CHECKBOX
            + "))"
            # (a "?" before a word opens a hedged sentence: "No CCS. ? mild L NF narrowing.")
            r"|(?:(?<=[.!])|(?<=[^\s]\?))[ \t]+(?=[\"'(\[]?[a-z0-9]|\?[ \t]*[a-z0-9])"
        )
        # ... and the last: no space after the full stop ("stenosis.Mild ...", "recess.A small";
        # not "e.g.", "2.5", "L5.S1")
        self.boundary_re = re.compile(
            r"(?=[\n \t])(?:" + blank + r")|(?<=[.?!])" + _AFTER_A_WORD_STOP
        )
        # split_sentences looks for the two kinds apart, each with a first character the
        # engine can scan for (a blank; the stop, consumed, the boundary at its end): the same
        # boundaries as boundary_re's (a test holds them to it), found without trying a match
        # at every character
        self.blank_boundary_re = dispatched(blank, min_alternatives=2)
        self.stop_boundary_re = re.compile("[.?!]" + _AFTER_A_WORD_STOP)


# A line that may be a section header: a few words, then a colon or the line's end
_SECTION_LINE = r"[ \t]*(?:[#*]+[ \t]*)?([a-z][a-z /&'-]{0,45}?)[ \t]*(?::|[ \t]*$)"

# A sentence boundary with no blank, after a full stop (or "?", "!"): the stop ends a word and a
# word follows
_AFTER_A_WORD_STOP = r"(?:(?<=[a-z][a-z][.?!])|(?<=[a-z][.?!][.?!]))(?=[a-z][a-z0-9 \t])"

# A list bullet; a letter "o" followed by a space is one too (plain-text exports of "◦" lists).
# A box of a structured template, ticked or not: "[x] bulge", "[ ] protrusion", "☒ stenosis".
_CHECKBOX = r"(?:\[[ \tx✓✔]?\]|[☐☑☒])"
_BULLET = r"(?:[-*•·]|o(?=[ \t])|" + _CHECKBOX + ")"

# A line that starts with a level ("L4-5:", "L4 to L5:", "T12-L1:"): a new sentence, and the
# end of an inline clinical section ("HISTORY: back pain" then "L4-5: ...").
_LEVEL_HEAD = (
    r"(?:l-?\s?[1-5](?:\s*(?:-|–|—|/)\s*|\s+(?:to|through)\s+|\s*)(?:l-?\s?[1-6]|s\s?[1l]|[1-6])"
    r"|t-?\s?1[0-2]\s*(?:-|–|—|/)\s*(?:t-?\s?1[0-2]|l-?\s?1|1[0-2]))\b"
)


# After a line break: the line ended, with no full stop, in a word that is not a preposition,
# conjunction or article. (The checks look back from after the line break, so the regex tries
# them only at line breaks; each look-behind is fixed-width.)
_CONTINUING = (
    "at",
    "of",
    "to",
    "in",
    "on",
    "or",
    "by",
    "and",
    "the",
    "for",
    "from",
    "with",
    "than",
    "into",
    "both",
    "between",
    "through",
    "involving",
    "including",
)
_UNPUNCTUATED_LINE_END = r"(?<=[a-z0-9]\n)" + "".join(rf"(?<!\b{w}\n)" for w in _CONTINUING)


@lru_cache(maxsize=4)
def get_rules(rules_dir: str | None = None) -> Rules:
    return rules_for(RuleFiles.from_dir(rules_dir, RULES_FILES))


@lru_cache(maxsize=4)
def rules_for(files: RuleFiles) -> Rules:
    """Compiled rules, shared by the components built from the same files."""
    return Rules(files=files)


# --------------------------------------------------------------------------
# Sections and sentences

_ABBREV = re.compile(
    r"(?:\be\.g|\bi\.e|\bvs|\bapprox|\bprev|\bdr|\bcf|\bfig|\bno|\bmr|\bmrs|\bst|\blt|\brt|\bbil)\.$"
)
_NUMBER_ONLY = re.compile(r"^\s*(?:\(?\d{1,2}[.)]|" + _BULLET + r")?\s*\d{1,2}[.)]?$")


# A grade's short form with its full stop ("mod.", "sev."): the grade, not a sentence's end,
# where a place, a side or a stenosis word follows ("Level L4/5 - mod. canal stenosis").
_GRADE_ABBREV = re.compile(r"(?<![a-z])(?:mod|sev)\.$")
_GRADED_KINDS = ("loc_", "core_", "side_", "ps_")


def _grades_what_follows(low: str, cur: int, ms: int, nxt: int, rules: Rules) -> bool:
    if _GRADE_ABBREV.search(low, max(cur, ms - 4), ms) is None:  # ("mod." or "sev.")
        return False
    item = rules.item_re.match(low, nxt)
    return item is not None and (item.lastgroup or "").startswith(_GRADED_KINDS)


def _side_value_follows(low: str, cur: int, ms: int, nxt: int, rules: Rules) -> bool:
    """Whether the sentence at ``nxt`` is a side's (or "it"'s) value that grades a place of the
    sentence ``low[cur:ms]``: a foramen or recess, or for "it" the canal too ("There is central
    canal stenosis. It is moderate.")."""
    if rules.side_value_sentence_re.match(low, nxt) is None:
        return False
    if rules.lateral_place_re.search(low, cur, ms) is not None:
        return True
    return low.startswith("it ", nxt) and rules.canal_place_re.search(low, cur, ms) is not None


_BLANK_LINE = re.compile(r"\n[ \t]*\n")
# (a heading is "L4-5:", or a level and a spaced dash: "L4/5 - 11 mm synovial cyst ...")
_LEVEL_HEAD_START = re.compile(
    r"(?:(?:"
    + _BULLET
    + r"|\d{1,2}[.)])[ \t]*)?"
    + _LEVEL_HEAD
    + r"(?:[^\n]{0,25}:|[ \t]+[-–—][ \t])"
)
# A sentence that opens with a level and a reporting verb describes the imaging, in a clinic
# letter too ("L3/4 shows mild central stenosis.", "The L4-5 disc shows a mild bulge.").
_REPORTING_VERB = (
    r"(?:shows?|showed|demonstrates?|demonstrated|reveals?|revealed|describes?|described|"
    r"reports?|reported|notes?|noted|confirms?|confirmed)"
)
_LEVEL_REPORT_START = re.compile(
    r"(?:at\s+|the\s+)?" + _LEVEL_HEAD + r"(?:\s+(?:level|dis[ck]|interspace))?,?\s+"
    r"(?:" + _REPORTING_VERB + r"|has|had|is|was|there\s+is|there\s+was)(?![a-z])"
)
# ... and so does one whose subject is a pronoun for the imaging named in the sentence before
# it ("He brought the report of his MRI. It describes a left protrusion at L5-S1.").
_PRONOUN_REPORT_START = re.compile(
    r"(?:it|this|they|these)\s+(?:also\s+)?" + _REPORTING_VERB + r"(?![a-z])"
)
_ITEM_MARK = r"(?:" + _BULLET + r"|\(?\d{1,2}[.)])"
_ITEM = re.compile(_ITEM_MARK + r"(?=[ \t]|$)")
_ITEM_FIRST = frozenset("-*•·o(0123456789[☐☑☒")
_ITEM_LINE = re.compile(r"[ \t]*" + _ITEM_MARK + r"[ \t]")
_LABEL_LINE = re.compile(r"[ \t]*[a-z][a-z /-]{1,40}:")
_HEAD_LINE = re.compile(
    r"\n[ \t]*(?:(?:"
    + _BULLET
    + r"|\d{1,2}[.)])[ \t]*)?"
    + _LEVEL_HEAD
    + r"(?:[^\n]{0,25}:|[ \t]+[-–—][ \t])"
)


# Nothing but the level after it: "L4-5:", "L4-L5 level:", "L5-S1 disc -" (a level heading).
HEADING_ONLY = re.compile(r"[\s:.\-–—]*(?:(?:level|dis[ck]|interspace|segment)[\s:.\-–—]*)?$")


def paragraph_break(low: str, prev_end: int, start: int) -> str:
    """How the sentence at ``start`` relates to the one ending at ``prev_end``: ``"blank"``
    (a blank line between them), ``"item"`` (it opens a numbered or bulleted item, each a
    paragraph of its own) or ``""`` (same paragraph)."""
    if low.count("\n", prev_end, start) > 1 and _BLANK_LINE.search(low, prev_end, start):
        return "blank"
    if low[start : start + 1] in _ITEM_FIRST and _ITEM.match(low, start):
        return "item"
    return ""


# (Module functions rather than lambdas: in the compiled build a function holding a lambda
# makes a closure object on every call.)
def blanked(match: re.Match) -> str:
    """Spaces as long as the match: text masked out, its offsets kept."""
    return " " * len(match.group())


def _start_of(group: LevelGroup) -> int:
    return group.start


def _end_of(item: Item) -> int:
    return item.end


def blank_unticked(low: str, rules: Rules) -> str:
    """``low`` with the text of unticked template boxes blanked and table cells ("|") read as
    separate statements (";"), offsets kept."""
    if "|" in low:
        low = low.replace("|", ";")
    if "[" not in low and "☐" not in low:
        return low
    return rules.unticked_re.sub(blanked, low)


def section_lines(low: str, rules: Rules) -> list[tuple[int, int, str]]:
    """(start, end, words) of each match of ``rules.section_re`` in ``low``, in order: found
    at the text's start and after each line break (the engine scans for the break)."""
    out = []
    first = rules.section_re.match(low)
    if first is not None:
        out.append((first.start(), first.end(), first.group(1)))
    for m in rules.section_after_break_re.finditer(low):
        out.append((m.start() + 1, m.end(), m.group(1)))
    return out


def find_sections(low: str, rules: Rules) -> list[tuple[int, int, str]]:
    """Sections as (start, end, name); name is findings, impression, other or clinical.

    A clinical section (history, indication, technique ...) ends at the end of its header line
    when the text there ends a sentence ("HISTORY: Back pain."), else at its first blank line
    after some text or at a line that starts with a level ("HISTORY: back pain" then "L4-5:
    ..."); the text after it belongs to the findings in a report with no FINDINGS header.

    A document with clinic-note headers (HPI, PLAN, PHYSICAL EXAMINATION ...) or letter wording
    ("Dear Dr", "I saw ...") is a clinic note: only its imaging sections (IMAGING, MRI ...; a
    FINDINGS / IMPRESSION pair quoted from the radiology report) are findings; the rest is
    ``clinical``, where ``split_sentences`` keeps only the sentences that report the imaging.
    """
    heads = []
    for start, end, words in section_lines(low, rules):
        header = " ".join(words.split())
        cls = rules.section_of.get(header)
        if cls is not None:
            heads.append((start, end, cls, header))
    if ":" in low:
        run_in: list[tuple[int, int, str, str]] = []
        for m in rules.inline_header_re.finditer(low):
            name: str = m.lastgroup  # type: ignore[assignment]  # only named alternatives
            run_in.append((m.start(name), m.end(), name, m.group(name)))
        if run_in:
            heads = sorted(heads + run_in)
    clinic = any(h[2] == "clinic" for h in heads) or (
        any(k in low for k in rules.clinic_cue_keys) and rules.clinic_cue_re.search(low) is not None
    )
    if not heads:
        return [(0, len(low), "clinical" if clinic else "findings")]
    has_findings = any(h[2] == "findings" for h in heads)
    rest = "clinical" if clinic else ("other" if has_findings else "findings")
    out = []
    if heads[0][0] > 0:
        # Text before the first header: a title or a headerless findings block.
        out.append((0, heads[0][0], rest if heads[0][2] != "findings" or clinic else "other"))
    seen_findings = False
    for i, (_s, e, cls, header) in enumerate(heads):
        end = heads[i + 1][0] if i + 1 < len(heads) else len(low)
        if cls in ("findings", "imaging"):
            # a quoted radiology report (FINDINGS then IMPRESSION) keeps its impression
            seen_findings = seen_findings or cls == "findings"
            name = "findings"
        elif cls == "impression":
            name = "impression" if not clinic or seen_findings else "clinical"
        else:  # other, clinic
            name = "clinical" if clinic and header not in rules.no_attribution else "other"
        cut = end
        if cls in ("other", "clinic") or (clinic and cls == "imaging"):
            nl = low.find("\n", e, end)
            line = low[e : end if nl < 0 else nl].strip()
            inline = bool(line)
            if (
                inline
                and nl >= 0
                and (
                    line[-1] in ".?!"
                    or _LABEL_LINE.match(low, nl + 1, end)
                    or _ITEM_LINE.match(low, nl + 1, end)
                )
            ):
                # "HISTORY: Back pain." a one-line section (a wrapped one goes on), or one whose
                # next line opens a labelled paragraph ("INDICATION: polytrauma" / "LUMBAR: ...")
                # or a list ("hx: claudication" / "- 6 mm anterolisthesis L3 on L4 ...")
                cut = nl
            elif inline or cls != "imaging":
                body = low[e:end]
                blank = _BLANK_LINE.search(low, e + len(body) - len(body.lstrip()), end)
                if blank:
                    cut = blank.start()
            if cls != "imaging":
                h = _HEAD_LINE.search(low, e, cut)
                if h:
                    cut = h.start()
        out.append((e, cut, name))
        if cut < end:
            out.append((cut, end, rest))
    return out


def _clinical(low: str, a: int, b: int, rules: Rules, orders: list[int], lead: bool = True) -> bool:
    """The sentence low[a:b] states history, indication or an order, not an imaging finding.

    ``orders``: the sorted positions of ``clinical_order_re`` matches in the section."""
    m = rules.clinical_start_re.match(low, a, b)
    if m and (lead or m.group("hist") is not None):
        return True
    if orders:
        k = bisect_right(orders, a - 1)
        return k < len(orders) and orders[k] < b
    return False


# Where a clause starts inside a sentence (before its first word).
_CLAUSE_START = re.compile(r"[,;:]\s*|\s+(?:and|but|although|though|whereas|which|while|as)\s+")
# Clinical words that do not make a clause clinical by themselves ("the level above her previous
# decompression").
_POSSESSIVES = frozenset(("his", "her", "their", "our"))


def _clinical_tail(low: str, a: int, b: int, rules: Rules) -> int | None:
    """Where the clinical part of an imaging paragraph's sentence low[a:b] starts: ``b`` when it
    has none, the start of the clause that holds its first clinical word when an imaging clause
    of three words or more comes before it, else None (the sentence is clinical)."""
    first = next(
        (
            m.start()
            for m in rules.clinical_words_re.finditer(low, a, b)
            if m.group() not in _POSSESSIVES
        ),
        None,
    )
    if first is None:
        return b
    cut = None
    for m in _CLAUSE_START.finditer(low, a, first):
        cut = m.start()
    if cut is None or len(low[a:cut].split()) < 3:
        return None
    return cut


def _boundaries(low: str, s0: int, s1: int, rules: Rules) -> list[tuple[int, int]]:
    """The spans of ``rules.boundary_re``'s matches in ``low[s0:s1]``, in order."""
    spans = [m.span() for m in rules.blank_boundary_re.finditer(low, s0, s1)]
    # (a stop just before s0 may end a word before a boundary at s0: boundary_re looks behind)
    stops = [m.end() for m in rules.stop_boundary_re.finditer(low, max(s0 - 1, 0), s1)]
    if stops:
        spans += [(p, p) for p in stops]
        spans.sort()
    return spans


def split_sentences(
    low: str, sections: Iterable[tuple[int, int, str]], rules: Rules
) -> list[Sentence]:
    sents: list[Sentence] = []
    ws = " \t\r\n"
    # (an order needs one of these words somewhere in the report: asked once, not per section)
    may_order = any(k in low for k in rules.clinical_order_keys)
    for s0, s1, name in sections:
        cur = s0
        cuts = []
        for ms, me in _boundaries(low, s0, s1, rules):
            # ". " boundary: skip abbreviations and bare list numbers.
            if (
                low[ms:me].strip(" \t") == ""
                and low[ms - 1 : ms] in ".?!"
                and (
                    _NUMBER_ONLY.match(low[cur:ms])
                    # (an abbreviation is at most 7 characters, and a word boundary before it)
                    or _ABBREV.search(low[max(cur, ms - 8) : ms])
                    or _grades_what_follows(low, cur, ms, me, rules)
                    or _side_value_follows(low, cur, ms, me, rules)
                )
            ):
                continue
            cuts.append((cur, ms))
            cur = me
        cuts.append((cur, s1))
        orders = (
            [m.start() for m in rules.clinical_order_re.finditer(low, s0, s1)]
            if name != "other" and may_order
            else []
        )
        attributed = False  # clinical section: the paragraph reports the imaging so far
        listed = False  # ... and it opened a list ("the radiologist's impression:" then "1. ...")
        named_source = False  # the sentence before, in this paragraph, named the imaging
        prev_end = s0
        for a, b in cuts:
            seg = low[a:b]
            body = seg.lstrip(ws)
            if not body:
                continue
            a += len(seg) - len(body)
            b = a + len(body.rstrip(ws))
            sec = name
            if name == "clinical":
                brk = paragraph_break(low, prev_end, a)
                if brk and not (
                    attributed and (_LEVEL_HEAD_START.match(low, a) or (listed and brk == "item"))
                ):
                    # (a report's level lines, or the items of a list it introduced, go on)
                    attributed = listed = False
                if brk:
                    named_source = False
                # reports the imaging: "MRI of [date] shows ...", "Imaging: ...", or a report's
                # per-level line ("L4-5: ...", radiology wording a clinician only quotes)
                if (
                    rules.attribution_re.search(low, a, b)
                    or rules.attribution_start_re.match(low, a, b)
                    or rules.attribution_line_re.search(low, a, b)
                    or _LEVEL_HEAD_START.match(low, a, b)
                    or _LEVEL_REPORT_START.match(low, a, b)
                    or (named_source and _PRONOUN_REPORT_START.match(low, a, b))
                ):
                    attributed = not (
                        _clinical(low, a, b, rules, orders, lead=False)
                        or rules.prior_imaging_re.search(low, a, b)
                    )
                    listed = attributed and low[b - 1] == ":"
                elif attributed and _clinical(low, a, b, rules, orders):
                    attributed = False
                elif attributed:
                    cut = _clinical_tail(low, a, b, rules)
                    if cut is None:
                        attributed = False
                    elif cut < b:
                        # "At L3/4 there is now severe canal stenosis and I suspect this is the source
                        # of her symptoms": the imaging clause counts, the opinion after it does not
                        # (and the paragraph goes on reporting the imaging)
                        sents.append(Sentence(a, cut, "findings"))
                        sents.append(
                            Sentence(
                                cut + len(low[cut:b]) - len(low[cut:b].lstrip(" \t\r\n,;:")),
                                b,
                                "other",
                            )
                        )
                        prev_end = b
                        continue
                named_source = rules.imaging_source_re.search(low, a, b) is not None
                sec = "findings" if attributed else "other"
            elif name != "other" and _clinical(low, a, b, rules, orders):
                sec = "other"
            sents.append(Sentence(a, b, sec))
            prev_end = b
    return sents


# --------------------------------------------------------------------------
# Levels

_LEVEL_INDEX = {lvl: i for i, lvl in enumerate(LEVELS)}


# Positions on the spine of the disc between two bodies: L1-L2 = 0 ... L5-S1 = 4; T12-L1 = -1,
# T11-T12 = -2 ...; S1-S2 (and a transitional L5-L6) = 5; cervical discs far above.
_CERVICAL = -40


def _span_levels(lo: int, hi: int) -> frozenset:
    return frozenset(LEVELS[max(lo, 0) : min(hi, 4) + 1]) if lo <= 4 and hi >= 0 else frozenset()


def _mention_levels(m: re.Match, low: str, rules: Rules) -> tuple[int, int] | None:
    """Disc positions (lo, hi) of one ``level_re`` match, or None when it is no level."""
    g = m.groupdict()
    # ("ls" and "oa" start where the match starts: read for whether they matched; Rules.level_re)
    if g["ls"] is not None:
        return 4, 4
    if g["oa"] is not None:  # listhesis "L4 on L5"
        a = int(g["la"])
        b = 6 if g["lbs"] else int(g["lb"])
        return (a - 1, a - 1) if b == a + 1 else None
    if g["a"] is None:  # outside the schema
        if g["t12"]:
            return -1, -1
        if g["ta"]:
            ta, tb = int(g["ta"]), int(g["tb"])
            return (ta - 13, tb - 14) if tb > ta else None
        if g["sa"]:
            sa, sb = int(g["sa"]), int(g["sb"])
            return (sa + 4, sb + 3) if sb > sa else None
        return _CERVICAL, _CERVICAL
    a = int(g["a"])
    s1 = g["bs"] is not None
    b = 6 if s1 else int(g["b"] or g["bd"])
    if (
        g["bd"]
        and (g["sp"] is not None or g["to"])
        and rules.space_digit_unit_re.match(low, m.end())
    ):
        return None  # "L4 5 mm", "from L4 to 5 mm": a measurement
    if g["sp"] is not None and (b != a + 1 or (a == 5 and not s1)):
        return None  # "L4 5", "L4 L5", "L5 S1": adjacent bodies only
    if g["dash"] is not None and a == 5 and g["bd"] == "1":
        return 4, 4  # L5-1
    if b <= a:
        return None
    if b == 6 and not s1:
        return 5, 5  # L5-L6 (transitional) and similar: outside the schema
    return a - 1, b - 2


def _vertebra_level(m: re.Match) -> tuple[int, int, int, int]:
    """(start, end, lo, hi) of a single-vertebra mention: the disc below the vertebra."""
    name = next(
        k for k in ("oa", "ld", "va", "vc", "lc", "lv", "vb", "vd", "vu") if m.groupdict().get(k)
    )
    v = int(m.group(name)[-1])
    disc = v - 2 if name == "vu" else v - 1  # (the disc above a vertebra is the one below the last)
    return m.start(name), m.end(name), disc, disc


# The vertebra of every single-vertebra mention (levels.yaml: the groups of vertebra_re; a test
# holds the rule files to it)
_VERTEBRA_NAME = re.compile(r"l(?=-?\s?[1-5])")


def _names_a_vertebra_outside(low: str, start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    """Whether ``low[start:end]`` names a vertebra outside the spans ``taken`` (a vertebra
    mention that overlaps a pair mention is none: only such a name makes the single-vertebra
    mentions worth looking for)."""
    v = _VERTEBRA_NAME.search(low, start, end)
    while v is not None:
        p = v.start()
        if not any(ts <= p < te for ts, te in taken):
            return True
        v = _VERTEBRA_NAME.search(low, p + 1, end)
    return False


def find_level_groups(low: str, start: int, end: int, rules: Rules) -> list[LevelGroup]:
    mentions = []
    for m in rules.level_re.finditer(low, start, end):
        span = _mention_levels(m, low, rules)
        if span is not None:
            mentions.append((m.start(), m.end(), *span))
    k = 0
    while k < len(mentions):  # "L3-4, 4-5 and 5-S1"
        bare = rules.bare_re.match(low, mentions[k][1], end)
        if bare:
            a = int(bare.group("a"))
            b = 6 if bare.group("bs") else int(bare.group("b"))
            if b == a + 1 and (a < 5 or bare.group("bs")):
                mentions.insert(k + 1, (bare.start("a"), bare.end(), a - 1, a - 1))
        k += 1
    taken = [(s, e) for s, e, _lo, _hi in mentions]
    if _names_a_vertebra_outside(low, start, end, taken):
        for m in rules.vertebra_re.finditer(low, start, end):
            s, e, lo, hi = _vertebra_level(m)
            if not any(s < te and ts < e for ts, te in taken):
                mentions.append((s, e, lo, hi))
        if len(mentions) > len(taken):
            mentions.sort()
    groups: list[LevelGroup] = []
    i = 0
    while i < len(mentions):
        s, e, lo, hi = mentions[i]
        lv = _span_levels(lo, hi)
        kind = "single" if lo == hi else "range"
        j = i
        while j + 1 < len(mentions):
            gap = low[mentions[j][1] : mentions[j + 1][0]]
            _s2, _e2, lo2, hi2 = mentions[j + 1]
            if rules.range_re.match(gap):
                lo, hi = min(lo, lo2), max(hi, hi2)
                lv = _span_levels(lo, hi)
                kind = "range"
            elif rules.list_re.match(gap) and not lv & _span_levels(lo2, hi2):
                # (a level named again starts a statement of its own: "bulges at L3/4 and L4/5,
                # and at L4/5 there is mild narrowing of the right exit foramen")
                lv = lv | _span_levels(lo2, hi2)
                lo, hi = min(lo, lo2), max(hi, hi2)
                if kind == "single":
                    kind = "list"
            else:
                break
            j += 1
            e = mentions[j][1]
        if (kind == "list" and len(lv) <= 1) or (kind == "range" and lo == hi):
            kind = "single"
        if s > start and rules.compare_re.search(low, max(start, s - 40), s):
            kind = "compare"  # "larger than at L3-4": the term of a comparison
        groups.append(LevelGroup(s, e, lv, kind))
        i = j + 1
    if groups:
        groups += _ordinal_groups(low, start, end, groups, rules)
    wholes = list(rules.global_re.finditer(low, start, end))
    # "at all levels except L1-2": a level named as the exception of a whole-spine statement
    excepted = [
        g
        for g in groups
        if g.kind in ("single", "list")
        and rules.exception_re.search(low, max(start, g.start - 40), g.start) is not None
        and any(m.lastgroup == "all" and m.end() <= g.start for m in wholes)
    ]
    for g in excepted:
        g.kind = "except"
    named = (
        frozenset().union(*(g.levels for g in groups if g.kind != "except"))
        if groups
        else frozenset()
    )
    vague = []
    for m in wholes:
        kind = m.lastgroup  # type: ignore[assignment]  # global_re: only named alternatives
        if kind == "vague":
            # "multilevel", "several levels": no level (unless the sentence names its levels)
            vague.append(LevelGroup(m.start(), m.end(), frozenset(), "vague"))
            continue
        if named and kind == "all" and re.search(r"\b(?:each|every|these|both)\b", m.group()):
            groups.append(LevelGroup(m.start(), m.end(), named, "range"))
            continue
        levels = frozenset(LEVELS)
        if kind == "all":
            for g in excepted:
                if g.start >= m.end():
                    levels -= g.levels
        groups.append(LevelGroup(m.start(), m.end(), levels, kind))
    if vague and not groups:
        groups = vague
    groups.sort(key=_start_of)
    return groups


def copied_levels(low: str, sent: Sentence, previous: frozenset, rules: Rules) -> frozenset:
    """The levels whose findings ``sent`` says its own levels share ("L4-5: Same as above",
    "similar to L3-4", levels.yaml ``same_as``): the level it names after the phrase, else
    ``previous`` (the level named last before it); empty when it says no such thing. Sets
    ``sent.copy_sides`` to whether it names no side of its own."""
    m = rules.same_as_re.search(low, sent.start, sent.end)
    if m is None or rules.same_as_study_re.match(low, m.end(), sent.end) is not None:
        return frozenset()
    sent.copy_sides = rules.side_word_re.search(low, sent.start, sent.end) is None
    source = previous
    if m.group("named") is not None:
        source = next(
            (g.levels for g in sent.levels if g.start >= m.end() and g.kind == "compare"),
            frozenset(),
        )
    targets = _spoken_levels(sent)
    if not source or not targets or source & targets:
        return frozenset()
    return source


def _spoken_levels(sent: Sentence) -> frozenset:
    """The levels a sentence speaks of: those it names (not as a comparison's term), else
    those it inherits."""
    own = [g for g in sent.levels if g.kind != "compare"]
    return frozenset().union(*(g.levels for g in own)) if own else sent.inherited


def with_copied_findings(findings: list[Finding], sents: list[Sentence]) -> list[Finding]:
    """``findings`` and, for each sentence that describes its levels as another's
    (``Sentence.copy_from``), the affirmed findings stated at that level before it, on the
    fields it does not state itself, given to its levels."""
    copies: list[Finding] = []
    for si, s in enumerate(sents):
        if not s.copy_from:
            continue
        targets = _spoken_levels(s)
        stated = {f.field for f in findings if f.sentence == si}
        for f in findings:
            if (
                f.sentence < si
                and f.section == s.section
                and f.assertion == "affirmed"
                and f.tier == "specific"
                and f.field not in stated
                and f.levels & s.copy_from
                and (s.copy_sides or f.field not in _LATERAL_FIELDS)
            ):
                copies.append(
                    Finding(
                        f.field,
                        f.value,
                        f.strength,
                        f.start,
                        f.end,
                        si,
                        f.clause,
                        f.negated_lexically,
                        f.has_grade,
                        f.assertion,
                        targets,
                        "specific",
                        s.section,
                        f.sided,
                    )
                )
    return findings + copies if copies else findings


_ORDINAL_COUNT = {"two": 2, "three": 3, "four": 4, "2": 2, "3": 3, "4": 4}


def _ordinal_groups(
    low: str, start: int, end: int, groups: list[LevelGroup], rules: Rules
) -> list[LevelGroup]:
    """ "The latter two levels", "the upper level": the most caudal (or cranial) of the levels
    the sentence named before, as a group of their own (levels.yaml ``ordinal_anaphora``)."""
    out = []
    for m in rules.ordinal_re.finditer(low, start, end):
        named = sorted(
            {lv for g in groups if g.end <= m.start() and g.kind != "compare" for lv in g.levels},
            key=LEVELS.index,
        )
        n = _ORDINAL_COUNT.get(m.group("n") or "", 1)
        if len(named) <= n:
            continue  # "the latter two" of two levels: all of them, as the sentence says
        chosen = named[-n:] if m.group("lower") else named[:n]
        out.append(LevelGroup(m.start(), m.end(), frozenset(chosen), "list" if n > 1 else "single"))
    return out


# --------------------------------------------------------------------------
# Findings


@dataclass(slots=True)
class Item:
    kind: str
    start: int
    end: int
    text: str

    def __init__(self, kind: str, start: int, end: int, text: str) -> None:
        self.kind = kind
        self.start = start
        self.end = end
        self.text = text


@dataclass(slots=True)
class Mention:
    """A finding one clause states, before its levels and assertion are known."""

    clause: int  # the clause's index in its sentence
    field: str  # disc | canal_stenosis | left_foraminal | ...
    value: str  # bulge / herniation, or a grade
    strength: str  # direct | indirect | root
    items: list[Item]  # the words that state it
    negated: bool  # lexically ("the foramina are patent")

    # (written out: see SentenceFinding)
    def __init__(
        self, clause: int, field: str, value: str, strength: str, items: list[Item], negated: bool
    ) -> None:
        self.clause = clause
        self.field = field
        self.value = value
        self.strength = strength
        self.items = items
        self.negated = negated


_LATERAL = ("loc_foramen", "loc_subarticular", "root")
_SIDE_FIELDS = {
    "loc_foramen": ("left_foraminal", "right_foraminal"),
    "loc_subarticular": ("left_subarticular", "right_subarticular"),
}
_LATERAL_FIELDS = frozenset(field for pair in _SIDE_FIELDS.values() for field in pair)
_ROOT_NUM = {"l1": 1, "l2": 2, "l3": 3, "l4": 4, "l5": 5, "s1": 6, "s2": 7}


def grade_of(text: str, rules: Rules) -> str:
    best = rules.grade_cache.get(text)
    if best is not None:
        return best
    best = "unspecified"
    for rx, grade in rules.grade_words:
        if rx.search(text) and GRADE_RANK[grade] > GRADE_RANK[best]:
            best = grade
    if len(rules.grade_cache) < 10_000:
        rules.grade_cache[text] = best
    return best


def respective_grades(
    mention: Mention, levels: frozenset, groups: list[LevelGroup], low: str, rules: Rules
) -> list[tuple[frozenset, str]] | None:
    """One grade per level, in the order written, for a sentence that pairs them with
    "respectively" ("narrowed at L3-4 and L4-5, mild and moderate respectively"); None when
    the mention's grades and levels do not pair one to one.

    ``low`` is the sentence's lower-cased text and ``groups`` its own level groups (offsets
    from its start). The levels of one group count in anatomical order."""
    if rules.respectively_re.search(low) is None:
        return None
    grade = next((i for i in mention.items if i.kind == "grade"), None)
    if grade is None:
        return None
    grades = _grade_list(low, grade, rules)
    if len(grades) < 2:
        return None
    ordered: list[str] = []
    for group in sorted(groups, key=_start_of):
        if group.levels <= levels:
            ordered += [level for level in sorted(group.levels) if level not in ordered]
    if len(ordered) != len(grades) or frozenset(ordered) != levels:
        return None
    return [(frozenset((level,)), g) for level, g in zip(ordered, grades, strict=True)]


def lesser_levels(groups: list[LevelGroup], low: str, rules: Rules) -> frozenset:
    """The levels of the sentence ``low`` named "to a lesser degree" ("moderate canal stenosis
    at L3-4 and to a lesser degree at L2-3": L2-3), of its own level groups ``groups``."""
    if "less" not in low:
        return frozenset()
    out: frozenset = frozenset()
    for g in groups:
        if rules.lesser_before_re.search(low, max(0, g.start - 40), g.start) is not None:
            out = out | g.levels
        elif rules.lesser_after_re.match(low, g.end) is not None:
            out = out | _last_named(g, low, rules)
    return out


def _last_named(group: LevelGroup, low: str, rules: Rules) -> frozenset:
    """The levels of the last level mention in ``group`` ("L3-4 and L2-3": L2-3)."""
    last: frozenset = frozenset()
    for m in rules.level_re.finditer(low, group.start, group.end):
        span = _mention_levels(m, low, rules)
        if span is not None:
            last = _span_levels(*span)
    return last or group.levels


def respective_side_grade(mention: Mention, low: str, rules: Rules) -> str | None:
    """The grade of a side-named finding whose sentence pairs two sides with two grades by
    "respectively" ("foraminal stenosis, left and right, mild and moderate respectively"): the
    first grade for the side named first; None when they do not pair so."""
    if rules.respectively_re.search(low) is None:
        return None
    pair = _SIDE_PAIR.search(low)
    grade = next((i for i in mention.items if i.kind == "grade"), None)
    if pair is None or grade is None or pair.group(1) == pair.group(2):
        return None
    grades = _grade_list(low, grade, rules)
    if len(grades) != 2:
        return None
    side = mention.field.split("_", 1)[0]  # (left_... and right_...)
    return grades[0] if pair.group(1) == side else grades[1]


_SIDE_PAIR = re.compile(r"(?<![a-z])(left|right)\s*(?:and|&|/)\s*(left|right)(?![a-z])")


# What stands between the grades of one list ("mild, moderate and severe"), and between the two
# ends of one range ("moderate to severe", "mild/moderate": the guide's range takes the higher)
_GRADE_LIST_GAP = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")
_GRADE_RANGE_GAP = re.compile(r"\s*(?:-|\u2013|\u2014|/)\s*|\s+to\s+")


def _grade_list(low: str, grade: Item, rules: Rules) -> list[str]:
    """The grades of ``grade`` and of the list it is written in, one per item of the list (a
    range is one): a comma cuts a list of three into two items ("mild, | moderate and severe")."""
    words = list(rules.grade_word_re.finditer(low))
    inside = [k for k, m in enumerate(words) if grade.start <= m.start() and m.end() <= grade.end]
    if not inside:
        return []
    first, last = inside[0], inside[-1]
    while first > 0 and _one_list(low, words[first - 1], words[first]):
        first -= 1
    while last + 1 < len(words) and _one_list(low, words[last], words[last + 1]):
        last += 1
    grades = [grade_of(words[first].group(), rules)]
    for k in range(first, last):
        g = grade_of(words[k + 1].group(), rules)
        if _GRADE_RANGE_GAP.fullmatch(low, words[k].end(), words[k + 1].start()):
            grades[-1] = higher_grade(grades[-1], g)
        else:
            grades.append(g)
    return grades


def _one_list(low: str, word: re.Match, next_word: re.Match) -> bool:
    a, b = word.end(), next_word.start()
    return bool(_GRADE_LIST_GAP.fullmatch(low, a, b) or _GRADE_RANGE_GAP.fullmatch(low, a, b))


def tokenize_items(low: str, start: int, end: int, rules: Rules) -> list[Item]:
    out = []
    for m in rules.item_re.finditer(low, start, end):
        kind: str = m.lastgroup  # type: ignore[assignment]  # item_re: only named alternatives
        if kind == "psep":
            kind = "sep"
        elif kind.startswith("ps_"):
            # an abbreviation of a place and its stenosis ("ccs"): the last letter is the stenosis
            a, b = m.span()
            out.append(Item("loc_" + kind[3:], a, b - 1, low[a : b - 1]))
            out.append(Item("core_stenosis", b - 1, b, low[b - 1 : b]))
            continue
        elif kind == "grade":
            current = _current_grade(low, start, end, m.start(), m.end(), rules)
            if current is not None:
                out.append(current)
            continue
        out.append(Item(kind, m.start(), m.end(), m.group()))
    stop = low.find(". ", start, end)
    if stop >= 0:
        out = _side_value_stops(out, low, stop, end, rules)
    return out


def _side_value_stops(items: list[Item], low: str, stop: int, end: int, rules: Rules) -> list[Item]:
    """``items`` with a separator at each full stop before a side and its value that the
    sentence goes on with ("No foraminal stenosis on the left. Mild on the right.": see
    ``_side_value_follows``); other full stops inside a sentence separate nothing ("mod. canal
    stenosis")."""
    added = []
    while 0 <= stop < end:
        nxt = stop + 1
        while nxt < end and low[nxt] in " \t":
            nxt += 1
        if rules.side_value_sentence_re.match(low, nxt, end) is not None:
            added.append(Item("sep", stop, stop + 1, "."))
        stop = low.find(". ", stop + 1, end)
    if not added:
        return items
    return sorted([*items, *added], key=_item_start)


def _item_start(item: Item) -> int:
    return item.start


def _current_grade(low: str, start: int, end: int, a: int, b: int, rules: Rules) -> Item | None:
    """The grade item ``low[a:b]`` of the sentence ``low[start:end]``, unless it grades an
    earlier study (findings.yaml ``prior_grade``), ranks levels (``superlative_grade_before``)
    or is a doubtful alternative to a grade before it (``hedged_grade_before``): None; a range
    after "from" is a change, its last grade the current."""
    if rules.prior_after_re.match(low, b) is not None:
        return None
    if rules.superlative_before_re.search(low, max(0, a - 9), a) is not None:
        return None
    prior = rules.prior_before_re.search(low, max(0, a - 12), a)
    if prior is not None:
        grades = list(rules.grade_word_re.finditer(low, a, b))
        if len(grades) >= 2:
            last = grades[-1]
            return Item("grade", last.start(), last.end(), last.group())
        if not (prior.group().startswith("from") and _grades_a_finding_word(low, b, rules)):
            return None
    if rules.prior_seen_before_re.search(low, max(start, a - 32), a) is not None and any(
        rules.grade_word_re.match(low, now.end(), end) for now in rules.now_re.finditer(low, b, end)
    ):
        return None  # "previously noted moderate stenosis, now mild"
    hedge = rules.hedge_before_grade_re.search(low, max(start, a - 14), a)
    if hedge is not None and rules.grade_word_re.search(low, start, hedge.start()) is not None:
        return None  # "mild canal stenosis, possibly moderate": the stated grade is the grade
    return Item("grade", a, b, low[a:b])


def _grades_a_finding_word(low: str, b: int, rules: Rules) -> bool:
    """Whether the word after a grade ending at ``b`` is a stenosis or place word ("moderate
    canal narrowing")."""
    p = b
    while p < len(low) and low[p] == " ":
        p += 1
    m = rules.item_re.match(low, p)
    kind = m.lastgroup if m is not None else None
    return kind is not None and kind.startswith(("core_", "loc_", "ps_"))


def _sides(items: list[Item]) -> set[str]:
    out = set()
    for it in items:
        if it.kind == "side_both":
            out |= {"left", "right"}
        elif it.kind == "side_left":
            out.add("left")
        elif it.kind == "side_right":
            out.add("right")
    return out


def _nearest(item: Item, heads: list[Item]) -> Item | None:
    best, dist = None, None
    for h in heads:
        d = h.start - item.end if h.start >= item.end else item.start - h.end
        if dist is None or d < dist or (d == dist and h.start > item.start):
            best, dist = h, d
    return best


def split_clauses(
    items: list[Item], groups: list[LevelGroup], low: str, rules: Rules
) -> tuple[list[list[Item]], list[int]]:
    """Clauses of a sentence (lower-cased ``low``) and the character positions where clauses
    1.. start.

    A clause with no finding words is merged into the next ("at L4-5, and also at L5-S1"),
    unless it holds a level with its own value ("L5-S1: none; L3-4: mild stenosis", "L4-5
    moderate; L5-S1 normal"): its level is not the next clause's."""
    clauses: list[list[Item]] = [[]]
    cuts: list[int] = []
    for it in items:
        if it.kind == "sep":
            if any(g.start <= it.start < g.end for g in groups):
                continue
            if clauses[-1] or _own_value(low, groups, rules, cuts[-1] if cuts else -1, it.start):
                clauses.append([])
                cuts.append(it.start)
            continue
        clauses[-1].append(it)
    if (
        not clauses[-1]
        and len(clauses) > 1
        and not _own_value(low, groups, rules, cuts[-1], len(low))
    ):
        clauses.pop()
        cuts.pop()
    return clauses, cuts


def _own_value(low: str, groups: list[LevelGroup], rules: Rules, start: int, end: int) -> bool:
    """Whether a level given its own value (levels.yaml ``own_value``, ``own_value_before``)
    starts in ``low[start:end]``."""
    return any(
        start <= g.start < end
        and (
            rules.own_value_re.match(low, g.end) is not None
            or rules.own_value_before_re.match(low, start + 1, g.start) is not None
        )
        for g in groups
    )


_PREP = re.compile(r"\b(?:in|within|into|toward|towards|to)\b")


def _mark_descriptors(items: list[Item], low: str, rules: Rules) -> list[Item]:
    """Drop locations used as adjectives of a disc ("right foraminal protrusion")
    or as the place of a root / disc ("the L5 root in the lateral recess",
    "extrusion extending into the left lateral recess"), unless a stenosis word after them
    takes them as its object ("extends into the right foramen, narrowing it")."""
    out = []
    n = len(items)
    for k, it in enumerate(items):
        if it.kind.startswith("loc_") and it.kind != "loc_canal":
            p = k - 1
            while p >= 0 and items[p].kind in ("side_left", "side_right", "side_both"):
                p -= 1
            if p >= 0 and (
                items[p].kind in ("root", "rootnum") or items[p].kind.startswith("disc_")
            ):
                gap = low[items[p].end : it.start]
                if (
                    len(gap) <= 40
                    and "," not in gap
                    and ";" not in gap
                    and _PREP.search(gap)
                    and not _narrowed_after(items, k, low, rules)
                ):
                    continue
            if (
                it.kind == "loc_foramen"
                and it.text.startswith("perineur")
                and _names_a_foramen(items, k)
            ):
                # "left foraminal perineural fat effacement", "the perineural fat is effaced in
                # the left foramen": the fat is that foramen's, not both foramina's
                continue
            if it.kind == "loc_foramen":
                # "the perineural fat in the left foramen": one place, named by the second
                nxt = k + 1
                while nxt < n and items[nxt].kind in ("side_left", "side_right", "side_both"):
                    nxt += 1
                if nxt < n and items[nxt].kind == "loc_foramen":
                    gap = low[it.end : items[nxt].start]
                    if len(gap) <= 40 and "," not in gap and ";" not in gap and _PREP.search(gap):
                        continue
            nxt = k + 1
            while nxt < n and items[nxt].kind in (
                "side_left",
                "side_right",
                "side_both",
                "grade",
                "grade_weak",
            ):
                nxt += 1
            if nxt < n and items[nxt].kind.startswith("disc_"):
                gap = low[it.end : items[nxt].start]
                if len(gap) <= 40 and "," not in gap and ";" not in gap and " and " not in gap:
                    continue
        out.append(it)
    return out


# after a bare root number, to the next finding word or the end of the sentence
_BARE_ROOT_END = re.compile(r"[\s.,;:)?]*")


def _bare_root_numbers(items: list[Item], low: str, rules: Rules) -> list[Item]:
    """``items`` with a root word after each root number that a contact or mass verb takes
    with no root word of its own ("? contact R S1", "compresses the left L5."): radiologists
    name the root by its number alone. (A zero-width item where the root word would be.)"""
    out: list[Item] = []
    n = len(items)
    for k, it in enumerate(items):
        out.append(it)
        if it.kind != "rootnum":
            continue
        nxt = items[k + 1] if k + 1 < n else None
        if nxt is not None and nxt.kind != "sep":
            continue
        stop = nxt.start if nxt is not None else len(low)
        if not _BARE_ROOT_END.fullmatch(low, it.end, stop):
            continue
        p = k - 1
        while p >= 0 and (items[p].kind in _SIDE_KINDS or items[p].kind in _ROOT_QUALIFIERS):
            p -= 1
        if p < 0 or items[p].kind not in ("core_contact", "core_mass"):
            continue
        gap_ok = all(
            rules.bare_root_gap_re.fullmatch(low, items[j].end, items[j + 1].start)
            for j in range(p, k)
        )
        if gap_ok:
            out.append(Item("root", it.end, it.end, ""))
    return out


def _narrows_a_pronoun(item: Item, low: str, rules: Rules) -> bool:
    """Whether ``item`` is a stenosis word whose object is a pronoun ("narrowing it")."""
    return item.kind == "core_stenosis" and rules.pronoun_object_re.match(low, item.end) is not None


def _narrowed_after(items: list[Item], k: int, low: str, rules: Rules) -> bool:
    """Whether the next finding word after item ``k`` is a stenosis word whose object is a
    pronoun ("into the right foramen, narrowing it mildly", "..., which narrows it")."""
    for j in range(k + 1, len(items)):
        kind = items[j].kind
        if kind == "core_stenosis":
            return _narrows_a_pronoun(items[j], low, rules)
        if kind.startswith(("core_", "disc_", "loc_")) or kind in ("root", "other"):
            return False
    return False


def _names_a_foramen(items: list[Item], k: int) -> bool:
    """Whether the clause of item ``k`` (up to the separators around it) names a foramen
    besides it, or the clause names no side and follows, after "with" or "and", a clause naming
    a sided foramen's narrowing ("left foraminal narrowing with loss of perineural fat")."""
    start, end = _clause_span(items, k)
    if any(_a_foramen(items[j]) for j in range(start, end) if j != k):
        return True
    if (
        start < 1
        or items[start - 1].text not in ("with", "and")
        or _names_a_side(items, start, end)
    ):
        return False
    prev = start - 2
    while prev >= 0 and items[prev].kind == "sep" and not items[prev].text.isalpha():
        prev -= 1  # "left foraminal narrowing, with ..."
    if prev < 0 or items[prev].kind == "sep":
        return False
    prev_start, prev_end = _clause_span(items, prev)
    # (a narrowed foramen, not a disc's place: "right foraminal protrusion with ...")
    return (
        _names_a_side(items, prev_start, prev_end)
        and any(_a_foramen(items[j]) for j in range(prev_start, prev_end))
        and any(items[j].kind == "core_stenosis" for j in range(prev_start, prev_end))
    )


def _clause_span(items: list[Item], k: int) -> tuple[int, int]:
    """The items around ``k`` up to the separators, as a range."""
    start = k
    while start > 0 and items[start - 1].kind != "sep":
        start -= 1
    end = k
    while end < len(items) and items[end].kind != "sep":
        end += 1
    return start, end


def _a_foramen(item: Item) -> bool:
    return item.kind == "loc_foramen" and not item.text.startswith("perineur")


def _names_a_side(items: list[Item], start: int, end: int) -> bool:
    return any(items[j].kind in _SIDE_KINDS for j in range(start, end))


# plural places / roots ("the lateral recesses", "the L5 roots") are on both sides
_PLURAL = re.compile(r"(?:recesses|zones|regions|gutters|roots|rootlets|nerves)$")
_SIDE_KINDS = ("side_left", "side_right", "side_both")
_ROOT_QUALIFIERS = ("qual_exiting", "qual_traversing")
_MODIFIER_KINDS = (*_SIDE_KINDS, "grade", "grade_weak")
_RESOLVE_KINDS = ("grade_weak", "disc_bulge", "disc_herniation")
_SUBJECT_KINDS = ("disc_bulge", "disc_herniation", "disc_anterior", "other", "intradural")
_CORE_KINDS = {"core_contact", "core_stenosis", "core_mass", "core_patent"}
_ROOT_VERBS = ("core_contact", "core_mass")


class _Groups(dict):
    """Item kind -> its group (the part before "_": core, loc, disc, side ...), computed once."""

    def __missing__(self, kind: str) -> str:
        group = self[kind] = kind.split("_", 1)[0] if "_" in kind else ""
        return group


_GROUP_OF = _Groups()
# what a restated stenosis may not name to take the place of the clause before
_NOT_A_RESTATED_PLACE = {*_SIDE_KINDS, "root", "rootnum", "other"}
_NOT_A_GRADED_PLACE = {
    "root",
    "other",
    "intradural",
    "disc_bulge",
    "disc_herniation",
    "disc_anterior",
    "disc_part",
}
# a disc or a part of one ("a left foraminal component") carries a side
_SIDED_DISC_KINDS = ("disc_bulge", "disc_herniation", "disc_part")
# location words of a disc in the foramen or beyond it
_FORAMINAL_DISC = re.compile(r"(?<![a-z])(?:(?:extra)?foraminal|far[\s-]+lateral)(?![a-z])")
# "the central component of the stenosis" names a part of something else
_OF_AFTER = re.compile(r"\s+of(?![a-z])")


def _lone_components(items: list[Item], low: str, rules: Rules, start: int) -> list[Item]:
    """A disc component named on its own, with a location word toward the canal ("Possible
    small right paracentral component."), is a focal disc herniation; beside a disc word
    ("bulge with a left foraminal component") it is a part of that disc."""
    if any(it.kind in ("disc_bulge", "disc_herniation") for it in items):
        return items
    out = []
    for k, it in enumerate(items):
        if it.kind == "disc_part":
            p = k - 1
            while p >= 0 and items[p].kind in _MODIFIER_KINDS:
                p -= 1
            a = max(items[p].end if p >= 0 else start, it.start - 60)
            # not "the central component of the stenosis"
            if rules.posterior_re.search(low, a, it.start) and not _OF_AFTER.match(low, it.end):
                it = Item("disc_herniation", it.start, it.end, it.text)
        out.append(it)
    return out


def _foraminal_disc(clause: list[Item], disc: Item, low: str, start: int) -> bool:
    """Whether the noun phrase of ``disc`` names a foraminal location ("left foraminal disc
    protrusion", "far lateral left L3-L4 protrusion")."""
    k = clause.index(disc)
    p = k - 1
    while p >= 0 and clause[p].kind in _MODIFIER_KINDS:
        p -= 1
    a = clause[p].end if p >= 0 else start
    return disc.start - a <= 60 and _FORAMINAL_DISC.search(low, a, disc.start) is not None


def _modified(items: list[Item], k: int, low: str, rules: Rules) -> Item | None:
    """The item that modifier ``items[k]`` (a grade or side word) stands before in
    its noun phrase ("mild facet arthropathy", "left paracentral protrusion"), if any."""
    j = k + 1
    while j < len(items) and items[j].kind in _MODIFIER_KINDS:
        j += 1
    if j == len(items) or items[j].kind == "sep":
        return None
    gap = low[items[k].end : items[j].start]
    if len(gap) > 40 or rules.modifier_gap_re.search(gap):
        return None
    return items[j]


def _resolve_modifiers(items: list[Item], low: str, rules: Rules, start: int = 0) -> list[Item]:
    """Weak grade words and anterior-only discs.

    ``small``, ``minor``, ``subtle``, ``trace`` grade a stenosis only when they stand
    in its noun phrase ("a small amount of foraminal narrowing"); before a disc or
    anything else they are dropped ("small protrusion causing stenosis"). A disc
    described only as anterior / anterolateral becomes ``disc_anterior`` (no disc
    finding; it still takes its own grade and side words).
    """
    todo = [k for k, it in enumerate(items) if it.kind in _RESOLVE_KINDS]
    if not todo:
        return items
    out: list[Item | None] = list(items)
    n = len(items)
    for k in todo:
        it = items[k]
        if it.kind == "grade_weak":
            j, pos, ok = k + 1, it.end, False
            while j < n:
                nk = items[j].kind
                if rules.weak_gap_re.fullmatch(low, pos, items[j].start) is None:
                    break
                if nk in _SIDE_KINDS:
                    pos = items[j].end
                    j += 1
                    continue
                ok = nk.startswith("loc_") or nk in ("core_stenosis", "core_mass")
                break
            out[k] = Item("grade", it.start, it.end, it.text) if ok else None
            continue
        # a disc: its noun phrase starts after the previous word that is not a modifier
        p = k - 1
        while p >= 0 and items[p].kind in _MODIFIER_KINDS:
            p -= 1
        if p >= 0 and items[p].kind == "sep" and items[p].text == "and":
            # "posterior and anterior disc bulge": both words describe the disc
            p -= 1
            while p >= 0 and items[p].kind in _MODIFIER_KINDS:
                p -= 1
        before = low[items[p].end if p >= 0 else start : it.start]
        if "anter" not in before and "anter" not in low[it.end : it.end + 30]:
            continue
        after = rules.anterior_after_re.match(low, it.end)
        if (
            (rules.anterior_re.search(before) or (after and not after.group("post")))
            and not rules.posterior_re.search(before)
            and not (after and after.group("post"))
        ):
            out[k] = Item("disc_anterior", it.start, it.end, it.text)
    return [it for it in out if it is not None]


def _disc_mention(clause_index: int, disc: Item) -> Mention:
    """The disc finding a disc word states (a bulge or a herniation)."""
    value = "bulge" if disc.kind == "disc_bulge" else "herniation"
    return Mention(clause_index, "disc", value, "direct", [disc], False)


def clause_findings(
    low: str,
    clause: list[Item],
    borrowed: list[Item] | None,
    rules: Rules,
    level_hint: frozenset,
    disc_sides: frozenset = frozenset(),
    foramen_sides: frozenset = frozenset(),
    clause_index: int = 0,
    place_sides: tuple[frozenset, frozenset] = (frozenset(), frozenset()),
) -> list[Mention]:
    """The findings clause ``clause_index`` of a sentence states (``borrowed``: words it takes
    from a neighbouring clause; ``place_sides``: the one side of the sentence's foramina, and
    of its lateral recesses, where they name one)."""
    out: list[Mention] = []
    items = clause + (borrowed or [])
    cores, locs = [], []
    for i in items:
        group = _GROUP_OF[i.kind]
        if group == "core":
            cores.append(i)
        elif group == "loc" or i.kind == "root":
            locs.append(i)
    discs = [i for i in clause if _GROUP_OF[i.kind] == "disc"]
    for d in discs:
        if d.kind in ("disc_anterior", "disc_part"):
            continue  # "small anterior disc bulge only": away from the canal and foramina
        out.append(_disc_mention(clause_index, d))
    if not cores:
        return out
    grade_items = [i for i in clause if i.kind == "grade"] or [
        i for i in items if i.kind == "grade"
    ]
    side_items = [i for i in clause if i.kind.startswith("side_")] or [
        i for i in items if i.kind.startswith("side_")
    ]
    # non-schema findings take their own grade words ("mild facet arthropathy")
    heads = cores + locs + discs + [i for i in items if i.kind == "other"]
    lateral_sinks = [i for i in locs if i.kind in _LATERAL] + discs
    # attach each location to its nearest core
    by_core: dict[int, list[Item]] = {id(c): [] for c in cores}
    for loc in locs:
        c = _nearest(loc, cores)
        assert c is not None  # cores is not empty (returned above)  # noqa: S101
        by_core[id(c)].append(loc)
        if loc.kind == "root" and c.start > loc.end:
            # the verb whose object the root is ("contacts the S1 root without compressing it"):
            # a root contact stands, whatever the verb after the root says of its degree
            verb = max(
                (v for v in cores if v.end <= loc.start and v.kind in _ROOT_VERBS),
                key=_end_of,
                default=None,
            )
            if verb is not None:
                by_core[id(verb)].append(loc)
    # grade attachment
    grade_to: dict[int, list[Item]] = {}
    for g in grade_items:
        # the head the grade stands before ("severe bilateral foraminal stenosis"), else the nearest
        m = (
            _modified(clause, clause.index(g), low, rules)
            if len(heads) > 1 and g in clause
            else None
        )
        h = m if m is not None and any(m is x for x in heads) else _nearest(g, heads)
        grade_to.setdefault(id(h), []).append(g)
    # side attachment
    side_to: dict[int, list[Item]] = {}
    for s in side_items:
        h = _nearest(s, lateral_sinks) if lateral_sinks else None
        if h is not None:
            side_to.setdefault(id(h), []).append(s)
    if (
        borrowed
        and lateral_sinks
        and side_items
        and not any(i.kind.startswith("side_") for i in borrowed)
        and not any(i.kind in _LATERAL or i.kind.startswith("disc_") for i in clause)
    ):
        # "narrowing in both foramina, severe on the left": the side clause names every borrowed place
        side_to = {id(h): list(side_items) for h in lateral_sinks}
    free_sides = [s for s in side_items if not lateral_sinks]
    for core in cores:
        ctype = core.kind[5:]
        attached = by_core[id(core)]
        grades = list(grade_to.get(id(core), []))
        for loc in attached:
            grades += grade_to.get(id(loc), [])
        grade = "unspecified"
        for g in grades:
            grade = higher_grade(grade, grade_of(g.text, rules))
        negated = ctype == "patent"
        if not attached:
            if ctype == "stenosis":
                if free_sides:
                    sides = _sides(free_sides)
                    own = [core, *grades, *free_sides]
                    for side in sides:
                        out.append(
                            Mention(
                                clause_index, f"{side}_foraminal", grade, "direct", own, negated
                            )
                        )
                else:
                    out.append(
                        Mention(
                            clause_index,
                            "canal_stenosis",
                            grade,
                            "direct",
                            [core, *grades],
                            negated,
                        )
                    )
            continue
        for loc in attached:
            own = [core, loc, *grades]
            if loc.kind == "loc_canal":
                # (a normal cauda equina says nothing of the canal around it)
                if ctype == "stenosis" or (ctype == "patent" and "cauda" not in loc.text):
                    out.append(
                        Mention(clause_index, "canal_stenosis", grade, "direct", own, negated)
                    )
                elif ctype == "mass" and (
                    "sac" in loc.text
                    or "canal" in loc.text
                    or "cauda" in loc.text
                    or "theca" in loc.text
                ):
                    out.append(
                        Mention(clause_index, "canal_stenosis", grade, "indirect", own, negated)
                    )
                continue
            sides_items = side_to.get(id(loc), [])
            sides = (
                _sides(sides_items)
                or (
                    set()
                    if loc.text.endswith(_PLURAL_PLACES)
                    else set(disc_sides)
                    if loc.kind == "loc_subarticular"
                    else set(foramen_sides)
                    if loc.kind == "loc_foramen" and ctype != "patent"
                    else set()
                )
                or {"left", "right"}
            )
            own += sides_items
            if loc.kind in _SIDE_FIELDS:
                if ctype == "contact":
                    continue
                strength = "direct" if ctype in ("stenosis", "patent") else "indirect"
                left_f, right_f = _SIDE_FIELDS[loc.kind]
                for side in sorted(sides):
                    out.append(
                        Mention(
                            clause_index,
                            left_f if side == "left" else right_f,
                            grade,
                            strength,
                            own,
                            negated,
                        )
                    )
                continue
            # nerve root contact
            if ctype not in ("mass", "contact"):
                continue
            # a root borrowed from the next clause ("contact with | the traversing L5 root") keeps its words
            home = clause if loc in clause else (borrowed or [])
            window = _root_window(home, loc, low)
            kind = _root_kind(low, home, loc, level_hint, items)
            if kind is None:
                continue
            # the span is the contact and the root's own words (a far side word could put a
            # negation inside it: "left ... foramen without nerve root compression")
            root_own = [core, loc, *grades, *window]
            if (
                home is not clause
                and loc.start > core.end
                and _VERB_JOINER.fullmatch(low, core.end, min(i.start for i in (loc, *window)))
                is not None
            ):
                # the root of a second verb ("abutting and possibly compressing the right L5
                # root"): the span is this verb's own words, and what is said of the second (a
                # hedge, a denial) is the second's; the root's words as zero-width items here
                root_own = [core, *grades, *_placed_at([loc, *window], core.end)]
            # an unsided root takes the side of the disc, else of the place of its kind the
            # sentence names with a side ("stenosis of the left foramen with impingement of the
            # exiting L5 root"); a root in the plural is on both sides
            rsides = (
                _sides(window + sides_items)
                or (
                    set()
                    if _PLURAL.search(loc.text)
                    else set(disc_sides or place_sides[kind != "exiting"])
                )
                or {"left", "right"}
            )
            for side in sorted(rsides):
                fieldname = f"{side}_foraminal" if kind == "exiting" else f"{side}_subarticular"
                out.append(Mention(clause_index, fieldname, grade, "root", root_own, False))
    return out


def _placed_at(items: list[Item], pos: int) -> list[Item]:
    """Zero-width copies of ``items`` at ``pos``: words another clause lends, which must not
    stretch a finding's span over that clause (and the hedge or denial in it)."""
    return [Item(i.kind, pos, pos, i.text) for i in items]


_WORD_GAP = re.compile(r"[\s\-/]*")
# Between a verb and the root of the verb after it: " and possibly compressing the ",
# " or displacing "
_VERB_JOINER = re.compile(r"\s*,?\s*(?:and|or|and/or|&)\s+(?:[a-z]+\s+){1,3}")


def _root_window(clause: list[Item], root: Item, low: str | None = None) -> list[Item]:
    out = []
    k = clause.index(root) if root in clause else -1
    j = k - 1
    while j >= 0 and clause[j].kind in (
        "qual_exiting",
        "qual_traversing",
        "rootnum",
        "side_left",
        "side_right",
        "side_both",
        "grade",
    ):
        # words right before the root only ("the exiting left L4 root", not "left foramen ... root")
        if low is not None and not _WORD_GAP.fullmatch(low, clause[j].end, clause[j + 1].start):
            break
        out.append(clause[j])
        j -= 1
    j = k + 1
    while (
        k >= 0
        and j < len(clause)
        and clause[j].kind
        in ("side_both", "side_left", "side_right", "qual_exiting", "qual_traversing")
    ):
        out.append(clause[j])
        j += 1
    return out


def _root_kind(
    low: str, clause: list[Item], root: Item, level_hint: frozenset, items: list[Item]
) -> str | None:
    window = _root_window(clause, root, low)
    kinds = {i.kind for i in window}
    if "qual_exiting" in kinds:
        return "exiting"
    if "qual_traversing" in kinds:
        return "traversing"
    nums = [i for i in window if i.kind == "rootnum"]
    if nums and len(level_hint) == 1:
        lvl = next(iter(level_hint))
        upper = _LEVEL_INDEX[lvl] + 1  # L4-L5 -> 4
        n = _ROOT_NUM[nums[0].text]
        if n == upper:
            return "exiting"
        if n == upper + 1:
            return "traversing"
    locs = {i.kind for i in items}
    if "loc_foramen" in locs:
        return "exiting"
    if "loc_subarticular" in locs:
        return "traversing"
    return "traversing" if nums or window else None


# "more severely narrowed than the left": a comparison, not a grade
_COMPARATIVE = re.compile(r"(?<![a-z])(?:more|less)\s+$")
# places named in the plural are on both sides ("the foramina", "the lateral recesses")
# A place named in the plural (an item's text: no line break at its end)
_PLURAL_PLACES = ("foramina", "recesses", "zones", "regions", "gutters")
# "narrowing severe on the left": the grade of one side
_SIDE_GRADE_GAP = re.compile(r"\s+(?:on|at|in)\s+(?:the\s+)?")
# between the sides of a list with no comma: "L mild / R moderate", "L mild R mod"
_PAIR_GAP = re.compile(r"\s*/\s*|\s+")
# the text of the clause break put between them: no matched text (reports lose their control
# characters in labeller.sanitize) and not the "" of the one-side grade cut above
_PAIR_CUT = "\x00"
_ONE_SIDE = {"side_left": "left", "side_right": "right"}


def _another_place_follows(items: list[Item], k: int) -> bool:
    """Whether a place or a disc comes from ``items[k]`` on, before the clause ends (then the
    side and grade before it may be that place's: "NFS L mild R mild | LRS L moderate")."""
    for it in items[k:]:
        if it.kind == "sep":
            return False
        if it.kind.startswith(("loc_", "disc_")):
            return True
    return False


def _side_grade_pair(
    items: list[Item], k: int, low: str, rules: Rules
) -> tuple[str, int, int] | None:
    """(side, end, its last item's index) when ``items[k]`` starts a side and its grade, next
    to each other ("L mild", "mild L"), or a side and its clear value ("L none", "left
    patent")."""
    a = items[k].kind
    if a in _ONE_SIDE:
        none = rules.side_none_re.match(low, items[k].end)  # (not an item)
        if none is not None and (k + 1 >= len(items) or items[k + 1].start >= none.end()):
            return _ONE_SIDE[a], none.end(), k
    if k + 1 >= len(items) or not low[items[k].end : items[k + 1].start].isspace():
        return None
    b = items[k + 1].kind
    if b in ("grade", "core_patent"):
        side = _ONE_SIDE.get(a)
    else:
        side = _ONE_SIDE.get(b) if a == "grade" else None
    return None if side is None else (side, items[k + 1].end, k + 1)


def _side_grades(items: list[Item], low: str, rules: Rules) -> list[Item]:
    """Drop comparative grade words; cut a clause before a grade given to one side after
    the stenosis word ("Bilat NF narrowing sever on the lt": left severe, right unspecified),
    and between the sides of a list with no comma ("L mild / R moderate", "L mild R mod")."""
    out: list[Item] = []
    core_seen = both_seen = False
    # the last side-and-grade pair: its side, where it ended, the index of its last item (pairs
    # are read left to right, so "L mild R mod" is "L mild" and "R mod", not "mild R")
    pair_side, pair_end, pair_last = "", -1, -1
    places = 0  # places named in the clause so far: the sides split off take the one place
    for k, it in enumerate(items):
        pair = _side_grade_pair(items, k, low, rules) if k > pair_last else None
        if pair is not None:
            side, end, last = pair
            if (
                pair_side
                and side != pair_side
                and places == 1
                and _PAIR_GAP.fullmatch(low, pair_end, it.start)
                and not _another_place_follows(items, k + 2)
            ):
                out.append(Item("sep", it.start, it.start, _PAIR_CUT))
                core_seen = both_seen = False
            pair_side, pair_end, pair_last = side, end, last
        if it.kind.startswith("loc_"):
            places += 1
        if it.kind == "sep":
            core_seen = both_seen = False
            places = 0
        elif it.kind.startswith("core_"):
            core_seen = True
        elif it.kind == "side_both" or (
            it.kind.startswith("loc_") and it.text.endswith(_PLURAL_PLACES)
        ):
            both_seen = True
        elif it.kind == "grade":
            if _COMPARATIVE.search(low, max(0, it.start - 6), it.start):
                continue
            # only where both sides were named ("foraminal narrowing is severe on the left": left only)
            if (
                core_seen
                and both_seen
                and k + 1 < len(items)
                and items[k + 1].kind in ("side_left", "side_right")
                and _SIDE_GRADE_GAP.fullmatch(low, it.end, items[k + 1].start)
            ):
                out.append(Item("sep", it.start, it.start, ""))
                core_seen = both_seen = False
        out.append(it)
    return out


# The kinds of item some finding is made from (those the others attach to).
_FINDING_KINDS = ("disc_", "core_", "loc_")


def sentence_findings(
    low: str,
    sent: Sentence,
    rules: Rules,
    level_hint: frozenset,
    carried_sides: frozenset = frozenset(),
) -> tuple[list[int], list[Mention], frozenset]:
    """Clause cuts (where clauses 1.. start), the findings the sentence states and the disc
    side to carry into the next sentence.

    ``carried_sides`` is the side of the disc component of the sentences this one
    continues ("A left foraminal protrusion. It touches the exiting root."): an
    unsided root contact or recess narrowing takes it when this sentence names
    no sided disc.
    """
    items = tokenize_items(low, sent.start, sent.end, rules)
    if not any(it.kind.startswith(_FINDING_KINDS) for it in items):
        # every finding has a disc, a stenosis or contact word, or a place (which may take
        # its stenosis from a grade): a sentence with none states none (and cuts no clauses)
        return [], [], carried_sides
    # mask level mentions: a rootnum inside a level mention is not a root
    groups = sent.levels
    if groups:
        items = [
            i
            for i in items
            if not any(g.start <= i.start < g.end for g in groups) or i.kind == "sep"
        ]
    if any(it.kind == "side_both" for it in items):
        items = _cut_before_side_pairs(items, low, sent, rules)
    if any(it.kind == "rootnum" for it in items):
        items = _bare_root_numbers(items, low, rules)
    items = _mark_descriptors(items, low, rules)
    items = _heading_places_named_again(items, low)
    items = _resolve_modifiers(items, low, rules, sent.start)
    items = _side_grades(items, low, rules)
    if any(it.kind == "disc_part" for it in items):
        items = _lone_components(items, low, rules, sent.start)
    # grade / side words of a non-schema finding ("mild facet arthropathy") grade no stenosis
    bound = (
        {
            id(it)
            for k, it in enumerate(items)
            if it.kind in _MODIFIER_KINDS
            and (_modified(items, k, low, rules) or it).kind == "other"
        }
        if any(it.kind == "other" for it in items)
        else ()
    )
    clauses, cuts = split_clauses(items, groups, low, rules)
    _share_side_over_places(clauses, low)
    _join_side_and_its_grade(clauses, cuts, low)
    _fronted_side(clauses, low)
    # clauses that _side_grades cut off a side list ("NF L mild / R mod"): their place is the one
    # of the clause just before
    pair_cuts = {it.start for it in items if it.kind == "sep" and it.text == _PAIR_CUT}
    side_list = {ci + 1 for ci, cut in enumerate(cuts) if cut in pair_cuts}
    n = len(clauses)
    kinds = [{i.kind for i in c} for c in clauses]
    # (computed once per clause: the rules below ask them many times)
    has_core = [any(x.startswith("core_") for x in ks) for ks in kinds]
    has_loc = [any(x.startswith("loc_") for x in ks) for ks in kinds]

    # sides written on a disc ("left paracentral protrusion") give a root contact its side; those
    # of a foraminal disc ("left foraminal protrusion with foraminal narrowing") an unsided foramen
    disc_sides: set[str] = set()
    foramen_sides: set[str] = set()
    # ... and those of a foramen or a lateral recess, an unsided root of its kind
    exiting_sides: set[str] = set()
    traversing_sides: set[str] = set()
    for ci, c in enumerate(clauses):
        sinks = [
            i
            for i in c
            if i.kind.startswith("disc_") or i.kind in ("root", "loc_foramen", "loc_subarticular")
        ]
        for i in c:
            if i.kind.startswith("side_"):
                h = _nearest(i, sinks)
                if h is None:
                    continue
                if h.kind in _SIDED_DISC_KINDS:
                    disc_sides |= _sides([i])
                    if _foraminal_disc(c, h, low, cuts[ci - 1] if ci else sent.start):
                        foramen_sides |= _sides([i])
                elif h.kind == "loc_foramen":
                    exiting_sides |= _sides([i])
                elif h.kind == "loc_subarticular":
                    traversing_sides |= _sides([i])
    next_sides = (
        frozenset(disc_sides)
        if len(disc_sides) == 1
        else (frozenset() if disc_sides else carried_sides)
    )
    disc_sides_used = next_sides
    foramen_sides_used = frozenset(foramen_sides) if len(foramen_sides) == 1 else frozenset()
    place_sides = (
        frozenset(exiting_sides) if len(exiting_sides) == 1 else frozenset(),
        frozenset(traversing_sides) if len(traversing_sides) == 1 else frozenset(),
    )
    results = []
    # clauses whose place a later clause of a side and a grade took ("..., moderate on the left")
    sided_later: set[int] = set()
    # clauses whose place a later clause of one side word names the side of ("..., right")
    side_named_later: set[int] = set()
    for k, clause in enumerate(clauses):
        borrowed = None
        ks = kinds[k]
        if has_loc[k] and not has_core[k]:
            # a graded place takes no "patent" ("foramina mild, canal patent"), and a place is not
            # the subject of the verb after it that narrows "it" (that verb takes the place:
            # "extends into the left foramen, without narrowing it")
            usable = [
                j
                for j in range(n)
                if has_core[j]
                and not ("grade" in ks and kinds[j] & _CORE_KINDS == {"core_patent"})
                and not (j == k + 1 and any(_narrows_a_pronoun(i, low, rules) for i in clauses[j]))
            ]
            src = next((j for j in usable if j > k), None)
            if src is None:
                src = next((j for j in reversed(usable) if j < k), None)
            if src is not None:
                borrowed = [i for i in clauses[src] if i.kind.startswith("core_")]
                if "grade" not in ks:
                    borrowed += [i for i in clauses[src] if i.kind == "grade"]
            elif not ks & _NOT_A_GRADED_PLACE:
                # "NF: mild B/L", "canal mild": a grade after a place, with no other finding, is
                # its stenosis (not "a small left foraminal component")
                first = next(i for i in clause if i.kind.startswith("loc_"))
                g = next((i for i in clause if i.kind == "grade" and i.start > first.start), None)
                if g is not None:
                    borrowed = [Item("core_stenosis", g.start, g.end, g.text)]
        elif (
            not has_loc[k]
            and not has_core[k]
            and not any(x.startswith("disc_") or x == "root" for x in ks)
            # (a clause naming another finding grades that one: "grade 1 anterolisthesis on the
            # right")
            and "other" not in ks
            and any(
                (i.kind == "grade" or i.kind.startswith("side_")) and id(i) not in bound
                for i in clause
            )
            # not "no stenosis, mild facet changes", "previously moderate": a grade of
            # something else, or of another time
            and _says_only_grades(low, clause, cuts, k, sent, rules)
        ):
            has_side = any(x.startswith("side_") for x in ks)
            order = (
                [k - 1]
                if k in side_list
                else list(range(k + 1, n)) + list(range(k - 1, -1, -1))
                if has_side
                else list(range(k - 1, -1, -1)) + list(range(k + 1, n))
            )
            # (a stenosis named with no place is the canal's: "Moderate stenosis at L3-4,
            # severe at L4-5"; with a side and no place it is a foramen's, and a side clause
            # after it names the other: "Mild stenosis on the left and moderate on the right")
            src = next(
                (
                    j
                    for j in order
                    if has_core[j]
                    and (
                        (
                            (_lateral(kinds[j]) or not has_side)
                            and (has_loc[j] or (not has_side and "core_stenosis" in kinds[j]))
                        )
                        or (has_side and _placeless_sided_stenosis(kinds[j]))
                    )
                ),
                None,
            )
            g = next((i for i in clause if i.kind == "grade" and id(i) not in bound), None)
            if src is not None and not (
                g is not None and has_side and kinds[src] & _CORE_KINDS == {"core_patent"}
            ):
                # "narrowing of the left foramen, which is moderate": the place keeps its side
                borrowed = [
                    i
                    for i in clauses[src]
                    if i.kind.startswith("core_")
                    or i.kind.startswith("loc_")
                    or (not has_side and i.kind in _SIDE_KINDS)
                    # "the left foramen is moderately narrowed, as is the right": a side with no
                    # value of its own has the same
                    or (has_side and g is None and i.kind == "grade")
                ]
                if (
                    has_side
                    and g is not None
                    and not any(
                        i.kind.startswith("loc_") and i.text.endswith(_PLURAL_PLACES)
                        for i in clauses[src]
                    )
                ):
                    sided_later.add(src)
                elif (
                    has_side
                    and g is None
                    and src < k
                    and _one_side_only(clause, kinds[src], low, _clause_bounds(cuts, k, sent))
                ):
                    # "Foraminal stenosis, right.", "Mild narrowing of the lateral recess, left":
                    # a side after the place is its side, graded or not
                    side_named_later.add(src)
                # "Subarticular and foraminal stenosis, right, severe", "Lateral recess and
                # foraminal narrowing on the left, moderate": the places named with the
                # stenosis's place, before it, take the side and grade too
                j = src - 1
                while j >= 0 and _coordinated_place(
                    clauses[j], clauses[j + 1], low, canal=not has_side
                ):
                    borrowed += [
                        i
                        for i in clauses[j]
                        if i.kind.startswith("loc_") or (not has_side and i.kind in _SIDE_KINDS)
                    ]
                    if src in sided_later:
                        sided_later.add(j)
                    if src in side_named_later:
                        side_named_later.add(j)
                    j -= 1
            elif has_side and "other" not in ks:
                # "NF: L mild, R mod", "Foramina: mild left, moderate right", "Foramina: left
                # patent, right mild": a side and its grade after a place with a side and its
                # value are that place's stenosis on the other side
                place = None
                for j in range(k - 1, -1, -1):
                    if _graded_side_place(kinds[j], has_core[j]) or _place_valued_none(
                        kinds[j],
                        clauses[j],
                        has_core[j],
                        low,
                        cuts[j] if j < len(cuts) else sent.end,
                        rules,
                    ):
                        place = j
                        break
                if g is not None and place is not None:
                    borrowed = [i for i in clauses[place] if i.kind.startswith("loc_")]
                    borrowed.append(Item("core_stenosis", g.start, g.end, g.text))
        elif (
            (ks & {"core_contact", "core_mass"})
            and not has_loc[k]
            and "root" not in ks
            and (
                (second_verb := _second_verb_of_a_root(k, kinds, cuts, low))
                or (k + 1 < n and "root" in kinds[k + 1])
                or (k > 0 and "root" in kinds[k - 1] and not has_core[k - 1] and not has_loc[k - 1])
            )
        ):
            # "contacts but does not compress the S1 roots"; "close to the left L5 root; contact
            # cannot be excluded" (a root named with no verb, then the contact); "the left S1
            # root is compressed and displaced; the right S1 root ..." (the root before the "and",
            # not the one past the semicolon)
            src = k - 1 if second_verb or not (k + 1 < n and "root" in kinds[k + 1]) else k + 1
            borrowed = [
                i
                for i in clauses[src]
                if i.kind in ("root", "rootnum", "qual_exiting", "qual_traversing")
                or i.kind.startswith("side_")
            ]
        elif (
            "root" in ks
            and not has_core[k]
            and not has_loc[k]
            and ks & {"qual_exiting", "qual_traversing", "rootnum"}
        ):
            # "abuts the traversing right L5 root and the exiting left L4 root"
            # ... or the verb of the clause just before ("compresses the thecal sac and the L5 root")
            src = next(
                (
                    j
                    for j in range(k - 1, -1, -1)
                    if (j == k - 1 or "root" in kinds[j])
                    and kinds[j] & {"core_mass", "core_contact"}
                ),
                None,
            )
            if src is not None:
                borrowed = [i for i in clauses[src] if i.kind in ("core_mass", "core_contact")]
        elif (
            k > 0
            and not has_loc[k]
            and ks & _CORE_KINDS == {"core_stenosis"}
            and not ks & _NOT_A_RESTATED_PLACE
            and any(_narrows_a_pronoun(i, low, rules) for i in clause)
            and has_loc[k - 1]
        ):
            # "extends into the right foramen, narrowing it mildly": the place just named, as
            # zero-width items at the verb, so that the finding spans this clause only ("...,
            # displacing the thecal sac, without narrowing it": the denial is inside it)
            at = next(i for i in clause if _narrows_a_pronoun(i, low, rules)).end
            borrowed = _placed_at(
                [i for i in clauses[k - 1] if i.kind.startswith("loc_") or i.kind in _SIDE_KINDS],
                at,
            )
        elif has_core[k] and "grade" not in ks and k > 0 and has_loc[k - 1] and not has_core[k - 1]:
            # "mild canal and foraminal stenosis": the grade of the borrowing clause spreads
            borrowed = [i for i in clauses[k - 1] if i.kind == "grade"]
        elif (
            k > 0
            and not has_loc[k]
            and ks & _CORE_KINDS == {"core_stenosis"}
            and not ks & _NOT_A_RESTATED_PLACE
            and rules.restated_stenosis_re.match(low[cuts[k - 1] : clause[0].start]) is not None
        ):
            # "left foraminal narrowing, consistent with moderate stenosis": the foramen's
            src = next((j for j in range(k - 1, -1, -1) if has_core[j] and has_loc[j]), None)
            if src is not None and _lateral(kinds[src]) and "loc_canal" not in kinds[src]:
                borrowed = [
                    i for i in clauses[src] if i.kind.startswith("loc_") or i.kind in _SIDE_KINDS
                ]
        if (
            borrowed is None
            and k > 0
            and not has_loc[k]
            and not has_core[k]
            and not any(x.startswith("disc_") or x == "root" or x == "other" for x in ks)
            and _names_its_own_level(groups, cuts, k, sent)
            and _says_only_grades(low, clause, cuts, k, sent, rules, rules.disc_direction_words)
        ):
            # "Disc bulges at L3-4 (mild) and L4-5 (moderate)", "protrusions at L4-5 (central)
            # and L5-S1 (left paracentral)": a level with only a grade, side or direction of its
            # own has the disc of the clause before it
            src = next(
                (j for j in range(k - 1, -1, -1) if any(x in kinds[j] for x in _LISTED_DISCS)),
                None,
            )
            if src is not None:
                results += [_disc_mention(k, d) for d in clauses[src] if d.kind in _LISTED_DISCS]
        results += clause_findings(
            low,
            clause,
            borrowed,
            rules,
            level_hint,
            disc_sides_used,
            foramen_sides_used,
            k,
            place_sides,
        )
    if sided_later or side_named_later:
        # "Foraminal stenosis, moderate on the left": the side and grade that follow say which
        # side the ungraded place named in the singular, with no side of its own, was (not
        # both, as "the foramina" are); "Mild foraminal stenosis, right": a side alone names the
        # side of the place before it, graded or not
        results = [
            r
            for r in results
            if not (
                r.field in _LATERAL_FIELDS
                and (
                    (
                        r.clause in sided_later
                        and not any(i.kind in _SIDE_KINDS or i.kind == "grade" for i in r.items)
                    )
                    or (
                        r.clause in side_named_later
                        and not any(i.kind in _SIDE_KINDS for i in r.items)
                    )
                )
            )
        ]
    if results and any(i.kind == "intradural" for i in items):
        results = [r for r in results if not _intradural_cause(r, clauses, items)]
    if any(r.strength == "root" for r in results):
        results = _one_root_event(results)
    return cuts, results, next_sides


def _cut_before_side_pairs(items: list[Item], low: str, sent: Sentence, rules: Rules) -> list[Item]:
    """``items`` with a clause break where a side and its value follow a colon, a bracket or a
    dash after a place named on both sides ("Bilateral foraminal stenosis: left moderate, right
    mild", "foramina narrowed bilaterally (moderate left, mild right)"): each side keeps its own
    grade, not both grades on both sides."""
    both = min(it.start for it in items if it.kind == "side_both")
    # (only after a stenosis word: "Bilateral foramina: left moderate, ..." grades the place
    # itself, which a clause of its own would leave ungraded; where both sides follow with their
    # values, "bilateral" adds nothing to them)
    core = min((it.end for it in items if it.kind.startswith("core_")), default=None)
    if core is None:
        opening = rules.side_pair_opening_re.search(low, both, sent.end)
        if opening is None:
            return items
        at = opening.start()
        if not {"side_left", "side_right"} <= {it.kind for it in items if it.start > at}:
            return items
        return [it for it in items if not (it.kind == "side_both" and it.end <= at)]
    cuts = [
        Item("sep", m.start(), m.end(), low[m.start()])
        for m in rules.side_pair_opening_re.finditer(low, max(both, core), sent.end)
    ]
    if not cuts:
        return items
    return sorted([*items, *cuts], key=_item_start)


def _has_side(mention: Mention) -> bool:
    return any(i.kind in _SIDE_KINDS for i in mention.items)


def _one_root_event(results: list[Mention]) -> list[Mention]:
    """A root contact and the place it happens in, stated in one clause, are one event with
    one side: "the right L4 root is compressed in the foramen", "the exiting L4 root is
    compressed in the right foramen" are the right foramen's, not both. Where one of them
    names a side, the other's finding without one (which went to both sides) is dropped."""
    sided: set[tuple[int, str, bool]] = set()
    for r in results:
        if r.field in _LATERAL_FIELDS and _has_side(r):
            sided.add((r.clause, r.field.split("_", 1)[1], r.strength == "root"))
    if not sided:
        return results
    return [
        r
        for r in results
        if not (
            r.field in _LATERAL_FIELDS
            and not _has_side(r)
            and (r.clause, r.field.split("_", 1)[1], r.strength != "root") in sided
        )
    ]


_CLAUSE_WORD = re.compile(r"[a-z]+")


# (Module functions, not functions nested in sentence_findings: the compiled build keeps every
# variable a nested function reads in a closure object, which slows the whole function.)
def _lateral(kinds: set[str]) -> bool:
    return "loc_foramen" in kinds or "loc_subarticular" in kinds


# The words a clause of one side may hold besides it ("..., and on the right side.")
_AROUND_A_SIDE = re.compile(r"[\s,;:.]*(?:(?:and|on|the|side|sided|only)(?![a-z])[\s,;:.]*)*")


def _one_side_only(
    clause: list[Item], place_kinds: set[str], low: str, bounds: tuple[int, int]
) -> bool:
    """Whether ``clause`` (from ``bounds[0]`` to ``bounds[1]`` of ``low``) says one side, left or
    right, and nothing else ("..., right."), after a place with no side."""
    if len(clause) != 1 or clause[0].kind not in ("side_left", "side_right"):
        return False
    side = clause[0]
    return (
        place_kinds.isdisjoint(_SIDE_KINDS)
        and _AROUND_A_SIDE.fullmatch(low, bounds[0], side.start) is not None
        and _AROUND_A_SIDE.fullmatch(low, side.end, bounds[1]) is not None
    )


_HEADING_COLON = re.compile(r"[ \t]*:")


def _heading_places_named_again(items: list[Item], low: str) -> list[Item]:
    """Drop a place that heads a template line ("Recesses:", "Foramina:") when the line names a
    place of its kind again ("Recesses: severe right subarticular stenosis ...; left patent"):
    the heading is no finding of its own, and in the plural it would give both sides the grade."""
    heads = [
        k
        for k, it in enumerate(items)
        if it.kind in _SIDE_FIELDS and _HEADING_COLON.match(low, it.end) is not None
    ]
    if not heads:
        return items
    drop = {k for k in heads if any(it.kind == items[k].kind for it in items[k + 1 :])}
    return [it for k, it in enumerate(items) if k not in drop] if drop else items


_AND_START = re.compile(r"\s*(?:and|&)(?![a-z])")


def _second_verb_of_a_root(k: int, kinds: list[set[str]], cuts: list[int], low: str) -> bool:
    """Whether clause ``k`` starts with "and" after a clause whose root is the subject of a verb
    ("the left S1 root is compressed | and displaced posteriorly")."""
    return (
        k > 0
        and "root" in kinds[k - 1]
        and bool(kinds[k - 1] & {"core_contact", "core_mass"})
        and _AND_START.match(low, cuts[k - 1]) is not None
    )


def _coordinated_place(
    clause: list[Item], after: list[Item], low: str, canal: bool = False
) -> bool:
    """Whether ``clause`` is a lateral place in the singular (or, with ``canal``, the canal) and
    nothing else but a side, joined by "and" (",", "/", "or") to the clause ``after`` it
    ("Subarticular | and foraminal stenosis")."""
    places = ("loc_canal", *_SIDE_FIELDS) if canal else _SIDE_FIELDS
    return (
        any(i.kind in places for i in clause)
        and all(i.kind in places or i.kind in _SIDE_KINDS for i in clause)
        and not any(i.text.endswith(_PLURAL_PLACES) for i in clause)
        and bool(after)
        and _PLACE_JOINER.fullmatch(low, clause[-1].end, after[0].start) is not None
    )


def _placeless_sided_stenosis(kinds: set[str]) -> bool:
    """A stenosis with a side and no place ("mild stenosis on the left"): a foramen's."""
    return (
        "core_stenosis" in kinds
        and not _lateral(kinds)
        and "loc_canal" not in kinds
        and ("side_left" in kinds or "side_right" in kinds)
    )


def _graded_side_place(kinds: set[str], has_core: bool) -> bool:
    """A lateral place, a side and a grade, and no finding of its own ("NF: L mild")."""
    return (
        _lateral(kinds)
        and not has_core
        and "grade" in kinds
        and not kinds.isdisjoint(_SIDE_KINDS)
        and not kinds & _NOT_A_GRADED_PLACE
    )


def _place_valued_none(
    kinds: set[str], clause: list[Item], has_core: bool, low: str, end: int, rules: Rules
) -> bool:
    """Whether a clause (``low[...:end]``) names a lateral place with a side and "none" or
    "patent" for its value ("Foramina: left none", "left patent")."""
    if not _lateral(kinds) or kinds.isdisjoint(_SIDE_KINDS) or kinds & _NOT_A_GRADED_PLACE:
        return False
    if has_core:
        return kinds & _CORE_KINDS == {"core_patent"}
    return rules.place_none_re.search(low, clause[0].start, end) is not None


_LISTED_DISCS = ("disc_bulge", "disc_herniation")


def _clause_bounds(cuts: list[int], k: int, sent: Sentence) -> tuple[int, int]:
    """Where clause ``k`` of ``sent`` starts and ends (``cuts``: where clauses 1.. start)."""
    return (cuts[k - 1] if k else sent.start, cuts[k] if k < len(cuts) else sent.end)


def _names_its_own_level(groups: list[LevelGroup], cuts: list[int], k: int, sent: Sentence) -> bool:
    """Whether clause ``k`` names a level (not as a comparison's term)."""
    start, end = _clause_bounds(cuts, k, sent)
    return any(start <= g.start < end and g.kind != "compare" for g in groups)


# what stands between two places that share the side written before the first ("left lateral
# recess and foramen", "left subarticular and foraminal stenosis", "right recess, and the foramen")
_PLACE_JOINER = re.compile(r"\s*(?:,\s*)?(?:and|&|/|or)?\s*(?:the\s+)?")


_FRONTED_SIDE_END = re.compile(r"(?:[ \t]*side)?[ \t]*,")


def _fronted_side(clauses: list[list[Item]], low: str) -> None:
    """Give the side a sentence opens with ("On the left, there is moderate narrowing of the
    exit foramen and the lateral recess") to the foramina and recesses of the clauses after it
    that name no side, up to one that names its own: a zero-width side item where each starts."""
    if len(clauses) < 2 or len(clauses[0]) != 1:
        return
    side = clauses[0][0]
    if side.kind not in ("side_left", "side_right") or not _FRONTED_SIDE_END.match(low, side.end):
        return
    for clause in clauses[1:]:
        if any(i.kind in _SIDE_KINDS for i in clause):
            return
        place = next((i for i in clause if i.kind in _SIDE_FIELDS), None)
        if place is not None and not place.text.endswith(_PLURAL_PLACES):
            clause.insert(0, Item(side.kind, place.start, place.start, ""))


# What may stand between a side and its value ("and right, moderate", "and left, which is mild")
_SIDE_THEN_VALUE = re.compile(
    r"\s*[,:]\s*(?:(?:which|that|it|where\s+it|where\s+they)\s+(?:is|was|are|were)\s+)?"
)


def _join_side_and_its_grade(clauses: list[list[Item]], cuts: list[int], low: str) -> None:
    """Join a clause that ends with a side and states no finding or grade to the clause of only
    a grade that a comma cut from it ("Right foraminal stenosis, which is moderate, and left,
    which is mild", "Foramina: left, mild; right, moderate", "both foramina, more so on the
    left, where it is severe"): the grade is that side's, not a second grade of the place named
    first, nor a grade of nothing."""
    k = 0
    while k + 1 < len(clauses):
        side, value = clauses[k], clauses[k + 1]
        if (
            side
            and side[-1].kind in _SIDE_KINDS
            and not any(i.kind == "grade" or i.kind in _CORE_KINDS for i in side)
            and len(value) == 1
            and value[0].kind == "grade"
            and _SIDE_THEN_VALUE.fullmatch(low, side[-1].end, value[0].start) is not None
        ):
            side.extend(value)
            del clauses[k + 1]
            del cuts[k]
        k += 1


def _share_side_over_places(clauses: list[list[Item]], low: str) -> None:
    """Give a foramen or recess that opens a clause, with no side of its own, the one side of the
    foramen or recess that ends the clause before it ("Moderate left subarticular and foraminal
    stenosis", "The left lateral recess and foramen are narrowed"): a side word before
    coordinated places is theirs. The side is a zero-width item where the place starts."""
    for k in range(1, len(clauses)):
        before, clause = clauses[k - 1], clauses[k]
        if not before or not clause or any(i.kind in _SIDE_KINDS for i in clause):
            continue
        first = next((i for i in clause if i.kind != "grade"), None)
        last = before[-1]
        if (
            first is None
            or first.kind not in _SIDE_FIELDS
            or first.text.endswith(_PLURAL_PLACES)
            or last.kind not in _SIDE_FIELDS
            or _PLACE_JOINER.fullmatch(low, last.end, min(i.start for i in clause)) is None
        ):
            continue
        sides = {i.kind for i in before if i.kind in _SIDE_KINDS and i.end <= last.start}
        if len(sides) == 1 and "side_both" not in sides:
            clause.insert(0, Item(sides.pop(), first.start, first.start, ""))
    # ... and a side after the last of them is theirs too ("Subarticular and foraminal stenosis
    # on the right"): a place alone in its clause, coordinated with the next, takes it
    for k in range(len(clauses) - 1):
        clause, after = clauses[k], clauses[k + 1]
        if not _coordinated_place(clause, after, low):
            continue
        place_end = max((i.end for i in after if i.kind in _SIDE_FIELDS), default=None)
        if place_end is None:
            continue
        sides = {i.kind for i in after if i.kind in _SIDE_KINDS}
        if (
            len(sides) == 1
            and "side_both" not in sides
            and all(i.start >= place_end for i in after if i.kind in _SIDE_KINDS)
        ):
            clause.insert(0, Item(sides.pop(), clause[0].start, clause[0].start, ""))


def _says_only_grades(
    low: str,
    clause: list[Item],
    cuts: list[int],
    k: int,
    sent: Sentence,
    rules: Rules,
    also: frozenset[str] = frozenset(),
) -> bool:
    """Whether clause ``k`` says nothing but its grades, sides and levels (and the words of
    ``grade_clause_words`` in findings.yaml, and those of ``also``)."""
    start, end = _clause_bounds(cuts, k, sent)
    spans = [(i.start, i.end) for i in clause] + [
        (g.start, g.end) for g in sent.levels if start <= g.start < end
    ]
    spans += _earlier_grade_phrases(low, start, end, clause, rules)
    spans.sort()
    pos = start
    for a, b in [*spans, (end, end)]:
        for word in _CLAUSE_WORD.findall(low, pos, max(pos, a)):
            # (a grade word outside the items is an earlier study's: "mild from moderate")
            if (
                word not in rules.grade_clause_words
                and word not in also
                and not rules.grade_word_re.fullmatch(word)
            ):
                return False
        pos = max(pos, b)
    return True


def _earlier_grade_phrases(
    low: str, start: int, end: int, clause: list[Item], rules: Rules
) -> list[tuple[int, int]]:
    """The spans in ``low[start:end]`` of grades of an earlier study with the words that date
    them ("previously moderate", "mild on the prior"): they grade another time, so a clause
    that also holds a current grade ("now mild (previously moderate)") still says only
    grades. A grade the items kept is current, not one of these."""
    kept = {i.start for i in clause if i.kind == "grade"}
    out: list[tuple[int, int]] = []
    for m in rules.grade_word_re.finditer(low, start, end):
        a, b = m.start(), m.end()
        if a in kept:
            continue
        before = rules.prior_before_re.search(low, max(start, a - 12), a)
        after = rules.prior_after_re.match(low, b)
        if before is not None:
            a = before.start()
        if after is not None:
            b = min(end, after.end())
        if before is not None or after is not None:
            out.append((a, b))
    return out


def _intradural_cause(mention: Mention, clauses: list[list[Item]], items: list[Item]) -> bool:
    """Whether a canal / root finding's cause is an intradural lesion (not stenosis)."""
    if mention.field != "canal_stenosis" and mention.strength != "root":
        return False
    core = next((i for i in mention.items if i.kind.startswith("core_")), None)
    if core is None:
        return False
    subjects = [i for i in clauses[mention.clause] if i.kind in _SUBJECT_KINDS] or [
        i for i in items if i.kind in _SUBJECT_KINDS
    ]
    cause = _nearest(core, subjects)
    return cause is not None and cause.kind == "intradural"


def clause_of_position(cuts: list[int], pos: int) -> int:
    return bisect_right(cuts, pos)


def exception_spoken_of(
    groups: list[LevelGroup], start: int, low: str, rules: Rules
) -> LevelGroup | None:
    """The exception of a whole-spine statement that a finding whose last word starts at
    ``start`` speaks of: the last one before that word, with no other level between, where a
    relative clause follows it ("at all levels except L5-S1, where it is severe", "apart from
    L1-2, which is normal")."""
    before = [g for g in groups if g.end <= start and g.kind != "compare"]
    if not before or before[-1].kind != "except":
        return None
    g = before[-1]
    return g if rules.relative_after_exception_re.match(low, g.end) is not None else None


# How specific each kind of level group is: inside one clause, specific beats range beats global.
_TIER_KIND = {
    "single": "specific",
    "list": "specific",
    "range": "range",
    "remaining": "global",
    "all": "global",
    "vague": "global",
    "compare": "specific",
}


def levels_of_clause(
    clause: int, groups_by_clause: list[tuple[int, LevelGroup]], sentence: Sentence
) -> tuple[frozenset, str]:
    """The levels a finding of clause ``clause`` speaks of, and their tier.

    ``groups_by_clause``: the sentence's own level groups with their clause indexes. A finding
    takes the groups of its own clause, else of the nearest clause before it that has any, else
    of the first clause that has any; a sentence with none takes the levels it inherits
    ("unscoped" when there are none). The exception of a whole-spine statement ("at all levels
    except L5-S1") is none of them (see ``exception_spoken_of``)."""
    groups_by_clause = [(c, g) for c, g in groups_by_clause if g.kind != "except"]
    if not groups_by_clause:
        if sentence.inherited:
            return sentence.inherited, sentence.inherited_tier
        return frozenset(), "unscoped"
    same = [g for c, g in groups_by_clause if c == clause]
    if not same:
        before = [(c, g) for c, g in groups_by_clause if c < clause]
        if before:
            nearest = max(c for c, _ in before)
            same = [g for c, g in before if c == nearest]
        else:
            first = min(c for c, _ in groups_by_clause)
            same = [g for c, g in groups_by_clause if c == first]
    for tier in ("specific", "range", "global"):
        chosen = [g for g in same if _TIER_KIND[g.kind] == tier]
        if chosen:
            levels = frozenset().union(*(g.levels for g in chosen))
            if tier == "global":
                return levels, "remaining" if any(
                    g.kind == "remaining" for g in chosen
                ) else "global"
            return levels, tier
    return frozenset(), "unscoped"
