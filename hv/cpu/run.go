package cpu

import (
	"math/bits"
	"unsafe"
)

// How the CPU is built:
//
//   - Decode once: decode.go turns bytes into an insn (handler number,
//     operand size, ModRM split into base/index/scale/disp/segment,
//     immediates, length); the hottest 32-bit forms get dedicated handler
//     numbers (specialise). Instructions are cached as blocks (runs ending at
//     a control transfer, an exit-prone instruction or the page end) per
//     *physical* page; mem.Phys.Code marks those pages and OnCodeWrite drops
//     a page's blocks when anything writes to it.
//   - Chaining: each block remembers the two blocks that followed it, valid
//     while c.gen is unchanged (TLB flushes, code invalidation, CS/CPL
//     changes bump it), so most block transitions skip the TLB and the
//     decode-cache lookup.
//   - Lazy flags (flags.go): producers record operands and result; flags are
//     computed only when read.
//   - Software TLB (mmu.go): linear page -> physical page, separate read and
//     write arrays per privilege class, filled from page walks that set A/D
//     in the shadow entries; code pages never enter the write arrays.
//   - Faults are Go panics carrying no data (the fault itself is in c.flt),
//     recovered once per Run rather than checked after every memory access;
//     the hot path has no error plumbing. Instructions with several visible
//     side effects snapshot the registers first (save/restore) so a fault
//     in the middle leaves the state of the faulting instruction.
//
// Known limits: 16-bit code segments exit as unimplemented and stacks are
// always 32-bit (B=1); no task switches, call/task gates (#GP), LDT or
// alignment checks; x87 arithmetic outside the exact subset of fpuarith.go
// and SIMD outside sse.go exit as unimplemented; with paging off (tests
// only) an access outside mem.Phys is a not-present #PF.

type cpuSignal struct{}

// faultSignal is the only value the CPU ever panics with.
var faultSignal = &cpuSignal{}

// fault kinds recorded alongside c.flt
const (
	fkFault  = iota // restart: EIP = the faulting instruction
	fkUnimpl        // ExitUnimplemented, EIP = the instruction
)

const maxBlock = 64

const insnSize = unsafe.Sizeof(insn{})

// block is a run of decoded instructions in one physical page, ending at a
// control transfer, an exit-prone instruction or the page end.
type block struct {
	insns []insn
	// chain links to the blocks that followed this one last time, valid
	// while gen == c.gen (any TLB flush, decode-cache invalidation, CS or
	// CPL change bumps c.gen)
	l0, l1       *block
	l0eip, l1eip uint32
	gen          uint64
	nolink       bool // scratch blocks are never linked
	// bpHit caches whether a breakpoint lies in the block's linear range
	// when it starts at linear address bpLin, valid while bpGen ==
	// c.bpGen. A block is decoded per physical page but may run at
	// several linear addresses (the kernel's load-address alias), so the
	// linear start is part of the key.
	bpHit bool
	bpLin uint32
	bpGen uint64
	// the block's translation (jit.go): valid while jitGen is the
	// arena's generation; jitRuns counts whole runs until it is made,
	// jitNo says it is not worth making
	jitCode   uintptr
	jitGen    uint32
	jitHandle uint32 // index in c.jitBlks + 1
	jitRuns   uint16
	jitNo     bool
}

// codePage is the decode cache of one physical page.
type codePage struct {
	idx    [4096]uint16 // block index + 1 by page offset, 0 = none
	blocks []*block
	// decoded has bit i set when some block ever decoded (since the page
	// was last invalidated) holds a byte of [64i, 64i+64): a write
	// elsewhere in the page (data next to code) needs no invalidation
	decoded uint64
}

// chunks is the decoded-mask of the page bytes [off, off+n), n > 0.
func chunks(off, n uint32) uint64 {
	lo, hi := off>>6, (off+n-1)>>6
	return (^uint64(0) >> (63 - hi)) &^ (1<<lo - 1)
}

// raise raises a fault (the instruction restarts).
func (c *CPU) raise(vec int, err uint32, hasErr bool) {
	c.flt = Exit{Reason: ExitTrap, Vector: vec, ErrCode: err, HasErr: hasErr}
	c.fltKind = fkFault
	panic(faultSignal)
}

// unimpl stops with ExitUnimplemented naming the instruction.
func (c *CPU) unimpl(in *insn) {
	_, c.cur = c.locate()
	b := make([]byte, in.len)
	if c.ReadVirt(c.sbase[CS]+c.cur, b) != nil {
		b = nil
	}
	c.flt = Exit{Reason: ExitUnimplemented, InsnAddr: c.sbase[CS] + c.cur, Insn: b}
	c.fltKind = fkUnimpl
	panic(faultSignal)
}

