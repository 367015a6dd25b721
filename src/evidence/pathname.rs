//! Host path names and their escaped, bundle-safe form.
//!
//! A path on the host is an arbitrary byte string: it may be invalid UTF-8, contain a newline,
//! or contain `%` and `\`. Inside a bundle every name must be plain, printable, and usable in
//! `SHA256SUMS` (where `sha256sum` gives `\` and newlines a meaning). [`escape`] maps bytes to
//! such a name injectively: printable UTF-8 stays as it is; control characters (C0, DEL, C1),
//! `%`, `\` and every byte of invalid UTF-8 become `%XX`. The raw bytes are kept as hex in the
//! manifest (`source_hex`) whenever the escaped form differs from them.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use super::platform;

/// An absolute path as seen on the host (`/etc/postfix/main.cf`), whatever root it is read from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostPath(Vec<u8>);

impl HostPath {
    /// The host root `/`.
    pub fn root() -> Self {
        HostPath(b"/".to_vec())
    }

    /// Builds a host path from bytes; a missing leading `/` is added, trailing `/` removed.
    pub fn from_bytes(b: &[u8]) -> Self {
        let mut v = Vec::with_capacity(b.len() + 1);
        if !b.starts_with(b"/") {
            v.push(b'/');
        }
        v.extend_from_slice(b);
        while v.len() > 1 && v.ends_with(b"/") {
            v.pop();
        }
        HostPath(v)
    }

    /// Builds a host path from a `&str` (catalog entries).
    pub fn new(s: &str) -> Self {
        Self::from_bytes(s.as_bytes())
    }

    /// The raw bytes, starting with `/`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The path relative to the root, without the leading `/` (empty for the root itself).
    pub fn relative(&self) -> Cow<'_, Path> {
        match platform::os_str(&self.0[1..]) {
            Cow::Borrowed(s) => Cow::Borrowed(Path::new(s)),
            Cow::Owned(s) => Cow::Owned(PathBuf::from(s)),
        }
    }

    /// This path with one more component.
    pub fn join(&self, name: &[u8]) -> HostPath {
        let mut v = self.0.clone();
        if v.len() > 1 {
            v.push(b'/');
        }
        v.extend_from_slice(name);
        HostPath(v)
    }

    /// The parent directory (the root is its own parent).
    pub fn parent(&self) -> HostPath {
        match self.0.iter().rposition(|&b| b == b'/') {
            Some(0) | None => HostPath::root(),
            Some(i) => HostPath(self.0[..i].to_vec()),
        }
    }

    /// The last component's bytes.
    pub fn file_name(&self) -> &[u8] {
        match self.0.iter().rposition(|&b| b == b'/') {
            Some(i) => &self.0[i + 1..],
            None => &self.0,
        }
    }

    /// Whether `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &HostPath) -> bool {
        if other.0 == b"/" {
            return true;
        }
        self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.get(other.0.len()) == Some(&b'/'))
    }

    /// The escaped, printable form used in the manifest's `source` field.
    pub fn display(&self) -> String {
        escape(&self.0)
    }

    /// Hex of the raw bytes when the escaped form differs from them, else `None`.
    pub fn source_hex(&self) -> Option<String> {
        let shown = self.display();
        if shown.as_bytes() == self.0.as_slice() {
            None
        } else {
            Some(hex(&self.0))
        }
    }

    /// The name this path is stored under in a bundle: `files/<escaped path without '/'>`.
    pub fn stored_name(&self) -> String {
        format!("files/{}", escape(&self.0[1..]))
    }

    /// The real path of this host path under `root` (see [`platform::join_under`]).
    pub fn under(&self, root: &Path) -> PathBuf {
        platform::join_under(root, &self.0)
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn push_escaped_bytes(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push_str(&format!("%{b:02X}"));
    }
}

/// Escapes a byte string into a printable, injective UTF-8 name (see the module doc).
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() || c == '%' || c == '\\' {
                let mut buf = [0u8; 4];
                push_escaped_bytes(&mut out, c.encode_utf8(&mut buf).as_bytes());
            } else {
                out.push(c);
            }
        }
        push_escaped_bytes(&mut out, chunk.invalid());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_paths_are_unchanged() {
        let p = HostPath::new("/etc/postfix/main.cf");
        assert_eq!(p.display(), "/etc/postfix/main.cf");
        assert_eq!(p.source_hex(), None);
        assert_eq!(p.stored_name(), "files/etc/postfix/main.cf");
        assert_eq!(p.relative(), Path::new("etc/postfix/main.cf"));
    }

    #[test]
    fn hostile_names_are_escaped_and_kept_as_hex() {
        let p = HostPath::from_bytes(b"/home/bob/.forward\nfake\xff%");
        assert_eq!(p.display(), "/home/bob/.forward%0Afake%FF%25");
        assert_eq!(
            p.source_hex().as_deref(),
            Some(hex(b"/home/bob/.forward\nfake\xff%").as_str())
        );
        assert_eq!(p.stored_name(), "files/home/bob/.forward%0Afake%FF%25");
    }

    #[test]
    fn escaping_is_injective_for_percent() {
        assert_ne!(escape(b"a%0Ab"), escape(b"a\nb"));
        assert_eq!(escape("caf\u{e9}".as_bytes()), "caf\u{e9}");
        assert_eq!(escape(b"a\\b"), "a%5Cb");
    }

    #[test]
    fn join_parent_and_prefix() {
        let root = HostPath::root();
        let etc = root.join(b"etc");
        assert_eq!(etc.as_bytes(), b"/etc");
        assert_eq!(etc.join(b"postfix").parent(), etc);
        assert_eq!(etc.parent(), root);
        assert!(HostPath::new("/etc/postfix/x").starts_with(&HostPath::new("/etc/postfix")));
        assert!(!HostPath::new("/etc/postfixx").starts_with(&HostPath::new("/etc/postfix")));
        assert_eq!(HostPath::from_bytes(b"var/log/"), HostPath::new("/var/log"));
        assert_eq!(HostPath::new("/var/log/mail.log").file_name(), b"mail.log");
    }
}
