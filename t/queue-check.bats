# t/queue-check.bats -- queue-check [-n]: verify $VDMAIL_ROOT/queue and
# repair what a crash or a copy left ("repaired: ..." lines, exit 0), or
# with -n only report it ("damage: ...", exit 1, nothing changed).
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

# snapshot: every name in the queue with its type, mode, size, mtime and
# contents, to show that nothing changed.
snapshot() {
	(cd "$Q" && find . -printf '%p %y %m %s %T@\n' | sort &&
	    find . -type f -exec md5sum {} + | sort)
}

# clean_again: a second run finds nothing.
clean_again() {
	run -0 --separate-stderr queue-check
	[ "$output" = '' ] || { echo "second run: $output"; return 1; }
	[ "$stderr" = '' ]
}

# dry_changes_nothing WANT: queue-check -n prints exactly the lines of
# WANT (in any order), exits 1, and leaves the queue as it was.
dry_changes_nothing() {
	snapshot >before
	run -1 --separate-stderr queue-check -n
	[ "$(sort <<<"$output")" = "$(sort <<<"$1")" ] ||
	    { echo "got: $output"; return 1; }
	[ "$stderr" = '' ]
	snapshot >after
	cmp before after
}

A=1764074000.abcdefghijkmnpqr
B=1764074001.stuvwxyz23456789
C=1764074002.aaaaaaaaaaaaaaaa

# --- a clean queue ---

@test "a fresh empty queue: exit 0, no output" {
	run -0 --separate-stderr queue-check
	[ "$output" = '' ]
	[ "$stderr" = '' ]
	run -0 --separate-stderr queue-check -n
	[ "$output" = '' ]
}

@test "a queue with messages in new/ and mess/ and state files: exit 0, no output" {
	inject "$A" s@x.org a@x
	inject "$B" s@x.org b1@x b2@x
	inject "$C" '' c@x
	take "$B"
	printf 'd 0\nt 1 1 busy\n' >"$Q/state/9/$B"
	snapshot >before
	run -0 --separate-stderr queue-check
	[ "$output" = '' ]
	[ "$stderr" = '' ]
	snapshot >after
	cmp before after
	run -0 queue-check -n
	[ "$output" = '' ]
}

@test "a young file in tmp/ (an injection under way) is left alone" {
	printf 'partial' >"$Q/tmp/$A"
	touch -d '35 hours ago' "$Q/tmp/$A"
	run -0 queue-check
	[ "$output" = '' ]
	[ -f "$Q/tmp/$A" ]
}

# --- each repair, then a clean second run; each with -n first ---

@test "tmp/: a file older than 36 hours is removed" {
	printf 'partial' >"$Q/tmp/$A"
	touch -d '2 days ago' "$Q/tmp/$A"
	printf 'young' >"$Q/tmp/$B"
	dry_changes_nothing "damage: tmp/$A is debris of an interrupted injection"
	run -0 --separate-stderr queue-check
	[ "$output" = "repaired: tmp/$A was debris of an interrupted injection: removed" ]
	[ "$stderr" = '' ]
	[ ! -e "$Q/tmp/$A" ]
	[ -f "$Q/tmp/$B" ]
	clean_again
}

@test "new/: a malformed file is moved to bad/" {
	inject "$A" s@x.org a@x
	printf 'not a queue file\n' >"$Q/new/$B"
	dry_changes_nothing "damage: new/$B: malformed header"
	[ ! -e "$Q/bad" ]
	run -0 queue-check
	[ "$output" = "repaired: new/$B: malformed header: moved to bad/$B" ]
	[ "$(cat "$Q/bad/$B")" = 'not a queue file' ]
	[ ! -e "$Q/new/$B" ]
	[ -f "$Q/new/$A" ]
	clean_again
}

@test "new/: a file cut short is moved to bad/" {
	inject "$A" s@x.org a@x
	truncate -s -3 "$Q/new/$A"
	cp "$Q/new/$A" cut
	dry_changes_nothing "damage: new/$A: size does not match header"
	run -0 queue-check
	[ "$output" = "repaired: new/$A: size does not match header: moved to bad/$A" ]
	cmp cut "$Q/bad/$A"
	clean_again
}

@test "new/: a file with a broken envelope is moved to bad/" {
	inject "$A" s@x.org a@x
	# the envelope's first byte, F, becomes X: same size, wrong form
	off=$(grep -bao 'Fs@x.org' "$Q/new/$A" | cut -d: -f1)
	printf 'X' | dd of="$Q/new/$A" bs=1 seek="$off" conv=notrunc 2>/dev/null
	run -0 queue-check
	[ "$output" = "repaired: new/$A: malformed envelope: moved to bad/$A" ]
	clean_again
}

@test "new/: a file whose name is not an id is moved to bad/" {
	printf 'junk\n' >"$Q/new/junk"
	dry_changes_nothing 'damage: new/junk: not a message name'
	run -0 queue-check
	[ "$output" = 'repaired: new/junk: not a message name: moved to bad/junk' ]
	clean_again
}

