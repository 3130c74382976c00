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
// it, reads the Host's view through monitor commands and detaches; the
// guest runs on to power-off, and lgdbg stays up for the post-mortem. A
// second gdb attaches to the dead guest, reads its registers, memory and
// the monitor, and kills: lgdbg then exits 0 and says why.
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
	lines := make(chan string, 100)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var rest strings.Builder
	waitFor := func(what string) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("lgdbg's stderr ended before %q:\n%s", what, rest.String())
				}
				rest.WriteString(l + "\n")
				if strings.Contains(l, what) {
					return
				}
			case <-deadline:
				t.Fatalf("lgdbg never said %q:\n%s", what, rest.String())
			}
		}
	}
	gdb := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("gdb", append([]string{"-batch", "-nx", "-ex", "set architecture i386", "-ex", "target remote " + addr}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("gdb: %v\n%s", err, out)
		}
		return string(out)
	}
	o := gdb("-ex", "info registers eip",
		"-ex", "stepi",
		"-ex", "info registers eip",
		"-ex", "monitor linear",
		"-ex", "monitor walk 0x100000",
		"-ex", "detach")
	for _, want := range []string{"eip            0x100000", "eip            0x100001", "linear_pages: ON", "detached"} {
		if !strings.Contains(o, want) {
			t.Errorf("first gdb's output lacks %q:\n%s", want, o)
		}
	}
	// Detached, the guest runs to its power-off; lgdbg stays up.
	waitFor("gdb can still read its memory, registers and monitor")
	o = gdb("-ex", "info registers eip",
		"-ex", "x/2xw 0x100000",
		"-ex", "monitor stop",
		"-ex", "kill")
	for _, want := range []string{"eip ", "0x100000:", "last stop: power-off", "[Inferior 1 (Remote target) killed]"} {
		if !strings.Contains(o, want) {
			t.Errorf("post-mortem gdb's output lacks %q:\n%s", want, o)
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		for l := range lines {
			rest.WriteString(l + "\n")
		}
		if err != nil {
			t.Errorf("lgdbg exited with %v; stderr %s", err, rest.String())
		}
		if !strings.Contains(rest.String(), "guest powered off, then gdb's kill ended lgdbg") {
			t.Errorf("the summary does not say how the run ended:\n%s", rest.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("lgdbg did not exit after gdb's kill")
	}
	if !strings.Contains(stdout.String(), "boot: PASS") {
		t.Errorf("guest console: %q", stdout.String())
	}
}

// A kill of a live guest ends lgdbg too (as QEMU's stub does), with the
// guest paused where gdb left it and exit status 0.
func TestGDBKillEndsALiveRun(t *testing.T) {
	if _, err := exec.LookPath("gdb"); err != nil {
		t.Skip("gdb not installed")
	}
	cmd := exec.Command(lgdbgBin, "run", "--headless", "--gdb", "127.0.0.1:0", "-S")
	var stderr bytes.Buffer
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(pr)
	addr := ""
	re := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
			break
		}
	}
	go func() {
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
		}
	}()
	out, err := exec.Command("gdb", "-batch", "-nx", "-ex", "set architecture i386", "-ex", "target remote "+addr,
		"-ex", "stepi", "-ex", "kill").CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("lgdbg exited with %v", err)
		}
		time.Sleep(100 * time.Millisecond)
		if !strings.Contains(stderr.String(), "ended by gdb's kill, guest paused at eip 0x100001") {
			t.Errorf("summary:\n%s", stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("lgdbg did not exit after gdb's kill")
	}
}
