//! The slab layer's core, shared by the typed and untyped caches: slabs,
//! their headers, free stacks and bitmaps, the partial/full/empty lists,
//! colouring, the checks on free and the counters, and the slabs that
//! homes claim (for the zone's thread caches).
//!
//! Fast paths first: [`Cache::alloc`] and [`Cache::free`]; everything below
//! them is cold.

use core::alloc::Layout;
use core::mem::size_of;
use core::ptr::NonNull;
#[cfg(feature = "zone")]
use core::sync::atomic::{AtomicU8, Ordering};

use object_alloc::{AllocError, UntypedObjectAlloc};

use crate::error::{ErrorHook, FreeError, FreeErrorKind};
use crate::stats::Stats;

const WORD_BITS: usize = usize::BITS as usize;

/// How many homes (groups of threads, see [`Cache::alloc_for`]) claim a
/// slab of a cache each.
pub(crate) const HOMES: usize = 8;
// A header stores its claim as the home plus one, in a byte; a claim
// takes the idle homes as a bit mask in a byte.
const _: () = assert!(HOMES <= u8::BITS as usize);
/// How many slabs from the head of the partial list a home looks at for
/// one of its own before it takes an empty or new one. (With 8, the
/// criterion churn's threads, whose slabs interleave on the list, missed
/// their own slabs: in a version of the depot that took no running home's
/// magazine before growing, they wrote 28–42% of their tag lines both,
/// against 23–26% with 64.)
#[cfg(feature = "zone")]
const CLAIM_SCAN: usize = 64;

impl<B: UntypedObjectAlloc> Cache<B> {
    /// Hands out an object: the top of the current partial slab's free
    /// stack, or the slab's next never-used object. Returns whether the
    /// object is fresh (never handed out, so not constructed).
    ///
    /// Cost: one load of the partial list head, the header's counters, one
    /// stack load and one bitmap word update; a slab that fills goes to the
    /// full list in [`Cache::slab_filled`], and no partial slab at all sends
    /// the call to [`Cache::alloc_slow`].
    #[inline]
    pub(crate) fn alloc(&mut self) -> Result<(NonNull<u8>, bool), AllocError> {
        let Some(slab) = self.partial.head else {
            return self.alloc_slow();
        };
        // SAFETY: the head of the partial list.
        unsafe { self.alloc_in(slab) }
    }

    /// Hands out an object for `home` (below [`HOMES`]): from the partial
    /// slab the home claimed, claiming one first if it holds none. A slab
    /// claimed by one home is not claimed by another until it leaves the
    /// partial list (fills up or empties), so threads of different homes
    /// fill their magazines from different slabs, and a slab's objects (and
    /// their tags) go to one thread at a time.
    ///
    /// `idle` has bit `h` set for each home `h` no running thread has (see
    /// [`Cache::claim`] for how a home chooses). With `grow` false, a home
    /// that must claim a slab takes none from the backing: it fails if no
    /// slab it may claim has room.
    #[cfg(feature = "zone")]
    #[inline]
    pub(crate) fn alloc_for(
        &mut self,
        home: usize,
        grow: bool,
        idle: u8,
    ) -> Result<(NonNull<u8>, bool), AllocError> {
        let slab = match self.claims[home] {
            Some(slab) => slab,
            None => self.claim(home, grow, idle)?,
        };
        // SAFETY: a claimed slab is on the partial list.
        unsafe { self.alloc_in(slab) }
    }

    /// Hands out an object from `slab`.
    ///
    /// # Safety
    ///
    /// `slab` is a slab of this cache on its partial list.
    #[inline]
    unsafe fn alloc_in(
        &mut self,
        slab: NonNull<Header>,
    ) -> Result<(NonNull<u8>, bool), AllocError> {
        // SAFETY: `slab` is a live slab of this cache (the caller's) whose
        // header is initialised, and `&mut self` makes this the only
        // reference to it.
        let h = unsafe { &mut *slab.as_ptr() };
        let (idx, fresh) = if h.free_len > 0 {
            h.free_len -= 1;
            // SAFETY: `free_len < capacity`, so the entry lies in the slab's
            // free stack, which `new_slab` placed inside the slab.
            let idx = unsafe { self.stack(slab).add(h.free_len as usize).read() };
            (idx, false)
        } else {
            debug_assert!(
                h.fresh < self.capacity,
                "a partial slab has no object to hand out"
            );
            h.fresh += 1;
            (h.fresh - 1, true)
        };
        h.live += 1;
        let first = h.first as usize;
        let base = h.base;
        let full = h.live == self.capacity;
        self.allocated += 1;
        // SAFETY: `idx < capacity`, so its bit is in the slab's bitmap.
        unsafe { self.set_bit(slab, idx, true) };
        if full {
            self.slab_filled(slab);
        }
        // SAFETY: object `idx` lies inside the slab: `first + capacity *
        // stride <= slab_size` (checked by `Geometry::new`, colour included).
        let obj = unsafe { base.add(first + idx as usize * self.stride) };
        Ok((obj, fresh))
    }

