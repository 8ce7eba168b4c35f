"""jacsense: Jacobians of blackbox functions from far fewer calls than finite differences.

A *blackbox* ``f: Rⁿ → Rᵐ`` can be called but not differentiated. jacsense calls it
along chosen directions around ``x0`` (graph-colored or random) and decodes the
Jacobian ``J = ∂f(x0)`` from the difference quotients, using what you know about
``J``: its sparsity pattern, symmetry, tied or known entries ("Jacobian sensing",
Choromanski & Sindhwani, NeurIPS 2017). The Rust core plans and decodes; this package
calls ``f`` in Python, per point, batched, or through any executor.

>>> import numpy as np, scipy.sparse as sp, jacsense
>>> def f(x):  # Broyden's tridiagonal function
...     y = (3 - 2 * x) * x + 1
...     y[1:] -= x[:-1]
...     y[:-1] -= 2 * x[1:]
...     return y
>>> n = 1000
>>> est = jacsense.jacobian(f, -np.ones(n), pattern=sp.diags_array([1.0, 1.0, 1.0], offsets=[-1, 0, 1], shape=(n, n)))
>>> est.calls                      # f(x0) and one call per color, not n + 1
4
>>> round(float(est.jacobian[5, 5]), 6)   # 3 - 4 x = 7
7.0
>>> str(est.status)                # read off once each: right, but unchecked
'unverified'

The API: :func:`jacobian`, :func:`vjp`, :func:`gradient`, :class:`Scheme` (ask/tell:
:class:`Plan`), :func:`color`; results :class:`Estimate` and :class:`VjpEstimate`
with a :class:`Status`; errors :class:`Error`. Layers for autodiff frameworks live in
:mod:`jacsense.jax` and :mod:`jacsense.torch`.
"""

from __future__ import annotations

import enum
import json
import time
import warnings

import numpy as np
import scipy.sparse as sp

from . import _calls, _jacsense, _spec

__version__ = _jacsense.__version__

Error = _jacsense.Error
Error.__module__ = "jacsense"
Error.__doc__ = """Bad input to jacsense (a ``ValueError``): the message names the offending value.

>>> import jacsense
>>> try:
...     jacsense.jacobian(lambda x: x, [1.0, float("nan")])
... except jacsense.Error as e:
...     print(e)
x0[1] = NaN is not finite
"""

__all__ = [
    "Coloring",
    "Error",
    "Estimate",
    "Plan",
    "Scheme",
    "Status",
    "VjpEstimate",
    "__version__",
    "color",
    "gradient",
    "jacobian",
    "vjp",
]


class Status(str, enum.Enum):
    """How far a result can be trusted; ``str(status)`` is its name.

    Most severe first: ``INCOMPLETE`` (rows undetermined: NaN entries), ``SOLVER_LIMIT``
    (an L1 or basis-pursuit solver stopped before its optimum), ``ILL_CONDITIONED`` (a
    row's conditioning implies an error beyond ``condition_tolerance``),
    ``UNVERIFIED`` (rows with no redundancy: a grossly wrong call would not have been
    seen), ``SOLVED``. A left action (:class:`VjpEstimate`) may be ``UNDERDETERMINED``.
    """

    SOLVED = "solved"
    UNVERIFIED = "unverified"
    ILL_CONDITIONED = "ill-conditioned"
    SOLVER_LIMIT = "solver-limit"
    INCOMPLETE = "incomplete"
    UNDERDETERMINED = "underdetermined"

    def __str__(self):
        return self.value


