"""Safe extraction of a downloaded zip or tar archive into a dataset folder.

Every member is checked *before* anything is written; absolute paths, ``..``
components, links whose target leaves the folder and special files (devices, FIFOs) are
refused with a `DataFormatError` naming the archive and the member. Members are first
extracted into a staging folder beside the target and then moved into it, so an
interrupted extraction leaves no half-written dataset folder. If every member sits under
one wrapper folder (GitHub's ``<repo>-master/`` and the like, or a folder named as the
dataset folder or the archive), that folder is stripped.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from myoshift.errors import DataFormatError

__all__ = ["safe_extract"]

_GITHUB_WRAPPER = re.compile(r"-(master|main|HEAD|[0-9a-f]{7,40})$")


def _check_member(archive: Path, name: str) -> PurePosixPath:
    """The member's path relative to the target, or raise if it could leave it."""
    norm = name.replace("\\", "/")
    pure = PurePosixPath(norm)
    if pure.is_absolute() or norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        raise DataFormatError(archive, f"member {name!r} has an absolute path; refusing to extract")
    if ".." in pure.parts:
        raise DataFormatError(
            archive, f"member {name!r} contains '..' and could leave the target; refusing"
        )
    return pure


def _check_link(archive: Path, name: str, rel: PurePosixPath, target: str) -> None:
    """A link member may only point inside the target folder."""
    tgt = PurePosixPath(target.replace("\\", "/"))
    if tgt.is_absolute():
        raise DataFormatError(
            archive, f"member {name!r} is a link to absolute path {target!r}; refusing"
        )
    depth = 0
    for part in (*rel.parent.parts, *tgt.parts):
        if part == "..":
            depth -= 1
        elif part not in ("", "."):
            depth += 1
        if depth < 0:
            raise DataFormatError(
                archive, f"member {name!r} is a link pointing outside the target ({target!r})"
            )


def _zip_members(archive: Path, zf: zipfile.ZipFile) -> list[PurePosixPath]:
    rels = []
    for info in zf.infolist():
        rel = _check_member(archive, info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):  # zipfile writes links as small text files; check anyway
            _check_link(archive, info.filename, rel, zf.read(info).decode("utf-8", "replace"))
        rels.append(rel)
    return rels


def _tar_members(archive: Path, tf: tarfile.TarFile) -> list[PurePosixPath]:
    rels = []
    for m in tf.getmembers():
        rel = _check_member(archive, m.name)
        if m.issym():
            _check_link(archive, m.name, rel, m.linkname)
        elif m.islnk():
            _check_link(archive, m.name, PurePosixPath("x"), m.linkname)
        elif not (m.isfile() or m.isdir()):
            raise DataFormatError(
                archive, f"member {m.name!r} is a special file (device/FIFO); refusing"
            )
        rels.append(rel)
    return rels


def _wrapper_folder(
    archive: Path, rels: Iterable[PurePosixPath], dirs: set[str], folder: str | None
) -> str | None:
    """The archive's single top-level folder if it is a mere wrapper, else None.

    A wrapper is named like the dataset folder, like the archive itself, or as GitHub
    names its archives (``<repo>-master``, ``-main``, ``-HEAD`` or ``-<commit>``). Any
    other single top folder (e.g. one subject's ``s2/``) is kept.
    """
    tops = {r.parts[0] for r in rels if r.parts and r.parts[0] not in ("", ".")}
    if len(tops) != 1:
        return None
    top = next(iter(tops))
    if top not in dirs:
        return None
    stem = archive.name.split(".")[0]
    if top in {folder, stem} or _GITHUB_WRAPPER.search(top):
        return top
    return None


def safe_extract(
    archive: str | os.PathLike[str], target: str | os.PathLike[str], folder: str | None = None
) -> list[Path]:
    """Extract a zip/tar archive into ``target`` without ever writing outside it.

    All members are validated before anything is written. A single top-level wrapper
    folder is stripped when it is named like ``folder`` (default: ``target``'s name),
    like the archive, or like a GitHub archive (``<repo>-master`` ...). Existing files
    in ``target`` with the same names are replaced.

    Returns
    -------
    list of Path
        The extracted files (not folders), inside ``target``.

    Raises
    ------
    DataFormatError
        The archive is unreadable, or a member's path is absolute, contains ``..``, is a
        link leaving the target, or is a special file. Nothing is written in that case.
    """
    archive, target = Path(archive), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-extract-", dir=target.parent))
    try:
        try:
            if zipfile.is_zipfile(archive):
                with zipfile.ZipFile(archive) as zf:
                    rels = _zip_members(archive, zf)
                    dirs = {r.parts[0] for r in rels if len(r.parts) > 1}
                    dirs |= {i.filename.rstrip("/") for i in zf.infolist() if i.is_dir()}
                    zf.extractall(staging)
            elif tarfile.is_tarfile(archive):
                with tarfile.open(archive) as tf:
                    rels = _tar_members(archive, tf)
                    dirs = {r.parts[0] for r in rels if len(r.parts) > 1}
                    dirs |= {str(PurePosixPath(m.name)) for m in tf.getmembers() if m.isdir()}
                    tf.extractall(staging, filter="data")
            else:
                raise DataFormatError(archive, "not a zip or tar archive")
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
            raise DataFormatError(archive, f"cannot extract archive: {exc}") from None
        top = _wrapper_folder(archive, rels, dirs, folder or target.name)
        source = staging / top if top else staging
        return _move_tree(source, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_tree(source: Path, target: Path) -> list[Path]:
    """Move every file of ``source`` to the same relative place under ``target``."""
    moved = []
    target_abs = target.resolve()
    for dirpath, dirnames, filenames in os.walk(source):
        rel = Path(dirpath).relative_to(source)
        dest_dir = target / rel
        dest_dir.mkdir(parents=True, exist_ok=True)
        if not dest_dir.resolve().is_relative_to(target_abs):  # e.g. a pre-existing link
            raise DataFormatError(dest_dir, "extraction target leaves the dataset folder")
        links = [d for d in dirnames if (Path(dirpath) / d).is_symlink()]
        dirnames[:] = [d for d in dirnames if d not in links]
        for f in [*filenames, *links]:
            dest = dest_dir / f
            os.replace(Path(dirpath) / f, dest)
            moved.append(dest)
    return moved
