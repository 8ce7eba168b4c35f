//! `jacsense color`: colorings of a pattern alone — per ordering, the number of
//! colors, whether the coloring is valid (checked independently), and the time.
//!
//! With every ordering (`--ordering all`, the default) a last row gives the coloring
//! the planner uses, [`best_column_coloring`]: the best ordering improved by iterated
//! greedy recoloring, which can beat every ordering. So `color` reports the χ that
//! `plan` does, and writes that coloring; with one `--ordering`, both use the greedy
//! coloring of that ordering alone. Rows are colored as the columns of the transpose;
//! the planner's star coloring is the best ordering's, so star gets no extra row.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use jacsense::Structure;
use jacsense::coloring::{Coloring, Ordering};
use jacsense::coloring::{
    best_column_coloring, check_column_coloring, check_row_coloring, check_star_coloring, color_columns, color_rows,
    color_star, lower_bound, search_columns,
};
use serde_json::json;

use crate::error::{EXIT_OK, Failure};
use crate::formats::{Format, read_pattern, write_npy_rows};
use crate::input_error;
use crate::options::parse_coloring_search;

/// What to color (`--kind`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Columns (partial distance-2): one call per color gives J (forward differences).
    #[default]
    Column,
    /// Rows: one adjoint product per color gives J (reverse mode).
    Row,
    /// Star coloring of a symmetric pattern (made symmetric first): Hessians.
    Star,
}

