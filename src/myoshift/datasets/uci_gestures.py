"""UCI "EMG data for gestures" (Lobov et al. 2018): 36 people, a Myo armband, 6-7 gestures.

Folder layout (as published, one folder per subject)::

    UCI_EMG_data_for_gestures/
        01/1_raw_data_13-12_22.03.16.txt     series 1 of subject 1
        01/2_raw_data_13-13_22.03.16.txt     series 2
        02/2_raw_data_14-21_22.03.16.txt     (subject 2 has no series 1 at the source)
        ...

Each file is tab-separated text with a header ``time channel1 .. channel8 class``:
time in ms, the eight Myo channels in volts, and a class code (0 unmarked, 1 rest,
2 fist, 3 wrist flexion, 4 wrist extension, 5 radial deviation, 6 ulnar deviation,
7 extended palm, the last not performed by everyone). A series performs each gesture
twice, in order, each held ~3 s with ~3 s of unmarked time between.

Timing: what the files really contain, and what the loader does
-------------------------------------------------------------------
The time column is a ~1 kHz clock with gaps (steps of 1 ms, sometimes 2-18 ms), but the
Myo streams EMG at 200 Hz: the logger repeated the last value it had received on every
1 ms tick (sample-and-hold), so a file is mostly runs of identical rows. Measured on
subjects 01-05: 89-90 % of rows repeat their predecessor, and only 92-109 distinct
samples per second survive, i.e. about half of the Myo's 200 samples/s were overwritten
before the logger saw them (the armband sends two samples per Bluetooth packet).

The loader therefore

1. detects the holding: the first row of every run of identical rows is one Myo sample,
   time-stamped when it reached the logger (rows that merely repeat it are dropped);
2. puts these samples on a uniform 200 Hz grid (the Myo's rate, shared with the other
   Myo datasets) by linear interpolation in time between the surviving samples. This
   fixes the irregular clock and removes the staircase of the held samples, but cannot
   restore the lost samples: content above ~50 Hz is not trustworthy for this dataset.
   The measured rate of distinct samples is kept in ``meta["distinct_rate_hz"]``;
3. labels each grid point with the class of the last source row at or before it.

Values are kept as published (volts); they are the Myo's int8 readings times 1e-5
(every value is a multiple of 1e-5 V in [-0.00128, 0.00127]).

Labels: class 0 (unmarked) becomes ``UNLABELLED`` (-1), 1 (rest) becomes ``REST`` (0),
2..7 become gestures 1..6. Repetition: each contiguous labelled segment is numbered by
its occurrence of that class within the series (1 for the first fist, 2 for the
second, ...); unmarked samples have repetition 0.

Metadata: ``subject`` (int, from the folder name), ``series`` (1 or 2, from the file
name), ``source`` (file path relative to the dataset folder), ``distinct_rate_hz``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from myoshift.datasets._io import read_numeric_text
from myoshift.datasets.base import Dataset, Download, Unit, register_dataset
from myoshift.errors import DataFormatError
from myoshift.recording import UNLABELLED, Layout, Recording

log = logging.getLogger(__name__)

__all__ = ["UCIGestures", "derive_repetitions", "resample_held"]

MYO_FS = 200.0
_SUBJECT_DIR = re.compile(r"\d+")
_SERIES_FILE = re.compile(r"(?P<series>\d+)_raw_data_.*\.txt")
_HEADER = ("time", *(f"channel{i}" for i in range(1, 9)), "class")
# source class code -> our label code
_CODE_MAP = {0: UNLABELLED, 1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6}


def resample_held(
    t_ms: np.ndarray, x: np.ndarray, fs: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Undo sample-and-hold and irregular time stamps: one sample per run, uniform grid.

    Parameters
    ----------
    t_ms : ndarray, (n,)
        Non-decreasing time stamps in milliseconds.
    x : ndarray, (n, n_channels)
        Values, with runs of identical rows where a slower stream was held.
    fs : float
        Rate of the output grid in Hz.

    Returns
    -------
    grid_ms : ndarray, (m,)
        Uniform time stamps ``t_ms[0] + k * 1000 / fs`` up to ``t_ms[-1]``.
    y : ndarray, (m, n_channels)
        Linear interpolation, on the grid, of the first row of every run (placed at its
        own time stamp).
    distinct_rate : float
        Number of runs per second of recording: the rate of genuinely new samples.
    """
    first = np.ones(len(x), dtype=bool)
    first[1:] = np.any(x[1:] != x[:-1], axis=1)
    t_ev = t_ms[first]
    x_ev = x[first]
    span = float(t_ms[-1] - t_ms[0])
    step = 1000.0 / fs
    grid = t_ms[0] + np.arange(int(np.floor(span / step + 1e-9)) + 1) * step
    if len(t_ev) == 1:
        y = np.repeat(x_ev, len(grid), axis=0)
    else:
        y = np.stack([np.interp(grid, t_ev, x_ev[:, j]) for j in range(x.shape[1])], axis=1)
    distinct_rate = len(t_ev) / (span / 1000.0) if span > 0 else float("nan")
    return grid, y, distinct_rate


