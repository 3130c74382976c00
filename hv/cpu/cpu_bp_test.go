package cpu

import "testing"

// A breakpoint on the instruction right after a Host exit must hit: the
// skip that lets a resumed breakpoint execute applies only to the
// breakpoint the CPU last stopped at.
func TestBreakpointRightAfterAHostExit(t *testing.T) {
	e := newEnv(t)
	// int $0x1f (Host exit), nop, nop, jmp .
	e.m.WriteBytes(0x100000, []byte{0xCD, 0x1F, 0x90, 0x90, 0xEB, 0xFE})
	e.c.SetEIP(0x100000)
	e.c.SetBreakpoint(0x100002)
	if x := e.c.Run(100); x.Reason != ExitTrap || x.Vector != 0x1F {
		t.Fatalf("first exit %+v, want the hypercall trap", x)
	}
	if x := e.c.Run(100); x.Reason != ExitBreakpoint || e.c.EIP() != 0x100002 {
		t.Fatalf("exit %+v at %#x, want the breakpoint at 0x100002", x, e.c.EIP())
	}
	// Resuming executes the instruction under the breakpoint.
	e.c.SetBreakpoint(0x100004)
	if x := e.c.Run(100); x.Reason != ExitBreakpoint || e.c.EIP() != 0x100004 {
		t.Fatalf("exit %+v at %#x, want the next breakpoint at 0x100004", x, e.c.EIP())
	}
	// jmp . loops on a breakpoint: resume once, then it hits again.
	if x := e.c.Run(100); x.Reason != ExitBreakpoint || e.c.EIP() != 0x100004 || e.c.ICount() != 4 {
		t.Fatalf("exit %+v at %#x icount %d, want the loop to re-hit after one jmp", x, e.c.EIP(), e.c.ICount())
	}
}

// bpProgram lays out three blocks in one physical page at 0x100000:
//
//	0x100000 A: inc eax x4; jmp B
//	0x100100 B: inc ebx; inc ebx; int $0x1f
//	0x100200 P: jmp A (the entry, so A is reached by a jump)
//
// Linear 0x800000 aliases the same page, as the kernel's load address
// aliases its link address.
func bpProgram(t *testing.T) *env {
	e := newEnv(t)
	jmp := func(from, to uint32) []byte {
		r := to - (from + 5)
		return []byte{0xE9, byte(r), byte(r >> 8), byte(r >> 16), byte(r >> 24)}
	}
	e.load(0x100000, append([]byte{0x40, 0x40, 0x40, 0x40}, jmp(0x100004, 0x100100)...))
	e.load(0x100100, []byte{0x43, 0x43, 0xCD, 0x1F})
	e.load(0x100200, jmp(0x100200, 0x100000))
	e.setPTE(0x800000, 0x100000|7)
	return e
}

