/*
 * revdebug - plain C for gdb's reverse execution (issue 14, item 2): calls
 * two deep and a global written and read at known lines, built with line
 * info like every guest, so reverse-step, reverse-next, reverse-finish and
 * reverse watchpoints (tests/e2e/gdb_reverse_test.go) land on real code.
 * noipa keeps each function a function (no inlining, cloning or IPA-SRA at
 * -O2), so gdb's frames are the source's.
 */
#include "kern.h"

int guest_trap(struct trapframe *f)
{
	(void)f;
	return 0;
}

/* The watchpoint target: rev_leaf writes it once per call, then reads it. */
volatile int rev_counter;
int rev_trail[8];

__attribute__((noipa)) int rev_leaf(int x)
{
	rev_counter = x * 3 + 1; /* rev-write */
	return rev_counter + 1;  /* rev-read */
}

__attribute__((noipa)) int rev_mid(int x)
{
	int a = rev_leaf(x); /* rev-call1 */
	int b = rev_leaf(a); /* rev-call2 */
	rev_trail[x & 7] = a + b;
	return a + b;
}

/*
 * About 3 million instructions between two calls of rev_mid, so the
 * writes lie in different checkpoint intervals and a reverse-continue
 * replays intervals without a hit on its way back.
 */
__attribute__((noipa)) void rev_spin(void)
{
	for (volatile u32 k = 0; k < 500000; k++)
		;
}

void guest_main(void)
{
	int sum = 0;
	for (int i = 0; i < 4; i++) {
		rev_spin();
		sum += rev_mid(i); /* rev-main */
	}
	kprintf("%s: sum %d, rev_counter %d\n", guest_name, sum, rev_counter);
}
