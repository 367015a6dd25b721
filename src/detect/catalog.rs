//! The rule catalogue: one metadata record per rule — id, title, the severities it can give,
//! phase, ATT&CK techniques, the playbook steps it chooses, and its **roles**.
//!
//! Findings take their rule id, phase and techniques from here ([`Finding::of`]); the report,
//! the timeline and the notification drafts select findings by [`Role`], never by rule-id
//! string, so a new rule with the right roles reaches the summary, the block list and the
//! timeline context without any other edit. `mailir rules` prints this table;
//! `docs/detections.md` and `playbooks/steps.toml` are checked against it by tests.
//!
//! To add a rule: its file in `rules/` (see that module), one [`RuleMeta`] row here, its row in
//! `docs/detections.md`, and — if it needs a response step of its own — the step in
//! `playbooks/steps.toml` with the rule in the step's `when` list and in [`RuleMeta::steps`].
//!
//! [`Finding::of`]: super::finding::Finding::of

use serde::Serialize;

use super::finding::{Phase, Severity};

/// What a rule's findings mean to the rest of mailir.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Its addresses attacked the server: they go on the block list and are called attacking.
    AttackerSource,
    /// Its accounts were logged into by an attacker (credentials to reset, sessions to end).
    TakenAccount,
    /// Its accounts were used abnormally (sent in bulk, logged in oddly): disable and review.
    AbusedAccount,
    /// It names entries planted on the host or in the tenant: forwarding, pipes, rules, jobs,
    /// web shells — each to be removed.
    PlantedEntry,
    /// The evidence itself was altered or removed (log integrity).
    LogIntegrity,
    /// A weakness of the configuration, not an event (posture).
    Posture,
    /// Its count is mail sent by the attacker (abuse volume).
    MailSent,
    /// Its count is mail copied out of the organisation (data that left).
    MailCopied,
    /// It says how the attacker got in (the notification drafts' "how").
    AccessVector,
    /// A server vulnerability was exploited.
    Exploit,
    /// Activity of an account after it was taken (timeline context of the takeover).
    AccountActivity,
    /// Mail was read, downloaded, searched, exported or deleted: its `accessed` records are
    /// the report's "what was accessed" and the drafts' affected mailboxes and counts.
    MailRead,
    /// It names what the attacker left on, ran on or changed in the host behind the mail
    /// service (accounts, SSH keys, preload, services, shell init, implants, replaced
    /// packages, typed commands): the report's host section.
    HostCompromise,
    /// Its processes are running implants: capture each one's executable and memory before
    /// it is ended or its files removed.
    Implant,
    /// It is judged across hosts from other findings (one attacker, account or persistence
    /// on several hosts; the order hosts fell): the report's fleet summary.
    Fleet,
}

impl Role {
    /// The snake-case name.
    pub fn name(self) -> &'static str {
        match self {
            Role::AttackerSource => "attacker_source",
            Role::TakenAccount => "taken_account",
            Role::AbusedAccount => "abused_account",
            Role::PlantedEntry => "planted_entry",
            Role::LogIntegrity => "log_integrity",
            Role::Posture => "posture",
            Role::MailSent => "mail_sent",
            Role::MailCopied => "mail_copied",
            Role::AccessVector => "access_vector",
            Role::Exploit => "exploit",
            Role::AccountActivity => "account_activity",
            Role::MailRead => "mail_read",
            Role::HostCompromise => "host_compromise",
            Role::Implant => "implant",
            Role::Fleet => "fleet",
        }
    }
}

/// One rule's record.
#[derive(Debug, Clone, Serialize)]
pub struct RuleMeta {
    /// Stable id (`auth.brute_force`).
    pub id: &'static str,
    /// What it finds, in a few words.
    pub title: &'static str,
    /// The severities its findings can have, highest first.
    pub severities: &'static [Severity],
    /// Attack phase of its findings.
    pub phase: Phase,
    /// MITRE ATT&CK techniques.
    pub attack: &'static [&'static str],
    /// What its findings mean downstream.
    pub roles: &'static [Role],
    /// Playbook steps chosen for it by name in `playbooks/steps.toml` (the steps every finding
    /// chooses, `when = ["*"]`, are not listed).
    pub steps: &'static [&'static str],
    /// How the attacker got in, for the notification drafts (English, Chinese), when the rule
    /// is an [`Role::AccessVector`]; the lower `vector_rank`, the likelier the vector.
    pub vector: Option<(&'static str, &'static str, u8)>,
}

use Phase::*;
use Role::*;
use Severity::{Critical as C, High as H, Info as I, Low as L, Medium as M};

