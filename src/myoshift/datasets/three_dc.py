"""3DC Dataset (Côté-Allard et al. 2019): 22 people, 11 gestures, a 10-channel 3D-printed armband.

Folder layout (as in the public repository)::

    3DCDataset/
        Participant1/
            train/EMG/3dc_EMG_gesture_<rep>_<class>.txt     rep 0..3, class 0..10
            train/IMU/3dc_IMU_gesture_<rep>_<class>.txt
            test/EMG/...,  test/IMU/...
        Participant2/ ...

EMG files are comma-separated text, 10 channels at 1000 Hz (raw ADC counts, kept as
published). IMU files hold the armband's orientation quaternion, one ``(w, x, y, z)``
tuple per line at about 50 Hz. Classes: 0 no motion (our ``REST``), 1 radial deviation,
2 wrist flexion, 3 ulnar deviation, 4 wrist extension, 5 supination, 6 pronation,
7 power grip, 8 open hand, 9 chuck grip, 10 pinch grip. The source class codes are
used unchanged as labels.

Sessions and repetitions: each person recorded 4 cycles (``train``), rested 5 minutes
and recorded 4 more (``test``), same day. Both halves number their files 0..3, so the
loader numbers repetitions across the day: ``repetition = rep + 1`` in ``train``
(1..4) and ``rep + 5`` in ``test`` (5..8). ``meta["file_rep"]`` keeps the number in the
file name.

IMU alignment
-------------
The files carry no time stamps. EMG and IMU packets were logged by one acquisition
loop for the same gesture, so both files span the same interval: they start together
and end together. Measured on participants 1-3, the IMU count is not a fixed fraction
of the EMG count (the number of IMU rows per EMG second ranges from about 41 to 59 Hz
between files), so a fixed 50 Hz would drift by up to a second over a 5 s file. The
loader therefore derives each file's IMU rate as ``n_imu_rows / emg_duration`` and puts
IMU row ``i`` at ``t = i / fs_imu`` on the EMG clock (EMG sample 0 at t = 0). Leading
all-zero rows (the IMU had not produced an orientation yet; 257 of the 264 files
start with one) are dropped and the stream's ``start`` moves accordingly, so the
remaining rows keep their times. The stream is ``rec.aux["imu"]`` with names
``("qw", "qx", "qy", "qz")``; the rate used is also in ``meta["imu_fs"]``.

Short files
-----------
A gesture lasts about 5 s (4600-6000 EMG samples), but a few EMG files are cut short
(on participants 1-3: one of 363 samples, others between 2.6 and 4.6 s). Files shorter
than `MIN_SECONDS` (1 s: little more than the reaction time plus a few analysis
windows, mostly transition) are skipped with a logged warning naming the file; files
shorter than `SHORT_SECONDS` (4 s) are kept, flagged ``meta["short"] = True`` and
logged. On participants 1-3 this skips 1 file of 264 (Participant1 ``train``, file rep
3, class 5: 363 samples) and flags 5 (2.6-3.8 s). Warnings are logged when the files
are parsed, not when the recordings come from the cache.

Metadata per recording: ``dataset`` ("3dc"), ``subject`` (int participant number),
``session`` ("train" / "test"), ``repetition``, ``file_rep``, ``gesture`` (= label),
``short``, ``imu_fs``, ``source`` (EMG file path relative to the dataset folder).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from myoshift.datasets._io import natural_key, parse_name, read_numeric_text
from myoshift.datasets.base import Dataset, Unit, github_files, register_dataset
from myoshift.errors import DataFormatError
from myoshift.recording import AuxStream, Layout, Recording

log = logging.getLogger(__name__)

__all__ = ["MIN_SECONDS", "SHORT_SECONDS", "ThreeDC", "imu_stream"]

#: EMG files shorter than this (seconds) are skipped with a warning.
MIN_SECONDS = 1.0
#: EMG files shorter than this (seconds) are kept but flagged ``meta["short"]``.
SHORT_SECONDS = 4.0
N_CLASSES = 11
N_REPS = 4
SESSIONS = ("train", "test")
_PARTICIPANT = re.compile(r"Participant(?P<n>\d+)")
_EMG_FILE = re.compile(r"3dc_EMG_gesture_(?P<rep>\d+)_(?P<cls>\d+)\.txt")
IMU_NAMES = ("qw", "qx", "qy", "qz")


def imu_stream(quat: np.ndarray, emg_seconds: float) -> AuxStream:
    """Align an IMU quaternion file with its EMG file (see the module docstring).

    Parameters
    ----------
    quat : ndarray, shape (n_rows, 4)
        The IMU file's rows, leading all-zero rows included.
    emg_seconds : float
        Duration of the matching EMG file.

    Returns
    -------
    AuxStream
        Rate ``n_rows / emg_seconds``; leading all-zero rows dropped and ``start`` set
        to the time of the first kept row.
    """
    n = len(quat)
    fs = n / emg_seconds
    nonzero = np.flatnonzero(np.any(quat != 0, axis=1))
    first = int(nonzero[0]) if nonzero.size else n
    return AuxStream(quat[first:], fs=fs, names=IMU_NAMES, start=first / fs)


@register_dataset
class ThreeDC(Dataset):
    """The 3DC Dataset: 10-channel armband EMG at 1 kHz plus IMU orientation, 11 classes.

    See the module docstring for the format, the IMU alignment and the short files.
    """

    name = "3dc"
    folder = "3DCDataset"
    description = (
        "3DC armband (10 ch, 1000 Hz) + IMU quaternion, 11 gestures x 8 repetitions "
        "(train = first 4, test = last 4, same day), 22 people"
    )
    citation = (
        "Côté-Allard U, Gagnon-Turcotte G, Laviolette F, Gosselin B. A low-cost, wireless, "
        "3-D-printed custom armband for sEMG hand gesture recognition. Sensors 19(12):2811, "
        "2019. doi:10.3390/s19122811"
    )
    licence = "no licence file in the public repository; cite the paper above"
    url = "https://github.com/libemg/3DCDataset"
    fs = 1000.0
    n_channels = 10
    class_names = (
        "no motion",
        "radial deviation",
        "wrist flexion",
        "ulnar deviation",
        "wrist extension",
        "supination",
        "pronation",
        "power grip",
        "open hand",
        "chuck grip",
        "pinch grip",
    )
    # LibEMG's repository at a fixed commit (2023-03-23): README and the 22 participant
    # folders, each file checked against its SHA-256.
    downloads = (
        github_files(
            "LibEMG/3DCDataset",
            "1af9058237a5d79a883feb2ce61f4d59090288ac",
            "3dc.tsv.gz",
            "a5d787e41ea62658c69b5ee813ca8341847154b588e2c3a6ceb25df6e60920ed",
        ),
    )

    def units(self, root: Path) -> list[Unit]:
        """One unit per participant: its EMG files and the matching IMU files present."""
        units: list[Unit] = []
        parts = [p for p in root.iterdir() if p.is_dir() and _PARTICIPANT.fullmatch(p.name)]
        for part in sorted(parts, key=lambda p: int(p.name[len("Participant") :])):
            files: list[Path] = []
            for session in SESSIONS:
                for emg in sorted((part / session / "EMG").glob("*.txt"), key=natural_key):
                    files.append(emg)
                    imu = _imu_path(emg)
                    if imu.exists():
                        files.append(imu)
            if not files:
                log.warning("3dc: no EMG files under %s, skipped", part)
                continue
            n = int(part.name[len("Participant") :])
            units.append(Unit(key=part.name, subject=n, files=tuple(files)))
        return units

    def parse_unit(self, root: Path, unit: Unit) -> list[Recording]:
        """Read one participant's EMG files with their IMU streams."""
        layout = Layout.ring(self.n_channels)
        recs: list[Recording] = []
        for path in unit.files:
            if path.parent.name != "EMG":
                continue
            rel = path.relative_to(root)
            session = rel.parts[1]
            fields = parse_name(path, _EMG_FILE)
            rep, cls = int(fields["rep"]), int(fields["cls"])
            if not 0 <= cls < N_CLASSES:
                raise DataFormatError(
                    path, f"unknown class code {cls}; expected 0..{N_CLASSES - 1}"
                )
            if not 0 <= rep < N_REPS:
                raise DataFormatError(path, f"unknown repetition {rep}; expected 0..{N_REPS - 1}")
            emg = read_numeric_text(path, self.n_channels, ",", dtype=np.float32)
            n = emg.shape[0]
            seconds = n / self.fs
            if seconds < MIN_SECONDS:
                log.warning(
                    "3dc: skipped %s: only %d EMG samples (%.2f s < %.1f s)",
                    rel,
                    n,
                    seconds,
                    MIN_SECONDS,
                )
                continue
            short = seconds < SHORT_SECONDS
            if short:
                log.warning("3dc: %s is short (%d samples, %.2f s); kept", rel, n, seconds)
            aux: dict[str, AuxStream] = {}
            imu_path = _imu_path(path)
            if imu_path.exists():
                quat = read_numeric_text(imu_path, 4, ",", strip="()", dtype=np.float32)
                aux["imu"] = imu_stream(quat, seconds)
            else:
                log.warning("3dc: no IMU file %s for %s", imu_path.relative_to(root), rel)
            repetition = rep + 1 + (N_REPS if session == "test" else 0)
            recs.append(
                Recording(
                    emg=emg,
                    fs=self.fs,
                    labels=np.full(n, cls, dtype=np.int64),
                    layout=layout,
                    repetition=np.full(n, repetition, dtype=np.int64),
                    aux=aux,
                    meta={
                        "dataset": self.name,
                        "subject": unit.subject,
                        "session": session,
                        "repetition": repetition,
                        "file_rep": rep,
                        "gesture": cls,
                        "short": short,
                        "imu_fs": aux["imu"].fs if "imu" in aux else float("nan"),
                        "source": rel.as_posix(),
                    },
                    class_names=self.class_names,
                )
            )
        return recs


def _imu_path(emg_path: Path) -> Path:
    return emg_path.parent.parent / "IMU" / emg_path.name.replace("_EMG_", "_IMU_", 1)
