#!/usr/bin/env python3
# t/helpers/smtpd.py -- a small scriptable SMTP server for the tests of
# smtp-send and of remote delivery (t/smtp-send.bats, t/e2e-remote.bats).
#
#   smtpd.py --dir DIR --port PORT [--addr ADDR] [OPTION...]
#
# It listens on ADDR:PORT (127.0.0.1 by default; PORT 0 picks a free one),
# one thread per connection, and records what it sees under DIR:
#
#   DIR/ready        written once it listens (holds the port): wait for
#                    this file rather than probing the port, which would
#                    count as a connection
#   DIR/connections  how many connections it has accepted so far
#   DIR/log          one line per command, "CONN<TAB>AHEAD<TAB>COMMAND":
#                    CONN the connection's number (1, 2, ...), AHEAD
#                    "ahead" when more of the client's input was already
#                    there before the reply to the command was sent (the
#                    client pipelines), "-" otherwise
#   DIR/msg.N/       each transaction that got its 2xx after the final dot
#                    (N = 1, 2, ...), made whole under another name and
#                    then renamed: files conn (the connection's number),
#                    peer (the client's address), helo (the EHLO or HELO
#                    line), mail (the whole MAIL line), from (its address),
#                    rcpt (the accepted recipients, one a line) and data
#                    (the message as it came, dot-stuffing undone, the
#                    CRLF line ends kept)
#
# Behaviour:
#   --greet-as NAME     the name in the greeting and the EHLO/HELO reply
#                       (default smtpd.test)
#   --greet CODE        the greeting's code (default 220); a server that
#                       greets otherwise answers 503 to all but QUIT
#   --no-ehlo           EHLO gets 500: the client must fall back to HELO
#   --no-pipelining     EHLO does not offer PIPELINING
#   --no-size           EHLO does not offer SIZE
#   --mail REPLY        the reply to MAIL (default 250 2.1.0 ok)
#   --rcpt ADDR=REPLY   the reply to RCPT TO:<ADDR> (repeatable; ADDR is
#                       compared without regard to case); others get
#                       250 2.1.5 ok
#   --rcpt-file FILE    more ADDR=REPLY lines, read again at every RCPT
#                       (a test changes the replies while the server runs;
#                       a missing file adds nothing); they beat --rcpt
#   --data REPLY        the reply to DATA (default 354 go ahead)
#   --dot REPLY         the reply after the final dot (default
#                       250 2.0.0 ok N, N the transaction's number)
#   --hang              accept connections and never answer
#   --hang-at STAGE     answer until STAGE, then go silent: greeting (as
#                       --hang), ehlo, mail, rcpt, data or dot
#   --babble HOW        greet with a reply that never ends: "flood", "220 "
#                       then bytes without end and no LF; "trickle", "220 "
#                       then one byte every 0.3 s, never a LF
#   --lag SECONDS       wait this long before the reply to MAIL, so that a
#                       pipelining client's RCPT and DATA are surely there
#                       (AHEAD in DIR/log); default 0.3
#
# A REPLY is "CODE text"; a multi-line reply separates its lines with
# "\n" (a backslash and an n).  The server stops on SIGTERM or SIGINT.

import argparse
import os
import select
import signal
import socket
import socketserver
import sys
import threading
import time

LINE_MAX = 65536

opts = None
lock = threading.Lock()
counters = {"conn": 0, "msg": 0}


