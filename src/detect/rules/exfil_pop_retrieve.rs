//! `exfil.pop_retrieve` — a POP3 session, or a burst of them from one address, that retrieved
//! much of a mailbox (often all of it) from a source that is not the account's own.
//!
//! **Why**: POP3 is the simplest way to take a whole mailbox, and Dovecot says exactly how
//! much: `retr=N/bytes` and `del=D/M` (M: the messages in the mailbox), so the finding can
//! say *everything* when N reaches M. **How**: as `exfil.mailbox_download`
//! ([`super::mail_access`]) for POP3 sessions only; a retrieval is *everything* when it reached
//! the mailbox's message count. **Severity**: as `exfil.mailbox_download`, a retrieval of the
//! whole mailbox counting as a bulk one whatever its size. **ATT&CK**: T1114.002. **Phase**:
//! exfiltration. **False positives**: a user who set up a POP3 client at home (new network):
//! ask the owner; a collector pulling every night from the same host is info.

use super::mail_access::{Accesses, Burst, Judged};
use super::mail_reading::{read_verdict, Reading};
use super::Thresholds;
use crate::detect::fact::Fact;
use crate::detect::finding::Severity;

/// The rule.
pub fn new(t: &Thresholds) -> Reading {
    Reading {
        id: "exfil.pop_retrieve",
        how,
        verdict,
        accesses: Accesses::new(wants, t),
    }
}

fn wants(f: &Fact) -> bool {
    f.proto == Some("pop3")
}

fn how(_: &Burst) -> &'static str {
    "POP3"
}

fn verdict(j: &Judged, t: &Thresholds) -> Option<(Severity, String)> {
    let b = &j.burst;
    let everything = b
        .mailbox_messages()
        .is_some_and(|m| m > 0 && b.messages() >= m);
    read_verdict(j, t, everything)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::mail_access::tests::access;
    use crate::detect::rules::tests::{run, success};
    use crate::events::detail::Detail;

    fn pop(retr: u64, bytes: u64, total: u64) -> Detail {
        Detail {
            action: Some("session".into()),
            messages: Some(retr),
            bytes: Some(bytes),
            deleted: Some(0),
            mailbox_messages: Some(total),
            ..Detail::default()
        }
    }

    #[test]
    fn retrieving_a_small_mailbox_whole_from_a_new_network_is_high() {
        let facts = vec![
            success(0, "192.0.2.10", "ann"),
            access(100, "192.0.2.10", "ann", "pop3", pop(1, 900, 12)),
            access(90_000, "203.0.113.80", "ann", "pop3", pop(12, 530_412, 12)),
        ];
        let f = run(Box::new(new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].severity, Severity::High);
        assert!(
            f[0].summary.contains("the whole mailbox"),
            "{}",
            f[0].summary
        );
        assert_eq!(f[0].accessed[0].messages, Some(12));
        assert_eq!(f[0].accessed[0].how, "pop3");
    }

    #[test]
    fn the_attackers_second_address_in_the_same_network_is_no_own_network() {
        let facts = vec![
            access(100, "192.0.2.10", "ann", "pop3", pop(1, 900, 12)),
            // The attacker's first address takes everything by POP3 …
            access(90_000, "203.0.113.80", "ann", "pop3", pop(12, 530_412, 12)),
            // … and minutes later a second address of the same /24 does it again.
            access(90_300, "203.0.113.81", "ann", "pop3", pop(12, 530_412, 12)),
        ];
        let f = run(Box::new(new(&Thresholds::default())), &facts);
        assert_eq!(f.len(), 2, "{f:#?}");
        assert!(f.iter().all(|f| f.severity == Severity::High), "{f:#?}");
        assert_eq!(f[1].accessed[0].sources, ["203.0.113.81"]);
    }

    #[test]
    fn the_owners_usual_client_is_quiet() {
        let facts = vec![
            access(100, "192.0.2.10", "ann", "pop3", pop(1, 900, 12)),
            access(90_000, "192.0.2.10", "ann", "pop3", pop(40, 1_000_000, 40)),
        ];
        assert!(run(Box::new(new(&Thresholds::default())), &facts).is_empty());
    }
}
