"""jacsense.jacobian, vjp, gradient: values against analytic Jacobians, erasures,
outliers, statuses, errors and the report."""

import concurrent.futures
import signal
import time

import numpy as np
import pytest
import scipy.sparse as sp

import jacsense
from blackboxes import broyden, broyden_batch, broyden_jacobian, stencil, tridiagonal

# Forward differences at the default step √ε lose about half the digits: an error of
# about √ε times the size of f'' relative to J. 1e3·√ε leaves room for the constants.
FORWARD = 1e3 * np.sqrt(np.finfo(float).eps)


def relative_error(a, b):
    a = a.toarray() if sp.issparse(a) else np.asarray(a)
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def test_known_pattern_gives_csr_from_colors():
    n = 200
    x0 = -np.ones(n)
    est = jacsense.jacobian(broyden, x0, pattern=tridiagonal(n))
    assert isinstance(est.jacobian, sp.csr_array)
    assert est.jacobian.shape == (n, n) and est.jacobian.nnz == 3 * n - 2
    assert est.calls == 4  # f(x0) and three colors
    assert relative_error(est.jacobian, broyden_jacobian(x0)) < FORWARD
    assert est.status is jacsense.Status.UNVERIFIED and str(est.status) == "unverified"
    assert est.erasures == [] and est.outliers == [] and est.std_errors is None


def test_nothing_known_gives_dense_ndarray_from_n_plus_one_calls():
    n = 7
    x0 = np.linspace(-1, 1, n)
    est = jacsense.jacobian(broyden, x0)
    assert isinstance(est.jacobian, np.ndarray) and est.jacobian.shape == (n, n)
    # Told nothing, the core's session senses in adaptive rounds (not n + 1 calls).
    assert est.calls == sum(r["calls"] for r in est.rounds) and len(est.rounds) >= 1
    assert relative_error(est.jacobian, broyden_jacobian(x0)) < FORWARD


def test_batches_executors_and_per_point_give_the_same_bits():
    n = 60
    x0 = np.linspace(-1, 0.5, n)
    kw = dict(pattern=tridiagonal(n), outliers=0.1, seed=4)
    serial = jacsense.jacobian(broyden, x0, **kw)
    batched = jacsense.jacobian(broyden_batch, x0, vectorized=True, **kw)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        threads = jacsense.jacobian(broyden, x0, executor=pool, **kw)
        threads_batched = jacsense.jacobian(broyden_batch, x0, executor=pool, vectorized=True, **kw)
    for other in (batched, threads, threads_batched):
        assert other.calls == serial.calls
        np.testing.assert_array_equal(other.jacobian.toarray(), serial.jacobian.toarray())
    assert serial.status is jacsense.Status.SOLVED  # redundant calls check every row


def test_process_pool():
    import multiprocessing

    n = 30
    x0 = -np.ones(n)
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        est = jacsense.jacobian(broyden, x0, pattern=tridiagonal(n), executor=pool)
    np.testing.assert_array_equal(est.jacobian.toarray(), jacsense.jacobian(broyden, x0, pattern=tridiagonal(n)).jacobian.toarray())


def test_failed_calls_are_erasures_with_their_reasons():
    n = 30
    x0 = -np.ones(n)
    points = jacsense.Scheme(tridiagonal(n)).at(x0).points()

    def call(kind):
        def f(x):
            if np.array_equal(x, points[2]):
                if kind == "raise":
                    raise ZeroDivisionError("division by zero")
                if kind == "shape":
                    return np.zeros(n + 1)
                if kind == "nan":
                    y = broyden(x)
                    y[4] = np.nan
                    return y
                if kind == "text":
                    return "garbage"
            return broyden(x)

        return f

    reasons = {
        "raise": "the blackbox failed: ZeroDivisionError: division by zero",
        "shape": f"the blackbox failed: returned shape ({n + 1},), expected ({n},)",
        "nan": "output 4 is NaN",
    }
    for kind, reason in reasons.items():
        est = jacsense.jacobian(call(kind), x0, pattern=tridiagonal(n))
        assert est.erasures == [(2, reason)], kind
        # The session senses the lost color's rows again in a second round: every entry right.
        assert est.status is not jacsense.Status.INCOMPLETE and len(est.rounds) == 2
        dense = est.jacobian.toarray()
        truth = broyden_jacobian(x0)
        assert not np.isnan(dense).any()
        assert np.allclose(dense[truth != 0], truth[truth != 0], rtol=FORWARD)
    est = jacsense.jacobian(call("text"), x0, pattern=tridiagonal(n))
    assert est.erasures[0][0] == 2 and "not numbers" in est.erasures[0][1]


