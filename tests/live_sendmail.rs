//! A real Sendmail + Dovecot host under a real attack (`tests/live/sendmail/`,
//! `docs/live-test.md`, "The Sendmail run"): Debian's sendmail (Debian's own `sendmail.mc` with
//! greet_pause, BAD_RCPT_THROTTLE, conncontrol and ratecontrol; Cyrus SASL through saslauthd
//! and PAM; virtusertable, mailertable and genericstable; a smart host) and Dovecot in a
//! Debian bookworm chroot and network namespace of their own, attacked by
//! `tests/live/attack.py --mta sendmail`: the attacker classes of the Exim run, the persistence
//! planted in Sendmail's idiom (an access-map RELAY, virtusertable, genericstable and
//! mailertable entries, a smart host in `sendmail.mc`, a trusted user, a pipe alias and an
//! alias never compiled, a `.forward`, a cron job), a slice of `/var/log/mail.log` cut out and
//! the logs rotated by Debian's logrotate rules. The run itself is `live_lab::run`; it needs
//! `MAILIR_LIVE_SENDMAIL=1` and root, and keeps everything in `$MAILIR_LIVE_SENDMAIL_OUT`
//! (default: `live-sendmail` under cargo's test scratch folder).

use std::io::Read;
use std::path::Path;

use crate::live_lab::{self, FileStats, Lab};

/// Whether a syslog line is Sendmail's (`… mx sm-mta[123]: …`).
fn is_sendmail(line: &str) -> bool {
    line.contains(" sm-mta[") || line.contains(" sendmail[") || line.contains(" sm-msp-queue[")
}

/// Sendmail's lines in the run's copy of the mail logs (`mail.log`, `mail.log.1`,
/// `mail.log.2.gz`): they share the files with Dovecot's.
fn sendmail_lines(_stats: &FileStats, logs: &Path) -> u64 {
    let mut n = 0;
    for entry in std::fs::read_dir(logs).into_iter().flatten().flatten() {
        let path = entry.path();
        let Ok(raw) = std::fs::read(&path) else {
            continue;
        };
        let mut text = String::new();
        if path.extension().is_some_and(|e| e == "gz") {
            let _ = flate2::read::MultiGzDecoder::new(&raw[..]).read_to_string(&mut text);
        } else {
            text = String::from_utf8_lossy(&raw).into_owned();
        }
        n += text.lines().filter(|l| is_sendmail(l)).count() as u64;
    }
    n
}

#[test]
fn live_sendmail_and_dovecot_under_attack_are_found_end_to_end() {
    live_lab::run(
        &Lab {
            name: "sendmail",
            mta: "Sendmail",
            enable: "MAILIR_LIVE_SENDMAIL",
            out_var: "MAILIR_LIVE_SENDMAIL_OUT",
            root_var: "MAILIR_SENDMAIL_ROOT",
            root_default: "/var/cache/mailir/sendmail-root",
            triage_args_var: "MAILIR_LIVE_SENDMAIL_TRIAGE_ARGS",
            case: "LIVE-SENDMAIL",
            is_mta_unparsed: is_sendmail,
            mta_lines: sendmail_lines,
        },
        "live_sendmail_and_dovecot_under_attack_are_found_end_to_end",
    );
}
