//! The zone: a general-purpose allocator of size classes over untyped slab
//! caches, with per-thread magazines in front and large blocks from
//! mmap-alloc behind. See [`SlabMalloc`].

mod chunk;
mod classes;
mod lock;
mod magazine;
mod objects;

use core::alloc::{GlobalAlloc, Layout};
use core::fmt;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU8, AtomicU64, AtomicUsize, Ordering};

use allocator_api2::alloc::{AllocError, Allocator};
use bagpipe::SharedWeakBag;
use mmap_alloc::MapAlloc;
use object_alloc::UntypedObjectAlloc;

use crate::error::{ErrorHook, FreeError, FreeErrorKind, abort_on_error};
use crate::{SlabBuilder, Stats, UntypedSlabAlloc};

use chunk::{ChunkHeader, Chunks, ClassPages, Found, Large, LargeFreeError};
use classes::{CLASSES, MAX_SMALL, MAX_SMALL_ALIGN, NAMES, SIZES};
use lock::ZoneLocked;
use magazine::{Depot, MagPair, Magazine, Mags, Slabs};

pub use chunk::{LARGE_CACHE_BLOCKS, LARGE_CACHE_BYTES, LARGE_DECAY};
pub use objects::{SharedSlabAlloc, SharedUntypedSlabAlloc};

/// The class id the chunk headers give the magazines' own slabs.
const MAGAZINE_CLASS: usize = CLASSES;

/// The name errors about the zone as a whole carry.
const ZONE_NAME: &str = "slab-malloc";
/// The name errors about large blocks carry.
const LARGE_NAME: &str = "slab-malloc large";

/// Shared object caches' ids: never reused, so a stale binding can never
/// match a new cache.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The tag of a block a caller holds, in the zone and the shared caches; 0
/// is free (in a magazine or a slab).
const HELD: u8 = 1;

/// The base of the slab holding `addr`, as its chunk header records it.
///
/// # Safety
///
/// `addr` lies in a live slab of a zone: its chunk is mapped and its
/// header names the slab.
#[inline]
unsafe fn slab_base_of(addr: usize) -> usize {
    let chunk = addr & !(chunk::CHUNK - 1);
    // SAFETY: the caller's slab's chunk header.
    unsafe { ChunkHeader::slab_base(chunk as *const ChunkHeader, addr) }
}

/// How far below `p` its tag lies (the tags precede the objects in their
/// slab, which is at most 2 MiB).
#[inline]
fn tag_delta(p: *mut u8, tag: &AtomicU8) -> u32 {
    (p as usize - ptr::from_ref(tag) as usize) as u32
}

/// Tags `p`, a free object whose tag lies `delta` below it, as held, as it
/// is handed out.
#[inline]
fn hand_out_at(p: *mut u8, delta: u32) -> NonNull<u8> {
    // SAFETY: `p` and `delta` come from a magazine round: a free object of
    // a live slab and its tag's distance.
    unsafe {
        AtomicU8::from_ptr(p.sub(delta as usize)).store(HELD, Ordering::Relaxed);
        NonNull::new_unchecked(p)
    }
}

/// A general-purpose allocator: size classes over untyped slab caches, with
/// per-thread magazines, and large blocks straight from the kernel.
///
/// - **Size classes.** 96 classes from 16 bytes to 256 KiB: 16 bytes apart
///   up to 128, then eight per doubling, so a request above 128 bytes
///   wastes less than 12.5% of itself and one below at most 15 bytes. Each
///   class is an [`UntypedSlabAlloc`] behind a lock (spinning, then yielding the CPU), over
///   slabs of 64 KiB (up to 4 KiB objects), 256 KiB (to 32 KiB), 1 MiB (to
///   128 KiB) or 2 MiB, carved from 4 MiB chunks.
///   A class's objects are aligned to the largest power of two dividing
///   its size (at most a page); an aligned request takes the smallest class
///   that is big and aligned enough.
/// - **Thread caches.** Each thread keeps a loaded and a previous magazine
///   per class (Bonwick and Adams 2001): an allocation or free that its
///   magazines can serve is a handful of loads and stores, no atomic
///   operation. Exhausted magazines are traded with the class's depot of
///   full and empty magazines, and only then does a thread take the slab
///   cache's lock, to fill a whole magazine. A thread's magazines go back
///   to the depots when it exits.
/// - **Homes.** Threads are spread over 8 homes. Each home fills its
///   magazines from slabs it claims alone, and full magazines go back to
///   the home whose slabs their blocks came from. Threads of different
///   homes so work mostly on different slabs, and lines of blocks and of
///   their metadata do not go back and forth between their cores.
/// - **Large blocks.** Requests above 256 KiB or aligned above a page are
///   mappings of their own, cached for reuse when freed (at most
///   [`LARGE_CACHE_BLOCKS`] blocks and [`LARGE_CACHE_BYTES`] bytes), and
///   decommitted once idle for [`LARGE_DECAY`].
/// - **Size from the address.** A 4 MiB-granular map of the address space
///   and the chunk headers give any address's class or large block, what
///   `free(ptr)` and `malloc_usable_size` need: see
///   [`usable_size`](Self::usable_size).
/// - **Checks on every free**, on the thread-cache path too: an address
///   no zone manages, an address of another zone, an address inside a block
///   but not at its start, an address in slab metadata, and a double free.
///   The double-free check reads a tag byte per block in its slab's
///   metadata: set when the block is handed out, cleared when it is freed.
///   A free never reads or writes the block itself, so it costs no cache
///   miss on a block the program has not touched for a while, and no
///   contents of a live block can pass for a freed one. A magazine keeps
///   each block's distance to its tag, so an allocation sets the tag with
///   no lookup. Blocks freed straight into the slab layer are also checked
///   against its bitmap. A rejected free goes to the zone's [`ErrorHook`]
///   with the class's name (`slab-malloc 64 B`) and the address; by default
///   that prints and aborts. Two threads freeing the same block at the same
///   instant may both pass the check: a double free is found when one free
///   happens after the other.
/// - **Returning memory.** Each class keeps at most 2 empty slabs; slabs
///   given back are decommitted at once. A class's depot keeps, per home,
///   full magazines worth at most 128 KiB (at least 2, at most 16
///   magazines) and empties the rest into the slabs.
///   [`trim`](Self::trim) flushes this thread's magazines and the depots,
///   returns every empty slab and decommits every cached large block.
///
/// `new` is a `const fn`, so the zone can be the global allocator:
///
/// ```no_run
/// use slab_alloc::SlabMalloc;
///
/// #[global_allocator]
/// static GLOBAL: SlabMalloc = SlabMalloc::new();
///
/// fn main() {
///     let v: Vec<u32> = (0..1000).collect();
///     assert_eq!(v.len(), 1000);
/// }
/// ```
///
/// It is also an `allocator_api2` [`Allocator`], for collections that take
/// one on stable Rust:
///
/// ```
/// use allocator_api2::vec::Vec;
/// use slab_alloc::SlabMalloc;
///
/// let zone = SlabMalloc::new();
/// let mut v = Vec::new_in(&zone);
/// v.extend(0..100u64);
/// assert_eq!(v.iter().sum::<u64>(), 4950);
/// drop(v);
/// zone.trim();
/// assert_eq!(zone.stats().live_bytes(), 0);
/// ```
///
/// The zone's state is made on first use, in memory mapped for it; nothing
/// in the zone allocates through a global allocator. Dropping the zone
/// returns all of its memory to the kernel, blocks still allocated
/// included.
pub struct SlabMalloc {
    state: AtomicPtr<ZoneState>,
    hook: ErrorHook,
}

/// Marks a zone whose state is being made.
const MAKING: usize = 1;

/// The id of the zone state at `st` in thread bindings: its address.
/// States are page-aligned and unbound from every thread before they are
/// unmapped, so live states' ids are distinct; null and [`MAKING`], the
/// ids of a zone whose state is not made, are held by no binding (a free
/// one holds `u64::MAX`).
#[inline(always)]
fn state_id(st: *const ZoneState) -> u64 {
    st as usize as u64
}

