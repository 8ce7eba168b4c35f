//! The "tell" half of ask/tell for `vᵀJ`: the values of a [`VjpPlan`]'s calls, told
//! back in any order, and the decode of `w = Jᵀv` from them.
//!
//! Both routes tell the one [`Measurements`] type of their plan: on
//! [`Route::SenseJacobian`] it holds the Jacobian's measurements (decoded, then
//! multiplied by every `v`); on [`Route::Direct`] the plan senses `VᵀJ`, and every told
//! value `y` is stored as `Vᵀy`, whose decoded rows are the `w`. [`VjpPlan::evaluate`]
//! tells its calls through the same type, so a blackbox evaluated elsewhere (a
//! cluster, another process) gives the same bits.

use super::{Route, VjpEstimate, VjpPlan, direct};
use crate::blackbox::{Erasure, ErasureReason};
use crate::decode::RowStatus;
use crate::error::{Error, Result};
use crate::estimate::Estimate;
use crate::measurements::Measurements;

/// Values of a [`VjpPlan`]'s calls, told in any order; calls never told are erasures.
///
/// ```
/// use jacsense::{ErasureReason, Pattern, Route, Structure, VjpMeasurements, VjpPlan, VjpSettings};
/// // f(x) = (x0·x1, x1 + 3·x2, x2²); v = (1, 0, 0) weights row 0, whose candidates are x0, x1.
/// let f = |x: &[f64]| vec![x[0] * x[1], x[1] + 3.0 * x[2], x[2] * x[2]];
/// let structure = Structure::sparse(Pattern::from_rows(3, &[vec![0, 1], vec![1, 2], vec![2]])?);
/// let x0 = [2.0, 5.0, 1.0];
/// let settings = VjpSettings { route: Route::Direct, ..VjpSettings::default() };
/// let plan = VjpPlan::new(&structure, &x0, &[vec![1.0, 0.0, 0.0]], &settings)?;
/// assert_eq!(plan.calls(), 5); // f(x0) and 2 + 2 Gaussian directions over x0, x1
/// // Ask: the points, to be evaluated anywhere. Tell: the values, in any order.
/// let mut measurements = VjpMeasurements::new(&plan)?;
/// let mut x = vec![0.0; 3];
/// for call in (0..plan.calls()).rev() {
///     plan.point(call, &mut x)?;
///     measurements.tell(call, &f(&x))?;
/// }
/// let w = &measurements.decode()[0].w; // (x1, x0, 0)
/// assert!((w[0] - 5.0).abs() < 1e-6 && (w[1] - 2.0).abs() < 1e-6 && w[2] == 0.0);
/// // A call that failed (or is never told) is an erasure, reported with its reason.
/// measurements.erase(1, ErasureReason::Failed("timeout".into()))?;
/// let est = &measurements.decode()[0];
/// assert_eq!(est.erasures[0].call, 1);
/// assert!((est.w[0] - 5.0).abs() < 1e-6); // 2 unknowns, 3 directions left
/// # Ok::<(), jacsense::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct VjpMeasurements<'p> {
    plan: &'p VjpPlan,
    measurements: Measurements<'p>,
}

impl<'p> VjpMeasurements<'p> {
    /// Empty measurements for `plan`: every call pending.
    ///
    /// # Errors
    /// As [`Measurements::new`]: [`Error::TooLarge`](crate::Error::TooLarge) when the
    /// measurements would not fit in memory.
    pub fn new(plan: &'p VjpPlan) -> Result<Self> {
        Ok(VjpMeasurements { plan, measurements: Measurements::new(&plan.plan)? })
    }

    /// The measurements of `plan`'s own plan, told elsewhere ([`Plan::evaluate`](crate::Plan::evaluate)).
    pub(super) fn from_measurements(plan: &'p VjpPlan, measurements: Measurements<'p>) -> Self {
        VjpMeasurements { plan, measurements }
    }

    /// The plan these measurements belong to.
    pub fn plan(&self) -> &'p VjpPlan {
        self.plan
    }

    fn check_call(&self, call: usize) -> Result<()> {
        // A direct plan with nothing to sense makes no call, not even f(x0).
        if call >= self.plan.calls() {
            return Err(Error::UnknownCall { index: call, calls: self.plan.calls() });
        }
        Ok(())
    }

    /// Records the value `y = f(point(call))` (all `m` outputs). A value with a NaN or
    /// infinite output makes the call an erasure; telling a call again replaces its
    /// value.
    ///
    /// Errors: `call` beyond [`VjpPlan::calls`], or `y` not of length `m`.
    pub fn tell(&mut self, call: usize, y: &[f64]) -> Result<()> {
        self.check_call(call)?;
        self.measurements.tell(call, y)
    }

    /// Records that `call` failed (or will never be evaluated), with its reason.
    ///
    /// Errors: `call` beyond [`VjpPlan::calls`].
    pub fn erase(&mut self, call: usize, reason: ErasureReason) -> Result<()> {
        self.check_call(call)?;
        self.measurements.erase(call, reason)
    }

    /// Number of calls told with a value or erased: the calls made so far.
    pub fn calls_made(&self) -> usize {
        self.measurements.calls_made()
    }

    /// The erased calls so far, and the calls never told (as [`ErasureReason::Missing`]).
    pub fn erasures(&self) -> Vec<Erasure> {
        if self.plan.senses_nothing() { Vec::new() } else { self.measurements.erasures() }
    }

    /// Decodes `w = Jᵀv` for every `v` the plan was made for, in their order, from the
    /// calls told so far (the others are erasures). How the decode went (undetermined
    /// entries, erasures, outliers) is in each estimate, never an error.
    pub fn decode(&self) -> Vec<VjpEstimate> {
        let plan = self.plan;
        match plan.route {
            _ if plan.senses_nothing() => direct::zeros(plan.plan.x0().len(), plan.vs.len()),
            Route::Direct => direct::rows(&self.measurements.decode(), &plan.plan),
            _ => multiply(&self.measurements.decode(), &plan.vs),
        }
    }
}

