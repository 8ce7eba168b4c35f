//! The left action `vᵀJ` (blackbox backpropagation, DESIGN.md §5).
//!
//! A layer `f` inside a model trained by backpropagation must turn the upstream
//! gradient `v ∈ Rᵐ` into `w = Jᵀv ∈ Rⁿ`. Two routes (Choromanski & Sindhwani, NeurIPS
//! 2017, §3):
//!
//! - [`Route::SenseJacobian`]: sense `J` with the [`Structure`] and the Jacobian
//!   [`Settings`] (what [`jacobian_with`](crate::jacobian_with) does), then multiply.
//!   It costs what the Jacobian plan costs (about `ρ_max + 2` calls), whatever `v`.
//! - [`Route::Direct`]: sense `w` itself from the scalar measurements
//!   `vᵀ(f(x0 + H d_t) − f(x0)) ≈ ⟨w, H d_t⟩`, perturbing only the coordinates where
//!   `w` may be nonzero (its candidates `U`, the union of the pattern rows `v`
//!   weights): `|U| + 2` Gaussian directions decoded by least squares, or, when `w` is
//!   declared `s`-sparse ([`VjpSettings::sparsity`]), `⌈2 s ln(|U|/s)⌉ + s` decoded by
//!   sparse recovery — fewer than `n` even when nothing is known about the pattern.
//!   When a fraction `p` of the calls may be grossly wrong (`jacobian.outliers`),
//!   `⌈|U| · 1.2/(0.4 − p)⌉ + 2` decoded by L1, which names the wrong calls.
//!
//! The direct route is not a second sensing stack: for upstream vectors `v_1 … v_r` it
//! senses the `r × n` matrix `VᵀJ`, the Jacobian of the projected function
//! `g(x) = Vᵀ f(x)`, with the scheme, plan, measurements, evaluate loop and decoders
//! of the Jacobian (the `direct` module says how); the planner's rules set its number
//! of directions. In a batch, every `v` is decoded on its own candidates, so the
//! calls are those of the `v` with the most.
//!
//! [`Route::Auto`] takes the route with fewer calls, decided before any call
//! ([`VjpPlan`], the "ask" half of ask/tell; [`VjpMeasurements`] is the "tell" half,
//! for calls evaluated elsewhere). A batch of `v` at one `x0` shares the calls of either route
//! ([`vjp_batch`]); the gradient of a scalar function is `v = [1]` ([`gradient`]).
//!
//! A Jacobian decoded elsewhere — from one [`Scheme`](crate::Scheme) placed at every
//! sample of a training batch, with the forward pass's value as `f(x0)` — gives `w`
//! through [`Estimate::vjp`](crate::Estimate::vjp), the Jacobian route's multiply.
//!
//! The direct route pays when `v` weights few rows (few candidates) or `w` is sparse;
//! sensing `J` pays when `v` is dense over a sparse `J`, and for many `v` spread over
//! several points of the same structure.

mod direct;
mod measurements;

pub use measurements::VjpMeasurements;

use crate::blackbox::{Blackbox, Erasure};
use crate::decode::{DecodedBy, RowStatus};
use crate::design::{Difference, Step};
use crate::error::{Error, Result};
use crate::plan::{Plan, check_x0};
use crate::settings::{Settings, SparseMethod};
use crate::structure::Structure;

/// Which way `vᵀJ` is sensed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Route {
    /// The route with fewer calls (the Jacobian on a tie: it is reusable; the direct
    /// route when the Jacobian plan cannot be made, e.g. over its budget).
    #[default]
    Auto,
    /// Sense `J`, then multiply.
    SenseJacobian,
    /// Sense `w = Jᵀv` directly from scalar measurements.
    Direct,
}

impl Route {
    /// A short name for tables and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Route::Auto => "auto",
            Route::SenseJacobian => "sense-jacobian",
            Route::Direct => "direct",
        }
    }
}

