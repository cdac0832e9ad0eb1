//! `libslabclass.a`: the class API alone (`include/malloc_bind.h`), for C
//! programs that link it statically and keep their own `malloc`.
//!
//! ```sh
//! cargo build --release -p malloc-bind --example slabclass
//! cc prog.c -Imalloc-bind/include target/release/examples/libslabclass.a -lpthread -ldl -lm
//! ```

malloc_bind::export_class_api!();
