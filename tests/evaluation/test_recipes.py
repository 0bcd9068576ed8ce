"""`Method.cache_params`: the cache key follows every method a method is built from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from myoshift.evaluation.recipes import Method, resolve_method
from myoshift.learn.ensemble import ProbabilityEnsemble
from myoshift.learn.methods import get_method, method_names
from myoshift.learn.registry import estimator_names, get_estimator_class


def _key(name: str, overrides: dict[str, object] | None = None) -> str:
    return json.dumps(resolve_method(name, overrides).cache_params([]), sort_keys=True)


def test_keys_of_methods_built_from_no_other_method_are_unchanged() -> None:
    """Byte for byte the key of before: params plus the preprocessing (and steps)."""
    ensembles = [
        n for n in estimator_names() if issubclass(get_estimator_class(n), ProbabilityEnsemble)
    ]
    built_from_others = {"EmbeddingClassifier", *ensembles}
    for name in method_names():
        method = resolve_method(name)
        key = method.cache_params([])
        assert ("referenced_methods" in key) == (method.params["estimator"] in built_from_others)
        if "referenced_methods" in key:
            continue
        old = {**method.params, "preprocess": []}
        if method.represent:
            old["represent"] = method.represent
        if method.aux:
            old["aux"] = list(method.aux)
        assert json.dumps(key) == json.dumps(old), name
    assert resolve_method("lda-td").cache_params([]) == {
        "estimator": "ClassicalClassifier",
        "params": {"classifier": "lda", "features": "hudgins-td"},
        "adapt": {"mode": "pooled", "weight": 0.75},
        "overrides": {},
        "preprocess": [],
    }


def test_a_members_recipe_is_part_of_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Editing tcn-transfer changes the keys of the methods built from it (a ``deep``
    network, an ensemble member, recursively) and of no other."""
    hybrid = "kind: classical\nestimator: EmbeddingClassifier\ncitation: c\nwindow_ms: 200\n"
    (tmp_path / "emb.yaml").write_text(f"name: emb\n{hybrid}params: {{deep: tcn-transfer}}\n")
    (tmp_path / "ens.yaml").write_text(
        "name: ens\nkind: ensemble\nestimator: ProbabilityEnsemble\ncitation: c\n"
        "window_ms: 200\nparams:\n  members: [{method: emb}, {method: lda-td}]\n"
    )
    monkeypatch.setenv("MYOSHIFT_METHODS_DIR", str(tmp_path))
    names = ["tcn-embed-lda", "tcn-lda-ensemble", "soft-vote-fitted", "ens", "lda-td", "tcn"]
    before = {n: _key(n) for n in names}
    assert before == {n: _key(n) for n in names}  # stable
    key = resolve_method("tcn-embed-lda").cache_params([])
    assert key["referenced_methods"]["tcn-transfer"]["params"] == get_method("tcn-transfer").params
    assert "citation" not in key["referenced_methods"]["tcn-transfer"]

    spec = get_method("tcn-transfer").to_dict()
    spec["params"] = {**spec["params"], "epochs": spec["params"].get("epochs", 30) + 1}
    (tmp_path / "tcn-transfer.yaml").write_text(json.dumps(spec))  # JSON is YAML
    after = {n: _key(n) for n in names}
    changed = sorted(n for n in names if after[n] != before[n])
    assert changed == ["ens", "soft-vote-fitted", "tcn-embed-lda", "tcn-lda-ensemble"]


def test_an_overridden_deep_network_is_the_one_in_the_key() -> None:
    key = resolve_method("tcn-embed-lda", {"deep": "tcn"}).cache_params([])
    assert list(key["referenced_methods"]) == ["tcn"]


def test_a_method_of_ones_own_has_no_referenced_methods() -> None:
    params = {"estimator": "EmbeddingClassifier", "note": "mine"}
    method = Method("mine", lambda fs, seed: None, 200, 25, params, preprocess=[])
    assert method.cache_params([]) == {**params, "preprocess": []}
    free = Method("free", lambda fs, seed: None, params={"estimator": "Mine", "params": {}})
    assert "referenced_methods" not in free.cache_params([])
