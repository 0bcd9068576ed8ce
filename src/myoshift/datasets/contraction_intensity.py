"""ContractionIntensity (Scheme & Englehart 2013): 7 classes at many contraction levels.

Folder layout (as in the LibEMG project's ``ContractionIntensity`` repository)::

    ContractionIntensity/
        Info.txt
        S1/S1_20P_C1_R1.csv ... S1_Ramp_C7_R4.csv, S1_MVC_C1_R1.csv ...
        ...
        S10/...

Each ``S<n>_<level>_C<class>_R<rep>.csv`` holds about 3 s of 8 channels at 1000 Hz
(a cuff of 8 equally spaced electrode pairs around the forearm, hence a ring),
comma-separated floats, no header. Levels, as ``Info.txt`` describes them: ``20P`` ..
``80P`` (that percent of the maximum voluntary contraction, with feedback), ``Light``,
``Medium``, ``Hard`` (no feedback), ``Ramp`` (from 20 to 80 %), each 4 repetitions, and
``MVC`` (the maximum voluntary contraction, 2 repetitions).

Labels: ``C1``..``C7`` in ``Info.txt``'s order; C1 no movement is our ``REST`` (0), so
``label = class - 1``. Per-sample ``repetition`` is the ``R`` number.

Metadata per recording: ``dataset`` ("contraction-intensity"), ``subject`` (int, from
``S<n>``), ``level`` (as in the file name: ``"20P"``, ``"Ramp"``, ``"MVC"``...),
``intensity`` (percent of MVC where the level defines one: 20..80 for ``<N>P``, 100 for
``MVC``; None for ``Light``/``Medium``/``Hard``/``Ramp``), ``repetition`` and ``source``.

The files carry a per-channel offset about as large as the EMG at rest (S1: -0.075 on
channel 4 against a standard deviation of 0.035), which would silence zero-crossing
features: the dataset's declared preprocessing removes it (1 Hz high-pass).

Empty files, wrong column counts, non-numeric or non-finite values, an unknown level or
class code and a file whose subject differs from its folder raise `DataFormatError`; a
level with another number of files than 7 classes x its repetitions is loaded with a
logged warning.

Standard protocol: ``train-on:level=Ramp`` (train on the ramp, test on every other
level; `myoshift.evaluation.domain_protocols`).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path

import numpy as np

from myoshift.datasets._io import natural_key, parse_name, read_numeric_text
from myoshift.datasets.base import Dataset, Unit, github_files, register_dataset
from myoshift.errors import DataFormatError
from myoshift.recording import Layout, Recording

log = logging.getLogger(__name__)

__all__ = ["ContractionIntensity", "intensity_of"]

#: levels without a percent of MVC; every other level is ``<N>P`` or ``MVC``
UNQUANTIFIED = ("Light", "Medium", "Hard", "Ramp")
#: repetitions per class of a level (``Info.txt``)
REPETITIONS = {"MVC": 2}
DEFAULT_REPETITIONS = 4
_SUBJECT = re.compile(r"S(?P<n>\d+)")
_FILE = re.compile(r"S(?P<s>\d+)_(?P<level>[A-Za-z0-9]+)_C(?P<c>\d+)_R(?P<r>\d+)\.csv")
_PERCENT = re.compile(r"(?P<p>\d+)P")


def intensity_of(level: str) -> int | None:
    """Percent of MVC of a level name: ``"50P"`` -> 50, ``"MVC"`` -> 100, else None.

    Raises
    ------
    ValueError
        ``level`` is none of ``<N>P`` (N in 1..100), ``MVC``, ``Light``, ``Medium``,
        ``Hard``, ``Ramp``.
    """
    if level == "MVC":
        return 100
    if level in UNQUANTIFIED:
        return None
    m = _PERCENT.fullmatch(level)
    if m is None or not 0 < int(m["p"]) <= 100:
        raise ValueError(
            f"unknown level {level!r}; expected <N>P (N = 1..100), MVC or {', '.join(UNQUANTIFIED)}"
        )
    return int(m["p"])


@register_dataset
class ContractionIntensity(Dataset):
    """Scheme & Englehart's contraction-intensity set: 7 classes x 12 levels, 10 people.

    See the module docstring for the file format and the metadata of each recording.
    """

    name = "contraction-intensity"
    folder = "ContractionIntensity"
    description = (
        "8 channels at 1 kHz, 7 classes x 4 repetitions at each of 20-80 % MVC, "
        "light/medium/hard, ramp (+ 2 MVC); 10 people. Standard protocol: "
        "train-on:level=Ramp"
    )
    citation = (
        "Scheme E, Englehart K. Training strategies for mitigating the effect of "
        "proportional control on classification in pattern recognition based myoelectric "
        "control. J Prosthet Orthot 25(2):76-83, 2013. doi:10.1097/JPO.0b013e318289950b"
    )
    licence = "no licence file in the public repository (LibEMG project data)"
    url = "https://github.com/LibEMG/ContractionIntensity"
    fs = 1000.0
    n_channels = 8
    class_names = (
        "no movement",
        "wrist flexion",
        "wrist extension",
        "wrist pronation",
        "wrist supination",
        "chuck grip",
        "hand open",
    )
    # LibEMG's repository at a fixed commit (2024-09-26): Info.txt and S1..S10, each
    # file checked against its SHA-256.
    downloads = (
        github_files(
            "LibEMG/ContractionIntensity",
            "18139b3a7705f2ac523b6a7435830ab470435292",
            "contraction-intensity.tsv.gz",
            "67b934f0b821ec2159b82e63a2404e3048634fef33c324905003ee0fdec7dd3a",
        ),
    )
    preprocess = ({"dc-remove": {"cutoff": 1.0}},)

    def units(self, root: Path) -> list[Unit]:
        """One unit per ``S<n>`` folder with ``.csv`` files."""
        units: list[Unit] = []
        people = [p for p in root.iterdir() if p.is_dir() and _SUBJECT.fullmatch(p.name)]
        for person in sorted(people, key=natural_key):
            files = tuple(sorted(person.glob("*.csv"), key=natural_key))
            if not files:
                log.warning("contraction-intensity: no .csv files in %s, skipped", person)
                continue
            n = int(parse_name(person, _SUBJECT)["n"])
            units.append(Unit(key=f"S{n}", subject=n, files=files))
        return units

    def parse_unit(self, root: Path, unit: Unit) -> list[Recording]:
        """Read every file of one person."""
        layout = Layout.ring(self.n_channels)
        recs: list[Recording] = []
        for path in unit.files:
            fields = parse_name(path, _FILE)
            level, code, rep = fields["level"], int(fields["c"]), int(fields["r"])
            if int(fields["s"]) != unit.subject:
                raise DataFormatError(
                    path, f"file is for subject S{fields['s']} but lies in folder S{unit.subject}"
                )
            try:
                intensity = intensity_of(level)
            except ValueError as exc:
                raise DataFormatError(path, str(exc)) from None
            if not 1 <= code <= len(self.class_names):
                raise DataFormatError(
                    path, f"unknown class code C{code}; expected C1..C{len(self.class_names)}"
                )
            if rep < 1:
                raise DataFormatError(path, f"repetition R{rep}; expected R1 or more")
            emg = read_numeric_text(path, self.n_channels, ",", dtype=np.float32)
            n = emg.shape[0]
            recs.append(
                Recording(
                    emg=emg,
                    fs=self.fs,
                    labels=np.full(n, code - 1, dtype=np.int64),
                    layout=layout,
                    repetition=np.full(n, rep, dtype=np.int64),
                    meta={
                        "dataset": self.name,
                        "subject": unit.subject,
                        "level": level,
                        "intensity": intensity,
                        "repetition": rep,
                        "source": path.relative_to(root).as_posix(),
                    },
                    class_names=self.class_names,
                )
            )
        _warn_incomplete(unit.key, recs, len(self.class_names))
        return recs


def _warn_incomplete(key: str, recs: list[Recording], n_classes: int) -> None:
    """Log each level whose file count is not classes x its repetitions."""
    counts = Counter(str(r.meta["level"]) for r in recs)
    for level, n in sorted(counts.items()):
        expected = n_classes * REPETITIONS.get(level, DEFAULT_REPETITIONS)
        if n != expected:
            log.warning(
                "contraction-intensity: %s level %s has %d files, expected %d; loaded as is",
                key,
                level,
                n,
                expected,
            )
