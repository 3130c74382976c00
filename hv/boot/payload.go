package boot

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz/lzma"
)

// A bzImage's payload (boot protocol >= 2.08 payload_offset/payload_length)
// is the kernel's vmlinux ELF, stripped of symbols and compressed. lgdbg
// never runs it -- the bzImage's own decompressor does that inside the Guest
// -- but its program headers say where the kernel is linked (p_vaddr) and
// where it is loaded (p_paddr), which is what turns a load address such as
// 0x011ccb38 back into the link address 0xc11ccb38 a developer's System.map
// and gdb know. Only the first bytes of the ELF are needed (the header and
// the program header table, which vmlinux keeps right after it), so
// decompression stops after maxPayloadPrefix bytes: a hostile image cannot
// make lgdbg inflate gigabytes, and a real 20 MiB kernel costs a few
// kilobytes of decoding.
const maxPayloadPrefix = 1 << 20

// Payload is what the compressed kernel inside a bzImage says about itself.
type Payload struct {
	// Format is the compression: "gzip", "bzip2", "lzma", "xz", "lz4",
	// "lzo", "zstd", "ELF" (uncompressed) or "" when not recognised.
	Format string
	// Entry is the vmlinux e_entry: the physical address of its startup_32.
	Entry uint32
	// Segments are its non-empty PT_LOAD program headers in file order.
	// nil when Note is set.
	Segments []PayloadSegment
	// Note says in one line why the layout is unknown ("" when Segments is
	// set): an unsupported format, a corrupt stream, a header out of reach.
	Note string
}

// PayloadSegment is one PT_LOAD of the compressed vmlinux: MemSize bytes
// linked at VAddr and loaded at PAddr.
type PayloadSegment struct {
	VAddr, PAddr, MemSize uint32
	Exec                  bool // PF_X
}

// Payload formats lgdbg can look into. lzo (no well-kept Go decoder) and
// zstd (not a 3.x format) are recognised and noted, never decoded.
const (
	fmtGzip  = "gzip"
	fmtBzip2 = "bzip2"
	fmtLZMA  = "lzma"
	fmtXZ    = "xz"
	fmtLZ4   = "lz4"
	fmtELF   = "ELF"
)

// readPayload decodes the start of a payload and reads its ELF program
// headers. It returns an error only for a payload that proves the kernel
// cannot run (a 64-bit ELF); everything else ends up in Payload.Note.
func readPayload(p []byte) (*Payload, error) {
	pl := &Payload{}
	for _, f := range payloadMagic {
		if bytes.HasPrefix(p, []byte(f.magic)) {
			pl.Format = f.name
			break
		}
	}
	if pl.Format == "" {
		pl.Note = "payload format not recognised; kernel layout unknown"
		return pl, nil
	}
	r, err := payloadReader(pl.Format, p)
	if err != nil {
		pl.Note = fmt.Sprintf("%s payload: %v; kernel layout unknown", pl.Format, err)
		return pl, nil
	}
	prefix, err := io.ReadAll(io.LimitReader(r, maxPayloadPrefix))
	if len(prefix) < elf32EhSize && err != nil {
		pl.Note = fmt.Sprintf("%s payload: %v; kernel layout unknown", pl.Format, err)
		return pl, nil
	}
	if pl.Format == fmtXZ {
		// The kernel's xz payload is filtered with BCJ x86 (scripts/xz_wrap.sh
		// uses --x86) unless the block header said otherwise.
		if x, ok := r.(*xzBlockReader); ok && x.bcj {
			bcjX86Decode(prefix, x.bcjStart)
		}
	}
	if err := payloadELF(pl, prefix); err != nil {
		return nil, err
	}
	return pl, nil
}

func payloadReader(format string, p []byte) (io.Reader, error) {
	switch format {
	case fmtGzip:
		return gzip.NewReader(bytes.NewReader(p))
	case fmtBzip2:
		return bzip2.NewReader(bytes.NewReader(p)), nil
	case fmtLZMA:
		return lzmaAloneReader(p)
	case fmtXZ:
		return newXZBlockReader(p)
	case fmtLZ4:
		// The kernel writes the legacy LZ4 frame (magic 0x184C2102,
		// `lz4c -l`), which pierrec/lz4's reader recognises by its magic.
		return lz4.NewReader(bytes.NewReader(p)), nil
	case fmtELF:
		return bytes.NewReader(p), nil
	}
	return nil, fmt.Errorf("not supported by lgdbg")
}

