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
use core::sync::atomic::{AtomicBool, Ordering};

use crate::RawLock;

/// Spin rounds before a waiter starts yielding.
const SPINS: u32 = 100;

#[derive(Debug, Default)]
pub(crate) struct YieldLock {
    locked: AtomicBool,
}

impl YieldLock {
    #[cold]
    #[inline(never)]
    fn lock_slow(&self) {
        let mut spins = 0u32;
        loop {
            while self.locked.load(Ordering::Relaxed) {
                if spins < SPINS {
                    spins += 1;
                    spin_loop();
                } else {
                    // SAFETY: `sched_yield` has no preconditions.
                    unsafe { libc::sched_yield() };
                }
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

// SAFETY: `lock` returns only after its compare-exchange turned `locked`
// from false to true, and only `unlock` stores false again: one holder at a
// time, the Acquire exchange pairing with the Release store.
unsafe impl RawLock for YieldLock {
    // Each use of `INIT` is a fresh, unlocked lock, which is the point.
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = YieldLock {
        locked: AtomicBool::new(false),
    };

    #[inline]
    fn lock(&self) {
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow();
        }
    }

    #[inline]
    unsafe fn unlock(&self) {
        self.locked.store(false, Ordering::Release);
    }
}

/// A cache behind the zone's lock.
pub(crate) type ZoneLocked<C> = crate::Locked<C, YieldLock>;
