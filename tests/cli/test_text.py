"""`myoshift.cli._text.wrapped_rows`: the last column wraps under itself, nothing is cut."""

from __future__ import annotations

from myoshift.cli._text import MIN_TEXT_WIDTH, wrapped_rows

CITATION = (
    "Bai, Kolter & Koltun (2018), An empirical evaluation of generic convolutional and "
    "recurrent networks for sequence modeling, arXiv:1803.01271"
)


def test_text_wraps_in_its_column() -> None:
    lines = wrapped_rows("name  citation", [("tcn   ", CITATION), ("lda   ", "short")], width=60)
    assert lines[:2] == ["name  citation", "-" * 14]
    assert lines[2].startswith("tcn   Bai,") and lines[-1] == "lda   short"
    body = lines[2:-1]
    assert len(body) > 1 and all(len(ln) <= 60 for ln in body)
    assert all(ln.startswith(" " * 6) and ln[6] != " " for ln in body[1:])
    assert " ".join(" ".join(body).split()[1:]) == " ".join(CITATION.split())


def test_narrow_terminal_keeps_a_readable_column() -> None:
    lines = wrapped_rows("h", [("x" * 70, CITATION)], width=80)
    assert all(len(ln) - 70 <= MIN_TEXT_WIDTH for ln in lines[2:])
    assert "arXiv:1803.01271" in lines[-1]  # a long word is never broken
