//! Hessians from gradient blackboxes: star-colored designs read every entry off its own
//! row or its mirror's, in far fewer calls than column coloring where the pattern has
//! a dense row.

use jacsense::coloring::{best_column_coloring, best_star_coloring};
use jacsense::{Design, Difference, Error, Pattern, Plan, Settings, Structure, jacobian_with};
use jacsense_problems::{
    Bratu2d, GradientField, Problem, arrowhead, laplacian_2d, random_pattern, random_symmetric_matrix, relative_error,
};

use super::rel_err;

#[test]
fn star_designs_recover_hessians_to_finite_difference_accuracy() {
    let cases = [
        ("arrowhead", arrowhead(500)),
        ("banded", Pattern::banded(400, 400, 3, 3)),
        ("2D Laplacian", laplacian_2d(20)),
        ("random graph", random_pattern(400, 400, 3, 5)),
    ];
    for (name, pattern) in cases {
        let g = GradientField { h: random_symmetric_matrix(pattern, 7) };
        let structure = Structure::symmetric(g.pattern()).unwrap();
        let x0 = g.x0();
        let truth = g.jacobian(&x0);
        let (_, star) = best_star_coloring(structure.pattern()).unwrap();
        let (_, column) = best_column_coloring(structure.pattern());
        for difference in [Difference::Forward, Difference::Central] {
            let settings = Settings { design: Design::Star { ordering: None }, difference, ..Settings::default() };
            let est = jacobian_with(&g, &x0, &structure, &settings).unwrap();
            let calls = match difference {
                Difference::Forward => star.num_colors() + 1,
                Difference::Central => 2 * star.num_colors(),
            };
            assert_eq!(est.diagnostics().calls, calls, "{name}");
            let err = rel_err(est.jacobian(), &truth);
            assert!(err <= 1e3 * f64::EPSILON.sqrt(), "{name} {difference:?}: {err:e}");
        }
        assert!(
            star.num_colors() <= column.num_colors(),
            "{name}: star {} > column {}",
            star.num_colors(),
            column.num_colors()
        );
        // The planner takes the star design when it needs no more calls.
        let plan = Plan::new(&structure, &x0, &Settings::default()).unwrap();
        assert!(plan.calls() <= star.num_colors() + 1, "{name}: planned {} calls", plan.calls());
        eprintln!(
            "{name}: star {} colors, column {}; planner: {} with {} calls",
            star.num_colors(),
            column.num_colors(),
            plan.settings().design.name(),
            plan.calls()
        );
        let est = plan.evaluate(&g).unwrap().decode();
        let err = rel_err(est.jacobian(), &truth);
        assert!(err <= 1e3 * f64::EPSILON.sqrt(), "{name}, planned: {err:e}");
    }
}

/// The arrowhead (one dense row and column) costs two directions, not n.
#[test]
fn an_arrowhead_hessian_needs_two_directions() {
    let g = GradientField { h: random_symmetric_matrix(arrowhead(1000), 3) };
    let structure = Structure::symmetric(g.pattern()).unwrap();
    let est = jacobian_with(&g, &g.x0(), &structure, &Settings::default()).unwrap();
    assert_eq!(
        (est.diagnostics().design.name(), est.diagnostics().measurements, est.diagnostics().calls),
        ("star", 2, 3)
    );
    assert!(rel_err(est.jacobian(), &g.jacobian(&g.x0())) <= 1e3 * f64::EPSILON.sqrt());
}

#[test]
fn a_star_design_needs_a_symmetric_structure() {
    let structure = Structure::sparse(arrowhead(10));
    let settings = Settings { design: Design::Star { ordering: None }, ..Settings::default() };
    let e = Plan::new(&structure, &[0.0; 10], &settings).unwrap_err();
    assert!(matches!(e, Error::InvalidSetting { name: "design", .. }), "{e}");
}

