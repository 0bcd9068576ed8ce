"""Per-decision latency on one core: torch eager vs ONNX float vs ONNX int8, every model.

Usage::

    python benchmarks/realtime_latency.py [--data-dir DIR] [--decisions 2000] [--cpu 0]
        [--models tcn,lda-td] [--json results.json]

For every registered architecture (its default hyper-parameters, and ``tcn-transfer``'s
width-16 TCN) and for ``lda-td`` (Hudgins TD + LDA): a chain is fitted briefly (one
epoch; latency does not depend on the weights, but batch-norm statistics and the int8
calibration should come from real data) on 8-channel 200 Hz windows of the model's
recipe length, every 25 ms; the libemg-onesubject recordings when present, else
synthetic ones. It is exported to ONNX float and int8 (`myoshift.realtime.export`) and
each path decides one window at a time (batch 1) on one core: the process is pinned to
CPU ``--cpu``, torch runs one thread and onnxruntime one intra-op thread. Reported per
path: p50 and p99 latency per decision over ``--decisions`` decisions (after warm-up),
file sizes, and for ``lda-td`` and the TCNs the number of concurrent 8-channel 200 Hz
streams one core sustains in real time: decisions per second (1 / mean latency) over the
40 decisions per second a stream needs at a 25 ms step, at batch 1 and with the windows
of 64 streams decided in one call (from the thread CPU time, see `percentiles`: the
capacity of the core, not what other processes on a shared machine left of it).
``lda-td``'s "eager" path is the NumPy features +
scikit-learn pipeline (``predict_proba`` on one window).

int8 accuracy next to float::

    python benchmarks/realtime_latency.py --accuracy RESULTS_DIR [--data-dir DIR]

takes the models a benchmark saved (``myoshift benchmark ... --save-models --out
RESULTS_DIR``), rebuilds each fold of its dataset and protocol (from ``results.csv``),
exports each model to ONNX float and int8 (calibrated on 256 windows of the fold's own
calibration data, which the model was adapted on) and reports the window-level test
accuracy of torch, ONNX float and ONNX int8 per fold, with the benchmark's own number.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from myoshift.datasets import load_dataset
from myoshift.errors import DataNotFoundError
from myoshift.learn import ClassicalClassifier, DeepClassifier, MethodChain
from myoshift.models import get_model_class, model_names
from myoshift.realtime.export import export_onnx, graph_inputs
from myoshift.realtime.export_runtime import OnnxModel
from myoshift.recording import Layout, Recording, RecordingSet

FS = 200.0
STEP_MS = 25.0
VOTE = 5
#: Farrell & Weir (2007): controller delays of 100-125 ms are optimal
BUDGET_MS = (100.0, 125.0)
EXTRA = {"tcn-transfer": ("tcn", {"width": 16, "dilations": [1, 2, 4], "pool": 2}, 260.0)}


def recordings(data_dir: str | None) -> RecordingSet:
    """libemg-onesubject trials 1-2 (8 Myo channels, 200 Hz), else synthetic bursts."""
    try:
        rs = load_dataset("libemg-onesubject", data_dir=data_dir)
        return RecordingSet([r for r in rs if r.meta["trial"] <= 2])
    except DataNotFoundError as exc:
        logging.warning("libemg-onesubject unavailable (%s); synthetic recordings", exc)
    rng = np.random.default_rng(0)
    recs = []
    for i in range(20):
        gain = 2.0 + 10.0 * (np.arange(8) == i % 5)
        emg = (rng.standard_normal((600, 8)) * gain).astype(np.float32)
        recs.append(Recording(emg, FS, np.full(600, i % 5), Layout.ring(8), meta={"trial": i}))
    return RecordingSet(recs)


def percentiles(fn: Callable[[int], Any], n: int, warmup: int = 200) -> dict[str, float]:
    """p50 / p99 / mean latency in ms of ``fn(i)`` over ``n`` calls: wall clock, and the
    calling thread's CPU time (``cpu_*``: the work itself, without the time other
    processes held the core; torch and onnxruntime compute in the calling thread here)."""
    for i in range(warmup):
        fn(i)
    wall, cpu = np.empty(n), np.empty(n)
    for i in range(n):
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        fn(i)
        wall[i], cpu[i] = time.perf_counter_ns() - t0, time.thread_time_ns() - c0
    out = {}
    for prefix, ns in (("", wall), ("cpu_", cpu)):
        ms = ns / 1e6
        out[f"{prefix}p50_ms"] = float(np.percentile(ms, 50))
        out[f"{prefix}p99_ms"] = float(np.percentile(ms, 99))
        out[f"{prefix}mean_ms"] = float(ms.mean())
    return out


def runner(sess: Any, feeds: list[dict[str, np.ndarray]]) -> Callable[[int], Any]:
    """``i -> sess.run(feeds[i % len(feeds)])``."""
    return lambda i: sess.run(None, feeds[i % len(feeds)])


def streams(mean_ms_per_window: float) -> int:
    """Concurrent streams one core keeps up with at one decision per ``STEP_MS``."""
    return int(1000.0 / (mean_ms_per_window * (1000.0 / STEP_MS)))


def build(name: str, rs: RecordingSet) -> tuple[MethodChain, float]:
    """A briefly fitted chain for ``name`` and its window length in ms."""
    if name == "lda-td":
        return MethodChain(ClassicalClassifier("lda"), 200.0, STEP_MS, name=name).fit(rs), 200.0
    model, params, window = EXTRA.get(name, (name, None, None))
    window = window or float(get_model_class(model).recipe["window_ms"])
    est = DeepClassifier(model=model, model_params=params, epochs=1, batch_size=64, threads=1)
    return MethodChain(est, window, STEP_MS, name=name).fit(rs), window


def torch_runner(net: torch.nn.Module, batches: list[np.ndarray]) -> Callable[[int], Any]:
    """``i -> softmax(net(batches[i % len(batches)]))`` without autograd."""
    tensors = [torch.from_numpy(b) for b in batches]

    def run(i: int) -> Any:
        with torch.no_grad():
            return torch.softmax(net(tensors[i % len(tensors)]), dim=1)

    return run


def measure(name: str, rs: RecordingSet, n: int, out: Path) -> dict[str, Any]:
    chain, window = build(name, rs)
    res = export_onnx(chain, out, name=name, int8=name != "lda-td", calibration=rs)
    X = graph_inputs(chain, rs)["emg"]
    pool = X[np.linspace(0, len(X) - 1, 256).astype(int)]
    one, many = [pool[i : i + 1] for i in range(len(pool))], [pool[:64]]
    est = chain.estimator_
    paths: dict[str, tuple[Callable[[int], Any], Callable[[int], Any]]] = {}
    if name == "lda-td":
        paths["eager"] = (
            lambda i: est.predict_proba(one[i % len(one)]),
            lambda i: est.predict_proba(many[0]),
        )
    else:
        net = est.net_.eval()
        paths["eager"] = (torch_runner(net, one), torch_runner(net, many))
    for p in ["float32", "int8"] if res.int8 is not None else ["float32"]:
        sess = OnnxModel(res.sidecar, p, threads=1).session
        paths[p] = (runner(sess, [{"emg": w} for w in one]), runner(sess, [{"emg": many[0]}]))
    row: dict[str, Any] = {"model": name, "window_ms": window, "window_samples": X.shape[2]}
    proba = {p: OnnxModel(res.sidecar, p).run(X) for p in paths if p != "eager"}
    ref = chain.predict_proba(rs)
    row["parity_max_abs"] = float(np.abs(proba["float32"] - ref).max())
    if "int8" in proba:
        same = proba["int8"].argmax(1) == proba["float32"].argmax(1)
        row["int8_agreement"] = float(same.mean())
    row["n_windows"] = len(X)
    for k, (single, batch) in paths.items():
        row[k] = percentiles(single, n)
        row[k]["batch64_ms_per_window"] = (
            percentiles(batch, max(50, n // 20), 20)["cpu_mean_ms"] / 64
        )
    row["size_bytes"] = res.sizes
    row["streams_per_core"] = {
        k: {
            "batch1": streams(row[k]["cpu_mean_ms"]),
            "batch64": streams(row[k]["batch64_ms_per_window"]),
        }
        for k in paths
    }
    spread = (VOTE - 1) * STEP_MS
    row["delay_ms"] = {
        "sum": window + spread + row["float32"]["p99_ms"],
        "centre": window / 2 + spread / 2 + row["float32"]["p99_ms"],
    }
    return row


def table(rows: list[dict[str, Any]], clock: str) -> str:
    """Markdown table of the ``clock`` latencies (``""``: wall, ``"cpu_"``: thread CPU)."""
    head = (
        "| model | window | eager p50 / p99 ms | ONNX float p50 / p99 ms | ONNX int8 p50 / p99 ms "
        "| float / int8 size KiB |"
    )
    lines = [head, "|" + "---|" * 6]

    def cell(r: dict[str, Any], k: str) -> str:
        if k not in r:
            return "n/a"
        return f"{r[k][clock + 'p50_ms']:.3f} / {r[k][clock + 'p99_ms']:.3f}"

    for r in rows:
        s = r["size_bytes"]
        size = f"{s['float32'] / 1024:.1f} / " + (f"{s['int8'] / 1024:.1f}" if "int8" in s else "-")
        lines.append(
            f"| `{r['model']}` | {r['window_ms']:g} ms ({r['window_samples']}) | "
            f"{cell(r, 'eager')} | {cell(r, 'float32')} | {cell(r, 'int8')} | {size} |"
        )
    return "\n".join(lines)


def streams_table(rows: list[dict[str, Any]]) -> str:
    """Concurrent real-time streams per core (batch 1 / batch 64) for every path."""
    lines = [
        "| model | eager (batch 1 / 64) | ONNX float (batch 1 / 64) | ONNX int8 (batch 1 / 64) |",
        "|" + "---|" * 4,
    ]
    for r in rows:
        st = r["streams_per_core"]
        cells = [
            f"{st[k]['batch1']:,} / {st[k]['batch64']:,}" if k in st else "n/a"
            for k in ("eager", "float32", "int8")
        ]
        lines.append(f"| `{r['model']}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def int8_accuracy(results: Path, data_dir: str | None) -> list[dict[str, Any]]:
    """Test accuracy of torch / ONNX float / ONNX int8 for every saved fold model."""
    import pandas as pd

    from myoshift.datasets import get_dataset
    from myoshift.evaluation.protocols import get_protocol
    from myoshift.learn import load_estimator

    table = pd.read_csv(results / "results.csv")
    table = table[table["metric"] == "accuracy"]
    dataset, protocol = table["dataset"].iloc[0], table["protocol"].iloc[0]
    rset = get_dataset(dataset, data_dir=data_dir).load(None, show_progress=False)
    rows = []
    for folder in sorted((results / "models").glob("*/*/cal*-seed*")):
        method, fold_name = folder.parent.parent.name, folder.parent.name
        k = int(folder.name[3:].split("-")[0])
        fold = next(f for f in get_protocol(protocol).split(rset, k) if f.name == fold_name)
        chain = load_estimator(folder)
        with tempfile.TemporaryDirectory() as tmp:
            res = export_onnx(chain, tmp, int8=True, calibration=fold.calibration)
            X = graph_inputs(chain, fold.test)["emg"]
            y = chain.windows(fold.test).y
            acc = {"torch": float((chain.predict(fold.test) == y).mean())}
            for p in ("float32", "int8"):
                acc[p] = float((OnnxModel(res.sidecar, p).predict(X) == y).mean())
            sizes = res.sizes
        mine = (table["method"] == method) & (table["fold"] == fold_name)
        ref = table.loc[mine & (table["calibration"] == k), "value"].to_numpy()
        rows.append(
            {
                "method": method,
                "fold": fold_name,
                "calibration": k,
                "benchmark": float(ref[0]) if len(ref) else None,
                **acc,
                "n_test_windows": len(y),
                "size_bytes": sizes,
            }
        )
        print(rows[-1], flush=True)
    return rows


def accuracy_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| method | fold | cycles | benchmark % | torch % | ONNX float % | ONNX int8 % "
        "| int8 - float |",
        "|" + "---|" * 8,
    ]
    for r in rows:
        bench = "-" if r["benchmark"] is None else f"{100 * r['benchmark']:.2f}"
        lines.append(
            f"| `{r['method']}` | {r['fold']} | {r['calibration']} | {bench} | "
            f"{100 * r['torch']:.2f} | {100 * r['float32']:.2f} | {100 * r['int8']:.2f} | "
            f"{100 * (r['int8'] - r['float32']):+.2f} |"
        )
    mean = {k: 100 * float(np.mean([r[k] for r in rows])) for k in ("torch", "float32", "int8")}
    lines.append(
        f"| mean | {len(rows)} folds | | | {mean['torch']:.2f} | {mean['float32']:.2f} | "
        f"{mean['int8']:.2f} | {mean['int8'] - mean['float32']:+.2f} |"
    )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--decisions", type=int, default=2000)
    ap.add_argument("--cpu", type=int, default=None, help="pin to this CPU (default: first)")
    ap.add_argument("--models", default=None, help="comma-separated (default: all + lda-td)")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    ap.add_argument("--accuracy", default=None, help="int8 accuracy of a benchmark's models")
    args = ap.parse_args()
    if args.accuracy:
        torch.set_num_threads(1)
        rows = int8_accuracy(Path(args.accuracy), args.data_dir)
        print(accuracy_table(rows))
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=1))
        return
    cpu = args.cpu if args.cpu is not None else min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    torch.set_num_threads(1)
    names = args.models.split(",") if args.models else [*model_names(), *EXTRA, "lda-td"]
    rs = recordings(args.data_dir)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            t0 = time.perf_counter()
            rows.append(measure(name, rs, args.decisions, Path(tmp) / name))
            print(f"# {name}: {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"one core (CPU {cpu}), batch 1, load average {os.getloadavg()[0]:.1f}")
    print("wall clock:")
    print(table(rows, ""))
    print("thread CPU time:")
    print(table(rows, "cpu_"))
    print(f"streams per core (8 channels, {FS:g} Hz, one decision per {STEP_MS:g} ms):")
    print(streams_table(rows))
    print("float ONNX vs torch / scikit-learn on every window of the data, int8 vs float:")
    for r in rows:
        agree = r.get("int8_agreement")
        print(
            f"{r['model']}: max abs difference {r['parity_max_abs']:.1e} over {r['n_windows']} "
            "windows" + ("" if agree is None else f"; int8 decides as float on {100 * agree:.1f} %")
        )
    for r in rows:
        d = r["delay_ms"]
        print(
            f"{r['model']}: window {r['window_ms']:g} + vote span {(VOTE - 1) * STEP_MS:g} + "
            f"p99 {r['float32']['p99_ms']:.2f} = {d['sum']:.0f} ms; centre-of-window estimate "
            f"{d['centre']:.0f} ms (budget {BUDGET_MS[0]:g}-{BUDGET_MS[1]:g} ms)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
