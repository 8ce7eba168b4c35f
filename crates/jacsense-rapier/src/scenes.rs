//! The issue's three scenes, ready to linearize: a 7-joint arm (multibody, position
//! motors), independent double pendulums (multibody, joint torques), and boxes pushed
//! on the ground (contact and friction: a non-smooth step).
//!
//! All of them step with one substep of 4 PGS iterations, no stabilization pass and CCD
//! off, so that rapier's step is semi-implicit Euler and the integrator relations hold
//! exactly ([`Dynamics::integrates_exactly`]).

use rapier3d_f64::prelude::*;

use crate::dynamics::{Control, Dynamics};
use crate::error::Result;

/// Integration parameters of the scenes: one substep, no stabilization pass, no CCD.
pub fn integration_parameters(dt: f64) -> IntegrationParameters {
    IntegrationParameters {
        dt,
        num_solver_iterations: 1,
        num_internal_pgs_iterations: 4,
        num_internal_stabilization_iterations: 0,
        max_ccd_substeps: 0,
        ..IntegrationParameters::default()
    }
}

/// A rod of half-length `half` along the link's Y axis, colliding with nothing (links
/// touch at their joints): its mass comes from the density.
fn rod(half: f64) -> ColliderBuilder {
    ColliderBuilder::cuboid(0.04, half, 0.04).density(500.0).collision_groups(InteractionGroups::none())
}

/// A 7-joint arm on a fixed base: links of 0.3 m stacked along Y, revolute joints
/// alternating about Z and X (a KUKA-like chain), each with a position motor
/// (stiffness 40 N·m/rad, damping 4 N·m·s/rad). Controls: the 7 motor targets
/// ([`Control::MotorTarget`]), nominally 0. The arm starts bent (joint `k` at
/// `0.3·(−1)ᵏ` rad, still), so gravity and the motors move it. `dt = 1/100` s.
///
/// ```
/// let arm = jacsense_rapier::scenes::arm()?;
/// assert_eq!((arm.nx(), arm.nu()), (14, 7));
/// # Ok::<(), jacsense_rapier::Error>(())
/// ```
pub fn arm() -> Result<Dynamics> {
    arm_with_dt(0.01)
}

/// The [`arm`] stepped at `dt` seconds.
pub fn arm_with_dt(dt: f64) -> Result<Dynamics> {
    const ARMATURE: f64 = 1.0;
    let mut world = PhysicsWorld::new();
    world.integration_parameters = integration_parameters(dt);
    let half = 0.15;
    let base = world.bodies.insert(RigidBodyBuilder::fixed().translation(Vector::new(0.0, 0.0, 0.0)));
    let mut parent = base;
    let mut parent_top = Vector::ZERO;
    let mut controls = Vec::new();
    for k in 0..7 {
        let centre = Vector::new(0.0, (2 * k + 1) as f64 * half, 0.0);
        let body = world.bodies.insert(RigidBodyBuilder::dynamic().translation(centre));
        world.colliders.insert_with_parent(rod(half), body, &mut world.bodies);
        let axis = if k % 2 == 0 { Vector::Z } else { Vector::X };
        let joint = RevoluteJointBuilder::new(axis)
            .local_anchor1(parent_top)
            .local_anchor2(Vector::new(0.0, -half, 0.0))
            .contacts_enabled(false)
            .motor_position(0.0, 40.0, 4.0);
        world.multibody_joints.insert(parent, body, joint, true);
        controls.push(Control::MotorTarget { link: body });
        parent = body;
        parent_top = Vector::new(0.0, half, 0.0);
    }
    // Geared joints: a rotor inertia (armature) on every joint, as on real arms.
    let root = world.multibody_joints.rigid_body_link(base).map(|l| l.multibody);
    if let Some(mb) = root.and_then(|r| world.multibody_joints.get_multibody_mut(r)) {
        mb.forward_kinematics(&world.bodies, true);
        let armature = mb.armature_mut();
        for k in 0..armature.len() {
            armature[k] = ARMATURE;
        }
    }
    let mut d = Dynamics::new(world, controls)?;
    let mut x = d.x0();
    for (k, q) in x.iter_mut().take(7).enumerate() {
        *q = 0.4 * (k as f64).sin();
    }
    d.set_state(&x)?;
    Ok(d)
}

