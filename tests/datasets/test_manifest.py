"""Download manifests: format, integrity, building from git, and the built-in pins."""

from __future__ import annotations

import gzip
import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from myoshift.datasets import dataset_names, get_dataset
from myoshift.datasets.base import Download, github_files
from myoshift.datasets.manifest import (
    MANIFEST_DIR,
    ManifestEntry,
    build_manifest,
    main,
    read_manifest,
    write_manifest,
)
from myoshift.errors import ConfigError, DataFormatError
from myoshift.hashing import file_sha256
from tests.conftest import require_dataset

ENTRIES = [
    ManifestEntry("s1/a.csv", "a" * 64, 3, "data/s1/a.csv"),
    ManifestEntry("README.md", "b" * 64, 10, "README.md"),
]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_round_trip_is_deterministic_and_sorted(tmp_path: Path) -> None:
    digest = write_manifest(tmp_path / "m.tsv.gz", ENTRIES, "github:o/r@" + "0" * 40)
    assert digest == _sha(tmp_path / "m.tsv.gz")
    assert write_manifest(tmp_path / "again.tsv.gz", ENTRIES[::-1], "github:o/r@" + "0" * 40) == (
        digest
    )  # same entries, same bytes: no time stamp in the gzip header
    back = read_manifest(tmp_path / "m.tsv.gz", digest)
    assert back == sorted(ENTRIES, key=lambda e: e.path)
    lines = gzip.decompress((tmp_path / "m.tsv.gz").read_bytes()).decode().splitlines()
    assert lines[2] == "\t".join(["b" * 64, "10", "README.md"])  # source only where it differs
    assert lines[3].endswith("\ts1/a.csv\tdata/s1/a.csv")
    assert ENTRIES[0].url("https://h/o/r/c/") == "https://h/o/r/c/data/s1/a.csv"
    assert ManifestEntry("a b.csv", "a" * 64, 1, "x y/a b.csv").url("https://h") == (
        "https://h/x%20y/a%20b.csv"
    )


def _raw(tmp_path: Path, body: str, header: str = "# myoshift download manifest 1") -> Path:
    path = tmp_path / "bad.tsv.gz"
    path.write_bytes(gzip.compress(f"{header}\n{body}\n".encode(), mtime=0))
    return path


@pytest.mark.parametrize(
    ("body", "header", "needle"),
    [
        (f"{'a' * 64}\t3\t../evil.csv", None, "'../evil.csv' is not a plain relative path"),
        (f"{'a' * 64}\t3\t/etc/passwd", None, "'/etc/passwd' is not a plain relative path"),
        (f"{'a' * 64}\t3\tok.csv\tx/../../y", None, "is not a plain relative path"),
        (f"{'a' * 64}\t3\tx.csv\n{'b' * 64}\t4\tx.csv", None, "'x.csv' is listed twice"),
        (f"{'z' * 64}\t3\tx.csv", None, "line 2: expected '<sha256> <size> <path>'"),
        (f"{'a' * 64}\tx.csv", None, "line 2: 2 fields"),
        (f"{'a' * 64}\t3\tx.csv", "# something else", "first line"),
    ],
)
def test_malformed_manifests_are_refused(
    tmp_path: Path, body: str, header: str | None, needle: str
) -> None:
    path = _raw(tmp_path, body, *([header] if header else []))
    with pytest.raises(DataFormatError, match=re.escape(needle)) as err:
        read_manifest(path, _sha(path))
    assert str(path) in str(err.value)


