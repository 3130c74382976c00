package host

import (
	"fmt"

	"github.com/lgdbg/lgdbg/hv/cpu"
)

// Selectors and GDT slots (spec §0.1).
const (
	guestPL       = 1
	gdtEntries    = 32
	gdtTLSMin     = 6
	gdtLguestCS   = 10
	gdtLguestDS   = 11
	gdtKernelCS   = 12
	gdtKernelDS   = 13
	gdtTSS        = 16
	gdtDFTSS      = 31
	kernelCS      = gdtKernelCS * 8 // 0x60; the Guest uses it with RPL 1
	kernelDS      = gdtKernelDS * 8 // 0x68
	lguestCS      = gdtLguestCS * 8 // 0x50: the Switcher's code segment
	syscallVector = 0x80
)

// Descriptors the Host installs (spec §6).
const (
	fullExecSegmentDPL0 = 0x00CF9B00_0000FFFF // LGUEST_CS
	fullSegmentDPL0     = 0x00CF9300_0000FFFF // LGUEST_DS
	guestKernelCSDesc   = 0x00CFBB00_0000FFFF // entry 12, DPL 1
	guestKernelDSDesc   = 0x00CFB300_0000FFFF // entry 13, DPL 1
)

// ignoredGDT: the entries the Guest can never change (spec §6).
func ignoredGDT(i int) bool {
	return i == gdtTSS || i == gdtLguestCS || i == gdtLguestDS || i == gdtDFTSS
}

// H:400 LOAD_GDT_ENTRY (spec §6): the Guest hands us one descriptor. We
// keep its copy, fix it up so ring 1 can use it, and the live GDT picks it
// up before the Guest runs again.
func (h *Host) loadGDTEntry(num, lo, hi uint32) {
	if num >= gdtEntries {
		h.kill(fmt.Sprintf("too many gdt entries %d", int32(num)))
		return
	}
	h.gdt[num] = uint64(hi)<<32 | uint64(lo)
	h.fixupGDT(int(num), int(num)+1)
	h.gdtChanged = true
}

// loadTLS copies the three TLS descriptors (LOAD_TLS, spec §3.3.14).
func (h *Host) loadTLS(gpa uint32) {
	var raw [24]byte
	if !h.readGuestBytes(gpa, raw[:]) {
		return
	}
	for i := 0; i < 3; i++ {
		h.gdt[gdtTLSMin+i] = uint64(le32(raw[i*8+4:]))<<32 | uint64(le32(raw[i*8:]))
	}
	h.fixupGDT(gdtTLSMin, gdtTLSMin+3)
	h.tlsChanged = true
}

// fixupGDT: a DPL-0 descriptor becomes DPL 1, and every descriptor is
// marked accessed, because the live GDT is read-only to the Guest and the
// CPU must never need to write it (spec §6). Entry 0 gets it too.
func (h *Host) fixupGDT(start, end int) {
	for i := start; i < end; i++ {
		if ignoredGDT(i) {
			continue
		}
		d := h.gdt[i]
		if (d>>45)&3 == 0 {
			d |= uint64(guestPL) << 45
		}
		d |= 1 << 40
		h.gdt[i] = d
	}
}

// liveGDTEntry is what the Switcher's copy of the GDT holds for entry i.
func (h *Host) liveGDTEntry(i int) uint64 {
	switch i {
	case gdtLguestCS:
		return fullExecSegmentDPL0
	case gdtLguestDS:
		return fullSegmentDPL0
	case gdtTSS:
		// A 32-bit busy TSS (the Switcher's ltr marked it), base = the
		// guest_tss in the read-only Switcher page, limit 0x67.
		base := h.switcherAddr + switcherStateOff + stateGuestTSS
		return tssDescriptor(base, 0x67, 0xB)
	case gdtDFTSS:
		return 0
	}
	return h.gdt[i]
}

