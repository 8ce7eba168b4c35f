//! Vertex orderings for greedy coloring.
//!
//! The orderings of ColPack (Gebremedhin, Manne, Pothen, "What color is your
//! Jacobian?", SIAM Review 47(4), 2005, §3.3 and §5; Coleman and Moré, "Estimation of
//! sparse Jacobian matrices and graph coloring problems", SIAM J. Numer. Anal. 20, 1983)
//! and SparseMatrixColorings.jl, taken on the distance-2 graph of the colored side: two
//! vertices (columns) are adjacent when some net (row) holds both, and the degree of a
//! vertex is its number of distinct adjacent vertices.
//!
//! - [`Natural`](Ordering::Natural): `0, 1, …, n−1`.
//! - [`LargestFirst`](Ordering::LargestFirst): decreasing degree, computed once.
//! - [`SmallestLast`](Ordering::SmallestLast): repeatedly remove a vertex of smallest
//!   degree in the graph of the vertices not yet removed and place it last (the first
//!   removed is colored last).
//! - [`IncidenceDegree`](Ordering::IncidenceDegree): repeatedly take the vertex with the
//!   most neighbours already ordered.
//! - [`DynamicLargestFirst`](Ordering::DynamicLargestFirst): repeatedly take the vertex
//!   with the most neighbours not yet ordered.
//!
//! Every tie goes to the smallest vertex index, so an ordering is a function of the
//! pattern alone. The dynamic orderings keep their vertices in a bucket queue indexed by
//! current degree; every bucket yields its smallest vertex index (its initial members
//! as a sorted run, later arrivals in a min-heap) with lazy deletion (a degree only
//! moves one way in each ordering, so a vertex never returns to a bucket it left and a
//! stale entry is recognised by its degree). Time is
//! `O(Σᵥ Σ_{nets ∋ v} |net| + E log n)` with `E` the distance-2 edges.
//!
//! On a dense pattern (every net holds every vertex: the complete graph) all degrees
//! are equal at every step, so the orderings are known in closed form and cost `O(n)`
//! ([`dense_order`]): smallest-last removes `0, 1, …` in turn and so visits them in
//! reverse; every other ordering is the natural one.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::str::FromStr;

use super::{Bipartite, Distance2};
use crate::error::Error;
use crate::pattern::Pattern;

/// The order in which greedy coloring visits the vertices.
///
/// ```
/// use jacsense::coloring::Ordering;
/// let o: Ordering = "smallest-last".parse()?;
/// assert_eq!(o, Ordering::SmallestLast);
/// assert_eq!(o.to_string(), "smallest-last");
/// assert_eq!(Ordering::default(), Ordering::LargestFirst);
/// # Ok::<(), jacsense::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Ordering {
    /// Index order.
    Natural,
    /// Decreasing distance-2 degree.
    #[default]
    LargestFirst,
    /// Reverse of repeated removal of a vertex of smallest remaining degree.
    SmallestLast,
    /// Most already-ordered neighbours first.
    IncidenceDegree,
    /// Most not-yet-ordered neighbours first.
    DynamicLargestFirst,
}

impl Ordering {
    /// Every ordering, in the order [`best_column_coloring`](super::best_column_coloring)
    /// tries them.
    ///
    /// ```
    /// # use jacsense::coloring::Ordering;
    /// assert_eq!(Ordering::ALL.len(), 5);
    /// assert_eq!(Ordering::ALL[0], Ordering::Natural);
    /// ```
    pub const ALL: [Ordering; 5] = [
        Ordering::Natural,
        Ordering::LargestFirst,
        Ordering::SmallestLast,
        Ordering::IncidenceDegree,
        Ordering::DynamicLargestFirst,
    ];

