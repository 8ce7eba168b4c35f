//! No panics and no giant allocations on user input (issue 9, part 6): property-based
//! fuzzing of every reader of the command — Matrix Market, `.npy`, `.json` and text
//! vectors and patterns, ties and known-entry files, `--x0` lists, durations, `tell`
//! values — and of its numeric settings through to `Plan::new`, plus the regressions
//! the issue found, run through the built binary.
//!
//! Every case must return `Ok` or an input error. A panic fails the case (proptest
//! catches it); an allocation above [`bounded_alloc::BOUND`] is refused, which aborts
//! the child process the cases run in (`fork: true`), and proptest reports the case;
//! a case that hangs fails at the per-case `timeout`. Inputs mix arbitrary bytes with
//! near-valid files: valid headers whose sizes are mutated to 0, 99999999999999,
//! `u64::MAX`, negatives, NaN or infinities, and files cut short.
//!
//! Plan files (`tell` reads them with `Plan::from_json`) are fuzzed in the core's
//! `tests/fuzz`.

#[path = "../../jacsense/tests/fuzz/bounded_alloc.rs"]
mod bounded_alloc;
#[path = "../../jacsense/tests/fuzz/config.rs"]
mod config;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Parser;
use config::config;
use jacsense::Plan;
use jacsense_cli::asktell::{ValuesFormat, read_values};
use jacsense_cli::cli::{Cli, Command as Subcommand};
use jacsense_cli::error::Failure;
use jacsense_cli::formats::{parse_numbers, read_pattern, read_vector, read_vector_file};
use jacsense_cli::options::{DecoderName, DesignName, PlanOptions, read_known, read_ties};
use jacsense_cli::session::parse_duration;
use proptest::prelude::*;

#[global_allocator]
static ALLOCATOR: bounded_alloc::Bounded = bounded_alloc::Bounded;

const JACSENSE: &str = env!("CARGO_BIN_EXE_jacsense");

/// Every reader returns `Ok` or an input error (the type says so; this is where a
/// future variant would be caught), and no allocation above the bound was asked for.
fn checked<T>(result: Result<T, Failure>) -> Result<Option<T>, TestCaseError> {
    bounded_alloc::check().map_err(TestCaseError::fail)?;
    match result {
        Ok(v) => Ok(Some(v)),
        Err(Failure::Input(message)) => {
            prop_assert!(!message.is_empty());
            Ok(None)
        }
        Err(other) => Err(TestCaseError::fail(format!("a reader failed with {other:?}, not an input error"))),
    }
}

/// The scratch directory, shared by the processes the cases run in (their files are
/// named by process), created once and left in place: removing a directory per case
/// cost more than the case.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join("jacsense-fuzz");
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// A file in the scratch directory, named by this process.
fn scratch_file(name: &str) -> PathBuf {
    scratch().join(format!("{}-{name}", std::process::id()))
}

/// Writes `bytes` to a fresh file named `*.{ext}`, runs `read` on its path, removes it.
fn with_file<T>(ext: &str, bytes: &[u8], read: impl FnOnce(&Path) -> T) -> T {
    static FILES: AtomicUsize = AtomicUsize::new(0);
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let name = format!("{}-{}.{ext}", std::process::id(), FILES.fetch_add(1, Ordering::Relaxed));
    let path = DIR.get_or_init(scratch).join(name);
    std::fs::write(&path, bytes).expect("scratch file");
    let out = read(&path);
    let _ = std::fs::remove_file(&path);
    out
}

// ---------------------------------------------------------------------------------
// Strategies

/// A number as a user could write it: small integers mostly, otherwise the claims and
/// garbage the issue is about.
fn token() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        12 => (0u64..5).prop_map(|v| v.to_string()),
        3 => (-10.0..10.0f64).prop_map(|v| v.to_string()),
        1 => Just("99999999999999".to_string()),
        1 => Just("99999999999".to_string()),
        1 => Just(u64::MAX.to_string()),
        1 => Just("18446744073709551616".to_string()),
        1 => Just("123456789012345678901234567890".to_string()),
        1 => Just("-1".to_string()),
        1 => Just("-0".to_string()),
        1 => Just("1e300".to_string()),
        1 => Just("1e400".to_string()),
        1 => Just("1e-400".to_string()),
        1 => Just("NaN".to_string()),
        1 => Just("inf".to_string()),
        1 => Just("-infinity".to_string()),
        1 => Just("2.5".to_string()),
        1 => Just("0x10".to_string()),
        1 => Just(String::new()),
        1 => Just("x".to_string()),
        1 => any::<u64>().prop_map(|v| v.to_string()),
        1 => any::<f64>().prop_map(|v| v.to_string()),
    ]
}

