//! The collector on awkward hosts: a kernel (or container profile) that refuses `openat2` with
//! `EPERM`, an unprivileged account, and a start through the dynamic loader.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::util::{self, manifest, row, run_cmd};

const OUTSIDE_SECRET: &[u8] = b"HOST-SECRET-OUTSIDE-THE-ROOT-77ab";

/// A small mail host: real Postfix lines, a main.cf, and a link planted to escape the root.
fn small_host(t: &Path) -> PathBuf {
    let root = t.join("root");
    fs::create_dir_all(root.join("var/log")).unwrap();
    fs::create_dir_all(root.join("etc/postfix")).unwrap();
    let sample = util::sample();
    let log = fs::read_to_string(sample.join("var/log/mail.log")).unwrap();
    let head: String = log.lines().take(200).map(|l| format!("{l}\n")).collect();
    fs::write(root.join("var/log/mail.log"), head).unwrap();
    fs::copy(
        sample.join("etc/postfix/main.cf"),
        root.join("etc/postfix/main.cf"),
    )
    .unwrap();
    fs::write(t.join("outside.txt"), OUTSIDE_SECRET).unwrap();
    symlink(t.join("outside.txt"), root.join("etc/postfix/escape.cf")).unwrap();
    root
}

fn custody(bundle: &Path) -> Value {
    serde_json::from_slice(&fs::read(bundle.join("custody.json")).unwrap()).unwrap()
}

