"""scikit-learn conformance of every registered estimator (`estimator_names()`).

Two layers, both parametrised over the registry, so that a newly registered estimator
is checked (or fails `test_every_registered_estimator_has_a_case` until it gets one):

1. scikit-learn's own checks (`estimator_checks_generator`, which `check_estimator`
   and `parametrize_with_checks` run). The estimators declare in ``__sklearn_tags__``
   that they take 3-D windows (or recordings), not 2-D tables; for such tags
   scikit-learn yields ``check_estimator_cloneable`` only (`test_declared_input_tags`).
   To run every check that applies, the checks are generated for a *tabular view*
   (the same estimator whose tags claim 2-D input): the data-free checks (repr,
   cloning, parameters, no attribute set in ``__init__``, not-fitted errors...) run
   for real, and every check that feeds a 2-D table is an expected failure with a
   one-line reason (`expected_failures`). Expected failures are strict: a listed
   check that passes fails the run, so the list stays exact.
2. The contract of those table-fed checks, restated on small EMG windows (recordings
   for `MethodChain`) by the tests below; each reason names its test.
"""

from __future__ import annotations

import functools
import inspect
import pickle
import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError, SkipTestWarning
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import check_estimator, estimator_checks_generator
from sklearn.utils.validation import check_is_fitted

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn import (
    ClassicalClassifier,
    ClassicalRegressor,
    ClassifierRegressorFusion,
    ContrastiveEncoder,
    DecisionFusion,
    DeepClassifier,
    DeepRegressor,
    EmbeddingClassifier,
    MetaClassifier,
    MultiTaskEstimator,
    ProbabilityEnsemble,
    estimator_names,
)
from myoshift.learn.chain import MethodChain
from myoshift.recording import RecordingSet
from myoshift.signal.windows import Windows, make_windows
from tests.evaluation.helpers import make_set

TINY = {"model": "test-tiny", "epochs": 1, "lr": 0.02, "batch_size": 16, "threads": 1}
WINDOW_MS, STEP_MS = 200.0, 100.0


@dataclass(frozen=True)
class Case:
    """How to build a small instance of a registered estimator and what it takes."""

    make: Callable[[], Any]
    inputs: Literal["windows", "recordings"] = "windows"


CASES: dict[str, Case] = {
    "ClassicalClassifier": Case(lambda: ClassicalClassifier("lda")),
    "ClassicalRegressor": Case(lambda: ClassicalRegressor("ridge")),
    "DeepClassifier": Case(lambda: DeepClassifier(**TINY)),
    "DeepRegressor": Case(lambda: DeepRegressor(**TINY)),
    "ProbabilityEnsemble": Case(
        lambda: ProbabilityEnsemble(
            [("lda", ClassicalClassifier("lda")), ("net", DeepClassifier(**TINY))]
        )
    ),
    "MethodChain": Case(
        lambda: MethodChain(ClassicalClassifier("lda"), window_ms=WINDOW_MS, step_ms=STEP_MS),
        inputs="recordings",
    ),
    "ContrastiveEncoder": Case(
        lambda: ContrastiveEncoder(probe="finetune", pretrain_epochs=1, **TINY)
    ),
    "EmbeddingClassifier": Case(lambda: EmbeddingClassifier(DeepClassifier(**TINY), "lda")),
    "MetaClassifier": Case(
        lambda: MetaClassifier(**TINY, n_way=None, k_shot=2, n_query=2, episodes_per_epoch=6)
    ),
    "DecisionFusion": Case(
        lambda: DecisionFusion(
            [("lda", ClassicalClassifier("lda")), ("net", DeepClassifier(**TINY))]
        )
    ),
    # its regressor members need a target stream (tests/learn/test_fusion.py); here stacking
    "ClassifierRegressorFusion": Case(
        lambda: ClassifierRegressorFusion([("lda", ClassicalClassifier("lda"))], cv=2)
    ),
    # no targets, weight 0: the classifier path (with targets: tests/learn/test_multitask.py)
    "MultiTaskEstimator": Case(lambda: MultiTaskEstimator(**TINY, target_weight=0.0)),
}
NAMES = [n for n in estimator_names() if n in CASES]
WINDOW_NAMES = [n for n in NAMES if CASES[n].inputs == "windows"]
WINDOW_CLASSIFIERS = [n for n in WINDOW_NAMES if is_classifier(CASES[n].make())]
WINDOW_REGRESSORS = [n for n in WINDOW_NAMES if is_regressor(CASES[n].make())]
PREDICTIONS = ("predict", "predict_proba", "decision_function")

