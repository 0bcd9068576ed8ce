"""datasets._io: the validated numeric readers every dataset module uses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from myoshift.datasets import _io
from myoshift.datasets._io import (
    check_finite,
    natural_key,
    parse_name,
    read_int16_dat,
    read_numeric_text,
)
from myoshift.errors import DataFormatError


@pytest.fixture(params=["numpy", "pandas"])
def reader_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test through both parsers (small files: NumPy, large files: pandas)."""
    if request.param == "pandas":
        monkeypatch.setattr(_io, "_SMALL_FILE", 0)
    return str(request.param)


def _write(tmp_path: Path, text: str | bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_reads_rows_and_columns(tmp_path: Path, reader_path: str) -> None:
    path = _write(tmp_path, "1,2,3\n4,5.5,-6\n\n")
    arr = read_numeric_text(path, 3, ",", dtype=np.float32)
    assert arr.dtype == np.float32
    np.testing.assert_array_equal(arr, [[1, 2, 3], [4, 5.5, -6]])


def test_header_whitespace_and_strip(tmp_path: Path, reader_path: str) -> None:
    tsv = _write(tmp_path, "a\tb\n1\t2\n3\t4", "f.tsv")
    np.testing.assert_array_equal(read_numeric_text(tsv, 2, "\t", skip_header=1), [[1, 2], [3, 4]])
    ws = _write(tmp_path, "1  2\n 3 4\n", "w.txt")
    np.testing.assert_array_equal(read_numeric_text(ws, 2, None), [[1, 2], [3, 4]])
    tup = _write(tmp_path, "(0, 0)\n(0.5, -1)\n", "t.txt")
    np.testing.assert_array_equal(read_numeric_text(tup, 2, ",", strip="()"), [[0, 0], [0.5, -1]])


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "empty file"),
        ("  \n\n", "empty file"),
        ("1,2,3\n4,5\n", "line 2 has 2 fields, expected 3"),
        ("1,2,3\n4,5,6,7\n", "line 2 has 4 fields, expected 3"),
        ("1,2,3\n4,x,6\n", "line 2, column 2: 'x' is not a number"),
        ("1,2\n3,4\n", "2 columns per line, expected 3"),
        ("1,nan,3\n", "non-finite"),
        ("1,2,inf\n", "non-finite"),
    ],
)
def test_bad_text_names_file_and_problem(
    tmp_path: Path, reader_path: str, content: str, needle: str
) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(DataFormatError, match=needle) as err:
        read_numeric_text(path, 3, ",")
    assert str(path) in str(err.value)
    assert err.value.path == path


def test_binary_content_is_not_text(tmp_path: Path, reader_path: str) -> None:
    path = _write(tmp_path, b"\xff\xfe\x00\x01")
    with pytest.raises(DataFormatError, match="not a text file"):
        read_numeric_text(path, 3)


def test_nonfinite_allowed_on_request(tmp_path: Path, reader_path: str) -> None:
    path = _write(tmp_path, "1,nan\n")
    arr = read_numeric_text(path, 2, allow_nonfinite=True)
    assert np.isnan(arr[0, 1])


def test_read_int16_dat(tmp_path: Path) -> None:
    data = np.arange(-8, 16, dtype="<i2").reshape(-1, 8)
    path = _write(tmp_path, data.tobytes(), "x.dat")
    np.testing.assert_array_equal(read_int16_dat(path, 8), data)
    for content, needle in [(b"", "empty file"), (data.tobytes()[:-3], "truncated")]:
        bad = _write(tmp_path, content, "bad.dat")
        with pytest.raises(DataFormatError, match=needle) as err:
            read_int16_dat(bad, 8)
        assert str(bad) in str(err.value)


def test_check_finite_and_names(tmp_path: Path) -> None:
    check_finite(np.zeros((2, 2)), tmp_path / "a")
    check_finite(np.array([1, 2], dtype=np.int16), tmp_path / "a")
    with pytest.raises(DataFormatError, match=r"row 2, column 1"):
        check_finite(np.array([[0.0], [np.inf]]), tmp_path / "a")
    assert parse_name(tmp_path / "R_1_C_3.csv", r"R_(?P<r>\d+)_C_(?P<c>\d+)\.csv") == {
        "r": "1",
        "c": "3",
    }
    with pytest.raises(DataFormatError, match="does not match"):
        parse_name(tmp_path / "other.csv", r"R_(?P<r>\d+)\.csv")
    names = ["C_10.csv", "C_2.csv", "C_1.csv"]
    assert sorted(names, key=natural_key) == ["C_1.csv", "C_2.csv", "C_10.csv"]
