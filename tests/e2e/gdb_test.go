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

// gdbRun is `lgdbg run --headless --gdb 127.0.0.1:0 -S` as a subprocess,
// with its stderr read line by line after the stub's address.
type gdbRun struct {
	cmd    *exec.Cmd
	addr   string
	stdout bytes.Buffer
	lines  chan string
	stderr strings.Builder // lines read so far
	elf    string          // symbols gdb loads (file ELF) before connecting
}

// startGDBRun starts lgdbg on args (an image, flags; none: the built-in
// demo guest).
func startGDBRun(t *testing.T, args ...string) *gdbRun {
	t.Helper()
	if _, err := exec.LookPath("gdb"); err != nil {
		t.Skip("gdb not installed")
	}
	args = append([]string{"run", "--headless", "--gdb", "127.0.0.1:0", "-S"}, args...)
	r := &gdbRun{cmd: exec.Command(lgdbgBin, args...), lines: make(chan string, 100)}
	r.cmd.Stdout = &r.stdout
	pipe, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.cmd.Process.Kill() })
	sc := bufio.NewScanner(pipe)
	re := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			r.addr = m[1]
			break
		}
	}
	if r.addr == "" {
		t.Fatal("lgdbg never said where the gdb stub listens")
	}
	go func() {
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		close(r.lines)
	}()
	return r
}

// waitFor reads lgdbg's stderr until a line contains what.
func (r *gdbRun) waitFor(t *testing.T, what string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				t.Fatalf("lgdbg's stderr ended before %q:\n%s", what, r.stderr.String())
			}
			r.stderr.WriteString(l + "\n")
			if strings.Contains(l, what) {
				return
			}
		case <-deadline:
			t.Fatalf("lgdbg never said %q:\n%s", what, r.stderr.String())
		}
	}
}

// gdb runs Debian's gdb in batch mode attached to the stub.
func (r *gdbRun) gdb(t *testing.T, cmds ...string) string {
	t.Helper()
	args := []string{"-batch", "-nx", "-ex", "set architecture i386"}
	if r.elf != "" {
		args = append(args, "-ex", "file "+r.elf)
	}
	args = append(args, "-ex", "target remote "+r.addr)
	for _, c := range cmds {
		args = append(args, "-ex", c)
	}
	out, err := exec.Command("gdb", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	return string(out)
}

// exit waits for lgdbg to end and returns its error and whole stderr.
func (r *gdbRun) exit(t *testing.T) (stderr string, err error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		for l := range r.lines {
			r.stderr.WriteString(l + "\n")
		}
		return r.stderr.String(), err
	case <-time.After(20 * time.Second):
		t.Fatal("lgdbg did not exit after gdb's kill")
	}
	return "", nil
}

// The guest waits at its entry point, gdb steps it, reads the Host's view
// through monitor commands and detaches; the guest runs on to power-off,
// and lgdbg stays up for the post-mortem. A second gdb attaches to the
// dead guest, reads its registers, memory and the monitor, and kills:
// lgdbg then exits 0 and says why.
func TestGDBAgainstTheCLI(t *testing.T) {
	r := startGDBRun(t)
	o := r.gdb(t, "info registers eip",
		"stepi",
		"info registers eip",
		"monitor linear",
		"monitor walk 0x100000",
		"detach")
	for _, want := range []string{"eip            0x100000", "eip            0x100001", "linear_pages: ON", "detached"} {
		if !strings.Contains(o, want) {
			t.Errorf("first gdb's output lacks %q:\n%s", want, o)
		}
	}
	// Detached, the guest runs to its power-off; lgdbg stays up.
	r.waitFor(t, "gdb can still read its memory, registers and monitor")
	o = r.gdb(t, "info registers eip",
		"x/2xw 0x100000",
		"monitor stop",
		"kill")
	for _, want := range []string{"eip ", "0x100000:", "last stop: power-off", "[Inferior 1 (Remote target) killed]"} {
		if !strings.Contains(o, want) {
			t.Errorf("post-mortem gdb's output lacks %q:\n%s", want, o)
		}
	}
	stderr, err := r.exit(t)
	if err != nil {
		t.Errorf("lgdbg exited with %v; stderr %s", err, stderr)
	}
	if !strings.Contains(stderr, "guest powered off, then gdb's kill ended lgdbg") {
		t.Errorf("the summary does not say how the run ended:\n%s", stderr)
	}
	if !strings.Contains(r.stdout.String(), "boot: PASS") {
		t.Errorf("guest console: %q", r.stdout.String())
	}
}

// A kill of a live guest ends lgdbg too (as QEMU's stub does), with the
// guest paused where gdb left it and exit status 0.
func TestGDBKillEndsALiveRun(t *testing.T) {
	r := startGDBRun(t)
	r.gdb(t, "stepi", "kill")
	stderr, err := r.exit(t)
	if err != nil {
		t.Errorf("lgdbg exited with %v", err)
	}
	if !strings.Contains(stderr, "ended by gdb's kill, guest paused at eip 0x100001") {
		t.Errorf("summary:\n%s", stderr)
	}
}
