//! `libslabmalloc.so`: the slab-alloc zone as the process's C `malloc`,
//! with the class API. Rust's own allocations inside the library go to
//! bsalloc, never back into the zone.
//!
//! ```sh
//! cargo build --release -p malloc-bind --example slabmalloc
//! SLABMALLOC_SHOW_STATS=1 LD_PRELOAD=target/release/examples/libslabmalloc.so ls
//! ```

use malloc_bind::SlabMalloc;

#[global_allocator]
static RUST_HEAP: bsalloc::BsAlloc = bsalloc::BsAlloc::new();

static ZONE: SlabMalloc = SlabMalloc::new();

malloc_bind::export_malloc!(ZONE, "SLABMALLOC_SHOW_STATS");
malloc_bind::export_class_api!();
