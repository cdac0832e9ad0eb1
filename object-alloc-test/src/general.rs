//! The checks for general-purpose allocators, written once over the two ways
//! to call one: [`GlobalAlloc`] and `allocator_api2`'s `Allocator`.

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use allocator_api2::alloc::Allocator;
use rand::RngExt as _;
use rand::rngs::SmallRng;

use crate::exchange::{Mailboxes, Walk, run_threads};
use crate::layouts::{general_aligns, general_sizes};
use crate::live::{Held, Live, adopt, release, verify};
use crate::{CheckResult, Config, Failure, pattern};

/// The calls every general-purpose interface offers, as the checks need them.
pub(crate) trait General {
    /// What the failures name as the interface.
    const API: &'static str;
    /// Whether zero-size requests are allowed.
    const ZERO_SIZE: bool;

    /// A block of at least `layout.size()` bytes, and how many bytes of it
    /// may be used.
    fn alloc(&self, layout: Layout, zeroed: bool) -> Option<(NonNull<u8>, usize)>;

    /// # Safety
    ///
    /// `ptr` is a live block allocated with `layout`.
    unsafe fn free(&self, ptr: NonNull<u8>, layout: Layout);

    /// Resizes a block, keeping `min(old, new)` bytes; `zeroed` asks for the
    /// new tail to be zero (where the interface can).
    ///
    /// # Safety
    ///
    /// `ptr` is a live block allocated with `old`; `new_size` is valid with
    /// `old.align()`.
    unsafe fn resize(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
        zeroed: bool,
    ) -> Option<(NonNull<u8>, usize)>;

    /// Whether `resize` can zero the new tail.
    const ZEROED_RESIZE: bool;
}

/// [`GlobalAlloc`] through a reference.
pub(crate) struct ViaGlobal<'a, G: ?Sized>(pub(crate) &'a G);

impl<G: GlobalAlloc + ?Sized> General for ViaGlobal<'_, G> {
    const API: &'static str = "GlobalAlloc";
    const ZERO_SIZE: bool = false;
    const ZEROED_RESIZE: bool = false;

    fn alloc(&self, layout: Layout, zeroed: bool) -> Option<(NonNull<u8>, usize)> {
        debug_assert!(layout.size() != 0);
        // SAFETY: the checks never ask `GlobalAlloc` for zero bytes.
        let ptr = unsafe {
            if zeroed {
                self.0.alloc_zeroed(layout)
            } else {
                self.0.alloc(layout)
            }
        };
        NonNull::new(ptr).map(|p| (p, layout.size()))
    }

    unsafe fn free(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.dealloc(ptr.as_ptr(), layout) }
    }

    unsafe fn resize(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
        _zeroed: bool,
    ) -> Option<(NonNull<u8>, usize)> {
        // SAFETY: forwarded from the caller; the checks never resize to zero.
        let ptr = unsafe { self.0.realloc(ptr.as_ptr(), old, new_size) };
        NonNull::new(ptr).map(|p| (p, new_size))
    }
}

/// `allocator_api2::alloc::Allocator` through a reference.
pub(crate) struct ViaAllocator<'a, A: ?Sized>(pub(crate) &'a A);

impl<A: Allocator + ?Sized> General for ViaAllocator<'_, A> {
    const API: &'static str = "Allocator";
    const ZERO_SIZE: bool = true;
    const ZEROED_RESIZE: bool = true;

    fn alloc(&self, layout: Layout, zeroed: bool) -> Option<(NonNull<u8>, usize)> {
        let block = if zeroed {
            self.0.allocate_zeroed(layout)
        } else {
            self.0.allocate(layout)
        }
        .ok()?;
        Some((block.cast(), block.len()))
    }

    unsafe fn free(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.deallocate(ptr, layout) }
    }

    unsafe fn resize(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
        zeroed: bool,
    ) -> Option<(NonNull<u8>, usize)> {
        let new = Layout::from_size_align(new_size, old.align()).ok()?;
        // SAFETY: forwarded from the caller; grow when not smaller, shrink
        // otherwise, as the trait requires.
        let block = unsafe {
            if new_size >= old.size() {
                if zeroed {
                    self.0.grow_zeroed(ptr, old, new)
                } else {
                    self.0.grow(ptr, old, new)
                }
            } else {
                self.0.shrink(ptr, old, new)
            }
        }
        .ok()?;
        Some((block.cast(), block.len()))
    }
}

fn subject<G: General>(what: &str) -> String {
    format!("{} {what}", G::API)
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).expect("the checks build valid layouts")
}

