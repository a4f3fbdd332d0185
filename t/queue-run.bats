# t/queue-run.bats -- queue-run, the queue manager: it takes messages from
# new/ (woken by lock/trigger), delivers local recipients through
# dotqmail-exec within control/concurrencylocal, records each outcome in
# state/, retries temporary failures (at once on SIGALRM), bounces
# permanent ones and those older than control/queuelifetime as RFC 3464
# reports, never loops on bounces, and stops cleanly on SIGTERM.
#
# Each test has its own instance in a scratch directory with the master
# user abc of abc.com (home $H, ~abc/.qmail-default ./Maildir/), and runs
# queue-run as the sandbox user: see t/helpers/deliver.bash.
load helpers/common
load helpers/deliver

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	scratch_dir
	deliver_instance
}

teardown() {
	deliver_cleanup
}

# users N LINE: N users u1..uN of abc.com (u1@abc.com ...), each with a
# home of its own whose .qmail holds LINE: one delivery run each,
# since a run takes the recipients of one user only.
users() {
	local k
	{
		for k in $(seq "$1"); do
			echo "=abc-u$k:u$k:$SANDBOX_UID:$SANDBOX_GID:$S/home/u$k:::"
			as_sandbox mkdir -m 0755 "$S/home/u$k"
			printf '%s\n' "$2" | sandbox_write "$S/home/u$k/.qmail"
		done
		echo "=abc:abc:$SANDBOX_UID:$SANDBOX_GID:$H:::"
		echo "+abc-:abc:$SANDBOX_UID:$SANDBOX_GID:$H:-::"
		echo .
	} | sandbox_write "$I/users/assign"
}

# The one bounce in Maildir $1 (null sender); fails unless there is
# exactly one.  Sets B to its path.
one_bounce() {
	local found

	found=$(maildir_find "$1" '^Return-Path: <>$')
	if [ "$(printf '%s' "$found" | grep -c .)" != 1 ]; then
		echo "expected one bounce in $1, found: ${found:-none}" >&2
		return 1
	fi
	B=$found
}

# The header line NAME of message file $2 (the first one).
header() {
	sed -n "/^\$/q; /^$1: /{p;q;}" "$2"
}

# fails_until_fixed: deliveries to tmp@abc.com fail for now ("program
# exited 111: not yet") until $H/fixed exists, then go to its Maildir.
fails_until_fixed() {
	dot_qmail tmp '|test -f "$HOME/fixed" || { echo not yet; exit 111; }' './Maildir/'
}

# deferred_once: a message to tmp@abc.com, deferred by a queue-run that
# is then stopped (QR_STATUS set).  Sets id.
deferred_once() {
	fails_until_fixed
	qr_start
	inject sender@abc.com tmp@abc.com
	wait_log '^event=deferred '
	id=$(log_ids '^event=new ')
	qr_stop
}

# --- usage and exit status ---

@test "an argument is a usage error: exit 100" {
	run -100 --separate-stderr as_sandbox queue-run now
	[ "$output" = '' ]
	[[ "$stderr" == 'queue-run: fatal: usage: queue-run'* ]]
}

@test "no queue, or a queue without VERSION or lock/trigger: exit 111, nothing logged" {
	as_sandbox mkdir "$S/empty"
	VDMAIL_ROOT=$S/empty run -111 --separate-stderr as_sandbox queue-run
	[ "$output" = '' ]
	[ "$stderr" = "queue-run: fatal: enter $S/empty/queue: No such file or directory" ]
	as_sandbox rm "$Q/VERSION"
	run -111 --separate-stderr as_sandbox queue-run
	[ "$output" = '' ]
	[ "$stderr" = "queue-run: fatal: $Q/VERSION: No such file or directory" ]
	echo 'vdmail-queue 1' | sandbox_write "$Q/VERSION"
	as_sandbox rm "$Q/lock/trigger"
	run -111 --separate-stderr as_sandbox queue-run
	[ "$stderr" = 'queue-run: fatal: open lock/trigger: No such file or directory' ]
}

# --- taking messages up ---

@test "a message injected while it runs is in the Maildir within a second (the trigger); the queue is then empty" {
	qr_start
	t0=$(date +%s%N)
	inject sender@abc.com john@abc.com
	wait_maildir "$H/Maildir" 1
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	[ "$ms" -lt 1000 ] || { echo "delivered after $ms ms"; false; }
	wait_log '^event=done '
	id=$(log_ids '^event=new ')
	[[ "$id" =~ ^[0-9]+\.[a-z0-9]{16}$ ]]
	diff -u - "$QR_LOG" <<-EOF
	event=start
	event=new msg=$id
	event=delivered msg=$id rcpt=john@abc.com
	event=done msg=$id
	EOF
	queue_empty
	f=$(maildir_find "$H/Maildir" '^Subject: test$')
	[ "$(head -n 2 "$f")" = $'Return-Path: <sender@abc.com>\nDelivered-To: abc-john@abc.com' ]
}