@test "a name already in bad/ does not overwrite it" {
	mkdir "$Q/bad"
	printf 'older\n' >"$Q/bad/junk"
	printf 'newer\n' >"$Q/new/junk"
	run -0 queue-check
	[[ "$output" == 'repaired: new/junk: not a message name: moved to bad/junk.'* ]]
	[ "$(cat "$Q/bad/junk")" = older ]
	[ "$(cat "$Q"/bad/junk.*)" = newer ]
	clean_again
}

@test "mess/: a file in the wrong bucket is moved to the right one" {
	inject "$A" s@x.org a@x
	cp "$Q/new/$A" orig
	mv "$Q/new/$A" "$Q/mess/k/$A"
	dry_changes_nothing "damage: mess/k/$A is in the wrong bucket"
	run -0 queue-check
	[ "$output" = "repaired: mess/k/$A was in the wrong bucket: moved to mess/r/$A" ]
	[ ! -e "$Q/mess/k/$A" ]
	cmp orig "$Q/mess/r/$A"
	clean_again
}

@test "a file whose header names another id is quarantined" {
	inject "$A" s@x.org a@x
	mv "$Q/new/$A" "$Q/new/$B"
	dry_changes_nothing "damage: new/$B: its header names another id"
	run -0 queue-check
	[ "$output" = "repaired: new/$B: its header names another id: moved to bad/$B" ]
	[ -z "$(ls -A "$Q/new")" ]
	clean_again
}

@test "a file in mess/ whose header names another id is quarantined too" {
	inject "$A" s@x.org a@x
	mv "$Q/new/$A" "$Q/mess/9/$B"
	run -0 queue-check
	[ "$output" = "repaired: mess/9/$B: its header names another id: moved to bad/$B" ]
	clean_again
}

@test "the same id in new/ and mess/, identical: the new/ copy is removed" {
	inject "$A" s@x.org a@x
	cp -p "$Q/new/$A" "$Q/mess/r/$A"
	dry_changes_nothing "damage: new/$A is also in mess/"
	run -0 queue-check
	[ "$output" = "repaired: new/$A was also in mess/: removed" ]
	[ ! -e "$Q/new/$A" ]
	[ -f "$Q/mess/r/$A" ]
	clean_again
}

@test "the same id in new/ and mess/ as two links of one file: new/ removed" {
	inject "$A" s@x.org a@x
	ln "$Q/new/$A" "$Q/mess/r/$A"
	run -0 queue-check
	[ "$output" = "repaired: new/$A was also in mess/: removed" ]
	[ -f "$Q/mess/r/$A" ]
	clean_again
}

@test "the same id in new/ and mess/ with different contents: new/ quarantined" {
	inject "$A" s@x.org a@x
	take "$A"
	# the same id in new/, made by hand: a whole file of different bytes
	sed 's/Subject: q/Subject: z/' "$Q/mess/r/$A" >"$Q/new/$A"
	run -0 queue-check
	[ "$output" = "repaired: new/$A: differs from the same id in mess/: moved to bad/$A" ]
	[ -f "$Q/mess/r/$A" ]
	clean_again
}

@test "an orphan state file is removed; one of a message in new/ is kept" {
	inject "$A" s@x.org a@x
	printf 'd 0\n' >"$Q/state/r/$A"
	printf 'd 0\n' >"$Q/state/9/$B"
	printf 'x\n' >"$Q/state/9/junk"
	dry_changes_nothing "$(printf 'damage: state/9/%s belongs to no message\ndamage: state/9/junk belongs to no message' "$B")"
	run -0 queue-check
	[ "$(sort <<<"$output")" = "$(printf 'repaired: state/9/%s belonged to no message: removed\nrepaired: state/9/junk belonged to no message: removed' "$B" | sort)" ]
	[ -f "$Q/state/r/$A" ]
	[ -z "$(ls -A "$Q/state/9")" ]
	clean_again
}

@test "a missing mess/B directory is made" {
	rmdir "$Q/mess/k"
	dry_changes_nothing 'damage: mess/k is missing'
	run -0 queue-check
	[ "$output" = 'repaired: mess/k was missing: made' ]
	[ -d "$Q/mess/k" ]
	clean_again
}

@test "missing top directories are made" {
	rm -rf "$Q/tmp" "$Q/state"
	run -0 queue-check
	[ "${lines[0]}" = 'repaired: tmp was missing: made' ]
	[ "${lines[1]}" = 'repaired: state was missing: made' ]
	[ "${#lines[@]}" -eq 34 ]
	[ -d "$Q/state/9" ]
	clean_again
}

@test "a missing lock/trigger is remade as a FIFO" {
	rm "$Q/lock/trigger"
	dry_changes_nothing 'damage: lock/trigger is missing or not a FIFO'
	run -0 queue-check
	[ "$output" = 'repaired: lock/trigger was missing: made' ]
	[ -p "$Q/lock/trigger" ]
	clean_again
}

