//! Coupled structures decode jointly: ties, symmetry and relations turn into fewer
//! calls than any row-wise design needs.

use jacsense::coloring::best_star_coloring;
use jacsense::{Coupling, Relation};
use jacsense::{
    DecoderChoice, Design, Error, Measurements, Pattern, Plan, RandomDistribution, RowStatus, Settings, SparseMatrix,
    Step, Structure, from_fn, jacobian_with,
};
use jacsense_problems::{
    GradientField, LinearMap, Noisy, Problem, arrowhead, corrupted_measurements, evaluate_calls, laplacian_2d,
    laplacian_3d, outlier_scores, random_matrix, random_pattern, random_symmetric_matrix, tied_convolution,
};

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
    let est = jacobian_with(&f, &x0, &structure, &Settings::default()).unwrap();
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
    let est = jacobian_with(&f, &x0, &structure, &Settings::default()).unwrap();
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
    for (name, pattern) in
        [("arrowhead", arrowhead(300)), ("2D Laplacian", laplacian_2d(15)), ("2D Laplacian 30²", laplacian_2d(30))]
    {
        let g = GradientField { h: random_symmetric_matrix(pattern, 11) };
        let structure = Structure::symmetric(g.pattern()).unwrap().with_coupling(Coupling::default()).unwrap();
        let x0 = g.x0();
        let est = jacobian_with(&g, &x0, &structure, &Settings::default()).unwrap();
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
    let est = jacobian_with(&f, &x0, &structure, &Settings::default()).unwrap();
    assert_eq!(est.diagnostics().calls, 2);
    for i in 0..n - 1 {
        assert_eq!(est.jacobian().get(i, i), 1.0);
        assert!((est.jacobian().get(i, i + 1) - 1.0).abs() < 1e-6);
    }
}

/// A tied convolution of n = 2000 with a kernel of width 5.
fn convolution() -> (LinearMap, Structure) {
    tied_convolution(2000, &[0.5, -1.25, 2.0, 0.75, -0.3])
}

/// Coupled structures decode jointly by L1 when calls are grossly wrong: exact, every
/// wrong call found, from far fewer calls than the row-wise robust plan of the same
/// pattern; least squares on the same calls is ruined.
#[test]
fn joint_l1_decoding_survives_garbage_calls() {
    let g = GradientField { h: random_symmetric_matrix(laplacian_2d(15), 21) };
    let hessian = Structure::symmetric(g.pattern()).unwrap();
    let (conv, conv_structure) = convolution();
    let cases: [(&str, &dyn Problem, Structure, Structure); 2] = [
        ("grid Hessian", &g, hessian.clone().with_coupling(Coupling::default()).unwrap(), hessian),
        ("convolution", &conv, conv_structure, Structure::sparse(conv.pattern())),
    ];
    for (name, f, coupled, uncoupled) in cases {
        let x0 = f.x0();
        let truth = f.jacobian(&x0);
        for (p, seed) in [(0.1, 1), (0.2, 2), (0.3, 3)] {
            let settings = Settings { outliers: p, ..Settings::default() };
            let plan = Plan::new(&coupled, &x0, &settings).unwrap();
            assert_eq!(plan.settings().decoder, DecoderChoice::L1);
            let rowwise = Plan::new(&uncoupled, &x0, &settings).unwrap();
            assert!(plan.calls() < rowwise.calls(), "{name}: {} calls, row-wise {}", plan.calls(), rowwise.calls());
            let (meas, bad) = corrupted_measurements(&plan, f, p, seed);
            assert!(!bad.is_empty());
            let est = meas.decode();
            assert_eq!(est.diagnostics().decoder.name(), "joint-l1");
            let err = rel_err(est.jacobian(), &truth);
            let flagged: Vec<usize> = est.diagnostics().outliers.iter().map(|o| o.call).collect();
            let (precision, recall) = outlier_scores(&flagged, &bad);
            eprintln!("{name} p = {p}: {} calls, {} bad, error {err:.1e}", plan.calls(), bad.len());
            assert!(err <= 1e-6, "{name} p = {p}: relative error {err:e}");
            assert_eq!((precision, recall), (1.0, 1.0), "{name} p = {p}: flagged {flagged:?}, bad {bad:?}");
            let ls = meas.decode_as(DecoderChoice::LeastSquares).unwrap();
            assert!(rel_err(ls.jacobian(), &truth) > 1e-2, "{name}: least squares should fail");
        }
    }
}