// try runs f and returns the fault it raised, if any (slow paths only).
func (c *CPU) try(f func()) (flt *Exit) {
	defer func() {
		if r := recover(); r != nil {
			if r != faultSignal {
				panic(r)
			}
			e := c.flt
			flt = &e
		}
	}()
	f()
	return nil
}

// Run executes until an exit; ExitBudget after budget retired instructions.
func (c *CPU) Run(budget uint64) Exit { return c.run(budget, false) }

// Step executes exactly one instruction (or the exit it raises).
func (c *CPU) Step() Exit { return c.run(1, true) }

func (c *CPU) run(budget uint64, step bool) Exit {
	// a code write from the Host since the last Run only matters for the
	// block in flight, and there is none
	c.pending = 0
	c.stopAt = c.icount + budget
	if c.stopAt < c.icount {
		c.stopAt = ^uint64(0)
	}
	c.first = true
	c.inRun = true
	for {
		ex, done := c.runGuarded(step)
		if done {
			c.inRun = false
			return ex
		}
	}
}

// runGuarded recovers the faults runLoop raises. The recover lives here,
// not in runLoop, so the interpreter loop has no deferred closure holding
// its locals: the compiler then keeps the loop's state in registers
// (about 3 host instructions per guest instruction on the kernel-like
// guest).
func (c *CPU) runGuarded(step bool) (ex Exit, done bool) {
	defer func() {
		if r := recover(); r != nil {
			if r != faultSignal {
				panic(r)
			}
			ex, done = c.onFault()
			if !done && step {
				// Step stops at the handler's first instruction after a
				// fault delivered through a direct gate.
				ex, done = Exit{Reason: ExitStep}, true
			}
			c.first = false
		}
	}()
	return c.runLoop(step)
}

