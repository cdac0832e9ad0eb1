//! Shared object caches: a slab cache of one type (or one layout) that any
//! number of threads use at once, with per-thread magazines in front of it,
//! as the zone's classes have.
//!
//! The slabs come from 4 MiB chunks of the cache's own, like the zone's, so
//! that a free is checked without the slab cache's lock: the chunk map and
//! header say whether an address is in one of this cache's slabs and where
//! the slab starts; the object index gives the object's start; and a tag
//! byte per object in the slab's metadata, set while a user holds the
//! object, catches a double free. Nothing is written into a freed object,
//! so a typed cache's objects keep their constructed state in magazines
//! too. Dropping the cache takes back the magazines of every thread first,
//! so every constructed object is dropped once.

use core::alloc::Layout;
use core::fmt;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU8, Ordering};

use mmap_alloc::MapAlloc;
use object_alloc::{
    AllocError, Init, ObjectAlloc, SharedObjectAlloc, SharedUntypedObjectAlloc, UntypedObjectAlloc,
};

use super::Shape;
use super::chunk::{self, Chunks, ClassPages, Found, SLOT};
use super::lock::ZoneLocked;
use super::magazine::{self, Depot, Magazine, Owner, Slabs};
use super::{HELD, MAGAZINE_CLASS, NEXT_ID};
use crate::cache::Geometry;
use crate::error::{ConfigError, ErrorHook, FreeError, FreeErrorKind};
use crate::{SlabAlloc, SlabBuilder, Stats, UntypedSlabAlloc};

/// The chunk-header class of a shared cache's slabs.
const OBJECT_CLASS: usize = 0xfe;

/// The largest object a shared cache takes.
pub(crate) const MAX_OBJECT: usize = 256 << 10;

/// What the magazine layer needs from the slab cache under it.
pub(crate) trait Inner: Send {
    fn take(&mut self) -> Result<NonNull<u8>, AllocError>;
    /// # Safety
    /// As for the slab layer's `try_dealloc`.
    unsafe fn give(&mut self, p: NonNull<u8>) -> Result<(), FreeError>;
    fn geometry(&self) -> Geometry;
    fn reap(&mut self) -> usize;
    fn name(&self) -> &'static str;
}

impl Inner for UntypedSlabAlloc<ClassPages> {
    fn take(&mut self) -> Result<NonNull<u8>, AllocError> {
        UntypedObjectAlloc::alloc(self)
    }
    unsafe fn give(&mut self, p: NonNull<u8>) -> Result<(), FreeError> {
        // SAFETY: forwarded.
        unsafe { self.try_dealloc(p) }
    }
    fn geometry(&self) -> Geometry {
        *self.core.geometry()
    }
    fn reap(&mut self) -> usize {
        UntypedSlabAlloc::reap(self)
    }
    fn name(&self) -> &'static str {
        UntypedSlabAlloc::name(self)
    }
}

impl<T: Send, I: Init<T> + Send> Inner for SlabAlloc<T, I, ClassPages> {
    fn take(&mut self) -> Result<NonNull<u8>, AllocError> {
        ObjectAlloc::alloc(self).map(NonNull::cast)
    }
    unsafe fn give(&mut self, p: NonNull<u8>) -> Result<(), FreeError> {
        // SAFETY: forwarded.
        unsafe { self.try_dealloc(p.cast()) }
    }
    fn geometry(&self) -> Geometry {
        *self.core.geometry()
    }
    fn reap(&mut self) -> usize {
        SlabAlloc::reap(self)
    }
    fn name(&self) -> &'static str {
        SlabAlloc::name(self)
    }
}

/// A shared cache's state, in memory mapped for it (it points into
/// itself).
struct Core<C> {
    id: u64,
    hook: ErrorHook,
    name: &'static str,
    chunks: ZoneLocked<Chunks>,
    inner: ZoneLocked<C>,
    magazines: ZoneLocked<UntypedSlabAlloc<ClassPages>>,
    depot: Depot,
    shape: Shape,
    tags: usize,
}