/// One size class.
#[repr(align(128))]
struct Class {
    cache: ZoneLocked<UntypedSlabAlloc<ClassPages>>,
    /// The depot: full magazines and empty ones.
    depot: Depot,
    size: usize,
}

/// What the checks on free need of a class, packed so that a free touches
/// one small line of a dense array rather than the class's own lines.
///
/// Whether an offset starts an object, and which, is one multiplication:
/// with the size written `d * 2^k` (`d` odd) and `inv` the inverse of `d`
/// modulo 2^64, `q = (rel * inv).rotate_right(k)` is `rel / size` when
/// `size` divides `rel`, and above `(2^64 - 1) / size` when it does not
/// (T. Granlund and P. Montgomery, *Division by invariant integers using
/// multiplication*, PLDI 1994, section 9; H. Warren, *Hacker's Delight*,
/// 10-17). So `q < per_slab` holds exactly when `rel` starts one of the
/// slab's objects, and `q` is its index.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub(crate) struct Shape {
    /// The inverse of the size's odd part, modulo 2^64.
    inv: u64,
    /// The size's trailing zero bits.
    shift: u32,
    size: u32,
    /// Offset of object 0 from the slab base (the same in every slab: the
    /// caches are uncoloured).
    first: u32,
    /// Objects a slab holds.
    per_slab: u32,
    /// Offset of the objects' tag bytes from the slab base (0 for caches
    /// without tags).
    tags: u32,
}

/// The inverse of odd `d` modulo 2^64, by Newton's iteration: `x = d` is
/// right to 3 bits (`d * d = 1 mod 8`) and each step doubles them.
const fn inverse(d: u64) -> u64 {
    let mut x = d;
    let mut i = 0;
    while i < 5 {
        x = x.wrapping_mul(2u64.wrapping_sub(d.wrapping_mul(x)));
        i += 1;
    }
    x
}

impl Shape {
    /// The shape of objects of `size` bytes, the first at `first` in every
    /// slab of `per_slab`; `None` if a number does not fit (slabs of at
    /// most 2 MiB always do).
    pub(crate) fn new(size: usize, first: usize, per_slab: usize) -> Option<Shape> {
        let wide = u64::try_from(size).ok().filter(|&s| s > 0)?;
        let shift = wide.trailing_zeros();
        Some(Shape {
            inv: inverse(wide >> shift),
            shift,
            size: u32::try_from(size).ok()?,
            first: u32::try_from(first).ok()?,
            per_slab: u32::try_from(per_slab).ok()?,
            tags: 0,
        })
    }

    /// `q` of the type's description for `offset` from the slab base: the
    /// object's index if `offset` starts one, above `per_slab` if not.
    #[inline]
    fn quotient(self, offset: usize) -> u64 {
        let rel = offset.wrapping_sub(self.first as usize) as u64;
        rel.wrapping_mul(self.inv).rotate_right(self.shift)
    }

    /// This shape with the objects' tag bytes at `tags` from the slab base.
    pub(crate) fn with_tags(self, tags: usize) -> Option<Shape> {
        Some(Shape {
            tags: u32::try_from(tags).ok()?,
            ..self
        })
    }

    /// The tag byte of object `idx` of the slab at `base`.
    ///
    /// # Safety
    ///
    /// The slab at `base` is live, of this shape, with tags, and
    /// `idx < per_slab`.
    #[inline]
    unsafe fn tag(self, base: usize, idx: usize) -> &'static AtomicU8 {
        // SAFETY: the caller's live slab holds a tag byte per object at
        // `tags`; tags are atomics, shared with racing wrong frees.
        unsafe { AtomicU8::from_ptr((base + self.tags as usize + idx) as *mut u8) }
    }

    /// The home byte of the slab at `base` (after its tags; see the slab
    /// layer's `Cache::alloc_for`).
    ///
    /// # Safety
    ///
    /// The slab at `base` is live, of this shape, with tags.
    unsafe fn home(self, base: usize) -> &'static AtomicU8 {
        let at = base + self.tags as usize + self.per_slab as usize;
        // SAFETY: the caller's live slab has its home byte there; it is
        // only accessed atomically.
        unsafe { AtomicU8::from_ptr(at as *mut u8) }
    }

    /// The index of the object that starts `offset` bytes into its slab,
    /// if one does.
    #[inline]
    pub(crate) fn index(self, offset: usize) -> Option<usize> {
        let q = self.quotient(offset);
        (q < u64::from(self.per_slab)).then_some(q as usize)
    }

    /// The index of the object that `addr` in the slab at `base` starts,
    /// or what is wrong with it.
    #[inline]
    pub(crate) fn object(self, base: usize, addr: usize) -> Result<usize, FreeErrorKind> {
        match self.index(addr.wrapping_sub(base)) {
            Some(idx) => Ok(idx),
            None => Err(self.why_not(base, addr)),
        }
    }

    /// Why `addr` in the slab at `base` starts no object (by plain
    /// division: only reports take this path).
    #[cold]
    fn why_not(self, base: usize, addr: usize) -> FreeErrorKind {
        let size = self.size as usize;
        match (addr - base).checked_sub(self.first as usize) {
            Some(rel) if rel / size < self.per_slab as usize && rel % size != 0 => {
                FreeErrorKind::Interior {
                    object: addr - rel % size,
                }
            }
            _ => FreeErrorKind::NotAnObject,
        }
    }
}

/// A zone's state, in memory mapped for it.
pub(crate) struct ZoneState {
    hook: ErrorHook,
    chunks: ZoneLocked<Chunks>,
    large: ZoneLocked<Large>,
    /// Magazines: 512-byte objects of a type-stable cache.
    magazines: ZoneLocked<UntypedSlabAlloc<ClassPages>>,
    /// Magazines made, for statistics.
    magazines_made: AtomicUsize,
    shapes: [Shape; CLASSES],
    classes: [Class; CLASSES],
}

impl SlabMalloc {
    /// A zone that reports bad frees with [`abort_on_error`].
    pub const fn new() -> Self {
        Self::with_error_hook(abort_on_error)
    }

    /// A zone that reports bad frees to `hook` (if the hook returns, the
    /// free is ignored and the block stays as it was).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use slab_alloc::{FreeError, FreeErrorKind, SlabMalloc};
    ///
    /// static SEEN: AtomicUsize = AtomicUsize::new(0);
    /// fn count(err: &FreeError) {
    ///     assert_eq!(err.kind, FreeErrorKind::DoubleFree);
    ///     assert_eq!(err.cache, "slab-malloc 64 B");
    ///     SEEN.fetch_add(1, Ordering::Relaxed);
    /// }
    ///
    /// let zone = SlabMalloc::with_error_hook(count);
    /// let p = zone.malloc(64).unwrap();
    /// // SAFETY: `p` is a block of `zone`; the second free is the error.
    /// unsafe {
    ///     zone.free(p.as_ptr());
    ///     zone.free(p.as_ptr());
    /// }
    /// assert_eq!(SEEN.load(Ordering::Relaxed), 1);
    /// ```
    pub const fn with_error_hook(hook: ErrorHook) -> Self {
        SlabMalloc {
            state: AtomicPtr::new(ptr::null_mut()),
            hook,
        }
    }

    /// The zone's state, made on first use; `None` if it cannot be made.
    #[inline]
    fn state(&self) -> Option<&ZoneState> {
        let st = self.state.load(Ordering::Acquire);
        if st as usize > MAKING {
            // SAFETY: published once made, freed only by `drop` (`&mut`).
            return Some(unsafe { &*st });
        }
        self.make_state()
    }

    /// The state if it was made already (a free never makes it).
    #[inline]
    fn made(&self) -> Option<&ZoneState> {
        let st = self.state.load(Ordering::Acquire);
        // SAFETY: as in `state`.
        (st as usize > MAKING).then(|| unsafe { &*st })
    }

