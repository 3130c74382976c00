package symbols

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"

	"github.com/lgdbg/lgdbg/hv/boot"
)

// FromELF builds the table of a vmlinux (or test guest) ELF: its PT_LOAD
// segments, its allocated sections, and the symbols defined in them.
func FromELF(data []byte) (*Table, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not an ELF file: %w", err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS32 || f.Machine != elf.EM_386 {
		return nil, fmt.Errorf("ELF is %v %v, want a 32-bit i386 kernel", f.Class, f.Machine)
	}
	var segs []Segment
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Memsz == 0 {
			continue
		}
		segs = append(segs, Segment{Link: uint32(p.Vaddr), Load: uint32(p.Paddr), Size: uint32(p.Memsz), Exec: p.Flags&elf.PF_X != 0})
	}
	alloc := make([]bool, len(f.Sections))
	var secs []Range
	for i, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Size == 0 {
			continue
		}
		alloc[i] = true
		secs = append(secs, Range{Name: s.Name, Addr: uint32(s.Addr), Size: uint32(s.Size)})
	}
	es, err := f.Symbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return nil, fmt.Errorf("ELF symbol table: %w", err)
	}
	var syms []Symbol
	for _, s := range es {
		// SHN_ABS, SHN_COMMON and SHN_UNDEF are >= SHN_LORESERVE or 0; only
		// an index of an allocated section makes the value a place.
		if s.Name == "" || int(s.Section) >= len(alloc) || !alloc[s.Section] {
			continue
		}
		var k Kind
		switch elf.ST_TYPE(s.Info) {
		case elf.STT_NOTYPE:
			k = Label
		case elf.STT_FUNC:
			k = Func
		case elf.STT_OBJECT:
			k = Object
		default:
			continue // STT_SECTION, STT_FILE, TLS...
		}
		b := elf.ST_BIND(s.Info)
		syms = append(syms, Symbol{Name: s.Name, Addr: uint32(s.Value), Size: uint32(s.Size), Kind: k,
			Global: b == elf.STB_GLOBAL || b == elf.STB_WEAK})
	}
	return New(uint32(f.Entry), segs, secs, syms), nil
}

// FromImage builds the table a boot image gives without a separate vmlinux:
// an ELF's own (as FromELF), or a bzImage's compressed-payload layout
// (segments and entry, no names) plus its own code as "bzImage". note says
// in one line why aliasing is off, if it is ("" otherwise).
func FromImage(img *boot.Image, data []byte) (t *Table, note string) {
	switch img.Kind {
	case boot.KindELF:
		t, err := FromELF(data)
		if err != nil {
			return nil, "symbols: " + err.Error()
		}
		return t, ""
	case boot.KindBzImage:
		var segs []Segment
		var entry uint32
		switch pl := img.Payload; {
		case pl == nil:
			note = "bzImage has no payload_offset/payload_length (boot protocol < 2.08): kernel layout unknown, no load-address aliases"
		case pl.Note != "":
			note = pl.Note + ", no load-address aliases"
		default:
			entry = pl.Entry
			for _, s := range pl.Segments {
				segs = append(segs, Segment{Link: s.VAddr, Load: s.PAddr, Size: s.MemSize, Exec: s.Exec})
			}
		}
		t = New(entry, segs, nil, nil)
		t.setBzImage(img)
		return t, note
	}
	return nil, ""
}

// WithImage returns the vmlinux table vm with the bzImage img's own code
// marked (see SetImage); for an ELF image it returns vm as it is.
func WithImage(vm *Table, img *boot.Image) *Table {
	if img == nil || img.Kind != boot.KindBzImage || vm == nil {
		return vm
	}
	vm.setBzImage(img)
	return vm
}

func (t *Table) setBzImage(img *boot.Image) {
	for _, s := range img.Segments {
		t.SetImage(s.PAddr, s.MemSize)
	}
}
