//! The normalized event record (contract: `docs/events.md`).
//!
//! One [`Event`] per recognised log line. Daemon parsers fill the typed fields; nothing
//! downstream ever looks at the raw line again, only at `source` to point back to it. To add a
//! kind: a variant in [`Kind`] (never rename one) and a row in `docs/events.md`.

use std::borrow::Cow;
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
    /// A web request (Exchange HttpProxy, IIS): method, URL and routing in the detail.
    HttpRequest,
    /// An administrative command ran (Exchange ECP / PowerShell cmdlet).
    AdminCommand,
    /// The server wrote, or had to remove, a file (Exchange OABGenerator).
    FileWrite,
    /// A mailbox (inbox) rule was created, changed, removed, or is present (inventory).
    MailboxRule,
    /// A mailbox's forwarding settings were changed, or are present (inventory).
    MailboxForwarding,
    /// An organisation-wide transport (mail flow) rule was created, changed, or is present.
    TransportRule,
    /// Any other audited cloud operation (unified audit log).
    AuditOperation,
    /// A session read mail: an IMAP/POP3 session's counters at its end, a webmail download,
    /// Microsoft 365 `MailItemsAccessed` (counts, bytes and folders in the structured detail).
    MailboxAccess,
    /// Messages or folders in a mailbox changed: expunge, delete, copy/move, folder create /
    /// rename / delete (Dovecot `mail_log`, M365 `HardDelete` / `SoftDelete` / purges).
    MailboxChange,
    /// A search across mail (M365 `SearchQueryInitiatedExchange`, eDiscovery searches).
    MailboxSearch,
    /// Mail exported out of the mailbox store (export requests, eDiscovery exports, PST).
    MailboxExport,
    /// A permission on a mailbox or folder given to (or taken from) another account
    /// (FullAccess, SendAs, SendOnBehalf, folder permissions).
    PermissionGrant,
    /// An application granted access (OAuth consent, delegated or application permissions,
    /// credentials added to a service principal).
    AppConsent,
    /// A mailbox's access protocols switched on or off (IMAP, POP, EWS, ActiveSync, MAPI).
    AccessSetting,
    /// Auditing switched off or on, or an account exempted from it.
    AuditSetting,
    /// A host account or group was created, changed or deleted (`useradd`, `usermod`,
    /// `passwd`, `gpasswd` …): the account in `mailbox`, what changed in the detail.
    AccountChange,
}

impl Kind {
    /// The snake-case name used in every output.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Connect => "connect",
            Kind::Disconnect => "disconnect",
            Kind::LostConnection => "lost_connection",
            Kind::AuthSuccess => "auth_success",
            Kind::AuthFailure => "auth_failure",
            Kind::AuthBackendFailure => "auth_backend_failure",
            Kind::RelayDenied => "relay_denied",
            Kind::RecipientUnknown => "recipient_unknown",
            Kind::Vrfy => "vrfy",
            Kind::Expn => "expn",
            Kind::Reject => "reject",
            Kind::ProtocolError => "protocol_error",
            Kind::MessageReceived => "message_received",
            Kind::MessageQueued => "message_queued",
            Kind::Delivery => "delivery",
            Kind::Forwarded => "forwarded",
            Kind::Service => "service",
            Kind::RateLimit => "rate_limit",
            Kind::HttpRequest => "http_request",
            Kind::AdminCommand => "admin_command",
            Kind::FileWrite => "file_write",
            Kind::MailboxRule => "mailbox_rule",
            Kind::MailboxForwarding => "mailbox_forwarding",
            Kind::TransportRule => "transport_rule",
            Kind::AuditOperation => "audit_operation",
            Kind::MailboxAccess => "mailbox_access",
            Kind::MailboxChange => "mailbox_change",
            Kind::MailboxSearch => "mailbox_search",
            Kind::MailboxExport => "mailbox_export",
            Kind::PermissionGrant => "permission_grant",
            Kind::AppConsent => "app_consent",
            Kind::AccessSetting => "access_setting",
            Kind::AuditSetting => "audit_setting",
            Kind::AccountChange => "account_change",
        }
    }
}