/// A list of numbers as `--x0` takes them: `1 2 3`, `1,2,3`, `[1, 2, 3]`.
fn number_list() -> impl Strategy<Value = String> + Clone {
    (
        prop::collection::vec(token(), 0..6),
        prop::sample::select(vec![" ", ",", ", ", "\t", " , "]),
        prop::sample::select(vec![("", ""), ("[", "]"), ("[", ""), ("", "]"), ("[[", "]]")]),
    )
        .prop_map(|(tokens, sep, (open, close))| format!("{open}{}{close}", tokens.join(sep)))
}

/// Lines of numbers with `#` comments and blank lines (text vectors and dense
/// matrices, ties, known entries, `tell` values).
fn text_lines(lines: impl Strategy<Value = String> + Clone) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            8 => lines,
            1 => Just(String::new()),
            1 => Just("# a comment".to_string()),
            1 => "[ -~]{0,20}",
        ],
        0..8,
    )
    .prop_map(|l| l.join("\n"))
}

/// A near-valid Matrix Market vector: `array` with a size line `rows cols` and
/// values, or `coordinate` with `rows cols entries` and entries; one size token may be
/// a claim, the text may be cut short.
fn mtx_vector() -> impl Strategy<Value = String> {
    let array = (prop::collection::vec(token(), 2), prop::collection::vec(token(), 0..6), any::<bool>()).prop_map(
        |(size, values, transposed)| {
            let size = if transposed { format!("1 {}", size[1]) } else { format!("{} {}", size[0], size[1]) };
            format!("%%MatrixMarket matrix array real general\n% comment\n{size}\n{}\n", values.join("\n"))
        },
    );
    let coordinate = (1u64..6, prop::collection::vec((0u64..6, -5.0..5.0f64), 0..5), (0usize..4, token())).prop_map(
        |(rows, entries, (mutate, claim))| {
            let mut size = [rows.to_string(), "1".to_string(), entries.len().to_string()];
            if let Some(slot) = size.get_mut(mutate) {
                *slot = claim;
            }
            let mut text = format!("%%MatrixMarket matrix coordinate real general\n{}\n", size.join(" "));
            for (i, v) in entries {
                text += &format!("{} 1 {v}\n", i % rows + 1);
            }
            text
        },
    );
    (prop_oneof![array, coordinate], prop::option::weighted(0.2, any::<prop::sample::Index>())).prop_map(
        |(mut text, cut)| {
            if let Some(cut) = cut {
                text.truncate(cut.index(text.len() + 1));
            }
            text
        },
    )
}