/// `count` independent double pendulums, 2 m apart along X, swinging about Z: two rods
/// of 0.5 m, joint torques on both joints as controls ([`Control::JointTorque`]).
/// Pendulum `k` starts at angles `(0.4 + 0.05k, −0.3)` rad, still. `dt = 1/100` s.
/// Angle 0 is hanging down; `(π, 0)` is upright.
///
/// ```
/// let p = jacsense_rapier::scenes::double_pendulums(3)?;
/// assert_eq!((p.nx(), p.nu()), (12, 6));
/// # Ok::<(), jacsense_rapier::Error>(())
/// ```
pub fn double_pendulums(count: usize) -> Result<Dynamics> {
    let mut world = PhysicsWorld::new();
    world.integration_parameters = integration_parameters(0.01);
    let half = 0.25;
    let mut controls = Vec::new();
    for k in 0..count {
        let x = 2.0 * k as f64;
        let anchor = world.bodies.insert(RigidBodyBuilder::fixed().translation(Vector::new(x, 2.0, 0.0)));
        let upper = world.bodies.insert(RigidBodyBuilder::dynamic().translation(Vector::new(x, 2.0 - half, 0.0)));
        world.colliders.insert_with_parent(rod(half), upper, &mut world.bodies);
        let lower = world.bodies.insert(RigidBodyBuilder::dynamic().translation(Vector::new(x, 2.0 - 3.0 * half, 0.0)));
        world.colliders.insert_with_parent(rod(half), lower, &mut world.bodies);
        let hinge = |a1: Vector| {
            RevoluteJointBuilder::new(Vector::Z)
                .local_anchor1(a1)
                .local_anchor2(Vector::new(0.0, half, 0.0))
                .contacts_enabled(false)
        };
        world.multibody_joints.insert(anchor, upper, hinge(Vector::ZERO), true);
        world.multibody_joints.insert(upper, lower, hinge(Vector::new(0.0, -half, 0.0)), true);
        controls.push(Control::JointTorque { link: upper });
        controls.push(Control::JointTorque { link: lower });
    }
    let mut d = Dynamics::new(world, controls)?;
    let mut x = d.x0();
    for k in 0..count {
        x[2 * k] = 0.4 + 0.05 * k as f64;
        x[2 * k + 1] = -0.3;
    }
    d.set_state(&x)?;
    Ok(d)
}

/// `count` boxes (0.4 m cubes, 8 kg) on a fixed ground, in lanes 2 m apart along Z,
/// each starting 2 cm above the ground with a small spin, so that it lands within a few
/// steps (contact appears), then pushed along X by a force on its center of mass
/// ([`Control::Force`], two per box: along X and along Z). Friction coefficient 0.5:
/// a push above about 39 N makes a box slide, below it sticks. `dt = 1/60` s.
///
/// ```
/// let b = jacsense_rapier::scenes::boxes(2)?;
/// assert_eq!((b.nx(), b.nu()), (24, 4));
/// # Ok::<(), jacsense_rapier::Error>(())
/// ```
pub fn boxes(count: usize) -> Result<Dynamics> {
    let mut world = PhysicsWorld::new();
    world.integration_parameters = integration_parameters(1.0 / 60.0);
    let ground = world.bodies.insert(RigidBodyBuilder::fixed());
    world.colliders.insert_with_parent(
        ColliderBuilder::cuboid(50.0, 0.5, 50.0).translation(Vector::new(0.0, -0.5, 0.0)).friction(0.5),
        ground,
        &mut world.bodies,
    );
    let mut controls = Vec::new();
    for k in 0..count {
        let z = 2.0 * k as f64;
        let body = world.bodies.insert(
            RigidBodyBuilder::dynamic().translation(Vector::new(0.0, 0.22, z)).angvel(Vector::new(
                0.0,
                0.3 + 0.1 * k as f64,
                0.0,
            )),
        );
        world.colliders.insert_with_parent(
            ColliderBuilder::cuboid(0.2, 0.2, 0.2).density(125.0).friction(0.5),
            body,
            &mut world.bodies,
        );
        controls.push(Control::Force { body, direction: Vector::X });
        controls.push(Control::Force { body, direction: Vector::Z });
    }
    Dynamics::new(world, controls)
}