// lzmaAloneReader opens an .lzma ("LZMA alone") stream. Its 13-byte header
// names the dictionary size and the decoder allocates it whole: `lzma -9`
// asks for 64 MiB and a hostile header for 4 GiB. Distances never exceed
// the output produced so far, so a dictionary as large as the prefix lgdbg
// reads decodes that prefix exactly; the header is rewritten to say so.
func lzmaAloneReader(p []byte) (io.Reader, error) {
	if len(p) < 13 {
		return nil, errors.New("lzma header cut short")
	}
	hdr := append([]byte(nil), p[:13]...)
	if binary.LittleEndian.Uint32(hdr[1:]) > maxPayloadPrefix {
		binary.LittleEndian.PutUint32(hdr[1:], maxPayloadPrefix)
	}
	return lzma.NewReader(io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(p[13:])))
}

// xz stream and block headers (the .xz file format, version 1.0.4). The
// library's own xz reader accepts only a lone LZMA2 filter, and the kernel
// uses BCJ x86 before it, so lgdbg reads the container itself and hands the
// raw LZMA2 data to the library's LZMA2 decoder.
const (
	xzStreamHeaderLen = 12
	xzFilterBCJX86    = 0x04
	xzFilterLZMA2     = 0x21
)

type xzBlockReader struct {
	io.Reader
	bcj      bool
	bcjStart uint32
}

func newXZBlockReader(p []byte) (io.Reader, error) {
	if len(p) < xzStreamHeaderLen+1 {
		return nil, errors.New("xz stream header cut short")
	}
	if crc32.ChecksumIEEE(p[6:8]) != binary.LittleEndian.Uint32(p[8:12]) {
		return nil, errors.New("xz stream header CRC mismatch")
	}
	b := p[xzStreamHeaderLen:]
	hlen := (int(b[0]) + 1) * 4
	if b[0] == 0 {
		return nil, errors.New("xz stream has no block")
	}
	if len(b) < hlen {
		return nil, errors.New("xz block header cut short")
	}
	h := b[:hlen]
	if crc32.ChecksumIEEE(h[:hlen-4]) != binary.LittleEndian.Uint32(h[hlen-4:]) {
		return nil, errors.New("xz block header CRC mismatch")
	}
	flags := h[1]
	if flags&0x3C != 0 {
		return nil, errors.New("xz block header has reserved flags set")
	}
	q := h[2 : hlen-4]
	uvarint := func() (uint64, error) {
		v, n := binary.Uvarint(q)
		if n <= 0 {
			return 0, errors.New("xz block header field is not a number")
		}
		q = q[n:]
		return v, nil
	}
	if flags&0x40 != 0 { // compressed size present
		if _, err := uvarint(); err != nil {
			return nil, err
		}
	}
	if flags&0x80 != 0 { // uncompressed size present
		if _, err := uvarint(); err != nil {
			return nil, err
		}
	}
	x := &xzBlockReader{}
	var dict uint32
	nfilters := int(flags&3) + 1
	for i := 0; i < nfilters; i++ {
		id, err := uvarint()
		if err != nil {
			return nil, err
		}
		psize, err := uvarint()
		if err != nil {
			return nil, err
		}
		if psize > uint64(len(q)) {
			return nil, errors.New("xz filter properties cut short")
		}
		props := q[:psize]
		q = q[psize:]
		last := i == nfilters-1
		switch {
		case id == xzFilterBCJX86 && !last && !x.bcj:
			x.bcj = true
			if len(props) == 4 {
				x.bcjStart = binary.LittleEndian.Uint32(props)
			} else if len(props) != 0 {
				return nil, errors.New("xz BCJ x86 filter has bad properties")
			}
		case id == xzFilterLZMA2 && last:
			if len(props) != 1 || props[0] > 40 {
				return nil, errors.New("xz LZMA2 filter has bad properties")
			}
			dict = 0xFFFFFFFF
			if props[0] < 40 {
				dict = (2 | uint32(props[0])&1) << (props[0]/2 + 11)
			}
		default:
			return nil, fmt.Errorf("xz filter %#x is not supported", id)
		}
	}
	// As for lzma: the prefix lgdbg reads never reaches further back than
	// its own length, so the dictionary need not be larger.
	cfg := lzma.Reader2Config{DictCap: int(min(dict, maxPayloadPrefix))}
	r, err := cfg.NewReader2(bytes.NewReader(b[hlen:]))
	if err != nil {
		return nil, err
	}
	x.Reader = r
	return x, nil
}

