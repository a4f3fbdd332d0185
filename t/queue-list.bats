# t/queue-list.bats -- queue-list: one line per recipient,
#   ID <TAB> STATE <TAB> DATE <TAB> <sender> <TAB> <recipient>
# for every message in $VDMAIL_ROOT/queue (new/ and mess/B/), the state of
# a taken-up message read from state/B/ID.
load helpers/common

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	mkdir -p "$T/root"
	test-queue make "$T/root/queue"
	export VDMAIL_ROOT=$T/root TZ=UTC
	Q=$T/root/queue
	printf 'Subject: q\n\nbody\n' >msg
}

# inject ID SENDER RCPT...: queue a message under the id ID.
inject() {
	local id=$1 sender=$2

	shift 2
	{ printf 'F%s\0' "$sender"; printf 'T%s\0' "$@"; printf '\0'; } >env.$$
	VDMAIL_MSGID=$id queue-inject <msg 1<env.$$
	rm -f env.$$
}

# take ID: move new/ID into mess/B/ID, as queue-run does.
take() {
	mv "$Q/new/$1" "$Q/mess/${1: -1}/$1"
}

# date_of FILE: the header's time, as queue-list prints it (TZ=UTC).
date_of() {
	local t

	t=$(sed -n 3p "$1")
	date -u -d "@${t#time }" '+%Y-%m-%d %H:%M:%S'
}

# row ID STATE DATE SENDER RCPT: one expected line.
row() {
	printf '%s\t%s\t%s\t<%s>\t<%s>\n' "$@"
}

A=1764074000.abcdefghijkmnpqr
B=1764074001.stuvwxyz23456789
C=1764074002.aaaaaaaaaaaaaaaa

@test "an empty queue: no output, exit 0" {
	run -0 --separate-stderr queue-list
	[ "$output" = '' ]
	[ "$stderr" = '' ]
}

@test "a message in new/: one line per recipient, state new" {
	inject "$A" s@x.org r1@x r2@y
	d=$(date_of "$Q/new/$A")
	run -0 --separate-stderr queue-list
	[ "$stderr" = '' ]
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "$(row "$A" new "$d" s@x.org r1@x)" ]
	[ "${lines[1]}" = "$(row "$A" new "$d" s@x.org r2@y)" ]
}

@test "the date is the header's time, in the local time zone" {
	inject "$A" s@x.org r@x
	t=$(sed -n 3p "$Q/new/$A")
	t=${t#time }
	want=$(TZ=Asia/Tokyo date -d "@$t" '+%Y-%m-%d %H:%M:%S')
	TZ=Asia/Tokyo run -0 queue-list
	[ "$(cut -f3 <<<"$output")" = "$want" ]
}

@test "the null sender shows as <>" {
	inject "$A" '' r@x
	run -0 queue-list
	[ "$(cut -f4 <<<"$output")" = '<>' ]
}

@test "a taken-up message with no state file: every recipient pending" {
	inject "$A" s@x.org r1@x r2@y
	d=$(date_of "$Q/new/$A")
	take "$A"
	run -0 queue-list
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "$(row "$A" pending "$d" s@x.org r1@x)" ]
	[ "${lines[1]}" = "$(row "$A" pending "$d" s@x.org r2@y)" ]
}

@test "a state file: pending, done, failed and deferred recipients" {
	inject "$A" s@x.org p@x d@x f@x t@x
	d=$(date_of "$Q/new/$A")
	take "$A"
	printf 'd 1\nf 2 Sorry, no mailbox here by that name. (#5.1.1)\nt 3 2 connection refused\n' \
	    >"$Q/state/r/$A"
	run -0 queue-list
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[0]}" = "$(row "$A" pending "$d" s@x.org p@x)" ]
	[ "${lines[1]}" = "$(row "$A" done "$d" s@x.org d@x)" ]
	[ "${lines[2]}" = "$(row "$A" failed "$d" s@x.org f@x)" ]
	[ "${lines[3]}" = "$(row "$A" deferred "$d" s@x.org t@x)" ]
}

