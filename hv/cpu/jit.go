package cpu

import (
	"os"
	"unsafe"
)

// The block translator: a hot decoded block's leading run of the forms
// kernel and DEFLATE code is made of (ALU on registers and 32-bit memory,
// shifts and rotates, lea, moves and movzx, push and pop, inc and dec,
// setcc and cmov, forward movsb, Jcc and jmp) is translated to host x86-64
// code that does exactly what the interpreter does, field for field: the
// same guest registers, the same lazy-flags record, the same TLB-hit test.
// It is a cache of the interpreter, not a second CPU. A translated block
// that ends chains straight into the next one's translation (finish,
// jitLink).
//
// Translated code never faults and never calls back into Go. Whatever it
// cannot finish the interpreter's way without help (a TLB miss, a segment
// needing its checks, a page-crossing access, an instruction it does not
// know, a flag it cannot see) becomes a side exit before that
// instruction: the code stores the instruction's EIP and returns how many
// instructions retired, and runLoop carries on interpreting the same block
// from there. So the retired count, every register, every lazy flag and
// every memory byte after a translated run are those the interpreter would
// have left; the golden traces run with it on (see TestJITMatchesInterpreter).
//
// The translated code of a block is tied to the block (it dies with the
// decode cache) and addresses EIPs relative to the block's start, so a
// block run at several linear addresses (the load-address alias under
// linear_pages) runs the same code.

// jitThreshold is how many whole runs a block makes before it is
// translated: boot code that runs once is not worth translating.
const jitThreshold = 16

// jitChainMax is how many blocks a translated run chains through before it
// returns to runLoop anyway. Translated code is not Go: the runtime cannot
// preempt it, so a garbage collection's stop-the-world (and with it every
// other goroutine, the one that would call RequestStop included) waits
// until it returns. About 10 us of guest code.
const jitChainMax = 1024

// jitFinished in a translated block's result: the block ran to its end or
// to a taken jump and set EIP; without it, the low 32 bits count the
// retired instructions and EIP is that of the next one, to interpret.
const jitFinished = 1 << 32

// offsets into CPU for the translated code
var (
	joR      = unsafe.Offsetof(CPU{}.r)
	joEIP    = unsafe.Offsetof(CPU{}.eip)
	joFlags  = unsafe.Offsetof(CPU{}.flags)
	joSbase  = unsafe.Offsetof(CPU{}.sbase)
	joSchkR  = unsafe.Offsetof(CPU{}.schkR)
	joSchkW  = unsafe.Offsetof(CPU{}.schkW)
	joFlat   = unsafe.Offsetof(CPU{}.flatData)
	joLazy   = unsafe.Offsetof(CPU{}.lazy)
	joLOp    = joLazy + unsafe.Offsetof(lazyFlags{}.op)
	joLRop   = joLazy + unsafe.Offsetof(lazyFlags{}.rop)
	joLRes   = joLazy + unsafe.Offsetof(lazyFlags{}.res)
	joLA     = joLazy + unsafe.Offsetof(lazyFlags{}.a)
	joLB     = joLazy + unsafe.Offsetof(lazyFlags{}.b)
	joLRres  = joLazy + unsafe.Offsetof(lazyFlags{}.rres)
	joLRopSh = joLRop // rop and rsh, stored as one word
	joTmp    = unsafe.Offsetof(CPU{}.jitTmp)
	joGen    = unsafe.Offsetof(CPU{}.gen)
	joICount = unsafe.Offsetof(CPU{}.icount)
	joStopAt = unsafe.Offsetof(CPU{}.stopAt)
	joStop   = unsafe.Offsetof(CPU{}.stopReq) // atomic.Bool's word
	joCur    = unsafe.Offsetof(CPU{}.jitCur)
	joChain  = unsafe.Offsetof(CPU{}.jitChain)
	joBPGen  = unsafe.Offsetof(CPU{}.bpGen)
)

// The lazy record's four leading bytes (op, sh, rop, rsh) are stored as one
// word, and the TLB entry's size is wired into the index computation.
const (
	_ uintptr = unsafe.Offsetof(lazyFlags{}.sh) - 1
	_ uintptr = 1 - unsafe.Offsetof(lazyFlags{}.sh)
	_ uintptr = unsafe.Offsetof(lazyFlags{}.rsh) - 3
	_ uintptr = 3 - unsafe.Offsetof(lazyFlags{}.rsh)
	_ uintptr = unsafe.Sizeof(tlbEntry{}) - 12
	_ uintptr = 12 - unsafe.Sizeof(tlbEntry{})
	_ uint    = tlbBits - 8
	_ uint    = 8 - tlbBits
)

// aluForms maps an ALU operation number (ModRM reg: 0 add, 1 or, 2 adc, 3
// sbb, 4 and, 5 sub, 6 xor, 7 cmp) to the host "op r32, r/m32" opcode that
// computes the lazy record's result (cmp as sub) and the lazy producer;
// lf 0: not translated (adc/sbb read CF).
var aluForms = [8]struct{ hop, lf uint8 }{
	0: {jAdd, lfAdd}, 1: {jOr, lfLogic}, 4: {jAnd, lfLogic},
	5: {jSub, lfSub}, 6: {jXor, lfLogic}, 7: {jSub, lfSub},
}

// shiftExt is the host shift group's ModRM.reg for a lazy shift producer.
var shiftExt = [16]uint8{lfShl: 4, lfShr: 5, lfSar: 7}

func jr(r uint8) uintptr { return joR + 4*uintptr(r) }

// jflags is what the translator knows of the lazy flags at a point of the
// block: nothing at its start; after a producer it translated, which one.
type jflags struct {
	known bool
	op    uint8 // the producer (lfSub, lfAdd, ...)
	sh    uint8 // its operand shift (24: a byte operation)
	rop   uint8 // a rotate after it (0: none)
}

// jexit is an out-of-line exit: it sets EIP to the block's start plus
// eipOff and returns ret; a finished exit (ret has jitFinished) first tries
// to chain straight into the next block's translation through its link.
type jexit struct {
	at     []int // jump displacements to patch to the stub
	eipOff uint32
	ret    uint64
}