@test "messages already in new/ when it starts are delivered: 30 messages, 30 files, the queue empty" {
	for _ in $(seq 30); do
		inject sender@abc.com john@abc.com
	done
	[ "$(queue_new_count "$Q")" -eq 30 ]
	qr_start
	wait_log '^event=done ' 30
	[ "$(maildir_count "$H/Maildir")" -eq 30 ]
	[ "$(log_count '^event=new ')" -eq 30 ]
	[ "$(log_count '^event=delivered .* rcpt=john@abc.com$')" -eq 30 ]
	queue_empty
	qr_stop
	[ "$QR_STATUS" -eq 0 ]
	[ "$(tail -n 1 "$QR_LOG")" = 'event=stop messages=none' ]
}

@test "a message that arrives over SMTP is logged under the id of the 250 reply" {
	qr_start
	printf '%s\r\n' 'HELO client.example' 'MAIL FROM:<sender@abc.com>' \
	    'RCPT TO:<john@abc.com>' DATA 'Subject: by smtp' '' 'hello' . QUIT |
	    as_sandbox env TCPREMOTEIP=127.0.0.1 smtp-accept >"$S/reply" 2>/dev/null
	id=$(tr -d '\r' <"$S/reply" | sed -n 's/^250 .* \([^ ]*\)$/\1/p' | tail -n 1)
	[[ "$id" =~ ^[0-9]+\.[a-z0-9]{16}$ ]]
	wait_log "^event=done msg=$id$"
	grep -qx "event=delivered msg=$id rcpt=john@abc.com" "$QR_LOG"
	f=$(maildir_find "$H/Maildir" '^Subject: by smtp$')
	[ -n "$f" ]
	grep -q '^Received: ' "$f"
	queue_empty
}

# --- outcomes and bounces ---

@test "two recipients delivered, one failed: one RFC 3464 bounce to the sender" {
	dot_qmail bad '|echo no such; exit 100'
	qr_start
	MSG=$S/msg
	message 'the original subject' >"$MSG"
	inject sender@abc.com john@abc.com bad@abc.com jane@abc.com
	wait_log '^event=done ' 2
	id=$(log_ids '^event=new ' | head -n 1)
	bid=$(log_ids '^event=new ' | sed -n 2p)
	grep -qx "event=delivered msg=$id rcpt=john@abc.com" "$QR_LOG"
	grep -qx "event=delivered msg=$id rcpt=jane@abc.com" "$QR_LOG"
	grep -qx "event=failed msg=$id rcpt=bad@abc.com reason=\"no such\"" "$QR_LOG"
	grep -qx "event=bounce msg=$id bounce=$bid" "$QR_LOG"
	grep -qx "event=delivered msg=$bid rcpt=sender@abc.com" "$QR_LOG"
	[ "$(maildir_count "$H/Maildir")" -eq 3 ]
	queue_empty

	one_bounce "$H/Maildir"
	[ "$(header Delivered-To "$B")" = 'Delivered-To: abc-sender@abc.com' ]
	[ "$(header To "$B")" = 'To: sender@abc.com' ]
	[ "$(header From "$B")" = 'From: MAILER-DAEMON@mx.example.net' ]
	run -0 dsn_dump "$B"
	[ "${lines[0]}" = 'content-type: multipart/report' ]
	[ "${lines[1]}" = 'report-type: delivery-status' ]
	[ "${lines[2]}" = 'parts: text/plain message/delivery-status text/rfc822-headers' ]
	[ "${lines[3]}" = 'reporting-mta: dns; mx.example.net' ]
	# only the failed recipient is reported
	[ "$(grep -c '^recipient: ' <<<"$output")" -eq 1 ]
	[[ "${lines[4]}" =~ ^'recipient: rfc822; bad@abc.com | failed | 5.'[0-9]+'.'[0-9]+' | x-vdmail; no such'$ ]]
	# the QSBMF part: "Hi. This is the", then "<address>:" and the reason
	[ "${lines[5]}" = '--- text' ]
	[[ "${lines[6]}" == 'Hi. This is the '* ]]
	text=$(sed -n '/^--- text$/,/^--- headers$/p' <<<"$output")
	grep -qx '<bad@abc.com>:' <<<"$text"
	[ "$(grep -A1 -x '<bad@abc.com>:' <<<"$text" | tail -n 1)" = 'no such' ]
	[ "$(grep -c -e 'john@abc.com>:' -e 'jane@abc.com>:' <<<"$text")" -eq 0 ]
	headers=$(sed -n '/^--- headers$/,$p' <<<"$output")
	grep -qx 'Subject: the original subject' <<<"$headers"
}

