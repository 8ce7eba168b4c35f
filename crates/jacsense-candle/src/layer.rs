//! The blackbox layer: a candle op whose forward calls the blackbox and whose backward
//! senses `vᵀJ` of every sample with jacsense (DESIGN.md §5).
//!
//! The planner decides once, when the layer is made, from the structure alone: the
//! route ([`Route`]: sense `J` then multiply, or sense `w = Jᵀv` directly) and, for
//! the Jacobian route, the [`Scheme`] — design, coloring, decoder, step rule — that
//! every sample of every step then reuses ([`Scheme::at_with`]), with the forward
//! pass's value as `f(x0)`. A backward pass places the scheme at each sample's point
//! `(x_b, θ)`, sends every sample's calls to the blackbox as one batch, decodes each
//! sample's Jacobian (erasures dropped, outliers voted out by L1 when declared) and
//! multiplies it by the sample's upstream gradient `v_b`
//! ([`Estimate::vjp`](jacsense::Estimate::vjp)). The gradient with respect to `x_b` is
//! the first `n` entries of `w_b`; that with respect to `θ` is the sum over the batch
//! of the last `p`.
//!
//! The upstream gradient of a layer inside a net is dense (it comes through a linear
//! layer), so the route is chosen for a dense `v`, whose candidates are every input:
//! the direct route then needs `n + p + 2` calls and sensing `J` never more than
//! `n + p`, so the planner takes the Jacobian unless `w = Jᵀv` itself is declared
//! sparse ([`VjpSettings::sparsity`]). The direct route, when taken (or forced with
//! [`Route::Direct`]), makes one plan per sample (its design depends on `v`) and
//! calls `f(x0)` again.
//!
//! [`Known::Nothing`] has no scheme: every sample runs a told-nothing adaptive
//! [`Session`] at its point, round by round, each round's calls of every open sample in
//! one batch, and its calls per sample are whatever the sessions needed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Module, Shape, Tensor, Var};
use jacsense::{
    Difference, ErasureReason, Measurements, Plan, PlanOptions, Route, RowStatus, Scheme, Session, SessionOptions,
    Structure, VjpMeasurements, VjpPlan, VjpSettings,
};
use rayon::prelude::*;

use crate::blackbox::{BatchBlackbox, LayerDims};
use crate::error::{Error, Result};
use crate::known::Known;
use crate::report::{StepReport, severity};

/// A layer `y = g(x; θ)` of a candle model whose `g` is a blackbox: its forward calls
/// `g`, its backward obtains `vᵀJ` of every sample from few calls (module docs).
///
/// ```
/// use candle_core::{Device, Tensor};
/// use jacsense::VjpSettings;
/// use jacsense_candle::{pointwise, BlackboxLayer, Known, LayerDims};
/// // A local mixing layer nobody can differentiate: y_i = tanh(x_{i−1} − x_i + x_{i+1}).
/// let n = 16;
/// let g = pointwise(LayerDims { inputs: n, parameters: 0, outputs: n }, move |x: &[f64], y: &mut [f64]| {
///     for i in 0..n {
///         let left = if i > 0 { x[i - 1] } else { 0.0 };
///         let right = x.get(i + 1).copied().unwrap_or(0.0);
///         y[i] = (left - x[i] + right).tanh();
///     }
///     Ok(())
/// });
/// let layer = BlackboxLayer::new(g, &Known::Banded { lower: 1, upper: 1 }, &VjpSettings::default())?;
/// let x = candle_core::Var::from_tensor(&Tensor::ones((4, n), candle_core::DType::F64, &Device::Cpu)?)?;
/// let loss = layer.forward(x.as_tensor())?.sum_all()?;
/// let grads = loss.backward()?;
/// let gx = grads.get(&x).unwrap().to_vec2::<f64>()?;
/// let t = 1f64.tanh();
/// assert!((gx[0][5] - (1.0 - t * t)).abs() < 1e-6); // (1 − 1 + 1) summed over rows 4, 5, 6
/// let step = layer.last_step().unwrap();
/// assert_eq!(step.calls_per_sample(), 3.0); // three colors, f(x0) from the forward pass
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct BlackboxLayer {
    core: Arc<LayerCore>,
    parameters: Option<Var>,
}