// jitLink is a finished exit's link to the translation that ran after it
// last time, filled by runLoop (linkExit). The exit's code chains through
// it only while it is valid (gen is the CPU's chain-link generation, as for
// the interpreter's block links, and EIP is eip), and only when the next
// block fits in the budget and no stop was requested; otherwise it returns
// to runLoop. The layout is wired into finish.
type jitLink struct {
	eip    uint32
	n      uint32 // the next block's instruction count
	gen    uint64
	code   uint64 // the translation's address (uint64: one layout on every host)
	handle uint32 // the next block's index in c.jitBlks, plus one
	_      uint32
	// the breakpoint generation it was filled at: with breakpoints set,
	// only a block without one is filled in (a translation only runs
	// whole blocks without one), so a chain never skips a breakpoint
	bpGen uint64
}

const (
	_ uintptr = unsafe.Offsetof(jitLink{}.n) - 4
	_ uintptr = 4 - unsafe.Offsetof(jitLink{}.n)
	_ uintptr = unsafe.Offsetof(jitLink{}.gen) - 8
	_ uintptr = 8 - unsafe.Offsetof(jitLink{}.gen)
	_ uintptr = unsafe.Offsetof(jitLink{}.code) - 16
	_ uintptr = 16 - unsafe.Offsetof(jitLink{}.code)
	_ uintptr = unsafe.Offsetof(jitLink{}.handle) - 24
	_ uintptr = 24 - unsafe.Offsetof(jitLink{}.handle)
	_ uintptr = unsafe.Offsetof(jitLink{}.bpGen) - 32
	_ uintptr = 32 - unsafe.Offsetof(jitLink{}.bpGen)
)

type jcomp struct {
	arena *jitArena // nil in the dry run
	dead  []bool    // deadFlags, by instruction
	k     int       // the instruction being translated
	// flagsLive: the host flags are the current producer's guest flags
	// (its host operation was the last to set them); liveIn: so they
	// were when instruction k began
	flagsLive, liveIn bool
	a                 jasm
	insns             []insn
	fl                jflags
	side              map[int]*jexit // side exit before instruction k
	outs              []*jexit
	// eaConst: the effective address ea just emitted is the constant
	// eaVal (a displacement alone: a global variable)
	eaConst bool
	eaVal   uint32
	// usesFlat: an access relies on flatData (found by the dry run);
	// flatFirst: so the real run checks it once at the top, and top is
	// where the code goes on after that check (a loop's target)
	usesFlat, flatFirst bool
	top                 int
}

// sideExit returns the stub that leaves before instruction k.
func (j *jcomp) sideExit(k int) *jexit {
	if e := j.side[k]; e != nil {
		return e
	}
	in := &j.insns[k]
	e := &jexit{eipOff: uint32(in.end) - uint32(in.len), ret: uint64(k)}
	j.side[k] = e
	j.outs = append(j.outs, e)
	return e
}

// jccTo emits a jcc to stub e.
func (j *jcomp) jccTo(cc uint8, e *jexit) { e.at = append(e.at, j.a.jcc(cc)) }

const (
	ccB  = 0x2
	ccNE = 0x5
)

// translate builds the host code for blk's leading translatable run, or
// returns nil when it would be too short to pay for its call.
func translate(arena *jitArena, blk *block) []byte {
	// A dry run finds how far the block translates; the real one then
	// knows which lazy-flags records the next instruction overwrites
	// unseen (deadFlags).
	dry := &jcomp{insns: blk.insns, side: map[int]*jexit{}}
	n, dryCode := dry.run()
	if dryCode == nil {
		return nil
	}
	j := &jcomp{arena: arena, insns: blk.insns, side: map[int]*jexit{}, dead: deadFlags(blk.insns[:n]), flatFirst: dry.usesFlat}
	if k, code := j.run(); k == n {
		return code
	}
	return nil
}

// What a pure translated form does to the lazy flags (pureOp).
const (
	fxNone   = iota // leaves the record alone (or only adds a rotate)
	fxKill          // replaces the whole record but rres: a producer
	fxKeepCF        // a producer that keeps the previous producer's CF (inc, dec)
)

// pureOp: a translated form that only reads and writes guest registers,
// so it can neither leave the translated code nor be seen by a fault; and
// what it does to the lazy flags.
func pureOp(in *insn) (pure bool, fx int) {
	switch in.op {
	case opAddRI32, opSubRI32, opAndRI32, opXorRI32, opAddRR32, opSubRR32, opAndRR32, opOrRR32,
		opXorRR32, opCmpRR32, opTestRR32, opShlRI32, opShrRI32, opSarRI32, opTestRI32:
		return true, fxKill
	case opAlu8RR:
		if in.imm2 == 2 || in.imm2 == 3 {
			return true, fxNone // adc, sbb: not translated
		}
		return true, fxKill
	case opIncR32, opDecR32:
		return true, fxKeepCF
	case 0xF7:
		if in.mem || in.size != 4 || in.reg != 2 && in.reg != 3 {
			return false, fxNone
		}
		if in.reg == 3 {
			return true, fxKill // neg
		}
		return true, fxNone // not
	case opMovRR32, opMovRI32, opLeaFast, opMovzx8RR, opMovzx16RR, opcNop, opRolRI32, opRorRI32:
		return true, fxNone
	case 0x88, 0x89, 0x8A, 0x8B:
		return !in.mem && in.size != 4, fxNone
	}
	return false, fxNone
}

// deadFlags marks the producers among insns (all translated) whose lazy
// record no one can see: the next producer replaces it whole before
// anything that reads flags, touches memory or can leave. Their record is
// not stored, and an inc or dec among them does not keep the CF before it
// either, as the next producer replaces that too. The interpreter's state
// after the run is the same, as the last producer's record is always
// stored. An inc or dec after a producer reads its CF: that one lives.
func deadFlags(insns []insn) []bool {
	dead := make([]bool, len(insns))
	for k := range insns {
		if pure, fx := pureOp(&insns[k]); !pure || fx == fxNone {
			continue
		}
		for i := k + 1; i < len(insns); i++ {
			pure, fx := pureOp(&insns[i])
			if !pure || fx == fxKeepCF {
				break
			}
			if fx == fxKill {
				dead[k] = true
				break
			}
		}
	}
	return dead
}

