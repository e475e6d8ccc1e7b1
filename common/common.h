/*
 * common.h: the small pieces every part of provost shares: errors, logging,
 * the config tokenizer, durations, numbers, buffers, secrets, ids, files.
 */
#ifndef PROVOST_COMMON_H
#define PROVOST_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/types.h>

/*
 * Errors: one negative space for the whole project (OpenSSH's ssherr.h).
 * 0 is success.  Translate errno, OpenSSL, SQLite and libssh errors into
 * these where they occur, and log the detail there once.
 */
#define PV_OK 0
#define PV_ERR_INTERNAL -1   /* a bug or an impossible state */
#define PV_ERR_ALLOC -2      /* out of memory */
#define PV_ERR_INVALID -3    /* malformed input */
#define PV_ERR_RANGE -4      /* a number or length out of its range */
#define PV_ERR_LIMIT -5      /* a size limit was reached */
#define PV_ERR_INCOMPLETE -6 /* fewer bytes than the message needs */
#define PV_ERR_IO -7         /* read, write or fsync failed */
#define PV_ERR_NOT_FOUND -8
#define PV_ERR_EXISTS -9
#define PV_ERR_PERM -10     /* permission or ownership refused */
#define PV_ERR_CRYPTO -11   /* a crypto library call failed */
#define PV_ERR_AUTH -12     /* authentication or integrity check failed */
#define PV_ERR_STORE -13    /* the governance store failed */
#define PV_ERR_PROTOCOL -14 /* a peer broke the protocol */
#define PV_ERR_TIMEOUT -15
#define PV_ERR_DENIED -16 /* refused by policy */
#define PV_ERR_CLOSED -17 /* the peer went away */
#define PV_ERR_CONFIG -18 /* configuration is wrong */
#define PV_ERR_UNSUPPORTED -19
#define PV_ERR_MIN_ -19 /* the lowest code; keep in step */

/* Decisions are tri-state: callers test == PV_ALLOW so that errors deny. */
#define PV_ALLOW 1
#define PV_DENY 0

const char *pv_err_str(int r);

/*
 * Logging: one line per event, to stderr or syslog.  Control bytes in a
 * message are escaped (\xNN) so that input cannot forge log lines, and a
 * line is cut at PV_LOG_LINE_MAX.  Never pass a secret to these.
 */
enum pv_log_level {
	PV_LOG_ERROR = 0,
	PV_LOG_WARN,
	PV_LOG_INFO,
	PV_LOG_VERBOSE,
	PV_LOG_DEBUG,
};
#define PV_LOG_LINE_MAX 1024

enum pv_log_dest {
	PV_LOG_STDERR = 0,
	PV_LOG_SYSLOG,
};

typedef void (*pv_log_sink)(
    void *ctx, enum pv_log_level level, const char *line);

void pv_log_init(
    const char *ident, enum pv_log_dest dest, enum pv_log_level level);
