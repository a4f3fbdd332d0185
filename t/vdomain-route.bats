# t/vdomain-route.bats -- vdomain-route: addresses on stdin, one route line
# per address on stdout (TAB-separated):
#   local ADDRESS LOCAL USER UID GID HOME DASH EXT
#   remote ADDRESS DOMAIN
# from control/locals, control/virtualdomains and users/assign.
#
# Every test runs in sandbox mode: the instance root belongs to a uid other
# than 0, so the system user database is not consulted and the alias user
# has the caller's own uid and gid.
load helpers/common

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	R=$T/root
	mkdir -p "$R/control" "$R/users" "$R/alias"
	if [ "$(id -u)" = 0 ]; then
		chown "$SANDBOX_UID:$SANDBOX_GID" "$R"
	fi
	export VDMAIL_ROOT=$R
	ME_UID=$(id -u)
	ME_GID=$(id -g)
}

# route ADDRESS...: vdomain-route with one address a line on stdin.
route() {
	printf '%s\n' "$@" | vdomain-route
}

# tabs FIELD...: the fields joined by TABs (the expected route line).
tabs() {
	local IFS=$'\t'
	printf '%s\n' "$*"
}

# alias_line ADDRESS LOCAL EXT: the line for the alias user.
alias_line() {
	tabs local "$1" "$2" alias "$ME_UID" "$ME_GID" "$R/alias" - "$3"
}

# --- control/locals ---

@test "a domain in locals keeps its local part; no assign line: the alias user" {
	printf 'mx.example.net\n' >"$R/control/locals"
	run -0 --separate-stderr route bob@mx.example.net
	[ "$stderr" = '' ]
	[ "$output" = "$(alias_line bob@mx.example.net bob bob)" ]
}

@test "locals is matched case-insensitively, the address is printed as given" {
	printf '# our names\n  Example.ORG  \n' >"$R/control/locals"
	run -0 route Bob@EXAMPLE.org
	[ "$output" = "$(alias_line Bob@EXAMPLE.org Bob Bob)" ]
}

@test "locals is matched exactly: not a subdomain, not a parent" {
	printf 'example.org\n' >"$R/control/locals"
	run -0 route a@sub.example.org b@org
	[ "${lines[0]}" = "$(tabs remote a@sub.example.org sub.example.org)" ]
	[ "${lines[1]}" = "$(tabs remote b@org org)" ]
}

@test "postmaster@ME with ME in locals: the alias user, ext postmaster" {
	printf 'mx.example.net\n' >"$R/control/locals"
	run -0 route postmaster@mx.example.net
	[ "$output" = "$(alias_line postmaster@mx.example.net postmaster postmaster)" ]
}

@test "the local part alias itself: the alias user with no extension" {
	printf 'mx.example.net\n' >"$R/control/locals"
	run -0 route alias@mx.example.net
	[ "$output" = "$(tabs local alias@mx.example.net alias alias "$ME_UID" "$ME_GID" "$R/alias" '' '')" ]
}

@test "a domain in both locals and virtualdomains is local: no prepend" {
	printf 'abc.com\n' >"$R/control/locals"
	printf 'abc.com:abc\n' >"$R/control/virtualdomains"
	run -0 route joe@abc.com
	[ "$output" = "$(alias_line joe@abc.com joe joe)" ]
}

# --- remote ---

@test "a domain that is neither local nor virtual: a remote line, domain lowercased" {
	printf 'mx.example.net\n' >"$R/control/locals"
	run -0 route x@Remote.Example.COM
	[ "$output" = "$(tabs remote x@Remote.Example.COM remote.example.com)" ]
}

@test "no control files at all: everything is remote" {
	run -0 route a@b.c d@e.f
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "$(tabs remote a@b.c b.c)" ]
	[ "${lines[1]}" = "$(tabs remote d@e.f e.f)" ]
}

@test "the domain is after the last @" {
	run -0 route '"a@b"@c.example'
	[ "$output" = "$(tabs remote '"a@b"@c.example' c.example)" ]
}

