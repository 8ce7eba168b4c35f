//! The README's main job: the Jacobian of a built-in blackbox, the 2D Bratu residual
//! `Δu + λeᵘ` on a 100×100 grid (n = m = 10,000), by coordinate differences, by
//! coloring and by random directions on the known pattern, against the analytic
//! Jacobian.
//!
//! Run: `cargo run --release -p jacsense --example demo`

use std::time::Instant;

use jacsense::problems::{Bratu2d, Problem, relative_error};
use jacsense::{Design, Difference, RandomDistribution, Settings, Structure, estimate_with};

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
    ];
    for (name, design, difference) in runs {
        let settings = Settings { design, difference, ..Settings::default() };
        let start = Instant::now();
        let est = estimate_with(&problem, &x0, &structure, &settings)?;
        let time = start.elapsed();
        let err = relative_error(est.jacobian(), &truth);
        println!("| {name} | {} | {:.1} ms | {err:.1e} |", est.diagnostics().calls, time.as_secs_f64() * 1e3);
    }
    Ok(())
}
