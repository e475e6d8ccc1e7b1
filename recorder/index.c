/*
 * index.c: the search index sealed in each recording's final chunk (a
 * trigram Bloom filter of the lines grep matches) and its probe.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "recorder/recorder-int.h"

/*
 * The bytes of a stream's current line kept for backspaces: a backspace
 * erases the line's last character, so the two bytes before the next
 * byte may be older ones.  A ring of the line's last bytes; when a run of
 * backspaces eats past it in a longer line, the bytes before are unknown
 * and the index gives up (saturates) rather than guess.
 */
#define TAIL 256

/* One stream as grep reads it: output (OUTPUT, STDERR) or input. */
struct tstream {
	struct rec_escape *esc; /* REC_ESC_TEXT, as grep's */
	uint8_t tail[TAIL];     /* lower-cased, ring indexed by pos */
	size_t pos;             /* bytes ever put into the ring */
	size_t tl;              /* bytes of the line held, <= TAIL */
	uint64_t linelen;       /* bytes of the line (since its newline) */
	uint32_t last3;         /* the last three bytes, lower-cased */
};

struct rec_tindex {
	uint8_t *bitmap; /* REC_INDEX_BITS / 8 bytes; NULL once saturated */
	uint32_t set;
	int saturated;
	int exec_open; /* an EXEC (and EXEC_MORE) is being read */
	uint64_t fed;  /* bytes of text events, up to REC_INDEX_TEXT_MAX */
	struct tstream out, in;
	struct pv_buf *text; /* the escape filter's output */
};

/* ASCII A-Z to a-z; every other byte as it is. */
static inline uint8_t
lower(uint8_t c)
{
	return (uint8_t)(c + ((unsigned int)(c - 'A') < 26u ? 32 : 0));
}

/*
 * The bit positions of a lower-cased trigram in a bitmap of 2^lg bits
 * (format section 5): h = trigram * 0x9e3779b97f4a7c15 mod 2^64; the
 * first position is the top lg bits of h's high 32 bits, the second the
 * top lg bits of its low 32 bits.  Halving the bitmap (OR of the bit
 * pairs 2j, 2j+1) is then the same as hashing into half the bits.
 */
static inline uint32_t
tri_pos(uint32_t tri, unsigned int k, unsigned int lg)
{
	uint64_t h = (uint64_t)tri * REC_INDEX_MULT;
	uint32_t half = k == 1 ? (uint32_t)(h >> 32) : (uint32_t)h;

	return half >> (32 - lg);
}

static void
tindex_saturate(struct rec_tindex *ix)
{
	ix->saturated = 1;
	pv_secret_free(ix->bitmap, REC_INDEX_BITS / 8);
	ix->bitmap = NULL;
}

static inline void
tindex_add(struct rec_tindex *ix, uint32_t tri)
{
	uint8_t *m = ix->bitmap;
	uint32_t b;
	unsigned int k;

	for (k = 1; k <= REC_INDEX_HASHES; k++) {
		b = tri_pos(tri, k, REC_INDEX_BITS_LOG);
		if (!(m[b >> 3] & (1u << (b & 7)))) {
			m[b >> 3] |= (uint8_t)(1u << (b & 7));
			ix->set++;
		}
	}
}

/* A newline, or the end of a stream: the next byte starts a line. */
static void
tstream_newline(struct tstream *s)
{
	s->tl = 0;
	s->linelen = 0;
	s->last3 = 0;
}

/*
 * A backspace, as grep applies it: erases the last character (a UTF-8
 * lead byte with its continuation bytes).  grep's line is always a suffix
 * of the bytes held here (its lines also end at 64 KiB, where this one
 * goes on), so what grep can see next to a new byte is here too.
 */
