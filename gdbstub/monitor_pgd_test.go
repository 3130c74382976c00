package gdbstub

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv"
)

// TestMonitorPgd: at the entry only the Host's own entries exist; after the
// run every listed guest entry is what guest memory holds at that index,
// and every shadow entry what the Host's table holds.
func TestMonitorPgd(t *testing.T) {
	m := newDemo(t)
	runMonCases(t, m, []monCase{
		{cmd: "pgd", want: []string{
			`pgd of slot \d+, current: guest: none \(linear_pages`,
			`(?m)^1023 +0xffc00000-0xffffffff \| - +\| 0x[0-9a-f]{8} .*\(Switcher\)$`,
			`0 guest entries present`,
		}},
		{cmd: "pgd 9", want: []string{`slot "9": want 0\.\.3`}},
		{cmd: "pgd 1 2", want: []string{`want \[SLOT\]`}},
	})
	if st := m.Run(0); st.Reason != hv.StopPowerOff {
		t.Fatalf("demo guest: %v", st)
	}
	out := runMonitor(m, "pgd")
	t.Logf("%s", out)
	var cur struct{ g, s uint32 }
	for _, sl := range m.ShadowSlots() {
		if sl.Current {
			cur.g, cur.s = sl.GPgdir, sl.ShadowRoot
		}
	}
	row := regexp.MustCompile(`(?m)^(\d+) +0x[0-9a-f]{8}-0x[0-9a-f]{8} \| (-|0x([0-9a-f]{8}) [A-Z ]+?) +\| (-|0x([0-9a-f]{8}) [A-Z ]+?)(  .*)?$`)
	rows := row.FindAllStringSubmatch(out, -1)
	if len(rows) < 2 {
		t.Fatalf("only %d rows", len(rows))
	}
	word := func(table uint32, i int) uint32 {
		var b [4]byte
		if err := m.ReadPhys(table+uint32(i)*4, b[:]); err != nil {
			t.Fatal(err)
		}
		return binary.LittleEndian.Uint32(b[:])
	}
	guestRows := 0
	for _, r := range rows {
		i, _ := strconv.Atoi(r[1])
		for _, side := range []struct {
			text, hex string
			table     uint32
		}{{r[2], r[3], cur.g}, {r[4], r[5], cur.s}} {
			want := word(side.table, i)
			if side.text == "-" {
				if want&1 != 0 {
					t.Errorf("index %d shown absent, memory holds %#x", i, want)
				}
				continue
			}
			if got, _ := strconv.ParseUint(side.hex, 16, 32); uint32(got) != want {
				t.Errorf("index %d: shown %#x, memory holds %#x", i, got, want)
			}
		}
		if r[2] != "-" {
			guestRows++
		}
	}
	// The demo maps its kernel at PAGE_OFFSET: pgd 768 is the Guest's.
	if !strings.Contains(out, "\n768 ") || guestRows == 0 {
		t.Errorf("no guest entry at 768 in:\n%s", out)
	}
	if want := fmt.Sprintf("%d guest entries present", guestRows); !strings.Contains(out, want) {
		t.Errorf("summary does not say %q", want)
	}
}

// TestMonitorWalkRange: one line per mapped page, each the Machine's own
// walk of that page, and the counts add up.
func TestMonitorWalkRange(t *testing.T) {
	m := newDemo(t)
	if st := m.Run(0); st.Reason != hv.StopPowerOff {
		t.Fatalf("demo guest: %v", st)
	}
	const start = 0xc0100000
	out := runMonitor(m, fmt.Sprintf("walk %#x +64", start))
	t.Logf("%s", out)
	row := regexp.MustCompile(`(?m)^0x([0-9a-f]{8}) \| (-|0x([0-9a-f]{8})) +[A-Z ]*\| (-|0x([0-9a-f]{8}))`)
	rows := row.FindAllStringSubmatch(out, -1)
	shadowed := 0
	for _, r := range rows {
		va, _ := strconv.ParseUint(r[1], 16, 32)
		w := m.Walk(uint32(va))
		if w.Guest.Mapped != (r[2] != "-") || w.Shadow.Mapped != (r[4] != "-") {
			t.Errorf("%s: shown guest %q shadow %q, walks say %v %v", r[1], r[2], r[4], w.Guest.Mapped, w.Shadow.Mapped)
		}
		if w.Guest.Mapped {
			if pa, _ := strconv.ParseUint(r[3], 16, 32); uint32(pa) != w.Guest.PA {
				t.Errorf("%s: guest pa %s, walk %#x", r[1], r[3], w.Guest.PA)
			}
		}
		if w.Guest.Mapped && w.Shadow.Mapped {
			shadowed++
		}
	}
	if len(rows) == 0 || shadowed == 0 {
		t.Fatalf("%d rows, %d shadowed: the demo's kernel pages should show", len(rows), shadowed)
	}
	if !strings.Contains(out, fmt.Sprintf("%d pages shadowed", shadowed)) {
		t.Errorf("summary does not count %d shadowed pages", shadowed)
	}
}
