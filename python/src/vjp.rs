//! `VjpPlan`: the left action `w = Jᵀv` by ask/tell (the core's [`VjpPlan`] and
//! [`VjpMeasurements`]); the route (sense `J` and multiply, or sense `w` directly) is
//! chosen before any call.

use std::time::Instant;

use jacsense::{Round, Route, VjpEstimate, VjpMeasurements, VjpPlan, VjpSettings};
use jacsense_cli::report::{RunFacts, Timing, vjp_json};
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::{message, to_py};
use crate::scheme::{Told, erasure_list, points_array};
use crate::spec;

/// The calls of a left action `Jᵀv` at one point, and the values told back.
#[pyclass(module = "jacsense._jacsense", name = "VjpPlan")]
pub struct PyVjpPlan {
    plan: VjpPlan,
    settings: VjpSettings,
    m: usize,
    n: usize,
    told: Vec<Told>,
}

fn decode(plan: &VjpPlan, told: &[Told]) -> jacsense::Result<Vec<VjpEstimate>> {
    let mut measurements = VjpMeasurements::new(plan)?;
    Told::replay(told, |call, value| match value {
        Ok(y) => measurements.tell(call, y),
        Err(reason) => measurements.erase(call, reason),
    })?;
    Ok(measurements.decode())
}

#[pymethods]
impl PyVjpPlan {
    /// Plans `Jᵀv` for every row `v` of `vs` (`r × m`) at `x0`: `spec` as for
    /// `Scheme`, `route` `auto`, `jacobian` or `direct`, `sparsity` a bound on the
    /// nonzeros of `w`.
    #[new]
    #[pyo3(signature = (spec, x0, vs, route="auto", sparsity=None))]
    fn new(
        py: Python<'_>,
        spec: &Bound<'_, PyDict>,
        x0: PyReadonlyArray1<'_, f64>,
        vs: PyReadonlyArray2<'_, f64>,
        route: &str,
        sparsity: Option<usize>,
    ) -> PyResult<Self> {
        let structure = spec::structure(spec)?;
        let jacobian = spec::settings(spec)?;
        let route = match route {
            "auto" => Route::Auto,
            "jacobian" | "sense-jacobian" => Route::SenseJacobian,
            "direct" => Route::Direct,
            other => return Err(message(format!("route='{other}': expected 'auto', 'jacobian' or 'direct'"))),
        };
        let settings = VjpSettings {
            route,
            difference: jacobian.difference,
            step: jacobian.step.clone(),
            seed: jacobian.seed,
            sparsity,
            jacobian,
            ..VjpSettings::default()
        };
        let x0 = x0.as_array().to_vec();
        let vs: Vec<Vec<f64>> = vs.as_array().outer_iter().map(|r| r.to_vec()).collect();
        let plan = py.detach(|| VjpPlan::new(&structure, &x0, &vs, &settings)).map_err(to_py)?;
        let (n, m) = structure.dims();
        let told = vec![Told::Pending; plan.calls()];
        Ok(PyVjpPlan { plan, settings, m, n, told })
    }

    /// Inputs `n`.
    #[getter]
    fn n(&self) -> usize {
        self.n
    }

    /// Outputs `m`.
    #[getter]
    fn m(&self) -> usize {
        self.m
    }

    /// Calls of the blackbox.
    #[getter]
    fn calls(&self) -> usize {
        self.plan.calls()
    }

