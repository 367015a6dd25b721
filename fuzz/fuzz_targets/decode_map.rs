//! Fuzz target: the compiled-map decoders (Berkeley DB hash/btree, CDB, LMDB) on arbitrary
//! bytes — a bundle's `.db` files are attacker-controlled. No input may panic or hang.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run decode_map -- -max_total_time=300` from `fuzz/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailir::hostconf::compiled;

fuzz_target!(|data: &[u8]| {
    for hint in ["hash", "cdb", "lmdb"] {
        let _ = compiled::decode(data, hint);
    }
});
