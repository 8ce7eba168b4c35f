//! The state vector of a rapier world, in tangent-space coordinates.
//!
//! `x = [q; v]`: every position coordinate first, then every velocity coordinate, in
//! the same order (`q[i]` and `v[i]` describe the same degree of freedom, as MuJoCo's
//! `qpos`/`qvel` for hinge joints). Two kinds of *units* carry state:
//!
//! - a **multibody** (reduced coordinates, rooted at a fixed or kinematic body): one
//!   coordinate per free degree of freedom of each link's joint, in rapier's assembly
//!   order; linear and single-angle (revolute) coordinates are rapier's own
//!   `MultibodyJoint::coords`; a joint with three free angles (spherical) is a rotation
//!   vector `θ` with `R = exp(θ) R_ref`. Velocities are rapier's generalized velocities.
//! - a **free rigid body** (dynamic, not a multibody link): the world position of its
//!   center of mass (3), the rotation vector `θ` of `R = exp(θ) R_ref` (3), then the
//!   linear velocity of the center of mass and the angular velocity, both in world axes.
//!
//! Rotations are never raw quaternions: a perturbation is a rotation vector in the
//! tangent space at the reference rotation `R_ref` (the body's rotation in the world the
//! [`Dynamics`](crate::Dynamics) was made from, or last advanced to), and `x'` maps the
//! rotation after the step back through the same chart: `θ' = log(R' R_refᵀ)`. At the
//! reference state the rotation entries of `x` are 0.

use rapier3d_f64::prelude::{RigidBodyHandle, Rotation, Vector};

/// What one entry of the state vector is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    /// World position of a free body's center of mass, along world axis `axis`.
    CenterOfMass,
    /// Rotation vector (tangent space) of a free body or of a spherical joint, component `axis`.
    RotationVector,
    /// A linear coordinate of a multibody joint (along the joint's axis `axis`).
    JointTranslation,
    /// The angle of a multibody joint with one free angle (about joint axis `axis`).
    JointAngle,
    /// Linear velocity of a free body's center of mass, world axis `axis`.
    LinearVelocity,
    /// Angular velocity of a free body, world axis `axis`.
    AngularVelocity,
    /// Generalized velocity of a multibody joint coordinate.
    JointVelocity,
}

/// One entry of the state vector: which body it belongs to and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateEntry {
    /// The free body, or the multibody link whose joint the coordinate belongs to.
    pub body: RigidBodyHandle,
    /// What the entry is.
    pub quantity: Quantity,
    /// The axis (0, 1, 2) of the quantity.
    pub axis: usize,
}

/// How a multibody joint's free angles are stored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Angles {
    None,
    /// One free angle about joint axis `axis` (`coords[3 + axis]`).
    One(usize),
    /// Three: a rotation vector relative to `reference`.
    Three(Rotation),
}

/// One link of a multibody with free coordinates.
#[derive(Clone, Debug)]
pub(crate) struct LinkDofs {
    pub(crate) body: RigidBodyHandle,
    /// Offset of the link's coordinates in the multibody's generalized vector.
    pub(crate) assembly: usize,
    /// Free linear axes (indices into `coords[0..3]`).
    pub(crate) linear: Vec<usize>,
    pub(crate) angles: Angles,
}

impl LinkDofs {
    pub(crate) fn ndofs(&self) -> usize {
        self.linear.len()
            + match self.angles {
                Angles::None => 0,
                Angles::One(_) => 1,
                Angles::Three(_) => 3,
            }
    }
}

/// A unit of state.
#[derive(Clone, Debug)]
pub(crate) enum Unit {
    Free { body: RigidBodyHandle, reference: Rotation },
    Multibody { root: RigidBodyHandle, links: Vec<LinkDofs>, ndofs: usize },
}

impl Unit {
    pub(crate) fn ndofs(&self) -> usize {
        match self {
            Unit::Free { .. } => 6,
            Unit::Multibody { ndofs, .. } => *ndofs,
        }
    }
}

/// `log(R)`: the rotation vector of a unit quaternion, taking the shorter way round.
pub(crate) fn log(r: Rotation) -> Vector {
    let r = if r.w < 0.0 { -r } else { r };
    let v = Vector::new(r.x, r.y, r.z);
    let s = v.length();
    if s < 1e-300 {
        return 2.0 * v;
    }
    let angle = 2.0 * s.atan2(r.w);
    v * (angle / s)
}

/// `exp(θ)`: the unit quaternion of a rotation vector.
pub(crate) fn exp(theta: Vector) -> Rotation {
    Rotation::from_scaled_axis(theta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_inverts_exp() {
        for theta in [Vector::new(0.3, -0.2, 0.1), Vector::new(1e-9, 0.0, -2e-9), Vector::new(0.0, 3.0, 0.0)] {
            let back = log(exp(theta));
            assert!((back - theta).length() <= 8.0 * f64::EPSILON * theta.length().max(1.0), "{theta:?} {back:?}");
        }
    }
}
