//! The preloadable libraries under C programs and real programs.
//!
//! Each test compiles a C program from `tests/c/` with the system's `cc`
//! and runs it with `LD_PRELOAD` set to `libslabmalloc.so` (the zone) or
//! `libbsmalloc.so` (bsalloc through the header fallback), which `cargo
//! test` builds as examples of this crate. Real programs from the machine
//! (python3, sort, git) must print the same with the library as without.
//!
//! Not under Miri (processes and a C compiler).

#![cfg(not(miri))]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// `target/<profile>`, from this test binary's path
/// (`target/<profile>/deps/preload-…`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps")
        .to_path_buf()
}

/// The built library `lib<name>.so` (or `.a`), built here if `cargo test`
/// did not build the examples (a filtered run).
fn library(file: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let path = profile_dir().join("examples").join(file);
    if !path.exists() {
        BUILT.get_or_init(|| {
            let release = profile_dir().ends_with("release");
            let mut cmd = Command::new(env!("CARGO"));
            cmd.args(["build", "-p", "malloc-bind", "--examples"]);
            if release {
                cmd.arg("--release");
            }
            let status = cmd.status().expect("cargo runs");
            assert!(status.success(), "building the libraries failed");
        });
    }
    assert!(path.exists(), "{} was not built", path.display());
    path
}

fn zone_lib() -> PathBuf {
    library("libslabmalloc.so")
}

fn bs_lib() -> PathBuf {
    library("libbsmalloc.so")
}

