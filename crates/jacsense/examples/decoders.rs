//! Decoders compared: throughput (rows per second, one thread) and recovery under
//! gross corruption, for least squares, the L1 fast path and the L1 reference
//! (Clarabel).
//!
//! ```text
//! cargo run --release -p jacsense --example decoders
//! ```
//!
//! Rows are `y = A z` with Gaussian `A` (k × d) and `z`, one system per row (nothing
//! shared between rows), and a fraction of the measurements replaced by one of four
//! kinds of garbage in turn: ±1e6, a random value of the scale of `y`, the sign
//! flipped, the value of another measurement.

use std::hint::black_box;
use std::time::Instant;

use faer::Mat;
use jacsense::decode::{Decoder, L1Reference, LeastAbsoluteDeviations, LeastSquares};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

/// One row's problem: the system, the data, the truth.
struct Row {
    a: Mat<f64>,
    y: Mat<f64>,
    truth: Vec<f64>,
}

fn row(rng: &mut StdRng, k: usize, d: usize, corrupted: usize) -> Row {
    let a = Mat::from_fn(k, d, |_, _| rng.sample::<f64, _>(StandardNormal));
    let truth: Vec<f64> = (0..d).map(|_| rng.sample(StandardNormal)).collect();
    let clean: Vec<f64> = (0..k).map(|i| (0..d).map(|j| a[(i, j)] * truth[j]).sum()).collect();
    let scale = (clean.iter().map(|v| v * v).sum::<f64>() / k as f64).sqrt();
    let mut y = Mat::from_fn(k, 1, |i, _| clean[i]);
    for (n, i) in rand::seq::index::sample(rng, k, corrupted).into_iter().enumerate() {
        y[(i, 0)] = match n % 4 {
            0 => {
                if rng.random::<bool>() {
                    1e6
                } else {
                    -1e6
                }
            }
            1 => scale * rng.sample::<f64, _>(StandardNormal),
            2 => -clean[i],
            _ => clean[(i + 1 + rng.random_range(0..k - 1)) % k],
        };
    }
    Row { a, y, truth }
}

fn rows(seed: u64, count: usize, k: usize, d: usize, fraction: f64) -> Vec<Row> {
    let mut rng = StdRng::seed_from_u64(seed);
    let corrupted = (fraction * k as f64).round() as usize;
    (0..count).map(|_| row(&mut rng, k, d, corrupted)).collect()
}

fn rate(decoder: &dyn Decoder, rows: &[Row], seconds: f64) -> f64 {
    let mut z = Mat::zeros(rows[0].a.ncols(), 1);
    let start = Instant::now();
    let mut done = 0usize;
    while start.elapsed().as_secs_f64() < seconds {
        for r in rows {
            black_box(decoder.solve(r.a.as_ref(), r.y.as_ref(), z.as_mut()));
        }
        done += rows.len();
    }
    done as f64 / start.elapsed().as_secs_f64()
}

fn recovered(decoder: &dyn Decoder, rows: &[Row]) -> f64 {
    let mut z = Mat::zeros(rows[0].a.ncols(), 1);
    let ok = rows
        .iter()
        .filter(|r| {
            decoder.solve(r.a.as_ref(), r.y.as_ref(), z.as_mut());
            let err: f64 = r.truth.iter().enumerate().map(|(j, t)| (z[(j, 0)] - t).powi(2)).sum();
            let norm: f64 = r.truth.iter().map(|t| t * t).sum();
            (err / norm).sqrt() <= 1e-9
        })
        .count();
    ok as f64 / rows.len() as f64
}

fn main() {
    let ls = LeastSquares::default();
    let l1 = LeastAbsoluteDeviations::default();
    let reference = L1Reference::default();

    println!("Throughput, rows per second on one thread (Gaussian A, 10% of measurements garbage):\n");
    println!("| d | k | least squares | L1 fast | L1 reference (Clarabel) | L1 fast / LS | L1 fast / reference |");
    println!("|---|---|---|---|---|---|---|");
    for (d, k) in [(5, 20), (10, 40), (20, 80), (50, 200)] {
        let set = rows(1, 500, k, d, 0.1);
        let r_ls = rate(&ls, &set, 0.5);
        let r_l1 = rate(&l1, &set, 0.5);
        let r_ref = rate(&reference, &set[..50], 0.5);
        println!("| {d} | {k} | {r_ls:.0} | {r_l1:.0} | {r_ref:.0} | {:.2} | {:.0} |", r_l1 / r_ls, r_l1 / r_ref);
    }

    let (d, k, count) = (10, 40, 400);
    println!("\nRows recovered to relative error ≤ 1e-9 (d = {d}, k = {k}, {count} rows per fraction):\n");
    println!("| corrupted | least squares | L1 fast | L1 reference |");
    println!("|---|---|---|---|");
    for (n, fraction) in [0.0, 0.05, 0.10, 0.20, 0.25, 0.30].into_iter().enumerate() {
        let set = rows(100 + n as u64, count, k, d, fraction);
        let corrupted = (fraction * k as f64).round() as usize;
        println!(
            "| {:.0}% ({corrupted}/{k}) | {:.3} | {:.3} | {:.3} |",
            100.0 * fraction,
            recovered(&ls, &set),
            recovered(&l1, &set),
            recovered(&reference, &set)
        );
    }

    // How much redundancy L1 decoding needs per corruption level (the planner's rule).
    let d = 10;
    let ratios = [1.5, 2.0, 3.0, 4.0, 6.0, 8.0];
    println!("\nL1 fast path: rows recovered to ≤ 1e-9 by calls per unknown k/d (d = {d}, 400 rows per cell):\n");
    println!("| corrupted | {} |", ratios.map(|r| format!("k/d = {r}")).join(" | "));
    println!("|---|{}", "---|".repeat(ratios.len()));
    for (n, fraction) in [0.05, 0.10, 0.15, 0.20, 0.25, 0.30].into_iter().enumerate() {
        let cells: Vec<String> = ratios
            .iter()
            .map(|&ratio| {
                let k = (ratio * d as f64).round() as usize;
                format!("{:.3}", recovered(&l1, &rows(200 + n as u64, 400, k, d, fraction)))
            })
            .collect();
        println!("| {:.0}% | {} |", 100.0 * fraction, cells.join(" | "));
    }
}
