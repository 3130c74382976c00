package e2e

import (
	"bufio"
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// Debian's gdb drives lgdbg backwards: reverse-stepi, reverse-continue to a
// breakpoint and to the start of history, monitor goto, and reverse-stepi
// then stepi returning to the same registers.
func TestGDBReverseExecution(t *testing.T) {
	if _, err := exec.LookPath("gdb"); err != nil {
		t.Skip("gdb not installed")
	}
	cmd := exec.Command(lgdbgBin, "run", "--headless", "--gdb", "127.0.0.1:0", "-S")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	addr := ""
	re := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
			break
		}
	}
	if addr == "" {
		t.Fatal("lgdbg never said where the gdb stub listens")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	gdb := exec.Command("gdb", "-batch", "-nx",
		"-ex", "set architecture i386",
		"-ex", "target remote "+addr,
		"-ex", "stepi", "-ex", "stepi", "-ex", "set $a = $pc",
		"-ex", "stepi", "-ex", "set $b = $pc", "-ex", "info registers",
		"-ex", "stepi",
		"-ex", "reverse-stepi",
		"-ex", `printf "back at b: %d\n", $pc == $b`,
		"-ex", "info registers",
		"-ex", "reverse-stepi",
		"-ex", `printf "back at a: %d\n", $pc == $a`,
		"-ex", "monitor goto 0",
		"-ex", "maint flush register-cache",
		"-ex", `printf "goto 0: %#x\n", $pc`,
		"-ex", "break *$a",
		"-ex", "stepi 6", // stops at the breakpoint
		"-ex", "stepi 4",
		"-ex", "reverse-continue",
		"-ex", `printf "reverse-continue at a: %d\n", $pc == $a`,
		"-ex", "delete",
		"-ex", "reverse-continue",
		"-ex", `printf "start of history: %#x\n", $pc`,
		"-ex", "continue")
	out, err := gdb.CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	o := string(out)
	for _, want := range []string{"back at b: 1", "back at a: 1", "goto 0: 0x100000",
		"reverse-continue at a: 1", "No more reverse-execution history", "start of history: 0x100000", "exited normally"} {
		if !strings.Contains(o, want) {
			t.Errorf("gdb output lacks %q:\n%s", want, o)
		}
	}
	// The registers at b, before stepping forward and after coming back.
	regs := regexp.MustCompile(`(?s)eax +0x.*?gs +0x[0-9a-f]+`).FindAllString(o, -1)
	if len(regs) < 2 || regs[0] != regs[1] {
		t.Errorf("registers differ after stepi, reverse-stepi:\n%q", regs)
	}
}
