//! Fuzz target: the bundle reader (`evidence::reader::for_each_entry`) on arbitrary bytes as a
//! `.zip` and as a `.tar.gz` bundle — the reader `verify`, `parse` and `report` use on bundles
//! handed to them, whose every byte an attacker may have chosen. No input may panic, hang or
//! read past an entry's declared size. Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run read_bundle --
//! -max_total_time=300` from `fuzz/` (see docs/threat-model.md).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailir::evidence::reader;

// Each run reads the input as one format: the one its magic bytes say (gzip, zip), else one
// chosen by its last byte (reading every input both ways made runs twice as slow); files go to /dev/shm where there is one (a disk write per run
// made the target slow).
fuzz_target!(|data: &[u8]| {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        std::path::PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("mailir-fuzz-bundle-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let gz = match data {
        [0x1f, 0x8b, ..] => true,
        [b'P', b'K', ..] => false,
        _ => data.last().is_some_and(|b| b % 2 == 1),
    };
    let name = if gz { "b.tar.gz" } else { "b.zip" };
    {
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
