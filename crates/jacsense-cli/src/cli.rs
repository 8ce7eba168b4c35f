//! The command line: subcommands, their `--help` with an example each, and dispatch.

use clap::{Parser, Subcommand};

use crate::asktell::{AskArgs, TellArgs};
use crate::color::ColorArgs;
use crate::demo::DemoArgs;
use crate::error::Failure;
use crate::estimate::EstimateArgs;
use crate::plan::PlanArgs;
use crate::vjp::VjpArgs;

const EXIT_CODES: &str = "\
Exit codes (3 to 6: the result was written; the summary and the report's \"status\" say
which rows and why):
  0    solved: every row of J (every entry of w) determined, well conditioned and
       converged; also when unverified (no redundancy to check for garbage calls) and
       --outliers was not given: the summary then warns
  1    bad input: options, files, numbers (the message names the file, line and value),
       or a program that cannot be started
  2    the blackbox failed: --max-failures calls in a row, or the call at x0 that tells m
  3    incomplete: some rows undetermined (NaN)
  4    solver limit: an iterative solver (L1, basis pursuit) stopped before its optimum
  5    ill-conditioned: some rows' condition number implies an error beyond
       --condition-tolerance
  6    unverified although --outliers was given: some rows had no redundancy left
       (e.g. after erasures) to find garbage calls
  7    tell: the session needs another round; its points were written beside the
       first (points-R.txt) and the summary says how many
  130  interrupted (Ctrl-C): workers stopped, nothing written";

const ESTIMATE_HELP: &str = "\
Worker protocol: each request is one line on the program's stdin with the n inputs
separated by spaces (shortest round-trip form, e.g. 0.1 or 1e-300); the program answers
each line with one line of m numbers on stdout (whitespace, commas or a JSON array), in
order, and flushes. stderr goes to the log. With --per-call the program gets one line
and must print its answer and exit with status 0. JACSENSE_WORKER holds the worker index
(and JACSENSE_CALL the call index with --per-call). A call that crashes, hangs past
--timeout, closes its output, or answers the wrong count or a non-number is an erasure
(reported with its index and reason) and its worker is restarted.

Example:
  jacsense estimate --x0 @x0.npy --pattern J.mtx --workers 4 --timeout 30s \\
      --output J.mtx --report report.json -- python3 model.py

Without --pattern (nothing known), the calls go in rounds: random directions until every
row of J is recovered and checked by calls held back from its fit (--max-calls bounds
them; --tol adds calls until the standard errors meet it). The summary and the report's
\"rounds\" say what each round called, why, and what it showed.

Exit codes: 0 solved (or unverified without --outliers), 1 bad input, 2 blackbox failures,
3 incomplete, 4 solver limit, 5 ill-conditioned, 6 unverified with --outliers, 130 interrupted.";

/// Jacobians of blackbox programs from few calls.
#[derive(Parser, Debug)]
#[command(
    name = "jacsense",
    version,
    about = "Jacobians of blackbox programs from few calls (Jacobian sensing: colorings, random designs, L1 decoding)",
    after_help = EXIT_CODES,
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Estimate the Jacobian of a program at x0 (its workers speak one line per call).
    #[command(after_help = ESTIMATE_HELP)]
    Estimate(EstimateArgs),
    /// The left action w = Jᵀv (backpropagation through a program) for an upstream v.
    #[command(after_help = "Example:\n  jacsense vjp --x0 @x0.npy --v @v.npy --output w.npy -- ./layer\n")]
    Vjp(VjpArgs),
    /// Write the points to evaluate and a plan file (for a cluster scheduler).
    #[command(after_help = concat!(
        "Example:\n  jacsense ask --x0 @x0.npy --pattern J.mtx --out run1\n",
        "  ./program < run1/points.txt > values.txt   # line j+1: the m numbers of call j\n",
        "  jacsense tell run1 --values values.txt --output J.mtx\n"
    ))]
    Ask(AskArgs),
    /// Decode J from the values of the points written by `ask`.
    #[command(after_help = concat!(
        "Values, one of:\n",
        "  - a text file in call order: line j+1 holds the m numbers of call j (as\n",
        "    'program < points.txt > values.txt' writes them), exactly one line per call,\n",
        "    a blank line or 'nan' for a call without a value;\n",
        "  - a text file of lines 'CALL y1 ... ym' in any order (CALL = 0-based index = line\n",
        "    number - 1 of points.txt);\n",
        "  - a .npy array of shape (calls, m) with NaN rows for missing calls;\n",
        "  - a directory of files named CALL or CALL.txt holding the m numbers.\n",
        "In text files numbers are separated by whitespace or commas, and '#' starts a comment\n",
        "(a comment-only line is not a call). Missing calls are erasures.\n",
        "--values-format auto (the default) reads lines of m numbers as call order and lines\n",
        "of an index and m numbers as indexed, and refuses a file holding both kinds of line:\n",
        "then say which with --values-format ordered or --values-format indexed.\n\n",
        "Example:\n  jacsense tell run1 --values values.txt --output J.mtx --report report.json\n"
    ))]
    Tell(TellArgs),
    /// Color the columns (or rows, or a star coloring) of a pattern: orderings, colors, validity, time.
    #[command(after_help = concat!(
        "With --ordering all (the default) the last row is the coloring the planner uses: the best\n",
        "ordering recolored by iterated greedy, which can need fewer colors than every ordering.\n\n",
        "Example:\n  jacsense color J.mtx --ordering all --output colors.json\n"
    ))]
    Color(ColorArgs),
    /// Print the planned design, decoder, number of calls and lower bound, without calling anything.
    #[command(after_help = "Example:\n  jacsense plan --pattern J.mtx --outliers 0.1\n")]
    Plan(PlanArgs),
    /// Run the built-in demo: the 2D Bratu residual on a grid, and a corrupted-calls case.
    #[command(after_help = "Example:\n  jacsense demo            # n = m = 10,000, a few seconds\n")]
    Demo(DemoArgs),
}

/// Runs the command; returns the exit code on success or the failure.
pub fn run(cli: &Cli) -> Result<u8, Failure> {
    match &cli.command {
        Command::Estimate(args) => crate::estimate::estimate(args),
        Command::Vjp(args) => crate::vjp::vjp(args),
        Command::Ask(args) => crate::asktell::ask(args),
        Command::Tell(args) => crate::asktell::tell(args),
        Command::Color(args) => crate::color::color(args),
        Command::Plan(args) => crate::plan::plan(args),
        Command::Demo(args) => crate::demo::demo(args),
    }
}
