//! Schemes and plans: how to sense `J` (for any point), and the calls at one point.
//!
//! A [`Scheme`] is made once from a [`Structure`] and [`Settings`] by the planner
//! ([`Scheme::new`]): the design (its directions and colorings), the decoder and the
//! step rule, but no point. [`Scheme::at`] makes it concrete at `x0`: a [`Plan`], whose
//! steps are scaled to `x0` (and kept inside [`Bounds`], when given) and which knows
//! `f(x0)` when the caller passes it ([`PlanOptions::f0`]), saving that call. One
//! scheme serves any number of points: a Newton loop, a trajectory, every sample of a
//! training batch.
//!
//! A plan is the "ask" half of ask/tell: [`Plan::calls`] says how many calls it needs
//! and [`Plan::point`] yields each point, so the blackbox can be evaluated anywhere (a
//! cluster, another process); [`Measurements`](crate::Measurements) takes the values
//! back in any order.

pub(crate) mod save;

pub use save::SAVED_FORMAT_VERSION;

use std::sync::Arc;

use crate::coloring::{Coloring, Ordering, StarColoring};
use crate::design::{Difference, Directions, steps};
use crate::error::{Error, Result};
use crate::projection::Projection;
use crate::settings::Settings;
use crate::structure::Structure;

/// Most directions a scheme may have: the row index stores measurement numbers as `u32`.
pub(crate) const MAX_DIRECTIONS: usize = u32::MAX as usize;

/// Refuses more than [`MAX_DIRECTIONS`] directions.
pub(crate) fn check_directions_count(k: usize) -> Result<()> {
    if k > MAX_DIRECTIONS {
        return Err(Error::OverLimit { what: "directions".into(), size: k as u128, limit: MAX_DIRECTIONS });
    }
    Ok(())
}

/// Which measurements see each row, and where their values are stored.
#[derive(Clone, Debug)]
pub(crate) struct RowIndex {
    /// When true every row sees all `k` measurements and row `i`'s slot for
    /// measurement `t` is `i * k + t`; the vectors below are empty.
    pub(crate) all: bool,
    /// Row `i` sees measurements `meas[row_ptr[i]..row_ptr[i + 1]]` (sorted); its slot
    /// for the `p`-th of them is `row_ptr[i] + p`. (Measurements and rows are stored as
    /// `u32`, 4 bytes per entry of `J` each: [`MAX_DIRECTIONS`] and
    /// [`MAX_DIMENSION`](crate::MAX_DIMENSION) keep them in range.)
    pub(crate) row_ptr: Vec<usize>,
    pub(crate) meas: Vec<u32>,
    /// Measurement `t` is seen by rows `rows[meas_ptr[t]..meas_ptr[t + 1]]` (their
    /// slots are found in `meas`: [`RowIndex::slot`]).
    pub(crate) meas_ptr: Vec<usize>,
    pub(crate) rows: Vec<u32>,
}

/// How to sense `J` for a structure, at any point: the planner's decisions (design,
/// directions, colorings, decoder, step rule), made once.
///
/// Cloning is cheap (the scheme is shared), and so is [`Scheme::at`]: the colorings
/// and directions are not recomputed.
///
/// ```
/// use jacsense::{Pattern, Scheme, Settings, Structure};
/// let scheme = Scheme::new(&Structure::sparse(Pattern::banded(6, 6, 1, 1)), &Settings::default())?;
/// assert_eq!(scheme.measurements(), 3); // three colors for a tridiagonal pattern
/// for x0 in [[0.0; 6], [1.0; 6]] {
///     let plan = scheme.at(&x0)?;
///     assert_eq!(plan.calls(), 4); // f(x0) and one call per color
/// }
/// # Ok::<(), jacsense::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Scheme {
    inner: Arc<SchemeParts>,
}