class Estimate:
    """A Jacobian estimate, in the spirit of ``scipy.optimize.OptimizeResult``.

    Attributes
    ----------
    jacobian : scipy.sparse.csr_array or numpy.ndarray
        ``J`` (m × n): sparse with the pattern's entries when a pattern was known, else
        dense. Entries of undetermined rows are NaN.
    status : Status
        How far ``J`` can be trusted; ``message`` says it in a sentence.
    calls : int
        Calls of ``f`` made, failed ones included.
    erasures, outliers : list of (call, reason)
        Calls dropped from decoding (an exception, a wrong shape, NaN or inf, a lost
        worker) and calls judged grossly wrong by the decoder.
    std_errors : same type and shape as ``jacobian``, or None
        Standard error per entry, when the design had redundancy (``noise=``).
    report : dict
        The same content as the ``jacsense`` command's ``--report`` JSON.
    rounds : list of dict
        The session's rounds (calls, measurements, erasures, design, why, showed,
        open_rows), as the report's ``"rounds"``.
    tol_met : bool or None
        With ``tol``: whether every standard error met it (when not, ``message`` says so
        and a ``RuntimeWarning`` is issued); None without ``tol``.
    """

    def __init__(self, raw, dense):
        m, n = raw["shape"]
        csr = sp.csr_array((raw["data"], raw["indices"], raw["indptr"]), shape=(m, n))
        self.jacobian = csr.toarray() if dense else csr
        se = raw["std_errors"]
        if se is None:
            self.std_errors = None
        else:
            se_csr = sp.csr_array((se, raw["indices"], raw["indptr"]), shape=(m, n))
            self.std_errors = se_csr.toarray() if dense else se_csr
        self.status = Status(raw["status"])
        self.message = raw["message"]
        self.calls = raw["calls"]
        self.erasures = [tuple(e) for e in raw["erasures"]]
        self.outliers = [tuple(o) for o in raw["outliers"]]
        self.undetermined_rows = list(raw["undetermined_rows"])
        self.design = raw["design"]
        self.decoder = raw["decoder"]
        self.noise = raw["noise"]
        self.f0 = raw["f0"]
        self._report = raw["report"]
        self.rounds = []  # filled by jacobian() and Plan.estimate(): one dict per round
        self.tol_met = None  # with tol: whether every standard error met it

    @property
    def report(self):
        """The ``jacsense`` command's ``--report`` JSON, as a dict (parsed on first use)."""
        if isinstance(self._report, str):
            self._report = json.loads(self._report)
        return self._report

    @property
    def shape(self):
        """``(m, n)``."""
        return self.jacobian.shape

    def __repr__(self):
        m, n = self.shape
        return (
            f"<jacsense.Estimate {m}×{n} from {self.calls} calls (design {self.design}, decoder {self.decoder}), "
            f"{len(self.erasures)} erasures, {len(self.outliers)} outliers; {self.message}>"
        )

    def spy(self, ax=None, markersize=None):
        """Draws the recovered pattern, coloured by ``log10 |J_ij|``; undetermined rows
        are shaded red, and the outlier and erased calls are named in the title.
        Needs matplotlib. Returns the axes."""
        import matplotlib.pyplot as plt
        from matplotlib.colors import Normalize

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 5))
        coo = sp.coo_array(self.jacobian if sp.issparse(self.jacobian) else sp.csr_array(self.jacobian))
        values = np.abs(coo.data)
        finite = np.isfinite(values) & (values > 0)
        mag = np.full(values.shape, np.nan)
        mag[finite] = np.log10(values[finite])
        m, n = self.shape
        size = markersize if markersize is not None else max(1.0, 2000.0 / max(m, n))
        lo, hi = (np.nanmin(mag), np.nanmax(mag)) if finite.any() else (0.0, 1.0)
        points = ax.scatter(
            coo.col[finite], coo.row[finite], c=mag[finite], s=size, marker="s", cmap="viridis",
            norm=Normalize(lo, hi if hi > lo else lo + 1),
        )
        ax.figure.colorbar(points, ax=ax, label="log10 |J_ij|", shrink=0.8)
        for r in self.undetermined_rows:
            ax.axhspan(r - 0.5, r + 0.5, color="red", alpha=0.3, lw=0)
        ax.set_xlim(-0.5, n - 0.5)
        ax.set_ylim(m - 0.5, -0.5)
        ax.set_xlabel("input j")
        ax.set_ylabel("output i")
        title = f"J ({m}×{n}), {self.calls} calls, {self.status}"
        if self.undetermined_rows:
            title += f"\n{len(self.undetermined_rows)} undetermined rows (red)"
        if self.outliers:
            title += "\noutlier calls: " + ", ".join(str(c) for c, _ in self.outliers[:10])
        if self.erasures:
            title += "\nerased calls: " + ", ".join(str(c) for c, _ in self.erasures[:10])
        ax.set_title(title, fontsize=9)
        return ax


class VjpEstimate:
    """A left action ``w = Jᵀv`` (or a gradient), with how it was obtained.

    ``w`` (n), ``status``, ``calls``, ``route`` (``sense-jacobian`` or ``direct``),
    ``erasures`` and ``outliers`` as ``(call, reason)``, ``support`` (the entries of
    ``w`` that may be nonzero, when sparse recovery found them), ``rounds`` (the
    Jacobian route's session, as :attr:`Estimate.rounds`; empty for the direct route),
    ``tol_met`` (with ``tol``: whether ``J``'s standard errors met it; else None),
    ``report`` (the command's ``vjp --report`` JSON, with the ``rounds``).
    ``numpy.asarray(est)`` is ``w``.
    """

    def __init__(self, raw, rounds):
        self.w = raw["w"]
        self.status = Status(raw["status"])
        self.calls = raw["calls"]
        self.route = raw["route"]
        self.decoder = raw["decoder"]
        self.erasures = [tuple(e) for e in raw["erasures"]]
        self.outliers = [tuple(o) for o in raw["outliers"]]
        self.support = raw["support"]
        self.residual = raw["residual"]
        self.message = str(self.status)
        self.rounds = rounds
        self.tol_met = None
        self._report = raw["report"]

    @property
    def report(self):
        """The ``jacsense vjp`` command's ``--report`` JSON, as a dict (parsed on first use)."""
        if isinstance(self._report, str):
            self._report = json.loads(self._report)
        return self._report

    def __array__(self, dtype=None, copy=None):
        return self.w if dtype is None else self.w.astype(dtype)

    def __repr__(self):
        return (
            f"<jacsense.VjpEstimate w ({self.w.shape[0]}) from {self.calls} calls (route {self.route}, "
            f"decoder {self.decoder}), {len(self.erasures)} erasures, {len(self.outliers)} outliers; {self.status}>"
        )


