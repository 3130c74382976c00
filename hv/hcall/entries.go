package hcall

import (
	"fmt"
	"strings"
)

// Indices shows which table slots a virtual address uses: "pgd 767 pte 239"
// with 2-level paging, "pgd 2 pmd 511 pte 239" with PAE (spec §7.1).
func Indices(va uint32, pae bool) string {
	if pae {
		return fmt.Sprintf("pgd %d pmd %d pte %d", va>>30, va>>21&511, va>>12&511)
	}
	return fmt.Sprintf("pgd %d pte %d", va>>22, va>>12&1023)
}

// pgdSpan is the virtual range one top-level entry maps.
func pgdSpan(idx uint32, pae bool) (lo, hi uint32) {
	shift := uint(22)
	if pae {
		shift = 30
	}
	lo = idx << shift
	return lo, lo + (1<<shift - 1)
}

// Entry shows a page-table entry: its raw value, the frame it names and
// its flag bits. pte says whether bit 7 is PAT (a PTE) or PS (a directory
// entry); NX exists only in PAE's 8-byte entries.
func Entry(e uint64, pte, pae bool) string {
	frame := e &^ 0xFFF
	if pae {
		frame &= 0x000F_FFFF_FFFF_F000
	}
	if e&1 == 0 {
		return fmt.Sprintf("%#x [not present]", e)
	}
	return fmt.Sprintf("%#x [%s] pfn %#x", e, EntryFlags(e, pte, pae), frame>>12)
}

// EntryFlags decodes an entry's flag bits, lowest first. Bit 7 is PAT in a
// PTE and PS in a directory entry; bits 9-11 are the software bits.
func EntryFlags(e uint64, pte, pae bool) string {
	names := [...]string{"P", "RW", "US", "PWT", "PCD", "A", "D", "PS", "G", "AVL9", "AVL10", "AVL11"}
	if pte {
		names[7] = "PAT"
	}
	var out []string
	for i, n := range names {
		if e&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	if pae && e&(1<<63) != 0 {
		out = append(out, "NX")
	}
	return strings.Join(out, " ")
}

// Gate shows an IDT gate from its two words (spec §5.6): the handler's
// selector:offset, the gate type, its DPL and whether it is present.
func Gate(lo, hi uint32) string {
	sel := lo >> 16
	off := hi&0xFFFF0000 | lo&0xFFFF
	typ := hi >> 8 & 0x1F
	dpl := hi >> 13 & 3
	kind := map[uint32]string{0x0E: "interrupt gate", 0x0F: "trap gate", 0x05: "task gate", 0x06: "16-bit interrupt gate", 0x07: "16-bit trap gate"}[typ]
	if kind == "" {
		kind = fmt.Sprintf("type %#x", typ)
	}
	if hi&0x8000 == 0 {
		return fmt.Sprintf("not present (%s)", kind)
	}
	return fmt.Sprintf("%#x:%#x %s dpl %d", sel, off, kind, dpl)
}

// Descriptor shows a GDT segment descriptor from its two words (spec §6):
// base, limit (scaled by G), code or data with its access, DPL, present.
func Descriptor(lo, hi uint32) string {
	base := hi&0xFF000000 | hi<<16&0x00FF0000 | lo>>16
	limit := hi&0x000F0000 | lo&0xFFFF
	if hi&(1<<23) != 0 {
		limit = limit<<12 | 0xFFF
	}
	typ := hi >> 8 & 0xF
	dpl := hi >> 13 & 3
	if hi&(1<<15) == 0 {
		if lo == 0 && hi == 0 {
			return "null"
		}
		return fmt.Sprintf("not present (base %#x limit %#x)", base, limit)
	}
	var kind string
	switch {
	case hi&(1<<12) == 0:
		kind = map[uint32]string{0x1: "TSS16", 0x2: "LDT", 0x3: "TSS16 busy", 0x9: "TSS", 0xB: "TSS busy", 0xC: "call gate"}[typ]
		if kind == "" {
			kind = fmt.Sprintf("system type %#x", typ)
		}
	case typ&8 != 0:
		kind = "code"
		if typ&2 != 0 {
			kind += " r"
		}
		kind += "x"
		if typ&4 != 0 {
			kind += " conforming"
		}
	default:
		kind = "data r"
		if typ&2 != 0 {
			kind += "w"
		}
		if typ&4 != 0 {
			kind += " expand-down"
		}
	}
	size := "16-bit"
	if hi&(1<<22) != 0 {
		size = "32-bit"
	}
	return fmt.Sprintf("base %#x limit %#x %s %s dpl %d", base, limit, kind, size, dpl)
}
