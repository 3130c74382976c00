package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The TUI as a person meets it: `lgdbg run` in a real terminal (tmux),
// keys sent with send-keys, the screen read with capture-pane.

type tmux struct {
	t       *testing.T
	session string
	socket  string
}

func newTmux(t *testing.T, width, height int, cmd string) *tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed")
	}
	x := &tmux{t: t, session: "lgdbg", socket: filepath.Join(t.TempDir(), "tmux.sock")}
	x.run("new-session", "-d", "-s", x.session, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), cmd)
	t.Cleanup(func() { exec.Command("tmux", "-S", x.socket, "kill-server").Run() })
	return x
}

func (x *tmux) run(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", x.socket}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (x *tmux) screen() string { return x.run("capture-pane", "-p", "-t", x.session) }

// waitFor polls the screen until it contains every want, or fails with the
// last screen.
func (x *tmux) waitFor(wants ...string) string {
	x.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := x.screen()
		missing := ""
		for _, w := range wants {
			if !strings.Contains(s, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return s
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("screen never showed %q:\n%s", missing, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestTUIShowsTheDemoHandoff(t *testing.T) {
	done := filepath.Join(t.TempDir(), "done")
	x := newTmux(t, 120, 40, fmt.Sprintf("%s run 2>%s.err; echo $? > %s; sleep 30", lgdbgBin, done, done))
	// The demo stops right after the handoff: linear_pages OFF, the two
	// hypercalls that caused it, and the guest paused there.
	x.waitFor("linear_pages OFF", "LGUEST_INIT", "NEW_PGTABLE", "PAUSED")
	x.run("send-keys", "-t", x.session, "c")
	x.waitFor("DEAD", "power-off", "boot: PASS")
	x.run("send-keys", "-t", x.session, "?")
	x.waitFor("continue the guest", "step one instruction")
	x.run("send-keys", "-t", x.session, "Escape")
	// A key right behind Escape would reach the terminal as Alt-key.
	time.Sleep(300 * time.Millisecond)
	x.waitFor("Disassembly")
	x.run("send-keys", "-t", x.session, "q")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(done)
		if err == nil && len(b) > 0 {
			if code := strings.TrimSpace(string(b)); code != "0" {
				t.Errorf("lgdbg exited %s", code)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("q did not end lgdbg:\n%s", x.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if msg, _ := os.ReadFile(done + ".err"); !strings.Contains(string(msg), "guest powered off") {
		t.Errorf("summary after quitting: %q", msg)
	}
}

func TestTUITinyTerminal(t *testing.T) {
	x := newTmux(t, 60, 15, lgdbgBin+" run -S; sleep 30")
	x.waitFor("too small")
	x.run("resize-window", "-t", x.session, "-x", "100", "-y", "30")
	x.waitFor("linear_pages", "Disassembly")
	x.run("send-keys", "-t", x.session, "q")
}

func TestTUIRefusesAPipe(t *testing.T) {
	cmd := exec.Command(lgdbgBin, "run")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "--headless") {
		t.Errorf("lgdbg run without a terminal: %v %q; want exit 2 pointing at --headless", err, out)
	}
}

// waitGone polls the screen until it no longer contains sub.
func (x *tmux) waitGone(sub string) {
	x.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Contains(x.screen(), sub) {
		if time.Now().After(deadline) {
			x.t.Fatalf("%q never went away:\n%s", sub, x.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// keys sends tmux key names (or literal text with -l) to the session.
func (x *tmux) keys(k ...string) {
	x.t.Helper()
	x.run(append([]string{"send-keys", "-t", x.session}, k...)...)
}

// lgdbgTUI starts `lgdbg run ARGS` in tmux with its state directory (the
// command history) in a temp dir, never the user's.
func lgdbgTUI(t *testing.T, w, h int, state string, args string) *tmux {
	t.Helper()
	return newTmux(t, w, h, fmt.Sprintf("XDG_STATE_HOME=%s %s run %s; sleep 30", state, lgdbgBin, args))
}

func TestTUINavigationAndSearch(t *testing.T) {
	x := lgdbgTUI(t, 120, 40, t.TempDir(), "-S")
	x.waitFor("PAUSED", "=>00100000")
	// Run to the cursor three instructions down, then next and finish
	// are keys too; n at a non-call is one stepi.
	x.keys("Down", "Down", "Down")
	time.Sleep(200 * time.Millisecond)
	x.keys("u")
	x.waitFor("advance: at 0x")
	x.keys("n")
	x.waitFor("step at eip")
	x.keys(":")
	x.keys("-l", "until linear-off")
	x.keys("Enter")
	x.waitFor("linear_pages OFF", "NEW_PGTABLE @")
	x.keys("c")
	x.waitFor("DEAD", "POWEROFF")
	// Search the hypercall log: / in the pane, n and N between matches.
	x.keys("3", "/")
	x.keys("-l", "notify")
	x.keys("Enter")
	s := x.waitFor("Hypercalls /notify 1/")
	if !strings.Contains(s, "(early console") {
		t.Errorf("NOTIFY is not decoded:\n%s", s)
	}
	x.keys("n")
	x.waitFor("Hypercalls /notify 2/")
	x.keys("N", "N")
	x.waitFor("/notify 22/22")
	x.keys("Home")
	x.waitFor("LGUEST_INIT lguest_data=")
	x.keys("q")
}

func TestTUIZoomHistoryAndResize(t *testing.T) {
	state := t.TempDir()
	x := lgdbgTUI(t, 80, 24, state, "-S")
	x.waitFor("PAUSED", "? help", "handoff:")
	x.keys(":")
	x.keys("-l", "x 1000")
	x.keys("Enter")
	x.waitFor("Memory 00001000")
	// Every pane is reachable at 80x24: 5 brings Memory beside the
	// disassembly, z maximizes it.
	x.keys("5", "z")
	x.waitGone("2 Disassembly")
	s := x.waitFor("5 Memory 00001000", "handoff:")
	if strings.Contains(s, "1 Registers") {
		t.Errorf("z did not maximize the memory pane:\n%s", s)
	}
	x.keys("z")
	x.waitFor("2 Disassembly")
	// Resize: the layout follows, the small screen stops keys.
	x.run("resize-window", "-t", x.session, "-x", "60", "-y", "20")
	x.waitFor("too small")
	x.keys("s")
	x.run("resize-window", "-t", x.session, "-x", "200", "-y", "55")
	s = x.waitFor("6 Events", "7 Console", "5 Memory")
	if !strings.Contains(s, "eip 00100000") {
		t.Errorf("s behind the too-small screen stepped:\n%s", s)
	}
	x.keys("q")
	// The history survived: a second run recalls "x 1000" with Up.
	hist, err := os.ReadFile(filepath.Join(state, "lgdbg", "history"))
	for i := 0; err != nil && i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		hist, err = os.ReadFile(filepath.Join(state, "lgdbg", "history"))
	}
	if !strings.Contains(string(hist), "x 1000") {
		t.Fatalf("history file: %q %v", hist, err)
	}
	y := lgdbgTUI(t, 120, 40, state, "-S")
	y.waitFor("PAUSED")
	y.keys(":", "Up")
	y.waitFor(":x 1000")
	y.keys("Enter")
	y.waitFor("Memory 00001000")
	y.keys("q")
}
