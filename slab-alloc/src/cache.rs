//! The slab layer's core, shared by the typed and untyped caches: slabs,
//! their headers, free stacks and bitmaps, the partial/full/empty lists,
//! colouring, the checks on free and the counters.
//!
//! Fast paths first: [`Cache::alloc`] and [`Cache::free`]; everything below
//! them is cold.

use core::alloc::Layout;
use core::mem::size_of;
use core::ptr::NonNull;

use object_alloc::{AllocError, UntypedObjectAlloc};

use crate::error::{ErrorHook, FreeError, FreeErrorKind};
use crate::stats::Stats;

const WORD_BITS: usize = usize::BITS as usize;

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
        // SAFETY: `slab` is a live slab of this cache (list invariant) whose
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
        let full = h.live == self.capacity;
        self.allocated += 1;
        // SAFETY: `idx < capacity`, so its bit is in the slab's bitmap.
        unsafe { self.set_bit(slab, idx, true) };
        if full {
            self.slab_filled(slab);
        }
        // SAFETY: object `idx` lies inside the slab: `first + capacity *
        // stride <= slab_size` (checked by `Geometry::new`, colour included).
        let obj = unsafe { slab.cast::<u8>().add(first + idx as usize * self.stride) };
        Ok((obj, fresh))
    }

    /// Takes back an object after the checks: finds the slab by masking,
    /// validates it, the object start and the allocated bit, then pushes the
    /// index on the free stack.
    ///
    /// Cost: a hash-set probe (with `alloc`), one division, a bitmap word
    /// and the stack push; a slab that stops being full or becomes empty goes
    /// through [`Cache::free_slow`].
    ///
    /// # Safety
    ///
    /// As [`UntypedSlabAlloc::try_dealloc`](crate::UntypedSlabAlloc::try_dealloc).
    #[inline]
    pub(crate) unsafe fn free(&mut self, ptr: NonNull<u8>) -> Result<(), FreeError> {
        let addr = ptr.addr().get();
        let base = addr & self.mask;
        // SAFETY: forwarded from the caller.
        let slab = unsafe { self.find(ptr, base) }?;
        // SAFETY: `find` returned a live slab of this cache; `&mut self`
        // makes this the only reference to its header.
        let h = unsafe { &mut *slab.as_ptr() };
        if h.tag != base ^ self.secret {
            return Err(self.error(addr, FreeErrorKind::CorruptHeader));
        }
        let rel = (addr - base).wrapping_sub(h.first as usize);
        let idx = rel / self.stride;
        if idx >= self.capacity as usize {
            return Err(self.error(addr, FreeErrorKind::NotAnObject));
        }
        if rel % self.stride != 0 {
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
            self.free_slow(slab);
        }
        Ok(())
    }
}

/// The header at the start of every slab. The free stack (`u32` indices)
/// and the allocated bitmap follow it; objects start at `first`.
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
    // Read by the checks and the slow paths.
    cache_id: usize,
    name: &'static str,
    prev: Option<NonNull<Header>>,
    next: Option<NonNull<Header>>,
    list: ListKind,
}

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

/// Where things lie in a slab, computed once per cache.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub(crate) object: Layout,
    pub(crate) slab_size: usize,
    pub(crate) stride: usize,
    pub(crate) capacity: u32,
    stack_off: usize,
    bitmap_off: usize,
    /// Offset of object 0 with colour 0.
    first: usize,
    /// Number of distinct colours, and the step between two.
    colours: usize,
    colour_step: usize,
}

/// The cache line size colouring steps by.
const CACHE_LINE: usize = 64;

impl Geometry {
    /// Lays out a slab of `slab_size` bytes for objects of `object`.
    /// Returns how many objects fit when fewer than two do.
    pub(crate) fn new(object: Layout, slab_size: usize) -> Result<Geometry, usize> {
        let stride = object.pad_to_align().size();
        let align = object.align();
        let stack_off = size_of::<Header>();
        let mut cap = slab_size.saturating_sub(stack_off) / stride;
        loop {
            let bitmap_off = (stack_off + cap * 4).next_multiple_of(size_of::<usize>());
            let meta_end = bitmap_off + cap.div_ceil(WORD_BITS) * size_of::<usize>();
            let first = meta_end.next_multiple_of(align);
            if first + cap * stride <= slab_size || cap == 0 {
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
                });
            }
            cap -= 1;
        }
    }
}

