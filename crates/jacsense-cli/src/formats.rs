//! Numbers in and out: protocol lines, vectors (`x0`, `v`, `w`), patterns and
//! matrices, chosen by file extension.
//!
//! | extension | vectors | patterns (read) | matrices (write) |
//! |---|---|---|---|
//! | `.mtx` | Matrix Market `array` or an n×1 / 1×n `coordinate` file | `coordinate` (1-based) | `coordinate real general` (1-based) |
//! | `.npy` | any shape, flattened (float64, float32, int64, int32) | nonzero entries of a 2-D array | dense float64 `m × n` |
//! | `.json` | an array of numbers | `{"shape": [m, n], "rows": [...], "cols": [...]}` (0-based) | the same with `"values"` (NaN as `null`) |
//! | `.csv`, other | numbers separated by whitespace or commas, `#` comments | nonzero entries of a dense text matrix | dense text, one row per line, commas |
//!
//! Every matrix this module writes reads back as a pattern: the output of one run
//! can be the `--pattern` of the next.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use jacsense::{Pattern, SparseMatrix};
use npyz::WriterBuilder;
use serde_json::{Value, json};

use crate::error::Failure;
use crate::input_error;

/// A file format, from a path's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Matrix Market.
    MatrixMarket,
    /// NumPy `.npy`.
    Npy,
    /// JSON.
    Json,
    /// Comma- or whitespace-separated text (`.csv`, `.txt`, anything else).
    Text,
}

impl Format {
    /// The format of `path`, by extension (text when unknown).
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
            Some("mtx") => Format::MatrixMarket,
            Some("npy") => Format::Npy,
            Some("json") => Format::Json,
            _ => Format::Text,
        }
    }
}

/// Writes `x` as one protocol line: numbers separated by single spaces, each in the
/// shortest form that reads back to the same `f64` (`0.1`, `1e-300`, `-2.5`).
pub fn write_numbers(out: &mut String, x: &[f64]) {
    let mut buffer = ryu::Buffer::new();
    for (i, v) in x.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        // Ryū (Adams 2018): the shortest digits that round-trip, about 5× faster than
        // `{:?}`; non-finite values spelled as Rust parses them.
        out.push_str(if v.is_finite() { buffer.format_finite(*v) } else { non_finite(*v) });
    }
}

/// Writes points as [`write_numbers`] does, formatting only the coordinates that differ
/// from the previous point it wrote: the points of a difference design perturb a few
/// coordinates of `x0` each, so most of a line is copied from the last one.
#[derive(Debug, Default)]
pub struct PointWriter {
    last: Vec<f64>,
    /// The last line, and where its `i`-th number starts.
    text: String,
    starts: Vec<usize>,
}

impl PointWriter {
    /// Appends `x` to `out`, as [`write_numbers`] would.
    pub fn write(&mut self, out: &mut String, x: &[f64]) {
        let same_length = self.last.len() == x.len();
        let mut text = String::with_capacity(self.text.len() + 32);
        let mut starts = Vec::with_capacity(x.len());
        let mut buffer = ryu::Buffer::new();
        let mut i = 0;
        while i < x.len() {
            if i > 0 {
                text.push(' ');
            }
            let same = |i: usize| same_length && x[i].to_bits() == self.last[i].to_bits();
            if same(i) {
                // A run of unchanged numbers: copied whole, spaces included.
                let mut j = i + 1;
                while j < x.len() && same(j) {
                    j += 1;
                }
                let end = if j < x.len() { self.starts[j] - 1 } else { self.text.len() };
                let shift = text.len() as isize - self.starts[i] as isize;
                starts.extend(self.starts[i..j].iter().map(|&s| (s as isize + shift) as usize));
                text.push_str(&self.text[self.starts[i]..end]);
                i = j;
            } else {
                starts.push(text.len());
                let v = x[i];
                text.push_str(if v.is_finite() { buffer.format_finite(v) } else { non_finite(v) });
                i += 1;
            }
        }
        out.push_str(&text);
        self.last.clear();
        self.last.extend_from_slice(x);
        self.text = text;
        self.starts = starts;
    }
}

