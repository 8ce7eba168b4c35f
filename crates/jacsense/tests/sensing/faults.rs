//! Failed calls become erasures: recorded with their reasons, dropped from decoding,
//! never a crash; rows that lose too much say so.

use jacsense::{
    Blackbox, Design, ErasureReason, RandomDistribution, RowStatus, Settings, Step, Structure, jacobian_with,
    try_from_fn,
};
use jacsense_problems::{BroydenTridiagonal, LinearMap, Problem, random_matrix, random_pattern};

use super::rel_err;

/// Failing calls are recognised by the point they are called at: a fixed coordinate
/// pattern that only some perturbed points have.
fn faulty<B: Blackbox + Sync>(inner: B, bad: Vec<(usize, f64)>) -> impl Blackbox + Sync {
    let (n, m) = inner.dims();
    try_from_fn(n, m, move |x: &[f64], y: &mut [f64]| {
        for (k, &(c, v)) in bad.iter().enumerate() {
            if x[c] == v {
                match k % 3 {
                    0 => return Err(format!("simulated failure at x[{c}]")),
                    1 => panic!("simulated panic at x[{c}]"),
                    _ => {
                        inner.call(x, y).map_err(|e| e.0)?;
                        y[0] = f64::NAN;
                        return Ok(());
                    }
                }
            }
        }
        inner.call(x, y).map_err(|e| e.0)
    })
}

#[test]
fn errors_panics_and_nans_become_erasures_and_random_design_survives() {
    let a = random_matrix(random_pattern(400, 400, 4, 21), 22);
    let structure = Structure::sparse(a.pattern().clone());
    let lin = LinearMap { a: a.clone() };
    let x0 = lin.x0();
    let settings = Settings {
        design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(12) },
        step: Step::Absolute(1.0),
        seed: 3,
        ..Settings::default()
    };
    let plan = jacsense::Plan::new(&structure, &x0, &settings).unwrap();
    // Make calls 2, 5 and 9 fail, each in another way, keyed on their coordinate 0.
    let bad: Vec<(usize, f64)> = [2, 5, 9]
        .iter()
        .map(|&call| {
            let mut x = vec![0.0; 400];
            plan.point(call, &mut x).unwrap();
            (0, x[0])
        })
        .collect();
    let f = faulty(lin, bad);
    let est = jacobian_with(&f, &x0, &structure, &settings).unwrap();
    let d = est.diagnostics();
    assert_eq!(d.calls, 13);
    let erased: Vec<usize> = d.erasures.iter().map(|e| e.call).collect();
    assert_eq!(erased, vec![2, 5, 9]);
    assert!(matches!(&d.erasures[0].reason, ErasureReason::Failed(m) if m.contains("simulated failure")));
    assert!(matches!(&d.erasures[1].reason, ErasureReason::Panicked(m) if m.contains("simulated panic")));
    assert!(matches!(d.erasures[2].reason, ErasureReason::NonFinite { output: 0, .. }));
    assert_eq!(d.valid_measurements, 9);
    assert!(est.is_complete());
    assert!(rel_err(est.jacobian(), &a) <= 1e-8);
}

#[test]
fn an_erased_color_leaves_exactly_its_entries_undetermined() {
    let p = BroydenTridiagonal { n: 30 };
    let structure = Structure::sparse(p.pattern());
    let x0 = p.x0();
    let plan = jacsense::Plan::new(&structure, &x0, &Settings::default()).unwrap();
    let (_, coloring) = plan.coloring().unwrap();
    let mut x = vec![0.0; 30];
    plan.point(2, &mut x).unwrap(); // the call of color 1
    let lost = (0..30).find(|&c| x[c] != x0[c]).unwrap();
    let f = faulty(p.clone(), vec![(lost, x[lost])]);
    // One plan's decode (a session would top the lost color up: `sessions.rs`).
    let est = plan.evaluate_sequential(&f).unwrap().decode();
    let truth = p.jacobian(&x0);
    for i in 0..30 {
        let row = structure.pattern().row(i);
        let lost_here = row.iter().filter(|&&c| coloring.color(c) == 1).count();
        let status = &est.diagnostics().rows[i].status;
        if lost_here == 0 {
            assert_eq!(*status, RowStatus::Determined);
        } else {
            assert_eq!(*status, RowStatus::Underdetermined { determined: row.len() - lost_here, unknowns: row.len() });
        }
        for &c in row {
            let v = est.jacobian().get(i, c);
            if coloring.color(c) == 1 {
                assert!(v.is_nan());
            } else {
                assert!((v - truth.get(i, c)).abs() < 1e-6);
            }
        }
    }
    assert_eq!(
        est.undetermined_rows().len(),
        30 - est.diagnostics().rows.iter().filter(|r| r.status == RowStatus::Determined).count()
    );
}

