//! Tracking along a trajectory from a prior: validated updates, re-senses at jumps.

use jacsense::{Error, Pattern, Settings, Structure, TrackSettings, Tracker, from_fn, try_from_fn};

/// A map whose Jacobian jumps where `x[0]` crosses 0.5, walked across in steps.
#[test]
fn resenses_at_a_forced_discontinuity() {
    let n = 6;
    let f = from_fn(n, n, move |x: &[f64], y: &mut [f64]| {
        let gain = if x[0] < 0.5 { 1.0 } else { 3.0 };
        for i in 0..n {
            y[i] = gain * (i as f64 + 1.0) * x[i] + 0.5 * x[(i + 1) % n] + 0.1 * x[i] * x[i];
        }
    });
    let mut tracker = Tracker::new(&Structure::dense(n, n), &Settings::default(), TrackSettings::default()).unwrap();
    let mut resensed = Vec::new();
    for t in 0..20 {
        let x: Vec<f64> = (0..n).map(|i| 0.05 * t as f64 + 0.01 * i as f64).collect();
        let est = tracker.estimate(&f, &x, None).unwrap();
        if est.resensed {
            resensed.push(t);
        }
        let gain = if x[0] < 0.5 { 1.0 } else { 3.0 };
        for (i, xi) in x.iter().enumerate() {
            let expected = gain * (i as f64 + 1.0) + 0.2 * xi;
            let got = est.jacobian.get(i, i);
            assert!((got - expected).abs() < 1e-5 * expected, "step {t} row {i}: {got} vs {expected}");
        }
    }
    // x0 crosses 0.5 at step 10: besides the first three points (no prior, then no rate
    // and no acceleration measured yet: the filters cannot predict within 10 times the
    // tolerance and sense in full without trying), the jump is the only re-sense.
    assert_eq!(resensed, vec![0, 1, 2, 10]);
}

/// Calls that fail during an update make that step re-sense, not fail.
#[test]
fn failed_calls_make_the_step_resense() {
    let n = 4;
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let f = try_from_fn(n, n, |x: &[f64], y: &mut [f64]| {
        // Every 7th call fails.
        if calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 7 == 6 {
            return Err("simulator crashed");
        }
        for i in 0..n {
            y[i] = x[i].sin() + x[(i + 1) % n];
        }
        Ok(())
    });
    let structure = Structure::sparse(Pattern::from_rows(n, &[[0, 1], [1, 2], [2, 3], [0, 3]]).unwrap());
    let mut tracker = Tracker::new(&structure, &Settings::default(), TrackSettings::default()).unwrap();
    for t in 0..15 {
        let x = vec![0.1 + 1e-4 * t as f64; n];
        let est = tracker.estimate(&f, &x, None).unwrap();
        assert!((est.jacobian.get(2, 2) - x[2].cos()).abs() < 1e-4, "step {t}");
    }
}

#[test]
fn bad_inputs_are_errors() {
    let f = from_fn(3, 3, |x: &[f64], y: &mut [f64]| y.copy_from_slice(x));
    let s = Structure::dense(3, 3);
    let mut tracker = Tracker::new(&s, &Settings::default(), TrackSettings::default()).unwrap();
    assert!(matches!(tracker.estimate(&f, &[0.0; 2], None), Err(Error::DimensionMismatch { .. })));
    assert!(matches!(tracker.estimate(&f, &[0.0, f64::NAN, 0.0], None), Err(Error::NonFiniteX0 { index: 1, .. })));
    assert!(tracker.estimate(&f, &[0.0; 3], Some(&[0.0, 0.0])).is_err());
    assert!(tracker.estimate(&f, &[0.0; 3], Some(&[0.0, f64::INFINITY, 0.0])).is_err());
    let wrong = from_fn(3, 2, |_: &[f64], _: &mut [f64]| {});
    assert!(tracker.estimate(&wrong, &[0.0; 3], None).is_err());
    for bad in [
        TrackSettings { validation: 0, ..TrackSettings::default() },
        TrackSettings { tolerance: 0.0, ..TrackSettings::default() },
        TrackSettings { tolerance: f64::NAN, ..TrackSettings::default() },
        TrackSettings { drift: -1.0, ..TrackSettings::default() },
        TrackSettings { order: 0, ..TrackSettings::default() },
        TrackSettings { order: 5, ..TrackSettings::default() },
        TrackSettings { rounds: 0, ..TrackSettings::default() },
        TrackSettings { margin: -1.0, ..TrackSettings::default() },
        TrackSettings { margin: f64::NAN, ..TrackSettings::default() },
    ] {
        assert!(Tracker::new(&s, &Settings::default(), bad).is_err());
    }
}

