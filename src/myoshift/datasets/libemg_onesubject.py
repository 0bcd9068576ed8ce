"""LibEMG's OneSubjectMyoDataset: one person, a Myo, 5 classes, 6 trials — a small fixture.

Folder layout (as in the LibEMG project's repository)::

    OneSubjectMyoDataset/
        trial_1/R_0_C_0.csv ... R_1_C_4.csv, metadata.json
        ...
        trial_6/...
        stream/raw_emg.csv            a continuous, unlabelled stream

Each ``R_<rep>_C_<class>.csv`` holds about 3 s of the 8 Myo channels at 200 Hz,
comma-separated, no header. ``metadata.json`` (written by LibEMG's screen-guided
training) names the source class codes: 0 Hand_Close, 1 Hand_Open, 2 No_Motion,
3 Wrist_Extension, 4 Wrist_Flexion. No_Motion is our ``REST`` (0); the gestures keep
their source order: label 1 hand close, 2 hand open, 3 wrist extension, 4 wrist
flexion. When a trial's ``metadata.json`` is present, its class names are checked
against this mapping. Per-sample ``repetition`` is ``rep + 1`` (1..2 within a trial).

Metadata per recording: ``dataset`` ("libemg-onesubject"), ``subject`` (1), ``trial``
(1..6, from the folder), ``repetition`` (``rep + 1``), ``source_class`` (the ``C``
code), ``source`` (path relative to the dataset folder).

`load_stream` returns ``stream/raw_emg.csv`` as one unlabelled `Recording` for
real-time tests.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from myoshift.datasets._io import natural_key, parse_name, read_numeric_text
from myoshift.datasets._sgt import METADATA, read_sgt_metadata
from myoshift.datasets.base import Dataset, Unit, github_files, register_dataset
from myoshift.errors import DataFormatError, DataNotFoundError
from myoshift.recording import UNLABELLED, Layout, Recording

log = logging.getLogger(__name__)

__all__ = ["SOURCE_CLASSES", "LibEMGOneSubject", "load_stream"]

#: Source class code -> (LibEMG class name, our label code).
SOURCE_CLASSES: dict[int, tuple[str, int]] = {
    0: ("Hand_Close", 1),
    1: ("Hand_Open", 2),
    2: ("No_Motion", 0),
    3: ("Wrist_Extension", 3),
    4: ("Wrist_Flexion", 4),
}
_TRIAL = re.compile(r"trial_(?P<t>\d+)")
_FILE = re.compile(r"R_(?P<rep>\d+)_C_(?P<cls>\d+)\.csv")
STREAM_FILE = Path("stream") / "raw_emg.csv"


@register_dataset
class LibEMGOneSubject(Dataset):
    """LibEMG's one-person Myo example dataset (5 classes × 2 repetitions × 6 trials).

    See the module docstring for the file format and the metadata of each recording.
    """

    name = "libemg-onesubject"
    folder = "OneSubjectMyoDataset"
    description = (
        "LibEMG example: one person, Myo armband (8 ch, 200 Hz), 5 classes x 2 "
        "repetitions x 6 trials, plus a continuous unlabelled stream"
    )
    citation = (
        "Eddy E, Campbell E, Phinyomark A, Bateman S, Scheme E. LibEMG: an open source "
        "library to facilitate the exploration of myoelectric control. IEEE Access "
        "11:87380-87397, 2023. doi:10.1109/ACCESS.2023.3304544"
    )
    licence = "no licence file in the public repository (LibEMG project example data)"
    url = "https://github.com/libemg/OneSubjectMyoDataset"
    fs = 200.0
    n_channels = 8
    class_names = ("no motion", "hand close", "hand open", "wrist extension", "wrist flexion")
    # LibEMG's repository at a fixed commit (2023-03-23), every file checked against its
    # SHA-256.
    downloads = (
        github_files(
            "LibEMG/OneSubjectMyoDataset",
            "98d323eb224f3a270ce9c230b3dc9f7de5d9b637",
            "libemg-onesubject.tsv.gz",
            "59969217f255a6c76e564ac4a4070e7c8d9d2a538bd9b12071b2c174f286ab8e",
        ),
    )

    def units(self, root: Path) -> list[Unit]:
        """One unit: the single person's trial files (and their ``metadata.json``)."""
        trials = [p for p in root.iterdir() if p.is_dir() and _TRIAL.fullmatch(p.name)]
        files: list[Path] = []
        for trial in sorted(trials, key=natural_key):
            files.extend(sorted(trial.glob("*.csv"), key=natural_key))
            meta = trial / METADATA
            if meta.exists():
                files.append(meta)
        return [Unit(key="subject1", subject=1, files=tuple(files))] if files else []

    def parse_unit(self, root: Path, unit: Unit) -> list[Recording]:
        """Read every ``trial_T/R_<rep>_C_<class>.csv``."""
        layout = Layout.ring(self.n_channels)
        # class names per data file, from each trial's metadata.json (where present)
        names: dict[Path, str] = {}
        for path in unit.files:
            if path.name == METADATA:
                for file, entry in (read_sgt_metadata(path) or {}).items():
                    if "class_name" in entry:
                        names[path.parent / file] = entry["class_name"]
        recs: list[Recording] = []
        for path in unit.files:
            if path.suffix != ".csv":
                continue
            rel = path.relative_to(root)
            trial = int(parse_name(path.parent, _TRIAL)["t"])
            fields = parse_name(path, _FILE)
            rep, code = int(fields["rep"]), int(fields["cls"])
            if code not in SOURCE_CLASSES:
                raise DataFormatError(
                    path, f"unknown class code C_{code}; expected C_0..C_{len(SOURCE_CLASSES) - 1}"
                )
            source_name, label = SOURCE_CLASSES[code]
            named = names.get(path)
            if named is not None and named != source_name:
                raise DataFormatError(
                    path.parent / METADATA,
                    f"names class C_{code} of {rel} {named!r}, expected {source_name!r}",
                )
            emg = read_numeric_text(path, self.n_channels, ",", dtype=np.float32)
            n = emg.shape[0]
            recs.append(
                Recording(
                    emg=emg,
                    fs=self.fs,
                    labels=np.full(n, label, dtype=np.int64),
                    layout=layout,
                    repetition=np.full(n, rep + 1, dtype=np.int64),
                    meta={
                        "dataset": self.name,
                        "subject": unit.subject,
                        "trial": trial,
                        "repetition": rep + 1,
                        "source_class": code,
                        "source": rel.as_posix(),
                    },
                    class_names=self.class_names,
                )
            )
        return recs

    def stream(self) -> Recording:
        """``stream/raw_emg.csv`` as one unlabelled recording (see `load_stream`)."""
        path = self.root / STREAM_FILE
        if not path.is_file():
            raise DataNotFoundError(
                f"dataset {self.name!r}: continuous stream {path} not found "
                f"(expected {STREAM_FILE.as_posix()} inside {self.root})"
            )
        emg = read_numeric_text(path, self.n_channels, ",", dtype=np.float32)
        return Recording(
            emg=emg,
            fs=self.fs,
            labels=np.full(emg.shape[0], UNLABELLED, dtype=np.int64),
            layout=Layout.ring(self.n_channels),
            meta={
                "dataset": self.name,
                "subject": 1,
                "kind": "stream",
                "source": STREAM_FILE.as_posix(),
            },
            class_names=self.class_names,
        )


def load_stream(data_dir: str | os.PathLike[str] | None = None) -> Recording:
    """Load the dataset's continuous stream ``stream/raw_emg.csv``, unlabelled.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Data directory holding ``OneSubjectMyoDataset/`` (default: ``$MYOSHIFT_DATA``,
        else the user cache).

    Returns
    -------
    Recording
        8 channels at 200 Hz, every label ``UNLABELLED``; ``meta["kind"] == "stream"``.
    """
    return LibEMGOneSubject(data_dir=data_dir).stream()
