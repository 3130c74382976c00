package gdbstub

import (
	"fmt"
	"strings"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/hcall"
	"github.com/lgdbg/lgdbg/hv/pgtable"
)

// monitor walk ADDR END|+PAGES: the page-by-page view of a range, one line
// a page, the Guest's translation next to the shadow's, with what each
// difference means. It answers "which of these pages has the Host faulted
// in, and how" without a walk per address.

// walkRangeMax bounds the listing.
const walkRangeMax = 1024

func monWalkRange(m *hv.Machine, args []string) (string, error) {
	start, err := parseNum(args[0])
	if err != nil {
		return "", err
	}
	start &^= 0xFFF
	var pages uint64
	if n, ok := strings.CutPrefix(args[1], "+"); ok {
		c, err := parseNum(n)
		if err != nil {
			return "", err
		}
		pages = uint64(c)
	} else {
		end, err := parseNum(args[1])
		if err != nil {
			return "", err
		}
		if end <= start {
			return "", fmt.Errorf("end %#x is not above %#x", end, start)
		}
		pages = (uint64(end) - uint64(start) + 0xFFF) >> 12
	}
	if pages == 0 || pages > walkRangeMax {
		return "", fmt.Errorf("%d pages: want 1..%d", pages, walkRangeMax)
	}
	if uint64(start)+pages<<12 > 1<<32 {
		pages = (1<<32 - uint64(start)) >> 12
	}
	pae := m.PAE()
	var b strings.Builder
	first := m.Walk(start)
	fmt.Fprintf(&b, "walk 0x%08x-0x%08x (%d pages): linear_pages %s, shadow slot %d\n",
		start, uint64(start)+pages<<12-1, pages, onOff(first.Linear), first.Slot)
	fmt.Fprintf(&b, "%-10s | %-10s %-22s | %-10s %-22s\n", "virtual", "guest pa", "flags", "shadow pa", "flags")
	var faulted, unfaulted, differ int
	for i := uint64(0); i < pages; i++ {
		va := start + uint32(i<<12)
		w := m.Walk(va)
		g, s := w.Guest, w.Shadow
		if !g.Mapped && !s.Mapped {
			continue
		}
		mark := ""
		switch {
		case g.Mapped && s.Mapped:
			faulted++
			gf, sf := leafFlags(g), leafFlags(s)
			switch {
			case g.PA != s.PA && !s.Switcher:
				differ++
				mark = "<- maps another frame"
			case gf&0x2 != 0 && sf&0x2 == 0:
				mark = "(read-only until the first write sets D, spec §7.3)"
			case gf&^0x60 != sf&^0x60 && !s.Switcher:
				differ++
				mark = "<- flags differ"
			}
		case g.Mapped:
			unfaulted++
			mark = "(not faulted in yet)"
		case s.Switcher:
			mark = "(Switcher)"
		default:
			differ++
			mark = "<- shadow maps a page the Guest does not"
		}
		fmt.Fprintf(&b, "%s\n", strings.TrimRight(fmt.Sprintf("0x%08x | %s | %s %s", va, leafCol(g, pae), leafCol(s, pae), mark), " "))
	}
	fmt.Fprintf(&b, "%d pages shadowed, %d not faulted in, %d differ\n", faulted, unfaulted, differ)
	return b.String(), nil
}

// leafFlags is the flag bits of a walk's last level.
func leafFlags(w pgtable.Walk) uint64 {
	if len(w.Levels) == 0 {
		return 0
	}
	return w.Levels[len(w.Levels)-1].Raw & 0xFFF
}

func leafCol(w pgtable.Walk, pae bool) string {
	if !w.Mapped {
		return fmt.Sprintf("%-10s %-22s", "-", "")
	}
	flags := ""
	if len(w.Levels) > 0 {
		l := w.Levels[len(w.Levels)-1]
		flags = hcall.EntryFlags(l.Raw, l.Kind == pgtable.LevelPTE, pae)
	}
	return fmt.Sprintf("0x%08x %-22s", w.PA, flags)
}
