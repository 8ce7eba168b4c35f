//! Sparse recovery: how many calls recover rows with 5 nonzeros among 1000 candidates?
//!
//! For k = 20 … 100 Gaussian directions, 100 rows with 5 nonzeros (±[0.1, 1]) in unknown
//! places, measurements perturbed by 1e-9 relative (finite-difference noise): the
//! fraction of rows whose support is exactly right and whose values are within 1e-6
//! (relative), for OMP and BPDN, and rows per second of each at k = 60.
//!
//! ```text
//! cargo run --release -p jacsense --example sparse
//! ```

use std::time::Instant;

use faer::{Mat, MatRef};
use jacsense::decode::{Decoder, SparseRecovery};
use jacsense::{RowStatus, SparseMethod};
use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

const N: usize = 1000;
const M: usize = 100;
const S: usize = 5;
const NOISE: f64 = 1e-9;

struct Problem {
    a: Mat<f64>,
    truth: Mat<f64>,
    y: Mat<f64>,
}

fn problem(k: usize, seed: u64) -> Problem {
    let mut rng = StdRng::seed_from_u64(seed);
    let a = Mat::from_fn(k, N, |_, _| rng.sample::<f64, _>(StandardNormal));
    let mut truth = Mat::<f64>::zeros(N, M);
    for g in 0..M {
        for j in sample(&mut rng, N, S) {
            let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
            truth[(j, g)] = sign * (0.1 + 0.9 * rng.random::<f64>());
        }
    }
    let mut y = &a * &truth;
    for g in 0..M {
        let e: Vec<f64> = (0..k).map(|_| rng.sample(StandardNormal)).collect();
        let scale = NOISE * y.col(g).norm_l2() / e.iter().map(|v| v * v).sum::<f64>().sqrt();
        for (i, v) in e.iter().enumerate() {
            y[(i, g)] += scale * v;
        }
    }
    Problem { a, truth, y }
}

/// Rows whose support is exactly right and whose values are within 1e-6 (relative).
fn recovered(z: MatRef<'_, f64>, truth: MatRef<'_, f64>, status: &[RowStatus]) -> usize {
    (0..truth.ncols())
        .filter(|&g| {
            let support_right = (0..N).all(|j| (z[(j, g)] != 0.0) == (truth[(j, g)] != 0.0));
            let err = (z.col(g) - truth.col(g)).norm_l2() / truth.col(g).norm_l2();
            status[g] == RowStatus::Determined && support_right && err <= 1e-6
        })
        .count()
}

/// Decodes every row; returns the rows recovered and the seconds taken.
fn run(method: SparseMethod, p: &Problem) -> (usize, f64) {
    let decoder = SparseRecovery { method, ..SparseRecovery::default() };
    let mut z = Mat::zeros(N, M);
    let start = Instant::now();
    let solves = decoder.solve(p.a.as_ref(), p.y.as_ref(), z.as_mut());
    let seconds = start.elapsed().as_secs_f64();
    let status: Vec<RowStatus> = solves.into_iter().map(|s| s.status).collect();
    (recovered(z.as_ref(), p.truth.as_ref(), &status), seconds)
}

fn main() {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    println!(
        "n = {N} candidates, m = {M} rows, s = {S} nonzeros per row, noise {NOISE:e} relative, {threads} threads\n"
    );
    println!("| calls k | OMP recovered | BPDN recovered |");
    println!("|---:|---:|---:|");
    for k in [20, 30, 40, 50, 60, 80, 100] {
        let p = problem(k, 2017 + k as u64);
        let (omp, _) = run(SparseMethod::Omp, &p);
        let (bpdn, _) = run(SparseMethod::BasisPursuitDenoising, &p);
        println!("| {k} | {:.2} | {:.2} |", omp as f64 / M as f64, bpdn as f64 / M as f64);
    }

    // Speed at k = 60: best of a few runs, all rows each time.
    let p = problem(60, 2077);
    let best = |method, repeats| (0..repeats).map(|_| run(method, &p).1).fold(f64::INFINITY, f64::min);
    let omp = best(SparseMethod::Omp, 20);
    let bpdn = best(SparseMethod::BasisPursuitDenoising, 2);
    println!("\n| k = 60 | rows/s | relative to OMP |");
    println!("|---|---:|---:|");
    println!("| OMP | {:.0} | 1 |", M as f64 / omp);
    println!("| BPDN | {:.1} | {:.4} |", M as f64 / bpdn, omp / bpdn);
}