func TestBreakpointsPerBlock(t *testing.T) {
	type stop struct {
		eip    uint32 // where the Run stopped (ExitBreakpoint) or 0 for the int $0x1f exit
		icount uint64
	}
	for _, tc := range []struct {
		name  string
		entry uint32   // linear EIP of P
		warm  bool     // run once with no breakpoints first: blocks decoded and chained
		bps   []uint32 // set before the runs
		want  []stop   // successive Runs
	}{
		{"mid-block", 0x100200, false, []uint32{0x100002}, []stop{{0x100002, 3}, {0, 9}}},
		{"mid-block warm", 0x100200, true, []uint32{0x100002}, []stop{{0x100002, 3}, {0, 9}}},
		{"block start reached by a jump", 0x100200, true, []uint32{0x100000}, []stop{{0x100000, 1}, {0, 9}}},
		{"chained block start", 0x100200, true, []uint32{0x100100}, []stop{{0x100100, 6}, {0, 9}}},
		{"chained block middle", 0x100200, true, []uint32{0x100101}, []stop{{0x100101, 7}, {0, 9}}},
		{"every instruction", 0x100200, true,
			[]uint32{0x100200, 0x100000, 0x100001, 0x100002, 0x100003, 0x100004, 0x100100, 0x100101, 0x100102},
			// the first Run starts on P's breakpoint, which is not the
			// one last stopped at: it hits at once
			[]stop{{0x100200, 0}, {0x100000, 1}, {0x100001, 2}, {0x100002, 3}, {0x100003, 4},
				{0x100004, 5}, {0x100100, 6}, {0x100101, 7}, {0x100102, 8}, {0, 9}}},
		{"alias address, breakpoint at the alias", 0x800200, true, []uint32{0x800101}, []stop{{0x800101, 7}, {0, 9}}},
		{"alias address, breakpoint at the other alias", 0x800200, true, []uint32{0x100101}, []stop{{0, 9}}},
		{"identity address, breakpoint at the alias", 0x100200, true, []uint32{0x800003}, []stop{{0, 9}}},
		{"never executed", 0x100200, true, []uint32{0x100005, 0x100104, 0x800000, 0x1FF}, []stop{{0, 9}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := bpProgram(t)
			if tc.warm {
				// run at both linear addresses, so the page's blocks were
				// last checked (or never) at the other one
				for _, a := range []uint32{0x100200, 0x800200, 0x100200, 0x800200} {
					e.c.SetEIP(a)
					e.wantTrap(e.c.Run(100), 0x1f)
				}
				if tc.entry == 0x100200 {
					e.c.SetEIP(0x800200)
				} else {
					e.c.SetEIP(0x100200)
				}
				e.wantTrap(e.c.Run(100), 0x1f)
			}
			for _, b := range tc.bps {
				e.c.SetBreakpoint(b)
			}
			e.c.SetEIP(tc.entry)
			e.c.SetReg(EAX, 0)
			e.c.SetReg(EBX, 0)
			ic0 := e.c.ICount()
			for i, w := range tc.want {
				x := e.c.Run(100)
				got := stop{e.c.EIP(), e.c.ICount() - ic0}
				if w.eip == 0 {
					e.wantTrap(x, 0x1f)
					got.eip = 0
				} else if x.Reason != ExitBreakpoint {
					t.Fatalf("run %d: exit %+v at %#x, want the breakpoint at %#x", i, x, e.c.EIP(), w.eip)
				}
				if got != w {
					t.Fatalf("run %d: stopped at %#x after %d instructions, want %#x after %d", i, got.eip, got.icount, w.eip, w.icount)
				}
			}
			if e.c.Reg(EAX) != 4 || e.c.Reg(EBX) != 2 {
				t.Errorf("eax %d ebx %d at the end, want 4 and 2", e.c.Reg(EAX), e.c.Reg(EBX))
			}
		})
	}
}

// Setting and clearing breakpoints between Runs takes effect in blocks
// already decoded, chained and checked against the old set.
func TestBreakpointsSetAndClearedBetweenRuns(t *testing.T) {
	e := bpProgram(t)
	run := func(wantEIP uint32, wantIcount uint64) {
		t.Helper()
		x := e.c.Run(100)
		if wantEIP == 0 {
			e.wantTrap(x, 0x1f)
		} else if x.Reason != ExitBreakpoint || e.c.EIP() != wantEIP {
			t.Fatalf("exit %+v at %#x, want the breakpoint at %#x", x, e.c.EIP(), wantEIP)
		}
		if e.c.ICount() != wantIcount {
			t.Fatalf("icount %d at %#x, want %d", e.c.ICount(), e.c.EIP(), wantIcount)
		}
	}
	e.c.SetBreakpoint(0x100104) // never executed: every block checked, none holds it
	e.c.SetEIP(0x100200)
	run(0, 9)
	e.c.SetBreakpoint(0x100003)
	e.c.SetEIP(0x100200)
	run(0x100003, 13)
	// cleared while stopped on it, another set ahead
	e.c.ClearBreakpoint(0x100003)
	e.c.SetBreakpoint(0x100100)
	run(0x100100, 15)
	e.c.ClearBreakpoint(0x100100)
	run(0, 18)
	// the last one gone: the whole program runs again
	e.c.ClearBreakpoint(0x100104)
	e.c.SetEIP(0x100200)
	run(0, 27)
	// set again at the start of the Run's first block: it hits at once
	e.c.SetBreakpoint(0x100200)
	e.c.SetEIP(0x100200)
	run(0x100200, 27)
	run(0, 36)
}

// Step with breakpoints set stops after every instruction, and on a
// breakpoint before executing it; the next Step executes it.
func TestBreakpointsWithStep(t *testing.T) {
	e := bpProgram(t)
	e.c.SetBreakpoint(0x100002)
	e.c.SetEIP(0x100200)
	for i, w := range []struct {
		reason ExitReason
		eip    uint32
	}{
		{ExitStep, 0x100000}, {ExitStep, 0x100001}, {ExitStep, 0x100002},
		{ExitBreakpoint, 0x100002}, {ExitStep, 0x100003}, {ExitStep, 0x100004},
	} {
		if x := e.c.Step(); x.Reason != w.reason || e.c.EIP() != w.eip {
			t.Fatalf("step %d: exit %v at %#x, want %v at %#x", i, x.Reason, e.c.EIP(), w.reason, w.eip)
		}
	}
	if e.c.ICount() != 5 {
		t.Errorf("icount %d after five instructions", e.c.ICount())
	}
}
