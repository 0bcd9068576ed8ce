"""Training tasks: the loop/task split, the registry, named inputs, lazy arrays, pins."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from myoshift.errors import ConfigError, ShapeError
from myoshift.learn import DeepClassifier
from myoshift.learn.tasks import (
    Batch,
    EpochPlan,
    SupervisedTask,
    TrainingTask,
    get_task,
    predict_batches,
    register_task,
    shuffled_batches,
    task_names,
)
from myoshift.learn.tasks import registry as task_registry
from myoshift.learn.trainer import TrainConfig, Trainer
from myoshift.models import build_model

from .conftest import separable


class Killed(Exception):
    pass


def _digest(net: nn.Module) -> str:
    d = hashlib.sha256()
    for k, v in sorted(net.state_dict().items()):
        d.update(k.encode())
        d.update(v.detach().cpu().numpy().tobytes())
    return d.hexdigest()[:16]


def _weights(net: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in net.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _tiny(n_out: int = 3) -> nn.Module:
    torch.manual_seed(0)
    return build_model("test-tiny", 4, 32, n_out)


# ---------------------------------------------------------------------- bit-identical pins
def test_pinned_weights_match_the_dataloader_trainer() -> None:
    """Hashes of the weights the DataLoader-based trainer gave for the same seeds."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((240, 8, 50)).astype(np.float32)
    y = np.repeat(np.arange(4), 60)
    X[np.arange(240), y, :] += 1.0
    groups = np.tile(np.repeat(np.arange(1, 7), 10), 4)
    clf = DeepClassifier(model="tcn", epochs=3, batch_size=32, seed=3, threads=1)
    clf.fit(X, y, groups=groups)
    assert _digest(clf.net_) == "cff05e1080b25e98"
    torch.manual_seed(0)
    net = build_model("tcn", 8, 50, 4)
    Trainer(TrainConfig(epochs=2, batch_size=32, seed=1, threads=1)).fit(net, X, y)
    assert _digest(net) == "a32db83310fd5136"


def _plan(epoch: int, bs: int, seed: int, rank: int = 0, world: int = 1) -> EpochPlan:
    gen = torch.Generator().manual_seed(seed)
    return EpochPlan(epoch, bs, gen, np.random.default_rng(0), rank, world, shard_seed=seed)


@pytest.mark.parametrize(("n", "bs"), [(17, 16), (33, 8), (64, 16), (5, 8)])
def test_shuffled_batches_draw_like_the_dataloader(n: int, bs: int) -> None:
    drop_last = n > 1 and n % bs == 1
    gen = torch.Generator().manual_seed(11)
    ds = TensorDataset(torch.arange(n))
    loader = DataLoader(ds, batch_size=bs, shuffle=True, generator=gen, drop_last=drop_last)
    expected = [b[0].tolist() for b in loader]
    assert [b.tolist() for b in shuffled_batches(n, _plan(0, bs, 11))] == expected
    assert all(b.dtype == np.int64 for b in shuffled_batches(n, _plan(0, bs, 11)))


@pytest.mark.parametrize(("n", "bs", "world"), [(17, 4, 2), (10, 3, 3), (2, 8, 4)])
def test_shuffled_batches_shard_like_the_distributed_sampler(n: int, bs: int, world: int) -> None:
    per_rank = -(-n // world)
    drop_last = per_rank > 1 and per_rank % bs == 1
    for rank in range(world):
        sampler = DistributedSampler(
            TensorDataset(torch.arange(n)), num_replicas=world, rank=rank, seed=7
        )
        sampler.set_epoch(3)
        loader = DataLoader(
            TensorDataset(torch.arange(n)), batch_size=bs, sampler=sampler, drop_last=drop_last
        )
        torch.manual_seed(1)
        expected = [b[0].tolist() for b in loader]
        after_loader = torch.rand(2)  # the loader drew a seed from the global RNG
        torch.manual_seed(1)
        got = [b.tolist() for b in shuffled_batches(n, _plan(3, bs, 7, rank, world))]
        assert got == expected
        assert torch.equal(torch.rand(2), after_loader)


# ---------------------------------------------------------------------- registry
def test_registry_names_and_errors() -> None:
    assert "supervised" in task_names()
    assert get_task("supervised") is SupervisedTask
    with pytest.raises(
        ConfigError, match=r"unknown training task 'nope'; valid names: .*supervised"
    ):
        get_task("nope")

    class Impostor(SupervisedTask):
        name = "supervised"

    with pytest.raises(ConfigError, match="registered twice"):
        register_task(Impostor)

    class Nameless(SupervisedTask):
        name = ""

    with pytest.raises(ConfigError, match="no name"):
        register_task(Nameless)
    assert get_task("supervised") is SupervisedTask


# ---------------------------------------------------------------------- a new regime
@register_task
class DenoiseTask(TrainingTask):
    """A regime the trainer has never heard of: reconstruct clean windows from noisy ones."""

    name = "test-denoise"

    def __init__(self, X: np.ndarray, X_val: np.ndarray, noise: float = 0.5) -> None:
        self.X, self.X_val, self.noise = X, X_val, noise
        val_noise = np.random.default_rng(99).standard_normal(X_val.shape).astype(np.float32)
        self.noisy_val = X_val + noise * val_noise

    @property
    def n_items(self) -> int:
        return len(self.X)

    def batches(self, plan: EpochPlan) -> Iterator[Batch]:
        for idx in shuffled_batches(len(self.X), plan):
            clean = self.X[idx]
            noisy = clean + self.noise * plan.rng.standard_normal(clean.shape).astype(np.float32)
            yield {"emg": torch.from_numpy(noisy), "clean": torch.from_numpy(clean)}

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return F.mse_loss(model(batch["emg"]), batch["clean"])

    def validate(
        self, net: nn.Module, *, batch_size: int, device: str | torch.device
    ) -> dict[str, float]:
        net.eval()
        out = predict_batches(net, self.noisy_val, batch_size, device)
        return {"val_loss": float(F.mse_loss(out, torch.from_numpy(self.X_val)).item())}

    def fingerprint(self) -> list[Any]:
        return [self.name, self.X, self.X_val, self.noise]


@pytest.fixture(scope="module", autouse=True)
def _unregister_toy() -> Iterator[None]:
    yield
    task_registry._TASKS.pop(DenoiseTask.name, None)


def _denoiser() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv1d(4, 8, 5, padding=2), nn.ReLU(), nn.Dropout(0.1), nn.Conv1d(8, 4, 1)
    )


