//! Decoders: how each row's small system `A_i z_i ≈ y_i` is solved (DESIGN.md §4).
//!
//! The driver here builds, for every row `i`, the measurement matrix `A_i` (valid
//! measurements × allowed columns, in the scaled unknowns `z = J[i, c] · h_c`) and the
//! right-hand side `y_i`, drops erased measurements, shares one system among rows
//! that have the same columns (dense directions), reads entries off directly when the
//! design is structurally orthogonal for that row (coordinate, colored), and hands the
//! rest to a [`Decoder`], in parallel over rows.
//!
//! Forward differences with redundancy get one more unknown per row, an offset (a
//! column of ones): every forward measurement shares the call `f(x0)`, so its noise
//! or error is common to the whole row. With the offset, that common error neither
//! biases the estimate nor hides from the residual, a grossly wrong `f(x0)` is
//! absorbed (and flagged) instead of corrupting every measurement, and the decode
//! goes on when `f(x0)` failed.
//!
//! Afterwards the driver pools the rows' noise estimates into standard errors per
//! entry — relative to `max(1, |f_i|)`, as [`Settings::noise`](crate::Settings::noise)
//! is, so that outputs of different sizes pool — and turns per-row outlier flags into
//! per-call verdicts: a grossly wrong call corrupts that measurement in every row that
//! sees it (DESIGN.md §8).

mod joint;
mod lad;
mod lstsq;
pub(crate) mod report;
mod sparse;

pub use lad::{L1Reference, LeastAbsoluteDeviations, OutlierRule};
pub use lstsq::LeastSquares;
pub(crate) use report::{DecodedBy, Outlier, RowReport, RowStatus, SolverLimit};
pub use sparse::{RobustSparse, RobustSparseFit, SparseRecovery};

pub use joint::JointMethod;

use std::collections::HashMap;
use std::sync::Mutex;

use faer::{Mat, MatMut, MatRef};
use rayon::prelude::*;

use crate::coloring::StarColoring;
use crate::design::{Difference, Directions};
use crate::error::{Error, Result};
use crate::measurements::Measurements;
use crate::pattern::{Pattern, SparseMatrix};
use crate::settings::DecoderChoice;

/// How a decoder solved one row (or one right-hand side).
///
/// Decoders fill what they know; the defaults mean "not available".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowSolve {
    /// Whether every unknown was determined ([`RowStatus::Determined`] or
    /// [`RowStatus::Underdetermined`]), or whether an iterative solver stopped at a limit
    /// ([`RowStatus::SolverLimit`]). The other statuses are the estimate's judgement, not
    /// the decoder's.
    pub status: RowStatus,
    /// `‖A z − y‖₂` over the measurements judged clean (all of them for least squares).
    pub residual: f64,
    /// Estimated 2-norm condition number of `A` over those measurements (∞ when rank
    /// deficient).
    pub condition: f64,
    /// Rows of `a` (measurements) judged grossly wrong, ascending.
    pub outliers: Vec<usize>,
    /// Degrees of freedom of the residual: clean measurements minus determined
    /// unknowns (0 when there is no redundancy).
    pub dof: usize,
    /// For each unknown, the factor `[(AᵀA)⁻¹]_jj` over the clean measurements: its
    /// variance is `σ² ·` this factor when the measurements carry noise of standard
    /// deviation `σ`. Empty when not available.
    pub variance_factors: Vec<f64>,
    /// For decoders that recover the support: the unknowns that may be nonzero
    /// (ascending); the others are exactly zero. `None`: all unknowns.
    pub support: Option<Vec<usize>>,
}

/// A per-row solver of `A z ≈ y`.
///
/// Rows that share the measurement matrix `a` (k × d) are solved together: `y` holds
/// one right-hand side per column (k × r), the solutions go to the columns of `z`
/// (d × r), and one [`RowSolve`] per column is returned. Unknowns that the data do not
/// determine are set to NaN and the status says so.
pub trait Decoder: Sync {
    /// A short name for reports.
    fn name(&self) -> &'static str;