impl Estimate {
    /// `w = Jᵀv` for every `v` in `vs`, from this estimate of `J`: the
    /// [`Route::SenseJacobian`] route's multiply, for an estimate decoded elsewhere —
    /// e.g. from a [`Scheme`](crate::Scheme) made once and placed at every sample of a
    /// training batch ([`Scheme::at_with`](crate::Scheme::at_with), with the forward
    /// pass's value as `f(x0)`). `w_c` is NaN where an undetermined entry of `J` meets
    /// a nonzero `v_i`, and the estimate's status says so; a complete `w` is as
    /// trustworthy as the rows `v` weights (their most severe status: unverified,
    /// ill-conditioned, solver limit).
    ///
    /// ```
    /// use jacsense::{from_fn, Pattern, PlanOptions, Scheme, Settings, Structure};
    /// // y_i = x_i²: a diagonal J, one call per point once f(x0) is known.
    /// let f = from_fn(3, 3, |x: &[f64], y: &mut [f64]| (0..3).for_each(|i| y[i] = x[i] * x[i]));
    /// let scheme = Scheme::new(&Structure::sparse(Pattern::banded(3, 3, 0, 0)), &Settings::default())?;
    /// for x0 in [[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]] {
    ///     let f0: Vec<f64> = x0.iter().map(|x| x * x).collect();
    ///     let plan = scheme.at_with(&x0, &PlanOptions { f0: Some(f0), ..PlanOptions::default() })?;
    ///     assert_eq!(plan.calls(), 1);
    ///     let w = &plan.evaluate(&f)?.decode().vjp(&[vec![1.0, 1.0, 2.0]])?[0].w;
    ///     assert!((w[2] - 4.0 * x0[2]).abs() < 1e-6); // 2·x_2·v_2
    /// }
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    ///
    /// Errors: some `v` not of length `m` or not finite.
    pub fn vjp(&self, vs: &[Vec<f64>]) -> Result<Vec<VjpEstimate>> {
        super::check_vs(vs, self.jacobian().pattern().nrows())?;
        Ok(multiply(self, vs))
    }
}

/// `w = Jᵀv` for every `v` from a decoded Jacobian; `w_c` is NaN where an undetermined
/// entry of `J` meets a nonzero `v_i`. The status of `w` is the worst of the rows `v`
/// weights (a row with `v_i = 0` does not reach `w`): underdetermined when some `w_c`
/// is NaN, else that row's solver limit, ill-conditioning or lack of verification.
fn multiply(est: &Estimate, vs: &[Vec<f64>]) -> Vec<VjpEstimate> {
    let j = est.jacobian();
    let diag = est.diagnostics();
    let n = j.pattern().ncols();
    let outliers: Vec<usize> = diag.outliers.iter().map(|o| o.call).collect();
    vs.iter()
        .map(|v| {
            let mut w = vec![0.0; n];
            let mut touched = vec![false; n];
            for (i, &vi) in v.iter().enumerate().filter(|(_, vi)| **vi != 0.0) {
                for (&c, &a) in j.pattern().row(i).iter().zip(j.row_values(i)) {
                    w[c] += a * vi;
                    touched[c] = true;
                }
            }
            let unknowns = touched.iter().filter(|&&t| t).count();
            let undetermined = w.iter().filter(|x| x.is_nan()).count();
            let status = if undetermined == 0 {
                // The worst status of the rows v weights, ill-conditioning with the
                // largest predicted error.
                let weighted = v.iter().enumerate().filter(|(_, vi)| **vi != 0.0).filter_map(|(i, _)| diag.rows.get(i));
                weighted.map(|r| &r.status).fold(RowStatus::Determined, |worst, s| match (&worst, s) {
                    (
                        RowStatus::IllConditioned { predicted_error: a, .. },
                        RowStatus::IllConditioned { predicted_error: b, .. },
                    ) if b <= a => worst,
                    _ if s.severity() >= worst.severity() => s.clone(),
                    _ => worst,
                })
            } else {
                RowStatus::Underdetermined { determined: unknowns - undetermined, unknowns }
            };
            VjpEstimate {
                w,
                route: Route::SenseJacobian,
                calls: diag.calls,
                support: None,
                status,
                residual: None,
                erasures: diag.erasures.clone(),
                outliers: outliers.clone(),
                decoder: diag.decoder,
            }
        })
        .collect()
}
