//! The direct route: `w = Jᵀv` sensed from scalar measurements (DESIGN.md §5, route b),
//! on the one sensing core.
//!
//! For upstream vectors `v_1 … v_r` the route senses the `r × n` matrix `Wᵀ = VᵀJ`, the
//! Jacobian of the projected function `g(x) = Vᵀ f(x)`: a call at `x0 + H d_t` gives
//! `y_t`, and `v_jᵀ(y_t − y_0) ≈ ⟨w_j, H d_t⟩` is one linear measurement of row `j`. So
//! it is the Jacobian path on another structure, and only that structure is made here:
//!
//! - row `j` may be nonzero on the candidates of `v_j`, the union of the pattern rows
//!   `v_j` weights (elsewhere `w_j` is zero by the pattern), and has the row sparsity `s`
//!   when `w` is declared `s`-sparse ([`VjpSettings::sparsity`]);
//! - the planner makes its scheme ([`Scheme::projected`]): Gaussian directions on the
//!   union of the candidates (no other input is perturbed), as many as least squares,
//!   sparse recovery or L1 need by the Jacobian planner's rules, with the route's
//!   difference, step and seed;
//! - the scheme carries the projection: [`Measurements::tell`](crate::Measurements::tell)
//!   takes the blackbox's `m` outputs and stores `Vᵀy`, so the calls are evaluated and
//!   told as any plan's ([`Plan::evaluate`], ask/tell);
//! - the decode is the Jacobian's: rows with the same candidates share one system, an
//!   offset unknown absorbs the error of `f(x0)` (or its absence), L1 rows vote on
//!   wrong calls and are refit without them, erasures are dropped and reported.
//!
//! [`rows`] reads the decoded rows of `VᵀJ` back as one [`VjpEstimate`] per `v`.

use crate::decode::DecodedBy;
use crate::decode::RowStatus;
use crate::error::Result;
use crate::estimate::Estimate;
use crate::pattern::Pattern;
use crate::plan::{Plan, Scheme};
use crate::projection::Projection;
use crate::settings::{DecoderChoice, Settings};
use crate::structure::Structure;

use super::{Route, VjpEstimate, VjpSettings};

/// The scheme of `VᵀJ` for `vs` (each of length `m`, checked by the caller).
pub(super) fn scheme(structure: &Structure, vs: &[Vec<f64>], settings: &VjpSettings) -> Result<Scheme> {
    let (projected, route) = projected(structure, vs, settings)?;
    let m = structure.dims().1;
    Scheme::projected(&projected, Projection::new(m, vs.to_vec()), &route, settings.directions, settings.sparse_method)
}

/// The calls the plan of [`scheme`] makes, counted without drawing its directions (the
/// plan of a dense `J` would draw `n × (n + 2)` of them).
pub(super) fn calls(structure: &Structure, vs: &[Vec<f64>], settings: &VjpSettings) -> Result<usize> {
    let (projected, route) = projected(structure, vs, settings)?;
    let (k, _) = Scheme::projected_directions(&projected, &route, settings.directions, settings.sparse_method)?;
    // No candidates, no directions: no call, not even f(x0) (as `VjpPlan::calls`).
    Ok(if k == 0 { 0 } else { crate::planner::calls_of(k, route.difference) })
}

/// The structure of `VᵀJ` and the direct route's settings.
fn projected(structure: &Structure, vs: &[Vec<f64>], settings: &VjpSettings) -> Result<(Structure, Settings)> {
    let pattern = structure.pattern();
    let n = structure.dims().0;
    let rows: Vec<Vec<usize>> = vs
        .iter()
        .map(|v| {
            let mut candidate = vec![false; n];
            for (i, _) in v.iter().enumerate().filter(|(_, vi)| **vi != 0.0) {
                pattern.row(i).iter().for_each(|&c| candidate[c] = true);
            }
            (0..n).filter(|&c| candidate[c]).collect()
        })
        .collect();
    let mut projected = Structure::sparse(Pattern::from_rows(n, &rows)?);
    if let Some(s) = settings.sparsity {
        projected = projected.with_row_sparsity(s);
    }
    // The outlier fraction is the blackbox's, shared with the Jacobian route; the rest
    // is the direct route's own.
    let route = Settings {
        difference: settings.difference,
        step: settings.step.clone(),
        seed: settings.seed,
        outliers: settings.jacobian.outliers,
        ..Settings::default()
    };
    Ok((projected, route))
}

/// Whether the direct plan decodes by sparse recovery.
pub(super) fn is_sparse(plan: &Plan) -> bool {
    matches!(plan.settings().decoder, DecoderChoice::Sparse(_))
}

/// `w_j`, row `j` of the decoded `VᵀJ`, for every `v_j`. A sparse decode that found no
/// support leaves every candidate of its row NaN (the estimate keeps only its best
/// attempt's entries), and reports no support.
pub(super) fn rows(est: &Estimate, plan: &Plan) -> Vec<VjpEstimate> {
    let diag = est.diagnostics();
    let j = est.jacobian();
    let candidates = plan.structure().pattern();
    let sparse = is_sparse(plan);
    let outliers: Vec<usize> = diag.outliers.iter().map(|o| o.call).collect();
    diag.rows
        .iter()
        .enumerate()
        .map(|(row, report)| {
            let determined = report.status == RowStatus::Determined;
            let mut w = vec![0.0; candidates.ncols()];
            if sparse && !determined {
                candidates.row(row).iter().for_each(|&c| w[c] = f64::NAN);
            }
            for (&c, &value) in j.pattern().row(row).iter().zip(j.row_values(row)) {
                w[c] = value;
            }
            VjpEstimate {
                w,
                route: Route::Direct,
                calls: diag.calls,
                support: (sparse && determined).then(|| j.pattern().row(row).to_vec()),
                status: report.status.clone(),
                residual: Some(report.residual),
                erasures: diag.erasures.clone(),
                outliers: outliers.clone(),
                decoder: diag.decoder,
            }
        })
        .collect()
}

/// The estimates when no `v` weights a row with an allowed entry: `w = 0`, no call.
pub(super) fn zeros(n: usize, count: usize) -> Vec<VjpEstimate> {
    let zero = VjpEstimate {
        w: vec![0.0; n],
        route: Route::Direct,
        calls: 0,
        support: Some(Vec::new()),
        status: RowStatus::Determined,
        residual: Some(0.0),
        erasures: Vec::new(),
        outliers: Vec::new(),
        decoder: DecodedBy::Nothing,
    };
    vec![zero; count]
}
