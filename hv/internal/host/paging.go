package host

import (
	"fmt"

	"github.com/lgdbg/lgdbg/hv/pgtable"
)

// Choosing the paging mode. Host and Guest must be built with the same
// CONFIG_X86_PAE and nothing in the ABI negotiates it (spec §0). lgdbg
// takes it, in order, from --pae/--no-pae, from the image when it says
// (hv/boot: the ELF's initial_pg_pmd, lgdbg's bzImage marker), and
// otherwise from the Guest itself: the table it hands to its first
// NEW_PGTABLE. Until then the Guest runs on the Host's fake 1:1 shadow
// (linear_pages, spec §7.8), which works in either mode and which that
// first NEW_PGTABLE throws away; so the Host can start non-PAE and rebuild
// the fake in PAE form just before, at no cost the Guest can see.

// tableShape is what a Guest top-level table looks like.
type tableShape int

const (
	shapeUnknown tableShape = iota // all zero or unreadable: says nothing
	shapeNonPAE
	shapePAE
)

func (s tableShape) String() string {
	switch s {
	case shapeNonPAE:
		return "non-PAE"
	case shapePAE:
		return "PAE"
	}
	return "unknown"
}

// classifyTopLevel looks at the first 32 bytes of the table at gpa: under
// PAE they are the whole PDPT, 4 eight-byte entries each either 0 or a
// page-aligned frame inside guest memory with only _PAGE_PRESENT set and a
// zero high half (the only flag CHECK_GPGD_MASK allows under PAE, spec
// §0.1, §7.2; Linux writes pa(pmd) | _PAGE_PRESENT). A non-PAE directory's
// first 8 entries (the low 32 MiB) are never shaped like that: a present
// PDE Linux builds carries RW, USER or ACCESSED as well (0x063, 0x067), and
// the odd words would all have to be zero. All-zero entries say nothing.
func classifyTopLevel(h *Host, gpa uint32) tableShape {
	if !h.mem.AddressOK(gpa, 32) {
		return shapeUnknown
	}
	nonzero := 0
	for i := uint32(0); i < 4; i++ {
		e, _ := h.mem.Read64(gpa + 8*i)
		if e == 0 {
			continue
		}
		nonzero++
		lo := uint32(e)
		if e>>32 != 0 || lo&0xFFF != 0x001 || lo&^0xFFF >= h.mem.GuestLimit() {
			return shapeNonPAE
		}
	}
	if nonzero == 0 {
		return shapeUnknown
	}
	return shapePAE
}

// choosePaging runs at the first NEW_PGTABLE, while linear_pages is still
// on. It returns false if it killed the Guest (a forced mode the Guest
// contradicts), in which case NEW_PGTABLE must not go on.
func (h *Host) choosePaging(gpgdir uint32) bool {
	shape := classifyTopLevel(h, gpgdir)
	if shape == shapeUnknown || (shape == shapePAE) == h.pae {
		return true
	}
	switch h.paeSource {
	case PAEFromFlag:
		// One line that says what to do, instead of the obscure
		// "bad page directory entry" or unhandled #PF that follows.
		if shape == shapePAE {
			h.kill("the guest built a PAE page table; rerun with --pae")
		} else {
			h.kill("the guest built a non-PAE page table; rerun with --no-pae")
		}
		return false
	case PAEFromImage:
		h.kill(fmt.Sprintf("the guest built a %s page table but its image says %s", shape, modeName(h.pae)))
		return false
	}
	if err := h.pt.SwitchMode(shape == shapePAE); err != nil {
		h.kill(err.Error())
		return false
	}
	h.pae = shape == shapePAE
	h.emit(Event{Kind: EvPaging, Text: fmt.Sprintf("the guest built a %s page table at %#x: the Host runs %s from here", shape, gpgdir, shape)})
	return true
}

func modeName(pae bool) string {
	if pae {
		return "PAE"
	}
	return "non-PAE"
}

// PAESource records why the Host runs the mode it runs.
type PAESource int

const (
	PAEGuessed   PAESource = iota // nobody said: non-PAE until the Guest shows its table
	PAEFromImage                  // the image said
	PAEFromFlag                   // --pae / --no-pae
)

// poolPages sizes the Host pool for the shadow tables: 4 cached pgdirs,
// each up to a top page plus every lower-level page (PAE: PDPT page, 4
// PMDs, 2048 PTE pages), plus the Switcher's three pages. A Host that may
// still switch to PAE gets the PAE size (the pool is address space; pages
// are touched only when used, and allocation order, hence every address,
// is the same).
func poolPages(pae bool) int {
	if pae {
		return pgtable.NumSlots*(1+4+2048) + 16
	}
	return pgtable.NumSlots*(1+1024) + 16
}
