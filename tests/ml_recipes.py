"""Training recipes small enough for tests: they exercise every step, not accuracy."""

from __future__ import annotations


def tiny_seg_recipe():
    from inference.ml.training import SegRecipe

    return SegRecipe(
        pretrain_steps=2,
        finetune_steps=2,
        batch=2,
        patch=32,
        bank_anatomies=1,
        bank_slices_per_anatomy=2,
    )