static void
tstream_erase(struct rec_tindex *ix, struct tstream *s)
{
	size_t i;

	while (s->tl > 0 && (s->tail[(s->pos - 1) % TAIL] & 0xc0) == 0x80) {
		s->pos--;
		s->tl--;
		s->linelen--;
	}
	if (s->tl > 0) {
		s->pos--;
		s->tl--;
		s->linelen--;
	} else if (s->linelen > 0) {
		tindex_saturate(ix); /* older bytes of the line: unknown */
		return;
	}
	if (s->tl < 2 && s->linelen > s->tl) {
		tindex_saturate(ix);
		return;
	}
	s->last3 = 0;
	for (i = s->tl < 2 ? s->tl : 2; i > 0; i--)
		s->last3 = (s->last3 << 8) | s->tail[(s->pos - i) % TAIL];
}

/* Text after the escape filter: trigrams of each line into the bitmap. */
static void
tstream_text(
    struct rec_tindex *ix, struct tstream *s, const uint8_t *d, size_t len)
{
	uint32_t last3 = s->last3;
	uint64_t linelen = s->linelen;
	size_t i, pos = s->pos, tl = s->tl;
	uint8_t c;

	for (i = 0; i < len && !ix->saturated; i++) {
		c = d[i];
		if (c == '\n' || c == '\b') {
			s->last3 = last3;
			s->linelen = linelen;
			s->pos = pos;
			s->tl = tl;
			if (c == '\n')
				tstream_newline(s);
			else
				tstream_erase(ix, s);
			last3 = s->last3;
			linelen = s->linelen;
			pos = s->pos;
			tl = s->tl;
			continue;
		}
		c = lower(c);
		last3 = ((last3 << 8) | c) & 0xffffff;
		s->tail[pos++ % TAIL] = c;
		if (tl < TAIL)
			tl++;
		if (++linelen >= 3) {
			tindex_add(ix, last3);
			if (ix->set >= REC_INDEX_SATURATED)
				tindex_saturate(ix);
		}
	}
	s->last3 = last3;
	s->linelen = linelen;
	s->pos = pos;
	s->tl = tl;
}

/* Raw event bytes (NULL, 0 with finish: the end of a stream's text). */
static int
tstream_feed(struct rec_tindex *ix, struct tstream *s, const uint8_t *d,
    size_t len, int finish)
{
	size_t n;
	int r;

	while (len > 0 && !ix->saturated) {
		n = len > 4096 ? 4096 : len; /* bounds the text buffer */
		pv_buf_reset(ix->text);
		if ((r = rec_escape_filter(s->esc, d, n, ix->text)) != 0)
			return r;
		tstream_text(ix, s, pv_buf_ptr(ix->text), pv_buf_len(ix->text));
		d += n;
		len -= n;
	}
	if (finish && !ix->saturated) {
		pv_buf_reset(ix->text);
		if ((r = rec_escape_finish(s->esc, ix->text)) != 0)
			return r;
		tstream_text(ix, s, pv_buf_ptr(ix->text), pv_buf_len(ix->text));
		tstream_newline(s);
	}
	return 0;
}

void
rec_tindex_free(struct rec_tindex *ix)
{
	if (ix == NULL)
		return;
	/* what the session printed, in another form: wiped */
	if (ix->bitmap != NULL)
		pv_secret_free(ix->bitmap, REC_INDEX_BITS / 8);
	rec_escape_free(ix->out.esc);
	rec_escape_free(ix->in.esc);
	pv_buf_free(ix->text);
	pv_secret_free(ix, sizeof(*ix));
}

static int
tindex_new(struct rec_tindex **out)
{
	struct rec_tindex *ix;

	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return PV_ERR_ALLOC;
	if ((ix->bitmap = calloc(1, REC_INDEX_BITS / 8)) == NULL ||
	    (ix->out.esc = rec_escape_new(REC_ESC_TEXT)) == NULL ||
	    (ix->in.esc = rec_escape_new(REC_ESC_TEXT)) == NULL ||
	    (ix->text = pv_buf_new(0)) == NULL) {
		rec_tindex_free(ix);
		return PV_ERR_ALLOC;
	}
	*out = ix;
	return 0;
}

