package boot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv/mem"
)

// wantZeroPage is the zero page spec §2.4 prescribes, built from the spec's
// table independently of Load: every other byte must be zero.
func wantZeroPage(ram uint32, initrdSize int) []byte {
	p := make([]byte, 4096)
	put := func(off int, size int, v uint64) {
		for i := 0; i < size; i++ {
			p[off+i] = byte(v >> (8 * i))
		}
	}
	put(0x1E8, 1, 1)           // e820_entries
	put(0x2D0, 8, 0)           // e820_map[0].addr
	put(0x2D8, 8, uint64(ram)) // e820_map[0].size
	put(0x2E0, 4, 1)           // e820_map[0].type = E820_RAM
	put(0x211, 1, 0x40)        // loadflags = KEEP_SEGMENTS
	put(0x206, 2, 0x0207)      // version
	put(0x228, 4, 0x1000)      // cmd_line_ptr
	put(0x230, 4, 0x01000000)  // kernel_alignment
	put(0x23C, 4, 1)           // hardware_subarch = lguest
	if initrdSize > 0 {
		aligned := (initrdSize + 4095) &^ 4095
		put(0x210, 1, 0xFF)                     // type_of_loader
		put(0x218, 4, uint64(int(ram)-aligned)) // ramdisk_image
		put(0x21C, 4, uint64(aligned))          // ramdisk_size, page-rounded
	}
	return p
}