func (c *CPU) runLoop(step bool) (ex Exit, done bool) {
	var blk *block
	// Breakpoints cannot change during Run (only RequestStop is
	// goroutine-safe), so whether they are checked at all is decided once.
	// With breakpoints set, only a block whose linear range holds one runs
	// one instruction at a time; the others run whole.
	bpsOn := len(c.bps) > 0
	for {
		if c.stopReq.Load() {
			c.stopReq.Store(false)
			return Exit{Reason: ExitStop}, true
		}
		if c.icount >= c.stopAt {
			if step {
				return Exit{Reason: ExitStep}, true
			}
			return Exit{Reason: ExitBudget}, true
		}
		// Resuming from a breakpoint stop executes the instruction there
		// (like EFLAGS.RF); anywhere else, including the first
		// instruction after a trap the Host handled, a breakpoint hits.
		if bpsOn && c.bpResumeValid && c.sbase[CS]+c.eip != c.bpResume {
			c.bpResumeValid = false
		}
		// Follow the previous block's chain link when it is still valid
		// (same target EIP, nothing flushed since: see c.gen).
		// One instruction at a time (Step, breakpoints, TF): continue
		// inside the current block while execution is sequential, so no
		// block is decoded per instruction address.
		start := 0
		var nb *block
		if c.sBlk != nil {
			if c.sGen == c.gen && c.eip == c.sNext && c.sIdx < len(c.sBlk.insns) {
				nb, start = c.sBlk, c.sIdx
			}
			c.sBlk = nil
		}
		if nb == nil && blk != nil && blk.gen == c.gen {
			if blk.l0eip == c.eip && blk.l0 != nil {
				nb = blk.l0
			} else if blk.l1eip == c.eip && blk.l1 != nil {
				nb = blk.l1
			}
		}
		if nb == nil {
			// before the fetch, which may fault: a breakpoint on an
			// instruction whose page is not present stops first
			if bpsOn && c.bpStops(c.sbase[CS]+c.eip, c.first) {
				return Exit{Reason: ExitBreakpoint}, true
			}
			nb = c.lookup()
			if blk != nil && !blk.nolink && !nb.nolink {
				if blk.gen != c.gen {
					blk.l0, blk.l1, blk.gen = nil, nil, c.gen
				}
				if blk.l0 == nil {
					blk.l0, blk.l0eip = nb, c.eip
				} else {
					blk.l1, blk.l1eip = nb, c.eip
				}
			}
		}
		blk = nb
		n := len(blk.insns) - start
		if left := c.stopAt - c.icount; uint64(n) > left {
			n = int(left)
		}
		// in0: the first instruction to run (no slice of blk.insns is
		// made per block: bounds are n and start, checked above)
		first := unsafe.Add(unsafe.Pointer(unsafe.SliceData(blk.insns)), uintptr(start)*insnSize)
		in0 := (*insn)(first)
		if n < len(blk.insns)-start {
			// fewer than the block's remaining instructions (budget): run
			// a sealed copy of them
			first = unsafe.Pointer(unsafe.SliceData(seal(c.truncBuf[:n], blk.insns[start:start+n])))
		}
		// TF: a #DB trap after every instruction that started with TF
		// set (SDM vol.3 17.3.1.4), so one instruction at a time.
		tf := c.flags&FlagTF != 0
		whole := !step && !tf // the block runs whole: it may run translated
		if step || tf || bpsOn {
			slow := step
			// (a second bpStops after the one before lookup answers the same)
			if bpsOn && c.blockHasBP(blk, start) {
				if c.bpStops(c.sbase[CS]+c.eip, c.first) {
					return Exit{Reason: ExitBreakpoint}, true
				}
				slow, whole = true, false
			}
			if slow || tf {
				// noStepTrap only matters for a block run with TF set
				c.noStepTrap = false
				n = 1
				first = unsafe.Pointer(unsafe.SliceData(seal(c.truncBuf[:1], blk.insns[start:start+1])))
				if start+1 < len(blk.insns) {
					c.sBlk, c.sIdx, c.sGen = blk, start+1, c.gen
					c.sNext = c.eip + uint32(in0.len)
				}
			}
		}
		c.first = false
		// A hot block's translation runs its leading instructions; the
		// interpreter goes on from where it stopped (jit.go).
		// Its finished exits chain into the next translated blocks
		// themselves (jitLink); the last block run comes back in jitCur.
		link := c.jitLink
		c.jitLink = 0
		// With breakpoints set, a block without one runs translated too,
		// and chains only into blocks without one (jitLink.bpGen).
		if whole && start == 0 && n == len(blk.insns) && !c.jitOff && !c.schkR[CS] {
			if code := c.jitFor(blk); code != 0 {
				if link != 0 {
					c.linkExit(link, blk)
				}
				c.jitChain = jitChainMax
				r := jitCall(code, uintptr(unsafe.Pointer(c)), uintptr(unsafe.Pointer(c.rt)), uintptr(unsafe.Pointer(c.wt)), uintptrOf(c.ram))
				chained := c.jitCur != 0
				if chained {
					blk = c.jitBlks[c.jitCur-1]
					c.jitCur = 0
				}
				k := int(uint32(r))
				if jitStatsOn {
					jitStat(blk, r)
				}
				c.icount += uint64(k)
				if r&jitFinished != 0 {
					if bpsOn && (k > 1 || chained) {
						// as after an interpreted block below
						c.bpResumeValid = false
					}
					c.jitLink = uint32(r >> 40)
					continue
				}
				if bpsOn && k > 0 {
					// the instructions after the first run elsewhere
					c.bpResumeValid = false
				}
				start, n = k, len(blk.insns)-k
				first = unsafe.Add(unsafe.Pointer(unsafe.SliceData(blk.insns)), uintptr(start)*insnSize)
				in0 = (*insn)(first)
			}
		}
		// No per-instruction bookkeeping beyond EIP: the faulting
		// instruction and the retired count are recovered from blk,
		// blkStart, blkN and blkEIP when needed (locate).
		c.blk, c.blkStart, c.blkN, c.blkEIP = blk, start, n, c.eip
		base := c.eip - uint32(in0.end) + uint32(in0.len)
		// A pointer walk rather than an index: one loop variable live
		// across the handlers' calls instead of two (the index and its
		// scaled offset), and no bound check: the walk ends at the
		// sealed block's opBlockEnd, n instructions after first.
		//
		// EIP is set before each instruction that can fault, jump or
		// exit (locate finds the faulting instruction by it), not before
		// the register-only forms (the first group of cases), which can do
		// none of that; the sentinel sets it after a block that ends with
		// one.
		at := uintptr(0)
	insns:
		for ; ; at += insnSize {
			in := (*insn)(unsafe.Add(first, at))
			// the hottest forms are handled here, saving the call
			switch in.fast & 63 {
			case fBlockEnd:
				if in.reg != 0 {
					c.eip = base + uint32(in.end)
				}
				n = int(at / insnSize)
				break insns
			case fMovRR32:
				c.r[in.rm] = c.r[in.reg]
				continue
			case fJzFast:
				c.eip = base + uint32(in.end)
				l := &c.lazy
				var z bool
				if l.op != lfNone {
					z = l.res == 0
				} else {
					z = c.zf()
				}
				if z != (in.reg&1 != 0) {
					// taken: the block ends here (a not-taken Jcc falls
					// through inside it, see specialise)
					c.jumpTo(c.eip + in.imm)
					n = int(at/insnSize) + 1
					break insns
				}
				continue
			case fJccFast:
				c.eip = base + uint32(in.end)
				if c.condFast(in.reg) {
					c.jumpTo(c.eip + in.imm)
					n = int(at/insnSize) + 1
					break insns
				}
				continue
			case fAddRI32:
				a := c.r[in.rm]
				r := a + in.imm
				c.setLazy(lfAdd, 0, r, a, in.imm)
				c.r[in.rm] = r
				continue
			case fSubRI32:
				a := c.r[in.rm]
				r := a - in.imm
				c.setLazy(lfSub, 0, r, a, in.imm)
				if in.reg != 7 {
					c.r[in.rm] = r
				}
				continue
			case fIncR32, fDecR32:
				l := &c.lazy
				if l.rop != 0 || l.op != lfNone && l.op != lfInc && l.op != lfDec {
					c.flags = c.flags&^FlagCF | c.cf()
				}
				a := c.r[in.reg]
				if in.op == opIncR32 {
					c.setLazy(lfInc, 0, a+1, a, 1)
					c.r[in.reg] = a + 1
				} else {
					c.setLazy(lfDec, 0, a-1, a, 1)
					c.r[in.reg] = a - 1
				}
				continue
			case fShrRI32:
				a := c.r[in.rm]
				c.setLazy(lfShr, 0, a>>in.imm, a, in.imm)
				c.r[in.rm] = a >> in.imm
				continue
			case fXorRR32:
				r := c.r[in.rm] ^ c.r[in.reg]
				c.setLazy(lfLogic, 0, r, 0, 0)
				c.r[in.rm] = r
				continue
			case fAndRR32:
				r := c.r[in.rm] & c.r[in.reg]
				c.setLazy(lfLogic, 0, r, 0, 0)
				c.r[in.rm] = r
				continue
			case fOrRR32:
				r := c.r[in.rm] | c.r[in.reg]
				c.setLazy(lfLogic, 0, r, 0, 0)
				c.r[in.rm] = r
				continue
			case fSubRR32:
				a, b := c.r[in.rm], c.r[in.reg]
				c.setLazy(lfSub, 0, a-b, a, b)
				c.r[in.rm] = a - b
				continue
			case fXorRI32:
				r := c.r[in.rm] ^ in.imm
				c.setLazy(lfLogic, 0, r, 0, 0)
				c.r[in.rm] = r
				continue
			case fRolRI32:
				r := bits.RotateLeft32(c.r[in.rm], int(in.imm))
				c.setRot(lfRol, 0, r)
				c.r[in.rm] = r
				continue
			case fRorRI32:
				r := bits.RotateLeft32(c.r[in.rm], -int(in.imm))
				c.setRot(lfRor, 0, r)
				c.r[in.rm] = r
				continue
			case fShlRI32:
				a := c.r[in.rm]
				c.setLazy(lfShl, 0, a<<in.imm, a, in.imm)
				c.r[in.rm] = a << in.imm
				continue
			case fSarRI32:
				a := c.r[in.rm]
				r := uint32(int32(a) >> in.imm)
				c.setLazy(lfSar, 0, r, a, in.imm)
				c.r[in.rm] = r
				continue
			case fMovRI32:
				c.r[in.reg] = in.imm
				continue
			case fPushR32:
				c.eip = base + uint32(in.end)
				// push32 hand-inlined for a flat SS
				sp := c.r[ESP] - 4
				v := c.r[in.reg]
				if c.schkW[SS] {
					c.push32(v)
					break
				}
				lin := c.sbase[SS] + sp
				e := &c.wt[lin>>12&tlbMask]
				if e.tag == (lin+3)>>12+1 {
					p := e.pa | lin&0xFFF
					c.st32(p, v)
					c.r[ESP] = sp
					continue
				}
				c.writeSlow(lin, 4, v)
				c.r[ESP] = sp
			case fPopR32:
				c.eip = base + uint32(in.end)
				sp := c.r[ESP]
				lin := c.linR(uint8(SS), sp, 4)
				e := &c.rt[lin>>12&tlbMask]
				if e.tag == (lin+3)>>12+1 {
					p := e.pa | lin&0xFFF
					c.r[ESP] = sp + 4
					c.r[in.reg] = c.ld32(p)
					continue
				}
				v := c.readSlow(lin, 4)
				c.r[ESP] = sp + 4
				c.r[in.reg] = v
			case fLeaFast:
				c.r[in.reg] = c.ea32(in)
				continue
			case fCmpRR32:
				a, b := c.r[in.rm], c.r[in.reg]
				c.setLazy(lfSub, 0, a-b, a, b)
				continue
			case fAddRR32:
				a, b := c.r[in.rm], c.r[in.reg]
				c.setLazy(lfAdd, 0, a+b, a, b)
				c.r[in.rm] = a + b
				continue
			case fTestRR32:
				c.setLazy(lfLogic, 0, c.r[in.rm]&c.r[in.reg], 0, 0)
				continue
			case fMovLoad32:
				c.eip = base + uint32(in.end)
				// read32 hand-inlined (it is over the inlining budget)
				lin := c.linR(in.seg, c.ea32(in), 4)
				e := &c.rt[lin>>12&tlbMask]
				if e.tag == (lin+3)>>12+1 {
					p := e.pa | lin&0xFFF
					c.r[in.reg] = c.ld32(p)
					continue
				}
				c.r[in.reg] = c.readSlow(lin, 4)
			case fMovzx8Load:
				c.eip = base + uint32(in.end)
				lin := c.linR(in.seg, c.ea32(in), 1)
				if e := &c.rt[lin>>12&tlbMask]; e.tag == lin>>12+1 {
					c.r[in.reg] = uint32(c.ld8(e.pa | lin&0xFFF))
					continue
				}
				c.r[in.reg] = c.readSlow(lin, 1)
			case fMovzx8RR:
				c.r[in.reg] = c.r[in.rm&3] >> ((in.rm & 4) << 1) & 0xFF
				continue
			case fMovzx16Load:
				c.eip = base + uint32(in.end)
				lin := c.linR(in.seg, c.ea32(in), 2)
				e := &c.rt[lin>>12&tlbMask]
				if e.tag == (lin+1)>>12+1 {
					p := e.pa | lin&0xFFF
					c.r[in.reg] = uint32(c.ld16(p))
					continue
				}
				c.r[in.reg] = c.readSlow(lin, 2)
			case fAlu8RR:
				if in.imm2 == 6 {
					s := (in.rm & 4) << 1
					d := &c.r[in.rm&3]
					r := (*d>>s ^ c.get8(in.reg)) & 0xFF
					c.setLazy(lfLogic, 24, r<<24, 0, 0)
					*d = *d&^(0xFF<<s) | r<<s
					continue
				}
				c.alu8RR(in)
				continue
			case fShrRCL32:
				if cnt := c.r[ECX] & 31; cnt != 0 {
					a := c.r[in.rm]
					c.setLazy(lfShr, 0, a>>cnt, a, cnt)
					c.r[in.rm] = a >> cnt
				}
				continue
			case fShlRCL32:
				if cnt := c.r[ECX] & 31; cnt != 0 {
					a := c.r[in.rm]
					c.setLazy(lfShl, 0, a<<cnt, a, cnt)
					c.r[in.rm] = a << cnt
				}
				continue
			case fJmpRel:
				c.eip = base + uint32(in.end)
				c.jumpTo(c.eip + in.imm)
				continue
			case fAndRI32:
				r := c.r[in.rm] & in.imm
				c.setLazy(lfLogic, 0, r, 0, 0)
				c.r[in.rm] = r
				continue
			case fMovsB:
				c.eip = base + uint32(in.end)
				// the LZ77 match copy: movsb; cmp; jne
				if c.flags&FlagDF == 0 && !c.schkW[ES] {
					// source checks first, as movsB: a #GP/#SS on the
					// source comes before anything on the destination
					slin := c.linR(in.seg, c.r[ESI], 1)
					dlin := c.sbase[ES] + c.r[EDI]
					se, de := &c.rt[slin>>12&tlbMask], &c.wt[dlin>>12&tlbMask]
					if se.tag == slin>>12+1 && de.tag == dlin>>12+1 {
						c.st8(de.pa|dlin&0xFFF, c.ld8(se.pa|slin&0xFFF))
						c.r[ESI]++
						c.r[EDI]++
						continue
					}
				}
				c.movsB(in)
			case fAluLoad32:
				c.eip = base + uint32(in.end)
				// cmp/add/sub/and/or/xor m32, r32: DEFLATE's bounds checks
				// against its state (cmp out_end, %edx); adc/sbb go
				// through aluOp for the carry
				lin := c.linR(in.seg, c.ea(in), 4)
				var b uint32
				if e := &c.rt[lin>>12&tlbMask]; e.tag == (lin+3)>>12+1 {
					p := e.pa | lin&0xFFF
					b = c.ld32(p)
				} else {
					b = c.readSlow(lin, 4)
				}
				a := c.r[in.reg]
				switch in.imm2 & 7 {
				case 7:
					c.setLazy(lfSub, 0, a-b, a, b)
				case 5:
					c.setLazy(lfSub, 0, a-b, a, b)
					c.r[in.reg] = a - b
				case 0:
					c.setLazy(lfAdd, 0, a+b, a, b)
					c.r[in.reg] = a + b
				case 6:
					c.setLazy(lfLogic, 0, a^b, 0, 0)
					c.r[in.reg] = a ^ b
				case 4:
					c.setLazy(lfLogic, 0, a&b, 0, 0)
					c.r[in.reg] = a & b
				case 1:
					c.setLazy(lfLogic, 0, a|b, 0, 0)
					c.r[in.reg] = a | b
				default:
					c.r[in.reg] = c.aluOp(uint8(in.imm2&7), a, b, 4)
				}
				continue
			case fMovStore8:
				c.eip = base + uint32(in.end)
				lin := c.linW(in.seg, c.ea32(in), 1)
				if e := &c.wt[lin>>12&tlbMask]; e.tag == lin>>12+1 {
					c.st8(e.pa|lin&0xFFF, uint8(c.r[in.reg&3]>>((in.reg&4)<<1)))
					continue
				}
				c.writeSlow(lin, 1, c.get8(in.reg))
			case fMovStore32:
				c.eip = base + uint32(in.end)
				lin := c.linW(in.seg, c.ea32(in), 4)
				e := &c.wt[lin>>12&tlbMask]
				if e.tag == (lin+3)>>12+1 {
					p := e.pa | lin&0xFFF
					c.st32(p, c.r[in.reg])
					continue
				}
				c.writeSlow(lin, 4, c.r[in.reg])
			// fSlow and every other value below 64 that no fast form uses:
			// with the switch on fast&63 and all 64 values listed, the
			// compiler emits its jump table without a bound check (a new
			// fast form takes its number out of this list, or the build
			// fails on the duplicate case)
			case fSlow, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63:
				c.eip = base + uint32(in.end)
				c.exec(in)
			}
			if c.pending != 0 {
				n = int(at/insnSize) + 1
				if c.pending&pendRestart != 0 {
					n = int(at / insnSize) // stopped inside a REP: not retired yet
				}
				break
			}
		}
		c.icount += uint64(n)
		c.blkN = 0
		if bpsOn && n > 1 {
			// the instructions after the first ran at other addresses
			c.bpResumeValid = false
		}
		if c.pending != 0 {
			p := c.pending
			c.pending = 0
			blk = nil
			if p&pendExit != 0 {
				return c.exitDue, true
			}
		}
		if tf && c.noStepTrap {
			tf, c.noStepTrap = false, false
		}
		if tf {
			blk = nil
			if !c.idt[VecDB].Direct {
				return Exit{Reason: ExitTrap, Vector: VecDB}, true
			}
			c.deliverDirect(VecDB, 0, false)
		}
	}
}

