//! The README's main job: the Jacobian of a built-in blackbox, the 2D Bratu residual
//! `Δu + λeᵘ` on a 100×100 grid (n = m = 10,000), by coordinate differences, by
//! coloring and by random directions on the known pattern, against the analytic
//! Jacobian.
//!
//! A second run spoils about 10% of the calls: coloring returns garbage, jacsense told
//! to expect outliers returns the Jacobian and names the spoiled calls.
//!
//! Run: `cargo run --release -p jacsense --example demo`

use std::time::Instant;

use jacsense::{Design, Difference, RandomDistribution, Settings, Structure, jacobian_with};
use jacsense_problems::{Bratu2d, Corrupted, Problem, relative_error};

fn main() -> Result<(), jacsense::Error> {
    let problem = Bratu2d { grid: 100, lambda: 6.0 };
    let x0 = problem.x0();
    let truth = problem.jacobian(&x0);
    let structure = Structure::sparse(problem.pattern());
    println!(
        "2D Bratu residual on a 100×100 grid: n = m = {}, {} nonzeros, ρ_max = {}\n",
        x0.len(),
        structure.intrinsic_dimension(),
        structure.lower_bound()
    );
    println!("| method | calls | wall time | relative error |");
    println!("|---|---|---|---|");
    let runs = [
        ("coordinate differences", Design::Coordinate, Difference::Forward),
        ("coloring (Curtis–Powell–Reid)", Design::Colored { ordering: None }, Difference::Forward),
        ("coloring, central differences", Design::Colored { ordering: None }, Difference::Central),
        (
            "random directions on the pattern",
            Design::Random { distribution: RandomDistribution::Gaussian, directions: None },
            Difference::Forward,
        ),
        ("jacsense default plan (Design::Auto)", Design::Auto, Difference::Forward),
    ];
    for (name, design, difference) in runs {
        let settings = Settings { design, difference, ..Settings::default() };
        let start = Instant::now();
        let est = jacobian_with(&problem, &x0, &structure, &settings)?;
        let time = start.elapsed();
        let err = relative_error(est.jacobian(), &truth);
        println!("| {name} | {} | {:.1} ms | {err:.1e} |", est.diagnostics().calls, time.as_secs_f64() * 1e3);
    }

    // The same blackbox with 10% of its calls returning garbage.
    let corrupted = Corrupted { inner: problem.clone(), fraction: 0.1, seed: 7, anchor: x0.clone(), scale: 1.0 };
    println!("\nThe same residual, with about 10% of the calls returning garbage (huge or random values,");
    println!("flipped signs, stale repeats):\n");
    println!("| method | calls | calls judged garbage | relative error |");
    println!("|---|---|---|---|");
    let runs = [
        ("coloring, least squares", Settings { design: Design::Colored { ordering: None }, ..Settings::default() }),
        ("jacsense, told to expect 10% outliers", Settings { outliers: 0.1, ..Settings::default() }),
    ];
    for (name, settings) in runs {
        let est = jacobian_with(&corrupted, &x0, &structure, &settings)?;
        let err = relative_error(est.jacobian(), &truth);
        let d = est.diagnostics();
        println!("| {name} | {} | {} | {err:.1e} |", d.calls, d.outliers.len());
    }
    Ok(())
}
