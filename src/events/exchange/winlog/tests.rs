//! Mapping tests on the real event logs of `tests/fixtures/evtx` (see its README), and on
//! records rendered from them with the published Exchange command text put in.

use serde_json::Value;

use super::record;
use crate::events::exchange::{evtx, At, Got, Rec};
use crate::events::record::Kind;

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/evtx/");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIX}{name}")).unwrap()
}

/// Events, (ignored, unparsed), records read and the warning of reading `bytes`.
struct Run {
    recs: Vec<(At, Rec)>,
    ignored: usize,
    unparsed: usize,
    records: u64,
    warning: Option<String>,
}

fn run(bytes: &[u8]) -> Run {
    let (mut recs, mut ignored, mut unparsed) = (Vec::new(), 0, 0);
    let (records, warning) = evtx::read(&mut &bytes[..], &mut |at, _, got, _| {
        match got {
            Got::Events(v) => recs.extend(v.into_iter().map(|r| (at, r))),
            Got::Ignored => ignored += 1,
            Got::Unparsed => unparsed += 1,
        }
        true
    });
    Run {
        recs,
        ignored,
        unparsed,
        records,
        warning,
    }
}

/// The records of a fixture as the evtx crate renders them.
fn rendered(name: &str) -> Vec<Value> {
    let mut p = ::evtx::EvtxParser::from_buffer(fixture(name)).unwrap();
    p.records_json_value().map(|r| r.unwrap().data).collect()
}

fn events(v: &Value) -> Vec<Rec> {
    match record(v).0 {
        Got::Events(r) => r,
        _ => Vec::new(),
    }
}

#[test]
fn exchange_management_failed_cmdlets() {
    let r = run(&fixture("exchange-management-install-transport-agent.evtx"));
    assert_eq!((r.records, r.unparsed, r.warning.as_deref()), (4, 0, None));
    assert_eq!(r.recs.len(), 4);
    let (at, e) = &r.recs[0];
    assert_eq!(at.line, 7184);
    assert_eq!(e.kind, Kind::AdminCommand);
    assert_eq!(e.service, "exchange/management");
    assert_eq!(e.host.as_deref(), Some("exchange01.offsec.lan"));
    assert_eq!(
        e.actor.as_deref(),
        Some("offsec.lan/OFFSEC-COMPANY/Administrators/admmig")
    );
    assert_eq!(e.status.as_deref(), Some("failure"));
    assert_eq!(e.detail.op.as_deref(), Some("Install-TransportAgent"));
    assert_eq!(
        e.detail.cmd.as_deref(),
        Some(
            r#"Install-TransportAgent -Name "Evil" -AssemblyPath ".\NetshHelperBeacon.dll" -TransportAgentFactory "hack""#
        )
    );
    assert_eq!(
        e.detail.param("assemblypath"),
        Some(r".\NetshHelperBeacon.dll")
    );
    assert_eq!(
        e.detail.client.as_deref(),
        Some("Remote-ManagementShell-Unknown")
    );
    assert_eq!(
        e.detail.run_as.as_deref(),
        Some("S-1-5-21-4230534742-2542757381-3142984815-1111")
    );
    assert!(e
        .detail
        .note
        .as_deref()
        .unwrap()
        .starts_with("System.ArgumentException: The Transport Agent assembly file"));
    assert_eq!(e.ts_us, 1_622_796_107_982_128);
    let (_, last) = &r.recs[3];
    assert_eq!(last.detail.op.as_deref(), Some("Enable-TransportAgent"));
    assert_eq!(last.detail.param("Identity"), Some("hack"));
}