@test "exit codes of a program line, as queue-run sees them: 0 and 99 delivered, 100 failed, 111 deferred" {
	dot_qmail p0 '|exit 0'
	dot_qmail p99 '|exit 99' '|exit 100'
	dot_qmail p100 '|exit 100'
	dot_qmail p111 '|exit 111'
	qr_start
	inject sender@abc.com p0@abc.com p99@abc.com p100@abc.com p111@abc.com
	wait_log '^event=(delivered|failed|deferred) ' 4
	id=$(log_ids '^event=new ')
	grep -qx "event=delivered msg=$id rcpt=p0@abc.com" "$QR_LOG"
	grep -qx "event=delivered msg=$id rcpt=p99@abc.com" "$QR_LOG"
	grep -qx "event=failed msg=$id rcpt=p100@abc.com reason=\"program refused the message\"" "$QR_LOG"
	grep -qx "event=deferred msg=$id rcpt=p111@abc.com reason=\"program exited 111: temporary failure\"" "$QR_LOG"
	# each outcome is on disk; no bounce while a recipient is still open
	diff -u - <(sort "$(state_file "$id")") <<-'EOF'
	d 0
	d 1
	f 2 program refused the message
	t 3 1 program exited 111: temporary failure
	EOF
	[ "$(log_count '^event=bounce ')" -eq 0 ]
	run -0 as_sandbox queue-list
	diff -u - <(cut -f 1,2,4,5 <<<"$output") <<-EOF
	$id	done	<sender@abc.com>	<p0@abc.com>
	$id	done	<sender@abc.com>	<p99@abc.com>
	$id	failed	<sender@abc.com>	<p100@abc.com>
	$id	deferred	<sender@abc.com>	<p111@abc.com>
	EOF
	# once the last one is delivered, the failure is bounced; the done
	# recipients are not tried again
	dot_qmail p111 '|exit 0'
	qr_alarm
	wait_log "^event=done msg=$id$"
	wait_log '^event=done ' 2
	[ "$(log_count "^event=delivered msg=$id rcpt=p0@abc.com$")" -eq 1 ]
	[ "$(log_count "^event=delivered msg=$id rcpt=p99@abc.com$")" -eq 1 ]
	grep -qx "event=delivered msg=$id rcpt=p111@abc.com" "$QR_LOG"
	one_bounce "$H/Maildir"
	run -0 dsn_dump "$B"
	[ "$(grep -c '^recipient: ' <<<"$output")" -eq 1 ]
	grep -q '^recipient: rfc822; p100@abc.com | failed | 5\.' <<<"$output"
	queue_empty
}

@test "a temporary failure is deferred, kept, recorded, retried on SIGALRM, and delivered once fixed" {
	fails_until_fixed
	qr_start
	inject sender@abc.com tmp@abc.com
	wait_log '^event=deferred '
	id=$(log_ids '^event=new ')
	grep -qx "event=deferred msg=$id rcpt=tmp@abc.com reason=\"program exited 111: not yet\"" "$QR_LOG"
	[ "$(maildir_count "$H/Maildir")" -eq 0 ]
	[ -f "$(mess_file "$id")" ]
	[ "$(cat "$(state_file "$id")")" = 't 0 1 program exited 111: not yet' ]
	run -0 as_sandbox queue-list
	[ "$(cut -f 1,2,4,5 <<<"$output")" = "$id	deferred	<sender@abc.com>	<tmp@abc.com>" ]
	# the next attempt by the schedule is 100 s away: SIGALRM makes it now
	qr_alarm
	wait_log '^event=deferred ' 2
	grep -qx 'event=retry reason=SIGALRM' "$QR_LOG"
	[ "$(tail -n 1 "$(state_file "$id")")" = 't 0 2 program exited 111: not yet' ]
	as_sandbox touch "$H/fixed"
	qr_alarm
	wait_log "^event=done msg=$id$"
	grep -qx "event=delivered msg=$id rcpt=tmp@abc.com" "$QR_LOG"
	[ "$(maildir_count "$H/Maildir")" -eq 1 ]
	queue_empty
}

@test "after control/queuelifetime a deferred message bounces: Status 4.4.7, Giving up" {
	control queuelifetime 1
	dot_qmail tmp '|exit 111'
	dot_qmail busy '|echo "mailbox busy (#4.2.1)"; exit 111'
	qr_start
	# early in a second, so that the first attempt is in the message's
	# first second and only defers
	next_second
	inject sender@abc.com tmp@abc.com busy@abc.com
	wait_log '^event=deferred ' 2
	id=$(log_ids '^event=new ')
	grep -qx "event=deferred msg=$id rcpt=busy@abc.com reason=\"program exited 111: mailbox busy (#4.2.1)\"" "$QR_LOG"
	[ "$(log_count '^event=bounce ')" -eq 0 ]
	sleep 1.1
	qr_alarm
	wait_log "^event=done msg=$id$"
	wait_log '^event=done ' 2
	grep -Eq "^event=bounce msg=$id bounce=" "$QR_LOG"
	one_bounce "$H/Maildir"
	run -0 dsn_dump "$B"
	[ "$(grep -c '^recipient: ' <<<"$output")" -eq 2 ]
	grep -qx 'recipient: rfc822; tmp@abc.com | failed | 4.4.7 | x-vdmail; Giving up: .*Last error: program exited 111: temporary failure (#4.4.7)' <<<"$output"
	# the last code is the status, not the one of the last error
	grep -qx 'recipient: rfc822; busy@abc.com | failed | 4.4.7 | x-vdmail; Giving up: .*(#4.2.1) (#4.4.7)' <<<"$output"
	grep -q '^Giving up: ' <<<"$output"
	queue_empty
}