/// How to sense `vᵀJ`.
///
/// `jacobian` governs [`Route::SenseJacobian`]; `difference`, `step`, `seed`,
/// `sparsity`, `directions` and `sparse_method` govern [`Route::Direct`]. One setting
/// governs both: `jacobian.outliers`, the expected fraction of grossly wrong calls (a
/// property of the blackbox, not of the route). When it is positive the Jacobian is
/// sensed by the planner's robust design, and the direct route decodes `w` by L1 on
/// every candidate from `⌈ρ · 1.2/(0.4 − p)⌉ + 2` directions (`ρ`: the most candidates
/// of one `v`), with an offset unknown so that a wrong `f(x0)` is caught too, and the
/// Jacobian's vote on wrong calls; `sparsity` is then not used (sparse recovery is not
/// robust to outliers, as for the Jacobian's rows). The Jacobian's noise level and
/// budget do not govern the direct route: it is the fallback when the Jacobian plan is
/// over its budget.
///
/// ```
/// use jacsense::{Route, Settings, VjpSettings};
/// let settings = VjpSettings { sparsity: Some(10), ..VjpSettings::default() };
/// assert_eq!(settings.route, Route::Auto);
/// // Up to 10% of the calls may be garbage: both routes decode robustly.
/// let robust = VjpSettings { jacobian: Settings { outliers: 0.1, ..Settings::default() }, ..VjpSettings::default() };
/// assert_eq!(robust.jacobian.outliers, 0.1);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VjpSettings {
    /// Which route; `Auto` takes the one with fewer calls.
    pub route: Route,
    /// Settings of the Jacobian plan ([`Route::SenseJacobian`]).
    pub jacobian: Settings,
    /// At most this many entries of `w = Jᵀv` are nonzero, at places nobody knows (not
    /// the row sparsity of `J`, which is
    /// [`Structure::with_row_sparsity`]): the direct route may then decode by sparse
    /// recovery.
    pub sparsity: Option<usize>,
    /// Forward or central differences (direct route).
    pub difference: Difference,
    /// The per-coordinate step (direct route).
    pub step: Step,
    /// Seed of the direct route's Gaussian directions.
    pub seed: u64,
    /// Number of directions of the direct route; `None`: the Jacobian planner's rules
    /// with `ρ` the most candidates of one `v` — `ρ + 2` for least squares,
    /// `⌈2 s ln(ρ/s)⌉ + s` for sparse recovery when that is fewer than `ρ`, and
    /// `⌈ρ · 1.2/(0.4 − p)⌉ + 2` for L1 when outliers are expected.
    pub directions: Option<usize>,
    /// How the direct route finds the support of a sparse `w`. OMP (the default)
    /// works from fewer directions than basis pursuit denoising, whose `ℓ1` minimum is
    /// the sparse `w` only above the Donoho–Tanner phase transition, about
    /// `k ≥ 2 s ln(|U|/k)` Gaussian directions (≈ 95 for `s = 10`, `|U| = 10,000`; the
    /// default rule asks for 149 there): below it the cone solver converges, to a
    /// denser vector of smaller `ℓ1` norm, and `w` is reported undetermined. The `vjp`
    /// example recovered every trial from 120 directions with BPDN, from 80 with OMP;
    /// expect seconds per BPDN decode at that size.
    pub sparse_method: SparseMethod,
}

/// `w = Jᵀv` with how it was obtained.
#[derive(Clone, Debug, PartialEq)]
pub struct VjpEstimate {
    /// `w = Jᵀv` (n entries; NaN where undetermined).
    pub w: Vec<f64>,
    /// The route taken ([`Route::SenseJacobian`] or [`Route::Direct`]).
    pub route: Route,
    /// Calls of the blackbox made (shared by every `v` of a batch).
    pub calls: usize,
    /// The entries that may be nonzero when the direct route recovered a support
    /// (ascending; all others are exactly zero).
    pub support: Option<Vec<usize>>,
    /// Whether every entry of `w` that may be nonzero was determined.
    pub status: RowStatus,
    /// `‖A z − s‖₂` of the direct route's decode (scalar measurements); `None` for the
    /// Jacobian route (see its rows' reports).
    pub residual: Option<f64>,
    /// Calls dropped from decoding, with their reasons.
    pub erasures: Vec<Erasure>,
    /// Calls judged grossly wrong and left out of the decode (ascending; both calls of
    /// a wrong central measurement; call 0 when `f(x0)` itself was wrong). Only robust
    /// (L1) decodes judge: empty otherwise.
    pub outliers: Vec<usize>,
    /// The decoder that decoded (`decoder.name()` for tables).
    pub decoder: DecodedBy,
}

