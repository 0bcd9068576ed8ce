"""flexemg (Moin et al. 2018): a flexible 16 x 4 high-density EMG array, 4 gestures + rest.

Folder layout (the authors' GitHub repository)::

    flexemg/
        arraymap.mat                       16 x 4: raw column (1-based) at each electrode
        data/001-Session1Train/001-001.mat subject 001, session 1, training half, trial 1
        data/001-Session2Test/001-010.mat  subject 001, session 2, test half, trial 10
        ...

Each trial file holds ``raw`` (n x 96 uint16 ADC codes at 1 kHz; columns 1..64 are
the array, the rest unused) and a struct ``p`` with ``lsbmV`` (mV per code),
``labelnames`` (Fist, Raise, Lower, Open), ``sequence`` (order of the gestures in the
trial, 1-based into ``labelnames``), ``timegest``/``timerest`` (ms) and ``reps``.

EMG: columns 1..64 times ``lsbmV`` (mV, offset kept as recorded); channel ``k`` of the
recording is raw column ``k + 1``, placed on the 16 x 4 grid by ``arraymap.mat``.

Label timing, as the authors' ``genlabels.m`` builds it and as the signal confirms:
``timerest`` of rest, then for each of ``reps`` repetitions the ``numlabels`` gestures
back to back, ``timegest`` each, in ``sequence`` order, then ``timerest`` of rest before
the next repetition. With the published values (5000 ms, 5000 ms, reps 1, 28 000
samples): rest 0-5 s, gestures 5-10, 10-15, 15-20, 20-25 s, rest 25-28 s. The signal
power per second is flat and low before 5 s and after 25 s and steps up exactly at
5 s (measured on all 20 files of subject 001). ``genlabels.m`` additionally marks a
band around each transition and the final 3 s as unused; this loader keeps the raw
schedule (the final rest is labelled rest), leaving transition handling to windowing.

Label codes: rest 0, then Fist 1, Raise 2, Lower 3, Open 4 (matched by name, so a file
with another ``labelnames`` order still gets the right codes). Repetition: gesture
samples get ``(trial - 1) * reps + r`` (r = 1..reps), i.e. the trial number when
``reps`` is 1; rest samples get 0.

Metadata: ``subject`` (int), ``session`` (int), ``split`` ("train"/"test", from the
folder name), ``trial`` (int, from the file name), ``source``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from myoshift.datasets._io import read_mat
from myoshift.datasets.base import Dataset, Unit, github_files, register_dataset
from myoshift.errors import DataFormatError
from myoshift.recording import REST, Layout, Recording

log = logging.getLogger(__name__)

__all__ = ["FlexEMG", "gesture_schedule", "read_arraymap"]

_SESSION_DIR = re.compile(
    r"(?P<subject>\d+)-Session(?P<session>\d+)(?P<split>Train|Test)", re.IGNORECASE
)
_TRIAL_FILE = re.compile(r"(?P<subject>\d+)-(?P<trial>\d+)\.mat")
N_GRID = 64
_P_FIELDS = ("lsbmV", "labelnames", "sequence", "timegest", "timerest", "reps")


def read_arraymap(path: Path) -> np.ndarray:
    """The 16 x 4 grid of 0-based channel indices from ``arraymap.mat``.

    Raises `DataFormatError` unless it is a 16 x 4 permutation of 1..64.
    """
    amap = np.asarray(read_mat(path, ["arraymap"])["arraymap"])
    if amap.shape != (16, 4):
        raise DataFormatError(path, f"'arraymap' has shape {amap.shape}; expected (16, 4)")
    if sorted(amap.ravel().tolist()) != list(range(1, N_GRID + 1)):
        raise DataFormatError(path, "'arraymap' is not a permutation of channels 1..64")
    return amap.astype(np.int64) - 1


def gesture_schedule(
    n_samples: int,
    sequence: np.ndarray,
    gest: int,
    rest: int,
    reps: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample gesture slot and repetition of a flexemg trial.

    Returns ``(slot, rep)``: ``slot`` is the 1-based entry of ``sequence`` active at
    each sample (0 = rest), ``rep`` the 1-based repetition (0 = rest). Times are in
    samples; the schedule is ``rest``, then per repetition the gestures back to back
    (``gest`` each), then ``rest`` (see the module docstring).
    """
    slot = np.zeros(n_samples, dtype=np.int64)
    rep = np.zeros(n_samples, dtype=np.int64)
    n = len(sequence)
    for r in range(reps):
        start = rest + r * (n * gest + rest)
        for j in range(n):
            a, b = start + j * gest, start + (j + 1) * gest
            slot[a:b] = j + 1
            rep[a:b] = r + 1
    return slot, rep


