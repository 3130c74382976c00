package boot

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
)

// This file builds synthetic kernel images byte by byte, following the
// boot protocol (Documentation/x86/boot.txt) and the ELF32 layout that
// debug/elf reads, so tests can choose every header field.

var le = binary.LittleEndian

// bzSpec describes a synthetic bzImage. Zero values give a well-formed
// protocol-2.10 image with a 3-sector setup area and a 4 KiB payload.
type bzSpec struct {
	version     uint16 // default 0x020A
	setupSects  uint8  // as written to 0x1F1 (0 means 4 to the loader); default 3
	zeroSects   bool   // write setup_sects = 0 (-> 4 sectors)
	payload     []byte // default 4096 bytes of a pattern
	syssize     int64  // -1: write 0; 0: ceil(len(payload)/16); else as given
	code32      uint32 // default 0x100000
	xload       uint16
	kver        string // written at file offset 0x320, pointer 0x120
	marker      string // 8 bytes at 0x300
	initSize    uint32
	prefAddr    uint64
	payloadOff  uint32
	payloadLen  uint32
	cmdlineSize uint32 // default 2047
	cut         int    // drop this many bytes from the end
}

func (s bzSpec) build() []byte {
	if s.version == 0 {
		s.version = 0x020A
	}
	sects := int(s.setupSects)
	if s.zeroSects {
		sects = 4
	} else if sects == 0 {
		sects = 3
	}
	if s.payload == nil {
		s.payload = pattern(4096, 0x5A)
	}
	if s.code32 == 0 {
		s.code32 = 0x100000
	}
	setup := (sects + 1) * 512
	b := make([]byte, setup+len(s.payload))
	if s.zeroSects {
		b[0x1F1] = 0
	} else {
		b[0x1F1] = byte(sects)
	}
	switch {
	case s.syssize < 0:
	case s.syssize == 0:
		le.PutUint32(b[0x1F4:], uint32((len(s.payload)+15)/16))
	default:
		le.PutUint32(b[0x1F4:], uint32(s.syssize))
	}
	le.PutUint16(b[0x1FE:], 0xAA55)
	b[0x200], b[0x201] = 0xEB, 0x66 // jmp short, as real images have
	copy(b[0x202:], "HdrS")
	le.PutUint16(b[0x206:], s.version)
	b[0x211] = 0x01 // LOADED_HIGH, as a real image has; the loader must not copy it
	le.PutUint32(b[0x214:], s.code32)
	le.PutUint32(b[0x230:], 0x200000)
	b[0x234] = 1
	le.PutUint16(b[0x236:], s.xload)
	if s.cmdlineSize == 0 {
		s.cmdlineSize = 2047
	}
	le.PutUint32(b[0x238:], s.cmdlineSize)
	le.PutUint32(b[0x248:], s.payloadOff)
	le.PutUint32(b[0x24C:], s.payloadLen)
	le.PutUint64(b[0x258:], s.prefAddr)
	le.PutUint32(b[0x260:], s.initSize)
	if s.kver != "" {
		le.PutUint16(b[0x20E:], 0x120)
		copy(b[0x320:], s.kver+"\x00")
	}
	copy(b[0x300:], s.marker)
	copy(b[setup:], s.payload)
	return b[:len(b)-s.cut]
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7) + byte(i>>8)
	}
	return b
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// elfHeaderOnly is the first 64 bytes of an ELF header of the given class
// and machine, enough for a compressed bzImage payload.
func elfHeaderOnly(class byte, machine uint16) []byte {
	b := make([]byte, 64)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = class, 1, 1
	le.PutUint16(b[16:], etExec)
	le.PutUint16(b[18:], machine)
	return b
}

type elfSeg struct {
	typ          uint32 // default PT_LOAD
	vaddr, paddr uint32
	data         []byte
	memsz        uint32 // default len(data)
}

type elfSym struct {
	name  string
	value uint32
	size  uint32
	info  byte   // (bind<<4)|type
	shndx uint16 // default 1 (.text)
	undef bool   // write SHN_UNDEF
}

// elfSpec describes a synthetic ELF32 file; class, machine and type
// default to ELFCLASS32, EM_386, ET_EXEC.
type elfSpec struct {
	class   byte
	data    byte
	machine uint16
	typ     uint16
	entry   uint32
	segs    []elfSeg
	syms    []elfSym // nil: no .symtab section
	symtab  bool     // emit .symtab even when syms is empty
}

