package boot

import (
	"bytes"
	"fmt"

	"github.com/lgdbg/lgdbg/hv/mem"
)

const pageSize = mem.PageSize

// boot_params offsets the Launcher writes (spec §2.4).
const (
	bpE820Entries     = 0x1E8
	bpVersion         = 0x206
	bpTypeOfLoader    = 0x210
	bpLoadflags       = 0x211
	bpRamdiskImage    = 0x218
	bpRamdiskSize     = 0x21C
	bpCmdLinePtr      = 0x228
	bpKernelAlignment = 0x230
	bpHardwareSubarch = 0x23C
	bpE820Map         = 0x2D0
)

// Config is what the user chose for this boot.
type Config struct {
	RAM     uint32 // mem: guest RAM in bytes, page multiple (ParseSize)
	Cmdline string // the kernel command line (spec §2.2: argv joined by spaces)
	Initrd  []byte // optional initrd; nil for none
}

// region is a half-open range of guest-physical addresses with a name for
// error messages.
type region struct {
	start, end uint64
	what       string
}

func (r region) overlaps(o region) bool { return r.start < o.end && o.start < r.end }

func (r region) String() string { return fmt.Sprintf("%s %#x-%#x", r.what, r.start, r.end-1) }

func pageAlign(n uint64) uint64 { return (n + pageSize - 1) &^ (pageSize - 1) }

// L:110 Load writes img into guest-physical memory as the 3.x Launcher does
// (spec §2.2-§2.4, §13 item 1) and returns the initial EIP (spec §2.5).
//
// It writes only below cfg.RAM: the zero page (cleared, then exactly the
// fields of spec §2.4), the command line at 0x1000, the kernel segments
// (their BSS cleared) and the initrd at the top of RAM. Other memory is
// assumed to be fresh (zero), as the Launcher's anonymous mapping is.
// Everything is checked before the first byte is written, so on error m is
// unchanged.
func Load(m *mem.Phys, img *Image, cfg Config) (entry uint32, err error) {
	if m == nil || img == nil {
		return 0, fmt.Errorf("load: nil memory or image: %w", ErrConfig)
	}
	ram := uint64(cfg.RAM)
	switch {
	case ram == 0 || ram%pageSize != 0:
		return 0, fmt.Errorf("load: RAM size %#x is not a positive multiple of the page size: %w", ram, ErrConfig)
	case ram > uint64(m.GuestLimit()):
		return 0, fmt.Errorf("load: RAM of %d bytes is larger than the %d bytes of guest memory: %w", ram, m.GuestLimit(), ErrConfig)
	case ram < reservedLowEnd:
		return 0, fmt.Errorf("load: RAM of %d bytes cannot hold the zero page and command line: %w", ram, ErrTooBig)
	}
	if len(cfg.Cmdline)+1 > CmdlineMax {
		return 0, fmt.Errorf("load: command line is %d bytes, the limit is %d plus the NUL (COMMAND_LINE_SIZE %d): %w",
			len(cfg.Cmdline), CmdlineMax-1, CmdlineMax, ErrCmdline)
	}
	// A bzImage states its own limit (hdr.cmdline_size, protocol >= 2.06,
	// without the NUL); a kernel with a smaller one would cut the line.
	if h := img.Setup; h != nil && h.Version >= 0x0206 && h.CmdlineSize > 0 && uint64(len(cfg.Cmdline)) > uint64(h.CmdlineSize) {
		return 0, fmt.Errorf("load: command line is %d bytes, the kernel accepts at most %d (cmdline_size): %w",
			len(cfg.Cmdline), h.CmdlineSize, ErrCmdline)
	}
	if i := bytes.IndexByte([]byte(cfg.Cmdline), 0); i >= 0 {
		return 0, fmt.Errorf("load: command line has a NUL byte at %d: %w", i, ErrCmdline)
	}

	// The initrd goes at the top of RAM, page-aligned (spec §2.2, §2.4).
	var initrd region
	if cfg.Initrd != nil {
		n := uint64(len(cfg.Initrd))
		switch {
		case n == 0:
			return 0, fmt.Errorf("load: initrd is empty: %w", ErrConfig)
		case n > uint64(imageLimit):
			return 0, fmt.Errorf("load: initrd is %d bytes, more than the %d MiB limit: %w", n, imageLimit>>20, ErrTooBig)
		case pageAlign(n) > ram-reservedLowEnd:
			return 0, fmt.Errorf("load: initrd of %d bytes does not fit in %d MiB of RAM: %w", n, ram>>20, ErrTooBig)
		}
		initrd = region{ram - pageAlign(n), ram, "initrd"}
	}

	low := region{ZeroPageAddr, reservedLowEnd, "zero page and command line"}
	for _, s := range img.Segments {
		seg := region{uint64(s.PAddr), s.End(), "kernel"}
		if uint64(len(s.Data)) > uint64(s.MemSize) {
			return 0, fmt.Errorf("load: %v segment has %d file bytes but MemSize %d: %w", seg, len(s.Data), s.MemSize, ErrMalformed)
		}
		if seg.end > ram {
			return 0, fmt.Errorf("load: %v does not fit in %d MiB of RAM: %w", seg, ram>>20, ErrTooBig)
		}
		if seg.overlaps(low) {
			return 0, fmt.Errorf("load: %v overlaps the %v: %w", seg, low, ErrOverlap)
		}
		if initrd.end != 0 && seg.overlaps(initrd) {
			return 0, fmt.Errorf("load: %v overlaps the %v (more RAM would move the initrd up): %w", seg, initrd, ErrOverlap)
		}
	}
	if err := checkDecompression(img, ram, initrd); err != nil {
		return 0, err
	}

	// All checks passed: write. mem's writes only fail outside physical
	// memory, which the checks above exclude, but say so if they ever do.
	w := writer{m: m}
	w.bytes(ZeroPageAddr, make([]byte, pageSize))
	w.u8(bpE820Entries, 1)
	w.u64(bpE820Map, 0)
	w.u64(bpE820Map+8, ram)
	w.u32(bpE820Map+16, E820RAM)
	w.u8(bpLoadflags, KeepSegments)
	w.u16(bpVersion, BootProtocol)
	w.u32(bpCmdLinePtr, CmdlineAddr)
	w.u32(bpKernelAlignment, KernelAlign)
	w.u32(bpHardwareSubarch, SubarchLguest)
	if initrd.end != 0 {
		// type_of_loader is set only with an initrd (spec §2.4).
		w.u8(bpTypeOfLoader, LoaderUnknown)
		w.u32(bpRamdiskImage, uint32(initrd.start))
		w.u32(bpRamdiskSize, uint32(initrd.end-initrd.start))
		w.bytes(uint32(initrd.start), cfg.Initrd)
		w.bytes(uint32(initrd.start)+uint32(len(cfg.Initrd)), make([]byte, initrd.end-initrd.start-uint64(len(cfg.Initrd))))
	}
	cl := make([]byte, CmdlineMax)
	copy(cl, cfg.Cmdline)
	w.bytes(CmdlineAddr, cl)
	for _, s := range img.Segments {
		w.bytes(s.PAddr, s.Data)
		if bss := s.MemSize - uint32(len(s.Data)); bss > 0 {
			w.zero(s.PAddr+uint32(len(s.Data)), bss)
		}
	}
	if w.err != nil {
		return 0, w.err
	}
	return img.Entry, nil
}