/// A `.npy` file: a header NumPy would write (version, dtype, order, shape) with its
/// dimensions possibly claims ("99999999999999", `u64::MAX`, "-1", "2.5"), its header
/// length possibly wrong, its literal possibly deeply nested, and data of the right
/// length, cut short, or arbitrary.
fn npy_bytes() -> impl Strategy<Value = Vec<u8>> {
    let dim = prop_oneof![
        10 => (0u64..5).prop_map(|d| d.to_string()),
        1 => Just("99999999999999".to_string()),
        1 => Just(u64::MAX.to_string()),
        1 => Just((1u64 << 32).to_string()),
        1 => Just("18446744073709551616".to_string()),
        1 => Just("-1".to_string()),
        1 => Just("2.5".to_string()),
        1 => any::<u64>().prop_map(|d| d.to_string()),
    ];
    let descr = prop::sample::select(vec!["<f8", "<f4", "<i8", "<i4", "|b1", ">f8", ">i4", "<c16", "<U3", "O", "x"]);
    (
        prop_oneof![8 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8), 1 => any::<u8>()],
        descr,
        any::<bool>(),
        prop::collection::vec(dim, 0..4),
        prop_oneof![6 => Just(None), 1 => any::<u32>().prop_map(Some), 1 => (0u32..200).prop_map(Some)],
        prop_oneof![10 => Just(0usize), 1 => 1usize..200],
        prop_oneof![4 => Just(None), 1 => any::<prop::sample::Index>().prop_map(Some)],
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(version, descr, fortran, shape, header_len, nesting, cut, noise)| {
            let dims = if shape.len() == 1 { format!("{},", shape[0]) } else { shape.join(", ") };
            let order = if fortran { "True" } else { "False" };
            let mut header = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': ({dims}), }}");
            if nesting > 0 {
                header = "[".repeat(nesting) + &"]".repeat(nesting);
            }
            let prefix = if version == 1 { 10 } else { 12 };
            while (prefix + header.len() + 1) % 64 != 0 {
                header.push(' ');
            }
            header.push('\n');
            let mut bytes = b"\x93NUMPY".to_vec();
            bytes.extend([version, 0]);
            let len = header_len.unwrap_or(header.len() as u32);
            if version == 1 {
                bytes.extend((len as u16).to_le_bytes());
            } else {
                bytes.extend(len.to_le_bytes());
            }
            bytes.extend(header.as_bytes());
            // As much data as the shape claims when that is small, else some bytes.
            let values: Option<u64> =
                shape.iter().map(|d| d.parse::<u64>().ok()).try_fold(1u64, |acc, d| acc.checked_mul(d?));
            let item = match descr {
                "<f8" | ">f8" | "<i8" => 8,
                "<f4" | "<i4" | ">i4" => 4,
                "|b1" => 1,
                _ => 16,
            };
            match values.filter(|&v| v.checked_mul(item).is_some_and(|b| b <= 512)) {
                Some(v) => bytes
                    .extend((0..v * item).map(|b| noise.get(b as usize % noise.len().max(1)).copied().unwrap_or(0))),
                None => bytes.extend(&noise),
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            bytes
        })
}

/// JSON values of every kind, nested, with numbers as claims.
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        6 => token().prop_filter("a JSON number", |t| serde_json::from_str::<serde_json::Number>(t).is_ok()),
        1 => Just("null".to_string()),
        1 => Just("true".to_string()),
        1 => Just("\"a\"".to_string()),
        1 => Just("1e400".to_string()),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((prop::sample::select(vec!["shape", "rows", "cols", "values", "x"]), inner), 0..5)
                .prop_map(|kv| format!(
                    "{{{}}}",
                    kv.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect::<Vec<_>>().join(",")
                )),
        ]
    })
}

fn json_numbers(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(
        token().prop_filter("a JSON number", |t| serde_json::from_str::<serde_json::Number>(t).is_ok()),
        len,
    )
    .prop_map(|v| format!("[{}]", v.join(",")))
}

/// A JSON matrix `{"shape": [m, n], "rows": [...], "cols": [...], "values": [...]}`:
/// a valid one with one field replaced by arbitrary numbers (the shape by a claim) or
/// dropped.
fn json_matrix() -> impl Strategy<Value = String> {
    (
        1usize..5,
        1usize..5,
        prop::collection::vec((0usize..5, 0usize..5, -5.0..5.0f64), 0..6),
        (0usize..6, 0usize..3, json_numbers(0..5)),
    )
        .prop_map(|(m, n, entries, (field, how, replacement))| {
            let list = |f: &dyn Fn(&(usize, usize, f64)) -> String| {
                format!("[{}]", entries.iter().map(f).collect::<Vec<_>>().join(","))
            };
            let mut fields = vec![
                ("shape", format!("[{m},{n}]")),
                ("rows", list(&|e| (e.0 % m).to_string())),
                ("cols", list(&|e| (e.1 % n).to_string())),
                ("values", list(&|e| e.2.to_string())),
            ];
            match (fields.get_mut(field), how) {
                (Some(f), 0) => f.1 = replacement,
                (Some(_), 1) => drop(fields.remove(field)),
                _ => {}
            }
            let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
            format!("{{{}}}", body.join(", "))
        })
}

/// Deeply nested JSON arrays: serde_json stops at 128 levels.
fn json_deep() -> impl Strategy<Value = String> {
    (0usize..300).prop_map(|d| "[".repeat(d) + "1" + &"]".repeat(d))
}

