//! Sharing a cache without `std`: a pluggable lock ([`RawLock`]), a spin
//! lock, a no-op lock for code that never shares, and [`Locked`], the
//! wrapper that makes any single-threaded allocator a shared one.
//!
//! The caches themselves stay single-threaded (`&mut self`); `Locked` takes
//! the lock around every call, so each call sees the cache as if it were the
//! only user. This is Bonwick's per-cache lock (1994), before the magazine
//! layer (2001) takes the lock off the fast path.

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::fmt;
use core::hint::spin_loop;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};

use object_alloc::{
    AllocError, ObjectAlloc, SharedObjectAlloc, SharedUntypedObjectAlloc, UntypedObjectAlloc,
};

/// A lock without data: what [`Locked`] takes around every call to its
/// cache. Implement it to plug in a platform's lock: a critical section that
/// masks interrupts, an RTOS mutex, a ticket lock.
///
/// `INIT` is a constant so that a `Locked` can be built in a `const`
/// context (a `static`). `unlock` is `unsafe` because releasing a lock the
/// caller does not hold would let two contexts in at once.
///
/// # Safety
///
/// Implementors guarantee, for every value of the type:
/// - `INIT` is unlocked.
/// - If [`EXCLUSIVE`](Self::EXCLUSIVE) is `true` (the default): once a call
///   of `lock` has returned, no other call of `lock` on the same value
///   returns, in any thread or interrupt context, until `unlock` has been
///   called. `lock` may wait forever instead (a deadlock, for instance when
///   the holder calls `lock` again, is not unsound).
/// - `unlock` *releases* and a returning `lock` *acquires*: everything the
///   holder did before `unlock` happens before everything the next holder
///   does after its `lock` returns.
///
/// A lock whose `EXCLUSIVE` is `false` ([`NoLock`]) promises only the first
/// point; [`Locked::new`] refuses it, and only the `unsafe`
/// [`Locked::new_unchecked`] builds a `Locked` with it.
///
/// # Examples
///
/// A ticket lock, which serves waiters in the order they came:
///
/// ```
/// use core::hint::spin_loop;
/// use core::sync::atomic::{AtomicUsize, Ordering};
/// use slab_alloc::{Locked, RawLock};
///
/// struct TicketLock { next: AtomicUsize, serving: AtomicUsize }
///
/// // SAFETY: a `lock` returns only when `serving` reaches its ticket, and
/// // only the holder moves `serving` on, once, in `unlock`; the Release
/// // store pairs with the Acquire load of the next holder.
/// unsafe impl RawLock for TicketLock {
///     #[allow(clippy::declare_interior_mutable_const)] // a fresh lock per use
///     const INIT: Self = TicketLock { next: AtomicUsize::new(0), serving: AtomicUsize::new(0) };
///
///     fn lock(&self) {
///         let ticket = self.next.fetch_add(1, Ordering::Relaxed);
///         while self.serving.load(Ordering::Acquire) != ticket {
///             spin_loop();
///         }
///     }
///
///     unsafe fn unlock(&self) {
///         let now = self.serving.load(Ordering::Relaxed);
///         self.serving.store(now + 1, Ordering::Release);
///     }
/// }
///
/// let counter = Locked::<u64, TicketLock>::new(0);
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| (0..100).for_each(|_| counter.with(|n| *n += 1)));
///     }
/// });
/// assert_eq!(counter.into_inner(), 400);
/// ```
pub unsafe trait RawLock {
    /// An unlocked lock.
    ///
    /// ```
    /// use slab_alloc::{RawLock, SpinLock};
    /// let lock = SpinLock::INIT;
    /// lock.lock();
    /// // SAFETY: we hold the lock.
    /// unsafe { lock.unlock() };
    /// ```
    const INIT: Self;

    /// Whether the lock excludes at all: `false` only for a lock, such as
    /// [`NoLock`], that leaves exclusion to its user.
    ///
    /// ```
    /// use slab_alloc::{NoLock, RawLock, SpinLock};
    /// assert!(SpinLock::EXCLUSIVE);
    /// assert!(!NoLock::EXCLUSIVE);
    /// ```
    const EXCLUSIVE: bool = true;

