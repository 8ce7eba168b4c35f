//! The structure of `J = [A B]`, derived from the world (DESIGN.md §2).
//!
//! - **Interaction groups.** Units of state (free bodies, multibodies) interact within
//!   a step only through joints (the kinematic tree of a multibody, impulse joints) and
//!   contacts. rapier finds contacts once, at the start of a step, from the positions
//!   then, keeping every pair of colliders closer than the prediction distance; a
//!   perturbation of a few √ε does not change that set. So the groups are the connected
//!   components of units linked by a joint or by a contact pair with a contact point at
//!   `x0` (found by running rapier's own collision detection on a copy of the world).
//!   Over `N > 1` steps new contacts can form: pairs whose bounding boxes, grown by
//!   how far the bodies can move in `N` steps, overlap are linked too. Fixed and
//!   kinematic bodies carry no state and link nothing. Every entry of `J` between a
//!   group's outputs and another group's inputs is a known zero.
//! - **Inputs that do not reach an output.** A control acts on one body or joint: its
//!   column is zero outside that unit's group.
//! - **Integrator relations.** With one substep, no stabilization pass, no CCD, no
//!   restitution and one step per call, rapier's step is semi-implicit Euler on every
//!   coordinate it integrates linearly: the center of mass of a free body
//!   (`c' = c + dt·v'`) and the linear and single-angle coordinates of multibody joints
//!   (`q' = q + dt·q̇'`). Their rows are declared as linear row relations
//!   (`J[q'_i] = dt·J[q̇'_i] + e_i`): no unknowns of their own. Rotation vectors are
//!   integrated through the quaternion exponential, which is not linear in the chart:
//!   their rows stay unknown.

use jacsense::{Coupling, Pattern, Relation, Structure};
use rapier3d_f64::prelude::*;

use crate::dynamics::{Control, Dynamics};
use crate::error::Result;
use crate::state::{Quantity, Unit};

impl Dynamics {
    /// The interaction group of every unit of state (free body or multibody), in the
    /// order of [`Dynamics::entries`]; see the [module docs](crate::structure).
    /// Returns `(group of each position entry, number of groups)`.
    pub fn groups(&self) -> (Vec<usize>, usize) {
        let units = &self.units;
        let mut owner: std::collections::HashMap<RigidBodyHandle, usize> = Default::default();
        for (k, unit) in units.iter().enumerate() {
            match unit {
                Unit::Free { body, .. } => {
                    owner.insert(*body, k);
                }
                Unit::Multibody { root, .. } => {
                    if let Some(mb) = self
                        .world
                        .multibody_joints
                        .rigid_body_link(*root)
                        .and_then(|l| self.world.multibody_joints.get_multibody(l.multibody))
                    {
                        for link in mb.links() {
                            owner.insert(link.rigid_body_handle(), k);
                        }
                    }
                }
            }
        }
        let mut uf: Vec<usize> = (0..units.len()).collect();
        let mut link = |a: Option<usize>, b: Option<usize>| {
            if let (Some(a), Some(b)) = (a, b) {
                let (ra, rb) = (find(&mut uf, a), find(&mut uf, b));
                uf[ra.max(rb)] = ra.min(rb);
            }
        };
        for (_, joint) in self.world.impulse_joints.iter() {
            link(owner.get(&joint.body1()).copied(), owner.get(&joint.body2()).copied());
        }
        // Contacts at x0: rapier's collision detection on a copy of the world.
        let mut world = self.world.clone();
        let prediction = world.params.prediction_distance();
        CollisionPipeline::new().step(
            prediction,
            &mut world.islands,
            &mut world.broad_phase,
            &mut world.narrow_phase,
            &mut world.bodies,
            &mut world.colliders,
            &(),
            &(),
        );
        let unit_of =
            |c: ColliderHandle| world.colliders.get(c).and_then(|c| c.parent()).and_then(|b| owner.get(&b).copied());
        for pair in world.narrow_phase.contact_pairs() {
            if pair.has_any_active_contact() || pair.manifolds().iter().any(|m| !m.points.is_empty()) {
                link(unit_of(pair.collider1), unit_of(pair.collider2));
            }
        }
        if self.steps() > 1 {
            // How far each collider can get in N steps (generously): speed, rotation at
            // its extent, gravity.
            let horizon = self.steps() as f64 * self.dt();
            let g = self.world.gravity.length();
            let grown: Vec<(Option<usize>, rapier3d_f64::parry::bounding_volume::Aabb)> = world
                .colliders
                .iter()
                .map(|(_, c)| {
                    let aabb = c.compute_aabb();
                    let reach = c.parent().and_then(|b| world.bodies.get(b)).map_or(0.0, |rb| {
                        let extent = (aabb.maxs - aabb.mins).length();
                        if rb.is_dynamic() {
                            2.0 * (horizon * (rb.linvel().length() + rb.angvel().length() * extent)
                                + horizon * horizon * g)
                        } else {
                            horizon * (rb.linvel().length() + rb.angvel().length() * extent)
                        }
                    });
                    let owner = c.parent().and_then(|b| owner.get(&b).copied());
                    (owner, aabb.loosened(reach + prediction))
                })
                .collect();
            for i in 0..grown.len() {
                for j in i + 1..grown.len() {
                    if grown[i].0.is_some() && grown[j].0.is_some() && intersects(&grown[i].1, &grown[j].1) {
                        link(grown[i].0, grown[j].0);
                    }
                }
            }
        }
        // Groups numbered in order of first appearance.
        let mut number = vec![usize::MAX; units.len()];
        let mut groups = 0;
        let mut per_entry = Vec::with_capacity(self.dofs());
        for (k, unit) in units.iter().enumerate() {
            let r = find(&mut uf, k);
            if number[r] == usize::MAX {
                number[r] = groups;
                groups += 1;
            }
            per_entry.extend(std::iter::repeat_n(number[r], unit.ndofs()));
        }
        (per_entry, groups)
    }

