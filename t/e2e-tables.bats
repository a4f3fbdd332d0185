# t/e2e-tables.bats -- "To Handle a Virtual Domain With an /etc/aliases-like
# File" (Linux Journal, "Virtual Domains and qmail"), end to end: an
# instance run by svscan (smtp and send services) as the sandbox user,
# abc.com handled by the master user abc, and ~abc/.qmail-default holding
#
#	|/PATH/qmail_db_lookup /HOME/abc/qmail_db
#
# with the article's table.  Mail goes in with Python's smtplib through
# the real tcpserver and smtp-accept; qmail_db_lookup puts it back into the
# queue, and queue-run sends it on: alo.com, test.net, somewhere.com (and
# example.org, the sender's domain, for bounces) by control/smtproutes to
# a test SMTP server on 127.0.0.1 (t/helpers/smtpd.py), and kquincy, a
# local user (users/assign), into his Maildir.
#
# Teardown stops the test server, svscan and every service under it, and
# removes the scratch directory, whatever the test did.
load helpers/common
load helpers/e2e
load helpers/remote
load helpers/tables

SENDER=sender@example.org

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
}

teardown() {
	remote_teardown
	e2e_teardown
}

# table_setup: scratch directory $S; instance $I (SMTP on $PORT, me
# mx.example.net, which control/locals lists) with abc.com:abc; users abc
# ($ABC, the master user, a Maildir that should stay empty) and kquincy
# ($KQ, a Maildir named by ~kquincy/.qmail); ~abc/qmail_db ($DB) the
# article's table and ~abc/.qmail-default the article's line; the test
# server recording into $SRV, on 127.0.0.1:$SPORT, for the smtproutes.
table_setup() {
	local u
	e2e_scratch || return 1
	I=$S/inst
	ABC=$S/home/abc
	KQ=$S/home/kquincy
	DB=$ABC/qmail_db
	SRV=$S/srv
	e2e_instance "$I" || return 1
	grep -qx "$E2E_ME" "$I/control/locals" || return 1
	vdomains "$I" abc.com:abc || return 1
	sb mkdir -p "$S/home" || return 1
	for u in abc kquincy; do
		sb mkdir -m 0755 "$S/home/$u" &&
		    sb maildirmake "$S/home/$u/Maildir" || return 1
	done
	echo ./Maildir/ | put "$KQ/.qmail" || return 1
	{
		printf '=abc:abc:%s:%s:%s:::\n' "$E2E_UID" "$E2E_GID" "$ABC"
		printf '+abc-:abc:%s:%s:%s:-::\n' "$E2E_UID" "$E2E_GID" "$ABC"
		printf '=kquincy:kquincy:%s:%s:%s:::\n' "$E2E_UID" "$E2E_GID" "$KQ"
		echo .
	} | put "$I/users/assign" || return 1
	article_table | put "$DB" || return 1
	echo "|$VDMAIL_BIN/qmail_db_lookup $DB" | put "$ABC/.qmail-default" ||
	    return 1
	SPORT=$(free_port) || return 1
	printf '%s\n' "alo.com:127.0.0.1:$SPORT" "test.net:127.0.0.1:$SPORT" \
	    "somewhere.com:127.0.0.1:$SPORT" "example.org:127.0.0.1:$SPORT" |
	    put "$I/control/smtproutes" || return 1
	# no lookup leaves the machine: a DNS server where nothing answers
	echo "127.0.0.1:$(free_udp_port)" | put "$I/control/dnsservers" ||
	    return 1
	smtpd_start "$SRV" 127.0.0.1 "$SPORT"
}

# srv_find RCPT SUBJECT: the test server's transactions (msg.N
# directories) that went to RCPT alone, from $SENDER, with this Subject.
srv_find() {
	local d
	for d in "$SRV"/msg.*/; do
		[ -f "$d/rcpt" ] || continue
		[ "$(cat "$d/rcpt")" = "$1" ] || continue
		grep -qx "Subject: $2"$'\r' "$d/data" || continue
		[ "$(cat "$d/from")" = "$SENDER" ] || continue
		echo "${d%/}"
	done
}

# srv_one RCPT SUBJECT DELIVERED-TO: exactly one such transaction, whose
# message carries this Delivered-To line (the table's hop).
srv_one() {
	local found
	mapfile -t found < <(srv_find "$1" "$2")
	if [ "${#found[@]}" != 1 ]; then
		echo "${#found[@]} messages to $1 with Subject '$2', not one" >&2
		grep -H . "$SRV"/msg.*/rcpt >&2
		return 1
	fi
	grep -qix "Delivered-To: $3"$'\r' "${found[0]}/data" || {
		echo "no Delivered-To: $3 in ${found[0]}/data" >&2
		return 1
	}
}

# kq_one SUBJECT DELIVERED-TO: exactly one message in kquincy's Maildir
# with this Subject, delivered to kquincy@ME after the table's hop.
kq_one() {
	local found
	mapfile -t found < <(with_subject "$KQ/Maildir" "$1")
	[ "${#found[@]}" = 1 ] || {
		echo "${#found[@]} messages with Subject '$1' in $KQ/Maildir" >&2
		return 1
	}
	header "${found[0]}" >"$T/kq.h"
	grep -qx "Delivered-To: kquincy@$E2E_ME" "$T/kq.h" &&
	    grep -qx "Delivered-To: $2" "$T/kq.h" &&
	    grep -qx "Return-Path: <$SENDER>" "$T/kq.h"
}

