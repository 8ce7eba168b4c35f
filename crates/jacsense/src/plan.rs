//! The plan: a design made concrete at a point `x0` — the calls to make, and for every
//! row of `J` which measurements see it.
//!
//! A plan is the "ask" half of ask/tell: [`Plan::calls`] says how many calls it needs
//! and [`Plan::point`] yields each point, so the blackbox can be evaluated anywhere (a
//! cluster, another process); [`Measurements`](crate::Measurements) takes the values
//! back in any order.

use crate::coloring::{
    Coloring, Ordering, StarColoring, best_column_coloring, best_star_coloring, color_columns, color_star,
};
use crate::design::{
    Design, Difference, Directions, Step, check_size, colored_directions, coordinate_directions, rainbow_directions,
    random_directions, steps,
};
use crate::error::{Error, Result};
use crate::planner::{self, DecoderChoice};
use crate::structure::{Coupling, Structure};

/// How to sense a Jacobian: design, decoder, difference scheme, step, seed, and what
/// to expect of the blackbox (noise, outliers) and of the cost (budget).
///
/// With the defaults (`Design::Auto`, `DecoderChoice::Auto`) the planner chooses; see
/// the [`planner`](mod@crate::planner) module.
///
/// ```
/// use jacsense::{Design, Difference, Settings};
/// let settings = Settings { design: Design::Coordinate, difference: Difference::Central, ..Settings::default() };
/// assert_eq!(settings.seed, 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    /// Which directions to call.
    pub design: Design,
    /// Which decoder solves the rows.
    pub decoder: DecoderChoice,
    /// Forward or central differences.
    pub difference: Difference,
    /// The per-coordinate step.
    pub step: Step,
    /// Seed of every random choice; the same seed gives the same bits.
    pub seed: u64,
    /// Expected noise level on the outputs, relative to `max(1, |f|)` (0: exact).
    pub noise: f64,
    /// Expected fraction of calls that are grossly wrong (0 to 0.35).
    pub outliers: f64,
    /// The most calls the plan may make.
    pub budget: Option<usize>,
}

/// Which measurements see each row, and where their values are stored.
#[derive(Clone, Debug)]
pub(crate) struct RowIndex {
    /// When true every row sees all `k` measurements and row `i`'s slot for
    /// measurement `t` is `i * k + t`; the vectors below are empty.
    pub(crate) all: bool,
    /// Row `i` sees measurements `meas[row_ptr[i]..row_ptr[i + 1]]` (sorted); its slot
    /// for the `p`-th of them is `row_ptr[i] + p`.
    pub(crate) row_ptr: Vec<usize>,
    pub(crate) meas: Vec<usize>,
    /// Measurement `t` is seen by rows `rows[meas_ptr[t]..meas_ptr[t + 1]]`, whose
    /// values go to the slots alongside.
    pub(crate) meas_ptr: Vec<usize>,
    pub(crate) rows: Vec<usize>,
    pub(crate) slots: Vec<usize>,
}

/// A design made concrete at `x0`: the calls to make and how to decode them.
///
/// ```
/// use jacsense::{Pattern, Plan, Settings, Structure};
/// let structure = Structure::sparse(Pattern::banded(6, 6, 1, 1));
/// let plan = Plan::new(&structure, &[1.0; 6], &Settings::default())?;
/// assert_eq!(plan.measurements(), 3); // three colors for a tridiagonal pattern
/// assert_eq!(plan.calls(), 4);        // plus f(x0)
/// let mut x = vec![0.0; 6];
/// plan.point(1, &mut x)?;             // x0 plus steps on the columns of color 0
/// # Ok::<(), jacsense::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Plan {
    structure: Structure,
    x0: Vec<f64>,
    steps: Vec<f64>,
    settings: Settings,
    coloring: Option<(Ordering, Coloring)>,
    star: Option<StarColoring>,
    directions: Directions,
    index: RowIndex,
}