impl<C: Inner> Core<C> {
    /// Maps a core and builds its caches; `build` makes the slab cache over
    /// the backing it is given.
    fn make(
        builder: SlabBuilder,
        object: Layout,
        build: impl FnOnce(SlabBuilder, ClassPages) -> Result<C, ConfigError>,
    ) -> Result<NonNull<Core<C>>, ConfigError> {
        if object.size() > MAX_OBJECT || object.align() > chunk::PAGE {
            return Err(ConfigError::TooLargeForShared {
                size: object.size(),
                align: object.align(),
            });
        }
        let slots = builder
            .requested_slab_size()
            .map_or_else(|| default_slots(object.size()), |s| s.div_ceil(SLOT));
        if !slots.is_power_of_two() || slots > 32 {
            return Err(ConfigError::SlabSizeNotPowerOfTwo {
                slab_size: slots * SLOT,
            });
        }
        let mem = MapAlloc::new()
            .map(size_of::<Core<C>>(), align_of::<Core<C>>().max(chunk::PAGE))
            .map_err(|_| ConfigError::OutOfMemory)?;
        let core = mem.cast::<Core<C>>().as_ptr();
        let key = core as usize;
        // SAFETY: a fresh mapping of the core's size; each field is written
        // once before anything reads it, and on failure the mapping is
        // released with only the chunks (nothing mapped yet) dropped.
        unsafe {
            ptr::addr_of_mut!((*core).chunks).write(ZoneLocked::new(Chunks::new(key)));
            let chunks = ptr::addr_of!((*core).chunks);
            let pages = |class, slots| ClassPages {
                chunks,
                class,
                slots,
            };
            let hook = builder.hook();
            let built = build(
                builder
                    .colouring(false)
                    .object_tags(true)
                    .slab_size(slots * SLOT),
                pages(OBJECT_CLASS, slots),
            )
            .and_then(|inner| {
                let mags = SlabBuilder::new("slab-alloc magazines")
                    .layout(
                        Layout::new::<Magazine>()
                            .align_to(512)
                            .unwrap_or(Layout::new::<Magazine>()),
                    )
                    .type_stable(true)
                    .error_hook(hook)
                    .build_untyped(pages(MAGAZINE_CLASS, 1))?;
                Ok((inner, mags))
            });
            let (inner, mags) = match built {
                Ok(pair) => pair,
                Err(e) => {
                    let _ = MapAlloc::new().unmap(mem, size_of::<Core<C>>());
                    return Err(e);
                }
            };
            let g = inner.geometry();
            let (Some(first), Some(tags)) = (g.fixed_first(), g.tags_off) else {
                unreachable!("the builder asked for one colour and tags");
            };
            let Some(shape) = Shape::new(g.stride, first, g.capacity as usize) else {
                unreachable!("a slab of at most 2 MiB has fewer than 2^32 objects");
            };
            let rounds = rounds_for(g.stride);
            ptr::addr_of_mut!((*core).id).write(NEXT_ID.fetch_add(1, Ordering::Relaxed));
            ptr::addr_of_mut!((*core).hook).write(hook);
            ptr::addr_of_mut!((*core).name).write(inner.name());
            ptr::addr_of_mut!((*core).shape).write(shape);
            ptr::addr_of_mut!((*core).tags).write(tags);
            ptr::addr_of_mut!((*core).inner).write(ZoneLocked::new(inner));
            ptr::addr_of_mut!((*core).magazines).write(ZoneLocked::new(mags));
            ptr::addr_of_mut!((*core).depot).write(Depot::new(
                rounds,
                (magazine::DEPOT_BYTES / (g.stride * rounds)).clamp(2, 16),
            ));
            Ok(NonNull::new_unchecked(core))
        }
    }

