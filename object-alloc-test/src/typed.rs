//! Checks for [`ObjectAlloc`] and [`SharedObjectAlloc`].
//!
//! Each check takes a constructor from the suite's initialiser
//! ([`TrackedInit<P>`]) to a fresh allocator of [`Tracked<P>`] objects, runs,
//! drops the allocator, and then audits the drops: every object the
//! initialiser constructed must have been dropped exactly once.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::sync::{Mutex, PoisonError};

use object_alloc::{ObjectAlloc, SharedObjectAlloc};
use rand::RngExt as _;

use crate::config::splitmix;
use crate::exchange::{Mailboxes, Walk, panic_message, run_threads};
use crate::live::Live;
use crate::tracked::{
    DELIBERATE_PANIC, Ledger, Payload, Tracked, TrackedInit, inspect, payload, set_stamp,
    still_live, stray_drops,
};
use crate::{CheckResult, Config, Failure, pattern};

fn describe<P: Payload>() -> String {
    format!(
        "objects of {} bytes aligned to {} ({} payload)",
        size_of::<Tracked<P>>(),
        align_of::<Tracked<P>>(),
        P::NAME
    )
}

/// An object the suite holds.
struct Obj<P: Payload> {
    ptr: NonNull<Tracked<P>>,
    id: u64,
}

// SAFETY: the suite's exclusive handle to an object; `Tracked<P>` is `Send`.
unsafe impl<P: Payload> Send for Obj<P> {}

/// The suite's view of one allocator: live address ranges, and the stamp left
/// in every object it freed.
struct Books {
    ledger: &'static Ledger,
    live: Mutex<Live>,
    stamps: Mutex<HashMap<u64, u64>>,
}

impl Books {
    fn new(ledger: &'static Ledger) -> Self {
        Books {
            ledger,
            live: Mutex::default(),
            stamps: Mutex::default(),
        }
    }

    /// Checks an object the allocator just handed out: aligned, constructed
    /// by our initialiser, not overlapping a live object, and, if it was
    /// handed out before, exactly as the suite left it. Then fills its
    /// payload with its pattern.
    fn adopt<P: Payload>(&self, obj: NonNull<Tracked<P>>) -> Result<Obj<P>, String> {
        let align = align_of::<Tracked<P>>();
        if obj.addr().get() % align != 0 {
            return Err(format!("object {obj:p} is not aligned to {align}"));
        }
        // SAFETY: the allocator promised a readable object; it is aligned.
        let header = unsafe { inspect(obj, self.ledger) }?;
        let id = header.id;
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(obj.addr().get(), size_of::<Tracked<P>>(), id)?;
        let (bytes, len) = payload(obj);
        let left = self
            .stamps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        match left {
            None if header.stamp != 0 => {
                return Err(format!(
                    "object {obj:p} (#{id}) is new, but its header says it was freed before"
                ));
            }
            None => {}
            Some(stamp) => {
                // SAFETY: the payload was filled by the suite before the
                // object was freed; the object is readable.
                let kept = unsafe { pattern::check(bytes, len, id) };
                if header.stamp != stamp || kept.is_err() {
                    return Err(format!(
                        "object {obj:p} (#{id}) was handed out again, but not in the state it was freed in \
                         (a cached object must keep its constructed state: {})",
                        match kept {
                            Err(c) => format!(
                                "payload byte {} is {:#04x}, expected {:#04x}",
                                c.offset, c.found, c.expected
                            ),
                            Ok(()) => format!("stamp {:#x}, expected {stamp:#x}", header.stamp),
                        }
                    ));
                }
            }
        }
        // SAFETY: the payload is ours to write: a byte array inside a live
        // object the suite owns.
        unsafe { pattern::fill(bytes, len, id) };
        Ok(Obj { ptr: obj, id })
    }

