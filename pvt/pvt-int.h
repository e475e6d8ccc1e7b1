/*
 * pvt-int.h: helpers shared inside pvt/ (UUID bytes) that callers
 * outside the library do not need.
 */
#ifndef PROVOST_PVT_INT_H
#define PROVOST_PVT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define PVT_UUID_BYTES 16

int pvt_uuid_to_bytes(const char *s, uint8_t out[PVT_UUID_BYTES]);
int pvt_uuid_from_bytes(
    const uint8_t u[PVT_UUID_BYTES], char out[PV_UUID_LEN + 1]);

#endif /* PROVOST_PVT_INT_H */
