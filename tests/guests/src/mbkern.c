/*
 * mbkern.c - the platform under the multiboot build of compute: the COM1
 * serial port for the console and QEMU's isa-debug-exit device (iobase
 * 0xf4) for the exit status. QEMU exits with (value << 1) | 1: pass() powers
 * off with "Power down", which writes 0x10 (exit status 33); fail() writes
 * 0x11 (exit status 35).
 */
#include "kern.h"

#ifndef GUEST_NAME
#error "GUEST_NAME must be defined by the Makefile"
#endif
const char guest_name[] = GUEST_NAME;

#define COM1 0x3F8
#define DEBUG_EXIT_PORT 0xF4
#define EXIT_PASS 0x10
#define EXIT_FAIL 0x11

static inline void outb(u16 port, u8 v) { asm volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
	u8 v;
	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

void console_write(const char *s, size_t n)
{
	while (n--) {
		while (!(inb(COM1 + 5) & 0x20)) /* LSR: transmit holding register empty */
			;
		outb(COM1, (u8)*s++);
	}
}

void poweroff(const char *msg)
{
	int ok = strlen(msg) == 10 && memcmp(msg, "Power down", 10) == 0;
	for (;;)
		outb(DEBUG_EXIT_PORT, ok ? EXIT_PASS : EXIT_FAIL);
}

void mb_main(void)
{
	kprintf("%s: multiboot, ring 0, no paging\n", guest_name);
	guest_main();
	pass();
}
