//! The planner: from what the user knows and expects (structure, noise level, outlier
//! fraction, call budget) to a concrete design, decoder and number of calls — before
//! any call is made.
//!
//! Its rules are documented on [`Scheme::new`]. Rules (each measured in the repository's examples; see BENCHMARKS.md):
//!
//! - **Exact outputs** (no noise, no outliers): the colored design when `χ ≤ ρ_max + 2`
//!   (entries read off, no conditioning loss) — star-colored when the structure is
//!   symmetric and that needs no more colors — otherwise rainbow directions with
//!   `ρ_max + 2` calls, the number no coloring can beat when `χ > ρ_max + 2`.
//! - **Outliers** (a fraction `p` of calls grossly wrong): rainbow directions decoded by
//!   L1, with `k = ⌈ρ_max · 1.2 / (0.4 − p)⌉ + 2` — about 3·ρ_max at 1%, 6·ρ_max at
//!   20%, 8·ρ_max at 25%. The `decoders` example measured every row of d = 10 recovered
//!   at k/d = 3 up to 10% corruption, 4 up to 15%, 6 up to 25%, 8 up to 30%. Above
//!   35% the plan is refused. With central differences `p` is replaced by the fraction
//!   of measurements spoiled, `1 − (1 − p)²` (either call of a pair spoils it).
//! - **Noise** (level `σ` relative to `max(1, |f|)`): rainbow directions decoded by
//!   least squares with `2 ρ_max + 2` calls (or the whole budget), so that the
//!   redundancy averages the noise and yields error bars, and the step of
//!   [`Step::Noise`].
//! - **Unknown pattern, rows at most `s`-sparse** ([`Structure::with_row_sparsity`]):
//!   Gaussian directions decoded by sparse recovery (OMP), `k = ⌈2 s ln(ρ_max / s)⌉ + s`
//!   directions, when that is fewer than `ρ_max` and no outliers are expected.
//! - **Coupled structures** ([`Structure::with_coupling`]): Gaussian directions, as
//!   many as make the joint system determined (a rank test on the parametrization, no
//!   call), decoded jointly by least squares; `2k + 2` with noise; with outliers,
//!   `⌈(k + 1)(1 + 3p)⌉ + 2` decoded by joint L1 (measured in the `structures` example); with
//!   [`DecoderChoice::Substitution`], two more than substitution needs.
//! - **Budget**: the plan never exceeds it; it falls back to fewer directions (never
//!   fewer than the minimum the decoder needs, else an error that says so).
//! - **A design the user chose** is kept, but with outliers expected it must have the
//!   redundancy the rules above give (a random or rainbow design without a number of
//!   directions gets it): a read-off design (coordinate, colored, star, groups) or
//!   fewer directions is an error naming the calls needed
//!   ([`Error::TooLittleRedundancy`]), never a plan that would quietly miss them.

use crate::coloring::{
    Coloring, Ordering, best_column_coloring, best_star_coloring, check_column_coloring, color_columns, color_star,
    search_columns,
};
use crate::design::{
    Design, Difference, RandomDistribution, Step, check_directions_fit, colored_directions, coordinate_directions,
    rainbow_directions, random_directions,
};
use crate::error::{Error, Result};
use crate::pattern::Pattern;
use crate::plan::{Plan, Scheme};
use crate::projection::Projection;
use crate::settings::{ColoringSearch, DecoderChoice, MAX_OUTLIER_FRACTION, Settings, SparseMethod};
use crate::structure::{Coupling, Parametrization, Structure};

mod rank;

use rank::{measurements_needed, substitution_needed, well_conditioned};

