# t/e2e-remote.bats -- mail for other hosts, end to end: in through the
# real tcpserver and smtp-accept of an instance run by svscan as the
# sandbox user, queued, and sent on by queue-run and smtp-send to test SMTP
# servers (t/helpers/smtpd.py) on loopback addresses, found through
# control/smtproutes or through MX records served by a dnsmasq on
# 127.0.0.1 (control/dnsservers).
#
# The instance is made by make_instance in a scratch directory, with the
# users of t/helpers/e2e.bash: abc, the master user of abc.com, and
# jsmith, whose Maildir receives the bounces of the tests.  Teardown stops
# the servers, the instance and its services, and removes the scratch
# directory, whatever the test did.
load helpers/common
load helpers/e2e
load helpers/remote

SENDER=sender@example.org

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
}

teardown() {
	local rc=0

	# smtp-send's stderr reaches the send log through queue-run.
	if [ -n "${I:-}" ] && sendlog "$I" |
	    grep -q -e 'Sanitizer' -e 'runtime error:'; then
		echo "sanitizer report in the send log:" >&2
		sendlog "$I" >&2
		rc=1
	fi
	remote_teardown
	e2e_teardown
	return "$rc"
}

# remote_instance [VDMAIL-INIT OPTION...]: scratch directory $S, instance
# $I made by make_instance (SMTP on 127.0.0.1:$PORT), the users abc
# (abc.com) and jsmith, and a control/dnsservers naming a port where
# nothing answers (no lookup leaves the machine).  $SPORT is a free port
# for the test servers, $SRV the directory of the first one.
# relay_instance: the same, where 127.0.0.1 may relay (tcp.smtp), so that
# the tests send mail for other domains from there.
remote_instance() {
	e2e_scratch || return 1
	I=$S/inst
	ABC=$S/home/abc
	JSMITH=$S/home/jsmith
	ALIAS=$I/alias
	SRV=$S/srv
	PORT=$(free_port) || return 1
	SPORT=$(free_port) || return 1
	while [ "$SPORT" = "$PORT" ]; do
		SPORT=$(free_port) || return 1
	done
	make_instance --smtp-port "$PORT" "$@" >/dev/null || return 1
	e2e_users "$I" "$S" || return 1
	vdomains "$I" abc.com:abc || return 1
	echo "127.0.0.1:$(free_udp_port)" | put "$I/control/dnsservers"
}

relay_instance() {
	remote_instance --relay 127.0.0.1
}

# setctl NAME LINE...: control/NAME holds these lines.
setctl() {
	local name=$1

	shift
	printf '%s\n' "$@" | put "$I/control/$name"
}

# delivered_to DIR N RCPT: message N of the server in DIR went to RCPT
# alone and is whole: the test message's Subject and body arrived, every
# line ended in CRLF.
delivered_to() {
	[ "$(cat "$1/msg.$2/rcpt")" = "$3" ] || {
		echo "msg.$2 of $1 went to: $(cat "$1/msg.$2/rcpt")" >&2
		return 1
	}
	crlf_only "$1/msg.$2/data" &&
	    grep -q $'^Subject: ' "$1/msg.$2/data" &&
	    grep -qx $'This is the body.\r' "$1/msg.$2/data"
}

@test "&smith.john@home.boston.ma.us in ~abc/.qmail-john:smith: forwarded by smtproutes (.ma.us), with Delivered-To" {
	remote_instance
	echo '&smith.john@home.boston.ma.us' | put "$ABC/.qmail-john:smith"
	setctl smtproutes ".ma.us:127.0.0.1:$SPORT"
	smtpd_start "$SRV" 127.0.0.1 "$SPORT"
	e2e_start "$I"

	run -0 send_mail "$PORT" "$SENDER" john.smith@abc.com 'to boston'
	wait_for 20 has_msgs "$SRV" 1
	delivered_to "$SRV" 1 smith.john@home.boston.ma.us
	# The envelope sender is kept; the local hop is recorded.
	[ "$(cat "$SRV/msg.1/from")" = "$SENDER" ]
	grep -qix $'Delivered-To: abc-john.smith@abc.com\r' "$SRV/msg.1/data"
	grep -qx $'Subject: to boston\r' "$SRV/msg.1/data"
	[ "$(cat "$SRV/msg.1/helo")" = "EHLO $E2E_ME" ]
	wait_for 10 queue_empty "$I"
	logged "$I" 'event=delivered .*rcpt=smith.john@home.boston.ma.us'
	[ "$(new_count "$ABC/Maildir")" = 0 ]
	[ "$(msg_count "$SRV")" = 1 ]

	# Stopped, nothing of the instance keeps running.
	e2e_stop "$I"
	no_procs_left "$I"
}

