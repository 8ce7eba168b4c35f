"""SciPy's approx_derivative(f, x0, sparsity=...) against jacsense.jacobian(f, x0, pattern=...).

The problems of BENCHMARKS.md's calls table (`cargo run --release -p jacsense --example
calls suite`): the same functions and pattern families, written in numpy; the random
patterns are drawn by numpy here (seeded), so they are not the Rust suite's draws. Each
row is one run of each: calls of f, the relative Frobenius error against the analytic
Jacobian, and the wall time (planning and coloring included on both sides, since both
are given the pattern afresh). Forward differences and default steps on both sides.

Run: ``python python/benchmarks/scipy_compare.py [--quick]``
"""

import argparse
import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize._numdiff import approx_derivative

import jacsense


def random_pattern(m, n, per_row, seed):
    rng = np.random.default_rng(seed)
    cols = np.concatenate([rng.choice(n, per_row, replace=False) for _ in range(m)])
    rows = np.repeat(np.arange(m), per_row)
    return sp.csr_array((np.ones(m * per_row), (rows, cols)), shape=(m, n))


def random_matrix(pattern, seed):
    rng = np.random.default_rng(seed)
    a = sp.csr_array(pattern, dtype=float, copy=True)
    a.data = rng.uniform(0.1, 1.0, a.nnz) * rng.choice([-1.0, 1.0], a.nnz)
    return a


def pattern_function(a):
    """f_i = Σ_j a_ij sin x_j + ½ s_i², s = A x: J_ij = a_ij (cos x_j + s_i)."""
    n = a.shape[1]

    def f(x):
        s = a @ x
        return a @ np.sin(x) + 0.5 * s * s

    def jac(x):
        s = a @ x
        j = a.tocoo()
        return sp.csr_array((j.data * (np.cos(x[j.col]) + s[j.row]), (j.row, j.col)), shape=a.shape)

    return f, jac, 0.5 + np.sin(0.37 * np.arange(n)), a


def broyden(n):
    def f(x):
        y = (3 - 2 * x) * x + 1
        y[1:] -= x[:-1]
        y[:-1] -= 2 * x[1:]
        return y

    def jac(x):
        return sp.diags_array([-np.ones(n - 1), 3 - 4 * x, -2 * np.ones(n - 1)], offsets=[-1, 0, 1]).tocsr()

    x0 = -np.ones(n)
    return f, jac, x0, jac(x0)


def bratu(grid, lam=6.0):
    h = 1.0 / (grid + 1)
    s = 1 / h**2

    def f(u):
        U = np.pad(u.reshape(grid, grid), 1)
        lap = U[:-2, 1:-1] + U[2:, 1:-1] + U[1:-1, :-2] + U[1:-1, 2:] - 4 * U[1:-1, 1:-1]
        return (s * lap + lam * np.exp(U[1:-1, 1:-1])).ravel()

    one = sp.diags_array([1.0, 0.0, 1.0], offsets=[-1, 0, 1], shape=(grid, grid))
    eye = sp.eye_array(grid)
    off = (sp.kron(one, eye) + sp.kron(eye, one)).tocsr()

    def jac(u):
        return (s * off + sp.diags_array(-4 * s + lam * np.exp(u))).tocsr()

    a, b = np.meshgrid(np.arange(1, grid + 1) * h, np.arange(1, grid + 1) * h, indexing="ij")
    x0 = (4 * a * (1 - a) * b * (1 - b)).ravel()
    return f, jac, x0, jac(x0)


def arrowhead(n):
    def f(x):
        y = x[0] * x + np.sin(x)
        y[0] = 0.5 * x @ x
        return y

    def jac(x):
        rows = np.concatenate([np.zeros(n, int), np.arange(1, n), np.arange(1, n)])
        cols = np.concatenate([np.arange(n), np.zeros(n - 1, int), np.arange(1, n)])
        vals = np.concatenate([x, x[1:], x[0] + np.cos(x[1:])])
        return sp.csr_array((vals, (rows, cols)), shape=(n, n))

    x0 = 0.5 + np.sin(0.37 * np.arange(n))
    return f, jac, x0, jac(x0)


