# t/smtp-send.bats -- smtp-send run by itself: an instance root of
# control files in $T/inst, the message on stdin, and test SMTP servers
# (t/helpers/smtpd.py) on loopback addresses; for MX lookups a dnsmasq on
# 127.0.0.1 named in control/dnsservers.
#
# Every test has a control/dnsservers naming a port where nothing
# answers, so that no lookup ever leaves the machine: a test that wants
# DNS starts dnsmasq (dns_start) and names it there.
load helpers/common
load helpers/remote

ME=mx.example.net
SENDER=sender@example.org

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	R=$T/inst
	mkdir -p "$R/control"
	echo "$ME" >"$R/control/me"
	echo "127.0.0.1:$(free_udp_port)" >"$R/control/dnsservers"
	export VDMAIL_ROOT=$R
	PORT=$(free_port)
	printf 'From: <%s>\nTo: <a@example.test>\nSubject: test\n\nbody\n' \
	    "$SENDER" >"$T/msg"
}

teardown() {
	remote_teardown
}

# routes LINE...: control/smtproutes holds these lines.
routes() {
	printf '%s\n' "$@" >"$R/control/smtproutes"
}

# control NAME VALUE: control/NAME holds VALUE.
control() {
	printf '%s\n' "$2" >"$R/control/$1"
}

# dns_use: dnsmasq runs (dns_start) and control/dnsservers names it.
dns_use() {
	dns_start "$@" && control dnsservers "127.0.0.1:$DNSPORT"
}

# send ARG...: smtp-send ARG... with $T/msg on stdin (or $MSG); sets
# status, output (stdout) and stderr, like `run --separate-stderr`.
# Fails when stderr holds a sanitizer report.
send() {
	status=0
	smtp-send "$@" <"${MSG:-$T/msg}" >"$T/out" 2>"$T/err" || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
	mapfile -t lines <"$T/out"
	if grep -q -e 'Sanitizer' -e 'runtime error:' "$T/err"; then
		echo "sanitizer report:" >&2
		cat "$T/err" >&2
		return 1
	fi
}

# tabs WORD...: the words joined by tabs (a result line).
tabs() {
	local IFS=$'\t'
	echo "$*"
}

# unix FILE: FILE with CRLF line ends turned into LF.
unix() {
	sed 's/\r$//' "$1"
}

# --- the SMTP dialogue ---

@test "a route delivers: the envelope, and the data byte for byte (dots, CRLF); ok quotes the 250" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT"
	routes "example.test:127.0.0.1:$PORT"
	# Lines that begin with a dot must be stuffed on the wire: a lone
	# dot would end the data, and an unstuffed ".x" would lose its dot.
	printf '%s\n' 'Subject: dots' '' '.x' '..y' '.' '...' 'a . b' '.' \
	    'the end' >"$T/msg"
	send example.test "$SENDER" a@example.test b@example.test
	[ "$status" = 0 ]
	[ "$stderr" = '' ]
	[ "${#lines[@]}" = 2 ]
	[ "${lines[0]}" = "$(tabs ok a@example.test '127.0.0.1 said: 250 2.0.0 ok 1')" ]
	[ "${lines[1]}" = "$(tabs ok b@example.test '127.0.0.1 said: 250 2.0.0 ok 1')" ]
	[ "$(msg_count "$T/srv")" = 1 ]
	[ "$(cat "$T/srv/msg.1/from")" = "$SENDER" ]
	[ "$(cat "$T/srv/msg.1/rcpt")" = $'a@example.test\nb@example.test' ]
	[ "$(cat "$T/srv/msg.1/helo")" = "EHLO $ME" ]
	crlf_only "$T/srv/msg.1/data"
	unix "$T/srv/msg.1/data" | cmp - "$T/msg"
	# The session ends with QUIT.
	[ "$(cut -f3 "$T/srv/log" | tail -n 1)" = QUIT ]
}

@test "a message without a final newline gets its CRLF before the dot; an empty message is sent" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT"
	routes "example.test:127.0.0.1:$PORT"
	printf 'Subject: no newline\n\n.last' >"$T/msg"
	send example.test "$SENDER" a@example.test
	[ "$status" = 0 ]
	[[ ${lines[0]} == ok$'\t'* ]]
	[ "$(cat "$T/srv/msg.1/data")" = $'Subject: no newline\r\n\r\n.last\r' ]
	crlf_only "$T/srv/msg.1/data"

	: >"$T/msg"
	send example.test "$SENDER" a@example.test
	[ "$status" = 0 ]
	[[ ${lines[0]} == ok$'\t'* ]]
	[ ! -s "$T/srv/msg.2/data" ]
}

