//! The mapping on the records of `tests/fixtures/m365-access` (shapes of the Office 365
//! Management Activity API schema; its README cites the pages), read through the unified
//! audit log reader as `parse` reads them.

use serde_json::Value;

use crate::events::exchange::json::Json;
use crate::events::exchange::{ual, Got, Rec};
use crate::events::record::Kind;

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/m365-access/");

/// The events of every record of the fixture's JSON lines, with the record's operation and
/// time.
fn events() -> Vec<(String, String, Rec)> {
    let text = std::fs::read_to_string(format!("{FIX}audit.jsonl")).unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let op = v["Operation"].as_str().unwrap().to_string();
        let ts = v["CreationTime"].as_str().unwrap().to_string();
        let Got::Events(recs) = ual::record(&Json::parse(line).unwrap(), || None) else {
            panic!("{line}")
        };
        out.extend(recs.into_iter().map(|r| (op.clone(), ts.clone(), r)));
    }
    out
}

fn at<'a>(all: &'a [(String, String, Rec)], ts: &str) -> Vec<&'a Rec> {
    all.iter()
        .filter(|(_, t, _)| t.ends_with(ts))
        .map(|(_, _, r)| r)
        .collect()
}

#[test]
fn mail_items_accessed_bind_and_sync() {
    let all = events();
    // Bind: three messages named in the Inbox, four bind operations aggregated.
    let r = at(&all, "2026-05-14T02:24:41")[0];
    assert_eq!(r.kind, Kind::MailboxAccess);
    assert_eq!(
        (r.actor.as_deref(), r.mailbox.as_deref()),
        (
            Some("it.admin@contoso.example"),
            Some("megan@contoso.example")
        )
    );
    assert_eq!(r.src_ip.as_deref(), Some("203.0.113.50"));
    let d = &r.detail;
    assert_eq!(d.action.as_deref(), Some("bind"));
    assert_eq!((d.messages, d.operations), (Some(3), Some(4)));
    assert_eq!(d.bytes, Some(48211 + 15320 + 90144));
    assert_eq!(d.folders, [r"\Inbox"]);
    assert_eq!(
        d.session.as_deref(),
        Some("3d5e7f91-a2b4-4c6d-8e0f-1a2b3c4d5e6f")
    );
    assert_eq!(d.client.as_deref(), Some("Client=OWA;Action=ViaProxy"));
    assert_eq!(d.logon.as_deref(), Some("delegate"));
    assert_eq!(d.throttled, Some(false));
    assert_eq!(r.status.as_deref(), Some("success"));
    // Sync: whole folders, no count; the phone's sync the same shape.
    for ts in ["2026-05-14T02:26:09", "2026-05-12T19:05:30"] {
        let d = &at(&all, ts)[0].detail;
        assert_eq!(d.action.as_deref(), Some("sync"), "{ts}");
        assert_eq!((d.messages, d.bytes), (None, None), "{ts}");
        assert!(d.folders.contains(&r"\Inbox".to_string()), "{ts}");
    }
}

#[test]
fn deletions_count_their_items() {
    let all = events();
    for (ts, action, n, folder) in [
        ("2026-05-14T03:33:40", "trash", 2, r"\Inbox"),
        ("2026-05-14T03:34:12", "soft_delete", 2, r"\Deleted Items"),
        (
            "2026-05-14T03:34:58",
            "hard_delete",
            1,
            r"\Recoverable Items\Deletions",
        ),
    ] {
        let r = at(&all, ts)[0];
        assert_eq!(r.kind, Kind::MailboxChange, "{ts}");
        assert_eq!(r.detail.action.as_deref(), Some(action), "{ts}");
        assert_eq!(r.detail.messages, Some(n), "{ts}");
        assert_eq!(r.detail.folders, [folder], "{ts}");
        assert_eq!(r.mailbox.as_deref(), Some("megan@contoso.example"));
    }
}

#[test]
fn searches_and_ediscovery() {
    let all = events();
    let r = at(&all, "2026-05-14T02:31:15")[0];
    assert_eq!(r.kind, Kind::MailboxSearch);
    assert_eq!(r.detail.action.as_deref(), Some("query"));
    assert_eq!(r.detail.search.as_deref(), Some("密码"));
    assert_eq!(r.mailbox.as_deref(), Some("megan@contoso.example"));
    let r = at(&all, "2026-05-14T02:35:40")[0];
    assert_eq!(
        (r.kind, r.detail.action.as_deref()),
        (Kind::MailboxSearch, Some("create"))
    );
    assert_eq!(r.detail.name.as_deref(), Some("q2-review"));
    assert_eq!(
        r.detail.search.as_deref(),
        Some("password OR 密码 OR 合同 OR invoice")
    );
    assert_eq!(r.detail.locations, ["All"]);
    assert_eq!(r.detail.op.as_deref(), Some("SearchCreated"));
    let r = at(&all, "2026-05-14T02:36:02")[0];
    assert_eq!(r.detail.action.as_deref(), Some("start"));
    let r = at(&all, "2026-05-14T02:50:27")[0];
    assert_eq!(
        (r.kind, r.detail.action.as_deref(), r.detail.name.as_deref()),
        (Kind::MailboxExport, Some("export"), Some("q2-review"))
    );
    let r = at(&all, "2026-05-14T02:58:13")[0];
    assert_eq!(
        (r.kind, r.detail.action.as_deref(), r.detail.name.as_deref()),
        (Kind::MailboxExport, Some("download"), Some("q2-review"))
    );
}