// run translates the block's leading run: how many instructions, and the
// code.
func (j *jcomp) run() (int, []byte) {
	k := 0
	finished := false
	if j.flatFirst {
		// before the first instruction, so that a loop back to the
		// block's start (finish) does not check again
		j.a.cmpByteZero(joFlat)
		j.jccTo(0x4, j.sideExit(0))
		j.a.flatChecked = true
		j.top = j.a.pos()
	}
	for k < len(j.insns) {
		ok, end := j.insn(k)
		if !ok {
			break
		}
		k++
		if end {
			finished = true
			break
		}
	}
	// One instruction pays for the call only when it is the whole block
	// or its jump (a loop's latch: the block chains, see finish).
	if k == 0 || k == 1 && !finished && k < len(j.insns) {
		return k, nil
	}
	if !finished {
		if k == len(j.insns) {
			// the block ends without a jump (page end, length limit)
			last := &j.insns[k-1]
			j.finish(uint32(last.end), k)
		} else {
			e := j.sideExit(k)
			e.at = append(e.at, j.a.jmp())
		}
	}
	for _, e := range j.outs {
		for _, at := range e.at {
			j.a.patch(at, j.a.pos())
		}
		if e.ret&jitFinished != 0 {
			j.finish(e.eipOff, int(uint32(e.ret)))
		} else {
			j.exitInline(e.eipOff, e.ret)
		}
	}
	return k, j.a.b
}

// finish ends the block after k instructions with EIP = start + off:
// chained into the next translation when its link allows (jitLink), else
// returned to runLoop with the link's number for it to fill.
func (j *jcomp) finish(off uint32, k int) {
	a := &j.a
	num, cell := uint32(0), uintptr(0)
	if j.arena != nil { // (not in the dry run)
		num, cell = j.arena.cell()
	}
	var ret []int
	if off == 0 {
		// A loop back to this block's start: straight to the top (past
		// the flatData check, which cannot change meanwhile). Of a
		// chain's checks only those that can change while translated
		// code runs are made (the link's EIP, generation and breakpoint
		// generation are this block's own), and EIP stays.
		ret = j.chainGuard(k, func() {
			a.byte1(0x48, 0x8D, 0x8A) // lea rcx, [rdx+n] (the block again)
			a.u32(uint32(len(j.insns)))
		})
		a.patch(a.jmp(), j.top)
	}
	a.ld(hRAX, joEIP)
	a.aluRI(0, hRAX, off)
	a.st(joEIP, hRAX)
	a.movRI64(hRSI, uint64(cell))
	a.byte1(0x3B, 0x06) // cmp eax, [rsi] (link.eip)
	ret = append(ret, a.jcc(ccNE))
	a.ldq(hRDX, joGen)
	a.byte1(0x48, 0x3B, 0x56, 0x08) // cmp rdx, [rsi+8] (link.gen)
	ret = append(ret, a.jcc(ccNE))
	a.ldq(hRDX, joBPGen)
	a.byte1(0x48, 0x3B, 0x56, 0x20) // cmp rdx, [rsi+32] (link.bpGen)
	ret = append(ret, a.jcc(ccNE))
	ret = append(ret, j.chainGuard(k, func() {
		a.byte1(0x8B, 0x4E, 0x04) // mov ecx, [rsi+4] (link.n)
		a.byte1(0x48, 0x01, 0xD1) // add rcx, rdx
	})...)
	a.byte1(0x8B, 0x4E, 0x18) // mov ecx, [rsi+24] (link.handle)
	a.st(joCur, hRCX)
	a.byte1(0xFF, 0x66, 0x10) // jmp [rsi+16] (link.code)
	for _, at := range ret {
		a.patch(at, a.pos())
	}
	a.movRI64(hRAX, uint64(k)|jitFinished|uint64(num)<<40)
	a.ret()
}

// chainGuard emits the checks every chain into a next block makes, with
// the jumps taken when one fails (back to Go): no RequestStop, the budget
// still holds the next block whole (nextLen sets RCX to RDX, the count
// after this block's k, plus its length), and the chain count is not
// spent. On the way through, the count after k is stored.
func (j *jcomp) chainGuard(k int, nextLen func()) (out []int) {
	a := &j.a
	a.byte1(0x83)
	a.modrmCPU(7, uint32(joStop))
	a.byte1(0) // cmp dword [stopReq], 0
	out = append(out, a.jcc(ccNE))
	a.ldq(hRDX, joICount)
	a.byte1(0x48, 0x81, 0xC2) // add rdx, k
	a.u32(uint32(k))
	nextLen()
	a.byte1(0x48, 0x3B, 0x8F) // cmp rcx, [rdi+stopAt]
	a.u32(uint32(joStopAt))
	out = append(out, a.jcc(0x7)) // ja: the next block would overrun the budget
	a.byte1(0xFF)
	a.modrmCPU(1, uint32(joChain)) // dec dword [jitChain]
	out = append(out, a.jcc(0x4))  // back to Go now and then (jitChainMax)
	a.byte1(0x48, 0x89, 0x97)      // mov [rdi+icount], rdx
	a.u32(uint32(joICount))
	return out
}

// exitInline: EIP = block start + off; return ret.
func (j *jcomp) exitInline(off uint32, ret uint64) {
	a := &j.a
	a.ld(hRAX, joEIP)
	a.aluRI(0, hRAX, off)
	a.st(joEIP, hRAX)
	a.movRI64(hRAX, ret)
	a.ret()
}

