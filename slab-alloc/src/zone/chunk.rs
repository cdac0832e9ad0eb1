//! Where the zone's memory comes from, and how an address is traced back to
//! its block without trusting it.
//!
//! - **Chunks.** Small-object slabs live in 4 MiB chunks mapped from
//!   mmap-alloc at 4 MiB alignment. A chunk is 64 slots of 64 KiB; slot 0
//!   holds the [`ChunkHeader`], the others slabs of one or four slots. The
//!   header records, per slot, whether it holds a slab, of which class, and
//!   where the slab starts.
//! - **Large blocks** (above the largest class, or aligned above a page)
//!   are mappings of their own, also 4 MiB aligned, whose first page is a
//!   header of the same type; the block starts one page (or one alignment)
//!   in.
//! - **The chunk map** is one bit per 4 MiB of the 47-bit address space
//!   (4 MiB of zeroed static memory, touched only where chunks are), set
//!   while a zone holds the chunk. A free reads the bit before it reads
//!   anything at the address, so an address that is not ours is reported
//!   without being touched (mimalloc's segment map does the same; Leijen et
//!   al., *Mimalloc*, 2019).
//! - **Returning memory.** A slab the slab layer gives back is decommitted
//!   at once (its pages go back to the kernel; the address range stays with
//!   the chunk). Freed large blocks wait in a small cache; one idle longer
//!   than [`LARGE_DECAY`] is decommitted at the next large operation, and the
//!   cache holds at most [`LARGE_CACHE_BLOCKS`] blocks and
//!   [`LARGE_CACHE_BYTES`] bytes (beyond that the oldest is unmapped).

use core::alloc::Layout;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mmap_alloc::MapAlloc;
use object_alloc::{AllocError, UntypedObjectAlloc};

/// A slot: the unit of slab space, and the size of the smallest slab.
pub(crate) const SLOT: usize = 1 << 16;
/// A chunk: what is mapped at once for slabs, and the alignment of every
/// mapping the zone makes.
pub(crate) const CHUNK: usize = 1 << 22;
const SLOTS: usize = CHUNK / SLOT;
/// The page the large-block header occupies.
pub(crate) const PAGE: usize = 4096;

/// User-space addresses the chunk map covers: 2^47 bytes, what x86-64 and
/// AArch64 Linux hand out without an explicit hint.
const ADDRESS_BITS: u32 = 47;
const MAP_WORDS: usize = 1 << (ADDRESS_BITS - CHUNK.trailing_zeros() - 6);

/// One bit per chunk-sized region of the address space: set while some zone
/// holds a mapping that starts there.
static CHUNK_MAP: [AtomicU64; MAP_WORDS] = [const { AtomicU64::new(0) }; MAP_WORDS];

/// Whether `addr` lies in a chunk-sized region where some zone's mapping
/// starts.
#[inline]
pub(crate) fn is_mapped(addr: usize) -> bool {
    if addr >> ADDRESS_BITS != 0 {
        return false;
    }
    let chunk = addr >> CHUNK.trailing_zeros();
    // SAFETY: `addr < 2^ADDRESS_BITS`, so `chunk >> 6 < MAP_WORDS`.
    let word = unsafe { CHUNK_MAP.get_unchecked(chunk >> 6) };
    word.load(Ordering::Acquire) & (1 << (chunk & 63)) != 0
}

fn set_mapped(chunk: usize, on: bool) {
    let idx = chunk >> CHUNK.trailing_zeros();
    let bit = 1u64 << (idx & 63);
    // Every mapping the zone makes is below 2^47 on the targets it runs on;
    // one above would simply never be found (a free reports it as foreign).
    if let Some(word) = CHUNK_MAP.get(idx >> 6) {
        if on {
            word.fetch_or(bit, Ordering::Release);
        } else {
            word.fetch_and(!bit, Ordering::Release);
        }
    }
}

/// A chunk of slabs.
pub(crate) const KIND_SLABS: u32 = 1;
/// A large block's mapping.
pub(crate) const KIND_LARGE: u32 = 2;

/// A large block handed out.
pub(crate) const LARGE_LIVE: u32 = 1;
/// A large block in the cache of freed ones.
pub(crate) const LARGE_CACHED: u32 = 2;

