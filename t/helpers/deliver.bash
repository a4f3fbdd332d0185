# t/helpers/deliver.bash -- helpers for tests that run the queue manager
# and local delivery.  Load after helpers/common:
#
#	load helpers/common
#	load helpers/deliver
#
# The instance lives in a scratch directory ($S, from scratch_dir) that the
# sandbox user owns; everything that writes into it runs as that user, so
# that the files have the owner and modes a real delivery would see.
# Call deliver_cleanup from teardown: it stops queue-run and removes $S.

# How long the wait_* helpers wait before they give up, in tenths of a
# second.
DELIVER_WAIT_TENTHS=${DELIVER_WAIT_TENTHS:-100}

# deliver_instance: an instance in $S/inst (make_instance) with the master
# user abc of the virtual domain abc.com, as in the article:
#   control/virtualdomains  abc.com:abc
#   users/assign            =abc:...  and  +abc-:...  (uid/gid: the sandbox)
#   $H = $S/home/abc        mode 0755, a Maildir, .qmail-default ./Maildir/
# Sets and exports VDMAIL_ROOT; sets I (the instance), Q (its queue), H,
# and QR_LOG / QR_ERR (queue-run's stdout and stderr).
deliver_instance() {
	make_instance "$@" >/dev/null || return 1
	I=$S/inst
	Q=$I/queue
	H=$S/home/abc
	QR_LOG=$S/queue-run.log
	QR_ERR=$S/queue-run.err
	export VDMAIL_ROOT=$I
	as_sandbox mkdir -m 0755 "$S/home" "$H" || return 1
	as_sandbox maildirmake "$H/Maildir" || return 1
	dot_qmail default './Maildir/' || return 1
	printf 'abc.com:abc\n' | sandbox_append "$I/control/virtualdomains" ||
	    return 1
	printf '%s\n' \
	    "=abc:abc:$SANDBOX_UID:$SANDBOX_GID:$H:::" \
	    "+abc-:abc:$SANDBOX_UID:$SANDBOX_GID:$H:-::" \
	    '.' | sandbox_write "$I/users/assign"
}

# sandbox_write FILE: stdin into FILE (mode 0644), written as the sandbox
# user; sandbox_append FILE adds to it.
sandbox_write() {
	as_sandbox sh -c 'umask 022 && cat >"$1"' sh "$1"
}

sandbox_append() {
	as_sandbox sh -c 'umask 022 && cat >>"$1"' sh "$1"
}

# dot_qmail EXT LINE...: ~abc/.qmail-EXT holds these lines.
dot_qmail() {
	local ext=$1

	shift
	printf '%s\n' "$@" | sandbox_write "$H/.qmail-$ext"
}

# control NAME VALUE: control/NAME holds one line, VALUE.
control() {
	printf '%s\n' "$2" | sandbox_write "$I/control/$1"
}

# message [SUBJECT]: a small message on stdout.
# shellcheck disable=SC2120 # the tests pass SUBJECT
message() {
	printf 'From: sender@abc.com\nTo: john@abc.com\nSubject: %s\n\nbody\n' \
	    "${1:-test}"
}

# inject SENDER RCPT...: queue a message with this envelope through
# queue-inject, as the sandbox user: the file $MSG when MSG is set, else
# the one `message` makes.  SENDER may be empty (a bounce) or #@[].
inject() {
	local env=$S/envelope.$BASHPID sender=$1 r

	shift
	{
		printf 'F%s\0' "$sender"
		for r in "$@"; do
			printf 'T%s\0' "$r"
		done
		printf '\0'
	} >"$env"
	chmod 0644 "$env"
	if [ -n "${MSG:-}" ]; then
		as_sandbox queue-inject <"$MSG" 1<"$env"
	else
		message | as_sandbox queue-inject 1<"$env"
	fi
	local rc=$?
	rm -f "$env"
	return "$rc"
}

# sandbox_spawn OUT ERR COMMAND...: COMMAND in the background as the
# sandbox user, in $S, its stdout appended to OUT and its stderr to ERR.
# The subshell execs, so SPAWNED_PID is COMMAND's own pid.
sandbox_spawn() {
	local out=$1 err=$2

	shift 2
	(
		cd "$S" || exit 111
		if [ "$(id -u)" = 0 ]; then
			exec setpriv --reuid="$SANDBOX_UID" \
			    --regid="$SANDBOX_GID" --clear-groups -- "$@"
		fi
		exec "$@"
	) >>"$out" 2>>"$err" 3>&- &
	SPAWNED_PID=$!
}

