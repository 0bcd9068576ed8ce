"""Backends: serial, loky and Dask map the same calls to the same results; errors surface."""

from __future__ import annotations

import inspect
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from myoshift.errors import ConfigError
from myoshift.evaluation import run_benchmark
from myoshift.evaluation.backends import (
    Backend,
    DaskBackend,
    LocalBackend,
    SerialBackend,
    WorkerLostError,
    get_backend,
    validate_backend,
)
from myoshift.evaluation.results import RESOURCE_METRICS
from myoshift.recording import RecordingSet

# toy calls use builtins, so worker processes need not import this module
SQUARES = [(i, 2) for i in range(8)]


def _dask_workers() -> list[Any]:
    return [p for p in multiprocessing.active_children() if "Dask Worker" in p.name]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A two-process local Dask cluster; a worker death fails its task at once."""
    distributed = pytest.importorskip("distributed")
    before = {p.pid for p in _dask_workers()}
    lc = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"allowed_failures": 0, "dashboard_address": "127.0.0.1:0"},
    )
    try:
        yield lc.scheduler_address
    finally:
        lc.close()
    assert {p.pid for p in _dask_workers()} <= before, "a Dask worker outlived its cluster"


@pytest.fixture(params=["serial", "local", "dask"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "serial":
        b: Backend = SerialBackend()
    elif request.param == "local":
        b = LocalBackend(n_jobs=2, threads_per_worker=1)
    else:
        b = DaskBackend(request.getfixturevalue("cluster"))
    with b:
        yield b


# -- every backend -----------------------------------------------------------------------
def test_maps_every_call(backend: Backend) -> None:
    assert sorted(backend.map_unordered(pow, SQUARES)) == [i * i for i in range(8)]
    assert list(backend.map_unordered(pow, [])) == []
    assert backend.n_workers >= 1 and backend.describe()


def test_exception_in_a_call_propagates(backend: Backend) -> None:
    with pytest.raises(ValueError, match="invalid literal for int"):
        list(backend.map_unordered(int, [("1",), ("2",), ("three",), ("4",)]))


def test_get_backend_names_and_bad_options() -> None:
    assert isinstance(get_backend("local"), SerialBackend)
    local = get_backend("local", n_jobs=3, threads=2)
    assert isinstance(local, LocalBackend) and local.n_workers == 3
    assert local.describe() == "local: 3 processes x 2 threads"
    with pytest.raises(ConfigError, match="--backend: unknown backend 'ray'; valid: local, dask"):
        get_backend("ray")
    with pytest.raises(ConfigError, match="--scheduler 'tcp://h:1' needs --backend dask"):
        validate_backend("local", "tcp://h:1")
    with pytest.raises(ConfigError, match="--n-jobs must be -1"):
        get_backend("local", n_jobs=-3)


def test_cli_rejects_scheduler_without_dask(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from myoshift.cli.main import main

    rc = main(["benchmark", "--scheduler", "tcp://h:1", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "--scheduler 'tcp://h:1' needs --backend dask" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "runs").exists()


def test_missing_dask_extra_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    with pytest.raises(ConfigError, match=r"pip install 'myoshift\[dask\]'"):
        get_backend("dask", scheduler="tcp://127.0.0.1:8786")


def test_unreachable_scheduler_is_a_config_error() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(
        ConfigError, match="--scheduler 'tcp://127.0.0.1:9': cannot connect to a Dask scheduler"
    ):
        DaskBackend("tcp://127.0.0.1:9", timeout=0.5)


# -- crashed workers and early stops -------------------------------------------------------
def test_dead_local_worker_is_reported() -> None:
    with LocalBackend(n_jobs=2, threads_per_worker=1) as b:
        with pytest.raises(WorkerLostError, match="local worker process died"):
            list(b.map_unordered(os._exit, [(3,)]))  # no exception: the process is gone
        assert sorted(b.map_unordered(pow, SQUARES)) == [i * i for i in range(8)]


def test_dead_dask_worker_is_reported(cluster: str) -> None:
    with DaskBackend(cluster) as b:
        with pytest.raises(WorkerLostError, match="dask workers died"):
            list(b.map_unordered(os._exit, [(3,)]))
        assert sorted(b.map_unordered(pow, SQUARES)) == [i * i for i in range(8)]  # restarted


def test_dask_early_stop_cancels_the_rest(cluster: str) -> None:
    from distributed import Client

    with DaskBackend(cluster, max_pending=3) as b:
        results = b.map_unordered(time.sleep, [(0.3,)] * 12)
        assert next(results) is None
        results.close()  # type: ignore[attr-defined]
    with Client(cluster, set_as_default=False) as probe:
        deadline = time.monotonic() + 5
        while probe.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)):
            assert time.monotonic() < deadline, "tasks left on the scheduler"
            time.sleep(0.05)


def test_dask_own_local_cluster_is_closed() -> None:
    pytest.importorskip("distributed")
    before = {p.pid for p in _dask_workers()}
    with get_backend("dask", n_jobs=1, threads=1) as b:
        assert b.describe().startswith("dask: local cluster tcp://") and b.n_workers == 1
        assert sorted(b.map_unordered(pow, SQUARES)) == [i * i for i in range(8)]
    assert {p.pid for p in _dask_workers()} <= before


# -- the benchmark on Dask -------------------------------------------------------------
@pytest.fixture(scope="module")
def small_set() -> RecordingSet:
    from myoshift.datasets import get_dataset

    ds = get_dataset("synthetic", n_subjects=3, n_sessions=1, n_repetitions=3)
    return ds.load()


@pytest.mark.skipif(
    "backend" not in inspect.signature(run_benchmark).parameters,
    reason="run_benchmark has no backend parameter yet",
)
def test_benchmark_on_dask_matches_local(
    small_set: RecordingSet, cluster: str, tmp_path: Path
) -> None:
    def results(backend: str, **kw: Any) -> pd.DataFrame:
        out = tmp_path / backend
        res = run_benchmark(
            small_set,
            "loso",
            ["lda-td"],
            calibration=[0, 1],
            out_dir=out,
            write_report=False,
            show_progress=False,
            backend=backend,
            **kw,
        )
        assert res.n_failed == 0 and res.n_computed == 6
        df = pd.read_csv(out / "results.csv")
        df = df[~df["metric"].isin(RESOURCE_METRICS)]
        order = ["fold", "calibration", "seed", "condition", "subject", "metric"]
        return df.sort_values(order).reset_index(drop=True)

    local = results("local")
    on_dask = results("dask", scheduler=cluster)
    assert {"accuracy", "f1_macro"} <= set(local["metric"])
    pd.testing.assert_frame_equal(on_dask, local, check_exact=True)
    assert len(list((tmp_path / "dask" / "runs").rglob("*.json"))) == 6  # workers wrote them
