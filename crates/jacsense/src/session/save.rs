//! Sessions saved and loaded (JSON), so that the rounds of `jacsense ask` / `tell` can
//! run days apart: the structure and settings, the options, every round's plan
//! ([`Plan::to_json`](crate::Plan::to_json), checked on loading) with what was told,
//! and what each row has become.

use serde::{Deserialize, Serialize};

use super::{Mode, Prior, Round, RoundData, RowFit, Session, SessionOptions};
use crate::blackbox::ErasureReason;
use crate::error::{Error, Result};
use crate::measurements::{CallState, Told};
use crate::pattern::{Pattern, SparseMatrix};
use crate::plan::save::{unwrap, wrap};
use crate::plan::{Bounds, Plan, PlanOptions};
use crate::settings::Settings;
use crate::structure::Structure;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriorData {
    pattern: Pattern,
    values: Vec<f64>,
    tolerance: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
enum StateData {
    Pending,
    Told,
    Missing,
    /// The blackbox's message ([`ErasureReason::Failed`]), or the reason in words.
    Failed(String),
    Panicked(String),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoundSaved {
    plan: Plan,
    /// `f(x0)` of the round's measurements (NaN as null).
    base: Vec<Option<f64>>,
    values: Vec<Option<f64>>,
    state: Vec<StateData>,
    report: Round,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionData {
    structure: Structure,
    settings: Settings,
    x0: Vec<f64>,
    f0: Option<Vec<f64>>,
    bounds: Option<(Vec<f64>, Vec<f64>)>,
    max_calls: Option<usize>,
    tol: Option<f64>,
    prior: Option<PriorData>,
    mode: Mode,
    rounds: Vec<RoundSaved>,
    base: Option<Vec<f64>>,
    fits: Vec<RowFit>,
    done: bool,
    pending_columns: Option<Vec<usize>>,
}

fn nullable(v: &[f64]) -> Vec<Option<f64>> {
    v.iter().map(|x| x.is_finite().then_some(*x)).collect()
}

fn from_nullable(v: Vec<Option<f64>>) -> Vec<f64> {
    v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect()
}

impl Session {
    /// The session as JSON text (in the envelope of [`Plan::to_json`]: format name,
    /// version, checksum), to continue it elsewhere or later with
    /// [`Session::from_json`]: every round's plan and the values told so far. An
    /// estimate is not saved; a loaded session that was done has none.
    ///
    /// ```
    /// use jacsense::{from_fn, Blackbox, Session, SessionOptions, Settings, Structure};
    /// let f = from_fn(30, 30, |x: &[f64], y: &mut [f64]| for i in 0..30 { y[i] = x[i] * x[i] });
    /// let mut session = Session::new(&Structure::dense(30, 30), &[1.0; 30], &Settings::default(), &SessionOptions::default())?;
    /// let plan = session.ask().unwrap().clone();
    /// let mut y = vec![0.0; 30];
    /// for (call, x) in plan.points().iter().enumerate().take(5) {
    ///     f.call(x, &mut y).unwrap();
    ///     session.tell(call, &y)?;
    /// }
    /// let mut again = Session::from_json(&session.to_json())?; // the other calls later
    /// for (call, x) in plan.points().iter().enumerate().skip(5) {
    ///     f.call(x, &mut y).unwrap();
    ///     again.tell(call, &y)?;
    /// }
    /// again.finish_round()?;
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        let prior = self.options.prior.as_ref().map(|p| PriorData {
            pattern: p.jacobian.pattern().clone(),
            values: p.jacobian.values().to_vec(),
            tolerance: p.tolerance,
        });
        let rounds = self
            .rounds
            .iter()
            .map(|r| RoundSaved {
                plan: r.plan.clone(),
                base: nullable(&r.told.base),
                values: nullable(&r.told.values),
                state: r
                    .told
                    .state
                    .iter()
                    .map(|s| match s {
                        CallState::Pending => StateData::Pending,
                        CallState::Told => StateData::Told,
                        CallState::Erased(ErasureReason::Missing) => StateData::Missing,
                        // The message alone: loading wraps it again, not twice.
                        CallState::Erased(ErasureReason::Failed(msg)) => StateData::Failed(msg.clone()),
                        CallState::Erased(ErasureReason::Panicked(msg)) => StateData::Panicked(msg.clone()),
                        CallState::Erased(reason) => StateData::Failed(reason.to_string()),
                    })
                    .collect(),
                report: r.report.clone(),
            })
            .collect();
        let data = SessionData {
            structure: self.structure.clone(),
            settings: self.settings.clone(),
            x0: self.x0.clone(),
            f0: self.rounds.first().and_then(|r| r.plan.given_f0()).map(<[f64]>::to_vec),
            bounds: self.options.point.bounds.as_ref().map(|b| (b.lower().to_vec(), b.upper().to_vec())),
            max_calls: self.options.max_calls,
            tol: self.options.tol,
            prior,
            mode: self.mode.clone(),
            rounds,
            base: self.base.clone(),
            fits: self.fits.clone(),
            done: self.done,
            pending_columns: self.pending_columns.clone(),
        };
        wrap("jacsense-session", serde_json::to_string(&data).expect("a session serializes"))
    }

    /// A session saved by [`Session::to_json`].
    ///
    /// Errors ([`Error::Saved`]): not a saved session, another format version, a
    /// checksum that does not match, or data that do not make a valid session.
    pub fn from_json(text: &str) -> Result<Session> {
        let data: SessionData = unwrap("jacsense-session", text)?;
        let bad = |what: String| Error::Saved(format!("invalid session: {what}"));
        let (n, m) = data.structure.dims();
        crate::plan::check_x0(&data.x0, n).map_err(|e| bad(e.to_string()))?;
        let bounds = match data.bounds {
            Some((lo, hi)) => Some(Bounds::new(lo, hi).map_err(|e| bad(e.to_string()))?),
            None => None,
        };
        let prior = match data.prior {
            Some(p) => Some(Prior {
                jacobian: SparseMatrix::new(p.pattern, p.values).map_err(|e| bad(e.to_string()))?,
                tolerance: p.tolerance,
            }),
            None => None,
        };
        let options = SessionOptions {
            point: PlanOptions { f0: data.f0, bounds },
            max_calls: data.max_calls,
            tol: data.tol,
            prior,
        };
        // What `Session::new` checks of the options.
        Session::check_options(&data.structure, &options).map_err(|e| bad(e.to_string()))?;
        if data.rounds.is_empty() {
            return Err(bad("no round".into()));
        }
        // Row fits belong to told-nothing and prior sessions; a structured one has none.
        let fits = if data.mode == Mode::Structured { 0 } else { m };
        if data.fits.len() != fits {
            return Err(bad(format!("{} row fits for m = {m} rows", data.fits.len())));
        }
        for (i, f) in data.fits.iter().enumerate() {
            if let RowFit::Sparse(s) = f
                && (s.windows(2).any(|w| w[0] >= w[1]) || s.last().is_some_and(|&c| c >= n))
            {
                return Err(bad(format!("row {i}: the support is not ascending columns below n = {n}")));
            }
        }
        if let Some(base) = &data.base
            && base.len() != m
        {
            return Err(bad(format!("f(x0) has {} values for m = {m}", base.len())));
        }
        if let Some(cols) = &data.pending_columns
            && cols.iter().any(|&c| c >= n)
        {
            return Err(bad("a pending column beyond n".into()));
        }
        let mut rounds = Vec::with_capacity(data.rounds.len());
        for (r, saved) in data.rounds.into_iter().enumerate() {
            let plan = saved.plan;
            if plan.structure().dims() != (n, m) || plan.x0() != data.x0.as_slice() {
                return Err(bad(format!("round {r}: its plan is for another J or point")));
            }
            let fresh = crate::measurements::Measurements::unchecked(&plan).into_told();
            if saved.base.len() != fresh.base.len()
                || saved.values.len() != fresh.values.len()
                || saved.state.len() != fresh.state.len()
            {
                return Err(bad(format!("round {r}: the values told do not fit its plan")));
            }
            let state = saved
                .state
                .into_iter()
                .map(|s| match s {
                    StateData::Pending => CallState::Pending,
                    StateData::Told => CallState::Told,
                    StateData::Missing => CallState::Erased(ErasureReason::Missing),
                    StateData::Failed(reason) => CallState::Erased(ErasureReason::Failed(reason)),
                    StateData::Panicked(msg) => CallState::Erased(ErasureReason::Panicked(msg)),
                })
                .collect();
            let told = Told { base: from_nullable(saved.base), values: from_nullable(saved.values), state };
            rounds.push(RoundData { plan, told, report: saved.report });
        }
        Ok(Session {
            structure: data.structure,
            settings: data.settings,
            options,
            x0: data.x0,
            mode: data.mode,
            rounds,
            base: data.base,
            fits: data.fits,
            estimate: None,
            done: data.done,
            pending_columns: data.pending_columns,
            garbage: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_erasure_reason_survives_saving_unchanged() {
        let structure = Structure::sparse(Pattern::banded(3, 3, 0, 0));
        let mut session =
            Session::new(&structure, &[1.0; 3], &Settings::default(), &SessionOptions::default()).expect("a session");
        session.erase(0, ErasureReason::Failed("the node went away".into())).expect("call 0");
        session.erase(1, ErasureReason::Panicked("index out of bounds".into())).expect("call 1");
        let again = Session::from_json(&session.to_json()).expect("loads");
        let reasons: Vec<String> = again.rounds[0].told.state.iter().take(2).map(|s| format!("{s:?}")).collect();
        assert_eq!(
            reasons,
            [
                format!("{:?}", CallState::Erased(ErasureReason::Failed("the node went away".into()))),
                format!("{:?}", CallState::Erased(ErasureReason::Panicked("index out of bounds".into()))),
            ]
        );
    }
}
