"""Ninapro DB1 (Atzori et al. 2014): 27 people, 10 Otto Bock electrodes, 52 movements.

Folder layout (as the per-subject archives unpack)::

    NinaproDB1/
        s1/S1_A1_E1.mat     exercise 1 (A): 12 finger movements
        s1/S1_A1_E2.mat     exercise 2 (B): 8 hand postures + 9 wrist movements (17)
        s1/S1_A1_E3.mat     exercise 3 (C): 23 grasps and functional movements
        s2/...

Each file is a MATLAB v5 file with ``emg`` (T x 10, RMS-rectified by the electrodes,
100 Hz), ``restimulus`` and ``rerepetition`` (the movement and repetition relabelled
a posteriori to match the actual movement; 0 = rest), ``stimulus``/``repetition`` (the
labels of the cue), ``glove`` (T x 22 CyberGlove sensors, same rate), ``subject`` and
``exercise``. A partial download (some subjects, some exercises) loads what is there.

Labels follow Ninapro's global movement numbering: rest 0, exercise 1 movements 1..12,
exercise 2 movements 13..29, exercise 3 movements 30..52. DB1 files number movements
from 1 within each exercise, so the loader adds the exercise's offset (0, 12, 29). A file
whose codes already lie in the exercise's global range (e.g. 13..29 for exercise 2) is
taken as globally numbered. ``rerepetition`` becomes the per-sample repetition (0 for
rest) and ``glove`` the auxiliary stream ``"glove"``.

Metadata: ``subject`` (int), ``exercise`` (1, 2 or 3), ``source``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from myoshift.datasets._io import check_finite, read_mat
from myoshift.datasets.base import Dataset, Unit, register_dataset
from myoshift.errors import DataFormatError
from myoshift.recording import AuxStream, Layout, Recording

log = logging.getLogger(__name__)

__all__ = ["EXERCISE_MOVEMENTS", "LABEL_OFFSETS", "NinaproDB1"]

#: Movement names per exercise, in Ninapro's order (Atzori et al. 2014, Fig. 2).
EXERCISE_MOVEMENTS: dict[int, tuple[str, ...]] = {
    1: (
        "index flexion",
        "index extension",
        "middle flexion",
        "middle extension",
        "ring flexion",
        "ring extension",
        "little finger flexion",
        "little finger extension",
        "thumb adduction",
        "thumb abduction",
        "thumb flexion",
        "thumb extension",
    ),
    2: (
        "thumb up",
        "extension of index and middle, flexion of the others",
        "flexion of ring and little finger, extension of the others",
        "thumb opposing base of little finger",
        "abduction of all fingers",
        "fingers flexed together in fist",
        "pointing index",
        "adduction of extended fingers",
        "wrist supination (axis: middle finger)",
        "wrist pronation (axis: middle finger)",
        "wrist supination (axis: little finger)",
        "wrist pronation (axis: little finger)",
        "wrist flexion",
        "wrist extension",
        "wrist radial deviation",
        "wrist ulnar deviation",
        "wrist extension with closed hand",
    ),
    3: (
        "large diameter grasp",
        "small diameter grasp",
        "fixed hook grasp",
        "index finger extension grasp",
        "medium wrap",
        "ring grasp",
        "prismatic four fingers grasp",
        "stick grasp",
        "writing tripod grasp",
        "power sphere grasp",
        "three finger sphere grasp",
        "precision sphere grasp",
        "tripod grasp",
        "prismatic pinch grasp",
        "tip pinch grasp",
        "quadpod grasp",
        "lateral grasp",
        "parallel extension grasp",
        "extension type grasp",
        "power disk grasp",
        "open a bottle with a tripod grasp",
        "turn a screw",
        "cut something",
    ),
}

#: Offset added to an exercise's local movement number to get the global code.
LABEL_OFFSETS: dict[int, int] = {1: 0, 2: 12, 3: 29}

_SUBJECT_DIR = re.compile(r"[sS](?P<subject>\d+)")
_FILE = re.compile(r"S(?P<subject>\d+)_A1_E(?P<exercise>\d+)\.mat", re.IGNORECASE)
N_CHANNELS = 10
N_GLOVE = 22


@register_dataset
class NinaproDB1(Dataset):
    """Ninapro DB1: 10 RMS-rectified EMG channels at 100 Hz, 52 movements + rest, glove.

    See the module docstring for the label numbering across exercises.
    """

    name = "ninapro-db1"
    folder = "NinaproDB1"
    description = (
        "27 intact people, 10 Otto Bock electrodes (RMS, 100 Hz), 52 hand movements "
        "in 3 exercises x 10 repetitions, with a 22-sensor CyberGlove"
    )
    citation = (
        "Atzori M., Gijsberts A., Castellini C., Caputo B., Mittaz Hager A.-G., Elsig S., "
        "Giatsidis G., Bassetto F., Müller H. Electromyography data for non-invasive "
        "naturally-controlled robotic hand prostheses. Scientific Data 1:140053, 2014. "
        "doi:10.1038/sdata.2014.53"
    )
    licence = "Ninapro terms of use (free for research after registration at ninapro.hevs.ch)"
    url = "https://ninapro.hevs.ch/instructions/DB1.html"
    # Per-subject zips are served after registration; no stable public archive URL or
    # checksum is known, so `downloads` is left empty.
    fs = 100.0
    n_channels = N_CHANNELS
    class_names = ("rest", *(m for e in (1, 2, 3) for m in EXERCISE_MOVEMENTS[e]))

    def units(self, root: Path) -> list[Unit]:
        units = []
        for sub in sorted(p for p in root.iterdir() if p.is_dir()):
            m = _SUBJECT_DIR.fullmatch(sub.name)
            if m is None:
                continue
            subject = int(m["subject"])
            files = []
            for f in sorted(sub.iterdir()):
                fm = _FILE.fullmatch(f.name)
                if fm is None:
                    continue
                if int(fm["subject"]) != subject:
                    log.warning("%s: file of subject %s in folder %s", f, fm["subject"], sub.name)
                files.append(f)
            if files:
                units.append(Unit(key=f"s{subject}", subject=subject, files=tuple(files)))
            else:
                log.warning("%s: no S*_A1_E*.mat files; subject skipped", sub)
        return sorted(units, key=lambda u: u.subject)

    def parse_unit(self, root: Path, unit: Unit) -> list[Recording]:
        recs = []
        for path in unit.files:
            m = _FILE.fullmatch(path.name)
            assert m is not None  # units() only lists matching names
            recs.append(
                self.parse_file(
                    path,
                    exercise=int(m["exercise"]),
                    subject=unit.subject,
                    source=path.relative_to(root).as_posix(),
                )
            )
        return recs

    def parse_file(self, path: Path, exercise: int, **meta: Any) -> Recording:
        """Parse one ``S<n>_A1_E<e>.mat`` file of exercise ``exercise``."""
        if exercise not in EXERCISE_MOVEMENTS:
            raise DataFormatError(path, f"exercise {exercise} in the file name; expected 1, 2 or 3")
        d = read_mat(path, ["emg", "restimulus", "rerepetition"], optional=["glove"])
        emg = np.asarray(d["emg"])
        if emg.ndim != 2 or emg.shape[1] != N_CHANNELS or emg.shape[0] == 0:
            raise DataFormatError(
                path, f"variable 'emg' has shape {emg.shape}; expected (n_samples, {N_CHANNELS})"
            )
        if not np.issubdtype(emg.dtype, np.number):
            raise DataFormatError(path, f"variable 'emg' has dtype {emg.dtype}; expected numbers")
        check_finite(emg.astype(np.float64, copy=False), path, "EMG samples")
        n = emg.shape[0]
        labels = _per_sample(path, d["restimulus"], "restimulus", n)
        repetition = _per_sample(path, d["rerepetition"], "rerepetition", n)
        if (repetition < 0).any():
            raise DataFormatError(path, "negative values in 'rerepetition'; expected 0..")
        codes = _global_codes(path, labels, exercise)
        aux = {}
        if "glove" in d:
            glove = np.asarray(d["glove"], dtype=np.float64)
            if glove.ndim != 2 or glove.shape[0] != n:
                raise DataFormatError(
                    path, f"variable 'glove' has shape {glove.shape}; expected ({n}, {N_GLOVE})"
                )
            check_finite(glove, path, "glove samples")
            names = tuple(f"glove{i + 1}" for i in range(glove.shape[1]))
            aux["glove"] = AuxStream(glove, self.fs, names)
        else:
            log.warning("%s: no 'glove' variable; loaded without the glove stream", path)
        return Recording(
            emg=emg.astype(np.float32),
            fs=self.fs,
            labels=codes,
            layout=Layout.plain(N_CHANNELS),
            repetition=repetition,
            aux=aux,
            meta={"dataset": self.name, **meta, "exercise": exercise},
            class_names=self.class_names,
        )


def _per_sample(path: Path, value: Any, name: str, n: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.size != n or (arr.ndim == 2 and 1 not in arr.shape) or arr.ndim > 2:
        raise DataFormatError(
            path, f"variable {name!r} has shape {arr.shape}; expected ({n}, 1) like 'emg'"
        )
    flat = arr.reshape(-1)
    if not np.issubdtype(flat.dtype, np.number):
        raise DataFormatError(path, f"variable {name!r} has dtype {flat.dtype}; expected integers")
    as_int = flat.astype(np.int64)
    if np.issubdtype(flat.dtype, np.floating) and not np.array_equal(as_int, flat):
        raise DataFormatError(path, f"variable {name!r} holds non-integer values")
    return as_int


def _global_codes(path: Path, labels: np.ndarray, exercise: int) -> np.ndarray:
    """Map per-exercise movement numbers (1..n) to Ninapro's global code (see module)."""
    n_moves = len(EXERCISE_MOVEMENTS[exercise])
    offset = LABEL_OFFSETS[exercise]
    moving = labels[labels != 0]
    if moving.size == 0:
        return labels
    lo, hi = int(moving.min()), int(moving.max())
    if lo >= 1 and hi <= n_moves:
        return np.where(labels == 0, 0, labels + offset)
    if offset and lo > offset and hi <= offset + n_moves:
        return labels  # already globally numbered
    bad = moving[(moving < 1) | (moving > n_moves)]
    expected = f"1..{n_moves}" + (f" (or {offset + 1}..{offset + n_moves})" if offset else "")
    raise DataFormatError(
        path,
        f"unknown movement code {int(bad[0])} in 'restimulus' for exercise {exercise}; "
        f"expected 0 (rest) and {expected}",
    )
