/*
 * inflate.h - a small DEFLATE (RFC 1951) decoder for the kernlike guest.
 */
#ifndef LGDBG_GUEST_INFLATE_H
#define LGDBG_GUEST_INFLATE_H

#include <stddef.h>
#include <stdint.h>

/* Result codes of inflate(). */
#define INFLATE_OK 0
#define INFLATE_ERR_INPUT -1	 /* ran past the end of the input */
#define INFLATE_ERR_OUTPUT -2	 /* the output does not fit */
#define INFLATE_ERR_BLOCK -3	 /* block type 3 */
#define INFLATE_ERR_STORED -4	 /* stored block length check failed */
#define INFLATE_ERR_CODES -5	 /* an invalid Huffman code set */
#define INFLATE_ERR_SYMBOL -6	 /* a symbol no code maps to, or out of range */
#define INFLATE_ERR_DISTANCE -7 /* a distance before the start of the output */

/* Inflates the raw DEFLATE stream in[0..in_len) into out[0..out_cap);
 * *out_len gets the bytes written. Not reentrant: the state is static. */
int inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len);

#endif
