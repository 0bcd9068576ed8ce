"""The parsed-recording cache: round trip, hits, invalidation, corruption, atomic writes."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from myoshift.datasets import _aligned_npz, _snapshot, cache
from myoshift.recording import AuxStream, Layout, Recording, RecordingSet
from tests.datasets.test_base import TinyDataset, write_tiny


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A data dir holding TinyDataset: subjects 1 and 2, two files each."""
    TinyDataset.parse_calls.clear()
    write_tiny(tmp_path / "data")
    return tmp_path / "data"


def _same(a: Recording, b: Recording) -> None:
    np.testing.assert_array_equal(a.emg, b.emg)
    assert a.emg.dtype == b.emg.dtype == np.float32
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.fs == b.fs and a.layout == b.layout and a.class_names == b.class_names
    if a.repetition is None:
        assert b.repetition is None
    else:
        assert b.repetition is not None
        np.testing.assert_array_equal(a.repetition, b.repetition)
    assert a.meta == b.meta
    assert set(a.aux) == set(b.aux)
    for k in a.aux:
        np.testing.assert_array_equal(a.aux[k].data, b.aux[k].data)
        assert (a.aux[k].fs, a.aux[k].names, a.aux[k].start) == (
            b.aux[k].fs,
            b.aux[k].names,
            b.aux[k].start,
        )


def _same_sets(a: RecordingSet, b: RecordingSet) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        _same(x, y)


def _entries(cache_dir: Path) -> list[Path]:
    """The per-unit entries (whole-load entries start with ``_load-``)."""
    return sorted((cache_dir / TinyDataset.name).glob("[!_]*.npz"))


def _load_entries(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / TinyDataset.name).glob("_load-*.npz"))


def _load(data: Path, cache_dir: Path, use_cache: bool = True) -> RecordingSet:
    ds = TinyDataset(data_dir=data, cache_dir=cache_dir, use_cache=use_cache)
    return ds.load(show_progress=False)


def test_round_trip_equals_parsing_and_second_load_is_served_from_cache(tiny, tmp_path):
    parsed = _load(tiny, tmp_path / "c", use_cache=False)
    assert not (tmp_path / "c").exists()
    first = _load(tiny, tmp_path / "c")
    _same_sets(parsed, first)
    assert len(_entries(tmp_path / "c")) == 2  # one per unit
    TinyDataset.parse_calls.clear()
    second = _load(tiny, tmp_path / "c")
    assert TinyDataset.parse_calls == []
    _same_sets(parsed, second)
    assert second[0].layout.kind == "grid" and second[0].layout.channel_map == ((1, 0), (3, 2))
    assert second[0].meta["gain"] == 1.5 and second[0].meta["left"] is True


def test_whole_load_entry_skips_the_folder_parse_and_sees_any_change(tiny, tmp_path, monkeypatch):
    c = tmp_path / "c"
    first = _load(tiny, c)
    assert len(_load_entries(c)) == 1
    calls: list[int] = []
    real_units = TinyDataset.units
    monkeypatch.setattr(
        TinyDataset, "units", lambda self, root: calls.append(1) or real_units(self, root)
    )
    _same_sets(first, _load(tiny, c))
    assert calls == []  # served by the whole-load entry: no unit listing, no parse
    TinyDataset.parse_calls.clear()
    sub = TinyDataset(data_dir=tiny, cache_dir=c).load([1], show_progress=False)
    assert set(sub.unique("subject")) == {1} and TinyDataset.parse_calls == []
    assert len(_load_entries(c)) == 1  # a selection is read from the per-unit entries
    calls.clear()
    f = tiny / "Tiny" / "s2" / "r1.npy"
    np.save(f, np.load(f)[:40])
    TinyDataset.parse_calls.clear()
    rs = _load(tiny, c)
    assert TinyDataset.parse_calls == ["s2"] and calls == [1]
    assert rs.select(subject=2, trial=1)[0].n_samples == 40
    assert len(_load_entries(c)) == 1  # the stale entry was replaced
    whole = [e for e in _load_entries(c) if e.stat().st_size > 0][0]
    whole.write_bytes(whole.read_bytes()[:100])  # a damaged whole-load entry is rebuilt
    _same_sets(rs, _load(tiny, c))


def test_writing_the_whole_load_entry_removes_older_ones(tiny, tmp_path):
    """Per-selection entries of cache format 2 held a copy of the data each."""
    folder = tmp_path / "c" / TinyDataset.name
    folder.mkdir(parents=True)
    legacy = folder / f"_load-0123456789-{'a' * 20}.npz"
    legacy.write_bytes(b"old")
    _load(tiny, tmp_path / "c")
    assert not legacy.exists() and len(_load_entries(tmp_path / "c")) == 1


