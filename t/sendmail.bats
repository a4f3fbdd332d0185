# t/sendmail.bats -- sendmail, mailq and newaliases, driven the way local
# programs drive them: cron, mailx (and Debian's mailutils mail), PHP's
# mail() (-t -i), and SMTP on standard input (-bs).  The messages go into
# the queue of an instance made by vdmail-init; each test looks at what
# was queued in queue/new/: the envelope, and the header that sendmail
# completed.  Also `make install`: where the three names go, and that a
# file a Debian package owns is left alone.
#
# The instance lives in a scratch directory that the sandbox user owns,
# and sendmail runs as that user, as a local program would.
load helpers/common
load helpers/tables

ME=mx.example.net

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	table_instance
	# Who sendmail says the sender is: the passwd name of the sandbox
	# uid, or LOGNAME (set to "tester" here) when it has none.
	SB_USER=$(getent passwd "$(as_sandbox id -u)" | cut -d: -f1)
	SB_USER=${SB_USER:-tester}
	printf '%s\n' 'Subject: a test' '' 'The body.' >"$T/msg"
}

teardown() {
	tables_cleanup
}

# sm ARG...: sendmail ARG... as the sandbox user, stdin passed on.
sm() {
	in_sandbox env LOGNAME=tester sendmail "$@"
}

# header_of FILE: the header of the message in FILE, up to the blank line.
header_of() {
	sed '/^$/q' "$1"
}

# has_date_and_id: got.msg has exactly one Date and one Message-ID, both
# well formed, the id's domain the defaulthost ($1, default $ME).
has_date_and_id() {
	local host=${1:-$ME}
	[ "$(msg_header Date | wc -l)" = 1 ] &&
	    [ "$(msg_header Message-ID | wc -l)" = 1 ] &&
	    python3 -c 'import email.utils, sys
sys.exit(email.utils.parsedate_tz(sys.argv[1]) is None)' "$(msg_header Date)" &&
	    [[ $(msg_header Message-ID) =~ ^\<[^@\<\>\ ]+@"$host"\>$ ]]
}

# --- as cron calls it ---

@test "cron: sendmail -FCronDaemon -i -B8BITMIME -oem root queues to root@ME, From CronDaemon <user@ME>" {
	printf '%s\n' 'Subject: Cron <tester@host> run-parts /etc/cron.daily' \
	    'Content-Type: text/plain; charset=UTF-8' '' 'line one' '.' \
	    'line three' >"$T/cron"
	run -0 --separate-stderr sm -FCronDaemon -i -B8BITMIME -oem root <"$T/cron"
	[ "$output" = '' ]
	[ "$stderr" = '' ]
	one_queued
	rcpts_are "root@$ME"
	[ "$(cat "$T/got.sender")" = "$SB_USER@$ME" ]
	[ "$(msg_header From)" = "CronDaemon <$SB_USER@$ME>" ]
	has_date_and_id
	# the header as cron wrote it follows the added fields; the body
	# is whole, its "." line too (-i)
	header_of "$T/got.msg" | tail -n 3 | head -n 2 >"$T/kept"
	head -n 2 "$T/cron" | cmp - "$T/kept"
	sed '1,/^$/d' "$T/got.msg" >"$T/body"
	printf '%s\n' 'line one' '.' 'line three' | cmp - "$T/body"
}

@test "cron with control/defaulthost: root@DEFAULTHOST, and the sender too" {
	echo example.com | table_put "$I/control/defaulthost"
	run -0 sm -FCronDaemon -i -B8BITMIME -oem root <"$T/msg"
	one_queued
	rcpts_are root@example.com
	[ "$(cat "$T/got.sender")" = "$SB_USER@example.com" ]
	[ "$(msg_header From)" = "CronDaemon <$SB_USER@example.com>" ]
	has_date_and_id example.com
}

# --- as mailx calls it ---

@test "mailx: sendmail -oi -f me@x.org addr1 addr2: that sender, both recipients, From me@x.org" {
	run -0 --separate-stderr sm -oi -f me@x.org addr1@example.org addr2@example.net <"$T/msg"
	[ "$stderr" = '' ]
	one_queued
	[ "$(cat "$T/got.sender")" = me@x.org ]
	rcpts_are addr1@example.org addr2@example.net
	[ "$(msg_header From)" = me@x.org ]
	has_date_and_id
	[ "$(msg_header Subject)" = 'a test' ]
}

