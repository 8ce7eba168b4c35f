//! Every design recovers known Jacobians: linear maps exactly, nonlinear functions to
//! the accuracy finite differences allow.

use jacsense::coloring::{Ordering, color_columns};
use jacsense::{Design, Difference, RandomDistribution, Settings, Step, Structure, jacobian_with};
use jacsense_problems::{
    Arrowhead, Bratu2d, BroydenTridiagonal, ExtendedRosenbrock, LinearMap, Problem, random_matrix, random_pattern,
};

use super::{Counted, rel_err};

fn designs() -> Vec<Design> {
    let mut d = vec![Design::Coordinate, Design::Colored { ordering: None }];
    d.extend(Ordering::ALL.iter().map(|&o| Design::Colored { ordering: Some(o) }));
    for distribution in [RandomDistribution::Gaussian, RandomDistribution::Rademacher] {
        d.push(Design::Random { distribution, directions: None });
    }
    d.push(Design::Rainbow { ordering: None, directions: None });
    d
}

/// Linear maps have no truncation error: with a unit step the only error is rounding,
/// so every design must recover `A` to near machine precision.
#[test]
fn linear_maps_are_recovered_exactly_by_every_design() {
    for (m, n, per_row, seed) in [(1000, 1000, 5, 1), (300, 1000, 8, 2), (1000, 200, 3, 3)] {
        let a = random_matrix(random_pattern(m, n, per_row, seed), seed + 10);
        let f = LinearMap { a: a.clone() };
        let structure = Structure::sparse(a.pattern().clone());
        for design in designs() {
            for difference in [Difference::Forward, Difference::Central] {
                let settings = Settings {
                    design: design.clone(),
                    difference,
                    step: Step::Absolute(1.0),
                    seed,
                    ..Settings::default()
                };
                let est = jacobian_with(&f, &f.x0(), &structure, &settings).unwrap();
                assert!(est.is_complete(), "{design:?} {difference:?}");
                let err = rel_err(est.jacobian(), &a);
                assert!(err <= 1e-8, "{m}x{n} {design:?} {difference:?}: relative error {err:e}");
            }
        }
    }
}

/// Forward differences are accurate to about √ε, central to about ε^(2/3) (relative
/// to the scale of J and of the second/third derivatives of these test functions).
#[test]
fn nonlinear_functions_match_their_analytic_jacobians() {
    let problems: Vec<Box<dyn Problem>> = vec![
        Box::new(BroydenTridiagonal { n: 1000 }),
        Box::new(ExtendedRosenbrock { n: 1000 }),
        Box::new(Bratu2d { grid: 30, lambda: 6.0 }),
        Box::new(Arrowhead { n: 300 }),
    ];
    for p in &problems {
        let truth = p.jacobian(&p.x0());
        let structure = Structure::sparse(p.pattern());
        for design in designs() {
            for (difference, tol) in [
                (Difference::Forward, 1e3 * f64::EPSILON.sqrt()),
                (Difference::Central, 1e3 * f64::EPSILON.powf(2.0 / 3.0)),
            ] {
                let settings = Settings { design: design.clone(), difference, ..Settings::default() };
                let est = jacobian_with(p.as_ref(), &p.x0(), &structure, &settings).unwrap();
                assert!(est.is_complete());
                let err = rel_err(est.jacobian(), &truth);
                assert!(err <= tol, "{} {design:?} {difference:?}: relative error {err:e} > {tol:e}", p.name());
            }
        }
    }
}

#[test]
fn colored_design_uses_exactly_chi_calls_plus_one() {
    let p = Bratu2d { grid: 40, lambda: 1.0 };
    for ordering in Ordering::ALL {
        let chi = color_columns(&p.pattern(), ordering).num_colors();
        for (difference, expected) in [(Difference::Forward, chi + 1), (Difference::Central, 2 * chi)] {
            let f = Counted::new(p.clone());
            let settings =
                Settings { design: Design::Colored { ordering: Some(ordering) }, difference, ..Settings::default() };
            let est = jacobian_with(&f, &p.x0(), &Structure::sparse(p.pattern()), &settings).unwrap();
            assert_eq!(f.count(), expected, "{ordering:?} {difference:?}");
            assert_eq!(est.diagnostics().calls, expected);
            assert_eq!(est.diagnostics().colors, Some((ordering, chi)));
        }
    }
}

