//! In-process sensing: evaluate a plan's calls on a blackbox and decode.
//!
//! Built on the same ask/tell API an external evaluator uses ([`Plan::point`],
//! [`Measurements::tell`]): calls are evaluated in chunks (in parallel with rayon when
//! the blackbox is `Sync`) and told in call order, so the parallel and sequential paths
//! give the same bits.

use std::ops::Range;

use rayon::prelude::*;

use crate::blackbox::{Blackbox, ErasureReason, call_guarded};
use crate::error::Result;
use crate::estimate::Estimate;
use crate::measurements::Measurements;
use crate::plan::Plan;
use crate::session::{Session, SessionOptions};
use crate::settings::Settings;
use crate::structure::Structure;

/// Calls evaluated before their values are told: bounds the memory held for outputs.
const CHUNK: usize = 256;

/// A call's output, or why there is none.
pub(crate) type CallOutcome = std::result::Result<Vec<f64>, ErasureReason>;

/// Runs calls `0..calls` in chunks with `run` and hands each outcome to `record` in call
/// order (the bits do not depend on how `run` schedules a chunk).
pub(crate) fn in_chunks(
    calls: usize,
    mut run: impl FnMut(Range<usize>) -> Vec<CallOutcome>,
    mut record: impl FnMut(usize, CallOutcome) -> Result<()>,
) -> Result<()> {
    for start in (0..calls).step_by(CHUNK) {
        let range = start..(start + CHUNK).min(calls);
        for (call, out) in range.clone().zip(run(range)) {
            record(call, out)?;
        }
    }
    Ok(())
}

impl Plan {
    /// Evaluates every call of the plan on `f`, in parallel.
    ///
    /// ```
    /// use jacsense::{from_fn, Plan, Settings, Structure};
    /// let f = from_fn(3, 1, |x: &[f64], y: &mut [f64]| y[0] = x.iter().sum());
    /// let plan = Plan::new(&Structure::dense(1, 3), &[0.0; 3], &Settings::default())?;
    /// let measurements = plan.evaluate(&f)?;
    /// assert_eq!(measurements.calls_made(), 4);
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn evaluate<B: Blackbox + Sync + ?Sized>(&self, f: &B) -> Result<Measurements<'_>> {
        self.evaluate_chunks(f, |range| range.into_par_iter().map(|call| self.call_once(f, call)).collect())
    }

    /// Evaluates every call of the plan on `f`, one after another (for blackboxes that
    /// are not `Sync`). Gives the same measurements as [`Plan::evaluate`].
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use jacsense::{from_fn, Plan, Settings, Structure};
    /// let log = RefCell::new(Vec::new()); // a blackbox with state: not Sync
    /// let f = from_fn(2, 1, |x: &[f64], y: &mut [f64]| { log.borrow_mut().push(x.to_vec()); y[0] = x[0] - x[1]; });
    /// let plan = Plan::new(&Structure::dense(1, 2), &[1.0, 2.0], &Settings::default())?;
    /// let est = plan.evaluate_sequential(&f)?.decode();
    /// assert_eq!(log.borrow().len(), plan.calls());
    /// assert!((est.jacobian().get(0, 1) + 1.0).abs() < 1e-7);
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn evaluate_sequential<B: Blackbox + ?Sized>(&self, f: &B) -> Result<Measurements<'_>> {
        self.evaluate_chunks(f, |range| range.map(|call| self.call_once(f, call)).collect())
    }

    /// Runs the calls in chunks with `run` and tells their values in call order.
    fn evaluate_chunks<B: Blackbox + ?Sized>(
        &self,
        f: &B,
        run: impl FnMut(Range<usize>) -> Vec<CallOutcome>,
    ) -> Result<Measurements<'_>> {
        let (n, m) = f.dims();
        self.scheme().check_blackbox(n, m)?;
        let mut meas = Measurements::new(self)?;
        in_chunks(self.calls(), run, |call, out| match out {
            Ok(y) => meas.tell(call, &y),
            Err(reason) => meas.erase(call, reason),
        })?;
        Ok(meas)
    }

    fn call_once<B: Blackbox + ?Sized>(&self, f: &B, call: usize) -> CallOutcome {
        let (n, m) = f.dims();
        let mut x = vec![0.0; n];
        self.point(call, &mut x).expect("call index and dimensions were checked");
        let mut y = vec![0.0; m];
        call_guarded(f, &x, &mut y).map(|()| y)
    }
}

