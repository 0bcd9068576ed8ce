"""The estimator registry and the signature of estimators that forward ``**kwargs``."""

from __future__ import annotations

import inspect
from typing import Any

from sklearn.base import BaseEstimator, clone

from myoshift.learn import ContrastiveEncoder, DeepClassifier, MultiTaskEstimator
from myoshift.learn.registry import keyword_init, keyword_signature


class _Base(BaseEstimator):
    def __init__(self, a: int = 1, b: str = "x") -> None:
        self.a, self.b = a, b


@keyword_init
class _Child(_Base):
    def __init__(self, *, c: float = 0.5, a: int = 2, **kwargs: Any) -> None:
        super().__init__(a=a, **kwargs)
        self.c = c


def test_keyword_signature_joins_own_and_base_parameters_keyword_only() -> None:
    params = keyword_signature(_Child).parameters
    assert list(params) == ["self", "c", "a", "b"]
    assert params["a"].default == 2 and params["b"].default == "x"  # own default first
    assert all(p.kind is p.KEYWORD_ONLY for n, p in params.items() if n != "self")
    est = _Child(b="y", c=1.0)
    assert est.get_params() == {"a": 2, "b": "y", "c": 1.0}
    assert clone(est).get_params() == est.get_params()


def test_forwarding_estimators_show_every_deep_parameter() -> None:
    deep = set(inspect.signature(DeepClassifier).parameters)
    for cls in (ContrastiveEncoder, MultiTaskEstimator):
        assert deep < set(inspect.signature(cls).parameters)
