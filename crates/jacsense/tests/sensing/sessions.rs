//! Sessions: rounds until validated (issue 10), priors (issue 13). Every test compares
//! against an analytic Jacobian.

use jacsense::{
    Blackbox, Design, ErasureReason, Pattern, Prior, Progress, Session, SessionOptions, Settings, SparseMatrix, Step,
    Structure, jacobian, jacobian_with, try_from_fn,
};
use jacsense_problems::{
    Bratu2d, BroydenTridiagonal, Crashing, LinearMap, Noisy, PatternFunction, Problem, hub_pattern, random_matrix,
    random_pattern,
};

use super::rel_err;

fn told_nothing(p: &dyn Problem) -> (jacsense::Estimate, f64) {
    let x0 = p.x0();
    let est = jacobian(p, &x0).unwrap();
    let err = rel_err(est.jacobian(), &p.jacobian(&x0));
    (est, err)
}

#[test]
fn told_nothing_broyden_needs_few_calls_and_says_why() {
    let p = BroydenTridiagonal { n: 1000 };
    let (est, err) = told_nothing(&p);
    let d = est.diagnostics();
    assert!(d.calls <= 60, "{} calls", d.calls);
    assert!(err <= 1e-6, "error {err:e}");
    assert!(est.status().is_solved(), "{}", est.status());
    assert!(d.rounds.len() >= 2);
    assert_eq!(d.rounds.iter().map(|r| r.calls).sum::<usize>(), d.calls);
    assert!(d.rounds[0].why.contains("nothing known"));
    assert!(d.rounds.last().unwrap().showed.contains("validated"));
    assert_eq!(d.rounds.last().unwrap().open_rows, 0);
    // The recovered pattern is the true one.
    assert_eq!(est.jacobian().pattern(), &p.pattern());
}

#[test]
fn told_nothing_bratu_100x100_within_150_calls() {
    let p = Bratu2d { grid: 100, lambda: 6.0 };
    let (est, err) = told_nothing(&p);
    assert!(est.diagnostics().calls <= 150, "{} calls", est.diagnostics().calls);
    assert!(err <= 1e-6, "error {err:e}");
    assert!(est.status().is_solved());
}

#[test]
fn told_nothing_dense_completes_a_basis() {
    let n = 300;
    let p = LinearMap { a: random_matrix(Pattern::dense(n, n), 9) };
    let (est, err) = told_nothing(&p);
    let calls = est.diagnostics().calls;
    assert!(calls <= n + n.div_ceil(20) + 3, "{calls} calls");
    let coordinate = Settings { design: Design::Coordinate, ..Settings::default() };
    let c = jacobian_with(&p, &p.x0(), &Structure::dense(n, n), &coordinate).unwrap();
    let err_c = rel_err(c.jacobian(), &p.a);
    assert!(err <= 3.0 * err_c, "session {err:e}, coordinate differences {err_c:e}");
    assert!(est.status().is_solved());
}

#[test]
fn ask_tell_in_any_order_gives_the_bits_of_run() {
    let p = PatternFunction { a: random_matrix(random_pattern(120, 150, 4, 2), 3) };
    let x0 = p.x0();
    let structure = Structure::dense(120, 150);
    let options = SessionOptions::default();
    let mut session = Session::new(&structure, &x0, &Settings::default(), &options).unwrap();
    let mut x = vec![0.0; 150];
    let mut y = vec![0.0; 120];
    let mut rounds = 0;
    while let Some(plan) = session.ask().cloned() {
        for call in (0..plan.calls()).rev() {
            plan.point(call, &mut x).unwrap();
            p.call(&x, &mut y).unwrap();
            session.tell(call, &y).unwrap();
        }
        rounds += 1;
        match session.finish_round().unwrap() {
            Progress::Done => break,
            Progress::More { calls } => assert_eq!(calls, session.ask().unwrap().calls()),
        }
    }
    assert!(session.tell(0, &y).is_err(), "a done session takes no value");
    let by_hand = session.into_estimate().unwrap();
    let run = jacobian(&p, &x0).unwrap();
    assert_eq!(by_hand.jacobian(), run.jacobian());
    assert_eq!(by_hand.diagnostics().rounds.len(), rounds);
    assert!(rel_err(run.jacobian(), &p.jacobian(&x0)) < 1e-6);
}