// onFault finishes a raised fault: roll back, then either exit to the Host
// or deliver through a direct gate and keep running.
func (c *CPU) onFault() (Exit, bool) {
	c.pending &^= pendExit | pendRestart
	idx, cur := c.locate()
	c.blkN = 0
	if idx > 0 && len(c.bps) > 0 {
		// the faulting instruction is not the one resumed from
		c.bpResumeValid = false
	}
	c.icount += uint64(idx) // the instructions before it retired
	c.cur = cur
	if c.snapValid {
		c.restore()
	}
	if c.fpuSnapValid {
		c.fpu, c.fpuSnapValid = c.fpuSnap, false
	}
	f := c.flt
	switch c.fltKind {
	case fkUnimpl:
		c.eip = c.cur
		return f, true
	}
	c.eip = c.cur
	for depth := 0; ; depth++ {
		if f.Vector < 0 || f.Vector > 255 || !c.idt[f.Vector].Direct {
			return f, true
		}
		if depth >= 2 {
			// A fault while delivering a fault while delivering: the
			// double fault always belongs to the Host (spec §5.6).
			return Exit{Reason: ExitTrap, Vector: VecDF, HasErr: true}, true
		}
		v, e, he := f.Vector, f.ErrCode, f.HasErr
		nf := c.try(func() { c.deliverDirect(v, e, he) })
		if nf == nil {
			return Exit{}, false
		}
		if c.snapValid {
			c.restore()
		}
		c.eip = c.cur
		f = *nf
		if c.fltKind != fkFault {
			return f, true
		}
	}
}

