"""Events, the double-threshold trigger and event metrics against labels."""

from __future__ import annotations

import numpy as np
import pytest

from myoshift.errors import ConfigError, ShapeError
from myoshift.realtime.events import (
    Event,
    EventScore,
    KOfM,
    activity_mask,
    gesture_spans,
    rest_segment,
    score_events,
)
from myoshift.recording import UNLABELLED, Layout, Recording

FS = 100.0


def onset(sample: int) -> Event:
    return Event("onset", sample, sample / FS)


def offset(sample: int) -> Event:
    return Event("offset", sample, sample / FS)


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


# ------------------------------------------------------------------------ spans and rest
def test_gesture_spans_are_runs_of_one_gesture_code() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2, 0, -1, 3, 0])
    assert gesture_spans(labels).tolist() == [[2, 4, 1], [4, 6, 2], [8, 9, 3]]
    assert gesture_spans(np.zeros(0, dtype=int)).shape == (0, 3)


def test_rest_segment_takes_the_first_long_enough_rest() -> None:
    labels = np.r_[np.zeros(50), np.ones(100), np.zeros(300), np.ones(10)].astype(int)
    rec = Recording(np.zeros((len(labels), 2)), FS, labels, Layout.plain(2))
    assert rest_segment(rec, 2.0) == slice(150, 350)
    assert rest_segment(rec, 0.5) == slice(0, 50)


def test_rest_segment_without_rest_is_a_one_line_error() -> None:
    rec = Recording(np.zeros((400, 2)), FS, np.ones(400, dtype=int), Layout.plain(2))
    with pytest.raises(ConfigError) as exc:
        rest_segment(rec, 1.0)
    assert "no 1.0 s run of rest" in one_line(exc)
    with pytest.raises(ConfigError):
        rest_segment(rec, -1.0)


def test_activity_mask_runs_from_onset_to_offset() -> None:
    mask = activity_mask([onset(2), offset(5), onset(8)], 10)
    assert mask.tolist() == [False, False, True, True, True, False, False, False, True, True]


# ------------------------------------------------------------------------ trigger
def test_k_of_m_needs_k_of_the_last_m_flags_and_off_flags_down() -> None:
    trig = KOfM(k=2, m=3, off=2)
    flags = np.array([1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1], dtype=bool)
    # onset at 5 (flags 3 and 5 among 3..5), offset once 8 and 9 are both down
    assert trig.run(flags) == [(5, "onset"), (8, "offset")]
    assert not trig.active


def test_k_of_m_chunked_equals_whole() -> None:
    rng = np.random.default_rng(0)
    flags = rng.random(500) < 0.4
    whole = KOfM(3, 5, 4).run(flags)
    trig, found, pos = KOfM(3, 5, 4), [], 0
    for size in rng.integers(0, 17, 200):
        part = flags[pos : pos + size]
        found += [(pos + p, k) for p, k in trig.run(part)]
        pos += len(part)
    found += [(pos + p, k) for p, k in trig.run(flags[pos:])]
    assert found == whole and len(whole) > 4


@pytest.mark.parametrize("k, m, off", [(3, 2, 1), (0, 2, 1), (1, 1, 0), (1.5, 2, 1)])
def test_k_of_m_refuses_bad_counts(k: float, m: int, off: int) -> None:
    with pytest.raises(ConfigError) as exc:
        KOfM(k, m, off)  # type: ignore[arg-type]
    one_line(exc)


# ------------------------------------------------------------------------ scoring
def scenario() -> np.ndarray:
    """10 s at 100 Hz: gestures at 1-2 s, 4-5 s and 7-8 s, rest elsewhere."""
    labels = np.zeros(1000, dtype=int)
    labels[100:200], labels[400:500], labels[700:800] = 1, 2, 1
    return labels