    /// Takes back an object after the checks: finds the slab (the slab of
    /// the previous free, else in the pointer-to-slab map with `alloc` or by
    /// masking without), validates it, the object start and the allocated
    /// bit, then pushes the index on the free stack.
    ///
    /// Cost: a range check against the previous free's slab (a hash probe
    /// and a range check on a miss, with `alloc`), a multiplication, a
    /// bitmap word and the stack push; a slab that stops being full or
    /// becomes empty goes through [`Cache::free_slow`].
    ///
    /// # Safety
    ///
    /// As [`UntypedSlabAlloc::try_dealloc`](crate::UntypedSlabAlloc::try_dealloc).
    #[inline]
    pub(crate) unsafe fn free(&mut self, ptr: NonNull<u8>) -> Result<(), FreeError> {
        let addr = ptr.addr().get();
        let (base, slab) = match self.hot {
            Some(slab) if addr.wrapping_sub(self.hot_base) < self.slab_size => {
                (self.hot_base, slab)
            }
            _ => {
                // SAFETY: forwarded from the caller.
                let (base, slab) = unsafe { self.find(ptr) }?;
                (self.hot, self.hot_base) = (Some(slab), base);
                (base, slab)
            }
        };
        // SAFETY: `find` returned a live slab of this cache; `&mut self`
        // makes this the only reference to its header.
        let h = unsafe { &mut *slab.as_ptr() };
        if h.tag != base ^ self.secret {
            return Err(self.error(addr, FreeErrorKind::CorruptHeader));
        }
        let rel = (addr - base).wrapping_sub(h.first as usize);
        let (idx, off) = self.divide(rel);
        if idx >= self.capacity as usize {
            return Err(self.error(addr, FreeErrorKind::NotAnObject));
        }
        if off != 0 {
            let object = base + h.first as usize + idx * self.stride;
            return Err(self.error(addr, FreeErrorKind::Interior { object }));
        }
        let idx = idx as u32;
        // SAFETY: `idx < capacity`.
        if !unsafe { self.bit(slab, idx) } {
            return Err(self.error(addr, FreeErrorKind::DoubleFree));
        }
        // SAFETY: `idx < capacity`.
        unsafe { self.set_bit(slab, idx, false) };
        // SAFETY: at most `capacity - 1` indices are on the stack while
        // `idx` was allocated, so the push stays inside it.
        unsafe { self.stack(slab).add(h.free_len as usize).write(idx) };
        h.free_len += 1;
        h.live -= 1;
        let live = h.live;
        self.freed += 1;
        if live == 0 || live + 1 == self.capacity {
            // The slab allocations come from just emptied, with room in the
            // working set: it stays where it is (see `free_slow`).
            let stays = live == 0
                && self.partial.head == Some(slab)
                && self.empty.len < self.policy.max_empty;
            if !stays {
                self.free_slow(slab);
            }
        }
        Ok(())
    }
}

/// The header of every slab, at its start (inline metadata) or in a record
/// of a metadata block (out-of-line). The free stack (`u32` indices) and the
/// allocated bitmap follow it; objects start at `base + first`.
#[repr(C)]
pub(crate) struct Header {
    // Read and written by the fast paths.
    /// Entries on the free stack: freed objects, still constructed.
    free_len: u32,
    /// Objects `0..fresh` have been handed out at least once (constructed).
    fresh: u32,
    /// Objects allocated now.
    live: u32,
    /// Offset of object 0 from the slab base, colour included.
    first: u32,
    /// `base ^ secret`: tells this cache's headers from anything else.
    tag: usize,
    /// The slab: the block from the backing that holds the objects (the
    /// header's own address when the metadata is inline).
    base: NonNull<u8>,
    // Read by the checks and the slow paths.
    cache_id: usize,
    name: &'static str,
    prev: Option<NonNull<Header>>,
    next: Option<NonNull<Header>>,
    list: ListKind,
    /// The home that claimed the slab, plus one; 0 for none.
    claim: u8,
}

/// The alignment a slab header needs: the backing's blocks must have it.
pub(crate) const HEADER_ALIGN: usize = core::mem::align_of::<Header>();

// The free stack of `u32`s starts right after the header, and the header
// sits at the slab base, which is aligned to the slab size: at least the
// header's size once two objects fit.
const _: () = assert!(size_of::<Header>() % core::mem::align_of::<u32>() == 0);
const _: () = assert!(core::mem::align_of::<Header>() <= size_of::<Header>());

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ListKind {
    Partial,
    Full,
    Empty,
}

/// A doubly linked list of slabs through their headers.
#[derive(Clone, Copy)]
struct List {
    head: Option<NonNull<Header>>,
    tail: Option<NonNull<Header>>,
    len: usize,
}

impl List {
    const fn new() -> Self {
        List {
            head: None,
            tail: None,
            len: 0,
        }
    }
}

/// Where things lie in a slab and its metadata, computed once per cache.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub(crate) object: Layout,
    pub(crate) slab_size: usize,
    pub(crate) stride: usize,
    pub(crate) capacity: u32,
    /// Offsets of the free stack and the bitmap from the header.
    stack_off: usize,
    bitmap_off: usize,
    /// Offset of object 0 from the slab base with colour 0.
    first: usize,
    /// Number of distinct colours, and the step between two.
    colours: usize,
    colour_step: usize,
    /// Metadata at the slab start (`None`), or in records of this many
    /// bytes in separate metadata blocks.
    pub(crate) record: Option<usize>,
    /// Offset from the header of the slab's per-object tag bytes, when the
    /// cache has them: one byte per object that the slab layer zeroes when
    /// it makes the slab and never touches again, for a layer above (the
    /// double-free check of the zone and the shared caches). One more byte
    /// follows them: the slab's home ([`Cache::home_byte`]).
    pub(crate) tags_off: Option<usize>,
}

/// The cache line size colouring steps by.
const CACHE_LINE: usize = 64;

/// Bytes at the start of a metadata block that link it to the next one.
const META_LINK: usize = size_of::<usize>();
const _: () = assert!(core::mem::align_of::<Header>() <= META_LINK);

impl Geometry {
    /// The same layout with a single colour: object 0 at the same offset
    /// in every slab.
    pub(crate) fn uncoloured(mut self) -> Geometry {
        self.colours = 1;
        self
    }

    /// Where object 0 lies in every slab, when that is fixed: one colour
    /// and inline metadata.
    #[cfg(feature = "zone")]
    pub(crate) fn fixed_first(&self) -> Option<usize> {
        (self.colours == 1 && self.record.is_none()).then_some(self.first)
    }