    /// The name used by [`FromStr`] and [`Display`](fmt::Display).
    ///
    /// ```
    /// # use jacsense::coloring::Ordering;
    /// assert_eq!(Ordering::DynamicLargestFirst.name(), "dynamic-largest-first");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Ordering::Natural => "natural",
            Ordering::LargestFirst => "largest-first",
            Ordering::SmallestLast => "smallest-last",
            Ordering::IncidenceDegree => "incidence-degree",
            Ordering::DynamicLargestFirst => "dynamic-largest-first",
        }
    }
}

impl fmt::Display for Ordering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Ordering {
    type Err = Error;

    /// Parses a [name](Ordering::name).
    ///
    /// ```
    /// # use jacsense::coloring::Ordering;
    /// let err = "random".parse::<Ordering>().unwrap_err();
    /// assert!(err.to_string().contains("ordering = random"));
    /// ```
    fn from_str(s: &str) -> Result<Self, Error> {
        Ordering::ALL.into_iter().find(|o| o.name() == s).ok_or_else(|| Error::InvalidSetting {
            name: "ordering",
            value: s.to_string(),
            reason: "expected natural, largest-first, smallest-last, incidence-degree or dynamic-largest-first",
        })
    }
}

/// The order in which [`color_columns`](super::color_columns) visits the columns: a
/// permutation of `0..ncols`.
///
/// ```
/// use jacsense::{Pattern, coloring::column_order};
/// use jacsense::coloring::{Ordering};
/// // Arrowhead: column 0 meets every column, the others meet column 0 only.
/// let p = Pattern::from_rows(4, &[vec![0, 1, 2, 3], vec![0, 1], vec![0, 2], vec![0, 3]])?;
/// assert_eq!(column_order(&p, Ordering::Natural), [0, 1, 2, 3]);
/// // Row 0 holds every column, so all degrees are 3: smallest-last removes the
/// // smallest index first and places it last.
/// assert_eq!(column_order(&p, Ordering::SmallestLast), [3, 2, 1, 0]);
/// let q = Pattern::banded(5, 5, 1, 1);
/// assert_eq!(column_order(&q, Ordering::LargestFirst), [2, 1, 3, 0, 4]);
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn column_order(pattern: &Pattern, ordering: Ordering) -> Vec<usize> {
    let transpose = pattern.transpose();
    vertex_order(&Bipartite::new(pattern, &transpose), ordering)
}

/// The order of the vertices of `g`.
pub(crate) fn vertex_order(g: &Bipartite<'_>, ordering: Ordering) -> Vec<usize> {
    if g.is_complete() {
        return dense_order(g.num_vertices(), ordering);
    }
    search_order(g, ordering)
}

/// The order of the `n` vertices of a complete graph: every vertex has degree `n − 1`
/// and every removal (or placement) lowers (raises) all the others' degrees alike, so
/// ties decide everything and go to the smallest index. Smallest-last thus removes
/// `0, 1, …, n − 1` and places them from the back: reversed. The others visit in
/// index order.
pub(crate) fn dense_order(n: usize, ordering: Ordering) -> Vec<usize> {
    match ordering {
        Ordering::SmallestLast => (0..n).rev().collect(),
        _ => (0..n).collect(),
    }
}

/// The order of the vertices of `g`, by the degree computations of the ordering.
fn search_order(g: &Bipartite<'_>, ordering: Ordering) -> Vec<usize> {
    let n = g.num_vertices();
    match ordering {
        Ordering::Natural => (0..n).collect(),
        Ordering::LargestFirst => largest_first(&distance2_degrees(g)),
        Ordering::SmallestLast => smallest_last(g, distance2_degrees(g)),
        Ordering::IncidenceDegree => incidence_degree(g),
        Ordering::DynamicLargestFirst => dynamic_largest_first(g, distance2_degrees(g)),
    }
}

/// The number of distinct other vertices sharing a net with each vertex.
fn distance2_degrees(g: &Bipartite<'_>) -> Vec<usize> {
    let n = g.num_vertices();
    let mut d2 = Distance2::new(n);
    (0..n)
        .map(|v| {
            let mut degree = 0;
            d2.for_each(g, v, |_| degree += 1);
            degree
        })
        .collect()
}

