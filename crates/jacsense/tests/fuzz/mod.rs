//! No panics and no giant allocations on user input (issue 9, part 6): property-based
//! fuzzing of the core's reader (Matrix Market), pattern constructors, the structure's
//! parametrization and `Plan::new` with arbitrary settings, plus the regressions the
//! issue found.
//!
//! Every case must return `Ok` or a typed error. A panic fails the case (proptest
//! catches it); an allocation above [`bounded_alloc::BOUND`] is refused, which aborts
//! the child process the cases run in (`fork: true`), and proptest reports the case;
//! a case that hangs fails at the per-case `timeout`. Inputs mix arbitrary bytes and
//! numbers with near-valid ones: valid headers with sizes mutated to 0, to
//! 99999999999999, to `u64::MAX`, to negatives, NaN and infinities, and truncated.
//!
//! Saved plans (`Plan::from_json`, which the command's `tell` reads) are fuzzed with
//! arbitrary text and with valid plans whose data are mutated and signed again with
//! the checksum, so that the mutations reach the checks behind it.

mod bounded_alloc;

use jacsense::SparseMethod;
use jacsense::coloring::Ordering;
use jacsense::{Coupling, Parametrization, Relation};
use jacsense::{
    DecoderChoice, Design, Difference, Error, Measurements, Pattern, Plan, RandomDistribution, Route, Settings, Step,
    Structure, VjpPlan, VjpSettings, read_matrix_market,
};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

#[global_allocator]
static ALLOCATOR: bounded_alloc::Bounded = bounded_alloc::Bounded;

/// Cases run in a child process, so that an abort or a hang fails one case with its
/// input. The seed is fixed, so that CI runs the same cases every time (a failure is a
/// bug to fix, not a flake); `PROPTEST_RNG_SEED=<u64>` and `PROPTEST_CASES=<n>` explore
/// further. The counts keep this module's run within seconds in release.
fn config(cases: u32) -> ProptestConfig {
    let from_env = ProptestConfig::default();
    let explore = |var: &str| std::env::var_os(var).is_some();
    ProptestConfig {
        cases: if explore("PROPTEST_CASES") { from_env.cases } else { cases },
        rng_seed: if explore("PROPTEST_RNG_SEED") { from_env.rng_seed } else { RngSeed::Fixed(0x6a61_6373) },
        fork: true,
        timeout: 20_000,
        // The seed reproduces a failure; no regression files in the source tree.
        failure_persistence: None,
        ..from_env
    }
}

/// What every case asserts besides not panicking: no allocation above the bound was
/// asked for and then handled without aborting.
fn no_giant_allocation() -> Result<(), TestCaseError> {
    bounded_alloc::check().map_err(TestCaseError::fail)
}

/// A count as a user could write it: small, the size the issue found, past every
/// limit, or anything at all.
fn count() -> impl Strategy<Value = usize> {
    prop_oneof![
        6 => 0usize..40,
        1 => Just(99_999_999_999_999usize),
        1 => Just(usize::MAX),
        1 => (1usize << 40)..,
        1 => any::<usize>(),
    ]
}

/// A number setting: ordinary values, the edges of f64, and anything at all.
fn number() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        4 => 0.0..0.5f64,
        2 => 1e-12..1e-2f64,
        1 => Just(0.0),
        1 => Just(-1.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(1e300),
        1 => Just(f64::MIN_POSITIVE),
        1 => Just(5e-324),
        1 => any::<f64>(),
    ]
}

/// A token of a Matrix Market line: small numbers mostly, the claims and garbage the
/// issue is about otherwise.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (0u64..6).prop_map(|v| v.to_string()),
        1 => Just("99999999999999".to_string()),
        1 => Just(u64::MAX.to_string()),
        1 => Just("18446744073709551616".to_string()),
        1 => Just("134217729".to_string()),
        1 => Just("-1".to_string()),
        1 => Just("1e300".to_string()),
        1 => Just("nan".to_string()),
        1 => Just("-inf".to_string()),
        1 => Just("2.5".to_string()),
        1 => Just(String::new()),
        1 => Just("x".to_string()),
        1 => any::<u64>().prop_map(|v| v.to_string()),
    ]
}

