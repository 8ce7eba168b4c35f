//! A run of an external program: the worker pool, its log, and the first call at `x0`
//! that tells `m`.

use std::fs::{File, OpenOptions};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use jacsense::{Difference, ErasureReason, Progress};

use crate::error::Failure;
use crate::input_error;
use crate::report::Timing;
use crate::workers::{Outcome, Pool, Program, RequestFormat, RunOptions, RunStats, run_calls};

/// How to run the program.
#[derive(Args, Clone, Debug)]
pub struct RunArgs {
    /// Worker processes running at once (default: the number of cores; at most 4096).
    #[arg(long, short = 'w', value_name = "W", help_heading = "Running the program")]
    pub workers: Option<usize>,
    /// Start the program once per call (input on stdin, answer on stdout, exit 0)
    /// instead of keeping workers that answer one line per line.
    #[arg(long, help_heading = "Running the program")]
    pub per_call: bool,
    /// Per-call timeout, e.g. 500ms, 30s, 10m, 2h (default: none; at most a year). A
    /// call that takes longer is an erasure and its worker is restarted.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Running the program")]
    pub timeout: Option<Duration>,
    /// Stop (exit code 2) after this many failed calls in a row.
    #[arg(long, value_name = "N", default_value_t = 10, help_heading = "Running the program")]
    pub max_failures: usize,
    /// Append the workers' stderr (and a line per fault) to this file (default: a file
    /// in the temporary directory, named in the summary, removed when empty).
    #[arg(long, value_name = "FILE", help_heading = "Running the program")]
    pub log: Option<PathBuf>,
    /// How each request line separates the n numbers.
    #[arg(long, value_enum, default_value_t, help_heading = "Running the program")]
    pub request_format: RequestFormat,
    /// The program and its arguments, after `--`.
    #[arg(required = true, last = true, value_name = "PROGRAM [ARGS]")]
    pub command: Vec<String>,
}

/// The most worker processes: each has a slot allocated up front.
pub const MAX_WORKERS: usize = 4096;

/// The longest timeout: a year. Longer ones are refused rather than passed to
/// `Duration` and `Instant` arithmetic that overflows (omit `--timeout` for none).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// Parses `500ms`, `2s`, `1.5`, `1e3s`, `10m`, `2h` (seconds when no unit): a
/// positive duration of at least a nanosecond and at most [`MAX_TIMEOUT`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    // The unit is the trailing run of letters, so that `1e3s` keeps its exponent.
    let number = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &t[number.len()..];
    let value: f64 = match number.trim().parse() {
        Ok(v) => v,
        Err(_) => return Err(format!("'{s}' is not a duration (e.g. 500ms, 30s, 10m)")),
    };
    let seconds = match unit {
        "ms" => value / 1e3,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit '{other}' in '{s}' (use ms, s, m or h)")),
    };
    if seconds.is_nan() || seconds <= 0.0 {
        return Err(format!("'{s}': a timeout must be positive"));
    }
    if seconds > MAX_TIMEOUT.as_secs_f64() {
        return Err(format!("'{s}': a timeout can be at most a year (omit --timeout for no timeout)"));
    }
    let d = Duration::from_secs_f64(seconds);
    if d.is_zero() {
        return Err(format!("'{s}': a timeout must be at least a nanosecond"));
    }
    Ok(d)
}

/// The pool and what the loop needs.
pub struct Session {
    /// The workers (taken when the session finishes).
    pool: Option<Pool>,
    /// Options of the call loop.
    pub options: RunOptions,
    log: PathBuf,
    default_log: bool,
    /// The program and its arguments.
    pub command: Vec<String>,
}