    /// The route chosen: `sense-jacobian` or `direct`.
    #[getter]
    fn route(&self) -> &'static str {
        self.plan.route().name()
    }

    /// The call whose point is `x0` (call 0 of forward differences), or None.
    #[getter]
    fn x0_call(&self) -> Option<usize> {
        let difference = match self.plan.jacobian_plan() {
            Some(p) => p.settings().difference,
            None => self.settings.difference,
        };
        (difference == jacsense::Difference::Forward && self.plan.calls() > 0).then_some(0)
    }

    /// Every point, a `calls × n` array.
    fn points<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        points_array(py, self.plan.calls(), self.n, |call, x| self.plan.point(call, x))
    }

    /// The value of call `call` (`m` numbers).
    fn tell(&mut self, call: usize, y: PyReadonlyArray1<'_, f64>) -> PyResult<()> {
        if call >= self.told.len() {
            return Err(to_py(jacsense::Error::UnknownCall { index: call, calls: self.told.len() }));
        }
        let y = y.as_array().to_vec();
        if y.len() != self.m {
            return Err(to_py(jacsense::Error::DimensionMismatch {
                what: "value length (outputs m)",
                expected: self.m,
                found: y.len(),
            }));
        }
        self.told[call] = Told::Value(y);
        Ok(())
    }

    /// The values of some calls at once: row `r` of `values` is call `calls[r]`'s.
    fn tell_rows(&mut self, calls: Vec<usize>, values: PyReadonlyArray2<'_, f64>) -> PyResult<()> {
        let a = values.as_array();
        if a.shape() != [calls.len(), self.m] {
            return Err(message(format!("values of shape {:?}, expected ({}, {})", a.shape(), calls.len(), self.m)));
        }
        for (&call, row) in calls.iter().zip(a.outer_iter()) {
            if call >= self.told.len() {
                return Err(to_py(jacsense::Error::UnknownCall { index: call, calls: self.told.len() }));
            }
            self.told[call] = Told::Value(row.to_vec());
        }
        Ok(())
    }

    /// Marks `call` as failed, with the reason.
    #[pyo3(signature = (call, reason=None))]
    fn erase(&mut self, call: usize, reason: Option<String>) -> PyResult<()> {
        if call >= self.told.len() {
            return Err(to_py(jacsense::Error::UnknownCall { index: call, calls: self.told.len() }));
        }
        self.told[call] = Told::Erased(reason.unwrap_or_else(|| "erased by the caller".into()));
        Ok(())
    }

    /// Decodes (GIL released): one dict per `v` with `w`, status, calls, erasures,
    /// outliers, support and the command's report.
    #[pyo3(signature = (plan_seconds=0.0, calls_seconds=0.0, extra_calls=0, workers=0))]
    fn estimate<'py>(
        &self,
        py: Python<'py>,
        plan_seconds: f64,
        calls_seconds: f64,
        extra_calls: usize,
        workers: usize,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let start = Instant::now();
        let (plan, told) = (&self.plan, &self.told);
        let estimates = py.detach(|| decode(plan, told)).map_err(to_py)?;
        let decode_seconds = start.elapsed().as_secs_f64();
        let timing = Timing {
            plan: plan_seconds,
            calls: calls_seconds,
            decode: decode_seconds,
            total: plan_seconds + calls_seconds + decode_seconds,
        };
        let facts = RunFacts { program: Vec::new(), workers, log: None, extra_calls };
        self.dicts(py, &estimates, &[], &timing, &facts)
    }
}

impl PyVjpPlan {
    /// One dict per estimate: `w`, status, calls, erasures, outliers, support and the
    /// command's report (with `rounds`, those of the Jacobian route's session).
    pub fn dicts<'py>(
        &self,
        py: Python<'py>,
        estimates: &[VjpEstimate],
        rounds: &[Round],
        timing: &Timing,
        facts: &RunFacts,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        estimates
            .iter()
            .map(|est| {
                let report = vjp_json(&self.plan, &self.settings, est, self.m, rounds, timing, facts);
                let out = PyDict::new(py);
                out.set_item("w", PyArray1::from_slice(py, &est.w))?;
                out.set_item("route", est.route.name())?;
                out.set_item("calls", est.calls + facts.extra_calls)?;
                out.set_item("status", est.status.name())?;
                out.set_item("support", est.support.clone())?;
                out.set_item("residual", est.residual)?;
                out.set_item("erasures", erasure_list(&est.erasures))?;
                let outliers: Vec<(usize, String)> =
                    est.outliers.iter().map(|&c| (c, "judged grossly wrong by the decoder".to_string())).collect();
                out.set_item("outliers", outliers)?;
                out.set_item("decoder", est.decoder.name())?;
                out.set_item("report", report.to_string())?;
                Ok(out)
            })
            .collect()
    }
}
