//! Sparse recovery: rows with a few nonzeros among many candidates, from fewer
//! measurements than candidates.

mod robust;

use faer::{Mat, MatRef};
use jacsense::decode::{Decoder, RowSolve, SparseRecovery};
use jacsense::{RowStatus, SparseMethod};
use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

const METHODS: [SparseMethod; 2] = [SparseMethod::Omp, SparseMethod::BasisPursuitDenoising];

fn decoder(method: SparseMethod) -> SparseRecovery {
    SparseRecovery { method, ..SparseRecovery::default() }
}

fn gaussian(rng: &mut StdRng, k: usize, d: usize) -> Mat<f64> {
    Mat::from_fn(k, d, |_, _| rng.sample::<f64, _>(StandardNormal))
}

/// `m` columns of `d` unknowns, each with `s` nonzeros in random places, values ±[0.1, 1].
fn sparse_rows(rng: &mut StdRng, d: usize, m: usize, s: usize) -> Mat<f64> {
    let mut z = Mat::zeros(d, m);
    for g in 0..m {
        for j in sample(rng, d, s) {
            let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
            z[(j, g)] = sign * (0.1 + 0.9 * rng.random::<f64>());
        }
    }
    z
}

/// `A z` plus, in every column, a Gaussian perturbation of norm `relative · ‖A z‖`.
fn measure(rng: &mut StdRng, a: MatRef<'_, f64>, z: MatRef<'_, f64>, relative: f64) -> Mat<f64> {
    let mut y = a * z;
    for g in 0..y.ncols() {
        let e: Vec<f64> = (0..y.nrows()).map(|_| rng.sample(StandardNormal)).collect();
        let scale = relative * y.col(g).norm_l2() / e.iter().map(|v| v * v).sum::<f64>().sqrt();
        for (i, v) in e.iter().enumerate() {
            y[(i, g)] += scale * v;
        }
    }
    y
}

fn support_of(z: MatRef<'_, f64>, g: usize) -> Vec<usize> {
    (0..z.nrows()).filter(|&j| z[(j, g)] != 0.0).collect()
}

fn relative_error(z: MatRef<'_, f64>, truth: MatRef<'_, f64>, g: usize) -> f64 {
    (z.col(g) - truth.col(g)).norm_l2() / truth.col(g).norm_l2()
}

/// Checks that every column was recovered: the right support, exact zeros off it, values
/// within `bound` (relative), and a consistent report.
fn assert_recovered(s: &[RowSolve], z: MatRef<'_, f64>, truth: MatRef<'_, f64>, k: usize, bound: f64) {
    for (g, sg) in s.iter().enumerate() {
        let expected = support_of(truth, g);
        assert_eq!(sg.status, RowStatus::Determined, "column {g}: {sg:?}");
        assert_eq!(sg.support.as_ref(), Some(&expected), "column {g}");
        assert_eq!(support_of(z, g), expected, "column {g}: off-support entries must be exactly 0");
        let err = relative_error(z, truth, g);
        assert!(err <= bound, "column {g}: relative error {err:e} > {bound:e}");
        assert_eq!(sg.dof, k - expected.len());
        assert_eq!(sg.variance_factors.len(), z.nrows());
        for (j, &v) in sg.variance_factors.iter().enumerate() {
            assert_eq!(v > 0.0, expected.binary_search(&j).is_ok(), "variance factor {j} of column {g}");
        }
        assert!(sg.condition.is_finite() && sg.condition >= 1.0);
    }
}

#[test]
fn both_methods_recover_five_sparse_rows_of_1000_from_60_noisy_calls() {
    let (d, m, k, s) = (1000, 100, 60, 5);
    let mut rng = StdRng::seed_from_u64(2017);
    let a = gaussian(&mut rng, k, d);
    let truth = sparse_rows(&mut rng, d, m, s);
    let y = measure(&mut rng, a.as_ref(), truth.as_ref(), 1e-9);
    for method in METHODS {
        // BPDN costs an interior-point solve per row: a quarter of the rows keeps the
        // test quick (the example runs all of them).
        let cols = if method == SparseMethod::Omp { m } else { m / 4 };
        let mut z = Mat::zeros(d, cols);
        let sol = decoder(method).solve(a.as_ref(), y.get(.., ..cols), z.as_mut());
        assert_recovered(&sol, z.as_ref(), truth.get(.., ..cols), k, 1e-6);
    }
}

