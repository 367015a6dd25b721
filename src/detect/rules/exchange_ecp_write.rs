//! `exchange.proxylogon_ecp_write` — CVE-2021-27065: an Exchange admin command through ECP
//! that sets a virtual directory's URL to a script, which Exchange then writes to disk as a
//! web shell (the OAB virtual directory's `ExternalUrl` in the 2021 attacks).
//!
//! **Why**: this is the step that turns ProxyLogon's forged requests into code on the
//! server. **How** (parity with `Test-ProxyLogon.ps1`'s ECP log check): an `admin_command`
//! whose cmdlet is `Set-*VirtualDirectory` and whose parameters hold markup
//! (`<tag …>…</tag>`, `<script`, `runat=`, `<%`). The ECP commands around it (within
//! 15 minutes: the `Get-`/`Remove-`/`New-OABVirtualDirectory` calls that reset the directory
//! and cover the trace) are added as evidence of the same chain. One finding per server.
//! **ATT&CK**: T1505.003 (Web Shell), T1190. **Phase**: persistence. **Severity**:
//! critical. **False positives**: none known — URLs of virtual directories do not carry markup.

use std::collections::BTreeMap;

use super::cloud::{detail_of, some, Group};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{EvidenceSet, Finding, Severity};
use crate::events::record::Kind;

/// How far around a payload write other ECP commands count as its chain (µs).
const CHAIN_US: i64 = 15 * 60 * 1_000_000;

/// Whether a command text carries markup (a script payload).
pub fn has_payload(cmd: &str) -> bool {
    let lower = cmd.to_ascii_lowercase();
    if lower.contains("<script") || lower.contains("runat=") || lower.contains("<%") {
        return true;
    }
    // `<word …>…</word>`, as the Test-ProxyLogon pattern `<\w+.*>(.*?)<\/\w+>`.
    let Some(open) = lower.find('<') else {
        return false;
    };
    let after = &lower[open + 1..];
    after
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && after.contains('>')
        && after.contains("</")
}

/// The rule.
pub struct EcpWrite {
    /// Payload writes per server.
    writes: BTreeMap<String, Group>,
    /// Every ECP command: time, file, line.
    commands: Vec<(i64, u32, u64)>,
}

impl EcpWrite {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        EcpWrite {
            writes: BTreeMap::new(),
            commands: Vec::new(),
        }
    }
}

impl Rule for EcpWrite {
    fn kinds(&self) -> super::Kinds {
        super::Kinds::of(&[Kind::AdminCommand])
    }

    fn observe(&mut self, f: &Fact) {
        let Some(d) = detail_of(f, Kind::AdminCommand) else {
            return;
        };
        self.commands.push((f.ts_us, f.file, f.line));
        let op = d.op.as_deref().unwrap_or("").to_ascii_lowercase();
        let cmd = d.cmd.as_deref().unwrap_or("");
        if op.starts_with("set-") && op.ends_with("virtualdirectory") && has_payload(cmd) {
            let g = self.writes.entry(String::new()).or_default();
            g.add(f);
            g.names.insert(d.op.unwrap_or_default());
        }
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        let mut out = Vec::new();
        for (_, g) in std::mem::take(&mut self.writes) {
            let mut chain = EvidenceSet::default();
            let mut around = 0u64;
            for &(t, file, line) in &self.commands {
                if t >= g.first - CHAIN_US && t <= g.last + CHAIN_US {
                    chain.add(file, line);
                    around += 1;
                }
            }
            let mut g = g;
            g.evidence.extend(&chain);
            out.push(g.finding(
                "exchange.proxylogon_ecp_write",
                Severity::Critical,
                vec!["T1505.003", "T1190"],
                "ProxyLogon web shell written through an ECP virtual-directory URL".to_string(),
                format!(
                    "{} {} command(s) set a virtual directory URL to a script (CVE-2021-27065); {} ECP command(s) within 15 min form the chain",
                    g.count,
                    some(&g.names, 3),
                    around
                ),
                vec![
                    "clean.remove_webshells",
                    "clean.patch_exchange",
                    "clean.reset_credentials",
                ],
                files,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_in_virtual_directory_urls() {
        assert!(has_payload(
            r#"Set-OabVirtualDirectory.ExternalUrl='http://f/<script language="JScript" runat="server">function Page_Load(){}</script>'"#
        ));
        assert!(has_payload(
            "Set-OabVirtualDirectory.ExternalUrl='http://o/#<sanitized>bad code</sanitized>'"
        ));
        assert!(!has_payload(
            "Set-OabVirtualDirectory.ExternalUrl=$null.Identity='982d48c8'"
        ));
        assert!(!has_payload(
            "Set-OwaVirtualDirectory.ExternalUrl='https://mail.example.org/owa'"
        ));
    }
}
