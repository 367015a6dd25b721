//! The normalized event record (contract: `../shared/DESIGN.md`, extensions in
//! `docs/events.md`).
//!
//! One [`Event`] per recognised log line. Daemon parsers fill the typed fields; nothing
//! downstream ever looks at the raw line again, only at `source` to point back to it. To add a
//! kind: a variant in [`Kind`] (never rename one) and a row in `docs/events.md`.

use std::sync::Arc;

use serde::Serialize;

/// What happened, normalised across daemons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A client connected.
    Connect,
    /// A client disconnected (detail keeps the command counts, e.g. `auth=0/1`).
    Disconnect,
    /// A session ended abnormally (detail keeps the stage, e.g. `after AUTH`).
    LostConnection,
    /// A login or SMTP AUTH succeeded.
    AuthSuccess,
    /// A login or SMTP AUTH failed, as the client-facing service saw it (one per attempt
    /// or per session with `attempts`).
    AuthFailure,
    /// The authentication backend (PAM, SQL, passwd-file) refused; the same attempt also has
    /// an `auth_failure` from the service, so these are detail, never counted twice.
    AuthBackendFailure,
    /// A relay attempt was refused.
    RelayDenied,
    /// RCPT to a user that does not exist.
    RecipientUnknown,
    /// VRFY seen.
    Vrfy,
    /// EXPN seen.
    Expn,
    /// Any other policy reject (RBL, HELO, sender, client).
    Reject,
    /// Too many errors, pipelining, command limits, pregreet.
    ProtocolError,
    /// A message entered the system.
    MessageReceived,
    /// Envelope sender and size known.
    MessageQueued,
    /// A delivery attempt.
    Delivery,
    /// A message was forwarded or redirected.
    Forwarded,
    /// Daemon start/stop/reload, config warnings.
    Service,
    /// A connection or message rate limit was hit.
    RateLimit,
}

/// Where a line came from.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// Path relative to the input root (bundle-relative host path for bundles).
    pub path: Arc<str>,
    /// SHA-256 of the (compressed) file as stored, when known.
    pub sha256: Option<Arc<str>>,
    /// 1-based line in the decompressed file.
    pub line: u64,
    /// Byte offset of the line start in the decompressed file.
    pub offset: u64,
}

/// One normalised event.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// UTC, RFC 3339.
    pub ts: String,
    /// The year was not in the line and was inferred.
    pub ts_year_inferred: bool,
    /// Reporting host.
    pub host: Option<String>,
    /// Daemon and subprocess (`postfix/submission/smtpd`, `dovecot/imap-login`).
    pub service: String,
    /// Process id.
    pub pid: Option<u32>,
    /// What happened.
    pub kind: Kind,
    /// `smtp`, `imap`, `pop3`, `managesieve`, `lmtp`, `http` …
    pub proto: Option<&'static str>,
    /// Client address.
    pub src_ip: Option<String>,
    /// Client name as the daemon logged it (`unknown` when unresolved).
    pub src_host: Option<String>,
    /// Login name.
    pub user: Option<String>,
    /// Envelope sender.
    pub sender: Option<String>,
    /// Envelope recipient.
    pub recipient: Option<String>,
    /// Original recipient before alias/forward expansion (extension).
    pub orig_recipient: Option<String>,
    /// Queue or message id.
    pub queue_id: Option<String>,
    /// `sent`, `deferred`, `bounced`, `expired`, `rejected`, `accepted` …
    pub status: Option<String>,
    /// Next hop of a delivery (extension).
    pub relay: Option<String>,
    /// The rest of the line that matters.
    pub detail: Option<String>,
    /// The line was not valid UTF-8 and was decoded lossily (extension).
    pub utf8_lossy: bool,
    /// Provenance.
    pub source: Source,
}

/// What a daemon parser extracts from one message; the driver adds time, host and source.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// Kind (required).
    pub kind: Option<Kind>,
    /// Service name override (default: the syslog tag).
    pub service: Option<String>,
    /// Protocol.
    pub proto: Option<&'static str>,
    /// Client address.
    pub src_ip: Option<String>,
    /// Client name.
    pub src_host: Option<String>,
    /// Login.
    pub user: Option<String>,
    /// Envelope sender.
    pub sender: Option<String>,
    /// Envelope recipient.
    pub recipient: Option<String>,
    /// Original recipient.
    pub orig_recipient: Option<String>,
    /// Queue id.
    pub queue_id: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Relay.
    pub relay: Option<String>,
    /// Detail.
    pub detail: Option<String>,
}

impl Parsed {
    /// A parse result of `kind`.
    pub fn new(kind: Kind) -> Self {
        Parsed {
            kind: Some(kind),
            ..Parsed::default()
        }
    }
}
