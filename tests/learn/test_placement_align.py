"""Placement compensation of a `MethodChain`: the armband turned back before windowing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from myoshift.datasets.synthetic import SyntheticDataset
from myoshift.errors import ConfigError
from myoshift.learn.chain import MethodChain
from myoshift.learn.classical import ClassicalClassifier
from myoshift.learn.methods import get_method, spec_from_dict
from myoshift.learn.placement_align import SNAP, PlacementCorrection, refine
from myoshift.recording import UNLABELLED, Layout, Recording, RecordingSet
from myoshift.signal.layouts import rotate_ring


@pytest.fixture(scope="module")
def cycles() -> list[Recording]:
    """Four cycles of rest and 5 gestures of one synthetic person (8-electrode ring)."""
    ds = SyntheticDataset(n_subjects=1, n_sessions=1, n_repetitions=4, seed=3)
    return ds.generate_subject(1)


def rotated(rec: Recording, k: float) -> Recording:
    """``rec`` as if the armband sat ``k`` electrodes round (`rotate_ring`)."""
    return replace(rec, emg=rotate_ring(rec.emg[:, :, None], k)[:, :, 0])


def unlabelled(rec: Recording) -> Recording:
    return replace(rec, labels=np.full(rec.n_samples, UNLABELLED))


def chain(placement: str | None, **kw: Any) -> MethodChain:
    est = ClassicalClassifier(fs=200.0, **kw)
    return MethodChain(est, 200, 50, [], name="lda", placement=placement)


@pytest.fixture(scope="module")
def fitted(cycles: list[Recording]) -> dict[Any, MethodChain]:
    return {mode: chain(mode).fit(cycles[:2]) for mode in (None, "labelled", "unlabelled")}


@pytest.mark.parametrize("k", [1, 2, 1.5, -2.5])
def test_labelled_calibration_recovers_the_unrotated_accuracy(
    cycles: list[Recording], fitted: dict[Any, MethodChain], k: float
) -> None:
    cal, test = cycles[2], cycles[3]
    plain = fitted[None]
    reference = plain.score(test)
    assert plain.score(rotated(test, k)) < reference - 0.2  # the shift hurts
    model = fitted["labelled"].copy().adapt(rotated(cal, k))
    assert model.placement_.method == "labelled"
    assert abs(model.placement_.rotation - k) < 0.15
    if float(k).is_integer():  # an exact rotation is undone exactly (a channel roll)
        assert model.placement_.rotation == k
    assert model.score(rotated(test, k)) >= reference - 0.03
    assert model.n_adapt_ > 0  # the estimator calibrated on the aligned windows too


@pytest.mark.parametrize("k", [2, -1.5])
def test_unlabelled_recalibration_recovers_it_without_labels(
    cycles: list[Recording], fitted: dict[Any, MethodChain], k: float
) -> None:
    test = cycles[3]
    reference = fitted[None].score(test)
    model = fitted["unlabelled"].copy()
    before = model.estimator_.predict_proba(model.windows(test))
    model.recalibrate(unlabelled(rotated(cycles[2], k)))  # lda has no policy: placement only
    assert model.placement_.method == "unlabelled" and abs(model.placement_.rotation - k) < 0.15
    score = model.score(rotated(test, k))
    if float(k).is_integer():
        assert score >= reference - 0.03
    else:  # interpolating twice smooths the ring: most of the loss comes back, not all
        nearest = model.copy()
        nearest.placement_ = replace(model.placement_, rotation=float(np.round(k)))
        assert score > nearest.score(rotated(test, k)) + 0.05
        assert score > fitted[None].score(rotated(test, k)) + 0.25
    after = model.estimator_.predict_proba(fitted["unlabelled"].windows(test))
    np.testing.assert_array_equal(before, after)  # the LDA itself is untouched


def test_unlabelled_adapt_ignores_the_labels(
    cycles: list[Recording], fitted: dict[Any, MethodChain]
) -> None:
    model = fitted["unlabelled"].copy().adapt(rotated(cycles[2], 3))
    assert model.placement_.method == "unlabelled" and model.placement_.rotation == 3


def test_labelled_placement_leaves_unlabelled_data_alone(
    cycles: list[Recording], fitted: dict[Any, MethodChain]
) -> None:
    model = fitted["labelled"].copy()
    with pytest.raises(ConfigError, match="'lda'.*no recalibration policy"):
        model.recalibrate(unlabelled(rotated(cycles[2], 1)))
    assert model.placement_ is None
    assert fitted[None].copy().adapt(cycles[2]).placement_ is None  # no placement: as before


def test_save_and_load_keep_the_rotation(
    cycles: list[Recording], fitted: dict[Any, MethodChain], tmp_path: Path
) -> None:
    model = fitted["labelled"].copy().adapt(rotated(cycles[2], 1.5))
    back = MethodChain.load(model.save(tmp_path / "aligned"))
    assert back.placement == "labelled"
    assert back.placement_.to_json() == model.placement_.to_json()
    np.testing.assert_allclose(back.reference_.patterns, model.reference_.patterns)
    test = rotated(cycles[3], 1.5)
    np.testing.assert_array_equal(back.predict(test), model.predict(test))
    again = back.adapt(rotated(cycles[2], 2))  # the loaded reference estimates anew
    assert again.placement_.rotation == 2
    plain = MethodChain.load(fitted[None].save(tmp_path / "plain"))
    assert plain.reference_ is None and plain.placement_ is None


def test_refusals(cycles: list[Recording], fitted: dict[Any, MethodChain]) -> None:
    flat = [replace(r, layout=Layout.plain(8)) for r in cycles[:2]]
    with pytest.raises(ConfigError, match=r"^method 'lda': placement .* ring .*plain layout"):
        chain("labelled").fit(flat)
    with pytest.raises(ConfigError, match=r"^method 'lda': placement must be one of"):
        chain("sideways").fit(cycles[:2])
    with pytest.raises(ConfigError, match="ring"):
        fitted["labelled"].copy().adapt(flat[0])
    model = fitted[None].copy().set_params(placement="labelled")
    with pytest.raises(ConfigError, match="fitted without placement"):
        model.adapt(cycles[2])


def test_refine_reads_fractions_and_snaps_small_ones() -> None:
    assert refine(np.array([0.0, 0.5, 1.0, 0.5, 0.0, -1, -1, -1])) == 2.0
    assert refine(np.array([0.0, 0.6, 1.0, 0.9, 0.0, -1, -1, -1])) == pytest.approx(2.3, abs=0.01)
    wrapped = np.array([1.0, 0.6, 0.0, -1, -1, -1, 0.0, 0.9])  # best at 0, leaning to 7
    assert refine(wrapped) == pytest.approx(-0.3, abs=0.01)
    nearly = np.array([0.0, 0.5, 1.0, 0.55, 0.0, -1, -1, -1])
    assert refine(nearly) == 2.0 and SNAP > 0  # under SNAP: an exact roll
    c = PlacementCorrection(1.0, 0.5, "labelled", 8)
    x = np.arange(16, dtype=np.float32).reshape(2, 8)
    np.testing.assert_array_equal(c.apply(x), np.roll(x, -1, axis=1))
    assert c.apply(x).dtype == np.float32


def test_methods_carry_the_placement() -> None:
    from myoshift.evaluation.recipes import resolve_method

    assert get_method("lda-td-aligned").placement == "labelled"
    assert get_method("lda-td-aligned-unsup").placement == "unlabelled"
    tcn = get_method("tcn-aligned")
    assert tcn.placement == "labelled" and tcn.adapt == get_method("tcn-transfer").adapt
    lda = get_method("lda-td")
    assert lda.placement is None and "placement" not in lda.to_dict()
    method = resolve_method("lda-td", {"placement": "unlabelled"})
    assert method.params["placement"] == "unlabelled"
    assert method.chain(200.0, 0).placement == "unlabelled"
    assert "placement" not in resolve_method("lda-td").params  # cache keys of others kept
    base = {"name": "x", "kind": "classical", "estimator": "ClassicalClassifier"}
    with pytest.raises(ConfigError, match="field 'placement'.*labelled, unlabelled"):
        spec_from_dict({**base, "citation": "c", "window_ms": 200, "placement": "yes"})
    with pytest.raises(ConfigError, match="method 'lda-td': placement must be"):
        resolve_method("lda-td", {"placement": "both"})


def test_transfer_regime_reports_the_placement(cycles: list[Recording]) -> None:
    from myoshift.evaluation.runner import run_benchmark

    def tagged(rec: Recording, place: str, k: float) -> Recording:
        return replace(rotated(rec, k), meta={**rec.meta, "subject": 1, "placement": place})

    data = [tagged(r, "before", 0) for r in cycles[:2]]
    data += [tagged(r, "after", 2) for r in cycles[2:]]
    result = run_benchmark(
        RecordingSet(data),
        "train-on:placement=before",
        ["lda-td", "lda-td-aligned"],
        calibration=[1],
        overrides={m: {"step_ms": 100} for m in ("lda-td", "lda-td-aligned")},
        write_report=False,
        show_progress=False,
        trace_memory=False,
    )
    res = result.results
    acc = res[(res["metric"] == "accuracy") & (res["condition"] == "")]
    by_method = acc.groupby("method")["value"].mean()
    assert by_method["lda-td-aligned"] > by_method["lda-td"] + 0.05
    infos = {r["key"]["method"]: r["info"] for r in result.records}
    assert infos["lda-td-aligned"]["placement"]["rotation"] == 2
    assert "placement" not in infos["lda-td"]


def test_streaming_equals_offline_with_the_placement(cycles: list[Recording]) -> None:
    from myoshift.realtime.recognizer import Recognizer
    from tests.realtime.conftest import CAUSAL, chunked

    model = MethodChain(
        ClassicalClassifier(fs=200.0), 200, 50, CAUSAL, name="lda", placement="labelled"
    ).fit(cycles[:2])
    model.adapt(rotated(cycles[2], 1.5))
    live = rotated(cycles[3], 1.5)
    live = replace(live, emg=live.emg[:3000], labels=np.zeros(3000, np.int64), repetition=None)
    rec = Recognizer(model)
    decisions = [d for chunk in chunked(live.emg, [37, 1, 250]) for d in rec.push(chunk)]
    np.testing.assert_array_equal([d.raw_label for d in decisions], model.predict(live))
    proba = model.predict_proba(live).max(axis=1)
    np.testing.assert_allclose([d.probability for d in decisions], proba, rtol=0, atol=1e-5)


def test_export_refuses_a_chain_that_corrects_the_rotation(
    cycles: list[Recording], fitted: dict[Any, MethodChain]
) -> None:
    """The ONNX graph has no place for the rotation: exporting would silently drop it."""
    pytest.importorskip("onnx")
    from myoshift.realtime.export_prepare import prepare

    model = fitted["labelled"].copy().adapt(rotated(cycles[2], 1))
    with pytest.raises(ConfigError, match="corrects the armband's rotation"):
        prepare(model)