// checkDecompression checks that a bzImage's decompressor has room. The
// compressed kernel (arch/x86/boot/compressed/head_32.S) rounds its load
// address up to kernel_alignment (16 MiB, spec §2.4), or uses
// LOAD_PHYSICAL_ADDR (pref_address) if that is higher, and needs init_size
// bytes from there. Past RAM the guest dies ("bad page table entry"); over
// the initrd it silently corrupts it.
func checkDecompression(img *Image, ram uint64, initrd region) error {
	if img.Kind != KindBzImage || img.Setup == nil || img.Setup.InitSize == 0 {
		return nil
	}
	base := uint64((BzKernelAddr + KernelAlign - 1) &^ (KernelAlign - 1))
	if img.Setup.PrefAddress > base {
		base = img.Setup.PrefAddress
	}
	need := region{base, base + uint64(img.Setup.InitSize), "decompressed kernel"}
	if need.end > ram {
		return fmt.Errorf("load: the kernel decompresses to %v (init_size %d) but RAM is %d MiB: %w",
			need, img.Setup.InitSize, ram>>20, ErrTooBig)
	}
	if initrd.end != 0 && need.overlaps(initrd) {
		return fmt.Errorf("load: the %v overlaps the %v (give more RAM): %w", need, initrd, ErrOverlap)
	}
	return nil
}

// writer collects the first failed store.
type writer struct {
	m   *mem.Phys
	err error
}

func (w *writer) fail(ok bool, pa uint32, n uint64) {
	if !ok && w.err == nil {
		w.err = fmt.Errorf("load: write of %d bytes at %#x is outside physical memory: %w", n, pa, ErrConfig)
	}
}

func (w *writer) u8(pa uint32, v uint8)   { w.fail(w.m.Write8(pa, v), pa, 1) }
func (w *writer) u16(pa uint32, v uint16) { w.fail(w.m.Write16(pa, v), pa, 2) }
func (w *writer) u32(pa uint32, v uint32) { w.fail(w.m.Write32(pa, v), pa, 4) }
func (w *writer) u64(pa uint32, v uint64) { w.fail(w.m.Write64(pa, v), pa, 8) }
func (w *writer) bytes(pa uint32, b []byte) {
	w.fail(w.m.WriteBytes(pa, b), pa, uint64(len(b)))
}

// zero clears n bytes in bounded chunks, so a large BSS does not need a
// buffer of its size.
func (w *writer) zero(pa, n uint32) {
	var buf [64 << 10]byte
	for n > 0 {
		c := min(n, uint32(len(buf)))
		w.bytes(pa, buf[:c])
		pa += c
		n -= c
	}
}