/// `jacsense color`.
#[derive(Args, Clone, Debug)]
pub struct ColorArgs {
    /// The pattern (.mtx, .npy, .json, .csv).
    #[arg(value_name = "FILE")]
    pub pattern: PathBuf,
    /// An ordering (natural, largest-first, smallest-last, incidence-degree,
    /// dynamic-largest-first), or `all`: every ordering, then the best one recolored by
    /// iterated greedy, the coloring `jacsense plan` uses (column and row kinds).
    #[arg(long, value_name = "NAME", default_value = "all")]
    pub ordering: String,
    /// What to color.
    #[arg(long, value_enum, default_value_t)]
    pub kind: Kind,
    /// Write the coloring with the fewest colors (the recolored one when it has fewer):
    /// .json {"kind", "ordering", "recolored", "num_colors", "colors"},
    /// .npy (int64), or text (one color per line), or `-` for JSON on stdout instead
    /// of the table.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The local search after recoloring (column and row kinds, with `--ordering all`):
    /// `auto` (a tenth of what the calls it can save cost, from --call-time; without
    /// it 100000 + 2n moves), `off`, SECONDS (`2.5`) or N moves (`50000moves`).
    #[arg(long, value_name = "auto|off|SECONDS|Nmoves", default_value = "auto")]
    pub coloring_search: String,
    /// Seconds one call of the blackbox takes, for the `auto` search budget.
    #[arg(long, value_name = "SECONDS")]
    pub call_time: Option<f64>,
    /// Seed of the local search.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Runs `jacsense color`: prints a table on stdout (unless `--output -`).
pub fn color(args: &ColorArgs) -> Result<u8, Failure> {
    let search = parse_coloring_search(&args.coloring_search)?;
    if let Some(t) = args.call_time
        && !(t.is_finite() && t >= 0.0)
    {
        return Err(input_error!("--call-time {t}: must be a finite, non-negative number of seconds"));
    }
    let mut pattern = read_pattern(&args.pattern)?;
    if args.kind == Kind::Star {
        pattern = Structure::symmetric(pattern)?.pattern().clone();
    }
    let all = args.ordering == "all";
    let orderings: Vec<Ordering> = if all { Ordering::ALL.to_vec() } else { vec![args.ordering.parse()?] };
    let bound = match args.kind {
        Kind::Row => lower_bound(&pattern.transpose()),
        _ => lower_bound(&pattern),
    };
    let check = |coloring: &Coloring| match args.kind {
        Kind::Column => check_column_coloring(&pattern, coloring),
        Kind::Row => check_row_coloring(&pattern, coloring),
        Kind::Star => check_star_coloring(&pattern, coloring),
    };
    let valid = |check: &jacsense::Result<()>| match check {
        Ok(()) => "yes".to_string(),
        Err(e) => format!("NO: {e}"),
    };
    // Per table row: what it is, colors, validity, seconds.
    let mut rows: Vec<(String, usize, String, f64)> = Vec::new();
    // The coloring to write: (ordering, how it was improved, coloring).
    let mut best: Option<(Ordering, &str, Coloring)> = None;
    for ordering in orderings {
        let start = Instant::now();
        let coloring = match args.kind {
            Kind::Column => color_columns(&pattern, ordering),
            Kind::Row => color_rows(&pattern, ordering),
            Kind::Star => color_star(&pattern, ordering)?.coloring().clone(),
        };
        let seconds = start.elapsed().as_secs_f64();
        let check = check(&coloring);
        rows.push((ordering.name().to_string(), coloring.num_colors(), valid(&check), seconds));
        if check.is_ok() && best.as_ref().is_none_or(|(_, _, b)| coloring.num_colors() < b.num_colors()) {
            best = Some((ordering, "greedy", coloring));
        }
    }
    if all && args.kind != Kind::Star {
        let start = Instant::now();
        let columns = match args.kind {
            Kind::Row => pattern.transpose(),
            _ => pattern.clone(),
        };
        let (ordering, coloring) = best_column_coloring(&columns);
        let seconds = start.elapsed().as_secs_f64();
        let check_recolored = check(&coloring);
        rows.push((
            format!("best + recolor (from {ordering})"),
            coloring.num_colors(),
            valid(&check_recolored),
            seconds,
        ));
        let limit = search.limit(columns.ncols(), coloring.num_colors(), bound, args.call_time, args.seed);
        if check_recolored.is_ok() && best.as_ref().is_none_or(|(_, _, b)| coloring.num_colors() < b.num_colors()) {
            best = Some((ordering, "recolored", coloring.clone()));
        }
        // Nothing to search when the recoloring is already at the lower bound.
        if let Some(limit) = limit.filter(|_| coloring.num_colors() > bound) {
            let out = search_columns(&columns, &coloring, limit);
            let check = check(&out.coloring);
            let what = format!("+ local search ({} moves{})", out.moves, if out.optimal { ", optimal" } else { "" });
            rows.push((what, out.coloring.num_colors(), valid(&check), out.elapsed.as_secs_f64()));
            if check.is_ok() && best.as_ref().is_none_or(|(_, _, b)| out.coloring.num_colors() < b.num_colors()) {
                best = Some((ordering, "searched", out.coloring));
            }
        }
    }
    let to_stdout = args.output.as_deref().is_some_and(|p| p.as_os_str() == "-");
    if !to_stdout {
        let mut out = std::io::stdout().lock();
        let kind = format!("{:?}", args.kind).to_lowercase();
        let _ = writeln!(
            out,
            "{kind} coloring of {} ({}×{}, {} entries); lower bound (most entries in one {}): {bound}\n",
            args.pattern.display(),
            pattern.nrows(),
            pattern.ncols(),
            pattern.nnz(),
            if args.kind == Kind::Row { "column" } else { "row" }
        );
        let _ = writeln!(out, "| ordering | colors | valid | time |\n|---|---|---|---|");
        for (o, colors, valid, seconds) in &rows {
            let _ = writeln!(out, "| {o} | {colors} | {valid} | {:.2} ms |", seconds * 1e3);
        }
    }
    if let Some(path) = &args.output {
        let (ordering, improved, coloring) = best.as_ref().ok_or_else(|| input_error!("no valid coloring to write"))?;
        let colors = coloring.colors();
        let value = json!({ "kind": format!("{:?}", args.kind).to_lowercase(), "ordering": ordering.name(),
            "recolored": *improved != "greedy", "searched": *improved == "searched",
            "num_colors": coloring.num_colors(), "colors": colors });
        let fail = |e: std::io::Error| input_error!("cannot write {}: {e}", path.display());
        if to_stdout {
            println!("{value}");
        } else {
            match Format::of(path) {
                Format::Json => std::fs::write(path, format!("{value}\n")).map_err(fail)?,
                Format::Npy => {
                    let as_f64: Vec<f64> = colors.iter().map(|&c| c as f64).collect();
                    let file = std::fs::File::create(path).map_err(fail)?;
                    write_npy_rows(std::io::BufWriter::new(file), path, &as_f64, &[as_f64.len() as u64])?;
                }
                _ => {
                    let text: String = colors.iter().map(|c| format!("{c}\n")).collect();
                    std::fs::write(path, text).map_err(fail)?;
                }
            }
        }
    }
    if best.is_none() {
        return Err(input_error!("no ordering gave a valid coloring (see the table)"));
    }
    Ok(EXIT_OK)
}
