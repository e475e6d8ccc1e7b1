/*
 * tool_probe.c: a test helper (not installed): a libssh client that offers
 * the engineer's public key WITHOUT a signature, then answers the TOTP
 * prompt with a good code.  provostd must never let it in.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libssh/libssh.h>

#include "common/common.h"

/* Exit: 0 never authenticated (right), 1 authenticated (wrong), 2 error. */
int
main(int argc, char **argv)
{
	ssh_session s;
	ssh_key pub = NULL;
	ssh_channel ch;
	bool no = false;
	uint32_t uport;
	int port, rc, authed = 0, i;

	if (argc != 5) {
		fprintf(
		    stderr, "usage: pv-broker-probe PORT USER KEY.pub CODE\n");
		return 2;
	}
	if (pv_parse_u32(argv[1], 1, 65535, &uport) != 0) {
		fprintf(stderr, "probe: bad port %s\n", argv[1]);
		return 2;
	}
	port = (int)uport;
	if ((s = ssh_new()) == NULL ||
	    ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_HOST, "127.0.0.1") < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_PORT, &port) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_USER, argv[2]) < 0 ||
	    ssh_connect(s) != SSH_OK) {
		fprintf(stderr, "probe: connect failed\n");
		return 2;
	}
	if (ssh_pki_import_pubkey_file(argv[3], &pub) != SSH_OK) {
		fprintf(stderr, "probe: cannot read %s\n", argv[3]);
		return 2;
	}
	/* The query: the server may say "I would accept it" (PK_OK). */
	rc = ssh_userauth_try_publickey(s, NULL, pub);
	printf("query: %d\n", rc);
	if (rc == SSH_AUTH_SUCCESS)
		printf("server would accept the key (no signature sent)\n");
	/* Now the code, without ever having signed anything. */
	for (i = 0; i < 3 && !authed; i++) {
		rc = ssh_userauth_kbdint(s, NULL, NULL);
		while (rc == SSH_AUTH_INFO) {
			if (ssh_userauth_kbdint_getnprompts(s) >= 1)
				(void)ssh_userauth_kbdint_setanswer(
				    s, 0, argv[4]);
			rc = ssh_userauth_kbdint(s, NULL, NULL);
		}
		printf("kbdint: %d\n", rc);
		if (rc == SSH_AUTH_SUCCESS)
			authed = 1;
		if (rc == SSH_AUTH_ERROR)
			break;
	}
	/* And a channel, which only an authenticated client may open. */
	if ((ch = ssh_channel_new(s)) != NULL &&
	    ssh_channel_open_session(ch) == SSH_OK) {
		printf("channel opened\n");
		authed = 1;
	}
	ssh_key_free(pub);
	ssh_disconnect(s);
	ssh_free(s);
	return authed ? 1 : 0;
}
