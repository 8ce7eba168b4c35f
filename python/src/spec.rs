//! Python keywords → the core's [`Structure`] and [`Settings`].
//!
//! The Python package turns whatever the user gave (a `scipy.sparse` pattern, SciPy's
//! `rel_step`/`abs_step`, design names) into one dict of plain values; this module
//! maps that dict onto the core, refusing unknown keys and values with a message that
//! names them in the Python keywords' words.

use jacsense::coloring::Ordering;
use jacsense::{
    Coupling, DecoderChoice, Design, Difference, Pattern, RandomDistribution, Settings, SparseMethod, Step, Structure,
};
use numpy::{PyArray1, PyArrayMethods};
use pyo3::conversion::FromPyObjectOwned;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::{message, to_py};

/// The keys a spec may hold.
const KEYS: &[&str] = &[
    "m",
    "n",
    "indptr",
    "indices",
    "symmetric",
    "row_sparsity",
    "ties",
    "known",
    "design",
    "decoder",
    "ordering",
    "calls",
    "budget",
    "outliers",
    "noise",
    "step",
    "abs_step",
    "central",
    "seed",
    "condition_tolerance",
    "max_error_growth",
    "call_time",
];

/// A tied group: entries `(i, j, factor)` with `J_ij = factor · z`.
type Tied = Vec<(usize, usize, f64)>;

fn get<'py, T: FromPyObjectOwned<'py>>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<Option<T>> {
    match d.get_item(key)? {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => v.extract::<T>().map(Some).map_err(|e| {
            let e: PyErr = e.into();
            message(format!("{key} = {v}: {e}"))
        }),
    }
}

/// The structure a spec describes: an `m × n` pattern (dense when no CSR arrays are
/// given), symmetry, a row sparsity, tied and known entries.
pub fn structure(d: &Bound<'_, PyDict>) -> PyResult<Structure> {
    check_keys(d)?;
    let m: usize = get(d, "m")?.ok_or_else(|| message("the spec has no m"))?;
    let n: usize = get(d, "n")?.ok_or_else(|| message("the spec has no n"))?;
    let pattern = match (indices(d, "indptr")?, indices(d, "indices")?) {
        (Some(indptr), Some(indices)) => Pattern::from_csr(m, n, indptr, indices).map_err(to_py)?,
        (None, None) => Pattern::try_dense(m, n).map_err(to_py)?,
        _ => return Err(message("a pattern needs both indptr and indices")),
    };
    let symmetric = get::<bool>(d, "symmetric")?.unwrap_or(false);
    let mut s = if symmetric { Structure::symmetric(pattern).map_err(to_py)? } else { Structure::sparse(pattern) };
    if let Some(k) = get::<usize>(d, "row_sparsity")? {
        s = s.with_row_sparsity(k);
    }
    let ties: Vec<Tied> = get(d, "ties")?.unwrap_or_default();
    let known: Vec<(usize, usize, f64)> = get(d, "known")?.unwrap_or_default();
    if !ties.is_empty() || !known.is_empty() {
        s = s.with_coupling(Coupling { symmetric, ties, known, ..Coupling::default() }).map_err(to_py)?;
    }
    Ok(s)
}

/// An index array: a numpy int64 array (read without a Python list in between) or a
/// sequence of ints; a negative entry is refused, naming it.
fn indices(d: &Bound<'_, PyDict>, key: &str) -> PyResult<Option<Vec<usize>>> {
    let Some(v) = d.get_item(key)? else { return Ok(None) };
    if v.is_none() {
        return Ok(None);
    }
    if let Ok(a) = v.cast::<PyArray1<i64>>() {
        let a = a.readonly();
        let view = a.as_array();
        if let Some((i, x)) = view.iter().enumerate().find(|(_, x)| **x < 0) {
            return Err(message(format!("{key}[{i}] = {x} is not an index")));
        }
        return Ok(Some(view.iter().map(|&x| x as usize).collect()));
    }
    get::<Vec<usize>>(d, key)
}