/// The route and calls chosen for `vᵀJ`, before any call: the "ask" half of ask/tell
/// ([`VjpPlan::calls`], [`VjpPlan::point`]) and what [`vjp_batch`] evaluates.
///
/// It holds one [`Plan`]: the Jacobian's ([`Route::SenseJacobian`]), or that of `VᵀJ`,
/// the Jacobian of the projected function `Vᵀf` ([`Route::Direct`]).
///
/// ```
/// use jacsense::{Pattern, Route, Structure, VjpPlan, VjpSettings};
/// // Band of half-width 10: 21 colors, 22 calls to sense J.
/// let structure = Structure::sparse(Pattern::banded(100, 100, 10, 10));
/// let x0 = vec![0.0; 100];
/// // v = e_0 weights row 0 only, whose 11 columns are the candidates: 13 directions.
/// let mut v = vec![0.0; 100];
/// v[0] = 1.0;
/// let plan = VjpPlan::new(&structure, &x0, &[v], &VjpSettings::default())?;
/// assert_eq!((plan.route(), plan.calls(), plan.lower_bound()), (Route::Direct, 14, 11));
/// // A dense v weights every column: sensing J is cheaper.
/// let plan = VjpPlan::new(&structure, &x0, &[vec![1.0; 100]], &VjpSettings::default())?;
/// assert_eq!((plan.route(), plan.calls()), (Route::SenseJacobian, 22));
/// # Ok::<(), jacsense::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct VjpPlan {
    route: Route,
    /// The Jacobian's plan, or that of `VᵀJ`.
    plan: Plan,
    lower_bound: usize,
    vs: Vec<Vec<f64>>,
    /// The inputs the direct route perturbs (ascending).
    candidates: Option<Vec<usize>>,
}

impl VjpPlan {
    /// Chooses the route for the upstream vectors `vs` at `x0`.
    ///
    /// Errors: `x0` or some `v` of the wrong length or not finite, invalid settings, or
    /// a direct route with fewer directions than its decoder needs.
    pub fn new(structure: &Structure, x0: &[f64], vs: &[Vec<f64>], settings: &VjpSettings) -> Result<VjpPlan> {
        let (n, m) = structure.dims();
        check_x0(x0, n)?;
        check_vs(vs, m)?;
        if settings.sparsity == Some(0) {
            return Err(Error::InvalidSetting {
                name: "sparsity",
                value: "0".into(),
                reason: "w has at least one entry that may be nonzero; leave it None if unknown",
            });
        }
        let direct = || direct::scheme(structure, vs, settings)?.at(x0);
        let jacobian = || Plan::new(structure, x0, &settings.jacobian);
        let (route, plan) = match settings.route {
            Route::Direct => (Route::Direct, direct()?),
            Route::SenseJacobian => (Route::SenseJacobian, jacobian()?),
            Route::Auto => {
                let direct_calls = direct::calls(structure, vs, settings)?;
                // No Jacobian design has fewer measurements than ρ_max (2s for rows
                // declared s-sparse): when the direct route beats that, the Jacobian
                // plan (a coloring of a possibly dense pattern) is not even built.
                let rho = structure.lower_bound();
                let floor = structure.row_sparsity().map_or(rho, |s| rho.min(s.saturating_mul(2))).max(1);
                let fewest = match settings.jacobian.difference {
                    Difference::Forward => floor + 1,
                    Difference::Central => 2 * floor,
                };
                if direct_calls < fewest {
                    (Route::Direct, direct()?)
                } else {
                    match jacobian() {
                        Ok(j) if j.calls() <= direct_calls => (Route::SenseJacobian, j),
                        _ => (Route::Direct, direct()?),
                    }
                }
            }
        };
        let (lower_bound, candidates) = match route {
            Route::Direct => {
                let lower = match plan.structure().row_sparsity() {
                    Some(s) if direct::is_sparse(&plan) => s.saturating_mul(2),
                    _ => plan.lower_bound(),
                };
                let mut union = plan.structure().pattern().csr().1.into_owned();
                union.sort_unstable();
                union.dedup();
                (lower, Some(union))
            }
            _ => (plan.lower_bound(), None),
        };
        Ok(VjpPlan { route, plan, lower_bound, vs: vs.to_vec(), candidates })
    }

    /// The route chosen ([`Route::SenseJacobian`] or [`Route::Direct`]).
    pub fn route(&self) -> Route {
        self.route
    }

    /// Number of calls of the blackbox (shared by every `v`).
    pub fn calls(&self) -> usize {
        calls_of(self.route, &self.plan)
    }

    /// Number of measurements (directions).
    pub fn measurements(&self) -> usize {
        self.plan.measurements()
    }

