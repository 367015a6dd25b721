//! `/etc/shadow` as account metadata, never its hashes: what the host rules read under the key
//! [`SOURCE`] (`host.conf.get("derived:/etc/shadow")`), one JSON object a line
//! ([`ShadowAccount`]).
//!
//! The parser lives with the collector (`collect::hostfiles`), which also builds without the
//! readers and writes the same bytes into a bundle as `host/shadow-accounts.jsonl`; a mounted
//! root gets them derived in memory by [`super::HostConf::load`]. It is re-exported here so
//! rules read one place. To read the derived lines back, use [`accounts`].

pub use crate::collect::hostfiles::{
    parse_shadow, scheme, shadow_jsonl, Password, ShadowAccount, SHADOW_SOURCE as SOURCE,
};

/// The accounts of a derived `host/shadow-accounts.jsonl` (lines that are not one are
/// skipped), each with its 1-based line.
pub fn accounts(jsonl: &[u8]) -> Vec<(u64, ShadowAccount)> {
    jsonl
        .split(|&b| b == b'\n')
        .enumerate()
        .filter_map(|(i, l)| Some((i as u64 + 1, serde_json::from_slice(l).ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_lines_read_back() {
        let jsonl =
            shadow_jsonl(b"root:$y$j9T$abc$def:20000:0:99999:7:::\nbackup:*:19000:0:99999:7:::\n");
        let got = accounts(&jsonl);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].0, 2);
        assert_eq!(got[1].1.account, "backup");
        assert_eq!(got[0].1.password, Password::Set);
    }
}