fn non_finite(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

/// Parses one line of numbers separated by whitespace or commas, optionally inside
/// `[ ]` (a JSON array). On failure returns the position (0-based) and the token that
/// is not a number.
pub fn parse_numbers(line: &str) -> Result<Vec<f64>, (usize, String)> {
    let mut t = line.trim();
    if let Some(inner) = t.strip_prefix('[') {
        t = inner.strip_suffix(']').unwrap_or(inner);
    }
    // The common line (ASCII, separated by ASCII whitespace) is split by bytes, without
    // decoding characters; a comma, a vertical tab (whitespace to `char` but not to
    // `u8::is_ascii_whitespace`) or any non-ASCII byte sends the line to the general path.
    let bytes = t.as_bytes();
    if !t.is_ascii() || bytes.contains(&b',') || bytes.contains(&0x0B) {
        return parse_by_chars(t);
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 + 1);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let token = &t[start..i];
        match short_decimal(token.as_bytes()).or_else(|| token.parse().ok()) {
            Some(v) => out.push(v),
            None => return Err((out.len(), token.to_string())),
        }
    }
    Ok(out)
}

/// Splits on any whitespace character or comma.
fn parse_by_chars(t: &str) -> Result<Vec<f64>, (usize, String)> {
    t.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .enumerate()
        .map(|(i, s)| s.parse::<f64>().map_err(|_| (i, s.to_string())))
        .collect()
}

/// A plain decimal (`-1.0`, `0.25`, `17`) of at most 19 digits whose digits, read as an
/// integer, are at most 2⁵³, with at most 22 after the point: then the integer and the
/// power of ten are exact doubles and their quotient, one correctly rounded division,
/// is the correctly rounded value (Clinger's fast path), as `str::parse` gives.
/// Anything else (exponents, more digits, `inf`) is `None`, for `str::parse`.
fn short_decimal(s: &[u8]) -> Option<f64> {
    const POWERS: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
        1e20, 1e21, 1e22,
    ];
    let (negative, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mut mantissa, mut count, mut scale, mut point) = (0u64, 0usize, 0usize, false);
    for &b in digits {
        match b {
            b'0'..=b'9' if count < 19 => {
                mantissa = 10 * mantissa + u64::from(b - b'0');
                count += 1;
                scale += usize::from(point);
            }
            b'.' if !point => point = true,
            _ => return None,
        }
    }
    if count == 0 || mantissa > 1 << 53 || scale >= POWERS.len() {
        return None;
    }
    let v = mantissa as f64 / POWERS[scale];
    Some(if negative { -v } else { v })
}

fn open(path: &Path, what: &str) -> Result<File, Failure> {
    File::open(path).map_err(|e| input_error!("cannot read {what} file {}: {e}", path.display()))
}

fn create(path: &Path, what: &str) -> Result<BufWriter<File>, Failure> {
    File::create(path).map(BufWriter::new).map_err(|e| input_error!("cannot write {what} file {}: {e}", path.display()))
}

fn write_err(path: &Path, e: impl std::fmt::Display) -> Failure {
    input_error!("cannot write {}: {e}", path.display())
}

/// A vector from the command line: a list of numbers (`"1 2 3"`, `"1,2,3"`,
/// `"[1, 2, 3]"`) or `@FILE` in one of the module's formats. `what` names it in errors.
pub fn read_vector(spec: &str, what: &str) -> Result<Vec<f64>, Failure> {
    match spec.strip_prefix('@') {
        Some(path) => read_vector_file(Path::new(path), what),
        None => parse_numbers(spec).map_err(|(i, token)| {
            input_error!("{what}: entry {i} ('{token}') is not a number (give numbers, or @FILE)")
        }),
    }
}