class Coloring:
    """A coloring of the columns (or rows) of a pattern: ``colors`` (one per column),
    ``num_colors``, ``ordering`` (the one used), ``valid`` (checked independently) and
    ``lower_bound`` (the most nonzeros in one row: no valid coloring has fewer colors)."""

    def __init__(self, raw):
        self.colors = raw["colors"]
        self.num_colors = raw["num_colors"]
        self.ordering = raw["ordering"]
        self.valid = raw["valid"]
        self.lower_bound = raw["lower_bound"]

    def groups(self):
        """The columns of each color."""
        return [np.flatnonzero(self.colors == c) for c in range(self.num_colors)]

    def __repr__(self):
        return (
            f"<jacsense.Coloring {self.num_colors} colors by {self.ordering}, "
            f"{'valid' if self.valid else 'INVALID'}, lower bound {self.lower_bound}>"
        )


def color(pattern, ordering="best", kind="column"):
    """Colors the columns of a pattern so that no two columns of one color share a row
    (Curtis–Powell–Reid): one call per color gives ``J`` by forward differences.

    ``ordering``: ``"best"`` (every greedy ordering, then iterated-greedy recoloring:
    the coloring the planner uses), or ``natural``, ``largest-first``,
    ``smallest-last``, ``incidence-degree``, ``dynamic-largest-first``. ``kind="row"``
    colors rows instead.

    >>> import scipy.sparse as sp, jacsense
    >>> c = jacsense.color(sp.diags_array([1.0, 1.0, 1.0], offsets=[-1, 0, 1], shape=(50, 50)))
    >>> c.num_colors, c.valid, c.lower_bound
    (3, True, 3)
    >>> c.colors[:6].tolist()
    [0, 1, 2, 0, 1, 2]
    """
    p = _spec.as_pattern(pattern)
    m, n = p.shape
    raw = _jacsense.color(
        m, n, p.indptr.astype(np.int64).tolist(), p.indices.astype(np.int64).tolist(), str(ordering), str(kind)
    )
    return Coloring(raw)




def _method(method, central):
    if method is None:
        return central
    if method == "2-point":
        return False
    if method == "3-point":
        return True
    raise Error(f"method={method!r}: expected '2-point' (forward) or '3-point' (central); 'cs' is not supported")


class Scheme:
    """How to sense ``J`` for a structure, at any point: the planner's decisions
    (design, coloring, decoder, step rule), made once. ``scheme.at(x0)`` makes the
    :class:`Plan` of the calls at ``x0`` in O(n) (a Newton loop, a trajectory).

    Keywords as :func:`jacobian`'s structure and design keywords (``symmetric``,
    ``row_sparsity``, ``ties``, ``known``, ``design``, ``decoder``, ``ordering``,
    ``calls``, ``outliers``, ``noise``, ``step``, ``abs_step``, ``seed``,
    ``condition_tolerance``, ``central``/``method``), ``max_calls`` (the planner's
    budget and every plan's call limit) and ``tol`` (every plan's, unless
    :meth:`at` gives another); without a ``pattern``, ``shape=(m, n)`` says the size. Picklable (the core's checksummed
    JSON), so the planner's work travels to other processes. A :class:`Plan` is the
    core's session at one point: the scheme's plan is its first round, and more rounds
    follow when failed calls left rows undetermined or the standard errors exceed
    ``tol``.

    >>> import numpy as np, scipy.sparse as sp, pickle, jacsense
    >>> scheme = jacsense.Scheme(pattern=sp.eye_array(3))
    >>> plan = scheme.at(np.array([1.0, 2.0, 3.0]))
    >>> plan = pickle.loads(pickle.dumps(plan))          # e.g. to another process
    >>> X = plan.points()                                 # ask: f(x0), then one color
    >>> X.shape
    (2, 3)
    >>> plan.tell_all(X ** 2)                             # tell: f(x) = x²
    >>> np.round(plan.estimate().jacobian.diagonal(), 5)  # J = diag(2 x0)
    array([2., 4., 6.])
    """

    def __init__(self, pattern=None, *, shape=None, max_calls=None, tol=None, central=False, method=None, **settings):
        _spec.check_names(settings, "Scheme", _spec.SETTINGS)
        p = None if pattern is None else _spec.as_pattern(pattern)
        if p is not None:
            m, n = p.shape
            if shape is not None and tuple(shape) != (m, n):
                raise Error(f"shape={tuple(shape)} but the pattern is {m}×{n}")
        elif shape is None:
            raise Error("a Scheme needs a pattern or shape=(m, n)")
        else:
            m, n = (int(s) for s in shape)
        d = _spec.spec(m, n, p, **settings, budget=_spec.max_calls(max_calls), central=_method(method, central))
        self._scheme = _jacsense.Scheme(d)
        self._dense = p is None
        self._tol = _spec.tol(tol)

    @classmethod
    def _wrap(cls, native, dense, tol=None):
        self = cls.__new__(cls)
        self._scheme, self._dense, self._tol = native, dense, tol
        return self

    def at(self, x0, f0=None, bounds=None, *, max_calls=None, tol=None):
        """The :class:`Plan` at ``x0``; with ``f0 = f(x0)`` (forward differences make
        no call at ``x0``), SciPy's ``bounds=(lb, ub)`` (no call leaves them), and the
        session's ``max_calls`` and ``tol`` (as :func:`jacobian`'s)."""
        x0 = _spec.as_x0(x0)
        lb, ub = _spec.bounds_arrays(bounds, x0.shape[0])
        f0 = None if f0 is None else _spec.as_f0(f0)
        tol = self._tol if tol is None else _spec.tol(tol)
        native = self._scheme.at(x0, f0, lb, ub, _spec.max_calls(max_calls), tol)
        return Plan._wrap(native, self._dense, tol)

    @property
    def shape(self):
        """``(m, n)``."""
        return (self._scheme.m, self._scheme.n)

    @property
    def calls(self):
        """Calls of a plan not given ``f(x0)``."""
        return self._scheme.calls

    @property
    def lower_bound(self):
        """``ρ_max``: the most unknowns in one row, the fewest measurements of row-wise decoding."""
        return self._scheme.lower_bound

    @property
    def design(self):
        """The design the planner chose."""
        return self._scheme.design

    @property
    def decoder(self):
        """The decoder the planner chose."""
        return self._scheme.decoder

    def __reduce__(self):
        return (_scheme_from_json, (self._scheme.to_json(), self._dense, self._tol))

    def __repr__(self):
        m, n = self.shape
        return f"<jacsense.Scheme {m}×{n}: design {self.design}, decoder {self.decoder}, {self.calls} calls>"