/// Vertices by decreasing degree, ties by index: a counting sort, stable in the index.
fn largest_first(degrees: &[usize]) -> Vec<usize> {
    let max = degrees.iter().copied().max().unwrap_or(0);
    // start[max - d] is where the vertices of degree d begin.
    let mut start = vec![0usize; max + 2];
    for &d in degrees {
        start[max - d + 1] += 1;
    }
    for k in 0..=max {
        start[k + 1] += start[k];
    }
    let mut order = vec![0usize; degrees.len()];
    for (v, &d) in degrees.iter().enumerate() {
        order[start[max - d]] = v;
        start[max - d] += 1;
    }
    order
}

fn smallest_last(g: &Bipartite<'_>, degrees: Vec<usize>) -> Vec<usize> {
    let n = degrees.len();
    let mut queue = DegreeBuckets::new(degrees);
    let mut d2 = Distance2::new(n);
    let mut order = vec![0usize; n];
    for slot in order.iter_mut().rev() {
        let v = queue.pop_min();
        *slot = v;
        d2.for_each(g, v, |w| queue.decrement(w));
    }
    order
}

fn incidence_degree(g: &Bipartite<'_>) -> Vec<usize> {
    let n = g.num_vertices();
    let mut queue = DegreeBuckets::new(vec![0; n]);
    let mut d2 = Distance2::new(n);
    let mut order = Vec::with_capacity(n);
    for _ in 0..n {
        let v = queue.pop_max();
        order.push(v);
        d2.for_each(g, v, |w| queue.increment(w));
    }
    order
}

fn dynamic_largest_first(g: &Bipartite<'_>, degrees: Vec<usize>) -> Vec<usize> {
    let n = degrees.len();
    let mut queue = DegreeBuckets::new(degrees);
    let mut d2 = Distance2::new(n);
    let mut order = Vec::with_capacity(n);
    for _ in 0..n {
        let v = queue.pop_max();
        order.push(v);
        d2.for_each(g, v, |w| queue.decrement(w));
    }
    order
}

/// A bucket queue of vertices keyed by a degree that changes by one at a time, popping
/// the smallest vertex index among the smallest (or largest) key.
///
/// A bucket may hold stale entries: vertices that have left it or have been popped. An
/// entry `v` of bucket `d` is live when `v` is still queued and `key[v] == d`; `live[d]`
/// counts live entries so that empty buckets are skipped (and freed) without draining.
struct DegreeBuckets {
    key: Vec<usize>,
    queued: Vec<bool>,
    buckets: Vec<Bucket>,
    live: Vec<usize>,
    /// No live entry has a key below `lo` or above `hi`.
    lo: usize,
    hi: usize,
}

/// The members of one bucket: those placed at the start, in increasing index order and
/// consumed from `start` on, and a min-heap of those that moved in later. Most
/// vertices of a mesh-like pattern leave their first bucket through a cheap cursor
/// step instead of a heap pop.
#[derive(Default)]
struct Bucket {
    initial: Vec<u32>,
    start: usize,
    moved_in: BinaryHeap<Reverse<u32>>,
}

impl Bucket {
    /// Removes and returns the smallest entry, live or stale.
    fn pop(&mut self) -> Option<usize> {
        let from_initial = self.initial.get(self.start).copied();
        let from_heap = self.moved_in.peek().map(|r| r.0);
        match (from_initial, from_heap) {
            (Some(a), Some(b)) if b < a => self.moved_in.pop().map(|r| r.0 as usize),
            (Some(a), _) => {
                self.start += 1;
                Some(a as usize)
            }
            (None, _) => self.moved_in.pop().map(|r| r.0 as usize),
        }
    }
}

