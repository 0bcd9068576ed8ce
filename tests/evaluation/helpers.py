"""Small recordings and estimators for the evaluation tests (no real data, no torch)."""

from __future__ import annotations

from typing import Any

import numpy as np

from myoshift.recording import Layout, Recording, RecordingSet


def gesture_recording(
    label: int,
    n_samples: int = 200,
    n_channels: int = 4,
    fs: float = 100.0,
    seed: int = 0,
    gain: Any = 1.0,
    layout: Layout | None = None,
    **meta: Any,
) -> Recording:
    """One single-gesture recording whose channel ``label % C`` is loudest."""
    rng = np.random.default_rng(seed)
    scale = np.ones(n_channels)
    scale[label % n_channels] = 4.0
    emg = rng.standard_normal((n_samples, n_channels)) * scale * gain
    return Recording(
        emg.astype(np.float32),
        fs,
        np.full(n_samples, label),
        layout or Layout.ring(n_channels),
        meta={"dataset": "test", **meta},
        class_names=("rest", "a", "b", "c"),
    )


def make_set(
    subjects: tuple[Any, ...] = (1, 2, 3),
    sessions: tuple[Any, ...] = (1,),
    reps: int = 3,
    classes: int = 3,
    rep_key: str = "repetition",
    session_key: str = "session",
    dataset: str = "test",
    extra: dict[Any, dict[str, Any]] | None = None,
    gain: dict[Any, Any] | None = None,
    **kw: Any,
) -> RecordingSet:
    """One recording per (subject, session, repetition, class), like myoarmband / kanoga."""
    out = []
    seed = 0
    for s in subjects:
        for sess in sessions:
            for r in range(1, reps + 1):
                for c in range(classes):
                    seed += 1
                    meta = {"subject": s, session_key: sess, rep_key: r, **(extra or {}).get(s, {})}
                    out.append(
                        gesture_recording(
                            c,
                            seed=seed,
                            gain=(gain or {}).get(s, 1.0),
                            dataset=dataset,
                            **meta,
                            **kw,
                        )
                    )
    return RecordingSet(out)


def ninapro_like(subject: int = 1, reps: int = 10, classes: int = 3, seg: int = 60) -> Recording:
    """One continuous recording: per repetition every class then rest, reps coded per sample
    (rest = repetition 0), like Ninapro's ``rerepetition``."""
    labels, rep = [], []
    for r in range(1, reps + 1):
        for c in range(1, classes + 1):
            labels += [c] * seg + [0] * seg
            rep += [r] * seg + [0] * seg
    n = len(labels)
    rng = np.random.default_rng(subject)
    lab = np.array(labels)
    emg = rng.standard_normal((n, 4)) * (1 + 3 * (np.arange(4)[None, :] == (lab[:, None] % 4)))
    return Recording(
        emg.astype(np.float32),
        100.0,
        lab,
        Layout.ring(4),
        repetition=np.array(rep),
        meta={"dataset": "ninapro-db1", "subject": subject, "exercise": 1},
    )


def log_rms(X: np.ndarray) -> np.ndarray:
    X = getattr(X, "X", X)  # the runner hands Windows: their lazy window array
    return np.log(np.sqrt(np.mean(np.asarray(X, dtype=float) ** 2, axis=2)) + 1e-9)


class CentroidClassifier:
    """Nearest centroid on per-channel log RMS; ``adapt`` moves centroids to the target."""

    def __init__(self, fs: float = 100.0, seed: int = 0, fail_above: float | None = None) -> None:
        self.fs = fs
        self.seed = seed
        self.fail_above = fail_above

    def fit(self, X: np.ndarray, y: np.ndarray) -> CentroidClassifier:
        F = log_rms(X)
        self.classes_ = np.unique(y)
        self.centroids_ = np.stack([F[y == c].mean(axis=0) for c in self.classes_])
        return self

    def adapt(self, X: np.ndarray, y: np.ndarray) -> CentroidClassifier:
        F = log_rms(X)
        for i, c in enumerate(self.classes_):
            if (y == c).any():
                self.centroids_[i] = F[y == c].mean(axis=0)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if (
            self.fail_above is not None
            and float(np.abs(getattr(X, "X", X)).max()) > self.fail_above
        ):
            raise ValueError("signal too large for this test estimator")
        F = log_rms(X)
        d = ((F[:, None, :] - self.centroids_[None]) ** 2).sum(axis=2)
        return np.asarray(self.classes_[np.argmin(d, axis=1)])


class NoAdapt:
    """An estimator without ``adapt`` (majority class)."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> NoAdapt:
        vals, counts = np.unique(y, return_counts=True)
        self.c_ = vals[np.argmax(counts)]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), self.c_)


def build_centroid(fs: float, seed: int) -> CentroidClassifier:
    return CentroidClassifier(fs, seed)


def build_fragile(fs: float, seed: int) -> CentroidClassifier:
    return CentroidClassifier(fs, seed, fail_above=100.0)


def build_noadapt(fs: float, seed: int) -> NoAdapt:
    return NoAdapt()


def build_broken(fs: float, seed: int) -> NoAdapt:
    raise ValueError("this method cannot be built")
