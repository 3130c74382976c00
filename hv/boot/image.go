package boot

import (
	"bytes"
	"fmt"
	"sort"
)

// Kind is the container format of a kernel image.
type Kind int

// Image kinds.
const (
	KindBzImage Kind = iota + 1 // Linux bzImage (x86 boot protocol, spec §2.3)
	KindELF                     // ELF32 i386 executable (vmlinux or a test guest)
)

func (k Kind) String() string {
	switch k {
	case KindBzImage:
		return "bzImage"
	case KindELF:
		return "ELF"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// PAEHint says whether the kernel was built with CONFIG_X86_PAE, as far as
// the image tells (spec §0: nothing in the ABI negotiates it). See doc.go.
type PAEHint int

// PAE hints.
const (
	PAEUnknown PAEHint = iota
	PAEYes
	PAENo
)

func (p PAEHint) String() string {
	switch p {
	case PAEUnknown:
		return "unknown"
	case PAEYes:
		return "PAE"
	case PAENo:
		return "non-PAE"
	}
	return fmt.Sprintf("PAEHint(%d)", int(p))
}

// Limits and fixed addresses of the 3.x Launcher (spec §2.2-§2.4).
const (
	// MaxImageSize bounds a kernel image or initrd file: anything larger is
	// refused as absurd before any header is trusted.
	MaxImageSize = 1 << 30

	ZeroPageAddr   = 0x0000_0000 // boot_params
	CmdlineAddr    = 0x0000_1000 // hdr.cmd_line_ptr
	CmdlineMax     = 2048        // COMMAND_LINE_SIZE in 3.x, including the NUL
	BzKernelAddr   = 0x0010_0000 // where the protected-mode part goes
	KernelAlign    = 0x0100_0000 // hdr.kernel_alignment the Launcher writes
	BootProtocol   = 0x0207      // hdr.version the Launcher writes
	SubarchLguest  = 1           // hdr.hardware_subarch = X86_SUBARCH_LGUEST
	KeepSegments   = 0x40        // hdr.loadflags bit 6
	LoaderUnknown  = 0xFF        // hdr.type_of_loader with an initrd
	E820RAM        = 1           // e820 type of the one RAM entry
	reservedLowEnd = CmdlineAddr + CmdlineMax
)

// imageLimit is MaxImageSize; tests lower it rather than allocate 1 GiB.
var imageLimit = MaxImageSize

// Segment is one contiguous piece of the kernel placed in guest-physical
// memory: Data at PAddr, then zeroes up to MemSize (BSS).
type Segment struct {
	PAddr   uint32 // guest-physical load address
	VAddr   uint32 // ELF p_vaddr (for symbol look-ups); equals PAddr for a bzImage
	Data    []byte // file bytes; aliases the slice given to Parse
	MemSize uint32 // >= len(Data)
}

// End is the first guest-physical address after the segment.
func (s Segment) End() uint64 { return uint64(s.PAddr) + uint64(s.MemSize) }

// SymType classifies an ELF symbol.
type SymType int

// Symbol types (from STT_*). Section and file symbols are dropped.
const (
	SymNoType SymType = iota // STT_NOTYPE: assembly labels such as startup_32
	SymFunc                  // STT_FUNC
	SymObject                // STT_OBJECT
)

func (t SymType) String() string {
	switch t {
	case SymFunc:
		return "func"
	case SymObject:
		return "object"
	}
	return "notype"
}

// Symbol is one defined, named entry of the ELF symbol table.
type Symbol struct {
	Name   string
	Value  uint32
	Size   uint32
	Type   SymType
	Global bool // STB_GLOBAL or STB_WEAK
}

// SetupHeader is the part of a bzImage's setup header that the UI may want
// to show. Fields past the image's protocol version are zero.
type SetupHeader struct {
	SetupSects      uint8  // 0x1F1 as in the file (0 means 4)
	Syssize         uint32 // 0x1F4, 16-byte paragraphs
	Version         uint16 // 0x206
	Loadflags       uint8  // 0x211
	Code32Start     uint32 // 0x214
	KernelAlignment uint32 // 0x230 (>= 2.05)
	Relocatable     bool   // 0x234 (>= 2.05)
	Xloadflags      uint16 // 0x236 (>= 2.12)
	CmdlineSize     uint32 // 0x238 (>= 2.06)
	PayloadOffset   uint32 // 0x248 (>= 2.08), relative to the protected-mode part
	PayloadLength   uint32 // 0x24C (>= 2.08)
	PrefAddress     uint64 // 0x258 (>= 2.10)
	InitSize        uint32 // 0x260 (>= 2.10)
}

// Image is a parsed kernel, ready for Load.
type Image struct {
	Kind     Kind
	Entry    uint32    // code32_start (bzImage) or e_entry (ELF), guest-physical
	Segments []Segment // what goes where, sorted by PAddr, non-overlapping
	// ProtocolVersion is the bzImage boot protocol (0x020A = 2.10); 0 for ELF.
	ProtocolVersion uint16
	PAE             PAEHint
	// Symbols is the ELF symbol table sorted by Value (ties: functions,
	// then objects, then labels; globals first; then by name); nil for a
	// bzImage or an ELF without .symtab.
	Symbols []Symbol
	// KernelVersion is the bzImage's kernel_version string (0x20E), or for
	// an ELF the text of linux_banner when it has one; "" otherwise.
	KernelVersion string
	// Compression names the bzImage payload format ("gzip", "xz", ...) when
	// the header says where the payload is (protocol >= 2.08); "" otherwise.
	Compression string
	// Payload is what the compressed kernel's ELF program headers say
	// (payload.go); nil when the header locates no payload.
	Payload *Payload
	// Setup is the bzImage setup header; nil for ELF.
	Setup *SetupHeader
	// Warnings lists things that did not prevent loading (for example an
	// unreadable ELF section table, which only costs the symbols).
	Warnings []string
}

// Parse recognises and validates a kernel image. data is not copied: the
// returned Image's segments alias it, so the caller must not modify it.
func Parse(data []byte) (*Image, error) {
	if len(data) > imageLimit {
		return nil, fmt.Errorf("image is %d bytes, more than the %d MiB limit: %w", len(data), imageLimit>>20, ErrTooBig)
	}
	switch {
	case len(data) >= 4 && bytes.Equal(data[:4], []byte("\x7fELF")):
		return parseELF(data)
	case len(data) >= 0x206 && string(data[0x202:0x206]) == "HdrS":
		return parseBzImage(data)
	}
	return nil, fmt.Errorf("%d-byte file has neither \"HdrS\" at 0x202 nor an ELF header: %w", len(data), ErrNotKernel)
}

// SymbolByName returns the first symbol called name.
func (img *Image) SymbolByName(name string) (Symbol, bool) {
	for _, s := range img.Symbols {
		if s.Name == name {
			return s, true
		}
	}
	return Symbol{}, false
}

// SymbolAt returns the symbol that best describes addr: the one with the
// highest Value <= addr (the preferred one among equal values, see
// Image.Symbols), and addr's offset from it, for "<sym+off>" displays. ok is
// false when no symbol lies at or below addr.
func (img *Image) SymbolAt(addr uint32) (sym Symbol, off uint32, ok bool) {
	i := sort.Search(len(img.Symbols), func(i int) bool { return img.Symbols[i].Value > addr })
	if i == 0 {
		return Symbol{}, 0, false
	}
	v := img.Symbols[i-1].Value
	j := sort.Search(i, func(k int) bool { return img.Symbols[k].Value >= v })
	return img.Symbols[j], addr - v, true
}

// sortSymbols orders symbols for SymbolAt.
func sortSymbols(syms []Symbol) {
	rank := func(t SymType) int {
		switch t {
		case SymFunc:
			return 0
		case SymObject:
			return 1
		}
		return 2
	}
	sort.SliceStable(syms, func(i, j int) bool {
		a, b := syms[i], syms[j]
		if a.Value != b.Value {
			return a.Value < b.Value
		}
		if rank(a.Type) != rank(b.Type) {
			return rank(a.Type) < rank(b.Type)
		}
		if a.Global != b.Global {
			return a.Global
		}
		return a.Name < b.Name
	})
}

// checkLayout sorts segments by address and checks what every image must
// satisfy: segments neither wrap nor overlap, and the entry point lies in one.
func checkLayout(img *Image) error {
	segs := img.Segments
	if len(segs) == 0 {
		return fmt.Errorf("%v has nothing to load: %w", img.Kind, ErrMalformed)
	}
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].PAddr < segs[j].PAddr })
	for i, s := range segs {
		if s.End() > 1<<32 {
			return fmt.Errorf("segment at %#x of %d bytes runs past 4 GiB: %w", s.PAddr, s.MemSize, ErrTooBig)
		}
		if i > 0 && uint64(s.PAddr) < segs[i-1].End() {
			return fmt.Errorf("segments at %#x-%#x and %#x-%#x overlap: %w",
				segs[i-1].PAddr, segs[i-1].End()-1, s.PAddr, s.End()-1, ErrMalformed)
		}
	}
	for _, s := range segs {
		if img.Entry >= s.PAddr && uint64(img.Entry) < s.End() {
			return nil
		}
	}
	return fmt.Errorf("entry point %#x is not inside any loaded segment (it must be a physical address): %w", img.Entry, ErrMalformed)
}