fn matrix_market_header() -> impl Strategy<Value = String> {
    let fields = prop_oneof![3 => Just("pattern"), 3 => Just("real"), 1 => Just("integer"), 1 => Just("double"), 1 => Just("complex")];
    let symmetries =
        prop_oneof![4 => Just("general"), 2 => Just("symmetric"), 1 => Just("skew-symmetric"), 1 => Just("hermitian")];
    let formats = prop_oneof![8 => Just("coordinate"), 1 => Just("array")];
    prop_oneof![
        12 => (formats, fields, symmetries).prop_map(|(f, v, s)| format!("%%MatrixMarket matrix {f} {v} {s}")),
        1 => Just("%%matrixmarket MATRIX Coordinate Real General".to_string()),
        1 => Just(String::new()),
        1 => "[ -~]{0,40}",
    ]
}

/// A near-valid Matrix Market file: a valid one (header, comment, size line, entries)
/// with one mutation — a token replaced by a claim or garbage (the size line most
/// often), a line dropped or repeated, or the text cut short — or lines of arbitrary
/// tokens under a header.
fn matrix_market_text() -> impl Strategy<Value = String> {
    let valid = (
        matrix_market_header(),
        1usize..6,
        1usize..6,
        prop::collection::vec((0usize..6, 0usize..6, -5.0..5.0f64), 0..8),
        any::<bool>(),
        (0usize..6, any::<prop::sample::Index>(), any::<prop::sample::Index>(), token()),
    )
        .prop_map(|(header, m, n, entries, comment, (kind, line, at, tok))| {
            let mut lines: Vec<Vec<String>> = vec![vec![m.to_string(), n.to_string(), entries.len().to_string()]];
            lines.extend(
                entries.iter().map(|&(i, j, v)| vec![(i % m + 1).to_string(), (j % n + 1).to_string(), v.to_string()]),
            );
            match kind {
                1 | 2 => {
                    // The size line twice as often as any other line.
                    let l = if kind == 1 { 0 } else { line.index(lines.len()) };
                    let t = at.index(lines[l].len());
                    lines[l][t] = tok;
                }
                3 => drop(lines.remove(line.index(lines.len()))),
                4 => lines.push(lines[line.index(lines.len())].clone()),
                _ => {}
            }
            let mut text = header + "\n";
            if comment {
                text += "% a comment\n";
            }
            for l in lines {
                text += &(l.join(" ") + "\n");
            }
            if kind == 5 {
                text.truncate(at.index(text.len() + 1));
            }
            text
        });
    let arbitrary = (matrix_market_header(), prop::collection::vec(prop::collection::vec(token(), 0..5), 0..6))
        .prop_map(|(header, lines)| lines.iter().fold(header + "\n", |text, l| text + &l.join(" ") + "\n"));
    prop_oneof![4 => valid, 1 => arbitrary]
}

proptest! {
    #![proptest_config(config(10000))]

    #[test]
    fn matrix_market_reads_near_valid_files(text in matrix_market_text()) {
        bounded_alloc::arm();
        if let Ok((pattern, values)) = read_matrix_market(text.as_bytes()) {
            // What was read is what the file holds: at most two entries (symmetric
            // storage) per line, one value per entry.
            prop_assert!(pattern.nnz() <= 2 * text.lines().count());
            prop_assert!(values.is_none_or(|v| v.len() == pattern.nnz()));
        }
        no_giant_allocation()?;
    }

    #[test]
    fn matrix_market_reads_arbitrary_bytes(header in matrix_market_header(), bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        bounded_alloc::arm();
        let mut file = (header + "\n").into_bytes();
        file.extend(bytes);
        let _ = read_matrix_market(file.as_slice());
        let _ = read_matrix_market(&file[file.len().min(1)..]);
        no_giant_allocation()?;
    }
}

fn dimension() -> impl Strategy<Value = usize> {
    prop_oneof![8 => 0usize..8, 1 => Just(99_999_999_999_999usize), 1 => Just(usize::MAX), 1 => (1usize << 28)..]
}

