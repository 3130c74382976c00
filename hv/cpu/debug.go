package cpu

// Execution breakpoints and data watchpoints, checked by the engine (never
// by patching guest memory). With none set they cost one length check per
// block: pages holding a watched address are kept out of the TLB, so only
// the slow access path ever compares addresses.

type watch struct {
	lin, n uint32
	kind   WatchKind
}

// SetBreakpoint sets an execution breakpoint at a linear address.
func (c *CPU) SetBreakpoint(lin uint32) {
	for _, b := range c.bps {
		if b == lin {
			return
		}
	}
	c.bps = append(c.bps, lin)
	c.bpGen++
}

// ClearBreakpoint removes an execution breakpoint.
func (c *CPU) ClearBreakpoint(lin uint32) {
	for i, b := range c.bps {
		if b == lin {
			c.bps = append(c.bps[:i], c.bps[i+1:]...)
			c.bpGen++
			return
		}
	}
}

// bpStops reports whether execution stops at a breakpoint at lin, and
// remembers it as the one to resume from. Resuming from a breakpoint stop
// executes the instruction there (like EFLAGS.RF): the first instruction
// of a Run at the breakpoint last stopped at does not stop again.
//
//go:noinline (runLoop calls it on rare paths only; inlined it costs the hot loop)
func (c *CPU) bpStops(lin uint32, first bool) bool {
	if c.isBP(lin) && !(first && c.bpResumeValid) {
		c.bpResume, c.bpResumeValid = lin, true
		return true
	}
	return false
}

// blockHasBP reports whether a breakpoint lies in blk's linear range, blk
// entered at instruction start at the current EIP. The answer is cached in
// the block for its linear start and the breakpoint-set generation, so a
// block without one costs two compares per run; the cache test is inlined
// into runLoop, the scan (blockBPScan) is not.
func (c *CPU) blockHasBP(blk *block, start int) bool {
	in := &blk.insns[start]
	lin0 := c.sbase[CS] + c.eip - uint32(in.end) + uint32(in.len)
	// bpGen 0 is never a valid key: a fresh block has it, and a checkpoint
	// restore may put the CPU's counter back to 0 (it is copied with the
	// state)
	if blk.bpGen == c.bpGen && blk.bpLin == lin0 && c.bpGen != 0 && !blk.nolink {
		return blk.bpHit
	}
	return c.blockBPScan(blk, lin0)
}

func (c *CPU) blockBPScan(blk *block, lin0 uint32) bool {
	if blk.nolink {
		// scratch: one instruction, decoded afresh each time
		return true
	}
	size := uint32(blk.insns[len(blk.insns)-1].end)
	hit := false
	for _, b := range c.bps {
		if b-lin0 < size {
			hit = true
			break
		}
	}
	blk.bpHit, blk.bpLin, blk.bpGen = hit, lin0, c.bpGen
	return hit
}

func (c *CPU) isBP(lin uint32) bool {
	for _, b := range c.bps {
		if b == lin {
			return true
		}
	}
	return false
}

// SetWatchpoint watches n bytes at lin for the given kind of access.
func (c *CPU) SetWatchpoint(lin, n uint32, kind WatchKind) {
	if n == 0 {
		n = 1
	}
	for _, w := range c.watches {
		if w.lin == lin && w.n == n && w.kind == kind {
			return
		}
	}
	c.watches = append(c.watches, watch{lin, n, kind})
	c.FlushTLB()
}

// ClearWatchpoint removes a watchpoint set with the same arguments.
func (c *CPU) ClearWatchpoint(lin, n uint32, kind WatchKind) {
	if n == 0 {
		n = 1
	}
	for i, w := range c.watches {
		if w.lin == lin && w.n == n && w.kind == kind {
			c.watches = append(c.watches[:i], c.watches[i+1:]...)
			c.FlushTLB()
			return
		}
	}
}

func (c *CPU) pageWatched(lin uint32) bool {
	pg := lin &^ 0xFFF
	for _, w := range c.watches {
		first, last := w.lin&^0xFFF, (w.lin+w.n-1)&^0xFFF
		if pg >= first && pg <= last || (last < first && (pg >= first || pg <= last)) {
			return true
		}
	}
	return false
}

func (c *CPU) checkWatch(lin, n uint32, kind WatchKind) {
	if c.pending&pendExit != 0 {
		return
	}
	for _, w := range c.watches {
		if w.kind&kind == 0 {
			continue
		}
		if lin-w.lin < w.n || w.lin-lin < n {
			c.exitDue = Exit{Reason: ExitWatchpoint, WatchAddr: w.lin, WatchHit: lin, WatchKind: kind}
			c.pending |= pendExit
			return
		}
	}
}

// Writer says who is storing to memory right now, for a write watch
// (mem.Phys.SetWatch) to name the writer. Inside Run or Step it is the
// instruction executing: guest is true, icount is the instructions
// retired before it (a replay to icount stops just before it) and eip
// its address; the stores of an exception delivered through a direct
// gate belong to the instruction that raised it. Outside, the Host is
// writing (a hypercall, a trap's handling, a device): guest is false and
// icount and eip are where the Guest is stopped.
func (c *CPU) Writer() (icount uint64, eip uint32, guest bool) {
	if !c.inRun {
		return c.icount, c.eip, false
	}
	idx, cur := c.locate()
	return c.icount + uint64(idx), cur, true
}