/// Slot information: bit 31 set when the slot belongs to a slab; bits
/// 16..31 the offset of the slab's first slot from the chunk (a multiple of
/// [`SLOT`], so `info & SLOT_OFFSET` is that offset, with no shift or
/// multiply); bits 0..8 its class.
const SLOT_USED: u32 = 1 << 31;
const SLOT_OFFSET: u32 = !(SLOT as u32 - 1) & !SLOT_USED;
const _: () = assert!(SLOT >= 1 << 8 && CHUNK <= 1 << 31);

/// The slot information of a slot no slab holds: not used, and class 255,
/// which no shape has, so that [`find_slab`] (which skips the used bit)
/// hands back a class that fails every fast check.
const SLOT_FREE: u32 = 0xff;

/// The slot information of a slab at `offset` from its chunk, of `class`.
const fn slot_info(offset: usize, class: usize) -> u32 {
    SLOT_USED | offset as u32 | class as u32
}

/// The first page of every mapping the zone makes.
#[repr(C)]
pub(crate) struct ChunkHeader {
    // Read by every free: the owner, the kind, and (in chunks of slabs)
    // the slot information, read without a lock; first, so that the
    // owner and the first slots share a cache line.
    /// `zone | kind`: what a free's fast path compares, in one word.
    tag: usize,
    /// The owning zone's state, as an address: which zone a block is of.
    pub(crate) zone: usize,
    /// [`KIND_SLABS`] or [`KIND_LARGE`].
    pub(crate) kind: u32,
    // Large blocks (under the large-block lock).
    pub(crate) state: u32,
    slots: [AtomicU32; SLOTS],
    /// Bytes mapped, header page included.
    pub(crate) map_size: usize,
    /// Offset of the block from the mapping's start.
    pub(crate) offset: usize,
    /// When the block entered the cache of freed blocks.
    freed_at: Option<Instant>,
    /// Whether its pages were given back while cached.
    decommitted: bool,
    /// Neighbours in the zone's list of all large mappings (newest first),
    /// and in the cache of freed ones.
    prev: *mut ChunkHeader,
    next: *mut ChunkHeader,
    cache_prev: *mut ChunkHeader,
    cache_next: *mut ChunkHeader,
    // Chunks of slabs, under the chunk lock.
    /// Bit `i` set when slot `i` is free.
    free: u64,
    next_chunk: *mut ChunkHeader,
}

const _: () = assert!(size_of::<ChunkHeader>() <= PAGE);

impl ChunkHeader {
    /// The base of the slab that holds `addr`, from the chunk's slot
    /// information.
    ///
    /// # Safety
    ///
    /// `chunk` is a mapped chunk of slabs and `addr` lies in one of its live
    /// slabs.
    #[inline]
    pub(crate) unsafe fn slab_base(chunk: *const ChunkHeader, addr: usize) -> usize {
        let slot = (addr - chunk as usize) / SLOT;
        // SAFETY: the caller's chunk; the slot array is atomic.
        let info = unsafe { (*chunk).slots[slot].load(Ordering::Acquire) };
        chunk as usize + (info & SLOT_OFFSET) as usize
    }
}

/// Where a small object's slab is, as the chunk header records it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SlabSlot {
    /// The slab's base.
    pub(crate) base: usize,
    /// The address's offset from `base` (wrapped if the address is below
    /// it: a slot's slab may start in an earlier slot, never a later one,
    /// so it is never below for a slot that holds a slab).
    pub(crate) offset: usize,
    /// The class (or [`super::MAGAZINE_CLASS`]).
    pub(crate) class: usize,
}

/// What an address is, as far as the chunk map and headers say.
pub(crate) enum Found {
    /// In a slot holding a slab.
    Slab(SlabSlot),
    /// In a large block's mapping.
    Large(NonNull<ChunkHeader>),
    /// In a chunk of this zone, but in its header or a free slot.
    NotInSlab,
    /// In a mapping of another zone.
    OtherZone,
    /// Not in any mapping of any zone.
    NotManaged,
}

