package cpu

// FuzzCPU runs random code bytes from random register states: the CPU must
// never panic, never hang, and never leave an architecturally impossible
// state behind (CPL other than 1/3, IF/IOPL changed by ring-1/3 code, more
// instructions retired than the budget allowed).
//
//	go test -fuzz=FuzzCPU -run=^$ ./hv/cpu
//
// Seeds live in testdata/fuzz/FuzzCPU (crashers found are kept there as
// regression seeds) and below in f.Add.

import (
	"testing"
	"time"
)

const (
	fuzzRAM  = 2 << 20
	fuzzCode = 0x10000
	// Per-input work is bounded to 16k instructions: random code that
	// writes into its own page makes every instruction invalidate and
	// rebuild its decode block (~12 us each), and at 80k instructions such
	// inputs took up to a second, a twentieth of the rate. Past the first
	// rounds the CPU mostly runs the zero fill after the code bytes anyway.
	fuzzBudget  = 1000
	fuzzRounds  = 16
	fuzzHandler = 0x30000 // direct trap gate target (ring 1)
	fuzzStack1  = 0x1F0000
	hangLimit   = 10 * time.Second // generous: fuzz workers share 2 loaded cores
)

// fuzz mode bits
const (
	fmUser   = 1 << iota // start at CPL 3
	fmPaging             // identity paging with holes and read-only pages
	fmPAE                // PAE tables (with fmPaging)
	fmDirect             // direct trap gates for 0x80 and a few exceptions
)

func FuzzCPU(f *testing.F) {
	f.Add([]byte{0x90, 0x40, 0x01, 0xd8, 0xeb, 0xfc}, uint64(1), uint32(0x8d5), uint8(0))
	f.Add([]byte{0xf3, 0xa5, 0xf3, 0xab, 0xfd, 0xf3, 0xa4}, uint64(2), uint32(0), uint8(fmPaging))
	f.Add([]byte{0xcd, 0x80, 0xcf, 0x9c, 0x9d, 0xfa, 0xfb}, uint64(3), uint32(0x400), uint8(fmUser|fmDirect))
	f.Add([]byte{0x8e, 0xd8, 0x8e, 0xd0, 0x0f, 0x01, 0x10, 0xf4}, uint64(4), uint32(0), uint8(fmPaging|fmPAE))
	f.Add([]byte{0xf7, 0xf1, 0xd4, 0x00, 0x0f, 0x0b, 0xf0, 0x01, 0xc0}, uint64(5), uint32(1), uint8(fmUser))
	f.Add([]byte{0xea, 0, 0, 1, 0, 0x61, 0, 0xcb, 0xca, 4, 0}, uint64(6), uint32(0), uint8(fmDirect))
	f.Add([]byte{0xc8, 0x10, 0, 5, 0xc9, 0x60, 0x61, 0x62, 0x00}, uint64(7), uint32(0), uint8(fmPaging|fmUser))
	f.Add([]byte{0x66, 0x67, 0x8b, 0x02, 0x67, 0x8b, 0x46, 0x10, 0xd7}, uint64(8), uint32(0), uint8(0))
	f.Add([]byte{0x0f, 0xae, 0x00, 0xdb, 0xe3, 0xd9, 0x3d, 0, 0, 2, 0, 0xd8, 0xc1}, uint64(9), uint32(0), uint8(fmPaging))
	f.Add([]byte{0x0f, 0xc7, 0x0e, 0x0f, 0xa2, 0x0f, 0x31, 0xce}, uint64(10), uint32(0x800), uint8(fmDirect))
	f.Fuzz(func(t *testing.T, code []byte, seed uint64, flags uint32, mode uint8) {
		if len(code) > 4096 {
			code = code[:4096]
		}
		mc := fuzzMachine(t, code, seed, flags, mode)
		c := mc.c
		for round := 0; round < fuzzRounds; round++ {
			before := c.ICount()
			stop := time.AfterFunc(hangLimit, c.RequestStop)
			start := time.Now()
			ex := c.Run(fuzzBudget)
			stop.Stop()
			if el := time.Since(start); el >= hangLimit {
				t.Fatalf("Run(%d) took %v (round %d, eip %#x, exit %s): a hang", fuzzBudget, el, round, c.EIP(), exitString(ex))
			}
			if n := c.ICount() - before; n > fuzzBudget {
				t.Fatalf("Run(%d) retired %d instructions", fuzzBudget, n)
			}
			fuzzInvariants(t, mc, ex)
			// Resume the way a Host would (roughly): skip past what stopped
			// us so the run makes progress through the random bytes.
			switch ex.Reason {
			case ExitTrap, ExitUnimplemented:
				c.SetEIP(c.EIP() + 1)
			case ExitBudget, ExitStop, ExitStep, ExitBreakpoint, ExitWatchpoint:
			default:
				t.Fatalf("unknown exit reason %d", ex.Reason)
			}
			// the skip may leave CS-relative EIP anywhere; that is fine,
			// fetches from unmapped or non-RAM addresses must fault cleanly.
		}
	})
}