    /// Takes the lock, waiting for as long as another context holds it.
    ///
    /// ```
    /// use slab_alloc::{RawLock, SpinLock};
    /// let lock = SpinLock::new();
    /// lock.lock();
    /// // SAFETY: we hold the lock.
    /// unsafe { lock.unlock() };
    /// ```
    fn lock(&self);

    /// Releases the lock.
    ///
    /// # Safety
    ///
    /// - The lock is held, taken by the caller's own call of `lock` (or one
    ///   the caller took over), and not released since.
    ///
    /// ```
    /// use slab_alloc::{RawLock, SpinLock};
    /// let lock = SpinLock::new();
    /// lock.lock();
    /// // SAFETY: we hold the lock.
    /// unsafe { lock.unlock() };
    /// lock.lock(); // free again
    /// # unsafe { lock.unlock() };
    /// ```
    unsafe fn unlock(&self);
}

/// A spin lock on one `AtomicBool`: test-and-test-and-set, spinning on a
/// plain load (so waiters do not bounce the cache line) with
/// [`spin_loop`] hints. `no_std`; it needs only a compare-and-swap on a
/// byte, which every target with `core::sync::atomic::AtomicBool`'s
/// `compare_exchange` has (thumbv7em included; not thumbv6m).
///
/// It is not fair, and it never sleeps: it suits short critical sections,
/// such as one cache call, between threads. An interrupt handler that takes
/// a spin lock its interrupted code holds spins forever; there, implement
/// [`RawLock`] with a critical section that masks interrupts.
///
/// ```
/// use slab_alloc::{RawLock, SpinLock};
///
/// static LOCK: SpinLock = SpinLock::new();
/// LOCK.lock();
/// // SAFETY: we took the lock just above.
/// unsafe { LOCK.unlock() };
/// ```
#[derive(Debug, Default)]
pub struct SpinLock {
    locked: AtomicBool,
}

impl SpinLock {
    /// An unlocked spin lock.
    ///
    /// ```
    /// let lock = slab_alloc::SpinLock::new();
    /// # let _ = lock;
    /// ```
    pub const fn new() -> Self {
        SpinLock {
            locked: AtomicBool::new(false),
        }
    }

    /// Spins until the lock looks free, then tries again.
    #[cold]
    #[inline(never)]
    fn lock_slow(&self) {
        self.lock_relaxing(spin_loop);
    }

