# t/vdmail-init.bats -- the instance vdmail-init makes, and what it refuses.
load helpers/common

USAGE='vdmail-init: fatal: usage: vdmail-init DIR [--me HOST] [--ip ADDR] [--smtp-port N] [--pop3-port N] [--relay ADDR]...'

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	scratch_dir
}

teardown() {
	stop_services || :
	scratch_cleanup
}

# has FILE TEXT: FILE holds exactly the bytes of TEXT.
has() {
	if ! printf '%s' "$2" | cmp -s - "$1"; then
		printf 'want in %s:\n%s\nhave:\n' "$1" "$2" >&2
		cat "$1" >&2
		return 1
	fi
}

# refused ARGS...: vdmail-init exits 100 and makes nothing; stderr in $stderr
# (where bats drops the blank at the end of a line, so an empty value is
# expected as "...:" below).
refused() {
	run -100 --separate-stderr as_sandbox vdmail-init "$@"
	[ "$output" = '' ]
	[ ! -e "$S/inst" ]
}

@test "makes the control files, users/assign and the alias home" {
	run -0 make_instance
	[ "$output" = "vdmail-init: made $S/inst; run: svscan $S/inst/service" ]
	I=$S/inst
	has "$I/control/me" $'mx.example.net\n'
	has "$I/control/locals" $'mx.example.net\nlocalhost\n'
	has "$I/control/tcp.smtp" $'# tcprules(1) rules, compiled to tcp.smtp.cdb when the smtp service starts.\n:allow\n'
	[ "$(grep -vc '^#' "$I/control/virtualdomains")" = 0 ]
	grep -q 'domain:prepend' "$I/control/virtualdomains"
	grep -q 'rcpthosts' "$I/control/virtualdomains"
	[ ! -e "$I/control/rcpthosts" ]
	has "$I/users/assign" $'.\n'
	for f in postmaster mailer-daemon root; do
		has "$I/alias/.qmail-$f" $'./Maildir/\n'
		[ "$(stat -c %a "$I/alias/.qmail-$f")" = 644 ]
	done
	for d in cur new tmp; do
		[ -d "$I/alias/Maildir/$d" ]
	done
	[ "$(stat -c %a "$I/alias/Maildir")" = 700 ]
	[ "$(stat -c %a "$I/control")" = 755 ]
	if [ "$(id -u)" = 0 ]; then
		[ "$(stat -c %u:%g "$I/control/me")" = "$SANDBOX_UID:$SANDBOX_GID" ]
	fi
}

@test "--relay adds one RELAYCLIENT rule each, in order, before :allow" {
	run -0 make_instance --relay 127.0.0.2 --relay=10.1. --relay 192.168.0.0
	has "$S/inst/control/tcp.smtp" '# tcprules(1) rules, compiled to tcp.smtp.cdb when the smtp service starts.
127.0.0.2:allow,RELAYCLIENT=""
10.1.:allow,RELAYCLIENT=""
192.168.0.0:allow,RELAYCLIENT=""
:allow
'
	# tcprules takes what vdmail-init wrote.
	cd "$S/inst/control"
	run -0 tcprules "$T/t.cdb" "$T/t.tmp" <tcp.smtp
}

@test "the queue: VERSION, 32 buckets, the trigger FIFO, the inflow mark and the sync counts" {
	run -0 make_instance
	Q=$S/inst/queue
	has "$Q/VERSION" $'vdmail-queue 1\n'
	for d in tmp new mess state lock; do
		[ -d "$Q/$d" ]
	done
	[ "$(find "$Q/mess" -mindepth 1 -maxdepth 1 -type d | wc -l)" = 32 ]
	[ "$(find "$Q/state" -mindepth 1 -maxdepth 1 -type d | wc -l)" = 32 ]
	[ -p "$Q/lock/trigger" ]
	[ -f "$Q/lock/inflow" ]
	[ ! -s "$Q/lock/inflow" ]
	[ -f "$Q/lock/sync" ]
	[ ! -s "$Q/lock/sync" ]
	[ "$(find "$Q" -type f | wc -l)" = 3 ]
}

