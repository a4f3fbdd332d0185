# t/lib-queue.bats -- src/lib/queue: queue layout and message files (driver: test-queue)
load helpers/common

ID=1764074000.abcdefghijkmnpqr

# qfile FILE ENVELOPE-PRINTF MESSAGE-FILE [VERSION]: a message file written
# by hand (not by the library), with the header's sizes computed here.
qfile() {
	local env_bytes msg_bytes

	printf "$2" >"$1.env"
	env_bytes=$(wc -c <"$1.env")
	msg_bytes=$(wc -c <"$3")
	{
		printf '%s\nid %s\ntime 1764074000\nenvelope %s\nmessage %s\n\n' \
		    "${4:-vdmail-queue 1}" "$ID" "$env_bytes" "$msg_bytes"
		cat "$1.env" "$3"
	} >"$1"
	rm -f "$1.env"
}

@test "make: VERSION, tmp new mess state lock, 32 buckets each, a trigger FIFO, the inflow mark, the sync counts" {
	run -0 test-queue make "$T/q"
	[ "$(cat q/VERSION)" = 'vdmail-queue 1' ]
	[ "$(od -An -c q/VERSION | tr -s ' ')" = ' v d m a i l - q u e u e 1 \n' ]
	[ "$(ls q | tr '\n' ' ')" = 'VERSION lock mess new state tmp ' ]
	for d in tmp new mess state lock; do
		[ -d "q/$d" ]
	done
	alphabet=$(test-msgid alphabet)
	want=$(fold -w1 <<<"$alphabet" | sort | tr -d '\n')
	[ "$(ls q/mess | sort | tr -d '\n')" = "$want" ]
	[ "$(ls q/state | sort | tr -d '\n')" = "$want" ]
	[ "$(find q/mess -mindepth 1 -type d | wc -l)" -eq 32 ]
	[ "$(find q/state -mindepth 1 -type d | wc -l)" -eq 32 ]
	[ -z "$(ls -A q/tmp)" ]
	[ -z "$(ls -A q/new)" ]
	[ "$(ls -A q/lock | tr '\n' ' ')" = 'inflow sync trigger ' ]
	[ "$(stat -c %a q/lock/sync)" = 600 ]
	[ ! -s q/lock/sync ]
	[ -p q/lock/trigger ]
	[ -f q/lock/inflow ]
	[ ! -s q/lock/inflow ]
	# time 0: no mark, so a fresh queue never holds smtp-accept back
	[ "$(stat -c %Y q/lock/inflow)" = 0 ]
}

@test "make: every bucket a message id can name exists" {
	test-queue make "$T/q"
	for id in $(test-msgid new 200); do
		b=$(test-msgid bucket "$id")
		[ -d "q/mess/$b" ] && [ -d "q/state/$b" ] ||
		    { echo "no bucket $b"; return 1; }
	done
}

@test "make: the queue is not world-accessible: others may only pass through queue/ and lock/" {
	umask 022
	test-queue make "$T/q"
	for d in q/tmp q/new q/mess q/state q/mess/a q/state/z; do
		perm=$(stat -c %a "$d")
		[ "${perm: -1}" = 0 ] || { echo "$d: $perm"; return 1; }
	done
	[ "$(stat -c %a q)" = 751 ]
	[ "$(stat -c %a q/lock)" = 751 ]
}

@test "make: running it again on an existing queue is fine and keeps its messages" {
	test-queue make "$T/q"
	printf 'x' >q/new/keep
	run -0 test-queue make "$T/q"
	[ "$(cat q/new/keep)" = x ]
	[ -p q/lock/trigger ]
}

@test "make: a missing parent directory is an error" {
	run -1 --separate-stderr test-queue make "$T/no/such/q"
	[[ "$stderr" == *'No such file or directory' ]]
	[ ! -e no ]
}

@test "header: the exact bytes of the format" {
	test-queue header "$ID" 1764074000 17 42 >h
	printf 'vdmail-queue 1\nid %s\ntime 1764074000\nenvelope 17\nmessage 42\n\n' \
	    "$ID" >want
	cmp want h
}

