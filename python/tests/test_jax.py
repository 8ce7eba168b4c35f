"""jax.grad through a blackbox layer, under jit and vmap."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

import jacsense.jax  # noqa: E402

A = np.random.default_rng(0).standard_normal((5, 8))


def model(x):
    """A blackbox layer R⁸ → R⁵: tanh(A x)."""
    return np.tanh(A @ x)


def test_grad_under_jit_matches_the_analytic_gradient():
    layer = jacsense.jax.blackbox(model, (5,), pattern=np.ones((5, 8)), central=True)
    target = jnp.linspace(-0.5, 0.5, 5)

    @jax.jit
    def loss(x):
        return jnp.sum((layer(x) - target) ** 2)

    x = jnp.linspace(-1.0, 1.0, 8)
    y = np.tanh(A @ np.asarray(x))
    analytic = A.T @ (2 * (y - np.asarray(target)) * (1 - y ** 2))
    g = jax.grad(loss)(x)
    # Central differences: error O(∛ε²) ≈ 4e-11 relative, times the curvature.
    assert np.linalg.norm(g - analytic) / np.linalg.norm(analytic) < 1e-8
    assert float(loss(x)) == pytest.approx(float(np.sum((y - np.asarray(target)) ** 2)))
    # Nothing known beyond the dense pattern: the told-nothing session's one round of
    # n + ⌈0.05 n⌉ + 2 = 11 directions (least squares, redundancy that validates), two calls each.
    assert layer.calls_per_backward == [22]


def test_vmap_over_a_leading_axis():
    layer = jacsense.jax.blackbox(model, (5,))
    X = jnp.stack([jnp.linspace(-1.0, 1.0, 8), jnp.linspace(0.5, -0.5, 8), jnp.zeros(8)])

    def loss(x):
        return jnp.sum(layer(x))

    G = jax.jit(jax.vmap(jax.grad(loss)))(X)
    for x, g in zip(np.asarray(X), np.asarray(G)):
        analytic = A.T @ (1 - np.tanh(A @ x) ** 2)
        assert np.linalg.norm(g - analytic) / np.linalg.norm(analytic) < 1e-6
    assert len(layer.calls_per_backward) == 3


def test_float32_in_float32_out():
    layer = jacsense.jax.blackbox(lambda x: np.tanh(x) * 2.0, (3,), pattern=np.eye(3))
    x = jnp.array([0.1, -0.2, 0.3], dtype=jnp.float32)
    g = jax.jit(jax.grad(lambda x: jnp.sum(layer(x) ** 2)))(x)
    assert g.dtype == jnp.float32 and layer(x).dtype == jnp.float32
    x64 = np.asarray(x, dtype=np.float64)
    # float32 output: the error of the rounding to float32, a few ulps.
    assert np.allclose(g, 8 * np.tanh(x64) / np.cosh(x64) ** 2, rtol=8 * np.finfo(np.float32).eps)
