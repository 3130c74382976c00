package gdbstub

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/tests/guests"
)

// Real gdb reads `monitor walk` and `monitor history` of the powered-off
// demo guest, with the empty keep-alive console packets a slow replay
// sends every keepAliveEvery in between (here every 100 µs, so they surely
// come): gdb takes them in its stride and prints the whole answer, the
// guest writers included.
func TestRealGDBProvenance(t *testing.T) {
	gdbPath(t)
	old := keepAliveEvery
	keepAliveEvery = 100 * time.Microsecond
	t.Cleanup(func() { keepAliveEvery = old })
	m, err := hv.New(hv.Config{Image: guests.BootImage, History: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Run(0); !s.Reason.Terminal() {
		t.Fatalf("the demo guest stopped with %v", s)
	}
	addr, logs := serveTCP(t, m)
	out := runGDB(t, addr, logs, nil, "monitor walk 0xc0100000", "monitor history 0xc0100000")
	for _, re := range []string{
		`(?m)^guest pgd written at icount \d+ by the Guest at 0x1[0-9a-f]{5} `,
		`(?m)^guest pte written at icount \d+ by the Host, handling trap 14 \(#PF\)`,
		`entries mapping 0xc0100000: 4 guest changes, 1 shadow changes`,
		`(?m)^  icount \d+ +guest  cr3 0x0 -> 0x[0-9a-f]+ \(hcall NEW_PGTABLE\)$`,
		`(?m)^  icount \d+ +shadow slot \d+ pgd\[768\] `,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("gdb output lacks /%s/", re)
		}
	}
	if strings.Contains(out, "Ignoring packet error") || strings.Contains(out, "Remote connection closed") {
		t.Errorf("gdb choked on the keep-alive packets")
	}
}
