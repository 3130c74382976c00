package boot

import (
	"bytes"
	"debug/elf"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv/mem"
)

func TestParseBzImage(t *testing.T) {
	payload := pattern(8192, 3)
	gz32 := append(gzipped(elfHeaderOnly(elfClass32, em386)), pattern(100, 1)...)
	gz64 := gzipped(elfHeaderOnly(elfClass64, emX86_64))
	tests := []struct {
		name        string
		spec        bzSpec
		wantErr     error
		wantProto   uint16
		wantEntry   uint32
		wantKernel  []byte // nil: spec.payload
		wantPAE     PAEHint
		wantVersion string
		wantComp    string
		wantWarn    bool
	}{
		{name: "protocol 2.07", spec: bzSpec{version: 0x0207, payload: payload}, wantProto: 0x0207, wantEntry: 0x100000},
		{name: "protocol 2.10", spec: bzSpec{payload: payload, kver: "3.12.9 (me@host) #1 SMP"}, wantProto: 0x020A, wantEntry: 0x100000,
			wantVersion: "3.12.9 (me@host) #1 SMP"},
		{name: "protocol 2.12 32-bit", spec: bzSpec{version: 0x020C, payload: payload, xload: 0x2}, wantProto: 0x020C, wantEntry: 0x100000},
		{name: "xloadflags ignored before 2.12", spec: bzSpec{version: 0x020B, payload: payload, xload: 1}, wantProto: 0x020B, wantEntry: 0x100000},
		{name: "setup_sects 0 means 4", spec: bzSpec{zeroSects: true, payload: payload}, wantProto: 0x020A, wantEntry: 0x100000},
		{name: "max setup_sects", spec: bzSpec{setupSects: 255, payload: payload}, wantProto: 0x020A, wantEntry: 0x100000},
		{name: "unpadded last paragraph", spec: bzSpec{payload: payload, cut: 15}, wantProto: 0x020A, wantEntry: 0x100000},
		{name: "syssize 0 is not checked", spec: bzSpec{syssize: -1, payload: payload}, wantProto: 0x020A, wantEntry: 0x100000},
		{name: "code32_start inside payload", spec: bzSpec{payload: payload, code32: 0x100200}, wantProto: 0x020A, wantEntry: 0x100200},
		{name: "PAE marker", spec: bzSpec{marker: "LGDBGPAE"}, wantProto: 0x020A, wantEntry: 0x100000, wantPAE: PAEYes},
		{name: "non-PAE marker", spec: bzSpec{marker: "LGDBGNOP"}, wantProto: 0x020A, wantEntry: 0x100000, wantPAE: PAENo},
		{name: "gzip 32-bit payload", spec: bzSpec{version: 0x0208, payload: gz32, payloadLen: uint32(len(gz32))},
			wantProto: 0x0208, wantEntry: 0x100000, wantComp: "gzip"},
		{name: "xz payload named", spec: bzSpec{payload: append([]byte("\xfd7zXZ\x00"), pattern(64, 0)...), payloadOff: 0, payloadLen: 70},
			wantProto: 0x020A, wantEntry: 0x100000, wantComp: "xz"},
		{name: "payload beyond file is a warning", spec: bzSpec{payload: payload, payloadOff: 8000, payloadLen: 1000},
			wantProto: 0x020A, wantEntry: 0x100000, wantWarn: true},
		{name: "control bytes cut from version", spec: bzSpec{kver: "4.0\x1b[31m"}, wantProto: 0x020A, wantEntry: 0x100000, wantVersion: "4.0"},

		{name: "protocol 2.06", spec: bzSpec{version: 0x0206}, wantErr: ErrProtocolTooOld},
		{name: "protocol 2.00", spec: bzSpec{version: 0x0200}, wantErr: ErrProtocolTooOld},
		{name: "64-bit xloadflags", spec: bzSpec{version: 0x020D, xload: 0xB}, wantErr: Err64Bit},
		{name: "64-bit gzip payload", spec: bzSpec{version: 0x0208, payload: gz64, payloadLen: uint32(len(gz64))}, wantErr: Err64Bit},
		{name: "setup cut short", spec: bzSpec{setupSects: 30, payload: []byte{}}, wantErr: ErrTruncated},
		{name: "2 setup sectors, no kernel", spec: bzSpec{setupSects: 2, payload: []byte{}, syssize: -1,
			marker: ""}, wantErr: ErrTruncated},
		{name: "no protected-mode part", spec: bzSpec{payload: []byte{}, syssize: -1}, wantErr: ErrTruncated},
		{name: "syssize beyond file", spec: bzSpec{payload: payload, cut: 16}, wantErr: ErrTruncated},
		{name: "syssize explicit beyond file", spec: bzSpec{payload: payload, syssize: 8192/16 + 2}, wantErr: ErrTruncated},
		{name: "entry outside payload", spec: bzSpec{payload: payload, code32: 0x200000}, wantErr: ErrMalformed},
		{name: "bad marker", spec: bzSpec{marker: "LGDBGXYZ"}, wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.spec.build()
			img, err := Parse(data)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Parse: err = %v, want %v", err, tc.wantErr)
				}
				checkOneLine(t, err)
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if img.Kind != KindBzImage || img.ProtocolVersion != tc.wantProto || img.Entry != tc.wantEntry {
				t.Errorf("kind %v proto %#x entry %#x, want bzImage %#x %#x", img.Kind, img.ProtocolVersion, img.Entry, tc.wantProto, tc.wantEntry)
			}
			sects := int(data[0x1F1])
			if sects == 0 {
				sects = 4
			}
			want := tc.wantKernel
			if want == nil {
				want = data[(sects+1)*512:]
			}
			if len(img.Segments) != 1 {
				t.Fatalf("%d segments, want 1", len(img.Segments))
			}
			s := img.Segments[0]
			if s.PAddr != 0x100000 || !bytes.Equal(s.Data, want) || s.MemSize != uint32(len(want)) {
				t.Errorf("segment at %#x, %d bytes (mem %d), want 0x100000 and the %d bytes after the setup sectors",
					s.PAddr, len(s.Data), s.MemSize, len(want))
			}
			if img.PAE != tc.wantPAE || img.KernelVersion != tc.wantVersion || img.Compression != tc.wantComp || img.Symbols != nil {
				t.Errorf("PAE %v version %q compression %q symbols %d; want %v %q %q none",
					img.PAE, img.KernelVersion, img.Compression, len(img.Symbols), tc.wantPAE, tc.wantVersion, tc.wantComp)
			}
			if (len(img.Warnings) > 0) != tc.wantWarn {
				t.Errorf("warnings %q, want some: %v", img.Warnings, tc.wantWarn)
			}
			if img.Setup == nil || img.Setup.SetupSects != data[0x1F1] || img.Setup.Loadflags != 1 {
				t.Errorf("setup header %+v", img.Setup)
			}
		})
	}
}

