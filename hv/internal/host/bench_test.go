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

// trapLoop: a #UD reflected into the Guest's handler, which skips the
// ud2 and irets, over and over; the handler counts them.
const trapLoop = `
	HCALL 1, lguest_data
	movl $0x180000, %esp
	HCALL 6, 6, 0x00611000, 0x00108E00
1:	ud2
	jmp 1b
	.org 0x1000
	addl $2, (%esp)
	incl traps
	iret
	.org 0x2000 /* a page of its own: a store next to code re-decodes it */
traps: .long 0
`

// BenchmarkTrapReflectRoundTrip: one op is a trap's exit, the Host's
// reflection through the Guest's IDT and the handler's iret back.
func BenchmarkTrapReflectRoundTrip(b *testing.B) {
	h := newTestHost(b, trapLoop, false)
	h.events = event.NewLog(1 << 10)
	h.run(runOpts{limit: 100})
	b.ReportAllocs()
	b.ResetTimer()
	// addl, incl, iret and jmp retire; the ud2 traps
	h.run(runOpts{limit: h.cpu.ICount() + 4*uint64(b.N)})
}

// TestTrapReflectionAllocatesNothing: once the Guest's code is decoded and
// the event ring has grown to its size, reflecting a trap into the Guest
// allocates nothing (issue 13: no allocation on any exit path).
func TestTrapReflectionAllocatesNothing(t *testing.T) {
	h := newTestHost(t, trapLoop, false)
	h.events = event.NewLog(1 << 10)
	h.run(runOpts{limit: 20000}) // past INIT; ring full, code hot
	before := h.cpu.ICount()
	allocs := testing.AllocsPerRun(20, func() {
		h.run(runOpts{limit: h.cpu.ICount() + 4000})
	})
	if n := len(eventsOf(h, EvTrap)); n == 0 || h.cpu.ICount()-before < 20*4000 {
		t.Fatalf("the loop did not run: %d trap events, %d instructions", n, h.cpu.ICount()-before)
	}
	if allocs != 0 {
		t.Errorf("%v allocations per 1,000 reflected traps", allocs)
	}
}