    /// Takes the lock, calling `relax` while it looks held: the
    /// test-and-test-and-set loop, with the waiting left to the caller
    /// (the zone's lock spins a while, then yields the CPU).
    pub(crate) fn lock_relaxing(&self, mut relax: impl FnMut()) {
        loop {
            while self.locked.load(Ordering::Relaxed) {
                relax();
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

// SAFETY: `lock` returns only after its compare-exchange turned `locked`
// from false to true, and only `unlock` stores false again, so one holder at
// a time; the Acquire compare-exchange pairs with the Release store.
unsafe impl RawLock for SpinLock {
    // Each use of `INIT` is a fresh, unlocked lock, which is the point.
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = SpinLock::new();

    /// Takes the lock. Fast path: one compare-exchange on a free lock; a
    /// held lock sends the call to the spinning slow path.
    #[inline]
    fn lock(&self) {
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow();
        }
    }

    #[inline]
    unsafe fn unlock(&self) {
        self.locked.store(false, Ordering::Release);
    }
}

/// A lock that does nothing, for code in which a cache is never used from two
/// contexts at once: a single core without interrupt handlers that allocate,
/// or one thread that wants a `Locked` only to pass `&cache` where a shared
/// allocator is asked for.
///
/// Its [`EXCLUSIVE`](RawLock::EXCLUSIVE) is `false`, so [`Locked::new`]
/// rejects it at compile time and a `Locked` with it is made only by the
/// `unsafe` [`Locked::new_unchecked`]. The promise belongs there rather than
/// on `NoLock`'s construction because it is a promise about how one cache is
/// used (never from two contexts at once, never re-entered), and a
/// `NoLock` value on its own can do no harm.
///
/// ```compile_fail
/// use slab_alloc::{Locked, NoLock};
/// let counter = Locked::<u64, NoLock>::new(0); // error: NoLock does not exclude
/// # let _ = counter;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NoLock;

// SAFETY: `EXCLUSIVE` is false, so the only promises are that `INIT` is
// unlocked (there is no state) and the ordering one, which holds vacuously:
// `Locked::new_unchecked`'s caller promises that no two calls are
// concurrent, so each already happens before the next.
unsafe impl RawLock for NoLock {
    const INIT: Self = NoLock;
    const EXCLUSIVE: bool = false;

    #[inline]
    fn lock(&self) {}

    #[inline]
    unsafe fn unlock(&self) {}
}

/// A cache (or any value) behind a [`RawLock`]: `Sync` when the cache is
/// `Send`, and a shared allocator ([`SharedUntypedObjectAlloc`],
/// [`SharedObjectAlloc<T>`]) when the cache is the single-threaded one.
/// Every call through `&self` takes the lock for its whole length; calls
/// through `&mut self` need no lock and take none.
///
/// Calling into the same `Locked` from inside [`with`](Self::with), or from
/// a typed cache's constructor, deadlocks with a real lock.
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{GlobalUntyped, SharedUntypedObjectAlloc};
/// use slab_alloc::{Locked, SlabBuilder, SpinLock, slab_layout_for};
///
/// let object = Layout::new::<[u64; 8]>();
/// let cache = SlabBuilder::new("packets")
///     .layout(object)
///     .build_untyped(GlobalUntyped::system(slab_layout_for(object)))
///     .unwrap();
/// let shared = Locked::<_, SpinLock>::new(cache);
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| {
///             let block = shared.alloc().unwrap();
///             // SAFETY: from `shared`, freed once.
///             unsafe { shared.dealloc(block) };
///         });
///     }
/// });
/// assert_eq!(shared.with(|c| c.stats().objects_allocated), 4);
/// ```
///
/// It is `Sync` only when the cache can move between threads:
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<slab_alloc::Locked<std::rc::Rc<u8>, slab_alloc::SpinLock>>();
/// ```
pub struct Locked<C, L = SpinLock> {
    // Read first on every call.
    lock: L,
    cache: UnsafeCell<C>,
}

// SAFETY: `&Locked` reaches the cache only through `with`, which holds the
// lock (a `RawLock` that excludes, or one whose user promised in
// `new_unchecked` that calls never overlap), so one context at a time has
// `&mut C`: that is moving the cache between threads, which `C: Send` allows.
// The lock itself is used from every thread, hence `L: Sync`.
unsafe impl<C: Send, L: RawLock + Sync> Sync for Locked<C, L> {}

impl<C, L: RawLock> Locked<C, L> {
    /// Puts `cache` behind a fresh lock. A `const fn`, so a `Locked` can be
    /// a `static`.
    ///
    /// A lock that does not exclude ([`NoLock`]) is a compile-time error
    /// here; see [`new_unchecked`](Self::new_unchecked).
    ///
    /// ```
    /// use slab_alloc::{Locked, SpinLock};
    ///
    /// static HITS: Locked<u64, SpinLock> = Locked::new(0);
    /// HITS.with(|n| *n += 1);
    /// assert_eq!(HITS.with(|n| *n), 1);
    /// ```
    pub const fn new(cache: C) -> Self {
        const {
            assert!(
                L::EXCLUSIVE,
                "this lock does not exclude: build the Locked with the unsafe `Locked::new_unchecked`"
            )
        };
        Locked {
            lock: L::INIT,
            cache: UnsafeCell::new(cache),
        }
    }

    /// Puts `cache` behind a lock that may not exclude at all ([`NoLock`]).
    ///
    /// # Safety
    ///
    /// Unless `L::EXCLUSIVE` is true, for the whole life of the `Locked`:
    /// - No two calls through `&self` (`with`, the allocator traits'
    ///   methods) are concurrent: each happens before the next, whether they
    ///   come from threads, interrupt handlers or signal handlers.
    /// - No call through `&self` starts while another is running: not from
    ///   inside a `with` closure, nor from a typed cache's constructor or the
    ///   cache's backing.
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use object_alloc::{GlobalUntyped, ObjectBox};
    /// use slab_alloc::{Locked, NoLock, SlabBuilder, slab_layout_for};
    ///
    /// let cache = SlabBuilder::new("nodes")
    ///     .build_default::<[u64; 4], _>(GlobalUntyped::system(slab_layout_for(Layout::new::<[u64; 4]>())))
    ///     .unwrap();
    /// // SAFETY: used from this thread only, and never from inside `with`.
    /// let shared = unsafe { Locked::<_, NoLock>::new_unchecked(cache) };
    /// let node = ObjectBox::new_in(&shared).unwrap();
    /// assert_eq!(*node, [0; 4]);
    /// drop(node);
    /// assert_eq!(shared.with(|c| c.stats().objects_freed), 1);
    /// ```
    pub const unsafe fn new_unchecked(cache: C) -> Self {
        Locked {
            lock: L::INIT,
            cache: UnsafeCell::new(cache),
        }
    }

    /// Runs `f` on the cache with the lock held, and releases it after,
    /// also when `f` panics.
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use object_alloc::{GlobalUntyped, SharedUntypedObjectAlloc};
    /// use slab_alloc::{Locked, SlabBuilder, SpinLock, slab_layout_for};
    ///
    /// let object = Layout::new::<u64>();
    /// let shared = Locked::<_, SpinLock>::new(
    ///     SlabBuilder::new("words").layout(object)
    ///         .build_untyped(GlobalUntyped::system(slab_layout_for(object))).unwrap(),
    /// );
    /// let w = shared.alloc().unwrap();
    /// // SAFETY: from `shared`'s cache, checked, freed once.
    /// shared.with(|cache| unsafe { cache.try_dealloc(w) }).unwrap();
    /// assert_eq!(shared.with(|cache| cache.reap()), 1);
    /// ```
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(&mut C) -> R) -> R {
        /// Releases the lock when dropped, so a panic in `f` does too.
        struct Unlock<'a, L: RawLock>(&'a L);
        impl<L: RawLock> Drop for Unlock<'_, L> {
            #[inline]
            fn drop(&mut self) {
                // SAFETY: made right after `lock` returned, dropped once.
                unsafe { self.0.unlock() }
            }
        }
        self.lock.lock();
        let _unlock = Unlock(&self.lock);
        // SAFETY: the lock is held until `_unlock` drops, after the last use
        // of this reference: no other `&mut C` exists (an excluding lock, or
        // `new_unchecked`'s promise), and `&mut self` methods cannot run
        // while `&self` is borrowed.
        f(unsafe { &mut *self.cache.get() })
    }
}

impl<C, L> Locked<C, L> {
    /// The lock itself, for holding it across a stretch of code that a
    /// closure cannot wrap, such as from a `pthread_atfork` prepare handler
    /// to the parent and child handlers (take it with [`RawLock::lock`],
    /// release it with [`RawLock::unlock`]). While it is held, [`with`]
    /// waits.
    ///
    /// ```
    /// use slab_alloc::{Locked, RawLock, SpinLock};
    ///
    /// let shared = Locked::<u32, SpinLock>::new(1);
    /// shared.raw_lock().lock();
    /// // … a fork would happen here, with no call inside the cache …
    /// // SAFETY: taken just above by this thread.
    /// unsafe { shared.raw_lock().unlock() };
    /// assert_eq!(shared.with(|n| *n), 1);
    /// ```
    ///
    /// [`with`]: Locked::with
    pub fn raw_lock(&self) -> &L {
        &self.lock
    }

