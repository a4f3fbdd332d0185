# t/e2e-pop3.bats -- POP3 end to end (SPEC sections 5, 9; the POP3 part
# of the Linux Journal article "Virtual Domains and qmail").
#
# An instance made by vdmail-init with an SMTP and a POP3 port, run by
# svscan as the sandbox user (its smtp, send and pop3 services).  A
# virtual user jane@abc.com made with `vuser add` gets mail by SMTP
# (Python's smtplib) and reads it over POP3 through tcpserver, pop3-auth,
# vcheckpassword and pop3-session: with Python's poplib and with the real
# fetchmail client.  As root, the article's system user path: a user made
# with useradd reads the mail of its ~/Maildir/ over POP3.
load helpers/common
load helpers/e2e
load helpers/pop3

PW=correct-horse-9
SENDER=sender@example.org

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	SYSUSER=
	POP3D_PID=
}

teardown() {
	if [ -n "${POP3D_PID:-}" ]; then
		kill "$POP3D_PID" 2>/dev/null || :
		wait "$POP3D_PID" 2>/dev/null || :
	fi
	if [ -n "${SYSUSER:-}" ]; then
		userdel -f -r "$SYSUSER" >/dev/null 2>&1 ||
		    userdel -f "$SYSUSER" >/dev/null 2>&1 || :
	fi
	e2e_teardown
}

# pop3_e2e: a scratch directory $S and the instance $I (SMTP on $PORT,
# POP3 on $POP3PORT) with the article's users (e2e_users), abc.com:abc,
# and the virtual user jane@abc.com (password $PW, Maildir $JANE).
pop3_e2e() {
	e2e_scratch || return 1
	I=$S/inst
	ABC=$S/home/abc
	JANE=$ABC/vpop/jane/Maildir
	PORT=$(free_port) || return 1
	POP3PORT=$(free_port) || return 1
	while [ "$POP3PORT" = "$PORT" ]; do
		POP3PORT=$(free_port) || return 1
	done
	sb vdmail-init "$I" --me "$E2E_ME" --ip 127.0.0.1 --smtp-port "$PORT" \
	    --pop3-port "$POP3PORT" >/dev/null || return 1
	e2e_users "$I" "$S" || return 1
	vdomains "$I" abc.com:abc || return 1
	printf '%s\n' "$PW" | sb env VDMAIL_ROOT="$I" vuser add jane@abc.com \
	    >/dev/null
}

# pop3_start: svscan on the instance; waits for the SMTP and POP3 ports.
pop3_start() {
	e2e_start "$I" && wait_port "$POP3PORT"
}

# three_messages: "pop 1".."pop 3" to jane@abc.com by SMTP; waits until
# they are in her Maildir.
three_messages() {
	local i
	for i in 1 2 3; do
		send_mail "$PORT" "$SENDER" jane@abc.com "pop $i" \
		    "$(printf 'body %s\r\n.a line with a dot\r\nFrom the start' "$i")" ||
		    return 1
	done
	wait_for 10 has_new "$JANE" 3
}