#[test]
fn a_spent_budget_stops_and_says_which_rows_are_open() {
    let p = BroydenTridiagonal { n: 1000 };
    let x0 = p.x0();
    let options = SessionOptions { max_calls: Some(20), ..SessionOptions::default() };
    let mut s = Session::new(&Structure::dense(1000, 1000), &x0, &Settings::default(), &options).unwrap();
    let est = s.run(&p).unwrap();
    assert!(est.diagnostics().calls <= 20);
    assert_eq!(est.status().name(), "incomplete");
    assert!(est.diagnostics().rounds.last().unwrap().showed.contains("budget"));
}

/// A budget in the settings of a told-nothing session is the session's limit, not a
/// one-round plan's: n calls are allowed when f(x0) is given (n + 1 was required).
#[test]
fn a_budget_of_n_calls_with_f0_given_is_a_told_nothing_sessions_limit() {
    let p = PatternFunction { a: random_matrix(random_pattern(30, 40, 40, 3), 4) };
    let x0 = p.x0();
    let mut f0 = vec![0.0; 30];
    p.call(&x0, &mut f0).unwrap();
    let settings = Settings { budget: Some(40), ..Settings::default() };
    let options =
        SessionOptions { point: jacsense::PlanOptions { f0: Some(f0), ..Default::default() }, ..Default::default() };
    let mut s = Session::new(&Structure::dense(30, 40), &x0, &settings, &options).unwrap();
    let est = s.run(&p).unwrap();
    assert!(est.diagnostics().calls <= 40, "{} calls", est.diagnostics().calls);
    // 40 measurements of 40 unknowns per row: determined, with none left to check them.
    assert!(est.is_complete(), "{}", est.status());
    assert!(est.diagnostics().rounds.last().unwrap().showed.contains("not validated"));
    let err = rel_err(est.jacobian(), &p.jacobian(&x0));
    assert!(err < 1e-6, "error {err:e}");
    // A budget below the first round is still the session's to spend: incomplete.
    let small = Settings { budget: Some(10), ..Settings::default() };
    let est = Session::new(&Structure::dense(30, 40), &x0, &small, &options).unwrap().run(&p).unwrap();
    assert!(est.diagnostics().calls <= 10);
    assert_eq!(est.status().name(), "incomplete");
    // A budget of one call, spent on f(x0) when it is not given: refused.
    let one = Settings { budget: Some(1), ..Settings::default() };
    assert!(Session::new(&Structure::dense(30, 40), &x0, &one, &SessionOptions::default()).is_err());
}

#[test]
fn erasures_are_finished_by_top_ups() {
    let n = 1000;
    let pattern = hub_pattern(n);
    assert_eq!(pattern.max_row_count(), 201);
    let inner = PatternFunction { a: random_matrix(pattern.clone(), 5) };
    let f = Crashing { inner: inner.clone(), every: 20, spare: None };
    let x0 = inner.x0();
    let structure = Structure::sparse(pattern);
    let est = jacobian_with(&f, &x0, &structure, &Settings::default()).unwrap();
    let d = est.diagnostics();
    assert!(!d.erasures.is_empty(), "some calls crashed");
    assert!(est.is_complete(), "{}", est.status());
    assert!(d.rounds.len() >= 2, "top-up rounds were made");
    assert!(d.rounds[1].why.contains("undetermined"));
    let err = rel_err(est.jacobian(), &inner.jacobian(&x0));
    assert!(err < 1e-6, "error {err:e}");
    // The top-ups cost far fewer calls than the first round.
    let first = d.rounds[0].calls;
    assert!(d.calls < first + first / 4, "{} calls after {first}", d.calls);
}

