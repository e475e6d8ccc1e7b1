/*
 * num.c: strict string-to-number parsing.  strtoull accepts spaces, signs
 * and trailing garbage; these accept exactly the digits and a range.
 * Also byte sizes with a binary suffix ("64M").
 */
#include "config.h"

#include <string.h>

#include "common/common.h"

/* At most 20 digits fit a uint64_t; longer input is refused before work. */
#define PV_U64_DIGITS_MAX 20

static int
parse_digits(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return PV_ERR_INVALID;
	for (; *s != '\0'; s++, n++) {
		unsigned int d;

		if (*s < '0' || *s > '9')
			return PV_ERR_INVALID;
		if (n >= PV_U64_DIGITS_MAX)
			return PV_ERR_RANGE;
		d = (unsigned int)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return PV_ERR_RANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
pv_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int r;

	if ((r = parse_digits(s, &v)) != 0)
		return r;
	if (v < min || v > max)
		return PV_ERR_RANGE;
	*out = v;
	return 0;
}

int
pv_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int r;

	if ((r = pv_parse_u64(s, min, max, &v)) != 0)
		return r;
	*out = (uint32_t)v;
	return 0;
}

int
pv_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	uint64_t v;
	int64_t sv;
	int r, neg = 0;

	if (s != NULL && *s == '-') {
		neg = 1;
		s++;
	}
	if ((r = parse_digits(s, &v)) != 0)
		return r;
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return PV_ERR_RANGE;
		sv = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return PV_ERR_RANGE;
		sv = (int64_t)v;
	}
	if (sv < min || sv > max)
		return PV_ERR_RANGE;
	*out = sv;
	return 0;
}

int
pv_size_parse(const char *s, uint64_t *bytes)
{
	char digits[PV_U64_DIGITS_MAX + 1];
	uint64_t v, mult = 1;
	size_t n;
	int r;

	if (s == NULL || (n = strlen(s)) == 0)
		return PV_ERR_INVALID;
	switch (s[n - 1]) {
	case 'K':
	case 'k':
		mult = 1ULL << 10;
		break;
	case 'M':
	case 'm':
		mult = 1ULL << 20;
		break;
	case 'G':
	case 'g':
		mult = 1ULL << 30;
		break;
	case 'T':
	case 't':
		mult = 1ULL << 40;
		break;
	default:
		break;
	}
	if (mult != 1)
		n--;
	if (n == 0)
		return PV_ERR_INVALID;
	if (n > PV_U64_DIGITS_MAX)
		return PV_ERR_RANGE;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if ((r = parse_digits(digits, &v)) != 0)
		return r;
	if (v > PV_SIZE_MAX / mult)
		return PV_ERR_RANGE;
	*bytes = v * mult;
	return 0;
}