fn check_keys(d: &Bound<'_, PyDict>) -> PyResult<()> {
    for key in d.keys() {
        let key: String = key.extract()?;
        if !KEYS.contains(&key.as_str()) {
            return Err(message(format!("unknown setting '{key}'")));
        }
    }
    Ok(())
}

/// The settings a spec describes. `calls` counts every call, `f(x0)` included, as the
/// command's `--calls` does.
pub fn settings(d: &Bound<'_, PyDict>) -> PyResult<Settings> {
    check_keys(d)?;
    let ordering = get::<String>(d, "ordering")?
        .filter(|o| o != "best")
        .map(|o| o.replace('_', "-").parse::<Ordering>())
        .transpose()
        .map_err(to_py)?;
    let central = get::<bool>(d, "central")?.unwrap_or(false);
    let difference = if central { Difference::Central } else { Difference::Forward };
    let design_name = get::<String>(d, "design")?.unwrap_or_else(|| "auto".into()).replace('_', "-");
    let directions = match get::<usize>(d, "calls")? {
        None => None,
        Some(calls) => {
            if !matches!(design_name.as_str(), "random" | "rademacher" | "rainbow") {
                return Err(message(format!(
                    "calls={calls} needs design='random', 'rademacher' or 'rainbow' (the other designs fix their \
                     calls); to cap the planner, use max_calls={calls}"
                )));
            }
            let k = match difference {
                Difference::Forward => calls.checked_sub(1).filter(|&k| k > 0),
                Difference::Central => (calls % 2 == 0 && calls > 0).then_some(calls / 2),
            };
            Some(k.ok_or_else(|| {
                message(format!(
                    "calls={calls}: forward differences need at least 2 calls (f(x0) and one direction), central \
                     differences an even number"
                ))
            })?)
        }
    };
    let design = match design_name.as_str() {
        "auto" => Design::Auto,
        "coordinate" => Design::Coordinate,
        "colored" => Design::Colored { ordering },
        "star" => Design::Star { ordering },
        "random" => Design::Random { distribution: RandomDistribution::Gaussian, directions },
        "rademacher" => Design::Random { distribution: RandomDistribution::Rademacher, directions },
        "rainbow" => Design::Rainbow { ordering, directions },
        other => {
            return Err(message(format!(
                "design='{other}': expected 'auto', 'coordinate', 'colored', 'star', 'random', 'rademacher' or \
                 'rainbow'"
            )));
        }
    };
    let decoder = match get::<String>(d, "decoder")?.unwrap_or_else(|| "auto".into()).replace('_', "-").as_str() {
        "auto" => DecoderChoice::Auto,
        "least-squares" | "lstsq" => DecoderChoice::LeastSquares,
        "l1" => DecoderChoice::L1,
        "omp" => DecoderChoice::Sparse(SparseMethod::Omp),
        "bpdn" => DecoderChoice::Sparse(SparseMethod::BasisPursuitDenoising),
        "substitution" => DecoderChoice::Substitution,
        other => {
            return Err(message(format!(
                "decoder='{other}': expected 'auto', 'least-squares', 'l1', 'omp', 'bpdn' or 'substitution'"
            )));
        }
    };
    let step = match (get::<f64>(d, "step")?, get::<Vec<f64>>(d, "abs_step")?) {
        (Some(_), Some(_)) => return Err(message("give step (relative) or abs_step, not both")),
        (Some(h), None) => Step::Relative(h),
        (None, Some(h)) if h.len() == 1 => Step::Absolute(h[0]),
        (None, Some(h)) => Step::PerCoordinate(h),
        (None, None) => Step::Default,
    };
    let defaults = Settings::default();
    Ok(Settings {
        design,
        decoder,
        difference,
        step,
        seed: get(d, "seed")?.unwrap_or(0),
        noise: get(d, "noise")?.unwrap_or(0.0),
        outliers: get(d, "outliers")?.unwrap_or(0.0),
        budget: get(d, "budget")?,
        condition_tolerance: get(d, "condition_tolerance")?.unwrap_or(defaults.condition_tolerance),
        max_error_growth: get(d, "max_error_growth")?.unwrap_or(defaults.max_error_growth),
        call_time: get(d, "call_time")?,
        ..defaults
    })
}
