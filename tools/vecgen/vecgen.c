/*
 * vecgen: differential test vectors for lgdbg's software i386 CPU, taken
 * from real silicon.
 *
 * Every vector is one instruction executed natively here (inline asm), with
 * the input status flags loaded through push/popf just before it and the
 * output flags captured with pushf right after it. The program is
 * freestanding (raw Linux syscalls, no libc) so it builds without 32-bit libc:
 *
 *   gcc -m32 ... (the default; see Makefile): runs in 32-bit compatibility
 *       mode, the very mode the emulated CPU implements, and also covers the
 *       BCD group (DAA DAS AAA AAS AAM AAD), which 64-bit mode lacks;
 *   gcc -m64 ...: the same vectors minus BCD (64-bit mode with 8/16/32-bit
 *       operands has the same semantics); `make check64` diffs the two.
 *
 * Flags are recorded together with the mask of the flags the Intel SDM
 * defines for that instruction and those inputs (see mask_* below); the
 * replaying test compares only those. Inputs that must raise #DE are
 * recorded as "-> #DE" after checking, in a forked child, that the silicon
 * really raises SIGFPE for them.
 *
 * Output: one text file per group in the current directory (alu.txt,
 * shift.txt, muldiv.txt, bit.txt, misc.txt, bcd.txt). Line format:
 *
 *   OP SIZE FIN A B C -> R1 R2 FOUT MASK
 *
 * all numbers hex; "-" = unused, "?" = architecturally undefined result.
 * The meaning of A B C R1 R2 per OP is listed in the header of each file.
 * Deterministic: a fixed-seed xorshift generator, no time, no ASLR effects.
 */

#include "rt.h"

static void open_out(const char *name, const char *legend) {
	if (out_fd >= 0) {
		flush();
		sys3(SYS_CLOSE, out_fd, 0, 0);
	}
	out_fd = (int)sys3(SYS_OPEN, (long)name, O_FLAGS, 0644);
	if (out_fd < 0) die("cannot create output file");
	puts_("# lgdbg i386 differential test vectors, recorded on real silicon by tools/vecgen.\n");
	puts_("# DO NOT EDIT: regenerate with `make -C tools/vecgen` (or `go generate ./hv/cpu`).\n");
	puts_(MODE64 ? "# mode: x86-64 long mode, 8/16/32-bit operands\n"
	             : "# mode: 32-bit protected mode (Linux ia32 compatibility mode)\n");
	puts_("# format: OP SIZE FIN A B C -> R1 R2 FOUT MASK   (hex; '-' unused; '?' undefined result)\n");
	puts_("#   FIN/FOUT: EFLAGS status bits (OF SF ZF AF PF CF) before/after;\n");
	puts_("#   MASK: the flags the Intel SDM defines for this instruction and these inputs;\n");
	puts_("#   '-> #DE' means the instruction must raise the divide error (verified natively).\n");
	puts_(legend);
}

#define CF 0x001
#define PF 0x004
#define AF 0x010
#define ZF 0x040
#define SF 0x080
#define OF 0x800
#define ALL (CF | PF | AF | ZF | SF | OF)

static u64 szmask(int size) { return size == 64 ? ~0ull : (1ull << size) - 1; }

/* A random input of `size` bits: a mix of uniform values and values near the
 * interesting boundaries, so carries/overflows happen often. */
static u64 rval(int size) {
	u64 r = rnd(), m = szmask(size);
	switch (rn(6)) {
	case 0:
		return r & 0xFF;
	case 1:
		return ((m >> 1) + rn(5) - 2) & m; /* around 0x7F..F / 0x80..0 */
	case 2:
		return (1ull << rn((u32)size)) & m;
	case 3:
		return (m - rn(4)) & m;
	default:
		return r & m;
	}
}
static ul rflags(void) { return (ul)(rnd() & ALL); }

/* Edge values for a size: 0, 1, 2, -1, -2, 0x7F.., 0x80.., 0x80..1,
 * 0x7F..E, powers of two, alternating bit patterns. */
static int edges(int size, u64 *e) {
	u64 m = szmask(size), h = 1ull << (size - 1);
	u64 v[] = {0, 1, 2, 3, m, m - 1, h - 1, h, h + 1, h - 2, 0x5555555555555555ull & m,
	           0xAAAAAAAAAAAAAAAAull & m, 1ull << (size / 2), 0x10, 0x0F0F0F0F0F0F0F0Full & m, 0x80 & m};
	int n = (int)(sizeof v / sizeof v[0]);
	for (int i = 0; i < n; i++) e[i] = v[i] & m;
	return n;
}

/* ---- one vector line ---------------------------------------------------- */

enum { NONE = -1, UNDEF = -2 };
struct vec {
	const char *op;
	int size;
	ul fin;
	u64 in[3];
	int nin;
	int inw[3]; /* hex digits of each input */
	u64 out[2];
	int nout; /* 0 with de set */
	int outw[2];
	int undef1; /* R1 is undefined */
	int de;
	ul fout, mask;
};

static void emit(const struct vec *v) {
	puts_(v->op);
	putc_(' ');
	if (v->size >= 10) putc_((char)('0' + v->size / 10));
	putc_((char)('0' + v->size % 10));
	putc_(' ');
	hex(v->fin, 3);
	for (int i = 0; i < 3; i++) {
		putc_(' ');
		if (i < v->nin) hex(v->in[i] & szmask(v->inw[i] * 4), v->inw[i]);
		else putc_('-');
	}
	puts_(" -> ");
	if (v->de) {
		puts_("#DE\n");
		nlines++;
		return;
	}
	for (int i = 0; i < 2; i++) {
		if (i == 0 && v->undef1) putc_('?');
		else if (i < v->nout) hex(v->out[i] & szmask(v->outw[i] * 4), v->outw[i]);
		else putc_('-');
		putc_(' ');
	}
	hex(v->fout & ALL, 3);
	putc_(' ');
	hex(v->mask, 3);
	putc_('\n');
	nlines++;
}

