# t/helpers/pop3.bash -- helpers for the POP3 tests (t/pop3-auth.bats,
# t/pop3-session.bats, t/vcheckpassword.bats, t/vuser.bats,
# t/e2e-pop3.bats).  Load after helpers/common:
#
#	load helpers/common
#	load helpers/pop3
#
# Everything that writes into a scratch directory runs as the sandbox user
# (as_sandbox), so that the files have the owners a real server would see.

# The domain of the article's virtual POP users, and its master user.
POP3_DOMAIN=abc.com
POP3_ME=mx.example.net

# pop3_sb COMMAND...: as_sandbox with umask 022 (no home or .qmail file
# made here is writable by group or others).
pop3_sb() {
	as_sandbox sh -c 'umask 022 && exec "$@"' pop3_sb "$@"
}

# pop3_put FILE: stdin into FILE, written by the sandbox user.
pop3_put() {
	pop3_sb sh -c 'cat >"$1"' pop3_put "$1"
}

# pop3_domain INST HOME: abc.com is a virtual domain of INST whose master
# user abc has the home HOME (made here, mode 0755):
#   control/virtualdomains  abc.com:abc
#   users/assign            =abc and +abc- (uid/gid: the sandbox user's)
pop3_domain() {
	local inst=$1 home=$2 uid gid

	if [ "$(id -u)" = 0 ]; then
		uid=$SANDBOX_UID gid=$SANDBOX_GID
	else
		uid=$(id -u) gid=$(id -g)
	fi
	pop3_sb mkdir -p -m 0755 "$home" || return 1
	printf '%s:abc\n' "$POP3_DOMAIN" |
	    pop3_sb sh -c 'cat >>"$1"' put "$inst/control/virtualdomains" ||
	    return 1
	printf '%s\n' "=abc:abc:$uid:$gid:$home:::" \
	    "+abc-:abc:$uid:$gid:$home:-::" . | pop3_put "$inst/users/assign"
}

# pop3_instance [VDMAIL-INIT OPTION...]: in $S (scratch_dir), the instance
# $I (make_instance) with abc.com as above; $ABC is the master's home.
# Exports VDMAIL_ROOT=$I.
pop3_instance() {
	I=$S/inst
	ABC=$S/home/abc
	make_instance "$@" >/dev/null || return 1
	pop3_domain "$I" "$ABC" || return 1
	export VDMAIL_ROOT=$I
}

# vuser_add ADDRESS PASSWORD: vuser add as the sandbox user.
vuser_add() {
	printf '%s\n' "$2" | as_sandbox vuser add "$1"
}

# login_input FILE USER PASSWORD [TIMESTAMP]: FILE holds what a
# checkpassword program reads on fd 3: "USER\0PASSWORD\0TIMESTAMP\0".
login_input() {
	printf '%s\0%s\0%s\0' "$2" "$3" "${4:-<4711.1700000000@$POP3_ME>}" \
	    >"$1" && chmod 0644 "$1"
}

# pop3_py PORT USER PASSWORD CODE: log in with Python's poplib on
# 127.0.0.1:PORT, then run the Python CODE with `p` the logged-in
# poplib.POP3 object (bytes lines; `s` turns bytes into str).  A refused
# login prints "refused: REPLY" and exits 1.
pop3_py() {
	python3 - "$@" <<'EOF'
import poplib, sys

port, user, password, code = sys.argv[1:5]
s = lambda b: b.decode("latin-1")
p = poplib.POP3("127.0.0.1", int(port), timeout=60)
try:
    p.user(user)
    p.pass_(password)
except poplib.error_proto as e:
    print("refused: " + s(e.args[0]))
    sys.exit(1)
exec(code)
EOF
}

# pop3_fail_time PORT USER PASSWORD: one login over TCP that should fail;
# prints the reply to PASS, a tab, and the seconds from sending PASS to
# the reply (three decimals).
pop3_fail_time() {
	python3 - "$@" <<'EOF'
import socket, sys, time

port, user, password = sys.argv[1:4]
c = socket.create_connection(("127.0.0.1", int(port)), 60)
f = c.makefile("rb")
f.readline()
c.sendall(("USER %s\r\n" % user).encode())
f.readline()
t0 = time.monotonic()
c.sendall(("PASS %s\r\n" % password).encode())
reply = f.readline().decode("latin-1").rstrip("\r\n")
print("%s\t%.3f" % (reply, time.monotonic() - t0))
c.sendall(b"QUIT\r\n")
c.close()
EOF
}

# pipe_py CODE: run the Python CODE with a class Prog that speaks a POP3
# server program over pipes, as the sandbox user:
#   x = Prog("pop3-session", md)   starts it, reads the greeting (x.greeting)
#   x.cmd("LIST")                  sends a line, returns the reply line
#   x.multi("LIST")                the reply line and the lines of a
#                                  multi-line reply (unstuffed, no ".")
#   x.close()                      closes its stdin, returns its status
# Every line must end with CRLF (else an AssertionError).  Arguments after
# CODE are in argv.
pipe_py() {
	local prefix=
	if [ "$(id -u)" = 0 ]; then
		prefix="setpriv --reuid=$SANDBOX_UID --regid=$SANDBOX_GID --clear-groups --"
	fi
	PIPE_PY_PREFIX=$prefix python3 - "$@" <<'EOF'
import os, subprocess, sys

class Prog:
    def __init__(self, *argv):
        prefix = os.environ["PIPE_PY_PREFIX"].split()
        self.p = subprocess.Popen(prefix + list(argv), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        self.greeting = self.line()

    def line(self):
        l = self.p.stdout.readline()
        assert l.endswith(b"\r\n"), "not a CRLF line: %r" % l
        return l[:-2].decode("latin-1")

    def cmd(self, c):
        self.p.stdin.write(c.encode() + b"\r\n")
        self.p.stdin.flush()
        return self.line()

    def multi(self, c):
        first = self.cmd(c)
        lines = []
        if first.startswith("+OK"):
            while True:
                l = self.line()
                if l == ".":
                    break
                lines.append(l[1:] if l.startswith(".") else l)
        return first, lines

    def close(self):
        self.p.stdin.close()
        self.p.stdout.read()
        return self.p.wait()

argv = sys.argv[2:]
exec(sys.argv[1])
EOF
}
