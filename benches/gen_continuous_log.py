#!/usr/bin/env python3
"""Writes a continuous mail log of at least SIZE_MB for benchmarks (not a test fixture).

    benches/gen_continuous_log.py SIZE_MB OUT

Takes the sample host's five generated days (samples/compromised-postfix: ordinary traffic,
the attack, Dovecot logins) and writes them again and again, each copy shifted five days
later, with rsyslog's RFC 3339 high-precision timestamps (Debian 12's default format) so the
log runs forward without a year wrapping: a multi-year log whose time never jumps back. The
real sample is read, never modified.
"""
import datetime
import gzip
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples", "compromised-postfix", "var", "log")
MONTHS = {m: i for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}


def seed():
    lines = []
    for name in ["mail.log.4.gz", "mail.log.3.gz", "mail.log.2.gz", "mail.log.1", "mail.log"]:
        p = os.path.join(ROOT, name)
        opener = gzip.open if name.endswith(".gz") else open
        with opener(p, "rt", encoding="utf-8", errors="replace") as f:
            for line in f:
                mon, day, clock = line[0:3], int(line[4:6]), line[7:15]
                h, m, s = map(int, clock.split(":"))
                t = datetime.datetime(2026, MONTHS[mon], day, h, m, s)
                lines.append((t, line[16:]))
    return lines


def main():
    size = int(sys.argv[1]) * 1024 * 1024
    out = sys.argv[2]
    base = seed()
    tz = datetime.timezone(datetime.timedelta(hours=8))
    written = 0
    copy = 0
    with open(out, "w", encoding="utf-8") as f:
        while written < size:
            shift = datetime.timedelta(days=5 * copy)
            chunk = []
            for i, (t, rest) in enumerate(base):
                stamp = (t + shift).replace(tzinfo=tz).isoformat(timespec="microseconds")
                # Microseconds from the line's index keep order inside one second.
                stamp = stamp[:20] + "%06d" % (i % 1000000) + stamp[26:]
                chunk.append(stamp + " " + rest)
            text = "".join(chunk)
            f.write(text)
            written += len(text.encode("utf-8"))
            copy += 1


if __name__ == "__main__":
    main()
