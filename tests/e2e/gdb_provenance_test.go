package e2e

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Debian's gdb asks who wrote the page-table entries mapping the kernel's
// first page, after the demo guest's power-off: `monitor walk` names the
// last writer of each guest entry (head.S's store after its have_size
// label for the pgd entry, the Host's demand_page for the PTE's accessed
// bit) and `monitor history` lists the guest changes, the CR3 load and
// the shadow changes, oldest first.
func TestGDBGuestProvenance(t *testing.T) {
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	r := startGDBRun(t, "--symbols", filepath.Join(guestDir, "boot.elf"), filepath.Join(guestDir, "boot.bzImage"))
	if o := r.gdb(t, "continue"); !strings.Contains(o, "exited normally") {
		t.Fatalf("the guest did not power off under gdb:\n%s", o)
	}
	r.waitFor(t, "gdb can still read its memory, registers and monitor")
	o := r.gdb(t, "monitor walk 0xc0100000", "monitor history 0xc0100000", "kill")
	for _, re := range []string{
		`(?m)^guest pgd written at icount \d+ by the Guest at 0x1[0-9a-f]{5} <have_size\+0x[0-9a-f]+> \(0x0 -> 0x[0-9a-f]+\)$`,
		`(?m)^guest pte written at icount \d+ by the Host, handling trap 14 \(#PF\) cr2 0x[0-9a-f]+, guest at 0x[0-9a-f]+ <lguest_entry\+0x[0-9a-f]+> \(0x[0-9a-f]+ -> 0x[0-9a-f]+\)$`,
		`(?m)^shadow pgd written at icount \d+: demand_page`,
		`entries mapping 0xc0100000: 4 guest changes, [1-9]\d* shadow changes`,
	} {
		if !regexp.MustCompile(re).MatchString(o) {
			t.Errorf("gdb output lacks /%s/:\n%s", re, o)
		}
	}
	// Oldest first: head.S's stores, the CR3 load, then demand_page's
	// guest and shadow changes.
	var order []string
	_, hist, _ := strings.Cut(o, "entries mapping")
	for _, l := range strings.Split(hist, "\n") {
		switch {
		case strings.Contains(l, "guest  pgd[768]"):
			order = append(order, "guest pgd")
		case strings.Contains(l, "guest  pte[256]") && strings.Contains(l, "by the Guest"):
			order = append(order, "guest pte")
		case strings.Contains(l, "guest  cr3 0x0 -> 0x"):
			order = append(order, "cr3")
		case strings.Contains(l, "guest  pte[256]") && strings.Contains(l, "by the Host"):
			order = append(order, "guest pte by the Host")
		case strings.Contains(l, "shadow slot") && !strings.Contains(strings.Join(order, ","), "shadow"):
			order = append(order, "shadow")
		}
	}
	if got, want := strings.Join(order, ", "), "guest pgd, guest pte, cr3, guest pte by the Host, shadow"; got != want {
		t.Errorf("history order %q, want %q:\n%s", got, want, o)
	}
	if _, err := r.exit(t); err != nil {
		t.Errorf("lgdbg: %v", err)
	}
}
