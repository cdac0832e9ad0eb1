//! Counts of live stack nodes and queue segments, so that unit tests can
//! check every one is freed, including those retired through the epoch.
//! Miri's own leak check cannot do it here: crossbeam-epoch keeps deferred
//! garbage behind pointers stored as integers, where Miri's scan does not
//! look. Compiled only for this crate's unit tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crossbeam_epoch as epoch;

/// Stack nodes allocated and not yet freed.
pub(crate) static NODES: AtomicUsize = AtomicUsize::new(0);
/// Queue segments allocated and not yet freed.
pub(crate) static SEGMENTS: AtomicUsize = AtomicUsize::new(0);

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs the unit tests one at a time: the counts are process-wide.
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Flushes this thread's garbage and collects, until `count` reaches zero
/// or many rounds have passed; returns what is left. Garbage becomes
/// collectable two epoch advances after it was retired, and each round
/// can advance the epoch once.
pub(crate) fn drain(count: &AtomicUsize) -> usize {
    for _ in 0..1000 {
        if count.load(Ordering::Relaxed) == 0 {
            break;
        }
        epoch::pin().flush();
        std::thread::yield_now();
    }
    count.load(Ordering::Relaxed)
}
