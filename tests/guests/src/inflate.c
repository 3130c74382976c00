/*
 * inflate.c - a small DEFLATE (RFC 1951) decoder, written for the kernlike
 * guest, which runs it under linear_pages the way a Linux bzImage runs its
 * decompressor before the kernel proper starts.
 *
 * Huffman codes are decoded with one FAST_BITS-bit lookup table per code set
 * (the bits LSB-first as DEFLATE packs them); the few codes longer than that
 * fall back to a canonical bit-by-bit decode (RFC 1951 §3.2.2). The bit
 * buffer is refilled a byte at a time, so the hot loop is the mix a kernel
 * decompressor runs: movzbl/movzwl table loads, shifts by %cl, masks and
 * byte copies.
 */
#include "inflate.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;

#define MAXBITS 15
#define FAST_BITS 9
#define NLITLEN 288
#define NDIST 30

struct huffman {
	u16 count[MAXBITS + 1]; /* codes of each length */
	u16 symbol[NLITLEN];	/* symbols in canonical order */
	u16 fast[1 << FAST_BITS]; /* length << 12 | symbol; 0 = longer code */
};

struct state {
	const u8 *in, *in_end;
	u8 *out, *out_start, *out_end;
	u32 bitbuf;
	u32 bitcnt;
	int overrun; /* bytes of zero padding read past the end of input */
	struct huffman lit, dist;
};

static const u16 len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
				 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const u8 len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
				 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const u16 dist_base[30] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
				  193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const u8 dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6,
				  6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
/* Order of the code length code lengths (RFC 1951 §3.2.7). */
static const u8 clen_order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

/* Makes at least need (<= 25) bits available. Past the end of the input it
 * feeds zeros and counts them; the caller checks overrun at the end. */
static inline void need(struct state *s, u32 n)
{
	while (s->bitcnt < n) {
		u32 b = 0;
		if (s->in < s->in_end)
			b = *s->in++;
		else
			s->overrun++;
		s->bitbuf |= b << s->bitcnt;
		s->bitcnt += 8;
	}
}

static inline u32 bits(struct state *s, u32 n)
{
	need(s, n);
	u32 v = s->bitbuf & ((1u << n) - 1);
	s->bitbuf >>= n;
	s->bitcnt -= n;
	return v;
}

/* Builds h from lengths[0..n); returns 0, or -1 for an over-subscribed set.
 * Incomplete sets are allowed (a single distance code is legal). */
static int build(struct huffman *h, const u8 *lengths, u32 n)
{
	u16 offs[MAXBITS + 1];
	for (u32 i = 0; i <= MAXBITS; i++)
		h->count[i] = 0;
	for (u32 i = 0; i < n; i++)
		h->count[lengths[i]]++;
	int left = 1;
	for (u32 len = 1; len <= MAXBITS; len++) {
		left <<= 1;
		left -= h->count[len];
		if (left < 0)
			return -1;
	}
	offs[1] = 0;
	for (u32 len = 1; len < MAXBITS; len++)
		offs[len + 1] = offs[len] + h->count[len];
	for (u32 i = 0; i < n; i++)
		if (lengths[i] != 0)
			h->symbol[offs[lengths[i]]++] = (u16)i;

	/* The fast table: each code of length <= FAST_BITS, bit-reversed (DEFLATE
	 * sends Huffman codes MSB first), fills every slot whose low bits match. */
	for (u32 i = 0; i < (1u << FAST_BITS); i++)
		h->fast[i] = 0;
	u32 code = 0, idx = 0;
	for (u32 len = 1; len <= FAST_BITS; len++) {
		for (u32 k = 0; k < h->count[len]; k++) {
			u32 rev = 0;
			for (u32 b = 0; b < len; b++)
				rev |= ((code >> b) & 1) << (len - 1 - b);
			for (u32 slot = rev; slot < (1u << FAST_BITS); slot += 1u << len)
				h->fast[slot] = (u16)(len << 12 | h->symbol[idx]);
			code++;
			idx++;
		}
		code <<= 1;
	}
	return 0;
}

/* Decodes one symbol; -1 if the bits match no code. */
static inline int decode(struct state *s, const struct huffman *h)
{
	need(s, MAXBITS);
	u32 e = h->fast[s->bitbuf & ((1u << FAST_BITS) - 1)];
	if (e != 0) {
		u32 len = e >> 12;
		s->bitbuf >>= len;
		s->bitcnt -= len;
		return (int)(e & 0xFFF);
	}
	/* Canonical decode (RFC 1951 §3.2.2): code, first code and index of
	 * each length, one bit at a time. */
	int code = 0, first = 0, index = 0;
	u32 buf = s->bitbuf;
	for (u32 len = 1; len <= MAXBITS; len++) {
		code |= (int)(buf & 1);
		buf >>= 1;
		int count = h->count[len];
		if (code - count < first) {
			s->bitbuf >>= len;
			s->bitcnt -= len;
			return h->symbol[index + (code - first)];
		}
		index += count;
		first += count;
		first <<= 1;
		code <<= 1;
	}
	return -1;
}

