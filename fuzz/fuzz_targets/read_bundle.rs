//! Fuzz target: the bundle reader (`evidence::reader::for_each_entry`) on arbitrary bytes as a
//! `.zip` and as a `.tar.gz` bundle — the reader `verify`, `parse` and `report` use on bundles
//! handed to them, whose every byte an attacker may have chosen. No input may panic, hang or
//! read past an entry's declared size. Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run read_bundle --
//! -max_total_time=300` from `fuzz/` (see docs/threat-model.md).
#![no_main]


use libfuzzer_sys::fuzz_target;

#[allow(dead_code, clippy::all)]
#[path = "../../src/evidence/pathname.rs"]
pub mod pathname_src;

#[allow(dead_code, clippy::all)]
#[path = "../../src/evidence/reader.rs"]
mod reader;

/// The crate paths the reader names (`crate::evidence::pathname`, `super::format`).
pub mod evidence {
    pub use super::pathname_src as pathname;
}

#[allow(dead_code, clippy::all)]
#[path = "../../src/evidence/format.rs"]
mod format;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("mailir-fuzz-bundle-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    for name in ["b.zip", "b.tar.gz"] {
        let p = dir.join(name);
        if std::fs::write(&p, data).is_err() {
            return;
        }
        let _ = reader::for_each_entry(&p, |_, size, r| {
            let mut buf = [0u8; 8192];
            let mut total = 0u64;
            while let Ok(n) = r.read(&mut buf) {
                if n == 0 {
                    break;
                }
                total += n as u64;
                assert!(total <= size, "read past the declared size");
            }
        });
    }
});
