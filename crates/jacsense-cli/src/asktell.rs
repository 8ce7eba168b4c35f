//! `jacsense ask` and `jacsense tell`: the calls handed out as files, so that any
//! cluster scheduler can run them.
//!
//! `ask` writes, besides the points, the plan itself (`jacsense::Plan::to_json`: the
//! structure, the resolved design with its directions, `x0` and the steps, in an
//! envelope with a format version and a checksum); `tell` loads it
//! (`jacsense::Plan::from_json`, which refuses a damaged file or another format
//! version) and decodes the values told back with exactly that plan — nothing is
//! planned again.
//!
//! `ask --out DIR` writes:
//! - `DIR/points.txt`: one point per line, `n` numbers in shortest round-trip form;
//!   line `j + 1` is call `j`;
//! - `DIR/points.npy`: the same as a `calls × n` float64 array;
//! - `DIR/plan.json`: the plan file.
//!
//! Values for `tell --values` ([`ValuesFormat`] for text files):
//! - a text file of lines `y1 … ym`, line `j + 1` holding call `j` (what
//!   `program < points.txt > values.txt` writes): exactly one line per call, a blank
//!   line or `nan` for a call without a value;
//! - a text file of lines `CALL y1 … ym` (0-based call index) in any order;
//! - a `.npy` array of shape `calls × m` (a row of NaN: missing);
//! - a directory of files named `CALL` or `CALL.txt` holding the `m` numbers.
//!
//! In text files numbers are separated by whitespace or commas and `#` starts a
//! comment (a line holding only a comment is not a call). Missing calls are erasures; a
//! value line with the wrong count or a non-number is an erasure with the file and line
//! as its reason.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use jacsense::{ErasureReason, Measurements, Plan};
use npyz::WriterBuilder;

use crate::error::{EXIT_OK, Failure};
use crate::formats::{Format, PointWriter, parse_numbers, read_npy, read_vector};
use crate::input_error;
use crate::options::PlanOptions;
use crate::report::{OutputArgs, RunFacts, Timing, finish_estimate};

/// `jacsense ask`.
#[derive(Args, Clone, Debug)]
pub struct AskArgs {
    /// The point x0: numbers or @FILE (see `jacsense estimate --help`).
    #[arg(long, value_name = "NUMBERS|@FILE", allow_hyphen_values = true)]
    pub x0: String,
    /// The directory to write points.txt, points.npy and plan.json into (created).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub plan: PlanOptions,
    /// No summary on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `jacsense tell`.
#[derive(Args, Clone, Debug)]
pub struct TellArgs {
    /// The directory `jacsense ask` wrote.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The values: a text file of lines 'y1 ... ym' in call order or 'CALL y1 ... ym' in
    /// any order, a .npy (calls × m), or a directory of files named CALL or CALL.txt.
    #[arg(long, value_name = "FILE|DIR")]
    pub values: PathBuf,
    /// How the lines of a text values file are laid out.
    #[arg(long, value_enum, default_value_t, value_name = "FORMAT")]
    pub values_format: ValuesFormat,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// How the lines of a text values file are laid out (`tell --values-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ValuesFormat {
    /// Lines of m numbers are `ordered`, lines of an index and m numbers are `indexed`;
    /// a file with both kinds of line is refused.
    #[default]
    Auto,
    /// Lines 'CALL y1 ... ym' (CALL 0-based), in any order; calls without a line are missing.
    Indexed,
    /// Line j+1 holds the m numbers of call j, one line per call; a blank line or 'nan' marks
    /// a call without a value.
    Ordered,
}

/// Runs `jacsense ask`.
pub fn ask(args: &AskArgs) -> Result<u8, Failure> {
    let x0 = read_vector(&args.x0, "--x0")?;
    let n = x0.len();
    let known = args.plan.read_files(n)?;
    let m = args
        .plan
        .known_m(&known)
        .ok_or_else(|| input_error!("ask makes no call, so m must be given: --pattern FILE or --outputs M"))?;
    let spec = args.plan.structure_spec(&known, n, m)?;
    let plan = Plan::new(&spec.build()?, &x0, &args.plan.settings()?)?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| input_error!("cannot create the directory {}: {e}", args.out.display()))?;