    /// The fewest measurements the chosen route's decoder could work with: `ρ_max` for
    /// the Jacobian, the most candidates of one `v` for least squares (or L1), `2s`
    /// for sparse recovery of an `s`-sparse `w`.
    pub fn lower_bound(&self) -> usize {
        self.lower_bound
    }

    /// The coordinates the direct route perturbs (where some `w` may be nonzero); `None`
    /// for the Jacobian route.
    pub fn candidates(&self) -> Option<&[usize]> {
        self.candidates.as_deref()
    }

    /// The Jacobian plan of [`Route::SenseJacobian`].
    pub fn jacobian_plan(&self) -> Option<&Plan> {
        (self.route == Route::SenseJacobian).then_some(&self.plan)
    }

    /// Whether the plan senses nothing: the direct route with no candidate (every `w`
    /// is zero by the pattern), which makes no call.
    fn senses_nothing(&self) -> bool {
        self.route == Route::Direct && self.plan.measurements() == 0
    }

    /// Writes the point of call `call` into `x` (forward differences: call 0 is `x0`,
    /// call `t + 1` is `x0 + H d_t`; central: calls `2t`, `2t + 1` are `x0 ± H d_t`).
    pub fn point(&self, call: usize, x: &mut [f64]) -> Result<()> {
        if call >= self.calls() {
            return Err(Error::UnknownCall { index: call, calls: self.calls() });
        }
        self.plan.point(call, x)
    }

    /// Makes the calls on `f` (in parallel) and decodes `w = Jᵀv` for every `v` the
    /// plan was made for: the plan's calls evaluated and told as for `J`
    /// ([`Plan::evaluate`]), then decoded ([`VjpMeasurements::decode`]).
    ///
    /// ```
    /// use jacsense::{from_fn, Structure, VjpPlan, VjpSettings};
    /// let f = from_fn(3, 2, |x: &[f64], y: &mut [f64]| { y[0] = x[0] * x[1]; y[1] = x[2]; });
    /// let plan = VjpPlan::new(&Structure::dense(2, 3), &[1.0, 2.0, 3.0], &[vec![1.0, -1.0]], &VjpSettings::default())?;
    /// let w = &plan.evaluate(&f)?[0].w; // (x1, x0, −1)
    /// assert!((w[0] - 2.0).abs() < 1e-6 && (w[1] - 1.0).abs() < 1e-6 && (w[2] + 1.0).abs() < 1e-6);
    /// assert_eq!(plan.evaluate_sequential(&f)?[0].w, *w); // the same bits
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    ///
    /// Errors: `f` with other dimensions than the structure the plan was made for.
    pub fn evaluate<B: Blackbox + Sync + ?Sized>(&self, f: &B) -> Result<Vec<VjpEstimate>> {
        if self.senses_nothing() {
            return self.nothing_to_evaluate(f);
        }
        Ok(VjpMeasurements::from_measurements(self, self.plan.evaluate(f)?).decode())
    }

    /// As [`VjpPlan::evaluate`], one call after another, for a blackbox that is not
    /// `Sync`; the same estimates.
    pub fn evaluate_sequential<B: Blackbox + ?Sized>(&self, f: &B) -> Result<Vec<VjpEstimate>> {
        if self.senses_nothing() {
            return self.nothing_to_evaluate(f);
        }
        Ok(VjpMeasurements::from_measurements(self, self.plan.evaluate_sequential(f)?).decode())
    }

    fn nothing_to_evaluate<B: Blackbox + ?Sized>(&self, f: &B) -> Result<Vec<VjpEstimate>> {
        let (n, m) = f.dims();
        self.plan.scheme().check_blackbox(n, m)?;
        Ok(VjpMeasurements::new(self)?.decode())
    }
}

/// Checks upstream vectors for a blackbox with `m` outputs: their lengths, every entry
/// finite.
pub(crate) fn check_vs(vs: &[Vec<f64>], m: usize) -> Result<()> {
    for v in vs {
        if v.len() != m {
            return Err(Error::DimensionMismatch { what: "v length (outputs m)", expected: m, found: v.len() });
        }
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::InvalidSetting {
                name: "v",
                value: format!("v[{i}] = {}", v[i]),
                reason: "every entry of v must be finite",
            });
        }
    }
    Ok(())
}

/// Calls of `plan` on `route`: none when the direct route has nothing to sense.
fn calls_of(route: Route, plan: &Plan) -> usize {
    if route == Route::Direct && plan.measurements() == 0 { 0 } else { plan.calls() }
}

