/*
 * lib.c - libc bits, printf and PASS/FAIL reporting shared by every guest
 * (the lguest guests and the multiboot build of compute). The platform
 * provides console_write() and poweroff().
 */
#include <stdarg.h>
#include "kern.h"

/* ---- libc bits (gcc may emit calls to these even when freestanding) ---- */

void *memset(void *d, int c, size_t n)
{
	u8 *p = d;
	while (n--)
		*p++ = (u8)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	u8 *p = d;
	const u8 *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *p = a, *q = b;
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p < *q ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

/* ---- formatted output ---- */

void kputs(const char *s) { console_write(s, strlen(s)); }

struct outbuf {
	char *p;
	size_t n, cap;
};

static void out_c(struct outbuf *o, char c)
{
	if (o->n + 1 < o->cap)
		o->p[o->n++] = c;
}

static void out_num(struct outbuf *o, u32 v, unsigned base, int width, char pad, int neg)
{
	char tmp[12];
	int i = 0;
	do {
		tmp[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[i++] = '-';
	while (width-- > i)
		out_c(o, pad);
	while (i)
		out_c(o, tmp[--i]);
}

static size_t kvsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct outbuf o = {buf, 0, cap};
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			out_c(&o, *fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l')
			fmt++;
		switch (*fmt) {
		case 'd': {
			int32_t v = va_arg(ap, int32_t);
			out_num(&o, v < 0 ? -(u32)v : (u32)v, 10, width, pad, v < 0);
			break;
		}
		case 'u':
			out_num(&o, va_arg(ap, u32), 10, width, pad, 0);
			break;
		case 'x':
			out_num(&o, va_arg(ap, u32), 16, width, pad, 0);
			break;
		case 'c':
			out_c(&o, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			while (*s)
				out_c(&o, *s++);
			break;
		}
		case '%':
			out_c(&o, '%');
			break;
		default:
			out_c(&o, '?');
			break;
		}
	}
	buf[o.n] = 0;
	return o.n;
}

void kprintf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	size_t n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	console_write(buf, n);
}

void fail(const char *fmt, ...)
{
	char buf[128];
	size_t n = 0;
	const char *p = guest_name;
	while (*p && n < 64)
		buf[n++] = *p++;
	memcpy(buf + n, ": FAIL: ", 8);
	n += 8;
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	kputs(buf);
	kputs("\n");
	poweroff(buf);
}

/* Success is reported on the console and the guest then powers off the way
 * Linux's pm_power_off does: SHUTDOWN("Power down", 1) (spec §3.3.3). */
void pass(void)
{
	kprintf("%s: PASS\n", guest_name);
	poweroff("Power down");
}
