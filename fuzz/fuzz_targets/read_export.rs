//! Fuzz target: the Exchange / Microsoft 365 export readers and the web / Zimbra log readers (format recognition, then every
//! reader: W3C/CSV tables, Exchange server lines, audit-log JSON, EVTX chunks) on arbitrary bytes. No input
//! may panic. Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run read_export -- -max_total_time=300`
//! from `fuzz/` (see docs/events.md).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailir::events::{self, exchange};
use mailir::evidence;
use mailir::evidence::exports::ExportKind;

const KINDS: &[ExportKind] = &[
    ExportKind::MessageTracking,
    ExportKind::HttpProxy,
    ExportKind::Iis,
    ExportKind::HttpCsv,
    ExportKind::ExchangeLines,
    ExportKind::UalCsv,
    ExportKind::UalJson,
    ExportKind::InboxRules,
    ExportKind::TransportRules,
    ExportKind::Mailboxes,
    ExportKind::AccessLog,
    ExportKind::ZimbraLog,
    ExportKind::Evtx,
];

// Each run: the recogniser, the readers of what it recognised, and one more reader chosen by
// the input's first byte (every reader on every input made runs ten times slower, which kept
// long runs far from ten million executions; over a run every reader sees every shape).
fuzz_target!(|data: &[u8]| {
    let recognised = evidence::exports::recognise(data);
    let chosen = KINDS[data.first().map_or(0, |b| *b as usize % KINDS.len())];
    // The event log reader wants a 4 KiB `ElfFile` header before its chunks: given one, the
    // input reaches the chunk and record decoder.
    let mut evtx = b"ElfFile\0".to_vec();
    evtx.resize(4096, 0);
    evtx.extend_from_slice(data);
    for &kind in recognised.iter().chain(std::iter::once(&chosen)) {
        let input: &[u8] = if kind == ExportKind::Evtx && recognised != Some(kind) { &evtx } else { data };
        exchange::read(kind, &mut &input[..], Some(0), chrono_tz::UTC, &mut |at, _text, got, _lossy| {
            if let exchange::Got::Events(recs) = got {
                for r in &recs {
                    let source = events::record::Source { host: "fuzz", path: "fuzz", sha256: None, line: at.line, offset: at.offset };
                    let _ = r.event(std::sync::Arc::from(""), source);
                    let _ = r.detail.summary();
                }
            }
            true
        });
    }
});
