//! The structured `detail` of events that carry more than the flat fields hold.
//!
//! Web requests, admin commands, mailbox rules, forwarding settings, transport rules, and what
//! a session did inside a mailbox (messages and bytes read, folders, deletions: Dovecot's
//! session counters and `mail_log` lines, webmail downloads, Microsoft 365
//! `MailItemsAccessed`), and what an administrator or an application did to mail (searches,
//! exports, permissions, consents, protocol and audit settings: one classifier,
//! [`crate::events::exchange::access`]) carry more than the flat event fields hold. Their
//! parsers fill one [`Detail`] and store it as a
//! compact JSON object in the event's `detail` (documented in `docs/events.md`), so detection
//! reads the same normalised fields whether a rule came from the audit log, a SIEM's JSON or a
//! `Get-InboxRule` export. To add a field: a field here (optional, skipped when empty) and its
//! row in the docs.

use serde::{Deserialize, Serialize};

/// Normalised detail of one Exchange / M365 event. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Detail {
    /// The operation or cmdlet (`New-InboxRule`, `Set-OabVirtualDirectory`, `RECEIVE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// An ECP / PowerShell command line as logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<String>,
    /// A cmdlet's parameters, name (without `-`, as written) → value (quotes removed; a
    /// switch without a value is `True`; positional arguments under `_positional`). Filled
    /// from Windows event logs (MSExchange Management, PowerShell); see [`Detail::param`].
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: std::collections::BTreeMap<String, String>,
    /// The account a command ran as, when the log names it apart from the caller (the
    /// MSExchange Management run-as SID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as: Option<String>,
    /// HTTP method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// URL path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// URL query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// HttpProxy `AnchorMailbox` (the routing target ProxyLogon forges).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
    /// HttpProxy `RoutingHint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing: Option<String>,
    /// User agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ua: Option<String>,
    /// Host name the client asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vhost: Option<String>,
    /// The page the client says it came from (web-server access logs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referer: Option<String>,
    /// A file path the server wrote or had to remove.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Mailbox a rule or forwarding setting belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<String>,
    /// Rule name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Forward targets (`ForwardTo`, `ForwardingSmtpAddress`, `ForwardingAddress`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forward_to: Vec<String>,
    /// Forward-as-attachment targets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forward_attach_to: Vec<String>,
    /// Redirect targets (`RedirectTo`, `RedirectMessageTo`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirect_to: Vec<String>,
    /// Blind or carbon copy targets of a transport rule (`BlindCopyTo`, `CopyTo`,
    /// `AddToRecipients`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub copy_to: Vec<String>,
    /// Deletes the message (`DeleteMessage`, `SoftDeleteMessage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete: Option<bool>,
    /// Marks the message read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark_read: Option<bool>,
    /// Moves the message to this folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub move_to: Option<String>,
    /// Stops processing further rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<bool>,
    /// Keeps a copy in the mailbox as well (`DeliverToMailboxAndForward`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_copy: Option<bool>,
    /// Sender conditions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<String>,
    /// Subject / body keyword conditions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<String>,
    /// Whether the rule is enabled (inventories).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The tenant's own domain, as the audit record names it (`OrganizationName`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Client application (`ClientInfoString`) or workload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Message subject (message tracking).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Size in bytes (message tracking; the response of a web-server access line; the
    /// message bytes a mailbox access read, or the size of a changed message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// `mailbox_access`: how the mailbox was read — `session` (an IMAP/POP3 session's end
    /// counters), `download` / `view_source` / `export` (webmail), `bind` / `sync` (Microsoft
    /// 365 `MailItemsAccessed`). `mailbox_change`: what changed — `expunge`, `delete`
    /// (flagged deleted / POP3 `DELE`), `trash`, `copy`, `move`, `soft_delete`, `hard_delete`,
    /// `purge`, `create`, `rename`, `folder_delete`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Messages whose body was read (IMAP `body_count`, POP3 `RETR`, M365 items accessed, a
    /// webmail download); on `mailbox_change` the messages changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<u64>,
    /// Messages of which only headers were fetched (a listing; IMAP `hdr_count`, POP3 `TOP`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listed: Option<u64>,
    /// Messages flagged deleted in the session (IMAP `deleted`, POP3 `DELE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<u64>,
    /// Messages expunged (removed for good) in the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expunged: Option<u64>,
    /// Messages in the mailbox when the session ended (POP3 `size`/count), when logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailbox_messages: Option<u64>,
    /// Bytes in the mailbox when the session ended (POP3 `size`), when logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailbox_bytes: Option<u64>,
    /// Session length in seconds, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secs: Option<u64>,
    /// Folders the access or change touched (`INBOX`, `Sent`, M365 folder paths).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub folders: Vec<String>,
    /// The daemon's or service's session id (Dovecot `session=<…>`, M365 `SessionId`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Direction (message tracking `directionality`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    /// Where the event came from inside the server (message tracking `source`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Free text the record adds (logon error, rule description, source context).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The time is the export file's, not the change's (an inventory row without a
    /// change time).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub time_is_export: bool,
    /// Operations an aggregated audit record stands for (M365 `OperationCount`: the bind
    /// operations of one `MailItemsAccessed` record, which may name fewer messages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operations: Option<u64>,
    /// The service stopped auditing this mailbox's `MailItemsAccessed` for 24 hours
    /// (`IsThrottled`): access after it went unrecorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttled: Option<bool>,
    /// How the actor was logged on to the mailbox: `owner`, `admin`, `delegate`,
    /// `transport`, `system`, `delegated_admin` (M365 `LogonType`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logon: Option<String>,
    /// `mailbox_search` / `mailbox_export`: the search query as written (`QueryText`,
    /// `ContentMatchQuery`, `SearchQuery`, an export's `ContentFilter`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// Mailboxes or locations a search, hold or export covers (`ExchangeLocation`,
    /// `SourceMailboxes`; `All` as written).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<String>,
    /// The eDiscovery case a search, hold or export belongs to (name or id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// `permission_grant`: the account given (or refused) the permission (`User`,
    /// `Trustee`, a folder permission's member, `Default`, `Anonymous`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grantee: Option<String>,
    /// `permission_grant`: the rights (`FullAccess`, `SendAs`, `SendOnBehalf`,
    /// `ReceiveAs`, folder roles such as `Reviewer` or `Owner`), as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rights: Vec<String>,
    /// `app_consent`: the application's display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// `app_consent`: the application's or service principal's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// `app_consent`: the permissions granted (`Mail.Read`, `offline_access`,
    /// `full_access_as_app` …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// `app_consent`: consent given for the whole organisation (an administrator's, or
    /// `AllPrincipals`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_consent: Option<bool>,
    /// `app_consent`: application permissions (the app acts as itself, without a user:
    /// app role assignments, `IsAppOnly`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_only: Option<bool>,
    /// `access_setting` / `audit_setting`: what was set, normalised name → value
    /// (`imap` → `on`, `pop` → `off`, `ews_allow_list` → the list; `AuditEnabled` →
    /// `off` …), see `docs/events.md`.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub settings: std::collections::BTreeMap<String, String>,
    /// The actor is the service itself (an M365 record of a datacenter system account:
    /// `UserType` 3 or 4), not a person of the organisation.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub by_service: bool,
    /// An account the operation created (`Add user.`, `New-Mailbox`, `New-MailUser`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