impl std::fmt::Debug for BlackboxLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlackboxLayer")
            .field("dims", &self.core.dims)
            .field("route", &self.route())
            .field("calls_per_sample", &self.calls_per_sample())
            .finish_non_exhaustive()
    }
}

struct LayerCore {
    blackbox: Box<dyn BatchBlackbox>,
    dims: LayerDims,
    structure: Structure,
    settings: VjpSettings,
    sensing: Sensing,
    steps: AtomicUsize,
    last: Mutex<Option<StepReport>>,
}

/// How the backward pass senses: one scheme for every sample, or a direct plan per
/// sample (its design depends on `v`).
enum Sensing {
    Jacobian(Scheme),
    Direct {
        calls: usize,
    },
    /// [`Known::Nothing`]: a told-nothing session per sample.
    Session,
}

impl BlackboxLayer {
    /// A layer of a blackbox without parameters of its own (`p = 0`), whose Jacobian
    /// is known to be as `known` says, sensed with `settings` (the Jacobian settings in
    /// `settings.jacobian`: `noise`, `outliers`, design, seed; `settings.route`).
    ///
    /// Errors: the blackbox has parameters (use [`BlackboxLayer::with_parameters`]), the
    /// declaration does not fit its sizes, or the planner refuses the settings.
    pub fn new<B: BatchBlackbox + 'static>(blackbox: B, known: &Known, settings: &VjpSettings) -> Result<Self> {
        Self::build(Box::new(blackbox), known, settings, &[])
    }

    /// A layer of a blackbox with `p` parameters `θ` of its own, trained with the rest
    /// of the model: they start at `theta` and are [`BlackboxLayer::parameters`], a
    /// candle [`Var`] to hand to the optimizer.
    ///
    /// Errors: as [`BlackboxLayer::new`], and `theta` not of length `p` or not finite.
    pub fn with_parameters<B: BatchBlackbox + 'static>(
        blackbox: B,
        known: &Known,
        settings: &VjpSettings,
        theta: &[f64],
    ) -> Result<Self> {
        Self::build(Box::new(blackbox), known, settings, theta)
    }

    fn build(blackbox: Box<dyn BatchBlackbox>, known: &Known, settings: &VjpSettings, theta: &[f64]) -> Result<Self> {
        let dims = blackbox.dims();
        if theta.len() != dims.parameters {
            return Err(Error::ParameterCount { expected: dims.parameters, found: theta.len() });
        }
        if let Some(index) = theta.iter().position(|t| !t.is_finite()) {
            return Err(Error::NonFiniteParameter { index, value: theta[index] });
        }
        let structure = known.structure(dims)?;
        // The planner's choice for a dense upstream gradient at a representative point
        // (x = 0): the route, and the Jacobian's scheme, depend on the structure only.
        let x0: Vec<f64> = std::iter::repeat_n(0.0, dims.inputs).chain(theta.iter().copied()).collect();
        let sensing = if *known == Known::Nothing {
            // The sessions' settings are checked once here (a budget that leaves no call
            // for a measurement is refused now, not at the first backward pass).
            Session::new(&structure, &x0, &settings.jacobian, &SessionOptions::default())?;
            Sensing::Session
        } else {
            let plan = VjpPlan::new(&structure, &x0, &[vec![1.0; dims.outputs]], settings)?;
            match plan.jacobian_plan() {
                Some(jacobian) => Sensing::Jacobian(jacobian.scheme().clone()),
                None => Sensing::Direct { calls: plan.calls() },
            }
        };
        let parameters = if theta.is_empty() {
            None
        } else {
            Some(Var::from_vec(theta.to_vec(), dims.parameters, &candle_core::Device::Cpu).map_err(tensor_error)?)
        };
        let core = LayerCore {
            blackbox,
            dims,
            structure,
            settings: settings.clone(),
            sensing,
            steps: AtomicUsize::new(0),
            last: Mutex::new(None),
        };
        Ok(BlackboxLayer { core: Arc::new(core), parameters })
    }

    /// The blackbox's parameters `θ` (`None` when it has none): train them with the
    /// model's other variables.
    pub fn parameters(&self) -> Option<&Var> {
        self.parameters.as_ref()
    }

    /// The layer's sizes.
    pub fn dims(&self) -> LayerDims {
        self.core.dims
    }

    /// The structure of `[∂y/∂x  ∂y/∂θ]` the layer senses.
    pub fn structure(&self) -> &Structure {
        &self.core.structure
    }

    /// The route the planner chose ([`Route::SenseJacobian`] or [`Route::Direct`]).
    pub fn route(&self) -> Route {
        match self.core.sensing {
            Sensing::Jacobian(_) | Sensing::Session => Route::SenseJacobian,
            Sensing::Direct { .. } => Route::Direct,
        }
    }

    /// The scheme every sample reuses, on the Jacobian route.
    pub fn scheme(&self) -> Option<&Scheme> {
        match &self.core.sensing {
            Sensing::Jacobian(scheme) => Some(scheme),
            Sensing::Direct { .. } | Sensing::Session => None,
        }
    }

    /// Calls per sample that a backward pass makes (before any failure): the scheme's
    /// measurements (forward differences: `f(x0)` is the forward pass's value) or
    /// twice as many (central), or the direct plan's calls. For [`Known::Nothing`] the
    /// calls are adaptive: the last backward pass's calls per sample rounded up (0
    /// before the first).
    pub fn calls_per_sample(&self) -> usize {
        match &self.core.sensing {
            Sensing::Jacobian(scheme) => match scheme.settings().difference {
                Difference::Forward => scheme.measurements(),
                Difference::Central => 2 * scheme.measurements(),
            },
            Sensing::Direct { calls } => *calls,
            Sensing::Session => self.last_step().map_or(0, |step| step.calls_per_sample().ceil() as usize),
        }
    }

    /// The diagnostics of the last backward pass, `None` before the first.
    pub fn last_step(&self) -> Option<StepReport> {
        self.core.last.lock().map(|last| last.clone()).unwrap_or(None)
    }

    /// `y = g(x; θ)` for a batch `x` of shape `(batch, n)` (any float dtype; computed in
    /// f64 on the CPU). Its backward pass senses `vᵀJ` of every sample (module docs);
    /// when some sample's could not be determined it returns an error and no gradient
    /// ([`Error::Undetermined`]), and [`BlackboxLayer::last_step`] says why.
    ///
    /// Errors: `x` not of shape `(batch, n)`, or a forward call failed.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let n = self.core.dims.inputs;
        match x.dims() {
            [_, cols] if *cols == n => {}
            shape => {
                return Err(candle_core::Error::wrap(Error::Tensor(format!(
                    "a blackbox layer with {n} inputs takes a batch of shape (batch, {n}), not {shape:?}"
                ))));
            }
        }
        let dtype = x.dtype();
        let x = x.to_dtype(DType::F64)?.contiguous()?;
        let y = match &self.parameters {
            None => x.apply_op1_arc(Arc::new(Box::new(LayerOp { core: self.core.clone() })))?,
            Some(theta) => {
                let theta = theta.as_tensor().to_dtype(DType::F64)?.contiguous()?;
                x.apply_op2_arc(&theta, Arc::new(Box::new(LayerOp { core: self.core.clone() })))?
            }
        };
        y.to_dtype(dtype)
    }
}

