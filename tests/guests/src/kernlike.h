/*
 * kernlike.h - what the kernlike guest's decompressor (physical, under
 * linear_pages) and its kernel part (at PAGE_OFFSET) share.
 */
#ifndef LGDBG_GUEST_KERNLIKE_H
#define LGDBG_GUEST_KERNLIKE_H

#include <stdint.h>

typedef uint8_t u8;
typedef uint32_t u32;

/* Where the payload inflates to, and how much room it has: above the image,
 * below the relocation target (all guest-physical). */
#define KERNLIKE_OUT_PA 0x00800000u
#define KERNLIKE_OUT_CAP 0x00400000u

struct decomp_result {
	u32 done;
	int err;	/* INFLATE_OK or an INFLATE_ERR_* code */
	u32 in_len;	/* compressed bytes */
	u32 out_len;	/* inflated bytes */
	u32 crc;	/* CRC-32 of the inflated bytes */
};

extern struct decomp_result decomp_result;
void decompress_kernel(void);
u32 kl_crc32(const u8 *p, u32 n);

#endif