impl Detail {
    /// The compact JSON text stored in the event.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out);
        out
    }

    /// [`Detail::to_text`] into `out` (cleared first), whose room is reused.
    pub fn write_text(&self, out: &mut String) {
        let mut bytes = std::mem::take(out).into_bytes();
        bytes.clear();
        if serde_json::to_writer(&mut bytes, self).is_err() {
            bytes.clear();
        }
        // serde_json writes UTF-8 only; anything else would leave the text empty.
        *out = String::from_utf8(bytes).unwrap_or_default();
    }

    /// Reads a detail back (None when the text is not one).
    pub fn from_text(s: &str) -> Option<Detail> {
        if !s.starts_with('{') {
            return None;
        }
        serde_json::from_str(s).ok()
    }

    /// A short readable line (timeline messages): the operation, then what is set.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut text = |label: &str, v: &Option<String>| {
            if let Some(v) = v {
                parts.push(if label.is_empty() {
                    v.clone()
                } else {
                    format!("{label}={v:?}")
                });
            }
        };
        text("", &self.op);
        text("", &self.action);
        text("", &self.method);
        text("", &self.url);
        text("anchor", &self.anchor);
        text("name", &self.name);
        text("mailbox", &self.mailbox);
        text("cmd", &self.cmd);
        text("path", &self.path);
        text("move_to", &self.move_to);
        text("ua", &self.ua);
        text("subject", &self.subject);
        text("search", &self.search);
        text("case", &self.case);
        text("grantee", &self.grantee);
        text("app", &self.app);
        text("created", &self.created);
        for (label, v) in [
            ("forward_to", &self.forward_to),
            ("forward_attach_to", &self.forward_attach_to),
            ("redirect_to", &self.redirect_to),
            ("copy_to", &self.copy_to),
            ("from", &self.from),
            ("words", &self.words),
            ("locations", &self.locations),
            ("rights", &self.rights),
            ("scopes", &self.scopes),
        ] {
            if !v.is_empty() {
                parts.push(format!("{label}={}", v.join(",")));
            }
        }
        for (label, v) in [
            ("delete", self.delete),
            ("mark_read", self.mark_read),
            ("stop", self.stop),
            ("keep_copy", self.keep_copy),
            ("enabled", self.enabled),
            ("admin_consent", self.admin_consent),
            ("app_only", self.app_only),
            ("throttled", self.throttled),
        ] {
            if let Some(b) = v {
                parts.push(format!("{label}={b}"));
            }
        }
        for (label, v) in [
            ("messages", self.messages),
            ("bytes", self.bytes),
            ("listed", self.listed),
            ("deleted", self.deleted),
            ("expunged", self.expunged),
            ("operations", self.operations),
            ("secs", self.secs),
        ] {
            if let Some(n) = v {
                parts.push(format!("{label}={n}"));
            }
        }
        if !self.folders.is_empty() {
            parts.push(format!("folders={}", self.folders.join(",")));
        }
        for (k, v) in &self.settings {
            parts.push(format!("{k}={v}"));
        }
        if self.time_is_export {
            parts.push("(time: export file)".into());
        }
        parts.join(" ")
    }

    /// A parameter's value, its name matched without regard to case.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every address mail is sent on to: forward, forward-as-attachment, redirect, copies.
    pub fn targets(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .forward_to
            .iter()
            .chain(&self.forward_attach_to)
            .chain(&self.redirect_to)
            .chain(&self.copy_to)
            .map(String::as_str)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::Detail;

    #[test]
    fn round_trip_and_empty_fields_left_out() {
        let d = Detail {
            op: Some("New-InboxRule".into()),
            forward_to: vec!["x@evil.example".into()],
            mark_read: Some(true),
            ..Detail::default()
        };
        let t = d.to_text();
        assert_eq!(
            t,
            r#"{"op":"New-InboxRule","forward_to":["x@evil.example"],"mark_read":true}"#
        );
        assert_eq!(Detail::from_text(&t), Some(d.clone()));
        assert_eq!(
            d.summary(),
            "New-InboxRule forward_to=x@evil.example mark_read=true"
        );
        assert_eq!(Detail::from_text("SASL LOGIN authentication failed"), None);
    }
}
