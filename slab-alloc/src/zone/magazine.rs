//! The magazine layer (Bonwick and Adams, *Magazines and Vmem*, USENIX
//! 2001): per-thread stacks of free objects in front of each class's slab
//! cache, traded whole with a depot.
//!
//! - A **magazine** is a fixed array of up to [`MAX_ROUNDS`] object
//!   pointers. Each thread holds a *loaded* and a *previous* magazine per
//!   class; allocation pops from the loaded one and freeing pushes onto it,
//!   with no atomic operation and no lock.
//! - When the loaded magazine is exhausted (empty on alloc, full on free)
//!   and the previous one can serve, the two swap. Only when both are
//!   exhausted does the thread go to the class's **depot**: it gives up its
//!   exhausted magazine and takes a full (or empty) one. The depot is made
//!   of lock-free stacks ([`MagStack`], a `bagpipe::SharedWeakBag`): one
//!   of empty magazines, and one of full magazines per home (below).
//!   Only when the depot has no full magazine for the thread does an
//!   allocation reach the slab layer, under its lock, and then it fills a
//!   whole magazine at once.
//! - **Homes.** Every thread cache has a home, one of [`HOMES`], given in
//!   turn as caches are made and kept by the cache, so a thread that takes
//!   over an exited thread's cache takes over its home. A home fills its
//!   magazines from slabs it claims (the slab layer's `Cache::alloc_for`),
//!   which no other home fills from meanwhile, and each slab remembers the
//!   home that claimed it last. A full magazine goes to the stack of its
//!   objects' home (its first object's slab's), whoever freed them: a
//!   thread that frees another's blocks sends them back to it. So threads
//!   of different homes mostly hold blocks of different slabs, and do not
//!   write the same lines of blocks or of their tags in turn. (With slabs
//!   shared, two threads each churning 10,000 blocks ran at half speed for
//!   seconds at a time, every tag line written by both.)
//!   An allocation with nothing in its home's stack fills a magazine from
//!   a partial slab of its home or an empty slab, else takes a full
//!   magazine of an idle home (one whose threads all exited), else any
//!   home's, else fills from an idle home's partial slab or a new slab
//!   from the chunks; it fills from a running home's slab only when
//!   memory runs out ([`Depot::full_for`]).
//! - Each home's stack holds at most [`depot_limit`] full magazines of a
//!   class (about [`DEPOT_BYTES`] of objects); a thread that would push one
//!   more empties it into the slab layer, so objects freed in a burst end
//!   up in slabs, which go back to the kernel.
//! - **Thread state** is a [`ThreadCache`] of [`BINDINGS`] bindings, each
//!   tying the thread's magazines to one zone (a thread using more zones
//!   than that flushes the oldest binding). It is reached through a
//!   `const`-initialised thread-local pointer with no destructor, and is
//!   mapped from the kernel, so nothing here allocates through any global
//!   allocator. A POSIX thread-specific key's destructor flushes the
//!   thread's magazines into the depots when the thread exits and puts the
//!   `ThreadCache` on a free list for the next thread.
//! - **A zone dropped while other threads still hold its magazines.** A
//!   binding's zone id is atomic. A thread that flushes a binding first
//!   swaps the id for a busy mark; a dropping zone visits every thread
//!   cache ever made and clears the bindings that carry its id, waiting out
//!   a flush in progress. Dropping needs `&mut` (no thread is inside the
//!   zone), so a binding that no longer carries the zone's id is never
//!   read again: the magazines themselves go with the zone's memory.

use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

use bagpipe::{PopError, PushError, SharedWeakBag};
use mmap_alloc::MapAlloc;

use super::classes::CLASSES;
use super::lock::ZoneLocked;
pub(crate) use crate::cache::HOMES;

/// The most objects a magazine holds: what fits in 512 bytes with its
/// header, at 12 bytes an object (its address and its tag's distance).
pub(crate) const MAX_ROUNDS: usize = 40;
/// The bytes of objects in full magazines a class's depot keeps for one
/// home before it empties further magazines of that home into the slabs.
/// Per home rather than per class: with one limit for all, two threads
/// churning 10,000 blocks each and exiting drained and refilled so many
/// magazines through the slabs that the criterion churn took 1.02–1.15×
/// mimalloc's time against 0.90–0.98× (interleaved blocks, three runs
/// each). The price is memory: up to 8 times as many full magazines.
pub(crate) const DEPOT_BYTES: usize = 128 << 10;

/// The most full magazines class `k`'s depot keeps: [`DEPOT_BYTES`] worth,
/// at least 2 (so two threads trading magazines do not reach the slab
/// layer) and at most 16.
pub(crate) const fn depot_limit(k: usize) -> usize {
    let bytes = super::classes::SIZES[k] * super::classes::magazine_capacity(k);
    let n = DEPOT_BYTES / bytes;
    if n < 2 {
        2
    } else if n > 16 {
        16
    } else {
        n
    }
}
/// How many zones a thread keeps magazines for at once.
pub(crate) const BINDINGS: usize = 2;
/// How many shared object caches a thread keeps magazines for at once.
pub(crate) const OBJ_BINDINGS: usize = 16;

/// Where a thread's magazine of a shared object cache goes back to: the
/// cache's core, and the function that takes the magazine.
#[derive(Clone, Copy)]
pub(crate) struct Owner {
    pub(crate) core: *const (),
    /// # Safety
    /// `core` is the live core the binding was made for; the magazine is
    /// one of its own, handed over.
    pub(crate) give_back: unsafe fn(*const (), NonNull<Magazine>, usize),
}

/// An array of free objects of one class.
#[repr(C)]
pub(crate) struct Magazine {
    /// The next magazine in a depot stack.
    next: AtomicPtr<Magazine>,
    /// The number of objects held in the low 32 bits, and the frees served
    /// since the last [`harvest`](Depot::harvest) in the high 32: one
    /// addition pushes a freed object and counts it. Stale while the
    /// magazine is loaded: its [`MagPair`] holds the live value.
    len_frees: u64,
    pub(crate) cap: u32,
    /// What gives the allocations served since the last harvest without a
    /// counter of their own: each pops one object and counts nothing, so
    /// `allocs = frees + base - len`. `base` is the length at the harvest,
    /// moved with every change of length that is not a caller's (a fill
    /// from the slabs, a drain into them).
    base: u32,
    rounds: [*mut u8; MAX_ROUNDS],
    /// For each round, how far its tag byte (in its slab's metadata) lies
    /// below it: what the allocation that hands it out marks, with no
    /// lookup of the slab (0 in the shared caches, which find their tags
    /// themselves).
    deltas: [u32; MAX_ROUNDS],
}

const _: () = assert!(size_of::<Magazine>() <= 512);

