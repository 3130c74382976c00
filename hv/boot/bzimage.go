package boot

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Setup header offsets (Documentation/x86/boot.txt; spec §2.3, §2.4).
const (
	offSetupSects  = 0x1F1
	offSyssize     = 0x1F4
	offVersion     = 0x206
	offKernelVer   = 0x20E
	offLoadflags   = 0x211
	offCode32Start = 0x214
	offKernelAlign = 0x230
	offRelocatable = 0x234
	offXloadflags  = 0x236
	offCmdlineSize = 0x238
	offPayloadOff  = 0x248
	offPayloadLen  = 0x24C
	offPrefAddress = 0x258
	offInitSize    = 0x260

	xlfKernel64 = 1 << 0 // XLF_KERNEL_64: the kernel has the 64-bit entry at 0x200

	markerOff = 0x300 // lgdbg test-guest marker (doc.go)
	markerLen = 8
)

func parseBzImage(data []byte) (*Image, error) {
	le := binary.LittleEndian
	if len(data) < offVersion+2 {
		return nil, fmt.Errorf("bzImage of %d bytes ends inside its setup header: %w", len(data), ErrTruncated)
	}
	h := &SetupHeader{
		SetupSects: data[offSetupSects],
		Version:    le.Uint16(data[offVersion:]),
	}
	if h.Version < BootProtocol {
		return nil, fmt.Errorf("bzImage boot protocol %d.%02d < 2.07: %w", h.Version>>8, h.Version&0xFF, ErrProtocolTooOld)
	}
	// The boot protocol says setup_sects 0 means 4; the lguest Launcher does
	// not apply that rule, the spec (§2.3) asks a reimplementation to.
	sects := int(h.SetupSects)
	if sects == 0 {
		sects = 4
	}
	setupSize := (sects + 1) * 512
	if len(data) < setupSize {
		return nil, fmt.Errorf("bzImage header claims %d setup sectors (%d bytes with the boot sector) but the file has %d bytes: %w",
			sects, setupSize, len(data), ErrTruncated)
	}
	if len(data) == setupSize {
		return nil, fmt.Errorf("bzImage has %d bytes of setup and no protected-mode kernel after it: %w", setupSize, ErrTruncated)
	}
	// The setup area is at least 1024 bytes, so every field below exists.
	h.Syssize = le.Uint32(data[offSyssize:])
	h.Loadflags = data[offLoadflags]
	h.Code32Start = le.Uint32(data[offCode32Start:])
	h.KernelAlignment = le.Uint32(data[offKernelAlign:])
	h.Relocatable = data[offRelocatable] != 0
	h.CmdlineSize = le.Uint32(data[offCmdlineSize:])
	if h.Version >= 0x0208 {
		h.PayloadOffset = le.Uint32(data[offPayloadOff:])
		h.PayloadLength = le.Uint32(data[offPayloadLen:])
	}
	if h.Version >= 0x020A {
		h.PrefAddress = le.Uint64(data[offPrefAddress:])
		h.InitSize = le.Uint32(data[offInitSize:])
	}
	if h.Version >= 0x020C {
		h.Xloadflags = le.Uint16(data[offXloadflags:])
		// Only CONFIG_X86_64 kernels set XLF_KERNEL_64. Such a kernel still
		// has a 32-bit entry at code32_start, but that entry switches to
		// long mode, which lguest cannot run.
		if h.Xloadflags&xlfKernel64 != 0 {
			return nil, fmt.Errorf("bzImage (protocol %d.%02d) has xloadflags %#x with XLF_KERNEL_64: %w",
				h.Version>>8, h.Version&0xFF, h.Xloadflags, Err64Bit)
		}
	}

	kernel := data[setupSize:]
	// The Launcher copies to EOF and ignores syssize (spec §2.3); a syssize
	// that claims more than the file holds means the file was cut short.
	// syssize counts 16-byte paragraphs rounded up, so up to 15 bytes of
	// the last one may be missing in an unpadded image.
	if uint64(h.Syssize)*16 > uint64(len(kernel))+15 {
		return nil, fmt.Errorf("bzImage syssize says %d bytes of protected-mode kernel, the file has %d: %w",
			uint64(h.Syssize)*16, len(kernel), ErrTruncated)
	}

	img := &Image{
		Kind:            KindBzImage,
		Entry:           h.Code32Start,
		Segments:        []Segment{{PAddr: BzKernelAddr, VAddr: BzKernelAddr, Data: kernel, MemSize: uint32(len(kernel))}},
		ProtocolVersion: h.Version,
		Setup:           h,
	}
	img.KernelVersion = bzKernelVersion(data[:setupSize])

	pae, err := bzMarker(data)
	if err != nil {
		return nil, err
	}
	img.PAE = pae

	if err := bzPayload(img, kernel); err != nil {
		return nil, err
	}
	if err := checkLayout(img); err != nil {
		return nil, fmt.Errorf("bzImage: %w", err)
	}
	return img, nil
}

