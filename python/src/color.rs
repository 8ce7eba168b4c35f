//! `color`: colorings of a pattern alone, checked independently.

use jacsense::Pattern;
use jacsense::coloring::{
    Ordering, best_column_coloring, check_column_coloring, check_row_coloring, color_columns, color_rows, lower_bound,
};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::to_py;

/// Colors the columns (or rows) of the `m × n` CSR pattern: `ordering` one of the
/// core's orderings, or `best` (every ordering, then iterated-greedy recoloring: the
/// coloring the planner uses). Returns a dict with `colors`, `num_colors`,
/// `ordering`, `valid` (the independent check) and `lower_bound`.
#[pyfunction]
#[pyo3(signature = (m, n, indptr, indices, ordering="best", kind="column"))]
pub fn color<'py>(
    py: Python<'py>,
    m: usize,
    n: usize,
    indptr: Vec<usize>,
    indices: Vec<usize>,
    ordering: &str,
    kind: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let pattern = Pattern::from_csr(m, n, indptr, indices).map_err(to_py)?;
    let chosen: Option<Ordering> =
        if ordering == "best" { None } else { Some(ordering.replace('_', "-").parse().map_err(to_py)?) };
    let rows = match kind {
        "column" => false,
        "row" => true,
        other => return Err(crate::error::message(format!("kind='{other}': expected 'column' or 'row'"))),
    };
    let (used, coloring, valid, bound) = py.detach(|| {
        let target = if rows { pattern.transpose() } else { pattern.clone() };
        let (used, coloring) = match chosen {
            Some(o) if rows => (o, color_rows(&pattern, o)),
            Some(o) => (o, color_columns(&pattern, o)),
            // Rows are colored as the columns of the transpose.
            None => best_column_coloring(&target),
        };
        let valid = if rows {
            check_row_coloring(&pattern, &coloring).is_ok()
        } else {
            check_column_coloring(&pattern, &coloring).is_ok()
        };
        (used, coloring, valid, lower_bound(&target))
    });
    let out = PyDict::new(py);
    out.set_item("colors", PyArray1::from_vec(py, coloring.colors().iter().map(|&c| c as i64).collect()))?;
    out.set_item("num_colors", coloring.num_colors())?;
    out.set_item("ordering", if chosen.is_none() { format!("best ({used}, recolored)") } else { used.to_string() })?;
    out.set_item("valid", valid)?;
    out.set_item("lower_bound", bound)?;
    Ok(out)
}