def _scheme_from_json(text, dense, tol=None):
    return Scheme._wrap(_jacsense.Scheme.from_json(text), dense, tol)


class Plan:
    """The calls at one point, in rounds (ask/tell): the core's session whose first
    round is the scheme's plan.

    ``points()`` gives the current round's points, to evaluate anywhere; ``tell`` /
    ``tell_all`` / ``erase`` give the results back in any order; ``estimate()``
    finishes the round (calls never told are erasures) and returns the
    :class:`Estimate` when the session is done, or None when it wants another round:
    ``done`` is then False and ``points()`` gives the next round's calls (rows that
    failed calls left undetermined, standard errors above ``tol``). ``evaluate(f)``
    runs every round. Picklable with what was told, in any round, done or not.

    >>> import numpy as np, scipy.sparse as sp, pickle, jacsense
    >>> f = lambda X: X ** 2                                # batched: f(x) = x², J = diag(2x)
    >>> plan = jacsense.Scheme(sp.eye_array(3)).at(np.array([1.0, 2.0, 3.0]))
    >>> X = plan.points()                                   # f(x0), then one color
    >>> plan.tell(0, f(X[0]))
    >>> plan.erase(1, "the node went away")                 # the color's call fails
    >>> plan = pickle.loads(pickle.dumps(plan))             # e.g. to another process
    >>> plan.estimate() is None, plan.done, plan.round      # every row undetermined: a top-up
    (True, False, 1)
    >>> plan.tell_all(f(plan.points()))
    >>> est = plan.estimate()
    >>> plan.done, est.calls, [r["calls"] for r in est.rounds]
    (True, 5, [2, 3])
    >>> np.round(est.jacobian.diagonal(), 5)
    array([2., 4., 6.])
    """

    @classmethod
    def _wrap(cls, native, dense, tol=None):
        self = cls.__new__(cls)
        self._session, self._dense, self._tol = native, dense, tol
        self._seconds = 0.0
        self._decode_seconds = 0.0
        self._workers = 0
        return self

    @property
    def calls(self):
        """Calls of the current round (0 when done)."""
        return self._session.calls or 0

    @property
    def total_calls(self):
        """Calls asked for in all rounds so far."""
        return self._session.total_calls

    @property
    def round(self):
        """The current round, from 0."""
        return self._session.round

    @property
    def done(self):
        """Whether the session is done: :meth:`estimate` returns its :class:`Estimate`."""
        return self._session.done

    @property
    def shape(self):
        """``(m, n)``."""
        return (self._session.m, self._session.n)

    @property
    def x0(self):
        """The point."""
        return self._session.x0

    @property
    def scheme(self):
        """The :class:`Scheme` of the first round."""
        return Scheme._wrap(self._session.scheme, self._dense)

    def points(self):
        """The current round's points, a ``calls × n`` array (row ``j`` is call ``j``);
        an :class:`Error` when done."""
        return self._session.points()

    def pending(self):
        """The calls of the current round not told yet."""
        return self._session.pending()

    def tell(self, i, y):
        """The value ``y = f(points()[i])`` (``m`` numbers; NaN or inf: an erasure)."""
        self._session.tell(int(i), _value(y, self._session.m))

    def tell_all(self, Y):
        """Every value of the round at once: row ``j`` of ``Y`` (``calls × m``) is call ``j``'s."""
        Y = np.asarray(Y, dtype=float)
        if Y.ndim == 1 and self._session.m == 1:
            Y = Y.reshape(-1, 1)
        self._session.tell_all(np.ascontiguousarray(Y))

    def erase(self, i, reason=None):
        """Marks call ``i`` of the current round as failed (an erasure), with its reason."""
        self._session.erase(int(i), None if reason is None else str(reason))

    def finish_round(self):
        """Finishes the current round (calls never told are erasures) and decodes
        (the GIL is released meanwhile); returns :attr:`done`."""
        t = time.perf_counter()
        self._session.finish_round()
        self._decode_seconds += time.perf_counter() - t
        return self.done

    def evaluate(self, f, *, args=(), kwargs=None, vectorized=False, executor=None, progress=False):
        """Calls ``f`` at every pending point (per point, batched with
        ``vectorized=True``, or through ``executor``) and tells the results, round
        after round until the session is done; a call that raises or returns a wrong
        shape is erased with its reason. Returns the plan."""
        f = _calls.bind(f, args, kwargs)
        while not self.done:
            _run(self._session, f, self.pending(), vectorized, executor, progress, self)
            self.finish_round()
        return self

    def estimate(self):
        """Finishes the current round if it is open and returns the :class:`Estimate`
        when the session is done; None when it wants another round (:meth:`points`)."""
        if not self.done and not self.finish_round():
            return None
        raw = self._session.estimate(0.0, self._seconds, self._decode_seconds, 0, self._workers)
        est = Estimate(raw, self._dense)
        est.rounds = self._session.rounds()
        _check_tol(est, self._tol, None if est.std_errors is None else _largest(est.std_errors))
        return est

    def __reduce__(self):
        return (_plan_from_json, (*self._session.to_json(), self._dense, self._tol))

    def __repr__(self):
        m, n = self.shape
        if self.done:
            return f"<jacsense.Plan {m}×{n}: done after {self.round + 1} rounds, {self.total_calls} calls>"
        return f"<jacsense.Plan {m}×{n}: round {self.round}, {self.calls} calls, {len(self.pending())} pending>"


