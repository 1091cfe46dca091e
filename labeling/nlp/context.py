"""A ConText-style assertion engine (negation, hedging, history).

medspaCy cannot be used with spaCy 3.8, so this is a small re-implementation
of the ConText algorithm (Harkema et al. 2009) driven entirely by the rules in
``rules/context_rules.jsonl``:

* a rule has a ``literal`` (or a regex ``pattern``), a ``category``
  (NEGATED_EXISTENCE, POSSIBLE_EXISTENCE, ALTERNATIVE, HISTORICAL, RESOLVED,
  PSEUDO, TERMINATE, SCOPE), a ``direction`` (forward, backward,
  bidirectional, terminate, pseudo, scope), an optional ``max_scope`` in words
  and, for terminators, an optional ``applies_to`` list of categories it
  terminates;
* triggers are matched left to right, longest alternative first, so a pseudo
  trigger ("no change", "gram negative") swallows the trigger inside it;
* a forward trigger modifies targets that start after it, up to the first
  terminator of its category, the end of the sentence or ``max_scope`` words
  (and, on request, targets it sits inside: "the foramina are not narrowed");
  backward triggers mirror that; bidirectional do both;
* ALTERNATIVE triggers ("versus", "or possibly", "X or Y") mark a finding
  offered with an alternative: a hedge of the findings on both sides (the
  labeller decides in ``components.py`` whether the alternatives differ; a
  rule with ``both_sides`` needs a target on each side);
* SCOPE triggers ("the remaining disc spaces", "elsewhere") modify nothing:
  they tell the labeller that a sentence speaks of the levels not named.
* a negation with ``ungraded_only`` denies a finding only where no grade is stated
  ("canal stenosis is not significant", but not "mild canal narrowing, not significant").

The engine works on character offsets of one sentence, so it is independent
of any tokenizer; the spaCy component in ``components.py`` calls it.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from labeling.nlp.fastregex import dispatched
from labeling.nlp.rulefiles import RULES_DIR

DEFAULT_MAX_SCOPE = 10

NEGATED = "NEGATED_EXISTENCE"
POSSIBLE = "POSSIBLE_EXISTENCE"
ALTERNATIVE = "ALTERNATIVE"
HISTORICAL = "HISTORICAL"
RESOLVED = "RESOLVED"
PSEUDO = "PSEUDO"
TERMINATE = "TERMINATE"
SCOPE = "SCOPE"
MODIFIER_CATEGORIES = (NEGATED, POSSIBLE, ALTERNATIVE, HISTORICAL, RESOLVED)
# A target's head before "but" or a comma is a clause of its own: "contacts but does not
# compress the S1 roots" keeps the contact.
_CONTRAST = re.compile(r"\bbut\b|[,;]")
# Forward triggers of these categories also modify a target they sit inside.
_INSIDE_CATEGORIES = frozenset((NEGATED, POSSIBLE, HISTORICAL, RESOLVED))

_WORD = re.compile(r"[^\s]+")
# The words a trigger is looked up by: a run of letters (with a hyphen before it: "-ve"), or one
# punctuation mark.
_SCAN = re.compile(r"-?[a-z]+|[?;:/,]")


def _is_letter(ch: str) -> bool:
    return "a" <= ch <= "z"


def _key_scan(keys: Iterable[str]) -> re.Pattern:
    """A regex that finds, of the words ``_SCAN`` cuts a text into, those in ``keys`` only.

    ``find_triggers`` then looks at the words that may start a trigger, without a lookup for
    each other word. A word of ``_SCAN`` is a whole run of letters, so a key matches where a
    run starts (no letter before it) and ends (no letter after it); a hyphen before a run
    belongs to the word, so a hyphenated key ("-ve") needs no word start before its hyphen,
    and where the hyphenated word is no key its run is looked up without the hyphen (as a
    word-by-word scan does). A key ``_SCAN`` never cuts out (two words, a digit) is never
    found, as before.
    """
    words = sorted((k for k in keys if _SCAN.fullmatch(k)), key=lambda k: (-len(k), k))
    hyphenated = [re.escape(k[1:]) for k in words if k[0] == "-"]
    plain = [re.escape(k) for k in words if _is_letter(k[0])]
    marks = [re.escape(k) for k in words if not (k[0] == "-" or _is_letter(k[0]))]
    parts = []
    if hyphenated:
        parts.append("-(?:" + "|".join(hyphenated) + ")(?![a-z])")
    if plain:
        parts.append("(?<![a-z])(?:" + "|".join(plain) + ")(?![a-z])")
    parts.extend(marks)
    return dispatched("|".join(parts) or "(?!)", min_alternatives=2)


@dataclass(frozen=True)
class Rule:
    literal: str
    category: str
    direction: str
    pattern: str
    max_scope: int
    applies_to: frozenset[str]
    keys: tuple[str, ...] = ()
    both_sides: bool = False
    # a negation that denies only an ungraded finding: "canal stenosis is not significant" is
    # none, but "mild canal narrowing, not significant" keeps its stated grade
    ungraded_only: bool = False
    # an aside set off by commas ("mild, if any, canal stenosis"): the comma before it is its
    # own, so it also modifies a target it stands inside
    aside: bool = False
    # a hedge that doubts the whole subject before it ("... cannot be excluded"): a disc
    # described by the doubted root contact is doubted too (components._doubted_subject)
    subject: bool = False


@dataclass(slots=True)
class Trigger:
    start: int
    end: int
    rule: Rule

    # (not frozen, and __init__ written out: the compiled build compiles it; a frozen record's
    # generated __init__ runs interpreted and sets each field through object.__setattr__)
    def __init__(self, start: int, end: int, rule: Rule) -> None:
        self.start = start
        self.end = end
        self.rule = rule


CONTEXT_FILE = "context_rules.jsonl"


def _first_word(literal: str) -> str:
    """A rule's default index key: the first word (or punctuation) of its literal."""
    found = _SCAN.search(literal.lower())
    if found is None:
        raise ValueError(f"context rule {literal!r} has no word to index it by")
    return found.group()


