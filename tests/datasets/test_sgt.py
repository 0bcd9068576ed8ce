"""_sgt.read_sgt_metadata: LibEMG screen-guided-training metadata, tolerant and strict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from myoshift.datasets._sgt import read_sgt_metadata
from myoshift.errors import DataFormatError

KEY = "data/subject0/sgt/training/R_{rep}_C_{cls}.csv"


def _write(folder: Path, doc: object) -> Path:
    path = folder / "metadata.json"
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


def test_good_file_keyed_by_file_name_settings_skipped(tmp_path: Path) -> None:
    doc = {
        "continuous": False,
        "randomize": False,
        KEY.format(rep=0, cls=2): {"rep_idx": 0, "class_idx": 2, "class_name": "No_Motion"},
        KEY.format(rep=1, cls=4): {
            "rep_idx": "1",  # numbers written as text are read as numbers
            "class_idx": 4,
            "class_name": "Wrist_Flexion",
            "file_type": "png",  # other fields are not kept
        },
    }
    path = _write(tmp_path, doc)
    expected = {
        "R_0_C_2.csv": {"rep_idx": 0, "class_idx": 2, "class_name": "No_Motion"},
        "R_1_C_4.csv": {"rep_idx": 1, "class_idx": 4, "class_name": "Wrist_Flexion"},
    }
    assert read_sgt_metadata(path) == expected
    assert read_sgt_metadata(path, strict=True) == expected


def test_missing_file_is_none(tmp_path: Path) -> None:
    assert read_sgt_metadata(tmp_path / "metadata.json") is None
    assert read_sgt_metadata(tmp_path / "metadata.json", strict=True) is None
    assert read_sgt_metadata(tmp_path) is None  # a folder is no metadata file


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{not json", "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_corrupt_json_is_an_error_naming_the_file(tmp_path: Path, text: str, needle: str) -> None:
    path = _write(tmp_path, text)
    for strict in (False, True):
        with pytest.raises(DataFormatError, match=needle) as err:
            read_sgt_metadata(path, strict=strict)
        assert str(path) in str(err.value)


def test_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "metadata.json"
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(DataFormatError, match="not valid JSON"):
        read_sgt_metadata(path)


def test_missing_keys_tolerated_unless_strict(tmp_path: Path) -> None:
    doc = {
        KEY.format(rep=0, cls=0): {"class_name": "Hand_Close"},
        KEY.format(rep=0, cls=1): {"rep_idx": 0, "class_idx": "one", "class_name": "Hand_Open"},
        KEY.format(rep=0, cls=3): {},
    }
    path = _write(tmp_path, doc)
    assert read_sgt_metadata(path) == {
        "R_0_C_0.csv": {"class_name": "Hand_Close"},
        "R_0_C_1.csv": {"rep_idx": 0, "class_name": "Hand_Open"},  # a bad index is left out
        "R_0_C_3.csv": {},
    }
    with pytest.raises(DataFormatError) as err:
        read_sgt_metadata(path, strict=True)
    msg = str(err.value)
    assert str(path) in msg and "\n" not in msg
    assert f"entry {KEY.format(rep=0, cls=0)!r} needs integer rep_idx and class_idx" in msg
