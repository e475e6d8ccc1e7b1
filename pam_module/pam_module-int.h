/*
 * pam_module-int.h: helpers shared inside pam_module/ (UUID bytes, the
 * Ed25519 calls) that callers outside the module do not need.
 */
#ifndef PROVOST_PAM_MODULE_INT_H
#define PROVOST_PAM_MODULE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define PVT_UUID_BYTES 16

int pvt_uuid_to_bytes(const char *s, uint8_t out[PVT_UUID_BYTES]);
int pvt_uuid_from_bytes(
    const uint8_t u[PVT_UUID_BYTES], char out[PV_UUID_LEN + 1]);

#endif /* PROVOST_PAM_MODULE_INT_H */