@test "-fSENDER and -r SENDER, -f '<>' the null sender, -- before the addresses" {
	run -0 sm -fme@x.org -- a@example.org <"$T/msg"
	one_queued
	[ "$(cat "$T/got.sender")" = me@x.org ]
	run -0 sm -r other@x.org a@example.org <"$T/msg"
	one_queued
	[ "$(cat "$T/got.sender")" = other@x.org ]
	run -0 sm -f '<>' a@example.org <"$T/msg"
	one_queued
	[ "$(cat "$T/got.sender")" = '' ]
	[ "$(msg_header From)" = MAILER-DAEMON ]
}

@test "an address without @ gets @DEFAULTHOST: recipients, -f, and -t's header addresses" {
	run -0 sm -f me bob <"$T/msg"
	one_queued
	[ "$(cat "$T/got.sender")" = "me@$ME" ]
	rcpts_are "bob@$ME"
	echo example.com | table_put "$I/control/defaulthost"
	printf 'To: carol, Dave <dave>\nSubject: s\n\nb\n' | run -0 sm -t -f me
	one_queued
	[ "$(cat "$T/got.sender")" = me@example.com ]
	rcpts_are carol@example.com dave@example.com
}

# --- as PHP's mail() calls it ---

@test "PHP: sendmail -t -i takes To, Cc and Bcc (folded, display names, groups); Bcc leaves the header" {
	cat >"$T/php" <<'EOF'
To: "Last, First" <first.last@example.org>,
	plain@example.org,
  Other Person <other@example.net>
Cc: team: one@example.com, "Two (2)" <two@example.com>;,
 (a comment) three@example.com
Subject: from a web form
Bcc: hidden@example.org,
	"Hidden, Too" <hidden2@example.org>
X-Mailer: PHP/8.2

Hello.
.
Bcc: this is the body, not a header
EOF
	run -0 --separate-stderr sm -t -i <"$T/php"
	[ "$stderr" = '' ]
	one_queued
	rcpts_are first.last@example.org plain@example.org other@example.net \
	    one@example.com two@example.com three@example.com \
	    hidden@example.org hidden2@example.org
	# Bcc and its continuation line are gone; the rest is kept as it came
	header_of "$T/got.msg" >"$T/h"
	run -1 grep -qi '^bcc:' "$T/h"
	run -1 grep -q 'Hidden, Too' "$T/h"
	sed '/^Bcc:/,/^[^ \t]/{/^Bcc:/d;/^[ \t]/d}' "$T/php" >"$T/want"
	header_of "$T/want" | cmp - <(grep -v -e '^Date:' -e '^Message-ID:' \
	    -e '^From:' "$T/h")
	has_date_and_id
	[ "$(msg_header From)" = "$SB_USER@$ME" ]
	sed '1,/^$/d' "$T/got.msg" >"$T/body"
	printf '%s\n' 'Hello.' '.' 'Bcc: this is the body, not a header' |
	    cmp - "$T/body"
}

@test "-t adds the command line's addresses; undisclosed-recipients:; names none" {
	printf 'To: undisclosed-recipients:;\nBcc: b@example.org\n\nx\n' |
	    run -0 sm -t -i a@example.org
	one_queued
	rcpts_are a@example.org b@example.org
	printf 'To: undisclosed-recipients:;\n\nx\n' | run -64 sm -t -i
	nothing_queued
}

@test "without -t the header's To, Cc and Bcc are not recipients, and Bcc stays" {
	printf 'To: to@example.org\nBcc: bcc@example.org\n\nx\n' |
	    run -0 sm -i only@example.org
	one_queued
	rcpts_are only@example.org
	[ "$(msg_header Bcc)" = bcc@example.org ]
}

# --- the end of the message ---

@test "without -i a line holding a single . ends the message; what follows is not sent" {
	printf 'Subject: dots\n\nfirst\n..\n. \n.\nnot sent\n' | run -0 sm a@example.org
	one_queued
	sed '1,/^$/d' "$T/got.msg" >"$T/body"
	printf 'first\n..\n. \n' | cmp - "$T/body"
	# a "." line ends the header too
	printf 'Subject: short\n.\nnot sent\n' | run -0 sm a@example.org
	one_queued
	[ "$(msg_header Subject)" = short ]
	run -1 grep -q 'not sent' "$T/got.msg"
	# and a CRLF "." line
	printf 'Subject: crlf\r\n\r\nbody\r\n.\r\nnot sent\r\n' | run -0 sm a@example.org
	one_queued
	run -1 grep -q 'not sent' "$T/got.msg"
}