    // Both files are written point by point: a plan can have far more calls × n
    // numbers than fit in memory (coordinate differences on n = 10⁶ inputs).
    let points_txt = args.out.join("points.txt");
    let points_npy = args.out.join("points.npy");
    let txt_err = |e: std::io::Error| input_error!("cannot write {}: {e}", points_txt.display());
    let npy_err = |e: std::io::Error| input_error!("cannot write {}: {e}", points_npy.display());
    let mut txt = BufWriter::new(File::create(&points_txt).map_err(txt_err)?);
    let npy_file = BufWriter::new(File::create(&points_npy).map_err(npy_err)?);
    let mut npy = npyz::WriteOptions::<f64>::new()
        .default_dtype()
        .shape(&[plan.calls() as u64, n as u64])
        .writer(npy_file)
        .begin_nd()
        .map_err(npy_err)?;
    let mut x = vec![0.0; n];
    let mut line = String::new();
    let mut writer = PointWriter::default();
    for j in 0..plan.calls() {
        plan.point(j, &mut x).expect("in range");
        line.clear();
        writer.write(&mut line, &x);
        writeln!(txt, "{line}").map_err(txt_err)?;
        npy.extend(x.iter().copied()).map_err(npy_err)?;
    }
    txt.flush().map_err(txt_err)?;
    npy.finish().map_err(npy_err)?;

    let plan_json = args.out.join("plan.json");
    std::fs::write(&plan_json, plan.to_json())
        .map_err(|e| input_error!("cannot write {}: {e}", plan_json.display()))?;
    if !args.quiet {
        eprintln!(
            "jacsense: {} calls (design {}, decoder {}; lower bound ρ_max = {}) for n = {n}, m = {m}. Wrote {} \
             (one point per line; line j+1 is call j), {} and {}. Evaluate the points and write the m numbers \
             of call j to DIR/j.txt, or to line j+1 of a single file (e.g. PROGRAM < points.txt > \
             values.txt), or as a line 'j y1 ... ym' in any order; missing calls are erasures. Then run: \
             jacsense tell {} --values DIR|FILE --output J.mtx",
            plan.calls(),
            plan.settings().design.name(),
            plan.settings().decoder.name(),
            plan.lower_bound(),
            points_txt.display(),
            points_npy.display(),
            plan_json.display(),
            args.out.display()
        );
    }
    Ok(EXIT_OK)
}

/// Reads the plan `ask` wrote to `DIR/plan.json`.
pub fn load_plan(dir: &Path) -> Result<Plan, Failure> {
    let path = dir.join("plan.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| input_error!("cannot read the plan file {}: {e}", path.display()))?;
    Plan::from_json(&text).map_err(|e| input_error!("{}: {e}", path.display()))
}

/// Values told back: per call, the numbers or why they are unusable.
type Told = BTreeMap<usize, Result<Vec<f64>, String>>;

/// Reads the values file (or directory) for a plan of `calls` calls with `m` outputs;
/// `format` says how a text file's lines are laid out.
pub fn read_values(path: &Path, calls: usize, m: usize, format: ValuesFormat) -> Result<Told, Failure> {
    let shown = path.display();
    let check_call = |call: usize, place: &str| {
        if call >= calls {
            Err(input_error!(
                "{place}: call {call} is not part of the plan (it has calls 0 to {})",
                calls.saturating_sub(1)
            ))
        } else {
            Ok(call)
        }
    };
    let check_count = |y: Vec<f64>, place: &str| {
        if y.len() == m { Ok(y) } else { Err(format!("{place}: {} numbers, expected m = {m}", y.len())) }
    };
    let mut told = Told::new();
    if format != ValuesFormat::Auto && (path.is_dir() || Format::of(path) == Format::Npy) {
        return Err(input_error!(
            "--values-format is for a text file of lines; {shown} is a {}, whose layout is fixed",
            if path.is_dir() { "directory of CALL.txt files" } else { ".npy array (calls × m)" }
        ));
    }
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| input_error!("cannot read the directory {shown}: {e}"))?;
        for entry in entries {
            let entry = entry.map_err(|e| input_error!("cannot read the directory {shown}: {e}"))?;
            let file = entry.path();
            let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let Ok(call) = stem.parse::<usize>() else { continue };
            let place = file.display().to_string();
            check_call(call, &place)?;
            let text = std::fs::read_to_string(&file).map_err(|e| input_error!("cannot read {place}: {e}"))?;
            let value = parse_numbers(&text)
                .map_err(|(i, tok)| format!("{place}: entry {i} '{tok}' is not a number"))
                .and_then(|y| check_count(y, &place));
            told.insert(call, value);
        }
        return Ok(told);
    }
    if Format::of(path) == Format::Npy {
        let file = File::open(path).map_err(|e| input_error!("cannot read the values file {shown}: {e}"))?;
        let (shape, values) = read_npy(file, path)?;
        if shape.len() != 2 || shape[0] != calls || shape[1] != m {
            return Err(input_error!("values file {shown}: shape {shape:?}, expected [{calls}, {m}] (calls × m)"));
        }
        for (call, y) in values.chunks(m.max(1)).enumerate().take(calls) {
            if m > 0 && y.iter().all(|v| v.is_nan()) {
                continue;
            }
            told.insert(call, Ok(y.to_vec()));
        }
        return Ok(told);
    }
    let text = std::fs::read_to_string(path).map_err(|e| input_error!("cannot read the values file {shown}: {e}"))?;
    let format = match format {
        ValuesFormat::Auto => guess_layout(&text, m).map_err(|why| {
            input_error!(
                "values file {shown}: {why}; say how its lines are laid out with --values-format ordered \
                 (line j+1 holds the m = {m} numbers of call j) or --values-format indexed (lines 'CALL y1 ... ym')"
            )
        })?,
        given => given,
    };
    if format == ValuesFormat::Ordered {
        return read_ordered(&text, &shown.to_string(), calls, m);
    }
    for (lineno, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let place = format!("values file {shown} line {}", lineno + 1);
        let (head, rest) = t.split_once(|c: char| c.is_whitespace() || c == ',').unwrap_or((t, ""));
        let call = head.parse::<usize>().map_err(|_| {
            input_error!("{place}: '{head}' is not a call index (lines are 'CALL y1 ... ym', CALL 0-based)")
        })?;
        check_call(call, &place)?;
        let value = parse_numbers(rest)
            .map_err(|(i, tok)| format!("{place}: value {i} '{tok}' is not a number"))
            .and_then(|y| check_count(y, &place));
        if let Some(previous) = told.get(&call)
            && previous != &value
        {
            return Err(input_error!("{place}: call {call} was already told with different values"));
        }
        told.insert(call, value);
    }
    Ok(told)
}