# ---------------------------------------------------------------- expected failures
# scikit-learn check -> the test below that states its contract on windows / recordings
RESTATED = {
    "check_fit_score_takes_y": "test_fit_and_score_take_y",
    "check_estimators_overwrite_params": "test_fit_returns_self_and_keeps_params",
    "check_dont_overwrite_parameters": "test_fit_returns_self_and_keeps_params",
    "check_estimators_fit_returns_self": "test_fit_returns_self_and_keeps_params",
    "check_fit_check_is_fitted": "test_fit_returns_self_and_keeps_params",
    "check_n_features_in_after_fitting": "test_shape_mismatch_is_refused",
    "check_n_features_in": "test_shape_mismatch_is_refused",
    "check_readonly_memmap_input": "test_input_forms_give_the_same_model",
    "check_estimators_dtypes": "test_input_forms_give_the_same_model",
    "check_dtype_object": "test_input_forms_give_the_same_model",
    "check_f_contiguous_array_estimator": "test_input_forms_give_the_same_model",
    "check_classifier_data_not_an_array": "test_input_forms_give_the_same_model",
    "check_regressor_data_not_an_array": "test_input_forms_give_the_same_model",
    "check_estimators_nan_inf": "test_bad_windows_are_refused",
    "check_estimators_empty_data_messages": "test_bad_windows_are_refused",
    "check_fit2d_predict1d": "test_bad_windows_are_refused",
    "check_complex_data": "test_complex_windows_are_refused",
    "check_pipeline_consistency": "test_fit_is_deterministic_and_idempotent",
    "check_fit_idempotent": "test_fit_is_deterministic_and_idempotent",
    "check_estimators_pickle": "test_pickle_round_trip",
    "check_dict_unchanged": "test_prediction_leaves_the_state_unchanged",
    "check_methods_sample_order_invariance": "test_predictions_are_per_window",
    "check_methods_subset_invariance": "test_predictions_are_per_window",
    "check_classifiers_train": "test_prediction_outputs",
    "check_decision_proba_consistency": "test_prediction_outputs",
    "check_regressors_train": "test_prediction_outputs",
    "check_regressors_no_decision_function": "test_prediction_outputs",
    "check_classifiers_one_label": "test_classifier_labels",
    "check_classifiers_classes": "test_classifier_labels",
    "check_classifiers_regression_target": "test_classifier_labels",
    "check_requires_y_none": "test_classifier_labels / test_regressor_targets",
    "check_supervised_y_2d": "test_classifier_labels / test_regressor_targets",
    "check_regressors_int": "test_regressor_targets",
    "check_positive_only_tag_during_fit": "every fit here (EMG windows are signed)",
    "check_class_weight_classifiers": "test_class_weight_is_honoured",
}
# scikit-learn checks with no counterpart for windows
NOT_APPLICABLE = {
    "check_estimator_sparse_tag": "scipy sparse containers are 2-D tables; windows are dense",
    "check_estimator_sparse_array": "scipy sparse containers are 2-D tables; windows are dense",
    "check_estimator_sparse_matrix": "scipy sparse containers are 2-D tables; windows are dense",
    "check_fit2d_1sample": "a one-row table; fitting on a single window is no use case",
    "check_fit2d_1feature": "a one-column table; a window's features are computed, not given",
    "check_array_api_input": "array-API namespaces for 2-D tables (and SCIPY_ARRAY_API unset)",
}
# MethodChain: checks of the labels or of the array's form concern the estimator it wraps
CHAIN_DELEGATED = {
    **dict.fromkeys(
        (
            "check_classifiers_one_label",
            "check_classifiers_classes",
            "check_classifiers_regression_target",
            "check_requires_y_none",
            "check_supervised_y_2d",
            "check_class_weight_classifiers",
        ),
        "labels come from the recordings",
    ),
    **dict.fromkeys(
        (
            "check_readonly_memmap_input",
            "check_estimators_dtypes",
            "check_dtype_object",
            "check_f_contiguous_array_estimator",
            "check_classifier_data_not_an_array",
            "check_estimators_nan_inf",
            "check_estimators_empty_data_messages",
            "check_fit2d_predict1d",
            "check_complex_data",
        ),
        "its estimator gets the windows (checked there)",
    ),
}


