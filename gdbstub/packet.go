package gdbstub

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// The wire format of the GDB Remote Serial Protocol ("Overview" in the GDB
// manual's remote protocol appendix):
//
//	$payload#cc     cc = two hex digits, the payload's byte sum modulo 256
//	+ / -           acknowledgements (until QStartNoAckMode)
//	0x03            the interrupt byte gdb sends for Ctrl-C
//
// Inside a payload '}' escapes the next byte (which is XORed with 0x20);
// gdb uses it for binary data ('X' packets, qXfer replies).

// MaxPacket is the largest payload (data characters, without the frame and
// checksum) we accept and advertise in qSupported's PacketSize. gdb never
// sends more than the advertised size; anything longer is a broken or
// hostile client and gets an error reply, not an unbounded buffer.
const MaxPacket = 0x4000

const (
	interruptByte = 0x03
	escapeByte    = '}'
)

// inKind is what the reader found on the wire.
type inKind int

const (
	inPacket    inKind = iota // a well-formed packet (already acknowledged)
	inInterrupt               // the 0x03 byte: Ctrl-C
	inNak                     // '-': retransmit our last packet
	inOversized               // a packet longer than MaxPacket (discarded)
	inBadSum                  // a packet whose checksum did not match
)

type inEvent struct {
	kind    inKind
	payload []byte // inPacket: unescaped payload
}

// packetReader parses the byte stream from gdb. It owns no state beyond
// the bufio.Reader, so a session can run it on its own goroutine.
type packetReader struct {
	r *bufio.Reader
}

func newPacketReader(r io.Reader) *packetReader {
	return &packetReader{r: bufio.NewReaderSize(r, 4096)}
}

// next returns the next thing gdb sent. '+' acks and stray bytes between
// packets are skipped; an I/O error (EOF when gdb hangs up) ends the stream.
func (p *packetReader) next() (inEvent, error) {
	for {
		b, err := p.r.ReadByte()
		if err != nil {
			return inEvent{}, err
		}
		switch b {
		case '$':
			return p.body()
		case interruptByte:
			return inEvent{kind: inInterrupt}, nil
		case '-':
			return inEvent{kind: inNak}, nil
		}
		// '+' and noise between packets: nothing to do.
	}
}

// body reads a packet after its '$'. The payload is bounded by MaxPacket:
// past that we keep scanning for '#' but store nothing, so a client
// cannot make us allocate without limit.
func (p *packetReader) body() (inEvent, error) {
	raw := make([]byte, 0, 256)
	var sum byte
	oversized := false
	for {
		b, err := p.r.ReadByte()
		if err != nil {
			return inEvent{}, err
		}
		if b == '#' {
			break
		}
		if b == '$' {
			// A new frame started before this one ended: gdb gave up on
			// the old one (it resends after a timeout). Start over.
			raw, sum, oversized = raw[:0], 0, false
			continue
		}
		sum += b
		if len(raw) < MaxPacket {
			raw = append(raw, b)
		} else {
			oversized = true
		}
	}
	var cs [2]byte
	if _, err := io.ReadFull(p.r, cs[:]); err != nil {
		return inEvent{}, err
	}
	if oversized {
		return inEvent{kind: inOversized}, nil
	}
	want, ok := parseHexByte(cs[0], cs[1])
	if !ok || want != sum {
		return inEvent{kind: inBadSum}, nil
	}
	return inEvent{kind: inPacket, payload: unescape(raw)}, nil
}

// unescape undoes '}' escaping in place. A trailing lone '}' is kept as
// is; the command parser then rejects the packet.
func unescape(b []byte) []byte {
	out := b[:0]
	for i := 0; i < len(b); i++ {
		if b[i] == escapeByte && i+1 < len(b) {
			i++
			out = append(out, b[i]^0x20)
			continue
		}
		out = append(out, b[i])
	}
	return out
}

// frame builds "$payload#cc", escaping the bytes the framing reserves
// ('$', '#', '}' and '*', which gdb would read as run-length encoding).
func frame(payload []byte) []byte {
	out := make([]byte, 0, len(payload)+8)
	out = append(out, '$')
	var sum byte
	for _, b := range payload {
		if b == '$' || b == '#' || b == escapeByte || b == '*' {
			out = append(out, escapeByte)
			sum += escapeByte
			b ^= 0x20
		}
		out = append(out, b)
		sum += b
	}
	return append(out, '#', hexDigits[sum>>4], hexDigits[sum&0xF])
}

const hexDigits = "0123456789abcdef"

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func parseHexByte(hi, lo byte) (byte, bool) {
	h, ok1 := unhex(hi)
	l, ok2 := unhex(lo)
	return h<<4 | l, ok1 && ok2
}

var errBadHex = errors.New("malformed hex")

// decodeHex decodes an even-length hex string.
func decodeHex(s []byte) ([]byte, error) {
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("%w: odd length %d", errBadHex, len(s))
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		b, ok := parseHexByte(s[2*i], s[2*i+1])
		if !ok {
			return nil, fmt.Errorf("%w: %q", errBadHex, s[2*i:2*i+2])
		}
		out[i] = b
	}
	return out, nil
}

func encodeHex(b []byte) []byte {
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = hexDigits[c>>4], hexDigits[c&0xF]
	}
	return out
}

// parseHex32 parses a big-endian hex number (addresses and lengths in
// packets) of at most 8 digits: anything wider cannot be an i386 address.
func parseHex32(s []byte) (uint32, error) {
	if len(s) == 0 {
		return 0, fmt.Errorf("%w: empty number", errBadHex)
	}
	if len(s) > 8 {
		// Allow leading zeroes (gdb pads to the address width of the
		// architecture it believes in), refuse real 64-bit values.
		for len(s) > 8 && s[0] == '0' {
			s = s[1:]
		}
		if len(s) > 8 {
			return 0, fmt.Errorf("%w: %q does not fit 32 bits", errBadHex, s)
		}
	}
	var v uint32
	for _, c := range s {
		d, ok := unhex(c)
		if !ok {
			return 0, fmt.Errorf("%w: %q", errBadHex, s)
		}
		v = v<<4 | uint32(d)
	}
	return v, nil
}
