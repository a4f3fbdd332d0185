# t/forward.bats -- forward address...: the message on stdin back into the
# queue through queue-inject (or $QMAILQUEUE), with $NEWSENDER as the
# envelope sender and $DTLINE, when set, on top of the message.
load helpers/common

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	mkdir -p "$T/root"
	test-queue make "$T/root/queue"
	export VDMAIL_ROOT=$T/root
	Q=$T/root/queue
	printf 'From: a@b.c\nTo: x@y.z\nSubject: fwd\n\nbody\n' >msg
}

# unpack QFILE ENV-OUT MSG-OUT: cut a queue file into its envelope and its
# message by the sizes in its header (read here, not with the library).
unpack() {
	python3 - "$@" <<'EOF'
import sys
raw = open(sys.argv[1], 'rb').read()
head_end = raw.index(b'\n\n') + 2
head = {}
for line in raw[:head_end].decode().splitlines()[1:]:
    if line:
        key, value = line.split(' ', 1)
        head[key] = value
n_env, n_msg = int(head['envelope']), int(head['message'])
if head_end + n_env + n_msg != len(raw):
    sys.exit('%s: sizes do not add up' % sys.argv[1])
open(sys.argv[2], 'wb').write(raw[head_end:head_end + n_env])
open(sys.argv[3], 'wb').write(raw[head_end + n_env:])
EOF
}

queued() { ls -A "$Q/new"; }

# one_queued: exactly one message in new/, nothing in tmp/; its envelope
# into got.env and its message into got.msg.
one_queued() {
	[ "$(queued | wc -l)" -eq 1 ] || { echo "new/: $(queued)"; return 1; }
	[ -z "$(ls -A "$Q/tmp")" ] || { echo "tmp/: $(ls -A "$Q/tmp")"; return 1; }
	unpack "$Q/new/$(queued)" got.env got.msg
}

nothing_queued() {
	[ -z "$(queued)" ] || { echo "new/: $(queued)"; return 1; }
	[ -z "$(ls -A "$Q/tmp")" ] || { echo "tmp/: $(ls -A "$Q/tmp")"; return 1; }
}

# qq CODE: a QMAILQUEUE script that exits with CODE without reading.
qq() {
	printf '#!/bin/sh\nexit %s\n' "$1" >"qq$1"
	chmod +x "qq$1"
	echo "$T/qq$1"
}

# --- queueing ---

@test "NEWSENDER and DTLINE: one message, the envelope and the Delivered-To line" {
	NEWSENDER=s@x.org DTLINE=$'Delivered-To: a@b.c\n' \
	    run -0 --separate-stderr forward r1@x r2@y <msg
	[ "$output" = '' ]
	[ "$stderr" = '' ]
	one_queued
	printf 'Fs@x.org\0Tr1@x\0Tr2@y\0\0' >want.env
	cmp want.env got.env
	{ printf 'Delivered-To: a@b.c\n'; cat msg; } >want.msg
	cmp want.msg got.msg
}

@test "without DTLINE the message is queued unchanged" {
	NEWSENDER=s@x.org run -0 forward r1@x <msg
	one_queued
	cmp msg got.msg
	printf 'Fs@x.org\0Tr1@x\0\0' >want.env
	cmp want.env got.env
}

@test "an empty DTLINE adds nothing" {
	NEWSENDER=s@x.org DTLINE= run -0 forward r1@x <msg
	one_queued
	cmp msg got.msg
}

@test "an empty NEWSENDER is the null sender" {
	NEWSENDER= run -0 forward r1@x <msg
	one_queued
	printf 'F\0Tr1@x\0\0' >want.env
	cmp want.env got.env
}

@test "the message is kept byte for byte, from a pipe, 2 MB of binary" {
	head -c 2000000 /dev/urandom >big
	NEWSENDER=s@x.org run -0 bash -c 'set -o pipefail; cat big | forward r@x'
	one_queued
	cmp big got.msg
}

@test "an empty message is queued (with the DTLINE alone)" {
	: >empty
	NEWSENDER=s@x.org DTLINE=$'Delivered-To: a@b.c\n' run -0 forward r@x <empty
	one_queued
	[ "$(cat got.msg)" = 'Delivered-To: a@b.c' ]
}

@test "many recipients keep their order" {
	set -- $(seq -f 'user%g@example.net' 1 50)
	NEWSENDER=s@x.org run -0 forward "$@" <msg
	one_queued
	{ printf 'Fs@x.org\0'; printf 'T%s\0' "$@"; printf '\0'; } >want.env
	cmp want.env got.env
}

# --- refusals ---

