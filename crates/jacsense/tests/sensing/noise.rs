//! Redundant designs see the noise: error bars are calibrated, and a wrong or missing
//! `f(x0)` is absorbed by the per-row offset.

use jacsense::{
    Blackbox, Design, Difference, ErasureReason, Plan, RandomDistribution, Settings, Step, Structure, jacobian_with,
};
use jacsense_problems::{LinearMap, Noisy, PatternFunction, Problem, random_matrix, random_pattern};

use super::rel_err;

/// Fraction of entries within `width` reported standard errors of the truth.
fn coverage(p: &dyn Problem, settings: &Settings, width: f64) -> (f64, f64) {
    let structure = Structure::sparse(p.pattern());
    let x0 = p.x0();
    let est = jacobian_with(p, &x0, &structure, settings).unwrap();
    let truth = p.jacobian(&x0);
    let se = est.std_errors().expect("redundant design reports standard errors");
    let j = est.jacobian();
    let inside = j
        .pattern()
        .entries()
        .zip(j.values().iter().zip(se))
        .filter(|&((r, c), (&v, &s))| (v - truth.get(r, c)).abs() <= width * s)
        .count();
    (inside as f64 / j.values().len() as f64, est.diagnostics().noise.unwrap())
}

#[test]
fn standard_errors_are_calibrated_on_noisy_functions() {
    let sigma = 1e-6;
    let a = random_matrix(random_pattern(400, 400, 5, 31), 32);
    let linear = Noisy { inner: LinearMap { a: a.clone() }, sigma, seed: 1 };
    let nonlinear = Noisy { inner: PatternFunction { a }, sigma, seed: 2 };
    for (p, step) in [(&linear as &dyn Problem, Step::Absolute(1e-2)), (&nonlinear, Step::Absolute(1e-4))] {
        for design in [
            Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(15) },
            Design::Rainbow { ordering: None, directions: Some(15) },
        ] {
            for difference in [Difference::Forward, Difference::Central] {
                let settings =
                    Settings { design: design.clone(), difference, step: step.clone(), seed: 5, ..Settings::default() };
                let (inside, noise) = coverage(p, &settings, 3.0);
                eprintln!("{} {} {difference:?}: {inside:.4} within 3 SE, noise {noise:.3e}", p.name(), design.name());
                assert!(inside >= 0.95, "{} {design:?} {difference:?}: {inside} within 3 SE", p.name());
                assert!((noise / sigma - 1.0).abs() < 0.2, "{} {design:?}: noise {noise:e} vs {sigma:e}", p.name());
            }
        }
    }
}

#[test]
fn more_calls_average_the_noise_down() {
    let a = random_matrix(random_pattern(300, 300, 4, 41), 42);
    let p = Noisy { inner: LinearMap { a: a.clone() }, sigma: 1e-6, seed: 3 };
    let structure = Structure::sparse(a.pattern().clone());
    let err = |k: usize| {
        let settings = Settings {
            design: Design::Rainbow { ordering: None, directions: Some(k) },
            step: Step::Absolute(1e-2),
            ..Settings::default()
        };
        rel_err(jacobian_with(&p, &p.x0(), &structure, &settings).unwrap().jacobian(), &a)
    };
    let (e8, e64) = (err(8), err(64));
    // Least squares error falls like 1/√k: 8× the calls, about √8 ≈ 2.8× less error.
    assert!(e64 < e8 / 2.0, "{e8:e} -> {e64:e}");
}

#[test]
fn a_missing_or_wrong_f_x0_is_absorbed_by_the_offset() {
    let a = random_matrix(random_pattern(200, 300, 4, 51), 52);
    let lin = LinearMap { a: a.clone() };
    let structure = Structure::sparse(a.pattern().clone());
    let x0 = lin.x0();
    let settings = Settings {
        design: Design::Rainbow { ordering: None, directions: Some(10) },
        step: Step::Absolute(1.0),
        ..Settings::default()
    };
    let plan = Plan::new(&structure, &x0, &settings).unwrap();

    // f(x0) failed: the decode goes on.
    let mut meas = plan.evaluate(&lin).unwrap();
    meas.erase(0, ErasureReason::Failed("simulated".into())).unwrap();
    let est = meas.decode();
    assert!(est.is_complete());
    assert!(rel_err(est.jacobian(), &a) <= 1e-8);
    assert!(est.diagnostics().rows.iter().all(|r| r.offset));

    // f(x0) grossly wrong: still right, and call 0 is the outlier.
    let mut meas = plan.evaluate(&lin).unwrap();
    let mut y0 = vec![0.0; 200];
    lin.call(&x0, &mut y0).unwrap();
    y0.iter_mut().for_each(|v| *v += 1e6);
    meas.tell(0, &y0).unwrap();
    let est = meas.decode();
    assert!(rel_err(est.jacobian(), &a) <= 1e-8);
    let outliers: Vec<usize> = est.diagnostics().outliers.iter().map(|o| o.call).collect();
    assert_eq!(outliers, vec![0]);
}