proptest! {
    #![proptest_config(config(5000))]

    #[test]
    fn patterns_refuse_dimensions_they_cannot_hold(
        m in dimension(),
        n in dimension(),
        entries in prop::collection::vec((0usize..9, 0usize..9), 0..12),
        row_ptr in prop::collection::vec(0usize..12, 0..10),
    ) {
        bounded_alloc::arm();
        let cols: Vec<usize> = entries.iter().map(|e| e.1).collect();
        for p in [
            Pattern::from_triplets(m, n, &entries),
            Pattern::try_dense(m, n),
            Pattern::from_csr(m, n, row_ptr, cols),
            Pattern::from_rows(n, &entries.iter().map(|e| vec![e.0, e.1]).collect::<Vec<_>>()),
        ] {
            match p {
                Ok(p) => prop_assert!(p.nrows() <= jacsense::MAX_DIMENSION && p.ncols() <= jacsense::MAX_DIMENSION),
                Err(Error::OverLimit { size, limit, .. }) => prop_assert!(size > limit as u128),
                Err(_) => {}
            }
        }
        no_giant_allocation()?;
    }
}

fn ordering() -> impl Strategy<Value = Option<Ordering>> {
    prop::option::of(prop::sample::select(Ordering::ALL.to_vec()))
}

fn distribution() -> impl Strategy<Value = RandomDistribution> {
    prop_oneof![Just(RandomDistribution::Gaussian), Just(RandomDistribution::Rademacher)]
}

fn design() -> impl Strategy<Value = Design> {
    prop_oneof![
        Just(Design::Auto),
        Just(Design::Coordinate),
        ordering().prop_map(|ordering| Design::Colored { ordering }),
        ordering().prop_map(|ordering| Design::Star { ordering }),
        (distribution(), prop::option::of(count()))
            .prop_map(|(distribution, directions)| Design::Random { distribution, directions }),
        (ordering(), prop::option::of(count()))
            .prop_map(|(ordering, directions)| Design::Rainbow { ordering, directions }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => Just(Step::Default),
        1 => number().prop_map(Step::Relative),
        1 => number().prop_map(Step::Absolute),
        1 => number().prop_map(Step::Noise),
        1 => prop::collection::vec(number(), 0..7).prop_map(Step::PerCoordinate),
    ]
}

fn decoder() -> impl Strategy<Value = DecoderChoice> {
    prop_oneof![
        Just(DecoderChoice::Auto),
        Just(DecoderChoice::LeastSquares),
        Just(DecoderChoice::L1),
        Just(DecoderChoice::Sparse(SparseMethod::Omp)),
        Just(DecoderChoice::Sparse(SparseMethod::BasisPursuitDenoising)),
        Just(DecoderChoice::Substitution),
    ]
}

fn settings() -> impl Strategy<Value = Settings> {
    (
        design(),
        decoder(),
        prop_oneof![Just(Difference::Forward), Just(Difference::Central)],
        step(),
        any::<u64>(),
        prop_oneof![6 => Just(0.0), 2 => 1e-10..1e-2f64, 2 => number()],
        prop_oneof![6 => Just(0.0), 2 => 0.0..0.3f64, 2 => number()],
        prop::option::of(count()),
        prop_oneof![6 => Just(10.0), 2 => number()],
        prop_oneof![6 => Just(1e-4), 2 => number()],
    )
        .prop_map(|(design, decoder, difference, step, seed, noise, outliers, budget, growth, tolerance)| {
            // With noise the planner spends the whole budget on redundancy, up to
            // design::MAX_VALUES: a plan of 2 GiB is allowed, but too slow to build in
            // a fuzz case, so huge budgets go with exact blackboxes here.
            let budget = if noise != 0.0 { budget.map(|b| b.min(1000)) } else { budget };
            Settings {
                design,
                decoder,
                difference,
                step,
                seed,
                noise,
                outliers,
                budget,
                max_error_growth: growth,
                condition_tolerance: tolerance,
            }
        })
}

/// Small structures of every kind the planner distinguishes: sparse, dense, symmetric,
/// declared row-sparse, coupled (ties, known entries, relations).
fn structure() -> impl Strategy<Value = Structure> {
    let small = 0usize..6;
    prop_oneof![
        (small.clone(), small.clone(), 0usize..3).prop_map(|(m, n, w)| Structure::sparse(Pattern::banded(m, n, w, w))),
        (small.clone(), small.clone()).prop_map(|(m, n)| Structure::dense(m, n)),
        (small.clone(), 0usize..3)
            .prop_map(|(n, w)| Structure::symmetric(Pattern::banded(n, n, w, 0)).expect("square")),
        (small.clone(), small.clone(), count()).prop_map(|(m, n, s)| Structure::dense(m, n).with_row_sparsity(s)),
        (1usize..6, coupling(6, 6)).prop_map(|(n, c)| {
            let pattern = Pattern::banded(n, n, 1, 1);
            let s = Structure::sparse(pattern.clone());
            s.with_coupling(c).unwrap_or_else(|_| Structure::sparse(pattern))
        }),
    ]
}

/// A coupling on an `m × n` pattern, with indices that may fall outside it and numbers
/// that may be anything.
fn coupling(m: usize, n: usize) -> impl Strategy<Value = Coupling> {
    let entry = (0..m + 1, 0..n + 1, number());
    (
        any::<bool>(),
        prop::collection::vec(prop::collection::vec(entry.clone(), 0..4), 0..3),
        prop::collection::vec(entry, 0..3),
        prop::collection::vec(
            (
                0..m + 1,
                prop::collection::vec((0..m + 1, number()), 0..3),
                prop::collection::vec((0..n + 1, number()), 0..2),
            ),
            0..3,
        ),
    )
        .prop_map(|(symmetric, ties, known, relations)| Coupling {
            symmetric,
            ties,
            known,
            relations: relations
                .into_iter()
                .map(|(row, combination, constant)| Relation { row, combination, constant })
                .collect(),
        })
}

fn x0(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        12 => prop::collection::vec(-10.0..10.0f64, n),
        1 => prop::collection::vec(number(), n),
        1 => prop::collection::vec(number(), 0..8),
    ]
}

