package boot

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// ELF constants (System V ABI; only what spec §2.3 needs).
const (
	elfClass32   = 1
	elfClass64   = 2
	elfData2LSB  = 1
	etExec       = 2
	em386        = 3
	emX86_64     = 62
	ptLoad       = 1
	shtSymtab    = 2
	stbGlobal    = 1
	stbWeak      = 2
	sttNoType    = 0
	sttObject    = 1
	sttFunc      = 2
	shnUndef     = 0
	elf32EhSize  = 52
	elf32PhSize  = 32 // sizeof(Elf32_Phdr)
	elf32ShSize  = 40
	elf32SymSize = 16
	// Spec §2.3: the Launcher accepts 1 <= e_phnum <= 65536/sizeof(Elf32_Phdr).
	maxPhnum = 65536 / elf32PhSize
)

// paeSymbol is defined by Linux's head_32.S only with CONFIG_X86_PAE.
const paeSymbol = "initial_pg_pmd"

func parseELF(data []byte) (*Image, error) {
	if len(data) < 20 {
		return nil, fmt.Errorf("ELF file of %d bytes is shorter than an ELF header: %w", len(data), ErrTruncated)
	}
	le := binary.LittleEndian
	machine := le.Uint16(data[18:]) // same offset in ELF32 and ELF64
	switch data[4] {
	case elfClass32:
	case elfClass64:
		return nil, fmt.Errorf("ELFCLASS64 file (machine %s): %w", machineName(machine), Err64Bit)
	default:
		return nil, fmt.Errorf("ELF class %d is neither ELFCLASS32 nor ELFCLASS64: %w", data[4], ErrMalformed)
	}
	if data[5] != elfData2LSB {
		return nil, fmt.Errorf("ELF data encoding %d is not little-endian: %w", data[5], ErrUnsupported)
	}
	if len(data) < elf32EhSize {
		return nil, fmt.Errorf("ELF32 file of %d bytes is shorter than its %d-byte header: %w", len(data), elf32EhSize, ErrTruncated)
	}
	if machine == emX86_64 {
		// ELFCLASS32 with EM_X86_64 is the x32 ABI: still 64-bit code.
		return nil, fmt.Errorf("ELF32 for EM_X86_64 (x32): %w", Err64Bit)
	}
	if machine != em386 {
		return nil, fmt.Errorf("ELF machine is %s, want EM_386: %w", machineName(machine), ErrUnsupported)
	}
	if t := le.Uint16(data[16:]); t != etExec {
		return nil, fmt.Errorf("ELF type is %d, want ET_EXEC (2): %w", t, ErrUnsupported)
	}
	entry := le.Uint32(data[24:])
	phoff := le.Uint32(data[28:])
	phentsize := le.Uint16(data[42:])
	phnum := le.Uint16(data[44:])
	if phentsize != elf32PhSize {
		return nil, fmt.Errorf("e_phentsize is %d, want %d: %w", phentsize, elf32PhSize, ErrMalformed)
	}
	if phnum < 1 || phnum > maxPhnum {
		return nil, fmt.Errorf("e_phnum is %d, want 1..%d: %w", phnum, maxPhnum, ErrMalformed)
	}
	if end := uint64(phoff) + uint64(phnum)*elf32PhSize; end > uint64(len(data)) {
		return nil, fmt.Errorf("%d program headers at %#x end at %#x, past the end of the %d-byte file: %w",
			phnum, phoff, end, len(data), ErrTruncated)
	}

	img := &Image{Kind: KindELF, Entry: entry}
	for i := 0; i < int(phnum); i++ {
		ph := data[int(phoff)+i*elf32PhSize:]
		if le.Uint32(ph[0:]) != ptLoad {
			continue
		}
		off, vaddr, paddr := le.Uint32(ph[4:]), le.Uint32(ph[8:]), le.Uint32(ph[12:])
		filesz, memsz := le.Uint32(ph[16:]), le.Uint32(ph[20:])
		if filesz > memsz {
			return nil, fmt.Errorf("PT_LOAD %d: p_filesz %#x > p_memsz %#x: %w", i, filesz, memsz, ErrMalformed)
		}
		if end := uint64(off) + uint64(filesz); end > uint64(len(data)) {
			return nil, fmt.Errorf("PT_LOAD %d: file bytes %#x-%#x lie past the end of the %d-byte file: %w",
				i, off, end, len(data), ErrTruncated)
		}
		if memsz == 0 {
			continue
		}
		img.Segments = append(img.Segments, Segment{
			PAddr: paddr, VAddr: vaddr, Data: data[off : off+filesz], MemSize: memsz,
		})
	}
	if len(img.Segments) == 0 {
		return nil, fmt.Errorf("ELF has no non-empty PT_LOAD segment: %w", ErrMalformed)
	}
	if err := checkLayout(img); err != nil {
		return nil, fmt.Errorf("ELF: %w", err)
	}

	// Symbols are for the UI and the PAE hint only; the Launcher never reads
	// sections, so a broken section table is a warning, not a rejection.
	syms, found, err := elfSymbols(data)
	if err != nil {
		img.Warnings = append(img.Warnings, "no symbols: "+err.Error())
	} else if found {
		img.Symbols = syms
		img.PAE = PAENo
		if _, ok := img.SymbolByName(paeSymbol); ok {
			img.PAE = PAEYes
		}
		if s, ok := img.SymbolByName("linux_banner"); ok {
			img.KernelVersion = img.stringAt(s.Value)
		}
	}
	return img, nil
}

