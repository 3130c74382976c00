package ui

import (
	"fmt"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/hcall"
)

// The handoff summary: the one line a kernel developer watching the boot
// wants at all times. LGUEST_INIT (spec §3.3.2) is where the Guest found
// the Host; the first NEW_PGTABLE ends linear_pages and moves the Guest
// from the fake 1:1 mapping to its own tables (spec §7.8); every shadow
// fault after it is demand_page filling the new shadow (spec §7.3).
type handoff struct {
	haveInit   bool
	initSeq    uint64
	initICount uint64
	initEIP    uint32
	slot       int // the slot in use before the handoff
	haveOff    bool
	offSeq     uint64
	offICount  uint64
	offSlot    int
	faults     int // #PF traps since the handoff
}

func (h *handoff) see(e hv.Event) {
	switch {
	case e.Kind == event.Hypercall && e.Nr == hcall.LguestInit && !h.haveInit:
		h.haveInit, h.initSeq, h.initICount, h.initEIP = true, e.Seq, e.ICount, e.EIP
	case e.Kind == event.PgdirSwitch && !h.haveOff:
		h.slot = e.Slot
	case e.Kind == event.LinearOff && !h.haveOff:
		h.haveOff, h.offSeq, h.offICount, h.offSlot = true, e.Seq, e.ICount, e.Slot
	case e.Kind == event.Trap && e.Nr == 14 && h.haveOff:
		h.faults++
	}
}

// unsee takes back what see did for e, an event time travel forgot (the
// newest first or in any order: each field has the seq it came from).
// The slot before the handoff comes back from the next snapshot.
func (h *handoff) unsee(e hv.Event) {
	switch {
	case e.Kind == event.Hypercall && h.haveInit && e.Seq == h.initSeq:
		h.haveInit = false
	case e.Kind == event.LinearOff && h.haveOff && e.Seq == h.offSeq:
		h.haveOff, h.faults = false, 0
	case e.Kind == event.Trap && e.Nr == 14 && h.haveOff && e.Seq > h.offSeq:
		h.faults--
	}
}

// renderHandoff is the summary line, in a shorter wording when the long
// one does not fit width (0: any width).
func renderHandoff(h handoff, width int) string {
	if long := renderHandoffLong(h); width <= 0 || len([]rune(stripTags(long))) <= width {
		return long
	}
	init := tagDim + "no LGUEST_INIT" + tagOff
	if h.haveInit {
		init = fmt.Sprintf("INIT @%d %#x", h.initICount, h.initEIP)
	}
	if !h.haveOff {
		return init + " │ " + tagDim + "no NEW_PGTABLE: linear_pages on" + tagOff
	}
	return fmt.Sprintf("%s │ NEW_PGTABLE @%d slot %d->%d │ %d #PF since", init, h.offICount, h.slot, h.offSlot, h.faults)
}

func renderHandoffLong(h handoff) string {
	init := tagDim + "LGUEST_INIT not yet" + tagOff
	if h.haveInit {
		init = fmt.Sprintf("LGUEST_INIT @%d eip %#x", h.initICount, h.initEIP)
	}
	pgt := tagDim + "first NEW_PGTABLE not yet (linear_pages on)" + tagOff
	if h.haveOff {
		pgt = fmt.Sprintf("first NEW_PGTABLE @%d slot %d -> %d", h.offICount, h.slot, h.offSlot)
	}
	faults := ""
	if h.haveOff {
		faults = fmt.Sprintf(" │ %d shadow faults since", h.faults)
	}
	return "handoff: " + init + " │ " + pgt + faults
}
