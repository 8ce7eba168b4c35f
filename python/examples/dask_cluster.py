"""A Jacobian on a Dask cluster: each call of a slow simulator runs on a worker.

A stand-in simulator (Broyden's tridiagonal function that takes 200 ms per call, 20 ms
with --quick, as a real code would take seconds) is evaluated through ``distributed.Client``, passed as
``executor=``; jacsense plans the calls, Dask spreads them, jacsense decodes. With
``outliers=0.1`` the plan has redundant calls, so a call lost with its worker, or one
that returns garbage, costs nothing. The table compares a local serial run with the
cluster run (a LocalCluster here; a real cluster's ``Client("scheduler:8786")`` works
the same).

Run: ``python python/examples/dask_cluster.py [--quick]``
"""

import argparse
import functools
import logging
import time

import numpy as np
import scipy.sparse as sp

import jacsense


def simulator(x, seconds=0.2):
    time.sleep(seconds)
    y = (3 - 2 * x) * x + 1
    y[1:] -= x[:-1]
    y[:-1] -= 2 * x[1:]
    return y


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 200 instead of 5000")
    args = parser.parse_args()
    import distributed

    n = 200 if args.quick else 5000
    seconds = 0.02 if args.quick else 0.2
    f = functools.partial(simulator, seconds=seconds)
    x0 = -np.ones(n)
    pattern = sp.diags_array([1.0, 1.0, 1.0], offsets=[-1, 0, 1], shape=(n, n))
    truth = sp.diags_array([-np.ones(n - 1), 3 - 4 * x0, -2 * np.ones(n - 1)], offsets=[-1, 0, 1]).toarray()
    print(f"Broyden tridiagonal, n = {n}, {1e3 * seconds:.0f} ms per call, outliers=0.1 (redundant calls, L1 decoding)\n")
    print("| where | calls | erasures | wall time | relative error | status |")
    print("|---|---|---|---|---|---|")
    rows = []
    start = time.perf_counter()
    est = jacsense.jacobian(f, x0, pattern=pattern, outliers=0.1)
    rows.append(("in process, serial", est, time.perf_counter() - start))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        with distributed.Client(cluster) as client:
            start = time.perf_counter()
            est = jacsense.jacobian(f, x0, pattern=pattern, outliers=0.1, executor=client)
            rows.append(("LocalCluster, 2 worker processes", est, time.perf_counter() - start))
    for where, est, seconds in rows:
        error = np.linalg.norm(est.jacobian.toarray() - truth) / np.linalg.norm(truth)
        print(f"| {where} | {est.calls} | {len(est.erasures)} | {seconds:.2f} s | {error:.1e} | {est.status} |")


if __name__ == "__main__":
    main()