static int
is_text_event(uint8_t type)
{
	return type == REC_EV_OUTPUT || type == REC_EV_STDERR ||
	    type == REC_EV_INPUT || type == REC_EV_EXEC ||
	    type == REC_EV_EXEC_MORE;
}

/*
 * The events of one chunk, as the writer made them.  The streams follow
 * provost-replay grep exactly: OUTPUT and STDERR are one stream, INPUT
 * another; an exec command (EXEC and its EXEC_MORE pieces) is a line of
 * the input stream of its own, the stream ended before and after it; END
 * ends both streams.
 */
int
rec_tindex_events(struct rec_tindex **ixp, const uint8_t *ev, size_t len)
{
	struct rec_tindex *ix = *ixp;
	size_t off = 0, n;
	uint8_t type;
	int r;

	while (off + REC_EVENT_HDR_LEN <= len) {
		type = ev[off];
		n = ((size_t)ev[off + 9] << 24) | ((size_t)ev[off + 10] << 16) |
		    ((size_t)ev[off + 11] << 8) | ev[off + 12];
		off += REC_EVENT_HDR_LEN;
		if (n > len - off)
			return PV_ERR_INTERNAL;
		if (ix == NULL && is_text_event(type)) {
			if ((r = tindex_new(ixp)) != 0)
				return r;
			ix = *ixp;
		}
		if (ix == NULL || ix->saturated) {
			off += n;
			continue;
		}
		if (is_text_event(type) &&
		    (ix->fed += n) > REC_INDEX_TEXT_MAX) {
			tindex_saturate(ix);
			off += n;
			continue;
		}
		if (ix->exec_open && type != REC_EV_EXEC_MORE) {
			ix->exec_open = 0;
			if ((r = tstream_feed(ix, &ix->in, NULL, 0, 1)) != 0)
				return r;
		}
		r = 0;
		if (type == REC_EV_OUTPUT || type == REC_EV_STDERR)
			r = tstream_feed(ix, &ix->out, ev + off, n, 0);
		else if (type == REC_EV_INPUT)
			r = tstream_feed(ix, &ix->in, ev + off, n, 0);
		else if (type == REC_EV_EXEC || type == REC_EV_EXEC_MORE) {
			if (type == REC_EV_EXEC)
				r = tstream_feed(ix, &ix->in, NULL, 0, 1);
			ix->exec_open = 1;
			if (r == 0)
				r = tstream_feed(ix, &ix->in, ev + off, n, 0);
		} else if (type == REC_EV_END) {
			if ((r = tstream_feed(ix, &ix->out, NULL, 0, 1)) == 0)
				r = tstream_feed(ix, &ix->in, NULL, 0, 1);
		}
		if (r != 0)
			return r;
		off += n;
	}
	return off == len ? 0 : PV_ERR_INTERNAL;
}

/* Halves a bitmap of bits bits into dst: bit j = bit 2j | bit 2j+1. */
static uint32_t
fold(const uint8_t *src, uint32_t bits, uint8_t *dst)
{
	uint32_t j, set = 0;

	memset(dst, 0, bits / 16);
	for (j = 0; j < bits / 2; j++)
		if (src[(2 * j) >> 3] & (3u << ((2 * j) & 7))) {
			dst[j >> 3] |= (uint8_t)(1u << (j & 7));
			set++;
		}
	return set;
}

/*
 * The payload: the bitmap halved while it stays at most a quarter full
 * (a short session's index is a few hundred bytes, not 64 KiB; a trigram
 * absent from the text is then a false hit at most 1 time in 16).
 */