    /// Checks that an object kept its pattern and is still constructed, leaves
    /// a stamp in it, and forgets it: what happens right before it is freed.
    fn release<P: Payload>(&self, obj: &Obj<P>, nonce: u64) -> Result<(), String> {
        // SAFETY: the object is live and owned by the suite.
        unsafe { still_live(obj.ptr, obj.id) }?;
        let (bytes, len) = payload(obj.ptr);
        // SAFETY: the suite filled the payload when it adopted the object.
        unsafe { pattern::check(bytes, len, obj.id) }.map_err(|c| {
            format!(
                "object {:p} (#{}) was corrupted while live: payload byte {} is {:#04x}, expected {:#04x}",
                obj.ptr, obj.id, c.offset, c.found, c.expected
            )
        })?;
        let stamp = splitmix(obj.id ^ nonce.rotate_left(32)) | 1;
        // SAFETY: the object is live and owned by the suite.
        unsafe { set_stamp(obj.ptr, stamp) };
        self.stamps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(obj.id, stamp);
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(obj.ptr.addr().get(), size_of::<Tracked<P>>());
        Ok(())
    }
}

fn take<P: Payload, A: ObjectAlloc<Tracked<P>>>(
    alloc: &mut A,
    books: &Books,
) -> Result<Obj<P>, String> {
    let obj = alloc
        .alloc()
        .map_err(|_| "alloc failed (out of memory)".to_string())?;
    books.adopt(obj)
}

fn give<P: Payload, A: ObjectAlloc<Tracked<P>>>(
    alloc: &mut A,
    books: &Books,
    obj: Obj<P>,
    nonce: u64,
) -> Result<(), String> {
    books.release(&obj, nonce)?;
    // SAFETY: the object came from this allocator, is freed once, and holds a
    // valid `Tracked<P>`.
    unsafe { alloc.dealloc(obj.ptr) };
    Ok(())
}

/// Runs `body` on a fresh allocator, drops the allocator, and audits drop
/// accounting.
fn with_ledger<P: Payload, A>(
    check: &'static str,
    panic_every: u64,
    config: &Config,
    make: impl Fn(TrackedInit<P>) -> A,
    body: impl FnOnce(&mut A, &Books) -> Result<(), String>,
) -> CheckResult {
    let fail = |m: String| Failure::new(check, describe::<P>(), m).with_seed(config.seed);
    let ledger = Ledger::leak(panic_every);
    let strays = stray_drops();
    let books = Books::new(ledger);
    let mut alloc = make(TrackedInit::new(ledger));
    body(&mut alloc, &books).map_err(fail)?;
    drop(alloc);
    let audit = ledger.audit();
    ledger.retire();
    audit.map_err(|m| {
        Failure::new(
            "drop accounting",
            describe::<P>(),
            format!("after `{check}`: {m}"),
        )
        .with_seed(config.seed)
    })?;
    let new_strays = stray_drops() - strays;
    if new_strays != 0 {
        return Err(fail(format!(
            "the allocator dropped {new_strays} objects it never constructed"
        )));
    }
    Ok(())
}

/// Fills an allocator with a batch of objects (several slabs' worth), checks
/// each one (aligned, constructed, distinct, not overlapping, payload
/// writable), checks that each kept its payload while the others were
/// written, frees half in random order, allocates again (objects handed out a
/// second time must be exactly as they were freed), then frees everything,
/// drops the allocator and audits the drops.
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{GlobalUntyped, Typed};
/// use object_alloc_test::{Bytes, Config, Tracked, typed};
///
/// type Obj = Tracked<Bytes<100>>;
/// typed::objects::<Bytes<100>, _>(|init| Typed::new(GlobalUntyped::system(Layout::new::<Obj>()), init).unwrap(), &Config::from_env())
///     .unwrap();
/// ```
pub fn objects<P: Payload, A: ObjectAlloc<Tracked<P>>>(
    make: impl Fn(TrackedInit<P>) -> A,
    config: &Config,
) -> CheckResult {
    with_ledger("objects", 0, config, make, |alloc, books| {
        let n = config.batch_for(size_of::<Tracked<P>>());
        let mut walk = Walk::new(config.seed_for(1), n);
        let mut held: Vec<Obj<P>> = Vec::with_capacity(n);
        let mut nonce = 0;
        for round in 0..3 {
            while held.len() < n {
                held.push(take(alloc, books)?);
            }
            for obj in &held {
                let (bytes, len) = payload(obj.ptr);
                // SAFETY: a live object the suite filled.
                unsafe { pattern::check(bytes, len, obj.id) }.map_err(|c| {
                    format!(
                        "object {:p} (#{}) was corrupted while live at payload byte {}",
                        obj.ptr, obj.id, c.offset
                    )
                })?;
            }
            let keep = if round == 2 { 0 } else { n / 2 };
            while held.len() > keep {
                let victim = held.swap_remove(walk.pick(held.len()));
                nonce += 1;
                give(alloc, books, victim, nonce)?;
            }
        }
        Ok(())
    })
}

