package hv

import (
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/hcall"
)

// HcallContext is what hv/hcall's decoder may ask about this Guest: the
// paging mode, the kernel object a physical argument is the load address
// of (the symbol model, as HcallArgName names it) and the NOTIFY
// addresses of the lguest bus. The bus layout and the symbols are fixed
// before the Guest runs, so the namers need no lock.
func (m *Machine) HcallContext() hcall.Context {
	bus := m.h.Bus()
	return hcall.Context{PAE: m.h.PAE(), Notify: bus.NotifyName,
		Symbol: func(pa uint32) string { s, _ := m.syms.Operand(pa); return s }}
}

// DecodeHcall is a hypercall event in words (hv/hcall's decoder with this
// Guest's context); ok is false for an event of another kind.
func (m *Machine) DecodeHcall(e Event) (hcall.Decoded, bool) {
	if e.Kind != event.Hypercall {
		return hcall.Decoded{}, false
	}
	return hcall.Decode(e.Nr, e.Args, e.Text, m.HcallContext()), true
}
