//! Local search after greedy and recoloring: every coloring it returns is valid and
//! has no more colors than its start, the same seed and move budget give the same
//! coloring, and the stencil patterns reach their optimum (the lower bound `ρ_max`).

use proptest::prelude::*;

use super::{adjacency, brute_force_valid, laplacian_2d, laplacian_3d, random_pattern, test_patterns};
use jacsense::coloring::{
    Coloring, Ordering, SearchLimit, best_column_coloring, color_columns, lower_bound, search_columns,
};
use jacsense::{ColoringSearch, Design, Error, Plan, Settings, Structure};

fn moves(m: u64, seed: u64) -> SearchLimit {
    SearchLimit { moves: Some(m), time: None, seed }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 400,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x7461_6275),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// From any greedy coloring, any budget and seed: valid, never more colors, never
    /// fewer than the lower bound, and `optimal` exactly when the lower bound is reached.
    #[test]
    fn every_coloring_found_is_valid(
        m in 1usize..60, n in 1usize..60, per_row in 1usize..7, pattern_seed in any::<u64>(),
        ordering in 0usize..5, budget in 0u64..20_000, seed in any::<u64>(),
    ) {
        let p = random_pattern(m, n, per_row, pattern_seed);
        let start = color_columns(&p, Ordering::ALL[ordering]);
        let out = search_columns(&p, &start, moves(budget, seed));
        prop_assert!(brute_force_valid(&p, out.coloring.colors()));
        prop_assert!(out.coloring.num_colors() <= start.num_colors());
        prop_assert!(out.coloring.num_colors() >= lower_bound(&p));
        prop_assert_eq!(out.optimal, out.coloring.num_colors() <= lower_bound(&p).max(1));
        prop_assert!(out.moves <= budget);
        prop_assert_eq!(out.start_colors, start.num_colors());
    }

    /// A wasteful start (one color per column) is valid too, and improves unless every
    /// two columns share a row (then nothing can).
    #[test]
    fn one_color_per_column_improves(
        m in 1usize..40, n in 2usize..40, per_row in 1usize..5, pattern_seed in any::<u64>(), seed in any::<u64>(),
    ) {
        let p = random_pattern(m, n, per_row, pattern_seed);
        let start = Coloring::new((0..n).collect());
        let out = search_columns(&p, &start, moves(5_000, seed));
        prop_assert!(brute_force_valid(&p, out.coloring.colors()));
        let complete = adjacency(&p).iter().all(|a| a.len() == n - 1);
        prop_assert_eq!(out.coloring.num_colors() < n, !complete);
    }
}

#[test]
fn the_same_seed_and_moves_give_the_same_coloring() {
    for (name, p) in test_patterns() {
        let (_, start) = best_column_coloring(&p);
        let a = search_columns(&p, &start, moves(3_000, 9));
        let b = search_columns(&p, &start, moves(3_000, 9));
        assert_eq!(a.coloring, b.coloring, "{name}");
        assert!(brute_force_valid(&p, a.coloring.colors()), "{name}");
    }
}

#[test]
fn stencils_reach_their_lower_bound() {
    // 2D 5-point 100×100: greedy 7, recoloring 6, optimum 5. 3D 7-point 20³: greedy 12,
    // recoloring 11, optimum 7. The default move budget of the planner (no call time).
    for (name, p, recolored) in [("2D 100×100", laplacian_2d(100), 6), ("3D 20³", laplacian_3d(20), 11)] {
        let (_, start) = best_column_coloring(&p);
        assert_eq!(start.num_colors(), recolored, "{name}");
        let limit = ColoringSearch::Auto.limit(p.ncols(), start.num_colors(), lower_bound(&p), None, 0).unwrap();
        let out = search_columns(&p, &start, limit);
        assert_eq!(out.coloring.num_colors(), lower_bound(&p), "{name}");
        assert!(out.optimal, "{name}");
        assert!(brute_force_valid(&p, out.coloring.colors()), "{name}");
    }
}

#[test]
fn tabu_search_alone_improves_where_the_lower_bound_is_out_of_reach() {
    // Random patterns whose optimum is above ρ_max: the exact search spends its half of
    // the budget and fails; tabu search must still return a valid coloring, here with
    // fewer colors than recoloring on at least one of them.
    let mut improved = 0;
    for seed in 0..6 {
        let p = random_pattern(400, 300, 6, seed);
        let (_, start) = best_column_coloring(&p);
        let out = search_columns(&p, &start, moves(200_000, seed));
        assert!(brute_force_valid(&p, out.coloring.colors()), "seed {seed}");
        assert!(out.coloring.num_colors() <= start.num_colors());
        improved += usize::from(out.coloring.num_colors() < start.num_colors());
    }
    assert!(improved > 0);
}