/// All-zero bytes to compare zeroed blocks against (memcmp is fast even in
/// debug builds).
fn zeros(len: usize) -> &'static [u8] {
    static ZEROS: OnceLock<Vec<u8>> = OnceLock::new();
    let zeros = ZEROS.get_or_init(|| vec![0; 2 << 20]);
    &zeros[..len]
}

/// Checks that `len` bytes at `ptr` are zero.
///
/// # Safety
///
/// `ptr` is valid for reads of `len` initialised bytes, `len <= 2 MiB`.
unsafe fn check_zero(ptr: NonNull<u8>, len: usize) -> Result<(), String> {
    // SAFETY: forwarded from the caller.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.as_ptr(), len) };
    if bytes == zeros(len) {
        return Ok(());
    }
    let at = bytes.iter().position(|&b| b != 0).unwrap_or(0);
    Err(format!(
        "byte {at} of {len} is {:#04x}, not zero",
        bytes[at]
    ))
}

fn sizes_for<G: General>() -> Vec<usize> {
    let mut sizes = general_sizes();
    if G::ZERO_SIZE {
        sizes.insert(0, 0);
    }
    sizes
}

/// Allocates and adopts one block.
fn take<G: General>(
    api: &G,
    live: &mut Live,
    l: Layout,
    zeroed: bool,
    id: u64,
) -> Result<Held, String> {
    let (ptr, len) = api.alloc(l, zeroed).ok_or_else(|| {
        format!(
            "allocating {} bytes aligned to {} failed",
            l.size(),
            l.align()
        )
    })?;
    if len < l.size() {
        return Err(format!(
            "asked for {} bytes, got a block of {len}",
            l.size()
        ));
    }
    if zeroed {
        // SAFETY: the allocator promised `len` zeroed bytes at `ptr`.
        unsafe { check_zero(ptr, len) }.map_err(|m| {
            format!(
                "a zeroed block of {} bytes at {ptr:p} is not zero: {m}",
                l.size()
            )
        })?;
    }
    // SAFETY: the allocator promised `len` writable bytes; `adopt` checks
    // alignment and overlap before writing.
    unsafe { adopt(live, ptr, len, l, id) }
}

/// Verifies, forgets and frees one block.
fn give<G: General>(api: &G, live: &mut Live, held: Held) -> Result<(), String> {
    // SAFETY: `held` is a live block of `api`.
    unsafe { release(live, &held) }?;
    // SAFETY: allocated with `held.layout`, freed once.
    unsafe { api.free(held.ptr, held.layout) };
    Ok(())
}

/// Resizes a held block to `new_size`, checking that the common prefix kept
/// its contents (and that a zeroed grow zeroed the tail), then refills it.
fn resize<G: General>(
    api: &G,
    live: &mut Live,
    held: Held,
    new_size: usize,
    zeroed: bool,
) -> Result<Held, String> {
    // SAFETY: `held` is a live block of `api`; `release` checks and forgets it
    // before the allocator may move it.
    unsafe { release(live, &held) }?;
    let old = held.layout;
    // SAFETY: `held` was allocated with `old`, and `new_size` is valid with
    // its alignment (the checks keep sizes far from `isize::MAX`).
    let (ptr, len) = unsafe { api.resize(held.ptr, old, new_size, zeroed) }.ok_or_else(|| {
        format!(
            "resizing {} bytes aligned to {} to {new_size} bytes failed",
            old.size(),
            old.align()
        )
    })?;
    let new = layout(new_size, old.align());
    if len < new_size {
        return Err(format!(
            "asked to resize to {new_size} bytes, got a block of {len}"
        ));
    }
    let kept = old.size().min(new_size);
    // SAFETY: the allocator promised `len >= kept` bytes at `ptr`, the first
    // `kept` copied from the old block.
    unsafe { pattern::check(ptr, kept, held.id) }.map_err(|c| {
        format!(
            "resizing block #{} from {} to {new_size} bytes (align {}) lost its contents: byte {} is {:#04x}, expected {:#04x}",
            held.id,
            old.size(),
            old.align(),
            c.offset,
            c.found,
            c.expected
        )
    })?;
    // `Allocator::grow_zeroed` zeroes from the end of the old *block*
    // (which may be longer than the layout asked for) to the end of the new
    // one; the bytes between the old layout's size and the old block's end
    // may keep what the caller wrote there.
    if zeroed && G::ZEROED_RESIZE && len > held.len {
        // SAFETY: the allocator promised the bytes past the old block are
        // zeroed, up to `len`.
        let tail = unsafe { ptr.add(held.len) };
        // SAFETY: as above.
        unsafe { check_zero(tail, len - held.len) }.map_err(|m| {
            format!(
                "a zeroed grow from {} to {new_size} bytes left the new tail dirty: {m}",
                old.size()
            )
        })?;
    }
    // SAFETY: `len` writable bytes at `ptr`; `adopt` checks before writing.
    unsafe { adopt(live, ptr, len, new, held.id) }
}

