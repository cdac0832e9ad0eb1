//! Checks for [`UntypedObjectAlloc`] and [`SharedUntypedObjectAlloc`].
//!
//! Each check takes a constructor from a requested [`Layout`] to a fresh
//! allocator and the layouts to try (usually [`object_layouts`]), so one call
//! covers the whole grid.
//!
//! [`object_layouts`]: crate::object_layouts

use std::alloc::Layout;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use object_alloc::{SharedUntypedObjectAlloc, UntypedObjectAlloc};
use rand::RngExt as _;

use crate::exchange::{Mailboxes, Walk, run_threads};
use crate::layouts::sample;
use crate::live::{Held, Live, adopt, release, verify};
use crate::{CheckResult, Config, Failure};

fn describe(layout: Layout) -> String {
    format!(
        "layout of {} bytes aligned to {}",
        layout.size(),
        layout.align()
    )
}

/// Makes the allocator for `requested` and checks that the layout it reports
/// can hold what was asked for.
fn make_checked<A: UntypedObjectAlloc>(
    make: &impl Fn(Layout) -> A,
    requested: Layout,
) -> Result<(A, Layout), Failure> {
    let alloc = make(requested);
    let got = alloc.layout();
    if got.size() < requested.size() || got.align() < requested.align() {
        return Err(Failure::new(
            "layout",
            describe(requested),
            format!(
                "the allocator reports blocks of {} bytes aligned to {}, smaller or less aligned than requested",
                got.size(),
                got.align()
            ),
        ));
    }
    Ok((alloc, got))
}

/// Allocates one block and checks it (aligned, distinct, writable).
fn take<A: UntypedObjectAlloc>(
    alloc: &mut A,
    live: &mut Live,
    layout: Layout,
    id: u64,
) -> Result<Held, String> {
    let ptr = alloc.alloc().map_err(|_| {
        format!(
            "alloc failed (out of memory) with {} blocks live",
            id.saturating_sub(1)
        )
    })?;
    // SAFETY: the allocator promised `layout.size()` writable bytes at `ptr`;
    // `adopt` checks alignment and overlap before writing.
    unsafe { adopt(live, ptr, layout.size(), layout, id) }
}

/// Checks a block's pattern, forgets it and frees it.
fn give<A: UntypedObjectAlloc>(alloc: &mut A, live: &mut Live, held: Held) -> Result<(), String> {
    // SAFETY: `held` came from `take` on this allocator and is still live.
    unsafe { release(live, &held) }?;
    // SAFETY: the block came from this allocator and is freed once.
    unsafe { alloc.dealloc(held.ptr) };
    Ok(())
}

/// Every allocator reports a layout that holds what was requested.
///
/// ```
/// use std::alloc::System;
/// use object_alloc::GlobalUntyped;
/// use object_alloc_test::{object_layouts, untyped};
///
/// untyped::layout(|l| GlobalUntyped::new(System, l), &object_layouts()).unwrap();
/// ```
pub fn layout<A: UntypedObjectAlloc>(
    make: impl Fn(Layout) -> A,
    layouts: &[Layout],
) -> CheckResult {
    for &requested in layouts {
        make_checked(&make, requested)?;
    }
    Ok(())
}

/// Fills an allocator with a batch of blocks (several slabs' worth), checks
/// that each is aligned, distinct from and not overlapping the others, and
/// writable over its whole size; checks that each kept its fill pattern while
/// the others were written; frees half in random order, allocates again
/// (reuse after free) and checks again.
///
/// ```
/// use std::alloc::System;
/// use object_alloc::GlobalUntyped;
/// use object_alloc_test::{Config, object_layouts, untyped};
///
/// untyped::blocks(|l| GlobalUntyped::new(System, l), &object_layouts(), &Config::from_env()).unwrap();
/// ```
pub fn blocks<A: UntypedObjectAlloc>(
    make: impl Fn(Layout) -> A,
    layouts: &[Layout],
    config: &Config,
) -> CheckResult {
    for (index, &requested) in layouts.iter().enumerate() {
        let (mut alloc, layout) = make_checked(&make, requested)?;
        let fail = |message: String| {
            Failure::new("blocks", describe(requested), message).with_seed(config.seed)
        };
        let n = config.batch_for(layout.pad_to_align().size());
        let mut walk = Walk::new(config.seed_for(index as u64), n);
        let mut live = Live::default();
        let mut held: Vec<Held> = Vec::with_capacity(n);
        let mut next_id = 1;
        for round in 0..3 {
            while held.len() < n {
                held.push(take(&mut alloc, &mut live, layout, next_id).map_err(fail)?);
                next_id += 1;
            }
            for h in &held {
                // SAFETY: every held block is live and was filled by `adopt`.
                unsafe { verify(h) }.map_err(fail)?;
            }
            // Free half (all in the last round), in random order.
            let keep = if round == 2 { 0 } else { n / 2 };
            while held.len() > keep {
                let victim = held.swap_remove(walk.pick(held.len()));
                give(&mut alloc, &mut live, victim).map_err(fail)?;
            }
        }
    }
    Ok(())
}

