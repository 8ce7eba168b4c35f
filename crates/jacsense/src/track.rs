//! Tracking a Jacobian along a trajectory from a prior (DESIGN.md §9, "Priors").
//!
//! Along a trajectory `J(x_{t+1}) ≈ J(x_t)`, and along a smooth one `J` is nearly a
//! polynomial in the step. The tracker keeps, for every row of `J` on the structure's
//! pattern, a Kalman filter on the row's entries and their Taylor coefficients in the
//! step up to [`TrackSettings::order`] (order 1: entries and their rate of change; the
//! default 4: up to the fourth derivative; entries in step-scaled units). At each new
//! point it moves the polynomial one step on (the prediction), calls `f` along `k`
//! directions `d`, and updates the filter with the measured `y = f(x0 + d) − f(x0)` —
//! with `k` well below the row's unknowns this is a least-change update of the
//! prediction, weighted by what earlier steps already pinned down (a Broyden-like
//! multi-secant update that also learns the derivatives). The update directions are
//! active ([`TrackSettings::active`]): each is where the filters are least sure of `J`,
//! the top eigenvector of `Σ_i S_i / ‖a_i‖²` (`S_i` row `i`'s predicted covariance of its
//! entries embedded in the columns, `a_i` the row: rows count by relative error; power
//! iteration), taken greedily — the covariance update needs no measured value, so the
//! next direction is chosen after the update with the one before — and scaled so that
//! no row sees more of it than of a Gaussian direction (`‖g_row‖² = ` the row's count,
//! `d = h ⊙ g`: the finite-difference error stays that of a random direction). Calls
//! by need ([`TrackSettings::margin`]): the first round stops before its `k` calls once
//! the filters' predicted error on a held-back call — their covariance, calibrated by a
//! running mean of observed over predicted squared validation errors, since it is only
//! as good as the drift model — is within the margin times the tolerance. Then
//! `v` further directions, random and held back from the update, validate the updated
//! `J`: the relative prediction error `‖y − J e‖ / ‖y‖` on each must stay within the
//! tolerance (at least a few times the finite-difference error of one measurement);
//! they check the update without trusting the filters' own covariance, and once they
//! have, they join the update. When validation fails, the held-back calls join the
//! update and a round twice as large follows (up to [`TrackSettings::rounds`] rounds,
//! while the calls stay below a full sense's). When the last round fails too — a
//! contact appears or breaks, a regime switches, `J` changes faster than the
//! polynomial follows — `J` is sensed from scratch with the full scheme (given `f(x0)`,
//! which is not called again), and the full sense is the filter's next measurement of
//! every entry (two full senses in a row give the rate, three the acceleration, ...).
//! When the filters' own covariance says that even 10 times the tolerance would take
//! more calls than a full sense (right after a fresh start, before the rate and the
//! acceleration are measured), the step senses in full without trying. A full sense
//! more than 1e-3 (relative) away from the prediction is a jump: the filter restarts
//! its entries there (and, for two full senses in a row with a higher-order filter,
//! its derivatives too). After repeated failures the tracker backs off (senses in full
//! for 1, 3, 7 steps before trying the prior again).
//!
//! Why the order: on a 7-joint arm stepped at 10 ms (`jacsense-rapier`'s tracking
//! example) `J` changes by 8.5e-4 per step (relative), its rate by 5e-5, and the third
//! and fourth differences of `J` from step to step are about 3e-6 and 3e-7: a
//! first-order prediction is off by 5e-5 at every step and never validates at 3e-6;
//! higher orders are off by about the next difference once their derivatives are
//! known (measured there with random directions: order 1 re-senses at every step, 102%
//! of differences' calls; order 3, 57%; order 4, 47%; BENCHMARKS.md, "Tracking along a
//! rollout").
//!
//! What limits it: a row's filter learns `r · (order + 1)` coefficients (105 for the
//! arm's 21 columns at order 4) from one projection per call, while the polynomial
//! holds over about ten steps. On the arm at 10 ms the validated tracker costs 35% of
//! dense differences' calls with active directions (43% with random ones; BENCHMARKS.md),
//! not the 25% of the issue's target: 3 update calls and the joined held-back call per
//! step leave the filters' error near the tolerance, and about three steps in ten need
//! a second round. The model itself is the limit, not its tuning: given exact linear
//! calls and no validation to pass (the example's `--replay`), 3 update calls and the
//! held-back one per step leave errors of 1.5e-5 (median) on the arm, and it takes 4
//! to hold 1e-5. Where `J` changes slowly (the arm at 1 ms) calls by need skip most
//! update calls (17% of differences' calls).
//!
//! The full re-sense is the scheme's plan at the point (given `f(x0)`); the tracker's
//! own calls go through the same guard as a plan's (an error, a panic or a non-finite
//! output fails the step's update, which then re-senses).
//!
//! ```
//! use jacsense::{from_fn, Settings, Structure, TrackSettings, Tracker};
//! // f(x) = A x + 0.1 x³ (A dense) along x(t) = (0.5 + 1e-4 t, …): J = A + 0.3 diag(x²)
//! // changes a little from step to step.
//! let n = 30;
//! let f = from_fn(n, n, move |x: &[f64], y: &mut [f64]| {
//!     for i in 0..n {
//!         y[i] = (0..n).map(|j| x[j] / (1.0 + i.abs_diff(j) as f64)).sum::<f64>() + 0.1 * x[i].powi(3);
//!     }
//! });
//! let mut tracker = Tracker::new(&Structure::dense(n, n), &Settings::default(), TrackSettings::default())?;
//! let (mut calls, mut resensed) = (0, 0);
//! for step in 0..50 {
//!     let x = vec![0.5 + 1e-4 * step as f64; n];
//!     let est = tracker.estimate(&f, &x, None)?;
//!     calls += est.calls;
//!     resensed += usize::from(est.resensed);
//!     let expected = 1.0 + 0.3 * x[3] * x[3]; // ∂f₃/∂x₃
//!     assert!((est.jacobian.get(3, 3) - expected).abs() < 1e-5);
//! }
//! assert!(resensed <= 8);     // the prior held at most steps…
//! assert!(calls < 50 * 31 / 2); // …at a fraction of the calls of a full sense (31) per step
//! # Ok::<(), jacsense::Error>(())
//! ```

