/*
 * mmxgen: differential vectors for lgdbg's MMX (hv/cpu/mmx.go), recorded on
 * this machine's silicon in 32-bit compatibility mode. Freestanding like
 * vecgen.c (rt.h). Output: mmx.txt in the current directory (the Makefile
 * runs it in hv/cpu/testdata/mmx/, outside the testdata/ *.txt glob of the
 * single-instruction replay, because the line format differs).
 *
 * Data lines:   OP A B C -> R
 *   OP a lowercase mnemonic; "_i" marks the shift-by-imm8 forms (0F 71-73);
 *   A = destination mm before (MOVD-in: the r32 source), B = source mm (or
 *   the shift count), C = imm8 or '-', R = destination after (r32 for
 *   MOVD-out and PMOVMSKB). Each op: pairs of lane-structured edge values,
 *   then seeded random values; >= 256 per op.
 * State lines:  state KIND TOP ABR R0 .. R7 -> FSW FTW ABR' R0' .. R7'
 *   An FXRSTOR image (TOP, abridged tags, the eight 80-bit registers in
 *   ST(i) order) is loaded, one MMX instruction KIND runs, and FNSTENV
 *   (FSW, full tag word) and FXSAVE (abridged tags, registers) record the
 *   x87 state after: the aliasing of mm i onto R i, the exponent ones, TOS
 *   and the tags (SDM vol. 1 §9.5, Table 9-4).
 */

#include "rt.h"

/* Each stub works on mm0 (destination) and mm1 (source) or eax, and
 * returns. Imm8 forms are tables of 256 stubs, 8 bytes apart. */
#define BIN(op) ".globl s_" #op "\ns_" #op ":\n\t" #op " %mm1, %mm0\n\tret\n"
#define IMM(op, name) \
	".balign 8\n.globl s_" #name "\ns_" #name ":\n.set i, 0\n.rept 256\n\t" op "\n\tret\n\t.balign 8\n.set i, i+1\n.endr\n"
__asm__(".text\n" BIN(punpcklbw) BIN(punpcklwd) BIN(punpckldq) BIN(packsswb) BIN(pcmpgtb) BIN(pcmpgtw)
        BIN(pcmpgtd) BIN(packuswb) BIN(punpckhbw) BIN(punpckhwd) BIN(punpckhdq) BIN(packssdw)
        BIN(pcmpeqb) BIN(pcmpeqw) BIN(pcmpeqd) BIN(paddq) BIN(pmullw) BIN(psubusb) BIN(psubusw)
        BIN(pminub) BIN(pand) BIN(paddusb) BIN(paddusw) BIN(pmaxub) BIN(pandn) BIN(pavgb) BIN(pavgw)
        BIN(pmulhuw) BIN(pmulhw) BIN(psubsb) BIN(psubsw) BIN(pminsw) BIN(por) BIN(paddsb) BIN(paddsw)
        BIN(pmaxsw) BIN(pxor) BIN(pmuludq) BIN(pmaddwd) BIN(psadbw) BIN(psubb) BIN(psubw) BIN(psubd)
        BIN(psubq) BIN(paddb) BIN(paddw) BIN(paddd) BIN(movq)
        BIN(psrlw) BIN(psrld) BIN(psrlq) BIN(psraw) BIN(psrad) BIN(psllw) BIN(pslld) BIN(psllq)
        ".globl s_movd_in\ns_movd_in:\n\tmovd %eax, %mm0\n\tret\n"
        ".globl s_movd_out\ns_movd_out:\n\tmovd %mm0, %eax\n\tret\n"
        ".globl s_pmovmskb\ns_pmovmskb:\n\tpmovmskb %mm0, %eax\n\tret\n"
        IMM("psrlw $i, %mm0", psrlw_i) IMM("psrld $i, %mm0", psrld_i) IMM("psrlq $i, %mm0", psrlq_i)
        IMM("psraw $i, %mm0", psraw_i) IMM("psrad $i, %mm0", psrad_i) IMM("psllw $i, %mm0", psllw_i)
        IMM("pslld $i, %mm0", pslld_i) IMM("psllq $i, %mm0", psllq_i) IMM("pshufw $i, %mm1, %mm0", pshufw));

enum kind { K_BIN, K_COUNT, K_IMM, K_IN32, K_OUT32 };
struct op {
	const char *name;
	void (*stub)(void);
	enum kind k;
};

#define X(n, k)                 \
	extern void s_##n(void); \
	static const struct op o_##n = {#n, s_##n, k};
