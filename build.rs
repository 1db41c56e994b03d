//! Release builds link the `opsctl` executable without PIE: a 70 MB position-independent
//! binary spends most of its start-up applying ~120,000 relative relocations and faulting in
//! the 2.4 MB of pages they touch (measured: `--version` 5.7 ms → 2.4 ms, ~944 → ~229 page
//! faults; README, Performance). Libraries, tests and debug builds are unchanged.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if release && linux {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
