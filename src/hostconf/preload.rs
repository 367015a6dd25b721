//! What the dynamic loader loads into every program: `/etc/ld.so.preload` entries, the
//! library directories of `/etc/ld.so.conf` and `/etc/ld.so.conf.d/*`, and the collector's
//! check of the preload file (`check:/etc/ld.so.preload`, or the live collection's
//! `volatile:preload-check.json`): one read through libc and one by raw system calls, which
//! disagree when a preloaded rootkit hides the file from libc.
//!
//! glibc's `ld.so` splits `/etc/ld.so.preload` at white space and `:` (ld.so(8), "FILES").
//! To read another loader's list (musl has none; `LD_PRELOAD` in an environment file is
//! `persistence.shell_init`'s), add a parser here returning [`PreloadEntry`].

use super::{numbered, HostConf};

/// Keys the preload check is kept under, in order of preference.
pub const CHECK_KEYS: &[&str] = &["check:/etc/ld.so.preload", "volatile:preload-check.json"];

/// One library named in `/etc/ld.so.preload`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreloadEntry {
    /// 1-based line.
    pub line: u64,
    /// The library path as written.
    pub library: String,
}

/// The entries of an `ld.so.preload` text (lines starting with `#` skipped).
pub fn preload(text: &str) -> Vec<PreloadEntry> {
    let mut out = Vec::new();
    for (line, l) in numbered(text) {
        if l.trim_start().starts_with('#') {
            continue;
        }
        for w in l.split(|c: char| c.is_whitespace() || c == ':') {
            if !w.is_empty() {
                out.push(PreloadEntry {
                    line,
                    library: w.to_string(),
                });
            }
        }
    }
    out
}

/// One directory of an `ld.so.conf` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibDir {
    /// Host path of the file.
    pub path: String,
    /// 1-based line.
    pub line: u64,
    /// The directory.
    pub dir: String,
}

/// The library directories of `/etc/ld.so.conf` and `/etc/ld.so.conf.d/*` (`include` lines
/// are not directories: the files they include are read as files of the folder).
pub fn lib_dirs(conf: &HostConf) -> Vec<LibDir> {
    let mut out = Vec::new();
    let files = conf
        .get("/etc/ld.so.conf")
        .map(|f| ("/etc/ld.so.conf", f))
        .into_iter()
        .chain(conf.under("/etc/ld.so.conf.d/"));
    for (path, f) in files {
        for (line, l) in numbered(&f.text()) {
            let t = l.split('#').next().unwrap_or("").trim();
            if t.is_empty() || t.starts_with("include") || t.starts_with("hwcap") {
                continue;
            }
            for d in t.split(|c: char| c.is_whitespace() || c == ':' || c == ',') {
                if !d.is_empty() {
                    out.push(LibDir {
                        path: path.to_string(),
                        line,
                        dir: d.to_string(),
                    });
                }
            }
        }
    }
    out
}

/// One read of the preload file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Read {
    /// The directory listing showed it.
    pub listed: bool,
    /// Opening it succeeded.
    pub opened: bool,
    /// Its size.
    pub size: Option<u64>,
    /// SHA-256 of its content.
    pub sha256: Option<String>,
}

/// The collector's two reads of `/etc/ld.so.preload`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreloadCheck {
    /// Host path read (`/etc/ld.so.preload`).
    pub path: String,
    /// Through libc (what a hooked libc shows).
    pub libc: Read,
    /// By raw system calls (what the kernel has).
    pub raw: Read,
    /// The collector found the two different.
    pub differ: bool,
}

