# t/e2e-delivery.bats -- the virtual domains of "Virtual Domains and qmail"
# (Linux Journal), end to end: mail sent with Python's smtplib to the real
# tcpserver and smtp-accept of an instance run by svscan, queued, and
# delivered by queue-run and dotqmail-exec by the users' .qmail files.
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

# prog_script: $S/prog, a program for .qmail lines:  |$S/prog TAG CODE
# writes its environment and the message to $HOME/marker-TAG, prints a
# line, and exits CODE.  With CODE "flag" it exits 111 until the file
# $HOME/fixed exists, then 0.
prog_script() {
	put "$S/prog" <<'EOF'
#!/bin/sh
tag=$1 code=$2
if [ "$code" = flag ]; then
	if [ ! -e "$HOME/fixed" ]; then
		echo "not yet: no $HOME/fixed"
		exit 111
	fi
	code=0
fi
{
	echo "RECIPIENT=$RECIPIENT"
	echo "SENDER=$SENDER"
	echo "LOCAL=$LOCAL"
	echo "EXT=$EXT"
	echo "HOST=$HOST"
	echo "DEFAULT=${DEFAULT-unset}"
	cat
} >"$HOME/marker-$tag.tmp" && mv "$HOME/marker-$tag.tmp" "$HOME/marker-$tag"
echo "prog $tag says: exit $code"
exit "$code"
EOF
	sb chmod 0755 "$S/prog"
}

@test "abc.com:abc and ~abc/.qmail-default: every abc.com address lands in ~abc/Maildir" {
	e2e_setup abc.com:abc
	echo ./Maildir/ | put "$ABC/.qmail-default"
	e2e_start "$I"

	run -0 send_mail "$PORT" "$SENDER" any@abc.com 'to any'
	wait_for 10 has_new "$ABC/Maildir" 1
	f=$(the_new "$ABC/Maildir")
	header "$f" >h
	grep -qx 'Delivered-To: abc-any@abc.com' h
	[ "$(grep -c '^Delivered-To:' h)" = 1 ]
	[ "$(grep -c '^Received:' h)" = 1 ]
	grep -qx "Return-Path: <$SENDER>" h
	grep -qx 'Subject: to any' h
	grep -qx 'This is the body.' "$f"

	# The article's examples: john.smith and webmaster go to abc as well.
	run -0 send_mail "$PORT" "$SENDER" john.smith@abc.com 'to john'
	run -0 send_mail "$PORT" "$SENDER" Webmaster@ABC.com 'to webmaster'
	wait_for 10 has_new "$ABC/Maildir" 3
	f=$(with_subject "$ABC/Maildir" 'to john')
	header "$f" | grep -qx 'Delivered-To: abc-john.smith@abc.com'
	f=$(with_subject "$ABC/Maildir" 'to webmaster')
	header "$f" | grep -qix 'Delivered-To: abc-webmaster@abc.com'
	wait_for 10 queue_empty "$I"
	[ "$(new_count "$JSMITH/Maildir")" = 0 ]
	[ "$(new_count "$ALIAS/Maildir")" = 0 ]
	[ "$(sendlog "$I" | grep -c 'event=delivered')" = 3 ]

	# Stopped, nothing of the instance keeps running.
	e2e_stop "$I"
	no_procs_left "$S"
	run -1 pgrep -f "$S"
}

@test "~abc/.qmail-john:smith holding &jsmith@HOST forwards to jsmith's Maildir (~jsmith/.qmail)" {
	e2e_setup abc.com:abc
	# HOST, the instance's me, is a local domain.
	grep -qx "$E2E_ME" "$I/control/locals"
	echo "&jsmith@$E2E_ME" | put "$ABC/.qmail-john:smith"
	e2e_start "$I"

	run -0 send_mail "$PORT" "$SENDER" John.Smith@abc.com 'forward me'
	wait_for 10 has_new "$JSMITH/Maildir" 1
	f=$(the_new "$JSMITH/Maildir")
	header "$f" >h
	grep -qx 'Subject: forward me' h
	# Both hops are recorded; the forward keeps the envelope sender.
	grep -qix 'Delivered-To: abc-john.smith@abc.com' h
	grep -qx "Delivered-To: jsmith@$E2E_ME" h
	[ "$(grep -c '^Received:' h)" = 1 ]
	grep -qx "Return-Path: <$SENDER>" h
	wait_for 10 queue_empty "$I"
	[ "$(new_count "$ABC/Maildir")" = 0 ]

	# jsmith's own address delivers by ~jsmith/.qmail as well.
	run -0 send_mail "$PORT" "$SENDER" "jsmith@$E2E_ME" 'direct'
	wait_for 10 has_new "$JSMITH/Maildir" 2
	f=$(with_subject "$JSMITH/Maildir" direct)
	header "$f" | grep -qx "Delivered-To: jsmith@$E2E_ME"
}

