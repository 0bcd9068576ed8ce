"""Tidy results and the resumable per-run cache (one small JSON file per run).

A *run* is one (dataset, protocol, method, fold, seed, calibration) evaluated under one
configuration (hashed). Its record is written atomically to
``<out>/runs/<dataset>/<protocol>/<method>/<fold>-c<k>-s<seed>-<hash>.json`` as soon as it
finishes, so an interrupted benchmark resumes where it stopped and a finished run is
never recomputed. The tidy table has one row per run × condition × metric.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

#: first columns of results.csv, in order; ``gap``, ``train_domain``, ``test_domain``,
#: ``error`` follow
RESULT_COLUMNS = [
    "dataset",
    "protocol",
    "method",
    "fold",
    "subject",
    "calibration",
    "seed",
    "condition",
    "metric",
    "value",
]
EXTRA_COLUMNS = ["gap", "train_domain", "test_domain", "error"]
#: resource figures stored as metrics of each run
RESOURCE_METRICS = (
    "wall_s",
    "fit_s",
    "cpu_s",
    "peak_rss_mb",
    "peak_traced_mb",
    "n_train",
    "n_test",
)


def config_hash(config: Any) -> str:
    """Short stable hash of a JSON-able configuration."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _safe(text: Any) -> str:
    s = str(text).replace("->", "_to_")
    return "".join(c if c.isalnum() or c in "-_.=+" else "_" for c in s) or "_"


@dataclass(frozen=True)
class RunKey:
    """Identity of one run in the cache."""

    dataset: str
    protocol: str
    method: str
    fold: str
    seed: int
    calibration: int
    config: str

    def relpath(self) -> Path:
        name = f"{_safe(self.fold)}-c{self.calibration}-s{self.seed}-{self.config}.json"
        return Path(_safe(self.dataset), _safe(self.protocol), _safe(self.method), name)


class ResultStore:
    """Per-run JSON records under ``root`` (usually ``<out>/runs``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, key: RunKey) -> Path:
        return self.root / key.relpath()

    def get(self, key: RunKey) -> dict[str, Any] | None:
        """The finished record of ``key`` (errors are not cached), or None."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            record: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable result %s (%s)", path, exc)
            return None
        if record.get("key") != asdict(key) or record.get("status") != "ok":
            return None
        return record

    def put(self, key: RunKey, record: dict[str, Any]) -> Path:
        """Write ``record`` atomically (a killed run never leaves half a file)."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {**record, "key": asdict(key)}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(_jsonable(record), fh, indent=1, sort_keys=True)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def record_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Tidy rows of one run record."""
    key = record["key"]
    info = record.get("info", {})
    base = {
        "dataset": key["dataset"],
        "protocol": key["protocol"],
        "method": key["method"],
        "fold": key["fold"],
        "subject": info.get("subject"),
        "calibration": key["calibration"],
        "seed": key["seed"],
    }
    extra = {c: info.get(c) for c in ("gap", "train_domain", "test_domain")}
    if record.get("status") != "ok":
        err = record.get("error", "unknown error")
        return [{**base, "condition": "", "metric": "error", "value": None, **extra, "error": err}]
    rows = []
    for cond, metrics in record.get("conditions", {}).items():
        for name, value in metrics.items():
            if isinstance(value, (int, float)) and name not in ("n",):
                rows.append({**base, "condition": cond, "metric": name, "value": float(value)})
            elif name == "recall_per_class":
                for cls, v in value.items():
                    rows.append({**base, "condition": cond, "metric": f"recall[{cls}]", "value": v})
    for name in RESOURCE_METRICS:
        if name in record.get("resources", {}):
            v = record["resources"][name]
            rows.append({**base, "condition": "", "metric": name, "value": v})
    return [{**r, **extra, "error": None} for r in rows]


def to_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """The tidy results table of run records (`RESULT_COLUMNS` + `EXTRA_COLUMNS`)."""
    rows = [row for rec in records for row in record_rows(rec)]
    df = pd.DataFrame(rows, columns=[*RESULT_COLUMNS, *EXTRA_COLUMNS])
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    return df
