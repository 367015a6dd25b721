//! A real Exim 4 + Dovecot host under a real attack (`tests/live/exim/`, `docs/live-test.md`,
//! "The Exim run"): Debian's `exim4-daemon-heavy` (Debian's split configuration, configtype
//! `internet`, SMTP AUTH through Dovecot) and Dovecot in a Debian bookworm chroot and network
//! namespace of their own, attacked by `tests/live/attack.py --mta exim`: the same attacker
//! classes as the Postfix run, the persistence planted in Exim's idiom (a redirect router, an
//! Exim filter in a `.forward`, widened relay networks, a system filter, a cron job), a slice
//! of `/var/log/exim4/mainlog` cut out and the logs rotated by Debian's logrotate rules. The run
//! itself is `live_lab::run`; it needs `MAILIR_LIVE_EXIM=1` and root, and keeps everything in
//! `$MAILIR_LIVE_EXIM_OUT` (default: `live-exim` under cargo's test scratch folder).

use crate::live_lab::{self, FileStats, Lab};

/// Exim writes its own logs: its lines are those of `/var/log/exim4/`.
fn is_exim(path_or_line: &str) -> bool {
    path_or_line.contains("/var/log/exim4/")
}

fn exim_lines(stats: &FileStats, _logs: &std::path::Path) -> u64 {
    stats
        .iter()
        .filter(|(p, _, _)| is_exim(p))
        .map(|s| s.1)
        .sum()
}

#[test]
fn live_exim_and_dovecot_under_attack_are_found_end_to_end() {
    live_lab::run(
        &Lab {
            name: "exim",
            mta: "Exim",
            enable: "MAILIR_LIVE_EXIM",
            out_var: "MAILIR_LIVE_EXIM_OUT",
            root_var: "MAILIR_EXIM_ROOT",
            root_default: "/var/cache/mailir/exim-root",
            triage_args_var: "MAILIR_LIVE_EXIM_TRIAGE_ARGS",
            case: "LIVE-EXIM",
            is_mta_unparsed: is_exim,
            mta_lines: exim_lines,
        },
        "live_exim_and_dovecot_under_attack_are_found_end_to_end",
    );
}