    /// The cache, without locking: `&mut self` proves no one else uses it.
    ///
    /// ```
    /// use slab_alloc::{Locked, SpinLock};
    /// let mut counter = Locked::<u64, SpinLock>::new(1);
    /// *counter.get_mut() += 1;
    /// assert_eq!(counter.into_inner(), 2);
    /// ```
    #[inline]
    pub fn get_mut(&mut self) -> &mut C {
        self.cache.get_mut()
    }

    /// Takes the cache out of the lock.
    ///
    /// ```
    /// use slab_alloc::{Locked, SpinLock};
    /// let counter = Locked::<u64, SpinLock>::new(7);
    /// assert_eq!(counter.into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> C {
        self.cache.into_inner()
    }
}

impl<C, L: fmt::Debug> fmt::Debug for Locked<C, L> {
    /// The lock only: printing the cache would take the lock, which
    /// deadlocks when the caller holds it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Locked")
            .field("lock", &self.lock)
            .finish_non_exhaustive()
    }
}

// SAFETY: every call forwards to the one cache inside, which upholds the
// contract; `&mut self` calls reach it directly, `layout` under the lock.
// Moving the `Locked` moves the cache, which its contract allows.
unsafe impl<C: UntypedObjectAlloc, L: RawLock> UntypedObjectAlloc for Locked<C, L> {
    #[inline]
    fn layout(&self) -> Layout {
        self.with(|cache| cache.layout())
    }

