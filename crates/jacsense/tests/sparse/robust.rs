//! Robust sparse recovery: unknown supports and garbage calls together, against truth
//! drawn at random (decoder level) and an analytic Jacobian (through a plan).

use faer::Mat;
use jacsense::decode::{Decoder, RobustSparse};
use jacsense::{DecoderChoice, Design, Measurements, Plan, RandomDistribution, RowStatus, Settings, Structure};
use jacsense_problems::{
    PatternFunction, Problem, corrupt_calls, evaluate_calls, outlier_scores, random_matrix, relative_error,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{gaussian, measure, sparse_rows, support_of};

/// `y` with the calls `bad` spoiled in every column: huge, sign-flipped, a copy of
/// another call (stale), or random, in turn.
fn spoil(rng: &mut StdRng, y: &mut Mat<f64>, bad: &[usize]) {
    let k = y.nrows();
    for (n, &t) in bad.iter().enumerate() {
        let other = (t + 1 + rng.random_range(0..k - 1)) % k;
        for g in 0..y.ncols() {
            y[(t, g)] = match n % 4 {
                0 => 1e12,
                1 => -y[(t, g)],
                2 => y[(other, g)],
                _ => rng.random_range(-1.0..1.0) * 10.0,
            };
        }
    }
}

#[test]
fn garbage_calls_are_named_and_every_row_recovered() {
    // 200 unknowns, rows with 4 nonzeros, 70 calls of which 7 are garbage.
    let mut rng = StdRng::seed_from_u64(5);
    let (k, d, m) = (70, 200, 60);
    let a = gaussian(&mut rng, k, d);
    let truth = sparse_rows(&mut rng, d, m, 4);
    let mut y = measure(&mut rng, a.as_ref(), truth.as_ref(), 1e-10);
    let bad = vec![3, 11, 20, 34, 47, 58, 69];
    spoil(&mut rng, &mut y, &bad);
    let decoder = RobustSparse { max_support: Some(4), outliers: 0.1, ..RobustSparse::default() };
    let fit = decoder.decode_rows(a.as_ref(), y.as_ref());
    assert_eq!(fit.outlier_calls, bad);
    for g in 0..m {
        assert_eq!(fit.supports[g].as_deref(), Some(&support_of(truth.as_ref(), g)[..]), "row {g}");
        let err = (fit.values.col(g) - truth.col(g)).norm_l2() / truth.col(g).norm_l2();
        assert!(err < 1e-8, "row {g}: {err:e}");
        assert!(fit.validation[g] < 1e-7, "row {g}: validation {:e}", fit.validation[g]);
        assert_eq!(fit.rows[g].status, RowStatus::Determined);
        assert!(bad.iter().all(|t| fit.rows[g].outliers.contains(t)));
    }
    // The same through the Decoder trait.
    let mut z = Mat::zeros(d, m);
    let solves = decoder.solve(a.as_ref(), y.as_ref(), z.as_mut());
    assert_eq!(z, fit.values);
    assert_eq!(solves.len(), m);
}

#[test]
fn a_row_denser_than_declared_is_not_claimed() {
    let mut rng = StdRng::seed_from_u64(8);
    let (k, d, m) = (60, 150, 10);
    let a = gaussian(&mut rng, k, d);
    let mut truth = sparse_rows(&mut rng, d, m, 3);
    // Row 4 has 12 nonzeros, where 3 were declared.
    for j in 0..12 {
        truth[(10 * j + 1, 4)] = 0.5 + j as f64 / 10.0;
    }
    let mut y = measure(&mut rng, a.as_ref(), truth.as_ref(), 1e-10);
    spoil(&mut rng, &mut y, &[7, 30]);
    let fit = RobustSparse { max_support: Some(3), outliers: 0.05, ..RobustSparse::default() }
        .decode_rows(a.as_ref(), y.as_ref());
    assert_eq!(fit.outlier_calls, vec![7, 30]);
    assert!(fit.supports[4].is_none());
    assert!(fit.values.col(4).iter().all(|v| v.is_nan()));
    assert_eq!(fit.validation[4], f64::INFINITY);
    assert!(matches!(fit.rows[4].status, RowStatus::Underdetermined { determined: 0, .. }));
    for g in (0..m).filter(|&g| g != 4) {
        assert_eq!(fit.supports[g].as_deref(), Some(&support_of(truth.as_ref(), g)[..]), "row {g}");
    }
}

#[test]
fn non_finite_values_are_garbage() {
    let mut rng = StdRng::seed_from_u64(2);
    let (k, d, m) = (50, 100, 8);
    let a = gaussian(&mut rng, k, d);
    let truth = sparse_rows(&mut rng, d, m, 3);
    let mut y = measure(&mut rng, a.as_ref(), truth.as_ref(), 0.0);
    for g in 0..m {
        y[(9, g)] = f64::NAN;
        y[(21, g)] = f64::INFINITY;
    }
    let fit = RobustSparse { max_support: Some(3), ..RobustSparse::default() }.decode_rows(a.as_ref(), y.as_ref());
    assert_eq!(fit.outlier_calls, vec![9, 21]);
    for g in 0..m {
        assert_eq!(fit.supports[g].as_deref(), Some(&support_of(truth.as_ref(), g)[..]), "row {g}");
    }
}

/// A 400 × 400 function with 5 nonzeros per row in unknown places (blocks 5 × 5).
fn blocks() -> (PatternFunction, Structure) {
    let f = PatternFunction { a: random_matrix(jacsense::Pattern::block_diagonal(&[(5, 5); 80]), 4) };
    (f, Structure::dense(400, 400).with_row_sparsity(5))
}

#[test]
fn the_planner_recovers_an_unknown_pattern_despite_garbage_and_names_it() {
    let (f, structure) = blocks();
    let x0 = f.x0();
    let truth = f.jacobian(&x0);
    let settings = Settings { outliers: 0.1, ..Settings::default() };
    let plan = Plan::new(&structure, &x0, &settings).unwrap();
    assert_eq!(plan.settings().decoder, DecoderChoice::RobustSparse);
    // ⌈(⌈2·5·ln 80⌉ + 5) / 0.8⌉ + 2 = 64 directions and f(x0): L1 on the 400
    // candidates would take ⌈400 · 1.2 / 0.3⌉ + 2 = 1602.
    assert_eq!(plan.calls(), 65);
    for seed in [1, 2, 3] {
        let mut values = evaluate_calls(&plan, &f);
        let mut bad = corrupt_calls(&mut values, 0.1, seed);
        if seed == 3 {
            // A spoiled f(x0) too: every forward difference shares it.
            values[0].iter_mut().for_each(|v| *v = 1e9);
            bad.insert(0, 0);
            bad.dedup();
        }
        let mut meas = Measurements::new(&plan).unwrap();
        for (j, y) in values.iter().enumerate() {
            meas.tell(j, y).unwrap();
        }
        let est = meas.decode();
        let err = relative_error(est.jacobian(), &truth);
        assert!(err < 1e-6, "seed {seed}: error {err:e}");
        let flagged: Vec<usize> = est.diagnostics().outliers.iter().map(|o| o.call).collect();
        assert_eq!(outlier_scores(&flagged, &bad), (1.0, 1.0), "seed {seed}: flagged {flagged:?}, bad {bad:?}");
        assert!(est.diagnostics().rows.iter().all(|r| r.status == RowStatus::Determined), "seed {seed}");
        assert_eq!(est.jacobian().pattern().nnz(), truth.pattern().nnz(), "seed {seed}");
    }
}

#[test]
fn fewer_directions_than_the_rule_are_refused() {
    let (f, structure) = blocks();
    let settings = Settings {
        outliers: 0.1,
        design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(40) },
        decoder: DecoderChoice::RobustSparse,
        ..Settings::default()
    };
    assert!(matches!(Plan::new(&structure, &f.x0(), &settings), Err(jacsense::Error::TooLittleRedundancy { .. })));
}