/// The magazine every binding starts with: it holds nothing and has room
/// for nothing, so both fast paths leave at once without a null check.
/// Never written.
struct Sentinel(Magazine);
// SAFETY: never written; its pointers are null.
unsafe impl Sync for Sentinel {}
static SENTINEL: Sentinel = Sentinel(Magazine::empty(0));

/// The address of the empty, roomless magazine.
#[inline]
pub(crate) fn sentinel() -> *mut Magazine {
    SENTINEL_PTR
}

impl Magazine {
    /// An empty magazine with room for `cap` objects.
    pub(crate) const fn empty(cap: usize) -> Magazine {
        Magazine {
            next: AtomicPtr::new(ptr::null_mut()),
            len_frees: 0,
            cap: cap as u32,
            base: 0,
            rounds: [ptr::null_mut(); MAX_ROUNDS],
            deltas: [0; MAX_ROUNDS],
        }
    }

    /// The number of objects held.
    #[inline]
    pub(crate) fn len(&self) -> u32 {
        self.len_frees as u32
    }

    /// Frees served since the last harvest.
    pub(crate) fn frees(&self) -> u32 {
        (self.len_frees >> 32) as u32
    }

    /// Allocations served since the last harvest.
    pub(crate) fn allocs(&self) -> u32 {
        allocs_of(self.len_frees, self.base)
    }

    /// Starts the counts again from zero.
    pub(crate) fn reset_counts(&mut self) {
        self.len_frees = u64::from(self.len());
        self.base = self.len();
    }

    /// Adds `p`, taken from the slabs, to a magazine being filled (the
    /// caller checked there is room): not a caller's free, so not counted.
    pub(crate) fn stock(&mut self, p: *mut u8, delta: u32) {
        debug_assert!(self.has_room());
        let len = self.len() as usize;
        self.rounds[len] = p;
        self.deltas[len] = delta;
        self.len_frees += 1;
        self.base = self.base.wrapping_add(1);
    }

    /// Whether the magazine has room for another object.
    pub(crate) fn has_room(&self) -> bool {
        self.len() < self.cap
    }

    /// The objects held, oldest first.
    pub(crate) fn held(&self) -> &[*mut u8] {
        &self.rounds[..self.len() as usize]
    }

    /// Forgets every object held (the caller drained them into the slabs):
    /// not a caller's allocation, so not counted.
    pub(crate) fn clear(&mut self) {
        self.base = self.base.wrapping_sub(self.len());
        self.len_frees &= !u64::from(u32::MAX);
    }

    /// A fresh empty magazine in `mem` (512 bytes, 512-aligned).
    ///
    /// # Safety
    ///
    /// `mem` is an unused 512-byte block, aligned to 8 at least.
    pub(crate) unsafe fn init(mem: NonNull<u8>, cap: usize) -> NonNull<Magazine> {
        let m = mem.cast::<Magazine>();
        // SAFETY: the caller's block fits a `Magazine`.
        unsafe { m.as_ptr().write(Magazine::empty(cap)) };
        m
    }
}

/// Low 48 bits of a [`MagStack`] top pointer: the magazine's address;
/// high 16: a tag that changes on every successful push or pop.
const ADDR_MASK: usize = (1 << 48) - 1;
const TAG_ONE: usize = 1 << 48;

/// A lock-free stack of magazines linked through their `next` words
/// (Treiber 1986), the depot's building block. Pushing allocates nothing.
///
/// ABA is ruled out by the tag in the top pointer's high bits (user
/// addresses fit in 48 bits): a pop that read the top, was delayed while
/// the same magazine was popped and pushed back, and then tries its
/// compare-and-swap, fails because the tag moved on (unless exactly 65,536
/// operations happened in between). A delayed pop may read the `next` word
/// of a magazine another thread has taken: magazines are never freed while
/// their zone lives, and the word is atomic (read through a reference to
/// it alone, not to the magazine), so that read is harmless and its result
/// is discarded by the failing swap. The tag is applied with the strict
/// provenance operations, so the pointers keep theirs.
pub(crate) struct MagStack {
    top: AtomicPtr<Magazine>,
    len: AtomicUsize,
}

impl MagStack {
    pub(crate) const fn new() -> Self {
        MagStack {
            top: AtomicPtr::new(ptr::null_mut()),
            len: AtomicUsize::new(0),
        }
    }
}

/// The `next` word of the magazine at `m`, without a reference to the rest
/// of it (which its holder may be writing).
///
/// # Safety
///
/// `m` points to a magazine that stays mapped.
unsafe fn next_of<'a>(m: *mut Magazine) -> &'a AtomicPtr<Magazine> {
    // SAFETY: the caller's magazine; only the atomic field is borrowed.
    unsafe { &*ptr::addr_of!((*m).next) }
}

impl SharedWeakBag for MagStack {
    type Item = NonNull<Magazine>;