/* ---- native execution helpers -------------------------------------------- */

#define PRE "push %[f]\n\tpopf\n\t"
#define POST "\n\tpushf\n\tpop %[f]"

typedef void (*fn2)(u64 *a, u64 *b, u64 *c, ul *f);

/* Binary op  INS src, dst   (dst = a, src = b). */
#define BIN(N, INS, T, C)                                                                         \
	static void N(u64 *a, u64 *b, u64 *c, ul *f) {                                                \
		T x = (T)*a, y = (T)*b;                                                                   \
		ul fl = *f;                                                                               \
		(void)c;                                                                                  \
		__asm__ volatile(PRE INS " %[y], %[x]" POST : [x] "+" C(x), [f] "+r"(fl) : [y] C(y) : "cc"); \
		*a = x;                                                                                   \
		*f = fl;                                                                                  \
	}
#define BIN3(P, INS) BIN(P##8, INS, u8, "q") BIN(P##16, INS, u16, "r") BIN(P##32, INS, u32, "r")
BIN3(add, "add")
BIN3(or, "or")
BIN3(adc, "adc")
BIN3(sbb, "sbb")
BIN3(and, "and")
BIN3(sub, "sub")
BIN3(xor, "xor")
BIN3(cmp, "cmp")
BIN3(test, "test")
BIN(bt16, "bt", u16, "r") BIN(bt32, "bt", u32, "r")
BIN(bts16, "bts", u16, "r") BIN(bts32, "bts", u32, "r")
BIN(btr16, "btr", u16, "r") BIN(btr32, "btr", u32, "r")
BIN(btc16, "btc", u16, "r") BIN(btc32, "btc", u32, "r")
BIN(imul2_16, "imul", u16, "r") BIN(imul2_32, "imul", u32, "r")

/* BSF/BSR: a = source, b = destination before (and after). */
#define BSX(N, INS, T)                                                                            \
	static void N(u64 *a, u64 *b, u64 *c, ul *f) {                                                \
		T s = (T)*a, d = (T)*b;                                                                   \
		ul fl = *f;                                                                               \
		(void)c;                                                                                  \
		__asm__ volatile(PRE INS " %[s], %[d]" POST : [d] "+r"(d), [f] "+r"(fl) : [s] "r"(s) : "cc"); \
		*b = d;                                                                                   \
		*f = fl;                                                                                  \
	}
BSX(bsf16, "bsf", u16) BSX(bsf32, "bsf", u32) BSX(bsr16, "bsr", u16) BSX(bsr32, "bsr", u32)

/* Unary op on a. */
#define UN(N, INS, T, C)                                                                          \
	static void N(u64 *a, u64 *b, u64 *c, ul *f) {                                                \
		T x = (T)*a;                                                                              \
		ul fl = *f;                                                                               \
		(void)b, (void)c;                                                                         \
		__asm__ volatile(PRE INS " %[x]" POST : [x] "+" C(x), [f] "+r"(fl) : : "cc");              \
		*a = x;                                                                                   \
		*f = fl;                                                                                  \
	}
#define UN3(P, INS) UN(P##8, INS, u8, "q") UN(P##16, INS, u16, "r") UN(P##32, INS, u32, "r")
UN3(inc, "inc")
UN3(dec, "dec")
UN3(neg, "neg")
UN3(not, "not")
UN(bswap32, "bswap", u32, "r")

/* Shift/rotate a by CL = b. */
#define SH(N, INS, T, C)                                                                          \
	static void N(u64 *a, u64 *b, u64 *c, ul *f) {                                                \
		T x = (T)*a;                                                                              \
		u8 n = (u8)*b;                                                                            \
		ul fl = *f;                                                                               \
		(void)c;                                                                                  \
		__asm__ volatile(PRE INS " %%cl, %[x]" POST : [x] "+" C(x), [f] "+r"(fl) : "c"(n) : "cc"); \
		*a = x;                                                                                   \
		*f = fl;                                                                                  \
	}
#define SH3(P, INS) SH(P##8, INS, u8, "q") SH(P##16, INS, u16, "r") SH(P##32, INS, u32, "r")
SH3(shl, "shl")
SH3(shr, "shr")
SH3(sar, "sar")
SH3(rol, "rol")
SH3(ror, "ror")
SH3(rcl, "rcl")
SH3(rcr, "rcr")

/* SHLD/SHRD dst=a, src=b, CL=c. */
#define SHD(N, INS, T)                                                                            \
	static void N(u64 *a, u64 *b, u64 *c, ul *f) {                                                \
		T x = (T)*a, y = (T)*b;                                                                   \
		u8 n = (u8)*c;                                                                            \
		ul fl = *f;                                                                               \
		__asm__ volatile(PRE INS " %%cl, %[y], %[x]" POST : [x] "+r"(x), [f] "+r"(fl) : [y] "r"(y), "c"(n) : "cc"); \
		*a = x;                                                                                   \
		*f = fl;                                                                                  \
	}
SHD(shld16, "shld", u16) SHD(shld32, "shld", u32) SHD(shrd16, "shrd", u16) SHD(shrd32, "shrd", u32)