def write_file(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def log(conn, ahead, line):
    text = line.decode("latin-1").rstrip("\r\n")
    with lock:
        with open(os.path.join(opts.dir, "log"), "a") as f:
            f.write("%d\t%s\t%s\n" % (conn, "ahead" if ahead else "-", text))


def rcpt_reply(addr):
    table = {}
    for item in opts.rcpt:
        k, _, v = item.partition("=")
        table[k.lower()] = v
    if opts.rcpt_file and os.path.exists(opts.rcpt_file):
        with open(opts.rcpt_file) as f:
            for item in f.read().splitlines():
                if "=" in item:
                    k, _, v = item.partition("=")
                    table[k.strip().lower()] = v.strip()
    return table.get(addr.lower(), "250 2.1.5 ok")


def angle(arg):
    """The address between < and > in a MAIL or RCPT argument."""
    lt, gt = arg.find("<"), arg.find(">")
    if lt < 0 or gt < lt:
        return None
    return arg[lt + 1:gt]


class Hang(Exception):
    pass


class Session(socketserver.BaseRequestHandler):
    def setup(self):
        self.buf = b""
        with lock:
            counters["conn"] += 1
            self.conn = counters["conn"]
            write_file(os.path.join(opts.dir, "connections"),
                       b"%d\n" % self.conn)

    # --- input ---

    def fill(self):
        data = self.request.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def readline(self):
        while b"\n" not in self.buf:
            if len(self.buf) > LINE_MAX:
                raise EOFError
            self.fill()
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def ahead(self):
        """More of the client's input is there already."""
        if self.buf:
            return True
        r, _, _ = select.select([self.request], [], [], 0)
        return bool(r)

    # --- output ---

    def reply(self, text):
        lines = text.split("\\n")
        out = b""
        for i, l in enumerate(lines):
            code, rest = l[:3], l[4:]
            sep = " " if i == len(lines) - 1 else "-"
            out += ("%s%s%s\r\n" % (code, sep, rest)).encode("latin-1")
        self.request.sendall(out)

    def silence(self):
        """Say nothing more; read until the client goes away."""
        try:
            while True:
                self.buf = b""
                self.fill()
        except (EOFError, OSError):
            pass
        raise Hang

    def hang_at(self, stage):
        if opts.hang_at == stage:
            self.silence()

    # --- the session ---

    def handle(self):
        try:
            self.session()
        except (Hang, EOFError, ConnectionError):
            pass

    def babble(self):
        """A greeting that never ends, fast or slow, until the client goes."""
        try:
            self.request.sendall(b"220 ")
            while True:
                if opts.babble == "flood":
                    self.request.sendall(b"A" * 65536)
                else:
                    self.request.sendall(b"A")
                    time.sleep(0.3)
        except OSError:
            pass
        raise Hang

    def session(self):
        name = opts.greet_as
        if opts.babble:
            self.babble()
        self.hang_at("greeting")
        greeted = opts.greet // 100 == 2
        self.reply("%03d %s ESMTP smtpd.py" % (opts.greet, name))
        helo = None
        mail = None
        rcpts = []
        while True:
            line = self.readline()
            cmd = line.decode("latin-1").rstrip("\r\n")
            verb = cmd[:4].upper()
            arg = cmd[5:] if len(cmd) > 4 else ""
            if verb == "MAIL" and greeted and helo is not None:
                time.sleep(opts.lag)
            log(self.conn, self.ahead(), line)
            if verb == "QUIT":
                self.reply("221 2.0.0 %s bye" % name)
                return
            if not greeted:
                self.reply("503 5.5.1 go away")
                continue
            if verb == "EHLO":
                self.hang_at("ehlo")
                if opts.no_ehlo:
                    self.reply("500 5.5.1 EHLO? Never heard of it")
                    continue
                helo, mail, rcpts = cmd, None, []
                lines = ["250 %s hello %s" % (name, arg)]
                if not opts.no_pipelining:
                    lines.append("250 PIPELINING")
                if not opts.no_size:
                    lines.append("250 SIZE 10485760")
                lines.append("250 8BITMIME")
                self.reply("\\n".join(lines))
            elif verb == "HELO":
                self.hang_at("ehlo")
                helo, mail, rcpts = cmd, None, []
                self.reply("250 %s hello %s" % (name, arg))
            elif verb == "RSET":
                mail, rcpts = None, []
                self.reply("250 2.0.0 reset")
            elif verb == "NOOP":
                self.reply("250 2.0.0 ok")
            elif verb == "MAIL":
                self.hang_at("mail")
                if helo is None:
                    self.reply("503 5.5.1 EHLO or HELO first")
                elif mail is not None:
                    self.reply("503 5.5.1 nested MAIL")
                elif not cmd.upper().startswith("MAIL FROM:") or \
                        angle(arg) is None:
                    self.reply("501 5.5.4 syntax: MAIL FROM:<address>")
                else:
                    r = opts.mail
                    if r[0] == "2":
                        mail, rcpts = cmd, []
                    self.reply(r)
            elif verb == "RCPT":
                self.hang_at("rcpt")
                addr = angle(arg)
                if mail is None:
                    self.reply("503 5.5.1 MAIL first")
                elif not cmd.upper().startswith("RCPT TO:") or addr is None:
                    self.reply("501 5.5.4 syntax: RCPT TO:<address>")
                else:
                    r = rcpt_reply(addr)
                    if r[0] == "2":
                        rcpts.append(addr)
                    self.reply(r)
            elif verb == "DATA":
                self.hang_at("data")
                if mail is None or not rcpts:
                    self.reply("554 5.5.1 no valid recipients")
                    continue
                self.reply(opts.data)
                if not opts.data.startswith("354"):
                    continue
                data = self.read_data()
                self.hang_at("dot")
                with lock:
                    counters["msg"] += 1
                    n = counters["msg"]
                r = opts.dot if opts.dot else "250 2.0.0 ok %d" % n
                if r[0] == "2":
                    self.record(n, helo, mail, rcpts, data)
                self.reply(r)
                mail, rcpts = None, []
            else:
                self.reply("500 5.5.1 unknown command")

    def read_data(self):
        data = []
        while True:
            line = self.readline()
            if line == b".\r\n":
                return b"".join(data)
            if line.startswith(b"."):
                line = line[1:]
            data.append(line)

    def record(self, n, helo, mail, rcpts, data):
        final = os.path.join(opts.dir, "msg.%d" % n)
        tmp = os.path.join(opts.dir, ".msg.%d" % n)
        os.mkdir(tmp)
        files = {
            "conn": b"%d\n" % self.conn,
            "peer": (self.client_address[0] + "\n").encode(),
            "helo": (helo + "\n").encode("latin-1"),
            "mail": (mail + "\n").encode("latin-1"),
            "from": (angle(mail[5:]) + "\n").encode("latin-1"),
            "rcpt": "".join(r + "\n" for r in rcpts).encode("latin-1"),
            "data": data,
        }
        for k, v in files.items():
            with open(os.path.join(tmp, k), "wb") as f:
                f.write(v)
        os.rename(tmp, final)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    global opts
    p = argparse.ArgumentParser(description="a scriptable SMTP server")
    p.add_argument("--dir", required=True)
    p.add_argument("--addr", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--greet-as", default="smtpd.test")
    p.add_argument("--greet", type=int, default=220)
    p.add_argument("--no-ehlo", action="store_true")
    p.add_argument("--no-pipelining", action="store_true")
    p.add_argument("--no-size", action="store_true")
    p.add_argument("--mail", default="250 2.1.0 ok")
    p.add_argument("--rcpt", action="append", default=[])
    p.add_argument("--rcpt-file")
    p.add_argument("--data", default="354 go ahead")
    p.add_argument("--dot")
    p.add_argument("--hang", action="store_const", const="greeting",
                   dest="hang_at")
    p.add_argument("--hang-at", choices=["greeting", "ehlo", "mail", "rcpt",
                                         "data", "dot"])
    p.add_argument("--lag", type=float, default=0.3)
    p.add_argument("--babble", choices=["flood", "trickle"])
    opts = p.parse_args()
    os.makedirs(opts.dir, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    server = Server((opts.addr, opts.port), Session)
    write_file(os.path.join(opts.dir, "connections"), b"0\n")
    write_file(os.path.join(opts.dir, "ready"),
               b"%d\n" % server.server_address[1])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