    fn try_push(&self, m: NonNull<Magazine>) -> Result<(), PushError<NonNull<Magazine>>> {
        let old = self.top.load(Ordering::Relaxed);
        // SAFETY: the pusher owns `m` until the swap succeeds.
        unsafe { next_of(m.as_ptr()) }.store(old.map_addr(|a| a & ADDR_MASK), Ordering::Relaxed);
        let tag = (old.addr() & !ADDR_MASK).wrapping_add(TAG_ONE);
        let new = m.as_ptr().map_addr(|a| a | tag);
        match self
            .top
            .compare_exchange(old, new, Ordering::Release, Ordering::Relaxed)
        {
            Ok(_) => {
                self.len.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(_) => Err(PushError::Contended(m)),
        }
    }

    fn try_pop(&self) -> Result<NonNull<Magazine>, PopError> {
        let old = self.top.load(Ordering::Acquire);
        let Some(m) = NonNull::new(old.map_addr(|a| a & ADDR_MASK)) else {
            return Err(PopError::Empty);
        };
        // SAFETY: magazines stay mapped while the zone lives (see above).
        let next = unsafe { next_of(m.as_ptr()) }.load(Ordering::Relaxed);
        let tag = (old.addr() & !ADDR_MASK).wrapping_add(TAG_ONE);
        let new = next.map_addr(|a| a | tag);
        match self
            .top
            .compare_exchange(old, new, Ordering::Acquire, Ordering::Relaxed)
        {
            Ok(_) => {
                self.len.fetch_sub(1, Ordering::Relaxed);
                Ok(m)
            }
            Err(_) => Err(PopError::Contended),
        }
    }

    fn len_hint(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}

/// Where a depot's objects come from and go to: a slab cache, under its
/// lock, and the magazines' own cache.
pub(crate) trait Slabs {
    /// Fills the empty magazine `m` from the slabs under one lock
    /// acquisition, up to its capacity; whether it got any object. Only
    /// with `grow` may it take new slabs from the backing.
    fn fill(&self, m: &mut Magazine, grow: bool) -> bool;
    /// Whether the slabs keep homes: a slab's objects go to one home at a
    /// time ([`Slabs::home_of`]), and a fill without `grow` can succeed.
    fn keeps_homes(&self) -> bool {
        false
    }
    /// The home the objects of `m` (not empty) belong to, if the slabs
    /// keep homes: a full magazine goes to that home's stack.
    fn home_of(&self, _m: &Magazine) -> Option<usize> {
        None
    }
    /// Makes `home` the home of the objects of `m` (not empty), which a
    /// thread of `home` took from another home's stack, so that the
    /// magazines they are freed into come back to it.
    fn adopt(&self, _m: &Magazine, _home: usize) {}
    /// Frees every round of `m` into the slabs and leaves it empty.
    fn drain(&self, m: &mut Magazine);
    /// A new empty magazine holding up to `rounds` objects.
    fn new_magazine(&self, rounds: usize) -> Option<NonNull<Magazine>>;
}

/// One class's depot of full and empty magazines, and the magazine
/// exchanges of Bonwick and Adams: what a thread does when both of its
/// magazines are exhausted.
pub(crate) struct Depot {
    /// Full magazines, a stack per home: a full magazine goes to its
    /// objects' home's, and a thread takes from its own home's first, so
    /// objects go back to the thread (and core) whose slabs they are in.
    pub(crate) full: [MagStack; HOMES],
    pub(crate) empty: MagStack,
    /// Allocations and frees of the class counted so far: magazines add
    /// theirs when they come back, the paths that bypass magazines add
    /// theirs directly.
    pub(crate) allocs: AtomicU64,
    pub(crate) frees: AtomicU64,
    /// Rounds a magazine of this class holds.
    pub(crate) rounds: usize,
    /// Full magazines the depot keeps before it drains more into the slabs.
    pub(crate) limit: usize,
}

impl Depot {
    pub(crate) const fn new(rounds: usize, limit: usize) -> Self {
        Depot {
            full: [const { MagStack::new() }; HOMES],
            empty: MagStack::new(),
            allocs: AtomicU64::new(0),
            frees: AtomicU64::new(0),
            rounds,
            limit,
        }
    }

    /// Adds what a magazine counted to the class's counts, and clears it.
    pub(crate) fn harvest(&self, m: &mut Magazine) {
        let (allocs, frees) = (m.allocs(), m.frees());
        if allocs != 0 {
            self.allocs.fetch_add(u64::from(allocs), Ordering::Relaxed);
        }
        if frees != 0 {
            self.frees.fetch_add(u64::from(frees), Ordering::Relaxed);
        }
        m.reset_counts();
    }

    /// The class's counts, with what the given pair (the calling thread's)
    /// has not handed back yet.
    pub(crate) fn counts(&self, pair: Option<&MagPair>) -> (u64, u64) {
        let mut allocs = self.allocs.load(Ordering::Relaxed);
        let mut frees = self.frees.load(Ordering::Relaxed);
        if let Some(pair) = pair {
            let (a, f) = pair.counts();
            allocs += u64::from(a);
            frees += u64::from(f);
        }
        (allocs, frees)
    }

    /// Full magazines in the depot, over every home.
    pub(crate) fn full_len(&self) -> usize {
        self.full.iter().map(MagStack::len_hint).sum()
    }

    /// A full magazine of any home.
    fn take_any(&self) -> Option<NonNull<Magazine>> {
        self.full.iter().find_map(MagStack::pop)
    }

    /// A full magazine of a home other than `home` that no running thread
    /// has (its threads exited; a thread that takes over one of their
    /// caches later finds the stack emptier).
    fn take_idle(&self, home: usize) -> Option<NonNull<Magazine>> {
        (1..HOMES)
            .map(|i| (home + i) % HOMES)
            .filter(|&h| idle(h))
            .find_map(|h| self.full[h].pop())
    }

    /// An allocation whose loaded magazine is empty, by a thread of
    /// `home`: swap with the previous one if it holds objects, else trade
    /// the empty previous magazine for a full one from the depot (or one
    /// filled from the slabs). `None` when no object can be had.
    pub(crate) fn refill(
        &self,
        pair: &mut MagPair,
        home: usize,
        slabs: &impl Slabs,
    ) -> Option<(*mut u8, u32)> {
        // SAFETY: `pair`'s magazines are the calling thread's own (or the
        // sentinel, which is only read: its `len` and `cap` are 0).
        unsafe {
            if (*pair.previous()).len() > 0 {
                pair.swap();
            } else {
                let full = self.full_for(home, slabs)?;
                let prev = pair.replace(full.as_ptr());
                if prev != sentinel() {
                    self.harvest(&mut *prev);
                    self.empty.push(NonNull::new_unchecked(prev)).ok();
                }
            }
            // The new loaded magazine holds objects: the previous one did,
            // or it is full.
            Some(pair.pop_allocated())
        }
    }

    /// A full magazine for a thread of `home`: its home's, else one from
    /// elsewhere, adopted if it comes from another home's stack.
    ///
    /// Where the slabs keep homes (the zone's), it first fills one from the
    /// slabs without growing (the home's own partial slab or an empty one,
    /// see the slab layer's `Cache::claim`). Then, as where they do not
    /// (the shared object caches, whose fills cannot succeed without
    /// `grow`): an idle home's full magazine, then any home's, then one
    /// filled by growing (an idle home's partial slab, a new slab).
    ///
    /// Taking an idle home's magazine before the home's own slabs, as this
    /// did before, left 93% of each thread's tag lines written by both
    /// threads in the criterion churn (two threads, started anew each
    /// iteration; the other thread's home is idle for a moment between
    /// iterations); filling first leaves 71–84%, and the churn took 5%
    /// less time. Growing before taking a running home's magazine left
    /// about a quarter and took 5–8% less, but the `LD_PRELOAD` server
    /// workload's peak rose from 20.5 to 26.4 MiB: its receivers' homes
    /// grew new slabs while each other's stacks held full magazines.
    /// The price of this order is the churn's spread between processes:
    /// a process whose threads take 5–8 of each other's magazines per
    /// iteration keeps exchanging objects through the adopted slabs, and
    /// its iterations take 1.5 times those of a process that takes none.
    fn full_for(&self, home: usize, slabs: &impl Slabs) -> Option<NonNull<Magazine>> {
        if let Some(m) = self.full[home].pop() {
            return Some(m);
        }
        if slabs.keeps_homes() {
            if let Some(m) = self.filled(slabs, false) {
                return Some(m);
            }
        }
        let taken = match self.take_idle(home) {
            Some(m) => m,
            None => match self.take_any() {
                Some(m) => m,
                None => return self.filled(slabs, true),
            },
        };
        // SAFETY: popped, so ours alone; full magazines are not empty.
        slabs.adopt(unsafe { taken.as_ref() }, home);
        Some(taken)
    }

    /// A magazine filled from the slabs. If filling panics (a typed
    /// cache's constructor), the emptied magazine goes back to the depot.
    fn filled(&self, slabs: &impl Slabs, grow: bool) -> Option<NonNull<Magazine>> {
        struct Back<'a>(&'a MagStack, Option<NonNull<Magazine>>);
        impl Drop for Back<'_> {
            fn drop(&mut self) {
                if let Some(m) = self.1 {
                    self.0.push(m).ok();
                }
            }
        }
        let m = self.empty_magazine(slabs)?;
        let mut back = Back(&self.empty, Some(m));
        // SAFETY: a magazine nobody else holds.
        if slabs.fill(unsafe { &mut *m.as_ptr() }, grow) {
            back.1 = None;
            Some(m)
        } else {
            None
        }
    }