    /// Takes back every thread's magazines, drops the slab caches (which
    /// drop every constructed free object) and unmaps everything.
    ///
    /// # Safety
    ///
    /// `core` came from `make`, no thread uses the cache any more, and it
    /// is released once.
    unsafe fn release(core: NonNull<Core<C>>) {
        // SAFETY: the caller's core.
        let c = unsafe { &mut *core.as_ptr() };
        magazine::take_everywhere(c.id);
        c.depot.trim(&CoreSlabs(c));
        // SAFETY: the slab caches give their slabs back to the chunks,
        // which are unmapped after them; nothing uses any of it afterwards.
        unsafe {
            ptr::drop_in_place(ptr::addr_of_mut!(c.inner));
            ptr::drop_in_place(ptr::addr_of_mut!(c.magazines));
            c.chunks.get_mut().release_all();
            let _ = MapAlloc::new().unmap(core.cast(), size_of::<Core<C>>());
        }
    }

    /// Empties the depot into the slabs and returns the empty slabs.
    fn trim(&self) -> usize {
        self.depot.trim(&CoreSlabs(self));
        self.inner.with(|s| s.reap())
    }

    /// The tag byte of the object at `p` in the slab at `base`, if `p`
    /// starts an object; otherwise the error.
    #[inline]
    fn tag_of(&self, base: usize, p: usize) -> Result<&AtomicU8, FreeErrorKind> {
        let idx = self.shape.object(base, p)?;
        // SAFETY: the slab at `base` is live (the chunk header says so),
        // with inline metadata holding a tag byte per object at `tags`.
        Ok(unsafe { AtomicU8::from_ptr((base + self.tags + idx) as *mut u8) })
    }

    /// The tag of an object this cache handed out (or is handing out).
    #[inline]
    fn own_tag(&self, p: *mut u8) -> &AtomicU8 {
        let addr = p as usize;
        // SAFETY: `p` is an object of one of our live slabs, so its chunk
        // is mapped and its header initialised.
        let base = unsafe { super::slab_base_of(addr) };
        match self.tag_of(base, addr) {
            Ok(tag) => tag,
            Err(_) => unreachable!("an object of this cache starts an object"),
        }
    }

    #[inline]
    fn hand_out(&self, p: *mut u8) -> NonNull<u8> {
        self.own_tag(p).store(HELD, Ordering::Relaxed);
        // SAFETY: an object of our slabs, not null.
        unsafe { NonNull::new_unchecked(p) }
    }

    fn owner(&self) -> Owner {
        Owner {
            core: ptr::from_ref(self).cast(),
            give_back: give_back::<C>,
        }
    }

    #[inline]
    fn alloc(&self) -> Result<NonNull<u8>, AllocError> {
        if let Some(pair) = magazine::obj_binding(self.id) {
            // SAFETY: the pair's loaded magazine holds an object.
            unsafe {
                if pair.len() > 0 {
                    return Ok(self.hand_out(pair.pop_allocated().0));
                }
            }
        }
        self.alloc_slow()
    }

    #[cold]
    #[inline(never)]
    fn alloc_slow(&self) -> Result<NonNull<u8>, AllocError> {
        let pair =
            magazine::obj_binding(self.id).or_else(|| magazine::obj_bind(self.id, self.owner()));
        let p = match pair {
            Some(pair) => {
                self.depot
                    .refill(pair, magazine::home(), &CoreSlabs(self))
                    .ok_or(AllocError)?
                    .0
            }
            None => self.inner.with(Inner::take)?.as_ptr(),
        };
        Ok(self.hand_out(p))
    }