/// Traces `addr` to what holds it. Reads nothing at `addr` itself: only
/// the chunk map and, when its bit is set, the header of that chunk.
#[inline]
pub(crate) fn find(zone: usize, addr: usize) -> Found {
    if !is_mapped(addr) {
        return Found::NotManaged;
    }
    let chunk = addr & !(CHUNK - 1);
    let header = chunk as *const ChunkHeader;
    // SAFETY: the chunk map bit is set only while a zone holds a mapping
    // starting at `chunk`, whose first page is an initialised header.
    // `zone` and `kind` never change while it is mapped.
    let (owner, kind) = unsafe { ((*header).zone, (*header).kind) };
    if owner != zone {
        return Found::OtherZone;
    }
    if kind == KIND_LARGE {
        // SAFETY: as above; a large mapping's header is a `ChunkHeader`.
        return Found::Large(unsafe { NonNull::new_unchecked(header.cast_mut()) });
    }
    let slot = (addr - chunk) / SLOT;
    // SAFETY: as above; the slot array is atomic.
    let info = unsafe { (*header).slots[slot].load(Ordering::Acquire) };
    if info & SLOT_USED == 0 {
        return Found::NotInSlab;
    }
    let slab = (info & SLOT_OFFSET) as usize;
    Found::Slab(SlabSlot {
        base: chunk + slab,
        offset: (addr - chunk).wrapping_sub(slab),
        class: (info & 0xff) as usize,
    })
}

/// The slab that `addr` lies in, if it lies in a chunk of slabs of
/// `zone` (whose address is aligned to 4, so that its low bits can carry
/// the kind): the fast path of [`find`], with one comparison for the owner
/// and the kind and none for the used bit. A slot no slab holds gives class
/// 255, which no class has, so the caller's class check fails it.
#[inline]
pub(crate) fn find_slab(zone: usize, addr: usize) -> Option<SlabSlot> {
    if !is_mapped(addr) {
        return None;
    }
    let within = addr & (CHUNK - 1);
    let chunk = addr - within;
    let header = chunk as *const ChunkHeader;
    // SAFETY: as in `find`.
    if unsafe { (*header).tag } != zone | KIND_SLABS as usize {
        return None;
    }
    // SAFETY: as in `find`; `within / SLOT < SLOTS`.
    let info = unsafe {
        (*header)
            .slots
            .get_unchecked(within / SLOT)
            .load(Ordering::Acquire)
    };
    let slab = (info & SLOT_OFFSET) as usize;
    Some(SlabSlot {
        base: chunk + slab,
        offset: within.wrapping_sub(slab),
        class: (info & 0xff) as usize,
    })
}

/// The zone's chunks of slabs. Used under the zone's chunk lock.
pub(crate) struct Chunks {
    zone: usize,
    map: MapAlloc,
    head: *mut ChunkHeader,
    /// Chunks mapped, for statistics.
    pub(crate) count: usize,
}

// SAFETY: the chunk list is this zone's own memory, used only under the
// chunk lock.
unsafe impl Send for Chunks {}

impl Chunks {
    pub(crate) const fn new(zone: usize) -> Self {
        Chunks {
            zone,
            map: MapAlloc::new(),
            head: ptr::null_mut(),
            count: 0,
        }
    }

    /// `slots` (1 or 4) free slots, aligned to their total size, for a slab
    /// of `class`; maps a new chunk when every chunk is full.
    fn take(&mut self, slots: usize, class: usize) -> Option<NonNull<u8>> {
        let group = (1u64 << slots) - 1;
        let mut chunk = self.head;
        loop {
            if chunk.is_null() {
                chunk = self.map_chunk()?;
            }
            // SAFETY: `chunk` is a header of this zone's list, used under
            // the chunk lock.
            let h = unsafe { &mut *chunk };
            let mut at = slots;
            while at < SLOTS {
                if (h.free >> at) & group == group {
                    h.free &= !(group << at);
                    for s in at..at + slots {
                        let info = slot_info(at * SLOT, class);
                        h.slots[s].store(info, Ordering::Release);
                    }
                    let base = chunk as usize + at * SLOT;
                    // SAFETY: inside the chunk's mapping, so not null.
                    return Some(unsafe { NonNull::new_unchecked(base as *mut u8) });
                }
                at += slots;
            }
            chunk = h.next_chunk;
        }
    }

    /// Gives back the `slots` slots of a slab at `base`: decommits them and
    /// marks them free.
    ///
    /// # Safety
    ///
    /// `base` came from [`Chunks::take`] with `slots`, and nothing uses it.
    unsafe fn give(&mut self, base: NonNull<u8>, slots: usize) {
        let chunk = base.as_ptr() as usize & !(CHUNK - 1);
        // SAFETY: the caller's slab lies in this zone's chunk at `chunk`.
        let h = unsafe { &mut *(chunk as *mut ChunkHeader) };
        let at = (base.as_ptr() as usize - chunk) / SLOT;
        for s in at..at + slots {
            h.slots[s].store(SLOT_FREE, Ordering::Release);
        }
        h.free |= ((1u64 << slots) - 1) << at;
        // SAFETY: the slab's range is inside our mapping and unused. A
        // failed madvise leaves the pages committed, which costs memory,
        // not correctness.
        let _ = unsafe { self.map.decommit(base, slots * SLOT) };
    }

