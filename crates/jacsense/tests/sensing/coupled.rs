//! Coupled structures decode jointly: ties, symmetry and relations turn into fewer
//! calls than any row-wise design needs.

use jacsense::coloring::best_star_coloring;
use jacsense::problems::{GradientField, Problem, arrowhead, laplacian_2d, random_symmetric_matrix};
use jacsense::structure::{Coupling, Relation};
use jacsense::{Pattern, Plan, Settings, SparseMatrix, Structure, estimate_with, from_fn};

use super::rel_err;

/// A 1D convolution with an unknown kernel of width w: every call gives m equations in
/// the w shared unknowns.
#[test]
fn a_convolution_needs_one_direction() {
    let (n, w) = (10_000, 5);
    let kernel = [0.5, -1.25, 2.0, 0.75, -0.3];
    let half = w / 2;
    let f = from_fn(n, n, move |x: &[f64], y: &mut [f64]| {
        for (i, yi) in y.iter_mut().enumerate() {
            *yi = (0..w).filter_map(|o| (i + o).checked_sub(half).filter(|&j| j < n).map(|j| kernel[o] * x[j])).sum();
        }
    });
    let pattern = Pattern::banded(n, n, half, half);
    let ties: Vec<Vec<(usize, usize, f64)>> = (0..w)
        .map(|o| (0..n).filter_map(|i| (i + o).checked_sub(half).filter(|&j| j < n).map(|j| (i, j, 1.0))).collect())
        .collect();
    let structure = Structure::sparse(pattern.clone()).with_coupling(Coupling { ties, ..Coupling::default() }).unwrap();
    assert_eq!(structure.intrinsic_dimension(), w);
    let x0: Vec<f64> = (0..n).map(|i| (i as f64 * 0.01).sin()).collect();
    let est = estimate_with(&f, &x0, &structure, &Settings::default()).unwrap();
    assert_eq!(est.diagnostics().calls, 2, "one direction and f(x0)");
    let truth_values = pattern.entries().map(|(i, j)| kernel[j + half - i]).collect();
    let truth = SparseMatrix::new(pattern.clone(), truth_values).unwrap();
    let err = rel_err(est.jacobian(), &truth);
    assert!(err <= 1e-8, "relative error {err:e}");
    // Row-wise, the same Jacobian needs ρ_max = w measurements.
    let rowwise = Plan::new(&Structure::sparse(pattern), &x0, &Settings::default()).unwrap();
    assert!(rowwise.calls() > w);
}

/// A semi-implicit integrator step: q' = q + dt·q̇', q̇' = q̇ + dt·a(q, q̇). The q' rows
/// are declared as relations: derived, not decoded.
#[test]
fn integrator_rows_declared_as_relations_are_derived() {
    let (s, dt) = (4, 0.05);
    let accel = |q: &[f64], v: &[f64], i: usize| -q[i].sin() - 0.5 * v[i] + 0.3 * q[(i + 1) % s] * v[i];
    let f = from_fn(2 * s, 2 * s, move |x: &[f64], y: &mut [f64]| {
        let (q, v) = x.split_at(s);
        for i in 0..s {
            let v_next = v[i] + dt * accel(q, v, i);
            y[s + i] = v_next;
            y[i] = q[i] + dt * v_next;
        }
    });
    // q̇'_i depends on q_i, q_{i+1}, q̇_i; the q' rows come from the relation.
    let rows: Vec<Vec<usize>> =
        (0..2 * s).map(|r| if r < s { vec![] } else { vec![r - s, (r - s + 1) % s, r] }).collect();
    let relations =
        (0..s).map(|i| Relation { row: i, combination: vec![(s + i, dt)], constant: vec![(i, 1.0)] }).collect();
    let structure = Structure::sparse(Pattern::from_rows(2 * s, &rows).unwrap())
        .with_coupling(Coupling { relations, ..Coupling::default() })
        .unwrap();
    assert_eq!(structure.intrinsic_dimension(), 3 * s);
    let x0: Vec<f64> = (0..2 * s).map(|i| 0.3 + 0.1 * i as f64).collect();
    let est = estimate_with(&f, &x0, &structure, &Settings::default()).unwrap();
    assert_eq!(est.diagnostics().calls, 4, "three directions: each q̇' row has three unknowns");
    // Analytic Jacobian.
    let (q, v) = x0.split_at(s);
    let mut triplets = Vec::new();
    for i in 0..s {
        let n1 = (i + 1) % s;
        let dq = [(i, -q[i].cos()), (n1, 0.3 * v[i])];
        let dv = -0.5 + 0.3 * q[n1];
        let mut row_v: Vec<(usize, f64)> = dq.iter().map(|&(j, a)| (j, dt * a)).collect();
        row_v.push((s + i, 1.0 + dt * dv));
        for &(j, a) in &row_v {
            triplets.push((s + i, j, a));
            triplets.push((i, j, dt * a));
        }
        triplets.push((i, i, 1.0));
    }
    let truth = SparseMatrix::from_triplets(2 * s, 2 * s, &triplets).unwrap();
    let err = rel_err(est.jacobian(), &truth);
    assert!(err <= 1e3 * f64::EPSILON.sqrt(), "relative error {err:e}");
}

/// Hessians with symmetry decoded jointly never need more calls than star coloring,
/// and fewer on the grid, where each call gives n equations for about 3n unknowns.
#[test]
fn symmetric_hessians_jointly_never_cost_more_than_star_coloring() {
    for (name, pattern) in [("arrowhead", arrowhead(300)), ("2D Laplacian", laplacian_2d(15))] {
        let g = GradientField { h: random_symmetric_matrix(pattern, 11) };
        let structure = Structure::symmetric(g.pattern()).unwrap().with_coupling(Coupling::default()).unwrap();
        let x0 = g.x0();
        let est = estimate_with(&g, &x0, &structure, &Settings::default()).unwrap();
        let (_, star) = best_star_coloring(&g.pattern()).unwrap();
        let (joint, starred) = (est.diagnostics().calls, star.num_colors() + 1);
        eprintln!("{name}: joint {joint} calls, star {starred}, lower bound {}", structure.lower_bound());
        assert!(joint <= starred, "{name}: joint {joint} > star {starred}");
        let err = rel_err(est.jacobian(), &g.jacobian(&x0));
        assert!(err <= 1e3 * f64::EPSILON.sqrt(), "{name}: relative error {err:e}");
    }
}

/// Known entries are not decoded; what is left of a row is.
#[test]
fn known_entries_leave_fewer_unknowns() {
    let n = 30;
    let f = from_fn(n, n, move |x: &[f64], y: &mut [f64]| {
        for i in 0..n {
            y[i] = x[i] + if i + 1 < n { x[i + 1].powi(2) } else { 0.0 };
        }
    });
    // The diagonal is known to be the identity: only the superdiagonal is unknown.
    let known = (0..n).map(|i| (i, i, 1.0)).collect();
    let structure = Structure::sparse(Pattern::banded(n, n, 0, 1))
        .with_coupling(Coupling { known, ..Coupling::default() })
        .unwrap();
    assert_eq!(structure.intrinsic_dimension(), n - 1);
    let x0 = vec![0.5; n];
    let est = estimate_with(&f, &x0, &structure, &Settings::default()).unwrap();
    assert_eq!(est.diagnostics().calls, 2);
    for i in 0..n - 1 {
        assert_eq!(est.jacobian().get(i, i), 1.0);
        assert!((est.jacobian().get(i, i + 1) - 1.0).abs() < 1e-6);
    }
}
