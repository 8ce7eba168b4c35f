//! The left action `vᵀJ`: both routes against the analytic `Jᵀv`, the planner's
//! choice, shared calls of a batch, gradients, erasures and bad input.

use jacsense::{
    Blackbox, CallError, Difference, ErasureReason, Error, Pattern, Route, RowStatus, Settings, SparseMethod,
    Structure, VjpMeasurements, VjpPlan, VjpSettings, gradient, vjp, vjp_batch,
};
use jacsense_problems::{
    Corrupted, PatternFunction, Problem, SparseScalar, left_action as truth, random_matrix, random_pattern,
    vector_relative_error as rel_err,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

use super::Counted;

fn random_v(m: usize, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..m).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// m = 50 outputs, n = 10,000 inputs, 20 known nonzeros per row.
fn known_pattern() -> PatternFunction {
    PatternFunction { a: random_matrix(random_pattern(50, 10_000, 20, 1), 2) }
}

/// m = 50 outputs of n = 10,000 inputs, but only 10 columns of J are nonzero: every row
/// uses 4 of the same 10 inputs.
fn ten_columns() -> (PatternFunction, Vec<usize>) {
    let n = 10_000;
    let mut rng = StdRng::seed_from_u64(5);
    let columns: Vec<usize> = rand::seq::index::sample(&mut rng, n, 10).into_vec();
    let rows: Vec<Vec<usize>> = (0..50)
        .map(|i| (0..4).map(|r| columns[(i * 3 + r * 7 + i / 10) % 10]).collect::<Vec<_>>())
        .map(|mut r| {
            r.sort_unstable();
            r.dedup();
            r
        })
        .collect();
    let pattern = Pattern::from_rows(n, &rows).expect("in range");
    let mut used: Vec<usize> = pattern.entries().map(|(_, j)| j).collect();
    used.sort_unstable();
    used.dedup();
    (PatternFunction { a: random_matrix(pattern, 6) }, used)
}

#[test]
fn known_pattern_costs_what_the_jacobian_costs() {
    let f = known_pattern();
    let x0 = f.x0();
    let v = random_v(50, 3);
    let structure = Structure::sparse(f.pattern());
    let counted = Counted::new(f.clone());
    let est = vjp(&counted, &x0, &v, &structure, &VjpSettings::default()).unwrap();
    let rho = structure.lower_bound();
    assert_eq!(est.route, Route::SenseJacobian);
    assert_eq!(est.calls, counted.count());
    assert!(est.calls <= rho + 3, "{} calls for ρ_max = {rho}", est.calls);
    let err = rel_err(&est.w, &truth(&f, &x0, &v));
    assert!(err <= 1e-6, "relative error {err:e}");
    // Read off a coloring, one measurement per unknown: w is as unverified as J's rows.
    assert_eq!(est.status, RowStatus::Unverified);
}

#[test]
fn a_sparse_w_of_an_unknown_pattern_is_recovered_from_few_calls() {
    let (f, used) = ten_columns();
    let x0 = f.x0();
    let v = random_v(50, 4);
    let structure = Structure::dense(50, 10_000);
    let settings = VjpSettings { sparsity: Some(10), ..VjpSettings::default() };
    let plan = VjpPlan::new(&structure, &x0, std::slice::from_ref(&v), &settings).unwrap();
    assert_eq!((plan.route(), plan.lower_bound()), (Route::Direct, 20));
    let counted = Counted::new(f.clone());
    let est = vjp(&counted, &x0, &v, &structure, &settings).unwrap();
    assert_eq!(est.route, Route::Direct);
    assert_eq!((est.calls, counted.count()), (plan.calls(), plan.calls()));
    // The planner's rule for sparse rows, ⌈2 s ln(n/s)⌉ + s = 149 directions, and f(x0).
    assert_eq!(est.calls, 150);
    assert_eq!(est.support.as_deref(), Some(used.as_slice()));
    let err = rel_err(&est.w, &truth(&f, &x0, &v));
    assert!(err <= 1e-6, "relative error {err:e}");
    assert!(est.w.iter().enumerate().all(|(c, &w)| used.contains(&c) || w == 0.0));
}

#[test]
fn basis_pursuit_denoising_recovers_a_sparse_gradient() {
    // BPDN is an interior-point solve over all n candidates: affordable for n = 2000
    // (the `vjp` example measures it at n = 10,000, where OMP needs fewer calls).
    let n = 2000;
    let terms: Vec<(usize, f64)> = [(7, 1.0), (300, -0.5), (1200, 0.75), (1999, 1.5)].to_vec();
    let f = SparseScalar { n, terms: terms.clone() };
    let x0: Vec<f64> = (0..n).map(|j| (j as f64 * 0.21).cos()).collect();
    let settings =
        VjpSettings { sparsity: Some(4), sparse_method: SparseMethod::BasisPursuitDenoising, ..VjpSettings::default() };
    let est = gradient(&f, &x0, &Structure::dense(1, n), &settings).unwrap();
    assert_eq!((est.route, est.decoder.name()), (Route::Direct, "sparse-bpdn"));
    assert_eq!(est.support, Some(terms.iter().map(|t| t.0).collect()));
    assert!(rel_err(&est.w, &truth(&f, &x0, &[1.0])) <= 1e-6);
}

#[test]
fn a_batch_costs_the_calls_of_one_v() {
    let f = known_pattern();
    let x0 = f.x0();
    let structure = Structure::sparse(f.pattern());
    // v supported on 3 rows: the direct route perturbs ≤ 60 candidates.
    let vs: Vec<Vec<f64>> = (0..8)
        .map(|g| {
            let mut v = vec![0.0; 50];
            for i in [g, g + 1, 40] {
                v[i] = random_v(1, 10 + g as u64 + i as u64)[0];
            }
            v
        })
        .collect();
    for route in [Route::SenseJacobian, Route::Direct] {
        let settings = VjpSettings { route, ..VjpSettings::default() };
        let one = Counted::new(f.clone());
        vjp(&one, &x0, &vs[0], &structure, &settings).unwrap();
        let batch = Counted::new(f.clone());
        let ws = vjp_batch(&batch, &x0, &vs, &structure, &settings).unwrap();
        let plan = VjpPlan::new(&structure, &x0, &vs, &settings).unwrap();
        assert_eq!(batch.count(), plan.calls());
        match route {
            // The Jacobian plan does not depend on v.
            Route::SenseJacobian => assert_eq!(batch.count(), one.count()),
            // The direct route perturbs the union of the candidates (9 rows), but decodes
            // every v on its own candidates (3 rows): as many directions as the most
            // candidates of one v, plus 2, and f(x0).
            _ => {
                let own = |v: &[f64]| {
                    let mut c: Vec<usize> =
                        (0..50).filter(|&i| v[i] != 0.0).flat_map(|i| f.pattern().row(i).to_vec()).collect();
                    c.sort_unstable();
                    c.dedup();
                    c.len()
                };
                let most = vs.iter().map(|v| own(v)).max().unwrap();
                assert!(most < plan.candidates().unwrap().len());
                assert_eq!((plan.lower_bound(), batch.count()), (most, most + 3));
                assert_eq!(one.count(), own(&vs[0]) + 3);
            }
        }
        for (v, est) in vs.iter().zip(&ws) {
            assert_eq!((est.route, est.calls), (route, batch.count()));
            let t = truth(&f, &x0, v);
            let err = rel_err(&est.w, &t);
            assert!(err <= 1e-6, "{route:?}: relative error {err:e}");
            // Outside the candidates of its own rows, w is exactly zero.
            assert!(est.w.iter().zip(&t).all(|(w, t)| *t != 0.0 || *w == 0.0));
        }
    }
}

#[test]
fn a_batch_on_the_sparse_route_shares_its_directions() {
    let (f, used) = ten_columns();
    let x0 = f.x0();
    let vs: Vec<Vec<f64>> = (0..8).map(|g| random_v(50, 20 + g)).collect();
    let settings = VjpSettings { sparsity: Some(10), ..VjpSettings::default() };
    let structure = Structure::dense(50, 10_000);
    let one = vjp(&f, &x0, &vs[0], &structure, &settings).unwrap();
    let counted = Counted::new(f.clone());
    let ws = vjp_batch(&counted, &x0, &vs, &structure, &settings).unwrap();
    assert_eq!(counted.count(), one.calls);
    for (v, est) in vs.iter().zip(&ws) {
        assert_eq!(est.support.as_deref(), Some(used.as_slice()));
        assert!(rel_err(&est.w, &truth(&f, &x0, v)) <= 1e-6);
    }
    // The first v of the batch gets the bits it gets alone.
    assert_eq!(ws[0].w, one.w);
}

#[test]
fn one_nonzero_in_v_perturbs_its_row_only() {
    // Row 0 has 3 allowed columns, the others 20: sensing J takes ρ_max + 1 calls or
    // more, the direct route |U| + 2 + 1 = 6.
    let n = 2000;
    let mut rows: Vec<Vec<usize>> = (0..50).map(|i| random_pattern(1, n, 20, 100 + i).row(0).to_vec()).collect();
    rows[0] = vec![5, 700, 1999];
    let f = PatternFunction { a: random_matrix(Pattern::from_rows(n, &rows).unwrap(), 3) };
    let x0 = f.x0();
    let structure = Structure::sparse(f.pattern());
    let mut v = vec![0.0; 50];
    v[0] = -1.5;
    let plan = VjpPlan::new(&structure, &x0, std::slice::from_ref(&v), &VjpSettings::default()).unwrap();
    assert_eq!((plan.route(), plan.calls()), (Route::Direct, 6));
    assert_eq!(plan.candidates(), Some(&[5, 700, 1999][..]));
    // No other input is ever perturbed.
    let mut x = vec![0.0; n];
    for call in 0..plan.calls() {
        plan.point(call, &mut x).unwrap();
        assert!((0..n).all(|c| x[c] == x0[c] || [5, 700, 1999].contains(&c)), "call {call}");
    }
    let counted = Counted::new(f.clone());
    let est = vjp(&counted, &x0, &v, &structure, &VjpSettings::default()).unwrap();
    assert_eq!((est.route, est.calls, counted.count()), (Route::Direct, 6, 6));
    assert!(rel_err(&est.w, &truth(&f, &x0, &v)) <= 1e-6);
    // With v weighting every row, sensing J is cheaper and the planner says so.
    let dense = VjpPlan::new(&structure, &x0, &[vec![1.0; 50]], &VjpSettings::default()).unwrap();
    assert_eq!(dense.route(), Route::SenseJacobian);
    assert!(dense.calls() <= structure.lower_bound() + 3);
}

#[test]
fn gradients_of_scalar_functions() {
    let n = 5000;
    let terms: Vec<(usize, f64)> = [(3, 0.5), (99, -1.0), (1000, 0.25), (2500, 2.0), (4999, -0.75)].to_vec();
    let f = SparseScalar { n, terms: terms.clone() };
    let x0: Vec<f64> = (0..n).map(|j| (j as f64 * 0.37).sin()).collect();
    let g = truth(&f, &x0, &[1.0]);
    // Known pattern: the 5 inputs f depends on; 7 calls.
    let cols: Vec<usize> = terms.iter().map(|t| t.0).collect();
    let known = Structure::sparse(Pattern::from_rows(n, std::slice::from_ref(&cols)).unwrap());
    let est = gradient(&f, &x0, &known, &VjpSettings::default()).unwrap();
    assert!(est.calls <= cols.len() + 2, "{} calls", est.calls);
    assert!(rel_err(&est.w, &g) <= 1e-6);
    // Unknown pattern, gradient declared 5-sparse: sparse recovery from far fewer than n calls.
    let settings = VjpSettings { sparsity: Some(5), ..VjpSettings::default() };
    let est = gradient(&f, &x0, &Structure::dense(1, n), &settings).unwrap();
    assert_eq!(est.route, Route::Direct);
    assert!(est.calls < 100, "{} calls", est.calls);
    assert_eq!(est.support, Some(cols));
    assert!(rel_err(&est.w, &g) <= 1e-6);
    // Central differences: error O(h²).
    let central = VjpSettings { difference: Difference::Central, ..settings };
    let est = gradient(&f, &x0, &Structure::dense(1, n), &central).unwrap();
    assert!(rel_err(&est.w, &g) <= 1e-8, "{:e}", rel_err(&est.w, &g));
    // Not a scalar function.
    let err = gradient(&f, &x0, &Structure::dense(2, n), &VjpSettings::default()).unwrap_err();
    assert!(matches!(err, Error::DimensionMismatch { expected: 1, found: 2, .. }), "{err}");
}

/// Fails on every call whose point differs from `x0` at coordinate `c` by more than
/// `threshold` (a deterministic subset of the calls), and at `x0` itself when asked.
struct Flaky {
    inner: PatternFunction,
    x0: Vec<f64>,
    fail_base: bool,
}

impl Blackbox for Flaky {
    fn dims(&self) -> (usize, usize) {
        self.inner.dims()
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        let moved: Vec<usize> = (0..x.len()).filter(|&c| x[c] != self.x0[c]).collect();
        if moved.is_empty() && self.fail_base {
            return Err(CallError("no value at x0".into()));
        }
        // About one call in six of the direct route moves x_5 by more than 1.3 steps.
        if moved.first() == Some(&5) && (x[5] - self.x0[5]).abs() > 1.3 * f64::EPSILON.sqrt() {
            return Err(CallError("diverged".into()));
        }
        self.inner.call(x, y)
    }
}

#[test]
fn failed_calls_are_dropped_and_reported() {
    let n = 300;
    let mut rows: Vec<Vec<usize>> = (0..10).map(|i| random_pattern(1, n, 8, 200 + i).row(0).to_vec()).collect();
    rows[0] = vec![5, 17, 40, 41];
    let inner = PatternFunction { a: random_matrix(Pattern::from_rows(n, &rows).unwrap(), 9) };
    let x0 = inner.x0();
    let mut v = vec![0.0; 10];
    v[0] = 1.0;
    let t = truth(&inner, &x0, &v);
    let structure = Structure::sparse(inner.pattern());
    for fail_base in [false, true] {
        let f = Flaky { inner: inner.clone(), x0: x0.clone(), fail_base };
        // 12 directions for 4 unknowns: room for erasures.
        let settings = VjpSettings { route: Route::Direct, directions: Some(12), seed: 2, ..VjpSettings::default() };
        let est = vjp(&f, &x0, &v, &structure, &settings).unwrap();
        assert!(!est.erasures.is_empty());
        assert!(est.erasures.iter().all(|e| matches!(&e.reason, ErasureReason::Failed(_))));
        assert_eq!(est.erasures.iter().any(|e| e.call == 0), fail_base);
        assert_eq!(est.status, RowStatus::Determined);
        let err = rel_err(&est.w, &t);
        assert!(err <= 1e-6, "fail_base = {fail_base}: relative error {err:e}, {} erasures", est.erasures.len());
    }
    // Too many failures: undetermined, reported, never a guess.
    let settings = VjpSettings { route: Route::Direct, directions: Some(4), seed: 2, ..VjpSettings::default() };
    let f = Flaky { inner, x0: x0.clone(), fail_base: false };
    let est = vjp(&f, &x0, &v, &structure, &settings).unwrap();
    assert!(!est.erasures.is_empty());
    assert!(matches!(est.status, RowStatus::Underdetermined { unknowns: 4, .. }), "{:?}", est.status);
    assert!(est.w.iter().any(|w| w.is_nan()));
}

#[test]
fn bad_upstream_vectors_are_errors() {
    let f = known_pattern();
    let x0 = f.x0();
    let structure = Structure::sparse(f.pattern());
    let settings = VjpSettings::default();
    let err = vjp(&f, &x0, &[1.0; 49], &structure, &settings).unwrap_err();
    assert_eq!(err, Error::DimensionMismatch { what: "v length (outputs m)", expected: 50, found: 49 });
    let mut v = vec![0.0; 50];
    v[7] = f64::NAN;
    let err = vjp(&f, &x0, &v, &structure, &settings).unwrap_err();
    assert!(matches!(&err, Error::InvalidSetting { name: "v", value, .. } if value.starts_with("v[7]")), "{err}");
    let err = vjp(&f, &x0[1..], &[1.0; 50], &structure, &settings).unwrap_err();
    assert!(matches!(err, Error::DimensionMismatch { what: "x0 length", .. }));
    let bad = VjpSettings { sparsity: Some(0), ..VjpSettings::default() };
    assert!(matches!(vjp(&f, &x0, &[1.0; 50], &structure, &bad), Err(Error::InvalidSetting { name: "sparsity", .. })));
    // Fewer directions than the candidates of w and no sparsity to recover it with.
    let few = VjpSettings { route: Route::Direct, directions: Some(3), ..VjpSettings::default() };
    assert!(matches!(
        vjp(&f, &x0, &[1.0; 50], &structure, &few),
        Err(Error::InvalidSetting { name: "directions", .. })
    ));
    // An outlier fraction the direct route cannot decode, and too few directions for L1.
    let wild = VjpSettings {
        route: Route::Direct,
        jacobian: Settings { outliers: 0.5, ..Settings::default() },
        ..VjpSettings::default()
    };
    assert!(matches!(vjp(&f, &x0, &[1.0; 50], &structure, &wild), Err(Error::InvalidSetting { name: "outliers", .. })));
    let mut e0 = vec![0.0; 50];
    e0[0] = 1.0;
    let robust_few = VjpSettings {
        route: Route::Direct,
        directions: Some(20),
        jacobian: Settings { outliers: 0.1, ..Settings::default() },
        ..VjpSettings::default()
    };
    // Row 0 has 20 candidates: with the offset for f(x0), 21 unknowns.
    assert!(matches!(
        vjp(&f, &x0, &e0, &structure, &robust_few),
        Err(Error::InvalidSetting { name: "directions", .. })
    ));
    // v = 0: w = 0 without a call.
    let counted = Counted::new(f.clone());
    let est = vjp(&counted, &x0, &[0.0; 50], &structure, &VjpSettings { route: Route::Direct, ..settings }).unwrap();
    assert_eq!((est.calls, counted.count()), (0, 0));
    assert!(est.w.iter().all(|&w| w == 0.0));
}

#[test]
fn sequential_and_parallel_calls_give_the_same_bits() {
    let (f, _) = ten_columns();
    let x0 = f.x0();
    let vs: Vec<Vec<f64>> = (0..3).map(|g| random_v(50, 40 + g)).collect();
    for difference in [Difference::Forward, Difference::Central] {
        let settings = VjpSettings { sparsity: Some(10), difference, ..VjpSettings::default() };
        let plan = VjpPlan::new(&Structure::dense(50, 10_000), &x0, &vs, &settings).unwrap();
        assert_eq!(plan.route(), Route::Direct);
        assert_eq!(plan.evaluate(&f).unwrap(), plan.evaluate_sequential(&f).unwrap());
    }
}

/// Evaluates every call of `plan` on `f` outside the library and tells the values in
/// the order `order`.
fn tell_all<'p>(plan: &'p VjpPlan, f: &impl Blackbox, order: &[usize]) -> VjpMeasurements<'p> {
    let (n, m) = f.dims();
    let (mut x, mut y) = (vec![0.0; n], vec![0.0; m]);
    let mut meas = VjpMeasurements::new(plan).unwrap();
    for &call in order {
        plan.point(call, &mut x).unwrap();
        f.call(&x, &mut y).unwrap();
        meas.tell(call, &y).unwrap();
    }
    meas
}

