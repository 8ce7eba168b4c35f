//! A rapier world as a blackbox `(x, u) → x'`.
//!
//! Every call starts from the same snapshot of the world (bodies, colliders, joints,
//! contact caches with their warm-start impulses, islands), sets the state `x` (in the
//! tangent-space coordinates of [`state`](crate::state)) and the controls `u`, steps
//! with a fresh [`PhysicsPipeline`], and reads `x'` back through the same charts. The
//! call is therefore a function of `(x, u)` alone: the same input gives the same bits,
//! whatever was called before, and calls may run in parallel.

use rapier3d_f64::prelude::*;

use crate::error::{Error, Result, check_finite, check_len};
use crate::state::{Angles, LinkDofs, Quantity, StateEntry, Unit, exp, log};

/// A control input `u_j`, held constant over the step(s).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Control {
    /// A torque (N·m) about the single free angle of the multibody joint of link body
    /// `link`, applied to the link and, reversed, to its parent; added to any torque
    /// the world already applies. Nominal value 0.
    JointTorque {
        /// The link (child body) of the joint.
        link: RigidBodyHandle,
    },
    /// The target position of the motor on the single free angle of the multibody
    /// joint of link body `link` (rad); the motor's stiffness and damping are those the
    /// joint was built with. Nominal value: the target in the world given.
    MotorTarget {
        /// The link (child body) of the joint.
        link: RigidBodyHandle,
    },
    /// A force (N) along the world direction `direction` at the center of mass of
    /// `body`, added to any force the world already applies. Nominal value 0.
    Force {
        /// The body pushed.
        body: RigidBodyHandle,
        /// The world direction of the force (a unit vector for force in newtons).
        direction: Vector,
    },
}

/// Everything of a rapier world that a step reads and writes: cloned for every call.
#[derive(Clone)]
pub(crate) struct Snapshot {
    pub(crate) gravity: Vector,
    pub(crate) params: IntegrationParameters,
    pub(crate) islands: IslandManager,
    pub(crate) broad_phase: BroadPhaseBvh,
    pub(crate) narrow_phase: NarrowPhase,
    pub(crate) bodies: RigidBodySet,
    pub(crate) colliders: ColliderSet,
    pub(crate) impulse_joints: ImpulseJointSet,
    pub(crate) multibody_joints: MultibodyJointSet,
    pub(crate) soft_bodies: SoftBodySet,
    pub(crate) ccd_solver: CCDSolver,
}

impl Snapshot {
    fn step(&mut self) {
        let mut pipeline = PhysicsPipeline::new();
        pipeline.step(
            self.gravity,
            &self.params,
            &mut self.islands,
            &mut self.broad_phase,
            &mut self.narrow_phase,
            &mut self.bodies,
            &mut self.colliders,
            &mut self.impulse_joints,
            &mut self.multibody_joints,
            &mut self.soft_bodies,
            &mut self.ccd_solver,
            &(),
            &(),
        );
    }

    fn multibody_mut(&mut self, root: RigidBodyHandle) -> Option<&mut Multibody> {
        let index = self.multibody_joints.rigid_body_link(root)?.multibody;
        self.multibody_joints.get_multibody_mut(index)
    }

    fn multibody(&self, root: RigidBodyHandle) -> Option<&Multibody> {
        let index = self.multibody_joints.rigid_body_link(root)?.multibody;
        self.multibody_joints.get_multibody(index)
    }
}

/// A control resolved against the world.
#[derive(Clone, Debug)]
enum ResolvedControl {
    JointTorque { link: RigidBodyHandle, parent: RigidBodyHandle, axis: usize },
    MotorTarget { link: RigidBodyHandle, axis: usize },
    Force { body: RigidBodyHandle, direction: Vector },
}