    #[cold]
    fn make_state(&self) -> Option<&ZoneState> {
        let making = MAKING as *mut ZoneState;
        loop {
            match self.state.compare_exchange(
                ptr::null_mut(),
                making,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) if now == making => std::thread::yield_now(),
                // SAFETY: as in `state`.
                Err(now) => return Some(unsafe { &*now }),
            }
        }
        // SAFETY: only this thread makes the state (it won the swap).
        let st = unsafe { ZoneState::make(self.hook) };
        self.state
            .store(st.unwrap_or(ptr::null_mut()), Ordering::Release);
        // SAFETY: just made, published above.
        st.map(|st| unsafe { &*st })
    }

    /// Allocates `size` bytes aligned to 16 (or to the size's own alignment
    /// below 16), like C's `malloc`; `None` when memory runs out.
    ///
    /// ```
    /// let zone = slab_alloc::SlabMalloc::new();
    /// let p = zone.malloc(100).unwrap();
    /// // SAFETY: `p` is a live block of `zone` of at least 100 bytes.
    /// unsafe {
    ///     assert!(zone.usable_size(p.as_ptr()).unwrap() >= 100);
    ///     zone.free(p.as_ptr());
    /// }
    /// ```
    #[inline]
    pub fn malloc(&self, size: usize) -> Option<NonNull<u8>> {
        self.alloc_layout(size, 16.min(size.max(1).next_power_of_two()))
    }

    /// Allocates `size` bytes aligned to `align` (a power of two). Always
    /// inlined: callers with a constant alignment (`malloc`, most layouts)
    /// lose the alignment search.
    #[inline(always)]
    fn alloc_layout(&self, size: usize, align: usize) -> Option<NonNull<u8>> {
        let Some(k) = classes::class_of(size, align) else {
            return self.state()?.alloc_large(size, align).map(|(p, _)| p);
        };
        if let Some((mags, st)) = self.bound() {
            // SAFETY: a bound state (`bound`): made, and alive until the
            // zone drops.
            if let Some(p) = unsafe { &*st }.pop_bound(mags, k) {
                return Some(p);
            }
        }
        self.state()?.alloc_small_slow(k)
    }

    /// The zone's state and this thread's magazines for it, if the thread
    /// is bound to the zone: one load of the state pointer and one
    /// comparison with the thread's first binding. Only a made state is
    /// ever bound, so a match also says the state is made.
    ///
    /// The state comes back as a pointer, made a reference by the caller:
    /// an `Option` of a reference would test it for null again.
    #[inline(always)]
    fn bound(&self) -> Option<(&'static mut Mags, *const ZoneState)> {
        let st = self.state.load(Ordering::Acquire);
        Some((magazine::binding(state_id(st))?, st))
    }

    /// Frees the block at `ptr` (null does nothing). A bad free goes to the
    /// error hook.
    ///
    /// # Safety
    ///
    /// If `ptr` is a block of this zone, nothing uses it afterwards. Any
    /// other address is reported, not freed; the checks read nothing at an
    /// address no zone manages.
    #[inline]
    pub unsafe fn free(&self, ptr: *mut u8) {
        if let Some((mags, st)) = self.bound() {
            // SAFETY: as in `alloc_layout`.
            let st = unsafe { &*st };
            if let Some(slot) = chunk::find_slab(st.key(), ptr as usize) {
                if st.free_small_fast(mags, slot, ptr) {
                    return;
                }
            }
        }
        self.free_slow(ptr);
    }

    /// Frees the block at `ptr`, which the caller allocated with `size`
    /// and `align` (what `GlobalAlloc::dealloc` is told). Checked exactly as
    /// [`free`](Self::free) is: the size only says where to look first. The
    /// class it gives fixes the thread's magazine before the block's slab is
    /// read, so the free's stores do not wait on the loads that check it; a
    /// block whose slab is of another class (a size that does not match, or
    /// a block resized in place), like every free the fast path does not
    /// finish, goes to the checked path, which finds the class from the
    /// block.
    ///
    /// ```
    /// let zone = slab_alloc::SlabMalloc::new();
    /// let p = zone.malloc(40).unwrap();
    /// // SAFETY: `p` is a live block of `zone`, asked for with 40 bytes.
    /// unsafe { zone.free_sized(p.as_ptr(), 40, 8) };
    /// let class = zone.stats().classes.into_iter().find(|c| c.size == 48).unwrap();
    /// assert_eq!((class.allocs, class.frees), (1, 1));
    /// ```
    ///
    /// # Safety
    ///
    /// As for [`free`](Self::free).
    #[inline]
    pub unsafe fn free_sized(&self, ptr: *mut u8, size: usize, align: usize) {
        if let Some(k) = classes::class_of(size, align) {
            if let Some((mags, st)) = self.bound() {
                // SAFETY: as in `alloc_layout`.
                if unsafe { &*st }.free_class_fast(mags, k, ptr) {
                    return;
                }
            }
        }
        self.free_slow(ptr);
    }

    /// Every free the fast path did not finish: checked in full, and
    /// reported to the hook if wrong.
    #[cold]
    #[inline(never)]
    fn free_slow(&self, ptr: *mut u8) {
        if ptr.is_null() {
            return;
        }
        // SAFETY: the caller's promise is `try_free`'s.
        if let Err(err) = unsafe { self.try_free(ptr) } {
            (self.hook)(&err);
        }
    }

    /// Frees the block at `ptr`, or says why the free is wrong without
    /// freeing anything.
    ///
    /// ```
    /// use slab_alloc::{FreeErrorKind, SlabMalloc};
    ///
    /// let zone = SlabMalloc::new();
    /// let p = zone.malloc(48).unwrap().as_ptr();
    /// // SAFETY: `p` is a block of `zone`; the other calls are errors.
    /// unsafe {
    ///     let inside = zone.try_free(p.add(8)).unwrap_err();
    ///     assert_eq!(inside.kind, FreeErrorKind::Interior { object: p as usize });
    ///     zone.try_free(p).unwrap();
    ///     assert_eq!(zone.try_free(p).unwrap_err().kind, FreeErrorKind::DoubleFree);
    ///     let x = 5u64;
    ///     let foreign = zone.try_free(&x as *const u64 as *mut u8).unwrap_err();
    ///     assert_eq!(foreign.kind, FreeErrorKind::NotManaged);
    /// }
    /// ```
    ///
    /// # Safety
    ///
    /// As for [`free`](Self::free).
    ///
    /// # Errors
    ///
    /// The [`FreeError`] naming the class (or the zone) and the address.
    pub unsafe fn try_free(&self, ptr: *mut u8) -> Result<(), FreeError> {
        let addr = ptr as usize;
        let Some(st) = self.made() else {
            let kind = if chunk::is_mapped(addr) {
                FreeErrorKind::OtherCache {
                    other: "another slab-malloc zone",
                }
            } else {
                FreeErrorKind::NotManaged
            };
            return Err(zone_error(addr, kind));
        };
        match chunk::find(st.key(), addr) {
            Found::Slab(slot) => {
                let k = st.check_small(slot, addr)?;
                st.free_small(k, ptr)
            }
            Found::Large(h) => st.free_large(h, addr),
            // A chunk's header, or a slot with no slab (any more): nothing
            // this zone has handed out lies there now.
            Found::NotInSlab => Err(zone_error(addr, FreeErrorKind::NotManaged)),
            Found::OtherZone => Err(zone_error(
                addr,
                FreeErrorKind::OtherCache {
                    other: "another slab-malloc zone",
                },
            )),
            Found::NotManaged => Err(zone_error(addr, FreeErrorKind::NotManaged)),
        }
    }

    /// The usable size of the live block at `ptr`: its class's size, or
    /// what its large mapping holds after it (what `malloc_usable_size`
    /// returns).
    ///
    /// # Safety
    ///
    /// None beyond a readable chunk map: an address no zone manages is an
    /// error and nothing at it is read. For an address of this zone, the
    /// block must be live (a freed block's size is not reported reliably).
    ///
    /// # Errors
    ///
    /// What [`try_free`](Self::try_free) would report, except double frees.
    pub unsafe fn usable_size(&self, ptr: *const u8) -> Result<usize, FreeError> {
        let addr = ptr as usize;
        let Some(st) = self.made() else {
            return Err(zone_error(addr, FreeErrorKind::NotManaged));
        };
        match chunk::find(st.key(), addr) {
            Found::Slab(slot) => st.check_small(slot, addr).map(|k| SIZES[k]),
            Found::Large(h) => st.large.with(|_| {
                // SAFETY: a large mapping of this zone, read under its lock.
                unsafe { Large::check(h, addr) }.map_err(|e| large_error(addr, e))
            }),
            Found::NotInSlab | Found::OtherZone | Found::NotManaged => {
                Err(zone_error(addr, FreeErrorKind::NotManaged))
            }
        }
    }

    /// Gives back what the zone can: this thread's magazines and every
    /// depot's go back to the slabs, every empty slab is decommitted, and
    /// every cached large block too. Other threads' magazines stay.
    ///
    /// ```
    /// let zone = slab_alloc::SlabMalloc::new();
    /// let blocks: Vec<_> = (0..10_000).map(|_| zone.malloc(64).unwrap()).collect();
    /// let held = zone.stats().small_bytes_held();
    /// for p in blocks {
    ///     // SAFETY: each block is freed once.
    ///     unsafe { zone.free(p.as_ptr()) };
    /// }
    /// zone.trim();
    /// assert!(zone.stats().small_bytes_held() < held / 4);
    /// ```
    pub fn trim(&self) {
        if let Some(st) = self.made() {
            magazine::flush_current(st.id());
            st.trim();
        }
    }

    /// Takes every lock of the zone (and the process-wide ones it uses), in
    /// the order the zone nests them, so that a `fork` happens while no
    /// other thread is inside a critical section: the child then finds
    /// every lock free after [`after_fork`](Self::after_fork). Meant for a
    /// `pthread_atfork` prepare handler; each call must be followed by one
    /// `after_fork` in the parent and in the child.
    ///
    /// In the child, the magazines of the parent's other threads are lost
    /// with those threads (their blocks stay allocated); the forking
    /// thread keeps its own.
    ///
    /// ```
    /// let zone = slab_alloc::SlabMalloc::new();
    /// let p = zone.malloc(64).unwrap();
    /// zone.prepare_fork();
    /// // SAFETY: this thread took the locks just above.
    /// unsafe { zone.after_fork() };
    /// // SAFETY: a block of `zone`, freed once.
    /// unsafe { zone.free(p.as_ptr()) };
    /// ```
    pub fn prepare_fork(&self) {
        use crate::RawLock;
        // Made first, so that `after_fork` finds the same state and
        // releases exactly what was taken here.
        let st = self.state();
        magazine::free_list_lock().lock();
        if let Some(st) = st {
            st.magazines.raw_lock().lock();
            for c in &st.classes {
                c.cache.raw_lock().lock();
            }
            st.large.raw_lock().lock();
            st.chunks.raw_lock().lock();
        }
        crate::registry::lock_registry();
    }

    /// Releases what [`prepare_fork`](Self::prepare_fork) took: in the
    /// parent after the fork, and in the child.
    ///
    /// # Safety
    ///
    /// The calling thread (or, in a child, the thread that forked) took the
    /// locks with `prepare_fork` on this zone and has not released them.
    pub unsafe fn after_fork(&self) {
        use crate::RawLock;
        crate::registry::unlock_registry();
        // SAFETY: the caller holds every lock below, taken by
        // `prepare_fork` in the opposite order.
        unsafe {
            if let Some(st) = self.made() {
                st.chunks.raw_lock().unlock();
                st.large.raw_lock().unlock();
                for c in st.classes.iter().rev() {
                    c.cache.raw_lock().unlock();
                }
                st.magazines.raw_lock().unlock();
            }
            magazine::free_list_lock().unlock();
        }
    }

    /// A snapshot of the zone's statistics.
    pub fn stats(&self) -> ZoneStats {
        let mut out = ZoneStats {
            classes: [ClassStats::default(); CLASSES],
            large: LargeStats::default(),
            chunks: 0,
            magazines: 0,
        };
        let Some(st) = self.made() else {
            for (k, c) in out.classes.iter_mut().enumerate() {
                c.size = SIZES[k];
            }
            return out;
        };
        let own = magazine::binding(st.id());
        for (k, c) in st.classes.iter().enumerate() {
            let (allocs, frees) = c.depot.counts(own.as_ref().map(|m| &m[k]));
            out.classes[k] = ClassStats {
                size: c.size,
                allocs,
                frees,
                slabs: c.cache.with(|s| s.stats()),
                depot_full: c.depot.full_len(),
                depot_empty: c.depot.empty.len_hint(),
            };
        }
        out.large = st.large.with(|l| LargeStats {
            allocs: l.allocs,
            frees: l.frees,
            live_blocks: l.live,
            live_bytes: l.live_bytes,
            cached_blocks: l.cached,
            cached_bytes: l.cached_bytes,
            mapped_bytes: l.mapped_bytes,
        });
        out.chunks = st.chunks.with(|c| c.count);
        out.magazines = st.magazines_made.load(Ordering::Relaxed);
        out
    }

    /// Resizes the live block at `ptr` to `new_size` bytes, keeping its
    /// alignment `align`: the same address when the new size still fits
    /// the block (its class, or its large mapping) without wasting more
    /// than half of it; otherwise a new block, with the first
    /// `min(old, new)` bytes copied and the old block freed. A large block
    /// that grows moves to a block at least half as large again, so that a
    /// program growing a buffer a few bytes at a time (C's `realloc` loop)
    /// copies it a logarithmic number of times. `None` when memory runs
    /// out (the old block is left as it was) or `ptr` is not a live block
    /// of this zone (reported to the hook first).
    ///
    /// ```
    /// let zone = slab_alloc::SlabMalloc::new();
    /// let p = zone.malloc(100).unwrap().as_ptr();
    /// // SAFETY: `p` is a live block of `zone`, 16-aligned; each result is
    /// // the live block from then on.
    /// unsafe {
    ///     p.write(42);
    ///     let q = zone.reallocate(p, 16, 110).unwrap();
    ///     assert_eq!(q.as_ptr(), p); // still fits the 112-byte class
    ///     let r = zone.reallocate(q.as_ptr(), 16, 100_000).unwrap();
    ///     assert_eq!(*r.as_ptr(), 42);
    ///     zone.free(r.as_ptr());
    /// }
    /// ```
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of this zone, aligned to `align` (a power of
    /// two); on success nothing uses `ptr` afterwards unless it is the
    /// result.
    pub unsafe fn reallocate(
        &self,
        ptr: *mut u8,
        align: usize,
        new_size: usize,
    ) -> Option<NonNull<u8>> {
        // SAFETY: the caller's live block.
        let usable = match unsafe { self.usable_size(ptr) } {
            Ok(usable) => usable,
            Err(err) => {
                (self.hook)(&err);
                return None;
            }
        };
        if new_size <= usable && (new_size >= usable / 2 || usable <= 16) {
            // SAFETY: `ptr` is live, so not null.
            return Some(unsafe { NonNull::new_unchecked(ptr) });
        }
        let grows_large = new_size > usable && new_size > MAX_SMALL;
        let fresh = if grows_large {
            let ample = new_size.max(usable.saturating_add(usable / 2));
            self.alloc_layout(ample, align)
                .or_else(|| self.alloc_layout(new_size, align))?
        } else {
            self.alloc_layout(new_size, align)?
        };
        // SAFETY: both blocks hold at least `min(usable, new)` bytes and
        // are distinct; the old one is freed once.
        unsafe {
            ptr::copy_nonoverlapping(ptr, fresh.as_ptr(), usable.min(new_size));
            self.free(ptr);
        }
        Some(fresh)
    }
}

