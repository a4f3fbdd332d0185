/*
 * vdmail-init - make a new vdmail instance: control files, users/assign,
 * the alias user's home, the queue, and the daemontools service for smtp.
 *
 * Usage:  vdmail-init DIR [--me HOST] [--ip ADDR] [--smtp-port N]
 *             [--pop3-port N] [--relay ADDR]...
 * stdout: one line naming the instance and the command that runs it.
 * Exit:   0 made; 100 bad usage, a bad value, DIR not empty, or run as
 *         root; 111 a system error (what was made so far stays).
 *
 * Every value is checked before anything is made, so a refusal leaves
 * nothing behind.  The run scripts are the bytes of the repository's
 * service/ templates, compiled in through build/gen/templates.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <grp.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "addr.h"
#include "atomic.h"
#include "control.h"
#include "die.h"
#include "msgid.h"
#include "queue.h"
#include "xio.h"

#include "templates.h"

enum {
	PORT_MAX = 65535,
	PORT_DIGITS_MAX = 5,
	RELAY_LINE_MAX = 64	/* "255.255.255.255" and the rule after it */
};

#define SMTP_PORT_DEFAULT "25"
#define POP3_PORT_DEFAULT "110"
#define IP_DEFAULT "0.0.0.0"
#define MEMLIMIT_DEFAULT "64000000"
#define RELAY_RULE ":allow,RELAYCLIENT=\"\"\n"

static const char synopsis[] = "DIR [--me HOST] [--ip ADDR] [--smtp-port N]"
    " [--pop3-port N] [--relay ADDR]...";

/*
 * Installed mode's system users, each with a group of its own name, and
 * what they run as (vdmail(7), PRIVILEGE SPLIT).
 */
static const struct sysuser {
	const char *name;
	const char *home;	/* under the instance root */
} sysusers[] = {
	{ "vdmaild", "" },	/* smtp-accept */
	{ "vdmailq", "" },	/* owns the queue: queue-inject is setuid to it */
	{ "vdmailr", "" },	/* smtp-send */
	{ "vdmails", "" },	/* queue-run */
	{ "vdmaill", "" },	/* multilog */
	{ "alias", "/alias" }	/* the alias user */
};

static const char virtualdomains_text[] =
    "# One domain:prepend per line: abc.com:abc makes john@abc.com the local\n"
    "# address abc-john.  Without control/rcpthosts, smtp-accept takes mail"
    " for\n"
    "# exactly the domains in locals and in this file.\n";

static const char tcp_smtp_head[] =
    "# tcprules(1) rules, compiled to tcp.smtp.cdb when the smtp service"
    " starts.\n";
static const char tcp_smtp_tail[] = ":allow\n";

static const char dotqmail_text[] = "./Maildir/\n";

struct options {
	const char *dir;
	const char *me;
	const char *ip;
	const char *smtp_port;
	const char *pop3_port;
	const char **relay;	/* in the order given */
	size_t nrelay;
	int system_users;	/* --system-users: only make the users */
};

static char *root;		/* the instance, absolute */
static int installed;		/* run as root: installed mode */

/*
 * The directories under root that got new entries, for the final fsync
 * (files written by write_file_atomic are synced with their directory).
 */
static const char *const made_dirs[] = {
	"control", "users", "alias", "alias/Maildir", "queue", "queue/mess",
	"queue/state", "queue/lock", "service", "service/smtp",
	"service/smtp/log", "service/smtp/env", "service/send",
	"service/send/log", "service/send/env", "service/pop3",
	"service/pop3/log", "service/pop3/env"
};

static int
is_option(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(name, want, len) == 0;
}

/*
 * Options may come before or after DIR, as "--opt value" or "--opt=value";
 * "--" ends them.  Anything else that starts with '-' is a usage error.
 */