impl Scheme {
    /// The planner's scheme for `structure`: it resolves `Auto` design and decoder,
    /// computes the colorings and directions, and checks the budget, all before any
    /// call.
    ///
    /// Rules (each measured in the repository's examples; see BENCHMARKS.md):
    ///
    /// - **Exact outputs** (no noise, no outliers): the colored design when `χ ≤ ρ_max + 2`
    ///   (entries read off, no conditioning loss) — star-colored when the structure is
    ///   symmetric and that needs no more colors — otherwise rainbow directions with
    ///   `ρ_max + 2` calls, the number no coloring can beat when `χ > ρ_max + 2`.
    /// - **Outliers** (a fraction `p` of calls grossly wrong): rainbow directions decoded by
    ///   L1, with `k = ⌈ρ_max · 1.2 / (0.4 − p)⌉ + 2` — about 3·ρ_max at 1%, 6·ρ_max at
    ///   20%, 8·ρ_max at 25%. The `decoders` example measured every row of d = 10 recovered
    ///   at k/d = 3 up to 10% corruption, 4 up to 15%, 6 up to 25%, 8 up to 30%. Above
    ///   35% the plan is refused. With central differences `p` is replaced by the fraction
    ///   of measurements spoiled, `1 − (1 − p)²` (either call of a pair spoils it).
    /// - **Noise** (level `σ` relative to `max(1, |f|)`): rainbow directions decoded by
    ///   least squares with `2 ρ_max + 2` calls (or the whole budget), so that the
    ///   redundancy averages the noise and yields error bars, and the step of
    ///   [`Step::Noise`].
    /// - **Unknown pattern, rows at most `s`-sparse** ([`Structure::with_row_sparsity`]):
    ///   Gaussian directions decoded by sparse recovery (OMP), `k = ⌈2 s ln(ρ_max / s)⌉ + s`
    ///   directions, when that is fewer than `ρ_max` and no outliers are expected.
    /// - **Coupled structures** ([`Structure::with_coupling`]): Gaussian directions, as
    ///   many as make the joint system determined (a rank test on the parametrization, no
    ///   call), decoded jointly by least squares; `2k + 2` with noise; with outliers,
    ///   `⌈(k + 1)(1 + 3p)⌉ + 2` decoded by joint L1 (measured in the `structures` example); with
    ///   [`DecoderChoice::Substitution`], two more than substitution needs.
    /// - **Budget**: the plan never exceeds it; it falls back to fewer directions (never
    ///   fewer than the minimum the decoder needs, else an error that says so).
    /// - **A design the user chose** is kept, but with outliers expected it must have the
    ///   redundancy the rules above give (a random or rainbow design without a number of
    ///   directions gets it): a read-off design (coordinate, colored, star, groups) or
    ///   fewer directions is an error naming the calls needed
    ///   ([`Error::TooLittleRedundancy`]), never a plan that would quietly miss them.
    /// - **Accuracy**: a design decoded by solving loses about `κ` (its system's
    ///   condition number) against a read-off design; where the planner can predict `κ`
    ///   before any call (the joint decoding of a symmetric structure), it takes the
    ///   fewest calls with `κ` within [`Settings::max_error_growth`] (default 10).
    ///
    /// Errors: invalid settings, a design with fewer directions than its decoder needs,
    /// a plan over the budget, a coloring that does not fit the pattern.
    pub fn new(structure: &Structure, settings: &Settings) -> Result<Scheme> {
        let (n, _m) = structure.dims();
        let choice = choose(structure, settings)?;
        let coupled;
        let structure = if choice.joint_symmetric {
            coupled = structure.clone().with_coupling(Coupling::default())?;
            &coupled
        } else {
            structure
        };
        let pattern = structure.pattern();
        let mut known = choice.coloring;
        let mut colors = |ordering: &Option<Ordering>| match (known.take(), ordering) {
            (Some((o, c)), Some(wanted)) if o == *wanted => (o, c),
            (_, Some(o)) => (*o, color_columns(pattern, *o)),
            (_, None) => searched_coloring(pattern, settings),
        };
        let mut coloring = None;
        let mut star = None;
        let directions = match &choice.design {
            Design::Auto => unreachable!("the planner resolves Design::Auto"),
            Design::Coordinate => coordinate_directions(n),
            Design::Colored { ordering } => {
                let (ordering, c) = colors(ordering);
                let d = colored_directions(&c);
                coloring = Some((ordering, c));
                d
            }
            Design::Groups(c) => {
                // (check_column_coloring refuses more groups than columns first.)
                check_column_coloring(pattern, c)?;
                colored_directions(c)
            }
            Design::Random { distribution, directions } => {
                // Sparse recovery needs about 2s measurements for s-sparse rows, not ρ_max.
                let sparse = matches!(choice.decoder, DecoderChoice::Sparse(_) | DecoderChoice::RobustSparse);
                let rho = structure.lower_bound();
                let needed = match structure.row_sparsity() {
                    Some(s) if sparse => s.saturating_mul(2).min(rho),
                    _ if sparse => 1.min(rho),
                    _ => rho,
                };
                let k = directions.unwrap_or_else(|| match (structure.parametrization(), structure.row_sparsity()) {
                    (Some(param), _) => measurements_needed(param, settings.seed),
                    (None, Some(s)) if sparse => sparse_directions(s, rho).min(rho + Design::RANDOM_OVERSAMPLING),
                    _ => Design::default_random_directions(*distribution, pattern.nrows(), rho),
                });
                if k < needed {
                    return Err(structure.too_few_calls(k, needed));
                }
                check_budget(k, settings, &choice.design)?;
                check_directions_fit(&choice.design, n, k, structure.dims())?;
                random_directions(n, seen_columns(pattern), k, *distribution, settings.seed)
            }
            Design::Star { ordering } => {
                if !structure.is_symmetric() {
                    return Err(Error::InvalidSetting {
                        name: "design",
                        value: "star".into(),
                        reason: "a star-colored design needs a symmetric structure (Structure::symmetric)",
                    });
                }
                let (ordering, sc) = match ordering {
                    Some(o) => (*o, color_star(pattern, *o)?),
                    None => best_star_coloring(pattern)?,
                };
                let d = colored_directions(sc.coloring());
                coloring = Some((ordering, sc.coloring().clone()));
                star = Some(sc);
                d
            }
            Design::Rainbow { ordering, directions } => {
                let needed = structure.lower_bound();
                let k = directions.unwrap_or(needed + Design::RANDOM_OVERSAMPLING);
                if k < needed {
                    return Err(structure.too_few_calls(k, needed));
                }
                check_budget(k, settings, &choice.design)?;
                let (ordering, c) = colors(ordering);
                check_directions_fit(&choice.design, c.num_colors(), k, structure.dims())?;
                let d = rainbow_directions(&c, k, settings.seed);
                coloring = Some((ordering, c));
                d
            }
        };
        check_budget(directions.len(), settings, &choice.design)?;
        crate::plan::check_directions_count(directions.len())?;
        if settings.outliers > 0.0 && settings.design != Design::Auto {
            check_redundancy(structure, settings, &choice.design, directions.len(), directions.is_grouped())?;
        }
        let settings =
            Settings { design: choice.design, decoder: choice.decoder, step: choice.step, ..settings.clone() };
        Ok(Scheme::from_parts(structure.clone(), settings, coloring, star, directions))
    }
}