@test "a failed bounce goes to doublebounceto as #@[]; a failed message from #@[] is dropped" {
	dot_qmail bad '|echo no such; exit 100'
	as_sandbox maildirmake "$H/dbl"
	dot_qmail dbl './dbl/'
	control doublebounceto dbl@abc.com
	qr_start
	inject '' bad@abc.com
	wait_log '^event=done ' 2
	id=$(log_ids '^event=new ' | head -n 1)
	grep -qx "event=failed msg=$id rcpt=bad@abc.com reason=\"no such\"" "$QR_LOG"
	[ "$(maildir_count "$H/dbl")" -eq 1 ]
	f=$(maildir_find "$H/dbl" '^Return-Path: ')
	[ "$(header Return-Path "$f")" = 'Return-Path: <#@[]>' ]
	[ "$(header Delivered-To "$f")" = 'Delivered-To: abc-dbl@abc.com' ]
	[ "$(header To "$f")" = 'To: dbl@abc.com' ]
	run -0 dsn_dump "$f"
	grep -q '^recipient: rfc822; bad@abc.com | failed | 5\.' <<<"$output"
	queue_empty

	# the sender of double bounces: its failure is logged and dropped
	inject '#@[]' bad@abc.com
	wait_log '^event=done ' 3
	id=$(log_ids '^event=new ' | tail -n 1)
	grep -qx "event=failed msg=$id rcpt=bad@abc.com reason=\"no such\"" "$QR_LOG"
	grep -qx "event=bounce msg=$id discarded=\"a failed double bounce, or double bounces turned off\"" "$QR_LOG"
	[ "$(log_count '^event=new ')" -eq 3 ]
	[ "$(maildir_count "$H/dbl")" -eq 1 ]
	[ "$(maildir_count "$H/Maildir")" -eq 0 ]
	queue_empty
}

@test "a double bounce that cannot be delivered is dropped: nothing loops" {
	dot_qmail bad '|echo no such; exit 100'
	control doublebounceto bad@abc.com
	qr_start
	inject '' bad@abc.com
	wait_log 'discarded='
	wait_log '^event=done ' 2
	id=$(log_ids '^event=new ' | head -n 1)
	dbl=$(log_ids '^event=new ' | sed -n 2p)
	grep -qx "event=bounce msg=$id bounce=$dbl" "$QR_LOG"
	grep -qx "event=failed msg=$dbl rcpt=bad@abc.com reason=\"no such\"" "$QR_LOG"
	grep -qx "event=bounce msg=$dbl discarded=\"a failed double bounce, or double bounces turned off\"" "$QR_LOG"
	queue_empty
	sleep 0.3
	[ "$(log_count '^event=new ')" -eq 2 ]
	queue_empty
}

@test "without control/doublebounceto a double bounce goes to postmaster@me" {
	dot_qmail bad '|exit 100'
	qr_start
	inject '' bad@abc.com
	wait_maildir "$I/alias/Maildir" 1
	wait_log '^event=done ' 2
	f=$(maildir_find "$I/alias/Maildir" '^Return-Path: ')
	[ "$(header Return-Path "$f")" = 'Return-Path: <#@[]>' ]
	[ "$(header To "$f")" = 'To: postmaster@mx.example.net' ]
	queue_empty
}

@test "a Delivered-To loop bounces once and the queue empties" {
	dot_qmail loop '&loop@abc.com'
	qr_start
	inject sender@abc.com loop@abc.com
	wait_log '^event=done ' 3
	first=$(log_ids '^event=new ' | head -n 1)
	second=$(log_ids '^event=new ' | sed -n 2p)
	grep -qx "event=delivered msg=$first rcpt=loop@abc.com" "$QR_LOG"
	grep -Eqx "event=failed msg=$second rcpt=loop@abc.com reason=\"This message is looping: .*\(#5\.4\.6\)\"" "$QR_LOG"
	one_bounce "$H/Maildir"
	[ "$(maildir_count "$H/Maildir")" -eq 1 ]
	run -0 dsn_dump "$B"
	grep -qx 'recipient: rfc822; loop@abc.com | failed | 5.4.6 | x-vdmail; This message is looping: .*' <<<"$output"
	grep -qx 'Delivered-To: abc-loop@abc.com' <<<"$output"
	sleep 0.3
	[ "$(log_count '^event=new ')" -eq 3 ]
	queue_empty
}

# --- concurrency, signals, restarts ---

@test "control/concurrencylocal 2: six slow deliveries, never more than two at once" {
	control concurrencylocal 2
	# each delivery counts the deliveries running when it starts
	users 6 '|mkdir -p "$HOME/../run" && touch "$HOME/../run/$$" && ls "$HOME/../run" | wc -l >>"$HOME/../counts"; sleep 0.5; rm -f "$HOME/../run/$$"'
	for k in $(seq 6); do
		inject sender@abc.com "u$k@abc.com"
	done
	t0=$(date +%s%N)
	qr_start
	wait_log '^event=done ' 6
	t1=$(date +%s%N)
	[ "$(wc -l <"$S/home/counts")" -eq 6 ]
	[ "$(sort -n "$S/home/counts" | tail -n 1)" -eq 2 ]
	# three rounds of two: at least 1.5 s
	[ $(((t1 - t0) / 1000000)) -ge 1400 ]
	queue_empty
}

