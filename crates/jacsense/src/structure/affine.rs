//! The affine parametrization `vec(J) = P z + c` (DESIGN.md §2).
//!
//! Everything known about `J` compiles into it: the sparsity pattern (each allowed
//! entry an unknown), symmetry (`J_ij` and `J_ji` one unknown), tied entries (equal,
//! or equal up to known factors), known entries (into `c`) and linear row relations
//! (row `r` a known combination of other rows plus a known constant row: its entries
//! are no unknowns of their own). The result says how many unknowns remain — the
//! intrinsic dimension `d` — and which unknowns each row touches; rows that share an
//! unknown are *coupled* and decode jointly.
//!
//! Ties and symmetry are merged with a union–find that carries the factor between an
//! entry and its group's representative, so contradictions (an entry tied to itself
//! with another factor, a group holding two different known values, a relation that
//! refers to itself or to a row that refers back) are found and named.

use crate::error::{Error, Result};
use crate::pattern::{Pattern, SparseMatrix};

/// What is known about `J` beyond its sparsity pattern.
///
/// ```
/// use jacsense::Coupling;
/// let mut c = Coupling::default();
/// c.symmetric = true;
/// c.ties.push(vec![(0, 0, 1.0), (1, 1, 1.0)]); // J₀₀ = J₁₁
/// c.known.push((2, 2, 4.0));                    // J₂₂ = 4
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Coupling {
    /// `J = Jᵀ` (square `J`; the pattern is made symmetric).
    pub symmetric: bool,
    /// Groups of tied entries `(i, j, factor)`: `J_ij = factor · z_group`.
    pub ties: Vec<Vec<(usize, usize, f64)>>,
    /// Known entries `(i, j, value)`.
    pub known: Vec<(usize, usize, f64)>,
    /// Rows that are known combinations of other rows.
    pub relations: Vec<Relation>,
}

/// Row `row` of `J` equals `Σ coefficient · J[other, ·]` plus a known constant row.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Relation {
    /// The derived row.
    pub row: usize,
    /// `(other row, coefficient)` pairs.
    pub combination: Vec<(usize, f64)>,
    /// The known constant row, as `(column, value)` pairs.
    pub constant: Vec<(usize, f64)>,
}

/// One entry's expression `Σ coef · z_q + constant`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EntryTerms<'a> {
    /// `(unknown, coefficient)` pairs.
    pub terms: &'a [(usize, f64)],
    /// The known part.
    pub constant: f64,
}

/// `vec(J) = P z + c` over the entries of a pattern.
///
/// ```
/// use jacsense::{Coupling, Parametrization};
/// use jacsense::Pattern;
/// // A symmetric tridiagonal 4×4 matrix: 4 diagonal + 3 off-diagonal unknowns.
/// let c = Coupling { symmetric: true, ..Coupling::default() };
/// let p = Parametrization::new(&Pattern::banded(4, 4, 1, 1), &c)?;
/// assert_eq!(p.intrinsic_dimension(), 7);
/// assert!(p.is_coupled()); // J₀₁ and J₁₀ are one unknown seen by rows 0 and 1
/// # Ok::<(), jacsense::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Parametrization {
    pattern: Pattern,
    term_ptr: Vec<usize>,
    terms: Vec<(usize, f64)>,
    constant: Vec<f64>,
    unknowns: usize,
    row_ptr: Vec<usize>,
    row_unknowns: Vec<usize>,
    /// Rows given by a relation: their equations combine other rows' and add nothing.
    derived: Vec<bool>,
}

/// Union–find over entries with the factor to the representative:
/// `J[e] = factor[e] · J[parent[e]]`.
struct Groups {
    parent: Vec<usize>,
    factor: Vec<f64>,
    /// Scratch space of [`Groups::find`]: chains of ties can be as long as the entries
    /// are many, so the walk to the root is a loop, not a recursion.
    path: Vec<usize>,
}

