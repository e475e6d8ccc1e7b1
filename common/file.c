/*
 * file.c: whole-file reads with a size cap, new files created exclusively
 * (O_EXCL|O_NOFOLLOW, mode given, fsynced with their directory), and
 * writes that either finish or report the error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
