//! Sessions: sensing in rounds, each decided from the ones before, until the estimate
//! is validated or the budget is spent (DESIGN.md §9).
//!
//! A [`Session`] is ask/tell in rounds: [`Session::ask`] gives the current round's
//! [`Plan`] (its points), [`Session::tell`] takes values in any order, and
//! [`Session::finish_round`] decodes everything told so far and decides: done, with an
//! [`Estimate`] and its status, or another round. Every round's decision is recorded
//! ([`Round`], also in [`Diagnostics::rounds`](crate::Diagnostics::rounds)).
//!
//! What a round asks for depends on what is known:
//!
//! - **Told nothing** (a dense structure with `Design::Auto`): rounds of random
//!   directions orthonormalised across rounds; every row is recovered by sparse
//!   recovery and validated on calls held back from its fit; validated rows stop
//!   asking, and the session stops when every row validates. Rounds grow by half, so
//!   the calls made exceed what the last round needed by a bounded factor, and a dense
//!   `J` costs at most `n + ⌈0.05·n⌉ + 3` calls: the orthonormal directions complete a
//!   basis, and least squares over them keeps `⌈0.05·n⌉ + 2` calls of redundancy.
//! - **A structure** (a pattern, symmetry, ties): the planner's plan is the first round,
//!   decoded as a one-shot plan is. Rows that failed calls left undetermined get
//!   top-up rounds of random directions on exactly the columns they miss; with a
//!   [`SessionOptions::tol`], rows whose standard errors exceed it get more calls.
//! - **A prior** ([`Prior`]: an earlier estimate `J0`, e.g. at the previous point of a
//!   trajectory): calls measure `(J − J0) d` after subtracting `J0 d`. The change is
//!   fitted with few calls (zero, sparse, or the least change that fits) and validated
//!   on held-back calls; rounds grow until it validates, and when it cannot (the
//!   pattern changed, a regime switched), the session senses from scratch, reusing the
//!   calls made.
//!
//! Limits: [`SessionOptions::max_calls`] (or [`Settings::budget`]), and the target on
//! standard errors [`SessionOptions::tol`].

// Rows, columns and measurements are indices into several arrays at once.
#![allow(clippy::needless_range_loop)]

mod directions;
mod save;
mod sparse;
mod stacked;

use std::ops::Range;

use faer::Mat;
use rayon::prelude::*;

use crate::blackbox::{Blackbox, Erasure, ErasureReason};
use crate::decode::{
    DecodedBy, Decoder, LeastSquares, Outlier, RobustSparse, RowReport, RowStatus, SparseRecovery, shrunk_variance,
    status_of,
};
use crate::design::{Design, Difference, RandomDistribution};
use crate::error::{Error, Result};
use crate::estimate::{Diagnostics, Estimate};
use crate::measurements::{CallState, Measurements, Told};
use crate::pattern::{Pattern, SparseMatrix};
use crate::plan::{Plan, PlanOptions, Scheme};
use crate::settings::{DecoderChoice, Settings, SparseMethod};
use crate::structure::Structure;

use sparse::{Found, System};

/// How a session may run: the point's options, the limits, and a prior.
///
/// ```
/// use jacsense::SessionOptions;
/// let options = SessionOptions { max_calls: Some(100), ..SessionOptions::default() };
/// assert_eq!(options.tol, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionOptions {
    /// `f(x0)` when known, and bounds on the inputs ([`PlanOptions`]).
    pub point: PlanOptions,
    /// The most calls of the blackbox in all rounds ([`Settings::budget`] when `None`).
    /// A session that reaches it stops, and reports the rows left open.
    pub max_calls: Option<usize>,
    /// Target on the standard error of every entry of `J`: calls are added until the
    /// reported standard errors are at most `tol` (absolute, in the units of `J`), or
    /// the call limit is reached (with no `max_calls` and no budget,
    /// [`TOL_CALLS_FACTOR`] times the calls of one round that determines every entry);
    /// the last round's `showed` says when `tol` was not met. With neither
    /// [`Settings::noise`] nor a step given, outputs that turn out noisy make the
    /// added rounds step for the noise level seen.
    pub tol: Option<f64>,
    /// An earlier estimate to start from ([`Prior`]).
    pub prior: Option<Prior>,
}

/// An earlier estimate `J0` to start from (DESIGN.md §9, priors): the session senses
/// the change `J − J0`, with few calls when it is small or sparse, and accepts it when
/// calls held back from the fit are predicted to within `tolerance`.
///
/// ```
/// use jacsense::{Prior, SparseMatrix};
/// let j0 = SparseMatrix::from_triplets(2, 2, &[(0, 0, 1.0), (1, 1, 2.0)])?;
/// let prior = Prior::new(j0);
/// assert_eq!(prior.tolerance, jacsense::DEFAULT_PRIOR_TOLERANCE);
/// # Ok::<(), jacsense::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Prior {
    /// `J0`, `m × n`.
    pub jacobian: SparseMatrix,
    /// The relative error accepted: the updated `J` must predict the held-back calls
    /// with an error at most `tolerance` times their size (a relative Frobenius error,
    /// measured along random directions). Default [`DEFAULT_PRIOR_TOLERANCE`].
    pub tolerance: f64,
}

/// The default [`Prior::tolerance`]: `1e-6`.
pub const DEFAULT_PRIOR_TOLERANCE: f64 = 1e-6;

impl Prior {
    /// A prior with the default tolerance.
    pub fn new(jacobian: SparseMatrix) -> Prior {
        Prior { jacobian, tolerance: DEFAULT_PRIOR_TOLERANCE }
    }
}

/// One round of a session: what was called, why, and what it showed.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Round {
    /// Calls of the round (including failed ones).
    pub calls: usize,
    /// Its measurements (directions).
    pub measurements: usize,
    /// Calls that failed.
    pub erasures: usize,
    /// The design of its directions (`Design::name`, or `orthonormal-random`).
    pub design: String,
    /// Why the round was made.
    pub why: String,
    /// What decoding after it showed (empty until it is finished).
    pub showed: String,
    /// Rows left open after it (not validated, undetermined, or above `tol`).
    pub open_rows: usize,
}

/// What a session does after a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Done: [`Session::estimate`] holds the estimate.
    Done,
    /// Another round: [`Session::ask`] gives its plan, of this many calls.
    More {
        /// Calls of the next round.
        calls: usize,
    },
}

/// How the session senses.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    /// Random orthonormal rounds, rows by sparse recovery validated on held-back calls.
    ToldNothing,
    /// Random orthonormal rounds measuring the change from the prior.
    Prior,
    /// The planner's plan, then top-ups.
    Structured,
}

#[derive(Clone, Debug)]
struct RoundData {
    plan: Plan,
    told: Told,
    report: Round,
}

/// What a row of a told-nothing session has become.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum RowFit {
    Open,
    /// A validated support.
    Sparse(Vec<usize>),
    /// Every column, by least squares over at least `n + 2` measurements.
    Dense,
}

/// A session run to its end has no estimate only when it was loaded done.
fn estimate_not_saved() -> Error {
    Error::InvalidSetting {
        name: "session",
        value: "done".into(),
        reason: "the session was loaded done, without its estimate (an estimate is not saved)",
    }
}

/// Sensing in rounds until validated (module docs).
///
/// ```
/// use jacsense::{from_fn, Blackbox, Progress, Session, SessionOptions, Settings, Structure};
/// // Told nothing about a 40 × 40 function whose Jacobian is diagonal.
/// let n = 40;
/// let f = from_fn(n, n, |x: &[f64], y: &mut [f64]| for i in 0..x.len() { y[i] = x[i].sin() });
/// let x0 = vec![0.5; n];
/// let mut session = Session::new(&Structure::dense(n, n), &x0, &Settings::default(), &SessionOptions::default())?;
/// let mut x = vec![0.0; n];
/// let mut y = vec![0.0; n];
/// while let Some(plan) = session.ask().cloned() {
///     for call in 0..plan.calls() {
///         plan.point(call, &mut x)?;
///         f.call(&x, &mut y).unwrap();
///         session.tell(call, &y)?;
///     }
///     if session.finish_round()? == Progress::Done { break; }
/// }
/// let est = session.estimate().expect("done");
/// assert!(est.status().is_solved());
/// assert!(est.diagnostics().calls < n); // fewer than coordinate differences
/// assert!((est.jacobian().get(3, 3) - 0.5f64.cos()).abs() < 1e-7);
/// # Ok::<(), jacsense::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Session {
    structure: Structure,
    settings: Settings,
    options: SessionOptions,
    x0: Vec<f64>,
    mode: Mode,
    rounds: Vec<RoundData>,
    /// Forward differences: `f(x0)`, once known.
    base: Option<Vec<f64>>,
    /// Told nothing: what each row has become.
    fits: Vec<RowFit>,
    estimate: Option<Estimate>,
    /// Whether the last round is finished and nothing more is asked.
    done: bool,
    /// Structured: the columns the next top-up round perturbs.
    pending_columns: Option<Vec<usize>>,
    /// Told nothing with `outliers > 0`: the calls the robust decoder judged garbage.
    garbage: Vec<Outlier>,
}

