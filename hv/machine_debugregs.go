package hv

import "github.com/lgdbg/lgdbg/hv/cpu"

// DebugRegs is the paging state a debugger shows as registers: the control
// registers as the Guest would name them, and the Host's own view of the
// Guest's paging, which no real CPU register holds.
type DebugRegs struct {
	CR0 uint32 // the CPU's: PE, WP, NE always; PG; TS as the Guest set it (LHCALL_TS)
	CR2 uint32 // the last page-fault address the Host saw (what it writes to lguest_data.cr2)
	CR3 uint32 // the Guest's own top-level table (its last NEW_PGTABLE); 0 while linear_pages is on
	CR4 uint32 // the CPU's: PSE, PGE, OSFXSR, and PAE in PAE mode

	ShadowCR3   uint32 // the shadow root the CPU really walks
	CPL         int
	LinearPages bool
	Slot        int // the current pgdir cache slot
	ICount      uint64
}

// DebugRegs snapshots the control registers and the Host's paging view.
func (m *Machine) DebugRegs() DebugRegs {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.h.CPU()
	return DebugRegs{
		CR0: c.CR0(), CR2: m.h.LastPagefault(), CR3: m.h.GuestCR3(), CR4: c.CR4(),
		ShadowCR3: c.CR3(), CPL: c.CPL(), LinearPages: m.h.Tables().LinearPages(),
		Slot: m.h.Tables().CurrentSlot(), ICount: c.ICount(),
	}
}

// FPU snapshots the x87/MMX/SSE registers.
func (m *Machine) FPU() cpu.FPU {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.CPU().FPU()
}

// SetFPU writes the x87/MMX/SSE registers (a debugger's register write;
// lguest has no say over the Guest's FPU contents).
func (m *Machine) SetFPU(f cpu.FPU) {
	m.mu.Lock()
	m.h.CPU().SetFPU(f)
	m.mu.Unlock()
}

// GuestPhysLimit is the end of the Guest's physical memory (RAM and the
// device pages above it, spec §2.8); above it lie the Host's own pages.
func (m *Machine) GuestPhysLimit() uint32 { return m.h.Mem().GuestLimit() }
