package cpu

import (
	"sync/atomic"

	"github.com/lgdbg/lgdbg/hv/mem"
)

// regNone is the index of the always-zero pseudo register used by decoded
// effective addresses without a base or index: c.r[regNone] is 0, so address
// generation needs no branches.
const regNone = 8

// pending bits: something happened during an instruction that must end the
// current decoded block before the next instruction starts.
const (
	pendCode    = 1 << iota // a code page was written: the block may be stale
	pendExit                // an exit is due after this instruction (c.exitDue): a watchpoint matched, or a software interrupt for the Host retired
	pendStop                // RequestStop
	pendRestart             // the instruction stopped early and will restart (REP)
)

// CPU is the software i386. It is not safe for concurrent use except for
// RequestStop.
type CPU struct {
	// bpResume is the breakpoint the last ExitBreakpoint stopped at:
	// the next Run/Step executes it instead of stopping again (the
	// role EFLAGS.RF plays on hardware), until EIP moves elsewhere.
	bpResume      uint32
	bpResumeValid bool

	// r holds the general registers; r[8] is always 0 (regNone). Indices
	// 9..255 are never used: sized for the uint8 register numbers of
	// decoded instructions, so indexing needs no bounds check (about 2
	// host instructions per register access in the interpreter loop).
	r   [256]uint32
	eip uint32 // during execution: the address of the *next* instruction
	cur uint32 // address of the faulting instruction (set by locate)
	// the block being executed: blkN instructions from index blkStart,
	// the first at blkEIP (see locate); blkN == 0 outside a block
	blk      *block
	blkStart int
	blkN     int
	blkEIP   uint32
	// first is true until Run's first block starts (a breakpoint at the
	// resume address only stops there when it was not just resumed from)
	first bool
	lazy  lazyFlags
	// flags holds every EFLAGS bit; the six arithmetic bits are only
	// authoritative when lazy.op == lfNone.
	flags uint32

	seg   [6]Segment
	sbase [8]uint32 // segment bases, indexed like seg (6,7 unused)
	schkR [8]bool   // true: reads through this segment need the slow checks
	schkW [8]bool   // same for writes
	// flatData is 1 when DS, ES and SS are flat, based at 0 and allow
	// reads and writes without checks: translated code then checks this
	// byte once instead of each access's segment (jcomp.access)
	flatData uint8
	cpl      int
	halted   bool

	// system state owned by the Host
	gdt       [32]uint64
	idt       [256]Gate
	ss1       uint16
	esp1      uint32
	gdtBase   uint32
	idtBase   uint32
	paging    bool
	cr3       uint32
	pae       bool
	ts        bool
	cr2       uint32
	tscOffset uint64
	icount    uint64
	stopAt    uint64
	stopReq   atomic.Bool
	pending   uint32
	gen       uint64 // chain-link generation (see block)
	m         *mem.Phys
	ram       []byte
	fpu       fpuState
	fpuSnap   fpuState
	// fpuSnapValid: an x87 data instruction is in progress (see x87data)
	fpuSnapValid bool
	hostSnap     snapshot // register snapshot for multi-step instructions
	snapValid    bool
	noStepTrap   bool // a software interrupt was delivered (it clears TF)

	// software TLB: [user][entry]; separate read and write arrays so a hit
	// is one compare (see mmu.go).
	tlbR [2][tlbSize]tlbEntry
	tlbW [2][tlbSize]tlbEntry
	rt   *[tlbSize]tlbEntry
	wt   *[tlbSize]tlbEntry

	// decode cache, indexed by physical page number
	pages []*codePage
	// one-instruction mode (Step, breakpoints, TF) continues inside this
	// block at sIdx while EIP == sNext and nothing was flushed (sGen)
	sBlk    *block
	sIdx    int
	sNext   uint32
	sGen    uint64
	scratch block // for instructions decoded outside the cache
	// the block translator's executable memory (nil until a block is
	// hot) and whether translation is off (SetTranslate)
	jit    *jitArena
	jitOff bool
	jitTmp uint32 // translated code's spill slot
	jitHot uint16 // whole runs before a block is translated (jitThreshold)
	// translated blocks by handle (a chained run reports the block it
	// ended in as jitCur, its handle), and the link cell of the last
	// finished exit, to fill with the block run next (see jitLink)
	jitBlks  []*block
	jitCur   uint32
	jitLink  uint32
	jitChain uint32 // blocks a translated run may still chain into
	// backing arrays of sealed instruction runs made per Run: the
	// scratch block's and a block's first n instructions (see seal)
	scratchBuf [2]insn
	truncBuf   [maxBlock + 1]insn

	// debugging
	bps     []uint32
	bpGen   uint64 // bumped when bps changes: invalidates block.bpHit
	watches []watch
	skipBP  bool
	exitDue Exit
	// inRun: Run or Step is executing, so a store is an instruction's
	// (Writer)
	inRun bool

	// the fault being raised (see raise)
	flt     Exit
	fltKind int
}

// snapshot is the register state an instruction with several visible side
// effects (far transfers, interrupts, PUSHA...) saves first, so a fault in
// the middle restores everything (faults restart, spec §5.6).
type snapshot struct {
	r     [9]uint32
	lazy  lazyFlags
	flags uint32
	seg   [6]Segment
	cpl   int
}