/// The one-step (or `N`-step) map `(x, u) → x'` of a rapier world, as a jacsense
/// [`Blackbox`](jacsense::Blackbox) with `n = nx + nu` inputs (`[x; u]`) and `m = nx`
/// outputs.
///
/// The state layout and its tangent-space charts are described in
/// [`state`](crate::state); [`Dynamics::entries`] names every entry. Made from a
/// [`PhysicsWorld`]: its bodies stop sleeping (a sleeping body would make the step
/// depend on more than `x`), and its pipeline is dropped (every call steps with a
/// fresh one).
///
/// ```
/// use jacsense::Blackbox;
/// use jacsense_rapier::rapier3d_f64::prelude::*;
/// use jacsense_rapier::{Control, Dynamics};
/// // A pendulum: a rod hinged about Z to a fixed anchor, pushed by a joint torque.
/// let mut world = PhysicsWorld::new();
/// world.integration_parameters = jacsense_rapier::scenes::integration_parameters(0.01);
/// let anchor = world.bodies.insert(RigidBodyBuilder::fixed());
/// let rod = world.bodies.insert(RigidBodyBuilder::dynamic().translation(Vector::new(0.0, -0.5, 0.0)));
/// world.colliders.insert_with_parent(ColliderBuilder::cuboid(0.05, 0.5, 0.05), rod, &mut world.bodies);
/// let hinge = RevoluteJointBuilder::new(Vector::Z).local_anchor2(Vector::new(0.0, 0.5, 0.0));
/// world.multibody_joints.insert(anchor, rod, hinge, true);
/// let dynamics = Dynamics::new(world, vec![Control::JointTorque { link: rod }])?;
/// assert_eq!((dynamics.nx(), dynamics.nu()), (2, 1)); // angle and rate; one torque
/// let mut x1 = vec![0.0; 2];
/// dynamics.call(&[0.3, 0.0, 0.0], &mut x1).unwrap(); // from 0.3 rad, at rest, no torque
/// assert!(x1[1] < 0.0); // it starts to swing back
/// assert!((x1[0] - (0.3 + dynamics.dt() * x1[1])).abs() < 1e-12); // q' = q + dt·q̇'
/// # Ok::<(), jacsense_rapier::Error>(())
/// ```
#[derive(Clone)]
pub struct Dynamics {
    pub(crate) world: Snapshot,
    pub(crate) units: Vec<Unit>,
    entries: Vec<StateEntry>,
    controls: Vec<Control>,
    resolved: Vec<ResolvedControl>,
    u0: Vec<f64>,
    x0: Vec<f64>,
    steps: usize,
}

impl Dynamics {
    /// Wraps `world` with the given controls, one step per call.
    ///
    /// Errors: a world with soft bodies, a multibody rooted at a dynamic body, a joint
    /// with two free angles (rapier does not integrate those), or a control naming a
    /// body or joint that does not fit it.
    pub fn new(world: PhysicsWorld, controls: Vec<Control>) -> Result<Dynamics> {
        let PhysicsWorld {
            gravity,
            integration_parameters,
            islands,
            broad_phase,
            narrow_phase,
            mut bodies,
            colliders,
            impulse_joints,
            multibody_joints,
            soft_bodies,
            ccd_solver,
            ..
        } = world;
        if !soft_bodies.is_empty() {
            return Err(Error::Unsupported("soft bodies have no state layout here".into()));
        }
        for (_, rb) in bodies.iter_mut() {
            if rb.is_dynamic() {
                *rb.activation_mut() = RigidBodyActivation::cannot_sleep();
                rb.wake_up(true);
            }
        }
        // Before its first step, rapier counts a fixed root as a free joint: settle every
        // multibody's root type (and link poses) as the pipeline would.
        let mut multibody_joints = multibody_joints;
        let roots: Vec<RigidBodyHandle> =
            multibody_joints.multibodies().map(|mb| mb.root().rigid_body_handle()).collect();
        for root in roots {
            let index = multibody_joints.rigid_body_link(root).map(|l| l.multibody);
            if let Some(mb) = index.and_then(|i| multibody_joints.get_multibody_mut(i)) {
                mb.forward_kinematics(&bodies, true);
                mb.update_rigid_bodies(&mut bodies, true);
            }
        }
        let world = Snapshot {
            gravity,
            params: integration_parameters,
            islands,
            broad_phase,
            narrow_phase,
            bodies,
            colliders,
            impulse_joints,
            multibody_joints,
            soft_bodies,
            ccd_solver,
        };
        let units = units(&world)?;
        let resolved = controls
            .iter()
            .enumerate()
            .map(|(index, c)| resolve(&world, c).map_err(|reason| Error::InvalidControl { index, reason }))
            .collect::<Result<Vec<_>>>()?;
        let mut d = Dynamics {
            entries: entries(&units),
            world,
            units,
            controls,
            resolved,
            u0: Vec::new(),
            x0: Vec::new(),
            steps: 1,
        };
        d.u0 = d.read_controls();
        d.x0 = d.read_state(&d.world)?;
        Ok(d)
    }

