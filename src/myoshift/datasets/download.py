"""Download a dataset's public files: streamed, checksum-verified, safely extracted.

A dataset's `Download` entries are archives or single files with their SHA-256, or
per-file manifests (`myoshift.datasets.manifest`): every file fetched from a
commit-pinned address and checked against its own SHA-256, several at a time; files
already present and intact are not fetched again, so an interrupted download resumes.
An entry without a checksum downloads with a warning saying why it is unverified.

The transfer and the checksum are pooch's job (`pooch.retrieve` streams into a temporary
file next to the target and only moves it into place once its SHA-256 matches).
Archives are extracted by `myoshift.datasets._extract.safe_extract`, which never writes
outside the dataset's folder. A download that fails leaves no empty folders behind.
"""

from __future__ import annotations

import logging
import os
import tarfile
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from myoshift.datasets._extract import safe_extract
from myoshift.datasets.base import Download, get_dataset
from myoshift.datasets.manifest import read_manifest
from myoshift.datasets.paths import resolve_data_dir
from myoshift.errors import ConfigError, DataFormatError, DataNotFoundError
from myoshift.progress import progress as report_progress
from myoshift.progress import progress_enabled

log = logging.getLogger(__name__)

__all__ = ["download_dataset", "fetch", "fetch_files", "safe_extract"]


class _RichBar:
    """The small progress-bar interface pooch drives (``total``, update, reset, close)."""

    def __init__(self, description: str) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            transient=True,
        )
        self._task = self._progress.add_task(description, total=None)
        self._progress.start()
        self.total: int | None = None

    def update(self, n: int) -> None:
        self._progress.update(self._task, total=self.total or None, advance=n)

    def reset(self) -> None:
        self._progress.reset(self._task, total=self.total or None)

    def close(self) -> None:
        self._progress.stop()


def _filename(download: Download) -> str:
    name = download.filename or Path(urlsplit(download.url).path).name
    if not name or name in {".", ".."} or "/" in name or "\\" in name:
        raise ConfigError(
            f"download {download.url!r}: cannot derive a file name; set Download.filename"
        )
    return name


def fetch(download: Download, folder: Path, progress: bool = True) -> Path:
    """Stream ``download`` into ``folder`` (checksum verified) and return the file path.

    Raises
    ------
    DataFormatError
        The downloaded file's SHA-256 differs from ``download.sha256``; nothing is left
        behind.
    DataNotFoundError
        The server could not be reached or answered with an error.
    """
    import pooch
    import requests

    name = _filename(download)
    folder.mkdir(parents=True, exist_ok=True)
    known = None if download.sha256 is None else f"sha256:{download.sha256.lower()}"
    if known is None:
        why = download.unverified or "no checksum declared"
        log.warning("%s is NOT verified: %s", download.url, why)
    bar: Any = _RichBar(f"downloading {name}") if progress and progress_enabled() else False
    try:
        path = pooch.retrieve(
            download.url, known_hash=known, fname=name, path=folder, progressbar=bar
        )
    except ValueError as exc:  # pooch: hash mismatch (the temporary file is removed)
        raise DataFormatError(
            folder / name, f"download from {download.url} failed: {exc}"
        ) from None
    except requests.exceptions.RequestException as exc:
        raise DataNotFoundError(f"could not download {download.url}: {exc}") from None
    finally:
        if bar:
            bar.close()
    return Path(path)


def fetch_files(
    download: Download, target: Path, progress_bar: bool = True, workers: int = 8
) -> list[Path]:
    """Fetch every file of ``download.manifest`` into ``target``, each verified.

    Files already in ``target`` with the listed size and SHA-256 are kept; the others
    are fetched from ``download.url`` + their source path, ``workers`` at a time.

    Returns
    -------
    list of Path
        Every file of the manifest, in ``target``.

    Raises
    ------
    DataFormatError
        The manifest does not match ``download.sha256``, or a file's SHA-256 differs
        from the manifest (that file is not kept; the verified ones are).
    DataNotFoundError
        A file could not be downloaded.
    """
    import pooch

    if download.manifest is None or download.sha256 is None:
        raise ConfigError(f"Download({download.url!r}) has no manifest and its sha256")
    entries = read_manifest(download.manifest, download.sha256)
    todo = [e for e in entries if not e.found_in(target)]
    for e in todo:  # e.g. a link already in the folder, pointing elsewhere
        if not (target / e.path).parent.resolve().is_relative_to(target.resolve()):
            raise DataFormatError(target / e.path, "would be written outside the dataset folder")
    log.info("%s: %d of %d files to fetch", download.manifest, len(todo), len(entries))
    quiet, level = pooch.get_logger(), pooch.get_logger().level
    quiet.setLevel(logging.WARNING)  # not one line per file
    try:
        with ThreadPoolExecutor(max(1, workers)) as pool:
            jobs = [
                pool.submit(
                    fetch,
                    Download(e.url(download.url), e.sha256, PurePosixPath(e.path).name),
                    (target / e.path).parent,
                    False,
                )
                for e in todo
            ]
            try:
                what = f"downloading {download.manifest}"
                for job in report_progress(as_completed(jobs), what, progress_bar, len(jobs)):
                    job.result()
            finally:
                for job in jobs:
                    job.cancel()
    except BaseException:
        _remove_empty_folders(target)  # what was fetched and verified stays, for a rerun
        raise
    finally:
        quiet.setLevel(level)
    return [target / e.path for e in entries]


def download_dataset(
    name: str, data_dir: str | os.PathLike[str] | None = None, progress: bool = True
) -> Path:
    """Download (and extract) every public source of dataset ``name``.

    Files go to ``<data_dir>/<dataset folder>/`` (``data_dir`` resolved as everywhere:
    explicit, else ``$MYOSHIFT_DATA``, else the user cache). Archives are downloaded to
    ``<data_dir>/.downloads/``, verified, extracted and then deleted; non-archive files
    are verified and placed in the dataset folder; the files of a manifest are each
    verified and placed at their path (see `fetch_files`).

    Returns
    -------
    Path
        The dataset folder.

    Raises
    ------
    ConfigError
        Unknown dataset, or one without a public archive.
    DataFormatError
        Checksum mismatch or an unsafe/unreadable archive.
    DataNotFoundError
        A server could not be reached or answered with an error.
    """
    ds = get_dataset(name, data_dir=data_dir)
    if not ds.downloads:
        where = f" Get it from {ds.url}." if ds.url else ""
        raise ConfigError(
            f"dataset {name!r} has no public archive to download automatically.{where}"
        )
    root = resolve_data_dir(data_dir)
    target = root / ds.folder
    staging = root / ".downloads"
    try:
        for d in ds.downloads:
            if d.manifest is not None:
                fetch_files(d, target, progress_bar=progress)
                continue
            if not d.extract:
                fetch(d, target, progress=progress)
                continue
            path = fetch(d, staging, progress=progress)
            try:
                if not (zipfile.is_zipfile(path) or tarfile.is_tarfile(path)):
                    raise DataFormatError(path, f"{d.url} is not a zip or tar archive")
                log.info("extracting %s into %s", path.name, target)
                safe_extract(path, target)
            finally:
                path.unlink(missing_ok=True)
    finally:
        _remove_if_empty(staging)
    log.info("dataset %r is in %s", name, target)
    return target


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _remove_empty_folders(top: Path) -> None:
    """Remove the empty folders under ``top`` (and ``top`` itself if left empty)."""
    for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -len(Path(w[0]).parts)):
        _remove_if_empty(Path(dirpath))
