package pgtable

import "errors"

// releasePGD is release_pgd (spec §7.6): free the shadow table (and, for
// PAE, every PTE page under it) that top-level entry idx of slot s points
// to, and zero the entry. One Change describes the whole release.
func (t *Tables) releasePGD(s int, idx uint32) {
	g := &t.g
	pa := t.slots[s].root + idx*g.esz
	e := t.sread(pa)
	if e&flagP == 0 {
		return
	}
	page := g.frameAddr(e)
	if g.pae {
		for i := uint32(0); i < 512; i++ {
			if pmd := t.sread(page + i*8); pmd&flagP != 0 {
				t.m.FreePage(g.frameAddr(pmd))
			}
		}
	}
	t.m.FreePage(page)
	t.swrite(pa, 0)
	t.emit(s, LevelPGD, idx, idx<<g.pgdShift, e, 0)
	if s == t.cur {
		if g.pae {
			t.needReload = true
		} else {
			t.needFlush = true
		}
	}
}

// flushUserMappings is flush_user_mappings (spec §7.10): release every
// top-level entry below kernel_address. Before LGUEST_INIT kernel_address
// is 0, so this releases nothing, exactly as in the original.
func (t *Tables) flushUserMappings(s int) {
	for i := uint32(0); i < t.g.pgdIndex(t.kernelAddr); i++ {
		t.releasePGD(s, i)
	}
}

// releaseAllPagetables is release_all_pagetables (spec §7.10, 3.10+): every
// top-level entry of every allocated slot, the Switcher's included. Slots
// stay allocated and keep their gpgdir.
func (t *Tables) releaseAllPagetables() {
	for s := range t.slots {
		if t.slots[s].root == 0 {
			continue
		}
		for j := uint32(0); j < t.g.ptrsPerPGD; j++ {
			t.releasePGD(s, j)
		}
		t.slots[s].switcherMapped = false
	}
}

// findPgdir is find_pgdir (spec §7.7): the first allocated slot shadowing
// gpgdir, or NumSlots.
func (t *Tables) findPgdir(gpgdir uint32) int {
	for i := range t.slots {
		if t.slots[i].root != 0 && t.slots[i].gpgdir == gpgdir {
			return i
		}
	}
	return NumSlots
}

// H:520 newPgdir is new_pgdir (spec §7.7): evict a random slot ("mugging"),
// allocating its top level if it never had one (blank = true: no kernel
// mappings, so the caller must re-pin the stack). If that allocation fails
// the current slot is reused.
func (t *Tables) newPgdir(gpgdir uint32) (next int, blank bool) {
	next = int(t.random() % NumSlots)
	if t.slots[next].root == 0 {
		if page, ok := t.m.AllocPage(); ok {
			t.slots[next].root = page
			blank = true
		} else {
			next = t.cur
		}
	}
	t.slots[next].gpgdir = gpgdir
	why := t.why
	t.why = "new_pgdir"
	t.flushUserMappings(next)
	t.why = why
	return next, blank
}

// allocateSwitcherMapping is allocate_switcher_mapping plus
// map_switcher_in_guest for our single Host CPU (spec §7.12): the Switcher
// text read-only, the vCPU's regs page read-write and the ro_state page
// read-only, at switcher_addr in slot s. The original only ever does this
// for the current slot; s lets SetPGD repair another slot (see SetPGD).
func (t *Tables) allocateSwitcherMapping(s int) bool {
	why := t.why
	t.why = "switcher"
	defer func() { t.why = why }()
	for i := uint32(0); i < switcherPages; i++ {
		va := t.switcherAddr + i*pageSize
		pte, ok := t.findSPTE(s, va, true, t.g.gpgdMask, pageTable)
		if !ok {
			return false
		}
		if v := uint64(t.swPages[i]) | switcherFlags[i]; t.sread(pte) != v {
			t.setSPTE(s, va, pte, v)
		}
	}
	t.slots[s].switcherMapped = true
	return true
}

// NewPagetable is guest_new_pagetable, LHCALL_NEW_PGTABLE (spec §7.8). The
// first call ends linear_pages: every fake mapping is thrown away and a
// fresh (or evicted) slot is taken even if gpgdir is cached.
func (t *Tables) NewPagetable(gpgdir uint32) {
	t.why = "new_pgtable"
	var np int
	if t.linear {
		t.why = "linear_pages off"
		t.releaseAllPagetables()
		t.linear = false
		t.why = "new_pgtable"
		np = NumSlots
	} else {
		np = t.findPgdir(gpgdir)
	}
	repin := false
	if np == NumSlots {
		np, repin = t.newPgdir(gpgdir)
	}
	t.cur = np
	// The Switcher reloads CR3 on every guest entry; here the CPU must
	// switch to the (possibly same) slot now.
	t.needReload = true
	if repin {
		t.why = "pin_stack"
		t.pinStackPages()
	}
	if !t.slots[t.cur].switcherMapped && !t.allocateSwitcherMapping(t.cur) {
		t.kill("Cannot populate switcher mapping")
	}
	t.commit()
}

// doSetPTE is do_set_pte (spec §7.9) on slot s. Only an existing shadow
// PTE page is touched. Quirk kept (spec §12 quirk 6): an accessed or dirty
// Guest PTE is installed as is, so a writable, accessed but clean PTE gets
// a writable shadow PTE and its later writes are not tracked.
func (t *Tables) doSetPTE(s int, vaddr uint32, gpte uint64) {
	spte, ok := t.findSPTE(s, vaddr, false, 0, 0)
	if !ok {
		return
	}
	if gpte&(flagD|flagA) != 0 {
		// A bad entry kills and, as in the original, leaves the old
		// shadow PTE in place (the Guest never runs again).
		if !t.checkGPTE(gpte) {
			return
		}
		t.setSPTE(s, vaddr, spte, t.gpteToSPTE(gpte))
	} else {
		t.setSPTE(s, vaddr, spte, 0)
	}
}

