//! Integration tests: the real `mailir` binary on real trees and bundles.
//!
//! - `detect_sample`: `detect` on the sample host against its ground truth.
//! - `dovecot_access`: `parse` and `detect` on a real Dovecot's log of mailbox theft (full
//!   download, POP3 retrieval, a targeted folder, a cover-up) and of its owners' own use.
//! - `collect_sample`: the compromised-host sample into zip, tar.gz and directory bundles.
//! - `collector_host`: the collector where `openat2` is refused (seccomp `EPERM`), run as
//!   `nobody`, and started through the dynamic loader.
//! - `host_init`: `detect` on a fake Debian root of real stock units and start-up files with
//!   a planted timer and service, `.bashrc` line, `at` job and history: each found at its line.
//! - `hostile_tree`: a tree of traps (loops, escaping links, FIFO, odd names, a growing log).
//! - `hostile_bundle`: unpacked bundles with links, FIFOs, climbing paths and grown logs.
//! - `hostile_disk`: collection onto a tmpfs that fills up (as root only): records kept.
//! - `hostile_memory`: floods of 1 MiB user names, peak memory and output size.
//! - `hostile_output`: output files never written through a planted symbolic link.
//! - `hostile_playbook`: the report's commands for a log full of shell metacharacters, run
//!   under stub tools.
//! - `hostile_spool`: a bundle archive's scratch copies: bounded by free space, nameless.
//! - `verify_tamper`: every kind of bundle damage verify must name.
//! - `live`: collection of this machine's own root (as root only).
//! - `live_host`: implants started on this machine (a deleted program in a hidden `/tmp`
//!   folder, a memfd program, a `bash` reverse shell on loopback), collected live and named by
//!   `host.malware_process`, the deleted program's copy in the bundle (root, Linux).
//! - `live_mail`: a real Postfix + Dovecot under a scripted attack, collected and triaged
//!   (`MAILIR_LIVE=1`, root, Debian: `.ci/run` sets it up).
//! - `exim_rejects`: `parse` and `detect` on Exim's own rejectlog (header blocks) and
//!   paniclog: every line read, the rejectlog a faithful copy of the mainlog.
//! - `tamper_chain`: log integrity across files on real logs (Exim's rejectlog against its
//!   mainlog; an emptied rotation).
//! - `live_exim`: a real Exim 4 + Dovecot in a Debian chroot and network namespace of their
//!   own under the same attack, with persistence in Exim's idiom, collected with `--root`,
//!   triaged and measured against the truth (`MAILIR_LIVE_EXIM=1`, root).
//! - `live_sendmail`: a real Sendmail + Dovecot in a Debian chroot and network namespace of
//!   their own under the same attack, with persistence in Sendmail's idiom (`MAILIR_LIVE_SENDMAIL=1`,
//!   root); `live_lab` is the run the two chroot labs share.
//! - `timeline_sample`: `timeline` on the sample host: phases, placement, exports.
//! - `report_sample`: `report` on the sample host: findings, steps, clean-up lines, Chinese.
//! - `report_quotes`: quoted evidence lines (verbatim, escaped for every output) and the
//!   block list from entity roles.
//! - `triage_sample`: `triage` on the sample host: every file, the same content, the summary.
//! - `exchange_sample`: the Exchange / M365 export sample: triage, `collect --exports`, and
//!   one report with the Postfix sample.
//! - `peer_exchange`: Exchange / M365 conformance against the peers' ground truth.
//! - `m365_access`: `parse` and `detect` on Microsoft 365 audit records of what an attacker
//!   searched, exported, delegated, consented, switched on and off: found at their records,
//!   the administrators' legal hold and delegations left low.
//! - `roles`: `actor` and `mailbox` through `parse` on real Exim and Sendmail logs.
//! - `auth_vocabulary`: `parse` on real Dovecot (PAM, SQL, LDAP, passwd-file), Roundcube
//!   (behind nginx) and tcpserver / rblsmtpd logs: every line recognised, every refusal with
//!   its address and account.
//! - `opensmtpd_sample`: `parse` and `detect` on a real OpenSMTPD 7.6's log under attack: every
//!   line recognised, the session joins, the attacks found and nothing on the users' traffic.
//! - `evtx_sample`: `parse` on real Windows event logs (MSExchange Management, Security,
//!   PowerShell) from a folder, a `collect --exports` bundle and a cut copy.
//! - `web_sample`: `parse` on real nginx 1.22 and Apache 2.4 access logs (Exchange, Zimbra and
//!   Roundcube exploit request shapes among users' traffic) and published Zimbra audit lines:
//!   every line read, the fields of chosen requests.
//! - `smtp_smuggling`: `parse` and `detect` on what real Postfix, Exim and Sendmail logged for
//!   the SMTP smuggling probes: the probes each made visible found, with their outcome.
//! - `web_collect`: `collect` on a mail server's web side: vhost logs and web roots the nginx and
//!   Apache configs name, webmail installs, Zimbra, Exim's real spool files, and a web root's traps.
//! - `host_collect`: `collect --root` on the host behind a mail server (issue 20): SSH keys of
//!   every account, systemd units and their enablement links, sudoers, PAM, profiles, the `at`
//!   spool, histories flagged secret, `/etc/shadow` as account metadata without a byte of a
//!   hash, and `/etc/ld.so.preload` found by raw system calls when a rootkit-style hooking
//!   library preloaded into the collector hides it from libc (needs gcc; skips loudly).
//! - `host_accounts`: `detect` on a mounted root with a second UID 0 (and the real
//!   shadow-utils lines of its creation), root SSH keys (one behind a `command=`) and an
//!   `ld.so.preload` library: found at file and line; the same machine's stock files quiet.
//! - `windows_wine`: the Windows collector under wine on a fake Exchange `C:` drive of real
//!   Exchange logs, verified by both builds (skips loudly without wine and mingw).
//! - `velociraptor_artifacts`: the Velociraptor artifacts of `fleet/velociraptor/` against
//!   Velociraptor's artifact schema, their `mailir` flags against `--help`, and the Linux
//!   artifact's command line run on a fake root.