@test "the message from a pipe, and from a regular file at its current offset" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT"
	routes "example.test:127.0.0.1:$PORT"
	printf 'SKIP-THIS\nSubject: offset\n\nbody\n' >"$T/whole"
	tail -n +2 "$T/whole" >"$T/want"
	# dd reads the first 10 bytes of the file; smtp-send gets the rest.
	{
		dd bs=10 count=1 of=/dev/null 2>/dev/null
		smtp-send example.test "$SENDER" a@example.test >"$T/out"
	} <"$T/whole"
	[[ $(cat "$T/out") == ok$'\t'* ]]
	unix "$T/srv/msg.1/data" | cmp - "$T/want"
	grep -qx "MAIL FROM:<$SENDER> SIZE=$(wc -c <"$T/want")" "$T/srv/msg.1/mail"

	cat "$T/msg" | smtp-send example.test "$SENDER" a@example.test >"$T/out"
	[[ $(cat "$T/out") == ok$'\t'* ]]
	unix "$T/srv/msg.2/data" | cmp - "$T/msg"
}

@test "per recipient: 5xx fails with the remote text, 4xx defers, 2xx is ok; only the accepted get the data" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT" \
	    --rcpt 'bad@example.test=550 5.1.1 no such user' \
	    --rcpt 'later@example.test=451 4.2.0 try later'
	routes "example.test:127.0.0.1:$PORT"
	send example.test "$SENDER" bad@example.test good@example.test \
	    later@example.test
	[ "$status" = 0 ]
	[ "$stderr" = '' ]
	[ "${#lines[@]}" = 3 ]
	[ "${lines[0]}" = "$(tabs fail bad@example.test '127.0.0.1 said: 550 5.1.1 no such user')" ]
	[ "${lines[1]}" = "$(tabs ok good@example.test '127.0.0.1 said: 250 2.0.0 ok 1')" ]
	[ "${lines[2]}" = "$(tabs defer later@example.test '127.0.0.1 said: 451 4.2.0 try later')" ]
	[ "$(cat "$T/srv/msg.1/rcpt")" = good@example.test ]
}

@test "every recipient refused: no data is sent, each keeps its own result" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT" \
	    --rcpt 'bad@example.test=550 5.1.1 no such user' \
	    --rcpt 'later@example.test=452 4.2.2 mailbox full'
	routes "example.test:127.0.0.1:$PORT"
	send example.test "$SENDER" bad@example.test later@example.test
	[ "$status" = 0 ]
	[ "${lines[0]}" = "$(tabs fail bad@example.test '127.0.0.1 said: 550 5.1.1 no such user')" ]
	[ "${lines[1]}" = "$(tabs defer later@example.test '127.0.0.1 said: 452 4.2.2 mailbox full')" ]
	[ "$(msg_count "$T/srv")" = 0 ]
}

@test "MAIL refused: 5xx fails and 4xx defers every recipient, quoting the reply" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT" --mail '553 5.7.1 sender refused'
	routes "example.test:127.0.0.1:$PORT"
	send example.test "$SENDER" a@example.test b@example.test
	[ "$status" = 0 ]
	[ "${lines[0]}" = "$(tabs fail a@example.test '127.0.0.1 said: 553 5.7.1 sender refused')" ]
	[ "${lines[1]}" = "$(tabs fail b@example.test '127.0.0.1 said: 553 5.7.1 sender refused')" ]
	remote_kill "$SMTPD_PID"

	smtpd_start "$T/srv2" 127.0.0.1 "$PORT" --mail '421 4.3.0 busy'
	send example.test "$SENDER" a@example.test
	[ "${lines[0]}" = "$(tabs defer a@example.test '127.0.0.1 said: 421 4.3.0 busy')" ]
	[ "$(msg_count "$T/srv")" = 0 ]
	[ "$(msg_count "$T/srv2")" = 0 ]
}

