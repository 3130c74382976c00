package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A signal ends a run the way any other end does: the guest stopped, the
// summary line says "interrupted by SIG...", the trace flushed with its last
// line complete, the terminal given back, and exit status 128+signal.

// syncBuffer is a bytes.Buffer the process's output goroutine and the
// test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// interruptedRun is one lgdbg process the test will signal.
type interruptedRun struct {
	cmd            *exec.Cmd
	stdin          io.WriteCloser
	stdout, stderr *syncBuffer
	trace          string
	done           chan error
}

func startLgdbg(t *testing.T, args ...string) *interruptedRun {
	t.Helper()
	r := &interruptedRun{stdout: &syncBuffer{}, stderr: &syncBuffer{}, trace: filepath.Join(t.TempDir(), "trace.jsonl"), done: make(chan error, 1)}
	r.cmd = exec.Command(lgdbgBin, append([]string{"run", "--headless", "--trace", r.trace}, args...)...)
	r.cmd.Stdout, r.cmd.Stderr = r.stdout, r.stderr
	var err error
	// stdin stays open: the guest never sees end of input, so only the
	// signal can end a run that waits for it.
	if r.stdin, err = r.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		r.stdin.Close()
	})
	return r
}

// waitOutput waits until stream holds want (the run has got that far).
func (r *interruptedRun) waitOutput(t *testing.T, stream *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stream.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("never printed %q; stdout %q, stderr %q", want, r.stdout.String(), r.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// signalAndWait sends sig and returns the exit status.
func (r *interruptedRun) signalAndWait(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-r.done:
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				t.Fatalf("lgdbg was killed by %v instead of ending cleanly; stderr %q", ws.Signal(), r.stderr.String())
			}
			return ee.ExitCode()
		default:
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("lgdbg did not exit 30s after %v; stderr %q", sig, r.stderr.String())
	}
	return -1
}

// checkTrace: the file ends with a newline and every line is a JSON event.
func checkTrace(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		t.Fatal("the trace is empty: not flushed")
	}
	if b[len(b)-1] != '\n' {
		t.Fatalf("the trace ends mid-line: %q", b[max(0, len(b)-80):])
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("trace line %d %q: %v", n+1, sc.Text(), err)
		}
		n++
	}
	return n
}

func TestSignalsEndHeadlessRunsCleanly(t *testing.T) {
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	faultloop := filepath.Join(guestDir, "hostile-faultloop.bzImage")
	vconsole := filepath.Join(guestDir, "vconsole.bzImage")
	cases := []struct {
		name  string
		sig   syscall.Signal
		args  []string
		input string // written to stdin, which then stays open
		ready string // on stdout once the guest is where we want to interrupt it
	}{
		// A guest that never stops on its own: the CPU is busy.
		{"SIGTERM while running", syscall.SIGTERM, []string{"-m", "32M", faultloop}, "", "page fault 2"},
		{"SIGINT while running", syscall.SIGINT, []string{"-m", "32M", faultloop}, "", "page fault 2"},
		{"SIGHUP while running", syscall.SIGHUP, []string{"-m", "32M", faultloop}, "", "page fault 2"},
		// A guest halted, waiting for console input that never comes.
		{"SIGTERM while waiting for input", syscall.SIGTERM, []string{"-m", "32M", vconsole}, "hello\n", "echo: hello"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := startLgdbg(t, c.args...)
			io.WriteString(r.stdin, c.input)
			r.waitOutput(t, r.stdout, c.ready)
			code := r.signalAndWait(t, c.sig)
			if want := 128 + int(c.sig); code != want {
				t.Errorf("exit status %d, want %d", code, want)
			}
			stderr := r.stderr.String()
			re := regexp.MustCompile(fmt.Sprintf(`lgdbg: interrupted by %s after \d+ instructions[^\n]*\n$`, sigName(c.sig)))
			if !re.MatchString(stderr) {
				t.Errorf("stderr %q: want the last line to be the summary %q", stderr, re)
			}
			if strings.Contains(stderr, "goroutine") {
				t.Errorf("Go panic or traceback: %s", stderr)
			}
			// The console text is complete up to the interruption.
			if !strings.Contains(r.stdout.String(), c.ready) {
				t.Errorf("stdout lost %q", c.ready)
			}
			if n := checkTrace(t, r.trace); n < 10 {
				t.Errorf("the trace has %d events", n)
			}
		})
	}
}