#[test]
fn noise_free_data_are_recovered_to_rounding() {
    let (d, m, k, s) = (300, 12, 40, 4);
    let mut rng = StdRng::seed_from_u64(7);
    let a = gaussian(&mut rng, k, d);
    let truth = sparse_rows(&mut rng, d, m, s);
    let y = &a * &truth;
    for method in METHODS {
        let mut z = Mat::zeros(d, m);
        let sol = decoder(method).solve(a.as_ref(), y.as_ref(), z.as_mut());
        assert_recovered(&sol, z.as_ref(), truth.as_ref(), k, 64.0 * k as f64 * f64::EPSILON);
        for sg in &sol {
            assert!(sg.residual <= 64.0 * k as f64 * f64::EPSILON * y.norm_l2(), "{sg:?}");
        }
    }
}

#[test]
fn a_zero_row_has_an_empty_support() {
    let (d, k) = (200, 30);
    let mut rng = StdRng::seed_from_u64(11);
    let a = gaussian(&mut rng, k, d);
    let y = Mat::<f64>::zeros(k, 1);
    for method in METHODS {
        let mut z = Mat::from_fn(d, 1, |_, _| f64::NAN);
        let sol = decoder(method).solve(a.as_ref(), y.as_ref(), z.as_mut());
        assert_eq!(sol[0].status, RowStatus::Determined);
        assert_eq!(sol[0].support, Some(vec![]));
        assert_eq!(sol[0].residual, 0.0);
        assert_eq!(sol[0].dof, k);
        assert!((0..d).all(|j| z[(j, 0)] == 0.0));
    }
}

/// 40 nonzeros cannot be resolved from 60 measurements of 1000 unknowns: no support of
/// at most 30 fits, and the decoder says so instead of returning a wrong sparse row.
#[test]
fn a_row_denser_than_the_measurements_resolve_is_reported_undetermined() {
    let (d, k) = (1000, 60);
    let mut rng = StdRng::seed_from_u64(3);
    let a = gaussian(&mut rng, k, d);
    let mut truth = sparse_rows(&mut rng, d, 2, 5);
    let dense = sparse_rows(&mut rng, d, 1, 40);
    truth.col_mut(1).copy_from(dense.col(0));
    let y = measure(&mut rng, a.as_ref(), truth.as_ref(), 1e-9);
    for method in METHODS {
        let dec = decoder(method);
        let mut z = Mat::zeros(d, 2);
        let sol = dec.solve(a.as_ref(), y.as_ref(), z.as_mut());
        // The sparse neighbour sharing the matrix is unaffected.
        assert_recovered(&sol[..1], z.get(.., ..1), truth.get(.., ..1), k, 1e-6);
        let dense = &sol[1];
        assert_eq!(dense.status, RowStatus::Underdetermined { determined: 0, unknowns: d }, "{method:?}");
        assert!((0..d).all(|j| z[(j, 1)].is_nan()));
        assert!(dense.residual > dec.tolerance * y.col(1).norm_l2(), "{dense:?}");
        assert!(dense.support.as_ref().is_some_and(|sup| sup.len() <= k / 2));
        assert!(dense.variance_factors.is_empty());
    }
}

/// Noise above the tolerance is not mistaken for signal: the rows are reported, and a
/// tolerance that matches the noise recovers them.
#[test]
fn noise_above_the_tolerance_is_reported_and_a_matching_tolerance_recovers() {
    let (d, m, k, s) = (400, 4, 50, 4);
    let mut rng = StdRng::seed_from_u64(5);
    let a = gaussian(&mut rng, k, d);
    let truth = sparse_rows(&mut rng, d, m, s);
    let y = measure(&mut rng, a.as_ref(), truth.as_ref(), 1e-4);
    for method in METHODS {
        let mut z = Mat::zeros(d, m);
        let sol = decoder(method).solve(a.as_ref(), y.as_ref(), z.as_mut());
        assert!(sol.iter().all(|sg| sg.status == RowStatus::Underdetermined { determined: 0, unknowns: d }));
        let loose = SparseRecovery { tolerance: 1e-3, ..decoder(method) };
        let sol = loose.solve(a.as_ref(), y.as_ref(), z.as_mut());
        // Values carry the 1e-4 noise, amplified by the conditioning of the support.
        assert_recovered(&sol, z.as_ref(), truth.as_ref(), k, 1e-2);
    }
}

