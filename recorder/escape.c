/*
 * escape.c: the terminal escape filter for text shown to an analyst: keeps
 * text and harmless CSI, drops OSC/DCS/APC/PM/SOS, reports, C1 and bidi overrides.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "recorder/recorder.h"

#define ESC_CSI_MAX 64

enum esc_state {
	ST_GROUND = 0,
	ST_ESC,
	ST_ESC_INTER,
	ST_CSI,
	ST_STR,     /* inside a dropped OSC/DCS/APC/PM/SOS string */
	ST_STR_ESC, /* ESC seen inside such a string */
};

struct rec_escape {
	enum rec_escape_mode mode;
	enum esc_state st;
	uint8_t seq[ESC_CSI_MAX]; /* the CSI or ESC sequence so far */
	size_t seqlen;
	int seq_overflow;
	uint32_t cp; /* UTF-8 decoding */
	int need;
	uint32_t min;
	int pending_cr; /* text mode: a CR waiting to become a newline */
};

struct rec_escape *
rec_escape_new(enum rec_escape_mode mode)
{
	struct rec_escape *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->mode = mode;
	return f;
}

void
rec_escape_free(struct rec_escape *f)
{
	free(f);
}

static int
esc_text(struct rec_escape *f, struct pv_buf *out, const void *p, size_t n)
{
	int r;

	if (f->pending_cr) {
		f->pending_cr = 0;
		if ((r = pv_buf_put_u8(out, '\n')) != 0)
			return r;
		if (n == 1 && *(const uint8_t *)p == '\n')
			return 0;
	}
	return pv_buf_put(out, p, n);
}

