//! A global allocator for the fuzz tests: once armed, it refuses any single allocation
//! larger than [`BOUND`], so that a reader or a setting that sizes memory from a claim
//! in its input ("99999999999999 entries") is caught however much memory the machine
//! has, instead of passing by overcommit or swapping the machine to a halt.
//!
//! A refusal is recorded (see [`check`]), said on stderr with its size, and answered
//! with a null pointer. Most Rust code then aborts in `handle_alloc_error`: the fuzz
//! tests run their cases in a child process (proptest's `fork`), so the abort fails
//! the case, and proptest reports its input, instead of killing the test binary.
//! Code that handles the null (`try_reserve`) is caught by [`check`] after the case.
//!
//! Shared by the core's test binary (`tests/fuzz`) and the command's (`tests/fuzz.rs`,
//! through `#[path]`): one allocator, one bound.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The largest single allocation allowed while armed: 2 GiB. jacsense's fixed limits
/// keep the arrays it sizes from input within this (`MAX_DIMENSION` row pointers are
/// 1 GiB), and the fuzz inputs are small, so that anything larger was sized by a claim
/// that nothing checked (the arrays checked against the memory available are huge
/// or tiny here: the strategies avoid sizes between).
pub const BOUND: usize = 2 << 30;

static ARMED: AtomicBool = AtomicBool::new(false);
static REFUSED: AtomicUsize = AtomicUsize::new(0);

/// The allocator: [`System`], bounded while armed.
pub struct Bounded;

fn refuse(size: usize) -> bool {
    if size <= BOUND || !ARMED.load(Ordering::Relaxed) {
        return false;
    }
    REFUSED.fetch_max(size, Ordering::Relaxed);
    // Formatted on the stack: the allocator must not allocate to report.
    let mut buf = [0u8; 200];
    let mut out = &mut buf[..];
    let _ = writeln!(out, "fuzz: refused an allocation of {size} bytes (more than {BOUND}): an input sized it");
    let len = 200 - out.len();
    let _ = std::io::stderr().write_all(&buf[..len]);
    true
}

// SAFETY: every call is forwarded to `System` with the caller's arguments, or answered
// with null, which `GlobalAlloc` allows for any failed allocation.
unsafe impl GlobalAlloc for Bounded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if refuse(layout.size()) { std::ptr::null_mut() } else { unsafe { System.alloc(layout) } }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if refuse(layout.size()) { std::ptr::null_mut() } else { unsafe { System.alloc_zeroed(layout) } }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if refuse(new_size) { std::ptr::null_mut() } else { unsafe { System.realloc(ptr, layout, new_size) } }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Bounds every allocation from now on in this process. The fuzz cases call it first:
/// they run in a child process of their own, so the other tests of the binary stay
/// unbounded.
pub fn arm() {
    ARMED.store(true, Ordering::Relaxed);
}

/// `Err` naming the largest refused size when an allocation above [`BOUND`] was asked
/// for since the last call (and handled without aborting).
pub fn check() -> Result<(), String> {
    match REFUSED.swap(0, Ordering::Relaxed) {
        0 => Ok(()),
        size => Err(format!("an allocation of {size} bytes (more than the bound of {BOUND}) was asked for")),
    }
}