static void
parse_args(int argc, char **argv, struct options *o)
{
	int ended = 0;

	o->relay = calloc((size_t)argc, sizeof *o->relay);
	if (o->relay == NULL)
		die_sys(QEXIT_TEMP, "calloc");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *val;
		size_t len;

		if (ended || a[0] != '-' || a[1] == '\0') {
			if (o->dir != NULL || a[0] == '\0')
				usage(synopsis);
			o->dir = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			ended = 1;
			continue;
		}
		if (a[1] != '-')
			usage(synopsis);
		if (strcmp(a, "--system-users") == 0) {
			o->system_users = 1;
			continue;
		}
		name = a + 2;
		eq = strchr(name, '=');
		if (eq != NULL) {
			len = (size_t)(eq - name);
			val = eq + 1;
		} else {
			len = strlen(name);
			if (i + 1 >= argc)
				usage(synopsis);
			val = argv[++i];
		}
		if (is_option(name, len, "me"))
			o->me = val;
		else if (is_option(name, len, "ip"))
			o->ip = val;
		else if (is_option(name, len, "smtp-port"))
			o->smtp_port = val;
		else if (is_option(name, len, "pop3-port"))
			o->pop3_port = val;
		else if (is_option(name, len, "relay"))
			o->relay[o->nrelay++] = val;
		else
			usage(synopsis);
	}
	if (o->dir == NULL && !o->system_users)
		usage(synopsis);
}

/* 1..65535 in decimal, at most five digits. */
static int
port_valid(const char *s)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i == PORT_DIGITS_MAX || s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return i > 0 && v >= 1 && v <= PORT_MAX;
}

/*
 * Dot-separated decimal parts 0..255 at s, without leading zeros (a
 * tcprules prefix is compared as text, and TCPREMOTEIP never has them).
 * Return how many parts (at most 4), *dot set when s ends in '.'; -1 when
 * malformed.
 */
static int
ipv4_scan(const char *s, int *dot)
{
	int parts = 0;

	*dot = 0;
	for (;;) {
		unsigned int v = 0;
		size_t k = 0;

		while (s[k] >= '0' && s[k] <= '9') {
			if (k == 3)
				return -1;
			v = v * 10 + (unsigned int)(s[k] - '0');
			k++;
		}
		if (k == 0 || v > 255 || (k > 1 && s[0] == '0'))
			return -1;
		if (++parts > 4)
			return -1;
		s += k;
		if (*s == '\0')
			return parts;
		if (*s != '.')
			return -1;
		if (*++s == '\0') {
			*dot = 1;
			return parts;
		}
	}
}

/* A dotted quad, or an IPv6 address (only hex digits, ':' and '.'). */
static int
ip_valid(const char *s)
{
	struct in6_addr a6;
	int dot;

	if (strchr(s, ':') != NULL)
		return strspn(s, "0123456789abcdefABCDEF:.") == strlen(s) &&
		    inet_pton(AF_INET6, s, &a6) == 1;
	return ipv4_scan(s, &dot) == 4 && !dot;
}

/*
 * A tcprules IPv4 address: a whole one (127.0.0.2) or a prefix of one to
 * three parts ending in '.' (10.1.).  A partial address without the dot
 * would never match, so it is refused; IPv6 is refused because tcprules
 * separates the address from the rule with ':'.
 */
static int
relay_valid(const char *s)
{
	int dot, n = ipv4_scan(s, &dot);

	return (n == 4 && !dot) || (n >= 1 && n <= 3 && dot);
}

/* A host name into buf (DOMAIN_BYTES_MAX + 1), lowercased; 0 when bad. */
static int
host_copy(char *buf, const char *s)
{
	size_t n = strlen(s);

	if (n > DOMAIN_BYTES_MAX || s[0] == '[' || !domain_valid(s))
		return 0;
	for (size_t i = 0; i <= n; i++)
		buf[i] = (char)tolower((unsigned char)s[i]);
	return 1;
}

/* The host name from uname(), lowercased, or "localhost". */
static void
default_host(char *buf)
{
	struct utsname u;

	if (uname(&u) == -1 || !host_copy(buf, u.nodename))
		strcpy(buf, "localhost");
}

/*
 * envdir(8) takes the first line of a file and drops trailing blanks, so
 * a value holding a newline or ending in a blank would arrive changed.
 */
static void
envdir_safe(const char *what, const char *v)
{
	size_t n = strlen(v);

	if (strchr(v, '\n') != NULL || (n > 0 && (v[n - 1] == ' ' ||
	    v[n - 1] == '\t')))
		die(QEXIT_PERM, "%s: holds a newline or ends in a blank,"
		    " which envdir would change", what);
}

