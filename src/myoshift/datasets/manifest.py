"""Per-file download manifests: a dataset's files at one fixed commit, each with its SHA-256.

A `Download` with ``manifest="<name>.tsv.gz"`` fetches every listed file from the
Download's base URL, an address that never changes content (a commit-pinned
``https://raw.githubusercontent.com/OWNER/REPO/<commit>/``), and checks each file
against its own SHA-256, so a download is verified end to end whatever the server
sends. The manifest itself is pinned by the Download's ``sha256``. Only the dataset's
files are listed, not the code of the repository they are published in.

A manifest is gzip-compressed UTF-8 text in ``myoshift/datasets/manifests/``::

    # myoshift download manifest 1
    # source: github:OWNER/REPO@COMMIT
    <sha256> TAB <size in bytes> TAB <path in the dataset folder> [TAB <path at the source>]

(the source path only where it differs). `build_manifest` lists the files of a git
repository (a clone or a mirror) at a commit and `write_manifest` writes them, also
from the command line::

    python -m myoshift.datasets.manifest GIT_DIR COMMIT OUT.tsv.gz --include 'data/*' \\
        --source github:OWNER/REPO@COMMIT
"""

from __future__ import annotations

import argparse
import fnmatch
import gzip
import hashlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from myoshift.errors import ConfigError, DataFormatError
from myoshift.hashing import file_sha256

__all__ = [
    "MANIFEST_DIR",
    "ManifestEntry",
    "build_manifest",
    "read_manifest",
    "write_manifest",
]

#: Where the manifests named by the built-in datasets' `Download` entries live.
MANIFEST_DIR = Path(__file__).with_name("manifests")
HEADER = "# myoshift download manifest 1"
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class ManifestEntry:
    """One file: where it goes in the dataset folder, its SHA-256 and size, and its path
    relative to the Download's base URL."""

    path: str
    sha256: str
    size: int
    source: str

    def url(self, base_url: str) -> str:
        """The file's address under ``base_url``."""
        return base_url.rstrip("/") + "/" + quote(self.source)

    def found_in(self, folder: Path) -> bool:
        """Whether ``folder`` already holds this file, intact (size and SHA-256)."""
        path = folder / self.path
        intact = path.is_file() and path.stat().st_size == self.size
        return intact and file_sha256(path) == self.sha256


def _relative(manifest: Path, line: int, text: str) -> str:
    """``text`` if it is a plain relative path that stays inside the folder."""
    pure = PurePosixPath(text)
    if not text or "\\" in text or pure.is_absolute() or ".." in pure.parts or text != str(pure):
        raise DataFormatError(manifest, f"line {line}: path {text!r} is not a plain relative path")
    return text


def _entry(manifest: Path, line: int, fields: list[str]) -> ManifestEntry:
    if len(fields) not in (3, 4):
        raise DataFormatError(manifest, f"line {line}: {len(fields)} fields, expected 3 or 4")
    digest, size = fields[0], fields[1]
    if len(digest) != 64 or not set(digest) <= _HEX or not size.isdigit():
        raise DataFormatError(manifest, f"line {line}: expected '<sha256> <size> <path>'")
    path = _relative(manifest, line, fields[2])
    source = _relative(manifest, line, fields[3]) if len(fields) == 4 else path
    return ManifestEntry(path, digest, int(size), source)


def read_manifest(name: str | Path, sha256: str) -> list[ManifestEntry]:
    """The entries of manifest ``name`` (a file name in `MANIFEST_DIR`, or a path).

    Raises
    ------
    DataFormatError
        The manifest is missing, its SHA-256 is not ``sha256`` (it was modified), or a
        line is malformed or names a path outside the dataset folder; names the file.
    """
    path = Path(name) if Path(name).is_absolute() else MANIFEST_DIR / name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataFormatError(path, f"cannot read the download manifest ({exc})") from None
    if hashlib.sha256(data).hexdigest() != sha256.lower():
        raise DataFormatError(path, "SHA-256 does not match its Download entry; modified?")
    try:
        lines = gzip.decompress(data).decode("utf-8").splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"not a gzip-compressed text manifest ({exc})") from None
    if not lines or lines[0] != HEADER:
        raise DataFormatError(path, f"first line is not {HEADER!r}")
    entries = [
        _entry(path, i, line.split("\t"))
        for i, line in enumerate(lines, 1)
        if line and not line.startswith("#")
    ]
    seen: set[str] = set()
    for e in entries:
        if e.path in seen:
            raise DataFormatError(path, f"{e.path!r} is listed twice")
        seen.add(e.path)
    return entries


