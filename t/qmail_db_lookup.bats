# t/qmail_db_lookup.bats -- qmail_db_lookup FILE, run as dotqmail-exec runs
# the line "|qmail_db_lookup FILE" of ~abc/.qmail-default for a message to
# NAME@abc.com (DEFAULT, EXT, NEWSENDER and DTLINE set), with the table of
# "Virtual Domains and qmail" (Linux Journal).  The message goes back into
# the queue of an instance made by vdmail-init; each test looks at what
# was queued in queue/new/: the envelope sender, the recipients, and the
# message with its Delivered-To line on top.
#
# The instance and the tables live in a scratch directory that the sandbox
# user owns, and qmail_db_lookup runs as that user, as a delivery would.
load helpers/common
load helpers/tables

SENDER=sender@example.org

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	table_instance
	DB=$S/qmail_db
	article_table | table_put "$DB"
	printf '%s\n' 'From: <sender@example.org>' 'To: <someone@abc.com>' \
	    'Subject: by the table' '' 'The body.' >"$T/msg"
}

teardown() {
	tables_cleanup
}

# lookup NAME [FILE]: qmail_db_lookup FILE (default $DB) on $T/msg, as
# the delivery to NAME@abc.com through ~abc/.qmail-default runs it.
lookup() {
	in_sandbox env DEFAULT="$1" EXT="$1" LOCAL="abc-$1" HOST=abc.com \
	    RECIPIENT="abc-$1@abc.com" SENDER="$SENDER" NEWSENDER="$SENDER" \
	    DTLINE="Delivered-To: abc-$1@abc.com"$'\n' \
	    qmail_db_lookup "${2:-$DB}" <"$T/msg"
}

# forwarded NAME ADDR...: lookup NAME queued one message, from $SENDER to
# exactly ADDR..., that is $T/msg with NAME's Delivered-To line on top.
forwarded() {
	local name=$1

	shift
	run -0 --separate-stderr lookup "$name"
	if [ "$output" != '' ] || [ "$stderr" != '' ]; then
		echo "stdout: $output; stderr: $stderr" >&2
		return 1
	fi
	one_queued || return 1
	[ "$(cat "$T/got.sender")" = "$SENDER" ] || return 1
	rcpts_are "$@" || return 1
	{ echo "Delivered-To: abc-$name@abc.com"; cat "$T/msg"; } >"$T/want.msg"
	cmp "$T/want.msg" "$T/got.msg"
}

# timed_lookup NAME FILE: lookup NAME in FILE, timed by the shell around
# the qmail_db_lookup process alone (its queue-inject included); prints
# the wall time in milliseconds, fails when the lookup fails.
timed_lookup() {
	in_sandbox env DEFAULT="$1" NEWSENDER="$SENDER" bash -c '
		TIMEFORMAT=%3R
		time qmail_db_lookup "$1" 2>/dev/null' tl "$2" <"$T/msg" \
	    2>"$T/time" || return 1
	tail -n 1 "$T/time" | awk '{ printf "%d\n", $1 * 1000 + 0.5 }'
}

# mtime_ns FILE: FILE's modification time in nanoseconds.
mtime_ns() {
	stat -c '%.9Y' "$1" | tr -d .
}

# set_mtime_ns FILE NS: set FILE's modification time, to the nanosecond.
set_mtime_ns() {
	touch -m -d "@${2%?????????}.${2: -9}" "$1"
}

# --- the article's table ---

@test "john.smith goes to john.smith@alo.com: sender NEWSENDER, Delivered-To on top" {
	forwarded john.smith john.smith@alo.com
	# the index was built beside the table, by the user that delivers
	[ -f "$DB.cdb" ]
	[ "$(stat -c %u "$DB.cdb")" = "$(stat -c %u "$S")" ]
}

@test "carl.jones goes to cjones@test.net" {
	forwarded carl.jones cjones@test.net
}

@test "names are compared without regard to case: John.Smith, CARL.JONES" {
	forwarded John.Smith john.smith@alo.com
	forwarded CARL.JONES cjones@test.net
}

@test "karen.quincy: kquincy, a local user, becomes kquincy@ME without control/defaulthost" {
	[ "$(cat "$I/control/me")" = mx.example.net ]
	[ ! -e "$I/control/defaulthost" ]
	forwarded karen.quincy kquincy@mx.example.net
}

