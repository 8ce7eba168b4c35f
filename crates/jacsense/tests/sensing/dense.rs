//! Nothing known about `J`: a dense structure plans without an `m × n` array, reads
//! every entry off through the `m × k` measurement storage, and is a typed error,
//! before any call, when that storage cannot fit in memory.

use super::{Counted, rel_err};
use jacsense::Coupling;
use jacsense::coloring::Ordering;
use jacsense::{
    Design, Difference, ErasureReason, Error, Measurements, Pattern, Plan, RowStatus, Settings, Structure,
    jacobian_with,
};
use jacsense_problems::{GradientField, LinearMap, Problem, random_matrix, random_symmetric_matrix};

#[test]
fn a_dense_structure_plans_one_color_per_column_without_an_m_by_n_array() {
    // 10¹⁰ entries: an m·n index or CSR pattern (80 GB and more) would not fit.
    let n = 100_000;
    let structure = Structure::dense(n, n);
    assert_eq!((structure.pattern().nnz(), structure.lower_bound()), (n * n, n));
    let plan = Plan::new(&structure, &vec![0.5; n], &Settings::default()).unwrap();
    assert_eq!((plan.settings().design.name(), plan.measurements(), plan.calls()), ("colored", n, n + 1));
    let (ordering, coloring) = plan.coloring().unwrap();
    assert_eq!((ordering, coloring.num_colors()), (Ordering::Natural, n));
    assert!(coloring.colors().iter().enumerate().all(|(c, &color)| c == color));
    // Symmetry cannot save a call on a dense block: the same plan, no star coloring.
    let symmetric = Structure::symmetric(Pattern::dense(n, n)).unwrap();
    let plan = Plan::new(&symmetric, &vec![0.5; n], &Settings::default()).unwrap();
    assert_eq!((plan.settings().design.name(), plan.measurements()), ("colored", n));
    assert!(plan.star_coloring().is_none());
}

#[test]
fn a_dense_symmetric_coupling_needs_n_directions_known_without_a_rank_trial() {
    // A rank trial from ⌈(n + 1)/2⌉ to n directions took about a minute at n = 200.
    let n = 300;
    let coupled = Structure::symmetric(Pattern::dense(n, n)).unwrap().with_coupling(Coupling::default()).unwrap();
    assert_eq!(coupled.lower_bound(), n);
    let plan = Plan::new(&coupled, &vec![0.5; n], &Settings::default()).unwrap();
    assert_eq!(plan.measurements(), n);
}

#[test]
fn dense_jacobians_are_read_off_exactly_and_erasures_blank_their_column() {
    let (m, n) = (40, 30);
    let lin = LinearMap { a: random_matrix(Pattern::dense(m, n), 3) };
    let x0 = lin.x0();
    for difference in [Difference::Forward, Difference::Central] {
        // Asked for read-off (told nothing, the default is an adaptive session).
        let settings = Settings { difference, design: Design::Colored { ordering: None }, ..Settings::default() };
        let est = jacobian_with(&lin, &x0, &Structure::dense(m, n), &settings).unwrap();
        assert_eq!(est.diagnostics().design.name(), "colored");
        let tol = 1e-6 * if difference == Difference::Central { 1e-2 } else { 1.0 };
        assert!(rel_err(est.jacobian(), &lin.a) < tol, "{difference:?}: {}", rel_err(est.jacobian(), &lin.a));
    }
    // Column 7 is measured by call 8 alone: erased, it is unknown in every row, and the
    // rest stays exact.
    let plan = Plan::new(&Structure::dense(m, n), &x0, &Settings::default()).unwrap();
    let mut meas = plan.evaluate(&lin).unwrap();
    meas.erase(8, ErasureReason::Missing).unwrap();
    let est = meas.decode();
    for i in 0..m {
        assert_eq!(est.diagnostics().rows[i].status, RowStatus::Underdetermined { determined: n - 1, unknowns: n });
        for j in 0..n {
            let (got, want) = (est.jacobian().get(i, j), lin.a.get(i, j));
            assert!(if j == 7 { got.is_nan() } else { (got - want).abs() < 1e-6 * want.abs().max(1.0) }, "({i}, {j})");
        }
    }
}

#[test]
fn a_star_design_asked_for_on_a_dense_hessian_reads_it_off() {
    let n = 25;
    let g = GradientField { h: random_symmetric_matrix(Pattern::dense(n, n), 8) };
    let structure = Structure::symmetric(g.pattern()).unwrap();
    let settings = Settings { design: Design::Star { ordering: None }, ..Settings::default() };
    let est = jacobian_with(&g, &g.x0(), &structure, &settings).unwrap();
    assert_eq!((est.diagnostics().design.name(), est.diagnostics().measurements), ("star", n));
    assert!(rel_err(est.jacobian(), &g.jacobian(&g.x0())) < 1e-6);
}

#[test]
fn measurements_that_cannot_fit_are_a_typed_error_before_any_call() {
    // 10⁶ × 10⁶: the plan is cheap, the m × k = 10¹² measurements (8 TB) are not.
    let n = 1_000_000;
    let structure = Structure::dense(n, n);
    let plan = Plan::new(&structure, &vec![0.0; n], &Settings::default()).unwrap();
    let err = Measurements::new(&plan).unwrap_err();
    let Error::TooLarge { m, n: inputs, bytes, available, .. } = &err else { panic!("{err}") };
    assert_eq!((*m, *inputs), (n, n));
    assert!(*bytes >= 8 * (n as u128) * (n as u128) && *bytes > u128::from(*available), "{err}");
    let text = err.to_string();
    assert!(text.starts_with("the measurements of a 1000000×1000000 J (m × k = 1000000 × 1000000 values)"), "{text}");
    assert!(text.contains(&format!("need {bytes} bytes")), "{text}");

    let f = Counted::new(jacsense::from_fn(n, n, |x: &[f64], y: &mut [f64]| y.copy_from_slice(x)));
    let err = jacobian_with(&f, &vec![0.0; n], &structure, &Settings::default()).unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    assert_eq!(f.count(), 0, "no call before the error");

    // Random directions n × k are checked before they are drawn.
    let settings = Settings { noise: 1e-6, ..Settings::default() };
    let err = Plan::new(&structure, &vec![0.0; n], &settings).unwrap_err();
    assert!(err.to_string().starts_with("the 2000002 rainbow directions for n = 1000000 inputs"), "{err}");
}
