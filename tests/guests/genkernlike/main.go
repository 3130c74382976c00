// Command genkernlike writes the kernlike guest's compressed payload and the
// reference values it checks its inflater against. The Makefile runs it at
// build time: the DEFLATE stream comes from Go's compress/flate and the
// CRC-32 from hash/crc32, so the guest's C inflater is checked against an
// independent implementation, never against numbers typed by hand.
//
// The data imitates what a kernel decompressor inflates: i386 code (prologues,
// calls with near targets, register moves, immediates), printk-style text, and
// tables (structs with counting fields, zero-filled pages). It is generated
// from a fixed xorshift seed, so every build yields the same bytes.
//
// Usage:
//
//	genkernlike -bytes 2097152 -o build/kernlike.deflate -h build/kernlike_expect.h
package main

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"strings"
)

// rng is xorshift32: tiny, and its sequence never depends on the Go version.
type rng uint32

func (r *rng) next() uint32 {
	x := uint32(*r)
	x ^= x << 13
	x ^= x >> 17
	x ^= x << 5
	*r = rng(x)
	return x
}

func (r *rng) intn(n int) int { return int(r.next() % uint32(n)) }

// code appends about n bytes of i386-like machine code.
func code(b *bytes.Buffer, r *rng, n int) {
	regs := []byte{0xc0, 0xc1, 0xc2, 0xc3, 0xc6, 0xc7, 0xd0, 0xd8, 0xd9, 0xf8}
	end := b.Len() + n
	for b.Len() < end {
		// A function: prologue, a body of common forms, epilogue.
		b.Write([]byte{0x55, 0x89, 0xe5, 0x57, 0x56, 0x53})
		if r.intn(2) == 0 {
			b.Write([]byte{0x83, 0xec, byte(4 * (1 + r.intn(8)))})
		}
		for k := 4 + r.intn(40); k > 0; k-- {
			switch r.intn(10) {
			case 0, 1: // mov disp8(%ebp), reg
				b.Write([]byte{0x8b, byte(0x45 + 8*r.intn(8)), byte(8 + 4*r.intn(6))})
			case 2: // mov reg, reg
				b.Write([]byte{0x89, regs[r.intn(len(regs))]})
			case 3: // call rel32 to a nearby function
				b.WriteByte(0xe8)
				binary.Write(b, binary.LittleEndian, int32(-r.intn(1<<16)))
			case 4: // mov $imm32, reg (kernel addresses)
				b.WriteByte(byte(0xb8 + r.intn(8)))
				binary.Write(b, binary.LittleEndian, uint32(0xc0100000+r.intn(1<<20)&^3))
			case 5: // test/jcc
				b.Write([]byte{0x85, 0xc0, byte(0x74 + r.intn(2)), byte(r.intn(64))})
			case 6: // movzbl / movzwl
				b.Write([]byte{0x0f, byte(0xb6 + r.intn(2)), byte(0x40 + r.intn(8)), byte(r.intn(16))})
			case 7: // add/sub/and/cmp $imm8
				b.Write([]byte{0x83, byte(0xc0 + 8*r.intn(8) + r.intn(8)), byte(r.intn(256))})
			case 8: // lea disp8(reg), reg
				b.Write([]byte{0x8d, byte(0x40 + r.intn(64)), byte(r.intn(128))})
			default: // push/pop
				b.WriteByte(byte(0x50 + r.intn(16)))
			}
		}
		b.Write([]byte{0x5b, 0x5e, 0x5f, 0x5d, 0xc3})
		for b.Len()%16 != 0 { // functions are 16-byte aligned: nop padding
			b.WriteByte(0x90)
		}
	}
	b.Truncate(end)
}

var words = strings.Fields(`the page table entry mapping kernel memory irq device driver
	failed to allocate cpu timer clock event interrupt handler registered module
	buffer virtio console block network queue descriptor ring found initialized
	zone normal highmem dma32 free pages reserved bios e820 usable acpi pci bus
	bridge resource window sched domain rcu task struct mutex lock spin wait`)

// text appends about n bytes of printk-like messages.
func text(b *bytes.Buffer, r *rng, n int) {
	end := b.Len() + n
	for b.Len() < end {
		fmt.Fprintf(b, "<%d>", r.intn(8))
		for k := 3 + r.intn(9); k > 0; k-- {
			b.WriteString(words[r.intn(len(words))])
			b.WriteByte(' ')
		}
		switch r.intn(4) {
		case 0:
			fmt.Fprintf(b, "%%s: %%d\n")
		case 1:
			fmt.Fprintf(b, "at 0x%08x\n", 0xc0000000+r.next()%(1<<26))
		default:
			b.WriteString("\n\x00")
		}
	}
	b.Truncate(end)
}

// tables appends about n bytes of structs and zero pages.
func tables(b *bytes.Buffer, r *rng, n int) {
	end := b.Len() + n
	for i := uint32(0); b.Len() < end; i++ {
		if r.intn(16) == 0 {
			b.Write(make([]byte, 4096))
			continue
		}
		// struct { u32 id; u32 flags; u32 fn; u16 a, b; }
		binary.Write(b, binary.LittleEndian, [3]uint32{i, 1 << uint(r.intn(8)), 0xc0100000 + uint32(r.intn(1<<16))*16})
		binary.Write(b, binary.LittleEndian, [2]uint16{uint16(r.intn(4)), 0})
	}
	b.Truncate(end)
}

// Data returns the n bytes the guest must inflate: code, then text and
// tables interleaved, as a vmlinux's .text, .rodata and .data.
func Data(n int) []byte {
	r := rng(0x9E3779B9)
	var b bytes.Buffer
	code(&b, &r, n*6/10)
	for b.Len() < n {
		text(&b, &r, min(64<<10, n-b.Len()))
		tables(&b, &r, min(32<<10, n-b.Len()))
	}
	return b.Bytes()[:n]
}

func run(n int, out, hdr string) error {
	if n <= 0 || n%4096 != 0 {
		return fmt.Errorf("data size %d: want a positive multiple of 4096", n)
	}
	data := Data(n)
	var z bytes.Buffer
	w, err := flate.NewWriter(&z, flate.BestCompression)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(out, z.Bytes(), 0o644); err != nil {
		return err
	}
	var h strings.Builder
	h.WriteString("/* Generated by tests/guests/genkernlike; DO NOT EDIT. */\n")
	fmt.Fprintf(&h, "#define KERNLIKE_EXPECT_BYTES %d\n", n)
	fmt.Fprintf(&h, "#define KERNLIKE_DEFLATE_BYTES %d\n", z.Len())
	fmt.Fprintf(&h, "#define KERNLIKE_CRC32 0x%08xu\n", crc32.ChecksumIEEE(data))
	fmt.Fprintf(&h, "#define KERNLIKE_LAST_WORD 0x%08xu\n", binary.LittleEndian.Uint32(data[n-4:]))
	return os.WriteFile(hdr, []byte(h.String()), 0o644)
}

func main() {
	n := flag.Int("bytes", 2<<20, "bytes of kernel-like data (a multiple of 4096)")
	out := flag.String("o", "", "output: the raw DEFLATE stream")
	hdr := flag.String("h", "", "output: the C header with the reference values")
	flag.Parse()
	err := errors.New("genkernlike: -o and -h are required")
	if *out != "" && *hdr != "" {
		err = run(*n, *out, *hdr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genkernlike:", err)
		os.Exit(1)
	}
}
