//! Erasures finished by top-up rounds: a pattern with a few dense rows (ρ_max = 201,
//! coloring: 202 calls) whose calls crash at random, as one plan and as a session.
//!
//! Run: `cargo run --release -p jacsense --example erasures [-- --quick]`
//!
//! A crashed call of a colored design loses its color in every row: one plan leaves
//! those entries NaN. A session ([`jacsense::jacobian_with`]) tops the rows up with
//! random directions on exactly the columns they miss, until every row is determined.
//! `--quick` runs the 5% case only.

use jacsense::{Plan, Settings, Structure, jacobian_with};
use jacsense_problems::{Crashing, PatternFunction, Problem, hub_pattern, random_matrix, relative_error};

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = 1000;
    let pattern = hub_pattern(n);
    let inner = PatternFunction { a: random_matrix(pattern.clone(), 5) };
    let x0 = inner.x0();
    let truth = inner.jacobian(&x0);
    let structure = Structure::sparse(pattern);
    println!("Hub-like pattern n = {n}, ρ_max = {}, colored design; calls crash at random.", structure.lower_bound());
    println!();
    println!(
        "| calls crashing | one plan: calls | erasures | undetermined rows | session: calls | rounds | erasures | undetermined rows | error | status |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let rates: &[(u64, &str)] = if quick { &[(20, "5%")] } else { &[(0, "0%"), (20, "5%"), (10, "10%"), (5, "20%")] };
    for &(every, name) in rates {
        let f = Crashing { inner: inner.clone(), every, spare: None };
        let plan = Plan::new(&structure, &x0, &Settings::default()).expect("valid");
        let one = plan.evaluate(&f).expect("valid").decode();
        let est = jacobian_with(&f, &x0, &structure, &Settings::default()).expect("valid");
        let d = est.diagnostics();
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {:.1e} | {} |",
            one.diagnostics().calls,
            one.diagnostics().erasures.len(),
            one.undetermined_rows().len(),
            d.calls,
            d.rounds.len(),
            d.erasures.len(),
            est.undetermined_rows().len(),
            relative_error(est.jacobian(), &truth),
            est.status().name(),
        );
    }
}