def test_redundancy_survives_an_erasure_and_names_a_garbage_call():
    n = 100
    x0 = -np.ones(n)
    kw = dict(pattern=tridiagonal(n), outliers=0.1, seed=1)
    points = jacsense.Scheme(tridiagonal(n), outliers=0.1, seed=1).at(x0).points()

    def f(x):
        if np.array_equal(x, points[3]):
            raise RuntimeError("lost")
        y = broyden(x)
        if np.array_equal(x, points[5]):
            y = y + 1e3  # garbage
        return y

    est = jacsense.jacobian(f, x0, **kw)
    assert [c for c, _ in est.erasures] == [3]
    assert [c for c, _ in est.outliers] == [5]
    assert "judged grossly wrong" in est.outliers[0][1]
    assert relative_error(est.jacobian, broyden_jacobian(x0)) < FORWARD
    assert est.status is jacsense.Status.SOLVED


def test_noise_gives_standard_errors_of_the_jacobians_shape():
    n = 40
    x0 = -np.ones(n)
    rng = np.random.default_rng(0)
    est = jacsense.jacobian(lambda x: broyden(x) + 1e-6 * rng.standard_normal(n), x0, pattern=tridiagonal(n), noise=1e-6)
    assert isinstance(est.std_errors, sp.csr_array) and est.std_errors.shape == est.jacobian.shape
    err = np.abs(est.jacobian.toarray() - broyden_jacobian(x0))[tridiagonal(n).toarray() != 0]
    se = est.std_errors.toarray()[tridiagonal(n).toarray() != 0]
    assert np.all(se > 0) and np.mean(err < 4 * se) > 0.95


def test_report_has_the_commands_schema():
    n = 20
    est = jacsense.jacobian(broyden, -np.ones(n), pattern=tridiagonal(n))
    r = est.report
    shared = {"command", "jacsense_version", "n", "m", "program", "workers", "plan", "decoder", "calls", "erasures",
              "outliers", "complete", "status", "status_detail", "timing", "worker_log"}
    own = {"valid_measurements", "noise", "undetermined_rows", "rows", "std_errors", "f0"}
    assert shared | own <= set(r)
    assert (r["command"], r["n"], r["m"], r["calls"], r["status"]) == ("estimate", n, n, est.calls, str(est.status))
    assert r["plan"]["coloring"]["colors"] == 3 and r["plan"]["settings"]["design"] == "colored"
    assert r["jacsense_version"] == jacsense.__version__
    assert len(r["rows"]["status"]) == n


def test_f0_saves_the_call_at_x0_and_bounds_keep_calls_inside():
    n = 10
    x0 = np.zeros(n)  # on the lower bound of √x

    def f(x):
        if np.any(x < 0):
            raise ValueError(f"x < 0 at {np.flatnonzero(x < 0)}")
        return np.sqrt(x + 1.0) + x

    est = jacsense.jacobian(f, x0, pattern=sp.eye_array(n), f0=f(x0), bounds=(0, np.inf))
    assert est.calls == 1 and est.erasures == []
    assert np.allclose(est.jacobian.diagonal(), 1.5, rtol=FORWARD)


def test_vjp_and_gradient():
    n = 50
    x0 = -np.ones(n)
    v = np.linspace(1, 2, n)
    truth = broyden_jacobian(x0).T @ v
    est = jacsense.vjp(broyden, x0, v, pattern=tridiagonal(n))
    assert np.linalg.norm(est.w - truth) / np.linalg.norm(truth) < FORWARD
    assert est.calls <= 4 and est.report["command"] == "vjp"
    both = jacsense.vjp(broyden, x0, np.stack([v, -v]), pattern=tridiagonal(n))
    assert len(both) == 2 and np.allclose(both[1].w, -both[0].w)
    g = jacsense.gradient(lambda x: np.sum(x ** 3), np.arange(5.0))
    assert np.allclose(np.asarray(g), 3 * np.arange(5.0) ** 2, atol=1e-5)