@test "the smtp service: run scripts are the templates, env/ holds the settings" {
	VDMAIL_ASAN='' run -0 make_instance --smtp-port 2526 --pop3-port 2111
	D=$S/inst/service/smtp
	cmp "$TOP/service/smtp/run" "$D/run"
	cmp "$TOP/service/smtp/log/run" "$D/log/run"
	[ "$(stat -c %a "$D/run")" = 755 ]
	[ "$(stat -c %a "$D/log/run")" = 755 ]
	[ -d "$D/log/main" ]
	has "$D/env/IP" $'127.0.0.1\n'
	has "$D/env/PORT" $'2526\n'
	has "$D/env/VDMAIL_ROOT" "$S/inst"$'\n'
	has "$D/env/VDMAIL_LIBEXEC" "$VDMAIL_LIBEXEC"$'\n'
	has "$D/env/MEMLIMIT" $'64000000\n'
	[ "$(ls "$D/env" | tr '\n' ' ')" = 'IP MEMLIMIT PORT VDMAIL_LIBEXEC VDMAIL_ROOT ' ]
	# The pop3 port goes to the pop3 service only.
	has "$S/inst/service/pop3/env/PORT" $'2111\n'
	has "$S/inst/service/pop3/env/IP" $'127.0.0.1\n'
	cmp "$TOP/service/pop3/run" "$S/inst/service/pop3/run"
	cmp "$TOP/service/pop3/log/run" "$S/inst/service/pop3/log/run"
	[ "$(ls "$S/inst/service" | tr '\n' ' ')" = 'pop3 send smtp ' ]
}

@test "the send service runs queue-run from the templates" {
	run -0 make_instance
	D=$S/inst/service/send
	cmp "$TOP/service/send/run" "$D/run"
	cmp "$TOP/service/send/log/run" "$D/log/run"
	[ "$(stat -c %a "$D/run")" = 755 ]
	[ -d "$D/log/main" ]
	has "$D/env/VDMAIL_ROOT" "$S/inst"$'\n'
	has "$D/env/VDMAIL_LIBEXEC" "$VDMAIL_LIBEXEC"$'\n'
	[ "$(ls "$D/env" | tr '\n' ' ')" = 'VDMAIL_LIBEXEC VDMAIL_ROOT ' ]
	grep -q 'queue-run' "$D/run"
}

@test "VDMAIL_ASAN at init time leaves MEMLIMIT empty (no softlimit)" {
	VDMAIL_ASAN=1 run -0 make_instance
	has "$S/inst/service/smtp/env/MEMLIMIT" ''
}

