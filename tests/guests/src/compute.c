/*
 * compute - a self-checking workload (issue 4, item 4): CRC-32 and SHA-256
 * over COMPUTE_BYTES of LCG data, then an LSD radix sort of the words, all
 * compared with reference values that gencompute (Go: hash/crc32,
 * crypto/sha256, slices.Sort) computed at build time.
 *
 * The same file builds as the lguest guest "compute" and, with -DMULTIBOOT,
 * as a multiboot ELF for qemu-system-i386 (mbkern.c), so the two can be timed
 * side by side.
 */
#include "kern.h"
#include "compute_expect.h"

#ifndef COMPUTE_BYTES
#error "COMPUTE_BYTES must be defined by the Makefile"
#endif
_Static_assert(COMPUTE_BYTES == COMPUTE_EXPECT_BYTES, "compute_expect.h is for another data size");
_Static_assert(COMPUTE_BYTES % 64 == 0 && COMPUTE_BYTES >= 64, "COMPUTE_BYTES");

#define NWORDS (COMPUTE_BYTES / 4)
static u32 data[NWORDS] __attribute__((aligned(PAGE_SIZE)));
static u32 tmp[NWORDS] __attribute__((aligned(PAGE_SIZE)));

#ifndef MULTIBOOT
int guest_trap(struct trapframe *f)
{
	(void)f;
	return 0;
}
#endif

static void generate(void)
{
	u32 x = COMPUTE_SEED;
	for (u32 i = 0; i < NWORDS; i++) {
		x = x * 1664525u + 1013904223u;
		data[i] = x;
	}
}

/* CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320), table-driven. */
static u32 crc_table[256];

static void crc32_init(void)
{
	for (u32 i = 0; i < 256; i++) {
		u32 c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static u32 crc32(const u8 *p, u32 n)
{
	u32 c = 0xFFFFFFFFu;
	while (n--)
		c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

/* SHA-256 (FIPS 180-4). */
static const u32 K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline u32 ror(u32 x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(u32 h[8], const u8 *p)
{
	u32 w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (u32)p[4 * i] << 24 | (u32)p[4 * i + 1] << 16 | (u32)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		u32 s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		u32 s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	u32 a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		u32 t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		u32 t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

/* n is a multiple of 64, so the padding is one extra block. */
static void sha256(const u8 *p, u32 n, u8 out[32])
{
	u32 h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	for (u32 off = 0; off < n; off += 64)
		sha256_block(h, p + off);
	u8 last[64];
	memset(last, 0, sizeof(last));
	last[0] = 0x80;
	u64 bits = (u64)n * 8;
	for (int i = 0; i < 8; i++)
		last[63 - i] = (u8)(bits >> (8 * i));
	sha256_block(h, last);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (u8)(h[i] >> 24);
		out[4 * i + 1] = (u8)(h[i] >> 16);
		out[4 * i + 2] = (u8)(h[i] >> 8);
		out[4 * i + 3] = (u8)h[i];
	}
}

/* LSD radix sort, 8 bits per pass; four passes leave the result in data. */
static void radix_sort(void)
{
	u32 *src = data, *dst = tmp;
	for (int shift = 0; shift < 32; shift += 8) {
		u32 count[256];
		memset(count, 0, sizeof(count));
		for (u32 i = 0; i < NWORDS; i++)
			count[(src[i] >> shift) & 0xFF]++;
		u32 sum = 0;
		for (int b = 0; b < 256; b++) {
			u32 c = count[b];
			count[b] = sum;
			sum += c;
		}
		for (u32 i = 0; i < NWORDS; i++)
			dst[count[(src[i] >> shift) & 0xFF]++] = src[i];
		u32 *t = src;
		src = dst;
		dst = t;
	}
}

void guest_main(void)
{
	static const u32 first[2] = COMPUTE_FIRST_WORDS;
	static const u8 want_sha[32] = COMPUTE_SHA256;

	generate();
	CHECK(data[0] == first[0] && data[1] == first[1], "LCG words %08x %08x, want %08x %08x", data[0], data[1],
	      first[0], first[1]);
	kprintf("%s: %u bytes of LCG data (seed %08x)\n", guest_name, COMPUTE_BYTES, COMPUTE_SEED);

	crc32_init();
	u32 crc = crc32((const u8 *)data, COMPUTE_BYTES);
	CHECK(crc == COMPUTE_CRC32, "crc32 %08x, want %08x", crc, COMPUTE_CRC32);
	kprintf("%s: crc32 matches the reference\n", guest_name);

	u8 digest[32];
	sha256((const u8 *)data, COMPUTE_BYTES, digest);
	CHECK(memcmp(digest, want_sha, 32) == 0, "sha256 starts %02x%02x%02x%02x, want %02x%02x%02x%02x", digest[0],
	      digest[1], digest[2], digest[3], want_sha[0], want_sha[1], want_sha[2], want_sha[3]);
	kprintf("%s: sha256 matches the reference\n", guest_name);

	radix_sort();
	for (u32 i = 1; i < NWORDS; i++)
		CHECK(data[i - 1] <= data[i], "not sorted at word %u", i);
	CHECK(data[0] == COMPUTE_MIN && data[NWORDS - 1] == COMPUTE_MAX && data[NWORDS / 2] == COMPUTE_MEDIAN,
	      "sorted min/median/max %08x %08x %08x", data[0], data[NWORDS / 2], data[NWORDS - 1]);
	crc = crc32((const u8 *)data, COMPUTE_BYTES);
	CHECK(crc == COMPUTE_SORTED_CRC32, "crc32 of the sorted words %08x, want %08x", crc, COMPUTE_SORTED_CRC32);
	kprintf("%s: radix sort of %u words: ordered, crc32 matches the reference\n", guest_name, NWORDS);
}
