//! `jacsense vjp`: the left action `w = Jᵀv` of an external program at `x0`
//! (backpropagation through a blackbox layer).
//!
//! The library's [`VjpPlan`] chooses the route (sense `J` and multiply, or sense `w`
//! directly from scalar measurements) before any call. As for `estimate`, the answer
//! at `x0` is call 0 (forward differences), the plan's other points go to the workers,
//! and every answer is told to [`VjpMeasurements`] as it arrives; a failed call is an
//! erasure with its reason.

use std::time::Instant;

use clap::{Args, ValueEnum};
use jacsense::{
    Difference, ErasureReason, Round, Route, RowStatus, VjpEstimate, VjpMeasurements, VjpPlan, VjpSettings,
};

use crate::error::{Failure, row_exit_code};
use crate::formats::{read_vector, write_json, write_vector};
use crate::input_error;
use crate::options::{PlanOptions, SessionArgs};
use crate::report::{
    OutputArgs, RunFacts, Timing, describe_output, finish_summary, list_erasures, list_outliers, vjp_json,
};
use crate::session::{RunArgs, Session};

/// Which way `vᵀJ` is sensed (`--route`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum RouteName {
    /// The route with fewer calls; the Jacobian route (a session, with rounds) when
    /// --tol is given or --max-calls is below the direct route's calls.
    #[default]
    Auto,
    /// Sense J, then multiply.
    Jacobian,
    /// Sense w directly from the scalar measurements vᵀ(f(x0 + h d) − f(x0)).
    Direct,
}

