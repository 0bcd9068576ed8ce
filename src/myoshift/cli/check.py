"""``myoshift check``: wear and placement checks of a file or of a registered dataset.

``myoshift check FILE --fs HZ`` reads samples x channels (CSV/TXT/NPY,
`myoshift.realtime.sources.load_samples`) and runs `myoshift.signal.quality`; with
``--reference REF`` it also estimates how far round the armband sits compared with a
reference (a ``.npz`` written by ``--save-reference``, or a calibration recording in the
same format). ``myoshift check DATASET [--subjects ...]`` checks every session of a
registered dataset; each person's first session is the placement reference of the
later ones. Exit status: 0 all good, 1 a fault (or a rotated armband) found, 2 an error.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from myoshift.cli._args import subject_list
from myoshift.errors import ConfigError, ShapeError

GROUP_COLUMNS = ("session", "day")


def _samples(path: str, what: str = "") -> Any:
    """Samples x channels of a file, refusing a file that looks transposed."""
    from myoshift.realtime.sources import load_samples

    arr = load_samples(path)
    if arr.shape[1] > arr.shape[0]:
        raise ShapeError(
            f"{what}{path}: {arr.shape[0]} rows x {arr.shape[1]} columns; expected samples x "
            "channels (one row per sample), transpose the file"
        )
    return arr


def _labels(path: str | None, n: int) -> Any:
    if path is None:
        return None
    import numpy as np

    lab = _samples(path, "--labels ")
    if lab.shape[1] != 1 or len(lab) != n or not np.all(lab == np.round(lab)):
        raise ShapeError(
            f"--labels {path}: expected one integer class code per sample ({n}), got "
            f"shape {lab.shape}"
        )
    return lab[:, 0].astype(np.int64)


def _reference(path: str, fs: float) -> Any:
    from myoshift.signal.placement import PlacementReference, make_reference

    if Path(path).suffix.lower() == ".npz":
        ref = PlacementReference.load(path)
    else:
        ref = make_reference(_samples(path, "--reference "), fs)
    ref.source = str(path)
    return ref


def _layout(kind: str, n_channels: int) -> Any:
    from myoshift.recording import Layout

    return Layout.ring(n_channels) if kind == "ring" else Layout.plain(n_channels)


def _rails(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"--rails takes LOW,HIGH (e.g. -128,127), got {text!r}") from None
    if not lo < hi:
        raise ConfigError(f"--rails: LOW must be below HIGH, got {text!r}")
    return lo, hi


def check_file(args: argparse.Namespace) -> tuple[bool, Any]:
    from myoshift.signal.placement import make_reference
    from myoshift.signal.quality import check_recording

    if args.fs is None:
        raise ConfigError(f"{args.target}: a file needs its sampling rate, add --fs HZ")
    emg = _samples(args.target)
    layout = _layout(args.layout, emg.shape[1])
    labels = _labels(args.labels, len(emg))
    ref = _reference(args.reference, args.fs) if args.reference else None
    if ref is not None and ref.n_channels != emg.shape[1]:
        raise ShapeError(
            f"--reference {args.reference}: has {ref.n_channels} channels but "
            f"{args.target} has {emg.shape[1]}; use a reference of this armband"
        )
    report = check_recording(
        emg, args.fs, layout, labels, ref, _rails(args.rails), name=str(args.target)
    )
    if args.save_reference:
        mine = make_reference(emg, args.fs, labels, layout)
        mine.source = str(args.target)
        report.notes.append(f"placement reference saved to {mine.save(args.save_reference)}")
    return report.ok, (report.to_json() if args.json else report.to_text())


def _groups(data: Any) -> list[tuple[Any, Any, list[Any]]]:
    """``(subject, session, recordings)`` in load order (session: session or day)."""
    column = next((c for c in GROUP_COLUMNS if c in data.meta.columns), None)
    groups: dict[tuple[Any, Any], list[Any]] = {}
    for rec in data:
        key = (rec.meta.get("subject"), rec.meta.get(column) if column else None)
        groups.setdefault(key, []).append(rec)
    return [(s, ses, recs) for (s, ses), recs in groups.items()]


def check_dataset(args: argparse.Namespace) -> tuple[bool, Any]:
    from myoshift.datasets import get_dataset
    from myoshift.signal.placement import make_reference
    from myoshift.signal.quality import check_recording

    if args.reference or args.save_reference or args.labels or args.fs:
        raise ConfigError(
            "--fs, --labels, --reference and --save-reference apply to a FILE; a dataset "
            "brings its own rate and labels, and each person's first session is the reference"
        )
    data = get_dataset(args.target, data_dir=args.data_dir).load(subject_list(args.subjects))
    if len(data) == 0:
        raise ConfigError(f"dataset {args.target!r}: no recordings for subjects {args.subjects}")
    out, text, ok = [], [], True
    refs: dict[Any, Any] = {}
    for subject, session, recs in _groups(data):
        name = f"{args.target} subject {subject}" + (f" {session}" if session is not None else "")
        ref = refs.get(subject)
        if subject not in refs and recs[0].layout.kind == "ring":
            try:
                refs[subject] = make_reference(recs)
                refs[subject].source = name
            except ShapeError:  # no contraction in the first session: no reference
                refs[subject] = None
        report = check_recording(recs, reference=ref, rails=_rails(args.rails), name=name)
        ok &= report.ok
        out.append({"subject": subject, "session": session, **report.to_json()})
        text += report.to_text()
    doc = {"dataset": args.target, "ok": ok, "sessions": out}
    return ok, (doc if args.json else text)


def cmd_check(args: argparse.Namespace) -> int:
    from myoshift.datasets import dataset_names

    if Path(args.target).is_file():
        ok, result = check_file(args)
    elif args.target in dataset_names():
        ok, result = check_dataset(args)
    else:
        raise ConfigError(
            f"{args.target}: no such file and not a registered dataset "
            f"({', '.join(dataset_names())})"
        )
    if args.json:
        print(json.dumps(result, default=str))
    else:
        print("\n".join(result))
    return 0 if ok else 1


def register(subparsers: Any) -> None:
    """Add ``myoshift check`` to the top-level parser."""
    p = subparsers.add_parser(
        "check",
        help="wear checks (faulty channels) and armband placement of a file or dataset",
        description=(
            "Check every channel of FILE (samples x channels, CSV/TXT/NPY) or of each "
            "session of a registered DATASET for faults: flat, clipping, mains, baseline, "
            "noisy, contact, low_snr (see docs/quality.md). Exit status 0: no fault; "
            "1: a fault or a rotated armband; 2: an error."
        ),
    )
    p.add_argument("target", metavar="FILE|DATASET", help="a samples file or a dataset name")
    p.add_argument("--fs", type=float, default=None, help="FILE: sampling rate in Hz")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "--layout",
        choices=("ring", "plain"),
        default="ring",
        help="FILE: electrodes around the forearm (ring, default) or no known geometry",
    )
    p.add_argument("--labels", metavar="FILE", help="FILE: one class code per sample (0 rest)")
    p.add_argument(
        "--reference",
        metavar="REF",
        help="FILE: placement reference (.npz from --save-reference, or a calibration file)",
    )
    p.add_argument(
        "--save-reference", metavar="OUT", help="FILE: save its placement reference (.npz)"
    )
    p.add_argument("--rails", metavar="LOW,HIGH", help="the amplifier's range (clipping check)")
    p.add_argument("--subjects", nargs="+", default=None, help="DATASET: subjects to check")
    p.add_argument("--data-dir", default=None, help="DATASET: data folder")
    p.set_defaults(func=cmd_check)
