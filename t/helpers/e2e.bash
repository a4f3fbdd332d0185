# t/helpers/e2e.bash -- end-to-end helpers, loaded after helpers/common by
# t/e2e-delivery.bats and t/e2e-durability.bats:  load helpers/e2e
#
# An instance made by vdmail-init in a scratch directory, run by svscan as
# the sandbox user on a free port, set up as in the Linux Journal article
# "Virtual Domains and qmail": a master user abc for abc.com, a user
# jsmith with a Maildir named in ~jsmith/.qmail, or the alias user
# holding abc.com and anotherdomain.org.  Mail goes in through the real
# tcpserver and smtp-accept (Python's smtplib), and out through queue-run
# and dotqmail-exec.
#
# e2e_teardown stops every svscan started here, every supervise under it
# and the background killer, and removes every scratch directory.

E2E_ME=mx.example.net

# Sanitizer builds are several times slower: every wait is stretched.
if [ -n "${VDMAIL_ASAN:-}" ]; then
	E2E_SLOW=4
else
	E2E_SLOW=1
fi

# instance directory -> its svscan's pid
declare -gA E2E_SVSCAN=()
# scratch directories made by e2e_scratch
E2E_SCRATCH=()
# the background killer of t/e2e-durability.bats, when running
E2E_KILLER=

# The uid and gid the deliveries run as: users/assign names them, though
# sandbox mode does not act on them.
if [ "$(id -u)" = 0 ]; then
	E2E_UID=$SANDBOX_UID
	E2E_GID=$SANDBOX_GID
else
	E2E_UID=$(id -u)
	E2E_GID=$(id -g)
fi

# sb COMMAND...: as_sandbox with umask 022, so that no home or .qmail file
# made here is writable by group or others (paternalism).
sb() {
	as_sandbox sh -c 'umask 022 && exec "$@"' sb "$@"
}

# put FILE: stdin into FILE, written by the sandbox user.
put() {
	# shellcheck disable=SC2016 # expanded by the inner sh
	sb sh -c 'cat >"$1"' put "$1"
}

# e2e_scratch: a new scratch directory in $S, removed by e2e_teardown.
e2e_scratch() {
	scratch_dir || return 1
	E2E_SCRATCH+=("$S")
}

# e2e_instance: a fresh instance in $S/inst (make_instance: me is
# $E2E_ME), listening on a free port, in $PORT.
e2e_instance() {
	PORT=$(free_port) || return 1
	make_instance --smtp-port "$PORT" >/dev/null || return 1
	[ "$(cat "$S/inst/control/me")" = "$E2E_ME" ]
}

# vdomains INST LINE...: control/virtualdomains holds these lines (after
# the comments vdmail-init wrote).
vdomains() {
	local inst=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner sh
	printf '%s\n' "$@" | sb sh -c 'cat >>"$1"' put \
	    "$inst/control/virtualdomains"
}

# e2e_users INST BASE: the users of the article, homes under BASE/home:
#   abc     the master user of abc.com: BASE/home/abc, a Maildir, no .qmail
#           files yet; users/assign gives it abc and every abc-EXT
#   jsmith  BASE/home/jsmith, a Maildir, and ~jsmith/.qmail naming it by
#           its absolute path (the article's /home/jsmith/Maildir/)
e2e_users() {
	local inst=$1 base=$2 u
	sb mkdir -p "$base/home" || return 1
	for u in abc jsmith; do
		sb mkdir -m 0755 "$base/home/$u" &&
		    sb maildirmake "$base/home/$u/Maildir" || return 1
	done
	echo "$base/home/jsmith/Maildir/" | put "$base/home/jsmith/.qmail" ||
	    return 1
	{
		for u in abc jsmith; do
			printf '=%s:%s:%s:%s:%s:::\n' "$u" "$u" "$E2E_UID" \
			    "$E2E_GID" "$base/home/$u"
			printf '+%s-:%s:%s:%s:%s:-::\n' "$u" "$u" "$E2E_UID" \
			    "$E2E_GID" "$base/home/$u"
		done
		echo .
	} | put "$inst/users/assign"
}

