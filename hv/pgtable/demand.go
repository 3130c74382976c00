package pgtable

// checkGPTE is check_gpte (spec §7.2): the PSE/PAT bit or a frame at or
// beyond pfn_limit kills the Guest.
func (t *Tables) checkGPTE(gpte uint64) bool {
	if gpte&flagPSE != 0 || t.g.pfn(gpte) >= uint64(t.m.PfnLimit()) {
		t.kill("bad page table entry")
		return false
	}
	return true
}

// checkGPGD is check_gpgd (spec §7.2): flags outside CHECK_GPGD_MASK or a
// frame at or beyond pfn_limit kill the Guest.
func (t *Tables) checkGPGD(gpgd uint64) bool {
	if t.g.flags(gpgd)&^t.g.gpgdMask != 0 || t.g.pfn(gpgd) >= uint64(t.m.PfnLimit()) {
		t.kill("bad page directory entry")
		return false
	}
	return true
}

// checkGPMD is check_gpmd [PAE] (spec §7.2).
func (t *Tables) checkGPMD(gpmd uint64) bool {
	if t.g.flags(gpmd)&^pageTable != 0 || t.g.pfn(gpmd) >= uint64(t.m.PfnLimit()) {
		t.kill("bad page middle directory entry")
		return false
	}
	return true
}

// gpteToSPTE is gpte_to_spte (spec §7.4): the global bit is dropped, every
// other flag is copied, and the frame is the Guest's own (guest-physical
// equals host-physical in guest memory; the caller has already checked it
// against pfn_limit, so "failed to get page" cannot happen here).
func (t *Tables) gpteToSPTE(gpte uint64) uint64 {
	return gpte &^ flagG
}

// findSPTE is find_spte (spec §7.5) for any slot: it returns the Host
// physical address of the shadow PTE for va, allocating missing levels with
// the given flags when allocate is set. ok is false when a level is missing
// and allocate is not set, or when the Host pool is exhausted (which kills,
// with the original's messages: the top-level allocation is the "pte page"
// even under PAE, where it really is a PMD page).
func (t *Tables) findSPTE(s int, va uint32, allocate bool, pgdFlags, pmdFlags uint64) (pa uint32, ok bool) {
	g := &t.g
	g.walk(t.slots[s].root, va, func(k LevelKind, idx, addr uint32) (uint64, bool) {
		if k == LevelPTE {
			pa, ok = addr, true
			return 0, false
		}
		e := t.sread(addr)
		if e&flagP != 0 {
			return e, true
		}
		if !allocate {
			return 0, false
		}
		page, got := t.m.AllocPage()
		if !got {
			if k == LevelPGD {
				t.kill("out of memory allocating pte page")
			} else {
				t.kill("out of memory allocating pmd page")
			}
			return 0, false
		}
		if k == LevelPGD {
			e = uint64(page) | pgdFlags
			t.swrite(addr, e)
			t.emit(s, LevelPGD, idx, idx<<g.pgdShift, 0, e)
			if g.pae && s == t.cur {
				// The CPU caches PDPTEs at CR3 load, as hardware does.
				t.needReload = true
			}
			return e, true
		}
		e = uint64(page) | pmdFlags
		t.swrite(addr, e)
		t.emit(s, LevelPMD, idx, g.pgdIndex(va)<<30|idx<<21, 0, e)
		return e, true
	})
	return pa, ok
}

// setSPTE stores a shadow PTE (release_pte of the old one has no effect
// here: there are no page references to drop) and keeps the CPU coherent.
func (t *Tables) setSPTE(s int, va, pa uint32, v uint64) {
	old := t.sread(pa)
	t.swrite(pa, v)
	if s == t.cur {
		t.mmu.FlushTLBPage(va & pageMask)
	}
	t.emit(s, LevelPTE, t.g.pteIndex(va), va&pageMask, old, v)
}

