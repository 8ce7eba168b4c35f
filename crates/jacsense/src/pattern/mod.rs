//! Sparsity patterns: which entries of `J` may be nonzero.
//!
//! A [`Pattern`] is a compressed-sparse-row (CSR) structure without values: row `i`
//! holds the sorted, distinct columns where `J[i, ·]` may be nonzero. Constructors
//! validate their input (indices in range, duplicates merged, empty rows allowed) and
//! name the offending entry when it is out of range. [`SparseMatrix`] adds values.
//!
//! A pattern in which every entry is allowed (nothing is known about `J`) is held as
//! *dense*: `O(n)` memory instead of `m·n` indices, every row one shared `0..n` slice,
//! and the counts that planning asks for (`nnz`, `ρ_max`, the transpose) in `O(1)`.
//! Every constructor returns the dense form for a full pattern, so equal patterns are
//! stored alike, and [`Pattern::is_dense`] tells the algorithms that can answer
//! without looking at `m·n` entries (a full row forces `χ = n` colors, for one).

mod matrix_market;

pub use matrix_market::{MatrixMarketField, read_matrix_market, write_matrix_market};

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use crate::error::{Error, Result};

/// The most rows or columns a pattern may have: 2²⁷ = 134,217,728. A pattern holds
/// `nrows + 1` row pointers and every design a few words per column, so a dimension
/// read from a file header or a command line is checked against this before anything
/// of that size is allocated (1 GiB of row pointers at the limit).
pub const MAX_DIMENSION: usize = 1 << 27;

/// `Err(OverLimit)` when `nrows` or `ncols` exceeds [`MAX_DIMENSION`].
pub(crate) fn check_dims(nrows: usize, ncols: usize) -> Result<()> {
    for (what, size) in [("pattern rows m", nrows), ("pattern columns n", ncols)] {
        if size > MAX_DIMENSION {
            return Err(Error::OverLimit { what: what.into(), size: size as u128, limit: MAX_DIMENSION });
        }
    }
    Ok(())
}

/// A sparsity pattern in CSR form: sorted, distinct column indices per row.
///
/// ```
/// use jacsense::Pattern;
/// let p = Pattern::from_triplets(2, 3, &[(0, 2), (1, 0), (0, 0), (0, 2)])?;
/// assert_eq!(p.row(0), &[0, 2]); // sorted, duplicate merged
/// assert_eq!(p.nnz(), 3);
/// assert_eq!(p.max_row_count(), 2);
/// # Ok::<(), jacsense::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    nrows: usize,
    ncols: usize,
    storage: Storage,
}

/// How the entries are held; clones share them. Canonical: a pattern in which every
/// entry is allowed is always `Dense` (even with no rows or no columns), so that equal
/// patterns have equal storage and the derived equality is the equality of patterns.
#[derive(Clone, PartialEq, Eq)]
enum Storage {
    /// Row `i` holds `col_idx[row_ptr[i]..row_ptr[i + 1]]`. (`Arc<Vec<_>>`, not
    /// `Arc<[_]>`: wrapping the vectors built moves them instead of copying.)
    Csr { row_ptr: Arc<Vec<usize>>, col_idx: Arc<Vec<usize>> },
    /// Every row holds `cols = 0..ncols`, one slice shared by all rows.
    Dense { cols: Arc<[usize]> },
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Storage::Csr { row_ptr, col_idx } => {
                f.debug_struct("Csr").field("row_ptr", row_ptr).field("col_idx", col_idx).finish()
            }
            Storage::Dense { cols } => write!(f, "Dense {{ cols: 0..{} }}", cols.len()),
        }
    }
}

impl Pattern {
    /// Builds a pattern from `(row, col)` pairs. Duplicates are merged; an entry out of
    /// range is an [`Error::EntryOutOfBounds`] naming it.
    ///
    /// ```
    /// # use jacsense::Pattern;
    /// let err = Pattern::from_triplets(5, 10, &[(7, 12)]).unwrap_err();
    /// assert_eq!(err.to_string(), "pattern entry (7, 12) is outside a 5×10 matrix");
    /// ```
    pub fn from_triplets(nrows: usize, ncols: usize, entries: &[(usize, usize)]) -> Result<Self> {
        check_dims(nrows, ncols)?;
        let mut counts = vec![0usize; nrows + 1];
        for &(r, c) in entries {
            if r >= nrows || c >= ncols {
                return Err(Error::EntryOutOfBounds { row: r, col: c, nrows, ncols });
            }
            counts[r + 1] += 1;
        }
        for i in 0..nrows {
            counts[i + 1] += counts[i];
        }
        let mut next = counts.clone();
        let mut cols = vec![0usize; entries.len()];
        for &(r, c) in entries {
            cols[next[r]] = c;
            next[r] += 1;
        }
        let rows = (0..nrows).map(|i| &cols[counts[i]..counts[i + 1]]);
        Ok(Self::from_unsorted_rows(nrows, ncols, rows))
    }