#[test]
fn failing_calls_of_a_told_nothing_session_are_replaced() {
    let p = BroydenTridiagonal { n: 300 };
    let x0 = vec![0.3; 300];
    let f = Crashing { inner: p.clone(), every: 10, spare: Some(x0.clone()) }; // f(x0) itself never crashes
    let est = jacobian(&f, &x0).unwrap();
    assert!(!est.diagnostics().erasures.is_empty());
    assert!(est.status().is_solved(), "{}", est.status());
    assert!(rel_err(est.jacobian(), &p.jacobian(&x0)) < 1e-6);
}

#[test]
fn tol_adds_calls_until_standard_errors_meet_it_and_they_are_calibrated() {
    let a = random_matrix(random_pattern(200, 200, 4, 11), 12);
    let sigma = 1e-6;
    let f = Noisy { inner: LinearMap { a: a.clone() }, sigma, seed: 5 };
    let x0 = f.x0();
    let structure = Structure::sparse(a.pattern().clone());
    let settings = Settings { noise: sigma, seed: 2, ..Settings::default() };
    let one = jacobian_with(&f, &x0, &structure, &settings).unwrap();
    let worst = |e: &jacsense::Estimate| e.std_errors().unwrap().iter().copied().fold(0.0f64, f64::max);
    let tol = worst(&one) / 3.0;
    let options = SessionOptions { tol: Some(tol), ..SessionOptions::default() };
    let est = Session::new(&structure, &x0, &settings, &options).unwrap().run(&f).unwrap();
    let d = est.diagnostics();
    assert!(d.rounds.len() >= 2 && d.rounds[1].why.contains("tol"), "{:?}", d.rounds);
    assert!(worst(&est) <= tol, "{:e} > {tol:e}", worst(&est));
    assert!(d.calls > one.diagnostics().calls);
    // Calibration: the error bars cover the truth.
    let se = est.std_errors().unwrap();
    let within = est
        .jacobian()
        .pattern()
        .entries()
        .zip(est.jacobian().values().iter().zip(se))
        .filter(|((i, j), (v, s))| (*v - a.get(*i, *j)).abs() <= 3.0 * *s)
        .count();
    let total = se.len();
    assert!(within as f64 >= 0.95 * total as f64, "{within} of {total} within 3σ");
}

#[test]
fn a_prior_along_a_smooth_path_needs_few_calls() {
    let n = 1000;
    let p = BroydenTridiagonal { n };
    let structure = Structure::dense(n, n);
    let mut x = p.x0();
    let mut prior = jacobian(&p, &x).unwrap();
    let scratch = prior.diagnostics().calls;
    let mut calls = Vec::new();
    for step in 0..5 {
        x.iter_mut().enumerate().for_each(|(i, v)| *v += 1e-3 * ((i + step) as f64 * 0.1).sin());
        let options = SessionOptions { prior: Some(Prior::new(prior.jacobian().clone())), ..SessionOptions::default() };
        let est = Session::new(&structure, &x, &Settings::default(), &options).unwrap().run(&p).unwrap();
        let err = rel_err(est.jacobian(), &p.jacobian(&x));
        assert!(err < 1e-6, "step {step}: error {err:e}");
        assert!(est.is_complete());
        calls.push(est.diagnostics().calls);
        prior = est;
    }
    let most = *calls.iter().max().unwrap();
    assert!(4 * most <= scratch, "with the prior {calls:?}, from scratch {scratch}");
}

/// `f_i = x_i²` on one side of `x_0 = 0`, `f_i = x_i² + 3 x_{(i + 7) mod n}` on the
/// other: the Jacobian jumps and gains entries.
fn switching(n: usize) -> impl Blackbox + Sync {
    try_from_fn(n, n, move |x: &[f64], y: &mut [f64]| {
        for i in 0..n {
            y[i] = x[i] * x[i] + if x[0] > 0.0 { 3.0 * x[(i + 7) % n] } else { 0.0 };
        }
        Ok::<(), String>(())
    })
}

