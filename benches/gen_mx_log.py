#!/usr/bin/env python3
"""Writes a synthetic mail log of an Internet-facing MX for benchmarks (not a test fixture).

    benches/gen_mx_log.py SIZE_MB OUT [--gzip] [--gzip-level N] [--seed N] [--truth FILE]

One Debian 12 host (`mx`): Postfix 3.7 (smtpd on 25, submission on 587, smtps on 465,
virtual mailboxes delivered over LMTP to Dovecot 2.3) and Dovecot IMAP/POP3, logged by
rsyslog with RFC 3339 high-precision stamps (`2026-03-02T10:00:01.123456+08:00 mx
postfix/smtpd[1234]: ...`). Time runs forward from 2026-03-02 00:00 +08:00, about 200 MB a
day (1 GB is about five days, 10 GB about seven weeks), sessions interleaved as a real
server logs them. What it holds:

- inbound mail from the whole Internet: almost every connection from an IPv4 address never
  seen before (some IPv6, some big-provider pools), delivered to ~3,000 mailboxes over LMTP
  (`postfix/lmtp` + `dovecot: lmtp(...)`), short hex queue ids (Debian's default,
  `--long-queue-ids` for the base-52 form);
- rejects (Spamhaus RBL, unknown users, relay denied, unknown sender domains, HELO and reverse
  DNS), scanners (lost connection after CONNECT/EHLO/STARTTLS, pipelining, non-SMTP commands,
  TLS failures), `anvil` statistics, the nightly cron mail to root;
- the users: IMAP/POP3 logins and logouts from each user's own one to three home networks,
  SASL-authenticated submission from the same networks, relayed by `postfix/smtp` (some
  deferred then sent, some bounced with a non-delivery notice back to the sender; the queue
  manager's `removed` once per message, after its last delivery, as Postfix writes it);
- about a third of the lines are scanners and password guessers: SMTP AUTH (`SASL LOGIN
  authentication failed`) and IMAP/POP3 (`auth failed, N attempts`) guesses from a botnet
  (mostly distinct addresses failing one to three times) and a few persistent addresses that
  fail thousands of times, with Dovecot's auth-worker lines (`auth_verbose = yes`);
- three incidents, placed by output position (ground truth with `--truth FILE`): at 45 % a
  brute force on one account that ends in a login and a burst of outbound spam from it; at
  70 % a password spray across hundreds of accounts from one /24 that ends in one IMAP login
  downloading a mailbox; at 60 % a stolen password used from a new network at night.

With `--open-relay FRACTION`, from that fraction of the output on the server relays for anyone:
a spam botnet of `--relay-bots` addresses (default 30,000) sends `--relay-per-day` messages a day
(default 120,000) through it to outside recipients, without logging in, mixed with the normal
traffic (`benches/relay_abuse.sh`).

Deterministic for a given `--seed`: `--gzip` writes the same lines, gzip-compressed (on a
second thread). A one-line summary goes to stderr. Standard library only.
"""
import argparse
import base64
import heapq
import json
import queue
import random
import sys
import threading
import time
import zlib

TZ_OFFSET = 8 * 3600
TZ_TEXT = "+08:00"
HOST = "mx"
START = 1772380800  # 2026-03-02T00:00:00+08:00 (a Monday)
LIP4 = "198.51.100.25"  # the server's own address (a documentation range: never a client)
MYHOST = "mx.example.com"
LOCAL_DOMAINS = [("example.com", 0.70), ("example.net", 0.20), ("example.org", 0.10)]
RING = 1 << 13  # seconds of future lines kept in the bucket ring (2 h 16 min)
MASK = RING - 1

FIRST = """james mary john patricia robert jennifer michael linda william elizabeth david barbara
richard susan joseph jessica thomas sarah charles karen christopher lisa daniel nancy matthew
betty anthony margaret mark sandra donald ashley steven kimberly paul emily andrew donna joshua
michelle kenneth carol kevin amanda brian dorothy george melissa timothy deborah ronald stephanie
edward rebecca jason sharon jeffrey laura ryan cynthia jacob kathleen gary amy nicholas angela
eric shirley jonathan anna stephen brenda larry pamela justin emma scott nicole brandon helen
benjamin samantha samuel katherine gregory christine alexander debra frank rachel patrick carolyn
raymond janet jack catherine dennis maria jerry heather tyler diane aaron ruth jose julie adam
olivia henry joyce nathan virginia douglas victoria zachary kelly peter lauren kyle christina
wei fang jing min lei yan jun hui li na xin yu hao chen""".split()
LAST = """smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez
gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white harris
sanchez clark ramirez lewis robinson walker young allen king wright scott torres nguyen hill
flores green adams nelson baker hall rivera campbell mitchell carter roberts gomez phillips evans
turner diaz parker cruz edwards collins reyes stewart morris morales murphy cook rogers gutierrez
ortiz morgan cooper peterson bailey reed kelly howard ramos kim cox ward richardson watson brooks
chavez wood james bennett gray mendoza ruiz hughes price alvarez castillo sanders patel myers
long ross foster jimenez wang zhang liu chen yang zhao huang zhou wu xu sun""".split()
SYL = """ka ri mo ta ne lo vi su pa de ron tec lux net sys gen bio med sol via tri max pro zen
cor dat ex in tel com lin mar ber gal fin tor ven ast nor sud cap nova star ware soft data
pixel cloud smart green blue red alpha beta omni terra aqua digi mega micro metro""".split()
TLDS = ["com"] * 10 + ["net"] * 3 + ["org"] * 2 + ["de", "fr", "co.uk", "it", "nl", "ru", "br",
        "cn", "jp", "com.au", "es", "pl", "in", "io", "info", "biz", "eu", "ca", "ch", "se"]
GUESS_WORDS = """admin info test support sales office contact webmaster postmaster user mail root
administrator hr marketing service billing accounts finance help noreply web guest demo backup
scanner printer reception manager it security abuse ftp www smtp news newsletter jobs careers
team hello orders shop store booking enquiries""".split()
TLS_IN = [
    "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
    "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
    "TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
    "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
    "TLSv1.2 with cipher ECDHE-RSA-AES128-GCM-SHA256 (128/128 bits)",
]
TLS_OUT = [
    "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature ECDSA (P-256) server-digest SHA256",
    "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
    "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
]
# Hour-of-day shapes (local time), mean 1.
BUSINESS = [0.35, 0.3, 0.28, 0.27, 0.3, 0.4, 0.6, 0.9, 1.3, 1.6, 1.7, 1.6,
            1.4, 1.5, 1.6, 1.6, 1.5, 1.3, 1.1, 0.9, 0.8, 0.7, 0.55, 0.45]
_m = sum(BUSINESS) / 24
BUSINESS = [b / _m for b in BUSINESS]
# Daily volumes at the reference rate (about 220 MB a day).
PER_DAY = {
    "in_mail": 42000,      # accepted inbound messages
    "in_reject": 62000,    # rejected inbound sessions (RBL, unknown user, relay, DNS)
    "scan": 36000,         # sessions dropped before MAIL/AUTH, TLS and protocol errors
    "smtp_guess": 46000,   # botnet SMTP AUTH sessions
    "imap_guess": 30000,   # botnet IMAP/POP3 failed logins
    "user_imap": 34000,    # user IMAP logins
    "user_pop": 2500,      # user POP3 logins
    "user_send": 9000,     # user submissions
}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("size_mb", type=int, help="stop after this many MiB of log text")
    ap.add_argument("out", help="output file")
    ap.add_argument("--gzip", action="store_true", help="write gzip instead of text")
    ap.add_argument("--gzip-level", type=int, default=6, help="gzip level (default 6, logrotate's)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--long-queue-ids", action="store_true",
                    help="enable_long_queue_ids=yes form (default: Debian's short hex ids)")
    ap.add_argument("--truth", metavar="FILE", help="write the incidents' ground truth (JSON)")
    ap.add_argument("--open-relay", metavar="FRACTION", type=float,
                    help="from this fraction of the output on, the server is an open relay abused by "
                         "a spam botnet (--relay-bots addresses, --relay-per-day messages a day)")
    ap.add_argument("--relay-bots", type=int, default=30000)
    ap.add_argument("--relay-per-day", type=int, default=120000)
    return ap.parse_args()