    /// The same dynamics over `steps` steps per call, `u` held constant.
    pub fn with_steps(mut self, steps: usize) -> Result<Dynamics> {
        if steps == 0 {
            return Err(Error::InvalidSetting {
                name: "steps",
                value: "0".into(),
                reason: "a call makes at least one step",
            });
        }
        self.steps = steps;
        Ok(self)
    }

    /// Steps per call.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The time step of one step (`IntegrationParameters::dt`).
    pub fn dt(&self) -> f64 {
        self.world.params.dt
    }

    /// The world's integration parameters.
    pub fn integration_parameters(&self) -> &IntegrationParameters {
        &self.world.params
    }

    /// Number of state entries `nx = 2 · (degrees of freedom)`.
    pub fn nx(&self) -> usize {
        2 * self.entries.len()
    }

    /// Number of controls `nu`.
    pub fn nu(&self) -> usize {
        self.controls.len()
    }

    /// Degrees of freedom (`nx / 2`).
    pub fn dofs(&self) -> usize {
        self.entries.len()
    }

    /// What each position entry `q[i]` is (entry `nx/2 + i` is its velocity).
    pub fn entries(&self) -> &[StateEntry] {
        &self.entries
    }

    /// The controls, in the order of `u`.
    pub fn controls(&self) -> &[Control] {
        &self.controls
    }

    /// The state of the snapshot (its rotation entries are 0: the charts are centred
    /// on it).
    pub fn x0(&self) -> Vec<f64> {
        self.x0.clone()
    }

    /// The nominal controls: 0 for torques and forces, the world's motor targets.
    pub fn u0(&self) -> Vec<f64> {
        self.u0.clone()
    }

    /// `[x0; u0]`: the point of linearization.
    pub fn point(&self) -> Vec<f64> {
        let mut p = self.x0();
        p.extend_from_slice(&self.u0);
        p
    }

    /// `x' = f(x, u)`.
    ///
    /// Errors: wrong lengths, non-finite inputs, a step that blows up.
    pub fn step(&self, x: &[f64], u: &[f64]) -> Result<Vec<f64>> {
        Ok(self.run(x, u)?.1)
    }

    /// One step of the rollout: the snapshot moves to `f(x0, u)` (contact caches and
    /// all), and the charts are re-centred on it. Controls are not kept: the next
    /// linearization is again at `u0`.
    pub fn advance(&mut self, u: &[f64]) -> Result<()> {
        let (mut world, _) = self.run(&self.x0, u)?;
        self.restore_controls(&mut world);
        self.world = world;
        self.recentre()
    }

    /// Sets the snapshot to state `x` (in the current charts) without stepping, and
    /// re-centres the charts on it: the next linearization is at `x`.
    pub fn set_state(&mut self, x: &[f64]) -> Result<()> {
        check_len("x", x, self.nx())?;
        check_finite("x", x)?;
        let mut world = self.world.clone();
        self.apply_state(&mut world, x);
        self.world = world;
        self.recentre()
    }

    /// Moves every chart's reference rotation to the snapshot's rotation, and reads x0.
    fn recentre(&mut self) -> Result<()> {
        for unit in &mut self.units {
            match unit {
                Unit::Free { body, reference } => {
                    if let Some(rb) = self.world.bodies.get(*body) {
                        *reference = rb.position().rotation;
                    }
                }
                Unit::Multibody { root, links, .. } => {
                    if let Some(mb) = self.world.multibody(*root) {
                        for l in links.iter_mut() {
                            if let Angles::Three(r) = &mut l.angles
                                && let Some(link) = link_of(mb, l.body)
                            {
                                *r = link.joint().joint_rot();
                            }
                        }
                    }
                }
            }
        }
        self.x0 = self.read_state(&self.world)?;
        Ok(())
    }