// SetPTE is guest_set_pte, LHCALL_SET_PTE (spec §7.9). Kernel addresses
// (>= kernel_address) are updated in every allocated slot because kernel
// mappings are shared; user addresses only in the slot shadowing gpgdir,
// if any. For non-PAE only the low 32 bits of gpte are used.
func (t *Tables) SetPTE(gpgdir, vaddr uint32, gpte uint64) {
	t.why = "set_pte"
	if !t.g.pae {
		gpte &= 0xFFFFFFFF
	}
	if vaddr >= t.switcherAddr {
		t.kill("attempt to set pte into Switcher pages")
		return
	}
	if vaddr >= t.kernelAddr {
		for s := range t.slots {
			if t.slots[s].root != 0 {
				t.doSetPTE(s, vaddr, gpte)
			}
		}
	} else if s := t.findPgdir(gpgdir); s != NumSlots {
		t.doSetPTE(s, vaddr, gpte)
	}
	t.commit()
}

// SetPGD is guest_set_pgd, LHCALL_SET_PGD (spec §7.9): the Guest changed
// top-level entry idx of its table gpgdir, so the shadow entry is released
// and refilled on demand.
func (t *Tables) SetPGD(gpgdir, idx uint32) {
	t.why = "set_pgd"
	// Fix (spec §12 quirk 4): 3.12 tests idx > PTRS_PER_PGD, letting
	// idx == PTRS_PER_PGD index one entry past the shadow table. Linux
	// never sends it; kill with the same message.
	if idx >= t.g.ptrsPerPGD {
		t.killf("Attempt to set pgd %d/%d", idx, t.g.ptrsPerPGD)
		return
	}
	s := t.findPgdir(gpgdir)
	if s == NumSlots {
		return
	}
	t.releasePGD(s, idx)
	// Quirk kept (spec §12 quirk 5): the original re-establishes the
	// Switcher mapping of the *current* slot, whichever slot lost it.
	if !t.allocateSwitcherMapping(t.cur) {
		t.kill("Cannot populate switcher mapping")
	}
	// Fix: if the released entry held another slot's Switcher mapping,
	// that slot would be left with switcher_mapped set and no Switcher
	// (the original then dereferences the missing PTE page on the next
	// guest entry). Re-map it there too.
	if s != t.cur && t.coversSwitcher(idx) && !t.allocateSwitcherMapping(s) {
		t.kill("Cannot populate switcher mapping")
	}
	t.commit()
}

// coversSwitcher reports whether top-level entry idx maps part of the
// Switcher pages.
func (t *Tables) coversSwitcher(idx uint32) bool {
	first := t.g.pgdIndex(t.switcherAddr)
	last := t.g.pgdIndex(t.switcherAddr + switcherPages*pageSize - 1)
	return idx >= first && idx <= last
}

// SetPMD is guest_set_pmd, LHCALL_SET_PMD [PAE] (spec §3.3.11): its
// arguments are ignored and everything is cleared. Non-PAE Hosts kill with
// "Bad hypercall" before getting here, so for non-PAE it does nothing.
func (t *Tables) SetPMD(pmdGPA, idx uint32) {
	if !t.g.pae {
		return
	}
	t.why = "set_pmd"
	t.clearAll()
	t.commit()
}

// FlushUser is guest_pagetable_flush_user, FLUSH_TLB(0) (spec §7.10): drop
// the user part of the current slot only.
func (t *Tables) FlushUser() {
	t.why = "flush_tlb(0)"
	t.flushUserMappings(t.cur)
	t.commit()
}

// ClearAll is guest_pagetable_clear_all (FLUSH_TLB(1), SET_PMD, the end of
// LGUEST_INIT; spec §7.10): release every shadow table of every slot, then
// re-pin the stack and re-map the Switcher in the current slot. It does not
// end linear_pages.
func (t *Tables) ClearAll() {
	t.why = "clear_all"
	t.clearAll()
	t.commit()
}

func (t *Tables) clearAll() {
	t.releaseAllPagetables()
	why := t.why
	t.why = "pin_stack"
	t.pinStackPages()
	t.why = why
	if !t.allocateSwitcherMapping(t.cur) {
		t.kill("Cannot populate switcher mapping")
	}
}

// SwitchMode changes the paging mode (non-PAE or PAE geometry) while
// linear_pages is on. Nothing in the ABI says which mode a Guest uses
// (spec §0), so the Host may learn it only from the table the Guest hands
// to its first NEW_PGTABLE; at that moment the fake 1:1 shadow is thrown
// away anyway (spec §7.8), so rebuilding it in the other geometry first
// costs nothing the Guest can see. The slot's root page stays (all its
// entries are zero once released); the Switcher is mapped again in the new
// geometry and the CPU reloads its root. Call it just before NewPagetable.
func (t *Tables) SwitchMode(pae bool) error {
	if !t.linear {
		return errors.New("pgtable: the paging mode can change only while linear_pages is on")
	}
	if t.g.pae == pae {
		return nil
	}
	t.why = "paging mode"
	t.releaseAllPagetables()
	if pae {
		t.g = geomPAE
	} else {
		t.g = geomNonPAE
	}
	if !t.allocateSwitcherMapping(t.cur) {
		return errors.New("pgtable: out of Host pages for the Switcher mapping")
	}
	t.needReload = true
	t.commit()
	return nil
}