    /// A checked free: the fast path into this thread's loaded magazine,
    /// or the slow path; a bad free is returned.
    #[inline]
    fn free(&self, p: *mut u8) -> Result<(), FreeError> {
        if let Some(slot) = chunk::find_slab(ptr::from_ref(self) as usize, p as usize) {
            if slot.class == OBJECT_CLASS {
                if let Ok(tag) = self.tag_of(slot.base, p as usize) {
                    if let Some(pair) = magazine::obj_binding(self.id) {
                        if tag.load(Ordering::Relaxed) == HELD && pair.has_room() {
                            tag.store(0, Ordering::Relaxed);
                            // SAFETY: the loaded magazine has room (the
                            // sentinel has none).
                            unsafe { pair.push_freed(p, 0) };
                            return Ok(());
                        }
                    }
                }
            }
        }
        self.free_slow(p)
    }

    #[cold]
    #[inline(never)]
    fn free_slow(&self, p: *mut u8) -> Result<(), FreeError> {
        let addr = p as usize;
        let err = |kind| FreeError {
            cache: self.name,
            addr,
            kind,
        };
        let slot = match chunk::find(ptr::from_ref(self) as usize, addr) {
            Found::Slab(slot) if slot.class == OBJECT_CLASS => slot,
            Found::Slab(_) | Found::NotInSlab => return Err(err(FreeErrorKind::NotAnObject)),
            // In none of our slabs: the slab layer's registry names the
            // cache whose object it is, if any.
            _ => {
                let Some(nn) = NonNull::new(p) else {
                    return Err(err(FreeErrorKind::NotManaged));
                };
                // SAFETY: any address may be given to the checked free; this
                // one is in none of our slabs, so nothing is freed.
                return match self.inner.with(|s| unsafe { s.give(nn) }) {
                    Err(e) => Err(e),
                    Ok(()) => Err(err(FreeErrorKind::NotManaged)),
                };
            }
        };
        let tag = self.tag_of(slot.base, addr).map_err(err)?;
        if tag.load(Ordering::Relaxed) != HELD {
            return Err(err(FreeErrorKind::DoubleFree));
        }
        tag.store(0, Ordering::Relaxed);
        let pair =
            magazine::obj_binding(self.id).or_else(|| magazine::obj_bind(self.id, self.owner()));
        let back = match pair {
            Some(pair) => self
                .depot
                .spill(pair, p, 0, magazine::home(), &CoreSlabs(self)),
            None => Err(p),
        };
        match back {
            Ok(()) => Ok(()),
            // SAFETY: a checked object of ours, not null.
            Err(p) => self
                .inner
                .with(|s| unsafe { s.give(NonNull::new_unchecked(p)) }),
        }
    }
}

/// The pages of a slab of an object of `size` bytes, in slots: at least 8
/// objects a slab.
fn default_slots(size: usize) -> usize {
    (size * 8).div_ceil(SLOT).next_power_of_two().clamp(1, 32)
}

/// Rounds a magazine holds for objects of `stride` bytes: up to
/// [`MAX_ROUNDS`](magazine::MAX_ROUNDS), fewer for large objects (about
/// 64 KiB of objects a magazine).
fn rounds_for(stride: usize) -> usize {
    ((64 << 10) / stride).clamp(2, magazine::MAX_ROUNDS)
}

/// The owner function of a shared cache's bindings.
///
/// # Safety
///
/// `core` is a live `Core<C>`; `m` is a magazine of it, handed over by a
/// thread of `home`.
unsafe fn give_back<C: Inner>(core: *const (), m: NonNull<Magazine>, home: usize) {
    // SAFETY: the caller's core.
    let c = unsafe { &*core.cast::<Core<C>>() };
    c.depot.give_back(m, home, &CoreSlabs(c));
}

/// A core's slab cache and magazine cache, as its depot's source.
struct CoreSlabs<'a, C>(&'a Core<C>);

