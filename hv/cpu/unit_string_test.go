package cpu

// String instructions with REP/REPE/REPNE and DF (Intel SDM vol. 2 MOVS,
// STOS, LODS, CMPS, SCAS, "REP/REPE/REPZ/REPNE/REPNZ"), 8/16/32-bit, 32- and
// 16-bit address size, and a fault in the middle of a REP leaving
// ECX/ESI/EDI at the progress point (cpu.md, "REP string instructions that
// fault mid-way").

import (
	"fmt"
	"testing"
)

// strRef is a reference model of one string instruction over a byte map.
type strRef struct {
	mem      map[uint32]byte
	r        regs
	df       bool
	addr16   bool
	cmpFlags uint32
}

func (s *strRef) rd(a uint32, n int) uint32 {
	var v uint32
	for i := 0; i < n; i++ {
		v |= uint32(s.mem[a+uint32(i)]) << (8 * i)
	}
	return v
}

func (s *strRef) wr(a uint32, n int, v uint32) {
	for i := 0; i < n; i++ {
		s.mem[a+uint32(i)] = byte(v >> (8 * i))
	}
}

func (s *strRef) idx(r Reg) uint32 {
	if s.addr16 {
		return s.r[r] & 0xFFFF
	}
	return s.r[r]
}

func (s *strRef) adv(r Reg, n int) {
	d := uint32(n)
	if s.df {
		d = -d
	}
	if s.addr16 {
		s.r[r] = s.r[r]&0xFFFF0000 | (s.r[r]+d)&0xFFFF
	} else {
		s.r[r] += d
	}
}

func (s *strRef) count() uint32 {
	if s.addr16 {
		return s.r[ECX] & 0xFFFF
	}
	return s.r[ECX]
}

func (s *strRef) dec() {
	if s.addr16 {
		s.r[ECX] = s.r[ECX]&0xFFFF0000 | (s.r[ECX]-1)&0xFFFF
	} else {
		s.r[ECX]--
	}
}

// cmpFlags computes the status flags of the comparison a - b (n bytes).
func cmpFlags(a, b uint32, n int) uint32 {
	bits := uint(8 * n)
	m := uint32(1)<<bits - 1
	if n == 4 {
		m = 0xFFFFFFFF
	}
	a, b = a&m, b&m
	r := (a - b) & m
	var f uint32
	if a < b {
		f |= FlagCF
	}
	if r == 0 {
		f |= FlagZF
	}
	if r>>(bits-1)&1 != 0 {
		f |= FlagSF
	}
	if ((a^b)&(a^r))>>(bits-1)&1 != 0 {
		f |= FlagOF
	}
	if (a^b^r)&0x10 != 0 {
		f |= FlagAF
	}
	p := byte(r)
	p ^= p >> 4
	p ^= p >> 2
	p ^= p >> 1
	if p&1 == 0 {
		f |= FlagPF
	}
	return f
}

// run executes op ("movs", "stos", "lods", "cmps", "scas") with rep
// ("", "rep", "repe", "repne") on the model, with flat segments.
func (s *strRef) run(op, rep string, n int) {
	one := func() {
		switch op {
		case "movs":
			s.wr(s.idx(EDI), n, s.rd(s.idx(ESI), n))
			s.adv(ESI, n)
			s.adv(EDI, n)
		case "stos":
			s.wr(s.idx(EDI), n, s.r[EAX])
			s.adv(EDI, n)
		case "lods":
			v := s.rd(s.idx(ESI), n)
			setOp(&s.r, 8*n, 0, v)
			s.adv(ESI, n)
		case "cmps":
			s.cmpFlags = cmpFlags(s.rd(s.idx(ESI), n), s.rd(s.idx(EDI), n), n)
			s.adv(ESI, n)
			s.adv(EDI, n)
		case "scas":
			s.cmpFlags = cmpFlags(s.r[EAX], s.rd(s.idx(EDI), n), n)
			s.adv(EDI, n)
		}
	}
	if rep == "" {
		one()
		return
	}
	for s.count() != 0 {
		one()
		s.dec()
		if op == "cmps" || op == "scas" {
			zf := s.cmpFlags&FlagZF != 0
			if (rep == "repe" && !zf) || (rep == "repne" && zf) {
				break
			}
		}
	}
}

// stepInsn runs the instruction at EIP to completion whatever Step's REP
// granularity is (one iteration per Step like hardware single-stepping, or
// the whole instruction): it steps while EIP stays on the instruction.
func stepInsn(mc *machine, max int) Exit {
	start := mc.c.EIP()
	var ex Exit
	for i := 0; i < max; i++ {
		ex = mc.c.Step()
		if ex.Reason != ExitStep || mc.c.EIP() != start {
			return ex
		}
	}
	return ex
}