/// `w = Jᵀv` for every `v` in `vs`, from one set of calls shared by all of them.
///
/// ```
/// use jacsense::{vjp_batch, from_fn, Pattern, Structure, VjpSettings};
/// // f_i = x_i² + x_{i+1}: J has 2 on the diagonal at x = 1 and 1 above it.
/// let n = 20;
/// let f = from_fn(n, n, move |x: &[f64], y: &mut [f64]| {
///     for i in 0..n { y[i] = x[i] * x[i] + if i + 1 < n { x[i + 1] } else { 0.0 }; }
/// });
/// let structure = Structure::sparse(Pattern::banded(n, n, 0, 1));
/// let vs: Vec<Vec<f64>> = (0..4).map(|g| (0..n).map(|i| (i * g) as f64).collect()).collect();
/// let ws = vjp_batch(&f, &vec![1.0; n], &vs, &structure, &VjpSettings::default())?;
/// assert!(ws.iter().all(|w| w.calls == ws[0].calls)); // shared calls
/// assert!((ws[2].w[5] - (2.0 * 10.0 + 8.0)).abs() < 1e-6); // 2·v_5 + v_4
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn vjp_batch<B: Blackbox + Sync + ?Sized>(
    f: &B,
    x0: &[f64],
    vs: &[Vec<f64>],
    structure: &Structure,
    settings: &VjpSettings,
) -> Result<Vec<VjpEstimate>> {
    if vs.is_empty() {
        return Ok(Vec::new());
    }
    VjpPlan::new(structure, x0, vs, settings)?.evaluate(f)
}

/// `w = Jᵀv`, the left action of the Jacobian of `f` at `x0` (blackbox
/// backpropagation), by the route of `settings`.
///
/// ```
/// use jacsense::{vjp, from_fn, Route, Structure, VjpSettings};
/// // f has 1000 inputs but depends on 3 of them; nothing is known of the pattern.
/// let n = 1000;
/// let f = from_fn(n, 2, |x: &[f64], y: &mut [f64]| {
///     y[0] = x[10].sin() + x[500] * x[999];
///     y[1] = 3.0 * x[500];
/// });
/// let settings = VjpSettings { sparsity: Some(3), ..VjpSettings::default() };
/// let est = vjp(&f, &vec![1.0; n], &[1.0, 2.0], &Structure::dense(2, n), &settings)?;
/// assert_eq!(est.route, Route::Direct);
/// assert!(est.calls < 50); // not n + 1
/// assert_eq!(est.support, Some(vec![10, 500, 999]));
/// assert!((est.w[500] - 7.0).abs() < 1e-6); // x_999 + 2·3
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn vjp<B: Blackbox + Sync + ?Sized>(
    f: &B,
    x0: &[f64],
    v: &[f64],
    structure: &Structure,
    settings: &VjpSettings,
) -> Result<VjpEstimate> {
    let mut out = vjp_batch(f, x0, &[v.to_vec()], structure, settings)?;
    Ok(out.pop().expect("one v gives one estimate"))
}

/// The gradient of a scalar blackbox (`m = 1`) at `x0`: `vjp` with `v = [1]`.
///
/// With a known pattern (the inputs `f` depends on) only those are perturbed; with
/// [`VjpSettings::sparsity`] a sparse gradient is recovered by sparse recovery from
/// fewer calls than inputs.
///
/// ```
/// use jacsense::{gradient, from_fn, Structure, VjpSettings};
/// let f = from_fn(3, 1, |x: &[f64], y: &mut [f64]| y[0] = x[0] * x[1] + x[2].exp());
/// let g = gradient(&f, &[2.0, 3.0, 0.0], &Structure::dense(1, 3), &VjpSettings::default())?;
/// assert!((g.w[0] - 3.0).abs() < 1e-6 && (g.w[1] - 2.0).abs() < 1e-6 && (g.w[2] - 1.0).abs() < 1e-6);
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn gradient<B: Blackbox + Sync + ?Sized>(
    f: &B,
    x0: &[f64],
    structure: &Structure,
    settings: &VjpSettings,
) -> Result<VjpEstimate> {
    let (_, m) = structure.dims();
    if m != 1 {
        return Err(Error::DimensionMismatch { what: "outputs of a scalar function (m)", expected: 1, found: m });
    }
    vjp(f, x0, &[1.0], structure, settings)
}
