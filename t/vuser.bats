# t/vuser.bats -- vuser: vdmail's virtual POP users (SPEC sections 5, 9;
# vuser(1), vdmail-passwd(5)).
#
# Each test has an instance $I in a scratch directory, where abc.com is a
# virtual domain whose master user abc has the home $ABC.  vuser runs as
# the sandbox user, like the owner of an instance in sandbox mode.
load helpers/common
load helpers/pop3

PW=correct-horse-9

setup() {
	T=$BATS_TEST_TMPDIR
	scratch_dir || return 1
	cd "$S" || return 1
	pop3_instance || return 1
	PASSWD=$I/users/passwd
}

teardown() {
	scratch_cleanup
}

# vu ARG...: vuser as the sandbox user, with stdin as it is.
vu() {
	as_sandbox vuser "$@"
}

# login USER PASSWORD: vcheckpassword's verdict, as pop3-auth asks it:
# prints the MAILDIR it would give the session; exit 1 for a bad login.
login() {
	login_input "$S/in.$BASHPID" "$1" "$2"
	as_sandbox vcheckpassword sh -c 'echo "$MAILDIR"' 3<"$S/in.$BASHPID"
}

# perms PATH: "MODE OWNER" of PATH (OWNER a number).
perms() {
	stat -c '%a %u' "$1"
}

@test "add: the Maildir, the .qmail file and one passwd line with a crypt hash" {
	run -0 vuser_add jane@abc.com "$PW"
	[ "$output" = "vuser: added jane@abc.com; mail goes to $ABC/vpop/jane/Maildir/" ]
	for d in "$ABC/vpop" "$ABC/vpop/jane" "$ABC/vpop/jane/Maildir" \
	    "$ABC/vpop/jane/Maildir/tmp" "$ABC/vpop/jane/Maildir/new" \
	    "$ABC/vpop/jane/Maildir/cur"; do
		[ -d "$d" ]
		[ "$(stat -c %a "$d")" = 700 ]
		[ "$(stat -c %u "$d")" = "$(stat -c %u "$ABC")" ]
	done
	# the .qmail file names the Maildir relative to the master's home,
	# and is not writable by group or others (paternalism)
	[ "$(cat "$ABC/.qmail-jane")" = ./vpop/jane/Maildir/ ]
	[ "$(( 0$(stat -c %a "$ABC/.qmail-jane") & 022 ))" = 0 ]
	# one line, address:hash, yescrypt or SHA-512-crypt, never the cleartext
	[ "$(wc -l <"$PASSWD")" = 1 ]
	grep -Eq '^jane@abc\.com:\$(y|6)\$[^:]+$' "$PASSWD"
	run ! grep -qF "$PW" "$PASSWD"
	[ "$(stat -c %a "$PASSWD")" = 600 ]
	# nothing half-written is left beside it
	[ -z "$(find "$I/users" -name '*.tmp*')" ]
	# and the password logs in
	run -0 login jane@abc.com "$PW"
	[ "$output" = "$ABC/vpop/jane/Maildir/" ]
}

@test "add: a second user gets a line of its own; two users' hashes differ even with one password" {
	vuser_add jane@abc.com "$PW"
	vuser_add john.smith@abc.com "$PW"
	[ "$(wc -l <"$PASSWD")" = 2 ]
	grep -q '^john\.smith@abc\.com:' "$PASSWD"
	[ "$(cat "$ABC/.qmail-john:smith")" = ./vpop/john.smith/Maildir/ ]
	[ "$(cut -d: -f2 "$PASSWD" | sort -u | wc -l)" = 2 ]
	run -0 login john.smith@abc.com "$PW"
	[ "$output" = "$ABC/vpop/john.smith/Maildir/" ]
}

@test "add: refused addresses: uppercase, bad characters, no domain, a domain not hosted here" {
	local a
	for a in Jane@abc.com jane@ABC.com 'ja ne@abc.com' 'ja/ne@abc.com' \
	    'ja*ne@abc.com' '.jane@abc.com' 'ja..ne@abc.com' jane @abc.com \
	    'jane@'; do
		run -100 --separate-stderr vuser_add "$a" "$PW"
		[ "$stderr" = "vuser: fatal: $a: not an address vuser takes (lowercase local@domain; letters, digits and . _ + - before @)" ]
	done
	run -100 --separate-stderr vuser_add jane@example.org "$PW"
	[ "$stderr" = 'vuser: fatal: jane@example.org: not a domain of this host (control/virtualdomains or control/locals)' ]
	[ ! -e "$PASSWD" ] || [ ! -s "$PASSWD" ]
	[ ! -e "$ABC/vpop" ]
	[ -z "$(find "$ABC" -name '.qmail*')" ]
}

