package gdbstub

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/tests/guests"
)

type monCase struct {
	cmd   string
	want  []string // regexps that must all match the output
	lines int      // if > 0, the exact number of output lines
}

func runMonCases(t *testing.T, m *hv.Machine, cases []monCase) {
	t.Helper()
	for _, tt := range cases {
		out := runMonitor(m, tt.cmd)
		for _, re := range tt.want {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("monitor %q: no match for /%s/ in:\n%s", tt.cmd, re, out)
			}
		}
		if n := strings.Count(out, "\n"); tt.lines > 0 && n != tt.lines {
			t.Errorf("monitor %q: %d lines, want %d:\n%s", tt.cmd, n, tt.lines, out)
		}
	}
}

// TestMonitorAtEntry: the Guest has not run; linear_pages is on.
func TestMonitorAtEntry(t *testing.T) {
	m := newDemo(t)
	first := make([]byte, 4)
	if err := m.ReadPhys(0x100000, first); err != nil {
		t.Fatal(err)
	}
	var help []string
	for _, c := range monitorCmds {
		help = append(help, `(?m)^  `+c.name+`\b`)
	}
	runMonCases(t, m, []monCase{
		{cmd: "help", want: help, lines: len(monitorCmds) + 2}, // + the header and stop-on
		{cmd: "", want: help},
		{cmd: "walk 0x100000", want: []string{
			`walk 0x00100000: linear_pages ON`,
			`(?m)^pgd\s+0\s+\| \(fake\)`,
			`(?m)^pte\s+256\s+\| \(fake\)\s+0x00100003 P RW `,
			`guest:  -> 0x00100000 \[linear_pages fake\]`,
		}},
		{cmd: "walk 1048576", want: []string{`walk 0x00100000:`}},
		{cmd: "walk 0xffc00000", want: []string{`guest:  not mapped \(Switcher area`}},
		{cmd: "walk", want: []string{`want one address`}, lines: 1},
		{cmd: "walk 0xzz", want: []string{`bad number "0xzz"`}},
		{cmd: "walk 0x100000000", want: []string{`bad number`}},
		{cmd: "walk 1 2 3", want: []string{`want one address, got 3`}},
		{cmd: "walk 0x2000 0x1000", want: []string{`end 0x1000 is not above 0x2000`}},
		{cmd: "walk 0 +5000", want: []string{`5000 pages: want 1..1024`}},
		{cmd: "linear", want: []string{`^linear_pages: ON`}, lines: 1},
		{cmd: "linear x", want: []string{`takes no arguments`}},
		{cmd: "v2p 0x100000", want: []string{`^0x00100000 -> 0x00100000\n$`}},
		{cmd: "v2p 0x40000000", want: []string{`^0x40000000: not mapped`}},
		{cmd: "phys 0x100000 16", want: []string{fmt.Sprintf(`^00100000: 0x%08x `, binary.LittleEndian.Uint32(first))}, lines: 1},
		{cmd: "phys -b 0x100000 16", want: []string{fmt.Sprintf(`^00100000: %x `, first)}, lines: 1},
		{cmd: "phys 0x100000 6", want: []string{fmt.Sprintf(`^00100000: 0x%08x 0x[0-9a-f]{2} 0x[0-9a-f]{2}\n$`, binary.LittleEndian.Uint32(first))}, lines: 1},
		{cmd: "phys 0x100000", lines: 4},
		{cmd: "phys 0x100000 0", want: []string{`out of range`}},
		{cmd: "phys 0x100000 4097", want: []string{`out of range`}},
		{cmd: "phys 0xfffffff0 64", want: []string{`outside memory`}},
		{cmd: "phys", want: []string{`want \[-b\] ADDR \[LEN\]`}},
		{cmd: "hcalls", want: []string{`no hypercalls yet`}},
		{cmd: "hcalls 0", want: []string{`out of range`}},
		{cmd: "hcalls 1 2", want: []string{`at most one count`}},
		// Building the Guest already mapped the Switcher (spec §7.12).
		{cmd: "events", want: []string{`(?m)^#0\s+0\s+shadow .*\(switcher\)$`}},
		{cmd: "slots", want: []string{`linear_pages ON`, `(?m)^\d+\s+0x00000000 0x[0-9a-f]{8}\s+yes\s+<- current`}},
		{cmd: "devices", want: []string{`(?m)^console\s+type 3  entry 0x[0-9a-f]{8}  status 0x00  running no`,
			`(?m)^  queue 1: 256 entries, irq 2, ring 0x[0-9a-f]{8}, avail 0`}},
		{cmd: "host", want: []string{`lguest_data     \(none`, `switcher        0xffc00000`, `timer           not armed`}},
		{cmd: "regs", want: []string{`^cpl 1  icount 0`, `(?m)^cs 0x0061 base 0x00000000 limit 0xffffffff`}},
		{cmd: "stop", want: []string{`^stopped; last stop: paused at eip 0x100000`}},
		{cmd: "frobnicate 1", want: []string{`unknown monitor command "frobnicate"`}},
	})
}

