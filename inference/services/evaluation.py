"""``evaluate_models --real``: the whole pipeline on real volumes with masks.

Each volume goes the way a study does in production: NIfTI to DICOM, ingest (with
de-identification), an inference job run stage by stage, predictions stored. The
scores then compare what was stored with the volume's masks
(:mod:`inference.ml.evaluate_real`).

With ``folds`` the volumes are split by patient (each volume is one subject) and
every fold is read by a model fine-tuned on the other folds only; all folds share one
pre-training on synthetic data, which sees no real volume.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydicom.uid import generate_uid

from inference import selectors
from inference.models import InferenceJob, ModelVersion
from inference.services.jobs import execute_inference_job
from inference.services.nifti import import_nifti
from inference.services.training import train_model_version
from studies.models import Study
from studies.selectors import study_by_any_uid

if TYPE_CHECKING:  # torch-free, but the pipeline's modules load scipy: for typing only
    from inference.ml.acquisition import Acquisition

PATIENT_PREFIX = "REALEVAL-"


def _study_for(path: Path, key: str, acquired: str = "") -> Study:
    """Import the volume (a re-import stores nothing twice) and return its study;
    ``acquired`` names the simulated acquisition a volume was resampled to, which makes
    it a study of its own."""
    original_uid = generate_uid(
        entropy_srcs=["radbot-real-evaluation", key, *([acquired] if acquired else [])]
    )
    import_nifti(
        path=path,
        patient_id=f"{PATIENT_PREFIX}{key}",
        study_uid=original_uid,
        series_description=f"SAG T2 {key}" + (f" ({acquired})" if acquired else ""),
    )
    study = study_by_any_uid(original_uid)
    if study is None:
        raise RuntimeError(f"{key}: the imported study cannot be found")
    return study


def read_volume(*, path: Path, real, version: ModelVersion, acquisition: Acquisition | None = None):
    """Import, run one job with ``version``, score what it stored. With ``acquisition``
    (:class:`inference.ml.acquisition.Acquisition`) the volume and its mask are first
    resampled to that series geometry, and the resampled series is what is imported."""
    from inference.ml.evaluate_real import align_classes, score_volume  # torch: seconds to import
    from inference.ml.localisation import find_discs  # scipy: with the scoring, as above

    if acquisition is None:
        study = _study_for(path, real.key)
    else:
        # scipy and nibabel, as above: only to resample a volume
        from inference.ml.acquisition import acquire_real
        from inference.ml.volume import save_volume_as_nifti

        real = acquire_real(real, acquisition)
        with tempfile.TemporaryDirectory(prefix="radbot-acquired-") as tmp:
            # uncompressed: gzip would stamp the time, and the UIDs follow the file's bytes
            resampled = Path(tmp) / path.name.removesuffix(".gz")
            save_volume_as_nifti(real.volume, resampled)
            study = _study_for(resampled, real.key, acquisition.describe())
    job = InferenceJob.objects.create(study=study, model_version=version)
    started = time.perf_counter()
    job = execute_inference_job(job_id=job.pk)
    seconds = time.perf_counter() - started
    classes = None
    mask_file = selectors.job_dir(job.pk) / selectors.JOB_MASK_FILE
    if mask_file.is_file():
        with np.load(mask_file) as stored:
            classes = align_classes(real, stored["classes"], stored["positions"])
    # every disc the localiser sees in the stored mask, named or not (T12-L1 included)
    found = len(find_discs(real.volume, classes)) if classes is not None else 0
    if job.status != InferenceJob.Status.DONE:
        score = score_volume(
            real,
            named_centres={},
            classes=classes,
            discs_found=found,
            refusal=job.error or job.status,
        )
    else:
        preds = list(job.predictions.select_related("level"))
        score = score_volume(
            real,
            named_centres={p.level.level: p.centre_mm for p in preds},
            classes=classes,
            discs_found=found,
            not_assessed=getattr(job, "not_assessed", {}) or {},
        )
        score.ap_mm = {p.level.level: p.ap_diameter_mm for p in preds}
        score.canal_grades = {p.level.level: p.canal_stenosis for p in preds}
    score.seconds = round(seconds, 2)
    return score


def evaluate_real(
    *,
    root: str | Path,
    version: ModelVersion | None = None,
    folds: int = 0,
    seed: int = 0,
    fold_seed: int = 0,
    train_settings=None,
    limit: int | None = None,
    reuse_folds: bool = False,
    save_pretrained: str | Path | None = None,
    pretrained_file: str | Path | None = None,
    acquisition: Acquisition | None = None,
    say: Callable[[str], None] = print,
) -> list:
    # torch and scipy (seconds to import): loaded to evaluate, not with the module.
    from inference.ml.evaluate_real import folds_by_volume
    from inference.ml.real_data import find_real_volumes, load_real_volume

    paths = find_real_volumes(root)[:limit]
    if not paths:
        raise FileNotFoundError(f"no *_image.nii.gz with labels.json under {root}")
    reals = [load_real_volume(p) for p in paths]
    scores = []
    if not folds:
        if version is None:
            raise ValueError("a model version is needed when not cross-validating")
        seen = set((version.data_split or {}).get("real_train", []))
        for path, real in zip(paths, reals, strict=True):
            s = read_volume(path=path, real=real, version=version, acquisition=acquisition)
            s.fold = None
            scores.append(s)
            say(_line(s) + ("   (trained on it)" if real.key in seen else ""))
        return scores
    fold_of = folds_by_volume(
        [r.key for r in reals], [r.kind for r in reals], folds, shuffle_seed=fold_seed
    )
    pretrained = None
    if pretrained_file and not reuse_folds:
        from inference.ml.pretrained import load_pretrained  # torch, as in _pretrain

        pretrained, digest = load_pretrained(pretrained_file)
        say(f"pre-trained weights from {pretrained_file} sha256 {digest}")
    elif not reuse_folds:
        pretrained = _pretrain(seed=seed, train_settings=train_settings, say=say)
    if pretrained is not None and save_pretrained and not pretrained_file:
        from inference.ml.pretrained import save_pretrained as save  # torch, as in _pretrain

        digest = save(pretrained, save_pretrained)
        say(f"pre-trained weights (no real volume seen) -> {save_pretrained} sha256 {digest}")
    for k in range(folds):
        train = [r for r, f in zip(reals, fold_of, strict=True) if f != k]
        say(
            f"fold {k + 1}/{folds}: fine-tuned on {len(train)} volumes, reading {len(reals) - len(train)}"
        )
        if reuse_folds:
            version_k = _fold_model(k, folds, {r.key for r in train})
            say(f"  reusing {version_k.name}")
        else:
            version_k = _train_fold(
                k,
                folds,
                seed=seed,
                train_settings=train_settings,
                real=train,
                pretrained=pretrained,
                say=say,
            )
        for path, real, f in zip(paths, reals, fold_of, strict=True):
            if f != k:
                continue
            s = read_volume(path=path, real=real, version=version_k, acquisition=acquisition)
            s.fold = k
            scores.append(s)
            say(_line(s))
    return scores


def _pretrain(*, seed: int, train_settings, say: Callable[[str], None]) -> dict:
    # torch (seconds to import): loaded to train, not with the module.
    from inference.ml.bundle import ModelConfig, build_models
    from inference.ml.segmentation import SegSlices, prepare_slices
    from inference.ml.training import TrainSettings, patient_split, train_segmenter

    recipe = (train_settings or TrainSettings()).seg
    config = ModelConfig()
    seg, _, _ = build_models(config)
    train, _ = patient_split(selectors.training_studies(), (0.8, 0.2), seed)
    archive = SegSlices()
    for st in train:
        if st.sag_mask is not None:
            archive.extend(
                prepare_slices(
                    st.sag_t2, st.sag_mask, config.work_spacing_mm, intensity=config.intensity()
                )
            )
    say(f"pre-training on synthetic label maps and {len(train)} archive studies (no real volume)")
    started = time.perf_counter()
    train_segmenter(
        seg,
        config,
        recipe,
        seed=seed,
        archive=archive if archive.images else None,
        progress=lambda r: say(
            f"  step {r['step']} loss {r['train_loss']:.3f} {r['elapsed_s']:.0f} s"
        ),
    )
    say(f"pre-trained in {time.perf_counter() - started:.0f} s")
    return {k: v.clone() for k, v in seg.state_dict().items()}


def _fold_model(k: int, folds: int, train_keys: set[str]) -> ModelVersion:
    """The newest model trained for this fold, checked to have seen exactly its volumes."""
    for version in ModelVersion.objects.filter(name__endswith=f"-cv{k + 1}of{folds}").order_by(
        "-created_at"
    ):
        if set((version.data_split or {}).get("real_train", [])) == train_keys:
            return version
    raise ValueError(
        f"no model trained for fold {k + 1} of {folds} on exactly its volumes; run without --reuse-folds"
    )


def _train_fold(
    k: int,
    folds: int,
    *,
    seed: int,
    train_settings,
    real: Sequence,
    pretrained: dict,
    say: Callable[[str], None],
) -> ModelVersion:
    started = time.perf_counter()
    version = train_model_version(
        epochs=8,
        seed=seed,
        split=(0.8, 0.2),
        train_settings=train_settings,
        real=real,
        pretrained=pretrained,
        name_suffix=f"-cv{k + 1}of{folds}",
        command=f"evaluate_models --folds {folds}: fold {k + 1} (pre-trained once, fine-tuned on the other folds)",
    )
    say(f"  {version.name}: trained in {time.perf_counter() - started:.0f} s")
    return version


def _line(s) -> str:
    named = " ".join(
        f"{lv}{'' if lv not in s.wrong else '!=' + s.names[lv]}" for lv in sorted(s.names)
    )
    err = np.median(list(s.centre_error_mm.values())) if s.centre_error_mm else float("nan")
    dice = " ".join(f"{k}={v:.3f}" for k, v in s.dice.items())
    status = (
        "REFUSED: " + s.refusal
        if s.refusal
        else (
            "WRONG NAME"
            if s.wrong
            else ("all 5 right" if s.all_right else f"{len(s.names)} named, right")
        )
    )
    return (
        f"{s.key:8s} fold={'-' if s.fold is None else s.fold + 1} discs={s.discs_found} "
        f"{status:12s} named[{named}] "
        f"centre_err_med={err:.1f}mm{'' if s.centre_exact else '(est)'} {dice} t={s.seconds:.1f}s"
        + (f" not_assessed={s.not_assessed}" if s.not_assessed and not s.refusal else "")
    )