#[test]
fn exchange_management_success_with_published_command() {
    // The fixture's first record, made event 1 ("Cmdlet suceeded.") with the cmdlet and
    // parameters of Microsoft's New-MailboxExportRequest example 1 (UNC share target).
    let mut v = rendered("exchange-management-install-transport-agent.evtx").remove(0);
    v["Event"]["System"]["EventID"]["#text"] = 1.into();
    let data = &mut v["Event"]["EventData"]["Data"]["#text"];
    data[0] = "New-MailboxExportRequest".into();
    data[1] = r#"-Mailbox "AylaKol" -FilePath "\\SERVER01\PSTFileShare\Ayla_Recovered.pst""#.into();
    let e = events(&v).remove(0);
    assert_eq!(e.status.as_deref(), Some("success"));
    // The same command in every log is the same event: a mailbox export.
    assert_eq!(e.kind, Kind::MailboxExport);
    assert_eq!(e.detail.action.as_deref(), Some("request"));
    assert_eq!(
        e.detail.path.as_deref(),
        Some(r"\\SERVER01\PSTFileShare\Ayla_Recovered.pst")
    );
    assert_eq!(e.detail.op.as_deref(), Some("New-MailboxExportRequest"));
    assert_eq!(
        e.detail.param("FilePath"),
        Some(r"\\SERVER01\PSTFileShare\Ayla_Recovered.pst")
    );
    assert_eq!(e.mailbox.as_deref(), Some("AylaKol"));
    assert_eq!(e.detail.note, None);
}

#[test]
fn exchange_management_grants_and_audit_switches_are_classified() {
    // The fixture's first record as event 1 with the commands of Microsoft's Add-MailboxPermission
    // and Set-MailboxAuditBypassAssociation references, and a failed one (event 6).
    for (id, cmdlet, args, kind, status) in [
        (
            1,
            "Add-MailboxPermission",
            r#"-Identity "Terry Adams" -User "Kevin Kelly" -AccessRights FullAccess -InheritanceType All"#,
            Kind::PermissionGrant,
            "created",
        ),
        (
            6,
            "Add-MailboxPermission",
            r#"-Identity "Terry Adams" -User "Kevin Kelly" -AccessRights FullAccess -InheritanceType All"#,
            Kind::PermissionGrant,
            "failure",
        ),
        (
            1,
            "Set-MailboxAuditBypassAssociation",
            r#"-Identity "Svc-MyApplication" -AuditBypassEnabled $true"#,
            Kind::AuditSetting,
            "changed",
        ),
    ] {
        let mut v = rendered("exchange-management-install-transport-agent.evtx").remove(0);
        v["Event"]["System"]["EventID"]["#text"] = id.into();
        let data = &mut v["Event"]["EventData"]["Data"]["#text"];
        data[0] = cmdlet.into();
        data[1] = args.into();
        let e = events(&v).remove(0);
        assert_eq!(
            (e.kind, e.status.as_deref()),
            (kind, Some(status)),
            "{cmdlet}"
        );
        assert_eq!(
            e.actor.as_deref(),
            Some("offsec.lan/OFFSEC-COMPANY/Administrators/admmig")
        );
    }
}

#[test]
fn powershell_without_exchange_cmdlets_is_ignored() {
    let r = run(&fixture("powershell-800-4103-4104-clear-eventlog.evtx"));
    assert_eq!((r.records, r.unparsed), (6, 0));
    assert_eq!((r.recs.len(), r.ignored), (0, 6));
}

