//! Ask/tell: points handed out, values told back in any order; the in-process path is
//! the same computation.

use jacsense::{Design, Difference, ErasureReason, Measurements, Plan, RandomDistribution, Settings, Structure};
use jacsense_problems::{Bratu2d, Problem};

fn settings() -> Vec<Settings> {
    let mut all = Vec::new();
    for design in [
        Design::Coordinate,
        Design::Colored { ordering: None },
        Design::Random { distribution: RandomDistribution::Rademacher, directions: None },
    ] {
        for difference in [Difference::Forward, Difference::Central] {
            all.push(Settings { design: design.clone(), difference, seed: 9, ..Settings::default() });
        }
    }
    all
}

#[test]
fn values_told_in_any_order_give_the_same_bits_as_in_process_evaluation() {
    let p = Bratu2d { grid: 12, lambda: 2.0 };
    let structure = Structure::sparse(p.pattern());
    for s in settings() {
        let plan = Plan::new(&structure, &p.x0(), &s).unwrap();
        let in_process = plan.evaluate(&p).unwrap().decode();
        let sequential = plan.evaluate_sequential(&p).unwrap().decode();
        assert!(in_process == sequential, "{s:?}: parallel and sequential evaluation differ");
        assert!(in_process.is_complete(), "{s:?}");

        // Evaluate "elsewhere": all points first, then tell in a scrambled order.
        let points = plan.points();
        let mut order: Vec<usize> = (0..plan.calls()).collect();
        order.sort_by_key(|&j| (j * 7919) % plan.calls());
        let mut meas = Measurements::new(&plan).unwrap();
        for j in order {
            let mut y = vec![0.0; 144];
            jacsense::Blackbox::call(&p, &points[j], &mut y).unwrap();
            meas.tell(j, &y).unwrap();
        }
        let told = meas.decode();
        assert!(told.jacobian() == in_process.jacobian(), "{s:?}: told values decode differently");
        assert_eq!(told.diagnostics().calls, plan.calls());
    }
}

#[test]
fn calls_never_told_are_missing_erasures() {
    let p = Bratu2d { grid: 6, lambda: 1.0 };
    let structure = Structure::sparse(p.pattern());
    let plan = Plan::new(&structure, &p.x0(), &Settings::default()).unwrap();
    let mut meas = Measurements::new(&plan).unwrap();
    let mut y = vec![0.0; 36];
    for j in [0, 1, 3] {
        let mut x = vec![0.0; 36];
        plan.point(j, &mut x).unwrap();
        jacsense::Blackbox::call(&p, &x, &mut y).unwrap();
        meas.tell(j, &y).unwrap();
    }
    assert_eq!(meas.calls_made(), 3);
    let erasures = meas.erasures();
    assert_eq!(erasures.len(), plan.calls() - 3);
    assert!(erasures.iter().all(|e| e.reason == ErasureReason::Missing && ![0, 1, 3].contains(&e.call)));
    assert!(!meas.decode().is_complete());
    // A told value with a NaN is an erasure that names the output.
    y[7] = f64::NAN;
    meas.tell(2, &y).unwrap();
    assert!(
        meas.erasures()
            .iter()
            .any(|e| e.call == 2 && e.reason == ErasureReason::NonFinite { output: 7, value: f64::NAN })
            || meas
                .erasures()
                .iter()
                .any(|e| e.call == 2 && matches!(e.reason, ErasureReason::NonFinite { output: 7, .. }))
    );
}
