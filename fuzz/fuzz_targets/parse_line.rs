//! Fuzz target: every line parser (shared syslog prefix, every daemon) on arbitrary bytes.
//! No input may panic. Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run parse_line -- -max_total_time=300`
//! from the repository root (see docs/events.md).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailir::events;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let clock = events::time::Clock {
        tz: chrono_tz::Tz::Asia__Shanghai,
        anchor: chrono::NaiveDate::from_ymd_opt(2026, 3, 5)
            .and_then(|d| d.and_hms_opt(11, 0, 0))
            .unwrap_or_default(),
        year: None,
    };
    let mut cache = events::TsCache::default();
    for line in text.split('\n') {
        let source = events::record::Source { host: "fuzz", path: "fuzz", sha256: None, line: 1, offset: 0 };
        let _ = events::parse_line(line, &clock, &mut cache, source, false);
        // Each daemon parser also directly, with the line as message and a few tags.
        for tag in ["postfix/smtpd", "dovecot", "exim", "sm-mta", "courieresmtpd", "qmail-smtpd", "roundcube", "imap-login"] {
            for d in events::DAEMONS {
                if (d.accepts)(tag, true) {
                    let _ = (d.parse)(tag, line);
                }
            }
        }
    }
});
