//! Hessians from gradient blackboxes: star-colored designs read every entry off its own
//! row or its mirror's, in far fewer calls than column coloring where the pattern has
//! a dense row.

use jacsense::coloring::{best_column_coloring, best_star_coloring};
use jacsense::problems::{GradientField, Problem, arrowhead, laplacian_2d, random_pattern, random_symmetric_matrix};
use jacsense::{Design, Difference, Error, Pattern, Plan, Settings, Structure, estimate_with};

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
            let est = estimate_with(&g, &x0, &structure, &settings).unwrap();
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
    let est = estimate_with(&g, &g.x0(), &structure, &Settings::default()).unwrap();
    assert_eq!((est.diagnostics().design, est.diagnostics().measurements, est.diagnostics().calls), ("star", 2, 3));
    assert!(rel_err(est.jacobian(), &g.jacobian(&g.x0())) <= 1e3 * f64::EPSILON.sqrt());
}

#[test]
fn a_star_design_needs_a_symmetric_structure() {
    let structure = Structure::sparse(arrowhead(10));
    let settings = Settings { design: Design::Star { ordering: None }, ..Settings::default() };
    let e = Plan::new(&structure, &[0.0; 10], &settings).unwrap_err();
    assert!(matches!(e, Error::InvalidSetting { name: "design", .. }), "{e}");
}
