//! Calls and accuracy per design over a suite of sparsity patterns.
//!
//! Run: `cargo run --release -p jacsense --example calls`
//!
//! For each pattern (banded, 2D/3D stencils, random sparse, arrowhead, block-diagonal)
//! it prints n, m, nnz, ρ_max (the lower bound for row-wise decoding), the number of
//! colors per vertex ordering, then the calls and the relative Frobenius error against
//! the analytic Jacobian for each design (forward differences, default steps).

use std::time::Instant;

use jacsense::coloring::{Ordering, color_columns};
use jacsense::problems::{
    Arrowhead, Bratu2d, BroydenTridiagonal, PatternFunction, Problem, random_matrix, random_pattern, relative_error,
};
use jacsense::{Design, Pattern, RandomDistribution, Settings, Structure, estimate_with};

fn suite() -> Vec<(String, Box<dyn Problem>)> {
    let on = |p: Pattern, seed| Box::new(PatternFunction { a: random_matrix(p, seed) }) as Box<dyn Problem>;
    vec![
        ("tridiagonal (Broyden) n=10000".into(), Box::new(BroydenTridiagonal { n: 10000 }) as Box<dyn Problem>),
        ("banded, bandwidth 5, n=5000".into(), on(Pattern::banded(5000, 5000, 5, 5), 1)),
        ("2D 5-point (Bratu) 100x100".into(), Box::new(Bratu2d { grid: 100, lambda: 6.0 })),
        ("3D 7-point 20x20x20".into(), on(jacsense::problems::laplacian_3d(20), 2)),
        ("random, 5 per row, 2000x2000".into(), on(random_pattern(2000, 2000, 5, 3), 3)),
        ("random, 2 per row, 2000x2000".into(), on(random_pattern(2000, 2000, 2, 4), 4)),
        ("random, 2 per row, 20000x2000".into(), on(random_pattern(20000, 2000, 2, 5), 5)),
        ("random, 2 per row, 60000x2000".into(), on(random_pattern(60000, 2000, 2, 7), 7)),
        ("arrowhead n=1000".into(), Box::new(Arrowhead { n: 1000 })),
        ("block-diagonal 200 blocks 8x8".into(), on(Pattern::block_diagonal(&[(8, 8); 200]), 6)),
    ]
}

fn designs() -> Vec<Design> {
    vec![
        Design::Coordinate,
        Design::Colored { ordering: None },
        Design::Random { distribution: RandomDistribution::Gaussian, directions: None },
        Design::Random { distribution: RandomDistribution::Rademacher, directions: None },
        Design::Rainbow { ordering: None, directions: None },
    ]
}

fn main() {
    println!("| pattern | n | m | nnz | ρ_max | {} |", Ordering::ALL.map(|o| format!("χ {}", o.name())).join(" | "));
    println!("|---|---|---|---|---|{}", "---|".repeat(Ordering::ALL.len()));
    let suite = suite();
    for (name, p) in &suite {
        let pattern = p.pattern();
        let colors = Ordering::ALL.map(|o| color_columns(&pattern, o).num_colors().to_string());
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            pattern.ncols(),
            pattern.nrows(),
            pattern.nnz(),
            pattern.max_row_count(),
            colors.join(" | ")
        );
    }
    println!();
    let names: Vec<&str> = designs().iter().map(|d| d.name()).collect();
    println!(
        "| pattern | ρ_max | {} |",
        names.iter().map(|n| format!("{n} calls | {n} error")).collect::<Vec<_>>().join(" | ")
    );
    println!("|---|---|{}", "---|---|".repeat(names.len()));
    let mut decode_time = 0.0;
    for (name, p) in &suite {
        let structure = Structure::sparse(p.pattern());
        let x0 = p.x0();
        let truth = p.jacobian(&x0);
        let mut cells = Vec::new();
        for design in designs() {
            let settings = Settings { design, ..Settings::default() };
            let start = Instant::now();
            let est = estimate_with(p.as_ref(), &x0, &structure, &settings).expect("valid problem");
            decode_time += start.elapsed().as_secs_f64();
            let err = relative_error(est.jacobian(), &truth);
            let flag = if est.is_complete() { "" } else { " (incomplete)" };
            cells.push(format!("{} | {err:.1e}{flag}", est.diagnostics().calls));
        }
        println!("| {name} | {} | {} |", structure.lower_bound(), cells.join(" | "));
    }
    eprintln!("total time in estimates: {decode_time:.2} s");

    println!();
    println!("Random directions where χ > ρ_max: calls and error as directions are added (Gaussian, forward).");
    println!();
    println!(
        "| pattern | χ (best ordering) | colored calls | colored error | random k | calls | error | worst row condition |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, p) in suite.iter().filter(|(name, _)| name.starts_with("random, 2 per row")) {
        let structure = Structure::sparse(p.pattern());
        let x0 = p.x0();
        let truth = p.jacobian(&x0);
        let colored = estimate_with(p.as_ref(), &x0, &structure, &Settings::default()).expect("valid problem");
        let chi = colored.diagnostics().colors.map_or(0, |(_, c)| c);
        let ec = relative_error(colored.jacobian(), &truth);
        let rho = structure.lower_bound();
        for k in rho..=rho + 4 {
            let settings = Settings {
                design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(k) },
                ..Settings::default()
            };
            let est = estimate_with(p.as_ref(), &x0, &structure, &settings).expect("valid problem");
            let worst = est.diagnostics().rows.iter().map(|r| r.condition).fold(0.0, f64::max);
            println!(
                "| {name} | {chi} | {} | {ec:.1e} | {k} | {} | {:.1e} | {worst:.1e} |",
                colored.diagnostics().calls,
                est.diagnostics().calls,
                relative_error(est.jacobian(), &truth)
            );
        }
    }
}