def expected_failures(est: Any) -> dict[str, str]:
    """Every scikit-learn check that feeds ``est`` a 2-D table, with its one-line reason."""
    if isinstance(est, MethodChain):
        takes = "takes recordings, not 2-D tables"
        restated = {
            check: f"{takes}; " + CHAIN_DELEGATED.get(check, f"on recordings: {where}")
            for check, where in RESTATED.items()
        }
    else:
        takes = "takes 3-D windows (n, channels, samples), not 2-D tables"
        restated = {check: f"{takes}; on windows: {where}" for check, where in RESTATED.items()}
    if not hasattr(est, "decision_function"):  # the check runs nothing without one
        restated.pop("check_decision_proba_consistency")
    return {**restated, **{check: f"{takes}: {why}" for check, why in NOT_APPLICABLE.items()}}


def tabular_view(est: Any) -> Any:
    """``est`` whose tags claim 2-D input, so that scikit-learn yields all its checks.

    Only this instance is changed (an instance attribute): the clones the checks make
    carry the estimator's true tags.
    """

    def tags() -> Any:
        t = type(est).__sklearn_tags__(est)
        t.input_tags.two_d_array = True
        return t

    est.__sklearn_tags__ = tags
    return est


def _sklearn_checks() -> list[Any]:
    """``(estimator, check)`` for every check scikit-learn has for each registered case."""
    params = []
    for name in NAMES:
        view = tabular_view(CASES[name].make())
        for est, check in estimator_checks_generator(view, legacy=True, mark=None):
            kw = ",".join(f"{k}={v}" for k, v in check.keywords.items())
            params.append(pytest.param(est, check, id=f"{name}-{check.func.__name__}({kw})"))
    return params


@pytest.mark.parametrize("estimator, check", _sklearn_checks())
def test_sklearn_check(estimator: Any, check: functools.partial[None]) -> None:
    """scikit-learn's check passes, or fails as `expected_failures` says (strictly).

    The equivalent of ``parametrize_with_checks(..., xfail_strict=True)`` without
    pytest formatting a traceback through scikit-learn for every expected failure.
    """
    reason = expected_failures(estimator).get(check.func.__name__)
    if reason is None:
        check(estimator)
        return
    failed = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            check(estimator)
        except Exception:
            failed = True
    if failed:
        pytest.xfail(reason)
    pytest.fail(f"{check.func.__name__} passes now: remove it from expected_failures")


# ---------------------------------------------------------------- data
@pytest.fixture(scope="module")
def recordings() -> RecordingSet:
    """Two subjects x three repetitions x three gestures, 4 channels at 100 Hz."""
    return make_set(subjects=(1, 2))


@pytest.fixture(scope="module")
def windows(recordings: RecordingSet) -> Windows:
    return make_windows(recordings, WINDOW_MS, STEP_MS)


def _data(name: str, windows: Windows, recordings: RecordingSet) -> tuple[Any, Any]:
    """``(X, y)`` an estimator of case ``name`` fits on: arrays, or recordings and None."""
    if CASES[name].inputs == "recordings":
        return recordings, None
    X = np.asarray(windows.X)
    if is_regressor(CASES[name].make()):
        return X, np.abs(X[:, 0]).mean(axis=1)  # a continuous target per window
    return X, windows.y


def _outputs(est: Any, X: Any) -> dict[str, np.ndarray]:
    """Every prediction method's output on ``X``."""
    return {m: np.asarray(getattr(est, m)(X)) for m in PREDICTIONS if hasattr(est, m)}


