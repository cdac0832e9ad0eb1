//! The tests of mmap-alloc: the conformance suites on every interface, and
//! what only pages can do (guards, decommit, huge pages, files, limits).

mod child;
mod conformance;
mod errors;
mod files;
mod guards;
mod huge;
mod pages;
mod remap;