impl Groups {
    fn new(n: usize) -> Self {
        Groups { parent: (0..n).collect(), factor: vec![1.0; n], path: Vec::new() }
    }

    /// The representative of `e` and `f` with `J[e] = f · J[root]`; every entry on the
    /// way then points at the root directly (path compression).
    fn find(&mut self, e: usize) -> (usize, f64) {
        let mut path = std::mem::take(&mut self.path);
        let mut root = e;
        while self.parent[root] != root {
            path.push(root);
            root = self.parent[root];
        }
        // From the entry nearest the root down, each factor becomes the product of the
        // factors above it, multiplied in the order a recursion would.
        let mut f = 1.0;
        for &x in path.iter().rev() {
            f *= self.factor[x];
            self.factor[x] = f;
            self.parent[x] = root;
        }
        path.clear();
        self.path = path;
        (root, f)
    }

    /// Records `J[a] = ratio · J[b]`; `Err((fa, fb))` when `a` and `b` are already in
    /// one group with another ratio.
    fn union(&mut self, a: usize, b: usize, ratio: f64) -> std::result::Result<(), f64> {
        let (ra, fa) = self.find(a);
        let (rb, fb) = self.find(b);
        if ra == rb {
            let existing = fa / fb;
            let tol = 64.0 * f64::EPSILON * existing.abs().max(ratio.abs());
            return if (existing - ratio).abs() <= tol { Ok(()) } else { Err(existing) };
        }
        // J[ra] = J[a] / fa = ratio · fb / fa · J[rb]
        self.parent[ra] = rb;
        self.factor[ra] = ratio * fb / fa;
        Ok(())
    }
}

fn conflict(message: String) -> Error {
    Error::InvalidStructure(message)
}

