# t/dotqmail-exec.bats -- dotqmail-exec: one message to one local address
# by its .qmail file (SPEC section 6).
#
# dotqmail-exec refuses to run as root, so every delivery runs as the
# sandbox user (as_sandbox) in a scratch directory that the sandbox user
# owns.  Each test has an instance of its own ($S/inst, for control/ and
# the queue that & lines inject into) and a home directory $H for the user
# "joe" at example.com.
load helpers/common

DATA=$BATS_TEST_DIRNAME/data
NOMAILBOX='dotqmail-exec: fatal: Sorry, no mailbox here by that name. (#5.1.1)'
USAGE='dotqmail-exec: fatal: usage: dotqmail-exec USER HOME LOCAL DASH EXT DOMAIN SENDER'
LOOP_DT='dotqmail-exec: fatal: This message is looping: it already has my Delivered-To line. (#5.4.6)'
LOOP_HOPS='dotqmail-exec: fatal: This message is looping: it has too many Received or Delivered-To lines. (#5.4.6)'

setup() {
	T=$BATS_TEST_TMPDIR
	umask 022
	scratch_dir
	cd "$S" || return 1
	as_sandbox vdmail-init "$S/inst" --me mx.example.net >/dev/null
	export VDMAIL_ROOT=$S/inst
	Q=$S/inst/queue
	H=$S/home
	mkdir -m 0755 "$H"
	printf 'From: alice@example.org\nTo: joe@example.com\nSubject: test\n\nbody line\n' >"$S/msg"
	MSG=$S/msg
}

teardown() {
	# a helper left running by a failed test (lock holders) must not
	# outlive it
	if [ -n "${HOLDER:-}" ]; then
		kill "$HOLDER" 2>/dev/null || :
		wait "$HOLDER" 2>/dev/null || :
	fi
	scratch_cleanup
}

# Hand the scratch directory to the sandbox user.
own() {
	if [ "$(id -u)" = 0 ]; then
		chown -R "$SANDBOX_UID:$SANDBOX_GID" "$S"
	fi
}

# dqx USER HOME LOCAL DASH EXT DOMAIN SENDER: dotqmail-exec as the sandbox
# user with $MSG on fd 0.
dqx() {
	own
	as_sandbox dotqmail-exec "$@" <"$MSG"
}

# deliver [EXT [SENDER [DOMAIN]]]: to joe (home $H) with extension EXT;
# the sender is alice@example.org unless given (an empty one too).
deliver() {
	local ext=${1-} sender=${2-alice@example.org} domain=${3-example.com}

	dqx joe "$H" "joe${ext:+-$ext}" "${ext:+-}" "$ext" "$domain" "$sender"
}

# qmail FILE LINE...: write the lines into $H/FILE, mode 0644.
qmail() {
	local f=$H/$1

	shift
	printf '%s\n' "$@" >"$f"
	chmod 0644 "$f"
}

# mkmd DIR...: make Maildirs.
mkmd() {
	local d

	for d; do
		mkdir -p "$d/tmp" "$d/new" "$d/cur"
	done
}

# md_count DIR: the number of messages in DIR/new (and tmp/ must be empty).
md_count() {
	[ -z "$(ls -A "$1/tmp")" ] || { echo "debris in $1/tmp" >&2; return 1; }
	find "$1/new" -type f | wc -l
}

# md_only DIR: the name of the one message in DIR/new.
md_only() {
	local n

	n=$(md_count "$1") || return 1
	[ "$n" = 1 ] || { echo "$1/new holds $n messages" >&2; return 1; }
	find "$1/new" -type f
}

# want_stored SENDER RECIPIENT: what a Maildir line stores for $MSG.
want_stored() {
	printf 'Return-Path: <%s>\nDelivered-To: %s\n' "$1" "$2"
	cat "$MSG"
}

# stored_ok DIR SENDER RECIPIENT: DIR holds one message, exactly that.
stored_ok() {
	local f

	f=$(md_only "$1") || return 1
	want_stored "$2" "$3" >"$T/want"
	cmp "$T/want" "$f"
}

# queue_count: messages in the instance's queue/new.
queue_count() {
	find "$Q/new" -type f | wc -l
}

# queued_one ENV MSG: exactly one message in the queue; its envelope and
# message are written to the files ENV and MSG (cut by its header's sizes).
queued_one() {
	[ "$(queue_count)" = 1 ] || { echo "queue/new: $(ls -A "$Q/new")" >&2; return 1; }
	python3 - "$(find "$Q/new" -type f)" "$1" "$2" <<'EOF'
import sys
data = open(sys.argv[1], 'rb').read()
end = data.index(b'\n\n') + 2
fields = dict(line.split(' ', 1)
              for line in data[:end].decode().split('\n')[1:] if line)
e, m = int(fields['envelope']), int(fields['message'])
if end + e + m != len(data):
    sys.exit('queue file: sizes do not add up')
open(sys.argv[2], 'wb').write(data[end:end + e])
open(sys.argv[3], 'wb').write(data[end + e:])
EOF
}

# has FILE TEXT: FILE holds exactly the bytes of TEXT.
has() {
	if ! printf '%s' "$2" | cmp -s - "$1"; then
		printf 'want in %s:\n%s\nhave:\n' "$1" "$2" >&2
		cat -A "$1" >&2
		return 1
	fi
}

# envelope_is FILE SENDER RECIPIENT...: FILE holds exactly that envelope
# (F sender NUL, T recipient NUL each, then NUL).
envelope_is() {
	local f=$1 r

	shift
	{
		printf 'F%s\0' "$1"
		shift
		for r; do printf 'T%s\0' "$r"; done
		printf '\0'
	} >"$T/want.env"
	if ! cmp -s "$T/want.env" "$f"; then
		printf 'want envelope: %s\nhave: %s\n' "$(tr '\0' '|' <"$T/want.env")" "$(tr '\0' '|' <"$f")" >&2
		return 1
	fi
}

# env_is NAME VALUE: the environment a program line saved with
# `env -0 >env.out` holds NAME with exactly VALUE; env_unset NAME: not at all.
env_value() {
	python3 - "$H/env.out" "$1" <<'EOF'
import sys
env = {}
for entry in open(sys.argv[1], 'rb').read().split(b'\0'):
    if entry:
        k, v = entry.split(b'=', 1)
        env[k.decode()] = v
v = env.get(sys.argv[2])
sys.stdout.buffer.write(b'<unset>' if v is None else b'[' + v + b']')
EOF
}

env_is() {
	local have

	have=$(env_value "$1")
	if [ "$have" != "[$2]" ]; then
		printf '%s: want [%s], have %s\n' "$1" "$2" "$have" >&2
		return 1
	fi
}

env_unset() {
	local have

	have=$(env_value "$1")
	[ "$have" = '<unset>' ] || { printf '%s is set: %s\n' "$1" "$have" >&2; return 1; }
}

# nothing_done: no message anywhere in $H's Maildir, no mbox, nothing queued.
nothing_done() {
	[ "$(md_count "$H/Maildir")" = 0 ] || return 1
	[ ! -e "$H/mbox" ] || { echo "mbox exists" >&2; return 1; }
	[ "$(queue_count)" = 0 ] || { echo "something was queued" >&2; return 1; }
}

# three_addresses: .qmail-a and .qmail-c deliver to ./Maildir/, .qmail-b
# to ./Maildir2/; both made, all owned by the user.
three_addresses() {
	qmail .qmail-a './Maildir/'
	qmail .qmail-b './Maildir2/'
	qmail .qmail-c './Maildir/'
	mkmd "$H/Maildir" "$H/Maildir2"
	own
}

# hold_lockf FILE SECONDS: an fcntl (lockf) lock on FILE held by another
# process for SECONDS; returns once it is held.  Sets HOLDER.
hold_lockf() {
	python3 - "$1" "$S/locked" "$2" <<'EOF' >/dev/null 2>&1 3>&- &
import fcntl, sys, time
f = open(sys.argv[1], 'a')
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], 'w').close()
time.sleep(float(sys.argv[3]))
EOF
	HOLDER=$!
	while [ ! -e "$S/locked" ]; do sleep 0.05; done
}