/// A seccomp filter that answers `openat2` with `EPERM` — what container runtimes' default
/// profiles that predate the call answer — and allows everything else.
fn refuse_openat2(cmd: &mut Command) {
    const AUDIT_ARCH: u32 = if cfg!(target_arch = "x86_64") {
        0xC000_003E
    } else {
        0xC000_00B7 // aarch64
    };
    const NR_OPENAT2: u32 = 437; // the same on x86_64 and aarch64
    let ld = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    let jeq = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    let ret = (libc::BPF_RET | libc::BPF_K) as u16;
    let f = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let prog = [
        f(ld, 0, 0, 4), // seccomp_data.arch
        f(jeq, 0, 3, AUDIT_ARCH),
        f(ld, 0, 0, 0), // seccomp_data.nr
        f(jeq, 0, 1, NR_OPENAT2),
        f(ret, 0, 0, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
        f(ret, 0, 0, libc::SECCOMP_RET_ALLOW),
    ];
    // SAFETY: only prctl (async-signal-safe) runs between fork and exec; the program is a
    // copy owned by the closure, valid in the child.
    unsafe {
        cmd.pre_exec(move || {
            let fprog = libc::sock_fprog {
                len: prog.len() as u16,
                filter: prog.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &fprog as *const libc::sock_fprog,
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn openat2_refused_with_eperm_still_collects_everything() {
    let t = tempfile::tempdir().unwrap();
    let root = small_host(t.path());
    let normal = t.path().join("normal");
    let o = util::collect_with(&root, &normal, &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);

    let refused = t.path().join("refused");
    let mut cmd = util::mailir();
    cmd.args(["collect", "--root"])
        .arg(&root)
        .arg("--out")
        .arg(&refused);
    refuse_openat2(&mut cmd);
    let o = run_cmd(cmd, Duration::from_secs(120));
    assert_eq!(o.code, 0, "{}", o.stderr);

    let (a, b) = (manifest(&normal), manifest(&refused));
    for p in ["/var/log/mail.log", "/etc/postfix/main.cf"] {
        assert_eq!(row(&b, p)["outcome"], "collected", "{p}");
        assert_eq!(row(&a, p)["sha256"], row(&b, p)["sha256"], "{p}");
    }
    assert_eq!(custody(&normal)["counts"], custody(&refused)["counts"]);
    // The escaping link is still a link: the host file is never read.
    assert_eq!(row(&b, "/etc/postfix/escape.cf")["outcome"], "symlink");
    for (_, bytes) in util::entries(&refused) {
        assert!(!bytes
            .windows(OUTSIDE_SECRET.len())
            .any(|w| w == OUTSIDE_SECRET));
    }
    let notes = custody(&refused)["notes"].to_string();
    assert!(
        notes.contains("refused openat2 (Operation not permitted"),
        "{notes}"
    );
    assert!(!custody(&normal)["notes"].to_string().contains("openat2"));
    let log = String::from_utf8(fs::read(refused.join("collect.log")).unwrap()).unwrap();
    assert!(log.contains("openat2 refused at start"), "{log}");
}

#[test]
fn unprivileged_collection_warns_and_exits_4_unless_allowed() {
    let t = tempfile::tempdir().unwrap();
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let root = small_host(t.path());
    // As on Debian: the mail log is root:adm 0640, Exim's log folder 0750.
    fs::set_permissions(
        root.join("var/log/mail.log"),
        fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    fs::create_dir_all(root.join("var/log/exim4")).unwrap();
    fs::write(root.join("var/log/exim4/mainlog"), b"").unwrap();
    fs::set_permissions(
        root.join("var/log/exim4"),
        fs::Permissions::from_mode(0o750),
    )
    .unwrap();
    if !util::is_root() {
        // Nothing is root-owned here: make the files unreadable to their owner instead.
        for p in ["var/log/mail.log", "var/log/exim4"] {
            fs::set_permissions(root.join(p), fs::Permissions::from_mode(0o000)).unwrap();
        }
    }
    let outs = t.path().join("out");
    fs::create_dir(&outs).unwrap();
    fs::set_permissions(&outs, fs::Permissions::from_mode(0o777)).unwrap();

    for (name, allow) in [("strict", false), ("allowed", true)] {
        let out = outs.join(name);
        let mut cmd = util::mailir_unprivileged(t.path());
        cmd.args(["collect", "--root"])
            .arg(&root)
            .arg("--out")
            .arg(&out);
        if allow {
            cmd.arg("--allow-partial");
        }
        let o = run_cmd(cmd, Duration::from_secs(120));
        assert_eq!(o.code, if allow { 0 } else { 4 }, "{}", o.stderr);
        // Warned at once, before anything was read, and again at the end.
        let first = o.stderr.lines().next().unwrap_or_default();
        assert!(first.contains("WARNING: running as uid"), "{}", o.stderr);
        assert!(o.stderr.contains("PARTIAL: 2 path(s)"), "{}", o.stderr);
        let rows = manifest(&out);
        assert_eq!(row(&rows, "/var/log/mail.log")["outcome"], "denied");
        // The folder is listed (its metadata) and its content refused.
        assert!(rows
            .iter()
            .any(|r| r["source"] == "/var/log/exim4" && r["outcome"] == "denied"));
        assert_eq!(row(&rows, "/etc/postfix/main.cf")["outcome"], "collected");
        let c = custody(&out);
        let s = &c["shortfall"];
        assert_eq!(s["rows_denied"], 2, "{c}");
        assert_eq!(s["by_category"]["mail_log"], 2, "{c}");
        assert_eq!(s["allowed"], allow);
        assert!(s["causes"][0].as_str().unwrap().contains("not root"), "{s}");
        assert!(c["notes"][0].as_str().unwrap().starts_with("PARTIAL"));
        let log = String::from_utf8(fs::read(out.join("collect.log")).unwrap()).unwrap();
        assert!(log.contains("WARNING: running as uid") && log.contains("PARTIAL"));
        // The bundle itself is sound.
        let v = util::run(&["verify", out.to_str().unwrap()]);
        assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    }
}

fn sha256sum(p: &Path) -> String {
    let o = Command::new("sha256sum").arg(p).output().unwrap();
    assert!(o.status.success());
    String::from_utf8(o.stdout).unwrap()[..64].to_string()
}

/// The dynamic loader named in the binary's `PT_INTERP`, found where the usual ones live.
fn loader() -> Option<PathBuf> {
    [
        "/lib64/ld-linux-x86-64.so.2",
        "/lib/ld-linux-aarch64.so.1",
        "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

#[test]
fn custody_hashes_the_collector_directly_and_through_the_loader() {
    let t = tempfile::tempdir().unwrap();
    let root = small_host(t.path());
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_mailir"));
    let want = sha256sum(&bin);

    let direct = t.path().join("direct");
    assert_eq!(util::collect_with(&root, &direct, &[]).code, 0);
    let c = custody(&direct);
    assert_eq!(c["collector"]["sha256"], want.as_str());
    assert_eq!(c["collector"]["path"], bin.to_str().unwrap());
    assert!(c["collector"]["loader"].is_null(), "{c}");

    let Some(ld) = loader() else {
        eprintln!("SKIPPED through-the-loader half: no ld-linux found on this machine");
        return;
    };
    let via = t.path().join("via-loader");
    let mut cmd = Command::new(&ld);
    cmd.arg(&bin)
        .args(["collect", "--root"])
        .arg(&root)
        .arg("--out")
        .arg(&via);
    let o = run_cmd(cmd, Duration::from_secs(120));
    if o.code != 0 && o.stderr.contains("not a dynamic executable") {
        eprintln!("SKIPPED through-the-loader half: the test binary is static");
        return;
    }
    assert_eq!(o.code, 0, "{}", o.stderr);
    let c = custody(&via);
    assert_eq!(c["collector"]["sha256"], want.as_str(), "{c}");
    assert_eq!(c["collector"]["path"], bin.to_str().unwrap());
    let real_ld = fs::canonicalize(&ld).unwrap();
    assert_eq!(c["collector"]["loader"]["path"], real_ld.to_str().unwrap());
    assert_eq!(
        c["collector"]["loader"]["sha256"],
        sha256sum(&real_ld).as_str()
    );
}