/// Where a line came from.
#[derive(Debug, Clone, Serialize)]
pub struct Source<'a> {
    /// The host whose evidence it is: the label of its input
    /// ([`crate::parse::input::host_label`] for files read by `parse`; empty in unit tests).
    /// Written as the event's own `host`, not inside `source`.
    #[serde(skip)]
    pub host: &'a str,
    /// Path relative to the input root (bundle-relative host path for bundles).
    pub path: &'a str,
    /// SHA-256 of the (compressed) file as stored, when known.
    pub sha256: Option<&'a str>,
    /// 1-based line in the decompressed file.
    pub line: u64,
    /// Byte offset of the line start in the decompressed file.
    pub offset: u64,
}

/// One normalised event. Text fields borrow from the log line where they can.
#[derive(Debug, Clone, Serialize)]
pub struct Event<'a> {
    /// UTC, RFC 3339 (shared by the lines of one second).
    pub ts: Arc<str>,
    /// The same instant in microseconds since the epoch (Parquet's numeric column).
    #[serde(skip)]
    pub ts_unix_us: i64,
    /// The year was not in the line and was inferred.
    pub ts_year_inferred: bool,
    /// The host whose evidence it is (`source.host`, written here).
    pub host: &'a str,
    /// The host name the line itself names (syslog's host field, an export's server
    /// column), when it names one. The host whose evidence the event is, is
    /// `source.host`.
    pub log_host: Option<Cow<'a, str>>,
    /// Daemon and subprocess (`postfix/submission/smtpd`, `dovecot/imap-login`).
    pub service: Cow<'a, str>,
    /// Process id.
    pub pid: Option<u32>,
    /// What happened.
    pub kind: Kind,
    /// `smtp`, `imap`, `pop3`, `managesieve`, `lmtp`, `http` …
    pub proto: Option<&'static str>,
    /// Client address.
    pub src_ip: Option<Cow<'a, str>>,
    /// Client name as the daemon logged it (`unknown` when unresolved).
    pub src_host: Option<Cow<'a, str>>,
    /// The address the client's request came through when the line names the real client
    /// behind it (a reverse proxy in front of webmail: `src_ip` is the client from
    /// `X-Real-IP` / `X-Forwarded-For`, this is the peer that sent the request) (extension).
    pub proxy: Option<Cow<'a, str>>,
    /// Whose action it was: the login that authenticated (SMTP AUTH, IMAP/POP3/webmail login,
    /// the login presented in a failed attempt), the local Unix user who submitted a message, or
    /// the actor of an audit record. On a message's later events (queued, delivered,
    /// forwarded) the login that submitted it. Never the owner of a mailbox mail was delivered
    /// to.
    pub actor: Option<Cow<'a, str>>,
    /// The account whose mail it concerns: the mailbox a message was delivered or stored into,
    /// whose mail a Sieve/`.forward` rule sent on, whose mailbox a session opened, or the
    /// mailbox an audited operation targeted.
    pub mailbox: Option<Cow<'a, str>>,
    /// Envelope sender.
    pub sender: Option<Cow<'a, str>>,
    /// Envelope recipient.
    pub recipient: Option<Cow<'a, str>>,
    /// Original recipient before alias/forward expansion (extension).
    pub orig_recipient: Option<Cow<'a, str>>,
    /// Queue or message id.
    pub queue_id: Option<Cow<'a, str>>,
    /// `sent`, `deferred`, `bounced`, `expired`, `rejected`, `accepted` …
    pub status: Option<Cow<'a, str>>,
    /// Next hop of a delivery (extension).
    pub relay: Option<Cow<'a, str>>,
    /// The rest of the line that matters.
    pub detail: Option<Cow<'a, str>>,
    /// The line was not valid UTF-8 and was decoded lossily (extension).
    pub utf8_lossy: bool,
    /// Provenance.
    pub source: Source<'a>,
    /// The daemon's SMTP session id, for the correlation only (OpenSMTPD names the client on a
    /// session's first line and the session id on every line: `parse::correlate` carries the
    /// address and login on it). Not an output column.
    #[serde(skip)]
    pub session: Option<Cow<'a, str>>,
}