void pv_log_set_level(enum pv_log_level level);
enum pv_log_level pv_log_get_level(void);
/* Redirects finished lines (after escaping) to sink; NULL restores. */
void pv_log_set_sink(pv_log_sink sink, void *ctx);
int pv_log_level_parse(const char *s, enum pv_log_level *out);
const char *pv_log_level_name(enum pv_log_level level);
void pv_log(enum pv_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pv_vlog(enum pv_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Escapes src into dst (always NUL-terminated); returns PV_ERR_LIMIT if cut. */
int pv_log_escape(char *dst, size_t dstlen, const char *src);
/* Control bytes (below 0x20, 0x7f) in s become '?', in place. */
void pv_str_printable(char *s);

#define pv_error(...) pv_log(PV_LOG_ERROR, __VA_ARGS__)
#define pv_warn(...) pv_log(PV_LOG_WARN, __VA_ARGS__)
#define pv_info(...) pv_log(PV_LOG_INFO, __VA_ARGS__)
#define pv_verbose(...) pv_log(PV_LOG_VERBOSE, __VA_ARGS__)
#define pv_debug(...) pv_log(PV_LOG_DEBUG, __VA_ARGS__)

/*
 * Strict numbers: decimal digits only, no sign, no spaces, no trailing
 * bytes, within [min, max].  PV_ERR_INVALID or PV_ERR_RANGE otherwise.
 */
/*
 * A name as the store keeps them (logins, targets, providers, groups,
 * BrokerName, SandboxUser): 1..PV_NAME_MAX of [a-z0-9._-], no leading '.'
 * or '-'.  1 or 0.
 */
#define PV_NAME_MAX 64
int pv_name_valid(const char *s);
int pv_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int pv_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* An optional leading '-', then as above. */
int pv_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/*
 * Byte sizes: digits, then optionally K, M, G or T (binary: 1K = 1024,
 * either case), at most PV_SIZE_MAX bytes.  "0" is zero.
 */
#define PV_SIZE_MAX (1ULL << 50)
int pv_size_parse(const char *s, uint64_t *bytes);

/*
 * Durations: "90", "90s", "2m", "4h", "1d", "1w" and sums like "1h30m"
 * (units s m h d w, either case), at most PV_DURATION_MAX seconds.
 */
#define PV_DURATION_MAX (10ULL * 366 * 86400)
int pv_duration_parse(const char *s, uint64_t *secs);
/* "1h30m", "45s", "0s"; PV_ERR_LIMIT if buf is too small. */
int pv_duration_format(uint64_t secs, char *buf, size_t buflen);

/*
 * The config tokenizer shared by provostd.conf and policy.conf: one
 * "Keyword arg ..." per line, keywords case-insensitive, '#' starts a
 * comment at the start of a token, double quotes group (with \" and \\
 * inside).  Every error is one line "FILE:LINE: what".
 */
#define PV_CONF_MAX_ARGS 32
#define PV_CONF_MAX_LINE 4096
#define PV_CONF_MAX_FILE (1024 * 1024)
#define PV_CONF_ERR_MAX 512

struct pv_conf_line {
	const char *file;
	unsigned int lineno;
	int indented;        /* the line began with white space */
	const char *keyword; /* as written */
	int nargs;
	char *args[PV_CONF_MAX_ARGS];
};

/* A handler writes only "what" into err; the tokenizer adds FILE:LINE. */
typedef int (*pv_conf_handler)(
    void *ctx, const struct pv_conf_line *line, char *err, size_t errlen);

struct pv_conf_keyword {
	const char *name;
	int min_args;
	int max_args; /* -1: up to PV_CONF_MAX_ARGS */
	pv_conf_handler handler;
};

/* table ends with an entry whose name is NULL. */
int pv_conf_parse_file(const char *path, const struct pv_conf_keyword *table,
    void *ctx, char *err, size_t errlen);
int pv_conf_parse_mem(const char *name, const char *data, size_t len,
    const struct pv_conf_keyword *table, void *ctx, char *err, size_t errlen);
/* "yes"/"no" for a handler. */
int pv_conf_yesno(const char *s, int *out);

/*
 * Buffers: a growable byte buffer with a read offset (OpenSSH's sshbuf).
 * Untrusted bytes are read only through the get functions, which check
 * every length.  Integers are big-endian; strings are u32 length + bytes.
 * pv_buf_free wipes the contents.
 */
#define PV_BUF_DEFAULT_MAX (64UL * 1024 * 1024)
struct pv_buf;

struct pv_buf *pv_buf_new(size_t max);
/* A read-only view of data (not copied, not freed; must outlive the buf). */
struct pv_buf *pv_buf_from(const void *data, size_t len);
void pv_buf_free(struct pv_buf *b);
void pv_buf_reset(struct pv_buf *b);
size_t pv_buf_len(const struct pv_buf *b);
const uint8_t *pv_buf_ptr(const struct pv_buf *b);
/* Makes room for len bytes at the end and returns where to write them. */
int pv_buf_reserve(struct pv_buf *b, size_t len, uint8_t **dst);
int pv_buf_put(struct pv_buf *b, const void *data, size_t len);
int pv_buf_put_u8(struct pv_buf *b, uint8_t v);
int pv_buf_put_u16(struct pv_buf *b, uint16_t v);
int pv_buf_put_u32(struct pv_buf *b, uint32_t v);
int pv_buf_put_u64(struct pv_buf *b, uint64_t v);
int pv_buf_put_string(struct pv_buf *b, const void *data, size_t len);
int pv_buf_put_cstring(struct pv_buf *b, const char *s);
int pv_buf_putf(struct pv_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int pv_buf_consume(struct pv_buf *b, size_t len);
int pv_buf_consume_end(struct pv_buf *b, size_t len);
int pv_buf_get(struct pv_buf *b, void *out, size_t len);
int pv_buf_get_u8(struct pv_buf *b, uint8_t *v);
int pv_buf_get_u16(struct pv_buf *b, uint16_t *v);
int pv_buf_get_u32(struct pv_buf *b, uint32_t *v);
int pv_buf_get_u64(struct pv_buf *b, uint64_t *v);
/* Points into the buffer; valid until the next change to b. */
int pv_buf_get_string_direct(struct pv_buf *b, const uint8_t **p, size_t *len);
int pv_buf_get_string(struct pv_buf *b, uint8_t **out, size_t *len);
/* A string with no NUL inside, returned NUL-terminated. */
int pv_buf_get_cstring(struct pv_buf *b, char **out, size_t *len);
/* A NUL-terminated copy of the unread contents (PV_ERR_INVALID on NUL). */
int pv_buf_dup_cstring(const struct pv_buf *b, char **out);

/*
 * Secrets: freed with OPENSSL_cleanse first, compared in constant time.
 * PV_WIPE refuses a pointer at compile time (Linux-PAM's
 * pam_overwrite_array), so sizeof(pointer) bugs cannot happen.
 */
void pv_secret_free(void *p, size_t len);
void pv_secret_freestr(char *s);
void pv_secret_wipe(void *p, size_t len);
int pv_secret_equal(const void *a, const void *b, size_t len);
#define PV_IS_ARRAY(x) \
	(!__builtin_types_compatible_p(__typeof__(x), __typeof__(&(x)[0])))
#define PV_WIPE(x)                                                        \
	do {                                                              \
		_Static_assert(PV_IS_ARRAY(x), "PV_WIPE needs an array"); \
		pv_secret_wipe((x), sizeof(x));                           \
	} while (0)

/* Ids: random UUIDv4 from the OpenSSL RNG, lower case, 36 characters. */
#define PV_UUID_LEN 36
int pv_random_bytes(void *buf, size_t len);
int pv_uuid_new(char out[PV_UUID_LEN + 1]);
int pv_uuid_valid(const char *s);

/* Encodings: strict decoders (no spaces, canonical padding only). */
int pv_hex_encode(const void *data, size_t len, char *out, size_t outlen);
int pv_b64_encode(const void *data, size_t len, int url, char **out);
int pv_b64_decode(
    const char *s, size_t slen, int url, uint8_t **out, size_t *outlen);

/*
 * Files: whole reads with a size cap, new files created O_EXCL|O_NOFOLLOW
 * with the mode given, writes that finish or fail, and fsync of the
 * directory that holds a new file.
 */
int pv_file_read(const char *path, size_t max, uint8_t **out, size_t *len);
int pv_file_write_new(
    const char *path, mode_t mode, const void *data, size_t len);
int pv_write_all(int fd, const void *data, size_t len);
/*
 * Replaces path atomically: a temporary file beside it (mkstemp), written,
 * fsynced and given mode, renamed over path, the directory fsynced.  A
 * reader sees the old file or the new one, never a part.
 */
int pv_file_replace(
    const char *path, mode_t mode, const void *data, size_t len);
int pv_fsync_parent(const char *path);
/* The SHA-256 of a file's contents, as 64 hex digits. */
int pv_file_sha256(const char *path, char hex[65]);
/*
 * A forked process lets go of files it inherited and must never use:
 * every descriptor whose path starts with prefix is closed and every
 * mapping of such a file unmapped (read from /proc/self), without a read
 * or a write of the file itself.  The number of descriptors and mappings
 * let go, or a negative PV_ERR_* when /proc could not be read.
 */
int pv_file_forget(const char *prefix);

/*
 * A directory path to be trusted (OpenSSH's safe_path): every existing
 * component from "/" down, and of where a link on the way leads, is a
 * directory owned by root or uid that no group or other can write; a
 * sticky one (/tmp) is accepted when the next component is owned by root
 * or uid.  0, or PV_ERR_PERM (PV_ERR_IO, PV_ERR_INVALID) with the
 * component and why in err ("/srv is writable by group").
 */
int pv_path_trusted(const char *path, uid_t uid, char *err, size_t errlen);

/*
 * OpenSSH key formats for Ed25519 over OpenSSL EVP: PROTOCOL.key private
 * keys (unencrypted; a passphrase-protected key is PV_ERR_UNSUPPORTED),
 * "ssh-ed25519 BASE64 comment" lines, and SHA256 fingerprints as
 * ssh-keygen -l prints them.  Files are written O_EXCL: never overwritten.
 */
#define PV_ED25519_SIG_LEN 64
#define PV_SSHKEY_FP_MAX 64
int pv_sshkey_generate_ed25519(EVP_PKEY **out);
int pv_sshkey_save_private(
    const char *path, EVP_PKEY *key, const char *comment);
int pv_sshkey_parse_private(const uint8_t *text, size_t len, EVP_PKEY **out);
int pv_sshkey_load_private(const char *path, EVP_PKEY **out);
/* "ssh-ed25519 AAAA... comment" (no newline); free() the line. */
int pv_sshkey_public_line(EVP_PKEY *key, const char *comment, char **line);
int pv_sshkey_save_public(const char *path, EVP_PKEY *key, const char *comment);
int pv_sshkey_parse_public(const char *line, EVP_PKEY **out);
int pv_sshkey_load_public(const char *path, EVP_PKEY **out);
/* The SSH wire blob: string "ssh-ed25519", string key. */
int pv_sshkey_public_blob(EVP_PKEY *key, struct pv_buf *out);
int pv_sshkey_fingerprint(EVP_PKEY *key, char *out, size_t outlen);
/* The fingerprint of any "TYPE BASE64 [comment]" line (host keys). */
int pv_sshkey_fingerprint_line(const char *line, char *out, size_t outlen);
int pv_ed25519_sign(EVP_PKEY *key, const void *msg, size_t len,
    uint8_t sig[PV_ED25519_SIG_LEN]);
/* 0 if the signature verifies, PV_ERR_AUTH if not. */
int pv_ed25519_verify(EVP_PKEY *pub, const void *msg, size_t len,
    const uint8_t sig[PV_ED25519_SIG_LEN]);

/*
 * OpenSSH key revocation lists (PROTOCOL.krl): the certificate serials of
 * one CA and plain public keys (SSH wire blobs), written for sshd's
 * RevokedKeys and ssh-keygen -Q.  Sorted and without duplicates, so the
 * same set gives the same file; runs of serials become ranges.
 */
#define PV_KRL_KEY_MAX 16384
struct pv_krl;
struct pv_krl *pv_krl_new(void);
void pv_krl_free(struct pv_krl *k);
/* Serial 0 is PV_ERR_RANGE (sshd never revokes it). */
int pv_krl_add_serial(struct pv_krl *k, uint64_t serial);
int pv_krl_add_key(struct pv_krl *k, const uint8_t *blob, size_t len);
/* Distinct serials and keys held. */
size_t pv_krl_serials(struct pv_krl *k);
size_t pv_krl_keys(struct pv_krl *k);
/* The KRL for CA ca (its SSH wire public key) appended to out. */
int pv_krl_write(struct pv_krl *k, const uint8_t *ca, size_t calen,
    uint64_t version, uint64_t date, const char *comment, struct pv_buf *out);

/*
 * OpenSSH detached signatures (PROTOCOL.sshsig; Ed25519, SHA-512), as
 * `ssh-keygen -Y sign -n NS` writes them: *armored is malloc'd text.
 * verify: 0 and the signer's SSH wire public key (malloc'd) if the
 * signature over msg in namespace ns verifies; PV_ERR_INVALID (malformed,
 * another namespace) or PV_ERR_AUTH (a bad signature) otherwise.
 */
int pv_sshsig_sign(
    EVP_PKEY *key, const char *ns, const void *msg, size_t len, char **armored);
int pv_sshsig_verify(const char *armored, size_t alen, const char *ns,
    const void *msg, size_t len, uint8_t **pubblob, size_t *publen);

/* Time: CLOCK_MONOTONIC for deadlines, CLOCK_REALTIME for records. */
uint64_t pv_mono_ms(void);
int64_t pv_wall_ms(void);
/* Formats a UTC time as RFC 3339 "2026-11-27T20:45:49Z". */
int pv_time_format(int64_t unix_secs, char *buf, size_t buflen);
/*
 * Days as the policy's Hours and the contract plugin's Days take them:
 * "*", "Mon", "Mon-Fri", "Sat-Mon" (wraps), "Mon,Wed,Fri-Sun"; bit 0 is
 * Sunday.  0 or PV_ERR_INVALID.
 */
int pv_days_parse(const char *s, unsigned int *days);

/*
 * provostd.conf (DESIGN.md "Configuration"), common/config.c: every
 * keyword of the broker, parsed once with the tokenizer above so that
 * provostd and provostctl agree.  Unknown keywords are errors with
 * FILE:LINE.
 */
#define PV_CONFIG_MAX_LISTEN 16
#define PV_CONFIG_MAX_RECIPIENTS 16
#define PV_CONFIG_MAX_PLUGINS 16
#define PV_CONFIG_MIN_FREE_DEFAULT (64ULL << 20)
#define PV_CONFIG_MAX_HOOKS 32
/* an exposure kind of RotationHook, [a-z0-9-] (the store's STORE_KIND_MAX) */
#define PV_CONFIG_KIND_MAX 32
struct pv_config_hook {
	char *kind; /* an exposure kind */
	char *program;
};
struct pv_config_plugin {
	char *path;
	char *config; /* NULL if none */
};
struct pv_config {
	size_t nlisten;
	char *listen[PV_CONFIG_MAX_LISTEN];
	char *state_dir;
	char *store; /* "sqlite:PATH" */
	char *policy_file;
	char *recording_dir;
	/* RecordingMinFree: no new recording below this many free bytes */
	uint64_t recording_min_free;
	size_t nrecipients;
	char *recipients[PV_CONFIG_MAX_RECIPIENTS];
	uint64_t cert_lifetime; /* seconds */
	/* RekeyLimit on both legs: bytes (0 = libssh's default for the
	 * cipher), seconds (0 = none) */
	uint64_t rekey_data, rekey_time;
	char *control_socket;
	char *revocation_list; /* RevocationList: NULL = not kept */
	char *revoked_keys;    /* RevokedKeys (the KRL): NULL = not kept */
	char *exit_dir;        /* ExitDirectory: evidence bundles */
	size_t nhooks;         /* RotationHook KIND PROGRAM */
	struct pv_config_hook hooks[PV_CONFIG_MAX_HOOKS];
	uint64_t hook_timeout;    /* RotationHookTimeout, seconds */
	int exit_quarantine;      /* ExitSweep quarantine (else report) */
	int exit_on_contract_end; /* ExitOnContractEnd */
	char *sandbox_user;
	uint32_t max_sessions;
	uint64_t login_grace; /* seconds */
	uint32_t max_auth_tries;
	uint64_t mfa_grace;       /* seconds; 0 = a code every time */
	uint64_t store_staleness; /* seconds the store may be unreadable */
	/* BrokerName (default host-port), unique among a store's brokers */
	char *broker_name;
	uint64_t broker_lease; /* BrokerLease, seconds */
	int notify_watchers;   /* NotifyWatchers: the engineer is told */
	/* MaxStartups start:rate:full (unauthenticated connections) */
	uint32_t startups_begin, startups_rate, startups_full;
	uint32_t per_source_startups; /* unauthenticated, per address */
	/* PerSourcePenalty failures:duration: refuse an address after */
	uint32_t penalty_failures;
	uint64_t penalty_duration; /* seconds */
	size_t nplugins;
	struct pv_config_plugin plugins[PV_CONFIG_MAX_PLUGINS];
	int log_level; /* enum pv_log_level */
	/*
	 * KexAlgorithms, Ciphers, MACs, HostKeyAlgorithms: comma lists, NULL
	 * for provostd's own (the best this libssh has); checked against
	 * libssh by provostd.
	 */
	char *kex_algos, *ciphers, *macs, *hostkey_algos;
};
/* Defaults as documented. */
int pv_config_new(struct pv_config **out);
int pv_config_load_file(
    struct pv_config *c, const char *path, char *err, size_t errlen);
int pv_config_load_mem(struct pv_config *c, const char *name, const char *data,
    size_t len, char *err, size_t errlen);
/*
 * What store_open takes for Store: the SQLite file's path ("sqlite:PATH"),
 * or the whole "postgresql:..." string; PV_ERR_UNSUPPORTED otherwise.
 */
int pv_config_store_path(const struct pv_config *c, const char **path);
void pv_config_free(struct pv_config *c);
/*
 * A reload (SIGHUP): moves what may change while provostd runs from next
 * into cur (next then holds, and frees, what it replaced).  Keywords that
 * change only on a restart keep cur's values; those that differ are named
 * in restart, comma-separated ("" when none).
 */
void pv_config_reload(struct pv_config *cur, struct pv_config *next,
    char *restart, size_t restartlen);
/* provostd -T: every keyword with the value in force, one per line, in a
 * form provostd.conf takes back (sshd -T's convention). */
void pv_config_print(const struct pv_config *c, FILE *f);

#endif /* PROVOST_COMMON_H */