    /// Builds a pattern from the column lists of each row (any order, duplicates
    /// allowed).
    ///
    /// ```
    /// # use jacsense::Pattern;
    /// let p = Pattern::from_rows(4, &[vec![3, 1], vec![], vec![0, 0, 2]])?;
    /// assert_eq!((p.nrows(), p.ncols(), p.nnz()), (3, 4, 4));
    /// assert!(p.row(1).is_empty());
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn from_rows<R: AsRef<[usize]>>(ncols: usize, rows: &[R]) -> Result<Self> {
        let nrows = rows.len();
        check_dims(nrows, ncols)?;
        for (r, row) in rows.iter().enumerate() {
            if let Some(&c) = row.as_ref().iter().find(|&&c| c >= ncols) {
                return Err(Error::EntryOutOfBounds { row: r, col: c, nrows, ncols });
            }
        }
        Ok(Self::from_unsorted_rows(nrows, ncols, rows.iter().map(|r| r.as_ref())))
    }

    /// Builds a pattern from CSR arrays, validating them.
    ///
    /// ```
    /// # use jacsense::Pattern;
    /// let p = Pattern::from_csr(2, 2, vec![0, 1, 3], vec![1, 0, 1])?;
    /// assert_eq!(p.row(1), &[0, 1]);
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn from_csr(nrows: usize, ncols: usize, row_ptr: Vec<usize>, col_idx: Vec<usize>) -> Result<Self> {
        check_dims(nrows, ncols)?;
        if row_ptr.len() != nrows + 1 {
            return Err(Error::DimensionMismatch { what: "row_ptr length", expected: nrows + 1, found: row_ptr.len() });
        }
        if row_ptr[0] != 0 || row_ptr[nrows] != col_idx.len() || row_ptr.windows(2).any(|w| w[0] > w[1]) {
            return Err(Error::InvalidSetting {
                name: "row_ptr",
                value: format!("[{}, …, {}]", row_ptr[0], row_ptr[nrows]),
                reason: "must start at 0, be non-decreasing and end at the number of column indices",
            });
        }
        let rows: Vec<&[usize]> = (0..nrows).map(|i| &col_idx[row_ptr[i]..row_ptr[i + 1]]).collect();
        Self::from_rows(ncols, &rows)
    }

