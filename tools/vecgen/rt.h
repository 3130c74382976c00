/*
 * rt.h: the freestanding runtime shared by vecgen.c and snippets.c — raw
 * Linux syscalls (i386 int $0x80 or x86-64 syscall), a buffered writer, hex
 * output, and a fixed-seed xorshift generator. No libc, no libgcc.
 */
#ifndef VECGEN_RT_H
#define VECGEN_RT_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned long ul; /* pushf/popf width: 32 or 64 bits */
typedef long long i64;

/* ---- freestanding runtime ---------------------------------------------- */

void *memset(void *d, int c, unsigned long n) {
	u8 *p = d;
	while (n--) *p++ = (u8)c;
	return d;
}
void *memcpy(void *d, const void *s, unsigned long n) {
	u8 *p = d;
	const u8 *q = s;
	while (n--) *p++ = *q++;
	return d;
}

#ifdef __x86_64__
static long sys3(long n, long a, long b, long c) {
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}
__attribute__((unused)) static long sys4(long n, long a, long b, long c, long d) {
	long r;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return r;
}
#define SYS_WRITE 1
#define SYS_OPEN 2
#define SYS_CLOSE 3
#define SYS_FORK 57
#define SYS_WAIT4 61
#define SYS_EXIT 60
#define O_FLAGS 01101 /* O_WRONLY|O_CREAT|O_TRUNC */
#define MODE64 1
#else
static long sys3(long n, long a, long b, long c) {
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}
__attribute__((unused)) static long sys4(long n, long a, long b, long c, long d) {
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d) : "memory");
	return r;
}
#define SYS_WRITE 4
#define SYS_OPEN 5
#define SYS_CLOSE 6
#define SYS_FORK 2
#define SYS_WAIT4 114
#define SYS_EXIT 1
#define O_FLAGS 01101
#define MODE64 0
#endif

static void sys_exit(int code) {
	sys3(SYS_EXIT, code, 0, 0);
	for (;;) {
	}
}

static int out_fd = -1;
static char obuf[1 << 16];
static unsigned olen;
__attribute__((unused)) static unsigned long nlines;

static void flush(void) {
	unsigned off = 0;
	while (off < olen) {
		long w = sys3(SYS_WRITE, out_fd, (long)(obuf + off), olen - off);
		if (w <= 0) sys_exit(3);
		off += (unsigned)w;
	}
	olen = 0;
}
static void putc_(char c) {
	if (olen == sizeof obuf) flush();
	obuf[olen++] = c;
}
static void puts_(const char *s) {
	while (*s) putc_(*s++);
}
static void die(const char *msg) {
	if (out_fd >= 0) flush();
	out_fd = 2;
	puts_("vecgen: ");
	puts_(msg);
	putc_('\n');
	flush();
	sys_exit(1);
}
static void hex(u64 v, int digits) {
	for (int i = digits - 1; i >= 0; i--) putc_("0123456789abcdef"[(v >> (4 * i)) & 15]);
}
/* ---- deterministic inputs ------------------------------------------------ */

static u64 rs = 0x9E3779B97F4A7C15ull;
static u64 rnd(void) {
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

/* rn returns a value in [0, n); 32-bit arithmetic only (no libgcc needed). */
static u32 rn(u32 n) { return (u32)(rnd() >> 32) % n; }

#endif
