/*
 * kern.h - the tiny C runtime shared by the lgdbg test guests.
 */
#ifndef LGDBG_GUEST_KERN_H
#define LGDBG_GUEST_KERN_H

#include <stddef.h>
#include <stdint.h>
#include "lguest.h"

typedef uint32_t u32;
typedef uint64_t u64;
typedef uint16_t u16;
typedef uint8_t u8;

#ifdef CONFIG_PAE
typedef u64 pte_t;
#else
typedef u32 pte_t;
#endif

/* struct lguest_data, 3.x i386 layout (spec §4); kern.c asserts the
 * offsets. */
struct hcall_args {
	u32 arg0, arg1, arg2, arg3, arg4;
};

struct lguest_data {
	u32 irq_enabled;
	u32 blocked_interrupts[1];
	u32 cr2;
	struct {
		int32_t tv_sec;
		int32_t tv_nsec;
	} time;
	int32_t irq_pending;
	u8 hcall_status[LHCALL_RING_SIZE];
	struct hcall_args hcalls[LHCALL_RING_SIZE];
	u32 reserve_mem;
	u32 tsc_khz;
#ifdef LGUEST_4X
	u32 noirq_iret;
#else
	u32 noirq_start;
	u32 noirq_end;
#endif
	u32 kernel_address;
	u32 syscall_vec;
};

extern struct lguest_data lguest_data;

/* The frame entry.S builds (lowest address first). */
struct trapframe {
	u32 es, ds;
	u32 edi, esi, ebp, esp0, ebx, edx, ecx, eax; /* pushal */
	u32 vector, errcode;
	u32 eip, cs, eflags;
	u32 user_esp, user_ss; /* only valid when (cs & 3) == 3 */
};

/* Provided by each guest. */
extern const char guest_name[];
void guest_main(void);
/* Returns non-zero if the guest handled the trap (the default handler
 * fails the run on any trap nobody expected). */
int guest_trap(struct trapframe *f);

/* head.S */
extern u32 boot_esi, boot_probe, boot_probe_addr[3], boot_ram_size, initial_map_pages;
extern u8 boot_params[4096];
extern char boot_command_line[];
extern pte_t initial_page_table[];
extern char kernel_stack[], kernel_stack_top[];

/* entry.S */
#ifdef LGUEST_4X
extern char lguest_noirq_iret[];
#else
extern char lguest_noirq_start[], lguest_noirq_end[];
#endif
u32 enter_user(u32 eip, u32 esp);
void leave_user(u32 code) __attribute__((noreturn));
#define DECLARE_STUB(v) extern char trap_stub_##v[]
DECLARE_STUB(0); DECLARE_STUB(1); DECLARE_STUB(3); DECLARE_STUB(4);
DECLARE_STUB(5); DECLARE_STUB(6); DECLARE_STUB(7); DECLARE_STUB(9);
DECLARE_STUB(10); DECLARE_STUB(11); DECLARE_STUB(12); DECLARE_STUB(13);
DECLARE_STUB(14); DECLARE_STUB(16); DECLARE_STUB(17); DECLARE_STUB(18);
DECLARE_STUB(19); DECLARE_STUB(32); DECLARE_STUB(33); DECLARE_STUB(34);
DECLARE_STUB(35); DECLARE_STUB(128);

/* Linker script symbols. */
extern char _text[], _etext[], __bss_start[], __bss_end[], _end[];

#define __pa(x) ((u32)(x) - PAGE_OFFSET)
#define __va(x) ((void *)((u32)(x) + PAGE_OFFSET))

/* Synchronous hypercall (spec §3.1): int $0x1f, eax = number, ebx, ecx, edx,
 * esi = arguments. The Host writes no result. */
static inline void hcall(u32 call, u32 a1, u32 a2, u32 a3, u32 a4)
{
	asm volatile("int $0x1f"
		     : "+a"(call), "+b"(a1), "+c"(a2), "+d"(a3), "+S"(a4)
		     :
		     : "memory");
}

/* Asynchronous hypercall through the lguest_data ring (spec §3.4). */
void async_hcall(u32 call, u32 a1, u32 a2, u32 a3, u32 a4);
extern unsigned int async_next_call;

/* Console and exit. */
void console_write(const char *s, size_t n);
void kputs(const char *s);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void poweroff(const char *msg) __attribute__((noreturn));
void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void pass(void) __attribute__((noreturn));
#define CHECK(cond, ...)                   \
	do {                               \
		if (!(cond))               \
			fail(__VA_ARGS__); \
	} while (0)

/* Libc bits. */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
size_t strlen(const char *s);
int memcmp(const void *a, const void *b, size_t n);

/* Interrupt flag in lguest_data (spec §5.5). */
static inline void irq_disable(void) { *(volatile u32 *)&lguest_data.irq_enabled = 0; }
static inline void irq_enable(void) { *(volatile u32 *)&lguest_data.irq_enabled = X86_EFLAGS_IF; }

/* IDT: x86 gate encoding (lo = sel << 16 | off & 0xFFFF, hi = off &
 * 0xFFFF0000 | type/DPL), sent with LHCALL_LOAD_IDT_ENTRY (spec §3.3.6). */
void set_gate(unsigned vec, void *handler, u32 type);
void setup_default_idt(void);

/* GDT descriptor for a flat segment with base/limit/access byte/flags. */
void gdt_entry(u32 base, u32 limit, u32 access, u32 flags, u32 *lo, u32 *hi);

/* Page tables. */
pte_t *lookup_pte(pte_t *pgdir, u32 va, int *level_missing);
pte_t *map_page(pte_t *pgdir, u32 va, u32 pa, u32 flags, int notify);
void *alloc_page(void);

static inline u32 read_esp(void)
{
	u32 v;
	asm volatile("movl %%esp, %0" : "=r"(v));
	return v;
}

#endif
