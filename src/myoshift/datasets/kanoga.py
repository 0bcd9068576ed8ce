"""Long-term sEMG dataset (Kanoga et al. 2020): 5 people, 30 days, 22 motions, a Myo.

Folder layout (as in the authors' public repository)::

    LongTermSEMG_Kanoga/
        data/sub1/day1/D1M1T1.csv ... D1M22T4.csv      88 files per day
        data/sub1/day2/...
        ...

Each ``D<d>M<m>T<t>.csv`` holds 300 rows × 8 comma-separated floats without header:
1.5 s of the 8 Myo channels at 200 Hz (values as published). ``M`` is the motion
1..22 (M1 rest), ``T`` the trial 1..4. The armband was taken off and put on again every
day, so days are the natural domain-shift axis.

Labels: ``label = motion - 1`` (M1 rest -> ``REST`` 0, M2 wrist flexion -> 1, ...).
Motion names are derived from the authors' analysis code (``labeling.m``), which
decomposes every motion into rest / flexion-extension / radial-ulnar deviation /
pronation-supination / hand close: M2-M8 are the seven single motions and M9-M22 the
combinations listed in `Kanoga.class_names`. Per-sample ``repetition`` is the trial.

Parse unit: one subject-day (88 files), so that a partial download or a new day only
parses what changed.

Metadata per recording: ``dataset`` ("kanoga"), ``subject`` (int, from ``subN``),
``day`` (int 1..30), ``motion`` (source code 1..22), ``trial`` (1..4), ``placement``
(the authors' per-day armband position code ``N``, ``I`` or ``O`` from their
``set_config.m``, identical for all subjects; see the paper for its definition) and
``source`` (path relative to the dataset folder).

Empty files, wrong column counts, non-numeric or non-finite values, a motion outside
1..22 and a file whose day differs from its folder raise `DataFormatError`; files with
another number of rows than 300 are loaded with a logged warning.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from myoshift.datasets._io import natural_key, parse_name, read_numeric_text
from myoshift.datasets.base import Dataset, Unit, github_files, register_dataset
from myoshift.errors import DataFormatError
from myoshift.recording import Layout, Recording

log = logging.getLogger(__name__)

__all__ = ["Kanoga"]

N_MOTIONS = 22
N_ROWS = 300
_SUBJECT = re.compile(r"sub(?P<n>\d+)")
_DAY = re.compile(r"day(?P<d>\d+)")
_FILE = re.compile(r"D(?P<d>\d+)M(?P<m>\d+)T(?P<t>\d+)\.csv")
#: Armband position code of days 1..30, from the authors' set_config.m (``struct.pos``).
PLACEMENT = "NIONIIOONNONNOOIIINOOIOIINNINO"


def _number(path: Path, rx: re.Pattern[str]) -> int | None:
    m = rx.fullmatch(path.name)
    return int(m.group(1)) if m else None


@register_dataset
class Kanoga(Dataset):
    """Kanoga et al.'s 30-day Myo dataset: 22 motions × 4 trials per day, 5 people.

    See the module docstring for the file format and the metadata of each recording.
    """

    name = "kanoga"
    folder = "LongTermSEMG_Kanoga"
    description = (
        "Myo armband (8 ch, 200 Hz), 22 wrist/hand motions x 4 trials of 1.5 s per day, "
        "30 days (armband re-worn daily), 5 people"
    )
    citation = (
        "Kanoga S, Kanemura A, Asoh H. Are armband sEMG devices dense enough for long-term "
        "use? - Sensor placement shifts cause significant reduction in recognition "
        "accuracy. Biomedical Signal Processing and Control 60:101981, 2020. "
        "doi:10.1016/j.bspc.2020.101981"
    )
    licence = "Apache-2.0 (LICENSE file of the authors' repository)"
    url = "https://github.com/Suguru55/Wearable_Sensor_Long-term_sEMG_Dataset"
    fs = 200.0
    n_channels = 8
    class_names = (
        "rest",
        "wrist flexion",
        "wrist extension",
        "radial deviation",
        "ulnar deviation",
        "pronation",
        "supination",
        "hand close",
        "flexion + pronation",
        "extension + pronation",
        "radial deviation + pronation",
        "ulnar deviation + pronation",
        "flexion + supination",
        "extension + supination",
        "radial deviation + supination",
        "ulnar deviation + supination",
        "flexion + hand close",
        "extension + hand close",
        "radial deviation + hand close",
        "ulnar deviation + hand close",
        "pronation + hand close",
        "supination + hand close",
    )
    # The authors' repository at a fixed commit (2020-05-16): README, LICENSE and data/
    # (5 subjects x 30 days), each file checked against its SHA-256.
    downloads = (
        github_files(
            "Suguru55/Wearable_Sensor_Long-term_sEMG_Dataset",
            "005b70cb0fd54f186e4fa17bcf66dcaf32937aa5",
            "kanoga.tsv.gz",
            "c4f3068ad6375349d14cab6c36e02a89dcceeaa0fc71f8c46a88aae3e1d074ab",
        ),
    )

    def units(self, root: Path) -> list[Unit]:
        """One unit per subject-day present under ``data/``."""
        data = root / "data"
        if not data.is_dir():
            return []
        units: list[Unit] = []
        subjects = [(n, p) for p in data.iterdir() if (n := _number(p, _SUBJECT)) is not None]
        for n, sub in sorted(subjects):
            days = [(d, p) for p in sub.iterdir() if (d := _number(p, _DAY)) is not None]
            for d, day in sorted(days):
                files = tuple(sorted(day.glob("*.csv"), key=natural_key))
                if not files:
                    log.warning("kanoga: no .csv files in %s, skipped", day)
                    continue
                units.append(Unit(key=f"sub{n}-day{d}", subject=n, files=files))
        return units

    def parse_unit(self, root: Path, unit: Unit) -> list[Recording]:
        """Read the 88 trial files of one subject-day."""
        layout = Layout.ring(self.n_channels)
        recs: list[Recording] = []
        for path in unit.files:
            rel = path.relative_to(root)
            day = _number(path.parent, _DAY)
            fields = parse_name(path, _FILE)
            d, motion, trial = int(fields["d"]), int(fields["m"]), int(fields["t"])
            if d != day:
                raise DataFormatError(path, f"file is for day {d} but lies in folder day{day}")
            if not 1 <= motion <= N_MOTIONS:
                raise DataFormatError(
                    path, f"unknown motion code M{motion}; expected M1..M{N_MOTIONS}"
                )
            if trial < 1:
                raise DataFormatError(path, f"trial number T{trial}; expected T1 or more")
            emg = read_numeric_text(path, self.n_channels, ",", dtype=np.float32)
            n = emg.shape[0]
            if n != N_ROWS:
                log.warning("kanoga: %s has %d rows, expected %d; loaded as is", rel, n, N_ROWS)
            recs.append(
                Recording(
                    emg=emg,
                    fs=self.fs,
                    labels=np.full(n, motion - 1, dtype=np.int64),
                    layout=layout,
                    repetition=np.full(n, trial, dtype=np.int64),
                    meta={
                        "dataset": self.name,
                        "subject": unit.subject,
                        "day": d,
                        "motion": motion,
                        "trial": trial,
                        "placement": PLACEMENT[d - 1] if 1 <= d <= len(PLACEMENT) else "",
                        "source": rel.as_posix(),
                    },
                    class_names=self.class_names,
                )
            )
        return recs
