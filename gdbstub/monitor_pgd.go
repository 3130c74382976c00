package gdbstub

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/hcall"
	"github.com/lgdbg/lgdbg/hv/pgtable"
)

// monitor pgd [SLOT]: every present top-level entry of a cached pgdir, the
// Guest's next to the Host's shadow, so a developer sees at a glance which
// parts of the address space the Host has faulted in, which it never will
// (the Switcher's), and where the two disagree. No QEMU command can show
// this: a shadow table exists only under a shadow-paging Host.
//
// With PAE the top level has 4 entries and each present one names a PMD
// page; the present PMD entries are listed under it, the same way.

// pgdMaxLines bounds the listing: a 2-level pgdir has 1024 entries.
const pgdMaxLines = 1100

func monPgd(m *hv.Machine, args []string) (string, error) {
	if len(args) > 1 {
		return "", fmt.Errorf("want [SLOT]")
	}
	slots := m.ShadowSlots()
	var slot *pgtable.SlotInfo
	for i := range slots {
		if slots[i].Current {
			slot = &slots[i]
		}
	}
	if len(args) == 1 {
		n, err := parseNum(args[0])
		if err != nil || int(n) >= len(slots) {
			return "", fmt.Errorf("slot %q: want 0..%d", args[0], len(slots)-1)
		}
		slot = &slots[n]
	}
	if slot == nil || !slot.Allocated {
		return "", fmt.Errorf("that pgdir slot holds no shadow table")
	}
	linear := m.LinearPages()
	var b strings.Builder
	cur := ""
	if slot.Current {
		cur = ", current"
	}
	guest := fmt.Sprintf("guest 0x%08x", slot.GPgdir)
	if linear {
		guest = "guest: none (linear_pages: the Host fakes a 1:1 map, spec §7.8)"
	}
	fmt.Fprintf(&b, "pgd of slot %d%s: %s, shadow 0x%08x\n", slot.Index, cur, guest, slot.ShadowRoot)
	p := pgdPrinter{m: m, b: &b, pae: m.PAE(), linear: linear, switcher: m.Host().SwitcherAddr}
	fmt.Fprintf(&b, "%-5s %-21s | %-36s | %s\n", "index", "virtual range", "guest entry", "shadow entry")
	if p.pae {
		p.level(slot.GPgdir, slot.ShadowRoot, 4, 30, 0, "pgd")
	} else {
		p.level(slot.GPgdir, slot.ShadowRoot, 1024, 22, 0, "pgd")
	}
	fmt.Fprintf(&b, "%d guest entries present, %d shadowed, %d differ, %d shadow-only\n", p.guestN, p.bothN, p.diffN, p.shadowOnlyN)
	return b.String(), nil
}

type pgdPrinter struct {
	m                                 *hv.Machine
	b                                 *strings.Builder
	pae, linear                       bool
	switcher                          uint32
	lines                             int
	guestN, bothN, diffN, shadowOnlyN int
}

// entry reads one table entry (4 or 8 bytes) at a physical address.
func (p *pgdPrinter) entry(table uint32, i int) (uint64, bool) {
	if p.pae {
		var e [8]byte
		if p.m.ReadPhys(table+uint32(i)*8, e[:]) != nil {
			return 0, false
		}
		return binary.LittleEndian.Uint64(e[:]), true
	}
	var e [4]byte
	if p.m.ReadPhys(table+uint32(i)*4, e[:]) != nil {
		return 0, false
	}
	return uint64(binary.LittleEndian.Uint32(e[:])), true
}

// level lists the n entries of a guest table and its shadow. Under
// linear_pages the Guest has no table of its own: only the shadow side is
// shown.
func (p *pgdPrinter) level(gtable, stable uint32, n int, shift uint, base uint32, name string) {
	frameMask := uint64(0xFFFFF000)
	if p.pae {
		frameMask = 0x000F_FFFF_FFFF_F000
	}
	for i := 0; i < n; i++ {
		var g uint64
		if !p.linear {
			g, _ = p.entry(gtable, i)
		}
		s, _ := p.entry(stable, i)
		if g&1 == 0 && s&1 == 0 {
			continue
		}
		if p.lines++; p.lines > pgdMaxLines {
			p.b.WriteString("... (listing cut)\n")
			return
		}
		lo := base + uint32(i)<<shift
		hi := lo + (1<<shift - 1)
		mark := ""
		switch {
		case g&1 != 0 && s&1 != 0:
			p.guestN++
			p.bothN++
			// The shadow copies the Guest's flags when it is made (spec
			// §7.5); the Host may clear RW for dirty tracking only in PTEs,
			// and A/D are set by the walker, so compare the rest.
			const ad = 0x60
			if (g^s)&^frameMask&^ad != 0 {
				p.diffN++
				mark = "  <- flags differ"
			}
		case g&1 != 0:
			p.guestN++
			mark = "  (not faulted in yet)"
		case lo >= p.switcher || hi >= p.switcher:
			mark = "  (Switcher)"
		case p.linear:
			mark = "  (linear_pages fake)"
		default:
			p.shadowOnlyN++
			mark = "  <- no guest entry"
		}
		fmt.Fprintf(p.b, "%-5d 0x%08x-0x%08x | %-36s | %s%s\n", i, lo, hi, p.show(g, false), p.show(s, false), mark)
		if p.pae && name == "pgd" && (g&1 != 0 || s&1 != 0) {
			var gpmd, spmd uint32
			if g&1 != 0 {
				gpmd = uint32(g & frameMask)
			}
			if s&1 != 0 {
				spmd = uint32(s & frameMask)
			}
			p.pmd(gpmd, spmd, lo)
		}
	}
}

// pmd lists a PAE middle level under its pgd entry, indented.
func (p *pgdPrinter) pmd(gtable, stable, base uint32) {
	frameMask := uint64(0x000F_FFFF_FFFF_F000)
	for i := 0; i < 512; i++ {
		var g, s uint64
		if gtable != 0 && !p.linear {
			g, _ = p.entry(gtable, i)
		}
		if stable != 0 {
			s, _ = p.entry(stable, i)
		}
		if g&1 == 0 && s&1 == 0 {
			continue
		}
		if p.lines++; p.lines > pgdMaxLines {
			return
		}
		lo := base + uint32(i)<<21
		mark := ""
		switch {
		case g&1 != 0 && s&1 != 0:
			if (g^s)&^frameMask&^0x60 != 0 {
				mark = "  <- flags differ"
			}
		case g&1 != 0:
			mark = "  (not faulted in yet)"
		case lo >= p.switcher:
			mark = "  (Switcher)"
		}
		fmt.Fprintf(p.b, "  pmd %-3d 0x%08x | %-36s | %s%s\n", i, lo, p.show(g, false), p.show(s, false), mark)
	}
}

func (p *pgdPrinter) show(e uint64, pte bool) string {
	if e&1 == 0 {
		return "-"
	}
	if p.pae {
		return fmt.Sprintf("0x%016x %s", e, hcall.EntryFlags(e, pte, p.pae))
	}
	return fmt.Sprintf("0x%08x %s", e, hcall.EntryFlags(e, pte, p.pae))
}
