"""MultiDay (Kaufmann, Englehart & Platzner 2010): one person, 11 classes, 121 days.

Folder layout (as in the LibEMG project's ``MultiDay`` repository)::

    MultiDay/
        README.md
        S0_D1_C0.csv ... S0_D1_C10.csv      day 1, one file per class
        S0_D2_C0.csv ...
        ...                                 days 1..121

Each ``S<subject>_D<day>_C<class>.csv`` holds one repetition (about 6 s) of one class:
4 channels at 2048 Hz, space-separated floats, no header. There is one repetition per
class per day, so a day is one repetition unit: a protocol can calibrate on a whole day
but never on part of one.

Labels: the class code unchanged (C0 no motion is our ``REST`` 0; names as in LibEMG's
``KaufmannMD`` loader and the dataset description). Per-sample ``repetition`` is 1.

Parse unit: one day (11 files), so that a partial download or a new day only parses
what changed.

Metadata per recording: ``dataset`` ("multiday"), ``subject`` (int, from ``S<n>``),
``day`` (int, from ``D<day>``), ``repetition`` (1) and ``source`` (the file name).

Empty files, wrong column counts, non-numeric or non-finite values and a class code
outside 0..10 raise `DataFormatError`; a day without all 11 classes is loaded with a
logged warning.

Standard protocols: ``cross-day`` (day 1 -> each later day, d -> d+1) and ``next-day``
(the previous days -> the next one; `myoshift.evaluation.domain_protocols`).
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

__all__ = ["MultiDay"]

_FILE = re.compile(r"S(?P<s>\d+)_D(?P<d>\d+)_C(?P<c>\d+)\.csv")


@register_dataset
class MultiDay(Dataset):
    """Kaufmann et al.'s single-person, 121-day dataset (one repetition per class a day).

    See the module docstring for the file format and the metadata of each recording.
    """

    name = "multiday"
    folder = "MultiDay"
    description = (
        "one person, 4 channels at 2048 Hz, 11 classes x 1 repetition per day, 121 days. "
        "Standard protocols: cross-day, next-day"
    )
    citation = (
        "Kaufmann P, Englehart K, Platzner M. Fluctuating EMG signals: investigating "
        "long-term effects of pattern matching algorithms. 32nd Annual International "
        "Conference of the IEEE EMBS (EMBC), Buenos Aires, 2010. "
        "doi:10.1109/IEMBS.2010.5627288"
    )
    licence = "no licence file in the public repository (LibEMG project data)"
    url = "https://github.com/LibEMG/MultiDay"
    fs = 2048.0
    n_channels = 4
    class_names = (
        "no motion",
        "wrist extension",
        "wrist flexion",
        "wrist adduction",
        "wrist abduction",
        "supination",
        "pronation",
        "hand open",
        "hand closed",
        "key grip",
        "index point",
    )
    # LibEMG's repository at a fixed commit (2024-09-27): README and the 121 days,
    # each file checked against its SHA-256.
    downloads = (
        github_files(
            "LibEMG/MultiDay",
            "2b11c859ca2dc3c7b52188c54bc0f5edeb12245a",
            "multiday.tsv.gz",
            "e8a5df8a264f98cdf0d1fdde9dd404dc126e542e00b1317bddf7efc6ff5fee88",
        ),
    )

    def units(self, root: Path) -> list[Unit]:
        """One unit per (subject, day) with files present."""
        by_day: dict[tuple[int, int], list[Path]] = {}
        for path in root.glob("S*_D*_C*.csv"):
            m = _FILE.fullmatch(path.name)
            if m is None:
                log.warning("multiday: ignoring unexpected file %s", path)
                continue
            by_day.setdefault((int(m["s"]), int(m["d"])), []).append(path)
        return [
            Unit(key=f"S{s}-day{d}", subject=s, files=tuple(sorted(files, key=natural_key)))
            for (s, d), files in sorted(by_day.items())
        ]

    def parse_unit(self, root: Path, unit: Unit) -> list[Recording]:
        """Read the class files of one day."""
        layout = Layout.plain(self.n_channels)
        recs: list[Recording] = []
        for path in unit.files:
            fields = parse_name(path, _FILE)
            day, code = int(fields["d"]), int(fields["c"])
            if not 0 <= code < len(self.class_names):
                raise DataFormatError(
                    path, f"unknown class code C{code}; expected C0..C{len(self.class_names) - 1}"
                )
            emg = read_numeric_text(path, self.n_channels, None, dtype=np.float32)
            n = emg.shape[0]
            recs.append(
                Recording(
                    emg=emg,
                    fs=self.fs,
                    labels=np.full(n, code, dtype=np.int64),
                    layout=layout,
                    repetition=np.ones(n, dtype=np.int64),
                    meta={
                        "dataset": self.name,
                        "subject": unit.subject,
                        "day": day,
                        "repetition": 1,
                        "source": path.relative_to(root).as_posix(),
                    },
                    class_names=self.class_names,
                )
            )
        present = {int(r.labels[0]) for r in recs}
        if len(present) < len(self.class_names):
            missing = sorted(set(range(len(self.class_names))) - present)
            log.warning("multiday: %s lacks class(es) %s; loaded the rest", unit.key, missing)
        return recs
