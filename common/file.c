/*
 * file.c: whole-file reads with a size cap, new files created exclusively
 * (O_EXCL|O_NOFOLLOW, mode given, fsynced with their directory), and
 * writes that either finish or report the error.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/common.h"

int
pv_file_read(const char *path, size_t max, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *d = NULL;
	size_t have = 0;
	ssize_t n;
	int fd, r = PV_ERR_IO;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return errno == ENOENT ? PV_ERR_NOT_FOUND
		    : errno == EACCES  ? PV_ERR_PERM
				       : PV_ERR_IO;
	if (fstat(fd, &st) == -1)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		r = PV_ERR_INVALID;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = PV_ERR_LIMIT;
		goto out;
	}
	if ((d = malloc((size_t)st.st_size + 1)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	/* The file may change under us: read to EOF, never past the cap. */
	for (;;) {
		if (have == (size_t)st.st_size) {
			uint8_t extra;

			n = read(fd, &extra, 1);
			if (n == 0)
				break;
			if (n < 0 && errno == EINTR)
				continue;
			r = n < 0 ? PV_ERR_IO : PV_ERR_LIMIT; /* grew */
			goto out;
		}
		n = read(fd, d + have, (size_t)st.st_size - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break; /* shrank */
		have += (size_t)n;
	}
	d[have] = '\0';
	*out = d;
	*len = have;
	d = NULL;
	r = 0;
out:
	if (d != NULL)
		pv_secret_free(d, (size_t)st.st_size + 1);
	close(fd);
	return r;
}

int
pv_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return PV_ERR_IO;
		}
		if (n == 0)
			return PV_ERR_IO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
pv_fsync_parent(const char *path)
{
	char *copy, *dir;
	int fd, r = PV_ERR_IO;

	if ((copy = strdup(path)) == NULL)
		return PV_ERR_ALLOC;
	dir = dirname(copy);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		if (fsync(fd) == 0)
			r = 0;
		close(fd);
	}
	free(copy);
	return r;
}

int
pv_file_write_new(const char *path, mode_t mode, const void *data, size_t len)
{
	int fd;

	fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd == -1)
		return errno == EEXIST ? PV_ERR_EXISTS
		    : errno == EACCES  ? PV_ERR_PERM
				       : PV_ERR_IO;
	/* The umask must not widen or narrow what the caller asked for. */
	if (fchmod(fd, mode) != 0 || pv_write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		close(fd);
		(void)unlink(path);
		return PV_ERR_IO;
	}
	if (close(fd) != 0) {
		(void)unlink(path);
		return PV_ERR_IO;
	}
	return pv_fsync_parent(path);
}

int
pv_file_replace(const char *path, mode_t mode, const void *data, size_t len)
{
	char *tmp = NULL;
	int fd, r;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return PV_ERR_ALLOC;
	if ((fd = mkstemp(tmp)) == -1) {
		r = errno == EACCES ? PV_ERR_PERM : PV_ERR_IO;
		free(tmp);
		return r;
	}
	if (fchmod(fd, mode) != 0 || pv_write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		close(fd);
		goto fail;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0)
		goto fail;
	free(tmp);
	return pv_fsync_parent(path);
fail:
	(void)unlink(tmp);
	free(tmp);
	return PV_ERR_IO;
}

int
pv_file_sha256(const char *path, char hex[65])
{
	uint8_t buf[65536], md[32];
	EVP_MD_CTX *ctx;
	ssize_t n;
	int fd, r = PV_ERR_IO;

	hex[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return PV_ERR_IO;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
	}
	if (n == 0 && EVP_DigestFinal_ex(ctx, md, NULL) == 1)
		r = pv_hex_encode(md, sizeof(md), hex, 65);
out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return r;
}

/* Closes the descriptors of /proc/self/fd whose target starts with prefix. */
static int
forget_fds(const char *prefix, size_t plen)
{
	char link[32], target[4096], *end;
	int fds[256], nfd = 0, n = 0, i, self;
	ssize_t len;
	DIR *d;
	struct dirent *e;
	long v;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return PV_ERR_IO;
	self = dirfd(d);
	/* collected first: closing while the directory is read moves it */
	/* a DIR of our own: readdir is safe (readdir_r is deprecated) */
	// cppcheck-suppress readdirCalled
	while ((e = readdir(d)) != NULL &&
	    nfd < (int)(sizeof(fds) / sizeof(fds[0]))) {
		errno = 0;
		v = strtol(e->d_name, &end, 10);
		if (errno != 0 || end == e->d_name || *end != '\0' || v < 0 ||
		    v > INT_MAX || v == self)
			continue;
		(void)snprintf(link, sizeof(link), "/proc/self/fd/%ld", v);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < (ssize_t)plen)
			continue;
		target[len] = '\0';
		if (strncmp(target, prefix, plen) == 0)
			fds[nfd++] = (int)v;
	}
	(void)closedir(d);
	for (i = 0; i < nfd; i++)
		if (close(fds[i]) == 0)
			n++;
	return n;
}

/* "lo-hi perms offset dev inode   path": the range, when path fits. */
static int
forget_map_line(const char *line, const char *prefix, size_t plen,
    uintptr_t *lo, uintptr_t *hi)
{
	const char *path = strchr(line, '/');
	char *end;
	unsigned long long a, b;

	if (path == NULL || strncmp(path, prefix, plen) != 0)
		return 0;
	errno = 0;
	a = strtoull(line, &end, 16);
	if (errno != 0 || end == line || *end != '-')
		return 0;
	b = strtoull(end + 1, &end, 16);
	if (errno != 0 || *end != ' ' || b <= a || b > UINTPTR_MAX)
		return 0;
	*lo = (uintptr_t)a;
	*hi = (uintptr_t)b;
	return 1;
}

