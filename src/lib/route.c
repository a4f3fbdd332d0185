/*
 * route - where a recipient goes, by qmail's rules.
 */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "route.h"

char route_error[256];

int
installed_mode(void)
{
	struct stat st;

	return stat(vdmail_root(), &st) == 0 && st.st_uid == 0;
}

static int
config_error(const char *what)
{
	snprintf(route_error, sizeof route_error, "%s: %s", what,
	    strerror(errno));
	return ROUTE_CONFIG;
}

/*
 * The routing files, kept between the lookups of one process (smtp-accept
 * answers RCPT after RCPT, queue-run routes recipient after recipient): a
 * file is read again when its device, inode, size or times have changed,
 * and always while its contents are less than KEEP_AFTER_SECONDS old,
 * since two writes within one tick of the file clock can leave the same
 * times.
 */
enum { KEEP_AFTER_SECONDS = 2 };

struct kept {
	const char *sub;		/* under the root */
	size_t max;			/* a larger file is refused (EFBIG) */
	char path[PATH_BYTES_MAX];	/* where it was read */
	int valid;
	struct stat st;			/* as it was read */
	char *data;
	size_t len;
};

static struct kept kept_locals = { .sub = "control/locals",
    .max = CONTROL_BYTES_MAX };
static struct kept kept_virtual = { .sub = "control/virtualdomains",
    .max = CONTROL_BYTES_MAX };
static struct kept kept_assign = { .sub = "users/assign",
    .max = CONTROL_BYTES_MAX * 8 };

static int
same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/*
 * A copy of the file's bytes, NUL-terminated, in *data (to be freed):
 * 1, 0 when it does not exist, -1 on trouble (errno).
 */
static int
kept_read(struct kept *k, char **data, size_t *len)
{
	char path[PATH_BYTES_MAX];
	struct stat st;

	*data = NULL;
	*len = 0;
	if (root_path(path, sizeof path, k->sub) == -1)
		return -1;
	if (stat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!k->valid || strcmp(k->path, path) != 0 ||
	    st.st_dev != k->st.st_dev || st.st_ino != k->st.st_ino ||
	    st.st_size != k->st.st_size ||
	    !same_time(&st.st_mtim, &k->st.st_mtim) ||
	    !same_time(&st.st_ctim, &k->st.st_ctim)) {
		char *nd;
		size_t nl;
		int r = read_file_bounded(path, k->max, &nd, &nl, &st);

		if (r <= 0)
			return r;
		free(k->data);
		k->data = nd;
		k->len = nl;
		snprintf(k->path, sizeof k->path, "%s", path);
		k->st = st;
		k->valid = time(NULL) - st.st_mtim.tv_sec >= KEEP_AFTER_SECONDS;
	}
	*data = malloc(k->len + 1);
	if (*data == NULL)
		return -1;
	memcpy(*data, k->data, k->len);
	(*data)[k->len] = '\0';
	*len = k->len;
	return 1;
}

/* control_list() through the kept copy: 1, 0 (missing, l empty), -1. */
static int
kept_list(struct kept *k, struct strlist *l)
{
	char *data;
	size_t len;
	int r = kept_read(k, &data, &len);

	l->v = NULL;
	l->n = 0;
	l->data = NULL;
	if (r <= 0)
		return r;
	return control_list_parse(data, len, 1, l);
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

/*
 * The virtualdomains prepend for domain d: 1 found (in prepend), 0 none,
 * -1 error.  Exact lines beat ".suffix" lines, which beat ":prepend";
 * among lines of one kind the first wins.
 */
static int
virtual_prepend(const char *d, char *prepend, size_t size)
{
	struct strlist l;
	const char *best = NULL;
	int rank = 0, r;

	r = kept_list(&kept_virtual, &l);
	if (r < 0)
		return -1;
	for (size_t i = 0; i < l.n; i++) {
		char *colon = strchr(l.v[i], ':');
		const char *key = l.v[i];
		size_t kl, dl = strlen(d);
		int k = 0;

		if (colon == NULL)
			continue;
		*colon = '\0';
		kl = strlen(key);
		if (kl == 0)
			k = 1;				/* ":prepend" */
		else if (key[0] == '.' && dl > kl &&
		    strcmp(d + dl - kl, key) == 0)
			k = 2;				/* ".suffix" */
		else if (strcmp(key, d) == 0)
			k = 3;				/* exact */
		if (k > rank) {
			rank = k;
			best = colon + 1;
		}
	}
	r = 0;
	if (best != NULL) {
		if (strlen(best) >= size) {
			strlist_free(&l);
			errno = ENAMETOOLONG;
			return -1;
		}
		strcpy(prepend, best);
		r = 1;
	}
	strlist_free(&l);
	return r;
}

static int
is_local_domain(const char *d)
{
	struct strlist l;
	int r = kept_list(&kept_locals, &l), found = 0;

	if (r < 0)
		return -1;
	for (size_t i = 0; i < l.n && !found; i++)
		found = strcmp(l.v[i], d) == 0;
	strlist_free(&l);
	return found;
}

/* Split an assign line's fields at ':'; 1 when there are 7 and a final ':'. */
static int
split_assign(char *s, char *f[7])
{
	for (int i = 0; i < 7; i++) {
		char *c = strchr(s, ':');

		if (c == NULL)
			return 0;
		*c = '\0';
		f[i] = s;
		s = c + 1;
	}
	return *s == '\0';
}

static int
number(const char *s, unsigned long *v)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}