impl Plan {
    /// The planner's plan for `structure` at `x0`: [`Scheme::new`] then [`Scheme::at`].
    ///
    /// One round, planned before any call. Told nothing (a dense structure), that round
    /// must be enough for a dense `J`: `n + 1` calls, and with `outliers > 0` an L1
    /// design over dense rows (6,403 calls at `n = 1600` with `outliers = 0.1`). A
    /// [`Session`](crate::Session) (what [`jacobian`](crate::jacobian) runs) decides
    /// its rounds as calls return, and finds a sparse `J` in far fewer (97–145 calls
    /// there, BENCHMARKS.md "Robust sparse recovery").
    ///
    /// Errors: those of both.
    pub fn new(structure: &Structure, x0: &[f64], settings: &Settings) -> Result<Plan> {
        Scheme::new(structure, settings)?.at(x0)
    }
}

/// Calls of `k` directions (with `f(x0)` for forward differences).
pub(crate) fn calls_of(k: usize, difference: Difference) -> usize {
    match difference {
        Difference::Forward => k.saturating_add(1),
        Difference::Central => k.saturating_mul(2),
    }
}

/// Directions the planner's rule needs for the expected fraction of wrong calls:
/// [`robust_directions`], or [`joint_robust_directions`] for a coupled structure.
fn robust_need(structure: &Structure, settings: &Settings) -> usize {
    let p = measurement_outliers(settings.outliers, settings.difference);
    match (structure.parametrization(), structure.row_sparsity()) {
        (Some(param), _) => joint_robust_directions(measurements_needed(param, settings.seed), p),
        (None, Some(s)) if robust_sparse_pays(structure, settings) => {
            robust_sparse_directions(s, structure.lower_bound(), p)
        }
        (None, _) => robust_directions(structure.lower_bound(), p),
    }
}

/// Fails when outliers are expected and the user's design cannot find them: a read-off
/// design (no redundancy at all), or fewer directions than the planner's rule needs.
/// The error names the calls needed.
fn check_redundancy(
    structure: &Structure,
    settings: &Settings,
    design: &Design,
    k: usize,
    read_off: bool,
) -> Result<()> {
    let needed = robust_need(structure, settings);
    if read_off || k < needed {
        return Err(Error::TooLittleRedundancy {
            design: design.name(),
            calls: calls_of(k, settings.difference),
            needed: calls_of(needed, settings.difference),
            outliers: settings.outliers,
        });
    }
    Ok(())
}

/// A random or rainbow design the user left without a number of directions gets the
/// planner's robust rule when outliers are expected.
fn robust_default(design: &Design, structure: &Structure, settings: &Settings) -> Design {
    match design {
        Design::Random { distribution, directions: None } if settings.outliers > 0.0 => {
            Design::Random { distribution: *distribution, directions: Some(robust_need(structure, settings)) }
        }
        Design::Rainbow { ordering, directions: None } if settings.outliers > 0.0 => {
            Design::Rainbow { ordering: *ordering, directions: Some(robust_need(structure, settings)) }
        }
        other => other.clone(),
    }
}