X(punpcklbw, K_BIN) X(punpcklwd, K_BIN) X(punpckldq, K_BIN) X(packsswb, K_BIN) X(pcmpgtb, K_BIN)
X(pcmpgtw, K_BIN) X(pcmpgtd, K_BIN) X(packuswb, K_BIN) X(punpckhbw, K_BIN) X(punpckhwd, K_BIN)
X(punpckhdq, K_BIN) X(packssdw, K_BIN) X(pcmpeqb, K_BIN) X(pcmpeqw, K_BIN) X(pcmpeqd, K_BIN)
X(paddq, K_BIN) X(pmullw, K_BIN) X(psubusb, K_BIN) X(psubusw, K_BIN) X(pminub, K_BIN) X(pand, K_BIN)
X(paddusb, K_BIN) X(paddusw, K_BIN) X(pmaxub, K_BIN) X(pandn, K_BIN) X(pavgb, K_BIN) X(pavgw, K_BIN)
X(pmulhuw, K_BIN) X(pmulhw, K_BIN) X(psubsb, K_BIN) X(psubsw, K_BIN) X(pminsw, K_BIN) X(por, K_BIN)
X(paddsb, K_BIN) X(paddsw, K_BIN) X(pmaxsw, K_BIN) X(pxor, K_BIN) X(pmuludq, K_BIN) X(pmaddwd, K_BIN)
X(psadbw, K_BIN) X(psubb, K_BIN) X(psubw, K_BIN) X(psubd, K_BIN) X(psubq, K_BIN) X(paddb, K_BIN)
X(paddw, K_BIN) X(paddd, K_BIN) X(movq, K_BIN)
X(psrlw, K_COUNT) X(psrld, K_COUNT) X(psrlq, K_COUNT) X(psraw, K_COUNT) X(psrad, K_COUNT)
X(psllw, K_COUNT) X(pslld, K_COUNT) X(psllq, K_COUNT)
X(psrlw_i, K_IMM) X(psrld_i, K_IMM) X(psrlq_i, K_IMM) X(psraw_i, K_IMM) X(psrad_i, K_IMM)
X(psllw_i, K_IMM) X(pslld_i, K_IMM) X(psllq_i, K_IMM) X(pshufw, K_IMM)
X(movd_in, K_IN32) X(movd_out, K_OUT32) X(pmovmskb, K_OUT32)
#undef X

static const struct op *const ops[] = {
	&o_punpcklbw, &o_punpcklwd, &o_punpckldq, &o_packsswb, &o_pcmpgtb, &o_pcmpgtw, &o_pcmpgtd,
	&o_packuswb, &o_punpckhbw, &o_punpckhwd, &o_punpckhdq, &o_packssdw, &o_pcmpeqb, &o_pcmpeqw,
	&o_pcmpeqd, &o_paddq, &o_pmullw, &o_psubusb, &o_psubusw, &o_pminub, &o_pand, &o_paddusb,
	&o_paddusw, &o_pmaxub, &o_pandn, &o_pavgb, &o_pavgw, &o_pmulhuw, &o_pmulhw, &o_psubsb,
	&o_psubsw, &o_pminsw, &o_por, &o_paddsb, &o_paddsw, &o_pmaxsw, &o_pxor, &o_pmuludq,
	&o_pmaddwd, &o_psadbw, &o_psubb, &o_psubw, &o_psubd, &o_psubq, &o_paddb, &o_paddw, &o_paddd,
	&o_movq, &o_psrlw, &o_psrld, &o_psrlq, &o_psraw, &o_psrad, &o_psllw, &o_pslld, &o_psllq,
	&o_psrlw_i, &o_psrld_i, &o_psrlq_i, &o_psraw_i, &o_psrad_i, &o_psllw_i, &o_pslld_i,
	&o_psllq_i, &o_pshufw, &o_movd_in, &o_movd_out, &o_pmovmskb,
};

/* run executes one stub natively: mm0 = a, mm1 = b, eax = a (low half). */
static u64 run(void (*fn)(void), u64 a, u64 b, enum kind k) {
	struct {
		u64 a, b, r;
		void (*fn)(void);
	} io = {a, b, 0, fn};
	u32 eax = (u32)a;
	__asm__ volatile("movq (%1), %%mm0\n\tmovq 8(%1), %%mm1\n\tcall *24(%1)\n\tmovq %%mm0, 16(%1)\n\temms"
	                 : "+a"(eax)
	                 : "r"(&io)
	                 : "ecx", "edx", "memory");
	return k == K_OUT32 ? eax : io.r;
}