@test "defaults: host name from uname, 0.0.0.0, port 25" {
	run -0 as_sandbox vdmail-init "$S/inst"
	D=$S/inst/service/smtp/env
	h=$(uname -n | tr '[:upper:]' '[:lower:]')
	if [ "${#h}" -gt 255 ] ||
	    ! [[ $h =~ ^([a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63}$ ]]; then
		h=localhost
	fi
	has "$S/inst/control/me" "$h"$'\n'
	has "$D/IP" $'0.0.0.0\n'
	has "$D/PORT" $'25\n'
}

@test "options after or before DIR, --opt=value, an IPv6 --ip, upper case --me" {
	run -0 as_sandbox vdmail-init --smtp-port=2600 --me=MX.Example.ORG \
	    "$S/inst" --ip ::1
	has "$S/inst/control/me" $'mx.example.org\n'
	has "$S/inst/service/smtp/env/PORT" $'2600\n'
	has "$S/inst/service/smtp/env/IP" $'::1\n'
}

@test "--me localhost is listed once in locals" {
	run -0 make_instance --me localhost
	has "$S/inst/control/locals" $'localhost\n'
}

@test "an empty DIR is taken; a relative DIR is made absolute" {
	as_sandbox mkdir "$S/inst"
	run -0 make_instance
	[ -f "$S/inst/control/me" ]
	as_sandbox mkdir "$S/sub"
	cd "$S/sub"
	run -0 as_sandbox vdmail-init ./rel
	[ "$output" = "vdmail-init: made $S/sub/rel; run: svscan $S/sub/rel/service" ]
	has "$S/sub/rel/service/smtp/env/VDMAIL_ROOT" "$S/sub/rel"$'\n'
}

@test "a DIR that is not empty is refused" {
	as_sandbox mkdir "$S/inst"
	as_sandbox touch "$S/inst/x"
	run -100 --separate-stderr make_instance
	[ "$stderr" = "vdmail-init: fatal: $S/inst: not empty" ]
	[ "$(ls -A "$S/inst")" = x ]
}

@test "a DIR that is a file is refused; a missing parent is a system error" {
	as_sandbox touch "$S/file"
	run -100 --separate-stderr as_sandbox vdmail-init "$S/file"
	[ "$stderr" = "vdmail-init: fatal: $S/file: not a directory" ]
	run -111 --separate-stderr as_sandbox vdmail-init "$S/no/inst"
	[ "$stderr" = "vdmail-init: fatal: mkdir $S/no/inst: No such file or directory" ]
}

@test "a bad --me is refused" {
	refused "$S/inst" --me 'a..b'
	[ "$stderr" = 'vdmail-init: fatal: --me: not a domain name: a..b' ]
	refused "$S/inst" --me 'bad_host.example'
	[ "$stderr" = 'vdmail-init: fatal: --me: not a domain name: bad_host.example' ]
	refused "$S/inst" --me '[127.0.0.1]'
	[ "$stderr" = 'vdmail-init: fatal: --me: not a domain name: [127.0.0.1]' ]
}

@test "a bad --ip is refused" {
	for ip in 1.2.3 1.2.3.256 01.2.3.4 ::g 'fe80::1%eth0' ''; do
		refused "$S/inst" --ip "$ip"
		[ "$stderr" = "vdmail-init: fatal: --ip: not an IP address:${ip:+ $ip}" ]
	done
}

@test "a bad port is refused: 0, 65536, abc" {
	for p in 0 65536 abc '' -1 123456; do
		refused "$S/inst" --smtp-port "$p"
		[ "$stderr" = "vdmail-init: fatal: --smtp-port: not a port (1..65535):${p:+ $p}" ]
		refused "$S/inst" --pop3-port="$p"
		[ "$stderr" = "vdmail-init: fatal: --pop3-port: not a port (1..65535):${p:+ $p}" ]
	done
	run -0 make_instance --smtp-port 65535 --pop3-port 1
}

@test "a bad --relay is refused" {
	for r in 1.2.3.4:x a.b 10.1 1.2.3.4. 256. '' ::1 1.2.3.4.5; do
		refused "$S/inst" --relay 127.0.0.2 --relay "$r"
		[ "$stderr" = "vdmail-init: fatal: --relay: not an IPv4 address or prefix:${r:+ $r}" ]
	done
}

@test "usage: unknown option, no DIR, two DIRs, a missing value" {
	refused "$S/inst" --bogus x
	[ "$stderr" = "$USAGE" ]
	refused -x "$S/inst"
	[ "$stderr" = "$USAGE" ]
	refused
	[ "$stderr" = "$USAGE" ]
	refused --me mx.example.net
	[ "$stderr" = "$USAGE" ]
	refused "$S/inst" "$S/other"
	[ "$stderr" = "$USAGE" ]
	[ ! -e "$S/other" ]
	refused "$S/inst" --me
	[ "$stderr" = "$USAGE" ]
}

@test "run as root for a directory that is not the built-in root, it refuses" {
	if [ "$(id -u)" != 0 ]; then
		skip 'not running as root'
	fi
	run -100 --separate-stderr vdmail-init "$S/inst"
	[ "$output" = '' ]
	[[ $stderr == 'vdmail-init: fatal: installed mode (run as root) makes the instance the programs were built for, '*': rebuild with make ROOT='"$S/inst"', or run me as another user for a sandbox instance' ]]
	[ ! -e "$S/inst" ]
}

# Processes whose working directory lies in the instance.
instance_procs() {
	local p c
	for p in /proc/[0-9]*; do
		c=$(readlink "$p/cwd" 2>/dev/null) || continue
		case $c in
		"$S/inst" | "$S/inst/"*) echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline")" ;;
		esac
	done
}

@test "svscan DIR/service accepts SMTP connections, and stops cleanly" {
	if [ ! -x "$VDMAIL_LIBEXEC/smtp-accept" ]; then
		skip "no $VDMAIL_LIBEXEC/smtp-accept yet"
	fi
	port=$(free_port)
	run -0 make_instance --smtp-port "$port"
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid="$SANDBOX_UID" --regid="$SANDBOX_GID" \
		    --clear-groups -- svscan "$S/inst/service" \
		    </dev/null >/dev/null 2>&1 3>&- &
	else
		svscan "$S/inst/service" </dev/null >/dev/null 2>&1 3>&- &
	fi
	SVSCAN_PID=$!
	wait_port "$port"
	[ -f "$S/inst/control/tcp.smtp.cdb" ]
	# stop_services ends in a wait for the killed svscan (status 143),
	# which errexit would take for a failure.
	stop_services || :
	for _ in $(seq 50); do
		[ -z "$(instance_procs)" ] && break
		sleep 0.1
	done
	run instance_procs
	[ "$output" = '' ]
}

@test "shellcheck: service run scripts, t/helpers/deps, etc/demo-run" {
	shellcheck "$TOP"/service/*/run "$TOP"/service/*/log/run \
	    "$TOP/t/helpers/deps" "$TOP/etc/demo-run"
}
