"""jacobian() runs the core's session round by round: told nothing, adaptive rounds;
tol= met by the reported standard errors; the rounds in Estimate.rounds and the report."""

import numpy as np

import jacsense
from blackboxes import broyden, broyden_jacobian


def test_told_nothing_uses_adaptive_rounds():
    n = 200
    x0 = -np.ones(n)
    est = jacsense.jacobian(broyden, x0)
    assert est.calls < n // 2, est.calls
    assert np.max(np.abs(est.jacobian - broyden_jacobian(x0))) < 1e-4
    assert len(est.rounds) >= 1
    assert sum(r["calls"] for r in est.rounds) == est.calls
    assert est.report["rounds"] == est.rounds


def test_tol_is_met_on_a_noisy_function():
    n = 10
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n))

    def noisy(x):
        return A @ x + 1e-7 * rng.standard_normal(n)

    tol = 1.2e-4  # the first round's standard errors are above it: rounds are added
    est = jacsense.jacobian(noisy, np.zeros(n), tol=tol, noise=1e-7, max_calls=400)
    assert len(est.rounds) > 1
    assert est.calls < 400  # met before the cap
    assert est.std_errors is not None
    assert np.all(est.std_errors <= tol)
    assert np.max(np.abs(est.jacobian - A)) < 10 * tol


def test_max_calls_caps_the_session():
    n = 200
    est = jacsense.jacobian(broyden, -np.ones(n), max_calls=20)
    assert est.calls <= 20
