//! `collect --root` on the host behind a mail server (issue 20): a fake Debian root built from
//! real files (tests/fixtures/host-collect/root: openssh-server's and sudo's Debian files,
//! this machine's PAM, profile, ld.so.conf, skel and systemd units, a real `at` job) with
//! persistence planted — an attacker's key in root's and in the nologin `backup` account's
//! `authorized_keys`, a user unit of `alice` enabled by a `*.wants/` link, an
//! `/etc/ld.so.preload`, shell and MySQL histories — and a real-format `/etc/shadow`.
//!
//! Checked: every path has its row with its category, units' enablement links are `symlink`
//! rows, histories are flagged secret, `/etc/shadow` is a `skipped` row and its derived
//! account metadata is right and no byte of a hash reaches the bundle (not through a link or
//! a hard link to it either), and `/etc/ld.so.preload` is compared through libc and raw
//! system calls — for real, with a rootkit-style hooking library compiled here and preloaded
//! into the collector alone (`LD_PRELOAD` in its environment; skipped loudly without gcc).

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::{self, manifest, row, run_cmd};

/// Hash text of the fixture's `/etc/shadow` (salts and digests): none may be in a bundle.
const HASH_PARTS: &[&str] = &[
    "Ke6vFq2m7Yx0T3oGQd1sH",
    "w9P4rN0bXcL8aZ2eJ5kM7tQ1yU3iV6oR4sD8fG0hH2",
    "Zq1xW9vB",
    "Fj3kL0pQ8rT2yU6iO4aS1dG7hJ5kL9zX3cV8bN2mQ4wE6rT0yU1iO7pA5sD3fG9hJ2kL4zX6cV8bN0mQ1wE3r",
    "3XbE0qR7nW2kP9sZ4vL1c",
    "aB5dF8gH1jK4lM7nP0qR3sT6uV9wX2yZ5aB8cD1eF4g",
    "j9T$",
];

fn fixture() -> PathBuf {
    util::repo().join("tests/fixtures/host-collect")
}