/* XADD dst=a, src=b. */
#define XADD(N, T, C)                                                                             \
	static void N(u64 *a, u64 *b, u64 *c, ul *f) {                                                \
		T x = (T)*a, y = (T)*b;                                                                   \
		ul fl = *f;                                                                               \
		(void)c;                                                                                  \
		__asm__ volatile(PRE "xadd %[y], %[x]" POST : [x] "+" C(x), [y] "+" C(y), [f] "+r"(fl) : : "cc"); \
		*a = x;                                                                                   \
		*b = y;                                                                                   \
		*f = fl;                                                                                  \
	}
XADD(xadd8, u8, "q") XADD(xadd16, u16, "r") XADD(xadd32, u32, "r")

/* CMPXCHG: accumulator=a, dst=b, src=c. */
#define CX(N, T, C)                                                                               \
	static void N(u64 *a, u64 *b, u64 *c, ul *f) {                                                \
		T acc = (T)*a, d = (T)*b, s = (T)*c;                                                      \
		ul fl = *f;                                                                               \
		__asm__ volatile(PRE "cmpxchg %[s], %[d]" POST : "+a"(acc), [d] "+" C(d), [f] "+r"(fl) : [s] C(s) : "cc"); \
		*a = acc;                                                                                 \
		*b = d;                                                                                   \
		*f = fl;                                                                                  \
	}
CX(cmpxchg8, u8, "q") CX(cmpxchg16, u16, "r") CX(cmpxchg32, u32, "r")

/* One-operand MUL/IMUL: a = accumulator, b = source; a<-low, b<-high. */
static void mul8_(u64 *a, u64 *b, u64 *c, ul *f, int s) {
	u16 ax = (u8)*a;
	u8 y = (u8)*b;
	ul fl = *f;
	(void)c;
	if (s) __asm__ volatile(PRE "imulb %[y]" POST : "+a"(ax), [f] "+r"(fl) : [y] "q"(y) : "cc");
	else __asm__ volatile(PRE "mulb %[y]" POST : "+a"(ax), [f] "+r"(fl) : [y] "q"(y) : "cc");
	*a = ax & 0xFF;
	*b = ax >> 8;
	*f = fl;
}
static void mul8(u64 *a, u64 *b, u64 *c, ul *f) { mul8_(a, b, c, f, 0); }
static void imul8(u64 *a, u64 *b, u64 *c, ul *f) { mul8_(a, b, c, f, 1); }
#define MULW(N, INS, T)                                                                           \
	static void N(u64 *a, u64 *b, u64 *c, ul *f) {                                                \
		T x = (T)*a, y = (T)*b, hi;                                                               \
		ul fl = *f;                                                                               \
		(void)c;                                                                                  \
		__asm__ volatile(PRE INS " %[y]" POST : "+a"(x), "=d"(hi), [f] "+r"(fl) : [y] "r"(y) : "cc"); \
		*a = x;                                                                                   \
		*b = hi;                                                                                  \
		*f = fl;                                                                                  \
	}
MULW(mul16, "mulw", u16) MULW(mul32, "mull", u32) MULW(imul16, "imulw", u16) MULW(imul32, "imull", u32)

/* DIV/IDIV: a = dividend (AX, DX:AX, EDX:EAX), b = divisor; a<-quotient,
 * b<-remainder. Only called for inputs that do not fault (checked). */
static void div8_(u64 *a, u64 *b, u64 *c, ul *f, int s) {
	u16 ax = (u16)*a;
	u8 y = (u8)*b;
	ul fl = *f;
	(void)c;
	if (s) __asm__ volatile(PRE "idivb %[y]" POST : "+a"(ax), [f] "+r"(fl) : [y] "q"(y) : "cc");
	else __asm__ volatile(PRE "divb %[y]" POST : "+a"(ax), [f] "+r"(fl) : [y] "q"(y) : "cc");
	*a = ax & 0xFF;
	*b = ax >> 8;
	*f = fl;
}
static void div8(u64 *a, u64 *b, u64 *c, ul *f) { div8_(a, b, c, f, 0); }
static void idiv8(u64 *a, u64 *b, u64 *c, ul *f) { div8_(a, b, c, f, 1); }
#define DIVW(N, INS, T, SH)                                                                       \
	static void N(u64 *a, u64 *b, u64 *c, ul *f) {                                                \
		T lo = (T)*a, hi = (T)(*a >> SH), y = (T)*b;                                              \
		ul fl = *f;                                                                               \
		(void)c;                                                                                  \
		__asm__ volatile(PRE INS " %[y]" POST : "+a"(lo), "+d"(hi), [f] "+r"(fl) : [y] "r"(y) : "cc"); \
		*a = lo;                                                                                  \
		*b = hi;                                                                                  \
		*f = fl;                                                                                  \
	}
DIVW(div16, "divw", u16, 16) DIVW(div32, "divl", u32, 32) DIVW(idiv16, "idivw", u16, 16) DIVW(idiv32, "idivl", u32, 32)

/* SETcc: flags only, result in a. CMOVcc: dst = a, src = b. */
#define SETCC(N, INS)                                                                             \
	static void N(u64 *a, u64 *b, u64 *c, ul *f) {                                                \
		u8 x = (u8)*a;                                                                            \
		ul fl = *f;                                                                               \
		(void)b, (void)c;                                                                         \
		__asm__ volatile(PRE INS " %[x]" POST : [x] "+q"(x), [f] "+r"(fl) : : "cc");              \
		*a = x;                                                                                   \
		*f = fl;                                                                                  \
	}
#define CMOV(N, INS, T)                                                                           \
	static void N(u64 *a, u64 *b, u64 *c, ul *f) {                                                \
		T x = (T)*a, y = (T)*b;                                                                   \
		ul fl = *f;                                                                               \
		(void)c;                                                                                  \
		__asm__ volatile(PRE INS " %[y], %[x]" POST : [x] "+r"(x), [f] "+r"(fl) : [y] "r"(y) : "cc"); \
		*a = x;                                                                                   \
		*f = fl;                                                                                  \
	}
