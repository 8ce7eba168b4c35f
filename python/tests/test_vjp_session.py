"""vjp() and gradient() run the core's session on the Jacobian route, as jacobian()
does: told nothing, adaptive rounds; tol and max_calls with the same meaning; the
rounds in VjpEstimate.rounds and the report."""

import numpy as np
import pytest

import jacsense
from blackboxes import broyden, broyden_jacobian, tridiagonal


def test_told_nothing_vjp_uses_adaptive_rounds():
    n = 200
    x0 = -np.ones(n)
    v = np.random.default_rng(1).standard_normal(n)
    est = jacsense.vjp(broyden, x0, v)
    assert est.route == "sense-jacobian"
    assert est.calls < n // 2, est.calls  # a one-round coordinate plan would make n + 1
    np.testing.assert_allclose(est.w, broyden_jacobian(x0).T @ v, atol=1e-5)
    assert len(est.rounds) > 1 and sum(r["calls"] for r in est.rounds) == est.calls
    assert est.report["rounds"] == est.rounds and est.report["calls"] == est.calls
    assert str(est.status) == "solved"


def test_vjp_batch_shares_one_session():
    n = 60
    x0 = np.linspace(-1, 1, n)
    V = np.random.default_rng(2).standard_normal((3, n))
    ests = jacsense.vjp(broyden, x0, V)
    assert len({e.calls for e in ests}) == 1
    for est, v in zip(ests, V):
        np.testing.assert_allclose(est.w, broyden_jacobian(x0).T @ v, atol=1e-5)


@pytest.mark.parametrize("noise", [1e-7, 0.0])  # told, or seen after the first round
def test_gradient_meets_tol_on_a_noisy_function(noise):
    n = 12
    rng = np.random.default_rng(3)
    c = rng.standard_normal(n)

    def noisy(x):  # gradient c + 2x
        return c @ x + x @ x + 1e-7 * rng.standard_normal()

    x0 = np.full(n, 0.5)
    tol = 2e-4
    g = jacsense.gradient(noisy, x0, tol=tol, noise=noise, max_calls=2000)
    assert g.tol_met is True
    assert len(g.rounds) > 1 and g.calls < 2000
    assert np.max(np.abs(g.w - (c + 2 * x0))) < 5 * tol


def test_gradient_tol_out_of_reach_stops_at_max_calls_and_says_so():
    n = 8
    rng = np.random.default_rng(4)
    noisy = lambda x: np.sum(x**2) + 1e-6 * rng.standard_normal()  # noqa: E731
    with pytest.warns(RuntimeWarning, match="not met"):
        g = jacsense.gradient(noisy, np.ones(n), tol=1e-6, max_calls=60)
    assert g.calls <= 60 and g.tol_met is False and "not met" in g.message


def test_vjp_max_calls_caps_the_session():
    n = 200
    est = jacsense.vjp(broyden, -np.ones(n), np.ones(n), max_calls=20)
    assert est.calls <= 20 and str(est.status) == "underdetermined"


def test_vjp_with_a_pattern_and_f0_and_bounds():
    n = 30
    x0 = -np.ones(n)
    v = np.arange(n, dtype=float)
    est = jacsense.vjp(broyden, x0, v, pattern=tridiagonal(n), f0=broyden(x0), bounds=(-1.0, np.inf))
    assert est.calls == 3  # three colors, f(x0) given
    np.testing.assert_allclose(est.w, broyden_jacobian(x0).T @ v, atol=1e-5)
    assert str(est.status) == "unverified"  # read off a coloring: J's rows are unverified


def test_direct_route_refuses_what_only_a_session_does():
    f = lambda x: np.array([x[3] ** 2])  # noqa: E731
    with pytest.raises(jacsense.Error, match="needs the Jacobian route"):
        jacsense.gradient(f, np.ones(50), sparsity=1, route="direct", tol=1e-3)
    # With route="auto", tol takes the Jacobian route.
    g = jacsense.gradient(f, np.ones(50), tol=1e-3, noise=1e-9)
    assert g.route == "sense-jacobian" and abs(g.w[3] - 2.0) < 1e-3


def test_vjp_takes_jacobians_keywords_and_no_others():
    with pytest.raises(TypeError, match="unexpected keyword argument 'pattren'"):
        jacsense.vjp(broyden, np.ones(5), np.ones(5), pattren=tridiagonal(5))
    est = jacsense.vjp(broyden, np.ones(5), np.ones(5), method="3-point", design="coordinate", seed=3)
    assert est.calls == 2 * 5  # central coordinate differences (m is v's: no call at x0)
    np.testing.assert_allclose(est.w, broyden_jacobian(np.ones(5)).T @ np.ones(5), atol=1e-8)
