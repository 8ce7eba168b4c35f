"""A Newton-type solve with SciPy: least_squares with a jacsense Jacobian (jac=).

The 2D Bratu problem Δu + λeᵘ = 0 on a grid (zero boundary), its residual a blackbox.
SciPy's trust-region solver asks for J at every iterate; jacsense gives it from the
pattern (5-point stencil) with one call per color (a ``Scheme`` colors it once; each
iterate gets its plan with ``scheme.at(u)``), where ``jac="2-point"`` without a
sparsity pays n + 1 calls and with ``jac_sparsity`` its own coloring. The table counts
the residual's calls of each way to the same solution.

Run: ``python python/examples/least_squares.py [--quick] [--plot FILE.png]``
(``--plot`` draws the last Jacobian with ``Estimate.spy``; needs matplotlib).
"""

import argparse
import time

import numpy as np
import scipy.optimize
import scipy.sparse as sp

import jacsense


def bratu(grid, lam=6.0):
    h = 1.0 / (grid + 1)
    calls = [0]

    def residual(u):
        calls[0] += 1
        U = np.pad(u.reshape(grid, grid), 1)
        lap = (U[:-2, 1:-1] + U[2:, 1:-1] + U[1:-1, :-2] + U[1:-1, 2:] - 4 * U[1:-1, 1:-1]) / h**2
        return (lap + lam * np.exp(U[1:-1, 1:-1])).ravel()

    one = sp.diags_array([1.0, 1.0, 1.0], offsets=[-1, 0, 1], shape=(grid, grid))
    eye = sp.eye_array(grid)
    pattern = (sp.kron(one, eye) + sp.kron(eye, one)).tocsr()
    return residual, pattern, calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 10×10 grid instead of 40×40")
    parser.add_argument("--plot", metavar="FILE", help="draw the last Jacobian (Estimate.spy) to FILE")
    args = parser.parse_args()
    grid = 10 if args.quick else 40
    n = grid * grid
    print(f"2D Bratu, {grid}×{grid} grid (n = m = {n}), scipy.optimize.least_squares from u = 0\n")
    print("| Jacobian | residual calls | of them for J | iterations | ‖F(u*)‖ | wall time |")
    print("|---|---|---|---|---|---|")
    last = {}
    names = ["jacsense (pattern)", "2-point with jac_sparsity", "2-point, nothing known"]
    if n > 400:  # n + 1 calls and a dense n × n J per iteration: minutes at n = 1600
        names.pop()
    for name in names:
        f, pattern, calls = bratu(grid)
        jac_calls = [0]

        if name.startswith("jacsense"):
            scheme = jacsense.Scheme(pattern)  # the coloring, once; scheme.at(u) per iterate

            def jac(u, scheme=scheme, f=f):
                est = scheme.at(u).evaluate(f).estimate()
                jac_calls[0] += est.calls
                last["est"] = est
                return est.jacobian
            options = dict(jac=jac)
        elif "sparsity" in name:
            options = dict(jac="2-point", jac_sparsity=pattern)
        else:
            options = dict(jac="2-point")
        start = time.perf_counter()
        result = scipy.optimize.least_squares(f, np.zeros(n), method="trf", **options)
        seconds = time.perf_counter() - start
        total = calls[0]
        of_jac = jac_calls[0] if name.startswith("jacsense") else total - result.nfev
        print(f"| {name} | {total} | {of_jac} | {result.nfev} | {np.linalg.norm(result.fun):.1e} | {seconds:.2f} s |")
    if len(names) < 3:
        print("| 2-point, nothing known | not run at this size (n + 1 calls per Jacobian; see --quick) | | | | |")
    est = last["est"]
    print(f"\nThe last jacsense estimate: {est.calls} calls, design {est.design}, status {est.status}.")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        ax = est.spy()
        ax.figure.savefig(args.plot, dpi=120, bbox_inches="tight")
        print(f"Drew it to {args.plot}.")


if __name__ == "__main__":
    main()