def write_manifest(path: str | Path, entries: Sequence[ManifestEntry], source: str) -> str:
    """Write ``entries`` (sorted by path) as a manifest; returns the file's SHA-256.

    The bytes depend only on the entries and ``source`` (gzip without a time stamp),
    so writing the same list again gives the same checksum.
    """
    lines = [HEADER, f"# source: {source}"]
    for e in sorted(entries, key=lambda e: e.path):
        fields = [e.sha256, str(e.size), e.path] + ([e.source] if e.source != e.path else [])
        lines.append("\t".join(fields))
    data = gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0)
    Path(path).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _git(git_dir: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        return subprocess.run(
            ["git", "-C", str(git_dir), *args], input=stdin, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ConfigError(f"git {' '.join(args)} failed in {git_dir}: {exc}") from None


def _matches(path: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def _contents(git_dir: Path, blobs: list[tuple[str, str]]) -> list[bytes]:
    """The content of each ``(object id, path)`` blob, in one ``git cat-file --batch``."""
    out = _git(git_dir, "cat-file", "--batch", stdin="".join(f"{o}\n" for o, _ in blobs).encode())
    contents, pos = [], 0
    for oid, path in blobs:
        end = out.index(b"\n", pos)
        header = out[pos:end].decode().split()
        if header[1:2] != ["blob"]:
            raise ConfigError(f"{git_dir}: the content of {path} ({oid}) is not in the repository")
        size = int(header[2])
        contents.append(out[end + 1 : end + 1 + size])
        pos = end + 2 + size
    return contents


def build_manifest(
    git_dir: str | Path,
    commit: str,
    include: Sequence[str],
    strip: str = "",
    exclude: Sequence[str] = (),
) -> list[ManifestEntry]:
    """The files of ``commit`` in git repository ``git_dir`` whose path matches one of
    the ``include`` patterns and none of ``exclude`` (`fnmatch`: ``*`` also crosses
    ``/``), with their SHA-256 computed from the repository's content. ``strip`` is a
    leading folder removed from the paths in the dataset folder (the source keeps it).

    Raises
    ------
    ConfigError
        git fails, no file matches, or a matching file's content is not in the
        repository (a partial mirror).
    """
    git_dir = Path(git_dir)
    listing = _git(git_dir, "ls-tree", "-r", "-z", commit).decode("utf-8")
    blobs: list[tuple[str, str]] = []
    for item in filter(None, listing.split("\0")):
        meta, path = item.split("\t", 1)
        _, kind, oid = meta.split()
        if kind == "blob" and _matches(path, include) and not _matches(path, exclude):
            blobs.append((oid, path))
    if not blobs:
        raise ConfigError(f"no file of {commit} in {git_dir} matches {list(include)}")
    entries = []
    for (_, path), content in zip(blobs, _contents(git_dir, blobs)):
        local = path[len(strip) :].lstrip("/") if strip and path.startswith(strip) else path
        digest = hashlib.sha256(content).hexdigest()
        entries.append(ManifestEntry(local, digest, len(content), path))
    return entries


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m myoshift.datasets.manifest``: build a manifest from a git repository."""
    parser = argparse.ArgumentParser(description=build_manifest.__doc__)
    parser.add_argument("git_dir")
    parser.add_argument("commit")
    parser.add_argument("out")
    parser.add_argument("--include", action="append", required=True, help="fnmatch pattern")
    parser.add_argument("--exclude", action="append", default=[], help="fnmatch pattern")
    parser.add_argument("--strip", default="", help="leading folder to drop from the paths")
    parser.add_argument("--source", required=True, help="e.g. github:OWNER/REPO@COMMIT")
    args = parser.parse_args(argv)
    entries = build_manifest(args.git_dir, args.commit, args.include, args.strip, args.exclude)
    digest = write_manifest(args.out, entries, args.source)
    size = sum(e.size for e in entries)
    print(f"{args.out}: {len(entries)} files, {size} bytes, sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