func TestUnitStringOps(t *testing.T) {
	ops := map[string]byte{"movs": 0xA4, "cmps": 0xA6, "stos": 0xAA, "lods": 0xAC, "scas": 0xAE}
	reps := map[string]byte{"": 0, "rep": 0xF3, "repe": 0xF3, "repne": 0xF2}
	const src, dst = 0x6000, 0x9000
	fails := 0
	mc := newMachine(t) // reused: every case rewrites its buffers and registers
	for _, op := range []string{"movs", "cmps", "stos", "lods", "scas"} {
		for _, rep := range []string{"", "rep", "repe", "repne"} {
			isCmp := op == "cmps" || op == "scas"
			if isCmp && rep == "rep" || !isCmp && (rep == "repe" || rep == "repne") {
				continue // F3 on CMPS/SCAS is REPE: spelled once
			}
			for _, n := range []int{1, 2, 4} {
				for _, df := range []bool{false, true} {
					for _, addr16 := range []bool{false, true} {
						for _, count := range []uint32{0, 1, 7, 40} {
							if fails > 20 {
								t.Fatal("too many failures")
							}
							what := fmt.Sprintf("%s %s%d df=%v a16=%v ecx=%d", rep, op, n, df, addr16, count)
							ref := &strRef{mem: map[uint32]byte{}, df: df, addr16: addr16}
							// buffers chosen so REPE/REPNE stop in the middle
							for i := uint32(0); i < 0x400; i++ {
								b := byte(i % 7)
								d := b
								if i%13 == 12 {
									d = 0xEE
								}
								ref.mem[src-0x200+i] = b
								ref.mem[dst-0x200+i] = d
							}
							for a, v := range ref.mem {
								mc.m.Write8(a, v)
							}
							ref.r = regs{0x00000005, count, 0, 0, 0x8000, 0, src, dst}
							if count == 7 {
								ref.r[EAX] = 0xEE
							}
							if addr16 {
								ref.r[ECX] |= 0xABCD0000 // upper halves ignored and kept
								ref.r[ESI] |= 0x12340000
								ref.r[EDI] |= 0x56780000
							}
							mc.setRegs(ref.r)
							flags := uint32(0x202)
							if df {
								flags |= FlagDF
							}
							mc.c.SetEFLAGS(flags)
							var code []byte
							if reps[rep] != 0 {
								code = append(code, reps[rep])
							}
							if addr16 {
								code = append(code, 0x67)
							}
							if n == 2 {
								code = append(code, 0x66)
							}
							opc := ops[op]
							if n > 1 {
								opc++
							}
							code = append(code, opc)
							ref.run(op, rep, n)
							mc.at(0x2000, code...)
							ex := stepInsn(mc, 100)
							ok := mc.wantStep(what, ex, 0x2000+uint32(len(code)))
							if d := ref.r.diff(mc.regs()); d != "" {
								t.Errorf("%s:%s", what, d)
								ok = false
							}
							for a, v := range ref.mem {
								if got, _ := mc.m.Read8(a); got != v {
									t.Errorf("%s: mem[%#x] = %#x, want %#x", what, a, got, v)
									ok = false
									break
								}
							}
							wantF := flags
							if isCmp && (rep == "" || count > 0) {
								wantF = flags&^statusFlags | ref.cmpFlags
							}
							if got := mc.c.EFLAGS(); got != wantF {
								t.Errorf("%s: EFLAGS %#x (%s), want %#x (%s)", what, got, flagString(got), wantF, flagString(wantF))
								ok = false
							}
							if !ok {
								fails++
							}
						}
					}
				}
			}
		}
	}
}

// TestRepFaultMidway: REP MOVSD whose destination runs into a not-present
// page faults with ECX/ESI/EDI at the element that faulted and EIP at the
// instruction (with its prefix), so the Host can resume it after fixing the
// page (SDM: "the registers reflect the progress" for a faulting REP).
func TestUnitRepFaultMidway(t *testing.T) {
	for _, df := range []bool{false, true} {
		mc := newMachine(t)
		pt := mc.newPageTables(false)
		pt.identity(0x100000)
		pt.mapPage(0x50000, 0x50000, ptP|ptRW|ptUS, 0)
		pt.install()
		var dstStart uint32 = 0x50000 - 16 // 4 dwords fit, the 5th faults
		if df {
			dstStart = 0x51000 + 12 // down: 4 dwords fit in 0x51000.., the 5th hits 0x50FFC
		}
		for i := uint32(0); i < 0x100; i++ {
			mc.m.Write8(0x30000-0x80+i, byte(i))
		}
		mc.setRegs(regs{0, 10, 0, 0, 0x8000, 0, 0x30000, dstStart})
		if df {
			mc.c.SetEFLAGS(0x202 | FlagDF)
			pt.mapPage(0x51000, 0x51000, ptP|ptRW|ptUS, ptP|ptRW|ptUS)
			mc.c.FlushTLB()
		}
		mc.at(0x2000, 0xF3, 0xA5)
		ex := stepInsn(mc, 100)
		what := fmt.Sprintf("rep movsd df=%v", df)
		mc.wantTrap(what, ex, VecPF, true, 2, 0x2000)
		step := uint32(16)
		if df {
			step = -step
		}
		if ecx, esi, edi := mc.c.Reg(ECX), mc.c.Reg(ESI), mc.c.Reg(EDI); ecx != 6 || esi != 0x30000+step || edi != dstStart+step {
			t.Errorf("%s: after the fault ECX=%d ESI=%#x EDI=%#x, want 6 %#x %#x", what, ecx, esi, edi, 0x30000+step, dstStart+step)
		}
		if ex.CR2>>12 != 0x50 {
			t.Errorf("%s: CR2 %#x, want in page 0x50000", what, ex.CR2)
		}
		// fix the page and resume: the copy completes
		pt.mapPage(0x50000, 0x50000, ptP|ptRW|ptUS, ptP|ptRW|ptUS)
		mc.c.FlushTLBPage(0x50000)
		ex = stepInsn(mc, 100)
		mc.wantStep(what+" resumed", ex, 0x2002)
		if mc.c.Reg(ECX) != 0 {
			t.Errorf("%s: ECX %d after resume", what, mc.c.Reg(ECX))
		}
		for i := uint32(0); i < 10; i++ {
			off := 4 * i
			s, d := 0x30000+off, dstStart+off
			if df {
				s, d = 0x30000-off, dstStart-off
			}
			if a, b := mc.r32(s), mc.r32(d); a != b {
				t.Errorf("%s: element %d: src %#x dst %#x", what, i, a, b)
			}
		}
	}
}
