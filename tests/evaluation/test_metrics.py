"""Metrics against scikit-learn / SciPy on known inputs; statistics across folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn import metrics as skm

from myoshift.errors import ConfigError, ShapeError
from myoshift.evaluation import (
    classification_metrics,
    compare_methods,
    majority_vote,
    nmse,
    paired_wilcoxon,
    pearson_r,
    regression_metrics,
    summarize,
)

Y_TRUE = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, 3])
Y_PRED = np.array([0, 1, 1, 1, 2, 2, 2, 0, 2, 1])


def test_classification_metrics_match_sklearn() -> None:
    m = classification_metrics(Y_TRUE, Y_PRED, vote=None)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(Y_TRUE, Y_PRED))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(Y_TRUE, Y_PRED))
    assert m["f1_macro"] == pytest.approx(skm.f1_score(Y_TRUE, Y_PRED, average="macro"))
    assert m["precision_macro"] == pytest.approx(
        skm.precision_score(Y_TRUE, Y_PRED, average="macro", zero_division=0)
    )
    assert m["recall_macro"] == pytest.approx(skm.recall_score(Y_TRUE, Y_PRED, average="macro"))
    assert m["recall_per_class"] == {"0": 0.5, "1": pytest.approx(2 / 3), "2": 0.75, "3": 0.0}
    np.testing.assert_array_equal(m["confusion"], skm.confusion_matrix(Y_TRUE, Y_PRED))
    assert m["labels"] == [0, 1, 2, 3] and m["n"] == 10
    assert "accuracy_vote5" not in m


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_predicted_class_absent_from_truth() -> None:
    m = classification_metrics([1, 1, 2], [1, 5, 2], vote=None)
    assert m["labels"] == [1, 2, 5]
    assert m["balanced_accuracy"] == pytest.approx(
        skm.balanced_accuracy_score([1, 1, 2], [1, 5, 2])
    )
    assert np.asarray(m["confusion"]).shape == (3, 3)


def test_majority_vote_is_causal_and_stays_in_group() -> None:
    pred = np.array([1, 2, 2, 1, 1, 1, 3, 3])
    groups = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    out = majority_vote(pred, groups, n=3)
    # group 0: [1] [1,2] [1,2,2] [2,2,1] [2,1,1]; group 1 restarts: [1] [1,3] [1,3,3]
    np.testing.assert_array_equal(out, [1, 1, 2, 2, 1, 1, 1, 3])
    np.testing.assert_array_equal(majority_vote(pred, None, 1), pred)
    m = classification_metrics(np.array([1, 1, 1, 1, 1, 1, 3, 3]), pred, groups=groups, vote=3)
    assert m["accuracy_vote3"] == pytest.approx(np.mean(out == [1, 1, 1, 1, 1, 1, 3, 3]))
    assert m["accuracy"] == pytest.approx(6 / 8)


def test_vote_runs_over_unlabelled_windows_and_scores_only_labelled_ones() -> None:
    # gesture 1, an unlabelled gap the live system still decides on (its last windows
    # already hold the onset of gesture 2), gesture 2
    y_true = np.array([1, 1, 1, 1, -1, -1, -1, 2, 2, 2, 2])
    y_pred = np.array([1, 1, 1, 1, 0, 2, 2, 2, 2, 2, 2])
    m = classification_metrics(y_true, y_pred, vote=3)
    assert m["n"] == 8 and m["accuracy"] == 1.0 and m["labels"] == [1, 2]
    assert m["confusion"] == [[4, 0], [0, 4]]
    # the vote at gesture 2's first window sees the gap's decisions [2, 2, 2]
    assert m["accuracy_vote3"] == 1.0
    # dropping the gap first (the old way) makes gesture 1 outvote it: [1, 1, 2] -> 1
    kept = y_true != -1
    old = classification_metrics(y_true[kept], y_pred[kept], vote=3)
    assert old["accuracy_vote3"] == pytest.approx(7 / 8)
    # votes still stay inside a group, and labelled windows alone are scored
    groups = np.array([0] * 6 + [1] * 5)
    split = classification_metrics(y_true, y_pred, groups=groups, vote=3)
    np.testing.assert_array_equal(majority_vote(y_pred, groups, 3)[6:], [2] * 5)
    assert split["accuracy_vote3"] == 1.0 and split["n"] == 8
    with pytest.raises(ShapeError, match="no labelled windows"):
        classification_metrics([-1, -1], [0, 1])


def test_a_fold_decides_on_every_window_in_time_order() -> None:
    """`score_conditions`: gap windows are predicted and voted on, never scored."""
    from myoshift.evaluation import Fold, Method
    from myoshift.evaluation.regimes import score_conditions
    from myoshift.recording import Recording, RecordingSet
    from tests.evaluation.helpers import build_centroid, make_set

    train = make_set(subjects=(1,), reps=2)
    parts = [gesture_part(c, seed=c) for c in (1, -1, 2, -1, 3)]
    labels = np.concatenate([np.full(len(p), c) for c, p in zip((1, -1, 2, -1, 3), parts)])
    test = RecordingSet(
        [Recording(np.concatenate(parts), 100.0, labels, train[0].layout, meta={"subject": 1})]
    )
    chain = Method("centroid", build_centroid, window_ms=200, step_ms=100).chain(100.0, 0)
    chain.fit(train)
    out = score_conditions(chain, Fold("1", train, RecordingSet(), test), vote=3)
    every = chain.windows(test, drop_unlabelled=False)
    labelled = chain.windows(test)
    assert len(every) > len(labelled) and out.n_test == len(labelled)
    pred = chain.estimator_.predict(every)
    want = classification_metrics(every.y, pred, [1, 2, 3], np.zeros(len(every)), 3)
    got = out.conditions[""]
    assert got["accuracy_vote3"] == want["accuracy_vote3"] and got["n"] == len(labelled)
    assert got["accuracy"] == float(np.mean(chain.predict(test) == labelled.y))


def gesture_part(label: int, n: int = 300, seed: int = 0) -> np.ndarray:
    """Samples whose channel ``label % 4`` is loudest (quiet noise for a gap, -1)."""
    rng = np.random.default_rng(seed + 10)
    scale = np.ones(4)
    if label >= 0:
        scale[label % 4] = 4.0
    return (rng.standard_normal((n, 4)) * scale).astype(np.float32)


def test_metric_input_errors() -> None:
    with pytest.raises(ShapeError, match="rows"):
        classification_metrics([1, 2], [1])
    with pytest.raises(ShapeError, match="no predictions"):
        classification_metrics([], [])


def test_regression_metrics() -> None:
    rng = np.random.default_rng(0)
    t = rng.standard_normal((50, 3))
    p = t + 0.3 * rng.standard_normal((50, 3))
    m = regression_metrics(t, p)
    assert m["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(t, p)))
    assert m["r2"] == pytest.approx(skm.r2_score(t, p))
    r = np.mean([sps.pearsonr(t[:, j], p[:, j])[0] for j in range(3)])
    assert m["pearson_r"] == pytest.approx(r)
    assert m["nmse"] == pytest.approx(np.mean(((t - p) ** 2).mean(0) / t.var(0)))
    assert nmse(t, t) == 0.0 and pearson_r(t, t) == pytest.approx(1.0)
    per = regression_metrics(t, p, per_output=True)  # e.g. each joint of a data glove
    for j in range(3):
        assert per[f"r2[{j}]"] == pytest.approx(skm.r2_score(t[:, j], p[:, j]))
        assert per[f"rmse[{j}]"] == pytest.approx(np.sqrt(skm.mean_squared_error(t[:, j], p[:, j])))
    assert "r2[0]" not in regression_metrics(t[:, 0], p[:, 0], per_output=True)


def _results(a: list[float], b: list[float]) -> pd.DataFrame:
    rows = []
    for method, vals in (("a", a), ("b", b)):
        for i, v in enumerate(vals):
            for seed in (0, 1):
                rows.append(
                    {
                        "dataset": "d",
                        "protocol": "loso",
                        "method": method,
                        "fold": str(i),
                        "subject": i,
                        "calibration": 0,
                        "seed": seed,
                        "condition": "",
                        "metric": "accuracy",
                        "value": v + (0.01 if seed else -0.01),
                    }
                )
    return pd.DataFrame(rows)


def test_summarize_and_wilcoxon_against_scipy() -> None:
    a = [0.9, 0.85, 0.95, 0.7, 0.8, 0.88]
    b = [0.8, 0.86, 0.75, 0.6, 0.7, 0.81]
    df = _results(a, b)
    s = summarize(df)
    row = s[s["method"] == "a"].iloc[0]
    assert row["mean"] == pytest.approx(np.mean(a))
    assert row["std"] == pytest.approx(np.std(a, ddof=1))
    assert row["n"] == 6
    w = paired_wilcoxon(df, "a", "b")
    ref = sps.wilcoxon(a, b)
    assert w["n"] == 6
    assert w["p_value"] == pytest.approx(ref.pvalue)
    assert w["statistic"] == pytest.approx(ref.statistic)
    assert w["mean_diff"] == pytest.approx(np.mean(np.subtract(a, b)))
    table = compare_methods(df)
    assert len(table) == 1 and table.iloc[0]["p_value"] == pytest.approx(ref.pvalue)
    same = paired_wilcoxon(_results(a, a), "a", "b")
    assert np.isnan(same["p_value"]) and same["n"] == 6
    with pytest.raises(ConfigError, match="method 'c'"):
        paired_wilcoxon(df, "a", "c")
