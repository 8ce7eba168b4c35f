"""A JAX training step through a blackbox layer.

A model ``y = W₂ · sim(W₁ x)`` whose middle layer ``sim`` is a blackbox (here a
stand-in: a nonlinear elementwise "simulator" with a neighbour coupling, evaluated in
numpy, that JAX cannot trace). ``jacsense.jax.blackbox`` makes it differentiable: the
forward pass calls it through ``jax.pure_callback``, the backward pass senses
``vᵀJ`` from a few calls (its bidiagonal pattern is known). Training runs under
``jax.jit`` with ``jax.vmap`` over the batch; the table prints the loss and the
simulator calls per backward pass, with the error of the gradient against JAX's own
on a traceable copy of the simulator.

Run: ``python python/examples/jax_training.py [--quick]``
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp

jax.config.update("jax_enable_x64", True)

import jacsense.jax  # noqa: E402

H = 16  # width of the blackbox layer


def simulator(z):
    """The blackbox: numpy only."""
    y = np.tanh(z) + 0.1 * z**3 / (1 + z**2)
    y[1:] += 0.05 * np.sin(z[:-1])
    return y


def simulator_jax(z):
    """The same function in JAX, only to check the gradients."""
    y = jnp.tanh(z) + 0.1 * z**3 / (1 + z**2)
    return y.at[1:].add(0.05 * jnp.sin(z[:-1]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 steps instead of 30")
    args = parser.parse_args()
    steps = 3 if args.quick else 30
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 4))
    Y = np.sin(X @ rng.standard_normal((4, 2)))
    pattern = sp.diags_array([1.0, 1.0], offsets=[-1, 0], shape=(H, H))
    layer = jacsense.jax.blackbox(simulator, (H,), pattern=pattern)

    def loss_with(sim):
        def loss(params, X, Y):
            W1, W2 = params
            hidden = jax.vmap(lambda x: sim(W1 @ x))(X)
            return jnp.mean((hidden @ W2.T - Y) ** 2)
        return loss

    loss = jax.jit(jax.value_and_grad(loss_with(layer)))
    reference = jax.jit(jax.grad(loss_with(simulator_jax)))
    params = (jnp.asarray(rng.standard_normal((H, 4)) * 0.5), jnp.asarray(rng.standard_normal((2, H)) * 0.3))
    print(f"8 examples, a {H}-wide blackbox layer (bidiagonal pattern), SGD, {steps} steps\n")
    print("| step | loss | simulator calls per example's backward | gradient error vs JAX autodiff |")
    print("|---|---|---|---|")
    for step in range(steps):
        before = len(layer.calls_per_backward)
        value, grads = loss(params, X, Y)
        calls = layer.calls_per_backward[before:]
        exact = reference(params, X, Y)
        error = max(float(jnp.linalg.norm(g - e) / jnp.linalg.norm(e)) for g, e in zip(grads, exact))
        if step < 3 or step == steps - 1 or step % 10 == 0:
            print(f"| {step} | {float(value):.4f} | {max(calls)} | {error:.1e} |")
        params = tuple(p - 0.2 * g for p, g in zip(params, grads))


if __name__ == "__main__":
    main()
