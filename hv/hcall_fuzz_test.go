package hv_test

// An external test package: the fuzzer drives the Guest only through
// hv.New and the Machine, as the CLI does, so it survives changes to the
// Host's internals.

import (
	"encoding/binary"
	"testing"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/hcall"
)

// FuzzHypercalls runs a tiny guest that makes random hypercalls with random
// arguments, synchronously (int $0x1f) and through the asynchronous ring in
// lguest_data (spec §3.4), then powers off. Whatever the arguments, the
// Host must never panic or hang: every run ends (power-off, a kill with a
// reason, a halt, or the instruction limit), and the same input ends the
// same way twice (determinism).
//
//	go test -fuzz=FuzzHypercalls -run=^$ ./hv
//
// Input layout (no assembler needed: the code is generated here):
//
//	byte 0          bit 0: PAE Host; bit 1: skip LGUEST_INIT
//	byte 1          n, the number of synchronous calls (mod 33)
//	n x 17 bytes    a call: selector, then four little-endian arguments
//	the rest        async ring slots of 17 bytes: selector (bit 7 set:
//	                slot pending), then four arguments (the call number is
//	                the selector's low 5 bits)
//
// A selector's low 5 bits are the call number (0-31, which includes the
// unused and unknown numbers); bit 5 folds the first argument into guest
// RAM and bit 6 page-aligns it, so address-taking calls (NEW_PGTABLE,
// SET_PTE, LGUEST_INIT...) reach their deeper paths instead of stopping at
// the range check.
func FuzzHypercalls(f *testing.F) {
	call := func(sel byte, args ...uint32) []byte {
		b := []byte{sel}
		for i := range 4 {
			var a uint32
			if i < len(args) {
				a = args[i]
			}
			b = binary.LittleEndian.AppendUint32(b, a)
		}
		return b
	}
	seed := func(flags byte, calls ...[]byte) []byte {
		b := []byte{flags, byte(len(calls))}
		for _, c := range calls {
			b = append(b, c...)
		}
		return b
	}
	f.Add(seed(0))
	f.Add(seed(2, call(hcall.Shutdown, 0x1000, 1)))
	f.Add(seed(0, call(hcall.NewPgtable|0x60, 0x300000), call(hcall.FlushTLB, 1)))
	f.Add(seed(0, call(hcall.SetPTE|0x60, 0x300000, 0xC0000000, 0x400067)))
	f.Add(seed(1, call(hcall.SetPMD|0x60, 0x300000, 3), call(hcall.SetPGD|0x60, 0x300000, 1)))
	f.Add(seed(0, call(hcall.LoadIDTEntry, 14, 0x00601000, 0x00108E00), call(hcall.SetStack, 0x69, 0x90000, 1)))
	f.Add(seed(0, call(hcall.SetClockevent, 1000), call(hcall.Halt), call(hcall.SendInterrupts, 0)))
	f.Add(seed(0, call(hcall.LoadGDTEntry, 12, 0, 0x00CF9A00), call(hcall.LoadTLS|0x60, 0x300000), call(hcall.TS, 1)))
	f.Add(seed(0, call(hcall.Notify|0x20, 0x12345)))
	f.Add(append(seed(0, call(hcall.FlushAsync)), call(0x80|hcall.SetPTE, 0x300000, 0xC0001000, 0x1067)...))
	f.Add(append(seed(0, call(hcall.FlushAsync)), call(0x80|hcall.Notify, 0x1000)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		first := runHcallGuest(t, data)
		again := runHcallGuest(t, data)
		if first != again {
			t.Fatalf("the same input ended differently:\n%+v\n%+v", first, again)
		}
	})
}

// The fuzz guest's bounds (rawGuest lays it out below 4 MiB).
const (
	fuzzHRAM    = 4 << 20
	fuzzHLimit  = 200_000 // instructions: far more than the generated code needs
	fuzzHCalls  = 32
	fuzzHRecord = 17
)

// hcallOutcome is what must be the same on every run of an input.
type hcallOutcome struct {
	Reason hv.StopReason
	ICount uint64
	EIP    uint32
	Text   string
	Events uint64
}

func runHcallGuest(t *testing.T, data []byte) hcallOutcome {
	if len(data) < 2 {
		data = append(data, 0, 0)
	}
	flags, n := data[0], int(data[1])%(fuzzHCalls+1)
	rest := data[2:]
	args := func(rec []byte) (uint32, [4]uint32) {
		var a [4]uint32
		for i := range a {
			a[i] = binary.LittleEndian.Uint32(rec[1+4*i:])
		}
		sel := rec[0]
		if sel&0x20 != 0 {
			a[0] %= fuzzHRAM
		}
		if sel&0x40 != 0 {
			a[0] &^= 0xFFF
		}
		return uint32(sel & 0x1F), a
	}
	g := newRawGuest()
	if flags&2 == 0 {
		g.hcall(hcall.LguestInit, rawLguestData)
	}
	for i := 0; i < n && len(rest) >= fuzzHRecord; i++ {
		nr, a := args(rest[:fuzzHRecord])
		rest = rest[fuzzHRecord:]
		g.hcall(nr, a[0], a[1], a[2], a[3])
	}
	g.powerOff()
	// The async ring, filled from the rest of the input.
	for i := 0; i < hcallRingSize && len(rest) >= fuzzHRecord; i++ {
		nr, a := args(rest[:fuzzHRecord])
		g.queue(i, rest[0]&0x80 != 0, nr, a)
		rest = rest[fuzzHRecord:]
	}
	m, err := hv.New(hv.Config{Image: g.image(), RAM: fuzzHRAM, PAE: map[bool]hv.PAEMode{false: hv.PAEOff, true: hv.PAEOn}[flags&1 != 0], EventRing: 256})
	if err != nil {
		t.Fatalf("building the fuzz guest: %v", err)
	}
	s := m.Run(fuzzHLimit)
	switch s.Reason {
	case hv.StopPowerOff, hv.StopCrash, hv.StopRestart, hv.StopKilled, hv.StopUnimplemented, hv.StopHaltedForever, hv.StopInstructionLimit:
	default:
		t.Fatalf("run ended with %v: not an end a guest on its own can reach", s)
	}
	if s.ICount > fuzzHLimit {
		t.Fatalf("ran %d instructions past the limit of %d", s.ICount, fuzzHLimit)
	}
	if dead := m.Host().Dead; s.Reason.Terminal() != dead {
		t.Fatalf("stop %v but dead=%v", s, dead)
	}
	if s.Reason == hv.StopKilled && s.Text == "" {
		t.Fatalf("killed without a reason at eip %#x", s.EIP)
	}
	_, next := m.Events(0)
	return hcallOutcome{Reason: s.Reason, ICount: s.ICount, EIP: s.EIP, Text: s.Text, Events: next}
}