impl Parametrization {
    /// Compiles `pattern` (m × n) and `coupling` into `vec(J) = P z + c`.
    ///
    /// Errors name the entries or rows at fault: out-of-range indices, symmetry of a
    /// non-square pattern, a tie or known value that contradicts another, a zero
    /// factor in a tie, a relation that refers to itself or to a row that refers back,
    /// ties or known values on a derived row.
    pub fn new(pattern: &Pattern, coupling: &Coupling) -> Result<Parametrization> {
        let (m, n) = (pattern.nrows(), pattern.ncols());
        let oob = |i: usize, j: usize| Error::EntryOutOfBounds { row: i, col: j, nrows: m, ncols: n };
        let derived: Vec<Option<usize>> = {
            let mut d = vec![None; m];
            for (k, rel) in coupling.relations.iter().enumerate() {
                if rel.row >= m {
                    return Err(oob(rel.row, 0));
                }
                if d[rel.row].replace(k).is_some() {
                    return Err(conflict(format!("row {} has two relations", rel.row)));
                }
                for &(s, alpha) in &rel.combination {
                    if s >= m {
                        return Err(oob(s, 0));
                    }
                    if s == rel.row {
                        return Err(conflict(format!("the relation for row {s} refers to itself")));
                    }
                    if !alpha.is_finite() {
                        return Err(conflict(format!(
                            "the relation for row {}: coefficient {alpha} of row {s} is not finite",
                            rel.row
                        )));
                    }
                }
                if let Some(&(j, _)) = rel.constant.iter().find(|&&(j, _)| j >= n) {
                    return Err(oob(rel.row, j));
                }
                if let Some(&(j, v)) = rel.constant.iter().find(|&&(_, v)| !v.is_finite()) {
                    return Err(conflict(format!(
                        "the relation for row {}: constant {v} at column {j} is not finite",
                        rel.row
                    )));
                }
            }
            d
        };
        let order = relation_order(m, coupling, &derived)?;

        // The entries that may be nonzero: the pattern, its transpose when symmetric,
        // tied and nonzero known entries; derived rows get theirs from the relation.
        let mut entries: Vec<(usize, usize)> = pattern.entries().collect();
        if coupling.symmetric {
            if m != n {
                return Err(conflict(format!("a symmetric J must be square, this pattern is {m}×{n}")));
            }
            entries.extend(pattern.entries().map(|(i, j)| (j, i)));
        }
        for group in &coupling.ties {
            for &(i, j, f) in group {
                if i >= m || j >= n {
                    return Err(oob(i, j));
                }
                if f == 0.0 || !f.is_finite() {
                    return Err(conflict(format!(
                        "entry ({i}, {j}) is tied with factor {f}; use a known value instead"
                    )));
                }
                entries.push((i, j));
                if coupling.symmetric {
                    entries.push((j, i));
                }
            }
        }
        for &(i, j, v) in &coupling.known {
            if i >= m || j >= n {
                return Err(oob(i, j));
            }
            if !v.is_finite() {
                return Err(conflict(format!("known entry ({i}, {j}) = {v} is not finite")));
            }
            if v != 0.0 {
                entries.push((i, j));
                if coupling.symmetric {
                    entries.push((j, i));
                }
            }
        }
        // A set, not a scan of the ties and known entries per entry: derived rows can
        // hold as many entries as the pattern.
        let fixed: std::collections::HashSet<(usize, usize)> = coupling
            .ties
            .iter()
            .flatten()
            .map(|&(a, b, _)| (a, b))
            .chain(coupling.known.iter().map(|&(a, b, _)| (a, b)))
            .filter(|&(a, _)| derived[a].is_some())
            .collect();
        if let Some(&(i, j)) = entries.iter().find(|&&(i, j)| derived[i].is_some() && fixed.contains(&(i, j))) {
            return Err(conflict(format!(
                "row {i} is derived by a relation; entry ({i}, {j}) cannot be tied or known"
            )));
        }
        // A derived row's own pattern entries are replaced by what its relation implies.
        entries.retain(|&(i, _)| derived[i].is_none());
        let base = Pattern::from_triplets(m, n, &entries)?;

        // Union–find over the entries of the non-derived rows.
        let mut groups = Groups::new(base.nnz());
        let pos = |i: usize, j: usize| base.position(i, j).expect("entry is in the base pattern");
        if coupling.symmetric {
            if let Some((i, j)) = base.entries().find(|&(i, j)| i != j && derived[j].is_some()) {
                return Err(conflict(format!(
                    "J is symmetric but row {j} is derived by a relation: entry ({i}, {j}) would have to equal a derived entry"
                )));
            }
            for (i, j) in base.entries().filter(|&(i, j)| i < j) {
                groups.union(pos(i, j), pos(j, i), 1.0).map_err(|_| unreachable_conflict(i, j))?;
            }
        }
        for group in &coupling.ties {
            let Some(&(i0, j0, f0)) = group.first() else { continue };
            for &(i, j, f) in &group[1..] {
                let ratio = f / f0;
                if !ratio.is_finite() || ratio == 0.0 {
                    return Err(conflict(format!(
                        "entry ({i}, {j}) is tied to ({i0}, {j0}) with factor {f:?} / {f0:?} = {ratio:?}, beyond the range of f64"
                    )));
                }
                groups.union(pos(i, j), pos(i0, j0), ratio).map_err(|existing| {
                    conflict(format!(
                        "entry ({i}, {j}) is tied to ({i0}, {j0}) with factor {} but is already {existing} times it",
                        f / f0
                    ))
                })?;
            }
        }
        let mut known_root: Vec<Option<(f64, usize, usize)>> = vec![None; base.nnz()];
        for &(i, j, v) in &coupling.known {
            let Some(e) = base.position(i, j) else { continue }; // a zero outside the pattern
            let (root, f) = groups.find(e);
            let value = v / f;
            match known_root[root] {
                Some((w, a, b)) if (w - value).abs() > 64.0 * f64::EPSILON * w.abs().max(value.abs()) => {
                    return Err(conflict(format!(
                        "known entry ({i}, {j}) = {v} contradicts known entry ({a}, {b}) through their tie or symmetry"
                    )));
                }
                _ => known_root[root] = Some((value, i, j)),
            }
        }
        // Zeros known inside the pattern.
        let mut index = vec![usize::MAX; base.nnz()];
        let mut unknowns = 0;
        let mut entry_terms: Vec<(Vec<(usize, f64)>, f64)> = Vec::with_capacity(base.nnz());
        for (e, (i, j)) in base.entries().enumerate() {
            let (root, f) = groups.find(e);
            // Finite ratios can still multiply beyond f64 along a chain of ties.
            if !f.is_finite() || f == 0.0 {
                return Err(conflict(format!(
                    "entry ({i}, {j}) is {f} times its group's first entry: the factors of its ties multiply beyond the range of f64"
                )));
            }
            entry_terms.push(match known_root[root] {
                Some((v, a, b)) => {
                    // A finite known value times a finite factor can still leave f64.
                    let value = f * v;
                    if !value.is_finite() {
                        return Err(conflict(format!(
                            "entry ({i}, {j}) is tied to known entry ({a}, {b}) by factors that carry its value beyond the range of f64"
                        )));
                    }
                    (Vec::new(), value)
                }
                None => {
                    if index[root] == usize::MAX {
                        index[root] = unknowns;
                        unknowns += 1;
                    }
                    (vec![(index[root], f)], 0.0)
                }
            });
        }

        // Derived rows, in an order where every row they combine is done.
        let mut rows: Vec<Vec<Entry>> = (0..m)
            .map(|i| {
                let p = base.row_start(i);
                base.row(i)
                    .iter()
                    .enumerate()
                    .map(|(q, &j)| (j, entry_terms[p + q].0.clone(), entry_terms[p + q].1))
                    .collect()
            })
            .collect();
        for &r in &order {
            let rel = &coupling.relations[derived[r].expect("ordered rows are derived")];
            let mut acc: std::collections::BTreeMap<usize, (Vec<(usize, f64)>, f64)> = Default::default();
            for &(s, alpha) in &rel.combination {
                for (j, terms, c) in &rows[s] {
                    let slot = acc.entry(*j).or_default();
                    slot.0.extend(terms.iter().map(|&(q, coef)| (q, alpha * coef)));
                    slot.1 += alpha * c;
                }
            }
            for &(j, v) in &rel.constant {
                acc.entry(j).or_default().1 += v;
            }
            rows[r] = acc
                .into_iter()
                .map(|(j, (mut terms, c))| {
                    terms.sort_unstable_by_key(|t| t.0);
                    let mut merged: Vec<(usize, f64)> = Vec::with_capacity(terms.len());
                    for (q, coef) in terms {
                        match merged.last_mut() {
                            Some(last) if last.0 == q => last.1 += coef,
                            _ => merged.push((q, coef)),
                        }
                    }
                    merged.retain(|t| t.1 != 0.0);
                    (j, merged, c)
                })
                .filter(|(_, terms, c)| !terms.is_empty() || *c != 0.0)
                .collect();
            // Finite coefficients can still compose beyond f64 along a chain of relations.
            if let Some((j, _, _)) =
                rows[r].iter().find(|(_, t, c)| !c.is_finite() || t.iter().any(|x| !x.1.is_finite()))
            {
                return Err(conflict(format!(
                    "the relation for row {r} gives entry ({r}, {j}) a coefficient beyond the range of f64 (relations compose their coefficients)"
                )));
            }
        }

        // Assemble.
        let row_cols: Vec<Vec<usize>> = rows.iter().map(|r| r.iter().map(|e| e.0).collect()).collect();
        let pattern = Pattern::from_rows(n, &row_cols)?;
        let (mut term_ptr, mut terms, mut constant) = (vec![0], Vec::new(), Vec::new());
        let (mut row_ptr, mut row_unknowns) = (vec![0], Vec::new());
        for r in &rows {
            let start = row_unknowns.len();
            for (_, t, c) in r {
                terms.extend_from_slice(t);
                term_ptr.push(terms.len());
                constant.push(*c);
                row_unknowns.extend(t.iter().map(|x| x.0));
            }
            row_unknowns[start..].sort_unstable();
            let mut w = start;
            for q in start..row_unknowns.len() {
                if q == start || row_unknowns[q] != row_unknowns[w - 1] {
                    row_unknowns[w] = row_unknowns[q];
                    w += 1;
                }
            }
            row_unknowns.truncate(w);
            row_ptr.push(row_unknowns.len());
        }
        let derived = derived.iter().map(Option::is_some).collect();
        Ok(Parametrization { pattern, term_ptr, terms, constant, unknowns, row_ptr, row_unknowns, derived })
    }