// locate finds the instruction being executed in the current block: the
// one whose end is c.eip (handlers never move EIP before they can no longer
// fault). It returns its index (= instructions of the block retired before
// it) and its address. Outside a block it is the instruction at EIP.
func (c *CPU) locate() (int, uint32) {
	a := c.blkEIP
	for i := range c.blkN {
		next := a + uint32(c.blk.insns[c.blkStart+i].len)
		if next == c.eip {
			return i, a
		}
		a = next
	}
	return 0, c.eip
}

// lookup returns the decoded block at CS:EIP, decoding it on a miss.
func (c *CPU) lookup() *block {
	if c.schkR[CS] || c.seg[CS].Access&accDB == 0 {
		return c.slowFetch()
	}
	lin := c.sbase[CS] + c.eip
	e := &c.rt[lin>>12&tlbMask]
	var pa uint32
	if e.tag == lin>>12+1 {
		pa = e.pa | lin&0xFFF
	} else {
		pa = c.xlate(lin, false)
	}
	if pg := c.pages[pa>>12]; pg != nil {
		if bi := pg.idx[pa&0xFFF]; bi != 0 {
			return pg.blocks[bi-1]
		}
	}
	return c.buildBlock(lin, pa)
}

func (c *CPU) buildBlock(lin, pa uint32) *block {
	pfn := pa >> 12
	if c.m.Code[pfn] == 0 {
		c.m.Code[pfn] = 1
		c.dropWritePA(pfn << 12)
	}
	pg := c.pages[pfn]
	if pg == nil {
		pg = &codePage{}
		c.pages[pfn] = pg
	}
	if len(pg.blocks) >= 0xFFFE {
		// pathological: more blocks than a page has bytes; start over
		// (the old blocks may still be chained: their bytes stay in
		// decoded so a write to them still invalidates)
		*pg = codePage{decoded: pg.decoded}
	}
	end := pfn<<12 + 0x1000
	var buf [maxBlock]insn
	n := 0
	p := pa
	for n < maxBlock {
		in := &buf[n]
		if decode(c.ram[p:end], in) == decMore {
			*in = insn{}
			break
		}
		p += uint32(in.len)
		in.end = uint16(p - pa)
		n++
		if in.term || p >= end {
			break
		}
	}
	if n == 0 {
		// The first instruction straddles the page end: not cached.
		return c.decodeStraddle(lin, pa)
	}
	blk := &block{insns: seal(make([]insn, n, n+1), buf[:n])}
	pg.blocks = append(pg.blocks, blk)
	pg.idx[pa&0xFFF] = uint16(len(pg.blocks))
	pg.decoded |= chunks(pa&0xFFF, p-pa)
	return blk
}

