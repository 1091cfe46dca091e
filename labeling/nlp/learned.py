"""A small learned layer over the rule features (pure; scikit-learn).

One LogisticRegression per field, trained from (report text, gold LevelLabels)
pairs on features the rules already compute for every level x field: the rank
of the deciding mentions (findings/impression, specific/range/global), counts
of affirmed / negated / hedged / historical / indirect / graded mentions,
conflict and hedge flags, the rule value and its confidence.

It is used only where the rules were unsure (rule confidence below
``rule_conf_below``: conflicts, hedges, indirect wording, global statements,
impression-only findings) and the classifier is confident (probability at
least ``min_prob``). Where it disagrees without being trusted, the field's
confidence is lowered. With no gold data there is no model: rules only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.linear_model import LogisticRegression

from spine.labels import FIELD_VALUES, FIELDS, LEVELS, LevelLabels

if TYPE_CHECKING:
    from labeling.nlp.labeller import Labeller, ReportLabels
    from labeling.nlp.resolver import FieldDecision

_STAT_KEYS = ("n", "affirmed", "negated", "hedged", "historical", "indirect", "graded")

MODELS_FILE = "models.json"
LEGACY_PICKLE = "models.pkl"
FORMAT = "radbot-learned-lr/1"


class UnsafeModelFile(ValueError):
    """A stored learned layer that is refused: a pickle, or not the expected JSON."""


def _n_features(fieldname: str) -> int:
    return len(_STAT_KEYS) + 3 + 9 + len(FIELD_VALUES[fieldname])


def _to_json(model: LogisticRegression | None) -> dict | None:
    if model is None:
        return None
    return {
        "params": {
            k: v for k, v in model.get_params().items() if isinstance(v, str | int | float | bool)
        },
        "classes": [str(c) for c in model.classes_],
        "coef": model.coef_.tolist(),
        "intercept": model.intercept_.tolist(),
    }


def _from_json(fieldname: str, data: dict | None) -> LogisticRegression | None:
    """A fitted LogisticRegression from its numbers; shapes are checked against the features."""
    if data is None:
        return None
    classes = data["classes"]
    coef = np.asarray(data["coef"], dtype=float)
    intercept = np.asarray(data["intercept"], dtype=float)
    if not (
        isinstance(classes, list) and len(classes) >= 2 and all(isinstance(c, str) for c in classes)
    ):
        raise ValueError(f"{fieldname}: classes must be two or more strings")
    rows = 1 if len(classes) == 2 else len(classes)
    if coef.shape != (rows, _n_features(fieldname)) or intercept.shape != (rows,):
        raise ValueError(
            f"{fieldname}: coefficients of shape {coef.shape}, intercepts {intercept.shape}"
        )
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
        raise ValueError(f"{fieldname}: coefficients must be finite numbers")
    # Only the fitting parameters this scikit-learn knows (prediction uses the numbers below).
    known = LogisticRegression().get_params()
    model = LogisticRegression(
        **{k: v for k, v in dict(data.get("params") or {}).items() if k in known}
    )
    model.classes_ = np.asarray(classes)
    model.coef_ = coef
    model.intercept_ = intercept
    model.n_features_in_ = coef.shape[1]
    model.n_iter_ = np.zeros(1, dtype=np.int32)
    return model


def features(decision: FieldDecision, fieldname: str) -> list[float]:
    st = decision.stats or {}
    rank = decision.rank
    onehot_rank = [1.0 if rank == r else 0.0 for r in range(8)] + [1.0 if rank is None else 0.0]
    values = FIELD_VALUES[fieldname]
    onehot_value = [1.0 if decision.value == v else 0.0 for v in values]
    return [
        *(float(st.get(k, 0)) for k in _STAT_KEYS),
        float(decision.conflict),
        float(decision.hedged),
        float(decision.confidence),
        *onehot_rank,
        *onehot_value,
    ]


class LearnedModel:
    def __init__(
        self, models: dict, rule_conf_below: float = 0.8, min_prob: float = 0.8, version: str = ""
    ):
        self.models = models  # field -> LogisticRegression | None
        self.rule_conf_below = rule_conf_below
        self.min_prob = min_prob
        self.version = version or "untrained"

    # -- persistence ------------------------------------------------------
    # The classifiers are stored as plain numbers (classes, coefficients, intercepts) in
    # JSON, never pickled: loading a pickle runs whatever code it names, and these files
    # sit under the shared media folder. A folder holding only the old models.pkl is
    # refused (retrain with ``manage.py train_labeller``).
    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        models = {f: _to_json(m) for f, m in sorted(self.models.items())}
        tmp = path / f".{MODELS_FILE}.tmp"
        tmp.write_text(json.dumps({"format": FORMAT, "models": models}))
        tmp.replace(path / MODELS_FILE)
        (path / LEGACY_PICKLE).unlink(missing_ok=True)
        (path / "meta.json").write_text(
            json.dumps(
                {
                    "version": self.version,
                    "rule_conf_below": self.rule_conf_below,
                    "min_prob": self.min_prob,
                    "fields": sorted(k for k, v in self.models.items() if v is not None),
                },
                indent=2,
            )
        )

    @classmethod
    def load(cls, path: str | Path) -> LearnedModel:
        path = Path(path)
        if not (path / MODELS_FILE).is_file():
            if (path / LEGACY_PICKLE).exists():
                raise UnsafeModelFile(
                    f"{path / LEGACY_PICKLE} is a pickle, which is never loaded (it could run code); "
                    "retrain the labeller with `manage.py train_labeller` to store it as JSON."
                )
            raise UnsafeModelFile(f"no {MODELS_FILE} in {path}")
        meta = json.loads((path / "meta.json").read_text())
        try:
            stored = json.loads((path / MODELS_FILE).read_text(encoding="utf-8"))
            if stored.get("format") != FORMAT:
                raise ValueError(f"format {stored.get('format')!r}, expected {FORMAT!r}")
            models = {f: _from_json(f, stored["models"].get(f)) for f in FIELDS}
        except (UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise UnsafeModelFile(
                f"{path / MODELS_FILE} is not a learned labeller model: {exc}"
            ) from exc
        return cls(
            models, float(meta["rule_conf_below"]), float(meta["min_prob"]), str(meta["version"])
        )

    # -- use --------------------------------------------------------------
    def apply(self, result: ReportLabels) -> None:
        """Override unsure rule values in a ReportLabels in place."""
        if not result.decisions:
            return
        for li, dec in enumerate(result.decisions):
            changes = {}
            for f in FIELDS:
                model = self.models.get(f)
                if model is None:
                    continue
                d = dec[f]
                x = np.asarray([features(d, f)])
                proba = model.predict_proba(x)[0]
                best = int(np.argmax(proba))
                value = model.classes_[best]
                if f == "uncertain":
                    value = value == "True"
                if value == d.value:
                    continue
                if d.confidence < self.rule_conf_below and proba[best] >= self.min_prob:
                    changes[f] = value
                    result.confidence[li][f] = round(float(proba[best]) * 0.9, 3)
                    result.evidence[li] = [e for e in result.evidence[li] if e["field"] != f]
                else:
                    result.confidence[li][f] = round(result.confidence[li][f] * 0.7, 3)
            if changes:
                result.levels[li] = dataclasses.replace(result.levels[li], **changes)


def train(
    pairs: Iterable[tuple[str, Sequence[LevelLabels]]],
    labeller: Labeller | None = None,
    C: float = 1.0,
    rule_conf_below: float = 0.8,
    min_prob: float = 0.8,
) -> LearnedModel:
    """Fit one classifier per field from (report text, gold LevelLabels) pairs."""
    # spaCy (seconds to import) only when fitting; loading a stored layer does not need it
    from labeling.nlp.labeller import Labeller

    labeller = labeller or Labeller()
    X: dict[str, list] = {f: [] for f in FIELDS}
    Y: dict[str, list] = {f: [] for f in FIELDS}
    digest = hashlib.sha256()
    for text, gold in pairs:
        gold_by = {g.level: g for g in gold}
        res = labeller.label(text)
        digest.update(text.encode("utf-8", "replace"))
        for li, level in enumerate(LEVELS):
            g = gold_by.get(level, LevelLabels(level=level))
            for f in FIELDS:
                X[f].append(features(res.decisions[li][f], f))
                Y[f].append(str(getattr(g, f)))
    models: dict[str, LogisticRegression | None] = {}
    for f in FIELDS:
        if len(set(Y[f])) < 2:
            models[f] = None
            continue
        clf = LogisticRegression(C=C, max_iter=2000)
        clf.fit(np.asarray(X[f]), np.asarray(Y[f]))
        models[f] = clf
    return LearnedModel(models, rule_conf_below, min_prob, version=f"lr-{digest.hexdigest()[:8]}")


def _field_errors(labeller: Labeller, pairs: Sequence[tuple[str, Sequence[LevelLabels]]]) -> int:
    errors = 0
    for (_text, gold), result in zip(
        pairs, labeller.label_many((str(i), t) for i, (t, _g) in enumerate(pairs)), strict=True
    ):
        gold_by = {g.level: g for g in gold}
        for predicted in result.levels:
            want = gold_by.get(predicted.level, LevelLabels(level=predicted.level))
            errors += sum(getattr(want, f) != getattr(predicted, f) for f in FIELDS)
    return errors


def compare_by_folds(
    pairs: Sequence[tuple[str, Sequence[LevelLabels]]],
    labeller: Labeller | None = None,
    folds: int = 5,
    seed: int = 0,
    **train_options: float,
) -> dict:
    """Field errors of the rules alone and of rules plus a learned layer on held-out reports.

    Reports are dealt into ``folds`` folds (shuffled with ``seed``); each fold is labelled by a
    layer trained on the others. The layer earns its place only with fewer errors than the rules.
    """
    from labeling.nlp.labeller import Labeller  # as in train(): loading a model needs no spaCy

    labeller = labeller or Labeller()
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)  # noqa: S311 - a seeded split, not a secret
    folds = max(2, min(folds, len(pairs)))
    rules_errors = combined_errors = 0
    for k in range(folds):
        held = [pairs[i] for i in order[k::folds]]
        train_on = [pairs[i] for j, i in enumerate(order) if j % folds != k]
        model = train(train_on, labeller=labeller, **train_options)
        rules_errors += _field_errors(labeller, held)
        combined_errors += _field_errors(Labeller(learned=model), held)
    return {
        "reports": len(pairs),
        "folds": folds,
        "seed": seed,
        "rules_field_errors": rules_errors,
        "rules_plus_learned_field_errors": combined_errors,
        "helps": combined_errors < rules_errors,
    }