@test "one user's recipients of a message share one delivery program; each gets its own outcome" {
	# each program line notes its parent and grandparent: the forked
	# delivery and the dotqmail-exec -m that started it
	for e in p1 p2 p3; do
		dot_qmail $e '|g=$(cut -d" " -f4 /proc/$PPID/stat); echo "$PPID $g $(cat /proc/$g/comm)" >>"$HOME/pids"'
	done
	dot_qmail bad '|echo not here; exit 100'
	dot_qmail later '|echo busy; exit 111'
	inject sender@abc.com p1@abc.com bad@abc.com p2@abc.com later@abc.com \
	    p3@abc.com postmaster@abc.com
	qr_start
	wait_log '^event=deferred ' 1
	[ "$(wc -l <"$H/pids")" = 3 ]
	# three deliveries, one dotqmail-exec
	[ "$(cut -d' ' -f1 "$H/pids" | sort -u | wc -l)" = 3 ]
	[ "$(cut -d' ' -f2- "$H/pids" | sort -u | wc -l)" = 1 ]
	[ "$(cut -d' ' -f3 "$H/pids" | sort -u)" = dotqmail-exec ]
	[ "$(log_count '^event=delivered ')" = 4 ]
	grep -q '^event=failed .* rcpt=bad@abc.com reason="not here"' "$QR_LOG"
	grep -q '^event=deferred .* rcpt=later@abc.com reason="program exited 111: busy"' "$QR_LOG"
	[ "$(maildir_count "$H/Maildir")" = 1 ]
	# only the deferred one is tried again; then the bounce for bad@
	dot_qmail later './Maildir/'
	qr_alarm
	wait_log '^event=bounce ' 1
	wait_log '^event=done ' 2
	[ "$(log_count '^event=delivered ')" = 6 ]
	[ "$(wc -l <"$H/pids")" = 3 ]
	[ "$(maildir_count "$H/Maildir")" = 3 ]
	queue_empty
}

@test "a message whose recipients all end in their first round never has a state file; one that waits has" {
	strace -o /dev/null true 2>/dev/null || skip 'ptrace is not permitted here'
	users 3 './Maildir/'
	for k in 1 2 3; do
		as_sandbox maildirmake "$S/home/u$k/Maildir"
	done
	dot_qmail later '|exit 111'
	sandbox_spawn "$QR_LOG" "$QR_ERR" strace -qq -e trace=openat,open,creat \
	    -o "$S/trace" queue-run
	QR_PID=$SPAWNED_PID
	wait_log '^event=start$'
	inject sender@abc.com u1@abc.com u2@abc.com u3@abc.com
	wait_log '^event=done ' 1
	for k in 1 2 3; do
		[ "$(maildir_count "$S/home/u$k/Maildir")" = 1 ]
	done
	# the witness: a message that must wait writes its state file
	inject sender@abc.com u1@abc.com later@abc.com
	wait_log '^event=deferred ' 1
	wait_file "$(state_file "$(log_ids '^event=deferred ')")"
	kill -TERM "$(pgrep -P "$QR_PID" -x queue-run)"
	qr_stop
	first=$(log_ids '^event=done ')
	[ -n "$first" ]
	if grep -E "state/./$first\".*O_(WRONLY|RDWR|CREAT)" "$S/trace"; then return 1; fi
	grep -qE "state/./$(log_ids '^event=deferred ')\".*O_CREAT" "$S/trace"
}

@test "marks held for a second are written while the round goes on" {
	users 2 './Maildir/'
	as_sandbox maildirmake "$S/home/u1/Maildir"
	printf '%s\n' '|sleep 4' | sandbox_write "$S/home/u2/.qmail"
	qr_start
	inject sender@abc.com u1@abc.com u2@abc.com
	wait_log '^event=delivered .* rcpt=u1@abc.com$'
	id=$(log_ids '^event=new ')
	for ((i = 0; i < 30; i++)); do
		[ ! -s "$(state_file "$id")" ] || break
		sleep 0.1
	done
	# on disk while u2's delivery still runs
	[ "$(cat "$(state_file "$id")")" = 'd 0' ]
	[ "$(log_count '^event=delivered ')" = 1 ]
	wait_log "^event=done msg=$id$"
	[ ! -e "$(state_file "$id")" ]
	queue_empty
}

