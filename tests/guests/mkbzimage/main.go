// Command mkbzimage packs an lgdbg test guest into a bzImage.
//
// Input: the guest's ELF (for checks, the paging mode and the entry point)
// and the protected-mode payload made by `objcopy -O binary` from it. Output:
// a boot sector and one setup sector carrying a boot-protocol 2.10 setup
// header ("HdrS" at 0x202, Documentation/x86/boot.txt; what the lguest
// Launcher reads is spec §2.3), then the payload, which the Launcher copies
// to guest-physical 0x100000 and enters at code32_start (spec §2.5).
//
// There is no real-mode setup code: lguest never runs it. The bytes at 0x200
// jump to a cli/hlt loop so a real-mode loader that did jump there stops.
//
// The paging mode is recorded as hv/boot documents (hv/boot/doc.go): the
// eight bytes "LGDBGPAE" or "LGDBGNOP" at file offset 0x300.
//
// With -vmlinux, the guest's ELF without symbols (`objcopy -R .comment -S`,
// as Linux's vmlinux.bin) is gzip'd and appended after the payload, and
// payload_offset/payload_length (boot protocol >= 2.08) point at it, as in a
// real bzImage: lgdbg reads the kernel's link and load ranges from it. The
// guest never decompresses it; the Launcher copies it to just above the
// loaded image, where the guest's BSS clearing overwrites what it covers.
//
// Usage:
//
//	mkbzimage -elf guest.elf -payload guest.bin [-vmlinux guest.vmlinux.bin] -name NAME -o guest.bzImage
package main

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
)

// Setup header layout (boot protocol 2.10; offsets from the start of the file).
const (
	offSetupSects   = 0x1F1
	offSyssize      = 0x1F4
	offBootFlag     = 0x1FE
	offJump         = 0x200
	offHeader       = 0x202
	offVersion      = 0x206
	offStartSysSeg  = 0x20C
	offKernelVer    = 0x20E
	offLoadflags    = 0x211
	offSetupMove    = 0x212
	offCode32Start  = 0x214
	offInitrdMax    = 0x22C
	offKernelAlign  = 0x230
	offRelocatable  = 0x234
	offMinAlign     = 0x235
	offCmdlineSize  = 0x238
	offPayloadOff   = 0x248
	offPayloadLen   = 0x24C
	offHwSubarch    = 0x23C
	offPrefAddress  = 0x258
	offInitSize     = 0x260
	headerEnd       = 0x268 // end of the 2.10 header
	offStub         = 0x270 // cli; hlt; jmp $-1 (16-bit) for a real-mode loader
	offMarker       = 0x300 // hv/boot/doc.go "The lgdbg test-guest bzImage marker"
	offKernelString = 0x320

	setupSects     = 1 // one setup sector after the boot sector
	protocol       = 0x020A
	loadedHigh     = 0x01
	code32Start    = 0x100000
	kernelAlign    = 0x1000000 // what the lguest Launcher puts in the zero page (spec §2.4)
	cmdlineSize    = 2047
	initrdAddrMax  = 0x7FFFFFFF
	paeSymbol      = "initial_pg_pmd" // as Linux's head_32.S with CONFIG_X86_PAE
	setupAreaBytes = (setupSects + 1) * 512
)

// Image is what the packer learned from the ELF.
type Image struct {
	Entry uint32
	PAE   bool
	// LoadEnd is one past the last physical byte of file-backed data;
	// objcopy -O binary covers [code32Start, LoadEnd).
	LoadEnd uint32
}

// Inspect checks that the ELF is a guest this packer can pack: i386
// executable entered at 0x100000 whose lowest PT_LOAD starts there.
func Inspect(path string) (*Image, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open guest ELF: %w", err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS32 || f.Machine != elf.EM_386 || f.Type != elf.ET_EXEC {
		return nil, fmt.Errorf("%s: not an i386 ELF executable (class %v, machine %v, type %v)", path, f.Class, f.Machine, f.Type)
	}
	img := &Image{Entry: uint32(f.Entry)}
	if img.Entry != code32Start {
		return nil, fmt.Errorf("%s: entry %#x, want code32_start %#x", path, img.Entry, code32Start)
	}
	low := uint64(1 << 32)
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		low = min(low, p.Paddr)
		if p.Filesz > 0 {
			img.LoadEnd = max(img.LoadEnd, uint32(p.Paddr+p.Filesz))
		}
	}
	if low != code32Start {
		return nil, fmt.Errorf("%s: lowest PT_LOAD physical address %#x, want %#x", path, low, code32Start)
	}
	syms, err := f.Symbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return nil, fmt.Errorf("%s: symbols: %w", path, err)
	}
	for _, s := range syms {
		if s.Name == paeSymbol {
			img.PAE = true
		}
	}
	return img, nil
}