impl PreloadCheck {
    /// Parses the check's JSON (unknown keys ignored; `None` when it is not such an object).
    pub fn parse(text: &str) -> Option<PreloadCheck> {
        let v: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
        let o = v.as_object()?;
        let read = |k: &str| {
            let r = o.get(k).and_then(|x| x.as_object());
            let b = |n: &str| {
                r.and_then(|r| r.get(n))
                    .and_then(|x| x.as_bool())
                    .unwrap_or(false)
            };
            Read {
                listed: b("listed"),
                opened: b("opened"),
                size: r.and_then(|r| r.get("size")).and_then(|x| x.as_u64()),
                sha256: r
                    .and_then(|r| r.get("sha256"))
                    .and_then(|x| x.as_str())
                    .map(str::to_string),
            }
        };
        let (libc, raw) = (read("libc"), read("raw"));
        let differ = o
            .get("differ")
            .and_then(|x| x.as_bool())
            .unwrap_or(libc != raw);
        Some(PreloadCheck {
            path: o
                .get("path")
                .and_then(|x| x.as_str())
                .unwrap_or("/etc/ld.so.preload")
                .to_string(),
            libc,
            raw,
            differ,
        })
    }

    /// The check of `conf`, with the key it was read from.
    pub fn of(conf: &HostConf) -> Option<(&'static str, PreloadCheck)> {
        CHECK_KEYS
            .iter()
            .find_map(|k| Some((*k, PreloadCheck::parse(&conf.get(k)?.text())?)))
    }
}

/// Directories the loader searches by default and distributions install libraries into.
pub const STANDARD_LIB_DIRS: &[&str] = &[
    "/lib/",
    "/lib64/",
    "/lib32/",
    "/libx32/",
    "/usr/lib/",
    "/usr/lib64/",
    "/usr/lib32/",
    "/usr/libx32/",
    "/usr/local/lib/",
];

/// Why a library's place is suspect beyond being preloaded at all, if it is: world-writable
/// (`/tmp`, `/var/tmp`, `/dev/shm`), hidden (a `.name` component), or outside the standard
/// library directories.
pub fn odd_place(path: &str) -> Option<&'static str> {
    if ["/tmp/", "/var/tmp/", "/dev/shm/", "/run/shm/", "/var/lock/"]
        .iter()
        .any(|d| path.starts_with(d))
    {
        return Some("in a world-writable directory");
    }
    if path
        .split('/')
        .any(|c| c.starts_with('.') && c != "." && c != "..")
    {
        return Some("in a hidden place");
    }
    if !path.starts_with('/') {
        return Some("named without a full path");
    }
    if !STANDARD_LIB_DIRS.iter().any(|d| path.starts_with(d)) {
        return Some("outside the standard library directories");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preload_entries_split_at_space_and_colon() {
        let e = preload("/usr/lib/x86_64-linux-gnu/libprocesshider.so\n# note\n/lib/a.so:/tmp/.b.so  /lib/c.so\n");
        let got: Vec<(u64, &str)> = e.iter().map(|e| (e.line, e.library.as_str())).collect();
        assert_eq!(
            got,
            [
                (1, "/usr/lib/x86_64-linux-gnu/libprocesshider.so"),
                (3, "/lib/a.so"),
                (3, "/tmp/.b.so"),
                (3, "/lib/c.so")
            ]
        );
        assert!(preload("\n\n").is_empty());
    }

    #[test]
    fn places() {
        assert_eq!(odd_place("/usr/lib/x86_64-linux-gnu/libfoo.so"), None);
        assert_eq!(
            odd_place("/dev/shm/x.so"),
            Some("in a world-writable directory")
        );
        assert_eq!(odd_place("/usr/lib/.x/l.so"), Some("in a hidden place"));
        assert_eq!(
            odd_place("/etc/libsystem.so"),
            Some("outside the standard library directories")
        );
    }

    #[test]
    fn check_json() {
        let c = PreloadCheck::parse(r#"{"path":"/etc/ld.so.preload","libc":{"listed":false,"opened":false,"size":null,"sha256":null},"raw":{"listed":true,"opened":true,"size":35,"sha256":"ab"},"differ":true,"extra":1}"#).unwrap();
        assert!(c.differ);
        assert!(!c.libc.listed);
        assert_eq!(c.raw.size, Some(35));
        assert_eq!(PreloadCheck::parse("[]"), None);
    }
}