    /// An empty magazine: from the depot, or a new one.
    fn empty_magazine(&self, slabs: &impl Slabs) -> Option<NonNull<Magazine>> {
        self.empty.pop().or_else(|| slabs.new_magazine(self.rounds))
    }

    /// A free whose loaded magazine is full: swap with the previous one if
    /// it has room, else give the full previous magazine to the depot and
    /// take an empty one. `Err(p)` when no magazine can be had: the caller
    /// frees `p` into the slabs itself.
    pub(crate) fn spill(
        &self,
        pair: &mut MagPair,
        p: *mut u8,
        delta: u32,
        home: usize,
        slabs: &impl Slabs,
    ) -> Result<(), *mut u8> {
        // SAFETY: as in `refill`.
        unsafe {
            if (*pair.previous()).has_room() {
                pair.swap();
            } else {
                let Some(empty) = self.empty_magazine(slabs) else {
                    return Err(p);
                };
                let prev = pair.replace(empty.as_ptr());
                if prev != sentinel() {
                    self.give_back(NonNull::new_unchecked(prev), home, slabs);
                }
            }
            // The new loaded magazine has room: the previous one had, or it
            // is empty.
            pair.push_freed(p, delta);
        }
        Ok(())
    }

    /// Takes back the magazine of a thread of `home`: an empty one to the
    /// empty stack; one holding objects to the full stack of their home
    /// (its first object's, where the slabs keep homes, else `home`), or
    /// drained into the slabs when that stack already holds its limit.
    pub(crate) fn give_back(&self, m: NonNull<Magazine>, home: usize, slabs: &impl Slabs) {
        // SAFETY: the caller hands over a magazine of this class.
        let mag = unsafe { &mut *m.as_ptr() };
        self.harvest(mag);
        if mag.len() == 0 {
            self.empty.push(m).ok();
            return;
        }
        let to = slabs.home_of(mag).unwrap_or(home);
        if self.full[to].len_hint() >= self.limit {
            slabs.drain(mag);
            self.empty.push(m).ok();
        } else {
            self.full[to].push(m).ok();
        }
    }

    /// Drains every full magazine into the slabs.
    pub(crate) fn trim(&self, slabs: &impl Slabs) {
        while let Some(m) = self.take_any() {
            // SAFETY: popped, so ours alone.
            slabs.drain(unsafe { &mut *m.as_ptr() });
            self.empty.push(m).ok();
        }
    }
}

/// The allocations a magazine served since its last harvest, from its
/// `len_frees` and `base` (see [`Magazine`]).
fn allocs_of(len_frees: u64, base: u32) -> u32 {
    ((len_frees >> 32) as u32)
        .wrapping_add(base)
        .wrapping_sub(len_frees as u32)
}

/// A thread's loaded and previous magazines of one class. The loaded
/// magazine's length and frees live here, beside its address, while it is
/// loaded: an allocation reads both at once, where a length kept in the
/// magazine could only be read once the address had come (a load more on
/// the way to every object handed out). Every change of the loaded
/// magazine writes them back to it first.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct MagPair {
    loaded: *mut Magazine,
    /// The loaded magazine's `len_frees`.
    len_frees: u64,
    previous: *mut Magazine,
}

impl MagPair {
    /// Both magazines the sentinel: nothing held, no room.
    pub(crate) const EMPTY: MagPair = MagPair {
        loaded: SENTINEL_PTR,
        len_frees: 0,
        previous: SENTINEL_PTR,
    };

    /// The number of objects the loaded magazine holds.
    #[inline]
    pub(crate) fn len(&self) -> u32 {
        self.len_frees as u32
    }

    /// The loaded magazine's length and frees, as one word (for
    /// [`push_freed_at`](Self::push_freed_at)).
    #[inline]
    pub(crate) fn len_frees(&self) -> u64 {
        self.len_frees
    }

    /// How many objects the loaded magazine has room for (0 for the
    /// sentinel).
    #[inline]
    pub(crate) fn cap(&self) -> u32 {
        // SAFETY: `loaded` is always a live magazine or the sentinel.
        unsafe { (*self.loaded).cap }
    }

    /// Whether the loaded magazine has room for another object.
    #[inline]
    pub(crate) fn has_room(&self) -> bool {
        self.len() < self.cap()
    }

    /// Pushes `p`, freed by a caller, and counts the free.
    ///
    /// # Safety
    ///
    /// The loaded magazine has room.
    #[inline]
    pub(crate) unsafe fn push_freed(&mut self, p: *mut u8, delta: u32) {
        // SAFETY: the caller's promise.
        unsafe { self.push_freed_at(self.len_frees, p, delta) };
    }

    /// [`push_freed`](Self::push_freed) for a caller that read
    /// [`len_frees`](Self::len_frees) already.
    ///
    /// # Safety
    ///
    /// `len_frees` is the pair's, and the loaded magazine has room.
    #[inline]
    pub(crate) unsafe fn push_freed_at(&mut self, len_frees: u64, p: *mut u8, delta: u32) {
        let len = len_frees as u32;
        debug_assert!(len_frees == self.len_frees);
        debug_assert!(len < self.cap() && self.cap() as usize <= MAX_ROUNDS);
        // SAFETY: `len < cap <= MAX_ROUNDS`, by the caller; the loaded
        // magazine is not the sentinel (its `cap` is 0) and is this
        // thread's.
        unsafe {
            *ptr::addr_of_mut!((*self.loaded).rounds)
                .cast::<*mut u8>()
                .add(len as usize) = p;
            *ptr::addr_of_mut!((*self.loaded).deltas)
                .cast::<u32>()
                .add(len as usize) = delta;
        }
        self.len_frees = len_frees + (1 << 32 | 1);
    }

