"""Test functions with analytic Jacobians, importable by worker processes."""

import os

import numpy as np
import scipy.sparse as sp


def broyden(x):
    """Broyden's tridiagonal function: f_i = (3 − 2x_i) x_i − x_{i−1} − 2 x_{i+1} + 1."""
    x = np.asarray(x, dtype=float)
    y = (3 - 2 * x) * x + 1
    y[1:] -= x[:-1]
    y[:-1] -= 2 * x[1:]
    return y


def broyden_batch(X):
    """``broyden`` on each row of a k × n batch."""
    X = np.asarray(X, dtype=float)
    Y = (3 - 2 * X) * X + 1
    Y[:, 1:] -= X[:, :-1]
    Y[:, :-1] -= 2 * X[:, 1:]
    return Y


def broyden_jacobian(x):
    """The analytic Jacobian of ``broyden`` (dense)."""
    n = len(x)
    return sp.diags_array([-np.ones(n - 1), 3 - 4 * np.asarray(x, dtype=float), -2 * np.ones(n - 1)],
                          offsets=[-1, 0, 1]).toarray()


def tridiagonal(n):
    """The pattern of ``broyden``."""
    return sp.diags_array([np.ones(n - 1), np.ones(n), np.ones(n - 1)], offsets=[-1, 0, 1]).tocsr()


def dies_at_third_input_step(x):
    """``broyden``, but the worker process dies when input 2 is perturbed upwards."""
    if x[2] > -1.0:
        os._exit(3)
    return broyden(x)


def stencil(g):
    """The 2D 5-point stencil on a g × g grid as a CSR matrix, values 1 to 2: the
    Jacobian of f(x) = A x + 0.1 x² but for its diagonal."""
    rows, cols = [], []
    for i in range(g):
        for j in range(g):
            for di, dj in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
                if 0 <= i + di < g and 0 <= j + dj < g:
                    rows.append(i * g + j)
                    cols.append((i + di) * g + j + dj)
    return sp.csr_array((np.linspace(1.0, 2.0, len(rows)), (rows, cols)), shape=(g * g, g * g))