#[test]
fn random_design_with_known_pattern_needs_rho_max_plus_a_few_calls() {
    let a = random_matrix(random_pattern(500, 800, 6, 4), 5);
    let f = LinearMap { a: a.clone() };
    let structure = Structure::sparse(a.pattern().clone());
    let rho = structure.lower_bound();
    assert_eq!(rho, 6);
    // Exactly ρ_max directions determine every row of a linear map.
    let exact = Settings {
        design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(rho) },
        step: Step::Absolute(1.0),
        ..Settings::default()
    };
    let est = jacobian_with(&f, &f.x0(), &structure, &exact).unwrap();
    assert!(est.is_complete());
    assert_eq!(est.diagnostics().calls, rho + 1);
    assert!(rel_err(est.jacobian(), &a) <= 1e-8);
    // The default adds a few directions and keeps finite-difference accuracy on a
    // nonlinear function.
    let p = ExtendedRosenbrock { n: 2000 };
    let structure = Structure::sparse(p.pattern());
    let settings = Settings {
        design: Design::Random { distribution: RandomDistribution::Gaussian, directions: None },
        ..Settings::default()
    };
    let est = jacobian_with(&p, &p.x0(), &structure, &settings).unwrap();
    assert_eq!(est.diagnostics().calls, structure.lower_bound() + Design::RANDOM_OVERSAMPLING + 1);
    assert_eq!(structure.lower_bound(), 2);
    assert!(rel_err(est.jacobian(), &p.jacobian(&p.x0())) <= 1e3 * f64::EPSILON.sqrt());
}

/// Where `χ ≫ ρ_max` (two nonzeros per row in random columns, many more rows than
/// columns), random directions on the known pattern need a handful of calls where
/// coloring needs many more, for the same accuracy.
#[test]
fn random_design_beats_coloring_when_chi_is_much_larger_than_rho_max() {
    let (m, n, seed) = (60000, 2000, 11);
    let a = random_matrix(random_pattern(m, n, 2, seed), seed);
    // A smooth nonlinear function with that pattern: f_i = Σ_j a_ij sin(x_j).
    let f = jacsense::from_fn(n, m, |x: &[f64], y: &mut [f64]| {
        let s: Vec<f64> = x.iter().map(|v| v.sin()).collect();
        a.mul_vec(&s, y);
    });
    let x0: Vec<f64> = (0..n).map(|j| (j as f64).cos()).collect();
    let mut truth = a.clone();
    for i in 0..m {
        let p = truth.pattern().row_start(i);
        for (q, &j) in a.pattern().row(i).iter().enumerate() {
            truth.values_mut()[p + q] *= x0[j].cos();
        }
    }
    let structure = Structure::sparse(a.pattern().clone());
    let colored_settings = Settings { design: Design::Colored { ordering: None }, ..Settings::default() };
    let colored = jacobian_with(&f, &x0, &structure, &colored_settings).unwrap();
    // The planner sees χ ≫ ρ_max and picks random (rainbow) directions by itself.
    let auto = jacobian_with(&f, &x0, &structure, &Settings::default()).unwrap();
    assert_eq!((auto.diagnostics().design.name(), auto.diagnostics().calls), ("rainbow", structure.lower_bound() + 3));
    assert!(rel_err(auto.jacobian(), &truth) <= 1e3 * f64::EPSILON.sqrt());
    let random = jacobian_with(
        &f,
        &x0,
        &structure,
        &Settings {
            design: Design::Random { distribution: RandomDistribution::Gaussian, directions: None },
            ..Settings::default()
        },
    )
    .unwrap();
    let (ec, er) = (rel_err(colored.jacobian(), &truth), rel_err(random.jacobian(), &truth));
    let (cc, cr) = (colored.diagnostics().calls, random.diagnostics().calls);
    assert!(ec <= 1e3 * f64::EPSILON.sqrt() && er <= 1e3 * f64::EPSILON.sqrt(), "errors {ec:e} {er:e}");
    eprintln!("random {cr} calls (error {er:.1e}) vs colored {cc} (error {ec:.1e})");
    assert!(cr * 3 < cc, "random {cr} calls vs colored {cc}");
}

#[test]
fn step_rules() {
    let p = BroydenTridiagonal { n: 50 };
    let structure = Structure::sparse(p.pattern());
    let truth = p.jacobian(&p.x0());
    for step in [
        Step::Default,
        Step::Relative(1e-7),
        Step::Absolute(1e-6),
        Step::PerCoordinate(vec![1e-7; 50]),
        Step::Noise(1e-12),
    ] {
        let est =
            jacobian_with(&p, &p.x0(), &structure, &Settings { step: step.clone(), ..Settings::default() }).unwrap();
        let err = rel_err(est.jacobian(), &truth);
        assert!(err < 1e-5, "{step:?}: {err:e}");
    }
    // The plan uses the documented rule h_c = h0 · max(1, |x0_c|).
    let x0: Vec<f64> = (0..50).map(|i| i as f64 - 25.0).collect();
    let plan = jacsense::Plan::new(&structure, &x0, &Settings::default()).unwrap();
    for (h, x) in plan.steps().iter().zip(&x0) {
        assert_eq!(*h, f64::EPSILON.sqrt() * x.abs().max(1.0));
    }
}