    /// The entries that may be nonzero (derived rows included).
    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// The number of unknowns `d`.
    pub fn intrinsic_dimension(&self) -> usize {
        self.unknowns
    }

    /// Entry `e` (in the order of [`pattern`](Self::pattern)'s entries) as
    /// `Σ coef · z_q + constant`.
    pub fn entry(&self, e: usize) -> EntryTerms<'_> {
        EntryTerms { terms: &self.terms[self.term_ptr[e]..self.term_ptr[e + 1]], constant: self.constant[e] }
    }

    /// The unknowns row `i` touches, ascending.
    pub fn row_unknowns(&self, i: usize) -> &[usize] {
        &self.row_unknowns[self.row_ptr[i]..self.row_ptr[i + 1]]
    }

    /// A lower bound on the measurements a joint decode needs: every measurement gives
    /// one equation per row that touches an unknown, so at least `⌈d / rows⌉`; and an
    /// unknown seen by one row only is seen through that row's equations alone, so at
    /// least the largest number of unknowns private to one row. Rows derived by a
    /// relation are not counted: their equations are combinations of other rows' (an
    /// integrator's `q' = q + dt·q̇'` leaves `q̇'`'s unknowns private to `q̇'`'s row).
    /// Not tight in general (other rows whose equations repeat each other add nothing).
    ///
    /// One case is tight: a dense `n × n` pattern whose only coupling is symmetry (every
    /// symmetric `J` is allowed) needs `n`, for with fewer directions some `v ≠ 0` is
    /// orthogonal to all of them and `J + v vᵀ` measures the same. That is also what
    /// suffices, so a rank trial between the two bounds has nothing to try.
    ///
    /// ```
    /// use jacsense::{Coupling, Parametrization};
    /// use jacsense::Pattern;
    /// let symmetric = Coupling { symmetric: true, ..Coupling::default() };
    /// let p = Parametrization::new(&Pattern::dense(30, 30), &symmetric)?;
    /// assert_eq!((p.intrinsic_dimension(), p.lower_bound(), p.sufficient_measurements()), (465, 30, 30));
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn lower_bound(&self) -> usize {
        if self.is_free_symmetric_dense() {
            return self.pattern.ncols();
        }
        let m = self.pattern.nrows();
        let counted = |i: &usize| !self.derived[*i];
        let mut rows_of = vec![0usize; self.unknowns];
        for i in (0..m).filter(counted) {
            self.row_unknowns(i).iter().for_each(|&q| rows_of[q] += 1);
        }
        let private =
            (0..m).filter(counted).map(|i| self.row_unknowns(i).iter().filter(|&&q| rows_of[q] == 1).count()).max();
        let active = (0..m).filter(counted).filter(|&i| !self.row_unknowns(i).is_empty()).count();
        let share = if active == 0 { 0 } else { self.unknowns.div_ceil(active) };
        share.max(private.unwrap_or(0))
    }

    /// Whether the pattern is dense and square and the parametrization allows every
    /// symmetric `J` on it: every entry is one unknown with factor 1, shared with its
    /// mirror, and there are `n(n + 1)/2` unknowns (so no two pairs share one, and
    /// nothing is known or derived).
    fn is_free_symmetric_dense(&self) -> bool {
        let n = self.pattern.ncols();
        if !self.pattern.is_dense() || self.pattern.nrows() != n || n == 0 {
            return false;
        }
        if n.checked_mul(n + 1).map(|p| p / 2) != Some(self.unknowns) {
            return false;
        }
        let single = |e: usize| match self.entry(e) {
            EntryTerms { terms: &[(q, f)], constant } if f == 1.0 && constant == 0.0 => Some(q),
            _ => None,
        };
        (0..n).all(|i| (i..n).all(|j| single(i * n + j).is_some_and(|q| single(j * n + i) == Some(q))))
    }

    /// Measurements that always suffice with generic (Gaussian) directions: the
    /// largest number of unknowns one row touches (each row then sees its whole part
    /// of `z`).
    pub fn sufficient_measurements(&self) -> usize {
        (0..self.pattern.nrows()).map(|i| self.row_unknowns(i).len()).max().unwrap_or(0)
    }

    /// Whether some unknown is touched by two rows (rows then decode jointly).
    pub fn is_coupled(&self) -> bool {
        let mut seen = vec![false; self.unknowns];
        (0..self.pattern.nrows()).any(|i| self.row_unknowns(i).iter().any(|&q| std::mem::replace(&mut seen[q], true)))
    }

    /// `J = P z + c`.
    ///
    /// # Panics
    /// When `z` does not have `d` entries.
    pub fn assemble(&self, z: &[f64]) -> SparseMatrix {
        assert_eq!(z.len(), self.unknowns, "one value per unknown");
        let values = (0..self.pattern.nnz())
            .map(|e| {
                let t = self.entry(e);
                t.terms.iter().map(|&(q, c)| c * z[q]).sum::<f64>() + t.constant
            })
            .collect();
        SparseMatrix::new(self.pattern.clone(), values).expect("one value per entry")
    }
}

