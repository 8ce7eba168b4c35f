//! What the user knows and wants, from the command line to the library's
//! [`Structure`] and [`Settings`]; serializable, so that an ask/tell plan file can
//! rebuild the same plan.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use jacsense::Coupling;
use jacsense::coloring::Ordering;
use jacsense::{
    ColoringSearch, DecoderChoice, Design, Difference, Pattern, RandomDistribution, Settings, Step, Structure,
};
use serde::{Deserialize, Serialize};

use crate::error::Failure;
use crate::formats::{Format, json_number, parse_numbers};
use crate::input_error;

/// Which directions to call (`--design`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DesignName {
    /// The planner chooses from the structure, `--noise`, `--outliers` and `--budget`.
    #[default]
    Auto,
    /// One call per input (classical finite differences).
    Coordinate,
    /// One call per color of a column coloring of the pattern (Curtis–Powell–Reid).
    Colored,
    /// One call per color of a star coloring (needs `--symmetric`).
    Star,
    /// Gaussian random directions, rows decoded by least squares.
    Random,
    /// ±1 random directions.
    Rademacher,
    /// Random combinations of the colors of a coloring (noise and outliers).
    Rainbow,
}

/// Which decoder solves the rows (`--decoder`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecoderName {
    /// The planner chooses.
    #[default]
    Auto,
    /// Least squares.
    LeastSquares,
    /// L1 (least absolute deviations): exact despite a fraction of garbage calls.
    L1,
    /// Sparse recovery by orthogonal matching pursuit (unknown pattern, `--row-sparsity`).
    Omp,
    /// Sparse recovery by basis pursuit denoising.
    Bpdn,
    /// Coupled structures (`--ties`, `--known`): rows one at a time,
    /// solved unknowns substituted (fast; least squares for uncoupled structures).
    Substitution,
    /// Robust sparse recovery (unknown pattern, `--row-sparsity`, with `--outliers`):
    /// garbage calls found by pooling over rows, and named.
    RobustSparse,
}

/// Structure and design options shared by `estimate`, `vjp`, `ask` and `plan`.
#[derive(Args, Clone, Debug, Default, Serialize, Deserialize)]
pub struct PlanOptions {
    /// Sparsity pattern of J (m × n): the entries of a .mtx file, or the nonzeros of a
    /// .npy / .csv matrix, or a .json {"shape", "rows", "cols"} (0-based). Without it,
    /// every entry of J is unknown.
    #[arg(long, value_name = "FILE", help_heading = "Structure")]
    pub pattern: Option<PathBuf>,
    /// J is symmetric (a Hessian from a gradient); the pattern is made symmetric.
    #[arg(long, help_heading = "Structure")]
    pub symmetric: bool,
    /// Rows of J have at most S nonzeros at unknown places (sparse recovery).
    #[arg(long, value_name = "S", help_heading = "Structure")]
    pub row_sparsity: Option<usize>,
    /// Groups of tied entries J_ij = factor · z_group: .json, a list of groups of
    /// (i, j, factor) triples, or text lines "group i j factor" (factor optional, 0-based).
    #[arg(long, value_name = "FILE", help_heading = "Structure")]
    pub ties: Option<PathBuf>,
    /// Known entries of J: a .mtx file with values (1-based), a .json {"shape", "rows",
    /// "cols", "values"}, or text lines "i j value" (0-based).
    #[arg(long, value_name = "FILE", help_heading = "Structure")]
    pub known: Option<PathBuf>,
    /// Number of outputs m, when no pattern gives it (needed by `ask` and `plan`;
    /// `estimate` and `vjp` learn it from the answer at x0).
    #[arg(long, short = 'm', value_name = "M", help_heading = "Structure")]
    pub outputs: Option<usize>,

