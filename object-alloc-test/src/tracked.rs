//! The objects the typed checks allocate: each one knows whether it was
//! constructed, records its own drop, and carries a payload for the
//! corruption tester.

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once, PoisonError};

use object_alloc::Init;

/// The `magic` of a constructed, live object.
const CONSTRUCTED: u64 = 0xC0A5_7A11_C0A5_7A11;
/// The `magic` of an object whose destructor has run.
const DROPPED: u64 = 0xD0D0_DEAD_D0D0_DEAD;

/// Drops of memory that never held a constructed object, which no ledger can
/// be found for; counted for the whole process.
static STRAY_DROPS: AtomicU64 = AtomicU64::new(0);

/// The payload of a test object: plain bytes of some size and alignment that
/// the corruption tester fills.
///
/// # Safety
///
/// Implementors are plain byte arrays (possibly over-aligned): every byte of
/// the type may be written with any value.
pub unsafe trait Payload: Send + Sync + 'static {
    /// A short name for test output.
    const NAME: &'static str;
}

/// A payload of `N` bytes with alignment 1.
#[derive(Debug)]
#[repr(C)]
pub struct Bytes<const N: usize>([u8; N]);
/// A payload of `N` bytes aligned to a 64-byte cache line.
#[derive(Debug)]
#[repr(C, align(64))]
pub struct Align64<const N: usize>([u8; N]);
/// A payload of `N` bytes aligned to a 4 KiB page.
#[derive(Debug)]
#[repr(C, align(4096))]
pub struct Align4096<const N: usize>([u8; N]);

// SAFETY: a byte array; any byte value is valid.
unsafe impl<const N: usize> Payload for Bytes<N> {
    const NAME: &'static str = "bytes";
}
// SAFETY: a byte array with alignment padding only at the end, which is not
// part of the array and never read.
unsafe impl<const N: usize> Payload for Align64<N> {
    const NAME: &'static str = "bytes aligned to 64";
}
// SAFETY: as for `Align64`.
unsafe impl<const N: usize> Payload for Align4096<N> {
    const NAME: &'static str = "bytes aligned to 4096";
}

/// A test object: a header the suite uses to check the constructed-object
/// contract and drop accounting, then a payload `P`.
///
/// Objects are only ever built by a [`TrackedInit`], which the suite passes to
/// the constructor of the allocator under test.
#[repr(C)]
pub struct Tracked<P: Payload> {
    magic: u64,
    id: u64,
    /// Set by the suite before it frees the object, checked when the object
    /// is handed out again: an allocator that caches constructed objects must
    /// hand them back as they were left.
    stamp: u64,
    /// The ledger of the test that built the object. A raw pointer rather than
    /// a reference, so that a broken allocator's garbage in this field is not
    /// an invalid value before the magic says the object was constructed.
    ledger: *const Ledger,
    payload: P,
}

// SAFETY: the ledger pointer points to a leaked, `Sync` ledger; the rest is
// plain data.
unsafe impl<P: Payload> Send for Tracked<P> {}
// SAFETY: as above.
unsafe impl<P: Payload> Sync for Tracked<P> {}

impl<P: Payload> Tracked<P> {
    /// The identity given to this object by its constructor (from 1, in
    /// construction order within a test).
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use object_alloc::{GlobalUntyped, ObjectAlloc, Typed};
    /// use object_alloc_test::{Bytes, Ledger, Tracked, TrackedInit};
    ///
    /// let ledger = Ledger::leak(0);
    /// let mut objects = Typed::new(GlobalUntyped::system(Layout::new::<Tracked<Bytes<8>>>()), TrackedInit::<Bytes<8>>::new(ledger)).unwrap();
    /// let obj = objects.alloc().unwrap();
    /// // SAFETY: a constructed object we own.
    /// assert_eq!(unsafe { obj.as_ref() }.id(), 1);
    /// // SAFETY: from `objects`, freed once.
    /// unsafe { objects.dealloc(obj) };
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl<P: Payload> fmt::Debug for Tracked<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracked")
            .field("id", &self.id)
            .field("payload", &P::NAME)
            .finish_non_exhaustive()
    }
}