/// A long seeded random sequence of allocations and frees (`config.ops`
/// operations for objects up to 4 KiB, fewer for larger ones) with every
/// object checked when handed out and when freed, then the drop audit.
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{GlobalUntyped, Typed};
/// use object_alloc_test::{Bytes, Config, Tracked, typed};
///
/// type Obj = Tracked<Bytes<8>>;
/// let quick = Config { ops: 2_000, ..Config::from_env() };
/// typed::random::<Bytes<8>, _>(|init| Typed::new(GlobalUntyped::system(Layout::new::<Obj>()), init).unwrap(), &quick).unwrap();
/// ```
pub fn random<P: Payload, A: ObjectAlloc<Tracked<P>>>(
    make: impl Fn(TrackedInit<P>) -> A,
    config: &Config,
) -> CheckResult {
    with_ledger("random", 0, config, make, |alloc, books| {
        let ops = config.ops_for(size_of::<Tracked<P>>());
        let max_live = config.batch_for(size_of::<Tracked<P>>());
        let mut walk = Walk::new(config.seed_for(2), max_live);
        let mut held: Vec<Obj<P>> = Vec::with_capacity(max_live);
        for op in 0..ops {
            let step = if walk.allocate(held.len()) {
                take(alloc, books).map(|o| held.push(o))
            } else {
                let victim = held.swap_remove(walk.pick(held.len()));
                give(alloc, books, victim, op as u64)
            };
            step.map_err(|m| format!("at operation {op} of {ops}: {m}"))?;
        }
        for (i, obj) in held.into_iter().enumerate() {
            give(alloc, books, obj, (ops + i) as u64)?;
        }
        Ok(())
    })
}

/// The initialiser panics on every fifth construction; each panic must reach
/// the caller of `alloc` and leave the allocator usable, with no object lost
/// or dropped twice (the drop audit runs at the end).
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{GlobalUntyped, Typed};
/// use object_alloc_test::{Bytes, Config, Tracked, typed};
///
/// type Obj = Tracked<Bytes<8>>;
/// typed::init_panic::<Bytes<8>, _>(|init| Typed::new(GlobalUntyped::system(Layout::new::<Obj>()), init).unwrap(), &Config::from_env())
///     .unwrap();
/// ```
pub fn init_panic<P: Payload, A: ObjectAlloc<Tracked<P>>>(
    make: impl Fn(TrackedInit<P>) -> A,
    config: &Config,
) -> CheckResult {
    with_ledger("init_panic", 5, config, make, |alloc, books| {
        let ops = (config.ops_for(size_of::<Tracked<P>>()) / 10).max(100);
        let max_live = config.batch_for(size_of::<Tracked<P>>()).min(64);
        let mut walk = Walk::new(config.seed_for(3), max_live);
        let mut held: Vec<Obj<P>> = Vec::new();
        let mut panics = 0;
        for op in 0..ops {
            if walk.allocate(held.len()) {
                match catch_unwind(AssertUnwindSafe(|| alloc.alloc())) {
                    Ok(Ok(obj)) => held.push(
                        books
                            .adopt(obj)
                            .map_err(|m| format!("at operation {op}: {m}"))?,
                    ),
                    Ok(Err(_)) => {
                        return Err(format!("at operation {op}: alloc failed (out of memory)"));
                    }
                    Err(payload) => {
                        let message = panic_message(payload.as_ref());
                        if !message.starts_with(DELIBERATE_PANIC) {
                            return Err(format!(
                                "at operation {op}: alloc panicked on its own: {message}"
                            ));
                        }
                        panics += 1;
                    }
                }
            } else {
                let victim = held.swap_remove(walk.pick(held.len()));
                give(alloc, books, victim, op as u64)?;
            }
        }
        for (i, obj) in held.into_iter().enumerate() {
            give(alloc, books, obj, (ops + i) as u64)?;
        }
        if panics == 0 && books.ledger.last_id() >= 5 {
            return Err(
                "the initialiser panicked, but no panic reached the caller of alloc".to_string(),
            );
        }
        Ok(())
    })
}