static int
fill(struct route *r, char *f[7], const char *ext_rest)
{
	if (strlen(f[1]) > USER_BYTES_MAX || strlen(f[4]) >= sizeof r->home ||
	    number(f[2], &r->uid) == -1 || number(f[3], &r->gid) == -1 ||
	    f[4][0] != '/' || strlen(f[5]) > 1 ||
	    strlen(f[6]) + strlen(ext_rest) > ADDR_BYTES_MAX)
		return -1;
	strcpy(r->user, f[1]);
	strcpy(r->home, f[4]);
	strcpy(r->dash, f[5]);
	snprintf(r->ext, sizeof r->ext, "%s%s", f[6], ext_rest);
	r->source = SRC_ASSIGN;
	return 0;
}

/* users/assign: 1 matched, 0 not, ROUTE_CONFIG on trouble. */
static int
assign_lookup(struct route *r)
{
	char *data = NULL, *p, *end;
	char key[ADDR_BYTES_MAX + 1];
	size_t len = 0, bestlen = 0, lineno = 0;
	char *best[7] = { 0 };
	const char *bestrest = "";
	int found = 0, r0;

	r0 = kept_read(&kept_assign, &data, &len);
	if (r0 < 0)
		return config_error("users/assign");
	if (r0 == 0)
		return 0;
	snprintf(key, sizeof key, "%s", r->local);
	lower(key);
	for (p = data, end = data + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line = p, *f[7];
		size_t kl;

		p = nl != NULL ? nl + 1 : end;
		if (nl != NULL)
			*nl = '\0';
		lineno++;
		if (strcmp(line, ".") == 0)
			break;
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((line[0] != '=' && line[0] != '+') ||
		    !split_assign(line + 1, f)) {
			snprintf(route_error, sizeof route_error,
			    "users/assign:%zu: malformed line", lineno);
			free(data);
			return ROUTE_CONFIG;
		}
		lower(f[0]);
		kl = strlen(f[0]);
		if (line[0] == '=' && strcmp(f[0], key) == 0) {
			/* an exact line beats every prefix line */
			memcpy(best, f, sizeof best);
			bestrest = "";
			found = 2;
			break;
		}
		if (line[0] == '+' && strncmp(f[0], key, kl) == 0 &&
		    (found == 0 || kl > bestlen)) {
			memcpy(best, f, sizeof best);
			bestlen = kl;
			bestrest = r->local + kl;
			found = 1;
		}
	}
	if (found && fill(r, best, bestrest) == -1) {
		snprintf(route_error, sizeof route_error,
		    "users/assign: malformed entry for %s", best[0]);
		free(data);
		return ROUTE_CONFIG;
	}
	/* an exact match keeps going until "." in qmail; first one wins here */
	free(data);
	return found ? 1 : 0;
}