    /// Pops the loaded magazine's top object for a caller's allocation,
    /// which counts it (see `Magazine::base`).
    ///
    /// # Safety
    ///
    /// The loaded magazine holds an object.
    #[inline]
    pub(crate) unsafe fn pop_allocated(&mut self) -> (*mut u8, u32) {
        debug_assert!(self.len() > 0 && self.len() as usize <= MAX_ROUNDS);
        self.len_frees -= 1;
        let len = self.len() as usize;
        // SAFETY: `len < MAX_ROUNDS` now: it was at most `cap` and above 0.
        unsafe {
            (
                *ptr::addr_of!((*self.loaded).rounds)
                    .cast::<*mut u8>()
                    .add(len),
                *ptr::addr_of!((*self.loaded).deltas).cast::<u32>().add(len),
            )
        }
    }

    /// The previous magazine (its own length is current).
    pub(crate) fn previous(&self) -> *mut Magazine {
        self.previous
    }

    /// Writes the loaded magazine's length and frees back to it.
    fn store(&mut self) {
        if self.loaded != SENTINEL_PTR {
            // SAFETY: a live magazine of this pair's holder.
            unsafe { (*self.loaded).len_frees = self.len_frees };
        }
    }

    /// Loads `m` (the sentinel or a magazine the holder owns).
    fn load(&mut self, m: *mut Magazine) {
        self.loaded = m;
        // SAFETY: the sentinel or a live magazine, whose length is current
        // (it is not loaded elsewhere).
        self.len_frees = unsafe { (*m).len_frees };
    }

    /// Swaps the loaded and the previous magazine.
    pub(crate) fn swap(&mut self) {
        self.store();
        let prev = self.previous;
        self.previous = self.loaded;
        self.load(prev);
    }

    /// Loads `m`, the loaded magazine becoming the previous one; returns
    /// the previous one, which the pair no longer holds.
    pub(crate) fn replace(&mut self, m: *mut Magazine) -> *mut Magazine {
        self.store();
        let old = self.previous;
        self.previous = self.loaded;
        self.load(m);
        old
    }

    /// Empties the pair: returns both magazines, their lengths current (the
    /// sentinel where the pair held none), and leaves the sentinel in both
    /// places.
    pub(crate) fn take(&mut self) -> [*mut Magazine; 2] {
        self.store();
        let both = [self.loaded, self.previous];
        *self = MagPair::EMPTY;
        both
    }

    /// The allocations and frees both magazines served since their last
    /// harvest.
    pub(crate) fn counts(&self) -> (u32, u32) {
        // SAFETY: the holder's magazines or the sentinel (all zero).
        let (base, prev) = unsafe { ((*self.loaded).base, &*self.previous) };
        (
            allocs_of(self.len_frees, base).wrapping_add(prev.allocs()),
            ((self.len_frees >> 32) as u32).wrapping_add(prev.frees()),
        )
    }
}

/// A binding id: the zone's id, or [`UNBOUND`] when free; with this bit
/// set while a flush of the binding is in progress.
const BUSY: u64 = 1 << 63;

/// The id of a free binding: no zone state's address (those are
/// page-aligned), nor the ids of a zone whose state is not made yet (0 and
/// 1).
const UNBOUND: u64 = u64::MAX;

/// A thread's magazines for one zone: its loaded and previous magazine of
/// every class.
pub(crate) type Mags = [MagPair; CLASSES];

/// One thread's magazines, for up to [`BINDINGS`] zones. The ids are read
/// by other threads (a dropping zone); everything else is the thread's own.
pub(crate) struct ThreadCache {
    ids: [AtomicU64; BINDINGS],
    zones: [*const super::ZoneState; BINDINGS],
    mags: [Mags; BINDINGS],
    /// Bindings to shared object caches: one magazine pair each, in slot
    /// `id % OBJ_BINDINGS` (a collision flushes the older binding).
    obj_ids: [AtomicU64; OBJ_BINDINGS],
    obj_owners: [Option<Owner>; OBJ_BINDINGS],
    obj_pairs: [MagPair; OBJ_BINDINGS],
    /// Every thread cache ever made, linked for zones that drop.
    all_next: *mut ThreadCache,
    /// The free list of caches of exited threads.
    free_next: *mut ThreadCache,
    /// The thread's home (below [`HOMES`]): fixed when the cache is made,
    /// so a thread that takes over an exited thread's cache takes over
    /// its home, its depot stacks and its claimed slabs.
    home: usize,
}

/// The home of the next thread cache made.
static NEXT_HOME: AtomicUsize = AtomicUsize::new(0);

/// How many running threads have a cache of each home. A home with none is
/// idle: its full magazines are anyone's (a hint; a `fork` child keeps
/// its parent's counts).
static HOME_THREADS: [AtomicUsize; HOMES] = [const { AtomicUsize::new(0) }; HOMES];

/// Whether no running thread has a cache of `home`.
pub(crate) fn idle(home: usize) -> bool {
    HOME_THREADS[home].load(Ordering::Relaxed) == 0
}

/// The idle homes, as a mask: bit `h` set when [`idle`]`(h)`.
pub(crate) fn idle_homes() -> u8 {
    (0..HOMES)
        .filter(|&h| idle(h))
        .fold(0, |mask, h| mask | 1 << h)
}

/// Moves this thread (its cache) to `home`, for tests that need two
/// threads in known homes.
#[cfg(test)]
pub(crate) fn set_home(home: usize) {
    assert!(home < HOMES);
    let tc = current_or_new().expect("a thread cache");
    // SAFETY: this thread's live cache; only its thread reads `home`.
    unsafe {
        HOME_THREADS[(*tc).home].fetch_sub(1, Ordering::Relaxed);
        HOME_THREADS[home].fetch_add(1, Ordering::Relaxed);
        (*tc).home = home;
    }
}

/// This thread's home (0 before its cache is made and after its exit).
pub(crate) fn home() -> usize {
    // SAFETY: this thread's live cache or a placeholder; `home` never
    // changes once the cache is published.
    unsafe { (*current::get()).home }
}

/// Every thread cache ever made (never freed: reused by later threads).
static ALL: AtomicPtr<ThreadCache> = AtomicPtr::new(ptr::null_mut());

/// Thread caches of exited threads, ready for new ones.
struct FreeList(*mut ThreadCache);
// SAFETY: the list is only touched under its lock.
unsafe impl Send for FreeList {}
static FREE: ZoneLocked<FreeList> = ZoneLocked::new(FreeList(ptr::null_mut()));

/// The lock of the free list of thread caches, for a `fork`.
pub(crate) fn free_list_lock() -> &'static super::lock::YieldLock {
    FREE.raw_lock()
}