/// A vector from a file (see the module docs for the formats).
pub fn read_vector_file(path: &Path, what: &str) -> Result<Vec<f64>, Failure> {
    let file = open(path, what)?;
    let shown = path.display();
    match Format::of(path) {
        Format::Npy => read_npy(file, path).map(|(_, v)| v),
        Format::Json => {
            let value: Value = serde_json::from_reader(BufReader::new(file))
                .map_err(|e| input_error!("{what} file {shown}: invalid JSON: {e}"))?;
            let mut out = Vec::new();
            flatten_json(&value, &mut out, &mut Vec::new())
                .map_err(|(at, v)| input_error!("{what} file {shown}: entry {at} is {v}, not a number"))?;
            Ok(out)
        }
        Format::MatrixMarket => read_mtx_vector(file, path),
        Format::Text => {
            let mut out = Vec::new();
            for (lineno, line) in BufReader::new(file).lines().enumerate() {
                let line = line.map_err(|e| input_error!("{what} file {shown}: {e}"))?;
                let line = line.split('#').next().unwrap_or("");
                let numbers = parse_numbers(line).map_err(|(_, token)| {
                    input_error!("{what} file {shown} line {}: '{token}' is not a number", lineno + 1)
                })?;
                out.extend(numbers);
            }
            Ok(out)
        }
    }
}

fn flatten_json(v: &Value, out: &mut Vec<f64>, at: &mut Vec<usize>) -> Result<(), (String, String)> {
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                at.push(i);
                flatten_json(item, out, at)?;
                at.pop();
            }
            Ok(())
        }
        Value::Number(x) => {
            out.push(x.as_f64().unwrap_or(f64::NAN));
            Ok(())
        }
        other => Err((at.iter().map(|i| format!("[{i}]")).collect(), other.to_string())),
    }
}

/// Reads a `.npy` array of float64, float32, int64 or int32 (C or Fortran order) as
/// its shape and its values in C (row-major) order.
pub fn read_npy(mut file: File, path: &Path) -> Result<(Vec<usize>, Vec<f64>), Failure> {
    let shown = path.display();
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(|e| input_error!("cannot read {shown}: {e}"))?;
    let header_end = check_npy_header(&bytes).map_err(|e| input_error!("{shown}: {e}"))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| input_error!("{shown}: not a NumPy .npy file: {e}"))?;
    // The shape is a claim: its product must exist and the data must hold it before
    // anything is read (npyz then reads exactly that many values).
    let values = npy.shape().iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
    let item = npy.dtype().num_bytes().unwrap_or(usize::MAX) as u128;
    let data = bytes.len().saturating_sub(header_end) as u128;
    match values {
        None => return Err(input_error!("{shown}: shape {:?} has more values than 2^64", npy.shape())),
        Some(v) if v as u128 * item > data => {
            return Err(input_error!(
                "{shown}: shape {:?} claims {v} values of {item} bytes, but the file holds {data} bytes of data",
                npy.shape()
            ));
        }
        Some(_) => {}
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&s| s as usize).collect();
    let fortran = npy.order() == npyz::Order::Fortran;
    let dtype = npy.dtype();
    let descr = dtype.descr().trim_matches(|c| c == '\'' || c == '"').to_string();
    let bad = |e: std::io::Error| input_error!("{shown}: {e}");
    let values: Vec<f64> = match descr.as_str() {
        "<f8" | ">f8" => npy.into_vec::<f64>().map_err(bad)?,
        "<f4" | ">f4" => npy.into_vec::<f32>().map_err(bad)?.into_iter().map(f64::from).collect(),
        "<i8" | ">i8" => npy.into_vec::<i64>().map_err(bad)?.into_iter().map(|v| v as f64).collect(),
        "<i4" | ">i4" => npy.into_vec::<i32>().map_err(bad)?.into_iter().map(f64::from).collect(),
        "|b1" => npy.into_vec::<bool>().map_err(bad)?.into_iter().map(|b| f64::from(u8::from(b))).collect(),
        other => {
            return Err(input_error!(
                "{shown}: dtype '{other}' is not supported (use float64, float32, int64, int32, bool)"
            ));
        }
    };
    if fortran && shape.len() == 2 {
        let (r, c) = (shape[0], shape[1]);
        let mut rowmajor = vec![0.0; values.len()];
        for j in 0..c {
            for i in 0..r {
                rowmajor[i * c + j] = values[j * r + i];
            }
        }
        return Ok((shape, rowmajor));
    }
    if fortran && shape.len() > 2 {
        return Err(input_error!("{shown}: Fortran-ordered arrays of more than 2 dimensions are not supported"));
    }
    Ok((shape, values))
}

