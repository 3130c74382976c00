/*
 * kernlike_payload.S - the compressed "vmlinux" the kernlike guest inflates:
 * genkernlike's DEFLATE stream, included verbatim.
 */
	.section .head.rodata, "a"
	.globl kernlike_payload, kernlike_payload_end
kernlike_payload:
	.incbin KERNLIKE_PAYLOAD
kernlike_payload_end:
