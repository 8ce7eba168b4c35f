//! Matrix Market coordinate files (`pattern`, `real` and `integer` fields; `general`,
//! `symmetric` and `skew-symmetric` storage), as specified by NIST's
//! "The Matrix Market Exchange Formats: Initial Design" (Boisvert, Pozo, Remington, 1996).

use std::io::{BufRead, Write};

use rayon::prelude::*;

use super::{Pattern, check_dims};
use crate::error::{Error, Result};

/// The most entries reserved ahead from a size line: its count is only a claim, so
/// larger files grow their arrays as the entries arrive.
const RESERVE_AHEAD: usize = 1 << 16;

/// The field of a Matrix Market file: a pattern or real values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatrixMarketField {
    /// Entries without values.
    Pattern,
    /// Entries with real values (`integer` files read as real).
    Real,
}

fn mm_err(line: usize, message: impl Into<String>) -> Error {
    Error::MatrixMarket { line, message: message.into() }
}

/// Reads a Matrix Market coordinate file. Returns the pattern and, for `real` or
/// `integer` files, the values aligned with the pattern (duplicates summed). Symmetric
/// storage is expanded to both triangles.
///
/// ```
/// use jacsense::read_matrix_market;
/// let text = "%%MatrixMarket matrix coordinate real general\n% a comment\n2 3 2\n1 3 4.5\n2 1 -1\n";
/// let (pattern, values) = read_matrix_market(text.as_bytes())?;
/// assert_eq!(pattern.row(0), &[2]);
/// assert_eq!(values.unwrap(), vec![4.5, -1.0]);
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn read_matrix_market<R: BufRead>(reader: R) -> Result<(Pattern, Option<Vec<f64>>)> {
    let mut lines = reader.lines().enumerate().map(|(i, l)| (i + 1, l));
    let (_, header) = lines.next().ok_or_else(|| mm_err(0, "empty file"))?;
    let header = header?;
    let words: Vec<String> = header.split_whitespace().map(|w| w.to_ascii_lowercase()).collect();
    if words.len() != 5 || words[0] != "%%matrixmarket" || words[1] != "matrix" {
        return Err(mm_err(
            1,
            format!("expected '%%MatrixMarket matrix coordinate <field> <symmetry>', found '{header}'"),
        ));
    }
    if words[2] != "coordinate" {
        return Err(mm_err(1, format!("only 'coordinate' format is supported, found '{}'", words[2])));
    }
    let field = match words[3].as_str() {
        "pattern" => MatrixMarketField::Pattern,
        "real" | "integer" | "double" => MatrixMarketField::Real,
        other => return Err(mm_err(1, format!("unsupported field '{other}' (expected pattern, real or integer)"))),
    };
    #[derive(PartialEq)]
    enum Sym {
        General,
        Symmetric,
        Skew,
    }
    let sym = match words[4].as_str() {
        "general" => Sym::General,
        "symmetric" => Sym::Symmetric,
        "skew-symmetric" => Sym::Skew,
        other => return Err(mm_err(1, format!("unsupported symmetry '{other}'"))),
    };
    if sym == Sym::Skew && field == MatrixMarketField::Pattern {
        return Err(mm_err(1, "a skew-symmetric pattern has no meaning"));
    }

    let mut size: Option<(usize, usize, usize)> = None;
    let mut triplets: Vec<(usize, usize)> = Vec::new();
    let mut vals: Vec<f64> = Vec::new();
    // Entry lines read so far, checked against the size line as they arrive.
    let mut stored = 0usize;
    for (lineno, line) in lines {
        let line = line.map_err(|e| mm_err(lineno, e.to_string()))?;
        let t = line.trim();
        if t.is_empty() || t.starts_with('%') {
            continue;
        }
        let mut it = t.split_whitespace();
        let mut next_usize = |what: &str| -> Result<usize> {
            let w = it.next().ok_or_else(|| mm_err(lineno, format!("missing {what} in '{t}'")))?;
            w.parse::<usize>().map_err(|_| mm_err(lineno, format!("{what} '{w}' is not a non-negative integer")))
        };
        match size {
            None => {
                let r = next_usize("row count")?;
                let c = next_usize("column count")?;
                let nz = next_usize("entry count")?;
                // The header is a claim: its dimensions are checked against the
                // limits before they size the pattern, and its entry count (which may
                // exceed rows × cols: duplicates are summed) against the entries as
                // they arrive, which grow the arrays.
                check_dims(r, c).map_err(|e| mm_err(lineno, format!("size line '{t}': {e}")))?;
                size = Some((r, c, nz));
                triplets.reserve(nz.min(RESERVE_AHEAD));
                vals.reserve(nz.min(RESERVE_AHEAD));
            }
            Some((nr, nc, nz)) => {
                stored += 1;
                if stored > nz {
                    return Err(mm_err(lineno, format!("more entries than the {nz} the size line announces")));
                }
                let i = next_usize("row index")?;
                let j = next_usize("column index")?;
                if i == 0 || j == 0 || i > nr || j > nc {
                    return Err(mm_err(
                        lineno,
                        format!("entry ({i}, {j}) is outside a {nr}×{nc} matrix (indices are 1-based)"),
                    ));
                }
                let v = if field == MatrixMarketField::Real {
                    let w = it.next().ok_or_else(|| mm_err(lineno, format!("missing value in '{t}'")))?;
                    let v: f64 = w.parse().map_err(|_| mm_err(lineno, format!("value '{w}' is not a number")))?;
                    if !v.is_finite() {
                        return Err(mm_err(lineno, format!("value '{w}' is not finite")));
                    }
                    v
                } else {
                    1.0
                };
                triplets.push((i - 1, j - 1));
                vals.push(v);
                if sym != Sym::General && i != j {
                    triplets.push((j - 1, i - 1));
                    vals.push(if sym == Sym::Skew { -v } else { v });
                } else if sym == Sym::Skew && i == j {
                    return Err(mm_err(lineno, format!("skew-symmetric file has a diagonal entry ({i}, {j})")));
                }
            }
        }
    }
    let (nr, nc, nz) = size.ok_or_else(|| mm_err(0, "missing size line"))?;
    if stored != nz {
        return Err(mm_err(0, format!("size line announces {nz} entries but the file has {stored}")));
    }
    let pattern = Pattern::from_triplets(nr, nc, &triplets)?;
    let values = (field == MatrixMarketField::Real).then(|| {
        let mut v = vec![0.0; pattern.nnz()];
        for (&(i, j), &x) in triplets.iter().zip(&vals) {
            v[pattern.position(i, j).expect("entry is in the pattern built from it")] += x;
        }
        v
    });
    Ok((pattern, values))
}

