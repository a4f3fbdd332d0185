#!/usr/bin/python3
"""bench/bench.py -- make bench: vdmail against Postfix and Dovecot.

usage: bench.py [--quick] [--only W1,W2,...] [--keep] [--tmp DIR]

Run by bench/run as root after the build.  Everything lives in one
temporary directory (/tmp/vdbench.*), every server listens on a free high
port of 127.0.0.1 and is stopped again at the end, whatever happens; the
system's own Postfix and Dovecot (their /etc configuration, their
services) are never used.

Each server runs under cpuwrap.py, a child subreaper: its CPU time is the
user+system time of every process it ran (those that ended, from
getrusage(RUSAGE_CHILDREN); those still running, from /proc), taken
before and after the workload.  Its memory is the sum of the PSS of all
its processes (/proc/PID/smaps_rollup), sampled every 100 ms; the peak is
reported.  The load clients (smtpload, pop3load.py) and the Maildir
watcher (mdwatch.py) are not counted.

The workloads (QUICK: one run of each, smaller counts):
  W1  5,000 messages of 4 KiB, 20 sessions, 1 message per connection,
      1 recipient, over 3 virtual domains x 100 users, into Maildirs
  W2  as W1, 10 recipients per message
  W3  100,000 messages queued with the queue manager stopped, then
      started: the drain rate, and the wait of a probe message sent every
      5 seconds during the drain
  W4  POP3: 20 users with 1,000 messages each, 4 sessions in parallel,
      LIST, RETR and DELE of every message (vdmail against Dovecot)
  W5  qmail_db_lookup on a table of 1,000,000 lines: the lookup that
      rebuilds the index after an edit, and the lookups after it
Medians of 3 runs (W3: one run).  The table goes to stdout and, with the
machine, the date and the targets, to bench/results/LATEST.txt.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
# The vdmail programs under test: a copy of the tree's bin/ and libexec/,
# made at the start, so that a rebuild in the tree during the run changes
# nothing (and cannot make a program vanish while tcpserver starts it).
PROG = TOP
PY = "/usr/bin/python3"
SMTPLOAD = None                     # bench/smtpload.c, built at the start
UID = GID = 64011                  # the sandbox user of t/helpers
PFDIR = "/usr/lib/postfix/sbin"
DOMAINS = ["d1.bench", "d2.bench", "d3.bench"]
USERS = 100                         # per domain
POP_DOMAIN = "p.bench"
TICK = os.sysconf("SC_CLK_TCK")


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def run(cmd, **kw):
    kw.setdefault("check", True)
    return subprocess.run(cmd, **kw)


def as_sandbox(cmd):
    return ["setpriv", "--reuid=%d" % UID, "--regid=%d" % GID,
            "--clear-groups", "--"] + cmd


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, secs=20):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on 127.0.0.1:%d" % port)


def write(path, text, mode=0o644, owner=None):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    if owner is not None:
        os.chown(path, owner, owner)


def chown_tree(top, uid, gid):
    os.chown(top, uid, gid)
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            os.lchown(os.path.join(d, n), uid, gid)


def maildirmake(path, uid):
    for sub in ("", "tmp", "new", "cur"):
        p = os.path.join(path, sub)
        os.makedirs(p, mode=0o700, exist_ok=True)
        os.chown(p, uid, uid)


def empty_dirs(dirs):
    for d in dirs:
        for sub in ("new", "cur", "tmp"):
            p = os.path.join(os.path.dirname(d), sub)
            for e in os.scandir(p):
                os.unlink(e.path)


def fresh_maildirs(dirs, uid=UID):
    """Give each Maildir of dirs (their new/) an empty successor.

    A Maildir that holds anything is renamed aside (Maildir.N) and a new
    one made in its place; the old files are deleted with the rest of the
    temporary directory at the end, not now.  Deleting the last run's
    tens of thousands of files just before a run made that run slower by
    chance: ext4 without a journal, as here, skips every inode freed in
    the last minute in each allocation (recently_deleted() in its inode
    allocator), so the run after a mass deletion paid for it, at random
    more for one system than for the other.
    """
    for d in dirs:
        md = os.path.dirname(d)
        if not any(any(True for _ in os.scandir(os.path.join(md, sub)))
                   for sub in ("new", "cur", "tmp")):
            continue
        k = 1
        while os.path.exists("%s.%d" % (md, k)):
            k += 1
        os.rename(md, "%s.%d" % (md, k))
        maildirmake(md, uid)


def count_files(top):
    n = 0
    for _d, _dirs, files in os.walk(top):
        n += len(files)
    return n


# --- processes of a server: CPU time and memory -------------------------

def children(pid):
    """Direct children of every thread of PID."""
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out.extend(int(x) for x in f.read().split())
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def descendants(pid):
    out = []
    todo = children(pid)
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children(p))
    return out


def proc_cpu(pid):
    """utime+stime+cutime+cstime of PID in seconds (0 when it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    fields = s[s.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): utime is field 14, cstime field 17
    return sum(int(x) for x in fields[11:15]) / TICK


def proc_pss(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


class Server:
    """A server system under cpuwrap.py."""

    name = "?"

    def __init__(self, work):
        self.work = work
        self.wrap = None
        self.peak = 0
        self.report = None

    def start_wrapped(self, cmd, env=None):
        self.report = os.path.join(self.work, "cpu.%d" % time.monotonic_ns())
        self.wrap = subprocess.Popen([PY, os.path.join(HERE, "cpuwrap.py"),
                                      self.report] + cmd, env=env,
                                     stdin=subprocess.DEVNULL)
        self.seq = 0
        self.peak = 0
        SAMPLER.add(self)

    def running(self):
        return self.wrap is not None and self.wrap.poll() is None

    def cpu(self):
        """CPU seconds of every process this server ran so far."""
        snap = self.report + ".snap"
        os.kill(self.wrap.pid, signal.SIGUSR1)
        end = time.monotonic() + 5
        while time.monotonic() < end:
            try:
                with open(snap) as f:
                    seq, ut, st = f.read().split()
                if int(seq) > self.seq:
                    self.seq = int(seq)
                    break
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.01)
        else:
            raise RuntimeError("%s: no CPU report from cpuwrap" % self.name)
        live = sum(proc_cpu(p) for p in descendants(self.wrap.pid))
        return float(ut) + float(st) + live

    def pss_kib(self):
        if not self.running():
            return 0
        return sum(proc_pss(p) for p in descendants(self.wrap.pid))

    def wait_wrapper(self, secs=30):
        """Wait for cpuwrap to end; the total CPU time of the server."""
        try:
            self.wrap.wait(secs)
        except subprocess.TimeoutExpired:
            for p in descendants(self.wrap.pid):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.wrap.wait(10)
        SAMPLER.remove(self)
        total = None
        try:
            with open(self.report) as f:
                _seq, ut, st = f.read().split()
            total = float(ut) + float(st)
        except (FileNotFoundError, ValueError):
            pass
        self.wrap = None
        return total

    def kill_all(self):
        """Last resort at exit: SIGKILL whatever is left of it."""
        if self.wrap is None:
            return
        for p in descendants(self.wrap.pid):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.wrap.kill()
            self.wrap.wait(5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


class Sampler(threading.Thread):
    """Every 100 ms, the PSS of each running server; keeps its peak."""

    def __init__(self):
        super().__init__(daemon=True)
        self.servers = set()
        self.lock = threading.Lock()

    def add(self, s):
        with self.lock:
            self.servers.add(s)

    def remove(self, s):
        with self.lock:
            self.servers.discard(s)

    def run(self):
        while True:
            with self.lock:
                servers = list(self.servers)
            for s in servers:
                try:
                    kib = s.pss_kib()
                except (OSError, ValueError):
                    continue
                if kib > s.peak:
                    s.peak = kib
            time.sleep(0.1)


SAMPLER = Sampler()


# --- vdmail --------------------------------------------------------------

class Vdmail(Server):
    name = "vdmail"

    def __init__(self, work):
        super().__init__(os.path.join(work, "vd"))
        os.makedirs(self.work, mode=0o755)
        os.chown(self.work, UID, GID)
        self.inst = os.path.join(self.work, "inst")
        self.smtp_port = free_port()
        self.pop3_port = free_port()
        self.env = dict(os.environ,
                        VDMAIL_LIBEXEC=os.path.join(PROG, "libexec"),
                        PATH="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        self.env.pop("VDMAIL_ROOT", None)
        run(as_sandbox([os.path.join(PROG, "bin", "vdmail-init"), self.inst,
                        "--me", "vd.bench.example", "--ip", "127.0.0.1",
                        "--smtp-port", str(self.smtp_port),
                        "--pop3-port", str(self.pop3_port)]),
            env=self.env, stdout=subprocess.DEVNULL)
        self.homes = os.path.join(self.work, "home")
        os.makedirs(self.homes, mode=0o755)
        os.chown(self.homes, UID, GID)
        vd = []
        assign = []
        self.new_dirs = []
        for k, dom in enumerate(DOMAINS + [POP_DOMAIN]):
            master = "m%d" % (k + 1)
            home = os.path.join(self.homes, master)
            os.makedirs(home, mode=0o755)
            vd.append("%s:%s\n" % (dom, master))
            assign.append("+%s-:%s:%d:%d:%s:-::\n"
                          % (master, master, UID, GID, home))
            if dom == POP_DOMAIN:
                continue
            # What `vuser add` makes, without the password line: a
            # Maildir per user and the .qmail file that delivers to it.
            for u in range(USERS):
                md = os.path.join(home, "vpop", "user%d" % u, "Maildir")
                maildirmake(md, UID)
                write(os.path.join(home, ".qmail-user%d" % u),
                      "./vpop/user%d/Maildir/\n" % u)
                self.new_dirs.append(os.path.join(md, "new"))
            write(os.path.join(home, ".qmail-probe"), "./vpop/probe/Maildir/\n")
            maildirmake(os.path.join(home, "vpop", "probe", "Maildir"), UID)
        self.probe_dir = os.path.join(self.homes, "m1", "vpop", "probe",
                                      "Maildir", "new")
        chown_tree(self.homes, UID, GID)
        with open(os.path.join(self.inst, "control", "virtualdomains"), "a") as f:
            f.write("".join(vd))
        write(os.path.join(self.inst, "users", "assign"),
              "".join(assign) + ".\n", owner=UID)

    def add_pop_users(self, users):
        """vuser add for each (address, password); their Maildirs' new/."""
        env = dict(self.env, VDMAIL_ROOT=self.inst)
        dirs = []
        for addr, pw in users:
            run(as_sandbox([os.path.join(PROG, "bin", "vuser"), "add", addr]),
                env=env, input=(pw + "\n").encode(), stdout=subprocess.DEVNULL)
            local = addr.split("@")[0]
            dirs.append(os.path.join(self.homes, "m4", "vpop", local,
                                     "Maildir", "new"))
        with open(os.path.join(self.inst, "users", "passwd")) as f:
            hashes = dict(x.rstrip("\n").split(":", 1) for x in f if ":" in x)
        return dirs, hashes

    def start(self, services=("smtp", "send", "pop3")):
        svc = os.path.join(self.inst, "service")
        for s in ("smtp", "send", "pop3"):
            down = os.path.join(svc, s, "down")
            if s in services:
                if os.path.exists(down):
                    os.unlink(down)
            else:
                write(down, "", owner=UID)
        self.start_wrapped(as_sandbox(["svscan", svc]), env=self.env)
        if "smtp" in services:
            wait_port(self.smtp_port)
        if "pop3" in services:
            wait_port(self.pop3_port)
        time.sleep(0.5)

    def stop(self):
        if not self.running():
            return None
        os.kill(self.wrap.pid, signal.SIGTERM)    # to svscan
        svc = os.path.join(self.inst, "service")
        time.sleep(0.2)
        for pass_ in ("", "log"):
            for s in ("smtp", "send", "pop3"):
                d = os.path.join(svc, s, pass_)
                if os.path.isdir(os.path.join(d, "supervise")):
                    subprocess.run(["svc", "-dx", d], stderr=subprocess.DEVNULL)
            time.sleep(0.3)
        return self.wait_wrapper()

    def queue_left(self):
        q = os.path.join(self.inst, "queue")
        return count_files(os.path.join(q, "new")) + \
            count_files(os.path.join(q, "mess"))


# --- Postfix -------------------------------------------------------------

class Postfix(Server):
    name = "Postfix"

    def __init__(self, work):
        super().__init__(os.path.join(work, "pf"))
        self.conf = os.path.join(self.work, "etc")
        self.queue = os.path.join(self.work, "spool")
        self.data = os.path.join(self.work, "data")
        self.base = os.path.join(self.work, "vmail")
        self.logs = os.path.join(self.work, "log")
        for d in (self.work, self.conf, self.queue, self.logs):
            os.makedirs(d, mode=0o755, exist_ok=True)
        os.makedirs(self.data, mode=0o700)
        pw = __import__("pwd").getpwnam("postfix")
        os.chown(self.data, pw.pw_uid, pw.pw_gid)
        os.makedirs(self.base, mode=0o755)
        os.chown(self.base, UID, GID)
        self.smtp_port = free_port()
        vmailbox = []
        self.new_dirs = []
        for dom in DOMAINS:
            for u in range(USERS):
                rel = "%s/user%d/Maildir/" % (dom, u)
                vmailbox.append("user%d@%s %s\n" % (u, dom, rel))
                maildirmake(os.path.join(self.base, rel), UID)
                self.new_dirs.append(os.path.join(self.base, rel, "new"))
        vmailbox.append("probe@%s %s/probe/Maildir/\n" % (DOMAINS[0], DOMAINS[0]))
        maildirmake(os.path.join(self.base, DOMAINS[0], "probe", "Maildir"), UID)
        self.probe_dir = os.path.join(self.base, DOMAINS[0], "probe",
                                      "Maildir", "new")
        chown_tree(self.base, UID, GID)
        write(os.path.join(self.conf, "vdomains"),
              "".join("%s OK\n" % d for d in DOMAINS))
        write(os.path.join(self.conf, "vmailbox"), "".join(vmailbox))
        self.configure(qmgr=True)
        for t in ("vdomains", "vmailbox"):
            run(["postmap", "-c", self.conf,
                 "hash:" + os.path.join(self.conf, t)])
        run(["postfix", "-c", self.conf, "check"])

    def configure(self, qmgr=True, in_flow_delay="1s"):
        """main.cf and master.cf; without qmgr: the queue manager is
        stopped and mail stays in incoming/."""
        c = self.conf
        write(os.path.join(c, "main.cf"), f"""\
# make bench: a private Postfix, durable as shipped (queue files fsynced)
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.data}
mail_owner = postfix
setgid_group = postdrop
myhostname = pf.bench.example
mydomain = bench.example
myorigin = $myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relayhost =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = $myhostname ESMTP
smtpd_peername_lookup = no
biff = no
append_dot_mydomain = no
in_flow_delay = {in_flow_delay}
virtual_mailbox_domains = hash:{c}/vdomains
virtual_mailbox_maps = hash:{c}/vmailbox
virtual_mailbox_base = {self.base}
virtual_uid_maps = static:{UID}
virtual_gid_maps = static:{GID}
maillog_file = {self.logs}/maillog
maillog_file_prefixes = {self.logs}
""")
        services = [
            f"127.0.0.1:{self.smtp_port} inet n - n - - smtpd",
            "pickup unix n - n 60 1 pickup",
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr" if qmgr else "",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "smtp unix - - n - - smtp",
            "relay unix - - n - - smtp",
            "showq unix n - n - - showq",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "virtual unix - n n - - virtual",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
        ]
        write(os.path.join(c, "master.cf"),
              "# make bench: the services of a private Postfix\n" +
              "\n".join(s for s in services if s) + "\n")

    def start(self):
        self.start_wrapped([os.path.join(PFDIR, "master"), "-d", "-c",
                            self.conf])
        wait_port(self.smtp_port)
        time.sleep(0.5)

    def stop(self):
        if not self.running():
            return None
        os.kill(self.wrap.pid, signal.SIGTERM)    # to master, which ends all
        return self.wait_wrapper()

    def queue_left(self):
        return sum(count_files(os.path.join(self.queue, q))
                   for q in ("maildrop", "incoming", "active", "deferred",
                             "hold"))


# --- Dovecot -------------------------------------------------------------

class Dovecot(Server):
    name = "Dovecot"

    def __init__(self, work, users, hashes):
        super().__init__(os.path.join(work, "dc"))
        self.port = free_port()
        self.mail = os.path.join(self.work, "mail")
        for d in ("", "run", "state", "log"):
            os.makedirs(os.path.join(self.work, d), mode=0o755, exist_ok=True)
        os.makedirs(self.mail, mode=0o755)
        os.chown(self.mail, UID, GID)
        lines = []
        self.new_dirs = []
        for addr, _pw in users:
            home = os.path.join(self.mail, addr.split("@")[0])
            maildirmake(os.path.join(home, "Maildir"), UID)
            chown_tree(home, UID, GID)
            os.chmod(home, 0o700)
            self.new_dirs.append(os.path.join(home, "Maildir", "new"))
            # The same crypt hash that vdmail's users/passwd holds.
            lines.append("%s:{CRYPT}%s:%d:%d::%s::\n"
                         % (addr, hashes[addr], UID, GID, home))
        pwfile = os.path.join(self.work, "passwd")
        write(pwfile, "".join(lines), mode=0o640)
        os.chown(pwfile, 0, __import__("grp").getgrnam("dovecot").gr_gid)
        w = self.work
        self.conf = os.path.join(w, "dovecot.conf")
        write(self.conf, f"""\
# make bench: a private Dovecot POP3 server
base_dir = {w}/run
state_dir = {w}/state
instance_name = vdbench-dovecot
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
log_path = {w}/log/dovecot.log
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 1000
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=CRYPT username_format=%u {pwfile}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {pwfile}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.port}
  }}
}}
""")

    def start(self):
        self.start_wrapped(["dovecot", "-F", "-c", self.conf])
        wait_port(self.port)
        time.sleep(0.5)

    def stop(self):
        if not self.running():
            return None
        os.kill(self.wrap.pid, signal.SIGTERM)
        return self.wait_wrapper()


# --- the workloads -------------------------------------------------------

def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def read_client(path):
    sent = {}
    t0 = t1 = None
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "start":
                t0 = float(w[1])
            elif w[0] == "end":
                t1 = float(w[1])
            else:
                sent[w[0]] = (float(w[1]), float(w[2]), int(w[3]))
    return t0, t1, sent


def read_watch(path):
    out = []
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) >= 2:
                out.append((w[0], float(w[1])))
    return out


def start_watch(ctx, dirs, expect, out, timeout):
    lst = out + ".dirs"
    with open(lst, "w") as f:
        f.write("\n".join(dirs) + "\n")
    w = subprocess.Popen([PY, os.path.join(HERE, "mdwatch.py"), "--dirs", lst,
                          "--expect", str(expect), "--out", out,
                          "--timeout", str(timeout)], stdout=subprocess.PIPE)
    if w.stdout.readline().strip() != b"ready":
        raise RuntimeError("mdwatch did not start")
    return w


def smtp_load(ctx, port, count, rcpts, tag, out, sessions=20):
    r = run([SMTPLOAD, "--port", str(port),
             "--count", str(count), "--sessions", str(sessions),
             "--rcpts", str(rcpts), "--size", "4096", "--addrs", ctx.addrs,
             "--tag", tag, "--out", out], check=False)
    return r.returncode


def wait_queue_empty(server, secs=120):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if server.queue_left() == 0:
            return True
        time.sleep(0.2)
    return False


def w_smtp(ctx, server, wl, run_no, count, rcpts):
    """W1 and W2: one run against one server (already running)."""
    tag = "%s%s%d" % (wl.lower(), server.name[0].lower(), run_no)
    d = os.path.join(ctx.tmp, "out", tag)
    os.makedirs(d)
    fresh_maildirs(server.new_dirs)
    expect = count * rcpts
    watch = start_watch(ctx, server.new_dirs, expect, d + "/watch",
                        ctx.deadline())
    cpu0 = server.cpu()
    server.peak = 0
    rc = smtp_load(ctx, server.smtp_port, count, rcpts, tag, d + "/client")
    watch.wait()
    empty = wait_queue_empty(server, 60)
    cpu1 = server.cpu()
    t0, _t1, sent = read_client(d + "/client")
    got = read_watch(d + "/watch")
    lat = [t - sent[i][0] for i, t in got if i in sent]
    ok = [v for v in sent.values() if v[2] == 250]
    last = max(t for _i, t in got) if got else float("nan")
    res = {
        "accepted": len(ok) / (max(v[1] for v in ok) - t0) if ok else 0.0,
        "msgs": len({i for i, _t in got}) / (last - t0),
        "rcpts": len(got) / (last - t0),
        "p50": pct(lat, 50) * 1000, "p99": pct(lat, 99) * 1000,
        "cpu": cpu1 - cpu0, "mem": server.peak / 1024.0,
        "missing": expect - len(got), "client_rc": rc,
        "queue_empty": empty,
    }
    log("%s %s run %d: %s" % (wl, server.name, run_no,
                              json.dumps({k: round(v, 2) if isinstance(v, float)
                                          else v for k, v in res.items()})))
    return res


def w3(ctx, server, count):
    """Fill the queue with the queue manager stopped, then start it."""
    tag = "w3" + server.name[0].lower()
    d = os.path.join(ctx.tmp, "out", tag)
    os.makedirs(d)
    fresh_maildirs(server.new_dirs + [server.probe_dir])
    if isinstance(server, Vdmail):
        server.start(services=("smtp",))
    else:
        server.configure(qmgr=False, in_flow_delay="0s")
        server.start()
    t = time.monotonic()
    rc = smtp_load(ctx, server.smtp_port, count, 1, tag, d + "/fill",
                   sessions=20)
    fill_secs = time.monotonic() - t
    _t0, _t1, sent = read_client(d + "/fill")
    ok = [v for v in sent.values() if v[2] == 250]
    server.stop()
    queued = server.queue_left()
    log("W3 %s: %d messages queued in %.1f s (client exit %d)"
        % (server.name, queued, fill_secs, rc))
    if len(ok) < count:
        with open(d + "/fill") as f:
            why = [x.split(None, 4)[-1].strip() for x in f
                   if len(x.split()) == 5]
        log("W3 %s: %d not accepted; first reasons: %s"
            % (server.name, count - len(ok), "; ".join(why[:3])))
    if isinstance(server, Postfix):
        server.configure(qmgr=True)

    watch = start_watch(ctx, server.new_dirs, len(ok), d + "/watch",
                        ctx.deadline())
    pwatch = start_watch(ctx, [server.probe_dir], 1 << 30, d + "/pwatch",
                         ctx.deadline())
    t_start = time.monotonic()
    if isinstance(server, Vdmail):
        server.start(services=("smtp", "send"))
    else:
        server.start()
    # A probe every 5 seconds while the drain goes on.
    k = 0
    probes = []
    with open(ctx.addrs + ".probe", "w") as f:
        f.write("probe@%s\n" % DOMAINS[0])
    while watch.poll() is None:
        time.sleep(0.5 if k else 1.0)
        if watch.poll() is not None:
            break
        out = "%s/probe%d" % (d, k)
        run([SMTPLOAD, "--port",
             str(server.smtp_port), "--count", "1", "--sessions", "1",
             "--rcpts", "1", "--addrs", ctx.addrs + ".probe", "--tag",
             "%sp%d" % (tag, k), "--out", out], check=False)
        probes.append(out)
        k += 1
        end = time.monotonic() + 4.5
        while watch.poll() is None and time.monotonic() < end:
            time.sleep(0.1)
    watch.wait()
    got = read_watch(d + "/watch")
    last = max(t for _i, t in got) if got else float("nan")
    time.sleep(1)
    # Late probes: wait for them a little, then stop the probe watcher.
    end = time.monotonic() + 30
    while time.monotonic() < end and \
            len(open(d + "/pwatch.dirs").read()) and \
            len(os.listdir(server.probe_dir)) < len(probes):
        time.sleep(0.2)
    pwatch.send_signal(signal.SIGTERM)
    pwatch.wait()
    empty = wait_queue_empty(server, 60)
    cpu = server.cpu()
    mem = server.peak / 1024.0
    server.stop()
    psent = {}
    for p in probes:
        psent.update(read_client(p)[2])
    parr = dict(read_watch(d + "/pwatch"))
    waits = []
    for i, (t_dot, _t_ok, code) in psent.items():
        if t_dot < last:        # sent while the drain went on
            waits.append(parr[i] - t_dot if i in parr else float("inf"))
    res = {
        "accepted": len(ok) / fill_secs,
        "msgs": len(got) / (last - t_start), "rcpts": len(got) / (last - t_start),
        "p50": pct(waits, 50) * 1000, "p99": max(waits) * 1000 if waits
        else float("nan"), "cpu": cpu, "mem": mem,
        "missing": len(ok) - len(got), "probes": len(waits),
        "drain_secs": last - t_start, "queue_empty": empty,
        "queued": queued,
    }
    log("W3 %s: %s" % (server.name, json.dumps(
        {k: round(v, 2) if isinstance(v, float) else v for k, v in res.items()})))
    return res


def make_pop_messages(ctx, n):
    """N message files of 4 KiB (the same for both servers)."""
    d = os.path.join(ctx.tmp, "popmsgs")
    os.makedirs(d)
    line = "The quick brown fox jumps over the lazy dog. 0123456789 abcdefg\n"
    body = line * ((4096 - 300) // len(line))
    now = int(time.time())
    for k in range(n):
        text = ("Return-Path: <load@client.bench.example>\n"
                "From: load@client.bench.example\nTo: someone@p.bench\n"
                "Subject: pop message %d\nMessage-ID: <pop%d@bench.example>\n"
                "Date: Mon, 1 Jan 2024 00:00:00 +0000\n\n" % (k, k)) + body
        name = "%d.M%dP1.bench.example,S=%d" % (now - n + k, k, len(text))
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    return d


def fill_maildirs(src, dirs):
    names = os.listdir(src)
    for nd in dirs:
        for n in names:
            dst = os.path.join(nd, n)
            shutil.copyfile(os.path.join(src, n), dst)
            os.chown(dst, UID, GID)
            os.chmod(dst, 0o600)
    run(["sync"])


def w4(ctx, server, dirs, nmsgs, src, run_no):
    tag = "w4%s%d" % (server.name[0].lower(), run_no)
    d = os.path.join(ctx.tmp, "out", tag)
    os.makedirs(d)
    empty_dirs(dirs)
    fill_maildirs(src, dirs)
    port = server.pop3_port if isinstance(server, Vdmail) else server.port
    cpu0 = server.cpu()
    server.peak = 0
    r = run([PY, os.path.join(HERE, "pop3load.py"), "--port", str(port),
             "--users", ctx.popusers, "--parallel", "4", "--out", d + "/pop"],
            check=False)
    cpu1 = server.cpu()
    t0, t1, _ = 0, 0, None
    n = 0
    with open(d + "/pop") as f:
        for line in f:
            w = line.split()
            if w[0] == "start":
                t0 = float(w[1])
            elif w[0] == "end":
                t1 = float(w[1])
            elif w[0] == "user":
                n += int(w[2])
    left = sum(len(os.listdir(x)) + len(os.listdir(os.path.join(
        os.path.dirname(x), "cur"))) for x in dirs)
    res = {"pop": n / (t1 - t0), "cpu": cpu1 - cpu0, "mem": server.peak / 1024.0,
           "fetched": n, "left": left, "client_rc": r.returncode}
    log("W4 %s run %d: %s" % (server.name, run_no, json.dumps(
        {k: round(v, 2) if isinstance(v, float) else v for k, v in res.items()})))
    return res


def w5_worker(args):
    """Run as the sandbox user: time qmail_db_lookup; JSON on stdout."""
    root, table, lines, nlook, prog = args
    lib = os.path.join(prog, "libexec")
    env = {"PATH": "/usr/bin:/bin", "VDMAIL_ROOT": root, "VDMAIL_LIBEXEC": lib,
           "NEWSENDER": "load@client.bench.example",
           "SENDER": "load@client.bench.example",
           "DTLINE": "Delivered-To: m1-x@d1.bench\n"}
    msg = os.path.join(os.path.dirname(table), "msg")
    with open(msg, "w") as f:
        f.write("From: a@b.example\nSubject: w5\n\nhello\n")
    rnd = random.Random(5)

    def timed(argv, extra, stdin_path, stdout=None):
        e = dict(env, **extra)
        with open(stdin_path, "rb") as fin:
            t = time.monotonic()
            p = subprocess.Popen(argv, env=e, stdin=fin, stdout=stdout,
                                 stderr=subprocess.PIPE)
            _o, err = p.communicate()
            dt = time.monotonic() - t
        if p.returncode != 0:
            raise RuntimeError("%s: exit %d: %s" % (argv[0], p.returncode,
                                                    err.decode().strip()))
        return dt

    look = [os.path.join(prog, "bin", "qmail_db_lookup"), table]

    def lookups():
        return [timed(look, {"DEFAULT": "name%d" % rnd.randrange(lines)}, msg)
                for _ in range(nlook)]

    res = {}
    res["first_build"] = timed(look, {"DEFAULT": "name1"}, msg)
    res["after_build"] = lookups()
    # The edit: a new text beside the old, renamed over it.
    with open(table) as f, open(table + ".new", "w") as g:
        for ln in f:
            g.write(ln.replace("name7:", "name7 :", 1)
                    if ln.startswith("name7:") else ln)
    os.rename(table + ".new", table)
    res["first_after_edit"] = timed(look, {"DEFAULT": "name2"}, msg)
    res["after_edit"] = lookups()
    # Queueing alone, for reference: queue-inject with one recipient.
    env_file = msg + ".env"
    with open(env_file, "wb") as f:
        f.write(b"Fload@client.bench.example\0Tx@example.org\0\0")
    inj = []
    for _ in range(nlook):
        rfd, wfd = os.pipe()
        with open(env_file, "rb") as ef:
            os.write(wfd, ef.read())
        os.close(wfd)
        with open(msg, "rb") as fin:
            t = time.monotonic()
            p = subprocess.Popen([os.path.join(lib, "queue-inject")],
                                 env=env, stdin=fin, stdout=rfd,
                                 stderr=subprocess.PIPE)
            p.communicate()
            inj.append(time.monotonic() - t)
        os.close(rfd)
    res["inject"] = inj
    json.dump(res, sys.stdout)
    return 0


def w5(ctx, vd, lines):
    d = os.path.join(ctx.tmp, "w5")
    os.makedirs(d, mode=0o755)
    table = os.path.join(d, "qmail_db")
    with open(table, "w") as f:
        f.write("# make bench: a table of %d lines\n" % lines)
        for k in range(lines):
            f.write("name%d: user%d@example.org\n" % (k, k))
    chown_tree(d, UID, GID)
    r = run(as_sandbox([PY, os.path.abspath(__file__), "--w5-worker",
                        vd.inst, table, str(lines), "20", PROG]),
            stdout=subprocess.PIPE)
    res = json.loads(r.stdout)
    # Postfix's postmap for the same keys, for reference.
    pm = os.path.join(d, "postmap_table")
    with open(pm, "w") as f:
        for k in range(lines):
            f.write("name%d user%d@example.org\n" % (k, k))
    t = time.monotonic()
    run(["postmap", "-c", ctx.pf.conf, "hash:" + pm])
    res["postmap_build"] = time.monotonic() - t
    ql = []
    for k in range(20):
        t = time.monotonic()
        run(["postmap", "-c", ctx.pf.conf, "-q", "name%d" % (k * 49999 % lines),
             "hash:" + pm], stdout=subprocess.DEVNULL)
        ql.append(time.monotonic() - t)
    res["postmap_query"] = ql
    log("W5: %s" % json.dumps({k: (round(v, 4) if isinstance(v, float) else
                                   round(statistics.median(v), 4))
                               for k, v in res.items()}))
    return res


# --- the report ----------------------------------------------------------

def med(runs, key):
    v = [r[key] for r in runs if key in r]
    return statistics.median(v) if v else float("nan")


def fmt(x, nd=0):
    if x != x:      # NaN
        return "-"
    if x == float("inf"):
        return "inf"
    return ("%." + str(nd) + "f") % x


def ratio(a, b):
    if b == 0 or a != a or b != b:
        return float("nan")
    return a / b


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        mem = "%.0f GiB RAM" % (int(f.readline().split()[1]) / 1048576)
    df = subprocess.run(["df", "-h", "--output=source,fstype,size", "/tmp"],
                        stdout=subprocess.PIPE, text=True).stdout.splitlines()
    disk = " ".join(df[-1].split()) if df else "?"
    return "%d cores (%s), %s, /tmp on %s; Debian %s, kernel %s" % (
        os.cpu_count(), model, mem, disk,
        open("/etc/debian_version").read().strip(), os.uname().release)


def report(ctx, results):
    L = []
    L.append("make bench%s -- %s" % (" QUICK=1" if ctx.quick else "",
                                      time.strftime("%Y-%m-%d %H:%M UTC",
                                                    time.gmtime())))
    L.append("machine: " + machine())
    L.append("load average (1 min) at the start %.1f, at the end %.1f: "
             "anything else running on the machine shows here"
             % (ctx.load0, os.getloadavg()[0]))
    L.append("programs: bin/ and libexec/ as built at %s" % time.strftime(
        "%Y-%m-%d %H:%M UTC", time.gmtime(max(
            os.stat(os.path.join(PROG, d, n)).st_mtime
            for d in ("bin", "libexec")
            for n in os.listdir(os.path.join(PROG, d))))))
    L.append("runs: %s; counts: W1 %d msgs, W2 %d msgs x 10 rcpts, W3 %d "
             "msgs, W4 20 users x %d msgs, W5 %d lines"
             % ("median of %d" % ctx.runs if ctx.runs > 1 else "1",
                ctx.n1, ctx.n2, ctx.n3, ctx.n4, ctx.n5))
    L.append("")
    hdr = ("%-4s %-14s %9s %10s %10s %9s %9s %8s %8s"
           % ("work", "system", "accept/s", "deliv msg/s", "rcpt/s",
              "p50 ms", "p99 ms", "CPU s", "peak MB"))
    L.append(hdr)
    L.append("-" * len(hdr))
    ratios = {}
    for wl, other in (("W1", "Postfix"), ("W2", "Postfix"), ("W3", "Postfix")):
        if wl not in results:
            continue
        rows = {}
        for sysname in ("vdmail", other):
            runs = results[wl].get(sysname, [])
            if not runs:
                continue
            row = {k: med(runs, k) for k in ("accepted", "msgs", "rcpts",
                                             "p50", "p99", "cpu", "mem")}
            rows[sysname] = row
            L.append("%-4s %-14s %9s %10s %10s %9s %9s %8s %8s" % (
                wl, sysname, fmt(row["accepted"]), fmt(row["msgs"]),
                fmt(row["rcpts"]), fmt(row["p50"]), fmt(row["p99"]),
                fmt(row["cpu"], 1), fmt(row["mem"], 1)))
        if len(rows) == 2:
            a, b = rows["vdmail"], rows[other]
            rr = {k: ratio(a[k], b[k]) for k in a}
            ratios[wl] = rr
            L.append("%-4s %-14s %9s %10s %10s %9s %9s %8s %8s" % (
                wl, "vdmail/" + other, fmt(rr["accepted"], 2),
                fmt(rr["msgs"], 2), fmt(rr["rcpts"], 2), fmt(rr["p50"], 2),
                fmt(rr["p99"], 2), fmt(rr["cpu"], 2), fmt(rr["mem"], 2)))
    if "W4" in results:
        rows = {}
        for sysname in ("vdmail", "Dovecot"):
            runs = results["W4"].get(sysname, [])
            if runs:
                rows[sysname] = {k: med(runs, k) for k in ("pop", "cpu", "mem")}
                r = rows[sysname]
                L.append("%-4s %-14s %9s %10s %10s %9s %9s %8s %8s" % (
                    "W4", sysname, "-", fmt(r["pop"]), "-", "-", "-",
                    fmt(r["cpu"], 1), fmt(r["mem"], 1)))
        if len(rows) == 2:
            rr = {k: ratio(rows["vdmail"][k], rows["Dovecot"][k])
                  for k in ("pop", "cpu", "mem")}
            ratios["W4"] = rr
            L.append("%-4s %-14s %9s %10s %10s %9s %9s %8s %8s" % (
                "W4", "vdmail/Dovecot", "-", fmt(rr["pop"], 2), "-", "-",
                "-", fmt(rr["cpu"], 2), fmt(rr["mem"], 2)))
    L.append("")
    L.append("W1/W2: accept/s = messages answered 250 per second of the "
             "client's run; deliv = messages (rcpt/s: recipients) in new/ "
             "per second from the first connection to the last file; p50/p99"
             " = final dot to file in new/, per recipient.")
    L.append("W3: accept/s = rate of the fill (queue manager stopped); "
             "deliv = drain rate from the start of the server; p50 and p99 "
             "columns = median and worst wait of the probes sent every 5 s "
             "during the drain.")
    L.append("W4: deliv column = POP3 messages per second (LIST, RETR, DELE).")
    if "W5" in results:
        r = results["W5"]
        L.append("")
        L.append("W5 qmail_db_lookup, %d-line table (wall time of one "
                 "delivery run, queue-inject included):" % ctx.n5)
        L.append("  first lookup, no index yet (build)   %8.1f ms"
                 % (r["first_build"] * 1000))
        L.append("  first lookup after an edit (rebuild) %8.1f ms"
                 % (r["first_after_edit"] * 1000))
        L.append("  later lookups: median %.1f ms, max %.1f ms"
                 % (statistics.median(r["after_edit"]) * 1000,
                    max(r["after_edit"]) * 1000))
        L.append("  queue-inject alone:    median %.1f ms"
                 % (statistics.median(r["inject"]) * 1000))
        L.append("  Postfix postmap (reference): build %.1f ms, postmap -q "
                 "median %.1f ms" % (r["postmap_build"] * 1000,
                                     statistics.median(r["postmap_query"]) *
                                     1000))
    L.append("")
    L.append("Targets:")

    def target(text, ok):
        if ok is None:
            L.append("  [ ?? ] %s (not measured)" % text)
        else:
            L.append("  [%s] %s" % (" met " if ok else "NOT met", text))

    def rget(wl, k):
        return ratios.get(wl, {}).get(k)

    for wl in ("W1", "W2"):
        v = rget(wl, "msgs")
        target("%s delivered rate >= 2.0x Postfix: %sx" % (wl, fmt(v or 0, 2)),
               None if v is None else v >= 2.0)
    for wl in ("W1", "W2"):
        v = rget(wl, "p99")
        target("%s p99 latency <= 0.5x Postfix: %sx" % (wl, fmt(v or 0, 2)),
               None if v is None else v <= 0.5)
    for wl in ("W1", "W2"):
        v = rget(wl, "mem")
        target("%s peak memory <= 0.5x Postfix: %sx" % (wl, fmt(v or 0, 2)),
               None if v is None else v <= 0.5)
    w3r = results.get("W3", {}).get("vdmail")
    if w3r:
        v = w3r[0]["p99"] / 1000
        target("W3 a new message delivered within 5 s during the drain: "
               "worst %.2f s over %d probes" % (v, w3r[0]["probes"]),
               v <= 5.0 and w3r[0]["probes"] > 0)
    else:
        target("W3 new message within 5 s during the drain", None)
    v = rget("W4", "pop")
    target("W4 POP3 >= 1.0x Dovecot: %sx" % fmt(v or 0, 2),
           None if v is None else v >= 1.0)
    if "W5" in results:
        v = statistics.median(results["W5"]["after_edit"]) * 1000
        target("W5 lookups under 5 ms: median %.1f ms (whole delivery run, "
               "queueing included)" % v, v < 5.0)
    return "\n".join(L) + "\n"


class Ctx:
    pass


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--w5-worker":
        return w5_worker([sys.argv[2], sys.argv[3], int(sys.argv[4]),
                          int(sys.argv[5]), sys.argv[6]])
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default="W1,W2,W3,W4,W5")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--tmp", help="an empty directory to work in")
    args = p.parse_args()
    if os.getuid() != 0:
        log("fatal: run as root (make bench does)")
        return 111
    only = set(args.only.upper().split(","))
    ctx = Ctx()
    ctx.quick = args.quick
    if args.quick:
        ctx.runs, ctx.n1, ctx.n2, ctx.n3, ctx.n4, ctx.n5 = \
            1, 1000, 300, 10000, 200, 1000000
    else:
        ctx.runs, ctx.n1, ctx.n2, ctx.n3, ctx.n4, ctx.n5 = \
            3, 5000, 5000, 100000, 1000, 1000000
    for k in ("N1", "N2", "N3", "N4", "N5", "RUNS"):
        if os.environ.get("BENCH_" + k):
            setattr(ctx, k.lower(), int(os.environ["BENCH_" + k]))
    t_begin = time.monotonic()
    ctx.load0 = os.getloadavg()[0]
    ctx.deadline = lambda: max(60, 3000 - (time.monotonic() - t_begin))
    ctx.tmp = args.tmp or tempfile.mkdtemp(prefix="vdbench.", dir="/tmp")
    os.chmod(ctx.tmp, 0o755)
    os.makedirs(os.path.join(ctx.tmp, "out"))
    global PROG
    PROG = os.path.join(ctx.tmp, "prog")
    for d in ("bin", "libexec"):
        shutil.copytree(os.path.join(TOP, d), os.path.join(PROG, d))
    os.chmod(PROG, 0o755)
    global SMTPLOAD
    SMTPLOAD = os.path.join(PROG, "smtpload")
    run(["cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread",
         "-o", SMTPLOAD, os.path.join(HERE, "smtpload.c")])
    servers = []

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    SAMPLER.start()
    results = {}
    try:
        log("working in %s" % ctx.tmp)
        vd = Vdmail(ctx.tmp)
        pf = Postfix(ctx.tmp)
        ctx.pf = pf
        servers += [vd, pf]
        ctx.addrs = os.path.join(ctx.tmp, "addrs")
        # Address j: user j/3 of domain j%3, so that one message's ten
        # recipients span the three domains.
        with open(ctx.addrs, "w") as f:
            for j in range(len(DOMAINS) * USERS):
                f.write("user%d@%s\n" % (j // len(DOMAINS),
                                         DOMAINS[j % len(DOMAINS)]))
        if only & {"W1", "W2"}:
            vd.start(services=("smtp", "send"))
            pf.start()
            for wl, n, r in (("W1", ctx.n1, 1), ("W2", ctx.n2, 10)):
                if wl not in only:
                    continue
                results[wl] = {"vdmail": [], "Postfix": []}
                for k in range(ctx.runs):
                    # Alternate which system goes first.
                    order = [vd, pf] if k % 2 == 0 else [pf, vd]
                    for s in order:
                        results[wl][s.name].append(w_smtp(ctx, s, wl, k, n, r))
            vd.stop()
            pf.stop()
        if "W3" in only:
            results["W3"] = {"vdmail": [w3(ctx, vd, ctx.n3)],
                             "Postfix": [w3(ctx, pf, ctx.n3)]}
        if "W4" in only:
            users = [("pop%d@%s" % (k, POP_DOMAIN), "bench-secret-%d" % k)
                     for k in range(20)]
            ctx.popusers = os.path.join(ctx.tmp, "popusers")
            with open(ctx.popusers, "w") as f:
                f.write("".join("%s %s\n" % u for u in users))
            vdirs, hashes = vd.add_pop_users(users)
            dc = Dovecot(ctx.tmp, users, hashes)
            servers.append(dc)
            src = make_pop_messages(ctx, ctx.n4)
            vd.start(services=("pop3",))
            dc.start()
            results["W4"] = {"vdmail": [], "Dovecot": []}
            for k in range(ctx.runs):
                order = [(vd, vdirs), (dc, dc.new_dirs)]
                if k % 2:
                    order.reverse()
                for s, dirs in order:
                    results["W4"][s.name].append(w4(ctx, s, dirs, ctx.n4,
                                                    src, k))
            vd.stop()
            dc.stop()
        if "W5" in only:
            results["W5"] = w5(ctx, vd, ctx.n5)
        text = report(ctx, results)
        sys.stdout.write("\n" + text)
        os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
        with open(os.path.join(HERE, "results", "LATEST.txt"), "w") as f:
            f.write(text)
            f.write("\nPer run:\n")
            f.write(json.dumps(results, indent=1, sort_keys=True,
                               default=str) + "\n")
        log("done in %.0f s; results in bench/results/LATEST.txt"
            % (time.monotonic() - t_begin))
        return 0
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        for s in servers:
            try:
                s.stop()
            except Exception as e:      # keep stopping the others
                log("stopping %s: %s" % (s.name, e))
            s.kill_all()
        if args.keep:
            log("kept %s" % ctx.tmp)
        else:
            shutil.rmtree(ctx.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
