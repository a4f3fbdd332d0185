# t/maildir-store.bats -- maildir-store [-s maxbytes] DIR: stdin byte for
# byte into DIR/tmp/, fsync, then DIR/new/ under a unique name; nothing left
# behind after a failure.
load helpers/common

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	mkdir -p md/tmp md/new md/cur
	# bytes that a careless copy would change: NUL, CR, 8-bit, no final LF
	printf 'Subject: x\r\n\r\n\0\001\377 body\nFrom me\n.\nend' >msg
}

new_files() { ls -A md/new; }
tmp_files() { ls -A md/tmp; }

# stored_ok FILE: exactly one file in new/, equal to FILE; tmp/ empty.
stored_ok() {
	[ "$(new_files | wc -l)" -eq 1 ] || { echo "new/: $(new_files)"; return 1; }
	[ -z "$(tmp_files)" ] || { echo "tmp/: $(tmp_files)"; return 1; }
	cmp "$1" "md/new/$(new_files)"
}

nothing_left() {
	[ -z "$(new_files)" ] || { echo "new/: $(new_files)"; return 1; }
	[ -z "$(tmp_files)" ] || { echo "tmp/: $(tmp_files)"; return 1; }
}

# --- storing ---

@test "a regular file on stdin is stored byte for byte into new/" {
	run -0 --separate-stderr maildir-store md <msg
	[ "$output" = '' ]
	[ "$stderr" = '' ]
	stored_ok msg
	[ -z "$(ls -A md/cur)" ]
}

@test "a pipe on stdin is stored byte for byte" {
	head -c 300000 /dev/urandom >big
	run -0 bash -c 'set -o pipefail; cat big | maildir-store md'
	stored_ok big
}

@test "a pipe that delivers in small pieces is stored whole" {
	head -c 200000 /dev/urandom >big
	run -0 bash -c 'set -o pipefail
python3 -c "
import sys, time
data = open(\"big\", \"rb\").read()
for k in range(0, len(data), 7000):
    sys.stdout.buffer.write(data[k:k + 7000]); sys.stdout.flush(); time.sleep(0.001)
" | maildir-store md'
	stored_ok big
}

@test "a regular file is read from its current offset, not from its start" {
	{ head -c 5 >/dev/null; maildir-store md; } <msg
	tail -c +6 msg >rest
	stored_ok rest
}

@test "an empty message makes an empty file" {
	: >empty
	run -0 maildir-store md <empty
	stored_ok empty
	[ ! -s "md/new/$(new_files)" ]
}

@test "the stored file is not readable by group or others" {
	umask 000
	maildir-store md <msg
	perm=$(stat -c %a "md/new/$(new_files)")
	[ "$perm" = 600 ]
}

# --- names ---

@test "the name has the Maildir form time.MusecPpid_Rrandom.host" {
	run -0 maildir-store md <msg
	name=$(new_files)
	[[ "$name" =~ ^([0-9]+)\.M([0-9]+)P([0-9]+)_R([0-9a-f]{12})\.(.+)$ ]]
	t=${BASH_REMATCH[1]} usec=${BASH_REMATCH[2]} host=${BASH_REMATCH[5]}
	now=$(date +%s)
	[ "$t" -le "$now" ]
	[ "$t" -ge $((now - 60)) ]
	[ "$usec" -lt 1000000 ]
	want=$(hostname | sed 's|/|\\057|g; s|:|\\072|g')
	[ "$host" = "$want" ]
}

@test "50 stores give 50 distinct names, each with its own bytes" {
	for n in $(seq 50); do
		printf 'message %d\n' "$n" | maildir-store md
	done
	[ "$(new_files | wc -l)" -eq 50 ]
	[ "$(new_files | sort -u | wc -l)" -eq 50 ]
	[ -z "$(tmp_files)" ]
	[ "$(cat md/new/* | sort -u | wc -l)" -eq 50 ]
}

@test "10 stores at once give 10 distinct names" {
	for n in $(seq 10); do
		printf 'message %d\n' "$n" | maildir-store md &
	done
	fails=0
	for job in $(jobs -p); do
		wait "$job" || fails=$((fails + 1))
	done
	[ "$fails" -eq 0 ]
	[ "$(new_files | wc -l)" -eq 10 ]
	[ -z "$(tmp_files)" ]
}

# --- the -s limit ---

@test "-s: a message of exactly maxbytes is stored" {
	head -c 4096 /dev/urandom >m
	run -0 maildir-store -s 4096 md <m
	stored_ok m
}

@test "-s: a message one byte under maxbytes is stored" {
	head -c 4095 /dev/urandom >m
	run -0 maildir-store -s 4096 md <m
	stored_ok m
}

@test "-s: one byte over: exit 100, the exact line on stderr, nothing left" {
	head -c 4097 /dev/urandom >m
	run -100 --separate-stderr maildir-store -s 4096 md <m
	[ "$output" = '' ]
	[ "$stderr" = 'maildir-store: fatal: md: message over 4096 bytes' ]
	nothing_left
}

@test "-s: far over the limit from a pipe: exit 100, nothing left" {
	run -100 bash -c 'head -c 500000 /dev/zero | maildir-store -s 65536 md'
	nothing_left
}

@test "-s: the limit counts the bytes from the current offset" {
	head -c 4100 /dev/urandom >m
	run -0 bash -c '{ head -c 4 >/dev/null; maildir-store -s 4096 md; } <m'
	tail -c +5 m >rest
	stored_ok rest
}

@test "-s 0 means no limit" {
	head -c 100000 /dev/urandom >m
	run -0 maildir-store -s 0 md <m
	stored_ok m
}

# --- failures ---

@test "a missing DIR: exit 111, stderr names it, nothing made" {
	run -111 --separate-stderr maildir-store nosuch <msg
	[ "$output" = '' ]
	[ "$stderr" = 'maildir-store: fatal: nosuch: No such file or directory' ]
	[ ! -e nosuch ]
}

@test "a DIR without tmp/: exit 111, stderr names it, nothing in new/" {
	rmdir md/tmp
	run -111 --separate-stderr maildir-store md <msg
	[ "$stderr" = 'maildir-store: fatal: md: No such file or directory' ]
	[ -z "$(new_files)" ]
	[ ! -e md/tmp ]
}

@test "a DIR without new/: exit 111, nothing left in tmp/" {
	rmdir md/new
	run -111 --separate-stderr maildir-store md <msg
	[[ "$stderr" == 'maildir-store: fatal: md: '* ]]
	[ -z "$(tmp_files)" ]
}

@test "unreadable stdin (a directory): exit 111, nothing left" {
	mkdir adir
	run -111 --separate-stderr maildir-store md <adir
	[[ "$stderr" == 'maildir-store: fatal: md: '* ]]
	nothing_left
}

@test "usage errors exit 100 with a usage line" {
	run -100 --separate-stderr maildir-store <msg
	[ "$stderr" = 'maildir-store: fatal: usage: maildir-store [-s maxbytes] DIR' ]
	run -100 maildir-store md md <msg
	run -100 maildir-store -x md <msg
	run -100 maildir-store -s <msg
	run -100 maildir-store -s abc md <msg
	run -100 maildir-store -s -5 md <msg
	run -100 maildir-store -s 10k md <msg
	run -100 maildir-store -s 99999999999999999999999 md <msg
	nothing_left
}