def test_errors_name_the_bad_value():
    assert issubclass(jacsense.Error, ValueError)
    n = 10
    with pytest.raises(jacsense.Error, match=r"pattern is 10×10 \(m × n\) but x0 has n = 9"):
        jacsense.jacobian(broyden, -np.ones(9), pattern=tridiagonal(n))
    with pytest.raises(jacsense.Error, match="design='magic'"):
        jacsense.jacobian(broyden, -np.ones(n), pattern=tridiagonal(n), design="magic")
    with pytest.raises(jacsense.Error, match=r"too few calls: row 1 has 3 unknowns but the design makes only 2 measurements"):
        jacsense.jacobian(broyden, -np.ones(n), pattern=tridiagonal(n), max_calls=3)
    with pytest.raises(jacsense.Error, match="tol=0: expected a positive"):
        jacsense.jacobian(broyden, -np.ones(n), pattern=tridiagonal(n), tol=0)
    with pytest.raises(jacsense.Error, match="ordering = random"):
        jacsense.color(tridiagonal(n), ordering="random")
    with pytest.raises(jacsense.Error, match="the call at x0, which tells m, failed: KeyError"):
        jacsense.jacobian(lambda x: {}["k"], np.ones(3))
    with pytest.raises(jacsense.Error, match="outliers"):
        jacsense.jacobian(broyden, -np.ones(n), pattern=tridiagonal(n), outliers=0.9)


def test_max_calls_caps_the_planner():
    n = 100
    x0 = -np.ones(n)
    capped = jacsense.jacobian(broyden, x0, pattern=tridiagonal(n), noise=1e-8, max_calls=8)
    assert capped.calls <= 8


def test_ctrl_c_stops_the_calls():
    n = 50
    made = []

    def f(x):
        made.append(1)
        if len(made) == 3:
            signal.raise_signal(signal.SIGINT)
        return broyden(x)

    with pytest.raises(KeyboardInterrupt):
        jacsense.jacobian(f, -np.ones(n))  # 51 calls planned
    assert len(made) <= 4


def test_color():
    c = jacsense.color(tridiagonal(30).toarray() != 0, ordering="natural")
    assert c.num_colors == 3 and c.valid and c.lower_bound == 3 and c.ordering == "natural"
    p = tridiagonal(30).toarray()
    for group in c.groups():  # no two columns of one color share a row
        assert np.all((p[:, group] != 0).sum(axis=1) <= 1)


def test_structures_symmetric_row_sparsity_ties_known():
    # A Hessian from a gradient: H = A + Aᵀ, tridiagonal.
    n = 30
    H = sp.diags_array([np.full(n - 1, 0.5), np.linspace(2, 3, n), np.full(n - 1, 0.5)], offsets=[-1, 0, 1]).toarray()
    est = jacsense.jacobian(lambda x: H @ x, np.ones(n), pattern=H != 0, symmetric=True)
    assert np.allclose(est.jacobian.toarray(), H, atol=1e-6) and est.calls <= 4
    # Unknown pattern, rows with at most 2 nonzeros: fewer calls than n + 1.
    n = 200
    A = sp.diags_array([np.linspace(1, 2, n), np.full(n - 7, -1.5)], offsets=[0, 7]).toarray()
    est = jacsense.jacobian(lambda x: A @ x, np.zeros(n), row_sparsity=2)
    assert isinstance(est.jacobian, np.ndarray) and est.calls < n // 2
    # Sparse recovery from so few calls may leave a row undetermined; the status says
    # which, its entries are NaN, and every other row is right.
    bad = est.undetermined_rows
    assert len(bad) < 5 and (bad == []) == (est.status is not jacsense.Status.INCOMPLETE)
    assert np.all(np.isnan(est.jacobian[bad]).any(axis=1))
    good = np.setdiff1d(np.arange(n), bad)
    assert np.allclose(est.jacobian[good], A[good], atol=1e-6)
    # Ties: a convolution's diagonals; known: the first row.
    n = 12
    C = sp.diags_array([np.full(n - 1, 0.3), np.full(n, 2.0), np.full(n - 1, -0.7)], offsets=[-1, 0, 1]).toarray()
    ties = [[(i, i + d) for i in range(n) if 0 <= i + d < n] for d in (-1, 0, 1)]
    est = jacsense.jacobian(lambda x: C @ x, np.zeros(n), pattern=C != 0, ties=ties)
    assert np.allclose(est.jacobian.toarray(), C, atol=1e-6) and est.calls == 2
    est = jacsense.jacobian(lambda x: C @ x, np.zeros(n), pattern=C != 0, known=[(0, 0, 2.0), (0, 1, -0.7)])
    assert np.allclose(est.jacobian.toarray(), C, atol=1e-6)


