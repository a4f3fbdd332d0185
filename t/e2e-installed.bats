#!/usr/bin/env bats
# t/e2e-installed.bats -- installed mode, run as root: a build with ROOT
# set to a temporary instance, installed into a temporary prefix, the
# instance made by vdmail-init as root, the whole system under svscan,
# and the privilege split checked from /proc.  Everything made here
# (instance, prefix, test users, the system users it created) is removed
# afterwards.  As any other user the file is skipped, and says so.

load helpers/common

SYSUSERS="vdmaild vdmailq vdmailr vdmails vdmaill alias"

# The installed programs find each other by the paths built in: the
# suite's own overrides must not leak into the instance.
unset VDMAIL_LIBEXEC VDMAIL_BIN

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	W=$(mktemp -d /tmp/vdmail-inst.XXXXXX)
	chmod 0755 "$W"
	export W
	# the system users that exist before us are not ours to remove
	: >"$W/preexisting"
	for u in $SYSUSERS; do
		if getent passwd "$u" >/dev/null; then
			echo "$u" >>"$W/preexisting"
		fi
	done
	make -s -C "$TOP" BUILD="$W/build" ROOT="$W/inst" PREFIX="$W/prefix" \
	    install >"$W/install.log" 2>&1
	# two test users with homes under the scratch directory
	mkdir -m 0755 "$W/home"
	for n in 1 2; do
		useradd --no-create-home --home-dir "$W/home/vdt$n" \
		    --shell /usr/sbin/nologin "vdtest$n" 2>/dev/null ||
		    useradd -M -d "$W/home/vdt$n" -s /usr/sbin/nologin "vdtest$n"
	done
	for n in 1 2; do
		u=vdtest$n
		mkdir -m 0755 "$W/home/vdt$n"
		"$W/prefix/bin/maildirmake" "$W/home/vdt$n/Maildir"
		echo ./Maildir/ >"$W/home/vdt$n/.qmail"
		echo ./Maildir/ >"$W/home/vdt$n/.qmail-default"
		chown -R "$u:" "$W/home/vdt$n"
	done
	export SMTP_P POP3_P REMOTE_P
	SMTP_P=$(free_port)
	POP3_P=$(free_port)
	REMOTE_P=$(free_port)
	"$W/prefix/bin/vdmail-init" "$W/inst" --me inst.example \
	    --ip 127.0.0.1 --smtp-port "$SMTP_P" --pop3-port "$POP3_P" \
	    --relay 127.0.0.1 >/dev/null
	# abc.com belongs to vdtest1, by the system user database
	echo 'abc.com:vdtest1' >>"$W/inst/control/virtualdomains"
	echo "hang.example:127.0.0.1:$REMOTE_P" >"$W/inst/control/smtproutes"
	echo 2 >"$W/inst/control/timeoutremote"
	# a server that accepts and never answers, for smtp-send to wait on
	python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)' "$REMOTE_P" >/dev/null 2>&1 &
	echo $! >"$W/hang.pid"
	svscan "$W/inst/service" >/dev/null 2>&1 &
	echo $! >"$W/svscan.pid"
	wait_port "$SMTP_P"
	wait_port "$POP3_P"
}

teardown_file() {
	[ "$(id -u)" = 0 ] || return 0
	[ -n "${W:-}" ] || return 0
	kill "$(cat "$W/svscan.pid" 2>/dev/null)" 2>/dev/null
	for d in "$W"/inst/service/*/ "$W"/inst/service/*/log/; do
		[ -d "$d/supervise" ] && svc -dx "$d" 2>/dev/null
	done
	kill "$(cat "$W/hang.pid" 2>/dev/null)" 2>/dev/null
	sleep 1
	pkill -KILL -f "$W/" 2>/dev/null
	for n in 1 2; do
		userdel "vdtest$n" 2>/dev/null
	done
	for u in $SYSUSERS; do
		grep -qx "$u" "$W/preexisting" 2>/dev/null && continue
		userdel "$u" 2>/dev/null
		groupdel "$u" 2>/dev/null
	done
	rm -rf "$W"
	return 0
}

setup() {
	[ "$(id -u)" = 0 ] || skip "installed mode needs root: skipped"
	cd "$W" || return 1
}

# The uids of PID: "real effective".
uids() {
	awk '/^Uid:/ { print $2, $3 }' "/proc/$1/status"
}

