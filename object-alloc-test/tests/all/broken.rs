//! Deliberately broken allocators, each with one classic bug.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Mutex;

use allocator_api2::alloc::{AllocError as ApiAllocError, Allocator, Global};
use object_alloc::{AllocError, Init, ObjectAlloc, UntypedObjectAlloc};

/// How often a periodic bug strikes: Miri runs the suite on a handful of
/// blocks per layout, so the bugs have to strike within that handful.
const EVERY: usize = if cfg!(miri) { 3 } else { 50 };

fn system_block(layout: Layout) -> NonNull<u8> {
    // SAFETY: the tests use non-zero layouts.
    NonNull::new(unsafe { System.alloc(layout) })
        .expect("the system heap is not exhausted in these tests")
}

/// Hands out the block it handed out last, still live, on every
/// [`EVERY`]th call.
pub(crate) struct HandsOutLiveTwice {
    pub(crate) layout: Layout,
    pub(crate) calls: usize,
    pub(crate) last: Option<NonNull<u8>>,
}

impl HandsOutLiveTwice {
    pub(crate) fn new(layout: Layout) -> Self {
        HandsOutLiveTwice {
            layout,
            calls: 0,
            last: None,
        }
    }
}

// SAFETY: (deliberately broken) a test allocator; it breaks the
// distinctness promise, and nothing but the suite uses it.
unsafe impl UntypedObjectAlloc for HandsOutLiveTwice {
    fn layout(&self) -> Layout {
        self.layout
    }

    fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
        self.calls += 1;
        if let (true, Some(last)) = (self.calls % EVERY == 0, self.last) {
            return Ok(last);
        }
        let block = system_block(self.layout);
        self.last = Some(block);
        Ok(block)
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>) {
        if self.last == Some(ptr) {
            self.last = None;
        }
        // SAFETY: the suite stops at the first duplicate, before freeing
        // anything twice; every other block came from `system_block`.
        unsafe { System.dealloc(ptr.as_ptr(), self.layout) }
    }
}

/// Returns every [`EVERY`]th block half its alignment past an aligned address.
pub(crate) struct Misaligns {
    pub(crate) layout: Layout,
    pub(crate) calls: usize,
}

impl Misaligns {
    fn padded(&self) -> Layout {
        Layout::from_size_align(
            self.layout.size() + self.layout.align(),
            self.layout.align(),
        )
        .unwrap()
    }
}

// SAFETY: (deliberately broken) breaks the alignment promise.
unsafe impl UntypedObjectAlloc for Misaligns {
    fn layout(&self) -> Layout {
        self.layout
    }

    fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
        self.calls += 1;
        let block = system_block(self.padded());
        let skew = if self.calls % EVERY == 0 {
            self.layout.align() / 2
        } else {
            0
        };
        // SAFETY: `skew < align`, inside the padded block.
        Ok(unsafe { block.add(skew) })
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>) {
        let skew = ptr.addr().get() % self.layout.align();
        // SAFETY: undoes the skew added in `alloc`, back to the block's start.
        let start = unsafe { ptr.sub(skew) };
        // SAFETY: the block came from `system_block` with the padded layout.
        unsafe { System.dealloc(start.as_ptr(), self.padded()) }
    }
}

/// Bump-allocates from an arena, and, to save space, advances by half a
/// block: each block overlaps the next.
pub(crate) struct Overlaps {
    pub(crate) layout: Layout,
    arena: NonNull<u8>,
    used: usize,
}

const ARENA: usize = 64 << 20;

fn arena_layout() -> Layout {
    Layout::from_size_align(ARENA, 4096).unwrap()
}

impl Overlaps {
    pub(crate) fn new(layout: Layout) -> Self {
        Overlaps {
            layout,
            arena: system_block(arena_layout()),
            used: 0,
        }
    }
}

impl Drop for Overlaps {
    fn drop(&mut self) {
        // SAFETY: the arena came from `system_block` with this layout.
        unsafe { System.dealloc(self.arena.as_ptr(), arena_layout()) }
    }
}

// SAFETY: (deliberately broken) breaks the no-overlap promise.
unsafe impl UntypedObjectAlloc for Overlaps {
    fn layout(&self) -> Layout {
        self.layout
    }

    fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
        let start = self.used.next_multiple_of(self.layout.align());
        if start + self.layout.size() > ARENA {
            return Err(AllocError);
        }
        self.used = start + (self.layout.size() / 2).max(1);
        // SAFETY: `start + size <= ARENA`, inside the arena.
        Ok(unsafe { self.arena.add(start) })
    }

    unsafe fn dealloc(&mut self, _: NonNull<u8>) {}
}

/// Bump-allocates correctly sized blocks, but writes a byte of metadata
/// into the last byte of the previous block on each allocation, as an
/// allocator with an off-by-one header would.
pub(crate) struct ScribblesOnNeighbour {
    pub(crate) layout: Layout,
    arena: NonNull<u8>,
    used: usize,
}

impl ScribblesOnNeighbour {
    pub(crate) fn new(layout: Layout) -> Self {
        ScribblesOnNeighbour {
            layout,
            arena: system_block(arena_layout()),
            used: 0,
        }
    }
}

impl Drop for ScribblesOnNeighbour {
    fn drop(&mut self) {
        // SAFETY: the arena came from `system_block` with this layout.
        unsafe { System.dealloc(self.arena.as_ptr(), arena_layout()) }
    }
}

// SAFETY: (deliberately broken) corrupts live blocks.
unsafe impl UntypedObjectAlloc for ScribblesOnNeighbour {
    fn layout(&self) -> Layout {
        self.layout
    }

    fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
        let start = self.used.next_multiple_of(self.layout.align());
        if start + self.layout.size() > ARENA {
            return Err(AllocError);
        }
        if start > 0 {
            // SAFETY: the byte before `start` is inside the arena.
            unsafe { self.arena.add(start - 1).write(0) };
        }
        self.used = start + self.layout.size();
        // SAFETY: inside the arena.
        Ok(unsafe { self.arena.add(start) })
    }

    unsafe fn dealloc(&mut self, _: NonNull<u8>) {}
}

/// A typed cache that keeps freed objects, with a bug of each kind the
/// constructed-object contract forbids.
pub(crate) struct BadCache<T, I> {
    init: I,
    free: Vec<NonNull<T>>,
    all: Vec<NonNull<T>>,
    bug: CacheBug,
    _objects: PhantomData<T>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CacheBug {
    /// Drops objects when they are freed and again when the cache drops.
    DropsTwice,
    /// Frees its memory at teardown without dropping the cached objects.
    NeverDrops,
    /// Links freed objects through their first word.
    FreeListInObject,
    /// Hands out fresh (zeroed) memory without running the constructor.
    SkipsConstructor,
}

impl<T, I: Init<T>> BadCache<T, I> {
    pub(crate) fn new(init: I, bug: CacheBug) -> Self {
        BadCache {
            init,
            free: Vec::new(),
            all: Vec::new(),
            bug,
            _objects: PhantomData,
        }
    }
}

// SAFETY: (deliberately broken) each variant breaks the contract its name
// says; nothing but the suite uses it.
unsafe impl<T, I: Init<T>> ObjectAlloc<T> for BadCache<T, I> {
    fn alloc(&mut self) -> Result<NonNull<T>, AllocError> {
        if let Some(obj) = self.free.pop() {
            match self.bug {
                CacheBug::DropsTwice => {
                    // It dropped the object on free, so it constructs again.
                    // SAFETY: the slot holds a dropped object.
                    unsafe { self.init.init(obj) };
                }
                // The free-list link stays in the object's first word.
                CacheBug::FreeListInObject | CacheBug::NeverDrops | CacheBug::SkipsConstructor => {}
            }
            return Ok(obj);
        }
        let layout = Layout::new::<T>();
        // SAFETY: non-zero test objects.
        let obj = NonNull::new(unsafe { System.alloc_zeroed(layout) })
            .ok_or(AllocError)?
            .cast::<T>();
        self.all.push(obj);
        if self.bug != CacheBug::SkipsConstructor {
            // SAFETY: a fresh, aligned block for a `T`.
            unsafe { self.init.init(obj) };
        }
        Ok(obj)
    }

