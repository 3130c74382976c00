package ui

// names lists the symbol names, for Tab completion (hv/symbols' table).
func (s symtab) names() []string {
	syms := s.t.Symbols()
	out := make([]string, 0, len(syms))
	for _, sym := range syms {
		if sym.Name != "" {
			out = append(out, sym.Name)
		}
	}
	return out
}

// toLink is the link address addr is the load alias of, if it is one: a
// breakpoint set at a link address also stops at its load alias
// (hv.Machine.SetBreakpoint), and the list says which one it hit.
func (s symtab) toLink(addr uint32) (uint32, bool) { return s.t.ToLink(addr) }
