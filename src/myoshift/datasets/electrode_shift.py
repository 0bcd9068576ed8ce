"""ElectrodeShift (LibEMG's CIILData): a Myo armband moved between training and testing.

Folder layout (as in the LibEMG project's ``CIILData`` repository)::

    CIILData/
        ElectrodeShift/subject0/training/R_0_C_0.csv ... R_4_C_4.csv, metadata.json
        ElectrodeShift/subject0/trial_1/R_0_C_0.csv ... R_1_C_4.csv, metadata.json
        ...                     trial_2/, trial_3/, trial_4/   (some people: trial_0/)

Each ``R_<rep>_C_<class>.csv`` holds about 3 s of the 8 Myo channels at 200 Hz,
comma-separated integers, no header. ``training`` holds 5 repetitions recorded before
the armband was moved; every ``trial_<k>`` folder 2 repetitions recorded after it was
moved (``trial_0``, present for some people of the public set, too).

Class names: the ``metadata.json`` that LibEMG's screen-guided training wrote beside
the files names each file's class: 0 Hand_Close, 1 Hand_Open, 2 No_Motion,
3 Wrist_Extension, 4 Wrist_Flexion. LibEMG's own loader (``CIIL_ElectrodeShift``) lists
3 as Flexion and 4 as Extension; this loader follows ``metadata.json``, written when
the data were recorded by the program that prompted each gesture, over a name table
written later. The mapping is that of `libemg_onesubject` (the same recorder):
No_Motion is our ``REST`` (0), then hand close 1, hand open 2, wrist extension 3,
wrist flexion 4. Every data file must have its entry in its folder's
``metadata.json``, with the same class and repetition as its name and the class name
above. Per-sample ``repetition`` is ``rep + 1``.

Metadata per recording: ``dataset`` ("electrode-shift"), ``subject`` (int, from
``subjectN``), ``session`` (the folder: ``training``, ``trial_1``...), ``placement``
(``"before"`` for ``training``, ``"after"`` for every ``trial_<k>``), ``repetition``
(``rep + 1``), ``source_class`` (the ``C`` code) and ``source`` (path relative to the
dataset folder). The trial number is the ``k`` of ``session``; there is no numeric
``trial`` field, since ``training`` has no number and ``trial_0`` exists.

Standard protocol: ``train-on:placement=before`` (train before the shift, test after;
`myoshift.evaluation.domain_protocols`).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from myoshift.datasets._io import natural_key, parse_name, read_numeric_text
from myoshift.datasets._sgt import METADATA, read_sgt_metadata
from myoshift.datasets.base import Dataset, Unit, github_files, register_dataset
from myoshift.datasets.libemg_onesubject import SOURCE_CLASSES
from myoshift.errors import DataFormatError
from myoshift.recording import Layout, Recording

log = logging.getLogger(__name__)

__all__ = ["ElectrodeShiftData"]

SUBFOLDER = "ElectrodeShift"
_SUBJECT = re.compile(r"subject(?P<n>\d+)")
_SESSION = re.compile(r"training|trial_(?P<k>\d+)")
_FILE = re.compile(r"R_(?P<rep>\d+)_C_(?P<cls>\d+)\.csv")


@register_dataset
class ElectrodeShiftData(Dataset):
    """LibEMG's ElectrodeShift set: 5 classes before and after moving a Myo armband.

    See the module docstring for the file format and the metadata of each recording.
    """

    name = "electrode-shift"
    folder = "CIILData"
    description = (
        "Myo armband (8 ch, 200 Hz), 5 classes; 5 repetitions before the armband was "
        "moved (training), 2 after in each of trial_1..4; 21 people. Standard protocol: "
        "train-on:placement=before"
    )
    citation = (
        "LibEMG project, CIILData ElectrodeShift set, published with: J NeuroEng Rehabil "
        "21, 2024. doi:10.1186/s12984-024-01355-4"
    )
    licence = "no licence file in the public repository (LibEMG project data)"
    url = "https://github.com/LibEMG/CIILData"
    fs = 200.0
    n_channels = 8
    class_names = ("no motion", "hand close", "hand open", "wrist extension", "wrist flexion")
    # LibEMG's repository at a fixed commit (2024-09-16): the ElectrodeShift folder
    # (21 people; not MinimalTrainingData), each file checked against its SHA-256.
    downloads = (
        github_files(
            "LibEMG/CIILData",
            "b7230dd253b3cd2c2603f5fdeb0c3711551ba19f",
            "electrode-shift.tsv.gz",
            "1e8dce37ded1ebaa1df465118c7fff1522bd822a8d2d96518bc518f871ee9959",
        ),
    )

    def units(self, root: Path) -> list[Unit]:
        """One unit per ``subjectN`` folder: its data files and each folder's metadata."""
        base = root / SUBFOLDER
        if not base.is_dir():
            return []
        units: list[Unit] = []
        people = [p for p in base.iterdir() if p.is_dir() and _SUBJECT.fullmatch(p.name)]
        for person in sorted(people, key=natural_key):
            files: list[Path] = []
            for session in sorted(person.iterdir(), key=_session_order):
                if not (session.is_dir() and _SESSION.fullmatch(session.name)):
                    continue
                csvs = sorted(session.glob("*.csv"), key=natural_key)
                meta = session / METADATA  # absent: an error when the folder is parsed
                files += [*csvs, meta] if csvs and meta.is_file() else csvs
            if not files:
                log.warning("electrode-shift: no data files under %s, skipped", person)
                continue
            n = int(parse_name(person, _SUBJECT)["n"])
            units.append(Unit(key=f"subject{n}", subject=n, files=tuple(files)))
        return units

    def parse_unit(self, root: Path, unit: Unit) -> list[Recording]:
        """Read every ``R_<rep>_C_<class>.csv`` of one person, checked against metadata."""
        layout = Layout.ring(self.n_channels)
        entries: dict[Path, dict[str, dict[str, Any]]] = {}
        recs: list[Recording] = []
        for path in unit.files:
            if path.name == METADATA:
                continue
            meta_path = path.parent / METADATA
            if meta_path not in entries:
                read = read_sgt_metadata(meta_path, strict=True)
                if read is None:
                    raise DataFormatError(
                        meta_path, "missing: the class and repetition of each file in the folder"
                    )
                entries[meta_path] = read
            rep, code = _checked_codes(path, meta_path, entries[meta_path])
            emg = read_numeric_text(path, self.n_channels, ",", dtype=np.float32)
            n = emg.shape[0]
            session = path.parent.name
            recs.append(
                Recording(
                    emg=emg,
                    fs=self.fs,
                    labels=np.full(n, SOURCE_CLASSES[code][1], dtype=np.int64),
                    layout=layout,
                    repetition=np.full(n, rep + 1, dtype=np.int64),
                    meta={
                        "dataset": self.name,
                        "subject": unit.subject,
                        "session": session,
                        "placement": "before" if session == "training" else "after",
                        "repetition": rep + 1,
                        "source_class": code,
                        "source": path.relative_to(root).as_posix(),
                    },
                    class_names=self.class_names,
                )
            )
        return recs


