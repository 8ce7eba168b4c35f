"""A blackbox as a PyTorch autograd function.

``Blackbox.apply(x, f, options, calls)`` calls ``f`` (numpy float64 in and out) in the
forward pass and computes ``w = Jᵀv`` with :func:`jacsense.vjp` in the backward pass;
``calls`` (a list, or None) gets the calls of each backward pass. :func:`blackbox`
wraps ``f`` once: ``layer = blackbox(f, pattern=...)``, ``layer(x)``,
``layer.calls_per_backward``. Batched inputs: apply the layer per example (or give
a ``vectorized`` f through :func:`jacsense.vjp`'s options per example).
"""

from __future__ import annotations

import numpy as np
import torch

import jacsense


class Blackbox(torch.autograd.Function):
    """``y = f(x)`` with the backward pass by Jacobian sensing."""

    @staticmethod
    def forward(ctx, x, f, options, calls):
        xs = x.detach().cpu().numpy().astype(np.float64)
        y = np.asarray(f(xs), dtype=np.float64)
        ctx.save_for_backward(x)
        ctx.f, ctx.options, ctx.calls, ctx.out_shape = f, options or {}, calls, y.shape
        return torch.as_tensor(y, dtype=x.dtype, device=x.device)

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
            ctx.calls.append(est.calls)
        w = torch.as_tensor(est.w.reshape(shape), dtype=x.dtype, device=x.device)
        return w, None, None, None


def blackbox(f, **options):
    """``f`` (numpy in, numpy out) as a differentiable torch function; ``options`` are
    :func:`jacsense.vjp`'s keywords. The result has ``calls_per_backward``."""
    calls = []

    def layer(x):
        return Blackbox.apply(x, f, options, calls)

    layer.calls_per_backward = calls
    return layer