#[derive(Debug)]
struct SchemeParts {
    structure: Structure,
    settings: Settings,
    coloring: Option<(Ordering, Coloring)>,
    star: Option<StarColoring>,
    directions: Directions,
    index: RowIndex,
    /// Measurements per unknown of the fullest row (1 for read-off designs): steps for
    /// noisy blackboxes shrink with it.
    redundancy: f64,
    /// When the structure is that of `VᵀJ` (the direct route of `vᵀJ`): the projection
    /// applied to every value told.
    projection: Option<Projection>,
}

impl Scheme {
    /// A scheme from the planner's resolved decisions: `settings` has a concrete design,
    /// decoder and step; the directions are those of the design.
    pub(crate) fn from_parts(
        structure: Structure,
        settings: Settings,
        coloring: Option<(Ordering, Coloring)>,
        star: Option<StarColoring>,
        directions: Directions,
    ) -> Scheme {
        // Redundancy shrinks a noise step only where the truncation error is a bias
        // that averaging keeps: grouped directions are measured once each, and along
        // random (sign-symmetric) directions the forward difference's curvature term
        // `½h²·dᵀ∇²f d` is even in `d`, uncorrelated with it, and averages down with
        // the noise (the central difference's cubic term is odd: a bias).
        let redundancy = match directions {
            Directions::Grouped { .. } => 1.0,
            _ if settings.difference == Difference::Forward => 1.0,
            _ => directions.len() as f64 / structure.lower_bound().max(1) as f64,
        };
        let index = row_index(&structure, &directions, star.is_some());
        let projection = None;
        Scheme {
            inner: Arc::new(SchemeParts {
                structure,
                settings,
                coloring,
                star,
                directions,
                index,
                redundancy,
                projection,
            }),
        }
    }

    /// The scheme with values projected when told: its structure is that of `VᵀJ`.
    pub(crate) fn with_projection(mut self, projection: Projection) -> Scheme {
        Arc::get_mut(&mut self.inner).expect("a scheme being made is not shared").projection = Some(projection);
        self
    }

    /// The projection applied to told values, when the structure is that of `VᵀJ`.
    pub(crate) fn projection(&self) -> Option<&Projection> {
        self.inner.projection.as_ref()
    }

    /// Outputs `m` of the blackbox the calls go to: the structure's rows, or the length
    /// of the projection's upstream vectors.
    pub(crate) fn outputs(&self) -> usize {
        self.projection().map_or(self.structure().dims().1, Projection::outputs)
    }

    /// Checks that a blackbox with `n` inputs and `m` outputs fits the scheme.
    pub(crate) fn check_blackbox(&self, n: usize, m: usize) -> Result<()> {
        match self.projection() {
            None => self.structure().check_dims(n, m),
            Some(p) => {
                self.structure().check_dims(n, self.structure().dims().1)?;
                if p.outputs() != m {
                    return Err(Error::DimensionMismatch {
                        what: "upstream vectors' length (blackbox outputs m)",
                        expected: m,
                        found: p.outputs(),
                    });
                }
                Ok(())
            }
        }
    }

    /// The plan at `x0`.
    ///
    /// Errors: `x0` of the wrong length or not finite, or invalid steps.
    pub fn at(&self, x0: &[f64]) -> Result<Plan> {
        self.at_with(x0, &PlanOptions::default())
    }

    /// The plan at `x0`, with a known `f(x0)` or bounds on the inputs.
    ///
    /// ```
    /// use jacsense::{Bounds, Pattern, PlanOptions, Scheme, Settings, Structure};
    /// let scheme = Scheme::new(&Structure::sparse(Pattern::banded(3, 3, 0, 0)), &Settings::default())?;
    /// // f(x) = √x is undefined below 0: x0 = 0 lies on the bound, the step goes up.
    /// let options = PlanOptions { f0: Some(vec![0.0, 1.0, 2.0f64.sqrt()]), bounds: Some(Bounds::new(vec![0.0; 3], vec![f64::INFINITY; 3])?) };
    /// let plan = scheme.at_with(&[0.0, 1.0, 2.0], &options)?;
    /// assert_eq!(plan.calls(), 1); // f(x0) was given: one call for the one color
    /// let mut x = [0.0; 3];
    /// plan.point(0, &mut x)?;
    /// assert!(x[0] > 0.0);
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn at_with(&self, x0: &[f64], options: &PlanOptions) -> Result<Plan> {
        check_x0(x0, self.structure().dims().0)?;
        if let Some(f0) = &options.f0 {
            check_f0(f0, self.outputs())?;
        }
        let settings = self.settings();
        if let Some(bounds) = &options.bounds {
            bounds.check_point(x0, settings.difference)?;
        }
        let steps = steps(&settings.step, settings.difference, x0, self.inner.redundancy)?;
        let f0 = match settings.difference {
            Difference::Forward => options.f0.clone(),
            Difference::Central => None,
        };
        Ok(Plan { scheme: self.clone(), x0: x0.to_vec(), steps, f0, bounds: options.bounds.clone() })
    }

