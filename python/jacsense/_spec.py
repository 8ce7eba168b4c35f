"""Keywords → the native module's spec dict: patterns, ties, known entries, steps.

The keyword names follow SciPy's ``approx_derivative`` where one exists; the mapping
is documented in :func:`jacsense.jacobian`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from . import _jacsense

Error = _jacsense.Error


def as_pattern(pattern):
    """A pattern as a sorted, duplicate-free boolean ``csr_array``.

    Anything ``scipy.sparse`` accepts (its stored entries, zeros dropped) or a dense
    array (its nonzeros).
    """
    try:
        if sp.issparse(pattern):
            p = sp.csr_array(pattern, dtype=bool)
        else:
            a = np.asarray(pattern)
            if a.ndim != 2:
                raise Error(f"pattern of shape {a.shape}: expected a 2-D array or sparse matrix (m × n)")
            p = sp.csr_array(a != 0)
    except Error:
        raise
    except Exception as e:  # noqa: BLE001 - any conversion failure names the input
        raise Error(f"pattern of type {type(pattern).__name__} is not a matrix: {e}") from e
    p.eliminate_zeros()
    p.sum_duplicates()
    p.sort_indices()
    return p


def as_x0(x0):
    """``x0`` as a 1-D float64 array (a scalar is one input)."""
    x = np.asarray(x0, dtype=float)
    if x.ndim == 0:
        x = x.reshape(1)
    if x.ndim != 1:
        raise Error(f"x0 of shape {x.shape}: expected a 1-D array (n inputs)")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:  # the core's words, before any call
        i = int(bad[0])
        raise Error(f"x0[{i}] = {'NaN' if np.isnan(x[i]) else ('inf' if x[i] > 0 else '-inf')} is not finite")
    return np.ascontiguousarray(x)


def ties_list(ties):
    """Tied groups as lists of ``(i, j, factor)`` (the factor defaults to 1)."""
    if ties is None:
        return []
    groups = []
    for g, group in enumerate(ties):
        entries = []
        for e in group:
            e = tuple(e)
            if len(e) == 2:
                e = (e[0], e[1], 1.0)
            if len(e) != 3:
                raise Error(f"ties group {g}: entry {e} is not (i, j) or (i, j, factor)")
            entries.append((int(e[0]), int(e[1]), float(e[2])))
        groups.append(entries)
    return groups


def known_list(known):
    """Known entries as ``(i, j, value)``: from a sparse matrix (its stored entries) or
    a list of triples."""
    if known is None:
        return []
    if sp.issparse(known):
        c = sp.coo_array(known)
        return [(int(i), int(j), float(v)) for i, j, v in zip(c.row, c.col, c.data)]
    out = []
    for e in known:
        e = tuple(e)
        if len(e) != 3:
            raise Error(f"known entry {e} is not (i, j, value)")
        out.append((int(e[0]), int(e[1]), float(e[2])))
    return out


def bounds_arrays(bounds, n):
    """SciPy's ``bounds=(lb, ub)`` (scalars or arrays) as two float arrays of length n,
    or ``(None, None)``."""
    if bounds is None:
        return None, None
    try:
        lb, ub = bounds
    except (TypeError, ValueError) as e:
        raise Error(f"bounds = {bounds!r}: expected (lb, ub), as scipy.optimize.approx_derivative") from e
    lb = np.broadcast_to(np.asarray(lb, dtype=float), (n,)).copy()
    ub = np.broadcast_to(np.asarray(ub, dtype=float), (n,)).copy()
    if np.all(np.isneginf(lb)) and np.all(np.isposinf(ub)):
        return None, None
    return lb, ub


#: The structure and settings keywords of :func:`jacsense.jacobian`,
#: :func:`jacsense.vjp` and :class:`jacsense.Scheme`, with their defaults: they go
#: into the spec as they are (:func:`spec`).
SETTINGS = {
    "symmetric": False,
    "row_sparsity": None,
    "ties": None,
    "known": None,
    "design": "auto",
    "decoder": "auto",
    "ordering": None,
    "calls": None,
    "outliers": 0.0,
    "noise": 0.0,
    "step": None,
    "abs_step": None,
    "seed": 0,
    "condition_tolerance": None,
}

#: Every keyword of :func:`jacsense.jacobian` beyond :data:`SETTINGS`, with its default
#: (:func:`jacsense.vjp` takes them all, through :func:`options`).
RUN = {
    "pattern": None,
    "bounds": None,
    "f0": None,
    "max_calls": None,
    "tol": None,
    "central": False,
    "method": None,
    "vectorized": False,
    "executor": None,
    "progress": False,
    "args": (),
    "kwargs": None,
}


def settings_of(keywords):
    """The :data:`SETTINGS` among ``keywords`` (a caller's ``locals()`` or options)."""
    return {k: keywords[k] for k in SETTINGS}


def check_names(given, function, *tables):
    """A keyword of ``given`` in none of ``tables`` is a ``TypeError``, as for any
    Python function."""
    unknown = sorted(set(given).difference(*tables))
    if unknown:
        raise TypeError(f"{function}() got an unexpected keyword argument {unknown[0]!r}")


def options(given, function):
    """``given`` keywords over the defaults of :data:`SETTINGS` and :data:`RUN`."""
    check_names(given, function, SETTINGS, RUN)
    return {**SETTINGS, **RUN, **given}


def as_f0(f0):
    """``f(x0)`` as a 1-D float64 array."""
    return np.ascontiguousarray(np.atleast_1d(np.asarray(f0, dtype=float)).ravel())


def tol(value):
    """A session's ``tol``: None, or a positive finite float."""
    if value is None:
        return None
    if not (float(value) > 0 and np.isfinite(value)):
        raise Error(f"tol={value}: expected a positive finite standard error")
    return float(value)


def max_calls(value):
    """A session's ``max_calls``: None, or a positive int."""
    if value is None:
        return None
    if int(value) != value or int(value) < 1:
        raise Error(f"max_calls={value}: expected a positive number of calls")
    return int(value)


def spec(m, n, pattern, *, budget=None, central=False, call_time=None, **settings):
    """The spec dict of the native module for an ``m × n`` Jacobian: ``settings`` are
    :data:`SETTINGS` (the others at their defaults), ``budget`` the planner's call
    budget (``Settings::budget``), ``call_time`` the seconds one call takes when
    measured (``Settings::call_time``: the coloring search's budget)."""
    s = {**SETTINGS, **settings}
    symmetric, row_sparsity, ties, known = s["symmetric"], s["row_sparsity"], s["ties"], s["known"]
    design, decoder, ordering, calls = s["design"], s["decoder"], s["ordering"], s["calls"]
    outliers, noise, step, abs_step = s["outliers"], s["noise"], s["step"], s["abs_step"]
    seed, condition_tolerance = s["seed"], s["condition_tolerance"]
    d = {
        "m": int(m),
        "n": int(n),
        "symmetric": bool(symmetric),
        "row_sparsity": None if row_sparsity is None else int(row_sparsity),
        "ties": ties_list(ties),
        "known": known_list(known),
        "design": str(design),
        "decoder": str(decoder),
        "ordering": None if ordering is None else str(ordering),
        "calls": None if calls is None else int(calls),
        "budget": None if budget is None else int(budget),
        "outliers": float(outliers),
        "noise": float(noise),
        "central": bool(central),
        "step": None if step is None else float(step),
        "seed": int(seed),
    }
    if abs_step is not None:
        h = np.atleast_1d(np.asarray(abs_step, dtype=float))
        d["abs_step"] = [float(v) for v in h]
    if condition_tolerance is not None:
        d["condition_tolerance"] = float(condition_tolerance)
    if call_time is not None:
        d["call_time"] = float(call_time)
    if pattern is not None:
        if pattern.shape != (m, n):
            raise Error(f"the pattern is {pattern.shape[0]}×{pattern.shape[1]} (m × n) but J is {m}×{n}")
        d["indptr"] = np.ascontiguousarray(pattern.indptr, dtype=np.int64)
        d["indices"] = np.ascontiguousarray(pattern.indices, dtype=np.int64)
    return d