# qr_start: queue-run in the background as the sandbox user, its stdout
# appended to $QR_LOG and stderr to $QR_ERR; waits for its start line.
# Sets QR_PID.
qr_start() {
	local starts

	starts=$(grep -c '^event=start$' "$QR_LOG" 2>/dev/null || :)
	sandbox_spawn "$QR_LOG" "$QR_ERR" queue-run
	QR_PID=$SPAWNED_PID
	wait_log '^event=start$' $((${starts:-0} + 1))
}

# sv_start: supervise on $I/service/send (queue-run through the service's
# run script), as the sandbox user; what it logs goes to $QR_LOG.  Waits
# for queue-run's start line.  Sets SV_PID.
sv_start() {
	sandbox_spawn "$QR_LOG" "$QR_LOG" supervise "$I/service/send"
	SV_PID=$SPAWNED_PID
	wait_log '^event=start$'
}

# sv_stop: svc -dx, then wait for supervise to exit.
sv_stop() {
	local i

	[ -n "${SV_PID:-}" ] || return 0
	svc -dx "$I/service/send" 2>/dev/null || :
	for ((i = 0; i < DELIVER_WAIT_TENTHS; i++)); do
		kill -0 "$SV_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SV_PID" 2>/dev/null; then
		echo "supervise $SV_PID did not stop" >&2
		return 1
	fi
	wait "$SV_PID" 2>/dev/null || :
	SV_PID=
}

# qr_stop: SIGTERM, then wait for the exit.  Sets QR_STATUS; fails when
# queue-run takes longer than the wait.
qr_stop() {
	local i

	QR_STATUS=
	[ -n "${QR_PID:-}" ] || return 0
	kill -TERM "$QR_PID" 2>/dev/null || :
	for ((i = 0; i < DELIVER_WAIT_TENTHS; i++)); do
		kill -0 "$QR_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$QR_PID" 2>/dev/null; then
		echo "queue-run $QR_PID did not stop after SIGTERM" >&2
		return 1
	fi
	QR_STATUS=0
	wait "$QR_PID" || QR_STATUS=$?
	QR_PID=
}

# qr_alarm: SIGALRM (what `svc -a` sends): retry every deferred message.
qr_alarm() {
	kill -ALRM "$QR_PID"
}

# deliver_cleanup: for teardown.  Stops supervise and queue-run (SIGKILL
# when they do not stop), then removes $S.  Fails when queue-run's stderr
# holds a sanitizer report.
deliver_cleanup() {
	local rc=0

	if [ -n "${SV_PID:-}" ]; then
		sv_stop || {
			kill -KILL "$SV_PID" 2>/dev/null
			wait "$SV_PID" 2>/dev/null
		}
		SV_PID=
	fi
	if [ -n "${QR_PID:-}" ]; then
		qr_stop 2>/dev/null || {
			kill -KILL "$QR_PID" 2>/dev/null
			wait "$QR_PID" 2>/dev/null
		}
		QR_PID=
	fi
	[ -z "${QR_ERR:-}" ] || qr_clean_stderr || rc=1
	scratch_cleanup
	return "$rc"
}

# wait_log PATTERN [N]: wait until N (default 1) lines of $QR_LOG match
# the extended regular expression PATTERN.
wait_log() {
	local want=${2:-1} i n

	for ((i = 0; i < DELIVER_WAIT_TENTHS * 2; i++)); do
		n=$(grep -c -E -e "$1" "$QR_LOG" 2>/dev/null || :)
		[ "${n:-0}" -ge "$want" ] && return 0
		sleep 0.05
	done
	echo "waited for $want lines like '$1' in the log; got ${n:-0}:" >&2
	sed 's/^/  /' "$QR_LOG" >&2
	return 1
}

# log_count PATTERN: how many log lines match.
log_count() {
	grep -c -E -e "$1" "$QR_LOG" || :
}

# log_ids PATTERN: the msg= of each log line matching PATTERN, in order.
log_ids() {
	grep -E -e "$1" "$QR_LOG" | sed -n 's/.* msg=\([^ ]*\).*/\1/p'
}

