//! Measurements: the values of the calls of a [`Plan`], told back in any order.
//!
//! Only the outputs that some row's decode needs are kept: for a coordinate or colored
//! design that is one value per allowed entry of `J`, not `m` per call.

use crate::blackbox::{Erasure, ErasureReason, first_non_finite};
use crate::error::{Error, Result};
use crate::plan::Plan;

/// What is known of one call.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum CallState {
    Pending,
    Told,
    Erased(ErasureReason),
}

/// Values of a plan's calls, told in any order; calls never told are erasures.
///
/// ```
/// use jacsense::{from_fn, Measurements, Pattern, Plan, Settings, Structure};
/// // f(x) = (2 x0, 3 x1): a diagonal Jacobian, one color.
/// let structure = Structure::sparse(Pattern::banded(2, 2, 0, 0));
/// let plan = Plan::new(&structure, &[1.0, 1.0], &Settings::default())?;
/// let mut measurements = Measurements::new(&plan)?;
/// let mut x = vec![0.0; 2];
/// for call in (0..plan.calls()).rev() {          // any order
///     plan.point(call, &mut x)?;
///     measurements.tell(call, &[2.0 * x[0], 3.0 * x[1]])?;
/// }
/// let estimate = measurements.decode();
/// assert!((estimate.jacobian().get(1, 1) - 3.0).abs() < 1e-7);
/// # Ok::<(), jacsense::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Measurements<'p> {
    plan: &'p Plan,
    /// f(x0) for forward differences.
    pub(crate) base: Vec<f64>,
    /// One value per slot (forward) or two, plus then minus (central).
    pub(crate) values: Vec<f64>,
    pub(crate) state: Vec<CallState>,
}

impl<'p> Measurements<'p> {
    /// Empty measurements for `plan`: every call pending.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the measurements and their decode would not fit in
    /// memory (a dense `J` stores `m × n` values), before anything is allocated.
    ///
    /// ```
    /// use jacsense::{Error, Measurements, Plan, Settings, Structure};
    /// // Nothing known about a 10⁶ × 10⁶ J: planning is cheap, storing 10¹² values is not.
    /// let n = 1_000_000;
    /// let plan = Plan::new(&Structure::dense(n, n), &vec![0.0; n], &Settings::default())?;
    /// let err = Measurements::new(&plan).unwrap_err();
    /// assert!(matches!(err, Error::TooLarge { m: 1_000_000, n: 1_000_000, .. }));
    /// assert!(err.to_string().starts_with("the measurements of a 1000000×1000000 J (m × k = 1000000 × 1000000 values)"));
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn new(plan: &'p Plan) -> Result<Self> {
        check_measurements_fit(plan)?;
        Ok(Measurements::unchecked(plan))
    }

