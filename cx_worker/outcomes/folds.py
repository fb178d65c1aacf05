"""Stratified folds: the cross-validation split the fusion model's calibration, the outcome-words model's
out-of-fold probabilities and the classifier's evaluation share."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def stratified_folds(labels: Sequence[str], n_folds: int, *, seed: int = 0) -> list[np.ndarray]:
    """Test indexes of `n_folds` folds, each label spread evenly over the folds (shuffled by `seed`)."""
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(n_folds)]
    offset = 0
    for label in sorted(set(labels)):
        members = np.array([i for i, lab in enumerate(labels) if lab == label])
        rng.shuffle(members)
        for j, i in enumerate(members):
            folds[(j + offset) % n_folds].append(int(i))
        offset += len(members)  # the next label starts where this one stopped: fold sizes stay even
    return [np.array(sorted(f), dtype=int) for f in folds]
