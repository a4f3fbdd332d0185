# t/vcheckpassword.bats -- vcheckpassword: the checkpassword program for
# vdmail's virtual users and the system's users (SPEC section 9;
# vcheckpassword(8)).
#
# It is driven as pop3-auth drives it: "user\0password\0timestamp\0" on
# fd 3 (from a file here), the program to run in argv.  Virtual users live
# in an instance $I (sandbox mode: vcheckpassword runs as the sandbox
# user); the tests of uid switching and of system users need root and are
# skipped otherwise.
load helpers/common
load helpers/pop3

PW=correct-horse-9
PRINTENV='id -u; id -g; pwd; echo "USER=$USER"; echo "HOME=$HOME"; echo "MAILDIR=$MAILDIR"'

setup() {
	T=$BATS_TEST_TMPDIR
	scratch_dir || return 1
	cd "$S" || return 1
	pop3_instance || return 1
	vuser_add jane@abc.com "$PW" >/dev/null || return 1
	SYSUSERS=()
}

teardown() {
	local u
	for u in "${SYSUSERS[@]}"; do
		userdel -f -r "$u" >/dev/null 2>&1 || userdel -f "$u" >/dev/null 2>&1 || :
	done
	scratch_cleanup
}

need_root() {
	if [ "$(id -u)" != 0 ]; then
		skip "needs root"
	fi
}

# vcp USER PASSWORD PROG...: vcheckpassword PROG... as the sandbox user,
# with this login on fd 3.
vcp() {
	local u=$1 p=$2
	shift 2
	login_input "$S/in.$BASHPID" "$u" "$p"
	as_sandbox vcheckpassword "$@" 3<"$S/in.$BASHPID"
}

# sysuser PASSWORD: a new system user, home $S/sys/NAME (mode 0755, its
# own), with this password; removed in teardown.  Sets SYSUSER, SYSHOME.
sysuser() {
	SYSUSER=vdt$$x$RANDOM
	SYSHOME=$S/sys/$SYSUSER
	[ -d "$S/sys" ] || mkdir -m 0755 "$S/sys"
	useradd -M -d "$SYSHOME" -s /usr/sbin/nologin "$@" "$SYSUSER" ||
	    return 1
	SYSUSERS+=("$SYSUSER")
	mkdir -m 0755 "$SYSHOME"
	chown "$SYSUSER:" "$SYSHOME"
	printf '%s:%s\n' "$SYSUSER" "$PW" | chpasswd
}

@test "the right password: the program runs with USER, HOME and MAILDIR, in HOME; exit 0" {
	run -0 vcp jane@abc.com "$PW" sh -c "$PRINTENV"
	[ "${lines[2]}" = "$ABC" ]
	[ "${lines[3]}" = USER=jane@abc.com ]
	[ "${lines[4]}" = "HOME=$ABC" ]
	[ "${lines[5]}" = "MAILDIR=$ABC/vpop/jane/Maildir/" ]
	# the program's own exit status is passed on
	run -7 vcp jane@abc.com "$PW" sh -c 'exit 7'
	# the arguments reach it as they are
	run -0 vcp jane@abc.com "$PW" printf '[%s]' 'a b' '' c
	[ "$output" = '[a b][][c]' ]
}

@test "a wrong password and an unknown user: exit 1, the program is not run" {
	run -1 vcp jane@abc.com wrong-password touch "$S/ran"
	[ "$output" = '' ]
	run -1 vcp nobody@abc.com "$PW" touch "$S/ran"
	[ "$output" = '' ]
	# a domain that is not hosted, a remote one, a system name unknown
	run -1 vcp jane@example.org "$PW" touch "$S/ran"
	run -1 vcp no-such-user-here "$PW" touch "$S/ran"
	# an empty password, an empty user
	run -1 vcp jane@abc.com '' touch "$S/ran"
	run -1 vcp '' "$PW" touch "$S/ran"
	[ ! -e "$S/ran" ]
}