    fn map_chunk(&mut self) -> Option<*mut ChunkHeader> {
        let mem = self.map.map(CHUNK, CHUNK).ok()?;
        let h = mem.as_ptr().cast::<ChunkHeader>();
        // SAFETY: a fresh mapping of a chunk, page-aligned, big enough for
        // the header (asserted above).
        unsafe {
            h.write(ChunkHeader {
                tag: self.zone | KIND_SLABS as usize,
                zone: self.zone,
                kind: KIND_SLABS,
                state: 0,
                map_size: CHUNK,
                offset: 0,
                freed_at: None,
                decommitted: false,
                prev: ptr::null_mut(),
                next: ptr::null_mut(),
                cache_prev: ptr::null_mut(),
                cache_next: ptr::null_mut(),
                slots: [const { AtomicU32::new(SLOT_FREE) }; SLOTS],
                free: !1,
                next_chunk: self.head,
            });
        }
        self.head = h;
        self.count += 1;
        set_mapped(h as usize, true);
        Some(h)
    }

    /// Unmaps every chunk.
    ///
    /// # Safety
    ///
    /// Nothing in any chunk is used again.
    pub(crate) unsafe fn release_all(&mut self) {
        while !self.head.is_null() {
            let h = self.head;
            // SAFETY: a header of our list.
            self.head = unsafe { (*h).next_chunk };
            set_mapped(h as usize, false);
            // SAFETY: the caller promises nothing uses the chunk; it was
            // mapped with this size by `map_chunk`.
            let _ = unsafe { self.map.unmap(NonNull::new_unchecked(h.cast()), CHUNK) };
        }
        self.count = 0;
    }
}

/// The backing of one class's slab cache: slabs of one or four slots from
/// the zone's chunks, tagged with the class.
pub(crate) struct ClassPages {
    pub(crate) chunks: *const super::lock::ZoneLocked<Chunks>,
    pub(crate) class: usize,
    pub(crate) slots: usize,
}

// SAFETY: the chunks it points to are behind their lock and outlive every
// class cache of the zone (they are dropped after them).
unsafe impl Send for ClassPages {}

// SAFETY: each `alloc` hands out distinct free slots of the layout's size
// and alignment (aligned groups in 4 MiB-aligned chunks); `dealloc` takes
// back exactly such a slab.
unsafe impl UntypedObjectAlloc for ClassPages {
    fn layout(&self) -> Layout {
        let size = self.slots * SLOT;
        // A power of two, so valid.
        Layout::from_size_align(size, size).unwrap_or(Layout::new::<u8>())
    }

    fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
        // SAFETY: the zone's chunks outlive its class caches.
        let chunks = unsafe { &*self.chunks };
        chunks
            .with(|c| c.take(self.slots, self.class))
            .ok_or(AllocError)
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>) {
        // SAFETY: as in `alloc`.
        let chunks = unsafe { &*self.chunks };
        // SAFETY: the slab layer gives back a slab it took from us, once.
        chunks.with(|c| unsafe { c.give(ptr, self.slots) });
    }
}

/// How long a freed large block keeps its pages.
pub const LARGE_DECAY: Duration = Duration::from_millis(500);
/// At most this many freed large blocks are kept.
pub const LARGE_CACHE_BLOCKS: usize = 16;
/// At most this many bytes of freed large blocks are kept.
pub const LARGE_CACHE_BYTES: usize = 64 << 20;

/// The zone's large blocks: live and cached ones. Used under its lock.
pub(crate) struct Large {
    zone: usize,
    map: MapAlloc,
    /// All mappings, newest first.
    all: *mut ChunkHeader,
    /// The cache of freed blocks, most recent first.
    cache_head: *mut ChunkHeader,
    cache_tail: *mut ChunkHeader,
    pub(crate) cached: usize,
    pub(crate) cached_bytes: usize,
    pub(crate) allocs: u64,
    pub(crate) frees: u64,
    pub(crate) live: usize,
    pub(crate) live_bytes: usize,
    pub(crate) mapped_bytes: usize,
}

// SAFETY: the mappings are this zone's own memory, used under its lock.
unsafe impl Send for Large {}

