/*
 * broker.h: provostd's building blocks that tests and other modules see:
 * the login string parser, OpenSSH certificate minting, provostd.conf.
 */
#ifndef PROVOST_BROKER_H
#define PROVOST_BROKER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/evp.h>

#include "common/common.h"

/*
 * Login strings (the user part of ssh's user@host, split by OpenSSH at the
 * last '@'): "alice" (menu), "alice+db01" (target, the grant's one
 * account), "alice+postgres@db01" (account at target).  Names use only
 * [a-z0-9._-], start with a letter or digit, and are capped below.
 */
#define BROKER_ENGINEER_MAX 32
#define BROKER_ACCOUNT_MAX 32
#define BROKER_TARGET_MAX 64
#define BROKER_LOGIN_MAX \
	(BROKER_ENGINEER_MAX + 1 + BROKER_ACCOUNT_MAX + 1 + BROKER_TARGET_MAX)

enum broker_login_kind {
	BROKER_LOGIN_MENU = 0, /* ENGINEER */
	BROKER_LOGIN_TARGET,   /* ENGINEER+TARGET */
	BROKER_LOGIN_ACCOUNT,  /* ENGINEER+ACCOUNT@TARGET */
};

struct broker_login {
	enum broker_login_kind kind;
	char engineer[BROKER_ENGINEER_MAX + 1];
	char account[BROKER_ACCOUNT_MAX + 1]; /* "" unless ACCOUNT form */
	char target[BROKER_TARGET_MAX + 1];   /* "" in MENU form */
};

/* 0, or PV_ERR_INVALID / PV_ERR_RANGE; out is zeroed on every error. */
int broker_login_parse(const char *s, size_t len, struct broker_login *out);
/* 1 if s[0..len) is a valid name of at most max bytes, else 0. */
int broker_name_valid(const char *s, size_t len, size_t max);

/*
 * OpenSSH user certificates (PROTOCOL.certkeys), ssh-ed25519-cert-v01,
 * built and signed here with OpenSSL.  Exactly one principal; extensions
 * are permit-pty or nothing; source-address is always set.
 */
#define BROKER_CERT_TYPE "ssh-ed25519-cert-v01@openssh.com"
#define BROKER_CERT_NONCE_LEN 32
#define BROKER_ED25519_LEN 32
#define BROKER_CERT_BACKDATE 30 /* seconds before now */

struct broker_cert_req {
	const uint8_t *pubkey; /* the ephemeral key, BROKER_ED25519_LEN raw */
	uint64_t serial;
	const char *session_id;
	const char *engineer;
	const char *principal;      /* the target account */
	int64_t now;                /* unix seconds */
	uint64_t lifetime;          /* seconds, > 0 */
	const char *source_address; /* e.g. "127.0.0.1/32" */
	int permit_pty;
	int permit_port_forwarding; /* the rule allows forward channels */
};

/* Appends the certificate blob (wire format) to out. */
int broker_cert_mint(
    EVP_PKEY *ca, const struct broker_cert_req *req, struct pv_buf *out);
/* "TYPE BASE64 comment" of a key or certificate blob (comment optional). */
int broker_sshkey_line(const char *type, const uint8_t *blob, size_t len,
    const char *comment, char **line);
/* The SSH wire public key blob of an Ed25519 key ("ssh-ed25519", key). */
int broker_ed25519_blob(EVP_PKEY *key, struct pv_buf *out);
/* The raw 32 public bytes of an "ssh-ed25519" wire blob. */
int broker_ed25519_from_blob(
    const uint8_t *blob, size_t len, uint8_t pub[BROKER_ED25519_LEN]);
/* Loads the CA private key (the single place that knows its file format). */
int broker_ca_load(const char *path, EVP_PKEY **out);
/* 1 if a principal is acceptable: a valid name, no glob characters. */
int broker_principal_valid(const char *s);

/* provostd.conf is read with store/'s pv_config (shared with provostctl). */
struct broker_listen {
	char host[256];
	uint16_t port;
};

/* "host:port", "[v6]:port" or "host" (port 2222). */
int broker_listen_parse(const char *s, struct broker_listen *out);

#endif /* PROVOST_BROKER_H */