def test_an_edit_that_keeps_size_and_mtime_is_seen(tiny, tmp_path):
    """As after ``cp -p`` or ``rsync -t``: same size, old mtime restored; ctime differs."""
    c = tmp_path / "c"
    _load(tiny, c)
    f = tiny / "Tiny" / "s2" / "r1.npy"
    st = f.stat()
    a = np.load(f)
    a[0, 0] = 123.0
    np.save(f, a)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (f.stat().st_size, f.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    TinyDataset.parse_calls.clear()
    rs = _load(tiny, c)
    assert TinyDataset.parse_calls == ["s2"]  # the whole-load and the unit entry are stale
    assert rs.select(subject=2, trial=1)[0].emg[0, 0] == 123.0


@pytest.mark.parametrize("change", ["add-file", "add-folder", "remove", "rename"])
def test_snapshot_sees_files_and_folders_added_removed_or_renamed(tmp_path, change):
    root = write_tiny(tmp_path / "d") / "s1"
    (root / "deep").mkdir()
    (root / "deep" / "x.bin").write_bytes(b"1")
    before = cache.snapshot(root.parent)
    assert cache.fresh(before, root.parent)
    assert "s1/deep/x.bin".replace("/", os.sep) in before.paths
    if change == "add-file":
        (root / "deep" / "y.bin").write_bytes(b"")
    elif change == "add-folder":
        (root / "deep" / "empty").mkdir()
    elif change == "remove":
        (root / "deep" / "x.bin").unlink()
    else:
        (root / "deep" / "x.bin").rename(root / "deep" / "z.bin")
    assert not cache.fresh(before, root.parent)


def test_snapshot_follows_folder_links_once_and_wraps_huge_inodes(tmp_path, monkeypatch):
    root = tmp_path / "d"
    (root / "a").mkdir(parents=True)
    (root / "a" / "f.bin").write_bytes(b"12")
    try:
        (root / "a" / "loop").symlink_to(root, target_is_directory=True)
    except OSError:
        pytest.skip("symbolic links are not available here")
    snap = cache.snapshot(root)  # a link back to the root is not walked again
    assert sorted(snap.paths) == ["", "a", os.path.join("a", "f.bin"), os.path.join("a", "loop")]
    (tmp_path / "elsewhere").mkdir()
    (root / "a" / "dangling").symlink_to(tmp_path / "elsewhere" / "missing.bin")
    snap = cache.snapshot(root)  # a dangling link is recorded as a link ...
    assert cache.fresh(snap, root) and len(snap.stats) == 5
    (tmp_path / "elsewhere" / "missing.bin").write_bytes(b"")  # ... its target appearing
    assert not cache.fresh(snap, root)
    real = _snapshot.SIGNATURE
    monkeypatch.setattr(_snapshot, "SIGNATURE", lambda st: (*real(st)[:3], 2**64 - 5))
    huge = cache.snapshot(root)  # inode numbers above int64 (some network filesystems)
    assert (huge.stats[:, 3] == -5).all() and cache.fresh(huge, root)


def test_snapshot_checks_an_unreadable_folder_by_its_own_stat(tmp_path, monkeypatch):
    root = write_tiny(tmp_path / "d")
    real = os.scandir

    def scandir(path):
        if str(path).endswith("s2"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(_snapshot.os, "scandir", scandir)
    snap = cache.snapshot(root)
    assert "s2" in snap.paths and os.path.join("s2", "r1.npy") not in snap.paths
    assert cache.fresh(snap, root)


def test_whole_load_entry_is_not_written_when_files_change_while_parsing(tiny, tmp_path):
    class Busy(TinyDataset):
        def parse_unit(self, root, unit):
            if unit.subject == 2:  # someone writes to the folder during the load
                (root / "s1" / "late.txt").write_text("x")
            return super().parse_unit(root, unit)

    c = tmp_path / "c"
    Busy(data_dir=tiny, cache_dir=c).load(show_progress=False)
    assert _load_entries(c) == [] and len(_entries(c)) == 2
    (tiny / "Tiny" / "s1" / "late.txt").unlink()
    Busy(data_dir=tiny, cache_dir=c).load(show_progress=False)
    assert len(_load_entries(c)) == 1  # written once nothing changed during the load


def test_changed_source_file_invalidates_only_its_unit(tiny, tmp_path):
    c = tmp_path / "c"
    _load(tiny, c)
    before = _entries(c)
    TinyDataset.parse_calls.clear()
    f = tiny / "Tiny" / "s2" / "r1.npy"
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # same size, new mtime
    rs = _load(tiny, c)
    assert TinyDataset.parse_calls == ["s2"]
    assert len(_entries(c)) == 2 and _entries(c) != before  # stale entry replaced
    # a change of content (and size) is seen too, and the new content is returned
    a = np.load(f)
    np.save(f, a[:50])
    TinyDataset.parse_calls.clear()
    rs = _load(tiny, c)
    assert TinyDataset.parse_calls == ["s2"]
    assert rs.select(subject=2, trial=1)[0].n_samples == 50
    # adding a file to a unit changes its key as well
    np.save(tiny / "Tiny" / "s1" / "r9.npy", a[:30])
    TinyDataset.parse_calls.clear()
    assert len(_load(tiny, c).select(subject=1)) == 3
    assert TinyDataset.parse_calls == ["s1"]


def test_invalidating_one_unit_keeps_entries_of_units_with_a_longer_key(tmp_path):
    """Unit ``s1``'s stale-entry clean-up must not delete the entry of unit ``s1-b``."""

    class Keys(TinyDataset):
        def units(self, root):
            return [
                u if u.subject == 1 else type(u)("s1-b", u.subject, u.files)
                for u in super().units(root)
            ]

    write_tiny(tmp_path / "d")
    Keys(data_dir=tmp_path / "d", cache_dir=tmp_path / "c").load(show_progress=False)
    f = tmp_path / "d" / "Tiny" / "s1" / "r1.npy"
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    TinyDataset.parse_calls.clear()
    Keys(data_dir=tmp_path / "d", cache_dir=tmp_path / "c").load(show_progress=False)
    assert TinyDataset.parse_calls == ["s1"]
    TinyDataset.parse_calls.clear()
    Keys(data_dir=tmp_path / "d", cache_dir=tmp_path / "c").load(show_progress=False)
    assert TinyDataset.parse_calls == []


def _flip_member_byte(raw: bytes, member: str) -> bytes:
    """``raw`` with one bit of the first data byte of ``member``'s ``.npy`` flipped."""
    npy = raw.index(b"\x93NUMPY", raw.index(member.encode() + b".npy"))
    (hlen,) = np.frombuffer(raw[npy + 8 : npy + 10], "<u2")
    b = bytearray(raw)
    b[npy + 10 + int(hlen)] ^= 0x01
    return bytes(b)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "flip", "flip-index", "format"])