/// Symmetry alone does not lower the count for a dense block: a symmetric S with
/// S D = 0 exists whenever D has fewer than n columns, so n directions are needed
/// however the rows are decoded, and with n − 1 the joint decode says which entries it
/// cannot determine. The same block inside a sparse pattern costs its size, no more.
#[test]
fn symmetry_alone_does_not_help_a_dense_block() {
    use jacsense::Coupling;
    use jacsense::{RandomDistribution, RowStatus};
    let n = 24;
    let g = GradientField { h: random_symmetric_matrix(Pattern::dense(n, n), 4) };
    let structure = Structure::symmetric(g.pattern()).unwrap();
    let plan = Plan::new(&structure, &g.x0(), &Settings::default()).unwrap();
    assert_eq!(plan.measurements(), n, "a dense symmetric block needs n directions");
    let coupled = structure.with_coupling(Coupling::default()).unwrap();
    assert_eq!(Plan::new(&coupled, &g.x0(), &Settings::default()).unwrap().measurements(), n);
    // Asked for fewer, the plan says how many it needs (the lower bound is n: with
    // n − 1 directions some v ⊥ all of them makes H + v vᵀ measure the same) …
    let short = Settings {
        design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(n - 1) },
        ..Settings::default()
    };
    let err = Plan::new(&coupled, &g.x0(), &short).unwrap_err();
    assert!(matches!(err, Error::TooFewCalls { calls: 23, needed: 24, .. }), "{err}");
    // … and when a call is lost, what the n − 1 others miss is reported, not invented.
    let plan = Plan::new(&coupled, &g.x0(), &Settings::default()).unwrap();
    let mut meas = plan.evaluate(&g).unwrap();
    meas.erase(5, jacsense::ErasureReason::Missing).unwrap();
    let est = meas.decode();
    assert!(!est.is_complete());
    assert!(est.diagnostics().rows.iter().any(|r| matches!(r.status, RowStatus::Underdetermined { .. })));
    assert!(est.jacobian().values().iter().any(|v| v.is_nan()), "no value invented for what n − 1 calls miss");

    // An arrowhead whose head is a dense 8×8 block: 8 directions, not n.
    let (n, b) = (200, 8);
    let mut rows: Vec<Vec<usize>> = (0..n).map(|i| if i < b { (0..n).collect() } else { vec![] }).collect();
    for (i, row) in rows.iter_mut().enumerate().skip(b) {
        row.extend(0..b);
        row.push(i);
    }
    let g = GradientField { h: random_symmetric_matrix(Pattern::from_rows(n, &rows).unwrap(), 5) };
    let structure = Structure::symmetric(g.pattern()).unwrap();
    let est = jacobian_with(&g, &g.x0(), &structure, &Settings::default()).unwrap();
    assert!(est.diagnostics().measurements >= b && est.diagnostics().measurements <= b + 1);
    let err = rel_err(est.jacobian(), &g.jacobian(&g.x0()));
    assert!(err <= 1e3 * f64::EPSILON.sqrt(), "relative error {err:e}");
}

/// The planner weighs accuracy: on the Hessian of a 40×40-grid potential (the 2D
/// Bratu residual is a gradient), the fewest calls (4, decoded jointly) cost about
/// four orders of magnitude of accuracy against a read-off design (6 star colors); by
/// default the planner keeps the error within 10× of the read-off one.
#[test]
fn the_planner_keeps_the_error_near_a_read_off_designs() {
    let f = Bratu2d { grid: 40, lambda: 6.0 };
    let x0 = f.x0();
    let truth = f.jacobian(&x0);
    let structure = Structure::symmetric(f.pattern()).unwrap();
    let run = |settings: &Settings| {
        let plan = Plan::new(&structure, &x0, settings).unwrap();
        (plan.calls(), relative_error(plan.evaluate(&f).unwrap().decode().jacobian(), &truth))
    };
    let (read_off_calls, read_off) = run(&Settings { design: Design::Star { ordering: None }, ..Settings::default() });
    let (calls, error) = run(&Settings::default());
    let (fewest_calls, fewest) = run(&Settings { max_error_growth: f64::INFINITY, ..Settings::default() });
    assert!(error <= 10.0 * read_off, "default {error:.1e} from {calls} calls, read-off {read_off:.1e}");
    assert!(calls <= read_off_calls, "{calls} calls, read-off {read_off_calls}");
    assert!(fewest_calls < calls, "the fewest calls ({fewest_calls}) are fewer than the accurate ones ({calls})");
    assert!(fewest > 10.0 * read_off, "the fewest calls cost accuracy: {fewest:.1e} vs {read_off:.1e}");
}