const fn r(
    id: &'static str,
    title: &'static str,
    severities: &'static [Severity],
    phase: Phase,
    attack: &'static [&'static str],
    roles: &'static [Role],
    steps: &'static [&'static str],
) -> RuleMeta {
    RuleMeta {
        id,
        title,
        severities,
        phase,
        attack,
        roles,
        steps,
        vector: None,
    }
}

const fn v(mut m: RuleMeta, en: &'static str, zh: &'static str, rank: u8) -> RuleMeta {
    m.vector = Some((en, zh, rank));
    m
}

const BLOCK: &str = "isolate.block_ips";
const NET: &str = "isolate.network";
const DISABLE: &str = "isolate.disable_accounts";
const HOLD: &str = "isolate.hold_queue";
const RESET: &str = "clean.reset_credentials";
const VOLATILE: &str = "evidence.volatile";
const ASSESS: &str = "notify.assess_data";
const RULES_OFF: &str = "isolate.disable_rules";
const REMOVE: &str = "clean.remove_persistence";
const BACKUPS: &str = "evidence.preserve_backups";
const REVOKE: &str = "isolate.revoke_sessions";
const EXPORT_RULES: &str = "evidence.export_rules";
const AUTO_FWD: &str = "clean.block_auto_forwarding";
const EXCHANGE: &[&str] = &[
    NET,
    "clean.patch_exchange",
    "clean.remove_webshells",
    "clean.reset_all_credentials",
    ASSESS,
];
const EXCHANGE_ATTACKER: &[&str] = &[
    NET,
    BLOCK,
    "clean.patch_exchange",
    "clean.remove_webshells",
    "clean.reset_all_credentials",
    ASSESS,
];
const TAMPER: &[&str] = &[BACKUPS];
const HOST_PLANT: &[&str] = &[NET, RULES_OFF, VOLATILE, REMOVE];
const BACKDOOR: &str = "clean.host_backdoors";
const REBUILD: &str = "clean.rebuild_host";
const CAPTURE: &str = "evidence.capture_implant";
const HOST_BACKDOOR: &[&str] = &[NET, RULES_OFF, VOLATILE, REMOVE, BACKDOOR];