impl Plan {
    /// Chooses the directions for `structure` at `x0`.
    ///
    /// Errors: `x0` of the wrong length or not finite, invalid steps, or a random design
    /// with fewer directions than `ρ_max`.
    pub fn new(structure: &Structure, x0: &[f64], settings: &Settings) -> Result<Plan> {
        let (n, _m) = structure.dims();
        if x0.len() != n {
            return Err(Error::DimensionMismatch { what: "x0 length", expected: n, found: x0.len() });
        }
        if let Some(index) = x0.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFiniteX0 { index, value: x0[index] });
        }
        let choice = planner::choose(structure, settings)?;
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
            (_, None) => best_column_coloring(pattern),
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
            Design::Random { distribution, directions } => {
                // Sparse recovery needs about 2s measurements for s-sparse rows, not ρ_max.
                let sparse = matches!(choice.decoder, DecoderChoice::Sparse(_));
                let rho = structure.lower_bound();
                let needed = match structure.row_sparsity() {
                    Some(s) if sparse => s.saturating_mul(2).min(rho),
                    _ if sparse => 1.min(rho),
                    _ => rho,
                };
                let k = directions.unwrap_or_else(|| match (structure.parametrization(), structure.row_sparsity()) {
                    (Some(param), _) => crate::decode::measurements_needed(param, settings.seed),
                    (None, Some(s)) if sparse => {
                        planner::sparse_directions(s, rho).min(rho + Design::RANDOM_OVERSAMPLING)
                    }
                    _ => Design::default_random_directions(*distribution, pattern.nrows(), rho),
                });
                if k < needed {
                    return Err(structure.too_few_calls(k, needed));
                }
                check_size(&choice.design, k, n, pattern.nrows(), settings.difference, settings.budget)?;
                random_directions(n, k, *distribution, settings.seed)
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
                let (ordering, c) = colors(ordering);
                check_size(&choice.design, k, c.num_colors(), pattern.nrows(), settings.difference, settings.budget)?;
                let d = rainbow_directions(&c, k, settings.seed);
                coloring = Some((ordering, c));
                d
            }
        };
        let redundancy = match directions {
            Directions::Grouped { .. } => 1.0,
            _ => directions.len() as f64 / structure.lower_bound().max(1) as f64,
        };
        let steps = steps(&choice.step, settings.difference, x0, redundancy)?;
        let index = row_index(structure, &directions);
        let calls = match settings.difference {
            Difference::Forward => directions.len() + 1,
            Difference::Central => 2 * directions.len(),
        };
        if let Some(budget) = settings.budget
            && calls > budget
        {
            return Err(Error::OverBudget { calls, budget, design: choice.design.name() });
        }
        let settings =
            Settings { design: choice.design, decoder: choice.decoder, step: choice.step, ..settings.clone() };
        Ok(Plan { structure: structure.clone(), x0: x0.to_vec(), steps, settings, coloring, star, directions, index })
    }

    /// Number of measurements (directions) `k`.
    pub fn measurements(&self) -> usize {
        self.directions.len()
    }

    /// Number of calls of the blackbox: `k + 1` for forward differences (the `+1` is
    /// `f(x0)`, call 0), `2k` for central differences.
    pub fn calls(&self) -> usize {
        match self.settings.difference {
            Difference::Forward => self.measurements() + 1,
            Difference::Central => 2 * self.measurements(),
        }
    }

    /// Writes the point of call `call` into `x`.
    ///
    /// Forward differences: call 0 is `x0`, call `t + 1` is `x0 + H d_t`. Central:
    /// call `2t` is `x0 + H d_t`, call `2t + 1` is `x0 − H d_t`.
    pub fn point(&self, call: usize, x: &mut [f64]) -> Result<()> {
        if call >= self.calls() {
            return Err(Error::UnknownCall { index: call, calls: self.calls() });
        }
        if x.len() != self.x0.len() {
            return Err(Error::DimensionMismatch {
                what: "point buffer length",
                expected: self.x0.len(),
                found: x.len(),
            });
        }
        x.copy_from_slice(&self.x0);
        let (t, sign) = match self.settings.difference {
            Difference::Forward if call == 0 => return Ok(()),
            Difference::Forward => (call - 1, 1.0),
            Difference::Central => (call / 2, if call.is_multiple_of(2) { 1.0 } else { -1.0 }),
        };
        self.directions.for_each_in_direction(t, |c, coef| x[c] = self.x0[c] + sign * self.steps[c] * coef);
        Ok(())
    }

    /// All points, one `Vec` per call, in call order.
    pub fn points(&self) -> Vec<Vec<f64>> {
        (0..self.calls())
            .map(|j| {
                let mut x = vec![0.0; self.x0.len()];
                self.point(j, &mut x).expect("call index and buffer are in range");
                x
            })
            .collect()
    }

    /// The structure the plan was made for.
    pub fn structure(&self) -> &Structure {
        &self.structure
    }

    /// The point of linearization.
    pub fn x0(&self) -> &[f64] {
        &self.x0
    }

    /// The per-coordinate steps `h_c`.
    pub fn steps(&self) -> &[f64] {
        &self.steps
    }

    /// The settings the plan was made with, as the planner resolved them: `design`,
    /// `decoder` and `step` are concrete.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The lower bound on measurements for row-wise decoding, `ρ_max`, to set beside
    /// [`Plan::measurements`]: the planner says both before any call.
    ///
    /// ```
    /// use jacsense::problems::random_pattern;
    /// use jacsense::{DecoderChoice, Plan, Settings, Structure};
    /// let structure = Structure::sparse(random_pattern(200, 200, 6, 1));
    /// let settings = Settings { outliers: 0.1, ..Settings::default() };
    /// let plan = Plan::new(&structure, &vec![0.0; 200], &settings)?;
    /// assert_eq!(plan.lower_bound(), 6);
    /// assert_eq!((plan.settings().design.name(), plan.settings().decoder), ("rainbow", DecoderChoice::L1));
    /// assert_eq!(plan.calls(), 27); // ⌈6 · 1.2 / 0.3⌉ + 2 directions, plus f(x0)
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn lower_bound(&self) -> usize {
        self.structure.lower_bound()
    }

    /// The decoder the plan was made for.
    pub fn decoder(&self) -> Box<dyn crate::decode::Decoder> {
        self.settings.decoder.decoder()
    }

    /// The column coloring of a colored design, with the ordering that produced it.
    pub fn coloring(&self) -> Option<(Ordering, &Coloring)> {
        self.coloring.as_ref().map(|(o, c)| (*o, c))
    }

    /// The star coloring of a star-colored design.
    pub fn star_coloring(&self) -> Option<&StarColoring> {
        self.star.as_ref()
    }

    pub(crate) fn directions(&self) -> &Directions {
        &self.directions
    }

    pub(crate) fn index(&self) -> &RowIndex {
        &self.index
    }

    /// The calls that measurement `t` combines: `(plus, minus)` where `minus` is `None`
    /// for forward differences (whose other call is `f(x0)`, call 0).
    pub(crate) fn calls_of(&self, t: usize) -> (usize, Option<usize>) {
        match self.settings.difference {
            Difference::Forward => (t + 1, None),
            Difference::Central => (2 * t, Some(2 * t + 1)),
        }
    }

    /// The measurement and side (`true` for plus) of call `call`; `None` for `f(x0)`.
    pub(crate) fn measurement_of(&self, call: usize) -> Option<(usize, bool)> {
        match self.settings.difference {
            Difference::Forward => call.checked_sub(1).map(|t| (t, true)),
            Difference::Central => Some((call / 2, call.is_multiple_of(2))),
        }
    }

    /// The coefficient of coordinate `c` in the *effective* scaled direction of a
    /// measurement whose nominal coefficient is `coef`: the perturbation actually made
    /// in floating point, divided by `h_c`. Using it instead of `coef` removes the
    /// rounding of `x0 + h d` from the measurement model.
    pub(crate) fn effective_coefficient(&self, c: usize, coef: f64) -> f64 {
        self.settings.difference.effective_coefficient(self.x0[c], self.steps[c], coef)
    }
}

