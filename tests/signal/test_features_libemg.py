"""Our feature values against LibEMG's on windows of real recordings (stored fixture).

The fixture is made by ``benchmarks/make_libemg_fixture.py`` (LibEMG 2.0.3, not needed
here): int16 windows of 3DC (1000 Hz) and LibEMG's one-subject Myo data (200 Hz) with
LibEMG's float64 outputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from myoshift.signal.features import extract_features

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "libemg_features.npz"

#: LibEMG name -> (our name, our parameters, uses fs)
SAME: dict[str, tuple[str, dict, bool]] = {
    "MAV": ("mav", {}, False),
    "ZC": ("zc", {}, False),
    "SSC": ("ssc", {}, False),
    "WL": ("wl", {}, False),
    "LS": ("ls", {}, False),
    "MFL": ("mfl", {}, False),
    "MSR": ("msr", {}, False),
    "WAMP": ("wamp", {}, False),
    "RMS": ("rms", {}, False),
    "IAV": ("iav", {}, False),
    "DASDV": ("dasdv", {}, False),
    "VAR": ("var", {}, False),
    "M0": ("m0", {}, False),
    "M2": ("m2", {}, False),
    "M4": ("m4", {}, False),
    "SPARSI": ("sparsi", {}, False),
    "IRF": ("irf", {}, False),
    "WLF": ("wlf", {}, False),
    "AR": ("ar", {}, False),
    "LD": ("log", {}, False),
    "MAVFD": ("mavfd", {}, False),
    "MAVSLP": ("mavslp", {}, False),
    "MDF": ("mdf", {}, True),
    "MNF": ("mnf", {}, True),
    "MNP": ("mnp", {}, False),
    "MPK": ("mpk", {}, False),
    "SKEW": ("skew", {}, False),
    "KURT": ("kurt", {}, False),
    "PAP": ("pap", {}, False),
    "MZP": ("mzp", {}, False),
    "TM": ("tm", {}, False),
    "SM": ("sm", {}, True),
    "SAMPEN": ("sampen", {}, False),
    "ISD": ("isd", {}, False),
    "COR": ("cor", {}, False),
    "MDIFF": ("mdiff", {}, False),
    "MLK": ("mlk", {}, False),
    "ACT": ("act", {}, False),
    "MOB": ("mob", {}, False),
    "MEAN": ("mean", {}, False),
    "SSC_thr": ("ssc", {"ssc_threshold": 25.0}, False),
    "WAMP_thr": ("wamp", {"wamp_threshold": 10.0}, False),
    "AR6": ("ar", {"ar_order": 6}, False),
    "TM4": ("tm", {"tm_order": 4}, False),
    "SM1": ("sm", {"sm_order": 1}, True),
    "SAMPEN_3": ("sampen", {"sampen_dim": 3, "sampen_tolerance": 0.2}, False),
}
DATASETS = ("3dc", "myo")


@pytest.fixture(scope="module")
def fixture() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as f:
        return {k: f[k] for k in f.files}


def _ours(fx: dict, ds: str, name: str, params: dict, with_fs: bool) -> np.ndarray:
    win = fx[f"{ds}__windows"].astype(np.float64)
    fs = float(fx[f"{ds}__fs"]) if with_fs else None
    return extract_features(win, [name], fs, **params)[0]


def test_fixture_is_small_and_complete(fixture: dict) -> None:
    assert FIXTURE.stat().st_size < 500_000
    meta = json.loads(str(fixture["meta_json"]))
    assert meta["libemg_version"]
    for ds in DATASETS:
        for key in [*SAME, "CC", "COMP"]:
            assert f"{ds}__{key}" in fixture


@pytest.mark.parametrize("ds", DATASETS)
@pytest.mark.parametrize("key", sorted(SAME))
def test_same_as_libemg(fixture: dict, ds: str, key: str) -> None:
    name, params, with_fs = SAME[key]
    ref = fixture[f"{ds}__{key}"].reshape(fixture[f"{ds}__{key}"].shape[0], -1)
    ours = _ours(fixture, ds, name, params, with_fs)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("ds", DATASETS)
def test_libemg_group_columns_match(fixture: dict, ds: str) -> None:
    """Hudgins TD columns are LibEMG's hstack of MAV, ZC, SSC, WL (feature-major)."""
    ref = np.hstack([fixture[f"{ds}__{k}"] for k in ("MAV", "ZC", "SSC", "WL")])
    win = fixture[f"{ds}__windows"]
    ours, cols = extract_features(win, "HTD")
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    assert cols[0] == "mav_ch0" and cols[win.shape[1]] == "zc_ch0"


@pytest.mark.parametrize("ds", DATASETS)
def test_cc_first_coefficient_matches_libemg(fixture: dict, ds: str) -> None:
    """Only c_1 = -a_1 is shared: LibEMG's recursion for c_2.. differs (documented)."""
    ref = fixture[f"{ds}__CC"]
    ours = _ours(fixture, ds, "cc", {}, False)
    np.testing.assert_allclose(ours[:, ::4], ref[:, ::4], rtol=1e-9, atol=1e-12)
    ar = fixture[f"{ds}__AR"]
    # LibEMG's c_2 is -a_2 (its inner loop is empty for p = 1); the textbook c_2 is
    # -a_2 - a_1 c_1 / 2.
    np.testing.assert_allclose(ref[:, 1::4], -ar[:, 1::4], rtol=1e-9, atol=1e-12)
    expect_c2 = -ar[:, 1::4] - 0.5 * ar[:, 0::4] * ours[:, 0::4]
    np.testing.assert_allclose(ours[:, 1::4], expect_c2, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("ds", DATASETS)
def test_comp_differs_from_libemg_by_its_batch_sum(fixture: dict, ds: str) -> None:
    """LibEMG's COMP sums m4 over the whole batch; ours is per window (documented)."""
    win = fixture[f"{ds}__windows"].astype(np.float64)
    n = win.shape[2]
    m2 = (np.diff(win, axis=2) ** 2).sum(axis=2) / n
    m4_batch = (np.diff(win, n=2, axis=2) ** 2).sum() / n
    np.testing.assert_allclose(fixture[f"{ds}__COMP"], np.sqrt(m4_batch / m2), rtol=1e-9)
    m4 = (np.diff(win, n=2, axis=2) ** 2).sum(axis=2) / n
    np.testing.assert_allclose(_ours(fixture, ds, "comp", {}, False), np.sqrt(m4 / m2))
