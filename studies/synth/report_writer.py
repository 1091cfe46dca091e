"""Radiologist-style free-text reports written from the per-level truth.

Every sentence must mean exactly what the truth says under the labelling guide:
an NLP labeller is scored against ``truth.jsonl`` on these reports. Hence:

* grades are only ever attached to stenosis findings, and every stated stenosis
  carries a grade word from the guide (image truth never has ``unspecified``);
* nerve-root wording always names the root as exiting (foramen) or traversing
  (lateral recess) and comes with the graded narrowing on the same side;
* words like "abuts"/"contacts the thecal sac" appear only with an explicit
  "no canal stenosis";
* group statements ("the remaining levels are normal", ranges) only cover levels
  whose schema fields are all ``none`` and which carry no hedge;
* a hedged finding ("possible ... protrusion") appears only at a level whose
  truth is all ``none`` with ``uncertain`` set;
* boilerplate and clinical history never use schema vocabulary or schema levels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from spine.labels import LEVELS
from studies.synth.anatomy import LevelTruth

GRADE_WORDS: dict[str, tuple[str, ...]] = {
    "mild": ("mild", "mild", "minimal", "slight", "borderline"),
    "moderate": ("moderate", "moderate", "mild to moderate"),
    "severe": ("severe", "severe", "moderate to severe", "marked", "high-grade", "critical"),
}

_ZONE_WORDS = {
    "central": ("central", "midline", "central"),
    "left_paracentral": ("left paracentral", "left central"),
    "right_paracentral": ("right paracentral", "right central"),
    "left_foraminal": ("left foraminal",),
    "right_foraminal": ("right foraminal",),
}


class _Writer:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.style = int(rng.integers(4))  # level notation used throughout this report

    def pick(self, options: Sequence[str]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def grade(self, grade: str) -> str:
        return self.pick(GRADE_WORDS[grade])

    # ----- level names ------------------------------------------------------------------
    def level(self, level: str, allow_words: bool = True) -> str:
        up, lo = level.split("-")
        if lo == "S1" and allow_words and self.chance(0.15):
            return self.pick(("the lumbosacral level", "the lumbosacral junction"))
        # radiologists are not consistent within one report either
        style = int(self.rng.integers(4)) if self.chance(0.1) else self.style
        if lo == "S1":
            return ("L5-S1", "L5-S1", "L5/S1", "L5/S1")[style]
        short = lo[1:]
        return (f"{up}-{lo}", f"{up}-{short}", f"{up}/{short}", f"{up}/{lo}")[style]

    def level_range(self, a: str, b: str) -> str:
        joiner = self.pick((" through ", " to ", " through "))
        return self.level(a, allow_words=False) + joiner + self.level(b, allow_words=False)

    # ----- findings -----------------------------------------------------------------------
    def disc_phrase(self, t: LevelTruth) -> str:
        if t.disc == "bulge":
            size = f"{max(1, round(t.bulge_mm))}-mm "
            return self.pick(
                (
                    "a broad-based disc bulge",
                    "a circumferential disc bulge",
                    "a diffuse annular bulge",
                    f"a {size}disc bulge",
                    f"a {size}broad-based disc bulge",
                    "a disc-osteophyte complex",
                    "generalized disc bulging",
                )
            )
        zone = self.pick(_ZONE_WORDS[t.zone or "central"])
        size = f"{max(2, round(t.herniation_mm))}-mm "
        noun = self.pick(
            (
                "disc protrusion",
                "disc herniation",
                "protrusion",
                "disc extrusion",
                "herniated disc",
                "focal disc herniation",
            )
        )
        if t.bulge_mm >= 1.0 and self.chance(0.35):
            return f"a disc bulge with a superimposed {zone} {self.pick(('protrusion', 'disc herniation'))}"
        if noun == "herniated disc":
            return f"a {zone} herniated disc"
        return self.pick((f"a {zone} {noun}", f"a {size}{zone} {noun}", f"a small {zone} {noun}"))

    def canal_clause(self, grade: str) -> str:
        g = self.grade(grade)
        return self.pick(
            (
                f"{g} central canal stenosis",
                f"{g} spinal canal stenosis",
                f"{g} narrowing of the central canal",
                f"{g} central spinal canal narrowing",
                f"{g} effacement of the thecal sac",
            )
        )

    def canal_negation(self) -> str:
        return self.pick(
            (
                "No central canal stenosis.",
                "The central canal is patent.",
                "There is no spinal canal stenosis.",
                "No central canal narrowing.",
            )
        )

    def foramen_sentences(self, t: LevelTruth) -> list[str]:
        lf, rf = t.left_foraminal, t.right_foraminal
        exiting = t.level.split("-")[0]
        if lf == "none" and rf == "none":
            if self.chance(0.6):
                return [
                    self.pick(
                        (
                            "The neural foramina are patent.",
                            "No neural foraminal narrowing.",
                            "The foramina are patent.",
                            "No foraminal stenosis.",
                        )
                    )
                ]
            return []
        if lf == rf:
            g = self.grade(lf)
            return [
                self.pick(
                    (
                        f"{g.capitalize()} bilateral neural foraminal narrowing.",
                        f"{g.capitalize()} narrowing of both neural foramina.",
                        f"There is {g} bilateral foraminal stenosis.",
                    )
                )
            ]
        out: list[str] = []
        for side, grade in (("left", lf), ("right", rf)):
            if grade == "none":
                continue
            g = self.grade(grade)
            base = self.pick(
                (
                    f"{g} {side} neural foraminal narrowing",
                    f"{g} narrowing of the {side} neural foramen",
                    f"{g} {side} foraminal stenosis",
                )
            )
            if self.chance(0.35):
                verb = self.pick(("contact of", "abutment of", "impingement on", "displacement of"))
                base += f" with {verb} the exiting {side} {exiting} nerve root"
            out.append(base[0].upper() + base[1:] + ".")
        for side, grade in (("left", lf), ("right", rf)):
            if grade == "none" and self.chance(0.5):
                out.append(f"The {side} neural foramen is patent.")
        return out

    def recess_sentences(self, t: LevelTruth) -> list[str]:
        ls, rs = t.left_subarticular, t.right_subarticular
        traversing = t.level.split("-")[1]
        if ls == "none" and rs == "none":
            return []
        if ls == rs:
            g = self.grade(ls)
            return [
                self.pick(
                    (
                        f"{g.capitalize()} bilateral lateral recess narrowing.",
                        f"{g.capitalize()} bilateral subarticular stenosis.",
                    )
                )
            ]
        out = []
        for side, grade in (("left", ls), ("right", rs)):
            if grade == "none":
                continue
            g = self.grade(grade)
            base = self.pick(
                (
                    f"{g} narrowing of the {side} lateral recess",
                    f"{g} {side} subarticular stenosis",
                    f"{g} {side} lateral recess stenosis",
                )
            )
            if self.chance(0.4):
                verb = self.pick(("contact of", "posterior displacement of", "impingement on"))
                base += f" with {verb} the traversing {side} {traversing} nerve root"
            out.append(base[0].upper() + base[1:] + ".")
        return out

    def extras(self, t: LevelTruth) -> list[str]:
        out = []
        if t.desiccation and self.chance(0.6):
            out.append(
                self.pick(
                    (
                        "Disc desiccation.",
                        "There is disc desiccation with loss of disc height.",
                        "Loss of normal T2 disc signal consistent with desiccation.",
                    )
                )
            )
        if t.modic:
            out.append(
                self.pick(
                    (
                        f"Type {t.modic} Modic endplate changes.",
                        f"Modic type {t.modic} signal change along the endplates.",
                    )
                )
            )
        if t.annular_fissure and self.chance(0.7):
            out.append(
                self.pick(
                    (
                        "A posterior annular fissure is present.",
                        "High-intensity zone compatible with an annular fissure.",
                    )
                )
            )
        if t.facet_arthropathy and t.canal_stenosis == "none" and self.chance(0.7):
            out.append(
                self.pick(
                    (
                        "Facet arthropathy.",
                        "Facet joint arthropathy.",
                        "Degenerative facet hypertrophy.",
                    )
                )
            )
        return out

    def abnormal_level(self, t: LevelTruth) -> list[str]:
        sents: list[str] = []
        if t.disc != "none":
            disc = self.disc_phrase(t)
            if t.canal_stenosis != "none":
                canal = self.canal_clause(t.canal_stenosis)
                sents.append(
                    self.pick(
                        (
                            f"There is {disc} resulting in {canal}.",
                            f"{disc[0].upper() + disc[1:]} causes {canal}.",
                            f"{disc[0].upper() + disc[1:]} with {canal}.",
                            f"There is {disc}. {canal[0].upper() + canal[1:]}.",
                        )
                    )
                )
            else:
                if t.disc == "bulge" and self.chance(0.3):
                    sents.append(f"There is {disc} which abuts the ventral thecal sac.")
                    sents.append(self.canal_negation())
                elif self.chance(0.5):
                    sents.append(f"There is {disc} without central canal stenosis.")
                else:
                    sents.append(f"There is {disc}.")
                    sents.append(self.canal_negation())
        elif t.canal_stenosis != "none":
            g = self.grade(t.canal_stenosis)
            sents.append(
                self.pick(
                    (
                        f"Facet arthropathy and ligamentum flavum thickening cause {g} spinal canal stenosis.",
                        f"Ligamentum flavum hypertrophy results in {g} central canal narrowing.",
                        f"{g.capitalize()} central canal stenosis due to facet hypertrophy.",
                    )
                )
            )
            if self.chance(0.4):
                sents.append("No disc herniation.")
        else:
            sents.append(self.pick(("No disc bulge or herniation.", "No disc herniation.")))
            if self.chance(0.5):
                sents.append(self.canal_negation())
        sents += self.foramen_sentences(t)
        sents += self.recess_sentences(t)
        sents += self.extras(t)
        return sents

    def hedged_level(self, t: LevelTruth) -> list[str]:
        zone = self.pick(_ZONE_WORDS[t.hedge_zone or "central"])
        hedge = self.pick(
            (
                f"Possible small {zone} disc protrusion.",
                f"Questionable tiny {zone} protrusion.",
                f"A small {zone} disc protrusion cannot be excluded.",
                f"Suggestion of a shallow {zone} disc protrusion.",
                f"Equivocal small {zone} protrusion.",
            )
        )
        sents = [hedge]
        if self.chance(0.6):
            sents.append(
                self.pick(
                    (
                        "No canal or foraminal stenosis.",
                        "The central canal and neural foramina are patent.",
                    )
                )
            )
        return sents + self.extras(t)

    def normal_single(self, t: LevelTruth) -> list[str]:
        extra = self.extras(t)
        if extra:
            return [
                *extra,
                self.pick(
                    ("No disc herniation or stenosis.", "No disc bulge, herniation, or stenosis.")
                ),
            ]
        return [
            self.pick(
                (
                    "Normal.",
                    "Unremarkable.",
                    "No disc herniation or stenosis.",
                    "No disc bulge or herniation. No canal or foraminal stenosis.",
                    "Normal disc. Central canal and neural foramina are patent.",
                )
            )
        ]

    def normal_range(self, a: str, b: str) -> str:
        rng_text = self.level_range(a, b)
        return self.pick(
            (
                f"{rng_text} are unremarkable.",
                f"{rng_text}: No disc herniation, central canal stenosis, or neural foraminal narrowing.",
                f"No disc bulge, herniation or stenosis from {rng_text}.",
                f"The levels {rng_text} are normal.",
            )
        )

    # ----- impression --------------------------------------------------------------------
    def impression_item(self, t: LevelTruth) -> str:
        parts: list[str] = []
        if t.disc == "bulge":
            parts.append(self.pick(("disc bulge", "broad-based disc bulge")))
        elif t.disc == "herniation":
            zone = self.pick(_ZONE_WORDS[t.zone or "central"])
            parts.append(f"{zone} {self.pick(('disc protrusion', 'disc herniation'))}")
        if t.canal_stenosis != "none":
            parts.append(f"{self.grade(t.canal_stenosis)} central canal stenosis")
        lf, rf = t.left_foraminal, t.right_foraminal
        if lf != "none" and lf == rf:
            parts.append(f"{self.grade(lf)} bilateral foraminal narrowing")
        else:
            for side, g in (("left", lf), ("right", rf)):
                if g != "none":
                    parts.append(f"{self.grade(g)} {side} foraminal narrowing")
        ls, rs = t.left_subarticular, t.right_subarticular
        if ls != "none" and ls == rs:
            parts.append(f"{self.grade(ls)} bilateral lateral recess narrowing")
        else:
            for side, g in (("left", ls), ("right", rs)):
                if g != "none":
                    parts.append(f"{self.grade(g)} {side} lateral recess narrowing")
        if len(parts) > 1:
            body = (
                parts[0]
                + " with "
                + ", ".join(parts[1:-1])
                + (" and " if len(parts) > 2 else "")
                + parts[-1]
            )
        else:
            body = parts[0]
        body = body[0].upper() + body[1:]
        return f"{self.level(t.level, allow_words=False)}: {body}."


_HISTORY = (
    "Low back pain.",
    "Chronic low back pain.",
    "Low back pain radiating to the left leg.",
    "Low back pain radiating to the right leg.",
    "Back pain with bilateral leg numbness.",
    "Right-sided sciatica.",
    "Left leg pain, worse with standing.",
    "Lower back pain for 3 months, no improvement with physiotherapy.",
)
_TECHNIQUE = (
    "Sagittal T1 and T2-weighted and axial T2-weighted images of the lumbar spine were "
    "obtained without contrast.",
    "Multiplanar multisequence MRI of the lumbar spine without intravenous contrast.",
    "Sagittal T1, sagittal T2 and disc-parallel axial T2 images.",
)


def _runs(levels: Sequence[str]) -> list[list[str]]:
    """Split levels (in LEVELS order) into runs of neighbours."""
    runs: list[list[str]] = []
    for lv in levels:
        if runs and LEVELS.index(lv) == LEVELS.index(runs[-1][-1]) + 1:
            runs[-1].append(lv)
        else:
            runs.append([lv])
    return runs


def write_report(levels: Sequence[LevelTruth], rng: np.random.Generator, age: int, sex: str) -> str:
    """A full report (sections, findings per level, impression) for one study."""
    w = _Writer(rng)
    by = {t.level: t for t in levels}
    header_case = w.pick(("upper", "title"))

    def head(name: str) -> str:
        return (name.upper() if header_case == "upper" else name.title()) + ":"

    sections: list[str] = []
    sections.append(f"{head('Examination')} MRI lumbar spine without contrast.")
    if w.chance(0.8):
        who = "male" if sex == "M" else "female"
        sections.append(f"{head('Clinical history')} {age}-year-old {who}. {w.pick(_HISTORY)}")
    if w.chance(0.6):
        sections.append(f"{head('Technique')} {w.pick(_TECHNIQUE)}")
    if w.chance(0.5):
        sections.append(f"{head('Comparison')} None.")

    # --- findings -----------------------------------------------------------------------------
    general = [
        w.pick(
            ("Normal lumbar lordosis.", "Sagittal alignment is maintained.", "Alignment is normal.")
        )
    ]
    general.append(w.pick(("Vertebral body heights are maintained.", "No compression deformity.")))
    if not any(t.modic for t in levels):
        general.append(w.pick(("Marrow signal is unremarkable.", "Normal bone marrow signal.")))
    general.append(
        w.pick(
            (
                "The conus medullaris terminates normally at T12-L1.",
                "The conus is normal in position and signal.",
                "The distal cord and conus are unremarkable.",
            )
        )
    )
    if w.chance(0.5):
        general.append("Paraspinal soft tissues are unremarkable.")

    specific: dict[str, list[str]] = {}
    plain: list[str] = []  # levels with nothing at all to say
    for lv in LEVELS:
        t = by[lv]
        if t.abnormal:
            specific[lv] = w.abnormal_level(t)
        elif t.uncertain:
            specific[lv] = w.hedged_level(t)
        else:
            extra = w.extras(t)
            if extra:
                specific[lv] = [
                    *extra,
                    w.pick(
                        (
                            "No disc herniation or stenosis.",
                            "No disc bulge, herniation, or stenosis.",
                        )
                    ),
                ]
            else:
                plain.append(lv)

    # how to cover the plain levels: individually, as ranges, "remaining", or not at all
    mode = w.pick(("each", "ranges", "remaining", "omit")) if plain else "none"
    if mode == "remaining" and not specific:
        mode = "ranges"
    lines: list[tuple[int, str]] = []  # (position, text) to keep the level order
    for lv, sents in specific.items():
        lines.append((LEVELS.index(lv), _level_line(w, lv, sents)))
    if mode == "each":
        for lv in plain:
            lines.append((LEVELS.index(lv), _level_line(w, lv, w.normal_single(by[lv]))))
    elif mode == "ranges":
        for run in _runs(plain):
            if len(run) == 1:
                lines.append(
                    (LEVELS.index(run[0]), _level_line(w, run[0], w.normal_single(by[run[0]])))
                )
            else:
                lines.append((LEVELS.index(run[0]), w.normal_range(run[0], run[-1])))
    lines.sort(key=lambda item: item[0])
    level_lines = [text for _, text in lines]
    if mode == "remaining":
        level_lines.append(
            w.pick(
                (
                    "The remaining levels are normal.",
                    "The remaining lumbar levels are unremarkable.",
                    "No disc herniation or stenosis at the remaining levels.",
                )
            )
        )

    joiner = "\n" if w.chance(0.7) else " "
    findings = " ".join(general) + "\n" + joiner.join(level_lines)
    sections.append(f"{head('Findings')}\n{findings}")

    # --- impression ---------------------------------------------------------------------------
    significant = [by[lv] for lv in LEVELS if by[lv].abnormal]
    if significant:
        # worst first, as radiologists usually lead with what matters
        order = sorted(significant, key=lambda t: -_severity(t))
        items = [w.impression_item(t) for t in order]
        if len(items) == 1:
            impression = items[0]
        elif w.chance(0.5):
            impression = "\n".join(f"{n}. {text}" for n, text in enumerate(items, start=1))
        else:
            impression = " ".join(items)
    elif any(t.uncertain for t in levels):
        impression = "No central canal or neural foraminal stenosis."
    else:
        impression = w.pick(
            (
                "Normal MRI of the lumbar spine.",
                "No disc herniation, spinal canal or neural foraminal stenosis.",
                "Unremarkable MRI of the lumbar spine.",
            )
        )
    sections.append(f"{head('Impression')}\n{impression}")
    return "\n\n".join(sections) + "\n"


def _level_line(w: _Writer, level: str, sents: list[str]) -> str:
    name = w.level(level)
    form = w.pick(("colon", "at", "colon"))
    if form == "at":
        first = sents[0]
        first = first[0].lower() + first[1:]
        return " ".join([f"At {name}, {first}", *sents[1:]])
    label = name[0].upper() + name[1:]
    return f"{label}: " + " ".join(sents)


def _severity(t: LevelTruth) -> int:
    rank = {"none": 0, "mild": 1, "moderate": 2, "severe": 3}
    worst = max(
        rank[g]
        for g in (
            t.canal_stenosis,
            t.left_foraminal,
            t.right_foraminal,
            t.left_subarticular,
            t.right_subarticular,
        )
    )
    return 10 * worst + (2 if t.disc == "herniation" else 1 if t.disc == "bulge" else 0)
