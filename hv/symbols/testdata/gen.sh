#!/bin/sh
# Regenerates the symbol-model test ELFs: one kernel-like layout linked at
# PAGE_OFFSET 0xC0000000 (3G/1G) and at 0x80000000 (VMSPLIT_2G). Like
# vmlinux: .text/.data/.bss linked at PAGE_OFFSET + 16 MiB and loaded at
# 16 MiB, absolute symbols (PAGE_OFFSET, phys_startup_32, a small constant),
# a file symbol and section symbols; plus a bzImage-like "decompressor"
# linked and loaded at 0x100000 for the golden disassembly.
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/k.S" <<'ASM'
	.file "head_32.S"
	.section .head.text,"ax"
	.globl startup_32
startup_32:				/* a label: no size */
	movl $pa(stack_end), %esp
	movl $pa(lguest_data), %edx
	movl $4, %eax			/* == num_subarch_entries, an ABS symbol */
	pushl $0			/* == VDSO32_PRELINK, an ABS symbol */
	jmp lguest_entry - PAGE_OFFSET
	.text
	.globl lguest_entry
	.type lguest_entry, @function
lguest_entry:
	movl $0, %eax
	movl $lguest_data, %ebx
	int $0x1f
	ret
	.size lguest_entry, . - lguest_entry
	.type helper, @function
helper:					/* local */
	nop
	ret
	.size helper, . - helper
	.globl after_helper
after_helper:
	ret
	.data
	.globl lguest_data
	.type lguest_data, @object
lguest_data:
	.fill 64, 1, 0
	.size lguest_data, 64
	.bss
	.globl stack
	.type stack, @object
stack:
	.fill 8192, 1, 0
	.size stack, 8192
	.globl stack_end
stack_end:
	.set num_subarch_entries, 4
	.globl num_subarch_entries
	.set VDSO32_PRELINK, 0
	.globl VDSO32_PRELINK
ASM
for po in C0000000 80000000; do
cat > "$tmp/k.ld" <<LD
OUTPUT_FORMAT("elf32-i386")
ENTRY(phys_startup_32)
PAGE_OFFSET = 0x$po;
phys_startup_32 = startup_32 - PAGE_OFFSET;
SECTIONS {
	. = PAGE_OFFSET + 0x1000000;
	.text : AT(ADDR(.text) - PAGE_OFFSET) { *(.head.text) *(.text) }
	. = ALIGN(4096);
	.data : AT(ADDR(.data) - PAGE_OFFSET) { *(.data) }
	. = ALIGN(4096);
	.bss : AT(ADDR(.bss) - PAGE_OFFSET) { *(.bss) }
	/DISCARD/ : { *(.note*) }
}
LD
gcc -m32 -DPAGE_OFFSET=0x$po '-Dpa(x)=((x)-0x'$po')' -c "$tmp/k.S" -o "$tmp/k.o"
ld -m elf_i386 --build-id=none -z noexecstack -z max-page-size=4096 -T "$tmp/k.ld" -o vmlinux-$po "$tmp/k.o"
done

# decompressor.bin: code like a bzImage's arch/x86/boot/compressed/head_32.S,
# run at code32_start 0x100000. Its numbers include a kernel link address,
# the kernel's load address and small constants that equal absolute vmlinux
# symbols; none of them may be shown with vmlinux names.
cat > "$tmp/d.S" <<'ASM'
	.code32
startup_32:
	cld
	testb $(1 << 6), 0x211(%esi)
	jnz 1f
	cli
	movl $0x18, %eax
	movl %eax, %ds
1:	leal 0x1e4(%esi), %esp
	call 2f
2:	popl %ebp
	subl $(2b - startup_32), %ebp
	movl $0x01000000, %ebx
	movl $4, %eax
	pushl $0
	movl $0xc1000000, %ecx
	movl %eax, 0x01001000
	call decompress
	jmp *%ebx
decompress:
	ret
ASM
gcc -m32 -c "$tmp/d.S" -o "$tmp/d.o"
ld -m elf_i386 --build-id=none -Ttext 0x100000 --oformat binary -o decompressor.bin "$tmp/d.o"