/// A rejected large-block free.
pub(crate) enum LargeFreeError {
    /// The block is not handed out.
    DoubleFree,
    /// The address is inside the block that starts at the given address.
    Interior(usize),
    /// The address is in the header page or past the mapping.
    NotABlock,
}

impl Large {
    pub(crate) const fn new(zone: usize) -> Self {
        Large {
            zone,
            map: MapAlloc::new(),
            all: ptr::null_mut(),
            cache_head: ptr::null_mut(),
            cache_tail: ptr::null_mut(),
            cached: 0,
            cached_bytes: 0,
            allocs: 0,
            frees: 0,
            live: 0,
            live_bytes: 0,
            mapped_bytes: 0,
        }
    }

    /// Where a block aligned to `align` starts in its mapping, and the
    /// mapping size it needs for `size` bytes; `None` on overflow.
    fn geometry(size: usize, align: usize) -> Option<(usize, usize)> {
        let offset = align.max(PAGE);
        // A zero-size block still gets a page of its own: a unique address.
        let need = offset.checked_add(size.max(1))?.checked_add(PAGE - 1)? & !(PAGE - 1);
        (need <= isize::MAX as usize).then_some((offset, need))
    }

    /// A block of at least `size` bytes aligned to `align`: a cached one
    /// that fits without wasting more than its own size, or a new mapping.
    /// Also says whether the block is known to read as zeros (a new or a
    /// decommitted mapping).
    pub(crate) fn alloc(&mut self, size: usize, align: usize) -> Option<(NonNull<u8>, bool)> {
        let (offset, need) = Self::geometry(size, align)?;
        self.decay(Instant::now());
        let mut h = self.cache_head;
        while !h.is_null() {
            // SAFETY: a header on our cache list.
            let hd = unsafe { &mut *h };
            if hd.map_size >= need && hd.map_size - need <= need && (h as usize) % align == 0 {
                self.uncache(h);
                hd.state = LARGE_LIVE;
                hd.offset = offset;
                self.allocs += 1;
                self.live += 1;
                self.live_bytes += hd.map_size;
                // SAFETY: `offset < need <= map_size`: inside the mapping.
                let p = unsafe { NonNull::new_unchecked(h.cast::<u8>().add(offset)) };
                return Some((p, hd.decommitted));
            }
            h = hd.cache_next;
        }
        let mem = self.map.map(need, align.max(CHUNK)).ok()?;
        let h = mem.as_ptr().cast::<ChunkHeader>();
        // SAFETY: a fresh mapping of at least two pages; the header fits in
        // the first.
        unsafe {
            h.write(ChunkHeader {
                tag: self.zone | KIND_LARGE as usize,
                zone: self.zone,
                kind: KIND_LARGE,
                state: LARGE_LIVE,
                map_size: need,
                offset,
                freed_at: None,
                decommitted: false,
                prev: ptr::null_mut(),
                next: self.all,
                cache_prev: ptr::null_mut(),
                cache_next: ptr::null_mut(),
                slots: [const { AtomicU32::new(SLOT_FREE) }; SLOTS],
                free: 0,
                next_chunk: ptr::null_mut(),
            });
            if !self.all.is_null() {
                (*self.all).prev = h;
            }
        }
        self.all = h;
        self.allocs += 1;
        self.live += 1;
        self.live_bytes += need;
        self.mapped_bytes += need;
        set_mapped(h as usize, true);
        // SAFETY: inside the mapping.
        Some((
            unsafe { NonNull::new_unchecked(h.cast::<u8>().add(offset)) },
            true,
        ))
    }

    /// Checks a free of `addr` in the mapping of `h`.
    ///
    /// # Safety
    ///
    /// `h` is the header of one of this zone's large mappings.
    pub(crate) unsafe fn check(
        h: NonNull<ChunkHeader>,
        addr: usize,
    ) -> Result<usize, LargeFreeError> {
        // SAFETY: the caller's header, read under the large-block lock.
        let hd = unsafe { &*h.as_ptr() };
        let block = h.as_ptr() as usize + hd.offset;
        if addr < h.as_ptr() as usize + PAGE || addr >= h.as_ptr() as usize + hd.map_size {
            return Err(LargeFreeError::NotABlock);
        }
        if hd.state != LARGE_LIVE {
            return Err(LargeFreeError::DoubleFree);
        }
        if addr != block {
            return Err(LargeFreeError::Interior(block));
        }
        Ok(hd.map_size - hd.offset)
    }

