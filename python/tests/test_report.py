"""Estimate.report has the content of the command's --report: the same plan, values told
through `jacsense ask` / `jacsense tell` and through the Python package give the same
report, timing and the facts about how the calls were made aside."""

import json
import pathlib
import subprocess

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

import jacsense
from blackboxes import broyden, tridiagonal

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMMAND = ROOT / "target" / "release" / "jacsense"  # built by scripts/test's cargo test --release


@pytest.mark.skipif(not COMMAND.exists(), reason="the jacsense command is not built (cargo build --release)")
@pytest.mark.parametrize("outliers", [0.0, 0.1])
def test_report_matches_the_commands(tmp_path, outliers):
    n = 30
    x0 = -np.ones(n)
    pattern = tridiagonal(n)
    scipy.io.mmwrite(tmp_path / "pattern.mtx", sp.coo_matrix(pattern != 0), field="pattern")
    run = tmp_path / "run"
    x0_text = " ".join(repr(float(v)) for v in x0)
    ask = [str(COMMAND), "ask", "--x0", x0_text, "--pattern", str(tmp_path / "pattern.mtx"), "--out", str(run), "-q"]
    if outliers:
        ask += ["--outliers", str(outliers)]
    subprocess.run(ask, check=True)
    points = np.load(run / "points.npy")
    values = np.array([broyden(x) for x in points])
    values[2] += 100.0  # one wrong call
    np.save(tmp_path / "values.npy", values)
    subprocess.run(
        [str(COMMAND), "tell", str(run), "--values", str(tmp_path / "values.npy"), "--report", str(tmp_path / "r.json"),
         "-q"],
        check=False,  # the exit code follows the status
    )
    theirs = json.loads((tmp_path / "r.json").read_text())

    plan = jacsense.Scheme(pattern, outliers=outliers).at(x0)
    np.testing.assert_array_equal(plan.points(), points)

    def told(x):  # the values the command was told, looked up by point
        hits = np.flatnonzero((points == x).all(axis=1))
        assert hits.size >= 1, "a call at a point the command did not ask for"
        return values[hits[0]]

    est = jacsense.jacobian(told, x0, pattern=pattern, outliers=outliers)
    ours = est.report
    for r in (theirs, ours):
        for key in ("timing", "program", "workers", "worker_log", "command"):
            r.pop(key)
    # Both run the plan as a session's round: the same rounds, the same report.
    assert len(theirs["rounds"]) == 1
    assert ours["rounds"] == est.rounds
    assert ours == theirs