def _plan_from_json(text, finish, dense, tol=None):
    return Plan._wrap(_jacsense.Session.from_json(text, finish), dense, tol)


def _value(y, m):
    a = np.asarray(y, dtype=float)
    if a.ndim == 0:
        a = a.reshape(1)
    return np.ascontiguousarray(a.ravel() if a.ndim > 1 and a.size == m else a)


def _run(native, f, calls, vectorized, executor, progress, owner):
    """Evaluates ``calls`` of a native plan and tells it the results."""
    start = time.perf_counter()
    points = native.points()
    m = native.m
    for j, value, reason in _calls.evaluate(
        f, points, calls, m, vectorized=vectorized, executor=executor, progress=progress
    ):
        if value is None:
            native.erase(j, reason)
        elif isinstance(j, list):  # a whole batch
            native.tell_rows(j, value)
        else:
            native.tell(j, value)
    if owner is not None:
        owner._seconds += time.perf_counter() - start
        owner._workers = _calls._workers(executor) if executor is not None else 1


def _first_value(f, x0, vectorized, executor):
    """``f(x0)``, which tells ``m`` when nothing else does; a failure is an Error."""
    points = x0.reshape(1, -1)
    if vectorized:
        run = (lambda: f(points)) if executor is None else executor.submit(f, points).result
        try:
            y = np.asarray(run(), dtype=float)
        except Exception as e:  # noqa: BLE001 - named in the Error
            raise Error(f"the call at x0, which tells m, failed: {_calls.describe(e)}") from e
        y = y[0] if y.ndim == 2 and y.shape[0] == 1 else y.ravel() if y.ndim == 1 and y.size == 1 else None
        if y is None:
            raise Error("the batch call at x0 (a 1 × n batch) must return a 1 × m array")
    else:
        run = (lambda: f(x0)) if executor is None else executor.submit(f, x0).result
        try:
            y = np.asarray(run(), dtype=float)
        except Exception as e:  # noqa: BLE001 - named in the Error
            raise Error(f"the call at x0, which tells m, failed: {_calls.describe(e)}") from e
        if y.ndim > 1:
            raise Error(f"f(x0) has shape {y.shape}: f must return a 1-D array (m outputs) or a scalar")
        y = np.atleast_1d(y)
    if not np.all(np.isfinite(y)):
        i = int(np.flatnonzero(~np.isfinite(y))[0])
        raise Error(f"the call at x0, which tells m, returned f(x0)[{i}] = {y[i]}")
    return np.ascontiguousarray(y, dtype=float)


