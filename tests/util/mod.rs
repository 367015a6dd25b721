//! Test harness: run the real binary with a time limit, read bundles, reach the samples.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod fleet;

/// What one run of the binary produced.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The compromised-host sample.
pub fn sample() -> PathBuf {
    repo().join("samples/compromised-postfix")
}

/// Runs `cmd` and fails the test if it does not end within `limit` (it is killed first).
pub fn run_cmd(mut cmd: Command, limit: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("command hung for more than {limit:?}: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        code: status.code().unwrap_or(-1),
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

/// A `mailir` command.
pub fn mailir() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mailir"))
}

/// The collector run as `nobody` when the tests run as root (a copy of the binary in `dir`,
/// since the build folder may sit in root's home), or as the unprivileged account running them.
pub fn mailir_unprivileged(dir: &Path) -> Command {
    use std::os::unix::fs::PermissionsExt;
    if !is_root() {
        return mailir();
    }
    let bin = dir.join("mailir");
    // Copied by `cp`, not `fs::copy`: a write descriptor opened in this (multi-threaded) test
    // process is inherited by whatever another test forks meanwhile, and executing the copy
    // while any process holds it open for writing fails with "Text file busy".
    let cp = Command::new("cp")
        .arg(env!("CARGO_BIN_EXE_mailir"))
        .arg(&bin)
        .status()
        .unwrap();
    assert!(cp.success(), "cp of the mailir binary: {cp}");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&bin);
    c
}

/// Writes an executable script at `path`. The file is written by a child `sh`, never opened
/// for writing in this multi-threaded test process: a sibling test forking meanwhile would
/// inherit that descriptor and running the script would fail with "Text file busy".
pub fn write_script(path: &Path, text: &str) {
    use std::io::Write;
    let mut c = Command::new("sh")
        .args(["-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh"])
        .arg(path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let s = c.wait().unwrap();
    assert!(s.success(), "writing {}: {s}", path.display());
}

/// Runs mailir with `args` (two-minute limit).
pub fn run(args: &[&str]) -> Output {
    let mut c = mailir();
    c.args(args);
    run_cmd(c, Duration::from_secs(120))
}

/// Runs `collect --root ROOT --out OUT` with extra arguments.
pub fn collect_with(root: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "collect",
        "--root",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// Collects `root` into `out` with a case and examiner; panics unless it succeeded.
pub fn collect(root: &Path, out: &Path) -> Output {
    let o = collect_with(root, out, &["--case", "T-1", "--examiner", "test"]);
    assert_eq!(o.code, 0, "collect failed: {}\n{}", o.stdout, o.stderr);
    o
}

/// Reads every entry of a bundle (zip, tar.gz or directory) into memory.
pub fn entries(bundle: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let name = bundle.to_string_lossy();
    if bundle.is_dir() {
        for e in walkdir::WalkDir::new(bundle) {
            let e = e.unwrap();
            if e.file_type().is_file() {
                let rel = e
                    .path()
                    .strip_prefix(bundle)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string();
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    } else if name.ends_with(".zip") {
        let mut z = zip::ZipArchive::new(std::fs::File::open(bundle).unwrap()).unwrap();
        for i in 0..z.len() {
            let mut f = z.by_index(i).unwrap();
            let mut v = Vec::new();
            f.read_to_end(&mut v).unwrap();
            out.insert(f.name().unwrap().to_string(), v);
        }
    } else {
        let gz = flate2::read::GzDecoder::new(std::fs::File::open(bundle).unwrap());
        let mut t = tar::Archive::new(gz);
        for e in t.entries().unwrap() {
            let mut e = e.unwrap();
            let p = String::from_utf8(e.path_bytes().to_vec()).unwrap();
            let mut v = Vec::new();
            e.read_to_end(&mut v).unwrap();
            out.insert(p, v);
        }
    }
    out
}

/// The manifest rows of a bundle.
pub fn manifest(bundle: &Path) -> Vec<Value> {
    let e = entries(bundle);
    let m = e.get("manifest.jsonl").expect("manifest.jsonl in bundle");
    m.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

/// The manifest row whose `source` is `source`.
pub fn row<'a>(rows: &'a [Value], source: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["source"] == source)
        .unwrap_or_else(|| panic!("no manifest row for {source}"))
}

/// Whether the process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Copies a tree, recreating symlinks as symlinks (never following them).
pub fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from).follow_links(false) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(from).unwrap();
        let dst = to.join(rel);
        let t = e.file_type();
        if t.is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
        } else if t.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).unwrap(), &dst).unwrap();
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

/// Sets a file's mtime (and atime) to an RFC 3339 time.
pub fn set_mtime(path: &Path, rfc3339: &str) {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap();
    let st = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(t.timestamp() as u64);
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_times(std::fs::FileTimes::new().set_accessed(st).set_modified(st))
        .unwrap();
}

