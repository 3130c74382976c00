// Package asm assembles the tiny GNU-assembler guests the Host and
// Machine tests run (test support only).
package asm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The Host tests run tiny guests written in GNU assembler: they read like
// the guest code they imitate, and `as`/`ld` come with binutils, which the
// test setup installs. A guest is linked at 0x100000, where the Launcher
// puts a kernel, and entered there in ring 1 under linear_pages.

const (
	Entry      = 0x100000
	LguestData = 0x200000 // where the test guests keep lguest_data
	RAM        = 32 << 20
)

// prelude gives every test guest the hypercall macro and a lguest_data
// with the 3.x static initialiser (spec §4) at testLguestData.
const prelude = `
	.code32
	.macro HCALL nr, a1=0, a2=0, a3=0, a4=0
	movl $\nr, %eax
	movl $\a1, %ebx
	movl $\a2, %ecx
	movl $\a3, %edx
	movl $\a4, %esi
	int $0x1f
	.endm
	.section .ldata, "aw"
lguest_data:
	.long 0            /* irq_enabled */
	.long 1            /* blocked_interrupts: the timer starts blocked */
	.long 0            /* cr2 */
	.long 0, 0         /* time */
	.long 0            /* irq_pending */
	.fill 64, 1, 0xff  /* hcall_status */
	.fill 64*5, 4, 0   /* hcalls */
	.long 0            /* reserve_mem */
	.long 0            /* tsc_khz */
	.long noirq_start
	.long noirq_end
	.long 0xC0000000   /* kernel_address */
	.long 0x80         /* syscall_vec */
	.text
`

// Assemble links src (after the prelude) into a flat binary loaded at
// Entry; it skips the test when binutils are missing.
func Assemble(t testing.TB, src string) []byte {
	t.Helper()
	if _, err := exec.LookPath("as"); err != nil {
		t.Skip("binutils (as, ld) not installed")
	}
	dir := t.TempDir()
	s := filepath.Join(dir, "g.S")
	if !strings.Contains(src, "noirq_start") {
		src += "\nnoirq_start:\nnoirq_end:\n"
	}
	if err := os.WriteFile(s, []byte(prelude+src), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	o := filepath.Join(dir, "g.o")
	bin := filepath.Join(dir, "g.bin")
	run("as", "--32", "-o", o, s)
	run("ld", "-m", "elf_i386", "-N", "--oformat", "binary", "-Ttext=0x100000",
		"--section-start=.ldata=0x200000", "-o", bin, o)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