@test "alias-abc and alias-anotherdomain: two webmasters, john.smith and sam.adams, through ~alias" {
	e2e_setup abc.com:alias-abc anotherdomain.org:alias-anotherdomain
	sb maildirmake "$ALIAS/abc-webmaster"
	sb maildirmake "$ALIAS/ad-webmaster"
	sb maildirmake "$ALIAS/sam-adams"
	echo ./abc-webmaster/ | put "$ALIAS/.qmail-abc-webmaster"
	echo ./ad-webmaster/ | put "$ALIAS/.qmail-anotherdomain-webmaster"
	echo "&jsmith@$E2E_ME" | put "$ALIAS/.qmail-abc-john:smith"
	echo ./sam-adams/ | put "$ALIAS/.qmail-anotherdomain-sam:adams"
	e2e_start "$I"

	run -0 send_mail "$PORT" "$SENDER" webmaster@abc.com 'abc webmaster'
	run -0 send_mail "$PORT" "$SENDER" webmaster@anotherdomain.org 'ad webmaster'
	run -0 send_mail "$PORT" "$SENDER" john.smith@abc.com 'abc john'
	run -0 send_mail "$PORT" "$SENDER" sam.adams@anotherdomain.org 'ad sam'
	wait_for 10 has_new "$ALIAS/abc-webmaster" 1
	wait_for 10 has_new "$ALIAS/ad-webmaster" 1
	wait_for 10 has_new "$JSMITH/Maildir" 1
	wait_for 10 has_new "$ALIAS/sam-adams" 1
	wait_for 10 queue_empty "$I"

	f=$(the_new "$ALIAS/abc-webmaster")
	header "$f" | grep -qx 'Subject: abc webmaster'
	header "$f" | grep -qx 'Delivered-To: alias-abc-webmaster@abc.com'
	f=$(the_new "$ALIAS/ad-webmaster")
	header "$f" | grep -qx 'Subject: ad webmaster'
	header "$f" | grep -qx 'Delivered-To: alias-anotherdomain-webmaster@anotherdomain.org'
	f=$(the_new "$JSMITH/Maildir")
	header "$f" | grep -qx 'Subject: abc john'
	header "$f" | grep -qx 'Delivered-To: alias-abc-john.smith@abc.com'
	f=$(the_new "$ALIAS/sam-adams")
	header "$f" | grep -qx 'Subject: ad sam'
	header "$f" | grep -qx 'Delivered-To: alias-anotherdomain-sam.adams@anotherdomain.org'
	# abc no longer holds abc.com; the postmaster's Maildir stays empty.
	[ "$(new_count "$ABC/Maildir")" = 0 ]
	[ "$(new_count "$ALIAS/Maildir")" = 0 ]

	# The name spaces are separate: no sam.adams at abc.com, no
	# john.smith at anotherdomain.org.
	run -2 send_mail "$PORT" "$SENDER" sam.adams@abc.com 'wrong domain'
	[[ $output == 'refused sam.adams@abc.com 550 5.1.1 '* ]]
	run -2 send_mail "$PORT" "$SENDER" john.smith@anotherdomain.org 'wrong domain'
	[[ $output == 'refused john.smith@anotherdomain.org 550 5.1.1 '* ]]
}

