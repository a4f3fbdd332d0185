# t/e2e-durability.bats -- no message is lost: not when queue-run and its
# deliveries are killed at random moments, not when a stopped queue is
# copied with tar to another instance and started there.
load helpers/common
load helpers/e2e

SENDER=sender@example.org

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
}

teardown() {
	e2e_teardown
}

# victims DIR: the pids of queue-run and dotqmail-exec processes that
# belong to scratch directory DIR (queue-run works in DIR/inst/queue; a
# dotqmail-exec names its home under DIR on its command line).
victims() {
	local pid c
	for pid in $(pgrep -x 'queue-run|dotqmail-exec'); do
		c=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
		case $c in
		"$1"/*) echo "$pid" ;;
		*)
			if tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null |
			    grep -qF -- "$1/"; then
				echo "$pid"
			fi
			;;
		esac
	done
}

# killer DIR STOPFILE COUNTFILE: until STOPFILE exists, every 50 to 300 ms
# SIGKILL some of DIR's queue-run and dotqmail-exec processes: queue-run
# first, then one time in eight queue-run, one time in eight all of them,
# else one dotqmail-exec picked at random (waiting up to about 100 ms for
# one to run).  The number of processes killed goes to COUNTFILE.
killer() {
	local n=0 v q d pid mode
	while [ ! -e "$2" ]; do
		sleep "$(printf '0.%03d' $((RANDOM % 251 + 50)))"
		mode=$((RANDOM % 8))
		[ "$n" -gt 0 ] || mode=0	# queue-run first, surely
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			mapfile -t v < <(victims "$1")
			q=() d=()
			for pid in "${v[@]}"; do
				case $(cat "/proc/$pid/comm" 2>/dev/null) in
				queue-run) q+=("$pid") ;;
				dotqmail-exec) d+=("$pid") ;;
				esac
			done
			case $mode in
			0) v=("${q[@]}") ;;
			1) ;;
			*)
				v=()
				if [ "${#d[@]}" -gt 0 ]; then
					v=("${d[$((RANDOM % ${#d[@]}))]}")
				fi
				;;
			esac
			[ "${#v[@]}" -gt 0 ] && break
			sleep 0.01
		done
		[ "${#v[@]}" = 0 ] && continue
		kill -KILL "${v[@]}" 2>/dev/null || :
		n=$((n + ${#v[@]}))
	done
	echo "$n" >"$3"
}

# drain INST SECONDS: svc -a every 5 s until INST's queue is empty or
# SECONDS (stretched for sanitizer builds) have passed.
drain() {
	local end=$((SECONDS + $2 * E2E_SLOW))
	while [ "$SECONDS" -lt "$end" ]; do
		svc -a "$1/service/send" 2>/dev/null || :
		for _ in $(seq 50); do
			queue_empty "$1" && return 0
			sleep 0.1
		done
	done
	queue_empty "$1"
}

# deferrals INST RCPT N: INST's send log has N or more deferrals of RCPT.
deferrals() {
	[ "$(sendlog "$1" | grep -c "event=deferred .*rcpt=$2")" -ge "$3" ]
}

# service_down DIR: supervise says the service in DIR is down.
service_down() {
	svstat "$1" | grep -q ': down '
}

@test "SIGKILL of queue-run and deliveries at random moments while 500 messages flow loses none" {
	e2e_setup abc.com:abc anotherdomain.org:alias-anotherdomain
	# abc's deliveries take a while (a slow filter before the Maildir),
	# so that the killer finds some under way.
	printf '|/bin/sleep 0.1\n./Maildir/\n' | put "$ABC/.qmail-default"
	sb maildirmake "$ALIAS/ad-webmaster"
	echo ./ad-webmaster/ | put "$ALIAS/.qmail-anotherdomain-webmaster"
	e2e_start "$I"

	# Three mailboxes; a message goes to one or two of them.
	a=any@abc.com j=jsmith@$E2E_ME w=webmaster@anotherdomain.org
	killer "$S" "$T/stop" "$T/kills" </dev/null >/dev/null 2>&1 3>&- &
	E2E_KILLER=$!
	run -0 send_many "$PORT" "$SENDER" 8 20 durable 500 \
	    "$a" "$j,$w" "$w" "$a,$j" "$j" "$w,$a"
	echo "# $output" >&3
	# The killing goes on a little while the queue works.
	sleep 3
	touch "$T/stop"
	wait "$E2E_KILLER"
	E2E_KILLER=
	echo "# processes killed: $(cat "$T/kills");" \
	    "queue-run started $(sendlog "$I" | grep -c 'event=start$') times" >&3
	# the kills happened: a queue-run was killed and started again
	[ "$(cat "$T/kills")" -gt 0 ]
	[ "$(sendlog "$I" | grep -c 'event=start$')" -ge 2 ]

	drain "$I" 60 || {
		echo "# the queue did not empty in time:" >&3
		qlist "$I" | head -20 | sed 's/^/#   /' >&3
	}
	tally durable "$ABC/Maildir" "$JSMITH/Maildir" "$ALIAS/ad-webmaster" \
	    >"$T/tally"
	run -0 python3 - "$T/tally" 500 "$ABC/Maildir" "$JSMITH/Maildir" \
	    "$ALIAS/ad-webmaster" <<'EOF'
import collections, sys

path, n = sys.argv[1], int(sys.argv[2])
a, j, w = sys.argv[3:6]
# message n goes to the list number n mod 6, as sent above
lists = [[a], [j, w], [w], [a, j], [j], [w, a]]
seen = collections.Counter()
for line in open(path):
    d, num = line.split()
    seen[(d, int(num))] += 1
want = {(d, i) for i in range(1, n + 1) for d in lists[i % 6]}
lost = sorted(want - set(seen))
extra = sorted(set(seen) - want)
dups = sum(c - 1 for c in seen.values())
print("duplicates: %d" % dups)
for d, i in lost:
    print("lost: message %d for %s" % (i, d))
for d, i in extra:
    print("delivered where it was not sent: message %d in %s" % (i, d))
sys.exit(1 if lost or extra else 0)
EOF
	echo "# $output" >&3
}

@test "a queue stopped with messages, copied with tar to a fresh instance elsewhere and started there, delivers each message once" {
	# Instance A: abc.com:abc; every message goes to any@abc.com and to
	# jsmith.  The first five are tried while ~abc is writable by group
	# (so they wait in the queue with jsmith's copy recorded as
	# delivered); the other fifteen come while the send service is down.
	e2e_scratch
	SA=$S A=$S/inst
	e2e_instance
	PA=$PORT
	e2e_users "$A" "$SA"
	vdomains "$A" abc.com:abc
	echo ./Maildir/ | put "$SA/home/abc/.qmail-default"
	chmod 0775 "$SA/home/abc"
	e2e_start "$A"
	rcpts=any@abc.com,jsmith@$E2E_ME
	for n in 1 2 3 4 5; do
		run -0 send_mail "$PA" "$SENDER" "$rcpts" "copied $n"
	done
	wait_for 20 has_new "$SA/home/jsmith/Maildir" 5
	wait_for 20 deferrals "$A" any@abc.com 5
	svc -d "$A/service/send"
	wait_for 20 service_down "$A/service/send"
	for n in $(seq 6 20); do
		run -0 send_mail "$PA" "$SENDER" "$rcpts" "copied $n"
	done
	e2e_stop "$A"
	no_procs_left "$SA"
	run -0 qlist "$A"
	[ "$(grep -c $'\tnew\t' <<<"$output")" = 30 ]
	[ "$(grep -c $'\tdone\t.*<jsmith@' <<<"$output")" = 5 ]
	[ "$(grep -c $'\tdeferred\t.*<any@abc.com>' <<<"$output")" = 5 ]

	# Instance B elsewhere, with the same configuration and its own
	# homes; its queue replaced by A's.
	e2e_scratch
	SB=$S B=$S/inst
	e2e_instance
	e2e_users "$B" "$SB"
	vdomains "$B" abc.com:abc
	echo ./Maildir/ | put "$SB/home/abc/.qmail-default"
	as_sandbox rm -rf "$B/queue"
	# shellcheck disable=SC2016 # expanded by the inner sh
	as_sandbox sh -c 'tar -C "$1" -cf - queue | tar -C "$2" -xf -' copy \
	    "$A" "$B"
	[ -z "$(find "$B/queue" ! -user "$E2E_UID")" ]
	run -0 as_sandbox env VDMAIL_ROOT="$B" queue-check
	[ "$output" = '' ]
	run -0 qlist "$B"
	[ "${#lines[@]}" = 40 ]

	e2e_start "$B"
	wait_for 30 has_new "$SB/home/abc/Maildir" 20
	wait_for 30 has_new "$SB/home/jsmith/Maildir" 15
	wait_for 30 queue_empty "$B"
	tally copied "$SA/home/abc/Maildir" "$SA/home/jsmith/Maildir" \
	    "$SB/home/abc/Maildir" "$SB/home/jsmith/Maildir" >"$T/tally"
	# Every message once: abc's copies all in B; jsmith's first five in A
	# (delivered before the copy), the rest in B.
	{
		for n in $(seq 1 5); do
			echo "$SA/home/jsmith/Maildir $n"
		done
		for n in $(seq 1 20); do
			echo "$SB/home/abc/Maildir $n"
		done
		for n in $(seq 6 20); do
			echo "$SB/home/jsmith/Maildir $n"
		done
	} | sort >"$T/want"
	sort "$T/tally" | diff -u "$T/want" -
	run -1 logged "$B" 'event=(failed|bounce|deferred)'
	[ "$(new_count "$B/alias/Maildir")" = 0 ]
}