impl ThreadCache {
    /// A cache with no binding, that nothing writes.
    const fn placeholder() -> ThreadCache {
        ThreadCache {
            ids: [const { AtomicU64::new(UNBOUND) }; BINDINGS],
            zones: [ptr::null(); BINDINGS],
            mags: [EMPTY_MAGS; BINDINGS],
            obj_ids: [const { AtomicU64::new(0) }; OBJ_BINDINGS],
            obj_owners: [None; OBJ_BINDINGS],
            obj_pairs: [MagPair::EMPTY; OBJ_BINDINGS],
            all_next: ptr::null_mut(),
            free_next: ptr::null_mut(),
            home: 0,
        }
    }
}

/// A thread cache that is nobody's: every id 0 (no zone or cache has id
/// 0), so a fast path that looks up a binding in it finds none, with no
/// null check first. Never written. Transparent, so that the static's
/// address is the cache's (the assembly below takes the former).
#[repr(transparent)]
struct Placeholder(ThreadCache);
// SAFETY: never written; its ids are atomics and its pointers null or the
// sentinel's.
unsafe impl Sync for Placeholder {}
static UNMADE: Placeholder = Placeholder(ThreadCache::placeholder());
static EXITED: Placeholder = Placeholder(ThreadCache::placeholder());

/// The thread's cache before the thread's first zone operation.
const UNMADE_PTR: *mut ThreadCache = ptr::addr_of!(UNMADE.0).cast_mut();
/// The thread's cache after the thread's exit flush: everything goes to
/// the slab layer directly from then on.
const EXITED_PTR: *mut ThreadCache = ptr::addr_of!(EXITED.0).cast_mut();

/// This thread's cache: [`UNMADE_PTR`] before its first zone operation,
/// then its own `ThreadCache`, then [`EXITED_PTR`].
///
/// Read by every allocation and free, so its access is what it costs. In a
/// shared library (`libslabmalloc.so`, preloaded or loaded with `dlopen`)
/// Rust's `thread_local!` uses the general-dynamic model: a call to
/// `__tls_get_addr` per access. On x86-64 Linux the slot is defined in
/// assembly instead and reached with the initial-exec model (U. Drepper,
/// *ELF Handling For Thread-Local Storage*, version 0.21, 2013): two
/// instructions, a load of the word's offset from the GOT and a load
/// relative to `%fs`. The word lives in the static TLS block, where
/// `dlopen` can still place it (glibc keeps a surplus for such libraries;
/// `malloc-bind`'s `tests/c/dlopen.c` loads the library that way).
/// Elsewhere, and under Miri, it is a `const`-initialised `thread_local!`
/// with no destructor. Either way reading it never allocates or registers
/// anything.
#[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri)))]
mod current {
    use super::{ThreadCache, UNMADE};

    /// The slot's symbol: versioned, so that two versions of this crate in
    /// one program keep two slots.
    macro_rules! slot {
        () => {
            concat!(
                "slab_alloc_zone_current_",
                env!("CARGO_PKG_VERSION_MAJOR"),
                "_",
                env!("CARGO_PKG_VERSION_MINOR")
            )
        };
    }

    // One 8-byte TLS word, initially the placeholder's address (the
    // dynamic linker relocates the TLS image before any thread copies it).
    // Hidden: the library's own, not exported.
    core::arch::global_asm!(
        concat!(".section .tdata.", slot!(), ",\"awT\",@progbits"),
        ".p2align 3",
        concat!(".globl ", slot!()),
        concat!(".hidden ", slot!()),
        concat!(".type ", slot!(), ",@object"),
        concat!(".size ", slot!(), ", 8"),
        concat!(slot!(), ":"),
        ".quad {placeholder}",
        ".previous",
        placeholder = sym UNMADE,
    );

    /// This thread's value.
    #[inline(always)]
    pub(super) fn get() -> *mut ThreadCache {
        let tc: *mut ThreadCache;
        // SAFETY: reads this thread's word of the slot defined above (its
        // offset from the thread pointer, from the GOT).
        unsafe {
            core::arch::asm!(
                concat!("movq ", slot!(), "@GOTTPOFF(%rip), {r}"),
                "movq %fs:({r}), {r}",
                r = out(reg) tc,
                options(att_syntax, nostack, preserves_flags, readonly, pure),
            );
        }
        tc
    }

    /// Sets this thread's value.
    #[inline(always)]
    pub(super) fn set(tc: *mut ThreadCache) {
        // SAFETY: writes this thread's word of the slot defined above.
        unsafe {
            core::arch::asm!(
                concat!("movq ", slot!(), "@GOTTPOFF(%rip), {r}"),
                "movq {tc}, %fs:({r})",
                r = out(reg) _,
                tc = in(reg) tc,
                options(att_syntax, nostack, preserves_flags),
            );
        }
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux", not(miri))))]
mod current {
    use super::{ThreadCache, UNMADE_PTR};
    use core::cell::Cell;

    std::thread_local! {
        static CURRENT: Cell<*mut ThreadCache> = const { Cell::new(UNMADE_PTR) };
    }

    /// This thread's value.
    #[inline(always)]
    pub(super) fn get() -> *mut ThreadCache {
        CURRENT.with(Cell::get)
    }

    /// Sets this thread's value.
    #[inline(always)]
    pub(super) fn set(tc: *mut ThreadCache) {
        CURRENT.with(|c| c.set(tc));
    }
}

/// This thread's own cache, if it has one now.
#[inline]
fn own_cache() -> Option<*mut ThreadCache> {
    let tc = current::get();
    (tc != UNMADE_PTR && tc != EXITED_PTR).then_some(tc)
}

/// The thread-specific key whose destructor flushes a thread's magazines.
static KEY: OnceLock<Option<libc::pthread_key_t>> = OnceLock::new();

/// This thread's magazines for the zone with `id`, if it has them. The
/// first binding is checked inline (a process with one zone uses only
/// that one), the others out of line.
#[inline]
pub(crate) fn binding(id: u64) -> Option<&'static mut Mags> {
    let tc = current::get();
    // SAFETY: this thread's live cache, or a placeholder, whose ids are
    // all free and never match. The ids are atomic and shared; the
    // magazines of a binding are reached only by this thread (a dropping
    // zone only swaps the id).
    unsafe {
        if (*tc).ids[0].load(Ordering::Relaxed) == id {
            return Some(&mut *ptr::addr_of_mut!((*tc).mags[0]));
        }
    }
    other_binding(tc, id)
}

/// [`binding`] past the first.
#[inline(never)]
fn other_binding(tc: *mut ThreadCache, id: u64) -> Option<&'static mut Mags> {
    for i in 1..BINDINGS {
        // SAFETY: as in `binding`.
        unsafe {
            if (*tc).ids[i].load(Ordering::Relaxed) == id {
                return Some(&mut *ptr::addr_of_mut!((*tc).mags[i]));
            }
        }
    }
    None
}

