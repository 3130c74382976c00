package hv

// What the gdb stub's `monitor host` shows beyond HostState: the parts of
// the Host's per-Guest state a kernel developer debugging early boot asks
// about and the façade did not expose.

// HostDetail is the rest of the Host-side state for `monitor host`.
type HostDetail struct {
	// SET_STACK's third argument (spec §3.3.7): pages pinned below ESP1.
	StackPages uint32
	// The noirq_start/noirq_end range read from lguest_data at
	// LGUEST_INIT (spec §3.3.2, §5.5): no interrupt is delivered while
	// EIP is inside it.
	NoirqStart, NoirqEnd uint32
	// The Host-physical pages of the Switcher (spec §9.1): text, the
	// regs page, the read-only state page.
	SwitcherPages [3]uint32
	// The last #PF address the Host saw (spec §7.3, lguest's cr2).
	LastPagefault uint32
	// The hypercall the last exit asked for, still to be handled.
	HcallPending bool
}

// HostDetail snapshots the Host-side state HostState leaves out.
func (m *Machine) HostDetail() HostDetail {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.h
	return HostDetail{
		StackPages: h.stackPages, NoirqStart: h.noirqStart, NoirqEnd: h.noirqEnd,
		SwitcherPages: h.switcherPages, LastPagefault: h.lastPagefault, HcallPending: h.hcallPending,
	}
}