@test "an unknown user costs the hashing of a wrong password (no timing oracle)" {
	# Each is run several times; the unknown user must take at least
	# half as long as the wrong password, as it does when the dummy
	# hash is really computed (without it, it takes a small fraction).
	local i t0 wrong unknown
	login_input "$S/in.wrong" jane@abc.com "not-$PW"
	login_input "$S/in.unknown" nobody@abc.com "not-$PW"
	# warm up the caches
	for i in 1 2; do
		as_sandbox vcheckpassword true 3<"$S/in.wrong" || :
		as_sandbox vcheckpassword true 3<"$S/in.unknown" || :
	done
	t0=$(now_ms)
	for i in $(seq 8); do
		run -1 as_sandbox vcheckpassword true 3<"$S/in.wrong"
	done
	wrong=$(($(now_ms) - t0))
	t0=$(now_ms)
	for i in $(seq 8); do
		run -1 as_sandbox vcheckpassword true 3<"$S/in.unknown"
	done
	unknown=$(($(now_ms) - t0))
	echo "8 wrong passwords: $wrong ms; 8 unknown users: $unknown ms"
	[ $((unknown * 2)) -ge "$wrong" ]
}

@test "an address in uppercase is folded: it logs in, USER is lowercase" {
	run -0 vcp JANE@ABC.COM "$PW" sh -c 'echo "$USER $MAILDIR"'
	[ "$output" = "jane@abc.com $ABC/vpop/jane/Maildir/" ]
	run -0 vcp Jane@Abc.Com "$PW" sh -c 'echo "$USER"'
	[ "$output" = jane@abc.com ]
	# the password is not folded
	run -1 vcp jane@abc.com "$(tr '[:lower:]' '[:upper:]' <<<"$PW")" true
}