    /// Lays out a slab of `slab_size` bytes for objects of `object`, with
    /// the metadata inline or out of line. Returns how many objects fit
    /// when fewer than two do.
    pub(crate) fn new(
        object: Layout,
        slab_size: usize,
        out_of_line: bool,
        tags: bool,
    ) -> Result<Geometry, usize> {
        let stride = object.pad_to_align().size();
        let align = object.align();
        let stack_off = size_of::<Header>();
        let mut cap = if out_of_line {
            slab_size / stride
        } else {
            slab_size.saturating_sub(stack_off) / stride
        };
        loop {
            let bitmap_off = (stack_off + cap * 4).next_multiple_of(size_of::<usize>());
            let bitmap_end = bitmap_off + cap.div_ceil(WORD_BITS) * size_of::<usize>();
            // With tags, a byte per object and the slab's home byte.
            let meta_end = if tags {
                bitmap_end + cap + 1
            } else {
                bitmap_end
            };
            let record = meta_end.next_multiple_of(HEADER_ALIGN);
            let (first, fits) = if out_of_line {
                // A record must fit in a metadata block beside its link.
                (
                    0,
                    record + META_LINK <= slab_size && cap * stride <= slab_size,
                )
            } else {
                let first = meta_end.next_multiple_of(align);
                (first, first + cap * stride <= slab_size)
            };
            if fits || cap == 0 {
                if cap < 2 || cap > u32::MAX as usize || first > u32::MAX as usize {
                    return Err(cap);
                }
                let colour_step = CACHE_LINE.max(align);
                let leftover = slab_size - first - cap * stride;
                return Ok(Geometry {
                    object,
                    slab_size,
                    stride,
                    capacity: cap as u32,
                    stack_off,
                    bitmap_off,
                    first,
                    colours: leftover / colour_step + 1,
                    colour_step,
                    record: out_of_line.then_some(record),
                    tags_off: tags.then_some(bitmap_end),
                });
            }
            cap -= 1;
        }
    }
}

/// Out-of-line metadata records, carved from metadata blocks taken from
/// the cache's own backing (so with a guarded `mmap-alloc` backing each
/// block sits between guard pages, away from every object). Free records
/// are linked through their first word; blocks through theirs. Blocks go
/// back to the backing when the cache drops.
struct Records {
    free: Option<NonNull<u8>>,
    blocks: Option<NonNull<u8>>,
    count: usize,
}

impl Records {
    const fn new() -> Self {
        Records {
            free: None,
            blocks: None,
            count: 0,
        }
    }
}

/// How [`Cache::divide`] divides by the stride.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Divisor {
    /// A power-of-two stride: `log2(stride)`.
    Shift(u32),
    /// `ceil(2^64 / stride)` for a stride in `3..2^32`.
    Reciprocal(u64),
    /// A stride of 2^32 or more: the hardware division.
    Divide,
}

impl Divisor {
    pub(crate) fn new(stride: usize) -> Self {
        if stride.is_power_of_two() {
            Divisor::Shift(stride.trailing_zeros())
        } else if (stride as u64) >> 32 == 0 {
            Divisor::Reciprocal(u64::MAX / stride as u64 + 1)
        } else {
            Divisor::Divide
        }
    }

    /// `(rel / stride, rel % stride)` for the stride this was made for.
    #[inline]
    pub(crate) fn divide(self, rel: usize, stride: usize) -> (usize, usize) {
        match self {
            Divisor::Shift(shift) => (rel >> shift, rel & (stride - 1)),
            Divisor::Reciprocal(c) if (rel as u64) >> 32 == 0 => {
                let q = ((u128::from(c) * rel as u128) >> 64) as usize;
                let low = c.wrapping_mul(rel as u64);
                let r = ((u128::from(low) * stride as u128) >> 64) as usize;
                (q, r)
            }
            _ => (rel / stride, rel % stride),
        }
    }
}

/// Per-cache policies set by the builder.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    pub(crate) hook: ErrorHook,
    pub(crate) max_empty: usize,
    pub(crate) type_stable: bool,
}

/// The untyped core of a cache.
pub(crate) struct Cache<B: UntypedObjectAlloc> {
    // Read by the fast paths.
    partial: List,
    #[cfg_attr(feature = "alloc", allow(dead_code))]
    mask: usize,
    secret: usize,
    stride: usize,
    div: Divisor,
    capacity: u32,
    stack_off: usize,
    bitmap_off: usize,
    allocated: u64,
    freed: u64,
    /// The slab of the latest free and its base: the next free is likely
    /// in it, and then needs no lookup. Cleared when that slab goes.
    hot: Option<NonNull<Header>>,
    hot_base: usize,
    slab_size: usize,
    #[cfg(feature = "alloc")]
    slabs: crate::registry::SlabMap<NonNull<Header>>,
    // The slow paths.
    /// The partial slab each home fills from ([`Cache::alloc_for`]).
    claims: [Option<NonNull<Header>>; HOMES],
    full: List,
    empty: List,
    records: Records,
    geometry: Geometry,
    next_colour: usize,
    pub(crate) name: &'static str,
    id: usize,
    pub(crate) policy: Policy,
    pub(crate) constructions: u64,
    /// Drops the object at a pointer (typed caches whose `T` needs it).
    drop_obj: Option<unsafe fn(NonNull<u8>)>,
    backing: B,
}