/// Fails when `k` directions make more calls than the budget allows.
fn check_budget(k: usize, settings: &Settings, design: &Design) -> Result<()> {
    let calls = calls_of(k, settings.difference);
    match settings.budget {
        Some(budget) if calls > budget => Err(Error::OverBudget { calls, budget, design: design.name() }),
        _ => Ok(()),
    }
}

/// What the planner decided.
pub(crate) struct Choice {
    pub(crate) design: Design,
    pub(crate) decoder: DecoderChoice,
    pub(crate) step: Step,
    pub(crate) coloring: Option<(Ordering, Coloring)>,
    /// Decode a symmetric structure jointly (its symmetry as a parametrization).
    pub(crate) joint_symmetric: bool,
}

/// Directions sparse recovery needs for rows with at most `s` nonzeros among `rho`
/// candidates: the `sparse` example measured every row of s = 5 among 1000 recovered
/// by OMP from 50 Gaussian calls (95% from 40); this rule asks for 58. It is also the
/// rule of the direct `vᵀJ` route ([`Scheme::projected`]), where the `vjp` example
/// recovered a 10-sparse `w` among 10,000 in 10 of 10 trials from 80 directions (8 of
/// 10 from 70); this rule asks for 149. A rule fitted to that case alone
/// (`⌈s ln(ρ/s)⌉ + 2s`, 90 there) asks for 37 in the first, below the 40 at which a
/// twentieth of the rows already fail.
pub(crate) fn sparse_directions(s: usize, rho: usize) -> usize {
    let s = s.max(1);
    (2.0 * s as f64 * (rho as f64 / s as f64).max(1.0).ln()).ceil() as usize + s
}

/// The fraction of measurements spoiled when a fraction `p` of calls are: `p` for
/// forward differences (a wrong `f(x0)` is absorbed by the offsets), `1 − (1 − p)²` for
/// central differences, whose measurements are wrong when either of their two calls is.
pub(crate) fn measurement_outliers(p: f64, difference: Difference) -> f64 {
    match difference {
        Difference::Forward => p,
        Difference::Central => 1.0 - (1.0 - p) * (1.0 - p),
    }
}

/// The calls coordinate differences need to be as robust to garbage calls as the
/// planner's plans for a fraction `outliers` of them: every coordinate direction and
/// `f(x0)` called `r` times and the median of each kept (a read-off design has no other
/// way to outvote a wrong call), with `r` the smallest odd number for which the chance
/// that garbage is the majority of some coordinate's calls, summed over the `n + 1`, is
/// at most 1% (calls garbage independently: a binomial tail). That is `r · (n + 1)`;
/// `n + 1` without outliers; `None` when no `r` up to 1001 is enough.
///
/// No plan with outliers costs more: at `outliers = 0.1` and `n = 1600`, `r = 19`
/// (30,419 calls) against 6,403 for L1 decoding of dense rows and 120 for robust sparse
/// recovery of 8-sparse ones.
///
/// ```
/// use jacsense::robust_coordinate_calls;
/// assert_eq!(robust_coordinate_calls(1600, 0.0), Some(1601));
/// assert_eq!(robust_coordinate_calls(1600, 0.1), Some(19 * 1601));
/// ```
pub fn robust_coordinate_calls(n: usize, outliers: f64) -> Option<usize> {
    let calls = n.checked_add(1)?;
    if outliers <= 0.0 {
        return Some(calls);
    }
    if outliers.is_nan() || outliers >= 0.5 {
        return None;
    }
    let (p, q) = (outliers, 1.0 - outliers);
    (1..=1001usize).step_by(2).find_map(|r| {
        // P(X ≥ (r + 1) / 2), X ~ Binomial(r, p), by the ratio of successive terms.
        let mut term = q.powi(r as i32);
        let mut tail = 0.0;
        for i in 0..=r {
            if 2 * i > r {
                tail += term;
            }
            term *= (r - i) as f64 / (i + 1) as f64 * p / q;
        }
        (calls as f64 * tail <= 0.01).then(|| r.checked_mul(calls)).flatten()
    })
}

/// Directions robust sparse recovery ([`RobustSparse`](crate::decode::RobustSparse))
/// needs for rows with at most `s` nonzeros among `rho` candidates when a fraction `p`
/// of the measurements is wrong: [`sparse_directions`] on the clean ones, with room for
/// twice the expected wrong ones, `⌈sparse_directions(s, ρ) / (1 − 2p)⌉ + 2`.
pub(crate) fn robust_sparse_directions(s: usize, rho: usize, p: f64) -> usize {
    (sparse_directions(s, rho) as f64 / (1.0 - 2.0 * p)).ceil() as usize + Design::RANDOM_OVERSAMPLING
}

