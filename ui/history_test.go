package ui

import (
	"fmt"
	"testing"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/tests/guests"
)

// S steps back to the instant before, :goto travels, the status bar shows
// the history range, and ? lists the keys.
func TestTimeTravelKeys(t *testing.T) {
	hs := startConfig(t, hv.Config{Image: guests.BootImage, History: 64 << 20}, 140, 45)
	start := hs.m.Regs()
	for i := 0; i < 3; i++ {
		prev := hs.m.Regs().ICount
		hs.key('s')
		hs.waitUntil("the step", func(string) bool { return hs.m.Regs().ICount > prev })
	}
	at3 := hs.m.Regs()
	hs.waitFor(fmt.Sprintf("history 0..%d", at3.ICount))
	hs.key('S')
	hs.waitUntil("the step back", func(string) bool { return hs.m.Regs().ICount == at3.ICount-1 })
	hs.command("goto 0")
	hs.waitUntil("goto 0", func(string) bool { return hs.m.Regs().ICount == 0 })
	hs.waitFor(fmt.Sprintf("eip %08x", start.EIP))
	if got := hs.m.Regs(); got != start {
		t.Errorf("goto 0: registers %+v, want %+v", got, start)
	}
	hs.key('?')
	hs.waitFor("step one instruction back")
}