// H:500 DemandPage is demand_page (spec §7.3): called on every Guest page fault
// with the x86 error code (bit 1 write, bit 2 user; bit 0 ignored). It
// returns true when the fault was fixed by filling the shadow tables, false
// when it must be reflected to the Guest (or the Guest was killed).
func (t *Tables) DemandPage(vaddr, errcode uint32) bool {
	t.why = "demand_page"
	ok := t.demandPage(vaddr, errcode)
	t.commit()
	return ok
}

func (t *Tables) demandPage(vaddr, errcode uint32) bool {
	// The Switcher area is the Host's; never demand-page it (spec §7.12).
	if vaddr >= t.switcherAddr {
		return false
	}
	g := &t.g

	var gpgd uint64
	if t.linear {
		// Fake top level: frame 0 with the allowed flags (spec §7.8).
		gpgd = g.gpgdMask
	} else {
		gpgd = t.gread(t.gpgdAddr(t.slots[t.cur].gpgdir, vaddr))
		if gpgd&flagP == 0 {
			return false
		}
		// 3.10+ checks the PDE on every fault, not only when a shadow
		// PTE page is allocated (spec §7.3, §11.1).
		if !t.checkGPGD(gpgd) {
			return false
		}
	}

	// The middle level is faked as _PAGE_TABLE for non-PAE and for linear
	// mode; its flags become the shadow PMD's (spec §7.3).
	gpmd := uint64(pageTable)
	var gptePtr uint32
	if g.pae {
		if !t.linear {
			gpmd = t.gread(t.gpmdAddr(gpgd, vaddr))
			if gpmd&flagP == 0 {
				return false
			}
			if !t.checkGPMD(gpmd) {
				return false
			}
		}
		gptePtr = t.gpteAddr(gpmd, vaddr)
	} else {
		gptePtr = t.gpteAddr(gpgd, vaddr)
	}

	var gpte uint64
	if t.linear {
		// Fake 1:1 PTE: present, writable, supervisor-only.
		gpte = uint64(vaddr&pageMask) | flagRW | flagP
	} else {
		gpte = t.gread(gptePtr)
	}
	if gpte&flagP == 0 {
		return false
	}
	// 4.x gpte_in_iomem (4.x spec §4, "MMIO"): a frame between pfn_limit
	// and device_limit is a device BAR; the fault goes to the Launcher.
	if fa := g.frameAddr(gpte); t.ioHi != 0 && fa >= t.ioLo && fa < t.ioHi {
		t.ioAddr, t.ioPending = fa|vaddr&^pageMask, true
		return false
	}
	if errcode&2 != 0 && gpte&flagRW == 0 {
		return false // write to a page the Guest made read-only
	}
	if errcode&4 != 0 && gpte&flagUS == 0 {
		return false // user access to a kernel page
	}
	if !t.checkGPTE(gpte) {
		return false
	}

	gpte |= flagA
	if errcode&2 != 0 {
		gpte |= flagD
	}

	spte, ok := t.findSPTE(t.cur, vaddr, true, g.flags(gpgd), g.flags(gpmd))
	if !ok {
		return false
	}
	// A clean page is mapped read-only even when the Guest allows writes,
	// so the first write faults again and sets DIRTY (spec §7.3).
	if gpte&flagD != 0 {
		t.setSPTE(t.cur, vaddr, spte, t.gpteToSPTE(gpte))
	} else {
		t.setSPTE(t.cur, vaddr, spte, t.gpteToSPTE(gpte&^flagRW))
	}

	// Write ACCESSED (and DIRTY) back, as hardware would; never in linear
	// mode, where there is no Guest PTE.
	if !t.linear {
		t.gwrite(gptePtr, gpte)
	}
	return true
}

// PageWritable is page_writable (spec §7.6): whether the current shadow
// table maps vaddr present and writable. No side effects.
func (t *Tables) PageWritable(vaddr uint32) bool {
	if vaddr >= t.switcherAddr {
		return false
	}
	spte, ok := t.findSPTE(t.cur, vaddr, false, 0, 0)
	if !ok {
		return false
	}
	return t.sread(spte)&(flagP|flagRW) == flagP|flagRW
}