@test "poplib: STAT, LIST sizes as RETR counts them, UIDL stable, TOP 0, DELE and RSET, DELE and QUIT" {
	pop3_e2e
	pop3_start
	three_messages
	export JANE
	run -0 pop3_py "$POP3PORT" jane@abc.com "$PW" '
import os
assert p.getwelcome() == b"+OK mx.example.net POP3 ready", p.getwelcome()
n, total = p.stat()
assert n == 3, n
resp, listing, _ = p.list()
sizes = dict((int(a), int(b)) for a, b in (l.split() for l in listing))
assert sorted(sizes) == [1, 2, 3] and sum(sizes.values()) == total, sizes
uidl = [l.split()[1] for l in p.uidl()[1]]
for i in sizes:
    resp, lines, octets = p.retr(i)
    assert resp == b"+OK %d octets" % sizes[i], resp
    assert octets == sizes[i], (octets, sizes[i])
    # the message as stored, LF as CRLF, dots unstuffed
    path = os.path.join(os.environ["JANE"], "cur", s(uidl[i - 1]) + ":2,")
    stored = open(path, "rb").read()
    assert b"\r\n".join(lines) + b"\r\n" == stored.replace(b"\n", b"\r\n"), i
    assert b"Subject: pop %d" % i in lines, lines
    assert b".a line with a dot" in lines and b"From the start" in lines
resp, lines, octets = p.top(2, 0)
assert lines[-1] == b"" and b"Subject: pop 2" in lines, lines
assert not any(l.startswith(b"body") for l in lines), lines
p.dele(1)
assert p.stat()[0] == 2
p.rset()
assert p.stat() == (3, total)
p.quit()
print(" ".join(s(u) for u in uidl))
'
	uidl=$output
	[ "$(find "$JANE/cur" -type f | wc -l)" = 3 ]
	[ "$(find "$JANE/new" -type f | wc -l)" = 0 ]

	# the next session: the same UIDLs; DELE 2 and QUIT
	run -0 pop3_py "$POP3PORT" jane@abc.com "$PW" '
uidl = " ".join(s(l.split()[1]) for l in p.uidl()[1])
p.dele(2)
p.quit()
print(uidl)
'
	[ "$output" = "$uidl" ]
	read -r u1 u2 u3 <<<"$uidl"
	[ -z "$(find "$JANE" -name "$u2*")" ]

	# and the one after: message 2 is gone
	run -0 pop3_py "$POP3PORT" jane@abc.com "$PW" '
print(p.stat()[0], " ".join(s(l) for l in p.uidl()[1]))
p.quit()
'
	[ "$output" = "2 1 $u1 2 $u3" ]
}

@test "fetchmail fetches the three messages, with --keep and then for good" {
	pop3_e2e
	pop3_start
	three_messages
	mkdir -m 0700 "$S/fm"
	cat >"$S/fm/rc" <<EOF
poll 127.0.0.1 port $POP3PORT protocol pop3
    user "jane@abc.com" password "$PW"
    sslproto '' mda "cat >> $S/fm/fetched"
EOF
	chmod 0600 "$S/fm/rc"
	fm() {
		HOME=$S/fm fetchmail --nosyslog -f "$S/fm/rc" "$@"
	}
	run -0 fm --keep
	[ "$(grep -c '^Subject: pop [123]$' "$S/fm/fetched")" = 3 ]
	[ "$(grep -c '^\.a line with a dot$' "$S/fm/fetched")" = 3 ]
	[ "$(grep -c '^From the start$' "$S/fm/fetched")" = 3 ]
	[ "$(find "$JANE/cur" -type f | wc -l)" = 3 ]
	# fetchmail keeps the UIDLs it saw: nothing new to fetch (exit 1)
	run -1 fm
	[ "$(grep -c '^Subject: pop' "$S/fm/fetched")" = 3 ]
	# all of them again, and deleted on the server
	run -0 fm --all
	[ "$(grep -c '^Subject: pop [123]$' "$S/fm/fetched")" = 6 ]
	[ "$(find "$JANE/cur" "$JANE/new" -type f | wc -l)" = 0 ]
}

@test "a wrong password and an unknown user: the same reply after about the same delay" {
	pop3_e2e
	pop3_start
	run -0 pop3_fail_time "$POP3PORT" jane@abc.com wrong-password
	IFS=$'\t' read -r wrong_reply wrong_s <<<"$output"
	run -0 pop3_fail_time "$POP3PORT" nobody@abc.com "$PW"
	IFS=$'\t' read -r unknown_reply unknown_s <<<"$output"
	echo "wrong password: $wrong_s s; unknown user: $unknown_s s"
	[ "$wrong_reply" = '-ERR authorization failed' ]
	[ "$unknown_reply" = "$wrong_reply" ]
	python3 -c 'import sys
w, u = float(sys.argv[1]), float(sys.argv[2])
sys.exit(0 if w >= 1 and u >= 1 and abs(w - u) <= 0.5 else 1)' \
	    "$wrong_s" "$unknown_s"
	# and then the right password still works
	run -0 pop3_py "$POP3PORT" jane@abc.com "$PW" 'print(p.stat()); p.quit()'
	[ "$output" = '(0, 0)' ]
}