# wait_file PATH: wait until PATH exists.
wait_file() {
	local i

	for ((i = 0; i < DELIVER_WAIT_TENTHS * 2; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	echo "waited for $1 to appear" >&2
	return 1
}

# next_second: sleep until just after the clock's next whole second, so
# that what follows starts early in a second (for tests of whole-second
# ages, such as control/queuelifetime).
next_second() {
	sleep "$(date +%N | awk '{ printf "%.3f", (1e9 - $1) / 1e9 + 0.01 }')"
}

# maildir_count DIR: the messages in DIR/new and DIR/cur.
maildir_count() {
	find "$1/new" "$1/cur" -type f | wc -l
}

# wait_maildir DIR N: wait until DIR holds at least N messages.
wait_maildir() {
	local i

	for ((i = 0; i < DELIVER_WAIT_TENTHS * 2; i++)); do
		[ "$(maildir_count "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	echo "waited for $2 messages in $1; got $(maildir_count "$1")" >&2
	echo "log:" >&2
	sed 's/^/  /' "$QR_LOG" >&2
	return 1
}

# maildir_find DIR REGEX: the messages in DIR (new/ and cur/) that have a
# line matching REGEX (grep -E), one path a line, sorted.
maildir_find() {
	{ find "$1/new" "$1/cur" -type f -exec grep -l -E -e "$2" {} + || :; } |
	    sort
}

# queue_files: every file in the queue's new/, mess/ and state/ (there is
# one per message not yet done), one path a line.
queue_files() {
	find "${Q:?}/new" "$Q/mess" "$Q/state" -type f | sort
}

# queue_empty: no message left in the queue; names what is left when not.
queue_empty() {
	local left

	left=$(queue_files)
	[ -z "$left" ] && return 0
	echo "left in the queue:" >&2
	sed 's/^/  /' <<<"$left" >&2
	return 1
}

# state_file ID: the path of queue-run's record for message ID.
state_file() {
	printf '%s/state/%s/%s\n' "$Q" "${1: -1}" "$1"
}

# mess_file ID: the path of message ID once queue-run has taken it up.
mess_file() {
	printf '%s/mess/%s/%s\n' "$Q" "${1: -1}" "$1"
}

# qr_clean_stderr: queue-run (and what it ran) wrote nothing to stderr
# that a sanitizer would write.  Under supervise, stderr goes to $QR_LOG.
qr_clean_stderr() {
	local f

	for f in "$QR_ERR" "$QR_LOG"; do
		if [ -s "$f" ] && grep -q -e 'Sanitizer' -e 'runtime error:' \
		    "$f"; then
			echo "sanitizer report in $f:" >&2
			cat "$f" >&2
			return 1
		fi
	done
	return 0
}

# dsn_dump FILE: a bounce (a delivery status notification) as plain lines,
# parsed with Python's email package, for the tests to grep:
#   content-type: multipart/report
#   report-type: delivery-status
#   parts: text/plain message/delivery-status text/rfc822-headers
#   reporting-mta: dns; HOST
#   recipient: FINAL-RECIPIENT | ACTION | STATUS | DIAGNOSTIC-CODE
#              (one line per recipient block, "rfc822; ADDRESS" etc.)
#   --- text
#   the first part, as is
#   --- headers
#   the third part, as is
# Only the first two lines when FILE is not multipart; fails when it
# cannot be read.
dsn_dump() {
	python3 - "$1" <<'EOF'
import email, sys
from email import policy

with open(sys.argv[1], 'rb') as f:
    m = email.message_from_binary_file(f, policy=policy.compat32)
print('content-type:', m.get_content_type())
print('report-type:', m.get_param('report-type'))
if not m.is_multipart():
    sys.exit(0)
parts = m.get_payload()
print('parts:', ' '.join(p.get_content_type() for p in parts))
text = headers = ''
for p in parts:
    t = p.get_content_type()
    if t == 'message/delivery-status':
        blocks = p.get_payload()
        print('reporting-mta:', blocks[0].get('Reporting-MTA'))
        for b in blocks[1:]:
            print('recipient:', ' | '.join(str(b.get(k)) for k in
                  ('Final-Recipient', 'Action', 'Status', 'Diagnostic-Code')))
    elif t == 'text/plain' and not text:
        text = p.get_payload(decode=True).decode('ascii')
    elif t == 'text/rfc822-headers':
        headers = p.get_payload(decode=True).decode('ascii', 'replace')
print('--- text')
sys.stdout.write(text)
print('--- headers')
sys.stdout.write(headers)
EOF
}