size_t
rec_tindex_payload(const struct rec_tindex *ix, int gave_up, uint8_t *out)
{
	uint32_t bits = REC_INDEX_BITS, set = ix == NULL ? 0 : ix->set, s2;
	int sat = gave_up || (ix != NULL && ix->saturated);
	uint8_t *m = out + REC_INDEX_HDR_LEN, tmp[REC_INDEX_BITS / 16];

	if (!sat && ix == NULL)
		memset(m, 0, bits / 8); /* no text event: an empty index */
	else if (!sat)
		memcpy(m, ix->bitmap, bits / 8);
	while (!sat && bits > (1u << REC_INDEX_BITS_MIN_LOG)) {
		if ((s2 = fold(m, bits, tmp)) > bits / 2 / 4)
			break;
		bits /= 2;
		set = s2;
		memcpy(m, tmp, bits / 8);
	}
	pv_secret_wipe(tmp, sizeof(tmp));
	out[0] = REC_INDEX_KIND_TRIGRAM;
	out[1] = REC_INDEX_VERSION;
	out[2] = REC_INDEX_HASHES;
	out[3] = sat ? REC_INDEX_FLAG_SATURATED : 0;
	rec_put_be32(out + 4, bits);
	rec_put_be32(out + 8, set);
	return REC_INDEX_HDR_LEN + (sat ? 0 : bits / 8);
}

static uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

int
rec_index_parse(
    const uint8_t *p, size_t len, struct rec_index *out, const char **why)
{
	uint32_t bits, set, count = 0;
	unsigned int lg = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (len < REC_INDEX_HDR_LEN) {
		*why = "bad index event (shorter than its header)";
		return PV_ERR_INVALID;
	}
	bits = get_be32(p + 4);
	set = get_be32(p + 8);
	while (lg < 32 && (1u << lg) < bits)
		lg++;
	if (p[0] != REC_INDEX_KIND_TRIGRAM || p[1] != REC_INDEX_VERSION) {
		*why = "bad index event (unknown kind or version)";
		return PV_ERR_INVALID;
	}
	if (lg < REC_INDEX_BITS_MIN_LOG || lg > REC_INDEX_BITS_MAX_LOG ||
	    (1u << lg) != bits || p[2] < 1 || p[2] > 2 ||
	    (p[3] & ~REC_INDEX_FLAG_SATURATED) != 0 || set > bits) {
		*why = "bad index event (hashes, size, flags or count out of "
		       "range)";
		return PV_ERR_INVALID;
	}
	out->hashes = p[2];
	out->bits = bits;
	out->set = set;
	if (p[3] & REC_INDEX_FLAG_SATURATED) {
		if (len != REC_INDEX_HDR_LEN) {
			*why = "bad index event (a saturated index has a "
			       "bitmap)";
			return PV_ERR_INVALID;
		}
		out->saturated = 1;
		return 0;
	}
	if (len != REC_INDEX_HDR_LEN + (size_t)bits / 8) {
		*why = "bad index event (the bitmap's length is not bits / 8)";
		return PV_ERR_INVALID;
	}
	for (i = 0; i < bits / 8; i++)
		count += (uint32_t)__builtin_popcount(p[REC_INDEX_HDR_LEN + i]);
	if (count != set) {
		*why = "bad index event (the bitmap does not hold the bits "
		       "it counts)";
		return PV_ERR_INVALID;
	}
	out->bitmap = p + REC_INDEX_HDR_LEN;
	return 0;
}

int
rec_index_may_match(
    const struct rec_index *ix, const uint8_t *s, size_t len, int skip_high)
{
	unsigned int lg = 0, k;
	uint32_t tri, b;
	size_t i;

	if (ix->saturated || ix->bitmap == NULL || len < 3)
		return 1;
	while ((1u << lg) < ix->bits)
		lg++;
	for (i = 0; i + 3 <= len; i++) {
		if (skip_high &&
		    (s[i] >= 0x80 || s[i + 1] >= 0x80 || s[i + 2] >= 0x80))
			continue;
		tri = ((uint32_t)lower(s[i]) << 16) |
		    ((uint32_t)lower(s[i + 1]) << 8) | lower(s[i + 2]);
		for (k = 1; k <= ix->hashes; k++) {
			b = tri_pos(tri, k, lg);
			if (!(ix->bitmap[b >> 3] & (1u << (b & 7))))
				return 0;
		}
	}
	return 1;
}