impl Session {
    /// Opens the log and sets up `--workers` slots (processes start on first call).
    pub fn start(run: &RunArgs, quiet: bool) -> Result<Session, Failure> {
        // From here on Ctrl-C stops the workers and exits with 130 (other subcommands
        // keep the default: the process ends at once).
        crate::workers::install_interrupt_handler();
        let default_log = run.log.is_none();
        let log = run
            .log
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join(format!("jacsense-workers-{}.log", std::process::id())));
        let file: File = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| input_error!("cannot open the worker log {}: {e}", log.display()))?;
        let workers = run.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        if workers == 0 {
            return Err(input_error!("--workers 0: at least one worker is needed"));
        }
        if workers > MAX_WORKERS {
            return Err(input_error!("--workers {workers}: at most {MAX_WORKERS} worker processes"));
        }
        if run.max_failures == 0 {
            return Err(input_error!("--max-failures 0: at least one failure must be allowed to stop"));
        }
        let (program, args) = run.command.split_first().ok_or_else(|| input_error!("no program given after --"))?;
        let program = Program {
            program: program.clone(),
            args: args.to_vec(),
            per_call: run.per_call,
            timeout: run.timeout,
            request: run.request_format,
        };
        let options = RunOptions {
            max_failures: run.max_failures,
            progress: !quiet && std::io::stderr().is_terminal(),
            log: log.display().to_string(),
            label: String::new(),
        };
        Ok(Session {
            pool: Some(Pool::new(program, workers, file)),
            options,
            log,
            default_log,
            command: run.command.clone(),
        })
    }

    /// The call at `x0` that tells `m` (any answer length is accepted).
    pub fn call_x0(&self, x0: &[f64]) -> Result<Outcome, Failure> {
        let mut outcome = None;
        let quiet = RunOptions { progress: false, ..self.options.clone() };
        self.pool().prestart();
        run_calls(self.pool(), &[0], x0.len(), None, &|_, x| x.copy_from_slice(x0), &quiet, |_, o| outcome = Some(o))?;
        Ok(outcome.expect("one call was made"))
    }

    /// Learns `m` from the answer at `x0`; a failed call stops the run (exit code 2).
    pub fn learn_m(&self, x0: &[f64]) -> Result<Vec<f64>, Failure> {
        self.call_x0(x0)?.map_err(|reason| {
            Failure::Blackbox(format!(
                "the call at x0 failed, so the number of outputs m is unknown: {reason}. The workers' stderr is in {}",
                self.log.display()
            ))
        })
    }

    /// Sets what the progress bar says before its counts (the round of a session).
    pub fn set_label(&mut self, label: String) {
        self.options.label = label;
    }

    /// Runs `calls` with answers of length `m`.
    pub fn run(
        &self,
        calls: &[usize],
        n: usize,
        m: usize,
        point: &(dyn Fn(usize, &mut [f64]) + Sync),
        sink: impl FnMut(usize, Outcome),
    ) -> Result<RunStats, Failure> {
        run_calls(self.pool(), calls, n, Some(m), point, &self.options, sink)
    }

    /// Runs the rounds of `sensing` on the workers until it is done, adding their call
    /// and decode times to `timing`. `f0`, the answer at `x0` that told `m` when it was
    /// called, is call 0 of the first round for forward differences; otherwise it is one
    /// call beyond the session's. Returns those extra calls (0 or 1).
    pub fn run_rounds(
        &mut self,
        sensing: &mut jacsense::Session,
        f0: Option<&[f64]>,
        timing: &mut Timing,
    ) -> Result<usize, Failure> {
        let (mut first, mut extra_calls) = (0, 0);
        if let Some(y) = f0 {
            match sensing.ask().map(|plan| plan.settings().difference) {
                Some(Difference::Forward) => {
                    sensing.tell(0, y)?;
                    first = 1;
                }
                _ => extra_calls = 1,
            }
        }
        let (n, m) = sensing.structure().dims();
        while let Some(plan) = sensing.ask().cloned() {
            let round = sensing.round();
            self.set_label(if round > 0 { format!("round {} · ", round + 1) } else { String::new() });
            let calls: Vec<usize> = (std::mem::take(&mut first)..plan.calls()).collect();
            let point = |j: usize, x: &mut [f64]| plan.point(j, x).expect("call index and length are in range");
            let mut told = Vec::with_capacity(calls.len());
            // On a failure, dropping the workers stops them.
            let stats = self.run(&calls, n, m, &point, |j, outcome| told.push((j, outcome)))?;
            timing.calls += stats.seconds;
            for (j, outcome) in told {
                match outcome {
                    Ok(y) => sensing.tell(j, &y),
                    Err(reason) => sensing.erase(j, ErasureReason::Failed(reason)),
                }
                .expect("the call belongs to the round and has m values");
            }
            let decode_start = Instant::now();
            let progress = sensing.finish_round()?;
            timing.decode += decode_start.elapsed().as_secs_f64();
            if progress == Progress::Done {
                break;
            }
        }
        Ok(extra_calls)
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.pool().workers()
    }

    fn pool(&self) -> &Pool {
        self.pool.as_ref().expect("the pool lives until the session finishes")
    }

    /// Stops the workers; returns the log's path when it holds anything (an empty
    /// default log is removed).
    pub fn finish(mut self) -> Option<PathBuf> {
        self.stop();
        let empty = std::fs::metadata(&self.log).map_or(true, |m| m.len() == 0);
        (!empty).then(|| self.log.clone())
    }

    fn stop(&mut self) {
        drop(self.pool.take());
        let empty = std::fs::metadata(&self.log).map_or(true, |m| m.len() == 0);
        if empty && self.default_log {
            let _ = std::fs::remove_file(&self.log);
        }
    }

    /// The log's path.
    pub fn log(&self) -> &std::path::Path {
        &self.log
    }
}

impl Drop for Session {
    /// Stops the workers and removes an empty default log, also on early returns.
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert!(parse_duration("5 fortnights").is_err());
        assert!(parse_duration("-1s").is_err());
        assert_eq!(parse_duration("1e3s").unwrap(), Duration::from_secs(1000));
        assert_eq!(parse_duration("365d").unwrap_err(), "unknown unit 'd' in '365d' (use ms, s, m or h)");
    }

    /// These panicked in `Duration::from_secs_f64` (issue 9) or would overflow the
    /// deadline `Instant + Duration`; every one is an error naming the value.
    #[test]
    fn huge_and_non_finite_durations_are_errors() {
        for s in [
            "100000000000000000000s",
            "1e300",
            "inf",
            "infs",
            "NaN",
            "nan ms",
            "-inf",
            "-0",
            "0ms",
            "1e-12s",
            "",
            "s",
            "1e",
        ] {
            let e = parse_duration(s).unwrap_err();
            assert!(e.contains(&format!("'{s}'")) || e.contains(&format!("'{}'", s.trim())), "{s}: {e}");
        }
        assert!(parse_duration("8760h").is_ok());
        assert!(parse_duration("8761h").unwrap_err().contains("at most a year"));
    }
}