@test "header: format and parse round trip" {
	test-queue header "$ID" 1764074000 17 42 >h
	run -0 test-queue parse <h
	[ "$output" = "id=$ID time=1764074000 envelope=17 message=42 length=$(wc -c <h)" ]
	test-queue header 1.2222222222222222 0 0 0 >h
	run -0 test-queue parse <h
	[ "$output" = "id=1.2222222222222222 time=0 envelope=0 message=0 length=$(wc -c <h)" ]
	test-queue header 123456789012.zzzzzzzzzzzzzzzz 123456789012 \
	    18446744073709551615 18446744073709551615 >h
	run -0 test-queue parse <h
	[ "$output" = "id=123456789012.zzzzzzzzzzzzzzzz time=123456789012 envelope=18446744073709551615 message=18446744073709551615 length=$(wc -c <h)" ]
}

@test "header: parse stops at the blank line; what follows is not its business" {
	test-queue header "$ID" 5 3 4 >h
	len=$(wc -c <h)
	{ cat h; printf 'F\0\0body'; } >file
	run -0 test-queue parse <file
	[ "$output" = "id=$ID time=5 envelope=3 message=4 length=$len" ]
}

@test "header: malformed headers are refused" {
	good="vdmail-queue 1\nid $ID\ntime 5\nenvelope 3\nmessage 4\n\n"
	printf "$good" | test-queue parse >/dev/null
	for h in \
	    "vdmail-queue 2\nid $ID\ntime 5\nenvelope 3\nmessage 4\n\n" \
	    "vdmail-queue 1 \nid $ID\ntime 5\nenvelope 3\nmessage 4\n\n" \
	    "id $ID\ntime 5\nenvelope 3\nmessage 4\n\n" \
	    "vdmail-queue 1\nid 1234.abc\ntime 5\nenvelope 3\nmessage 4\n\n" \
	    "vdmail-queue 1\nid ../../etc/passwd\ntime 5\nenvelope 3\nmessage 4\n\n" \
	    "vdmail-queue 1\nid $ID\ntime x\nenvelope 3\nmessage 4\n\n" \
	    "vdmail-queue 1\nid $ID\ntime 5\nenvelope -3\nmessage 4\n\n" \
	    "vdmail-queue 1\nid $ID\ntime 5\nenvelope 3x\nmessage 4\n\n" \
	    "vdmail-queue 1\nid $ID\ntime 5\nenvelope \nmessage 4\n\n" \
	    "vdmail-queue 1\nid $ID\ntime 5\nenvelope 99999999999999999999999\nmessage 4\n\n" \
	    "vdmail-queue 1\nid $ID\ntime 5\nmessage 4\nenvelope 3\n\n" \
	    "vdmail-queue 1\nid $ID\ntime 5\nenvelope 3\n\n" \
	    "vdmail-queue 1\nid $ID\ntime 5\nenvelope 3\nmessage 4\n" \
	    "vdmail-queue 1\nid $ID\ntime 5\nenvelope 3\nmessage 4\nF" \
	    "vdmail-queue 1\nid $ID\ntime 5\nenvelope 3\nmessage 4" \
	    "vdmail-queue 1\nid $ID\ntime 5\nenvelope 3\nextra 1\nmessage 4\n\n" \
	    "vdmail-queue 1\nid  $ID\ntime 5\nenvelope 3\nmessage 4\n\n" \
	    "vdmail-queue 1" \
	    ""; do
		run -1 test-queue parse < <(printf "$h")
		[ "$output" = bad ] || { echo "accepted: $h"; return 1; }
	done
}

@test "header: a header longer than QUEUE_HEADER_MAX (256) is refused" {
	pad=$(head -c 300 /dev/zero | tr '\0' 0)
	run -1 test-queue parse < <(printf 'vdmail-queue 1\nid %s\ntime %s5\nenvelope 3\nmessage 4\n\n' "$ID" "$pad")
	[ "$output" = bad ]
}

@test "check: a whole message file is ok" {
	printf 'Subject: hi\n\nbody\n' >msg
	qfile good 'Fa@b.c\0Tx@y.z\0Tu@v.w\0\0' msg
	run -0 test-queue check good
	[ "$output" = 'good: ok' ]
	run -0 test-queue show good
	[ "$output" = "id=$ID time=1764074000 envelope=22 message=18 length=$(($(wc -c <good) - 40))" ]
}

@test "check: the null sender and an empty message are ok" {
	: >empty
	qfile f 'F\0Tx@y.z\0\0' empty
	run -0 test-queue check f
	[ "$output" = 'f: ok' ]
}

@test "check: a message of arbitrary bytes, NULs included, is ok" {
	head -c 100000 /dev/urandom >msg
	qfile f 'Fa@b\0Tc@d\0\0' msg
	run -0 test-queue check f
	[ "$output" = 'f: ok' ]
}

