//! `jacsense demo`: the README's main job, with no file and no network.
//!
//! The 2D Bratu residual `Δu + λeᵘ` on a `grid × grid` interior grid (n = m =
//! 10,000 by default), in process, by coordinate differences, by coloring and by
//! jacsense's default plan, against the analytic Jacobian; then the same residual with
//! about 10% of its calls returning garbage, where only the L1 decoder of a plan told
//! to expect outliers returns the Jacobian. The status column says which results were
//! checked by redundant calls (`solved`) and which could not have seen a wrong call
//! (`unverified`).

use std::io::Write;
use std::time::Instant;

use clap::Args;
use jacsense::{Design, Settings, Structure, jacobian_with};
use jacsense_problems::{Bratu2d, Corrupted, Problem, relative_error};

use crate::error::{EXIT_OK, Failure};

/// `jacsense demo`.
#[derive(Args, Clone, Debug)]
pub struct DemoArgs {
    /// Interior grid points per side (n = m = grid²).
    #[arg(long, default_value_t = 100)]
    pub grid: usize,
    /// Fraction of calls returning garbage in the second table.
    #[arg(long, default_value_t = 0.1)]
    pub garbage: f64,
}

/// Runs the demo; prints two tables on stdout.
pub fn demo(args: &DemoArgs) -> Result<u8, Failure> {
    let problem = Bratu2d { grid: args.grid.max(2), lambda: 6.0 };
    let x0 = problem.x0();
    let truth = problem.jacobian(&x0);
    let structure = Structure::sparse(problem.pattern());
    let mut out = std::io::stdout().lock();
    let g = problem.grid;
    let _ = writeln!(
        out,
        "2D Bratu residual Δu + 6 eᵘ on a {g}×{g} grid: n = m = {}, {} nonzeros in J, at most {} per row.\n",
        x0.len(),
        structure.intrinsic_dimension(),
        structure.lower_bound()
    );
    let _ = writeln!(out, "| method | calls | wall time | relative error of J | status |\n|---|---|---|---|---|");
    let mut runs = vec![
        ("coordinate differences".to_string(), Settings { design: Design::Coordinate, ..Settings::default() }),
        (
            "coloring (Curtis–Powell–Reid)".to_string(),
            Settings { design: Design::Colored { ordering: None }, ..Settings::default() },
        ),
        ("jacsense default plan".to_string(), Settings::default()),
    ];
    for (name, settings) in &runs {
        let start = Instant::now();
        let est = jacobian_with(&problem, &x0, &structure, settings)?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        let err = relative_error(est.jacobian(), &truth);
        let status = est.status();
        let _ = writeln!(out, "| {name} | {} | {ms:.0} ms | {err:.1e} | {} |", est.diagnostics().calls, status.name());
    }

    let p = args.garbage;
    let corrupted = Corrupted { inner: problem.clone(), fraction: p, seed: 7, anchor: x0.clone(), scale: 1.0 };
    let _ = writeln!(
        out,
        "\nThe same residual with about {:.0}% of the calls returning garbage (huge or random values, flipped\n\
         signs, stale repeats):\n",
        100.0 * p
    );
    let _ = writeln!(
        out,
        "| method | calls | calls judged garbage | relative error of J | status |\n|---|---|---|---|---|"
    );
    let robust = Settings { outliers: p, ..Settings::default() };
    runs.push((format!("jacsense told --outliers {p}"), robust));
    for (name, settings) in &runs {
        let est = jacobian_with(&corrupted, &x0, &structure, settings)?;
        let err = relative_error(est.jacobian(), &truth);
        let d = est.diagnostics();
        let _ = writeln!(out, "| {name} | {} | {} | {err:.1e} | {} |", d.calls, d.outliers.len(), est.status().name());
    }
    Ok(EXIT_OK)
}