@test "a message file shorter than its header says (a crash before queue-inject's sync) is never delivered" {
	inject sender@abc.com abc@abc.com
	f=$(ls "$Q"/new/*)
	truncate -s -3 "$f"
	qr_start
	wait_log '^event=error .*reason="malformed queue file"' 1
	[ "$(maildir_count "$H/Maildir")" = 0 ]
	qr_stop
	# queue-check sets it aside
	run -1 queue-check -n
	[[ $output == *'size does not match header'* ]]
}

@test "one user's recipients in several waiting messages share one delivery program; results go to the right message" {
	dot_qmail p '|g=$(cut -d" " -f4 /proc/$PPID/stat); echo "$SENDER $g" >>"$HOME/pids"'
	dot_qmail bad '|echo not here; exit 100'
	for k in 1 2 3 4; do
		inject "s$k@abc.com" p@abc.com
	done
	inject s5@abc.com p@abc.com bad@abc.com
	qr_start
	wait_log '^event=done ' 5
	[ "$(wc -l <"$H/pids")" = 5 ]
	# five messages, five senders, one dotqmail-exec
	[ "$(cut -d' ' -f1 "$H/pids" | sort -u | tr '\n' ' ')" = 's1@abc.com s2@abc.com s3@abc.com s4@abc.com s5@abc.com ' ]
	[ "$(cut -d' ' -f2 "$H/pids" | sort -u | wc -l)" = 1 ]
	# the failure is the fifth message's: bounced to its sender only
	[ "$(grep -c '^event=failed .* rcpt=bad@abc.com' "$QR_LOG")" = 1 ]
	wait_log '^event=bounce ' 1
	one_bounce "$H/Maildir"
	grep -qx 'To: s5@abc.com' "$B"
	queue_empty
}

@test "mail born after queue-run started, found by its start-up scan, goes before the backlog" {
	control concurrencylocal 1
	users 8 '|sleep 0.2'
	# a backlog of eight, an hour old (an id says when it was born)
	for k in $(seq 8); do
		id=$(test-msgid new)
		VDMAIL_MSGID="$((${id%%.*} - 3600)).${id#*.}" \
		    inject sender@abc.com "u$k@abc.com"
	done
	# and one born a second after the start, in new/ as the scan runs
	id=$(test-msgid new)
	VDMAIL_MSGID="$((${id%%.*} + 1)).${id#*.}" inject sender@abc.com abc@abc.com
	qr_start
	wait_log '^event=done ' 9
	[ "$(grep -m1 '^event=delivered ' "$QR_LOG" | sed 's/.* rcpt=//')" = abc@abc.com ]
}

@test "a route that changes while a message waits is looked up again: the message goes where users/assign says now" {
	control concurrencylocal 1
	users 3 './Maildir/'
	for k in 1 2 3; do
		as_sandbox maildirmake "$S/home/u$k/Maildir"
	done
	printf '%s\n' '|touch "$HOME/started"; sleep 1' |
	    sandbox_write "$S/home/u1/.qmail"
	assign() {
		{
			for k in 1 2 3; do
				echo "=abc-u$k:u$k:$SANDBOX_UID:$SANDBOX_GID:$S/home/u$k:::"
			done
			echo "=abc-y:$1:$SANDBOX_UID:$SANDBOX_GID:$S/home/$1:::"
			echo .
		} | sandbox_write "$I/users/assign"
	}
	assign u2
	# u1's message first in line (already in mess/, as after a restart),
	# so that y@'s route is looked up, and kept, while u1's runs
	inject sender@abc.com u1@abc.com
	f=$(ls "$Q"/new/*)
	id=${f##*/}
	as_sandbox mv "$f" "$Q/mess/${id: -1}/$id"
	inject sender@abc.com y@abc.com
	# born a second before the start: backlog, behind u1's
	sleep 1
	qr_start
	# while u1's slow delivery runs (y@'s route was looked up when its
	# batch was gathered, before it began), y@ moves from u2 to u3
	wait_file "$S/home/u1/started"
	assign u3
	wait_log '^event=done ' 2
	[ "$(maildir_count "$S/home/u2/Maildir")" = 0 ]
	[ "$(maildir_count "$S/home/u3/Maildir")" = 1 ]
}