/// The first round of a told-nothing session (or all of it when `n` is smaller).
const FIRST_ROUND: usize = 16;

/// The first round of a session with a prior: a few fit calls and the held-back ones.
const FIRST_PRIOR_ROUND: usize = 6;

/// Cumulative measurements grow by this factor from round to round.
const GROWTH: f64 = 1.5;

/// Rounds at most (a session whose calls keep failing stops).
const MAX_ROUNDS: usize = 64;

/// With [`SessionOptions::tol`] and neither a noise level nor a step given, outputs
/// whose differences show noise above this level (relative to `max(1, |f|)`) make
/// later rounds step for it (`Session::step_for_noise`): the default step `√ε` turns
/// it into quotient noise above `7e-3` relative.
const NOISY: f64 = 1e-10;

/// With [`SessionOptions::tol`] and no call limit, a session makes at most this many
/// times the calls of one round that determines every entry (`Session::max_calls`).
pub const TOL_CALLS_FACTOR: usize = 100;

impl Session {
    /// A session sensing `J` of a blackbox with the given structure at `x0`.
    ///
    /// Errors: `x0` or the options do not fit the structure, or the planner refuses the
    /// settings (as [`Scheme::new`]).
    pub fn new(structure: &Structure, x0: &[f64], settings: &Settings, options: &SessionOptions) -> Result<Session> {
        let n = structure.dims().0;
        crate::plan::check_x0(x0, n)?;
        Session::check_options(structure, options)?;
        let mode = Session::mode_for(structure, settings, options);
        let mut session = Session::empty(structure, settings, options, x0, mode)?;
        match session.mode {
            Mode::Structured => {
                let plan = Scheme::new(structure, settings)?.at_with(x0, &options.point)?;
                session.push_planned_round(plan)?;
            }
            Mode::ToldNothing => {
                // A dense J may turn out to need every measurement of every entry: the
                // same check as the one-shot plan for the dense structure, before any call.
                // Only memory is checked: the budget, and the count of calls that plan
                // would make, are the session's to judge round by round.
                let unbudgeted = Settings { budget: None, ..settings.clone() };
                crate::measurements::check_measurements_fit(&Plan::new(structure, x0, &unbudgeted)?).map_err(|e| {
                    match e {
                        Error::TooLarge { what, m, n, bytes, available } => Error::TooLarge {
                            what: format!(
                                "told nothing, a J that turns out dense: {what} (given the pattern, or a \
                                 row sparsity, a sparse J is sensed without them)"
                            ),
                            m,
                            n,
                            bytes,
                            available,
                        },
                        e => e,
                    }
                })?;
                let k = session.first_round(FIRST_ROUND.min(session.dense_cap()))?;
                session.push_random_round(k, format!("nothing known: {k} random directions to start"))?;
            }
            Mode::Prior => {
                let k = session.first_round(FIRST_PRIOR_ROUND.min(session.prior_cap()))?;
                session.push_random_round(k, format!("a prior: {k} random directions to check and update it"))?;
            }
        }
        session.check_budget_of_first_round()?;
        Ok(session)
    }

    /// How a session on `structure` senses: told nothing, from a prior, or by the
    /// planner's plan for the structure.
    fn mode_for(structure: &Structure, settings: &Settings, options: &SessionOptions) -> Mode {
        let (n, m) = structure.dims();
        let told_nothing = structure.pattern().is_dense()
            && settings.design == Design::Auto
            && structure.row_sparsity().is_none()
            && structure.parametrization().is_none()
            && n > 0
            && m > 0;
        let row_wise = structure.parametrization().is_none() && n > 0 && m > 0;
        if options.prior.is_some()
            && ((told_nothing && settings.outliers == 0.0) || (row_wise && settings.design == Design::Auto))
        {
            Mode::Prior
        } else if told_nothing {
            Mode::ToldNothing
        } else {
            Mode::Structured
        }
    }

    /// Whether a session on `structure` with `settings` and `options` would decide its
    /// rounds as calls return ([`Session::is_adaptive`]), without making it (which
    /// allocates a structured plan's measurements).
    pub fn adapts(structure: &Structure, settings: &Settings, options: &SessionOptions) -> bool {
        Session::mode_for(structure, settings, options) != Mode::Structured
    }

    /// A session whose first round is `scheme`'s plan at `x0` (the planner's work made
    /// once, e.g. for every iterate of a Newton loop), then top-up rounds as a session
    /// on a structure makes them: for rows that failed calls left undetermined, and for
    /// standard errors above [`SessionOptions::tol`]. A dense scheme's plan (coordinate
    /// differences) is its first round too: [`Session::new`] is the adaptive session
    /// for a function nothing is known of.
    ///
    /// ```
    /// use jacsense::{from_fn, Blackbox, Pattern, Scheme, Session, SessionOptions, Settings, Structure};
    /// let f = from_fn(3, 3, |x: &[f64], y: &mut [f64]| (0..3).for_each(|i| y[i] = x[i] * x[i]));
    /// let scheme = Scheme::new(&Structure::sparse(Pattern::banded(3, 3, 0, 0)), &Settings::default())?;
    /// let mut session = Session::from_scheme(&scheme, &[1.0, 2.0, 3.0], &SessionOptions::default())?;
    /// let est = session.run(&f)?;
    /// assert!((est.jacobian().get(2, 2) - 6.0).abs() < 1e-6);
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    ///
    /// Errors: as [`Session::new`]; a prior (give it to [`Session::new`]).
    pub fn from_scheme(scheme: &Scheme, x0: &[f64], options: &SessionOptions) -> Result<Session> {
        let structure = scheme.structure();
        crate::plan::check_x0(x0, structure.dims().0)?;
        Session::check_options(structure, options)?;
        if options.prior.is_some() {
            return Err(Error::InvalidSetting {
                name: "prior",
                value: "given".into(),
                reason: "a session from a scheme senses from scratch: give a prior to Session::new",
            });
        }
        let mut session = Session::empty(structure, scheme.settings(), options, x0, Mode::Structured)?;
        session.push_planned_round(scheme.at_with(x0, &options.point)?)?;
        session.check_budget_of_first_round()?;
        Ok(session)
    }

    /// A session with no round yet.
    fn empty(
        structure: &Structure,
        settings: &Settings,
        options: &SessionOptions,
        x0: &[f64],
        mode: Mode,
    ) -> Result<Session> {
        let m = structure.dims().1;
        let structured = mode == Mode::Structured;
        Ok(Session {
            structure: structure.clone(),
            settings: settings.clone(),
            // f(x0) given is kept once: by the first round's plan on a structure, else
            // in `base` (`Session::base`); the options keep the rest.
            options: SessionOptions {
                point: PlanOptions { f0: None, bounds: options.point.bounds.clone() },
                ..options.clone()
            },
            x0: x0.to_vec(),
            mode,
            rounds: Vec::new(),
            base: if structured { None } else { options.point.f0.clone() },
            // Row fits belong to told-nothing and prior rounds (24 bytes per row).
            fits: if structured { Vec::new() } else { vec![RowFit::Open; m] },
            estimate: None,
            done: false,
            pending_columns: None,
            garbage: Vec::new(),
        })
    }

    /// The planner's plan as the first round of a structured session.
    fn push_planned_round(&mut self, plan: Plan) -> Result<()> {
        let told = Measurements::new(&plan)?.into_told();
        let report = Round {
            calls: plan.calls(),
            measurements: plan.measurements(),
            erasures: 0,
            design: plan.settings().design.name().into(),
            why: "the planner's plan for the structure".into(),
            showed: String::new(),
            open_rows: self.structure.dims().1,
        };
        self.rounds.push(RoundData { plan, told, report });
        Ok(())
    }