# --- control/virtualdomains ---

@test "virtualdomains, exact: the prepend and a dash before the local part" {
	printf 'abc.com:abc\n' >"$R/control/virtualdomains"
	run -0 route joe@abc.com
	[ "$output" = "$(alias_line joe@abc.com abc-joe abc-joe)" ]
}

@test "virtualdomains, exact: case-insensitive domain" {
	printf 'ABC.com:abc\n' >"$R/control/virtualdomains"
	run -0 route joe@Abc.COM
	[ "$output" = "$(alias_line joe@Abc.COM abc-joe abc-joe)" ]
}

@test "virtualdomains, .suffix: matches every subdomain, not the domain itself" {
	printf '.sub.org:s\n' >"$R/control/virtualdomains"
	run -0 route x@a.sub.org y@b.a.sub.org z@sub.org w@xsub.org
	[ "${lines[0]}" = "$(alias_line x@a.sub.org s-x s-x)" ]
	[ "${lines[1]}" = "$(alias_line y@b.a.sub.org s-y s-y)" ]
	[ "${lines[2]}" = "$(tabs remote z@sub.org sub.org)" ]
	[ "${lines[3]}" = "$(tabs remote w@xsub.org xsub.org)" ]
}

@test "virtualdomains, :catchall: matches every domain not local" {
	printf ':catchall\n' >"$R/control/virtualdomains"
	printf 'mx.example.net\n' >"$R/control/locals"
	run -0 route a@anything.example b@mx.example.net
	[ "${lines[0]}" = "$(alias_line a@anything.example catchall-a catchall-a)" ]
	[ "${lines[1]}" = "$(alias_line b@mx.example.net b b)" ]
}

@test "virtualdomains: exact beats .suffix beats :catchall, whatever the order" {
	printf ':all\n.sub.org:suffix\na.sub.org:exact\n' >"$R/control/virtualdomains"
	run -0 route x@a.sub.org y@b.sub.org z@other.net
	[ "${lines[0]}" = "$(alias_line x@a.sub.org exact-x exact-x)" ]
	[ "${lines[1]}" = "$(alias_line y@b.sub.org suffix-y suffix-y)" ]
	[ "${lines[2]}" = "$(alias_line z@other.net all-z all-z)" ]
}

@test "virtualdomains: among lines of one kind the first matching one wins" {
	printf 'abc.com:first\nabc.com:second\n.sub.org:one\n.sub.org:two\n:c1\n:c2\n' \
	    >"$R/control/virtualdomains"
	run -0 route j@abc.com k@x.sub.org l@else.net
	[ "${lines[0]}" = "$(alias_line j@abc.com first-j first-j)" ]
	[ "${lines[1]}" = "$(alias_line k@x.sub.org one-k one-k)" ]
	[ "${lines[2]}" = "$(alias_line l@else.net c1-l c1-l)" ]
}

@test "virtualdomains: comments, blank lines and lines without a colon are skipped" {
	printf '# a comment\n\nabc.com\n  abc.com:abc  \n' >"$R/control/virtualdomains"
	run -0 route joe@abc.com
	[ "$output" = "$(alias_line joe@abc.com abc-joe abc-joe)" ]
}

# --- the article's examples ---

@test "abc.com:abc with =abc and +abc- lines: john.smith@abc.com is user abc, ext john.smith" {
	printf 'abc.com:abc\n' >"$R/control/virtualdomains"
	printf '=abc:abc:1001:1002:/home/abc:::\n+abc-:abc:1001:1002:/home/abc:-::\n.\n' \
	    >"$R/users/assign"
	run -0 route john.smith@abc.com
	[ "$output" = "$(tabs local john.smith@abc.com abc-john.smith abc 1001 1002 /home/abc - john.smith)" ]
}

@test "the =abc line gives user abc with no extension (abc@ a local domain)" {
	printf 'mx.example.net\n' >"$R/control/locals"
	printf '=abc:abc:1001:1002:/home/abc:::\n+abc-:abc:1001:1002:/home/abc:-::\n.\n' \
	    >"$R/users/assign"
	run -0 route abc@mx.example.net
	[ "$output" = "$(tabs local abc@mx.example.net abc abc 1001 1002 /home/abc '' '')" ]
}

