package e2e

import (
	"bufio"
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// `lgdbg run --headless --gdb 127.0.0.1:0 -S` as a user runs it, with Debian's
// gdb in batch mode attached: the guest waits at its entry point, gdb steps
// it, reads the Host's view through monitor commands, and continues it to
// power-off, after which lgdbg exits 0.
func TestGDBAgainstTheCLI(t *testing.T) {
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
	var rest bytes.Buffer
	go func() {
		for sc.Scan() {
			rest.WriteString(sc.Text() + "\n")
		}
	}()
	gdb := exec.Command("gdb", "-batch", "-nx",
		"-ex", "set architecture i386",
		"-ex", "target remote "+addr,
		"-ex", "info registers eip",
		"-ex", "stepi",
		"-ex", "info registers eip",
		"-ex", "monitor linear",
		"-ex", "monitor walk 0x100000",
		"-ex", "continue")
	out, err := gdb.CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	o := string(out)
	for _, want := range []string{"eip            0x100000", "eip            0x100001", "linear_pages: ON", "exited normally"} {
		if !strings.Contains(o, want) {
			t.Errorf("gdb output lacks %q:\n%s", want, o)
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("lgdbg exited with %v; stderr %s", err, rest.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("lgdbg did not exit after the guest powered off")
	}
	if !strings.Contains(stdout.String(), "boot: PASS") {
		t.Errorf("guest console: %q", stdout.String())
	}
}
