#!/usr/bin/python3
"""bench/cpuwrap.py -- run a server's supervisor and account for its CPU.

usage: cpuwrap.py REPORT COMMAND [ARG...]

Runs COMMAND (svscan, Postfix's master, dovecot -F) in a session of its own
and becomes a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so that every
process the server ever starts, even one orphaned by its parent, is in the
end reaped here.  getrusage(RUSAGE_CHILDREN) then holds the CPU time of
all of them that have ended.

SIGUSR1 writes "SEQ UTIME STIME" (seconds, of the children reaped so far)
to REPORT.snap, atomically; bench.py adds the live processes' times from
/proc to that.  SIGTERM and SIGINT are passed on to COMMAND.  When COMMAND
and every other descendant have ended, the same line goes to REPORT and
cpuwrap exits with COMMAND's status.
"""

import ctypes
import os
import resource
import signal
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36


def main():
    if len(sys.argv) < 3:
        sys.stderr.write("usage: cpuwrap.py REPORT COMMAND [ARG...]\n")
        return 100
    report = sys.argv[1]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.stderr.write("cpuwrap: fatal: prctl: %s\n"
                         % os.strerror(ctypes.get_errno()))
        return 111
    seq = [0]

    def write_report(path):
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        seq[0] += 1
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d %.6f %.6f\n" % (seq[0], ru.ru_utime, ru.ru_stime))
        os.rename(tmp, path)

    child = subprocess.Popen(sys.argv[2:], start_new_session=True)

    def pass_on(signum, frame):
        try:
            os.kill(child.pid, signum)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGTERM, pass_on)
    signal.signal(signal.SIGINT, pass_on)
    signal.signal(signal.SIGUSR1, lambda s, f: write_report(report + ".snap"))

    status = 111
    while True:
        try:
            pid, st = os.wait()
        except ChildProcessError:
            break
        if pid == child.pid:
            child.returncode = 0    # reaped here, not by Popen
            status = os.waitstatus_to_exitcode(st)
    write_report(report)
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main())