@test "two webmasters in two alias-domains: the alias user, different extensions" {
	printf 'abc.com:alias-abc\nanotherdomain.org:alias-anotherdomain\n' \
	    >"$R/control/virtualdomains"
	run -0 route webmaster@abc.com webmaster@anotherdomain.org
	[ "${lines[0]}" = "$(alias_line webmaster@abc.com alias-abc-webmaster abc-webmaster)" ]
	[ "${lines[1]}" = "$(alias_line webmaster@anotherdomain.org alias-anotherdomain-webmaster anotherdomain-webmaster)" ]
}

@test "no assign line matches in sandbox mode: the alias user, the whole local part as ext" {
	printf 'xyz.org:xyz\n' >"$R/control/virtualdomains"
	printf '=abc:abc:1001:1002:/home/abc:::\n' >"$R/users/assign"
	run -0 route bob@xyz.org
	[ "$output" = "$(alias_line bob@xyz.org xyz-bob xyz-bob)" ]
}

@test "sandbox mode: a local part naming a system user (root, daemon) still goes to alias" {
	printf 'mx.example.net\n' >"$R/control/locals"
	run -0 route root@mx.example.net daemon-x@mx.example.net
	[ "${lines[0]}" = "$(alias_line root@mx.example.net root root)" ]
	[ "${lines[1]}" = "$(alias_line daemon-x@mx.example.net daemon-x daemon-x)" ]
}

# --- users/assign ---

@test "assign: an = line beats a + line that also matches, even when it comes later" {
	printf 'mx.example.net\n' >"$R/control/locals"
	printf '+jo:pre:1:1:/p:-:x:\n=joe:ex:2:2:/e:::\n' >"$R/users/assign"
	run -0 route joe@mx.example.net
	[ "$output" = "$(tabs local joe@mx.example.net joe ex 2 2 /e '' '')" ]
}

@test "assign: the first of two = lines for one address wins" {
	printf 'mx.example.net\n' >"$R/control/locals"
	printf '=joe:one:1:1:/one:::\n=joe:two:2:2:/two:::\n' >"$R/users/assign"
	run -0 route joe@mx.example.net
	[ "$output" = "$(tabs local joe@mx.example.net joe one 1 1 /one '' '')" ]
}

@test "assign: = matches the whole local part only, case-insensitively" {
	printf 'mx.example.net\n' >"$R/control/locals"
	printf '=Joe:ex:2:2:/e:::\n' >"$R/users/assign"
	run -0 route JOE@mx.example.net joey@mx.example.net
	[ "${lines[0]}" = "$(tabs local JOE@mx.example.net JOE ex 2 2 /e '' '')" ]
	[ "${lines[1]}" = "$(alias_line joey@mx.example.net joey joey)" ]
}

@test "assign: the longest matching + prefix wins, whatever the order" {
	printf 'mx.example.net\n' >"$R/control/locals"
	printf '+a-:short:1:1:/s:-:s:\n+a-b-:long:2:2:/l:-:l:\n+a-:third:3:3:/t:-::\n' \
	    >"$R/users/assign"
	run -0 route a-b-c@mx.example.net a-x@mx.example.net
	[ "${lines[0]}" = "$(tabs local a-b-c@mx.example.net a-b-c long 2 2 /l - lc)" ]
	[ "${lines[1]}" = "$(tabs local a-x@mx.example.net a-x short 1 1 /s - sx)" ]
}

@test "assign: the + extension is the line's ext field, then the rest of the address" {
	printf 'mx.example.net\n' >"$R/control/locals"
	printf '+list-:lists:7:8:/var/lists:-:ml-:\n' >"$R/users/assign"
	run -0 route list-vdmail-owner@mx.example.net
	[ "$output" = "$(tabs local list-vdmail-owner@mx.example.net list-vdmail-owner lists 7 8 /var/lists - ml-vdmail-owner)" ]
}

