//! External programs as blackboxes: the worker protocol, faults, and the parallel loop
//! that hands calls to workers.
//!
//! Protocol. A long-lived worker reads one request per line on stdin — the `n` input
//! numbers separated by spaces (or commas, or as a JSON array: [`RequestFormat`]), each
//! in the shortest form that reads back to the same `f64` — and answers each with one line of `m` numbers on stdout, in order
//! (separated by whitespace or commas, optionally as a JSON array). In per-call mode
//! the program is started once per call, gets the one line on stdin (then end of
//! input) and prints the `m` numbers before it exits with status 0. The environment
//! variable `JACSENSE_WORKER` holds the worker's index, and in per-call mode
//! `JACSENSE_CALL` the call's.
//!
//! Faults. A worker that exits or closes its output before answering, does not answer
//! within the per-call timeout, or answers with the wrong count or a non-number fails
//! that call (an erasure, with the reason); it is killed — with its whole process
//! group, so helpers it started die too — and restarted for the next call. After
//! `max_failures` failed calls in a row, or on Ctrl-C, every worker is killed and the
//! loop stops. Workers' stderr goes to a log file, with a line from jacsense for every
//! fault.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::Failure;
use crate::formats::{PointWriter, parse_numbers};

/// Set by the Ctrl-C handler; every loop checks it.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// How to run the program.
#[derive(Clone, Debug)]
pub struct Program {
    /// The executable.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Start the program once per call instead of keeping workers alive.
    pub per_call: bool,
    /// The most a call may take; `None` waits forever.
    pub timeout: Option<Duration>,
    /// How a request line separates the numbers.
    pub request: RequestFormat,
}

/// How a request line is written (`--request-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RequestFormat {
    /// `0.5 -1 2e-9` (split on whitespace).
    #[default]
    Spaces,
    /// `0.5,-1,2e-9` (a CSV line).
    Commas,
    /// `[0.5,-1,2e-9]` (a JSON array).
    Json,
}

/// The outcome of one call: the `m` numbers, or why the call failed.
pub type Outcome = Result<Vec<f64>, String>;

enum CallFault {
    /// The call failed; the worker is restarted for the next call.
    Failed(String),
    /// The program cannot be started at all.
    Fatal(String),
}

/// A long-lived worker: the process, a thread feeding its stdin and a thread reading
/// its stdout, so that every wait can have a deadline.
struct Worker {
    child: Child,
    requests: Option<Sender<String>>,
    answers: Receiver<Option<String>>,
}

/// `W` worker slots for one program, and the log their stderr goes to.
pub struct Pool {
    program: Program,
    slots: Vec<Mutex<Option<Worker>>>,
    log: Mutex<File>,
    /// Process ids (= process group ids) of every running process, so that a stop can
    /// kill them from another thread.
    live: Mutex<HashSet<u32>>,
    stop: AtomicBool,
}

impl Pool {
    /// A pool of `workers` slots; processes start on first use. Their stderr is
    /// appended to `log`.
    pub fn new(program: Program, workers: usize, log: File) -> Pool {
        Pool {
            program,
            slots: (0..workers.max(1)).map(|_| Mutex::new(None)).collect(),
            log: Mutex::new(log),
            live: Mutex::new(HashSet::new()),
            stop: AtomicBool::new(false),
        }
    }

    /// Number of worker slots.
    pub fn workers(&self) -> usize {
        self.slots.len()
    }

    fn note(&self, message: &str) {
        if let Ok(mut log) = self.log.lock() {
            let _ = writeln!(log, "jacsense: {message}");
        }
    }

    fn command(&self, slot: usize) -> Result<Command, CallFault> {
        let stderr = self
            .log
            .lock()
            .map_err(|_| CallFault::Fatal("the log file lock is poisoned".into()))?
            .try_clone()
            .map_err(|e| CallFault::Fatal(format!("cannot share the log file with a worker: {e}")))?;
        let mut command = Command::new(&self.program.program);
        command
            .args(&self.program.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .env("JACSENSE_WORKER", slot.to_string());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // Its own process group: Ctrl-C reaches jacsense only, which stops the
            // workers itself, and a kill takes the program's children with it.
            command.process_group(0);
        }
        Ok(command)
    }

    fn spawn(&self, command: &mut Command) -> Result<Child, CallFault> {
        if self.stop.load(Ordering::SeqCst) {
            return Err(CallFault::Failed("stopped".into()));
        }
        let child =
            command.spawn().map_err(|e| CallFault::Fatal(format!("cannot start '{}': {e}", self.program.program)))?;
        self.live.lock().expect("live set").insert(child.id());
        Ok(child)
    }

