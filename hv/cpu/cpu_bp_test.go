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