@test "the reply after the final dot decides: 554 fails, 451 defers, a multi-line reply is quoted whole" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT" --dot '554 5.6.0 content rejected'
	routes "example.test:127.0.0.1:$PORT"
	send example.test "$SENDER" a@example.test
	[ "${lines[0]}" = "$(tabs fail a@example.test '127.0.0.1 said: 554 5.6.0 content rejected')" ]
	remote_kill "$SMTPD_PID"

	smtpd_start "$T/srv" 127.0.0.1 "$PORT" \
	    --dot '451 4.3.0 first line\n451 4.3.0 second line'
	send example.test "$SENDER" a@example.test
	[ "${lines[0]}" = "$(tabs defer a@example.test '127.0.0.1 said: 451-4.3.0 first line 451 4.3.0 second line')" ]
}

@test "a local part that is no dot-atom goes out quoted: a space or '>' in it adds no parameter" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT" --no-size
	routes "example.test:127.0.0.1:$PORT"
	send example.test 'a> RET=HDRS ENVID=zz@evil.test' 'b> NOTIFY=SUCCESS@example.test' \
	    'plain.one@example.test'
	[ "$status" = 0 ]
	[ "$(cat "$T/srv/msg.1/mail")" = 'MAIL FROM:<"a> RET=HDRS ENVID=zz"@evil.test>' ]
	[ "$(grep -c 'RCPT TO:<"b> NOTIFY=SUCCESS"@example.test>' "$T/srv/log")" = 1 ]
	[ "$(grep -c 'RCPT TO:<plain.one@example.test>' "$T/srv/log")" = 1 ]
}

@test "the null sender is sent as MAIL FROM:<>" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT" --no-size
	routes "example.test:127.0.0.1:$PORT"
	send example.test '' a@example.test
	[ "$status" = 0 ]
	[[ ${lines[0]} == ok$'\t'* ]]
	[ "$(cat "$T/srv/msg.1/mail")" = 'MAIL FROM:<>' ]
}

@test "PIPELINING offered: RCPT and DATA go out without waiting for MAIL's reply" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT"
	routes "example.test:127.0.0.1:$PORT"
	send example.test "$SENDER" a@example.test b@example.test
	[[ ${lines[1]} == ok$'\t'* ]]
	# The server waits a moment before it answers MAIL: the rest of the
	# group is there by then.
	grep -q "^1	ahead	MAIL FROM:<$SENDER>" "$T/srv/log"
	grep -qx '1	ahead	RCPT TO:<a@example.test>' "$T/srv/log"
}

@test "PIPELINING not offered: one command at a time, and still delivered" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT" --no-pipelining \
	    --rcpt 'bad@example.test=550 5.1.1 no such user'
	routes "example.test:127.0.0.1:$PORT"
	send example.test "$SENDER" a@example.test bad@example.test c@example.test
	[ "${lines[0]}" = "$(tabs ok a@example.test '127.0.0.1 said: 250 2.0.0 ok 1')" ]
	[ "${lines[1]}" = "$(tabs fail bad@example.test '127.0.0.1 said: 550 5.1.1 no such user')" ]
	[ "${lines[2]}" = "$(tabs ok c@example.test '127.0.0.1 said: 250 2.0.0 ok 1')" ]
	grep -q "^1	-	MAIL FROM:<$SENDER>" "$T/srv/log"
	[ "$(grep -c '	ahead	RCPT' "$T/srv/log")" = 0 ]
	[ "$(cat "$T/srv/msg.1/rcpt")" = $'a@example.test\nc@example.test' ]
}

@test "a server that refuses EHLO gets HELO, and no SIZE" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT" --no-ehlo
	routes "example.test:127.0.0.1:$PORT"
	send example.test "$SENDER" a@example.test
	[ "$status" = 0 ]
	[ "${lines[0]}" = "$(tabs ok a@example.test '127.0.0.1 said: 250 2.0.0 ok 1')" ]
	[ "$(cut -f3 "$T/srv/log" | head -n 2)" = "EHLO $ME"$'\n'"HELO $ME" ]
	[ "$(cat "$T/srv/msg.1/helo")" = "HELO $ME" ]
	[ "$(cat "$T/srv/msg.1/mail")" = "MAIL FROM:<$SENDER>" ]
	unix "$T/srv/msg.1/data" | cmp - "$T/msg"
}