/// Writes a pattern (with `values: None`) or a real matrix as a general Matrix Market
/// coordinate file. Values are written in shortest round-trip form (`0.1`, `1e-7`,
/// `NaN` for an undetermined entry).
///
/// ```
/// use jacsense::{read_matrix_market, write_matrix_market, Pattern};
/// let p = Pattern::banded(3, 3, 1, 0);
/// let mut buf = Vec::new();
/// write_matrix_market(&mut buf, &p, None)?;
/// let (q, values) = read_matrix_market(buf.as_slice())?;
/// assert_eq!(p, q);
/// assert!(values.is_none());
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn write_matrix_market<W: Write>(mut w: W, pattern: &Pattern, values: Option<&[f64]>) -> Result<()> {
    if let Some(v) = values
        && v.len() != pattern.nnz()
    {
        return Err(Error::DimensionMismatch { what: "number of values", expected: pattern.nnz(), found: v.len() });
    }
    let field = if values.is_some() { "real" } else { "pattern" };
    writeln!(w, "%%MatrixMarket matrix coordinate {field} general")?;
    writeln!(w, "{} {} {}", pattern.nrows(), pattern.ncols(), pattern.nnz())?;
    // Lines are assembled by hand into blocks of rows written whole: the formatting
    // machinery of `writeln!` and the standard float formatting took most of the time
    // of a million-entry J (ryu is about three times faster, with the same shortest
    // round-trip digits). The blocks of a batch are formatted in parallel and written in
    // order, so memory stays at a few blocks per thread.
    const BLOCK_ENTRIES: usize = 1 << 14;
    let mut blocks = vec![0];
    let mut entries = 0;
    for i in 0..pattern.nrows() {
        entries += pattern.row_range(i).len();
        if entries >= BLOCK_ENTRIES || i + 1 == pattern.nrows() {
            blocks.push(i + 1);
            entries = 0;
        }
    }
    let format_block = |b: usize| {
        let mut text = Vec::with_capacity(BLOCK_ENTRIES * 32);
        let (mut float, mut integer) = (ryu::Buffer::new(), itoa::Buffer::new());
        let mut row = String::new();
        for i in blocks[b]..blocks[b + 1] {
            let range = pattern.row_range(i);
            row.clear();
            row.push_str(integer.format(i + 1));
            row.push(' ');
            for (k, &j) in range.clone().zip(pattern.row(i)) {
                text.extend_from_slice(row.as_bytes());
                text.extend_from_slice(integer.format(j + 1).as_bytes());
                if let Some(v) = values {
                    text.push(b' ');
                    text.extend_from_slice(float.format(v[k]).as_bytes());
                }
                text.push(b'\n');
            }
        }
        text
    };
    let batch = 4 * rayon::current_num_threads();
    let nblocks = blocks.len() - 1;
    for first in (0..nblocks).step_by(batch) {
        let texts: Vec<Vec<u8>> = (first..(first + batch).min(nblocks)).into_par_iter().map(format_block).collect();
        for text in texts {
            w.write_all(&text)?;
        }
    }
    w.flush()?;
    Ok(())
}