    /// Which directions to call.
    #[arg(long, value_enum, default_value_t, help_heading = "Design")]
    pub design: DesignName,
    /// Vertex ordering of colorings: natural, largest-first, smallest-last,
    /// incidence-degree, dynamic-largest-first (default: the best of all).
    #[arg(long, value_name = "NAME", help_heading = "Design")]
    pub ordering: Option<String>,
    /// Number of calls of a random, rademacher or rainbow design (including f(x0)).
    #[arg(long, value_name = "N", help_heading = "Design")]
    pub calls: Option<usize>,
    /// The most calls the plan may make.
    #[arg(long, value_name = "N", help_heading = "Design")]
    pub budget: Option<usize>,
    /// Which decoder solves the rows.
    #[arg(long, value_enum, default_value_t, help_heading = "Design")]
    pub decoder: DecoderName,
    /// Expected fraction of calls that are grossly wrong (0 to 0.35): L1 decoding.
    #[arg(long, value_name = "P", default_value_t = 0.0, help_heading = "Design")]
    pub outliers: f64,
    /// Expected noise level of the outputs, relative to max(1, |f|).
    #[arg(long, value_name = "SIGMA", default_value_t = 0.0, help_heading = "Design")]
    pub noise: f64,
    /// Relative error of a row of J that its conditioning may imply (κ times the
    /// finite-difference error of the step) before the row is reported ill-conditioned
    /// (exit code 5); rows with κ ≤ 100 never are.
    #[arg(long, value_name = "TOL", default_value_t = jacsense::DEFAULT_CONDITION_TOLERANCE, help_heading = "Design")]
    #[serde(default = "default_condition_tolerance")]
    pub condition_tolerance: f64,
    /// Relative step h0: h_c = h0 · max(1, |x0_c|) (default √ε, ∛ε central).
    #[arg(long, value_name = "H0", conflicts_with = "step_absolute", help_heading = "Design")]
    pub step: Option<f64>,
    /// The same absolute step for every input.
    #[arg(long, value_name = "H", help_heading = "Design")]
    pub step_absolute: Option<f64>,
    /// Central differences (2 calls per direction, error O(h²)).
    #[arg(long, help_heading = "Design")]
    pub central: bool,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0, help_heading = "Design")]
    pub seed: u64,
    /// Local search on the column coloring after greedy and recoloring (exact search
    /// at the lower bound, then tabu search): `auto` (a tenth of what the calls it can
    /// save cost, from --call-time or the call at x0 when estimate makes it first;
    /// without a call time 100000 + 2n moves), `off`, SECONDS (`2.5`) or N moves
    /// (`50000moves`).
    #[arg(long, value_name = "auto|off|SECONDS|Nmoves", help_heading = "Design")]
    #[serde(default)]
    pub coloring_search: Option<String>,
    /// Seconds one call of the program takes, for the `auto` coloring search budget
    /// (default: the wall time of the call at x0, the program's start included, which
    /// estimate makes before planning a colored design, as Python's jacobian and the
    /// library's jacobian_with do; ask/tell, which make no call, search 100000 + 2n
    /// moves).
    #[arg(long, value_name = "SECONDS", help_heading = "Design")]
    #[serde(default)]
    pub call_time: Option<f64>,
}

/// Parses `--coloring-search`: `auto`, `off`, SECONDS or N`moves`.
pub fn parse_coloring_search(text: &str) -> Result<ColoringSearch, Failure> {
    let t = text.trim();
    let bad = || {
        input_error!(
            "--coloring-search '{text}': expected auto, off, a number of seconds (2.5) or of moves (50000moves)"
        )
    };
    match t {
        "auto" => Ok(ColoringSearch::Auto),
        "off" => Ok(ColoringSearch::Off),
        _ => match t.strip_suffix("moves") {
            Some(m) => m.trim().parse::<u64>().map(ColoringSearch::Moves).map_err(|_| bad()),
            None => match t.trim_end_matches('s').parse::<f64>() {
                Ok(s) if s.is_finite() && s >= 0.0 => Ok(ColoringSearch::Seconds(s)),
                _ => Err(bad()),
            },
        },
    }
}

fn default_condition_tolerance() -> f64 {
    jacsense::DEFAULT_CONDITION_TOLERANCE
}

/// A group of tied entries `(i, j, factor)`: `J_ij = factor · z_group`.
pub type TiedGroup = Vec<(usize, usize, f64)>;

/// The structure as data: what a plan file stores so that `tell` rebuilds it without
/// the original files.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StructureSpec {
    /// Outputs.
    pub m: usize,
    /// Inputs.
    pub n: usize,
    /// The pattern's entries `(i, j)`, 0-based; `None` for a dense J.
    pub entries: Option<Vec<(usize, usize)>>,
    /// `J = Jᵀ`.
    pub symmetric: bool,
    /// At most this many nonzeros per row.
    pub row_sparsity: Option<usize>,
    /// Tied groups `(i, j, factor)`.
    pub ties: Vec<TiedGroup>,
    /// Known entries `(i, j, value)`.
    pub known: Vec<(usize, usize, f64)>,
}