@test "SIZE offered: MAIL carries SIZE=N, the message's size; not offered: no SIZE" {
	head -c 3000 /dev/zero | tr '\0' 'x' | fold -w 60 >"$T/msg"
	smtpd_start "$T/srv" 127.0.0.1 "$PORT"
	routes "example.test:127.0.0.1:$PORT"
	send example.test "$SENDER" a@example.test
	[[ ${lines[0]} == ok$'\t'* ]]
	size=$(sed -n 's/^MAIL FROM:<[^>]*> SIZE=\([0-9]*\)$/\1/p' "$T/srv/msg.1/mail")
	# the bytes as stored, or as sent (CRLF): an estimate either way
	[ "$size" -ge "$(wc -c <"$T/msg")" ]
	[ "$size" -le "$(wc -c <"$T/srv/msg.1/data")" ]
	remote_kill "$SMTPD_PID"

	smtpd_start "$T/srv2" 127.0.0.1 "$PORT" --no-size
	send example.test "$SENDER" a@example.test
	[[ ${lines[0]} == ok$'\t'* ]]
	[ "$(cat "$T/srv2/msg.1/mail")" = "MAIL FROM:<$SENDER>" ]
}

@test "10 recipients of one domain: one connection, 10 RCPTs, one copy of the message" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT"
	routes "example.test:127.0.0.1:$PORT"
	rcpts=()
	for i in $(seq 10); do
		rcpts+=("user$i@example.test")
	done
	send example.test "$SENDER" "${rcpts[@]}"
	[ "$status" = 0 ]
	[ "${#lines[@]}" = 10 ]
	for i in $(seq 10); do
		[ "${lines[$((i - 1))]}" = "$(tabs ok "user$i@example.test" '127.0.0.1 said: 250 2.0.0 ok 1')" ]
	done
	[ "$(conn_count "$T/srv")" = 1 ]
	[ "$(msg_count "$T/srv")" = 1 ]
	[ "$(cat "$T/srv/msg.1/rcpt")" = "$(printf '%s\n' "${rcpts[@]}")" ]
	[ "$(grep -c '	RCPT TO:' "$T/srv/log")" = 10 ]
}

# --- failures of the connection ---

@test "a refused port: defer, with Connection refused" {
	routes "example.test:127.0.0.1:$PORT"
	send example.test "$SENDER" a@example.test b@example.test
	[ "$status" = 0 ]
	[ "${#lines[@]}" = 2 ]
	[ "${lines[0]}" = "$(tabs defer a@example.test "could not deliver to any mail exchanger of example.test: 127.0.0.1 port $PORT: Connection refused (#4.4.1)")" ]
	[[ ${lines[1]} == defer$'\t'b@example.test$'\t'*'Connection refused'* ]]
}

@test "a server that never answers: defer after control/timeoutremote" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT" --hang
	routes "example.test:127.0.0.1:$PORT"
	control timeoutremote 2
	SECONDS=0
	send example.test "$SENDER" a@example.test
	took=$SECONDS
	[ "$status" = 0 ]
	[ "$took" -ge 1 ]
	[ "$took" -le $((6 * REMOTE_SLOW)) ]
	[ "${lines[0]}" = "$(tabs defer a@example.test 'could not deliver to any mail exchanger of example.test: 127.0.0.1: no greeting (#4.4.1)')" ]
	[ "$(conn_count "$T/srv")" = 1 ]
}

@test "a server whose greeting never ends, in a flood or a trickle of bytes: defer after control/timeoutremote" {
	for how in flood trickle; do
		smtpd_start "$T/srv-$how" 127.0.0.1 "$PORT" --babble "$how"
		routes "example.test:127.0.0.1:$PORT"
		control timeoutremote 2
		SECONDS=0
		send example.test "$SENDER" a@example.test
		took=$SECONDS
		remote_kill "$SMTPD_PID"
		[ "$status" = 0 ]
		[ "$took" -le $((6 * REMOTE_SLOW)) ]
		[[ ${lines[0]} == "$(tabs defer a@example.test '')"* ]]
	done
}

@test "a server that goes silent after the data: defer after control/timeoutremote, nothing counted as sent" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT" --hang-at dot
	routes "example.test:127.0.0.1:$PORT"
	control timeoutremote 2
	SECONDS=0
	send example.test "$SENDER" a@example.test b@example.test
	took=$SECONDS
	[ "$took" -ge 1 ]
	[ "$took" -le $((6 * REMOTE_SLOW)) ]
	[ "${lines[0]}" = "$(tabs defer a@example.test 'connection to 127.0.0.1 lost or timed out during the transaction')" ]
	[[ ${lines[1]} == defer$'\t'b@example.test$'\t'* ]]
}

