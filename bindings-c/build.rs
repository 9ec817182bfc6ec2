//! Generates the C header from the crate's `extern "C"` items with cbindgen.
//!
//! The fresh header goes to `$OUT_DIR/unipool.h` only; `include/unipool.h` is the
//! committed copy. `test.sh` compares the two and fails when they differ, and
//! `scripts/gen-header.sh` refreshes the committed copy.
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");

    // Give the shared library an soname so the installed
    // libunipool.so -> libunipool.so.0 symlink chain works with -lunipool.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libunipool.so.0");
    }

    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("bindings-c/cbindgen.toml must be readable and valid");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen failed to generate unipool.h from bindings-c/src");
    bindings.write_to_file(out_dir.join("unipool.h"));
}