/// Whether rows declared sparse are cheaper to recover robustly (outliers expected)
/// by [`robust_sparse_directions`] than by L1 decoding on their allowed entries.
fn robust_sparse_pays(structure: &Structure, settings: &Settings) -> bool {
    let p = measurement_outliers(settings.outliers, settings.difference);
    let rho = structure.lower_bound();
    settings.outliers > 0.0
        && structure.parametrization().is_none()
        && matches!(settings.decoder, DecoderChoice::Auto | DecoderChoice::RobustSparse)
        && structure.row_sparsity().is_some_and(|s| robust_sparse_directions(s, rho, p) < robust_directions(rho, p))
}

/// Directions an L1-decoded design needs for `rho` unknowns and a fraction `p` of
/// wrong measurements.
pub(crate) fn robust_directions(rho: usize, p: f64) -> usize {
    (rho as f64 * 1.2 / (0.4 - p)).ceil() as usize + Design::RANDOM_OVERSAMPLING
}

/// Directions beyond the fewest that substitution needs: on the 15², 30² and 6³ grid
/// Hessians the `structures` example measured errors of 2.5, 1e15 and 1e-2 with none,
/// 9e-7, 3e-6 and 4e-7 with one, 3e-8, 4e-8 and 5e-8 with two (joint least squares on
/// those calls: 4e-9).
const SUBSTITUTION_MARGIN: usize = 2;

/// Directions a jointly L1-decoded coupled structure needs when `needed` determine it
/// and a fraction `p` of the calls are grossly wrong: `⌈(needed + 1)(1 + 3p)⌉ + 2`
/// (one more unknown per row: its offset). The joint system pools every row's
/// equations, so it needs far less redundancy than a row alone: the `structures`
/// example measured 10 of 10 seeds exact, with every wrong call found and no clean one
/// flagged, from 6 directions on 15×15 and 30×30 grid Hessians (`needed` = 3), 5 on an
/// arrowhead (2) and 3 on a tied convolution (1), with up to 30% of the calls wrong;
/// this rule asks for 10, 8 and 6 at 30%.
pub(crate) fn joint_robust_directions(needed: usize, p: f64) -> usize {
    ((needed + 1) as f64 * (1.0 + 3.0 * p)).ceil() as usize + 2
}

fn validate(settings: &Settings) -> Result<()> {
    let bad = |name, value: f64, reason| Err(Error::InvalidSetting { name, value: format!("{value}"), reason });
    if !(settings.noise.is_finite() && settings.noise >= 0.0) {
        return bad("noise", settings.noise, "must be finite and non-negative");
    }
    if settings.max_error_growth.is_nan() || settings.max_error_growth < 1.0 {
        return bad("max_error_growth", settings.max_error_growth, "must be at least 1 (a read-off design's error)");
    }
    if !(settings.outliers.is_finite() && (0.0..=MAX_OUTLIER_FRACTION).contains(&settings.outliers)) {
        return bad("outliers", settings.outliers, "must be a fraction of calls between 0 and 0.35");
    }
    if measurement_outliers(settings.outliers, settings.difference) > MAX_OUTLIER_FRACTION {
        return bad(
            "outliers",
            settings.outliers,
            "with central differences a measurement is wrong when either of its two calls is, which makes more than 35% of the measurements wrong: use forward differences",
        );
    }
    if settings.budget == Some(0) {
        return bad("budget", 0.0, "must allow at least one call");
    }
    if let ColoringSearch::Seconds(s) = settings.coloring_search
        && !(s.is_finite() && s >= 0.0)
    {
        return bad("coloring_search", s, "seconds must be finite and non-negative");
    }
    if let Some(t) = settings.call_time
        && !(t.is_finite() && t >= 0.0)
    {
        return bad("call_time", t, "must be finite and non-negative (seconds)");
    }
    if settings.condition_tolerance.is_nan() || settings.condition_tolerance <= 0.0 {
        return bad("condition_tolerance", settings.condition_tolerance, "must be positive (infinity: never report)");
    }
    Ok(())
}

/// Whether rows declared sparse ([`Structure::with_row_sparsity`]) are cheaper to
/// recover by compressed sensing than to solve on their allowed entries (sparse
/// recovery is not robust to outliers, so it is not chosen when outliers are
/// expected).
fn sparse_pays(structure: &Structure, settings: &Settings) -> bool {
    settings.outliers == 0.0
        && structure
            .row_sparsity()
            .is_some_and(|s| sparse_directions(s, structure.lower_bound()) < structure.lower_bound())
}

/// Colors of the best star coloring of a symmetric structure.
fn chi_star(structure: &Structure) -> Result<usize> {
    Ok(best_star_coloring(structure.pattern())?.1.num_colors())
}