def test_score_counts_detections_misses_latency_and_false_activations() -> None:
    events = [
        onset(103), offset(140),  # gesture 1, 30 ms late
        onset(150), offset(210),  # re-trigger inside gesture 1: extra
        onset(300), offset(310),  # rest, far from any gesture: false activation
        onset(680), offset(820),  # gesture 3, 200 ms early (within before_s)
    ]  # fmt: skip
    sc = score_events(events, scenario(), FS, before_s=0.5, tolerance_s=0.5, after_s=0.5)
    assert (sc.n_gestures, sc.detected, sc.missed) == (3, 2, 1)
    np.testing.assert_allclose(np.sort(sc.latencies_s), [-0.2, 0.03])
    assert sc.false_activations == 1 and sc.extra_onsets == 1
    # guard zones [50, 250), [350, 550), [650, 850): rest left = 1000 - 600 samples
    assert sc.rest_s == pytest.approx(4.0)
    assert sc.false_per_min == pytest.approx(15.0)
    assert sc.rest_active_s == pytest.approx(0.1)
    assert sc.gesture_s == pytest.approx(3.0)
    assert sc.gesture_active_s == pytest.approx(0.37 + 0.5 + 1.0)
    assert sc.median_latency_s == pytest.approx(-0.085)
    assert sc.latency_iqr_s == pytest.approx((-0.1425, -0.0275))


def test_an_onset_later_than_the_tolerance_misses_the_gesture() -> None:
    sc = score_events([onset(180)], scenario(), FS, tolerance_s=0.5)
    assert sc.detected == 0 and sc.extra_onsets == 1 and sc.false_activations == 0


def test_one_onset_matches_one_gesture_only() -> None:
    labels = np.zeros(400, dtype=int)
    labels[100:130], labels[150:200] = 1, 2  # two gestures 0.2 s apart
    sc = score_events([onset(140)], labels, FS, before_s=0.5, tolerance_s=1.0)
    assert (sc.detected, sc.missed) == (1, 1)
    assert sc.latencies_s.tolist() == pytest.approx([0.4])


def test_within_restricts_gestures_onsets_and_rest() -> None:
    labels = scenario()
    mask = np.zeros(len(labels), dtype=bool)
    mask[600:] = True
    sc = score_events([onset(300), onset(705)], labels, FS, within=mask)
    assert (sc.n_gestures, sc.detected, sc.false_activations) == (1, 1, 0)
    assert sc.rest_s == pytest.approx(2.0)  # 600..650 and 850..1000
    assert score_events([onset(300)], labels, FS, within=slice(250, 350)).false_activations == 1


def test_unlabelled_time_is_rest_only_when_asked() -> None:
    labels = scenario()
    labels[250:350] = UNLABELLED
    events = [onset(300)]
    assert score_events(events, labels, FS).false_activations == 0
    assert score_events(events, labels, FS, rest_labels=(0, UNLABELLED)).false_activations == 1


def test_combine_pools_counts_and_latencies() -> None:
    a = score_events([onset(105)], scenario(), FS)
    b = score_events([onset(110), onset(300)], scenario(), FS)
    pooled = EventScore.combine([a, b])
    assert (pooled.n_gestures, pooled.detected, pooled.false_activations) == (6, 2, 1)
    assert sorted(pooled.latencies_s.tolist()) == pytest.approx([0.05, 0.1])
    assert pooled.rest_s == pytest.approx(a.rest_s + b.rest_s)
    empty = EventScore()
    assert np.isnan(empty.miss_rate) and np.isnan(empty.false_per_min)
    assert np.isnan(empty.median_latency_s)


def test_score_refuses_bad_input() -> None:
    with pytest.raises(ShapeError) as exc:
        score_events([], np.zeros((10, 2)), FS)
    one_line(exc)
    with pytest.raises(ConfigError) as exc2:
        score_events([], scenario(), FS, before_s=-1)
    assert "before_s" in one_line(exc2)
    with pytest.raises(ConfigError):
        score_events([], scenario(), FS, tolerance_s=0)
    with pytest.raises(ShapeError) as exc3:
        score_events([], scenario(), FS, within=np.ones(5, dtype=bool))
    assert "within" in one_line(exc3)