@test "relaying for a client that tcp.smtp marks RELAYCLIENT (vdmail-init --relay 127.0.0.2); others are refused" {
	remote_instance --relay 127.0.0.2
	setctl smtproutes "foreign.example:127.0.0.1:$SPORT"
	smtpd_start "$SRV" 127.0.0.1 "$SPORT"
	e2e_start "$I"

	# From 127.0.0.1: no relaying.
	run -2 send_mail "$PORT" "$SENDER" someone@foreign.example 'no relay'
	[[ $output == 'refused someone@foreign.example 5'* ]]

	# From 127.0.0.2: relayed.
	python3 - "$PORT" "$SENDER" <<'EOF'
import smtplib, sys
port, sender = int(sys.argv[1]), sys.argv[2]
msg = ("From: <%s>\r\nTo: <someone@foreign.example>\r\nSubject: relayed\r\n"
       "\r\nThis is the body.\r\n" % sender)
with smtplib.SMTP("127.0.0.1", port, timeout=60,
                  source_address=("127.0.0.2", 0)) as s:
    s.sendmail(sender, ["someone@foreign.example"], msg)
EOF
	wait_for 20 has_msgs "$SRV" 1
	delivered_to "$SRV" 1 someone@foreign.example
	[ "$(cat "$SRV/msg.1/from")" = "$SENDER" ]
	grep -qx $'Subject: relayed\r' "$SRV/msg.1/data"
	# smtp-accept's Received line names the relaying client.
	grep -q '^Received: .*127\.0\.0\.2' "$SRV/msg.1/data"
	wait_for 10 queue_empty "$I"
	[ "$(msg_count "$SRV")" = 1 ]
}

@test "a 4xx from the remote server is deferred, retried after svc -a, and delivered" {
	relay_instance
	setctl smtproutes "remote.test:127.0.0.1:$SPORT"
	echo 'later@remote.test=451 4.2.0 try later' >"$S/rcpt-replies"
	smtpd_start "$SRV" 127.0.0.1 "$SPORT" --rcpt-file "$S/rcpt-replies"
	e2e_start "$I"

	run -0 send_mail "$PORT" "$SENDER" later@remote.test 'later please'
	wait_for 20 logged "$I" 'event=deferred .*rcpt=later@remote.test'
	logged "$I" 'event=deferred .*rcpt=later@remote.test .*451 4\.2\.0 try later'
	run -0 qlist "$I"
	[ "${#lines[@]}" = 1 ]
	[[ ${lines[0]} == *$'\tdeferred\t'*'<later@remote.test>' ]]
	[ "$(msg_count "$SRV")" = 0 ]

	# The server takes it now.
	: >"$S/rcpt-replies"
	svc -a "$I/service/send"
	wait_for 20 has_msgs "$SRV" 1
	delivered_to "$SRV" 1 later@remote.test
	grep -qx $'Subject: later please\r' "$SRV/msg.1/data"
	wait_for 10 queue_empty "$I"
	logged "$I" 'event=delivered .*rcpt=later@remote.test'
	run -1 logged "$I" 'event=(failed|bounce)'
	[ "$(new_count "$JSMITH/Maildir")" = 0 ]
}

@test "a 5xx from the remote server bounces: a DSN to the sender quoting the remote reply" {
	relay_instance
	setctl smtproutes "remote.test:127.0.0.1:$SPORT"
	smtpd_start "$SRV" 127.0.0.1 "$SPORT" \
	    --rcpt 'nobody@remote.test=550 5.1.1 no such user'
	e2e_start "$I"

	run -0 send_mail "$PORT" "jsmith@$E2E_ME" nobody@remote.test 'to nobody'
	wait_for 20 has_new "$JSMITH/Maildir" 1
	wait_for 10 queue_empty "$I"
	f=$(the_new "$JSMITH/Maildir")
	run -0 dsn_check "$f" nobody@remote.test
	[[ $output == *'<nobody@remote.test>:'* ]]
	python3 - "$f" <<'EOF'
import email, re, sys
from email import policy

with open(sys.argv[1], "rb") as f:
    m = email.message_from_binary_file(f, policy=policy.default)
assert m.get_content_type() == "multipart/report", m.get_content_type()
assert m.get_param("report-type") == "delivery-status"
text, status = m.get_payload()[:2]
body = text.get_content()
assert "550 5.1.1 no such user" in body, body
blocks = status.get_payload()
rcpt = [b for b in blocks[1:]
        if b["Final-Recipient"].strip() == "rfc822; nobody@remote.test"]
assert len(rcpt) == 1, [str(b) for b in blocks]
b = rcpt[0]
assert b["Action"].strip() == "failed", b["Action"]
assert re.fullmatch(r"5\.\d+\.\d+", b["Status"].strip()), b["Status"]
assert "no such user" in b["Diagnostic-Code"], b["Diagnostic-Code"]
assert "550 5.1.1" in b["Diagnostic-Code"], b["Diagnostic-Code"]
EOF
	grep -qx 'Subject: to nobody' "$f"
	logged "$I" 'event=failed .*rcpt=nobody@remote.test .*no such user'
	logged "$I" 'event=bounce '
	[ "$(msg_count "$SRV")" = 0 ]
}