/// The sample's ground truth.
pub fn truth() -> Value {
    serde_json::from_slice(&std::fs::read(sample().join("truth.json")).unwrap()).unwrap()
}

/// The findings `detect` reports on the sample host (times read as Asia/Shanghai), one JSON
/// value each.
#[cfg(feature = "analysis")]
pub fn sample_findings() -> Vec<serde_json::Value> {
    let o = run(&[
        "detect",
        sample().to_str().unwrap(),
        "--timezone",
        "Asia/Shanghai",
        "--format",
        "jsonl",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    o.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The strings of a JSON array (none when it is not one).
pub fn strs(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Holds `findings` (a `detect` JSON's `findings`) against a ground truth's `theft` block:
/// every `expected` item found — its rule naming its users and addresses and citing its lines
/// — and, per rule, mailbox and source, the `accessed` counts the findings give adding up to
/// the truth's (one finding may cover several expected sessions: a burst); no `negatives` item
/// above its `max_severity` (`null`: no finding at all).
pub fn check_theft(findings: &[Value], theft: &Value) {
    let rank = |s: &str| {
        ["info", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| *x == s)
    };
    let names = |f: &Value, kind: &str| strs(&f["entities"][kind]);
    let mut want: BTreeMap<(String, String, String, &str), u64> = BTreeMap::new();
    let mut got: BTreeMap<(String, String, String, &str), u64> = BTreeMap::new();
    for item in theft["expected"].as_array().expect("theft.expected") {
        let rule = item["rule"].as_str().unwrap();
        let users = strs(&item["users"]);
        let ips = strs(&item["ips"]);
        let of_rule: Vec<&Value> = findings
            .iter()
            .filter(|f| f["rule"] == rule)
            .filter(|f| users.iter().all(|u| names(f, "users").contains(u)))
            .filter(|f| ips.iter().all(|i| names(f, "ips").contains(i)))
            .collect();
        assert!(
            !of_rule.is_empty(),
            "{rule} naming {users:?} {ips:?}: {item:#}"
        );
        if let (Some(file), Some(lines)) = (item["file"].as_str(), item["lines"].as_array()) {
            let cited: Vec<u64> = of_rule
                .iter()
                .flat_map(|f| f["evidence"].as_array().into_iter().flatten())
                .filter(|e| e["path"].as_str().is_some_and(|p| p.ends_with(file)))
                .flat_map(|e| e["lines"].as_array().into_iter().flatten())
                .filter_map(Value::as_u64)
                .collect();
            let last = lines.last().and_then(Value::as_u64).unwrap();
            let any = lines
                .iter()
                .filter_map(Value::as_u64)
                .any(|l| cited.contains(&l));
            assert!(
                any || cited.contains(&last),
                "{rule}: {file} lines {lines:?} not cited ({cited:?})"
            );
        }
        let a = &item["accessed"];
        for field in ["messages", "bytes", "deleted"] {
            if let Some(n) = a[field].as_u64() {
                let key = (
                    rule.to_string(),
                    a["mailbox"].as_str().unwrap_or_default().to_string(),
                    strs(&a["sources"]).join(","),
                    field,
                );
                *want.entry(key).or_default() += n;
            }
        }
    }
    for f in findings {
        for a in f["accessed"].as_array().into_iter().flatten() {
            for field in ["messages", "bytes", "deleted"] {
                let key = (
                    f["rule"].as_str().unwrap().to_string(),
                    a["mailbox"].as_str().unwrap_or_default().to_string(),
                    strs(&a["sources"]).join(","),
                    field,
                );
                if let (true, Some(n)) = (want.contains_key(&key), a[field].as_u64()) {
                    *got.entry(key).or_default() += n;
                }
            }
        }
    }
    assert_eq!(got, want, "accessed counts against the truth");
    for neg in theft["negatives"].as_array().into_iter().flatten() {
        let rule = neg["rule"].as_str().unwrap();
        let max = neg["max_severity"].as_str().and_then(rank);
        let users = strs(&neg["users"]);
        let ips = strs(&neg["ips"]);
        for f in findings.iter().filter(|f| f["rule"] == rule) {
            let names_one = users.iter().any(|u| names(f, "users").contains(u))
                || ips.iter().any(|i| names(f, "ips").contains(i));
            let sev = f["severity"].as_str().and_then(rank);
            assert!(
                !names_one || (max.is_some() && sev <= max),
                "negative broken by {f:#}: {neg:#}"
            );
        }
    }
}

/// Chromium, when this machine has it (`.ci/run` installs Debian's `chromium`).
pub fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// The DOM of an HTML file after a headless Chromium loaded it (its stdout), and the
/// browser's log (stderr).
pub fn browser_dom(browser: &str, page: &Path) -> Output {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,1600",
        "--dump-dom",
    ]);
    cmd.arg(format!("file://{}", page.display()));
    run_cmd(cmd, Duration::from_secs(120))
}
