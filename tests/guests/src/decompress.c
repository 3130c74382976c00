/*
 * decompress.c - the kernlike guest's "bzImage decompressor": inflate the
 * payload (a raw DEFLATE stream genkernlike made with Go's compress/flate)
 * to KERNLIKE_OUT_PA and CRC-32 the result, as Linux's decompressor inflates
 * vmlinux and checks the gzip CRC before jumping to the kernel.
 *
 * In the lguest build head.S calls decompress_kernel() at the physical load
 * address, before LGUEST_INIT, so it runs entirely under linear_pages
 * (spec §2.6, §10.1); kernlike.ld links this file, inflate.c and the payload
 * at physical addresses. No hypercall is possible here (the console is one),
 * so the result waits in decomp_result for the C kernel to report.
 */
#include "kernlike.h"
#include "inflate.h"

extern const u8 kernlike_payload[], kernlike_payload_end[];

struct decomp_result decomp_result;

static u32 crc_table[256];

u32 kl_crc32(const u8 *p, u32 n)
{
	if (crc_table[1] == 0)
		for (u32 i = 0; i < 256; i++) {
			u32 c = i;
			for (int k = 0; k < 8; k++)
				c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			crc_table[i] = c;
		}
	u32 c = 0xFFFFFFFFu;
	while (n--)
		c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

void decompress_kernel(void)
{
	size_t len = 0;
	u8 *out = (u8 *)KERNLIKE_OUT_PA;
	decomp_result.in_len = (u32)(kernlike_payload_end - kernlike_payload);
	decomp_result.err = inflate(kernlike_payload, decomp_result.in_len, out, KERNLIKE_OUT_CAP, &len);
	decomp_result.out_len = (u32)len;
	decomp_result.crc = kl_crc32(out, (u32)len);
	decomp_result.done = 1;
}