impl StructureSpec {
    /// The library's structure.
    pub fn build(&self) -> Result<Structure, Failure> {
        let pattern = match &self.entries {
            Some(e) => Pattern::from_triplets(self.m, self.n, e)?,
            // Refused before allocating when m × n entries cannot be held.
            None => Pattern::try_dense(self.m, self.n)?,
        };
        let mut s = if self.symmetric { Structure::symmetric(pattern)? } else { Structure::sparse(pattern) };
        if let Some(k) = self.row_sparsity {
            s = s.with_row_sparsity(k);
        }
        if !self.ties.is_empty() || !self.known.is_empty() {
            let coupling = Coupling {
                symmetric: self.symmetric,
                ties: self.ties.clone(),
                known: self.known.clone(),
                ..Coupling::default()
            };
            s = s.with_coupling(coupling)?;
        }
        Ok(s)
    }
}

/// The files behind the structure options, read once.
#[derive(Clone, Debug, Default)]
pub struct Known {
    /// The pattern, when `--pattern` was given.
    pub pattern: Option<Pattern>,
    /// Tied groups.
    pub ties: Vec<TiedGroup>,
    /// Known entries.
    pub known: Vec<(usize, usize, f64)>,
}

impl PlanOptions {
    /// Reads the pattern, ties and known-entry files, and checks them against `n`.
    pub fn read_files(&self, n: usize) -> Result<Known, Failure> {
        let pattern = self.pattern.as_deref().map(crate::formats::read_pattern).transpose()?;
        if let (Some(p), Some(path)) = (&pattern, &self.pattern) {
            if p.ncols() != n {
                return Err(input_error!(
                    "the pattern {} is {}×{} (m × n) but x0 has n = {n} entries",
                    path.display(),
                    p.nrows(),
                    p.ncols()
                ));
            }
            if let Some(m) = self.outputs
                && m != p.nrows()
            {
                return Err(input_error!("--outputs {m} but the pattern {} has {} rows", path.display(), p.nrows()));
            }
        }
        let ties = self.ties.as_deref().map(read_ties).transpose()?.unwrap_or_default();
        let known = self.known.as_deref().map(read_known).transpose()?.unwrap_or_default();
        Ok(Known { pattern, ties, known })
    }

    /// `m` when the options tell it (a pattern or `--outputs`).
    pub fn known_m(&self, known: &Known) -> Option<usize> {
        known.pattern.as_ref().map(Pattern::nrows).or(self.outputs)
    }

    /// The structure spec for an `m × n` J.
    pub fn structure_spec(&self, known: &Known, n: usize, m: usize) -> Result<StructureSpec, Failure> {
        if let Some(p) = &known.pattern
            && p.nrows() != m
        {
            let path = self.pattern.as_deref().map_or_else(String::new, |p| p.display().to_string());
            return Err(input_error!(
                "the program answers m = {m} numbers, but the pattern {path} has {} rows",
                p.nrows()
            ));
        }
        Ok(StructureSpec {
            m,
            n,
            entries: known.pattern.as_ref().map(|p| p.entries().collect()),
            symmetric: self.symmetric,
            row_sparsity: self.row_sparsity,
            ties: known.ties.clone(),
            known: known.known.clone(),
        })
    }