@test "a deferral followed by a delivery shows done; done and failed are final" {
	inject "$A" s@x.org a@x b@x c@x
	take "$A"
	printf 't 0 1 busy\nt 0 2 busy\nd 0\nd 1\nt 1 3 late\nf 2 gone\nd 2\n' >"$Q/state/r/$A"
	run -0 queue-list
	[ "$(cut -f2 <<<"$output" | tr '\n' ' ')" = 'done done failed ' ]
}

@test "state lines for recipients that do not exist, and junk lines, are ignored" {
	inject "$A" s@x.org a@x
	take "$A"
	printf 'd 5\nnonsense\n\nx\nf 99999999999999999999999 x\n' >"$Q/state/r/$A"
	run -0 queue-list
	[ "$(cut -f2 <<<"$output")" = pending ]
}

@test "a last state line cut by a crash (no LF) is not a record, as for queue-run" {
	inject "$A" s@x.org a@x b@x
	take "$A"
	printf 't 0 1 busy\nd 1' >"$Q/state/r/$A"
	run -0 queue-list
	[ "$(cut -f2 <<<"$output" | tr '\n' ' ')" = 'deferred pending ' ]
}

@test "a state file is not applied to a message still in new/" {
	inject "$A" s@x.org a@x
	printf 'd 0\n' >"$Q/state/r/$A"
	run -0 queue-list
	[ "$(cut -f2 <<<"$output")" = new ]
}

@test "messages in new/ and in several buckets of mess/ are all listed" {
	inject "$A" s@x.org a@x
	inject "$B" t@x.org b1@x b2@x
	inject "$C" u@x.org c@x
	take "$B"
	take "$C"
	printf 'd 1\n' >"$Q/state/9/$B"
	run -0 queue-list
	[ "${#lines[@]}" -eq 4 ]
	[ "$(cut -f1,2,5 <<<"$output" | sort)" = "$(printf '%s\tnew\t<a@x>\n%s\tpending\t<b1@x>\n%s\tdone\t<b2@x>\n%s\tpending\t<c@x>' "$A" "$B" "$B" "$C" | sort)" ]
}

@test "a 900-byte address is printed whole" {
	long=$(printf 'l%.0s' $(seq 888))@example.org
	[ "${#long}" -eq 900 ]
	inject "$A" "$long" "$long"
	run -0 queue-list
	[ "$(cut -f4 <<<"$output")" = "<$long>" ]
	[ "$(cut -f5 <<<"$output")" = "<$long>" ]
}

@test "files in new/ that are not named like ids are skipped" {
	inject "$A" s@x.org a@x
	printf 'junk\n' >"$Q/new/notanid"
	printf 'junk\n' >"$Q/mess/r/.hidden"
	run -0 --separate-stderr queue-list
	[ "$stderr" = '' ]
	[ "${#lines[@]}" -eq 1 ]
}

@test "a malformed message file: a warning, the others still listed, exit 0" {
	inject "$A" s@x.org a@x
	printf 'not a queue file\n' >"$Q/new/$B"
	run -0 --separate-stderr queue-list
	[ "$stderr" = "queue-list: warning: new/$B: malformed (run queue-check)" ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(cut -f1 <<<"$output")" = "$A" ]
}

@test "a message file cut short inside its envelope: a warning, exit 0" {
	inject "$A" s@x.org a@x
	# the message is 17 bytes: cut it and 5 bytes of the envelope off
	truncate -s $(($(stat -c %s "$Q/new/$A") - 22)) "$Q/new/$A"
	run -0 --separate-stderr queue-list
	[ "$output" = '' ]
	[ "$stderr" = "queue-list: warning: new/$A: cut short (run queue-check)" ]
}

@test "no queue: exit 111 and the path on stderr" {
	rm -rf "$Q"
	run -111 --separate-stderr queue-list
	[ "$output" = '' ]
	[ "$stderr" = "queue-list: fatal: enter $Q: No such file or directory" ]
}

@test "a missing bucket: exit 111" {
	rmdir "$Q/mess/k"
	run -111 --separate-stderr queue-list
	[ "$stderr" = 'queue-list: fatal: open mess/k: No such file or directory' ]
}

@test "usage: any argument: exit 100" {
	run -100 --separate-stderr queue-list -v
	[ "$output" = '' ]
	[[ "$stderr" == 'queue-list: fatal: usage: queue-list'* ]]
}