@test "as root: the article's system user reads ~/Maildir/ over POP3" {
	if [ "$(id -u)" != 0 ]; then
		skip "needs root"
	fi
	pop3_e2e
	# the article's jsmith, under a name of this test's own
	SYSUSER=vdp$$x$RANDOM
	local home=$S/sys/$SYSUSER uid gid
	[ -d "$S/sys" ] || mkdir -m 0755 "$S/sys"
	useradd -M -d "$home" -s /usr/sbin/nologin "$SYSUSER"
	uid=$(id -u "$SYSUSER") gid=$(id -g "$SYSUSER")
	printf '%s:%s\n' "$SYSUSER" "$PW" | chpasswd
	mkdir -m 0755 "$home"
	chown "$uid:$gid" "$home"
	as_user() {
		setpriv --reuid="$uid" --regid="$gid" --clear-groups -- \
		    sh -c 'umask 022 && exec "$@"' as_user "$@"
	}
	as_user maildirmake "$home/Maildir"
	# ~abc/.qmail-john:smith forwards to the user; ~USER/.qmail names
	# its Maildir
	echo "&$SYSUSER@$E2E_ME" | put "$ABC/.qmail-john:smith"
	echo "$home/Maildir/" | as_user sh -c 'cat >"$1"' put "$home/.qmail"
	printf 'From: %s\nTo: john.smith@abc.com\nSubject: for the system user\n\nhello\n' \
	    "$SENDER" >"$S/msg"
	chmod 0644 "$S/msg"

	# john.smith@abc.com: the forward is queued for USER@ME ...
	run -0 as_sandbox env VDMAIL_ROOT="$I" dotqmail-exec abc "$ABC" \
	    abc-john.smith - john.smith abc.com "$SENDER" <"$S/msg"
	run -0 qlist "$I"
	grep -qF "$SYSUSER@$E2E_ME" <<<"$output"
	# ... which only installed mode delivers to a system user: here the
	# delivery to USER is made as it would be there, as the user
	run -0 as_user env VDMAIL_ROOT="$I" dotqmail-exec "$SYSUSER" "$home" \
	    "$SYSUSER" '' '' "$E2E_ME" "$SENDER" <"$S/msg"
	[ "$(find "$home/Maildir/new" -type f | wc -l)" = 1 ]

	# pop3-auth and vcheckpassword as root, as tcpserver runs them
	P=$(free_port)
	tcpserver -R -H 127.0.0.1 "$P" "$VDMAIL_LIBEXEC/pop3-auth" "$E2E_ME" \
	    "$VDMAIL_LIBEXEC/vcheckpassword" "$VDMAIL_LIBEXEC/pop3-session" \
	    </dev/null >"$S/pop3d.log" 2>&1 3>&- &
	POP3D_PID=$!
	wait_port "$P"
	run -1 pop3_py "$P" "$SYSUSER" wrong-password 'p.quit()'
	[ "$output" = 'refused: -ERR authorization failed' ]
	run -0 pop3_py "$P" "$SYSUSER" "$PW" '
assert p.stat()[0] == 1
resp, lines, octets = p.retr(1)
assert b"Subject: for the system user" in lines and b"hello" in lines, lines
assert b"Delivered-To: %s@%s" % (sys.argv[2].encode(), b"mx.example.net") in lines, lines
p.dele(1)
p.quit()
'
	[ -z "$(find "$home/Maildir" -type f)" ]
}
