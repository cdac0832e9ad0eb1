//! The suite's own tests: it passes correct allocators, and it catches each
//! kind of broken one with a message that says what went wrong.

mod broken;
mod caught;
mod passes;
mod seeds;