@test "with -i or -oi a single . is a line of the message like any other" {
	local opt
	for opt in -i -oi; do
		printf 'Subject: dots\n\nfirst\n.\nlast\n' | run -0 sm "$opt" a@example.org
		one_queued
		sed '1,/^$/d' "$T/got.msg" >"$T/body"
		printf 'first\n.\nlast\n' | cmp - "$T/body"
	done
}

# --- what is added ---

@test "Date, Message-ID and From present (in any case) are kept, and nothing is added" {
	printf '%s\n' 'from: Me <me@x.org>' 'DATE: Mon, 1 Jan 2024 00:00:00 +0000' \
	    'Message-Id: <abc@x.org>' 'Subject: complete' '' 'body' >"$T/full"
	run -0 sm -F 'Not Used' a@example.org <"$T/full"
	one_queued
	cmp "$T/full" "$T/got.msg"
}

@test "each missing field is added alone; -F names the sender in an added From" {
	printf 'From: Me <me@x.org>\nSubject: s\n\nb\n' | run -0 sm a@example.org
	one_queued
	[ "$(msg_header From)" = 'Me <me@x.org>' ]
	has_date_and_id
	printf 'Date: Mon, 1 Jan 2024 00:00:00 +0000\n\nb\n' |
	    run -0 sm -F 'Ann Example' -f ann@x.org a@example.org
	one_queued
	[ "$(msg_header Date)" = 'Mon, 1 Jan 2024 00:00:00 +0000' ]
	[ "$(msg_header From)" = 'Ann Example <ann@x.org>' ]
	[ "$(msg_header Message-ID | wc -l)" = 1 ]
}

@test "a message with no header at all gets one, and its first line stays in the body" {
	printf 'just text, no header\nsecond line\n' | run -0 sm a@example.org
	one_queued
	has_date_and_id
	sed '1,/^$/d' "$T/got.msg" >"$T/body"
	printf 'just text, no header\nsecond line\n' | cmp - "$T/body"
}

# --- exit codes (sysexits) ---

@test "no recipient: exit 64, nothing queued" {
	run -64 --separate-stderr sm -i <"$T/msg"
	[[ $stderr == 'sendmail: fatal: no recipients'* ]]
	run -64 sm -t -i <"$T/msg"
	nothing_queued
}

@test "a malformed address: exit 65, nothing queued" {
	run -65 --separate-stderr sm 'two words@example.org' <"$T/msg"
	[[ $stderr == 'sendmail: fatal: malformed address: '* ]]
	run -65 sm "$(printf 'ctl\001@example.org')" <"$T/msg"
	printf 'To: "x" <has space@example.org>\n\nb\n' | run -65 sm -t
	run -65 sm -f 'bad sender@x.org' a@example.org <"$T/msg"
	nothing_queued
}

@test "an unknown option: exit 64" {
	run -64 --separate-stderr sm -Z a@example.org <"$T/msg"
	[ "${stderr_lines[0]}" = 'sendmail: warning: unknown option -Z' ]
	nothing_queued
	# a lone - is no option that takes a value: it does not eat the
	# address after it
	run -64 --separate-stderr sm - a@example.org <"$T/msg"
	[ "${stderr_lines[0]}" = 'sendmail: warning: unknown option -' ]
	nothing_queued
}

@test "the queue refusing for good (QMAILQUEUE exit 31): 69; for now (exit 71): 75" {
	recorder "$S" 31
	QMAILQUEUE=$S/qq run -69 --separate-stderr sm a@example.org <"$T/msg"
	[[ $stderr == 'sendmail: fatal: '*'31'* ]]
	recorder "$S" 71
	QMAILQUEUE=$S/qq run -75 --separate-stderr sm a@example.org <"$T/msg"
	[[ $stderr == 'sendmail: fatal: '*'71'* ]]
	nothing_queued
}

@test "QMAILQUEUE gets the message on fd 0 and the envelope on fd 1" {
	recorder "$S"
	QMAILQUEUE=$S/qq run -0 sm -f me@x.org a@example.org b@example.net <"$T/msg"
	nothing_queued
	printf 'Fme@x.org\0Ta@example.org\0Tb@example.net\0\0' | cmp - "$S/qq.env"
	tail -n 3 "$S/qq.msg" | cmp - "$T/msg"
}