@test "karen.quincy: kquincy@DEFAULTHOST when control/defaulthost is set" {
	echo example.com | table_put "$I/control/defaulthost"
	forwarded karen.quincy kquincy@example.com
}

@test "all expands to its three addresses, in the table's order, in one message" {
	forwarded all john.smith@alo.com cjones@test.net kquincy@mx.example.net
}

@test "an unknown name goes to the catch-all, postmaster@somewhere.com" {
	forwarded nobody.here postmaster@somewhere.com
	forwarded webmaster postmaster@somewhere.com
}

@test "an empty DEFAULT and EXT (the bare master address) goes to the catch-all" {
	run -0 in_sandbox env DEFAULT= EXT= NEWSENDER="$SENDER" \
	    qmail_db_lookup "$DB" <"$T/msg"
	one_queued
	rcpts_are postmaster@somewhere.com
}

@test "without the - line an unknown name bounces: exit 100, Sorry, no mailbox here by that name. (#5.1.1)" {
	grep -v '^-:' "$DB" | table_put "$S/nocatch"
	run -100 --separate-stderr lookup nobody.here "$S/nocatch"
	[ "$output" = '' ]
	[ "$stderr" = 'qmail_db_lookup: fatal: Sorry, no mailbox here by that name. (#5.1.1)' ]
	nothing_queued
	# the names still work
	run -0 lookup john.smith "$S/nocatch"
	one_queued
	rcpts_are john.smith@alo.com
}

@test "the table's other forms: comments, blank lines, commas, continuation lines" {
	table_put "$DB" <<'EOF'
# the sales team
sales: a@x.org,b@x.org ,	c@x.org

support :d@x.org
	e@x.org,
  # a comment inside the entry
    f@x.org
EOF
	forwarded sales a@x.org b@x.org c@x.org
	forwarded support d@x.org e@x.org f@x.org
}

# --- nested names and loops ---

@test "nested aliases: a name whose target is another name, three levels, each address once" {
	table_put "$DB" <<'EOF'
sales: team, sales-archive@x.org
team: lead deputy@x.org
lead: boss
boss: boss@x.org, deputy@x.org
EOF
	forwarded sales boss@x.org deputy@x.org sales-archive@x.org
	forwarded Team boss@x.org deputy@x.org
}

@test "a nested name that is not in the table is a local user; the catch-all does not apply to targets" {
	table_put "$DB" <<'EOF'
-: postmaster@somewhere.com
ops: oncall, ops@x.org
EOF
	forwarded ops oncall@mx.example.net ops@x.org
}

@test "a cycle is a permanent failure naming the names: a -> b -> c -> a" {
	table_put "$DB" <<'EOF'
a: b
b: c, b@x.org
c: a
EOF
	run -100 --separate-stderr lookup a
	[ "$output" = '' ]
	[ "$stderr" = "qmail_db_lookup: fatal: alias loop in $DB: a -> b -> c -> a (#5.4.6)" ]
	nothing_queued
	run -100 --separate-stderr lookup c
	[ "$stderr" = "qmail_db_lookup: fatal: alias loop in $DB: c -> a -> b -> c (#5.4.6)" ]
	nothing_queued
}

@test "a cycle of long names is reported, cut to one line, without overrunning" {
	local a b c
	a=$(printf 'a%.0s' {1..600})
	b=$(printf 'b%.0s' {1..600})
	c=$(printf 'c%.0s' {1..600})
	printf '%s: %s\n' "$a" "$b" "$b" "$c" "$c" "$a" | table_put "$DB"
	run -100 --separate-stderr lookup "$a"
	[ "$output" = '' ]
	[ "${#stderr_lines[@]}" = 1 ]
	[[ $stderr == "qmail_db_lookup: fatal: alias loop in $DB: $a -> "* ]]
	nothing_queued
}

@test "a name that leads to itself is a cycle too: a: a" {
	echo 'self: self' | table_put "$DB"
	run -100 --separate-stderr lookup self
	[ "$stderr" = "qmail_db_lookup: fatal: alias loop in $DB: self -> self (#5.4.6)" ]
	nothing_queued
}

# --- :include: ---