/// Every rule, in the order of `docs/detections.md`'s tables.
pub const RULES: &[RuleMeta] = &[
    r(
        "recon.scan",
        "service scan",
        &[L],
        Recon,
        &["T1595", "T1046"],
        &[AttackerSource],
        &[BLOCK],
    ),
    r(
        "recon.enumeration",
        "user enumeration (VRFY/EXPN, RCPT to unknown users)",
        &[M],
        Recon,
        &["T1589.002"],
        &[AttackerSource],
        &[BLOCK, "clean.harden_vrfy"],
    ),
    r(
        "relay.probe",
        "open-relay probing",
        &[M],
        Recon,
        &["T1595"],
        &[AttackerSource],
        &[BLOCK],
    ),
    v(
        r(
            "auth.brute_force",
            "password brute force",
            &[H],
            InitialAccess,
            &["T1110.001"],
            &[AttackerSource, AccessVector],
            &[BLOCK, RESET],
        ),
        "password guessing against the mail logins (SMTP AUTH, IMAP, POP)",
        "针对邮件登录（SMTP AUTH、IMAP、POP）的密码猜解",
        1,
    ),
    v(
        r(
            "auth.spray",
            "password spraying",
            &[H],
            InitialAccess,
            &["T1110.003"],
            &[AttackerSource, AccessVector],
            &[BLOCK, RESET],
        ),
        "password guessing against the mail logins (SMTP AUTH, IMAP, POP)",
        "针对邮件登录（SMTP AUTH、IMAP、POP）的密码猜解",
        1,
    ),
    v(
        r(
            "relay.open",
            "mail relayed without authentication (open relay)",
            &[C],
            InitialAccess,
            &["T1090"],
            &[AttackerSource, AccessVector, MailSent],
            &[NET, BLOCK, HOLD, "clean.close_relay"],
        ),
        "the server relayed mail for outside senders (open relay)",
        "服务器为外部发件人转发邮件（开放转发）",
        2,
    ),
    r(
        "service.config_change",
        "mail system reloaded or restarted during the incident",
        &[M],
        Persistence,
        &["T1543"],
        &[],
        &["clean.review_config_changes"],
    ),
    r(
        "tamper.time_gap",
        "lines cut out of a continuous log",
        &[H],
        Cleanup,
        &["T1070.002"],
        &[LogIntegrity],
        TAMPER,
    ),
    r(
        "tamper.time_reversal",
        "time running backwards in a log",
        &[H],
        Cleanup,
        &["T1070.002"],
        &[LogIntegrity],
        TAMPER,
    ),
    r(
        "tamper.truncated",
        "a rotated log broken off",
        &[H],
        Cleanup,
        &["T1070.002"],
        &[LogIntegrity],
        TAMPER,
    ),
    r(
        "tamper.rotation_gap",
        "a missing log rotation",
        &[H],
        Cleanup,
        &["T1070.002"],
        &[LogIntegrity],
        TAMPER,
    ),
    r(
        "tamper.nul_bytes",
        "a log region zeroed in place",
        &[H],
        Cleanup,
        &["T1070.002"],
        &[LogIntegrity],
        TAMPER,
    ),
    r(
        "tamper.rejectlog_mismatch",
        "Exim's rejectlog holding rejections its mainlog lacks",
        &[H],
        Cleanup,
        &["T1070.002"],
        &[LogIntegrity],
        TAMPER,
    ),
    r(
        "tamper.mtime_mismatch",
        "a log's mtime earlier than its last event",
        &[M],
        Cleanup,
        &["T1070.006"],
        &[LogIntegrity],
        TAMPER,
    ),
    r(
        "abuse.bulk_send",
        "bulk sending by a login",
        &[H],
        Exfiltration,
        &["T1496"],
        &[AbusedAccount, MailSent, AccountActivity],
        &[NET, DISABLE, HOLD, VOLATILE, RESET, ASSESS],
    ),
    r(
        "exfil.forwarding_observed",
        "mail for local users copied outside",
        &[H, M],
        Exfiltration,
        &["T1114.003"],
        &[MailCopied],
        &[NET, "clean.remove_forwarding", ASSESS],
    ),
    r(
        "exfil.mailbox_download",
        "much of a mailbox read from a source that is not the account's own",
        &[C, H, M, L, I],
        Exfiltration,
        &["T1114.002", "T1114.001"],
        &[MailRead],
        &[ASSESS],
    ),
    r(
        "exfil.pop_retrieve",
        "a mailbox retrieved by POP3 from a source that is not the account's own",
        &[C, H, M, L, I],
        Exfiltration,
        &["T1114.002"],
        &[MailRead],
        &[ASSESS],
    ),
    r(
        "cleanup.mail_deletion",
        "many messages deleted from a mailbox by the attacker or a new source (cover-up)",
        &[H, M, L],
        Cleanup,
        &["T1070.008"],
        &[MailRead],
        &[ASSESS, "evidence.restore_mail"],
    ),
    r(
        "auth.off_hours",
        "a login at an unusual hour",
        &[M],
        InitialAccess,
        &["T1078"],
        &[AbusedAccount, AccountActivity],
        &[DISABLE, RESET],
    ),
    v(
        r(
            "auth.new_source",
            "a login from a new network",
            &[L],
            InitialAccess,
            &["T1078"],
            &[AccessVector, AccountActivity],
            &[RESET],
        ),
        "logins with valid credentials from a source the account had not used",
        "使用有效凭据从账户未曾使用过的来源登录",
        3,
    ),
    r(
        "exploit.smtp_injection",
        "an exploit payload in an SMTP address (Exim CVE-2019-10149, OpenSMTPD CVE-2020-7247, Zimbra CVE-2024-45519)",
        &[C, M],
        InitialAccess,
        &["T1190"],
        &[AttackerSource, Exploit],
        &["isolate.block_ips", "clean.patch_mta"],
    ),
    r(
        "exploit.smtp_smuggling",
        "SMTP smuggling (a malformed end of DATA hiding a second, spoofed message)",
        &[H, M, L],
        InitialAccess,
        &["T1190", "T1566"],
        &[AttackerSource, Exploit],
        &["isolate.block_ips", "clean.patch_smtp_smuggling"],
    ),
    v(
        r(
            "exchange.proxylogon_ssrf",
            "ProxyLogon SSRF (CVE-2021-26855)",
            &[C, M],
            InitialAccess,
            &["T1190"],
            &[AttackerSource, Exploit, AccessVector],
            EXCHANGE_ATTACKER,
        ),
        "exploitation of the Exchange server's ProxyLogon vulnerability (CVE-2021-26855)",
        "利用 Exchange 服务器的 ProxyLogon 漏洞（CVE-2021-26855）",
        0,
    ),
    r(
        "exchange.proxylogon_ecp_write",
        "ProxyLogon ECP file write (CVE-2021-27065)",
        &[C],
        Persistence,
        &["T1505.003", "T1190"],
        &[Exploit],
        EXCHANGE,
    ),
    r(
        "exchange.proxylogon_oab_write",
        "ProxyLogon OAB file write (CVE-2021-26858)",
        &[C],
        Persistence,
        &["T1505.003", "T1190"],
        &[Exploit],
        EXCHANGE,
    ),
    r(
        "exchange.webshell",
        "web shell requests",
        &[C, H],
        Persistence,
        &["T1505.003"],
        &[AttackerSource],
        EXCHANGE_ATTACKER,
    ),
    r(
        "web.webshell",
        "web shell use in a webmail or other web root",
        &[C, L],
        Persistence,
        &["T1505.003"],
        &[AttackerSource, PlantedEntry],
        &["clean.patch_webmail", "clean.remove_webshells_linux", "isolate.block_ips", "isolate.network"],
    ),
    r(
        "web.webshell_file",
        "web-shell code in a collected web root's script file, or a script added after its install",
        &[C, H],
        Persistence,
        &["T1505.003"],
        &[PlantedEntry],
        &["clean.patch_webmail", "clean.remove_webshells_linux", "isolate.network"],
    ),
    r(
        "exchange.admin_cmdlet",
        "Exchange management cmdlets of an intrusion (export to a script, export role, transport agent)",
        &[C, H, M, L],
        Persistence,
        &["T1505.003", "T1098", "T1505.002", "T1070"],
        &[PlantedEntry],
        &["clean.patch_exchange", "clean.remove_webshells", "clean.review_exchange_roles", "notify.assess_data"],
    ),
    v(
        r(
            "exchange.proxyshell",
            "ProxyShell (CVE-2021-34473, CVE-2021-34523, CVE-2021-31207)",
            &[C, H, M],
            InitialAccess,
            &["T1190"],
            &[AttackerSource, Exploit, AccessVector],
            &["clean.patch_exchange", "clean.remove_webshells", "clean.reset_all_credentials", "clean.review_exchange_roles", "isolate.block_ips", "isolate.network", "notify.assess_data"],
        ),
        "exploitation of the Exchange server's ProxyShell vulnerabilities (CVE-2021-34473, CVE-2021-34523, CVE-2021-31207)",
        "利用 Exchange 服务器的 ProxyShell 漏洞（CVE-2021-34473、CVE-2021-34523、CVE-2021-31207）",
        0,
    ),
    v(
        r(
            "exchange.proxynotshell",
            "ProxyNotShell / OWASSRF (CVE-2022-41040, CVE-2022-41080, CVE-2022-41082)",
            &[C, H, M],
            InitialAccess,
            &["T1190", "T1078"],
            &[AttackerSource, Exploit, AccessVector],
            &["clean.patch_exchange", "clean.remove_webshells", "clean.reset_all_credentials", "clean.reset_credentials", "clean.review_exchange_roles", "isolate.block_ips", "isolate.exchange_url_rewrite", "isolate.network", "notify.assess_data"],
        ),
        "exploitation of the Exchange server's ProxyNotShell / OWASSRF vulnerabilities (CVE-2022-41040, CVE-2022-41080, CVE-2022-41082) with a stolen mailbox login",
        "利用被盗邮箱账号，通过 Exchange 服务器的 ProxyNotShell / OWASSRF 漏洞（CVE-2022-41040、CVE-2022-41080、CVE-2022-41082）入侵",
        0,
    ),
    v(
        r(
            "exchange.proxytoken",
            "ProxyToken (CVE-2021-33766)",
            &[C, H, M],
            InitialAccess,
            &["T1190", "T1114.003"],
            &[AttackerSource, Exploit, AccessVector],
            &["clean.patch_exchange", "clean.remove_mailbox_rules", "clean.remove_webshells", "isolate.block_ips", "notify.assess_data"],
        ),
        "exploitation of the Exchange server's ProxyToken vulnerability (CVE-2021-33766) to add mailbox rules",
        "利用 Exchange 服务器的 ProxyToken 漏洞（CVE-2021-33766）添加邮箱规则",
        0,
    ),
    v(
        r(
            "webmail.zimbra_mboximport",
            "Zimbra mboximport (CVE-2022-27925, CVE-2022-37042)",
            &[C, H, M],
            InitialAccess,
            &["T1190"],
            &[AttackerSource, Exploit, AccessVector],
            &["clean.patch_webmail", "clean.remove_webshells_linux", "clean.reset_credentials", "isolate.block_ips", "isolate.network"],
        ),
        "exploitation of Zimbra's mboximport vulnerabilities (CVE-2022-27925, CVE-2022-37042)",
        "利用 Zimbra 的 mboximport 漏洞（CVE-2022-27925、CVE-2022-37042）",
        0,
    ),
    v(
        r(
            "webmail.roundcube_rce",
            "Roundcube deserialisation (CVE-2025-49113)",
            &[C, H, M],
            InitialAccess,
            &["T1190", "T1078"],
            &[AttackerSource, Exploit, AccessVector],
            &["clean.patch_webmail", "clean.remove_webshells_linux", "clean.reset_credentials", "isolate.block_ips", "isolate.network"],
        ),
        "exploitation of Roundcube's deserialisation vulnerability (CVE-2025-49113) with a mailbox login",
        "利用邮箱账号，通过 Roundcube 反序列化漏洞（CVE-2025-49113）入侵",
        0,
    ),
    r(
        "persistence.mailbox_rule",
        "inbox rules forwarding or hiding mail",
        &[C, H, M, L],
        Persistence,
        &["T1114.003", "T1564.008"],
        &[PlantedEntry],
        &[
            RULES_OFF,
            VOLATILE,
            REMOVE,
            REVOKE,
            EXPORT_RULES,
            "clean.remove_mailbox_rules",
            AUTO_FWD,
            RESET,
            ASSESS,
        ],
    ),
    r(
        "persistence.mailbox_forwarding",
        "mailbox forwarding outside the organisation",
        &[C, H, L],
        Persistence,
        &["T1114.003"],
        &[PlantedEntry],
        &[
            RULES_OFF,
            VOLATILE,
            REMOVE,
            REVOKE,
            EXPORT_RULES,
            "clean.clear_forwarding",
            AUTO_FWD,
            ASSESS,
        ],
    ),
    r(
        "persistence.transport_rule",
        "transport rules copying or redirecting mail outside",
        &[C, H, M],
        Persistence,
        &["T1114.003"],
        &[PlantedEntry],
        &[
            RULES_OFF,
            VOLATILE,
            REMOVE,
            EXPORT_RULES,
            "clean.remove_transport_rules",
            ASSESS,
        ],
    ),
    r(
        "auth.rule_after_login",
        "a mail rule changed right after a login from a new network",
        &[H],
        InitialAccess,
        &["T1078.004", "T1114.003"],
        &[TakenAccount, AccountActivity],
        &[DISABLE, REVOKE, EXPORT_RULES, RESET],
    ),
    r(
        "exfil.mailbox_search",
        "mail searched for what is worth taking (mailbox searches, eDiscovery content searches)",
        &[H, M, L],
        Exfiltration,
        &["T1114.002", "T1213"],
        &[MailRead],
        &[ASSESS, "clean.review_ediscovery"],
    ),
    r(
        "exfil.mailbox_export",
        "mail exported out of the mailbox store (export requests, eDiscovery exports and downloads)",
        &[C, H, M, L, I],
        Exfiltration,
        &["T1114.002"],
        &[MailRead],
        &[ASSESS, "clean.review_ediscovery"],
    ),
    r(
        "exfil.protocol_enabled",
        "IMAP, POP or EWS switched on for a mailbox, and used",
        &[C, H, M, L],
        Persistence,
        &["T1114.002", "T1098"],
        &[AccountActivity],
        &[ASSESS, "clean.disable_legacy_protocols"],
    ),
    r(
        "persistence.mailbox_delegation",
        "a mailbox or folder opened to another account (FullAccess, SendAs, SendOnBehalf, folder permissions)",
        &[C, H, M, L],
        Persistence,
        &["T1098.002"],
        &[PlantedEntry],
        &[RULES_OFF, VOLATILE, REMOVE, ASSESS, "clean.review_mailbox_permissions"],
    ),
    r(
        "persistence.oauth_consent",
        "an application granted access to mail (consent, permission grant, app role, credentials)",
        &[C, H, M],
        Persistence,
        &["T1528", "T1098.003"],
        &[PlantedEntry],
        &[RULES_OFF, VOLATILE, REMOVE, ASSESS, "clean.revoke_app_consent"],
    ),
    r(
        "tamper.audit_disabled",
        "mailbox or tenant auditing switched off, cut, or an account exempted from it",
        &[C, H, M, L],
        Cleanup,
        &["T1562.008", "T1070"],
        &[LogIntegrity],
        &[BACKUPS, "clean.restore_auditing"],
    ),
    r(
        "tamper.exchange_log_age",
        "an Exchange log folder whose older files were deleted",
        &[M],
        Cleanup,
        &["T1070.004"],
        &[LogIntegrity],
        TAMPER,
    ),
    v(
        r(
            "auth.compromised_account",
            "an account taken over after failed logins",
            &[C],
            InitialAccess,
            &["T1078", "T1110"],
            &[AttackerSource, TakenAccount, AccessVector, AccountActivity],
            &[NET, BLOCK, DISABLE, VOLATILE, RESET, ASSESS],
        ),
        "a successful login after failures from the same source (password guessed or stolen)",
        "同一来源多次失败后登录成功（密码被猜中或被盗）",
        0,
    ),
    r(
        "persistence.bcc",
        "mail copied by always_bcc or BCC maps",
        &[H, L],
        Persistence,
        &["T1114.003"],
        &[PlantedEntry],
        &[NET, RULES_OFF, VOLATILE, REMOVE, ASSESS],
    ),
    r(
        "persistence.forward",
        "local mail forwarded outside (aliases, .forward, sieve)",
        &[C, H, M],
        Persistence,
        &["T1114.003"],
        &[PlantedEntry],
        &[NET, RULES_OFF, VOLATILE, REMOVE, ASSESS],
    ),
    r(
        "persistence.pipe",
        "mail handed to a program",
        &[H, M],
        Persistence,
        &["T1546", "T1114.003"],
        &[PlantedEntry],
        HOST_PLANT,
    ),
    r(
        "persistence.transport",
        "mail routed to a public address (transport, relayhost, filters)",
        &[H],
        Persistence,
        &["T1114.003", "T1557"],
        &[PlantedEntry],
        HOST_PLANT,
    ),
    r(
        "persistence.sender_rewrite",
        "the host's own senders rewritten to outside addresses (replies go out)",
        &[H],
        Persistence,
        &["T1672", "T1114.003"],
        &[PlantedEntry],
        HOST_PLANT,
    ),
    r(
        "persistence.trusted_sender",
        "an account the MTA trusts to send as anyone",
        &[H, M, L],
        Persistence,
        &["T1672"],
        &[PlantedEntry],
        HOST_PLANT,
    ),
    r(
        "persistence.compiled_map_mismatch",
        "a compiled map that differs from its source",
        &[H, M, L],
        Persistence,
        &["T1565.001", "T1114.003"],
        &[PlantedEntry],
        HOST_PLANT,
    ),
    r(
        "persistence.cron",
        "a planted scheduled job",
        &[H],
        Persistence,
        &["T1053.003", "T1053.002"],
        &[PlantedEntry],
        HOST_PLANT,
    ),
    r(
        "persistence.account",
        "a backdoor account on the host",
        &[C, H, M],
        Persistence,
        &["T1136.001", "T1098"],
        &[PlantedEntry, HostCompromise],
        HOST_BACKDOOR,
    ),
    r(
        "persistence.ssh_key",
        "a planted SSH key",
        &[C, H, M],
        Persistence,
        &["T1098.004"],
        &[PlantedEntry, HostCompromise],
        HOST_BACKDOOR,
    ),
    r(
        "persistence.preload",
        "a library preloaded into every program",
        &[C, H],
        Persistence,
        &["T1574.006", "T1014"],
        &[PlantedEntry, HostCompromise],
        &[NET, RULES_OFF, VOLATILE, REMOVE, BACKDOOR, REBUILD],
    ),
    r(
        "persistence.service",
        "a planted or altered systemd service or timer",
        &[H, M],
        Persistence,
        &["T1543.002", "T1053.006"],
        &[PlantedEntry, HostCompromise],
        HOST_BACKDOOR,
    ),
    r(
        "persistence.shell_init",
        "a shell start-up file that fetches or runs code",
        &[H, M],
        Persistence,
        &["T1546.004"],
        &[PlantedEntry, HostCompromise],
        HOST_BACKDOOR,
    ),
    r(
        "host.malware_process",
        "a running implant, miner or reverse shell",
        &[C, H, M],
        Persistence,
        &[
            "T1036.004",
            "T1036.005",
            "T1059.004",
            "T1564.001",
            "T1574.006",
            "T1620",
            "T1070.004",
        ],
        &[HostCompromise, Implant],
        &[NET, CAPTURE, REBUILD],
    ),
    r(
        "host.package_modified",
        "installed package files changed",
        &[C, H, M],
        Persistence,
        &["T1554", "T1036.005", "T1556.003"],
        &[HostCompromise],
        &[NET, REBUILD],
    ),
    r(
        "host.history",
        "the attacker's commands in a shell history",
        &[H, M],
        Persistence,
        &["T1059.004", "T1105", "T1070.003"],
        &[HostCompromise],
        &[],
    ),
    v(
        r(
            "config.open_relay",
            "an open-relay configuration",
            &[H],
            InitialAccess,
            &["T1566"],
            &[Posture, AccessVector],
            &["clean.close_relay"],
        ),
        "an open-relay configuration",
        "开放转发的配置",
        4,
    ),
    r(
        "config.vrfy_enabled",
        "VRFY enabled",
        &[L],
        InitialAccess,
        &["T1589.002"],
        &[Posture],
        &["clean.harden_vrfy"],
    ),
    r(
        "config.webmail_version",
        "a webmail install below the release that fixed an exploited vulnerability",
        &[M, L],
        InitialAccess,
        &["T1190"],
        &[Posture],
        &["clean.patch_webmail"],
    ),
    r(
        "config.banner_version",
        "the version in the SMTP banner",
        &[L],
        InitialAccess,
        &["T1592.002"],
        &[Posture],
        &["clean.harden_banner"],
    ),
    v(
        r(
            "config.weak_tls",
            "weak TLS settings",
            &[M, L],
            InitialAccess,
            &["T1040", "T1557"],
            &[Posture, AccessVector],
            &["clean.harden_tls"],
        ),
        "weak TLS settings (credentials readable on the network)",
        "TLS 配置薄弱（凭据可能在网络上被读取）",
        5,
    ),
    r(
        "fleet.compromise_order",
        "the order in which the hosts of the case fell",
        &[H],
        InitialAccess,
        &["T1078"],
        &[Fleet],
        &[],
    ),
    r(
        "fleet.shared_attacker",
        "one attacker address against several hosts",
        &[C, H],
        InitialAccess,
        &["T1110"],
        &[Fleet, AttackerSource],
        &[BLOCK],
    ),
    r(
        "fleet.shared_account",
        "one account taken or abused on several hosts",
        &[C, H],
        InitialAccess,
        &["T1078"],
        &[Fleet, AbusedAccount],
        &[DISABLE],
    ),
    r(
        "fleet.shared_persistence",
        "the same persistence planted on several hosts",
        &[C, H],
        Persistence,
        &["T1098"],
        &[Fleet],
        &[],
    ),
];