func checkOneLine(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); strings.Contains(msg, "\n") || msg == "" {
		t.Errorf("error %q is not one line", msg)
	}
}

func TestParseNotKernel(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotKernel},
		{"text", []byte("#!/bin/sh\necho hi\n"), ErrNotKernel},
		{"HdrS too early", append(make([]byte, 0x100), "HdrS"...), ErrNotKernel},
		{"HdrS cut", append(make([]byte, 0x202), "Hdr"...), ErrNotKernel},
		{"zeros", make([]byte, 8192), ErrNotKernel},
		{"HdrS without version", append(make([]byte, 0x202), "HdrS"...), ErrTruncated},
		{"bare HdrS header", append(make([]byte, 0x202), "HdrS\x07\x02"...), ErrTruncated},
		{"ELF magic only", []byte("\x7fELF"), ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.data); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestImageLimit checks the absurd-size refusal of Parse and Load with the
// limit lowered to 1 MiB (the real 1 GiB would cost 1 GiB of test memory).
func TestImageLimit(t *testing.T) {
	defer func(old int) { imageLimit = old }(imageLimit)
	imageLimit = 1 << 20
	for _, data := range [][]byte{
		elfSpec{entry: 0x100000, segs: []elfSeg{{paddr: 0x100000, data: pattern(1<<20, 1)}}}.build(),
		bzSpec{payload: pattern(1<<20, 1)}.build(),
		append([]byte("garbage"), make([]byte, 1<<20)...),
	} {
		if _, err := Parse(data); !errors.Is(err, ErrTooBig) || !strings.Contains(err.Error(), "limit") {
			t.Errorf("Parse of %d bytes: err = %v, want ErrTooBig", len(data), err)
		}
	}
	img, err := Parse(bzSpec{}.build())
	if err != nil {
		t.Fatal(err)
	}
	m, err := mem.New(32<<20, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(m, img, Config{RAM: 32 << 20, Initrd: make([]byte, 1<<20+1)}); !errors.Is(err, ErrTooBig) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("Load with a 1 MiB+1 initrd: err = %v, want ErrTooBig", err)
	}
	if _, err := Load(m, img, Config{RAM: 32 << 20, Initrd: make([]byte, 1<<20)}); err != nil {
		t.Errorf("Load with a 1 MiB initrd: %v", err)
	}
}