proptest! {
    #![proptest_config(config(10000))]

    /// `Plan::new` with arbitrary settings: a plan, or a typed error; a plan's calls
    /// and their points can be made, its measurements stored and decoded.
    #[test]
    fn plans_take_arbitrary_settings(
        (structure, x0) in structure().prop_flat_map(|s| { let n = s.dims().0; (Just(s), x0(n)) }),
        settings in settings(),
    ) {
        bounded_alloc::arm();
        if let Ok(plan) = Plan::new(&structure, &x0, &settings) {
            if let Some(budget) = settings.budget {
                prop_assert!(plan.calls() <= budget, "{} calls over a budget of {budget}", plan.calls());
            }
            let mut x = vec![0.0; x0.len()];
            for call in 0..plan.calls().min(50) {
                plan.point(call, &mut x).expect("in range");
            }
            // Told values (some NaN, some never told) decode to an estimate.
            let measurements = Measurements::new(&plan);
            if let (Ok(mut measurements), true) = (measurements, plan.calls() <= 50) {
                let m = plan.structure().dims().1;
                for call in (0..plan.calls()).filter(|c| c % 3 != 2) {
                    let nan = if call % 4 == 3 { f64::NAN } else { 0.0 };
                    let y: Vec<f64> = (0..m).map(|i| ((call * 7 + i * 3) % 5) as f64 + nan).collect();
                    measurements.tell(call, &y).expect("a call of the plan, m values");
                }
                let _ = measurements.decode();
            }
        }
        no_giant_allocation()?;
    }

    /// The parametrization with arbitrary ties, known entries and relations: a typed
    /// error, or entries that are all finite for finite unknowns.
    #[test]
    fn couplings_with_arbitrary_numbers(
        (m, n, w) in (1usize..6, 1usize..6, 0usize..3),
        c in coupling(6, 6),
    ) {
        bounded_alloc::arm();
        let pattern = Pattern::banded(m, n, w, w);
        if let Ok(p) = Parametrization::new(&pattern, &c) {
            let j = p.assemble(&vec![1.0; p.intrinsic_dimension()]);
            prop_assert!(j.values().iter().all(|v| v.is_finite()), "{:?} from {c:?}", j.values());
        }
        no_giant_allocation()?;
    }
}