pub(crate) fn layouts<G: General>(api: &G) -> CheckResult {
    let mut live = Live::default();
    let mut id = 1;
    for align in general_aligns() {
        for size in sizes_for::<G>() {
            let l = layout(size, align);
            let fail = |m: String| {
                Failure::new(
                    "layouts",
                    subject::<G>(&format!("{size} bytes aligned to {align}")),
                    m,
                )
            };
            // A few at once, so distinct blocks of one layout are compared.
            let count = if size >= 1 << 18 || cfg!(miri) { 2 } else { 4 };
            let mut held = Vec::with_capacity(count);
            for _ in 0..count {
                held.push(take(api, &mut live, l, false, id).map_err(fail)?);
                id += 1;
            }
            for h in &held {
                // SAFETY: live blocks filled by `adopt`.
                unsafe { verify(h) }.map_err(fail)?;
            }
            for h in held {
                give(api, &mut live, h).map_err(fail)?;
            }
        }
    }
    Ok(())
}

pub(crate) fn zeroed<G: General>(api: &G) -> CheckResult {
    let mut live = Live::default();
    let mut id = 1;
    let aligns: &[usize] = if cfg!(miri) {
        &[8, 4096]
    } else {
        &[1, 8, 64, 4096, 65536]
    };
    let rounds = if cfg!(miri) { 1 } else { 3 };
    for &align in aligns {
        for size in sizes_for::<G>() {
            let l = layout(size, align);
            let fail = |m: String| {
                Failure::new(
                    "zeroed",
                    subject::<G>(&format!("{size} bytes aligned to {align}")),
                    m,
                )
            };
            for _ in 0..rounds {
                // Dirty blocks of this layout, free them, and ask for zeroed
                // ones: a reused block must be zeroed too, not only fresh pages.
                let dirty: Vec<Held> = (0..3)
                    .map(|_| {
                        id += 1;
                        take(api, &mut live, l, false, id)
                    })
                    .collect::<Result<_, _>>()
                    .map_err(fail)?;
                for h in dirty {
                    give(api, &mut live, h).map_err(fail)?;
                }
                let clean: Vec<Held> = (0..3)
                    .map(|_| {
                        id += 1;
                        take(api, &mut live, l, true, id)
                    })
                    .collect::<Result<_, _>>()
                    .map_err(fail)?;
                for h in clean {
                    give(api, &mut live, h).map_err(fail)?;
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn resizing<G: General>(api: &G) -> CheckResult {
    // Up and down through the size range, crossing every kind of boundary
    // (small classes, pages, large blocks) in both directions.
    let path: &[usize] = if cfg!(miri) {
        &[1, 100, 5000, 70_000, 64, 1]
    } else {
        &[
            1,
            8,
            9,
            24,
            100,
            512,
            513,
            4096,
            4097,
            20_000,
            65_536,
            300_000,
            1 << 20,
            700_000,
            70_000,
            4000,
            200,
            16,
            1,
            1 << 20,
            3,
            50_000,
            8,
        ]
    };
    let mut live = Live::default();
    for (n, align) in general_aligns().into_iter().enumerate() {
        for zeroed in [false, true] {
            if zeroed && !G::ZEROED_RESIZE {
                continue;
            }
            let fail = |m: String| {
                Failure::new(
                    "resize",
                    subject::<G>(&format!("blocks aligned to {align}")),
                    m,
                )
            };
            let id = n as u64 * 2 + zeroed as u64 + 1;
            let mut held = take(api, &mut live, layout(path[0], align), false, id).map_err(fail)?;
            for &size in &path[1..] {
                held = resize(api, &mut live, held, size, zeroed).map_err(fail)?;
            }
            give(api, &mut live, held).map_err(fail)?;
        }
    }
    Ok(())
}

/// A random request: mostly small sizes and natural alignments, sometimes
/// large blocks and large alignments.
fn random_layout<G: General>(rng: &mut SmallRng) -> Layout {
    let size = match rng.random_range(0..100) {
        0..60 => rng.random_range(1..=256),
        60..85 => rng.random_range(257..=4096),
        85..97 => rng.random_range(4097..=65536),
        _ => rng.random_range(65537..=1 << 20),
    };
    let size = if G::ZERO_SIZE && rng.random_range(0..50) == 0 {
        0
    } else {
        size
    };
    let align = match rng.random_range(0..100) {
        0..75 => 1 << rng.random_range(0..=4),
        75..95 => 1 << rng.random_range(5..=12),
        _ => 1 << rng.random_range(13..=16),
    };
    layout(size, align)
}

/// One random step on a set of held blocks.
fn random_step<G: General>(
    api: &G,
    live: &mut Live,
    held: &mut Vec<Held>,
    walk: &mut Walk,
    id: u64,
) -> Result<(), String> {
    if walk.allocate(held.len()) {
        let l = random_layout::<G>(&mut walk.rng);
        let zeroed = walk.rng.random_range(0..5) == 0;
        held.push(take(api, live, l, zeroed, id)?);
    } else if walk.rng.random_range(0..4) == 0 {
        let i = walk.pick(held.len());
        let h = held.swap_remove(i);
        let new_size = random_layout::<G>(&mut walk.rng).size().max(1);
        let zeroed = walk.rng.random_bool(0.5);
        held.push(resize(api, live, h, new_size, zeroed)?);
    } else {
        let h = held.swap_remove(walk.pick(held.len()));
        give(api, live, h)?;
    }
    Ok(())
}

pub(crate) fn random<G: General>(api: &G, config: &Config) -> CheckResult {
    let ops = config.ops;
    let mut walk = Walk::new(config.seed_for(5), config.batch_for(256));
    let mut live = Live::default();
    let mut held = Vec::new();
    for op in 0..ops {
        random_step(api, &mut live, &mut held, &mut walk, op as u64 + 1).map_err(|m| {
            Failure::new(
                "random",
                subject::<G>("mixed sizes"),
                format!("at operation {op} of {ops}: {m}"),
            )
            .with_seed(config.seed)
        })?;
    }
    for h in held {
        give(api, &mut live, h).map_err(|m| {
            Failure::new("random", subject::<G>("mixed sizes"), m).with_seed(config.seed)
        })?;
    }
    Ok(())
}

pub(crate) fn threads<G: General + Sync>(api: &G, config: &Config) -> CheckResult {
    let ops = config.ops / config.threads + 1;
    let max_live = config.batch_for(256) / config.threads + 2;
    let live = Mutex::new(Live::default());
    let mail = Mailboxes::<Held>::new(config.threads);
    let ids = AtomicU64::new(1);
    let lock = || live.lock().unwrap_or_else(PoisonError::into_inner);
    let free = |held: Held| -> Result<(), String> {
        // SAFETY: a live block of `api`, owned by this thread.
        unsafe { release(&mut lock(), &held) }?;
        // SAFETY: allocated with `held.layout`, freed once, on any thread.
        unsafe { api.free(held.ptr, held.layout) };
        Ok(())
    };
    let work = |me: usize| -> Result<(), String> {
        let mut walk = Walk::new(config.seed_for(6 << 32 | me as u64), max_live);
        let mut mine: Vec<Held> = Vec::new();
        mail.run_then_wait(|| {
            for op in 0..ops {
                if walk.allocate(mine.len()) {
                    let l = random_layout::<G>(&mut walk.rng);
                    let zeroed = walk.rng.random_range(0..5) == 0;
                    let (ptr, len) = api.alloc(l, zeroed).ok_or_else(|| {
                        format!(
                            "thread {me}, operation {op}: allocating {} bytes failed",
                            l.size()
                        )
                    })?;
                    if zeroed {
                        // SAFETY: the allocator promised `len` zeroed bytes.
                        unsafe { check_zero(ptr, len) }
                            .map_err(|m| format!("thread {me}: a zeroed block is not zero: {m}"))?;
                    }
                    let id = ids.fetch_add(1, Ordering::Relaxed);
                    // SAFETY: `len` writable bytes; `adopt` checks first.
                    mine.push(
                        unsafe { adopt(&mut lock(), ptr, len, l, id) }
                            .map_err(|m| format!("thread {me}: {m}"))?,
                    );
                } else {
                    let held = mine.swap_remove(walk.pick(mine.len()));
                    if walk.rng.random_bool(0.6) {
                        mail.post(
                            (me + 1 + walk.pick(config.threads - 1)) % config.threads,
                            held,
                        );
                    } else {
                        free(held)?;
                    }
                }
                if op % 32 == 0 {
                    for held in mail.take(me) {
                        free(held)?;
                    }
                }
            }
            Ok(())
        })?;
        for held in mine.into_iter().chain(mail.take(me)) {
            free(held)?;
        }
        Ok(())
    };
    run_threads(config.threads, work, |panic| {
        format!("a thread panicked: {panic}")
    })
    .map_err(|m| {
        Failure::new("threads", subject::<G>("cross-thread frees"), m).with_seed(config.seed)
    })
}