func TestParseELF(t *testing.T) {
	type mut func([]byte) []byte
	set16 := func(off int, v uint16) mut { return func(b []byte) []byte { le.PutUint16(b[off:], v); return b } }
	set32 := func(off int, v uint32) mut { return func(b []byte) []byte { le.PutUint32(b[off:], v); return b } }
	ph := func(i, field int) int { return elf32EhSize + i*elf32PhSize + field } // first phdr follows the header
	one := func(e elfSpec) elfSpec { return e }
	simple := elfSpec{entry: 0x100000, segs: []elfSeg{{vaddr: 0x100000, paddr: 0x100000, data: pattern(100, 2), memsz: 0x2000}}}
	tests := []struct {
		name      string
		spec      elfSpec
		mutate    mut
		wantErr   error
		wantPAE   PAEHint
		wantSegs  int
		wantVer   string
		wantWarn  bool
		wantSyms  bool
		wantEntry uint32
	}{
		{name: "vmlinux-like non-PAE", spec: linuxLike(false), wantPAE: PAENo, wantSegs: 2, wantSyms: true,
			wantVer: "Linux version 3.12.9-lgdbg (test@host) #1", wantEntry: 0x1000000},
		{name: "vmlinux-like PAE", spec: linuxLike(true), wantPAE: PAEYes, wantSegs: 2, wantSyms: true,
			wantVer: "Linux version 3.12.9-lgdbg (test@host) #1", wantEntry: 0x1000000},
		{name: "no symtab", spec: simple, wantPAE: PAEUnknown, wantSegs: 1, wantEntry: 0x100000},
		{name: "empty symtab", spec: func() elfSpec { e := simple; e.symtab = true; return e }(), wantPAE: PAENo, wantSegs: 1,
			wantSyms: false, wantEntry: 0x100000},
		{name: "segments out of order are sorted", spec: elfSpec{entry: 0x200010, segs: []elfSeg{
			{vaddr: 0x200000, paddr: 0x200000, data: pattern(64, 1)},
			{vaddr: 0x100000, paddr: 0x100000, data: pattern(64, 2)},
			{vaddr: 0x300000, paddr: 0x300000, memsz: 0x1000}, // pure BSS
			{vaddr: 0x400000, paddr: 0x400000},                // empty: skipped
		}}, wantSegs: 3, wantEntry: 0x200010},
		{name: "bad section headers cost only symbols", spec: linuxLike(true), mutate: set16(46, 64), wantPAE: PAEUnknown,
			wantSegs: 2, wantWarn: true, wantEntry: 0x1000000},
		{name: "section table past EOF", spec: linuxLike(true), mutate: set32(32, 0x7FFFFFF0), wantPAE: PAEUnknown,
			wantSegs: 2, wantWarn: true, wantEntry: 0x1000000},
		{name: "phnum 2048 allowed", spec: one(simple), mutate: func(b []byte) []byte {
			// 2047 more PT_NULL headers appended at the end of the file.
			off := len(b)
			b = append(b, make([]byte, 2048*elf32PhSize)...)
			copy(b[off:], b[elf32EhSize:elf32EhSize+elf32PhSize])
			le.PutUint32(b[28:], uint32(off))
			le.PutUint16(b[44:], 2048)
			return b
		}, wantSegs: 1, wantEntry: 0x100000},

		{name: "ELFCLASS64", spec: elfSpec{class: elfClass64, machine: emX86_64}, wantErr: Err64Bit},
		{name: "ELFCLASS64 aarch64", spec: elfSpec{class: elfClass64, machine: 183}, wantErr: Err64Bit},
		{name: "x32", spec: elfSpec{machine: emX86_64, entry: 0x100000, segs: simple.segs}, wantErr: Err64Bit},
		{name: "ARM", spec: elfSpec{machine: 40, entry: 0x100000, segs: simple.segs}, wantErr: ErrUnsupported},
		{name: "ET_DYN", spec: elfSpec{typ: 3, entry: 0x100000, segs: simple.segs}, wantErr: ErrUnsupported},
		{name: "ET_REL", spec: elfSpec{typ: 1, entry: 0x100000, segs: simple.segs}, wantErr: ErrUnsupported},
		{name: "big-endian", spec: elfSpec{data: 2, entry: 0x100000, segs: simple.segs}, wantErr: ErrUnsupported},
		{name: "class 0", spec: elfSpec{class: 3}, wantErr: ErrMalformed},
		{name: "header cut", spec: simple, mutate: func(b []byte) []byte { return b[:40] }, wantErr: ErrTruncated},
		{name: "e_phentsize 56", spec: simple, mutate: set16(42, 56), wantErr: ErrMalformed},
		{name: "e_phnum 0", spec: simple, mutate: set16(44, 0), wantErr: ErrMalformed},
		{name: "e_phnum 2049", spec: simple, mutate: set16(44, 2049), wantErr: ErrMalformed},
		{name: "program headers past EOF", spec: simple, mutate: set32(28, 0xFFFFFFF0), wantErr: ErrTruncated},
		{name: "program headers cut", spec: simple, mutate: set16(44, 40), wantErr: ErrTruncated},
		{name: "segment past EOF", spec: simple, mutate: func(b []byte) []byte {
			le.PutUint32(b[ph(0, 16):], 0x10000)
			le.PutUint32(b[ph(0, 20):], 0x10000)
			return b
		}, wantErr: ErrTruncated},
		{name: "segment offset wraps", spec: simple, mutate: set32(ph(0, 4), 0xFFFFFFFF), wantErr: ErrTruncated},
		{name: "filesz > memsz", spec: simple, mutate: set32(ph(0, 20), 10), wantErr: ErrMalformed},
		{name: "segment past 4 GiB", spec: simple, mutate: func(b []byte) []byte {
			le.PutUint32(b[ph(0, 12):], 0xFFFFF000)
			le.PutUint32(b[24:], 0xFFFFF000)
			return b
		}, wantErr: ErrTooBig},
		{name: "no PT_LOAD", spec: simple, mutate: set32(ph(0, 0), 4), wantErr: ErrMalformed},
		{name: "overlapping segments", spec: elfSpec{entry: 0x100000, segs: []elfSeg{
			{paddr: 0x100000, data: pattern(64, 1), memsz: 0x1000},
			{paddr: 0x100800, data: pattern(64, 2)},
		}}, wantErr: ErrMalformed},
		{name: "virtual entry point", spec: func() elfSpec { e := linuxLike(false); e.entry = 0xC1000000; return e }(), wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.spec.build()
			if tc.mutate != nil {
				data = tc.mutate(data)
			}
			img, err := Parse(data)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Parse: err = %v, want %v", err, tc.wantErr)
				}
				checkOneLine(t, err)
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if img.Kind != KindELF || img.Entry != tc.wantEntry || img.PAE != tc.wantPAE || img.KernelVersion != tc.wantVer {
				t.Errorf("kind %v entry %#x PAE %v version %q; want ELF %#x %v %q", img.Kind, img.Entry, img.PAE, img.KernelVersion,
					tc.wantEntry, tc.wantPAE, tc.wantVer)
			}
			if len(img.Segments) != tc.wantSegs {
				t.Fatalf("%d segments, want %d", len(img.Segments), tc.wantSegs)
			}
			if (len(img.Warnings) > 0) != tc.wantWarn || (len(img.Symbols) > 0) != tc.wantSyms {
				t.Errorf("warnings %q symbols %d; want warnings %v symbols %v", img.Warnings, len(img.Symbols), tc.wantWarn, tc.wantSyms)
			}
			if tc.wantWarn {
				return // debug/elf refuses the broken section tables of these cases
			}
			checkSegmentsAgainstDebugELF(t, data, img)
			if tc.wantSyms {
				checkSymbolsAgainstDebugELF(t, data, img)
			}
		})
	}
}

