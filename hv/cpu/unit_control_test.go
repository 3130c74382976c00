package cpu

// Self-modifying code (Linux patches its own code at boot: alternatives,
// paravirt patching), and the execution-control contract
// the Host and gdb stub rely on (api.go): Run budgets, RequestStop,
// breakpoints and watchpoints.

import (
	"testing"
	"time"
)

// TestUnitSelfModifyingCode: a store into the instruction stream takes effect
// for the instructions that follow it (SDM vol. 3 §8.1.3), whichever path
// the store takes: a plain MOV to the very next instruction, a REP STOSB, a
// write through another linear alias of the same frame, and a loop that
// patches itself while Run is going.
func TestUnitSelfModifyingCode(t *testing.T) {
	mc := newMachine(t)
	c := mc.c
	// mov byte [0x2008], 0x42 ; (at 0x2007:) mov al, 0x00 -> becomes mov al, 0x42
	mc.setRegs(regs{0, 0, 0, 0, 0x8000, 0, 0, 0})
	mc.at(0x2000, 0xC6, 0x05, 0x08, 0x20, 0, 0, 0x42, 0xB0, 0x00)
	mc.wantStep("patching store", c.Step(), 0x2007)
	mc.wantStep("patched instruction", c.Step(), 0x2009)
	if al := c.Reg(EAX) & 0xFF; al != 0x42 {
		t.Errorf("next instruction patched by a store: AL = %#x, want 0x42 (stale decode cache)", al)
	}
	// the same through Run (one decoded block)
	mc.setRegs(regs{0, 0, 0, 0, 0x8000, 0, 0, 0})
	mc.at(0x3000, 0xC6, 0x05, 0x08, 0x30, 0, 0, 0x43, 0xB0, 0x00, 0xCD, 0x1F)
	c.SetGate(0x1f, Gate{DPL: 1, Type: 0xE})
	ex := c.Run(100)
	if ex.Reason != ExitTrap || ex.Vector != 0x1F || c.Reg(EAX)&0xFF != 0x43 {
		t.Errorf("patch inside a Run block: exit %s AL %#x, want hypercall and 0x43", exitString(ex), c.Reg(EAX)&0xFF)
	}
	// rep stosb (AL=0x90, 4 bytes at 0x400A) overwrites the "mov al, 7"
	// that follows it in the same straight-line block with NOPs
	mc.setRegs(regs{0x90, 4, 0, 0, 0x8000, 0, 0, 0x400A})
	mc.load(0x4000, []byte{0xFC, 0xF3, 0xAA})                                     // cld ; rep stosb
	mc.load(0x4003, []byte{0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0xB0, 0x07}) // 7 nops ; mov al, 7
	mc.load(0x400C, []byte{0x90, 0x90, 0xCD, 0x1F})                               // nop nop ; int 0x1f
	c.SetEIP(0x4000)
	ex = c.Run(100)
	if ex.Reason != ExitTrap || ex.Vector != 0x1F {
		t.Fatalf("rep stosb over code: exit %s at %#x", exitString(ex), c.EIP())
	}
	if al := c.Reg(EAX) & 0xFF; al != 0x90 {
		t.Errorf("rep stosb replaced 'mov al,7' with NOPs, yet AL = %#x (want 0x90: the old instruction ran)", al)
	}
	// alias: linear 0x800000 and 0x2000 map the same frame; patch via the alias
	pt := mc.newPageTables(false)
	pt.identity(0x100000)
	pt.mapPage(0x800000, 0x5000, ptP|ptRW|ptUS, ptP|ptRW|ptUS)
	pt.install()
	mc.load(0x5000, []byte{0xB0, 0x00, 0xCD, 0x1F}) // mov al,0 ; int 0x1f
	c.SetEIP(0x5000)
	ex = c.Run(10) // decode and run it once
	mc.setRegs(regs{0, 0, 0, 0x800001, 0x8000, 0, 0, 0})
	mc.at(0x6000, 0xC6, 0x03, 0x55, 0xCD, 0x1F) // mov byte [ebx], 0x55 ; int 0x1f
	ex = c.Run(10)
	if ex.Reason != ExitTrap {
		t.Fatalf("alias store: %s", exitString(ex))
	}
	c.SetEIP(0x5000)
	ex = c.Run(10)
	if al := c.Reg(EAX) & 0xFF; ex.Reason != ExitTrap || al != 0x55 {
		t.Errorf("code patched through another linear alias: AL = %#x (exit %s), want 0x55", al, exitString(ex))
	}
}

