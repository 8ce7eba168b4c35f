//! Substitution: rows solved one at a time, fewest unknowns left first, solved ones
//! substituted (the traversal is the structure's [`substitute`]).

use super::least_squares::JointSolution;
use crate::decode::{Decoder, LeastSquares};
use crate::structure::{JointSystem, substitute};

/// Rows solved one at a time, fewest unsolved unknowns first (module docs), each by
/// least squares.
pub(super) fn solve_substitution(sys: &JointSystem, ls: &LeastSquares) -> JointSolution {
    let (x, rank) = substitute(sys, |a, y, z| {
        ls.solve(a, y, z);
    });
    JointSolution { x, rank, condition: f64::NAN }
}