// The run loop's fast cases, numbered for its switch (insn.fast): a switch
// on fast&63 that lists all 64 values compiles to a jump table with no
// bound check (two host instructions fewer per guest instruction than the
// uint16 ops, which need a subtraction, a compare and a branch). seal sets
// fast from the op of every instruction it hands the loop.
const (
	fSlow = iota // exec: no fast case
	fBlockEnd
	fMovRR32
	fJzFast
	fJccFast
	fAddRI32
	fSubRI32
	fIncR32
	fDecR32
	fShrRI32
	fXorRR32
	fAndRR32
	fOrRR32
	fSubRR32
	fXorRI32
	fRolRI32
	fRorRI32
	fShlRI32
	fSarRI32
	fMovRI32
	fPushR32
	fPopR32
	fLeaFast
	fCmpRR32
	fAddRR32
	fTestRR32
	fMovLoad32
	fMovzx8Load
	fMovzx8RR
	fMovzx16Load
	fAlu8RR
	fShrRCL32
	fShlRCL32
	fJmpRel
	fAndRI32
	fMovsB
	fAluLoad32
	fMovStore8
	fMovStore32
	fCount
)

// at most 64 fast cases: the switch is on fast&63
const _ uint = 64 - fCount

var fastOps = [...]uint16{
	fBlockEnd:    opBlockEnd,
	fMovRR32:     opMovRR32,
	fJzFast:      opJzFast,
	fJccFast:     opJccFast,
	fAddRI32:     opAddRI32,
	fSubRI32:     opSubRI32,
	fIncR32:      opIncR32,
	fDecR32:      opDecR32,
	fShrRI32:     opShrRI32,
	fXorRR32:     opXorRR32,
	fAndRR32:     opAndRR32,
	fOrRR32:      opOrRR32,
	fSubRR32:     opSubRR32,
	fXorRI32:     opXorRI32,
	fRolRI32:     opRolRI32,
	fRorRI32:     opRorRI32,
	fShlRI32:     opShlRI32,
	fSarRI32:     opSarRI32,
	fMovRI32:     opMovRI32,
	fPushR32:     opPushR32,
	fPopR32:      opPopR32,
	fLeaFast:     opLeaFast,
	fCmpRR32:     opCmpRR32,
	fAddRR32:     opAddRR32,
	fTestRR32:    opTestRR32,
	fMovLoad32:   opMovLoad32,
	fMovzx8Load:  opMovzx8Load,
	fMovzx8RR:    opMovzx8RR,
	fMovzx16Load: opMovzx16Load,
	fAlu8RR:      opAlu8RR,
	fShrRCL32:    opShrRCL32,
	fShlRCL32:    opShlRCL32,
	fJmpRel:      opJmpRel,
	fAndRI32:     opAndRI32,
	fMovsB:       opMovsB,
	fAluLoad32:   opAluLoad32,
	fMovStore8:   opMovStore8,
	fMovStore32:  opMovStore32,
}