// checkSegmentsAgainstDebugELF compares Parse's segments with the standard
// library's reading of the same file.
func checkSegmentsAgainstDebugELF(t *testing.T, data []byte, img *Image) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("debug/elf cannot read the test image: %v", err)
	}
	var want []Segment
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Memsz == 0 {
			continue
		}
		want = append(want, Segment{PAddr: uint32(p.Paddr), VAddr: uint32(p.Vaddr), Data: data[p.Off : p.Off+p.Filesz], MemSize: uint32(p.Memsz)})
	}
	sort.Slice(want, func(i, j int) bool { return want[i].PAddr < want[j].PAddr })
	if len(want) != len(img.Segments) {
		t.Fatalf("debug/elf sees %d loadable segments, Parse %d", len(want), len(img.Segments))
	}
	for i, w := range want {
		g := img.Segments[i]
		if g.PAddr != w.PAddr || g.VAddr != w.VAddr || g.MemSize != w.MemSize || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("segment %d: got %#x/%#x mem %#x (%d bytes), debug/elf %#x/%#x mem %#x (%d bytes)",
				i, g.PAddr, g.VAddr, g.MemSize, len(g.Data), w.PAddr, w.VAddr, w.MemSize, len(w.Data))
		}
	}
}

func checkSymbolsAgainstDebugELF(t *testing.T, data []byte, img *Image) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := f.Symbols()
	if err != nil {
		t.Fatalf("debug/elf symbols: %v", err)
	}
	want := map[string]Symbol{}
	for _, s := range ss {
		typ := elf.ST_TYPE(s.Info)
		if s.Section == elf.SHN_UNDEF || s.Name == "" || (typ != elf.STT_FUNC && typ != elf.STT_OBJECT && typ != elf.STT_NOTYPE) {
			continue
		}
		b := elf.ST_BIND(s.Info)
		st := map[elf.SymType]SymType{elf.STT_FUNC: SymFunc, elf.STT_OBJECT: SymObject, elf.STT_NOTYPE: SymNoType}[typ]
		want[s.Name] = Symbol{Name: s.Name, Value: uint32(s.Value), Size: uint32(s.Size), Type: st,
			Global: b == elf.STB_GLOBAL || b == elf.STB_WEAK}
	}
	if len(want) != len(img.Symbols) {
		t.Errorf("debug/elf has %d symbols, Parse %d", len(want), len(img.Symbols))
	}
	for i, s := range img.Symbols {
		if want[s.Name] != s {
			t.Errorf("symbol %+v, debug/elf says %+v", s, want[s.Name])
		}
		if i > 0 && img.Symbols[i-1].Value > s.Value {
			t.Errorf("symbols not sorted at %d", i)
		}
	}
}