impl<C: Inner> Slabs for CoreSlabs<'_, C> {
    /// Without `grow`, nothing: a shared cache's slabs have no homes, so
    /// a depot takes another home's full magazine before it fills one.
    fn fill(&self, m: &mut Magazine, grow: bool) -> bool {
        if !grow {
            return false;
        }
        /// Gives the rounds taken so far back to the slabs if a
        /// constructor panics while the magazine is being filled, so that
        /// no constructed object is lost with the magazine.
        struct Filling<'a, C: Inner> {
            s: &'a mut C,
            m: &'a mut Magazine,
        }
        impl<C: Inner> Drop for Filling<'_, C> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    for &p in self.m.held() {
                        // SAFETY: objects just taken from these slabs, not
                        // handed to anyone.
                        let _ = unsafe { self.s.give(NonNull::new_unchecked(p)) };
                    }
                    self.m.clear();
                }
            }
        }
        self.0.inner.with(|s| {
            let f = Filling { s, m };
            while f.m.has_room() {
                match f.s.take() {
                    Ok(p) => f.m.stock(p.as_ptr(), 0),
                    Err(_) => break,
                };
            }
            f.m.len() > 0
        })
    }

    fn drain(&self, m: &mut Magazine) {
        self.0.inner.with(|s| {
            for &p in m.held() {
                // SAFETY: a free object of this cache, not null, held once.
                if let Err(err) = unsafe { s.give(NonNull::new_unchecked(p)) } {
                    (self.0.hook)(&err);
                }
            }
        });
        m.clear();
    }

    fn new_magazine(&self, rounds: usize) -> Option<NonNull<Magazine>> {
        let mem = self.0.magazines.with(|s| s.alloc()).ok()?;
        // SAFETY: a fresh 512-byte block of the magazine cache.
        Some(unsafe { Magazine::init(mem, rounds) })
    }
}