/// The fake root in `dir/root`, with the links and modes git does not keep.
fn host_root(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    util::copy_tree(&fixture().join("root"), &root);
    let ln = |target: &str, at: &str| {
        let p = root.join(at.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        symlink(target, p).unwrap();
    };
    // What `systemctl enable` and Debian's packages leave.
    ln(
        "/lib/systemd/system/ssh.service",
        "/etc/systemd/system/multi-user.target.wants/ssh.service",
    );
    ln(
        "/lib/systemd/system/ssh.service",
        "/etc/systemd/system/sshd.service",
    );
    ln(
        "/lib/systemd/system/apt-daily.timer",
        "/etc/systemd/system/timers.target.wants/apt-daily.timer",
    );
    ln(
        "/home/alice/.config/systemd/user/dbus-update.service",
        "/home/alice/.config/systemd/user/default.target.wants/dbus-update.service",
    );
    // Debian's `/etc/modules-load.d/modules.conf -> ../modules` (no /etc/modules here).
    ln("../modules", "/etc/modules-load.d/modules.conf");
    // Traps for the hashes: a link and a hard link to /etc/shadow under catalog names.
    ln("/etc/shadow", "/home/alice/.bash_login");
    fs::hard_link(root.join("etc/shadow"), root.join("home/alice/.zshrc")).unwrap();
    fs::set_permissions(root.join("etc/shadow"), fs::Permissions::from_mode(0o640)).unwrap();
    for d in ["root/.ssh", "var/backups/.ssh"] {
        fs::set_permissions(root.join(d), fs::Permissions::from_mode(0o700)).unwrap();
    }
    root
}

fn sha(b: &[u8]) -> String {
    format!("{:x}", Sha256::digest(b))
}

fn category(rows: &[Value], source: &str) -> String {
    row(rows, source)["category"].as_str().unwrap().to_string()
}

#[test]
fn host_files_are_collected_with_their_categories() {
    let t = tempfile::tempdir().unwrap();
    let root = host_root(t.path());
    // A drop-in moving keys elsewhere (Debian's sshd_config includes sshd_config.d/*.conf),
    // and a key there for the nologin `backup` account.
    fs::create_dir_all(root.join("etc/ssh/sshd_config.d")).unwrap();
    fs::write(
        root.join("etc/ssh/sshd_config.d/keys.conf"),
        "AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/keys/%u\n",
    )
    .unwrap();
    fs::create_dir_all(root.join("etc/ssh/keys")).unwrap();
    fs::copy(
        root.join("var/backups/.ssh/authorized_keys"),
        root.join("etc/ssh/keys/backup"),
    )
    .unwrap();
    let out = t.path().join("bundle");
    let o = util::collect(&root, &out);
    let rows = manifest(&out);
    let entries = util::entries(&out);
    let collected = |source: &str, cat: &str| {
        let r = row(&rows, source);
        assert_eq!(r["category"], cat, "{r}");
        assert_eq!(r["outcome"], "collected", "{r}");
        let stored = r["stored"].as_str().unwrap();
        let want = fs::read(root.join(source.trim_start_matches('/'))).unwrap();
        assert_eq!(r["sha256"], sha(&want), "{source}");
        assert_eq!(entries[stored], want, "{source}");
        r.clone()
    };
    for p in [
        "/etc/ssh/sshd_config",
        "/etc/ssh/sshd_config.d/keys.conf",
        "/etc/ssh/keys/backup",
        "/etc/ld.so.preload",
        "/etc/ld.so.conf",
        "/etc/ld.so.conf.d/libc.conf",
        "/etc/ld.so.conf.d/x86_64-linux-gnu.conf",
        "/etc/sudoers",
        "/etc/sudoers.d/README",
        "/etc/pam.d/sshd",
        "/etc/pam.d/common-auth",
        "/etc/pam.d/su",
        "/etc/init.d/ssh",
        "/etc/profile",
        "/etc/bash.bashrc",
        "/etc/environment",
        "/lib/systemd/system/ssh.service",
        "/lib/systemd/system/ssh.socket",
        "/lib/systemd/system/apt-daily.timer",
        "/lib/systemd/system/apt-daily.service",
        "/var/spool/cron/atjobs/a0000301e98cff",
        "/root/.ssh/authorized_keys",
        "/var/backups/.ssh/authorized_keys",
        "/home/alice/.bashrc",
        "/home/alice/.profile",
        "/home/alice/.config/systemd/user/dbus-update.service",
    ] {
        let r = collected(p, "host_config");
        assert_eq!(r["secret"], false, "{r}");
    }
    for p in ["/root/.bash_history", "/home/alice/.mysql_history"] {
        let r = collected(p, "shell_history");
        assert_eq!(r["secret"], true, "{r}");
    }
    // The nologin account's key is there like root's.
    let backup_keys = &entries["files/var/backups/.ssh/authorized_keys"];
    assert!(backup_keys.starts_with(b"no-port-forwarding,no-X11-forwarding ssh-rsa AAAA"));
    // Enablement: the links are rows with their targets; the units they name are collected.
    for (link, target) in [
        (
            "/etc/systemd/system/multi-user.target.wants/ssh.service",
            "/lib/systemd/system/ssh.service",
        ),
        (
            "/etc/systemd/system/timers.target.wants/apt-daily.timer",
            "/lib/systemd/system/apt-daily.timer",
        ),
        (
            "/home/alice/.config/systemd/user/default.target.wants/dbus-update.service",
            "/home/alice/.config/systemd/user/dbus-update.service",
        ),
        ("/etc/modules-load.d/modules.conf", "../modules"),
    ] {
        let r = row(&rows, link);
        assert_eq!(r["outcome"], "symlink", "{r}");
        assert_eq!(r["category"], "host_config", "{r}");
        assert_eq!(r["link_target"], target, "{r}");
    }
    // Checked and absent: each has its row.
    for (p, cat) in [
        ("/etc/rc.local", "host_config"),
        ("/etc/modules", "host_config"),
        ("/etc/bashrc", "host_config"),
        ("/etc/pam.conf", "host_config"),
        ("/usr/lib/systemd/system", "host_config"),
        ("/run/systemd/transient", "host_config"),
        ("/etc/ssh/keys/root", "host_config"),
        ("/etc/ssh/keys/www-data", "host_config"),
        ("/var/spool/at", "host_config"),
        ("/root/.config/systemd/user", "host_config"),
    ] {
        let r = row(&rows, p);
        assert_eq!(r["outcome"], "missing", "{r}");
        assert_eq!(category(&rows, p), cat);
    }
    let pattern = row(&rows, "/var/backups/{.bash_history,.zsh_history,.sh_history,.ash_history,.history,.mysql_history,.psql_history,.python_history}");
    assert_eq!(pattern["outcome"], "missing");
    assert_eq!(pattern["category"], "shell_history");
    // /etc/shadow: metadata only.
    let shadow = row(&rows, "/etc/shadow");
    assert_eq!(shadow["outcome"], "skipped", "{shadow}");
    assert_eq!(shadow["stored"], Value::Null);
    assert_eq!(shadow["mode"], "0640");
    assert!(shadow["error"].as_str().unwrap().contains("metadata only"));
    let derived = row(&rows, "derived:/etc/shadow");
    assert_eq!(derived["stored"], "host/shadow-accounts.jsonl");
    assert_eq!(derived["category"], "host_config");
    assert!(derived["exported_by"]
        .as_str()
        .unwrap()
        .contains("never stored"));
    assert_eq!(derived["mtime"], shadow["mtime"]);
    let accounts: Vec<Value> = entries["host/shadow-accounts.jsonl"]
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(accounts.len(), 25);
    let acct = |n: &str| accounts.iter().find(|a| a["account"] == n).unwrap().clone();
    assert_eq!(
        acct("root"),
        serde_json::json!({"account": "root", "password": "set", "scheme": "$y$",
            "last_change_day": 20000, "last_change": "2024-10-04", "min": 0, "max": 99999,
            "inactive": null, "expire": null})
    );
    assert_eq!(acct("backup")["password"], "set");
    assert_eq!(acct("backup")["scheme"], "$6$");
    assert_eq!(acct("backup")["last_change"], "2025-11-09");
    assert_eq!(acct("daemon")["password"], "disabled");
    assert_eq!(acct("messagebus")["password"], "locked");
    assert_eq!(acct("systemd-network")["max"], Value::Null);
    // No byte of a hash anywhere in the bundle (the link and the hard link were not copied).
    for (name, bytes) in &entries {
        let text = String::from_utf8_lossy(bytes);
        for h in HASH_PARTS {
            assert!(!text.contains(h), "hash text {h} in {name}");
        }
    }
    let link = row(&rows, "/home/alice/.bash_login");
    assert_eq!(link["outcome"], "symlink");
    assert!(
        link["error"].as_str().unwrap().contains("password hashes"),
        "{link}"
    );
    let hard = row(&rows, "/home/alice/.zshrc");
    assert_eq!(hard["outcome"], "skipped", "{hard}");
    assert_eq!(hard["stored"], Value::Null);
    // The preload comparison of an honest collector agrees.
    let check = row(&rows, "check:/etc/ld.so.preload");
    assert_eq!(check["stored"], "host/preload-check.json");
    let c: Value = serde_json::from_slice(&entries["host/preload-check.json"]).unwrap();
    let want = fs::read(root.join("etc/ld.so.preload")).unwrap();
    let view = serde_json::json!({"listed": true, "opened": true, "size": want.len(),
        "sha256": sha(&want)});
    assert_eq!(
        c,
        serde_json::json!({"path": "/etc/ld.so.preload", "libc": view, "raw": view, "differ": false})
    );
    assert!(
        !o.stderr.contains("WARNING: /etc/ld.so.preload"),
        "{}",
        o.stderr
    );
    let log = String::from_utf8_lossy(&entries["collect.log"]);
    assert!(
        log.contains(
            "sshd AuthorizedKeysFile from /etc/ssh/sshd_config.d/keys.conf: /etc/ssh/keys/%u"
        ),
        "{log}"
    );
    // The bundle verifies with the new entries; a `host/` entry the manifest does not name is
    // found even when SHA256SUMS was made to list it.
    let v = util::run(&["verify", out.to_str().unwrap()]);
    assert_eq!(v.code, 0, "{}\n{}", v.stdout, v.stderr);
    fs::write(out.join("host/planted"), b"x").unwrap();
    let mut sums = fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    sums.push_str(&format!("{}  host/planted\n", sha(b"x")));
    fs::write(out.join("SHA256SUMS"), sums).unwrap();
    let v = util::run(&["verify", out.to_str().unwrap()]);
    assert_eq!(v.code, 1, "{}\n{}", v.stdout, v.stderr);
    assert!(
        v.stdout
            .contains("extra: host/planted (not in manifest.jsonl)"),
        "{}",
        v.stdout
    );
}

/// Whether the binary is dynamically linked (a static musl collector cannot be preloaded
/// into, and then this test has nothing to show).
fn dynamic(bin: &Path) -> bool {
    let head = fs::read(bin).unwrap();
    head.windows(b"ld-linux".len())
        .take(64 << 10)
        .any(|w| w == b"ld-linux")
}

#[test]
fn a_preload_rootkit_does_not_hide_its_preload_file() {
    let Ok(gcc) = Command::new("gcc").arg("--version").output() else {
        eprintln!("SKIPPED: gcc is not installed: the hooking library cannot be built");
        return;
    };
    assert!(gcc.status.success());
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_mailir"));
    if !dynamic(&bin) {
        eprintln!(
            "SKIPPED: {} is statically linked: LD_PRELOAD cannot reach it",
            bin.display()
        );
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let lib = t.path().join("hide_preload.so");
    let mut cc = Command::new("gcc");
    cc.args([
        "-shared",
        "-fPIC",
        "-O2",
        "-fno-delete-null-pointer-checks",
        "-o",
    ])
    .arg(&lib)
    .arg(fixture().join("hide_preload.c"))
    .arg("-ldl");
    let built = run_cmd(cc, Duration::from_secs(120));
    assert_eq!(built.code, 0, "gcc: {}", built.stderr);
    let root = host_root(t.path());
    let preload = root.join("etc/ld.so.preload");
    let want = fs::read(&preload).unwrap();
    // The library hides the file from an ordinary program, as a rootkit does.
    let mut cat = Command::new("cat");
    cat.arg(&preload).env("LD_PRELOAD", &lib);
    let hidden = run_cmd(cat, Duration::from_secs(20));
    assert_ne!(hidden.code, 0, "cat still read it: {}", hidden.stdout);
    // The collector, with the library preloaded into it alone.
    let out = t.path().join("hooked");
    let mut c = util::mailir();
    c.args(["collect", "--root"])
        .arg(&root)
        .arg("--out")
        .arg(&out)
        .env("LD_PRELOAD", &lib);
    let o = run_cmd(c, Duration::from_secs(120));
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains("WARNING: /etc/ld.so.preload"),
        "{}",
        o.stderr
    );
    let entries = util::entries(&out);
    let rows = manifest(&out);
    let c: Value = serde_json::from_slice(&entries["host/preload-check.json"]).unwrap();
    assert_eq!(c["differ"], true, "{c}");
    assert_eq!(
        c["libc"],
        serde_json::json!({"listed": false, "opened": false, "size": null, "sha256": null})
    );
    assert_eq!(
        c["raw"],
        serde_json::json!({"listed": true, "opened": true, "size": want.len(), "sha256": sha(&want)})
    );
    let r = row(&rows, "/etc/ld.so.preload");
    assert_eq!(r["outcome"], "collected", "{r}");
    assert_eq!(r["category"], "host_config");
    assert_eq!(r["sha256"], sha(&want));
    assert!(
        r["error"].as_str().unwrap().contains("direct system calls"),
        "{r}"
    );
    assert_eq!(r["inode"], {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(&preload).unwrap().ino()
    });
    assert_eq!(r["stored"], "host/preload-raw");
    assert_eq!(entries["host/preload-raw"], want);
    // Nothing else went missing: the hidden name only cost its own entry.
    assert!(rows.iter().all(|r| r["outcome"] != "destination_full"
        && !r["error"]
            .as_str()
            .unwrap_or("")
            .contains("not collected: bundle destination")));
    let custody: Value = serde_json::from_slice(&entries["custody.json"]).unwrap();
    assert!(
        custody["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("ld.so.preload")),
        "{custody}"
    );
    let v = util::run(&["verify", out.to_str().unwrap()]);
    assert_eq!(v.code, 0, "{}\n{}", v.stdout, v.stderr);
    // `detect` reads the raw bytes as the file.
    #[cfg(feature = "analysis")]
    {
        let conf = mailir::hostconf::HostConf::load(std::slice::from_ref(&out));
        let f = conf
            .get("/etc/ld.so.preload")
            .expect("the raw copy read as the file");
        assert_eq!(f.data, want);
        assert_eq!(f.shown, "host/preload-raw");
    }
    // Without the library: the same root, no difference.
    let plain = t.path().join("plain");
    util::collect(&root, &plain);
    let c: Value =
        serde_json::from_slice(&util::entries(&plain)["host/preload-check.json"]).unwrap();
    assert_eq!(c["differ"], false, "{c}");
}

/// The analysis side reads the same derived shadow bytes from the bundle and from the root.
#[cfg(feature = "analysis")]
#[test]
fn hostconf_reads_the_derived_shadow_and_the_check_from_bundle_and_root() {
    use mailir::hostconf::{shadow, HostConf};
    let t = tempfile::tempdir().unwrap();
    let root = host_root(t.path());
    let out = t.path().join("bundle");
    util::collect(&root, &out);
    let from_bundle = HostConf::load(std::slice::from_ref(&out));
    let from_root = HostConf::load(std::slice::from_ref(&root));
    let b = from_bundle
        .get(shadow::SOURCE)
        .expect("derived shadow in the bundle");
    let r = from_root
        .get(shadow::SOURCE)
        .expect("derived shadow from the root");
    assert_eq!(b.data, r.data);
    assert_eq!(b.shown, "host/shadow-accounts.jsonl");
    let accounts = shadow::accounts(&b.data);
    assert_eq!(accounts[0].1.account, "root");
    assert!(from_bundle.get("/etc/shadow").is_none());
    // The hard link to /etc/shadow is not read as configuration either.
    assert!(from_root.get("/home/alice/.zshrc").is_none());
    assert!(from_bundle.get("/home/alice/.zshrc").is_none());
    assert!(from_root.get("/etc/shadow").is_none());
    assert!(from_bundle.get("check:/etc/ld.so.preload").is_some());
    assert!(from_bundle.get("/root/.ssh/authorized_keys").is_some());
    assert!(from_root.get("/var/backups/.ssh/authorized_keys").is_some());
    assert!(from_bundle.get("/home/alice/.mysql_history").is_some());
    assert_eq!(
        from_bundle
            .links
            .get("/etc/systemd/system/multi-user.target.wants/ssh.service")
            .map(String::as_str),
        Some("/lib/systemd/system/ssh.service")
    );
}