fn switching_jacobian(x: &[f64]) -> SparseMatrix {
    let n = x.len();
    let mut t = Vec::new();
    for i in 0..n {
        t.push((i, i, 2.0 * x[i]));
        if x[0] > 0.0 {
            t.push((i, (i + 7) % n, 3.0));
        }
    }
    SparseMatrix::from_triplets(n, n, &t).unwrap()
}

#[test]
fn a_prior_that_fails_validation_is_sensed_afresh() {
    let n = 100;
    let f = switching(n);
    let structure = Structure::dense(n, n);
    let x0: Vec<f64> = (0..n).map(|i| -0.5 - 0.01 * i as f64).collect();
    let j0 = jacobian(&f, &x0).unwrap();
    assert!(rel_err(j0.jacobian(), &switching_jacobian(&x0)) < 1e-6);
    // Across the switch: the prior's pattern misses the new entries.
    let x1: Vec<f64> = x0.iter().map(|v| -v).collect();
    let options = SessionOptions { prior: Some(Prior::new(j0.jacobian().clone())), ..SessionOptions::default() };
    let est = Session::new(&structure, &x1, &Settings::default(), &options).unwrap().run(&f).unwrap();
    let err = rel_err(est.jacobian(), &switching_jacobian(&x1));
    assert!(err < 1e-6, "error {err:e}");
    assert!(est.status().is_solved());
    let rounds = &est.diagnostics().rounds;
    assert!(rounds.iter().any(|r| r.showed.contains("the prior fails")), "{rounds:?}");
    // Staying on the same side, the prior validates cheaply.
    let x2: Vec<f64> = x0.iter().map(|v| v * 1.0001).collect();
    let options = SessionOptions { prior: Some(Prior::new(j0.jacobian().clone())), ..SessionOptions::default() };
    let est = Session::new(&structure, &x2, &Settings::default(), &options).unwrap().run(&f).unwrap();
    assert!(rel_err(est.jacobian(), &switching_jacobian(&x2)) < 1e-6);
    assert!(est.diagnostics().calls < j0.diagnostics().calls / 2);
}

#[test]
fn bad_session_options_are_errors() {
    let s = Structure::dense(3, 3);
    let x0 = [0.0; 3];
    let bad_tol = SessionOptions { tol: Some(-1.0), ..SessionOptions::default() };
    assert!(Session::new(&s, &x0, &Settings::default(), &bad_tol).is_err());
    let zero = SessionOptions { max_calls: Some(0), ..SessionOptions::default() };
    assert!(Session::new(&s, &x0, &Settings::default(), &zero).is_err());
    let prior = SparseMatrix::from_triplets(2, 3, &[(0, 0, 1.0)]).unwrap();
    let wrong = SessionOptions { prior: Some(Prior::new(prior)), ..SessionOptions::default() };
    assert!(Session::new(&s, &x0, &Settings::default(), &wrong).is_err());
    let nan = SparseMatrix::from_triplets(3, 3, &[(0, 0, f64::NAN)]).unwrap();
    let nan = SessionOptions { prior: Some(Prior::new(nan)), ..SessionOptions::default() };
    assert!(Session::new(&s, &x0, &Settings::default(), &nan).is_err());
    assert!(Session::new(&s, &[0.0; 2], &Settings::default(), &SessionOptions::default()).is_err());
    let mut session = Session::new(&s, &x0, &Settings::default(), &SessionOptions::default()).unwrap();
    assert!(session.tell(99, &[0.0; 3]).is_err());
    assert!(session.tell(0, &[0.0; 2]).is_err());
    session.erase(0, ErasureReason::Failed("x".into())).unwrap();
    let _ = Step::Default;
}