/// Any file a reader might be given, as `(extension, bytes)`.
fn any_file() -> impl Strategy<Value = (&'static str, Vec<u8>)> {
    prop_oneof![
        3 => (prop::sample::select(vec!["mtx", "npy", "json", "csv", "txt"]), prop::collection::vec(any::<u8>(), 0..200)),
        2 => mtx_vector().prop_map(|t| ("mtx", t.into_bytes())),
        3 => npy_bytes().prop_map(|b| ("npy", b)),
        2 => json_value().prop_map(|t| ("json", t.into_bytes())),
        1 => json_matrix().prop_map(|t| ("json", t.into_bytes())),
        1 => json_deep().prop_map(|t| ("json", t.into_bytes())),
        2 => text_lines(number_list()).prop_map(|t| ("csv", t.into_bytes())),
        1 => text_lines(number_list()).prop_map(|t| ("txt", t.into_bytes())),
    ]
}

// ---------------------------------------------------------------------------------
// Readers

proptest! {
    #![proptest_config(config(3000))]

    /// Vectors (`--x0`, `--v`) and patterns (`--pattern`, `jacsense color`) from any
    /// file.
    #[test]
    fn vectors_and_patterns_from_any_file((ext, bytes) in any_file()) {
        bounded_alloc::arm();
        if let Some(v) = with_file(ext, &bytes, |p| checked(read_vector_file(p, "--x0")))? {
            // Nothing is invented: a vector has at most as many entries as a claim
            // the data back (an n×1 coordinate file may hold zeros it does not list).
            prop_assert!(v.len() <= jacsense::MAX_DIMENSION);
        }
        if let Some(p) = with_file(ext, &bytes, |p| checked(read_pattern(p)))? {
            prop_assert!(p.nnz() <= bytes.len(), "{} entries from {} bytes", p.nnz(), bytes.len());
        }
    }

    /// Ties (`--ties`) and known entries (`--known`) from near-valid text lines,
    /// JSON and Matrix Market files.
    #[test]
    fn ties_and_known_entries_from_any_file(
        ties_text in text_lines(prop::collection::vec(token(), 2..6).prop_map(|t| t.join(" "))),
        (ext, bytes) in any_file(),
        ties_json in prop::collection::vec(prop::collection::vec(json_numbers(2..5), 0..3), 0..3),
    ) {
        bounded_alloc::arm();
        if let Some(groups) = with_file("txt", ties_text.as_bytes(), |p| checked(read_ties(p)))? {
            // At most one group per line, whatever its index says.
            prop_assert!(groups.len() <= ties_text.lines().count());
        }
        let ties_json: Vec<String> = ties_json.iter().map(|g| format!("[{}]", g.join(","))).collect();
        let ties_json = format!("[{}]", ties_json.join(","));
        checked(with_file("json", ties_json.as_bytes(), read_ties))?;
        checked(with_file(ext, &bytes, read_ties))?;
        checked(with_file("txt", ties_text.as_bytes(), read_known))?;
        checked(with_file(ext, &bytes, read_known))?;
    }

    /// `--x0` lists and `@FILE`, and protocol lines.
    #[test]
    fn x0_lists_and_files(list in number_list(), (ext, bytes) in any_file(), missing in any::<bool>()) {
        bounded_alloc::arm();
        if let Some(v) = checked(read_vector(&list, "--x0"))? {
            prop_assert!(v.len() <= list.len());
        }
        let _ = parse_numbers(&list);
        checked(with_file(ext, &bytes, |p| {
            let spec = if missing { format!("@{}.missing", p.display()) } else { format!("@{}", p.display()) };
            read_vector(&spec, "--x0")
        }))?;
    }

    /// `tell --values`: text lines `CALL y1 … ym`, `.npy` arrays, anything else.
    #[test]
    fn tell_values(
        lines in text_lines((token(), number_list()).prop_map(|(c, y)| format!("{c} {y}"))),
        (ext, bytes) in any_file(),
        calls in 0usize..6,
        m in 0usize..4,
        format in prop::sample::select(vec![ValuesFormat::Auto, ValuesFormat::Indexed, ValuesFormat::Ordered]),
    ) {
        bounded_alloc::arm();
        if let Some(told) = with_file("txt", lines.as_bytes(), |p| checked(read_values(p, calls, m, format)))? {
            prop_assert!(told.keys().all(|&c| c < calls));
        }
        checked(with_file(ext, &bytes, |p| read_values(p, calls, m, format)))?;
    }
}

