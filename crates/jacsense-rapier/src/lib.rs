//! # jacsense-rapier: linearizing rigid-body dynamics with few simulator steps
//!
//! Control (LQR, iLQR, MPC) needs `A = ∂x'/∂x` and `B = ∂x'/∂u` of a simulator step at
//! every point of a trajectory. Finite differences pay `1 + nx + nu` steps for each
//! (MuJoCo's `mjd_transitionFD`). This crate wraps a [rapier3d-f64] world as a jacsense
//! blackbox `(x, u) → x'` ([`Dynamics`]) and derives what is known about `J = [A B]`
//! from the world itself ([`Dynamics::structure`]): zeros between bodies that cannot
//! interact within the step (islands, kinematic trees, contacts), zeros of controls
//! outside their body's group, and the integrator's rows `q' = q + dt·q̇'` as linear
//! row relations. jacsense then senses `J` with a handful of calls.
//!
//! The state is in tangent-space coordinates ([`state`]): joint coordinates and
//! velocities for multibodies; center of mass, rotation vector, linear and angular
//! velocity for free bodies — rotations are perturbed as rotation vectors, never as
//! raw quaternions, and `x'` comes back through the same charts.
//!
//! ```
//! use jacsense_rapier::{scenes, settings};
//! // 20 double pendulums: nx = 80, nu = 40; dense differences need 121 steps.
//! let pendulums = scenes::double_pendulums(20)?;
//! let lin = pendulums.linearize(&pendulums.structure()?, &settings())?;
//! assert_eq!(lin.estimate.diagnostics().calls, 7);
//! assert!(lin.a[(0, 0)] > 0.9); // an angle mostly stays where it was over 10 ms
//! # Ok::<(), jacsense_rapier::Error>(())
//! ```
//!
//! [rapier3d-f64]: https://rapier.rs
#![warn(missing_docs)]

mod dynamics;
mod error;
mod linearize;
pub mod scenes;
pub mod state;
pub mod structure;

pub use dynamics::{Control, Dynamics};
pub use error::{Error, Result};
pub use linearize::{Linearization, settings, split};
pub use state::{Quantity, StateEntry};

/// The rapier crate this one is built on (its types appear in the API).
pub use rapier3d_f64;