/// Long seeded random sequences of allocations and frees (`config.ops`
/// operations for objects up to 4 KiB, fewer for larger ones) over a sample
/// of the layouts, with the corruption tester on: every live block holds a
/// pattern that is checked before it is freed.
///
/// ```
/// use std::alloc::System;
/// use object_alloc::GlobalUntyped;
/// use object_alloc_test::{Config, object_layouts, untyped};
///
/// let quick = Config { ops: 2_000, ..Config::from_env() };
/// untyped::random(|l| GlobalUntyped::new(System, l), &object_layouts(), &quick).unwrap();
/// ```
pub fn random<A: UntypedObjectAlloc>(
    make: impl Fn(Layout) -> A,
    layouts: &[Layout],
    config: &Config,
) -> CheckResult {
    for (index, requested) in sample(layouts).into_iter().enumerate() {
        let (mut alloc, layout) = make_checked(&make, requested)?;
        let ops = config.ops_for(layout.size());
        let max_live = config.batch_for(layout.pad_to_align().size());
        let mut walk = Walk::new(config.seed_for(index as u64), max_live);
        let mut live = Live::default();
        let mut held: Vec<Held> = Vec::with_capacity(max_live);
        for op in 0..ops {
            let step = if walk.allocate(held.len()) {
                take(&mut alloc, &mut live, layout, op as u64 + 1).map(|h| held.push(h))
            } else {
                let victim = held.swap_remove(walk.pick(held.len()));
                give(&mut alloc, &mut live, victim)
            };
            step.map_err(|m| {
                Failure::new(
                    "random",
                    describe(requested),
                    format!("at operation {op} of {ops}: {m}"),
                )
                .with_seed(config.seed)
            })?;
        }
        for victim in held {
            give(&mut alloc, &mut live, victim).map_err(|m| {
                Failure::new("random", describe(requested), m).with_seed(config.seed)
            })?;
        }
    }
    Ok(())
}

/// `config.threads` threads allocate from one shared allocator at once, post
/// some of their blocks to other threads, and free what is posted to them,
/// so that most blocks are freed on a thread other than the one that
/// allocated them. Distinctness and overlap are checked across all threads,
/// and every block's pattern is checked before it is freed.
///
/// ```
/// use std::alloc::System;
/// use object_alloc::GlobalUntyped;
/// use object_alloc_test::{Config, object_layouts, untyped};
///
/// let quick = Config { ops: 4_000, ..Config::from_env() };
/// untyped::threads(|l| GlobalUntyped::new(System, l), &object_layouts(), &quick).unwrap();
/// ```
pub fn threads<A: SharedUntypedObjectAlloc>(
    make: impl Fn(Layout) -> A,
    layouts: &[Layout],
    config: &Config,
) -> CheckResult {
    let sampled = sample(layouts);
    // A small, a medium and the largest sampled layout.
    let mut picked: Vec<Layout> = [0, sampled.len() / 2, sampled.len() - 1]
        .iter()
        .map(|&i| sampled[i])
        .collect();
    picked.dedup();
    for (index, requested) in picked.into_iter().enumerate() {
        let (alloc, layout) = make_checked(&make, requested)?;
        let ops = config.ops_for(layout.size()) / config.threads + 1;
        let max_live = config.batch_for(layout.pad_to_align().size()) / config.threads + 2;
        let live = Mutex::new(Live::default());
        let mail = Mailboxes::<Held>::new(config.threads);
        let ids = AtomicU64::new(1);
        let lock = || live.lock().unwrap_or_else(PoisonError::into_inner);

        let free = |held: Held| -> Result<(), String> {
            // SAFETY: `held` is a live block of `alloc`, owned by this thread.
            unsafe { release(&mut lock(), &held) }?;
            // SAFETY: the block came from `alloc` and is freed once; a shared
            // allocator takes blocks back on any thread.
            unsafe { SharedUntypedObjectAlloc::dealloc(&alloc, held.ptr) };
            Ok(())
        };

        let work = |me: usize| -> Result<(), String> {
            let mut walk = Walk::new(
                config.seed_for(((index as u64) << 32) | me as u64),
                max_live,
            );
            let mut mine: Vec<Held> = Vec::new();
            mail.run_then_wait(|| {
                for op in 0..ops {
                    if walk.allocate(mine.len()) {
                        let ptr = SharedUntypedObjectAlloc::alloc(&alloc).map_err(|_| {
                            format!("thread {me}, operation {op}: alloc failed (out of memory)")
                        })?;
                        let id = ids.fetch_add(1, Ordering::Relaxed);
                        // SAFETY: the allocator promised a writable block of
                        // the layout; `adopt` checks before writing.
                        mine.push(unsafe { adopt(&mut lock(), ptr, layout.size(), layout, id) }?);
                    } else {
                        let held = mine.swap_remove(walk.pick(mine.len()));
                        if walk.rng.random_bool(0.6) {
                            let to = (me + 1 + walk.pick(config.threads - 1)) % config.threads;
                            mail.post(to, held);
                        } else {
                            free(held)?;
                        }
                    }
                    if op % 32 == 0 {
                        for held in mail.take(me) {
                            free(held)?;
                        }
                    }
                }
                Ok(())
            })?;
            for held in mine.into_iter().chain(mail.take(me)) {
                free(held)?;
            }
            Ok(())
        };
        run_threads(config.threads, work, |panic| {
            format!("a thread panicked: {panic}")
        })
        .map_err(|m| Failure::new("threads", describe(requested), m).with_seed(config.seed))?;
    }
    Ok(())
}