    /// Frees the block of `h` (already checked) into the cache, and trims
    /// the cache.
    ///
    /// # Safety
    ///
    /// `h` is the header of a live large block of this zone, freed once.
    pub(crate) unsafe fn free(&mut self, h: NonNull<ChunkHeader>) {
        let h = h.as_ptr();
        let now = Instant::now();
        // SAFETY: the caller's header.
        let hd = unsafe { &mut *h };
        hd.state = LARGE_CACHED;
        hd.freed_at = Some(now);
        hd.decommitted = false;
        self.frees += 1;
        self.live -= 1;
        self.live_bytes -= hd.map_size;
        hd.cache_prev = ptr::null_mut();
        hd.cache_next = self.cache_head;
        if self.cache_head.is_null() {
            self.cache_tail = h;
        } else {
            // SAFETY: a header on our cache list.
            unsafe { (*self.cache_head).cache_prev = h };
        }
        self.cache_head = h;
        self.cached += 1;
        self.cached_bytes += hd.map_size;
        while self.cached > LARGE_CACHE_BLOCKS || self.cached_bytes > LARGE_CACHE_BYTES {
            let oldest = self.cache_tail;
            self.uncache(oldest);
            self.unmap(oldest);
        }
        self.decay(now);
    }

    /// Decommits cached blocks idle for longer than [`LARGE_DECAY`].
    fn decay(&mut self, now: Instant) {
        let mut h = self.cache_tail;
        while !h.is_null() {
            // SAFETY: a header on our cache list.
            let hd = unsafe { &mut *h };
            let idle = hd
                .freed_at
                .is_some_and(|t| now.duration_since(t) >= LARGE_DECAY);
            if !idle {
                break;
            }
            self.decommit(h);
            h = hd.cache_prev;
        }
    }

    /// Decommits every cached block now.
    pub(crate) fn trim(&mut self) {
        let mut h = self.cache_head;
        while !h.is_null() {
            self.decommit(h);
            // SAFETY: a header on our cache list.
            h = unsafe { (*h).cache_next };
        }
    }

    fn decommit(&mut self, h: *mut ChunkHeader) {
        // SAFETY: a header on our cache list.
        let hd = unsafe { &mut *h };
        if !hd.decommitted && hd.map_size > PAGE {
            // SAFETY: the pages after the header belong to a cached block
            // nobody uses. A failed madvise only keeps memory committed.
            let _ = unsafe {
                self.map.decommit(
                    NonNull::new_unchecked(h.cast::<u8>().add(PAGE)),
                    hd.map_size - PAGE,
                )
            };
            hd.decommitted = true;
        }
    }

    fn uncache(&mut self, h: *mut ChunkHeader) {
        // SAFETY: a header on our cache list, and its neighbours.
        unsafe {
            let hd = &mut *h;
            if hd.cache_prev.is_null() {
                self.cache_head = hd.cache_next;
            } else {
                (*hd.cache_prev).cache_next = hd.cache_next;
            }
            if hd.cache_next.is_null() {
                self.cache_tail = hd.cache_prev;
            } else {
                (*hd.cache_next).cache_prev = hd.cache_prev;
            }
            hd.cache_prev = ptr::null_mut();
            hd.cache_next = ptr::null_mut();
            self.cached -= 1;
            self.cached_bytes -= hd.map_size;
        }
    }

    /// Unmaps a mapping that is on no cache list.
    fn unmap(&mut self, h: *mut ChunkHeader) {
        // SAFETY: a header on the list of all mappings, and its neighbours.
        let size = unsafe {
            let hd = &mut *h;
            if hd.prev.is_null() {
                self.all = hd.next;
            } else {
                (*hd.prev).next = hd.next;
            }
            if !hd.next.is_null() {
                (*hd.next).prev = hd.prev;
            }
            hd.map_size
        };
        self.mapped_bytes -= size;
        set_mapped(h as usize, false);
        // SAFETY: the mapping is ours, of `size` bytes, and unused.
        let _ = unsafe { self.map.unmap(NonNull::new_unchecked(h.cast()), size) };
    }

    /// Unmaps every mapping, live or cached.
    ///
    /// # Safety
    ///
    /// No block is used again.
    pub(crate) unsafe fn release_all(&mut self) {
        while !self.all.is_null() {
            let h = self.all;
            // SAFETY: a header on our list.
            if unsafe { (*h).state } == LARGE_CACHED {
                self.uncache(h);
            }
            self.unmap(h);
        }
        self.live = 0;
        self.live_bytes = 0;
    }
}