    /// The library settings.
    pub fn settings(&self) -> Result<Settings, Failure> {
        let ordering = self.ordering.as_deref().map(str::parse::<Ordering>).transpose()?;
        let difference = if self.central { Difference::Central } else { Difference::Forward };
        let directions = match self.calls {
            None => None,
            Some(calls) => {
                if !matches!(self.design, DesignName::Random | DesignName::Rademacher | DesignName::Rainbow) {
                    return Err(input_error!(
                        "--calls {calls} needs --design random, rademacher or rainbow (the other designs fix their \
                         calls); to cap the planner, use --budget {calls}"
                    ));
                }
                let k = match difference {
                    Difference::Forward => calls.checked_sub(1).filter(|&k| k > 0),
                    Difference::Central => (calls % 2 == 0 && calls > 0).then_some(calls / 2),
                };
                Some(k.ok_or_else(|| {
                    input_error!(
                        "--calls {calls}: forward differences need at least 2 calls (f(x0) and one direction), \
                         central differences an even number"
                    )
                })?)
            }
        };
        let design = match self.design {
            DesignName::Auto => Design::Auto,
            DesignName::Coordinate => Design::Coordinate,
            DesignName::Colored => Design::Colored { ordering },
            DesignName::Star => Design::Star { ordering },
            DesignName::Random => Design::Random { distribution: RandomDistribution::Gaussian, directions },
            DesignName::Rademacher => Design::Random { distribution: RandomDistribution::Rademacher, directions },
            DesignName::Rainbow => Design::Rainbow { ordering, directions },
        };
        let decoder = match self.decoder {
            DecoderName::Auto => DecoderChoice::Auto,
            DecoderName::LeastSquares => DecoderChoice::LeastSquares,
            DecoderName::L1 => DecoderChoice::L1,
            DecoderName::Omp => DecoderChoice::Sparse(jacsense::SparseMethod::Omp),
            DecoderName::Bpdn => DecoderChoice::Sparse(jacsense::SparseMethod::BasisPursuitDenoising),
            DecoderName::Substitution => DecoderChoice::Substitution,
            DecoderName::RobustSparse => DecoderChoice::RobustSparse,
        };
        let step = match (self.step, self.step_absolute) {
            (Some(h), _) => Step::Relative(h),
            (None, Some(h)) => Step::Absolute(h),
            (None, None) => Step::Default,
        };
        Ok(Settings {
            design,
            decoder,
            difference,
            step,
            seed: self.seed,
            noise: self.noise,
            outliers: self.outliers,
            budget: self.budget,
            condition_tolerance: self.condition_tolerance,
            coloring_search: self.coloring_search.as_deref().map_or(Ok(ColoringSearch::Auto), parse_coloring_search)?,
            call_time: self.call_time,
            ..Settings::default()
        })
    }
}

fn read_text_rows(path: &Path, what: &str) -> Result<Vec<(usize, Vec<f64>)>, Failure> {
    let text =
        std::fs::read_to_string(path).map_err(|e| input_error!("cannot read {what} file {}: {e}", path.display()))?;
    let mut rows = Vec::new();
    for (lineno, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        if line.trim().is_empty() {
            continue;
        }
        let numbers = parse_numbers(line).map_err(|(_, tok)| {
            input_error!("{what} file {} line {}: '{tok}' is not a number", path.display(), lineno + 1)
        })?;
        rows.push((lineno + 1, numbers));
    }
    Ok(rows)
}

fn index(v: f64, path: &Path, line: usize, what: &str) -> Result<usize, Failure> {
    if v >= 0.0 && v.fract() == 0.0 && v < 1e15 {
        Ok(v as usize)
    } else {
        Err(input_error!("{what} file {} line {line}: {v} is not an index (0-based)", path.display()))
    }
}

/// Tied groups from a `--ties` file: JSON `[[[i, j, factor], ...], ...]`, or text
/// lines `group i j [factor]` (0-based; a group index only names its group).
pub fn read_ties(path: &Path) -> Result<Vec<TiedGroup>, Failure> {
    let shown = path.display();
    if Format::of(path) == Format::Json {
        let text = std::fs::read_to_string(path).map_err(|e| input_error!("cannot read ties file {shown}: {e}"))?;
        return serde_json::from_str(&text)
            .map_err(|e| input_error!("ties file {shown}: expected [[[i, j, factor], ...], ...] (0-based): {e}"));
    }
    // Group indices only name groups: a map keeps as many groups as the file has, not
    // as many as its largest index says (99999999999 used to size a Vec).
    let mut groups: BTreeMap<usize, TiedGroup> = BTreeMap::new();
    for (line, r) in read_text_rows(path, "ties")? {
        if r.len() != 3 && r.len() != 4 {
            return Err(input_error!(
                "ties file {shown} line {line}: expected 'group i j [factor]', found {} numbers",
                r.len()
            ));
        }
        let g = index(r[0], path, line, "ties")?;
        let factor = r.get(3).copied().unwrap_or(1.0);
        if !factor.is_finite() || factor == 0.0 {
            return Err(input_error!(
                "ties file {shown} line {line}: factor {factor} must be finite and nonzero (a known value is a --known entry)"
            ));
        }
        groups.entry(g).or_default().push((index(r[1], path, line, "ties")?, index(r[2], path, line, "ties")?, factor));
    }
    Ok(groups.into_values().collect())
}