    fn kill(&self, child: &mut Child) {
        self.live.lock().expect("live set").remove(&child.id());
        kill_group(child.id());
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Kills every running process (a stop: too many failures, or Ctrl-C).
    fn kill_all(&self) {
        self.stop.store(true, Ordering::SeqCst);
        for pid in self.live.lock().expect("live set").iter() {
            kill_group(*pid);
        }
    }

    /// The request line of the point `x`.
    fn request(&self, x: &[f64], writer: &mut PointWriter) -> String {
        let mut line = String::with_capacity(x.len() * 24 + 3);
        if self.program.request == RequestFormat::Json {
            line.push('[');
        }
        writer.write(&mut line, x);
        if self.program.request != RequestFormat::Spaces {
            line = line.replace(' ', ",");
        }
        if self.program.request == RequestFormat::Json {
            line.push(']');
        }
        line.push('\n');
        line
    }

    /// Sends a request to slot `slot`'s persistent worker, starting one if none runs.
    /// A worker that died takes the request with it: its answer then fails.
    fn send(&self, slot: usize, line: String) -> Result<(), CallFault> {
        let mut worker = self.slots[slot].lock().expect("one thread per slot");
        if worker.is_none() {
            *worker = Some(self.start_worker(slot)?);
        }
        if let Some(requests) = &worker.as_ref().expect("started above").requests {
            let _ = requests.send(line);
        }
        Ok(())
    }

    /// The answer to the oldest request sent to slot `slot`'s worker, within the
    /// timeout (counted from now: a request sent ahead starts when the one before it is
    /// answered). A failed answer kills the worker, and every request sent after it is
    /// lost with it.
    fn receive(&self, slot: usize, call: usize, m: Option<usize>) -> Result<Vec<f64>, CallFault> {
        let mut guard = self.slots[slot].lock().expect("one thread per slot");
        let Some(w) = guard.as_mut() else {
            return Err(CallFault::Failed("the worker was stopped".into()));
        };
        let answer = match self.program.timeout {
            Some(t) => w.answers.recv_timeout(t),
            None => w.answers.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let result = match answer {
            Ok(Some(text)) => parse_answer(&text, m),
            Ok(None) | Err(RecvTimeoutError::Disconnected) => {
                Err(format!("the worker {} before answering", ended(&mut w.child)))
            }
            Err(RecvTimeoutError::Timeout) => Err(format!("no answer within {}", show_duration(self.timeout()))),
        };
        result.map_err(|reason| {
            let mut dead = guard.take().expect("present");
            self.kill(&mut dead.child);
            self.note(&format!("call {call} (worker {slot}) failed: {reason}"));
            CallFault::Failed(reason)
        })
    }

    /// One call on slot `slot` in per-call mode. `m: None` accepts any count (the call
    /// at `x0` that tells `m`).
    fn call_per_call(&self, slot: usize, call: usize, line: String, m: Option<usize>) -> Result<Vec<f64>, CallFault> {
        let result = self.call_once(slot, call, line, m);
        if let Err(CallFault::Failed(reason)) = &result {
            self.note(&format!("call {call} (worker {slot}) failed: {reason}"));
        }
        result
    }

    /// Starts every persistent worker not yet running, so that their programs start
    /// together while the first call runs rather than one after another. A worker that
    /// cannot start is left to its first call, which reports why.
    pub fn prestart(&self) {
        if self.program.per_call {
            return;
        }
        for (slot, worker) in self.slots.iter().enumerate() {
            let mut worker = worker.lock().expect("one thread per slot");
            if worker.is_none() {
                *worker = self.start_worker(slot).ok();
            }
        }
    }

    fn start_worker(&self, slot: usize) -> Result<Worker, CallFault> {
        let mut child = self.spawn(&mut self.command(slot)?)?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let (requests, to_write) = mpsc::channel::<String>();
        let (answered, answers) = mpsc::channel();
        thread::spawn(move || feed(stdin, to_write));
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        let _ = answered.send(None);
                        return;
                    }
                    Ok(_) => {
                        if answered.send(Some(line)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Ok(Worker { child, requests: Some(requests), answers })
    }

    fn call_once(&self, slot: usize, call: usize, line: String, m: Option<usize>) -> Result<Vec<f64>, CallFault> {
        let start = Instant::now();
        let mut command = self.command(slot)?;
        command.env("JACSENSE_CALL", call.to_string());
        let mut child = self.spawn(&mut command)?;
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = child.stdout.take().expect("piped");
        thread::spawn(move || {
            let mut stdin = stdin;
            let _ = stdin.write_all(line.as_bytes());
        });
        let (done, output) = mpsc::channel();
        thread::spawn(move || {
            let mut text = String::new();
            let _ = done.send(stdout.read_to_string(&mut text).map(|_| text));
        });
        // No deadline when it would overflow an Instant (a timeout of centuries).
        let deadline = self.program.timeout.and_then(|t| start.checked_add(t));
        let text = match deadline {
            Some(d) => output.recv_timeout(d.saturating_duration_since(Instant::now())),
            None => output.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let result = match text {
            Err(RecvTimeoutError::Timeout) => Err(format!("no answer within {}", show_duration(self.timeout()))),
            Err(RecvTimeoutError::Disconnected) | Ok(Err(_)) => Err("its output could not be read".to_string()),
            Ok(Ok(text)) => match wait_until(&mut child, deadline) {
                None => Err(format!("it did not exit within {}", show_duration(self.timeout()))),
                Some(status) if !status.success() => Err(format!("the program {}", describe(status))),
                Some(_) => parse_answer(&text, m),
            },
        };
        self.kill(&mut child);
        result.map_err(CallFault::Failed)
    }

    fn timeout(&self) -> Duration {
        self.program.timeout.unwrap_or(Duration::MAX)
    }
}

impl Pool {
    /// Closes every persistent worker's input, so that the workers end (a well-behaved
    /// worker exits at end of input) while jacsense decodes and writes; dropping the
    /// pool then waits for them. The pool makes no more calls.
    pub fn release(&self) {
        self.stop.store(true, Ordering::SeqCst);
        for slot in &self.slots {
            if let Ok(mut worker) = slot.lock()
                && let Some(w) = worker.as_mut()
            {
                w.requests = None;
            }
        }
    }
}

impl Drop for Pool {
    /// Closes every worker's input (a well-behaved worker exits at end of input), gives
    /// them a moment, then kills what is left.
    fn drop(&mut self) {
        let mut workers: Vec<Worker> = self.slots.iter_mut().filter_map(|s| s.get_mut().ok()?.take()).collect();
        for w in &mut workers {
            w.requests = None;
        }
        let deadline = Instant::now() + Duration::from_millis(500);
        for w in &mut workers {
            wait_until(&mut w.child, Some(deadline));
            self.kill(&mut w.child);
        }
    }
}

fn feed(mut stdin: ChildStdin, lines: Receiver<String>) {
    for line in lines {
        if stdin.write_all(line.as_bytes()).and_then(|()| stdin.flush()).is_err() {
            return;
        }
    }
}

fn parse_answer(text: &str, m: Option<usize>) -> Result<Vec<f64>, String> {
    let y = parse_numbers(text).map_err(|(i, token)| {
        let token: String = token.chars().take(40).collect();
        format!("answer entry {i} is '{token}', not a number")
    })?;
    match m {
        Some(m) if y.len() != m => Err(format!("answered {} numbers, expected m = {m}", y.len())),
        _ => Ok(y),
    }
}

/// How a process that stopped answering ended: "exited with status 3", "was killed by
/// signal 11", or "closed its output" when it is still running.
fn ended(child: &mut Child) -> String {
    match wait_until(child, Some(Instant::now() + Duration::from_millis(100))) {
        Some(status) => describe(status),
        None => "closed its output".to_string(),
    }
}

fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => "exited".to_string(),
    }
}

fn wait_until(child: &mut Child, deadline: Option<Instant>) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(_) => return None,
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        thread::sleep(Duration::from_micros(500));
    }
}