    /// The structure the scheme was made for.
    pub fn structure(&self) -> &Structure {
        &self.inner.structure
    }

    /// The settings as the planner resolved them: `design`, `decoder` and `step` are
    /// concrete.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Number of measurements (directions) `k`.
    pub fn measurements(&self) -> usize {
        self.inner.directions.len()
    }

    /// Calls of a plan that is not given `f(x0)`: `k + 1` for forward differences,
    /// `2k` for central differences.
    pub fn calls(&self) -> usize {
        match self.settings().difference {
            Difference::Forward => self.measurements() + 1,
            Difference::Central => 2 * self.measurements(),
        }
    }

    /// The lower bound on measurements for row-wise decoding, `ρ_max`, to set beside
    /// [`Scheme::measurements`]: the planner says both before any call.
    ///
    /// ```
    /// use jacsense_problems::random_pattern;
    /// use jacsense::{DecoderChoice, Scheme, Settings, Structure};
    /// let structure = Structure::sparse(random_pattern(200, 200, 6, 1));
    /// let scheme = Scheme::new(&structure, &Settings { outliers: 0.1, ..Settings::default() })?;
    /// assert_eq!(scheme.lower_bound(), 6);
    /// assert_eq!((scheme.settings().design.name(), scheme.settings().decoder), ("rainbow", DecoderChoice::L1));
    /// assert_eq!(scheme.calls(), 27); // ⌈6 · 1.2 / 0.3⌉ + 2 directions, plus f(x0)
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn lower_bound(&self) -> usize {
        self.structure().lower_bound()
    }

    /// The column coloring of a colored, star-colored or rainbow design, with the
    /// ordering that produced it (`None` for a coloring the user gave).
    pub fn coloring(&self) -> Option<(Ordering, &Coloring)> {
        self.inner.coloring.as_ref().map(|(o, c)| (*o, c))
    }

    /// The star coloring of a star-colored design.
    pub fn star_coloring(&self) -> Option<&StarColoring> {
        self.inner.star.as_ref()
    }

    pub(crate) fn directions(&self) -> &Directions {
        &self.inner.directions
    }

    pub(crate) fn index(&self) -> &RowIndex {
        &self.inner.index
    }
}

/// Checks a point of linearization for `n` inputs: its length, every coordinate finite.
pub(crate) fn check_x0(x0: &[f64], n: usize) -> Result<()> {
    if x0.len() != n {
        return Err(Error::DimensionMismatch { what: "x0 length", expected: n, found: x0.len() });
    }
    match x0.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFiniteX0 { index, value: x0[index] }),
        None => Ok(()),
    }
}

/// Checks a known `f(x0)` for a blackbox with `m` outputs: its length, every value finite.
pub(crate) fn check_f0(f0: &[f64], m: usize) -> Result<()> {
    if f0.len() != m {
        return Err(Error::DimensionMismatch { what: "f0 length (outputs m)", expected: m, found: f0.len() });
    }
    match f0.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(Error::InvalidSetting {
            name: "f0",
            value: format!("f0[{i}] = {}", f0[i]),
            reason: "a known f(x0) must be finite",
        }),
        None => Ok(()),
    }
}

