# t/queue-inject.bats -- queue-inject: the message on fd 0, the envelope on
# fd 1, one whole file in queue/new/ or nothing; qmail-queue's exit codes.
# The queue files are verified with test-queue check (src/lib/queue) and
# cut into envelope and message here, by the sizes their header states.
load helpers/common

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	mkdir -p "$T/root"
	test-queue make "$T/root/queue"
	export VDMAIL_ROOT=$T/root
	Q=$T/root/queue
	printf 'From: a@b.c\nTo: x@y.z\nSubject: test\n\nbody line\n' >msg
	printf 'Fa@b.c\0Tx@y.z\0\0' >env0
}

# split_qfile QFILE ENV-OUT MSG-OUT: the envelope and the message of a queue
# file, cut by its header's sizes (parsed here, independently of the library).
split_qfile() {
	python3 - "$@" <<'EOF'
import sys
data = open(sys.argv[1], 'rb').read()
end = data.index(b'\n\n') + 2
fields = dict(line.split(' ', 1)
              for line in data[:end].decode().split('\n')[1:] if line)
e, m = int(fields['envelope']), int(fields['message'])
if end + e + m != len(data):
    sys.exit('%s: %d header + %d + %d != %d bytes' %
             (sys.argv[1], end, e, m, len(data)))
open(sys.argv[2], 'wb').write(data[end:end + e])
open(sys.argv[3], 'wb').write(data[end + e:])
EOF
}

# qi MSG ENV [ARG...]: queue-inject with MSG on fd 0 and ENV on fd 1 (a
# function, so that the redirections win over run's capture of stdout).
qi() {
	local m=$1 e=$2

	shift 2
	queue-inject "$@" <"$m" 1<"$e"
}

# The names in new/ and tmp/, one a line.
new_files() { ls -A "$Q/new"; }
tmp_files() { ls -A "$Q/tmp"; }

# queued_ok MSG ENV: exactly one file in new/, nothing in tmp/, the file
# whole, its parts identical to MSG and ENV.  Sets ID to its name.
queued_ok() {
	[ "$(new_files | wc -l)" -eq 1 ] || { echo "new/: $(new_files)"; return 1; }
	[ -z "$(tmp_files)" ] || { echo "tmp/: $(tmp_files)"; return 1; }
	ID=$(new_files)
	run -0 test-queue check "$Q/new/$ID"
	[ "$output" = "$Q/new/$ID: ok" ]
	split_qfile "$Q/new/$ID" got.env got.msg
	cmp "$1" got.msg
	cmp "$2" got.env
}

# nothing_queued: new/ and tmp/ are both empty.
nothing_queued() {
	[ -z "$(new_files)" ] || { echo "new/: $(new_files)"; return 1; }
	[ -z "$(tmp_files)" ] || { echo "tmp/: $(tmp_files)"; return 1; }
}

# --- the commit ---

@test "a message is queued: exit 0, one whole file in new/, nothing in tmp/" {
	run -0 --separate-stderr qi msg env0
	[ "$stderr" = '' ]
	queued_ok msg env0
	[[ "$ID" =~ ^[0-9]+\.[a-km-np-z2-9]{16}$ ]]
}

