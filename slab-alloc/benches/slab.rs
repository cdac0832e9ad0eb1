//! A 64-byte object allocated and freed through a typed slab cache, an
//! untyped one, glibc's `malloc` (`System`), mimalloc and jemalloc, in the
//! same criterion groups so the medians compare directly:
//!
//! - `slab/pair 64 B`: one allocation and its free, over and over.
//! - `slab/batch 1000 x 64 B`: 1,000 allocations into a preallocated vector,
//!   then 1,000 frees in allocation order.
//!
//! Blocks are not touched. The caches use the system heap for their slabs
//! (`slab_layout_for`: 64 KiB slabs), which only the first iterations reach.
//!
//! ```sh
//! cargo bench -p slab-alloc --bench slab -- --warm-up-time 1 --measurement-time 3
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::ptr::NonNull;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use mimalloc::MiMalloc;
use object_alloc::{GlobalUntyped, ObjectAlloc, UntypedObjectAlloc};
use slab_alloc::{SlabBuilder, slab_layout_for};
use tikv_jemallocator::Jemalloc;

/// The object every case allocates.
type Object = [u64; 8];
/// Objects per iteration of the batch group.
const BATCH: usize = 1000;
/// The parameter column of the tables: the object size.
const SIZE: &str = "64 B";

fn layout() -> Layout {
    Layout::new::<Object>()
}

/// What each case allocates from: one object per call, freed by pointer.
trait Heap {
    fn alloc(&mut self) -> NonNull<u8>;
    /// # Safety
    /// `ptr` came from `alloc` on this heap and is freed once.
    unsafe fn free(&mut self, ptr: NonNull<u8>);
}

/// A typed slab cache of constructed `[u64; 8]`s, through `ObjectAlloc`.
struct Typed(slab_alloc::SlabAlloc<Object, object_alloc::DefaultInit, GlobalUntyped<System>>);

impl Heap for Typed {
    #[inline]
    fn alloc(&mut self) -> NonNull<u8> {
        ObjectAlloc::alloc(&mut self.0).unwrap().cast()
    }

    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>) {
        // SAFETY: forwarded; the object was not touched, so it is the
        // constructed `Object` the cache handed out.
        unsafe { ObjectAlloc::dealloc(&mut self.0, ptr.cast()) }
    }
}

/// An untyped slab cache of 64-byte blocks aligned to 8.
struct Untyped(slab_alloc::UntypedSlabAlloc<GlobalUntyped<System>>);

impl Heap for Untyped {
    #[inline]
    fn alloc(&mut self) -> NonNull<u8> {
        UntypedObjectAlloc::alloc(&mut self.0).unwrap()
    }

    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>) {
        // SAFETY: forwarded.
        unsafe { UntypedObjectAlloc::dealloc(&mut self.0, ptr) }
    }
}

/// A general-purpose allocator, asked for the object's layout each time.
struct Global<G>(G);

impl<G: GlobalAlloc> Heap for Global<G> {
    #[inline]
    fn alloc(&mut self) -> NonNull<u8> {
        // SAFETY: the layout is not zero-sized.
        NonNull::new(unsafe { self.0.alloc(black_box(layout())) }).expect("out of memory")
    }

    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>) {
        // SAFETY: forwarded; allocated with the same layout.
        unsafe { self.0.dealloc(ptr.as_ptr(), layout()) }
    }
}

fn typed() -> Typed {
    Typed(
        SlabBuilder::new("bench-typed")
            .build_default::<Object, _>(GlobalUntyped::system(slab_layout_for(layout())))
            .unwrap(),
    )
}

fn untyped() -> Untyped {
    Untyped(
        SlabBuilder::new("bench-untyped")
            .layout(layout())
            .build_untyped(GlobalUntyped::system(slab_layout_for(layout())))
            .unwrap(),
    )
}

/// One allocate-and-free pair per iteration.
fn pair(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, mut heap: impl Heap) {
    group.bench_function(BenchmarkId::new(name, SIZE), |b| {
        b.iter(|| {
            let ptr = heap.alloc();
            // SAFETY: from `heap`, freed once.
            unsafe { heap.free(black_box(ptr)) };
        })
    });
}

/// `BATCH` allocations, then their frees, per iteration.
fn batch(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, mut heap: impl Heap) {
    let mut held: Vec<NonNull<u8>> = Vec::with_capacity(BATCH);
    group.bench_function(BenchmarkId::new(name, SIZE), |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                held.push(black_box(heap.alloc()));
            }
            for ptr in held.drain(..) {
                // SAFETY: from `heap`, freed once.
                unsafe { heap.free(black_box(ptr)) };
            }
        })
    });
}

fn pairs(c: &mut Criterion) {
    let mut group = c.benchmark_group("slab/pair 64 B");
    group.throughput(Throughput::Elements(1));
    pair(&mut group, "typed slab", typed());
    pair(&mut group, "untyped slab", untyped());
    pair(&mut group, "system", Global(System));
    pair(&mut group, "mimalloc", Global(MiMalloc));
    pair(&mut group, "jemalloc", Global(Jemalloc));
    group.finish();
}

fn batches(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("slab/batch {BATCH} x 64 B"));
    group.throughput(Throughput::Elements(BATCH as u64));
    batch(&mut group, "typed slab", typed());
    batch(&mut group, "untyped slab", untyped());
    batch(&mut group, "system", Global(System));
    batch(&mut group, "mimalloc", Global(MiMalloc));
    batch(&mut group, "jemalloc", Global(Jemalloc));
    group.finish();
}

criterion_group!(benches, pairs, batches);
criterion_main!(benches);