# e2e_setup [VIRTUALDOMAINS LINE...]: scratch dir $S, instance $I on $PORT
# with the article's users and these virtualdomains lines (default
# abc.com:abc); $ABC and $JSMITH are the homes, $ALIAS the alias home.
# shellcheck disable=SC2034 # the test files use them
e2e_setup() {
	e2e_scratch || return 1
	I=$S/inst
	ABC=$S/home/abc
	JSMITH=$S/home/jsmith
	ALIAS=$I/alias
	e2e_instance || return 1
	e2e_users "$I" "$S" || return 1
	if [ "$#" = 0 ]; then
		set -- abc.com:abc
	fi
	vdomains "$I" "$@"
}

# e2e_start INST: run svscan on INST/service as the sandbox user, and
# wait until its SMTP port answers.
e2e_start() {
	local inst=$1
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid="$SANDBOX_UID" --regid="$SANDBOX_GID" \
		    --clear-groups -- svscan "$inst/service" \
		    </dev/null >/dev/null 2>&1 3>&- &
	else
		svscan "$inst/service" </dev/null >/dev/null 2>&1 3>&- &
	fi
	E2E_SVSCAN[$inst]=$!
	wait_port "$(head -n 1 "$inst/service/smtp/env/PORT")"
}

# e2e_stop INST: stop svscan, then every service and its logger, and wait
# for each supervise to exit.
e2e_stop() {
	local inst=$1 pid=${E2E_SVSCAN[$1]:-} d i
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || :
		# its status is 143, from the TERM
		wait "$pid" 2>/dev/null || :
		unset "E2E_SVSCAN[$inst]"
	fi
	# The services first, then their loggers, which then see the end
	# of their input.
	for d in "$inst"/service/*/ "$inst"/service/*/log/; do
		if [ -d "$d/supervise" ]; then
			svc -dx "$d" 2>/dev/null || :
		fi
	done
	for d in "$inst"/service/*/ "$inst"/service/*/log/; do
		i=0
		while [ -d "$d/supervise" ] && svok "$d" 2>/dev/null &&
		    [ "$i" -lt $((200 * E2E_SLOW)) ]; do
			sleep 0.1
			i=$((i + 1))
		done
	done
	return 0
}

# scratch_procs DIR: processes that belong to DIR: working in it, naming it
# on their command line, or with VDMAIL_ROOT in it ("PID COMMAND" lines).
scratch_procs() {
	local p c
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = "$$" ] && continue
		c=$(readlink "$p/cwd" 2>/dev/null) || continue
		case $c in
		"$1" | "$1/"*) ;;
		*)
			if ! tr '\0' '\n' <"$p/cmdline" 2>/dev/null |
			    grep -qF -- "$1" &&
			    ! tr '\0' '\n' <"$p/environ" 2>/dev/null |
			    grep -qxF -e "VDMAIL_ROOT=$1/inst" -e "VDMAIL_ROOT=$1"; then
				continue
			fi
			;;
		esac
		echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
	done
}

# no_procs_left DIR: nothing runs for DIR any more (waits a little for
# processes on their way out).
no_procs_left() {
	local i
	for i in $(seq $((50 * E2E_SLOW))); do
		if [ -z "$(scratch_procs "$1")" ] && ! pgrep -f "$1" >/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "processes left for $1:" >&2
	scratch_procs "$1" >&2
	pgrep -af "$1" >&2
	return 1
}

