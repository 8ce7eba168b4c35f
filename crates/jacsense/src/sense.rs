//! In-process sensing: evaluate a plan's calls on a blackbox and decode.
//!
//! Built on the same ask/tell API an external evaluator uses ([`Plan::point`],
//! [`Measurements::tell`]): each call is told as soon as it returns (in parallel with
//! rayon when the blackbox is `Sync`), from point and output buffers that the calls
//! reuse, so no more than one output per thread is held at once. A call's
//! value goes to slots of its own, so the order of telling changes no bit: the
//! parallel and sequential paths give the same measurements.

use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;

use crate::blackbox::{Blackbox, call_guarded};
use crate::error::Result;
use crate::estimate::Estimate;
use crate::measurements::Measurements;
use crate::plan::Plan;
use crate::session::{Session, SessionOptions};
use crate::settings::Settings;
use crate::structure::Structure;

/// A thread's point and output buffers.
type Buffers = (Vec<f64>, Vec<f64>);

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
        self.evaluate_after(f, None)
    }

    /// As [`Plan::evaluate`], with the call at `x0` (call 0) already made: `at_x0` holds
    /// its outcome and its point and value, as a pair of the calls' buffers (which it
    /// then becomes).
    pub(crate) fn evaluate_after<B: Blackbox + Sync + ?Sized>(
        &self,
        f: &B,
        at_x0: Option<MadeCall>,
    ) -> Result<Measurements<'_>> {
        let (n, m) = f.dims();
        self.scheme().check_blackbox(n, m)?;
        let mut told = Measurements::new(self)?;
        let mut pool = Vec::new();
        let mut first = 0;
        if let Some((outcome, buffers)) = at_x0.filter(|(_, (x, y))| self.calls_f0() && x.len() == n && y.len() == m) {
            record(&mut told, 0, outcome, &buffers.1)?;
            pool.push(buffers);
            first = 1;
        }
        let meas = Mutex::new(told);
        // One pair of buffers per thread, made here and lent to the calls: not a pair
        // per rayon job, and freed where they were made (memory freed in a worker
        // thread's arena tends to stay resident).
        let fresh = || (vec![0.0; n], vec![0.0; m]);
        let threads = rayon::current_num_threads().min(self.calls());
        pool.extend((pool.len()..threads).map(|_| fresh()));
        let pool = Mutex::new(pool);
        let take = |pool: &Mutex<Vec<Buffers>>| pool.lock().unwrap_or_else(PoisonError::into_inner).pop();
        (first..self.calls()).into_par_iter().try_for_each(|call| {
            // (More calls than threads run at once only if `f` itself waits on rayon.)
            let mut buffers = take(&pool).unwrap_or_else(fresh);
            let outcome = self.call_once(f, call, &mut buffers);
            let told = record(&mut meas.lock().unwrap_or_else(PoisonError::into_inner), call, outcome, &buffers.1);
            pool.lock().unwrap_or_else(PoisonError::into_inner).push(buffers);
            told
        })?;
        Ok(meas.into_inner().unwrap_or_else(PoisonError::into_inner))
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
        let (n, m) = f.dims();
        self.scheme().check_blackbox(n, m)?;
        let mut meas = Measurements::new(self)?;
        let mut buffers = (vec![0.0; n], vec![0.0; m]);
        for call in 0..self.calls() {
            let outcome = self.call_once(f, call, &mut buffers);
            record(&mut meas, call, outcome, &buffers.1)?;
        }
        Ok(meas)
    }

    /// Makes `call` on `f` with the point in `buffers.0` and its output in `buffers.1`
    /// (zeroed first, as a fresh buffer would be).
    fn call_once<B: Blackbox + ?Sized>(
        &self,
        f: &B,
        call: usize,
        (x, y): &mut Buffers,
    ) -> std::result::Result<(), crate::blackbox::ErasureReason> {
        self.point(call, x).expect("call index and dimensions were checked");
        y.fill(0.0);
        call_guarded(f, x, y)
    }
}

/// Tells `meas` the output `y` of `call`, or erases it.
fn record(
    meas: &mut Measurements<'_>,
    call: usize,
    outcome: std::result::Result<(), crate::blackbox::ErasureReason>,
    y: &[f64],
) -> Result<()> {
    match outcome {
        Ok(()) => meas.tell(call, y),
        Err(reason) => meas.erase(call, reason),
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
    let (settings, at_x0) = time_a_call(f, x0, structure, settings);
    let session = Session::new(structure, x0, &settings, &SessionOptions::default())?;
    // The timed call is the first round's call at x0 (once: top-up rounds call what
    // they need), and its buffers become a pair of the calls' buffers.
    let at_x0 = Mutex::new(at_x0);
    session.run_into_by(f, |plan| {
        let first = at_x0.lock().unwrap_or_else(PoisonError::into_inner).take();
        Ok(plan.evaluate_after(f, first)?.into_told())
    })
}

/// A call made before its plan: its outcome, and its point and value.
type MadeCall = (std::result::Result<(), crate::blackbox::ErasureReason>, Buffers);

/// When the planner may color with the automatic search budget
/// ([`ColoringSearch::Auto`](crate::ColoringSearch::Auto)) and no call time is known:
/// `f(x0)`, timed (its point and value, as a pair of the calls' buffers), and the
/// settings with that time as [`Settings::call_time`], so that the search costs a tenth
/// of the calls it can save. Forward differences make that call anyway (the first
/// round's call 0): its value is told as such, and no call is added. A failed call
/// gives no time, and is the round's erased call 0.
fn time_a_call<B: Blackbox + ?Sized>(
    f: &B,
    x0: &[f64],
    structure: &Structure,
    settings: &Settings,
) -> (Settings, Option<MadeCall>) {
    let (n, m) = f.dims();
    let wanted = settings.call_time.is_none()
        && settings.coloring_search == crate::ColoringSearch::Auto
        && settings.difference == crate::Difference::Forward
        && matches!(settings.design, crate::Design::Auto | crate::Design::Colored { .. })
        && structure.dims() == (n, m)
        && x0.len() == n
        && !structure.pattern().is_dense()
        && !Session::adapts(structure, settings, &SessionOptions::default());
    if !wanted {
        return (settings.clone(), None);
    }
    let (x, mut y) = (x0.to_vec(), vec![0.0; m]);
    let start = std::time::Instant::now();
    let outcome = call_guarded(f, &x, &mut y);
    let call_time = outcome.is_ok().then(|| start.elapsed().as_secs_f64());
    (Settings { call_time, ..settings.clone() }, Some((outcome, (x, y))))
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
    Session::new(structure, x0, settings, &SessionOptions::default())?.run_sequential_into(f)
}
