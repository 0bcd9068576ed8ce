"""learn.nearest_mean: the nearest-class-mean classifier and function."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from myoshift.errors import ConfigError
from myoshift.learn.nearest_mean import NearestClassMean, nearest_mean


def test_probabilities_rank_classes_by_distance_and_agree_with_predict() -> None:
    X = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0]])
    clf = clone(NearestClassMean()).fit(X, ["a", "a", "b"])  # means (0, 1) and (10, 0)
    np.testing.assert_allclose(clf.means_, [[0.0, 1.0], [10.0, 0.0]])
    q = np.array([[4.0, 1.0], [6.0, 0.0]])
    np.testing.assert_allclose(clf.decision_function(q), [[-8.0, -18.5], [-18.5, -8.0]])
    proba = clf.predict_proba(q)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert list(clf.predict(q)) == ["a", "b"] == list(clf.classes_[proba.argmax(1)])
    assert clf.score(q, ["a", "b"]) == 1.0
    np.testing.assert_array_equal(nearest_mean(X, ["a", "a", "b"], q), ["a", "b"])


def test_bad_shapes_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="one label per row"):
        NearestClassMean().fit(np.zeros((3, 2)), [0, 1])
    clf = NearestClassMean().fit(np.eye(2), [0, 1])
    with pytest.raises(ConfigError, match="fitted on 2 features"):
        clf.predict(np.zeros((1, 3)))