/// The record of rule `id`.
pub fn meta(id: &str) -> Option<&'static RuleMeta> {
    RULES.iter().find(|m| m.id == id)
}

/// Which rules report: `--disable RULE|PREFIX` and `--enable RULE|PREFIX` (repeatable), and
/// `disable = [...]`, `enable = [...]` in the `[rules]` table of `--config FILE`. A pattern is
/// a rule id (`auth.off_hours`), a family (`config`, `config.` or `config.*`), or `*`. A rule
/// is off when a disable pattern matches it, unless an enable pattern at least as specific
/// matches it too (`--disable config --enable config.open_relay` keeps that one). A disabled
/// rule's findings are dropped where they are made, so they neither reach the output nor
/// shape later rules' judgements (the incident window of `service.config_change`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    disable: Vec<String>,
    enable: Vec<String>,
}

impl Selection {
    /// A selection; every pattern must match at least one rule of the catalogue.
    pub fn new(disable: Vec<String>, enable: Vec<String>) -> Result<Selection, String> {
        for p in disable.iter().chain(&enable) {
            if !RULES.iter().any(|m| Self::specificity(p, m.id).is_some()) {
                return Err(format!("{p:?} matches no rule (see `mailir rules`)"));
            }
        }
        Ok(Selection { disable, enable })
    }