    /// Sets a copy of the world to `x` and reads the state back without stepping: the
    /// identity up to rounding, through the charts (rotation vector → quaternion →
    /// rotation vector).
    pub fn round_trip(&self, x: &[f64]) -> Result<Vec<f64>> {
        check_len("x", x, self.nx())?;
        check_finite("x", x)?;
        let mut world = self.world.clone();
        self.apply_state(&mut world, x);
        self.read_state(&world)
    }

    /// The world pose of every body of the state at `x` (without stepping), in the order
    /// of the bodies: what `x` means, for drawing or checking.
    pub fn poses(&self, x: &[f64]) -> Result<Vec<(RigidBodyHandle, Pose)>> {
        check_len("x", x, self.nx())?;
        check_finite("x", x)?;
        let mut world = self.world.clone();
        self.apply_state(&mut world, x);
        let mut bodies: Vec<RigidBodyHandle> = self.entries.iter().map(|e| e.body).collect();
        bodies.dedup();
        Ok(bodies.into_iter().filter_map(|h| world.bodies.get(h).map(|rb| (h, *rb.position()))).collect())
    }

    /// The world pose of every body of the state after one call at `(x, u)`.
    pub fn poses_after(&self, x: &[f64], u: &[f64]) -> Result<Vec<(RigidBodyHandle, Pose)>> {
        let (world, _) = self.run(x, u)?;
        let mut bodies: Vec<RigidBodyHandle> = self.entries.iter().map(|e| e.body).collect();
        bodies.dedup();
        Ok(bodies.into_iter().filter_map(|h| world.bodies.get(h).map(|rb| (h, *rb.position()))).collect())
    }

    /// Clones the snapshot, applies `(x, u)`, steps, reads `x'`.
    fn run(&self, x: &[f64], u: &[f64]) -> Result<(Snapshot, Vec<f64>)> {
        check_len("x", x, self.nx())?;
        check_len("u", u, self.nu())?;
        check_finite("x", x)?;
        check_finite("u", u)?;
        let mut world = self.world.clone();
        self.apply_state(&mut world, x);
        self.apply_controls(&mut world, u);
        for _ in 0..self.steps {
            world.step();
        }
        let y = self.read_state(&world)?;
        Ok((world, y))
    }

    fn apply_state(&self, world: &mut Snapshot, x: &[f64]) {
        let nq = self.dofs();
        let (q, v) = x.split_at(nq);
        let mut at = 0;
        for unit in &self.units {
            let k = unit.ndofs();
            let (qu, vu) = (&q[at..at + k], &v[at..at + k]);
            at += k;
            match unit {
                Unit::Free { body, reference } => {
                    let Some(rb) = world.bodies.get_mut(*body) else { continue };
                    let rotation = exp(Vector::new(qu[3], qu[4], qu[5])) * *reference;
                    let com = Vector::new(qu[0], qu[1], qu[2]);
                    let translation = com - rotation * rb.local_center_of_mass();
                    rb.set_position(Pose::from_parts(translation, rotation), true);
                    rb.set_linvel(Vector::new(vu[0], vu[1], vu[2]), true);
                    rb.set_angvel(Vector::new(vu[3], vu[4], vu[5]), true);
                }
                Unit::Multibody { root, links, ndofs } => {
                    let Snapshot { multibody_joints, bodies, .. } = world;
                    let Some(index) = multibody_joints.rigid_body_link(*root).map(|l| l.multibody) else { continue };
                    let Some(mb) = multibody_joints.get_multibody_mut(index) else { continue };
                    let mut disp = vec![0.0; mb.ndofs()];
                    let mut vel = vec![0.0; mb.ndofs()];
                    let mut i = 0;
                    for l in links {
                        let coords = link_of(mb, l.body).map(|k| k.joint().coords());
                        let Some(coords) = coords else { continue };
                        let mut slot = l.assembly;
                        for &a in &l.linear {
                            disp[slot] = qu[i] - coords[a];
                            vel[slot] = vu[i];
                            (slot, i) = (slot + 1, i + 1);
                        }
                        match l.angles {
                            Angles::None => {}
                            Angles::One(a) => {
                                disp[slot] = qu[i] - coords[3 + a];
                                vel[slot] = vu[i];
                                i += 1;
                            }
                            Angles::Three(_) => {
                                for c in 0..3 {
                                    disp[slot + c] = qu[i];
                                    vel[slot + c] = vu[i];
                                    i += 1;
                                }
                            }
                        }
                    }
                    debug_assert_eq!(i, *ndofs);
                    mb.apply_displacements(&disp);
                    mb.generalized_velocity_mut().copy_from_slice(&vel);
                    mb.forward_kinematics(bodies, false);
                    mb.update_rigid_bodies(bodies, true);
                    for l in links {
                        if let Some(rb) = bodies.get_mut(l.body) {
                            rb.wake_up(true);
                        }
                    }
                }
            }
        }
    }