proptest! {
    #![proptest_config(config(3000))]

    /// `--timeout`: the parser alone, and through the command line.
    #[test]
    fn durations(
        number in token(),
        unit in prop::sample::select(vec!["", "ms", "s", "m", "min", "h", "d", " s", "µs", "S"]),
        junk in "\\PC{0,12}",
    ) {
        bounded_alloc::arm();
        for s in [format!("{number}{unit}"), junk] {
            if let Ok(d) = parse_duration(&s) {
                prop_assert!(!d.is_zero() && d <= jacsense_cli::session::MAX_TIMEOUT, "{s} gave {d:?}");
            }
            let _ = Cli::try_parse_from(["jacsense", "estimate", "--x0", "1", "--timeout", &s, "--", "true"]);
        }
        bounded_alloc::check().map_err(TestCaseError::fail)?;
    }
}

// ---------------------------------------------------------------------------------
// Numeric settings, through to a plan

fn count() -> impl Strategy<Value = usize> {
    prop_oneof![
        6 => 0usize..40,
        1 => Just(99_999_999_999_999usize),
        1 => Just(usize::MAX),
        1 => (1usize << 40)..,
        1 => any::<usize>(),
    ]
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 0.0..0.3f64,
        1 => 1e-12..1e-2f64,
        2 => Just(0.0),
        1 => Just(-1.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(1e300),
        1 => any::<f64>(),
    ]
}

fn plan_options() -> impl Strategy<Value = PlanOptions> {
    let design = prop::sample::select(vec![
        DesignName::Auto,
        DesignName::Coordinate,
        DesignName::Colored,
        DesignName::Star,
        DesignName::Random,
        DesignName::Rademacher,
        DesignName::Rainbow,
    ]);
    let decoder = prop::sample::select(vec![
        DecoderName::Auto,
        DecoderName::LeastSquares,
        DecoderName::L1,
        DecoderName::Omp,
        DecoderName::Bpdn,
        DecoderName::Substitution,
    ]);
    let ordering =
        prop::option::of(prop::sample::select(vec!["natural", "largest-first", "smallest-last", "random", ""]));
    (
        (design, decoder, ordering, any::<bool>(), any::<bool>()),
        (prop::option::of(count()), prop::option::of(count()), any::<u64>(), prop::option::of(count())),
        (prop::option::of(count()), number(), number(), prop::option::of(number()), any::<bool>()),
    )
        .prop_map(
            |((design, decoder, ordering, symmetric, central), (calls, budget, seed, row_sparsity), rest)| {
                let (outputs, noise, outliers, step, absolute) = rest;
                // With noise the planner spends the whole budget on redundancy, up to
                // the memory available: allowed, but too slow to build in a fuzz case.
                let budget = if noise != 0.0 { budget.map(|b| b.min(1000)) } else { budget };
                PlanOptions {
                    symmetric,
                    row_sparsity,
                    outputs,
                    design,
                    ordering: ordering.map(str::to_string),
                    calls,
                    budget,
                    decoder,
                    outliers,
                    noise,
                    step: step.filter(|_| !absolute),
                    step_absolute: step.filter(|_| absolute),
                    central,
                    seed,
                    ..PlanOptions::default()
                }
            },
        )
}

proptest! {
    #![proptest_config(config(3000))]

    /// The numeric options of `estimate`, `ask` and `plan` (`--calls`, `--budget`,
    /// `--seed`, `--row-sparsity`, `--outputs`, `--noise`, `--outliers`, `--step`),
    /// the way `jacsense plan` combines them: a plan, or an input error.
    #[test]
    fn numeric_options_through_to_a_plan(options in plan_options(), n in 0usize..6, m in 0usize..6) {
        bounded_alloc::arm();
        let x0 = vec![0.5; n];
        let planned = options.read_files(n).and_then(|known| {
            let m = options.known_m(&known).unwrap_or(m);
            let structure = options.structure_spec(&known, n, m)?.build()?;
            Ok(Plan::new(&structure, &x0, &options.settings()?)?)
        });
        if let (Some(plan), Some(budget)) = (checked(planned)?, options.budget) {
            prop_assert!(plan.calls() <= budget);
        }
    }

    /// The same options as text on the command line: clap's parsers, then the plan.
    #[test]
    fn numeric_options_on_the_command_line(
        values in prop::collection::vec(token(), 8),
        flags in prop::collection::vec(any::<bool>(), 8),
    ) {
        bounded_alloc::arm();
        let names = ["--calls", "--budget", "--seed", "--row-sparsity", "--outputs", "--noise", "--outliers", "--step"];
        let mut args = vec!["jacsense".to_string(), "plan".into(), "--x0".into(), "1 2 3".into(), "--design".into(), "random".into()];
        for ((name, value), on) in names.iter().zip(&values).zip(&flags) {
            if *on {
                args.extend([name.to_string(), value.clone()]);
            }
        }
        if let Ok(Cli { command: Subcommand::Plan(args) }) = Cli::try_parse_from(&args) {
            let options = args.plan;
            let planned = (|| {
                let x0 = read_vector(args.x0.as_deref().unwrap_or(""), "--x0")?;
                let known = options.read_files(x0.len())?;
                let m = options.known_m(&known).unwrap_or(2);
                let structure = options.structure_spec(&known, x0.len(), m)?.build()?;
                Ok(Plan::new(&structure, &x0, &options.settings()?)?)
            })();
            checked(planned)?;
        }
        bounded_alloc::check().map_err(TestCaseError::fail)?;
    }
}