/// The most values of a `J` written densely (`.npy`, text): 2²⁸ (2 GiB of float64).
const MAX_DENSE_VALUES: usize = 1 << 28;

/// The deepest nesting of brackets a `.npy` header may have: NumPy writes 2
/// (`{'shape': (3, 4)}`), and the Python-literal parser recurses once per level.
const NPY_MAX_NESTING: usize = 8;

/// Checks the parts of a `.npy` header that would size an allocation or a recursion
/// before npyz reads it: the header length against the file, the nesting of its
/// literal, and the product of its shape (npyz multiplies it unchecked). Returns
/// where the data start. Files that are not `.npy` at all are left to npyz to name.
fn check_npy_header(bytes: &[u8]) -> Result<usize, String> {
    if bytes.len() < 10 || !bytes.starts_with(b"\x93NUMPY") {
        return Ok(0);
    }
    let (len, start): (usize, usize) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        _ if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        _ => return Ok(0),
    };
    let end = start.saturating_add(len);
    if end > bytes.len() {
        return Err(format!(
            "the header claims {len} bytes but the file has {} after the preamble",
            bytes.len() - start
        ));
    }
    let header = String::from_utf8_lossy(&bytes[start..end]);
    let mut depth = 0usize;
    for c in header.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > NPY_MAX_NESTING {
            return Err(format!("the header nests brackets more than {NPY_MAX_NESTING} deep: '{header}'"));
        }
    }
    // 'shape': (d0, d1, ...): every dimension an integer, and the product of the
    // nonzero ones within u64 (npyz multiplies every prefix, unchecked, even past a 0).
    let Some(at) = header.find("'shape'").or_else(|| header.find("\"shape\"")) else { return Ok(end) };
    let rest = header[at + 7..].trim_start().trim_start_matches(':').trim_start();
    let Some(inner) = rest.strip_prefix(['(', '[']) else { return Ok(end) };
    let inner = &inner[..inner.find([')', ']']).unwrap_or(inner.len())];
    let mut product: u64 = 1;
    for token in inner.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let d: u64 = token.parse().map_err(|_| format!("shape dimension '{token}' is not a non-negative integer"))?;
        product = product
            .checked_mul(d.max(1))
            .ok_or_else(|| format!("shape ({inner}): the product of its dimensions exceeds 2^64"))?;
    }
    Ok(end)
}

