package ui

import (
	"fmt"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/hcall"
)

// Pane 6, Events: traps, interrupts, shadow changes, pgdir switches.

func eventLine(e hv.Event) string {
	return fmt.Sprintf("%10d %s", e.ICount, sanitizeConsole(e.String()))
}

// eventDetail is an expanded event line: every field of its kind, one a
// row, and where Enter jumps.
func eventDetail(e hv.Event, pae bool) []string {
	out := []string{fmt.Sprintf("%s at icount %d", e.Kind, e.ICount)}
	switch e.Kind {
	case event.Trap:
		out = append(out, fmt.Sprintf("vector %d (%s) at eip %#x, error code %#x", e.Nr, e.Name, e.EIP, e.ErrCode))
		if e.Nr == 14 {
			out = append(out, fmt.Sprintf("cr2 %#x, error code %s", e.CR2, pfErr(e.ErrCode)))
		}
		out = append(out, "Host: "+sanitizeConsole(e.Outcome))
	case event.Shadow:
		out = append(out, fmt.Sprintf("slot %d %s[%d] for va %#x", e.Slot, e.Level, e.Index, e.VAddr),
			fmt.Sprintf("old %#x  %s", e.Old, hcall.EntryFlags(e.Old, e.Level == "pte", pae)),
			fmt.Sprintf("new %#x  %s", e.New, hcall.EntryFlags(e.New, e.Level == "pte", pae)),
			"why: "+sanitizeConsole(e.Why))
	case event.LinearOff, event.PgdirSwitch:
		out = append(out, fmt.Sprintf("slot %d, guest pgdir %#x, shadow root %#x", e.Slot, e.GPgdir, e.Root))
	case event.Interrupt:
		out = append(out, fmt.Sprintf("irq %d delivered at eip %#x", e.Nr, e.EIP))
	default:
		if e.Text != "" {
			out = append(out, sanitizeConsole(e.Text))
		}
	}
	if j := jumpOf(e); j.what != "" {
		out = append(out, "Enter jumped: "+j.what)
	}
	return out
}

// travelHint ends an expanded line when history is on: how to go to the
// instant before its event.
func travelHint(e hv.Event) string {
	return fmt.Sprintf("Enter again or g: travel to just before this (icount %d, event %d)", e.ICount, e.Seq)
}

// pfErr spells a page-fault error code (P, W, U bits).
func pfErr(code uint32) string {
	s := "not-present"
	if code&1 != 0 {
		s = "protection"
	}
	if code&2 != 0 {
		s += " write"
	} else {
		s += " read"
	}
	if code&4 != 0 {
		s += " user"
	} else {
		s += " kernel"
	}
	return s
}

// jump is where Enter on a log line takes the other panes.
type jump struct {
	walk, mem, code *uint32
	what            string
}

// jumpOf says where an event points: a trap or shadow change at the walk
// of its address, a hypercall's virtual address at the walk, its stack at
// the memory pane, and the code that made it at the disassembly.
func jumpOf(e hv.Event) jump {
	addr := func(v uint32) *uint32 { return &v }
	switch e.Kind {
	case event.Trap:
		va := e.EIP
		if e.Nr == 14 {
			va = e.CR2
		}
		return jump{walk: addr(va), code: addr(e.EIP), what: fmt.Sprintf("walk %#x, code at %#x", va, e.EIP)}
	case event.Shadow:
		return jump{walk: addr(e.VAddr), what: fmt.Sprintf("walk %#x", e.VAddr)}
	case event.Hypercall:
		switch {
		case e.Nr == hcall.SetPTE && len(e.Args) > 1:
			return jump{walk: addr(e.Args[1]), code: addr(e.EIP), what: fmt.Sprintf("walk %#x, code at %#x", e.Args[1], e.EIP)}
		case e.Nr == hcall.SetStack && len(e.Args) > 1:
			return jump{mem: addr(e.Args[1]), code: addr(e.EIP), what: fmt.Sprintf("memory at %#x, code at %#x", e.Args[1], e.EIP)}
		case e.EIP != 0:
			return jump{code: addr(e.EIP), what: fmt.Sprintf("code at %#x", e.EIP)}
		}
	case event.Interrupt, event.Kill, event.Unimplemented:
		if e.EIP != 0 {
			return jump{code: addr(e.EIP), what: fmt.Sprintf("code at %#x", e.EIP)}
		}
	}
	return jump{}
}