@test "assign: an empty + prefix matches every address" {
	printf 'mx.example.net\n' >"$R/control/locals"
	printf '+:everyone:5:5:/home/all:-::\n' >"$R/users/assign"
	run -0 route anybody@mx.example.net
	[ "$output" = "$(tabs local anybody@mx.example.net anybody everyone 5 5 /home/all - anybody)" ]
}

@test "assign: lines after a . line are ignored, even malformed ones" {
	printf 'mx.example.net\n' >"$R/control/locals"
	printf '=a:first:1:1:/f:::\n.\n=b:late:2:2:/l:::\nnot a line at all\n' >"$R/users/assign"
	run -0 route a@mx.example.net b@mx.example.net
	[ "${lines[0]}" = "$(tabs local a@mx.example.net a first 1 1 /f '' '')" ]
	[ "${lines[1]}" = "$(alias_line b@mx.example.net b b)" ]
}

@test "assign: comment and blank lines are skipped" {
	printf 'mx.example.net\n' >"$R/control/locals"
	printf '# users\n\n=a:first:1:1:/f:::\n' >"$R/users/assign"
	run -0 route a@mx.example.net
	[ "$output" = "$(tabs local a@mx.example.net a first 1 1 /f '' '')" ]
}

@test "assign: a malformed line: exit 111 and users/assign:N on stderr" {
	printf 'mx.example.net\n' >"$R/control/locals"
	printf '=a:first:1:1:/f:::\n# fine\nbroken line\n' >"$R/users/assign"
	run -111 --separate-stderr route zed@mx.example.net
	[ "$output" = '' ]
	[ "$stderr" = 'vdomain-route: fatal: users/assign:3: malformed line' ]
}

@test "assign: lines with too few fields or no final colon are malformed" {
	printf 'mx.example.net\n' >"$R/control/locals"
	for bad in '=a:u:1:1:/h::' '=a:u:1:1:/h:::x' '+a:u:1:1' '-a:u:1:1:/h:::'; do
		printf '%s\n' "$bad" >"$R/users/assign"
		run -111 --separate-stderr route zed@mx.example.net
		[ "$stderr" = 'vdomain-route: fatal: users/assign:1: malformed line' ]
	done
}

@test "assign: a matching line with a bad uid, gid or home: exit 111" {
	printf 'mx.example.net\n' >"$R/control/locals"
	for bad in '=a:u:x:1:/h:::' '=a:u:1:-1:/h:::' '=a:u:1:1:relative:::' '=a:u:1:1:/h:--::'; do
		printf '%s\n' "$bad" >"$R/users/assign"
		run -111 --separate-stderr route a@mx.example.net
		[ "$stderr" = 'vdomain-route: fatal: users/assign: malformed entry for a' ]
	done
}

@test "assign: an edit takes effect on the next run, with no rebuild step" {
	printf 'mx.example.net\n' >"$R/control/locals"
	printf '=joe:old:1:1:/old:::\n' >"$R/users/assign"
	run -0 route joe@mx.example.net
	[ "$output" = "$(tabs local joe@mx.example.net joe old 1 1 /old '' '')" ]
	printf '=joe:new:2:2:/new:::\n' >"$R/users/assign"
	run -0 route joe@mx.example.net
	[ "$output" = "$(tabs local joe@mx.example.net joe new 2 2 /new '' '')" ]
	rm "$R/users/assign"
	run -0 route joe@mx.example.net
	[ "$output" = "$(alias_line joe@mx.example.net joe joe)" ]
}

@test "assign: uid 0 is reported as written (delivery refuses it, not routing)" {
	printf 'mx.example.net\n' >"$R/control/locals"
	printf '=toor:root:0:0:/root:::\n' >"$R/users/assign"
	run -0 route toor@mx.example.net
	[ "$output" = "$(tabs local toor@mx.example.net toor root 0 0 /root '' '')" ]
}