fn read_mtx_vector(file: File, path: &Path) -> Result<Vec<f64>, Failure> {
    let shown = path.display();
    let mut lines = BufReader::new(file).lines().enumerate();
    let header = match lines.next() {
        Some((_, Ok(h))) => h,
        Some((_, Err(e))) => return Err(input_error!("{shown} line 1: {e}")),
        None => return Err(input_error!("{shown}: empty Matrix Market file")),
    };
    let lower = header.to_ascii_lowercase();
    if lower.contains(" coordinate ") {
        let file = open(path, "Matrix Market")?;
        let (pattern, values) =
            jacsense::read_matrix_market(BufReader::new(file)).map_err(|e| input_error!("{shown}: {e}"))?;
        if pattern.nrows() != 1 && pattern.ncols() != 1 {
            return Err(input_error!(
                "{shown}: a vector must be n×1 or 1×n, this matrix is {}×{}",
                pattern.nrows(),
                pattern.ncols()
            ));
        }
        let values = values.ok_or_else(|| input_error!("{shown}: a vector needs values, this file is a pattern"))?;
        let mut out = vec![0.0; pattern.nrows().max(pattern.ncols())];
        for ((i, j), v) in pattern.entries().zip(values) {
            out[i.max(j)] = v;
        }
        return Ok(out);
    }
    if !lower.starts_with("%%matrixmarket matrix array") {
        return Err(input_error!(
            "{shown} line 1: expected '%%MatrixMarket matrix array real general', found '{header}'"
        ));
    }
    let mut size: Option<usize> = None;
    let mut out = Vec::new();
    for (lineno, line) in lines {
        let line = line.map_err(|e| input_error!("{shown}: {e}"))?;
        let t = line.trim();
        if t.is_empty() || t.starts_with('%') {
            continue;
        }
        let numbers = parse_numbers(t)
            .map_err(|(_, tok)| input_error!("{shown} line {}: '{tok}' is not a number", lineno + 1))?;
        match size {
            None => {
                if numbers.len() != 2 || numbers.iter().any(|v| v.fract() != 0.0 || *v < 0.0) {
                    return Err(input_error!(
                        "{shown} line {}: expected the size 'rows cols', found '{t}'",
                        lineno + 1
                    ));
                }
                if numbers.iter().any(|&v| v > jacsense::MAX_DIMENSION as f64) {
                    return Err(input_error!(
                        "{shown} line {}: size '{t}' exceeds {} entries",
                        lineno + 1,
                        jacsense::MAX_DIMENSION
                    ));
                }
                let (r, c) = (numbers[0] as usize, numbers[1] as usize);
                if r != 1 && c != 1 {
                    return Err(input_error!("{shown}: a vector must be n×1 or 1×n, this array is {r}×{c}"));
                }
                size = Some(r * c);
            }
            Some(_) => out.extend(numbers),
        }
    }
    match size {
        Some(len) if len == out.len() => Ok(out),
        Some(len) => Err(input_error!("{shown}: the size line promises {len} values, the file has {}", out.len())),
        None => Err(input_error!("{shown}: no size line")),
    }
}

/// A sparsity pattern from a file (see the module docs for the formats).
pub fn read_pattern(path: &Path) -> Result<Pattern, Failure> {
    let shown = path.display();
    let file = open(path, "pattern")?;
    match Format::of(path) {
        Format::MatrixMarket => jacsense::read_matrix_market(BufReader::new(file))
            .map(|(p, _)| p)
            .map_err(|e| input_error!("pattern file {shown}: {e}")),
        Format::Json => {
            let value: Value = serde_json::from_reader(BufReader::new(file))
                .map_err(|e| input_error!("pattern file {shown}: invalid JSON: {e}"))?;
            let (m, n, entries) = json_entries(&value).map_err(|e| input_error!("pattern file {shown}: {e}"))?;
            Pattern::from_triplets(m, n, &entries).map_err(|e| input_error!("pattern file {shown}: {e}"))
        }
        Format::Npy => {
            let (shape, values) = read_npy(file, path)?;
            if shape.len() != 2 {
                return Err(input_error!(
                    "pattern file {shown}: a pattern must be a 2-D array, this one has shape {shape:?}"
                ));
            }
            dense_to_pattern(shape[0], shape[1], &values)
        }
        Format::Text => {
            let mut rows: Vec<Vec<f64>> = Vec::new();
            for (lineno, line) in BufReader::new(file).lines().enumerate() {
                let line = line.map_err(|e| input_error!("pattern file {shown}: {e}"))?;
                let line = line.split('#').next().unwrap_or("");
                if line.trim().is_empty() {
                    continue;
                }
                let row = parse_numbers(line).map_err(|(_, tok)| {
                    input_error!("pattern file {shown} line {}: '{tok}' is not a number", lineno + 1)
                })?;
                if let Some(first) = rows.first()
                    && first.len() != row.len()
                {
                    return Err(input_error!(
                        "pattern file {shown} line {}: {} columns, the first row has {}",
                        lineno + 1,
                        row.len(),
                        first.len()
                    ));
                }
                rows.push(row);
            }
            let n = rows.first().map_or(0, Vec::len);
            let values: Vec<f64> = rows.iter().flatten().copied().collect();
            dense_to_pattern(rows.len(), n, &values)
        }
    }
}