// Pack builds the bzImage bytes; vmlinux, if not nil, becomes the gzip'd
// boot-protocol payload after the loaded part.
//
// With noMarker the marker bytes stay zero, as in a real kernel's setup
// code: the image then says nothing about PAE and lgdbg must learn the mode
// from the Guest's first page table.
func Pack(img *Image, payload, vmlinux []byte, name string, noMarker bool) ([]byte, error) {
	if want := int(img.LoadEnd) - code32Start; len(payload) != want {
		return nil, fmt.Errorf("payload is %d bytes, the ELF's loaded part is %d", len(payload), want)
	}
	if len(payload) == 0 {
		return nil, errors.New("empty payload")
	}
	mode := "non-PAE"
	marker := "LGDBGNOP"
	if img.PAE {
		mode, marker = "PAE", "LGDBGPAE"
	}
	version := fmt.Sprintf("lgdbg test guest %s (%s)", name, mode)
	if offKernelString+len(version)+1 > setupAreaBytes {
		return nil, fmt.Errorf("kernel_version string %q does not fit in the setup sector", version)
	}

	var compressed []byte
	if vmlinux != nil {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return nil, err
		}
		if _, err := zw.Write(vmlinux); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		compressed = buf.Bytes()
	}
	kernelBytes := len(payload) + len(compressed)

	out := make([]byte, setupAreaBytes, setupAreaBytes+kernelBytes)
	le := binary.LittleEndian
	out[offSetupSects] = setupSects
	le.PutUint32(out[offSyssize:], uint32((kernelBytes+15)/16))
	le.PutUint16(out[offBootFlag:], 0xAA55)
	// jmp short from 0x200 to the stub: displacement counts from 0x202.
	out[offJump] = 0xEB
	out[offJump+1] = byte(offStub - (offJump + 2))
	copy(out[offHeader:], "HdrS")
	le.PutUint16(out[offVersion:], protocol)
	le.PutUint16(out[offStartSysSeg:], 0x1000) // obsolete, what Linux puts there
	le.PutUint16(out[offKernelVer:], offKernelString-0x200)
	out[offLoadflags] = loadedHigh
	le.PutUint16(out[offSetupMove:], 0x8000)
	le.PutUint32(out[offCode32Start:], img.Entry)
	le.PutUint32(out[offInitrdMax:], initrdAddrMax)
	le.PutUint32(out[offKernelAlign:], kernelAlign)
	out[offRelocatable] = 0
	out[offMinAlign] = 12
	le.PutUint32(out[offCmdlineSize:], cmdlineSize)
	le.PutUint32(out[offHwSubarch:], 0) // the loader sets hardware_subarch (spec §2.4)
	le.PutUint64(out[offPrefAddress:], code32Start)
	// init_size 0: nothing is decompressed or relocated (hv/boot/doc.go).
	le.PutUint32(out[offInitSize:], 0)
	if compressed != nil {
		le.PutUint32(out[offPayloadOff:], uint32(len(payload)))
		le.PutUint32(out[offPayloadLen:], uint32(len(compressed)))
	}
	copy(out[offStub:], []byte{0xFA, 0xF4, 0xEB, 0xFD}) // cli; hlt; jmp .-1
	if !noMarker {
		copy(out[offMarker:], marker)
	}
	copy(out[offKernelString:], version)
	return append(append(out, payload...), compressed...), nil
}

func run() error {
	elfPath := flag.String("elf", "", "guest ELF")
	payloadPath := flag.String("payload", "", "objcopy -O binary output of the ELF")
	name := flag.String("name", "", "guest name for the kernel_version string")
	vmlinuxPath := flag.String("vmlinux", "", "the ELF without symbols, for the compressed payload (optional)")
	outPath := flag.String("o", "", "output bzImage")
	noMarker := flag.Bool("no-marker", false, "leave out the PAE marker (the image does not say whether it is PAE)")
	flag.Parse()
	if *elfPath == "" || *payloadPath == "" || *name == "" || *outPath == "" {
		return errors.New("usage: mkbzimage -elf guest.elf -payload guest.bin -name NAME -o guest.bzImage")
	}
	img, err := Inspect(*elfPath)
	if err != nil {
		return err
	}
	payload, err := os.ReadFile(*payloadPath)
	if err != nil {
		return fmt.Errorf("read payload: %w", err)
	}
	var vmlinux []byte
	if *vmlinuxPath != "" {
		if vmlinux, err = os.ReadFile(*vmlinuxPath); err != nil {
			return fmt.Errorf("read vmlinux: %w", err)
		}
	}
	data, err := Pack(img, payload, vmlinux, *name, *noMarker)
	if err != nil {
		return fmt.Errorf("%s: %w", *elfPath, err)
	}
	if err := os.WriteFile(*outPath, data, 0o644); err != nil {
		return fmt.Errorf("write bzImage: %w", err)
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mkbzimage:", err)
		os.Exit(1)
	}
}
