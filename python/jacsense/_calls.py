"""Calling the blackbox: per point, batched (``vectorized=True``) or through any
``concurrent.futures.Executor``-like object with ``submit`` (thread and process
pools, Dask's ``distributed.Client``, ``mpi4py.futures``, Ray's executor).

Every call ends as a value or as the reason it failed: an exception (its type and
message), a value of the wrong shape, or one that is not numbers. Non-finite values
are told as they are; the core makes them erasures naming the output. Python checks
for signals between calls, so Ctrl-C raises ``KeyboardInterrupt`` at once; with an
executor the pending calls are cancelled first.
"""

from __future__ import annotations

import concurrent.futures
import math
import sys
import time

import numpy as np


class Bound:
    """``f(x, *args, **kwargs)`` as a picklable one-argument callable."""

    def __init__(self, f, args, kwargs):
        self.f, self.args, self.kwargs = f, tuple(args), dict(kwargs)

    def __call__(self, x):
        return self.f(x, *self.args, **self.kwargs)


def bind(f, args=(), kwargs=None):
    """``f`` itself, or ``f`` with SciPy-style extra arguments."""
    if not callable(f):
        from . import Error

        raise Error(f"f = {f!r} is not callable")
    if not args and not kwargs:
        return f
    return Bound(f, args, kwargs or {})


def describe(e):
    """An exception as an erasure's reason: ``ZeroDivisionError: division by zero``."""
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def as_value(y, m):
    """``(value, None)`` for a value of ``m`` numbers, else ``(None, reason)``."""
    try:
        a = np.asarray(y, dtype=float)
    except Exception as e:  # noqa: BLE001 - the reason names it
        return None, f"returned a {type(y).__name__}, not numbers ({describe(e)})"
    if a.ndim == 0 and m == 1:
        a = a.reshape(1)
    if a.shape != (m,):
        return None, f"returned shape {a.shape}, expected ({m},)"
    return np.ascontiguousarray(a), None


def _workers(executor):
    for attr in ("_max_workers", "max_workers"):
        w = getattr(executor, attr, None)
        if isinstance(w, int) and w > 0:
            return w
    nthreads = getattr(executor, "nthreads", None)  # distributed.Client
    if callable(nthreads):
        try:
            return max(1, sum(nthreads().values()))
        except Exception:  # noqa: BLE001 - only a hint for batching
            return 0
    return 0


class Progress:
    """A one-line progress report on stderr: calls done, erasures, elapsed time."""

    def __init__(self, total, enabled):
        self.total, self.enabled, self.done, self.failed = total, enabled, 0, 0
        self.start = time.perf_counter()

    def step(self, failed):
        self.done += 1
        self.failed += int(failed)
        if self.enabled:
            elapsed = time.perf_counter() - self.start
            sys.stderr.write(
                f"\rjacsense: {self.done}/{self.total} calls, {self.failed} erasures, {elapsed:.1f} s"
            )
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def evaluate(f, points, calls, m, *, vectorized=False, executor=None, progress=False):
    """Calls ``f`` at ``points[j]`` for each ``j`` in ``calls`` and yields
    ``(j, value, reason)``: the value (``m`` numbers) or ``None`` with the reason; a
    batch that succeeded comes whole, as ``(calls, values, None)`` with a list of calls
    and their ``len(calls) × m`` values."""
    calls = list(calls)
    bar = Progress(len(calls), progress)

    def result(j, y):
        value, reason = as_value(y, m)
        bar.step(value is None)
        return j, value, reason

    def failure(j, e):
        bar.step(True)
        return j, None, describe(e)

    if not calls:
        return
    if executor is None and not vectorized:
        for j in calls:
            try:
                y = f(points[j])
            except Exception as e:  # noqa: BLE001 - a failed call is an erasure
                yield failure(j, e)
                continue
            yield result(j, y)
        return
    if vectorized:
        workers = _workers(executor) if executor is not None else 1
        size = max(1, math.ceil(len(calls) / max(1, workers)))
        batches = [calls[i : i + size] for i in range(0, len(calls), size)]
        if executor is None:
            for batch in batches:
                yield from _batch_results(batch, lambda b=batch: f(points[b]), m, bar)
            return
        futures = [_submit(executor, f, points[b]) for b in batches]
        try:
            for batch, fut in zip(batches, futures):
                yield from _batch_results(batch, fut.result, m, bar)
        except BaseException:
            _cancel(executor, futures)
            raise
        return
    futures = [_submit(executor, f, points[j]) for j in calls]
    index = {id(fut): j for fut, j in zip(futures, calls)}
    try:
        if all(isinstance(fut, concurrent.futures.Future) for fut in futures):
            order = concurrent.futures.as_completed(futures)
        else:
            order = iter(futures)  # Dask and other Future-likes: in order
        for fut in order:
            j = index[id(fut)]
            try:
                y = fut.result()
            except Exception as e:  # noqa: BLE001 - a lost worker, a failed call: an erasure
                yield failure(j, e)
                continue
            yield result(j, y)
    except BaseException:
        _cancel(executor, futures)
        raise


def _submit(executor, f, x):
    """``executor.submit(f, x)``; an executor already broken (a worker died in an
    earlier round) gives a failed future: the call is an erasure, not the run's end."""
    try:
        return executor.submit(f, x)
    except concurrent.futures.BrokenExecutor as e:
        fut = concurrent.futures.Future()
        fut.set_exception(e)
        return fut


def _batch_results(batch, run, m, bar):
    """The values of one batch call ``f(X) -> Y`` (``k × m``; ``(k,)`` when m = 1)."""
    try:
        Y = np.asarray(run(), dtype=float)
    except Exception as e:  # noqa: BLE001 - the whole batch is erased
        reason = f"the batch of calls {batch[0]}..{batch[-1]} failed: {describe(e)}"
        for j in batch:
            bar.step(True)
            yield j, None, reason
        return
    if m == 1 and Y.shape == (len(batch),):
        Y = Y.reshape(len(batch), 1)
    if Y.shape != (len(batch), m):
        reason = f"the batch returned shape {Y.shape}, expected ({len(batch)}, {m})"
        for j in batch:
            bar.step(True)
            yield j, None, reason
        return
    bar.done += len(batch) - 1
    bar.step(False)
    yield batch, np.ascontiguousarray(Y), None


def _cancel(executor, futures):
    """Cancels what has not run (Ctrl-C or an error while waiting)."""
    cancel = getattr(executor, "cancel", None)  # distributed.Client.cancel
    if callable(cancel):
        try:
            cancel(futures)
            return
        except Exception:  # noqa: BLE001 - fall back to each future
            pass
    for fut in futures:
        try:
            fut.cancel()
        except Exception:  # noqa: BLE001
            pass