#[test]
fn values_told_in_any_order_give_the_bits_of_evaluate() {
    let known = known_pattern();
    let (tens, _) = ten_columns();
    let dense_v = random_v(50, 3);
    let mut two_rows = vec![0.0; 50];
    two_rows[4] = 0.7;
    two_rows[31] = -1.1;
    // The blackbox, structure, upstream vectors and settings of a plan, and its route.
    type Case<'f> = (&'f PatternFunction, Structure, Vec<Vec<f64>>, VjpSettings, Route);
    let cases: Vec<Case> = vec![
        (
            &known,
            Structure::sparse(known.pattern()),
            vec![dense_v.clone()],
            VjpSettings::default(),
            Route::SenseJacobian,
        ),
        (
            &known,
            Structure::sparse(known.pattern()),
            vec![two_rows.clone(), dense_v.clone()],
            VjpSettings { difference: Difference::Central, ..VjpSettings::default() },
            Route::SenseJacobian,
        ),
        (
            &known,
            Structure::sparse(known.pattern()),
            vec![two_rows],
            VjpSettings { route: Route::Direct, ..VjpSettings::default() },
            Route::Direct,
        ),
        (
            &tens,
            Structure::dense(50, 10_000),
            vec![dense_v.clone(), random_v(50, 8)],
            VjpSettings { sparsity: Some(10), difference: Difference::Central, ..VjpSettings::default() },
            Route::Direct,
        ),
    ];
    let mut rng = StdRng::seed_from_u64(17);
    for (f, structure, vs, settings, route) in cases {
        let plan = VjpPlan::new(&structure, &f.x0(), &vs, &settings).unwrap();
        assert_eq!(plan.route(), route);
        let evaluated = plan.evaluate(f).unwrap();
        let mut order: Vec<usize> = (0..plan.calls()).collect();
        order.shuffle(&mut rng);
        assert_ne!(order, (0..plan.calls()).collect::<Vec<_>>());
        let told = tell_all(&plan, f, &order).decode();
        assert_eq!(told, evaluated, "{route:?}");
        for (v, est) in vs.iter().zip(&told) {
            assert!(rel_err(&est.w, &truth(f, &f.x0(), v)) <= 1e-6);
            assert!(est.erasures.is_empty());
        }
    }
}