@test "no NEWSENDER: exit 100, nothing queued" {
	run -100 --separate-stderr forward r@x <msg
	[ "$output" = '' ]
	[ "$stderr" = 'forward: fatal: NEWSENDER is not set' ]
	nothing_queued
}

@test "a NEWSENDER with a control character: exit 100" {
	NEWSENDER=$'s\n@x' run -100 --separate-stderr forward r@x <msg
	[ "$stderr" = 'forward: fatal: NEWSENDER is malformed' ]
	nothing_queued
}

@test "no address: exit 100 with the usage line" {
	NEWSENDER=s@x.org run -100 --separate-stderr forward <msg
	[ "$stderr" = 'forward: fatal: usage: forward address ...' ]
	nothing_queued
}

@test "an empty address or one with a control character: exit 100" {
	NEWSENDER=s@x.org run -100 --separate-stderr forward r@x '' <msg
	[ "$stderr" = 'forward: fatal: malformed address: argument 2' ]
	NEWSENDER=s@x.org run -100 --separate-stderr forward $'r\t@x' <msg
	[ "$stderr" = 'forward: fatal: malformed address: argument 1' ]
	nothing_queued
}

@test "the address limit: 1000 bytes pass, 1001 are refused" {
	a=$(printf 'a%.0s' $(seq 990))@x.example
	[ "${#a}" -eq 1000 ]
	NEWSENDER=s@x.org run -0 forward "$a" <msg
	one_queued
	rm -f "$Q"/new/*
	NEWSENDER=s@x.org run -100 forward "b$a" <msg
	nothing_queued
}

# --- QMAILQUEUE and the injector's verdict ---

@test "QMAILQUEUE is run in place of queue-inject, with the same two streams" {
	cat >myqueue <<EOF
#!/bin/sh
cat >"$T/seen.msg"
cat <&1 >"$T/seen.env"
EOF
	chmod +x myqueue
	QMAILQUEUE=$T/myqueue NEWSENDER=s@x.org DTLINE=$'Delivered-To: a@b.c\n' \
	    run -0 forward r1@x r2@y <msg
	nothing_queued
	printf 'Fs@x.org\0Tr1@x\0Tr2@y\0\0' >want.env
	cmp want.env seen.env
	{ printf 'Delivered-To: a@b.c\n'; cat msg; } >want.msg
	cmp want.msg seen.msg
}

@test "QMAILQUEUE exiting 31 (permanent): exit 100, the code on stderr" {
	QMAILQUEUE=$(qq 31) NEWSENDER=s@x.org run -100 --separate-stderr forward r@x <msg
	[ "$stderr" = 'forward: fatal: queue-inject: code 31 (message refused)' ]
	nothing_queued
}

@test "QMAILQUEUE exiting 31 without reading a large message: still 100, no SIGPIPE" {
	head -c 1000000 /dev/urandom >big
	for i in 1 2 3; do
		QMAILQUEUE=$(qq 31) NEWSENDER=s@x.org run -100 forward r@x <big
	done
}

@test "QMAILQUEUE exiting 53 (temporary): exit 111" {
	QMAILQUEUE=$(qq 53) NEWSENDER=s@x.org run -111 --separate-stderr forward r@x <msg
	[ "$stderr" = 'forward: fatal: queue-inject: code 53 (write error, disk full?)' ]
	nothing_queued
}

@test "QMAILQUEUE exiting 11..40 is permanent, others temporary" {
	for c in 11 40; do
		QMAILQUEUE=$(qq "$c") NEWSENDER=s@x.org run -100 forward r@x <msg
	done
	for c in 1 10 41 81 100 111; do
		QMAILQUEUE=$(qq "$c") NEWSENDER=s@x.org run -111 forward r@x <msg
	done
}

@test "QMAILQUEUE killed by a signal: exit 111" {
	printf '#!/bin/sh\nkill -9 $$\n' >killed
	chmod +x killed
	QMAILQUEUE=$T/killed NEWSENDER=s@x.org run -111 --separate-stderr forward r@x <msg
	[ "$stderr" = 'forward: fatal: queue-inject: code -1 (crashed)' ]
}

@test "QMAILQUEUE naming no program: exit 111" {
	QMAILQUEUE=$T/nosuch NEWSENDER=s@x.org run -111 --separate-stderr forward r@x <msg
	[[ "$stderr" == 'forward: fatal: '* ]]
	nothing_queued
}

@test "a missing queue: exit 111" {
	rm -rf "$Q"
	NEWSENDER=s@x.org run -111 --separate-stderr forward r@x <msg
	[ "$output" = '' ]
	[ "$stderr" = 'forward: fatal: queue-inject: code 61 (unable to enter the queue)' ]
	[ ! -e "$Q" ]
}