@test "add: weak passwords are refused and nothing is made" {
	run -100 --separate-stderr vuser_add jane@abc.com short7x
	[ "$stderr" = 'vuser: fatal: password too short: at least 8 characters' ]
	run -100 --separate-stderr vuser_add jane@abc.com ''
	[ "$stderr" = 'vuser: fatal: password too short: at least 8 characters' ]
	run -100 --separate-stderr vuser_add jane@abc.com aaaaaaaaaaaa
	[ "$stderr" = 'vuser: fatal: password too weak: it repeats one character or is the address' ]
	run -100 --separate-stderr vuser_add johnsmith@abc.com johnsmith
	[ "$stderr" = 'vuser: fatal: password too weak: it repeats one character or is the address' ]
	run -100 --separate-stderr vuser_add johnsmith@abc.com JohnSmith
	[ "$stderr" = 'vuser: fatal: password too weak: it repeats one character or is the address' ]
	run -100 --separate-stderr vuser_add jane@abc.com jane@abc.com
	[ "$stderr" = 'vuser: fatal: password too weak: it repeats one character or is the address' ]
	run -100 --separate-stderr vuser_add jane@abc.com "$(printf 'pass\tword')"
	[ "$stderr" = 'vuser: fatal: password holds control characters' ]
	[ ! -e "$PASSWD" ] || [ ! -s "$PASSWD" ]
	[ ! -e "$ABC/vpop" ]
	[ ! -e "$ABC/.qmail-jane" ]
	[ ! -e "$ABC/.qmail-johnsmith" ]
	# eight characters are enough
	run -0 vuser_add jane@abc.com abcdefg8
}

@test "add: a user that exists is refused, and its line and hash stay" {
	vuser_add jane@abc.com "$PW"
	cp "$PASSWD" before
	run -100 --separate-stderr vuser_add jane@abc.com other-pass-1
	[ "$stderr" = 'vuser: fatal: jane@abc.com: already a user' ]
	cmp before "$PASSWD"
	run -0 login jane@abc.com "$PW"
	run -1 login jane@abc.com other-pass-1
}

@test "add: a .qmail file that already delivers elsewhere is refused and kept" {
	echo '&jane@example.org' | pop3_put "$ABC/.qmail-jane"
	run -100 --separate-stderr vuser_add jane@abc.com "$PW"
	[ "$stderr" = "vuser: fatal: $ABC/.qmail-jane already exists and delivers elsewhere: remove it first" ]
	[ "$(cat "$ABC/.qmail-jane")" = '&jane@example.org' ]
	[ ! -e "$PASSWD" ] || [ ! -s "$PASSWD" ]
	# one that already names the user's Maildir is taken as it is
	echo ./vpop/jane/Maildir/ | pop3_put "$ABC/.qmail-jane"
	run -0 vuser_add jane@abc.com "$PW"
}

@test "passwd: the old password stops working, the new one works" {
	vuser_add jane@abc.com "$PW"
	old=$(cut -d: -f2- "$PASSWD")
	run -0 --separate-stderr vu passwd jane@abc.com <<<'new-password-2'
	new=$(cut -d: -f2- "$PASSWD")
	[ "$old" != "$new" ]
	[ "$(wc -l <"$PASSWD")" = 1 ]
	run ! grep -qF new-password-2 "$PASSWD"
	run -1 login jane@abc.com "$PW"
	run -0 login jane@abc.com new-password-2
	# the same rules as for add
	run -100 --separate-stderr vu passwd jane@abc.com <<<'short'
	[ "$stderr" = 'vuser: fatal: password too short: at least 8 characters' ]
	run -0 login jane@abc.com new-password-2
	run -100 --separate-stderr vu passwd nobody@abc.com <<<'new-password-3'
	[ "$stderr" = 'vuser: fatal: nobody@abc.com: no such user' ]
}

@test "passwd: the other users' lines and comments are kept as they were" {
	vuser_add jane@abc.com "$PW"
	vuser_add john@abc.com "$PW"
	{ echo '# kept'; cat "$PASSWD"; } >p && as_sandbox cp p "$PASSWD"
	john=$(grep '^john@' "$PASSWD")
	run -0 vu passwd jane@abc.com <<<'new-password-2'
	[ "$(sed -n 1p "$PASSWD")" = '# kept' ]
	[ "$(grep '^john@' "$PASSWD")" = "$john" ]
	[ "$(wc -l <"$PASSWD")" = 3 ]
}