/// A grossly wrong f(x0) is one more outlier of the joint L1 fit (the rows carry
/// offsets), not a shift of every difference.
#[test]
fn joint_l1_flags_a_wrong_f_x0() {
    let g = GradientField { h: random_symmetric_matrix(laplacian_2d(10), 22) };
    let structure = Structure::symmetric(g.pattern()).unwrap().with_coupling(Coupling::default()).unwrap();
    let x0 = g.x0();
    let plan = Plan::new(&structure, &x0, &Settings { outliers: 0.1, ..Settings::default() }).unwrap();
    let mut values = evaluate_calls(&plan, &g);
    values[0].iter_mut().for_each(|v| *v = 1e6);
    let mut meas = Measurements::new(&plan).unwrap();
    for (j, y) in values.iter().enumerate() {
        meas.tell(j, y).unwrap();
    }
    let est = meas.decode();
    let flagged: Vec<usize> = est.diagnostics().outliers.iter().map(|o| o.call).collect();
    assert_eq!(flagged, vec![0]);
    let err = rel_err(est.jacobian(), &g.jacobian(&x0));
    assert!(err <= 1e-6, "relative error {err:e}");
}

/// Substitution solves rows one at a time: on grid Hessians from two directions more
/// than it needs, close to the joint solution and never more calls than star coloring.
#[test]
fn substitution_decodes_row_by_row() {
    for (name, pattern) in [("2D 30²", laplacian_2d(30)), ("3D 6³", laplacian_3d(6))] {
        let g = GradientField { h: random_symmetric_matrix(pattern, 23) };
        let structure = Structure::symmetric(g.pattern()).unwrap().with_coupling(Coupling::default()).unwrap();
        let x0 = g.x0();
        let settings = Settings { decoder: DecoderChoice::Substitution, ..Settings::default() };
        let est = jacobian_with(&g, &x0, &structure, &settings).unwrap();
        assert_eq!(est.diagnostics().decoder.name(), "joint-substitution");
        let (_, star) = best_star_coloring(&g.pattern()).unwrap();
        assert!(est.diagnostics().calls <= star.num_colors() + 1, "{name}: {} calls", est.diagnostics().calls);
        let err = rel_err(est.jacobian(), &g.jacobian(&x0));
        eprintln!("{name}: {} calls, error {err:.1e}", est.diagnostics().calls);
        assert!(err <= 1e-6, "{name}: relative error {err:e}");
    }
    // Outliers pass from row to row: refused.
    let g = GradientField { h: random_symmetric_matrix(laplacian_2d(5), 24) };
    let structure = Structure::symmetric(g.pattern()).unwrap().with_coupling(Coupling::default()).unwrap();
    let settings = Settings { decoder: DecoderChoice::Substitution, outliers: 0.1, ..Settings::default() };
    assert!(matches!(Plan::new(&structure, &g.x0(), &settings), Err(Error::InvalidSetting { name: "decoder", .. })));
}