impl Default for SlabMalloc {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SlabMalloc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SlabMalloc");
        if let Some(st) = self.made() {
            d.field("id", &st.id());
        }
        d.finish_non_exhaustive()
    }
}

impl Drop for SlabMalloc {
    fn drop(&mut self) {
        let st = *self.state.get_mut();
        if st as usize <= MAKING {
            return;
        }
        // SAFETY: `&mut self`: no thread is inside the zone; the state was
        // made by `ZoneState::make` and is released once.
        unsafe { ZoneState::release(st) };
    }
}

fn zone_error(addr: usize, kind: FreeErrorKind) -> FreeError {
    FreeError {
        cache: ZONE_NAME,
        addr,
        kind,
    }
}

fn large_error(addr: usize, err: LargeFreeError) -> FreeError {
    let kind = match err {
        LargeFreeError::DoubleFree => FreeErrorKind::DoubleFree,
        LargeFreeError::Interior(object) => FreeErrorKind::Interior { object },
        LargeFreeError::NotABlock => FreeErrorKind::NotAnObject,
    };
    FreeError {
        cache: LARGE_NAME,
        addr,
        kind,
    }
}

impl ZoneState {
    /// Maps and builds a zone's state; `None` if memory or a class cache
    /// cannot be had.
    ///
    /// # Safety
    ///
    /// None; `unsafe` because the state points into itself, so the result
    /// must not be moved.
    unsafe fn make(hook: ErrorHook) -> Option<*mut ZoneState> {
        let size = size_of::<ZoneState>();
        let mem = MapAlloc::new().map(size, 4096).ok()?;
        let st = mem.as_ptr().cast::<ZoneState>();
        let key = st as usize;
        // SAFETY: `st` is a fresh mapping of the state's size; each field
        // is written once through raw pointers before anything reads it.
        unsafe {
            ptr::addr_of_mut!((*st).hook).write(hook);
            ptr::addr_of_mut!((*st).chunks).write(ZoneLocked::new(Chunks::new(key)));
            ptr::addr_of_mut!((*st).large).write(ZoneLocked::new(Large::new(key)));
            ptr::addr_of_mut!((*st).magazines_made).write(AtomicUsize::new(0));
            let chunks = ptr::addr_of!((*st).chunks);
            let pages = |class, slots| ClassPages {
                chunks,
                class,
                slots,
            };
            let mags = SlabBuilder::new("slab-malloc magazines")
                .layout(Layout::new::<Magazine>().align_to(512).ok()?)
                .type_stable(true)
                .error_hook(hook)
                .build_untyped(pages(MAGAZINE_CLASS, 1))
                .ok()?;
            ptr::addr_of_mut!((*st).magazines).write(ZoneLocked::new(mags));
            for k in 0..CLASSES {
                let layout = Layout::from_size_align(SIZES[k], classes::class_align(k)).ok()?;
                let slab = classes::slab_size(k);
                let cache = SlabBuilder::new(NAMES[k])
                    .layout(layout)
                    .colouring(false)
                    .max_empty_slabs(classes::max_empty_slabs(k))
                    .object_tags(true)
                    .error_hook(hook)
                    .build_untyped(pages(k, slab / chunk::SLOT))
                    .ok()?;
                let g = cache.core.geometry();
                let (first, tags) = (g.fixed_first()?, g.tags_off?);
                let shape =
                    Shape::new(SIZES[k], first, cache.objects_per_slab())?.with_tags(tags)?;
                ptr::addr_of_mut!((*st).shapes[k]).write(shape);
                ptr::addr_of_mut!((*st).classes[k]).write(Class {
                    cache: ZoneLocked::new(cache),
                    depot: Depot::new(classes::magazine_capacity(k), magazine::depot_limit(k)),
                    size: SIZES[k],
                });
            }
        }
        Some(st)
    }