mod util;

#[cfg(feature = "analysis")]
mod auth_vocabulary;
mod collect_sample;
mod collector_host;
#[cfg(feature = "analysis")]
mod data_lake;
mod detect_sample;
#[cfg(feature = "analysis")]
mod dovecot_access;
#[cfg(feature = "analysis")]
mod evtx_sample;
#[cfg(feature = "analysis")]
mod exchange_sample;
#[cfg(feature = "analysis")]
mod exim_rejects;
#[cfg(feature = "analysis")]
mod fleet_case;
#[cfg(feature = "analysis")]
mod host_accounts;
mod host_collect;
#[cfg(feature = "analysis")]
mod host_init;
#[cfg(feature = "analysis")]
mod hostile_bundle;
mod hostile_disk;
#[cfg(feature = "analysis")]
mod hostile_memory;
#[cfg(feature = "analysis")]
mod hostile_output;
#[cfg(feature = "analysis")]
mod hostile_playbook;
#[cfg(feature = "analysis")]
mod hostile_spool;
mod hostile_tree;
mod live;
#[cfg(feature = "analysis")]
mod live_exim;
#[cfg(feature = "analysis")]
mod live_host;
#[cfg(feature = "analysis")]
mod live_lab;
#[cfg(feature = "analysis")]
mod live_mail;
#[cfg(feature = "analysis")]
mod live_sendmail;
#[cfg(feature = "analysis")]
mod m365_access;
#[cfg(feature = "analysis")]
mod opensmtpd_sample;
#[cfg(feature = "analysis")]
mod parse_sample;
#[cfg(feature = "analysis")]
mod peer_alerts;
#[cfg(feature = "analysis")]
mod peer_corpus;
#[cfg(feature = "analysis")]
mod peer_exchange;
#[cfg(feature = "analysis")]
mod report_quotes;
#[cfg(feature = "analysis")]
mod report_sample;
#[cfg(feature = "analysis")]
mod roles;
#[cfg(feature = "analysis")]
mod smtp_smuggling;
#[cfg(feature = "analysis")]
mod tamper_chain;
#[cfg(feature = "analysis")]
mod timeline_sample;
#[cfg(feature = "analysis")]
mod triage_sample;
mod velociraptor_artifacts;
mod verify_tamper;
mod web_collect;
#[cfg(feature = "analysis")]
mod web_sample;
mod windows_wine;