def test_modified_or_missing_manifest_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.tsv.gz"
    digest = write_manifest(path, ENTRIES, "test")
    write_manifest(path, ENTRIES[:1], "test")  # edited after its checksum was pinned
    with pytest.raises(DataFormatError, match="SHA-256 does not match its Download"):
        read_manifest(path, digest)
    with pytest.raises(DataFormatError, match="cannot read the download manifest"):
        read_manifest(tmp_path / "nowhere.tsv.gz", digest)
    path.write_bytes(b"plain text")
    with pytest.raises(DataFormatError, match="not a gzip-compressed"):
        read_manifest(path, _sha(path))


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_build_from_a_git_commit(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "data" / "s1").mkdir(parents=True)
    (repo / "data" / "s1" / "a.csv").write_text("1,2\n")
    (repo / "data" / "s1" / "model.p").write_bytes(b"pickle")
    (repo / "code.py").write_text("print()\n")
    (repo / "README.md").write_text("readme\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    commit = _git(repo, "rev-parse", "HEAD")
    (repo / "data" / "s1" / "a.csv").write_text("changed after the commit\n")
    entries = build_manifest(repo, commit, ["data/*", "README.md"], "data/", ["*.p"])
    assert {(e.path, e.source) for e in entries} == {
        ("s1/a.csv", "data/s1/a.csv"),
        ("README.md", "README.md"),
    }
    a = next(e for e in entries if e.path == "s1/a.csv")
    assert (a.sha256, a.size) == (hashlib.sha256(b"1,2\n").hexdigest(), 4)  # the commit's
    with pytest.raises(ConfigError, match="no file of"):
        build_manifest(repo, commit, ["nothing/*"])
    with pytest.raises(ConfigError, match="git ls-tree"):
        build_manifest(repo, "f" * 40, ["*"])
    out = tmp_path / "m.tsv.gz"
    assert main([str(repo), commit, str(out), "--include", "*.md", "--source", "s"]) == 0
    assert [e.path for e in read_manifest(out, _sha(out))] == ["README.md"]


def test_github_files_needs_a_commit() -> None:
    d = github_files("o/r", "0123456789" * 4, "x.tsv.gz", "c" * 64)
    assert d.url == f"https://raw.githubusercontent.com/o/r/{'0123456789' * 4}/"
    assert d.manifest == "x.tsv.gz"
    with pytest.raises(ConfigError, match="40-digit"):
        github_files("o/r", "master", "x.tsv.gz", "c" * 64)
    with pytest.raises(ConfigError, match="64 hex"):
        Download("https://x/a.zip", "abc")
    with pytest.raises(ConfigError, match="needs its sha256"):
        Download("https://x/", None, manifest="x.tsv.gz")


def _builtin_downloads() -> list[tuple[str, Download]]:
    return [(n, d) for n in dataset_names() for d in get_dataset(n).downloads]


def test_every_builtin_download_is_pinned_or_says_why_not() -> None:
    pinned = 0
    for name, d in _builtin_downloads():
        if d.sha256 is None:
            assert len(d.unverified) > 40, f"{name}: {d.url} is unverified without a reason"
            continue
        assert d.manifest is not None, name
        # a commit, never a branch: the same address always serves the same files
        assert re.search(r"/[0-9a-f]{40}/$", d.url), d.url
        entries = read_manifest(d.manifest, d.sha256)  # the packaged manifest is intact
        assert len(entries) >= 60, name
        pinned += 1
    assert pinned >= 5
    assert sorted(p.name for p in MANIFEST_DIR.glob("*.tsv.gz")) == sorted(
        d.manifest for _, d in _builtin_downloads() if d.manifest
    )


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("flexemg", "flexemg"),
        ("kanoga", "LongTermSEMG_Kanoga"),
        ("myoarmband", "MyoArmbandDataset"),
        ("3dc", "3DCDataset"),
        ("libemg-onesubject", "OneSubjectMyoDataset"),
        ("electrode-shift", "CIILData"),
        ("multiday", "MultiDay"),
        ("contraction-intensity", "ContractionIntensity"),
    ],
)
def test_pins_match_the_real_files(name: str, folder: str) -> None:
    """Every file of the development data is in the pinned manifest, with its SHA-256
    (these folders are subsets of the pinned commits)."""
    root = require_dataset(folder)
    (download,) = get_dataset(name).downloads
    assert download.manifest is not None and download.sha256 is not None
    listed = {e.path: e for e in read_manifest(download.manifest, download.sha256)}
    local = [p for p in root.rglob("*") if p.is_file() and p.name != "PROVENANCE.tsv"]
    assert local
    for path in local:
        entry = listed.get(path.relative_to(root).as_posix())
        assert entry is not None, f"{path} is not in {download.manifest}"
        assert (entry.size, entry.sha256) == (path.stat().st_size, file_sha256(path)), path
