use super::*;
use crate::detect::host::Window;
use crate::detect::rules::config_tests::host;
use crate::events::fields::Parse;

// This Debian 12 machine's own /etc/passwd and /etc/group, and sudo's stock /etc/sudoers.
const PASSWD: &str = include_str!("../../../../tests/fixtures/host-accounts/stock/etc/passwd");
const GROUP: &str = include_str!("../../../../tests/fixtures/host-accounts/stock/etc/group");
const SUDOERS: &str = include_str!("../../../../tests/fixtures/host-accounts/stock/etc/sudoers");
// The real shadow-utils lines of tests/fixtures/host-accounts/auth.log.
const LOG: &str = include_str!("../../../../tests/fixtures/host-accounts/auth.log");

/// The changes of the log lines that mention `needle`, as the engine hands them over.
fn logged(needle: &str) -> Vec<LoggedChange> {
    LOG.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .filter_map(|(i, l)| {
            let s = crate::events::syslog::parse(l)?;
            let Parse::Event(p) = crate::events::accounts::parse(s.tag, s.msg) else {
                return None;
            };
            Some(LoggedChange {
                ts_us: s.stamp.absolute()?.timestamp_micros(),
                path: "var/log/auth.log".into(),
                sha256: None,
                line: i as u64 + 1,
                account: p.mailbox.map(|m| m.to_string()),
                actor: p.actor.map(|m| m.to_string()),
                detail: Detail::from_text(p.detail.as_deref()?)?,
            })
        })
        .collect()
}

type Cited = Vec<(String, Vec<u64>)>;

fn summary(f: &[Finding]) -> Vec<(String, Severity, Cited)> {
    f.iter()
        .map(|f| {
            (
                f.entities.users.first().cloned().unwrap_or_default(),
                f.severity,
                f.evidence
                    .iter()
                    .map(|e| (e.path.clone(), e.lines.clone()))
                    .collect(),
            )
        })
        .collect()
}

fn cites(v: &[(&str, &[u64])]) -> Cited {
    v.iter().map(|(p, l)| (p.to_string(), l.to_vec())).collect()
}