/// With fewer valid measurements than unknowns the row is reported underdetermined,
/// and no arbitrary value is returned for what the data cannot determine.
#[test]
fn rank_deficient_rows_are_reported_not_guessed() {
    let a = random_matrix(jacsense::Pattern::dense(3, 6), 1);
    let lin = LinearMap { a };
    let structure = Structure::dense(3, 6);
    let settings = Settings {
        design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(6) },
        step: Step::Absolute(1.0),
        ..Settings::default()
    };
    let plan = jacsense::Plan::new(&structure, &lin.x0(), &settings).unwrap();
    let mut meas = plan.evaluate(&lin).unwrap();
    meas.erase(3, ErasureReason::Missing).unwrap();
    let est = meas.decode();
    for r in &est.diagnostics().rows {
        assert_eq!(r.status, RowStatus::Underdetermined { determined: 0, unknowns: 6 });
        assert_eq!(r.measurements, 5);
    }
    assert!(est.jacobian().values().iter().all(|v| v.is_nan()));
    assert_eq!(est.undetermined_rows(), vec![0, 1, 2]);
}

#[test]
fn an_erased_base_call_leaves_every_row_undetermined() {
    let p = BroydenTridiagonal { n: 10 };
    let structure = Structure::sparse(p.pattern());
    let x0 = p.x0();
    let plan = jacsense::Plan::new(&structure, &x0, &Settings::default()).unwrap();
    // x0 itself has x[c] == x0[c]; so do the perturbed points that leave coordinate c
    // alone: those calls fail too.
    let mut x = vec![0.0; 10];
    let mut failing = |c: usize| -> Vec<usize> {
        (0..plan.calls())
            .filter(|&j| {
                plan.point(j, &mut x).unwrap();
                x[c] == x0[c]
            })
            .collect()
    };
    // The failure mode is chosen by the position in the list (error, panic, NaN), so
    // the base call fails in each of the three ways; the entries before it never match.
    for (kind, c) in [0, 1, 2].into_iter().enumerate() {
        let mut bad = vec![(0, f64::NAN); kind];
        bad.push((c, x0[c]));
        let f = faulty(p.clone(), bad);
        let est = plan.evaluate(&f).unwrap().decode();
        let d = est.diagnostics();
        let erased: Vec<usize> = d.erasures.iter().map(|e| e.call).collect();
        assert_eq!(erased, failing(c), "failure kind {kind}");
        let reason = &d.erasures[0].reason;
        match kind {
            0 => assert!(matches!(reason, ErasureReason::Failed(m) if m.contains("simulated failure")), "{reason:?}"),
            1 => assert!(matches!(reason, ErasureReason::Panicked(m) if m.contains("simulated panic")), "{reason:?}"),
            _ => assert!(matches!(reason, ErasureReason::NonFinite { output: 0, .. }), "{reason:?}"),
        }
        assert!(d.f0.is_none(), "failure kind {kind}: f(x0) was lost");
        for (i, r) in d.rows.iter().enumerate() {
            assert_ne!(r.status, RowStatus::Determined, "failure kind {kind}: row {i}");
        }
        assert!(est.jacobian().values().iter().all(|v| v.is_nan()), "failure kind {kind}: no value without f(x0)");
    }
}