def test_corrupt_entry_is_detected_logged_and_reparsed(tiny, tmp_path, caplog, damage):
    c = tmp_path / "c"
    parsed = _load(tiny, c, use_cache=False)
    _load(tiny, c)
    for whole in _load_entries(c):  # exercise the per-unit entries
        whole.unlink()
    entry = _entries(c)[0]
    raw = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        entry.write_bytes(b"\x00garbage" * 100)
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "flip":  # one bit in the JSON header (its CRC must catch it)
        b = bytearray(raw)
        b[raw.index(b'"meta_keys"') + 3] ^= 0x01
        entry.write_bytes(bytes(b))
    elif damage == "flip-index":  # per-recording sizes / layouts: always CRC-checked
        entry.write_bytes(_flip_member_byte(raw, "records"))
    else:  # a readable file from another cache format
        recs = cache.load(entry)
        old = cache.CACHE_FORMAT
        try:
            cache.CACHE_FORMAT = old + 1
            cache.save(entry, recs)
        finally:
            cache.CACHE_FORMAT = old
    TinyDataset.parse_calls.clear()
    with caplog.at_level(logging.WARNING, logger="myoshift.datasets.base"):
        again = _load(tiny, c)
    assert TinyDataset.parse_calls == ["s1"]
    assert any(str(entry) in r.getMessage() for r in caplog.records)
    _same_sets(parsed, again)
    # and the entry was rewritten, valid
    TinyDataset.parse_calls.clear()
    _same_sets(parsed, _load(tiny, c))
    assert TinyDataset.parse_calls == []


def test_interrupted_write_leaves_no_readable_partial_entry(tiny, tmp_path, monkeypatch):
    c = tmp_path / "c"

    real_write = cache.write_member
    calls = []

    def dying_write(zf, fh, key, arr):
        calls.append(key)
        if len(calls) == 2:
            fh.write(b"half a member")
            raise KeyboardInterrupt  # as if the run were stopped mid-write
        real_write(zf, fh, key, arr)

    monkeypatch.setattr(cache, "write_member", dying_write)
    with pytest.raises(KeyboardInterrupt):
        _load(tiny, c)
    folder = c / TinyDataset.name
    assert list(folder.iterdir()) == []  # no entry and no .tmp- file left
    monkeypatch.undo()
    # A hard kill skips the clean-up: the temporary file stays but is never read.
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".tmp-abc123.npz").write_bytes(b"PK\x03\x04 half")
    TinyDataset.parse_calls.clear()
    rs = _load(tiny, c)
    assert TinyDataset.parse_calls == ["s1", "s2"] and len(rs) == 4
    TinyDataset.parse_calls.clear()
    _load(tiny, c)
    assert TinyDataset.parse_calls == []


