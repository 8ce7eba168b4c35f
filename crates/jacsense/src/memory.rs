//! Memory checks before large arrays: an array that cannot fit is a typed error
//! ([`Error::TooLarge`]) naming the sizes, before anything is allocated — not an abort
//! in the allocator, nor the machine thrashing until the kernel kills the process.
//!
//! Most of what jacsense stores is `O(n + m + nnz)`. The exceptions grow with the
//! number of directions `k`: the measurements of a design whose rows see every
//! direction (`m × k` values: a dense `J` needs `k = n`), and random or rainbow
//! directions (`n × k` or `χ × k`). Their sizes are computed in 128-bit arithmetic
//! (no overflow) and compared with the memory available: on Linux `MemAvailable` of
//! `/proc/meminfo`, lowered to the cgroup (v2) limit when one is set; elsewhere only
//! the largest allocation Rust allows (`isize::MAX` bytes).

use crate::error::{Error, Result};

/// Arrays below this size are not checked (the check reads `/proc`).
const UNCHECKED_BYTES: u128 = 64 << 20;

/// Checks that `values` values of `size` bytes each fit in the memory available.
/// `what` says what they are, for the error, and names the sizes that make them.
pub(crate) fn check_fits(what: impl FnOnce() -> String, values: u128, size: usize, m: usize, n: usize) -> Result<()> {
    let bytes = values.saturating_mul(size as u128);
    if bytes < UNCHECKED_BYTES {
        return Ok(());
    }
    let available = available_bytes();
    if bytes > u128::from(available) {
        return Err(Error::TooLarge { what: what(), m, n, bytes, available });
    }
    Ok(())
}

/// The bytes this process may still allocate, as far as the system says.
pub(crate) fn available_bytes() -> u64 {
    let limit = isize::MAX as u64;
    [meminfo_available(), cgroup_available()].into_iter().flatten().fold(limit, u64::min)
}

/// `MemAvailable` of `/proc/meminfo`: free memory plus what the kernel can reclaim.
fn meminfo_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}

/// The cgroup v2 limit of this process minus its usage, when a limit is set.
fn cgroup_available() -> Option<u64> {
    let read = |name: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{name}")).ok();
    let max: u64 = read("memory.max")?.trim().parse().ok()?; // "max" when unlimited
    let current: u64 = read("memory.current")?.trim().parse().ok()?;
    Some(max.saturating_sub(current))
}

/// A byte count for people: `80.0 GB`.
pub(crate) fn human(bytes: u128) -> String {
    const UNITS: [&str; 9] = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} bytes") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_arrays_pass_and_impossible_ones_are_named() {
        assert!(check_fits(|| unreachable!("not checked"), 1000, 8, 10, 10).is_ok());
        let err = check_fits(|| "the measurements".into(), u128::from(u64::MAX), 8, 7, 9).unwrap_err();
        let Error::TooLarge { m, n, bytes, .. } = &err else { panic!("{err}") };
        assert_eq!((*m, *n, *bytes), (7, 9, u128::from(u64::MAX) * 8));
        assert!(err.to_string().starts_with("the measurements need 147573952589676412920 bytes (147.6 EB"), "{err}");
    }

    #[test]
    fn byte_counts_read_well() {
        assert_eq!(human(512), "512 bytes");
        assert_eq!(human(80_000_000_000), "80.0 GB");
    }
}
