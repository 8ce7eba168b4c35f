//! `Scheme` and `Session`: the planner's decisions, and the rounds of calls at one
//! point (ask/tell).
//!
//! Python asks a session for its round's points, evaluates them wherever it likes and
//! tells the values back; `finish_round()` decodes with the GIL released and says
//! whether another round is wanted. `Scheme.at` makes the session whose first round is
//! the scheme's plan (the Python `Plan`). Pickling goes through the core's
//! `to_json`/`from_json` (a checksummed envelope), so a session sent to another
//! process is exactly the one that was made, with what was told.

use jacsense::{Bounds, ErasureReason, Estimate, Plan, PlanOptions, Progress, Scheme, Session, SessionOptions};
use jacsense_cli::report::{RunFacts, Timing, estimate_json};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::{message, to_py};
use crate::spec;
use crate::vjp::PyVjpPlan;

/// What is known of one call.
#[derive(Clone, Debug)]
pub enum Told {
    /// Not told yet (an erasure if never told).
    Pending,
    /// Its value, `m` numbers (non-finite ones make it an erasure when decoded).
    Value(Vec<f64>),
    /// It failed, for this reason.
    Erased(String),
}

impl Told {
    /// Hands each told call to `record`: its value, or why it failed (pending calls are
    /// left out: erasures when decoded).
    pub fn replay(
        told: &[Told],
        mut record: impl FnMut(usize, Result<&[f64], ErasureReason>) -> jacsense::Result<()>,
    ) -> jacsense::Result<()> {
        for (call, t) in told.iter().enumerate() {
            match t {
                Told::Pending => {}
                Told::Value(y) => record(call, Ok(y))?,
                Told::Erased(reason) => record(call, Err(ErasureReason::Failed(reason.clone())))?,
            }
        }
        Ok(())
    }
}

/// A known `f(x0)` and bounds on the inputs, from Python's optional arrays.
fn point_options(
    f0: Option<PyReadonlyArray1<'_, f64>>,
    lower: Option<PyReadonlyArray1<'_, f64>>,
    upper: Option<PyReadonlyArray1<'_, f64>>,
) -> PyResult<PlanOptions> {
    let bounds = match (lower, upper) {
        (Some(l), Some(u)) => Some(Bounds::new(l.as_array().to_vec(), u.as_array().to_vec()).map_err(to_py)?),
        (None, None) => None,
        _ => return Err(message("bounds need both a lower and an upper array")),
    };
    Ok(PlanOptions { f0: f0.map(|f| f.as_array().to_vec()), bounds })
}

/// How to sense `J` for a structure, at any point (the core's [`Scheme`]).
#[pyclass(module = "jacsense._jacsense", name = "Scheme", frozen)]
pub struct PyScheme {
    /// The core's scheme.
    pub scheme: Scheme,
}

#[pymethods]
impl PyScheme {
    /// Plans from a spec dict (structure and settings; see `jacsense.Scheme`).
    #[new]
    fn new(py: Python<'_>, spec: &Bound<'_, PyDict>) -> PyResult<Self> {
        let structure = spec::structure(spec)?;
        let settings = spec::settings(spec)?;
        let scheme = py.detach(|| Scheme::new(&structure, &settings)).map_err(to_py)?;
        Ok(PyScheme { scheme })
    }

    /// The session at `x0` whose first round is this scheme's plan, with a known
    /// `f(x0)`, bounds on the inputs, and the session's limits
    /// ([`Session::from_scheme`]).
    #[pyo3(signature = (x0, f0=None, lower=None, upper=None, max_calls=None, tol=None))]
    fn at(
        &self,
        x0: PyReadonlyArray1<'_, f64>,
        f0: Option<PyReadonlyArray1<'_, f64>>,
        lower: Option<PyReadonlyArray1<'_, f64>>,
        upper: Option<PyReadonlyArray1<'_, f64>>,
        max_calls: Option<usize>,
        tol: Option<f64>,
    ) -> PyResult<PySession> {
        let options = SessionOptions { point: point_options(f0, lower, upper)?, max_calls, tol, prior: None };
        let session = Session::from_scheme(&self.scheme, &x0.as_array().to_vec(), &options).map_err(to_py)?;
        Ok(PySession::new(session))
    }