impl<P: Payload> Drop for Tracked<P> {
    fn drop(&mut self) {
        match self.magic {
            CONSTRUCTED => {
                self.magic = DROPPED;
                // SAFETY: a constructed object's ledger pointer was set by its
                // constructor to a leaked ledger.
                let ledger = unsafe { &*self.ledger };
                ledger.record_drop(self.id);
            }
            DROPPED => {
                // SAFETY: an object is marked dropped only after it was
                // constructed, so its ledger pointer is valid.
                let ledger = unsafe { &*self.ledger };
                ledger.record_double_drop(self.id);
            }
            _ => {
                STRAY_DROPS.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The object types the typed suite runs with: [`Tracked`] over each payload.
/// Sealed: only the suite's own types implement it.
pub trait TestObject: Send + Sync + Sized + 'static + sealed::Sealed {}

impl<P: Payload> TestObject for Tracked<P> {}

mod sealed {
    pub trait Sealed {}
    impl<P: super::Payload> Sealed for super::Tracked<P> {}
}

/// What one typed check saw constructed and dropped.
///
/// ```
/// let ledger = object_alloc_test::Ledger::leak(0);
/// assert!(ledger.audit().is_ok());
/// ```
pub struct Ledger {
    next_id: AtomicU64,
    constructed: AtomicU64,
    /// Construction `n` panics when `n` is a multiple of this (0: never).
    panic_every: u64,
    drops: Mutex<Drops>,
}

#[derive(Default)]
struct Drops {
    dropped: HashSet<u64>,
    twice: Vec<u64>,
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger")
            .field("constructed", &self.constructed.load(Ordering::Relaxed))
            .field("panic_every", &self.panic_every)
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// A ledger for one test, leaked so that objects can point to it for as
    /// long as an allocator may keep them. When `panic_every` is not zero,
    /// every `panic_every`-th construction panics.
    ///
    /// ```
    /// let ledger: &'static object_alloc_test::Ledger = object_alloc_test::Ledger::leak(0);
    /// # let _ = ledger;
    /// ```
    pub fn leak(panic_every: u64) -> &'static Ledger {
        // Every ledger stays reachable from this list, so that leak checkers
        // (Miri's among them) see it as kept on purpose, not lost.
        static LEDGERS: Mutex<Vec<&'static Ledger>> = Mutex::new(Vec::new());
        let ledger = Box::leak(Box::new(Ledger {
            next_id: AtomicU64::new(1),
            constructed: AtomicU64::new(0),
            panic_every,
            drops: Mutex::new(Drops::default()),
        }));
        LEDGERS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(ledger);
        ledger
    }

    /// Frees the record of drops once a check has audited it; the ledger
    /// itself stays, since a broken allocator may still hold objects that
    /// point to it.
    pub(crate) fn retire(&self) {
        *self.drops.lock().unwrap_or_else(PoisonError::into_inner) = Drops::default();
    }

    fn record_drop(&self, id: u64) {
        let mut drops = self.drops.lock().unwrap_or_else(PoisonError::into_inner);
        if !drops.dropped.insert(id) {
            drops.twice.push(id);
        }
    }

    fn record_double_drop(&self, id: u64) {
        self.drops
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .twice
            .push(id);
    }

    /// The highest identity handed out so far.
    pub(crate) fn last_id(&self) -> u64 {
        self.next_id.load(Ordering::Relaxed) - 1
    }

    /// Whether object `id` has been dropped.
    pub(crate) fn was_dropped(&self, id: u64) -> bool {
        self.drops
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .dropped
            .contains(&id)
    }

    /// Checks drop accounting after the allocator was dropped: every object
    /// constructed was dropped exactly once.
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use object_alloc::{GlobalUntyped, ObjectAlloc, Typed};
    /// use object_alloc_test::{Bytes, Ledger, Tracked, TrackedInit};
    ///
    /// let ledger = Ledger::leak(0);
    /// let mut objects = Typed::new(GlobalUntyped::system(Layout::new::<Tracked<Bytes<8>>>()), TrackedInit::<Bytes<8>>::new(ledger)).unwrap();
    /// let obj = objects.alloc().unwrap();
    /// assert!(ledger.audit().is_err(), "one object is still live");
    /// // SAFETY: from `objects`, freed once.
    /// unsafe { objects.dealloc(obj) };
    /// drop(objects);
    /// assert!(ledger.audit().is_ok());
    /// ```
    pub fn audit(&self) -> Result<(), String> {
        let drops = self.drops.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&id) = drops.twice.first() {
            return Err(format!(
                "object #{id} was dropped twice ({} double drops in all)",
                drops.twice.len()
            ));
        }
        let constructed = self.constructed.load(Ordering::Relaxed);
        let dropped = drops.dropped.len() as u64;
        if dropped != constructed {
            let mut missing: Vec<u64> = (1..self.next_id.load(Ordering::Relaxed))
                .filter(|id| !drops.dropped.contains(id))
                .take(3)
                .collect();
            missing.retain(|&id| id != 0);
            return Err(format!(
                "{} of {constructed} constructed objects were never dropped by the time the allocator was dropped \
                 (for example #{missing:?})",
                constructed.saturating_sub(dropped)
            ));
        }
        Ok(())
    }
}

/// Drops of memory that was never a constructed object, in the whole process
/// so far.
pub(crate) fn stray_drops() -> u64 {
    STRAY_DROPS.load(Ordering::Relaxed)
}

/// The initialiser the typed suite gives the allocator under test: builds a
/// [`Tracked<P>`] recorded in a [`Ledger`].
pub struct TrackedInit<P> {
    ledger: &'static Ledger,
    _payload: PhantomData<fn() -> P>,
}

impl<P> TrackedInit<P> {
    /// An initialiser recording in `ledger`.
    ///
    /// ```
    /// use object_alloc_test::{Bytes, Ledger, TrackedInit};
    /// let init = TrackedInit::<Bytes<16>>::new(Ledger::leak(0));
    /// # let _ = init;
    /// ```
    pub fn new(ledger: &'static Ledger) -> Self {
        TrackedInit {
            ledger,
            _payload: PhantomData,
        }
    }
}

impl<P> Clone for TrackedInit<P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for TrackedInit<P> {}

impl<P> fmt::Debug for TrackedInit<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackedInit")
            .field("ledger", self.ledger)
            .finish()
    }
}