static int stored(struct state *s)
{
	/* Discard to a byte boundary; then LEN and its complement. */
	s->bitbuf >>= s->bitcnt & 7;
	s->bitcnt &= ~7u;
	u32 len = bits(s, 16);
	u32 nlen = bits(s, 16);
	if (len != (~nlen & 0xFFFF))
		return INFLATE_ERR_STORED;
	/* Bytes still in the bit buffer first, then straight from the input. */
	while (len && s->bitcnt) {
		if (s->out == s->out_end)
			return INFLATE_ERR_OUTPUT;
		*s->out++ = (u8)bits(s, 8);
		len--;
	}
	if ((size_t)(s->in_end - s->in) < len)
		return INFLATE_ERR_INPUT;
	if ((size_t)(s->out_end - s->out) < len)
		return INFLATE_ERR_OUTPUT;
	while (len--)
		*s->out++ = *s->in++;
	return INFLATE_OK;
}

/* Literals and length/distance pairs until end of block (RFC 1951 §3.2.5). */
static int codes(struct state *s)
{
	for (;;) {
		int sym = decode(s, &s->lit);
		if (sym < 0)
			return INFLATE_ERR_SYMBOL;
		if (sym < 256) {
			if (s->out == s->out_end)
				return INFLATE_ERR_OUTPUT;
			*s->out++ = (u8)sym;
			continue;
		}
		if (sym == 256)
			return INFLATE_OK;
		sym -= 257;
		if (sym >= 29)
			return INFLATE_ERR_SYMBOL;
		u32 len = len_base[sym] + bits(s, len_extra[sym]);
		int dsym = decode(s, &s->dist);
		if (dsym < 0 || dsym >= NDIST)
			return INFLATE_ERR_SYMBOL;
		u32 dist = dist_base[dsym] + bits(s, dist_extra[dsym]);
		if (dist > (u32)(s->out - s->out_start))
			return INFLATE_ERR_DISTANCE;
		if (len > (u32)(s->out_end - s->out))
			return INFLATE_ERR_OUTPUT;
		/* Byte by byte: the source may overlap what is being written. */
		const u8 *from = s->out - dist;
		u8 *to = s->out;
		s->out += len;
		while (len--)
			*to++ = *from++;
	}
}

static int fixed(struct state *s)
{
	u8 lengths[NLITLEN];
	u32 i = 0;
	for (; i < 144; i++)
		lengths[i] = 8;
	for (; i < 256; i++)
		lengths[i] = 9;
	for (; i < 280; i++)
		lengths[i] = 7;
	for (; i < NLITLEN; i++)
		lengths[i] = 8;
	build(&s->lit, lengths, NLITLEN);
	for (i = 0; i < NDIST; i++)
		lengths[i] = 5;
	build(&s->dist, lengths, NDIST);
	return codes(s);
}

static int dynamic(struct state *s)
{
	u8 lengths[NLITLEN + NDIST];
	u32 nlen = bits(s, 5) + 257;
	u32 ndist = bits(s, 5) + 1;
	u32 ncode = bits(s, 4) + 4;
	if (nlen > 286 || ndist > NDIST)
		return INFLATE_ERR_CODES;
	u32 i;
	for (i = 0; i < ncode; i++)
		lengths[clen_order[i]] = (u8)bits(s, 3);
	for (; i < 19; i++)
		lengths[clen_order[i]] = 0;
	if (build(&s->lit, lengths, 19) != 0)
		return INFLATE_ERR_CODES;
	for (i = 0; i < nlen + ndist;) {
		int sym = decode(s, &s->lit);
		if (sym < 0)
			return INFLATE_ERR_CODES;
		if (sym < 16) {
			lengths[i++] = (u8)sym;
			continue;
		}
		u32 rep;
		u8 val = 0;
		if (sym == 16) {
			if (i == 0)
				return INFLATE_ERR_CODES;
			val = lengths[i - 1];
			rep = 3 + bits(s, 2);
		} else if (sym == 17) {
			rep = 3 + bits(s, 3);
		} else {
			rep = 11 + bits(s, 7);
		}
		if (i + rep > nlen + ndist)
			return INFLATE_ERR_CODES;
		while (rep--)
			lengths[i++] = val;
	}
	if (lengths[256] == 0)
		return INFLATE_ERR_CODES;
	if (build(&s->lit, lengths, nlen) != 0 || build(&s->dist, lengths + nlen, ndist) != 0)
		return INFLATE_ERR_CODES;
	return codes(s);
}

/* One static state, not a stack frame: the boot stack the decompressor
 * runs on is a single page and the two code tables take 3.2 KiB. */
static struct state state;

int inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	struct state *sp = &state;
#define s (*sp)
	s.in = in;
	s.in_end = in + in_len;
	s.out = s.out_start = out;
	s.out_end = out + out_cap;
	s.bitbuf = 0;
	s.bitcnt = 0;
	s.overrun = 0;
	int err, last;
	do {
		last = (int)bits(&s, 1);
		u32 type = bits(&s, 2);
		if (type == 0)
			err = stored(&s);
		else if (type == 1)
			err = fixed(&s);
		else if (type == 2)
			err = dynamic(&s);
		else
			err = INFLATE_ERR_BLOCK;
		/* need() may look ahead up to MAXBITS bits (two bytes) of zero
		 * padding; more than that is a truncated stream. */
		if (err == INFLATE_OK && s.overrun * 8 > (int)s.bitcnt)
			err = INFLATE_ERR_INPUT;
	} while (err == INFLATE_OK && !last);
	*out_len = (size_t)(s.out - s.out_start);
	return err;
#undef s
}