#define CC(X)                                                                                     \
	SETCC(set##X, "set" #X) CMOV(cmov##X##16, "cmov" #X, u16) CMOV(cmov##X##32, "cmov" #X, u32)
CC(o) CC(no) CC(b) CC(ae) CC(e) CC(ne) CC(be) CC(a) CC(s) CC(ns) CC(p) CC(np) CC(l) CC(ge) CC(le) CC(g)

/* LAHF/SAHF on the whole EAX (a). */
static void lahf_(u64 *a, u64 *b, u64 *c, ul *f) {
	u32 x = (u32)*a;
	ul fl = *f;
	(void)b, (void)c;
	__asm__ volatile(PRE "lahf" POST : "+a"(x), [f] "+r"(fl) : : "cc");
	*a = x;
	*f = fl;
}
static void sahf_(u64 *a, u64 *b, u64 *c, ul *f) {
	u32 x = (u32)*a;
	ul fl = *f;
	(void)b, (void)c;
	__asm__ volatile(PRE "sahf" POST : "+a"(x), [f] "+r"(fl) : : "cc");
	*a = x;
	*f = fl;
}
/* CBW/CWDE and CWD/CDQ: a = EAX, b = EDX. */
#define CONV(N, INS)                                                                              \
	static void N(u64 *a, u64 *b, u64 *c, ul *f) {                                                \
		u32 x = (u32)*a, d = (u32)*b;                                                             \
		ul fl = *f;                                                                               \
		(void)c;                                                                                  \
		__asm__ volatile(PRE INS POST : "+a"(x), "+d"(d), [f] "+r"(fl) : : "cc");                 \
		*a = x;                                                                                   \
		*b = d;                                                                                   \
		*f = fl;                                                                                  \
	}
CONV(cbw16, "cbtw") CONV(cbw32, "cwtl") CONV(cwd16, "cwtd") CONV(cwd32, "cltd")

/* IMUL r, r/m, imm: the immediate must be an assembly-time constant, so a
 * fixed table of immediates is compiled in; b selects one of them. */
#define IMM_LIST(X)                                                                               \
	X(0, 0) X(1, 1) X(2, -1) X(3, 2) X(4, 3) X(5, 7) X(6, 10) X(7, 127) X(8, -128) X(9, -2)        \
	X(10, 0x7FFF) X(11, -0x8000) X(12, 12345) X(13, 0x7FFFFFFF) X(14, -0x7FFFFFFF - 1) X(15, 0x10001) \
	X(16, 100000) X(17, -3) X(18, 0x55555555) X(19, 256)
#define NIMM 20
static const i64 imul_imms[NIMM] = {
#define X(k, v) (i64)(v),
	IMM_LIST(X)
#undef X
};
#define IMUL3(N, T)                                                                               \
	static void N(u64 *a, u64 *b, u64 *c, ul *f) {                                                \
		typedef T IMT;                                                                            \
		IMT s = (IMT)*a, d = 0;                                                                   \
		ul fl = *f;                                                                               \
		(void)c;                                                                                  \
		switch ((int)*b) {                                                                        \
			IMUL3_CASES(T)                                                                        \
		default:                                                                                  \
			die("bad imul immediate index");                                                     \
		}                                                                                         \
		*a = d;                                                                                   \
		*b = (u64)imul_imms[(int)*b];                                                             \
		*f = fl;                                                                                  \
	}
#define IMUL3_CASES(T)                                                                            \
	IMM_LIST(IMUL3_CASE_)
#define IMUL3_CASE_(k, v)                                                                         \
	case k:                                                                                       \
		__asm__ volatile(PRE "imul %[i], %[s], %[d]" POST : [d] "=&r"(d), [f] "+r"(fl) : [s] "r"(s), [i] "i"((IMT)(v)) : "cc"); \
		break;
IMUL3(imul3_16, u16)
IMUL3(imul3_32, u32)

#if !MODE64
/* BCD, 32-bit mode only: a = EAX. AAM/AAD: b = index of the base immediate. */
#define BCD(N, INS)                                                                               \
	static void N(u64 *a, u64 *b, u64 *c, ul *f) {                                                \
		u32 x = (u32)*a;                                                                          \
		ul fl = *f;                                                                               \
		(void)b, (void)c;                                                                         \
		__asm__ volatile(PRE INS POST : "+a"(x), [f] "+r"(fl) : : "cc");                          \
		*a = x;                                                                                   \
		*f = fl;                                                                                  \
	}
BCD(daa_, "daa") BCD(das_, "das") BCD(aaa_, "aaa") BCD(aas_, "aas")
#define BASE_LIST(X) X(0, 10) X(1, 0) X(2, 1) X(3, 2) X(4, 7) X(5, 16) X(6, 0x7F) X(7, 0xFF) X(8, 3) X(9, 0x80)
#define NBASE 10
static const u8 bcd_bases[NBASE] = {
#define X(k, v) v,
	BASE_LIST(X)
#undef X
};
#define AAX(N, INS)                                                                               \
	static void N(u64 *a, u64 *b, u64 *c, ul *f) {                                                \
		u32 x = (u32)*a;                                                                          \
		ul fl = *f;                                                                               \
		(void)c;                                                                                  \
		switch ((int)*b) {                                                                        \
			BASE_LIST(AAX_CASE_##N)                                                               \
		default:                                                                                  \
			die("bad base index");                                                               \
		}                                                                                         \
		*a = x;                                                                                   \
		*b = bcd_bases[(int)*b];                                                                  \
		*f = fl;                                                                                  \
	}
#define AAX_CASE_aam_(k, v)                                                                       \
	case k:                                                                                       \
		__asm__ volatile(PRE ".byte 0xd4, " #v POST : "+a"(x), [f] "+r"(fl) : : "cc");           \
		break;
#define AAX_CASE_aad_(k, v)                                                                       \
	case k:                                                                                       \
		__asm__ volatile(PRE ".byte 0xd5, " #v POST : "+a"(x), [f] "+r"(fl) : : "cc");           \
		break;
AAX(aam_, "aam") AAX(aad_, "aad")
#endif

/* ---- #DE prediction, verified natively in a forked child ----------------- */

static u64 udiv64(u64 n, u64 d, u64 *rem) {
	u64 q = 0, r = 0;
	for (int i = 63; i >= 0; i--) {
		r = (r << 1) | ((n >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= 1ull << i;
		}
	}
	if (rem) *rem = r;
	return q;
}

/* Does DIV/IDIV of size `size` with dividend a (2*size bits) by b fault? */
static int div_faults(int size, int sgn, u64 a, u64 b) {
	u64 dm = szmask(2 * size), m = szmask(size);
	a &= dm;
	b &= m;
	if (b == 0) return 1;
	if (!sgn) return udiv64(a, b, 0) > m;
	/* signed: sign-extend both, divide magnitudes, check the range. */
	int na = (a >> (2 * size - 1)) & 1, nb = (b >> (size - 1)) & 1;
	u64 ma = na ? ((~a + 1) & dm) : a, mb = nb ? ((~b + 1) & m) : b;
	if (2 * size == 64 && na) ma = ~a + 1;
	u64 q = udiv64(ma, mb, 0);
	u64 lim = 1ull << (size - 1); /* |q| <= lim-1 positive, <= lim negative */
	if (na != nb) return q > lim;
	return q > lim - 1;
}

static int child_faults(fn2 fn, u64 a, u64 b, u64 c, ul fl) {
	long pid = sys3(SYS_FORK, 0, 0, 0);
	if (pid < 0) die("fork failed");
	if (pid == 0) {
		fn(&a, &b, &c, &fl);
		sys_exit(0);
	}
	int status = 0;
	if (sys4(SYS_WAIT4, pid, (long)&status, 0, 0) != pid) die("wait4 failed");
	/* killed by SIGFPE (8) */
	return (status & 0x7F) == 8;
}

/* ---- flag masks per the Intel SDM --------------------------------------- */

enum kind {
	K_ARITH, K_LOGIC, K_UNCH, K_SHIFT, K_ROT, K_RC, K_SHD, K_MUL, K_DIV, K_BT, K_BS,
	K_DAA, K_AAA, K_AAM,
};

static ul mask_for(enum kind k, const char *op, int size, u64 a, u64 b, u64 c) {
	(void)a;
	switch (k) {
	case K_ARITH:
	case K_UNCH:
		return ALL;
	case K_LOGIC:
		return ALL & ~AF;
	case K_SHIFT: { /* SHL SHR SAR by CL=b */
		unsigned n = (unsigned)b & 31;
		if (n == 0) return ALL; /* count 0: flags unaffected */
		ul m = ALL & ~AF;       /* AF undefined for non-zero counts */
		if (n != 1) m &= ~OF;   /* OF defined only for 1-bit shifts */
		/* CF undefined for SHL/SHR when count >= operand size */
		if (op[1] == 'H' && n >= (unsigned)size) m &= ~CF;
		return m;
	}
	case K_ROT:
	case K_RC: { /* only CF, OF affected; OF only for 1-bit rotates */
		unsigned n = (unsigned)b & 31;
		if (n == 0) return ALL;
		return n == 1 ? ALL : (ALL & ~OF);
	}
	case K_SHD: {
		unsigned n = (unsigned)c & 31;
		if (n == 0) return ALL;
		ul m = ALL & ~AF;
		if (n != 1) m &= ~OF;
		return m;
	}
	case K_MUL:
		return CF | OF;
	case K_DIV:
		return 0;
	case K_BT:
		return CF | ZF; /* CF = bit; ZF unaffected; OF SF AF PF undefined */
	case K_BS:
		return ZF;
	case K_DAA:
		return ALL & ~OF;
	case K_AAA:
		return AF | CF;
	case K_AAM:
		return SF | ZF | PF;
	}
	return 0;
}

/* ---- the instruction table ---------------------------------------------- */

struct ins {
	const char *op;
	int size;
	fn2 fn;
	enum kind kind;
	int shape;
};
/* shapes: how inputs are generated and which outputs are recorded */
enum {
	S_BIN,    /* a,b -> r1=a'              */
	S_UN,     /* a -> r1                   */
	S_SH,     /* a, count b -> r1           */
	S_SHD,    /* a, b, count c -> r1        */
	S_MUL,    /* a, b -> r1 low, r2 high     */
	S_DIV,    /* a (2*size), b -> q, r | #DE */
	S_BT,     /* a, bit b -> r1             */
	S_BS,     /* src a, dst b -> r1 | ?      */
	S_XADD,   /* a, b -> a', b'              */
	S_CX,     /* acc a, dst b, src c -> acc', dst' */
	S_SET,    /* flags -> r1                 */
	S_CMOV,   /* a, b, flags -> r1           */
	S_EAX,    /* EAX a -> EAX (LAHF SAHF DAA ...) */
	S_CONV,   /* EAX a, EDX b -> EAX, EDX    */
	S_IMUL3,  /* src a, imm b -> r1          */
	S_AAX,    /* EAX a, base b -> EAX | #DE  */
};

#define T3(OP, P, K, SH) {OP, 8, P##8, K, SH}, {OP, 16, P##16, K, SH}, {OP, 32, P##32, K, SH}
#define T2(OP, P, K, SH) {OP, 16, P##16, K, SH}, {OP, 32, P##32, K, SH}

static const struct ins alu[] = {
	T3("ADD", add, K_ARITH, S_BIN), T3("OR", or, K_LOGIC, S_BIN), T3("ADC", adc, K_ARITH, S_BIN),
	T3("SBB", sbb, K_ARITH, S_BIN), T3("AND", and, K_LOGIC, S_BIN), T3("SUB", sub, K_ARITH, S_BIN),
	T3("XOR", xor, K_LOGIC, S_BIN), T3("CMP", cmp, K_ARITH, S_BIN), T3("TEST", test, K_LOGIC, S_BIN),
	T3("INC", inc, K_ARITH, S_UN), T3("DEC", dec, K_ARITH, S_UN), T3("NEG", neg, K_ARITH, S_UN),
	T3("NOT", not, K_UNCH, S_UN), T3("XADD", xadd, K_ARITH, S_XADD), T3("CMPXCHG", cmpxchg, K_ARITH, S_CX),
};
static const struct ins shift[] = {
	T3("SHL", shl, K_SHIFT, S_SH), T3("SHR", shr, K_SHIFT, S_SH), T3("SAR", sar, K_SHIFT, S_SH),
	T3("ROL", rol, K_ROT, S_SH), T3("ROR", ror, K_ROT, S_SH), T3("RCL", rcl, K_RC, S_SH),
	T3("RCR", rcr, K_RC, S_SH), T2("SHLD", shld, K_SHD, S_SHD), T2("SHRD", shrd, K_SHD, S_SHD),
};
static const struct ins muldiv[] = {
	T3("MUL", mul, K_MUL, S_MUL), T3("IMUL", imul, K_MUL, S_MUL), T2("IMUL2", imul2_, K_MUL, S_BIN),
	T2("IMUL3", imul3_, K_MUL, S_IMUL3), T3("DIV", div, K_DIV, S_DIV), T3("IDIV", idiv, K_DIV, S_DIV),
};
static const struct ins bit[] = {
	T2("BT", bt, K_BT, S_BT), T2("BTS", bts, K_BT, S_BT), T2("BTR", btr, K_BT, S_BT),
	T2("BTC", btc, K_BT, S_BT), T2("BSF", bsf, K_BS, S_BS), T2("BSR", bsr, K_BS, S_BS),
	{"BSWAP", 32, bswap32, K_UNCH, S_UN},
};
#define CCT(X, NAME) {"SET" NAME, 8, set##X, K_UNCH, S_SET}, {"CMOV" NAME, 16, cmov##X##16, K_UNCH, S_CMOV}, \
	{"CMOV" NAME, 32, cmov##X##32, K_UNCH, S_CMOV}
static const struct ins misc[] = {
	CCT(o, "O"), CCT(no, "NO"), CCT(b, "B"), CCT(ae, "AE"), CCT(e, "E"), CCT(ne, "NE"),
	CCT(be, "BE"), CCT(a, "A"), CCT(s, "S"), CCT(ns, "NS"), CCT(p, "P"), CCT(np, "NP"),
	CCT(l, "L"), CCT(ge, "GE"), CCT(le, "LE"), CCT(g, "G"),
	{"LAHF", 8, lahf_, K_UNCH, S_EAX}, {"SAHF", 8, sahf_, K_UNCH, S_EAX},
	T2("CBW", cbw, K_UNCH, S_CONV), T2("CWD", cwd, K_UNCH, S_CONV),
};
#if !MODE64
static const struct ins bcd[] = {
	{"DAA", 8, daa_, K_DAA, S_EAX}, {"DAS", 8, das_, K_DAA, S_EAX},
	{"AAA", 8, aaa_, K_AAA, S_EAX}, {"AAS", 8, aas_, K_AAA, S_EAX},
	{"AAM", 8, aam_, K_AAM, S_AAX}, {"AAD", 8, aad_, K_AAM, S_AAX},
};
#endif

/* ---- generation ---------------------------------------------------------- */

static void run1(const struct ins *t, u64 a, u64 b, u64 c, ul fin) {
	struct vec v;
	memset(&v, 0, sizeof v);
	int sz = t->size, w = sz / 4;
	u64 m = szmask(sz);
	v.op = t->op;
	v.size = sz;
	v.fin = fin;
	v.in[0] = a, v.in[1] = b, v.in[2] = c;
	v.inw[0] = v.inw[1] = v.inw[2] = w;
	v.outw[0] = v.outw[1] = w;
	u64 x = a & m, y = b & m, z = c & m;
	ul fl = fin;
	switch (t->shape) {
	case S_BIN:
	case S_BT:
	case S_SH:
	case S_CMOV:
		v.nin = 2;
		if (t->shape == S_SH) v.inw[1] = 2, y = b & 0xFF;
		t->fn(&x, &y, &z, &fl);
		v.nout = 1;
		v.out[0] = x;
		break;
	case S_UN:
		v.nin = 1;
		t->fn(&x, &y, &z, &fl);
		v.nout = 1;
		v.out[0] = x;
		break;
	case S_SHD:
		v.nin = 3;
		v.inw[2] = 2;
		z = c & 0xFF;
		/* a count above the operand size leaves everything undefined */
		if ((z & 31) > (u64)sz) return;
		t->fn(&x, &y, &z, &fl);
		v.nout = 1;
		v.out[0] = x;
		break;
	case S_MUL:
	case S_XADD:
		v.nin = 2;
		t->fn(&x, &y, &z, &fl);
		v.nout = 2;
		v.out[0] = x, v.out[1] = y;
		break;
	case S_CX:
		v.nin = 3;
		t->fn(&x, &y, &z, &fl);
		v.nout = 2;
		v.out[0] = x, v.out[1] = y;
		break;
	case S_DIV:
		v.nin = 2;
		v.inw[0] = 2 * w;
		x = a & szmask(2 * sz);
		v.in[0] = x;
		if (div_faults(sz, t->op[0] == 'I', x, y)) {
			if (!child_faults(t->fn, x, y, z, fin)) die("predicted #DE did not fault natively");
			v.de = 1;
			break;
		}
		t->fn(&x, &y, &z, &fl);
		v.nout = 2;
		v.out[0] = x, v.out[1] = y;
		break;
	case S_BS:
		v.nin = 2;
		t->fn(&x, &y, &z, &fl);
		v.nout = 1;
		v.out[0] = y;
		v.undef1 = (a & m) == 0; /* destination undefined for a zero source */
		break;
	case S_SET:
		v.nin = 1;
		v.inw[0] = 2;
		t->fn(&x, &y, &z, &fl);
		v.nout = 1;
		v.out[0] = x;
		break;
	case S_EAX:
	case S_CONV:
		v.nin = t->shape == S_EAX ? 1 : 2;
		v.inw[0] = v.inw[1] = 8;
		v.outw[0] = v.outw[1] = 8;
		x = a & 0xFFFFFFFF, y = b & 0xFFFFFFFF;
		v.in[0] = x, v.in[1] = y;
		t->fn(&x, &y, &z, &fl);
		v.nout = v.nin;
		v.out[0] = x, v.out[1] = y;
		break;
	case S_IMUL3:
		v.nin = 2;
		y = (u32)b % NIMM;
		t->fn(&x, &y, &z, &fl); /* y becomes the immediate itself */
		v.in[1] = y;
		v.nout = 1;
		v.out[0] = x;
		break;
#if !MODE64
	case S_AAX:
		v.nin = 2;
		v.inw[0] = 8;
		v.inw[1] = 2;
		v.outw[0] = 8;
		x = a & 0xFFFFFFFF;
		v.in[0] = x;
		y = (u32)b % NBASE;
		v.in[1] = bcd_bases[y];
		if (t->op[2] == 'M' && bcd_bases[y] == 0) { /* AAM 0 -> #DE */
			if (!child_faults(t->fn, x, y, z, fin)) die("AAM 0 did not fault natively");
			v.de = 1;
			break;
		}
		t->fn(&x, &y, &z, &fl);
		v.nout = 1;
		v.out[0] = x;
		break;
#endif
	default:
		die("bad shape");
	}
	v.fout = fl;
	v.mask = mask_for(t->kind, t->op, sz, a, v.in[1], v.in[2]);
	emit(&v);
}

static const u8 counts[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 18, 24, 31, 32, 33, 63, 64, 65, 255, 0x80, 0xE1, 0x21};

static void gen(const struct ins *t) {
	int sz = t->size;
	u64 e[32];
	int ne = edges(sz, e);
	u64 m = szmask(sz);
	int i, j;
	switch (t->shape) {
	case S_BIN:
	case S_XADD:
	case S_CMOV:
		for (i = 0; i < ne; i++)
			for (j = 0; j < ne; j++) run1(t, e[i], e[j], 0, rflags());
		for (i = 0; i < 300; i++) run1(t, rval(sz), rval(sz), 0, rflags());
		break;
	case S_UN:
		for (i = 0; i < ne; i++)
			for (j = 0; j < 4; j++) run1(t, e[i], 0, 0, rflags());
		for (i = 0; i < 300; i++) run1(t, rval(sz), 0, 0, rflags());
		break;
	case S_SH:
		for (i = 0; i < ne; i++)
			for (j = 0; j < (int)sizeof counts; j++) run1(t, e[i], counts[j], 0, rflags());
		for (i = 0; i < 300; i++) run1(t, rval(sz), rn(3) ? rn((u32)sz + 2) : rnd() & 0xFF, 0, rflags());
		break;
	case S_SHD:
		for (i = 0; i < ne; i++)
			for (j = 0; j < (int)sizeof counts; j++) run1(t, e[i], rval(sz), counts[j], rflags());
		for (i = 0; i < 400; i++) run1(t, rval(sz), rval(sz), rn(3) ? rn((u32)sz + 1) : rnd() & 0xFF, rflags());
		break;
	case S_MUL:
		for (i = 0; i < ne; i++)
			for (j = 0; j < ne; j++) run1(t, e[i], e[j], 0, rflags());
		for (i = 0; i < 300; i++) run1(t, rval(sz), rval(sz), 0, rflags());
		break;
	case S_DIV: {
		u64 e2[32];
		int n2 = edges(2 * sz, e2);
		for (i = 0; i < n2; i++)
			for (j = 0; j < ne; j++) run1(t, e2[i], e[j], 0, rflags());
		/* random dividends, biased so that most divisions do not overflow:
		 * a high half below the divisor. */
		for (i = 0; i < 400; i++) {
			u64 d = rval(sz), hi = rnd() & m, lo = rnd() & m;
			if (i % 4 != 0 && d != 0) hi = udiv64(hi, d + (d == m ? 0 : 1), 0) & m;
			if (i % 5 == 0) hi = 0;
			if (t->op[0] == 'I' && i % 3 == 0) hi = (lo >> (sz - 1)) ? m : 0; /* sign-extended dividend */
			run1(t, (hi << sz) | lo, d, 0, rflags());
		}
		break;
	}
	case S_BT:
		for (i = 0; i < ne; i++)
			for (j = 0; j < 12; j++) run1(t, e[i], j < 6 ? (u64)j * 7 : rnd() & m, 0, rflags());
		for (i = 0; i < 300; i++) run1(t, rval(sz), rn(2) ? rn((u32)sz * 2) : rnd() & m, 0, rflags());
		break;
	case S_BS:
		for (i = 0; i < ne; i++)
			for (j = 0; j < 4; j++) run1(t, e[i], rval(sz), 0, rflags());
		for (i = 0; i < 16; i++) run1(t, 0, rval(sz), 0, rflags());
		for (i = 0; i < 300; i++) run1(t, rval(sz) & (i % 2 ? rnd() : m), rval(sz), 0, rflags());
		break;
	case S_CX:
		for (i = 0; i < ne; i++)
			for (j = 0; j < ne; j++) run1(t, e[i], (i + j) % 2 ? e[j] : e[i], rval(sz), rflags());
		for (i = 0; i < 300; i++) {
			u64 acc = rval(sz);
			run1(t, acc, i % 2 ? acc : rval(sz), rval(sz), rflags());
		}
		break;
	case S_SET:
		/* every combination of the six status flags, four times over */
		for (i = 0; i < 256; i++) {
			ul f = 0;
			if (i & 1) f |= CF;
			if (i & 2) f |= PF;
			if (i & 4) f |= AF;
			if (i & 8) f |= ZF;
			if (i & 16) f |= SF;
			if (i & 32) f |= OF;
			run1(t, rnd() & 0xFF, 0, 0, f);
		}
		break;
	case S_EAX:
		if (t->kind == K_UNCH) { /* LAHF/SAHF: every AH value, random flags */
			for (i = 0; i < 512; i++) run1(t, (rnd() & 0xFFFF00FF) | ((u64)(i & 0xFF) << 8), 0, 0, rflags());
		} else { /* DAA ...: every AL, with every AF/CF, AH random */
			for (i = 0; i < 1024; i++) {
				ul f = rflags() & ~(AF | CF);
				if (i & 256) f |= AF;
				if (i & 512) f |= CF;
				run1(t, (rnd() & 0xFFFFFF00) | (u64)(i & 0xFF), 0, 0, f);
			}
		}
		break;
	case S_CONV:
		for (i = 0; i < 300; i++) {
			u64 x = rnd();
			if (i < 32) x = (x & ~0xFFFFull) | e[i % ne];
			run1(t, x, rnd(), 0, rflags());
		}
		break;
	case S_IMUL3:
		for (i = 0; i < ne; i++)
			for (j = 0; j < NIMM; j++) run1(t, e[i], j, 0, rflags());
		for (i = 0; i < 200; i++) run1(t, rval(sz), rn(NIMM), 0, rflags());
		break;
	case S_AAX:
		for (i = 0; i < 256; i++)
			for (j = 0; j < 10; j++) run1(t, (rnd() & 0xFFFFFF00) | (u64)i, j, 0, rflags());
		break;
	}
}

static void group(const char *file, const char *legend, const struct ins *t, int n) {
	open_out(file, legend);
	for (int i = 0; i < n; i++) gen(&t[i]);
	flush();
}

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

int main(void) {
	group("alu.txt",
	      "# ADD OR ADC SBB AND SUB XOR CMP TEST: A=dst B=src -> R1=dst'.  INC DEC NEG NOT: A -> R1.\n"
	      "# XADD: A=dst B=src -> R1=dst' R2=src'.  CMPXCHG: A=accumulator B=dst C=src -> R1=acc' R2=dst'.\n",
	      alu, N(alu));
	group("shift.txt",
	      "# SHL SHR SAR ROL ROR RCL RCR: A=dst B=count (CL or imm8) -> R1.  SHLD SHRD: A=dst B=src C=count -> R1.\n",
	      shift, N(shift));
	group("muldiv.txt",
	      "# MUL IMUL (one operand): A=AL/AX/EAX B=src -> R1=low R2=high (AH, DX, EDX).\n"
	      "# IMUL2 (IMUL r,r/m): A=dst B=src -> R1.  IMUL3 (IMUL r,r/m,imm): A=src B=imm (sign-extended) -> R1=dst.\n"
	      "# DIV IDIV: A=dividend (AX, DX:AX, EDX:EAX) B=divisor -> R1=quotient R2=remainder.\n",
	      muldiv, N(muldiv));
	group("bit.txt",
	      "# BT BTS BTR BTC (register bit base): A=dst B=bit offset -> R1=dst'.  BSF BSR: A=src B=dst -> R1=dst'.\n"
	      "# BSWAP: A -> R1.\n",
	      bit, N(bit));
	group("misc.txt",
	      "# SETcc: A=dst byte before -> R1.  CMOVcc: A=dst B=src -> R1.  LAHF SAHF: A=EAX -> R1=EAX.\n"
	      "# CBW (16: CBW, 32: CWDE) CWD (16: CWD, 32: CDQ): A=EAX B=EDX -> R1=EAX R2=EDX.\n",
	      misc, N(misc));
#if !MODE64
	group("bcd.txt",
	      "# DAA DAS AAA AAS: A=EAX -> R1=EAX.  AAM AAD: A=EAX B=imm8 base -> R1=EAX.\n",
	      bcd, N(bcd));
#endif
	flush();
	out_fd = 1;
	puts_("vecgen: ");
	hex(nlines, 8);
	puts_(" (hex) vectors written\n");
	flush();
	return 0;
}

/* Entry point: no libc, so call main and exit with its status. */
__asm__(".globl _start\n_start:\n"
#ifdef __x86_64__
        "\tand $-16, %rsp\n\tcall main\n\tmov %eax, %edi\n\tmov $60, %eax\n\tsyscall\n"
#else
        "\tand $-16, %esp\n\tcall main\n\tmov %eax, %ebx\n\tmov $1, %eax\n\tint $0x80\n"
#endif
);