@test "an unknown user at a virtual domain is refused at RCPT (550 5.1.1), nothing queued" {
	e2e_setup abc.com:abc
	echo "&jsmith@$E2E_ME" | put "$ABC/.qmail-john:smith"
	e2e_start "$I"

	# smtplib raises SMTPRecipientsRefused (send_mail exits 2).
	run -2 send_mail "$PORT" "$SENDER" nobody@abc.com 'to nobody'
	[[ $output == 'refused nobody@abc.com 550 5.1.1 '* ]]
	[ "${#lines[@]}" = 1 ]
	run -0 qlist "$I"
	[ "$output" = '' ]
	[ -z "$(find "$I/queue/new" "$I/queue/mess" "$I/queue/tmp" -type f)" ]

	# In one transaction with a known address: only the known one is
	# taken, and delivered.
	run -1 send_mail "$PORT" "$SENDER" nobody@abc.com,john.smith@abc.com 'mixed'
	[[ $output == 'refused nobody@abc.com 550 5.1.1 '* ]]
	[ "${#lines[@]}" = 1 ]
	wait_for 10 has_new "$JSMITH/Maildir" 1
	wait_for 10 queue_empty "$I"
	f=$(the_new "$JSMITH/Maildir")
	header "$f" | grep -qx 'Subject: mixed'
	[ "$(new_count "$ABC/Maildir")" = 0 ]
	[ "$(new_count "$ALIAS/Maildir")" = 0 ]
	run -1 logged "$I" 'event=(failed|bounce)'
	run -1 logged "$I" 'nobody'
}

@test "a program line that exits 0 delivers and goes on; 99 stops the lines after it" {
	e2e_setup abc.com:abc
	prog_script
	printf '|%s/prog go 0\n./Maildir/\n' "$S" | put "$ABC/.qmail-prog"
	printf '|%s/prog stop 99\n./Maildir/\n' "$S" | put "$ABC/.qmail-stop"
	e2e_start "$I"

	run -0 send_mail "$PORT" "$SENDER" prog@abc.com 'program 0'
	wait_for 10 has_new "$ABC/Maildir" 1
	wait_for 10 queue_empty "$I"
	[ -f "$ABC/marker-go" ]
	grep -qx 'RECIPIENT=abc-prog@abc.com' "$ABC/marker-go"
	grep -qx "SENDER=$SENDER" "$ABC/marker-go"
	grep -qx 'LOCAL=abc-prog' "$ABC/marker-go"
	grep -qx 'EXT=prog' "$ABC/marker-go"
	grep -qx 'HOST=abc.com' "$ABC/marker-go"
	grep -qx 'Subject: program 0' "$ABC/marker-go"
	grep -qx 'This is the body.' "$ABC/marker-go"
	f=$(the_new "$ABC/Maildir")
	header "$f" | grep -qx 'Subject: program 0'
	logged "$I" 'event=delivered .*rcpt=prog@abc.com'

	run -0 send_mail "$PORT" "$SENDER" stop@abc.com 'program 99'
	wait_for 10 test -f "$ABC/marker-stop"
	wait_for 10 queue_empty "$I"
	grep -qx 'Subject: program 99' "$ABC/marker-stop"
	# 99 counts as delivered: the Maildir line was skipped, no bounce.
	logged "$I" 'event=delivered .*rcpt=stop@abc.com'
	[ "$(new_count "$ABC/Maildir")" = 1 ]
	run -1 logged "$I" 'event=(failed|deferred|bounce)'
}

@test "a program line that exits 100 bounces: a multipart/report DSN reaches the sender" {
	e2e_setup abc.com:abc
	prog_script
	printf '|%s/prog refuse 100\n./Maildir/\n' "$S" | put "$ABC/.qmail-refuse"
	e2e_start "$I"

	run -0 send_mail "$PORT" "jsmith@$E2E_ME" refuse@abc.com 'program 100'
	wait_for 10 has_new "$JSMITH/Maildir" 1
	wait_for 10 queue_empty "$I"
	[ -f "$ABC/marker-refuse" ]
	[ "$(new_count "$ABC/Maildir")" = 0 ]
	f=$(the_new "$JSMITH/Maildir")
	run -0 dsn_check "$f" refuse@abc.com
	[[ $output == *'prog refuse says: exit 100'* ]]
	[[ $output == *'<refuse@abc.com>:'* ]]
	# The report carries the original header.
	grep -qx 'Subject: program 100' "$f"
	logged "$I" 'event=failed .*rcpt=refuse@abc.com'
	logged "$I" 'event=bounce '
}