/*
 * Take DIR: make it, or accept it when it is an empty directory.
 */
static int made_root;	/* claim_dir made it: ours to take back */

static void
claim_dir(const char *dir)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int fd;

	if (mkdir(dir, 0755) == 0) {
		made_root = 1;
		return;
	}
	if (errno != EEXIST)
		die_sys(QEXIT_TEMP, "mkdir %s", dir);
	if (stat(dir, &st) == -1)
		die_sys(QEXIT_TEMP, "stat %s", dir);
	if (!S_ISDIR(st.st_mode))
		die(QEXIT_PERM, "%s: not a directory", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		die_sys(QEXIT_TEMP, "open %s", dir);
	d = fdopendir(fd);
	if (d == NULL)
		die_sys(QEXIT_TEMP, "opendir %s", dir);
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (e == NULL)
			break;
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			die(QEXIT_PERM, "%s: not empty", dir);
	}
	if (errno != 0)
		die_sys(QEXIT_TEMP, "readdir %s", dir);
	if (closedir(d) == -1)
		die_sys(QEXIT_TEMP, "closedir %s", dir);
}

/* root/sub, in a buffer that the next call reuses. */
static const char *
at(const char *sub)
{
	static char buf[PATH_BYTES_MAX];
	int n = snprintf(buf, sizeof buf, "%s/%s", root, sub);

	if (n < 0 || (size_t)n >= sizeof buf) {
		errno = ENAMETOOLONG;
		die_sys(QEXIT_TEMP, "%s/%s", root, sub);
	}
	return buf;
}

static void
make_dir(const char *sub, mode_t mode)
{
	const char *p = at(sub);

	if (mkdir(p, mode) == -1)
		die_sys(QEXIT_TEMP, "mkdir %s", p);
}

static void
put_file(const char *sub, const char *data, size_t len, mode_t mode)
{
	const char *p = at(sub);

	if (write_file_atomic(p, data, len, mode) == -1)
		die_sys(QEXIT_TEMP, "write %s", p);
}

static void
put_text(const char *sub, const char *text, mode_t mode)
{
	put_file(sub, text, strlen(text), mode);
}

/* sub holding the one line "value\n". */
static void
put_line(const char *sub, const char *value)
{
	size_t n = strlen(value);
	char *buf = malloc(n + 2);

	if (buf == NULL)
		die_sys(QEXIT_TEMP, "malloc");
	memcpy(buf, value, n);
	buf[n] = '\n';
	buf[n + 1] = '\0';
	put_file(sub, buf, n + 1, 0644);
	free(buf);
}

static void
make_control(const char *me, const struct options *o)
{
	size_t cap, len;
	char *buf;
	int n;

	make_dir("control", 0755);
	put_line("control/me", me);
	if (strcmp(me, "localhost") == 0)
		put_text("control/locals", "localhost\n", 0644);
	else {
		cap = strlen(me) + sizeof "\nlocalhost\n";
		buf = malloc(cap);
		if (buf == NULL)
			die_sys(QEXIT_TEMP, "malloc");
		n = snprintf(buf, cap, "%s\nlocalhost\n", me);
		if (n < 0 || (size_t)n >= cap)
			die(QEXIT_TEMP, "control/locals: cannot format");
		put_file("control/locals", buf, (size_t)n, 0644);
		free(buf);
	}
	put_text("control/virtualdomains", virtualdomains_text, 0644);

	cap = sizeof tcp_smtp_head + o->nrelay * RELAY_LINE_MAX +
	    sizeof tcp_smtp_tail;
	buf = malloc(cap);
	if (buf == NULL)
		die_sys(QEXIT_TEMP, "malloc");
	len = strlen(tcp_smtp_head);
	memcpy(buf, tcp_smtp_head, len);
	for (size_t i = 0; i < o->nrelay; i++) {
		n = snprintf(buf + len, cap - len, "%s" RELAY_RULE,
		    o->relay[i]);
		if (n < 0 || (size_t)n >= cap - len)
			die(QEXIT_TEMP, "control/tcp.smtp: cannot format");
		len += (size_t)n;
	}
	memcpy(buf + len, tcp_smtp_tail, strlen(tcp_smtp_tail));
	len += strlen(tcp_smtp_tail);
	put_file("control/tcp.smtp", buf, len, 0644);
	free(buf);
}