/// The lines of a text values file that hold data: `(line number, text without its
/// comment)`, lines holding only a comment left out.
fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter(|(_, line)| !line.trim_start().starts_with('#')).map(|(k, line)| {
        let t = line.split('#').next().unwrap_or("").trim();
        (k + 1, t)
    })
}

/// Whether a text values file is `ordered` (every data line `m` numbers, or `nan`) or
/// `indexed` (every data line an index and `m` numbers); a file holding lines of both
/// kinds, or of neither, is refused with the reason.
fn guess_layout(text: &str, m: usize) -> Result<ValuesFormat, String> {
    let (mut ordered, mut indexed) = (None, None);
    for (lineno, t) in data_lines(text) {
        let Ok(numbers) = parse_numbers(t) else { continue };
        if numbers.len() == m || (numbers.len() == 1 && numbers[0].is_nan()) {
            ordered.get_or_insert(lineno);
        } else if numbers.len() == m + 1 && t.split([' ', '\t', ',']).next().is_some_and(|h| h.parse::<usize>().is_ok())
        {
            indexed.get_or_insert(lineno);
        }
    }
    match (ordered, indexed) {
        (Some(o), Some(i)) => Err(format!(
            "line {o} holds m = {m} numbers (a call in call order) but line {i} holds an index and {m} numbers \
             ('CALL y1 ... ym')"
        )),
        (None, Some(_)) => Ok(ValuesFormat::Indexed),
        (Some(_), None) => Ok(ValuesFormat::Ordered),
        (None, None) if data_lines(text).all(|(_, t)| t.is_empty()) => Ok(ValuesFormat::Indexed),
        (None, None) => Err(format!("no line holds m = {m} numbers, nor an index and {m} numbers")),
    }
}

/// Reads a values file in call order: data line `j + 1` is call `j`. Blank lines after
/// the last call are ignored; otherwise the file must have exactly one line per call,
/// since a line left out would shift every later value onto the wrong call.
fn read_ordered(text: &str, shown: &str, calls: usize, m: usize) -> Result<Told, Failure> {
    let mut lines: Vec<(usize, &str)> = data_lines(text).collect();
    while lines.len() > calls && lines.last().is_some_and(|(_, t)| t.is_empty()) {
        lines.pop();
    }
    if lines.len() != calls {
        return Err(input_error!(
            "values file {shown}: {} lines of values for a plan of {calls} calls; in call order, line j+1 is \
             call j, so every call needs its line (a blank line or 'nan' for a call without a value)",
            lines.len()
        ));
    }
    let mut told = Told::new();
    for (call, (lineno, t)) in lines.into_iter().enumerate() {
        let place = format!("values file {shown} line {lineno} (call {call})");
        let value = match parse_numbers(t) {
            Err((i, tok)) => Err(format!("{place}: value {i} '{tok}' is not a number")),
            Ok(y) if y.iter().all(|v| v.is_nan()) => continue,
            Ok(y) if y.len() != m => Err(format!("{place}: {} numbers, expected m = {m}", y.len())),
            Ok(y) => Ok(y),
        };
        told.insert(call, value);
    }
    Ok(told)
}