/// The same seed gives the same bits.
#[test]
fn seeded() {
    let n = 5;
    let f = from_fn(n, n, move |x: &[f64], y: &mut [f64]| {
        for i in 0..n {
            y[i] = (0..n).map(|j| x[j] * x[i] / (1.0 + i.abs_diff(j) as f64)).sum();
        }
    });
    let run = || {
        let mut tracker =
            Tracker::new(&Structure::dense(n, n), &Settings::default(), TrackSettings::default()).unwrap();
        (0..6)
            .map(|t| tracker.estimate(&f, &vec![1.0 + 1e-4 * t as f64; n], None).unwrap().jacobian.values().to_vec())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

/// `J = A + 0.3 diag(x²)` along `x(t) = 0.5 + 0.01 t`: the diagonal accelerates. A
/// first-order filter's prediction is off by the acceleration at every step and fails
/// validation; third- and fourth-order ones predict it once full senses gave the rate.
#[test]
fn a_higher_order_filter_follows_an_accelerating_jacobian() {
    let n = 12;
    let f = from_fn(n, n, move |x: &[f64], y: &mut [f64]| {
        for i in 0..n {
            y[i] = (0..n).map(|j| x[j] / (1.0 + i.abs_diff(j) as f64)).sum::<f64>() + 0.1 * x[i].powi(3);
        }
    });
    let resensed = |track: TrackSettings| {
        let order = track.order;
        let mut tracker = Tracker::new(&Structure::dense(n, n), &Settings::default(), track).unwrap();
        let mut count = 0;
        for t in 0..40 {
            let x = vec![0.5 + 0.01 * t as f64; n];
            let est = tracker.estimate(&f, &x, None).unwrap();
            count += usize::from(est.resensed);
            let expected = 1.0 + 0.3 * x[3] * x[3];
            assert!((est.jacobian.get(3, 3) - expected).abs() < 1e-5, "order {order}, step {t}");
        }
        count
    };
    let first = resensed(TrackSettings { order: 1, rounds: 1, drift: 1e-6, ..TrackSettings::default() });
    let third = resensed(TrackSettings { order: 3, ..TrackSettings::default() });
    let fourth = resensed(TrackSettings::default());
    assert!(first >= 30, "first order re-sensed {first} of 40 steps");
    // Its re-senses are the first steps, while it learns the derivatives (and the
    // back-off after them).
    assert!(third <= 8, "third order re-sensed {third} of 40 steps");
    assert!(fourth <= 8, "fourth order re-sensed {fourth} of 40 steps");
}

/// Update directions where the filters are least sure of `J` (active) reach the
/// tolerance with fewer calls than random ones, on a map whose Jacobian changes in
/// every entry along the trajectory (30 inputs, the same 3 update calls and 1 held back
/// per point: random directions fail validation more often and pay for a second round
/// or a full sense).
#[test]
fn active_directions_take_fewer_calls_than_random_ones() {
    let n = 30;
    let f = from_fn(n, n, move |x: &[f64], y: &mut [f64]| {
        for i in 0..n {
            let coupling: f64 = (0..n).map(|j| x[j] * x[j] * x[i] / (2.0 + i.abs_diff(j) as f64)).sum();
            y[i] = (0..n).map(|j| x[j] / (1.0 + i.abs_diff(j) as f64)).sum::<f64>() + 0.1 * coupling;
        }
    });
    // ∂f_i/∂x_c = 1/(1 + |i − c|) + 0.1 (2 x_c x_i / (2 + |i − c|) + [i = c] Σ_j x_j² / (2 + |i − j|)).
    let jacobian = |x: &[f64], i: usize, c: usize| {
        let mut v = 1.0 / (1.0 + i.abs_diff(c) as f64) + 0.2 * x[c] * x[i] / (2.0 + i.abs_diff(c) as f64);
        if i == c {
            v += 0.1 * (0..n).map(|j| x[j] * x[j] / (2.0 + i.abs_diff(j) as f64)).sum::<f64>();
        }
        v
    };
    let run = |active: bool| {
        let track = TrackSettings { active, ..TrackSettings::default() };
        let mut tracker = Tracker::new(&Structure::dense(n, n), &Settings::default(), track).unwrap();
        let mut calls = 0;
        for t in 0..60 {
            let s = 0.02 * t as f64;
            let x: Vec<f64> = (0..n).map(|i| 0.5 + 0.3 * (s + 0.5 * i as f64).sin()).collect();
            let est = tracker.estimate(&f, &x, None).unwrap();
            calls += est.calls;
            let (mut err, mut size) = (0.0, 0.0);
            for i in 0..n {
                for c in 0..n {
                    let exact = jacobian(&x, i, c);
                    err += (est.jacobian.get(i, c) - exact).powi(2);
                    size += exact * exact;
                }
            }
            let err = (err / size).sqrt();
            assert!(err < 1e-5, "active {active}, step {t}: error {err:.1e}");
        }
        calls
    };
    let (active, random) = (run(true), run(false));
    // Measured: 504 calls against 680 over the 60 points (a full sense: 31).
    assert!(10 * active < 9 * random, "active directions took {active} calls, random ones {random}");
}
