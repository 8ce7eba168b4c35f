"""A blackbox as a JAX function: ``jax.grad``, ``jax.jit`` and ``jax.vmap`` through it.

The forward pass calls ``f`` on the host with ``jax.pure_callback``; the backward pass
computes ``w = Jᵀv`` with :func:`jacsense.vjp` (few calls of ``f`` around the forward
point), also on the host. ``f`` works in float64 numpy whatever JAX's dtype; enable
``jax_enable_x64`` for gradients to keep their digits.

>>> import jax, jax.numpy as jnp, numpy as np
>>> jax.config.update("jax_enable_x64", True)
>>> import jacsense.jax
>>> layer = jacsense.jax.blackbox(lambda x: np.tanh(x) * 2.0, (3,), pattern=np.eye(3))
>>> loss = jax.jit(lambda x: jnp.sum(layer(x) ** 2))
>>> x = jnp.array([0.1, -0.2, 0.3])
>>> bool(jnp.allclose(jax.grad(loss)(x), 8 * np.tanh(x) / np.cosh(x) ** 2, atol=1e-6))
True
>>> layer.calls_per_backward[-1]        # f(x) and one call for the diagonal
2
"""

from __future__ import annotations

import math

import numpy as np

import jacsense


def blackbox(f, out_shape, **options):
    """Wraps ``f: ndarray (in_shape) -> ndarray (out_shape)`` as a JAX-differentiable
    function.

    ``options`` are :func:`jacsense.vjp`'s keywords (``pattern`` over the flattened
    input and output, ``outliers``, ``noise``, ``executor``, ...). The returned
    function has ``calls_per_backward``: the calls of ``f`` each backward pass made
    (one entry per example under ``vmap``). Batched over a leading axis with
    ``jax.vmap`` (the callbacks run once per example).
    """
    import jax
    import jax.numpy as jnp

    out_shape = tuple(int(s) for s in out_shape)
    m = math.prod(out_shape)
    calls = []

    def host_forward(x):
        y = np.asarray(f(np.asarray(x, dtype=np.float64)), dtype=np.float64)
        if y.shape != out_shape:
            raise ValueError(f"f returned shape {y.shape}, expected out_shape {out_shape}")
        return y.astype(x.dtype)

    def host_backward(x, v):
        dtype = np.asarray(x).dtype  # JAX's (float32 unless jax_enable_x64)
        x = np.asarray(x, dtype=np.float64)
        shape = x.shape

        def flat(z):
            return np.asarray(f(z.reshape(shape)), dtype=np.float64).reshape(m)

        est = jacsense.vjp(flat, x.reshape(-1), np.asarray(v, dtype=np.float64).reshape(m), **options)
        calls.append(est.calls)
        return est.w.reshape(shape).astype(dtype)

    @jax.custom_vjp
    def apply(x):
        shape = jax.ShapeDtypeStruct(out_shape, x.dtype)
        return jax.pure_callback(host_forward, shape, x, vmap_method="sequential")

    def forward(x):
        return apply(x), x

    def backward(x, v):
        shape = jax.ShapeDtypeStruct(x.shape, x.dtype)
        w = jax.pure_callback(host_backward, shape, x, v.astype(x.dtype), vmap_method="sequential")
        return (w,)

    apply.defvjp(forward, backward)

    def layer(x):
        return apply(jnp.asarray(x))

    layer.calls_per_backward = calls
    layer.__doc__ = f"jacsense blackbox layer around {getattr(f, '__name__', f)!s} (out_shape {out_shape})"
    return layer