    /// Releases a zone's state and all its memory.
    ///
    /// # Safety
    ///
    /// `st` came from [`ZoneState::make`], is released once, and no thread
    /// uses the zone again.
    unsafe fn release(st: *mut ZoneState) {
        // SAFETY: the caller's state.
        let s = unsafe { &mut *st };
        magazine::unbind_everywhere(s.id());
        // SAFETY: the class caches give their slabs back to the chunks,
        // which are then unmapped; nothing uses them afterwards.
        unsafe {
            for k in 0..CLASSES {
                ptr::drop_in_place(ptr::addr_of_mut!(s.classes[k].cache));
            }
            ptr::drop_in_place(ptr::addr_of_mut!(s.magazines));
            s.chunks.get_mut().release_all();
            s.large.get_mut().release_all();
            let _ =
                MapAlloc::new().unmap(NonNull::new_unchecked(st.cast()), size_of::<ZoneState>());
        }
    }

    /// The zone's id in thread bindings: [`state_id`] of its address.
    #[inline]
    fn id(&self) -> u64 {
        state_id(ptr::from_ref(self))
    }

    /// The identity chunk headers carry.
    #[inline]
    fn key(&self) -> usize {
        ptr::from_ref(self) as usize
    }

    /// Checks that `addr`, in the slab at `slot`, starts an object of its
    /// class; returns the class.
    #[inline]
    fn check_small(&self, slot: chunk::SlabSlot, addr: usize) -> Result<usize, FreeError> {
        let Some(shape) = self.shapes.get(slot.class) else {
            return Err(zone_error(addr, FreeErrorKind::NotAnObject));
        };
        shape.object(slot.base, addr).map_err(|kind| FreeError {
            cache: NAMES[slot.class],
            addr,
            kind,
        })?;
        Ok(slot.class)
    }

    /// An object of class `k`: from this thread's loaded magazine, or the
    /// slow path.
    #[inline]
    fn alloc_small(&self, k: usize) -> Option<NonNull<u8>> {
        if let Some(mags) = magazine::binding(self.id()) {
            if let Some(p) = self.pop_bound(mags, k) {
                return Some(p);
            }
        }
        self.alloc_small_slow(k)
    }

    /// An object of class `k` (`k < CLASSES`, as `class_of` gives) from
    /// the loaded magazine of `mags`, this thread's for this zone, if that
    /// magazine is not empty.
    #[inline(always)]
    fn pop_bound(&self, mags: &mut Mags, k: usize) -> Option<NonNull<u8>> {
        debug_assert!(k < CLASSES);
        // SAFETY: `k < CLASSES`, the length of `mags`; the magazine is this
        // thread's (or the sentinel, whose `len` is 0 and is never
        // written).
        unsafe {
            let pair = mags.get_unchecked_mut(k);
            (pair.len() > 0).then(|| {
                let (p, delta) = pair.pop_allocated();
                hand_out_at(p, delta)
            })
        }
    }

    /// Tags a free object of class `k` (`k < CLASSES`) as held, as it is
    /// handed out.
    #[inline]
    fn hand_out(&self, k: usize, p: *mut u8) -> NonNull<u8> {
        // SAFETY: `p` is a free object of class `k` in a live slab of this
        // zone, so its chunk header is mapped and names the slab, and it
        // starts an object (its index is below `per_slab`).
        unsafe {
            self.tag_of(k, p as usize).store(HELD, Ordering::Relaxed);
            NonNull::new_unchecked(p)
        }
    }