// setLazy emits c.setLazy(op, 0, res, a, b) with res in resReg; a and b
// are registers (aReg) or, for b, an immediate when bImm.
func (j *jcomp) setLazy(op uint8, resReg uint8, aReg uint8, bReg uint8, bImm bool, b uint32) {
	a := &j.a
	// every caller has just done the producer's operation on the host,
	// and the stores below leave the host flags alone
	j.flagsLive = true
	if j.dead != nil && j.dead[j.k] {
		j.fl = jflags{known: true, op: op}
		return
	}
	a.stImm(joLOp, uint32(op)) // op, sh = 0, rop = 0, rsh = 0
	a.st(joLRes, resReg)
	if op != lfLogic { // (a logic op's flags come from res alone: ownedBits)
		a.st(joLA, aReg)
		if bImm {
			a.stImm(joLB, b)
		} else {
			a.st(joLB, bReg)
		}
	}
	j.fl = jflags{known: true, op: op}
}

// ea emits the effective address of in's memory operand into EAX (uses
// ECX), as ea32.
func (j *jcomp) ea(in *insn) {
	a := &j.a
	j.eaConst, j.eaVal = in.base == regNone && in.index == regNone, in.disp
	if in.base == regNone {
		a.movRI(hRAX, in.disp)
	} else {
		a.ld(hRAX, jr(in.base))
		if in.disp != 0 {
			a.aluRI(0, hRAX, in.disp)
		}
	}
	if in.index != regNone {
		a.ld(hRCX, jr(in.index))
		a.leaIdx(in.scale + 1)
	}
}

// Access kinds for access.
const (
	jRead  = iota
	jWrite // a store: the write TLB
	jRMW   // read-modify-write: rmwLin's segment check, then both TLBs
)

// access emits the linear address of an n-byte access at offset EAX in
// segment seg and its TLB-hit test (side exit k on a miss or when the
// segment needs its checks); on a hit RBX+RCX is the host address.
//
// A read-modify-write needs both the write entry (the page is writable, as
// probeW makes sure) and the read entry (readN's fast path, so no read
// watch is skipped); both map the page to the same frame, as both come
// from the same walk of the same shadow table.
func (j *jcomp) access(k int, seg uint8, n uint32, kind int) {
	a := &j.a
	chk := joSchkR
	if kind != jRead {
		chk = joSchkW
	}
	switch SReg(seg & 7) {
	case DS, ES, SS:
		// the data segments are plain in practice (a 32-bit kernel's
		// are flat at 0): one check of all three covers every access
		// after it on the way
		j.usesFlat = true
		if !a.flatChecked {
			a.cmpByteZero(joFlat)
			j.jccTo(0x4, j.sideExit(k))
			a.flatChecked = true
		}
		if lin := j.eaVal; j.eaConst && lin>>12 == (lin+n-1)>>12 {
			// a global within one page: its TLB slot and tag are
			// known now
			slot := 12 * (lin >> 12 & tlbMask)
			a.cmpTLB(kind != jRead, slot, lin>>12+1)
			j.jccTo(ccNE, j.sideExit(k))
			if kind == jRMW {
				a.cmpTLB(false, slot, lin>>12+1)
				j.jccTo(ccNE, j.sideExit(k))
			}
			a.ldFrame(kind != jRead, slot+4)
			if lin&0xFFF != 0 {
				a.aluRI(1, hRCX, lin&0xFFF)
			}
			return
		}
	default:
		a.cmpByteZero(chk + uintptr(seg&7))
		j.jccTo(ccNE, j.sideExit(k))
		a.aluM(jAdd, hRAX, joSbase+4*uintptr(seg&7))
	}
	// ECX = the tag the last byte's page must have (its page + 1);
	// RDX = the first byte's slot: they differ when the access crosses
	// into the next page, which then misses
	a.movRR(hRDX, hRAX)
	a.shRI(5, hRDX, 12)
	if n == 1 {
		a.leaDisp8(hRCX, hRDX, 1)
	}
	a.movzxB(hRDX, hRDX)
	a.leaRDX3()
	if n != 1 {
		a.leaDisp8(hRCX, hRAX, int8(n-1))
		a.shRI(5, hRCX, 12)
		a.incR(hRCX)
	}
	a.cmpTag(kind != jRead)
	j.jccTo(ccNE, j.sideExit(k))
	if kind == jRMW {
		a.cmpTag(false) // the same tag, in the read TLB
		j.jccTo(ccNE, j.sideExit(k))
	}
	a.movRR(hRCX, hRAX)
	a.aluRI(4, hRCX, 0xFFF)
	a.orFrame(kind != jRead) // the frame's physical address
}

// cond emits a host compare whose flags are the guest's for condition cc,
// or reports that the producer's flags for cc are not known here.
func (j *jcomp) cond(k int, cc uint8) bool {
	fl := j.fl
	a := &j.a
	if !fl.known {
		// ZF is res == 0 for every producer but lfNone (fJzFast)
		if cc>>1 != 2 {
			return false
		}
		a.cmpByteZero(joLOp)
		j.jccTo(0x4, j.sideExit(k))
		a.ld(hRAX, joLRes)
		a.testRR(hRAX, hRAX)
		return true
	}
	if fl.sh != 0 && cc>>1 == 5 {
		return false // PF of a shifted byte result
	}
	if fl.rop != 0 {
		// a rotate owns CF and OF; ZF still comes from the producer
		if cc>>1 != 2 {
			return false
		}
		a.ld(hRAX, joLRes)
		a.testRR(hRAX, hRAX)
		return true
	}
	// the checks first: which producers and conditions are known
	switch fl.op {
	case lfSub, lfAdd, lfLogic:
	case lfInc, lfDec:
		if cc>>1 == 1 || cc>>1 == 3 {
			return false // CF lives in c.flags
		}
	case lfShl, lfShr, lfSar:
		if cc>>1 == 0 || cc>>1 >= 6 {
			return false // OF of a multi-bit shift
		}
	default:
		return false
	}
	if j.liveIn {
		// the producer's own host operation set the host flags just
		// before (flagsLive): they are the guest's for cc
		return true
	}
	switch fl.op {
	case lfSub:
		a.ld(hRAX, joLA)
		a.aluM(jCmp, hRAX, joLB)
	case lfAdd:
		a.ld(hRAX, joLA)
		a.aluM(jAdd, hRAX, joLB)
	case lfLogic:
		a.ld(hRAX, joLRes)
		a.testRR(hRAX, hRAX)
	case lfInc, lfDec:
		a.ld(hRAX, joLA)
		if fl.op == lfInc {
			a.incR(hRAX)
		} else {
			a.decR(hRAX)
		}
	case lfShl, lfShr, lfSar:
		a.ld(hRAX, joLA)
		a.ld(hRCX, joLB)
		a.shRCL(shiftExt[fl.op], hRAX)
	}
	return true
}