/// Runs `jacsense tell`.
pub fn tell(args: &TellArgs) -> Result<u8, Failure> {
    let start = Instant::now();
    let plan = load_plan(&args.dir)?;
    let (_, m) = plan.structure().dims();
    let told = read_values(&args.values, plan.calls(), m, args.values_format)?;
    let timing_plan = start.elapsed().as_secs_f64();
    let mut measurements = Measurements::new(&plan)?;
    for (call, value) in told {
        match value {
            Ok(y) => measurements.tell(call, &y)?,
            Err(reason) => measurements.erase(call, ErasureReason::Failed(reason))?,
        }
    }
    let decode_start = Instant::now();
    let est = measurements.decode();
    let timing = Timing {
        plan: timing_plan,
        calls: 0.0,
        decode: decode_start.elapsed().as_secs_f64(),
        total: start.elapsed().as_secs_f64(),
    };
    finish_estimate("tell", &plan, &est, &timing, &RunFacts::default(), &args.output)
}

#[cfg(test)]
mod tests {
    use super::{ValuesFormat, guess_layout, read_ordered};

    #[test]
    fn the_layout_follows_the_count_of_numbers_per_line() {
        use ValuesFormat::{Indexed, Ordered};
        // m = 2: two numbers are a call in order, three with an integral head are indexed.
        assert_eq!(guess_layout("1 2\n3 4\n", 2), Ok(Ordered));
        assert_eq!(guess_layout("# y1 y2\n1.5, 2\n\nnan\n", 2), Ok(Ordered));
        assert_eq!(guess_layout("1 3 4\n0 1 2 # call 0\n", 2), Ok(Indexed));
        assert!(guess_layout("1 2\n1 3 4\n", 2).unwrap_err().contains("line 1 holds m = 2 numbers"));
        // A head that is not an index is no indexed line: the file is of neither kind.
        assert!(guess_layout("1.5 3 4\n", 2).unwrap_err().contains("no line holds"));
        // m = 1: one number (an integral one too) is a call in order, two are indexed.
        assert_eq!(guess_layout("3\n4\n-33.3\n", 1), Ok(Ordered));
        assert_eq!(guess_layout("0 3\n1 4\n", 1), Ok(Indexed));
        // An indexed file with a value left out ('7') next to a complete line: refused.
        assert!(guess_layout("6 2.5\n7\n", 1).is_err());
        // Lines that are not numbers decide nothing; they become broken calls later.
        assert_eq!(guess_layout("1 2\nbanana\n", 2), Ok(Ordered));
        assert_eq!(guess_layout("", 2), Ok(Indexed));
    }

    #[test]
    fn call_order_needs_a_line_per_call() {
        let told = read_ordered("# header\n1 2\n\nnan\n1 nan\n3\nx 1\n\n\n", "v.txt", 6, 2).unwrap();
        assert_eq!(told.get(&0), Some(&Ok(vec![1.0, 2.0])));
        assert!(!told.contains_key(&1) && !told.contains_key(&2), "blank and nan lines are missing calls");
        assert!(told[&3].as_ref().unwrap()[1].is_nan(), "a NaN output is told (it is an erasure there)");
        assert_eq!(told[&4], Err("values file v.txt line 6 (call 4): 1 numbers, expected m = 2".to_string()));
        assert_eq!(told[&5], Err("values file v.txt line 7 (call 5): value 0 'x' is not a number".to_string()));
        // Trailing blank lines beyond the calls are not calls; a missing line is an error.
        assert!(read_ordered("1 2\n\n\n", "v.txt", 1, 2).is_ok());
        assert!(read_ordered("1 2\n", "v.txt", 2, 2).is_err());
        assert!(read_ordered("1 2\n3 4\n5 6\n", "v.txt", 2, 2).is_err());
    }
}