// ---------------------------------------------------------------------------------
// The regressions of issue 9, through the built binary

fn jacsense(args: &[&str]) -> Output {
    Command::new(JACSENSE).args(args).stdin(Stdio::null()).output().expect("jacsense runs")
}

/// Exit code 1 (bad input) with a message naming `value`, not a panic (101) or an
/// abort (a signal).
fn assert_input_error(out: &Output, value: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(value), "the message does not name {value}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_huge_timeout_is_an_input_error() {
    let out = jacsense(&["estimate", "--x0", "1", "--timeout", "100000000000000000000s", "--", "true"]);
    assert_input_error(&out, "100000000000000000000s");
    let out = jacsense(&["estimate", "--x0", "1", "--timeout", "NaN", "--", "true"]);
    assert_input_error(&out, "'NaN'");
}

#[test]
fn matrix_market_headers_claiming_huge_sizes_are_input_errors() {
    let pattern = scratch_file("claims.mtx");
    std::fs::write(&pattern, "%%MatrixMarket matrix coordinate pattern general\n3 3 99999999999999\n1 1\n").unwrap();
    assert_input_error(&jacsense(&["plan", "--pattern", pattern.to_str().unwrap()]), "99999999999999");
    let rows = scratch_file("rows.mtx");
    std::fs::write(&rows, "%%MatrixMarket matrix coordinate real general\n99999999999999 1 1\n1 1 2.0\n").unwrap();
    let spec = format!("@{}", rows.display());
    assert_input_error(&jacsense(&["plan", "--x0", &spec, "-m", "1"]), "99999999999999");
    let array = scratch_file("array.mtx");
    std::fs::write(&array, "%%MatrixMarket matrix array real general\n99999999999999 1\n1.0\n").unwrap();
    let spec = format!("@{}", array.display());
    assert_input_error(&jacsense(&["plan", "--x0", &spec, "-m", "1"]), "99999999999999");
    for file in [pattern, rows, array] {
        let _ = std::fs::remove_file(file);
    }
}

#[test]
fn a_random_design_with_huge_calls_is_an_input_error() {
    let base = ["plan", "--design", "random", "--calls", "99999999999999", "-n", "3", "-m", "2"];
    assert_input_error(&jacsense(&base), "99999999999998 random-gaussian directions");
    let mut budgeted = base.to_vec();
    budgeted.extend(["--budget", "10"]);
    assert_input_error(&jacsense(&budgeted), "needs 99999999999999 calls but the budget is 10");
    assert_input_error(&jacsense(&["plan", "-n", "99999999999999", "-m", "2"]), "--inputs 99999999999999");
    assert_input_error(&jacsense(&["plan", "-n", "3", "-m", "99999999999999"]), "m = 99999999999999");
    assert_input_error(&jacsense(&["estimate", "--x0", "1", "-w", "99999999999999", "--", "true"]), "99999999999999");
}

/// A group index only names its group: 99999999999 resized a Vec to that length.
#[test]
fn a_huge_group_index_in_a_ties_file_is_just_a_name() {
    let ties = scratch_file("ties.txt");
    std::fs::write(&ties, "99999999999 0 0\n99999999999 1 1 2.0\n").unwrap();
    let out = jacsense(&["plan", "-n", "2", "-m", "2", "--ties", ties.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["intrinsic_dimension"], 3); // J₁₁ = 2 J₀₀: four entries, three unknowns
    assert_eq!(read_ties(&ties).unwrap(), vec![vec![(0, 0, 1.0), (1, 1, 2.0)]]);
    let _ = std::fs::remove_file(ties);
}
