"""Per-call overhead of the Python path: jacsense.jacobian against a plain loop of the same calls.

Coordinate differences on a diagonal pattern (n + 1 calls, each read off: the decode is
as cheap as it gets), for a trivial f (f(x) = 2x: the calls cost nothing, so what
remains is jacsense's own cost) and for an f that takes 1 ms per call (time.sleep:
a blackbox doing real work). Each way of calling is timed against the same calls made
without jacsense, in the same run: a plain ``for`` loop over the points, one batch call
``F(X)``, ``ThreadPoolExecutor(2).map``. Best of 3 runs each.
"overhead per call" is (jacsense − plain) / calls; "of which decode" is the report's
decode time (GIL released).

Run: ``python python/benchmarks/overhead.py [--quick]``
"""

import argparse
import concurrent.futures
import time

import numpy as np
import scipy.sparse as sp

import jacsense


def best(run, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
    return min(times), out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 100 and the trivial f only")
    args = parser.parse_args()
    print("| f | n | way of calling | calls | plain | jacsense | overhead per call | of which decode |")
    print("|---|---|---|---|---|---|---|---|")
    cases = [("f(x) = 2x", 0.0, 100)] if args.quick else [
        ("f(x) = 2x", 0.0, 100), ("f(x) = 2x", 0.0, 1000), ("1 ms per call", 1e-3, 1000)]
    for label, pause, n in cases:
        def f(x, pause=pause):
            if pause:
                time.sleep(pause)
            return 2.0 * x

        def F(X, pause=pause):
            if pause:
                time.sleep(pause * len(X))
            return 2.0 * X

        x0 = np.linspace(-1, 1, n)
        pattern = sp.eye_array(n, format="csr")
        kw = dict(pattern=pattern, design="coordinate")
        X = jacsense.Scheme(pattern, design="coordinate").at(x0).points()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            ways = [
                ("per point", lambda: [f(x) for x in X], lambda: jacsense.jacobian(f, x0, **kw)),
                ("vectorized", lambda: F(X), lambda: jacsense.jacobian(F, x0, vectorized=True, **kw)),
                ("ThreadPoolExecutor(2)", lambda: list(pool.map(f, X)), lambda: jacsense.jacobian(f, x0, executor=pool, **kw)),
            ]
            for way, plain, sensed in ways:
                t_plain, _ = best(plain)
                t_js, est = best(sensed)
                assert est.calls == len(X) and np.allclose(est.jacobian.diagonal(), 2.0, rtol=1e-6)
                decode = est.report["timing"]["decode_s"]
                print(
                    f"| {label} | {n} | {way} | {est.calls} | {1e3 * t_plain:.1f} ms | {1e3 * t_js:.1f} ms | "
                    f"{1e6 * (t_js - t_plain) / est.calls:.1f} µs | {1e3 * decode:.2f} ms |"
                )


if __name__ == "__main__":
    main()
