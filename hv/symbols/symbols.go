// Package symbols is lgdbg's one model of the kernel's names and layout:
// which symbol an address lies in, where each link address is loaded, and
// which code is the bzImage's own. The TUI, the gdb stub's monitor, the
// hypercall log and the CLI all name addresses through it, so a name means
// the same thing everywhere.
//
// A Linux i386 kernel is linked at PAGE_OFFSET + physical (0xc1000000 for
// startup_32 in the default 3G/1G split) and loaded at the physical address
// (0x01000000); its ELF program headers record both (p_vaddr, p_paddr).
// The Guest runs its first instructions at the load address, under
// linear_pages (spec §2.6), so lgdbg must name 0x011ccb38 as
// "lguest_entry (load address)" although the symbol table says 0xc11ccb38.
// The offset is read from every PT_LOAD, never assumed.
//
// Only symbols of allocated sections count: an ELF's absolute symbols
// (SHN_ABS: PAGE_OFFSET, phys_startup_32, VDSO32_PRELINK, INIT_MAP_SIZE...)
// are numbers, not places, and naming an immediate 0 or 4 after them is
// wrong. Section and file symbols are dropped too.
package symbols

import (
	"fmt"
	"sort"
	"strings"
)

// Kind classifies a symbol.
type Kind uint8

// Symbol kinds (from STT_*).
const (
	Label  Kind = iota // STT_NOTYPE: an assembly label such as startup_32
	Func               // STT_FUNC
	Object             // STT_OBJECT
)

// Symbol is one named place in an allocated section, at its link address.
type Symbol struct {
	Name   string
	Addr   uint32 // link address (st_value)
	Size   uint32 // 0 for most assembly labels
	Kind   Kind
	Global bool // STB_GLOBAL or STB_WEAK
}

// Segment is one PT_LOAD: Size bytes linked at Link and loaded at Load.
type Segment struct {
	Link, Load, Size uint32
	Exec             bool // PF_X
}

// Offset is Link - Load, PAGE_OFFSET for most of a Linux kernel.
func (s Segment) Offset() uint32 { return s.Link - s.Load }

// Aliased reports whether the segment runs at an address other than its
// load address (a head linked at its physical address is not).
func (s Segment) Aliased() bool { return s.Link != s.Load }

func in(a, start, size uint32) bool { return a-start < size }

// Range is an allocated section (or, without section headers, a segment)
// at its link address.
type Range struct {
	Name       string
	Addr, Size uint32
}

// Table is the model. The zero value and a nil *Table name nothing.
type Table struct {
	syms     []Symbol // sorted by Addr, the preferred name first among equals
	byName   map[string]int
	segs     []Segment // sorted by Link
	sections []Range   // allocated sections, sorted by Addr
	entry    uint32    // e_entry: the physical entry point
	image    Range     // the bzImage's own protected-mode code, Size 0 if none
}

// New builds a table from its parts; syms may be in any order.
func New(entry uint32, segs []Segment, sections []Range, syms []Symbol) *Table {
	t := &Table{entry: entry, byName: map[string]int{}}
	t.segs = append(t.segs, segs...)
	sort.SliceStable(t.segs, func(i, j int) bool { return t.segs[i].Link < t.segs[j].Link })
	t.sections = append(t.sections, sections...)
	if len(t.sections) == 0 {
		// A stripped payload has no section headers; its segments are the
		// allocated parts of the kernel.
		for _, s := range t.segs {
			t.sections = append(t.sections, Range{Addr: s.Link, Size: s.Size})
		}
	}
	sort.SliceStable(t.sections, func(i, j int) bool { return t.sections[i].Addr < t.sections[j].Addr })
	t.syms = append(t.syms, syms...)
	rank := func(k Kind) int {
		switch k {
		case Func:
			return 0
		case Object:
			return 1
		}
		return 2
	}
	sort.SliceStable(t.syms, func(i, j int) bool {
		a, b := t.syms[i], t.syms[j]
		if a.Addr != b.Addr {
			return a.Addr < b.Addr
		}
		if rank(a.Kind) != rank(b.Kind) {
			return rank(a.Kind) < rank(b.Kind)
		}
		// Linker-script boundaries (__bss_start, _text, _etext) share
		// their address with the object or label a person means
		// (initial_page_table, startup_32).
		if ua, ub := strings.HasPrefix(a.Name, "_"), strings.HasPrefix(b.Name, "_"); ua != ub {
			return ub
		}
		if a.Global != b.Global {
			return a.Global
		}
		return a.Name < b.Name
	})
	for i, s := range t.syms {
		if j, ok := t.byName[s.Name]; !ok || (s.Global && !t.syms[j].Global) {
			t.byName[s.Name] = i
		}
	}
	return t
}