    /// The plan these measurements belong to.
    pub fn plan(&self) -> &'p Plan {
        self.plan
    }

    /// Records the value `y = f(point(call))`. A value with a NaN or infinite output
    /// makes the call an erasure (its reason says which output). Telling a call again
    /// replaces its value. When the plan senses `VᵀJ` (the direct route of `vᵀJ`), `y`
    /// holds the blackbox's `m` outputs and `Vᵀy` is stored.
    pub fn tell(&mut self, call: usize, y: &[f64]) -> Result<()> {
        self.check_call(call)?;
        let plan = self.plan;
        let m = plan.scheme().outputs();
        if y.len() != m {
            return Err(Error::DimensionMismatch { what: "value length (outputs m)", expected: m, found: y.len() });
        }
        if let Err(reason) = first_non_finite(y) {
            self.state[call] = CallState::Erased(reason);
            return Ok(());
        }
        let projected;
        let y = match plan.scheme().projection() {
            Some(projection) => {
                projected = projection.apply(y);
                projected.as_slice()
            }
            None => y,
        };
        match plan.measurement_of(call) {
            None => self.base.copy_from_slice(y),
            Some((t, plus)) => {
                let sides = if self.base.is_empty() { 2 } else { 1 };
                let side = usize::from(!plus);
                let index = plan.index();
                let k = plan.measurements();
                if index.all {
                    for (i, &v) in y.iter().enumerate() {
                        self.values[(i * k + t) * sides + side] = v;
                    }
                } else {
                    for i in index.rows_of(t) {
                        self.values[index.slot(i, t, k) * sides + side] = y[i];
                    }
                }
            }
        }
        self.state[call] = CallState::Told;
        Ok(())
    }

    /// Records that `call` failed (or will never be evaluated), with its reason.
    ///
    /// ```
    /// use jacsense::{ErasureReason, Measurements, Pattern, Plan, RowStatus, Settings, Structure};
    /// let plan = Plan::new(&Structure::sparse(Pattern::banded(3, 3, 0, 0)), &[0.0; 3], &Settings::default())?;
    /// let mut meas = Measurements::new(&plan)?;
    /// meas.tell(0, &[0.0; 3])?;
    /// meas.erase(1, ErasureReason::Failed("timeout".into()))?; // the only color
    /// assert_eq!(meas.erasures()[0].reason, ErasureReason::Failed("timeout".into()));
    /// let est = meas.decode();
    /// assert_eq!(est.undetermined_rows(), vec![0, 1, 2]);
    /// assert_eq!(est.diagnostics().rows[0].status, RowStatus::Underdetermined { determined: 0, unknowns: 1 });
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn erase(&mut self, call: usize, reason: ErasureReason) -> Result<()> {
        self.check_call(call)?;
        self.state[call] = CallState::Erased(reason);
        Ok(())
    }

    fn check_call(&self, call: usize) -> Result<()> {
        if call >= self.state.len() {
            return Err(Error::UnknownCall { index: call, calls: self.state.len() });
        }
        Ok(())
    }

    /// Number of calls told with a value or erased: the calls made so far.
    pub fn calls_made(&self) -> usize {
        self.state.iter().filter(|s| **s != CallState::Pending).count()
    }

    /// The erased calls so far, and the calls never told (as [`ErasureReason::Missing`]).
    pub fn erasures(&self) -> Vec<Erasure> {
        erasures_of(&self.state)
    }

    /// Whether measurement `t` has its own calls (for forward differences, `f(x0)` is
    /// judged separately: see [`Measurements::base_valid`]).
    pub(crate) fn measurement_valid(&self, t: usize) -> bool {
        let (plus, minus) = self.plan.calls_of(t);
        let ok = |c: usize| self.state[c] == CallState::Told;
        ok(plus) && minus.is_none_or(ok)
    }

    /// Whether the differences are taken against a told `f(x0)`: true for central
    /// differences, and for forward differences whose call 0 was told.
    pub(crate) fn base_valid(&self) -> bool {
        self.base.is_empty() || self.base_told()
    }

    /// Whether `f(x0)` is known: given with the plan, or called and told.
    fn base_told(&self) -> bool {
        self.plan.given_f0().is_some() || (self.plan.calls_f0() && self.state[0] == CallState::Told)
    }

    /// The measured difference of output `i` in slot `slot`. Forward differences
    /// subtract `f(x0)_i` when `use_base` and it was told; otherwise they return the
    /// raw value and the decoder must carry an offset per row (subtracting a grossly
    /// wrong `f(x0)` would cost the measurement its digits).
    pub(crate) fn difference(&self, i: usize, slot: usize, use_base: bool) -> f64 {
        if self.base.is_empty() {
            0.5 * (self.values[2 * slot] - self.values[2 * slot + 1])
        } else if use_base && self.base_told() {
            self.values[slot] - self.base[i]
        } else {
            self.values[slot]
        }
    }

    /// The value of the output stored in `slot` near `x0`: the call's own value
    /// (forward differences) or the mean of its two calls (central), a step's change
    /// away from `f(x0)` — the size of an output without trusting `f(x0)`, which may be
    /// wrong or missing.
    pub(crate) fn level(&self, slot: usize) -> f64 {
        if self.base.is_empty() { 0.5 * (self.values[2 * slot] + self.values[2 * slot + 1]) } else { self.values[slot] }
    }

    /// `f(x0)` when it was called (forward differences) and told (`Vᵀf(x0)` when the
    /// plan senses `VᵀJ`).
    pub fn f0(&self) -> Option<&[f64]> {
        (!self.base.is_empty() && self.base_told()).then_some(self.base.as_slice())
    }
}

