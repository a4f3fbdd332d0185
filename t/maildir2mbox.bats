# t/maildir2mbox.bats -- maildir2mbox: move a Maildir into an mbox file,
# as qmail's wrapper programs (qail, qelm, qpine) expect, with MAILDIR,
# MAIL and MAILTMP set as in the article's /etc/profile lines (SPEC
# section 6; maildir2mbox(1)).
load helpers/common

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	export HOME=$T
	export MAILDIR=$HOME/Maildir MAIL=$HOME/Mailbox MAILTMP=$HOME/Mailbox.tmp
	maildirmake "$MAILDIR"
}

# three messages: two in new/, one in cur/ (read by a mail reader),
# their names in the order of their times
three() {
	printf '%s\n' 'Return-Path: <alice@example.org>' 'Subject: one' '' \
	    'From the start' '>From quoted once' 'body one' \
	    >"$MAILDIR/new/1700000001.M1P1.host"
	printf '%s\n' 'Return-Path: <bob@example.net>' 'Subject: two' '' \
	    'body two' >"$MAILDIR/cur/1700000002.M2P2.host:2,S"
	# no Return-Path, and no newline at its end
	printf 'Subject: three\n\nbody three' \
	    >"$MAILDIR/new/1700000003.M3P3.host"
}

# mbox_shape: $MAIL with the dates of the From_ lines replaced by DATE.
mbox_shape() {
	sed -E 's/^(From [^ ]+) (Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}$/\1 DATE/' "$MAIL"
}