@test "MX order: the lowest preference gets the mail; with it down, the next one" {
	relay_instance
	dns_start
	setctl dnsservers "127.0.0.1:$DNSPORT"
	setctl smtproutes "mx.test::$SPORT"
	smtpd_start "$S/mx1" 127.0.0.2 "$SPORT"
	MX1=$SMTPD_PID
	smtpd_start "$S/mx2" 127.0.0.3 "$SPORT"
	e2e_start "$I"

	run -0 send_mail "$PORT" "$SENDER" first@mx.test 'both up'
	wait_for 20 has_msgs "$S/mx1" 1
	delivered_to "$S/mx1" 1 first@mx.test
	wait_for 10 queue_empty "$I"
	[ "$(conn_count "$S/mx2")" = 0 ]
	logged "$I" 'event=delivered .*rcpt=first@mx.test'

	remote_kill "$MX1"
	run -0 send_mail "$PORT" "$SENDER" second@mx.test 'mx1 down'
	wait_for 20 has_msgs "$S/mx2" 1
	delivered_to "$S/mx2" 1 second@mx.test
	grep -qx $'Subject: mx1 down\r' "$S/mx2/msg.1/data"
	wait_for 10 queue_empty "$I"
	[ "$(msg_count "$S/mx1")" = 1 ]
}

@test "a dead first MX (nothing listens at its address) is skipped for the second" {
	relay_instance
	dns_start
	setctl dnsservers "127.0.0.1:$DNSPORT"
	setctl smtproutes "dead.test::$SPORT"
	smtpd_start "$S/mx2" 127.0.0.3 "$SPORT"
	e2e_start "$I"

	run -0 send_mail "$PORT" "$SENDER" someone@dead.test 'first MX dead'
	wait_for 20 has_msgs "$S/mx2" 1
	delivered_to "$S/mx2" 1 someone@dead.test
	wait_for 10 queue_empty "$I"
	logged "$I" 'event=delivered .*rcpt=someone@dead.test'
	run -1 logged "$I" 'event=(deferred|failed)'
}

@test "10 recipients of one domain go in one connection, with 10 RCPTs" {
	relay_instance
	setctl smtproutes "remote.test:127.0.0.1:$SPORT"
	smtpd_start "$SRV" 127.0.0.1 "$SPORT"
	e2e_start "$I"

	rcpts=$(printf 'user%d@remote.test,' $(seq 10))
	run -0 send_mail "$PORT" "$SENDER" "${rcpts%,}" 'ten of them'
	wait_for 20 has_msgs "$SRV" 1
	wait_for 10 queue_empty "$I"
	[ "$(conn_count "$SRV")" = 1 ]
	[ "$(msg_count "$SRV")" = 1 ]
	[ "$(cat "$SRV/msg.1/rcpt")" = "$(printf 'user%d@remote.test\n' $(seq 10))" ]
	[ "$(grep -c '	RCPT TO:' "$SRV/log")" = 10 ]
	[ "$(sendlog "$I" | grep -c 'event=delivered .*rcpt=user[0-9]*@remote.test')" = 10 ]
}

@test "a server that never answers: the recipient is deferred after control/timeoutremote, and the log says so" {
	relay_instance
	setctl smtproutes "remote.test:127.0.0.1:$SPORT"
	setctl timeoutremote 2
	smtpd_start "$SRV" 127.0.0.1 "$SPORT" --hang
	e2e_start "$I"

	SECONDS=0
	run -0 send_mail "$PORT" "$SENDER" stuck@remote.test 'into the void'
	wait_for 20 logged "$I" 'event=deferred .*rcpt=stuck@remote.test'
	[ "$SECONDS" -ge 2 ]
	logged "$I" 'event=deferred .*rcpt=stuck@remote.test .*no greeting'
	run -0 qlist "$I"
	[ "${#lines[@]}" = 1 ]
	[[ ${lines[0]} == *$'\tdeferred\t'*'<stuck@remote.test>' ]]
	[ "$(conn_count "$SRV")" -ge 1 ]
	[ "$(msg_count "$SRV")" = 0 ]
	run -1 logged "$I" 'event=(failed|bounce)'
}

@test "a recipient whose domain is malformed (smtp-send exits 100) bounces at once, not after queuelifetime" {
	remote_instance
	e2e_start "$I"

	# smtp-accept would refuse it: put it in the queue directly.
	printf 'Fjsmith@%s\0Tx@bad..domain\0\0' "$E2E_ME" >"$S/envelope"
	printf 'Subject: bad domain\n\nbody\n' |
	    as_sandbox env VDMAIL_ROOT="$I" queue-inject 1<"$S/envelope"
	wait_for 20 has_new "$JSMITH/Maildir" 1
	wait_for 10 queue_empty "$I"
	f=$(the_new "$JSMITH/Maildir")
	run -0 dsn_check "$f" x@bad..domain
	[[ $output == *'malformed domain'* ]]
	logged "$I" 'event=failed .*rcpt=x@bad\.\.domain'
	run -1 logged "$I" 'event=deferred'
}