fn dense_to_pattern(m: usize, n: usize, values: &[f64]) -> Result<Pattern, Failure> {
    let entries: Vec<(usize, usize)> = (0..m * n).filter(|&k| values[k] != 0.0).map(|k| (k / n, k % n)).collect();
    Ok(Pattern::from_triplets(m, n, &entries)?)
}

type Entries = (usize, usize, Vec<(usize, usize)>);

fn json_entries(v: &Value) -> Result<Entries, String> {
    let shape = v.get("shape").and_then(Value::as_array).ok_or("expected an object with \"shape\": [m, n]")?;
    let dim = |k: usize| shape.get(k).and_then(Value::as_u64).map(|d| d as usize);
    let (m, n) = match (dim(0), dim(1)) {
        (Some(m), Some(n)) if shape.len() == 2 => (m, n),
        _ => return Err(format!("\"shape\" must be [m, n], found {}", Value::Array(shape.clone()))),
    };
    let index_list = |key: &str| -> Result<Vec<usize>, String> {
        let list = v.get(key).and_then(Value::as_array).ok_or(format!("expected \"{key}\": [...] (0-based)"))?;
        list.iter()
            .enumerate()
            .map(|(k, x)| x.as_u64().map(|u| u as usize).ok_or(format!("\"{key}\"[{k}] = {x} is not an index")))
            .collect()
    };
    let (rows, cols) = (index_list("rows")?, index_list("cols")?);
    if rows.len() != cols.len() {
        return Err(format!("\"rows\" has {} entries, \"cols\" has {}", rows.len(), cols.len()));
    }
    Ok((m, n, rows.into_iter().zip(cols).collect()))
}

/// The JSON form of a sparse matrix: shape, 0-based triplets, values (NaN as `null`).
pub fn matrix_json(j: &SparseMatrix) -> Value {
    let p = j.pattern();
    let (rows, cols): (Vec<usize>, Vec<usize>) = p.entries().unzip();
    json!({
        "shape": [p.nrows(), p.ncols()],
        "rows": rows,
        "cols": cols,
        "values": j.values().iter().map(|v| json_number(*v)).collect::<Vec<_>>(),
    })
}

/// A number for JSON: non-finite values become `null`.
pub fn json_number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// Writes a matrix to `path` (format by extension) or, for `-`, as JSON on stdout.
pub fn write_matrix(path: &Path, j: &SparseMatrix) -> Result<(), Failure> {
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        return serde_json::to_writer(&mut out, &matrix_json(j))
            .map_err(|e| input_error!("cannot write to stdout: {e}"))
            .and_then(|()| writeln!(out).map_err(|e| input_error!("cannot write to stdout: {e}")));
    }
    let p = j.pattern();
    let (m, n) = (p.nrows(), p.ncols());
    // .npy and text are dense: a large sparse J would need m × n values in memory.
    let dense = matches!(Format::of(path), Format::Npy | Format::Text);
    if dense && m as u128 * n as u128 > MAX_DENSE_VALUES as u128 {
        return Err(input_error!(
            "{}: J is {m}×{n}, too large to write densely (more than {} values); write .mtx or .json",
            path.display(),
            MAX_DENSE_VALUES
        ));
    }
    let mut w = create(path, "output")?;
    match Format::of(path) {
        Format::MatrixMarket => {
            jacsense::write_matrix_market(&mut w, p, Some(j.values())).map_err(|e| write_err(path, e))?;
        }
        Format::Json => {
            serde_json::to_writer(&mut w, &matrix_json(j)).map_err(|e| write_err(path, e))?;
            writeln!(w).map_err(|e| write_err(path, e))?;
        }
        Format::Npy => {
            let dense = dense_values(j);
            let mut npy = npyz::WriteOptions::<f64>::new()
                .default_dtype()
                .shape(&[m as u64, n as u64])
                .writer(&mut w)
                .begin_nd()
                .map_err(|e| write_err(path, e))?;
            npy.extend(dense).map_err(|e| write_err(path, e))?;
            npy.finish().map_err(|e| write_err(path, e))?;
        }
        Format::Text => {
            let dense = dense_values(j);
            let mut line = String::new();
            for i in 0..m {
                line.clear();
                write_numbers(&mut line, &dense[i * n..(i + 1) * n]);
                writeln!(w, "{}", line.replace(' ', ",")).map_err(|e| write_err(path, e))?;
            }
        }
    }
    w.flush().map_err(|e| write_err(path, e))
}

