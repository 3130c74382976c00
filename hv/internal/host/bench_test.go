package host

import (
	"testing"

	"github.com/lgdbg/lgdbg/hv/event"
)

// Round trips through the Host: what one exit costs end to end (the CPU's
// exit, the Host's handling and event, re-entry). A booting Linux guest
// takes tens of thousands of each. One op is one round trip.

func BenchmarkHypercallRoundTrip(b *testing.B) {
	h := newTestHost(b, `
	HCALL 1, lguest_data
1:	HCALL 19
	jmp 1b
`, false)
	h.events = event.NewLog(1 << 10) // the ring only; no trace
	h.run(runOpts{limit: 100})       // past INIT
	b.ResetTimer()
	// six instructions of HCALL plus the jmp per SEND_INTERRUPTS
	h.run(runOpts{limit: h.cpu.ICount() + 7*uint64(b.N)})
}

// BenchmarkDemandFaultRoundTrip touches a new page every three
// instructions under linear_pages; FLUSH_TLB(1) throws the shadows away
// after every 4096 pages, so each touch is a #PF exit, demand_page and
// re-entry.
func BenchmarkDemandFaultRoundTrip(b *testing.B) {
	h := newTestHost(b, `
	HCALL 1, lguest_data
2:	movl $0x400000, %edi
	movl $4096, %ecx
1:	movl (%edi), %eax
	addl $4096, %edi
	loop 1b
	HCALL 5, 1
	jmp 2b
`, false)
	h.events = event.NewLog(1 << 10)
	h.run(runOpts{limit: 100})
	b.ResetTimer()
	h.run(runOpts{limit: h.cpu.ICount() + 3*uint64(b.N)})
}