class Writer:
    """Writes byte chunks on a second thread (file writes and zlib release the GIL)."""

    def __init__(self, path, gz, level):
        self.f = open(path, "wb")
        self.z = zlib.compressobj(level, zlib.DEFLATED, 31) if gz else None
        self.q = queue.Queue(maxsize=8)
        self.err = None
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        try:
            while True:
                b = self.q.get()
                if b is None:
                    break
                self.f.write(self.z.compress(b) if self.z else b)
            if self.z:
                self.f.write(self.z.flush())
            self.f.close()
        except BaseException as e:  # reported by close()
            self.err = e

    def put(self, b):
        if self.err:
            raise self.err
        self.q.put(b)

    def close(self):
        self.q.put(None)
        self.t.join()
        if self.err:
            raise self.err


def main():
    a = parse_args()
    R = random.Random(a.seed)
    rnd = R.random
    rb = R.getrandbits
    t_begin = time.time()

    # ---------------------------------------------------------------- precomputed tables
    US = ["%06d" % i for i in range(1000000)]
    HMS = ["%02d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60) for s in range(86400)]
    HMS6 = [h.replace(":", "") for h in HMS]
    day_digits = [""]  # YYYYMMDD of the current local day
    LO16 = ["%d.%d" % (x >> 8, x & 255) for x in range(65536)]
    OCT = [str(i) for i in range(256)]

    def routable(hi, lo):
        if hi in (0, 10, 127) or hi >= 224:
            return False
        if hi == 100 and 64 <= lo < 128 or hi == 169 and lo == 254 or hi == 172 and 16 <= lo < 32:
            return False
        if (hi, lo) in ((192, 168), (192, 0), (198, 51), (198, 18), (198, 19), (203, 0)):
            return False
        return True

    P16INT = [p for p in range(65536) if routable(p >> 8, p & 255)]
    P16 = ["%d.%d." % (p >> 8, p & 255) for p in P16INT]
    NP16 = len(P16)
    seen4 = bytearray(1 << 29)  # one bit per IPv4 address
    seen6 = set()
    n4 = [0]  # distinct IPv4 clients

    def new_ip4():
        k = int(rnd() * NP16)
        lo = rb(16)
        i = (P16INT[k] << 16) | lo
        j = i >> 3
        v = seen4[j]
        b = 1 << (i & 7)
        if not v & b:
            seen4[j] = v | b
            n4[0] += 1
        return P16[k] + LO16[lo], i

    def mark4(i):
        j = i >> 3
        v = seen4[j]
        b = 1 << (i & 7)
        if not v & b:
            seen4[j] = v | b
            n4[0] += 1

    def ip4_of(i):
        return OCT[i >> 24] + "." + OCT[(i >> 16) & 255] + "." + OCT[(i >> 8) & 255] + "." + OCT[i & 255]

    def new_ip4_int():
        k = int(rnd() * NP16)
        return (P16INT[k] << 16) | rb(16)

    # Random text streams, sliced: hex for queue ids, base64 for session ids.
    HEX = R.randbytes(1 << 22).hex().upper()
    HEXLEN = len(HEX) - 64
    B64 = base64.b64encode(R.randbytes(3 << 21)).decode()
    B64LEN = len(B64) - 64
    pos = [0, 0]  # hex, b64

    def qid_short():
        # Postfix's short id: the microseconds (5 hex digits) and the queue file's inode
        # number (hex). All-letter ids (`EEFEFEEFFA`) happen, about 1 in 80,000 here.
        return "%05X%X" % (rb(20) % 1000000, 0x10000 + rb(22) % 0x3F0000)

    A52 = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
    A51 = A52[:-1]

    def qid_long():
        # seconds (6 base-52 digits), microseconds (4), 'z', inode number (base 51)
        s = t_now[0]
        sec = ""
        for _ in range(6):
            sec = A52[s % 52] + sec
            s //= 52
        u = rb(20) % 1000000
        usec = ""
        for _ in range(4):
            usec = A52[u % 52] + usec
            u //= 52
        ino = rb(20) | (1 << 19)
        inos = ""
        while ino:
            inos = A51[ino % 51] + inos
            ino //= 51
        return sec + usec + "z" + inos

    qid = qid_long if a.long_queue_ids else qid_short

    def sid16():
        p = pos[1]
        pos[1] = p + 16 if p + 16 < B64LEN else (p % 13) + 1
        return B64[p:p + 16]

    def sid22():
        p = pos[1]
        pos[1] = p + 22 if p + 22 < B64LEN else (p % 13) + 1
        return B64[p:p + 13] + "AAAg+zDdQ"[: 22 - 13]

    def b64s(n):
        p = pos[1]
        pos[1] = p + n if p + n < B64LEN else (p % 13) + 1
        return B64[p:p + n]

    def hexs(n):
        p = pos[0]
        pos[0] = p + n if p + n < HEXLEN else (p % 7) + 1
        return HEX[p:p + n]

    def pool(fn, n=4096):
        return [fn() for _ in range(n)]

    def lognorm_int(mu, sigma, lo, hi):
        return max(lo, min(hi, int(R.lognormvariate(mu, sigma))))

    SIZES = pool(lambda: lognorm_int(9.6, 1.2, 900, 24000000))
    SIZES_OUT = pool(lambda: lognorm_int(9.3, 1.4, 700, 20000000))

    def delays_str():
        a1, a2, a3, a4 = rnd() * 0.4, rnd() * 0.05, rnd() * 0.3, rnd() * 0.9
        tot = a1 + a2 + a3 + a4
        f = lambda v: ("%.2g" % v) if v >= 0.001 else ("%.0e" % v if v > 0 else "0")
        return "delay=%s, delays=%s/%s/%s/%s" % (("%.2g" % tot) if tot < 10 else "%d" % tot, f(a1), f(a2), f(a3), f(a4))

    DELAYS = pool(delays_str)
    DELAYS_LMTP = pool(lambda: "delay=%.2g, delays=%.2g/%s/%s/%.2g" % (
        0.2 + rnd(), 0.2 + rnd() * 0.7, "0.01", "0", rnd() * 0.08))
    IMAP_OUT = pool(lambda: "in=%d out=%d deleted=%d expunged=%d trashed=%d hdr_count=%d hdr_bytes=%d body_count=%d body_bytes=%d" % (
        lognorm_int(6.5, 1.0, 30, 900000), lognorm_int(9.5, 2.0, 300, 400000000), int(rnd() * 3) // 2, int(rnd() * 3) // 2,
        int(rnd() * 4) // 3, int(rnd() * 40), int(rnd() * 60000), int(rnd() * 15), int(rnd() * 900000)))
    IDLE_OUT = pool(lambda: "Disconnected: Connection closed (IDLE running for %.3f + waiting input for %.3f secs, %d B in + %d B out, state=wait-input) " % (
        rnd() * 2, 60 + rnd() * 1740, 10 + int(rnd() * 40), 20 + int(rnd() * 900)))
    POP_OUT = pool(lambda: (lambda n, s: "Disconnected: Logged out top=0/0, retr=%d/%d, del=%d/%d, size=%d" % (
        n, s, n, n + int(rnd() * 40), s))(int(rnd() * 6), lognorm_int(10, 1.3, 0, 90000000)))

    def pids(n, lo=1000, hi=4194304):
        return [lo + int(rnd() * (hi - lo)) for _ in range(n)]

    def tags(name, n):
        return ["%s[%d]: " % (name, p) for p in pids(n)]

    T_SMTPD = tags("postfix/smtpd", 97)
    T_SUB = tags("postfix/submission/smtpd", 31)
    T_SMTPS = tags("postfix/smtps/smtpd", 29)
    T_CLEANUP = tags("postfix/cleanup", 7)
    T_QMGR = "postfix/qmgr[%d]: " % pids(1)[0]
    T_LMTP = tags("postfix/lmtp", 11)
    T_SMTP = tags("postfix/smtp", 23)
    T_BOUNCE = tags("postfix/bounce", 3)
    T_LOCAL = tags("postfix/local", 3)
    T_PICKUP = "postfix/pickup[%d]: " % pids(1)[0]
    T_ANVIL = "postfix/anvil[%d]: " % pids(1)[0]
    AUTHW = ["dovecot: auth-worker(%d): conn unix:auth-worker (pid=%d,uid=111): auth-worker<%d>: " % (p, p - 13, 1 + i)
             for i, p in enumerate(pids(6))]
    LMTP_PIDS = [str(p) for p in pids(64)]
    MPIDS = [str(p) for p in pids(4096)]

    # ---------------------------------------------------------------- names and places
    def word():
        return "".join(R.choice(SYL) for _ in range(2 + (rnd() < 0.3)))

    def domain():
        return word() + "." + R.choice(TLDS)

    SENDER_DOMAINS = list(dict.fromkeys(domain() for _ in range(30000)))
    BIG = [("gmail.com", 0.30), ("outlook.com", 0.08), ("hotmail.com", 0.07), ("yahoo.com", 0.05),
           ("qq.com", 0.04), ("163.com", 0.03), ("icloud.com", 0.03), ("gmx.de", 0.02)]
    LOCALPARTS = [f + "." + l for f in FIRST[:60] for l in LAST[:40]] + GUESS_WORDS + [
        "newsletter", "noreply", "no-reply", "bounce", "notifications", "billing", "team", "hello"]

    # users
    users, seen_names = [], set()
    doms = [d for d, _ in LOCAL_DOMAINS]
    dweights = [w for _, w in LOCAL_DOMAINS]
    while len(users) < 3000:
        f, l = R.choice(FIRST), R.choice(LAST)
        lp = R.choice([f + "." + l, f[0] + l, f + l[0], f + "." + l, f + "_" + l])
        addr = lp + "@" + R.choices(doms, dweights)[0]
        if addr not in seen_names:
            seen_names.add(addr)
            users.append(addr)
    NU = len(users)
    activity = [R.lognormvariate(0, 0.9) for _ in range(NU)]
    always = [rnd() < 0.45 for _ in range(NU)]  # a phone or desktop client polling all day
    pop_user = [rnd() < 0.06 for _ in range(NU)]
    ISPS = ["dyn.telecom-" + w + ".net" for w in ("north", "south", "east", "west", "metro", "city")] + [
        "static.fiber" + w + ".com" for w in ("one", "net", "link", "home")] + ["pool.broadband.example.net"]
    nets = []  # per user: list of (ip ints, ptr template or None, weight)
    for u in range(NU):
        k = R.choices([1, 2, 3], [0.5, 0.35, 0.15])[0]
        lst = []
        for j in range(k):
            base = new_ip4_int() & ~0xFF
            hosts = [base | (2 + int(rnd() * 250)) for _ in range(1 + int(rnd() * 3))]
            ptr = R.choice(ISPS) if rnd() < 0.6 else None
            lst.append((hosts, ptr, [0.75, 0.2, 0.05][j] if k > 1 else 1.0))
        nets.append(lst)
    logins_done = [0] * NU
    # weighted user draws, one table for the day (everyone), one for the night (always-on)
    day_tab = R.choices(range(NU), activity, k=1 << 16)
    night_tab = R.choices([u for u in range(NU) if always[u]], [activity[u] for u in range(NU) if always[u]], k=1 << 16)
    pop_tab = [u for u in range(NU) if pop_user[u]] or [0]

    def user_ip(u):
        """An address of one of the user's networks (all networks in turn at first)."""
        lst = nets[u]
        n = logins_done[u]
        logins_done[u] = n + 1
        if n < 2 * len(lst):
            hosts, ptr, _ = lst[n % len(lst)]
        else:
            r = rnd()
            for hosts, ptr, w in lst:
                r -= w
                if r <= 0:
                    break
        i = hosts[int(rnd() * len(hosts))]
        mark4(i)
        ip = ip4_of(i)
        host = (ip.replace(".", "-") + "." + ptr) if ptr else "unknown"
        return ip, host

    # remote destinations for outbound mail: (domain, mx host, ip string)
    REMOTE = []
    for d, w in BIG:
        for _ in range(int(w * 1000)):
            REMOTE.append(d)
    REMOTE += R.sample(SENDER_DOMAINS, 1500) * 1
    MX = {}

    def mx_of(d):
        m = MX.get(d)
        if m is None:
            if d == "gmail.com":
                m = ("gmail-smtp-in.l.google.com", "142.250.%d.%d" % (int(rnd() * 256), 26 + int(rnd() * 2)))
            elif d in ("outlook.com", "hotmail.com"):
                m = (d.replace(".", "-") + ".olc.protection.outlook.com", "52.101.%d.%d" % (int(rnd() * 256), int(rnd() * 256)))
            elif d == "yahoo.com":
                m = ("mta5.am0.yahoodns.net", "67.195.204.%d" % (70 + int(rnd() * 10)))
            else:
                m = ("mx%d.%s" % (1 + int(rnd() * 2), d), ip4_of(new_ip4_int()))
            MX[d] = m
        return m

    # inbound provider pools: (ptr prefix, /16 or /19 base string, helo)
    PROVIDERS = [
        ("mail-%s-f%d.google.com", (209, 85), "gmail.com"),
        ("mail-%s-f%d.google.com", (74, 125), "gmail.com"),
        ("mail-%s.outbound.protection.outlook.com", (40, 107), "outlook.com"),
        ("mail-%s.outbound.protection.outlook.com", (52, 100), "hotmail.com"),
        ("sonic%s-%d.consmr.mail.ne1.yahoo.com", (66, 163), "yahoo.com"),
        ("out%s-%d.mail.qq.com", (43, 163), "qq.com"),
        ("mo4-p%s-ob.smtp.rzone.de", (81, 169), "gmx.de"),
        ("a%s-%d.smtp-out.amazonses.com", (54, 240), "amazonses.com"),
        ("mail%s-%d.sendgrid.net", (149, 72), "sendgrid.net"),
        ("mail%s-%d.mcsv.net", (198, 2), "mcsv.net"),
    ]
    PROV_W = [0.30, 0.12, 0.12, 0.08, 0.06, 0.06, 0.04, 0.10, 0.07, 0.05]
    prov_tab = R.choices(range(len(PROVIDERS)), PROV_W, k=4096)
    sender_tab = R.choices(LOCALPARTS, k=8192)

    # ---------------------------------------------------------------- output state
    ring = [[] for _ in range(RING)]
    t_now = [START]
    out = []
    written = [0, 0]  # bytes, lines
    target = a.size_mb * 1024 * 1024
    writer = Writer(a.out, a.gzip, a.gzip_level)
    truth = []

    def at(d):
        """The bucket of the second d seconds from now."""
        return ring[(t_now[0] + d) & MASK]

    def nowbucket():
        return ring[t_now[0] & MASK]

    def stamp(t):
        lt = t + TZ_OFFSET
        return time.strftime("%Y-%m-%dT", time.gmtime(lt)) + HMS[lt % 86400] + "."

    def syslog_date(t):  # `Mar  5 10:01:02` as anvil writes it
        return time.strftime("%b %e %H:%M:%S", time.gmtime(t + TZ_OFFSET))

    # ---------------------------------------------------------------- building blocks
    def rcpt_user():
        return users[day_tab[rb(16)]]

    def remote_rcpt():
        d = REMOTE[int(rnd() * len(REMOTE))]
        return sender_tab[rb(13)] + str(int(rnd() * 100)) * (rnd() < 0.2) + "@" + d, d

    def msgid_in(d, q):
        r = rb(2)
        if r == 0:
            return "<CA%s@mail.gmail.com>" % b64s(44).replace("/", "_").replace("+", "-")
        if r == 1:
            return "<%s-%s-%s@%s>" % (hexs(8).lower(), hexs(4).lower(), hexs(12).lower(), d)
        return "<%s%s.%s@%s>" % (day_digits[0], HMS6[(t_now[0] + TZ_OFFSET) % 86400 - int(rnd() * 3)], q, d)

    def lmtp_deliver(d, q, mid, rcpts):
        """LMTP delivery of queue id q to local mailboxes, d seconds from now."""
        b = at(d)
        lp = LMTP_PIDS[rb(6)]
        tl = T_LMTP[int(rnd() * 11)]
        b.append("dovecot: lmtp(%s): Connect from local" % lp)
        for r in rcpts:
            s = sid22()
            b.append("dovecot: lmtp(%s)<%s><%s>: msgid=%s: saved mail to INBOX" % (r, lp, s, mid))
            b.append("%s%s: to=<%s>, relay=%s[private/dovecot-lmtp], %s, dsn=2.0.0, status=sent (250 2.0.0 <%s> %s Saved)" % (
                tl, q, r, MYHOST, DELAYS_LMTP[rb(12)], r, s))
        b.append("dovecot: lmtp(%s): Disconnect from local: Logged out (state=READY)" % lp)
        b.append(T_QMGR + q + ": removed")

    def inbound_source():
        r = rnd()
        if r < 0.33:  # a big provider's pool
            name, (x, y), dom = PROVIDERS[prov_tab[rb(12)]]
            lo = rb(16)
            i = (x << 24) | (y << 16) | lo
            mark4(i)
            ip = "%d.%d." % (x, y) + LO16[lo]
            host = name % (hexs(3).lower(), lo & 255) if name.count("%") == 2 else name % hexs(6).lower()
            return ip, host, host, dom
        if r < 0.40:  # IPv6
            if rnd() < 0.6:
                ip = "2a00:1450:%x:%x::%x" % (0x4800 + rb(8), rb(8), rb(12))
                host = "mail-%s.google.com" % hexs(6).lower()
                dom = "gmail.com"
            else:
                ip = "2a%02x:%x:%x:%x::%x" % (rb(5), rb(16), rb(16), rb(16), 1 + rb(8))
                dom = SENDER_DOMAINS[int(rnd() * len(SENDER_DOMAINS))]
                host = "mail." + dom if rnd() < 0.7 else "unknown"
            seen6.add(ip)
            return ip, host, host if host != "unknown" else "mail." + dom, dom
        ip, i = new_ip4()
        dom = SENDER_DOMAINS[int(rnd() * len(SENDER_DOMAINS))]
        rr = rnd()
        if rr < 0.55:
            host = R.choice(("mail.", "mx.", "smtp.", "mta1.", "out.")) + dom
            helo = host
        elif rr < 0.8:
            host = ip.replace(".", "-") + ".static." + SENDER_DOMAINS[i % len(SENDER_DOMAINS)]
            helo = host
        else:
            host = "unknown"
            helo = "mail." + dom
        return ip, host, helo, dom

    # ---------------------------------------------------------------- session kinds
    def s_in_mail():
        ip, host, helo, dom = inbound_source()
        cl = "%s[%s]" % (host, ip)
        tg = T_SMTPD[int(rnd() * 97)]
        b0 = nowbucket()
        b0.append(tg + "connect from " + cl)
        tls = rnd() < 0.88
        if tls:
            b0.append("%sAnonymous TLS connection established from %s: %s" % (tg, cl, TLS_IN[rb(2) + (rb(1) if rb(3) == 0 else 0)]))
        r = rnd()
        n = 1 if r < 0.8 else (2 + int(rnd() * 4) if r < 0.985 else 8 + int(rnd() * 30))
        rcpts = [rcpt_user() for _ in range(n)]
        sender = sender_tab[rb(13)] + "@" + dom
        q = qid()
        d = 1 + int(rnd() * 2)
        b = at(d)
        bad = 0
        if n > 1 and rnd() < 0.15:  # a stale address among the recipients
            bad = 1
            who = LOCALPARTS[int(rnd() * len(LOCALPARTS))] + "@" + users[rb(11)].split("@")[1]
            b.append("%sNOQUEUE: reject: RCPT from %s: 550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table; from=<%s> to=<%s> proto=ESMTP helo=<%s>" % (
                tg, cl, who, sender, who, helo))
        b.append("%s%s: client=%s" % (tg, q, cl))
        mid = msgid_in(dom, q)
        b.append("%s%s: message-id=%s" % (T_CLEANUP[rb(2)], q, mid))
        ehlo = "ehlo=2 starttls=1" if tls else "ehlo=1"
        if rnd() < 0.015:  # the content filter (milter) refuses it
            b.append("%s%s: milter-reject: END-OF-MESSAGE from %s: 5.7.1 Spam message rejected; from=<%s> to=<%s> proto=ESMTP helo=<%s>" % (
                T_CLEANUP[rb(2)], q, cl, sender, rcpts[0], helo))
            b.append("%sdisconnect from %s %s mail=1 rcpt=%d data=0/1 quit=1 commands=%d/%d" % (
                tg, cl, ehlo, n, 3 + n + tls * 2, 4 + n + tls * 2))
            return
        b.append("%s%s: from=<%s>, size=%d, nrcpt=%d (queue active)" % (T_QMGR, q, sender, SIZES[rb(12)], n))
        rc = "rcpt=%d/%d" % (n, n + 1) if bad else "rcpt=%d" % n
        cmds = 4 + n + tls * 2
        b.append("%sdisconnect from %s %s mail=1 %s data=1 quit=1 commands=%s" % (
            tg, cl, ehlo, rc, ("%d/%d" % (cmds, cmds + 1)) if bad else cmds))
        lmtp_deliver(d + (rnd() < 0.3), q, mid, rcpts)

    def s_in_reject():
        r = rnd()
        if r < 0.05:
            ip, host, helo, dom = inbound_source()
        else:
            ip, _ = new_ip4()
            host = "unknown" if rnd() < 0.7 else ip.replace(".", "-") + ".dyn." + SENDER_DOMAINS[rb(14) % len(SENDER_DOMAINS)]
            dom = SENDER_DOMAINS[int(rnd() * len(SENDER_DOMAINS))]
            helo = R.choice((ip, "[" + ip + "]", "User", "localhost", "mail." + dom, host if host != "unknown" else dom))
        cl = "%s[%s]" % (host, ip)
        tg = T_SMTPD[int(rnd() * 97)]
        b0 = nowbucket()
        b0.append(tg + "connect from " + cl)
        if host == "unknown" and rnd() < 0.1:
            fake = ip.replace(".", "-") + ".host." + dom
            b0.append("%swarning: hostname %s does not resolve to address %s: Name or service not known" % (tg, fake, ip))
        b = at(1 + int(rnd() * 3))
        sender = sender_tab[rb(13)] + "@" + dom
        rc = rcpt_user()
        proto = "ESMTP" if rnd() < 0.85 else "SMTP"
        e = "ehlo=1" if proto == "ESMTP" else "helo=1"
        if r < 0.55:
            b.append("%sNOQUEUE: reject: RCPT from %s: 554 5.7.1 Service unavailable; Client host [%s] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/%s; from=<%s> to=<%s> proto=%s helo=<%s>" % (
                tg, cl, ip, ip, sender, rc, proto, helo))
            tail = "%s mail=1 rcpt=0/1 quit=1 commands=3/4" % e
        elif r < 0.74:
            k = 1 if rnd() < 0.7 else 2 + int(rnd() * 6)
            for _ in range(k):
                who = LOCALPARTS[int(rnd() * len(LOCALPARTS))] + "@" + rc.split("@")[1]
                b.append("%sNOQUEUE: reject: RCPT from %s: 550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table; from=<%s> to=<%s> proto=%s helo=<%s>" % (
                    tg, cl, who, sender, who, proto, helo))
            tail = "%s mail=1 rcpt=0/%d rset=1 quit=1 commands=3/%d" % (e, k, 3 + k)
        elif r < 0.82:
            k = 1 + (rnd() < 0.3)
            for _ in range(k):
                ext, _d = remote_rcpt()
                b.append("%sNOQUEUE: reject: RCPT from %s: 554 5.7.1 <%s>: Relay access denied; from=<%s> to=<%s> proto=%s helo=<%s>" % (
                    tg, cl, ext, sender, ext, proto, helo))
            tail = "%s mail=1 rcpt=0/%d quit=1 commands=3/%d" % (e, k, 3 + k)
        elif r < 0.91:
            bad = word() + "." + R.choice(("top", "xyz", "icu", "buzz", "cn", "ru"))
            sender = sender_tab[rb(13)] + "@" + bad
            b.append("%sNOQUEUE: reject: RCPT from %s: 450 4.1.8 <%s>: Sender address rejected: Domain not found; from=<%s> to=<%s> proto=%s helo=<%s>" % (
                tg, cl, sender, sender, rc, proto, helo))
            tail = "%s mail=1 rcpt=0/1 quit=1 commands=3/4" % e
        elif r < 0.96:
            b.append("%sNOQUEUE: reject: RCPT from %s: 450 4.7.25 Client host rejected: cannot find your hostname, [%s]; from=<%s> to=<%s> proto=%s helo=<%s>" % (
                tg, cl, ip, sender, rc, proto, helo))
            tail = "%s mail=1 rcpt=0/1 quit=1 commands=3/4" % e
        else:
            helo = R.choice(("localhost", "User", "ylmf-pc", "WIN-" + hexs(11)))
            b.append("%sNOQUEUE: reject: RCPT from %s: 504 5.5.2 <%s>: Helo command rejected: need fully-qualified hostname; from=<%s> to=<%s> proto=%s helo=<%s>" % (
                tg, cl, helo, sender, rc, proto, helo))
            tail = "%s mail=1 rcpt=0/1 quit=1 commands=3/4" % e
        if rnd() < 0.2:
            b.append("%slost connection after RCPT from %s" % (tg, cl))
            tail = tail.replace(" quit=1", "").replace("commands=3/", "commands=2/")
        b.append("%sdisconnect from %s %s" % (tg, cl, tail))

    def scan_session(ip, tg, kind):
        cl = "unknown[%s]" % ip
        b0 = nowbucket()
        b0.append(tg + "connect from " + cl)
        b = at(int(rnd() * 3))
        if kind < 0.30:
            b.append("%slost connection after CONNECT from %s" % (tg, cl))
            b.append("%sdisconnect from %s commands=0/0" % (tg, cl))
        elif kind < 0.50:
            b.append("%slost connection after EHLO from %s" % (tg, cl))
            b.append("%sdisconnect from %s ehlo=1 commands=1" % (tg, cl))
        elif kind < 0.65:
            b.append("%sSSL_accept error from %s: lost connection" % (tg, cl))
            b.append("%slost connection after STARTTLS from %s" % (tg, cl))
            b.append("%sdisconnect from %s ehlo=1 starttls=0/1 commands=1/2" % (tg, cl))
        elif kind < 0.75:
            b.append("%simproper command pipelining after CONNECT from %s: EHLO %s\\r\\nMAIL FROM:<>\\r\\n" % (tg, cl, R.choice(("User", "localhost", ip))))
            b.append("%sdisconnect from %s ehlo=1 quit=1 commands=2" % (tg, cl))
        elif kind < 0.83:
            b.append("%swarning: non-SMTP command from %s: %s" % (tg, cl, R.choice(("GET / HTTP/1.1", "GET /favicon.ico HTTP/1.1", "\\026\\003\\001", "OPTIONS / HTTP/1.0"))))
            b.append("%sdisconnect from %s unknown=0/1 commands=0/1" % (tg, cl))
        elif kind < 0.90:
            b = at(300)
            b.append("%stimeout after CONNECT from %s" % (tg, cl))
            b.append("%sdisconnect from %s commands=0/0" % (tg, cl))
        elif kind < 0.95:
            b.append("%swarning: TLS library problem: error:0A00010B:SSL routines::wrong version number:../ssl/record/ssl3_record.c:354:" % tg)
            b.append("%slost connection after STARTTLS from %s" % (tg, cl))
            b.append("%sdisconnect from %s ehlo=1 starttls=0/1 commands=1/2" % (tg, cl))
        else:
            b.append("%stoo many errors after RCPT from %s" % (tg, cl))
            b.append("%sdisconnect from %s ehlo=1 mail=1 rcpt=0/5 commands=2/7" % (tg, cl))

    SCANNER_INTS = [new_ip4_int() for _ in range(120)]  # persistent survey hosts
    SCANNERS = [ip4_of(i) for i in SCANNER_INTS]

    def s_scan():
        r = rnd()
        if r < 0.12:  # the 993/995 side: TLS handshakes that never authenticate
            ip, _ = new_ip4()
            nowbucket().append("dovecot: %s-login: Disconnected: Connection closed (no auth attempts in %d secs): user=<>, rip=%s, lip=%s, TLS handshaking: SSL_accept() failed: error:0A00006C:SSL routines::bad key share, session=<%s>" % (
                "imap" if rb(2) else "pop3", int(rnd() * 3), ip, LIP4, sid16()))
            return
        if r < 0.18:  # a survey host of the pool (a few sessions a day each)
            k = int(rnd() * 120)
            ip = SCANNERS[k]
            mark4(SCANNER_INTS[k])
        else:
            ip, _ = new_ip4()
        p = rnd()
        tg = T_SMTPD[int(rnd() * 97)] if p < 0.7 else (T_SUB[int(rnd() * 31)] if p < 0.85 else T_SMTPS[int(rnd() * 29)])
        scan_session(ip, tg, rnd())

    # botnet: a ring of recently used bot addresses, each with a budget of attempts (1-3 for
    # almost all, a few up to a dozen), spent over one to three sessions
    bots = [None] * 4096
    budget = [0] * 4096

    def bot_ip(k_want):
        """A bot address and how many attempts it makes in this session."""
        k = rb(12)
        if budget[k] > 0 and rnd() < 0.5:
            n = min(k_want, budget[k])
            budget[k] -= n
            return bots[k], n
        ip, _ = new_ip4()
        r = rnd()
        total = 1 if r < 0.55 else 2 if r < 0.80 else 3 if r < 0.98 else 4 + int(rnd() * 9)
        n = min(k_want, total)
        bots[k] = ip
        budget[k] = total - n
        return ip, n

    def guess_name():
        r = rnd()
        if r < 0.40:
            return users[int(rnd() * NU)]
        if r < 0.55:
            return users[int(rnd() * NU)].split("@")[0]
        w = GUESS_WORDS[int(rnd() * len(GUESS_WORDS))]
        return w + "@" + doms[rb(1)] if rnd() < 0.5 else w

    def backend(b, name, ip):
        msg = "Password mismatch" if "@" in name and name in seen_names else "unknown user"
        b.append("%ssql(%s,%s,<%s>): %s" % (AUTHW[rb(2) + rb(1)], name, ip, sid16(), msg))

    def smtp_auth_fail(ip, names, tg=None):
        """One SMTP AUTH session failing once per name in `names`."""
        if tg is None:
            p = rnd()
            tg = T_SUB[int(rnd() * 31)] if p < 0.5 else (T_SMTPS[int(rnd() * 29)] if p < 0.8 else T_SMTPD[int(rnd() * 97)])
        cl = "unknown[%s]" % ip
        b0 = nowbucket()
        b0.append(tg + "connect from " + cl)
        if not tg.startswith("postfix/smtpd"):
            b0.append("%sAnonymous TLS connection established from %s: %s" % (tg, cl, TLS_IN[rb(2)]))
        d = 1 + int(rnd() * 3)
        for nm in names:
            b = at(d)
            backend(b, nm, ip)
            r = rb(3)
            if r < 6:
                b.append("%swarning: %s: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=%s" % (tg, cl, nm))
            elif r == 6:
                b.append("%swarning: %s: SASL LOGIN authentication failed: (reason unavailable), sasl_username=%s" % (tg, cl, nm))
            else:
                b.append("%swarning: %s: SASL PLAIN authentication failed: (reason unavailable), sasl_username=%s" % (tg, cl, nm))
            d += 2 + int(rnd() * 2)
        b = at(d)
        k = len(names)
        if rnd() < 0.8:
            b.append("%slost connection after AUTH from %s" % (tg, cl))
            b.append("%sdisconnect from %s ehlo=1 auth=0/%d commands=1/%d" % (tg, cl, k, 1 + k))
        else:
            b.append("%sdisconnect from %s ehlo=1 auth=0/%d quit=1 commands=2/%d" % (tg, cl, k, 2 + k))

    def imap_auth_fail(ip, names, proto=None, secs=None):
        """One IMAP/POP3 connection failing once per name (the login process logs one line)."""
        if proto is None:
            proto = "imap" if rnd() < 0.75 else "pop3"
        b = at(len(names) * 2)
        for nm in names:
            backend(b, nm, ip)
        k = len(names)
        s = secs if secs is not None else 2 * k + int(rnd() * 3 * k)
        head = "Disconnected: Connection closed" if proto == "imap" else "Aborted login"
        b.append("dovecot: %s-login: %s (auth failed, %d attempts in %d secs): user=<%s>, method=PLAIN, rip=%s, lip=%s, TLS, session=<%s>" % (
            proto, head, k, s, names[-1], ip, LIP4, sid16()))

    def s_smtp_guess():
        ip, k = bot_ip(1 if rnd() < 0.7 else 2 + (rnd() < 0.3))
        nm = guess_name()
        smtp_auth_fail(ip, [nm] * k if rnd() < 0.5 else [nm] + [guess_name() for _ in range(k - 1)])

    def s_imap_guess():
        ip, k = bot_ip(1 if rnd() < 0.7 else 2 + (rnd() < 0.4))
        imap_auth_fail(ip, [guess_name()] * k)

    def s_user_imap(night):
        u = (night_tab if night else day_tab)[rb(16)]
        name = users[u]
        ip, _host = user_ip(u)
        if rnd() < 0.006:  # a typo first
            imap_auth_fail(ip, [name], "imap")
        mp = MPIDS[rb(12)]
        s = sid16()
        nowbucket().append("dovecot: imap-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=%s, mpid=%s, TLS, session=<%s>" % (
            name, ip, LIP4, mp, s))
        d = int(R.expovariate(1 / 600.0)) + 1
        if d > RING - 200:
            d = RING - 200
        at(d).append("dovecot: imap(%s)<%s><%s>: %s%s" % (
            name, mp, s, IDLE_OUT[rb(12)] if d > 1700 and rb(1) else "Disconnected: Logged out ", IMAP_OUT[rb(12)]))

    def s_user_pop():
        u = pop_tab[int(rnd() * len(pop_tab))]
        name = users[u]
        ip, _host = user_ip(u)
        mp = MPIDS[rb(12)]
        s = sid16()
        nowbucket().append("dovecot: pop3-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=%s, mpid=%s, TLS, session=<%s>" % (
            name, ip, LIP4, mp, s))
        at(1 + int(rnd() * 8)).append("dovecot: pop3(%s)<%s><%s>: %s" % (name, mp, s, POP_OUT[rb(12)]))

    def remote_delivery(d, q, sender, rcpt, dom, size, spam=False):
        """postfix/smtp delivery of one recipient d seconds from now: True (sent), False
        (bounced), or ("retried", t) when deferred and delivered on a retry t seconds from now
        (the caller logs the message's `removed` after its last recipient, as Postfix does)."""
        host, mip = mx_of(dom)
        tg = T_SMTP[int(rnd() * 23)]
        b = at(d)
        r = rnd()
        if spam:
            r = 0.9 + 0.1 * r if rnd() < 0.3 else 0.5 * r
        if rnd() < 0.7:
            b.append("%sTrusted TLS connection established to %s[%s]:25: %s" % (tg, host, mip, TLS_OUT[rb(1) + rb(1)]))
        if r < 0.955:
            resp = ("250 2.0.0 OK  %d %s - gsmtp" % (1772380800 + rb(24), b64s(20).replace("/", "a").replace("+", "b"))
                    if dom == "gmail.com" else "250 2.0.0 Ok: queued as %s" % hexs(10))
            b.append("%s%s: to=<%s>, relay=%s[%s]:25, %s, dsn=2.0.0, status=sent (%s)" % (tg, q, rcpt, host, mip, DELAYS[rb(12)], resp))
            return True
        if r < 0.98:
            if rnd() < 0.5:
                b.append("%s%s: to=<%s>, relay=%s[%s]:25, %s, dsn=4.7.1, status=deferred (host %s[%s] said: 450 4.7.1 <%s>: Recipient address rejected: Greylisted, see https://postgrey.schweikert.ch/help/%s.html (in reply to RCPT TO command))" % (
                    tg, q, rcpt, host, mip, DELAYS[rb(12)], host, mip, rcpt, dom))
            else:
                b.append("%s%s: to=<%s>, relay=none, %s, dsn=4.4.1, status=deferred (connect to %s[%s]:25: Connection timed out)" % (
                    tg, q, rcpt, DELAYS[rb(12)].replace("delay=", "delay=3", 1), host, mip))
            d2 = d + 300 + int(rnd() * 3000)
            at(d2).append("%s%s: from=<%s>, size=%d, nrcpt=1 (queue active)" % (T_QMGR, q, sender, size))
            b2 = at(d2 + 1)
            b2.append("%s%s: to=<%s>, relay=%s[%s]:25, delay=%d, delays=%d/0.01/0.3/0.4, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as %s)" % (
                T_SMTP[int(rnd() * 23)], q, rcpt, host, mip, d2 - d + 1, d2 - d, hexs(10)))
            # Delivered on the retry; the message is removed once, after its last recipient.
            return ("retried", d2 + 1)
        b.append("%s%s: to=<%s>, relay=%s[%s]:25, %s, dsn=5.1.1, status=bounced (host %s[%s] said: 550 5.1.1 <%s>: Recipient address rejected: User unknown (in reply to RCPT TO command))" % (
            tg, q, rcpt, host, mip, DELAYS[rb(12)], host, mip, rcpt))
        return False

    def nondelivery(d, q, sender):
        """The bounce daemon's notice for message q, delivered back to its local sender."""
        q2 = qid()
        b = at(d)
        mid = "<%s%s.%s@%s>" % (day_digits[0], HMS6[(t_now[0] + TZ_OFFSET) % 86400], q2, MYHOST)
        b.append("%s%s: sender non-delivery notification: %s" % (T_BOUNCE[rb(1)], q, q2))
        b.append("%s%s: message-id=%s" % (T_CLEANUP[rb(2)], q2, mid))
        b.append("%s%s: from=<>, size=%d, nrcpt=1 (queue active)" % (T_QMGR, q2, 3000 + rb(12)))
        lmtp_deliver(d, q2, mid, [sender])

    MYDOMS_SET = {d: d for d in doms}

    def submission(u, ip, host, rcpts, spam=False):
        """A user's (or a thief's) authenticated submission from ip."""
        name = users[u] if isinstance(u, int) else u
        cl = "%s[%s]" % (host, ip)
        tg = T_SUB[int(rnd() * 31)] if rnd() < 0.85 else T_SMTPS[int(rnd() * 29)]
        b0 = nowbucket()
        b0.append(tg + "connect from " + cl)
        b0.append("%sAnonymous TLS connection established from %s: %s" % (tg, cl, TLS_IN[rb(2)]))
        b = at(1)
        q = qid()
        typo = not spam and rnd() < 0.01
        if typo:
            bad = rcpts[0].split("@")[0] + "@" + R.choice(("gmial.com", "outlok.com", "yaho.com", "gmail.co"))
            b.append("%sNOQUEUE: reject: RCPT from %s: 450 4.1.2 <%s>: Recipient address rejected: Domain not found; from=<%s> to=<%s> proto=ESMTP helo=<%s>" % (
                tg, cl, bad, name, bad, "[192.168.1.%d]" % (2 + rb(7))))
        b.append("%s%s: client=%s, sasl_method=%s, sasl_username=%s" % (tg, q, cl, "PLAIN" if rb(2) else "LOGIN", name))
        dom = name.split("@")[1]
        mid = "<%s.%s@%s>" % (hexs(8).lower(), hexs(6).lower(), dom) if rb(1) else "<%s%s.%s@%s>" % (
            day_digits[0], HMS6[(t_now[0] + TZ_OFFSET) % 86400], q, dom)
        b.append("%s%s: message-id=%s" % (T_CLEANUP[rb(2)], q, mid))
        size = SIZES_OUT[rb(12)]
        n = len(rcpts)
        b.append("%s%s: from=<%s>, size=%d, nrcpt=%d (queue active)" % (T_QMGR, q, name, size, n))
        b.append("%sdisconnect from %s ehlo=2 starttls=1 auth=1 mail=1 rcpt=%s data=1 quit=1 commands=%s" % (
            tg, cl, ("%d/%d" % (n, n + 1)) if typo else n, ("%d/%d" % (7 + n, 8 + n)) if typo else 7 + n))
        local = [r for r in rcpts if r.split("@")[1] in MYDOMS_SET]
        d = 1 + int(rnd() * 2)
        if local:
            b2 = at(d)
            lp = LMTP_PIDS[rb(6)]
            tl = T_LMTP[int(rnd() * 11)]
            b2.append("dovecot: lmtp(%s): Connect from local" % lp)
            for r in local:
                s = sid22()
                b2.append("dovecot: lmtp(%s)<%s><%s>: msgid=%s: saved mail to INBOX" % (r, lp, s, mid))
                b2.append("%s%s: to=<%s>, relay=%s[private/dovecot-lmtp], %s, dsn=2.0.0, status=sent (250 2.0.0 <%s> %s Saved)" % (
                    tl, q, r, MYHOST, DELAYS_LMTP[rb(12)], r, s))
            b2.append("dovecot: lmtp(%s): Disconnect from local: Logged out (state=READY)" % lp)
        last = d + 2
        bounced = False
        for r in rcpts:
            if r.split("@")[1] in MYDOMS_SET:
                continue
            ok = remote_delivery(d + int(rnd() * 2), q, name, r, r.split("@")[1], size, spam)
            if isinstance(ok, tuple):
                last = max(last, ok[1])
            elif ok is False:
                bounced = True
        if bounced:
            nondelivery(d + 2, q, name)
        at(last).append(T_QMGR + q + ": removed")

    def s_user_send(night):
        u = (night_tab if night else day_tab)[rb(16)]
        ip, host = user_ip(u)
        k = 1 if rnd() < 0.75 else 2 + int(rnd() * 4)
        rcpts = []
        for _ in range(k):
            if rnd() < 0.2:
                rcpts.append(rcpt_user())
            else:
                rcpts.append(remote_rcpt()[0])
        submission(u, ip, host, rcpts)

    def cron_mail():
        q = qid()
        b = nowbucket()
        b.append("%s%s: uid=0 from=<root>" % (T_PICKUP, q))
        mid = "<%s%s.%s@%s>" % (day_digits[0], HMS6[(t_now[0] + TZ_OFFSET) % 86400], q, MYHOST)
        b.append("%s%s: message-id=%s" % (T_CLEANUP[rb(2)], q, mid))
        b.append("%s%s: from=<root@%s>, size=%d, nrcpt=1 (queue active)" % (T_QMGR, q, MYHOST, 2000 + rb(14)))
        q2 = qid()
        b1 = at(1)
        b1.append("%s%s: message-id=%s" % (T_CLEANUP[rb(2)], q2, mid))
        b1.append("%s%s: from=<root@%s>, size=%d, nrcpt=1 (queue active)" % (T_QMGR, q2, MYHOST, 2300 + rb(14)))
        b1.append("%s%s: to=<root@%s>, orig_to=<root>, relay=local, %s, dsn=2.0.0, status=sent (forwarded as %s)" % (
            T_LOCAL[rb(1)], q, MYHOST, DELAYS[rb(12)], q2))
        b1.append(T_QMGR + q + ": removed")
        lmtp_deliver(2, q2, mid, [users[0]])

    anvil_hi = [None]

    def anvil(t):
        when = syslog_date(t)
        ip = anvil_hi[0] or SCANNERS[0]
        b = nowbucket()
        b.append("%sstatistics: max connection rate %d/60s for (smtp:%s) at %s" % (T_ANVIL, 2 + rb(4), ip, when))
        b.append("%sstatistics: max connection count %d for (smtp:%s) at %s" % (T_ANVIL, 1 + rb(2), ip, when))
        b.append("%sstatistics: max cache size %d at %s" % (T_ANVIL, 20 + rb(7), when))

    # ---------------------------------------------------------------- long-running actors
    procs = []  # heap of (next second, seq, generator)
    seq = [0]

    def spawn(gen, t):
        seq[0] += 1
        heapq.heappush(procs, (t, seq[0], gen))

    def persistent_guesser():
        """One address guessing for days: thousands of failures, a steady rhythm."""
        ip, _ = new_ip4()
        anvil_hi[0] = ip
        total = int(R.lognormvariate(7.6, 0.8)) + 500
        names = [guess_name() for _ in range(1 + int(rnd() * 4))]
        imap = rnd() < 0.35
        gap = 8 + rnd() * 50
        tg = T_SUB[int(rnd() * 31)] if rnd() < 0.6 else T_SMTPD[int(rnd() * 97)]
        for i in range(total):
            nm = names[int(rnd() * len(names))] if rnd() < 0.7 else guess_name()
            if imap:
                imap_auth_fail(ip, [nm], "imap")
            else:
                smtp_auth_fail(ip, [nm], tg)
            yield int(R.expovariate(1 / gap)) + 1
        spawn(persistent_guesser(), t_now[0] + int(rnd() * 7200))

    def persistent_scanner():
        """A survey host connecting every few minutes (port checks)."""
        k = int(rnd() * 120)
        ip = SCANNERS[k]
        mark4(SCANNER_INTS[k])
        for _ in range(200 + int(rnd() * 2000)):
            scan_session(ip, T_SMTPD[int(rnd() * 97)], rnd() * 0.5)
            yield 60 + int(rnd() * 600)
        spawn(persistent_scanner(), t_now[0] + int(rnd() * 3600))

    def iso(t):
        return stamp(t)[:-1] + TZ_TEXT

    def incident_bruteforce():
        """Brute force on one account, success, then bulk spam from it."""
        victim_u = day_tab[rb(16)]
        victim = users[victim_u]
        ip, i = new_ip4()
        host = "unknown"
        others = [guess_name() for _ in range(3)]
        t0 = t_now[0]
        fails = 0
        rec = {"incident": "brute_force_then_spam", "account": victim, "attacker_ip": ip, "first_failure": iso(t0)}
        truth.append(rec)
        for _ in range(700):
            nm = victim if rnd() < 0.85 else others[rb(1)]
            if rnd() < 0.7:
                smtp_auth_fail(ip, [nm], T_SUB[3])
            else:
                imap_auth_fail(ip, [nm], "imap")
            fails += 1
            rec["failures"] = fails
            yield 20 + int(rnd() * 25)
        t_login = t_now[0]
        rec["login"] = iso(t_login)
        mp, s = MPIDS[rb(12)], sid16()
        nowbucket().append("dovecot: imap-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=%s, mpid=%s, TLS, session=<%s>" % (
            victim, ip, LIP4, mp, s))
        at(40).append("dovecot: imap(%s)<%s><%s>: Disconnected: Logged out in=412 out=8823 deleted=0 expunged=0 trashed=0 hdr_count=31 hdr_bytes=9821 body_count=0 body_bytes=0" % (victim, mp, s))
        yield 600 + int(rnd() * 600)
        senders = [ip] + [new_ip4()[0] for _ in range(3)]
        rec.update(spam_ips=senders, spam_start=iso(t_now[0]))
        msgs = rcpt_total = 0
        for _ in range(1500):
            k = 10 + int(rnd() * 30)
            rcpts = [remote_rcpt()[0] for _ in range(k)]
            submission(victim, senders[int(rnd() * len(senders))], "unknown", rcpts, spam=True)
            msgs += 1
            rcpt_total += k
            rec.update(spam_end=iso(t_now[0]), spam_messages=msgs, spam_recipients=rcpt_total)
            yield int(R.expovariate(1 / 3.5))

    def incident_spray():
        """A password spray from one /24 across many real accounts, one success at the end."""
        base = new_ip4_int() & ~0xFF
        addrs = [ip4_of(base | (10 + int(rnd() * 200))) for _ in range(30)]
        for ad in addrs:
            mark4(int.from_bytes(bytes(map(int, ad.split("."))), "big"))
        targets = R.sample(range(NU), 600)
        rec = {"incident": "password_spray", "network": ip4_of(base) + "/24", "addresses": len(addrs),
               "start": iso(t_now[0])}
        truth.append(rec)
        n = 0
        for j, u in enumerate(targets):
            ip = addrs[j % 30]
            if rnd() < 0.5:
                imap_auth_fail(ip, [users[u]], "imap", 2)
            else:
                smtp_auth_fail(ip, [users[u]], T_SMTPS[5])
            n += 1
            rec.update(accounts_tried=n, end=iso(t_now[0]))
            yield int(rnd() * 12)
        u = targets[int(rnd() * len(targets))]
        ip = addrs[7]
        mp, s = MPIDS[rb(12)], sid16()
        nowbucket().append("dovecot: imap-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=%s, mpid=%s, TLS, session=<%s>" % (
            users[u], ip, LIP4, mp, s))
        at(2400).append("dovecot: imap(%s)<%s><%s>: Disconnected: Logged out in=90211 out=1893327781 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=14822 body_bytes=1881023344" % (users[u], mp, s))
        rec.update(compromised_account=users[u], login_ip=ip, login=iso(t_now[0]))

    def incident_stolen():
        """A stolen password: a day worker's account logs in from a new network at night."""
        cands = [u for u in range(NU) if not always[u] and logins_done[u] >= 30]
        u = max(cands, key=lambda x: logins_done[x]) if cands else day_tab[rb(16)]
        # wait for 02:00-04:00 local
        while (t_now[0] + TZ_OFFSET) % 86400 // 3600 not in (2, 3):
            yield 600
        ip, _ = new_ip4()
        truth.append({"incident": "stolen_password_night_login", "account": users[u], "ip": ip,
                      "logins_before": logins_done[u], "login": iso(t_now[0])})
        for _ in range(3):
            mp, s = MPIDS[rb(12)], sid16()
            nowbucket().append("dovecot: imap-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=%s, mpid=%s, TLS, session=<%s>" % (
                users[u], ip, LIP4, mp, s))
            at(900).append("dovecot: imap(%s)<%s><%s>: Disconnected: Logged out in=5321 out=402993112 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=3977 body_bytes=401877340" % (users[u], mp, s))
            yield 1200

    pending_incidents = [(0.45, incident_bruteforce), (0.60, incident_stolen), (0.70, incident_spray)]

    # The open-relay abuse (--open-relay): a botnet's addresses, each relaying spam through the
    # server to outside recipients, without logging in.
    relay_on = [False]
    relay_bots = []
    relay_count = [0]

    def s_relay_spam():
        if not relay_bots:
            relay_bots.extend(new_ip4()[0] for _ in range(a.relay_bots))
        ip = relay_bots[int(rnd() * len(relay_bots))]
        cl = "unknown[%s]" % ip
        tg = T_SMTPD[int(rnd() * 97)]
        b0 = nowbucket()
        b0.append(tg + "connect from " + cl)
        n = 1 + int(rnd() * 3)
        q = qid()
        d = 1 + int(rnd() * 2)
        b = at(d)
        dom = REMOTE[int(rnd() * len(REMOTE))]
        sender = sender_tab[rb(13)] + "@" + dom
        b.append("%s%s: client=%s" % (tg, q, cl))
        b.append("%s%s: message-id=%s" % (T_CLEANUP[rb(2)], q, msgid_in(dom, q)))
        size = SIZES[rb(12)]
        b.append("%s%s: from=<%s>, size=%d, nrcpt=%d (queue active)" % (T_QMGR, q, sender, size, n))
        b.append("%sdisconnect from %s ehlo=1 mail=1 rcpt=%d data=1 quit=1 commands=%d" % (tg, cl, n, 4 + n))
        last = d + 2
        for _ in range(n):
            rcpt, rdom = remote_rcpt()
            ok = remote_delivery(d + 1, q, sender, rcpt, rdom, size, spam=True)
            if isinstance(ok, tuple):
                last = max(last, ok[1])
        at(last).append(T_QMGR + q + ": removed")
        relay_count[0] += 1

    # ---------------------------------------------------------------- main loop
    rate = {k: v / 86400.0 for k, v in PER_DAY.items()}
    t = START
    for _ in range(5):
        spawn(persistent_guesser(), t + int(rnd() * 3600))
    for _ in range(6):
        spawn(persistent_scanner(), t + int(rnd() * 3600))
    SUF = TZ_TEXT + " " + HOST + " "
    imap_day = lambda: s_user_imap(False)
    imap_night = lambda: s_user_imap(True)
    send_day = lambda: s_user_send(False)
    send_night = lambda: s_user_send(True)
    anvil_now = lambda: anvil(t_now[0])
    bot_wave = 1.0
    gauss = R.gauss
    while True:
        # one hour: how many sessions of each kind, and at which second each starts
        lt = t + TZ_OFFSET
        hour = lt % 86400 // 3600
        weekday = (lt // 86400 + 3) % 7  # 0 = Monday
        biz = BUSINESS[hour] * (0.45 if weekday >= 5 else 1.0)
        bot_wave = max(0.3, min(2.5, bot_wave * R.lognormvariate(0, 0.25)))
        day_users = 7 <= hour < 21
        plan = [
            (s_in_mail, rate["in_mail"] * biz),
            (s_in_reject, rate["in_reject"] * (0.7 + 0.3 * biz)),
            (s_scan, rate["scan"] * (0.8 + 0.4 * rnd())),
            (s_smtp_guess, rate["smtp_guess"] * bot_wave),
            (s_imap_guess, rate["imap_guess"] * bot_wave),
            (imap_day if day_users else imap_night, rate["user_imap"] * (biz if day_users else 0.25 * biz)),
            (s_user_pop, rate["user_pop"] * biz * day_users),
            (send_day if day_users else send_night, rate["user_send"] * biz * (1.0 if day_users else 0.2)),
            (s_relay_spam, a.relay_per_day / 86400.0 * relay_on[0] * (0.5 + rnd())),
        ]
        sched = [[] for _ in range(3600)]
        for f, lam in plan:
            mean = lam * 3600
            n = max(0, int(gauss(mean, mean ** 0.5) + 0.5)) if mean > 0 else 0
            for _ in range(n):
                sched[int(rnd() * 3600)].append(f)
        for s0 in range(0, 3600, 600):
            sched[s0].append(anvil_now)
        if hour == 6:
            sched[25 * 60].append(cron_mail)
        day_pre = time.strftime("%Y-%m-%dT", time.gmtime(lt))
        day_digits[0] = day_pre[:10].replace("-", "")
        sec0 = lt % 86400
        for s_ in range(3600):
            t_now[0] = t
            cur = ring[t & MASK]
            for f in sched[s_]:
                f()
            while procs and procs[0][0] <= t:
                _, _, g = heapq.heappop(procs)
                try:
                    dt = next(g)
                    spawn(g, t + max(0, dt))
                except StopIteration:
                    pass
            if cur:
                pre = day_pre + HMS[sec0 + s_] + "."
                step = 1000000.0 / len(cur)
                out.extend(["%s%s%s%s\n" % (pre, US[int((i + rnd()) * step)], SUF, m) for i, m in enumerate(cur)])
                ring[t & MASK] = []
            t += 1
        # flush once an hour (a few MB)
        data = "".join(out).encode()
        written[0] += len(data)
        written[1] += len(out)
        out.clear()
        writer.put(data)
        if a.open_relay is not None and not relay_on[0] and written[0] >= a.open_relay * target:
            relay_on[0] = True
            truth.append({"incident": "open_relay", "start": iso(t), "botnet_addresses": a.relay_bots})
        while pending_incidents and written[0] >= pending_incidents[0][0] * target:
            spawn(pending_incidents.pop(0)[1](), t + int(rnd() * 3000))
        if written[0] >= target:
            break
    writer.close()
    elapsed = time.time() - t_begin
    distinct4 = n4[0]
    if a.truth:
        with open(a.truth, "w") as f:
            json.dump({"start": iso(START), "end": iso(t), "lines": written[1], "bytes": written[0],
                       "distinct_client_addresses": distinct4 + len(seen6), "incidents": truth,
                       "relayed_messages": relay_count[0]}, f, indent=1)
    print("gen_mx_log: %d lines, %d bytes, %.1f days (%s .. %s), %d distinct client addresses (%d IPv4, %d IPv6), %d incidents, %.1f s, %.1f MB/s" % (
        written[1], written[0], (t - START) / 86400, iso(START), iso(t), distinct4 + len(seen6), distinct4, len(seen6),
        len(truth), elapsed, written[0] / 1e6 / elapsed), file=sys.stderr)


if __name__ == "__main__":
    main()