/// Most directions a budget of calls allows.
fn directions_within(budget: usize, difference: Difference) -> usize {
    match difference {
        Difference::Forward => budget.saturating_sub(1),
        Difference::Central => budget / 2,
    }
}

pub(crate) fn choose(structure: &Structure, settings: &Settings) -> Result<Choice> {
    validate(settings)?;
    if let Some(param) = structure.parametrization() {
        return choose_coupled(structure, param, settings);
    }
    let rho = structure.lower_bound();
    let (p, noise) = (settings.outliers, settings.noise);
    let cap = settings.budget.map(|b| directions_within(b, settings.difference));
    let too_few = |calls: usize, needed: usize| structure.too_few_calls(calls, needed);
    let mut coloring = None;
    let mut star = None;
    let design = match &settings.design {
        Design::Auto if robust_sparse_pays(structure, settings) => {
            let s = structure.row_sparsity().expect("robust_sparse_pays checks it");
            let k = robust_sparse_directions(s, rho, measurement_outliers(p, settings.difference));
            let k = cap.map_or(k, |cap| k.min(cap));
            if k < 2 * s {
                return Err(too_few(k, 2 * s));
            }
            Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(k) }
        }
        Design::Auto if sparse_pays(structure, settings) => {
            let s = structure.row_sparsity().expect("sparse_pays checks it");
            let k = sparse_directions(s, rho);
            let k = cap.map_or(k, |cap| k.min(cap));
            if k < 2 * s {
                return Err(too_few(k, 2 * s));
            }
            Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(k) }
        }
        Design::Auto => {
            let wanted = if p > 0.0 {
                let k = robust_directions(rho, measurement_outliers(p, settings.difference));
                // Where L1 decoding costs more than repeating every coordinate call, jacsense
                // cannot do better than coordinate differences: it says so.
                let n = structure.dims().0;
                if let Some(coordinate) = robust_coordinate_calls(n, p)
                    && calls_of(k, settings.difference) > coordinate
                {
                    return Err(Error::InvalidSetting {
                        name: "outliers",
                        value: format!(
                            "{p}: L1 decoding of rows with {rho} unknowns needs {} calls, coordinate differences \
                             with every call repeated and the median kept {coordinate}",
                            calls_of(k, settings.difference)
                        ),
                        reason: "rows this dense among this few inputs gain nothing from random directions; jacsense \
                                 cannot do better than repeated coordinate differences here",
                    });
                }
                Some(k)
            } else if noise > 0.0 {
                Some((2 * rho + Design::RANDOM_OVERSAMPLING).max(cap.unwrap_or(0)))
            } else {
                let (ordering, c) = searched_coloring(structure.pattern(), settings);
                let mut chi = c.num_colors();
                coloring = Some((ordering, c));
                if structure.symmetry_may_help() {
                    let (so, sc) = best_star_coloring(structure.pattern())?;
                    if sc.num_colors() <= chi {
                        chi = sc.num_colors();
                        star = Some(so);
                    }
                }
                (chi > rho + Design::RANDOM_OVERSAMPLING || cap.is_some_and(|cap| chi > cap))
                    .then_some(rho + Design::RANDOM_OVERSAMPLING)
            };
            // A symmetric structure decoded jointly may need fewer directions than any
            // coloring: every call gives n equations for the ~nnz/2 unknowns.
            if structure.symmetry_may_help() && p == 0.0 && noise == 0.0 {
                let param =
                    Parametrization::new(structure.pattern(), &Coupling { symmetric: true, ..Coupling::default() })?;
                let fewest = measurements_needed(&param, settings.seed);
                let colored = coloring.as_ref().map_or(usize::MAX, |(_, c)| c.num_colors());
                let best =
                    wanted.unwrap_or(usize::MAX).min(if star.is_some() { chi_star(structure)? } else { colored });
                // The read-off designs get every entry at the step's own error; the
                // joint decode multiplies it by the system's condition number, so it
                // takes the fewest directions that keep that factor within bounds.
                let limit = best.min(cap.map_or(usize::MAX, |cap| cap + 1));
                let accurate = (fewest < limit)
                    .then(|| well_conditioned(&param, settings.seed, fewest, limit, settings.max_error_growth))
                    .flatten();
                if let Some(joint) = accurate {
                    return Ok(Choice {
                        design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(joint) },
                        decoder: DecoderChoice::LeastSquares,
                        step: settings.step.clone(),
                        coloring: None,
                        joint_symmetric: true,
                    });
                }
            }
            match wanted {
                None if star.is_some() => Design::Star { ordering: star },
                None => Design::Colored { ordering: coloring.as_ref().map(|(o, _)| *o) },
                Some(k) => {
                    let k = cap.map_or(k, |cap| k.min(cap));
                    if k < rho {
                        return Err(too_few(k, rho));
                    }
                    Design::Rainbow { ordering: coloring.as_ref().map(|(o, _)| *o), directions: Some(k) }
                }
            }
        }
        other => robust_default(other, structure, settings),
    };
    let redundant = matches!(design, Design::Random { .. } | Design::Rainbow { .. });
    let decoder = match settings.decoder {
        DecoderChoice::Auto if sparse_pays(structure, settings) && redundant => {
            DecoderChoice::Sparse(SparseMethod::Omp)
        }
        DecoderChoice::Auto if robust_sparse_pays(structure, settings) && redundant => DecoderChoice::RobustSparse,
        DecoderChoice::Auto if p > 0.0 && redundant => DecoderChoice::L1,
        DecoderChoice::Auto => DecoderChoice::LeastSquares,
        chosen => chosen,
    };
    let step = match (&settings.step, noise > 0.0) {
        (Step::Default, true) => Step::Noise(noise),
        (step, _) => step.clone(),
    };
    Ok(Choice { design, decoder, step, coloring, joint_symmetric: false })
}

