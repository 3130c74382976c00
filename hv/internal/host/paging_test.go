package host

import (
	"strings"
	"testing"
)

func TestClassifyTopLevel(t *testing.T) {
	const at = 0x8000
	for _, tc := range []struct {
		name    string
		entries [4]uint64 // the first 32 bytes, as four 8-byte words
		want    tableShape
	}{
		{"all zero", [4]uint64{}, shapeUnknown},
		{"head_32 PAE, KPMDS 1", [4]uint64{0x3001, 0, 0, 0x3001}, shapePAE},
		{"four PMDs", [4]uint64{0x3001, 0x4001, 0x5001, 0x6001}, shapePAE},
		{"PDPT entry with RW", [4]uint64{0x3003, 0, 0, 0x3001}, shapeNonPAE},
		{"PDPT frame beyond guest memory", [4]uint64{0, 0, 0, uint64(testRAM+0x100000) | 1}, shapeNonPAE},
		{"high half set", [4]uint64{0x1_00003001, 0, 0, 0}, shapeNonPAE},
		// Non-PAE: PDEs 0 and 1 identity-map 8 MiB with 0x067 (one u64
		// word holds two PDEs).
		{"non-PAE identity PDEs", [4]uint64{0x00004067<<32 | 0x00003067, 0, 0, 0}, shapeNonPAE},
		{"non-PAE, one PDE", [4]uint64{0x00003067, 0, 0, 0}, shapeNonPAE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHost(t, "hlt\n", false)
			for i, e := range tc.entries {
				h.mem.Write64(at+uint32(8*i), e)
			}
			if got := classifyTopLevel(h, at); got != tc.want {
				t.Fatalf("shape %v, want %v", got, tc.want)
			}
		})
	}
	h := newTestHost(t, "hlt\n", false)
	if got := classifyTopLevel(h, h.mem.GuestLimit()-16); got != shapeUnknown {
		t.Fatalf("table straddling guest_limit: %v", got)
	}
}

// The first NEW_PGTABLE decides the mode when nobody else did, and a forced
// mode the Guest contradicts is one clear kill.
func TestChoosePagingAtFirstNewPgtable(t *testing.T) {
	const pdpt, pmd = 0x8000, 0x9000
	for _, tc := range []struct {
		name    string
		hostPAE bool
		src     PAESource
		pae     bool // the table built
		wantPAE bool
		kill    string
	}{
		{"guessed non-PAE, PAE table: switch", false, PAEGuessed, true, true, ""},
		{"guessed non-PAE, non-PAE table: stay", false, PAEGuessed, false, false, ""},
		{"--no-pae, PAE table", false, PAEFromFlag, true, false, "the guest built a PAE page table; rerun with --pae"},
		{"--pae, non-PAE table", true, PAEFromFlag, false, true, "the guest built a non-PAE page table; rerun with --no-pae"},
		{"image says non-PAE, PAE table", false, PAEFromImage, true, false, "the guest built a PAE page table but its image says non-PAE"},
		{"--pae, PAE table", true, PAEFromFlag, true, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHost(t, "hlt\n", tc.hostPAE)
			h.paeSource = tc.src
			if tc.pae {
				h.mem.Write64(pdpt+0, pmd|1)
				h.mem.Write64(pdpt+24, pmd|1)
				h.mem.Write64(pmd, 0x0000_0000_0000_0083) // a 2 MiB page at 0
			} else {
				h.mem.Write32(pdpt, 0x00000083)   // a 4 MiB page at 0
				h.mem.Write32(pdpt+4, 0x00400083) // and the next
			}
			h.newPgtable(pdpt)
			if h.pae != tc.wantPAE || h.pt.PAE() != tc.wantPAE {
				t.Fatalf("Host PAE %v tables PAE %v, want %v", h.pae, h.pt.PAE(), tc.wantPAE)
			}
			if h.deathReason != tc.kill {
				t.Fatalf("kill %q, want %q", h.deathReason, tc.kill)
			}
			if tc.kill != "" {
				if !h.pt.LinearPages() {
					t.Fatal("a refused NEW_PGTABLE still ended linear_pages")
				}
				return
			}
			if h.pt.LinearPages() {
				t.Fatal("linear_pages still on")
			}
			switched := len(eventsOf(h, EvPaging)) == 1
			if switched != (tc.wantPAE != tc.hostPAE) {
				t.Fatalf("paging events %v", eventsOf(h, EvPaging))
			}
			if switched && !strings.Contains(eventsOf(h, EvPaging)[0].Text, "PAE page table at 0x8000") {
				t.Fatalf("paging event %q", eventsOf(h, EvPaging)[0].Text)
			}
			// The CPU walks the new shadow in the new mode: the Switcher
			// is reachable through it.
			if w := h.pt.WalkShadow(h.pt.CurrentSlot(), h.switcherAddr); !w.Mapped || w.PA != h.switcherPages[0] {
				t.Fatalf("Switcher walk after NEW_PGTABLE: %+v", w)
			}
		})
	}
}