# ---- which file ----

@test "no extension: HOME/.qmail decides, not .qmail-default" {
	mkmd "$H/md-q" "$H/md-d"
	qmail .qmail ./md-q/
	qmail .qmail-default ./md-d/
	run -0 --separate-stderr deliver
	[ "$output" = '' ]
	[ "$stderr" = '' ]
	stored_ok "$H/md-q" alice@example.org joe@example.com
	[ "$(md_count "$H/md-d")" = 0 ]
}

@test "an extension: HOME/.qmail-EXT, dots written as colons" {
	mkmd "$H/md-js" "$H/md-q"
	qmail .qmail-john:smith ./md-js/
	qmail .qmail ./md-q/
	run -0 deliver john.smith
	stored_ok "$H/md-js" alice@example.org joe-john.smith@example.com
	[ "$(md_count "$H/md-q")" = 0 ]
}

@test "the extension is lowercased for the file name, not for EXT" {
	mkmd "$H/Maildir"
	qmail .qmail-john:smith '|env -0 >env.out' ./Maildir/
	run -0 deliver John.Smith
	stored_ok "$H/Maildir" alice@example.org joe-John.Smith@example.com
	env_is EXT John.Smith
	env_unset DEFAULT
}

@test "search order: EXT, then each PREFIX-default from the longest, then default" {
	# each file notes its name and $DEFAULT in the file 'which'
	qmail .qmail-a-b-c '|echo "a-b-c ${DEFAULT-unset}" >>which'
	qmail .qmail-a-b-default '|echo "a-b-default ${DEFAULT-unset}" >>which'
	qmail .qmail-a-default '|echo "a-default ${DEFAULT-unset}" >>which'
	qmail .qmail-default '|echo "default ${DEFAULT-unset}" >>which'
	qmail .qmail '|echo "dot-qmail" >>which'
	run -0 deliver a-b-c
	rm "$H/.qmail-a-b-c"
	run -0 deliver a-b-c
	rm "$H/.qmail-a-b-default"
	run -0 deliver a-b-c
	rm "$H/.qmail-a-default"
	run -0 deliver a-b-c
	has "$H/which" $'a-b-c unset\na-b-default c\na-default b-c\ndefault a-b-c\n'
	rm "$H/.qmail-default"
	run -100 --separate-stderr deliver a-b-c
	[ "$stderr" = "$NOMAILBOX" ]
	has "$H/which" $'a-b-c unset\na-b-default c\na-default b-c\ndefault a-b-c\n'
}

@test "search: each step delivers into its own Maildir" {
	mkmd "$H/md-abc" "$H/md-ab" "$H/md-a" "$H/md-def"
	qmail .qmail-a-b-c ./md-abc/
	qmail .qmail-a-b-default ./md-ab/
	qmail .qmail-a-default ./md-a/
	qmail .qmail-default ./md-def/
	for f in a-b-c a-b-default a-default default; do
		run -0 deliver a-b-c
		rm "$H/.qmail-$f"
	done
	for d in md-abc md-ab md-a md-def; do
		stored_ok "$H/$d" alice@example.org joe-a-b-c@example.com
	done
}

@test "DEFAULT keeps the case of the address; the file name does not" {
	qmail .qmail-list-default '|env -0 >env.out'
	run -0 deliver List-Subscribe-Bob.Jones
	env_is DEFAULT Subscribe-Bob.Jones
	env_is EXT List-Subscribe-Bob.Jones
}

@test "an extension without a file bounces: exit 100, the #5.1.1 line" {
	mkmd "$H/Maildir"
	qmail .qmail ./Maildir/
	qmail .qmail-other ./Maildir/
	run -100 --separate-stderr deliver nobody
	[ "$output" = '' ]
	[ "$stderr" = "$NOMAILBOX" ]
	nothing_done
}

@test "no extension and no .qmail: control/defaultdelivery" {
	mkmd "$H/md-dd"
	printf '# the default for every user\n./md-dd/\n' >"$VDMAIL_ROOT/control/defaultdelivery"
	run -0 deliver
	stored_ok "$H/md-dd" alice@example.org joe@example.com
}

@test "no .qmail and no control/defaultdelivery: ./Maildir/" {
	mkmd "$H/Maildir"
	[ ! -e "$VDMAIL_ROOT/control/defaultdelivery" ]
	run -0 deliver
	stored_ok "$H/Maildir" alice@example.org joe@example.com
}

@test "a control/defaultdelivery without delivery lines defers: nothing is dropped" {
	mkmd "$H/Maildir"
	: >"$VDMAIL_ROOT/control/defaultdelivery"
	run -111 --separate-stderr deliver
	[ "$stderr" = 'dotqmail-exec: fatal: control/defaultdelivery has no delivery line: mail waits until it has one (#4.3.5)' ]
	nothing_done
	printf '# nothing\n\n' >"$VDMAIL_ROOT/control/defaultdelivery"
	run -111 deliver
	nothing_done
}

@test "a group-writable control/defaultdelivery is deferred like a .qmail" {
	mkmd "$H/Maildir"
	printf './Maildir/\n' >"$VDMAIL_ROOT/control/defaultdelivery"
	chmod 0664 "$VDMAIL_ROOT/control/defaultdelivery"
	run -111 --separate-stderr deliver
	[ "$stderr" = "dotqmail-exec: fatal: $VDMAIL_ROOT/control/defaultdelivery is writable by group or others: fix its mode (#4.7.0)" ]
	nothing_done
}

@test "control/defaultdelivery may hold any kind of line" {
	printf '|cat >dd.out\n&bob@example.net\n' >"$VDMAIL_ROOT/control/defaultdelivery"
	run -0 deliver
	cmp "$MSG" "$H/dd.out"
	queued_one got.env got.msg
	envelope_is got.env alice@example.org bob@example.net
}

@test "no .qmail and no Maildir either: temporary failure" {
	run -111 --separate-stderr deliver
	[[ "$stderr" == 'dotqmail-exec: fatal: maildir ./Maildir/: '* ]]
}

@test "an empty .qmail (0 bytes) means control/defaultdelivery" {
	mkmd "$H/md-dd" "$H/Maildir"
	: >"$H/.qmail"
	printf './md-dd/\n' >"$VDMAIL_ROOT/control/defaultdelivery"
	run -0 deliver
	stored_ok "$H/md-dd" alice@example.org joe@example.com
	rm "$VDMAIL_ROOT/control/defaultdelivery"
	run -0 deliver
	stored_ok "$H/Maildir" alice@example.org joe@example.com
}

@test "an empty .qmail-EXT means control/defaultdelivery too" {
	mkmd "$H/md-dd"
	: >"$H/.qmail-foo"
	printf './md-dd/\n' >"$VDMAIL_ROOT/control/defaultdelivery"
	run -0 deliver foo
	stored_ok "$H/md-dd" alice@example.org joe-foo@example.com
}

@test "the article: ~abc/.qmail-default takes all of abc.com, .qmail-john:smith forwards" {
	mkmd "$H/Maildir"
	qmail .qmail-default ./Maildir/
	qmail .qmail-john:smith '&smith.john@home.boston.ma.us'
	run -0 dqx abc "$H" abc-webmaster - webmaster abc.com bob@example.net
	stored_ok "$H/Maildir" bob@example.net abc-webmaster@abc.com
	[ "$(queue_count)" = 0 ]
	run -0 dqx abc "$H" abc-john.smith - john.smith abc.com bob@example.net
	[ "$(md_count "$H/Maildir")" = 1 ]
	queued_one got.env got.msg
	envelope_is got.env bob@example.net smith.john@home.boston.ma.us
	{ printf 'Delivered-To: abc-john.smith@abc.com\n'; cat "$MSG"; } >want
	cmp want got.msg
}

@test "the article: ~alias/.qmail-abc-webmaster for abc.com:alias-abc" {
	A=$S/inst/alias
	printf '&jsmith@example.com\n' >"$A/.qmail-abc-webmaster"
	own
	run -0 as_sandbox dotqmail-exec alias "$A" alias-abc-webmaster - abc-webmaster abc.com bob@example.net <"$MSG"
	queued_one got.env got.msg
	envelope_is got.env bob@example.net jsmith@example.com
	{ printf 'Delivered-To: alias-abc-webmaster@abc.com\n'; cat "$MSG"; } >want
	cmp want got.msg
}

