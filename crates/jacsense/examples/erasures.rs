//! Erasures finished by top-up rounds: a pattern with a few dense rows (ρ_max = 201,
//! coloring: 202 calls) whose calls crash at random, as one plan and as a session.
//!
//! Run: `cargo run --release -p jacsense --example erasures [-- --quick]`
//!
//! A crashed call of a colored design loses its color in every row: one plan leaves
//! those entries NaN. A session ([`jacsense::jacobian_with`]) tops the rows up with
//! random directions on exactly the columns they miss, until every row is determined.
//! `--quick` runs the 5% case only.

use jacsense::{Blackbox, CallError, Pattern, Plan, Settings, Structure, jacobian_with};
use jacsense_problems::{PatternFunction, Problem, random_matrix, random_pattern, relative_error};

/// Crashes on about `1/every` of the points, chosen by a hash of the point.
struct Crashing<P> {
    inner: P,
    every: u64,
}

impl<P: Blackbox> Blackbox for Crashing<P> {
    fn dims(&self) -> (usize, usize) {
        self.inner.dims()
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        let mut h: u64 = 0;
        for v in x {
            h = (h ^ v.to_bits()).wrapping_add(0x9e37_79b9_7f4a_7c15);
            h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            h ^= h >> 31;
        }
        if self.every > 0 && h.is_multiple_of(self.every) {
            return Err(CallError("crash".into()));
        }
        self.inner.call(x, y)
    }
}

/// Five rows of 201 nonzeros over a tridiagonal band, n = 1000.
fn hub_pattern(n: usize) -> Pattern {
    let mut entries: Vec<(usize, usize)> = Pattern::banded(n, n, 1, 1).entries().collect();
    entries.retain(|(i, _)| i % (n / 5) != 0);
    for (i, j) in random_pattern(5, n, 201, 4).entries() {
        entries.push((i * (n / 5), j));
    }
    Pattern::from_triplets(n, n, &entries).expect("in range")
}

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
        let f = Crashing { inner: inner.clone(), every };
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