def test_unwritable_cache_or_unserialisable_meta_still_loads(tiny, tmp_path, caplog):
    class Odd(TinyDataset):
        def parse_unit(self, root, unit):
            recs = super().parse_unit(root, unit)
            for r in recs:
                r.meta["odd"] = {1, 2}  # a set is not JSON
            return recs

    with caplog.at_level(logging.WARNING):
        rs = Odd(data_dir=tiny, cache_dir=tmp_path / "c").load(show_progress=False)
    assert len(rs) == 4
    assert "could not write cache" in caplog.text
    assert not list((tmp_path / "c").rglob("*.npz"))
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    rs = TinyDataset(data_dir=tiny, cache_dir=blocker).load(show_progress=False)
    assert len(rs) == 4


def test_save_load_mixed_widths_and_optional_fields(tmp_path):
    rng = np.random.default_rng(1)
    recs = [
        Recording(rng.standard_normal((30, 3)), 50.0, np.zeros(30), Layout.ring(3)),
        Recording(
            rng.standard_normal((20, 5)),
            1000.0,
            np.r_[np.full(10, -1), np.full(10, 2)],
            Layout.plain(5),
            repetition=np.arange(20),
            aux={
                "glove": AuxStream(rng.standard_normal((4, 22)), 25.0),
                "imu": AuxStream(rng.standard_normal((7, 4)), 50.0, ("w", "x", "y", "z")),
            },
            meta={"subject": "A", "day": np.int64(3), "posture": None},
            class_names=("rest", "a", "b"),
        ),
        Recording(np.zeros((0, 3)), 50.0, np.zeros(0), Layout.ring(3), meta={"subject": "B"}),
    ]
    path = tmp_path / "x.npz"
    cache.save(path, recs)
    back = cache.load(path)
    for a, b in zip(recs, back):
        a.meta = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in a.meta.items()}
        _same(a, b)
    cache.save(path, [])
    assert cache.load(path) == []
    with np.load(path) as z:  # a handful of members, not one per recording
        assert len(z.files) <= 7


def test_metadata_columns_keep_types_missing_keys_and_unhashable_values(tmp_path):
    values = [1, 1.0, True, "1", None, [1, 2], {"a": 1}, np.int64(1)]
    recs = [
        Recording(np.zeros((2, 3)), 50.0, 0, Layout.ring(3), meta={"v": v, f"only{i}": i})
        for i, v in enumerate(values)
    ]
    cache.save(tmp_path / "x.npz", recs)
    back = cache.load(tmp_path / "x.npz")
    for i, (r, v) in enumerate(zip(back, values)):
        assert r.meta == {"v": v, f"only{i}": i}
        assert type(r.meta["v"]) is (int if isinstance(v, np.generic) else type(v))


def test_verify_detects_a_flipped_data_bit_and_arrays_are_copy_on_write(tmp_path, monkeypatch):
    monkeypatch.setattr(_aligned_npz, "MAP_MIN_BYTES", 0)  # map even this small file
    rec = Recording(np.arange(4000, dtype=np.float32).reshape(500, 8), 200.0, 0, Layout.ring(8))
    path = tmp_path / "x.npz"
    cache.save(path, [rec])
    # a standard npz, each array aligned in the file so it can be mapped without a copy
    with np.load(path) as z:
        np.testing.assert_array_equal(z["emg"], rec.emg)
    back = cache.load(path)[0]
    assert back.emg.ctypes.data % cache.ALIGN == 0 and back.labels.ctypes.data % cache.ALIGN == 0
    back.emg[0, 0] = -1.0  # writable, but the file is not changed
    np.testing.assert_array_equal(cache.load(path, verify=True)[0].emg, rec.emg)
    raw = bytearray(path.read_bytes())
    raw[raw.index(np.float32(2000.0).tobytes())] ^= 0x01
    path.write_bytes(bytes(raw))
    cache.load(path)  # not checked by default (it would cost a full read) ...
    with pytest.raises(ValueError, match="CRC"):
        cache.load(path, verify=True)  # ... but on request


def test_source_key_depends_on_files_parser_and_name(tmp_path):
    f = tmp_path / "a.bin"
    f.write_bytes(b"1234")
    k = cache.source_key("x", 1, [f], tmp_path)
    assert k == cache.source_key("x", 1, [f], tmp_path)
    assert k != cache.source_key("x", 2, [f], tmp_path)
    assert k != cache.source_key("y", 1, [f], tmp_path)
    f.write_bytes(b"12345")
    assert k != cache.source_key("x", 1, [f], tmp_path)
