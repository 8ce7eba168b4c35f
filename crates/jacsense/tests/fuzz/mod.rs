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
//! Saved plans and schemes (`Plan::from_json`, `Scheme::from_json`, which the
//! command's `tell` reads) are fuzzed from valid files with one number replaced by a
//! claim, a character dropped, or the text cut short.

mod bounded_alloc;
mod config;

use config::config;
use jacsense::coloring::Ordering;
use jacsense::{
    Coupling, DecoderChoice, Design, Difference, Error, Measurements, Parametrization, Pattern, Plan,
    RandomDistribution, Relation, Route, Scheme, Settings, SparseMethod, Step, Structure, VjpPlan, VjpSettings,
    read_matrix_market,
};
use proptest::prelude::*;

#[global_allocator]
static ALLOCATOR: bounded_alloc::Bounded = bounded_alloc::Bounded;

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
    )
        .prop_map(|(design, decoder, difference, step, seed, noise, outliers, budget)| {
            // With noise the planner spends the whole budget on redundancy, up to
            // the memory available: a plan of gigabytes is allowed, but too slow to build in
            // a fuzz case, so huge budgets go with exact blackboxes here.
            let budget = if noise != 0.0 { budget.map(|b| b.min(1000)) } else { budget };
            Settings { design, decoder, difference, step, seed, noise, outliers, budget, ..Settings::default() }
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
            if let (Ok(mut measurements), true) = (Measurements::new(&plan), plan.calls() <= 50) {
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

/// A saved plan of a small structure, as JSON: one per design family.
fn saved_plan() -> impl Strategy<Value = String> {
    let settings = prop::sample::select(vec![
        Design::Coordinate,
        Design::Colored { ordering: None },
        Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(5) },
        Design::Rainbow { ordering: None, directions: Some(4) },
    ]);
    (settings, any::<bool>(), 1usize..5).prop_map(|(design, central, n)| {
        let difference = if central { Difference::Central } else { Difference::Forward };
        let structure = Structure::sparse(Pattern::banded(n, n, 1, 1));
        let settings = Settings { design, difference, ..Settings::default() };
        Plan::new(&structure, &vec![0.5; n], &settings).expect("a valid plan").to_json()
    })
}

/// FNV-1a, as the saved format's envelope checksums its data: a mutated plan gets a
/// matching checksum, so that the data's own validation is what is fuzzed.
fn checksum(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// A saved plan with one mutation of its data, under a checksum that matches: a
/// number replaced by a claim or a character dropped; or the whole text cut short.
fn mutated_plan() -> impl Strategy<Value = String> {
    let claim = prop::sample::select(vec![
        "99999999999999",
        "18446744073709551615",
        "18446744073709551616",
        "-1",
        "1e300",
        "-1e300",
        "null",
        "0",
        "2.5",
        "[]",
        "\"x\"",
    ]);
    (saved_plan(), 0usize..4, any::<prop::sample::Index>(), claim).prop_map(|(text, kind, at, claim)| {
        let (head, data) = text.split_once(",\"data\":").expect("the envelope ends with its data");
        let data = data.trim_end().strip_suffix('}').expect("the envelope closes");
        let bytes = data.as_bytes();
        // Numbers: maximal runs of digits (with a sign, point or exponent).
        let mut numbers = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_digit() {
                let start = if i > 0 && bytes[i - 1] == b'-' { i - 1 } else { i };
                while i < bytes.len() && (bytes[i].is_ascii_digit() || b".eE+-".contains(&bytes[i])) {
                    i += 1;
                }
                numbers.push(start..i);
            } else {
                i += 1;
            }
        }
        let mutated = match kind {
            0 | 1 if !numbers.is_empty() => {
                let r = numbers[at.index(numbers.len())].clone();
                format!("{}{claim}{}", &data[..r.start], &data[r.end..])
            }
            2 => {
                let mut d = data.to_string();
                let cut = at.index(d.len());
                if d.is_char_boundary(cut) && d.is_char_boundary(cut + 1) {
                    d.remove(cut);
                }
                d
            }
            _ => {
                let mut cut = at.index(text.len() + 1);
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                return text[..cut].to_string();
            }
        };
        let head = head.rsplit_once(",\"checksum\":").expect("a checksum").0;
        format!("{head},\"checksum\":\"{}\",\"data\":{mutated}}}\n", checksum(&mutated))
    })
}

proptest! {
    #![proptest_config(config(3000))]

    /// Saved plans and schemes, mutated: loaded with their calls and points, or a
    /// typed error.
    #[test]
    fn saved_plans_load_or_are_refused(text in mutated_plan()) {
        bounded_alloc::arm();
        if let Ok(plan) = Plan::from_json(&text) {
            let mut x = vec![0.0; plan.x0().len()];
            for call in 0..plan.calls().min(50) {
                plan.point(call, &mut x).expect("in range");
            }
            let _ = Measurements::new(&plan);
        }
        let _ = Scheme::from_json(&text);
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
            Error::TooLarge { what, bytes, available, .. } => {
                assert!(what.contains("99999999999998"), "{what}");
                assert!(bytes > u128::from(available));
            }
            e => panic!("expected TooLarge, got {e}"),
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
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    // Every call has its state in the measurements, even with nothing to perturb or
    // measure (found by the fuzz cases above: the state of 10¹⁴ calls).
    let design = Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(huge) };
    let sized = Plan::new(&Structure::dense(0, 0), &[], &Settings { design, ..Settings::default() })
        .and_then(|plan| Measurements::new(&plan).map(|_| ()));
    assert!(matches!(sized, Err(Error::TooLarge { .. })), "{sized:?}");
}

/// The direct vᵀJ route sizes its own directions: 10¹⁴ of them aborted.
#[test]
fn huge_direct_vjp_designs_are_errors() {
    let settings = VjpSettings { route: Route::Direct, directions: Some(99_999_999_999_999), ..VjpSettings::default() };
    let e = VjpPlan::new(&Structure::dense(2, 3), &[0.0; 3], &[vec![1.0, 1.0]], &settings).unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("99999999999999 random-gaussian directions"), "{e}");
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

/// A coloring is a claim too (a saved plan's, a user's grouping): a color of 10¹⁴
/// sized the checker's per-color arrays and aborted (found by the saved-plan cases).
#[test]
fn colorings_with_huge_colors_are_errors() {
    use jacsense::coloring::{Coloring, check_column_coloring};
    let pattern = Pattern::banded(3, 3, 1, 1);
    for colors in [vec![0, 1, 99_999_999_999_999], vec![usize::MAX, 0, 1]] {
        let e = check_column_coloring(&pattern, &Coloring::new(colors)).unwrap_err();
        assert!(e.to_string().contains("colors for 3 columns"), "{e}");
    }
    let groups = Design::Groups(Coloring::new(vec![0, 99_999_999_999_999, 1]));
    let e = Plan::new(&Structure::sparse(pattern), &[0.0; 3], &Settings { design: groups, ..Settings::default() });
    assert!(matches!(e, Err(Error::InvalidColoring(_))), "{e:?}");
}