# The newest process named NAME whose working directory is under $W.
find_proc() {
	local p i

	for i in $(seq 100); do
		for p in $(pgrep -x "$1"); do
			case $(readlink "/proc/$p/cwd" 2>/dev/null) in
			"$W"/*) echo "$p"; return 0 ;;
			esac
		done
		sleep 0.1
	done
	return 1
}

# send FROM TO [SUBJECT]: one message by SMTP.
send() {
	python3 -c 'import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.sendmail(sys.argv[2], [sys.argv[3]], "Subject: %s\n\nbody\n" % sys.argv[4])
s.quit()' "$SMTP_P" "$1" "$2" "${3:-test}"
}

wait_file() {
	local i

	for i in $(seq 150); do
		[ -n "$(ls -A "$1" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}

@test "installed: the programs carry the owners and modes of the privilege split" {
	L=$W/prefix/libexec/vdmail
	[ "$(stat -c '%U:%G %a' "$L/queue-inject")" = 'vdmailq:vdmailq 4711' ]
	[ "$(stat -c '%U:%G %a' "$L/smtp-send")" = 'vdmailr:vdmails 4710' ]
	[ "$(stat -c '%U:%G %a' "$L/local-spawn")" = 'root:vdmails 4710' ]
	[ "$(stat -c '%U:%G %a' "$L/rcpt-check")" = 'root:vdmaild 4710' ]
	[ "$(stat -c '%U:%G %a' "$W/inst/queue/new")" = 'vdmailq:vdmails 2770' ]
	[ "$(stat -c '%U:%G %a' "$W/inst/queue/tmp")" = 'vdmailq:vdmails 2700' ]
	[ "$(stat -c '%U:%G' "$W/inst/alias")" = 'alias:alias' ]
	[ "$(stat -c '%U:%G %a' "$W/inst/queue/lock/trigger")" = 'vdmailq:vdmails 660' ]
	# searchable, not readable: the SMTP user sees lock/inflow only
	[ "$(stat -c '%U:%G %a' "$W/inst/queue")" = 'vdmailq:vdmails 751' ]
	[ "$(stat -c '%U:%G %a' "$W/inst/queue/lock")" = 'vdmailq:vdmails 751' ]
	[ "$(stat -c '%U:%G %a' "$W/inst/queue/lock/inflow")" = 'vdmails:vdmails 644' ]
	# queue-inject's own: the counts of its group commit
	[ "$(stat -c '%U:%G %a' "$W/inst/queue/lock/sync")" = 'vdmailq:vdmailq 600' ]
	[ "$(stat -c '%a' "$W/inst/queue/mess")" = 750 ]
	d=$(id -u vdmaild)
	g=$(id -g vdmaild)
	setpriv --reuid="$d" --regid="$g" --clear-groups \
	    stat "$W/inst/queue/lock/inflow" >/dev/null
	run setpriv --reuid="$d" --regid="$g" --clear-groups ls "$W/inst/queue"
	[ "$status" -ne 0 ]
}

@test "installed: smtp-accept runs as vdmaild, queue-run as vdmails" {
	python3 -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(512); time.sleep(4)' "$SMTP_P" &
	client=$!
	p=$(find_proc smtp-accept)
	d=$(id -u vdmaild)
	[ "$(uids "$p")" = "$d $d" ]
	q=$(find_proc queue-run)
	s=$(id -u vdmails)
	[ "$(uids "$q")" = "$s $s" ]
	kill "$client" 2>/dev/null || :
	wait "$client" 2>/dev/null || :
}

@test "installed: a delivery and its .qmail program line run as the user" {
	echo '|id -u >"$HOME/prog-uid"; sleep 2' >"$W/home/vdt1/.qmail-slow"
	chown vdtest1: "$W/home/vdt1/.qmail-slow"
	send someone@example.org vdtest1-slow@inst.example
	p=$(find_proc dotqmail-exec)
	u=$(id -u vdtest1)
	[ "$(uids "$p")" = "$u $u" ]
	wait_file "$W/home/vdt1/prog-uid"
	sleep 0.3
	[ "$(cat "$W/home/vdt1/prog-uid")" = "$u" ]
}

@test "installed: smtp-send runs as vdmailr, real ids too" {
	send someone@example.org nobody@hang.example
	p=$(find_proc smtp-send)
	r=$(id -u vdmailr)
	[ "$(uids "$p")" = "$r $r" ]
}

@test "installed: local-spawn and rcpt-check serve only their callers" {
	d=$(id -u vdmaild)
	L=$W/prefix/libexec/vdmail
	# vdmaild is not in the queue manager's group: it may not run local-spawn
	run setpriv --reuid="$d" --regid="$(id -g vdmaild)" --clear-groups \
	    "$L/local-spawn" vdtest1@inst.example a@b.c
	[ "$status" -ne 0 ]
	# refused by the file's mode (0710, group vdmails), or, where a
	# kernel lets the exec through, by local-spawn's own check
	[[ $output == *'Permission denied'* ||
	    $output == *'only the queue manager may run me'* ]]
	# a member of the group that is not the queue manager is refused
	run setpriv --reuid="$d" --regid="$(id -g vdmaild)" \
	    --groups="$(getent group vdmails | cut -d: -f3)" \
	    "$L/local-spawn" vdtest1@inst.example a@b.c </dev/null
	[ "$status" -eq 111 ]
	[[ $output == *'only the queue manager may run me'* ]]
	# rcpt-check answers the SMTP user: certainly not, and deliverable
	run bash -c "echo nobody-such@abc.com | setpriv --reuid=$d --regid=$(id -g vdmaild) --clear-groups '$L/rcpt-check'"
	[ "$status" -eq 0 ]	# vdtest1 has .qmail-default: deliverable
	rm -f "$W/home/vdt1/.qmail-default"
	run bash -c "echo nobody-such@abc.com | setpriv --reuid=$d --regid=$(id -g vdmaild) --clear-groups '$L/rcpt-check'"
	[ "$status" -eq 1 ]
	run python3 -c 'import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
try:
    s.sendmail("a@example.org", ["nobody-such@abc.com"], "x")
except smtplib.SMTPRecipientsRefused as e:
    print(e.recipients)' "$SMTP_P"
	[[ $output == *'550'* ]]
	echo ./Maildir/ >"$W/home/vdt1/.qmail-default"
	chown vdtest1: "$W/home/vdt1/.qmail-default"
	# the address is looked up with the caller's ids, not root's: a
	# users/assign that only root may read cannot be read by the lookup
	chmod 600 "$W/inst/users/assign"
	run bash -c "echo vdtest1@inst.example | setpriv --reuid=$d --regid=$(id -g vdmaild) --clear-groups '$L/rcpt-check'"
	chmod 644 "$W/inst/users/assign"
	[ "$status" -eq 111 ]
	[[ $output == *'users/assign'* ]]
	# and the instance is the built-in one, whatever VDMAIL_ROOT says:
	# one whose users/assign is malformed would be an error (111)
	mkdir -p "$W/evil/control" "$W/evil/users"
	echo inst.example >"$W/evil/control/locals"
	echo 'no assign line' >"$W/evil/users/assign"
	run bash -c "echo vdtest1@inst.example | VDMAIL_ROOT='$W/evil' '$TOP/libexec/rcpt-check'"
	[ "$status" -eq 111 ]
	run bash -c "echo vdtest1@inst.example | setpriv --reuid=$d --regid=$(id -g vdmaild) --clear-groups env VDMAIL_ROOT='$W/evil' '$L/rcpt-check'"
	[ "$status" -eq 0 ]
}

@test "installed: a .qmail program line reads the message, not the queue file's envelope" {
	# the program seeks its stdin back to offset 0 before reading
	echo '|perl -e '"'"'seek(STDIN, 0, 0); print <STDIN>'"'"' >"$HOME/prog-saw"' >"$W/home/vdt1/.qmail-peek"
	chown vdtest1: "$W/home/vdt1/.qmail-peek"
	python3 -c 'import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.sendmail("a@example.org", ["vdtest1-peek@inst.example", "vdtest2-secretbcc@inst.example"], "Subject: peek\n\nhello\n")
s.quit()' "$SMTP_P"
	wait_file "$W/home/vdt1/prog-saw"
	sleep 0.3
	grep -q '^Subject: peek' "$W/home/vdt1/prog-saw"
	run grep -c 'secretbcc' "$W/home/vdt1/prog-saw"
	[ "$output" = 0 ]
}

@test "installed: pop3-session runs as the virtual user's master user" {
	echo 'installed-pass9' | VDMAIL_ROOT=$W/inst "$W/prefix/bin/vuser" add jane@abc.com
	[ "$(stat -c %U "$W/home/vdt1/vpop/jane/Maildir")" = vdtest1 ]
	send someone@example.org jane@abc.com hello-jane
	wait_file "$W/home/vdt1/vpop/jane/Maildir/new"
	python3 -c 'import poplib, sys, time
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=20)
p.user("jane@abc.com"); p.pass_("installed-pass9")
assert p.stat()[0] == 1
time.sleep(3); p.quit()' "$POP3_P" &
	client=$!
	p=$(find_proc pop3-session)
	u=$(id -u vdtest1)
	[ "$(uids "$p")" = "$u $u" ]
	wait "$client"
}

@test "installed: the SMTP server's user cannot write the queue" {
	d=$(id -u vdmaild)
	g=$(id -g vdmaild)
	for sub in new tmp mess/a state/a lock; do
		run setpriv --reuid="$d" --regid="$g" --clear-groups \
		    touch "$W/inst/queue/$sub/intruder"
		[ "$status" -ne 0 ]
		[ ! -e "$W/inst/queue/$sub/intruder" ]
	done
}

@test "installed: queue-inject ignores VDMAIL_ROOT when setuid" {
	mkdir -p "$W/elsewhere/queue"
	id=$(test-msgid new)
	printf 'Subject: x\n\ny\n' >"$W/msg"
	printf 'Fvdtest2@inst.example\0Tvdtest1@inst.example\0\0' >"$W/env"
	chmod 0644 "$W/msg" "$W/env"
	u=$(id -u vdtest2)
	# fd 1 is the envelope: no `run` here, which would take fd 1
	setpriv --reuid="$u" --regid="$(id -g vdtest2)" --clear-groups \
	    env VDMAIL_ROOT="$W/elsewhere" VDMAIL_MSGID="$id" \
	    "$W/prefix/libexec/vdmail/queue-inject" <"$W/msg" 1<"$W/env"
	[ -z "$(ls -A "$W/elsewhere/queue")" ]
	for i in $(seq 100); do
		grep -q "msg=$id" "$W/inst/service/send/log/main/current" && break
		sleep 0.1
	done
	grep -q "event=new msg=$id" "$W/inst/service/send/log/main/current"
}

@test "installed: sendmail from a local user, and one user's mail is unreadable by the other" {
	u=$(id -u vdtest2)
	printf 'Subject: private\n\nfor vdtest1 only\n' | setpriv --reuid="$u" \
	    --regid="$(id -g vdtest2)" --clear-groups \
	    "$W/prefix/bin/sendmail" vdtest1@inst.example
	for i in $(seq 100); do
		f=$(grep -l 'for vdtest1 only' "$W"/home/vdt1/Maildir/new/* 2>/dev/null | head -n 1)
		[ -n "$f" ] && break
		sleep 0.1
	done
	[ -n "$f" ]
	[ "$(stat -c '%U %a' "$f")" = 'vdtest1 600' ]
	run setpriv --reuid="$u" --regid="$(id -g vdtest2)" --clear-groups cat "$f"
	[ "$status" -ne 0 ]
	[[ $output != *'for vdtest1 only'* ]]
}

@test "installed: the article's way: &jsmith in ~abc/.qmail-john:smith, HOME/Maildir/ in ~jsmith/.qmail, read over POP3 as the system user" {
	# vdtest1 is abc.com's master user; vdtest2 plays jsmith
	echo '&vdtest2' >"$W/home/vdt1/.qmail-john:smith"
	echo "$W/home/vdt2/Maildir/" >"$W/home/vdt2/.qmail"
	chown vdtest1: "$W/home/vdt1/.qmail-john:smith"
	chown vdtest2: "$W/home/vdt2/.qmail"
	echo 'vdtest2:jsmith-pass9' | chpasswd
	send someone@example.org john.smith@abc.com for-jsmith
	for i in $(seq 150); do
		grep -qs 'Subject: for-jsmith' "$W"/home/vdt2/Maildir/new/* && break
		sleep 0.1
	done
	grep -qs 'Subject: for-jsmith' "$W"/home/vdt2/Maildir/new/*
	run python3 -c 'import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=20)
p.user("vdtest2"); p.pass_("jsmith-pass9")
n = p.stat()[0]
body = b"\n".join(b"\n".join(p.retr(i)[1]) for i in range(1, n + 1))
print("found" if b"Subject: for-jsmith" in body else "missing")
p.quit()' "$POP3_P"
	[ "$status" -eq 0 ]
	[ "$output" = found ]
}

@test "installed: after all that mail queue-run is idle (no spinning on the trigger FIFO)" {
	q=$(find_proc queue-run)
	t0=$(awk '{ print $14 + $15 }' "/proc/$q/stat")
	sleep 2
	t1=$(awk '{ print $14 + $15 }' "/proc/$q/stat")
	# clock ticks of 10 ms: a spinning process would use ~200
	[ $((t1 - t0)) -lt 20 ]
}