/// Binds this thread to `zone` (whose id is `id`): takes a free binding,
/// or flushes the last one. `None` once the thread is exiting, or if no
/// thread cache can be made.
#[cold]
pub(crate) fn bind(id: u64, zone: *const super::ZoneState) -> Option<&'static mut Mags> {
    let tc = current_or_new()?;
    // SAFETY: this thread's live cache: ids through shared references, the
    // rest through this thread's own raw pointer.
    unsafe {
        let slot = (0..BINDINGS)
            .find(|&i| (*tc).ids[i].load(Ordering::Relaxed) == UNBOUND)
            .unwrap_or_else(|| {
                flush(tc, BINDINGS - 1);
                BINDINGS - 1
            });
        (*tc).zones[slot] = zone;
        let mags = &mut *ptr::addr_of_mut!((*tc).mags[slot]);
        *mags = EMPTY_MAGS;
        (*tc).ids[slot].store(id, Ordering::Release);
        Some(mags)
    }
}

/// The sentinel's address, as a constant.
const SENTINEL_PTR: *mut Magazine = ptr::addr_of!(SENTINEL.0).cast_mut();

/// A binding's magazines before use: the sentinel everywhere.
const EMPTY_MAGS: Mags = [MagPair::EMPTY; CLASSES];

/// This thread's cache, made (and its exit destructor registered) on first
/// use; `None` once the thread is exiting or if none can be made.
fn current_or_new() -> Option<*mut ThreadCache> {
    let mut tc = current::get();
    if tc == EXITED_PTR {
        return None;
    }
    if tc == UNMADE_PTR {
        tc = acquire()?;
        // SAFETY: a cache of this thread's now; its home is fixed.
        HOME_THREADS[unsafe { (*tc).home }].fetch_add(1, Ordering::Relaxed);
        current::set(tc);
        let key = KEY.get_or_init(|| {
            let mut key: libc::pthread_key_t = 0;
            // SAFETY: `thread_exit` has the signature a key destructor
            // needs; `key` is written by the call.
            let rc = unsafe { libc::pthread_key_create(&mut key, Some(thread_exit)) };
            (rc == 0).then_some(key)
        });
        if let Some(key) = *key {
            // SAFETY: a key this process created; the value is the
            // thread's cache, which the destructor receives.
            unsafe { libc::pthread_setspecific(key, tc.cast()) };
        }
    }
    Some(tc)
}

/// This thread's magazine pair for the shared cache with `id`, if bound.
#[inline]
pub(crate) fn obj_binding(id: u64) -> Option<&'static mut MagPair> {
    let tc = current::get();
    let i = (id % OBJ_BINDINGS as u64) as usize;
    // SAFETY: a live `ThreadCache` of this thread, or a placeholder whose
    // ids are 0 and never match; ids are shared atomics, the pair is this
    // thread's own while the id is the cache's.
    unsafe {
        if (*tc).obj_ids[i].load(Ordering::Relaxed) == id {
            Some(&mut *ptr::addr_of_mut!((*tc).obj_pairs[i]))
        } else {
            None
        }
    }
}

/// Binds this thread to the shared cache with `id`, flushing whatever
/// binding held its slot. `None` once the thread is exiting.
#[cold]
pub(crate) fn obj_bind(id: u64, owner: Owner) -> Option<&'static mut MagPair> {
    let tc = current_or_new()?;
    let i = (id % OBJ_BINDINGS as u64) as usize;
    // SAFETY: this thread's live cache; the slot is free after the flush
    // (which waits out a dropping cache that is taking it).
    unsafe {
        flush_obj(tc, i);
        (*tc).obj_owners[i] = Some(owner);
        let pair = &mut *ptr::addr_of_mut!((*tc).obj_pairs[i]);
        *pair = MagPair::EMPTY;
        (*tc).obj_ids[i].store(id, Ordering::Release);
        Some(pair)
    }
}

/// Gives the magazines of object binding `i` of `tc` back to their cache
/// and frees the binding. Run by the owning thread (a collision, its
/// exit) or by a dropping cache; whoever marks the id busy first does it,
/// and the other waits.
///
/// # Safety
///
/// `tc` is a live thread cache. If the caller is not its thread, the
/// binding's cache is the caller's own, being dropped.
unsafe fn flush_obj(tc: *mut ThreadCache, i: usize) {
    // SAFETY: the ids are shared atomics.
    let ids = unsafe { &(*tc).obj_ids };
    loop {
        let id = ids[i].load(Ordering::Acquire);
        if id == 0 {
            return;
        }
        if id & BUSY != 0 {
            core::hint::spin_loop();
            continue;
        }
        if ids[i]
            .compare_exchange(id, id | BUSY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            break;
        }
    }
    // SAFETY: marked busy by us: no one else touches the binding, and its
    // cache is alive (a dropping cache waits for busy bindings, or is the
    // caller).
    unsafe { give_back_obj(tc, i) };
    ids[i].store(0, Ordering::Release);
}

/// Hands both magazines of object binding `i` to its owner.
///
/// # Safety
///
/// The caller marked the binding busy; its owner is alive.
unsafe fn give_back_obj(tc: *mut ThreadCache, i: usize) {
    // SAFETY: the caller's busy binding: its owner and pair are stable.
    unsafe {
        let pair = &mut *ptr::addr_of_mut!((*tc).obj_pairs[i]);
        let both = pair.take();
        if let Some(owner) = (*tc).obj_owners[i] {
            for m in both {
                if let Some(m) = NonNull::new(m).filter(|m| m.as_ptr() != sentinel()) {
                    (owner.give_back)(owner.core, m, (*tc).home);
                }
            }
        }
    }
}

/// Takes every thread's binding to the shared cache with `id` and gives
/// its magazines back to the cache (which is dropping). Waits out a flush
/// in progress by the binding's thread.
pub(crate) fn take_everywhere(id: u64) {
    let i = (id % OBJ_BINDINGS as u64) as usize;
    let mut tc = ALL.load(Ordering::Acquire);
    while !tc.is_null() {
        // SAFETY: thread caches are never freed; the ids are atomics.
        let ids = unsafe { &(*tc).obj_ids };
        loop {
            match ids[i].compare_exchange(id, id | BUSY, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => {
                    // SAFETY: marked busy by us; the cache (ours) is alive
                    // until this returns.
                    unsafe { give_back_obj(tc, i) };
                    ids[i].store(0, Ordering::Release);
                    break;
                }
                Err(now) if now == id | BUSY => core::hint::spin_loop(),
                Err(_) => break,
            }
        }
        // SAFETY: as above; `all_next` never changes once published.
        tc = unsafe { (*tc).all_next };
    }
}