#[test]
fn powershell_exchange_cmdlets_in_800_4103_4104() {
    let recs = rendered("powershell-800-4103-4104-clear-eventlog.evtx");
    let of = |id: u64| -> Value {
        recs.iter()
            .find(|v| super::text(Some(&v["Event"]["System"]["EventID"])) == Some(id.to_string()))
            .cloned()
            .unwrap()
    };
    // 4104: the script block text replaced by Microsoft's examples.
    let mut v = of(4104);
    v["Event"]["EventData"]["ScriptBlockText"] = "New-ManagementRoleAssignment -Role \"Mailbox Import Export\" -User \"Ayla Kol\"\r\nNew-MailboxExportRequest -Mailbox AylaKol -FilePath \"\\\\SERVER01\\PSTFileShare\\Ayla_Recovered.pst\"".into();
    let e = events(&v);
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].service, "windows/powershell/4104");
    assert_eq!(e[0].detail.param("Role"), Some("Mailbox Import Export"));
    assert_eq!(
        e[0].actor.as_deref(),
        Some("S-1-5-21-4230534742-2542757381-3142984815-1111")
    );
    assert_eq!(e[1].detail.op.as_deref(), Some("New-MailboxExportRequest"));
    assert_eq!(e[1].status, None);
    assert_eq!(
        (e[0].kind, e[1].kind),
        (Kind::AdminCommand, Kind::MailboxExport)
    );
    // 4103 and 800: the payload lines in PowerShell's own form, for an Exchange cmdlet.
    let payload = "CommandInvocation(Set-OabVirtualDirectory): \"Set-OabVirtualDirectory\"\r\nParameterBinding(Set-OabVirtualDirectory): name=\"Identity\"; value=\"EX01\\OAB (Default Web Site)\"\r\nParameterBinding(Set-OabVirtualDirectory): name=\"ExternalUrl\"; value=\"http://f/<script>x</script>\"\r\n";
    let mut v = of(4103);
    v["Event"]["EventData"]["Payload"] = payload.into();
    let e = events(&v).remove(0);
    assert_eq!(e.service, "windows/powershell/4103");
    assert_eq!(e.actor.as_deref(), Some(r"OFFSEC\admmig"));
    assert_eq!(
        e.detail.param("ExternalUrl"),
        Some("http://f/<script>x</script>")
    );
    assert!(e
        .detail
        .cmd
        .as_deref()
        .unwrap()
        .starts_with("Set-OabVirtualDirectory -ExternalUrl"));
    let mut v = of(800);
    v["Event"]["EventData"]["Data"]["#text"][2] = payload.into();
    let e = events(&v).remove(0);
    assert_eq!(e.service, "windows/powershell/800");
    assert_eq!(e.actor.as_deref(), Some(r"OFFSEC\admmig"));
    assert_eq!(e.detail.op.as_deref(), Some("Set-OabVirtualDirectory"));
}

#[test]
fn security_logons() {
    let r = run(&fixture("security-4625-rdp-account-restriction.evtx"));
    let fails: Vec<&Rec> = r.recs.iter().map(|(_, e)| e).collect();
    assert_eq!(fails.len(), 2);
    let f = fails[0];
    assert_eq!(f.kind, Kind::AuthFailure);
    assert_eq!(f.service, "windows/logon");
    assert_eq!(f.src_ip.as_deref(), Some("10.23.23.9"));
    assert_eq!(f.proto, Some("rdp"));
    assert_eq!(f.status.as_deref(), Some("0xc000006e"));
    assert_eq!(f.actor, None);
    let r = run(&fixture("security-4624-golden-ticket.evtx"));
    let ok: Vec<&Rec> = r.recs.iter().map(|(_, e)| e).collect();
    assert!(ok.iter().all(|e| e.kind == Kind::AuthSuccess));
    assert!(ok
        .iter()
        .any(|e| e.actor.as_deref() == Some(r"OFFSEC\not_existing_user")));
    assert!(ok
        .iter()
        .any(|e| e.actor.as_deref() == Some(r"OFFSEC\admmig") && e.proto == Some("network")));
    assert_eq!(r.unparsed, 0);
}

#[test]
fn cut_and_damaged_logs_keep_what_reads() {
    let whole = fixture("security-4624-golden-ticket.evtx");
    let all = run(&whole);
    assert!(all.records > 4, "{}", all.records);
    // Cut in the middle of the first chunk: the records before the cut, and a warning.
    let cut = run(&whole[..4096 + 6_000]);
    assert!(
        cut.records > 0 && cut.records < all.records,
        "{}",
        cut.records
    );
    assert!(cut
        .warning
        .as_deref()
        .unwrap()
        .contains("cut inside chunk 0"));
    assert!(cut.recs.len() <= all.recs.len());
    // A damaged chunk header: counted as unparsed, never a panic.
    let mut bad = whole.clone();
    bad[4096..4096 + 8].copy_from_slice(b"XXXXXXXX");
    let b = run(&bad);
    assert_eq!((b.recs.len(), b.unparsed), (0, 1));
    // Garbage inside the records: whatever decodes, the rest counted.
    let mut noisy = whole.clone();
    for i in (4096 + 600..4096 + 30_000).step_by(97) {
        noisy[i] ^= 0x5a;
    }
    let n = run(&noisy);
    assert!(n.unparsed + n.ignored + n.recs.len() > 0);
    // Only a header, or less.
    assert_eq!(run(&whole[..4096]).records, 0);
    assert!(run(&whole[..100]).warning.unwrap().contains("cut short"));
}