// fastOf maps an op to its fast case (fSlow: none).
var fastOf = func() (t [opCount]uint8) {
	for f, op := range fastOps {
		if f != fSlow {
			t[op] = uint8(f)
		}
	}
	return t
}()

// seal copies insns into dst (same length, capacity one more) and puts the
// opBlockEnd sentinel after them, inside dst's capacity: runLoop walks
// the instructions until it meets it.
func seal(dst, insns []insn) []insn {
	n := copy(dst, insns)
	for i := range dst[:n] {
		dst[i].fast = fastOf[dst[i].op]
	}
	last := &insns[n-1]
	end := insn{op: opBlockEnd, fast: fBlockEnd, end: last.end}
	if !last.term {
		end.reg = 1
	}
	dst[:n+1][n] = end
	return dst[:n]
}

// decodeStraddle decodes one instruction that continues on the next linear
// page; the second page is translated (and may fault, CR2 = its address).
func (c *CPU) decodeStraddle(lin, pa uint32) *block {
	var buf [15]byte
	n := copy(buf[:], c.ram[pa:pa|0xFFF+1])
	lin2 := lin&^0xFFF + 0x1000
	var in insn
	if decode(buf[:n], &in) == decMore {
		pa2 := c.xlate(lin2, false)
		n += copy(buf[n:], c.ram[pa2:pa2|0xFFF+1])
		if decode(buf[:n], &in) == decMore {
			c.raise(VecGP, 0, true)
		}
	}
	in.end = uint16(in.len)
	c.scratch.insns = seal(c.scratchBuf[:1], []insn{in})
	return &c.scratch
}

