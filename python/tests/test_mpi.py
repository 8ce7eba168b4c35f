"""mpi4py.futures as the executor: the same ``jacobian`` call as with a thread pool,
its calls run by MPI worker processes (MPICH from its PyPI wheel), started by
``mpiexec -n 3 python -m mpi4py.futures``."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("mpi4py")

SCRIPT = """
import os
import pathlib

import numpy as np
from mpi4py import MPI
from mpi4py.futures import MPIPoolExecutor

import jacsense

# From the environment: mpiexec gives it to every rank (the workers' argv is not ours).
MARKS = pathlib.Path(os.environ["JACSENSE_MPI_MARKS"])


def f(x):
    # Broyden's tridiagonal function; each call leaves a mark of the rank that made it.
    (MARKS / f"rank-{MPI.COMM_WORLD.Get_rank()}").touch()
    n = len(x)
    return np.array(
        [(3 - 2 * x[i]) * x[i] - (x[i - 1] if i else 0) - 2 * (x[i + 1] if i + 1 < n else 0) + 1 for i in range(n)]
    )


if __name__ == "__main__":
    n = 30
    x0 = -np.ones(n)
    exact = np.diag(np.full(n, 7.0)) + np.diag(np.full(n - 1, -1.0), -1) + np.diag(np.full(n - 1, -2.0), 1)
    with MPIPoolExecutor() as executor:
        est = jacsense.jacobian(f, x0, executor=executor)
    error = np.linalg.norm(np.asarray(est.jacobian) - exact) / np.linalg.norm(exact)
    print("RESULT", est.calls, error, est.status)
"""


def test_mpi4py_futures_runs_the_calls_on_mpi_workers(tmp_path):
    mpiexec = shutil.which("mpiexec", path=str(pathlib.Path(sys.executable).parent)) or shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("no mpiexec")
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    marks = tmp_path / "marks"
    marks.mkdir()
    out = subprocess.run(
        [mpiexec, "-n", "3", sys.executable, "-m", "mpi4py.futures", str(script)],
        env={**os.environ, "JACSENSE_MPI_MARKS": str(marks)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    result = next(line for line in out.stdout.splitlines() if line.startswith("RESULT")).split()
    calls, error, status = int(result[1]), float(result[2]), result[3]
    assert error < 1e-6, out.stdout
    assert status == "solved" and calls < 31, out.stdout  # told nothing: rounds, not n + 1
    # The calls ran on the worker ranks, not on rank 0 (the call at x0 that tells m too).
    ranks = sorted(p.name for p in marks.iterdir())
    assert ranks and "rank-0" not in ranks, ranks
