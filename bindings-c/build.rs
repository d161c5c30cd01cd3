//! Gives the shared library the SONAME it is installed under (`libkubemetrics.so.0`, see
//! scripts/install.sh), so programs linked with `-lkubemetrics` load it by that name.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "android" || os.ends_with("bsd") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkubemetrics.so.0");
    }
}