// build lays out: ELF header | program headers | segment data (16-aligned)
// | .strtab | .symtab | .shstrtab | section headers
// [null, .text, .symtab, .strtab, .shstrtab].
func (s elfSpec) build() []byte {
	if s.class == 0 {
		s.class = elfClass32
	}
	if s.data == 0 {
		s.data = elfData2LSB
	}
	if s.machine == 0 {
		s.machine = em386
	}
	if s.typ == 0 {
		s.typ = etExec
	}
	var b []byte
	b = append(b, make([]byte, elf32EhSize)...)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = s.class, s.data, 1
	le.PutUint16(b[16:], s.typ)
	le.PutUint16(b[18:], s.machine)
	le.PutUint32(b[20:], 1)
	le.PutUint32(b[24:], s.entry)
	le.PutUint32(b[28:], elf32EhSize)
	le.PutUint16(b[40:], elf32EhSize)
	le.PutUint16(b[42:], elf32PhSize)
	le.PutUint16(b[44:], uint16(len(s.segs)))
	ph := len(b)
	b = append(b, make([]byte, len(s.segs)*elf32PhSize)...)
	align := func() {
		for len(b)%16 != 0 {
			b = append(b, 0)
		}
	}
	textOff, textSize := 0, 0
	for i, sg := range s.segs {
		align()
		off := len(b)
		b = append(b, sg.data...)
		typ, memsz := sg.typ, sg.memsz
		if typ == 0 {
			typ = ptLoad
		}
		if memsz == 0 {
			memsz = uint32(len(sg.data))
		}
		p := b[ph+i*elf32PhSize:]
		le.PutUint32(p[0:], typ)
		le.PutUint32(p[4:], uint32(off))
		le.PutUint32(p[8:], sg.vaddr)
		le.PutUint32(p[12:], sg.paddr)
		le.PutUint32(p[16:], uint32(len(sg.data)))
		le.PutUint32(p[20:], memsz)
		le.PutUint32(p[24:], 7)
		le.PutUint32(p[28:], 0x1000)
		if i == 0 {
			textOff, textSize = off, len(sg.data)
		}
	}
	if s.syms == nil && !s.symtab {
		return b
	}
	// .strtab and .symtab
	align()
	strOff := len(b)
	b = append(b, 0)
	names := make([]uint32, len(s.syms))
	for i, y := range s.syms {
		names[i] = uint32(len(b) - strOff)
		b = append(b, y.name...)
		b = append(b, 0)
	}
	strSize := len(b) - strOff
	align()
	symOff := len(b)
	b = append(b, make([]byte, elf32SymSize)...) // null symbol
	for i, y := range s.syms {
		e := make([]byte, elf32SymSize)
		shndx := y.shndx
		if shndx == 0 {
			shndx = 1
		}
		if y.undef {
			shndx = 0
		}
		le.PutUint32(e[0:], names[i])
		le.PutUint32(e[4:], y.value)
		le.PutUint32(e[8:], y.size)
		e[12] = y.info
		le.PutUint16(e[14:], shndx)
		b = append(b, e...)
	}
	symSize := len(b) - symOff
	shstrOff := len(b)
	shstr := "\x00.text\x00.symtab\x00.strtab\x00.shstrtab\x00"
	b = append(b, shstr...)
	align()
	shoff := len(b)
	sec := func(name, typ, off, size, link, info, align, entsize int) {
		e := make([]byte, elf32ShSize)
		for i, v := range []int{name, typ, 0, 0, off, size, link, info, align, entsize} {
			le.PutUint32(e[4*i:], uint32(v))
		}
		if typ == 1 {
			le.PutUint32(e[8:], 6) // SHF_ALLOC|SHF_EXECINSTR
		}
		b = append(b, e...)
	}
	sec(0, 0, 0, 0, 0, 0, 0, 0)
	sec(1, 1, textOff, textSize, 0, 0, 16, 0)                 // .text (PROGBITS)
	sec(7, shtSymtab, symOff, symSize, 3, 1, 4, elf32SymSize) // .symtab -> .strtab
	sec(15, 3, strOff, strSize, 0, 0, 1, 0)                   // .strtab
	sec(23, 3, shstrOff, len(shstr), 0, 0, 1, 0)              // .shstrtab
	le.PutUint32(b[32:], uint32(shoff))
	le.PutUint16(b[46:], elf32ShSize)
	le.PutUint16(b[48:], 5)
	le.PutUint16(b[50:], 4)
	return b
}

func sym(name string, value, size uint32, bind, typ byte) elfSym {
	return elfSym{name: name, value: value, size: size, info: bind<<4 | typ}
}

// linuxLike is a small ELF shaped like an i386 vmlinux: text at 16 MiB
// physical / 0xC1000000 virtual, data with BSS, physical entry.
func linuxLike(pae bool) elfSpec {
	text := pattern(0x3000, 1)
	banner := "Linux version 3.12.9-lgdbg (test@host) #1\n\x00"
	data := append([]byte(banner), pattern(0x800, 9)...)
	s := elfSpec{
		entry: 0x1000000,
		segs: []elfSeg{
			{vaddr: 0xC1000000, paddr: 0x1000000, data: text},
			{vaddr: 0xC1004000, paddr: 0x1004000, data: data, memsz: 0x6000},
			{typ: 4, vaddr: 0, paddr: 0, data: []byte("note")}, // PT_NOTE: not loaded
		},
		syms: []elfSym{
			sym("startup_32", 0xC1000000, 0, 1, sttNoType),
			sym("_text", 0xC1000000, 0, 1, sttNoType),
			sym("lguest_entry", 0xC1000100, 0x40, 1, sttFunc),
			sym("lguest_init", 0xC1000200, 0x300, 1, sttFunc),
			sym("linux_banner", 0xC1004000, uint32(len(banner)), 1, sttObject),
			sym("local_helper", 0xC1000180, 0x10, 0, sttFunc),
			sym("head_32.c", 0, 0, 0, 4),                        // STT_FILE: dropped
			sym("", 0xC1000000, 0, 0, 3),                        // STT_SECTION: dropped
			{name: "printk", info: 1<<4 | sttFunc, undef: true}, // undefined: dropped
			sym("jiffies", 0xC1004800, 4, 2, sttObject),         // weak
		},
	}
	if pae {
		s.syms = append(s.syms, sym(paeSymbol, 0xC1005000, 0x1000, 0, sttNoType))
	} else {
		s.syms = append(s.syms, sym("initial_page_table", 0xC1005000, 0x1000, 1, sttNoType))
	}
	return s
}