/// A number per cache, from a process-wide counter.
fn next_cache_id() -> usize {
    use core::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The tag key of cache `id`: its id mixed with the address of a static, so
/// it differs between runs under address-space randomisation.
fn secret_of(id: usize) -> usize {
    static KEY: u8 = 0;
    let mut x = (id ^ (&raw const KEY).addr()) as u64;
    // splitmix64's finaliser.
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (x ^ (x >> 31)) as usize
}

impl<B: UntypedObjectAlloc> Cache<B> {
    pub(crate) fn new(
        name: &'static str,
        geometry: Geometry,
        backing: B,
        policy: Policy,
        drop_obj: Option<unsafe fn(NonNull<u8>)>,
    ) -> Self {
        let id = next_cache_id();
        Cache {
            partial: List::new(),
            mask: !(geometry.slab_size.next_power_of_two() - 1),
            secret: secret_of(id),
            stride: geometry.stride,
            div: Divisor::new(geometry.stride),
            capacity: geometry.capacity,
            stack_off: geometry.stack_off,
            bitmap_off: geometry.bitmap_off,
            allocated: 0,
            freed: 0,
            hot: None,
            hot_base: 0,
            slab_size: geometry.slab_size,
            claims: [None; HOMES],
            #[cfg(feature = "alloc")]
            slabs: crate::registry::SlabMap::new(geometry.slab_size),
            full: List::new(),
            empty: List::new(),
            records: Records::new(),
            geometry,
            next_colour: 0,
            name,
            id,
            policy,
            constructions: 0,
            drop_obj,
            backing,
        }
    }

    pub(crate) fn backing(&self) -> &B {
        &self.backing
    }

    pub(crate) fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    pub(crate) fn stats(&self) -> Stats {
        let slabs = self.partial.len + self.full.len + self.empty.len;
        Stats {
            objects_allocated: self.allocated,
            objects_freed: self.freed,
            objects_live: self.allocated - self.freed,
            slabs,
            empty_slabs: self.empty.len + usize::from(self.head_is_empty()),
            metadata_blocks: self.records.count,
            bytes_held: (slabs + self.records.count) * self.geometry.slab_size,
            constructions: self.constructions,
        }
    }

    /// `(rel / stride, rel % stride)` without a hardware division, which
    /// costs more than the rest of a free: a shift for a power-of-two
    /// stride, else a multiplication by a precomputed reciprocal, exact for
    /// `rel` and `stride` below 2^32 (Lemire, Kaser and Kurz, "Faster
    /// Remainder by Direct Computation", 2019). Larger offsets, past every
    /// object of a slab under 4 GiB, divide the slow way.
    #[inline]
    fn divide(&self, rel: usize) -> (usize, usize) {
        self.div.divide(rel, self.stride)
    }

    /// The slab's free stack.
    #[inline]
    fn stack(&self, slab: NonNull<Header>) -> NonNull<u32> {
        // SAFETY: `stack_off` is inside the slab's metadata (`Geometry::new`).
        unsafe { slab.cast::<u8>().add(self.stack_off).cast() }
    }

    /// Reads the allocated bit of object `idx`.
    ///
    /// # Safety
    /// `slab` is a live slab of this cache and `idx < capacity`.
    #[inline]
    unsafe fn bit(&self, slab: NonNull<Header>, idx: u32) -> bool {
        let idx = idx as usize;
        // SAFETY: the bitmap holds `capacity` bits inside the slab's
        // metadata, and the caller keeps `idx` below it.
        let word = unsafe {
            slab.cast::<u8>()
                .add(self.bitmap_off)
                .cast::<usize>()
                .add(idx / WORD_BITS)
                .read()
        };
        word & (1 << (idx % WORD_BITS)) != 0
    }

    /// Sets or clears the allocated bit of object `idx`.
    ///
    /// # Safety
    /// `slab` is a live slab of this cache and `idx < capacity`.
    #[inline]
    unsafe fn set_bit(&self, slab: NonNull<Header>, idx: u32, on: bool) {
        let idx = idx as usize;
        // SAFETY: as in `bit`.
        let word = unsafe {
            slab.cast::<u8>()
                .add(self.bitmap_off)
                .cast::<usize>()
                .add(idx / WORD_BITS)
        };
        // SAFETY: `word` is inside the bitmap, aligned (`bitmap_off` is a
        // multiple of the word size) and ours through `&mut self`.
        unsafe {
            let w = word.read();
            word.write(if on {
                w | (1 << (idx % WORD_BITS))
            } else {
                w & !(1 << (idx % WORD_BITS))
            });
        }
    }

    /// The slab of this cache holding `ptr` (its base and header), or the
    /// error for an address that is in none.
    ///
    /// # Safety
    /// As [`UntypedSlabAlloc::try_dealloc`](crate::UntypedSlabAlloc::try_dealloc).
    #[inline]
    unsafe fn find(&self, ptr: NonNull<u8>) -> Result<(usize, NonNull<Header>), FreeError> {
        #[cfg(feature = "alloc")]
        {
            let addr = ptr.addr().get();
            match self.slabs.get(addr) {
                Some(found) => Ok(found),
                None => Err(self.foreign(addr)),
            }
        }
        #[cfg(not(feature = "alloc"))]
        {
            // Without a map of our slabs (which are then inline and aligned
            // to their size), the header is read through the freed pointer;
            // the caller guarantees it is readable.
            let base = ptr.addr().get() & self.mask;
            let Some(slab) = NonNull::new(ptr.as_ptr().with_addr(base)) else {
                return Err(self.error(ptr.addr().get(), FreeErrorKind::NotManaged));
            };
            let slab = slab.cast::<Header>();
            // SAFETY: the caller guarantees the header-sized start of the
            // slab-aligned region is readable; `Header` has no invalid bit
            // patterns in the fields read here.
            let (tag, id) = unsafe { ((*slab.as_ptr()).tag, (*slab.as_ptr()).cache_id) };
            if id == self.id && tag == base ^ self.secret {
                Ok((base, slab))
            } else if id != self.id && tag == base ^ secret_of(id) {
                // SAFETY: the tag shows a live header of another cache, whose
                // name field holds a `&'static str`.
                let other = unsafe { (*slab.as_ptr()).name };
                Err(self.error(ptr.addr().get(), FreeErrorKind::OtherCache { other }))
            } else {
                Err(self.error(ptr.addr().get(), FreeErrorKind::NotManaged))
            }
        }
    }

    /// The slab holding an object this cache handed out.
    fn slab_of(&self, obj: NonNull<u8>) -> NonNull<Header> {
        #[cfg(feature = "alloc")]
        {
            self.slabs
                .get(obj.addr().get())
                .expect("an object we handed out is in one of our slabs")
                .1
        }
        #[cfg(not(feature = "alloc"))]
        {
            let base = obj.addr().get() & self.mask;
            obj.with_addr(core::num::NonZeroUsize::new(base).expect("a slab is not at 0"))
                .cast::<Header>()
        }
    }

    /// Names the cache a foreign address belongs to, if any, from the
    /// process-wide registry.
    #[cfg(feature = "alloc")]
    #[cold]
    #[inline(never)]
    fn foreign(&self, addr: usize) -> FreeError {
        let owner = crate::registry::with_registry(|r| r.owner_of(addr));
        let kind = match owner {
            Some(o) if o.id != self.id => FreeErrorKind::OtherCache { other: o.name },
            _ => FreeErrorKind::NotManaged,
        };
        self.error(addr, kind)
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn error(&self, addr: usize, kind: FreeErrorKind) -> FreeError {
        FreeError {
            cache: self.name,
            addr,
            kind,
        }
    }

    /// The home byte of `slab`, in a cache with tags: the home that
    /// claimed it last (0 before any). Atomic: the layer above reads it
    /// without the cache's lock, to send objects back to their home.
    #[cfg(feature = "zone")]
    fn home_byte(&self, slab: NonNull<Header>) -> Option<&AtomicU8> {
        let off = self.geometry.tags_off? + self.capacity as usize;
        // SAFETY: a live slab's metadata holds the home byte after its
        // tags (`Geometry::new`); it is only accessed atomically.
        Some(unsafe { AtomicU8::from_ptr(slab.cast::<u8>().as_ptr().add(off)) })
    }

    /// Claims a slab for `home`, which has none. In order of preference,
    /// among the unclaimed slabs:
    ///
    /// 1. among the first [`CLAIM_SCAN`] of the partial list, one whose
    ///    home it is (the home that claimed it last);
    /// 2. an empty slab;
    /// 3. with `grow`, among those first partial slabs, one of an idle home
    ///    (bit set in `idle`: no running thread has that home);
    /// 4. with `grow`, a new slab from the backing;
    /// 5. only if that fails, among those first partial slabs, one of a
    ///    busy home.
    ///
    /// So the threads of two running homes fill from the same slab only
    /// when memory runs out, and an exited thread's partial slabs are used
    /// before the cache grows, but not before its home's next thread (which
    /// may only be starting) finds them. A slab shared by two running
    /// threads has its blocks and their tag bytes written by both, line by
    /// line: in the criterion churn (two threads started anew each
    /// iteration), 93% of a thread's tag lines were written by both threads
    /// when any unclaimed slab came before an empty one (and an idle home's
    /// magazine before the home's own slabs, see the zone's
    /// `Depot::full_for`). An empty or new slab goes to the back of the
    /// partial list (it holds an object once the caller allocates from it).
    #[cfg(feature = "zone")]
    #[cold]
    #[inline(never)]
    fn claim(&mut self, home: usize, grow: bool, idle: u8) -> Result<NonNull<Header>, AllocError> {
        let mut cur = self.partial.head;
        let (mut own, mut of_idle, mut of_busy) = (None, None, None);
        for _ in 0..CLAIM_SCAN {
            let Some(slab) = cur else { break };
            // SAFETY: a live slab on the partial list, read only.
            let h = unsafe { &*slab.as_ptr() };
            if h.claim == 0 {
                let last = self
                    .home_byte(slab)
                    .map(|b| usize::from(b.load(Ordering::Relaxed)));
                match last {
                    Some(last) if last == home => {
                        own = Some(slab);
                        break;
                    }
                    Some(last) if last < HOMES && idle & (1 << last) == 0 => {
                        of_busy = of_busy.or(Some(slab));
                    }
                    // An idle home's, or one no home claimed.
                    _ => of_idle = of_idle.or(Some(slab)),
                }
            }
            cur = h.next;
        }
        let slab = match (own, self.empty.head, of_idle) {
            (Some(slab), _, _) => slab,
            (None, Some(slab), _) => {
                self.unlink(slab);
                self.append_partial(slab);
                slab
            }
            (None, None, Some(slab)) if grow => slab,
            (None, None, _) if grow => match self.new_slab() {
                Ok(slab) => {
                    self.append_partial(slab);
                    slab
                }
                // Out of memory: a busy home's slab rather than no object.
                Err(err) => of_busy.ok_or(err)?,
            },
            (None, None, _) => return Err(AllocError),
        };
        // SAFETY: a live slab of this cache; no other reference to it.
        unsafe { (*slab.as_ptr()).claim = home as u8 + 1 };
        if let Some(b) = self.home_byte(slab) {
            b.store(home as u8, Ordering::Relaxed);
        }
        self.claims[home] = Some(slab);
        Ok(slab)
    }

    /// Puts `slab`, just taken from the empty list or the backing, at the
    /// back of the partial list.
    #[cfg(feature = "zone")]
    fn append_partial(&mut self, slab: NonNull<Header>) {
        if self.partial.head.is_none() {
            self.push_front(ListKind::Partial, slab);
        } else {
            self.push_back_partial(slab);
        }
    }

    /// No partial slab: reuse an empty one, or get a new one from the
    /// backing, then allocate from it.
    #[cold]
    #[inline(never)]
    fn alloc_slow(&mut self) -> Result<(NonNull<u8>, bool), AllocError> {
        let slab = match self.empty.head {
            Some(slab) => {
                self.unlink(slab);
                slab
            }
            None => self.new_slab()?,
        };
        self.push_front(ListKind::Partial, slab);
        #[cfg(debug_assertions)]
        self.check_invariants();
        self.alloc()
    }

    /// A metadata record for a new slab (out-of-line metadata).
    fn take_record(&mut self, record: usize) -> Result<NonNull<Header>, AllocError> {
        if self.records.free.is_none() {
            let block = self.backing.alloc()?;
            // SAFETY: a fresh block of `slab_size` bytes, aligned for
            // `usize` (checked by the builder): its first word is the link,
            // and `Geometry::new` made at least one record fit after it.
            unsafe {
                block
                    .cast::<Option<NonNull<u8>>>()
                    .write(self.records.blocks);
                let per_block = (self.geometry.slab_size - META_LINK) / record;
                for i in (0..per_block).rev() {
                    let rec = block.add(META_LINK + i * record);
                    rec.cast::<Option<NonNull<u8>>>().write(self.records.free);
                    self.records.free = Some(rec);
                }
            }
            self.records.blocks = Some(block);
            self.records.count += 1;
        }
        let rec = self.records.free.expect("a block was just carved");
        // SAFETY: a free record holds the link to the next free one.
        self.records.free = unsafe { rec.cast::<Option<NonNull<u8>>>().read() };
        Ok(rec.cast())
    }

    /// Takes a slab from the backing and writes its header.
    fn new_slab(&mut self) -> Result<NonNull<Header>, AllocError> {
        let g = self.geometry;
        let block = self.backing.alloc()?;
        let slab = match g.record {
            // Inline: the header is the slab's start, written below.
            None => block.cast::<Header>(),
            Some(record) => match self.take_record(record) {
                Ok(slab) => slab,
                Err(e) => {
                    // SAFETY: the block just came from the backing and is
                    // not used.
                    unsafe { self.backing.dealloc(block) };
                    return Err(e);
                }
            },
        };
        let base = block.addr().get();
        #[cfg(not(feature = "alloc"))]
        assert!(
            base & !self.mask == 0,
            "slab-alloc: cache `{}`: the backing returned {base:#x}, not aligned to the slab size {}",
            self.name,
            g.slab_size
        );
        let first = g.first + self.next_colour * g.colour_step;
        self.next_colour = (self.next_colour + 1) % g.colours;
        // SAFETY: `slab` is the start of the fresh block (inline; the
        // builder checked the backing's alignment suits a header) or a
        // record of our own; either holds an aligned header, the stack and
        // the bitmap words after it (`Geometry::new`).
        unsafe {
            slab.write(Header {
                free_len: 0,
                fresh: 0,
                live: 0,
                first: first as u32,
                tag: base ^ self.secret,
                base: block,
                cache_id: self.id,
                name: self.name,
                prev: None,
                next: None,
                list: ListKind::Empty,
                claim: 0,
            });
            slab.cast::<u8>().add(g.bitmap_off).write_bytes(
                0,
                (g.capacity as usize).div_ceil(WORD_BITS) * size_of::<usize>(),
            );
            if let Some(tags) = g.tags_off {
                slab.cast::<u8>()
                    .add(tags)
                    .write_bytes(0, g.capacity as usize + 1);
            }
        }
        self.register(base, slab);
        Ok(slab)
    }

    /// Puts a metadata record back on the free list.
    fn give_record(&mut self, slab: NonNull<Header>) {
        let rec = slab.cast::<u8>();
        // SAFETY: a record of one of our metadata blocks, no longer in use.
        unsafe { rec.cast::<Option<NonNull<u8>>>().write(self.records.free) };
        self.records.free = Some(rec);
    }

    #[cfg(feature = "alloc")]
    fn register(&mut self, base: usize, slab: NonNull<Header>) {
        let size = self.geometry.slab_size;
        self.slabs.insert(base, slab);
        let owner = crate::registry::Owner {
            id: self.id,
            name: self.name,
            slab_size: size,
        };
        crate::registry::with_registry(|r| r.insert(base, owner));
    }

    #[cfg(not(feature = "alloc"))]
    fn register(&mut self, _base: usize, _slab: NonNull<Header>) {}

    #[cfg(feature = "alloc")]
    fn unregister(&mut self, base: usize) {
        let size = self.geometry.slab_size;
        self.slabs.remove(base);
        crate::registry::with_registry(|r| r.remove(base, size));
    }

    #[cfg(not(feature = "alloc"))]
    fn unregister(&mut self, _base: usize) {}

    /// A slab just handed out its last object: partial to full.
    #[cold]
    #[inline(never)]
    fn slab_filled(&mut self, slab: NonNull<Header>) {
        self.unlink(slab);
        self.push_front(ListKind::Full, slab);
    }

    /// A slab stopped being full (to the back of the partial list, behind
    /// the slab allocations come from) or became empty. An empty slab that
    /// is the head of the partial list stays there: it is where the next
    /// allocation goes, so an alloc/free pair on an otherwise empty cache
    /// moves no slab. It counts towards the working set of `max_empty`
    /// empty slabs (unless that is 0, when every empty slab goes back at
    /// once); other empty slabs go to the empty list, and beyond the working
    /// set the one empty the longest goes back to the backing (never, for a
    /// type-stable cache).
    #[cold]
    #[inline(never)]
    fn free_slow(&mut self, slab: NonNull<Header>) {
        // SAFETY: a live slab of this cache; no other reference to it.
        let live = unsafe { (*slab.as_ptr()).live };
        if live != 0 {
            self.unlink(slab);
            self.push_back_partial(slab);
        } else {
            // (A type-stable cache's working set is unbounded: the builder
            // sets `max_empty` to `usize::MAX`.)
            let keep_as_head = self.partial.head == Some(slab) && self.policy.max_empty > 0;
            if !keep_as_head {
                self.unlink(slab);
                self.push_front(ListKind::Empty, slab);
            }
            let head_empty = usize::from(self.head_is_empty());
            while self.empty.len + head_empty > self.policy.max_empty {
                let Some(oldest) = self.empty.tail else {
                    break;
                };
                self.unlink(oldest);
                self.release(oldest);
            }
        }
        #[cfg(debug_assertions)]
        self.check_invariants();
    }

    /// Whether the slab allocations come from has no object allocated.
    fn head_is_empty(&self) -> bool {
        // SAFETY: the head of the partial list is a live slab of this cache.
        self.partial
            .head
            .is_some_and(|h| unsafe { (*h.as_ptr()).live } == 0)
    }

    /// Undoes the allocation of a fresh object whose constructor panicked:
    /// the object goes back to never-used.
    pub(crate) fn unfresh(&mut self, obj: NonNull<u8>) {
        let slab = self.slab_of(obj);
        // SAFETY: a live slab of this cache; no other reference to it.
        let h = unsafe { &mut *slab.as_ptr() };
        debug_assert_eq!(
            obj.addr().get(),
            h.base.addr().get() + h.first as usize + (h.fresh as usize - 1) * self.stride,
            "only the latest fresh object can be undone"
        );
        h.fresh -= 1;
        let idx = h.fresh;
        let was_full = h.live == self.capacity;
        h.live -= 1;
        let live = h.live;
        self.allocated -= 1;
        // SAFETY: `idx < capacity`.
        unsafe { self.set_bit(slab, idx, false) };
        if was_full || live == 0 {
            self.free_slow(slab);
        }
    }

    /// Returns every empty slab to the backing now, the one allocations
    /// come from included (none for a type-stable cache); returns how many.
    pub(crate) fn reap(&mut self) -> usize {
        if self.policy.type_stable {
            return 0;
        }
        let mut n = 0;
        while let Some(slab) = self.empty.head {
            self.unlink(slab);
            self.release(slab);
            n += 1;
        }
        if let (true, Some(head)) = (self.head_is_empty(), self.partial.head) {
            self.unlink(head);
            self.release(head);
            n += 1;
        }
        n
    }

    /// Drops the slab's constructed free objects and returns it to the
    /// backing (and its record to the free records). The slab is on no list.
    fn release(&mut self, slab: NonNull<Header>) {
        // SAFETY: a live slab of this cache; no other reference to it.
        let (fresh, first, block) = unsafe {
            let h = &*slab.as_ptr();
            (h.fresh, h.first as usize, h.base)
        };
        if let Some(drop_obj) = self.drop_obj {
            for idx in 0..fresh {
                // SAFETY: `idx < fresh <= capacity`.
                if !unsafe { self.bit(slab, idx) } {
                    // SAFETY: object `idx` was handed out (`idx < fresh`) and
                    // is free, so it holds the valid object its last owner
                    // gave back, owned by the cache; it is dropped once,
                    // since the slab goes away now.
                    unsafe { drop_obj(block.add(first + idx as usize * self.stride)) };
                }
            }
        }
        self.unregister(block.addr().get());
        if self.hot == Some(slab) {
            self.hot = None;
        }
        if self.geometry.record.is_some() {
            self.give_record(slab);
        }
        // SAFETY: the slab came from `backing.alloc` and is freed once: it
        // is on no list any more.
        unsafe { self.backing.dealloc(block) };
    }

    fn list_mut(&mut self, kind: ListKind) -> &mut List {
        match kind {
            ListKind::Partial => &mut self.partial,
            ListKind::Full => &mut self.full,
            ListKind::Empty => &mut self.empty,
        }
    }

    fn push_front(&mut self, kind: ListKind, slab: NonNull<Header>) {
        self.push(kind, slab, true);
    }

    /// Appends a slab to the partial list, behind the one allocations come
    /// from.
    fn push_back_partial(&mut self, slab: NonNull<Header>) {
        self.push(ListKind::Partial, slab, false);
    }

    /// Puts a slab that is on no list at the front or the back of `kind`.
    fn push(&mut self, kind: ListKind, slab: NonNull<Header>, front: bool) {
        let list = self.list_mut(kind);
        let (near, far) = if front {
            (&mut list.head, &mut list.tail)
        } else {
            (&mut list.tail, &mut list.head)
        };
        let old = near.replace(slab);
        if far.is_none() {
            *far = Some(slab);
        }
        list.len += 1;
        // SAFETY: `slab` and `old` are live slabs of this cache; one
        // reference at a time.
        unsafe {
            let h = &mut *slab.as_ptr();
            h.list = kind;
            if front {
                (h.prev, h.next) = (None, old);
            } else {
                (h.prev, h.next) = (old, None);
            }
            if let Some(old) = old {
                let o = &mut *old.as_ptr();
                if front {
                    o.prev = Some(slab);
                } else {
                    o.next = Some(slab);
                }
            }
        }
    }

    /// Takes a slab off its list (and its claim, if a home claimed it).
    fn unlink(&mut self, slab: NonNull<Header>) {
        // SAFETY: a live slab of this cache; no other reference to it.
        let (prev, next, kind) = unsafe {
            let h = &mut *slab.as_ptr();
            if h.claim != 0 {
                self.claims[usize::from(h.claim) - 1] = None;
                h.claim = 0;
            }
            (h.prev, h.next, h.list)
        };
        let list = self.list_mut(kind);
        list.len -= 1;
        // SAFETY: the neighbours are live slabs on the same list.
        unsafe {
            match prev {
                Some(p) => (*p.as_ptr()).next = next,
                None => list.head = next,
            }
            match next {
                Some(n) => (*n.as_ptr()).prev = prev,
                None => list.tail = prev,
            }
        }
    }

    /// Walks the lists and checks each slab's list tag and counters.
    pub(crate) fn check_invariants(&self) {
        for (list, kind) in [
            (&self.partial, ListKind::Partial),
            (&self.full, ListKind::Full),
            (&self.empty, ListKind::Empty),
        ] {
            let mut n = 0;
            let mut cur = list.head;
            while let Some(slab) = cur {
                // SAFETY: a live slab of this cache, read only.
                let h = unsafe { &*slab.as_ptr() };
                assert_eq!(h.list, kind, "slab on the wrong list");
                assert!(h.fresh <= self.capacity && h.live <= h.fresh);
                assert_eq!(
                    h.free_len + h.live,
                    h.fresh,
                    "free stack and live count disagree"
                );
                match kind {
                    ListKind::Full => assert_eq!(h.live, self.capacity),
                    ListKind::Empty => assert_eq!(h.live, 0),
                    ListKind::Partial => {
                        assert!(h.live < self.capacity);
                        assert!(
                            h.live > 0 || n == 0,
                            "an empty slab on the partial list, not at its head"
                        );
                    }
                }
                if h.claim != 0 {
                    assert_eq!(
                        kind,
                        ListKind::Partial,
                        "a claimed slab off the partial list"
                    );
                    assert_eq!(self.claims[usize::from(h.claim) - 1], Some(slab), "claim");
                }
                n += 1;
                cur = h.next;
            }
            assert_eq!(n, list.len, "list length");
        }
        for (home, slab) in self.claims.iter().enumerate() {
            if let Some(slab) = slab {
                // SAFETY: a claimed slab is a live slab of this cache.
                assert_eq!(usize::from(unsafe { (*slab.as_ptr()).claim }), home + 1);
            }
        }
    }
}

impl<B: UntypedObjectAlloc> Drop for Cache<B> {
    /// Drops every constructed free object and returns every slab and
    /// metadata block. Objects still allocated are not dropped (their owners
    /// hold them) and their memory goes with the slab.
    fn drop(&mut self) {
        for kind in [ListKind::Partial, ListKind::Full, ListKind::Empty] {
            while let Some(slab) = self.list_mut(kind).head {
                self.unlink(slab);
                self.release(slab);
            }
        }
        while let Some(block) = self.records.blocks {
            // SAFETY: a metadata block holds the link to the next one in its
            // first word; it came from `backing.alloc` and is freed once.
            unsafe {
                self.records.blocks = block.cast::<Option<NonNull<u8>>>().read();
                self.backing.dealloc(block);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Divisor;

    /// Homes fill from slabs of their own: two homes never share a slab
    /// while both claim one; a full slab gives up its claim; a home takes
    /// no other home's slab without growing; growing, it takes an idle
    /// home's before a new one, a new one before a busy home's, and a busy
    /// home's only when the backing is out of memory; and it prefers its
    /// own partial slab to an idle home's.
    #[cfg(feature = "zone")]
    #[test]
    fn homes_claim_slabs_of_their_own() {
        use crate::SlabBuilder;
        use core::alloc::Layout;
        use core::ptr::NonNull;
        use object_alloc::{AllocError, GlobalUntyped, UntypedObjectAlloc};
        use std::vec::Vec;

        /// The system's slabs, up to a budget.
        struct Budget(GlobalUntyped<std::alloc::System>, usize);
        // SAFETY: forwards to `GlobalUntyped`, failing once the budget is
        // spent.
        unsafe impl UntypedObjectAlloc for Budget {
            fn layout(&self) -> Layout {
                self.0.layout()
            }
            fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
                self.1 = self.1.checked_sub(1).ok_or(AllocError)?;
                self.0.alloc()
            }
            unsafe fn dealloc(&mut self, ptr: NonNull<u8>) {
                self.1 += 1;
                // SAFETY: the caller's block of `self.0`.
                unsafe { self.0.dealloc(ptr) }
            }
        }

        let slab = Layout::from_size_align(4096, 4096).unwrap();
        let mut cache = SlabBuilder::new("claimed")
            .layout(Layout::from_size_align(64, 64).unwrap())
            .object_tags(true)
            .max_empty_slabs(1)
            .build_untyped(Budget(GlobalUntyped::system(slab), 4))
            .unwrap();
        let per_slab = cache.objects_per_slab();
        let c = &mut cache.core;
        let slab_of = |p: NonNull<u8>| p.as_ptr() as usize & !4095;
        let home_of = |c: &super::Cache<_>, p: NonNull<u8>| {
            let slab = c.slab_of(p);
            usize::from(c.home_byte(slab).unwrap().load(super::Ordering::Relaxed))
        };
        // Masks of idle homes.
        let all: u8 = !0;
        let busy = |homes: &[usize]| homes.iter().fold(all, |m, &h| m & !(1 << h));

        // Nothing to claim without growing.
        assert!(c.alloc_for(2, false, all).is_err());
        let a: Vec<_> = (0..3)
            .map(|_| c.alloc_for(0, true, all).unwrap().0)
            .collect();
        let b: Vec<_> = (0..3)
            .map(|_| c.alloc_for(1, true, all).unwrap().0)
            .collect();
        assert!(a.iter().all(|&p| slab_of(p) == slab_of(a[0])));
        assert!(b.iter().all(|&p| slab_of(p) == slab_of(b[0])));
        assert_ne!(slab_of(a[0]), slab_of(b[0]), "two homes in one slab");
        assert_eq!((home_of(c, a[0]), home_of(c, b[0])), (0, 1));
        c.check_invariants();

        // Home 0 fills its slab A: the claim goes, and the next object
        // comes from a new slab N.
        let mut rest: Vec<_> = (3..per_slab)
            .map(|_| c.alloc_for(0, true, busy(&[0, 1])).unwrap().0)
            .collect();
        assert!(rest.iter().all(|&p| slab_of(p) == slab_of(a[0])));
        assert_eq!(c.claims[0], None);
        let next = c.alloc_for(0, true, busy(&[0, 1])).unwrap().0;
        assert!(![slab_of(a[0]), slab_of(b[0])].contains(&slab_of(next)));
        c.check_invariants();

        // A freed object makes A partial and unclaimed, home 0's. Growing,
        // home 5 takes a new slab rather than a busy home's. Home 2 takes
        // no other home's slab without growing, and growing takes an idle
        // home's before a new one.
        let freed = rest.pop().unwrap();
        // SAFETY: from this cache, freed once.
        unsafe { c.free(freed) }.unwrap();
        let fresh = c.alloc_for(5, true, busy(&[0, 1, 5])).unwrap().0;
        assert!(![a[0], b[0], next].map(slab_of).contains(&slab_of(fresh)));
        assert!(c.alloc_for(2, false, busy(&[0, 1, 2])).is_err());
        assert!(c.alloc_for(2, false, busy(&[1, 2])).is_err());
        let got = c.alloc_for(2, true, busy(&[1, 2])).unwrap().0;
        assert_eq!(got, freed);
        assert_eq!(home_of(c, got), 2);
        assert_eq!(c.claims[2], None, "the slab filled again");
        c.check_invariants();

        // A is partial again, last claimed by home 2. Home 0 fills N and
        // frees one object of it: N is partial too, unclaimed, home 0's,
        // behind A on the partial list. Home 0 passes over A for it.
        // SAFETY: from this cache, freed once.
        unsafe { c.free(got) }.unwrap();
        let mut more: Vec<_> = (1..per_slab)
            .map(|_| c.alloc_for(0, true, busy(&[0])).unwrap().0)
            .collect();
        assert!(more.iter().all(|&p| slab_of(p) == slab_of(next)));
        assert_eq!(c.claims[0], None);
        let back = more.pop().unwrap();
        // SAFETY: from this cache, freed once.
        unsafe { c.free(back) }.unwrap();
        assert_eq!(c.alloc_for(0, false, busy(&[0, 2])).unwrap().0, back);
        c.check_invariants();

        // The budget (four slabs) is spent, and home 2 is busy: home 4
        // grows, fails, and takes home 2's slab A rather than nothing.
        let last = c.alloc_for(4, true, busy(&[0, 2, 3, 4])).unwrap().0;
        assert_eq!(slab_of(last), slab_of(a[0]));
        assert_eq!(home_of(c, last), 4);
        c.check_invariants();
    }

    /// The reciprocal division agrees with `/` and `%` for every offset a
    /// slab of up to 1 MiB has, over strides of every kind, and for offsets
    /// near 2^32.
    #[test]
    fn divide_matches_hardware_division() {
        for stride in [1usize, 3, 5, 7, 24, 48, 64, 100, 1000, 4095, 65_537] {
            let div = Divisor::new(stride);
            let step = if cfg!(miri) { 997 } else { 1 };
            let near_top = (1usize << 32) - 70_000..(1usize << 32);
            for rel in (0..1usize << 20)
                .step_by(step)
                .chain(near_top.step_by(step))
            {
                let got = div.divide(rel, stride);
                assert_eq!(got, (rel / stride, rel % stride), "{rel} / {stride}");
            }
        }
    }
}