/// Where no row can be solved alone (every row of a tied convolution sees all w
/// unknowns), substitution on a joint design determines nothing and says so; its own
/// plan gives each row enough directions.
#[test]
fn substitution_reports_what_it_cannot_solve() {
    let (conv, structure) = convolution();
    let x0 = conv.x0();
    let plan = Plan::new(&structure, &x0, &Settings::default()).unwrap();
    assert_eq!(plan.measurements(), 1);
    let est = plan.evaluate(&conv).unwrap().decode_as(DecoderChoice::Substitution).unwrap();
    assert!(matches!(est.diagnostics().rows[0].status, RowStatus::Underdetermined { determined: 0, .. }));
    assert!(est.jacobian().values().iter().all(|v| v.is_nan()));
    let settings = Settings { decoder: DecoderChoice::Substitution, ..Settings::default() };
    let est = jacobian_with(&conv, &x0, &structure, &settings).unwrap();
    assert_eq!(est.diagnostics().calls, 6);
    let err = rel_err(est.jacobian(), &conv.jacobian(&x0));
    assert!(err <= 1e-8, "relative error {err:e}");
}

/// Standard errors of entries that combine several unknowns (rows derived from two
/// others) come from the joint covariance and are calibrated like the decoded ones.
#[test]
fn derived_entries_have_calibrated_standard_errors() {
    let s = 300;
    // Rows s..2s decoded (4 nonzeros each); row i = 0.5 row(s+i) + 0.25 row(s+(i+1)%s) + e_i.
    let decoded = random_pattern(s, 2 * s, 4, 31);
    let rows: Vec<Vec<usize>> = (0..2 * s).map(|r| if r < s { vec![] } else { decoded.row(r - s).to_vec() }).collect();
    let relations = (0..s)
        .map(|i| Relation {
            row: i,
            combination: vec![(s + i, 0.5), (s + (i + 1) % s, 0.25)],
            constant: vec![(i, 1.0)],
        })
        .collect();
    let structure = Structure::sparse(Pattern::from_rows(2 * s, &rows).unwrap())
        .with_coupling(Coupling { relations, ..Coupling::default() })
        .unwrap();
    let lower = random_matrix(decoded, 32);
    let mut entries: std::collections::BTreeMap<(usize, usize), f64> = Default::default();
    let row = |i: usize| lower.pattern().row(i).iter().copied().zip(lower.row_values(i).iter().copied());
    for i in 0..s {
        for (j, v) in row(i) {
            entries.insert((s + i, j), v);
            *entries.entry((i, j)).or_default() += 0.5 * v;
        }
        for (j, v) in row((i + 1) % s) {
            *entries.entry((i, j)).or_default() += 0.25 * v;
        }
        *entries.entry((i, i)).or_default() += 1.0;
    }
    let triplets: Vec<(usize, usize, f64)> = entries.into_iter().map(|((i, j), v)| (i, j, v)).collect();
    let a = SparseMatrix::from_triplets(2 * s, 2 * s, &triplets).unwrap();
    let sigma = 1e-6;
    let f = Noisy { inner: LinearMap { a }, sigma, seed: 33 };
    let x0 = f.x0();
    let truth = f.jacobian(&x0);
    let settings = Settings {
        design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(12) },
        step: Step::Absolute(1e-2),
        ..Settings::default()
    };
    let est = jacobian_with(&f, &x0, &structure, &settings).unwrap();
    let se = est.std_errors().expect("a redundant joint design reports standard errors");
    let j = est.jacobian();
    let (mut inside, mut total) = ([0usize; 2], [0usize; 2]);
    for (e, (r, c)) in j.pattern().entries().enumerate() {
        let derived = usize::from(r < s);
        assert!(se[e].is_finite(), "entry ({r}, {c}) has no standard error");
        total[derived] += 1;
        inside[derived] += usize::from((j.values()[e] - truth.get(r, c)).abs() <= 3.0 * se[e]);
    }
    for kind in 0..2 {
        let share = inside[kind] as f64 / total[kind] as f64;
        eprintln!("{}: {share:.4} of {} within 3 SE", ["decoded", "derived"][kind], total[kind]);
        assert!(share >= 0.95, "{}: {share} within 3 SE", ["decoded", "derived"][kind]);
    }
    let noise = est.diagnostics().noise.unwrap();
    assert!((noise / sigma - 1.0).abs() < 0.2, "noise {noise:e} vs {sigma:e}");
}