def laplacian(grid, dims):
    one = sp.diags_array([1.0, 1.0, 1.0], offsets=[-1, 0, 1], shape=(grid, grid))
    eye = sp.eye_array(grid)
    if dims == 2:
        return (sp.kron(one, eye) + sp.kron(eye, one)).tocsr()
    return (sp.kron(sp.kron(one, eye), eye) + sp.kron(sp.kron(eye, one), eye) + sp.kron(sp.kron(eye, eye), one)).tocsr()


def suite(quick):
    band = lambda n, w: sp.diags_array([np.ones(n - abs(k)) for k in range(-w, w + 1)], offsets=list(range(-w, w + 1))).tocsr()  # noqa: E731
    problems = [
        ("tridiagonal (Broyden) n=10000", lambda: broyden(10000)),
        ("banded, bandwidth 5, n=5000", lambda: pattern_function(random_matrix(band(5000, 5), 1))),
        ("2D 5-point (Bratu) 100x100", lambda: bratu(100)),
        ("3D 7-point 20x20x20", lambda: pattern_function(random_matrix(laplacian(20, 3), 2))),
        ("random, 5 per row, 2000x2000", lambda: pattern_function(random_matrix(random_pattern(2000, 2000, 5, 3), 3))),
        ("random, 2 per row, 2000x2000", lambda: pattern_function(random_matrix(random_pattern(2000, 2000, 2, 4), 4))),
        ("random, 2 per row, 20000x2000", lambda: pattern_function(random_matrix(random_pattern(20000, 2000, 2, 5), 5))),
        ("random, 2 per row, 60000x2000", lambda: pattern_function(random_matrix(random_pattern(60000, 2000, 2, 7), 7))),
        ("arrowhead n=1000", lambda: arrowhead(1000)),
        ("block-diagonal 200 blocks 8x8", lambda: pattern_function(random_matrix(sp.block_diag([np.ones((8, 8))] * 200, format="csr"), 6))),
    ]
    return problems[:3] if quick else problems


def counted(f):
    calls = [0]

    def g(x):
        calls[0] += 1
        return f(x)

    return g, calls


def error(J, truth):
    d = (sp.csr_array(J) - truth).toarray() if truth.shape[0] * truth.shape[1] <= 4e7 else None
    if d is None:
        diff = sp.csr_array(J) - truth
        return sp.linalg.norm(diff) / sp.linalg.norm(truth)
    return np.linalg.norm(d) / sp.linalg.norm(truth)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the first three problems only")
    args = parser.parse_args()
    print("| problem | n | m | SciPy calls | SciPy error | SciPy time | jacsense calls | jacsense error | jacsense time (planning + decoding) | jacsense status |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, make in suite(args.quick):
        f, jac, x0, pattern = make()
        pattern = sp.csr_array(pattern, dtype=bool)
        truth = jac(x0)
        g, calls = counted(f)
        start = time.perf_counter()
        J = approx_derivative(g, x0, method="2-point", sparsity=pattern)
        t_scipy = time.perf_counter() - start
        scipy_calls, e_scipy = calls[0], error(J, truth)
        g, calls = counted(f)
        start = time.perf_counter()
        est = jacsense.jacobian(g, x0, pattern=pattern)
        t_js = time.perf_counter() - start
        assert calls[0] == est.calls
        timing = est.report["timing"]
        m, n = pattern.shape
        print(
            f"| {name} | {n} | {m} | {scipy_calls} | {e_scipy:.1e} | {1e3 * t_scipy:.1f} ms | {est.calls} | "
            f"{error(est.jacobian, truth):.1e} | {1e3 * t_js:.1f} ms ({1e3 * timing['plan_s']:.1f} + "
            f"{1e3 * timing['decode_s']:.1f}) | {est.status} |"
        )


if __name__ == "__main__":
    main()
