package hv

import "github.com/lgdbg/lgdbg/hv/mem"

// ReadVirtAvail reads Guest memory at a virtual address like ReadVirt, but
// byte ranges that are not mapped (or lie outside memory) are left as they
// are and marked false in ok instead of failing the whole read: the UI's
// disassembly and memory panes show a window that may straddle an
// unmapped page. It takes the lock once for the whole window, so a UI
// refresh does not interrupt a running Guest once per page. len(ok) must
// be at least len(dst).
func (m *Machine) ReadVirtAvail(va uint32, dst []byte, ok []bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < len(dst); {
		a := va + uint32(i)
		n := min(len(dst)-i, int(mem.PageSize-a&0xFFF))
		pa, mapped := m.h.virtToPhys(a)
		good := mapped && m.h.mem.ReadBytes(pa, dst[i:i+n])
		for j := i; j < i+n; j++ {
			ok[j] = good
		}
		i += n
	}
}

// RequestPause asks a running Guest to stop at the next instruction
// boundary and returns at once. Unlike Pause it may be called from an
// event hook, on the Guest's own goroutine (the UI's ":until EVENT" stops
// right after the event that way); WaitStop learns where it stopped.
func (m *Machine) RequestPause() {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	if !m.running {
		return
	}
	m.pauseReq = true
	m.h.pauseReq.Store(true)
	m.h.cpu.RequestStop()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}