/// Known entries `(i, j, value)` from a `--known` file: Matrix Market with values
/// (1-based), JSON `{"rows", "cols", "values"}`, or text lines `i j value` (0-based).
pub fn read_known(path: &Path) -> Result<Vec<(usize, usize, f64)>, Failure> {
    let shown = path.display();
    match Format::of(path) {
        Format::MatrixMarket => {
            let file = std::fs::File::open(path).map_err(|e| input_error!("cannot read known file {shown}: {e}"))?;
            let (p, values) = jacsense::read_matrix_market(std::io::BufReader::new(file))
                .map_err(|e| input_error!("known file {shown}: {e}"))?;
            let values = values.ok_or_else(|| input_error!("known file {shown}: a pattern file has no values"))?;
            Ok(p.entries().zip(values).map(|((i, j), v)| (i, j, v)).collect())
        }
        Format::Json => {
            let text =
                std::fs::read_to_string(path).map_err(|e| input_error!("cannot read known file {shown}: {e}"))?;
            #[derive(Deserialize)]
            struct Triplets {
                rows: Vec<usize>,
                cols: Vec<usize>,
                values: Vec<f64>,
            }
            let t: Triplets = serde_json::from_str(&text).map_err(|e| {
                input_error!(
                    "known file {shown}: expected {{\"rows\": [...], \"cols\": [...], \"values\": [...]}}: {e}"
                )
            })?;
            if t.rows.len() != t.cols.len() || t.rows.len() != t.values.len() {
                return Err(input_error!("known file {shown}: rows, cols and values differ in length"));
            }
            Ok(t.rows.into_iter().zip(t.cols).zip(t.values).map(|((i, j), v)| (i, j, v)).collect())
        }
        _ => read_text_rows(path, "known")?
            .into_iter()
            .map(|(line, r)| {
                if r.len() != 3 {
                    return Err(input_error!(
                        "known file {shown} line {line}: expected 'i j value', found {} numbers",
                        r.len()
                    ));
                }
                if !r[2].is_finite() {
                    return Err(input_error!("known file {shown} line {line}: value {} is not finite", r[2]));
                }
                Ok((index(r[0], path, line, "known")?, index(r[1], path, line, "known")?, r[2]))
            })
            .collect(),
    }
}

/// Settings as JSON for reports.
pub fn settings_json(s: &Settings) -> serde_json::Value {
    serde_json::json!({
        "design": s.design.name(),
        "decoder": s.decoder.name(),
        "difference": match s.difference { Difference::Forward => "forward", Difference::Central => "central" },
        "step": format!("{:?}", s.step),
        "seed": s.seed,
        "noise": json_number(s.noise),
        "outliers": json_number(s.outliers),
        "budget": s.budget,
        "condition_tolerance": json_number(s.condition_tolerance),
    })
}

/// How long a session may go on (`estimate`, `ask`/`tell`): its limits.
#[derive(Args, Clone, Debug, Default)]
pub struct SessionArgs {
    /// The most calls in all rounds (default: no limit beyond the session's own; told
    /// nothing, a dense J costs at most n + ⌈0.05 n⌉ + 3 calls). A session that reaches it
    /// stops and reports the rows left open.
    #[arg(long, value_name = "N", help_heading = "Session")]
    pub max_calls: Option<usize>,
    /// Add calls until the standard error of every entry of J is at most TOL (absolute, in
    /// the units of J); with --noise, the step follows the noise level.
    #[arg(long, value_name = "TOL", help_heading = "Session")]
    pub tol: Option<f64>,
}

impl SessionArgs {
    /// The library's session options, with `f(x0)` when it is known.
    pub fn options(&self, f0: Option<Vec<f64>>) -> jacsense::SessionOptions {
        jacsense::SessionOptions {
            point: jacsense::PlanOptions { f0, bounds: None },
            max_calls: self.max_calls,
            tol: self.tol,
            prior: None,
        }
    }
}