/// The message of the constructor panics `init_panic` provokes.
pub(crate) const DELIBERATE_PANIC: &str = "object-alloc-test: deliberate constructor panic";

/// Keeps the deliberate constructor panics out of the test output, passing
/// every other panic to the hook that was installed before.
fn quiet_deliberate_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let deliberate = info
                .payload()
                .downcast_ref::<String>()
                .is_some_and(|m| m.starts_with(DELIBERATE_PANIC));
            if !deliberate {
                previous(info);
            }
        }));
    });
}

// SAFETY: `init` writes every field of a `Tracked<P>` (the payload as zero
// bytes, valid for a byte array) before it returns, and panics only before
// writing anything.
unsafe impl<P: Payload> Init<Tracked<P>> for TrackedInit<P> {
    unsafe fn init(&self, slot: NonNull<Tracked<P>>) {
        let id = self.ledger.next_id.fetch_add(1, Ordering::Relaxed);
        if self.ledger.panic_every != 0 && id % self.ledger.panic_every == 0 {
            quiet_deliberate_panics();
            panic!("{DELIBERATE_PANIC} (object #{id})");
        }
        let obj = slot.as_ptr();
        // SAFETY: the caller guarantees `slot` is valid for writes and
        // aligned; each write targets one field of it.
        unsafe {
            ptr::addr_of_mut!((*obj).magic).write(CONSTRUCTED);
            ptr::addr_of_mut!((*obj).id).write(id);
            ptr::addr_of_mut!((*obj).stamp).write(0);
            ptr::addr_of_mut!((*obj).ledger).write(self.ledger);
            ptr::addr_of_mut!((*obj).payload)
                .cast::<u8>()
                .write_bytes(0, size_of::<P>());
        }
        self.ledger.constructed.fetch_add(1, Ordering::Relaxed);
    }
}