/// An entry while the parametrization is built: column, terms, constant.
type Entry = (usize, Vec<(usize, f64)>, f64);

fn unreachable_conflict(i: usize, j: usize) -> Error {
    conflict(format!("symmetry of entries ({i}, {j}) and ({j}, {i}) contradicts a tie between them"))
}

/// Derived rows in an order where each comes after the derived rows it combines;
/// a cycle is an error naming a row on it.
///
/// A depth-first search with an explicit stack: a chain of relations (row r = row r − 1,
/// e.g. time steps) is as deep as the rows are many, far beyond a thread's stack.
fn relation_order(m: usize, coupling: &Coupling, derived: &[Option<usize>]) -> Result<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut mark = vec![Mark::New; m];
    let mut order = Vec::new();
    // (row, how many of its relation's rows were visited)
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let combination = |r: usize| derived[r].map_or(&[][..], |k| coupling.relations[k].combination.as_slice());
    for rel in &coupling.relations {
        if mark[rel.row] != Mark::New {
            continue;
        }
        mark[rel.row] = Mark::Active;
        stack.push((rel.row, 0));
        while let Some((r, next)) = stack.last_mut() {
            let r = *r;
            if let Some(&(s, _)) = combination(r).get(*next) {
                *next += 1;
                if derived[s].is_none() {
                    continue;
                }
                match mark[s] {
                    Mark::Done => {}
                    Mark::Active => {
                        return Err(conflict(format!(
                            "the relations of row {s} and the rows it combines form a cycle"
                        )));
                    }
                    Mark::New => {
                        mark[s] = Mark::Active;
                        stack.push((s, 0));
                    }
                }
            } else {
                order.push(r);
                mark[r] = Mark::Done;
                stack.pop();
            }
        }
    }
    Ok(order)
}
