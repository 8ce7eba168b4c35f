//! `jacsense color`: colorings of a pattern alone — per ordering, the number of
//! colors, whether the coloring is valid (checked independently), and the time.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use jacsense::coloring::{
    check_column_coloring, check_row_coloring, check_star_coloring, color_columns, color_rows, color_star, lower_bound,
};
use jacsense::{Coloring, Ordering, Structure};
use serde_json::json;

use crate::error::{EXIT_OK, Failure};
use crate::formats::{Format, read_pattern, write_npy_rows};
use crate::input_error;

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
    /// dynamic-largest-first) or `all`.
    #[arg(long, value_name = "NAME", default_value = "all")]
    pub ordering: String,
    /// What to color.
    #[arg(long, value_enum, default_value_t)]
    pub kind: Kind,
    /// Write the coloring with the fewest colors: .json {"ordering", "colors"},
    /// .npy (int64), or text (one color per line), or `-` for JSON on stdout instead
    /// of the table.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `jacsense color`: prints a table on stdout (unless `--output -`).
pub fn color(args: &ColorArgs) -> Result<u8, Failure> {
    let mut pattern = read_pattern(&args.pattern)?;
    if args.kind == Kind::Star {
        pattern = Structure::symmetric(pattern)?.pattern().clone();
    }
    let orderings: Vec<Ordering> =
        if args.ordering == "all" { Ordering::ALL.to_vec() } else { vec![args.ordering.parse()?] };
    let bound = match args.kind {
        Kind::Row => lower_bound(&pattern.transpose()),
        _ => lower_bound(&pattern),
    };
    let mut rows = Vec::new();
    let mut best: Option<(Ordering, Coloring)> = None;
    for ordering in orderings {
        let start = Instant::now();
        let coloring = match args.kind {
            Kind::Column => color_columns(&pattern, ordering),
            Kind::Row => color_rows(&pattern, ordering),
            Kind::Star => color_star(&pattern, ordering)?.coloring().clone(),
        };
        let seconds = start.elapsed().as_secs_f64();
        let check = match args.kind {
            Kind::Column => check_column_coloring(&pattern, &coloring),
            Kind::Row => check_row_coloring(&pattern, &coloring),
            Kind::Star => check_star_coloring(&pattern, &coloring),
        };
        let valid = match &check {
            Ok(()) => "yes".to_string(),
            Err(e) => format!("NO: {e}"),
        };
        rows.push((ordering, coloring.num_colors(), valid, seconds));
        if check.is_ok() && best.as_ref().is_none_or(|(_, b)| coloring.num_colors() < b.num_colors()) {
            best = Some((ordering, coloring));
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
        let (ordering, coloring) = best.as_ref().ok_or_else(|| input_error!("no valid coloring to write"))?;
        let colors = coloring.colors();
        let value = json!({ "kind": format!("{:?}", args.kind).to_lowercase(), "ordering": ordering.name(),
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