// TestUnitRunBudgetAndStop: Run(n) retires exactly n instructions and
// returns ExitBudget; RequestStop from another goroutine ends Run at an
// instruction boundary; ICount counts retired instructions only.
func TestUnitRunBudgetAndStop(t *testing.T) {
	mc := newMachine(t)
	c := mc.c
	mc.setRegs(regs{0, 0, 0, 0, 0x8000, 0, 0, 0})
	mc.at(0x2000, 0x40, 0xEB, 0xFD) // inc eax ; jmp back
	for _, n := range []uint64{1, 2, 7, 1000, 123457} {
		before, eax := c.ICount(), c.Reg(EAX)
		ex := c.Run(n)
		if ex.Reason != ExitBudget || c.ICount()-before != n {
			t.Errorf("Run(%d): %s, retired %d", n, exitString(ex), c.ICount()-before)
		}
		// the loop alternates inc/jmp: eax advanced by about n/2
		if d := c.Reg(EAX) - eax; d < uint32(n/2) || d > uint32(n/2+1) {
			t.Errorf("Run(%d): eax advanced by %d", n, d)
		}
	}
	done := make(chan Exit, 1)
	go func() { done <- c.Run(1 << 62) }()
	time.Sleep(20 * time.Millisecond)
	c.RequestStop()
	select {
	case ex := <-done:
		if ex.Reason != ExitStop {
			t.Errorf("after RequestStop: %s, want Stop", exitString(ex))
		}
		if e := c.EIP(); e != 0x2000 && e != 0x2001 {
			t.Errorf("stopped at %#x: not an instruction boundary of the loop", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RequestStop did not stop Run within 10 s")
	}
	// the stop request is consumed: the next Run runs
	if ex := c.Run(10); ex.Reason != ExitBudget {
		t.Errorf("Run after a stop: %s, want Budget", exitString(ex))
	}
}

// TestUnitBreakWatch: an execution breakpoint stops before the instruction;
// resuming executes it (no re-trigger); a write watchpoint reports after the
// writing instruction with the addresses, a read watchpoint ignores writes.
func TestUnitBreakWatch(t *testing.T) {
	mc := newMachine(t)
	c := mc.c
	mc.setRegs(regs{0, 0, 0, 0x6000, 0x8000, 0, 0, 0})
	// 0x2000: inc eax ; 0x2001: mov [ebx+2], eax ; 0x2004: mov ecx, [ebx] ; 0x2006: jmp 0x2000
	mc.at(0x2000, 0x40, 0x89, 0x43, 0x02, 0x8B, 0x0B, 0xEB, 0xF8)
	c.SetBreakpoint(0x2001)
	ex := c.Run(100)
	if ex.Reason != ExitBreakpoint || c.EIP() != 0x2001 || c.Reg(EAX) != 1 {
		t.Fatalf("breakpoint: %s eip %#x eax %d, want Breakpoint at 0x2001 after one inc", exitString(ex), c.EIP(), c.Reg(EAX))
	}
	ic := c.ICount()
	ex = c.Run(1)
	if ex.Reason != ExitBudget || c.EIP() != 0x2004 || c.ICount() != ic+1 {
		t.Errorf("resume from a breakpoint: %s eip %#x, want the store executed (eip 0x2004)", exitString(ex), c.EIP())
	}
	ex = c.Run(100)
	if ex.Reason != ExitBreakpoint || c.EIP() != 0x2001 || c.Reg(EAX) != 2 {
		t.Errorf("breakpoint, second lap: %s eip %#x eax %d", exitString(ex), c.EIP(), c.Reg(EAX))
	}
	c.ClearBreakpoint(0x2001)
	// write watchpoint on 0x6004 (1 byte): the dword store to 0x6002 covers it
	c.SetWatchpoint(0x6004, 1, WatchWrite)
	ex = c.Run(100)
	if ex.Reason != ExitWatchpoint || c.EIP() != 0x2004 {
		t.Fatalf("write watchpoint: %s eip %#x, want Watchpoint after the store (eip 0x2004)", exitString(ex), c.EIP())
	}
	if ex.WatchAddr != 0x6004 || ex.WatchKind&WatchWrite == 0 {
		t.Errorf("write watchpoint: addr %#x kind %d", ex.WatchAddr, ex.WatchKind)
	}
	if ex.WatchHit < 0x6002 || ex.WatchHit > 0x6004 {
		t.Errorf("write watchpoint: hit %#x, want the accessed range 0x6002..0x6005", ex.WatchHit)
	}
	if got := mc.r32(0x6002); got != c.Reg(EAX) {
		t.Errorf("watchpoint reported before the store completed: mem %#x eax %#x", got, c.Reg(EAX))
	}
	c.ClearWatchpoint(0x6004, 1, WatchWrite)
	// read watchpoint on 0x6000: the store to 0x6002 does not trigger it,
	// the load from 0x6000 does
	c.SetWatchpoint(0x6000, 4, WatchRead)
	c.SetEIP(0x2000)
	ex = c.Run(100)
	if ex.Reason != ExitWatchpoint || c.EIP() != 0x2006 || ex.WatchKind&WatchRead == 0 {
		t.Errorf("read watchpoint: %s eip %#x, want Watchpoint after the load (eip 0x2006)", exitString(ex), c.EIP())
	}
	c.ClearWatchpoint(0x6000, 4, WatchRead)
	if ex := c.Run(50); ex.Reason != ExitBudget {
		t.Errorf("after clearing everything: %s, want Budget", exitString(ex))
	}
}
