//! Planning time: what a plan costs before any call, for dense (nothing known) and
//! sparse structures, against the old path measured in the same run.
//!
//! Run with `cargo run --release -p jacsense --example planning` for the table of
//! BENCHMARKS.md, or with `-- --quick` (smaller baseline and stencil, as CI runs it).
//!
//! Each row times `Structure` construction plus `Plan::new` with the default settings
//! (the planner chooses), best of three runs; "calls" and "χ" are the plan's. A dense
//! pattern takes `O(n)` memory and its plan `O(m + n)` time: a row holding every
//! column forces `χ = n`, so no ordering is tried.
//!
//! The baseline is the old path: every ordering and iterated greedy
//! (`best_column_coloring`) on a pattern whose coloring cannot be shortcut — the dense
//! pattern less its diagonal, `m·n − n` stored entries, `χ = n` as for the dense one,
//! and no full row to tell it. That is the work the planner did on a dense pattern
//! before (`O(m·n²)` per ordering); the ratio is its time over the dense plan's.
//!
//! The last table reuses one [`Scheme`] at 100 points of the 5-point stencil (each
//! point's plan: steps scaled to `x0`, no coloring), against a fresh `Plan::new` per
//! point (a coloring each time), timed at 3 points and reported per point.

use std::time::Instant;

use jacsense::coloring::best_column_coloring;
use jacsense::{Blackbox, Pattern, Plan, Scheme, Settings, Structure};
use jacsense_problems::{Bratu2d, Problem};

/// Best of `runs` wall-clock times of `f`, in seconds, and its last result.
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed().as_secs_f64());
        out = Some(value);
    }
    (best, out.expect("at least one run"))
}

/// Times building a structure and planning for it; prints one table row.
fn row(name: &str, runs: usize, build: impl Fn() -> Structure) -> f64 {
    let (seconds, plan) = best_of(runs, || {
        let structure = build();
        let (n, _) = structure.dims();
        Plan::new(&structure, &vec![0.5; n], &Settings::default()).expect("a valid structure plans")
    });
    let chi = plan.coloring().map_or("—".to_string(), |(_, c)| c.num_colors().to_string());
    println!(
        "| {name} | {} | {} | {} | {chi} | {} |",
        ms(seconds),
        plan.settings().design.name(),
        plan.calls(),
        plan.lower_bound()
    );
    seconds
}

fn ms(seconds: f64) -> String {
    if seconds < 0.01 { format!("{:.2} ms", seconds * 1e3) } else { format!("{:.1} ms", seconds * 1e3) }
}

/// The dense `n × n` pattern less its diagonal.
fn dense_less_diagonal(n: usize) -> Pattern {
    let rows: Vec<Vec<usize>> = (0..n).map(|i| (0..n).filter(|&j| j != i).collect()).collect();
    Pattern::from_rows(n, &rows).expect("in range")
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (baseline_n, grid) = if quick { (300, 300) } else { (1000, 1000) };

    println!("| structure | plan | design | calls | χ | ρ_max |");
    println!("|---|---|---|---|---|---|");
    let mut dense_times = Vec::new();
    for n in [1000, 3000, 100_000] {
        let t = row(&format!("dense, n = m = {n}"), 3, || Structure::dense(n, n));
        dense_times.push((n, t));
    }
    row("dense symmetric, n = 3000", 3, || Structure::symmetric(Pattern::dense(3000, 3000)).expect("square"));
    let stencil = Bratu2d { grid, lambda: 1.0 };
    let (cols, _) = stencil.dims();
    let pattern = stencil.pattern();
    row(&format!("2D 5-point stencil, {grid}×{grid} grid (n = {cols})"), 1, || Structure::sparse(pattern.clone()));

    println!();
    let (old, (_, coloring)) = best_of(1, || best_column_coloring(&dense_less_diagonal(baseline_n)));
    let (_, new) = dense_times.iter().copied().find(|&(n, _)| n == baseline_n).unwrap_or_else(|| {
        let (t, _) = best_of(3, || {
            Plan::new(&Structure::dense(baseline_n, baseline_n), &vec![0.5; baseline_n], &Settings::default())
        });
        (baseline_n, t)
    });
    println!("| old path at n = m = {baseline_n} | time | χ | speed-up of the dense plan |");
    println!("|---|---|---|---|");
    println!(
        "| every ordering + recoloring, dense less diagonal | {} | {} | {:.0}× |",
        ms(old),
        coloring.num_colors(),
        old / new
    );

    // One scheme, many points: the coloring once.
    println!();
    let structure = Structure::sparse(pattern.clone());
    let point = |p: usize| -> Vec<f64> { (0..cols).map(|c| 0.1 * ((c + p) % 7) as f64).collect() };
    let points: Vec<Vec<f64>> = (0..100).map(point).collect();
    let start = Instant::now();
    let scheme = Scheme::new(&structure, &Settings::default()).expect("the stencil plans");
    let scheme_time = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let calls: usize = points.iter().map(|x| scheme.at(x).expect("a point of the right length").calls()).sum();
    let reuse = start.elapsed().as_secs_f64() / points.len() as f64;
    let fresh_points = 3;
    let start = Instant::now();
    let fresh_calls: usize = points[..fresh_points]
        .iter()
        .map(|x| Plan::new(&structure, x, &Settings::default()).expect("the stencil plans").calls())
        .sum();
    let fresh = start.elapsed().as_secs_f64() / fresh_points as f64;
    assert_eq!(calls / points.len(), fresh_calls / fresh_points, "the same plan either way");
    println!("| 2D 5-point stencil, n = {cols}: a plan per point | time per point | calls per point |");
    println!("|---|---|---|");
    println!(
        "| `Scheme::new` once ({}), then `scheme.at(x)` at 100 points | {} | {} |",
        ms(scheme_time),
        ms(reuse),
        calls / points.len()
    );
    println!("| `Plan::new` at each point (mean of {fresh_points}) | {} | {} |", ms(fresh), fresh_calls / fresh_points);
    println!("| ratio | {:.0}× | |", fresh / reuse);
}