/* Lane-structured edge values: saturation, sign and carry boundaries of
 * byte, word, dword and quadword lanes. */
static const u64 edge[] = {
	0, ~0ull, 1, 0x8000000000000000ull, 0x7FFFFFFFFFFFFFFFull, 0x8080808080808080ull,
	0x7F7F7F7F7F7F7F7Full, 0x8000800080008000ull, 0x7FFF7FFF7FFF7FFFull, 0x8000000080000000ull,
	0x7FFFFFFF7FFFFFFFull, 0x00FF00FF00FF00FFull, 0xFF01807F00FE8100ull, 0x0001FFFF80007FFFull,
	0x00000001FFFFFFFFull, 0x0123456789ABCDEFull,
};
#define NEDGE ((int)(sizeof edge / sizeof edge[0]))

/* rlanes: random bytes biased to lane boundaries (0, 1, 7F, 80, FF). */
static u64 rlanes(void) {
	static const u8 pick[] = {0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0x81};
	u64 v = rnd();
	if (rn(3) == 0) return v;
	for (int i = 0; i < 8; i++)
		if (rn(2)) v = (v & ~(0xFFull << (8 * i))) | (u64)pick[rn(7)] << (8 * i);
	return v;
}

/* rcount: shift counts in and around every lane width, then large ones. */
static u64 rcount(int i) {
	static const u64 big[] = {0x100, 0x1000000000000000ull, 0x100000000ull, ~0ull, 0x10000, 0x8000000000000010ull};
	if (i < 80) return (u64)i;
	if (i < 86) return big[i - 80];
	if (rn(4) == 0) return rnd();
	return rn(256);
}

static void line(const char *op, u64 a, u64 b, int imm, u64 r, enum kind k) {
	puts_(op);
	putc_(' ');
	hex(a, k == K_IN32 ? 8 : 16);
	putc_(' ');
	hex(b, 16);
	putc_(' ');
	if (imm >= 0) hex((u64)imm, 2);
	else putc_('-');
	puts_(" -> ");
	hex(r, k == K_OUT32 ? 8 : 16);
	putc_('\n');
	nlines++;
}

static void gen(const struct op *o) {
	switch (o->k) {
	case K_IMM:
		/* every imm8 once with edge inputs, then random inputs */
		for (int imm = 0; imm < 256; imm++) {
			u64 a = imm < NEDGE * 8 ? edge[imm % NEDGE] : rlanes(), b = rlanes();
			void (*fn)(void) = (void (*)(void))((char *)o->stub + 8 * imm);
			line(o->name, a, b, imm, run(fn, a, b, o->k), o->k);
		}
		break;
	case K_COUNT:
		for (int i = 0; i < 256; i++) {
			u64 a = i < NEDGE ? edge[i] : rlanes(), b = rcount(i);
			line(o->name, a, b, -1, run(o->stub, a, b, o->k), o->k);
		}
		break;
	default:
		for (int i = 0; i < NEDGE; i++)
			for (int j = 0; j < NEDGE; j++) {
				u64 a = edge[i], b = edge[j];
				if (o->k == K_IN32) a &= 0xFFFFFFFF;
				line(o->name, a, b, -1, run(o->stub, a, b, o->k), o->k);
			}
		for (int i = 0; i < 64; i++) {
			u64 a = rlanes(), b = rlanes();
			if (o->k == K_IN32) a &= 0xFFFFFFFF;
			line(o->name, a, b, -1, run(o->stub, a, b, o->k), o->k);
		}
	}
}

/* ---- x87 state effects ------------------------------------------------- */

static u8 fxin[512] __attribute__((aligned(16)));
static u8 fxout[512] __attribute__((aligned(16)));

/* A random 80-bit register: zero, normal, denormal, unnormal, NaN/inf. */
static void rreg(u8 *p) {
	u64 m = rnd();
	u32 e = (u32)rnd() & 0xFFFF;
	switch (rn(5)) {
	case 0:
		m = 0, e &= 0x8000;
		break;
	case 1:
		m |= 1ull << 63, e = (e & 0x8000) | 0x3FFF;
		break;
	case 2:
		m &= ~(1ull << 63), e &= 0x8000;
		break;
	case 3:
		m &= ~(1ull << 63);
		break;
	default:
		e |= 0x7FFF;
	}
	for (int i = 0; i < 8; i++) p[i] = (u8)(m >> (8 * i));
	p[8] = (u8)e, p[9] = (u8)(e >> 8);
}