    /// Checks the options against the structure.
    fn check_options(structure: &Structure, options: &SessionOptions) -> Result<()> {
        let (n, m) = structure.dims();
        if let Some(tol) = options.tol
            && !(tol.is_finite() && tol > 0.0)
        {
            return Err(Error::InvalidSetting {
                name: "tol",
                value: format!("{tol}"),
                reason: "a target on standard errors must be finite and positive",
            });
        }
        if options.max_calls == Some(0) {
            return Err(Error::InvalidSetting {
                name: "max_calls",
                value: "0".into(),
                reason: "a session needs at least one call",
            });
        }
        if let Some(prior) = &options.prior {
            let dims = (prior.jacobian.pattern().ncols(), prior.jacobian.pattern().nrows());
            if dims != (n, m) {
                return Err(Error::DimensionMismatch { what: "prior columns (inputs n)", expected: n, found: dims.0 });
            }
            if !(prior.tolerance.is_finite() && prior.tolerance > 0.0) {
                return Err(Error::InvalidSetting {
                    name: "prior tolerance",
                    value: format!("{}", prior.tolerance),
                    reason: "must be finite and positive",
                });
            }
            if let Some(p) = prior.jacobian.values().iter().position(|v| !v.is_finite()) {
                return Err(Error::InvalidSetting {
                    name: "prior",
                    value: format!("value {p} is {}", prior.jacobian.values()[p]),
                    reason: "a prior must be finite everywhere (an incomplete estimate is no prior)",
                });
            }
        }
        if let Some(f0) = &options.point.f0
            && f0.len() != m
        {
            return Err(Error::DimensionMismatch { what: "f0 length (outputs m)", expected: m, found: f0.len() });
        }
        Ok(())
    }

    fn check_budget_of_first_round(&self) -> Result<()> {
        if let (Some(max), Some(round)) = (self.max_calls(), self.rounds.first())
            && round.plan.calls() > max
            && self.mode == Mode::Structured
        {
            return Err(Error::InvalidSetting {
                name: "max_calls",
                value: format!("{max}"),
                reason: "the planner's plan for this structure needs more calls (give a budget in Settings to plan within it)",
            });
        }
        Ok(())
    }

    /// `f(x0)`: given (held by the first round's plan on a structure), or told as the
    /// call at `x0` of a round.
    fn base(&self) -> Option<&[f64]> {
        self.base.as_deref().or_else(|| self.rounds.first()?.plan.given_f0())
    }

    /// The size of a first round of random directions: `k`, or what the budget leaves.
    fn first_round(&self, k: usize) -> Result<usize> {
        match self.within_budget(k) {
            0 => Err(Error::InvalidSetting {
                name: "max_calls",
                value: format!("{}", self.max_calls().unwrap_or(0)),
                reason: "leaves no call for a measurement (besides f(x0) when it is not given)",
            }),
            k => Ok(k),
        }
    }

    /// The most calls in all rounds: [`SessionOptions::max_calls`], else
    /// [`Settings::budget`], else with a `tol` [`TOL_CALLS_FACTOR`] times the calls of
    /// one round that determines every entry (the first round's plan on a structure,
    /// coordinate differences told nothing): a `tol` the noise puts out of reach stops
    /// there, and says so.
    fn max_calls(&self) -> Option<usize> {
        self.options.max_calls.or(self.settings.budget).or_else(|| {
            self.options.tol?;
            let one_round = match self.mode {
                Mode::Structured => self.rounds.first().map_or(1, |r| r.plan.calls()),
                _ => self.structure.dims().0 + 1,
            };
            Some(TOL_CALLS_FACTOR.saturating_mul(one_round.max(1)))
        })
    }

    /// The plan of the round waiting for values, or `None` when the session is done.
    pub fn ask(&self) -> Option<&Plan> {
        if self.done { None } else { self.rounds.last().map(|r| &r.plan) }
    }

    /// The plan of round `round` (from 0), when there is one.
    pub fn plan(&self, round: usize) -> Option<&Plan> {
        self.rounds.get(round).map(|r| &r.plan)
    }

    /// The index of the current (or last) round, from 0.
    pub fn round(&self) -> usize {
        self.rounds.len().saturating_sub(1)
    }

    /// Records the value of call `call` of the current round ([`Measurements::tell`]).
    ///
    /// Errors: the session is done, the call is not part of the round, or `y` has the
    /// wrong length.
    pub fn tell(&mut self, call: usize, y: &[f64]) -> Result<()> {
        self.with_current(|meas| meas.tell(call, y))
    }

    /// Records that call `call` of the current round failed ([`Measurements::erase`]).
    pub fn erase(&mut self, call: usize, reason: ErasureReason) -> Result<()> {
        self.with_current(|meas| meas.erase(call, reason))
    }

