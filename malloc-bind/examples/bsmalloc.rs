//! `libbsmalloc.so`: bsalloc, which cannot tell a block's size from its
//! address, as the process's C `malloc` through the header fallback: any
//! `GlobalAlloc` binds.
//!
//! ```sh
//! cargo build --release -p malloc-bind --example bsmalloc
//! LD_PRELOAD=target/release/examples/libbsmalloc.so ls
//! ```

use malloc_bind::Headered;

#[global_allocator]
static RUST_HEAP: bsalloc::BsAlloc = bsalloc::BsAlloc::new();

static HEAP: Headered<bsalloc::BsAlloc> = Headered::new(bsalloc::BsAlloc::new());

malloc_bind::export_malloc!(HEAP, "BSMALLOC_SHOW_STATS");