static void state(const char *kind, int n) {
	for (int v = 0; v < n; v++) {
		/* EMMS from TOP 0 only: the model keeps TOP on EMMS (see fpu.go) */
		int top = kind[0] == 'e' ? 0 : (int)rn(8);
		u8 abr = (u8)rnd();
		memset(fxin, 0, sizeof fxin);
		fxin[0] = 0x7F, fxin[1] = 0x03; /* FCW 037F */
		fxin[3] = (u8)(top << 3);       /* FSW: TOP only, no pending exception */
		fxin[4] = abr;
		fxin[24] = 0x80, fxin[25] = 0x1F; /* MXCSR 1F80 */
		for (int i = 0; i < 8; i++) rreg(fxin + 32 + 16 * i);
		u32 env[7];
		u64 a = rnd();
		__asm__ volatile("fxrstor (%0)" ::"r"(fxin) : "memory");
		switch (kind[0]) {
		case 'w': /* movq mm3, mm5: reads R5, writes R3 */
			__asm__ volatile("movq %%mm5, %%mm3" ::: "memory");
			break;
		case 'l': /* movq mm6, m64 */
			__asm__ volatile("movq %0, %%mm6" ::"m"(a) : "memory");
			break;
		case 'r': /* movd eax, mm2: read only */
			__asm__ volatile("movd %%mm2, %%eax" ::: "eax", "memory");
			break;
		case 'e': /* emms */
			__asm__ volatile("emms" ::: "memory");
			break;
		}
		__asm__ volatile("fnstenv %0\n\tfxsave (%1)" : "=m"(env) : "r"(fxout) : "memory");
		puts_("state ");
		puts_(kind);
		putc_(' ');
		hex((u64)top, 1);
		putc_(' ');
		hex(abr, 2);
		for (int i = 0; i < 8; i++) {
			putc_(' ');
			for (int j = 9; j >= 0; j--) hex(fxin[32 + 16 * i + j], 2);
		}
		if (kind[0] == 'l') {
			puts_(" ");
			hex(a, 16);
		}
		puts_(" -> ");
		hex(env[1] & 0xFFFF, 4);
		putc_(' ');
		hex(env[2] & 0xFFFF, 4);
		putc_(' ');
		hex(fxout[4], 2);
		for (int i = 0; i < 8; i++) {
			putc_(' ');
			for (int j = 9; j >= 0; j--) hex(fxout[32 + 16 * i + j], 2);
		}
		putc_('\n');
		nlines++;
	}
	__asm__ volatile("fninit");
}

int main(void) {
	out_fd = (int)sys3(SYS_OPEN, (long)"mmx.txt", O_FLAGS, 0644);
	if (out_fd < 0) die("cannot create mmx.txt");
	puts_("# lgdbg MMX differential test vectors, recorded on real silicon by tools/vecgen/mmxgen.c.\n"
	      "# DO NOT EDIT: regenerate with `make -C tools/vecgen`.\n"
	      "# mode: 32-bit protected mode (Linux ia32 compatibility mode)\n"
	      "# OP A B C -> R   (hex) A = dst mm (movd_in: r32 source), B = src mm or shift count,\n"
	      "#   C = imm8 or '-', R = dst mm after (movd_out, pmovmskb: r32). _i = imm8 shift form.\n"
	      "# state KIND TOP ABR R0..R7 [M64] -> FSW FTW ABR' R0'..R7'   FXRSTOR image in (TOP,\n"
	      "#   abridged tags, 80-bit registers in ST(i) order, sign/exponent first), one instruction\n"
	      "#   (w: movq mm3,mm5  l: movq mm6,m64  r: movd eax,mm2  e: emms), then FNSTENV FSW and\n"
	      "#   full tag word, FXSAVE abridged tags and registers in ST(i) order.\n");
	for (unsigned i = 0; i < sizeof ops / sizeof ops[0]; i++) gen(ops[i]);
	state("w", 64);
	state("l", 64);
	state("r", 64);
	state("e", 64);
	flush();
	out_fd = 1;
	puts_("mmxgen: ");
	hex(nlines, 8);
	puts_(" (hex) vectors written\n");
	flush();
	return 0;
}

__asm__(".globl _start\n_start:\n\tand $-16, %esp\n\tcall main\n\tmov %eax, %ebx\n\tmov $1, %eax\n\tint $0x80\n");