def jacobian(
    f,
    x0,
    *,
    pattern=None,
    symmetric=False,
    row_sparsity=None,
    ties=None,
    known=None,
    bounds=None,
    f0=None,
    design="auto",
    decoder="auto",
    calls=None,
    max_calls=None,
    outliers=0.0,
    noise=0.0,
    tol=None,
    central=False,
    step=None,
    seed=0,
    vectorized=False,
    executor=None,
    progress=False,
    method=None,
    abs_step=None,
    ordering=None,
    condition_tolerance=None,
    args=(),
    kwargs=None,
):
    """The Jacobian ``J = ∂f(x0)`` of a blackbox ``f: Rⁿ → Rᵐ`` from few calls.

    Parameters
    ----------
    f : callable
        ``f(x, *args, **kwargs) -> y`` (1-D, m numbers); with ``vectorized=True``,
        ``f(X) -> Y`` for a ``k × n`` batch (``k × m``).
    x0 : array_like, shape (n,)
        The point.
    pattern : sparse matrix or array_like, shape (m, n), optional
        Where ``J`` may be nonzero: anything ``scipy.sparse`` accepts (its stored
        entries), or a dense boolean array. SciPy's ``sparsity``. Without it every
        entry is unknown and ``m`` is learned from ``f(x0)``.
    symmetric : bool
        ``J = Jᵀ`` (a Hessian from a gradient): star colorings, joint decoding.
    row_sparsity : int, optional
        Rows have at most this many nonzeros at unknown places (sparse recovery).
    ties : list of groups of (i, j[, factor]), optional
        Entries known to be equal (up to a factor): one unknown per group.
    known : list of (i, j, value) or sparse matrix, optional
        Entries known beforehand.
    bounds : (lb, ub), optional
        As SciPy's: no call leaves the box (a step flips side or shrinks).
    f0 : array_like, optional
        ``f(x0)`` if you have it (SciPy's ``f0``): forward differences then make no
        call at ``x0``.
    design : str
        ``auto`` (the planner chooses), ``coordinate``, ``colored``, ``star``,
        ``random``, ``rademacher``, ``rainbow``.
    decoder : str
        ``auto``, ``least-squares``, ``l1``, ``omp``, ``bpdn``, ``substitution``.
    calls : int, optional
        Calls of a random or rainbow design (``f(x0)`` included).
    max_calls : int, optional
        The most calls in all rounds (the core's call budget and the session's
        ``SessionOptions.max_calls``); a session that reaches it stops and reports the
        rows left open. Too few for the structure is an :class:`Error`.
    outliers : float
        Expected fraction of grossly wrong calls (up to 0.35): redundant calls, L1
        decoding, the wrong calls named in ``Estimate.outliers``.
    noise : float
        Expected noise level of ``f`` (relative to ``max(1, |f|)``): redundant calls,
        least squares, ``Estimate.std_errors``.
    tol : float, optional
        Target on every entry's standard error (absolute, units of ``J``): the
        core's session adds rounds of calls until ``Estimate.std_errors`` meet it, or
        ``max_calls`` is reached — without ``max_calls``, 100 times the calls of a
        one-round plan (``n + 1`` told nothing). ``Estimate.tol_met`` says which; when
        ``tol`` is not met, ``message`` says so and a ``RuntimeWarning`` is issued.
        Without ``noise=``, outputs that turn out noisy make the added rounds step for
        the noise level seen (the default step ``√ε`` turns noise ``σ`` into quotient
        noise ``σ/√ε``); ``noise=`` chooses the step from the first round on.
    central, method : bool, str
        Central differences (2 calls per direction, error O(h²)); SciPy's
        ``method="3-point"`` is ``central=True``, ``"2-point"`` forward.
    step, abs_step : float, optional
        Relative step ``h = step · max(1, |x0|)`` (SciPy's ``rel_step``), or absolute
        step(s), a scalar or one per input (SciPy's ``abs_step``).
    seed : int
        Seed of every random choice (the same seed gives the same calls).
    vectorized : bool
        ``f`` takes a batch of points (SciPy's ``vectorized``).
    executor : concurrent.futures.Executor-like, optional
        Anything with ``submit(fn, x)`` returning a future with ``result()``: thread and
        process pools, ``distributed.Client``, ``mpi4py.futures.MPIPoolExecutor``,
        Ray's executor. A call whose future raises (a lost worker included) is an
        erasure; the others go on.
    progress : bool
        A progress line on stderr.
    ordering : str, optional
        Coloring ordering (default: the best).
    condition_tolerance : float, optional
        The error a row's conditioning may imply before it is ill-conditioned (1e-4).
    args, kwargs
        Extra arguments of ``f``, as SciPy's.

    Returns
    -------
    Estimate
        ``J`` as a ``scipy.sparse.csr_array`` (pattern known) or ``ndarray``, with its
        status, calls, erasures, outliers, standard errors and report.

    Examples
    --------
    Nothing known about ``J``: the core's session senses in adaptive rounds
    (``est.rounds``), far fewer calls than ``n + 1`` when ``J`` turns out sparse, and
    at most ``n + ⌈0.05 n⌉ + 3`` when it is dense (the calls beyond ``n + 1`` validate
    every row; ``design="coordinate"`` makes ``n + 1``, unverified).

    >>> import numpy as np, jacsense
    >>> est = jacsense.jacobian(lambda x: np.array([x[0] * x[1], np.sin(x[0])]), [1.0, 2.0])
    >>> est.calls == sum(r["calls"] for r in est.rounds), est.jacobian.shape
    (True, (2, 2))
    >>> np.allclose(est.jacobian, [[2, 1], [np.cos(1), 0]], atol=1e-6)
    True

    A call that raises is an erasure with its reason; the rest of the run goes on.

    >>> def fragile(x):
    ...     if x[1] != 2.0:
    ...         raise RuntimeError("solver diverged")
    ...     return x ** 2
    >>> est = jacsense.jacobian(fragile, [1.0, 2.0], pattern=np.array([[True, True], [False, True]]))
    >>> est.erasures[0]                  # later rounds retry the lost column, and fail too
    (2, 'the blackbox failed: RuntimeError: solver diverged')
    >>> str(est.status), est.undetermined_rows
    ('incomplete', [0, 1])
    """
    f = _calls.bind(f, args, kwargs)
    start = time.perf_counter()
    x0 = _spec.as_x0(x0)
    n = x0.shape[0]
    p = None if pattern is None else _spec.as_pattern(pattern)
    if p is not None and p.shape[1] != n:
        raise Error(f"the pattern is {p.shape[0]}×{p.shape[1]} (m × n) but x0 has n = {n} entries")
    tol, max_calls = _spec.tol(tol), _spec.max_calls(max_calls)
    learned = None
    f0 = None if f0 is None else _spec.as_f0(f0)
    if p is not None:
        m = p.shape[0]
    elif f0 is not None:
        m = f0.shape[0]
    else:
        learned = _first_value(f, x0, vectorized, executor)
        m = learned.shape[0]
    differences = _method(method, central)
    call_time, failed_first = None, 0
    if learned is None and f0 is None and not differences and design in ("auto", "colored"):
        # A known pattern: f(x0), made anyway for forward differences, is timed before
        # planning, so that the coloring search gets a tenth of what the calls it can
        # save cost (as the command and the Rust library do). A failed one is made again
        # by the session, and counted.
        started = time.perf_counter()
        try:
            learned = _first_value(f, x0, vectorized, executor)
            call_time = time.perf_counter() - started
        except Error:
            failed_first = 1
    # A known pattern: the planner plans within max_calls. It goes to the session (as
    # the command's --max-calls) in every case.
    budget = max_calls if p is not None else None
    d = _spec.spec(
        m, n, p, **_spec.settings_of(locals()), budget=budget, central=differences, call_time=call_time
    )
    lb, ub = _spec.bounds_arrays(bounds, n)
    session = _jacsense.Session(d, x0, f0, lb, ub, max_calls, tol)
    rounds = _Rounds(session, f, learned, vectorized, executor, progress, start)
    rounds.extra_calls += failed_first
    est = Estimate(session.estimate(*rounds.facts()), p is None)
    est.rounds = session.rounds()
    worst = None if est.std_errors is None else _largest(est.std_errors)
    _check_tol(est, tol, worst)
    return est


