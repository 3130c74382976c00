/*
 * lguest.h - the lguest Guest/Host ABI as the lgdbg test guests use it.
 *
 * Every number here comes from /work/shared/spec/lguest-abi.md (cited per
 * block).  The file is included from both C and assembly (__ASSEMBLER__).
 */
#ifndef LGDBG_GUEST_LGUEST_H
#define LGDBG_GUEST_LGUEST_H

/* Memory layout: the C code is linked at PAGE_OFFSET + physical, like Linux
 * (spec §2.6 step 3: lguest_entry runs at its physical address until the
 * first NEW_PGTABLE, then jumps to PAGE_OFFSET). The Makefile overrides it
 * (with the linker's PAGE_OFFSET) for a guest with another split, so lgdbg's
 * tests prove it reads the offset from the ELF instead of assuming it. */
#ifndef PAGE_OFFSET
#define PAGE_OFFSET 0xC0000000
#endif
#define PAGE_SIZE 4096
#define PAGE_SHIFT 12
#define PHYS_LOAD 0x100000 /* code32_start, spec §2.3 */
#define pa(x) ((x) - PAGE_OFFSET)

/* Hypercall vector and numbers, spec §3.1, §3.2. */
#define LGUEST_TRAP_ENTRY 0x1F
#define LHCALL_FLUSH_ASYNC 0
#define LHCALL_LGUEST_INIT 1
#define LHCALL_SHUTDOWN 2
#define LHCALL_NEW_PGTABLE 4
#define LHCALL_FLUSH_TLB 5
#define LHCALL_LOAD_IDT_ENTRY 6
#define LHCALL_SET_STACK 7
#define LHCALL_TS 8
#define LHCALL_SET_CLOCKEVENT 9
#define LHCALL_HALT 10
#define LHCALL_SET_PMD 13
#define LHCALL_SET_PTE 14
#define LHCALL_SET_PGD 15
#define LHCALL_LOAD_TLS 16
#define LHCALL_NOTIFY 17
#define LHCALL_LOAD_GDT_ENTRY 18
#define LHCALL_SEND_INTERRUPTS 19
#define LHCALL_RING_SIZE 64

#define LGUEST_SHUTDOWN_POWEROFF 1
#define LGUEST_SHUTDOWN_RESTART 2

/* Segments, spec §0.1 and §6. */
#define GDT_ENTRIES 32
#define GDT_ENTRY_TLS_MIN 6
#define GDT_ENTRY_KERNEL_CS 12
#define GDT_ENTRY_KERNEL_DS 13
#define GDT_ENTRY_USER_CS 14
#define GDT_ENTRY_USER_DS 15
#define __KERNEL_CS 0x60 /* Linux's selector; the Host forces RPL 1 (spec §5.6) */
#define __KERNEL_DS 0x68
#define KERNEL_CS_RPL1 0x61 /* what the guest really runs with (spec §2.5) */
#define KERNEL_DS_RPL1 0x69
#define __USER_CS 0x73
#define __USER_DS 0x7B

/* x86 EFLAGS and IDT gates (spec §5.4, §5.6). */
#define X86_EFLAGS_IF 0x200
#define GATE_INTR_DPL0 0x8E00 /* present 32-bit interrupt gate, DPL 0 */
#define GATE_INTR_DPL3 0xEE00
#define GATE_TRAP_DPL0 0x8F00 /* present 32-bit trap gate, DPL 0 */
#define GATE_TRAP_DPL3 0xEF00
#define FIRST_EXTERNAL_VECTOR 0x20
#define SYSCALL_VECTOR 0x80

/* Page table bits, spec §0.1 and §7.2. */
#define _PAGE_PRESENT 0x001
#define _PAGE_RW 0x002
#define _PAGE_USER 0x004
#define _PAGE_PWT 0x008
#define _PAGE_PCD 0x010
#define _PAGE_ACCESSED 0x020
#define _PAGE_DIRTY 0x040
#define _PAGE_PSE 0x080
#define _PAGE_GLOBAL 0x100
#define _PAGE_TABLE 0x067
/* head_32.S's attributes: PDE_IDENT_ATTR = _PAGE_TABLE, PTE_IDENT_ATTR =
 * PRESENT|RW (the Host sets A and D itself, spec §7.3), PAE PDPT entries
 * carry only PRESENT (spec §7.2: CHECK_GPGD_MASK is 0x001 with PAE). */
#define PDE_IDENT_ATTR 0x067
#define PTE_IDENT_ATTR 0x003
#define PGD_IDENT_ATTR_PAE 0x001

#ifdef CONFIG_PAE
#define PTE_SIZE 8
#define PTRS_PER_PTE 512
#define PTRS_PER_PMD 512
#define PTRS_PER_PGD 4
#define PGDIR_SHIFT 30
#define PMD_SHIFT 21
#else
#define PTE_SIZE 4
#define PTRS_PER_PTE 1024
#define PTRS_PER_PGD 1024
#define PGDIR_SHIFT 22
#endif

/* The initial page table maps guest RAM 1:1 and again at PAGE_OFFSET, up to
 * this much (or the e820 RAM size if smaller). */
#define MAX_INITIAL_MAP (128 << 20)
#define INITIAL_PT_PAGES (MAX_INITIAL_MAP / (PTRS_PER_PTE * PAGE_SIZE))

/* boot_params fields the guests read, spec §2.4. */
#define BP_E820_ENTRIES 0x1E8
#define BP_E820_MAP 0x2D0
#define BP_LOADFLAGS 0x211
#define BP_VERSION 0x206
#define BP_CMD_LINE_PTR 0x228
#define BP_HARDWARE_SUBARCH 0x23C
#define KEEP_SEGMENTS 0x40
#define X86_SUBARCH_LGUEST 1
#define COMMAND_LINE_SIZE 2048

/* struct lguest_data offsets, spec §4 (3.x layout). */
#define LGD_IRQ_ENABLED 0x000
#define LGD_BLOCKED_INTERRUPTS 0x004
#define LGD_CR2 0x008
#define LGD_TIME 0x00C
#define LGD_IRQ_PENDING 0x014
#define LGD_HCALL_STATUS 0x018
#define LGD_HCALLS 0x058
#define LGD_RESERVE_MEM 0x558
#define LGD_TSC_KHZ 0x55C
#ifdef LGUEST_4X
/* 4.x layout (4.x spec §1): one noirq_iret, every later field 4 bytes down. */
#define LGD_NOIRQ_IRET 0x560
#define LGD_KERNEL_ADDRESS 0x564
#define LGD_SYSCALL_VEC 0x568
#define LGD_SIZE 0x56C
#else
#define LGD_NOIRQ_START 0x560
#define LGD_NOIRQ_END 0x564
#define LGD_KERNEL_ADDRESS 0x568
#define LGD_SYSCALL_VEC 0x56C
#define LGD_SIZE 0x570
#endif

/* Head-code probe results (head.S -> boot_probe), reported from C. */
#define PROBE_BAD_SUBARCH 0x01
#define PROBE_BAD_VERSION 0x02
#define PROBE_NO_KEEP_SEGMENTS 0x04
#define PROBE_NO_E820 0x08
#define PROBE_LOW_MISMATCH 0x10
#define PROBE_HIGH_MISMATCH 0x20
#define PROBE_TOP_MISMATCH 0x40

#endif