    /// The scheme as JSON (the core's envelope with version and checksum).
    fn to_json(&self) -> String {
        self.scheme.to_json()
    }

    /// A scheme saved by `to_json`.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(PyScheme { scheme: Scheme::from_json(text).map_err(to_py)? })
    }

    /// Inputs `n`.
    #[getter]
    fn n(&self) -> usize {
        self.scheme.structure().dims().0
    }

    /// Outputs `m`.
    #[getter]
    fn m(&self) -> usize {
        self.scheme.structure().dims().1
    }

    /// Calls of a plan not given `f(x0)`.
    #[getter]
    fn calls(&self) -> usize {
        self.scheme.calls()
    }

    /// Measurements (directions).
    #[getter]
    fn measurements(&self) -> usize {
        self.scheme.measurements()
    }

    /// The lower bound `ρ_max` on measurements of row-wise decoding.
    #[getter]
    fn lower_bound(&self) -> usize {
        self.scheme.lower_bound()
    }

    /// The design the planner chose.
    #[getter]
    fn design(&self) -> &'static str {
        self.scheme.settings().design.name()
    }

    /// The decoder the planner chose.
    #[getter]
    fn decoder(&self) -> &'static str {
        self.scheme.settings().decoder.name()
    }

    /// `(ordering, colors)` of the design's column coloring, if any.
    #[getter]
    fn coloring(&self) -> Option<(&'static str, usize)> {
        self.scheme.coloring().map(|(o, c)| (o.name(), c.num_colors()))
    }

    /// Whether the structure's pattern is dense (nothing known about `J`).
    #[getter]
    fn dense(&self) -> bool {
        self.scheme.structure().pattern().is_dense()
    }
}

/// The estimate as a dict of plain values and numpy arrays.
fn estimate_dict<'py>(
    py: Python<'py>,
    est: &Estimate,
    extra_calls: usize,
    report: &serde_json::Value,
) -> PyResult<Bound<'py, PyDict>> {
    let j = est.jacobian();
    let p = j.pattern();
    let mut indptr = Vec::with_capacity(p.nrows() + 1);
    indptr.push(0i64);
    let mut indices = Vec::with_capacity(p.nnz());
    for i in 0..p.nrows() {
        indices.extend(p.row(i).iter().map(|&c| c as i64));
        indptr.push(indices.len() as i64);
    }
    let d = est.diagnostics();
    let status = est.status();
    let out = PyDict::new(py);
    out.set_item("shape", (p.nrows(), p.ncols()))?;
    out.set_item("indptr", PyArray1::from_vec(py, indptr))?;
    out.set_item("indices", PyArray1::from_vec(py, indices))?;
    out.set_item("data", PyArray1::from_slice(py, j.values()))?;
    out.set_item("std_errors", est.std_errors().map(|s| PyArray1::from_slice(py, s)))?;
    out.set_item("status", status.name())?;
    out.set_item("message", status.to_string())?;
    out.set_item("status_rows", status.rows().to_vec())?;
    out.set_item("calls", d.calls + extra_calls)?;
    out.set_item("erasures", erasure_list(&d.erasures))?;
    let outliers: Vec<(usize, String)> = d
        .outliers
        .iter()
        .map(|o| {
            (o.call, format!("judged grossly wrong by {} of the {} rows that used it", o.rows_flagged, o.rows_seen))
        })
        .collect();
    out.set_item("outliers", outliers)?;
    out.set_item("undetermined_rows", est.undetermined_rows())?;
    out.set_item("design", d.design.name())?;
    out.set_item("decoder", d.decoder.name())?;
    out.set_item("noise", d.noise)?;
    out.set_item("f0", d.f0.as_ref().map(|f| PyArray1::from_slice(py, f)))?;
    out.set_item("report", report.to_string())?;
    Ok(out)
}

/// The `k × n` array of a plan's points, refused with a `jacsense.Error` naming the
/// sizes (not an abort) when it cannot be allocated.
pub fn points_array<'py>(
    py: Python<'py>,
    k: usize,
    n: usize,
    point: impl Fn(usize, &mut [f64]) -> jacsense::Result<()>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let too_large = || message(format!("the points of {k} calls × n = {n} inputs do not fit in memory"));
    let len = k.checked_mul(n).ok_or_else(too_large)?;
    let mut flat = Vec::new();
    flat.try_reserve_exact(len).map_err(|_| too_large())?;
    flat.resize(len, 0.0);
    if n > 0 {
        for (call, x) in flat.chunks_exact_mut(n).enumerate() {
            point(call, x).map_err(to_py)?;
        }
    }
    let array = Array2::from_shape_vec((k, n), flat).map_err(|e| message(e.to_string()))?;
    Ok(array.into_pyarray(py))
}