@test "check: a truncated file is bad" {
	printf 'Subject: hi\n\nbody\n' >msg
	qfile f 'Fa@b.c\0Tx@y.z\0\0' msg
	size=$(wc -c <f)
	head -c $((size - 1)) f >cut1
	run -1 test-queue check cut1
	[ "$output" = 'cut1: bad: size does not match header' ]
	# cut inside the envelope
	head -c $((size - 20)) f >cut2
	run -1 test-queue check cut2
	[ "$output" = 'cut2: bad: size does not match header' ]
	# cut inside the header
	head -c 30 f >cut3
	run -1 test-queue check cut3
	[ "$output" = 'cut3: bad: malformed header' ]
	: >cut4
	run -1 test-queue check cut4
	[ "$output" = 'cut4: bad: malformed header' ]
}

@test "check: a file longer than its header says is bad" {
	printf 'body\n' >msg
	qfile f 'Fa@b.c\0Tx@y.z\0\0' msg
	printf 'X' >>f
	run -1 test-queue check f
	[ "$output" = 'f: bad: size does not match header' ]
}

@test "check: a bad version line is bad" {
	printf 'body\n' >msg
	qfile f 'Fa@b.c\0Tx@y.z\0\0' msg 'vdmail-queue 2'
	run -1 test-queue check f
	[ "$output" = 'f: bad: malformed header' ]
	qfile g 'Fa@b.c\0Tx@y.z\0\0' msg 'qmail-queue 1'
	run -1 test-queue check g
	[ "$output" = 'g: bad: malformed header' ]
}

@test "check: an envelope without recipients is bad" {
	printf 'body\n' >msg
	qfile f 'Fa@b\0\0' msg
	run -1 test-queue check f
	[ "$output" = 'f: bad: malformed envelope' ]
}

@test "check: an envelope missing its final NUL is bad" {
	printf 'body\n' >msg
	qfile f 'Fa@b\0Tc@d\0' msg
	run -1 test-queue check f
	[ "$output" = 'f: bad: malformed envelope' ]
	qfile g 'Fa@b\0Tc@d' msg
	run -1 test-queue check g
	[ "$output" = 'g: bad: malformed envelope' ]
}

@test "check: other malformed envelopes are bad" {
	printf 'body\n' >msg
	k=0
	for e in 'Ta@b\0Tc@d\0\0' 'a@b\0Tc@d\0\0' 'Fa@b\0Xc@d\0\0' \
	    'Fa@b\0Tc@d\0\0\0' 'Fa@b\0Tc@d\0\0T' '\0' '' 'F'; do
		k=$((k + 1))
		qfile "f$k" "$e" msg
		run -1 test-queue check "f$k"
		[ "$output" = "f$k: bad: malformed envelope" ] ||
		    { echo "envelope '$e': $output"; return 1; }
	done
}

@test "check: several files, one line each; exit 1 when any is not ok" {
	printf 'body\n' >msg
	qfile a 'Fa@b\0Tc@d\0\0' msg
	qfile b 'Fa@b\0\0' msg
	run -1 test-queue check a b missing a
	[ "${lines[0]}" = 'a: ok' ]
	[ "${lines[1]}" = 'b: bad: malformed envelope' ]
	[ "${lines[2]}" = 'missing: error: No such file or directory' ]
	[ "${lines[3]}" = 'a: ok' ]
	[ "${#lines[@]}" -eq 4 ]
	run -0 test-queue check a a
	[ "$output" = "$(printf 'a: ok\na: ok')" ]
}

@test "queue_state_line: d, f and t marks; a line cut short and run into the next is no mark" {
	run -0 test-queue state 'd 12'
	[ "$output" = 'd 12 []' ]
	run -0 test-queue state 'f 0 550 no such user'
	[ "$output" = 'f 0 [550 no such user]' ]
	run -0 test-queue state 't 3 2 program exited 111: not yet'
	[ "$output" = 't 3 [2 program exited 111: not yet]' ]
	# "d 1" of a cut "d 12" with the next mark appended to it
	for bad in 'd 1d 0' 'd 1t 0 1 x' 'f 1d 0' 'd 12 ' 'd' 'd ' 'd -1' \
	    'd +1' 'x 1' 'd  1' 'dd 1' 'd 99999999999999999999999' 't 1' ''; do
		run -1 test-queue state "$bad"
		[ "$output" = bad ]
	done
}