use crate::blackbox::{Blackbox, call_guarded};
use crate::design::{Difference, Step, steps};
use crate::error::{Error, Result};
use crate::pattern::{Pattern, SparseMatrix};
use crate::plan::{PlanOptions, Scheme, check_f0, check_x0};
use crate::settings::Settings;
use crate::structure::Structure;

use rayon::prelude::*;

/// How the tracker senses the change of `J`.
///
/// ```
/// let s = jacsense::TrackSettings::default();
/// assert_eq!((s.directions, s.validation, s.tolerance), (3, 1, 3e-6));
/// assert_eq!((s.order, s.rounds, s.active, s.margin), (4, 2, true, 0.5));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TrackSettings {
    /// Directions for the update (`k`; with [`TrackSettings::margin`], the most in the
    /// first round).
    pub directions: usize,
    /// Held-back directions that validate the update (`v`, at least 1).
    pub validation: usize,
    /// The relative prediction error on a held-back call accepted (raised to at least
    /// 4 times the finite-difference error of one measurement).
    pub tolerance: f64,
    /// How much the highest tracked Taylor coefficient of `J` may change per step,
    /// relative to the row's size (the filter's process noise). The default 1e-9 suits
    /// the default order 4 (the arm's fifth differences are about 3e-8 per step; larger
    /// values let the unmeasured coefficients wander and cost calls); a first-order
    /// filter wants about 1e-6.
    pub drift: f64,
    /// The derivatives of `J` in time each row's filter tracks (1: a constant rate of
    /// change; 2: a constant acceleration; up to 4): the prediction is the Taylor
    /// polynomial of this degree moved one step on.
    pub order: usize,
    /// Rounds at one point before sensing in full: when validation fails, the held-back
    /// calls join the update and a round twice as large follows (while the calls stay
    /// below those of a full sense).
    pub rounds: usize,
    /// Update directions where the filters are most uncertain (each the top eigenvector
    /// of the rows' predicted covariances of their entries, relative to the rows' sizes,
    /// chosen greedily: the next one after the update with the one before) instead of
    /// random ones. The held-back directions stay random either way: they check the
    /// update without trusting the filters' own covariance.
    pub active: bool,
    /// Calls by need: the first round makes only as many of its update calls as bring
    /// the filters' predicted error on a held-back call (their covariance, calibrated
    /// on the validation errors seen so far) within `margin` times the tolerance — none
    /// when the prediction already is — and at most [`TrackSettings::directions`]; 0
    /// makes all of them.
    pub margin: f64,
}

/// The highest [`TrackSettings::order`].
pub const MAX_ORDER: usize = 4;

/// A step is sensed in full without trying the prior when the filters' own covariance
/// says that bringing their predicted error to this many times the tolerance would take
/// more calls than a full sense.
const HOPELESS: f64 = 10.0;

impl Default for TrackSettings {
    fn default() -> Self {
        TrackSettings {
            directions: 3,
            validation: 1,
            tolerance: 3e-6,
            drift: 1e-9,
            order: 4,
            rounds: 2,
            active: true,
            margin: 0.5,
        }
    }
}

/// The estimate at one point of the trajectory.
#[derive(Clone, Debug)]
pub struct Tracked {
    /// The Jacobian (on the structure's pattern).
    pub jacobian: SparseMatrix,
    /// Calls made at this point (`f(x0)` included when it was not given).
    pub calls: usize,
    /// Whether the update failed validation (or there was no prior) and `J` was sensed
    /// from scratch.
    pub resensed: bool,
    /// The largest relative prediction error of the updated `J` on the held-back calls
    /// (`None` when there was no prior to update).
    pub validation_error: Option<f64>,
}

