package gdbstub

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestRealGDBPython: the shipped Python file loads into Debian's gdb and
// its commands and functions answer from the stub.
func TestRealGDBPython(t *testing.T) {
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		t.Skip("gdb not installed")
	}
	if out, err := exec.Command(gdb, "-batch", "-nx", "-ex", "python print(1)").CombinedOutput(); err != nil {
		t.Skipf("this gdb has no Python: %v %s", err, out)
	}
	script := filepath.Join(t.TempDir(), "lgdbg.py")
	if err := os.WriteFile(script, []byte(GDBScript), 0o644); err != nil {
		t.Fatal(err)
	}
	bp := kernelEntry(t)
	m := newDemo(t)
	addr, logs := serveTCP(t, m)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, gdb, "-batch", "-nx",
		"-ex", "set architecture i386",
		"-ex", "source "+script,
		"-ex", "target remote "+addr,
		"-ex", "print $lg_linear_pages()",
		"-ex", "lg-linear",
		"-ex", fmt.Sprintf("break *%#x", bp),
		"-ex", "continue",
		"-ex", "print $lg_linear_pages()",
		"-ex", "print $lg_shadow_cr3() == $shadow_cr3",
		"-ex", "print $lg_icount() == $icount",
		"-ex", "lg-walk $pc",
		"-ex", "lg-hcalls 2",
		"-ex", "help lg-walk")
	out, err := cmd.CombinedOutput()
	t.Logf("gdb output:\n%s", out)
	if err != nil {
		t.Fatalf("gdb: %v\nstub log:\n%s", err, logs())
	}
	for _, re := range []string{
		`(?m)^\$1 = 1$`,
		`linear_pages: ON`,
		`(?m)^\$2 = 0$`,
		`(?m)^\$3 = 1$`,
		`(?m)^\$4 = 1$`,
		fmt.Sprintf(`walk 0x%08x: linear_pages off`, bp),
		`NEW_PGTABLE`,
		`the shadow page-table walk of ADDR`,
	} {
		if !regexp.MustCompile(re).Match(out) {
			t.Errorf("no match for %q", re)
		}
	}
}