// keepCF emits inc/dec's CF rule: CF moves into c.flags unless the lazy
// record already leaves it there (flags.go's fIncR32 case). Unknown
// producers are sorted at run time; the rare ones leave to the
// interpreter.
func (j *jcomp) keepCF(k int) {
	a := &j.a
	fl := j.fl
	setCF := func() { // host CF -> c.flags's CF
		a.setcc(ccB, hRAX)
		a.movzxB(hRAX, hRAX)
		a.andImm(joFlags, ^uint32(FlagCF))
		a.aluMR(jOr, joFlags, hRAX)
	}
	if fl.known {
		switch {
		case fl.rop == lfRol:
			a.ld(hRAX, joLRres)
			a.aluRI(4, hRAX, 1)
			a.andImm(joFlags, ^uint32(FlagCF))
			a.aluMR(jOr, joFlags, hRAX)
		case fl.rop == lfRor:
			a.ld(hRAX, joLRres)
			a.shRI(5, hRAX, 31)
			a.andImm(joFlags, ^uint32(FlagCF))
			a.aluMR(jOr, joFlags, hRAX)
		case fl.op == lfInc || fl.op == lfDec:
		case fl.op == lfLogic:
			a.andImm(joFlags, ^uint32(FlagCF))
		case fl.op == lfSub || fl.op == lfAdd || fl.op == lfShl || fl.op == lfShr || fl.op == lfSar:
			j.cond(k, ccB)
			setCF()
		}
		return
	}
	// at run time, the commonest producers first (a loop's cmp, then
	// logic, then the ones that leave CF in c.flags already)
	side := j.sideExit(k)
	a.cmpByteZero(joLRop)
	j.jccTo(ccNE, side)
	a.ldB(hRAX, joLOp)
	var done, toSet []int
	a.aluRI(7, hRAX, uint32(lfSub))
	next := a.jcc(ccNE)
	a.ld(hRAX, joLA)
	a.aluM(jCmp, hRAX, joLB) // CF = a < b
	toSet = append(toSet, a.jmp())
	a.patch(next, a.pos())
	a.aluRI(7, hRAX, uint32(lfLogic))
	next = a.jcc(ccNE)
	a.andImm(joFlags, ^uint32(FlagCF))
	done = append(done, a.jmp())
	a.patch(next, a.pos())
	for _, op := range []uint8{lfNone, lfInc, lfDec} {
		a.aluRI(7, hRAX, uint32(op))
		done = append(done, a.jcc(0x4))
	}
	a.aluRI(7, hRAX, uint32(lfAdd))
	next = a.jcc(ccNE)
	a.ld(hRAX, joLRes)
	a.aluM(jCmp, hRAX, joLA) // CF = res < a
	toSet = append(toSet, a.jmp())
	a.patch(next, a.pos())
	// a shift's CF is the last bit shifted out: shift a by b again
	for _, op := range []uint8{lfShl, lfShr, lfSar} {
		a.aluRI(7, hRAX, uint32(op))
		next := a.jcc(ccNE)
		a.ld(hRAX, joLA)
		a.ld(hRCX, joLB)
		a.shRCL(shiftExt[op], hRAX)
		toSet = append(toSet, a.jmp())
		a.patch(next, a.pos())
	}
	side.at = append(side.at, a.jmp()) // adc, sbb: the interpreter's
	for _, at := range toSet {
		a.patch(at, a.pos())
	}
	setCF()
	for _, at := range done {
		a.patch(at, a.pos())
	}
}

