package e2e

// The virtio console end to end (issue 5): the vconsole test guest's driver
// negotiates the lguest bus console, writes through transmitq and echoes what
// lgdbg feeds it from stdin through receiveq; its hostile variants must be
// killed with the Launcher's messages (spec §2.7, §2.8) and leave the
// console and the trace intact.

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/tests/guests"
)

// lgdbgStdin is lgdbg() with stdin read from a file holding input. A file
// rather than a pipe: the whole input is readable the moment lgdbg starts,
// so when it reaches the Guest depends only on lgdbg (see vconsole.c on
// the Guest's grace period for its first input).
func lgdbgStdin(t *testing.T, input string, args ...string) result {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "stdin")
	if err := os.WriteFile(in, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return runLgdbg(t, f, args...)
}

// bootLines are the lines vconsole prints before it waits for input: its
// expectation's console up to the banner sent through transmitq.
func bootLines(t *testing.T, name string) []string {
	t.Helper()
	exp, err := guests.Expect(name)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range exp.Console {
		if strings.Contains(l, "hello through transmitq") {
			return exp.Console[:i+1]
		}
	}
	t.Fatalf("expect/%s.txt has no transmitq banner line", name)
	return nil
}

// consoleOf concatenates the trace's console events: what the Host emitted,
// which stdout must show unchanged.
func consoleOf(trace []map[string]any) string {
	var b strings.Builder
	for _, e := range trace {
		if e["kind"] == "console" {
			s, _ := e["text"].(string)
			b.WriteString(s)
		}
	}
	return b.String()
}

func manyLines(n int) (input string, echoes []string) {
	var b strings.Builder
	for i := range n {
		l := fmt.Sprintf("line %06d", i)
		b.WriteString(l + "\n")
		echoes = append(echoes, "echo: "+l)
	}
	return b.String(), echoes
}

func TestConsoleEcho(t *testing.T) {
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	// 100000 12-byte lines fill ~75000 16-byte receive buffers: both ring
	// indexes wrap past 65535, and the 256-entry rings wrap many times.
	manyIn, manyEchoes := manyLines(100000)
	manyIn += "quit\n"
	long := strings.Repeat("x", 300)

	cases := []struct {
		name  string
		guest string // "vconsole" unless set
		input string
		code  int
		tail  []string // stdout after the boot lines
	}{
		{"lines", "", "hello\nworld\nquit\n", 0, []string{
			"echo: hello", "echo: world",
			"vconsole: quit after 2 lines echoed (17 bytes in)", "vconsole: PASS"}},
		{"lines under PAE", "vconsole-pae", "hello\nworld\nquit\n", 0, []string{
			"echo: hello", "echo: world",
			"vconsole-pae: quit after 2 lines echoed (17 bytes in)", "vconsole-pae: PASS"}},
		// The \n after "quit\r" is past the end: not counted.
		{"carriage returns", "", "one\r\ntwo\rthree\r\rquit\r\n", 0, []string{
			"echo: one", "echo: two", "echo: three", "echo: ",
			"vconsole: quit after 4 lines echoed (21 bytes in)", "vconsole: PASS"}},
		{"lines spanning receive buffers", "", "a line of forty characters, more or less\nquit\n", 0, []string{
			"echo: a line of forty characters, more or less",
			"vconsole: quit after 1 lines echoed (46 bytes in)", "vconsole: PASS"}},
		{"long line truncated", "", long + "\nshort\nquit\n", 0, []string{
			"echo: " + long[:127] + " [173 more bytes dropped]", "echo: short",
			"vconsole: quit after 2 lines echoed (312 bytes in)", "vconsole: PASS"}},
		{"input after quit ignored", "", "a\nquit\nb\nc\n", 0, []string{
			"echo: a", "vconsole: quit after 1 lines echoed (7 bytes in)", "vconsole: PASS"}},
		{"ring indexes wrap", "", manyIn, 0, append(manyEchoes,
			fmt.Sprintf("vconsole: quit after %d lines echoed (%d bytes in)", len(manyEchoes), len(manyIn)),
			"vconsole: PASS")},
		// No input at all: the guest's grace period ends, it powers off.
		{"empty stdin", "", "", 0, []string{"vconsole: no input", "vconsole: PASS"}},
		// Input but no "quit": the guest HALTs for more, lgdbg meets end
		// of input and gives up (exit 1, not a hang).
		{"end of input without quit", "", "hello\n", 1, []string{"echo: hello"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			guest := cmp.Or(c.guest, "vconsole")
			boot := bootLines(t, guest)
			r := lgdbgStdin(t, c.input, "-q", "-m", "32M", filepath.Join(guestDir, guest+".bzImage"))
			if r.code != c.code {
				t.Errorf("exit status %d, want %d; stderr %q", r.code, c.code, r.stderr)
			}
			want := strings.Join(append(append([]string(nil), boot...), c.tail...), "\n") + "\n"
			if r.stdout != want {
				t.Errorf("stdout differs\n%s", firstDiff(want, r.stdout))
			}
			if got := consoleOf(r.trace); got != r.stdout {
				t.Errorf("trace console events differ from stdout\n%s", firstDiff(r.stdout, got))
			}
			if c.input != "" && !hasRxInterrupt(r.trace) {
				t.Errorf("input was echoed without a receiveq interrupt (IRQ 1) in the trace")
			}
		})
	}
}