# sanitizer_reports DIR: the lines of DIR's service logs that tell of a
# sanitizer report (the programs' stderr goes there); fails when there is
# none.
sanitizer_reports() {
	cat "$1"/inst/service/*/log/main/current 2>/dev/null |
	    grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:'
}

# e2e_teardown: stop everything started here, remove the scratch
# directories; fails when a service logged a sanitizer report.
e2e_teardown() {
	local inst d status=0
	if [ -n "$E2E_KILLER" ]; then
		kill "$E2E_KILLER" 2>/dev/null || :
		wait "$E2E_KILLER" 2>/dev/null || :
		E2E_KILLER=
	fi
	for inst in "${!E2E_SVSCAN[@]}"; do
		e2e_stop "$inst"
	done
	for d in "${E2E_SCRATCH[@]}"; do
		# common.bash's stop, in case something was started by hand
		S=$d SVSCAN_PID='' stop_services || :
		no_procs_left "$d" 2>/dev/null || :
		if sanitizer_reports "$d" >&2; then
			echo "sanitizer report in the logs of $d" >&2
			status=1
		fi
		S=$d scratch_cleanup
	done
	E2E_SCRATCH=()
	return "$status"
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds (every 0.1 s);
# SECONDS is stretched for sanitizer builds.  Fails on the timeout.
wait_for() {
	local n=$(($1 * 10 * E2E_SLOW)) i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	echo "timed out waiting for: $*" >&2
	return 1
}

# new_count MAILDIR: how many messages are in MAILDIR/new.
new_count() {
	find "$1/new" -type f | wc -l
}

# has_new MAILDIR N: MAILDIR/new holds N messages or more.
has_new() {
	[ "$(new_count "$1")" -ge "$2" ]
}

# the_new MAILDIR: the one message in MAILDIR/new (its path); fails when
# there is not exactly one.
the_new() {
	local f
	mapfile -t f < <(find "$1/new" -type f)
	if [ "${#f[@]}" != 1 ]; then
		echo "$1/new holds ${#f[@]} messages, not one" >&2
		return 1
	fi
	echo "${f[0]}"
}

# header FILE: the header of the message in FILE.
header() {
	sed '/^$/q' "$1"
}

# qlist INST: queue-list for INST, as the sandbox user.
qlist() {
	as_sandbox env VDMAIL_ROOT="$1" queue-list
}

# queue_empty INST: nothing in INST's queue.
queue_empty() {
	local out
	out=$(qlist "$1") && [ -z "$out" ]
}

# sendlog INST: the send service's log.
sendlog() {
	cat "$1/service/send/log/main/current" 2>/dev/null
}

# logged INST PATTERN: the send service's log has a line matching PATTERN
# (an extended regular expression).
logged() {
	sendlog "$1" | grep -Eq -- "$2"
}

# send_mail PORT FROM TO[,TO...] SUBJECT [BODY]: one message through
# smtplib.  Prints "refused ADDR CODE TEXT" for each refused recipient.
# Exit: 0 all accepted, 1 some refused, 2 all refused (smtplib raised
# SMTPRecipientsRefused), 3 another SMTP error.
send_mail() {
	python3 - "$@" <<'EOF'
import smtplib, sys

port, sender, rcpts, subject = sys.argv[1:5]
body = sys.argv[5] if len(sys.argv) > 5 else "This is the body."
msg = ("From: <%s>\r\nTo: %s\r\nSubject: %s\r\n"
       "Message-ID: <%s.e2e@example.org>\r\n\r\n%s\r\n"
       % (sender, ", ".join("<%s>" % r for r in rcpts.split(",")), subject,
          abs(hash(subject)), body))
try:
    with smtplib.SMTP("127.0.0.1", int(port), timeout=60) as s:
        refused = s.sendmail(sender, rcpts.split(","), msg)
except smtplib.SMTPRecipientsRefused as e:
    for a, (code, text) in sorted(e.recipients.items()):
        print("refused", a, code, text.decode())
    sys.exit(2)
except smtplib.SMTPException as e:
    print("error", repr(e))
    sys.exit(3)
for a, (code, text) in sorted(refused.items()):
    print("refused", a, code, text.decode())
sys.exit(1 if refused else 0)
EOF
}

# dsn_check FILE RECIPIENT: FILE is an RFC 3464 report (multipart/report,
# report-type delivery-status) whose delivery-status part has a
# Final-Recipient naming RECIPIENT, Action failed and a 5.x.x Status.
# Prints the human-readable part.
dsn_check() {
	python3 - "$1" "$2" <<'EOF'
import email, re, sys
from email import policy

path, rcpt = sys.argv[1:3]
with open(path, "rb") as f:
    m = email.message_from_binary_file(f, policy=policy.default)
def fail(why):
    print("not a good DSN: " + why, file=sys.stderr)
    print(open(path, errors="replace").read(), file=sys.stderr)
    sys.exit(1)
if m.get_content_type() != "multipart/report":
    fail("type " + m.get_content_type())
if m.get_param("report-type") != "delivery-status":
    fail("report-type %r" % m.get_param("report-type"))
if m["Return-Path"] is None or m["Return-Path"].strip() != "<>":
    fail("Return-Path %r (a bounce has the null sender)" % m["Return-Path"])
parts = m.get_payload()
if len(parts) < 2 or parts[0].get_content_type() != "text/plain":
    fail("the first part is not text/plain")
ds = parts[1]
if ds.get_content_type() != "message/delivery-status":
    fail("the second part is " + ds.get_content_type())
# email parses message/delivery-status into blocks of fields: the
# per-message block, then one per recipient.
blocks = ds.get_payload()
found = False
for b in blocks[1:]:
    fr = b.get("Final-Recipient", "")
    if fr.split(";", 1)[-1].strip().lower() != rcpt.lower():
        continue
    found = True
    if b.get("Action", "").strip() != "failed":
        fail("Action %r" % b.get("Action"))
    if not re.fullmatch(r"5\.\d{1,3}\.\d{1,3}", b.get("Status", "").strip()):
        fail("Status %r" % b.get("Status"))
if not found:
    fail("no Final-Recipient " + rcpt)
print(parts[0].get_content())
EOF
}

# with_subject MAILDIR SUBJECT: the messages in MAILDIR/new whose Subject
# is exactly SUBJECT (their paths, one a line).
with_subject() {
	local f
	for f in "$1"/new/*; do
		[ -f "$f" ] || continue
		if header "$f" | grep -qxF -- "Subject: $2"; then
			echo "$f"
		fi
	done
}

# tally PREFIX MAILDIR...: one line "MAILDIR N" for every message in the
# Maildirs (new/ and cur/) whose Subject is "PREFIX N": a message
# delivered twice gives two lines.
tally() {
	python3 - "$@" <<'EOF'
import email, os, sys
from email import policy

prefix, dirs = sys.argv[1], sys.argv[2:]
for d in dirs:
    for sub in ("new", "cur"):
        for name in sorted(os.listdir(os.path.join(d, sub))):
            with open(os.path.join(d, sub, name), "rb") as f:
                m = email.message_from_binary_file(f, policy=policy.compat32)
            subject = (m["Subject"] or "").strip()
            if subject.startswith(prefix + " "):
                print(d, subject[len(prefix) + 1:])
EOF
}

# send_many PORT SENDER CONNECTIONS SPAN PREFIX N RCPTS...: messages 1..N
# with Subject "PREFIX n", over CONNECTIONS smtplib connections in
# parallel, spread over SPAN seconds at least (message n is not sent
# before n/N of SPAN has passed).  RCPTS are comma-separated recipient
# lists: message n goes to the list RCPTS[n mod count].  A message that is not taken (4xx, a dropped
# connection) is sent again, up to 20 times.  Exit 0 when every message
# was taken; prints "retries: R" (a retry may give a duplicate, never a
# loss).
send_many() {
	python3 - "$@" <<'EOF'
import smtplib, sys, threading, time

port, sender, conns, span, prefix, n = sys.argv[1:7]
port, conns, span, n = int(port), int(conns), float(span), int(n)
lists = [r.split(",") for r in sys.argv[7:]]
t0 = time.time()
taken, retries = set(), [0]
lock = threading.Lock()

def worker(k):
    s = None
    for i in range(k + 1, n + 1, conns):
        rcpts = lists[i % len(lists)]
        time.sleep(max(0.0, t0 + span * i / n - time.time()))
        msg = ("From: <%s>\r\nTo: %s\r\nSubject: %s %d\r\n"
               "Message-ID: <%d.%s@example.org>\r\n\r\nMessage number %d.\r\n"
               % (sender, ", ".join(rcpts), prefix, i, i, prefix, i))
        for attempt in range(20):
            try:
                if s is None:
                    s = smtplib.SMTP("127.0.0.1", port, timeout=120)
                refused = s.sendmail(sender, rcpts, msg)
                if refused:
                    raise smtplib.SMTPException(repr(refused))
                with lock:
                    taken.add(i)
                break
            except (smtplib.SMTPException, OSError) as e:
                with lock:
                    retries[0] += 1
                try:
                    s.close()
                except Exception:
                    pass
                s = None
                time.sleep(0.2)
    if s is not None:
        try:
            s.quit()
        except Exception:
            pass

threads = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("retries: %d" % retries[0])
failed = sorted(set(range(1, n + 1)) - taken)
if failed:
    print("not taken: %s" % failed)
    sys.exit(1)
EOF
}