/// Erasures as `(call, reason)`.
pub fn erasure_list(erasures: &[jacsense::Erasure]) -> Vec<(usize, String)> {
    erasures.iter().map(|e| (e.call, e.reason.to_string())).collect()
}

/// A session that holds a `PySession`'s place while its own decodes on another thread
/// (1 × 1, told nothing: nothing to plan).
fn stand_in() -> Session {
    Session::new(&jacsense::Structure::dense(1, 1), &[0.0], &jacsense::Settings::default(), &SessionOptions::default())
        .expect("a 1 × 1 session")
}

/// Sensing in rounds at one point (the core's [`Session`]): ask a round's points, tell
/// their values, finish the round, until done. `jacsense.jacobian` and `jacsense.vjp`
/// run one to its end; `jacsense.Plan` (from `Scheme.at`) hands its rounds to the user.
#[pyclass(module = "jacsense._jacsense", name = "Session")]
pub struct PySession {
    session: Session,
    /// Whether `finish_round` keeps the session as it was before the round that finished
    /// it (`resumable`), so that a done session pickles: an estimate is not saved, but
    /// that round is decoded again on loading.
    keep: bool,
    /// The session before its last round was finished, as JSON (`keep` and done).
    before_done: Option<String>,
    /// Ctrl-C stopped a decode: the session went with it.
    interrupted: bool,
}

impl PySession {
    /// A session handed to the user (`Plan`): kept resumable when done.
    pub fn new(session: Session) -> Self {
        PySession { session, keep: true, before_done: None, interrupted: false }
    }

    fn current(&self) -> PyResult<&Plan> {
        self.live()?;
        self.session.ask().ok_or_else(|| message("the session is done: no round to ask or tell"))
    }

    /// An error once Ctrl-C stopped a decode of this session.
    fn live(&self) -> PyResult<()> {
        if self.interrupted {
            return Err(message("Ctrl-C stopped this session's decode, and the session with it: start again"));
        }
        Ok(())
    }

    fn timing(plan: f64, calls: f64, decode: f64) -> Timing {
        Timing { plan, calls, decode, total: plan + calls + decode }
    }
}