/// What is known at a point beyond `x0` itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanOptions {
    /// `f(x0)`, when the caller has it (SciPy's `f0`): forward differences then make no
    /// call at `x0`. Ignored by central differences, which do not use it.
    pub f0: Option<Vec<f64>>,
    /// Bounds on the inputs: no call leaves them.
    pub bounds: Option<Bounds>,
}

/// Per-input lower and upper limits (infinite for none), as SciPy's
/// `approx_derivative(bounds=...)`: a step that would leave the box goes to the other
/// side of `x0` (forward differences) or shrinks to fit (central differences, and
/// forward ones with no room on either side), so a blackbox undefined outside its
/// domain is never called there.
///
/// ```
/// use jacsense::Bounds;
/// assert!(Bounds::new(vec![0.0, -1.0], vec![1.0, f64::INFINITY]).is_ok());
/// assert!(Bounds::new(vec![2.0], vec![1.0]).is_err()); // lower above upper
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Bounds {
    lower: Vec<f64>,
    upper: Vec<f64>,
}

impl Bounds {
    /// Bounds from per-input limits; `lower[c] < upper[c]`, neither NaN.
    pub fn new(lower: Vec<f64>, upper: Vec<f64>) -> Result<Bounds> {
        if lower.len() != upper.len() {
            return Err(Error::DimensionMismatch {
                what: "upper bounds length",
                expected: lower.len(),
                found: upper.len(),
            });
        }
        for (c, (&lo, &hi)) in lower.iter().zip(&upper).enumerate() {
            if lo.is_nan() || hi.is_nan() || lo >= hi {
                return Err(Error::InvalidSetting {
                    name: "bounds",
                    value: format!("input {c}: [{lo}, {hi}]"),
                    reason: "every input needs lower < upper (an input fixed by its bounds has no derivative to sense)",
                });
            }
        }
        Ok(Bounds { lower, upper })
    }

    /// The lower limits.
    pub fn lower(&self) -> &[f64] {
        &self.lower
    }

    /// The upper limits.
    pub fn upper(&self) -> &[f64] {
        &self.upper
    }

    fn check_point(&self, x0: &[f64], difference: Difference) -> Result<()> {
        if self.lower.len() != x0.len() {
            return Err(Error::DimensionMismatch {
                what: "bounds length",
                expected: x0.len(),
                found: self.lower.len(),
            });
        }
        for (c, &x) in x0.iter().enumerate() {
            let (lo, hi) = (self.lower[c], self.upper[c]);
            if !(lo..=hi).contains(&x) {
                return Err(Error::InvalidSetting {
                    name: "x0",
                    value: format!("x0[{c}] = {x}"),
                    reason: "x0 lies outside its bounds",
                });
            }
            if difference == Difference::Central && (x == lo || x == hi) {
                return Err(Error::InvalidSetting {
                    name: "difference",
                    value: format!("central, x0[{c}] = {x} on its bound"),
                    reason: "central differences step both ways: use forward differences at a bound",
                });
            }
        }
        Ok(())
    }

    /// The perturbation made instead of `delta` at coordinate `c` of `x`, inside the box.
    fn fit(&self, c: usize, x: f64, delta: f64, difference: Difference) -> f64 {
        let (up, down) = (self.upper[c] - x, x - self.lower[c]);
        let inside = |d: f64| (self.lower[c]..=self.upper[c]).contains(&(x + d));
        match difference {
            Difference::Forward if inside(delta) => delta,
            Difference::Forward if inside(-delta) => -delta,
            Difference::Forward if up >= down => up.min(delta.abs()),
            Difference::Forward => -down.min(delta.abs()),
            Difference::Central => {
                let room = up.min(down);
                if delta.abs() <= room && inside(delta) && inside(-delta) { delta } else { room.copysign(delta) }
            }
        }
    }
}

/// A scheme made concrete at `x0`: the calls to make and how to decode them.
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
    scheme: Scheme,
    x0: Vec<f64>,
    steps: Vec<f64>,
    /// `f(x0)` given by the caller (forward differences only).
    f0: Option<Vec<f64>>,
    bounds: Option<Bounds>,
}