@test "del: the line and the .qmail file go, the Maildir and its mail stay" {
	vuser_add jane@abc.com "$PW"
	vuser_add john@abc.com "$PW"
	echo 'Subject: kept' | pop3_put "$ABC/vpop/jane/Maildir/new/1700000000.1.host"
	run -0 vu del jane@abc.com </dev/null
	[ "$output" = "vuser: removed jane@abc.com; its mail is kept in $ABC/vpop/jane/Maildir/" ]
	run ! grep -q '^jane@' "$PASSWD"
	grep -q '^john@' "$PASSWD"
	[ ! -e "$ABC/.qmail-jane" ]
	[ -e "$ABC/.qmail-john" ]
	[ -f "$ABC/vpop/jane/Maildir/new/1700000000.1.host" ]
	run -1 login jane@abc.com "$PW"
	run -0 login john@abc.com "$PW"
	run -100 --separate-stderr vu del jane@abc.com </dev/null
	[ "$stderr" = 'vuser: fatal: jane@abc.com: no such user' ]
	# added again: the same Maildir, with the mail it kept
	run -0 vuser_add jane@abc.com other-pass-1
	[ -f "$ABC/vpop/jane/Maildir/new/1700000000.1.host" ]
}

@test "list DOMAIN: that domain's users only" {
	local uid gid
	uid=$(stat -c %u "$ABC") gid=$(stat -c %g "$ABC")
	pop3_sb mkdir -m 0755 "$S/home/xyz"
	printf 'xyz.org:xyz\nsub.abc.com:xyz\nxabc.com:xyz\n' |
	    as_sandbox sh -c 'cat >>"$1"' put "$I/control/virtualdomains"
	printf '%s\n' "=abc:abc:$uid:$gid:$ABC:::" "+abc-:abc:$uid:$gid:$ABC:-::" \
	    "+xyz-:xyz:$uid:$gid:$S/home/xyz:-::" . | pop3_put "$I/users/assign"
	vuser_add jane@abc.com "$PW"
	vuser_add bob@xyz.org "$PW"
	vuser_add john@abc.com "$PW"
	vuser_add eve@sub.abc.com "$PW"
	vuser_add mallory@xabc.com "$PW"
	run -0 vu list abc.com
	[ "$output" = "$(printf 'jane@abc.com\njohn@abc.com')" ]
	run -0 vu list ABC.COM
	[ "$output" = "$(printf 'jane@abc.com\njohn@abc.com')" ]
	run -0 vu list xyz.org
	[ "$output" = bob@xyz.org ]
	run -0 vu list example.org
	[ "$output" = '' ]
	run -100 --separate-stderr vu list 'not a domain'
	[ "$stderr" = 'vuser: fatal: not a domain: not a domain' ]
}

@test "list on an instance without users: nothing, exit 0" {
	run -0 vu list abc.com
	[ "$output" = '' ]
}

@test "usage: a wrong command or argument count is 100" {
	local usage='vuser: fatal: usage: vuser add|passwd|del ADDRESS | list DOMAIN'
	run -100 --separate-stderr vu
	[ "$stderr" = "$usage" ]
	run -100 --separate-stderr vu add
	[ "$stderr" = "$usage" ]
	run -100 --separate-stderr vu add jane@abc.com extra
	[ "$stderr" = "$usage" ]
	run -100 --separate-stderr vu frob jane@abc.com </dev/null
	[ "$stderr" = "$usage" ]
}

@test "10 adds at once: all 10 lines are there, and the file is never seen half-written" {
	local i pids=()
	# a reader that checks every version of the file it sees
	python3 - "$PASSWD" "$S/stop" >"$S/reader" 2>&1 <<'EOF' 3>&- &
import os, re, sys, time

path, stop = sys.argv[1:3]
line = re.compile(rb"^user[0-9]+@abc\.com:\$(y|6)\$[^:\n]+$")
seen = bad = 0
deadline = time.time() + 120
while not os.path.exists(stop) and time.time() < deadline:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        continue
    seen += 1
    if data and (not data.endswith(b"\n") or
                 not all(line.match(l) for l in data.split(b"\n")[:-1])):
        bad += 1
        print("half-written: %r" % data)
print("seen %d bad %d" % (seen, bad))
EOF
	reader=$!
	for i in $(seq 10); do
		vuser_add "user$i@abc.com" "password-$i" >/dev/null 3>&- &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
	touch "$S/stop"
	wait "$reader"
	cat "$S/reader"
	grep -q '^seen [1-9][0-9]* bad 0$' "$S/reader"
	[ "$(wc -l <"$PASSWD")" = 10 ]
	for i in $(seq 10); do
		[ "$(grep -c "^user$i@abc\.com:" "$PASSWD")" = 1 ]
		[ -d "$ABC/vpop/user$i/Maildir/new" ]
	done
	[ -z "$(find "$I/users" -name '*.tmp*')" ]
	run -0 login user7@abc.com password-7
}