func sigName(s syscall.Signal) string {
	return map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM", syscall.SIGHUP: "SIGHUP"}[s]
}

// Under --gdb: paused at entry waiting for gdb (-S), and running with no
// gdb attached.
func TestSignalsEndGDBRunsCleanly(t *testing.T) {
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	faultloop := filepath.Join(guestDir, "hostile-faultloop.bzImage")
	for _, c := range []struct {
		name  string
		sig   syscall.Signal
		args  []string
		ready string
	}{
		{"SIGINT paused at entry", syscall.SIGINT, []string{"--gdb", "127.0.0.1:0", "-S"}, ""},
		{"SIGTERM while running", syscall.SIGTERM, []string{"--gdb", "127.0.0.1:0", "-m", "32M", faultloop}, "page fault 2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := startLgdbg(t, c.args...)
			r.waitOutput(t, r.stderr, "gdb stub listening on")
			r.waitOutput(t, r.stdout, c.ready)
			code := r.signalAndWait(t, c.sig)
			if want := 128 + int(c.sig); code != want {
				t.Errorf("exit status %d, want %d", code, want)
			}
			if want := "lgdbg: interrupted by " + sigName(c.sig) + " after "; !strings.Contains(r.stderr.String(), want) {
				t.Errorf("stderr %q lacks %q", r.stderr.String(), want)
			}
			checkTrace(t, r.trace)
		})
	}
}

// The TUI in a real terminal (tmux): SIGTERM, SIGHUP and SIGINT (kill -INT;
// Ctrl-C typed in the TUI is a key, which pauses the guest) from outside end
// it with the terminal restored (the same stty settings as before, the
// TUI's screen gone) and the summary on stderr.
func TestSignalsEndTheTUICleanly(t *testing.T) {
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	faultloop := filepath.Join(guestDir, "hostile-faultloop.bzImage")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
		t.Run(sigName(sig), func(t *testing.T) {
			dir := t.TempDir()
			f := func(name string) string { return filepath.Join(dir, name) }
			script := fmt.Sprintf("stty -g > %s; echo $$ > %s; exec %s run -m 32M --trace %s %s 2> %s",
				f("stty.before"), f("pid"), lgdbgBin, f("trace"), faultloop, f("err"))
			// The pane's shell runs the script in a child, then records
			// what lgdbg left behind.
			x := newTmux(t, 120, 40, fmt.Sprintf("sh -c '%s'; echo $? > %s; stty -g > %s; echo AFTER-LGDBG; sleep 30",
				script, f("code"), f("stty.after")))
			x.waitFor("Disassembly", "RUNNING", "looping")
			pidText, err := os.ReadFile(f("pid"))
			if err != nil {
				t.Fatal(err)
			}
			var pid int
			fmt.Sscan(string(pidText), &pid)
			if err := syscall.Kill(pid, sig); err != nil {
				t.Fatal(err)
			}
			screen := x.waitFor("AFTER-LGDBG")
			if strings.Contains(screen, "Disassembly") {
				t.Errorf("the TUI's screen is still up after lgdbg exited:\n%s", screen)
			}
			code, _ := os.ReadFile(f("code"))
			if got, want := strings.TrimSpace(string(code)), fmt.Sprint(128+int(sig)); got != want {
				t.Errorf("exit status %s, want %s", got, want)
			}
			before, _ := os.ReadFile(f("stty.before"))
			after, _ := os.ReadFile(f("stty.after"))
			if len(before) == 0 || string(before) != string(after) {
				t.Errorf("terminal settings not restored:\nbefore %q\nafter  %q", before, after)
			}
			errText, _ := os.ReadFile(f("err"))
			if want := "lgdbg: interrupted by " + sigName(sig) + " at instruction "; !strings.Contains(string(errText), want) {
				t.Errorf("stderr %q lacks %q", errText, want)
			}
			checkTrace(t, f("trace"))
		})
	}
}