@test "the article's table: each name where the table says, all to three, unknown to the catch-all" {
	table_setup
	e2e_start "$I"

	run -0 send_mail "$PORT" "$SENDER" john.smith@abc.com 'to john'
	run -0 send_mail "$PORT" "$SENDER" Carl.Jones@abc.com 'to carl'
	run -0 send_mail "$PORT" "$SENDER" karen.quincy@abc.com 'to karen'
	run -0 send_mail "$PORT" "$SENDER" all@abc.com 'to all'
	run -0 send_mail "$PORT" "$SENDER" unknown@abc.com 'to unknown'

	# alo.com, test.net, somewhere.com: 2 + 2 + 1 transactions
	wait_for 30 has_msgs "$SRV" 5
	wait_for 30 has_new "$KQ/Maildir" 2
	wait_for 30 queue_empty "$I"
	srv_one john.smith@alo.com 'to john' abc-john.smith@abc.com
	srv_one cjones@test.net 'to carl' abc-carl.jones@abc.com
	kq_one 'to karen' abc-karen.quincy@abc.com
	srv_one john.smith@alo.com 'to all' abc-all@abc.com
	srv_one cjones@test.net 'to all' abc-all@abc.com
	kq_one 'to all' abc-all@abc.com
	srv_one postmaster@somewhere.com 'to unknown' abc-unknown@abc.com
	[ "$(msg_count "$SRV")" = 5 ]
	[ "$(new_count "$ABC/Maildir")" = 0 ]
	# the index was made by the delivery, beside the table
	[ -f "$DB.cdb" ]
}

@test "without the - line unknown@abc.com is refused at RCPT (550 5.1.1); john.smith still works; edits count at once" {
	table_setup
	e2e_start "$I"

	# with the catch-all, any name is taken
	run -0 send_mail "$PORT" "$SENDER" nobody@abc.com 'catch-all'
	wait_for 30 has_msgs "$SRV" 1
	srv_one postmaster@somewhere.com catch-all abc-nobody@abc.com

	# the - line removed: refused at RCPT time, no bounce later
	grep -v '^-:' "$DB" | put "$DB.new"
	sb mv "$DB.new" "$DB"
	run -2 send_mail "$PORT" "$SENDER" unknown@abc.com 'refused'
	[ "$output" = 'refused unknown@abc.com 550 5.1.1 sorry, no mailbox here by that name' ]
	run -1 send_mail "$PORT" "$SENDER" john.smith@abc.com,unknown@abc.com 'john only'
	[ "$output" = 'refused unknown@abc.com 550 5.1.1 sorry, no mailbox here by that name' ]
	wait_for 30 has_msgs "$SRV" 2
	srv_one john.smith@alo.com 'john only' abc-john.smith@abc.com

	# an edit in place: a new name and a new address, for the next
	# message, with no command run
	{
		sed 's/^john.smith: .*/john.smith: jsmith@alo.com/' "$DB"
		echo 'new.hire: nh@test.net'
	} >"$T/db.edited"
	put "$DB" <"$T/db.edited"
	run -0 send_mail "$PORT" "$SENDER" new.hire@abc.com 'welcome'
	run -0 send_mail "$PORT" "$SENDER" john.smith@abc.com 'moved'
	wait_for 30 has_msgs "$SRV" 4
	srv_one nh@test.net welcome abc-new.hire@abc.com
	srv_one jsmith@alo.com moved abc-john.smith@abc.com
	run -2 send_mail "$PORT" "$SENDER" unknown@abc.com 'still refused'
	wait_for 30 queue_empty "$I"
	[ "$(msg_count "$SRV")" = 4 ]
	[ "$(new_count "$ABC/Maildir")" = 0 ]
}

@test "a malformed table keeps the mail (deferred, taken at RCPT); fixed, and svc -a, it is delivered once" {
	table_setup
	{ article_table; echo 'this line is broken'; } | put "$DB"
	e2e_start "$I"

	run -0 send_mail "$PORT" "$SENDER" john.smith@abc.com 'kept'
	wait_for 30 logged "$I" 'event=deferred .*qmail_db_lookup: fatal: .*qmail_db:6: '
	[ "$(msg_count "$SRV")" = 0 ]
	run -1 queue_empty "$I"

	article_table | put "$DB"
	svc -a "$I/service/send"
	wait_for 30 has_msgs "$SRV" 1
	wait_for 30 queue_empty "$I"
	srv_one john.smith@alo.com kept abc-john.smith@abc.com
	[ "$(msg_count "$SRV")" = 1 ]
	[ "$(new_count "$ABC/Maildir")" = 0 ]
}

@test "a cycle in the table bounces to the sender, naming the names: a -> b -> a" {
	table_setup
	{ article_table; echo 'a: b'; echo 'b: a'; } | put "$DB"
	e2e_start "$I"

	run -0 send_mail "$PORT" "$SENDER" a@abc.com 'round and round'
	wait_for 30 has_msgs "$SRV" 1
	wait_for 30 queue_empty "$I"
	[ "$(cat "$SRV/msg.1/from")" = '' ]
	[ "$(cat "$SRV/msg.1/rcpt")" = "$SENDER" ]
	# an RFC 3464 report for a@abc.com, naming the cycle
	tr -d '\r' <"$SRV/msg.1/data" >"$T/dsn"
	grep -qx 'Content-Type: multipart/report; report-type=delivery-status;' "$T/dsn"
	grep -qx 'Final-Recipient: rfc822; a@abc.com' "$T/dsn"
	grep -qx 'Action: failed' "$T/dsn"
	grep -qx 'Status: 5.4.6' "$T/dsn"
	grep -qxF "qmail_db_lookup: fatal: alias loop in $DB: a -> b -> a (#5.4.6)" "$T/dsn"
	grep -qx 'Subject: round and round' "$T/dsn"
	[ "$(msg_count "$SRV")" = 1 ]
}
