/*
 * snippets: multi-instruction differential vectors recorded on real silicon
 * in 32-bit protected mode (Linux ia32 compatibility mode, CPL 3).
 *
 * Each snippet is a piece of i386 code (hand-written below, plus random
 * flag-aware instruction sequences generated into seq.inc by seqgen) run from
 * several register states. The runner loads all eight registers (ESP too)
 * and EFLAGS, jumps into the snippet, and records the registers, EFLAGS and
 * every byte the snippet changed in its two memory regions (sdata, sstack),
 * which start filled with a known pattern. The program is linked at a fixed
 * low address (see Makefile) so the replaying Go test (hv/cpu
 * vec_snippets_test.go) can put code and data at the very same addresses.
 *
 * Output (snippets.txt):
 *   R sdata ADDR LEN / R sstack ADDR LEN      memory regions
 *   S NAME CODEADDR FLAGMASK CODEHEX          a snippet
 *   I EAX ECX EDX EBX ESP EBP ESI EDI EFL -> EAX ... EDI EFL [ADDR:HEX ...]
 * pattern byte at address a for state seed s: pat(a, s) below.
 */
#include "rt.h"

#define ALLF 0x8D5
#define DF 0x400

u8 sdata[8192] __attribute__((aligned(4096)));
u8 sstack[8192] __attribute__((aligned(4096)));
u32 sin[9], sout[9];
void *snip_ptr;
u32 saved_esp;

static u8 pat(u32 a, u32 seed) { return (u8)(((a ^ (seed * 0x5bd1e995u)) * 2654435761u) >> 24); }

void run_snip(void);
__asm__(".text\n.globl run_snip\nrun_snip:\n"
        "\tpushl %ebp\n\tpushl %ebx\n\tpushl %esi\n\tpushl %edi\n"
        "\tmovl %esp, saved_esp\n"
        "\tpushl sin+32\n\tpopfl\n"
        "\tmovl sin+0, %eax\n\tmovl sin+4, %ecx\n\tmovl sin+8, %edx\n\tmovl sin+12, %ebx\n"
        "\tmovl sin+20, %ebp\n\tmovl sin+24, %esi\n\tmovl sin+28, %edi\n\tmovl sin+16, %esp\n"
        "\tjmp *snip_ptr\n"
        ".globl snip_return\nsnip_return:\n"
        "\tmovl %eax, sout+0\n\tmovl %ecx, sout+4\n\tmovl %edx, sout+8\n\tmovl %ebx, sout+12\n"
        "\tmovl %esp, sout+16\n\tmovl %ebp, sout+20\n\tmovl %esi, sout+24\n\tmovl %edi, sout+28\n"
        "\tmovl saved_esp, %esp\n\tpushfl\n\tpopl sout+32\n"
        "\tpopl %edi\n\tpopl %esi\n\tpopl %ebx\n\tpopl %ebp\n\tret\n");

/*
 * The hand-written snippets: X(name, flagmask, asm). Registers on entry:
 * EBX ESI EDI point into sdata (+-1 KiB around its middle), EBP and ESP into
 * sstack, ECX is small (0..40) in half of the states, EAX EDX random. A
 * snippet must not fault natively for any such state. flagmask: the EFLAGS
 * bits defined at the snippet's end (DF always included).
 */
