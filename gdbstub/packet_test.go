package gdbstub

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestFrame(t *testing.T) {
	tests := []struct {
		payload string
		want    string
	}{
		{"", "$#00"},
		{"OK", "$OK#9a"},
		{"qSupported", "$qSupported#37"},
		// '$', '#', '}' and '*' are escaped as '}' + (byte ^ 0x20).
		{"a$b", "$a}\x04b#44"},
		{"#}*", "$}\x03}]}\x0a#" + sumHex("}\x03}]}\x0a")},
	}
	for _, tt := range tests {
		if got := string(frame([]byte(tt.payload))); got != tt.want {
			t.Errorf("frame(%q) = %q, want %q", tt.payload, got, tt.want)
		}
	}
}

func sumHex(s string) string {
	var sum byte
	for i := 0; i < len(s); i++ {
		sum += s[i]
	}
	return string([]byte{hexDigits[sum>>4], hexDigits[sum&0xF]})
}

// TestPacketReader feeds raw byte streams and checks what the reader makes
// of them, in order, up to the end of the stream.
func TestPacketReader(t *testing.T) {
	type ev struct {
		kind    inKind
		payload string
	}
	tests := []struct {
		name string
		in   string
		want []ev
	}{
		{"one packet", "$qC#b4", []ev{{inPacket, "qC"}}},
		{"upper-case checksum", "$OK#9A", []ev{{inPacket, "OK"}}},
		{"acks and noise skipped", "+++\r\nxyz$qC#b4+", []ev{{inPacket, "qC"}}},
		{"interrupt", "\x03$qC#b4", []ev{{inInterrupt, ""}, {inPacket, "qC"}}},
		{"nak", "-", []ev{{inNak, ""}}},
		{"bad checksum", "$qC#00$qC#b4", []ev{{inBadSum, ""}, {inPacket, "qC"}}},
		{"checksum not hex", "$qC#zz", []ev{{inBadSum, ""}}},
		{"escape", string(frame([]byte("X0,3:$#}"))), []ev{{inPacket, "X0,3:$#}"}}},
		{"abandoned frame", "$qfTh$qC#b4", []ev{{inPacket, "qC"}}},
		{"oversized", "$" + strings.Repeat("a", MaxPacket+1) + "#00$qC#b4", []ev{{inOversized, ""}, {inPacket, "qC"}}},
		{"exactly MaxPacket", string(frame(bytes.Repeat([]byte("a"), MaxPacket))), []ev{{inPacket, strings.Repeat("a", MaxPacket)}}},
		{"truncated checksum", "$qC#b", nil},
		{"truncated body", "$qC", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := newPacketReader(strings.NewReader(tt.in))
			var got []ev
			for {
				e, err := pr.next()
				if err != nil {
					if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("error %v", err)
					}
					break
				}
				got = append(got, ev{e.kind, string(e.payload)})
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d events %v, want %v", len(got), got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestHexHelpers(t *testing.T) {
	nums := []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"0", 0, true},
		{"c0100000", 0xc0100000, true},
		{"FFFFFFFF", 0xffffffff, true},
		{"00000000c0100000", 0xc0100000, true}, // gdb padding to 64 bits
		{"100000000", 0, false},
		{"", 0, false},
		{"12g4", 0, false},
		{"-1", 0, false},
	}
	for _, tt := range nums {
		got, err := parseHex32([]byte(tt.in))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseHex32(%q) = %#x, %v; want %#x ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if _, err := decodeHex([]byte("abc")); err == nil {
		t.Error("decodeHex(odd): no error")
	}
	if b, err := decodeHex([]byte("00fFa5")); err != nil || !bytes.Equal(b, []byte{0, 0xff, 0xa5}) {
		t.Errorf("decodeHex: % x %v", b, err)
	}
}

// FuzzPacketReader: any byte stream is parsed without panicking and every
// packet stays within MaxPacket.
func FuzzPacketReader(f *testing.F) {
	for _, s := range []string{"$qC#b4", "\x03", "$}}}#00", "$" + strings.Repeat("}", 10) + "#", "-+$#00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		pr := newPacketReader(bytes.NewReader(in))
		for range len(in) + 1 {
			e, err := pr.next()
			if err != nil {
				return
			}
			if len(e.payload) > MaxPacket {
				t.Fatalf("payload of %d bytes", len(e.payload))
			}
		}
	})
}