impl Module for BlackboxLayer {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        BlackboxLayer::forward(self, xs)
    }
}

fn tensor_error(e: candle_core::Error) -> Error {
    Error::Tensor(e.to_string())
}

/// The candle op: one value per layer call, sharing the layer's core.
struct LayerOp {
    core: Arc<LayerCore>,
}

/// The f64 values of a contiguous CPU tensor's storage.
fn values<'a>(storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<&'a [f64]> {
    let CpuStorage::F64(data) = storage else {
        return Err(candle_core::Error::msg("a blackbox layer computes in f64"));
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => Err(candle_core::Error::msg("a blackbox layer takes contiguous tensors")),
    }
}

impl LayerOp {
    fn forward(&self, x: &[f64], theta: &[f64], shape: &Shape) -> candle_core::Result<(CpuStorage, Shape)> {
        let (batch, _) = shape.dims2()?;
        let y = self.core.forward(x, theta, batch).map_err(candle_core::Error::wrap)?;
        Ok((CpuStorage::F64(y), Shape::from((batch, self.core.dims.outputs))))
    }

    fn backward(
        &self,
        x: &Tensor,
        theta: Option<&Tensor>,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Tensor, Option<Tensor>)> {
        let (batch, n) = x.dims2()?;
        let flat = |t: &Tensor| t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>();
        let theta_values = match theta {
            Some(t) => flat(t)?,
            None => Vec::new(),
        };
        let (gx, gtheta) = self
            .core
            .backward(&flat(x)?, &theta_values, &flat(res)?, &flat(grad)?, batch)
            .map_err(candle_core::Error::wrap)?;
        let gx = Tensor::from_vec(gx, (batch, n), x.device())?;
        let gtheta = match theta {
            Some(t) => Some(Tensor::from_vec(gtheta, t.shape(), t.device())?),
            None => None,
        };
        Ok((gx, gtheta))
    }
}

