"""Data-parallel training with two CPU processes (gloo on 127.0.0.1)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from myoshift.errors import ConfigError
from myoshift.learn import DeepClassifier, distributed

from .conftest import register_tiny, separable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE="2",
        LOCAL_RANK=str(rank),
        LOCAL_WORLD_SIZE="2",
    )
    register_tiny()  # a spawned process does not run the pytest fixtures
    info = distributed.init_from_env("gloo")
    assert info.world_size == 2 and info.rank == rank and info.device == "cpu"
    try:
        X, y, g = separable(n_per_class=24)
        clf = DeepClassifier(model="test-tiny", epochs=2, batch_size=8, threads=1, seed=3)
        clf.fit(X, y, g)
        state = {k: v.contiguous() for k, v in clf.net_.state_dict().items()}
        save_file(state, str(Path(out) / f"rank{rank}.safetensors"))
    finally:
        distributed.cleanup()


@pytest.mark.slow
def test_two_cpu_processes_end_with_identical_weights(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True)
    a = load_file(str(tmp_path / "rank0.safetensors"))
    b = load_file(str(tmp_path / "rank1.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # and training moved the weights away from their initialisation
    torch.manual_seed(3)
    init = DeepClassifier(model="test-tiny")._build(4, 32, 3).state_dict()
    assert not torch.equal(init["model.conv.weight"], a["model.conv.weight"])


def test_init_from_env_without_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(ConfigError, match="torchrun"):
        distributed.init_from_env()
    assert not distributed.is_distributed() and distributed.info().world_size == 1
