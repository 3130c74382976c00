package gdbstub

import (
	"strings"
	"testing"
	"time"

	"github.com/lgdbg/lgdbg/hv"
)

// slowMonitor adds, for one test, a monitor command that takes d, like a
// goto or history that replays far.
func slowMonitor(t *testing.T, d time.Duration) {
	t.Helper()
	saved := monitorCmds
	monitorCmds = append(append([]monitorCmd(nil), monitorCmds...), monitorCmd{name: "slow", help: "test only",
		run: func(*hv.Machine, []string) (string, error) {
			time.Sleep(d)
			return "slow done\n", nil
		}})
	t.Cleanup(func() { monitorCmds = saved })
}

// A monitor command that outlasts gdb's remote timeout: Debian's gdb with
// remotetimeout 1 waits through 3.5 s of it without "Ignoring packet
// error" (the stub's empty O packets keep it company) and prints the
// output.
func TestGDBLongMonitorKeepsAlive(t *testing.T) {
	slowMonitor(t, 3500*time.Millisecond)
	addr, logs := serveTCP(t, newDemo(t))
	out := runGDB(t, addr, logs, []string{"set remotetimeout 1"}, "monitor slow", "echo after\\n")
	if !strings.Contains(out, "slow done\nafter\n") {
		t.Errorf("gdb did not print the command's output:\n%s", out)
	}
	if strings.Contains(out, "Ignoring packet error") || strings.Contains(out, "Timed out") {
		t.Errorf("gdb's remote timeout expired during the command:\n%s", out)
	}
}

// On the wire: empty O packets at every interval while the command runs,
// then its output and OK.
func TestMonitorKeepAlivePackets(t *testing.T) {
	slowMonitor(t, 100*time.Millisecond)
	saved := keepAliveEvery
	keepAliveEvery = 10 * time.Millisecond
	t.Cleanup(func() { keepAliveEvery = saved })
	c := connect(t, newDemo(t))
	c.sendPacket("qRcmd," + string(encodeHex([]byte("slow"))))
	c.expectAck('+')
	empty := 0
	var got []string
	for {
		r := c.recv()
		if r == "O" {
			if len(got) > 0 {
				t.Fatalf("a keep-alive after the output: %q", got)
			}
			empty++
			continue
		}
		got = append(got, r)
		if r == "OK" {
			break
		}
	}
	if empty < 3 {
		t.Errorf("%d keep-alives in 100 ms at one per 10 ms", empty)
	}
	if want := []string{"O" + string(encodeHex([]byte("slow done\n"))), "OK"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("after the keep-alives %q, want %q", got, want)
	}
}