@test "a bad greeting gives way to the next address; when none is left, defer quoting it" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT" --greet 554
	routes "example.test:127.0.0.1:$PORT"
	send example.test "$SENDER" a@example.test
	[ "${lines[0]}" = "$(tabs defer a@example.test 'could not deliver to any mail exchanger of example.test: 127.0.0.1 greeted: 554 smtpd.test ESMTP smtpd.py (#4.4.1)')" ]
	[ "$(msg_count "$T/srv")" = 0 ]
}

@test "a server that greets with our own name (control/me): fail, the mail loops back to myself" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT" --greet-as "$ME"
	routes "example.test:127.0.0.1:$PORT"
	send example.test "$SENDER" a@example.test b@example.test
	[ "$status" = 0 ]
	[[ ${lines[0]} == fail$'\t'a@example.test$'\t'*'loops back to myself'* ]]
	[[ ${lines[1]} == fail$'\t'b@example.test$'\t'*'loops back to myself'* ]]
	[ "$(msg_count "$T/srv")" = 0 ]
	run -1 grep -q 'MAIL FROM' "$T/srv/log"
	# The same server with another name takes the mail.
	remote_kill "$SMTPD_PID"
	smtpd_start "$T/srv2" 127.0.0.1 "$PORT" --greet-as other.example.net
	send example.test "$SENDER" a@example.test
	[[ ${lines[0]} == ok$'\t'* ]]
}

# --- control/smtproutes ---

@test "smtproutes: .suffix matches subdomains only; an exact line beats it, wherever it stands" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT"
	dead=$(free_port)
	dns_use
	routes ".example.test:127.0.0.1:$PORT"
	send sub.example.test "$SENDER" a@sub.example.test
	[ "${lines[0]}" = "$(tabs ok a@sub.example.test '127.0.0.1 said: 250 2.0.0 ok 1')" ]
	send deep.sub.example.test "$SENDER" a@deep.sub.example.test
	[[ ${lines[0]} == ok$'\t'* ]]
	# not the bare domain: that goes by MX, and example.test does not exist
	send example.test "$SENDER" a@example.test
	[ "${lines[0]}" = "$(tabs fail a@example.test 'the domain example.test does not exist (#5.1.2)')" ]

	routes ".example.test:127.0.0.1:$dead" "sub.example.test:127.0.0.1:$PORT"
	send sub.example.test "$SENDER" a@sub.example.test
	[[ ${lines[0]} == ok$'\t'* ]]
	routes "sub.example.test:127.0.0.1:$PORT" ".example.test:127.0.0.1:$dead"
	send SUB.Example.TEST "$SENDER" a@SUB.Example.TEST
	[[ ${lines[0]} == ok$'\t'* ]]
	# the longer suffix beats the shorter
	routes ".test:127.0.0.1:$dead" ".example.test:127.0.0.1:$PORT"
	send sub.example.test "$SENDER" a@sub.example.test
	[[ ${lines[0]} == ok$'\t'* ]]
	[ "$(msg_count "$T/srv")" = 5 ]
}

@test "smtproutes: :host:port matches any domain, and loses to every other line" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT"
	dead=$(free_port)
	routes "# comment" "  :127.0.0.1:$PORT  "
	send anything.example "$SENDER" a@anything.example
	[ "${lines[0]}" = "$(tabs ok a@anything.example '127.0.0.1 said: 250 2.0.0 ok 1')" ]
	routes ":127.0.0.1:$dead" "example.test:127.0.0.1:$PORT"
	send example.test "$SENDER" a@example.test
	[[ ${lines[0]} == ok$'\t'* ]]
	routes ":127.0.0.1:$dead" ".example.test:127.0.0.1:$PORT"
	send sub.example.test "$SENDER" a@sub.example.test
	[[ ${lines[0]} == ok$'\t'* ]]
	[ "$(msg_count "$T/srv")" = 3 ]
}

@test "smtproutes: an empty host means MX (example.test: and example.test::PORT)" {
	dns_use
	smtpd_start "$T/mx1" 127.0.0.2 "$PORT"
	# A host would be looked up, and a missing one deferred; a domain
	# without MX or address is a permanent failure.
	routes "nx.test:" ":127.0.0.1:$PORT"
	send nx.test "$SENDER" a@nx.test
	[ "${lines[0]}" = "$(tabs fail a@nx.test 'the domain nx.test does not exist (#5.1.2)')" ]
	routes "example.test:nx.test" ":127.0.0.1:$PORT"
	send example.test "$SENDER" a@example.test
	[[ ${lines[0]} == defer$'\t'a@example.test$'\t'*'nx.test'*'(#4.4.1)' ]]
	# With a port: the MX at that port.
	routes "mx.test::$PORT"
	send mx.test "$SENDER" a@mx.test
	[ "${lines[0]}" = "$(tabs ok a@mx.test 'mx1.mx.test said: 250 2.0.0 ok 1')" ]
	[ "$(conn_count "$T/mx1")" = 1 ]
}