#[test]
fn calls_never_told_are_erasures() {
    let f = known_pattern();
    let x0 = f.x0();
    let mut v = vec![0.0; 50];
    v[9] = 1.0;
    let structure = Structure::sparse(f.pattern());
    let settings = VjpSettings { route: Route::Direct, directions: Some(26), ..VjpSettings::default() };
    let plan = VjpPlan::new(&structure, &x0, std::slice::from_ref(&v), &settings).unwrap();
    assert_eq!(plan.candidates().map(<[usize]>::len), Some(20));
    // Calls 3 and 11 never told, call 5 erased, call 7 told a NaN: 23 directions remain.
    let order: Vec<usize> = (0..plan.calls()).filter(|c| ![3, 5, 11].contains(c)).collect();
    let mut meas = tell_all(&plan, &f, &order);
    meas.erase(5, ErasureReason::Failed("timeout".into())).unwrap();
    let mut nan = vec![0.0; 50];
    nan[2] = f64::NAN;
    meas.tell(7, &nan).unwrap();
    assert_eq!(meas.calls_made(), plan.calls() - 2);
    let est = &meas.decode()[0];
    let calls: Vec<usize> = est.erasures.iter().map(|e| e.call).collect();
    assert_eq!(calls, vec![3, 5, 7, 11]);
    assert_eq!(est.erasures[0].reason, ErasureReason::Missing);
    assert_eq!(est.erasures[1].reason, ErasureReason::Failed("timeout".into()));
    assert!(matches!(est.erasures[2].reason, ErasureReason::NonFinite { output: 2, .. }));
    assert_eq!(est.erasures[3].reason, ErasureReason::Missing);
    assert_eq!(est.status, RowStatus::Determined);
    assert!(rel_err(&est.w, &truth(&f, &x0, &v)) <= 1e-6);
    // Bad tells are errors that name the value.
    assert_eq!(
        meas.tell(plan.calls(), &[0.0; 50]),
        Err(Error::UnknownCall { index: plan.calls(), calls: plan.calls() })
    );
    assert!(matches!(meas.tell(0, &[0.0; 49]), Err(Error::DimensionMismatch { expected: 50, found: 49, .. })));
}