#[test]
fn a_saved_session_continues_where_it_stopped() {
    let p = PatternFunction { a: random_matrix(random_pattern(80, 100, 3, 7), 8) };
    let x0 = p.x0();
    let structure = Structure::dense(80, 100);
    let options = SessionOptions { max_calls: Some(500), ..SessionOptions::default() };
    let mut session = Session::new(&structure, &x0, &Settings::default(), &options).unwrap();
    let (mut x, mut y) = (vec![0.0; 100], vec![0.0; 80]);
    while let Some(plan) = session.ask().cloned() {
        // Half the values, then save, load, and the other half.
        let half = plan.calls() / 2;
        for call in 0..half {
            plan.point(call, &mut x).unwrap();
            p.call(&x, &mut y).unwrap();
            session.tell(call, &y).unwrap();
        }
        let text = session.to_json();
        session = Session::from_json(&text).unwrap();
        assert!(Session::from_json(&text.replace("\"tol\":null", "\"tol\":1")).is_err(), "edited: refused");
        for call in half..plan.calls() {
            plan.point(call, &mut x).unwrap();
            p.call(&x, &mut y).unwrap();
            session.tell(call, &y).unwrap();
        }
        if session.finish_round().unwrap() == Progress::Done {
            break;
        }
        session = Session::from_json(&session.to_json()).unwrap();
    }
    let est = session.into_estimate().unwrap();
    let run = jacobian(&p, &x0).unwrap();
    assert_eq!(est.jacobian(), run.jacobian());
    assert!(rel_err(est.jacobian(), &p.jacobian(&x0)) < 1e-6);
}

/// Told nothing with `outliers > 0` and 5% of the calls garbage (a spoiled `f(x0)`
/// possible): the rounds decode with the robust sparse decoder, `J` is recovered, the
/// garbage calls are named, and far fewer than `n` calls are made.
#[test]
fn told_nothing_with_garbage_calls_recovers_robustly() {
    use jacsense_problems::{PatternFunction, corrupt_calls, evaluate_calls, outlier_scores, random_matrix};
    let (blocks, s) = (50, 4);
    let n = blocks * s;
    let f = PatternFunction { a: random_matrix(Pattern::block_diagonal(&vec![(s, s); blocks]), 7) };
    let x0 = f.x0();
    let truth = f.jacobian(&x0);
    let settings = Settings { outliers: 0.1, ..Settings::default() };
    let mut session = Session::new(&Structure::dense(n, n), &x0, &settings, &SessionOptions::default()).unwrap();
    let (mut offset, mut bad) = (0, Vec::new());
    while let Some(plan) = session.ask() {
        let mut values = evaluate_calls(plan, &f);
        let spoiled = corrupt_calls(&mut values, 0.05, 3 + offset as u64);
        bad.extend(spoiled.iter().map(|c| c + offset));
        offset += values.len();
        for (j, y) in values.iter().enumerate() {
            session.tell(j, y).unwrap();
        }
        session.finish_round().unwrap();
    }
    let est = session.into_estimate().unwrap();
    assert!(!bad.is_empty());
    let err = rel_err(est.jacobian(), &truth);
    assert!(err <= 1e-6, "relative error {err:.2e}");
    let named: Vec<usize> = est.diagnostics().outliers.iter().map(|o| o.call).collect();
    let (precision, recall) = outlier_scores(&named, &bad);
    assert_eq!((precision, recall), (1.0, 1.0), "named {named:?}, spoiled {bad:?}");
    // Every garbage call was left out by the rows' fits (a vote of the rows, not a count
    // of the rows that validated).
    for o in &est.diagnostics().outliers {
        assert!(o.rows_flagged > n / 2 && o.rows_flagged <= o.rows_seen, "{o:?}");
    }
    assert!(est.diagnostics().calls < n / 2, "{} calls", est.diagnostics().calls);
}