@test ":include:/path reads a list: addresses, names of the table, local users, comments" {
	table_put "$S/staff.list" <<'EOF'
# everyone on the staff
a@x.org, b@x.org
carl.jones	# a name of the table
kquincy
EOF
	{
		article_table
		echo "staff: :include:$S/staff.list, boss@x.org"
	} | table_put "$DB"
	forwarded staff a@x.org b@x.org cjones@test.net kquincy@mx.example.net \
	    boss@x.org
}

@test ":include: of a missing file defers the message (111)" {
	echo "staff: :include:$S/no-such.list" | table_put "$DB"
	run -111 --separate-stderr lookup staff
	[[ $stderr == "qmail_db_lookup: fatal: :include:$S/no-such.list: "* ]]
	nothing_queued
}

@test "a list that includes itself bounces (100) instead of recursing without end" {
	echo ":include:$S/self.list" | table_put "$S/self.list"
	echo "loop: :include:$S/self.list" | table_put "$DB"
	run -100 --separate-stderr lookup loop
	[ "$stderr" = "qmail_db_lookup: fatal: :include:$S/self.list: lists nested more than 100 deep (#5.4.6)" ]
	nothing_queued
}

@test "a list that names the name including it is a cycle" {
	echo 'staff' | table_put "$S/staff.list"
	echo "staff: :include:$S/staff.list" | table_put "$DB"
	run -100 --separate-stderr lookup staff
	[ "$stderr" = "qmail_db_lookup: fatal: alias loop in $DB: staff -> staff (#5.4.6)" ]
	nothing_queued
}

# --- a broken table: the message waits ---

@test "a malformed line: exit 111 naming FILE:N:, nothing queued, no index" {
	local bad n=0
	for bad in 'no colon on this line' 'two words: x@y.org' \
	    ': nameless@x.org' 'empty:' 'comma:  ,  ,'; do
		n=$((n + 1))
		{
			article_table
			echo '# a comment'
			echo "$bad"
			echo 'late: late@x.org'
		} | table_put "$DB"
		rm -f "$DB.cdb"
		# every name defers, listed before the bad line or not
		for name in john.smith late nobody.here; do
			run -111 --separate-stderr lookup "$name"
			[ "$output" = '' ]
			[[ $stderr == "qmail_db_lookup: fatal: $DB:7: "* ]] || {
				echo "line '$bad': $stderr" >&2
				return 1
			}
			nothing_queued
		done
		[ ! -e "$DB.cdb" ]
		[ -z "$(find "$S" -maxdepth 1 -name 'qmail_db.cdb.tmp*')" ]
	done
	[ "$n" = 5 ]
}

@test "a continuation line with no entry above is malformed: FILE:1:" {
	printf '  x@y.org\njohn.smith: j@x.org\n' | table_put "$DB"
	run -111 --separate-stderr lookup john.smith
	[ "$stderr" = "qmail_db_lookup: fatal: $DB:1: a continuation line without an entry" ]
	nothing_queued
}

@test "a name listed twice (whatever its case) defers the message: 111" {
	{ article_table; echo 'John.Smith: other@x.org'; } | table_put "$DB"
	run -111 --separate-stderr lookup carl.jones
	[ "$stderr" = "qmail_db_lookup: fatal: $DB: john.smith is listed twice" ]
	nothing_queued
	[ ! -e "$DB.cdb" ]
}

@test "a table that cannot be read defers the message: 111" {
	as_sandbox mkdir "$S/adir"
	run -111 --separate-stderr lookup john.smith "$S/adir"
	[[ $stderr == "qmail_db_lookup: fatal: $S/adir"* ]]
	run -111 --separate-stderr lookup john.smith "$S/missing"
	[ "$stderr" = "qmail_db_lookup: fatal: $S/missing: No such file or directory" ]
	nothing_queued
}

# --- no rebuild step ---

@test "an edit takes effect on the next run: FILE.cdb is rebuilt, no command" {
	local sum1 sum2 m1 m2
	forwarded john.smith john.smith@alo.com
	sum1=$(cksum <"$DB.cdb")
	m1=$(mtime_ns "$DB.cdb")
	# a second run leaves the index alone
	forwarded carl.jones cjones@test.net
	[ "$(mtime_ns "$DB.cdb")" = "$m1" ]

	sleep 0.05
	article_table | sed 's/john.smith@alo.com$/jsmith@alo.com/' |
	    table_put "$DB"
	echo 'new.hire: nh@test.net' | as_sandbox sh -c 'cat >>"$1"' sh "$DB"
	forwarded john.smith jsmith@alo.com
	forwarded new.hire nh@test.net
	sum2=$(cksum <"$DB.cdb")
	m2=$(mtime_ns "$DB.cdb")
	[ "$sum1" != "$sum2" ]
	[ "$m1" != "$m2" ]
	# all still names the old address: it is not a name of the table
	forwarded all john.smith@alo.com cjones@test.net kquincy@mx.example.net
}