def test_new_task_trains_and_resumes_through_run(tmp_path: Path) -> None:
    X, _, _ = separable()
    task = get_task("test-denoise")(X[::2], X[1::2])  # type: ignore[call-arg]
    cfg = dict(epochs=4, batch_size=16, lr=5e-3, threads=1, patience=None)
    full = _denoiser()
    res_full = Trainer(TrainConfig(**cfg)).run(full, task)
    assert res_full.history[-1]["val_loss"] < res_full.history[0]["val_loss"]

    def kill(epoch: int, record: dict[str, float]) -> None:
        if epoch == 1:
            raise Killed

    ckpt = tmp_path / "ckpt"
    with pytest.raises(Killed):
        Trainer(TrainConfig(**cfg, checkpoint_dir=ckpt), callbacks=[kill]).run(_denoiser(), task)
    assert json.loads((ckpt / "state.json").read_text())["epoch"] == 2
    resumed = _denoiser()
    res = Trainer(TrainConfig(**cfg, checkpoint_dir=ckpt)).run(resumed, task)
    assert res.resumed_from == 2 and res.history == res_full.history
    assert _same(_weights(resumed), _weights(full))
    # the task's fingerprint guards the checkpoint: other noise is another run
    other = DenoiseTask(X[::2], X[1::2], noise=0.6)
    with pytest.raises(ConfigError, match="another run"):
        Trainer(TrainConfig(**cfg, checkpoint_dir=ckpt)).run(_denoiser(), other)


def test_validate_without_val_loss_is_refused() -> None:
    X, _, _ = separable(n_per_class=8)

    class NoLoss(DenoiseTask):
        def validate(self, net: nn.Module, **kw: Any) -> dict[str, float]:
            return {"val_mse": 0.0}

    with pytest.raises(ConfigError, match="validate returned no 'val_loss'"):
        Trainer(TrainConfig(epochs=1, threads=1)).run(_denoiser(), NoLoss(X, X))