#[pymethods]
impl PySession {
    /// A session from a spec dict, at `x0`, with the session's options.
    #[new]
    #[pyo3(signature = (spec, x0, f0=None, lower=None, upper=None, max_calls=None, tol=None))]
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        py: Python<'_>,
        spec: &Bound<'_, PyDict>,
        x0: PyReadonlyArray1<'_, f64>,
        f0: Option<PyReadonlyArray1<'_, f64>>,
        lower: Option<PyReadonlyArray1<'_, f64>>,
        upper: Option<PyReadonlyArray1<'_, f64>>,
        max_calls: Option<usize>,
        tol: Option<f64>,
    ) -> PyResult<Self> {
        let structure = spec::structure(spec)?;
        let settings = spec::settings(spec)?;
        let options = SessionOptions { point: point_options(f0, lower, upper)?, max_calls, tol, prior: None };
        let x0 = x0.as_array().to_vec();
        let session = py.detach(|| Session::new(&structure, &x0, &settings, &options)).map_err(to_py)?;
        Ok(PySession { session, keep: false, before_done: None, interrupted: false })
    }

    /// Inputs `n`.
    #[getter]
    fn n(&self) -> usize {
        self.session.structure().dims().0
    }

    /// Outputs `m`.
    #[getter]
    fn m(&self) -> usize {
        self.session.structure().dims().1
    }

    /// The point of linearization.
    #[getter]
    fn x0<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, self.session.x0())
    }

    /// The scheme of the first round's plan.
    #[getter]
    fn scheme(&self) -> PyResult<PyScheme> {
        let plan = self.session.plan(0).ok_or_else(|| message("the session has no first round"))?;
        Ok(PyScheme { scheme: plan.scheme().clone() })
    }

    /// The current round (0 first).
    #[getter]
    fn round(&self) -> usize {
        self.session.round()
    }

    /// Whether the session is done.
    #[getter]
    fn done(&self) -> bool {
        self.session.is_done()
    }

    /// Calls of the current round, or None when done.
    #[getter]
    fn calls(&self) -> Option<usize> {
        self.session.ask().map(|p| p.calls())
    }

    /// Calls asked for in all rounds so far.
    #[getter]
    fn total_calls(&self) -> usize {
        self.session.calls()
    }

    /// The call of the current round at `x0` itself (call 0 of forward differences
    /// not given `f(x0)`), or None.
    #[getter]
    fn x0_call(&self) -> Option<usize> {
        let plan = self.session.ask()?;
        let forward = plan.settings().difference == jacsense::Difference::Forward;
        (forward && plan.given_f0().is_none() && plan.calls() > 0).then_some(0)
    }

    /// The current round's points, a `calls × n` array.
    fn points<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let plan = self.current()?;
        points_array(py, plan.calls(), plan.structure().dims().0, |call, x| plan.point(call, x))
    }

    /// The calls of the current round not told yet.
    fn pending(&self) -> Vec<usize> {
        self.session.pending()
    }

    /// The value of call `call` of the current round.
    fn tell(&mut self, call: usize, y: PyReadonlyArray1<'_, f64>) -> PyResult<()> {
        self.live()?;
        self.session.tell(call, y.as_array().as_slice().ok_or_else(|| message("y is not contiguous"))?).map_err(to_py)
    }

    /// Every value of the current round at once: row `j` of `values` (`calls × m`).
    fn tell_all(&mut self, values: PyReadonlyArray2<'_, f64>) -> PyResult<()> {
        let a = values.as_array();
        let (k, m) = (self.current()?.calls(), self.m());
        if a.shape() != [k, m] {
            return Err(message(format!("values of shape {:?}, expected (calls, m) = ({k}, {m})", a.shape())));
        }
        for (call, row) in a.outer_iter().enumerate() {
            self.session.tell(call, &row.to_vec()).map_err(to_py)?;
        }
        Ok(())
    }

    /// The values of some calls at once: row `r` of `values` is call `calls[r]`'s.
    fn tell_rows(&mut self, calls: Vec<usize>, values: PyReadonlyArray2<'_, f64>) -> PyResult<()> {
        self.live()?;
        let a = values.as_array();
        if a.shape()[0] != calls.len() {
            return Err(message(format!("values of shape {:?}, expected {} rows", a.shape(), calls.len())));
        }
        for (&call, row) in calls.iter().zip(a.outer_iter()) {
            self.session.tell(call, &row.to_vec()).map_err(to_py)?;
        }
        Ok(())
    }

    /// Marks call `call` of the current round as failed, with the reason.
    #[pyo3(signature = (call, reason=None))]
    fn erase(&mut self, call: usize, reason: Option<String>) -> PyResult<()> {
        self.live()?;
        let reason = reason.unwrap_or_else(|| "erased by the caller".into());
        self.session.erase(call, ErasureReason::Failed(reason)).map_err(to_py)
    }

    /// Decodes the round (GIL released); returns the next round's calls, or None when done.
    fn finish_round(&mut self, py: Python<'_>) -> PyResult<Option<usize>> {
        self.live()?;
        let before = self.keep.then(|| self.session.to_json());
        // The decode runs on a thread of its own while this one waits without the GIL
        // and looks for signals every 50 ms: Ctrl-C raises KeyboardInterrupt at once
        // (the decode finishes in the background, and its session is dropped).
        let mut session = std::mem::replace(&mut self.session, stand_in());
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let progress = session.finish_round();
            let _ = done.send((session, progress));
        });
        let mut finished = finished;
        let progress = loop {
            // (The receiver is Send, not Sync: it goes into the GIL-free wait and back.)
            let (received, back) = py.detach(move || {
                let received = finished.recv_timeout(std::time::Duration::from_millis(50));
                (received, finished)
            });
            finished = back;
            match received {
                Ok((session, progress)) => {
                    self.session = session;
                    break progress;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if let Err(interrupt) = py.check_signals() {
                        self.interrupted = true;
                        return Err(interrupt);
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    self.interrupted = true;
                    return Err(message("the decode stopped without a result (a panic in jacsense): a bug"));
                }
            }
        };
        match progress.map_err(to_py)? {
            Progress::Done => {
                self.before_done = before;
                Ok(None)
            }
            Progress::More { calls } => Ok(Some(calls)),
        }
    }

    /// The rounds so far, as dicts (the report's `rounds`).
    fn rounds<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.session.rounds().iter().map(|r| round_dict(py, r)).collect()
    }

    /// The estimate of a done session, as a dict (report included).
    #[pyo3(signature = (plan_seconds=0.0, calls_seconds=0.0, decode_seconds=0.0, extra_calls=0, workers=0))]
    fn estimate<'py>(
        &self,
        py: Python<'py>,
        plan_seconds: f64,
        calls_seconds: f64,
        decode_seconds: f64,
        extra_calls: usize,
        workers: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.live()?;
        let est = self.session.estimate().ok_or_else(|| message("the session is not done: finish its rounds"))?;
        let plan = self.session.plan(0).ok_or_else(|| message("the session has no first round"))?;
        let timing = PySession::timing(plan_seconds, calls_seconds, decode_seconds);
        let facts = RunFacts { program: Vec::new(), workers, log: None, extra_calls };
        let report = estimate_json("estimate", plan, est, &timing, &facts);
        estimate_dict(py, est, extra_calls, &report)
    }

    /// `w = Jᵀv` for every row `v` of `vs` from the done session's `J` (the Jacobian
    /// route of `plan`, whose choice and report it is): one dict per `v`, as
    /// `VjpPlan.estimate`'s, with the session's rounds in the report.
    #[pyo3(signature = (plan, vs, plan_seconds=0.0, calls_seconds=0.0, decode_seconds=0.0, extra_calls=0, workers=0))]
    #[allow(clippy::too_many_arguments)]
    fn vjp<'py>(
        &self,
        py: Python<'py>,
        plan: PyRef<'_, PyVjpPlan>,
        vs: PyReadonlyArray2<'_, f64>,
        plan_seconds: f64,
        calls_seconds: f64,
        decode_seconds: f64,
        extra_calls: usize,
        workers: usize,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.live()?;
        let est = self.session.estimate().ok_or_else(|| message("the session is not done: finish its rounds"))?;
        let vs: Vec<Vec<f64>> = vs.as_array().outer_iter().map(|r| r.to_vec()).collect();
        let estimates = est.vjp(&vs).map_err(to_py)?;
        let timing = PySession::timing(plan_seconds, calls_seconds, decode_seconds);
        let facts = RunFacts { program: Vec::new(), workers, log: None, extra_calls };
        let dicts = plan.dicts(py, &estimates, &est.diagnostics().rounds, &timing, &facts)?;
        // The largest standard error of J's entries (None without redundancy), for `tol`.
        let worst = est.std_errors().map(|se| se.iter().copied().filter(|v| v.is_finite()).fold(0.0f64, f64::max));
        for d in &dicts {
            d.set_item("jacobian_std_error", worst)?;
        }
        Ok(dicts)
    }

    /// The session as JSON, and whether it is done: a done session is saved as it was
    /// before its last round was finished (`from_json` finishes that round again).
    fn to_json(&self) -> PyResult<(String, bool)> {
        self.live()?;
        Ok(match (&self.before_done, self.session.is_done()) {
            (Some(before), true) => (before.clone(), true),
            _ => (self.session.to_json(), false),
        })
    }

    /// A session saved by `to_json`; `finish` finishes its current round (a session
    /// saved done).
    #[staticmethod]
    #[pyo3(signature = (text, finish=false))]
    fn from_json(py: Python<'_>, text: &str, finish: bool) -> PyResult<Self> {
        let mut session = PySession::new(Session::from_json(text).map_err(to_py)?);
        if finish {
            session.finish_round(py)?;
        }
        Ok(session)
    }
}

/// A round as a dict (the report's `rounds` entry).
fn round_dict<'py>(py: Python<'py>, r: &jacsense::Round) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("calls", r.calls)?;
    d.set_item("measurements", r.measurements)?;
    d.set_item("erasures", r.erasures)?;
    d.set_item("design", &r.design)?;
    d.set_item("why", &r.why)?;
    d.set_item("showed", &r.showed)?;
    d.set_item("open_rows", r.open_rows)?;
    Ok(d)
}