fn kill_group(pid: u32) {
    #[cfg(unix)]
    // SAFETY: kill(2) with a negative pid signals a process group; it touches no memory.
    unsafe {
        libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// A duration as people write it: `500 ms`, `2 s`, `1.5 s`.
pub fn show_duration(d: Duration) -> String {
    if d == Duration::MAX {
        "forever".into()
    } else if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} s", d.as_secs_f64())
    }
}

/// How the loop went.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    /// Calls made.
    pub calls: usize,
    /// Calls that failed (including answers with NaN or infinite values).
    pub failed: usize,
    /// Wall time of the loop.
    pub seconds: f64,
}

/// What the loop needs besides the pool.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Stop after this many failed calls in a row.
    pub max_failures: usize,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// The worker log, named in messages.
    pub log: String,
    /// What the progress bar says before its counts (e.g. "round 2").
    pub label: String,
}

/// A call answered within this is quick: its worker gets the next request ahead.
const QUICK_CALL: Duration = Duration::from_millis(20);

/// Runs the calls `calls` (indices) through the pool, `W` at a time: `point(j, x)`
/// writes the input of call `j`, `m` is the expected answer length (`None`: any), and
/// `sink(j, outcome)` receives every outcome on the calling thread, in completion order.
///
/// Errors: too many failures in a row, a program that cannot be started, Ctrl-C; every
/// worker is killed first.
pub fn run_calls(
    pool: &Pool,
    calls: &[usize],
    n: usize,
    m: Option<usize>,
    point: &(dyn Fn(usize, &mut [f64]) + Sync),
    options: &RunOptions,
    mut sink: impl FnMut(usize, Outcome),
) -> Result<RunStats, Failure> {
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let bar = progress_bar(options.progress, calls.len(), &options.label);
    let (report, results) = mpsc::channel::<(usize, Result<Vec<f64>, CallFault>)>();
    let threads = pool.workers().min(calls.len());
    let mut stats = RunStats::default();
    let stopped = thread::scope(|scope| {
        for slot in 0..threads {
            let report = report.clone();
            let next = &next;
            scope.spawn(move || {
                let mut x = vec![0.0; n];
                let mut writer = PointWriter::default();
                // Calls sent to this slot's worker and not yet answered, with their lines.
                let mut sent: VecDeque<(usize, String)> = VecDeque::new();
                let mut quick = false;
                while !pool.stop.load(Ordering::SeqCst) {
                    // A persistent worker whose calls are quick gets the next request
                    // before it answers the last, so that it never waits for jacsense
                    // between calls (a slow call is not held behind another).
                    let depth = if quick && !pool.program.per_call { 2 } else { 1 };
                    while sent.len() < depth {
                        let Some(&call) = calls.get(next.fetch_add(1, Ordering::SeqCst)) else { break };
                        point(call, &mut x);
                        let line = pool.request(&x, &mut writer);
                        if !pool.program.per_call
                            && let Err(fault) = pool.send(slot, line.clone())
                        {
                            let _ = report.send((call, Err(fault)));
                            return;
                        }
                        sent.push_back((call, line));
                    }
                    let Some((call, line)) = sent.pop_front() else { return };
                    let waited = Instant::now();
                    let outcome = if pool.program.per_call {
                        pool.call_per_call(slot, call, line, m)
                    } else {
                        pool.receive(slot, call, m)
                    };
                    quick = waited.elapsed() < QUICK_CALL;
                    if outcome.is_err() {
                        // The worker was killed with the requests sent after this one:
                        // they go to its successor.
                        for (_, line) in &sent {
                            if let Err(fault) = pool.send(slot, line.clone()) {
                                let _ = report.send((call, Err(fault)));
                                return;
                            }
                        }
                    }
                    if report.send((call, outcome)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(report);
        let mut in_a_row = 0usize;
        let mut stopped: Option<Failure> = None;
        loop {
            if INTERRUPTED.load(Ordering::SeqCst) && stopped.is_none() {
                pool.kill_all();
                stopped = Some(Failure::Interrupted(format!(
                    "Ctrl-C after {} of {} calls; the workers were stopped and nothing was written",
                    stats.calls,
                    calls.len()
                )));
            }
            let (call, outcome) = match results.recv_timeout(Duration::from_millis(50)) {
                Ok(r) => r,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if stopped.is_some() {
                continue;
            }
            stats.calls += 1;
            let outcome = match outcome {
                Ok(y) => Ok(y),
                Err(CallFault::Failed(reason)) => Err(reason),
                Err(CallFault::Fatal(reason)) => {
                    pool.kill_all();
                    stopped = Some(Failure::Input(reason));
                    continue;
                }
            };
            let failed = outcome.as_ref().map_or(true, |y| y.iter().any(|v| !v.is_finite()));
            if failed {
                stats.failed += 1;
                in_a_row += 1;
            } else {
                in_a_row = 0;
            }
            let last = match &outcome {
                Err(reason) => reason.clone(),
                Ok(_) => "a NaN or infinite output".into(),
            };
            if failed && outcome.is_ok() {
                pool.note(&format!("call {call} answered {last}"));
            }
            sink(call, outcome);
            bar.set_position(stats.calls as u64);
            bar.set_message(format!("{}{} erasures", options.label, stats.failed));
            if failed && in_a_row >= options.max_failures {
                pool.kill_all();
                stopped = Some(Failure::Blackbox(format!(
                    "stopped after {in_a_row} failed calls in a row (--max-failures {}); the last, call {call}: {last}. \
                     The workers' stderr is in {}",
                    options.max_failures, options.log
                )));
            }
        }
        stopped
    });
    bar.finish_and_clear();
    pool.stop.store(false, Ordering::SeqCst);
    stats.seconds = start.elapsed().as_secs_f64();
    match stopped {
        Some(failure) => Err(failure),
        None => Ok(stats),
    }
}

fn progress_bar(draw: bool, len: usize, label: &str) -> ProgressBar {
    if !draw {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} calls · {msg} · {elapsed} elapsed · ETA {eta}")
            .expect("a valid template"),
    );
    bar.set_message(format!("{label}0 erasures"));
    bar
}

/// `Err(Interrupted)` when Ctrl-C was pressed (checked before results are written).
pub fn check_interrupted() -> Result<(), Failure> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Err(Failure::Interrupted("Ctrl-C after the calls; nothing was written".into()));
    }
    Ok(())
}

/// Installs the Ctrl-C handler that sets [`INTERRUPTED`].
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
}
