/*
 * recpath.c: where a session's recording goes, RecordingDirectory/YYYY/MM/
 * ID.pvr, its directories made and checked, and the free space it needs.
 * The monitor makes every recording file; shared with the session side's
 * recorder for a provostd without privilege separation (tests, tools).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "broker/broker.h"

/*
 * One directory of the recording path: made 0700 if missing, else it
 * must be a real directory (not a symlink) of this process's user that
 * nobody else can write: whoever could write it could swap the year or
 * month for a link and have recordings made elsewhere, or remove them.
 */
static int
mkdir_one(const char *path)
{
	struct stat sb;

	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		pv_error("%s: cannot create: %s", path, strerror(errno));
		return PV_ERR_IO;
	}
	if (lstat(path, &sb) != 0) {
		pv_error("%s: %s", path, strerror(errno));
		return PV_ERR_IO;
	}
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() ||
	    (sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		pv_error("%s: %s: refusing to record under it (new sessions "
			 "are refused)",
		    path,
		    !S_ISDIR(sb.st_mode) ? "not a directory (a link?)"
			: sb.st_uid != geteuid()
			? "owned by another user"
			: "writable by group or others");
		return PV_ERR_PERM;
	}
	return 0;
}

/*
 * Fail closed before a session starts: below RecordingMinFree free bytes
 * (or with no free inode) in the recording directory, no new recording,
 * so no new session, until space returns.  PV_ERR_LIMIT says so.
 */
static int
rr_space_check(const struct pv_config *conf, const char *dir)
{
	struct statvfs sv;
	uint64_t avail;

	if (conf->recording_min_free == 0)
		return 0;
	if (statvfs(dir, &sv) != 0) {
		pv_error("%s: statvfs: %s", dir, strerror(errno));
		return PV_ERR_IO;
	}
	avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	if (avail < conf->recording_min_free || sv.f_favail == 0) {
		pv_error("%s: %llu bytes free (RecordingMinFree %llu)%s: new "
			 "sessions refused until space returns",
		    dir, (unsigned long long)avail,
		    (unsigned long long)conf->recording_min_free,
		    sv.f_favail == 0 ? ", no free inode" : "");
		return PV_ERR_LIMIT;
	}
	return 0;
}

int
broker_recorder_rec_check(
    const struct pv_config *conf, char *err, size_t errlen)
{
	char why[PATH_MAX + 128];
	int e;

	err[0] = '\0';
	if ((e = pv_path_trusted(
		 conf->recording_dir, geteuid(), why, sizeof(why))) != 0)
		(void)snprintf(err, errlen, "RecordingDirectory %s: %s",
		    conf->recording_dir, why);
	return e;
}

int
broker_recorder_rec_path(const struct pv_config *conf, const char *session_id,
    char *path, size_t pathlen)
{
	struct tm tm;
	time_t now = time(NULL);
	char dir[4096], why[PATH_MAX + 256];
	int n, e;

	if (!pv_uuid_valid(session_id) || gmtime_r(&now, &tm) == NULL)
		return PV_ERR_INVALID;
	n = snprintf(dir, sizeof(dir), "%s/%04d", conf->recording_dir,
	    tm.tm_year + 1900);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return PV_ERR_RANGE;
	if ((e = broker_recorder_rec_check(conf, why, sizeof(why))) != 0) {
		pv_error("%s (new sessions are refused)", why);
		return e;
	}
	if ((e = mkdir_one(conf->recording_dir)) != 0 ||
	    (e = mkdir_one(dir)) != 0)
		return e;
	n = snprintf(dir, sizeof(dir), "%s/%04d/%02d", conf->recording_dir,
	    tm.tm_year + 1900, tm.tm_mon + 1);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return PV_ERR_RANGE;
	if ((e = mkdir_one(dir)) != 0)
		return e;
	if ((e = rr_space_check(conf, dir)) != 0)
		return e;
	n = snprintf(path, pathlen, "%s/%s.pvr", dir, session_id);
	return n >= 0 && (size_t)n < pathlen ? 0 : PV_ERR_RANGE;
}