#[test]
fn the_planner_searches_within_the_settings_budget() {
    let structure = Structure::sparse(laplacian_2d(100));
    let x0 = vec![0.5; 10_000];
    let colors = |search| {
        let plan = Plan::new(&structure, &x0, &Settings { coloring_search: search, ..Settings::default() }).unwrap();
        assert!(matches!(plan.settings().design, Design::Colored { .. }));
        plan.coloring().unwrap().1.num_colors()
    };
    assert_eq!(colors(ColoringSearch::Off), 6);
    assert_eq!(colors(ColoringSearch::Auto), 5);
    assert_eq!(colors(ColoringSearch::Moves(20_000)), 5);
    // A call time so short that a tenth of one call per color saved buys no search.
    let plan = Plan::new(&structure, &x0, &Settings { call_time: Some(1e-9), ..Settings::default() }).unwrap();
    assert_eq!(plan.coloring().unwrap().1.num_colors(), 6);
    for bad in [
        Settings { coloring_search: ColoringSearch::Seconds(-1.0), ..Settings::default() },
        Settings { coloring_search: ColoringSearch::Seconds(f64::NAN), ..Settings::default() },
        Settings { call_time: Some(f64::INFINITY), ..Settings::default() },
    ] {
        assert!(matches!(Plan::new(&structure, &x0, &bad), Err(Error::InvalidSetting { .. })), "{bad:?}");
    }
}

#[test]
fn a_time_limit_beyond_the_clock_is_no_limit() {
    let p = laplacian_2d(30);
    let (_, start) = best_column_coloring(&p);
    let out = search_columns(&p, &start, SearchLimit { moves: None, time: Some(std::time::Duration::MAX), seed: 1 });
    assert_eq!(out.coloring.num_colors(), 5);
    assert!(brute_force_valid(&p, out.coloring.colors()));
}

/// `jacobian_with` times its call at `x0` (made anyway for forward differences: the
/// first round's call 0, so no call is added) and gives the search a tenth of what the
/// calls it could save cost: quick calls buy no search, slow ones the optimal
/// coloring; told a call time, it follows that. The calls counted are the calls made.
#[test]
fn jacobian_with_times_its_call_at_x0_for_the_search_budget() {
    use jacsense::{Blackbox, CallError, jacobian_with};
    use jacsense_problems::{PatternFunction, random_matrix};
    use std::sync::atomic::{AtomicUsize, Ordering as Atomic};

    struct Timed {
        inner: PatternFunction,
        sleep: std::time::Duration,
        calls: AtomicUsize,
    }
    impl Blackbox for Timed {
        fn dims(&self) -> (usize, usize) {
            self.inner.dims()
        }
        fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
            self.calls.fetch_add(1, Atomic::SeqCst);
            std::thread::sleep(self.sleep);
            self.inner.call(x, y)
        }
    }
    let pattern = laplacian_2d(100);
    let structure = Structure::sparse(pattern.clone());
    let x0 = vec![0.5; 10_000];
    for (sleep, colors) in [(0, 6), (400, 5)] {
        let f = Timed {
            inner: PatternFunction { a: random_matrix(pattern.clone(), 3) },
            sleep: std::time::Duration::from_millis(sleep),
            calls: AtomicUsize::new(0),
        };
        let est = jacobian_with(&f, &x0, &structure, &Settings::default()).unwrap();
        let d = est.diagnostics();
        assert_eq!(d.colors.map(|(_, k)| k), Some(colors), "calls of {sleep} ms");
        assert_eq!(d.calls, f.calls.load(Atomic::SeqCst));
        assert_eq!(d.calls, colors + 1);
        assert!(est.is_complete(), "{}", est.status());
    }
    // Told a call time, the search follows it (quick calls that claim to be slow).
    let f = Timed {
        inner: PatternFunction { a: random_matrix(pattern.clone(), 3) },
        sleep: std::time::Duration::ZERO,
        calls: AtomicUsize::new(0),
    };
    let told = Settings { call_time: Some(0.4), ..Settings::default() };
    let est = jacobian_with(&f, &x0, &structure, &told).unwrap();
    assert_eq!(est.diagnostics().colors.map(|(_, k)| k), Some(5));
    assert_eq!(est.diagnostics().calls, f.calls.load(Atomic::SeqCst));
}

/// A failed call at `x0`, made first to time it, is the first round's erased call 0:
/// counted once, never repeated.
#[test]
fn a_failed_timed_call_at_x0_is_counted_once() {
    use jacsense::{Blackbox, CallError, jacobian_with};
    use jacsense_problems::{PatternFunction, random_matrix};
    use std::sync::atomic::{AtomicUsize, Ordering as Atomic};

    struct FailsAtX0 {
        inner: PatternFunction,
        x0: Vec<f64>,
        calls: AtomicUsize,
    }
    impl Blackbox for FailsAtX0 {
        fn dims(&self) -> (usize, usize) {
            self.inner.dims()
        }
        fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
            self.calls.fetch_add(1, Atomic::SeqCst);
            if x == self.x0.as_slice() {
                return Err(CallError("no value at x0".into()));
            }
            self.inner.call(x, y)
        }
    }
    let pattern = laplacian_2d(20);
    let x0 = vec![0.5; 400];
    let f = FailsAtX0 {
        inner: PatternFunction { a: random_matrix(pattern.clone(), 3) },
        x0: x0.clone(),
        calls: AtomicUsize::new(0),
    };
    let est = jacobian_with(&f, &x0, &Structure::sparse(pattern), &Settings::default()).unwrap();
    let d = est.diagnostics();
    assert_eq!(d.calls, f.calls.load(Atomic::SeqCst));
    assert_eq!(d.erasures.iter().filter(|e| e.call == 0).count(), 1, "{:?}", d.erasures);
}