/// `jacsense vjp`.
#[derive(Args, Clone, Debug)]
pub struct VjpArgs {
    /// The point x0: numbers or @FILE.
    #[arg(long, value_name = "NUMBERS|@FILE", allow_hyphen_values = true)]
    pub x0: String,
    /// The upstream vector v (m entries): numbers or @FILE.
    #[arg(long, value_name = "NUMBERS|@FILE", allow_hyphen_values = true)]
    pub v: String,
    /// At most S entries of w = Jᵀv are nonzero, at unknown places (sparse recovery).
    #[arg(long, value_name = "S")]
    pub sparsity: Option<usize>,
    /// Which route.
    #[arg(long, value_enum, default_value_t)]
    pub route: RouteName,
    #[command(flatten)]
    pub plan: PlanOptions,
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Runs `jacsense vjp`.
pub fn vjp(args: &VjpArgs) -> Result<u8, Failure> {
    let start = Instant::now();
    let x0 = read_vector(&args.x0, "--x0")?;
    let v = read_vector(&args.v, "--v")?;
    let n = x0.len();
    let known = args.plan.read_files(n)?;
    if let Some(m) = args.plan.known_m(&known)
        && v.len() != m
    {
        return Err(input_error!("--v has {} entries but J has m = {m} rows", v.len()));
    }
    let jacobian = args.plan.settings()?;
    let settings = VjpSettings {
        route: match args.route {
            RouteName::Auto => Route::Auto,
            RouteName::Jacobian => Route::SenseJacobian,
            RouteName::Direct => Route::Direct,
        },
        difference: jacobian.difference,
        step: jacobian.step.clone(),
        seed: jacobian.seed,
        sparsity: args.sparsity,
        jacobian,
        ..VjpSettings::default()
    };
    let mut session = Session::start(&args.run, args.output.quiet)?;
    // On a failure, dropping the session stops the workers.
    let f0 = session.learn_m(&x0)?;
    let m = f0.len();
    if v.len() != m {
        return Err(input_error!("--v has {} entries but the program answers m = {m} numbers at x0", v.len()));
    }
    let structure = args.plan.structure_spec(&known, n, m)?.build()?;
    let mut plan = VjpPlan::new(&structure, &x0, std::slice::from_ref(&v), &settings)?;
    // The direct route is one round of scalar measurements: a target on the standard
    // errors, or a budget below its calls, needs the Jacobian route's session.
    if plan.route() == Route::Direct {
        let over = args.session.max_calls.filter(|&max| plan.calls() > max);
        let why = match (args.session.tol, over) {
            (Some(tol), _) => Some(format!("--tol {tol}")),
            (None, Some(max)) => Some(format!("--max-calls {max} (the direct route makes {} calls)", plan.calls())),
            (None, None) => None,
        };
        if let Some(why) = why {
            if args.route == RouteName::Direct {
                return Err(input_error!(
                    "{why} needs rounds, which the direct route (one round of scalar measurements) does not make: \
                     use --route jacobian or auto"
                ));
            }
            let jacobian_route = VjpSettings { route: Route::SenseJacobian, ..settings.clone() };
            plan = VjpPlan::new(&structure, &x0, std::slice::from_ref(&v), &jacobian_route)?;
        }
    }
    let mut timing = Timing { plan: start.elapsed().as_secs_f64(), ..Timing::default() };
    let mut rounds = Vec::new();
    let (est, extra_calls) = if plan.route() == Route::SenseJacobian {
        // The Jacobian route is a session: rounds, --max-calls, --tol, top-ups.
        jacobian_route(args, &mut session, &structure, &x0, &v, &settings.jacobian, &f0, &mut timing, &mut rounds)?
    } else {
        direct_route(&plan, &mut session, &x0, &f0, settings.difference, &mut timing)?
    };
    let workers = session.workers();
    let command = session.command.clone();
    let log = session.finish();
    timing.total = start.elapsed().as_secs_f64();
    let total = timing.total;
    let facts = RunFacts { program: command, workers, log, extra_calls };

    crate::workers::check_interrupted()?;
    let mut written = Vec::new();
    if let Some(path) = &args.output.output {
        write_vector(path, &est.w)?;
        written.push(describe_output("w", path));
    }
    if let Some(path) = &args.output.report {
        write_json(path, &vjp_json(&plan, &settings, &est, m, &rounds, &timing, &facts))?;
        written.push(format!("the report to {}", path.display()));
    }
    if !args.output.quiet {
        let mut s = format!(
            "jacsense: w = Jᵀv ({n} entries, m = {m}) from {} calls in {total:.2} s with {workers} worker{} \
             (route {}, decoder {}; lower bound {}). ",
            est.calls + extra_calls,
            if workers == 1 { "" } else { "s" },
            est.route.name(),
            est.decoder,
            plan.lower_bound()
        );
        s += &match est.erasures.len() {
            0 => "No erasures".to_string(),
            k => format!("{k} erasures: {}", list_erasures(&est.erasures)),
        };
        s += &list_outliers(&est.outliers);
        s += &match &est.status {
            RowStatus::Determined => "Every entry determined.".to_string(),
            RowStatus::Underdetermined { .. } => "INCOMPLETE: some entries of w are undetermined (NaN).".to_string(),
            other => format!("Every entry determined, but {}.", other.name().to_uppercase()),
        };
        eprintln!("{}", finish_summary(s, &written, &facts));
    }
    Ok(row_exit_code(&est.status, settings.jacobian.outliers > 0.0))
}

/// The direct route: one plan of scalar measurements, its calls through the workers.
fn direct_route(
    plan: &VjpPlan,
    session: &mut Session,
    x0: &[f64],
    f0: &[f64],
    difference: Difference,
    timing: &mut Timing,
) -> Result<(VjpEstimate, usize), Failure> {
    let (n, m) = (x0.len(), f0.len());
    let mut measurements = VjpMeasurements::new(plan)?;
    // Forward differences: call 0 is x0 (VjpPlan::point), already made.
    let first = usize::from(difference == Difference::Forward && plan.calls() > 0);
    if first == 1 {
        measurements.tell(0, f0)?;
    }
    let calls: Vec<usize> = (first..plan.calls()).collect();
    let point = |j: usize, x: &mut [f64]| plan.point(j, x).expect("call index and length are in range");
    let stats = session.run(&calls, n, m, &point, |j, outcome| {
        match outcome {
            Ok(y) => measurements.tell(j, &y),
            Err(reason) => measurements.erase(j, ErasureReason::Failed(reason)),
        }
        .expect("the call belongs to the plan and has m values");
    })?;
    timing.calls = stats.seconds;
    let decode_start = Instant::now();
    let est = measurements.decode().remove(0);
    timing.decode = decode_start.elapsed().as_secs_f64();
    // The call at x0 that told m, when it is not one of the plan's.
    Ok((est, 1 - first))
}

/// The Jacobian route: a session for `J` (as `estimate` runs it), then `w = Jᵀv`
/// ([`jacsense::Estimate::vjp`]); the session's rounds go to `rounds`.
#[allow(clippy::too_many_arguments)]
fn jacobian_route(
    args: &VjpArgs,
    workers: &mut Session,
    structure: &jacsense::Structure,
    x0: &[f64],
    v: &[f64],
    settings: &jacsense::Settings,
    f0: &[f64],
    timing: &mut Timing,
    rounds: &mut Vec<Round>,
) -> Result<(VjpEstimate, usize), Failure> {
    let mut session = jacsense::Session::new(structure, x0, settings, &args.session.options(None))?;
    let extra_calls = workers.run_rounds(&mut session, Some(f0), timing)?;
    let j = session.into_estimate().expect("the session is done");
    let est = j.vjp(&[v.to_vec()])?.remove(0);
    *rounds = j.diagnostics().rounds.clone();
    Ok((est, extra_calls))
}