// insn translates instruction k. ok is false, with nothing emitted, when
// it is not translatable here; end is true when it ends the translated
// code (a jump: EIP set, the block left).
func (j *jcomp) insn(k int) (ok, end bool) {
	in := &j.insns[k]
	j.k = k
	j.liveIn, j.flagsLive = j.flagsLive, false
	j.eaConst = false
	a := &j.a
	if in.mem && in.a16 {
		return false, false
	}
	switch in.op {
	case opMovRR32:
		a.ld(hRAX, jr(in.reg))
		a.st(jr(in.rm), hRAX)
	case opMovRI32:
		a.stImm(jr(in.reg), in.imm)
	case opLeaFast:
		j.ea(in)
		a.st(jr(in.reg), hRAX)
	case opAddRI32, opSubRI32, opAndRI32, opXorRI32:
		n, op := uint8(0), lfAdd
		switch in.op {
		case opSubRI32:
			n, op = 5, lfSub
		case opAndRI32:
			n, op = 4, lfLogic
		case opXorRI32:
			n, op = 6, lfLogic
		}
		a.ld(hRAX, jr(in.rm))
		a.movRR(hRDX, hRAX)
		a.aluRI(n, hRAX, in.imm)
		j.setLazy(op, hRAX, hRDX, 0, true, in.imm)
		if !(in.op == opSubRI32 && in.reg == 7) {
			a.st(jr(in.rm), hRAX)
		}
	case opAddRR32, opSubRR32, opAndRR32, opOrRR32, opXorRR32, opCmpRR32, opTestRR32:
		hop, op := uint8(jAnd), lfLogic
		switch in.op {
		case opAddRR32:
			hop, op = jAdd, lfAdd
		case opSubRR32, opCmpRR32:
			hop, op = jSub, lfSub
		case opOrRR32:
			hop = jOr
		case opXorRR32:
			hop = jXor
		}
		a.ld(hRDX, jr(in.rm))
		a.ld(hRCX, jr(in.reg))
		a.movRR(hRAX, hRDX)
		a.aluRR(hop, hRAX, hRCX)
		j.setLazy(op, hRAX, hRDX, hRCX, false, 0)
		if in.op != opCmpRR32 && in.op != opTestRR32 {
			a.st(jr(in.rm), hRAX)
		}
	case opIncR32, opDecR32:
		if j.dead == nil || !j.dead[k] {
			j.keepCF(k)
		}
		a.ld(hRDX, jr(in.reg))
		a.movRR(hRAX, hRDX)
		op := uint8(lfInc)
		if in.op == opIncR32 {
			a.incR(hRAX)
		} else {
			a.decR(hRAX)
			op = lfDec
		}
		j.setLazy(op, hRAX, hRDX, 0, true, 1)
		a.st(jr(in.reg), hRAX)
	case opShlRI32, opShrRI32, opSarRI32:
		n, op := uint8(4), lfShl
		if in.op == opShrRI32 {
			n, op = 5, lfShr
		} else if in.op == opSarRI32 {
			n, op = 7, lfSar
		}
		a.ld(hRDX, jr(in.rm))
		a.movRR(hRAX, hRDX)
		a.shRI(n, hRAX, uint8(in.imm))
		j.setLazy(op, hRAX, hRDX, 0, true, in.imm)
		a.st(jr(in.rm), hRAX)
	case opShlRCL32, opShrRCL32:
		n, op := uint8(4), lfShl
		if in.op == opShrRCL32 {
			n, op = 5, lfShr
		}
		a.ld(hRCX, jr(uint8(ECX)))
		a.aluRI(4, hRCX, 31)
		skip := a.jcc(0x4) // count 0: nothing changes
		a.ld(hRDX, jr(in.rm))
		a.movRR(hRAX, hRDX)
		a.shRCL(n, hRAX)
		a.stImm(joLOp, uint32(op))
		a.st(joLRes, hRAX)
		a.st(joLA, hRDX)
		a.st(joLB, hRCX)
		a.st(jr(in.rm), hRAX)
		a.patch(skip, a.pos())
		j.fl = jflags{} // either producer, decided at run time
	case opRolRI32, opRorRI32:
		n, op := uint8(0), lfRol
		if in.op == opRorRI32 {
			n, op = 1, lfRor
		}
		a.ld(hRAX, jr(in.rm))
		a.shRI(n, hRAX, uint8(in.imm))
		a.stImm16(joLRopSh, uint16(op)) // rop, rsh = 0
		a.st(joLRres, hRAX)
		a.st(jr(in.rm), hRAX)
		if j.fl.known {
			j.fl.rop = op
		}
	case 0xF7: // not, neg r32
		if in.mem || in.size != 4 || in.reg != 2 && in.reg != 3 {
			return false, false
		}
		a.ld(hRCX, jr(in.rm))
		if in.reg == 2 {
			a.notR(hRCX)
			a.st(jr(in.rm), hRCX)
			break
		}
		a.movRI(hRDX, 0)
		a.movRR(hRAX, hRDX)
		a.aluRR(jSub, hRAX, hRCX)
		j.setLazy(lfSub, hRAX, hRDX, hRCX, false, 0)
		a.st(jr(in.rm), hRAX)
	case 0xFF: // inc, dec m32
		if !in.mem || in.size != 4 || in.reg > 1 {
			return false, false
		}
		// the access first, as incDecRM: a fault (here a side exit)
		// comes before CF moves into c.flags
		j.ea(in)
		j.access(k, in.seg, 4, jRMW)
		a.st(joTmp, hRCX)
		j.liveIn = false // the access's compares since
		j.keepCF(k)
		a.ld(hRCX, joTmp)
		a.ldRAM32(hRDX)
		a.movRR(hRAX, hRDX)
		op := uint8(lfInc)
		if in.reg == 0 {
			a.incR(hRAX)
		} else {
			a.decR(hRAX)
			op = lfDec
		}
		a.stRAM32(hRAX)
		j.setLazy(op, hRAX, hRDX, 0, true, 1)
	case opAlu8RR:
		// the interpreter's 8-bit forms: operands and result shifted
		// left by 24 into the lazy record (flags.go)
		n := uint8(in.imm2)
		if n == 12 {
			n = 4 // TEST is AND without the store
		}
		if n > 7 || aluForms[n].lf == 0 {
			return false, false // adc/sbb
		}
		hop, op := aluForms[n].hop, aluForms[n].lf
		if j.dead != nil && j.dead[k] {
			// No one reads this record: the host's own byte operation on
			// the guest's byte registers, loaded and stored whole (a
			// byte store, then a dword load of the register, would stall
			// the host's store forwarding), and nothing for cmp, test.
			if in.imm2 != 7 && in.imm2 != 12 {
				dst, src := hRDX|in.rm&4, hRCX|in.reg&4 // DL/DH, CL/CH
				a.ld(hRDX, jr(in.rm&3))
				if in.reg&3 == in.rm&3 {
					src = hRDX | in.reg&4
				} else {
					a.ld(hRCX, jr(in.reg&3))
				}
				a.aluRR8(hop, dst, src)
				a.st(jr(in.rm&3), hRDX)
			}
			j.fl = jflags{known: true, op: op, sh: 24}
			break
		}
		j.get8(hRDX, in.rm)
		j.get8(hRCX, in.reg)
		a.shRI(4, hRDX, 24)
		a.shRI(4, hRCX, 24)
		a.movRR(hRAX, hRDX)
		a.aluRR(hop, hRAX, hRCX)
		j.setLazy(op, hRAX, hRDX, hRCX, false, 0)
		if j.dead == nil || !j.dead[k] {
			a.stImm(joLOp, uint32(op)|24<<8)
		}
		j.fl.sh = 24
		if in.imm2 != 7 && in.imm2 != 12 {
			a.shRI(5, hRAX, 24)
			j.set8(in.rm, hRAX)
			j.flagsLive = false // shr, and, or since
		}
	case opcNop:
	case 0x88, 0x89, 0x8A, 0x8B: // the moves specialise leaves: byte and word
		dst, src := in.rm, in.reg
		if in.op >= 0x8A {
			dst, src = src, dst
		}
		switch {
		case in.mem && in.size == 2 && in.op == 0x89:
			j.ea(in)
			j.access(k, in.seg, 2, jWrite)
			a.ld(hRDX, jr(in.reg))
			a.stRAM16(hRDX)
		case in.mem && in.size == 2 && in.op == 0x8B:
			j.ea(in)
			j.access(k, in.seg, 2, jRead)
			a.ldRAM16(hRAX)
			j.setReg16(in.reg, hRAX)
		case in.mem:
			return false, false
		case in.size == 1:
			j.get8(hRAX, src)
			j.set8(dst, hRAX)
		case in.size == 2:
			a.ld(hRAX, jr(src))
			a.movzxW(hRAX, hRAX)
			j.setReg16(dst, hRAX)
		default:
			return false, false
		}
	case 0xC6, 0xC7: // mov m, imm
		if !in.mem || in.size == 2 {
			return false, false
		}
		n := uint32(in.size)
		j.ea(in)
		j.access(k, in.seg, n, jWrite)
		a.movRI(hRDX, in.imm)
		if n == 4 {
			a.stRAM32(hRDX)
		} else {
			a.stRAM8(hRDX)
		}
	case 0x01, 0x09, 0x21, 0x29, 0x31, 0x39, 0x85, 0x81, 0x83:
		// ALU m32, r32 / m32, imm: read-modify-write, or a read for cmp
		// and test (exec.go's ALU cases)
		if !in.mem || in.size != 4 {
			return false, false
		}
		op := uint8(in.op >> 3)
		if in.op >= 0x81 {
			op = in.reg
		}
		if in.op == 0x85 {
			op = 4
		}
		if aluForms[op].lf == 0 {
			return false, false // adc/sbb
		}
		write := op != 7 && in.op != 0x85
		j.ea(in)
		kind := jRead
		if write {
			kind = jRMW
		}
		j.access(k, in.seg, 4, kind)
		a.ldRAM32(hRDX)
		a.movRR(hRAX, hRDX)
		if in.op >= 0x81 {
			n := op
			if n == 7 {
				n = 5 // cmp as sub: the lazy record wants the difference
			}
			a.aluRI(n, hRAX, in.imm)
		} else {
			a.aluM(aluForms[op].hop, hRAX, jr(in.reg))
		}
		if write {
			a.stRAM32(hRAX)
		}
		lf := aluForms[op].lf
		if in.op >= 0x81 {
			j.setLazy(lf, hRAX, hRDX, 0, true, in.imm)
		} else {
			a.ld(hRCX, jr(in.reg))
			j.setLazy(lf, hRAX, hRDX, hRCX, false, 0)
		}
	case opMovzx16RR:
		a.ld(hRAX, jr(in.rm))
		a.movzxW(hRAX, hRAX)
		a.st(jr(in.reg), hRAX)
	case opTestRI32:
		a.ld(hRAX, jr(in.rm))
		a.aluRI(4, hRAX, in.imm)
		j.setLazy(lfLogic, hRAX, 0, 0, true, 0)
	case opSetccR8:
		if !j.cond(k, uint8(in.imm2)) {
			return false, false
		}
		a.setcc(uint8(in.imm2), hRAX)
		a.movzxB(hRAX, hRAX)
		j.set8(in.rm, hRAX)
	case opCmovRR32:
		if !j.cond(k, uint8(in.imm2)) {
			return false, false
		}
		skip := a.jcc(uint8(in.imm2) ^ 1)
		a.ld(hRAX, jr(in.rm))
		a.st(jr(in.reg), hRAX)
		a.patch(skip, a.pos())
	case opMovsB:
		// runLoop's fMovsB: forward, ES without checks, both TLBs hit
		a.testFlagsImm(FlagDF)
		j.jccTo(ccNE, j.sideExit(k))
		a.cmpByteZero(joSchkW + uintptr(ES))
		j.jccTo(ccNE, j.sideExit(k))
		a.ld(hRAX, jr(uint8(ESI)))
		j.access(k, in.seg, 1, jRead)
		a.ldRAM8(hRDX)
		a.st(joTmp, hRDX)
		a.ld(hRAX, jr(uint8(EDI)))
		j.access(k, uint8(ES), 1, jWrite)
		a.ld(hRDX, joTmp)
		a.stRAM8(hRDX)
		a.ld(hRAX, jr(uint8(ESI)))
		a.incR(hRAX)
		a.st(jr(uint8(ESI)), hRAX)
		a.ld(hRAX, jr(uint8(EDI)))
		a.incR(hRAX)
		a.st(jr(uint8(EDI)), hRAX)
	case opMovzx8RR:
		a.ld(hRAX, jr(in.rm&3))
		if in.rm&4 != 0 {
			a.shRI(5, hRAX, 8)
		}
		a.movzxB(hRAX, hRAX)
		a.st(jr(in.reg), hRAX)
	case opMovLoad32, opMovzx8Load, opMovzx16Load:
		n := uint32(4)
		switch in.op {
		case opMovzx8Load:
			n = 1
		case opMovzx16Load:
			n = 2
		}
		j.ea(in)
		j.access(k, in.seg, n, jRead)
		switch n {
		case 4:
			a.ldRAM32(hRAX)
		case 2:
			a.ldRAM16(hRAX)
		default:
			a.ldRAM8(hRAX)
		}
		a.st(jr(in.reg), hRAX)
	case opAluLoad32:
		f := aluForms[in.imm2&7]
		if f.lf == 0 {
			return false, false // adc/sbb
		}
		hop, op := f.hop, f.lf
		j.ea(in)
		j.access(k, in.seg, 4, jRead)
		a.ldRAM32(hRCX) // b
		a.ld(hRDX, jr(in.reg))
		a.movRR(hRAX, hRDX)
		a.aluRR(hop, hRAX, hRCX)
		j.setLazy(op, hRAX, hRDX, hRCX, false, 0)
		if in.imm2&7 != 7 {
			a.st(jr(in.reg), hRAX)
		}
	case opMovStore32, opMovStore8:
		n := uint32(4)
		if in.op == opMovStore8 {
			n = 1
		}
		j.ea(in)
		j.access(k, in.seg, n, jWrite)
		if n == 4 {
			a.ld(hRDX, jr(in.reg))
			a.stRAM32(hRDX)
		} else {
			a.ld(hRDX, jr(in.reg&3))
			if in.reg&4 != 0 {
				a.shRI(5, hRDX, 8)
			}
			a.stRAM8(hRDX)
		}
	case opPushR32:
		a.ld(hRAX, jr(uint8(ESP)))
		a.aluRI(5, hRAX, 4)
		j.access(k, uint8(SS), 4, jWrite)
		a.ld(hRDX, jr(in.reg))
		a.stRAM32(hRDX)
		a.ld(hRAX, jr(uint8(ESP)))
		a.aluRI(5, hRAX, 4)
		a.st(jr(uint8(ESP)), hRAX)
	case opPopR32:
		a.ld(hRAX, jr(uint8(ESP)))
		j.access(k, uint8(SS), 4, jRead)
		a.ldRAM32(hRDX)
		a.ld(hRAX, jr(uint8(ESP)))
		a.aluRI(0, hRAX, 4)
		a.st(jr(uint8(ESP)), hRAX)
		a.st(jr(in.reg), hRDX)
	case opJzFast, opJccFast:
		// EIP is only set when the jump is taken (runLoop's fast case sets
		// it either way, but the next instruction does not read it)
		if !j.cond(k, in.reg) {
			return false, false
		}
		e := &jexit{eipOff: uint32(in.end) + in.imm, ret: uint64(k+1) | jitFinished}
		j.outs = append(j.outs, e)
		j.jccTo(in.reg, e)
		// a jcc leaves the host flags: the next Jcc may test them too
		j.flagsLive = j.liveIn
	case opJmpRel:
		j.finish(uint32(in.end)+in.imm, k+1)
		return true, true
	default:
		return false, false
	}
	return true, false
}

