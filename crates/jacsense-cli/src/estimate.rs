//! `jacsense estimate`: the Jacobian of an external program at `x0`, by a session.
//!
//! The program is called once at `x0` (its answer tells `m`, and is call 0 of the first
//! round for forward differences, so it is not repeated), then every round of the session
//! ([`jacsense::Session`]) goes to the workers: the planner's plan when a structure is
//! given, rounds of random directions validated on held-back calls when nothing is;
//! failed calls are erasures, told to the session as such, and may be topped up by a
//! later round.

use std::time::Instant;

use clap::Args;
use jacsense::Session;

use crate::error::Failure;
use crate::formats::read_vector;
use crate::options::{PlanOptions, SessionArgs};
use crate::report::{OutputArgs, RunFacts, Timing, finish_estimate};
use crate::session::{RunArgs, Session as Workers};

/// `jacsense estimate`.
#[derive(Args, Clone, Debug)]
pub struct EstimateArgs {
    /// The point x0: numbers ("1 2 3", "1,2,3" or a JSON array) or @FILE (.npy, .json, .mtx,
    /// .csv / text). Its length is n.
    #[arg(long, value_name = "NUMBERS|@FILE", allow_hyphen_values = true)]
    pub x0: String,
    #[command(flatten)]
    pub plan: PlanOptions,
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Runs `jacsense estimate`; returns the exit code.
pub fn estimate(args: &EstimateArgs) -> Result<u8, Failure> {
    let start = Instant::now();
    let x0 = read_vector(&args.x0, "--x0")?;
    let n = x0.len();
    let known = args.plan.read_files(n)?;
    let settings = args.plan.settings()?;
    // With m known, start the session before anything, so that a bad option costs no
    // call. When its coloring search waits for the call time (automatic budget, none
    // told), that session is made without the search, to check the options, and the
    // call at x0 (made anyway for forward differences) is timed first.
    let timed_x0 = settings.call_time.is_none()
        && settings.coloring_search == jacsense::ColoringSearch::Auto
        && settings.difference == jacsense::Difference::Forward;
    let early = match args.plan.known_m(&known) {
        Some(m) => {
            let structure = args.plan.structure_spec(&known, n, m)?.build()?;
            let check = jacsense::Settings {
                coloring_search: if timed_x0 { jacsense::ColoringSearch::Off } else { settings.coloring_search },
                ..settings.clone()
            };
            let session = Session::new(&structure, &x0, &check, &args.session.options(None))?;
            let colors = session.plan(0).is_some_and(|p| p.coloring().is_some()) && !session.is_adaptive();
            (!(timed_x0 && colors)).then_some(session)
        }
        None => None,
    };
    let mut workers = Workers::start(&args.run, args.output.quiet)?;
    let (mut session, f0, failed_x0) = match early {
        Some(session) => (session, None, 0),
        None => {
            let called = Instant::now();
            // With m given, a failed call at x0 is no stop: the session makes it again
            // (and the failed one is counted).
            let (f0, m) = match args.plan.known_m(&known) {
                Some(m) => (workers.call_x0(&x0)?.ok(), m),
                None => {
                    let f0 = workers.learn_m(&x0)?;
                    let m = f0.len();
                    (Some(f0), m)
                }
            };
            // The call's wall time (the program's start included) sets the coloring
            // search's budget, unless --call-time told it.
            let settings = jacsense::Settings {
                call_time: settings.call_time.or(Some(called.elapsed().as_secs_f64())),
                ..settings.clone()
            };
            let structure = args.plan.structure_spec(&known, n, m)?.build()?;
            let failed = usize::from(f0.is_none());
            (Session::new(&structure, &x0, &settings, &args.session.options(None))?, f0, failed)
        }
    };
    let mut timing = Timing { plan: start.elapsed().as_secs_f64(), ..Timing::default() };
    // Forward differences: the call at x0 is call 0 of the first round, already made
    // (a failed one, made again by the session, is one call more).
    let extra_calls = workers.run_rounds(&mut session, f0.as_deref(), &mut timing)? + failed_x0;
    let count = workers.workers();
    let command = workers.command.clone();
    let log = workers.finish();
    timing.total = start.elapsed().as_secs_f64();
    let facts = RunFacts { program: command, workers: count, log, extra_calls };
    let plan = session.plan(0).expect("a session has a first round").clone();
    let est = session.into_estimate().expect("the session is done");
    finish_estimate("estimate", &plan, &est, &timing, &facts, &args.output)
}