/// One row's filter: the state `s` is `order + 1` blocks of `r` values in step-scaled
/// units (`J_ic · scale_c`): the entries, then their Taylor coefficients in the step
/// (`J⁽ˡ⁾/l!` per step^l); covariance `p` of `s` (row-major, `dim × dim`).
#[derive(Clone, Debug)]
struct RowFilter {
    s: Vec<f64>,
    p: Vec<f64>,
    /// The row's size `‖a‖` when the filter (re)started: the unit of its noise levels.
    size: f64,
}

impl RowFilter {
    fn entries(&self, r: usize) -> &[f64] {
        &self.s[..r]
    }

    /// `s ← F s`, `P ← F P Fᵀ + Q`: the Taylor polynomial moved one step on, with noise
    /// `eps` on the entries and `drift` on the highest coefficient.
    fn predict(&mut self, r: usize, order: usize, eps: f64, drift: f64) {
        let dim = r * (order + 1);
        let f = |i: usize, l: usize| if l >= i { binomial(l, i) } else { 0.0 };
        let mut s = vec![0.0; dim];
        for i in 0..=order {
            for l in i..=order {
                for c in 0..r {
                    s[i * r + c] += f(i, l) * self.s[l * r + c];
                }
            }
        }
        self.s = s;
        let mut fp = vec![0.0; dim * dim];
        for i in 0..=order {
            for l in i..=order {
                let w = f(i, l);
                for c in 0..r {
                    let (dst, src) = ((i * r + c) * dim, (l * r + c) * dim);
                    for o in 0..dim {
                        fp[dst + o] += w * self.p[src + o];
                    }
                }
            }
        }
        let mut fpf = vec![0.0; dim * dim];
        for q in 0..dim {
            for i in 0..=order {
                for l in i..=order {
                    let w = f(i, l);
                    for c in 0..r {
                        fpf[q * dim + i * r + c] += w * fp[q * dim + l * r + c];
                    }
                }
            }
        }
        self.p = fpf;
        for c in 0..r {
            self.p[c * dim + c] += (eps * self.size).powi(2);
            let top = order * r + c;
            self.p[top * dim + top] += (drift * self.size).powi(2);
        }
    }

    /// The Kalman update with one measurement `y = h · entries + noise` (`var`).
    fn update(&mut self, h: &[f64], y: f64, var: f64) {
        let Some((ph, s)) = self.gain(h, var) else { return };
        let innovation = y - h.iter().zip(&self.s).map(|(hc, a)| hc * a).sum::<f64>();
        self.correct(&ph, innovation, s);
    }

    /// The covariance part of [`RowFilter::update`] alone (it does not need `y`): what
    /// a measurement along `h` would leave uncertain, for planning directions.
    fn update_covariance(&mut self, h: &[f64], var: f64) {
        if let Some((ph, s)) = self.gain(h, var) {
            self.shrink(&ph, s);
        }
    }

    /// `P h` and the measurement's predicted variance `hᵀ P h + var`, when that is a
    /// positive number.
    fn gain(&self, h: &[f64], var: f64) -> Option<(Vec<f64>, f64)> {
        let r = h.len();
        let dim = self.s.len();
        let ph: Vec<f64> = (0..dim).map(|q| (0..r).map(|c| self.p[q * dim + c] * h[c]).sum()).collect();
        let s = (0..r).map(|c| h[c] * ph[c]).sum::<f64>() + var;
        (s > 0.0 && s.is_finite()).then_some((ph, s))
    }

    /// The predicted variance of the entries relative to the row's size squared.
    fn relative_variance(&self, r: usize) -> f64 {
        let dim = self.s.len();
        (0..r).map(|c| self.p[c * dim + c]).sum::<f64>() / (self.size * self.size)
    }

    /// The update with one entry measured directly (`h = e_c`).
    fn update_entry(&mut self, c: usize, y: f64, var: f64) {
        let dim = self.s.len();
        let s = self.p[c * dim + c] + var;
        if !(s > 0.0 && s.is_finite()) {
            return;
        }
        let pc: Vec<f64> = (0..dim).map(|q| self.p[q * dim + c]).collect();
        let innovation = y - self.s[c];
        self.correct(&pc, innovation, s);
    }

    /// `s ← s + (P h) ν / S`, `P ← P − (P h)(P h)ᵀ / S` for a measurement with
    /// innovation `ν` and innovation variance `S`.
    fn correct(&mut self, ph: &[f64], innovation: f64, s: f64) {
        for (x, g) in self.s.iter_mut().zip(ph) {
            *x += g * innovation / s;
        }
        self.shrink(ph, s);
    }