    /// How specifically `pattern` names rule `id` (longer is more specific), if it does.
    fn specificity(pattern: &str, id: &str) -> Option<usize> {
        let p = pattern.trim_end_matches('*').trim_end_matches('.');
        if p.is_empty() {
            return Some(0);
        }
        let hit = id == p || id.strip_prefix(p).is_some_and(|rest| rest.starts_with('.'));
        hit.then_some(p.len())
    }

    /// Whether rule `id`'s findings are kept.
    pub fn runs(&self, id: &str) -> bool {
        let best = |ps: &[String]| ps.iter().filter_map(|p| Self::specificity(p, id)).max();
        match (best(&self.disable), best(&self.enable)) {
            (None, _) => true,
            (Some(d), Some(e)) => e >= d,
            (Some(_), None) => false,
        }
    }

    /// The catalogue's rules that are off, in catalogue order.
    pub fn disabled(&self) -> Vec<&'static str> {
        RULES
            .iter()
            .map(|m| m.id)
            .filter(|id| !self.runs(id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut ids: Vec<&str> = RULES.iter().map(|m| m.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "a rule id is listed twice");
        for m in RULES {
            assert!(m.id.split_once('.').is_some(), "{}", m.id);
            assert!(!m.severities.is_empty() && !m.attack.is_empty(), "{}", m.id);
            assert!(
                m.severities.windows(2).all(|w| w[0] > w[1]),
                "{}: severities highest first",
                m.id
            );
            assert_eq!(
                m.vector.is_some(),
                m.roles.contains(&AccessVector),
                "{}",
                m.id
            );
        }
    }

    /// The rule rows of `docs/detections.md`'s tables: id → the row's cells.
    fn doc_rows() -> std::collections::BTreeMap<String, Vec<String>> {
        include_str!("../../docs/detections.md")
            .lines()
            .filter_map(|l| {
                let cells: Vec<String> = l
                    .trim()
                    .trim_matches('|')
                    .split(" | ")
                    .map(|c| c.trim().to_string())
                    .collect();
                let id = cells
                    .first()?
                    .strip_prefix('`')?
                    .strip_suffix('`')?
                    .to_string();
                (id.contains('.') && cells.len() >= 4).then_some((id, cells))
            })
            .collect()
    }

    fn techniques(text: &str) -> Vec<String> {
        let mut out: Vec<String> = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .filter(|w| {
                w.len() >= 5 && w.starts_with('T') && w[1..5].bytes().all(|b| b.is_ascii_digit())
            })
            .map(|w| w.trim_end_matches('.').to_string())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn docs_detections_table_agrees_with_the_catalogue() {
        let rows = doc_rows();
        let doc_ids: Vec<&String> = rows.keys().collect();
        let mut ids: Vec<&str> = RULES.iter().map(|m| m.id).collect();
        ids.sort_unstable();
        assert_eq!(doc_ids, ids, "rules in docs/detections.md vs the catalogue");
        for m in RULES {
            let cells = &rows[m.id];
            let phase = serde_json::to_value(m.phase).unwrap();
            assert!(
                cells[2].contains(phase.as_str().unwrap()),
                "{}: docs say {:?}, the catalogue {phase}",
                m.id,
                cells[2]
            );
            let mut want: Vec<String> = m.attack.iter().map(|t| t.to_string()).collect();
            want.sort();
            assert_eq!(techniques(&cells[3]), want, "{}: ATT&CK", m.id);
            // The highest severity is named in the docs (lower ones are often "one lower when …").
            for sev in &m.severities[..1] {
                let name = serde_json::to_value(sev).unwrap();
                assert!(
                    cells[2].contains(name.as_str().unwrap()),
                    "{}: severity {name} not in the docs' {:?}",
                    m.id,
                    cells[2]
                );
            }
        }
    }

    #[test]
    fn playbook_steps_agree_with_the_catalogue() {
        #[derive(serde::Deserialize)]
        struct Book {
            step: Vec<Step>,
        }
        #[derive(serde::Deserialize)]
        struct Step {
            id: String,
            #[serde(default)]
            when: Vec<String>,
            #[serde(default)]
            roles: Vec<String>,
        }
        let book: Book = toml::from_str(include_str!("../../playbooks/steps.toml")).unwrap();
        let matches = |pat: &str, id: &str| match pat.strip_suffix('*') {
            Some(prefix) => !pat.is_empty() && pat != "*" && id.starts_with(prefix),
            None => pat == id,
        };
        for m in RULES {
            let mut chosen: Vec<&str> = book
                .step
                .iter()
                .filter(|s| {
                    s.when.iter().any(|w| matches(w, m.id))
                        || s.roles
                            .iter()
                            .any(|r| m.roles.iter().any(|mr| mr.name() == r))
                })
                .map(|s| s.id.as_str())
                .collect();
            chosen.sort_unstable();
            let mut want = m.steps.to_vec();
            want.sort_unstable();
            assert_eq!(chosen, want, "{}: steps.toml chooses these steps", m.id);
        }
        for s in &book.step {
            for r in &s.roles {
                let role: Result<Role, _> = serde_json::from_value(serde_json::json!(r));
                assert!(
                    role.is_ok_and(|x| x.name() == r),
                    "step {} names an unknown role {r}",
                    s.id
                );
            }
            for w in &s.when {
                assert!(
                    w == "*" || RULES.iter().any(|m| matches(w, m.id)),
                    "step {} names {w}, which matches no rule",
                    s.id
                );
            }
        }
    }

    #[test]
    fn rules_are_switched_by_id_family_and_the_most_specific_pattern() {
        let s = |d: &[&str], e: &[&str]| {
            Selection::new(
                d.iter().map(|x| x.to_string()).collect(),
                e.iter().map(|x| x.to_string()).collect(),
            )
        };
        let all_on = Selection::default();
        assert!(RULES.iter().all(|m| all_on.runs(m.id)));
        let x = s(&["auth.off_hours"], &[]).unwrap();
        assert!(!x.runs("auth.off_hours") && x.runs("auth.spray"));
        assert_eq!(x.disabled(), ["auth.off_hours"]);
        for fam in ["config", "config.", "config.*"] {
            let x = s(&[fam], &["config.open_relay"]).unwrap();
            assert!(
                x.runs("config.open_relay") && !x.runs("config.weak_tls"),
                "{fam}"
            );
            assert!(x.runs("auth.spray"));
        }
        let only = s(&["*"], &["tamper"]).unwrap();
        assert!(only.runs("tamper.time_gap") && !only.runs("auth.spray"));
        // A prefix is a family, not a substring: `auth.s` names nothing.
        assert!(s(&["auth.s"], &[]).is_err());
        assert!(s(&[], &["nosuch.rule"]).is_err());
        // `*` switches off every rule, catalogued or not.
        assert!(!s(&["*"], &[]).unwrap().runs("test.new_rule"));
    }
}