/// n = 2000 inputs, m = 20 outputs, 30 known nonzeros per row except rows 0 and 1
/// (5 and 3): a `v` on those rows has 7 candidates, far fewer than ρ_max = 30.
fn short_rows() -> PatternFunction {
    let n = 2000;
    let mut rows: Vec<Vec<usize>> = (0..20).map(|i| random_pattern(1, n, 30, 300 + i).row(0).to_vec()).collect();
    rows[0] = vec![3, 250, 901, 1500, 1999];
    rows[1] = vec![250, 640, 1200];
    PatternFunction { a: random_matrix(Pattern::from_rows(n, &rows).unwrap(), 11) }
}

/// The calls of `plan` whose value `f` spoils (differs from the exact function's).
fn spoiled(plan: &VjpPlan, f: &Corrupted<PatternFunction>) -> Vec<usize> {
    let (n, m) = f.dims();
    let (mut x, mut exact, mut got) = (vec![0.0; n], vec![0.0; m], vec![0.0; m]);
    (0..plan.calls())
        .filter(|&call| {
            plan.point(call, &mut x).unwrap();
            f.inner.call(&x, &mut exact).unwrap();
            f.call(&x, &mut got).unwrap();
            got != exact
        })
        .collect()
}

#[test]
fn garbage_calls_do_not_spoil_w_on_the_direct_route() {
    let inner = short_rows();
    let x0 = inner.x0();
    let structure = Structure::sparse(inner.pattern());
    let mut v = vec![0.0; 20];
    v[0] = 0.8;
    v[1] = -1.3;
    let t = truth(&inner, &x0, &v);
    let robust = VjpSettings { jacobian: Settings { outliers: 0.1, ..Settings::default() }, ..VjpSettings::default() };
    let plan = VjpPlan::new(&structure, &x0, std::slice::from_ref(&v), &robust).unwrap();
    // ⌈7 · 1.2 / 0.3⌉ + 2 = 30 directions and f(x0), against ⌈30 · 1.2 / 0.3⌉ + 2 + 1 for J.
    assert_eq!((plan.route(), plan.calls(), plan.lower_bound()), (Route::Direct, 31, 7));
    let jacobian = VjpPlan::new(
        &structure,
        &x0,
        std::slice::from_ref(&v),
        &VjpSettings { route: Route::SenseJacobian, ..robust.clone() },
    )
    .unwrap();
    assert_eq!(jacobian.calls(), 123);
    // Least squares on the same points (same seed, directions and steps).
    let plain = VjpSettings { route: Route::Direct, directions: Some(30), ..VjpSettings::default() };
    let ls_plan = VjpPlan::new(&structure, &x0, std::slice::from_ref(&v), &plain).unwrap();
    assert_eq!(ls_plan.calls(), plan.calls());
    let mut f0 = vec![0.0; 20];
    inner.call(&x0, &mut f0).unwrap();
    let scale = f0.iter().fold(1.0f64, |s, y| s.max(y.abs()));
    // Seeds 0 and up: the first where f(x0) itself is garbage, and one where it is not.
    let corrupted = |seed| Corrupted { inner: inner.clone(), fraction: 0.1, seed, anchor: x0.clone(), scale };
    let base_bad = (0..).find(|&s| spoiled(&plan, &corrupted(s)).first() == Some(&0)).unwrap();
    let base_good = (0..).find(|&s| spoiled(&plan, &corrupted(s)).len() >= 3 && spoiled(&plan, &corrupted(s))[0] != 0);
    for seed in [base_bad, base_good.unwrap()] {
        let f = corrupted(seed);
        let bad = spoiled(&plan, &f);
        let (mut x, mut x_ls) = (vec![0.0; 2000], vec![0.0; 2000]);
        for call in 0..plan.calls() {
            plan.point(call, &mut x).unwrap();
            ls_plan.point(call, &mut x_ls).unwrap();
            assert_eq!(x, x_ls, "the same points");
        }
        let est = plan.evaluate(&f).unwrap().pop().unwrap();
        assert_eq!(est.decoder.name(), "l1");
        assert_eq!(est.outliers, bad, "seed {seed}");
        let err = rel_err(&est.w, &t);
        assert!(err <= 1e-6, "seed {seed}: L1 relative error {err:e}");
        assert_eq!(est.status, RowStatus::Determined);
        let ls = ls_plan.evaluate(&f).unwrap().pop().unwrap();
        assert_eq!(ls.decoder.name(), "least-squares");
        let err = rel_err(&ls.w, &t);
        assert!(err > 1e-2, "seed {seed}: least squares relative error {err:e}");
    }
}

