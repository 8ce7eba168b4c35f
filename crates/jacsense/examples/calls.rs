//! Calls and accuracy per design over a suite of sparsity patterns.
//!
//! Run: `cargo run --release -p jacsense --example calls [suite|noise]` (both by default)
//!
//! `suite`: for each pattern (banded, 2D/3D stencils, random sparse, arrowhead,
//! block-diagonal) it prints n, m, nnz, ρ_max (the lower bound for row-wise decoding),
//! the number of colors per vertex ordering, then the calls and the relative Frobenius
//! error against the analytic Jacobian for each design (forward differences, default
//! steps), and random directions against coloring where χ > ρ_max.
//!
//! `noise`: with Gaussian noise on `f`, the error of each design as calls are added.

use std::time::Instant;

use jacsense::coloring::{Ordering, color_columns};
use jacsense::{Design, Difference, RandomDistribution, Settings, Step, Structure, jacobian_with};
use jacsense_problems::{Noisy, PatternFunction, Problem, calls_suite, random_matrix, random_pattern, relative_error};

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
    let which = std::env::args().nth(1).unwrap_or_default();
    if which.is_empty() || which == "suite" {
        suite_tables();
    }
    if which.is_empty() || which == "noise" {
        noise_table();
    }
}

/// Error against calls with noisy outputs: least squares averages the noise down as
/// redundant calls are added; read-off designs cannot.
fn noise_table() {
    let sigma = 1e-6;
    let a = random_matrix(random_pattern(1000, 1000, 5, 8), 8);
    let p = Noisy { inner: PatternFunction { a }, sigma, seed: 8 };
    let structure = Structure::sparse(p.pattern());
    let x0 = p.x0();
    let truth = p.jacobian(&x0);
    let rho = structure.lower_bound();
    println!();
    println!("Noise σ = {sigma:e} on every output of a 1000×1000 function with 5 nonzeros per row (ρ_max = {rho}),");
    println!("step `Step::Noise(σ)`, forward differences unless stated. Error: relative Frobenius; mean reported");
    println!("standard error relative to the mean |J| entry.");
    println!();
    println!("| design | calls | relative error | mean standard error / mean abs(J) |");
    println!("|---|---|---|---|");
    let mean_abs = truth.values().iter().map(|v| v.abs()).sum::<f64>() / truth.values().len() as f64;
    let run = |name: String, design: Design, difference: Difference| {
        let settings = Settings { design, difference, step: Step::Noise(sigma), seed: 1, ..Settings::default() };
        let est = jacobian_with(&p, &x0, &structure, &settings).expect("valid problem");
        let se = est
            .std_errors()
            .map_or("—".to_string(), |s| format!("{:.1e}", s.iter().sum::<f64>() / s.len() as f64 / mean_abs));
        println!("| {name} | {} | {:.1e} | {se} |", est.diagnostics().calls, relative_error(est.jacobian(), &truth));
    };
    run("coordinate".into(), Design::Coordinate, Difference::Forward);
    run("coordinate, central".into(), Design::Coordinate, Difference::Central);
    run("colored".into(), Design::Colored { ordering: None }, Difference::Forward);
    run("colored, central".into(), Design::Colored { ordering: None }, Difference::Central);
    for mult in [1, 2, 4, 8, 16, 64] {
        let k = rho * mult + 2;
        run(format!("rainbow k = {k}"), Design::Rainbow { ordering: None, directions: Some(k) }, Difference::Forward);
    }
    for mult in [2, 8, 16] {
        let k = rho * mult + 2;
        let design = Design::Rainbow { ordering: None, directions: Some(k) };
        run(format!("rainbow k = {k}, central"), design, Difference::Central);
    }
    for mult in [1, 4, 16, 64] {
        let k = rho * mult + 2;
        let design = Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(k) };
        run(format!("random k = {k}"), design, Difference::Forward);
    }
}

fn suite_tables() {
    println!("| pattern | n | m | nnz | ρ_max | {} |", Ordering::ALL.map(|o| format!("χ {}", o.name())).join(" | "));
    println!("|---|---|---|---|---|{}", "---|".repeat(Ordering::ALL.len()));
    let suite = calls_suite();
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
            let est = jacobian_with(p.as_ref(), &x0, &structure, &settings).expect("valid problem");
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
        let colored = jacobian_with(p.as_ref(), &x0, &structure, &Settings::default()).expect("valid problem");
        let chi = colored.diagnostics().colors.map_or(0, |(_, c)| c);
        let ec = relative_error(colored.jacobian(), &truth);
        let rho = structure.lower_bound();
        for k in rho..=rho + 4 {
            let settings = Settings {
                design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(k) },
                ..Settings::default()
            };
            let est = jacobian_with(p.as_ref(), &x0, &structure, &settings).expect("valid problem");
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
