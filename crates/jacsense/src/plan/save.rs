//! Schemes and plans saved and loaded (serde), so that the calls of a plan can be made
//! by another process, on another machine, days later (`jacsense ask` / `tell`, Python
//! pickling), and decoded with exactly the plan that made them.
//!
//! A saved plan holds what the planner decided — the structure (the pattern and what
//! [`Structure::with_coupling`] was given), the resolved settings, the colorings, the
//! directions themselves (not a seed to draw them again) — and the point: `x0`, the
//! steps, `f(x0)` when given, the bounds. What is derived from those (the
//! parametrization, the row index, a star coloring's recovery map) is derived again on
//! loading, and everything is checked, so a corrupted or hand-edited file is an error
//! naming what is wrong, never a panic or a plan that decodes wrongly.
//!
//! The JSON text ([`Plan::to_json`], [`Scheme::to_json`]) wraps the data in an
//! envelope with the format's name and version and an FNV-1a checksum of the data's
//! text, so a file from a jacsense with another format, or one damaged in transit, is
//! refused with a clear message.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Bounds, Plan, Scheme, check_f0, check_x0};
use crate::coloring::{Coloring, Ordering, StarColoring, check_column_coloring};
use crate::design::{Design, Directions};
use crate::error::{Error, Result};
use crate::pattern::Pattern;
use crate::projection::Projection;
use crate::settings::{DecoderChoice, Settings};
use crate::structure::{Coupling, Structure};

/// Version of the saved format; a file of another version is refused.
pub const SAVED_FORMAT_VERSION: u32 = 1;

/// Largest dimension a saved dense pattern may claim (its column list is allocated).
const MAX_DIMENSION: usize = 1 << 27;

