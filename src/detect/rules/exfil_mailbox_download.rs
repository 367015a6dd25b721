//! `exfil.mailbox_download` — a session, or a burst of sessions from one address, that read
//! much of a mailbox from a source that is not the account's own.
//!
//! **Why**: the seeds' step after the takeover is 数据窃取 — download the mailbox, or search it
//! for 合同/发票/密码 and take that; the notification must then say *which mailboxes, how many
//! messages, from when to when*. The evidence is the mail server's own counters: Dovecot's
//! session end (`body_count`, `body_bytes`, `hdr_count`), webmail downloads, Microsoft 365
//! `MailItemsAccessed`. **How**: [`super::mail_access`] sums per mailbox, address and hour,
//! merges consecutive hours into a burst, and learns each account's own addresses and
//! networks and its busiest earlier day of reading from the evidence. **Severity**: critical
//! when an address earlier findings name as the attacker's (or a taken account from a new
//! network) read at least `download_messages` (20) messages, high below that; high for a
//! bulk download (≥ `download_messages` and ≥ `download_factor` (5) × the busiest earlier day)
//! from a network the account had not used; medium for less (≥ 5 messages, above the busiest
//! day) or for a bulk download whose address the log does not name; low when a new network
//! only listed the mailbox; **info** when a new client on the account's own network
//! downloaded it (the owner's new phone on the office Wi-Fi) or when one address does it on
//! `bulk_recurring_days` (3) days (a backup job). **ATT&CK**: T1114.002 (remote email
//! collection), T1114.001. **Phase**: exfiltration. **False positives**: a user's first
//! client on a new network (home, travel): the finding says the baseline; compare with the
//! account's owner. POP3 retrievals are `exfil.pop_retrieve`.

use super::mail_access::{Accesses, Burst, Judged};
use super::mail_reading::{read_verdict, Reading};
use super::Thresholds;
use crate::detect::fact::Fact;
use crate::detect::finding::Severity;

/// The rule.
pub fn new(t: &Thresholds) -> Reading {
    Reading {
        id: "exfil.mailbox_download",
        how,
        verdict,
        accesses: Accesses::new(wants, t),
    }
}

fn wants(f: &Fact) -> bool {
    f.proto != Some("pop3")
}

fn how(b: &Burst) -> &'static str {
    match b.proto() {
        Some("imap") => "IMAP",
        Some("http") => "webmail",
        Some("m365") => "Microsoft 365",
        Some(_) | None => "a mail client",
    }
}