@test "smtproutes: an address literal goes to that address, at the route's port" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT"
	routes "[127.0.0.1]::$PORT"
	send '[127.0.0.1]' "$SENDER" 'a@[127.0.0.1]'
	[ "${lines[0]}" = "$(tabs ok 'a@[127.0.0.1]' '127.0.0.1 said: 250 2.0.0 ok 1')" ]
	[ "$(cat "$T/srv/msg.1/rcpt")" = 'a@[127.0.0.1]' ]
}

@test "smtproutes: a malformed entry is a temporary failure (exit 111), nothing sent" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT"
	for bad in "example.test:127.0.0.1:x$PORT" 'example.test:127.0.0.1:0' \
	    'example.test:127.0.0.1:65536' 'example.test:[127.0.0.1' \
	    "example.test:127.0.0.1:$PORT:25"; do
		routes "$bad"
		send example.test "$SENDER" a@example.test
		[ "$status" = 111 ]
		[ "$output" = '' ]
		[ "$stderr" = 'smtp-send: fatal: control/smtproutes: malformed entry' ]
	done
	[ "$(conn_count "$T/srv")" = 0 ]
}

@test "a route host with two addresses: the dead one is skipped for the live one" {
	# dnsmasq hands out the two addresses in turn: some of the runs
	# meet the dead one first.
	dns_use --host-record=two.test,127.0.0.5 --host-record=two.test,127.0.0.3
	smtpd_start "$T/srv" 127.0.0.3 "$PORT"
	routes "example.test:two.test:$PORT"
	# under strace where it may, to see that the dead address was tried
	local traced=
	if strace -f -o /dev/null true 2>/dev/null; then
		traced=1
		smtp-send() {
			strace -f -qq -e trace=connect -o "$T/trace.$i" \
			    "$VDMAIL_LIBEXEC/smtp-send" "$@"
		}
	fi
	for i in 1 2 3 4; do
		send example.test "$SENDER" a@example.test
		[ "${lines[0]}" = "$(tabs ok a@example.test "two.test said: 250 2.0.0 ok $i")" ]
	done
	[ "$(conn_count "$T/srv")" = 4 ]
	if [ -n "$traced" ]; then
		unset -f smtp-send
		[ "$(cat "$T"/trace.* | grep -c 'inet_addr("127.0.0.5")')" -ge 1 ]
	fi
}

# --- MX through DNS (dnsmasq) ---

@test "MX: the lowest preference gets the mail when both are up" {
	dns_use
	smtpd_start "$T/mx1" 127.0.0.2 "$PORT"
	smtpd_start "$T/mx2" 127.0.0.3 "$PORT"
	routes "mx.test::$PORT"
	send mx.test "$SENDER" a@mx.test b@mx.test
	[ "$status" = 0 ]
	[ "${lines[0]}" = "$(tabs ok a@mx.test 'mx1.mx.test said: 250 2.0.0 ok 1')" ]
	[ "${lines[1]}" = "$(tabs ok b@mx.test 'mx1.mx.test said: 250 2.0.0 ok 1')" ]
	[ "$(msg_count "$T/mx1")" = 1 ]
	[ "$(conn_count "$T/mx2")" = 0 ]
	[ "$(cat "$T/mx1/msg.1/peer")" = 127.0.0.1 ]
}

@test "MX: the first one down, the second gets the mail" {
	dns_use
	smtpd_start "$T/mx2" 127.0.0.3 "$PORT"
	routes "mx.test::$PORT"
	send mx.test "$SENDER" a@mx.test
	[ "${lines[0]}" = "$(tabs ok a@mx.test 'mx2.mx.test said: 250 2.0.0 ok 1')" ]
	[ "$(msg_count "$T/mx2")" = 1 ]
	# the same for dead.test, whose first MX has an address where
	# nothing listens
	routes "dead.test::$PORT"
	send dead.test "$SENDER" a@dead.test
	[ "${lines[0]}" = "$(tabs ok a@dead.test 'mx2.dead.test said: 250 2.0.0 ok 2')" ]
}