def _largest(a):
    """The largest finite entry of an array or sparse array (0 when none)."""
    data = a.data if sp.issparse(a) else np.asarray(a).ravel()
    data = data[np.isfinite(data)]
    return float(data.max()) if data.size else 0.0


def _check_tol(est, tol, worst):
    """With ``tol``: ``est.tol_met``, and when it is not met a message and a warning
    that say so (the session stopped at its call limit)."""
    est.tol_met = None if tol is None else (worst is not None and worst <= tol)
    if est.tol_met is False:
        what = "no standard errors (no redundancy)" if worst is None else f"standard errors up to {worst:.2e}"
        note = (
            f"tol = {tol:.2e} not met: {what} after {est.calls} calls, the session's limit (give a larger "
            "max_calls= or tol=)"
        )
        est.message = f"{est.message}; {note}"
        warnings.warn(f"jacsense: {note}", RuntimeWarning, stacklevel=3)


class _Timer:
    """Seconds calling and workers used, as :func:`_run` adds them up."""

    def __init__(self):
        self._seconds, self._workers = 0.0, 0


class _Rounds(_Timer):
    """Runs a native session's rounds to the end: each round's calls evaluated and
    told (``f(x0)`` told from ``learned`` when it is the round's call at ``x0``),
    then decoded; the seconds of each phase for the report."""

    def __init__(self, session, f, learned, vectorized, executor, progress, start):
        self.extra_calls = 0
        todo = session.pending()
        if learned is not None:
            if session.x0_call is not None:
                session.tell(session.x0_call, learned)
                todo.remove(session.x0_call)
            else:
                self.extra_calls = 1  # central differences do not use f(x0)
        self.plan_seconds = time.perf_counter() - start
        super().__init__()
        self.decode_seconds = 0.0
        while True:
            _run(session, f, todo, vectorized, executor, progress, self)
            t = time.perf_counter()
            more = session.finish_round()
            self.decode_seconds += time.perf_counter() - t
            if more is None:
                break
            todo = list(range(more))

    def facts(self):
        """``(plan_seconds, calls_seconds, decode_seconds, extra_calls, workers)``."""
        return self.plan_seconds, self._seconds, self.decode_seconds, self.extra_calls, self._workers