/// Compiles `tests/c/<name>.c` (with `extra` arguments after it) into this
/// test run's scratch directory; returns the executable.
fn compile(name: &str, out_name: &str, extra: &[&str]) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(out_name);
    let output = Command::new("cc")
        // No built-in malloc knowledge: the programs make deliberate
        // misuses and impossible requests the compiler would otherwise
        // warn about or fold away.
        .args([
            "-O1",
            "-g",
            "-pthread",
            "-fno-builtin",
            "-Wall",
            "-Wno-use-after-free",
            "-Wno-free-nonheap-object",
            "-Wno-alloc-size-larger-than",
            "-I",
        ])
        .arg(&src)
        .arg("-I")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("include"))
        .arg("-o")
        .arg(&out)
        .arg(src.join(format!("{name}.c")))
        .args(extra)
        .arg("-ldl")
        .output()
        .expect("cc runs");
    assert!(
        output.status.success(),
        "compiling {name}.c failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// Runs `exe` with `args`, with `lib` preloaded when given.
fn run(exe: &Path, args: &[&str], lib: Option<&Path>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(exe);
    cmd.args(args);
    if let Some(lib) = lib {
        cmd.env("LD_PRELOAD", lib);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the program starts")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a C test program under `lib` and expects success and `ok`.
fn passes(name: &str, lib: &Path, args: &[&str]) -> String {
    let exe = compile(
        name,
        &format!("{name}-{}", lib.file_stem().unwrap().to_string_lossy()),
        &[],
    );
    let out = run(&exe, args, Some(lib), &[]);
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "{name} failed under {}:\n{stdout}{stderr}",
        lib.display()
    );
    stdout
}

#[test]
fn every_function_and_rule_on_the_zone() {
    let out = passes("api", &zone_lib(), &["zone"]);
    assert!(out.contains("api: ok"));
}

#[test]
fn every_function_and_rule_on_bsalloc_through_headers() {
    let out = passes("api", &bs_lib(), &[]);
    assert!(out.contains("api: ok"));
}

#[test]
fn malloc_stats_and_the_exit_statistics_need_no_allocation() {
    let exe = compile("api", "api-stats", &[]);
    let out = run(
        &exe,
        &["zone"],
        Some(&zone_lib()),
        &[("SLABMALLOC_SHOW_STATS", "1")],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    // Once from malloc_stats(), once at exit.
    assert_eq!(
        stderr.matches("slab-malloc statistics").count(),
        2,
        "{stderr}"
    );
    assert!(stderr.contains("   112 B"), "{stderr}");
    assert!(stderr.contains("   large "), "{stderr}");
    assert!(stderr.contains("   total "), "{stderr}");
    let quiet = run(&exe, &["zone"], Some(&zone_lib()), &[]);
    assert_eq!(text(&quiet).1.matches("slab-malloc statistics").count(), 1);
}

/// Runs `misuse <case>` under the zone and expects an abort whose message
/// names the address the program printed and contains `expected`.
fn misuse_aborts(case: &str, expected: &str) {
    // One executable per case: tests run in parallel, and a program being
    // rewritten by another test's compiler cannot be run.
    let exe = compile("misuse", &format!("misuse-{case}-{}", expected.len()), &[]);
    let out = run(&exe, &[case], Some(&zone_lib()), &[]);
    let (stdout, stderr) = text(&out);
    assert!(
        !out.status.success(),
        "{case}: the program was not stopped:\n{stdout}{stderr}"
    );
    assert!(!stdout.contains("did not stop"), "{stdout}");
    let addr = stderr
        .lines()
        .find_map(|l| l.strip_prefix("address "))
        .expect("the program printed the address");
    let line = stderr
        .lines()
        .find(|l| l.contains("bad free") || l.contains("free_sized"))
        .unwrap_or_else(|| panic!("{case}: no message:\n{stderr}"));
    assert!(line.contains(addr), "{case}: {line} does not name {addr}");
    assert!(
        line.contains(expected),
        "{case}: {line} does not say {expected:?}"
    );
}

#[test]
fn a_double_free_aborts_naming_the_address_and_class() {
    misuse_aborts("double", "cache `slab-malloc 64 B`: bad free of");
    misuse_aborts("double", "double free");
}

#[test]
fn an_interior_free_aborts_naming_the_block() {
    misuse_aborts("interior", "inside the object at");
}

#[test]
fn a_foreign_free_aborts() {
    misuse_aborts("foreign", "not managed");
}

#[test]
fn a_large_double_free_aborts() {
    misuse_aborts("large-double", "slab-malloc large");
}

#[test]
fn free_sized_with_a_size_the_block_cannot_have_aborts() {
    misuse_aborts("sized", "usable bytes");
}

#[test]
fn a_growing_realloc_loop_mostly_stays_in_place() {
    let out = passes("realloc_loop", &zone_lib(), &[]);
    let moves: usize = out
        .split_whitespace()
        .skip_while(|w| *w != "moves")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no move count in {out}"));
    // 300,000 steps of 8 bytes up to 2.4 MB: 72 classes, then large
    // blocks that grow by half each time they move.
    assert!(moves < 150, "the buffer moved {moves} times: {out}");
    println!("{out}");
}

#[test]
fn alignments_from_8_bytes_to_64_kib() {
    passes("align", &zone_lib(), &[]);
    passes("align", &bs_lib(), &[]);
}

#[test]
fn threads_free_each_others_blocks() {
    passes("threads", &zone_lib(), &[]);
    passes("threads", &bs_lib(), &[]);
}

#[test]
fn fork_while_another_thread_allocates() {
    passes("fork", &zone_lib(), &[]);
}

#[test]
fn three_thousand_short_threads() {
    let out = passes("short_threads", &zone_lib(), &[]);
    println!("{out}");
}

#[test]
fn the_library_works_when_loaded_with_dlopen() {
    let exe = compile("dlopen", "dlopen", &["-ldl"]);
    let lib = zone_lib();
    let out = run(&exe, &[lib.to_str().unwrap()], None, &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("dlopen: ok"));
}

/// The class program, linked with `link`, run without preloading.
fn class_program(out_name: &str, link: &[&str], args: &[&str]) -> Output {
    class_program_named("classes", out_name, link, args)
}

/// `tests/c/<source>.c`, linked with `link`, run without preloading.
fn class_program_named(source: &str, out_name: &str, link: &[&str], args: &[&str]) -> Output {
    let exe = compile(source, out_name, link);
    run(&exe, args, None, &[])
}

fn dynamic_link_args() -> Vec<String> {
    let dir = profile_dir().join("examples");
    let _ = zone_lib();
    vec![
        format!("-L{}", dir.display()),
        format!("-Wl,-rpath,{}", dir.display()),
        "-lslabmalloc".to_string(),
    ]
}

#[test]
fn class_api_through_dynamic_linking() {
    let args = dynamic_link_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = class_program("classes-dynamic", &args, &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("classes: ok"));
}

#[test]
fn class_api_through_static_linking() {
    let lib = library("libslabclass.a");
    let lib = lib.to_str().unwrap();
    let out = class_program("classes-static", &[lib, "-ldl", "-lm"], &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("classes: ok"));
}

#[test]
fn fork_while_other_threads_use_a_class() {
    let lib = library("libslabclass.a");
    let out = class_program_named(
        "class_fork",
        "class-fork",
        &[lib.to_str().unwrap(), "-lm"],
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("class_fork: ok"));
}

#[test]
fn a_release_into_the_wrong_class_aborts_naming_both() {
    let lib = library("libslabclass.a");
    let out = class_program(
        "classes-wrong",
        &[lib.to_str().unwrap(), "-ldl", "-lm"],
        &["wrong"],
    );
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}{stderr}");
    let addr = stderr
        .lines()
        .find_map(|l| l.strip_prefix("address "))
        .expect("the program printed the address");
    let expected =
        format!("cache `buffers`: bad free of {addr}: object of another cache, `sessions`");
    assert!(stderr.contains(&expected), "{stderr}");
}

/// Runs a real program with and without the zone preloaded and expects the
/// same output and success.
fn same_output(program: &str, args: &[&str], env: &[(&str, &str)], dir: Option<&Path>) {
    let go = |lib: Option<&Path>| {
        let mut cmd = Command::new(program);
        cmd.args(args);
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        if let Some(lib) = lib {
            cmd.env("LD_PRELOAD", lib);
        }
        cmd.output().expect("the program starts")
    };
    let plain = go(None);
    let ours = go(Some(&zone_lib()));
    assert!(
        plain.status.success(),
        "{program} fails on its own: {}",
        text(&plain).1
    );
    assert!(
        ours.status.success(),
        "{program} fails under the zone: {}",
        text(&ours).1
    );
    assert_eq!(
        text(&plain).0,
        text(&ours).0,
        "{program} printed something else"
    );
}

#[test]
fn python_runs_a_workload_on_the_zone() {
    let script = r#"
import json, re, collections
words = [f"w{i % 977}x{i % 13}" for i in range(200000)]
counts = collections.Counter(words)
blob = json.dumps({k: [v] * (v % 7) for k, v in counts.items()})
back = json.loads(blob)
text = " ".join(sorted(back))
print(len(counts), len(blob), len(re.findall(r"w1\d*x", text)), sum(map(len, back.values())))
"#;
    same_output(
        "python3",
        &["-c", script],
        &[("PYTHONMALLOC", "malloc")],
        None,
    );
}

#[test]
fn sort_sorts_the_same() {
    let input = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sort-input.txt");
    let mut lines = String::new();
    let mut x: u64 = 88172645463325252;
    for _ in 0..100_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        lines.push_str(&format!("{:x} {}\n", x % 1_000_003, x % 97));
    }
    std::fs::write(&input, lines).unwrap();
    let path = input.to_str().unwrap();
    same_output("sort", &[path], &[], None);
    same_output("sort", &["-k2,2n", "-k1,1", path], &[("LC_ALL", "C")], None);
}

#[test]
fn git_works_the_same() {
    let repo = Path::new(env!("CARGO_TARGET_TMPDIR")).join("git-repo");
    let _ = std::fs::remove_dir_all(&repo);
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", text(&out).1);
    };
    git(&["init", "-q", "-b", "main"]);
    for i in 0..20 {
        std::fs::write(
            repo.join(format!("f{i}.txt")),
            format!("file {i}\n").repeat(i + 1),
        )
        .unwrap();
        git(&["add", "."]);
        git(&[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            &format!("commit {i}"),
        ]);
    }
    let env = [
        ("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z"),
        ("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z"),
    ];
    same_output(
        "git",
        &["log", "--stat", "--format=%H %s"],
        &env,
        Some(&repo),
    );
    same_output(
        "git",
        &["rev-list", "--objects", "--all"],
        &env,
        Some(&repo),
    );
}