/// The zero map, whose [`Noisy`] wrapper draws standard normals per point and output.
type Zero = jacsense::FnBlackbox<fn(&[f64], &mut [f64])>;

/// `f(x) = A x + c` with outputs of sizes from 1 to 10⁶ and noise relative to them, as
/// [`Settings::noise`] says: `σ · max(1, |f_i|)` on output `i`.
struct RelativeNoise {
    a: jacsense::SparseMatrix,
    c: Vec<f64>,
    sigma: f64,
    /// Standard normal draws per point and output.
    unit: Noisy<Zero>,
}

impl Blackbox for RelativeNoise {
    fn dims(&self) -> (usize, usize) {
        (self.a.pattern().ncols(), self.a.pattern().nrows())
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), jacsense::CallError> {
        self.a.mul_vec(x, y);
        y.iter_mut().zip(&self.c).for_each(|(v, c)| *v += c);
        let mut z = vec![0.0; y.len()];
        self.unit.call(x, &mut z)?;
        y.iter_mut().zip(z).for_each(|(v, z)| *v += self.sigma * v.abs().max(1.0) * z);
        Ok(())
    }
}

/// Standard errors stay calibrated, and the noise estimate is the relative level, when
/// the noise is relative to outputs of very different sizes: pooled in absolute terms,
/// the large outputs would set the level of every row.
#[test]
fn standard_errors_are_calibrated_with_noise_relative_to_the_outputs() {
    let sigma = 1e-8;
    let (m, n) = (400, 400);
    let a = random_matrix(random_pattern(m, n, 5, 33), 34);
    let c: Vec<f64> = (0..m).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 } * 10f64.powi((i % 7) as i32)).collect();
    let zero: fn(&[f64], &mut [f64]) = |_, y| y.fill(0.0);
    let f = RelativeNoise {
        a: a.clone(),
        c: c.clone(),
        sigma,
        unit: Noisy { inner: jacsense::from_fn(n, m, zero), sigma: 1.0, seed: 9 },
    };
    let structure = Structure::sparse(a.pattern().clone());
    let x0 = LinearMap { a: a.clone() }.x0();
    // 40 directions for 5 unknowns: about 34 residual degrees of freedom per row, so
    // that 3 estimated standard errors cover 99.5% of a t distribution.
    for design in [
        Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(40) },
        Design::Rainbow { ordering: None, directions: Some(40) },
    ] {
        for difference in [Difference::Forward, Difference::Central] {
            let settings =
                Settings { design: design.clone(), difference, noise: sigma, seed: 7, ..Settings::default() };
            let est = jacobian_with(&f, &x0, &structure, &settings).unwrap();
            let se = est.std_errors().expect("redundant design reports standard errors");
            let j = est.jacobian();
            let inside = j
                .pattern()
                .entries()
                .zip(j.values().iter().zip(se))
                .filter(|&((r, col), (&v, &s))| (v - a.get(r, col)).abs() <= 3.0 * s)
                .count();
            let coverage = inside as f64 / j.values().len() as f64;
            let noise = est.diagnostics().noise.unwrap();
            eprintln!("{} {difference:?}: {coverage:.4} within 3 SE, relative noise {noise:.3e}", design.name());
            assert!(coverage >= 0.99, "{design:?} {difference:?}: {coverage} within 3 SE");
            assert!((noise / sigma - 1.0).abs() < 0.2, "{design:?} {difference:?}: noise {noise:e} vs {sigma:e}");
            // Each row's own noise level is absolute: σ · |f_i| on the large outputs.
            for (i, r) in est.diagnostics().rows.iter().enumerate().filter(|(i, _)| i % 7 == 6) {
                let own = r.noise.unwrap() / (sigma * c[i].abs());
                assert!((own - 1.0).abs() < 0.5, "row {i}: noise {:e}", r.noise.unwrap());
            }
        }
    }
}