/// A session from a scheme whose first round loses a whole color: its top-up round is
/// asked for, and the session saved between the rounds finishes after loading (the
/// first round's estimate, not saved, is decoded again).
#[test]
fn a_scheme_session_saved_between_rounds_tops_up_after_loading() {
    let p = BroydenTridiagonal { n: 30 };
    let x0 = p.x0();
    let scheme = jacsense::Scheme::new(&Structure::sparse(p.pattern()), &Settings::default()).unwrap();
    let mut session = Session::from_scheme(&scheme, &x0, &SessionOptions::default()).unwrap();
    let first = session.ask().unwrap().clone();
    assert_eq!(first.calls(), scheme.calls());
    let (mut x, mut y) = (vec![0.0; 30], vec![0.0; 30]);
    for call in 0..first.calls() {
        if call == 2 {
            session.erase(call, ErasureReason::Failed("lost".into())).unwrap();
            continue;
        }
        first.point(call, &mut x).unwrap();
        p.call(&x, &mut y).unwrap();
        session.tell(call, &y).unwrap();
    }
    assert!(matches!(session.finish_round().unwrap(), Progress::More { .. }));
    let mut session = Session::from_json(&session.to_json()).unwrap();
    let topup = session.ask().unwrap().clone();
    assert_eq!(session.pending(), (0..topup.calls()).collect::<Vec<_>>());
    for call in 0..topup.calls() {
        topup.point(call, &mut x).unwrap();
        p.call(&x, &mut y).unwrap();
        session.tell(call, &y).unwrap();
    }
    assert_eq!(session.finish_round().unwrap(), Progress::Done);
    let est = session.into_estimate().unwrap();
    assert!(est.status().is_solved(), "{}", est.status());
    assert!(rel_err(est.jacobian(), &p.jacobian(&x0)) < 1e-6);
    assert_eq!(est.diagnostics().rounds.len(), 2);
}

/// `tol` on outputs noisier than the default step assumes, no noise level given: the
/// session sees the noise after its first round and steps for it; `tol` is met, with
/// far fewer calls than the default limit.
#[test]
fn tol_on_noisy_outputs_told_as_exact_steps_for_the_noise() {
    let n = 10;
    let a = random_matrix(Pattern::dense(n, n), 3);
    let f = Noisy { inner: LinearMap { a: a.clone() }, sigma: 1e-7, seed: 5 };
    let options = SessionOptions { tol: Some(1.2e-4), ..SessionOptions::default() };
    let mut session = Session::new(&Structure::dense(n, n), &vec![0.0; n], &Settings::default(), &options).unwrap();
    let est = session.run(&f).unwrap();
    let d = est.diagnostics();
    assert!(d.calls < 400, "{} calls", d.calls);
    assert!(d.rounds[0].showed.contains("these step for it"), "{}", d.rounds[0].showed);
    let se = est.std_errors().unwrap();
    assert!(se.iter().all(|&v| v <= 1.2e-4));
    let worst = est.jacobian().values().iter().zip(a.values()).zip(se).map(|((j, t), s)| (j - t).abs() / s);
    assert!(worst.fold(0.0f64, f64::max) < 5.0, "errors within 5 standard errors");
}

/// `tol` out of reach and no call limit: the session stops at `TOL_CALLS_FACTOR` times
/// a one-round plan's calls and says so.
#[test]
fn tol_out_of_reach_stops_at_the_default_limit() {
    let n = 10;
    let f = Noisy { inner: LinearMap { a: random_matrix(Pattern::dense(n, n), 3) }, sigma: 1e-7, seed: 5 };
    let x0 = vec![0.0; n];
    let options = SessionOptions { tol: Some(1e-8), ..SessionOptions::default() };
    let mut session = Session::new(&Structure::dense(n, n), &x0, &Settings::default(), &options).unwrap();
    let est = session.run(&f).unwrap();
    assert_eq!(est.diagnostics().calls, jacsense::TOL_CALLS_FACTOR * (n + 1));
    let last = &est.diagnostics().rounds.last().unwrap().showed;
    assert!(last.contains("> tol = 1.00e-8, but the limit of 1100 calls is reached"), "{last}");
}