// SetImage records the bzImage's own code (its decompressor, at code32_start
// 0x100000): addresses there that are not the kernel's are named
// "bzImage+off", never with vmlinux names.
func (t *Table) SetImage(start, size uint32) {
	if t != nil {
		t.image = Range{Name: "bzImage", Addr: start, Size: size}
	}
}

// Entry is the ELF e_entry, the kernel's physical entry point.
func (t *Table) Entry() uint32 {
	if t == nil {
		return 0
	}
	return t.entry
}

// Segments returns the PT_LOAD segments, sorted by link address.
func (t *Table) Segments() []Segment {
	if t == nil {
		return nil
	}
	return t.segs
}

// Symbols returns the symbols sorted by address.
func (t *Table) Symbols() []Symbol {
	if t == nil {
		return nil
	}
	return t.syms
}

// HasLayout reports whether the table knows the kernel's segments.
func (t *Table) HasLayout() bool { return t != nil && len(t.segs) > 0 }

// Aliased reports whether some segment's link and load addresses differ.
func (t *Table) Aliased() bool {
	for _, s := range t.Segments() {
		if s.Aliased() {
			return true
		}
	}
	return false
}

// ByName returns the symbol called name (a global one if there are several).
func (t *Table) ByName(name string) (Symbol, bool) {
	if t == nil {
		return Symbol{}, false
	}
	i, ok := t.byName[name]
	if !ok {
		return Symbol{}, false
	}
	return t.syms[i], true
}

// linkSegment returns the segment whose link range holds addr.
func (t *Table) linkSegment(addr uint32) (Segment, bool) {
	for _, s := range t.Segments() {
		if in(addr, s.Link, s.Size) {
			return s, true
		}
	}
	return Segment{}, false
}

// ToLoad returns the load address of a link address inside an aliased
// segment.
func (t *Table) ToLoad(link uint32) (uint32, bool) {
	s, ok := t.linkSegment(link)
	if !ok || !s.Aliased() {
		return 0, false
	}
	return link - s.Offset(), true
}

// ToLink returns the link address of which addr is the load alias: addr is
// inside an aliased segment's load range and not itself a link address of
// the kernel (a head linked at its physical address keeps its own names).
func (t *Table) ToLink(addr uint32) (uint32, bool) {
	if _, ok := t.linkSegment(addr); ok {
		return 0, false
	}
	for _, s := range t.Segments() {
		if s.Aliased() && in(addr, s.Load, s.Size) {
			return addr + s.Offset(), true
		}
	}
	return 0, false
}

// section returns the allocated section holding a link address.
func (t *Table) section(addr uint32) (Range, bool) {
	i := sort.Search(len(t.sections), func(i int) bool { return t.sections[i].Addr > addr }) - 1
	if i < 0 || !in(addr, t.sections[i].Addr, t.sections[i].Size) {
		return Range{}, false
	}
	return t.sections[i], true
}

// symbolAt returns the symbol whose range holds the link address addr: a
// sized symbol covers [Addr, Addr+Size); a label (size 0) reaches to the
// next symbol or the end of its section, whichever comes first.
func (t *Table) symbolAt(addr uint32) (Symbol, bool) {
	if t == nil {
		return Symbol{}, false
	}
	i := sort.Search(len(t.syms), func(i int) bool { return t.syms[i].Addr > addr }) - 1
	if i < 0 {
		return Symbol{}, false
	}
	next := i + 1
	for i > 0 && t.syms[i-1].Addr == t.syms[i].Addr {
		i--
	}
	s := t.syms[i]
	if s.Size != 0 {
		return s, addr-s.Addr < s.Size
	}
	sec, ok := t.section(s.Addr)
	if !ok || !in(addr, sec.Addr, sec.Size) {
		return Symbol{}, false
	}
	if next < len(t.syms) && t.syms[next].Addr <= addr {
		return Symbol{}, false
	}
	return s, true
}

// Name is how an address is named.
type Name struct {
	Sym  string // symbol, or "bzImage" for the bzImage's own code
	Off  uint32
	Load bool // the address is the load alias of Sym+Off
	// Image: the address is the bzImage's own code (setup/decompressor),
	// not the kernel's.
	Image bool
}

// Base is "sym" or "sym+0x10", without the load-address note.
func (n Name) Base() string {
	if n.Off == 0 {
		return n.Sym
	}
	return fmt.Sprintf("%s+%#x", n.Sym, n.Off)
}

// String is "sym+0x10", or "sym+0x10 (load address)" for a load alias.
func (n Name) String() string {
	if n.Load {
		return n.Base() + " (load address)"
	}
	return n.Base()
}