@test "a new/ID still linked from tmp/ (its injection's sync has not returned) is left alone until tmp/ID goes" {
	inject sender@abc.com abc@abc.com
	f=$(ls "$Q"/new/*)
	as_sandbox ln "$f" "$Q/tmp/${f##*/}"
	qr_start
	# another message after it, through the same scan of new/: when that
	# one is done, the first was seen and left
	inject sender@abc.com abc@abc.com
	wait_log '^event=done ' 1
	[ "$(log_count "msg=${f##*/}")" -eq 0 ]
	[ "$(maildir_count "$H/Maildir")" = 1 ]
	[ -e "$f" ]
	rm "$Q/tmp/${f##*/}"
	as_sandbox sh -c 'printf x >"$1"' sh "$Q/lock/trigger"
	wait_maildir "$H/Maildir" 2
	wait_log '^event=done ' 2
}

@test "inflow: while more messages wait than concurrencylocal, lock/inflow's mtime is fresh; drained, it is 0" {
	control concurrencylocal 2
	users 8 '|sleep 0.4'
	for k in $(seq 8); do
		inject sender@abc.com "u$k@abc.com"
	done
	touch -d '-1 hour' "$Q/lock/inflow"
	qr_start
	# the mark is set within a second of the start and kept fresh
	for _ in $(seq 20); do
		m=$(stat -c %Y "$Q/lock/inflow")
		[ $(($(date +%s) - m)) -le 2 ] && break
		sleep 0.1
	done
	[ $(($(date +%s) - m)) -le 2 ]
	wait_log '^event=done ' 8
	for _ in $(seq 20); do
		[ "$(stat -c %Y "$Q/lock/inflow")" = 0 ] && break
		sleep 0.1
	done
	[ "$(stat -c %Y "$Q/lock/inflow")" = 0 ]
	queue_empty
}

@test "inflow: a mark left by a crash is cleared at start; lock/inflow is made when missing" {
	touch "$Q/lock/inflow"
	qr_start
	for _ in $(seq 20); do
		[ "$(stat -c %Y "$Q/lock/inflow")" = 0 ] && break
		sleep 0.1
	done
	[ "$(stat -c %Y "$Q/lock/inflow")" = 0 ]
	qr_stop
	rm "$Q/lock/inflow"
	qr_start
	wait_file "$Q/lock/inflow"
	[ -f "$Q/lock/inflow" ]
}

@test "SIGTERM while a delivery runs: it is finished and recorded, exit 0; restarted, nothing is delivered twice" {
	dot_qmail slow '|touch "$HOME/started"; sleep 1' './Maildir/'
	dot_qmail later '|exit 111'
	qr_start
	inject sender@abc.com slow@abc.com later@abc.com
	id=
	wait_file "$H/started"
	wait_log '^event=deferred '
	id=$(log_ids '^event=new ')
	kill -TERM "$QR_PID"
	# what arrives now is left in new/ for the next start
	inject sender@abc.com john@abc.com
	qr_stop
	[ "$QR_STATUS" -eq 0 ]
	grep -qx "event=delivered msg=$id rcpt=slow@abc.com" "$QR_LOG"
	[ "$(tail -n 1 "$QR_LOG")" = 'event=stop messages=left' ]
	[ "$(maildir_count "$H/Maildir")" -eq 1 ]
	grep -qx 'd 0' "$(state_file "$id")"
	grep -qx 't 1 1 program exited 111: temporary failure' "$(state_file "$id")"
	[ "$(queue_new_count "$Q")" -eq 1 ]

	rm "$H/started"
	qr_start
	wait_log '^event=deferred ' 2
	wait_log '^event=done ' 1
	[ ! -e "$H/started" ]
	[ "$(log_count "^event=delivered msg=$id rcpt=slow@abc.com$")" -eq 1 ]
	[ "$(maildir_count "$H/Maildir")" -eq 2 ]
	dot_qmail later './Maildir/'
	qr_alarm
	wait_log "^event=done msg=$id$"
	[ "$(maildir_count "$H/Maildir")" -eq 3 ]
	queue_empty
}

@test "SIGTERM: while the last deliveries run it sleeps, not spins, and starts nothing new" {
	control concurrencylocal 2
	# both still run when the third message comes, even on a busy machine
	dot_qmail fast '|touch "$HOME/fast"; sleep 2'
	dot_qmail slow '|touch "$HOME/slow"; sleep 3'
	qr_start
	inject sender@abc.com fast@abc.com
	wait_file "$H/fast"
	inject sender@abc.com slow@abc.com
	wait_file "$H/slow"
	# no slot left: this one waits in mess/
	inject sender@abc.com john@abc.com
	wait_log '^event=new ' 3
	waiting=$(log_ids '^event=new ' | tail -n 1)
	kill -TERM "$QR_PID"
	sleep 1.5
	# CPU time used (utime + stime, in clock ticks) while the slow one ran
	read -r -a stat <"/proc/$QR_PID/stat"
	ticks=$((stat[13] + stat[14]))
	[ "$ticks" -lt 30 ] || { echo "queue-run used $ticks ticks of CPU"; false; }
	qr_stop
	[ "$QR_STATUS" -eq 0 ]
	[ "$(log_count '^event=delivered ')" -eq 2 ]
	[ "$(maildir_count "$H/Maildir")" -eq 0 ]
	[ -f "$(mess_file "$waiting")" ]
	qr_start
	wait_log "^event=done msg=$waiting$"
	[ "$(maildir_count "$H/Maildir")" -eq 1 ]
	queue_empty
}

@test "a message left in both new/ and mess/ by a crash is delivered once, and new/ is cleared" {
	inject sender@abc.com john@abc.com
	id=$(ls "$Q/new")
	# the crash: after queue-run's link to mess/, before its unlink
	as_sandbox ln "$Q/new/$id" "$(mess_file "$id")"
	qr_start
	wait_log "^event=done msg=$id$"
	[ -z "$(ls "$Q/new")" ]
	# another message, to make it look at new/ again
	inject sender@abc.com john@abc.com
	wait_log '^event=done ' 2
	[ "$(log_count "^event=delivered msg=$id ")" -eq 1 ]
	[ "$(maildir_count "$H/Maildir")" -eq 2 ]
	queue_empty
}

@test "a deferred message in mess/ is tried again as soon as queue-run starts" {
	deferred_once
	[ "$QR_STATUS" -eq 0 ]
	[ -f "$(mess_file "$id")" ]
	as_sandbox touch "$H/fixed"
	qr_start
	wait_log "^event=done msg=$id$"
	grep -qx "event=delivered msg=$id rcpt=tmp@abc.com" "$QR_LOG"
	[ "$(log_count '^event=retry ')" -eq 0 ]
	[ "$(maildir_count "$H/Maildir")" -eq 1 ]
	queue_empty
}

@test "a state line cut short (a crash or a full disk mid-append) is no mark: its recipient is tried again, and later marks start a line of their own" {
	dot_qmail ok './Maildir/'
	fails_until_fixed
	qr_start
	inject sender@abc.com ok@abc.com tmp@abc.com
	wait_log '^event=deferred '
	id=$(log_ids '^event=new ')
	qr_stop
	[ "$QR_STATUS" -eq 0 ]
	grep -qx 'd 0' "$(state_file "$id")"
	# what an append cut short leaves: "d 1" of a "d 1..." never finished
	printf 'd 1' | as_sandbox tee -a "$(state_file "$id")" >/dev/null
	qr_start
	wait_log '^event=deferred ' 2
	qr_stop
	# the cut line is gone, the new mark is a line of its own
	if grep -q '^d 1' "$(state_file "$id")"; then return 1; fi
	[ "$(tail -c 1 "$(state_file "$id")" | od -An -c | tr -d ' ')" = '\n' ]
	grep -qx 't 1 2 program exited 111: not yet' "$(state_file "$id")"
	run -0 as_sandbox queue-list
	grep -q "	deferred	.*<tmp@abc.com>$" <<<"$output"
	as_sandbox touch "$H/fixed"
	qr_start
	wait_log "^event=done msg=$id$"
	[ "$(log_count "^event=delivered msg=$id rcpt=tmp@abc.com$")" -eq 1 ]
	[ "$(log_count "^event=delivered msg=$id rcpt=ok@abc.com$")" -eq 1 ]
	[ "$(maildir_count "$H/Maildir")" -eq 2 ]
	queue_empty
}

@test "a message it cannot read for now (an unreadable state file) is put off, not dropped nor fatal: the others go on, and it goes once readable" {
	deferred_once
	as_sandbox chmod 000 "$(state_file "$id")"
	as_sandbox touch "$H/fixed"
	qr_start
	wait_log "^event=error msg=$id reason=\"Permission denied\"$"
	# the queue manager lives on and delivers the rest
	inject sender@abc.com abc@abc.com
	wait_log '^event=done ' 1
	[ "$(maildir_count "$H/Maildir")" -eq 1 ]
	kill -0 "$QR_PID"
	[ -f "$(mess_file "$id")" ]
	as_sandbox chmod 640 "$(state_file "$id")"
	qr_alarm
	wait_log "^event=done msg=$id$"
	[ "$(log_count "^event=delivered msg=$id rcpt=tmp@abc.com$")" -eq 1 ]
	[ "$(maildir_count "$H/Maildir")" -eq 2 ]
	queue_empty
}

@test "a message it cannot read for now, met while gathering another's batch, is put off once: one error line, not two" {
	fails_until_fixed
	qr_start
	inject sender@abc.com tmp@abc.com
	inject sender@abc.com tmp@abc.com
	wait_log '^event=deferred ' 2
	qr_stop
	# at a start both are tried in one batch; the one the batch starts
	# with is the first deferred, the other is met while gathering
	: >"$QR_LOG"
	qr_start
	wait_log '^event=deferred ' 2
	qr_stop
	first=$(log_ids '^event=deferred ' | head -n 1)
	other=$(log_ids '^event=deferred ' | sed -n 2p)
	[ -n "$other" ]
	[ "$first" != "$other" ]
	as_sandbox chmod 000 "$(state_file "$other")"
	as_sandbox touch "$H/fixed"
	: >"$QR_LOG"
	qr_start
	wait_log "^event=done msg=$first$"
	wait_log "^event=error msg=$other "
	sleep 1
	[ "$(log_count "^event=error msg=$other ")" -eq 1 ]
	[ -f "$(mess_file "$other")" ]
	as_sandbox chmod 640 "$(state_file "$other")"
	qr_alarm
	wait_log "^event=done msg=$other$"
	queue_empty
}

@test "a group-writable home is deferred; after chmod 755 and SIGALRM the message is delivered" {
	chmod 0775 "$H"
	qr_start
	inject sender@abc.com john@abc.com
	wait_log '^event=deferred '
	id=$(log_ids '^event=new ')
	grep -Eqx "event=deferred msg=$id rcpt=john@abc.com reason=\".*writable by group or others.*\"" "$QR_LOG"
	[ "$(maildir_count "$H/Maildir")" -eq 0 ]
	[ -f "$(mess_file "$id")" ]
	chmod 0755 "$H"
	qr_alarm
	wait_log "^event=done msg=$id$"
	[ "$(maildir_count "$H/Maildir")" -eq 1 ]
	queue_empty
}

@test "under supervise: svc -a retries at once, svc -d stops it cleanly" {
	fails_until_fixed
	sv_start
	inject sender@abc.com tmp@abc.com
	wait_log '^event=deferred '
	id=$(log_ids '^event=new ')
	as_sandbox touch "$H/fixed"
	svc -a "$I/service/send"
	wait_log "^event=done msg=$id$"
	grep -qx 'event=retry reason=SIGALRM' "$QR_LOG"
	[ "$(maildir_count "$H/Maildir")" -eq 1 ]
	svc -d "$I/service/send"
	wait_log '^event=stop messages=none$'
	sv_stop
	queue_empty
}