def _assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray], exact: bool = True) -> None:
    assert a.keys() == b.keys()
    for m in a:
        if exact or a[m].dtype.kind not in "f":
            np.testing.assert_array_equal(a[m], b[m], err_msg=m)
        else:
            np.testing.assert_allclose(a[m], b[m], rtol=1e-4, atol=1e-5, err_msg=m)


# ---------------------------------------------------------------- tags and registry
def test_every_registered_estimator_has_a_case() -> None:
    assert sorted(CASES) == estimator_names()


@pytest.mark.parametrize("name", NAMES)
def test_declared_input_tags(name: str) -> None:
    est = CASES[name].make()
    tags = get_tags(est)
    assert not tags.input_tags.two_d_array
    assert tags.input_tags.three_d_array == (CASES[name].inputs == "windows")
    assert tags.requires_fit
    # scikit-learn honours the declaration: no table-fed check is run on the estimator
    with pytest.warns(SkipTestWarning, match="Can't test estimator"):
        results = check_estimator(est)
    assert [(r["check_name"], r["status"]) for r in results] == [
        ("check_estimator_cloneable", "passed")
    ]


def test_method_chain_takes_the_kind_of_its_estimator() -> None:
    assert is_classifier(MethodChain(ClassicalClassifier("lda")))
    chain = MethodChain(ClassicalRegressor("ridge"), target="glove")
    assert is_regressor(chain) and not is_classifier(chain)
    assert get_tags(chain).regressor_tags is not None


# ---------------------------------------------------------------- parameters and fitting
@pytest.mark.parametrize("name", NAMES)
def test_fit_and_score_take_y(name: str) -> None:
    est = CASES[name].make()
    for method in ("fit", "score", "partial_fit", "fit_predict", "fit_transform"):
        if hasattr(est, method):
            args = list(inspect.signature(getattr(est, method)).parameters)
            assert args[1] == "y", f"{name}.{method}{args}"


@pytest.mark.parametrize("name", NAMES)
def test_fit_returns_self_and_keeps_params(
    name: str, windows: Windows, recordings: RecordingSet
) -> None:
    X, y = _data(name, windows, recordings)
    est = CASES[name].make()
    params = joblib.hash(est.get_params(deep=True))
    before = set(vars(est))
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    assert est.fit(X, y) is est
    check_is_fitted(est)
    assert joblib.hash(est.get_params(deep=True)) == params  # fit changes no parameter
    added = set(vars(est)) - before
    assert added and all(a.endswith("_") or a.startswith("_") for a in added), added


@pytest.mark.parametrize("name", NAMES)
def test_unfitted_estimator_raises_not_fitted(
    name: str, windows: Windows, recordings: RecordingSet, tmp_path: Path
) -> None:
    X, y = _data(name, windows, recordings)
    est = CASES[name].make()
    calls: dict[str, Callable[[], Any]] = {
        "predict": lambda: est.predict(X),
        "predict_proba": lambda: est.predict_proba(X),
        "decision_function": lambda: est.decision_function(X),
        "score": lambda: est.score(X, y),
        "transform_features": lambda: est.transform_features(X),
        "embed": lambda: est.embed(X),
        "windows": lambda: est.windows(X),
        "adapt": lambda: est.adapt(X, y) if y is not None else est.adapt(X),
        "save": lambda: est.save(tmp_path / name),
    }
    for method, call in calls.items():
        if hasattr(est, method):
            with pytest.raises(NotFittedError, match="not fitted"):
                call()
    assert not hasattr(est, "network_")  # the property raises NotFittedError too


@pytest.mark.parametrize("name", NAMES)
def test_clone_gives_an_equal_unfitted_estimator(
    name: str, windows: Windows, recordings: RecordingSet
) -> None:
    X, y = _data(name, windows, recordings)
    est = CASES[name].make().fit(X, y)
    twin = clone(est)
    assert type(twin) is type(est)
    assert joblib.hash(twin.get_params(deep=True)) == joblib.hash(est.get_params(deep=True))
    with pytest.raises(NotFittedError):
        check_is_fitted(twin)
    assert repr(twin) == repr(est)