/// A thread cache for a new thread: one from an exited thread, or a new
/// mapping.
fn acquire() -> Option<*mut ThreadCache> {
    let reused = FREE.with(|f| {
        let tc = f.0;
        if !tc.is_null() {
            // SAFETY: a cache on the free list.
            f.0 = unsafe { (*tc).free_next };
        }
        tc
    });
    if !reused.is_null() {
        return Some(reused);
    }
    let size = size_of::<ThreadCache>();
    let mem = MapAlloc::new().map(size, 4096).ok()?;
    let tc = mem.as_ptr().cast::<ThreadCache>();
    // SAFETY: a fresh zeroed mapping big enough for a `ThreadCache`: its
    // bindings are marked free here, zeroed object-cache ids are free, and
    // the rest is written before use.
    unsafe {
        for id in &(*tc).ids {
            id.store(UNBOUND, Ordering::Relaxed);
        }
        ptr::addr_of_mut!((*tc).free_next).write(ptr::null_mut());
        ptr::addr_of_mut!((*tc).home).write(NEXT_HOME.fetch_add(1, Ordering::Relaxed) % HOMES);
        let mut head = ALL.load(Ordering::Relaxed);
        loop {
            ptr::addr_of_mut!((*tc).all_next).write(head);
            match ALL.compare_exchange_weak(head, tc, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => head = now,
            }
        }
    }
    Some(tc)
}

/// Returns binding `i`'s magazines to its zone's depots and frees the
/// binding, unless its zone is dropping (then the zone has cleared it).
///
/// # Safety
///
/// `tc` is the calling thread's live cache.
unsafe fn flush(tc: *mut ThreadCache, i: usize) {
    // SAFETY: the caller's cache; ids are shared atomics.
    let ids = unsafe { &(*tc).ids };
    let id = ids[i].load(Ordering::Relaxed);
    if id == UNBOUND
        || ids[i]
            .compare_exchange(id, id | BUSY, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    // SAFETY: the id was the zone's and is now marked busy, so the zone is
    // alive and its drop waits for this flush; the magazines are this
    // thread's own.
    let (zone, mags, home) = unsafe {
        (
            &*(*tc).zones[i],
            &mut *ptr::addr_of_mut!((*tc).mags[i]),
            (*tc).home,
        )
    };
    for (k, pair) in mags.iter_mut().enumerate() {
        for m in pair.take() {
            if let Some(m) = NonNull::new(m).filter(|m| m.as_ptr() != sentinel()) {
                zone.return_magazine(k, m, home);
            }
        }
    }
    ids[i].store(UNBOUND, Ordering::Release);
}

/// Flushes this thread's binding to the zone with `id`, if any.
pub(crate) fn flush_current(id: u64) {
    let Some(tc) = own_cache() else {
        return;
    };
    for i in 0..BINDINGS {
        // SAFETY: this thread's live cache.
        unsafe {
            if (*tc).ids[i].load(Ordering::Relaxed) == id {
                flush(tc, i);
            }
        }
    }
}

/// The key destructor: runs when a thread exits.
extern "C" fn thread_exit(tc: *mut libc::c_void) {
    let tc = tc.cast::<ThreadCache>();
    current::set(EXITED_PTR);
    for i in 0..BINDINGS {
        // SAFETY: the value `bind` set: this thread's live cache.
        unsafe { flush(tc, i) };
    }
    for i in 0..OBJ_BINDINGS {
        // SAFETY: as above.
        unsafe { flush_obj(tc, i) };
    }
    // SAFETY: as above.
    HOME_THREADS[unsafe { (*tc).home }].fetch_sub(1, Ordering::Relaxed);
    FREE.with(|f| {
        // SAFETY: the exiting thread's cache, no longer used by it.
        unsafe { (*tc).free_next = f.0 };
        f.0 = tc;
    });
}

/// Clears every thread's binding to the zone with `id`, waiting out
/// flushes in progress. Called by the zone's drop.
pub(crate) fn unbind_everywhere(id: u64) {
    let mut tc = ALL.load(Ordering::Acquire);
    while !tc.is_null() {
        // SAFETY: thread caches are never freed; only their atomic ids are
        // touched here.
        let ids = unsafe { &(*tc).ids };
        for slot in ids {
            loop {
                match slot.compare_exchange(id, UNBOUND, Ordering::AcqRel, Ordering::Relaxed) {
                    Err(now) if now == id | BUSY => core::hint::spin_loop(),
                    _ => break,
                }
            }
        }
        // SAFETY: as above; `all_next` never changes once published.
        tc = unsafe { (*tc).all_next };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Magazines on the heap for the stack to link (the zone's come from a
    /// slab cache).
    fn magazines(n: usize) -> Vec<Magazine> {
        (0..n).map(|_| Magazine::empty(0)).collect()
    }

    #[test]
    fn the_depot_stack_is_last_in_first_out() {
        let mut mags = magazines(3);
        let stack = MagStack::new();
        assert_eq!(stack.try_pop(), Err(PopError::Empty));
        let ptrs: Vec<_> = mags.iter_mut().map(NonNull::from).collect();
        for &m in &ptrs {
            stack.push(m).unwrap();
        }
        assert_eq!(stack.len_hint(), 3);
        assert_eq!(stack.pop(), Some(ptrs[2]));
        assert_eq!(stack.pop(), Some(ptrs[1]));
        assert_eq!(stack.pop(), Some(ptrs[0]));
        assert_eq!(stack.pop(), None);
        assert_eq!(stack.len_hint(), 0);
    }

    /// Threads pass magazines through one stack; a magazine held by two
    /// threads at once (a lost or doubled item, or ABA) shows as a `cap`
    /// that is not the holder's mark.
    #[test]
    fn magazines_pass_through_the_stack_whole_under_contention() {
        let threads = 4;
        let rounds = if cfg!(miri) { 200 } else { 100_000 };
        let mut mags = magazines(8);
        let stack = MagStack::new();
        for m in &mut mags {
            stack.push(NonNull::from(m)).unwrap();
        }
        std::thread::scope(|s| {
            for t in 1..=threads {
                let stack = &stack;
                s.spawn(move || {
                    for _ in 0..rounds {
                        if let Some(m) = stack.pop() {
                            // SAFETY: popped, so this thread's alone.
                            unsafe {
                                (*m.as_ptr()).cap = t;
                                core::hint::spin_loop();
                                assert_eq!((*m.as_ptr()).cap, t, "a magazine had two holders");
                            }
                            stack.push(m).unwrap();
                        }
                    }
                });
            }
        });
        let mut seen = 0;
        while stack.pop().is_some() {
            seen += 1;
        }
        assert_eq!(seen, 8);
    }
}
