"""A built-in simulator of armband EMG with controllable domain shift.

The ``synthetic`` dataset needs no files: every recording is generated on the fly,
deterministically from ``seed``. It is the default for demos and fast tests and is built
so that classifiers behave on it roughly as on real armband data: easy within a
session, harder across days and clearly harder across people.

Generative model
----------------
*Task.* ``n_muscles`` virtual muscles sit at angles around the forearm. Each gesture
(class ``1 .. n_classes - 1``) is a synergy: a vector of muscle activation levels with
two to four dominant muscles. Rest (class 0) is a faint tonic activation of all muscles.

*Subject (anatomy).* Each person gets their own muscle angles (template + jitter), spatial
spread of each muscle, a placement offset of the armband, a personal variant of every
synergy, an overall gain (skin, fat) and a random ``gender``. The muscle → electrode
mixing matrix is a von Mises bump of each muscle around the ring of electrodes.

*Session (donning).* Each session the armband is put on again: a fractional rotation
around the ring (the mixing is evaluated at the rotated electrode angles, which is an
exact fractional shift of the ring), per-electrode gain drift (contact impedance), a noise
floor and a fatigue-like compression of the spectrum (``fatigue`` < 1 lowers the median
frequency), which grows over the session.

*Signal.* Each muscle's source is band-limited Gaussian noise with an EMG-shaped spectrum
(peak ~80-120 Hz at ``fs = 1000``, limited to 20-450 Hz and to the Nyquist band),
amplitude-modulated by its activation; activation ramps up and down with raised-cosine
onset/offset ramps, varies in force from one repetition to the next and fluctuates
slowly within a contraction. Electrodes see the mixed sources plus white noise.

Recordings
----------
One recording per (subject, session, repetition): a cycle through all gestures in
order, each preceded by a rest period, with a final rest. Samples are labelled with the
gesture where its activation envelope is at least half its plateau (the middle of the
ramps), else ``REST``; ``repetition`` is the cycle number for every sample. Amplitudes
are in mV. Metadata: ``dataset, subject, session, day (= session), repetition, gender,
split`` (``split`` is ``pretraining`` for the first half of the subjects and
``evaluation`` for the rest, mirroring the Myo armband dataset).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from myoshift.datasets.base import Dataset, Unit, register_dataset
from myoshift.errors import ConfigError
from myoshift.recording import REST, Layout, Recording

log = logging.getLogger(__name__)

__all__ = ["SyntheticDataset", "default_class_names"]

_TASK_STREAM = 0x7A5C  # seed-sequence tag of the subject-independent task definition


def default_class_names(n_classes: int) -> tuple[str, ...]:
    """``("rest", "gesture1", ..., "gesture{n-1}")``."""
    return ("rest", *(f"gesture{k}" for k in range(1, n_classes)))


@dataclass(frozen=True)
class _Task:
    muscle_angles: np.ndarray  # (M,)
    synergies: np.ndarray  # (n_classes, M); row 0 = rest


@dataclass(frozen=True)
class _Subject:
    muscle_angles: np.ndarray  # (M,)
    kappa: np.ndarray  # (M,) von Mises concentration (spatial focus)
    muscle_gain: np.ndarray  # (M,)
    placement: float  # armband offset, in electrode steps
    synergies: np.ndarray  # (n_classes, M)
    gain: float
    gender: str


@dataclass(frozen=True)
class _Session:
    rotation: float  # electrode steps (fractional)
    channel_gain: np.ndarray  # (C,)
    noise_std: float  # mV
    fatigue_start: float  # spectral compression factor at the start (<= 1)
    fatigue_end: float


@register_dataset
class SyntheticDataset(Dataset):
    """Simulated multi-subject, multi-session armband EMG with domain shift.

    Parameters
    ----------
    n_subjects, n_sessions, n_repetitions : int
        People, sessions (armband donnings / days) per person and gesture cycles per
        session (one recording each).
    n_classes : int
        Classes including rest (class 0), so ``n_classes - 1`` gestures.
    rep_seconds, rest_seconds : float
        Mean duration of one gesture contraction and of the rest before it (each drawn
        within ±15 %).
    fs : float
        Sampling rate in Hz (default 200, as a Myo armband; 1000 gives the full
        20-450 Hz EMG band).
    n_channels : int
        Electrodes evenly spaced on a ring.
    shift : float
        Strength of the between-session shift (rotation, gain drift, noise, fatigue);
        0 makes sessions of a subject statistically identical.
    subject_variability : float
        Strength of the between-subject differences (anatomy, synergies, placement).
    n_muscles : int
        Number of virtual muscles.
    seed : int
        Everything is a deterministic function of the parameters and this seed; a
        subject's recordings do not depend on which other subjects are loaded.
    data_dir, cache_dir, use_cache
        Accepted for a uniform interface; nothing is read or cached.
    """

    name = "synthetic"
    folder = "synthetic"
    description = "Built-in simulator: 8-electrode armband EMG with subject/session shift"
    citation = "myoshift built-in simulator (no publication)"
    licence = "BSD-3-Clause (generated data)"
    url = ""
    fs = 200.0
    n_channels = 8
    class_names = default_class_names(6)
    parser_version = 1

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        use_cache: bool = False,
        *,
        n_subjects: int = 6,
        n_sessions: int = 2,
        n_classes: int = 6,
        n_repetitions: int = 5,
        rep_seconds: float = 3.0,
        rest_seconds: float = 2.0,
        fs: float = 200.0,
        n_channels: int = 8,
        shift: float = 1.0,
        subject_variability: float = 1.0,
        n_muscles: int = 10,
        seed: int = 0,
    ) -> None:
        # generated data are never cached: `Dataset.load` then parses (= simulates) each unit
        super().__init__(data_dir, cache_dir, use_cache=False)
        for key, ivalue, ilow in (
            ("n_subjects", n_subjects, 1),
            ("n_sessions", n_sessions, 1),
            ("n_classes", n_classes, 2),
            ("n_repetitions", n_repetitions, 1),
            ("n_channels", n_channels, 3),
            ("n_muscles", n_muscles, 2),
        ):
            _check_int(key, ivalue, ilow)
        for key, fvalue, flow in (
            ("rep_seconds", rep_seconds, 0.5),
            ("rest_seconds", rest_seconds, 0.2),
            ("fs", fs, 100.0),
            ("shift", shift, 0.0),
            ("subject_variability", subject_variability, 0.0),
        ):
            _check_float(key, fvalue, flow)
        self.n_subjects = int(n_subjects)
        self.n_sessions = int(n_sessions)
        self.n_repetitions = int(n_repetitions)
        self.rep_seconds = float(rep_seconds)
        self.rest_seconds = float(rest_seconds)
        self.shift = float(shift)
        self.subject_variability = float(subject_variability)
        self.n_muscles = int(n_muscles)
        self.seed = int(seed)
        # Instance values shadow the class defaults (the registry describes the default).
        self.__dict__["fs"] = float(fs)
        self.__dict__["n_channels"] = int(n_channels)
        self.__dict__["class_names"] = default_class_names(int(n_classes))
        self._task = self._make_task()

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def params(self) -> dict[str, Any]:
        """The generator's parameters (enough to regenerate the exact same data)."""
        return {
            "n_subjects": self.n_subjects,
            "n_sessions": self.n_sessions,
            "n_classes": self.n_classes,
            "n_repetitions": self.n_repetitions,
            "rep_seconds": self.rep_seconds,
            "rest_seconds": self.rest_seconds,
            "fs": self.fs,
            "n_channels": self.n_channels,
            "shift": self.shift,
            "subject_variability": self.subject_variability,
            "n_muscles": self.n_muscles,
            "seed": self.seed,
        }

    # -- Dataset contract ----------------------------------------------------------------
    @property
    def root(self) -> Path:
        """Not used: the data are generated (kept for the common interface)."""
        return self.data_dir / self.folder

    def found(self) -> bool:
        return True

    def units(self, root: Path) -> list[Unit]:
        return [Unit(f"subject{s:02d}", s, ()) for s in range(1, self.n_subjects + 1)]

    def parse_unit(self, root: Path, unit: Unit) -> list[Recording]:
        return self.generate_subject(int(unit.subject))

    # -- generator ------------------------------------------------------------------------
    def _rng(self, *tags: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, *tags]))

    def _make_task(self) -> _Task:
        rng = self._rng(_TASK_STREAM)
        m = self.n_muscles
        # Muscles spread around the forearm, not perfectly evenly.
        angles = (np.arange(m) + rng.uniform(-0.3, 0.3, m)) * (2 * np.pi / m)
        syn = np.empty((self.n_classes, m))
        syn[REST] = rng.uniform(0.01, 0.04, m)
        for g in range(1, self.n_classes):
            for _ in range(100):  # keep synergies distinct from each other
                act = rng.uniform(0.0, 0.12, m)
                k = int(rng.integers(2, min(4, m) + 1))
                act[rng.choice(m, size=k, replace=False)] = rng.uniform(0.45, 1.0, k)
                others = syn[1:g]
                if g == 1 or _min_cosine_distance(act, others) > 0.25:
                    break
            syn[g] = act
        return _Task(angles, syn)

    def _make_subject(self, subject: int) -> _Subject:
        rng = self._rng(1, subject)
        v = self.subject_variability
        m = self.n_muscles
        t = self._task
        angles = t.muscle_angles + rng.normal(0.0, 0.35 * v, m)
        kappa = np.exp(rng.normal(np.log(2.0), 0.3 * v, m))
        muscle_gain = np.exp(rng.normal(0.0, 0.3 * v, m))
        placement = float(rng.normal(0.0, 0.5 * v))
        syn = t.synergies.copy()
        syn[1:] = syn[1:] * np.exp(rng.normal(0.0, 0.4 * v, syn[1:].shape))
        syn[1:] += rng.uniform(0.0, 0.12 * v, syn[1:].shape)
        syn = np.clip(syn, 0.0, 1.0)
        gain = float(np.exp(rng.normal(0.0, 0.35 * v)))
        gender = str(rng.choice(["female", "male"]))
        return _Subject(angles, kappa, muscle_gain, placement, syn, gain, gender)

    def _make_session(self, subject: int, session: int) -> _Session:
        rng = self._rng(2, subject, session)
        s = self.shift
        c = self.n_channels
        rotation = float(rng.normal(0.0, 0.35 * s)) if session > 1 else 0.0
        channel_gain = np.exp(rng.normal(0.0, 0.12 * s, c))
        noise_std = 0.004 * float(np.exp(rng.normal(0.0, 0.4 * s)))
        fatigue_start = float(np.clip(1.0 - abs(rng.normal(0.0, 0.06 * s)), 0.6, 1.0))
        fatigue_end = float(np.clip(fatigue_start - rng.uniform(0.0, 0.12 * s), 0.55, 1.0))
        return _Session(rotation, channel_gain, noise_std, fatigue_start, fatigue_end)

    def mixing_matrix(self, subject: int, session: int = 1) -> np.ndarray:
        """The (n_channels, n_muscles) muscle → electrode mixing of a subject's session."""
        sub = self._make_subject(subject)
        ses = self._make_session(subject, session)
        return _mixing(sub, ses, self.n_channels)

    def generate_subject(self, subject: int) -> list[Recording]:
        """All recordings of one subject (1-based), in session then repetition order."""
        if not 1 <= subject <= self.n_subjects:
            raise ConfigError(f"synthetic: subject must be in 1..{self.n_subjects}, got {subject}")
        sub = self._make_subject(subject)
        split = "pretraining" if subject <= self.n_subjects // 2 else "evaluation"
        recs = []
        for session in range(1, self.n_sessions + 1):
            ses = self._make_session(subject, session)
            mix = _mixing(sub, ses, self.n_channels) * sub.gain
            for rep in range(1, self.n_repetitions + 1):
                rng = self._rng(3, subject, session, rep)
                progress_frac = (rep - 1) / max(1, self.n_repetitions - 1)
                fatigue = ses.fatigue_start + (ses.fatigue_end - ses.fatigue_start) * progress_frac
                emg, labels = self._cycle(rng, sub, ses, mix, fatigue)
                meta = {
                    "dataset": self.name,
                    "subject": subject,
                    "session": session,
                    "day": session,
                    "repetition": rep,
                    "gender": sub.gender,
                    "split": split,
                    "source": f"synthetic/s{subject:02d}/session{session}/rep{rep}",
                }
                recs.append(
                    Recording(
                        emg,
                        self.fs,
                        labels,
                        Layout.ring(self.n_channels),
                        np.full(len(labels), rep, dtype=np.int64),
                        meta=meta,
                        class_names=self.class_names,
                    )
                )
        return recs

    def _cycle(
        self,
        rng: np.random.Generator,
        sub: _Subject,
        ses: _Session,
        mix: np.ndarray,
        fatigue: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One cycle: (rest, gesture) for every gesture, then a final rest."""
        fs = self.fs
        segments: list[tuple[int, int]] = []  # (class, n_samples)
        for g in range(1, self.n_classes):
            segments.append((REST, _dur(rng, self.rest_seconds, fs)))
            segments.append((g, _dur(rng, self.rep_seconds, fs)))
        segments.append((REST, _dur(rng, self.rest_seconds, fs)))
        n = sum(k for _, k in segments)
        act = np.empty((n, self.n_muscles))
        labels = np.full(n, REST, dtype=np.int64)
        rest_level = sub.synergies[REST]
        pos = 0
        for cls, k in segments:
            if cls == REST:
                act[pos : pos + k] = rest_level
            else:
                env = _envelope(rng, k, fs)
                force = rng.uniform(0.6, 1.0)
                pattern = np.clip(
                    sub.synergies[cls] * np.exp(rng.normal(0.0, 0.2, rest_level.size)), 0, 1
                )
                wobble = 1.0 + 0.15 * _slow_noise(rng, k, fs, self.n_muscles)
                act[pos : pos + k] = rest_level + env[:, None] * force * pattern * wobble
                labels[pos : pos + k][env >= 0.5] = cls
            pos += k
        sources = _emg_noise(rng, n, self.n_muscles, fs, fatigue) * act * sub.muscle_gain
        emg = sources @ mix.T * ses.channel_gain
        emg += rng.normal(0.0, ses.noise_std, emg.shape)
        return emg.astype(np.float32), labels


# -- helpers ----------------------------------------------------------------------------------
def _check_int(key: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigError(f"synthetic: {key} must be an integer >= {low}, got {value!r}")


def _check_float(key: str, value: Any, low: float) -> None:
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    if not (ok and np.isfinite(value) and value >= low):
        raise ConfigError(f"synthetic: {key} must be a number >= {low}, got {value!r}")


def _min_cosine_distance(a: np.ndarray, others: np.ndarray) -> float:
    if len(others) == 0:
        return 1.0
    cos = others @ a / (np.linalg.norm(others, axis=1) * np.linalg.norm(a) + 1e-12)
    return float(1.0 - cos.max())


def _mixing(sub: _Subject, ses: _Session, n_channels: int) -> np.ndarray:
    """Von Mises spatial bump of each muscle seen from each (rotated) electrode, in mV."""
    step = 2 * np.pi / n_channels
    electrodes = (np.arange(n_channels) + sub.placement + ses.rotation) * step
    d = electrodes[:, None] - sub.muscle_angles[None, :]
    bump = np.exp(sub.kappa[None, :] * (np.cos(d) - 1.0))
    return 0.5 * bump  # full activation of a muscle right under an electrode ~0.5 mV RMS


def _dur(rng: np.random.Generator, seconds: float, fs: float) -> int:
    return max(4, round(seconds * rng.uniform(0.85, 1.15) * fs))


def _envelope(rng: np.random.Generator, n: int, fs: float) -> np.ndarray:
    """Raised-cosine onset and offset ramps around a plateau of 1."""
    env = np.ones(n)
    for side in (0, 1):
        k = min(n // 3, max(1, round(rng.uniform(0.2, 0.45) * fs)))
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, k))
        if side == 0:
            env[:k] = ramp
        else:
            env[n - k :] = ramp[::-1]
    return env


def _slow_noise(rng: np.random.Generator, n: int, fs: float, m: int) -> np.ndarray:
    """Smooth zero-mean fluctuations (< ~2 Hz), unit-ish amplitude, shape (n, m)."""
    k = max(2, int(n / fs * 2) + 2)
    knots = rng.normal(0.0, 1.0, (k, m))
    x = np.linspace(0, k - 1, n)
    return np.stack([np.interp(x, np.arange(k), knots[:, j]) for j in range(m)], axis=1)


def _emg_noise(
    rng: np.random.Generator, n: int, m: int, fs: float, compression: float
) -> np.ndarray:
    """Unit-variance Gaussian noise with an EMG-like spectrum, shape (n, m).

    Spectrum shape after Shwedyk et al. (1977): ``f^2 fh^4 / ((f^2 + fl^2)(f^2 + fh^2)^2)``
    with ``fl = 60 c`` and ``fh = 120 c`` Hz, band-limited to 20-450 Hz (and below 0.95
    Nyquist). ``c = compression`` < 1 compresses it towards low frequencies (fatigue).
    """
    f = np.fft.rfftfreq(n, 1.0 / fs)
    fl, fh = 60.0 * compression, 120.0 * compression
    psd = f**2 * fh**4 / ((f**2 + fl**2) * (f**2 + fh**2) ** 2)
    psd[(f < 20.0) | (f > min(450.0, 0.475 * fs))] = 0.0
    spec = rng.normal(size=(len(f), m)) + 1j * rng.normal(size=(len(f), m))
    x = np.fft.irfft(spec * np.sqrt(psd)[:, None], n=n, axis=0)
    std = x.std(axis=0, keepdims=True)
    return x / np.where(std > 0, std, 1.0)
