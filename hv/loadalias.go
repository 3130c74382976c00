package hv

import (
	"fmt"
	"strings"

	"github.com/lgdbg/lgdbg/hv/boot"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/hcall"
	"github.com/lgdbg/lgdbg/hv/symbols"
)

// The kernel's names and its load-address aliases.
//
// A Linux kernel is linked at PAGE_OFFSET + physical but its first
// instructions run at the physical (load) address: under linear_pages
// (spec §2.6) every virtual address is the physical one, and after the
// first NEW_PGTABLE the head keeps running in the identity half of
// initial_page_table until it jumps to PAGE_OFFSET. A developer's
// symbols, breakpoints and memory reads are in link addresses, so the
// Machine maps them to the load alias exactly while the Guest is there:
//
//   - memory: a read or write at a kernel link address that the current
//     translation does not map goes to its load address while linear_pages
//     is on (and only then: after the handoff the real translation is the
//     only truth);
//   - breakpoints: one at a kernel link address is also armed at its load
//     address, and a hit there counts while that address is mapped 1:1
//     (linear_pages, or the identity mapping of initial_page_table); once
//     the kernel has moved on, the same virtual address may be a user
//     page, and a hit there is passed over silently.

func buildSymbols(cfg Config, img *boot.Image) (*symbols.Table, string) {
	if cfg.Symbols != nil {
		return symbols.WithImage(cfg.Symbols, img), mismatch(cfg.Symbols, img)
	}
	return symbols.FromImage(img, cfg.Image)
}

// Symbols is the kernel's symbol model: from --symbols, the ELF image
// itself, or a bzImage's compressed payload (layout only). nil only for
// images whose layout is unknown and who have no symbols.
func (m *Machine) Symbols() *symbols.Table { return m.syms }

// SymbolsNote says in one line why load-address aliases are off ("" when
// they are not): an lzo payload, a payload without program headers, ...
func (m *Machine) SymbolsNote() string { return m.symsNote }

// LoadAlias reports whether Guest memory at va is read (and written) at
// the kernel's load address right now, and which: va is a kernel link
// address the current translation does not map, and linear_pages is on.
// ReadVirt, WriteVirt and the Snapshot's windows (Memory.Aliased) do so.
func (m *Machine) LoadAlias(va uint32) (uint32, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.h.VirtToPhys(va); ok || !m.h.Tables().LinearPages() {
		return 0, false
	}
	return m.loadAlias(va)
}

// loadAlias is the Host's hook (Host.SetLoadAlias): the load address of a
// kernel link address inside Guest memory. The Host asks only for unmapped
// addresses while linear_pages is on.
func (m *Machine) loadAlias(va uint32) (uint32, bool) {
	pa, ok := m.syms.ToLoad(va)
	if !ok || pa >= m.h.Mem().GuestLimit() {
		return 0, false
	}
	return pa, true
}

// armAlias arms the load alias of a breakpoint at a kernel link address;
// m.mu held.
func (m *Machine) armAlias(va uint32) {
	pa, ok := m.syms.ToLoad(va)
	if !ok {
		return
	}
	if m.aliasRefs == nil {
		m.aliasRefs = map[uint32]int{}
	}
	if m.aliasRefs[pa] == 0 && m.bpRefs[pa] == 0 {
		m.h.CPU().SetBreakpoint(pa)
	}
	m.aliasRefs[pa]++
}

// disarmAlias undoes armAlias; m.mu held.
func (m *Machine) disarmAlias(va uint32) {
	pa, ok := m.syms.ToLoad(va)
	if !ok || m.aliasRefs[pa] == 0 {
		return
	}
	m.aliasRefs[pa]--
	if m.aliasRefs[pa] == 0 {
		delete(m.aliasRefs, pa)
		if m.bpRefs[pa] == 0 {
			m.h.CPU().ClearBreakpoint(pa)
		}
	}
}

// passOver reports whether a breakpoint stop at eip is only the load alias
// of a link-address breakpoint while the kernel no longer runs there (eip
// is not mapped 1:1), so the run should go on as if nothing happened; m.mu
// held.
func (m *Machine) passOver(s Stop) bool {
	if s.Reason != StopBreakpoint || m.aliasRefs[s.EIP] == 0 || m.bpRefs[s.EIP] != 0 {
		return false
	}
	pa, ok := m.h.VirtToPhys(s.EIP)
	return !ok || pa != s.EIP
}

// HcallArgName names hypercall argument i (0-based) of hypercall nr when
// the ABI makes it a guest-physical address (spec §3.2: LGUEST_INIT's
// __pa(&lguest_data), NEW_PGTABLE's pgdir, SHUTDOWN's message, ...) and it
// is the load address of a kernel object: "pa(lguest_data)". "" otherwise,
// so numbers that merely look like addresses stay numbers.
func (m *Machine) HcallArgName(nr, i int, v uint32) string {
	if i != 0 {
		return ""
	}
	switch nr {
	case hcall.LguestInit, hcall.Shutdown, hcall.NewPgtable, hcall.SetPMD, hcall.SetPTE, hcall.SetPGD, hcall.LoadTLS, hcall.Notify:
		if s, ok := m.syms.Operand(v); ok {
			return s
		}
	}
	return ""
}

// HcallText is Event.String for a hypercall, with each physical-address
// argument followed by the kernel object it is the load address of
// ("hcall LGUEST_INIT 0x103000 pa(lguest_data)"): the hypercall log and the
// summary name them as the disassembly does.
func (m *Machine) HcallText(e Event) string {
	if e.Kind != event.Hypercall {
		return e.String()
	}
	async := ""
	if e.Async {
		async = " (async)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "hcall %s%s", e.Name, async)
	for i, a := range e.Args {
		fmt.Fprintf(&b, " %#x", a)
		if s := m.HcallArgName(int(e.Nr), i, a); s != "" {
			b.WriteString(" " + s)
		}
	}
	if e.Text != "" {
		b.WriteString(" " + e.Text)
	}
	return b.String()
}

// mismatch says when a --symbols vmlinux is not the kernel inside the
// bzImage: their PT_LOAD segments differ, so every name would be wrong.
func mismatch(vm *symbols.Table, img *boot.Image) string {
	pl := img.Payload
	if img.Kind != boot.KindBzImage || pl == nil || pl.Note != "" {
		return ""
	}
	segs := vm.Segments()
	same := len(segs) == len(pl.Segments)
	for i := 0; same && i < len(segs); i++ {
		// vm's are sorted by link address, the payload's in file order,
		// which for a kernel is the same order.
		p := pl.Segments[i]
		same = segs[i].Link == p.VAddr && segs[i].Load == p.PAddr && segs[i].Size == p.MemSize
	}
	if same {
		return ""
	}
	return "warning: the --symbols ELF's PT_LOAD segments differ from the bzImage payload's: is it this kernel's vmlinux?"
}
