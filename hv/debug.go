package hv

import (
	"fmt"

	"github.com/lgdbg/lgdbg/hv/cpu"
)

// Debugging the Guest: registers written by a debugger, and engine
// breakpoints and watchpoints (the CPU checks them; Guest memory is never
// patched).

// SetReg writes a general register or EIP/EFLAGS (names as gdb's i386:
// eax..edi, eip, eflags).
func (m *Machine) SetReg(name string, v uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	defer m.changedPresent()
	c := m.h.CPU()
	for i, n := range []string{"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"} {
		if n == name {
			c.SetReg(cpu.Reg(i), v)
			return nil
		}
	}
	switch name {
	case "eip":
		c.SetEIP(v)
	case "eflags":
		c.SetEFLAGS(v)
	default:
		return fmt.Errorf("register %q cannot be written", name)
	}
	return nil
}

// SetBreakpoint and friends are engine breakpoints on linear addresses.
// Several front ends (the TUI and a gdb session) may set one at the same
// address; it stays in the engine until each has cleared it, so each front
// end must set an address once and clear it once. One at a kernel link
// address also fires at its load address while the kernel runs there
// (loadalias.go).
func (m *Machine) SetBreakpoint(va uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bpRefs == nil {
		m.bpRefs = map[uint32]int{}
	}
	if m.bpRefs[va] == 0 {
		m.h.CPU().SetBreakpoint(va)
		m.armAlias(va)
	}
	m.bpRefs[va]++
}

// ClearBreakpoint drops one front end's breakpoint at va.
func (m *Machine) ClearBreakpoint(va uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.bpRefs[va] {
	case 0:
		return
	case 1:
		delete(m.bpRefs, va)
		if m.aliasRefs[va] == 0 {
			m.h.CPU().ClearBreakpoint(va)
		}
		m.disarmAlias(va)
	default:
		m.bpRefs[va]--
	}
}

// SetWatchpoint watches n bytes at va.
func (m *Machine) SetWatchpoint(va, n uint32, kind cpu.WatchKind) {
	m.mu.Lock()
	m.h.CPU().SetWatchpoint(va, n, kind)
	m.mu.Unlock()
}

// ClearWatchpoint removes a watchpoint.
func (m *Machine) ClearWatchpoint(va, n uint32, kind cpu.WatchKind) {
	m.mu.Lock()
	m.h.CPU().ClearWatchpoint(va, n, kind)
	m.mu.Unlock()
}