    /// The home byte of the slab of `addr`, an object of class `k`
    /// (`k < CLASSES`).
    ///
    /// # Safety
    ///
    /// `addr` is an object of class `k` in a live slab of this zone.
    unsafe fn slab_home(&self, k: usize, addr: usize) -> &'static AtomicU8 {
        // SAFETY: the caller's object, in a slab of shape `k`.
        unsafe { self.shapes.get_unchecked(k).home(slab_base_of(addr)) }
    }

    /// The tag of `addr`, an object of class `k` (`k < CLASSES`).
    ///
    /// # Safety
    ///
    /// `addr` starts an object of class `k` in a live slab of this zone.
    #[inline]
    unsafe fn tag_of(&self, k: usize, addr: usize) -> &'static AtomicU8 {
        // SAFETY: the caller's object starts an object of shape `k` in a
        // live slab.
        unsafe {
            let base = slab_base_of(addr);
            let shape = *self.shapes.get_unchecked(k);
            // The caller's object starts at its offset: `q` is its index.
            shape.tag(base, shape.quotient(addr - base) as usize)
        }
    }

    #[cold]
    #[inline(never)]
    fn alloc_small_slow(&self, k: usize) -> Option<NonNull<u8>> {
        let c = &self.classes[k];
        let Some(mags) =
            magazine::binding(self.id()).or_else(|| magazine::bind(self.id(), ptr::from_ref(self)))
        else {
            // No thread cache (the thread is exiting): the slab layer.
            let p = c.cache.with(|s| s.alloc()).ok()?;
            c.depot.allocs.fetch_add(1, Ordering::Relaxed);
            return Some(self.hand_out(k, p.as_ptr()));
        };
        let home = magazine::home();
        let (p, delta) = c
            .depot
            .refill(&mut mags[k], home, &ClassSlabs { st: self, k, home })?;
        Some(hand_out_at(p, delta))
    }

    /// The free fast path: an object of a class (start checked), not
    /// free by its tag, going into a loaded magazine with room. Anything else
    /// (including every error) returns `false` having changed nothing, and
    /// the slow path checks and reports it.
    #[inline]
    fn free_small_fast(&self, mags: &mut Mags, slot: chunk::SlabSlot, p: *mut u8) -> bool {
        let Some(shape) = self.shapes.get(slot.class) else {
            return false;
        };
        let Some(idx) = shape.index(slot.offset) else {
            return false;
        };
        // SAFETY: `slot.class` indexes `shapes` (checked above), which has
        // as many entries as `mags`; `p` is object `idx` of the live slab
        // at `slot.base`, of that class.
        unsafe {
            let pair = mags.get_unchecked_mut(slot.class);
            self.untag_and_push(pair, shape.tag(slot.base, idx), p)
        }
    }

    /// [`free_small_fast`](Self::free_small_fast) for a block the caller
    /// says is of class `k` (`k < CLASSES`): the same checks, with the
    /// slab's class compared to `k`.
    #[inline]
    fn free_class_fast(&self, mags: &mut Mags, k: usize, p: *mut u8) -> bool {
        // SAFETY: `k < CLASSES` (a class from `class_of`), the length of
        // both arrays.
        let (pair, shape) = unsafe { (mags.get_unchecked_mut(k), *self.shapes.get_unchecked(k)) };
        let Some(slot) = chunk::find_slab(self.key(), p as usize) else {
            return false;
        };
        match shape.index(slot.offset) {
            // SAFETY: `p` is object `idx` of the live slab at `slot.base`,
            // of class `k`.
            Some(idx) if slot.class == k => unsafe {
                self.untag_and_push(pair, shape.tag(slot.base, idx), p)
            },
            _ => false,
        }
    }

    /// The end of both free fast paths: the double-free check on the
    /// block's tag, then the push, if the loaded magazine has room and the
    /// block is held.
    ///
    /// # Safety
    ///
    /// `p` starts an object of the class of `pair`, a pair of this thread,
    /// and `tag` is its tag.
    #[inline]
    unsafe fn untag_and_push(&self, pair: &mut MagPair, tag: &AtomicU8, p: *mut u8) -> bool {
        let len_frees = pair.len_frees();
        if len_frees as u32 >= pair.cap() || tag.load(Ordering::Relaxed) != HELD {
            return false;
        }
        tag.store(0, Ordering::Relaxed);
        // SAFETY: the loaded magazine has room (the sentinel has none).
        unsafe { pair.push_freed_at(len_frees, p, tag_delta(p, tag)) };
        true
    }

    /// Frees a checked object of class `k`: the double-free tag, then this
    /// thread's loaded magazine, or the slow path.
    #[inline]
    fn free_small(&self, k: usize, p: *mut u8) -> Result<(), FreeError> {
        let addr = p as usize;
        // SAFETY: `p` starts an object of class `k` in a live slab of this
        // zone (checked).
        let tag = unsafe { self.tag_of(k, addr) };
        if tag.load(Ordering::Relaxed) != HELD {
            return Err(FreeError {
                cache: NAMES[k],
                addr,
                kind: FreeErrorKind::DoubleFree,
            });
        }
        if let Some(mags) = magazine::binding(self.id()) {
            // SAFETY: `p` starts an object of class `k`; `tag` is its tag.
            if unsafe { self.untag_and_push(&mut mags[k], tag, p) } {
                return Ok(());
            }
        }
        tag.store(0, Ordering::Relaxed);
        self.free_small_slow(k, p, tag_delta(p, tag))
    }

    #[cold]
    #[inline(never)]
    fn free_small_slow(&self, k: usize, p: *mut u8, delta: u32) -> Result<(), FreeError> {
        let mags: Option<&mut Mags> =
            magazine::binding(self.id()).or_else(|| magazine::bind(self.id(), ptr::from_ref(self)));
        let Some(mags) = mags else {
            return self.free_to_slabs(k, p);
        };
        let home = magazine::home();
        match self.classes[k].depot.spill(
            &mut mags[k],
            p,
            delta,
            home,
            &ClassSlabs { st: self, k, home },
        ) {
            Ok(()) => Ok(()),
            Err(p) => self.free_to_slabs(k, p),
        }
    }

    /// Frees a checked object, its tag cleared, straight into its slab
    /// cache.
    fn free_to_slabs(&self, k: usize, p: *mut u8) -> Result<(), FreeError> {
        // SAFETY: `p` is not null (it was checked to be in a slab).
        let p = unsafe { NonNull::new_unchecked(p) };
        let c = &self.classes[k];
        // SAFETY: any address may be given to the checked free.
        c.cache.with(|s| unsafe { s.try_dealloc(p) })?;
        c.depot.frees.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Takes back a thread's magazine of class `k` (at thread exit, or
    /// when a binding is flushed).
    pub(crate) fn return_magazine(&self, k: usize, m: NonNull<Magazine>, home: usize) {
        self.classes[k]
            .depot
            .give_back(m, home, &ClassSlabs { st: self, k, home });
    }

    fn trim(&self) {
        for (k, c) in self.classes.iter().enumerate() {
            c.depot.trim(&ClassSlabs {
                st: self,
                k,
                home: 0,
            });
            c.cache.with(|s| s.reap());
        }
        self.large.with(Large::trim);
    }

    #[cold]
    fn alloc_large(&self, size: usize, align: usize) -> Option<(NonNull<u8>, bool)> {
        self.large.with(|l| l.alloc(size, align))
    }

    #[cold]
    fn free_large(&self, h: NonNull<ChunkHeader>, addr: usize) -> Result<(), FreeError> {
        self.large.with(|l| {
            // SAFETY: a large mapping of this zone, under its lock.
            unsafe { Large::check(h, addr) }.map_err(|e| large_error(addr, e))?;
            // SAFETY: checked live, freed once.
            unsafe { l.free(h) };
            Ok(())
        })
    }
}

/// Class `k`'s slab cache and the zone's magazine cache, as a depot's
/// source of objects and magazines.
struct ClassSlabs<'a> {
    st: &'a ZoneState,
    k: usize,
    /// The home of the thread filling magazines: it fills from the slab
    /// its home claimed.
    home: usize,
}

