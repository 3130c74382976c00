package cpu

import (
	"reflect"

	"github.com/lgdbg/lgdbg/hv/internal/fieldcopy"
)

// Checkpoints for time travel. The CPU's architectural state is every field
// of CPU except the caches (TLB, decode cache, the block being executed),
// the debugger's breakpoints and watchpoints (they belong to the present,
// not to history) and the plumbing (memory, the stop request). The copy is
// by reflection over the struct, so a field added to CPU later is captured
// without touching this file; one that holds references must be named
// below (fieldcopy refuses it otherwise, and TestCheckpointPlan fails).

var (
	// cpuNotState: caches, debugger state and plumbing.
	cpuNotState = []string{
		"m", "ram", "stopReq", "gen",
		"tlbR", "tlbW", "rt", "wt",
		"pages", "blk", "blkStart", "blkN", "blkEIP", "first", "sBlk", "sIdx", "sNext", "sGen", "scratch", "scratchBuf", "truncBuf", "jit", "jitOff", "jitTmp", "jitHot", "jitBlks", "jitCur", "jitLink", "jitChain",
		"bps", "bpGen", "watches", "skipBP", "exitDue", "bpResume", "bpResumeValid", "inRun",
	}
	// cpuShared: copied shallowly; Exit.Insn is never mutated once made.
	cpuShared = []string{"flt"}
	cpuPlan   = fieldcopy.Must(reflect.TypeOf(CPU{}), cpuNotState, cpuShared)
)

// State is a saved copy of the CPU's architectural state.
type State struct{ c CPU }

// SaveState copies the architectural state.
func (c *CPU) SaveState() *State {
	s := &State{}
	cpuPlan.Copy(&s.c, c)
	// What no read of the flags sees is cleared (canonFlags), so that a
	// state is the same whichever engine reached it: the translator does
	// not keep an inc's CF in c.flags when the next producer replaces
	// it, nor store a logic op's operands.
	canonFlags(&s.c.lazy, &s.c.flags)
	canonFlags(&s.c.hostSnap.lazy, &s.c.hostSnap.flags) // a copy of them
	return s
}

// canonFlags clears what no read of the flags can see: the bits of flags
// the lazy record owns, a logic op's operands (no flag is computed from
// them; the translator does not store them), the whole record but a
// rotate once the flags are committed (op lfNone), and the rotate's
// fields when there is none.
func canonFlags(l *lazyFlags, flags *uint32) {
	*flags &^= l.ownedBits()
	switch l.op {
	case lfNone:
		l.sh, l.res, l.a, l.b = 0, 0, 0, 0
	case lfLogic:
		l.a, l.b = 0, 0
	}
	if l.rop == 0 {
		l.rsh, l.rres = 0, 0
	}
}

// RestoreState puts saved state back and drops every cache derived from
// the state or from memory (the caller restores memory around it): the
// TLB, the decoded blocks and the block being executed. A breakpoint the
// CPU was resuming past is forgotten.
func (c *CPU) RestoreState(s *State) {
	cpuPlan.Copy(c, &s.c)
	c.blk, c.blkN, c.blkEIP = nil, 0, 0
	c.sBlk = nil
	c.bpResumeValid = false
	c.skipBP = false
	c.setCPL(c.cpl) // rt/wt follow the restored privilege level
	c.FlushTLB()
	c.FlushDecodeCache()
}

// ResumeAtBreakpoint makes the next Run or Step execute the instruction
// at EIP even if a breakpoint is set there (as after a breakpoint stop):
// a debugger that arrived here by travelling in time continues forward.
func (c *CPU) ResumeAtBreakpoint() {
	c.bpResume, c.bpResumeValid = c.eip, true
}

// SuspendDebug removes every breakpoint and watchpoint until the returned
// function puts them back: a replay to an instant in history must not stop
// on the way.
func (c *CPU) SuspendDebug() (resume func()) {
	bps, ws := c.bps, c.watches
	c.bps, c.watches = nil, nil
	if len(ws) > 0 {
		c.FlushTLB()
	}
	return func() {
		c.bps, c.watches = bps, ws
		if len(ws) > 0 {
			c.FlushTLB()
		}
	}
}

// Resume is where the CPU resumes past a breakpoint (ResumeAtBreakpoint),
// debugger state a checkpoint does not hold.
type Resume struct {
	lin         uint32
	valid, skip bool
}

// SaveResume copies the breakpoint-resume state, for a caller that
// restores a checkpoint of the present and must leave the debugger's
// view of it exactly as it was.
func (c *CPU) SaveResume() Resume { return Resume{c.bpResume, c.bpResumeValid, c.skipBP} }

// RestoreResume puts SaveResume's copy back.
func (c *CPU) RestoreResume(r Resume) { c.bpResume, c.bpResumeValid, c.skipBP = r.lin, r.valid, r.skip }