@test "a regular file in place of lock/trigger is replaced by a FIFO" {
	rm "$Q/lock/trigger"
	: >"$Q/lock/trigger"
	run -0 queue-check
	[ "$output" = 'repaired: lock/trigger was missing: made' ]
	[ -p "$Q/lock/trigger" ]
	clean_again
}

@test "a missing lock/inflow is made as an empty regular file" {
	rm "$Q/lock/inflow"
	dry_changes_nothing 'damage: lock/inflow is missing'
	run -0 queue-check
	[ "$output" = 'repaired: lock/inflow was missing: made' ]
	[ -f "$Q/lock/inflow" ]
	[ ! -s "$Q/lock/inflow" ]
	[ "$(stat -c %Y "$Q/lock/inflow")" = 0 ]
	clean_again
}

@test "a missing lock/sync is made as an empty file of mode 0600" {
	rm "$Q/lock/sync"
	dry_changes_nothing 'damage: lock/sync is missing'
	run -0 queue-check
	[ "$output" = 'repaired: lock/sync was missing: made' ]
	[ -f "$Q/lock/sync" ]
	[ ! -s "$Q/lock/sync" ]
	[ "$(stat -c %a "$Q/lock/sync")" = 600 ]
	clean_again
}

@test "-n with several kinds of damage: one line each, exit 1, nothing changed" {
	inject "$A" s@x.org a@x
	mv "$Q/new/$A" "$Q/mess/k/$A"
	printf 'd 0\n' >"$Q/state/9/$B"
	rmdir "$Q/mess/z"
	rm "$Q/lock/trigger"
	snapshot >before
	run -1 queue-check -n
	[ "${#lines[@]}" -eq 4 ]
	[ "$(grep -c '^damage: ' <<<"$output")" -eq 4 ]
	snapshot >after
	cmp before after
	run -0 queue-check
	[ "${#lines[@]}" -eq 4 ]
	[ "$(grep -c '^repaired: ' <<<"$output")" -eq 4 ]
	clean_again
}

@test "damage that cannot be repaired: a file where a directory belongs, exit 1" {
	rmdir "$Q/mess/k"
	: >"$Q/mess/k"
	run -1 --separate-stderr queue-check
	[ "$output" = 'damage: mess/k is not a directory' ]
	[ "$stderr" = '' ]
	[ -f "$Q/mess/k" ]
	run -1 queue-check -n
	[ "$output" = 'damage: mess/k is not a directory' ]
}

# --- refusals ---

@test "a VERSION of another version: exit 111, nothing changed" {
	printf 'vdmail-queue 2\n' >"$Q/VERSION"
	printf 'x' >"$Q/tmp/old"
	touch -d '2 days ago' "$Q/tmp/old"
	run -111 --separate-stderr queue-check
	[ "$output" = '' ]
	[ "$stderr" = "queue-check: fatal: $Q: not a queue of this version (vdmail-queue 1)" ]
	[ -f "$Q/tmp/old" ]
}

@test "a missing VERSION: exit 111" {
	rm "$Q/VERSION"
	run -111 --separate-stderr queue-check
	[ "$stderr" = "queue-check: fatal: $Q/VERSION: No such file or directory" ]
}

@test "no queue: exit 111" {
	rm -rf "$Q"
	run -111 --separate-stderr queue-check
	[ "$stderr" = "queue-check: fatal: enter $Q: No such file or directory" ]
	[ ! -e "$Q" ]
}

@test "usage: an unknown option or an argument: exit 100" {
	run -100 --separate-stderr queue-check -x
	[ "$output" = '' ]
	[ "${stderr_lines[-1]}" = 'queue-check: fatal: usage: queue-check [-n]' ]
	run -100 --separate-stderr queue-check extra
	[ "$stderr" = 'queue-check: fatal: usage: queue-check [-n]' ]
}

# --- a queue copied with tar ---

@test "a queue copied with tar into another directory checks clean and lists the same" {
	inject "$A" s@x.org a@x
	inject "$B" t@x.org b1@x b2@x
	inject "$C" '' c@x
	take "$B"
	printf 'd 0\nt 1 2 busy\n' >"$Q/state/9/$B"
	run -0 queue-list
	orig=$(sort <<<"$output")
	mkdir -p "$T/copy"
	tar -C "$T/root" -cf - queue | tar -C "$T/copy" -xpf -
	[ -p "$T/copy/queue/lock/trigger" ]
	VDMAIL_ROOT=$T/copy run -0 --separate-stderr queue-check
	[ "$output" = '' ]
	[ "$stderr" = '' ]
	VDMAIL_ROOT=$T/copy run -0 queue-list
	[ "$(sort <<<"$output")" = "$orig" ]
	[ "$(wc -l <<<"$orig")" -eq 4 ]
	# and the original is untouched by the copy
	run -0 queue-check
	[ "$output" = '' ]
}