    /// The group each control acts in (`None`: a control on a body outside the state).
    fn control_groups(&self, entry_group: &[usize]) -> Vec<Option<usize>> {
        self.controls()
            .iter()
            .map(|c| {
                let body = match *c {
                    Control::JointTorque { link } | Control::MotorTarget { link } => link,
                    Control::Force { body, .. } => body,
                };
                let root = self
                    .world
                    .multibody_joints
                    .rigid_body_link(body)
                    .and_then(|l| self.world.multibody_joints.get_multibody(l.multibody))
                    .map(|mb| mb.root().rigid_body_handle());
                let mut at = 0;
                for unit in &self.units {
                    let hit = match unit {
                        Unit::Free { body: b, .. } => *b == body,
                        Unit::Multibody { root: r, .. } => Some(*r) == root,
                    };
                    if hit {
                        return entry_group.get(at).copied();
                    }
                    at += unit.ndofs();
                }
                None
            })
            .collect()
    }

    /// The sparsity pattern of `J = [A B]` (`nx × (nx + nu)`): dense within each
    /// interaction group, zero across groups.
    pub fn pattern(&self) -> Result<Pattern> {
        let (group, _) = self.groups();
        let nq = self.dofs();
        let controls = self.control_groups(&group);
        let group_of_col =
            |j: usize| -> Option<usize> { if j < 2 * nq { Some(group[j % nq]) } else { controls[j - 2 * nq] } };
        let n = self.nx() + self.nu();
        let mut cols_of_group: Vec<Vec<usize>> = Vec::new();
        for j in 0..n {
            if let Some(g) = group_of_col(j) {
                if cols_of_group.len() <= g {
                    cols_of_group.resize(g + 1, Vec::new());
                }
                cols_of_group[g].push(j);
            }
        }
        let rows: Vec<&[usize]> =
            (0..self.nx()).map(|i| cols_of_group.get(group[i % nq]).map_or(&[][..], |c| c.as_slice())).collect();
        Ok(Pattern::from_rows(n, &rows)?)
    }

    /// Whether a call's step is semi-implicit Euler on the linearly integrated
    /// coordinates, so that their rows are the integrator relations: one step per call,
    /// one substep (`num_solver_iterations == 1` and no body asking for more), no
    /// stabilization iterations, CCD off (`max_ccd_substeps == 0`), no restitution.
    pub fn integrates_exactly(&self) -> bool {
        let p = &self.world.params;
        self.steps() == 1
            && p.num_solver_iterations == 1
            && p.num_internal_stabilization_iterations == 0
            && p.max_ccd_substeps == 0
            && self.world.bodies.iter().all(|(_, rb)| rb.additional_solver_iterations() == 0)
            && self.world.colliders.iter().all(|(_, c)| c.restitution() == 0.0)
    }

    /// The integrator relations `J[q'_i] = dt·J[q̇'_i] + e_i`, for the coordinates rapier
    /// integrates linearly, when [`Dynamics::integrates_exactly`]; none otherwise.
    pub fn relations(&self) -> Vec<Relation> {
        if !self.integrates_exactly() {
            return Vec::new();
        }
        let nq = self.dofs();
        let dt = self.dt();
        self.entries()
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                matches!(e.quantity, Quantity::CenterOfMass | Quantity::JointTranslation | Quantity::JointAngle)
            })
            .map(|(i, _)| Relation { row: i, combination: vec![(nq + i, dt)], constant: vec![(i, 1.0)] })
            .collect()
    }

    /// The structure of `J = [A B]` derived from the world: the [pattern](Dynamics::pattern)
    /// and the [integrator relations](Dynamics::relations).
    ///
    /// ```
    /// use jacsense_rapier::scenes;
    /// let d = scenes::double_pendulums(20)?;
    /// let s = d.structure()?;
    /// assert_eq!(s.dims(), (120, 80)); // n = 80 states + 40 torques, m = 80
    /// assert_eq!(s.pattern().max_row_count(), 6); // a pendulum's 4 states and 2 torques
    /// // 40 angle rows are relations (q' = q + dt·q̇'): only the 40 rate rows are unknown.
    /// assert_eq!(s.intrinsic_dimension(), 40 * 6);
    /// // The relation rows add no equations: a rate row's 6 unknowns need 6 directions.
    /// assert_eq!(s.lower_bound(), 6);
    /// # Ok::<(), jacsense_rapier::Error>(())
    /// ```
    pub fn structure(&self) -> Result<Structure> {
        let structure = Structure::sparse(self.pattern()?);
        let relations = self.relations();
        if relations.is_empty() {
            return Ok(structure);
        }
        Ok(structure.with_coupling(Coupling { relations, ..Coupling::default() })?)
    }
}

fn find(uf: &mut [usize], mut a: usize) -> usize {
    while uf[a] != a {
        uf[a] = uf[uf[a]];
        a = uf[a];
    }
    a
}

fn intersects(a: &rapier3d_f64::parry::bounding_volume::Aabb, b: &rapier3d_f64::parry::bounding_volume::Aabb) -> bool {
    (0..3).all(|k| a.mins[k] <= b.maxs[k] && b.mins[k] <= a.maxs[k])
}