    fn apply_controls(&self, world: &mut Snapshot, u: &[f64]) {
        for (c, &uj) in self.resolved.iter().zip(u) {
            match *c {
                ResolvedControl::JointTorque { link, parent, axis } => {
                    let Some(parent_pose) = world.bodies.get(parent).map(|rb| *rb.position()) else { continue };
                    let Some(frame) = joint_data(world, link).map(|d| d.local_frame1) else { continue };
                    let torque = parent_pose.rotation * frame.rotation * unit_axis(axis) * uj;
                    if let Some(rb) = world.bodies.get_mut(link) {
                        rb.add_torque(torque, true);
                    }
                    if let Some(rb) = world.bodies.get_mut(parent)
                        && rb.is_dynamic()
                    {
                        rb.add_torque(-torque, true);
                    }
                }
                ResolvedControl::MotorTarget { link, axis } => set_motor_target(world, link, axis, uj),
                ResolvedControl::Force { body, direction } => {
                    if let Some(rb) = world.bodies.get_mut(body) {
                        rb.add_force(direction * uj, true);
                    }
                }
            }
        }
    }

    /// Puts the forces, torques and motor targets the controls touched back to the
    /// snapshot's (rapier keeps user forces from step to step).
    fn restore_controls(&self, world: &mut Snapshot) {
        for (c, &u0) in self.resolved.iter().zip(&self.u0) {
            let touched: &[RigidBodyHandle] = match c {
                ResolvedControl::JointTorque { link, parent, .. } => &[*link, *parent],
                ResolvedControl::Force { body, .. } => std::slice::from_ref(body),
                ResolvedControl::MotorTarget { link, axis } => {
                    set_motor_target(world, *link, *axis, u0);
                    &[]
                }
            };
            for h in touched {
                if let (Some(before), Some(rb)) = (self.world.bodies.get(*h), world.bodies.get_mut(*h)) {
                    rb.reset_forces(false);
                    rb.reset_torques(false);
                    rb.add_force(before.user_force(), false);
                    rb.add_torque(before.user_torque(), false);
                }
            }
        }
    }

    fn read_controls(&self) -> Vec<f64> {
        self.resolved
            .iter()
            .map(|c| match *c {
                ResolvedControl::MotorTarget { link, axis } => {
                    joint_data(&self.world, link).map_or(0.0, |d| d.motors[3 + axis].target_pos)
                }
                _ => 0.0,
            })
            .collect()
    }