// TestConsoleHeadlessSummary: without -q, a run that ends for want of
// input says why on stderr.
func TestConsoleHeadlessSummary(t *testing.T) {
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	r := lgdbgStdin(t, "hello\n", "-m", "32M", filepath.Join(guestDir, "vconsole.bzImage"))
	if r.code != 1 || !strings.Contains(r.stderr, "guest halted with nothing left to wake it") {
		t.Errorf("exit %d, stderr %q: want exit 1 and the halted-forever summary", r.code, r.stderr)
	}
}

func hasRxInterrupt(trace []map[string]any) bool {
	for _, e := range trace {
		if e["kind"] == "irq" {
			if n, ok := e["nr"].(float64); ok && n == 1 {
				return true
			}
		}
	}
	return false
}

// TestConsoleHostile runs the hostile variants with input on stdin: each
// must be killed by its Launcher message, said on stderr, with every line
// it printed (through the early console and, once the device runs, through
// transmitq) on stdout and the kill as the trace's last word.
func TestConsoleHostile(t *testing.T) {
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	cases := []struct {
		name   string
		reason string
		kick   float64 // the NOTIFY that kills: a ring address
	}{
		{"vconsole-hostile-kick", "Notification on console before setup!", 0x2001000},
		{"vconsole-hostile-addr", "Invalid address 0x2006ff8", 0x2004000},
		{"vconsole-hostile-loop", "Looped descriptor", 0x2004000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			exp, err := guests.Expect(c.name)
			if err != nil {
				t.Fatal(err)
			}
			if exp.Exit.Kind != guests.ExitKill || exp.Exit.Message != c.reason {
				t.Fatalf("expect/%s.txt ends with %s %q, this test with kill %q", c.name, exp.Exit.Kind, exp.Exit.Message, c.reason)
			}
			r := lgdbgStdin(t, "hello\nquit\n", "-m", "32M", filepath.Join(guestDir, exp.BzImage))
			if r.code != 1 {
				t.Errorf("exit status %d, want 1", r.code)
			}
			if want := "lgdbg: guest killed: " + c.reason + " after "; !strings.Contains(r.stderr, want) {
				t.Errorf("stderr %q lacks %q", r.stderr, want)
			}
			if want := strings.Join(exp.Console, "\n") + "\n"; r.stdout != want {
				t.Errorf("stdout differs\n%s", firstDiff(want, r.stdout))
			}
			if got := consoleOf(r.trace); got != r.stdout {
				t.Errorf("trace console events differ from stdout\n%s", firstDiff(r.stdout, got))
			}
			if len(r.trace) < 2 {
				t.Fatalf("trace has %d events", len(r.trace))
			}
			last := r.trace[len(r.trace)-1]
			if last["kind"] != "kill" || last["text"] != c.reason {
				t.Errorf("last trace event %v, want kill %q", last, c.reason)
			}
			// The kill is the Launcher's answer to the last hypercall: the
			// NOTIFY on the ring.
			var lastCall map[string]any
			for _, e := range r.trace {
				if e["kind"] == "hcall" {
					lastCall = e
				}
			}
			args, _ := lastCall["args"].([]any)
			if lastCall["name"] != "NOTIFY" || len(args) == 0 || args[0] != c.kick {
				t.Errorf("last hypercall %v, want NOTIFY %#x", lastCall, uint32(c.kick))
			}
		})
	}
}