#[test]
fn more_measurements_than_unknowns_still_work() {
    let (d, k) = (12, 30);
    let mut rng = StdRng::seed_from_u64(13);
    let a = gaussian(&mut rng, k, d);
    // A dense row (every unknown nonzero: allowed, since d ≤ k) and a sparse one.
    let mut truth = sparse_rows(&mut rng, d, 2, 3);
    truth.col_mut(0).copy_from(sparse_rows(&mut rng, d, 1, d).col(0));
    let y = measure(&mut rng, a.as_ref(), truth.as_ref(), 1e-9);
    for method in METHODS {
        let mut z = Mat::zeros(d, 2);
        let sol = decoder(method).solve(a.as_ref(), y.as_ref(), z.as_mut());
        assert_recovered(&sol, z.as_ref(), truth.as_ref(), k, 1e-6);
    }
}

#[test]
fn an_unobserved_unknown_is_nan_and_the_rest_is_recovered() {
    let (d, k) = (100, 24);
    let mut rng = StdRng::seed_from_u64(17);
    let mut a = gaussian(&mut rng, k, d);
    a.col_mut(40).fill(0.0);
    let mut truth = sparse_rows(&mut rng, d, 1, 3);
    truth[(40, 0)] = 0.0;
    let y = &a * &truth;
    for method in METHODS {
        let mut z = Mat::zeros(d, 1);
        let sol = decoder(method).solve(a.as_ref(), y.as_ref(), z.as_mut());
        assert_eq!(sol[0].status, RowStatus::Underdetermined { determined: d - 1, unknowns: d });
        assert!(z[(40, 0)].is_nan());
        assert!((0..d).filter(|&j| j != 40).all(|j| (z[(j, 0)] - truth[(j, 0)]).abs() <= 1e-12));
    }
}

/// The same input gives the same bits, and a right-hand side's answer does not depend
/// on which others are solved with it.
#[test]
fn decoding_is_deterministic_and_columns_are_independent() {
    let (d, m, k, s) = (300, 6, 40, 4);
    let mut rng = StdRng::seed_from_u64(19);
    let a = gaussian(&mut rng, k, d);
    let truth = sparse_rows(&mut rng, d, m, s);
    let y = measure(&mut rng, a.as_ref(), truth.as_ref(), 1e-9);
    for method in METHODS {
        let dec = decoder(method);
        let mut z1 = Mat::zeros(d, m);
        let mut z2 = Mat::zeros(d, m);
        let s1 = dec.solve(a.as_ref(), y.as_ref(), z1.as_mut());
        let s2 = dec.solve(a.as_ref(), y.as_ref(), z2.as_mut());
        assert_eq!(s1, s2);
        assert!((0..m).all(|g| (0..d).all(|j| z1[(j, g)].to_bits() == z2[(j, g)].to_bits())));
        for g in 0..m {
            let mut zg = Mat::zeros(d, 1);
            let sg = dec.solve(a.as_ref(), y.get(.., g..g + 1), zg.as_mut());
            assert_eq!(sg[0], s1[g]);
            assert!((0..d).all(|j| zg[(j, 0)].to_bits() == z1[(j, g)].to_bits()));
        }
    }
}

#[test]
fn names_say_the_method() {
    assert_eq!(decoder(SparseMethod::Omp).name(), "sparse-omp");
    assert_eq!(decoder(SparseMethod::BasisPursuitDenoising).name(), "sparse-bpdn");
}

/// On this draw OMP's greedy pass picks a wrong column in one row (before all the true
/// ones are in); its refitted value is at noise level (~1e-10) and pruning removes it.
#[test]
fn omp_prunes_a_column_that_only_fits_noise() {
    let (d, m, k, s) = (1000, 100, 60, 5);
    let mut rng = StdRng::seed_from_u64(2077);
    let a = gaussian(&mut rng, k, d);
    let truth = sparse_rows(&mut rng, d, m, s);
    let y = measure(&mut rng, a.as_ref(), truth.as_ref(), 1e-9);
    let mut z = Mat::zeros(d, m);
    let sol = decoder(SparseMethod::Omp).solve(a.as_ref(), y.as_ref(), z.as_mut());
    assert_recovered(&sol, z.as_ref(), truth.as_ref(), k, 1e-6);
}