    fn from_unsorted_rows<'a>(nrows: usize, ncols: usize, rows: impl Iterator<Item = &'a [usize]> + Clone) -> Self {
        let mut row_ptr = Vec::with_capacity(nrows + 1);
        // Sized once (duplicates aside): no doubling growth, whose peak is twice the
        // pattern.
        let mut col_idx = Vec::with_capacity(rows.clone().map(<[usize]>::len).sum());
        row_ptr.push(0);
        let mut buf = Vec::new();
        for row in rows {
            buf.clear();
            buf.extend_from_slice(row);
            buf.sort_unstable();
            buf.dedup();
            col_idx.extend_from_slice(&buf);
            row_ptr.push(col_idx.len());
        }
        col_idx.shrink_to_fit();
        Self::from_csr_parts(nrows, ncols, row_ptr, col_idx)
    }

    /// Wraps valid CSR arrays (sorted, distinct, in range), in the dense form when
    /// every entry is there.
    fn from_csr_parts(nrows: usize, ncols: usize, row_ptr: Vec<usize>, col_idx: Vec<usize>) -> Self {
        if nrows.checked_mul(ncols) == Some(col_idx.len()) {
            return Self::dense(nrows, ncols);
        }
        Pattern { nrows, ncols, storage: Storage::Csr { row_ptr: row_ptr.into(), col_idx: col_idx.into() } }
    }

    /// The dense pattern: every entry may be nonzero. It takes `O(n)` memory, not
    /// `O(m·n)`: every row is one shared slice `0..n`.
    ///
    /// ```
    /// # use jacsense::Pattern;
    /// let p = Pattern::dense(3, 4);
    /// assert_eq!((p.nnz(), p.max_row_count()), (12, 4));
    /// assert_eq!(p.row(2), &[0, 1, 2, 3]);
    /// assert!(p.is_dense());
    /// // Any full pattern is dense, however it was built.
    /// assert_eq!(Pattern::banded(3, 4, 3, 3), p);
    /// // A million by a million costs a few megabytes.
    /// assert_eq!(Pattern::dense(1_000_000, 1_000_000).nnz(), 1_000_000_000_000);
    /// ```
    pub fn dense(nrows: usize, ncols: usize) -> Self {
        Pattern { nrows, ncols, storage: Storage::Dense { cols: (0..ncols).collect() } }
    }

    /// Whether every entry is allowed (nothing is known about `J`): then every row is
    /// `0..n`, and the pattern is held in `O(n)` memory.
    ///
    /// ```
    /// # use jacsense::Pattern;
    /// assert!(Pattern::from_rows(2, &[vec![1, 0], vec![0, 1]])?.is_dense());
    /// assert!(!Pattern::banded(3, 3, 1, 1).is_dense());
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn is_dense(&self) -> bool {
        matches!(self.storage, Storage::Dense { .. })
    }

    /// The dense pattern, or `Err(OverLimit)` when `nrows` or `ncols` exceeds
    /// [`MAX_DIMENSION`] (checked before the `O(n)` columns are allocated): for sizes
    /// that come from input.
    ///
    /// ```
    /// # use jacsense::Pattern;
    /// assert_eq!(Pattern::try_dense(3, 4)?.nnz(), 12);
    /// let err = Pattern::try_dense(99_999_999_999_999, 4).unwrap_err();
    /// assert!(err.to_string().contains("pattern rows m = 99999999999999"));
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn try_dense(nrows: usize, ncols: usize) -> Result<Self> {
        check_dims(nrows, ncols)?;
        Ok(Self::dense(nrows, ncols))
    }

    /// A banded pattern: entry `(i, j)` is allowed when `i − lower ≤ j ≤ i + upper`.
    ///
    /// ```
    /// # use jacsense::Pattern;
    /// let tridiagonal = Pattern::banded(4, 4, 1, 1);
    /// assert_eq!(tridiagonal.row(0), &[0, 1]);
    /// assert_eq!(tridiagonal.row(2), &[1, 2, 3]);
    /// ```
    pub fn banded(nrows: usize, ncols: usize, lower: usize, upper: usize) -> Self {
        let rows = (0..nrows).map(|i| {
            let lo = i.saturating_sub(lower);
            let hi = (i + upper + 1).min(ncols);
            (lo.min(hi)..hi).collect::<Vec<_>>()
        });
        let rows: Vec<Vec<usize>> = rows.collect();
        Self::from_unsorted_rows(nrows, ncols, rows.iter().map(|r| r.as_slice()))
    }

    /// A block-diagonal pattern with dense blocks of the given `(rows, cols)` sizes.
    ///
    /// ```
    /// # use jacsense::Pattern;
    /// let p = Pattern::block_diagonal(&[(2, 2), (1, 3)]);
    /// assert_eq!((p.nrows(), p.ncols()), (3, 5));
    /// assert_eq!(p.row(2), &[2, 3, 4]);
    /// ```
    pub fn block_diagonal(blocks: &[(usize, usize)]) -> Self {
        let mut rows = Vec::new();
        let mut col0 = 0;
        for &(r, c) in blocks {
            for _ in 0..r {
                rows.push((col0..col0 + c).collect::<Vec<_>>());
            }
            col0 += c;
        }
        Self::from_unsorted_rows(rows.len(), col0, rows.iter().map(|r| r.as_slice()))
    }

    /// Number of rows (outputs, `m`).
    pub fn nrows(&self) -> usize {
        self.nrows
    }

    /// Number of columns (inputs, `n`).
    pub fn ncols(&self) -> usize {
        self.ncols
    }

    /// Number of allowed entries. A dense pattern whose `m·n` exceeds `usize::MAX`
    /// (which nothing could store values for) counts `usize::MAX`.
    pub fn nnz(&self) -> usize {
        match &self.storage {
            Storage::Csr { col_idx, .. } => col_idx.len(),
            Storage::Dense { .. } => self.nrows.saturating_mul(self.ncols),
        }
    }

    /// The sorted columns allowed in row `i`.
    ///
    /// # Panics
    /// When `i >= nrows()`.
    pub fn row(&self, i: usize) -> &[usize] {
        match &self.storage {
            Storage::Csr { row_ptr, col_idx } => &col_idx[row_ptr[i]..row_ptr[i + 1]],
            Storage::Dense { cols } => {
                assert!(i < self.nrows, "row {i} of a pattern with {} rows", self.nrows);
                cols
            }
        }
    }

    /// Where row `i` starts among the entries in row-major order (the values of a
    /// [`SparseMatrix`]); `row_start(nrows())` is [`nnz`](Self::nnz). The CSR row
    /// pointer, for either storage.
    ///
    /// ```
    /// # use jacsense::Pattern;
    /// let p = Pattern::banded(3, 3, 1, 1);
    /// assert_eq!((0..=3).map(|i| p.row_start(i)).collect::<Vec<_>>(), [0, 2, 5, 7]);
    /// assert_eq!(Pattern::dense(3, 4).row_start(2), 8);
    /// ```
    ///
    /// # Panics
    /// When `i > nrows()`.
    pub fn row_start(&self, i: usize) -> usize {
        match &self.storage {
            Storage::Csr { row_ptr, .. } => row_ptr[i],
            Storage::Dense { .. } => {
                assert!(i <= self.nrows, "row {i} of a pattern with {} rows", self.nrows);
                i * self.ncols
            }
        }
    }

    /// The positions of row `i`'s entries among all entries in row-major order:
    /// `values[p.row_range(i)]` are row `i`'s values in a [`SparseMatrix`].
    ///
    /// ```
    /// # use jacsense::Pattern;
    /// assert_eq!(Pattern::banded(3, 3, 1, 1).row_range(1), 2..5);
    /// ```
    ///
    /// # Panics
    /// When `i >= nrows()`.
    pub fn row_range(&self, i: usize) -> Range<usize> {
        match &self.storage {
            Storage::Csr { row_ptr, .. } => row_ptr[i]..row_ptr[i + 1],
            Storage::Dense { .. } => {
                assert!(i < self.nrows, "row {i} of a pattern with {} rows", self.nrows);
                i * self.ncols..(i + 1) * self.ncols
            }
        }
    }

    /// Number of entries in row `i` (`ρᵢ`).
    pub fn row_count(&self, i: usize) -> usize {
        self.row(i).len()
    }

    /// The largest row count `ρ_max`: a lower bound on the calls any design needs to
    /// determine every row when rows are decoded independently.
    pub fn max_row_count(&self) -> usize {
        match &self.storage {
            Storage::Dense { .. } if self.nrows > 0 => self.ncols,
            _ => (0..self.nrows).map(|i| self.row_count(i)).max().unwrap_or(0),
        }
    }

    /// Position of entry `(i, j)` among the entries in row-major order, if allowed.
    pub fn position(&self, i: usize, j: usize) -> Option<usize> {
        match &self.storage {
            Storage::Csr { .. } => self.row(i).binary_search(&j).ok().map(|p| self.row_start(i) + p),
            Storage::Dense { .. } => (j < self.ncols).then(|| self.row_start(i) + j),
        }
    }

    /// The CSR arrays `(row_ptr, col_idx)`, borrowed, or built for a dense pattern (an
    /// `m·n` array: for the algorithms that have a dense shortcut and only fall back here).
    pub(crate) fn csr(&self) -> (Cow<'_, [usize]>, Cow<'_, [usize]>) {
        match &self.storage {
            Storage::Csr { row_ptr, col_idx } => (Cow::Borrowed(&row_ptr[..]), Cow::Borrowed(&col_idx[..])),
            Storage::Dense { cols } => (
                (0..=self.nrows).map(|i| i * self.ncols).collect(),
                (0..self.nrows).flat_map(|_| cols.iter().copied()).collect(),
            ),
        }
    }

    /// Whether entry `(i, j)` is allowed.
    pub fn contains(&self, i: usize, j: usize) -> bool {
        i < self.nrows && self.position(i, j).is_some()
    }

    /// The transposed pattern (columns become rows).
    ///
    /// ```
    /// # use jacsense::Pattern;
    /// let p = Pattern::from_triplets(2, 3, &[(0, 2), (1, 2), (1, 0)])?;
    /// let t = p.transpose();
    /// assert_eq!(t.row(2), &[0, 1]);
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn transpose(&self) -> Pattern {
        let Storage::Csr { col_idx: entries, .. } = &self.storage else {
            return Pattern::dense(self.ncols, self.nrows);
        };
        let mut row_ptr = vec![0usize; self.ncols + 1];
        for &c in entries.iter() {
            row_ptr[c + 1] += 1;
        }
        for j in 0..self.ncols {
            row_ptr[j + 1] += row_ptr[j];
        }
        let mut next = row_ptr.clone();
        let mut col_idx = vec![0usize; entries.len()];
        for i in 0..self.nrows {
            for &c in self.row(i) {
                col_idx[next[c]] = i;
                next[c] += 1;
            }
        }
        Pattern {
            nrows: self.ncols,
            ncols: self.nrows,
            storage: Storage::Csr { row_ptr: row_ptr.into(), col_idx: col_idx.into() },
        }
    }

    /// All `(row, col)` entries in row-major order.
    pub fn entries(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..self.nrows).flat_map(move |i| self.row(i).iter().map(move |&j| (i, j)))
    }
}