    /// `P ← P − ph phᵀ / s`, kept a covariance. Where exact measurements pin an entry
    /// down far below what its coefficients' variances were, the subtraction cancels
    /// to round-off, which can leave a negative variance (and a NaN predicted error:
    /// seen in long runs of 7 exact measurements per step on the arm): each variance
    /// stays at least round-off of what it was, and each covariance within
    /// `√(p_qq p_oo)`.
    fn shrink(&mut self, ph: &[f64], s: f64) {
        let dim = ph.len();
        let mut repaired = false;
        for (q, (row, g)) in self.p.chunks_exact_mut(dim).zip(ph).enumerate() {
            let before = row[q];
            for (x, o) in row.iter_mut().zip(ph) {
                *x -= g * o / s;
            }
            let floor = if before.is_finite() { f64::EPSILON * before.abs() } else { 0.0 };
            if row[q].is_nan() || row[q] < floor {
                row[q] = floor;
                repaired = true;
            }
        }
        if repaired {
            for q in 0..dim {
                for o in 0..dim {
                    if q != o {
                        // (max/min, not clamp, which panics on a NaN bound.)
                        let bound = (self.p[q * dim + q] * self.p[o * dim + o]).sqrt();
                        self.p[q * dim + o] = self.p[q * dim + o].max(-bound).min(bound);
                    }
                }
            }
        }
    }
}

/// When planned update directions stop before their limit.
#[derive(Clone, Copy)]
enum Stop {
    /// At the limit.
    Count,
    /// When the filters' predicted relative error of `J` is within this.
    RowError(f64),
    /// When their predicted validation error is within this.
    Validation(f64),
}

fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Tracks `J` along a trajectory: one [`Tracker::estimate`] per point (module docs:
/// how).
///
/// ```
/// use jacsense::{Pattern, Settings, Structure, TrackSettings, Tracker};
/// let structure = Structure::sparse(Pattern::banded(50, 50, 1, 1));
/// let tracker = Tracker::new(&structure, &Settings::default(), TrackSettings::default())?;
/// assert_eq!(tracker.full_calls(), 3); // a re-sense: three colors, f(x0) given
/// assert_eq!(tracker.tolerance(), 3e-6);
/// # Ok::<(), jacsense::Error>(())
/// ```
pub struct Tracker {
    scheme: Scheme,
    settings: TrackSettings,
    /// Per coordinate, the step that scales the filters' units (set at a full sense).
    scale: Vec<f64>,
    rows: Vec<RowFilter>,
    /// Steps so far (calls of `estimate`), and the step of the latest full sense.
    step: u64,
    last_full: Option<u64>,
    /// Full senses the filters have seen since they (re)started: from two on, their
    /// rates come from measurements (else they are a guess, and a difference from their
    /// prediction says nothing of a jump).
    fulls: usize,
    /// Validations failed in a row, and steps still to sense in full without trying the
    /// prior (a back-off: where `J` changes too fast for the prior, trying it every step
    /// would cost `k + v` calls more than sensing from scratch).
    failures: u32,
    skip: usize,
    rng: u64,
    /// A running mean of the observed over the predicted squared validation errors (the
    /// filters' covariance is only as good as their drift model).
    calibration: f64,
}

impl Tracker {
    /// A tracker for `structure`; `settings` are those of the full re-sense (its seed
    /// also seeds the tracker's directions).
    pub fn new(structure: &Structure, settings: &Settings, track: TrackSettings) -> Result<Tracker> {
        let positive = track.tolerance > 0.0 && track.tolerance.is_finite();
        let drift_ok = track.drift >= 0.0 && track.drift.is_finite();
        let margin_ok = track.margin >= 0.0 && track.margin.is_finite();
        if track.validation == 0
            || !positive
            || !drift_ok
            || !margin_ok
            || !(1..=MAX_ORDER).contains(&track.order)
            || track.rounds == 0
        {
            return Err(Error::InvalidSetting {
                name: "track",
                value: format!("{track:?}"),
                reason: "a tracker needs at least one held-back call, a positive tolerance, a drift ≥ 0, a margin ≥ 0, an order from 1 to 4 and a round",
            });
        }
        let scheme = Scheme::new(structure, settings)?;
        Ok(Tracker {
            scheme,
            settings: track,
            scale: Vec::new(),
            rows: Vec::new(),
            step: 0,
            last_full: None,
            fulls: 0,
            failures: 0,
            skip: 0,
            rng: settings.seed ^ 0x9e37_79b9_7f4a_7c15,
            calibration: 1.0,
        })
    }

    /// Calls of a full re-sense given `f(x0)`.
    pub fn full_calls(&self) -> usize {
        self.scheme.calls() - usize::from(self.scheme.settings().difference == Difference::Forward)
    }

    /// Forgets the prior: the next estimate senses from scratch.
    pub fn reset(&mut self) {
        self.rows.clear();
        self.last_full = None;
        self.fulls = 0;
        self.failures = 0;
        self.skip = 0;
    }

    /// The relative error of one forward-difference measurement: truncation and
    /// rounding at the step (`2√ε` at the default step) plus the noise over the step.
    fn measurement_error(&self) -> f64 {
        let s = self.scheme.settings();
        let h0 = match s.step {
            Step::Relative(h) => h,
            _ => f64::EPSILON.sqrt(),
        };
        2.0 * f64::EPSILON.sqrt() + s.noise / h0
    }

    /// The accepted relative prediction error: the setting, or 4 times the error of one
    /// measurement when that is larger.
    pub fn tolerance(&self) -> f64 {
        self.settings.tolerance.max(4.0 * self.measurement_error())
    }

    /// `J` at `x0`, from the prior when it validates; `f0 = f(x0)` when the caller has it
    /// (a rollout does), else one call makes it.
    pub fn estimate<B: Blackbox + Sync + ?Sized>(&mut self, f: &B, x0: &[f64], f0: Option<&[f64]>) -> Result<Tracked> {
        let (n, m) = f.dims();
        self.scheme.check_blackbox(n, m)?;
        check_x0(x0, n)?;
        if let Some(f0) = f0 {
            check_f0(f0, m)?;
        }
        self.step += 1;
        let mut calls = 0;
        let f0: Vec<f64> = match f0 {
            Some(v) => v.to_vec(),
            None => {
                let mut y = vec![0.0; m];
                calls += 1;
                match call_guarded(f, x0, &mut y) {
                    Ok(()) => y,
                    // No f(x0): the full scheme makes its own call at x0.
                    _ => return self.resense(f, x0, None, calls, None),
                }
            }
        };
        if self.rows.is_empty() {
            return self.resense(f, x0, Some(f0), calls, None);
        }
        if self.skip > 0 {
            self.skip -= 1;
            return self.resense(f, x0, Some(f0), calls, None);
        }
        let pattern = self.scheme.structure().pattern().clone();
        let h = steps(&self.scheme.settings().step, Difference::Forward, x0, 1.0)?;
        let (k, v) = (self.settings.directions, self.settings.validation);
        let (eps, drift, order) = (self.measurement_error(), self.settings.drift, self.settings.order);
        let mut rows = self.rows.clone();
        rows.par_iter_mut().enumerate().for_each(|(i, row)| {
            if pattern.row_count(i) > 0 {
                row.predict(pattern.row_count(i), order, eps, drift);
            }
        });
        // Right after a fresh start (rates not measured yet) or a change the filters know
        // nothing of, no round of the prior can reach the tolerance: when their own
        // covariance says that even 10 times the tolerance would take more calls than a
        // full sense, sense in full without trying.
        let limit = self.full_calls().saturating_sub(calls + v + 1);
        let hopeless = HOPELESS * self.tolerance();
        if !self.plan(&rows, &pattern, &h, self.settings.active, Stop::RowError(hopeless), limit, eps).1 {
            return self.resense(f, x0, Some(f0), calls, None);
        }
        // Rounds: `k` directions update the prediction and `v` held back validate it;
        // when validation fails, the held-back calls join the update and a round twice
        // as large follows, while the calls stay below a full sense's.
        let full = self.full_calls();
        let held = v;
        let mut fit = k;
        let mut pending: Vec<(Vec<f64>, Vec<f64>)> = Vec::new(); // (coefficients, y) not yet in the update
        let mut worst: f64;
        let mut round = 0;
        loop {
            round += 1;
            Self::update_rows(&mut rows, &pattern, &std::mem::take(&mut pending), eps);
            // Update directions: in the filters' units the coefficient of coordinate c
            // of d = h ⊙ g is h_c g_c / scale_c.
            // By need: the first round stops early once the filters' predicted validation
            // error, calibrated on the validation errors seen, is within the margin.
            let stop = if round == 1 && self.settings.margin > 0.0 {
                Stop::Validation(self.settings.margin * self.tolerance() / self.calibration.sqrt())
            } else {
                Stop::Count
            };
            let (mut g, _) = self.plan(&rows, &pattern, &h, self.settings.active, stop, fit, eps);
            fit = g.len();
            g.extend((0..held).map(|_| (0..n).map(|_| self.gaussian()).collect::<Vec<f64>>()));
            let mut x = vec![0.0; n];
            for gt in &g {
                for c in 0..n {
                    x[c] = x0[c] + h[c] * gt[c];
                }
                let mut out = vec![0.0; m];
                calls += 1;
                match call_guarded(f, &x, &mut out) {
                    Ok(()) => pending.push((
                        (0..n).map(|c| h[c] * gt[c] / self.scale[c]).collect(),
                        out.iter().zip(&f0).map(|(a, b)| a - b).collect(),
                    )),
                    _ => return self.resense(f, x0, Some(f0), calls, None),
                }
            }
            let validate = pending.split_off(pending.len() - held);
            Self::update_rows(&mut rows, &pattern, &std::mem::take(&mut pending), eps);
            // Validation on the held-back directions.
            let predicted = Self::predicted_validation(&rows, &pattern, eps);
            worst = 0.0;
            for (coef, y) in &validate {
                let (mut err, mut norm) = (0.0, 0.0);
                for (i, yi) in y.iter().enumerate() {
                    let cols = pattern.row(i);
                    let predicted: f64 = cols.iter().zip(rows[i].entries(cols.len())).map(|(&c, a)| a * coef[c]).sum();
                    err += (yi - predicted).powi(2);
                    norm += yi * yi;
                }
                worst = worst.max(if norm > 0.0 {
                    (err / norm).sqrt()
                } else if err > 0.0 {
                    f64::INFINITY
                } else {
                    0.0
                });
            }
            // The calibration: a running mean of observed over predicted squared errors.
            if predicted > 0.0 && worst.is_finite() {
                self.calibration = 0.8 * self.calibration + 0.2 * (worst / predicted).powi(2);
            }
            if worst <= self.tolerance() {
                // Validated: the held-back calls are measurements like the others.
                Self::update_rows(&mut rows, &pattern, &validate, eps);
                self.rows = rows;
                self.failures = 0;
                let jacobian = self.jacobian(&pattern)?;
                return Ok(Tracked { jacobian, calls, resensed: false, validation_error: Some(worst) });
            }
            pending = validate;
            fit = 2 * (fit.max(k) + held) - held;
            if round >= self.settings.rounds || calls + fit + held >= full {
                break;
            }
        }
        // This step's update is dropped (its measurements may straddle a jump and would
        // corrupt the rates); the re-sense is a measurement of the prediction.
        // Back off after repeated failures: 0, 1, 3, 7 steps (at most 8) of full senses
        // before the prior is tried again.
        self.failures += 1;
        self.skip = ((1usize << (self.failures - 1).min(4)) - 1).min(8);
        self.resense(f, x0, Some(f0), calls, Some(worst))
    }

    /// Kalman updates of every row with measurements `(coefficients, y)`.
    fn update_rows(rows: &mut [RowFilter], pattern: &Pattern, measurements: &[(Vec<f64>, Vec<f64>)], eps: f64) {
        if measurements.is_empty() {
            return;
        }
        rows.par_iter_mut().enumerate().for_each(|(i, row)| {
            let cols = pattern.row(i);
            if cols.is_empty() {
                return;
            }
            let noise = (4.0 * eps * row.size).powi(2);
            for (coef, y) in measurements {
                let ht: Vec<f64> = cols.iter().map(|&c| coef[c]).collect();
                row.update(&ht, y[i], noise);
            }
        });
    }

    /// The filters' predicted relative error of `J`: the root mean over rows of the
    /// entries' variance relative to the row's size squared.
    fn predicted_error(rows: &[RowFilter], pattern: &Pattern) -> f64 {
        let (mut sum, mut count) = (0.0, 0usize);
        for (i, row) in rows.iter().enumerate() {
            let r = pattern.row_count(i);
            if r > 0 {
                sum += row.relative_variance(r);
                count += 1;
            }
        }
        if count == 0 { 0.0 } else { (sum / count as f64).sqrt() }
    }

    /// Update directions `g` (`d = h ⊙ g`), planned on the filters' covariances (which
    /// do not need the measured values): up to `limit` of them, stopping early as
    /// `stop` says; with whether its target was reached. Active: each where the filters
    /// are most uncertain, the top eigenvector of `Σ_i S_i / size_i²` (`S_i` row i's
    /// entries' covariance, embedded in the columns; by power iteration); else Gaussian.
    #[allow(clippy::too_many_arguments)]
    fn plan(
        &mut self,
        rows: &[RowFilter],
        pattern: &Pattern,
        h: &[f64],
        active: bool,
        stop: Stop,
        limit: usize,
        eps: f64,
    ) -> (Vec<Vec<f64>>, bool) {
        let n = h.len();
        let mut rows = rows.to_vec();
        let mut out = Vec::new();
        loop {
            let reached = match stop {
                Stop::Count => false,
                Stop::RowError(target) => Self::predicted_error(&rows, pattern) <= target,
                Stop::Validation(target) => Self::predicted_validation(&rows, pattern, eps) <= target,
            };
            if reached || out.len() >= limit {
                return (out, reached);
            }
            // u: the direction in the filters' units.
            let u: Vec<f64> = if active {
                let mut v: Vec<f64> = (0..n).map(|_| self.gaussian()).collect();
                for _ in 0..30 {
                    let mut w = vec![0.0; n];
                    for (i, row) in rows.iter().enumerate() {
                        let cols = pattern.row(i);
                        let r = cols.len();
                        if r == 0 {
                            continue;
                        }
                        let dim = row.s.len();
                        let inv = 1.0 / (row.size * row.size);
                        for (q, &cq) in cols.iter().enumerate() {
                            let prow = &row.p[q * dim..q * dim + r];
                            let dot: f64 = prow.iter().zip(cols).map(|(p, &co)| p * v[co]).sum();
                            w[cq] += inv * dot;
                        }
                    }
                    let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
                    if !(norm > 0.0 && norm.is_finite()) {
                        break;
                    }
                    v = w.into_iter().map(|x| x / norm).collect();
                }
                v
            } else {
                Vec::new()
            };
            // g in the step's units (Gaussian, or the active direction scaled so that no
            // row sees more of it than of a Gaussian direction on average:
            // Σ_{c in row} g_c² = the row's count).
            let mut g: Vec<f64> = if active {
                (0..n).map(|c| u[c] * self.scale[c] / h[c]).collect()
            } else {
                (0..n).map(|_| self.gaussian()).collect()
            };
            if active {
                let mut worst = 0.0f64;
                for i in 0..pattern.nrows() {
                    let cols = pattern.row(i);
                    if !cols.is_empty() {
                        worst = worst.max(cols.iter().map(|&c| g[c] * g[c]).sum::<f64>() / cols.len() as f64);
                    }
                }
                if worst > 0.0 {
                    g.iter_mut().for_each(|x| *x /= worst.sqrt());
                }
            }
            let coef: Vec<f64> = (0..n).map(|c| h[c] * g[c] / self.scale[c]).collect();
            rows.par_iter_mut().enumerate().for_each(|(i, row)| {
                let cols = pattern.row(i);
                if !cols.is_empty() {
                    let ht: Vec<f64> = cols.iter().map(|&c| coef[c]).collect();
                    row.update_covariance(&ht, (4.0 * eps * row.size).powi(2));
                }
            });
            out.push(g);
        }
    }

    /// The filters' predicted relative error on a Gaussian held-back direction:
    /// `√(Σ_i (tr S_i + noise_i) / Σ_i ‖a_i‖²)`, what validation measures.
    fn predicted_validation(rows: &[RowFilter], pattern: &Pattern, eps: f64) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for (i, row) in rows.iter().enumerate() {
            let r = pattern.row_count(i);
            if r > 0 {
                num += row.relative_variance(r) * row.size * row.size + (4.0 * eps * row.size).powi(2);
                den += row.entries(r).iter().map(|a| a * a).sum::<f64>();
            }
        }
        if den > 0.0 { (num / den).sqrt() } else { 0.0 }
    }

    fn jacobian(&self, pattern: &Pattern) -> Result<SparseMatrix> {
        let mut values = Vec::with_capacity(pattern.nnz());
        for (i, row) in self.rows.iter().enumerate() {
            let cols = pattern.row(i);
            values.extend(cols.iter().zip(row.entries(cols.len())).map(|(&c, a)| a / self.scale[c]));
        }
        SparseMatrix::new(pattern.clone(), values)
    }

    fn resense<B: Blackbox + Sync + ?Sized>(
        &mut self,
        f: &B,
        x0: &[f64],
        f0: Option<Vec<f64>>,
        calls: usize,
        validation_error: Option<f64>,
    ) -> Result<Tracked> {
        let plan = self.scheme.at_with(x0, &PlanOptions { f0, ..PlanOptions::default() })?;
        let est = plan.evaluate(f)?.decode();
        let calls = calls + est.diagnostics().calls;
        let jacobian = est.jacobian().clone();
        let pattern = jacobian.pattern().clone();
        let (eps, drift, order) = (self.measurement_error(), self.settings.drift, self.settings.order);
        let scale = steps(&self.scheme.settings().step, Difference::Forward, x0, 1.0)?;
        let fresh = self.rows.len() != pattern.nrows()
            || (0..pattern.nrows()).any(|i| self.rows[i].s.len() != pattern.row_count(i) * (order + 1))
            || jacobian.values().iter().any(|v| !v.is_finite())
            // A filter gone non-finite would stay so, and every later step would be
            // judged hopeless and sensed in full: it starts again.
            || self.rows.iter().any(|r| r.s.iter().chain(&r.p).any(|v| !v.is_finite()));
        // The filters into the new units (a step-scaled entry is J · scale).
        if !fresh && self.scale != scale {
            let old = std::mem::take(&mut self.scale);
            self.rows.par_iter_mut().enumerate().for_each(|(i, row)| {
                let cols = pattern.row(i);
                let r = cols.len();
                let dim = row.s.len();
                let factor = |q: usize| scale[cols[q % r]] / old[cols[q % r]];
                for q in 0..dim {
                    row.s[q] *= factor(q);
                    for o in 0..dim {
                        row.p[q * dim + o] *= factor(q) * factor(o);
                    }
                }
            });
        }
        self.scale = scale;
        // A sensed J more than 1e-3 away from the prediction (relative) is a jump. Apart
        // from the step before, the filters restart their entries from it and keep
        // their rates from before. Two full senses in a row: a first-order filter needs
        // no check (their difference is the rate; after a jump between them, the next
        // step fails and the pair after it is on one side), a higher-order one restarts
        // in full (a jump would pass into its higher coefficients).
        let consecutive = self.last_full.is_some_and(|t| t + 1 == self.step);
        if !fresh {
            self.rows.par_iter_mut().enumerate().for_each(|(i, row)| {
                if pattern.row_count(i) > 0 {
                    row.predict(pattern.row_count(i), order, eps, drift);
                }
            });
        }
        let jumped = !fresh && (!consecutive || order > 1) && self.fulls >= 2 && self.jumped(&jacobian);
        let fresh = fresh || (jumped && consecutive);
        let scale = &self.scale;
        if fresh {
            self.fulls = 0;
            self.rows = (0..pattern.nrows())
                .map(|i| {
                    let cols = pattern.row(i);
                    let r = cols.len();
                    let a: Vec<f64> = cols.iter().zip(jacobian.row_values(i)).map(|(&c, v)| v * scale[c]).collect();
                    let size = a.iter().map(|v| v * v).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
                    let dim = r * (order + 1);
                    let mut s = vec![0.0; dim];
                    s[..r].copy_from_slice(&a);
                    // Entries as sensed; the rates unknown (about 1% of the row per
                    // step), each higher coefficient a hundred times smaller.
                    let mut p = vec![0.0; dim * dim];
                    for l in 0..=order {
                        let sd = if l == 0 { eps } else { 1e-2f64.powi(l as i32) };
                        for c in 0..r {
                            p[(l * r + c) * dim + l * r + c] = (sd * size).powi(2);
                        }
                    }
                    RowFilter { s, p, size }
                })
                .collect();
        } else {
            self.rows.par_iter_mut().enumerate().for_each(|(i, row)| {
                let cols = pattern.row(i);
                let r = cols.len();
                let dim = row.s.len();
                let var = (eps * row.size).powi(2);
                if jumped {
                    // Restart the entries, keep the higher coefficients.
                    for (q, (&c, v)) in cols.iter().zip(jacobian.row_values(i)).enumerate() {
                        row.s[q] = v * scale[c];
                    }
                    for q in 0..r {
                        for o in 0..dim {
                            let value = if q == o { var } else { 0.0 };
                            row.p[q * dim + o] = value;
                            row.p[o * dim + q] = value;
                        }
                    }
                } else {
                    for (q, (&c, v)) in cols.iter().zip(jacobian.row_values(i)).enumerate() {
                        row.update_entry(q, v * scale[c], var);
                    }
                }
            });
        }
        self.fulls += 1;
        self.last_full = Some(self.step);
        Ok(Tracked { jacobian, calls, resensed: true, validation_error })
    }

    /// Whether `j`, sensed in full, is more than 1e-3 (relative) away from the filters'
    /// prediction for this step (the filters already moved to it).
    fn jumped(&self, j: &SparseMatrix) -> bool {
        let (mut diff, mut size) = (0.0, 0.0);
        for (i, row) in self.rows.iter().enumerate() {
            let cols = j.pattern().row(i);
            for (&a, (&c, v)) in row.entries(cols.len()).iter().zip(cols.iter().zip(j.row_values(i))) {
                let predicted = a / self.scale[c];
                diff += (v - predicted).powi(2);
                size += v * v;
            }
        }
        diff > 1e-6 * size
    }

    /// A standard normal draw (splitmix64 and Box–Muller): seeded, the same bits on
    /// every platform.
    fn gaussian(&mut self) -> f64 {
        let mut next = || {
            self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.rng;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (u1, u2) = (next(), next());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blackbox::from_fn;

    /// A filter whose covariance went non-finite (a NaN predicted error makes every
    /// step "hopeless") restarts at the full sense that follows, and the prior is used
    /// again after it instead of a full sense at every step.
    #[test]
    fn a_non_finite_filter_restarts_at_the_next_full_sense() {
        let n = 6;
        let f = from_fn(n, n, move |x: &[f64], y: &mut [f64]| {
            for i in 0..n {
                y[i] = (0..n).map(|c| x[c] / (1.0 + i.abs_diff(c) as f64)).sum::<f64>() + 0.01 * x[i].powi(3);
            }
        });
        let mut tracker =
            Tracker::new(&Structure::dense(n, n), &Settings::default(), TrackSettings::default()).unwrap();
        let x = |t: usize| vec![0.5 + 1e-4 * t as f64; n];
        for t in 0..5 {
            tracker.estimate(&f, &x(t), None).unwrap();
        }
        tracker.rows[2].p[0] = f64::NAN;
        let resensed: Vec<bool> = (5..15).map(|t| tracker.estimate(&f, &x(t), None).unwrap().resensed).collect();
        assert!(resensed[0], "the NaN step is sensed in full");
        assert!(tracker.rows.iter().all(|r| r.p.iter().all(|v| v.is_finite())));
        assert!(resensed.iter().filter(|&&r| !r).count() >= 5, "the prior is used again: {resensed:?}");
    }
}