# ---- the kinds of line ----

@test "a # line is a comment" {
	mkmd "$H/Maildir"
	qmail .qmail '# ./not-a-maildir/' '#|touch ran' '#&someone@example.net' ./Maildir/
	run -0 deliver
	stored_ok "$H/Maildir" alice@example.org joe@example.com
	[ ! -e "$H/not-a-maildir" ]
	[ ! -e "$H/ran" ]
	[ "$(queue_count)" = 0 ]
}

@test "Maildir lines, relative and absolute: Return-Path, Delivered-To, then the message" {
	mkmd "$H/Maildir" "$S/abs/Maildir"
	qmail .qmail ./Maildir/ "$S/abs/Maildir/"
	run -0 --separate-stderr deliver
	[ "$output" = '' ]
	[ "$stderr" = '' ]
	stored_ok "$H/Maildir" alice@example.org joe@example.com
	stored_ok "$S/abs/Maildir" alice@example.org joe@example.com
}

@test "Maildir: the null sender is Return-Path: <>" {
	mkmd "$H/Maildir"
	qmail .qmail ./Maildir/
	run -0 deliver '' ''
	stored_ok "$H/Maildir" '' joe@example.com
}

@test "Maildir: binary bytes and a message without a final newline arrive unchanged" {
	mkmd "$H/Maildir"
	qmail .qmail ./Maildir/
	printf 'Subject: bytes\n\n\0\1\377\r\nno newline at the end' >"$S/bin.msg"
	MSG=$S/bin.msg
	run -0 deliver
	stored_ok "$H/Maildir" alice@example.org joe@example.com
}

@test "trailing blanks after a Maildir line are ignored" {
	mkmd "$H/Maildir"
	printf './Maildir/ \t\n' >"$H/.qmail"
	run -0 deliver
	stored_ok "$H/Maildir" alice@example.org joe@example.com
}

@test "mbox lines, relative and absolute: From_, Return-Path, Delivered-To, message, blank line" {
	mkdir "$S/abs"
	qmail .qmail ./mbox "$S/abs/mbox"
	run -0 deliver
	for f in "$H/mbox" "$S/abs/mbox"; do
		head -n 1 "$f" >from_
		grep -Eq '^From alice@example\.org [A-Z][a-z]{2} [A-Z][a-z]{2} [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] [0-9]{4}$' from_
		tail -n +2 "$f" >rest
		{ printf 'Return-Path: <alice@example.org>\nDelivered-To: joe@example.com\n'; cat "$MSG"; echo; } >want
		cmp want rest
	done
	[ ! -e "$H/mbox.lock" ]
	[ ! -e "$S/abs/mbox.lock" ]
}

@test "mbox: the null sender is From MAILER-DAEMON and Return-Path: <>" {
	qmail .qmail ./mbox
	run -0 deliver '' ''
	grep -Eq '^From MAILER-DAEMON [A-Z][a-z]{2} [A-Z][a-z]{2} ' "$H/mbox"
	[ "$(sed -n 2p "$H/mbox")" = 'Return-Path: <>' ]
	[ "$(sed -n 3p "$H/mbox")" = 'Delivered-To: joe@example.com' ]
}

@test "mbox: lines matching ^>*From  get one more >, others stay" {
	qmail .qmail ./mbox
	MSG=$DATA/dotqmail-from-lines.msg
	run -0 deliver
	tail -n +2 "$H/mbox" >rest
	{
		printf 'Return-Path: <alice@example.org>\nDelivered-To: joe@example.com\n'
		cat "$DATA/dotqmail-from-lines.quoted"
		echo
	} >want
	cmp want rest
}

@test "mbox: a message without a final newline gets one before the blank line" {
	qmail .qmail ./mbox
	printf 'Subject: x\n\nlast line' >"$S/nonl.msg"
	MSG=$S/nonl.msg
	run -0 deliver
	tail -n +2 "$H/mbox" >rest
	has rest $'Return-Path: <alice@example.org>\nDelivered-To: joe@example.com\nSubject: x\n\nlast line\n\n'
}

@test "mbox: a second delivery appends" {
	qmail .qmail ./mbox
	run -0 deliver
	cp "$H/mbox" first
	run -0 deliver '' bob@example.net
	size=$(stat -c %s first)
	head -c "$size" "$H/mbox" | cmp - first
	tail -c +"$((size + 1))" "$H/mbox" >second
	head -n 1 second | grep -q '^From bob@example\.net '
	tail -n +2 second >rest
	{ printf 'Return-Path: <bob@example.net>\nDelivered-To: joe@example.com\n'; cat "$MSG"; echo; } >want
	cmp want rest
	[ "$(grep -c '^From ' "$H/mbox")" = 2 ]
}

@test "mbox: a new mbox is made with mode 0600" {
	qmail .qmail ./mbox
	run -0 deliver
	[ "$(stat -c %a "$H/mbox")" = 600 ]
}

@test "forward: &address and a bare address, one queued message with every recipient" {
	mkmd "$H/Maildir"
	qmail .qmail '&bob@example.net' ./Maildir/ 'carol@example.org' '&dave@example.com'
	run -0 --separate-stderr deliver
	[ "$output" = '' ]
	[ "$stderr" = '' ]
	stored_ok "$H/Maildir" alice@example.org joe@example.com
	queued_one got.env got.msg
	envelope_is got.env alice@example.org bob@example.net carol@example.org dave@example.com
	{ printf 'Delivered-To: joe@example.com\n'; cat "$MSG"; } >want
	cmp want got.msg
}

@test "forward: the null sender stays null" {
	qmail .qmail '&bob@example.net'
	run -0 deliver '' ''
	queued_one got.env got.msg
	envelope_is got.env '' bob@example.net
}