# ---------------------------------------------------------------------- named inputs
class TwoInputNet(nn.Module):
    """EMG and IMU branches joined before the head; records what it was called with."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.emg = nn.Conv1d(4, 6, 5, padding=2)
        self.imu = nn.Linear(3 * 8, 6)
        self.head = nn.Linear(12, 3)
        self.seen: list[tuple[str, ...]] = []

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        self.seen.append(tuple(sorted(inputs)))
        e = torch.relu(self.emg(inputs["emg"])).mean(dim=2)
        i = torch.relu(self.imu(inputs["imu"].flatten(1)))
        return self.head(torch.cat([e, i], dim=1))


def _two_inputs(n_per_class: int = 20) -> tuple[dict[str, np.ndarray], np.ndarray]:
    X, y, _ = separable(n_per_class=n_per_class)
    rng = np.random.default_rng(5)
    imu = rng.standard_normal((len(y), 3, 8)).astype(np.float32)
    imu[np.arange(len(y)), y, :] += 2.0  # the IMU alone also tells the classes apart
    return {"emg": X, "imu": imu}, y


def test_two_named_inputs_reach_the_network_as_a_dict() -> None:
    inputs, y = _two_inputs()
    net = TwoInputNet()
    train = {k: v[::2] for k, v in inputs.items()}
    val = {k: v[1::2] for k, v in inputs.items()}
    cfg = TrainConfig(epochs=4, batch_size=16, lr=1e-2, threads=1, patience=None)
    res = Trainer(cfg).fit(net, train, y[::2], val, y[1::2])
    assert set(net.seen) == {("emg", "imu")}
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]
    assert res.history[-1]["val_acc"] > 0.8
    net.eval()
    assert predict_batches(net, val, 7, "cpu").shape == (len(y[1::2]), 3)


def test_a_mapping_with_only_emg_is_the_plain_array() -> None:
    X, y, _ = separable(n_per_class=12)
    cfg = TrainConfig(epochs=2, batch_size=8, threads=1)
    a, b = _tiny(), _tiny()
    hist_a = Trainer(cfg).fit(a, X, y).history
    hist_b = Trainer(cfg).fit(b, {"emg": X}, y).history
    assert hist_a == hist_b and _same(_weights(a), _weights(b))


def test_bad_named_inputs_are_refused() -> None:
    inputs, y = _two_inputs(n_per_class=4)
    with pytest.raises(ShapeError, match=r"X: inputs differ in length .*'imu': 11"):
        SupervisedTask({"emg": inputs["emg"], "imu": inputs["imu"][:-1]}, y)
    with pytest.raises(ConfigError, match="input name 'target' is not allowed"):
        SupervisedTask({"emg": inputs["emg"], "target": inputs["imu"]}, y)
    with pytest.raises(ShapeError, match="y has 11 entries but X has 12 windows"):
        SupervisedTask(inputs, y[:-1])
    with pytest.raises(ConfigError, match=r"X_val has inputs \['emg'\] but X has"):
        SupervisedTask(inputs, y, {"emg": inputs["emg"]}, y)
    with pytest.raises(ConfigError, match="label_smoothing"):
        SupervisedTask(inputs, y, label_smoothing=1.0)
    with pytest.raises(ConfigError, match="augment needs an input named 'emg'"):
        SupervisedTask({"imu": inputs["imu"]}, y, augment=lambda X, y, rng: (X, y))
    bad = dict(inputs, imu=inputs["imu"].copy())
    bad["imu"][5, 0, 0] = np.inf
    with pytest.raises(ShapeError, match=r"NaN or Inf in input 'imu' \(training windows \[5\]\)"):
        Trainer(TrainConfig(epochs=1, threads=1)).fit(TwoInputNet(), bad, y)


def test_augment_sees_float_emg_and_may_not_desync_other_inputs() -> None:
    inputs, y = _two_inputs(n_per_class=8)
    calls: list[tuple[Any, Any, int]] = []

    def record(X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> Any:
        calls.append((X.dtype, y.dtype, len(X)))
        return X * rng.uniform(0.9, 1.1), y

    Trainer(TrainConfig(epochs=1, batch_size=8, threads=1)).fit(
        TwoInputNet(), inputs, y, augment=record
    )
    assert calls and all(c[:2] == (np.float32, np.int64) for c in calls)
    with pytest.raises(ShapeError, match="augment returned 4 windows and 4 targets"):
        Trainer(TrainConfig(epochs=1, batch_size=8, threads=1)).fit(
            TwoInputNet(), inputs, y, augment=lambda X, y, rng: (X[:4], y[:4])
        )


# ---------------------------------------------------------------------- lazy arrays
class LazyRows:
    """An array-like that hands out rows on request and refuses to be loaded whole."""

    def __init__(self, data: np.ndarray) -> None:
        self._data = data
        self.shape = data.shape
        self.dtype = data.dtype
        self.requests: list[int] = []

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, key: Any) -> np.ndarray:
        out = self._data[key]
        self.requests.append(len(out))
        return out.copy()

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise AssertionError("the whole lazy array was materialised")


def test_lazy_arrays_train_batch_by_batch_like_numpy(tmp_path: Path) -> None:
    X, y, _ = separable()
    cfg = dict(epochs=3, batch_size=16, lr=5e-3, threads=1, patience=None)
    eager = _tiny()
    Trainer(TrainConfig(**cfg, checkpoint_dir=tmp_path / "a")).fit(eager, X, y, X[::5], y[::5])
    lazy_X, lazy_val = LazyRows(X), LazyRows(X[::5])
    lazy = _tiny()
    Trainer(TrainConfig(**cfg, checkpoint_dir=tmp_path / "b")).fit(
        lazy, lazy_X, y, lazy_val, y[::5]
    )
    assert _same(_weights(lazy), _weights(eager))
    assert lazy_X.requests.count(16) >= 3 * 7  # cut batch by batch
    # the checkpoint fingerprint hashes the lazy rows exactly like the numpy array
    fps = [json.loads((tmp_path / d / "state.json").read_text())["fingerprint"] for d in "ab"]
    assert fps[0] == fps[1]
    net = _tiny()
    net.eval()
    assert torch.equal(
        predict_batches(net, LazyRows(X), 50, "cpu"), predict_batches(net, X, 50, "cpu")
    )