/// Plans for a structure with a parametrization, decoded jointly: Gaussian directions,
/// as many as make the joint system generically determined (found by trial on the
/// parametrization, no call made) — doubled plus two when noise is expected; with
/// outliers, [`joint_robust_directions`], decoded by joint L1.
fn choose_coupled(structure: &Structure, param: &Parametrization, settings: &Settings) -> Result<Choice> {
    let p = settings.outliers;
    let decoder = match settings.decoder {
        DecoderChoice::Substitution if p > 0.0 => {
            return Err(Error::InvalidSetting {
                name: "decoder",
                value: "substitution".into(),
                reason: "substitution passes a wrong call on from row to row: with outliers, decode by L1",
            });
        }
        DecoderChoice::Auto if p > 0.0 => DecoderChoice::L1,
        DecoderChoice::Auto => DecoderChoice::LeastSquares,
        DecoderChoice::Sparse(_) => {
            return Err(Error::InvalidSetting {
                name: "decoder",
                value: settings.decoder.name().to_string(),
                reason: "coupled structures have a known pattern: decode them by least squares, L1 or substitution",
            });
        }
        chosen => chosen,
    };
    let design = match &settings.design {
        Design::Auto => {
            let needed = measurements_needed(param, settings.seed);
            let k = if decoder == DecoderChoice::Substitution {
                // Rows solved exactly in turn pass their errors on; two more directions
                // than substitution needs bring them near the joint solution's.
                let fewest = substitution_needed(param, settings.seed);
                (fewest + SUBSTITUTION_MARGIN).min(param.sufficient_measurements().max(fewest))
            } else if p > 0.0 {
                joint_robust_directions(needed, measurement_outliers(p, settings.difference))
            } else if settings.noise > 0.0 {
                2 * needed + Design::RANDOM_OVERSAMPLING
            } else {
                needed
            };
            let cap = settings.budget.map(|b| directions_within(b, settings.difference));
            let k = cap.map_or(k, |cap| k.min(cap));
            if k < needed {
                return Err(structure.too_few_calls(k, needed));
            }
            // Without noise or outliers, a column coloring of the pattern with no more
            // colors reads every entry off one call, at the step's own error (a joint
            // decode of random directions multiplies it by its condition number): an
            // integrator's relation rows leave the other rows' colors as they are.
            let read_off = p == 0.0 && settings.noise == 0.0 && decoder == DecoderChoice::LeastSquares;
            let colored = read_off.then(|| searched_coloring(structure.pattern(), settings));
            match colored {
                Some((ordering, c)) if c.num_colors() <= k => {
                    let design = Design::Colored { ordering: Some(ordering) };
                    let step = settings.step.clone();
                    let coloring = Some((ordering, c));
                    return Ok(Choice { design, decoder, step, coloring, joint_symmetric: false });
                }
                _ => Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(k) },
            }
        }
        Design::Star { .. } => {
            return Err(Error::InvalidSetting {
                name: "design",
                value: "star".into(),
                reason: "star-colored designs read entries off and cannot use ties, known entries or relations",
            });
        }
        other => robust_default(other, structure, settings),
    };
    let step = match (&settings.step, settings.noise > 0.0) {
        (Step::Default, true) => Step::Noise(settings.noise),
        (step, _) => step.clone(),
    };
    Ok(Choice { design, decoder, step, coloring: None, joint_symmetric: false })
}

