//! The classifier on the command lines of Microsoft's cmdlet reference (the EXAMPLES sections
//! of learn.microsoft.com/powershell/module/exchange/<cmdlet>, as typed there), read by the
//! same parameter reader the event-log readers use.

use super::*;
use crate::events::exchange::cmdline::params;

/// The classes of a typed command line.
fn of(line: &str) -> Vec<Class> {
    let (op, args) = line.split_once(' ').unwrap_or((line, ""));
    classify(op, Params(&params(args)))
}

fn one(line: &str) -> Class {
    let mut v = of(line);
    assert_eq!(v.len(), 1, "{line}: {v:#?}");
    v.remove(0)
}

#[test]
fn mailbox_and_recipient_permissions() {
    let c = one(
        r#"Add-MailboxPermission -Identity "Terry Adams" -User "Kevin Kelly" -AccessRights FullAccess -InheritanceType All"#,
    );
    assert_eq!(
        (c.kind, c.status, c.mailbox.as_deref()),
        (Kind::PermissionGrant, Some("created"), Some("Terry Adams"))
    );
    assert_eq!(c.detail.grantee.as_deref(), Some("Kevin Kelly"));
    assert_eq!(c.detail.rights, ["FullAccess"]);
    // The positional identity of Add-RecipientPermission, the trustee as grantee.
    let c = one(r#"Add-RecipientPermission "Help Desk" -AccessRights SendAs -Trustee "Ayla Kol""#);
    assert_eq!(c.mailbox.as_deref(), Some("Help Desk"));
    assert_eq!(c.detail.grantee.as_deref(), Some("Ayla Kol"));
    assert_eq!(c.detail.rights, ["SendAs"]);
    let c = one(
        r#"Remove-MailboxPermission -Identity "Terry Adams" -User "Kevin Kelly" -AccessRights FullAccess -InheritanceType All"#,
    );
    assert_eq!(c.status, Some("removed"));
    let c = one(
        r#"Add-MailboxPermission -Identity "Terry Adams" -User "Kevin Kelly" -AccessRights FullAccess -Deny"#,
    );
    assert_eq!(c.status, Some("denied"));
    // `-Owner` changes who owns the mailbox object: no permission to read it.
    assert!(of(r#"Add-MailboxPermission -Identity "Room 222" -Owner "Tony Smith""#).is_empty());
}

#[test]
fn folder_and_send_as_permissions() {
    let c = one(
        r"Add-MailboxFolderPermission -Identity ayla@contoso.com:\Marketing -User ed@contoso.com -AccessRights Owner",
    );
    assert_eq!(c.mailbox.as_deref(), Some("ayla@contoso.com"));
    assert_eq!(c.detail.folders, [r"\Marketing"]);
    assert_eq!(c.detail.rights, ["Owner"]);
    assert_eq!(c.status, Some("created"));
    let c = one(
        r"Set-MailboxFolderPermission -Identity ayla@contoso.com:\Calendar -User ed@contoso.com -AccessRights Editor -SharingPermissionFlags Delegate",
    );
    assert_eq!(
        (c.status, c.detail.folders[0].as_str()),
        (Some("changed"), r"\Calendar")
    );
    let c = one(
        r#"Add-ADPermission -Identity "Terry Adams" -User AaronPainter -AccessRights ExtendedRight -ExtendedRights "Send As""#,
    );
    assert_eq!(c.detail.rights, ["SendAs"]);
    assert_eq!(c.detail.grantee.as_deref(), Some("AaronPainter"));
    // A receive connector's submit rights are no mailbox permission.
    assert!(of(r#"Add-AdPermission "IP Secured Inbound" -User "NT AUTHORITY\ANONYMOUS LOGON" -ExtendedRights ms-Exch-SMTP-Submit,ms-Exch-SMTP-Accept-Any-Recipient,ms-Exch-Bypass-Anti-Spam"#).is_empty());
}

#[test]
fn send_on_behalf_and_audit_in_one_set_mailbox() {
    let v = of(
        r#"Set-Mailbox -Identity "Kim Akers" -GrantSendOnBehalfTo @{Add="David Pelton","Ayla Kol"} -AuditEnabled $false"#,
    );
    let kinds: Vec<Kind> = v.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::PermissionGrant,
            Kind::PermissionGrant,
            Kind::AuditSetting
        ]
    );
    assert_eq!(v[1].detail.grantee.as_deref(), Some("Ayla Kol"));
    assert_eq!(v[0].detail.rights, ["SendOnBehalf"]);
    assert_eq!(v[2].detail.action.as_deref(), Some("off"));
    assert_eq!(v[2].detail.settings["AuditEnabled"], "off");
    assert_eq!(v[2].mailbox.as_deref(), Some("Kim Akers"));
    // Forwarding alone is no class of this classifier (the readers make it forwarding).
    assert!(of("Set-Mailbox -Identity x -ForwardingSmtpAddress a@b.example").is_empty());
    // Owner actions removed, or set to none: auditing reduced; added: more auditing.
    let c = one(r#"Set-Mailbox -Identity megan -AuditOwner @{Remove="MailItemsAccessed"}"#);
    assert_eq!(c.detail.action.as_deref(), Some("reduced"));
    let c = one(r#"Set-Mailbox -Identity megan -AuditOwner @{Add="SearchQueryInitiated"}"#);
    assert_eq!(c.detail.action.as_deref(), Some("on"));
    let c = one("Set-Mailbox -Identity megan -AuditDelegate $null -AuditLogAgeLimit 1");
    assert_eq!(c.detail.action.as_deref(), Some("reduced"));
}

#[test]
fn audit_switches_and_bypass() {
    let c = one(
        r#"Set-MailboxAuditBypassAssociation -Identity "Svc-MyApplication" -AuditBypassEnabled $true"#,
    );
    assert_eq!(
        (c.kind, c.detail.action.as_deref(), c.mailbox.as_deref()),
        (
            Kind::AuditSetting,
            Some("bypass"),
            Some("Svc-MyApplication")
        )
    );
    let c = one(
        r#"Set-MailboxAuditBypassAssociation -Identity "Svc-MyApplication" -AuditBypassEnabled $false"#,
    );
    assert_eq!(c.detail.action.as_deref(), Some("on"));
    let c = one("Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled $false");
    assert_eq!(c.detail.action.as_deref(), Some("off"));
    // Microsoft's example turns logging on and leaves only the Get- cmdlets out.
    let c = one("Set-AdminAuditLogConfig -AdminAuditLogEnabled $true -AdminAuditLogCmdlets * -AdminAuditLogParameters * -AdminAuditLogExcludedCmdlets Get-*");
    assert_eq!(c.detail.action.as_deref(), Some("changed"));
    let c = one("Set-AdminAuditLogConfig -AdminAuditLogExcludedCmdlets Set-Mailbox,New-InboxRule");
    assert_eq!(c.detail.action.as_deref(), Some("reduced"));
    let c = one("Set-OrganizationConfig -AuditDisabled $true");
    assert_eq!(c.detail.action.as_deref(), Some("off"));
    assert!(of("Set-OrganizationConfig -MailTipsAllTipsEnabled $true").is_empty());
}

#[test]
fn protocol_switches() {
    let c = one("Set-CASMailbox adam@contoso.com -OWAEnabled $false -PopEnabled $false");
    assert_eq!(c.kind, Kind::AccessSetting);
    assert_eq!(c.mailbox.as_deref(), Some("adam@contoso.com"));
    assert_eq!(c.detail.action.as_deref(), Some("off"));
    assert_eq!(c.detail.settings["pop"], "off");
    assert_eq!(c.detail.settings["owa"], "off");
    let c = one("Set-CASMailbox -Identity adam@contoso.com -ImapEnabled $true");
    assert_eq!(c.detail.action.as_deref(), Some("on"));
    assert_eq!(c.detail.settings["imap"], "on");
    // SMTP AUTH is switched on by clearing its "disabled" flag.
    let c =
        one("Set-CASMailbox -Identity adam@contoso.com -SmtpClientAuthenticationDisabled $false");
    assert_eq!(c.detail.settings["smtp_auth"], "on");
    // A debug setting is no access setting.
    assert!(of("Set-CASMailbox adam@contoso.com -ActiveSyncDebugLogging $true -ActiveSyncMailboxPolicy Management").is_empty());
}

#[test]
fn searches_holds_exports_and_purges() {
    let c = one(
        r#"New-ComplianceSearch -Name "Hold-Tailspin Toys" -ExchangeLocation "Research Department" -ContentMatchQuery "'Patent' AND 'Project Tailspin Toys'""#,
    );
    assert_eq!(
        (c.kind, c.detail.action.as_deref()),
        (Kind::MailboxSearch, Some("create"))
    );
    assert_eq!(c.detail.name.as_deref(), Some("Hold-Tailspin Toys"));
    assert_eq!(
        c.detail.search.as_deref(),
        Some("'Patent' AND 'Project Tailspin Toys'")
    );
    assert_eq!(c.detail.locations, ["Research Department"]);
    let c = one(r#"Start-ComplianceSearch -Identity "Case 1234""#);
    assert_eq!(
        (c.detail.action.as_deref(), c.detail.name.as_deref()),
        (Some("start"), Some("Case 1234"))
    );
    let c = one(
        r#"New-CaseHoldPolicy -Name "Regulation 123 Compliance" -Case "123 Compliance Case" -ExchangeLocation "Kitty Petersen", "Scott Nakamura" -SharePointLocation "https://contoso.sharepoint.com/sites/teams/finance""#,
    );
    assert_eq!(c.detail.action.as_deref(), Some("hold"));
    assert_eq!(c.detail.case.as_deref(), Some("123 Compliance Case"));
    assert_eq!(c.detail.locations, ["Kitty Petersen", "Scott Nakamura"]);
    let c = one(
        r#"New-MailboxSearch -Name "Hold-ProjectX" -SourceMailboxes DG-Finance -InPlaceHoldEnabled $true"#,
    );
    assert_eq!(c.detail.action.as_deref(), Some("hold"));
    let c = one(r#"New-ComplianceSearchAction -SearchName "Project X" -Export"#);
    assert_eq!(
        (c.kind, c.detail.name.as_deref()),
        (Kind::MailboxExport, Some("Project X"))
    );
    let c = one(
        r#"New-ComplianceSearchAction -SearchName "Remove Phishing Message" -Purge -PurgeType SoftDelete"#,
    );
    assert_eq!(
        (c.kind, c.detail.action.as_deref(), c.detail.note.as_deref()),
        (Kind::MailboxChange, Some("purge"), Some("SoftDelete"))
    );
    let c = one(r#"New-ComplianceSearchAction -SearchName "Project X" -Preview"#);
    assert_eq!(c.kind, Kind::MailboxSearch);
    let c = one(
        r#"New-MailboxExportRequest -Mailbox Tony -ContentFilter "(Body -like '*company*') -and (body -like '*profit*') -and (Received -lt '01/01/2018')" -FilePath "\\SERVER01\PSTFileShare\Tony_CompanyProfits.pst""#,
    );
    assert_eq!(
        (c.kind, c.mailbox.as_deref()),
        (Kind::MailboxExport, Some("Tony"))
    );
    assert_eq!(
        c.detail.path.as_deref(),
        Some(r"\\SERVER01\PSTFileShare\Tony_CompanyProfits.pst")
    );
    assert!(c.detail.search.as_deref().unwrap().contains("profit"));
    let c = one(
        r#"Search-Mailbox -Identity "April Stewart" -SearchQuery 'Subject:"Your bank statement"' -DeleteContent"#,
    );
    assert_eq!(
        (c.kind, c.detail.action.as_deref()),
        (Kind::MailboxChange, Some("purge"))
    );
    let c = one(
        r#"Search-Mailbox -Identity "Joe Healy" -SearchQuery "Subject:Project Hamilton" -TargetMailbox "DiscoveryMailbox" -TargetFolder "JoeHealy-ProjectHamilton" -LogLevel Full"#,
    );
    assert_eq!(
        (c.kind, c.detail.path.as_deref()),
        (
            Kind::MailboxExport,
            Some(r"DiscoveryMailbox\JoeHealy-ProjectHamilton")
        )
    );
}

#[test]
fn retype_keeps_the_readers_fields_and_a_failure() {
    let mut r = Rec::new(Kind::AdminCommand, 1, "exchange/management");
    r.actor = Some("CORP/admin".into());
    r.status = Some("failure".into());
    r.detail.op = Some("Add-MailboxPermission".into());
    r.detail.cmd =
        Some("Add-MailboxPermission -Identity ceo -User x -AccessRights FullAccess".into());
    r.detail.params = params("-Identity ceo -User x -AccessRights FullAccess");
    let v = retype(r.clone());
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].kind, Kind::PermissionGrant);
    assert_eq!(v[0].status.as_deref(), Some("failure"));
    assert_eq!(v[0].mailbox.as_deref(), Some("ceo"));
    assert_eq!(v[0].actor.as_deref(), Some("CORP/admin"));
    assert_eq!(v[0].detail.param("AccessRights"), Some("FullAccess"));
    r.status = Some("success".into());
    assert_eq!(retype(r.clone())[0].status.as_deref(), Some("created"));
    r.detail.op = Some("New-Mailbox".into());
    r.detail.params = params(r#"-Name "x" -UserPrincipalName x@corp.example"#);
    let v = retype(r);
    assert_eq!(v[0].kind, Kind::AdminCommand);
    assert_eq!(v[0].detail.created.as_deref(), Some("x@corp.example"));
}