    #[inline]
    fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
        self.get_mut().alloc()
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>) {
        // SAFETY: forwarded from the caller; every block of this `Locked`
        // came from its cache.
        unsafe { self.get_mut().dealloc(ptr) }
    }
}

// SAFETY: each call runs on the cache with the lock held, so calls from any
// number of threads reach it one at a time, each seeing the effects of the
// ones before (the lock's acquire/release), exactly as calls from one thread
// would; a block freed on another thread is just a later call. `Sync` holds
// by the bounds (`C: Send`, `L: Sync`).
unsafe impl<C: UntypedObjectAlloc + Send, L: RawLock + Sync> SharedUntypedObjectAlloc
    for Locked<C, L>
{
    #[inline]
    fn alloc(&self) -> Result<NonNull<u8>, AllocError> {
        self.with(|cache| cache.alloc())
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: NonNull<u8>) {
        // SAFETY: forwarded from the caller; every block of this `Locked`
        // came from its cache.
        self.with(|cache| unsafe { cache.dealloc(ptr) })
    }
}

// SAFETY: as for `UntypedObjectAlloc`: every call forwards to the one cache.
unsafe impl<T, C: ObjectAlloc<T>, L: RawLock> ObjectAlloc<T> for Locked<C, L> {
    #[inline]
    fn alloc(&mut self) -> Result<NonNull<T>, AllocError> {
        self.get_mut().alloc()
    }

    #[inline]
    unsafe fn dealloc(&mut self, obj: NonNull<T>) {
        // SAFETY: forwarded from the caller; every object of this `Locked`
        // came from its cache.
        unsafe { self.get_mut().dealloc(obj) }
    }
}

// SAFETY: as for `SharedUntypedObjectAlloc`: one call at a time under the
// lock. Objects are constructed, handed out and dropped on whichever thread
// calls, hence `T: Send`.
unsafe impl<T: Send, C: ObjectAlloc<T> + Send, L: RawLock + Sync> SharedObjectAlloc<T>
    for Locked<C, L>
{
    #[inline]
    fn alloc(&self) -> Result<NonNull<T>, AllocError> {
        self.with(|cache| cache.alloc())
    }

    #[inline]
    unsafe fn dealloc(&self, obj: NonNull<T>) {
        // SAFETY: forwarded from the caller; every object of this `Locked`
        // came from its cache.
        self.with(|cache| unsafe { cache.dealloc(obj) })
    }
}