impl Plan {
    /// The scheme this plan is made of.
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// Number of measurements (directions) `k`.
    pub fn measurements(&self) -> usize {
        self.scheme.measurements()
    }

    /// Number of calls of the blackbox: `k + 1` for forward differences (the `+1` is
    /// `f(x0)`, call 0, unless it was given), `2k` for central differences.
    pub fn calls(&self) -> usize {
        match self.settings().difference {
            Difference::Forward => self.measurements() + usize::from(self.calls_f0()),
            Difference::Central => 2 * self.measurements(),
        }
    }

    /// Whether call 0 is `f(x0)`: forward differences without a given `f(x0)`.
    pub(crate) fn calls_f0(&self) -> bool {
        self.settings().difference == Difference::Forward && self.f0.is_none()
    }

    /// Writes the point of call `call` into `x`.
    ///
    /// Forward differences: call 0 is `x0` (unless `f(x0)` was given: then calls are
    /// numbered from the first direction), the next ones are `x0 + H d_t`. Central:
    /// call `2t` is `x0 + H d_t`, call `2t + 1` is `x0 − H d_t`. With bounds, a
    /// coordinate's step may flip side or shrink ([`Bounds`]).
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
        let Some((t, plus)) = self.measurement_of(call) else { return Ok(()) };
        let sign = if plus { 1.0 } else { -1.0 };
        self.directions().for_each_in_direction(t, |c, coef| x[c] = self.x0[c] + sign * self.perturbation(c, coef));
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
        self.scheme.structure()
    }

    /// The point of linearization.
    pub fn x0(&self) -> &[f64] {
        &self.x0
    }

    /// `f(x0)` when the caller gave it ([`PlanOptions::f0`]).
    pub fn given_f0(&self) -> Option<&[f64]> {
        self.f0.as_deref()
    }

    /// The bounds on the inputs, when given.
    pub fn bounds(&self) -> Option<&Bounds> {
        self.bounds.as_ref()
    }

    /// The per-coordinate steps `h_c`.
    pub fn steps(&self) -> &[f64] {
        &self.steps
    }

    /// The settings the plan was made with, as the planner resolved them: `design`,
    /// `decoder` and `step` are concrete.
    pub fn settings(&self) -> &Settings {
        self.scheme.settings()
    }

    /// The lower bound on measurements for row-wise decoding, `ρ_max`
    /// ([`Scheme::lower_bound`]).
    pub fn lower_bound(&self) -> usize {
        self.scheme.lower_bound()
    }

    /// The column coloring of the design, with the ordering that produced it.
    pub fn coloring(&self) -> Option<(Ordering, &Coloring)> {
        self.scheme.coloring()
    }

    /// The star coloring of a star-colored design.
    pub fn star_coloring(&self) -> Option<&StarColoring> {
        self.scheme.star_coloring()
    }

    pub(crate) fn directions(&self) -> &Directions {
        self.scheme.directions()
    }

    pub(crate) fn index(&self) -> &RowIndex {
        self.scheme.index()
    }

    /// The calls that measurement `t` combines: `(plus, minus)` where `minus` is `None`
    /// for forward differences (whose other value is `f(x0)`).
    pub(crate) fn calls_of(&self, t: usize) -> (usize, Option<usize>) {
        match self.settings().difference {
            Difference::Forward => (t + usize::from(self.calls_f0()), None),
            Difference::Central => (2 * t, Some(2 * t + 1)),
        }
    }

    /// The measurement and side (`true` for plus) of call `call`; `None` for `f(x0)`.
    pub(crate) fn measurement_of(&self, call: usize) -> Option<(usize, bool)> {
        match self.settings().difference {
            Difference::Forward if self.calls_f0() => call.checked_sub(1).map(|t| (t, true)),
            Difference::Forward => Some((call, true)),
            Difference::Central => Some((call / 2, call.is_multiple_of(2))),
        }
    }

    /// The perturbation of coordinate `c` (plus side) for nominal coefficient `coef`:
    /// `h_c · coef`, flipped or shrunk to stay inside the bounds.
    fn perturbation(&self, c: usize, coef: f64) -> f64 {
        let delta = self.steps[c] * coef;
        match &self.bounds {
            None => delta,
            Some(b) => b.fit(c, self.x0[c], delta, self.settings().difference),
        }
    }

    /// The coefficient of coordinate `c` in the *effective* scaled direction of a
    /// measurement whose nominal coefficient is `coef`: the perturbation actually made
    /// in floating point, divided by `h_c`. Using it instead of `coef` removes the
    /// rounding of `x0 + h d` (and the flips and shrinking of bounds) from the
    /// measurement model.
    pub(crate) fn effective_coefficient(&self, c: usize, coef: f64) -> f64 {
        let (x, h) = (self.x0[c], self.steps[c]);
        let delta = self.perturbation(c, coef);
        match self.settings().difference {
            Difference::Forward => ((x + delta) - x) / h,
            Difference::Central => ((x + delta) - (x - delta)) / (2.0 * h),
        }
    }
}