/// What was told for a plan, owned apart from it: a session keeps one per round beside
/// the round's plan and lends them to a [`Measurements`] when it decodes.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Told {
    pub(crate) base: Vec<f64>,
    pub(crate) values: Vec<f64>,
    pub(crate) state: Vec<CallState>,
}

impl<'p> Measurements<'p> {
    /// Empty measurements for `plan` without the memory check of [`Measurements::new`]
    /// (which counts a decode of every entry of the pattern): for a session's rounds,
    /// whose values the session has checked itself.
    pub(crate) fn unchecked(plan: &'p Plan) -> Self {
        let (_, m) = plan.structure().dims();
        let k = plan.measurements();
        let sides = if plan.calls_of(0).1.is_some() { 2 } else { 1 };
        let base = match (plan.given_f0(), plan.scheme().projection()) {
            _ if sides == 2 => Vec::new(),
            (Some(f0), Some(projection)) => projection.apply(f0),
            (Some(f0), None) => f0.to_vec(),
            (None, _) => vec![f64::NAN; m],
        };
        let values = vec![f64::NAN; plan.index().num_slots(m, k) * sides];
        Measurements { plan, base, values, state: vec![CallState::Pending; plan.calls()] }
    }

    /// The measurements of `plan` holding what `told` holds.
    pub(crate) fn from_told(plan: &'p Plan, told: Told) -> Self {
        Measurements { plan, base: told.base, values: told.values, state: told.state }
    }

    /// What was told, apart from the plan.
    pub(crate) fn into_told(self) -> Told {
        Told { base: self.base, values: self.values, state: self.state }
    }
}

/// The erased calls of `state`, and those never told ([`ErasureReason::Missing`]).
pub(crate) fn erasures_of(state: &[CallState]) -> Vec<Erasure> {
    state
        .iter()
        .enumerate()
        .filter_map(|(call, s)| match s {
            CallState::Told => None,
            CallState::Pending => Some(Erasure { call, reason: ErasureReason::Missing }),
            CallState::Erased(reason) => Some(Erasure { call, reason: reason.clone() }),
        })
        .collect()
}

/// Values per unknown of `J` that decoding holds at once besides the measurements:
/// every row's solved values, the assembled `J`, and its standard errors.
const DECODE_VALUES_PER_UNKNOWN: u128 = 3;

/// Checks that the measurements of `plan` (one value per slot of its row index, two
/// with central differences, plus `f(x0)`) and the decode of its unknowns fit in
/// memory: for a dense `J` with coordinate or colored directions, `m × n` values each.
pub(crate) fn check_measurements_fit(plan: &Plan) -> Result<()> {
    let (n, m) = plan.structure().dims();
    let k = plan.measurements();
    let index = plan.index();
    let slots = if index.all { m as u128 * k as u128 } else { index.meas.len() as u128 };
    let sides = if plan.calls_of(0).1.is_some() { 2 } else { 1 };
    let unknowns = plan.structure().pattern().nnz() as u128;
    let values = slots * sides + m as u128 + DECODE_VALUES_PER_UNKNOWN * unknowns;
    let what = || {
        let shape = if index.all { format!("m × k = {m} × {k} values") } else { format!("{slots} values") };
        let sides = if sides == 2 { ", twice for central differences" } else { "" };
        format!("the measurements of a {m}×{n} J ({shape}{sides}) and the decode of its {unknowns} unknowns")
    };
    crate::memory::check_fits(what, values, std::mem::size_of::<f64>(), m, n)
}