// TestMonitorAfterRun: the demo Guest ran to its power-off.
func TestMonitorAfterRun(t *testing.T) {
	m := newDemo(t)
	if st := m.Run(0); st.Reason != hv.StopPowerOff {
		t.Fatalf("demo guest: %v", st)
	}
	h := m.Host()
	r := m.Regs()
	runMonCases(t, m, []monCase{
		{cmd: "linear", want: []string{`^linear_pages: off`}},
		{cmd: "hcalls", lines: 21},
		{cmd: "hcalls 1000", want: []string{
			fmt.Sprintf(`LGUEST_INIT lguest_data=%#x @0x`, h.LguestData),
			fmt.Sprintf(`NEW_PGTABLE pgdir=%#x`, r.CR3),
			`NOTIFY 0x[0-9a-f]+ \(early console string\)`,
			`(?m)SHUTDOWN "Power down" POWEROFF @0x[0-9a-f]+$`,
		}},
		{cmd: "hcalls 1", want: []string{`SHUTDOWN`}, lines: 2},
		{cmd: "events 2", want: []string{`(?m)hcall SHUTDOWN`, `(?m)shutdown "Power down"\n$`}, lines: 2},
		{cmd: "walk 0xc0100000", want: []string{
			`linear_pages off`,
			`(?m)^pgd\s+768\s+\| 0x[0-9a-f]{8} 0x[0-9a-f]{8} P`,
			`guest:  -> 0x00100000`,
		}},
		{cmd: "slots", want: []string{fmt.Sprintf(`(?m)^\d+\s+0x%08x 0x%08x\s+yes\s+<- current`, r.CR3, r.ShadowCR3)}},
		{cmd: "host", want: []string{
			fmt.Sprintf(`lguest_data     0x%08x`, h.LguestData),
			`kernel_address  0xc0000000`,
			`DEAD            CRASH: Power down`,
		}},
		{cmd: "stop", want: []string{`last stop: power-off`}},
	})
}

// TestMonitorEventWindow: "last N" reads the ring in windows; with a tiny
// ring it returns what is kept, and with the default ring exactly N.
func TestMonitorEventWindow(t *testing.T) {
	small, err := hv.New(hv.Config{Image: guests.BootImage, EventRing: 8})
	if err != nil {
		t.Fatal(err)
	}
	small.Run(0)
	runMonCases(t, small, []monCase{
		{cmd: "events 100", lines: 8},
		{cmd: "hcalls 100", want: []string{`SHUTDOWN`}},
	})
	m := newDemo(t)
	m.Run(0)
	all, _ := m.Events(0)
	if len(all) < 300 {
		t.Skipf("only %d events; the window growth is not exercised", len(all))
	}
	runMonCases(t, m, []monCase{
		{cmd: "events 300", lines: 300},
		{cmd: fmt.Sprint("events ", len(all)+5), lines: len(all)},
		{cmd: "hcalls 3", lines: 4},
	})
	// The oldest hypercall (LGUEST_INIT) is found however far back it is.
	out := runMonitor(m, "hcalls 65536")
	if !strings.Contains(out, "LGUEST_INIT") {
		t.Errorf("hcalls 65536 misses LGUEST_INIT:\n%s", out)
	}
}