/// The planner's column coloring: [`best_column_coloring`] (every ordering, then
/// recoloring), improved by local search ([`search_columns`]) within the budget of
/// [`Settings::coloring_search`].
fn searched_coloring(pattern: &Pattern, settings: &Settings) -> (Ordering, Coloring) {
    let (ordering, coloring) = best_column_coloring(pattern);
    let limit = settings.coloring_search.limit(
        pattern.ncols(),
        coloring.num_colors(),
        pattern.max_row_count(),
        settings.call_time,
        settings.seed,
    );
    match limit {
        Some(limit) => (ordering, search_columns(pattern, &coloring, limit).coloring),
        None => (ordering, coloring),
    }
}

/// The columns some row of `pattern` may depend on (ascending), `None` when that is all
/// of them: random directions perturb no other column, since no row would see it.
fn seen_columns(pattern: &Pattern) -> Option<Vec<usize>> {
    if pattern.is_dense() {
        return None;
    }
    let mut seen = vec![false; pattern.ncols()];
    pattern.csr().1.iter().for_each(|&c| seen[c] = true);
    (!seen.iter().all(|&s| s)).then(|| (0..seen.len()).filter(|&c| seen[c]).collect())
}

impl Scheme {
    /// The planner's scheme for `VᵀJ` (the direct route of `vᵀJ`, DESIGN.md §5): the
    /// Jacobian of the projected function `g(x) = Vᵀ f(x)`, whose calls' values are
    /// projected when told ([`Projection`]).
    ///
    /// `structure` is `r × n`: row `j` may be nonzero on the candidates of `v_j`, and has
    /// the row sparsity `s` when `w` is declared `s`-sparse. Of `settings`, the
    /// difference, step, seed and outlier fraction are used. The design is always
    /// Gaussian directions on the columns some row sees (a coloring of candidate sets
    /// that are often dense would cost more than it saves), as many as
    /// `directions` or, by the rules of [`Scheme::new`] with `ρ` the most candidates of
    /// one `v`: `⌈ρ · 1.2/(0.4 − p)⌉ + 2` decoded by L1 when outliers are expected (an
    /// offset unknown absorbs `f(x0)`), [`sparse_directions`] decoded by sparse recovery
    /// (`method`) when that is fewer than `ρ`, otherwise `ρ + 2` decoded by least
    /// squares. No candidates: no directions.
    ///
    /// Errors: invalid settings, or `directions` fewer than the decoder needs.
    pub(crate) fn projected(
        structure: &Structure,
        projection: Projection,
        settings: &Settings,
        directions: Option<usize>,
        method: SparseMethod,
    ) -> Result<Scheme> {
        let (k, decoder) = Scheme::projected_directions(structure, settings, directions, method)?;
        let settings = Settings {
            design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(k) },
            decoder,
            ..settings.clone()
        };
        Ok(Scheme::new(structure, &settings)?.with_projection(projection))
    }

    /// How many directions [`Scheme::projected`] draws, and its decoder: decided from
    /// the structure alone, without drawing them (the `vᵀJ` route choice compares calls
    /// before building either plan).
    pub(crate) fn projected_directions(
        structure: &Structure,
        settings: &Settings,
        directions: Option<usize>,
        method: SparseMethod,
    ) -> Result<(usize, DecoderChoice)> {
        validate(settings)?;
        let rho = structure.lower_bound();
        let p = settings.outliers;
        let too_few =
            |k: usize, reason| Err(Error::InvalidSetting { name: "directions", value: format!("{k}"), reason });
        let sparse = DecoderChoice::Sparse(method);
        let (k, decoder) = if rho == 0 {
            (0, DecoderChoice::LeastSquares)
        } else if p > 0.0 {
            let needed = rho + usize::from(settings.difference == Difference::Forward);
            let k = directions.unwrap_or_else(|| robust_directions(rho, measurement_outliers(p, settings.difference)));
            if k < needed {
                return too_few(
                    k,
                    "L1 decoding on the direct route needs at least as many directions as candidates of w (plus one, for forward differences, for f(x0))",
                );
            }
            (k, DecoderChoice::L1)
        } else {
            match (directions, structure.row_sparsity()) {
                (Some(k), _) if k >= rho => (k, DecoderChoice::LeastSquares),
                (Some(k), Some(s)) if k >= s.saturating_mul(2) => (k, sparse),
                (Some(k), _) => {
                    return too_few(
                        k,
                        "the direct route needs as many directions as candidates of w (least squares), or 2·sparsity (sparse recovery)",
                    );
                }
                (None, Some(s)) if sparse_pays(structure, settings) => (sparse_directions(s, rho), sparse),
                (None, _) => (rho + Design::RANDOM_OVERSAMPLING, DecoderChoice::LeastSquares),
            }
        };
        Ok((k, decoder))
    }
}