#define SNIPPETS(X)                                                                               \
	X(pusha_popa, ALLF, "pushal; movl $1,%eax; movl $2,%ecx; movl $3,%ebp; popal")               \
	X(pusha_only, ALLF, "pushal")                                                                 \
	X(pushaw_popaw, ALLF, "pushaw; movl $-1,%eax; movl $-1,%edx; popaw")                          \
	X(pushaw_only, ALLF, "pushaw")                                                                \
	X(popa_esp_skip, ALLF, "pushl $1; pushl $2; pushl $3; pushl $4; pushl $5; pushl $6; pushl $7; pushl $8; popal") \
	X(enter0, ALLF, "enter $16, $0")                                                              \
	X(enter1, ALLF, "enter $8, $1")                                                               \
	X(enter2, ALLF, "enter $0, $2")                                                               \
	X(enter4, ALLF, "enter $0x104, $4")                                                           \
	X(enter_leave3, ALLF, "enter $24, $3; movl %esp, %eax; leave")                                \
	X(enterw2, ALLF, "enterw $6, $2")                                                             \
	X(leave, ALLF, "movl %esp, %ebp; subl $64, %esp; leave")                                      \
	X(push16, ALLF, "pushw %ax; pushw $0x1234; pushw $-3; popw %cx; popl %edx")                   \
	X(push_imm, ALLF, "pushl $-5; pushl $0x12345678; pushl $127; popl %eax; popl %ecx")           \
	X(push_mem, ALLF, "pushl 8(%esi); popl 12(%edi); pushw 2(%ebx); popw 4(%ebx)")                \
	X(push_esp, ALLF, "pushl %esp; popl %eax; pushw %sp; popw %dx")                               \
	X(pop_esp_mem, ALLF, "pushl $0x1111; popl (%esp); popl %eax")                                 \
	X(pop_to_esp_rel, ALLF, "movl $0xAABBCCDD, %eax; pushl %eax; popl 4(%esp)")                   \
	X(pushf_popf, ALLF, "pushfl; popl %eax; xorl $0x8D5, %eax; pushl %eax; popfl; pushfl; popl %edx") \
	X(pushfw, ALLF, "pushfw; popw %ax")                                                           \
	X(call_ret, ALLF, "call 1f; jmp 2f; 1: movl (%esp), %eax; ret; 2:")                         \
	X(call_ret_imm, ALLF, "pushl $1; pushl $2; call 1f; jmp 2f; 1: ret $8; 2:")                 \
	X(call_ind, ALLF, "call 1f; 1: popl %eax; addl $(2f-1b), %eax; call *%eax; jmp 3f; 2: ret; 3:") \
	X(loop, ALLF, "andl $15, %ecx; incl %ecx; movl $5, %edx; 1: incl %edx; loop 1b")                                         \
	X(loope, ALLF, "1: decl %eax; cmpl $0, %eax; loope 1b")                                       \
	X(loopne, ALLF, "orl $2, %eax; 1: shrl $1, %eax; cmpl $1, %eax; loopne 1b")                                 \
	X(jecxz, ALLF, "xorl %edx, %edx; jecxz 1f; movl $1, %edx; 1:")                                \
	X(jcxz, ALLF, "xorl %edx, %edx; jcxz 1f; movl $1, %edx; 1:")                           \
	X(rep_movsb, ALLF, "rep movsb")                                                               \
	X(rep_movsw, ALLF, "rep movsw")                                                               \
	X(rep_movsd, ALLF, "rep movsl")                                                               \
	X(rep_stosb, ALLF, "rep stosb")                                                               \
	X(rep_stosw, ALLF, "rep stosw")                                                               \
	X(rep_stosd, ALLF, "rep stosl")                                                               \
	X(lodsb_lodsd, ALLF, "lodsb; lodsl; lodsw")                                                   \
	X(rep_lodsd, ALLF, "rep lodsl")                                                               \
	X(repe_cmpsb, ALLF, "repe cmpsb")                                                             \
	X(repne_cmpsd, ALLF, "repne cmpsl")                                                           \
	X(repe_cmpsb_eq, ALLF, "pushl %ecx; pushl %esi; pushl %edi; rep movsb; popl %edi; popl %esi; popl %ecx; repe cmpsb") \
	X(repne_scasb, ALLF, "repne scasb")                                                           \
	X(repe_scasw, ALLF, "repe scasw")                                                             \
	X(cmpsb_single, ALLF, "cmpsb; cmpsw; cmpsl")                                                  \
	X(scas_single, ALLF, "scasb; scasl")                                                          \
	X(movs_single, ALLF, "movsb; movsw; movsl")                                                   \
	X(xlat, ALLF, "xlat; xlat")                                                                   \
	X(cmpxchg8b_eq, ALLF, "movl (%esi), %eax; movl 4(%esi), %edx; cmpxchg8b (%esi)")             \
	X(cmpxchg8b_ne, ALLF, "cmpxchg8b (%esi)")                                                     \
	X(lock_cmpxchg8b, ALLF, "lock cmpxchg8b 8(%edi)")                                             \
	X(xchg_mem, ALLF, "xchgl %eax, (%esi); xchgw %dx, 6(%edi); xchgb %cl, 3(%ebx)")               \
	X(xadd_mem, ALLF, "lock xaddl %eax, (%esi); xaddw %dx, 2(%edi); xaddb %cl, 5(%ebx)")          \
	X(cmpxchg_mem, ALLF, "cmpxchgl %edx, (%esi); cmpxchgl %edx, (%esi); cmpxchgb %cl, 1(%edi)")   \
	X(bt_mem_reg, 0x401, "andl $0x1fff, %eax; subl $0x1000, %eax; btl %eax, (%esi)")             \
	X(bts_mem_reg, 0x401, "andl $0x1fff, %eax; subl $0x1000, %eax; btsl %eax, (%esi)")           \
	X(btr_mem_reg, 0x401, "andl $0x1fff, %eax; subl $0x1000, %eax; btrl %eax, (%esi)")           \
	X(btc_mem_reg, 0x401, "andl $0x1fff, %eax; subl $0x1000, %eax; lock btcl %eax, (%esi)")      \
	X(btw_mem_reg, 0x401, "andl $0x1fff, %eax; subl $0x1000, %eax; btsw %ax, (%edi)")            \
	X(bt_mem_imm, 0x401, "btl $35, (%esi); btsl $3, 4(%esi); btrw $17, (%edi); btcl $31, (%ebx)") \
	X(shift_mem, 0x400, "shll $3, (%esi); sarw %cl, 2(%edi); rorb $1, 3(%ebx); rcll $1, 4(%esi); shrl %cl, 8(%esi)") \
	X(shld_mem, 0x400, "andl $15, %ecx; shldl $5, %eax, (%esi); shrdw %cl, %dx, 2(%edi)")                        \
	X(mul_mem, 0x801 | 0x400, "mull (%esi); imulw 2(%edi)")                                       \
	X(imul_mem, 0x801 | 0x400, "imull 4(%esi), %eax; imull $-7, (%edi), %edx")                   \
	X(neg_not_mem, ALLF, "notl (%esi); negw 2(%edi); negb 7(%ebx); incw (%ebx); decl 8(%edi)")   \
	X(alu_mem16, ALLF, "addw %ax, (%esi); adcw $0x1234, 2(%esi); sbbw 4(%edi), %dx; orw $-2, 6(%ebx); cmpw %dx, (%esi)") \
	X(alu_mem8, ALLF, "addb %al, (%esi); subb $7, 1(%esi); xorb 2(%edi), %dh; andb %ah, 3(%ebx); testb $0x81, (%esi)") \
	X(lea_forms, ALLF, "leal 3(%eax,%edx,4), %ecx; leal -1(,%eax,8), %edx; leaw 5(%ebx,%esi), %ax; leal (%esp), %ebp") \
	X(movx_mem, ALLF, "movsbl (%esi), %eax; movzbw 1(%esi), %dx; movswl 2(%edi), %ecx; movzwl (%ebx), %ebp") \
	X(setcc_mem, ALLF, "cmpl %edx, %eax; setl (%esi); setb 1(%esi); seto 2(%esi); setp 3(%esi); setg 4(%esi)") \
	X(cmov_mem, ALLF, "cmpl %edx, %eax; cmovll (%esi), %ecx; cmovaw 2(%edi), %dx; cmovel 4(%ebx), %ebp") \
	X(conv, ALLF, "cbtw; cwtl; cwtd; cltd; cwtl")                                                 \
	X(daa_seq, 0x8D5 & ~0x800, "movb $0x79, %al; addb $0x35, %al; daa; movb %al, %dl; subb $0x47, %al; das") \
	X(aaa_seq, 0x11 | 0x400, "movw $0x0109, %ax; addb $0x08, %al; aaa; movb %al, %dl; subb $9, %al; aas") \
	X(aam_aad, 0xC4 | 0x400, "andl $0xffff, %eax; aam; aad $7")                                   \
	X(bswap_mix, ALLF, "bswap %eax; bswap %edx; addl %eax, %edx")                                 \
	X(bsf_mem, 0x440, "orl $0x10001000, (%esi); bsfl (%esi), %eax; bsrw 2(%esi), %dx") \
	X(lahf_sahf, ALLF, "lahf; xorb $0xD5, %ah; sahf")                                             \
	X(override_ds_ss, ALLF, "movl %ds:(%esi), %eax; movl %ss:4(%esi), %edx; movl %es:8(%edi), %ecx; movl %cs:12(%esi), %ebp") \
	X(esp_base, ALLF, "movl 4(%esp), %eax; movl $7, 8(%esp); addl 12(%esp,%ecx,1), %edx")         \
	X(mov_moffs, ALLF, "movl sdata+4096, %eax; movw %dx, sdata+4100; movb sdata+4101, %cl")       \
	X(jcc_chain, ALLF, "cmpl %edx, %eax; jl 1f; incl %ecx; 1: jo 2f; decl %ecx; 2: jp 3f; addl $3, %ecx; 3: ja 4f; subl $5, %ecx; 4:") \
	X(mem16_addr, ALLF, "xorl %eax, %eax; leal 5(%bx,%si), %eax; leaw -3(%bp,%di), %dx")                          \
	X(xchg_regs, ALLF, "xchgl %eax, %ecx; xchgw %dx, %bx; xchgb %ah, %dl; xchg %eax, %esi; xchgl %edi, %edi") \
	X(ret_far_same, ALLF, "pushl %cs; call 1f; jmp 2f; 1: lret; 2:")                             \
	X(push_sreg, ALLF, "pushl %ds; pushl %es; pushl %ss; pushw %ds; popw %ax; popl %ecx")