/// A sparse matrix in CSR form: a [`Pattern`] and one value per allowed entry.
///
/// ```
/// use jacsense::{Pattern, SparseMatrix};
/// let a = SparseMatrix::new(Pattern::banded(3, 3, 0, 1), vec![1.0, 2.0, 3.0, 4.0, 5.0])?;
/// assert_eq!(a.get(0, 1), 2.0);
/// assert_eq!(a.get(1, 0), 0.0);
/// let mut y = [0.0; 3];
/// a.mul_vec(&[1.0, 1.0, 1.0], &mut y);
/// assert_eq!(y, [3.0, 7.0, 5.0]);
/// # Ok::<(), jacsense::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SparseMatrix {
    pattern: Pattern,
    values: Vec<f64>,
}

impl SparseMatrix {
    /// Pairs a pattern with its values (one per allowed entry, row-major).
    pub fn new(pattern: Pattern, values: Vec<f64>) -> Result<Self> {
        if values.len() != pattern.nnz() {
            return Err(Error::DimensionMismatch {
                what: "number of values",
                expected: pattern.nnz(),
                found: values.len(),
            });
        }
        Ok(SparseMatrix { pattern, values })
    }

    /// Builds a matrix from `(row, col, value)` triplets; duplicate entries are summed.
    ///
    /// ```
    /// # use jacsense::SparseMatrix;
    /// let a = SparseMatrix::from_triplets(2, 2, &[(0, 0, 1.0), (1, 1, 2.0), (0, 0, 0.5)])?;
    /// assert_eq!(a.get(0, 0), 1.5);
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn from_triplets(nrows: usize, ncols: usize, entries: &[(usize, usize, f64)]) -> Result<Self> {
        let ij: Vec<(usize, usize)> = entries.iter().map(|&(i, j, _)| (i, j)).collect();
        let pattern = Pattern::from_triplets(nrows, ncols, &ij)?;
        let mut values = vec![0.0; pattern.nnz()];
        for &(i, j, v) in entries {
            values[pattern.position(i, j).expect("entry is in the pattern it built")] += v;
        }
        Ok(SparseMatrix { pattern, values })
    }

