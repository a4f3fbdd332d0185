#!/usr/bin/python3
"""bench/pop3load.py -- the POP3 load client of make bench (W4).

usage: pop3load.py --port N --users FILE --parallel P --out FILE

FILE holds "address password" lines.  P worker processes share the users
out (user K goes to worker K mod P); for each user a worker logs in with
USER and PASS, sends LIST, then RETR and DELE for every message, and QUIT,
one command at a time.  OUT gets "start T", one line "user N BYTES" per
user (N messages fetched and deleted) and "end T" (CLOCK_MONOTONIC
seconds).  Exit 0 when every session ended with +OK to QUIT, else 1.
"""

import argparse
import multiprocessing
import socket
import sys
import time


class Session:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), 30)
        self.f = self.sock.makefile("rb", buffering=1 << 16)

    def cmd(self, line):
        if line is not None:
            self.sock.sendall(line.encode() + b"\r\n")
        r = self.f.readline()
        if not r.startswith(b"+OK"):
            raise EOFError("%r: %r" % (line, r))
        return r

    def multi(self):
        """The lines of a multi-line answer, up to the lone ".";
        the number of bytes read."""
        n = 0
        lines = []
        while True:
            r = self.f.readline()
            if not r:
                raise EOFError("end of file in a multi-line answer")
            if r == b".\r\n":
                return lines, n
            n += len(r)
            lines.append(r)


def one_user(port, user, password):
    s = Session(port)
    s.cmd(None)
    s.cmd("USER " + user)
    s.cmd("PASS " + password)
    s.cmd("LIST")
    listing, _ = s.multi()
    nums = [int(x.split()[0]) for x in listing]
    total = 0
    for k in nums:
        s.cmd("RETR %d" % k)
        _, n = s.multi()
        total += n
        s.cmd("DELE %d" % k)
    s.cmd("QUIT")
    s.sock.close()
    return len(nums), total


def worker(args):
    port, users = args
    out = []
    for user, password in users:
        try:
            n, b = one_user(port, user, password)
            out.append("user %s %d %d" % (user, n, b))
        except (OSError, EOFError) as e:
            out.append("fail %s %s" % (user, str(e).replace("\n", " ")))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--users", required=True)
    p.add_argument("--parallel", type=int, default=4)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    with open(args.users) as f:
        users = [tuple(x.split()[:2]) for x in f if x.strip()]
    shares = [(args.port, users[k::args.parallel])
              for k in range(args.parallel)]
    with multiprocessing.Pool(args.parallel) as pool:
        t0 = time.monotonic()
        results = pool.map(worker, shares)
        t1 = time.monotonic()
    lines = [x for r in results for x in r]
    with open(args.out, "w") as f:
        f.write("start %.6f\n" % t0)
        f.write("\n".join(lines))
        f.write("\nend %.6f\n" % t1)
    bad = [x for x in lines if x.startswith("fail")]
    for x in bad:
        sys.stderr.write("pop3load: %s\n" % x)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
