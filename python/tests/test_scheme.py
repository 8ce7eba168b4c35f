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
        raw = plan._plan.estimate()  # the native call alone: L1 decoding of 3000 rows
        end = time.perf_counter()
    finally:
        stop.set()
        thread.join()
    assert raw["status"] == "solved"
    # With the GIL held for the whole decode, the other thread could make no progress
    # inside the call: none of its timestamps could fall in its middle 80%.
    lo, hi = start + 0.1 * (end - start), start + 0.9 * (end - start)
    assert sum(lo < t < hi for t in ticks) > 0