func tssDescriptor(base, limit uint32, typ uint64) uint64 {
	d := uint64(limit & 0xFFFF)
	d |= uint64(base&0xFFFFFF) << 16
	d |= (typ | 0x80) << 40 // P=1, DPL 0, S=0
	d |= uint64(limit>>16&0xF) << 48
	d |= uint64(base>>24) << 56
	return d
}

// copyGDTToCPU refreshes the live GDT. A change takes effect at the next
// guest entry, where the real Switcher reloads every segment register; we
// do the same, and a selector that no longer loads kills the Guest.
func (h *Host) syncGDT() {
	if !h.gdtChanged && !h.tlsChanged {
		return
	}
	start, end := 0, gdtEntries
	if !h.gdtChanged {
		start, end = gdtTLSMin, gdtTLSMin+3
	}
	for i := start; i < end; i++ {
		h.cpu.SetGDTEntry(i, h.liveGDTEntry(i))
	}
	h.gdtChanged, h.tlsChanged = false, false
	h.switcherDirty = true
	for _, s := range []cpu.SReg{cpu.CS, cpu.SS, cpu.DS, cpu.ES, cpu.FS, cpu.GS} {
		if !h.loadSegOrKill(s, h.cpu.Seg(s).Sel) {
			return
		}
	}
}

// H:410 LOAD_IDT_ENTRY (spec §5.6): the Guest's IDT lives with us. We keep
// its entries, and only the direct-trap ones can ever reach the live IDT.
func (h *Host) loadIDTEntry(num, lo, hi uint32) {
	// The Guest can never handle these (NMI, double fault, the reserved
	// vector, our own hypercall vector): silently ignored.
	if num == 2 || num == 8 || num == 15 || num == trapEntry {
		return
	}
	h.idtChanged = true
	if num >= 256 {
		h.kill(fmt.Sprintf("Setting idt entry %d", num))
		return
	}
	// set_trap: a present gate must be a 32-bit interrupt or trap gate.
	if hi&0x8000 == 0 {
		h.idt[num] = 0
		return
	}
	if typ := (hi >> 8) & 0xF; typ != 0xE && typ != 0xF {
		h.kill(fmt.Sprintf("bad IDT type %d", typ))
	}
	a := uint32(kernelCS|guestPL)<<16 | lo&0xFFFF
	b := hi & 0xFFFFEF00
	h.idt[num] = uint64(b)<<32 | uint64(a)
}

func gatePresent(g uint64) bool { return uint32(g>>32)&0x8000 != 0 }

// directTrap: the vectors whose Guest gate may be installed in the live
// IDT so the CPU delivers them without an exit (spec §5.6).
func directTrap(v int) bool {
	if v == cpu.VecNM || v == cpu.VecGP || v == cpu.VecPF || v == trapEntry {
		return false
	}
	return v < 32 || v == syscallVector
}

// liveGate builds the live IDT entry for vector v (copy_traps and
// default_idt_entry, spec §5.6).
func (h *Host) liveGate(v int) cpu.Gate {
	g := h.idt[v]
	b := uint32(g >> 32)
	if directTrap(v) && gatePresent(g) && (b>>8)&0xF == 0xF {
		return cpu.Gate{
			Direct: true,
			Sel:    uint16(uint32(g) >> 16),
			Offset: uint32(g)&0xFFFF | b&0xFFFF0000,
			DPL:    int(b>>13) & 3,
			Type:   0xF,
		}
	}
	// A Host stub. Vector 0x1F is DPL 1 so the Guest kernel can make
	// hypercalls; direct-trap-eligible vectors inherit the Guest's DPL
	// (so user int3 still works); everything else stays DPL 0.
	dpl := 0
	switch {
	case v == trapEntry:
		dpl = guestPL
	case directTrap(v):
		dpl = int(b>>13) & 3
	}
	return cpu.Gate{Sel: lguestCS, Offset: h.stubAddr(v), DPL: dpl, Type: 0xE}
}

func (h *Host) syncIDT() {
	if !h.idtChanged {
		return
	}
	for v := 0; v < 256; v++ {
		h.cpu.SetGate(v, h.liveGate(v))
	}
	h.idtChanged = false
	h.switcherDirty = true
}