// elfSymbols reads the SHT_SYMTAB section: defined, named symbols that are
// not section or file symbols. found is false when there is no symbol table.
func elfSymbols(data []byte) (syms []Symbol, found bool, err error) {
	le := binary.LittleEndian
	shoff := uint64(le.Uint32(data[32:]))
	shentsize := le.Uint16(data[46:])
	shnum := uint64(le.Uint16(data[48:]))
	if shoff == 0 {
		return nil, false, nil
	}
	if shentsize != elf32ShSize {
		return nil, false, fmt.Errorf("e_shentsize is %d, want %d", shentsize, elf32ShSize)
	}
	if shoff+elf32ShSize > uint64(len(data)) {
		return nil, false, fmt.Errorf("section headers at %#x lie past the end of the file", shoff)
	}
	if shnum == 0 {
		// Extended numbering: the count is in section 0's sh_size.
		shnum = uint64(le.Uint32(data[shoff+20:]))
	}
	if shoff+shnum*elf32ShSize > uint64(len(data)) {
		return nil, false, fmt.Errorf("%d section headers at %#x run past the end of the file", shnum, shoff)
	}
	sh := func(i uint64) []byte { return data[shoff+i*elf32ShSize:] }
	for i := uint64(0); i < shnum; i++ {
		s := sh(i)
		if le.Uint32(s[4:]) != shtSymtab {
			continue
		}
		off, size, link := uint64(le.Uint32(s[16:])), uint64(le.Uint32(s[20:])), uint64(le.Uint32(s[24:]))
		if off+size > uint64(len(data)) {
			return nil, false, fmt.Errorf("symbol table at %#x+%#x lies past the end of the file", off, size)
		}
		if link >= shnum {
			return nil, false, fmt.Errorf("symbol table's string table index %d is not a section", link)
		}
		ss := sh(link)
		stroff, strsize := uint64(le.Uint32(ss[16:])), uint64(le.Uint32(ss[20:]))
		if stroff+strsize > uint64(len(data)) {
			return nil, false, fmt.Errorf("string table at %#x+%#x lies past the end of the file", stroff, strsize)
		}
		strtab := data[stroff : stroff+strsize]
		tab := data[off : off+size]
		// Entry 0 is the reserved null symbol.
		for p := elf32SymSize; p+elf32SymSize <= len(tab); p += elf32SymSize {
			e := tab[p:]
			name, value, ssize := le.Uint32(e[0:]), le.Uint32(e[4:]), le.Uint32(e[8:])
			info, shndx := e[12], le.Uint16(e[14:])
			var t SymType
			switch info & 0xF {
			case sttNoType:
				t = SymNoType
			case sttObject:
				t = SymObject
			case sttFunc:
				t = SymFunc
			default:
				continue // sections, files, TLS, ...
			}
			if shndx == shnUndef || uint64(name) >= uint64(len(strtab)) {
				continue
			}
			n := strtab[name:]
			if k := bytes.IndexByte(n, 0); k >= 0 {
				n = n[:k]
			}
			if len(n) == 0 {
				continue
			}
			bind := info >> 4
			syms = append(syms, Symbol{Name: string(n), Value: value, Size: ssize, Type: t,
				Global: bind == stbGlobal || bind == stbWeak})
		}
		sortSymbols(syms)
		return syms, true, nil
	}
	return nil, false, nil
}

// stringAt reads a NUL-terminated string at virtual address va from the
// loaded file bytes (for linux_banner).
func (img *Image) stringAt(va uint32) string {
	for _, s := range img.Segments {
		if va >= s.VAddr && uint64(va) < uint64(s.VAddr)+uint64(len(s.Data)) {
			b := s.Data[va-s.VAddr:]
			if n := bytes.IndexByte(b, 0); n >= 0 {
				b = b[:n]
			}
			return printable(b, 256)
		}
	}
	return ""
}

func machineName(m uint16) string {
	switch m {
	case em386:
		return "EM_386"
	case emX86_64:
		return "EM_X86_64"
	case 40:
		return "EM_ARM"
	case 183:
		return "EM_AARCH64"
	case 243:
		return "EM_RISCV"
	}
	return fmt.Sprintf("%d", m)
}
