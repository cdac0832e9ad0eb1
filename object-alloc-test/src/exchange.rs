//! Shared machinery of the random and multi-threaded checks: the policy that
//! decides between allocating and freeing, and the mailboxes that carry
//! blocks to the thread that frees them.

use std::sync::{Barrier, Mutex, PoisonError};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// Decides, operation by operation, whether a random sequence allocates or
/// frees. The number of live blocks drifts towards a target that changes
/// every few hundred operations (sometimes to zero, sometimes to the
/// maximum), so a sequence has bursts of allocation, bursts of freeing (which
/// empty whole slabs), and long stretches of mixed steady state.
#[derive(Debug)]
pub(crate) struct Walk {
    pub(crate) rng: SmallRng,
    max_live: usize,
    target: usize,
    left_in_phase: usize,
}

impl Walk {
    pub(crate) fn new(seed: u64, max_live: usize) -> Self {
        Walk {
            rng: SmallRng::seed_from_u64(seed),
            max_live: max_live.max(2),
            target: 0,
            left_in_phase: 0,
        }
    }

    /// Whether the next operation allocates, given how many blocks are live.
    pub(crate) fn allocate(&mut self, live: usize) -> bool {
        if self.left_in_phase == 0 {
            self.left_in_phase = self.rng.random_range(50..1000);
            self.target = match self.rng.random_range(0..8) {
                0 => 0,
                1 => self.max_live,
                _ => self.rng.random_range(0..=self.max_live),
            };
        }
        self.left_in_phase -= 1;
        if live == 0 {
            return true;
        }
        if live >= self.max_live {
            return false;
        }
        // Mostly towards the target, with one step in five at random.
        if self.rng.random_range(0..5) == 0 {
            self.rng.random_bool(0.5)
        } else {
            live < self.target
        }
    }

    /// A random index below `len` (which is not zero).
    pub(crate) fn pick(&mut self, len: usize) -> usize {
        self.rng.random_range(0..len)
    }
}

/// One mailbox per thread: a thread posts blocks to another thread's box,
/// and each thread frees what it finds in its own. This is what makes frees
/// happen on a thread other than the allocating one.
#[derive(Debug)]
pub(crate) struct Mailboxes<T> {
    boxes: Vec<Mutex<Vec<T>>>,
    done: Barrier,
}

impl<T: Send> Mailboxes<T> {
    pub(crate) fn new(threads: usize) -> Self {
        Mailboxes {
            boxes: (0..threads).map(|_| Mutex::new(Vec::new())).collect(),
            done: Barrier::new(threads),
        }
    }

    /// Posts `item` to thread `to`.
    pub(crate) fn post(&self, to: usize, item: T) {
        self.boxes[to]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(item);
    }

    /// Takes everything posted to thread `me` so far.
    pub(crate) fn take(&self, me: usize) -> Vec<T> {
        std::mem::take(
            &mut *self.boxes[me]
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Runs a thread's main loop, then waits until every thread has finished
    /// its own (so nothing more is posted), whether the loop succeeded,
    /// failed or panicked; a panic comes back as an error.
    pub(crate) fn run_then_wait(
        &self,
        main_loop: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), String> {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(main_loop));
        self.done.wait();
        outcome.unwrap_or_else(|payload| Err(panic_message(payload.as_ref())))
    }
}

/// Runs `work(thread_index)` on `threads` scoped threads and returns the
/// first failure any of them reports. A thread that panics is reported as a
/// failure too, with its message.
pub(crate) fn run_threads<E: Send>(
    threads: usize,
    work: impl Fn(usize) -> Result<(), E> + Sync,
    panicked: impl Fn(String) -> E,
) -> Result<(), E> {
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let work = &work;
                s.spawn(move || work(t))
            })
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    for result in results {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(payload) => return Err(panicked(panic_message(payload.as_ref()))),
        }
    }
    Ok(())
}

/// The message of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a thread panicked".to_string())
}