static int
esc_cp(struct rec_escape *f, struct pv_buf *out, uint32_t cp)
{
	uint8_t u[4];
	size_t n;

	if (cp >= 0x80 && cp <= 0x9f)
		return 0; /* C1 controls */
	if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
		return 0; /* bidi embeddings, overrides and isolates */
	if (cp < 0x80) {
		u[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xc0 | (cp >> 6));
		u[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xe0 | (cp >> 12));
		u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (uint8_t)(0xf0 | (cp >> 18));
		u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return esc_text(f, out, u, n);
}

#define REPLACEMENT 0xfffd

/* A CSI sequence is kept only in terminal mode and only if harmless. */
static int
esc_csi_allowed(const struct rec_escape *f, uint8_t final)
{
	size_t i;

	if (f->mode != REC_ESC_TERMINAL || f->seq_overflow)
		return 0;
	for (i = 2; i + 1 < f->seqlen; i++) {
		if (f->seq[i] >= 0x20 && f->seq[i] <= 0x2f)
			return f->seq[i] == ' ' && final == 'q' &&
			    i + 2 == f->seqlen;
	}
	/* Not: t (window ops, title report), n (status report), c (device
	 * attributes), i (printer), b (repeat), p, x, y, and the rest. */
	return final != 0 &&
	    strchr("@ABCDEFGHIJKLMPSTXZ`adefghlmrsu", final) != NULL;
}

static int
esc_control(struct rec_escape *f, struct pv_buf *out, uint8_t c)
{
	if (c == '\n' || c == '\t')
		return esc_text(f, out, &c, 1);
	if (c == '\r') {
		if (f->mode == REC_ESC_TEXT) {
			f->pending_cr = 1;
			return 0;
		}
		return pv_buf_put_u8(out, c);
	}
	if (c == '\b' && f->mode == REC_ESC_TERMINAL)
		return pv_buf_put_u8(out, c);
	/* Text mode: BS and DEL become BS, so that typed lines can be edited. */
	if ((c == '\b' || c == 0x7f) && f->mode == REC_ESC_TEXT)
		return esc_text(f, out, "\b", 1);
	return 0; /* BEL, SO, SI, NUL and the others are dropped */
}

static int
esc_byte(struct rec_escape *f, struct pv_buf *out, uint8_t c)
{
	int r;

	switch (f->st) {
	case ST_GROUND:
		if (f->need > 0) {
			if (c >= 0x80 && c <= 0xbf) {
				f->cp = (f->cp << 6) | (c & 0x3f);
				if (--f->need > 0)
					return 0;
				if (f->cp < f->min || f->cp > 0x10ffff ||
				    (f->cp >= 0xd800 && f->cp <= 0xdfff))
					return esc_cp(f, out, REPLACEMENT);
				return esc_cp(f, out, f->cp);
			}
			f->need = 0;
			if ((r = esc_cp(f, out, REPLACEMENT)) != 0)
				return r;
			return esc_byte(f, out, c);
		}
		if (c == 0x1b) {
			f->st = ST_ESC;
			f->seq[0] = c;
			f->seqlen = 1;
			f->seq_overflow = 0;
			return 0;
		}
		if (c < 0x20 || c == 0x7f)
			return esc_control(f, out, c);
		if (c < 0x80)
			return esc_text(f, out, &c, 1);
		if (c >= 0xc2 && c <= 0xdf) {
			f->need = 1;
			f->cp = c & 0x1f;
			f->min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			f->need = 2;
			f->cp = c & 0x0f;
			f->min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			f->need = 3;
			f->cp = c & 0x07;
			f->min = 0x10000;
		} else
			return esc_cp(f, out, REPLACEMENT);
		return 0;
	case ST_ESC:
		if (c == '[') {
			f->st = ST_CSI;
			f->seq[f->seqlen++] = c;
		} else if (c == ']' || c == 'P' || c == 'X' || c == '^' ||
		    c == '_' || c == 'k')
			f->st = ST_STR;
		else if (c == 0x1b)
			f->st = ST_ESC;
		else if (c >= 0x20 && c <= 0x2f) {
			f->st = ST_ESC_INTER;
			f->seq[f->seqlen++] = c;
		} else if (c >= 0x30 && c <= 0x7e) {
			f->st = ST_GROUND;
			if (f->mode == REC_ESC_TERMINAL &&
			    strchr("78=>DEMc", c) != NULL) {
				f->seq[f->seqlen++] = c;
				return pv_buf_put(out, f->seq, f->seqlen);
			}
		} else {
			f->st = ST_GROUND;
			if (c >= 0x80)
				return esc_byte(f, out, c);
		}
		return 0;
	case ST_ESC_INTER:
		if (c >= 0x20 && c <= 0x2f) {
			if (f->seqlen < ESC_CSI_MAX - 1)
				f->seq[f->seqlen++] = c;
			else
				f->seq_overflow = 1;
			return 0;
		}
		f->st = ST_GROUND;
		if (c >= 0x30 && c <= 0x7e) {
			/* Character set designation: ESC ( B and friends. */
			if (f->mode == REC_ESC_TERMINAL && f->seqlen == 2 &&
			    strchr("()*+", f->seq[1]) != NULL) {
				f->seq[f->seqlen++] = c;
				return pv_buf_put(out, f->seq, f->seqlen);
			}
			return 0;
		}
		if (c == 0x1b || c >= 0x80)
			return esc_byte(f, out, c);
		return 0;
	case ST_CSI:
		if (c >= 0x20 && c <= 0x3f) {
			if (f->seqlen < ESC_CSI_MAX - 1)
				f->seq[f->seqlen++] = c;
			else
				f->seq_overflow = 1;
			return 0;
		}
		f->st = ST_GROUND;
		if (c >= 0x40 && c <= 0x7e) {
			f->seq[f->seqlen++] = c;
			if (esc_csi_allowed(f, c))
				return pv_buf_put(out, f->seq, f->seqlen);
			return 0;
		}
		/* A control or a high byte ends the sequence, which is dropped. */
		if (c == 0x1b || c >= 0x80)
			return esc_byte(f, out, c);
		return 0;
	case ST_STR:
		if (c == 0x07 || c == 0x18 || c == 0x1a)
			f->st = ST_GROUND;
		else if (c == 0x1b)
			f->st = ST_STR_ESC;
		return 0;
	case ST_STR_ESC:
		if (c == '\\') {
			f->st = ST_GROUND;
			return 0;
		}
		f->st = ST_ESC;
		f->seq[0] = 0x1b;
		f->seqlen = 1;
		f->seq_overflow = 0;
		return esc_byte(f, out, c);
	}
	return PV_ERR_INTERNAL;
}

/* Printable ASCII, newline and tab: a ground-state run (a table, 1/0). */
static const uint8_t esc_plain_tab[256] = {
	['\t'] = 1,
	['\n'] = 1,
	[0x20 ... 0x7e] = 1,
};

static inline int
esc_plain(uint8_t c)
{
	return esc_plain_tab[c];
}

int
rec_escape_filter(
    struct rec_escape *f, const uint8_t *in, size_t len, struct pv_buf *out)
{
	size_t i = 0, j;
	int r;

	while (i < len) {
		/*
		 * Runs of printable ASCII, newlines and tabs in the ground
		 * state go out at once (esc_control passes the two as they
		 * are while no CR is pending).
		 */
		if (f->st == ST_GROUND && f->need == 0 && !f->pending_cr) {
			for (j = i; j + 4 <= len && esc_plain(in[j]) &&
			     esc_plain(in[j + 1]) && esc_plain(in[j + 2]) &&
			     esc_plain(in[j + 3]);
			     j += 4)
				;
			while (j < len && esc_plain(in[j]))
				j++;
			if (j > i) {
				if ((r = pv_buf_put(out, in + i, j - i)) != 0)
					return r;
				i = j;
				continue;
			}
		}
		if ((r = esc_byte(f, out, in[i])) != 0)
			return r;
		i++;
	}
	return 0;
}

int
rec_escape_finish(struct rec_escape *f, struct pv_buf *out)
{
	int r = 0;

	if (f->st == ST_GROUND && f->need > 0) {
		f->need = 0;
		r = esc_cp(f, out, REPLACEMENT);
	}
	if (r == 0 && f->pending_cr) {
		f->pending_cr = 0;
		r = pv_buf_put_u8(out, '\n');
	}
	f->st = ST_GROUND;
	return r;
}