#[derive(Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "kebab-case", deny_unknown_fields)]
enum PatternData {
    Dense { nrows: usize, ncols: usize },
    Csr { nrows: usize, ncols: usize, row_ptr: Vec<usize>, col_idx: Vec<usize> },
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let (nrows, ncols) = (self.nrows(), self.ncols());
        if self.is_dense() {
            PatternData::Dense { nrows, ncols }.serialize(s)
        } else {
            let (row_ptr, col_idx) = self.csr();
            PatternData::Csr { nrows, ncols, row_ptr: row_ptr.into_owned(), col_idx: col_idx.into_owned() }.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match PatternData::deserialize(d)? {
            PatternData::Dense { nrows, ncols } => {
                if nrows > MAX_DIMENSION || ncols > MAX_DIMENSION {
                    return Err(D::Error::custom(format!(
                        "a dense {nrows}×{ncols} pattern is larger than {MAX_DIMENSION} rows or columns"
                    )));
                }
                Ok(Pattern::dense(nrows, ncols))
            }
            PatternData::Csr { nrows, ncols, row_ptr, col_idx } => {
                Pattern::from_csr(nrows, ncols, row_ptr, col_idx).map_err(D::Error::custom)
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StructureData {
    pattern: Pattern,
    row_sparsity: Option<usize>,
    symmetric: bool,
    coupling: Option<Coupling>,
}

impl Serialize for Structure {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        StructureData {
            pattern: self.pattern().clone(),
            row_sparsity: self.row_sparsity(),
            symmetric: self.is_symmetric(),
            coupling: self.coupling().cloned(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Structure {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let data = StructureData::deserialize(d)?;
        let mut structure = if data.symmetric {
            Structure::symmetric(data.pattern).map_err(D::Error::custom)?
        } else {
            Structure::sparse(data.pattern)
        };
        if let Some(s) = data.row_sparsity {
            structure = structure.with_row_sparsity(s);
        }
        if let Some(coupling) = data.coupling {
            structure = structure.with_coupling(coupling).map_err(D::Error::custom)?;
        }
        Ok(structure)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum DirectionsData {
    Grouped {
        k: usize,
        group: Vec<usize>,
    },
    Dense {
        k: usize,
        #[serde(default)]
        columns: Option<Vec<usize>>,
        values: Vec<f64>,
    },
    Rainbow {
        k: usize,
        color: Vec<usize>,
        sign: Vec<f64>,
        g: Vec<f64>,
    },
}

impl DirectionsData {
    fn of(directions: &Directions) -> DirectionsData {
        match directions {
            Directions::Grouped { group, members } => {
                DirectionsData::Grouped { k: members.len(), group: group.clone() }
            }
            Directions::Dense { k, columns, values } => {
                DirectionsData::Dense { k: *k, columns: columns.clone(), values: values.clone() }
            }
            Directions::Rainbow { k, color, sign, g } => {
                DirectionsData::Rainbow { k: *k, color: color.clone(), sign: sign.clone(), g: g.clone() }
            }
        }
    }

    /// The directions, checked against `n` inputs.
    fn directions(self, n: usize) -> std::result::Result<Directions, String> {
        let finite = |values: &[f64], what: &str| match values.iter().position(|v| !v.is_finite()) {
            Some(i) => Err(format!("{what}[{i}] = {} is not finite", values[i])),
            None => Ok(()),
        };
        let length = |found: usize, expected: usize, what: &str| {
            if found == expected { Ok(()) } else { Err(format!("{what} has {found} entries, expected {expected}")) }
        };
        match self {
            DirectionsData::Grouped { k, group } => {
                length(group.len(), n, "group")?;
                if k > n.max(1) {
                    return Err(format!("{k} groups of {n} columns"));
                }
                if let Some(c) = group.iter().position(|&t| t >= k) {
                    return Err(format!("column {c} is in group {}, beyond the {k} groups", group[c]));
                }
                let mut members = vec![Vec::new(); k];
                for (c, &t) in group.iter().enumerate() {
                    members[t].push(c);
                }
                Ok(Directions::Grouped { group, members })
            }
            DirectionsData::Dense { k, columns, values } => {
                if let Some(cols) = &columns
                    && (cols.windows(2).any(|w| w[0] >= w[1]) || cols.last().is_some_and(|&c| c >= n))
                {
                    return Err(format!("columns are not ascending distinct inputs below n = {n}"));
                }
                let perturbed = columns.as_ref().map_or(n, Vec::len);
                length(values.len(), perturbed.checked_mul(k).ok_or("columns × k overflows")?, "values")?;
                finite(&values, "values")?;
                Ok(Directions::Dense { k, columns, values })
            }
            DirectionsData::Rainbow { k, color, sign, g } => {
                length(color.len(), n, "color")?;
                length(sign.len(), n, "sign")?;
                if k == 0 || g.len() % k != 0 {
                    return Err(format!("g has {} entries, not a multiple of k = {k}", g.len()));
                }
                let chi = g.len() / k;
                if let Some(c) = color.iter().position(|&t| t >= chi) {
                    return Err(format!("column {c} has color {}, beyond the {chi} colors", color[c]));
                }
                if let Some(c) = sign.iter().position(|&s| s != 1.0 && s != -1.0) {
                    return Err(format!("sign[{c}] = {} is not ±1", sign[c]));
                }
                finite(&g, "g")?;
                Ok(Directions::Rainbow { k, color, sign, g })
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemeData {
    structure: Structure,
    settings: Settings,
    coloring: Option<(Ordering, Coloring)>,
    star: Option<Coloring>,
    directions: DirectionsData,
    #[serde(default)]
    projection: Option<Projection>,
}

impl Serialize for Scheme {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        SchemeData {
            structure: self.structure().clone(),
            settings: self.settings().clone(),
            coloring: self.inner.coloring.clone(),
            star: self.inner.star.as_ref().map(|s| s.coloring().clone()),
            directions: DirectionsData::of(&self.inner.directions),
            projection: self.projection().cloned(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Scheme {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let SchemeData { structure, settings, coloring, star, directions, projection } = SchemeData::deserialize(d)?;
        let (n, _) = structure.dims();
        let pattern = structure.pattern();
        let directions = directions.directions(n).map_err(|e| D::Error::custom(format!("directions: {e}")))?;
        if settings.design == Design::Auto || settings.decoder == DecoderChoice::Auto {
            return Err(D::Error::custom("the settings of a saved scheme name their design and decoder"));
        }
        // Colorings are checked for size before anything is sized by their colors.
        let too_many = |c: &Coloring| c.num_colors() > n.max(1) || c.len() != n;
        let colorings = coloring.iter().map(|(_, c)| c).chain(star.as_ref());
        let given = match &settings.design {
            Design::Groups(c) => Some(c),
            _ => None,
        };
        if colorings.chain(given).any(too_many) {
            return Err(D::Error::custom(format!(
                "a coloring of other than {n} columns, or with more colors than columns"
            )));
        }
        // The design's own coloring must be valid and be the one its directions group by.
        let grouped_by = |c: &Coloring| match &directions {
            Directions::Grouped { group, .. } => group.as_slice() == c.colors(),
            Directions::Rainbow { color, .. } => color.as_slice() == c.colors(),
            Directions::Dense { .. } => false,
        };
        let star = match star {
            Some(c) => {
                if !grouped_by(&c) {
                    return Err(D::Error::custom("the star coloring is not the one the directions group by"));
                }
                Some(StarColoring::from_coloring(pattern, c).map_err(D::Error::custom)?)
            }
            None => None,
        };
        if let Some((_, c)) = &coloring {
            // A star coloring is no column coloring: it was checked above.
            match &star {
                Some(s) if s.coloring() == c => {}
                Some(_) => return Err(D::Error::custom("the coloring is not the star coloring")),
                None => check_column_coloring(pattern, c).map_err(D::Error::custom)?,
            }
            if !grouped_by(c) {
                return Err(D::Error::custom("the coloring is not the one the directions group by"));
            }
        }
        let expects = match &settings.design {
            Design::Colored { .. } | Design::Rainbow { .. } => coloring.is_some() && star.is_none(),
            Design::Star { .. } => star.is_some(),
            Design::Groups(c) => {
                check_column_coloring(pattern, c).map_err(D::Error::custom)?;
                grouped_by(c) && coloring.is_none()
            }
            Design::Coordinate => matches!(&directions, Directions::Grouped { group, .. }
                if group.iter().enumerate().all(|(c, &t)| c == t)),
            _ => matches!(directions, Directions::Dense { .. }),
        };
        if !expects {
            return Err(D::Error::custom(format!(
                "the directions and colorings do not fit a {} design",
                settings.design.name()
            )));
        }
        crate::plan::check_directions_count(directions.len()).map_err(D::Error::custom)?;
        let scheme = Scheme::from_parts(structure, settings, coloring, star, directions);
        match projection {
            None => Ok(scheme),
            Some(p) => {
                p.check(scheme.structure().dims().1).map_err(|e| D::Error::custom(format!("projection: {e}")))?;
                Ok(scheme.with_projection(p))
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BoundsData {
    /// `None`: no limit (JSON has no infinity).
    lower: Vec<Option<f64>>,
    upper: Vec<Option<f64>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanData {
    scheme: Scheme,
    x0: Vec<f64>,
    steps: Vec<f64>,
    f0: Option<Vec<f64>>,
    bounds: Option<BoundsData>,
}

impl Serialize for Plan {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let limit = |v: &[f64]| v.iter().map(|&x| x.is_finite().then_some(x)).collect();
        PlanData {
            scheme: self.scheme.clone(),
            x0: self.x0.clone(),
            steps: self.steps.clone(),
            f0: self.f0.clone(),
            bounds: self.bounds.as_ref().map(|b| BoundsData { lower: limit(&b.lower), upper: limit(&b.upper) }),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Plan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let PlanData { scheme, x0, steps, f0, bounds } = PlanData::deserialize(d)?;
        let (n, _) = scheme.structure().dims();
        let m = scheme.outputs();
        let bad = |e: Error| D::Error::custom(e);
        check_x0(&x0, n).map_err(bad)?;
        if steps.len() != n {
            return Err(bad(Error::DimensionMismatch { what: "steps length", expected: n, found: steps.len() }));
        }
        if let Some(c) = steps.iter().position(|h| !(h.is_finite() && *h > 0.0)) {
            return Err(D::Error::custom(format!("steps[{c}] = {} is not finite and positive", steps[c])));
        }
        if let Some(f0) = &f0 {
            check_f0(f0, m).map_err(bad)?;
        }
        let bounds = match bounds {
            None => None,
            Some(BoundsData { lower, upper }) => {
                let lower = lower.into_iter().map(|v| v.unwrap_or(f64::NEG_INFINITY)).collect();
                let upper = upper.into_iter().map(|v| v.unwrap_or(f64::INFINITY)).collect();
                let b = Bounds::new(lower, upper).map_err(bad)?;
                b.check_point(&x0, scheme.settings().difference).map_err(bad)?;
                Some(b)
            }
        };
        Ok(Plan { scheme, x0, steps, f0, bounds })
    }
}

/// FNV-1a over the bytes of `text`.
fn checksum(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[derive(Deserialize)]
struct Envelope<'a> {
    format: String,
    version: u32,
    jacsense: String,
    checksum: String,
    #[serde(borrow)]
    data: &'a serde_json::value::RawValue,
}

fn wrap(format: &str, data: String) -> String {
    format!(
        "{{\"format\":\"{format}\",\"version\":{SAVED_FORMAT_VERSION},\"jacsense\":\"{}\",\"checksum\":\"{}\",\"data\":{data}}}\n",
        env!("CARGO_PKG_VERSION"),
        checksum(&data)
    )
}

fn unwrap<T: for<'de> Deserialize<'de>>(format: &str, text: &str) -> Result<T> {
    let saved = |message: String| Error::Saved(message);
    let envelope: Envelope<'_> =
        serde_json::from_str(text).map_err(|e| saved(format!("not a saved jacsense {format}: {e}")))?;
    if envelope.format != format {
        return Err(saved(format!("this is a saved '{}', not a '{format}'", envelope.format)));
    }
    if envelope.version != SAVED_FORMAT_VERSION {
        return Err(saved(format!(
            "format version {} (written by jacsense {}); this jacsense ({}) reads version {SAVED_FORMAT_VERSION}",
            envelope.version,
            envelope.jacsense,
            env!("CARGO_PKG_VERSION")
        )));
    }
    let data = envelope.data.get();
    if checksum(data) != envelope.checksum {
        return Err(saved(format!(
            "the checksum does not match the data ({} written, {} found): the file was damaged or edited",
            envelope.checksum,
            checksum(data)
        )));
    }
    serde_json::from_str(data).map_err(|e| saved(format!("invalid {format}: {e}")))
}

impl Scheme {
    /// The scheme as JSON text (the data in an envelope with the format's name, version and a checksum), to save and load with
    /// [`Scheme::from_json`].
    ///
    /// ```
    /// use jacsense::{Pattern, Scheme, Settings, Structure};
    /// let scheme = Scheme::new(&Structure::sparse(Pattern::banded(50, 50, 2, 2)), &Settings::default())?;
    /// let again = Scheme::from_json(&scheme.to_json())?;
    /// assert_eq!(again.at(&[1.0; 50])?.points(), scheme.at(&[1.0; 50])?.points());
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        wrap("jacsense-scheme", serde_json::to_string(self).expect("a scheme serializes"))
    }

    /// A scheme saved by [`Scheme::to_json`].
    ///
    /// Errors ([`Error::Saved`]): not a saved scheme, another format version, a
    /// checksum that does not match, or data that do not make a valid scheme.
    pub fn from_json(text: &str) -> Result<Scheme> {
        unwrap("jacsense-scheme", text)
    }
}

impl Plan {
    /// The plan as JSON text (the data in an envelope with the format's name, version and a checksum), to save and load with
    /// [`Plan::from_json`]: the calls can be made elsewhere and told back to
    /// [`Measurements`](crate::Measurements) of the loaded plan.
    ///
    /// ```
    /// use jacsense::{Measurements, Pattern, Plan, Settings, Structure};
    /// let plan = Plan::new(&Structure::sparse(Pattern::banded(3, 3, 0, 0)), &[1.0; 3], &Settings::default())?;
    /// let text = plan.to_json();                // write it to a file…
    /// let plan = Plan::from_json(&text)?;       // …and read it back, anywhere
    /// let mut meas = Measurements::new(&plan)?;
    /// for (call, x) in plan.points().iter().enumerate() {
    ///     meas.tell(call, &[2.0 * x[0], 3.0 * x[1], x[2]])?;
    /// }
    /// assert!((meas.decode().jacobian().get(1, 1) - 3.0).abs() < 1e-7);
    /// assert!(Plan::from_json(&text.replace("\"x0\":[1", "\"x0\":[2")).is_err()); // edited: refused
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        wrap("jacsense-plan", serde_json::to_string(self).expect("a plan serializes"))
    }

    /// A plan saved by [`Plan::to_json`].
    ///
    /// Errors ([`Error::Saved`]): not a saved plan, another format version, a checksum
    /// that does not match, or data that do not make a valid plan.
    pub fn from_json(text: &str) -> Result<Plan> {
        unwrap("jacsense-plan", text)
    }
}