// bzKernelVersion reads the NUL-terminated string at kernel_version+0x200
// (boot protocol: "a pointer ... less 0x200"), which lies in the setup area.
func bzKernelVersion(setup []byte) string {
	p := int(binary.LittleEndian.Uint16(setup[offKernelVer:]))
	if p == 0 {
		return ""
	}
	p += 0x200
	if p >= len(setup) {
		return ""
	}
	s := setup[p:]
	if n := bytes.IndexByte(s, 0); n >= 0 {
		s = s[:n]
	}
	return printable(s, 256)
}

// printable returns at most limit bytes of s, stopping at the first byte that
// is not printable ASCII, so a bad pointer cannot put control bytes on the
// user's terminal.
func printable(s []byte, limit int) string {
	if len(s) > limit {
		s = s[:limit]
	}
	for i, c := range s {
		if c < 0x20 || c > 0x7E {
			s = s[:i]
			break
		}
	}
	return string(s)
}

// bzMarker reads the lgdbg test-guest paging marker (doc.go).
func bzMarker(data []byte) (PAEHint, error) {
	m := data[markerOff : markerOff+markerLen]
	switch string(m) {
	case "LGDBGPAE":
		return PAEYes, nil
	case "LGDBGNOP":
		return PAENo, nil
	}
	if string(m[:5]) == "LGDBG" {
		return PAEUnknown, fmt.Errorf("bzImage has lgdbg marker %q at %#x; want \"LGDBGPAE\" or \"LGDBGNOP\": %w", m, markerOff, ErrMalformed)
	}
	return PAEUnknown, nil
}

// Compressed-payload magic numbers (the formats Linux's decompressors accept).
var payloadMagic = []struct {
	name  string
	magic string
}{
	{"gzip", "\x1f\x8b"},
	{"bzip2", "BZh"},
	{"lzma", "\x5d\x00\x00"},
	{"xz", "\xfd7zXZ\x00"},
	{"lzo", "\x89LZO"},
	{"lz4", "\x02\x21\x4c\x18"},
	{"zstd", "\x28\xb5\x2f\xfd"},
	{"ELF", "\x7fELF"},
}

// bzPayload identifies the compressed payload (protocol >= 2.08 says where
// it is) and reads the kernel layout from the ELF inside (payload.go). Its
// class also tells a 64-bit kernel that predates xloadflags (protocol <
// 2.12). A payload the header locates outside the file only costs this, as
// the Launcher ignores these fields.
func bzPayload(img *Image, kernel []byte) error {
	h := img.Setup
	if h.PayloadLength == 0 {
		return nil
	}
	end := uint64(h.PayloadOffset) + uint64(h.PayloadLength)
	if end > uint64(len(kernel)) {
		img.Warnings = append(img.Warnings, fmt.Sprintf("payload_offset %#x + payload_length %#x lies beyond the %d-byte kernel",
			h.PayloadOffset, h.PayloadLength, len(kernel)))
		return nil
	}
	pl, err := readPayload(kernel[h.PayloadOffset:end])
	if err != nil {
		return err
	}
	img.Compression = pl.Format
	img.Payload = pl
	return nil
}