/*
 * The alias user's home: its Maildir is private (0700), as every Maildir
 * holding someone's mail should be.
 */
static void
make_alias(void)
{
	make_dir("alias", 0755);
	make_dir("alias/Maildir", 0700);
	make_dir("alias/Maildir/cur", 0700);
	make_dir("alias/Maildir/new", 0700);
	make_dir("alias/Maildir/tmp", 0700);
	put_text("alias/.qmail-postmaster", dotqmail_text, 0644);
	put_text("alias/.qmail-mailer-daemon", dotqmail_text, 0644);
	put_text("alias/.qmail-root", dotqmail_text, 0644);
}

/*
 * A tcpserver service: service/NAME with env/ (IP, PORT, VDMAIL_ROOT,
 * VDMAIL_LIBEXEC, MEMLIMIT), log/ and the two run scripts.
 */
static void
make_tcp_service(const char *name, const char *ip, const char *port,
    const char *libexec, const char *run, const char *logrun)
{
	const char *asan = getenv("VDMAIL_ASAN");
	char sub[64];

#define SUB(x) (snprintf(sub, sizeof sub, "service/%s%s", name, x), sub)
	make_dir(SUB(""), 0755);
	make_dir(SUB("/env"), 0755);
	put_line(SUB("/env/IP"), ip);
	put_line(SUB("/env/PORT"), port);
	put_line(SUB("/env/VDMAIL_ROOT"), root);
	put_line(SUB("/env/VDMAIL_LIBEXEC"), libexec);
	/* AddressSanitizer's shadow map does not fit under softlimit. */
	if (asan != NULL && asan[0] != '\0')
		put_text(SUB("/env/MEMLIMIT"), "", 0644);
	else
		put_line(SUB("/env/MEMLIMIT"), MEMLIMIT_DEFAULT);
	make_dir(SUB("/log"), 0755);
	make_dir(SUB("/log/main"), 0755);
	put_text(SUB("/log/run"), logrun, 0755);
	put_text(SUB("/run"), run, 0755);
#undef SUB
}



static void
make_send_service(const char *libexec)
{
	make_dir("service/send", 0755);
	make_dir("service/send/env", 0755);
	put_line("service/send/env/VDMAIL_ROOT", root);
	put_line("service/send/env/VDMAIL_LIBEXEC", libexec);
	make_dir("service/send/log", 0755);
	make_dir("service/send/log/main", 0755);
	put_text("service/send/log/run", tmpl_service_send_log_run, 0755);
	put_text("service/send/run", tmpl_service_send_run, 0755);
}

/*
 * Make the new directory entries durable: those below root, root's, and
 * root's own entry in its parent.
 */
static void
sync_dirs(void)
{
	const char *p;
	char *slash;

	for (size_t i = 0; i < sizeof made_dirs / sizeof made_dirs[0]; i++) {
		p = at(made_dirs[i]);
		if (fsync_dir(p) == -1)
			die_sys(QEXIT_TEMP, "fsync %s", p);
	}
	if (fsync_dir(root) == -1)
		die_sys(QEXIT_TEMP, "fsync %s", root);
	slash = strrchr(root, '/');
	if (slash == NULL || slash == root)
		p = "/";
	else {
		*slash = '\0';
		p = root;
	}
	if (fsync_dir(p) == -1)
		die_sys(QEXIT_TEMP, "fsync %s", p);
	if (slash != NULL && slash != root)
		*slash = '/';
}

/* The same directory, symbolic links resolved (b may not exist yet). */
static int
same_path(const char *a, const char *b)
{
	char *rb = realpath(b, NULL);
	int same = strcmp(a, rb != NULL ? rb : b) == 0;

	free(rb);
	return same;
}

