"""Ray, through the one-line executor adapter the README gives (Ray has no
``concurrent.futures`` executor of its own): a real local Ray instance, 2 CPUs."""

import os
import pathlib

import numpy as np
import pytest

import jacsense
from blackboxes import broyden_jacobian, tridiagonal

ray = pytest.importorskip("ray")
# ray.init starts its processes by fork + exec (subprocess), safe beside JAX's threads
# from the tests before; JAX warns of any fork all the same.
pytestmark = pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")


class RayExecutor:
    """``submit`` as ``concurrent.futures`` has it: a Ray task, its ObjectRef as a future."""

    def submit(self, fn, *args):
        return ray.remote(fn).remote(*args).future()


@pytest.fixture(scope="module")
def local_ray():
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local instance, no token to set up
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def broyden(x):
    y = (3 - 2 * x) * x + 1
    y[1:] -= x[:-1]
    y[:-1] -= 2 * x[1:]
    return y


def test_ray_tasks_give_the_jacobian(local_ray):
    n = 30
    x0 = -np.ones(n)
    est = jacsense.jacobian(broyden, x0, pattern=tridiagonal(n), executor=RayExecutor())
    truth = broyden_jacobian(x0)
    assert np.linalg.norm(est.jacobian.toarray() - truth) / np.linalg.norm(truth) < 1e-6
    assert est.erasures == [] and est.calls == jacsense.Scheme(tridiagonal(n)).calls


def test_a_raising_task_is_an_erasure_and_a_killed_worker_is_retried(local_ray, tmp_path):
    n = 30
    x0 = -np.ones(n)
    marks = str(tmp_path)

    def f(x):
        d = pathlib.Path(marks)
        if x[0] > -1.0 and x[1] == -1.0:  # a call that moves x[0] up and x[1] not raises
            raise RuntimeError("solver diverged")
        try:  # the first call to reach here kills its worker process, mid-call
            fd = os.open(d / "killed", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.close(fd)
            os._exit(1)
        except FileExistsError:
            pass
        return broyden(x)

    est = jacsense.jacobian(f, x0, pattern=tridiagonal(n), design="coordinate", executor=RayExecutor())
    assert (tmp_path / "killed").exists(), "no worker was killed"
    # Ray retried the killed worker's task (its default for a dead worker): the only
    # calls lost are those that raised (the session tried column 0 again in rounds of
    # its own), and their reason names the exception.
    assert est.erasures and all("solver diverged" in reason for _, reason in est.erasures)
    assert len(est.erasures) == est.calls - (n + 1)
    # The second round's random directions on column 0 that move x[0] down succeed:
    # every row is determined.
    assert len(est.rounds) == 2 and est.undetermined_rows == []
    truth = broyden_jacobian(x0)
    assert np.linalg.norm(est.jacobian.toarray() - truth) / np.linalg.norm(truth) < 1e-6