def test_method_chain_exposes_its_estimator_params(recordings: RecordingSet) -> None:
    chain = CASES["MethodChain"].make()
    params = chain.get_params(deep=True)
    assert params["estimator__classifier"] == "lda" and params["window_ms"] == WINDOW_MS
    chain.set_params(estimator__classifier="knn", estimator__classifier_params={"n_neighbors": 3})
    assert chain.estimator.classifier == "knn"
    chain.fit(recordings)
    knn = chain.estimator_.pipeline_.named_steps["model"]
    assert knn.n_neighbors == 3 and chain.estimator_ is not chain.estimator
    with pytest.raises(ConfigError, match="takes recordings"):
        chain.predict(np.zeros((3, 4, 20), dtype=np.float32))


# ---------------------------------------------------------------- determinism
@pytest.mark.parametrize("name", NAMES)
def test_fit_is_deterministic_and_idempotent(
    name: str, windows: Windows, recordings: RecordingSet
) -> None:
    X, y = _data(name, windows, recordings)
    a, b = CASES[name].make(), CASES[name].make()
    torch.manual_seed(1)
    np.random.seed(1)  # noqa: NPY002 - the legacy global RNG is what must not matter
    first = _outputs(a.fit(X, y), X)
    torch.manual_seed(2)  # the global RNGs play no part
    np.random.seed(2)  # noqa: NPY002
    _assert_same(first, _outputs(b.fit(X, y), X))
    # refitting forgets the previous fit, even one on other data
    if y is None:
        a.fit(RecordingSet(list(recordings)[::2]))
    else:
        a.fit(X[::3], y[::3])
    a.fit(X, y)
    _assert_same(first, _outputs(a, X))


@pytest.mark.parametrize("name", NAMES)
def test_fit_and_predict_leave_the_global_rngs_untouched(
    name: str, windows: Windows, recordings: RecordingSet
) -> None:
    X, y = _data(name, windows, recordings)
    torch.manual_seed(123)
    np.random.seed(123)  # noqa: NPY002 - the legacy global RNG must stay untouched
    random.seed(123)
    states = torch.get_rng_state(), _numpy_state(), random.getstate()
    est = CASES[name].make().fit(X, y)
    _outputs(est, X)
    assert torch.equal(torch.get_rng_state(), states[0])
    assert _numpy_state() == states[1]
    assert random.getstate() == states[2]


def _numpy_state() -> tuple[Any, ...]:
    """The legacy global NumPy RNG's state, comparable with ``==``."""
    kind, keys, *rest = np.random.get_state()  # noqa: NPY002
    return (kind, keys.tobytes(), *rest)


@pytest.mark.parametrize("name", NAMES)
def test_pickle_round_trip(name: str, windows: Windows, recordings: RecordingSet) -> None:
    X, y = _data(name, windows, recordings)
    est = CASES[name].make()
    copy = pickle.loads(pickle.dumps(est))
    assert joblib.hash(copy.get_params(deep=True)) == joblib.hash(est.get_params(deep=True))
    est.fit(X, y)
    _assert_same(_outputs(est, X), _outputs(pickle.loads(pickle.dumps(est)), X))


# ---------------------------------------------------------------- predictions
@pytest.mark.parametrize("name", NAMES)
def test_prediction_outputs(name: str, windows: Windows, recordings: RecordingSet) -> None:
    X, y = _data(name, windows, recordings)
    est = CASES[name].make().fit(X, y)
    out = _outputs(est, X)
    n = len(windows)
    if is_regressor(est):
        assert set(out) == {"predict"}  # no decision_function / predict_proba
        assert out["predict"].shape == (n,) and np.isfinite(out["predict"]).all()
        return
    classes = est.classes_ if hasattr(est, "classes_") else est.estimator_.classes_
    np.testing.assert_array_equal(classes, [0, 1, 2])
    assert out["predict"].shape == (n,) and set(out["predict"]) <= set(classes)
    assert (out["predict"] == windows.y).mean() > 0.6  # separable gestures
    if "predict_proba" in out:
        proba = out["predict_proba"]
        assert proba.shape == (n, 3)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
        np.testing.assert_array_equal(classes[proba.argmax(axis=1)], out["predict"])
    if "decision_function" in out:
        np.testing.assert_array_equal(
            classes[out["decision_function"].argmax(axis=1)], out["predict"]
        )