def load_rules(path: str | Path | None = None, *, text: str | None = None) -> list[Rule]:
    """The trigger rules of a JSON-lines file (``path``, default the labeller's), or of its ``text``."""
    if text is None:
        text = (Path(path) if path else RULES_DIR / CONTEXT_FILE).read_text(encoding="utf-8")
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        d = json.loads(line)
        pattern = d.get("pattern") or r"\s+".join(re.escape(w) for w in d["literal"].split())
        rules.append(
            Rule(
                literal=d["literal"],
                category=d["category"],
                direction=d["direction"],
                pattern=pattern,
                max_scope=int(d.get("max_scope", DEFAULT_MAX_SCOPE)),
                applies_to=frozenset(d.get("applies_to", MODIFIER_CATEGORIES)),
                keys=tuple(k.lower() for k in d.get("keys") or [_first_word(d["literal"])]),
                both_sides=bool(d.get("both_sides", False)),
                ungraded_only=bool(d.get("ungraded_only", False)),
                aside=bool(d.get("aside", False)),
                subject=bool(d.get("subject", False)),
            )
        )
    return rules


class ConText:
    """Compiled trigger rules; find triggers once per text, then query targets.

    Triggers are found by first-word dispatch: the text is scanned word by word
    and only the rules keyed on that word are tried (anchored, longest first),
    which is much faster than one large alternation.
    """

    def __init__(self, rules: list[Rule] | None = None):
        self.rules = rules if rules is not None else load_rules()
        keyed: dict[str, list[tuple[str, Rule]]] = {}
        for r in sorted(self.rules, key=lambda r: -len(r.literal)):
            right = r"(?![\w])" if r.literal[-1:].isalnum() else ""
            for k in r.keys:
                keyed.setdefault(k, []).append((f"(?:{r.pattern}){right}", r))
        # One regex per key word: its rules in turn, each inside a group of its own, so one match
        # tries them in the order a loop would and the outermost group that closed last names
        # the rule that matched (the rule at that group's number).
        self.by_key: dict[str, tuple[re.Pattern, list[Rule | None]]] = {}
        groups: dict[str, int] = {}  # (a rule's pattern, once however many keys it has)
        for k, alternatives in keyed.items():
            rule_at: list[Rule | None] = [None]
            for pattern, r in alternatives:
                if pattern not in groups:
                    groups[pattern] = re.compile(pattern, re.IGNORECASE).groups
                rule_at.append(r)
                rule_at.extend([None] * groups[pattern])
            rx = re.compile("|".join(f"({p})" for p, _r in alternatives), re.IGNORECASE)
            self.by_key[k] = (rx, rule_at)
        self.key_scan = _key_scan(self.by_key)

    def find_triggers(self, text: str, start: int = 0, end: int | None = None) -> list[Trigger]:
        """Triggers in lower-cased ``text[start:end]`` (absolute offsets)."""
        end = len(text) if end is None else end
        out: list[Trigger] = []
        by_key = self.by_key
        last_end = -1
        scan_from = start
        if 0 < start < end and _is_letter(text[start - 1]) and _is_letter(text[start]):
            # (a text cut inside a word: its first word is the rest of that word, where the key
            # scan sees no word start)
            scan_from = start + 1
            while scan_from < end and _is_letter(text[scan_from]):
                scan_from += 1
            cands = by_key.get(text[start:scan_from])
            if cands is not None:
                last_end = self._trigger_at(text, start, end, cands, out)
        for m in self.key_scan.finditer(text, scan_from, end):
            pos = m.start()
            if pos >= last_end:
                last_end = max(last_end, self._trigger_at(text, pos, end, by_key[m.group()], out))
        return out

    @staticmethod
    def _trigger_at(
        text: str,
        pos: int,
        end: int,
        cands: tuple[re.Pattern, list[Rule | None]],
        out: list[Trigger],
    ) -> int:
        """Adds the trigger of the first rule of ``cands`` that matches at ``pos``; where it
        ends (-1: none matches)."""
        rx, rule_at = cands
        mm = rx.match(text, pos, end)
        if mm is None:
            return -1
        rule = rule_at[mm.lastindex or 0]
        if rule is None:
            return -1
        out.append(Trigger(pos, mm.end(), rule))
        return mm.end()

    def modifiers(
        self,
        text: str,
        targets: list[tuple[int, int]],
        triggers: list[Trigger] | None = None,
        bounds: tuple[int, int] | None = None,
        inside: bool = False,
    ) -> list[dict[str, Trigger]]:
        """For each (start, end) target, {category: trigger} of the modifiers.

        ``bounds`` restricts triggers and word counting to one sentence of text.
        ``inside``: a forward trigger (negation, hedge, history) standing between the parts of a
        target also modifies it when the target ends in its scope ("the foramina are not
        narrowed", target "foramina ... narrowed"). The labeller's targets are findings built
        from separate words; a concept phrase that contains its own negation word is not.
        """
        lo, hi = bounds if bounds else (0, len(text))
        if triggers is None:
            triggers = self.find_triggers(text, lo, hi)
        else:
            triggers = [t for t in triggers if t.start >= lo and t.end <= hi]
        results: list[dict[str, Trigger]] = [{} for _ in targets]
        active = [t for t in triggers if t.rule.category in MODIFIER_CATEGORIES]
        if not active or not targets:
            return results
        terms = [t for t in triggers if t.rule.category == TERMINATE]
        words = [m.start() for m in _WORD.finditer(text, lo, hi)]
        for trig in active:
            rule = trig.rule
            cat = rule.category
            t_terms = [t for t in terms if cat in t.rule.applies_to]
            if rule.direction in ("forward", "bidirectional"):
                end_char = hi
                for t in t_terms:
                    if t.start >= trig.end:
                        end_char = min(end_char, t.start)
                        break
                w0 = bisect_left(words, trig.end)
                wlimit = w0 + rule.max_scope
                if wlimit < len(words):
                    end_char = min(end_char, words[wlimit])
                within = inside and cat in _INSIDE_CATEGORIES
                # (the text before the trigger that may not hold a clause break of its own)
                before = trig.start
                if rule.aside:
                    while before > lo and text[before - 1] in ", ":
                        before -= 1
                # Triggers come in text order: a later forward trigger is the nearer one and replaces an
                # earlier one ("no bulge or protrusion, and no canal stenosis": the second "no").
                for k, (s, e) in enumerate(targets):
                    if trig.start < s < end_char or (
                        within
                        and s < trig.start
                        and trig.end <= e <= end_char
                        and "." not in text[trig.end : e]
                        # (a time word inside is the verb's, past any comma: "the left lateral
                        # recess, which was previously effaced")
                        and (cat == HISTORICAL or not _CONTRAST.search(text, s, before))
                    ):
                        results[k][cat] = trig
            if rule.direction in ("backward", "bidirectional"):
                start_char = lo
                for t in reversed(t_terms):
                    if t.end <= trig.start:
                        start_char = max(start_char, t.end)
                        break
                w0 = bisect_right(words, trig.start) - 1
                wlimit = w0 - rule.max_scope
                if wlimit >= 0:
                    start_char = max(start_char, words[wlimit])
                for k, (_s, e) in enumerate(targets):
                    if (start_char <= _s and e <= trig.start and cat not in results[k]) or (
                        start_char < e <= trig.start and cat not in results[k]
                    ):
                        results[k][cat] = trig
        return results