int
pv_file_forget(const char *prefix)
{
	struct {
		uintptr_t lo, hi;
	} m[64];
	size_t plen = strlen(prefix), cap = 0, nm = 0, i;
	char *line = NULL;
	FILE *f;
	int n;

	if (plen == 0 || prefix[0] != '/')
		return PV_ERR_INVALID;
	if ((n = forget_fds(prefix, plen)) < 0)
		return n;
	/* collected first: unmapping while the file is read moves it */
	if ((f = fopen("/proc/self/maps", "re")) == NULL)
		return PV_ERR_IO;
	while (nm < sizeof(m) / sizeof(m[0]) && getline(&line, &cap, f) > 0)
		nm += (size_t)forget_map_line(
		    line, prefix, plen, &m[nm].lo, &m[nm].hi);
	free(line);
	(void)fclose(f);
	for (i = 0; i < nm; i++)
		/* an address /proc gave: the only way to name it */
		// NOLINTNEXTLINE(performance-no-int-to-ptr)
		if (munmap((void *)m[i].lo, m[i].hi - m[i].lo) == 0)
			n++;
	return n;
}

/*
 * One component of a path to be trusted: a directory (or, written, a
 * link) owned by root or uid, that no group or other can write, unless it
 * is sticky and not the last: then the next component, if there, must be
 * owned by root or uid (others cannot rename or remove it).  "" if good,
 * else why in err.
 */
static int
path_component(const char *path, size_t end, size_t total, uid_t uid, char *err,
    size_t errlen)
{
	char p[PATH_MAX], next[PATH_MAX];
	struct stat sb, nb;
	size_t n;

	(void)snprintf(p, sizeof(p), "%.*s", end == 0 ? 1 : (int)end, path);
	if (lstat(p, &sb) != 0) {
		if (errno == ENOENT)
			return 1; /* the rest is made as ours */
		(void)snprintf(err, errlen, "%s: %s", p, strerror(errno));
		return PV_ERR_IO;
	}
	if (S_ISLNK(sb.st_mode))
		return 0; /* its directory is checked; the target walked */
	if (!S_ISDIR(sb.st_mode)) {
		(void)snprintf(err, errlen, "%s is not a directory", p);
		return PV_ERR_PERM;
	}
	if (sb.st_uid != 0 && sb.st_uid != uid) {
		(void)snprintf(err, errlen, "%s is owned by uid %lu", p,
		    (unsigned long)sb.st_uid);
		return PV_ERR_PERM;
	}
	if ((sb.st_mode & (S_IWGRP | S_IWOTH)) == 0)
		return 0;
	if ((sb.st_mode & S_ISVTX) == 0 || end >= total) {
		(void)snprintf(err, errlen, "%s is writable by %s%s", p,
		    (sb.st_mode & S_IWGRP) != 0 ? "group" : "others",
		    (sb.st_mode & S_ISVTX) != 0 ? " (sticky, but the last)"
						: "");
		return PV_ERR_PERM;
	}
	/* sticky: the next component must be ours (or root's) */
	for (n = end + 1; n < total && path[n] != '/'; n++)
		;
	(void)snprintf(next, sizeof(next), "%.*s", (int)n, path);
	if (lstat(next, &nb) != 0) {
		if (errno == ENOENT)
			return 0;
		(void)snprintf(err, errlen, "%s: %s", next, strerror(errno));
		return PV_ERR_IO;
	}
	if (nb.st_uid != 0 && nb.st_uid != uid) {
		(void)snprintf(err, errlen,
		    "%s is owned by uid %lu in sticky %s", next,
		    (unsigned long)nb.st_uid, p);
		return PV_ERR_PERM;
	}
	return 0;
}

/* Walks path's components from "/" down; *existing: how much exists. */
static int
path_walk(
    const char *path, uid_t uid, size_t *existing, char *err, size_t errlen)
{
	size_t total = strlen(path), end = 0;
	int r;

	*existing = 0;
	while (total > 1 && path[total - 1] == '/')
		total--;
	for (;;) {
		if ((r = path_component(path, end, total, uid, err, errlen)) <
		    0)
			return r;
		if (r == 1)
			return 0;
		*existing = end == 0 ? 1 : end;
		if (end >= total)
			return 0;
		for (end++; end < total && path[end] != '/'; end++)
			;
	}
}

int
pv_path_trusted(const char *path, uid_t uid, char *err, size_t errlen)
{
	char pre[PATH_MAX], real[PATH_MAX];
	size_t have;
	int r;

	err[0] = '\0';
	if (path == NULL || path[0] != '/' || strlen(path) >= sizeof(pre)) {
		(void)snprintf(err, errlen, "not an absolute path");
		return PV_ERR_INVALID;
	}
	if ((r = path_walk(path, uid, &have, err, errlen)) != 0)
		return r;
	/* a link on the way: the directories it leads to must hold too */
	(void)snprintf(pre, sizeof(pre), "%.*s", (int)have, path);
	if (realpath(pre, real) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", pre, strerror(errno));
		return PV_ERR_IO;
	}
	if (strcmp(real, pre) != 0 &&
	    (r = path_walk(real, uid, &have, err, errlen)) != 0)
		return r;
	return 0;
}