def derive_repetitions(labels: np.ndarray) -> np.ndarray:
    """Number each contiguous run of a label by its occurrence of that label.

    ``UNLABELLED`` samples get 0; the first run of class ``k`` gets 1, the next run of
    ``k`` (after other labels in between) gets 2, and so on.
    """
    labels = np.asarray(labels)
    rep = np.zeros(len(labels), dtype=np.int64)
    if len(labels) == 0:
        return rep
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    ends = np.r_[starts[1:], len(labels)]
    seen: dict[int, int] = {}
    for s, e in zip(starts, ends, strict=True):
        code = int(labels[s])
        if code == UNLABELLED:
            continue
        seen[code] = seen.get(code, 0) + 1
        rep[s:e] = seen[code]
    return rep


@register_dataset
class UCIGestures(Dataset):
    """UCI EMG data for gestures: Myo armband, 8 channels, 6 gestures + rest (+ palm).

    See the module docstring for the timing reconstruction (sample-and-hold removed,
    uniform 200 Hz grid) and the label and repetition codes.
    """

    name = "uci-gestures"
    folder = "UCI_EMG_data_for_gestures"
    description = (
        "36 people, Myo armband (8 ch), 2 series of 6-7 static gestures held 3 s; "
        "~1 kHz sample-and-hold text files resampled to 200 Hz"
    )
    citation = (
        "Lobov S., Krilova N., Kastalskiy I., Kazantsev V., Makarov V.A. Latent factors "
        "limiting the performance of sEMG-interfaces. Sensors 18(4):1122, 2018. "
        "doi:10.3390/s18041122"
    )
    licence = "CC BY 4.0"
    url = "https://archive.ics.uci.edu/dataset/481/emg+data+for+gestures"
    # The UCI zip holds the subject folders under one top-level folder (stripped on
    # extraction). It cannot be pinned: see `unverified`.
    downloads = (
        Download(
            url="https://archive.ics.uci.edu/static/public/481/emg+data+for+gestures.zip",
            sha256=None,
            filename="emg+data+for+gestures.zip",
            unverified=(
                "UCI publishes neither a checksum nor a versioned address for this "
                "archive, and it could not be fetched to compute one (no internet where "
                "the downloads were pinned; the development data holds 5 of its 36 "
                "subjects as loose files)"
            ),
        ),
    )
    fs = MYO_FS
    n_channels = 8
    class_names = (
        "rest",
        "fist",
        "wrist flexion",
        "wrist extension",
        "radial deviation",
        "ulnar deviation",
        "extended palm",
    )

    def units(self, root: Path) -> list[Unit]:
        units = []
        for sub in sorted(p for p in root.iterdir() if p.is_dir()):
            if not _SUBJECT_DIR.fullmatch(sub.name):
                continue
            files = tuple(sorted(f for f in sub.iterdir() if _SERIES_FILE.fullmatch(f.name)))
            if files:
                units.append(Unit(key=f"subject-{sub.name}", subject=int(sub.name), files=files))
            else:
                log.warning("%s: subject folder without *_raw_data_*.txt files; skipped", sub)
        return sorted(units, key=lambda u: u.subject)

    def parse_unit(self, root: Path, unit: Unit) -> list[Recording]:
        recs = []
        for path in unit.files:
            m = _SERIES_FILE.fullmatch(path.name)
            assert m is not None  # units() only lists matching names
            recs.append(
                self.parse_file(
                    path,
                    subject=unit.subject,
                    series=int(m["series"]),
                    source=path.relative_to(root).as_posix(),
                )
            )
        return recs

    def parse_file(self, path: Path, **meta: object) -> Recording:
        """Parse one ``*_raw_data_*.txt`` file into a 200 Hz `Recording`."""
        _check_header(path)
        table = read_numeric_text(path, len(_HEADER), "\t", skip_header=1)
        t, x, cls = table[:, 0], table[:, 1:9], table[:, 9]
        if len(t) < 2:
            raise DataFormatError(path, f"only {len(t)} data row(s); expected a recording")
        dt = np.diff(t)
        if (dt < 0).any():
            row = int(np.flatnonzero(dt < 0)[0]) + 3  # 1-based line number incl. header
            raise DataFormatError(
                path, f"time goes backwards at line {row}; expected increasing ms"
            )
        codes = cls.astype(np.int64)
        bad = (codes != cls) | ~np.isin(codes, list(_CODE_MAP))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataFormatError(
                path,
                f"unknown class code {cls[i]:g} at line {i + 2}; expected 0 (unmarked) to 7",
            )
        grid, emg, distinct_rate = resample_held(t, x, self.fs)
        src = np.searchsorted(t, grid, side="right") - 1
        lut = np.full(max(_CODE_MAP) + 1, UNLABELLED, dtype=np.int64)
        for k, v in _CODE_MAP.items():
            lut[k] = v
        labels = lut[codes[src]]
        log.debug(
            "%s: %d rows, %.1f distinct samples/s -> %d samples at %g Hz",
            path,
            len(t),
            distinct_rate,
            len(grid),
            self.fs,
        )
        return Recording(
            emg=emg.astype(np.float32),
            fs=self.fs,
            labels=labels,
            layout=Layout.ring(8),
            repetition=derive_repetitions(labels),
            meta={
                "dataset": self.name,
                **meta,
                "distinct_rate_hz": round(float(distinct_rate), 2),
            },
            class_names=self.class_names,
        )


def _check_header(path: Path) -> None:
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    tokens = tuple(first.strip().lower().split())
    if not first.strip():
        raise DataFormatError(path, "empty file; expected a header 'time channel1..channel8 class'")
    if tokens != _HEADER:
        raise DataFormatError(
            path,
            f"header {first.strip()[:80]!r} does not match the expected "
            f"'{' '.join(_HEADER)}' (tab-separated)",
        )
