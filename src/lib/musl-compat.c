/*
 * musl-compat - what a library archive built for glibc asks of the C
 * library beyond the standard names, for the stages linked with musl
 * (Makefile, MUSL).  tinycdb's libcdb.a calls glibc's old stat entry
 * point; on x86-64 both libraries use the kernel's struct stat.
 */
#include <sys/stat.h>

int __fxstat64(int ver, int fd, struct stat *st);

int
__fxstat64(int ver, int fd, struct stat *st)
{
	(void)ver;
	return fstat(fd, st);
}