/// Issue 9: `plan --design random --calls 99999999999999` aborted allocating the
/// directions before the budget was checked. Both are now checked before anything of
/// that size exists, and the errors name the value.
#[test]
fn huge_designs_are_errors_before_they_are_allocated() {
    let structure = Structure::dense(2, 3);
    let x0 = [0.0; 3];
    let huge = 99_999_999_999_998;
    for design in [
        Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(huge) },
        Design::Rainbow { ordering: None, directions: Some(huge) },
    ] {
        let settings = Settings { design: design.clone(), ..Settings::default() };
        match Plan::new(&structure, &x0, &settings).unwrap_err() {
            Error::OverLimit { what, size, limit } => {
                assert!(what.contains("99999999999998 directions (99999999999999 calls)"), "{what}");
                assert!(size > limit as u128);
            }
            e => panic!("expected OverLimit, got {e}"),
        }
        let budgeted = Settings { budget: Some(10), ..settings };
        let e = Plan::new(&structure, &x0, &budgeted).unwrap_err();
        assert!(matches!(e, Error::OverBudget { calls: 99_999_999_999_999, budget: 10, .. }), "{e}");
        // Central differences double the calls.
        let central = Settings { difference: Difference::Central, ..budgeted };
        let e = Plan::new(&structure, &x0, &central).unwrap_err();
        assert!(matches!(e, Error::OverBudget { calls: 199_999_999_999_996, .. }), "{e}");
    }
    // usize::MAX directions: the count of calls saturates instead of overflowing.
    let design = Design::Random { distribution: RandomDistribution::Rademacher, directions: Some(usize::MAX) };
    let e = Plan::new(&structure, &x0, &Settings { design, ..Settings::default() }).unwrap_err();
    assert!(matches!(e, Error::OverLimit { .. }), "{e}");
    // Calls are sized too, even with nothing to perturb or measure (found by the fuzz
    // cases above: the per-call state of 10¹⁴ calls).
    let design = Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(huge) };
    match Plan::new(&Structure::dense(0, 0), &[], &Settings { design, ..Settings::default() }).unwrap_err() {
        Error::OverLimit { what, .. } => assert!(what.starts_with("calls of a random-gaussian design"), "{what}"),
        e => panic!("expected OverLimit, got {e}"),
    }
    // Measurements are sized too: one input, a million outputs, 300 directions hold
    // few coefficients but 3·10⁸ measurement values.
    let tall = Structure::dense(1_000_000, 1);
    let settings = Settings {
        design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(300) },
        ..Settings::default()
    };
    let e = Plan::new(&tall, &[0.0], &settings).unwrap_err();
    assert!(e.to_string().contains("measurement values"), "{e}");
}

/// The direct vᵀJ route sizes its own directions: 10¹⁴ of them aborted.
#[test]
fn huge_direct_vjp_designs_are_errors() {
    let settings = VjpSettings { route: Route::Direct, directions: Some(99_999_999_999_999), ..VjpSettings::default() };
    let e = VjpPlan::new(&Structure::dense(2, 3), &[0.0; 3], &[vec![1.0, 1.0]], &settings).unwrap_err();
    assert!(matches!(e, Error::OverLimit { .. }), "{e}");
    assert!(e.to_string().contains("99999999999999 directions"), "{e}");
}

/// A relative step that is finite can still overflow at a large coordinate.
#[test]
fn overflowing_steps_are_errors() {
    let settings = Settings { step: Step::Relative(1e300), ..Settings::default() };
    let e = Plan::new(&Structure::dense(1, 2), &[0.0, 1e10], &settings).unwrap_err();
    assert!(e.to_string().contains("inf at x0[1] = 10000000000"), "{e}");
}