@test "a program line that exits 111 is deferred, and delivered after the fix and svc -a" {
	e2e_setup abc.com:abc
	prog_script
	printf '|%s/prog later flag\n./Maildir/\n' "$S" | put "$ABC/.qmail-later"
	e2e_start "$I"

	run -0 send_mail "$PORT" "$SENDER" later@abc.com 'program 111'
	wait_for 10 logged "$I" 'event=deferred .*rcpt=later@abc.com'
	logged "$I" 'event=deferred .*rcpt=later@abc.com .*not yet'
	run -0 qlist "$I"
	[ "${#lines[@]}" = 1 ]
	[[ ${lines[0]} == *$'\tdeferred\t'*$'\t<'"$SENDER"$'>\t<later@abc.com>' ]]
	[ ! -e "$ABC/marker-later" ]
	[ "$(new_count "$ABC/Maildir")" = 0 ]

	sb touch "$ABC/fixed"
	svc -a "$I/service/send"
	wait_for 10 has_new "$ABC/Maildir" 1
	wait_for 10 queue_empty "$I"
	[ -f "$ABC/marker-later" ]
	logged "$I" 'event=retry '
	logged "$I" 'event=delivered .*rcpt=later@abc.com'
	run -1 logged "$I" 'event=(failed|bounce)'
}

@test "a .qmail file gone after RCPT: the permanent failure bounces as a DSN with Status 5.1.1" {
	e2e_setup abc.com:abc
	echo ./Maildir/ | put "$ABC/.qmail-gone"
	# The queue manager waits until the file is gone.
	sb touch "$I/service/send/down"
	e2e_start "$I"

	run -0 send_mail "$PORT" "jsmith@$E2E_ME" gone@abc.com 'gone soon'
	wait_for 10 has_new "$I/queue" 1
	rm "$ABC/.qmail-gone"
	svc -u "$I/service/send"
	wait_for 10 has_new "$JSMITH/Maildir" 1
	wait_for 10 queue_empty "$I"
	f=$(the_new "$JSMITH/Maildir")
	run -0 dsn_check "$f" gone@abc.com
	[[ $output == *'no mailbox here by that name'* ]]
	python3 - "$f" <<'EOF'
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
blocks = m.get_payload()[1].get_payload()
assert blocks[1]["Status"].strip() == "5.1.1", blocks[1]["Status"]
assert blocks[1]["Final-Recipient"].strip() == "rfc822; gone@abc.com"
EOF
	[ "$(new_count "$ABC/Maildir")" = 0 ]
}

@test "a Delivered-To loop (~abc/.qmail-loop: &loop@abc.com) bounces to the sender, and the queue empties" {
	e2e_setup abc.com:abc
	echo '&loop@abc.com' | put "$ABC/.qmail-loop"
	e2e_start "$I"

	run -0 send_mail "$PORT" "jsmith@$E2E_ME" loop@abc.com 'round and round'
	wait_for 10 has_new "$JSMITH/Maildir" 1
	wait_for 10 queue_empty "$I"
	f=$(the_new "$JSMITH/Maildir")
	run -0 dsn_check "$f" loop@abc.com
	[[ $output == *'looping'* ]]
	grep -q '^Status: 5\.4\.6' "$f"
	# The bounced copy had been through abc-loop once.
	grep -qx 'Delivered-To: abc-loop@abc.com' "$f"
	logged "$I" 'event=failed .*rcpt=loop@abc.com .*looping'
	[ "$(sendlog "$I" | grep -c 'event=bounce ')" = 1 ]
	[ "$(new_count "$ABC/Maildir")" = 0 ]
	[ "$(new_count "$ALIAS/Maildir")" = 0 ]
}

@test "a group-writable home is deferred (mode named in the log), then delivered once fixed and svc -a" {
	e2e_setup abc.com:abc
	echo ./Maildir/ | put "$ABC/.qmail-default"
	chmod 0775 "$ABC"
	e2e_start "$I"

	run -0 send_mail "$PORT" "$SENDER" any@abc.com 'writable home'
	wait_for 10 logged "$I" 'event=deferred .*rcpt=any@abc.com'
	logged "$I" "event=deferred .*rcpt=any@abc.com .*$ABC is writable by group or others: fix its mode"
	run -0 qlist "$I"
	[ "${#lines[@]}" = 1 ]
	[[ ${lines[0]} == *$'\tdeferred\t'*'<any@abc.com>' ]]
	[ "$(new_count "$ABC/Maildir")" = 0 ]

	chmod 0755 "$ABC"
	svc -a "$I/service/send"
	wait_for 10 has_new "$ABC/Maildir" 1
	wait_for 10 queue_empty "$I"
	f=$(the_new "$ABC/Maildir")
	header "$f" | grep -qx 'Subject: writable home'
	header "$f" | grep -qx 'Delivered-To: abc-any@abc.com'
	[ "$(sendlog "$I" | grep -c 'event=delivered')" = 1 ]
	run -1 logged "$I" 'event=(failed|bounce)'
}