/// What a daemon parser extracts from one message; the driver adds time, host and source.
#[derive(Debug, Clone, Default)]
pub struct Parsed<'a> {
    /// Kind (required).
    pub kind: Option<Kind>,
    /// Service name override (default: the syslog tag).
    pub service: Option<Cow<'a, str>>,
    /// Protocol.
    pub proto: Option<&'static str>,
    /// Client address.
    pub src_ip: Option<Cow<'a, str>>,
    /// Client name.
    pub src_host: Option<Cow<'a, str>>,
    /// The proxy the client came through (see [`Event::proxy`]).
    pub proxy: Option<Cow<'a, str>>,
    /// Whose action it was (see [`Event::actor`]).
    pub actor: Option<Cow<'a, str>>,
    /// The account whose mail it concerns (see [`Event::mailbox`]).
    pub mailbox: Option<Cow<'a, str>>,
    /// Envelope sender.
    pub sender: Option<Cow<'a, str>>,
    /// Envelope recipient.
    pub recipient: Option<Cow<'a, str>>,
    /// Original recipient.
    pub orig_recipient: Option<Cow<'a, str>>,
    /// Queue id.
    pub queue_id: Option<Cow<'a, str>>,
    /// Status.
    pub status: Option<Cow<'a, str>>,
    /// Relay.
    pub relay: Option<Cow<'a, str>>,
    /// Detail.
    pub detail: Option<Cow<'a, str>>,
    /// The SMTP session id (see [`Event::session`]).
    pub session: Option<Cow<'a, str>>,
}

impl<'a> Parsed<'a> {
    /// A parse result of `kind`.
    pub fn new(kind: Kind) -> Self {
        Parsed {
            kind: Some(kind),
            ..Parsed::default()
        }
    }

    /// `(kind, actor, mailbox)`: what the roles tests of the daemon parsers compare.
    #[cfg(test)]
    pub fn roles(&self) -> (Option<Kind>, Option<&str>, Option<&str>) {
        (self.kind, self.actor.as_deref(), self.mailbox.as_deref())
    }

    /// An SMTP event of `kind` from the client `host` / `ip`.
    pub fn smtp_client(kind: Kind, host: Option<&'a str>, ip: Option<&'a str>) -> Self {
        let some = |v: Option<&'a str>| v.filter(|v| !v.is_empty()).map(std::borrow::Cow::Borrowed);
        Parsed {
            proto: Some("smtp"),
            src_host: some(host),
            src_ip: some(ip),
            ..Parsed::new(kind)
        }
    }
}

/// What an SMTP server logged about line endings in a session (SMTP smuggling), in the words
/// every parser uses: the event's `detail` starts with one of these, then `: ` and what the
/// server wrote. Rules match these, never a daemon's own text. A new daemon's line maps to one
/// of them in its parser (and a row in `docs/events.md`).
pub mod line_ending {
    /// A line ended in LF without CR (bare `<LF>`): the server refused it.
    pub const BARE_LF: &str = "bare_lf";
    /// A CR not followed by LF (bare `<CR>`): the server refused it.
    pub const BARE_CR: &str = "bare_cr";
    /// The client sent more after `DATA` without waiting for the server's answer: what a
    /// smuggled second message looks like to a server that took the malformed end of data
    /// as the end (Postfix's `improper command pipelining after DATA`).
    pub const PIPELINING_AFTER_DATA: &str = "pipelining_after_data";

    /// The marker `detail` starts with, if any.
    pub fn of(detail: &str) -> Option<&'static str> {
        [BARE_LF, BARE_CR, PIPELINING_AFTER_DATA]
            .into_iter()
            .find(|m| detail.strip_prefix(m).is_some_and(|r| r.starts_with(": ")))
    }

    /// `marker: text`, the detail of such an event.
    pub fn detail(marker: &str, text: &str) -> String {
        format!("{marker}: {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn kind_names_match_serde() {
        for k in [
            Kind::Connect,
            Kind::AuthBackendFailure,
            Kind::LostConnection,
            Kind::RateLimit,
            Kind::MessageQueued,
            Kind::HttpRequest,
            Kind::MailboxForwarding,
            Kind::AuditOperation,
            Kind::MailboxAccess,
            Kind::PermissionGrant,
            Kind::AuditSetting,
            Kind::AccountChange,
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.name());
        }
    }
}