fn dense_values(j: &SparseMatrix) -> Vec<f64> {
    let p = j.pattern();
    let n = p.ncols();
    let mut dense = vec![0.0; p.nrows() * n];
    for ((i, c), v) in p.entries().zip(j.values()) {
        dense[i * n + c] = *v;
    }
    dense
}

/// Writes a vector to `path` (format by extension) or, for `-`, as a JSON array on
/// stdout.
pub fn write_vector(path: &Path, x: &[f64]) -> Result<(), Failure> {
    let json = || Value::Array(x.iter().map(|v| json_number(*v)).collect());
    if path.as_os_str() == "-" {
        println!("{}", json());
        return Ok(());
    }
    let mut w = create(path, "output")?;
    match Format::of(path) {
        Format::Json => writeln!(w, "{}", json()).map_err(|e| write_err(path, e))?,
        Format::Npy => write_npy_rows(&mut w, path, x, &[x.len() as u64])?,
        Format::MatrixMarket => {
            writeln!(w, "%%MatrixMarket matrix array real general\n{} 1", x.len()).map_err(|e| write_err(path, e))?;
            for v in x {
                writeln!(w, "{v:?}").map_err(|e| write_err(path, e))?;
            }
        }
        Format::Text => {
            for v in x {
                writeln!(w, "{v:?}").map_err(|e| write_err(path, e))?;
            }
        }
    }
    w.flush().map_err(|e| write_err(path, e))
}

/// Writes float64 values with the given shape to an `.npy` stream.
pub fn write_npy_rows<W: Write>(w: W, path: &Path, values: &[f64], shape: &[u64]) -> Result<(), Failure> {
    let mut npy = npyz::WriteOptions::<f64>::new()
        .default_dtype()
        .shape(shape)
        .writer(w)
        .begin_nd()
        .map_err(|e| write_err(path, e))?;
    npy.extend(values.iter().copied()).map_err(|e| write_err(path, e))?;
    npy.finish().map_err(|e| write_err(path, e))
}