/// The Jacobian of `f` at `x0`, knowing nothing about its structure: a [`Session`] in
/// rounds of random directions orthonormalised across rounds, every row recovered by
/// sparse recovery and validated on calls held back from its fit, until every row
/// validates. A sparse `J` costs about `2 s ln(n/s)` calls for `s` nonzeros per row; a
/// dense one at most `n + ⌈0.05 n⌉ + 3`, its last calls checking the rest.
///
/// ```
/// use jacsense::{jacobian, from_fn};
/// let f = from_fn(2, 1, |x: &[f64], y: &mut [f64]| y[0] = x[0] * x[0] + 3.0 * x[1]);
/// let j = jacobian(&f, &[2.0, 0.0])?.dense();
/// assert!((j[(0, 0)] - 4.0).abs() < 1e-6 && (j[(0, 1)] - 3.0).abs() < 1e-6);
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn jacobian<B: Blackbox + Sync + ?Sized>(f: &B, x0: &[f64]) -> Result<Estimate> {
    let (n, m) = f.dims();
    Session::new(&Structure::dense(m, n), x0, &Settings::default(), &SessionOptions::default())?.run(f)
}

/// The Jacobian of `f` at `x0` with the given structure and settings (the planner
/// resolves `Auto` design and decoder); calls run in parallel. It runs a [`Session`]:
/// the planner's plan, then top-up rounds for rows that failed calls left
/// undetermined; a dense structure with `Design::Auto` is "told nothing"
/// ([`jacobian`]).
///
/// ```
/// use jacsense::{jacobian_with, from_fn, Design, Pattern, RandomDistribution, Settings, Structure};
/// // f_i(x) = x_i² + x_{i+1}: an upper bidiagonal Jacobian.
/// let n = 50;
/// let f = from_fn(n, n, move |x: &[f64], y: &mut [f64]| {
///     for i in 0..n { y[i] = x[i] * x[i] + if i + 1 < n { x[i + 1] } else { 0.0 }; }
/// });
/// let structure = Structure::sparse(Pattern::banded(n, n, 0, 1));
/// let settings = Settings {
///     design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(4) },
///     ..Settings::default()
/// };
/// let est = jacobian_with(&f, &vec![1.0; n], &structure, &settings)?;
/// assert_eq!(est.diagnostics().calls, 5);
/// assert!((est.jacobian().get(3, 3) - 2.0).abs() < 1e-6);
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn jacobian_with<B: Blackbox + Sync + ?Sized>(
    f: &B,
    x0: &[f64],
    structure: &Structure,
    settings: &Settings,
) -> Result<Estimate> {
    Session::new(structure, x0, settings, &SessionOptions::default())?.run(f)
}

/// As [`jacobian_with`], for a blackbox that is not `Sync`: calls run one after another.
///
/// ```
/// use std::cell::Cell;
/// use jacsense::{jacobian_sequential, from_fn, Settings, Structure};
/// let counter = Cell::new(0); // not Sync
/// let f = from_fn(1, 1, |x: &[f64], y: &mut [f64]| { counter.set(counter.get() + 1); y[0] = 2.0 * x[0]; });
/// let est = jacobian_sequential(&f, &[1.0], &Structure::dense(1, 1), &Settings::default())?;
/// assert_eq!(counter.get(), est.diagnostics().calls);
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn jacobian_sequential<B: Blackbox + ?Sized>(
    f: &B,
    x0: &[f64],
    structure: &Structure,
    settings: &Settings,
) -> Result<Estimate> {
    Session::new(structure, x0, settings, &SessionOptions::default())?.run_sequential(f)
}
