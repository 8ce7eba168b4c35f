//! `jacsense ask` and `jacsense tell`: the calls handed out as files, so that any
//! cluster scheduler can run them.
//!
//! Planning is deterministic given the structure, `x0` and the settings (seed
//! included), so `ask` writes, besides the points, a plan file holding exactly those
//! (the pattern inline, not a path) and a checksum of the points; `tell` rebuilds the
//! plan, checks that it gives the same points, and decodes the values told back.
//!
//! `ask --out DIR` writes:
//! - `DIR/points.txt`: one point per line, `n` numbers in shortest round-trip form;
//!   line `j + 1` is call `j`;
//! - `DIR/points.npy`: the same as a `calls × n` float64 array;
//! - `DIR/plan.json`: the plan file.
//!
//! Values for `tell --values`: a text file of lines `CALL y1 … ym` (0-based call index,
//! numbers separated by whitespace or commas, `#` comments) in any order; a `.npy`
//! array of shape `calls × m` (a row of NaN: missing); or a directory of files named
//! `CALL` or `CALL.txt` holding the `m` numbers. Missing calls are erasures; a value
//! line with the wrong count or a non-number is an erasure with the file and line as
//! its reason.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use jacsense::{ErasureReason, Measurements, Plan};
use npyz::WriterBuilder;
use serde::{Deserialize, Serialize};

use crate::error::{EXIT_OK, Failure};
use crate::formats::{Format, parse_numbers, read_npy, read_vector, write_numbers};
use crate::input_error;
use crate::options::{PlanOptions, StructureSpec};
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
    /// The values: a text file of 'CALL y1 ... ym' lines, a .npy (calls × m), or a
    /// directory of files named CALL or CALL.txt.
    #[arg(long, value_name = "FILE|DIR")]
    pub values: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// What `tell` needs to rebuild the plan.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlanFile {
    /// Always "jacsense-plan".
    pub format: String,
    /// The plan file's version (1).
    pub version: u32,
    /// The jacsense version that wrote it.
    pub jacsense_version: String,
    /// Inputs.
    pub n: usize,
    /// Outputs.
    pub m: usize,
    /// Calls of the plan.
    pub calls: usize,
    /// Design and decoder the planner chose (for people; `tell` replans).
    pub design: String,
    /// The decoder.
    pub decoder: String,
    /// The point of linearization.
    pub x0: Vec<f64>,
    /// The options as given.
    pub options: PlanOptions,
    /// The structure, with the pattern inline.
    pub structure: StructureSpec,
    /// FNV-1a hash of the bits of every point, in call order.
    pub points_checksum: String,
}

const PLAN_FORMAT: &str = "jacsense-plan";

/// FNV-1a over the bits of every point of the plan.
pub fn points_checksum(plan: &Plan) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut x = vec![0.0; plan.x0().len()];
    for j in 0..plan.calls() {
        plan.point(j, &mut x).expect("in range");
        for v in &x {
            for b in v.to_bits().to_le_bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    format!("{h:016x}")
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
    for j in 0..plan.calls() {
        plan.point(j, &mut x).expect("in range");
        line.clear();
        write_numbers(&mut line, &x);
        writeln!(txt, "{line}").map_err(txt_err)?;
        npy.extend(x.iter().copied()).map_err(npy_err)?;
    }
    txt.flush().map_err(txt_err)?;
    npy.finish().map_err(npy_err)?;

    let plan_file = PlanFile {
        format: PLAN_FORMAT.into(),
        version: 1,
        jacsense_version: env!("CARGO_PKG_VERSION").into(),
        n,
        m,
        calls: plan.calls(),
        design: plan.settings().design.name().into(),
        decoder: plan.settings().decoder.name().into(),
        x0,
        options: args.plan.clone(),
        structure: spec,
        points_checksum: points_checksum(&plan),
    };
    let plan_json = args.out.join("plan.json");
    let text = serde_json::to_string_pretty(&plan_file).expect("plain data serializes");
    std::fs::write(&plan_json, text + "\n").map_err(|e| input_error!("cannot write {}: {e}", plan_json.display()))?;
    if !args.quiet {
        eprintln!(
            "jacsense: {} calls (design {}, decoder {}; lower bound ρ_max = {}) for n = {n}, m = {m}. Wrote {} \
             (one point per line; line j+1 is call j), {} and {}. Evaluate the points and write the m numbers \
             of call j to DIR/j.txt (or one line 'j y1 ... ym' per call to a single file, in any order; \
             missing calls are erasures), then run: jacsense tell {} --values DIR|FILE --output J.mtx",
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

/// Reads `DIR/plan.json` and rebuilds the plan, checking that it gives the points
/// that were asked.
pub fn load_plan(dir: &Path) -> Result<(PlanFile, Plan), Failure> {
    let path = dir.join("plan.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| input_error!("cannot read the plan file {}: {e}", path.display()))?;
    let file: PlanFile =
        serde_json::from_str(&text).map_err(|e| input_error!("{}: not a jacsense plan file: {e}", path.display()))?;
    if file.format != PLAN_FORMAT || file.version != 1 {
        return Err(input_error!(
            "{}: format '{}' version {} is not a jacsense plan file version 1",
            path.display(),
            file.format,
            file.version
        ));
    }
    let plan = Plan::new(&file.structure.build()?, &file.x0, &file.options.settings()?)?;
    if plan.calls() != file.calls || points_checksum(&plan) != file.points_checksum {
        return Err(input_error!(
            "{}: this jacsense ({}) plans different points than the one that wrote the file ({}); \
             run `ask` again with this version",
            path.display(),
            env!("CARGO_PKG_VERSION"),
            file.jacsense_version
        ));
    }
    Ok((file, plan))
}

/// Values told back: per call, the numbers or why they are unusable.
type Told = BTreeMap<usize, Result<Vec<f64>, String>>;

/// Reads the values file (or directory) for a plan of `calls` calls with `m` outputs.
pub fn read_values(path: &Path, calls: usize, m: usize) -> Result<Told, Failure> {
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

/// Runs `jacsense tell`.
pub fn tell(args: &TellArgs) -> Result<u8, Failure> {
    let start = Instant::now();
    let (file, plan) = load_plan(&args.dir)?;
    let told = read_values(&args.values, plan.calls(), file.m)?;
    let timing_plan = start.elapsed().as_secs_f64();
    let mut measurements = Measurements::new(&plan);
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
