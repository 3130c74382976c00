package gdbstub

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestRealGDBRegisters: the control registers and the Host's paging view
// as gdb registers, the x87/SSE file readable and writable, and a refused
// write explained in gdb's own error line.
func TestRealGDBRegisters(t *testing.T) {
	gdbPath(t)
	bp := kernelEntry(t)
	m := newDemo(t)
	addr, logs := serveTCP(t, m)
	out := runGDB(t, addr, logs, nil,
		"print $linear_pages",
		"print/x $cr3",
		fmt.Sprintf("break *%#x", bp),
		"continue",
		"info registers",
		"print $linear_pages",
		"print/x $cr3",
		"print/x $shadow_cr3",
		"print $cpl",
		"print $icount > 0",
		"set $st0 = 1.5",
		"print $st0",
		"set $xmm1.v4_int32[2] = 77",
		"print $xmm1.v4_int32",
		"print/x $mxcsr",
		"set $cs = 0x10",
		"set $cr3 = 0x1000",
		"info all-registers",
		"x/wx $shadow_cr3",
		"maint packet Qqemu.PhyMemMode:1",
		"x/wx $shadow_cr3",
		"maint packet Qqemu.PhyMemMode:0",
	)
	d := m.DebugRegs()
	if d.LinearPages || d.CR3 == 0 {
		t.Fatalf("after the handoff the Machine says linear_pages=%v cr3=%#x", d.LinearPages, d.CR3)
	}
	checks := []struct{ what, re string }{
		{"linear_pages on at the entry", `(?m)^\$1 = 1$`},
		{"no guest cr3 under linear_pages", `(?m)^\$2 = 0x0$`},
		{"cr0 decoded in info registers", `(?m)^cr0\s+0x80010033\s+\[ PE MP ET NE WP PG \]`},
		{"cr3 in info registers", fmt.Sprintf(`(?m)^cr3\s+%#x\s`, d.CR3)},
		{"cr4 decoded", `(?m)^cr4\s+0x290\s+\[ PSE PGE OSFXSR \]`},
		{"linear_pages off after the handoff", `(?m)^\$3 = 0$`},
		{"the Guest's cr3", fmt.Sprintf(`(?m)^\$4 = %#x$`, d.CR3)},
		{"the shadow cr3", fmt.Sprintf(`(?m)^\$5 = %#x$`, d.ShadowCR3)},
		{"cpl 1 in the kernel", `(?m)^\$6 = 1$`},
		{"icount counts", `(?m)^\$7 = 1$`},
		{"info registers lists the Host's view", `(?m)^cr4 .*\nshadow_cr3\s+0x[0-9a-f]+\s+\d+\ncpl\s+0x1\s+1\nlinear_pages\s+0x0\s+0\npgdir_slot\s+0x[0-9a-f]\s+\d\nicount\s+0x`},
		{"st0 written and read back", `(?m)^\$8 = 1\.5$`},
		{"xmm1 written and read back", `(?m)^\$9 = \{0, 0, 77, 0\}$`},
		{"mxcsr", `(?m)^\$10 = 0x1f80$`},
		{"cs write refused with the reason", `segment registers are the Guest's to load from its GDT`},
		{"cr3 write refused with the reason", `the Guest changes cr3 only through hypercalls`},
		{"x87 registers are available", `(?m)^st0\s+1\.5\s`},
		{"sse registers are listed", `(?m)^xmm7\s+\{`},
	}
	// The shadow pgd entry 0 (the identity map the handoff ran through), read as gdb's
	// physical memory: the Host page it sits in is not mapped virtually.
	spgd := make([]byte, 4)
	if err := m.ReadPhys(d.ShadowCR3, spgd); err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint32(spgd)&1 == 0 {
		t.Fatalf("shadow pgd entry 0 is not present: the test would compare nothing")
	}
	checks = append(checks,
		struct{ what, re string }{"physical read of the shadow pgd", fmt.Sprintf(`(?m)^%#x:\s+0x%08x$`, d.ShadowCR3, binary.LittleEndian.Uint32(spgd))},
		struct{ what, re string }{"virtual read of the same address fails", fmt.Sprintf(`Cannot access memory at address %#x`, d.ShadowCR3)})
	for _, c := range checks {
		if !regexp.MustCompile(c.re).MatchString(out) {
			t.Errorf("%s: no match for %q", c.what, c.re)
		}
	}
	if strings.Contains(out, "<unavailable>") {
		t.Error("a register is still <unavailable>")
	}
	if f := m.FPU(); f.XMM[1][8] != 77 {
		t.Errorf("the Machine's xmm1 = % x, want 77 in dword 2", f.XMM[1])
	}
}
