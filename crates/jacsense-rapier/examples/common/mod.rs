//! What the examples share: the reference Jacobian, errors, the settings compared.
#![allow(dead_code)]

use jacsense::{Design, Difference, PlanOptions, Scheme, Settings, Step, Structure};
use jacsense_rapier::Dynamics;

/// The reference `J = [A B]` at `point`: central coordinate differences at the small
/// relative step 1e-6 (truncation about 1e-12, rounding about 1e-10).
pub fn reference(d: &Dynamics, point: &[f64]) -> faer::Mat<f64> {
    let settings = Settings {
        design: Design::Coordinate,
        difference: Difference::Central,
        step: Step::Relative(1e-6),
        ..Settings::default()
    };
    let (n, m) = (d.nx() + d.nu(), d.nx());
    jacsense::jacobian_with(d, point, &Structure::dense(m, n), &settings).expect("reference").dense()
}

/// Relative Frobenius error of columns `cols` of `j` against `r`.
pub fn rel_err(j: &faer::Mat<f64>, r: &faer::Mat<f64>, cols: std::ops::Range<usize>) -> f64 {
    let (mut e, mut s) = (0.0, 0.0);
    for i in 0..r.nrows() {
        for c in cols.clone() {
            e += (j[(i, c)] - r[(i, c)]).powi(2);
            s += r[(i, c)].powi(2);
        }
    }
    (e / s).sqrt()
}

/// Dense forward differences, MuJoCo's call shape (`1 + nx + nu` calls).
pub fn forward_differences() -> Settings {
    Settings { design: Design::Coordinate, ..Settings::default() }
}

/// A scheme's estimate at `point` given `f(point)` (so the count excludes that call).
pub fn sense(d: &Dynamics, scheme: &Scheme, point: &[f64], f0: &[f64]) -> (faer::Mat<f64>, usize, jacsense::Status) {
    let plan = scheme.at_with(point, &PlanOptions { f0: Some(f0.to_vec()), ..PlanOptions::default() }).expect("plan");
    let est = plan.evaluate(d).expect("evaluate").decode();
    (est.dense(), est.diagnostics().calls, est.status())
}

/// `[x; u]`.
pub fn join(x: &[f64], u: &[f64]) -> Vec<f64> {
    let mut p = x.to_vec();
    p.extend_from_slice(u);
    p
}

/// `--quick` was given.
pub fn quick() -> bool {
    std::env::args().any(|a| a == "--quick")
}
