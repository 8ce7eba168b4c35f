//! The left action `vᵀJ`: calls and accuracy of both routes, against coordinate
//! differences (`n + 1` calls), and the number of directions sparse recovery of a
//! sparse `w` needs.
//!
//! Table 1: one row per case (known pattern with a dense or a one-nonzero `v`, unknown
//! pattern with a 10-sparse `w`, batches of 8, gradients, 10% of the calls garbage
//! with and without `outliers` declared), the route `Route::Auto` picked, the calls
//! made and the relative error of `w` against the analytic `Jᵀv`.
//!
//! Table 2: `w` with 10 nonzeros among n = 10,000 unknown places (a function whose
//! Jacobian has 10 nonzero columns), `k` Gaussian directions forced: the fraction of
//! trials (different `v` and seeds) whose support is exact and whose values are within
//! 1e-6, for OMP and BPDN (3 trials, k ≥ 80: an interior-point solve over all n
//! unknowns takes seconds), and the time per `vjp` (calls and decode).
//!
//! ```text
//! cargo run --release -p jacsense --example vjp
//! ```

use std::time::Instant;

use jacsense::{
    Blackbox, Pattern, Route, Settings, SparseMethod, Structure, VjpEstimate, VjpPlan, VjpSettings, gradient, vjp,
    vjp_batch,
};
use jacsense_problems::{
    Corrupted, PatternFunction, Problem, SparseScalar, left_action as truth, random_matrix, random_pattern,
    vector_relative_error as rel_err,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn random_v(m: usize, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..m).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// m outputs of n inputs; every row uses 4 of the same 10 inputs (drawn with `seed`).
fn ten_columns(m: usize, n: usize, seed: u64) -> (PatternFunction, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let columns: Vec<usize> = rand::seq::index::sample(&mut rng, n, 10).into_vec();
    let rows: Vec<Vec<usize>> = (0..m)
        .map(|_| {
            let mut r: Vec<usize> = rand::seq::index::sample(&mut rng, 10, 4).into_iter().map(|p| columns[p]).collect();
            r.sort_unstable();
            r
        })
        .collect();
    let pattern = Pattern::from_rows(n, &rows).expect("in range");
    let mut used: Vec<usize> = pattern.entries().map(|(_, j)| j).collect();
    used.sort_unstable();
    used.dedup();
    (PatternFunction { a: random_matrix(pattern, seed + 1) }, used)
}

fn row(case: &str, n: usize, m: usize, est: &VjpEstimate, err: f64) {
    println!("| {case} | {n} | {m} | {} ({}) | {} | {} | {err:.1e} |", est.route.name(), est.decoder, est.calls, n + 1);
}

fn cases() {
    println!("| case | n | m | route (decoder) | calls | coordinate calls (n + 1) | relative error |");
    println!("|---|---|---|---|---|---|---|");
    let known = PatternFunction { a: random_matrix(random_pattern(50, 10_000, 20, 1), 2) };
    let x0 = known.x0();
    let structure = Structure::sparse(known.pattern());
    let auto = VjpSettings::default();

    let v = random_v(50, 3);
    let est = vjp(&known, &x0, &v, &structure, &auto).expect("valid input");
    row("known pattern (20 per row), dense v", 10_000, 50, &est, rel_err(&est.w, &truth(&known, &x0, &v)));

    let mut v1 = vec![0.0; 50];
    v1[7] = 1.0;
    let est = vjp(&known, &x0, &v1, &structure, &auto).expect("valid input");
    row("known pattern, v = e_7 (20 candidates)", 10_000, 50, &est, rel_err(&est.w, &truth(&known, &x0, &v1)));

    // A short row: the direct route beats the Jacobian plan.
    let n = 10_000;
    let mut rows: Vec<Vec<usize>> = (0..50).map(|i| known.pattern().row(i).to_vec()).collect();
    rows[0] = vec![5, 700, 9999];
    let short = PatternFunction { a: random_matrix(Pattern::from_rows(n, &rows).expect("in range"), 3) };
    let xs = short.x0();
    let mut v0 = vec![0.0; 50];
    v0[0] = 1.0;
    let est = vjp(&short, &xs, &v0, &Structure::sparse(short.pattern()), &auto).expect("valid input");
    row("known pattern, v = e_0 on a 3-entry row", n, 50, &est, rel_err(&est.w, &truth(&short, &xs, &v0)));

    // 10% of the calls grossly wrong (huge, random, sign-flipped or stale values).
    let mut f0 = vec![0.0; 50];
    short.call(&xs, &mut f0).expect("an exact function");
    let scale = f0.iter().fold(1.0f64, |s, y| s.max(y.abs()));
    let bad = |f: &PatternFunction, x0: &[f64], seed| Corrupted {
        inner: f.clone(),
        fraction: 0.1,
        seed,
        anchor: x0.to_vec(),
        scale,
    };
    let robust = VjpSettings { jacobian: Settings { outliers: 0.1, ..Settings::default() }, ..auto.clone() };
    let t0 = truth(&short, &xs, &v0);
    // The first corruption seed from 1 on that spoils some of the 15 calls: 10% garbage
    // spares all 15 about a fifth of the time, and the row would then show nothing.
    let short_structure = Structure::sparse(short.pattern());
    let plan = VjpPlan::new(&short_structure, &xs, std::slice::from_ref(&v0), &robust).expect("valid input");
    let spoiled = |f: &Corrupted<PatternFunction>| {
        let (mut x, mut exact, mut got) = (vec![0.0; n], vec![0.0; 50], vec![0.0; 50]);
        (0..plan.calls())
            .filter(|&call| {
                plan.point(call, &mut x).expect("in range");
                f.inner.call(&x, &mut exact).expect("an exact function");
                f.call(&x, &mut got).expect("garbage, not failure");
                got != exact
            })
            .count()
    };
    let seed = (1..).find(|&seed| spoiled(&bad(&short, &xs, seed)) > 0).expect("some seed spoils a call");
    let garbage = bad(&short, &xs, seed);
    let est = vjp(&garbage, &xs, &v0, &short_structure, &robust).expect("valid input");
    let case = format!(
        "v = e_0 on a 3-entry row, 10% calls garbage (seed {seed}: {} spoiled), outliers = 0.1 ({} flagged)",
        spoiled(&garbage),
        est.outliers.len()
    );
    row(&case, n, 50, &est, rel_err(&est.w, &t0));
    let plain = VjpSettings { route: Route::Direct, directions: Some(est.calls - 1), ..auto.clone() };
    let est = vjp(&garbage, &xs, &v0, &short_structure, &plain).expect("valid input");
    row("the same calls, outliers not declared", n, 50, &est, rel_err(&est.w, &t0));
    let est = vjp(&bad(&known, &x0, 1), &x0, &v, &structure, &robust).expect("valid input");
    let case = format!("known pattern, dense v, 10% calls garbage, outliers = 0.1 ({} flagged)", est.outliers.len());
    row(&case, n, 50, &est, rel_err(&est.w, &truth(&known, &x0, &v)));

    let vs: Vec<Vec<f64>> = (0..8).map(|g| random_v(50, 30 + g)).collect();
    let ws = vjp_batch(&known, &x0, &vs, &structure, &auto).expect("valid input");
    let worst = vs.iter().zip(&ws).map(|(v, e)| rel_err(&e.w, &truth(&known, &x0, v))).fold(0.0, f64::max);
    row("known pattern, batch of 8 dense v (worst)", n, 50, &ws[0], worst);

    let (tens, _) = ten_columns(50, n, 5);
    let xt = tens.x0();
    let dense = Structure::dense(50, n);
    let sparse = VjpSettings { sparsity: Some(10), ..VjpSettings::default() };
    let est = vjp(&tens, &xt, &v, &dense, &sparse).expect("valid input");
    row("unknown pattern, w 10-sparse", n, 50, &est, rel_err(&est.w, &truth(&tens, &xt, &v)));
    let ws = vjp_batch(&tens, &xt, &vs, &dense, &sparse).expect("valid input");
    let worst = vs.iter().zip(&ws).map(|(v, e)| rel_err(&e.w, &truth(&tens, &xt, v))).fold(0.0, f64::max);
    row("unknown pattern, w 10-sparse, batch of 8 (worst)", n, 50, &ws[0], worst);

    let terms = vec![(3, 0.5), (99, -1.0), (1000, 0.25), (2500, 2.0), (4999, -0.75)];
    let s = SparseScalar { n, terms: terms.clone() };
    let xg: Vec<f64> = (0..n).map(|j| (j as f64 * 0.37).sin()).collect();
    let g = truth(&s, &xg, &[1.0]);
    let cols: Vec<usize> = terms.iter().map(|t| t.0).collect();
    let pattern = Structure::sparse(Pattern::from_rows(n, &[cols]).expect("in range"));
    let est = gradient(&s, &xg, &pattern, &auto).expect("valid input");
    row("gradient (m = 1), known 5 inputs", n, 1, &est, rel_err(&est.w, &g));
    let est = gradient(&s, &xg, &Structure::dense(1, n), &VjpSettings { sparsity: Some(5), ..auto.clone() })
        .expect("valid input");
    row("gradient (m = 1), 5-sparse, unknown pattern", n, 1, &est, rel_err(&est.w, &g));
}

fn sparse_directions() {
    const N: usize = 10_000;
    const TRIALS: u64 = 10;
    // BPDN takes seconds per decode at this size: fewer trials, larger k only.
    const BPDN_TRIALS: u64 = 3;
    println!();
    println!(
        "w 10-sparse among n = {N} (m = 50, unknown pattern), k directions forced, {TRIALS} trials (BPDN {BPDN_TRIALS}, k ≥ 80):"
    );
    println!();
    println!("| k | calls | OMP recovered | OMP ms/vjp | BPDN recovered | BPDN ms/vjp |");
    println!("|---|---|---|---|---|---|");
    let dense = Structure::dense(50, N);
    for k in [30, 40, 50, 60, 70, 80, 90, 100, 120] {
        let mut cells = Vec::new();
        for method in [SparseMethod::Omp, SparseMethod::BasisPursuitDenoising] {
            let trials = if method == SparseMethod::Omp { TRIALS } else { BPDN_TRIALS };
            if method == SparseMethod::BasisPursuitDenoising && k < 80 {
                cells.push("– | –".to_string());
                continue;
            }
            let (mut ok, mut seconds) = (0, 0.0);
            for trial in 0..trials {
                let (f, used) = ten_columns(50, N, 100 + trial);
                let x0 = f.x0();
                let v = random_v(50, 200 + trial);
                let settings = VjpSettings {
                    route: Route::Direct,
                    sparsity: Some(10),
                    directions: Some(k),
                    sparse_method: method,
                    seed: trial,
                    ..VjpSettings::default()
                };
                let start = Instant::now();
                let est = vjp(&f, &x0, &v, &dense, &settings).expect("valid input");
                seconds += start.elapsed().as_secs_f64();
                if est.support.as_deref() == Some(used.as_slice()) && rel_err(&est.w, &truth(&f, &x0, &v)) <= 1e-6 {
                    ok += 1;
                }
            }
            cells.push(format!("{ok}/{trials} | {:.0}", 1e3 * seconds / trials as f64));
        }
        println!("| {k} | {} | {} | {} |", k + 1, cells[0], cells[1]);
    }
}

fn main() {
    cases();
    sparse_directions();
}