@test "an unreadable users/assign (a directory): exit 111" {
	printf 'mx.example.net\n' >"$R/control/locals"
	mkdir "$R/users/assign"
	run -111 --separate-stderr route a@mx.example.net
	[[ "$stderr" == 'vdomain-route: fatal: users/assign: '* ]]
}

@test "an unreadable control file (a directory): exit 111" {
	mkdir "$R/control/virtualdomains"
	run -111 --separate-stderr route a@b.example
	[[ "$stderr" == 'vdomain-route: fatal: control/virtualdomains: '* ]]
}

# --- input ---

@test "one line out per line in, in order; a last line without LF counts" {
	printf 'mx.example.net\n' >"$R/control/locals"
	run -0 bash -c "printf 'a@x.example\nb@mx.example.net\nc@y.example' | vdomain-route"
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = "$(tabs remote a@x.example x.example)" ]
	[ "${lines[1]}" = "$(alias_line b@mx.example.net b b)" ]
	[ "${lines[2]}" = "$(tabs remote c@y.example y.example)" ]
}

@test "empty input: no output, exit 0" {
	run -0 vdomain-route </dev/null
	[ "$output" = '' ]
}

@test "an address without @: exit 100, the exact line on stderr" {
	run -100 --separate-stderr route no-at-sign
	[ "$output" = '' ]
	[ "$stderr" = 'vdomain-route: fatal: line 1: malformed address' ]
}

@test "the line number of a malformed address is counted" {
	run -100 --separate-stderr route a@b.example @b.example
	[ "$stderr" = 'vdomain-route: fatal: line 2: malformed address' ]
}

@test "an empty line, a control character or a NUL: malformed" {
	run -100 --separate-stderr route ''
	[ "$stderr" = 'vdomain-route: fatal: line 1: malformed address' ]
	run -100 --separate-stderr route $'a\tb@c.example'
	[ "$stderr" = 'vdomain-route: fatal: line 1: malformed address' ]
	run -100 --separate-stderr bash -c "printf 'a\0b@c.example\n' | vdomain-route"
	[ "$stderr" = 'vdomain-route: fatal: line 1: malformed address' ]
}

@test "the address limit: 1000 bytes pass, 1001 and 1002 bytes are refused" {
	local1000=$(printf 'a%.0s' $(seq 988))
	addr=$local1000@example.net
	[ "${#addr}" -eq 1000 ]
	run -0 route "$addr"
	[ "$output" = "$(tabs remote "$addr" example.net)" ]
	run -100 --separate-stderr route "b$addr"
	[ "$output" = '' ]
	[ "$stderr" = 'vdomain-route: fatal: line 1: malformed address' ]
	run -100 --separate-stderr route "bb$addr"
	[ "$output" = '' ]
	[ "$stderr" = 'vdomain-route: fatal: line 1: address too long' ]
}

@test "a very long line (100000 bytes) is refused, not cut" {
	run -100 --separate-stderr bash -c '{ head -c 100000 /dev/zero | tr "\0" a; echo @x.example; } | vdomain-route'
	[ "$output" = '' ]
	[ "$stderr" = 'vdomain-route: fatal: line 1: address too long' ]
}

@test "a domain over 255 bytes is refused" {
	d=$(printf 'b%.0s' $(seq 252)).com
	run -100 --separate-stderr route "a@$d"
	[ "$stderr" = 'vdomain-route: fatal: line 1: malformed address' ]
}

@test "a prepend that makes the local part too long: exit 100" {
	p=$(printf 'p%.0s' $(seq 600))
	printf 'abc.com:%s\n' "$p" >"$R/control/virtualdomains"
	l=$(printf 'l%.0s' $(seq 500))
	run -100 --separate-stderr route "$l@abc.com"
	[ "$stderr" = 'vdomain-route: fatal: line 1: malformed address' ]
}

@test "usage: any argument: exit 100" {
	run -100 --separate-stderr vdomain-route -f x </dev/null
	[ "$output" = '' ]
	[ "$stderr" = 'vdomain-route: fatal: usage: vdomain-route <addresses' ]
}
