//! Bad input is a typed error whose message names the values.

use jacsense::{
    Design, Error, Measurements, Pattern, Plan, RandomDistribution, Settings, Step, Structure, from_fn, jacobian_with,
};
use jacsense_problems::{BroydenTridiagonal, Problem};

#[test]
fn bad_input_is_a_typed_error_naming_the_values() {
    let p = BroydenTridiagonal { n: 10 };
    let structure = Structure::sparse(p.pattern());
    let s = Settings::default();

    let e = Plan::new(&structure, &[1.0; 9], &s).unwrap_err();
    assert_eq!(e, Error::DimensionMismatch { what: "x0 length", expected: 10, found: 9 });
    assert_eq!(e.to_string(), "dimension mismatch: x0 length is 9, expected 10");

    let mut x0 = vec![0.0; 10];
    x0[4] = f64::NAN;
    assert_eq!(Plan::new(&structure, &x0, &s).unwrap_err().to_string(), "x0[4] = NaN is not finite");

    let wrong = from_fn(10, 11, |_: &[f64], _: &mut [f64]| {});
    let e = jacobian_with(&wrong, &p.x0(), &structure, &s).unwrap_err();
    assert!(matches!(e, Error::DimensionMismatch { expected: 11, found: 10, .. }), "{e}");

    let few = Settings {
        design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(2) },
        ..s.clone()
    };
    let e = Plan::new(&structure, &p.x0(), &few).unwrap_err();
    assert_eq!(e, Error::TooFewCalls { row: 1, unknowns: 3, calls: 2, needed: 3 });
    assert!(e.to_string().contains("row 1 has 3 unknowns"));

    for step in [Step::Absolute(0.0), Step::Relative(-1.0), Step::Absolute(f64::INFINITY), Step::Noise(f64::NAN)] {
        let e = Plan::new(&structure, &p.x0(), &Settings { step, ..s.clone() }).unwrap_err();
        assert!(matches!(e, Error::InvalidSetting { .. }), "{e}");
    }
    let e = Plan::new(&structure, &p.x0(), &Settings { step: Step::PerCoordinate(vec![1e-6; 3]), ..s.clone() })
        .unwrap_err();
    assert!(matches!(e, Error::DimensionMismatch { expected: 10, found: 3, .. }));

    let e = Pattern::from_triplets(5, 10, &[(1, 1), (7, 12)]).unwrap_err();
    assert_eq!(e.to_string(), "pattern entry (7, 12) is outside a 5×10 matrix");
    let e = Pattern::from_rows(3, &[vec![0], vec![3]]).unwrap_err();
    assert_eq!(e, Error::EntryOutOfBounds { row: 1, col: 3, nrows: 2, ncols: 3 });

    let plan = Plan::new(&structure, &p.x0(), &s).unwrap();
    let mut meas = Measurements::new(&plan).unwrap();
    assert_eq!(meas.tell(99, &[0.0; 10]).unwrap_err(), Error::UnknownCall { index: 99, calls: plan.calls() });
    assert!(matches!(meas.tell(0, &[0.0; 3]).unwrap_err(), Error::DimensionMismatch { expected: 10, found: 3, .. }));
    assert!(matches!(plan.point(0, &mut [0.0; 4]).unwrap_err(), Error::DimensionMismatch { .. }));
}

/// Degenerate sizes are answered, not panicked on: no inputs, no outputs, empty rows.
#[test]
fn degenerate_sizes_work_with_every_design() {
    use jacsense::{Difference, RandomDistribution};
    let designs = [
        Design::Auto,
        Design::Coordinate,
        Design::Colored { ordering: None },
        Design::Random { distribution: RandomDistribution::Gaussian, directions: None },
        Design::Random { distribution: RandomDistribution::Rademacher, directions: None },
        Design::Rainbow { ordering: None, directions: None },
    ];
    let cases = [(0, 3), (3, 0), (0, 0)];
    for (m, n) in cases {
        let f = from_fn(n, m, |_: &[f64], _: &mut [f64]| {});
        for design in &designs {
            for difference in [Difference::Forward, Difference::Central] {
                let settings = Settings { design: design.clone(), difference, ..Settings::default() };
                let est = jacobian_with(&f, &vec![0.5; n], &Structure::dense(m, n), &settings).unwrap();
                assert!(est.is_complete(), "{m}×{n} {design:?}");
                assert_eq!(est.jacobian().pattern().nnz(), m * n);
            }
        }
    }
    // Rows with no allowed entry, beside rows with some.
    let p = Pattern::from_rows(4, &[vec![], vec![1, 2], vec![]]).unwrap();
    let f = from_fn(4, 3, |x: &[f64], y: &mut [f64]| {
        y[0] = 7.0;
        y[1] = x[1] * x[2];
        y[2] = -1.0;
    });
    for design in designs {
        let settings = Settings { design: design.clone(), ..Settings::default() };
        let est = jacobian_with(&f, &[1.0, 2.0, 3.0, 4.0], &Structure::sparse(p.clone()), &settings).unwrap();
        assert!(est.is_complete(), "{design:?}");
        assert!((est.jacobian().get(1, 1) - 3.0).abs() < 1e-6, "{design:?}");
    }
}