fn row_index(structure: &Structure, directions: &Directions) -> RowIndex {
    let pattern = structure.pattern();
    let k = directions.len();
    if let Directions::Dense { .. } | Directions::Rainbow { .. } = directions {
        return RowIndex {
            all: true,
            row_ptr: Vec::new(),
            meas: Vec::new(),
            meas_ptr: Vec::new(),
            rows: Vec::new(),
            slots: Vec::new(),
        };
    }
    let mut row_ptr = Vec::with_capacity(pattern.nrows() + 1);
    let mut meas = Vec::with_capacity(pattern.nnz());
    row_ptr.push(0);
    let mut seen = vec![usize::MAX; k];
    for i in 0..pattern.nrows() {
        let start = meas.len();
        for &c in pattern.row(i) {
            directions.for_each_in_coordinate(c, |t, _| {
                if seen[t] != i {
                    seen[t] = i;
                    meas.push(t);
                }
            });
        }
        meas[start..].sort_unstable();
        row_ptr.push(meas.len());
    }
    let mut meas_ptr = vec![0usize; k + 1];
    for &t in &meas {
        meas_ptr[t + 1] += 1;
    }
    for t in 0..k {
        meas_ptr[t + 1] += meas_ptr[t];
    }
    let mut next = meas_ptr.clone();
    let mut rows = vec![0usize; meas.len()];
    let mut slots = vec![0usize; meas.len()];
    for i in 0..pattern.nrows() {
        for (slot, &t) in meas.iter().enumerate().take(row_ptr[i + 1]).skip(row_ptr[i]) {
            rows[next[t]] = i;
            slots[next[t]] = slot;
            next[t] += 1;
        }
    }
    RowIndex { all: false, row_ptr, meas, meas_ptr, rows, slots }
}

impl RowIndex {
    /// Total number of stored measurement values.
    pub(crate) fn num_slots(&self, m: usize, k: usize) -> usize {
        if self.all { m * k } else { self.meas.len() }
    }
}