// New makes a CPU over physical memory m: flat 32-bit ring-1 segments from
// the standard guest GDT entries are *not* loaded (the Host does that);
// paging is off. It installs m.OnCodeWrite for decode-cache invalidation.
func New(m *mem.Phys) *CPU {
	c := &CPU{m: m, ram: m.Bytes()}
	c.pages = make([]*codePage, len(m.Code))
	m.OnCodeWrite = c.codeWritten
	c.flags = 0x2 | FlagIF
	c.rt = &c.tlbR[0]
	c.wt = &c.tlbW[0]
	c.fpu.reset()
	c.scratch.nolink = true
	c.jitOff = !jitDefault
	c.jitHot = jitThreshold
	for i := range c.seg {
		c.setSegCache(SReg(i), Segment{})
	}
	return c
}

// Reg returns a general register.
func (c *CPU) Reg(r Reg) uint32 {
	if r < 0 || r > EDI {
		return 0
	}
	return c.r[r]
}

// SetReg sets a general register.
func (c *CPU) SetReg(r Reg, v uint32) {
	if r < 0 || r > EDI {
		return
	}
	c.r[r] = v
}

// EIP returns the instruction pointer.
func (c *CPU) EIP() uint32 { return c.eip }

// SetEIP sets the instruction pointer.
func (c *CPU) SetEIP(v uint32) { c.eip = v }

// EFLAGS materialises the lazy arithmetic flags. Bit 1 is always set.
func (c *CPU) EFLAGS() uint32 { return c.getFlags() }

// SetEFLAGS loads EFLAGS wholesale (Host side: no privilege rules). The
// reserved bits are forced to their fixed values.
func (c *CPU) SetEFLAGS(v uint32) {
	c.lazy.op, c.lazy.rop = lfNone, 0
	c.flags = v&0x003F7FD5 | 2
}

// Seg returns a segment register with its descriptor cache.
func (c *CPU) Seg(s SReg) Segment {
	if s < ES || s > GS {
		return Segment{}
	}
	return c.seg[s]
}

// SetSegRaw loads a descriptor cache without checks (tests, flat set-ups).
// Loading CS sets CPL to the selector's RPL.
func (c *CPU) SetSegRaw(s SReg, seg Segment) {
	if s < ES || s > GS {
		return
	}
	c.setSegCache(s, seg)
	if s == CS {
		c.setCPL(int(seg.Sel & 3))
	}
}

// CPL is the current privilege level.
func (c *CPU) CPL() int { return c.cpl }

func (c *CPU) setCPL(cpl int) {
	c.gen++
	c.cpl = cpl
	u := 0
	if cpl == 3 {
		u = 1
	}
	c.rt = &c.tlbR[u]
	c.wt = &c.tlbW[u]
}

// SetGDTEntry sets live GDT entry i (0..31); out-of-range indices are ignored.
func (c *CPU) SetGDTEntry(i int, desc uint64) {
	if i >= 0 && i < len(c.gdt) {
		c.gdt[i] = desc
	}
}

// GDTEntry returns live GDT entry i (0 outside the table).
func (c *CPU) GDTEntry(i int) uint64 {
	if i >= 0 && i < len(c.gdt) {
		return c.gdt[i]
	}
	return 0
}

// SetGate sets a live IDT entry.
func (c *CPU) SetGate(vector int, g Gate) {
	if vector >= 0 && vector < 256 {
		c.idt[vector] = g
	}
}

// Gate returns a live IDT entry.
func (c *CPU) Gate(vector int) Gate {
	if vector >= 0 && vector < 256 {
		return c.idt[vector]
	}
	return Gate{}
}

// SetRing1Stack sets the TSS ss1:esp1 used by ring 3 -> 1 direct traps.
func (c *CPU) SetRing1Stack(ss1 uint16, esp1 uint32) { c.ss1, c.esp1 = ss1, esp1 }

// SetTableBases sets what SGDT/SIDT report.
func (c *CPU) SetTableBases(gdtBase, idtBase uint32) { c.gdtBase, c.idtBase = gdtBase, idtBase }

// SetPaging installs the shadow page table root. enabled=false (tests only)
// makes linear addresses physical. The TLB is flushed.
func (c *CPU) SetPaging(enabled bool, cr3 uint32, pae bool) {
	c.paging, c.cr3, c.pae = enabled, cr3, pae
	c.FlushTLB()
}

// CR3 returns the current shadow root.
func (c *CPU) CR3() uint32 { return c.cr3 }

// PAE reports whether PAE paging is on.
func (c *CPU) PAE() bool { return c.pae }

// CR2 returns the last page-fault linear address.
func (c *CPU) CR2() uint32 { return c.cr2 }

// SetTS sets CR0.TS (spec §5.9).
func (c *CPU) SetTS(ts bool) { c.ts = ts }

// TS returns CR0.TS.
func (c *CPU) TS() bool { return c.ts }

// SetTSCOffset sets the virtual TSC offset: RDTSC = ICount() + off.
func (c *CPU) SetTSCOffset(off uint64) { c.tscOffset = off }

// ICount is the number of retired instructions.
func (c *CPU) ICount() uint64 { return c.icount }

// RequestStop makes Run return ExitStop at the next instruction boundary.
// It is safe to call from any goroutine.
func (c *CPU) RequestStop() { c.stopReq.Store(true) }

func (c *CPU) save() {
	c.hostSnap = snapshot{r: [9]uint32(c.r[:9]), lazy: c.lazy, flags: c.flags, seg: c.seg, cpl: c.cpl}
	c.snapValid = true
}

func (c *CPU) restore() {
	s := &c.hostSnap
	copy(c.r[:9], s.r[:])
	c.lazy, c.flags = s.lazy, s.flags
	for i := range c.seg {
		if c.seg[i] != s.seg[i] {
			c.setSegCache(SReg(i), s.seg[i])
		}
	}
	if c.cpl != s.cpl {
		c.setCPL(s.cpl)
	}
	c.snapValid = false
}