/* Run a system tool with fixed arguments (no shell); die unless it works. */
static void
run(char *const argv[])
{
	extern char **environ;
	int status;
	pid_t pid;
	int r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);

	if (r != 0) {
		errno = r;
		die_sys(QEXIT_TEMP, "run %s", argv[0]);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			die_sys(QEXIT_TEMP, "wait for %s", argv[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die(QEXIT_TEMP, "%s failed", argv[0]);
}

/* The system users and groups of installed mode, made if missing. */
static void
make_system_users(const char *base)
{
	for (size_t i = 0; i < sizeof sysusers / sizeof sysusers[0]; i++) {
		const struct sysuser *u = &sysusers[i];
		char home[PATH_BYTES_MAX];

		if (snprintf(home, sizeof home, "%s%s", base, u->home) >=
		    (int)sizeof home)
			die(QEXIT_PERM, "%s: name too long", base);
		if (getgrnam(u->name) == NULL)
			run((char *[]){ "groupadd", "--system", (char *)u->name,
			    NULL });
		if (getpwnam(u->name) == NULL)
			run((char *[]){ "useradd", "--system", "--no-create-home",
			    "--gid", (char *)u->name, "--home-dir", home,
			    "--shell", "/usr/sbin/nologin", (char *)u->name,
			    NULL });
	}
}

static void
own(const char *sub, const char *user, const char *group, mode_t mode)
{
	struct passwd *pw = getpwnam(user);
	struct group *gr = getgrnam(group);
	const char *p = at(sub);

	if (pw == NULL || gr == NULL)
		die(QEXIT_TEMP, "no system user %s or group %s", user, group);
	if (lchown(p, pw->pw_uid, gr->gr_gid) == -1 || chmod(p, mode) == -1)
		die_sys(QEXIT_TEMP, "set owner and mode of %s", p);
}

/*
 * Who may write where (vdmail-queue(5), PRIVILEGES): the queue to
 * vdmailq and vdmails, the alias home to alias, the logs to vdmaill;
 * the rest stays root's.
 */
static void
set_owners(void)
{
	char sub[64];

	own("alias", "alias", "alias", 0755);
	own("alias/Maildir", "alias", "alias", 0700);
	own("alias/Maildir/cur", "alias", "alias", 0700);
	own("alias/Maildir/new", "alias", "alias", 0700);
	own("alias/Maildir/tmp", "alias", "alias", 0700);
	own("alias/.qmail-postmaster", "alias", "alias", 0644);
	own("alias/.qmail-mailer-daemon", "alias", "alias", 0644);
	own("alias/.qmail-root", "alias", "alias", 0644);
	/* queue/ and lock/ searchable: smtp-accept reads lock/inflow */
	own("queue", "vdmailq", "vdmails", 0751);
	/* setgid directories: what queue-inject makes is group vdmails,
	 * readable by queue-run, without queue-inject holding that group */
	own("queue/tmp", "vdmailq", "vdmails", 02700);
	own("queue/new", "vdmailq", "vdmails", 02770);
	own("queue/mess", "vdmails", "vdmails", 0750);
	own("queue/state", "vdmails", "vdmails", 0750);
	own("queue/lock", "vdmailq", "vdmails", 0751);
	/* queue-run sets its mtime (an owner's right when it sets 0) */
	own("queue/lock/inflow", "vdmails", "vdmails", 0644);
	/* queue-inject's group commit: its counts, for its eyes only */
	own("queue/lock/sync", "vdmailq", "vdmailq", 0600);
	/* group write too: queue-run keeps a writer open itself, or the FIFO
	 * would report a hang-up after every writer closes */
	own("queue/lock/trigger", "vdmailq", "vdmails", 0660);
	for (const char *b = msgid_alphabet; *b != '\0'; b++) {
		snprintf(sub, sizeof sub, "queue/mess/%c", *b);
		own(sub, "vdmails", "vdmails", 0750);
		snprintf(sub, sizeof sub, "queue/state/%c", *b);
		own(sub, "vdmails", "vdmails", 0750);
	}
	own("service/smtp/log/main", "vdmaill", "vdmaill", 0755);
	own("service/send/log/main", "vdmaill", "vdmaill", 0755);
	own("service/pop3/log/main", "vdmaill", "vdmaill", 0755);
}

/* The env/ files that make the services drop to their users. */
static void
installed_env(void)
{
	struct passwd *pw = getpwnam("vdmaild");
	char num[32];

	if (pw == NULL)
		die(QEXIT_TEMP, "no system user vdmaild");
	snprintf(num, sizeof num, "%lu", (unsigned long)pw->pw_uid);
	put_line("service/smtp/env/SMTPUID", num);
	snprintf(num, sizeof num, "%lu", (unsigned long)pw->pw_gid);
	put_line("service/smtp/env/SMTPGID", num);
	put_line("service/send/env/QUSER", "vdmails");
	put_line("service/smtp/env/LOGUSER", "vdmaill");
	put_line("service/send/env/LOGUSER", "vdmaill");
	put_line("service/pop3/env/LOGUSER", "vdmaill");
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	char me[DOMAIN_BYTES_MAX + 1];
	const char *libexec, *path;

	progname = "vdmail-init";
	parse_args(argc, argv, &o);
	if (o.system_users) {
		/* make install as root: the users, for the programs' owners */
		if (geteuid() != 0)
			die(QEXIT_PERM, "--system-users needs root");
		make_system_users(vdmail_root_builtin());
		return QEXIT_OK;
	}
	installed = getuid() == 0 || geteuid() == 0;

	if (o.me == NULL)
		default_host(me);
	else if (!host_copy(me, o.me))
		die(QEXIT_PERM, "--me: not a domain name: %s", o.me);
	if (o.ip == NULL)
		o.ip = IP_DEFAULT;
	else if (!ip_valid(o.ip))
		die(QEXIT_PERM, "--ip: not an IP address: %s", o.ip);
	if (o.smtp_port == NULL)
		o.smtp_port = SMTP_PORT_DEFAULT;
	else if (!port_valid(o.smtp_port))
		die(QEXIT_PERM, "--smtp-port: not a port (1..65535): %s",
		    o.smtp_port);
	/* Checked now; the pop3 service that uses it comes later. */
	if (o.pop3_port == NULL)
		o.pop3_port = POP3_PORT_DEFAULT;
	else if (!port_valid(o.pop3_port))
		die(QEXIT_PERM, "--pop3-port: not a port (1..65535): %s",
		    o.pop3_port);
	for (size_t i = 0; i < o.nrelay; i++)
		if (!relay_valid(o.relay[i]))
			die(QEXIT_PERM, "--relay: not an IPv4 address or"
			    " prefix: %s", o.relay[i]);
	libexec = vdmail_libexec();
	envdir_safe(libexec, libexec);
	envdir_safe(o.dir, o.dir);

	/*
	 * Files and directories get exactly the modes written here and in
	 * queue_make(), whatever the caller's umask.
	 */
	umask(0);
	claim_dir(o.dir);
	root = realpath(o.dir, NULL);
	if (root == NULL)
		die_sys(QEXIT_TEMP, "realpath %s", o.dir);
	envdir_safe(o.dir, root);
	if (installed && !same_path(root, vdmail_root_builtin())) {
		if (made_root)
			rmdir(root);
		die(QEXIT_PERM, "installed mode (run as root) makes the instance "
		    "the programs were built for, %s: rebuild with make ROOT=%s,"
		    " or run me as another user for a sandbox instance",
		    vdmail_root_builtin(), root);
	}
	if (installed)
		make_system_users(root);

	make_control(me, &o);
	make_dir("users", 0755);
	put_text("users/assign", ".\n", 0644);
	make_alias();
	path = at("queue");
	if (queue_make(path) == -1)
		die_sys(QEXIT_TEMP, "make queue %s", path);
	make_dir("service", 0755);
	make_tcp_service("smtp", o.ip, o.smtp_port, libexec,
	    tmpl_service_smtp_run, tmpl_service_smtp_log_run);
	make_send_service(libexec);
	make_tcp_service("pop3", o.ip, o.pop3_port, libexec,
	    tmpl_service_pop3_run, tmpl_service_pop3_log_run);
	if (installed) {
		installed_env();
		set_owners();
	}
	sync_dirs();

	if (printf("vdmail-init: made %s; run: svscan %s/service\n", root,
	    root) < 0 || fflush(stdout) == EOF || ferror(stdout))
		die_sys(QEXIT_TEMP, "write stdout");
	free(root);
	free(o.relay);
	return QEXIT_OK;
}
