"""Few-shot decisions of fitted estimators: the routes, nearest class mean, MethodChain."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from myoshift.errors import ConfigError
from myoshift.learn import ClassicalClassifier, MethodChain
from myoshift.learn.few_shot import few_shot_predict, few_shot_route
from myoshift.learn.nearest_mean import nearest_mean
from myoshift.signal.windows import Windows, make_windows
from tests.evaluation.helpers import CentroidClassifier, NoAdapt, log_rms, make_set


def _windows(subjects: tuple[int, ...], classes: int = 5) -> Windows:
    return make_windows(make_set(subjects=subjects, reps=2, classes=classes), 200, 100)


def _episode(w: Windows, classes: list[int], k: int = 3) -> tuple[Windows, Windows]:
    sup = np.concatenate([np.flatnonzero(w.y == c)[:k] for c in classes])
    qry = np.flatnonzero(np.isin(w.y, classes) & ~np.isin(np.arange(len(w.y)), sup))
    return w.subset(sup), w.subset(qry)


class Embedder(CentroidClassifier):
    """Nearest centroid with an ``embed`` (log RMS per channel)."""

    def embed(self, X: Any) -> np.ndarray:
        return log_rms(X)


class OwnFewShot(NoAdapt):
    def few_shot(self, support: Windows, query: Windows) -> np.ndarray:
        return np.full(len(query.y), support.y.max())


def test_nearest_mean_by_hand() -> None:
    support = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0]])
    pred = nearest_mean(support, np.array([4, 4, 7]), np.array([[1.0, 1.0], [6.0, 0.0]]))
    assert pred.tolist() == [4, 7]  # class means (0, 1) and (10, 0)
    with pytest.raises(ConfigError, match="support \\(3, 2\\), labels \\(2,\\), query"):
        nearest_mean(support, np.array([4, 7]), np.zeros((1, 2)))


def test_refit_route_learns_only_the_support_and_new_classes() -> None:
    train, target = _windows((1, 2), classes=3), _windows((3,))
    est = ClassicalClassifier(adapt_mode="target").fit(train, train.y)
    before = est.predict(target)
    s, q = _episode(target, [2, 3, 4])  # 3 and 4 were never trained
    assert few_shot_route(est, [2, 3, 4]) == "refit"
    pred = few_shot_predict(est, s, q)
    assert set(pred) <= {2, 3, 4} and (pred == q.y).mean() > 0.8
    np.testing.assert_array_equal(est.predict(target), before)  # unchanged
    one, q1 = _episode(target, [2, 3, 4], k=1)  # LDA needs more windows than classes
    with pytest.raises(ConfigError, match=r"support alone \(3 windows of 3 classes\) failed"):
        few_shot_predict(est, one, q1)


def test_adapt_route_decides_among_the_episode_classes() -> None:
    train = _windows((1, 2))
    target = _windows((3,))
    est = ClassicalClassifier(adapt_mode="pooled").fit(train, train.y)
    before = est.pipeline_.named_steps["model"].coef_.copy()
    s, q = _episode(target, [1, 3])
    assert few_shot_route(est, [1, 3]) == "adapt"
    assert set(few_shot_predict(est, s, q)) <= {1, 3}
    np.testing.assert_array_equal(est.pipeline_.named_steps["model"].coef_, before)


def test_new_head_route_for_novel_classes() -> None:
    train, target = _windows((1, 2), classes=3), _windows((3,))
    est = Embedder().fit(train, train.y)
    centroids = est.centroids_.copy()
    s, q = _episode(target, [1, 4])
    assert few_shot_route(est, [1, 2]) == "adapt"
    assert few_shot_route(est, [1, 4]) == "new-head"
    pred = few_shot_predict(est, s, q)
    assert set(pred) <= {1, 4} and (pred == q.y).mean() > 0.8
    np.testing.assert_array_equal(est.centroids_, centroids)


def test_own_few_shot_and_refusals() -> None:
    target = _windows((3,))
    s, q = _episode(target, [1, 2])
    assert few_shot_predict(OwnFewShot(), s, q).tolist() == [2] * len(q.y)
    plain = NoAdapt().fit(target, target.y)
    with pytest.raises(ConfigError, match="NoAdapt cannot learn a support set: it has no few_shot"):
        few_shot_predict(plain, s, q)


def test_method_chain_few_shot_on_recordings_or_windows() -> None:
    train = make_set(subjects=(1, 2), reps=2, classes=4)
    target = make_set(subjects=(3,), reps=2, classes=4)
    chain = MethodChain(ClassicalClassifier(adapt_mode="target"), 200, 100).fit(train)
    support = [r for r in target if r.meta["repetition"] == 1 and r.labels[0] in (1, 2)]
    query = [r for r in target if r.meta["repetition"] == 2 and r.labels[0] in (1, 2)]
    from_recordings = chain.few_shot(support, query)
    from_windows = chain.few_shot(chain.windows(support), chain.windows(query))
    np.testing.assert_array_equal(from_recordings, from_windows)
    assert set(from_recordings) <= {1, 2}
    chain.estimator_ = NoAdapt().fit(chain.windows(train), chain.windows(train).y)
    with pytest.raises(ConfigError, match="^MethodChain: NoAdapt cannot learn"):
        chain.few_shot(support, query)