// pinPage is pin_page (spec §7.6).
func (t *Tables) pinPage(vaddr uint32) {
	if !t.PageWritable(vaddr) && !t.demandPage(vaddr, 2) {
		t.killf("bad stack page %s", cx(vaddr))
	}
}

// PinStackPages is pin_stack_pages (spec §5.7): each of the stack_pages
// pages just below esp1 must be mapped writable in the current shadow
// table, so that a direct trap from ring 3 can push its frame without
// faulting.
func (t *Tables) PinStackPages() {
	t.why = "pin_stack"
	t.pinStackPages()
	t.commit()
}

func (t *Tables) pinStackPages() {
	n := min(t.stackPages, maxPinPages)
	for i := uint32(0); i < n; i++ {
		t.pinPage(t.esp1 - 1 - i*pageSize)
	}
}

// GuestPA is guest_pa (spec §7.11): the guest-physical address of vaddr
// through the Guest's current tables, for the Host's own accesses (trap
// frames, instruction emulation). No permission checks, no A/D updates, no
// pfn_limit check. An unmapped top (or PAE middle) level kills with "Bad
// address" and yields 0xFFFFFFFF; an unmapped PTE kills but, as in 3.x,
// still yields the address computed from the non-present entry.
func (t *Tables) GuestPA(vaddr uint32) uint32 {
	if t.linear {
		return vaddr
	}
	gpgd := t.gread(t.gpgdAddr(t.slots[t.cur].gpgdir, vaddr))
	if gpgd&flagP == 0 {
		t.killf("Bad address %s", cx(vaddr))
		return 0xFFFFFFFF
	}
	upper := gpgd
	if t.g.pae {
		gpmd := t.gread(t.gpmdAddr(gpgd, vaddr))
		if gpmd&flagP == 0 {
			t.killf("Bad address %s", cx(vaddr))
			return 0xFFFFFFFF
		}
		upper = gpmd
	}
	gpte := t.gread(t.gpteAddr(upper, vaddr))
	if gpte&flagP == 0 {
		t.killf("Bad address %s", cx(vaddr))
	}
	return t.g.frameAddr(gpte) | vaddr&^pageMask
}

// TryGuestPA is 4.1+'s __guest_pa (spec §7.11, 4.x spec §5): the same
// walk as GuestPA, but an unmapped level fails the access (ok false)
// instead of killing the Guest; the caller decides what that means.
func (t *Tables) TryGuestPA(vaddr uint32) (pa uint32, ok bool) {
	if t.linear {
		return vaddr, true
	}
	upper := t.gread(t.gpgdAddr(t.slots[t.cur].gpgdir, vaddr))
	if upper&flagP == 0 {
		return 0, false
	}
	if t.g.pae {
		if upper = t.gread(t.gpmdAddr(upper, vaddr)); upper&flagP == 0 {
			return 0, false
		}
	}
	gpte := t.gread(t.gpteAddr(upper, vaddr))
	if gpte&flagP == 0 {
		return 0, false
	}
	return t.g.frameAddr(gpte) | vaddr&^pageMask, true
}

// SetIOMem declares [lo, hi) guest-physical as I/O memory (the 4.x Host's
// pfn_limit..device_limit, 4.x spec §4): DemandPage then reports a fault
// on a page the Guest mapped there through TakeIOMem instead of checking
// the frame against pfn_limit. hi == 0 turns it off (3.x).
func (t *Tables) SetIOMem(lo, hi uint32) { t.ioLo, t.ioHi = lo, hi }

// TakeIOMem reports (once) that the last DemandPage failed because the
// Guest touched I/O memory, and the guest-physical address it touched.
func (t *Tables) TakeIOMem() (gpa uint32, ok bool) {
	gpa, ok = t.ioAddr, t.ioPending
	t.ioPending = false
	return gpa, ok
}