fn verdict(j: &Judged, t: &Thresholds) -> Option<(Severity, String)> {
    read_verdict(j, t, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::catalog::Role;
    use crate::detect::entity::{EntityKind, EntityRole};
    use crate::detect::finding::Finding;
    use crate::detect::rules::mail_access::tests::{access, fact, session};
    use crate::detect::rules::mail_access::MAX_SEALED;
    use crate::detect::rules::tests::{run, success};
    use crate::detect::rules::Rule;
    use crate::events::detail::Detail;
    use crate::events::record::Kind;

    const DAY: i64 = 86_400;

    /// liwei reads a few messages a day from the office for a week.
    fn week() -> Vec<Fact> {
        (0..5)
            .flat_map(|d| {
                [
                    success(d * DAY + 3600, "192.0.2.10", "liwei"),
                    access(
                        d * DAY + 3700,
                        "192.0.2.10",
                        "liwei",
                        "imap",
                        session(3, 9000, 40, 0),
                    ),
                ]
            })
            .collect()
    }

    /// Runs the rule as the engine does on a long input (sealing at every hour the facts
    /// cross), holding at most `cap` sealed cells; the findings, and the cells judged early
    /// and bursts set aside.
    fn sealed_with_cap(
        facts: &[Fact],
        earlier: &[Finding],
        cap: usize,
    ) -> (Vec<Finding>, (u64, u64)) {
        let t = Thresholds::default();
        let mut rule = new(&t);
        rule.accesses = rule.accesses.with_max_sealed(cap);
        let shared = crate::detect::rules::tests::feed_sealed(&mut rule, facts);
        let files: &crate::detect::rules::Files = &[("var/log/mail.log".to_string(), None)];
        let early = rule.accesses.judged_early();
        let findings = rule.finish_with(files, &shared, earlier);
        assert!(rule.limits().is_empty(), "nothing lost");
        (findings, early)
    }

    /// liwei reads 3 messages from home on the first morning, then 25 every morning for nine
    /// days (each a cell worth judging, the owner's own reading); on day 8 a new network downloads 400; on day 9 an address of the
    /// office network liwei used on day 0 reads 30.
    fn long_reading() -> Vec<Fact> {
        let mut facts = vec![success(3600, "192.0.2.10", "liwei")];
        for d in 0..10 {
            facts.push(success(d * DAY + 7200, "198.51.100.7", "liwei"));
            let read = if d == 0 { 3 } else { 25 };
            facts.push(access(
                d * DAY + 7300,
                "198.51.100.7",
                "liwei",
                "imap",
                session(read, 1, 0, 0),
            ));
        }
        facts.push(success(8 * DAY + 40_000, "203.0.113.79", "liwei"));
        facts.push(access(
            8 * DAY + 40_100,
            "203.0.113.79",
            "liwei",
            "imap",
            session(400, 1, 0, 0),
        ));
        facts.push(success(9 * DAY + 40_000, "192.0.2.10", "liwei"));
        facts.push(access(
            9 * DAY + 40_100,
            "192.0.2.10",
            "liwei",
            "imap",
            session(30, 1, 0, 0),
        ));
        facts.sort_by_key(|f| f.ts_us);
        facts
    }

    fn titles(f: &[Finding]) -> Vec<(String, Severity, String)> {
        f.iter()
            .map(|f| (f.title.clone(), f.severity, f.summary.clone()))
            .collect()
    }

    #[test]
    fn at_the_cap_of_sealed_cells_the_oldest_are_judged_early_with_the_same_findings() {
        let facts = long_reading();
        let (all, early) = sealed_with_cap(&facts, &[], MAX_SEALED);
        assert_eq!(early, (0, 0));
        let (capped, (cells, set_aside)) = sealed_with_cap(&facts, &[], 2);
        // The owner's daily reading is judged early and set aside; the download is found
        // alike.
        assert!(cells >= 6 && set_aside >= 6, "{cells} {set_aside}");
        assert_eq!(titles(&all), titles(&capped));
        assert!(
            all.iter().any(|f| f.title.contains("400 message(s)")),
            "{all:#?}"
        );
    }

    #[test]
    fn at_the_cap_an_attacker_named_only_at_the_end_still_reaches_the_hours_set_aside() {
        // A finding at the end names the home address the attacker's: every reading from it
        // is reported (the first morning read too little to be judged), those judged early and set
        // aside on disk too.
        let mut facts = long_reading();
        facts.retain(|f| f.src_ip() != Some("203.0.113.79"));
        let mut named = Finding::of("auth.compromised_account");
        named
            .entities
            .tag(EntityKind::Ip, "198.51.100.7", EntityRole::AttackerSource);
        let named = [named];
        let (all, _) = sealed_with_cap(&facts, &named, MAX_SEALED);
        let (capped, (_, set_aside)) = sealed_with_cap(&facts, &named, 2);
        let from = |f: &[Finding]| {
            f.iter()
                .filter(|f| f.title.contains("198.51.100.7"))
                .count()
        };
        assert_eq!(from(&all), 9, "{all:#?}");
        assert!(set_aside >= 6, "{set_aside}");
        assert_eq!(titles(&all), titles(&capped));
        // Naming another account's address changes nothing here.
        let mut other = Finding::of("auth.compromised_account");
        other
            .entities
            .tag(EntityKind::Ip, "192.0.2.99", EntityRole::AttackerSource);
        let (a, _) = sealed_with_cap(&facts, &[other.clone()], MAX_SEALED);
        let (c, _) = sealed_with_cap(&facts, &[other], 2);
        assert_eq!(titles(&a), titles(&c));
    }

    fn found(facts: &[Fact]) -> Vec<Finding> {
        run(Box::new(new(&Thresholds::default())), facts)
    }

    #[test]
    fn a_full_download_from_a_new_network_is_high_with_its_counts() {
        let mut facts = week();
        facts.push(success(6 * DAY, "203.0.113.79", "liwei"));
        facts.push(access(
            6 * DAY + 600,
            "203.0.113.79",
            "liwei",
            "imap",
            session(412, 31_457_280, 0, 0),
        ));
        let f = found(&facts);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].severity, Severity::High);
        let a = &f[0].accessed[0];
        assert_eq!((a.messages, a.bytes), (Some(412), Some(31_457_280)));
        assert_eq!(a.sources, ["203.0.113.79"]);
        assert!(a
            .baseline
            .as_deref()
            .unwrap_or("")
            .contains("at most 3 message(s)"));
        assert_eq!(
            f[0].entities.role(EntityKind::Ip, "203.0.113.79"),
            Some(EntityRole::NewSource)
        );
        assert_eq!(
            f[0].entities.role(EntityKind::User, "liwei"),
            Some(EntityRole::VictimAccount)
        );
    }

    #[test]
    fn the_owners_new_phone_on_the_office_network_is_info_at_most() {
        let mut facts = week();
        facts.push(success(6 * DAY, "192.0.2.57", "liwei"));
        facts.push(access(
            6 * DAY + 600,
            "192.0.2.57",
            "liwei",
            "imap",
            session(412, 31_457_280, 0, 0),
        ));
        let f = found(&facts);
        assert!(f.iter().all(|f| f.severity <= Severity::Info), "{f:#?}");
        // The usual client re-syncing everything is nothing at all.
        let mut facts = week();
        facts.push(access(
            6 * DAY + 600,
            "192.0.2.10",
            "liwei",
            "imap",
            session(412, 31_457_280, 0, 0),
        ));
        assert!(found(&facts).is_empty());
    }

    /// The owner reads from home a few messages at a time, eight sessions a day (24 a day).
    fn busy_owner(days: i64) -> Vec<Fact> {
        (0..days)
            .flat_map(|d| {
                (0..8).flat_map(move |i| {
                    let at = d * DAY + 7 * 3600 + i * 5400;
                    [
                        success(at, "198.51.100.23", "meng"),
                        access(
                            at + 600,
                            "198.51.100.23",
                            "meng",
                            "imap",
                            session(3, 9000, 5, 0),
                        ),
                    ]
                })
            })
            .collect()
    }

    #[test]
    fn an_owner_who_reads_a_little_many_times_a_day_is_not_a_new_network() {
        // Day 3: a busier hour from the same home address (25 read, 40 listed). Its first
        // session read 3: it vouches, though it reads more than `download_messages` a day.
        let mut facts = busy_owner(3);
        facts.push(success(3 * DAY + 9 * 3600, "198.51.100.23", "meng"));
        facts.push(access(
            3 * DAY + 9 * 3600 + 600,
            "198.51.100.23",
            "meng",
            "imap",
            session(25, 90_000, 40, 0),
        ));
        let f = found(&facts);
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn the_owners_client_reading_as_much_every_day_is_no_schedule_finding() {
        // 30 a day from the usual home address on four days: not "a schedule" (info), nothing.
        let mut facts = busy_owner(2);
        for d in 2..6 {
            facts.push(access(
                d * DAY + 5 * 3600,
                "198.51.100.23",
                "meng",
                "imap",
                session(30, 90_000, 0, 0),
            ));
        }
        let f = found(&facts);
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn an_address_whose_first_session_downloaded_in_bulk_does_not_vouch() {
        // The thief's first contact downloads 300 messages; the next day the same address
        // reads again: still not the owner's, whatever it read since.
        let mut facts = week();
        facts.push(success(5 * DAY + 7200, "203.0.113.61", "liwei"));
        facts.push(access(
            5 * DAY + 7800,
            "203.0.113.61",
            "liwei",
            "imap",
            session(300, 9_000_000, 0, 0),
        ));
        facts.push(success(7 * DAY, "203.0.113.61", "liwei"));
        facts.push(access(
            7 * DAY + 600,
            "203.0.113.61",
            "liwei",
            "imap",
            session(40, 900_000, 0, 0),
        ));
        let f = found(&facts);
        assert_eq!(f.len(), 2, "{f:#?}");
        assert!(f.iter().all(|f| f.severity >= Severity::Medium), "{f:#?}");
        assert_eq!(
            f[1].entities.role(EntityKind::Ip, "203.0.113.61"),
            Some(EntityRole::NewSource)
        );
    }

    #[test]
    fn the_attackers_address_makes_even_a_few_messages_high() {
        let mut facts = week();
        facts.push(access(
            6 * DAY + 600,
            "203.0.113.77",
            "liwei",
            "imap",
            session(4, 20_000, 60, 0),
        ));
        let mut takeover = Finding::of("auth.compromised_account");
        takeover.first_seen =
            crate::detect::finding::ts(crate::detect::rules::tests::T0 + 6 * DAY * 1_000_000);
        takeover.entities.ips = vec!["203.0.113.77".into()];
        takeover.entities.users = vec!["liwei".into()];
        assert!(takeover.has(Role::TakenAccount));
        let mut rule = new(&Thresholds::default());
        let mut shared = crate::detect::rules::Shared::default();
        for f in &facts {
            shared.observe(f);
            rule.observe(f);
        }
        let files: &crate::detect::rules::Files = &[("var/log/mail.log".to_string(), None)];
        let f = rule.finish_with(files, &shared, &[takeover]);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(
            f[0].entities.role(EntityKind::Ip, "203.0.113.77"),
            Some(EntityRole::AttackerSource)
        );
    }

    #[test]
    fn sessions_in_consecutive_hours_are_one_burst_and_a_nightly_job_is_a_schedule() {
        let mut facts = week();
        for i in 0..4 {
            facts.push(access(
                6 * DAY + i * 3000,
                "198.51.100.9",
                "liwei",
                "imap",
                session(30, 1000, 0, 0),
            ));
        }
        let f = found(&facts);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].accessed[0].messages, Some(120));
        assert_eq!(f[0].accessed[0].sessions, 4);
        // A backup host pulling everything every night.
        let mut facts = week();
        for d in 0..5 {
            facts.push(access(
                d * DAY + 7200,
                "198.51.100.200",
                "liwei",
                "imap",
                session(400, 1000, 0, 0),
            ));
        }
        let f = found(&facts);
        assert!(f.iter().all(|f| f.severity <= Severity::Info), "{f:#?}");
    }

    #[test]
    fn webmail_downloads_go_to_the_login_from_their_address() {
        let mut facts = week();
        facts.push(success(6 * DAY, "203.0.113.90", "liwei"));
        for i in 0..25 {
            let d = Detail {
                action: Some("download".into()),
                messages: Some(1),
                bytes: Some(40_000),
                folders: vec!["合同".into()],
                ..Detail::default()
            };
            // The access log names no account.
            facts.push(fact(
                Kind::MailboxAccess,
                6 * DAY + 60 + i,
                "203.0.113.90",
                "",
                "http",
                d,
            ));
        }
        // Another address's request, with no login from it: no account to name.
        facts.push(access(
            6 * DAY + 90,
            "198.51.100.3",
            "",
            "http",
            session(30, 1, 0, 0),
        ));
        let f = found(&facts);
        assert_eq!(f.len(), 1, "{f:#?}");
        let a = &f[0].accessed[0];
        assert_eq!((a.mailbox.as_str(), a.how.as_str()), ("liwei", "webmail"));
        assert_eq!((a.messages, a.bytes), (Some(25), Some(1_000_000)));
        assert_eq!(a.folders, ["合同"]);
        assert_eq!(f[0].severity, Severity::High);
    }

    #[test]
    fn pop3_is_left_to_its_own_rule() {
        let mut facts = week();
        facts.push(access(
            6 * DAY,
            "203.0.113.79",
            "liwei",
            "pop3",
            session(412, 1, 0, 0),
        ));
        assert!(found(&facts).is_empty());
    }
}
