#!/bin/sh
# Regenerates the bzImage payload test files: a small i386 ELF laid out like
# vmlinux (linked at 0xc1000000, loaded at 0x01000000, e_entry physical)
# compressed the way Linux's arch/x86/boot/compressed/Makefile does it
# (scripts/Makefile.lib cmd_gzip, cmd_bzip2, cmd_lzma, cmd_xzkern, cmd_lz4).
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/k.S" <<'ASM'
	.section .head.text,"ax"
	.globl startup_32
startup_32:
	.rept 600
	call start_kernel
	jmp startup_32
	.endr
	.text
	.globl start_kernel
start_kernel:
	.rept 600
	call startup_32
	.endr
	ret
	.data
	.globl lguest_data
lguest_data:
	.long 1, 2, 3, 4
ASM
cat > "$tmp/k.ld" <<'LD'
OUTPUT_FORMAT("elf32-i386")
ENTRY(phys_startup_32)
PAGE_OFFSET = 0xC0000000;
phys_startup_32 = startup_32 - PAGE_OFFSET;
SECTIONS {
	. = PAGE_OFFSET + 0x1000000;
	.text : AT(ADDR(.text) - PAGE_OFFSET) { *(.head.text) *(.text) }
	. = ALIGN(4096);
	.data : AT(ADDR(.data) - PAGE_OFFSET) { *(.data) }
	/DISCARD/ : { *(.note*) }
}
LD
gcc -m32 -c "$tmp/k.S" -o "$tmp/k.o"
ld -m elf_i386 --build-id=none -z noexecstack -z max-page-size=4096 -T "$tmp/k.ld" -o vmlinux "$tmp/k.o"
# vmlinux.bin in the kernel is `objcopy -R .comment -S vmlinux`.
objcopy -R .comment -S vmlinux "$tmp/vmlinux.bin"
gzip -n -9 < "$tmp/vmlinux.bin" > vmlinux.bin.gz
bzip2 -9 < "$tmp/vmlinux.bin" > vmlinux.bin.bz2
lzma -9 < "$tmp/vmlinux.bin" > vmlinux.bin.lzma
xz --check=crc32 --x86 --lzma2=dict=32MiB < "$tmp/vmlinux.bin" > vmlinux.bin.xz
lz4 -l -9 -q < "$tmp/vmlinux.bin" > vmlinux.bin.lz4
cp "$tmp/vmlinux.bin" vmlinux.bin