impl CustomOp1 for LayerOp {
    fn name(&self) -> &'static str {
        "jacsense-blackbox-layer"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        self.forward(values(storage, layout)?, &[], layout.shape())
    }

    fn bwd(&self, arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(self.backward(arg, None, res, grad_res)?.0))
    }
}

impl CustomOp2 for LayerOp {
    fn name(&self) -> &'static str {
        "jacsense-blackbox-layer"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        self.forward(values(s1, l1)?, values(s2, l2)?, l1.shape())
    }

    fn bwd(
        &self,
        arg1: &Tensor,
        arg2: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (gx, gtheta) = self.backward(arg1, Some(arg2), res, grad_res)?;
        Ok((Some(gx), gtheta))
    }
}

/// One sample's plan on the layer's route.
enum SamplePlan {
    Jacobian(Plan),
    Direct(VjpPlan),
}

/// One sample's decode.
struct Outcome {
    w: Vec<f64>,
    erasures: usize,
    outliers: usize,
    worst: RowStatus,
}

impl SamplePlan {
    fn calls(&self) -> usize {
        match self {
            SamplePlan::Jacobian(plan) => plan.calls(),
            SamplePlan::Direct(plan) => plan.calls(),
        }
    }

    fn point(&self, call: usize, x: &mut [f64]) -> jacsense::Result<()> {
        match self {
            SamplePlan::Jacobian(plan) => plan.point(call, x),
            SamplePlan::Direct(plan) => plan.point(call, x),
        }
    }

    /// Tells the calls' values (failed calls as erasures) and decodes `w = Jᵀv`.
    fn decode(
        &self,
        values: &[f64],
        results: &[std::result::Result<(), jacsense::CallError>],
        v: &[f64],
    ) -> Result<Outcome> {
        let m = v.len();
        // A failed call is an erasure; a told value with a NaN or infinite output
        // becomes one in the core.
        let value = |call: usize| match &results[call] {
            Ok(()) => Ok(&values[call * m..(call + 1) * m]),
            Err(e) => Err(ErasureReason::Failed(e.0.clone())),
        };
        match self {
            SamplePlan::Jacobian(plan) => {
                let mut measurements = Measurements::new(plan)?;
                for call in 0..results.len() {
                    match value(call) {
                        Ok(y) => measurements.tell(call, y)?,
                        Err(reason) => measurements.erase(call, reason)?,
                    }
                }
                let estimate = measurements.decode();
                let diagnostics = estimate.diagnostics();
                let worst = diagnostics.rows.iter().map(|r| &r.status).max_by_key(|s| severity(s)).cloned();
                let w = estimate.vjp(&[v.to_vec()])?.swap_remove(0).w;
                Ok(Outcome {
                    w,
                    erasures: diagnostics.erasures.len(),
                    outliers: diagnostics.outliers.len(),
                    worst: worst.unwrap_or_default(),
                })
            }
            SamplePlan::Direct(plan) => {
                let mut measurements = VjpMeasurements::new(plan)?;
                for call in 0..results.len() {
                    match value(call) {
                        Ok(y) => measurements.tell(call, y)?,
                        Err(reason) => measurements.erase(call, reason)?,
                    }
                }
                let estimate = measurements.decode().swap_remove(0);
                Ok(Outcome {
                    erasures: estimate.erasures.len(),
                    outliers: estimate.outliers.len(),
                    worst: estimate.status,
                    w: estimate.w,
                })
            }
        }
    }
}

impl LayerCore {
    /// The points `(x_b, θ)` of a batch, one after the other.
    fn points(&self, x: &[f64], theta: &[f64], batch: usize) -> Vec<f64> {
        let n = self.dims.inputs;
        let mut points = Vec::with_capacity(batch * self.dims.point_len());
        for b in 0..batch {
            points.extend_from_slice(&x[b * n..(b + 1) * n]);
            points.extend_from_slice(theta);
        }
        points
    }