fn row_index(structure: &Structure, directions: &Directions, star: bool) -> RowIndex {
    let pattern = structure.pattern();
    let k = directions.len();
    // Without an index when every row sees every direction (not for a star design,
    // whose read-off looks entries up through the index).
    if directions.seen_whole_by(pattern) && !star {
        return RowIndex { all: true, row_ptr: Vec::new(), meas: Vec::new(), meas_ptr: Vec::new(), rows: Vec::new() };
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
                    meas.push(t as u32);
                }
            });
        }
        meas[start..].sort_unstable();
        row_ptr.push(meas.len());
    }
    let mut meas_ptr = vec![0usize; k + 1];
    for &t in &meas {
        meas_ptr[t as usize + 1] += 1;
    }
    for t in 0..k {
        meas_ptr[t + 1] += meas_ptr[t];
    }
    let mut next = meas_ptr.clone();
    let mut rows = vec![0u32; meas.len()];
    for i in 0..pattern.nrows() {
        for &t in &meas[row_ptr[i]..row_ptr[i + 1]] {
            rows[next[t as usize]] = i as u32;
            next[t as usize] += 1;
        }
    }
    RowIndex { all: false, row_ptr, meas, meas_ptr, rows }
}

impl RowIndex {
    /// The slot of row `i`'s value of measurement `t`, which the row sees (no index:
    /// `i · k + t`). Found by bisection in the row's few measurements rather than
    /// stored beside `rows` (a slot per entry of `J`, 8 bytes per nonzero).
    pub(crate) fn slot(&self, i: usize, t: usize, k: usize) -> usize {
        if self.all {
            return i * k + t;
        }
        self.row_ptr[i] + self.position(i, t).expect("the row sees the measurement")
    }

    /// Where measurement `t` is among those row `i` sees (an index), if it is.
    pub(crate) fn position(&self, i: usize, t: usize) -> Option<usize> {
        let seen = &self.meas[self.row_ptr[i]..self.row_ptr[i + 1]];
        u32::try_from(t).ok().and_then(|t| seen.binary_search(&t).ok())
    }

    /// The measurements row `i` sees, ascending (`0..k` without an index).
    pub(crate) fn seen(&self, i: usize, k: usize) -> Vec<usize> {
        if self.all {
            (0..k).collect()
        } else {
            self.meas[self.row_ptr[i]..self.row_ptr[i + 1]].iter().map(|&t| t as usize).collect()
        }
    }

    /// How many measurements row `i` sees (`k` without an index).
    pub(crate) fn seen_count(&self, i: usize, k: usize) -> usize {
        if self.all { k } else { self.row_ptr[i + 1] - self.row_ptr[i] }
    }

    /// The rows that see measurement `t` (with an index).
    pub(crate) fn rows_of(&self, t: usize) -> impl Iterator<Item = usize> + '_ {
        self.rows[self.meas_ptr[t]..self.meas_ptr[t + 1]].iter().map(|&i| i as usize)
    }

    /// Total number of stored measurement values.
    pub(crate) fn num_slots(&self, m: usize, k: usize) -> usize {
        if self.all { m * k } else { self.meas.len() }
    }
}
