//! Told nothing: coordinate differences against an adaptive session (rounds of
//! orthonormal random directions, rows by sparse recovery validated on held-back
//! calls), on every problem of the `calls` example and the targets.
//!
//! Run: `cargo run --release -p jacsense --example told_nothing [-- --quick]`
//!
//! For each problem: calls, relative Frobenius error against the analytic Jacobian,
//! rounds and wall time, for coordinate differences (`n + 1` calls) and for the
//! session (`jacobian`, the default when no structure is given). `--quick` runs the
//! issue's three targets at their sizes and small versions of the rest.

use std::time::Instant;

use jacsense::{Design, Pattern, Settings, Structure, jacobian, jacobian_with};
use jacsense_problems::{
    Arrowhead, Bratu2d, BroydenTridiagonal, LinearMap, PatternFunction, Problem, calls_suite, random_matrix,
    random_pattern, relative_error,
};

fn suite(quick: bool) -> Vec<(String, Box<dyn Problem>)> {
    let on = |p: Pattern, seed| Box::new(PatternFunction { a: random_matrix(p, seed) }) as Box<dyn Problem>;
    let mut v: Vec<(String, Box<dyn Problem>)> = vec![
        ("Broyden tridiagonal n=1000 (target ≤ 60 calls)".into(), Box::new(BroydenTridiagonal { n: 1000 })),
        ("2D Bratu 100x100 (target ≤ 150 calls)".into(), Box::new(Bratu2d { grid: 100, lambda: 6.0 })),
        (
            "dense random n=300 (target ≤ 320 calls)".into(),
            Box::new(LinearMap { a: random_matrix(Pattern::dense(300, 300), 9) }),
        ),
    ];
    if quick {
        v.push(("random, 5 per row, 500x500".into(), on(random_pattern(500, 500, 5, 3), 3)));
        v.push(("arrowhead n=100".into(), Box::new(Arrowhead { n: 100 })));
        return v;
    }
    // The calls table's problems (its Bratu is the target above).
    v.extend(calls_suite().into_iter().filter(|(name, _)| !name.starts_with("2D 5-point (Bratu)")));
    v
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    println!(
        "| problem | n | coordinate calls | coordinate error | session calls | session error | rounds | status | session time | coordinate time |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, p) in suite(quick) {
        let (n, m) = p.dims();
        let x0 = p.x0();
        let truth = p.jacobian(&x0);
        let start = Instant::now();
        let coordinate = Settings { design: Design::Coordinate, ..Settings::default() };
        let c = jacobian_with(p.as_ref(), &x0, &Structure::dense(m, n), &coordinate).expect("valid problem");
        let tc = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let s = jacobian(p.as_ref(), &x0).expect("valid problem");
        let ts = start.elapsed().as_secs_f64();
        println!(
            "| {name} | {n} | {} | {:.1e} | {} | {:.1e} | {} | {} | {ts:.2} s | {tc:.2} s |",
            c.diagnostics().calls,
            relative_error(c.jacobian(), &truth),
            s.diagnostics().calls,
            relative_error(s.jacobian(), &truth),
            s.diagnostics().rounds.len(),
            s.status().name(),
        );
    }
}
