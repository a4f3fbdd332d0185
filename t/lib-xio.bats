# t/lib-xio.bats -- src/lib/xio: EINTR-safe I/O (driver: test-xio)
load helpers/common

# N bytes that are not all alike, so that a lost or doubled block shows.
pattern() {
	python3 -c 'import sys
n = int(sys.argv[1])
sys.stdout.buffer.write(bytes((i * 7 + i // 251) % 256 for i in range(n)))' "$1"
}

@test "write_all: 1 MiB through a pipe arrives whole" {
	pattern 1048576 >in
	bash -c 'set -o pipefail; test-xio copy <in | { sleep 0.2; cat; } >out'
	cmp in out
}

@test "write_all: 1 MiB through a slow pipe, interrupted by signals, arrives whole" {
	pattern 1048576 >in
	# a SIGALRM every millisecond (no SA_RESTART) while the reader is slow
	bash -c 'set -o pipefail
test-xio copy 1000 <in 2>err | python3 -c "
import sys, time
out = open(\"out\", \"wb\")
while True:
    b = sys.stdin.buffer.read1(4096)
    if not b:
        break
    out.write(b)
    time.sleep(0.0005)
"'
	cmp in out
	grep -Eq '^signals=[1-9][0-9]*$' err
}

@test "write_all: into a file, bytes exact (empty and large)" {
	: >empty
	test-xio copy <empty >out
	[ ! -s out ]
	pattern 3000000 >in
	test-xio copy <in >out
	cmp in out
}

@test "write_all: a reader that went away is an error, not a hang" {
	pattern 1048576 >in
	run bash -c 'trap "" PIPE; test-xio copy <in 2>err | head -c 10 >/dev/null
exit ${PIPESTATUS[0]}'
	[ "$status" -eq 1 ]
	grep -q 'Broken pipe' err
}

@test "fsync_dir: an existing directory is ok" {
	mkdir d
	run -0 test-xio fsyncdir "$T/d"
	[ "$output" = ok ]
}

@test "fsync_dir: a missing directory fails with ENOENT" {
	run -1 test-xio fsyncdir "$T/missing"
	[ "$output" = 'err 2 No such file or directory' ]
}

@test "fsync_dir: a plain file is not a directory (ENOTDIR)" {
	: >file
	run -1 test-xio fsyncdir "$T/file"
	[ "$output" = 'err 20 Not a directory' ]
}

@test "close_checked: a closed descriptor is EBADF" {
	run -1 test-xio close 57
	[ "$output" = 'err 9 Bad file descriptor' ]
	run -0 test-xio close 0 </dev/null
	[ "$output" = ok ]
}

@test "wait_readable: times out on an idle pipe within the time asked" {
	mkfifo idle
	exec 7<>idle		# a writer that never writes
	run -0 test-xio wait 300 <&7
	exec 7<&-
	[[ "$output" =~ ^timeout\ ms=([0-9]+)$ ]]
	ms=${BASH_REMATCH[1]}
	[ "$ms" -ge 290 ]
	[ "$ms" -lt 3000 ]
}

@test "wait_readable: a zero timeout returns at once" {
	mkfifo idle
	exec 7<>idle
	run -0 test-xio wait 0 <&7
	exec 7<&-
	[[ "$output" =~ ^timeout\ ms=([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" -lt 1000 ]
}

@test "wait_readable: ready at once when data is waiting" {
	mkfifo busy
	exec 7<>busy
	printf x >&7
	run -0 test-xio wait 10000 <&7
	exec 7<&-
	[[ "$output" =~ ^ready\ ms=([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" -lt 1000 ]
}

@test "wait_readable: ready when data comes later, before the deadline" {
	mkfifo late
	exec 7<>late
	( sleep 0.3; printf x >&7 ) &
	run -0 test-xio wait 10000 <&7
	wait
	exec 7<&-
	[[ "$output" =~ ^ready\ ms=([0-9]+)$ ]]
	ms=${BASH_REMATCH[1]}
	[ "$ms" -ge 200 ]
	[ "$ms" -lt 5000 ]
}

@test "wait_readable: end of input counts as readable" {
	run -0 test-xio wait 10000 </dev/null
	[[ "$output" =~ ^ready\ ms= ]]
}

# hold byte 1 of FILE (the sync lock of sync_filesystem_shared) for SECS
# seconds; FILE.held appears once it is held
hold_sync_lock() {
	python3 - "$1" "$2" <<'PY' &
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 1, 1)
open(sys.argv[1] + ".held", "w").close()
time.sleep(float(sys.argv[2]))
PY
	holder=$!
	for ((i = 0; i < 200; i++)); do
		[ ! -e "$1.held" ] || return 0
		sleep 0.02
	done
	return 1
}

@test "sync_filesystem_shared: a waiter has the sync lock as soon as its holder lets go, asleep in the kernel meanwhile; the caller's timer runs on" {
	: >lock
	echo data >file
	hold_sync_lock lock 0.12
	run -0 test-xio shared file lock 10000
	wait "$holder"
	[[ "$output" =~ ^ok\ ms=([0-9]+)\ left=([0-9]+)\ signals=0$ ]]
	ms=${BASH_REMATCH[1]} left=${BASH_REMATCH[2]}
	# it waited for the holder, and had the lock before the quarter
	# second's bound
	[ "$ms" -ge 40 ]
	[ "$ms" -lt 240 ]
	[ "$left" -le 10000 ]
	[ "$left" -ge $((10000 - ms - 1000)) ]
	strace -f -o /dev/null true 2>/dev/null || skip 'ptrace is not permitted here'
	rm -f lock.held
	hold_sync_lock lock 0.12
	strace -qq -e trace=fcntl,nanosleep,clock_nanosleep -o trace \
	    test-xio shared file lock 0
	wait "$holder"
	grep -q 'F_SETLKW, {l_type=F_WRLCK, l_whence=SEEK_SET, l_start=1,' trace
	if grep -q 'nanosleep' trace; then return 1; fi
}

@test "sync_filesystem_shared: a holder that never lets go holds the caller up a quarter second, then it syncs alone; its timer runs on" {
	: >lock
	echo data >file
	hold_sync_lock lock 5
	run -0 test-xio shared file lock 10000
	kill "$holder"
	[[ "$output" =~ ^ok\ ms=([0-9]+)\ left=([0-9]+)\ signals=0$ ]]
	ms=${BASH_REMATCH[1]} left=${BASH_REMATCH[2]}
	[ "$ms" -ge 240 ]
	[ "$ms" -lt 3000 ]
	[ "$left" -le $((10000 - 240)) ]
	[ "$left" -ge $((10000 - ms - 1000)) ]
}

@test "sync_filesystem_shared: the caller's own timer, due during the wait, ends it and its handler has the SIGALRM" {
	: >lock
	echo data >file
	hold_sync_lock lock 5
	run -0 test-xio shared file lock 100
	kill "$holder"
	[[ "$output" =~ ^ok\ ms=([0-9]+)\ left=0\ signals=1$ ]]
	[ "${BASH_REMATCH[1]}" -ge 90 ]
	[ "${BASH_REMATCH[1]}" -lt 240 ]
}