@test "standard input that cannot be read (a directory): 74, nothing queued" {
	run -74 --separate-stderr sm a@example.org <"$S"
	[ "$stderr" = 'sendmail: fatal: read stdin: Is a directory' ]
	nothing_queued
}

@test "no queue at all (a missing instance): 75, a temporary failure" {
	VDMAIL_ROOT=$S/nowhere run -75 sm a@example.org <"$T/msg"
}

# --- mailq, newaliases, -bp, -bs ---

@test "sendmail -bp and mailq (a link named mailq) list the queue" {
	run -0 sm -f me@x.org a@example.org b@example.net <"$T/msg"
	run -0 --separate-stderr sm -bp
	[ "${#lines[@]}" = 2 ]
	local id state date from to
	IFS=$'\t' read -r id state date from to <<<"${lines[0]}"
	[ -n "$id" ]
	[ -n "$date" ]
	[ "$state" = new ]
	[ "$from" = '<me@x.org>' ]
	[ "$to" = '<a@example.org>' ]
	IFS=$'\t' read -r id state date from to <<<"${lines[1]}"
	[ "$from" = '<me@x.org>' ]
	[ "$to" = '<b@example.net>' ]
	local bp=$output
	ln -s "$VDMAIL_BIN/sendmail" "$S/mailq"
	run -0 in_sandbox "$S/mailq"
	[ "$output" = "$bp" ]
}

@test "mailq on an empty queue prints nothing and exits 0" {
	ln -s "$VDMAIL_BIN/sendmail" "$S/mailq"
	run -0 in_sandbox "$S/mailq"
	[ "$output" = '' ]
}

@test "newaliases (a link) says that no rebuild is needed, and exits 0" {
	ln -s "$VDMAIL_BIN/sendmail" "$S/newaliases"
	run -0 --separate-stderr in_sandbox "$S/newaliases"
	[[ $output == 'newaliases: '*'no alias database rebuild'* ]]
	[ "$stderr" = '' ]
	nothing_queued
}

@test "sendmail -bs speaks SMTP on stdin and queues; any domain is taken (RELAYCLIENT)" {
	printf '%s\r\n' 'EHLO client.example' 'MAIL FROM:<me@x.org>' \
	    'RCPT TO:<a@far.example>' 'RCPT TO:<b@elsewhere.example>' 'DATA' \
	    'Subject: by smtp' '' '..dot-stuffed' '.' 'QUIT' >"$T/session"
	run -0 --separate-stderr sm -bs <"$T/session"
	[[ ${lines[0]} == "220 $ME"* ]]
	[ "$(grep -c $'^250 2.1.5' <<<"$output")" = 2 ]
	grep -q $'^354 ' <<<"$output"
	grep -q $'^250 2.0.0 ok [^ ]*\r$' <<<"$output"
	[[ ${lines[-1]} == '221 '* ]]
	one_queued
	[ "$(cat "$T/got.sender")" = me@x.org ]
	rcpts_are a@far.example b@elsewhere.example
	[ "$(msg_header Received | wc -l)" = 1 ]
	grep -qx '.dot-stuffed' "$T/got.msg"
}

# --- make install ---

# stage_install DESTDIR MAKE-ARG...: `make install` into DESTDIR, as the
# sandbox user (nothing of it runs as root), without rebuilding (-o all).
stage_install() {
	local dest=$1

	shift
	[ -x "$TOP/bin/sendmail" ] || skip "no $TOP/bin/sendmail: run make first"
	as_sandbox mkdir -p "$dest"
	(cd "$S" && as_sandbox env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    make --no-print-directory -C "$TOP" -o all install DESTDIR="$dest" "$@")
}

@test "make install DESTDIR PREFIX=/usr/local: sendmail in bin, links sbin/sendmail, bin/mailq, bin/newaliases" {
	local st=$S/stage
	run -0 stage_install "$st" PREFIX=/usr/local
	[ -x "$st/usr/local/bin/sendmail" ]
	[ ! -L "$st/usr/local/bin/sendmail" ]
	cmp "$TOP/bin/sendmail" "$st/usr/local/bin/sendmail"
	[ "$(readlink "$st/usr/local/sbin/sendmail")" = /usr/local/bin/sendmail ]
	[ "$(readlink "$st/usr/local/bin/mailq")" = /usr/local/bin/sendmail ]
	[ "$(readlink "$st/usr/local/bin/newaliases")" = /usr/local/bin/sendmail ]
	[ -x "$st/usr/local/bin/qmail_db_lookup" ]
	[ -f "$st/usr/local/share/man/man1/sendmail.1" ]
	[ -f "$st/usr/local/share/man/man1/qmail_db_lookup.1" ]
	# installing again is fine
	run -0 stage_install "$st" PREFIX=/usr/local
	[ "$(readlink "$st/usr/local/bin/mailq")" = /usr/local/bin/sendmail ]
}