#[test]
fn a_stock_debian_host_is_quiet() {
    let h = host(&[
        ("/etc/passwd", PASSWD),
        ("/etc/group", GROUP),
        ("/etc/sudoers", SUDOERS),
        // Cloud images' rule for their first user: a human account.
        (
            "/etc/sudoers.d/90-cloud-init-users",
            "# Created by cloud-init v. 22.4.2 on Mon, 07 Dec 2026 01:00:00 +0000\n\n# User rules for cloudsdk\ncloudsdk ALL=(ALL) NOPASSWD:ALL\n",
        ),
        (
            "derived:/etc/shadow",
            "{\"account\":\"root\",\"password\":\"set\",\"scheme\":\"$y$\",\"last_change_day\":20400,\"last_change\":\"2025-11-08\",\"min\":0,\"max\":99999,\"inactive\":null,\"expire\":null}\n{\"account\":\"www-data\",\"password\":\"disabled\",\"scheme\":null,\"last_change_day\":20400,\"last_change\":\"2025-11-08\",\"min\":0,\"max\":99999,\"inactive\":null,\"expire\":null}\n{\"account\":\"postgres\",\"password\":\"disabled\",\"scheme\":null,\"last_change_day\":20400,\"last_change\":\"2025-11-08\",\"min\":0,\"max\":99999,\"inactive\":null,\"expire\":null}\n",
        ),
    ]);
    let f = Account.check(&h);
    assert!(f.is_empty(), "{f:#?}");
    // base-passwd's master copy (`*` in the password field) too.
    let master = host(&[(
        "/etc/passwd",
        "root:*:0:0:root:/root:/bin/bash\nsync:*:4:65534:sync:/bin:/bin/sync\nnobody:*:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    )]);
    assert!(Account.check(&master).is_empty());
}

#[test]
fn a_stock_red_hat_host_is_quiet() {
    // The system accounts and groups of RHEL 9's `setup` package (setup-2.13.7), transcribed:
    // `sync`, `shutdown`, `halt` and `operator` have GID 0.
    let h = host(&[
        (
            "/etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\nbin:x:1:1:bin:/bin:/sbin/nologin\ndaemon:x:2:2:daemon:/sbin:/sbin/nologin\nadm:x:3:4:adm:/var/adm:/sbin/nologin\nlp:x:4:7:lp:/var/spool/lpd:/sbin/nologin\nsync:x:5:0:sync:/sbin:/bin/sync\nshutdown:x:6:0:shutdown:/sbin:/sbin/shutdown\nhalt:x:7:0:halt:/sbin:/sbin/halt\nmail:x:8:12:mail:/var/spool/mail:/sbin/nologin\noperator:x:11:0:operator:/root:/sbin/nologin\ngames:x:12:100:games:/usr/games:/sbin/nologin\nftp:x:14:50:FTP User:/var/ftp:/sbin/nologin\nnobody:x:65534:65534:Kernel Overflow User:/:/sbin/nologin\npostfix:x:89:89::/var/spool/postfix:/sbin/nologin\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n",
        ),
        (
            "/etc/group",
            "root:x:0:\nbin:x:1:\ndaemon:x:2:\nsys:x:3:\nadm:x:4:\ntty:x:5:\ndisk:x:6:\nlp:x:7:\nmem:x:8:\nkmem:x:9:\nwheel:x:10:alice\nmail:x:12:postfix\nusers:x:100:\nnobody:x:65534:\npostfix:x:89:\nalice:x:1000:\n",
        ),
    ]);
    let f = Account.check(&h);
    assert!(f.is_empty(), "{f:#?}");
    // The same host with `operator` given a shell: its GID 0 now counts.
    let shell = host(&[
        (
            "/etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\noperator:x:11:0:operator:/root:/bin/bash\n",
        ),
        ("/etc/group", "root:x:0:\n"),
    ]);
    let f = Account.check(&shell);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::High);
    assert!(
        f[0].summary.contains("administrators' group root"),
        "{}",
        f[0].summary
    );
}

#[test]
fn second_uid_0_is_a_backdoor() {
    let passwd = format!("{PASSWD}sysadm:x:0:0::/root:/bin/bash\n");
    let n = passwd.lines().count() as u64;
    let mut h = host(&[("/etc/passwd", &passwd), ("/etc/group", GROUP)]);
    h.account_changes = logged("sysadm");
    let f = Account.check(&h);
    assert_eq!(
        summary(&f),
        [(
            "sysadm".to_string(),
            Severity::Critical,
            cites(&[("etc/passwd", &[n])])
        )]
    );
    assert_eq!(
        f[0].entities.roles.users.get("sysadm"),
        Some(&EntityRole::BackdoorAccount)
    );
    assert!(f[0].title.contains("UID 0"), "{}", f[0].title);
    // The fixture's log holds a UID 0 account created and deleted since: reported, medium.
    h.account_changes = logged("mailir-test-uid0");
    let f = Account.check(&h);
    let got = summary(&f);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].0, "mailir-test-uid0");
    assert_eq!(got[0].1, Severity::Medium);
    assert_eq!(got[0].2, cites(&[("var/log/auth.log", &[16, 27])]));
    assert!(f[0].summary.contains("not in /etc/passwd now"));
}

#[test]
fn duplicate_uid_and_service_accounts_with_a_way_in() {
    let passwd = PASSWD.replace(
        "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin",
        "www-data:x:33:33:www-data:/var/www:/bin/bash",
    ) + "mailsvc:x:1000:1000::/home/mailsvc:/bin/bash\n";
    let group = GROUP.replace("sudo:x:27:\n", "sudo:x:27:backup\n");
    let h = host(&[
        ("/etc/passwd", &passwd),
        ("/etc/group", &group),
        ("/etc/sudoers", SUDOERS),
        (
            "/etc/sudoers.d/www",
            "www-data ALL=(ALL) NOPASSWD: ALL\nnagios ALL=(root) NOPASSWD: /usr/lib/nagios/plugins/check_mailq\n",
        ),
        (
            "derived:/etc/shadow",
            "{\"account\":\"mail\",\"password\":\"set\",\"scheme\":\"$6$\",\"last_change_day\":20400,\"last_change\":\"2025-11-08\",\"min\":0,\"max\":99999,\"inactive\":null,\"expire\":null}\n",
        ),
    ]);
    let f = Account.check(&h);
    let got = summary(&f);
    let sudo_line = group.lines().position(|l| l.starts_with("sudo:")).unwrap() as u64 + 1;
    assert_eq!(
        got,
        [
            (
                "backup".to_string(),
                Severity::High,
                cites(&[("etc/group", &[sudo_line]), ("etc/passwd", &[14])])
            ),
            (
                "cloudsdk".to_string(),
                Severity::High,
                cites(&[("etc/passwd", &[19, 25])])
            ),
            (
                "mail".to_string(),
                Severity::High,
                cites(&[("derived:/etc/shadow", &[1])])
            ),
            (
                "mailsvc".to_string(),
                Severity::High,
                cites(&[("etc/passwd", &[19, 25])])
            ),
            (
                "www-data".to_string(),
                Severity::High,
                cites(&[("etc/passwd", &[13]), ("etc/sudoers.d/www", &[1])])
            ),
        ],
        "{f:#?}"
    );
    assert!(f[4].summary.contains("login shell /bin/bash"));
    assert!(f[4].summary.contains("NOPASSWD: ALL"));
}