@test "MX: every one down, defer naming the last error" {
	dns_use
	routes "mx.test::$PORT"
	send mx.test "$SENDER" a@mx.test
	[ "${lines[0]}" = "$(tabs defer a@mx.test "could not deliver to any mail exchanger of mx.test: mx2.mx.test port $PORT: Connection refused (#4.4.1)")" ]
}

@test "MX: a 4xx greeting from the first MX gives way to the second" {
	dns_use
	smtpd_start "$T/mx1" 127.0.0.2 "$PORT" --greet 421
	smtpd_start "$T/mx2" 127.0.0.3 "$PORT"
	routes "mx.test::$PORT"
	send mx.test "$SENDER" a@mx.test
	[ "${lines[0]}" = "$(tabs ok a@mx.test 'mx2.mx.test said: 250 2.0.0 ok 1')" ]
	[ "$(conn_count "$T/mx1")" = 1 ]
	[ "$(msg_count "$T/mx1")" = 0 ]
}

@test "no MX: the domain's own A record (plain.test is 127.0.0.4)" {
	dns_use
	smtpd_start "$T/plain" 127.0.0.4 "$PORT"
	routes "plain.test::$PORT"
	send plain.test "$SENDER" a@plain.test
	[ "${lines[0]}" = "$(tabs ok a@plain.test 'plain.test said: 250 2.0.0 ok 1')" ]
	[ "$(msg_count "$T/plain")" = 1 ]
}

@test "a domain that does not exist (NXDOMAIN): fail, does not exist" {
	dns_use
	routes "nx.test::$PORT"
	send nx.test "$SENDER" a@nx.test b@nx.test
	[ "$status" = 0 ]
	[ "${lines[0]}" = "$(tabs fail a@nx.test 'the domain nx.test does not exist (#5.1.2)')" ]
	[ "${lines[1]}" = "$(tabs fail b@nx.test 'the domain nx.test does not exist (#5.1.2)')" ]
	# an MX host that does not exist is a host that cannot be reached
	dns_use --mx-host=ghost.test,nohost.test,10
	routes "ghost.test::$PORT"
	send ghost.test "$SENDER" a@ghost.test
	[[ ${lines[0]} == defer$'\t'a@ghost.test$'\t'*'nohost.test'*'(#4.4.1)' ]]
}

@test "a DNS server that does not answer: defer" {
	# setup's control/dnsservers names a port where nothing listens
	routes "mx.test::$PORT"
	SECONDS=0
	send mx.test "$SENDER" a@mx.test
	[ "$status" = 0 ]
	[[ ${lines[0]} == defer$'\t'a@mx.test$'\t''DNS trouble looking up the mail exchangers of mx.test: '*'(#4.4.3)' ]]
	[ "$SECONDS" -le $((30 * REMOTE_SLOW)) ]
}

# --- usage and errors ---

@test "usage: fewer than three arguments, exit 100" {
	run -100 --separate-stderr smtp-send example.test "$SENDER"
	[ "$output" = '' ]
	[ "$stderr" = 'smtp-send: fatal: usage: smtp-send DOMAIN SENDER RECIPIENT...' ]
	run -100 --separate-stderr smtp-send
	[[ $stderr == 'smtp-send: fatal: usage: '* ]]
}

@test "a malformed domain or recipient: exit 100, nothing sent" {
	smtpd_start "$T/srv" 127.0.0.1 "$PORT"
	routes ":127.0.0.1:$PORT"
	send 'bad..domain' "$SENDER" a@example.test
	[ "$status" = 100 ]
	[ "$output" = '' ]
	[ "$stderr" = 'smtp-send: fatal: malformed domain or sender' ]
	send example.test "$SENDER" $'a\r\nRSET@example.test'
	[ "$status" = 100 ]
	[ "$stderr" = 'smtp-send: fatal: malformed recipient: argument 3' ]
	[ "$(conn_count "$T/srv")" = 0 ]
}

@test "control/timeoutremote out of range: exit 111" {
	control timeoutremote 0
	send example.test "$SENDER" a@example.test
	[ "$status" = 111 ]
	[ "$output" = '' ]
	[ "$stderr" = 'smtp-send: fatal: timeoutconnect or timeoutremote out of range' ]
}