    unsafe fn dealloc(&mut self, obj: NonNull<T>) {
        match self.bug {
            // SAFETY: the caller gave back a valid object.
            CacheBug::DropsTwice => unsafe { obj.drop_in_place() },
            CacheBug::FreeListInObject => {
                let link = self.free.last().map_or(0, |p| p.addr().get());
                // SAFETY: the object is at least a word long and aligned.
                unsafe { obj.cast::<usize>().write(link) };
            }
            CacheBug::NeverDrops | CacheBug::SkipsConstructor => {}
        }
        self.free.push(obj);
    }
}

impl<T, I> Drop for BadCache<T, I> {
    fn drop(&mut self) {
        for &obj in &self.free {
            if self.bug != CacheBug::NeverDrops {
                // SAFETY: (deliberately broken for `DropsTwice`) cached
                // objects are dropped at teardown.
                unsafe { obj.drop_in_place() };
            }
        }
        for &obj in &self.all {
            // SAFETY: every object came from `System.alloc_zeroed` with the
            // layout of `T`.
            unsafe { System.dealloc(obj.as_ptr().cast(), Layout::new::<T>()) };
        }
    }
}

/// A heap that caches freed blocks by layout and forgets to zero a cached
/// block in `alloc_zeroed`: fresh memory is zero, so only reuse shows it.
pub(crate) struct DirtyZeroed {
    cache: Mutex<HashMap<(usize, usize), Vec<usize>>>,
    blocks: Mutex<HashMap<usize, NonNull<u8>>>,
}

// SAFETY: the raw pointers in the map are only used under its mutex.
unsafe impl Sync for DirtyZeroed {}

impl DirtyZeroed {
    pub(crate) fn new() -> Self {
        DirtyZeroed {
            cache: Mutex::default(),
            blocks: Mutex::default(),
        }
    }

    fn reuse(&self, layout: Layout) -> Option<*mut u8> {
        let addr = self
            .cache
            .lock()
            .unwrap()
            .get_mut(&(layout.size(), layout.align()))?
            .pop()?;
        Some(self.blocks.lock().unwrap()[&addr].as_ptr())
    }
}

// SAFETY: (deliberately broken) `alloc_zeroed` may return dirty memory.
unsafe impl GlobalAlloc for DirtyZeroed {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(p) = self.reuse(layout) {
            return p;
        }
        // SAFETY: forwarded from the caller.
        let p = unsafe { System.alloc(layout) };
        if let Some(nn) = NonNull::new(p) {
            self.blocks.lock().unwrap().insert(p.addr(), nn);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if let Some(p) = self.reuse(layout) {
            return p; // the bug: a reused block is not zeroed
        }
        // SAFETY: forwarded from the caller.
        let p = unsafe { System.alloc_zeroed(layout) };
        if let Some(nn) = NonNull::new(p) {
            self.blocks.lock().unwrap().insert(p.addr(), nn);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.cache
            .lock()
            .unwrap()
            .entry((layout.size(), layout.align()))
            .or_default()
            .push(ptr.addr());
    }
}

/// A heap whose `realloc` copies only half of what it must keep (the rest
/// of the new block reads as zero, so the loss is defined behaviour that
/// Miri can run).
pub(crate) struct HalfRealloc;

// SAFETY: (deliberately broken) `realloc` loses part of the contents.
unsafe impl GlobalAlloc for HalfRealloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = Layout::from_size_align(new_size, layout.align()).unwrap();
        // SAFETY: `new` is a valid, non-zero layout.
        let fresh = unsafe { System.alloc_zeroed(new) };
        if !fresh.is_null() {
            // SAFETY: both blocks hold at least half the kept length.
            unsafe { std::ptr::copy_nonoverlapping(ptr, fresh, layout.size().min(new_size) / 2) };
            // SAFETY: forwarded from the caller.
            unsafe { System.dealloc(ptr, layout) };
        }
        fresh
    }
}

/// An `Allocator` whose `grow_zeroed` does not zero the new tail.
pub(crate) struct GrowZeroedDirty;

// SAFETY: (deliberately broken) `grow_zeroed` leaves the tail as it was.
unsafe impl Allocator for GrowZeroedDirty {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, ApiAllocError> {
        let block = Global.allocate(layout)?;
        // Make the bug visible whatever the system heap hands out.
        // SAFETY: the block is writable for its length.
        unsafe { block.cast::<u8>().write_bytes(0xee, block.len()) };
        Ok(block)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { Global.deallocate(ptr, layout) }
    }

    unsafe fn grow_zeroed(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, ApiAllocError> {
        let block = self.allocate(new)?;
        // SAFETY: the old block holds `old.size()` bytes, the new one more.
        unsafe {
            std::ptr::copy_nonoverlapping(ptr.as_ptr(), block.cast::<u8>().as_ptr(), old.size())
        };
        // SAFETY: forwarded from the caller.
        unsafe { self.deallocate(ptr, old) };
        Ok(block)
    }
}