#[test]
fn changes_inside_the_incident_window() {
    let changes = logged("mailir-test-xyz");
    let start = changes[0].ts_us;
    let mut h = host(&[
        (
            "/etc/passwd",
            &format!("{PASSWD}mailir-test-xyz:x:1001:1001::/home/mailir-test-xyz:/bin/bash\n"),
        ),
        (
            "derived:/etc/shadow",
            "{\"account\":\"cloudsdk\",\"password\":\"set\",\"scheme\":\"$y$\",\"last_change_day\":20794,\"last_change\":\"2026-12-07\",\"min\":0,\"max\":99999,\"inactive\":null,\"expire\":null}\n",
        ),
    ]);
    h.account_changes = changes;
    // Without an incident window: a human account added to sudo is routine.
    assert!(Account.check(&h).is_empty(), "{:#?}", Account.check(&h));
    h.window = Some(Window {
        start_us: start - 3_600_000_000,
        end_us: start + 3_600_000_000,
    });
    let f = Account.check(&h);
    let got = summary(&f);
    // A human account whose password changed inside the window, and nothing else: quiet
    // (users, package installs and the response itself change passwords every day).
    assert!(!got.iter().any(|g| g.0 == "cloudsdk"), "{got:#?}");
    let xyz = &got[0];
    assert_eq!(xyz.0, "mailir-test-xyz");
    assert_eq!(xyz.1, Severity::High, "{:#?}", f[0]);
    assert!(f[0]
        .summary
        .contains("added to the administrators' group sudo"));
    let auth = xyz.2.iter().find(|(p, _)| p == "var/log/auth.log").unwrap();
    assert!(auth.1.contains(&2) && auth.1.contains(&3), "{auth:?}");
    assert_eq!(
        f[0].entities.roles.users.get("mailir-test-xyz"),
        Some(&EntityRole::BackdoorAccount)
    );
    // The same change of a service account's password supports its other reason: a service
    // account with a usable password, changed during the incident, is high.
    if let Some(sh) = h.conf.files.get_mut("derived:/etc/shadow") {
        sh.data = b"{\"account\":\"www-data\",\"password\":\"set\",\"scheme\":\"$y$\",\"last_change_day\":20794,\"last_change\":\"2026-12-07\"}\n".to_vec();
    }
    let day = 20794 * 86_400_000_000;
    h.window = Some(Window {
        start_us: day,
        end_us: day + 3_600_000_000,
    });
    let f = Account.check(&h);
    let www = f
        .iter()
        .find(|f| f.entities.users.first().is_some_and(|u| u == "www-data"))
        .unwrap_or_else(|| panic!("{f:#?}"));
    assert_eq!(www.severity, Severity::High, "{www:#?}");
    assert!(www.summary.contains("2026-12-07"), "{}", www.summary);
}

#[test]
fn the_shared_state_keeps_account_changes_within_its_cap() {
    use crate::detect::fact::Fact;
    let mut fields: [Option<&str>; 10] = [None; 10];
    fields[2] = Some("sysadm");
    fields[9] = Some(r#"{"op":"useradd","action":"new_user","params":{"uid":"0"}}"#);
    let change = Fact::new(1_000_000, Kind::AccountChange, None, fields, 0, 7);
    let login = Fact::new(1_000_000, Kind::AuthSuccess, None, fields, 0, 8);
    let mut c = Changes::default();
    c.observe(&login);
    c.observe(&change);
    let files = [("var/log/auth.log".to_string(), Some("ab".to_string()))];
    let r = c.resolve(&files);
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].path.as_str(), r[0].line), ("var/log/auth.log", 7));
    assert_eq!(r[0].account.as_deref(), Some("sysadm"));
    assert_eq!(
        r[0].privileged().as_deref(),
        Some("created with UID 0 (root's powers)")
    );
    for _ in 0..MAX_CHANGES {
        c.observe(&change);
    }
    assert_eq!((c.kept.len(), c.dropped), (MAX_CHANGES, 1));
}
