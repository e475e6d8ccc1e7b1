/*
 * nonce.c: the target's state directory: one file per spent token
 * nonce (O_EXCL under a flock, expired ones pruned) and the list sequence.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pvt/pvt.h"

#define NONCE_NAME_LEN (2 * PVT_NONCE_LEN)

/* Opens dir (made 0700 if missing) after checking who may write to it. */
static int
cache_open(const char *dir, int create)
{
	struct stat st;
	int fd;

	if (create && mkdir(dir, 0700) != 0 && errno != EEXIST)
		return errno == EACCES ? PV_ERR_PERM : PV_ERR_IO;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? PV_ERR_NOT_FOUND
		    : errno == EACCES  ? PV_ERR_PERM
				       : PV_ERR_IO;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return PV_ERR_IO;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		close(fd);
		return PV_ERR_PERM;
	}
	return fd;
}

static int
nonce_name(const uint8_t nonce[PVT_NONCE_LEN], char name[NONCE_NAME_LEN + 1])
{
	return pv_hex_encode(nonce, PVT_NONCE_LEN, name, NONCE_NAME_LEN + 1);
}

static int
is_nonce_name(const char *s)
{
	size_t i;

	for (i = 0; i < NONCE_NAME_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return s[NONCE_NAME_LEN] == '\0';
}

/* Removes entries whose token cannot verify any more; counts the rest. */
static int
cache_prune(int dfd, int64_t now, size_t *live)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	*live = 0;
	if ((fd = dup(dfd)) == -1)
		return PV_ERR_IO;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return PV_ERR_IO;
	}
	/* readdir on a DIR of our own is safe; readdir_r is deprecated. */
	/* cppcheck-suppress readdirCalled */
	while ((de = readdir(d)) != NULL) {
		if (!is_nonce_name(de->d_name))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue; /* gone meanwhile */
		if ((int64_t)st.st_mtime + PVT_SKEW_MAX < now) {
			(void)unlinkat(dfd, de->d_name, 0);
			continue;
		}
		(*live)++;
	}
	closedir(d);
	return 0;
}

int
pvt_nonce_claim(const char *dir, const uint8_t nonce[PVT_NONCE_LEN],
    int64_t not_after, int64_t now, enum pvt_reason *why)
{
	char name[NONCE_NAME_LEN + 1];
	struct timespec ts[2];
	size_t live = 0;
	int dfd, fd = -1, r = PV_ERR_INTERNAL;

	*why = PVT_E_CACHE;
	if ((dfd = cache_open(dir, 1)) < 0)
		return dfd;
	if (flock(dfd, LOCK_EX) != 0) {
		r = PV_ERR_IO;
		goto out;
	}
	if ((r = cache_prune(dfd, now, &live)) != 0)
		goto out;
	if (live >= PVT_NONCE_CACHE_MAX) {
		r = PV_DENY;
		goto out;
	}
	if ((r = nonce_name(nonce, name)) != 0)
		goto out;
	fd = openat(dfd, name,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		if (errno == EEXIST) {
			*why = PVT_E_REPLAY;
			r = PV_DENY;
		} else {
			r = PV_ERR_IO;
		}
		goto out;
	}
	/* mtime = not_after: pruning needs no reads. */
	ts[0].tv_sec = ts[1].tv_sec = (time_t)not_after;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (futimens(fd, ts) != 0 || fsync(fd) != 0 || fsync(dfd) != 0) {
		(void)unlinkat(dfd, name, 0);
		r = PV_ERR_IO;
		goto out;
	}
	*why = PVT_OK;
	r = PV_ALLOW;
out:
	if (fd != -1)
		close(fd);
	close(dfd); /* drops the lock */
	return r;
}

int
pvt_nonce_seen(const char *dir, const uint8_t nonce[PVT_NONCE_LEN])
{
	char name[NONCE_NAME_LEN + 1];
	struct stat st;
	int dfd, r;

	if ((dfd = cache_open(dir, 0)) < 0)
		return dfd;
	if ((r = nonce_name(nonce, name)) == 0) {
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			r = S_ISREG(st.st_mode) ? PV_ALLOW : PV_DENY;
		else
			r = errno == ENOENT ? PV_DENY : PV_ERR_IO;
	}
	close(dfd);
	return r;
}

#define SEQ_FILE "revlist.seq"
#define SEQ_TMP "revlist.seq.tmp"

static int
seq_read(int dfd, uint64_t *seen, int *have)
{
	char buf[32];
	ssize_t n;
	int fd;

	*seen = 0;
	*have = 0;
	if ((fd = openat(dfd, SEQ_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1)
		return errno == ENOENT ? 0 : PV_ERR_IO;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return PV_ERR_INVALID;
	buf[n] = '\0';
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	if (pv_parse_u64(buf, 0, UINT64_MAX, seen) != 0)
		return PV_ERR_INVALID;
	*have = 1;
	return 0;
}

static int
seq_write(int dfd, uint64_t seq)
{
	char buf[32];
	int fd, n, r = PV_ERR_IO;

	n = snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)seq);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return PV_ERR_INTERNAL;
	(void)unlinkat(dfd, SEQ_TMP, 0);
	fd = openat(dfd, SEQ_TMP,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return PV_ERR_IO;
	if (pv_write_all(fd, buf, (size_t)n) == 0 && fsync(fd) == 0)
		r = 0;
	if (close(fd) != 0)
		r = PV_ERR_IO;
	if (r == 0 &&
	    (renameat(dfd, SEQ_TMP, dfd, SEQ_FILE) != 0 || fsync(dfd) != 0))
		r = PV_ERR_IO;
	if (r != 0)
		(void)unlinkat(dfd, SEQ_TMP, 0);
	return r;
}

int
pvt_revlist_seq_check(const char *dir, uint64_t seq, uint64_t *seen)
{
	int dfd, have = 0, r;

	*seen = 0;
	if ((dfd = cache_open(dir, 1)) < 0)
		return dfd;
	if (flock(dfd, LOCK_EX) != 0) {
		r = PV_ERR_IO;
		goto out;
	}
	if ((r = seq_read(dfd, seen, &have)) != 0)
		goto out;
	if (have && seq < *seen) {
		r = PV_DENY;
		goto out;
	}
	if ((!have || seq > *seen) && (r = seq_write(dfd, seq)) != 0)
		goto out;
	r = PV_ALLOW;
out:
	close(dfd);
	return r;
}