func TestSymbolAt(t *testing.T) {
	img, err := Parse(linuxLike(false).build())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr uint32
		name string
		off  uint32
		ok   bool
	}{
		{0xBFFFFFFF, "", 0, false},
		{0xC1000000, "_text", 0, true}, // two NOTYPE globals at one address: by name
		{0xC1000010, "_text", 0x10, true},
		{0xC1000100, "lguest_entry", 0, true},
		{0xC1000185, "local_helper", 5, true},
		{0xC1000200, "lguest_init", 0, true},
		{0xC1004003, "linux_banner", 3, true},
		{0xC1004800, "jiffies", 0, true},
		{0xC1005004, "initial_page_table", 4, true},
	}
	for _, tc := range tests {
		s, off, ok := img.SymbolAt(tc.addr)
		if ok != tc.ok || s.Name != tc.name || off != tc.off {
			t.Errorf("SymbolAt(%#x) = %q+%#x %v, want %q+%#x %v", tc.addr, s.Name, off, ok, tc.name, tc.off, tc.ok)
		}
	}
	if s, ok := img.SymbolByName("lguest_init"); !ok || s.Value != 0xC1000200 || s.Type != SymFunc || !s.Global {
		t.Errorf("SymbolByName(lguest_init) = %+v %v", s, ok)
	}
	if _, ok := img.SymbolByName("printk"); ok {
		t.Errorf("undefined symbol printk was kept")
	}
}