proptest! {
    #![proptest_config(config(3000))]

    /// `VjpPlan::new` with arbitrary settings on either route: a plan, or a typed
    /// error (the direct route's own directions and sparsity sized an allocation, and
    /// `2 · sparsity` overflowed).
    #[test]
    fn vjp_plans_take_arbitrary_settings(
        (structure, x0) in structure().prop_flat_map(|s| { let n = s.dims().0; (Just(s), x0(n)) }),
        jacobian in settings(),
        route in prop::sample::select(vec![Route::Auto, Route::SenseJacobian, Route::Direct]),
        (sparsity, directions) in (prop::option::of(count()), prop::option::of(count())),
        (step, seed, central) in (step(), any::<u64>(), any::<bool>()),
        v in prop::collection::vec(number(), 0..7),
    ) {
        bounded_alloc::arm();
        let m = structure.dims().1;
        let v: Vec<f64> = (0..m).map(|i| v.get(i).copied().unwrap_or(1.0)).collect();
        let difference = if central { Difference::Central } else { Difference::Forward };
        let settings =
            VjpSettings { route, jacobian, sparsity, directions, step, seed, difference, ..VjpSettings::default() };
        let _ = VjpPlan::new(&structure, &x0, &[v], &settings);
        no_giant_allocation()?;
    }
}

/// FNV-1a of `text`, as a saved plan's checksum is computed.
fn checksum(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Saved plans of every kind of design, to mutate.
fn saved_plans() -> Vec<String> {
    let tri = Structure::sparse(Pattern::banded(8, 8, 1, 1));
    let sym = Structure::symmetric(Pattern::banded(8, 8, 1, 1)).expect("square");
    let designs = [
        Settings::default(),
        Settings { design: Design::Coordinate, ..Settings::default() },
        Settings { outliers: 0.1, ..Settings::default() },
        Settings { noise: 1e-6, difference: Difference::Central, ..Settings::default() },
    ];
    let mut out: Vec<String> =
        designs.iter().map(|s| Plan::new(&tri, &[0.5; 8], s).expect("plans").to_json()).collect();
    out.push(
        Plan::new(&sym, &[0.5; 8], &Settings { design: Design::Star { ordering: None }, ..Settings::default() })
            .expect("plans")
            .to_json(),
    );
    out.push(
        Plan::new(&Structure::dense(3, 8).with_row_sparsity(2), &[0.5; 8], &Settings::default())
            .expect("plans")
            .to_json(),
    );
    out
}

proptest! {
    #![proptest_config(config(3000))]

    /// Arbitrary text, and valid plans with a span of their data replaced by a
    /// near-valid token and signed again: a plan or a typed error, never a panic or a
    /// giant allocation; a loaded plan's points and decode work.
    #[test]
    fn saved_plans_load_or_are_refused(
        which in 0usize..6,
        at in any::<prop::sample::Index>(),
        len in 0usize..12,
        token in prop_oneof![
            Just("99999999999999".to_string()), Just("18446744073709551615".to_string()), Just("-1".to_string()),
            Just("null".to_string()), Just("[]".to_string()), Just("1e308".to_string()), Just("0".to_string()),
            Just("{}".to_string()), Just("\"dense\"".to_string()), "[0-9,\\[\\]{}\":a-z.-]{0,12}",
        ],
        text in ".{0,64}",
    ) {
        bounded_alloc::arm();
        prop_assert!(Plan::from_json(&text).is_err());
        let saved = &saved_plans()[which];
        let start = saved.find("\"data\":").expect("an envelope") + 7;
        let data = &saved[start..saved.len() - 2];
        let cut = at.index(data.len());
        let end = (cut + len).min(data.len());
        if data.is_char_boundary(cut) && data.is_char_boundary(end) {
            let mutated = format!("{}{token}{}", &data[..cut], &data[end..]);
            let head = &saved[..start];
            let sum = head.find("\"checksum\":\"").expect("a checksum") + 12;
            let file = format!("{}{}{}{mutated}}}\n", &head[..sum], checksum(&mutated), &head[sum + 16..]);
            if let Ok(plan) = Plan::from_json(&file) {
                let points = plan.points();
                let m = plan.structure().dims().1;
                if let Ok(mut meas) = Measurements::new(&plan) {
                    for (call, _) in points.iter().enumerate() {
                        meas.tell(call, &vec![1.0; m]).expect("a call of the plan, m values");
                    }
                    let _ = meas.decode();
                }
            }
        }
        no_giant_allocation()?;
    }
}
