package gdbstub

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/tests/guests"
)

// newDemo builds a Machine on the embedded demo guest.
func newDemo(t testing.TB) *hv.Machine {
	t.Helper()
	m, err := hv.New(hv.Config{Image: guests.BootImage})
	if err != nil {
		t.Fatalf("hv.New(demo guest): %v", err)
	}
	return m
}

// serveTCP runs a Server for m on a loopback port for the test's lifetime.
func serveTCP(t testing.TB, m *hv.Machine) (addr string, logs func() string) {
	t.Helper()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	var mu = make(chan struct{}, 1)
	logf := func(format string, args ...any) {
		mu <- struct{}{}
		fmt.Fprintf(&lines, format+"\n", args...)
		<-mu
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, m, Options{Logf: logf}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String(), func() string {
		mu <- struct{}{}
		defer func() { <-mu }()
		return lines.String()
	}
}

// gdbPath is Debian's gdb, or skips the test where it is not installed.
func gdbPath(t testing.TB) string {
	t.Helper()
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		t.Skip("gdb not installed")
	}
	return gdb
}

// runGDB runs gdb in batch mode against the stub at addr: the setup
// commands, then `target remote`, then cmds, each one -ex. It logs gdb's
// output and fails the test, with the stub's log, if gdb fails.
func runGDB(t testing.TB, addr string, logs func() string, setup []string, cmds ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := []string{"-batch", "-nx", "-ex", "set architecture i386"}
	for _, c := range setup {
		args = append(args, "-ex", c)
	}
	args = append(args, "-ex", "target remote "+addr)
	for _, c := range cmds {
		args = append(args, "-ex", c)
	}
	out, err := exec.CommandContext(ctx, gdbPath(t), args...).CombinedOutput()
	t.Logf("gdb output:\n%s", out)
	if err != nil {
		t.Fatalf("gdb: %v\nstub log:\n%s", err, logs())
	}
	return string(out)
}

// kernelEntry finds, on a separate Machine, the first instruction the demo
// guest runs at PAGE_OFFSET after its first NEW_PGTABLE (linear_pages off):
// a breakpoint there exercises the whole handoff. Found by running, not
// hard-coded, so a rebuilt guest does not break the test.
func kernelEntry(t testing.TB) uint32 {
	t.Helper()
	until, err := hv.MatchEvent("linear-off")
	if err != nil {
		t.Fatal(err)
	}
	m, err := hv.New(hv.Config{Image: guests.BootImage, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Run(0); s.Reason != hv.StopUntil {
		t.Fatalf("demo guest did not reach linear-off: %v", s)
	}
	for range 10000 {
		s := mustStep(t, m)
		if s.Reason.Terminal() {
			t.Fatalf("demo guest died before PAGE_OFFSET: %v", s)
		}
		if s.EIP >= 0xC0000000 {
			return s.EIP
		}
	}
	t.Fatal("demo guest never reached PAGE_OFFSET")
	return 0
}

// TestRealGDB drives the stub with gdb in batch mode, as a kernel
// developer would: registers at the entry point, disassembly, a step, a
// breakpoint across the linear_pages handoff, monitor commands, detach.
func TestRealGDB(t *testing.T) {
	gdbPath(t)
	bp := kernelEntry(t)
	m := newDemo(t)
	entry := m.Regs().EIP
	addr, logs := serveTCP(t, m)
	text := runGDB(t, addr, logs, nil,
		"info registers",
		"x/4i $pc",
		"stepi",
		"print/x $pc",
		fmt.Sprintf("break *%#x", bp),
		"continue",
		"print/x $eip",
		"monitor walk 0x100000",
		"monitor linear",
		"detach")

	entryHex := fmt.Sprintf("%#x", entry)
	// detach resumed the Guest: it runs on to its power-off.
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if st, err := m.WaitStop(wctx); err != nil || st.Reason != hv.StopPowerOff {
		t.Errorf("after detach: %v %v, want the guest to run to power-off", st, err)
	}
	checks := []struct {
		what string
		re   string
	}{
		{"eip at the entry point in info registers", `(?m)^eip\s+` + entryHex + `\s`},
		{"x/4i disassembles at the entry", `(?m)^=> ` + entryHex + `:`},
		{"stepi moved past the entry", `(?m)^\$1 = 0x[0-9a-f]+$`},
		{"breakpoint set", fmt.Sprintf(`Breakpoint 1 at %#x`, bp)},
		{"breakpoint hit", fmt.Sprintf(`Breakpoint 1, %#x in`, bp)},
		{"eip at the breakpoint", fmt.Sprintf(`(?m)^\$2 = %#x$`, bp)},
		{"walk header after the handoff", `walk 0x00100000: linear_pages off`},
		{"walk shows the guest pgd level", `(?m)^pgd\s+0\s+\|`},
		{"walk shows the guest pte level", `(?m)^pte\s+256\s+\|`},
		{"guest walk maps 1:1", `guest:\s+-> 0x00100000`},
		{"monitor linear", `linear_pages: off`},
		{"detached", `\[Inferior 1 \(Remote target\) detached\]`},
	}
	for _, c := range checks {
		if !regexp.MustCompile(c.re).MatchString(text) {
			t.Errorf("%s: no match for %q", c.what, c.re)
		}
	}
	// stepi must not report the entry again.
	if m := regexp.MustCompile(`(?m)^\$1 = (0x[0-9a-f]+)$`).FindStringSubmatch(text); m != nil && m[1] == entryHex {
		t.Errorf("stepi left eip at the entry %s", entryHex)
	}
}

// TestRealGDBWatch: a gdb watchpoint on memory the demo guest's first
// loop clears (rep stos from edi), an rwatch nobody triggers, and the exit
// report when the guest powers off with gdb attached.
func TestRealGDBWatch(t *testing.T) {
	gdbPath(t)
	// Where the clearing loop starts storing: edi after the first two
	// instructions (cld; mov $start,%edi), found by running.
	probe := newDemo(t)
	mustStep(t, probe)
	mustStep(t, probe)
	dst := probe.Regs().GPR[7] + 16

	m := newDemo(t)
	if err := m.WriteVirt(dst, []byte{0x78, 0x56, 0x34, 0x12}); err != nil {
		t.Fatal(err)
	}
	addr, logs := serveTCP(t, m)
	out := runGDB(t, addr, logs, nil,
		fmt.Sprintf("watch *(int *)%#x", dst),
		"continue",
		"delete",
		"continue")
	for _, re := range []string{
		fmt.Sprintf(`Hardware watchpoint 1: \*\(int \*\)%#x`, dst),
		`Old value = 305419896\s+New value = 0`,
		`lgdbg: the Guest is dead: power-off`,
		`\[Inferior 1 \(Remote target\) exited normally\]`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("no match for %q", re)
		}
	}
}