def _session_order(path: Path) -> tuple[int, int]:
    """``training`` first, then ``trial_0``, ``trial_1``... by number."""
    m = _SESSION.fullmatch(path.name)
    if m is None:
        return (2, 0)
    return (0, 0) if m["k"] is None else (1, int(m["k"]))


def _checked_codes(
    path: Path, meta_path: Path, entries: dict[str, dict[str, Any]]
) -> tuple[int, int]:
    """``(rep, class code)`` of a data file, checked against its folder's metadata."""
    fields = parse_name(path, _FILE)
    rep, code = int(fields["rep"]), int(fields["cls"])
    if code not in SOURCE_CLASSES:
        raise DataFormatError(
            path, f"unknown class code C_{code}; expected C_0..C_{len(SOURCE_CLASSES) - 1}"
        )
    entry = entries.get(path.name)
    if entry is None:
        raise DataFormatError(meta_path, f"has no entry for {path.name}")
    expected = SOURCE_CLASSES[code][0]
    if (entry["rep_idx"], entry["class_idx"]) != (rep, code):
        raise DataFormatError(
            meta_path,
            f"gives {path.name} rep_idx {entry['rep_idx']} and class_idx "
            f"{entry['class_idx']}; its name says {rep} and {code}",
        )
    if entry["class_name"] != expected:
        raise DataFormatError(
            meta_path,
            f"names class C_{code} of {path.name} {entry['class_name']!r}, expected {expected!r}",
        )
    return rep, code
