"""The decision tables of the report writer, as plain data.

Each table maps a small key computed from one level's labels to sentence
templates. Wording is chosen so the labeller in ``labeling.nlp`` reads back
exactly the labels it was written from (see ``tests/reports/test_generation_roundtrip.py``):

* one finding per sentence in Findings, so grades and sides never attach to the
  wrong structure;
* a stated grade is always written as the grade word itself; ``unspecified``
  (present, no grade) is written with no grade word at all;
* canal stenosis without a grade is written as mass effect on the thecal sac
  (the paper's "impinging on the thecal sac"), which the guide reads as
  ``unspecified`` canal stenosis;
* every field of an abnormal level is stated, normal ones as "patent" or a
  negation, so a reader never has to infer a normal structure from silence.
"""

from __future__ import annotations

from collections.abc import Mapping

# Text put in front of a stenosis noun for each grade. "unspecified" states the
# finding without grading it, which is what the guide means by the value.
GRADE_PREFIX: Mapping[str, str] = {
    "mild": "mild ",
    "moderate": "moderate ",
    "severe": "severe ",
    "unspecified": "",
}

# A level with every field `none`: the paper's sentence (its Table 1).
NORMAL_LEVEL = (
    "No disc herniation, neurocompression, or neuroforaminal stenosis is seen at this level."
)

# A level the model gave nothing for (only when a caller passes fewer than five levels).
NOT_ASSESSED = "Not assessed."
# The same, with the models' reason (a lower-case clause, e.g. "no disc found above L2-L3
# (outside the field of view or not segmented)").
NOT_ASSESSED_BECAUSE = "Not assessed: {reason}."

DISC_NOUN: Mapping[str, str] = {"bulge": "disc bulge", "herniation": "disc herniation"}


def canal_kind(canal_stenosis: str) -> str:
    """Key of ``DISC_CANAL`` for a canal grade: none, unspecified or graded."""
    if canal_stenosis in ("none", "unspecified"):
        return canal_stenosis
    return "graded"


# (disc present, canal kind) -> the disc / central canal sentence(s) of an abnormal level.
# {noun} is DISC_NOUN[disc]; {grade} is GRADE_PREFIX[canal grade].
DISC_CANAL: Mapping[tuple[bool, str], str] = {
    (False, "none"): "No disc bulge, disc herniation or spinal canal stenosis is seen.",
    (
        False,
        "unspecified",
    ): "No disc bulge or herniation is seen. There is narrowing of the spinal canal.",
    (
        False,
        "graded",
    ): "No disc bulge or herniation is seen. There is {grade}narrowing of the spinal canal.",
    (
        True,
        "none",
    ): "There is posterior {noun} of the intervertebral disc without spinal canal stenosis.",
    (
        True,
        "unspecified",
    ): "There is posterior {noun} of the intervertebral disc impinging on the thecal sac.",
    (True, "graded"): (
        "There is posterior {noun} of the intervertebral disc impinging on the thecal sac"
        " with {grade}spinal canal stenosis."
    ),
}

AP_DIAMETER = "The spinal canal midline AP diameter is {mm:.1f} mm."

# Level has a finding -> the best-image sentence. "This" refers to the finding;
# at a normal level there is none, so the sentence names the level instead.
BEST_IMAGE: Mapping[bool, str] = {
    True: "This is best seen on {weighting} {plane} image {instance_number}.",
    False: "This level is best seen on {weighting} {plane} image {instance_number}.",
}

# The left/right structures: field suffix -> (singular, plural) as written in Findings
# and the noun of the Impression.
PAIRED: Mapping[str, dict[str, str]] = {
    "foraminal": {
        "one": "neural foramen",
        "both": "neural foramina",
        "impression": "neural foraminal stenosis",
    },
    "subarticular": {
        "one": "lateral recess",
        "both": "lateral recesses",
        "impression": "lateral recess stenosis",
    },
}


def pair_case(left: str, right: str) -> str:
    """Key of ``PAIR_SENTENCES`` for the grades of a left/right pair."""
    if left == "none" and right == "none":
        return "both_none"
    if left == right:
        return "same"
    if right == "none":
        return "left_only"
    if left == "none":
        return "right_only"
    return "different"


# Pair case -> sentences of that structure at an abnormal level. {one}/{both} come
# from PAIRED; {left}/{right} are GRADE_PREFIX of each side's grade.
PAIR_SENTENCES: Mapping[str, tuple[str, ...]] = {
    "both_none": ("The {both} are patent.",),
    "same": ("There is {left}narrowing of the left and right {both}.",),
    "left_only": ("There is {left}narrowing of the left {one}.", "The right {one} is patent."),
    "right_only": ("There is {right}narrowing of the right {one}.", "The left {one} is patent."),
    "different": (
        "There is {left}narrowing of the left {one}.",
        "There is {right}narrowing of the right {one}.",
    ),
}

# ---- Impression ------------------------------------------------------------------------

# A level is listed on its own Impression line when it has a disc herniation or
# stenosis of any grade in any field; a bulge alone is summarised on one shared line.
SIGNIFICANT_DISC = frozenset({"herniation"})

IMPRESSION_DISC: Mapping[str, str] = {"bulge": "Disc bulge", "herniation": "Disc herniation"}
IMPRESSION_CANAL = "{grade}spinal canal stenosis"
# Pair case -> phrases for that structure ({noun} = PAIRED[...]["impression"]).
IMPRESSION_PAIR: Mapping[str, tuple[str, ...]] = {
    "both_none": (),
    "same": ("{left}bilateral {noun}",),
    "left_only": ("{left}left {noun}",),
    "right_only": ("{right}right {noun}",),
    "different": ("{left}left {noun}", "{right}right {noun}"),
}

# Bulge-only levels, one line: (number of levels > 1) -> template.
IMPRESSION_BULGES: Mapping[bool, str] = {
    False: "Disc bulge without stenosis at {levels}.",
    True: "Disc bulges without stenosis at {levels}.",
}

# (any significant level, any bulge-only level) -> the sentence about the levels
# with nothing to report. {scope} names them: the whole lumbar spine when it opens
# the Impression of a clean five-level study, else the levels themselves (an explicit
# list, so a reader or the labeller never has to guess what "the others" are).
IMPRESSION_REST: Mapping[tuple[bool, bool], str] = {
    (False, False): (
        "No disc bulge or herniation and no spinal canal, lateral recess or neural foraminal"
        " stenosis {scope}."
    ),
    (False, True): (
        "No disc herniation and no spinal canal, lateral recess or neural foraminal"
        " stenosis {scope}."
    ),
    (True, False): "No disc bulge, herniation or stenosis {scope}.",
    (True, True): "No disc bulge, herniation or stenosis {scope}.",
}
WHOLE_SPINE = "in the lumbar spine"
AT_LEVELS = "at {levels}"
IMPRESSION_NOT_ASSESSED = "Not assessed: {levels}."
# No level could be named: the whole reading is refused (the reason is the models').
IMPRESSION_REFUSED = "No AI reading: {reason}. The levels must be read from the images."