@test "the header names the file's id and the time of the injection" {
	before=$(date +%s)
	queue-inject <msg 1<env0
	after=$(date +%s)
	ID=$(new_files)
	head -n 3 "$Q/new/$ID" >hdr
	[ "$(sed -n 1p hdr)" = 'vdmail-queue 1' ]
	[ "$(sed -n 2p hdr)" = "id $ID" ]
	t=$(sed -n 3p hdr)
	t=${t#time }
	[ "$t" -ge "$before" ]
	[ "$t" -le "$after" ]
}

@test "the message is kept byte for byte: NULs, CRLF, 8-bit, no final newline" {
	printf 'Subject: x\r\n\r\n\0\001\377\200 bare CR\r and LF\n\n.\n..\nend' >bin
	run -0 qi bin env0
	queued_ok bin env0
}

@test "an empty message is accepted" {
	: >empty
	run -0 qi empty env0
	queued_ok empty env0
	[ ! -s got.msg ]
}

@test "the null sender and many recipients, in order" {
	{
		printf 'F\0'
		for n in $(seq 1 300); do printf 'Tuser%d@example.net\0' "$n"; done
		printf '\0'
	} >env2
	run -0 qi msg env2
	queued_ok msg env2
}

@test "a 5 MB message goes through the spill file, arrives whole, leaves nothing in tmp/" {
	head -c 5000000 /dev/urandom >big
	run -0 qi big env0
	queued_ok big env0
}

@test "messages around the 1 MiB in-memory limit arrive whole" {
	for size in 1048575 1048576 1048577 1114112; do
		rm -f "$Q"/new/*
		head -c "$size" /dev/urandom >m
		run -0 qi m env0
		queued_ok m env0
	done
}

@test "the message may come through a pipe, in small pieces" {
	head -c 3000000 /dev/urandom >big
	run -0 bash -c 'set -o pipefail
python3 -c "
import sys, time
data = open(\"big\", \"rb\").read()
for k in range(0, len(data), 100000):
    sys.stdout.buffer.write(data[k:k + 100000]); sys.stdout.flush(); time.sleep(0.001)
" | queue-inject 1<env0'
	queued_ok big env0
}

@test "the envelope may come through a pipe, in small pieces" {
	run -0 bash -c 'set -o pipefail
python3 -c "
import sys, time
data = open(\"env0\", \"rb\").read()
for b in data:
    sys.stdout.buffer.write(bytes([b])); sys.stdout.flush(); time.sleep(0.002)
" | queue-inject 1<&0 0<msg'
	queued_ok msg env0
}

@test "the queue file is not readable by others, whatever the umask" {
	umask 000
	queue-inject <msg 1<env0
	perm=$(stat -c %a "$Q/new/$(new_files)")
	# nothing for others, no writing for the group
	[ "${perm: -1}" = 0 ]
	[ $((0$perm & 020)) -eq 0 ]
}

@test "20 injections at once: 20 distinct whole files" {
	for n in $(seq 20); do
		head -c $((n * 1000)) /dev/urandom >"m$n"
	done
	for n in $(seq 20); do
		queue-inject <"m$n" 1<env0 &
	done
	fails=0
	for job in $(jobs -p); do
		wait "$job" || fails=$((fails + 1))
	done
	[ "$fails" -eq 0 ]
	[ "$(new_files | wc -l)" -eq 20 ]
	[ -z "$(tmp_files)" ]
	run -0 test-queue check "$Q"/new/*
	for f in "$Q"/new/*; do
		split_qfile "$f" e m
		cmp env0 e
		cmp "m$(($(wc -c <m) / 1000))" m
	done
}

# --- ids ---

@test "VDMAIL_MSGID with a valid id names the file new/ID" {
	VDMAIL_MSGID=1764074000.abcdefghijkmnpqr run -0 qi msg env0
	queued_ok msg env0
	[ "$ID" = 1764074000.abcdefghijkmnpqr ]
	[ "$(sed -n 2p "$Q/new/$ID")" = "id $ID" ]
}

@test "an invalid VDMAIL_MSGID is ignored: a fresh id" {
	for bad in ../../../tmp/x 1764074000.ABCDEFGHIJKMNPQR abc '' \
	    1764074000.abcdefghijkmnpq/ 1764074000.abcdefghijkmnpqrs; do
		rm -f "$Q"/new/*
		VDMAIL_MSGID=$bad run -0 qi msg env0
		queued_ok msg env0
		[ "$ID" != "$bad" ]
		[[ "$ID" =~ ^[0-9]+\.[a-km-np-z2-9]{16}$ ]]
	done
	[ ! -e "$T/tmp/x" ]
}

@test "a VDMAIL_MSGID already in new/: exit 62, the old file unchanged" {
	id=1764074000.abcdefghijkmnpqr
	VDMAIL_MSGID=$id queue-inject <msg 1<env0
	cp -p "$Q/new/$id" before
	printf 'another message\n' >msg2
	VDMAIL_MSGID=$id run -62 qi msg2 env0
	cmp before "$Q/new/$id"
	[ "$(new_files)" = "$id" ]
	[ -z "$(tmp_files)" ]
}

@test "a VDMAIL_MSGID already taken up by queue-run (mess/): exit 62" {
	id=1764074000.abcdefghijkmnpqr
	printf 'taken\n' >"$Q/mess/r/$id"
	VDMAIL_MSGID=$id run -62 qi msg env0
	nothing_queued
	[ "$(cat "$Q/mess/r/$id")" = taken ]
}

# --- the envelope ---

@test "an envelope cut short (no final NUL): exit 54, nothing in new/ or tmp/" {
	printf 'Fa@b.c\0Tx@y.z\0' >short
	run -54 qi msg short
	nothing_queued
	printf 'Fa@b.c\0Tx@y' >short
	run -54 qi msg short
	nothing_queued
	run -54 qi msg /dev/null
	nothing_queued
}

@test "an envelope cut short after a big (spilled) message leaves nothing in tmp/" {
	head -c 3000000 /dev/urandom >big
	printf 'Fa@b.c\0Tx@y.z\0' >short
	run -54 qi big short
	nothing_queued
}

@test "an envelope that does not start with F: exit 91" {
	for e in 'Ta@b\0Tc@d\0\0' 'a@b\0Tc@d\0\0' '\0' '\0\0'; do
		printf "$e" >bad
		run -91 qi msg bad
		nothing_queued
	done
}

@test "zero recipients: exit 91" {
	printf 'Fa@b\0\0' >bad
	run -91 qi msg bad
	nothing_queued
	printf 'F\0\0' >bad
	run -91 qi msg bad
	nothing_queued
}

@test "a recipient entry that is not T, or is empty: exit 91" {
	for e in 'Fa@b\0Xc@d\0\0' 'Fa@b\0Tc@d\0Fe@f\0\0' 'Fa@b\0T\0\0'; do
		printf "$e" >bad
		run -91 qi msg bad
		nothing_queued
	done
}

@test "bytes after the final NUL: exit 91" {
	printf 'Fa@b\0Tc@d\0\0junk' >bad
	run -91 qi msg bad
	nothing_queued
}

@test "a recipient of 1000 bytes is accepted, 1001 is exit 11" {
	a1000=$(head -c 994 /dev/zero | tr '\0' r)@x.org
	[ "${#a1000}" -eq 1000 ]
	printf 'Fa@b\0T%s\0\0' "$a1000" >e1000
	run -0 qi msg e1000
	queued_ok msg e1000
	rm -f "$Q"/new/*
	printf 'Fa@b\0T%s\0\0' "r$a1000" >e1001
	run -11 qi msg e1001
	nothing_queued
}

@test "a sender of 1001 bytes is exit 11, 1000 is accepted" {
	a1000=$(head -c 994 /dev/zero | tr '\0' s)@x.org
	printf 'F%s\0Tc@d\0\0' "$a1000" >e1000
	run -0 qi msg e1000
	queued_ok msg e1000
	rm -f "$Q"/new/*
	printf 'F%s\0Tc@d\0\0' "s$a1000" >e1001
	run -11 qi msg e1001
	nothing_queued
}

@test "an over-long address that never ends is exit 11, not a wait for more" {
	{ printf 'Fa@b\0T'; head -c 100000 /dev/zero | tr '\0' z; } >long
	run -11 timeout 10 sh -c 'exec queue-inject <msg 1<long'
	nothing_queued
}

@test "a control character in an address: exit 91" {
	for e in 'Fa\tb@c\0Tx@y\0\0' 'Fa@b\0Tx\r@y\0\0' 'Fa@b\0Tx@y\n\0\0' \
	    'Fa@b\0Tx\001y@z\0\0' 'Fa@b\0Tx@y\177\0\0' 'Fa@b\0Tok@y\0Tx\033@y\0\0'; do
		printf "$e" >bad
		run -91 qi msg bad
		nothing_queued
	done
}

# --- the queue and the call ---

@test "no queue (VDMAIL_ROOT pointing to an empty dir): exit 61" {
	mkdir empty
	VDMAIL_ROOT=$T/empty run -61 qi msg env0
	[ -z "$(ls -A empty)" ]
}

@test "a queue directory without VERSION is not a queue: exit 61" {
	mkdir -p other/queue/tmp other/queue/new
	VDMAIL_ROOT=$T/other run -61 qi msg env0
	[ -z "$(ls -A other/queue/new)" ]
	[ -z "$(ls -A other/queue/tmp)" ]
}

@test "an extra argument: usage, exit 100, nothing queued" {
	run -100 --separate-stderr qi msg env0 extra
	[[ "$stderr" == 'queue-inject: fatal: usage: queue-inject'* ]]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	nothing_queued
}

# --- the trigger ---

@test "with a reader on lock/trigger, one byte arrives per injection" {
	exec 7<>"$Q/lock/trigger"	# a reader that is there before
	queue-inject <msg 1<env0
	timeout 1 cat <&7 >got || :
	[ "$(od -An -tx1 got | tr -d ' ')" = 00 ]
	queue-inject <msg 1<env0
	queue-inject <msg 1<env0
	timeout 1 cat <&7 >got || :
	exec 7<&-
	[ "$(od -An -tx1 got | tr -d ' ')" = 0000 ]
	[ "$(new_files | wc -l)" -eq 3 ]
}

@test "with a background cat reading lock/trigger, it gets the byte" {
	cat "$Q/lock/trigger" >got &
	reader=$!
	# wait until the reader is in open(2), waiting for a writer (Linux)
	for n in $(seq 100); do
		[ "$(cat /proc/$reader/wchan 2>/dev/null)" = wait_for_partner ] &&
		    break
		sleep 0.05
	done
	queue-inject <msg 1<env0
	# cat ends at EOF, when the last writer has closed
	timeout 5 tail --pid="$reader" -f /dev/null || kill "$reader"
	wait "$reader" || :
	[ "$(od -An -tx1 got | tr -d ' ')" = 00 ]
}

@test "with no reader on lock/trigger, injection still succeeds at once" {
	start=$(date +%s)
	run -0 timeout 5 sh -c 'exec queue-inject <msg 1<env0'
	queued_ok msg env0
	[ $(($(date +%s) - start)) -lt 5 ]
}

@test "with no lock/trigger at all, injection still succeeds" {
	rm "$Q/lock/trigger"
	run -0 timeout 5 sh -c 'exec queue-inject <msg 1<env0'
	queued_ok msg env0
}

# --- crashes and copies ---

@test "queue-inject killed with SIGKILL at random points 200 times leaves either nothing or a whole message" {
	# a few messages of different sizes (0 to 2 MB): the size names the source
	for size in 0 1 3000 70000 1048576 1048577 1500000 2000000; do
		head -c "$size" /dev/urandom >"src.$size"
	done
	python3 - "$T" <<'EOF' >counts
import os, random, subprocess, sys, time
T = sys.argv[1]
seed = int.from_bytes(os.urandom(4), 'big')
random.seed(seed)
sources = sorted(f for f in os.listdir(T) if f.startswith('src.'))
ok = killed = 0
for run in range(200):
    src = random.choice(sources)
    with open(os.path.join(T, src), 'rb') as m, \
         open(os.path.join(T, 'env0'), 'rb') as e:
        p = subprocess.Popen(['queue-inject'], stdin=m, stdout=e)
    # 0 to 20 ms, more often early, while the injection is under way
    time.sleep(0.02 * random.random() ** 2)
    p.kill()                # a no-op when it has already exited
    rc = p.wait()
    if rc == 0:
        ok += 1
    elif rc == -9:
        killed += 1
    else:
        sys.exit('seed %d run %d (%s): exit %d' % (seed, run, src, rc))
print(ok, killed, seed)
EOF
	read -r ok killed seed <counts
	count=$(new_files | wc -l)
	echo "exited 0: $ok, killed: $killed, files in new/: $count, seed $seed"
	[ $((ok + killed)) -eq 200 ]
	# some were killed under way, and some files are there to check
	[ "$killed" -gt 0 ]
	[ "$count" -gt 0 ]
	# every run that said 0 left its message; a killed one at most one
	[ "$count" -ge "$ok" ]
	[ "$count" -le 200 ]
	# every file in new/ is whole, and its parts are what went in
	run -0 test-queue check "$Q"/new/*
	[ "$(grep -c ': ok$' <<<"$output")" -eq "$count" ]
	python3 - "$T" "$Q/new" <<'EOF'
import os, sys
T, new = sys.argv[1], sys.argv[2]
env0 = open(os.path.join(T, 'env0'), 'rb').read()
for name in os.listdir(new):
    data = open(os.path.join(new, name), 'rb').read()
    end = data.index(b'\n\n') + 2
    fields = dict(line.split(' ', 1)
                  for line in data[:end].decode().split('\n')[1:] if line)
    e, m = int(fields['envelope']), int(fields['message'])
    if fields['id'] != name or end + e + m != len(data):
        sys.exit('%s: header does not fit the file' % name)
    if data[end:end + e] != env0:
        sys.exit('%s: envelope differs' % name)
    src = open(os.path.join(T, 'src.%d' % m), 'rb').read()
    if data[end + e:] != src:
        sys.exit('%s: message differs from src.%d' % (name, m))
EOF
	# what a crash leaves in tmp/ is plain files, never directories or links
	[ -z "$(find "$Q/tmp" -mindepth 1 ! -type f)" ]
	[ -z "$(find "$Q/new" -mindepth 1 ! -type f)" ]
}

@test "a queue copied with tar into another directory keeps every message intact" {
	for n in $(seq 20); do
		head -c $(( (n * n * 7919) % 1500000 + n )) /dev/urandom >"m$n"
		printf 'Fs%d@b.c\0Tr%d@y.z\0Tq@y.z\0\0' "$n" "$n" >"e$n"
		new_files | sort >before
		queue-inject <"m$n" 1<"e$n"
		new_files | sort | comm -13 before - >added
		[ "$(wc -l <added)" -eq 1 ]
		printf '%s %s\n' "$(cat added)" "$n" >>map
	done
	[ "$(new_files | wc -l)" -eq 20 ]
	tar -C "$T/root" -cf q.tar queue
	mkdir copy
	tar -C copy -xf q.tar
	rm -rf "$T/root"	# the originals are gone: only the copy is left
	[ "$(ls copy/queue/new | sort)" = "$(cut -d' ' -f1 map | sort)" ]
	[ -p copy/queue/lock/trigger ]
	[ "$(cat copy/queue/VERSION)" = 'vdmail-queue 1' ]
	while read -r id n; do
		run -0 test-queue check "copy/queue/new/$id"
		[ "$output" = "copy/queue/new/$id: ok" ]
		split_qfile "copy/queue/new/$id" got.env got.msg
		cmp "m$n" got.msg
		cmp "e$n" got.env
	done <map
	# the copy is a working queue: another message goes in beside them
	VDMAIL_ROOT=$T/copy run -0 qi m1 e1
	[ "$(ls copy/queue/new | wc -l)" -eq 21 ]
}

# --- group commit through lock/sync ---

# hold_sync: a process that holds the sync lock of lock/sync (byte 1, as
# queue-inject takes it) until $T/release appears (30 s at most).  Sets
# HOLDER.
hold_sync() {
	python3 - "$Q/lock/sync" "$T/release" "$T/held" <<'PY' &
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 1, 1)
open(sys.argv[3], "w").close()
end = time.time() + 30          # a failed test lets go too
while not os.path.exists(sys.argv[2]) and time.time() < end:
    time.sleep(0.05)
PY
	HOLDER=$!
	for ((i = 0; i < 100; i++)); do
		[ ! -e "$T/held" ] || return 0
		sleep 0.05
	done
	return 1
}

@test "lock/sync: an injection whose writes were done before another's sync began waits for it and makes none of its own" {
	strace -f -o /dev/null true 2>/dev/null || skip 'ptrace is not permitted here'
	[ -f "$Q/lock/sync" ]
	[ "$(stat -c %a "$Q/lock/sync")" = 600 ]
	: >trace1
	# The other party: it holds the sync lock; once the injection waits
	# for it (its count read), it records a sync begun and ended after
	# that, as an injection that synced would, and lets go.
	python3 - "$Q/lock/sync" trace1 <<'PY' &
import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
boot = open("/proc/sys/kernel/random/boot_id", "rb").read(36) + bytes(4)
os.pwrite(fd, boot + struct.pack("=QQ", 5, 5), 0)
fcntl.lockf(fd, fcntl.LOCK_EX, 1, 1)
open(sys.argv[2] + ".held", "w").close()
end = time.time() + 20
while time.time() < end:
    if "l_start=1," in open(sys.argv[2]).read():
        break
    time.sleep(0.005)
fcntl.lockf(fd, fcntl.LOCK_EX, 1, 0)
os.pwrite(fd, boot + struct.pack("=QQ", 6, 6), 0)
fcntl.lockf(fd, fcntl.LOCK_UN, 1, 0)
fcntl.lockf(fd, fcntl.LOCK_UN, 1, 1)
PY
	holder=$!
	for ((i = 0; i < 100; i++)); do
		[ ! -e trace1.held ] || break
		sleep 0.05
	done
	strace -f -qq -e trace=syncfs,fcntl,sync_file_range -o trace1 queue-inject <msg 1<env0
	wait "$holder"
	grep -q 'l_start=1,' trace1
	[ "$(grep -c 'syncfs(' trace1)" -eq 0 ]
	# but it asks its own file for a write error, which the other's
	# sync would not report
	[ "$(grep -c 'sync_file_range(' trace1)" -eq 1 ]
	queued_ok msg env0
	# with nobody else syncing, the next one makes its own and counts it
	strace -f -qq -e trace=syncfs -o trace2 queue-inject <msg 1<env0
	[ "$(grep -c 'syncfs(' trace2)" -eq 1 ]
	python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
assert struct.unpack("=QQ", d[40:56]) == (7, 7), d[40:56]' "$Q/lock/sync"
}

@test "lock/sync: a holder that never lets go (a stopped queue-inject) holds an injection up a quarter second at most" {
	strace -f -o /dev/null true 2>/dev/null || skip 'ptrace is not permitted here'
	hold_sync
	start=$(date +%s%N)
	strace -f -qq -e trace=syncfs -o trace1 queue-inject <msg 1<env0
	took=$((($(date +%s%N) - start) / 1000000))
	touch "$T/release"
	wait "$HOLDER"
	[ "$(grep -c 'syncfs(' trace1)" -eq 1 ]
	[ "$took" -ge 250 ]
	[ "$took" -lt 5000 ]
	queued_ok msg env0
}

@test "lock/sync: counts from another boot, or that do not add up, are not believed: the injection syncs" {
	strace -f -o /dev/null true 2>/dev/null || skip 'ptrace is not permitted here'
	# 36 bytes of boot id and 4 NULs, then begun and ended (8 bytes each,
	# this host's order)
	python3 -c '
import struct, sys
open(sys.argv[1], "wb").write(b"0" * 36 + bytes(4) + struct.pack("=QQ", 1, 100))' "$Q/lock/sync"
	strace -f -qq -e trace=syncfs -o trace1 queue-inject <msg 1<env0
	[ "$(grep -c 'syncfs(' trace1)" -eq 1 ]
	python3 -c '
import struct, sys
boot = open("/proc/sys/kernel/random/boot_id", "rb").read(36)
open(sys.argv[1], "wb").write(boot + bytes(4) + struct.pack("=QQ", 1, 100))' "$Q/lock/sync"
	strace -f -qq -e trace=syncfs -o trace2 queue-inject <msg 1<env0
	[ "$(grep -c 'syncfs(' trace2)" -eq 1 ]
	[ "$(new_files | wc -l)" -eq 2 ]
}

@test "lock/sync missing: the injection makes a sync of its own and succeeds" {
	strace -f -o /dev/null true 2>/dev/null || skip 'ptrace is not permitted here'
	rm "$Q/lock/sync"
	strace -f -qq -e trace=syncfs -o trace1 queue-inject <msg 1<env0
	[ "$(grep -c 'syncfs(' trace1)" -eq 1 ]
	queued_ok msg env0
}
