// Package boot is lgdbg's Launcher image loading: it parses a Linux i386
// kernel image (a bzImage or an ELF vmlinux) and lays it out in guest-physical
// memory the way the 3.x lguest Launcher (tools/lguest/lguest.c) does, so that
// the Guest finds exactly the environment of spec §2.2-§2.4.
//
// # Guest-physical layout written by Load (spec §2.2)
//
//	0x00000000-0x00000FFF  boot_params ("zero page"): all zero except the
//	                       fields of spec §2.4 (see Load)
//	0x00001000-0x000017FF  kernel command line, NUL-terminated
//	                       (COMMAND_LINE_SIZE = 2048 bytes including the NUL,
//	                       or less if a bzImage's cmdline_size says so)
//	0x00100000-...         bzImage: the protected-mode part (the file from
//	                       offset (setup_sects+1)*512 to EOF; setup_sects 0
//	                       means 4, as the boot protocol says)
//	p_paddr-...            ELF: every PT_LOAD segment's p_filesz bytes at its
//	                       *physical* address; BSS up to p_memsz is zeroed
//	mem-page_align(n)-mem  initrd (optional)
//	mem-...                device page and virtqueue rings: NOT written here
//	                       (package hv/virtio); Load writes only below mem
//
// mem is Config.RAM, the size the Guest sees in its single e820 entry. The
// physical memory handed to Load may be larger (RAM followed by the device
// pages, spec §2.2, §2.8); Load never touches anything at or above RAM.
//
// Load validates before it writes: the kernel must fit in RAM, must not
// overlap the zero page and command line (ELF segments can ask for any
// address) or the initrd, and a bzImage's decompression footprint
// (init_size from the setup header, at the 16 MiB kernel_alignment the
// Launcher sets) must fit below the initrd, because the compressed kernel
// decompresses there (spec §2.4, "Consequence of the 16 MiB alignment").
//
// # PAE detection
//
// Guest and Host must agree on CONFIG_X86_PAE and nothing in the ABI
// negotiates it (spec §0). Image.PAE is a hint the Host can use to pick its
// paging mode:
//
//   - ELF: a symbol named "initial_pg_pmd" means PAE (Linux's
//     arch/x86/kernel/head_32.S defines it only with CONFIG_X86_PAE; lgdbg's
//     test guests define it in their PAE builds). A symbol table without it
//     means non-PAE. No symbol table means unknown.
//   - bzImage: the kernel is compressed, so the answer is unknown unless the
//     image carries the lgdbg test-guest marker below.
//
// # The lgdbg test-guest bzImage marker
//
// lgdbg's test-guest packer (tests/guests/mkbzimage) records the paging mode
// of the kernel it packs in the setup area, right after the setup header
// (which ends at 0x26C for boot protocol 2.15), at file offset 0x300:
//
//	file offset 0x300, 8 bytes, ASCII, no NUL:
//	    "LGDBGPAE"  the kernel was built with PAE      -> PAEYes
//	    "LGDBGNOP"  the kernel was built without PAE   -> PAENo
//	anything else (a real kernel has setup code here)  -> PAEUnknown
//
// Eight bytes starting with "LGDBG" but with another suffix are rejected with
// ErrMalformed, so a typo in the packer is caught instead of silently
// meaning "unknown". The setup area of every bzImage is at least two sectors
// (1024 bytes), so offset 0x300 always lies inside it. The packer should also
// set syssize (0x1F4) to the payload size in 16-byte paragraphs (Parse rejects
// a syssize larger than the file as truncated; 0 skips that check) and
// init_size (0x260) to 0 for a kernel that is not relocated or decompressed,
// since a non-zero init_size is checked against RAM as the decompressor's
// footprint at 16 MiB.
//
// # Errors
//
// Every rejection is one line that wraps one of the exported sentinel errors
// (ErrNotKernel, ErrTruncated, ErrProtocolTooOld, Err64Bit, ErrUnsupported,
// ErrMalformed, ErrTooBig, ErrOverlap, ErrCmdline, ErrBadSize, ErrConfig), so
// callers can test with errors.Is and print err.Error() as is. No input makes
// Parse, ParseSize or Load panic (FuzzParse exercises Parse).
package boot
