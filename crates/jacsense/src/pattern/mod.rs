//! Sparsity patterns: which entries of `J` may be nonzero.
//!
//! A [`Pattern`] is a compressed-sparse-row (CSR) structure without values: row `i`
//! holds the sorted, distinct columns where `J[i, ·]` may be nonzero. Constructors
//! validate their input (indices in range, duplicates merged, empty rows allowed) and
//! name the offending entry when it is out of range. [`SparseMatrix`] adds values.

mod matrix_market;

pub use matrix_market::{MatrixMarketField, read_matrix_market, write_matrix_market};

use crate::error::{Error, Result};

/// The most rows or columns a pattern may have: 2²⁷ = 134,217,728. A pattern holds
/// `nrows + 1` row pointers and every design a few words per column, so a dimension
/// read from a file header or a command line is checked against this before anything
/// of that size is allocated (1 GiB of row pointers at the limit).
pub const MAX_DIMENSION: usize = 1 << 27;

/// The most entries [`Pattern::try_dense`] builds: 2²⁸ (2 GiB of column indices).
pub const MAX_DENSE_ENTRIES: usize = 1 << 28;

/// `Err(TooLarge)` when `nrows` or `ncols` exceeds [`MAX_DIMENSION`].
///
/// ```
/// # use jacsense::pattern::check_dims;
/// assert!(check_dims(3, 4).is_ok());
/// let err = check_dims(99_999_999_999_999, 4).unwrap_err();
/// assert!(err.to_string().contains("pattern rows m = 99999999999999"));
/// ```
pub fn check_dims(nrows: usize, ncols: usize) -> Result<()> {
    for (what, size) in [("pattern rows m", nrows), ("pattern columns n", ncols)] {
        if size > MAX_DIMENSION {
            return Err(Error::TooLarge { what: what.into(), size: size as u128, limit: MAX_DIMENSION });
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
    row_ptr: Vec<usize>,
    col_idx: Vec<usize>,
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

    fn from_unsorted_rows<'a>(nrows: usize, ncols: usize, rows: impl Iterator<Item = &'a [usize]>) -> Self {
        let mut row_ptr = Vec::with_capacity(nrows + 1);
        let mut col_idx = Vec::new();
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
        Pattern { nrows, ncols, row_ptr, col_idx }
    }

    /// The dense pattern: every entry may be nonzero.
    ///
    /// ```
    /// # use jacsense::Pattern;
    /// assert_eq!(Pattern::dense(3, 4).nnz(), 12);
    /// ```
    pub fn dense(nrows: usize, ncols: usize) -> Self {
        let row_ptr = (0..=nrows).map(|i| i * ncols).collect();
        let col_idx = (0..nrows).flat_map(|_| 0..ncols).collect();
        Pattern { nrows, ncols, row_ptr, col_idx }
    }

    /// The dense pattern, or `Err(TooLarge)` naming `m × n` when it would hold more
    /// than [`MAX_DENSE_ENTRIES`] entries (checked before anything is allocated).
    ///
    /// ```
    /// # use jacsense::Pattern;
    /// assert_eq!(Pattern::try_dense(3, 4)?.nnz(), 12);
    /// assert!(Pattern::try_dense(1_000_000, 1_000_000).is_err());
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn try_dense(nrows: usize, ncols: usize) -> Result<Self> {
        check_dims(nrows, ncols)?;
        let entries = nrows as u128 * ncols as u128;
        if entries > MAX_DENSE_ENTRIES as u128 {
            return Err(Error::TooLarge {
                what: format!("entries of a dense {nrows}×{ncols} pattern"),
                size: entries,
                limit: MAX_DENSE_ENTRIES,
            });
        }
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

    /// Number of allowed entries.
    pub fn nnz(&self) -> usize {
        self.col_idx.len()
    }

    /// The sorted columns allowed in row `i`.
    pub fn row(&self, i: usize) -> &[usize] {
        &self.col_idx[self.row_ptr[i]..self.row_ptr[i + 1]]
    }

    /// Row pointers (length `nrows + 1`).
    pub fn row_ptr(&self) -> &[usize] {
        &self.row_ptr
    }

    /// Column indices of all rows, concatenated.
    pub fn col_idx(&self) -> &[usize] {
        &self.col_idx
    }

    /// Number of entries in row `i` (`ρᵢ`).
    pub fn row_count(&self, i: usize) -> usize {
        self.row_ptr[i + 1] - self.row_ptr[i]
    }

    /// The largest row count `ρ_max`: a lower bound on the calls any design needs to
    /// determine every row when rows are decoded independently.
    pub fn max_row_count(&self) -> usize {
        (0..self.nrows).map(|i| self.row_count(i)).max().unwrap_or(0)
    }

    /// Position of entry `(i, j)` in [`col_idx`](Self::col_idx), if allowed.
    pub fn position(&self, i: usize, j: usize) -> Option<usize> {
        self.row(i).binary_search(&j).ok().map(|p| self.row_ptr[i] + p)
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
        let mut row_ptr = vec![0usize; self.ncols + 1];
        for &c in &self.col_idx {
            row_ptr[c + 1] += 1;
        }
        for j in 0..self.ncols {
            row_ptr[j + 1] += row_ptr[j];
        }
        let mut next = row_ptr.clone();
        let mut col_idx = vec![0usize; self.col_idx.len()];
        for i in 0..self.nrows {
            for &c in self.row(i) {
                col_idx[next[c]] = i;
                next[c] += 1;
            }
        }
        Pattern { nrows: self.ncols, ncols: self.nrows, row_ptr, col_idx }
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

    /// The values, row-major, aligned with [`Pattern::col_idx`].
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Mutable values.
    pub fn values_mut(&mut self) -> &mut [f64] {
        &mut self.values
    }

    /// The values of row `i`, aligned with `pattern().row(i)`.
    pub fn row_values(&self, i: usize) -> &[f64] {
        let p = self.pattern.row_ptr();
        &self.values[p[i]..p[i + 1]]
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