@test "make install PREFIX=/usr leaves a sendmail that a Debian package owns alone (a stand-in dpkg says so)" {
	local st=$S/stage
	as_sandbox mkdir "$S/fakebin"
	table_put "$S/fakebin/dpkg" <<'EOF'
#!/bin/sh
# dpkg -S PATH: only /usr/sbin/sendmail belongs to a package here.
[ "$1" = -S ] && [ "$2" = /usr/sbin/sendmail ] || exit 1
echo "postfix: /usr/sbin/sendmail"
EOF
	as_sandbox chmod 0755 "$S/fakebin/dpkg"
	PATH=$S/fakebin:$PATH run -0 stage_install "$st" PREFIX=/usr
	grep -qx 'vdmail: /usr/sbin/sendmail belongs to a Debian package: left alone' <<<"$output"
	[ ! -e "$st/usr/sbin/sendmail" ]
	[ ! -L "$st/usr/sbin/sendmail" ]
	[ "$(readlink "$st/usr/bin/mailq")" = /usr/bin/sendmail ]
	[ "$(readlink "$st/usr/bin/newaliases")" = /usr/bin/sendmail ]
	[ -x "$st/usr/bin/sendmail" ]
}

@test "make install PREFIX=/usr with the real dpkg: a path it knows is left alone" {
	local st=$S/stage f owned=0
	command -v dpkg >/dev/null || skip 'no dpkg on this machine'
	run -0 stage_install "$st" PREFIX=/usr
	for f in /usr/sbin/sendmail /usr/bin/mailq /usr/bin/newaliases; do
		if dpkg -S "$f" >/dev/null 2>&1; then
			owned=$((owned + 1))
			[ ! -e "$st$f" ]
			[ ! -L "$st$f" ]
			grep -qx "vdmail: $f belongs to a Debian package: left alone" <<<"$output"
		else
			echo "# notice: dpkg -S $f finds no package here: checked that it is linked instead" >&3
			[ "$(readlink "$st$f")" = /usr/bin/sendmail ]
		fi
	done
	echo "# $owned of the three paths belong to a Debian package here" >&3
}

# --- Debian's mailutils mail ---

@test "mailutils' mail sends through our sendmail (set sendmail=sendmail:///PATH): queued to the right recipients" {
	command -v mail.mailutils >/dev/null ||
	    skip 'mailutils is not installed (t/helpers/deps installs it)'
	# mail needs a user name, which the sandbox uid lacks: mail runs as
	# we do, and the sendmail it runs becomes the sandbox user.
	printf '%s\n' '#!/bin/sh' \
	    "exec setpriv --reuid=$SANDBOX_UID --regid=$SANDBOX_GID --clear-groups -- \"\$VDMAIL_BIN/sendmail\" \"\$@\"" |
	    table_put "$S/sendmail-as-sandbox"
	as_sandbox chmod 0755 "$S/sendmail-as-sandbox"
	local sendmail=$S/sendmail-as-sandbox
	[ "$(id -u)" = 0 ] || sendmail=$VDMAIL_BIN/sendmail
	# not in a pipeline: run's $stderr must reach this shell
	run -0 --separate-stderr env HOME="$S" MAILRC=/dev/null \
	    mail.mailutils --no-config -n -E "set sendmail=sendmail://$sendmail" \
	    -s 'through mailutils' -r sender@x.org -a 'Cc: copy@example.net' \
	    kquincy@test.net <<<'Sent with mail(1).'
	[ "$stderr" = '' ]
	one_queued
	[ "$(cat "$T/got.sender")" = sender@x.org ]
	rcpts_are copy@example.net kquincy@test.net
	[ "$(msg_header Subject)" = 'through mailutils' ]
	[ "$(msg_header To)" = '<kquincy@test.net>' ]
	has_date_and_id
	grep -qx 'Sent with mail(1).' "$T/got.msg"
	[ ! -e "$S/dead.letter" ]
}
