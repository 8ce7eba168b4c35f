//! `jacsense plan`: the design, decoder, number of calls and lower bound the planner
//! chooses, without calling anything. Told nothing, `estimate` runs an adaptive session:
//! the plan shown is its first round, with what may follow.

use clap::Args;
use jacsense::{Plan, Session, SessionOptions};
use serde_json::json;

use crate::error::{EXIT_OK, Failure};
use crate::formats::read_vector;
use crate::input_error;
use crate::options::{PlanOptions, settings_json};

/// `jacsense plan`.
#[derive(Args, Clone, Debug)]
pub struct PlanArgs {
    /// The point x0 (default: zeros; it only sets the steps).
    #[arg(long, value_name = "NUMBERS|@FILE", allow_hyphen_values = true)]
    pub x0: Option<String>,
    /// Number of inputs n, when neither --x0 nor --pattern gives it.
    #[arg(long, short = 'n', value_name = "N")]
    pub inputs: Option<usize>,
    #[command(flatten)]
    pub plan: PlanOptions,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `jacsense plan`: prints the plan on stdout.
pub fn plan(args: &PlanArgs) -> Result<u8, Failure> {
    let x0 = match &args.x0 {
        Some(spec) => read_vector(spec, "--x0")?,
        None => {
            let from_pattern = args.plan.pattern.as_deref().map(crate::formats::read_pattern).transpose()?;
            let n = args
                .inputs
                .or(from_pattern.map(|p| p.ncols()))
                .ok_or_else(|| input_error!("plan needs n: give --x0, --pattern or --inputs N"))?;
            if n > jacsense::MAX_DIMENSION {
                return Err(input_error!("--inputs {n}: more than {} inputs", jacsense::MAX_DIMENSION));
            }
            vec![0.0; n]
        }
    };
    let n = x0.len();
    let known = args.plan.read_files(n)?;
    let m =
        args.plan.known_m(&known).ok_or_else(|| input_error!("plan needs m: give --pattern FILE or --outputs M"))?;
    let structure = args.plan.structure_spec(&known, n, m)?.build()?;
    // Told nothing, the session `estimate` would run: its first round, and the most it
    // may cost; otherwise the planner's plan (without allocating its measurements).
    let settings = args.plan.settings()?;
    let options = SessionOptions::default();
    let session =
        Session::adapts(&structure, &settings, &options).then(|| Session::new(&structure, &x0, &settings, &options));
    let session = session.transpose()?;
    let plan = match &session {
        Some(s) => s.ask().expect("a new session asks for its first round").clone(),
        None => Plan::new(&structure, &x0, &settings)?,
    };
    let first_round = session.as_ref().map(|s| s.rounds()[0].why.clone());
    let dense_limit = session.as_ref().and_then(Session::dense_limit).map(|k| k + 1);
    let adaptive = session.is_some();
    let coloring = plan.coloring().map(|(o, c)| (o.name(), c.num_colors()));
    if args.json {
        let value = json!({
            "n": n, "m": m,
            "settings": settings_json(plan.settings()),
            "measurements": plan.measurements(),
            "calls": plan.calls(),
            "lower_bound": plan.lower_bound(),
            "intrinsic_dimension": structure.intrinsic_dimension(),
            "coloring": coloring.map(|(o, k)| json!({ "ordering": o, "colors": k })),
            "coordinate_calls": n + 1,
            "coordinate_calls_as_robust": jacsense::robust_coordinate_calls(n, plan.settings().outliers),
            "adaptive": adaptive,
            "first_round": first_round,
            "most_calls_if_dense": dense_limit,
        });
        println!("{value}");
        return Ok(EXIT_OK);
    }
    let s = plan.settings();
    println!("J is {m}×{n} with {} unknowns (intrinsic dimension)", structure.intrinsic_dimension());
    if let Some(why) = &first_round {
        println!("adaptive:      rounds decided as calls return, until every row validates on held-back calls");
        println!("first round:   {why}");
        if let Some(limit) = dense_limit {
            println!(
                "at most:       {limit} calls with f(x0) if J turns out dense (then least squares on every column)"
            );
        }
    }
    print!("design:        {}", s.design.name());
    match coloring {
        Some((o, k)) => println!(" ({k} colors, {o} ordering)"),
        None => println!(),
    }
    if adaptive && s.outliers > 0.0 {
        // The session decodes its rounds by robust sparse recovery when calls may be garbage.
        println!("decoder:       robust-sparse (every round, on all calls so far)");
    } else {
        println!("decoder:       {}", s.decoder.name());
    }
    println!("differences:   {}", if s.difference == jacsense::Difference::Central { "central" } else { "forward" });
    println!("measurements:  {}", plan.measurements());
    println!("calls:         {}{}", plan.calls(), if adaptive { " in the first round" } else { "" });
    let rho = plan.lower_bound();
    match structure.row_sparsity() {
        // Two s-sparse rows differ by a 2s-sparse one: fewer measurements cannot tell them apart.
        Some(s) if 2 * s < rho => println!(
            "lower bound:   {} measurements (2s: rows of at most s = {s} nonzeros, where they are unknown)",
            2 * s
        ),
        _ => println!("lower bound:   {rho} measurements (ρ_max, the most unknowns in one row)"),
    }
    println!("coordinate differences would make {} calls", n + 1);
    if s.outliers > 0.0 {
        // Read-off designs outvote a wrong call only by repeating every call.
        match jacsense::robust_coordinate_calls(n, s.outliers) {
            Some(calls) => println!(
                "  and {calls} as robust to {} of the calls garbage (every call repeated, the median kept)",
                s.outliers
            ),
            None => println!("  and cannot be made as robust to {} of the calls garbage", s.outliers),
        }
    }
    Ok(EXIT_OK)
}
