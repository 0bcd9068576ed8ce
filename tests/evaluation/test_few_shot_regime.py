"""The few-shot regime: same episodes for every method, episode means, intervals, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from myoshift.cli.main import main
from myoshift.datasets.synthetic import SyntheticDataset
from myoshift.errors import ConfigError
from myoshift.evaluation import Method, get_protocol, get_regime, run_benchmark
from myoshift.evaluation.few_shot import fold_spec
from myoshift.evaluation.few_shot_episodes import sample_episodes
from myoshift.evaluation.few_shot_regime import FewShotRegime, _pool
from myoshift.evaluation.tables import main_table
from myoshift.signal.windows import Windows
from tests.evaluation.helpers import CentroidClassifier, build_centroid, log_rms, make_set

#: what the spy estimators saw: (tag, fold subject, classes fitted or episode seen)
SEEN: list[tuple[Any, ...]] = []


class Spy(CentroidClassifier):
    """Records the classes it is fitted on and every episode it is given."""

    def __init__(self, tag: str = "", fs: float = 100.0, seed: int = 0) -> None:
        super().__init__(fs, seed)
        self.tag = tag

    def fit(self, X: Any, y: Any) -> Spy:
        SEEN.append((self.tag, "fit", tuple(np.unique(y))))
        return super().fit(X, y)

    def few_shot(self, support: Windows, query: Windows) -> np.ndarray:
        rec = tuple(support.meta["recording"])
        starts = (tuple(support.meta["start"]), tuple(query.meta["start"]))
        SEEN.append((self.tag, "episode", tuple(np.unique(support.y)), rec, starts))
        model = CentroidClassifier().fit(support, support.y)
        return model.predict(query)


class Embedder(CentroidClassifier):
    def embed(self, X: Any) -> np.ndarray:
        return log_rms(X)


def _spy(tag: str, window_ms: float = 200, step_ms: float = 100) -> Method:
    return Method(tag, lambda fs, seed: Spy(tag, fs, seed), window_ms, step_ms)


@pytest.fixture
def people() -> Any:
    return make_set(subjects=(1, 2, 3), reps=3, classes=5)


def test_every_method_sees_the_same_episodes(people: Any) -> None:
    SEEN.clear()
    methods = [_spy("a"), _spy("b"), _spy("c", 150, 50)]
    res = run_benchmark(people, "few-shot:3,2,episodes=6", methods, show_progress=False)
    assert res.n_failed == 0
    eps = {t: [s[2:] for s in SEEN if s[0] == t and s[1] == "episode"] for t in "abc"}
    assert len(eps["a"]) == 18 and eps["a"] == eps["b"]  # 3 people x 6 episodes
    # another windowing: the same classes and support repetitions (files), other windows
    assert [e[:2] for e in eps["a"]] == [e[:2] for e in eps["c"]]
    assert [e[2] for e in eps["a"]] != [e[2] for e in eps["c"]]
    assert len({e[0] for e in eps["a"]}) > 1  # episodes draw different classes


def test_fold_accuracy_is_the_episode_mean(people: Any) -> None:
    method = Method("centroid", build_centroid, 200, 100)
    folds = get_protocol("few-shot:3,2,episodes=5").split(people)
    regime = get_regime("few-shot")
    chain = regime.prepare(method, folds[:1], seed=4)
    out = regime.run_fold(method, chain, folds[0], seed=4, vote=5)
    w = chain.windows(folds[0].test)
    episodes = sample_episodes(_pool(folds[0], w), fold_spec(folds[0]), 4, "1")
    accs = [
        np.mean(chain.few_shot(w.subset(e.support), w.subset(e.query)) == w.y[e.query])
        for e in episodes
    ]
    cond = out.conditions[""]
    assert cond["accuracy"] == pytest.approx(np.mean(accs))
    assert cond["accuracy_sd"] == pytest.approx(np.std(accs, ddof=1))
    assert cond["n_episodes"] == 5 and cond["support_seconds"] > 0
    assert out.info["few_shot_route"] == "adapt" and "nearest-mean" not in out.conditions


def test_nearest_mean_condition_for_estimators_with_embed(people: Any, tmp_path: Path) -> None:
    method = Method("embedder", lambda fs, seed: Embedder(fs, seed), 200, 100)
    plain = Method("centroid", build_centroid, 200, 100)
    res = run_benchmark(
        people, "few-shot:3,2,episodes=4", [method, plain], out_dir=tmp_path, show_progress=False
    )
    by_method = {r["key"]["method"]: set(r["conditions"]) for r in res.records}
    assert by_method == {"embedder": {"", "nearest-mean"}, "centroid": {""}}
    tests = json.loads((tmp_path / "summary.json").read_text())["wilcoxon"]
    assert [t["condition"] for t in tests] == [""]  # only the condition both methods have
    res2 = run_benchmark(
        people,
        "few-shot:3,2,episodes=4",
        [method],
        regime=FewShotRegime(nearest_mean=False),
        show_progress=False,
    )
    assert set(res2.records[0]["conditions"]) == {""}
    assert FewShotRegime(False).params() != FewShotRegime().params()  # cache key


def test_novel_classes_are_absent_from_training(people: Any) -> None:
    SEEN.clear()
    res = run_benchmark(people, "few-shot:2,2,episodes=3,novel", [_spy("n")], show_progress=False)
    assert res.n_failed == 0
    novel = set(res.records[0]["info"]["novel_classes"])
    fitted = {c for s in SEEN if s[1] == "fit" for c in s[2]}
    seen = {c for s in SEEN if s[1] == "episode" for c in s[2]}
    assert novel and not fitted & novel and seen <= novel


def test_end_to_end_lda_and_the_table(tmp_path: Path) -> None:
    rs = SyntheticDataset(n_subjects=4, n_sessions=1, n_repetitions=3, rep_seconds=0.8).load()
    res = run_benchmark(
        rs,
        "few-shot:3,2,episodes=5",
        ["lda-td"],
        overrides={"lda-td": {"adapt_mode": "target"}},
        out_dir=tmp_path,
        show_progress=False,
    )
    assert res.n_failed == 0 and res.meta["regime"] == "few-shot"
    assert {r["info"]["few_shot_route"] for r in res.records} == {"refit"}
    table = main_table(res)
    assert table["95% CI"].iloc[0].endswith("(people)") and float(table["support s"].iloc[0]) > 0
    metrics = set(res.results["metric"])
    assert {"accuracy_ci95", "support_seconds", "n_episodes"} <= metrics
    assert "few-shot:3,2,episodes=5" in (tmp_path / "report.html").read_text()


def test_refusals(people: Any) -> None:
    method = Method("centroid", build_centroid, 200, 100)
    with pytest.raises(ConfigError, match="has no few-shot episodes; use --protocol few-shot"):
        run_benchmark(people, "loso", [method], regime="few-shot", show_progress=False)
    res = run_benchmark(people, "few-shot:3,40", [method], show_progress=False)
    assert res.n_failed == 3
    assert "K=40 support windows from one repetition" in res.records[0]["error"]
    glove = Method("glove", build_centroid, 200, 100, target="glove")
    folds = get_protocol("few-shot:3,2").split(people)
    with pytest.raises(ConfigError, match="classifies; method 'glove' predicts 'glove'"):
        get_regime("few-shot").prepare(glove, folds, 0)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["benchmark", "--protocol", "few-shot:3,2,episodes=3", "--methods", "lda-td"]
    argv += ["--set", "lda-td.adapt_mode=target", "--subjects", "1", "4", "--n-jobs", "1"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "few-shot:3,2,episodes=3" in out and "95% CI" in out and "support s" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["regime"] == "few-shot" and summary["protocol"] == "few-shot:3,2,episodes=3"
    assert [f["fold"] for f in summary["folds"]] == ["4"]  # the predefined split's target