@test "an edit within the same second is seen: same size (nanosecond mtime), same mtime (size)" {
	local sec sum
	sec=$(date +%s)
	set_mtime_ns "$DB" "${sec}100000000"
	forwarded john.smith john.smith@alo.com
	sum=$(cksum <"$DB.cdb")

	# the same number of bytes, 0.1 s later in the same second
	article_table | sed 's/john.smith@alo.com$/john.smith@ola.com/' |
	    table_put "$DB"
	set_mtime_ns "$DB" "${sec}200000000"
	[ "$(stat -c %Y "$DB")" = "$sec" ]
	forwarded john.smith john.smith@ola.com
	[ "$(cksum <"$DB.cdb")" != "$sum" ]
	sum=$(cksum <"$DB.cdb")

	# another size, with the very same mtime, to the nanosecond
	article_table | sed 's/john.smith@alo.com$/js@alo.com/' | table_put "$DB"
	set_mtime_ns "$DB" "${sec}200000000"
	[ "$(mtime_ns "$DB")" = "${sec}200000000" ]
	forwarded john.smith js@alo.com
	[ "$(cksum <"$DB.cdb")" != "$sum" ]
}

@test "a table replaced by rename (a new inode) is seen" {
	forwarded john.smith john.smith@alo.com
	article_table | sed 's/alo.com$/new.example/' | table_put "$S/db.new"
	as_sandbox mv "$S/db.new" "$DB"
	forwarded john.smith john.smith@new.example
}

@test "a table in a directory the user cannot write still answers, from the text, with no index" {
	local ro=$S/ro
	as_sandbox mkdir -m 0755 "$ro"
	article_table | table_put "$ro/qmail_db"
	as_sandbox chmod 0555 "$ro"
	for name in John.Smith all nobody.here; do
		run -0 --separate-stderr lookup "$name" "$ro/qmail_db"
		[ "$stderr" = '' ]
		one_queued
	done
	rcpts_are postmaster@somewhere.com
	[ -z "$(find "$ro" -mindepth 1 ! -name qmail_db)" ]

	# an edit is seen at once, without an index
	as_sandbox chmod 0755 "$ro"
	printf 'john.smith: jsmith@alo.com\n' | table_put "$ro/qmail_db"
	as_sandbox chmod 0555 "$ro"
	run -0 lookup john.smith "$ro/qmail_db"
	one_queued
	rcpts_are jsmith@alo.com
	run -100 lookup nobody.here "$ro/qmail_db"
	nothing_queued
}

@test "in a directory the user cannot write, a stale index is not used, and a name listed twice still defers" {
	local ro=$S/ro
	as_sandbox mkdir -m 0755 "$ro"
	article_table | table_put "$ro/qmail_db"
	run -0 lookup john.smith "$ro/qmail_db"
	one_queued
	[ -f "$ro/qmail_db.cdb" ]
	printf 'john.smith: jsmith@alo.com\njohn.smith: other@alo.com\n' |
	    table_put "$ro/qmail_db"
	as_sandbox chmod 0555 "$ro"
	run -111 --separate-stderr lookup john.smith "$ro/qmail_db"
	[ "$stderr" = "qmail_db_lookup: fatal: $ro/qmail_db: john.smith is listed twice" ]
	nothing_queued
	as_sandbox chmod 0755 "$ro"
	printf 'john.smith: jsmith@alo.com\n' | table_put "$ro/qmail_db"
	as_sandbox chmod 0555 "$ro"
	run -0 lookup john.smith "$ro/qmail_db"
	one_queued
	rcpts_are jsmith@alo.com
}

# --- the environment ---

@test "EXT is the key when DEFAULT is not set" {
	run -0 in_sandbox env -u DEFAULT EXT=Carl.Jones NEWSENDER="$SENDER" \
	    qmail_db_lookup "$DB" <"$T/msg"
	one_queued
	rcpts_are cjones@test.net
}