    /// The sparsity pattern.
    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// The values, row-major: entry `(i, pattern().row(i)[q])` at
    /// `pattern().row_start(i) + q`.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Mutable values.
    pub fn values_mut(&mut self) -> &mut [f64] {
        &mut self.values
    }

    /// The values of row `i`, aligned with `pattern().row(i)`.
    pub fn row_values(&self, i: usize) -> &[f64] {
        &self.values[self.pattern.row_range(i)]
    }

    /// Entry `(i, j)`: its value if allowed, zero otherwise.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.pattern.position(i, j).map_or(0.0, |p| self.values[p])
    }

    /// `y = A x`.
    ///
    /// # Panics
    /// When `x` or `y` has the wrong length.
    pub fn mul_vec(&self, x: &[f64], y: &mut [f64]) {
        assert_eq!(x.len(), self.pattern.ncols(), "x length");
        assert_eq!(y.len(), self.pattern.nrows(), "y length");
        for (i, yi) in y.iter_mut().enumerate() {
            *yi = self.pattern.row(i).iter().zip(self.row_values(i)).map(|(&j, &v)| v * x[j]).sum();
        }
    }

    /// `w = Aᵀ v`.
    ///
    /// # Panics
    /// When `v` or `w` has the wrong length.
    pub fn mul_transpose_vec(&self, v: &[f64], w: &mut [f64]) {
        assert_eq!(v.len(), self.pattern.nrows(), "v length");
        assert_eq!(w.len(), self.pattern.ncols(), "w length");
        w.fill(0.0);
        for (i, &vi) in v.iter().enumerate() {
            for (&j, &a) in self.pattern.row(i).iter().zip(self.row_values(i)) {
                w[j] += a * vi;
            }
        }
    }

    /// The dense matrix.
    pub fn to_dense(&self) -> faer::Mat<f64> {
        let mut d = faer::Mat::zeros(self.pattern.nrows(), self.pattern.ncols());
        for i in 0..self.pattern.nrows() {
            for (&j, &v) in self.pattern.row(i).iter().zip(self.row_values(i)) {
                d[(i, j)] = v;
            }
        }
        d
    }

    /// Frobenius norm.
    pub fn norm_frobenius(&self) -> f64 {
        self.values.iter().map(|v| v * v).sum::<f64>().sqrt()
    }
}
