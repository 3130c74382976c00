package main

import (
	"encoding/binary"
	"strings"
	"testing"
)

func TestPack(t *testing.T) {
	payload := make([]byte, 100)
	for i := range payload {
		payload[i] = byte(i)
	}
	tests := []struct {
		name    string
		img     Image
		payload []byte
		marker  string
		wantErr string
		noMark  bool
	}{
		{"non-PAE", Image{Entry: code32Start, LoadEnd: code32Start + 100}, payload, "LGDBGNOP", "", false},
		{"PAE", Image{Entry: code32Start, PAE: true, LoadEnd: code32Start + 100}, payload, "LGDBGPAE", "", false},
		{"PAE without marker", Image{Entry: code32Start, PAE: true, LoadEnd: code32Start + 100}, payload, "\x00\x00\x00\x00\x00\x00\x00\x00", "", true},
		{"short payload", Image{Entry: code32Start, LoadEnd: code32Start + 101}, payload, "", "payload is 100 bytes", false},
		{"empty", Image{Entry: code32Start, LoadEnd: code32Start}, nil, "", "empty payload", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Pack(&tc.img, tc.payload, nil, "t", tc.noMark)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			le := binary.LittleEndian
			if len(out) != setupAreaBytes+len(payload) || string(out[setupAreaBytes:]) != string(payload) {
				t.Fatalf("image is %d bytes; payload not at %#x", len(out), setupAreaBytes)
			}
			if string(out[offHeader:offHeader+4]) != "HdrS" || le.Uint16(out[offVersion:]) != protocol ||
				le.Uint32(out[offCode32Start:]) != code32Start || le.Uint32(out[offSyssize:]) != 7 {
				t.Errorf("bad header: % x", out[0x1F0:0x270])
			}
			if got := string(out[offMarker : offMarker+8]); got != tc.marker {
				t.Errorf("marker %q, want %q", got, tc.marker)
			}
			// The real-mode jump at 0x200 lands on the cli/hlt stub.
			if out[offJump] != 0xEB || offJump+2+int(out[offJump+1]) != offStub || out[offStub] != 0xFA {
				t.Errorf("jump at 0x200: % x", out[offJump:offJump+2])
			}
		})
	}
}

func TestPackVersionTooLong(t *testing.T) {
	img := &Image{Entry: code32Start, LoadEnd: code32Start + 1}
	if _, err := Pack(img, []byte{0}, nil, strings.Repeat("x", 512), false); err == nil {
		t.Fatal("packed a kernel_version that does not fit")
	}
}