@test "three messages are appended after the old mbox, with From_ lines and >From quoting; the Maildir is emptied" {
	three
	printf '%s\n' 'From old@example.com Mon Jan  1 00:00:00 2001' \
	    'Subject: old' '' 'old body' '' >"$MAIL"
	run -0 --separate-stderr maildir2mbox
	[ "$output" = '' ]
	[ "$stderr" = '' ]
	[ "$(mbox_shape)" = 'From old@example.com DATE
Subject: old

old body

From alice@example.org DATE
Return-Path: <alice@example.org>
Subject: one

>From the start
>>From quoted once
body one

From bob@example.net DATE
Return-Path: <bob@example.net>
Subject: two

body two

From MAILER-DAEMON DATE
Subject: three

body three' ]
	# every message ends with a blank line
	[ "$(tail -c 2 "$MAIL" | od -An -c | tr -d ' ')" = '\n\n' ]
	[ "$(find "$MAILDIR" -type f | wc -l)" = 0 ]
	[ ! -e "$MAILTMP" ]
	[ ! -e "$MAIL.lock" ]
	[ "$(stat -c %a "$MAIL")" = 600 ]
}

@test "no mbox yet: it is made; a message with the null sender gets MAILER-DAEMON" {
	printf 'Return-Path: <>\nSubject: bounce\n\nx\n' \
	    >"$MAILDIR/new/1700000001.M1P1.host"
	run -0 maildir2mbox
	[ "$(head -n 1 "$MAIL" | cut -d' ' -f1-2)" = 'From MAILER-DAEMON' ]
	[ "$(sed -n 2p "$MAIL")" = 'Return-Path: <>' ]
}

@test "a long sender (a VERP or SRS address) of up to 1023 bytes is written whole on its own From_ line" {
	local long longer
	# 1023 bytes, and one more
	long=$(printf 'b%.0s' $(seq 1011))@example.org
	longer=b$long
	[ "${#long}" = 1023 ]
	printf 'Return-Path: <%s>\nSubject: long\n\nx\n' "$long" \
	    >"$MAILDIR/new/1700000001.M1P1.host"
	# over 1023 bytes: not cut short, but MAILER-DAEMON
	printf 'Return-Path: <%s>\nSubject: longer\n\ny\n' "$longer" \
	    >"$MAILDIR/new/1700000002.M2P2.host"
	run -0 maildir2mbox
	[ "$(head -n 1 "$MAIL" | cut -d' ' -f1-2)" = "From $long" ]
	[ "$(sed -n 2p "$MAIL")" = "Return-Path: <$long>" ]
	[ "$(sed -n 7p "$MAIL" | cut -d' ' -f1-2)" = 'From MAILER-DAEMON' ]
	[ "$(sed -n 8p "$MAIL")" = "Return-Path: <$longer>" ]
	[ "$(wc -l <"$MAIL")" = 12 ]
}

@test "run again later: the new mail goes after what the first run wrote" {
	three
	run -0 maildir2mbox
	cp "$MAIL" first
	printf 'Return-Path: <carol@example.org>\nSubject: four\n\nfour\n' \
	    >"$MAILDIR/new/1700000004.M4P4.host"
	run -0 maildir2mbox
	[ "$(head -c "$(wc -c <first)" "$MAIL" | cmp - first && echo same)" = same ]
	[ "$(grep -c '^From ' "$MAIL")" = 4 ]
	[ "$(grep '^From ' "$MAIL" | tail -n 1 | cut -d' ' -f2)" = carol@example.org ]
}

@test "nothing to move: MAIL is not touched, exit 0" {
	printf 'From x Mon Jan  1 00:00:00 2001\n\nold\n\n' >"$MAIL"
	touch -d '2001-01-01 00:00:00' "$MAIL"
	before=$(stat -c '%Y %s %i' "$MAIL")
	run -0 --separate-stderr maildir2mbox
	[ "$stderr" = '' ]
	[ "$(stat -c '%Y %s %i' "$MAIL")" = "$before" ]
	# no mbox at all: none is made
	rm "$MAIL"
	run -0 maildir2mbox
	[ ! -e "$MAIL" ]
}

@test "a variable missing or empty: 100, nothing moved" {
	three
	local usage='maildir2mbox: fatal: MAILDIR, MAIL and MAILTMP must be set'
	run -100 --separate-stderr env -u MAILDIR maildir2mbox
	[ "$stderr" = "$usage" ]
	run -100 --separate-stderr env -u MAIL maildir2mbox
	[ "$stderr" = "$usage" ]
	run -100 --separate-stderr env -u MAILTMP maildir2mbox
	[ "$stderr" = "$usage" ]
	run -100 --separate-stderr env MAILTMP= maildir2mbox
	[ "$stderr" = "$usage" ]
	run -100 --separate-stderr maildir2mbox extra
	[ "$stderr" = 'maildir2mbox: fatal: usage: maildir2mbox (with MAILDIR, MAIL and MAILTMP set)' ]
	[ ! -e "$MAIL" ]
	[ "$(find "$MAILDIR" -type f | wc -l)" = 3 ]
}

@test "MAILTMP where nothing can be written: 111, MAIL and the Maildir untouched" {
	three
	printf 'From x Mon Jan  1 00:00:00 2001\n\nold\n\n' >"$MAIL"
	cp "$MAIL" before
	# a file where a directory is wanted stops root too
	touch afile
	run -111 --separate-stderr env MAILTMP="$T/afile/Mailbox.tmp" maildir2mbox
	[ "$stderr" = "maildir2mbox: fatal: move mail to $MAIL: Not a directory" ]
	cmp before "$MAIL"
	[ "$(find "$MAILDIR" -type f | wc -l)" = 3 ]
	[ ! -e "$MAIL.lock" ]
}

@test "a Maildir that is not there: 111, MAIL untouched" {
	run -111 --separate-stderr env MAILDIR="$T/nowhere" maildir2mbox
	[ "$stderr" = "maildir2mbox: fatal: open $T/nowhere/new: No such file or directory" ]
	[ ! -e "$MAIL" ]
}

@test "a lock file held by another program is waited for, then MAIL is written" {
	three
	# a lock held by someone else for a moment
	touch "$MAIL.lock"
	( sleep 1; rm -f "$MAIL.lock" ) 3>&- &
	t0=$(now_ms)
	run -0 maildir2mbox
	t1=$(now_ms)
	wait
	# it waited for the lock to go, not took or removed it at once
	[ $((t1 - t0)) -ge 900 ]
	[ "$(grep -c '^From ' "$MAIL")" = 3 ]
	[ ! -e "$MAIL.lock" ]
}