def vjp(f, x0, v, *, route="auto", sparsity=None, **options):
    """The left action ``w = Jᵀv`` of a blackbox at ``x0`` (backpropagation through
    it), for an upstream ``v`` (m,) or a batch ``V`` (r × m, sharing the calls).

    Keywords as :func:`jacobian`, with the same meaning, plus ``route`` (``auto``: the
    one with fewer calls, decided before any call; ``jacobian``: sense ``J`` and
    multiply; ``direct``: sense ``w`` from the scalar measurements
    ``vᵀ(f(x0 + h d) − f(x0))``) and ``sparsity`` (``w`` has at most that many
    nonzeros, at unknown places). Returns a :class:`VjpEstimate` (a list for a batch).

    The Jacobian route runs the core's session, as :func:`jacobian` does: told
    nothing, adaptive rounds; ``max_calls`` caps all rounds; ``tol`` is the target on
    the standard errors of ``J``'s entries (for a scalar ``f``, of the gradient's), and
    with ``route="auto"`` it takes the Jacobian route. The direct route is one round:
    ``tol`` and ``bounds`` are an :class:`Error` there, and ``max_calls`` below its
    calls too.

    >>> import numpy as np, jacsense
    >>> A = np.arange(12.0).reshape(3, 4)
    >>> est = jacsense.vjp(lambda x: A @ x, np.zeros(4), [1.0, 0.0, -1.0])
    >>> np.allclose(est.w, A.T @ [1.0, 0.0, -1.0], atol=1e-5), est.route
    (True, 'sense-jacobian')
    >>> est.calls == sum(r["calls"] for r in est.rounds) == est.report["calls"]
    True
    """
    o = _spec.options(options, "vjp")
    pattern, f0, bounds, vectorized, executor, progress = (
        o[k] for k in ("pattern", "f0", "bounds", "vectorized", "executor", "progress")
    )
    f = _calls.bind(f, o["args"], o["kwargs"])
    start = time.perf_counter()
    x0 = _spec.as_x0(x0)
    n = x0.shape[0]
    V = np.asarray(v, dtype=float)
    batch = V.ndim == 2
    V = np.ascontiguousarray(np.atleast_2d(V))
    if V.ndim != 2:
        raise Error(f"v of shape {np.shape(v)}: expected (m,) or (r, m)")
    m = V.shape[1]
    p = None if pattern is None else _spec.as_pattern(pattern)
    if p is not None and p.shape != (m, n):
        raise Error(f"the pattern is {p.shape[0]}×{p.shape[1]} (m × n) but v has m = {m} and x0 n = {n}")
    tol, max_calls = _spec.tol(o["tol"]), _spec.max_calls(o["max_calls"])
    f0 = None if f0 is None else _spec.as_f0(f0)
    if f0 is not None and f0.shape[0] != m:
        raise Error(f"f0 has {f0.shape[0]} values but v has m = {m}")
    route = str(route)
    if tol is not None and route == "auto":
        route = "jacobian"  # the route whose session has standard errors and rounds
    budget = max_calls if p is not None else None  # as jacobian()'s
    d = _spec.spec(m, n, p, **_spec.settings_of(o), budget=budget, central=_method(o["method"], o["central"]))
    native = _jacsense.VjpPlan(d, x0, V, route, None if sparsity is None else int(sparsity))
    lb, ub = _spec.bounds_arrays(bounds, n)
    if native.route == "sense-jacobian":
        # Sense J in the core's session (told nothing: adaptive rounds), then w = Jᵀv.
        session = _jacsense.Session(d, x0, f0, lb, ub, max_calls, tol)
        rounds = _Rounds(session, f, None, vectorized, executor, progress, start)
        raws = session.vjp(native, V, *rounds.facts())
        out = [VjpEstimate(r, session.rounds()) for r in raws]
        for est, raw in zip(out, raws):
            _check_tol(est, tol, raw["jacobian_std_error"])
    else:
        for name, value in (("tol", tol), ("bounds", lb)):
            if value is not None:
                raise Error(
                    f"{name}= needs the Jacobian route (a session): route='direct' senses w in one round of "
                    "scalar measurements; leave route='auto' or give route='jacobian'"
                )
        if max_calls is not None and native.calls > max_calls:
            raise Error(f"max_calls={max_calls}: the direct route needs {native.calls} calls")
        todo = list(range(native.calls))
        if f0 is not None and native.x0_call is not None:
            native.tell(native.x0_call, f0)
            todo.remove(native.x0_call)
        plan_seconds = time.perf_counter() - start
        timer = _Timer()
        _run(native, f, todo, vectorized, executor, progress, timer)
        out = [VjpEstimate(r, []) for r in native.estimate(plan_seconds, timer._seconds, 0, timer._workers)]
    return out if batch else out[0]


def gradient(f, x0, **options):
    """The gradient of a scalar blackbox ``f: Rⁿ → R`` at ``x0`` (``vjp`` with
    ``v = [1]``, every keyword of :func:`vjp`), from far fewer than ``n + 1`` calls when
    it is sparse (``sparsity=s``) or its pattern (1 × n) is known. Returns a
    :class:`VjpEstimate`. ``tol`` is the target on the standard error of every entry of
    the gradient (the session adds rounds until it is met or ``max_calls`` is reached).

    >>> import numpy as np, jacsense
    >>> f = lambda x: 3 * np.sin(x[7]) + x[42] ** 2     # 2 of 1000 inputs matter
    >>> g = jacsense.gradient(f, np.ones(1000), sparsity=2)
    >>> g.support, g.calls < 100
    ([7, 42], True)
    >>> np.round(g.w[[7, 42]], 5)
    array([1.62091, 2.     ])
    """
    pattern = options.get("pattern")
    if pattern is not None and _spec.as_pattern(pattern).shape[0] != 1:
        raise Error("gradient: the pattern of a scalar function has one row (1 × n)")
    return vjp(f, x0, [1.0], **options)
