"""The dataset contract: declare where the data comes from, parse the original files.

A dataset module subclasses `Dataset`, fills in the class attributes, and implements

* `units(root)` — the independent parse units (usually one per subject) with the
  source files each one reads, found by walking the folder (a partial download with
  only some subjects is normal and loads what is there);
* `parse_unit(root, unit)` — read those original files into `Recording` objects.

`Dataset.load()` adds subject filtering, the parsed-recording cache and progress.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import Any, ClassVar

from myoshift.datasets import cache
from myoshift.datasets.paths import resolve_cache_dir, resolve_data_dir
from myoshift.errors import ConfigError, DataNotFoundError
from myoshift.progress import progress
from myoshift.recording import Recording, RecordingSet

log = logging.getLogger(__name__)

_INT = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class Unit:
    """One independently parsed piece of a dataset (usually one subject)."""

    key: str
    subject: Any
    files: tuple[Path, ...]


@dataclass(frozen=True)
class Download:
    """A public source of the dataset's files and what they must hash to.

    Attributes
    ----------
    url : str
        An archive or a single file; with ``manifest``, the base URL the manifest's
        paths are appended to (e.g. ``https://raw.githubusercontent.com/O/R/<commit>/``).
    sha256 : str or None
        SHA-256 of the file at ``url``, or with ``manifest`` of the manifest itself
        (whose lines give every file's SHA-256). None: the download is not verified.
    filename : str, optional
        Local name of the downloaded file (default: the URL's last part).
    extract : bool
        Extract the archive into the dataset folder (False: place the file there).
    manifest : str, optional
        Name of a per-file manifest in ``myoshift/datasets/manifests/`` (see
        `myoshift.datasets.manifest`): every file is fetched from ``url`` + its source
        path and checked against its own SHA-256.
    unverified : str
        Why ``sha256`` is None (printed when the download runs).
    """

    url: str
    sha256: str | None
    filename: str | None = None
    extract: bool = True
    manifest: str | None = None
    unverified: str = ""

    def __post_init__(self) -> None:
        digest = self.sha256
        if digest is not None and not (
            len(digest) == 64 and all(c in "0123456789abcdefABCDEF" for c in digest)
        ):
            raise ConfigError(f"Download({self.url!r}): sha256 must be 64 hex digits or None")
        if self.manifest is not None and digest is None:
            raise ConfigError(f"Download({self.url!r}): a manifest needs its sha256")


def github_files(repo: str, commit: str, manifest: str, sha256: str) -> Download:
    """The files of GitHub repository ``repo`` (``"OWNER/NAME"``) at ``commit`` (40 hex
    digits, never a branch) listed in ``manifest``, each fetched from
    ``raw.githubusercontent.com`` and verified (see `myoshift.datasets.manifest`)."""
    if len(commit) != 40 or not all(c in "0123456789abcdef" for c in commit):
        raise ConfigError(f"github_files({repo!r}): commit must be a full 40-digit hash")
    url = f"https://raw.githubusercontent.com/{repo}/{commit}/"
    return Download(url, sha256, manifest=manifest)


class Dataset(ABC):
    """Base class of every dataset loader. See the module docstring."""

    name: ClassVar[str]
    folder: ClassVar[str]
    description: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    licence: ClassVar[str] = ""
    url: ClassVar[str] = ""
    fs: ClassVar[float]
    n_channels: ClassVar[int]
    class_names: ClassVar[tuple[str, ...]] = ()
    downloads: ClassVar[tuple[Download, ...]] = ()
    #: Steps the raw signal needs before any method, as preprocess step specs (YAML list
    #: items, e.g. ``{"bandpass": {"low": 20, "high": 450}}``; see
    #: `myoshift.signal.steps.make_step`); read with
    #: `myoshift.signal.preprocess.dataset_preprocess`. Empty: use the signal as loaded.
    preprocess: ClassVar[tuple[Any, ...]] = ()
    parser_version: ClassVar[int] = 1

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        use_cache: bool = True,
    ) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        self.cache_dir = resolve_cache_dir(cache_dir)
        self.use_cache = use_cache

    # -- location ---------------------------------------------------------------------
    @property
    def root(self) -> Path:
        """The dataset's folder; raises `DataNotFoundError` saying how to get it."""
        root = self.data_dir / self.folder
        if not root.is_dir():
            how = f"Download it from {self.url}" if self.url else "See the dataset's documentation"
            if self.downloads:
                how += f" or run `myoshift datasets download {self.name}`"
            raise DataNotFoundError(
                f"dataset {self.name!r} not found: looked for folder {root} "
                f"(data dir from --data-dir / data_dir=, else $MYOSHIFT_DATA, else the user "
                f"cache). {how} and put it there as {self.folder}/."
            )
        return root

    def found(self) -> bool:
        return (self.data_dir / self.folder).is_dir()

    # -- to implement -----------------------------------------------------------------
    @abstractmethod
    def units(self, root: Path) -> list[Unit]:
        """The parse units present under ``root``, sorted."""

    @abstractmethod
    def parse_unit(self, root: Path, unit: Unit) -> list[Recording]:
        """Parse one unit's original files."""

    # -- loading ----------------------------------------------------------------------
    def subjects(self) -> list[Any]:
        """Subjects present locally."""
        return sorted({u.subject for u in self.units(self.root)})

    def load(
        self, subjects: Iterable[Any] | None = None, show_progress: bool = True
    ) -> RecordingSet:
        """Load (from cache when valid) the recordings of ``subjects`` (default: all).

        Subjects compare by value whatever their type (`subject_key`: ``"1"`` and
        ``"01"`` find the subject ``1``); a single subject may be given alone.

        With the cache on, loading the whole dataset is itself one cache entry that lists
        every folder and file under the dataset folder with its stat signature
        (`cache.snapshot`), so a repeated load costs one ``stat`` per path and one file
        read, and any change, addition or removal of a file is seen. A selection of
        subjects, or a whole load whose files changed, reads each parse unit from its own
        cache entry or parses it (no copy of the data is cached per selection).
        """
        root = self.root
        if not self.use_cache or subjects is not None:
            return self._load_units(root, subjects, show_progress)
        entry = self._load_entry(root)
        try:
            return RecordingSet(cache.load(entry, root=root))
        except (FileNotFoundError, NotADirectoryError, cache.StaleEntry):
            pass  # no entry yet, or the files changed: parse and (re)write it
        except Exception as exc:  # any unreadable entry is rebuilt
            log.warning("cache entry %s unreadable (%s); rebuilding", entry, exc)
            with contextlib.suppress(OSError):
                entry.unlink(missing_ok=True)
        before = cache.snapshot(root)
        rset = self._load_units(root, None, show_progress)
        if cache.fresh(before, root):  # nothing changed while parsing
            self._write_entry(entry, list(rset), "_load-*.npz", before)
        return rset

    def _load_entry(self, root: Path) -> Path:
        """Cache path of a whole load: dataset folder, parser, constructor arguments."""
        text = f"{root.resolve()}|{self.name}|{self.parser_version}|{self.cache_token()}"
        key = hashlib.sha1(f"{text}|{cache.CACHE_FORMAT}".encode()).hexdigest()[:20]
        return self.cache_dir / self.name / f"_load-{key}.npz"

    def cache_token(self) -> str:
        """Extra cache-key text for loaders whose parse depends on constructor arguments."""
        return ""

    def _write_entry(
        self,
        path: Path,
        recs: list[Recording],
        replaces: str,
        sources: cache.Sources | None = None,
    ) -> None:
        """Write a cache entry after deleting the older ones it replaces (a glob pattern;
        for whole loads it also catches the per-selection entries of cache format 2)."""
        try:
            for stale in path.parent.glob(replaces):
                stale.unlink(missing_ok=True)
            cache.save(path, recs, sources)
        except (OSError, TypeError, ValueError) as exc:  # e.g. read-only, non-JSON meta
            log.warning("could not write cache %s: %s", path, exc)

    def _load_units(
        self, root: Path, subjects: Iterable[Any] | None, show_progress: bool
    ) -> RecordingSet:
        units = self.units(root)
        if not units:
            raise DataNotFoundError(f"dataset {self.name!r}: no recordings found under {root}")
        if subjects is not None:
            units = self._select(root, units, subjects)
        recs: list[Recording] = []
        for unit in progress(units, f"loading {self.name}", enabled=show_progress):
            recs.extend(self._load_unit(root, unit))
        self.check_loaded(root, recs)
        return RecordingSet(recs)

    def _select(self, root: Path, units: list[Unit], subjects: Iterable[Any]) -> list[Unit]:
        """The units of ``subjects``, compared by `subject_key` (``"1"`` finds ``1``)."""
        wanted = [subjects] if isinstance(subjects, str | Integral) else list(subjects)
        present = {subject_key(u.subject) for u in units}
        missing = [s for s in wanted if subject_key(s) not in present]
        if missing:
            shown = sorted((u.subject for u in units), key=lambda s: (str(type(s)), s))
            raise DataNotFoundError(
                f"dataset {self.name!r}: subject(s) {missing} not found under {root}; "
                f"present: {list(dict.fromkeys(shown))}"
            )
        keys = {subject_key(s) for s in wanted}
        return [u for u in units if subject_key(u.subject) in keys]

    def check_loaded(self, root: Path, recordings: list[Recording]) -> None:
        """Checks across the files of a load (each file is checked as it is parsed).

        Raises `DataFormatError` naming the odd file; the default checks nothing.
        """
        return None

    def _load_unit(self, root: Path, unit: Unit) -> list[Recording]:
        if not self.use_cache:
            return self.parse_unit(root, unit)
        key = cache.source_key(self.name, self.parser_version, unit.files, root)
        stem = _safe(unit.key)
        path = self.cache_dir / self.name / f"{stem}-{key}.npz"
        if path.exists():
            try:
                return cache.load(path)
            except Exception as exc:
                log.warning("cache entry %s unreadable (%s); re-parsing", path, exc)
                path.unlink(missing_ok=True)
        recs = self.parse_unit(root, unit)
        self._write_entry(path, recs, f"{stem}-{'?' * len(key)}.npz")
        return recs

    @classmethod
    def info(cls) -> dict[str, Any]:
        return {
            "name": cls.name,
            "folder": cls.folder,
            "description": cls.description,
            "citation": cls.citation,
            "licence": cls.licence,
            "url": cls.url,
            "fs": cls.fs,
            "n_channels": cls.n_channels,
            "classes": list(cls.class_names),
        }


def subject_key(subject: Any) -> Any:
    """What subjects are compared by: an integer for ``1``, ``"1"`` or ``"01"``, else
    the text (so a subject typed on a command line finds one parsed as a number)."""
    if isinstance(subject, Integral) and not isinstance(subject, bool):
        return int(subject)
    if isinstance(subject, str):
        text = subject.strip()
        return int(text) if _INT.fullmatch(text) else text
    return subject


def _safe(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in key)


_REGISTRY: dict[str, type[Dataset]] = {}


def register_dataset(cls: type[Dataset]) -> type[Dataset]:
    """Class decorator adding a dataset to the registry under ``cls.name``."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ConfigError(f"dataset name {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def dataset_names() -> list[str]:
    return sorted(_REGISTRY)


def get_dataset(name: str, **kwargs: Any) -> Dataset:
    """Instantiate a registered dataset by name (kwargs: data_dir, cache_dir, ...)."""
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown dataset {name!r}; valid names: {', '.join(dataset_names())}"
        ) from None
    return cls(**kwargs)


def load_dataset(name: str, subjects: Sequence[Any] | None = None, **kwargs: Any) -> RecordingSet:
    """Shortcut: ``get_dataset(name, **kwargs).load(subjects)``."""
    return get_dataset(name, **kwargs).load(subjects)