/// `config.threads` threads allocate from one shared allocator at once, post
/// objects to each other, and free what is posted to them, so most objects
/// are freed on another thread; every object is checked when handed out and
/// when freed, across threads, and the drop audit runs at the end.
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{GlobalUntyped, Typed};
/// use object_alloc_test::{Bytes, Config, Tracked, typed};
///
/// type Obj = Tracked<Bytes<8>>;
/// let quick = Config { ops: 4_000, ..Config::from_env() };
/// typed::threads::<Bytes<8>, _>(|init| Typed::new(GlobalUntyped::system(Layout::new::<Obj>()), init).unwrap(), &quick).unwrap();
/// ```
pub fn threads<P: Payload, A: SharedObjectAlloc<Tracked<P>>>(
    make: impl Fn(TrackedInit<P>) -> A,
    config: &Config,
) -> CheckResult {
    with_ledger("threads", 0, config, make, |alloc, books| {
        let alloc: &A = alloc;
        let ops = config.ops_for(size_of::<Tracked<P>>()) / config.threads + 1;
        let max_live = config.batch_for(size_of::<Tracked<P>>()) / config.threads + 2;
        let mail = Mailboxes::<Obj<P>>::new(config.threads);
        let free = |obj: Obj<P>, nonce: u64| -> Result<(), String> {
            books.release(&obj, nonce)?;
            // SAFETY: the object came from `alloc`, is freed once, holds a
            // valid `Tracked<P>`; a shared allocator takes it back on any
            // thread.
            unsafe { SharedObjectAlloc::dealloc(alloc, obj.ptr) };
            Ok(())
        };
        let work = |me: usize| -> Result<(), String> {
            let mut walk = Walk::new(config.seed_for(4 << 32 | me as u64), max_live);
            let mut mine: Vec<Obj<P>> = Vec::new();
            let nonce = |op: usize| ((me as u64) << 40) | op as u64;
            mail.run_then_wait(|| {
                for op in 0..ops {
                    if walk.allocate(mine.len()) {
                        let obj = SharedObjectAlloc::alloc(alloc).map_err(|_| {
                            format!("thread {me}, operation {op}: alloc failed (out of memory)")
                        })?;
                        mine.push(
                            books
                                .adopt(obj)
                                .map_err(|m| format!("thread {me}, operation {op}: {m}"))?,
                        );
                    } else {
                        let obj = mine.swap_remove(walk.pick(mine.len()));
                        if walk.rng.random_bool(0.6) {
                            mail.post(
                                (me + 1 + walk.pick(config.threads - 1)) % config.threads,
                                obj,
                            );
                        } else {
                            free(obj, nonce(op))?;
                        }
                    }
                    if op % 32 == 0 {
                        for obj in mail.take(me) {
                            free(obj, nonce(op))?;
                        }
                    }
                }
                Ok(())
            })?;
            for (i, obj) in mine.into_iter().chain(mail.take(me)).enumerate() {
                free(obj, nonce(ops + i))?;
            }
            Ok(())
        };
        run_threads(config.threads, work, |panic| {
            format!("a thread panicked: {panic}")
        })
    })
}