impl Slabs for ClassSlabs<'_> {
    fn fill(&self, m: &mut Magazine, grow: bool) -> bool {
        let idle = magazine::idle_homes();
        self.st.classes[self.k].cache.with(|s| {
            while m.has_room() {
                match s.alloc_for(self.home, grow, idle) {
                    // SAFETY: a free object of class `k` in a live slab.
                    Ok(p) => m.stock(p.as_ptr(), unsafe {
                        tag_delta(p.as_ptr(), self.st.tag_of(self.k, p.as_ptr() as usize))
                    }),
                    Err(_) => break,
                };
            }
        });
        m.len() > 0
    }

    fn drain(&self, m: &mut Magazine) {
        self.st.classes[self.k].cache.with(|s| {
            for &p in m.held() {
                // SAFETY: a free object of this class, not null, held once.
                if let Err(err) = unsafe { s.try_dealloc(NonNull::new_unchecked(p)) } {
                    (self.st.hook)(&err);
                }
            }
        });
        m.clear();
    }

    fn keeps_homes(&self) -> bool {
        true
    }

    fn home_of(&self, m: &Magazine) -> Option<usize> {
        let &p = m.held().first()?;
        // Modulo HOMES: a stray write to slab metadata does not make an
        // index out of range.
        // SAFETY: `p` is a free object of class `k` in a live slab (held by
        // the magazine).
        Some(
            usize::from(unsafe { self.st.slab_home(self.k, p as usize) }.load(Ordering::Relaxed))
                % magazine::HOMES,
        )
    }

    /// The slab of the top round: the first the thread hands out, so the
    /// first freed into whatever magazine takes them back, whose home
    /// [`home_of`](Slabs::home_of) reads.
    fn adopt(&self, m: &Magazine, home: usize) {
        if let Some(&p) = m.held().last() {
            // SAFETY: as in `home_of`.
            unsafe { self.st.slab_home(self.k, p as usize) }.store(home as u8, Ordering::Relaxed);
        }
    }

    fn new_magazine(&self, rounds: usize) -> Option<NonNull<Magazine>> {
        let mem = self.st.magazines.with(|s| s.alloc()).ok()?;
        self.st.magazines_made.fetch_add(1, Ordering::Relaxed);
        // SAFETY: a fresh 512-byte block of the magazine cache.
        Some(unsafe { Magazine::init(mem, rounds) })
    }
}

/// Statistics of one size class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClassStats {
    /// The class's object size.
    pub size: usize,
    /// Allocations and frees of the class so far. Each thread counts its
    /// own in its magazines and adds them to these when a magazine goes
    /// back to the depot (and when the thread exits), so another thread's
    /// last few dozen calls may not be counted yet; the calling thread's
    /// are.
    pub allocs: u64,
    /// See [`allocs`](Self::allocs).
    pub frees: u64,
    /// The slab cache's own statistics. Objects in magazines count as
    /// allocated there.
    pub slabs: Stats,
    /// Full magazines in the depot.
    pub depot_full: usize,
    /// Empty magazines in the depot.
    pub depot_empty: usize,
}

/// Statistics of the large blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LargeStats {
    /// Large allocations and frees so far.
    pub allocs: u64,
    /// See [`allocs`](Self::allocs).
    pub frees: u64,
    /// Blocks handed out.
    pub live_blocks: usize,
    /// Bytes mapped for them.
    pub live_bytes: usize,
    /// Freed blocks kept for reuse.
    pub cached_blocks: usize,
    /// Bytes mapped for those.
    pub cached_bytes: usize,
    /// All bytes mapped for large blocks.
    pub mapped_bytes: usize,
}

/// A snapshot of a zone's statistics: per class, large blocks, totals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ZoneStats {
    /// Each class, smallest first.
    pub classes: [ClassStats; CLASSES],
    /// The large blocks.
    pub large: LargeStats,
    /// 4 MiB chunks mapped for slabs.
    pub chunks: usize,
    /// Magazines made (they are kept for reuse).
    pub magazines: usize,
}

impl ZoneStats {
    /// Bytes the slab caches hold from the chunks (committed or about to
    /// be: slabs handed back are decommitted at once).
    pub fn small_bytes_held(&self) -> usize {
        self.classes.iter().map(|c| c.slabs.bytes_held).sum()
    }

    /// Bytes in blocks handed out: small objects the slab layer counts as
    /// live (which includes those resting in magazines and depots) plus
    /// live large mappings. An upper bound on what the program holds; exact
    /// after [`SlabMalloc::trim`] when no other thread holds magazines.
    pub fn live_bytes(&self) -> usize {
        self.classes
            .iter()
            .map(|c| c.size * c.slabs.objects_live as usize)
            .sum::<usize>()
            + self.large.live_bytes
    }
}

// SAFETY: the zone's state is shared through atomics, locks and
// per-thread magazines; `SlabMalloc` only holds a pointer to it.
unsafe impl Send for SlabMalloc {}
// SAFETY: as above.
unsafe impl Sync for SlabMalloc {}

// SAFETY: `alloc` returns blocks of at least the layout's size and
// alignment that no one else holds, or null; `dealloc` frees such a block
// (its size is found from the address); `realloc` keeps the prefix.
unsafe impl GlobalAlloc for SlabMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.alloc_layout(layout.size(), layout.align())
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's block of this allocator, of this layout.
        unsafe { self.free_sized(ptr, layout.size(), layout.align()) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let Some(st) = self.state() else {
            return ptr::null_mut();
        };
        match classes::class_of(layout.size(), layout.align()) {
            Some(k) => st.alloc_small(k).map_or(ptr::null_mut(), |p| {
                // SAFETY: a fresh block of at least the layout's size.
                unsafe { p.as_ptr().write_bytes(0, layout.size()) };
                p.as_ptr()
            }),
            None => match st.alloc_large(layout.size(), layout.align()) {
                // A new mapping or a decommitted one reads as zeros.
                Some((p, true)) => p.as_ptr(),
                Some((p, false)) => {
                    // SAFETY: a fresh block of at least the layout's size.
                    unsafe { p.as_ptr().write_bytes(0, layout.size()) };
                    p.as_ptr()
                }
                None => ptr::null_mut(),
            },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's live block with this layout.
        unsafe { self.reallocate(ptr, layout.align(), new_size) }
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }
}

// SAFETY: blocks are valid until deallocated, whatever happens to the
// reference (the zone outlives them by the borrow); `allocate` hands out
// distinct blocks of at least the layout; grow and shrink keep the prefix.
unsafe impl Allocator for SlabMalloc {
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let p = self
            .alloc_layout(layout.size(), layout.align())
            .ok_or(AllocError)?;
        // SAFETY: a live block just handed out.
        let usable = unsafe { self.usable_size(p.as_ptr()) }.unwrap_or(layout.size());
        Ok(NonNull::slice_from_raw_parts(p, usable))
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller's block of this allocator, of this layout.
        unsafe { self.free_sized(ptr.as_ptr(), layout.size(), layout.align()) }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: the caller's live block with layout `old`.
        unsafe { self.resize(ptr, old, new) }
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: as in `grow`.
        unsafe { self.resize(ptr, old, new) }
    }
}

impl SlabMalloc {
    /// Grow or shrink for the `Allocator` interface: in place when the
    /// block's class or mapping fits the new layout, else a move.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of this zone allocated with `old`.
    unsafe fn resize(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: the caller's live block.
        let usable = unsafe { self.usable_size(ptr.as_ptr()) }.map_err(|_| AllocError)?;
        let aligned = ptr.as_ptr() as usize % new.align() == 0;
        let shrink = new.size() < old.size();
        if aligned && new.size() <= usable && (new.size() >= usable / 2 || usable <= 16) {
            // A shrink reports the size asked for: a block that comes back
            // longer than before would read as a grow (with a zeroed tail).
            let len = if shrink { new.size() } else { usable };
            return Ok(NonNull::slice_from_raw_parts(ptr, len));
        }
        let mut fresh = self.allocate(new)?;
        if shrink {
            fresh = NonNull::slice_from_raw_parts(fresh.cast::<u8>(), new.size());
        }
        // SAFETY: distinct live blocks, each at least `min` bytes long; the
        // old block is freed once.
        unsafe {
            ptr::copy_nonoverlapping(
                ptr.as_ptr(),
                fresh.cast::<u8>().as_ptr(),
                old.size().min(new.size()),
            );
            self.free(ptr.as_ptr());
        }
        Ok(fresh)
    }
}