/// Writes a JSON value to a file.
pub fn write_json(path: &Path, value: &Value) -> Result<(), Failure> {
    let mut w = create(path, "JSON")?;
    serde_json::to_writer_pretty(&mut w, value).map_err(|e| write_err(path, e))?;
    writeln!(w).map_err(|e| write_err(path, e))?;
    w.flush().map_err(|e| write_err(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_through_a_protocol_line() {
        let x = [0.1, -1e-300, 1.0 / 3.0, 6.02e23, 0.0, -2.5];
        let mut line = String::new();
        write_numbers(&mut line, &x);
        let back = parse_numbers(&line).unwrap();
        assert_eq!(back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), x.map(f64::to_bits));
        assert_eq!(parse_numbers("[1, 2,3]").unwrap(), vec![1.0, 2.0, 3.0]);
        assert_eq!(parse_numbers("1 two 3").unwrap_err(), (1, "two".to_string()));
        assert!(parse_numbers("nan inf").unwrap().iter().all(|v| !v.is_finite()));
    }

    fn bits(r: Result<Vec<f64>, (usize, String)>) -> Result<Vec<u64>, (usize, String)> {
        r.map(|v| v.iter().map(|x| x.to_bits()).collect())
    }

    proptest::proptest! {
        /// The byte-splitting fast path reads every line as the general path does.
        #[test]
        fn the_fast_path_parses_as_the_general_one(
            line in "[ 0-9eE+.,\\-\t\u{0B}\u{0C}\r\u{A0}\u{2003}a-z\\[\\]]{0,40}",
        ) {
            let mut t = line.trim();
            if let Some(inner) = t.strip_prefix('[') {
                t = inner.strip_suffix(']').unwrap_or(inner);
            }
            proptest::prop_assert_eq!(bits(parse_numbers(&line)), bits(parse_by_chars(t)));
        }

        /// Plain decimals, the fast path's tokens (near 2⁵³ and 22 places after the
        /// point too), read as `str::parse` reads them.
        #[test]
        fn short_decimals_parse_as_std_parses_them(
            token in "[+-]?[0-9]{0,20}(\\.[0-9]{0,25})?",
            near in 9_007_199_254_740_000u64..9_007_199_254_741_000,
            places in 0usize..25,
        ) {
            let digits = near.to_string();
            let split = digits.len() - places.min(digits.len());
            let near = format!("{}.{}", &digits[..split], &digits[split..]);
            for token in [token, near].into_iter().filter(|t| !t.is_empty()) {
                let line = format!("1 {token} 2");
                let expected = token.parse::<f64>().map(|v| vec![1.0, v, 2.0]).map_err(|_| (1, token.clone()));
                proptest::prop_assert_eq!(bits(parse_numbers(&line)), bits(expected));
            }
        }

        /// A point writer writes what `write_numbers` writes, whatever it wrote before
        /// (points of other lengths, repeated or changed coordinates, non-finite ones).
        #[test]
        fn point_writer_lines_are_write_numbers_lines(
            points in proptest::collection::vec(
                proptest::collection::vec(proptest::sample::select(vec![
                    0.0, -0.0, 1.0, -1.0, 0.1, 1e-300, 6.02e23, f64::NAN, f64::INFINITY, f64::NEG_INFINITY,
                ]), 0..8),
                1..12,
            ),
        ) {
            let mut writer = PointWriter::default();
            for x in &points {
                let (mut fast, mut plain) = (String::from("["), String::from("["));
                writer.write(&mut fast, x);
                write_numbers(&mut plain, x);
                proptest::prop_assert_eq!(&fast, &plain);
            }
        }
    }

    /// A version-1 `.npy` file with the given header literal and data.
    fn npy(header: &str, header_len: Option<u16>, data: &[u8]) -> Vec<u8> {
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend(header_len.unwrap_or(header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes.extend(data);
        bytes
    }

    fn read_npy_bytes(bytes: &[u8], name: &str) -> Result<(Vec<usize>, Vec<f64>), Failure> {
        let path = std::env::temp_dir().join(format!("jacsense-formats-{}-{name}.npy", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        let out = read_npy(File::open(&path).unwrap(), &path);
        let _ = std::fs::remove_file(&path);
        out
    }

    /// The header of a `.npy` file is a claim: checked before npyz reads it, which
    /// multiplies the shape unchecked (an overflow panic in debug builds, a wrapped
    /// count in release) and allocates the header length it is told.
    #[test]
    fn npy_headers_are_checked_against_the_file() {
        let head = |shape: &str| format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({shape}), }}\n");
        let (shape, values) = read_npy_bytes(&npy(&head("2,"), None, &[0; 16]), "ok").unwrap();
        assert_eq!((shape, values), (vec![2], vec![0.0, 0.0]));
        let cases = [
            (npy(&head("99999999999999, 3"), None, &[0; 16]), "claims 299999999999997 values"),
            (npy(&head("4294967296, 4294967296"), None, &[]), "exceeds 2^64"),
            // Zero values in all, but npyz's strides multiply the other dimensions.
            (npy(&head("0, 4294967296, 4294967296"), None, &[]), "exceeds 2^64"),
            (npy(&head("-1,"), None, &[]), "'-1' is not a non-negative integer"),
            (npy(&head("2,"), Some(60000), &[]), "the header claims 60000 bytes"),
            (npy(&("[".repeat(100) + &"]".repeat(100)), None, &[]), "nests brackets"),
        ];
        for (k, (bytes, needle)) in cases.iter().enumerate() {
            let e = read_npy_bytes(bytes, &k.to_string()).unwrap_err().to_string();
            assert!(e.contains(needle), "case {k}: '{e}' lacks '{needle}'");
        }
    }
}