@register_dataset
class FlexEMG(Dataset):
    """flexemg: 64-channel flexible array (16 x 4 grid) at 1 kHz, 4 gestures + rest.

    See the module docstring for the grid mapping and the label timing.
    """

    name = "flexemg"
    folder = "flexemg"
    description = (
        "3 people, flexible 16x4 high-density array (64 ch, 1 kHz, mV), 4 gestures + rest, "
        "10 trials per session, sessions on different days"
    )
    citation = (
        "Moin A., Zhou A., Rahimi A., Benatti S., Menon A., Tamakloe S., Ting J., "
        "Yamamoto N., Khan Y., Burghardt F., Benini L., Arias A., Rabaey J. An EMG gesture "
        "recognition system with flexible high-density sensors and brain-inspired "
        "high-dimensional classifier. IEEE ISCAS 2018. doi:10.1109/ISCAS.2018.8351613"
    )
    licence = "GPL-3.0"
    url = "https://github.com/a-moin/flexemg"
    # The authors' repository at a fixed commit (its last, 2018-02-07): README, LICENSE,
    # arraymap.mat and data/ (3 subjects), each file checked against its SHA-256.
    downloads = (
        github_files(
            "a-moin/flexemg",
            "8ce40c5341f7099ea4e6d5db220752cdfaf9c74a",
            "flexemg.tsv.gz",
            "76a0e591262d5341e20b7e6b129a02f91ae0ea01e2978b637b58061bb49727b7",
        ),
    )
    fs = 1000.0
    n_channels = N_GRID
    class_names = ("rest", "fist", "raise", "lower", "open")
    # The raw values carry an offset of about 30 mV that drifts within and between
    # sessions (subject 001, channel 0: 28-30 mV in session 1, 33-37 mV in session 2)
    # against an EMG of about 0.04 mV: remove it, then keep the 20-450 Hz band.
    preprocess = ({"dc-remove": {"cutoff": 1.0}}, {"bandpass": {"low": 20, "high": 450}})

    def _data_root(self, root: Path) -> Path:
        return root / "data" if (root / "data").is_dir() else root

    def units(self, root: Path) -> list[Unit]:
        amap = root / "arraymap.mat"
        by_subject: dict[int, list[Path]] = {}
        for sess in sorted(p for p in self._data_root(root).iterdir() if p.is_dir()):
            m = _SESSION_DIR.fullmatch(sess.name)
            if m is None:
                continue
            files = [f for f in sorted(sess.iterdir()) if _TRIAL_FILE.fullmatch(f.name)]
            if not files:
                log.warning("%s: no NNN-TTT.mat trial files; session skipped", sess)
            by_subject.setdefault(int(m["subject"]), []).extend(files)
        if by_subject and not amap.is_file():
            raise DataFormatError(amap, "missing: the 16 x 4 electrode map of the dataset")
        return [
            Unit(key=f"subject-{s:03d}", subject=s, files=(amap, *files))
            for s, files in sorted(by_subject.items())
            if files
        ]

    def parse_unit(self, root: Path, unit: Unit) -> list[Recording]:
        amap_path, *trials = unit.files
        layout = Layout.grid(16, 4, read_arraymap(amap_path))
        recs = []
        for path in trials:
            sm = _SESSION_DIR.fullmatch(path.parent.name)
            tm = _TRIAL_FILE.fullmatch(path.name)
            assert sm is not None and tm is not None  # units() only lists matching names
            meta = {
                "subject": unit.subject,
                "session": int(sm["session"]),
                "split": sm["split"].lower(),
                "trial": int(tm["trial"]),
                "source": path.relative_to(root).as_posix(),
            }
            recs.append(self.parse_file(path, layout, **meta))
        return recs

    def parse_file(self, path: Path, layout: Layout, **meta: Any) -> Recording:
        """Parse one trial file; ``meta`` must hold ``trial``."""
        d = read_mat(path, ["raw", "p"], simplify_cells=True)
        raw = np.asarray(d["raw"])
        if raw.ndim != 2 or raw.shape[1] < N_GRID or raw.shape[0] == 0:
            raise DataFormatError(
                path, f"variable 'raw' has shape {raw.shape}; expected (n_samples, >= {N_GRID})"
            )
        if not np.issubdtype(raw.dtype, np.number):
            raise DataFormatError(path, f"variable 'raw' has dtype {raw.dtype}; expected numbers")
        p = d["p"]
        if not isinstance(p, dict):
            raise DataFormatError(path, "variable 'p' is not a struct")
        missing = [f for f in _P_FIELDS if f not in p]
        if missing:
            raise DataFormatError(path, f"struct 'p' lacks field(s) {missing}")
        lsb = _positive(path, p, "lsbmV", float)
        gest = round(_positive(path, p, "timegest", float) * self.fs / 1000.0)
        rest = round(_positive(path, p, "timerest", float) * self.fs / 1000.0)
        reps = int(_positive(path, p, "reps", int))
        names = [str(n).strip().lower() for n in np.atleast_1d(p["labelnames"])]
        unknown = [n for n in names if n not in self.class_names[1:]]
        if unknown:
            raise DataFormatError(
                path,
                f"unknown label name(s) {unknown} in p.labelnames; expected Fist/Raise/Lower/Open",
            )
        sequence = np.atleast_1d(np.asarray(p["sequence"])).astype(np.int64)
        if sequence.size == 0 or sequence.min() < 1 or sequence.max() > len(names):
            raise DataFormatError(
                path, f"p.sequence {sequence.tolist()} must index p.labelnames (1..{len(names)})"
            )
        n = raw.shape[0]
        needed = rest + reps * len(sequence) * gest + (reps - 1) * rest
        if needed > n:
            raise DataFormatError(
                path,
                f"truncated: the gesture schedule in 'p' needs {needed} samples, 'raw' has {n}",
            )
        emg = raw[:, :N_GRID].astype(np.float64) * lsb
        if not np.isfinite(emg).all():
            raise DataFormatError(path, "non-finite values (NaN/Inf) in 'raw'")
        slot, rep = gesture_schedule(n, sequence, gest, rest, reps)
        code_of_slot = np.r_[REST, [self.class_names.index(names[s - 1]) for s in sequence]]
        labels = code_of_slot[slot]
        trial = int(meta["trial"])
        repetition = np.where(rep > 0, (trial - 1) * reps + rep, 0)
        return Recording(
            emg=emg.astype(np.float32),
            fs=self.fs,
            labels=labels,
            layout=layout,
            repetition=repetition,
            meta={"dataset": self.name, **meta},
            class_names=self.class_names,
        )


def _positive(path: Path, p: dict[str, Any], field: str, kind: type) -> float:
    value = np.asarray(p[field])
    if value.size != 1 or not np.issubdtype(value.dtype, np.number):
        raise DataFormatError(path, f"p.{field} = {p[field]!r}; expected one positive number")
    v = float(value.reshape(-1)[0])
    if not (np.isfinite(v) and v > 0) or (kind is int and v != int(v)):
        raise DataFormatError(path, f"p.{field} = {v:g}; expected a positive {kind.__name__}")
    return v
