package cpu

import (
	"fmt"
	"testing"
)

// Physical write watches (mem.Phys.SetWatch) hear every store to a watched
// range, whatever path it takes: a store whose page was already in the
// write TLB (DropWriteTLB takes it out), a REP STOS whose bulk path would
// write the page directly, a store crossing into the watched page. Each
// time Writer names the instruction: its icount and address.
func TestWriteWatch(t *testing.T) {
	type store struct {
		before uint64 // instructions of the run before the storing one
		insn   uint32 // its address
	}
	tests := []struct {
		name      string
		code      []byte
		watch     [2]uint32 // addr, len
		stores    []store   // the stores heard, in order
		want      uint32    // the watched bytes after the run (little-endian)
		wantBytes uint32
	}{
		{"store after a TLB fill", []byte{
			0xB9, 0x44, 0x33, 0x22, 0x11, // mov ecx, 0x11223344
			0x89, 0x0D, 0x00, 0x00, 0x02, 0x00, // mov [0x20000], ecx
			0x41,                               // inc ecx
			0x89, 0x0D, 0x00, 0x00, 0x02, 0x00, // mov [0x20000], ecx (the TLB filled again?)
			0xB8, 0x11, 0, 0, 0, // mov eax, 0x11
			0xCD, 0x1F, // int 0x1f
		}, [2]uint32{0x20000, 4}, []store{{1, 0x10005}, {3, 0x1000C}}, 0x11223345, 4},
		{"rep stosd into the watched page", []byte{
			0xBF, 0xF0, 0x0F, 0x02, 0x00, // mov edi, 0x20ff0
			0xB9, 0x08, 0, 0, 0, // mov ecx, 8
			0xB8, 0xDD, 0xCC, 0xBB, 0xAA, // mov eax, 0xaabbccdd
			0xF3, 0xAB, // rep stosd
			0xB8, 0x11, 0, 0, 0, // mov eax, 0x11
			0xCD, 0x1F, // int 0x1f
		}, [2]uint32{0x21004, 4}, []store{{3, 0x1000F}}, 0xAABBCCDD, 4},
		{"store crossing into the watched page", []byte{
			0xB9, 0x44, 0x33, 0x22, 0x11, // mov ecx, 0x11223344
			0x89, 0x0D, 0xFE, 0x1F, 0x02, 0x00, // mov [0x21ffe], ecx
			0xB8, 0x11, 0, 0, 0, // mov eax, 0x11
			0xCD, 0x1F, // int 0x1f
		}, [2]uint32{0x22000, 2}, []store{{1, 0x10005}, {1, 0x10005}}, 0x1122, 2}, // byte by byte
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.load(0x10000, tc.code)
			run := func() {
				t.Helper()
				e.c.SetEIP(0x10000)
				e.wantTrap(e.c.Run(1000), 0x1f)
			}
			run() // unwatched: fills the TLB, the bulk path runs
			type hit struct {
				ic    uint64
				eip   uint32
				guest bool
			}
			var hits []hit
			a, n := tc.watch[0], tc.watch[1]
			e.m.SetWatch([][2]uint32{tc.watch}, func(pa, k uint32) {
				if pa < a+n && a < pa+k {
					ic, eip, g := e.c.Writer()
					hits = append(hits, hit{ic, eip, g})
				}
			})
			e.c.DropWriteTLB(a)
			e.m.WriteBytes(a, make([]byte, n)) // the Host's store: not in Run
			if len(hits) != 1 || hits[0].guest || hits[0].eip != e.c.EIP() {
				t.Fatalf("the Host's store: %+v, want one store by the Host at eip %#x", hits, e.c.EIP())
			}
			hits = nil
			start := e.c.ICount()
			run()
			var got []store
			for _, h := range hits {
				if !h.guest {
					t.Errorf("a store in Run named the Host: %+v", h)
				}
				got = append(got, store{h.ic - start, h.eip})
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.stores) {
				t.Errorf("stores heard %v, want %v", got, tc.stores)
			}
			var b [4]byte
			e.m.ReadBytes(a, b[:tc.wantBytes])
			if got := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24; got != tc.want {
				t.Errorf("watched bytes %#x, want %#x", got, tc.want)
			}
			// off: no more calls
			e.m.SetWatch(nil, nil)
			hits = nil
			run()
			if len(hits) != 0 {
				t.Errorf("%d stores heard with the watch off", len(hits))
			}
		})
	}
}

// TestWatchpointStopsRepMovs: with watchpoints set, a REP MOVS or STOS
// still copies whole pages at once except where a page holds a watched
// range; there each element goes the slow way and the one touching the
// watched bytes stops the run after its iteration, with the count, ESI
// and EDI past it. A watchpoint elsewhere changes nothing.
func TestWatchpointStopsRepMovs(t *testing.T) {
	code := []byte{
		0xBE, 0x00, 0x00, 0x20, 0x00, // mov esi, 0x200000
		0xBF, 0x00, 0x00, 0x21, 0x00, // mov edi, 0x210000
		0xB9, 0x00, 0x08, 0, 0, // mov ecx, 2048
		0xF3, 0xA5, // rep movsd
		0xCD, 0x1F, // int 0x1f
	}
	for _, tc := range []struct {
		name       string
		lin, n     uint32
		kind       WatchKind
		wantHit    uint32 // 0: no stop
		wantLeft   uint32 // ECX at the stop
		wantSource uint32 // ESI at the stop
	}{
		{"read watch in the source's second page", 0x201100, 4, WatchRead, 0x201100, 2048 - 1089, 0x201104},
		{"write watch in the destination's first page", 0x210ff8, 4, WatchWrite, 0x210ff8, 2048 - 1023, 0x200ffc},
		{"watch on a page the copy does not touch", 0x300000, 4, WatchAccess, 0, 0, 0x202000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.load(0x10000, code)
			for i := uint32(0); i < 0x2000; i += 4 {
				e.m.Write32(0x200000+i, i)
			}
			e.c.SetWatchpoint(tc.lin, tc.n, tc.kind)
			e.c.SetEIP(0x10000)
			ex := e.c.Run(1000)
			if tc.wantHit == 0 {
				e.wantTrap(ex, 0x1f)
				if v, _ := e.m.Read32(0x211ffc); v != 0x1ffc || e.c.Reg(ESI) != tc.wantSource {
					t.Fatalf("copy ended with %#x at its last word, ESI %#x", v, e.c.Reg(ESI))
				}
				return
			}
			if ex.Reason != ExitWatchpoint || ex.WatchHit != tc.wantHit {
				t.Fatalf("%s, want a watchpoint hit at %#x", exitString(ex), tc.wantHit)
			}
			if ecx, esi := e.c.Reg(ECX), e.c.Reg(ESI); ecx != tc.wantLeft || esi != tc.wantSource {
				t.Errorf("stopped with ECX %d ESI %#x, want %d and %#x", ecx, esi, tc.wantLeft, tc.wantSource)
			}
		})
	}
}