/// A typed object cache that many threads use at once: [`SlabAlloc`]'s
/// slabs, constructed-object caching and checks, with a magazine layer in
/// front (Bonwick and Adams 2001), so that most allocations and frees take
/// no lock and no atomic read-modify-write. Built by
/// [`SlabBuilder::build_shared`]; objects up to 256 KiB aligned up to a
/// page; slabs from 4 MiB chunks mapped for the cache.
///
/// Every free is checked, from the magazine path too: an address in none
/// of the cache's slabs (another cache's object is named), in slab
/// metadata, inside an object, or an object not held (a double free).
/// [`try_dealloc`](Self::try_dealloc) returns the error; the trait's
/// `dealloc` gives it to the cache's error hook.
///
/// Freed objects stay constructed in the magazines. Dropping the cache
/// takes every thread's magazines back first, so every constructed object
/// the cache holds is dropped once; objects users still hold are not.
///
/// ```
/// use object_alloc::SharedObjectAlloc;
/// use slab_alloc::SlabBuilder;
///
/// let conns = SlabBuilder::new("connections")
///     .build_shared::<Vec<u8>, _>(|| Vec::with_capacity(1024))
///     .unwrap();
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| {
///             for _ in 0..1000 {
///                 let c = conns.alloc().unwrap();
///                 // SAFETY: a constructed `Vec` we hold until the free.
///                 unsafe {
///                     (*c.as_ptr()).push(1);
///                     conns.dealloc(c);
///                 }
///             }
///         });
///     }
/// });
/// // Objects went back and forth through magazines: few were constructed.
/// assert!(conns.stats().constructions < 4000);
/// ```
pub struct SharedSlabAlloc<T: Send, I: Init<T> + Send> {
    core: NonNull<Core<SlabAlloc<T, I, ClassPages>>>,
    _owns: PhantomData<T>,
}

/// An untyped cache of one layout that many threads use at once: the
/// untyped side of [`SharedSlabAlloc`], built by
/// [`SlabBuilder::build_shared_untyped`].
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::SharedUntypedObjectAlloc;
/// use slab_alloc::{FreeErrorKind, SlabBuilder};
///
/// let packets = SlabBuilder::new("packets")
///     .layout(Layout::from_size_align(1500, 16).unwrap())
///     .build_shared_untyped()
///     .unwrap();
/// let p = packets.alloc().unwrap();
/// // SAFETY: a block of `packets`; the second free is the error.
/// unsafe {
///     packets.try_dealloc(p).unwrap();
///     assert_eq!(packets.try_dealloc(p).unwrap_err().kind, FreeErrorKind::DoubleFree);
/// }
/// ```
pub struct SharedUntypedSlabAlloc {
    core: NonNull<Core<UntypedSlabAlloc<ClassPages>>>,
    layout: Layout,
}

impl SlabBuilder {
    /// Builds a shared typed cache of `T`s constructed by `init`, with
    /// per-thread magazines, over slabs the cache maps for itself (the
    /// builder's slab size if set, a power of two of 64 KiB slots up to
    /// 2 MiB; by default a slab holds at least 8 objects). Colouring is off
    /// (the magazine layer finds objects by their index).
    ///
    /// # Errors
    ///
    /// The [`ConfigError`] saying why the configuration cannot work.
    pub fn build_shared<T: Send, I: Init<T> + Send>(
        self,
        init: I,
    ) -> Result<SharedSlabAlloc<T, I>, ConfigError> {
        let core = Core::make(self, Layout::new::<T>(), |b, pages| b.build(init, pages))?;
        Ok(SharedSlabAlloc {
            core,
            _owns: PhantomData,
        })
    }

    /// Builds a shared untyped cache of [`layout`](Self::layout) blocks,
    /// as [`build_shared`](Self::build_shared) does for types.
    ///
    /// # Errors
    ///
    /// The [`ConfigError`] saying why the configuration cannot work.
    pub fn build_shared_untyped(self) -> Result<SharedUntypedSlabAlloc, ConfigError> {
        let layout = self.requested_layout().ok_or(ConfigError::NoLayout)?;
        let core = Core::make(self, layout, |b, pages| b.build_untyped(pages))?;
        Ok(SharedUntypedSlabAlloc { core, layout })
    }
}

impl SharedUntypedSlabAlloc {
    fn core(&self) -> &Core<UntypedSlabAlloc<ClassPages>> {
        // SAFETY: the core lives until `drop`.
        unsafe { self.core.as_ref() }
    }

    /// Frees `ptr`, or says why the free is wrong (freeing nothing).
    ///
    /// # Safety
    ///
    /// If `ptr` is a block of this cache, nothing uses it afterwards. Any
    /// address may be given.
    ///
    /// # Errors
    ///
    /// The [`FreeError`] naming the cache and the address.
    pub unsafe fn try_dealloc(&self, ptr: NonNull<u8>) -> Result<(), FreeError> {
        self.core().free(ptr.as_ptr())
    }

    /// The slab cache's statistics. Blocks in magazines count as
    /// allocated.
    pub fn stats(&self) -> Stats {
        self.core().inner.with(|s| s.stats())
    }

    /// Empties the depot into the slabs and returns the empty slabs; the
    /// number of slabs returned. Threads' own magazines stay.
    pub fn trim(&self) -> usize {
        self.core().trim()
    }

    /// The cache's name.
    pub fn name(&self) -> &'static str {
        self.core().name
    }
}

impl Drop for SharedUntypedSlabAlloc {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no thread uses the cache; released once.
        unsafe { Core::release(self.core) };
    }
}

impl fmt::Debug for SharedUntypedSlabAlloc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedUntypedSlabAlloc")
            .field("name", &self.core().name)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

impl<T: Send, I: Init<T> + Send> SharedSlabAlloc<T, I> {
    fn core(&self) -> &Core<SlabAlloc<T, I, ClassPages>> {
        // SAFETY: the core lives until `drop`.
        unsafe { self.core.as_ref() }
    }

    /// Frees `obj`, or says why the free is wrong (freeing nothing).
    ///
    /// # Safety
    ///
    /// If `obj` is an object of this cache, it holds a valid `T` and
    /// nothing uses it afterwards. Any address may be given.
    ///
    /// # Errors
    ///
    /// The [`FreeError`] naming the cache and the address.
    pub unsafe fn try_dealloc(&self, obj: NonNull<T>) -> Result<(), FreeError> {
        self.core().free(obj.as_ptr().cast())
    }

