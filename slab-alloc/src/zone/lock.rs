//! The zone's lock: a test-and-test-and-set spin lock that gives up the
//! CPU after spinning a while.
//!
//! The slab caches' critical sections are short (a magazine's worth of
//! allocations or frees), so spinning wins while the holder runs. But a
//! holder can be preempted, and on a machine with few cores (or a virtual
//! one, whose vCPU the host deschedules) a waiter that only spins burns its
//! whole time slice doing nothing for the holder. After `SPINS` rounds of
//! spinning a waiter yields (`sched_yield`), which lets the holder run.

use core::hint::spin_loop;

use crate::{RawLock, SpinLock};

/// Spin rounds before a waiter starts yielding.
const SPINS: u32 = 100;

#[derive(Debug, Default)]
pub(crate) struct YieldLock {
    inner: SpinLock,
}

// SAFETY: the inner spin lock excludes (its `lock_relaxing` returns only
// with the lock taken); only the waiting differs.
unsafe impl RawLock for YieldLock {
    // Each use of `INIT` is a fresh, unlocked lock, which is the point.
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = YieldLock {
        inner: SpinLock::new(),
    };

    #[inline]
    fn lock(&self) {
        let mut spins = 0u32;
        self.inner.lock_relaxing(|| {
            if spins < SPINS {
                spins += 1;
                spin_loop();
            } else {
                // SAFETY: `sched_yield` has no preconditions.
                unsafe { libc::sched_yield() };
            }
        });
    }

    #[inline]
    unsafe fn unlock(&self) {
        // SAFETY: the caller holds the lock.
        unsafe { self.inner.unlock() }
    }
}

/// A cache behind the zone's lock.
pub(crate) type ZoneLocked<C> = crate::Locked<C, YieldLock>;