@test "forward: 1000 addresses are one message; 1001 are refused (100)" {
	for i in $(seq 1000); do echo "&r$i@example.net"; done >"$H/.qmail"
	run -0 deliver
	queued_one got.env got.msg
	[ "$(tr '\0' '\n' <got.env | grep -c '^T')" = 1000 ]
	rm "$Q"/new/*
	echo '&one-too-many@example.net' >>"$H/.qmail"
	run -100 --separate-stderr deliver
	[ "$stderr" = 'dotqmail-exec: fatal: too many forwarding addresses' ]
	[ "$(queue_count)" = 0 ]
}

@test "forward: the injector's refusal is 100, its temporary failure 111" {
	qmail .qmail '&bob@example.net'
	printf '#!/bin/sh\ncat >/dev/null\nexit 31\n' >"$S/qq-refuse"
	printf '#!/bin/sh\ncat >/dev/null\nexit 53\n' >"$S/qq-fail"
	chmod 0755 "$S/qq-refuse" "$S/qq-fail"
	QMAILQUEUE=$S/qq-refuse run -100 --separate-stderr deliver
	[ "$stderr" = 'dotqmail-exec: fatal: forward: queue-inject: code 31 (message refused)' ]
	QMAILQUEUE=$S/qq-fail run -111 --separate-stderr deliver
	[ "$stderr" = 'dotqmail-exec: fatal: forward: queue-inject: code 53 (write error, disk full?)' ]
	[ "$(queue_count)" = 0 ]
}

@test "program: the raw message on stdin, no added lines, run in HOME" {
	qmail .qmail '|cat >prog.out' '|pwd >pwd.out'
	run -0 --separate-stderr deliver
	[ "$output" = '' ]
	[ "$stderr" = '' ]
	cmp "$MSG" "$H/prog.out"
	has "$H/pwd.out" "$H"$'\n'
}

@test "program: every program line reads the message from its start" {
	qmail .qmail '|head -c 5 >/dev/null; cat >one.out' '|cat >two.out'
	run -0 deliver
	cmp "$MSG" "$H/two.out"
	tail -c +6 "$MSG" | cmp - "$H/one.out"
}

@test "program: the environment, from scratch" {
	qmail .qmail-a-b-default '|env -0 >env.out'
	FOO_LEAK=1 run -0 dqx joe "$H" joe-a-b-c-d - a-b-c-d mail.abc.co.uk alice@example.org
	env_is SENDER alice@example.org
	env_is NEWSENDER alice@example.org
	env_is RECIPIENT joe-a-b-c-d@mail.abc.co.uk
	env_is USER joe
	env_is HOME "$H"
	env_is HOST mail.abc.co.uk
	env_is HOST2 mail.abc.co
	env_is HOST3 mail.abc
	env_is HOST4 mail
	env_is LOCAL joe-a-b-c-d
	env_is EXT a-b-c-d
	env_is EXT2 b-c-d
	env_is EXT3 c-d
	env_is EXT4 d
	env_is DEFAULT c-d
	env_is DTLINE $'Delivered-To: joe-a-b-c-d@mail.abc.co.uk\n'
	env_is RPLINE $'Return-Path: <alice@example.org>\n'
	re=$'^\\[From alice@example\\.org [A-Z][a-z]{2} [A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}\n\\]$'
	[[ "$(env_value UFLINE)" =~ $re ]]
	env_is PATH /usr/local/bin:/usr/bin:/bin
	env_is VDMAIL_ROOT "$VDMAIL_ROOT"
	env_unset FOO_LEAK
	env_unset BATS_TEST_TMPDIR
}

@test "program: short host names and extensions give empty HOSTn and EXTn" {
	qmail .qmail-ab '|env -0 >env.out'
	run -0 deliver ab '' example.com
	env_is SENDER ''
	env_is NEWSENDER ''
	env_is RPLINE $'Return-Path: <>\n'
	env_value UFLINE | grep -q '^\[From MAILER-DAEMON '
	env_is HOST2 example
	env_is HOST3 ''
	env_is HOST4 ''
	env_is EXT ab
	env_is EXT2 ''
	env_is EXT3 ''
	env_is EXT4 ''
	env_unset DEFAULT
}

@test "program: no extension, EXT and DEFAULT" {
	qmail .qmail '|env -0 >env.out'
	run -0 deliver
	env_is LOCAL joe
	env_is EXT ''
	env_is EXT2 ''
	env_unset DEFAULT
}

@test "program: SIGPIPE is at its default, so a pipeline ends quietly" {
	# with SIGPIPE ignored, yes would get EPIPE and complain on stderr
	qmail .qmail '|yes 2>yes.err | head -n 1 >/dev/null' '|grep "^SigIgn:" /proc/self/status >sigign.out'
	run -0 --separate-stderr deliver
	[ "$stderr" = '' ]
	[ -e "$H/yes.err" ]
	[ ! -s "$H/yes.err" ]
	mask=$(awk '{ print $2 }' "$H/sigign.out")
	[ $((0x$mask & (1 << 12))) = 0 ]
}

@test "program exit 0: the next line is done" {
	mkmd "$H/Maildir"
	qmail .qmail '|exit 0' ./Maildir/
	run -0 deliver
	stored_ok "$H/Maildir" alice@example.org joe@example.com
}

@test "program exit 99: success, later lines not done, earlier forwards sent" {
	mkmd "$H/Maildir"
	qmail .qmail '&bob@example.net' '|exit 99' '&carol@example.net' ./Maildir/ './mbox' '|touch ran'
	run -0 --separate-stderr deliver
	[ "$stderr" = '' ]
	[ "$(md_count "$H/Maildir")" = 0 ]
	[ ! -e "$H/mbox" ]
	[ ! -e "$H/ran" ]
	queued_one got.env got.msg
	envelope_is got.env alice@example.org bob@example.net
}

@test "program exit 100: exit 100, the program's output is the reason" {
	mkmd "$H/Maildir"
	qmail .qmail '|echo "no such list"; echo "second line" >&2; exit 100' ./Maildir/ '&bob@example.net'
	run -100 --separate-stderr deliver
	[ "$output" = '' ]
	[ "$stderr" = 'dotqmail-exec: fatal: no such list second line' ]
	nothing_done
}

@test "program exit 100 without output" {
	qmail .qmail '|exit 100'
	run -100 --separate-stderr deliver
	[ "$stderr" = 'dotqmail-exec: fatal: program refused the message' ]
}

@test "program exits 64 65 70 76 77 78 112 are permanent too" {
	for c in 64 65 70 76 77 78 112; do
		qmail .qmail "|echo bad $c; exit $c"
		run -100 --separate-stderr deliver
		[ "$stderr" = "dotqmail-exec: fatal: bad $c" ]
	done
}

@test "program exit 111 (and any other code): exit 111, later lines not done" {
	mkmd "$H/Maildir"
	qmail .qmail '|echo try later; exit 111' ./Maildir/
	run -111 --separate-stderr deliver
	[ "$stderr" = 'dotqmail-exec: fatal: program exited 111: try later' ]
	nothing_done
	qmail .qmail '|exit 1' ./Maildir/
	run -111 --separate-stderr deliver
	[ "$stderr" = 'dotqmail-exec: fatal: program exited 1: temporary failure' ]
	nothing_done
}

@test "program killed by a signal: exit 111" {
	mkmd "$H/Maildir"
	qmail .qmail '|echo dying; kill -9 $$' ./Maildir/
	run -111 --separate-stderr deliver
	[ "$stderr" = 'dotqmail-exec: fatal: program killed by signal 9: dying' ]
	nothing_done
}

@test "program: the reason is cut at 1000 bytes" {
	qmail .qmail '|head -c 1500 /dev/zero | tr "\0" x; exit 100'
	run -100 --separate-stderr deliver
	[ "$stderr" = "dotqmail-exec: fatal: $(head -c 1000 /dev/zero | tr '\0' x)" ]
}

@test "address text with shell metacharacters is never run" {
	mkmd "$H/Maildir"
	qmail .qmail-default '|env -0 >env.out' ./Maildir/ ./mbox '&bob@example.net'
	run -0 dqx joe "$H" 'x;touch pwned' - 'x;touch pwned' 'example.com;touch pwned' '$(touch pwned)@x'
	run -0 dqx joe "$H" 'x`touch pwned`' - 'x`touch pwned`' example.com '"a;b" | touch pwned'
	[ -z "$(find "$S" "$T" -name pwned)" ]
	[ ! -e /pwned ]
	[ ! -e /tmp/pwned ]
	# the program saw the text as it is
	env_is LOCAL 'x`touch pwned`'
	env_is EXT 'x`touch pwned`'
	env_is DEFAULT 'x`touch pwned`'
	env_is SENDER '"a;b" | touch pwned'
	[ "$(md_count "$H/Maildir")" = 2 ]
	grep -qxF 'Return-Path: <$(touch pwned)@x>' "$H/mbox"
	grep -qxF 'Delivered-To: x;touch pwned@example.com;touch pwned' "$H/mbox"
	[ "$(queue_count)" = 2 ]
}

@test "a line of no known kind is a temporary failure" {
	mkmd "$H/Maildir"
	qmail .qmail '+list' ./Maildir/
	run -111 --separate-stderr deliver
	[ "$stderr" = "dotqmail-exec: fatal: $H/.qmail: a line I do not understand" ]
	nothing_done
}

@test "blank lines are skipped" {
	mkmd "$H/Maildir"
	printf '\n\n./Maildir/\n\n' >"$H/.qmail"
	run -0 deliver
	stored_ok "$H/Maildir" alice@example.org joe@example.com
}

@test ".qmail size: 1 MiB is read, one byte more is a temporary failure" {
	mkmd "$H/Maildir"
	{
		echo ./Maildir/
		head -c $((1048576 - 11 - 1)) /dev/zero | tr '\0' '#'
		echo
	} >"$H/.qmail"
	[ "$(stat -c %s "$H/.qmail")" = 1048576 ]
	run -0 deliver
	[ "$(md_count "$H/Maildir")" = 1 ]
	echo >>"$H/.qmail"
	run -111 --separate-stderr deliver
	[ "$stderr" = "dotqmail-exec: fatal: $H/.qmail: larger than 1048576 bytes" ]
	[ "$(md_count "$H/Maildir")" = 1 ]
}

# ---- loops ----

@test "loop: my own Delivered-To line (in any case) bounces, nothing is delivered" {
	mkmd "$H/Maildir"
	qmail .qmail ./Maildir/ ./mbox '|touch ran' '&bob@example.net'
	printf 'Received: from x\nDelivered-To: JOE@Example.COM\nSubject: l\n\nbody\n' >"$S/loop.msg"
	MSG=$S/loop.msg
	run -100 --separate-stderr deliver
	[ "$output" = '' ]
	[ "$stderr" = "$LOOP_DT" ]
	nothing_done
	[ ! -e "$H/ran" ]
}

@test "loop: another address's Delivered-To line, or mine in the body, is not a loop" {
	mkmd "$H/Maildir"
	qmail .qmail ./Maildir/
	printf 'Delivered-To: joe-x@example.com\nDelivered-To: bob@example.com\nSubject: l\n\nDelivered-To: joe@example.com\n' >"$S/ok.msg"
	MSG=$S/ok.msg
	run -0 deliver
	stored_ok "$H/Maildir" alice@example.org joe@example.com
}

@test "loop: 99 Received/Delivered-To lines are delivered, 100 bounce" {
	mkmd "$H/Maildir"
	qmail .qmail ./Maildir/
	{
		for i in $(seq 60); do echo "Received: from h$i by x"; done
		for i in $(seq 39); do echo "Delivered-To: other$i@example.com"; done
		printf 'Subject: hops\n\nbody\n'
	} >"$S/99.msg"
	MSG=$S/99.msg
	run -0 deliver
	stored_ok "$H/Maildir" alice@example.org joe@example.com
	{ echo 'received: from one more'; cat "$S/99.msg"; } >"$S/100.msg"
	MSG=$S/100.msg
	run -100 --separate-stderr deliver
	[ "$stderr" = "$LOOP_HOPS" ]
	[ "$(md_count "$H/Maildir")" = 1 ]
	for i in $(seq 100); do echo "Received: from h$i by x"; done >"$S/r100.msg"
	printf '\nbody\n' >>"$S/r100.msg"
	MSG=$S/r100.msg
	run -100 --separate-stderr deliver
	[ "$stderr" = "$LOOP_HOPS" ]
	[ "$(md_count "$H/Maildir")" = 1 ]
}

# ---- paternalism ----

@test "paternalism: a group-writable home is deferred, then delivered once fixed" {
	mkmd "$H/Maildir"
	qmail .qmail ./Maildir/ '|touch ran'
	own
	chmod 0775 "$H"
	run -111 --separate-stderr deliver
	[ "$output" = '' ]
	[ "$stderr" = "dotqmail-exec: fatal: $H is writable by group or others: fix its mode (#4.7.0)" ]
	nothing_done
	[ ! -e "$H/ran" ]
	chmod 0755 "$H"
	run -0 deliver
	stored_ok "$H/Maildir" alice@example.org joe@example.com
}

@test "paternalism: a home writable by others is deferred" {
	mkmd "$H/Maildir"
	qmail .qmail ./Maildir/
	chmod 0757 "$H"
	run -111 --separate-stderr deliver
	[ "$stderr" = "dotqmail-exec: fatal: $H is writable by group or others: fix its mode (#4.7.0)" ]
	nothing_done
}

@test "paternalism: a group-writable .qmail file is deferred, then delivered once fixed" {
	mkmd "$H/Maildir"
	qmail .qmail-x ./Maildir/
	chmod 0664 "$H/.qmail-x"
	run -111 --separate-stderr deliver x
	[ "$stderr" = "dotqmail-exec: fatal: $H/.qmail-x is writable by group or others: fix its mode (#4.7.0)" ]
	nothing_done
	chmod 0644 "$H/.qmail-x"
	run -0 deliver x
	stored_ok "$H/Maildir" alice@example.org joe-x@example.com
}

@test "paternalism: control/paternalism 0 turns the check off, 1 keeps it" {
	mkmd "$H/Maildir"
	qmail .qmail ./Maildir/
	chmod 0666 "$H/.qmail"
	chmod 0775 "$H"
	echo 1 >"$VDMAIL_ROOT/control/paternalism"
	run -111 deliver
	nothing_done
	echo 0 >"$VDMAIL_ROOT/control/paternalism"
	run -0 deliver
	stored_ok "$H/Maildir" alice@example.org joe@example.com
}

# ---- NEWSENDER ----

@test "NEWSENDER: with .qmail-EXT-owner, LOCAL-owner@DOMAIN; forwards use it" {
	mkmd "$H/Maildir"
	qmail .qmail-list '|env -0 >env.out' '&member1@example.net' '&member2@example.org' ./Maildir/
	qmail .qmail-list-owner ./Maildir/
	run -0 deliver list
	env_is SENDER alice@example.org
	env_is NEWSENDER joe-list-owner@example.com
	queued_one got.env got.msg
	envelope_is got.env joe-list-owner@example.com member1@example.net member2@example.org
	# Maildir and mbox lines keep the real sender
	stored_ok "$H/Maildir" alice@example.org joe-list@example.com
}

@test "NEWSENDER: the null sender stays null even with an owner file" {
	qmail .qmail-list '|env -0 >env.out' '&member1@example.net'
	qmail .qmail-list-owner ./Maildir/
	run -0 deliver list ''
	env_is NEWSENDER ''
	queued_one got.env got.msg
	envelope_is got.env '' member1@example.net
}

@test "NEWSENDER: without an owner file, the sender" {
	qmail .qmail-list '|env -0 >env.out' '&member1@example.net'
	run -0 deliver list
	env_is NEWSENDER alice@example.org
	queued_one got.env got.msg
	envelope_is got.env alice@example.org member1@example.net
}

# ---- mbox failures and locks ----

@test "mbox in a missing directory: 111, nothing made, later lines not done" {
	mkmd "$H/Maildir"
	qmail .qmail '&bob@example.net' ./nodir/mbox ./Maildir/
	own
	(cd "$H" && find . | sort) >before
	run -111 --separate-stderr deliver
	[ "$output" = '' ]
	[ "$stderr" = 'dotqmail-exec: fatal: mbox ./nodir/mbox: No such file or directory' ]
	(cd "$H" && find . | sort) >after
	cmp before after
	[ "$(queue_count)" = 0 ]
}

@test "mbox: a failed write is taken back, the mbox keeps its old bytes" {
	qmail .qmail ./mbox
	run -0 deliver
	cp "$H/mbox" before
	[ "$(stat -c %s before)" -lt 1024 ]
	{ printf 'Subject: big\n\n'; head -c 4000 /dev/zero | tr '\0' y; echo; } >"$S/big.msg"
	MSG=$S/big.msg
	own
	# files of at most 1 KiB, and SIGXFSZ ignored: the write fails (EFBIG)
	limited() { (trap '' XFSZ; ulimit -f 1; as_sandbox dotqmail-exec "$@" <"$MSG"); }
	run -111 --separate-stderr limited joe "$H" joe '' '' example.com alice@example.org
	[ "$stderr" = 'dotqmail-exec: fatal: mbox ./mbox: File too large' ]
	cmp before "$H/mbox"
	[ ! -e "$H/mbox.lock" ]
}

@test "mbox: a fresh dotlock makes delivery wait until it goes" {
	qmail .qmail ./mbox
	: >"$H/mbox.lock"
	(sleep 1; rm -f "$H/mbox.lock") >/dev/null 2>&1 3>&- &
	HOLDER=$!
	t0=$(now_ms)
	run -0 deliver
	t1=$(now_ms)
	wait "$HOLDER"
	HOLDER=
	[ $((t1 - t0)) -ge 900 ]
	[ $((t1 - t0)) -lt 20000 ]
	[ "$(grep -c '^From alice@example\.org ' "$H/mbox")" = 1 ]
	[ ! -e "$H/mbox.lock" ]
}

@test "mbox: an fcntl lock makes delivery wait until it goes" {
	qmail .qmail ./mbox
	: >"$H/mbox"
	own
	hold_lockf "$H/mbox" 1
	t0=$(now_ms)
	run -0 deliver
	t1=$(now_ms)
	wait "$HOLDER"
	HOLDER=
	[ $((t1 - t0)) -ge 500 ]
	[ "$(grep -c '^From alice@example\.org ' "$H/mbox")" = 1 ]
	[ ! -e "$H/mbox.lock" ]
}

@test "mbox: a dotlock older than 300 seconds is stale and removed" {
	qmail .qmail ./mbox
	: >"$H/mbox.lock"
	touch -d '-10 minutes' "$H/mbox.lock"
	t0=$(now_ms)
	run -0 deliver
	t1=$(now_ms)
	[ $((t1 - t0)) -lt 5000 ]
	[ "$(grep -c '^From alice@example\.org ' "$H/mbox")" = 1 ]
	[ ! -e "$H/mbox.lock" ]
}

@test "mbox: a directory the user may not write: the fcntl lock alone" {
	[ "$(id -u)" = 0 ] || skip 'needs root to make a directory the sandbox user cannot write'
	qmail .qmail "$S/spool/mbox"
	own
	mkdir -m 0755 "$S/spool"
	: >"$S/spool/mbox"
	chown "$SANDBOX_UID:$SANDBOX_GID" "$S/spool/mbox"
	# the fcntl lock is still taken: one held for a second is waited for
	hold_lockf "$S/spool/mbox" 1
	t0=$(now_ms)
	run -0 as_sandbox dotqmail-exec joe "$H" joe '' '' example.com alice@example.org <"$MSG"
	t1=$(now_ms)
	wait "$HOLDER"
	HOLDER=
	[ $((t1 - t0)) -ge 500 ]
	[ "$(grep -c '^From alice@example\.org ' "$S/spool/mbox")" = 1 ]
	[ ! -e "$S/spool/mbox.lock" ]
}

@test "mbox: a dotlock held for 30 seconds: 111, the mbox and the lock untouched" {
	qmail .qmail ./mbox
	printf 'old\n' >"$H/mbox"
	: >"$H/mbox.lock"
	t0=$(now_ms)
	run -111 --separate-stderr deliver
	t1=$(now_ms)
	[ "$stderr" = 'dotqmail-exec: fatal: mbox ./mbox: lock ./mbox.lock: Resource temporarily unavailable' ]
	[ $((t1 - t0)) -ge 29000 ]
	[ $((t1 - t0)) -lt 60000 ]
	has "$H/mbox" $'old\n'
	[ -e "$H/mbox.lock" ]
}

@test "mbox: an fcntl lock held for 30 seconds: 111, no dotlock left" {
	qmail .qmail ./mbox
	printf 'old\n' >"$H/mbox"
	own
	hold_lockf "$H/mbox" 40
	t0=$(now_ms)
	run -111 --separate-stderr deliver
	t1=$(now_ms)
	kill "$HOLDER"
	wait "$HOLDER" || :
	HOLDER=
	[ "$stderr" = 'dotqmail-exec: fatal: mbox ./mbox: lock: Interrupted system call' ]
	[ $((t1 - t0)) -ge 29000 ]
	[ $((t1 - t0)) -lt 45000 ]
	has "$H/mbox" $'old\n'
	[ ! -e "$H/mbox.lock" ]
}

# ---- the message on fd 0 ----

@test "a pipe on fd 0 works like a file" {
	mkmd "$H/Maildir"
	qmail .qmail ./Maildir/ ./mbox '|cat >prog.out' '&bob@example.net'
	own
	piped() { cat "$MSG" | as_sandbox dotqmail-exec "$@"; }
	run -0 piped joe "$H" joe '' '' example.com alice@example.org
	stored_ok "$H/Maildir" alice@example.org joe@example.com
	cmp "$MSG" "$H/prog.out"
	tail -n +2 "$H/mbox" >rest
	{ printf 'Return-Path: <alice@example.org>\nDelivered-To: joe@example.com\n'; cat "$MSG"; echo; } >want
	cmp want rest
	queued_one got.env got.msg
	{ printf 'Delivered-To: joe@example.com\n'; cat "$MSG"; } >want
	cmp want got.msg
}

@test "a file on fd 0 is read from its current offset" {
	mkmd "$H/Maildir"
	qmail .qmail ./Maildir/ '|cat >prog.out' ./mbox
	{ printf 'envelope line to skip\n'; cat "$MSG"; } >"$S/offset.msg"
	own
	# read consumes the first line and leaves the offset after it
	skip_line() { read -r _; as_sandbox dotqmail-exec "$@"; }
	run -0 skip_line joe "$H" joe '' '' example.com alice@example.org <"$S/offset.msg"
	stored_ok "$H/Maildir" alice@example.org joe@example.com
	cmp "$MSG" "$H/prog.out"
	if grep -q 'envelope line to skip' "$H/mbox"; then return 1; fi
}

@test "an empty message is delivered as just the added lines" {
	mkmd "$H/Maildir"
	qmail .qmail ./Maildir/
	: >"$S/empty.msg"
	MSG=$S/empty.msg
	run -0 deliver
	stored_ok "$H/Maildir" alice@example.org joe@example.com
}

# ---- usage and refusals ----

@test "usage: a wrong number of arguments is exit 100" {
	run -100 --separate-stderr as_sandbox dotqmail-exec
	[ "$stderr" = "$USAGE" ]
	run -100 --separate-stderr as_sandbox dotqmail-exec joe "$H" joe '' '' example.com
	[ "$stderr" = "$USAGE" ]
	run -100 --separate-stderr as_sandbox dotqmail-exec joe "$H" joe '' '' example.com a@b extra
	[ "$stderr" = "$USAGE" ]
}

@test "a relative HOME or a DASH longer than one byte is exit 100" {
	run -100 --separate-stderr dqx joe home joe '' '' example.com a@b
	[ "$stderr" = 'dotqmail-exec: fatal: malformed arguments' ]
	run -100 --separate-stderr dqx joe "$H" joe-x -- x example.com a@b
	[ "$stderr" = 'dotqmail-exec: fatal: malformed arguments' ]
}

@test "a missing HOME is a temporary failure" {
	run -111 --separate-stderr dqx joe "$S/nohome" joe '' '' example.com a@b
	[ "$stderr" = "dotqmail-exec: fatal: home $S/nohome: No such file or directory" ]
}

@test "never as root: exit 111, nothing delivered" {
	[ "$(id -u)" = 0 ] || skip 'only root can check the refusal'
	mkmd "$H/Maildir"
	qmail .qmail ./Maildir/ '|touch ran'
	run -111 --separate-stderr dotqmail-exec joe "$H" joe '' '' example.com alice@example.org <"$MSG"
	[ "$output" = '' ]
	[ "$stderr" = 'dotqmail-exec: fatal: refusing to deliver as root (#4.3.0)' ]
	nothing_done
	[ ! -e "$H/ran" ]
}

@test "&jsmith without a domain forwards to jsmith@defaulthost, as in the article" {
	qmail .qmail-john:smith '&jsmith'
	run -0 deliver john.smith
	f=$(find "$VDMAIL_ROOT/queue/new" -type f)
	[ -n "$f" ]
	tr '\0' '\n' <"$f" | grep -qx 'Tjsmith@mx.example.net'
}

# --- -m: several addresses of one user in one run ---

@test "-m: each address but the last gets a line N TAB CODE TAB reason; the last one is the exit code" {
	qmail .qmail-good './Maildir/'
	qmail .qmail-bad '|echo no such person here; exit 100'
	qmail .qmail-later '|echo try later; exit 111'
	mkmd "$H/Maildir"
	run -0 dqx -m joe "$H" \
	    0 alice@example.org joe-good - good example.com \
	    0 alice@example.org joe-bad - bad example.com \
	    0 alice@example.org joe-later - later example.com \
	    0 alice@example.org joe-nosuch - nosuch example.com \
	    0 alice@example.org joe-good - good example.com
	[ "${lines[0]}" = $'1\t0\t' ]
	[ "${lines[1]}" = $'2\t100\tno such person here' ]
	[ "${lines[2]}" = $'3\t111\tprogram exited 111: try later' ]
	[ "${lines[3]}" = $'4\t100\tSorry, no mailbox here by that name. (#5.1.1)' ]
	[ "${#lines[@]}" = 4 ]
	[ "$(ls "$H/Maildir/new" | wc -l)" = 2 ]
	grep -qx 'Delivered-To: joe-good@example.com' "$H/Maildir/new/"*
}

@test "-m: the last address's failure is the exit code and the stderr line; one address is the plain form" {
	qmail .qmail-good './Maildir/'
	qmail .qmail-bad '|echo refused; exit 100'
	mkmd "$H/Maildir"
	run --separate-stderr -100 dqx -m joe "$H" \
	    0 alice@example.org joe-good - good example.com 0 alice@example.org joe-bad - bad example.com
	[ "$output" = $'1\t0\t' ]
	[ "$stderr" = 'dotqmail-exec: fatal: refused' ]
	run --separate-stderr -0 dqx -m joe "$H" \
	    0 alice@example.org joe-good - good example.com
	[ "$output" = '' ]
	[ "$(ls "$H/Maildir/new" | wc -l)" = 2 ]
}

@test "-m: a delivery killed by a signal is a temporary failure; the next one still runs" {
	qmail .qmail-good './Maildir/'
	qmail .qmail-dies '|kill -KILL $PPID; sleep 5'
	mkmd "$H/Maildir"
	run -0 dqx -m joe "$H" \
	    0 alice@example.org joe-dies - dies example.com 0 alice@example.org joe-good - good example.com
	[ "${lines[0]}" = $'1\t111\tdelivery crashed' ]
	[ "$(ls "$H/Maildir/new" | wc -l)" = 1 ]
}

@test "-m: a wrong number of arguments, or a malformed address, is exit 100" {
	run -100 dqx -m joe "$H" 0 alice@example.org joe - ''
	[[ $output == *'usage: dotqmail-exec -m USER HOME FD SENDER'* ]]
	run -100 dqx -m joe "$H"
	run -100 dqx -m joe relative/home 0 alice@example.org joe - '' example.com
	[[ $output == *'malformed arguments'* ]]
	# a bad tuple before the last fails alone
	mkmd "$H/Maildir"
	run -0 dqx -m joe "$H" 0 alice@example.org joe -- x example.com \
	    0 alice@example.org joe '' '' example.com
	[ "${lines[0]}" = $'1\t100\tmalformed arguments' ]
	[ "$(ls "$H/Maildir/new" | wc -l)" = 1 ]
}

@test "-m: Maildirs on HOME's filesystem: files written in tmp/, one syncfs, linked into new/, one more syncfs; no fsync" {
	strace -f -o /dev/null true 2>/dev/null || skip 'ptrace is not permitted here'
	three_addresses
	as_sandbox strace -f -qq -e trace=fsync,fdatasync,syncfs,open,openat -o "$S/trace" \
	    dotqmail-exec -m joe "$H" 0 alice@example.org joe-a - a example.com \
	    0 alice@example.org joe-b - b example.com 0 alice@example.org joe-c - c example.com <"$MSG" >"$T/out"
	[ "$(cat "$T/out")" = $'1\t0\t\n2\t0\t' ]
	[ "$(ls "$H/Maildir/new" | wc -l)" = 2 ]
	[ "$(ls "$H/Maildir2/new" | wc -l)" = 1 ]
	# no fsync at all, two syncfs for the three deliveries, and no
	# directory opened for a sync: HOME is the only one opened (-m is
	# not dumpable: strace shows no paths)
	[ "$(grep -c ' fsync(' "$S/trace")" = 0 ]
	[ "$(grep -c ' syncfs(' "$S/trace")" = 2 ]
	[ "$(grep -c 'O_DIRECTORY' "$S/trace")" = 1 ]
	# nothing left in tmp/
	[ -z "$(find "$H/Maildir/tmp" "$H/Maildir2/tmp" -type f)" ]
	# the plain form still syncs new/ itself
	as_sandbox strace -f -qq -e trace=fsync,syncfs -o "$S/trace1" \
	    dotqmail-exec joe "$H" joe-a - a example.com alice@example.org <"$MSG"
	[ "$(grep -c ' fsync(' "$S/trace1")" = 2 ]
	[ "$(grep -c ' syncfs(' "$S/trace1")" = 0 ]
}

@test "-m: where syncfs is refused (EPERM), each file is fsynced before its link and each new/ after: delivered, nothing left in tmp/" {
	strace -f -o /dev/null true 2>/dev/null || skip 'ptrace is not permitted here'
	three_addresses
	as_sandbox strace -f -qq -e trace=fsync,syncfs,open,openat,link,linkat,rename \
	    -e inject=syncfs:error=EPERM -o "$S/trace" \
	    dotqmail-exec -m joe "$H" 0 alice@example.org joe-a - a example.com \
	    0 alice@example.org joe-b - b example.com 0 alice@example.org joe-c - c example.com <"$MSG" >"$T/out"
	[ "$(cat "$T/out")" = $'1\t0\t\n2\t0\t' ]
	[ "$(ls "$H/Maildir/new" | wc -l)" = 2 ]
	[ "$(ls "$H/Maildir2/new" | wc -l)" = 1 ]
	[ -z "$(find "$H/Maildir/tmp" "$H/Maildir2/tmp" -type f)" ]
	# one refused syncfs, then three files and three new/ synced one by one
	[ "$(grep -c ' syncfs(.*EPERM' "$S/trace")" = 1 ]
	[ "$(grep -c ' fsync(' "$S/trace")" = 6 ]
	# each file's fsync before its link, then the three new/ directories
	[ "$(grep -oE ' (fsync|link|linkat|rename)\(' "$S/trace" | tr -d ' (' | paste -sd ' ')" = \
	    'fsync link fsync link fsync link fsync fsync fsync' ]
	# (-m is not dumpable: strace shows no paths) HOME, then the new/s
	[ "$(grep -c 'O_DIRECTORY' "$S/trace")" = 4 ]
}

@test "-m: where syncfs is refused, a delivery with a program line (its child links into new/ itself) is deferred; a Maildir-only one is delivered" {
	strace -f -o /dev/null true 2>/dev/null || skip 'ptrace is not permitted here'
	qmail .qmail-m './Maildir/' '|true'
	qmail .qmail-b './Maildir2/'
	mkmd "$H/Maildir" "$H/Maildir2"
	own
	as_sandbox strace -f -qq -e trace=syncfs -e inject=syncfs:error=EPERM -o "$S/trace" \
	    dotqmail-exec -m joe "$H" 0 alice@example.org joe-m - m example.com \
	    0 alice@example.org joe-b - b example.com <"$MSG" >"$T/out"
	# exit 0: the last address's (joe-b's) result; joe-m's is on stdout
	[ "$(head -n 1 "$T/out")" = $'1\t111\tcannot sync the mailbox filesystem: syncfs refused' ]
	[ "$(ls "$H/Maildir2/new" | wc -l)" = 1 ]
	[ -z "$(find "$H/Maildir2/tmp" -type f)" ]
}

@test "-m: Maildir-only deliveries are made without a child; a program line, a loop or a missing Maildir still get their own result" {
	strace -f -o /dev/null true 2>/dev/null || skip 'ptrace is not permitted here'
	qmail .qmail-a './Maildir/'
	qmail .qmail-b './Maildir2/' './Maildir/'
	qmail .qmail-c './nowhere/'
	qmail .qmail-p '|cat >/dev/null'
	mkmd "$H/Maildir" "$H/Maildir2"
	own
	as_sandbox strace -f -qq -e trace=fork,vfork,clone,clone3 -o "$S/trace" \
	    dotqmail-exec -m joe "$H" 0 alice@example.org joe-a - a example.com \
	    0 alice@example.org joe-b - b example.com <"$MSG" >"$T/out"
	[ "$(cat "$T/out")" = $'1\t0\t' ]
	[ "$(ls "$H/Maildir/new" | wc -l)" = 2 ]
	[ "$(ls "$H/Maildir2/new" | wc -l)" = 1 ]
	# no process made at all
	[ "$(grep -cE ' (fork|vfork|clone|clone3)\(' "$S/trace")" = 0 ]
	grep -q '^Delivered-To: joe-b@example.com$' "$H/Maildir2/new/"*
	# a missing Maildir and a looping message: their own codes and
	# reasons; the program line in a child of its own
	{ echo 'Delivered-To: joe-a@example.com'; cat "$MSG"; } >"$S/loop"
	as_sandbox strace -f -qq -e trace=execve,fork,vfork,clone,clone3 -o "$S/trace2" \
	    dotqmail-exec -m joe "$H" 0 alice@example.org joe-c - c example.com \
	    3 alice@example.org joe-a - a example.com \
	    0 alice@example.org joe-p - p example.com \
	    0 alice@example.org joe-a - a example.com <"$MSG" 3<"$S/loop" >"$T/out2" 2>"$T/err2"
	[ "$(sed -n 1p "$T/out2")" = $'1\t111\tmaildir ./nowhere/: No such file or directory' ]
	[ "$(sed -n 2p "$T/out2")" = $'2\t100\tThis message is looping: it already has my Delivered-To line. (#5.4.6)' ]
	[ "$(sed -n 3p "$T/out2")" = $'3\t0\t' ]
	[ ! -s "$T/err2" ]
	[ "$(ls "$H/Maildir/new" | wc -l)" = 3 ]
	[ -z "$(find "$H/Maildir/tmp" "$H/Maildir2/tmp" -type f)" ]
	# dotqmail-exec (the first execve traced) made one child: the
	# program's delivery
	parent=$(grep -m 1 ' execve(' "$S/trace2" | cut -d' ' -f1)
	[ -n "$parent" ]
	[ "$(grep -cE "^$parent +(fork|vfork|clone|clone3)\(" "$S/trace2")" = 1 ]
}

@test "-m: several messages on several descriptors, each with its sender; a program sees only its own message" {
	qmail .qmail-a './Maildir/'
	qmail .qmail-p '|{ echo "sender=$SENDER"; cat; } >"$HOME/seen.$$"; for f in /proc/$$/fd/*; do echo "${f##*/} $(readlink "$f")"; done >"$HOME/fds.$$"; exit 0'
	mkmd "$H/Maildir"
	printf 'Subject: two\n\nsecond message\n' >"$S/msg2"
	printf 'XXXXSubject: three\n\nthird message\n' >"$S/msg3"
	own
	run -0 as_sandbox sh -c 'exec 3<"$1" 4<"$2" && dd bs=4 count=1 status=none <&4 >/dev/null &&
	    exec dotqmail-exec -m joe "$3" 0 a@example.org joe-a - a example.com \
	    3 b@example.org joe-a - a example.com 4 "" joe-p - p example.com \
	    3 b@example.org joe-p - p example.com' sh "$S/msg2" "$S/msg3" "$H" <"$MSG"
	[ "$output" = $'1\t0\t\n2\t0\t\n3\t0\t' ]
	grep -lx 'Return-Path: <a@example.org>' "$H"/Maildir/new/* | xargs grep -qx 'body line'
	grep -lx 'Return-Path: <b@example.org>' "$H"/Maildir/new/* | xargs grep -qx 'second message'
	# the third message from its offset (4), with the null sender
	grep -lx 'sender=' "$H"/seen.* | xargs grep -qx 'third message'
	if grep -q XXXX "$H"/seen.*; then return 1; fi
	grep -lx 'sender=b@example.org' "$H"/seen.* | xargs grep -qx 'second message'
	# a program holds no descriptor of a message file but its own on 0
	[ "$(cat "$H"/fds.* | wc -l)" -gt 4 ]
	if grep -hv '^0 ' "$H"/fds.* | grep -e "$S/msg"; then return 1; fi
	if grep -q "$S/msg" "$(grep -lx 'sender=' "$H"/seen.* | sed 's/seen/fds/')"; then return 1; fi
}

@test "-m: a descriptor that is 1 or 2, not a number, or not open is refused" {
	run -100 dqx -m joe "$H" 1 a@example.org joe - '' example.com
	[[ $output == *'malformed arguments'* ]]
	run -100 dqx -m joe "$H" x a@example.org joe - '' example.com
	run -111 dqx -m joe "$H" 7 a@example.org joe - '' example.com
	[[ $output == *'descriptor 7: not an open file'* ]]
}

@test "-m: a delivery with a program line keeps its order: its Maildir file is in new/ before the program runs" {
	qmail .qmail-a './Maildir/' '|ls "$HOME/Maildir/new" | wc -l >"$HOME/count"'
	qmail .qmail-b './Maildir/'
	mkmd "$H/Maildir"
	run -0 dqx -m joe "$H" 0 alice@example.org joe-b - b example.com \
	    0 alice@example.org joe-a - a example.com
	[ "$output" = $'1\t0\t' ]
	# b's file waits for the end of the run; a's own is there
	[ "$(cat "$H/count")" = 1 ]
	[ "$(ls "$H/Maildir/new" | wc -l)" = 2 ]
	[ -z "$(ls -A "$H/Maildir/tmp")" ]
}

@test "-m: a failed delivery leaves nothing in tmp/ or new/; the others of the run are delivered" {
	qmail .qmail-a './Maildir/' './nosuch/'
	qmail .qmail-b './Maildir/'
	mkmd "$H/Maildir"
	run -0 dqx -m joe "$H" 0 alice@example.org joe-a - a example.com \
	    0 alice@example.org joe-b - b example.com
	[[ ${lines[0]} == $'1\t111\t'* ]]
	[ "$(ls "$H/Maildir/new" | wc -l)" = 1 ]
	grep -qx 'Delivered-To: joe-b@example.com' "$H"/Maildir/new/*
	[ -z "$(ls -A "$H/Maildir/tmp")" ]
}

@test "-m: a program cannot take another message's descriptor from its parent or grandparent (pidfd_getfd)" {
	[ "$(id -u)" = 0 ] || skip 'needs root: the queue file must be closed to the user'
	qmail .qmail-a './Maildir/'
	cat >"$H/grab.py" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
with open(sys.argv[1], "ab") as out:
    for pid in map(int, sys.argv[2:]):
        out.write(b"tried\n")
        try:
            pfd = os.pidfd_open(pid)
        except OSError as e:
            out.write(b"no pidfd_open: %d\n" % e.errno)
            continue
        for fd in (0, 3, 4):
            n = libc.syscall(438, pfd, fd, 0)      # pidfd_getfd
            if n >= 0:
                out.write(os.pread(n, 4096, 0))
            else:
                out.write(b"errno %d\n" % ctypes.get_errno())
PY
	qmail .qmail-p '|python3 "$HOME/grab.py" "$HOME/stolen" $PPID $(cut -d" " -f4 /proc/$PPID/stat); exit 0'
	mkmd "$H/Maildir"
	# another message whose queue file, closed to the user, carries an
	# envelope before the message
	printf 'SECRET-HEADER\0Fsecret@example.org\0Tbcc-victim@example.org\0\0Subject: other\n\nother body\n' >"$S/q2"
	own
	chown root:root "$S/q2"
	chmod 0600 "$S/q2"
	run -0 sh -c 'exec 3<"$1" && dd bs=59 count=1 status=none <&3 >/dev/null &&
	    exec setpriv --reuid="$3" --regid="$4" --clear-groups \
	    dotqmail-exec -m joe "$2" 3 b@example.org joe-a - a example.com \
	    0 a@example.org joe-p - p example.com' sh "$S/q2" "$H" \
	    "$SANDBOX_UID" "$SANDBOX_GID" <"$MSG"
	if grep -qa -e SECRET -e bcc-victim -e 'other body' "$H/stolen"; then return 1; fi
	[ "$(grep -c '^tried$' "$H/stolen")" = 2 ]
	# refused (EPERM), not merely absent: a kernel without the calls
	# tests nothing
	if grep -q -e '^no pidfd_open' -e '^errno 38$' "$H/stolen"; then
		skip 'no pidfd_open or pidfd_getfd here'
	fi
	grep -qx 'errno 1' "$H/stolen"
	# the other message itself was delivered, from its offset
	grep -lx 'Return-Path: <b@example.org>' "$H"/Maildir/new/* | xargs grep -qx 'other body'
}