# A comma list of negated items is closed by "or" / "nor": "no herniation, stenosis or narrowing".
_LIST_CLOSE = re.compile(r"\b(?:or|nor)\b")
# "except" also ends a negation's scope (a TERMINATE rule) and a clause (findings.yaml); here
# it marks where a graded target's own part begins.
_EXCEPTION = re.compile(r"(?<![a-z])except(?![a-z])")


def _last_exception(text: str, start: int, end: int) -> int:
    """Where the last "except" in ``text[start:end]`` is, or -1."""
    found = -1
    for m in _EXCEPTION.finditer(text, start, end):
        found = m.start()
    return found


def assertion_of(
    mods: dict[str, Trigger],
    *,
    text: str | None = None,
    start: int = 0,
    has_grade: bool = False,
    end: int | None = None,
) -> str:
    """One assertion from a target's modifiers: historical > negated > hedged > affirmed.

    Given the (lower-cased) ``text`` and the target's ``start``, a forward negation does not
    reach a target after a list break: a graded finding after a comma or "and" is a new,
    affirmed statement ("no herniation, mild bilateral foraminal narrowing"), and so is an item
    after a comma that no "or" closes ("No focal protrusion, broad-based disc bulge").

    Given its ``end`` too, the same holds for a graded target that borrowed its first words
    from the clause before ("no foraminal stenosis on the right, mild on the left": the
    left-sided target runs from "foraminal" to "left"), or after an "except" ("no stenosis at
    any level except L4-5, where it is moderate")."""
    if HISTORICAL in mods or RESOLVED in mods:
        return "historical"
    if NEGATED in mods and not (has_grade and mods[NEGATED].rule.ungraded_only):
        trig = mods[NEGATED]
        if text is None or trig.rule.direction == "backward" or start < trig.end:
            return "negated"
        gap = text[trig.end : start]
        comma = gap.find(",")
        broken = (has_grade and (comma >= 0 or " and " in gap)) or (
            comma >= 0 and not _LIST_CLOSE.search(text, trig.end + comma)
        )
        if not broken and has_grade and end is not None:
            own = max(
                text.rfind(",", start, end),
                text.rfind(";", start, end),
                # (a sentence of a side and its value goes on the one before it: extract.py's
                # _side_value_follows)
                text.rfind(". ", start, end),
                _last_exception(text, start, end),
            )
            broken = own > start and not _LIST_CLOSE.search(text, own, end)
        if not broken:
            return "negated"
    if POSSIBLE in mods or ALTERNATIVE in mods:
        return "hedged"
    return "affirmed"