// slowFetch decodes one instruction through a non-flat or 16-bit CS, with
// the CS limit check; it is not cached.
func (c *CPU) slowFetch() *block {
	if c.seg[CS].Access&accDB == 0 {
		c.flt = Exit{Reason: ExitUnimplemented, InsnAddr: c.sbase[CS] + c.eip}
		c.fltKind = fkUnimpl
		panic(faultSignal)
	}
	var buf [15]byte
	n := 0
	for ; n < 15; n++ {
		off := c.eip + uint32(n)
		if off > c.seg[CS].Limit || off < c.eip {
			break
		}
		lin := c.sbase[CS] + off
		if n > 0 && lin&0xFFF == 0 {
			var in insn
			if decode(buf[:n], &in) == decOK {
				break
			}
		}
		buf[n] = c.ram[c.xlate(lin, false)]
	}
	var in insn
	if decode(buf[:n], &in) == decMore {
		c.raise(VecGP, 0, true) // runs past the CS limit
	}
	in.end = uint16(in.len)
	c.scratch.insns = seal(c.scratchBuf[:1], []insn{in})
	return &c.scratch
}

// codeWritten is mem.Phys.OnCodeWrite: drop the page's decoded blocks when
// the write [off, off+n) touches one. The running block is abandoned after
// the current instruction (pendCode). A write clear of every decoded byte
// (data sharing a page with code) keeps the page's blocks: they read none
// of the bytes it changes.
func (c *CPU) codeWritten(pfn, off, n uint32) (keep bool) {
	if int(pfn) >= len(c.pages) {
		return false
	}
	pg := c.pages[pfn]
	if pg != nil && pg.decoded&chunks(off, n) == 0 {
		return true
	}
	c.gen++
	if pg != nil {
		// reused: a page patched in a loop is re-decoded without a new
		// 8 KiB index each time. No block of it survives: links die
		// with c.gen, the block in flight with pendCode.
		clear(pg.idx[:])
		clear(pg.blocks)
		pg.blocks, pg.decoded = pg.blocks[:0], 0
	}
	c.m.Code[pfn] = 0
	c.pending |= pendCode
	return false
}

// FlushDecodeCache drops every decoded instruction.
func (c *CPU) FlushDecodeCache() {
	c.gen++
	for i := range c.pages {
		c.pages[i] = nil
	}
	clear(c.m.Code)
	c.pending |= pendCode
}