// fuzzMachine builds a machine with code at fuzzCode, registers from seed
// (half of them pointing into RAM so memory operands mostly work), extra GDT
// descriptors for segment-load paths, and optional paging and direct gates.
func fuzzMachine(t *testing.T, code []byte, seed uint64, flags uint32, mode uint8) *machine {
	mc := newMachineSize(t, fuzzRAM, 64)
	c := mc.c
	// extra descriptors: not-present data, expand-down data, DPL3 code,
	// DPL1 16-bit code, a TSS, a call gate (system descriptors must not load).
	c.SetGDTEntry(6, 0x00CF33000000FFFF)  // data DPL1, not present
	c.SetGDTEntry(7, 0x0040B7000000FFFF)  // expand-down data DPL1, limit 0xFFFF, B=1
	c.SetGDTEntry(8, 0x00CFFB000000FFFF)  // code DPL3
	c.SetGDTEntry(9, 0x0000BB000000FFFF)  // 16-bit code DPL1, limit 64K
	c.SetGDTEntry(16, 0x0000890000000067) // 32-bit TSS
	c.SetGDTEntry(17, 0x0000EC0000610000) // call gate DPL3 -> 0x61:0
	mc.load(fuzzCode, code)
	mc.load(fuzzHandler, []byte{0xcf}) // iret
	r := rng(seed)
	var rg regs
	for i := range rg {
		v := uint32(r.next())
		if r.intn(2) == 0 {
			v %= fuzzRAM
		}
		rg[i] = v
	}
	rg[ESP] = 0x100000 + uint32(r.intn(0x1000))*4
	mc.setRegs(rg)
	if mode&fmUser != 0 {
		mc.flat(3)
	}
	if mode&fmPaging != 0 {
		pt := mc.newPageTables(mode&fmPAE != 0)
		for a := uint32(0); a < fuzzRAM; a += 4096 {
			pte := uint32(ptP | ptRW | ptUS)
			switch x := r.intn(16); {
			case a>>12 == fuzzCode>>12 || a>>12 == fuzzHandler>>12:
			case x == 0:
				continue // hole
			case x == 1:
				pte &^= ptRW
			case x == 2:
				pte &^= ptUS
			}
			pt.mapPage(a, a, ptP|ptRW|ptUS, pte)
		}
		pt.install()
	}
	c.SetRing1Stack(selKDS, fuzzStack1)
	c.SetGate(0x1f, Gate{DPL: 1, Type: 0xE})
	if mode&fmDirect != 0 {
		for _, v := range []int{0, 1, 3, 4, 5, 6, 0x80} {
			c.SetGate(v, Gate{Direct: true, Sel: selKCS, Offset: fuzzHandler, DPL: 3, Type: 0xF})
		}
	}
	c.SetEIP(fuzzCode)
	// status flags, DF and TF from the input; IF on, IOPL 0 (spec §9.4).
	c.SetEFLAGS(flags&(statusFlags|FlagDF|FlagTF|FlagAC) | FlagIF | 2)
	return mc
}

func fuzzInvariants(t *testing.T, mc *machine, ex Exit) {
	c := mc.c
	fl := c.EFLAGS()
	if fl&2 == 0 {
		t.Fatalf("EFLAGS bit 1 clear: %#x", fl)
	}
	// ring 1/3 code with IOPL 0 can never change IF or IOPL (POPF keeps
	// them, CLI/STI fault, IRET keeps them, only trap gates are direct).
	if fl&FlagIF == 0 || fl&FlagIOPL != 0 || fl&FlagVM != 0 {
		t.Fatalf("EFLAGS %#x: IF cleared or IOPL/VM set by guest code (exit %s)", fl, exitString(ex))
	}
	cpl := c.CPL()
	if cpl != 1 && cpl != 3 {
		t.Fatalf("CPL %d", cpl)
	}
	if cs := c.Seg(CS); int(cs.Sel&3) != cpl {
		t.Fatalf("CS selector %#x does not match CPL %d", cs.Sel, cpl)
	}
	if ss := c.Seg(SS); int(ss.Sel&3) != cpl {
		t.Fatalf("SS selector %#x RPL does not match CPL %d", ss.Sel, cpl)
	}
	if ex.Reason == ExitTrap && (ex.Vector < 0 || ex.Vector > 255) {
		t.Fatalf("trap vector %d", ex.Vector)
	}
	if ex.Reason == ExitUnimplemented && len(ex.Insn) == 0 {
		t.Fatalf("ExitUnimplemented at %#x without the instruction bytes", ex.InsnAddr)
	}
}
