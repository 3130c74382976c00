/*
 * Self-checking compute program for lgdbg's software i386 (issue 2, "Evidence
 * that it is right"). Freestanding: gcc -m32 -O2 -ffreestanding -nostdlib.
 *
 * It fills a buffer from an LCG, computes CRC-32 (IEEE, reflected, table
 * driven) and SHA-256 over it, and sorts two arrays drawn from the same LCG
 * (insertion sort and quicksort). Everything is left in memory at the symbols
 * below; the Go test (hv/cpu/vec_selfcheck_test.go) recomputes the same with
 * hash/crc32, crypto/sha256 and sort and compares. `rounds` (patched by the
 * benchmark) repeats the whole workload.
 */

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

#define BUF_LEN 65536
#define QN 4096
#define IN 512

volatile u32 rounds = 1;
u8 buf[BUF_LEN];
u32 qarr[QN];
u32 iarr[IN];

struct results {
	u32 magic;
	u32 crc;
	u8 sha[32];
	u32 rounds_done;
	u32 lcg_final;
} results;

void *memset(void *d, int c, unsigned long n) {
	u8 *p = d;
	while (n--) *p++ = (u8)c;
	return d;
}
void *memcpy(void *d, const void *s, unsigned long n) {
	u8 *p = d;
	const u8 *q = s;
	while (n--) *p++ = *q++;
	return d;
}

static u32 lcg;
static u32 next(void) {
	lcg = lcg * 1103515245u + 12345u;
	return lcg;
}

static u32 crc_table[256];
static void crc_init(void) {
	for (u32 i = 0; i < 256; i++) {
		u32 c = i;
		for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}
static u32 crc32(const u8 *p, u32 n) {
	u32 c = 0xFFFFFFFFu;
	while (n--) c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

/* SHA-256, FIPS 180-4. */
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
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(u32 h[8], const u8 *p) {
	u32 w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (u32)p[4 * i] << 24 | (u32)p[4 * i + 1] << 16 | (u32)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		u32 s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		u32 s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	u32 a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		u32 S1 = ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25);
		u32 ch = (e & f) ^ (~e & g);
		u32 t1 = hh + S1 + ch + K[i] + w[i];
		u32 S0 = ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22);
		u32 mj = (a & b) ^ (a & c) ^ (b & c);
		u32 t2 = S0 + mj;
		hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

static void sha256(const u8 *p, u32 n, u8 out[32]) {
	u32 h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	u32 i;
	for (i = 0; i + 64 <= n; i += 64) sha_block(h, p + i);
	u8 last[128];
	u32 rem = n - i, tot = rem < 56 ? 64 : 128;
	memset(last, 0, sizeof last);
	memcpy(last, p + i, rem);
	last[rem] = 0x80;
	u64 bits = (u64)n * 8;
	for (int k = 0; k < 8; k++) last[tot - 1 - k] = (u8)(bits >> (8 * k));
	sha_block(h, last);
	if (tot == 128) sha_block(h, last + 64);
	for (int k = 0; k < 8; k++) {
		out[4 * k] = (u8)(h[k] >> 24);
		out[4 * k + 1] = (u8)(h[k] >> 16);
		out[4 * k + 2] = (u8)(h[k] >> 8);
		out[4 * k + 3] = (u8)h[k];
	}
}

static void insertion_sort(u32 *a, int n) {
	for (int i = 1; i < n; i++) {
		u32 x = a[i];
		int j = i - 1;
		while (j >= 0 && a[j] > x) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = x;
	}
}

static void quicksort(u32 *a, int lo, int hi) {
	while (lo < hi) {
		u32 p = a[lo + (hi - lo) / 2];
		int i = lo, j = hi;
		while (i <= j) {
			while (a[i] < p) i++;
			while (a[j] > p) j--;
			if (i <= j) {
				u32 t = a[i];
				a[i] = a[j];
				a[j] = t;
				i++, j--;
			}
		}
		/* recurse into the smaller half, loop on the larger (bounded stack) */
		if (j - lo < hi - i) {
			quicksort(a, lo, j);
			lo = i;
		} else {
			quicksort(a, i, hi);
			hi = j;
		}
	}
}

int main(void) {
	crc_init();
	u32 r, n = rounds;
	for (r = 0; r < n; r++) {
		lcg = 0x12345678u + r * 0; /* every round recomputes the same answers */
		for (u32 i = 0; i < BUF_LEN; i++) buf[i] = (u8)(next() >> 16);
		results.crc = crc32(buf, BUF_LEN);
		sha256(buf, BUF_LEN, results.sha);
		for (u32 i = 0; i < QN; i++) qarr[i] = next();
		for (u32 i = 0; i < IN; i++) iarr[i] = next() >> 8;
		quicksort(qarr, 0, QN - 1);
		insertion_sort(iarr, IN);
	}
	results.lcg_final = lcg;
	results.rounds_done = r;
	results.magic = 0x600DC0DE;
	return (int)results.crc;
}