    /// The slab cache's statistics. Objects in magazines count as
    /// allocated.
    pub fn stats(&self) -> Stats {
        self.core().inner.with(|s| s.stats())
    }

    /// Empties the depot into the slabs and returns the empty slabs (their
    /// constructed objects dropped); the number of slabs returned.
    /// Threads' own magazines stay.
    pub fn trim(&self) -> usize {
        self.core().trim()
    }

    /// The cache's name.
    pub fn name(&self) -> &'static str {
        self.core().name
    }
}

impl<T: Send, I: Init<T> + Send> Drop for SharedSlabAlloc<T, I> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no thread uses the cache; released once.
        unsafe { Core::release(self.core) };
    }
}

impl<T: Send, I: Init<T> + Send> fmt::Debug for SharedSlabAlloc<T, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedSlabAlloc")
            .field("name", &self.core().name)
            .finish_non_exhaustive()
    }
}

// SAFETY: the cache owns its `T`s and hands each to one thread at a time;
// its state is shared through locks, atomics and per-thread magazines.
unsafe impl<T: Send, I: Init<T> + Send> Send for SharedSlabAlloc<T, I> {}
// SAFETY: as above; `&self` methods never hand out a `&T`.
unsafe impl<T: Send, I: Init<T> + Send> Sync for SharedSlabAlloc<T, I> {}
// SAFETY: blocks, not values; the state is shared as above.
unsafe impl Send for SharedUntypedSlabAlloc {}
// SAFETY: as above.
unsafe impl Sync for SharedUntypedSlabAlloc {}

// SAFETY: objects come constructed from the slab layer (fresh or as last
// freed), each held by one caller at a time (the tag and the magazines
// hold each pointer once); `dealloc` checks every free.
unsafe impl<T: Send, I: Init<T> + Send> ObjectAlloc<T> for SharedSlabAlloc<T, I> {
    #[inline]
    fn alloc(&mut self) -> Result<NonNull<T>, AllocError> {
        self.core().alloc().map(NonNull::cast)
    }

    #[inline]
    unsafe fn dealloc(&mut self, obj: NonNull<T>) {
        // SAFETY: forwarded.
        unsafe { SharedObjectAlloc::dealloc(&*self, obj) }
    }
}

// SAFETY: as above, from any thread; an object freed on another thread
// than the one that allocated it goes into that thread's magazine.
unsafe impl<T: Send, I: Init<T> + Send> SharedObjectAlloc<T> for SharedSlabAlloc<T, I> {
    #[inline]
    fn alloc(&self) -> Result<NonNull<T>, AllocError> {
        self.core().alloc().map(NonNull::cast)
    }

    #[inline]
    unsafe fn dealloc(&self, obj: NonNull<T>) {
        let c = self.core();
        if let Err(err) = c.free(obj.as_ptr().cast()) {
            (c.hook)(&err);
        }
    }
}

// SAFETY: blocks of the layout, each held by one caller at a time; every
// free is checked.
unsafe impl UntypedObjectAlloc for SharedUntypedSlabAlloc {
    fn layout(&self) -> Layout {
        self.layout
    }

    #[inline]
    fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
        self.core().alloc()
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>) {
        // SAFETY: forwarded.
        unsafe { SharedUntypedObjectAlloc::dealloc(&*self, ptr) }
    }
}

// SAFETY: as above, from any thread.
unsafe impl SharedUntypedObjectAlloc for SharedUntypedSlabAlloc {
    #[inline]
    fn alloc(&self) -> Result<NonNull<u8>, AllocError> {
        self.core().alloc()
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: NonNull<u8>) {
        let c = self.core();
        if let Err(err) = c.free(ptr.as_ptr()) {
            (c.hook)(&err);
        }
    }
}

const _: () = assert!(OBJECT_CLASS > MAGAZINE_CLASS);
