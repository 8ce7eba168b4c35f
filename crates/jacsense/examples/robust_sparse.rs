//! Robust sparse recovery: an unknown pattern and garbage calls together (issue 10,
//! point 5).
//!
//! A 1600 × 1600 function with 8 nonzeros per row at places jacsense is not told (a
//! block-diagonal pattern of 200 blocks 8 × 8; `PatternFunction`, analytic Jacobian),
//! told only the row sparsity (`Structure::dense(..).with_row_sparsity(8)`) and
//! `outliers = 0.1`; 5% (the target of issue 10) or 10% of the calls return garbage
//! (`corrupt_calls`: huge, random, sign-flipped and stale values, in turn; a spoiled
//! `f(x0)` included). For the planner's plan and for more Gaussian directions: calls, relative error of J, the garbage calls named
//! (precision / recall against the calls spoiled), rows that did not fit, and the
//! wall times of the calls and of the decode, per corruption seed.
//!
//! Last, told nothing (`Structure::dense(n, n)`, `outliers = 0.1`): a session's
//! adaptive rounds, each round's calls spoiled at the same fraction.
//!
//! ```text
//! cargo run --release -p jacsense --example robust_sparse            # the table
//! cargo run --release -p jacsense --example robust_sparse -- --quick # the planner's plan, one seed (CI)
//! ```

use std::time::Instant;

use jacsense::{Design, Measurements, Plan, RandomDistribution, Session, SessionOptions, Settings, Structure};
use jacsense_problems::{
    PatternFunction, Problem, corrupt_calls, evaluate_calls, outlier_scores, random_matrix, relative_error,
};

const BLOCKS: usize = 200;
const S: usize = 8;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = BLOCKS * S;
    let pattern = jacsense::Pattern::block_diagonal(&[(S, S); BLOCKS]);
    let f = PatternFunction { a: random_matrix(pattern, 11) };
    let x0 = f.x0();
    let truth = f.jacobian(&x0);
    let structure = Structure::dense(n, n).with_row_sparsity(S);
    println!("n = m = {n}, {S} nonzeros per row at unknown places, told outliers = 0.1 and the row sparsity");
    println!();
    println!(
        "| directions | calls | garbage | seed | relative error | garbage calls | named (precision / recall) | rows not fitted | calls time | decode time |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|");
    let forced: Vec<usize> = if quick { vec![] } else { vec![150, 200] };
    let seeds: Vec<u64> = if quick { vec![1] } else { vec![1, 2, 3] };
    let fractions: &[f64] = if quick { &[0.05] } else { &[0.05, 0.1] };
    let mut designs: Vec<(String, Settings)> =
        vec![("planner".to_string(), Settings { outliers: 0.1, ..Settings::default() })];
    for &k in &forced {
        designs.push((
            format!("{k}"),
            Settings {
                outliers: 0.1,
                design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(k) },
                decoder: jacsense::DecoderChoice::RobustSparse,
                ..Settings::default()
            },
        ));
    }
    for (label, settings) in designs {
        let plan = Plan::new(&structure, &x0, &settings).expect("a plan");
        let label = if label == "planner" {
            format!("planner ({}, {})", plan.settings().design.name(), plan.settings().decoder.name())
        } else {
            label
        };
        for (&fraction, &seed) in fractions.iter().flat_map(|f| seeds.iter().map(move |s| (f, s))) {
            let start = Instant::now();
            let mut values = evaluate_calls(&plan, &f);
            let calls_time = start.elapsed().as_secs_f64();
            let bad = corrupt_calls(&mut values, fraction, seed);
            let mut meas = Measurements::new(&plan).expect("the measurements fit in memory");
            for (j, y) in values.iter().enumerate() {
                meas.tell(j, y).expect("one value per call");
            }
            let start = Instant::now();
            let est = meas.decode();
            let decode_time = start.elapsed().as_secs_f64();
            let err = relative_error(est.jacobian(), &truth);
            let flagged: Vec<usize> = est.diagnostics().outliers.iter().map(|o| o.call).collect();
            let (precision, recall) = outlier_scores(&flagged, &bad);
            let not_fitted =
                est.diagnostics().rows.iter().filter(|r| !matches!(r.status, jacsense::RowStatus::Determined)).count();
            println!(
                "| {label} | {} | {:.0}% | {seed} | {err:.1e} | {} | {} ({precision:.2} / {recall:.2}) | {not_fitted} | {calls_time:.2} s | {decode_time:.2} s |",
                plan.calls(),
                fraction * 100.0,
                bad.len(),
                flagged.len(),
            );
        }
    }
    println!();
    println!("Told nothing (a session, `outliers = 0.1`):");
    println!();
    println!(
        "| garbage | seed | calls | rounds | relative error | garbage calls | named (precision / recall) | rows not fitted | time |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---|---:|---:|");
    for (&fraction, &seed) in fractions.iter().flat_map(|f| seeds.iter().map(move |s| (f, s))) {
        let settings = Settings { outliers: 0.1, ..Settings::default() };
        let start = Instant::now();
        let mut session =
            Session::new(&Structure::dense(n, n), &x0, &settings, &SessionOptions::default()).expect("a session");
        let (mut offset, mut bad) = (0, Vec::new());
        while let Some(plan) = session.ask() {
            let mut values = evaluate_calls(plan, &f);
            let spoiled = corrupt_calls(&mut values, fraction, seed.wrapping_mul(1000) + offset as u64);
            bad.extend(spoiled.iter().map(|c| c + offset));
            offset += values.len();
            for (j, y) in values.iter().enumerate() {
                session.tell(j, y).expect("one value per call");
            }
            session.finish_round().expect("a round");
        }
        let time = start.elapsed().as_secs_f64();
        let est = session.into_estimate().expect("an estimate");
        let err = relative_error(est.jacobian(), &truth);
        let flagged: Vec<usize> = est.diagnostics().outliers.iter().map(|o| o.call).collect();
        let (precision, recall) = outlier_scores(&flagged, &bad);
        let not_fitted =
            est.diagnostics().rows.iter().filter(|r| !matches!(r.status, jacsense::RowStatus::Determined)).count();
        println!(
            "| {:.0}% | {seed} | {} | {} | {err:.1e} | {} | {} ({precision:.2} / {recall:.2}) | {not_fitted} | {time:.2} s |",
            fraction * 100.0,
            est.diagnostics().calls,
            est.diagnostics().rounds.len(),
            bad.len(),
            flagged.len(),
        );
    }
}
