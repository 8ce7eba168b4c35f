//! The planner: from what the user knows and expects (structure, noise level, outlier
//! fraction, call budget) to a concrete design, decoder and number of calls — before
//! any call is made.
//!
//! Rules (each measured in the repository's examples; see BENCHMARKS.md):
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

use crate::coloring::{Coloring, Ordering, best_column_coloring, best_star_coloring};
use crate::decode::{
    Decoder, LeastAbsoluteDeviations, LeastSquares, SparseMethod, SparseRecovery, Substitution, measurements_needed,
    substitution_needed,
};
use crate::design::{Design, Difference, RandomDistribution, Step, max_directions};
use crate::error::{Error, Result};
use crate::plan::Settings;
use crate::structure::{Coupling, Parametrization, Structure};

/// Which decoder solves the rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecoderChoice {
    /// Chosen by the planner from the expected noise, outliers and structure.
    #[default]
    Auto,
    /// Least squares ([`LeastSquares`]).
    LeastSquares,
    /// L1 decoding with the fast path ([`LeastAbsoluteDeviations`]).
    L1,
    /// Sparse recovery of rows whose pattern is unknown ([`SparseRecovery`]).
    Sparse(SparseMethod),
    /// Coupled structures: rows one at a time, solved unknowns substituted
    /// ([`Substitution`]); least squares for uncoupled ones.
    Substitution,
}

impl DecoderChoice {
    /// The decoder itself (least squares for `Auto` before planning).
    pub fn decoder(&self) -> Box<dyn Decoder> {
        match self {
            DecoderChoice::Auto | DecoderChoice::LeastSquares => Box::new(LeastSquares::default()),
            DecoderChoice::L1 => Box::new(LeastAbsoluteDeviations::default()),
            DecoderChoice::Sparse(method) => Box::new(SparseRecovery { method: *method, ..SparseRecovery::default() }),
            DecoderChoice::Substitution => Box::new(Substitution),
        }
    }

    /// A short name for tables and reports.
    pub fn name(&self) -> &'static str {
        match self {
            DecoderChoice::Auto => "auto",
            DecoderChoice::LeastSquares => "least-squares",
            DecoderChoice::L1 => "l1",
            DecoderChoice::Sparse(SparseMethod::Omp) => "sparse-omp",
            DecoderChoice::Sparse(SparseMethod::BasisPursuitDenoising) => "sparse-bpdn",
            DecoderChoice::Substitution => "substitution",
        }
    }
}

/// The largest outlier fraction the planner accepts.
pub const MAX_OUTLIER_FRACTION: f64 = 0.35;

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
/// by OMP from 50 Gaussian calls (95% from 40); this rule asks for 58.
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
                Some(robust_directions(rho, measurement_outliers(p, settings.difference)))
            } else if noise > 0.0 {
                // A large budget buys redundancy only as far as the plan can hold it.
                let affordable = max_directions(structure, settings.difference);
                Some((2 * rho + Design::RANDOM_OVERSAMPLING).max(cap.unwrap_or(0).min(affordable)))
            } else {
                let (ordering, c) = best_column_coloring(structure.pattern());
                let mut chi = c.num_colors();
                coloring = Some((ordering, c));
                if structure.is_symmetric() {
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
            if structure.is_symmetric() && p == 0.0 && noise == 0.0 {
                let param =
                    Parametrization::new(structure.pattern(), &Coupling { symmetric: true, ..Coupling::default() })?;
                let joint = measurements_needed(&param, settings.seed);
                let colored = coloring.as_ref().map_or(usize::MAX, |(_, c)| c.num_colors());
                let best =
                    wanted.unwrap_or(usize::MAX).min(if star.is_some() { chi_star(structure)? } else { colored });
                if joint < best && cap.is_none_or(|cap| joint <= cap) {
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
        other => other.clone(),
    };
    let redundant = matches!(design, Design::Random { .. } | Design::Rainbow { .. });
    let decoder = match settings.decoder {
        DecoderChoice::Auto if sparse_pays(structure, settings) && redundant => {
            DecoderChoice::Sparse(SparseMethod::Omp)
        }
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
            Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(k) }
        }
        Design::Star { .. } => {
            return Err(Error::InvalidSetting {
                name: "design",
                value: "star".into(),
                reason: "star-colored designs read entries off and cannot use ties, known entries or relations",
            });
        }
        other => other.clone(),
    };
    let step = match (&settings.step, settings.noise > 0.0) {
        (Step::Default, true) => Step::Noise(settings.noise),
        (step, _) => step.clone(),
    };
    Ok(Choice { design, decoder, step, coloring: None, joint_symmetric: false })
}