// dirtyMem returns guest memory filled with 0xEE, so the test sees every
// byte Load is responsible for clearing.
func dirtyMem(t *testing.T, guest uint32) *mem.Phys {
	t.Helper()
	m, err := mem.New(guest, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Bytes() {
		m.Bytes()[i] = 0xEE
	}
	return m
}

func TestLoad(t *testing.T) {
	const ram = 32 << 20
	devPages := uint32(256 * 4096) // RAM is followed by device pages (spec §2.2)
	bz := bzSpec{payload: pattern(20000, 4), kver: "3.12.9"}.build()
	elfLinux := linuxLike(false).build()
	tests := []struct {
		name    string
		image   []byte
		cfg     Config
		entry   uint32
		written [][2]uint64 // kernel ranges [start, end) that must equal the segment (file part) / zero (BSS)
	}{
		{name: "bzImage no initrd", image: bz, cfg: Config{RAM: ram, Cmdline: "console=hvc0 earlyprintk"}, entry: 0x100000},
		{name: "bzImage with initrd", image: bz, cfg: Config{RAM: ram, Cmdline: "root=/dev/ram0", Initrd: pattern(5000, 8)}, entry: 0x100000},
		{name: "bzImage page-sized initrd", image: bz, cfg: Config{RAM: ram, Initrd: pattern(8192, 8)}, entry: 0x100000},
		{name: "empty command line", image: bz, cfg: Config{RAM: 64 << 20}, entry: 0x100000},
		{name: "command line at the kernel's cmdline_size", image: bzSpec{cmdlineSize: 255}.build(), cfg: Config{RAM: ram, Cmdline: strings.Repeat("y", 255)}, entry: 0x100000},
		{name: "longest command line", image: bz, cfg: Config{RAM: ram, Cmdline: strings.Repeat("x", 2047)}, entry: 0x100000},
		{name: "ELF vmlinux", image: elfLinux, cfg: Config{RAM: ram, Cmdline: "init=/bin/sh", Initrd: []byte{1}}, entry: 0x1000000},
		{name: "ELF just below the zero page limit", image: elfSpec{entry: 0x1800, segs: []elfSeg{
			{paddr: 0x1800, data: pattern(10, 1), memsz: 0x800}}}.build(), cfg: Config{RAM: ram}, entry: 0x1800},
		{name: "ELF up to the initrd", image: elfSpec{entry: ram - 0x2000, segs: []elfSeg{
			{paddr: ram - 0x2000, data: pattern(10, 1), memsz: 0x1000}}}.build(), cfg: Config{RAM: ram, Initrd: pattern(4096, 1)}, entry: ram - 0x2000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Parse(tc.image)
			if err != nil {
				t.Fatal(err)
			}
			m := dirtyMem(t, tc.cfg.RAM+devPages)
			entry, err := Load(m, img, tc.cfg)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if entry != tc.entry {
				t.Errorf("entry %#x, want %#x", entry, tc.entry)
			}
			b := m.Bytes()
			want := wantZeroPage(tc.cfg.RAM, len(tc.cfg.Initrd))
			for i := range want {
				if b[i] != want[i] {
					t.Errorf("zero page byte %#x = %#02x, want %#02x", i, b[i], want[i])
				}
			}
			// Command line at 0x1000, NUL-terminated, rest of the 2048 bytes clear.
			cl := make([]byte, 2048)
			copy(cl, tc.cfg.Cmdline)
			if !bytes.Equal(b[0x1000:0x1800], cl) {
				t.Errorf("command line area = %q...", b[0x1000:0x1040])
			}
			for _, s := range img.Segments {
				if !bytes.Equal(b[s.PAddr:s.PAddr+uint32(len(s.Data))], s.Data) {
					t.Errorf("segment at %#x not loaded", s.PAddr)
				}
				for a := s.PAddr + uint32(len(s.Data)); a < s.PAddr+s.MemSize; a++ {
					if b[a] != 0 {
						t.Fatalf("BSS byte %#x = %#x, want 0", a, b[a])
					}
				}
				if s.PAddr > 0x1800 && b[s.PAddr-1] != 0xEE {
					t.Errorf("byte before segment %#x was written", s.PAddr)
				}
				if end := s.PAddr + s.MemSize; uint64(end) < uint64(len(b)) && b[end] != 0xEE && tc.cfg.Initrd == nil {
					t.Errorf("byte after segment end %#x was written", end)
				}
			}
			if img.Kind == KindBzImage {
				// spec §2.3: the file from (setup_sects+1)*512 to EOF at 0x100000.
				n := len(img.Segments[0].Data)
				if got := b[0x100000 : 0x100000+n]; n == 0 || !bytes.Equal(got, tc.image[len(tc.image)-n:]) {
					t.Errorf("protected-mode part not at 0x100000")
				}
			}
			if n := len(tc.cfg.Initrd); n > 0 {
				aligned := uint32((n + 4095) &^ 4095)
				start := tc.cfg.RAM - aligned
				if !bytes.Equal(b[start:start+uint32(n)], tc.cfg.Initrd) {
					t.Errorf("initrd not at %#x", start)
				}
				for a := start + uint32(n); a < tc.cfg.RAM; a++ {
					if b[a] != 0 {
						t.Fatalf("initrd padding byte %#x = %#x", a, b[a])
					}
				}
				if b[start-1] != 0xEE && img.Segments[len(img.Segments)-1].End() != uint64(start) {
					t.Errorf("byte below the initrd written")
				}
			}
			// Nothing at or above RAM: the device pages belong to hv/virtio.
			for a := tc.cfg.RAM; a < tc.cfg.RAM+devPages; a++ {
				if b[a] != 0xEE {
					t.Fatalf("byte %#x at or above RAM was written", a)
				}
			}
			if got := binary.LittleEndian.Uint64(b[0x2D8:]); got != uint64(tc.cfg.RAM) {
				t.Errorf("e820 size %#x", got)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	const ram = 32 << 20
	bz := bzSpec{payload: pattern(4096, 4)}.build()
	elfAt := func(paddr, memsz uint32) []byte {
		return elfSpec{entry: paddr, segs: []elfSeg{{paddr: paddr, data: pattern(16, 1), memsz: memsz}}}.build()
	}
	tests := []struct {
		name  string
		image []byte
		guest uint32 // physical guest memory; default ram
		cfg   Config
		want  error
	}{
		{"command line 2048 bytes", bz, 0, Config{RAM: ram, Cmdline: strings.Repeat("x", 2048)}, ErrCmdline},
		{"command line over the kernel's cmdline_size", bzSpec{cmdlineSize: 255}.build(), 0, Config{RAM: ram, Cmdline: strings.Repeat("x", 256)}, ErrCmdline},
		{"command line with NUL", bz, 0, Config{RAM: ram, Cmdline: "a\x00b"}, ErrCmdline},
		{"RAM not a page multiple", bz, 0, Config{RAM: ram - 1}, ErrConfig},
		{"RAM zero", bz, 0, Config{}, ErrConfig},
		{"RAM above guest memory", bz, ram, Config{RAM: ram + 4096}, ErrConfig},
		{"empty initrd", bz, 0, Config{RAM: ram, Initrd: []byte{}}, ErrConfig},
		{"initrd larger than RAM", bz, 0, Config{RAM: ram, Initrd: make([]byte, ram)}, ErrTooBig},
		{"bzImage over the initrd", bz, 0, Config{RAM: ram, Initrd: make([]byte, ram-0x100000-100)}, ErrOverlap},
		{"bzImage beyond RAM", bzSpec{payload: pattern(0x100000, 1)}.build(), 0x200000, Config{RAM: 0x1FF000}, ErrTooBig},
		{"ELF beyond RAM", elfAt(ram-0x1000, 0x2000), 0, Config{RAM: ram}, ErrTooBig},
		{"ELF over the zero page", elfAt(0, 0x100), 0, Config{RAM: ram}, ErrOverlap},
		{"ELF over the command line", elfAt(0x17FF, 0x100), 0, Config{RAM: ram}, ErrOverlap},
		{"ELF BSS over the initrd", elfAt(ram-0x3000, 0x2001), 0, Config{RAM: ram, Initrd: make([]byte, 0x1001)}, ErrOverlap},
		{"decompression beyond RAM", bzSpec{initSize: 17 << 20}.build(), 0, Config{RAM: ram}, ErrTooBig},
		{"decompression at pref_address beyond RAM", bzSpec{initSize: 2 << 20, prefAddr: 31 << 20}.build(), 0, Config{RAM: ram}, ErrTooBig},
		{"decompression over the initrd", bzSpec{initSize: 15 << 20}.build(), 0, Config{RAM: ram, Initrd: make([]byte, 2<<20)}, ErrOverlap},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Parse(tc.image)
			if err != nil {
				t.Fatal(err)
			}
			guest := tc.guest
			if guest == 0 {
				guest = ram
			}
			m := dirtyMem(t, guest)
			_, err = Load(m, img, tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Load: err = %v, want %v", err, tc.want)
			}
			checkOneLine(t, err)
			for i, c := range m.Bytes() {
				if c != 0xEE {
					t.Fatalf("failed Load wrote byte %#x", i)
				}
			}
		})
	}
	if _, err := Load(nil, nil, Config{RAM: ram}); !errors.Is(err, ErrConfig) {
		t.Errorf("Load(nil, nil) = %v, want ErrConfig", err)
	}
}

// TestLoadDecompressionFits is the positive side of the init_size check: a
// kernel whose footprint at 16 MiB ends exactly at the initrd loads.
func TestLoadDecompressionFits(t *testing.T) {
	const ram = 32 << 20
	img, err := Parse(bzSpec{initSize: 14 << 20}.build())
	if err != nil {
		t.Fatal(err)
	}
	m, err := mem.New(ram, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(m, img, Config{RAM: ram, Initrd: make([]byte, 2<<20)}); err != nil {
		t.Fatalf("Load: %v", err)
	}
}

// BenchmarkLoad measures Parse+Load of an 8 MiB bzImage (a typical 3.x
// kernel size) with a 4 MiB initrd into 64 MiB of RAM.
func BenchmarkLoad(b *testing.B) {
	const ram = 64 << 20
	image := bzSpec{payload: pattern(8<<20, 1)}.build()
	initrd := pattern(4<<20, 2)
	m, err := mem.New(ram, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(image) + len(initrd)))
	for b.Loop() {
		img, err := Parse(image)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Load(m, img, Config{RAM: ram, Cmdline: "console=hvc0", Initrd: initrd}); err != nil {
			b.Fatal(err)
		}
	}
}
