#!/usr/bin/env python3
"""The rest of the world for the chroot labs: an SMTP server that accepts every message and
keeps none (tests/live/exim/inside.sh starts it on 127.0.99.1:25 inside the lab's network
namespace, and Exim's lab_internet router hands it every outside domain;
tests/live/sendmail/inside.sh starts one on the smart host's 127.0.99.1 and on the outside
hosts the intruder's smart host and mailertable route name).

    sink.py ADDRESS PORT
"""

import socketserver
import sys


class Session(socketserver.StreamRequestHandler):
    timeout = 120

    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 sink.example ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb in (b"EHLO", b"HELO"):
                self.reply("250 sink.example")
            elif verb == b"DATA":
                self.reply("354 go on")
                while True:
                    body = self.rfile.readline()
                    if not body or body in (b".\r\n", b".\n"):
                        break
                if not body:
                    return
                self.reply("250 accepted and dropped")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    Server((sys.argv[1], int(sys.argv[2])), Session).serve_forever()


if __name__ == "__main__":
    main()