// bcjX86Decode undoes the xz BCJ x86 filter in place on the stream's first
// len(buf) bytes (xz-embedded's bcj_x86, decoding direction): the filter
// turned the rel32 of E8/E9 (call/jmp) instructions into absolute targets
// to help compression. The last four bytes are left as they are, as the
// filter does at the end of a stream.
func bcjX86Decode(buf []byte, start uint32) {
	maskAllowed := [8]bool{true, true, true, false, true, false, false, false}
	maskBit := [8]uint32{0, 1, 2, 2, 3, 3, 3, 3}
	msb := func(b byte) bool { return b == 0x00 || b == 0xFF }
	if len(buf) <= 4 {
		return
	}
	size := len(buf) - 4
	prevPos := -1
	var prevMask uint32
	for i := 0; i < size; i++ {
		if buf[i]&0xFE != 0xE8 {
			continue
		}
		d := i - prevPos
		if d > 3 {
			prevMask = 0
		} else {
			prevMask = (prevMask << (d - 1)) & 7
			if prevMask != 0 {
				b := buf[i+4-int(maskBit[prevMask])]
				if !maskAllowed[prevMask] || msb(b) {
					prevPos = i
					prevMask = prevMask<<1 | 1
					continue
				}
			}
		}
		prevPos = i
		if !msb(buf[i+4]) {
			prevMask = prevMask<<1 | 1
			continue
		}
		src := binary.LittleEndian.Uint32(buf[i+1:])
		var dest uint32
		for {
			dest = src - (start + uint32(i) + 5)
			if prevMask == 0 {
				break
			}
			j := maskBit[prevMask] * 8
			if !msb(byte(dest >> (24 - j))) {
				break
			}
			src = dest ^ (1<<(32-j) - 1)
		}
		dest &= 0x01FFFFFF
		dest |= -(dest & 0x01000000)
		binary.LittleEndian.PutUint32(buf[i+1:], dest)
		i += 4
	}
}

// payloadELF reads the ELF header and PT_LOAD program headers from the
// decompressed prefix of the payload.
func payloadELF(pl *Payload, b []byte) error {
	le := binary.LittleEndian
	if len(b) < 20 || string(b[:4]) != "\x7fELF" {
		pl.Note = pl.Format + " payload does not start with an ELF header; kernel layout unknown"
		return nil
	}
	if b[4] == elfClass64 {
		return fmt.Errorf("bzImage payload (%s) is a 64-bit ELF, machine %d: %w", pl.Format, le.Uint16(b[18:]), Err64Bit)
	}
	if b[4] != elfClass32 || b[5] != elfData2LSB || len(b) < elf32EhSize || le.Uint16(b[18:]) != em386 {
		pl.Note = pl.Format + " payload is not a little-endian i386 ELF32; kernel layout unknown"
		return nil
	}
	phoff, phentsize, phnum := uint64(le.Uint32(b[28:])), le.Uint16(b[42:]), uint64(le.Uint16(b[44:]))
	if phentsize != elf32PhSize || phnum == 0 || phnum > maxPhnum {
		pl.Note = fmt.Sprintf("%s payload ELF has %d program headers of %d bytes; kernel layout unknown", pl.Format, phnum, phentsize)
		return nil
	}
	if phoff+phnum*elf32PhSize > uint64(len(b)) {
		pl.Note = fmt.Sprintf("%s payload ELF's program headers at %#x lie beyond the %d bytes lgdbg decompresses; kernel layout unknown",
			pl.Format, phoff, len(b))
		return nil
	}
	pl.Entry = le.Uint32(b[24:])
	for i := uint64(0); i < phnum; i++ {
		ph := b[phoff+i*elf32PhSize:]
		if le.Uint32(ph) != ptLoad || le.Uint32(ph[20:]) == 0 {
			continue
		}
		pl.Segments = append(pl.Segments, PayloadSegment{
			VAddr: le.Uint32(ph[8:]), PAddr: le.Uint32(ph[12:]), MemSize: le.Uint32(ph[20:]),
			Exec: le.Uint32(ph[24:])&1 != 0,
		})
	}
	if len(pl.Segments) == 0 {
		pl.Note = pl.Format + " payload ELF has no PT_LOAD segment; kernel layout unknown"
	}
	return nil
}
