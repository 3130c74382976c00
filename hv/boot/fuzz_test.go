package boot

import (
	"errors"
	"testing"

	"github.com/lgdbg/lgdbg/hv/mem"
)

// fuzzRAM is small so every fuzz iteration can also run Load.
const fuzzRAM = 4 << 20

var fuzzMem *mem.Phys

// FuzzParse checks that no input makes Parse (or Load of what Parse
// accepted) panic, that every error wraps a sentinel, and that accepted
// images keep Parse's invariants. Seeds: the synthetic images of the other
// tests, plus testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	gz32 := gzipped(elfHeaderOnly(elfClass32, em386))
	seeds := [][]byte{
		bzSpec{}.build(),
		bzSpec{version: 0x0207, zeroSects: true, marker: "LGDBGPAE", kver: "3.12.9"}.build(),
		bzSpec{version: 0x0208, payload: gz32, payloadLen: uint32(len(gz32))}.build(),
		bzSpec{version: 0x020C, xload: 1}.build(),
		bzSpec{payload: pattern(64, 1), initSize: 1 << 20}.build(),
		linuxLike(false).build(),
		linuxLike(true).build(),
		elfSpec{entry: 0x100000, segs: []elfSeg{{paddr: 0x100000, data: pattern(32, 1), memsz: 64}}}.build(),
		elfSpec{class: elfClass64, machine: emX86_64}.build(),
		[]byte("\x7fELF"),
		nil,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	sentinels := []error{ErrNotKernel, ErrTruncated, ErrProtocolTooOld, Err64Bit, ErrUnsupported, ErrMalformed, ErrTooBig,
		ErrOverlap, ErrCmdline, ErrConfig}
	isSentinel := func(err error) bool {
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return true
			}
		}
		return false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Parse(data)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		inEntry := false
		for i, s := range img.Segments {
			if uint64(len(s.Data)) > uint64(s.MemSize) || s.End() > 1<<32 {
				t.Fatalf("segment %d: %d file bytes, MemSize %d at %#x", i, len(s.Data), s.MemSize, s.PAddr)
			}
			if i > 0 && uint64(s.PAddr) < img.Segments[i-1].End() {
				t.Fatalf("segments %d and %d overlap", i-1, i)
			}
			inEntry = inEntry || (img.Entry >= s.PAddr && uint64(img.Entry) < s.End())
		}
		if !inEntry {
			t.Fatalf("entry %#x outside the segments", img.Entry)
		}
		for i := 1; i < len(img.Symbols); i++ {
			if img.Symbols[i-1].Value > img.Symbols[i].Value {
				t.Fatalf("symbols unsorted at %d", i)
			}
		}
		if fuzzMem == nil {
			if fuzzMem, err = mem.New(fuzzRAM, 0); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := Load(fuzzMem, img, Config{RAM: fuzzRAM, Cmdline: "console=hvc0", Initrd: data[:len(data)%5000]}); err != nil && !isSentinel(err) {
			t.Fatalf("Load error %v wraps no sentinel", err)
		}
	})
}