    fn forward(&self, x: &[f64], theta: &[f64], batch: usize) -> Result<Vec<f64>> {
        let m = self.dims.outputs;
        let points = self.points(x, theta, batch);
        let mut y = vec![0.0; batch * m];
        let results = self.blackbox.forward_batch(&points, &mut y);
        if results.len() != batch {
            return Err(Error::BatchAnswer { points: batch, results: results.len() });
        }
        for (sample, result) in results.into_iter().enumerate() {
            let row = &y[sample * m..(sample + 1) * m];
            let reason = match result {
                Err(e) => Some(e.0),
                Ok(()) => row.iter().position(|v| !v.is_finite()).map(|i| format!("output {i} is {}", row[i])),
            };
            if let Some(reason) = reason {
                return Err(Error::ForwardFailed { sample, reason });
            }
        }
        Ok(y)
    }

    /// `(∂L/∂x, ∂L/∂θ)` from `v = ∂L/∂y` of every sample (module docs), with the step's
    /// report stored.
    fn backward(&self, x: &[f64], theta: &[f64], f0: &[f64], v: &[f64], batch: usize) -> Result<(Vec<f64>, Vec<f64>)> {
        let LayerDims { inputs: n, parameters: p, outputs: m } = self.dims;
        let len = n + p;
        let points = self.points(x, theta, batch);
        let vs: Vec<Vec<f64>> = (0..batch).map(|b| v[b * m..(b + 1) * m].to_vec()).collect();
        if let Sensing::Session = self.sensing {
            let (outcomes, total) = self.sessions(&points, f0, &vs)?;
            return self.finish(outcomes, total, batch);
        }
        let plans = (0..batch)
            .map(|b| {
                let point = &points[b * len..(b + 1) * len];
                match &self.sensing {
                    Sensing::Session => unreachable!("sessions are sensed above"),
                    Sensing::Jacobian(scheme) => {
                        let options = PlanOptions { f0: Some(f0[b * m..(b + 1) * m].to_vec()), bounds: None };
                        scheme.at_with(point, &options).map(SamplePlan::Jacobian)
                    }
                    Sensing::Direct { .. } => {
                        let settings = VjpSettings { route: Route::Direct, ..self.settings.clone() };
                        VjpPlan::new(&self.structure, point, &vs[b..=b], &settings).map(SamplePlan::Direct)
                    }
                }
            })
            .collect::<jacsense::Result<Vec<_>>>()?;
        let mut first = Vec::with_capacity(batch + 1);
        first.push(0);
        for plan in &plans {
            first.push(first.last().copied().unwrap_or(0) + plan.calls());
        }
        let total = first[batch];
        let mut calls = vec![0.0; total * len];
        for (b, plan) in plans.iter().enumerate() {
            for call in 0..plan.calls() {
                let at = (first[b] + call) * len;
                plan.point(call, &mut calls[at..at + len])?;
            }
        }
        let mut values = vec![0.0; total * m];
        let results = if total == 0 { Vec::new() } else { self.blackbox.call_batch(&calls, &mut values) };
        if results.len() != total {
            return Err(Error::BatchAnswer { points: total, results: results.len() });
        }
        let outcomes = plans
            .par_iter()
            .enumerate()
            .map(|(b, plan)| {
                let (start, end) = (first[b], first[b + 1]);
                plan.decode(&values[start * m..end * m], &results[start..end], &vs[b])
            })
            .collect::<Result<Vec<_>>>()?;
        self.finish(outcomes, total, batch)
    }

