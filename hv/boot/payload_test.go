package boot

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files in testdata/payload are one small vmlinux-like ELF (linked at
// 0xc1000000, loaded at 0x01000000) compressed by the real tools with the
// kernel's own flags (testdata/payload/gen.sh).
var wantPayload = []PayloadSegment{
	{VAddr: 0xc1000000, PAddr: 0x01000000, MemSize: 0x22f3, Exec: true},
	{VAddr: 0xc1003000, PAddr: 0x01003000, MemSize: 0x10},
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "payload", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPayloadFormats(t *testing.T) {
	for _, tc := range []struct{ file, format string }{
		{"vmlinux.bin", "ELF"},
		{"vmlinux.bin.gz", "gzip"},
		{"vmlinux.bin.bz2", "bzip2"},
		{"vmlinux.bin.lzma", "lzma"},
		{"vmlinux.bin.xz", "xz"},
		{"vmlinux.bin.lz4", "lz4"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			pl, err := readPayload(readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if pl.Format != tc.format || pl.Note != "" || pl.Entry != 0x01000000 {
				t.Fatalf("format %q note %q entry %#x; want %q, no note, entry 0x1000000", pl.Format, pl.Note, pl.Entry, tc.format)
			}
			if len(pl.Segments) != len(wantPayload) {
				t.Fatalf("segments %+v, want %+v", pl.Segments, wantPayload)
			}
			for i := range wantPayload {
				if pl.Segments[i] != wantPayload[i] {
					t.Errorf("segment %d: %+v, want %+v", i, pl.Segments[i], wantPayload[i])
				}
			}
		})
	}
}

// The whole of the xz file decodes to vmlinux.bin: this checks the BCJ x86
// decoder on 1200 filtered call instructions, not only on the ELF header.
func TestPayloadXZBCJWhole(t *testing.T) {
	want := readTestdata(t, "vmlinux.bin")
	r, err := newXZBlockReader(readTestdata(t, "vmlinux.bin.xz"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	x := r.(*xzBlockReader)
	if !x.bcj {
		t.Fatal("the kernel's xz payload uses BCJ x86; the reader did not see the filter")
	}
	if bytes.Equal(got, want) {
		t.Fatal("LZMA2 output already equals the input: the test cannot tell whether BCJ decoding works")
	}
	bcjX86Decode(got, x.bcjStart)
	if !bytes.Equal(got, want) {
		n := 0
		for n < len(got) && n < len(want) && got[n] == want[n] {
			n++
		}
		t.Fatalf("decoded %d bytes, want %d; first difference at %#x", len(got), len(want), n)
	}
}

func TestPayloadNotes(t *testing.T) {
	gz := readTestdata(t, "vmlinux.bin.gz")
	xz := readTestdata(t, "vmlinux.bin.xz")
	badCRC := append([]byte(nil), xz...)
	badCRC[7] ^= 1
	for _, tc := range []struct {
		name, format, note string
		data               []byte
	}{
		{"lzo", "lzo", "lzo payload: not supported by lgdbg", append([]byte("\x89LZO\x00\r\n\x1a\n"), pattern(64, 1)...)},
		{"zstd", "zstd", "zstd payload: not supported", []byte("\x28\xb5\x2f\xfd" + strings.Repeat("x", 40))},
		{"unknown", "", "payload format not recognised", pattern(100, 7)},
		{"gzip cut short", "gzip", "gzip payload: unexpected EOF", gz[:20]},
		{"xz header CRC", "xz", "xz stream header CRC mismatch", badCRC},
		{"not ELF", "gzip", "does not start with an ELF header", gzipped(pattern(4096, 9))},
		{"header only", "gzip", "0 program headers", gzipped(elfHeaderOnly(elfClass32, em386))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl, err := readPayload(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if pl.Format != tc.format || !strings.Contains(pl.Note, tc.note) || pl.Segments != nil {
				t.Fatalf("format %q note %q segments %v; want %q with a note containing %q", pl.Format, pl.Note, pl.Segments, tc.format, tc.note)
			}
			if strings.Contains(pl.Note, "\n") {
				t.Errorf("note %q is more than one line", pl.Note)
			}
		})
	}
}

// A payload claiming gigabytes is read no further than maxPayloadPrefix:
// the ELF's program headers lie beyond it, so the layout is unknown, and
// the dictionaries lzma and xz headers ask for are not allocated.
func TestPayloadBounded(t *testing.T) {
	// phoff far beyond the prefix lgdbg reads.
	e := elfHeaderOnly(elfClass32, em386)
	e[28], e[29], e[30], e[31] = 0, 0, 0, 0x40 // phoff = 1 GiB
	e[42], e[44] = elf32PhSize, 1
	big := append(e, make([]byte, 3<<20)...)
	pl, err := readPayload(gzipped(big))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pl.Note, "beyond the 1048576 bytes") {
		t.Fatalf("note %q, want the program headers out of reach", pl.Note)
	}
	// An lzma header asking for a 4 GiB dictionary still decodes (bytes 1
	// and 2 stay zero: they are part of the magic the kernel's lzma uses).
	lz := append([]byte(nil), readTestdata(t, "vmlinux.bin.lzma")...)
	lz[3], lz[4] = 0xFF, 0xFF
	pl, err = readPayload(lz)
	if err != nil || pl.Note != "" || len(pl.Segments) != 2 {
		t.Fatalf("lzma with a 4 GiB dictionary: %v, %+v", err, pl)
	}
}

func BenchmarkPayloadXZ(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "payload", "vmlinux.bin.xz"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := readPayload(data); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzReadPayload: no payload makes the decoders panic or read without
// bound.
func FuzzReadPayload(f *testing.F) {
	for _, n := range []string{"vmlinux.bin.gz", "vmlinux.bin.bz2", "vmlinux.bin.lzma", "vmlinux.bin.xz", "vmlinux.bin.lz4"} {
		b, err := os.ReadFile(filepath.Join("testdata", "payload", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		readPayload(data)
	})
}