@pytest.mark.parametrize(
    "name", [n for n in WINDOW_CLASSIFIERS if hasattr(CASES[n].make(), "decision_function")]
)
def test_binary_decision_function(name: str, windows: Windows) -> None:
    """Two classes: ``decision_function`` is ``(n,)``, positive for ``classes_[1]``."""
    X, y = np.asarray(windows.X), windows.y
    keep = y > 0
    est = CASES[name].make().fit(X[keep], np.where(y[keep] == 2, "b", "a"))
    d = est.decision_function(X[keep])
    assert d.shape == (int(keep.sum()),)
    np.testing.assert_array_equal(np.where(d > 0, "b", "a"), est.predict(X[keep]))
    proba = est.predict_proba(X[keep])[:, 1]
    np.testing.assert_allclose(proba, 1 / (1 + np.exp(-d)), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_predictions_are_per_window(name: str, windows: Windows, recordings: RecordingSet) -> None:
    """A window's prediction depends on that window alone: not on order or batch."""
    X, y = _data(name, windows, recordings)
    est = CASES[name].make().fit(X, y)
    full = _outputs(est, X)
    if y is None:  # recordings: predicting each one alone gives the same windows
        parts = [_outputs(est, RecordingSet([r])) for r in recordings]
        _assert_same(full, {m: np.concatenate([p[m] for p in parts]) for m in full}, False)
        return
    perm = np.random.default_rng(0).permutation(len(X))
    _assert_same({m: v[perm] for m, v in full.items()}, _outputs(est, X[perm]), False)
    _assert_same({m: v[:7] for m, v in full.items()}, _outputs(est, X[:7]), False)


@pytest.mark.parametrize("name", NAMES)
def test_prediction_leaves_the_state_unchanged(
    name: str, windows: Windows, recordings: RecordingSet
) -> None:
    """Fitted on arrays, predicting (here on a `Windows` object) changes nothing."""
    X, y = _data(name, windows, recordings)
    est = CASES[name].make().fit(X, y)
    before = joblib.hash(vars(est))
    Xp = recordings if y is None else windows
    _outputs(est, Xp)
    if y is not None:
        est.score(X, y)
    assert joblib.hash(vars(est)) == before


# ---------------------------------------------------------------- inputs
@pytest.mark.parametrize("name", WINDOW_NAMES)
def test_input_forms_give_the_same_model(name: str, windows: Windows) -> None:
    """float64, F-ordered, read-only, object dtype and nested lists act as float32 arrays."""
    X, y = _data(name, windows, RecordingSet())
    est = CASES[name].make().fit(X, y)
    expected = _outputs(est, X)
    readonly = np.asfortranarray(X, dtype=np.float64)
    readonly.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: non-writable array
        for form in (readonly, X.astype(object), X.tolist()):
            _assert_same(expected, _outputs(est, form), exact=False)
        _assert_same(expected, _outputs(CASES[name].make().fit(readonly, y), X), exact=False)
    ints = np.round(X * 10).astype(np.int32)
    assert len(CASES[name].make().fit(ints, y).predict(ints)) == len(X)


@pytest.mark.parametrize("name", WINDOW_NAMES)
def test_bad_windows_are_refused(name: str, windows: Windows) -> None:
    X, y = _data(name, windows, RecordingSet())
    bad = X.copy()
    bad[5, 1, 3] = np.nan
    with pytest.raises(ShapeError, match="NaN or Inf"):
        CASES[name].make().fit(bad, y)
    bad[5, 1, 3] = np.inf
    with pytest.raises(ShapeError, match="NaN or Inf"):
        CASES[name].make().fit(bad, y)
    with pytest.raises(ShapeError, match="no windows"):
        CASES[name].make().fit(X[:0], y[:0])
    est = CASES[name].make().fit(X, y)
    with pytest.raises(ShapeError, match="NaN or Inf"):
        est.predict(bad)
    with pytest.raises(ShapeError, match="3-D"):
        est.predict(X[0])  # one window without its batch axis
    with pytest.raises(ShapeError, match="3-D"):
        est.predict(X.reshape(len(X), -1))  # a table


@pytest.mark.parametrize("name", WINDOW_NAMES)
def test_complex_windows_are_refused(name: str, windows: Windows) -> None:
    X, y = _data(name, windows, RecordingSet())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            CASES[name].make().fit(X + 1j, y)
        except ShapeError:
            return
    raise AssertionError("complex windows were accepted")


@pytest.mark.parametrize("name", NAMES)
def test_shape_mismatch_is_refused(name: str, windows: Windows, recordings: RecordingSet) -> None:
    X, y = _data(name, windows, recordings)
    est = CASES[name].make().fit(X, y)
    other = make_set(subjects=(3,), n_channels=3) if y is None else X[:, :3]
    with pytest.raises(ShapeError, match="channels"):
        est.predict(other)
    if name.startswith("Deep"):  # networks also fix the window length
        with pytest.raises(ShapeError, match=r"\(4, 18\)"):
            est.predict(X[:, :, :18])


# ---------------------------------------------------------------- targets
@pytest.mark.parametrize("name", WINDOW_CLASSIFIERS)
def test_classifier_labels(name: str, windows: Windows) -> None:
    X, y = np.asarray(windows.X), windows.y
    names = np.array(["rest", "fist", "open"])
    est = CASES[name].make().fit(X, names[y])
    np.testing.assert_array_equal(est.classes_, ["fist", "open", "rest"])
    assert set(est.predict(X)) <= set(names)
    with pytest.raises(ConfigError, match="at least 2 classes"):
        CASES[name].make().fit(X, np.zeros(len(X), dtype=int))
    with pytest.raises(ValueError, match="continuous|Unknown label type"):
        CASES[name].make().fit(X, y + np.linspace(0.01, 0.5, len(y)))
    with pytest.raises(ConfigError, match="y is required"):
        CASES[name].make().fit(X, None)
    with pytest.raises(ValueError, match="NaN"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy casting NaN to int
        CASES[name].make().fit(X, np.where(y == 1, np.nan, y))
    # a column of labels is refused (scikit-learn warns and ravels instead)
    with pytest.raises(ShapeError, match="1-D"):
        CASES[name].make().fit(X, y[:, None])


@pytest.mark.parametrize("name", WINDOW_REGRESSORS)
def test_regressor_targets(name: str, windows: Windows) -> None:
    X = np.asarray(windows.X)
    y2 = np.abs(X[:, :2]).mean(axis=2)  # two continuous targets per window
    y = y2[:, 0]
    assert CASES[name].make().fit(X, y).predict(X).shape == (len(X),)
    assert CASES[name].make().fit(X, y2).predict(X).shape == (len(X), 2)
    assert CASES[name].make().fit(X, y[:, None]).predict(X).shape == (len(X), 1)
    ints = np.round(y * 10)
    np.testing.assert_allclose(
        CASES[name].make().fit(X, ints.astype(np.int64)).predict(X),
        CASES[name].make().fit(X, ints).predict(X),
        rtol=1e-5,
    )
    with pytest.raises(ConfigError, match="y is required"):
        CASES[name].make().fit(X, None)
    with pytest.raises(ShapeError, match="NaN or Inf"):
        CASES[name].make().fit(X, np.where(y > 1.0, np.inf, y))


def test_class_weight_is_honoured(windows: Windows) -> None:
    """Nearly all loss weight on one class: the network predicts that class far more."""
    X, y = np.asarray(windows.X), windows.y
    params = {**TINY, "epochs": 4, "lr": 0.05, "val_fraction": 0.0}
    plain = DeepClassifier(**params).fit(X, y).predict(X)
    weighted = DeepClassifier(**params, class_weight={0: 1.0, 1: 1e-3, 2: 1e-3}).fit(X, y)
    assert (weighted.predict(X) == 0).mean() > (plain == 0).mean() + 0.2
