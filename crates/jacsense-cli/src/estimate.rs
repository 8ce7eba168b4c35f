//! `jacsense estimate`: the Jacobian of an external program at `x0`.
//!
//! The program is called once at `x0` (its answer tells `m`, and is the plan's call 0
//! for forward differences, so it is not repeated), then the plan's calls go to the
//! workers; failed calls are erasures, told to the decoder as such.

use std::time::Instant;

use clap::Args;
use jacsense::{Difference, ErasureReason, Measurements, Plan};

use crate::error::Failure;
use crate::formats::read_vector;
use crate::options::PlanOptions;
use crate::report::{OutputArgs, RunFacts, Timing, finish_estimate};
use crate::session::{RunArgs, Session};

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
    // With m known, plan before starting anything, so that a bad option costs no call.
    let early_plan = match args.plan.known_m(&known) {
        Some(m) => Some(Plan::new(&args.plan.structure_spec(&known, n, m)?.build()?, &x0, &settings)?),
        None => None,
    };
    let session = Session::start(&args.run, args.output.quiet)?;
    let f0 = match &early_plan {
        Some(_) => None,
        None => Some(session.learn_m(&x0)?),
    };
    let plan = match early_plan {
        Some(plan) => plan,
        None => {
            let m = f0.as_ref().expect("learned above").len();
            Plan::new(&args.plan.structure_spec(&known, n, m)?.build()?, &x0, &settings)?
        }
    };
    let (_, m) = plan.structure().dims();
    let mut timing = Timing { plan: start.elapsed().as_secs_f64(), ..Timing::default() };

    let mut measurements = Measurements::new(&plan)?;
    // Forward differences: call 0 is x0 (Plan::point), already made.
    let mut extra_calls = 0;
    let first = match (&f0, plan.settings().difference) {
        (Some(y), Difference::Forward) => {
            measurements.tell(0, y)?;
            1
        }
        (Some(_), Difference::Central) => {
            extra_calls = 1;
            0
        }
        (None, _) => 0,
    };
    let calls: Vec<usize> = (first..plan.calls()).collect();
    let point = |j: usize, x: &mut [f64]| plan.point(j, x).expect("call index and length are in range");
    let stats = session.run(&calls, n, m, &point, |j, outcome| {
        match outcome {
            Ok(y) => measurements.tell(j, &y),
            Err(reason) => measurements.erase(j, ErasureReason::Failed(reason)),
        }
        .expect("the call belongs to the plan and has m values");
    });
    // On a failure, dropping the session stops the workers.
    let stats = stats?;
    let workers = session.workers();
    let command = session.command.clone();
    timing.calls = stats.seconds;
    let decode_start = Instant::now();
    let est = measurements.decode();
    timing.decode = decode_start.elapsed().as_secs_f64();
    let log = session.finish();
    timing.total = start.elapsed().as_secs_f64();
    let facts = RunFacts { program: command, workers, log, extra_calls };
    finish_estimate("estimate", &plan, &est, &timing, &facts, &args.output)
}