#[test]
fn no_calls_or_no_unknowns_claim_nothing() {
    let decoder = RobustSparse { max_support: Some(2), ..RobustSparse::default() };
    let fit = decoder.decode_rows(Mat::<f64>::zeros(0, 5).as_ref(), Mat::<f64>::zeros(0, 3).as_ref());
    assert!(fit.values.col(0).iter().all(|v| v.is_nan()));
    assert!(fit.supports.iter().all(Option::is_none));
    assert!(matches!(fit.rows[2].status, RowStatus::Underdetermined { determined: 0, unknowns: 5 }));
    let fit = decoder.decode_rows(Mat::<f64>::zeros(4, 0).as_ref(), Mat::<f64>::zeros(4, 3).as_ref());
    assert_eq!(fit.values.nrows(), 0);
    assert!(fit.rows.iter().all(|r| r.status == RowStatus::Determined));
}

#[test]
fn no_plan_with_outliers_costs_more_than_equally_robust_coordinate_differences() {
    for n in [20, 100, 400] {
        for p in [0.01, 0.05, 0.1, 0.2, 0.3] {
            let settings = Settings { outliers: p, ..Settings::default() };
            let x0 = vec![0.1; n];
            let coordinate = jacsense::robust_coordinate_calls(n, p).unwrap();
            let sparse = Plan::new(&Structure::dense(n, n).with_row_sparsity(3), &x0, &settings).unwrap();
            assert!(sparse.calls() <= coordinate, "n = {n}, p = {p}: {} > {coordinate}", sparse.calls());
            match Plan::new(&Structure::dense(n, n), &x0, &settings) {
                Ok(dense) => {
                    assert!(dense.calls() <= coordinate, "n = {n}, p = {p}: {} > {coordinate}", dense.calls());
                    assert!(sparse.calls() <= dense.calls(), "n = {n}, p = {p}");
                }
                // Said so: dense rows of 20 inputs at 1% garbage (65 calls against 63).
                Err(jacsense::Error::InvalidSetting { name: "outliers", .. }) => assert_eq!((n, p), (20, 0.01)),
                Err(e) => panic!("n = {n}, p = {p}: {e}"),
            }
        }
    }
    assert_eq!(jacsense::robust_coordinate_calls(100, 0.0), Some(101));
    assert_eq!(jacsense::robust_coordinate_calls(100, 0.5), None);
}
