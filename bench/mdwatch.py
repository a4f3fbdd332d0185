#!/usr/bin/python3
"""bench/mdwatch.py -- note when each message appears in a Maildir's new/.

usage: mdwatch.py --dirs FILE --expect N --out FILE [--timeout S] [--idle S]

Watches every directory listed in FILE (the new/ directories of the
Maildirs, one a line) with inotify (IN_CREATE for link(2), IN_MOVED_TO for
rename(2)), prints "ready" once the watches are set, and notes the
CLOCK_MONOTONIC time at which each file came.  It stops when N files have
come, when nothing came for S seconds of --idle (default 120), after
--timeout seconds in all, or on SIGTERM.  Then it reads the X-Bench-Id
header of each file and writes to OUT one line per file:
    ID T PATH
(ID "-" when the file has none).  An inotify queue overflow makes it
look through every directory, so no file is missed; those files get the
time of that look.
"""

import argparse
import ctypes
import os
import re
import select
import signal
import struct
import sys
import time

IN_CREATE = 0x100
IN_MOVED_TO = 0x80
IN_Q_OVERFLOW = 0x4000
IN_CLOEXEC = 0o2000000
ID_RE = re.compile(rb"^X-Bench-Id: (\S+)", re.M | re.I)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dirs", required=True)
    p.add_argument("--expect", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("--idle", type=float, default=120)
    args = p.parse_args()

    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(IN_CLOEXEC)
    if fd < 0:
        sys.stderr.write("mdwatch: fatal: inotify_init1 failed\n")
        return 111
    with open(args.dirs) as f:
        dirs = [d.strip() for d in f if d.strip()]
    by_wd = {}
    for d in dirs:
        wd = libc.inotify_add_watch(fd, d.encode(), IN_CREATE | IN_MOVED_TO)
        if wd < 0:
            sys.stderr.write("mdwatch: fatal: watch %s: %s\n"
                             % (d, os.strerror(ctypes.get_errno())))
            return 111
        by_wd[wd] = d
    seen = {}
    # Whatever is there already is not ours to time.
    old = set()
    for d in dirs:
        for n in os.listdir(d):
            old.add(os.path.join(d, n))

    stop = [False]
    signal.signal(signal.SIGTERM, lambda s, f: stop.__setitem__(0, True))
    sys.stdout.write("ready\n")
    sys.stdout.flush()

    t_begin = t_last = time.monotonic()
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    hdr = struct.Struct("iIII")
    while not stop[0] and len(seen) < args.expect:
        now = time.monotonic()
        if now - t_begin > args.timeout or now - t_last > args.idle:
            break
        try:
            ready = poller.poll(500)
        except InterruptedError:
            continue
        if not ready:
            continue
        buf = os.read(fd, 1 << 20)
        t = time.monotonic()
        t_last = t
        off = 0
        overflow = False
        while off + hdr.size <= len(buf):
            wd, mask, _cookie, ln = hdr.unpack_from(buf, off)
            name = buf[off + hdr.size:off + hdr.size + ln].rstrip(b"\0")
            off += hdr.size + ln
            if mask & IN_Q_OVERFLOW:
                overflow = True
                continue
            if wd not in by_wd or not name or name.startswith(b"."):
                continue
            path = os.path.join(by_wd[wd], name.decode())
            if path not in seen and path not in old:
                seen[path] = t
        if overflow:
            for d in dirs:
                for n in os.listdir(d):
                    path = os.path.join(d, n)
                    if path not in seen and path not in old:
                        seen[path] = t

    with open(args.out, "w") as out:
        for path, t in seen.items():
            mid = "-"
            try:
                with open(path, "rb") as f:
                    m = ID_RE.search(f.read(8192))
                if m:
                    mid = m.group(1).decode()
            except OSError:
                pass
            out.write("%s %.6f %s\n" % (mid, t, path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