    /// Solves `a z = y` column by column.
    fn solve(&self, a: MatRef<'_, f64>, y: MatRef<'_, f64>, z: MatMut<'_, f64>) -> Vec<RowSolve>;

    /// Whether the driver may append an offset unknown (a column of ones, last) to
    /// forward-difference systems. Decoders that select a support among the unknowns
    /// answer `false`.
    fn accepts_offset(&self) -> bool {
        true
    }

    /// Whether the decoder already pools outlier evidence over the rows it is given
    /// (then the driver does not decode again without the calls most rows flagged).
    fn pools_rows(&self) -> bool {
        false
    }

    /// Whether the decoder fits an offset per row of its own (a constant it never
    /// reports): then forward differences reach it as raw values, without `f(x0)`
    /// subtracted (a grossly wrong `f(x0)` would cost them their digits), and the
    /// driver judges `f(x0)` from the offset the values imply.
    fn own_offset(&self) -> bool {
        false
    }
}

/// The decoder of a resolved choice (least squares for `Auto`).
pub(crate) fn decoder_for(choice: DecoderChoice) -> Box<dyn Decoder> {
    match choice {
        DecoderChoice::Auto | DecoderChoice::LeastSquares | DecoderChoice::Substitution => {
            Box::new(LeastSquares::default())
        }
        DecoderChoice::L1 => Box::new(LeastAbsoluteDeviations::default()),
        DecoderChoice::Sparse(method) => Box::new(SparseRecovery { method, ..SparseRecovery::default() }),
        DecoderChoice::RobustSparse => Box::new(RobustSparse::default()),
    }
}

/// What a decode found: `J`, its standard errors, the reports of rows and calls.
pub(crate) struct Decoded {
    pub(crate) jacobian: SparseMatrix,
    pub(crate) std_errors: Option<Vec<f64>>,
    pub(crate) rows: Vec<RowReport>,
    pub(crate) outliers: Vec<Outlier>,
    pub(crate) noise: Option<f64>,
    pub(crate) valid_measurements: usize,
    pub(crate) decoder: DecodedBy,
}

/// Prior weight, in degrees of freedom, of the noise level pooled over all rows when a
/// row's own estimate is combined with it (a row with few residual degrees of freedom
/// estimates its noise poorly; a row with many keeps its own).
const POOLED_DOF: f64 = 4.0;

/// A row's noise variance from its residual sum of squares `rss` with `dof` degrees of
/// freedom, shrunk towards the level `pooled` over all rows (per unit², the row's unit
/// being `max(1, |f_i|)`) with the weight of [`POOLED_DOF`] degrees of freedom.
pub(crate) fn shrunk_variance(rss: f64, dof: usize, pooled: f64, unit: f64) -> f64 {
    (rss + POOLED_DOF * pooled * unit * unit) / (dof as f64 + POOLED_DOF)
}

/// A row's offset is a grossly wrong `f(x0)` when it exceeds this many of its own
/// standard errors and this many measurement noise levels.
const OFFSET_OUTLIER_SE: f64 = 10.0;
const OFFSET_OUTLIER_NOISE: f64 = 100.0;

/// One row's decoded values and report.
struct RowResult {
    row: usize,
    values: Vec<f64>,
    /// Variance factor of each entry of J (`σ²` times this is its variance); empty if
    /// unavailable.
    variance: Vec<f64>,
    /// Unknowns kept (indices into the row's columns) when the decoder recovered a
    /// support.
    support: Option<Vec<usize>>,
    /// Measurements this row judged grossly wrong, and those it used.
    flagged: Vec<usize>,
    used: Vec<usize>,
    /// Whether this row judged `f(x0)` grossly wrong.
    base_flagged: bool,
    /// Residual sum of squares and its degrees of freedom.
    rss: f64,
    /// `max(1, |f_i(x0)|)`: the unit of relative noise for this row.
    unit: f64,
    report: RowReport,
}

impl RowResult {
    fn new(row: usize, values: Vec<f64>, report: RowReport) -> Self {
        RowResult {
            row,
            values,
            variance: Vec::new(),
            support: None,
            flagged: Vec::new(),
            used: Vec::new(),
            base_flagged: false,
            rss: 0.0,
            unit: 1.0,
            report,
        }
    }
}

/// Which decoder a decode uses.
#[derive(Clone, Copy)]
pub(crate) enum Using<'a> {
    /// The plan's: entries read off where the design allows, jointly for coupled
    /// structures.
    Plan,
    /// A built-in choice, on every row (joint methods for coupled structures).
    Choice(DecoderChoice),
    /// The caller's row decoder, on every row.
    Custom(&'a dyn Decoder),
}

/// Decodes `meas` as `using` says.
pub(crate) fn decode(meas: &Measurements<'_>, using: Using<'_>) -> Result<Decoded> {
    let plan = meas.plan();
    let pattern = plan.structure().pattern();
    let k = plan.measurements();
    let mut valid: Vec<bool> = (0..k).map(|t| meas.measurement_valid(t)).collect();
    let own = plan.settings().decoder;
    let choice = match using {
        Using::Plan => Some(own),
        Using::Choice(DecoderChoice::Auto) => Some(own),
        Using::Choice(c) => Some(c),
        Using::Custom(_) => None,
    };
    let refuse = |value: String, reason| Err(Error::InvalidSetting { name: "decoder", value, reason });
    if let Some(param) = plan.structure().parametrization() {
        let method = match (using, choice) {
            (Using::Custom(custom), _) => {
                return refuse(
                    custom.name().into(),
                    "the rows of a coupled structure share unknowns, which a row decoder cannot solve: decode with a DecoderChoice",
                );
            }
            (_, Some(DecoderChoice::L1)) => JointMethod::L1,
            (_, Some(DecoderChoice::Substitution)) => JointMethod::Substitution,
            (_, Some(c @ (DecoderChoice::Sparse(_) | DecoderChoice::RobustSparse))) => {
                return refuse(
                    c.name().into(),
                    "coupled structures have a known pattern: decode them by least squares, L1 or substitution",
                );
            }
            _ => JointMethod::LeastSquares,
        };
        return Ok(decode_coupled(meas, param, &valid, method));
    }
    if plan.star_coloring().is_some() && choice != Some(own) {
        let name = choice.map_or_else(|| "custom".to_string(), |c| c.name().to_string());
        return refuse(
            name,
            "a star-colored design reads entries from their mirror rows, which a row decoder cannot do: decode with the plan's decoder",
        );
    }
    let built_in: Box<dyn Decoder> = match choice.unwrap_or(own) {
        // The row sparsity and the outlier fraction come from the plan.
        DecoderChoice::RobustSparse => Box::new(RobustSparse {
            max_support: plan.structure().row_sparsity(),
            outliers: plan.settings().outliers,
            ..RobustSparse::default()
        }),
        other => decoder_for(other),
    };
    let decoder = match using {
        Using::Custom(custom) => custom,
        _ => built_in.as_ref(),
    };
    // Rows are read off only with the plan's own decoder.
    let read_off = choice == Some(own);
    let groups = RowGroups::of(meas);
    let run = |valid: &[bool], base_valid: bool| {
        let gathered = Mutex::new(Gathered::new(pattern, k));
        let blocks = groups.len().div_ceil(BLOCK);
        (0..blocks).into_par_iter().for_each(|b| {
            let range = b * BLOCK..((b + 1) * BLOCK).min(groups.len());
            let results: Vec<RowResult> = match plan.star_coloring() {
                Some(star) => range.map(|i| read_star(meas, star, i, valid, base_valid)).collect(),
                None => range
                    .flat_map(|g| {
                        groups.with_rows(g, |rows| solve_group(meas, decoder, read_off, rows, valid, base_valid))
                    })
                    .collect(),
            };
            let mut gathered = gathered.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            results.into_iter().for_each(|r| gathered.absorb(pattern, r));
        });
        gathered.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let mut gathered = run(&valid, meas.base_valid());

    // Outliers: a call is grossly wrong when most rows that used it say so.
    let outliers = gathered.votes.outliers(plan);
    // A wrong call corrupts every row that sees it, but a row may miss it (the error can
    // look plausible for that one output): decode again without the calls the
    // majority judged wrong, so that every row benefits from every row's judgement.
    if !outliers.is_empty() && !decoder.pools_rows() {
        let base_wrong = gathered.votes.base_wrong();
        let first_valid = valid.clone();
        for t in gathered.votes.wrong_measurements() {
            valid[t] = false;
        }
        let first_flags = std::mem::take(&mut gathered.flags);
        drop(gathered);
        gathered = run(&valid, meas.base_valid() && !base_wrong);
        let index = plan.index();
        let removed = |i: usize| {
            let newly_invalid = |&t: &usize| first_valid[t] && !valid[t];
            if index.all {
                (0..k).filter(newly_invalid).count()
            } else {
                index.seen(i, k).iter().filter(|t| newly_invalid(t)).count()
            }
        };
        for (i, (r, &flags)) in gathered.reports.iter_mut().zip(&first_flags).enumerate() {
            // A row that solved a system used the valid measurements it sees.
            let removed = if flags & SOLVED_SYSTEM != 0 { removed(i) } else { 0 };
            r.outliers += removed + usize::from(base_wrong && flags & HAD_OFFSET != 0);
        }
    }

    // Noise: pool the rows' residuals, relative to each row's max(1, |f_i|) as
    // Settings::noise is, then shrink each row's estimate towards the pool (in its units).
    let Gathered { values, variance, mut reports, mut supports, rss, dof, noisy, .. } = gathered;
    let pooled = (dof > 0).then(|| rss / dof as f64);
    let noise_scale = match plan.settings().difference {
        Difference::Forward => 1.0,
        Difference::Central => std::f64::consts::SQRT_2,
    };
    // The variance factors become standard errors in place.
    let std_errors = match (pooled, variance) {
        (Some(pooled), Some(mut std_errors)) => {
            for (row, rss, unit) in noisy {
                let report = &mut reports[row];
                let var = shrunk_variance(rss, report.dof, pooled, unit);
                report.noise = Some(var.sqrt() * noise_scale);
                std_errors[pattern.row_range(row)].iter_mut().for_each(|v| *v = (var * *v).sqrt());
            }
            Some(std_errors)
        }
        _ => None,
    };

    // Assemble J: on the structure's pattern, or on the recovered supports.
    let (jacobian, std_errors) = if supports.is_empty() {
        (SparseMatrix::new(pattern.clone(), values).expect("one value per pattern entry"), std_errors)
    } else {
        supports.sort_unstable_by_key(|s| s.0);
        let mut supports = supports.into_iter().peekable();
        let mut rows_cols = Vec::with_capacity(pattern.nrows());
        let (mut kept, mut errs) = (Vec::new(), Vec::new());
        for i in 0..pattern.nrows() {
            let cols = pattern.row(i);
            let range = pattern.row_range(i);
            let keep: Vec<usize> = match supports.next_if(|s| s.0 == i) {
                Some((_, support)) => support,
                None => (0..cols.len()).collect(),
            };
            rows_cols.push(keep.iter().map(|&j| cols[j]).collect::<Vec<_>>());
            kept.extend(keep.iter().map(|&j| values[range.start + j]));
            if let Some(se) = &std_errors {
                errs.extend(keep.iter().map(|&j| se[range.start + j]));
            }
        }
        let out = Pattern::from_rows(pattern.ncols(), &rows_cols).expect("supports lie in the pattern");
        (SparseMatrix::new(out, kept).expect("one value per kept entry"), std_errors.map(|_| errs))
    };
    Ok(Decoded {
        jacobian,
        std_errors,
        rows: reports,
        outliers,
        noise: pooled.map(|v| v.sqrt() * noise_scale),
        valid_measurements: valid.iter().filter(|&&v| v).count(),
        decoder: match using {
            Using::Custom(custom) => DecodedBy::Custom(custom.name()),
            _ => DecodedBy::Rows(choice.unwrap_or(own)),
        },
    })
}

/// Groups decoded by one task: results are gathered (and their per-row vectors freed)
/// after each block, so no more than a few blocks of rows' results exist at once.
const BLOCK: usize = 256;

/// [`Gathered::flags`]: the row solved a system over the valid measurements it sees
/// (not read off), and it carried an offset unknown.
const SOLVED_SYSTEM: u8 = 1;
const HAD_OFFSET: u8 = 2;

/// The rows' results, gathered into arrays the size of the output as they are decoded.
struct Gathered {
    /// Each row's values, on the structure's pattern (NaN where undetermined).
    values: Vec<f64>,
    /// Variance factor of each entry, allocated with the first row that has them (NaN
    /// for the others).
    variance: Option<Vec<f64>>,
    reports: Vec<RowReport>,
    /// Rows whose decoder recovered a support: the kept unknowns.
    supports: Vec<(usize, Vec<usize>)>,
    votes: Votes,
    /// Sum over rows of the residual sum of squares in units of `max(1, |f_i|)²`, and
    /// of the degrees of freedom.
    rss: f64,
    dof: usize,
    /// Rows with variance factors: `(row, rss, unit)`, for their noise.
    noisy: Vec<(usize, f64, f64)>,
    /// Per row, [`SOLVED_SYSTEM`] and [`HAD_OFFSET`].
    flags: Vec<u8>,
}

impl Gathered {
    fn new(pattern: &Pattern, k: usize) -> Self {
        Gathered {
            values: vec![f64::NAN; pattern.nnz()],
            variance: None,
            reports: vec![RowReport::empty(); pattern.nrows()],
            supports: Vec::new(),
            votes: Votes::new(k),
            rss: 0.0,
            dof: 0,
            noisy: Vec::new(),
            flags: vec![0; pattern.nrows()],
        }
    }

    fn absorb(&mut self, pattern: &Pattern, r: RowResult) {
        let range = pattern.row_range(r.row);
        if !r.values.is_empty() {
            self.values[range.clone()].copy_from_slice(&r.values);
        }
        if !r.variance.is_empty() {
            let nnz = pattern.nnz();
            self.variance.get_or_insert_with(|| vec![f64::NAN; nnz])[range].copy_from_slice(&r.variance);
            self.noisy.push((r.row, r.rss, r.unit));
        }
        self.votes.add(&r);
        self.rss += r.rss / (r.unit * r.unit);
        self.dof += r.report.dof;
        self.flags[r.row] =
            if r.used.is_empty() { 0 } else { SOLVED_SYSTEM } | if r.report.offset { HAD_OFFSET } else { 0 };
        if let Some(support) = r.support {
            self.supports.push((r.row, support));
        }
        self.reports[r.row] = r.report;
    }
}

/// Rows that share one measurement matrix: with dense directions, rows with the same
/// columns; otherwise (grouped directions, which are read off, included) every row alone.
enum RowGroups {
    /// Every row alone (`nrows` of them).
    Each(usize),
    Shared(Vec<Vec<usize>>),
}

impl RowGroups {
    fn of(meas: &Measurements<'_>) -> Self {
        let plan = meas.plan();
        let pattern = plan.structure().pattern();
        if !plan.index().all || plan.directions().is_grouped() {
            return RowGroups::Each(pattern.nrows());
        }
        let mut id: HashMap<&[usize], usize> = HashMap::new();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for i in 0..pattern.nrows() {
            let g = *id.entry(pattern.row(i)).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push(i);
        }
        RowGroups::Shared(groups)
    }

    fn len(&self) -> usize {
        match self {
            RowGroups::Each(rows) => *rows,
            RowGroups::Shared(groups) => groups.len(),
        }
    }

    /// `f` of the rows of group `g`.
    fn with_rows<R>(&self, g: usize, f: impl FnOnce(&[usize]) -> R) -> R {
        match self {
            RowGroups::Each(_) => f(&[g]),
            RowGroups::Shared(groups) => f(&groups[g]),
        }
    }
}

/// `max(1, |f_i(x0)|)` for an output, the unit of relative noise
/// ([`Settings::noise`](crate::Settings::noise)): the median of its levels in `slots`
/// ([`Measurements::level`]), robust to a wrong call; 1 without any.
pub(crate) fn noise_unit(meas: &Measurements<'_>, slots: impl Iterator<Item = usize>) -> f64 {
    let mut levels: Vec<f64> = slots.map(|s| meas.level(s)).filter(|v| v.is_finite()).collect();
    if levels.is_empty() {
        return 1.0;
    }
    let mid = levels.len() / 2;
    levels.select_nth_unstable_by(mid, f64::total_cmp).1.abs().max(1.0)
}

/// A structure with a parametrization: all rows at once ([`joint`]).
fn decode_coupled(
    meas: &Measurements<'_>,
    param: &crate::structure::Parametrization,
    valid: &[bool],
    method: JointMethod,
) -> Decoded {
    let plan = meas.plan();
    let joint::JointDecode { values, std_errors, mut rows, rss, dof, outliers, valid_measurements } =
        joint::decode(meas, param, valid, method);
    let noise_scale = match plan.settings().difference {
        Difference::Forward => 1.0,
        Difference::Central => std::f64::consts::SQRT_2,
    };
    rows.iter_mut().filter_map(|r| r.noise.as_mut()).for_each(|v| *v *= noise_scale);
    let any_std_error = std_errors.iter().any(|v| !v.is_nan());
    let jacobian = SparseMatrix::new(param.pattern().clone(), values).expect("one value per entry");
    Decoded {
        jacobian,
        std_errors: any_std_error.then_some(std_errors),
        rows,
        outliers,
        noise: (dof > 0).then(|| (rss / dof as f64).sqrt() * noise_scale),
        valid_measurements,
        decoder: DecodedBy::Joint(method),
    }
}

/// Rows' verdicts on each measurement and on `f(x0)`.
struct Votes {
    flagged: Vec<usize>,
    seen: Vec<usize>,
    base_flagged: usize,
    base_seen: usize,
}

impl Votes {
    fn new(k: usize) -> Votes {
        Votes { flagged: vec![0; k], seen: vec![0; k], base_flagged: 0, base_seen: 0 }
    }

    /// Counts one row's verdicts.
    fn add(&mut self, r: &RowResult) {
        r.flagged.iter().for_each(|&t| self.flagged[t] += 1);
        r.used.iter().for_each(|&t| self.seen[t] += 1);
        if r.report.offset {
            self.base_seen += 1;
            self.base_flagged += usize::from(r.base_flagged);
        }
    }

    fn majority(flagged: usize, seen: usize) -> bool {
        flagged > 0 && 2 * flagged >= seen
    }

    fn base_wrong(&self) -> bool {
        Self::majority(self.base_flagged, self.base_seen)
    }

    fn wrong_measurements(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.flagged.len()).filter(|&t| Self::majority(self.flagged[t], self.seen[t]))
    }

    /// The calls judged wrong (both calls of a wrong central measurement).
    fn outliers(&self, plan: &crate::plan::Plan) -> Vec<Outlier> {
        let mut out = Vec::new();
        if self.base_wrong() {
            out.push(Outlier { call: 0, rows_flagged: self.base_flagged, rows_seen: self.base_seen });
        }
        for t in self.wrong_measurements() {
            let (plus, minus) = plan.calls_of(t);
            for call in std::iter::once(plus).chain(minus) {
                out.push(Outlier { call, rows_flagged: self.flagged[t], rows_seen: self.seen[t] });
            }
        }
        out
    }
}

/// Determined, or underdetermined with the count of values that are not NaN.
pub(crate) fn status_of(values: &[f64]) -> RowStatus {
    let determined = values.iter().filter(|v| !v.is_nan()).count();
    if determined == values.len() {
        RowStatus::Determined
    } else {
        RowStatus::Underdetermined { determined, unknowns: values.len() }
    }
}

/// Star-colored design, row `i`: every entry read off from its own row or its mirror's
/// ([`StarColoring::direct_recovery`]).
fn read_star(meas: &Measurements<'_>, star: &StarColoring, i: usize, valid: &[bool], base_valid: bool) -> RowResult {
    let plan = meas.plan();
    let pattern = plan.structure().pattern();
    let index = plan.index();
    let steps = plan.steps();
    let reads = star.direct_recovery();
    let p0 = pattern.row_start(i);
    let values: Vec<f64> = pattern
        .row(i)
        .iter()
        .enumerate()
        .map(|(q, &j)| {
            let read = reads[p0 + q];
            // The column whose step scales the read entry: j in row i, i in row j.
            let k = if read.row == i { j } else { i };
            let p = index.position(read.row, read.color).expect("a row sees the colors of its columns");
            if valid[read.color] && base_valid {
                meas.difference(read.row, index.row_ptr[read.row] + p, true)
                    / (plan.effective_coefficient(k, 1.0) * steps[k])
            } else {
                f64::NAN
            }
        })
        .collect();
    let report = RowReport {
        status: status_of(&values),
        measurements: values.iter().filter(|v| !v.is_nan()).count(),
        ..RowReport::empty()
    };
    RowResult::new(i, values, report)
}

fn solve_group(
    meas: &Measurements<'_>,
    decoder: &dyn Decoder,
    read_off: bool,
    rows: &[usize],
    valid: &[bool],
    base_valid: bool,
) -> Vec<RowResult> {
    let plan = meas.plan();
    let pattern = plan.structure().pattern();
    let index = plan.index();
    let steps = plan.steps();
    let cols = pattern.row(rows[0]);
    let d = cols.len();
    let k = plan.measurements();

    // The measurements this group sees, and where row `i`'s value of the p-th is stored.
    let seen = index.seen(rows[0], k);
    let slot = |i: usize, p: usize| if index.all { i * k + p } else { index.row_ptr[i] + p };

    if d == 0 {
        return rows.iter().map(|&row| RowResult::new(row, Vec::new(), RowReport::empty())).collect();
    }
    let forward = plan.settings().difference == Difference::Forward;
    let used: Vec<usize> = (0..seen.len()).filter(|&p| valid[seen[p]]).collect();

    // Read-off: every column in its own measurement with nothing else of the row.
    if read_off && plan.directions().is_grouped() && seen.len() == d {
        let Directions::Grouped { group, .. } = plan.directions() else { unreachable!() };
        let i = rows[0];
        let values: Vec<f64> = cols
            .iter()
            .map(|&c| {
                let p = if index.all {
                    group[c]
                } else {
                    seen.binary_search(&group[c]).expect("a column's group is among the row's measurements")
                };
                if valid[group[c]] && base_valid {
                    meas.difference(i, slot(i, p), base_valid) / (plan.effective_coefficient(c, 1.0) * steps[c])
                } else {
                    f64::NAN
                }
            })
            .collect();
        let report = RowReport {
            status: status_of(&values),
            residual: 0.0,
            condition: 1.0,
            measurements: values.iter().filter(|v| !v.is_nan()).count(),
            ..RowReport::empty()
        };
        return vec![RowResult::new(i, values, report)];
    }

    // General system over the valid measurements, with an offset column for forward
    // differences when there is room for it (or no f(x0) to subtract).
    let offset = forward && decoder.accepts_offset() && (used.len() >= d + 2 || !base_valid);
    if forward && !base_valid && !offset {
        let values = vec![f64::NAN; d];
        let report = RowReport { status: status_of(&values), condition: f64::INFINITY, ..RowReport::empty() };
        return rows.iter().map(|&row| RowResult::new(row, values.clone(), report.clone())).collect();
    }
    let du = d + usize::from(offset);
    let mut position = vec![usize::MAX; seen.len()];
    for (r, &p) in used.iter().enumerate() {
        position[p] = r;
    }
    let mut a = Mat::<f64>::zeros(used.len(), du);
    for (j, &c) in cols.iter().enumerate() {
        plan.directions().for_each_in_coordinate(c, |t, coef| {
            let p = if index.all { t } else { seen.binary_search(&t).expect("measurement is among the row's") };
            if position[p] != usize::MAX {
                a[(position[p], j)] = plan.effective_coefficient(c, coef);
            }
        });
    }
    if offset {
        a.col_mut(d).fill(1.0);
    }
    let raw = forward && decoder.own_offset();
    let mut y = Mat::<f64>::from_fn(used.len(), rows.len(), |r, g| {
        meas.difference(rows[g], slot(rows[g], used[r]), base_valid && !raw)
    });
    // With an offset, shift each row's data by its median first: the offset absorbs any
    // constant, and a grossly wrong f(x0) then does not inflate the scale of the
    // unknowns (nor the rounding level a decoder judges residuals against).
    let shift: Vec<f64> = (0..rows.len())
        .map(|g| {
            if !offset || used.is_empty() {
                return 0.0;
            }
            let mut col: Vec<f64> = (0..used.len()).map(|r| y[(r, g)]).collect();
            let mid = col.len() / 2;
            *col.select_nth_unstable_by(mid, f64::total_cmp).1
        })
        .collect();
    for (g, &m) in shift.iter().enumerate() {
        y.col_mut(g).iter_mut().for_each(|v| *v -= m);
    }
    let mut z = Mat::<f64>::zeros(du, rows.len());
    let solves = decoder.solve(a.as_ref(), y.as_ref(), z.as_mut());
    let used_meas: Vec<usize> = used.iter().map(|&p| seen[p]).collect();
    let unit = |i: usize| noise_unit(meas, used.iter().map(|&p| slot(i, p)));
    rows.iter()
        .zip(solves)
        .enumerate()
        .map(|(g, (&row, s))| {
            let values: Vec<f64> = cols.iter().enumerate().map(|(j, &c)| z[(j, g)] / steps[c]).collect();
            let variance = if s.variance_factors.len() == du {
                cols.iter().enumerate().map(|(j, &c)| s.variance_factors[j] / (steps[c] * steps[c])).collect()
            } else {
                Vec::new()
            };
            let noise_var = if s.dof > 0 { s.residual * s.residual / s.dof as f64 } else { 0.0 };
            let base_flagged = offset && {
                let c = (z[(d, g)] + shift[g]).abs();
                let se = (noise_var * s.variance_factors.get(d).copied().unwrap_or(f64::NAN)).sqrt();
                c > OFFSET_OUTLIER_SE * se && c > OFFSET_OUTLIER_NOISE * noise_var.sqrt()
            } || raw && base_valid && s.dof > 0 && {
                // The offset the values imply (median over the clean measurements) against
                // the f(x0) told.
                let mut implied: Vec<f64> = (0..used.len())
                    .filter(|r| !s.outliers.contains(r))
                    .map(|r| {
                        let support = s.support.as_deref().unwrap_or(&[]);
                        y[(r, g)] - support.iter().filter(|&&j| j < d).map(|&j| a[(r, j)] * z[(j, g)]).sum::<f64>()
                    })
                    .filter(|v| v.is_finite())
                    .collect();
                let f0 = meas.f0().map_or(f64::NAN, |f0| f0[row]);
                let mid = implied.len() / 2;
                !implied.is_empty() && {
                    let c = (*implied.select_nth_unstable_by(mid, f64::total_cmp).1 - f0).abs();
                    c > OFFSET_OUTLIER_NOISE * noise_var.sqrt()
                }
            };
            let support = s.support.map(|sup| sup.into_iter().filter(|&j| j < d).collect());
            // Determinedness from the row's own values (the decoder's counts the offset
            // too); a solver limit from the decoder.
            let status = match (status_of(&values), s.status) {
                (RowStatus::Determined, RowStatus::SolverLimit(limit)) => RowStatus::SolverLimit(limit),
                (own, _) => own,
            };
            let report = RowReport {
                status,
                residual: s.residual,
                condition: s.condition,
                measurements: used.len(),
                dof: s.dof,
                outliers: s.outliers.len(),
                offset: offset || raw,
                noise: None,
            };
            RowResult {
                row,
                values,
                variance,
                support,
                flagged: s.outliers.iter().map(|&r| used_meas[r]).collect(),
                used: used_meas.clone(),
                base_flagged,
                rss: if s.dof > 0 { s.residual * s.residual } else { 0.0 },
                unit: if s.dof > 0 { unit(row) } else { 1.0 },
                report,
            }
        })
        .collect()
}