/* The system user database, qmail-getpw style: 1 matched, 0 not. */
static int
passwd_lookup(struct route *r)
{
	char name[ADDR_BYTES_MAX + 1];
	size_t n;

	snprintf(name, sizeof name, "%s", r->local);
	lower(name);
	n = strlen(name);
	for (;;) {
		struct passwd *pw;
		struct stat st;

		name[n] = '\0';
		if (n > 0 && n <= USER_BYTES_MAX && strchr(name, '/') == NULL) {
			errno = 0;
			pw = getpwnam(name);
			if (pw == NULL && errno != 0 && errno != ENOENT &&
			    errno != ESRCH)
				return config_error("the user database");
			if (pw != NULL && pw->pw_uid != 0 &&
			    stat(pw->pw_dir, &st) == 0 &&
			    st.st_uid == pw->pw_uid &&
			    strlen(pw->pw_dir) < sizeof r->home) {
				snprintf(r->user, sizeof r->user, "%s",
				    pw->pw_name);
				r->uid = pw->pw_uid;
				r->gid = pw->pw_gid;
				strcpy(r->home, pw->pw_dir);
				if (r->local[n] == '-') {
					strcpy(r->dash, "-");
					snprintf(r->ext, sizeof r->ext, "%s",
					    r->local + n + 1);
				} else {
					r->dash[0] = '\0';
					r->ext[0] = '\0';
				}
				r->source = SRC_PASSWD;
				return 1;
			}
		}
		/* cut at the last '-' */
		while (n > 0 && name[n - 1] != '-')
			n--;
		if (n == 0)
			return 0;
		n--;
	}
}

static int
alias_route(struct route *r)
{
	if (root_path(r->home, sizeof r->home, "alias") == -1)
		return config_error("alias");
	strcpy(r->user, "alias");
	if (installed_mode()) {
		struct passwd *pw = getpwnam("alias");

		if (pw == NULL) {
			snprintf(route_error, sizeof route_error,
			    "the alias user does not exist");
			return ROUTE_CONFIG;
		}
		r->uid = pw->pw_uid;
		r->gid = pw->pw_gid;
	} else {
		r->uid = getuid();
		r->gid = getgid();
	}
	if (strncasecmp(r->local, "alias-", 6) == 0) {
		strcpy(r->dash, "-");
		snprintf(r->ext, sizeof r->ext, "%s", r->local + 6);
	} else if (strcasecmp(r->local, "alias") == 0) {
		r->dash[0] = '\0';
		r->ext[0] = '\0';
	} else {
		strcpy(r->dash, "-");
		snprintf(r->ext, sizeof r->ext, "%s", r->local);
	}
	r->source = SRC_ALIAS;
	return ROUTE_OK;
}

int
route_lookup(const char *addr, struct route *r)
{
	char prepend[ADDR_BYTES_MAX + 1];
	const char *at = strrchr(addr, '@');
	size_t ll;
	int k;

	memset(r, 0, sizeof *r);
	route_error[0] = '\0';
	if (at == NULL || at == addr || strlen(at + 1) > DOMAIN_BYTES_MAX ||
	    strlen(addr) > ADDR_BYTES_MAX || !is_clean(addr, strlen(addr))) {
		snprintf(route_error, sizeof route_error, "malformed address");
		return ROUTE_BADADDR;
	}
	ll = (size_t)(at - addr);
	strcpy(r->domain, at + 1);
	lower(r->domain);
	k = is_local_domain(r->domain);
	if (k < 0)
		return config_error("control/locals");
	if (k) {
		memcpy(r->local, addr, ll);
		r->local[ll] = '\0';
	} else {
		k = virtual_prepend(r->domain, prepend, sizeof prepend);
		if (k < 0)
			return config_error("control/virtualdomains");
		if (k == 0) {
			r->kind = ROUTE_REMOTE;
			return ROUTE_OK;
		}
		if (strlen(prepend) + 1 + ll > ADDR_BYTES_MAX) {
			snprintf(route_error, sizeof route_error,
			    "address too long");
			return ROUTE_BADADDR;
		}
		{
			size_t pl = strlen(prepend);

			memcpy(r->local, prepend, pl);
			r->local[pl] = '-';
			memcpy(r->local + pl + 1, addr, ll);
			r->local[pl + 1 + ll] = '\0';
		}
	}
	r->kind = ROUTE_LOCAL;
	k = assign_lookup(r);
	if (k < 0)
		return k;
	if (k > 0)
		return ROUTE_OK;
	if (installed_mode()) {
		k = passwd_lookup(r);
		if (k < 0)
			return k;
		if (k > 0)
			return ROUTE_OK;
	}
	return alias_route(r);
}
