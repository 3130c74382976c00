package main

import (
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"
)

func TestComputeRejectsBadSizes(t *testing.T) {
	for _, n := range []int{0, -4, 6} {
		if _, err := Compute(n); err == nil {
			t.Errorf("Compute(%d) accepted", n)
		}
	}
}

// The reference must describe the LCG stream src/compute.c generates and be
// internally consistent; the values themselves come from Go's libraries.
func TestComputeConsistent(t *testing.T) {
	r, err := Compute(4096)
	if err != nil {
		t.Fatal(err)
	}
	x := uint32(Seed)
	var buf []byte
	for i := 0; i < 1024; i++ {
		x = x*1664525 + 1013904223
		buf = binary.LittleEndian.AppendUint32(buf, x)
	}
	if r.FirstWords[0] != binary.LittleEndian.Uint32(buf) || r.CRC32 != crc32.ChecksumIEEE(buf) {
		t.Errorf("reference disagrees with the LCG stream: %+v", r)
	}
	if !(r.Min <= r.Median && r.Median <= r.Max) || r.SortedCRC == r.CRC32 {
		t.Errorf("sorted results inconsistent: %+v", r)
	}
	h := r.Header()
	for _, want := range []string{"#define COMPUTE_EXPECT_BYTES 4096\n", "#define COMPUTE_SHA256 {0x"} {
		if !strings.Contains(h, want) {
			t.Errorf("header lacks %q:\n%s", want, h)
		}
	}
}
