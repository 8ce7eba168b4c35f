"""A blackbox as a PyTorch autograd function.

``Blackbox.apply(x, f, options, calls)`` calls ``f`` (numpy float64 in and out) in the
forward pass and computes ``w = Jᵀv`` with :func:`jacsense.vjp` in the backward pass;
``calls`` (a :class:`Calls`, or None) gets the calls of each backward pass. :func:`blackbox`
wraps ``f`` once: ``layer = blackbox(f, pattern=...)``, ``layer(x)``,
``layer.calls_per_backward``. Under ``torch.vmap`` the function runs once per example
of the batched axis (its vmap rule), and so does its backward pass.

>>> import numpy as np, torch
>>> import jacsense.torch
>>> layer = jacsense.torch.blackbox(lambda x: np.tanh(x) * 2.0, pattern=np.eye(3))
>>> x = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64, requires_grad=True)
>>> (layer(x) ** 2).sum().backward()
>>> expected = 8 * np.tanh(x.detach().numpy()) / np.cosh(x.detach().numpy()) ** 2
>>> bool(np.allclose(x.grad.numpy(), expected, atol=1e-6))
True
>>> layer.calls_per_backward[-1]        # f(x) and one call for the diagonal
2
"""

from __future__ import annotations

import numpy as np
import torch

import jacsense


class Calls:
    """Where the calls of each backward pass go (``.per_backward``, a list). Not a list
    itself: torch copies list arguments (pytrees) on their way to ``backward``."""

    def __init__(self):
        self.per_backward = []


class Blackbox(torch.autograd.Function):
    """``y = f(x)`` with the backward pass by Jacobian sensing."""

    @staticmethod
    def forward(x, f, options, calls):
        xs = x.detach().cpu().numpy().astype(np.float64)
        y = np.asarray(f(xs), dtype=np.float64)
        return torch.as_tensor(y, dtype=x.dtype, device=x.device)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, f, options, calls = inputs
        ctx.save_for_backward(x)
        ctx.f, ctx.options, ctx.calls, ctx.out_shape = f, options or {}, calls, tuple(output.shape)

    @staticmethod
    def backward(ctx, v):
        (x,) = ctx.saved_tensors
        xs = x.detach().cpu().numpy().astype(np.float64)
        shape, m = xs.shape, int(np.prod(ctx.out_shape))
        f = ctx.f

        def flat(z):
            return np.asarray(f(z.reshape(shape)), dtype=np.float64).reshape(m)

        vs = v.detach().cpu().numpy().astype(np.float64).reshape(m)
        est = jacsense.vjp(flat, xs.reshape(-1), vs, **ctx.options)
        if ctx.calls is not None:
            ctx.calls.per_backward.append(est.calls)
        w = torch.as_tensor(est.w.reshape(shape), dtype=x.dtype, device=x.device)
        return w, None, None, None

    @staticmethod
    def vmap(info, in_dims, x, f, options, calls):
        # One call of the blackbox (and of its backward) per example.
        x = x.movedim(in_dims[0], 0)
        return torch.stack([Blackbox.apply(xi, f, options, calls) for xi in x.unbind(0)]), 0


def blackbox(f, **options):
    """``f`` (numpy in, numpy out) as a differentiable torch function; ``options`` are
    :func:`jacsense.vjp`'s keywords. The result has ``calls_per_backward``."""
    calls = Calls()

    def layer(x):
        return Blackbox.apply(x, f, options, calls)

    layer.calls_per_backward = calls.per_backward
    return layer
