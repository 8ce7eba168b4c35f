"""A real Dask cluster (2 worker processes) with one worker killed mid-run."""

import logging
import pathlib

import numpy as np
import pytest

import jacsense
from blackboxes import broyden_jacobian, tridiagonal

distributed = pytest.importorskip("distributed")


def test_dask_cluster_survives_a_killed_worker(tmp_path):
    n = 60
    x0 = -np.ones(n)
    marks = str(tmp_path)

    def f(x):
        # Closure: cloudpickle sends it by value to the workers.
        import os
        import time
        import uuid

        d = pathlib.Path(marks)
        (d / f"start-{uuid.uuid4().hex}").touch()
        time.sleep(0.05)
        started = len(list(d.glob("start-*")))
        if started >= 4:  # mid-run: a few calls are done
            try:
                fd = os.open(d / "killed", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                os._exit(1)  # this worker process dies, in the middle of a call
            except FileExistsError:
                pass
        y = (3 - 2 * x) * x + 1
        y[1:] -= x[:-1]
        y[:-1] -= 2 * x[1:]
        (d / f"done-{uuid.uuid4().hex}").touch()
        return y

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        with distributed.Client(cluster) as client:
            est = jacsense.jacobian(f, x0, pattern=tridiagonal(n), outliers=0.1, seed=3, executor=client)
    assert (tmp_path / "killed").exists(), "no worker was killed"
    started, done = len(list(tmp_path.glob("start-*"))), len(list(tmp_path.glob("done-*")))
    # Dask retried the lost call on the surviving (or restarted) worker (and recomputes
    # results the dead worker held); a call it could not retry would be an erasure.
    # Either way the result is complete.
    assert started > done and done + len(est.erasures) >= est.calls
    assert est.status is not jacsense.Status.INCOMPLETE and est.undetermined_rows == []
    truth = broyden_jacobian(x0)
    assert np.linalg.norm(est.jacobian.toarray() - truth) / np.linalg.norm(truth) < 1e-6
    assert est.calls == jacsense.Scheme(tridiagonal(n), outliers=0.1, seed=3).calls
