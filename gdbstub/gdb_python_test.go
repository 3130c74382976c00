package gdbstub

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestRealGDBPython: the shipped Python file loads into Debian's gdb and
// its commands and functions answer from the stub.
func TestRealGDBPython(t *testing.T) {
	gdb := gdbPath(t)
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
	out := runGDB(t, addr, logs, []string{"source " + script},
		"print $lg_linear_pages()",
		"lg-linear",
		fmt.Sprintf("break *%#x", bp),
		"continue",
		"print $lg_linear_pages()",
		"print $lg_shadow_cr3() == $shadow_cr3",
		"print $lg_icount() == $icount",
		"lg-walk $pc",
		"lg-hcalls 2",
		"help lg-walk",
	)
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
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("no match for %q", re)
		}
	}
}
