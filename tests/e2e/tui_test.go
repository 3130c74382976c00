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