    fn read_state(&self, world: &Snapshot) -> Result<Vec<f64>> {
        let nq = self.dofs();
        let mut x = vec![0.0; 2 * nq];
        let mut at = 0;
        for unit in &self.units {
            match unit {
                Unit::Free { body, reference } => {
                    let rb = world
                        .bodies
                        .get(*body)
                        .ok_or_else(|| Error::Unsupported("a body of the state was removed".into()))?;
                    let pose = rb.position();
                    let com = pose.transform_point(rb.local_center_of_mass());
                    let theta = log(pose.rotation * reference.inverse());
                    let (lin, ang) = (rb.linvel(), rb.angvel());
                    for a in 0..3 {
                        x[at + a] = com[a];
                        x[at + 3 + a] = theta[a];
                        x[nq + at + a] = lin[a];
                        x[nq + at + 3 + a] = ang[a];
                    }
                    at += 6;
                }
                Unit::Multibody { root, links, .. } => {
                    let mb = world
                        .multibody(*root)
                        .ok_or_else(|| Error::Unsupported("a multibody of the state was removed".into()))?;
                    let gv = mb.generalized_velocity();
                    for l in links {
                        let link = link_of(mb, l.body)
                            .ok_or_else(|| Error::Unsupported("a multibody link of the state was removed".into()))?;
                        let coords = link.joint().coords();
                        let mut slot = l.assembly;
                        for &a in &l.linear {
                            x[at] = coords[a];
                            x[nq + at] = gv[slot];
                            (at, slot) = (at + 1, slot + 1);
                        }
                        match l.angles {
                            Angles::None => {}
                            Angles::One(a) => {
                                x[at] = coords[3 + a];
                                x[nq + at] = gv[slot];
                                at += 1;
                            }
                            Angles::Three(reference) => {
                                let theta = log(link.joint().joint_rot() * reference.inverse());
                                for c in 0..3 {
                                    x[at] = theta[c];
                                    x[nq + at] = gv[slot + c];
                                    at += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        if let Some(index) = x.iter().position(|v| !v.is_finite()) {
            let e = self.entries[index % nq];
            let kind = if index < nq { "position" } else { "velocity" };
            return Err(Error::Diverged {
                index,
                entry: format!("{kind} {:?} axis {} of {:?}", e.quantity, e.axis, e.body),
                value: x[index],
            });
        }
        Ok(x)
    }
}

impl jacsense::Blackbox for Dynamics {
    fn dims(&self) -> (usize, usize) {
        (self.nx() + self.nu(), self.nx())
    }

    fn call(&self, x: &[f64], y: &mut [f64]) -> std::result::Result<(), jacsense::CallError> {
        let nx = self.nx();
        if x.len() != nx + self.nu() || y.len() != nx {
            return Err(jacsense::CallError(format!(
                "a call takes [x; u] of length {} and writes x' of length {nx}, not {} and {}",
                nx + self.nu(),
                x.len(),
                y.len()
            )));
        }
        let out = self.step(&x[..nx], &x[nx..]).map_err(|e| jacsense::CallError(e.to_string()))?;
        y.copy_from_slice(&out);
        Ok(())
    }
}

/// The link of `mb` whose body is `body`.
fn link_of(mb: &Multibody, body: RigidBodyHandle) -> Option<&MultibodyLink> {
    mb.links().find(|l| l.rigid_body_handle() == body)
}

fn unit_axis(a: usize) -> Vector {
    let mut v = Vector::ZERO;
    v[a] = 1.0;
    v
}

fn joint_data(world: &Snapshot, link: RigidBodyHandle) -> Option<&GenericJoint> {
    let mb = world.multibody(link)?;
    link_of(mb, link).map(|l| &l.joint().data)
}

fn set_motor_target(world: &mut Snapshot, link: RigidBodyHandle, axis: usize, target: f64) {
    let Some(mb) = world.multibody_mut(link) else { return };
    if let Some(l) = mb.links_mut().find(|l| l.rigid_body_handle() == link) {
        l.joint.data.motors[3 + axis].target_pos = target;
    }
}

/// The state units of a world: multibodies (in the set's order), then free dynamic
/// bodies (in the body set's order).
fn units(world: &Snapshot) -> Result<Vec<Unit>> {
    let mut units = Vec::new();
    for mb in world.multibody_joints.multibodies() {
        let root = mb.root().rigid_body_handle();
        if world.bodies.get(root).is_some_and(|rb| rb.is_dynamic()) {
            return Err(Error::Unsupported(format!(
                "the multibody rooted at {root:?} has a dynamic root; root it at a fixed or kinematic body"
            )));
        }
        let base = mb.generalized_velocity().as_ptr() as usize;
        let mut links = Vec::new();
        let mut ndofs = 0;
        for link in mb.links() {
            let joint = link.joint();
            if joint.ndofs() == 0 {
                continue;
            }
            let locked = joint.data.locked_axes.bits();
            let linear: Vec<usize> = (0..3).filter(|a| locked & (1 << a) == 0).collect();
            let free_angles: Vec<usize> = (0..3).filter(|a| locked & (1 << (3 + a)) == 0).collect();
            let angles = match free_angles.len() {
                0 => Angles::None,
                1 => Angles::One(free_angles[0]),
                3 => Angles::Three(joint.joint_rot()),
                _ => {
                    return Err(Error::Unsupported(format!(
                        "the multibody joint of link {:?} has two free angles, which rapier does not integrate",
                        link.rigid_body_handle()
                    )));
                }
            };
            // The link's offset in the generalized vector (rapier keeps it private): where
            // its view of the velocities starts.
            let offset = mb.joint_velocity(link).as_ptr() as usize;
            let assembly = offset
                .checked_sub(base)
                .map(|b| b / std::mem::size_of::<f64>())
                .filter(|a| a + joint.ndofs() <= mb.ndofs())
                .ok_or_else(|| Error::Unsupported("a multibody link's coordinates could not be located".into()))?;
            let l = LinkDofs { body: link.rigid_body_handle(), assembly, linear, angles };
            ndofs += l.ndofs();
            links.push(l);
        }
        if ndofs > 0 {
            links.sort_by_key(|l| l.assembly);
            units.push(Unit::Multibody { root, links, ndofs });
        }
    }
    for (h, rb) in world.bodies.iter() {
        if rb.is_dynamic() && world.multibody_joints.rigid_body_link(h).is_none() {
            units.push(Unit::Free { body: h, reference: rb.position().rotation });
        }
    }
    Ok(units)
}

fn entries(units: &[Unit]) -> Vec<StateEntry> {
    let mut e = Vec::new();
    for unit in units {
        match unit {
            Unit::Free { body, .. } => {
                for quantity in [Quantity::CenterOfMass, Quantity::RotationVector] {
                    for axis in 0..3 {
                        e.push(StateEntry { body: *body, quantity, axis });
                    }
                }
            }
            Unit::Multibody { links, .. } => {
                for l in links {
                    for &axis in &l.linear {
                        e.push(StateEntry { body: l.body, quantity: Quantity::JointTranslation, axis });
                    }
                    match l.angles {
                        Angles::None => {}
                        Angles::One(axis) => e.push(StateEntry { body: l.body, quantity: Quantity::JointAngle, axis }),
                        Angles::Three(_) => {
                            for axis in 0..3 {
                                e.push(StateEntry { body: l.body, quantity: Quantity::RotationVector, axis });
                            }
                        }
                    }
                }
            }
        }
    }
    e
}

/// Checks a control against the world and resolves what the step needs of it.
fn resolve(world: &Snapshot, c: &Control) -> std::result::Result<ResolvedControl, String> {
    match *c {
        Control::JointTorque { link } | Control::MotorTarget { link } => {
            let mb = world.multibody(link).ok_or_else(|| format!("{link:?} is not a multibody link"))?;
            let l = link_of(mb, link).ok_or_else(|| format!("{link:?} is not a multibody link"))?;
            let locked = l.joint().data.locked_axes.bits();
            let free: Vec<usize> = (0..3).filter(|a| locked & (1 << (3 + a)) == 0).collect();
            let [axis] = free[..] else {
                return Err(format!("the joint of link {link:?} has {} free angles, not one", free.len()));
            };
            match c {
                Control::JointTorque { .. } => {
                    let parent = l
                        .parent_id()
                        .and_then(|p| mb.link(p))
                        .map(|p| p.rigid_body_handle())
                        .ok_or_else(|| format!("{link:?} is the root of its multibody: it has no joint"))?;
                    Ok(ResolvedControl::JointTorque { link, parent, axis })
                }
                _ => {
                    if l.joint().data.motor_axes.bits() & (1 << (3 + axis)) == 0 {
                        return Err(format!("the joint of link {link:?} has no motor on its free angle"));
                    }
                    Ok(ResolvedControl::MotorTarget { link, axis })
                }
            }
        }
        Control::Force { body, direction } => {
            let rb = world.bodies.get(body).ok_or_else(|| format!("{body:?} is not a body of the world"))?;
            if !rb.is_dynamic() {
                return Err(format!("{body:?} is not dynamic: a force does not move it"));
            }
            if !direction.is_finite() {
                return Err(format!("the direction {direction:?} is not finite"));
            }
            Ok(ResolvedControl::Force { body, direction })
        }
    }
}