/// The untyped core of a cache.
pub(crate) struct Cache<B: UntypedObjectAlloc> {
    // Read by the fast paths.
    partial: List,
    mask: usize,
    secret: usize,
    stride: usize,
    capacity: u32,
    stack_off: usize,
    bitmap_off: usize,
    allocated: u64,
    freed: u64,
    #[cfg(feature = "alloc")]
    slabs: crate::registry::AddrMap<NonNull<Header>>,
    // The slow paths.
    full: List,
    empty: List,
    geometry: Geometry,
    next_colour: usize,
    pub(crate) name: &'static str,
    id: usize,
    pub(crate) hook: ErrorHook,
    max_empty: usize,
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
        hook: ErrorHook,
        max_empty: usize,
        drop_obj: Option<unsafe fn(NonNull<u8>)>,
    ) -> Self {
        let id = next_cache_id();
        Cache {
            partial: List::new(),
            mask: !(geometry.slab_size - 1),
            secret: secret_of(id),
            stride: geometry.stride,
            capacity: geometry.capacity,
            stack_off: geometry.stack_off,
            bitmap_off: geometry.bitmap_off,
            allocated: 0,
            freed: 0,
            #[cfg(feature = "alloc")]
            slabs: crate::registry::AddrMap::new(),
            full: List::new(),
            empty: List::new(),
            geometry,
            next_colour: 0,
            name,
            id,
            hook,
            max_empty,
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
            empty_slabs: self.empty.len,
            bytes_held: slabs * self.geometry.slab_size,
            constructions: self.constructions,
        }
    }

    /// The slab's free stack.
    #[inline]
    fn stack(&self, slab: NonNull<Header>) -> NonNull<u32> {
        // SAFETY: `stack_off` is inside the slab (`Geometry::new`).
        unsafe { slab.cast::<u8>().add(self.stack_off).cast() }
    }

    /// Reads the allocated bit of object `idx`.
    ///
    /// # Safety
    /// `slab` is a live slab of this cache and `idx < capacity`.
    #[inline]
    unsafe fn bit(&self, slab: NonNull<Header>, idx: u32) -> bool {
        let idx = idx as usize;
        // SAFETY: the bitmap holds `capacity` bits inside the slab, and the
        // caller keeps `idx` below it.
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

    /// The slab of this cache at `base`, or the error for an address that
    /// is in none.
    ///
    /// # Safety
    /// As [`UntypedSlabAlloc::try_dealloc`](crate::UntypedSlabAlloc::try_dealloc).
    #[inline]
    unsafe fn find(&self, ptr: NonNull<u8>, base: usize) -> Result<NonNull<Header>, FreeError> {
        #[cfg(feature = "alloc")]
        {
            let _ = ptr;
            match self.slabs.get(base) {
                Some(slab) => Ok(slab),
                None => Err(self.foreign(base, ptr.addr().get())),
            }
        }
        #[cfg(not(feature = "alloc"))]
        {
            // Without a set of our slabs, the header is read through the
            // freed pointer; the caller guarantees it is readable.
            let Some(slab) = NonNull::new(ptr.as_ptr().with_addr(base)) else {
                return Err(self.error(ptr.addr().get(), FreeErrorKind::NotManaged));
            };
            let slab = slab.cast::<Header>();
            // SAFETY: the caller guarantees the header-sized start of the
            // slab-aligned region is readable; `Header` has no invalid bit
            // patterns in the fields read here.
            let (tag, id) = unsafe { ((*slab.as_ptr()).tag, (*slab.as_ptr()).cache_id) };
            if id == self.id && tag == base ^ self.secret {
                Ok(slab)
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

    /// Names the cache a foreign address belongs to, if any, from the
    /// process-wide registry: every slab size in use is tried.
    #[cfg(feature = "alloc")]
    #[cold]
    #[inline(never)]
    fn foreign(&self, _base: usize, addr: usize) -> FreeError {
        let owner = crate::registry::with_registry(|r| {
            let mut sizes = r.slab_sizes();
            while sizes != 0 {
                let shift = sizes.trailing_zeros();
                sizes &= sizes - 1;
                if let Some(owner) = r.map.get(addr & !((1usize << shift) - 1)) {
                    return Some(owner);
                }
            }
            None
        });
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

    /// Takes a slab from the backing and writes its header.
    fn new_slab(&mut self) -> Result<NonNull<Header>, AllocError> {
        let block = self.backing.alloc()?;
        let base = block.addr().get();
        assert!(
            base & !self.mask == 0,
            "slab-alloc: cache `{}`: the backing returned {base:#x}, not aligned to the slab size {}",
            self.name,
            self.geometry.slab_size
        );
        let g = self.geometry;
        let first = g.first + self.next_colour * g.colour_step;
        self.next_colour = (self.next_colour + 1) % g.colours;
        let slab = block.cast::<Header>();
        // SAFETY: the block is a fresh slab of `slab_size` bytes aligned to
        // it, so it holds an aligned header and the bitmap words after it.
        unsafe {
            slab.write(Header {
                free_len: 0,
                fresh: 0,
                live: 0,
                first: first as u32,
                tag: base ^ self.secret,
                cache_id: self.id,
                name: self.name,
                prev: None,
                next: None,
                list: ListKind::Empty,
            });
            block.add(g.bitmap_off).write_bytes(
                0,
                (g.capacity as usize).div_ceil(WORD_BITS) * size_of::<usize>(),
            );
        }
        self.register(base, slab);
        Ok(slab)
    }

    #[cfg(feature = "alloc")]
    fn register(&mut self, base: usize, slab: NonNull<Header>) {
        self.slabs.insert(base, slab);
        let owner = crate::registry::Owner {
            id: self.id,
            name: self.name,
        };
        let size = self.geometry.slab_size;
        crate::registry::with_registry(|r| r.insert(base, size, owner));
    }

    #[cfg(not(feature = "alloc"))]
    fn register(&mut self, _base: usize, _slab: NonNull<Header>) {}

    #[cfg(feature = "alloc")]
    fn unregister(&mut self, base: usize) {
        self.slabs.remove(base);
        crate::registry::with_registry(|r| r.map.remove(base));
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

    /// A slab stopped being full (to partial) or became empty (to the empty
    /// list, keeping at most `max_empty` empty slabs).
    #[cold]
    #[inline(never)]
    fn free_slow(&mut self, slab: NonNull<Header>) {
        // SAFETY: a live slab of this cache; no other reference to it.
        let live = unsafe { (*slab.as_ptr()).live };
        self.unlink(slab);
        if live == 0 {
            self.push_front(ListKind::Empty, slab);
            while self.empty.len > self.max_empty {
                let oldest = self.empty.tail.expect("a non-empty list has a tail");
                self.unlink(oldest);
                self.release(oldest);
            }
        } else {
            self.push_front(ListKind::Partial, slab);
        }
        #[cfg(debug_assertions)]
        self.check_invariants();
    }

    /// Undoes the allocation of a fresh object whose constructor panicked:
    /// the object goes back to never-used.
    pub(crate) fn unfresh(&mut self, obj: NonNull<u8>) {
        let base = obj.addr().get() & self.mask;
        #[cfg(feature = "alloc")]
        let slab = self
            .slabs
            .get(base)
            .expect("a fresh object is in one of our slabs");
        #[cfg(not(feature = "alloc"))]
        let slab = obj
            .with_addr(core::num::NonZeroUsize::new(base).expect("a slab is not at 0"))
            .cast::<Header>();
        // SAFETY: a live slab of this cache; no other reference to it.
        let h = unsafe { &mut *slab.as_ptr() };
        debug_assert_eq!(
            obj.addr().get(),
            base + h.first as usize + (h.fresh as usize - 1) * self.stride,
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
            self.unlink(slab);
            let kind = if live == 0 {
                ListKind::Empty
            } else {
                ListKind::Partial
            };
            self.push_front(kind, slab);
        }
    }

    /// Returns every empty slab to the backing now; returns how many.
    pub(crate) fn reap(&mut self) -> usize {
        let mut n = 0;
        while let Some(slab) = self.empty.head {
            self.unlink(slab);
            self.release(slab);
            n += 1;
        }
        n
    }

    /// Drops the slab's constructed free objects and returns it to the
    /// backing. The slab is on no list.
    fn release(&mut self, slab: NonNull<Header>) {
        // SAFETY: a live slab of this cache; no other reference to it.
        let (fresh, first) = unsafe { ((*slab.as_ptr()).fresh, (*slab.as_ptr()).first as usize) };
        if let Some(drop_obj) = self.drop_obj {
            for idx in 0..fresh {
                // SAFETY: `idx < fresh <= capacity`.
                if !unsafe { self.bit(slab, idx) } {
                    // SAFETY: object `idx` was handed out (`idx < fresh`) and
                    // is free, so it holds the valid object its last owner
                    // gave back, owned by the cache; it is dropped once,
                    // since the slab goes away now.
                    unsafe { drop_obj(slab.cast::<u8>().add(first + idx as usize * self.stride)) };
                }
            }
        }
        let block = slab.cast::<u8>();
        self.unregister(block.addr().get());
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
        let list = self.list_mut(kind);
        let old = list.head.replace(slab);
        if list.tail.is_none() {
            list.tail = Some(slab);
        }
        list.len += 1;
        // SAFETY: `slab` and `old` are live slabs of this cache; one
        // reference at a time.
        unsafe {
            let h = &mut *slab.as_ptr();
            h.prev = None;
            h.next = old;
            h.list = kind;
            if let Some(old) = old {
                (*old.as_ptr()).prev = Some(slab);
            }
        }
    }

    fn unlink(&mut self, slab: NonNull<Header>) {
        // SAFETY: a live slab of this cache; no other reference to it.
        let (prev, next, kind) = unsafe {
            let h = &*slab.as_ptr();
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
                    ListKind::Partial => assert!(h.live < self.capacity),
                }
                n += 1;
                cur = h.next;
            }
            assert_eq!(n, list.len, "list length");
        }
    }
}

impl<B: UntypedObjectAlloc> Drop for Cache<B> {
    /// Drops every constructed free object and returns every slab. Objects
    /// still allocated are not dropped (their owners hold them) and their
    /// memory goes with the slab.
    fn drop(&mut self) {
        for kind in [ListKind::Partial, ListKind::Full, ListKind::Empty] {
            while let Some(slab) = self.list_mut(kind).head {
                self.unlink(slab);
                self.release(slab);
            }
        }
    }
}