// set8 stores the low byte of host register r (bits above it clear; r is
// not RDX) into byte register n, as set8 does.
func (j *jcomp) set8(n uint8, r uint8) {
	a := &j.a
	sh := (n & 4) << 1
	if sh != 0 {
		a.shRI(4, r, sh)
	}
	a.ld(hRDX, jr(n&3))
	a.aluRI(4, hRDX, ^(uint32(0xFF) << sh))
	a.aluRR(jOr, hRDX, r)
	a.st(jr(n&3), hRDX)
}

// setReg16 stores host register r (zero-extended from 16 bits; not RDX)
// into the low half of guest register n, as setReg does for size 2.
func (j *jcomp) setReg16(n uint8, r uint8) {
	a := &j.a
	a.ld(hRDX, jr(n))
	a.aluRI(4, hRDX, 0xFFFF0000)
	a.aluRR(jOr, hRDX, r)
	a.st(jr(n), hRDX)
}

// get8 loads byte register n (get8) into host register r.
func (j *jcomp) get8(r uint8, n uint8) {
	j.a.ld(r, jr(n&3))
	if n&4 != 0 {
		j.a.shRI(5, r, 8)
	}
	j.a.movzxB(r, r)
}

func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// jitDefault: translation is on unless LGDBG_JIT=0 (for A/B measurements
// and to rule the translator out when hunting a bug).
var jitDefault = jitHost && os.Getenv("LGDBG_JIT") != "0"