const _: () = assert!(MAX_SMALL_ALIGN <= chunk::PAGE);
const _: () = assert!(MAX_SMALL <= chunk::CHUNK);

#[cfg(test)]
mod tests {
    use super::{Shape, SlabMalloc, classes, magazine};
    use bagpipe::SharedWeakBag;
    use core::alloc::{GlobalAlloc, Layout};
    use std::vec;
    use std::vec::Vec;

    /// The homes' tests, one after the other: whether a home is idle
    /// depends on every thread of the process, including the threads of
    /// the other test.
    #[test]
    #[cfg_attr(miri, ignore = "maps 4 MiB-aligned chunks, which Miri cannot")]
    fn homes() {
        homes_keep_their_slabs_and_get_their_blocks_back();
        an_idle_homes_magazine_is_taken_and_adopted();
    }

    /// Threads of two homes fill from slabs of their own, and the full
    /// magazines a thread of one home frees of the other's blocks go to
    /// the other's depot stack, not its own.
    fn homes_keep_their_slabs_and_get_their_blocks_back() {
        let zone = SlabMalloc::new();
        let layout = Layout::from_size_align(64, 8).unwrap();
        let k = classes::class_of(64, 8).unwrap();
        let n = 400;
        let alloc_in = |home| {
            std::thread::scope(|s| {
                s.spawn(|| {
                    magazine::set_home(home);
                    (0..n)
                        // SAFETY: a non-zero layout.
                        .map(|_| unsafe { zone.alloc(layout) } as usize)
                        .collect::<Vec<_>>()
                })
                .join()
                .unwrap()
            })
        };
        let slabs = |blocks: &[usize]| {
            let mut v: Vec<usize> = blocks.iter().map(|&p| p >> 16).collect();
            v.dedup();
            v
        };
        let three = alloc_in(3);
        let five = alloc_in(5);
        let (s3, s5) = (slabs(&three), slabs(&five));
        assert!(
            s3.iter().all(|s| !s5.contains(s)),
            "homes 3 and 5 share a slab"
        );

        // A thread of home 5 frees home 3's blocks.
        std::thread::scope(|s| {
            s.spawn(|| {
                magazine::set_home(5);
                for &p in &three {
                    // SAFETY: blocks of `zone` of this layout, freed once.
                    unsafe { zone.dealloc(p as *mut u8, layout) };
                }
            });
        });
        let depot = &zone.state().unwrap().classes[k].depot;
        assert!(depot.full[3].len_hint() > 0);
        assert_eq!(
            depot.full[5].len_hint(),
            0,
            "home 3's blocks went to home 5"
        );
        for &p in &five {
            // SAFETY: as above.
            unsafe { zone.dealloc(p as *mut u8, layout) };
        }
    }

    /// A thread fills from its own and empty slabs before it takes a full
    /// magazine of a home whose threads all exited; then it takes one
    /// (before a new slab or the idle home's partial slabs) and adopts its
    /// blocks: the magazine they are freed into comes back to its home.
    fn an_idle_homes_magazine_is_taken_and_adopted() {
        // This thread in a home of its own, so that homes 4 to 7 go idle
        // when their threads exit.
        magazine::set_home(0);
        let zone = SlabMalloc::new();
        let layout = Layout::from_size_align(4096, 8).unwrap();
        let k = classes::class_of(4096, 8).unwrap();
        let depot = || &zone.state().unwrap().classes[k].depot;
        let (limit, rounds) = (depot().limit, depot().rounds);
        // Runs `f` on a thread of `home`, until the thread's exit has
        // given back its magazines (after the join: a thread-specific
        // key's destructor).
        let run = |home: usize, f: &(dyn Fn() + Sync)| {
            std::thread::scope(|s| {
                s.spawn(|| {
                    magazine::set_home(home);
                    f();
                });
            });
            while !magazine::idle(home) {
                std::thread::yield_now();
            }
        };
        // A thread of home 4 leaves its stack full and more free objects in
        // the slabs.
        run(4, &|| {
            let blocks: Vec<usize> = (0..(limit + 2) * rounds)
                // SAFETY: a non-zero layout.
                .map(|_| unsafe { zone.alloc(layout) } as usize)
                .collect();
            for &p in &blocks {
                // SAFETY: blocks of `zone` of this layout, freed once.
                unsafe { zone.dealloc(p as *mut u8, layout) };
            }
        });
        assert_eq!(depot().full[4].len_hint(), limit);
        // A thread of home 5 allocates until it takes one of home 4's
        // magazines, and keeps its blocks (its exit gives the rest of that
        // magazine back to home 4).
        let held5 = std::sync::Mutex::new(Vec::new());
        let took = std::sync::atomic::AtomicBool::new(false);
        run(5, &|| {
            let mut held = held5.lock().unwrap();
            while held.len() < 10_000 {
                // SAFETY: a non-zero layout.
                held.push(unsafe { zone.alloc(layout) } as usize);
                if depot().full[4].len_hint() < limit {
                    took.store(true, std::sync::atomic::Ordering::Relaxed);
                    break;
                }
            }
        });
        let filled = held5.lock().unwrap().len();
        assert!(
            took.load(std::sync::atomic::Ordering::Relaxed),
            "home 5 never took home 4's magazine"
        );
        assert!(
            filled >= rounds,
            "home 5 took home 4's magazine after {filled} blocks, with an empty slab"
        );
        let left = depot().full[4].len_hint();
        // A thread of home 6 takes home 4's magazine too, not a new slab,
        // and a thread of home 7 frees what it got: the blocks go back to
        // home 6.
        let held = std::sync::Mutex::new(Vec::new());
        run(6, &|| {
            let mut held = held.lock().unwrap();
            // SAFETY: a non-zero layout.
            held.extend((0..rounds).map(|_| unsafe { zone.alloc(layout) } as usize));
        });
        assert!(depot().full[4].len_hint() < left, "home 6 took a new slab");
        // (Home 6's exit may have given back a magazine of its own.)
        let before = depot().full[6].len_hint();
        run(7, &|| {
            for &p in held.lock().unwrap().iter() {
                // SAFETY: blocks of `zone` of this layout, freed once.
                unsafe { zone.dealloc(p as *mut u8, layout) };
            }
        });
        assert_eq!(
            depot().full[6].len_hint(),
            before + 1,
            "the blocks did not come back"
        );
        assert_eq!(depot().full[7].len_hint(), 0);
        for &p in held5.lock().unwrap().iter() {
            // SAFETY: blocks of `zone` of this layout, freed once.
            unsafe { zone.dealloc(p as *mut u8, layout) };
        }
    }

    /// The one-multiplication test agrees with the hardware's division
    /// for every size the zone and the shared caches use, over a slab's
    /// range of offsets, objects before the first and past the last
    /// included.
    #[test]
    fn shape_index_matches_hardware_division() {
        let sizes: Vec<usize> = if cfg!(miri) {
            vec![1, 3, 16, 48, 144, 4608, 262_144]
        } else {
            (1..=300)
                .chain([1000, 4096, 4608, 36_864, 212_992, 262_144])
                .collect()
        };
        let (first, per_slab) = (48, 1000);
        // Every offset within `near` of either end, and a stride through
        // the middle.
        let (near, stride) = if cfg!(miri) {
            (300, 400_009)
        } else {
            (3000, 997)
        };
        for size in sizes {
            let shape = Shape::new(size, first, per_slab).unwrap();
            let end = first + (per_slab + 2) * size;
            let offsets = (0..near)
                .chain(end.saturating_sub(near)..end)
                .chain((0..end).step_by(stride));
            for off in offsets {
                let want = off
                    .checked_sub(first)
                    .filter(|rel| rel % size == 0 && rel / size < per_slab)
                    .map(|rel| rel / size);
                assert_eq!(shape.index(off), want, "offset {off}, size {size}");
            }
        }
    }
}