@test "DEFAULT beats EXT" {
	run -0 in_sandbox env DEFAULT=carl.jones EXT=abc-john.smith \
	    NEWSENDER="$SENDER" qmail_db_lookup "$DB" <"$T/msg"
	one_queued
	rcpts_are cjones@test.net
}

@test "an empty NEWSENDER (a bounce being forwarded) stays the null sender; no DTLINE adds nothing" {
	run -0 in_sandbox env DEFAULT=john.smith NEWSENDER= \
	    qmail_db_lookup "$DB" <"$T/msg"
	one_queued
	[ "$(cat "$T/got.sender")" = '' ]
	cmp "$T/msg" "$T/got.msg"
}

@test "without NEWSENDER or SENDER: exit 100, nothing queued" {
	run -100 --separate-stderr in_sandbox env -u NEWSENDER -u SENDER \
	    DEFAULT=john.smith qmail_db_lookup "$DB" <"$T/msg"
	[ "$stderr" = 'qmail_db_lookup: fatal: NEWSENDER is not set: run me from a .qmail file' ]
	nothing_queued
}

@test "usage: no FILE, or two, is exit 100" {
	run -100 --separate-stderr in_sandbox env NEWSENDER="$SENDER" \
	    qmail_db_lookup </dev/null
	[ "$stderr" = 'qmail_db_lookup: fatal: usage: qmail_db_lookup FILE' ]
	run -100 in_sandbox env NEWSENDER="$SENDER" \
	    qmail_db_lookup "$DB" "$DB" </dev/null
	nothing_queued
}

@test "QMAILQUEUE: the program it names gets the message on fd 0 and the envelope on fd 1" {
	recorder "$S"
	QMAILQUEUE=$S/qq run -0 --separate-stderr lookup all
	[ "$stderr" = '' ]
	nothing_queued
	printf 'F%s\0T%s\0T%s\0T%s\0\0' "$SENDER" john.smith@alo.com \
	    cjones@test.net kquincy@mx.example.net >"$T/want.env"
	cmp "$T/want.env" "$S/qq.env"
	{ echo 'Delivered-To: abc-all@abc.com'; cat "$T/msg"; } >"$T/want.msg"
	cmp "$T/want.msg" "$S/qq.msg"
}

@test "QMAILQUEUE refusing for good (31) bounces (100); a temporary refusal (71) defers (111)" {
	recorder "$S" 31
	QMAILQUEUE=$S/qq run -100 --separate-stderr lookup john.smith
	[[ $stderr == 'qmail_db_lookup: fatal: '*'31'* ]]
	recorder "$S" 71
	QMAILQUEUE=$S/qq run -111 --separate-stderr lookup john.smith
	[[ $stderr == 'qmail_db_lookup: fatal: '*'71'* ]]
	nothing_queued
}

# --- size ---

@test "1,000,000 lines: the first lookup builds the index, the next ones answer in milliseconds" {
	local big=$S/big t0 t1 first after best=999999 name
	awk 'BEGIN {
		print "-: catchall@x.org"
		for (i = 1; i < 1000000; i++)
			printf "user%d: u%d@example.org, user%d@mirror.example\n", i, i, i
	}' | table_put "$big"
	[ "$(wc -l <"$big")" = 1000000 ]

	t0=$EPOCHREALTIME
	run -0 --separate-stderr lookup user777777 "$big"
	t1=$EPOCHREALTIME
	first=$(ms_between "$t0" "$t1")
	[ "$stderr" = '' ]
	one_queued
	rcpts_are u777777@example.org user777777@mirror.example
	[ -f "$big.cdb" ]
	echo "# 1,000,000 lines: the first lookup (index built) took $first ms" >&3
	[ "$first" -lt $((30000 * TABLES_SLOW)) ]

	# the next lookups: the first name, the last and a missing one, each
	# timed around the process alone (its queueing included);
	# the best of three runs of the first name is the one that counts
	for name in user1 user1 user1 user999999 no.such.user; do
		after=$(timed_lookup "$name" "$big")
		if [ "$name" = user1 ] && [ "$after" -lt "$best" ]; then
			best=$after
		fi
		echo "# then $name took $after ms" >&3
		one_queued
	done
	rcpts_are catchall@x.org
	[ "$best" -lt $((50 * TABLES_SLOW)) ]
}