    fn with_current(&mut self, act: impl FnOnce(&mut Measurements<'_>) -> Result<()>) -> Result<()> {
        if self.done {
            return Err(Error::InvalidSetting {
                name: "session",
                value: "done".into(),
                reason: "the session is done: nothing more to tell",
            });
        }
        let r = self.rounds.last_mut().expect("a session has a round");
        let told = std::mem::replace(&mut r.told, Told { base: Vec::new(), values: Vec::new(), state: Vec::new() });
        let mut meas = Measurements::from_told(&r.plan, told);
        let out = act(&mut meas);
        r.told = meas.into_told();
        out
    }

    /// Whether the session decides its rounds as it goes (told nothing, or a prior),
    /// rather than running the planner's plan for a structure (one round, with top-ups
    /// only for failed calls).
    pub fn is_adaptive(&self) -> bool {
        self.mode != Mode::Structured
    }

    /// The most measurements a told-nothing session makes before it decodes every row
    /// by least squares on every column: `n + ⌈n/20⌉ + 2` (a dense `J`: a full basis
    /// and 5% of redundancy); `None` for other sessions.
    pub fn dense_limit(&self) -> Option<usize> {
        (self.mode == Mode::ToldNothing).then(|| self.dense_cap())
    }

    /// The calls of the current round not told (nor erased) yet; none when done.
    pub fn pending(&self) -> Vec<usize> {
        match self.rounds.last() {
            Some(r) if !self.done => {
                r.told.state.iter().enumerate().filter(|(_, s)| **s == CallState::Pending).map(|(j, _)| j).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Whether the session is done.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The estimate, once the session is done.
    pub fn estimate(&self) -> Option<&Estimate> {
        self.estimate.as_ref().filter(|_| self.done)
    }

    /// The estimate, once the session is done.
    pub fn into_estimate(self) -> Option<Estimate> {
        if self.done { self.estimate } else { None }
    }

    /// The rounds so far, with what each showed.
    pub fn rounds(&self) -> Vec<Round> {
        self.rounds.iter().map(|r| r.report.clone()).collect()
    }

    /// Calls asked for so far, in all rounds (the current one included).
    pub fn calls(&self) -> usize {
        self.rounds.iter().map(|r| r.plan.calls()).sum()
    }

    /// The structure the session senses.
    pub fn structure(&self) -> &Structure {
        &self.structure
    }

    /// The point of linearization.
    pub fn x0(&self) -> &[f64] {
        &self.x0
    }

    /// Ends the current round (calls never told are erasures), decodes what all rounds
    /// told, and decides: [`Progress::Done`] or another round.
    ///
    /// Errors: the session is already done.
    pub fn finish_round(&mut self) -> Result<Progress> {
        if self.done {
            return Err(Error::InvalidSetting {
                name: "session",
                value: "done".into(),
                reason: "the session is done: no round to finish",
            });
        }
        {
            let r = self.rounds.last_mut().expect("a session has a round");
            for s in &mut r.told.state {
                if *s == CallState::Pending {
                    *s = CallState::Erased(ErasureReason::Missing);
                }
            }
            r.report.erasures = r.told.state.iter().filter(|s| **s != CallState::Told).count();
            // f(x0), when this round called it.
            if self.base.is_none() && r.plan.calls_f0() && r.told.state[0] == CallState::Told {
                self.base = Some(r.told.base.clone());
            }
        }
        let mut next = match self.mode {
            Mode::Structured => self.finish_structured()?,
            Mode::ToldNothing => self.finish_told_nothing()?,
            Mode::Prior => self.finish_prior()?,
        };
        // A blackbox that fails every call of two rounds in a row will not be sensed by
        // asking again.
        let failed_whole = |r: &RoundData| r.told.state.iter().all(|s| *s != CallState::Told);
        let n_rounds = self.rounds.len();
        if next.is_some() && n_rounds >= 2 && self.rounds[n_rounds - 2..].iter().all(failed_whole) {
            let r = &mut self.rounds.last_mut().expect("a round").report;
            r.showed.push_str("; every call of the last two rounds failed: the session stops");
            next = None;
        }
        let stopped_early = next.is_some();
        match next {
            Some((k, why)) if self.rounds.len() < MAX_ROUNDS && k > 0 => {
                match self.mode {
                    Mode::Structured => self.push_topup_round(k, why)?,
                    _ => self.push_random_round(k, why)?,
                }
                Ok(Progress::More { calls: self.rounds.last().expect("pushed").plan.calls() })
            }
            _ => {
                self.done = true;
                if self.mode != Mode::Structured && (self.estimate.is_none() || stopped_early) {
                    // Stopped before the decision to stop was made (every call failing,
                    // or the most rounds): the estimate of what there is.
                    let system = self.system();
                    self.estimate = Some(self.assemble_told_nothing(&system));
                }
                let rounds = self.rounds();
                let calls = self.calls();
                if let Some(est) = self.estimate.as_mut() {
                    let (_, _, diag) = est.parts_mut();
                    diag.rounds = rounds;
                    diag.calls = calls;
                }
                Ok(Progress::Done)
            }
        }
    }

    /// Runs every round on `f`, calls in parallel, and returns the estimate.
    ///
    /// ```
    /// use jacsense_problems::{BroydenTridiagonal, Problem, relative_error};
    /// use jacsense::{Session, SessionOptions, Settings, Structure};
    /// let p = BroydenTridiagonal { n: 300 };
    /// let x0 = p.x0();
    /// let mut session = Session::new(&Structure::dense(300, 300), &x0, &Settings::default(), &SessionOptions::default())?;
    /// let est = session.run(&p)?;
    /// assert!(relative_error(est.jacobian(), &p.jacobian(&x0)) < 1e-6);
    /// assert!(est.diagnostics().calls < 60 && est.diagnostics().rounds.len() > 1);
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn run<B: Blackbox + Sync + ?Sized>(&mut self, f: &B) -> Result<Estimate> {
        self.run_with(f, |plan| Ok(plan.evaluate(f)?.into_told()))?;
        self.done_estimate().cloned()
    }

    /// As [`Session::run`], calls one after another (for blackboxes that are not `Sync`).
    pub fn run_sequential<B: Blackbox + ?Sized>(&mut self, f: &B) -> Result<Estimate> {
        self.run_with(f, |plan| Ok(plan.evaluate_sequential(f)?.into_told()))?;
        self.done_estimate().cloned()
    }

    /// Runs the session to its end, each round's calls made by `evaluate`, and gives
    /// the session's estimate up instead of a copy (for
    /// [`jacobian_with`](crate::jacobian_with): a large `J` is not held twice).
    pub(crate) fn run_into_by<B: Blackbox + ?Sized>(
        mut self,
        f: &B,
        evaluate: impl Fn(&Plan) -> Result<Told>,
    ) -> Result<Estimate> {
        self.run_with(f, evaluate)?;
        self.estimate.ok_or_else(estimate_not_saved)
    }

    /// As [`Session::run_into`], calls one after another.
    pub(crate) fn run_sequential_into<B: Blackbox + ?Sized>(mut self, f: &B) -> Result<Estimate> {
        self.run_with(f, |plan| Ok(plan.evaluate_sequential(f)?.into_told()))?;
        self.estimate.ok_or_else(estimate_not_saved)
    }

    /// The estimate of a session run to its end.
    fn done_estimate(&self) -> Result<&Estimate> {
        self.estimate.as_ref().ok_or_else(estimate_not_saved)
    }

    /// Every round's calls by `evaluate` (all of them: values told before are replaced),
    /// until the session is done.
    fn run_with<B: Blackbox + ?Sized>(&mut self, f: &B, evaluate: impl Fn(&Plan) -> Result<Told>) -> Result<()> {
        let (n, m) = f.dims();
        self.structure.check_dims(n, m)?;
        while self.ask().is_some() {
            // `evaluate` tells every call anew: the round's empty values go first, so a
            // large J's measurements are not held twice.
            let round = self.rounds.last_mut().expect("a round is asked");
            drop(std::mem::take(&mut round.told));
            let plan = &self.rounds.last().expect("a round is asked").plan;
            let told = match evaluate(plan) {
                Ok(told) => told,
                Err(e) => {
                    // Nothing told: the round stays as it was asked.
                    let empty = Measurements::unchecked(plan).into_told();
                    self.rounds.last_mut().expect("a round is asked").told = empty;
                    return Err(e);
                }
            };
            self.rounds.last_mut().expect("a round is asked").told = told;
            if self.finish_round()? == Progress::Done {
                break;
            }
        }
        Ok(())
    }

    // ---- rounds ----

    /// Most valid measurements a told-nothing session makes: `n + ⌈0.05 n⌉ + 2`, so
    /// that with `f(x0)` a dense `J` costs `n + ⌈0.05 n⌉ + 3` calls.
    fn dense_cap(&self) -> usize {
        let n = self.structure.dims().0;
        n + n.div_ceil(20) + 2
    }

    /// Most valid measurements a prior's update makes before sensing afresh: the
    /// fullest row of candidates plus the held-back calls.
    fn prior_cap(&self) -> usize {
        let rho = self.candidates().max_row_count();
        let k = rho + sparse::holdback(rho);
        k.min(self.dense_cap())
    }

    /// The columns where a prior's change is looked for: the structure's pattern, or the
    /// prior's when told nothing.
    fn candidates(&self) -> Pattern {
        match (&self.options.prior, self.structure.pattern().is_dense()) {
            (Some(prior), true) => prior.jacobian.pattern().clone(),
            _ => self.structure.pattern().clone(),
        }
    }

    fn plan_options(&self) -> PlanOptions {
        PlanOptions { f0: self.base().map(<[f64]>::to_vec), bounds: self.options.point.bounds.clone() }
    }

    fn remaining_calls(&self) -> Option<usize> {
        self.max_calls().map(|max| max.saturating_sub(self.calls()))
    }

    /// Fits `k` measurements (and `f(x0)` when unknown) into the remaining budget.
    fn within_budget(&self, k: usize) -> usize {
        let extra = usize::from(self.base().is_none() && self.settings.difference == Difference::Forward);
        let per = if self.settings.difference == Difference::Central { 2 } else { 1 };
        match self.remaining_calls() {
            None => k,
            Some(left) => k.min(left.saturating_sub(extra) / per),
        }
    }

    fn round_settings(&self, design: Design, decoder: DecoderChoice) -> Settings {
        let step = match &self.settings.step {
            crate::design::Step::Default if self.settings.noise > 0.0 => {
                crate::design::Step::Noise(self.settings.noise)
            }
            s => s.clone(),
        };
        Settings { design, decoder, step, ..self.settings.clone() }
    }

    fn push_random_round(&mut self, k: usize, why: String) -> Result<()> {
        let (n, m) = self.structure.dims();
        let previous: Vec<Mat<f64>> =
            self.rounds.iter().map(|r| directions::as_matrix(r.plan.directions(), n)).collect();
        crate::design::check_directions_fit(
            &Design::Auto,
            n,
            k + previous.iter().map(Mat::ncols).sum::<usize>(),
            (n, m),
        )?;
        let seed = self.round_seed();
        let dirs = directions::orthonormal_round(n, &previous, k, seed);
        let settings = self.round_settings(
            Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(k) },
            DecoderChoice::Sparse(SparseMethod::Omp),
        );
        let structure = Structure::dense(m, n);
        let plan = Scheme::from_parts(structure, settings, None, None, dirs).at_with(&self.x0, &self.plan_options())?;
        self.push_random_plan(plan, k, "orthonormal-random", why)
    }

    /// A top-up round of a structured session: `k` Gaussian directions on `columns`.
    fn push_topup_round(&mut self, k: usize, why: String) -> Result<()> {
        let n = self.structure.dims().0;
        let columns = self.pending_columns.take().unwrap_or_else(|| (0..n).collect());
        let seed = self.round_seed();
        let dirs = crate::design::random_directions(n, Some(columns), k, RandomDistribution::Gaussian, seed);
        let settings = self.round_settings(
            Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(k) },
            DecoderChoice::LeastSquares,
        );
        let plan = Scheme::from_parts(self.structure.clone(), settings, None, None, dirs)
            .at_with(&self.x0, &self.plan_options())?;
        self.push_random_plan(plan, k, "random-gaussian", why)
    }

    /// The seed of the next round's directions (a different stream per round).
    fn round_seed(&self) -> u64 {
        self.settings.seed.wrapping_add(0x9E37_79B9_7F4A_7C15u64.wrapping_mul(self.rounds.len() as u64 + 1))
    }

    /// A round of `k` random directions as the session's next, once its values fit in
    /// memory.
    fn push_random_plan(&mut self, plan: Plan, k: usize, design: &str, why: String) -> Result<()> {
        let (n, m) = self.structure.dims();
        crate::memory::check_fits(
            || format!("the values of a round of {k} calls with m = {m} outputs"),
            (m as u128) * (k as u128) * 2,
            std::mem::size_of::<f64>(),
            m,
            n,
        )?;
        let told = Measurements::unchecked(&plan).into_told();
        let report = Round {
            calls: plan.calls(),
            measurements: k,
            erasures: 0,
            design: design.into(),
            why,
            showed: String::new(),
            open_rows: m,
        };
        self.rounds.push(RoundData { plan, told, report });
        Ok(())
    }

    fn set_showed(&mut self, showed: String, open_rows: usize) {
        let r = &mut self.rounds.last_mut().expect("a round").report;
        r.showed = showed;
        r.open_rows = open_rows;
    }

    // ---- told nothing ----

    /// All valid measurements of the rounds so far, every row seeing every one.
    fn system(&self) -> System {
        let (n, m) = self.structure.dims();
        let scale = self.rounds[0].plan.steps();
        let central = self.settings.difference == Difference::Central;
        let base = self.base();
        let mut rows_a: Vec<Vec<f64>> = Vec::new();
        let mut rows_y: Vec<Vec<f64>> = Vec::new();
        let mut level = vec![0.0f64; m];
        let mut calls = Vec::new();
        let mut offset = 0;
        if let Some(b) = base {
            level.iter_mut().zip(b).for_each(|(l, v)| *l = l.max(v.abs()));
        }
        for r in &self.rounds {
            let plan = &r.plan;
            let k = plan.measurements();
            let meas = Measurements::from_told(plan, r.told.clone());
            let d = directions::as_matrix(plan.directions(), n);
            for t in 0..k {
                if !meas.measurement_valid(t) || (!central && base.is_none()) {
                    continue;
                }
                let coefs: Vec<f64> =
                    (0..n).map(|c| plan.effective_coefficient(c, d[(c, t)]) * plan.steps()[c] / scale[c]).collect();
                let y: Vec<f64> = (0..m)
                    .map(|i| {
                        let slot = i * k + t;
                        if central {
                            0.5 * (r.told.values[2 * slot] - r.told.values[2 * slot + 1])
                        } else {
                            r.told.values[slot] - base.expect("checked")[i]
                        }
                    })
                    .collect();
                for (i, l) in level.iter_mut().enumerate() {
                    let slot = i * k + t;
                    let v = if central { r.told.values[2 * slot].abs() } else { r.told.values[slot].abs() };
                    *l = l.max(v);
                }
                rows_a.push(coefs);
                rows_y.push(y);
                let (plus, minus) = plan.calls_of(t);
                calls.push((offset + plus, minus.map(|c| offset + c)));
            }
            offset += plan.calls();
        }
        let kk = rows_a.len();
        System {
            a: Mat::from_fn(kk, n, |t, c| rows_a[t][c]),
            y: Mat::from_fn(kk, m, |t, i| rows_y[t][i]),
            level,
            calls,
        }
    }

    fn finish_told_nothing(&mut self) -> Result<Option<(usize, String)>> {
        let (n, m) = self.structure.dims();
        let system = self.system();
        let k = system.a.nrows();
        let open: Vec<usize> = (0..m).filter(|&i| self.fits[i] == RowFit::Open).collect();
        let mut showed;
        if k >= n + 2 {
            // As many measurements as unknowns and more: every open row by least squares.
            for &i in &open {
                self.fits[i] = RowFit::Dense;
            }
            showed = format!("{k} valid measurements ≥ n + 2: {} rows by least squares on every column", open.len());
        } else if k > 0 && self.settings.outliers > 0.0 {
            return self.finish_told_nothing_robust(system);
        } else if k > 0 {
            let held = sparse::holdback(k);
            let found = sparse::search(&system, &open, held);
            let (mut validated, mut mispredict, mut nofit) = (0, 0, 0);
            let mut largest = 0;
            for (&i, f) in open.iter().zip(found) {
                match f {
                    Found::Validated(s) => {
                        largest = largest.max(s.len());
                        self.fits[i] = RowFit::Sparse(s);
                        validated += 1;
                    }
                    Found::Mispredicts(_) => mispredict += 1,
                    Found::NoFit => nofit += 1,
                }
            }
            showed = format!(
                "{k} valid measurements ({held} held back): {validated} rows validated (supports up to {largest}), \
                 {mispredict} fitted but mispredicted the held-back calls, {nofit} without a sparse fit"
            );
        } else {
            showed = "no valid measurement".into();
        }
        let open = self.fits.iter().filter(|f| **f == RowFit::Open).count();
        if open == 0 || k >= n + 2 {
            self.estimate = Some(self.assemble_told_nothing(&system));
            return Ok(self.done_unless_tol(k, showed));
        }
        let want = self.next_round(k, open);
        if want == 0 {
            let open = if k >= n {
                // As many measurements as unknowns: the open rows are determined by
                // least squares on every column, without calls left to validate them.
                self.fits.iter_mut().filter(|f| **f == RowFit::Open).for_each(|f| *f = RowFit::Dense);
                showed.push_str(&format!(
                    "; the budget is spent: {open} rows by least squares on every column ({k} measurements ≥ n, \
                     not validated)"
                ));
                0
            } else {
                showed.push_str(&format!("; the budget is spent: {open} rows left undetermined"));
                open
            };
            self.estimate = Some(self.assemble_told_nothing(&system));
            self.set_showed(showed, open);
            return Ok(None);
        }
        self.set_showed(showed, open);
        Ok(Some((want, format!("{open} rows not validated: {want} more directions, {} in all", k + want))))
    }

    /// Told nothing with `outliers > 0`: every row by [`RobustSparse`] on all
    /// measurements so far. Rows that validate on held-back clean calls are kept; the
    /// calls named garbage are left out of the refit and reported. More measurements
    /// when rows are left open, or when more calls were judged wrong than planned for.
    fn finish_told_nothing_robust(&mut self, system: System) -> Result<Option<(usize, String)>> {
        let (n, m) = self.structure.dims();
        let k = system.a.nrows();
        let outliers = self.settings.outliers;
        let robust =
            RobustSparse { max_support: Some(sparse::sparsity_limit(k, n)), outliers, ..RobustSparse::default() };
        let fit = robust.decode_rows(system.a.as_ref(), system.y.as_ref());
        let mut validated = 0;
        for i in 0..m {
            self.fits[i] = match &fit.supports[i] {
                Some(s) if fit.validation[i] <= sparse::VALIDATION_FACTOR * sparse::FIT_TOLERANCE => {
                    validated += 1;
                    RowFit::Sparse(s.clone())
                }
                _ => RowFit::Open,
            };
        }
        let bad = fit.outlier_calls;
        let is_bad = {
            let mut v = vec![false; k];
            bad.iter().for_each(|&t| v[t] = true);
            v
        };
        let keep: Vec<usize> = (0..k).filter(|&t| !is_bad[t]).collect();
        let clean = System {
            a: Mat::from_fn(keep.len(), n, |r, c| system.a[(keep[r], c)]),
            y: Mat::from_fn(keep.len(), m, |r, i| system.y[(keep[r], i)]),
            level: system.level.clone(),
            calls: keep.iter().map(|&t| system.calls[t]).collect(),
        };
        // Each garbage measurement's call(s), with the rows whose fits left it out.
        self.garbage = bad
            .iter()
            .flat_map(|&t| {
                let rows_flagged = fit.rows.iter().filter(|r| r.outliers.contains(&t)).count();
                let (p, q) = system.calls[t];
                std::iter::once(p).chain(q).map(move |call| Outlier { call, rows_flagged, rows_seen: m })
            })
            .collect();
        let open = m - validated;
        let planned = (outliers * k as f64).ceil() as usize;
        let mut showed = format!(
            "{k} valid measurements, robust sparse: {validated} rows validated, {} measurements judged garbage \
             (planned for {planned})",
            bad.len()
        );
        self.estimate = Some(self.assemble_told_nothing(&clean));
        if open == 0 && bad.len() <= planned {
            return Ok(self.done_unless_tol(k, showed));
        }
        let want = self.next_round(k, open);
        if want == 0 {
            showed.push_str(&format!("; the budget is spent: {open} rows left undetermined"));
            self.set_showed(showed, open);
            return Ok(None);
        }
        self.set_showed(showed, open);
        let why = if open > 0 {
            format!("{open} rows not validated: {want} more directions, {} in all", k + want)
        } else {
            format!(
                "{} measurements judged garbage > {planned} planned for: {want} more directions, {} in all",
                bad.len(),
                k + want
            )
        };
        Ok(Some((want, why)))
    }

    /// Every row fitted after `k` measurements: done, unless the standard errors exceed
    /// `tol` ([`Session::more_for_tol`]). Records what the round showed.
    fn done_unless_tol(&mut self, k: usize, showed: String) -> Option<(usize, String)> {
        let gain = self.step_for_noise();
        match self.more_for_tol(k, gain) {
            Some((0, spent)) => {
                self.set_showed(format!("{showed}; {spent}"), 0);
                None
            }
            Some(more) => {
                let m = self.structure.dims().1;
                self.set_showed(format!("{showed}; {}", more.1), m);
                Some(more)
            }
            None => {
                self.set_showed(showed, 0);
                None
            }
        }
    }

    /// Measurements to add to `k` while `open` rows are not validated: half again, or
    /// twice when no row validated yet (the rows are denser than these measurements can
    /// recover: none is near its end), within the dense cap and the budget.
    fn next_round(&self, k: usize, open: usize) -> usize {
        let growth = if open == self.structure.dims().1 { 2.0 } else { GROWTH };
        let target = ((k as f64 * growth).ceil() as usize).max(k + 4).min(self.dense_cap());
        self.within_budget(target.saturating_sub(k))
    }

    /// With `tol` and neither a noise level nor a step given: when the last decode
    /// showed noise above [`NOISY`] (its pooled level, `Diagnostics::noise`), later
    /// rounds step for it ([`Step::Noise`](crate::design::Step::Noise), as
    /// `Settings::noise` would have). Rounds of both steps decode together: their
    /// equations are in differences of `f`, whose noise does not depend on the step.
    /// Returns the signal a measurement gains, `(h_new / h_old)²` (1 when unchanged).
    fn step_for_noise(&mut self) -> f64 {
        let default = self.options.tol.is_some()
            && self.settings.noise == 0.0
            && self.settings.step == crate::design::Step::Default;
        let noise = self.estimate.as_ref().and_then(|e| e.diagnostics().noise);
        let Some(noise) = noise.filter(|&v| default && v > NOISY && v.is_finite()) else { return 1.0 };
        let h0 = |step| crate::design::steps(&step, self.settings.difference, &[0.0], 1.0).map(|h| h[0]);
        match (h0(crate::design::Step::Noise(noise)), h0(crate::design::Step::Default)) {
            (Ok(new), Ok(old)) if new > old => {
                self.settings.noise = noise;
                (new / old).powi(2)
            }
            _ => 1.0,
        }
    }

    /// The measurements made at a step for the noise seen ([`Session::step_for_noise`]);
    /// `None` before any. The ones before carry next to no signal beside them: the
    /// standard errors shrink with these alone.
    fn stepped_measurements(&self) -> Option<usize> {
        // Only the session steps for noise after a first round planned without it.
        let first = self.rounds.first()?;
        if first.plan.settings().noise > 0.0 || self.settings.noise == 0.0 {
            return None;
        }
        let stepped: usize =
            self.rounds.iter().filter(|r| r.plan.settings().noise > 0.0).map(|r| r.plan.measurements()).sum();
        (stepped > 0).then_some(stepped)
    }

    /// With `tol`: more measurements when the standard errors exceed it (none, with
    /// why, when the call limit is reached), each worth `gain` of the ones made.
    fn more_for_tol(&self, k: usize, gain: f64) -> Option<(usize, String)> {
        let tol = self.options.tol?;
        let est = self.estimate.as_ref()?;
        let worst = match est.std_errors() {
            Some(se) => se.iter().copied().filter(|v| v.is_finite()).fold(0.0f64, f64::max),
            None => f64::INFINITY,
        };
        if worst <= tol {
            return None;
        }
        let stepped = self.stepped_measurements();
        let k = stepped.map_or(k, |s| s.min(k));
        let mut wanted = more_for_ratio(k.max(1), worst, tol, gain);
        if gain > 1.0 || stepped.is_some() {
            // The stepped measurements alone must determine every row, with redundancy.
            let rho = est.jacobian().pattern().max_row_count();
            wanted = wanted.max((rho + 2).saturating_sub(stepped.unwrap_or(0)));
        }
        let want = self.within_budget(wanted.max(2));
        if want == 0 {
            return Some((0, self.tol_out_of_calls(worst, tol)));
        }
        let noisy = self.noisy_note(gain);
        Some((want, format!("standard errors up to {worst:.2e} > tol = {tol:.2e}: {want} more directions{noisy}")))
    }

    /// Why a `tol` is not met when the call limit leaves no round for it.
    fn tol_out_of_calls(&self, worst: f64, tol: f64) -> String {
        let limit = self.max_calls().unwrap_or(0);
        format!("standard errors up to {worst:.2e} > tol = {tol:.2e}, but the limit of {limit} calls is reached")
    }

    /// What a round's `why` adds when it steps for the noise seen (`gain > 1`).
    fn noisy_note(&self, gain: f64) -> String {
        if gain > 1.0 {
            format!(" (outputs noisier than the default step assumes, {:.1e}: these step for it)", self.settings.noise)
        } else {
            String::new()
        }
    }

    fn assemble_told_nothing(&self, system: &System) -> Estimate {
        let (n, m) = self.structure.dims();
        let k = system.a.nrows();
        let scale = self.rounds[0].plan.steps().to_vec();
        // Dense rows share one least-squares solve.
        let dense_rows: Vec<usize> = (0..m).filter(|&i| self.fits[i] == RowFit::Dense).collect();
        let mut dense_solution: Vec<(Vec<f64>, crate::decode::RowSolve)> = Vec::new();
        if !dense_rows.is_empty() {
            let y = Mat::from_fn(k, dense_rows.len(), |t, g| system.y[(t, dense_rows[g])]);
            let mut z = Mat::<f64>::zeros(n, dense_rows.len());
            let solves = LeastSquares::default().solve(system.a.as_ref(), y.as_ref(), z.as_mut());
            dense_solution =
                solves.into_iter().enumerate().map(|(g, s)| ((0..n).map(|c| z[(c, g)]).collect(), s)).collect();
        }
        let mut dense_iter = dense_solution.into_iter();
        let mut per_row: Vec<(Vec<usize>, Vec<f64>, crate::decode::RowSolve)> = (0..m)
            .into_par_iter()
            .map(|i| match &self.fits[i] {
                RowFit::Sparse(support) => {
                    let (s, z) = sparse::refit(system.a.as_ref(), system.y.get(.., i..i + 1), support);
                    (support.clone(), z, s)
                }
                _ => (Vec::new(), Vec::new(), crate::decode::RowSolve::default()),
            })
            .collect();
        for &i in &dense_rows {
            let (z, s) = dense_iter.next().expect("one solution per dense row");
            per_row[i] = ((0..n).collect(), z, s);
        }
        let columns: Vec<Vec<usize>> = (0..m)
            .map(|i| match &self.fits[i] {
                RowFit::Open => (0..n).collect(),
                _ => per_row[i].0.clone(),
            })
            .collect();
        self.assemble_rows(system, &columns, per_row, &scale, DecodedBy::Rows(DecoderChoice::Sparse(SparseMethod::Omp)))
    }

    /// An estimate from per-row solves on `columns` (a row with no solve is undetermined).
    fn assemble_rows(
        &self,
        system: &System,
        columns: &[Vec<usize>],
        per_row: Vec<(Vec<usize>, Vec<f64>, crate::decode::RowSolve)>,
        scale: &[f64],
        decoder: DecodedBy,
    ) -> Estimate {
        let (_, m) = self.structure.dims();
        let k = system.a.nrows();
        let pattern = Pattern::from_rows(self.structure.dims().0, columns).expect("columns are in range");
        // Noise pooled over rows, relative to max(1, |f_i|) (as the row decoders do).
        let units: Vec<f64> = system.level.iter().map(|l| l.max(1.0)).collect();
        let (mut rss, mut dof) = (0.0, 0usize);
        for (i, (_, _, s)) in per_row.iter().enumerate() {
            if s.dof > 0 && self.fits[i] != RowFit::Open {
                rss += (s.residual / units[i]).powi(2);
                dof += s.dof;
            }
        }
        let pooled = (dof > 0).then(|| rss / dof as f64);
        let mut values = Vec::with_capacity(pattern.nnz());
        let mut std_errors = Vec::with_capacity(pattern.nnz());
        let mut rows = Vec::with_capacity(m);
        for (i, (support, z, s)) in per_row.into_iter().enumerate() {
            if self.fits[i] == RowFit::Open || (self.mode == Mode::Prior && support.is_empty() && z.is_empty()) {
                let unknowns = columns[i].len();
                values.extend(std::iter::repeat_n(f64::NAN, unknowns));
                std_errors.extend(std::iter::repeat_n(f64::NAN, unknowns));
                rows.push(RowReport {
                    status: RowStatus::Underdetermined { determined: 0, unknowns },
                    measurements: k,
                    condition: f64::INFINITY,
                    ..RowReport::empty()
                });
                continue;
            }
            let var = pooled.map(|p| shrunk_variance(s.residual.powi(2), s.dof, p, units[i]));
            for (p, &c) in support.iter().enumerate() {
                values.push(z[p] / scale[c]);
                let vf = s.variance_factors.get(p).copied().unwrap_or(f64::NAN);
                std_errors.push(var.map_or(f64::NAN, |v| (v * vf).sqrt() / scale[c]));
            }
            rows.push(RowReport {
                status: status_of(&z),
                residual: s.residual,
                condition: s.condition,
                measurements: k,
                dof: s.dof,
                outliers: 0,
                offset: false,
                noise: var.map(f64::sqrt),
            });
        }
        crate::status::judge_rows_in(&self.rounds[0].plan, &pattern, &mut rows);
        let any_se = std_errors.iter().any(|v| v.is_finite());
        let jacobian = SparseMatrix::new(pattern, values).expect("one value per entry");
        let diagnostics = self.diagnostics(decoder, rows, pooled.map(f64::sqrt), k);
        Estimate::from_parts(jacobian, any_se.then_some(std_errors), diagnostics)
    }

    fn diagnostics(&self, decoder: DecodedBy, rows: Vec<RowReport>, noise: Option<f64>, valid: usize) -> Diagnostics {
        let measurements: usize = self.rounds.iter().map(|r| r.plan.measurements()).sum();
        Diagnostics {
            design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(measurements) },
            decoder,
            calls: self.calls(),
            measurements,
            valid_measurements: valid,
            colors: None,
            erasures: self.erasures(),
            outliers: self.garbage.clone(),
            noise,
            rows,
            f0: self.base().map(<[f64]>::to_vec),
            rounds: self.rounds(),
        }
    }

    /// Failed calls of every round, numbered across rounds.
    fn erasures(&self) -> Vec<Erasure> {
        let mut out = Vec::new();
        let mut offset = 0;
        for r in &self.rounds {
            for (call, s) in r.told.state.iter().enumerate() {
                if let CallState::Erased(reason) = s {
                    out.push(Erasure { call: offset + call, reason: reason.clone() });
                }
            }
            offset += r.plan.calls();
        }
        out
    }

    // ---- prior ----

    fn finish_prior(&mut self) -> Result<Option<(usize, String)>> {
        let (n, m) = self.structure.dims();
        let prior = self.options.prior.clone().expect("a prior session has a prior");
        let system = self.system();
        let k = system.a.nrows();
        let candidates = self.candidates();
        let cap = self.prior_cap();
        if k == 0 {
            let want = self.within_budget(FIRST_PRIOR_ROUND);
            self.set_showed("no valid measurement".into(), m);
            return Ok((want > 0).then(|| (want, "no valid measurement yet".to_string())));
        }
        let scale = self.rounds[0].plan.steps().to_vec();
        // y' = y − A (J0 h): what the prior does not predict.
        let mut residual = system.y.clone();
        for i in 0..m {
            let cols = prior.jacobian.pattern().row(i);
            let vals = prior.jacobian.row_values(i);
            for t in 0..k {
                let predicted: f64 = cols.iter().zip(vals).map(|(&c, &v)| system.a[(t, c)] * v * scale[c]).sum();
                residual[(t, i)] -= predicted;
            }
        }
        let held = sparse::holdback(k).min(k.saturating_sub(1)).max(1);
        let fit_len = k - held;
        let tolerance = prior.tolerance;
        let change = |rows: Range<usize>, i: usize| -> Vec<f64> {
            fit_change(&system, &residual, rows, i, candidates.row(i), tolerance)
        };
        // Validation on the held-back calls, all rows together.
        let (mut err2, mut size2, mut floor2) = (0.0, 0.0, 0.0);
        let fits: Vec<Vec<f64>> = (0..m).into_par_iter().map(|i| change(0..fit_len, i)).collect();
        for i in 0..m {
            let cols = candidates.row(i);
            let floor = sparse::noise_floor(system.level[i], system.y.get(.., i..i + 1));
            for t in fit_len..k {
                let predicted: f64 = cols.iter().zip(&fits[i]).map(|(&c, &z)| system.a[(t, c)] * z).sum();
                err2 += (residual[(t, i)] - predicted).powi(2);
                size2 += system.y[(t, i)].powi(2);
                floor2 += (sparse::VALIDATION_FACTOR * floor).powi(2);
            }
        }
        let relative = err2.sqrt() / size2.sqrt().max(f64::MIN_POSITIVE);
        let accepted = err2.sqrt() <= tolerance * size2.sqrt() + floor2.sqrt();
        let determined = k >= candidates.max_row_count() + 2;
        if accepted || (determined && !self.structure.pattern().is_dense()) {
            // Refit on every call and add the change to the prior.
            let changes: Vec<Vec<f64>> = (0..m).into_par_iter().map(|i| change(0..k, i)).collect();
            let mut rows_cols: Vec<Vec<usize>> = Vec::with_capacity(m);
            let mut values = Vec::new();
            for i in 0..m {
                let mut cols: Vec<usize> = candidates.row(i).to_vec();
                cols.extend_from_slice(prior.jacobian.pattern().row(i));
                cols.sort_unstable();
                cols.dedup();
                for &c in &cols {
                    let p = candidates.row(i).binary_search(&c).ok().map_or(0.0, |p| changes[i][p] / scale[c]);
                    let v = prior.jacobian.get(i, c) + p;
                    values.push(v);
                }
                rows_cols.push(cols);
            }
            let pattern = Pattern::from_rows(n, &rows_cols).expect("in range");
            let mut rows: Vec<RowReport> = (0..m)
                .map(|i| RowReport {
                    status: RowStatus::Determined,
                    measurements: k,
                    dof: if k > candidates.row(i).len() { k - candidates.row(i).len() } else { held },
                    ..RowReport::empty()
                })
                .collect();
            crate::status::judge_rows_in(&self.rounds[0].plan, &pattern, &mut rows);
            let jacobian = SparseMatrix::new(pattern, values).expect("one value per entry");
            let diagnostics = self.diagnostics(DecodedBy::Rows(DecoderChoice::LeastSquares), rows, None, k);
            self.estimate = Some(Estimate::from_parts(jacobian, None, diagnostics));
            let showed = if accepted {
                format!(
                    "the prior, updated from {fit_len} calls, predicts {held} held-back calls to {relative:.1e} (tolerance {tolerance:.0e}): validated"
                )
            } else {
                format!(
                    "held-back error {relative:.1e} > {tolerance:.0e} with every candidate entry determined: re-sensed on the structure from {k} calls"
                )
            };
            self.set_showed(showed, 0);
            return Ok(None);
        }
        if k >= cap {
            // The prior's pattern cannot explain the calls: sense from scratch, keeping them.
            self.mode = Mode::ToldNothing;
            let failed = format!(
                "held-back error {relative:.1e} > {tolerance:.0e} at {k} calls: the prior fails, sensing from scratch"
            );
            let next = self.finish_told_nothing()?;
            let r = &mut self.rounds.last_mut().expect("a round").report;
            r.showed = format!("{failed}; {}", r.showed);
            return Ok(next);
        }
        let target = if relative > tolerance.sqrt() { cap } else { (2 * k).min(cap) };
        let want = self.within_budget(target - k);
        self.set_showed(format!("held-back error {relative:.1e} > tolerance {tolerance:.0e}"), m);
        if want == 0 {
            self.estimate = Some(self.assemble_told_nothing(&system));
            return Ok(None);
        }
        Ok(Some((want, format!("the prior's update failed validation: {want} more directions"))))
    }

    // ---- structured ----

    fn finish_structured(&mut self) -> Result<Option<(usize, String)>> {
        let (_, m) = self.structure.dims();
        // The first round's decode: after it, or after loading a saved session (an
        // estimate is not saved) whose top-ups patch it.
        if self.rounds.len() == 1 || self.estimate.is_none() {
            // The values move into the measurements and back (a large J's are not copied).
            let told = std::mem::take(&mut self.rounds[0].told);
            let meas = Measurements::from_told(&self.rounds[0].plan, told);
            let mut est = meas.decode();
            let told = meas.into_told();
            self.rounds[0].told = told;
            est.parts_mut().2.rounds = Vec::new();
            self.estimate = Some(est);
        }
        if self.rounds.len() > 1 {
            self.decode_topups();
        }
        let est = self.estimate.as_ref().expect("decoded");
        let undetermined = est.undetermined_rows();
        let can_top_up = self.structure.parametrization().is_none()
            && self.rounds[0].plan.star_coloring().is_none()
            && self.rounds[0].plan.scheme().projection().is_none()
            && !matches!(self.rounds[0].plan.settings().decoder, DecoderChoice::Sparse(_));
        let pattern = self.structure.pattern();
        let mut showed = format!("{} rows undetermined", undetermined.len());
        if !undetermined.is_empty() && can_top_up {
            // Aim at what is missing: the undetermined entries' columns.
            let mut columns = vec![false; self.structure.dims().0];
            let mut most = 0;
            for &i in &undetermined {
                let vals = est.jacobian().row_values(i);
                let cols = est.jacobian().pattern().row(i);
                let missing = cols.iter().zip(vals).filter(|(_, v)| v.is_nan()).count();
                let missing = if missing == 0 { pattern.row_count(i) } else { missing };
                most = most.max(missing);
                for (&c, v) in cols.iter().zip(vals) {
                    if v.is_nan() {
                        columns[c] = true;
                    }
                }
            }
            let columns: Vec<usize> = (0..columns.len()).filter(|&c| columns[c]).collect();
            let k = self.within_budget(most + 2);
            if k > 0 && !columns.is_empty() {
                self.set_showed(showed, undetermined.len());
                let why = format!(
                    "{} rows left undetermined by failed calls: {k} directions on the {} columns they miss",
                    undetermined.len(),
                    columns.len()
                );
                return Ok(self.schedule_topup(k, columns, why));
            }
            showed.push_str("; the budget is spent");
        }
        if let Some(tol) = self.options.tol
            && can_top_up
            && undetermined.is_empty()
        {
            let se = est.std_errors();
            let mut above = vec![false; self.structure.dims().0];
            let mut rows_above = 0;
            let mut worst = 0.0f64;
            let mut rows_k = 0usize;
            for i in 0..m {
                let range = est.jacobian().pattern().row_range(i);
                let cols = est.jacobian().pattern().row(i);
                let row_worst = match se {
                    Some(se) => {
                        se[range].iter().copied().fold(0.0f64, |a, b| if b.is_nan() { f64::INFINITY } else { a.max(b) })
                    }
                    None => f64::INFINITY,
                };
                if row_worst > tol && !cols.is_empty() {
                    rows_above += 1;
                    worst = worst.max(row_worst);
                    rows_k = rows_k.max(est.diagnostics().rows[i].measurements);
                    cols.iter().for_each(|&c| above[c] = true);
                }
            }
            if rows_above > 0 {
                let rho = pattern.max_row_count();
                let gain = self.step_for_noise();
                let rows_k = self.stepped_measurements().map_or(rows_k, |s| s.min(rows_k));
                let wanted = more_for_ratio(rows_k.max(rho + 2), worst, tol, gain);
                let k = self.within_budget(wanted.max(rho + 2));
                if k > 0 {
                    let columns: Vec<usize> = (0..above.len()).filter(|&c| above[c]).collect();
                    self.set_showed(format!("{showed}; {rows_above} rows with standard errors above tol"), rows_above);
                    let noisy = self.noisy_note(gain);
                    let why = format!(
                        "standard errors up to {worst:.2e} > tol = {tol:.2e} on {rows_above} rows: {k} more directions{noisy}"
                    );
                    return Ok(self.schedule_topup(k, columns, why));
                }
                showed.push_str(&format!("; {}", self.tol_out_of_calls(worst, tol)));
            }
        }
        let open = undetermined.len();
        self.set_showed(showed, open);
        Ok(None)
    }

    fn schedule_topup(&mut self, k: usize, columns: Vec<usize>, why: String) -> Option<(usize, String)> {
        self.pending_columns = Some(columns);
        Some((k, why))
    }
}

/// The change of row `i` on its candidate columns `cols`, fitted on measurements `rows`
/// of `residual` (what the prior does not predict): none when the prior already
/// predicts within `tolerance`, else a sparse change when one fits, else the least
/// change that fits (minimum norm).
/// Measurements to add to `k` for standard errors of `worst` to reach `tol`, each new
/// one worth `gain` of the `k` made (errors shrink as 1/√k): `k (ratio − 1) / gain`,
/// with `ratio = (worst / tol)²` (2 when no standard error is known).
fn more_for_ratio(k: usize, worst: f64, tol: f64, gain: f64) -> usize {
    let ratio = if worst.is_finite() { (worst / tol).powi(2) } else { 2.0 };
    ((k as f64) * (ratio - 1.0) / gain).ceil().min(usize::MAX as f64) as usize
}

fn fit_change(
    system: &System,
    residual: &Mat<f64>,
    rows: Range<usize>,
    i: usize,
    cols: &[usize],
    tolerance: f64,
) -> Vec<f64> {
    let d = cols.len();
    let kk = rows.len();
    if d == 0 || kk == 0 {
        return vec![0.0; d];
    }
    let y = Mat::from_fn(kk, 1, |t, _| residual[(rows.start + t, i)]);
    let size = Mat::from_fn(kk, 1, |t, _| system.y[(rows.start + t, i)]).norm_l2();
    let floor = sparse::noise_floor(system.level[i], system.y.get(.., i..i + 1)) * (kk as f64).sqrt();
    let target = tolerance * size + floor;
    let ynorm = y.norm_l2();
    if ynorm <= target {
        return vec![0.0; d];
    }
    let a = Mat::from_fn(kk, d, |t, p| system.a[(rows.start + t, cols[p])]);
    if kk >= 2 {
        let decoder = SparseRecovery {
            max_support: Some((kk / 2).max(1).min(d)),
            tolerance: target / ynorm,
            ..SparseRecovery::default()
        };
        let mut z = Mat::<f64>::zeros(d, 1);
        let s = decoder.solve(a.as_ref(), y.as_ref(), z.as_mut()).pop().expect("one right-hand side");
        if s.status.is_determined() && (0..d).all(|p| z[(p, 0)].is_finite()) {
            return (0..d).map(|p| z[(p, 0)]).collect();
        }
    }
    min_norm(a, y)
}

/// The minimum-norm least-squares solution of `a z = y` (`a` of any shape), by the
/// pseudo-inverse with singular values below `ε · max(k, d) · σ₁` dropped.
fn min_norm(a: Mat<f64>, y: Mat<f64>) -> Vec<f64> {
    let (k, d) = a.shape();
    let Ok(svd) = a.thin_svd() else { return vec![0.0; d] };
    let s = svd.S().column_vector();
    let top = if s.nrows() > 0 { s[0] } else { 0.0 };
    let cut = f64::EPSILON * (k.max(d) as f64) * top;
    let uty = svd.U().transpose() * &y;
    let mut z = vec![0.0; d];
    for j in 0..s.nrows() {
        if s[j] > cut {
            let w = uty[(j, 0)] / s[j];
            for (p, zp) in z.iter_mut().enumerate() {
                *zp += svd.V()[(p, j)] * w;
            }
        }
    }
    z
}