/// What the suite reads from an object's header without trusting it.
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) id: u64,
    pub(crate) stamp: u64,
}

/// The payload bytes of an object: where the corruption tester writes.
pub(crate) fn payload<P: Payload>(obj: NonNull<Tracked<P>>) -> (NonNull<u8>, usize) {
    // SAFETY: `payload` is a field of the object `obj` points to; computing
    // its address reads nothing.
    let field = unsafe { ptr::addr_of_mut!((*obj.as_ptr()).payload) };
    (
        NonNull::new(field.cast::<u8>()).expect("a field of a non-null object is non-null"),
        size_of::<P>(),
    )
}

/// Checks that `obj`, just handed out, holds an object constructed by
/// `ledger` that was not dropped, and returns its header.
///
/// # Safety
///
/// `obj` is aligned for `Tracked<P>` and valid for reads of one.
pub(crate) unsafe fn inspect<P: Payload>(
    obj: NonNull<Tracked<P>>,
    ledger: &'static Ledger,
) -> Result<Header, String> {
    let p = obj.as_ptr();
    // SAFETY: the caller guarantees `obj` is readable; the header fields are
    // integers and a raw pointer, valid for any initialised bytes.
    let (magic, id, stamp, owner) = unsafe {
        (
            ptr::addr_of!((*p).magic).read(),
            ptr::addr_of!((*p).id).read(),
            ptr::addr_of!((*p).stamp).read(),
            ptr::addr_of!((*p).ledger).read(),
        )
    };
    match magic {
        CONSTRUCTED => {}
        DROPPED => {
            return Err(format!(
                "object {obj:p} (#{id}) was handed out after it was dropped"
            ));
        }
        other => {
            return Err(format!(
                "object {obj:p} was handed out without being constructed (its header reads {other:#018x})"
            ));
        }
    }
    if !ptr::eq(owner, ledger) || id == 0 || id > ledger.last_id() {
        return Err(format!(
            "object {obj:p} was not constructed by this allocator's initialiser"
        ));
    }
    if ledger.was_dropped(id) {
        return Err(format!(
            "object {obj:p} (#{id}) was handed out after it was dropped"
        ));
    }
    Ok(Header { id, stamp })
}

/// Checks that an object the suite holds is still constructed (the allocator
/// did not drop or overwrite it while it was live).
///
/// # Safety
///
/// As for [`inspect`].
pub(crate) unsafe fn still_live<P: Payload>(
    obj: NonNull<Tracked<P>>,
    id: u64,
) -> Result<(), String> {
    // SAFETY: forwarded from the caller.
    let magic = unsafe { ptr::addr_of!((*obj.as_ptr()).magic).read() };
    if magic != CONSTRUCTED {
        return Err(format!(
            "object {obj:p} (#{id}) was dropped or overwritten while the caller held it"
        ));
    }
    Ok(())
}

/// Writes the stamp the suite leaves in an object it frees.
///
/// # Safety
///
/// `obj` is a live object the suite owns.
pub(crate) unsafe fn set_stamp<P: Payload>(obj: NonNull<Tracked<P>>, stamp: u64) {
    // SAFETY: forwarded from the caller; `stamp` is a plain integer field.
    unsafe { ptr::addr_of_mut!((*obj.as_ptr()).stamp).write(stamp) }
}