/* The random sequences (seqgen output): same X(name, mask, asm) shape. */
#include "seq.inc"

#define ALL_SNIPPETS(X) SNIPPETS(X) SEQUENCES(X)

#define DEFINE(name, mask, code)                                                                  \
	__asm__(".text\n.globl snip_" #name "_b\nsnip_" #name "_b:\n\t" code "\n.globl snip_" #name    \
	        "_e\nsnip_" #name "_e:\n\tjmp snip_return\n");                                         \
	extern char snip_##name##_b[], snip_##name##_e[];
ALL_SNIPPETS(DEFINE)

struct snip {
	const char *name;
	char *b, *e;
	u32 mask;
};
#define ENTRY(name, mask, code) {#name, snip_##name##_b, snip_##name##_e, (mask) | DF},
static const struct snip snips[] = {ALL_SNIPPETS(ENTRY)};

static void fill(u32 seed) {
	for (u32 i = 0; i < sizeof sdata; i++) sdata[i] = pat((u32)(ul)&sdata[i], seed);
	for (u32 i = 0; i < sizeof sstack; i++) sstack[i] = pat((u32)(ul)&sstack[i], seed);
}

static void diff_region(u8 *base, u32 len, u32 seed) {
	u32 i = 0;
	while (i < len) {
		u32 a = (u32)(ul)&base[i];
		if (base[i] == pat(a, seed)) {
			i++;
			continue;
		}
		putc_(' ');
		hex(a, 8);
		putc_(':');
		while (i < len && base[i] != pat((u32)(ul)&base[i], seed)) hex(base[i++], 2);
	}
}

int main(void) {
	out_fd = (int)sys3(SYS_OPEN, (long)"snippets.txt", 01101, 0644);
	if (out_fd < 0) die("cannot create snippets.txt");
	puts_("# lgdbg i386 multi-instruction differential vectors, recorded on real silicon\n"
	      "# (32-bit protected mode, CPL 3) by tools/vecgen/snippets. DO NOT EDIT:\n"
	      "# regenerate with `make -C tools/vecgen`.\n"
	      "# R NAME ADDR LEN: memory region, initially pat(a, seed) = byte(((a ^ seed*0x5bd1e995) * 2654435761) >> 24)\n"
	      "# S NAME CODEADDR FLAGMASK CODEHEX: a snippet, run from CODEADDR until it reaches CODEADDR+len\n"
	      "# I SEED EAX ECX EDX EBX ESP EBP ESI EDI EFLAGS -> EAX .. EDI EFLAGS [ADDR:BYTES ...changed memory]\n");
	{
		u16 sr[6];
		__asm__ volatile("movw %%cs, %0; movw %%ds, %1; movw %%ss, %2; movw %%es, %3; movw %%fs, %4; movw %%gs, %5"
		                 : "=m"(sr[0]), "=m"(sr[1]), "=m"(sr[2]), "=m"(sr[3]), "=m"(sr[4]), "=m"(sr[5]));
		puts_("# G CS DS SS ES FS GS: the native selectors (flat, DPL 3) the snippets see\nG");
		for (int i = 0; i < 6; i++) {
			putc_(' ');
			hex(sr[i], 4);
		}
		putc_('\n');
	}
	puts_("R sdata ");
	hex((u32)(ul)sdata, 8);
	puts_(" 2000\nR sstack ");
	hex((u32)(ul)sstack, 8);
	puts_(" 2000\n");
	u32 n = sizeof snips / sizeof snips[0];
	for (u32 k = 0; k < n; k++) {
		const struct snip *s = &snips[k];
		puts_("S ");
		puts_(s->name);
		putc_(' ');
		hex((u32)(ul)s->b, 8);
		putc_(' ');
		hex(s->mask, 3);
		putc_(' ');
		for (char *p = s->b; p < s->e; p++) hex((u8)*p, 2);
		putc_('\n');
		for (u32 st = 0; st < 12; st++) {
			u32 seed = k * 16 + st;
			fill(seed);
			u32 mid = (u32)(ul)sdata + 4096;
			sin[0] = (u32)rnd();
			sin[1] = st % 2 ? rn(41) : (u32)rnd();
			sin[2] = (u32)rnd();
			sin[3] = mid - 1024 + rn(2048);
			sin[4] = (u32)(ul)sstack + 6144;
			sin[5] = (u32)(ul)sstack + 4096 + rn(1024);
			sin[6] = mid - 1024 + rn(2048);
			sin[7] = mid - 1024 + rn(2048);
			if (st % 4 == 3) sin[0] &= 0xFF; /* small values for loops, xlat */
			sin[8] = 0x202 | (u32)(rnd() & ALLF) | (st % 3 == 0 ? DF : 0);
			/* string ops with a random ECX must stay inside the buffers */
			if (st % 2 == 0) sin[1] &= 0x3F;
			snip_ptr = s->b;
			u32 in[9];
			for (int i = 0; i < 9; i++) in[i] = sin[i];
			run_snip();
			puts_("I ");
			hex(seed, 4);
			for (int i = 0; i < 9; i++) {
				putc_(' ');
				hex(in[i], 8);
			}
			puts_(" ->");
			for (int i = 0; i < 9; i++) {
				putc_(' ');
				hex(sout[i], 8);
			}
			diff_region(sdata, sizeof sdata, seed);
			diff_region(sstack, sizeof sstack, seed);
			putc_('\n');
		}
	}
	flush();
	return 0;
}

__asm__(".globl _start\n_start:\n"
        "\tand $-16, %esp\n\tcall main\n\tmov %eax, %ebx\n\tmov $1, %eax\n\tint $0x80\n");
