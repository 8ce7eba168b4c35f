"""Scheme and Plan: ask/tell in any order, pickling across processes."""

import concurrent.futures
import multiprocessing
import pickle

import numpy as np
import scipy.sparse as sp

import jacsense
from blackboxes import broyden, broyden_jacobian, tridiagonal


def test_ask_tell_in_any_order_with_an_erasure_and_pickling():
    n = 40
    x0 = -np.ones(n)
    scheme = jacsense.Scheme(tridiagonal(n), outliers=0.1, seed=2)
    scheme = pickle.loads(pickle.dumps(scheme))
    plan = scheme.at(x0)
    X = plan.points()
    assert X.shape == (plan.calls, n) and plan.calls == scheme.calls
    for j in reversed(range(plan.calls)):
        if j == 4:
            plan.erase(j, "the node went away")
        elif j % 2:
            plan.tell(j, broyden(X[j]))
    plan = pickle.loads(pickle.dumps(plan))  # told values travel with it
    assert plan.pending() == [j for j in range(plan.calls) if j % 2 == 0 and j != 4]
    for j in plan.pending():
        plan.tell(j, broyden(X[j]))
    est = plan.estimate()
    assert est.erasures == [(4, "the blackbox failed: the node went away")]
    direct = jacsense.jacobian(broyden, x0, pattern=tridiagonal(n), outliers=0.1, seed=2)
    assert est.calls == direct.calls
    truth = broyden_jacobian(x0)
    assert np.linalg.norm(est.jacobian.toarray() - truth) / np.linalg.norm(truth) < 1e-6


def _evaluate_remotely(plan):
    """In another process: the plan arrives pickled, leaves evaluated."""
    return plan.evaluate(broyden)


def test_plan_evaluated_in_another_process():
    n = 20
    plan = jacsense.Scheme(tridiagonal(n)).at(-np.ones(n))
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        done = pool.submit(_evaluate_remotely, plan).result()
    assert done.pending() == []
    np.testing.assert_array_equal(done.estimate().jacobian.toarray(), plan.evaluate(broyden).estimate().jacobian.toarray())


def test_scheme_serves_many_points_and_f0():
    n = 30
    scheme = jacsense.Scheme(tridiagonal(n))
    for x in (-np.ones(n), np.linspace(0, 1, n)):
        with_f0 = scheme.at(x, f0=broyden(x))
        assert with_f0.calls == scheme.calls - 1
        X = with_f0.points()
        with_f0.tell_all(np.array([broyden(p) for p in X]))
        truth = broyden_jacobian(x)
        assert np.linalg.norm(with_f0.estimate().jacobian.toarray() - truth) / np.linalg.norm(truth) < 1e-6


def test_dense_scheme_needs_a_shape():
    plan = jacsense.Scheme(shape=(2, 3)).at(np.ones(3))
    X = plan.points()
    plan.tell_all(np.stack([X[:, 0] * X[:, 1], X[:, 2] ** 2], axis=1))
    J = plan.estimate().jacobian
    assert isinstance(J, np.ndarray) and np.allclose(J, [[1, 1, 0], [0, 0, 2]], atol=1e-6)
    assert isinstance(jacsense.Scheme(sp.eye_array(3)).at(np.ones(3)), jacsense.Plan)


def test_decoding_releases_the_gil():
    import threading

    n = 3000
    rng = np.random.default_rng(5)
    a = sp.random_array((n, n), density=6 / n, rng=rng, format="csr") + sp.eye_array(n)
    plan = jacsense.Scheme(a, outliers=0.1).at(np.zeros(n))
    X = plan.points()
    plan.tell_all(X @ a.T)
    import time

    ticks, stop = [], threading.Event()

    def count():  # timestamps of a Python thread's progress
        while not stop.is_set():
            ticks.append(time.perf_counter())

    thread = threading.Thread(target=count)
    thread.start()
    try:
        time.sleep(0.05)
        start = time.perf_counter()
        more = plan._session.finish_round()  # the native call alone: L1 decoding of 3000 rows
        end = time.perf_counter()
    finally:
        stop.set()
        thread.join()
    assert more is None and plan._session.estimate()["status"] == "solved"
    # With the GIL held for the whole decode, the other thread could make no progress
    # inside the call: none of its timestamps could fall in its middle 80%.
    lo, hi = start + 0.1 * (end - start), start + 0.9 * (end - start)
    assert sum(lo < t < hi for t in ticks) > 0


def test_plan_asks_a_top_up_round_for_rows_failed_calls_left_open():
    n = 30
    x0 = np.linspace(-1, 1, n)
    plan = jacsense.Scheme(tridiagonal(n)).at(x0)
    X = plan.points()
    for j in range(plan.calls):
        if j == 2:
            plan.erase(j, "lost")  # a whole color: a third of the columns
        else:
            plan.tell(j, broyden(X[j]))
    assert plan.estimate() is None  # the round is finished; the session wants more
    assert (plan.done, plan.round) == (False, 1)
    plan = pickle.loads(pickle.dumps(plan))  # between rounds, to another process
    X = plan.points()
    assert X.shape == (plan.calls, n) and plan.pending() == list(range(plan.calls))
    plan.tell_all(np.array([broyden(x) for x in X]))
    est = plan.estimate()
    assert plan.done and est is not None and str(est.status) == "solved"
    assert est.calls == plan.total_calls == sum(r["calls"] for r in est.rounds)
    assert est.erasures == [(2, "the blackbox failed: lost")]
    np.testing.assert_allclose(est.jacobian.toarray(), broyden_jacobian(x0), atol=1e-5)
    # A done plan pickles with its estimate (its last round decoded again on loading).
    again = pickle.loads(pickle.dumps(plan)).estimate()
    np.testing.assert_array_equal(again.jacobian.toarray(), est.jacobian.toarray())
    assert again.rounds == est.rounds


def test_plan_with_tol_adds_rounds_until_met():
    n = 20
    rng = np.random.default_rng(7)
    a = (sp.random_array((n, n), density=3 / n, rng=rng) + sp.eye_array(n)).tocsr()

    def noisy_batch(X):
        return X @ a.T + 1e-7 * rng.standard_normal((X.shape[0], n))

    tol = 1e-4  # the first round's standard errors are up to 1.9e-4
    plan = jacsense.Scheme(a, noise=1e-7).at(np.zeros(n), tol=tol)
    rounds = 0
    while not plan.done:
        plan.tell_all(noisy_batch(plan.points()))
        est = plan.estimate()
        rounds += 1
    assert rounds > 1 and est.tol_met is True
    assert np.max(est.std_errors.data) <= tol
    assert np.max(np.abs(est.jacobian.toarray() - a.toarray())) < 6 * tol


def test_evaluate_runs_every_round():
    n = 20
    x0 = -np.ones(n)
    calls = []

    def fails_once(x):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("transient")
        return broyden(x)

    plan = jacsense.Scheme(tridiagonal(n)).at(x0).evaluate(fails_once)
    assert plan.done
    est = plan.estimate()
    assert len(est.rounds) == 2 and est.calls == len(calls)
    np.testing.assert_allclose(est.jacobian.toarray(), broyden_jacobian(x0), atol=1e-5)


def test_scheme_refuses_an_unknown_keyword():
    import pytest

    with pytest.raises(TypeError, match="unexpected keyword argument 'outlier'"):
        jacsense.Scheme(tridiagonal(5), outlier=0.1)
    assert jacsense.Scheme(tridiagonal(5), outliers=0.1, max_calls=40).calls <= 40
