"""Myo Armband Dataset (Côté-Allard et al. 2019): 40 people, 7 wrist/hand gestures, a Myo.

Folder layout (as published in the authors' GitHub repository)::

    MyoArmbandDataset/
        PreTrainingDataset/            22 people, one session each
            Female0/training0/classe_0.dat ... classe_27.dat
            Male0/training0/...
        EvaluationDataset/             18 people, three sessions each
            Female0/training0/, Test0/, Test1/   (each classe_0.dat ... classe_27.dat)

A ``classe_K.dat`` file is raw little-endian int16, the 8 channels of the Myo
interleaved (``reshape(-1, 8)``), 200 Hz, values within ±128 (kept as published). The 28
files of a session are 4 cycles of the same 7 gestures: gesture = ``K % 7`` (0 neutral,
1 radial deviation, 2 wrist flexion, 3 ulnar deviation, 4 wrist extension, 5 hand close,
6 hand open), cycle = ``K // 7``. The neutral gesture is our ``REST`` (0), so gesture
codes are used unchanged as labels.

One `Recording` per file. Per-sample ``repetition`` is the 1-based cycle (1..4).

Subjects: the pre-training and the evaluation sets are different people who reuse the
same folder names (``Male0`` exists in both), so ``subject`` is the folder name prefixed
by the set: ``"pre-Male0"``, ``"eval-Female1"``. The bare folder name is kept in
``person``.

Metadata per recording: ``dataset`` ("myoarmband"), ``subject`` (see above), ``person``
(folder name), ``split`` ("pretraining" / "evaluation"), ``session`` ("training0",
"Test0", "Test1"), ``gender`` ("female" / "male", from the folder name), ``cycle``
(1..4, = repetition), ``gesture`` (0..6, = label), ``file_index`` (K) and ``source``
(path relative to the dataset folder).

Missing people are normal (a partial download loads what is there); a missing session
(e.g. an evaluation person without ``Test1/``) and a session with fewer than 28 files
are loaded with a logged warning naming the subject and the session. Empty or truncated
``.dat`` files and file names with an index outside 0..27 raise `DataFormatError`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from myoshift.datasets._io import parse_name, read_int16_dat
from myoshift.datasets.base import Dataset, Unit, github_files, register_dataset
from myoshift.errors import DataFormatError
from myoshift.recording import Layout, Recording

log = logging.getLogger(__name__)

__all__ = ["MyoArmband"]

N_GESTURES = 7
N_CYCLES = 4
N_FILES = N_GESTURES * N_CYCLES
#: (folder, split name, subject prefix, session folders)
_SPLITS = (
    ("PreTrainingDataset", "pretraining", "pre", ("training0",)),
    ("EvaluationDataset", "evaluation", "eval", ("training0", "Test0", "Test1")),
)
_SESSIONS = {d: sessions for d, _, _, sessions in _SPLITS}
_PERSON = re.compile(r"(?P<gender>Female|Male)(?P<index>\d+)")
_CLASSE = re.compile(r"classe_(?P<k>\d+)\.dat")


def _person_order(name: str) -> tuple[str, int]:
    m = _PERSON.fullmatch(name)
    return (m["gender"], int(m["index"])) if m else (name, -1)


def _gender(person: str) -> str:
    m = _PERSON.fullmatch(person)
    return m["gender"].lower() if m else "unknown"


@register_dataset
class MyoArmband(Dataset):
    """The Myo Armband Dataset: pre-training (22 people) and evaluation (18 people) sets.

    See the module docstring for the file format and the metadata of each recording.
    """

    name = "myoarmband"
    folder = "MyoArmbandDataset"
    description = (
        "Myo armband (8 ch, 200 Hz), 7 gestures x 4 cycles; 22 pre-training people "
        "(1 session) + 18 evaluation people (3 sessions)"
    )
    citation = (
        "Côté-Allard U, Fall CL, Drouin A, Campeau-Lecours A, Gosselin C, Glette K, "
        "Laviolette F, Gosselin B. Deep learning for electromyographic hand gesture signal "
        "classification using transfer learning. IEEE Trans Neural Syst Rehabil Eng "
        "27(4):760-771, 2019. doi:10.1109/TNSRE.2019.2896269"
    )
    licence = "GPL-3.0 (LICENSE file of the authors' repository)"
    url = "https://github.com/UlysseCoteAllard/MyoArmbandDataset"
    fs = 200.0
    n_channels = 8
    class_names = (
        "neutral",
        "radial deviation",
        "wrist flexion",
        "ulnar deviation",
        "wrist extension",
        "hand close",
        "hand open",
    )
    # The authors' repository at a fixed commit (2022-02-17): README, LICENSE and the two
    # data folders (not the code, nor the trained networks' pickles kept beside the
    # data), each file checked against its SHA-256.
    downloads = (
        github_files(
            "UlysseCoteAllard/MyoArmbandDataset",
            "4de3efef85356fbf565d96a150f386d99165cfee",
            "myoarmband.tsv.gz",
            "1e173b0ecfd81ca01287848754140fa4e2c432ab1595b9b060a4309b49368020",
        ),
    )

    def units(self, root: Path) -> list[Unit]:
        """One unit per person of each set, with the ``classe_*.dat`` files present."""
        units: list[Unit] = []
        for split_dir, _, prefix, sessions in _SPLITS:
            base = root / split_dir
            if not base.is_dir():
                log.info("myoarmband: %s not present, skipped", base)
                continue
            people = [p for p in base.iterdir() if p.is_dir()]
            for person in sorted(people, key=lambda p: _person_order(p.name)):
                if not _PERSON.fullmatch(person.name):
                    log.warning("myoarmband: ignoring unexpected folder %s", person)
                    continue
                files: list[Path] = []
                for session in sessions:
                    files.extend(sorted((person / session).glob("classe_*.dat")))
                if not files:
                    log.warning("myoarmband: no classe_*.dat files under %s, skipped", person)
                    continue
                subject = f"{prefix}-{person.name}"
                units.append(Unit(key=subject, subject=subject, files=tuple(files)))
        return units

    def parse_unit(self, root: Path, unit: Unit) -> list[Recording]:
        """Read every ``classe_K.dat`` of one person (all sessions)."""
        split_of = {d: (s, p) for d, s, p, _ in _SPLITS}
        layout = Layout.ring(self.n_channels)
        recs: list[Recording] = []
        per_session: dict[str, set[int]] = {}
        for path in unit.files:
            rel = path.relative_to(root)
            split_dir, person, session = rel.parts[0], rel.parts[1], rel.parts[2]
            k = int(parse_name(path, _CLASSE)["k"])
            if not 0 <= k < N_FILES:
                raise DataFormatError(
                    path, f"file index {k} outside 0..{N_FILES - 1} (classe_K.dat, K = 0..27)"
                )
            per_session.setdefault(session, set()).add(k)
            emg = read_int16_dat(path, self.n_channels).astype(np.float32)
            gesture, cycle = k % N_GESTURES, k // N_GESTURES + 1
            split, _ = split_of[split_dir]
            n = emg.shape[0]
            recs.append(
                Recording(
                    emg=emg,
                    fs=self.fs,
                    labels=np.full(n, gesture, dtype=np.int64),
                    layout=layout,
                    repetition=np.full(n, cycle, dtype=np.int64),
                    meta={
                        "dataset": self.name,
                        "subject": unit.subject,
                        "person": person,
                        "split": split,
                        "session": session,
                        "gender": _gender(person),
                        "cycle": cycle,
                        "gesture": gesture,
                        "file_index": k,
                        "source": rel.as_posix(),
                    },
                    class_names=self.class_names,
                )
            )
        split_dir, person = unit.files[0].relative_to(root).parts[:2]
        for session in _SESSIONS[split_dir]:
            if session not in per_session:
                log.warning(
                    "myoarmband: %s/%s has no classe_*.dat files (%s missing or empty); "
                    "loaded the other sessions",
                    unit.subject,
                    session,
                    f"{split_dir}/{person}/{session}/",
                )
        for session, present in per_session.items():
            if len(present) < N_FILES:
                missing = sorted(set(range(N_FILES)) - present)
                log.warning(
                    "myoarmband: %s/%s has %d of %d files (missing classe_%s.dat); loaded the rest",
                    unit.subject,
                    session,
                    len(present),
                    N_FILES,
                    missing,
                )
        return recs