/// The automatic route compares the routes' calls before building either plan: the
/// direct plan of a dense `J` would draw `n × (n + 2)` directions, 80 GB at n = 10⁵,
/// and was built (and refused as too large) before the Jacobian plan was tried.
#[test]
fn the_automatic_route_counts_calls_before_drawing_directions() {
    let n = 100_000;
    let x0 = vec![0.0; n];
    let plan = VjpPlan::new(&Structure::dense(2, n), &x0, &[vec![1.0, 2.0]], &VjpSettings::default()).unwrap();
    assert_eq!(plan.route(), Route::SenseJacobian);
    assert_eq!(plan.calls(), n + 1);
    // Where it is chosen, the direct route makes the calls it was counted at: the
    // cheaper of the two routes' plans, built alone, is the one the automatic route
    // takes, at its calls.
    for (structure, sparsity, v) in [
        (Structure::dense(3, 40), None, vec![1.0, 0.0, 0.0]),
        (Structure::sparse(Pattern::banded(40, 40, 2, 2)), None, random_v(40, 1)),
        (Structure::dense(50, 40), Some(3), random_v(50, 2)),
        (Structure::sparse(random_pattern(60, 80, 6, 3)), Some(2), random_v(60, 4)),
    ] {
        let n = structure.dims().0;
        let x0 = vec![0.5; n];
        let settings = |route| VjpSettings { route, sparsity, ..VjpSettings::default() };
        let calls =
            |route| VjpPlan::new(&structure, &x0, std::slice::from_ref(&v), &settings(route)).map(|p| p.calls());
        let auto = VjpPlan::new(&structure, &x0, std::slice::from_ref(&v), &settings(Route::Auto)).unwrap();
        let (direct, jacobian) = (calls(Route::Direct).unwrap(), calls(Route::SenseJacobian).unwrap());
        assert_eq!(auto.calls(), direct.min(jacobian), "direct {direct}, jacobian {jacobian}");
        let expected = if jacobian <= direct { Route::SenseJacobian } else { Route::Direct };
        assert_eq!(auto.route(), expected);
    }
}