// SetTranslate turns the block translator on or off (it is on by default
// where the host has one). Off, every instruction is interpreted; the
// guest cannot tell the difference.
func (c *CPU) SetTranslate(on bool) { c.jitOff = !on || !jitHost }

// jitFor returns blk's translated code, translating it once it is hot, or
// 0 to interpret it.
func (c *CPU) jitFor(b *block) uintptr {
	if b.jitCode != 0 && b.jitGen == c.jit.gen {
		return b.jitCode
	}
	if b.jitNo || b.nolink {
		return 0
	}
	if b.jitRuns++; b.jitRuns < c.jitHot {
		return 0
	}
	if c.jit == nil {
		c.jit = newJITArena()
	}
	if c.jit.bad {
		b.jitNo = true
		return 0
	}
	// A generous bound on one block's code and links, made room for
	// before translating: the links are handed out during translation.
	bound := len(b.insns)*512 + 4096
	if !c.jit.room(bound, len(b.insns)+2) {
		c.jitReset()
		if !c.jit.room(bound, len(b.insns)+2) {
			b.jitNo = true
			return 0
		}
	}
	code := translate(c.jit, b)
	if code == nil || len(code) > bound {
		b.jitNo = true
		return 0
	}
	b.jitCode = c.jit.place(code)
	b.jitGen = c.jit.gen
	jitPerfMap(b.jitCode, code, c.sbase[CS]+c.eip)
	c.jitBlks = append(c.jitBlks, b)
	b.jitHandle = uint32(len(c.jitBlks))
	return b.jitCode
}

// jitReset drops every translation (the arena is full). Bumping the
// chain-link generation kills every link into the old code.
func (c *CPU) jitReset() {
	c.jit.reset()
	c.gen++
	clear(c.jitBlks)
	c.jitBlks = c.jitBlks[:0]
}

// linkExit fills link cell num (a finished exit's, returned by the last
// translated run) with blk, the translated block found for the EIP it
// left at, when the exit chains straight into it next time. runLoop only
// runs a translation (and so only links to it) for a whole block without a
// breakpoint.
func (c *CPU) linkExit(num uint32, b *block) {
	l := &c.jit.cells[num]
	*l = jitLink{eip: c.eip, n: uint32(len(b.insns)), gen: c.gen, code: uint64(b.jitCode), handle: b.jitHandle, bpGen: c.bpGen}
}