    /// [`Known::Nothing`]: a told-nothing session per sample at its point, round by
    /// round, every open sample's calls of a round in one batch; the samples' decodes
    /// and the backward pass's calls.
    fn sessions(&self, points: &[f64], f0: &[f64], vs: &[Vec<f64>]) -> Result<(Vec<Outcome>, usize)> {
        let LayerDims { inputs: n, parameters: p, outputs: m } = self.dims;
        let len = n + p;
        let batch = vs.len();
        let mut sessions = (0..batch)
            .map(|b| {
                let options = SessionOptions {
                    point: PlanOptions { f0: Some(f0[b * m..(b + 1) * m].to_vec()), bounds: None },
                    ..SessionOptions::default()
                };
                Session::new(&self.structure, &points[b * len..(b + 1) * len], &self.settings.jacobian, &options)
            })
            .collect::<jacsense::Result<Vec<_>>>()?;
        let mut total = 0;
        loop {
            // The open samples and their round's calls.
            let open: Vec<(usize, usize)> =
                sessions.iter().enumerate().filter_map(|(b, s)| s.ask().map(|plan| (b, plan.calls()))).collect();
            if open.is_empty() {
                break;
            }
            let calls: usize = open.iter().map(|&(_, c)| c).sum();
            let mut at = vec![0.0; calls * len];
            let mut k = 0;
            for &(b, c) in &open {
                let plan = sessions[b].ask().expect("open");
                for call in 0..c {
                    plan.point(call, &mut at[k * len..(k + 1) * len])?;
                    k += 1;
                }
            }
            let mut values = vec![0.0; calls * m];
            let results = if calls == 0 { Vec::new() } else { self.blackbox.call_batch(&at, &mut values) };
            if results.len() != calls {
                return Err(Error::BatchAnswer { points: calls, results: results.len() });
            }
            total += calls;
            // Each open sample's calls, told and decoded in parallel (samples share nothing).
            let mut first = vec![None; batch];
            let mut k = 0;
            for &(b, c) in &open {
                first[b] = Some(k);
                k += c;
            }
            sessions
                .par_iter_mut()
                .zip(&first)
                .filter_map(|(session, first)| first.map(|k| (session, k)))
                .map(|(session, k)| {
                    let calls = session.ask().expect("open").calls();
                    for call in 0..calls {
                        match &results[k + call] {
                            Ok(()) => session.tell(call, &values[(k + call) * m..(k + call + 1) * m])?,
                            Err(e) => session.erase(call, ErasureReason::Failed(e.0.clone()))?,
                        }
                    }
                    session.finish_round().map(|_| ())
                })
                .collect::<jacsense::Result<()>>()?;
        }
        let outcomes = sessions
            .par_iter()
            .zip(vs)
            .map(|(session, v)| {
                let estimate = session.estimate().ok_or(Error::Tensor("a finished session has no estimate".into()))?;
                let diagnostics = estimate.diagnostics();
                let worst = diagnostics.rows.iter().map(|r| &r.status).max_by_key(|s| severity(s)).cloned();
                let w = estimate.vjp(std::slice::from_ref(v))?.swap_remove(0).w;
                Ok(Outcome {
                    w,
                    erasures: diagnostics.erasures.len(),
                    outliers: diagnostics.outliers.len(),
                    worst: worst.unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((outcomes, total))
    }

    /// The gradients from every sample's decode, and the step's report stored.
    fn finish(&self, outcomes: Vec<Outcome>, total: usize, batch: usize) -> Result<(Vec<f64>, Vec<f64>)> {
        let LayerDims { inputs: n, parameters: p, .. } = self.dims;
        let mut gx = vec![0.0; batch * n];
        let mut gtheta = vec![0.0; p];
        let mut report = StepReport {
            step: self.steps.fetch_add(1, Ordering::Relaxed),
            samples: batch,
            route: match self.sensing {
                Sensing::Jacobian(_) | Sensing::Session => Route::SenseJacobian,
                Sensing::Direct { .. } => Route::Direct,
            },
            calls: total,
            erasures: 0,
            outliers: 0,
            worst_row: RowStatus::Determined,
            undetermined: Vec::new(),
        };
        for (b, outcome) in outcomes.into_iter().enumerate() {
            report.erasures += outcome.erasures;
            report.outliers += outcome.outliers;
            if severity(&outcome.worst) > severity(&report.worst_row) {
                report.worst_row = outcome.worst;
            }
            if outcome.w.iter().any(|w| !w.is_finite()) {
                report.undetermined.push(b);
                continue;
            }
            gx[b * n..(b + 1) * n].copy_from_slice(&outcome.w[..n]);
            gtheta.iter_mut().zip(&outcome.w[n..]).for_each(|(g, w)| *g += w);
        }
        let error = (!report.undetermined.is_empty()).then(|| Error::Undetermined {
            undetermined: report.undetermined.clone(),
            samples: batch,
            calls: total,
            erasures: report.erasures,
        });
        if let Ok(mut last) = self.last.lock() {
            *last = Some(report);
        }
        match error {
            Some(error) => Err(error),
            None => Ok((gx, gtheta)),
        }
    }
}