#[test]
fn admin_cmdlets_in_the_audit_log_are_classified() {
    let all = events();
    let r = at(&all, "2026-05-12T10:15:03")[0];
    assert_eq!(
        (r.kind, r.status.as_deref()),
        (Kind::PermissionGrant, Some("created"))
    );
    assert_eq!(r.mailbox.as_deref(), Some("shared-ap@contoso.example"));
    assert_eq!(r.detail.grantee.as_deref(), Some("joe@contoso.example"));
    assert_eq!(r.detail.rights, ["FullAccess"]);
    assert!(r
        .detail
        .cmd
        .as_deref()
        .unwrap()
        .starts_with("Add-MailboxPermission -AccessRights \"FullAccess\""));
    let r = at(&all, "2026-05-14T03:20:05")[0];
    assert_eq!(r.detail.grantee.as_deref(), Some("Default"));
    assert_eq!(r.detail.folders, [r"\Inbox"]);
    let r = at(&all, "2026-05-14T03:15:47")[0];
    assert_eq!(r.kind, Kind::AccessSetting);
    assert_eq!(r.detail.settings["imap"], "on");
    let r = at(&all, "2026-05-14T03:30:26")[0];
    assert_eq!(
        (r.kind, r.detail.action.as_deref()),
        (Kind::AuditSetting, Some("off"))
    );
    // A Set-Mailbox that only switches auditing off sets no forwarding.
    assert_eq!(at(&all, "2026-05-14T03:30:26").len(), 1);
    let r = at(&all, "2026-05-14T03:31:10")[0];
    assert_eq!(r.detail.action.as_deref(), Some("bypass"));
}

#[test]
fn consents_name_the_app_its_scopes_and_whose_consent() {
    let all = events();
    let r = at(&all, "2026-05-14T03:05:44")[0];
    assert_eq!(r.kind, Kind::AppConsent);
    let d = &r.detail;
    assert_eq!(d.action.as_deref(), Some("consent"));
    assert_eq!(d.app.as_deref(), Some("Mail Backup Pro"));
    // The application's client id (`TargetId.ServicePrincipalNames`), not the service
    // principal's object id (`ObjectId`): the id its reads carry.
    assert_eq!(
        d.app_id.as_deref(),
        Some("1e3c5a7b-9d2f-4b6a-8c0e-2f4d6b8a0c1e")
    );
    assert_eq!(
        d.scopes,
        ["Mail.Read", "Mail.Send", "offline_access", "openid"]
    );
    assert_eq!((d.admin_consent, d.app_only), (Some(true), Some(false)));
    assert_eq!(r.src_ip.as_deref(), Some("203.0.113.50"));
    let r = at(&all, "2026-05-14T03:06:30")[0];
    assert_eq!(r.detail.action.as_deref(), Some("role"));
    assert_eq!(r.detail.scopes, ["Mail.Read"]);
    assert_eq!(r.detail.app_only, Some(true));
    assert_eq!(
        r.detail.app_id.as_deref(),
        Some("1e3c5a7b-9d2f-4b6a-8c0e-2f4d6b8a0c1e")
    );
    let r = at(&all, "2026-05-14T03:08:02")[0];
    assert_eq!(r.detail.action.as_deref(), Some("credential"));
    assert_eq!(r.detail.app.as_deref(), Some("Mail Backup Pro"));
    // A user's own consent to sign-in scopes.
    let r = at(&all, "2026-05-13T15:20:11")[0];
    assert_eq!(r.detail.scopes, ["User.Read", "openid", "profile"]);
    assert_eq!(r.detail.admin_consent, Some(false));
}

#[test]
fn ediscovery_in_purview_csv_keeps_its_case() {
    use crate::evidence::exports::ExportKind;
    let bytes = std::fs::read(format!("{FIX}purview-ediscovery.csv")).unwrap();
    let mut got: Vec<Rec> = Vec::new();
    crate::events::exchange::read(
        ExportKind::UalCsv,
        &mut &bytes[..],
        None,
        chrono_tz::UTC,
        &mut |_, _, g, _| {
            if let Got::Events(v) = g {
                got.extend(v);
            }
            true
        },
    );
    let kinds: Vec<(Kind, Option<&str>)> = got
        .iter()
        .map(|r| (r.kind, r.detail.action.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        [
            (Kind::MailboxExport, Some("export")),
            (Kind::MailboxSearch, Some("start")),
            (Kind::MailboxSearch, Some("create")),
            (Kind::MailboxSearch, Some("hold")),
            (Kind::AuditOperation, None),
        ]
    );
    let case = got[0].detail.case.clone();
    assert!(case.is_some());
    assert!(got[..4].iter().all(|r| r.detail.case == case));
    assert_eq!(
        got[0].detail.name.as_deref(),
        Some("Vendor dispute - AP mail")
    );
    assert_eq!(
        got[3].detail.locations,
        ["megan@contoso.example", "shared-ap@contoso.example"]
    );
}

/// The Exchange sample's export record (`samples/exchange-exports`, line 3 of the Purview
/// export): the search it exports and what it held, from its `ExtendedProperties`.
#[test]
fn an_ediscovery_export_states_its_items_and_size() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/samples/exchange-exports/m365/purview-unified-audit-log.csv"
    ))
    .unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let rec = rdr
        .records()
        .map(|r| r.unwrap())
        .find(|r| &r[3] == "SearchExported")
        .unwrap();
    let v = Json::parse(&rec[5]).unwrap();
    let Got::Events(e) = ual::record(&v, || None) else {
        panic!()
    };
    let d = &e[0].detail;
    assert_eq!(
        (e[0].kind, d.name.as_deref(), d.messages, d.bytes),
        (
            Kind::MailboxExport,
            Some("Q1 payments"),
            Some(2417),
            Some(1_873_260_417)
        )
    );
    assert_eq!(d.locations, ["All"]);
}
