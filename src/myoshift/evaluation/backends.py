"""Where the benchmark's tasks run: in this process, in local processes, or on a cluster.

A `Backend` maps a function over argument tuples and yields the results as they finish,
in any order. The runner hands it its independent tasks (one method on one fold with one
seed); every backend gives the same results because the tasks are deterministic.

- `SerialBackend`: one after the other, in this process.
- `LocalBackend`: joblib/loky worker processes on this machine.
- `DaskBackend`: a Dask distributed cluster (optional extra ``myoshift[dask]``), either a
  running scheduler or a `LocalCluster` it starts itself.

An exception raised inside a call propagates unchanged; a worker process that dies while
running a call raises `WorkerLostError` (results yielded before it are kept).
"""

from __future__ import annotations

import logging
import os
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import BrokenExecutor
from concurrent.futures import CancelledError as FuturesCancelledError
from types import TracebackType
from typing import Any

from myoshift.errors import ConfigError, MyoshiftError

log = logging.getLogger(__name__)

#: backend names accepted by `get_backend` (``--backend``)
BACKENDS = ("local", "dask")
DASK_EXTRA = "--backend dask needs the optional extra: pip install 'myoshift[dask]'"


class WorkerLostError(MyoshiftError, RuntimeError):
    """A worker process died (killed, out of memory, crashed) while running a call."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _cpu_count() -> int:
    return os.cpu_count() or 1


def _resolve_jobs(n_jobs: int) -> int:
    """``n_jobs`` as a worker count: -1 or 0 mean one per core."""
    if n_jobs in (-1, 0):
        return _cpu_count()
    if n_jobs < -1:
        raise ConfigError(f"--n-jobs must be -1 (one per core) or a positive count, got {n_jobs}")
    return int(n_jobs)


class Backend(ABC):
    """Runs calls of one function, possibly in parallel; a context manager.

    Attributes
    ----------
    n_workers : int
        How many calls run at once.
    """

    n_workers: int = 1

    @abstractmethod
    def map_unordered(
        self, fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]]
    ) -> Iterator[Any]:
        """Run ``fn(*call)`` for every call; yield each result as soon as it exists.

        Parameters
        ----------
        fn : callable
            Must be picklable by reference (a module-level function) for process
            backends.
        calls : sequence of tuple
            Positional arguments of each call.

        Yields
        ------
        Any
            ``fn``'s results, in completion order (not the order of ``calls``).

        Raises
        ------
        Exception
            The first exception raised by a call (the remaining calls are abandoned).
        WorkerLostError
            A worker process died while running a call.
        """

    @abstractmethod
    def describe(self) -> str:
        """One line for logs and reports, e.g. ``"local: 4 processes x 2 threads"``."""

    def close(self) -> None:
        """Release what the backend holds (connections, processes it started); by default
        nothing."""
        return None

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SerialBackend(Backend):
    """Every call in this process, one after the other (results in call order)."""

    def map_unordered(
        self, fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]]
    ) -> Iterator[Any]:
        for call in calls:
            yield fn(*call)

    def describe(self) -> str:
        return "serial (this process)"


class LocalBackend(Backend):
    """joblib/loky worker processes on this machine.

    Parameters
    ----------
    n_jobs : int
        Worker processes (-1: one per core).
    threads_per_worker : int, optional
        Cap on each worker's native thread pools (BLAS, OpenMP); default: the cores
        shared evenly between the workers.
    """

    def __init__(self, n_jobs: int = -1, threads_per_worker: int | None = None) -> None:
        self.n_workers = _resolve_jobs(n_jobs)
        if threads_per_worker is not None and threads_per_worker < 1:
            raise ConfigError(f"threads per worker must be >= 1, got {threads_per_worker}")
        self.threads = threads_per_worker or max(1, _cpu_count() // self.n_workers)

    def map_unordered(
        self, fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]]
    ) -> Iterator[Any]:
        from joblib import Parallel, delayed, parallel_config

        # Parallel reads the configuration when it is built, so the context ends here
        # and never leaks into the caller's code while this generator is suspended.
        with parallel_config(backend="loky", inner_max_num_threads=self.threads):
            parallel = Parallel(n_jobs=self.n_workers, return_as="generator_unordered")
        results = parallel(delayed(fn)(*call) for call in calls)
        try:
            yield from results
        except BrokenExecutor as exc:
            raise WorkerLostError(
                f"a local worker process died while running a task ({_first_line(exc)}); "
                "results yielded before it are kept"
            ) from exc

    def describe(self) -> str:
        return f"local: {self.n_workers} processes x {self.threads} threads"


class DaskBackend(Backend):
    """A Dask distributed cluster.

    Every call is submitted as its own task (``pure=False``, so it always runs) with its
    arguments inside, so the scheduler can rerun it elsewhere when a worker dies (Dask's
    ``allowed-failures``); at most ``max_pending`` calls are in the cluster at once, so
    big inputs do not pile up on the scheduler. Workers must be able to import myoshift
    and, for a resumable benchmark, write to the result folder (a shared file system).

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler, e.g. ``"tcp://10.0.0.5:8786"``. None: start a
        `LocalCluster` of worker processes on this machine (closed with the backend).
    n_workers : int, optional
        Worker processes of the local cluster (default one per core); ignored with
        ``scheduler``.
    threads_per_worker : int, optional
        Native thread pools (BLAS, OpenMP) of each local-cluster worker (default 1, as
        Dask sets); ignored with ``scheduler``.
    max_pending : int, optional
        Calls submitted but not yet collected (default twice the cluster's threads).
    timeout : float
        Seconds to wait for the scheduler to answer.
    """

    def __init__(
        self,
        scheduler: str | None = None,
        n_workers: int | None = None,
        threads_per_worker: int | None = None,
        max_pending: int | None = None,
        timeout: float = 10.0,
    ) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError(DASK_EXTRA) from None
        if max_pending is not None and max_pending < 1:
            raise ConfigError(f"max_pending must be >= 1, got {max_pending}")
        self.max_pending = max_pending
        self._cluster: Any = None
        if scheduler is None:
            threads = threads_per_worker or 1
            env = {
                k: str(threads)
                for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
            }
            self._cluster = LocalCluster(
                n_workers=_resolve_jobs(n_workers or -1),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,  # no dashboard; its HTTP routes on a free local port
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                env=env,
            )
            address = self._cluster.scheduler_address
        else:
            address = scheduler
        try:
            self._client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            self._close_cluster()
            raise ConfigError(
                f"--scheduler {address!r}: cannot connect to a Dask scheduler within "
                f"{timeout:g} s ({_first_line(exc)})"
            ) from None
        self.address = str(getattr(self._client.scheduler, "address", address))
        self.n_workers = self._threads()
        if self.n_workers == 0:
            log.warning("dask scheduler %s has no workers yet; tasks wait for some", self.address)

    def _threads(self) -> int:
        return int(sum(self._client.nthreads().values()))

    def map_unordered(
        self, fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]]
    ) -> Iterator[Any]:
        from distributed import KilledWorker, as_completed

        client = self._client
        todo = iter(calls)
        window = self.max_pending or max(2, 2 * self._threads())
        running = as_completed(loop=client.loop)
        live: set[Any] = set()

        def submit_next() -> None:
            call = next(todo, None)
            if call is not None:
                with warnings.catch_warnings():  # each task carries its own folds, by design
                    warnings.filterwarnings("ignore", "Sending large graph", UserWarning)
                    future = client.submit(fn, *call, pure=False)
                live.add(future)
                running.add(future)

        try:
            for _ in range(window):
                submit_next()
            for future in running:
                try:
                    result = future.result()
                except KilledWorker as exc:
                    raise WorkerLostError(
                        f"dask workers died running a task ({_first_line(exc)}); "
                        "results yielded before it are kept"
                    ) from exc
                except FuturesCancelledError as exc:
                    raise WorkerLostError(
                        f"dask cancelled a task (lost the scheduler {self.address}?): "
                        f"{_first_line(exc)}"
                    ) from exc
                live.discard(future)
                future.release()
                submit_next()
                yield result
        finally:
            # an error or an early stop: leave no work behind (unless already closed)
            if live and client.status not in ("closing", "closed"):
                client.cancel(list(live))

    def describe(self) -> str:
        where = "local cluster" if self._cluster is not None else "scheduler"
        n = len(self._client.nthreads())
        return f"dask: {where} {self.address} ({n} workers, {self._threads()} threads)"

    def _close_cluster(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def close(self) -> None:
        """Close the client and, if this backend started it, the local cluster."""
        self._client.close()
        self._close_cluster()


def validate_backend(name: str, scheduler: str | None = None) -> str:
    """Check a backend name and its options without starting anything; return the name.

    Raises
    ------
    ConfigError
        Unknown name, or ``scheduler`` given with the ``local`` backend.
    """
    if name not in BACKENDS:
        raise ConfigError(f"--backend: unknown backend {name!r}; valid: {', '.join(BACKENDS)}")
    if scheduler is not None and name != "dask":
        raise ConfigError(f"--scheduler {scheduler!r} needs --backend dask (got --backend {name})")
    return name


def get_backend(
    name: str, n_jobs: int = 1, scheduler: str | None = None, threads: int | None = None
) -> Backend:
    """The backend called ``name``.

    Parameters
    ----------
    name : {"local", "dask"}
        ``local``: `SerialBackend` with ``n_jobs == 1``, else `LocalBackend`.
        ``dask``: `DaskBackend` on ``scheduler``, or on a local cluster of ``n_jobs``
        worker processes without one.
    n_jobs : int
        Local worker processes (-1: one per core).
    scheduler : str, optional
        Dask scheduler address (``dask`` only).
    threads : int, optional
        Native threads per local worker.

    Returns
    -------
    Backend
        Use it as a context manager to release its processes or connection.
    """
    validate_backend(name, scheduler)
    if name == "dask":
        n = None if scheduler is not None else _resolve_jobs(n_jobs)
        return DaskBackend(scheduler, n_workers=n, threads_per_worker=threads)
    if _resolve_jobs(n_jobs) == 1:
        return SerialBackend()
    return LocalBackend(n_jobs, threads)