// Lookup names an address: sym+off when it falls in a symbol's range,
// sym+off (load address) when it is the load alias of one, bzImage+off in
// the bzImage's own code, and nothing otherwise.
func (t *Table) Lookup(addr uint32) (Name, bool) {
	if t == nil {
		return Name{}, false
	}
	if s, ok := t.symbolAt(addr); ok {
		if _, inKernel := t.linkSegment(addr); inKernel || !t.inImage(addr) {
			return Name{Sym: s.Name, Off: addr - s.Addr}, true
		}
	}
	if link, ok := t.ToLink(addr); ok {
		if s, ok := t.symbolAt(link); ok {
			return Name{Sym: s.Name, Off: link - s.Addr, Load: true}, true
		}
		return Name{}, false
	}
	if t.inImage(addr) {
		if _, ok := t.linkSegment(addr); !ok {
			return Name{Sym: t.image.Name, Off: addr - t.image.Addr, Image: true}, true
		}
	}
	return Name{}, false
}

// Code names an address where code runs (an EIP, a branch target, a
// breakpoint): as Lookup, but a load alias counts only inside an
// executable segment. A bzImage's decompressor relocates itself into the
// kernel's load range, past the file image, into what becomes .bss; the
// code running there is not the kernel's and gets no kernel name.
func (t *Table) Code(addr uint32) (Name, bool) {
	n, ok := t.Lookup(addr)
	if !ok || !n.Load {
		return n, ok
	}
	for _, s := range t.segs {
		if s.Aliased() && in(addr, s.Load, s.Size) {
			if s.Exec {
				return n, true
			}
			break
		}
	}
	return Name{}, false
}

// inImage reports whether addr is the bzImage's own code and not part of
// the kernel's load range (for the test guests, whose "decompressor" is
// the kernel itself, the kernel wins).
func (t *Table) inImage(addr uint32) bool {
	if t.image.Size == 0 || !in(addr, t.image.Addr, t.image.Size) {
		return false
	}
	for _, s := range t.segs {
		if in(addr, s.Load, s.Size) {
			return false
		}
	}
	return true
}

// Operand names a value used as an immediate or displacement, only when it
// points into an allocated section ("lguest_data", "init_thread_union+0x2000")
// or is the load alias of such a place ("pa(lguest_data)"). Small numbers
// and absolute-symbol values stay numbers.
func (t *Table) Operand(v uint32) (string, bool) {
	if t == nil {
		return "", false
	}
	if _, ok := t.section(v); ok {
		if n, ok := t.Lookup(v); ok && !n.Image && !n.Load {
			return n.Base(), true
		}
		return "", false
	}
	if link, ok := t.ToLink(v); ok {
		if _, ok := t.section(link); ok {
			if s, ok := t.symbolAt(link); ok {
				return "pa(" + Name{Sym: s.Name, Off: link - s.Addr}.Base() + ")", true
			}
		}
		return "", false
	}
	// A label exactly at the end of a section (stack_end, __bss_stop,
	// _end) is a place too: the top of a stack is loaded into %esp.
	if s, ok := t.endLabel(v); ok {
		return s, true
	}
	for _, seg := range t.Segments() {
		if seg.Aliased() && v == seg.Load+seg.Size {
			if s, ok := t.endLabel(seg.Link + seg.Size); ok {
				return "pa(" + s + ")", true
			}
		}
	}
	return "", false
}

// StackTop names v as the end of the sized symbol that ends exactly there
// ("init_thread_union+0x2000"), or of its load alias ("pa(...)"): what a
// value loaded into %esp means. A label at v (stack_end) wins: Operand
// names it.
func (t *Table) StackTop(v uint32) (string, bool) {
	if t == nil {
		return "", false
	}
	end := func(a uint32) (string, bool) {
		// A label of its own at the top (stack_end) says it best.
		for _, s := range t.syms {
			if s.Addr == a && s.Size == 0 {
				return "", false
			}
		}
		for _, s := range t.syms {
			if s.Size != 0 && s.Addr+s.Size == a {
				return Name{Sym: s.Name, Off: s.Size}.Base(), true
			}
		}
		return "", false
	}
	if n, ok := end(v); ok {
		return n, true
	}
	if link, ok := t.ToLink(v - 1); ok {
		if n, ok := end(link + 1); ok {
			return "pa(" + n + ")", true
		}
	}
	return "", false
}

// endLabel names a symbol that starts exactly at the end of an allocated
// section.
func (t *Table) endLabel(v uint32) (string, bool) {
	atEnd := false
	for _, r := range t.sections {
		if r.Addr+r.Size == v {
			atEnd = true
			break
		}
	}
	if !atEnd {
		return "", false
	}
	i := sort.Search(len(t.syms), func(i int) bool { return t.syms[i].Addr >= v })
	if i < len(t.syms) && t.syms[i].Addr == v {
		return t.syms[i].Name, true
	}
	return "", false
}