impl DegreeBuckets {
    fn new(key: Vec<usize>) -> Self {
        let n = key.len();
        assert!(n <= u32::MAX as usize, "bucket queue holds at most 2^32 − 1 vertices, got {n}");
        // Buckets above the largest key are added as keys grow (one at a time).
        let max = key.iter().copied().max().unwrap_or(0);
        let mut buckets: Vec<Bucket> = (0..=max).map(|_| Bucket::default()).collect();
        for (v, &d) in key.iter().enumerate() {
            buckets[d].initial.push(v as u32);
        }
        let live = buckets.iter().map(|b| b.initial.len()).collect();
        let lo = key.iter().copied().min().unwrap_or(0);
        DegreeBuckets { key, queued: vec![true; n], buckets, live, lo, hi: max }
    }

    fn take_from(&mut self, d: usize) -> usize {
        while let Some(v) = self.buckets[d].pop() {
            if self.queued[v] && self.key[v] == d {
                self.queued[v] = false;
                self.leave(d);
                return v;
            }
        }
        unreachable!("bucket {d} counted a live vertex but holds none")
    }

    fn leave(&mut self, d: usize) {
        self.live[d] -= 1;
        if self.live[d] == 0 {
            // Drop the stale entries with the bucket rather than popping them later.
            self.buckets[d] = Bucket::default();
        }
    }

    /// Removes and returns the smallest vertex of smallest key.
    fn pop_min(&mut self) -> usize {
        while self.live[self.lo] == 0 {
            self.lo += 1;
        }
        self.take_from(self.lo)
    }

    /// Removes and returns the smallest vertex of largest key.
    fn pop_max(&mut self) -> usize {
        while self.live[self.hi] == 0 {
            self.hi -= 1;
        }
        self.take_from(self.hi)
    }

    fn move_to(&mut self, v: usize, to: usize) {
        self.leave(self.key[v]);
        self.key[v] = to;
        if to == self.buckets.len() {
            self.buckets.push(Bucket::default());
            self.live.push(0);
        }
        self.buckets[to].moved_in.push(Reverse(v as u32));
        self.live[to] += 1;
        self.lo = self.lo.min(to);
        self.hi = self.hi.max(to);
    }

    /// Lowers the key of `v` by one if it is still queued.
    fn decrement(&mut self, v: usize) {
        if self.queued[v] {
            self.move_to(v, self.key[v] - 1);
        }
    }

    /// Raises the key of `v` by one if it is still queued.
    fn increment(&mut self, v: usize) {
        if self.queued[v] {
            self.move_to(v, self.key[v] + 1);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A permutation of `0..n` fixed by `seed` (a linear congruential shuffle).
    pub(crate) fn shuffled(n: usize, seed: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        for i in (1..n).rev() {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            order.swap(i, (state >> 33) as usize % (i + 1));
        }
        order
    }

    #[test]
    fn dense_orders_are_the_searched_ones() {
        for m in 1..4 {
            for n in 0..8 {
                let (p, t) = (Pattern::dense(m, n), Pattern::dense(n, m));
                let g = Bipartite::new(&p, &t);
                assert!(g.is_complete());
                for o in Ordering::ALL {
                    assert_eq!(dense_order(n, o), search_order(&g, o), "{m}×{n}, {o}");
                }
            }
        }
    }

    #[test]
    fn largest_first_is_stable_counting_sort() {
        assert_eq!(largest_first(&[1, 3, 0, 3, 1]), [1, 3, 0, 4, 2]);
        assert!(largest_first(&[]).is_empty());
    }

    #[test]
    fn buckets_pop_smallest_index_among_ties() {
        let mut q = DegreeBuckets::new(vec![2, 1, 2, 1, 0]);
        q.decrement(2); // 2 joins bucket 1 after 1 and 3
        q.decrement(0); // 0 joins bucket 1 last
        assert_eq!(q.pop_min(), 4);
        assert_eq!(q.pop_min(), 0);
        assert_eq!(q.pop_min(), 1);
        q.increment(3);
        q.increment(3);
        assert_eq!(q.pop_max(), 3);
        assert_eq!(q.pop_max(), 2);
    }
}
