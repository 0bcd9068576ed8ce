"""Downloads from a local HTTP server: checksums, safe extraction, clean failure."""

from __future__ import annotations

import hashlib
import io
import logging
import socket
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from myoshift.datasets import base
from myoshift.datasets.base import Dataset, Download, Unit
from myoshift.datasets.download import download_dataset, fetch, safe_extract
from myoshift.datasets.manifest import ManifestEntry, write_manifest
from myoshift.errors import ConfigError, DataFormatError, DataNotFoundError
from myoshift.recording import Recording


class _Quiet(SimpleHTTPRequestHandler):
    """Serves files silently, remembering the paths it was asked for."""

    requests: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:
        type(self).requests.append(self.path)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, folder it serves) of an HTTP server on 127.0.0.1, ephemeral port."""
    served = tmp_path / "served"
    served.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", served
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


class _Remote(Dataset):
    """A test-only dataset whose archives are set per test."""

    name = "test-remote"
    folder = "RemoteDataset"
    url = "http://127.0.0.1/"
    fs = 100.0
    n_channels = 1
    downloads: ClassVar[tuple[Download, ...]] = ()

    def units(self, root: Path) -> list[Unit]:
        return []

    def parse_unit(self, root: Path, unit: Unit) -> list[Recording]:
        return []


@pytest.fixture
def remote(monkeypatch: pytest.MonkeyPatch) -> type[_Remote]:
    monkeypatch.setitem(base._REGISTRY, _Remote.name, _Remote)
    return _Remote


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return path


def _tar(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return path


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_good_zip_downloads_verifies_and_extracts(server, remote, monkeypatch, tmp_path):
    url, served = server
    archive = _zip(
        served / "remote.zip",
        {"Remote-master/s1/a.txt": b"1 2 3\n", "Remote-master/README": b"hello"},
    )
    monkeypatch.setattr(remote, "downloads", (Download(f"{url}/remote.zip", _sha(archive)),))
    data = tmp_path / "data"
    folder = download_dataset("test-remote", data_dir=data, progress=False)
    assert folder == data / "RemoteDataset"
    # the single top-level folder is stripped; the archive itself is not kept
    assert _files(data) == {"RemoteDataset/s1/a.txt", "RemoteDataset/README"}
    assert (folder / "s1" / "a.txt").read_bytes() == b"1 2 3\n"
    # a second download (e.g. more subjects) merges into the existing folder
    _zip(served / "more.zip", {"s2/b.txt": b"4"})
    more = Download(f"{url}/more.zip", _sha(served / "more.zip"))
    monkeypatch.setattr(remote, "downloads", (more,))
    download_dataset("test-remote", data_dir=data, progress=False)
    assert _files(folder) == {"s1/a.txt", "s2/b.txt", "README"}


def test_tar_archive_and_plain_file(server, remote, monkeypatch, tmp_path):
    url, served = server
    tgz = _tar(served / "part.tar.gz", {"s1/x.csv": b"1,2\n", "s2/y.csv": b"3,4\n"})
    plain = served / "notes.txt"
    plain.write_bytes(b"notes")
    monkeypatch.setattr(
        remote,
        "downloads",
        (
            Download(f"{url}/part.tar.gz", _sha(tgz)),
            Download(f"{url}/notes.txt", _sha(plain), extract=False),
        ),
    )
    folder = download_dataset("test-remote", data_dir=tmp_path / "data", progress=False)
    assert _files(folder) == {"s1/x.csv", "s2/y.csv", "notes.txt"}


def test_checksum_mismatch_raises_and_leaves_nothing(server, remote, monkeypatch, tmp_path):
    url, served = server
    _zip(served / "remote.zip", {"a.txt": b"data"})
    monkeypatch.setattr(remote, "downloads", (Download(f"{url}/remote.zip", "0" * 64),))
    data = tmp_path / "data"
    with pytest.raises(DataFormatError, match="remote.zip"):
        download_dataset("test-remote", data_dir=data, progress=False)
    assert not data.exists() or _files(data) == set()
    assert not (data / "RemoteDataset").exists()
    assert not (data / ".downloads").exists()


@pytest.mark.parametrize(
    ("kind", "member"),
    [("zip", "../evil.txt"), ("zip", "ok/../../evil.txt"), ("tar", "../evil.txt")],
)
def test_path_traversal_is_refused(server, remote, monkeypatch, tmp_path, kind, member):
    url, served = server
    name = f"bad.{'zip' if kind == 'zip' else 'tar.gz'}"
    make = _zip if kind == "zip" else _tar
    archive = make(served / name, {"fine.txt": b"ok", member: b"pwned"})
    monkeypatch.setattr(remote, "downloads", (Download(f"{url}/{name}", _sha(archive)),))
    data = tmp_path / "deep" / "data"
    with pytest.raises(DataFormatError, match=rf"{name}.*{member.replace('.', '[.]')}"):
        download_dataset("test-remote", data_dir=data, progress=False)
    assert not list(tmp_path.rglob("evil.txt"))
    assert _files(data) == set()  # not even the harmless member, nor the archive


def test_absolute_paths_are_refused(tmp_path):
    outside = tmp_path / "outside" / "evil.txt"
    target = tmp_path / "target"
    for make, suffix in ((_zip, "zip"), (_tar, "tar.gz")):
        archive = make(tmp_path / f"abs.{suffix}", {str(outside): b"pwned"})
        with pytest.raises(DataFormatError, match="absolute path") as err:
            safe_extract(archive, target)
        assert str(outside) in str(err.value) and archive.name in str(err.value)
    assert not outside.exists()
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-extract-")]


def test_links_leaving_the_target_are_refused(tmp_path):
    target = tmp_path / "target"
    bad = _tar(tmp_path / "link.tar.gz", {"a.txt": b"a"}, links={"sub/link": "../../etc"})
    with pytest.raises(DataFormatError, match="sub/link.*outside"):
        safe_extract(bad, target)
    absolute = _tar(tmp_path / "abs.tar.gz", {"a.txt": b"a"}, links={"link": "/etc/passwd"})
    with pytest.raises(DataFormatError, match="absolute"):
        safe_extract(absolute, target)
    assert not target.exists()
    # a link that stays inside is fine
    ok = _tar(tmp_path / "ok.tar.gz", {"d/a.txt": b"a"}, links={"d/b.txt": "a.txt"})
    safe_extract(ok, target)
    assert (target / "d" / "b.txt").read_bytes() == b"a"


def test_not_an_archive_and_truncated_archive(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"this is not a zip")
    with pytest.raises(DataFormatError, match="junk.zip"):
        safe_extract(junk, tmp_path / "t")
    good = _zip(tmp_path / "good.zip", {f"f{i}.txt": b"x" * 1000 for i in range(5)})
    cut = tmp_path / "cut.zip"
    cut.write_bytes(good.read_bytes()[:-200])
    with pytest.raises(DataFormatError, match="cut.zip"):
        safe_extract(cut, tmp_path / "t")
    assert not (tmp_path / "t").exists()


def test_dataset_without_archive_and_unreachable_server(remote, tmp_path):
    with pytest.raises(ConfigError, match="no public archive"):
        download_dataset("test-remote", data_dir=tmp_path)
    with pytest.raises(ConfigError, match="unknown dataset"):
        download_dataset("no-such-dataset", data_dir=tmp_path)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DataNotFoundError, match=str(port)):
        fetch(Download(f"http://127.0.0.1:{port}/x.zip", None), tmp_path / "dl", progress=False)
    assert not (tmp_path / "dl").exists() or not list((tmp_path / "dl").iterdir())


def _published(served: Path, files: dict[str, bytes], commit: str = "c0ffee") -> Path:
    """Files as a repository would serve them at ``commit``: ``repo/<commit>/<path>``."""
    base = served / "repo" / commit
    for rel, data in files.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_bytes(data)
    return base


def _manifest_download(
    url: str, tmp_path: Path, files: dict[str, bytes], strip: str = "data/"
) -> Download:
    entries = [
        ManifestEntry(rel.removeprefix(strip), hashlib.sha256(b).hexdigest(), len(b), rel)
        for rel, b in files.items()
    ]
    path = tmp_path / "remote.tsv.gz"
    digest = write_manifest(path, entries, "test server")
    return Download(f"{url}/repo/c0ffee/", digest, manifest=str(path))


FILES = {
    "data/s1/a b.csv": b"1,2\n",
    "data/s1/b.csv": b"3,4\n",
    "data/s2/c.csv": b"5,6\n",
    "README.md": b"readme",
}


def test_manifest_files_are_each_verified(server, remote, monkeypatch, tmp_path):
    url, served = server
    _published(served, {**FILES, "code/train.py": b"not data"})
    monkeypatch.setattr(remote, "downloads", (_manifest_download(url, tmp_path, FILES),))
    data = tmp_path / "data"
    _Quiet.requests.clear()
    folder = download_dataset("test-remote", data_dir=data, progress=False)
    # only the listed files, at their paths in the dataset folder (data/ stripped)
    assert _files(folder) == {"s1/a b.csv", "s1/b.csv", "s2/c.csv", "README.md"}
    assert (folder / "s1" / "a b.csv").read_bytes() == b"1,2\n"
    assert sorted(_Quiet.requests) == sorted(f"/repo/c0ffee/{p.replace(' ', '%20')}" for p in FILES)
    assert not (data / ".downloads").exists()
    # a second run resumes: intact files are not fetched again, a damaged one is
    (folder / "s2" / "c.csv").write_bytes(b"damaged")
    (folder / "s1" / "b.csv").unlink()
    _Quiet.requests.clear()
    download_dataset("test-remote", data_dir=data, progress=False)
    assert sorted(_Quiet.requests) == ["/repo/c0ffee/data/s1/b.csv", "/repo/c0ffee/data/s2/c.csv"]
    assert (folder / "s2" / "c.csv").read_bytes() == b"5,6\n"


def test_manifest_file_with_wrong_content_is_refused(server, remote, monkeypatch, tmp_path):
    url, served = server
    _published(served, {**FILES, "data/s2/c.csv": b"tampered"})
    monkeypatch.setattr(remote, "downloads", (_manifest_download(url, tmp_path, FILES),))
    data = tmp_path / "data"
    with pytest.raises(DataFormatError) as err:
        download_dataset("test-remote", data_dir=data, progress=False)
    assert str(data / "RemoteDataset" / "s2" / "c.csv") in str(err.value)
    assert not (data / "RemoteDataset" / "s2" / "c.csv").exists()  # never kept
    # a file the server does not have
    (served / "repo" / "c0ffee" / "data" / "s2" / "c.csv").unlink()
    with pytest.raises(DataNotFoundError, match="s2/c.csv"):
        download_dataset("test-remote", data_dir=data, progress=False)
    assert not (data / "RemoteDataset" / "s2").exists()  # no empty folder left behind
    assert (data / "RemoteDataset" / "s1" / "b.csv").read_bytes() == b"3,4\n"  # verified: kept
    # the manifest itself is pinned by the Download's sha256
    (d,) = remote.downloads
    monkeypatch.setattr(remote, "downloads", (Download(d.url, "0" * 64, manifest=d.manifest),))
    with pytest.raises(DataFormatError, match="remote.tsv.gz: SHA-256 does not match"):
        download_dataset("test-remote", data_dir=data, progress=False)


def test_manifest_download_does_not_follow_links_out(server, remote, monkeypatch, tmp_path):
    url, served = server
    _published(served, FILES)
    monkeypatch.setattr(remote, "downloads", (_manifest_download(url, tmp_path, FILES),))
    folder = tmp_path / "data" / "RemoteDataset"
    folder.mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (folder / "s2").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(DataFormatError, match="outside the dataset folder"):
        download_dataset("test-remote", data_dir=tmp_path / "data", progress=False)
    assert not list((tmp_path / "elsewhere").iterdir())


def test_unreachable_manifest_source_leaves_no_folder(remote, monkeypatch, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    download = _manifest_download(f"http://127.0.0.1:{port}", tmp_path, FILES)
    monkeypatch.setattr(remote, "downloads", (download,))
    with pytest.raises(DataNotFoundError, match=str(port)):
        download_dataset("test-remote", data_dir=tmp_path / "data", progress=False)
    assert not (tmp_path / "data" / "RemoteDataset").exists()


def test_unverified_download_says_why(server, remote, monkeypatch, tmp_path, caplog):
    url, served = server
    (served / "notes.txt").write_bytes(b"notes")
    why = "the publisher gives no checksum"
    plain = Download(f"{url}/notes.txt", None, extract=False, unverified=why)
    monkeypatch.setattr(remote, "downloads", (plain,))
    with caplog.at_level(logging.WARNING, logger="myoshift.datasets.download"):
        download_dataset("test-remote", data_dir=tmp_path / "data", progress=False)
    assert f"{url}/notes.txt is NOT verified: {why}" in caplog.text
