package hv

import (
	"fmt"
)

// Guest memory as a kernel developer addresses it: virtual addresses go
// through the Guest's own page tables (VirtToPhys), physical ones straight
// to memory. Every virtual access walks the range page by page in
// eachPage, the one loop behind ReadVirt, WriteVirt and the Snapshot's
// windows.

// VirtToPhys translates a Guest virtual address as a kernel developer
// expects: through the Guest's own page tables (or 1:1 while linear_pages
// is set), not through the shadow, which may simply not have faulted the
// page in yet. Addresses in the Switcher area resolve to its Host pages.
func (m *Machine) VirtToPhys(va uint32) (uint32, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.VirtToPhys(va)
}

// ReadVirt reads Guest memory at a virtual address (see VirtToPhys).
func (m *Machine) ReadVirt(va uint32, dst []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.AccessVirt(va, dst, m.h.Mem().ReadBytes)
}

// WriteVirt writes Guest memory at a virtual address. The CPU's decode
// cache notices writes to code.
func (m *Machine) WriteVirt(va uint32, src []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	err := m.h.AccessVirt(va, src, m.h.Mem().WriteBytes)
	if err == nil {
		m.changedPresent()
	}
	return err
}

// ReadPhys reads physical memory (Guest memory and the Host pool).
func (m *Machine) ReadPhys(pa uint32, dst []byte) error {
	return m.accessPhys(pa, dst, m.h.Mem().ReadBytes)
}

// WritePhys writes physical memory.
func (m *Machine) WritePhys(pa uint32, src []byte) error {
	return m.accessPhys(pa, src, func(pa uint32, b []byte) bool {
		ok := m.h.Mem().WriteBytes(pa, b)
		if ok {
			m.changedPresent()
		}
		return ok
	})
}

func (m *Machine) accessPhys(pa uint32, buf []byte, rw func(uint32, []byte) bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !rw(pa, buf) {
		return fmt.Errorf("physical range %#x+%d is outside memory", pa, len(buf))
	}
	return nil
}