@test "input: at most 512 bytes; more is a bad login (exit 1), the program not run" {
	# exactly 512 bytes, a long timestamp making up the rest
	local head="jane@abc.com"$'\x01'"$PW"$'\x01' ts
	ts=$(printf '<%0*d@h>' $((512 - ${#head} - 1 - 4)) 0)
	login_input "$S/in512" jane@abc.com "$PW" "$ts"
	[ "$(wc -c <"$S/in512")" = 512 ]
	run -0 as_sandbox vcheckpassword echo ran 3<"$S/in512"
	[ "$output" = ran ]
	login_input "$S/in513" jane@abc.com "$PW" "${ts}x"
	[ "$(wc -c <"$S/in513")" = 513 ]
	run -1 as_sandbox vcheckpassword echo ran 3<"$S/in513"
	[ "$output" = '' ]
	head -c 100000 /dev/zero | tr '\0' a >"$S/huge"
	run -1 as_sandbox vcheckpassword echo ran 3<"$S/huge"
	# nothing at all, or no password field
	run -1 as_sandbox vcheckpassword echo ran 3</dev/null
	printf 'jane@abc.com\0' >"$S/short"
	run -1 as_sandbox vcheckpassword echo ran 3<"$S/short"
	# a control character in the user name
	login_input "$S/ctl" "$(printf 'jane\r@abc.com')" "$PW"
	run -1 as_sandbox vcheckpassword echo ran 3<"$S/ctl"
}

@test "no program: exit 2, with a usage line; no fd 3: exit 2" {
	login_input "$S/in" jane@abc.com "$PW"
	run -2 --separate-stderr as_sandbox vcheckpassword 3<"$S/in"
	[ "$stderr" = 'vcheckpassword: warning: usage: vcheckpassword PROG [ARG...]' ]
	run -2 --separate-stderr as_sandbox vcheckpassword true 3<&-
	[[ "$stderr" = 'vcheckpassword: warning: read fd 3: '* ]]
}

@test "a program that cannot be run: exit 111" {
	run -111 --separate-stderr vcp jane@abc.com "$PW" "$S/no-such-program"
	[[ "$stderr" = "vcheckpassword: fatal: exec $S/no-such-program: "* ]]
}

@test "the passwd file cannot be read: exit 111, not a bad login" {
	as_sandbox mv "$I/users/passwd" "$I/users/passwd.away"
	as_sandbox mkdir "$I/users/passwd"
	run -111 --separate-stderr vcp jane@abc.com "$PW" true
	[[ "$stderr" = 'vcheckpassword: fatal: users/passwd'* ]]
}

@test "as root: a virtual user's program runs as the domain master's uid" {
	need_root
	# installed mode: an instance whose root belongs to root, made by
	# hand (vdmail-init as root would create system users)
	R=$S/rootinst
	mkdir -m 0755 "$R" "$R/control" "$R/users"
	echo abc.com:abc >"$R/control/virtualdomains"
	printf '%s\n' "=abc:abc:$SANDBOX_UID:$SANDBOX_GID:$ABC:::" \
	    "+abc-:abc:$SANDBOX_UID:$SANDBOX_GID:$ABC:-::" . >"$R/users/assign"
	grep '^jane@abc\.com:' "$I/users/passwd" >"$R/users/passwd"
	chmod 0600 "$R/users/passwd"
	login_input "$S/in" jane@abc.com "$PW"
	run -0 env VDMAIL_ROOT="$R" vcheckpassword sh -c "$PRINTENV; id -G" 3<"$S/in"
	[ "${lines[0]}" = "$SANDBOX_UID" ]
	[ "${lines[1]}" = "$SANDBOX_GID" ]
	[ "${lines[2]}" = "$ABC" ]
	[ "${lines[3]}" = USER=jane@abc.com ]
	[ "${lines[5]}" = "MAILDIR=$ABC/vpop/jane/Maildir/" ]
	# no supplementary group of root's is kept
	[ "${lines[6]}" = "$SANDBOX_GID" ]
	# a wrong password: 1, nothing run
	login_input "$S/in" jane@abc.com wrong-password
	run -1 env VDMAIL_ROOT="$R" vcheckpassword touch "$S/ran" 3<"$S/in"
	[ ! -e "$S/ran" ]
	# a domain whose master is uid 0 never logs in
	printf '%s\n' "=abc:abc:0:0:$ABC:::" "+abc-:abc:0:0:$ABC:-::" . \
	    >"$R/users/assign"
	login_input "$S/in" jane@abc.com "$PW"
	run -1 env VDMAIL_ROOT="$R" vcheckpassword touch "$S/ran" 3<"$S/in"
	[ ! -e "$S/ran" ]
}

@test "as root: a system user logs in as itself, with MAILDIR=\$HOME/Maildir/" {
	need_root
	sysuser
	uid=$(id -u "$SYSUSER") gid=$(id -g "$SYSUSER")
	login_input "$S/in" "$SYSUSER" "$PW"
	run -0 vcheckpassword sh -c "$PRINTENV" 3<"$S/in"
	[ "${lines[0]}" = "$uid" ]
	[ "${lines[1]}" = "$gid" ]
	[ "${lines[2]}" = "$SYSHOME" ]
	[ "${lines[3]}" = "USER=$SYSUSER" ]
	[ "${lines[4]}" = "HOME=$SYSHOME" ]
	[ "${lines[5]}" = "MAILDIR=$SYSHOME/Maildir/" ]
	login_input "$S/in" "$SYSUSER" wrong-password
	run -1 vcheckpassword touch "$S/ran" 3<"$S/in"
	[ ! -e "$S/ran" ]
	# not as root, the shadow database is out of reach: 1
	login_input "$S/in" "$SYSUSER" "$PW"
	run -1 as_sandbox vcheckpassword touch "$S/ran" 3<"$S/in"
	[ ! -e "$S/ran" ]
}

@test "as root: uid 0 never logs in, even with the right password" {
	need_root
	login_input "$S/in" root "$PW"
	run -1 vcheckpassword touch "$S/ran" 3<"$S/in"
	# a second uid-0 account whose password is known (no shell, removed
	# in teardown)
	sysuser -o -u 0
	login_input "$S/in" "$SYSUSER" "$PW"
	run -1 vcheckpassword touch "$S/ran" 3<"$S/in"
	[ ! -e "$S/ran" ]
}
