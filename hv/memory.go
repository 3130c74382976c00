package hv

import (
	"fmt"

	"github.com/lgdbg/lgdbg/hv/mem"
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
	return m.h.virtToPhys(va)
}

func (h *Host) virtToPhys(va uint32) (uint32, bool) {
	if va >= h.switcherAddr {
		page := (va - h.switcherAddr) / mem.PageSize
		if page < 3 {
			return h.switcherPages[page] + va&0xFFF, true
		}
		return 0, false
	}
	if h.pt.LinearPages() {
		return va, va < h.mem.GuestLimit()
	}
	w := h.pt.WalkGuest(h.guestCR3(), va)
	return w.PA, w.Mapped
}

// eachPage calls f for the piece of [va, va+n) on each page, with the
// piece's offset into the range, its length and its physical address
// (mapped false when the page has none). f returns false to stop.
func (h *Host) eachPage(va uint32, n int, f func(off, n int, pa uint32, mapped bool) bool) {
	for i := 0; i < n; {
		a := va + uint32(i)
		k := min(n-i, int(mem.PageSize-a&0xFFF))
		pa, mapped := h.virtToPhys(a)
		if !f(i, k, pa, mapped) {
			return
		}
		i += k
	}
}

// accessVirt is ReadVirt and WriteVirt: the first unmapped page or
// physical hole fails the access.
func (h *Host) accessVirt(va uint32, buf []byte, rw func(pa uint32, b []byte) bool) error {
	var err error
	h.eachPage(va, len(buf), func(off, n int, pa uint32, mapped bool) bool {
		switch {
		case !mapped:
			err = fmt.Errorf("virtual address %#x is not mapped", va+uint32(off))
		case !rw(pa, buf[off:off+n]):
			err = fmt.Errorf("physical address %#x is outside memory", pa)
		}
		return err == nil
	})
	return err
}

// ReadVirt reads Guest memory at a virtual address (see VirtToPhys).
func (m *Machine) ReadVirt(va uint32, dst []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.accessVirt(va, dst, m.h.mem.ReadBytes)
}

// WriteVirt writes Guest memory at a virtual address. The CPU's decode
// cache notices writes to code.
func (m *Machine) WriteVirt(va uint32, src []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.accessVirt(va, src, m.h.mem.WriteBytes)
}

// readWindowLocked reads n bytes at base like ReadVirt, but byte ranges
// that are not mapped (or lie outside memory) are marked false in OK
// instead of failing the whole read: a disassembly or memory pane shows a
// window that may straddle an unmapped page. The window ends at 4 GiB.
func (m *Machine) readWindowLocked(base uint32, n int) Memory {
	if uint64(base)+uint64(n) > 1<<32 {
		n = int(1<<32 - uint64(base))
	}
	w := Memory{Base: base, Data: make([]byte, n), OK: make([]bool, n)}
	m.h.eachPage(base, n, func(off, k int, pa uint32, mapped bool) bool {
		good := mapped && m.h.mem.ReadBytes(pa, w.Data[off:off+k])
		for j := off; j < off+k; j++ {
			w.OK[j] = good
		}
		return true
	})
	return w
}

// ReadPhys reads physical memory (Guest memory and the Host pool).
func (m *Machine) ReadPhys(pa uint32, dst []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.h.mem.ReadBytes(pa, dst) {
		return fmt.Errorf("physical range %#x+%d is outside memory", pa, len(dst))
	}
	return nil
}

// WritePhys writes physical memory.
func (m *Machine) WritePhys(pa uint32, src []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.h.mem.WriteBytes(pa, src) {
		return fmt.Errorf("physical range %#x+%d is outside memory", pa, len(src))
	}
	return nil
}