def test_progress_line_and_spy(capsys):
    n = 20
    points = jacsense.Scheme(tridiagonal(n)).at(-np.ones(n)).points()

    def f(x):
        if np.array_equal(x, points[1]):
            raise RuntimeError("lost")
        return broyden(x)

    est = jacsense.jacobian(f, -np.ones(n), pattern=tridiagonal(n), progress=True)
    # f(x0) is made before planning (timed for the coloring search): the line counts
    # the round's other 3 calls.
    assert "jacsense: 3/3 calls, 1 erasures" in capsys.readouterr().err
    assert est.calls == 4 + 3  # and the top-up round for the rows the lost call left open
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    ax = est.spy()
    assert est.undetermined_rows == [] and "undetermined" not in ax.get_title()  # round 2 re-sensed them
    assert "erased calls: 1" in ax.get_title()


def test_ctrl_c_while_waiting_on_an_executor_cancels_the_rest():
    import os
    import threading
    import time

    n = 50
    made = []

    def f(x):
        made.append(1)
        time.sleep(0.05)
        return broyden(x)

    timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            jacsense.jacobian(f, -np.ones(n), executor=pool)  # 51 calls of 50 ms
    timer.cancel()
    assert len(made) < n // 2  # the pending calls were cancelled, not run


def test_a_broken_process_pool_costs_calls_not_the_run():
    import multiprocessing

    from blackboxes import dies_at_third_input_step

    n = 10
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        est = jacsense.jacobian(dies_at_third_input_step, -np.ones(n), executor=pool)
    # The standard library's pool is broken once a worker dies: the call that killed it
    # and every call still pending are erasures; those done before it are kept.
    calls = [c for c, _ in est.erasures]
    assert 3 in calls and all(r.startswith("the blackbox failed: BrokenProcessPool") for _, r in est.erasures)
    assert est.status is jacsense.Status.INCOMPLETE and 0 not in calls and 1 not in calls


def test_nothing_known_batched_learns_m_from_a_batch_of_one():
    x0 = np.linspace(-1, 1, 9)
    batched = jacsense.jacobian(broyden_batch, x0, vectorized=True)
    serial = jacsense.jacobian(broyden, x0)
    assert batched.calls == serial.calls
    np.testing.assert_array_equal(batched.jacobian, serial.jacobian)
    central = jacsense.jacobian(broyden, x0, method="3-point")
    assert central.calls == sum(r["calls"] for r in central.rounds) + 1  # f(x0), which told m, is one more
    assert central.report["calls"] == central.calls


def test_points_beyond_memory_are_an_error_not_an_abort():
    n = 10**6
    scheme = jacsense.Scheme(shape=(n, n))  # planning a dense J is cheap
    # The plan's session holds the round's values: refused before any call.
    with pytest.raises(jacsense.Error, match=r"1000000×1000000 J .* more than the .* of memory available"):
        scheme.at(np.zeros(n))


def test_the_coloring_search_budget_follows_the_timed_call_at_x0():
    # The 2D 5-point stencil on a 100 × 100 grid: greedy coloring and recoloring give 6
    # colors, the optimum is 5. f(x0) is timed before planning (made anyway, so no call
    # is added): quick calls buy no search, calls of 0.4 s a tenth of one call's worth.
    a = stencil(100)
    n = a.shape[0]
    x0 = np.full(n, 0.5)
    for sleep, colors in ((0.0, 6), (0.4, 5)):
        calls = []

        def f(x, sleep=sleep, calls=calls):
            calls.append(1)
            time.sleep(sleep)
            return a @ x + 0.1 * x**2

        est = jacsense.jacobian(f, x0, pattern=a != 0)
        assert est.report["plan"]["coloring"]["colors"] == colors, sleep
        assert est.calls == len(calls) == colors + 1
        exact = a.toarray() + np.diag(0.2 * x0)
        assert relative_error(est.jacobian, exact) < FORWARD


def test_ctrl_c_during_a_decode_raises_at_once():
    # Told nothing on the 140 × 140 stencil: the first round's 17 calls take
    # milliseconds, its decode (sparse recovery of 19,600 rows over as many columns)
    # about a second here. Ctrl-C 50 ms into that decode raises within a fraction of it
    # (the decode runs on its own thread; before, the signal waited for it to end).
    import os
    import threading

    a = stencil(140)
    n = a.shape[0]
    made, sent = [], []

    def f(x):
        made.append(len(x))
        return (a @ x.T).T + 0.1 * x**2

    def interrupt():
        while sum(made) < 17:
            time.sleep(0.002)
        time.sleep(0.05)
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        jacsense.jacobian(f, np.full(n, 0.5), vectorized=True)
    latency = time.perf_counter() - sent[0]
    assert sum(made) == 17, "interrupted in the first round's decode"
    assert latency < 0.3, f"KeyboardInterrupt {latency:.3f} s after Ctrl-C"
