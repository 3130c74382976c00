package cpu

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestJITMatchesInterpreter runs random loops of the forms the block
// translator knows, mixed with forms it does not, once interpreted and once
// with translation on, and wants the same architectural state (SaveState:
// registers, lazy flags, EIP, retired count), the same exits and the same
// memory after every Run. The loops run 40 times, so their blocks get hot
// and are translated; the runs are cut into random budgets, so translated
// blocks meet truncated ones; the memory operands reach across page ends,
// into the code page (a store the write TLB never takes) and, through an
// index, sometimes past RAM (a fault in the middle of a block).
func TestJITMatchesInterpreter(t *testing.T) {
	if !jitHost {
		t.Skip("no block translator on this host")
	}
	const programs = 150
	var srcs []string
	rng := rand.New(rand.NewPCG(13, 42))
	for range programs {
		srcs = append(srcs, jitProgram(rng))
	}
	for i, src := range srcs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			code := asm(t, 0x10000, src)
			seed := uint64(i)
			interp := jitRun(t, code, false, false, seed)
			// every other program with an arena so small that it fills
			// and starts over after a translation or two (and has no
			// room at all for the largest blocks)
			tiny := i%2 == 1
			jit := jitRun(t, code, true, tiny, seed)
			if len(interp) != len(jit) {
				t.Fatalf("%d stops interpreted, %d translated", len(interp), len(jit))
			}
			translated := jit[len(jit)-1].translated
			for k := range interp {
				jit[k].translated = 0
				if !reflect.DeepEqual(interp[k], jit[k]) {
					t.Fatalf("stop %d differs:\ninterpreted %s\ntranslated  %s\n%s\nprogram:\n%s", k, interp[k], jit[k], jitDiff(interp[k], jit[k]), src)
				}
			}
			if last := jit[len(jit)-1].exit; translated == 0 && !tiny && seed%3 != 0 && last.Reason == ExitTrap && last.Vector == 0x1f {
				// (a program that faults early may never get hot)
				t.Fatalf("no block was translated:\n%s", src)
			}
		})
	}
}

// TestJITStopsOnRequest: a loop that never leaves translated code (each
// block chains into the next, or into itself) lets a garbage collection through, still
// stops on RequestStop, and stops on its budget at the same instruction as
// the interpreter.
func TestJITStopsOnRequest(t *testing.T) {
	if !jitHost {
		t.Skip("no block translator on this host")
	}
	for _, src := range []string{
		// two blocks chaining into each other through link cells
		"1:\n  add $1, %eax\n  mov %eax, %edx\n  and $3, %edx\n  jnz 2f\n  add $1, %ecx\n2:\n  jmp 1b\n",
		// one block looping to its own start (finish's short way)
		"1:\n  add $1, %eax\n  mov %eax, %edx\n  and $3, %edx\n  add %edx, %ecx\n  jmp 1b\n",
	} {
		testJITStopsOnRequest(t, src)
	}
}

func testJITStopsOnRequest(t *testing.T, src string) {
	code := asm(t, 0x10000, src)
	run := func(translate bool, budget uint64, stopAfter time.Duration) (*env, Exit) {
		e := newEnv(t)
		e.c.SetTranslate(translate)
		e.load(0x10000, code)
		e.c.SetEIP(0x10000)
		if stopAfter > 0 {
			// a collection first: its stop-the-world must not wait for
			// the translated loop forever (jitChainMax), or RequestStop
			// is never reached
			timer := time.AfterFunc(stopAfter, func() {
				runtime.GC()
				e.c.RequestStop()
			})
			defer timer.Stop()
		}
		return e, e.c.Run(budget)
	}
	e, ex := run(true, ^uint64(0)>>1, 100*time.Millisecond)
	if ex.Reason != ExitStop {
		t.Fatalf("exit %+v, want a stop", ex)
	}
	if e.c.jitBlks == nil {
		t.Fatal("nothing was translated")
	}
	t.Logf("stopped after %d instructions", e.c.ICount())
	const budget = 1_000_003
	a, exa := run(false, budget, 0)
	b, exb := run(true, budget, 0)
	if !reflect.DeepEqual(exa, exb) || !reflect.DeepEqual(a.c.SaveState(), b.c.SaveState()) {
		t.Fatalf("budget stop: interpreted %+v eax %#x icount %d, translated %+v eax %#x icount %d",
			exa, a.c.Reg(EAX), a.c.ICount(), exb, b.c.Reg(EAX), b.c.ICount())
	}
	if b.c.ICount() != budget {
		t.Fatalf("icount %d after a budget of %d", b.c.ICount(), budget)
	}
}

// jitStop is everything compared after one Run.
type jitStop struct {
	exit       Exit
	state      *State
	regs       [8]uint32
	eflags     uint32
	data       string // the data pages and the code page, hex
	translated int    // blocks with a translation (not compared)
}

func (s jitStop) String() string {
	return fmt.Sprintf("exit %+v icount %d eip %#x regs %x eflags %#x", s.exit, s.state.c.icount, s.state.c.eip, s.regs, s.eflags)
}

// jitDiff says where two stops differ beyond their String.
func jitDiff(a, b jitStop) string {
	var d []string
	if a.state.c.lazy != b.state.c.lazy || a.state.c.flags != b.state.c.flags {
		d = append(d, fmt.Sprintf("lazy %+v flags %#x / %+v flags %#x", a.state.c.lazy, a.state.c.flags, b.state.c.lazy, b.state.c.flags))
	}
	for i := 0; i < len(a.data) && i < len(b.data); i += 2 {
		if a.data[i:i+2] != b.data[i:i+2] {
			d = append(d, fmt.Sprintf("memory byte %d of the compared pages: %s / %s", i/2, a.data[i:i+2], b.data[i:i+2]))
			break
		}
	}
	return strings.Join(d, "\n")
}

// jitRun runs code to its end in random budgets.
func jitRun(t *testing.T, code []byte, translate, tinyArena bool, seed uint64) []jitStop {
	e := newEnv(t)
	e.c.SetTranslate(translate)
	if tinyArena {
		e.c.jit = newJITArena()
		e.c.jit.mem = e.c.jit.mem[:24000]
	}
	e.load(0x10000, code)
	e.c.SetEIP(0x10000)
	e.c.SetReg(ESP, 0x80000)
	rng := rand.New(rand.NewPCG(seed, 7))
	if seed%5 == 2 {
		// DS based above 0: translated code may not take DS, ES and SS
		// for plain (flatData) and must leave such accesses to the
		// interpreter, which adds the base
		ds := e.c.Seg(DS)
		ds.Base = 0x1000
		e.c.SetSegRaw(DS, ds)
	}
	if seed%3 == 0 {
		// breakpoints: a block without one still runs translated, alone;
		// one in the loop (when the address starts an instruction) stops
		// every iteration
		e.c.SetBreakpoint(0x10000)
		e.c.SetBreakpoint(0x10000 + 0x28 + uint32(rng.IntN(0x40)))
	}
	var stops []jitStop
	for range 200000 {
		ex := e.c.Run(uint64(1 + rng.IntN(400)))
		s := jitStop{exit: ex, state: e.c.SaveState(), eflags: e.c.EFLAGS()}
		for r := range s.regs {
			s.regs[r] = e.c.Reg(Reg(r))
		}
		var b strings.Builder
		for _, pa := range []uint32{0x10000, 0x200000, 0x201000, 0x202000} {
			page := make([]byte, 4096)
			e.m.ReadBytes(pa, page)
			fmt.Fprintf(&b, "%x", page)
		}
		s.data = b.String()
		for _, p := range e.c.pages {
			if p == nil {
				continue
			}
			for _, blk := range p.blocks {
				if blk != nil && blk.jitCode != 0 {
					s.translated++
				}
			}
		}
		stops = append(stops, s)
		if ex.Reason != ExitBudget && ex.Reason != ExitBreakpoint {
			return stops
		}
	}
	t.Fatal("program did not end")
	return nil
}

// jitProgram is a random loop body between a set-up and the loop's count
// in memory (decl, jnz): EBX points at the data pages and is never a
// destination; ESP only moves by balanced push/pop.
func jitProgram(rng *rand.Rand) string {
	dst := []string{"eax", "ecx", "edx", "esi", "edi", "ebp"}
	src := append(dst, "ebx", "esp")
	b8 := []string{"al", "cl", "dl", "ah", "ch", "dh"}
	src8 := append(b8, "bl", "bh")
	alu := []string{"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"}
	cc := []string{"o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"}
	pick := func(l []string) string { return l[rng.IntN(len(l))] }
	imm := func() uint32 {
		switch rng.IntN(4) {
		case 0:
			return uint32(rng.IntN(8))
		case 1:
			return uint32(int32(int8(rng.Uint32())))
		case 2:
			return 0x80000000 - uint32(rng.IntN(3))
		}
		return rng.Uint32()
	}
	disp := func() uint32 {
		switch rng.IntN(6) {
		case 0:
			return 0xFFD + uint32(rng.IntN(3)) // crosses into the next page
		case 1:
			return 0x1FFE
		}
		return uint32(rng.IntN(0x2FF0)) &^ 3
	}
	var body []string
	n := 2 + rng.IntN(30)
	pushed := 0
	for len(body) < n {
		var s string
		switch rng.IntN(40) {
		case 0:
			s = fmt.Sprintf("mov %%%s, %%%s", pick(src), pick(dst))
		case 1:
			s = fmt.Sprintf("mov $%#x, %%%s", imm(), pick(dst))
		case 2, 3:
			s = fmt.Sprintf("%s %%%s, %%%s", pick(alu), pick(src), pick(dst))
		case 4, 5:
			s = fmt.Sprintf("%sl $%#x, %%%s", pick(alu), imm(), pick(dst))
		case 6:
			s = fmt.Sprintf("test %%%s, %%%s", pick(src), pick(dst))
		case 7:
			s = fmt.Sprintf("%s %%%s", pick([]string{"inc", "dec", "not", "neg"}), pick(dst))
		case 8:
			s = fmt.Sprintf("%sl $%d, %%%s", pick([]string{"shl", "shr", "sar", "rol", "ror"}), rng.IntN(33), pick(dst))
		case 9:
			s = fmt.Sprintf("%sl %%cl, %%%s", pick([]string{"shl", "shr", "sar"}), pick([]string{"eax", "edx", "esi", "edi", "ebp"}))
		case 10:
			s = fmt.Sprintf("lea %d(%%%s,%%%s,%d), %%%s", int32(imm()), pick(src), pick(dst), 1<<rng.IntN(4), pick(dst))
		case 11, 12:
			s = fmt.Sprintf("mov %#x(%%ebx), %%%s", disp(), pick(dst))
		case 13, 14:
			s = fmt.Sprintf("mov %%%s, %#x(%%ebx)", pick(src), disp())
		case 15:
			s = fmt.Sprintf("%s %#x(%%ebx), %%%s", pick([]string{"movzbl", "movzwl"}), disp(), pick(dst))
		case 16:
			s = fmt.Sprintf("movb %%%s, %#x(%%ebx)", pick(src8), disp())
		case 17:
			s = fmt.Sprintf("%s %#x(%%ebx), %%%s", pick(alu), disp(), pick(dst))
		case 18:
			s = fmt.Sprintf("%sl %#x(%%ebx)", pick([]string{"inc", "dec"}), disp())
		case 19:
			s = fmt.Sprintf("push %%%s", pick(src))
			pushed++
		case 20:
			if pushed > 0 {
				s = fmt.Sprintf("pop %%%s", pick(dst))
				pushed--
			}
		case 21:
			s = fmt.Sprintf("%sb %%%s, %%%s", pick(append(alu, "test")), pick(src8), pick(b8))
			if rng.IntN(2) == 0 {
				// a producer that replaces its record unseen (deadFlags)
				s += fmt.Sprintf("\n  %s %%%s, %%%s", pick([]string{"add", "or", "and", "sub", "xor", "cmp"}), pick(src), pick(dst))
			}
		case 22, 23:
			s = fmt.Sprintf("j%s 1f\n  %s %%%s, %%%s\n1:", pick(cc), pick(alu), pick(src), pick(dst))
		case 24:
			s = fmt.Sprintf("movzbl %%%s, %%%s", pick(src8), pick(dst))
		case 25:
			s = fmt.Sprintf("set%s %%%s", pick(cc), pick(b8))
		case 26:
			s = fmt.Sprintf("cmov%s %%%s, %%%s", pick(cc), pick(src), pick(dst))
		case 27:
			// absolute addresses (globals): their TLB slot is known
			// when translating; one form crosses into the next page
			at := fmt.Sprintf("scratch+%d", 4*rng.IntN(16))
			if rng.IntN(3) == 0 {
				at = fmt.Sprintf("%#x", 0x200000+disp())
			}
			switch rng.IntN(6) {
			case 0:
				s = fmt.Sprintf("mov %%%s, %s", pick(src), at)
			case 1:
				s = fmt.Sprintf("mov %s, %%%s", at, pick(dst))
			case 2:
				s = fmt.Sprintf("%s %%%s, %s", pick(alu), pick(src), at)
			case 3:
				s = fmt.Sprintf("%sl %s", pick([]string{"inc", "dec"}), at)
			case 4:
				s = fmt.Sprintf("movzbl %s, %%%s", at, pick(dst))
			default:
				s = fmt.Sprintf("%s %s, %%%s", pick(alu), at, pick(dst))
			}
		case 28:
			r := pick(dst)
			s = fmt.Sprintf("and $0x1ffc, %%%s\n  mov (%%ebx,%%%s,1), %%%s", r, r, pick(dst))
		case 29:
			s = pick([]string{"clc", "stc", "cmc", "nop", "pause"})
		case 30:
			s = fmt.Sprintf("movb %%%s, %%%s", pick(src8), pick(b8))
		case 31:
			w := []string{"ax", "cx", "dx", "si", "di", "bp"}
			switch rng.IntN(3) {
			case 0:
				s = fmt.Sprintf("movw %%%s, %%%s", pick(w), pick(w))
			case 1:
				s = fmt.Sprintf("movw %%%s, %#x(%%ebx)", pick(w), disp())
			default:
				s = fmt.Sprintf("movw %#x(%%ebx), %%%s", disp(), pick(w))
			}
		case 32:
			s = fmt.Sprintf("%s $%#x, %#x(%%ebx)", pick([]string{"movl", "movb"}), imm(), disp())
		case 33:
			s = fmt.Sprintf("%s %%%s, %#x(%%ebx)", pick(append(alu, "test")), pick(src), disp())
		case 34:
			s = fmt.Sprintf("%sl $%#x, %#x(%%ebx)", pick(alu), imm(), disp())
		case 35:
			s = fmt.Sprintf("movzwl %%%s, %%%s", pick([]string{"ax", "cx", "dx", "si", "bx"}), pick(dst))
		case 36:
			s = fmt.Sprintf("test $%#x, %%%s", imm(), pick(dst))
		case 37:
			s = fmt.Sprintf("lea %#x(%%ebx), %%esi\n  lea %#x(%%ebx), %%edi\n  movsb", disp(), disp())
		case 38:
			s = pick([]string{"cld", "std"})
		case 39:
			s = fmt.Sprintf("movb $%d, %%%s\n  rol%s %%cl, %%%s", rng.IntN(40), "cl", "l", pick([]string{"eax", "edx", "esi"}))
		}
		if s != "" {
			body = append(body, s)
		}
	}
	if rng.IntN(4) == 0 {
		// an index that may leave RAM: a #PF in the middle of a block
		at := rng.IntN(len(body) + 1)
		body = append(body[:at], append([]string{fmt.Sprintf("mov (%%ebx,%%%s,1), %%%s", pick(dst), pick(dst))}, body[at:]...)...)
	}
	for ; pushed > 0; pushed-- {
		body = append(body, "pop %"+pick(dst))
	}
	var p strings.Builder
	fmt.Fprintf(&p, "  mov $0x200000, %%ebx\n  movl $40, 0x2ff0(%%ebx)\n")
	for _, r := range dst {
		fmt.Fprintf(&p, "  mov $%#x, %%%s\n", imm(), r)
	}
	// the loop's block starts with two forms the translator knows (a block
	// is only translated from its start, and one instruction only when
	// it is the whole block or its jump)
	p.WriteString("2:\n  mov %ebx, %eax\n  add $4, %eax\n")
	for _, s := range body {
		p.WriteString("  " + s + "\n")
	}
	// scratch shares the code page but not its 64-byte decode chunks
	p.WriteString("  decl 0x2ff0(%ebx)\n  jnz 2b\n  " + hlt + "\n.balign 256\nscratch:\n  .space 64\n")
	return p.String()
}

// TestJITMatchesInterpreterOnFuzzInputs runs FuzzCPU's machines (user
// mode, paging with holes and read-only pages, PAE, direct gates) on random
// code biased towards the translated forms, with every block translated on
// its first whole run, against the interpreter: the same exit and state
// after every round and the same memory at the end.
func TestJITMatchesInterpreterOnFuzzInputs(t *testing.T) {
	if !jitHost {
		t.Skip("no block translator on this host")
	}
	// encodings of translated forms (ModRM bytes vary below)
	forms := [][]byte{
		{0x89, 0xC0}, {0x8B, 0x00}, {0x89, 0x00}, {0x01, 0xC0}, {0x29, 0xC0}, {0x31, 0xC0}, {0x39, 0xC0},
		{0x85, 0xC0}, {0x21, 0xC0}, {0x09, 0xC0}, {0x83, 0xC0, 0x05}, {0x81, 0xE8, 1, 2, 3, 4}, {0x83, 0xF8, 0x7F},
		{0x40}, {0x4B}, {0xF7, 0xD0}, {0xF7, 0xD8}, {0xC1, 0xE0, 3}, {0xC1, 0xE8, 31}, {0xC1, 0xF8, 1}, {0xD3, 0xE0},
		{0xC1, 0xC0, 7}, {0xC1, 0xC8, 9}, {0x8D, 0x44, 0x88, 0x10}, {0x0F, 0xB6, 0x00}, {0x0F, 0xB7, 0x00}, {0x0F, 0xB6, 0xC0},
		{0x88, 0x00}, {0x88, 0xC0}, {0x30, 0xC0}, {0x50}, {0x5B}, {0x74, 0x02}, {0x75, 0xFE}, {0x7C, 0x03}, {0xEB, 0xF0},
		{0xFF, 0x00}, {0xFF, 0x08}, {0x01, 0x00}, {0x39, 0x00}, {0x83, 0x00, 0x01}, {0xC7, 0x00, 1, 0, 0, 0}, {0xC6, 0x00, 9},
		{0x66, 0x89, 0x00}, {0x66, 0x8B, 0x00}, {0x0F, 0x94, 0xC0}, {0x0F, 0x44, 0xC0}, {0xA4}, {0x90}, {0xB8, 1, 2, 3, 4},
		{0xF8}, {0xF9}, {0xF5}, {0xFC},
	}
	rng := rand.New(rand.NewPCG(3, 5))
	for i := range 300 {
		var code []byte
		for len(code) < 200 {
			if rng.IntN(5) == 0 {
				code = append(code, byte(rng.Uint32()))
				continue
			}
			f := append([]byte(nil), forms[rng.IntN(len(forms))]...)
			m := 1 // the ModRM byte: keep mod, vary reg and rm
			if f[0] == 0x0F || f[0] == 0x66 {
				m = 2
			}
			if len(f) > m {
				f[m] = f[m]&0xC0 | byte(rng.IntN(64))
				if f[m]&0xC0 == 0 && f[m]&7 == 4 || f[m]&0xC0 == 0 && f[m]&7 == 5 {
					f[m] ^= 1 // no SIB or disp32 forms without their bytes
				}
			}
			code = append(code, f...)
		}
		// a jump back to the start, so the code runs many times
		code = append(code, 0xE9)
		code = binaryAppendRel(code, fuzzCode)
		seed, flags, mode := rng.Uint64(), rng.Uint32(), uint8(rng.IntN(16))
		run := func(translate bool) ([]string, []*State, []byte) {
			mc := fuzzMachine(t, code, seed, flags, mode)
			mc.c.SetTranslate(translate)
			mc.c.jitHot = 1
			var log []string
			var states []*State
			for round := range fuzzRounds {
				ex := mc.c.Run(fuzzBudget)
				log = append(log, fmt.Sprintf("round %d: %s eip %#x icount %d eflags %#x", round, exitString(ex), mc.c.EIP(), mc.c.ICount(), mc.c.EFLAGS()))
				states = append(states, mc.c.SaveState())
				if ex.Reason == ExitTrap || ex.Reason == ExitUnimplemented {
					mc.c.SetEIP(mc.c.EIP() + 1)
				}
			}
			return log, states, append([]byte(nil), mc.m.Bytes()...)
		}
		a, sa, ma := run(false)
		b, sb, mb := run(true)
		for k := range a {
			if a[k] != b[k] || !reflect.DeepEqual(sa[k], sb[k]) {
				t.Fatalf("input %d (mode %#x), %s\ninterpreted %s\ntranslated  %s\nlazy %+v / %+v flags %#x / %#x\ncode % x",
					i, mode, strings.SplitN(a[k], ":", 2)[0], a[k], b[k], sa[k].c.lazy, sb[k].c.lazy, sa[k].c.flags, sb[k].c.flags, code)
			}
		}
		if !bytes.Equal(ma, mb) {
			for p := range ma {
				if ma[p] != mb[p] {
					t.Fatalf("input %d (mode %#x): memory differs first at %#x: %#x / %#x\ncode % x", i, mode, p, ma[p], mb[p], code)
				}
			}
		}
	}
}

// binaryAppendRel appends the rel32 of a jmp at the end of code (placed at
// fuzzCode) to target.
func binaryAppendRel(code []byte, target uint32) []byte {
	next := fuzzCode + uint32(len(code)) + 4
	r := target - next
	return append(code, byte(r), byte(r>>8), byte(r>>16), byte(r>>24))
}

// The assembler's cache of held fields (jasm.held): a load of a guest
// register a host register holds becomes a move or nothing, and anything
// that may change either side makes it load from memory again.
func TestJasmForwardsHeldFields(t *testing.T) {
	load := func(r uint8, off uintptr) []byte {
		var a jasm
		a.emit(0x8B)
		a.modrmCPU(r, uint32(off))
		return a.b
	}
	ldEAX3 := func(a *jasm) { a.ld(hRAX, jr(3)) }
	cases := []struct {
		name  string
		setup func(a *jasm)
		last  func(a *jasm)
		want  []byte // what last emits
	}{
		{"second load moves", func(a *jasm) { a.ld(hRDX, jr(3)) }, ldEAX3, []byte{0x89, 0xD0}},
		{"same register: nothing", func(a *jasm) { a.ld(hRAX, jr(3)) }, ldEAX3, nil},
		{"after a store", func(a *jasm) { a.st(jr(3), hRCX) }, ldEAX3, []byte{0x89, 0xC8}},
		{"store of what is held: nothing", func(a *jasm) { a.ld(hRAX, jr(2)) }, func(a *jasm) { a.st(jr(2), hRAX) }, nil},
		{"moved copy is held too", func(a *jasm) { a.ld(hRDX, jr(3)); a.movRR(hRCX, hRDX); a.incR(hRDX) }, ldEAX3, []byte{0x89, 0xC8}},
		{"two fields in one register", func(a *jasm) { a.ld(hRDX, jr(3)); a.st(joLA, hRDX) }, ldEAX3, []byte{0x89, 0xD0}},
		{"register overwritten", func(a *jasm) { a.ld(hRDX, jr(3)); a.incR(hRDX) }, ldEAX3, load(hRAX, jr(3))},
		{"cmp leaves the register", func(a *jasm) { a.ld(hRDX, jr(3)); a.aluRI(7, hRDX, 9) }, ldEAX3, []byte{0x89, 0xD0}},
		{"field partly overwritten", func(a *jasm) { a.ld(hRDX, jr(3)); a.stImm16(jr(3)+2, 0) }, ldEAX3, load(hRAX, jr(3))},
		{"field stored from elsewhere", func(a *jasm) { a.ld(hRDX, jr(3)); a.st(jr(3), hRCX) }, ldEAX3, []byte{0x89, 0xC8}},
		{"label", func(a *jasm) { at := a.jcc(ccNE); a.ld(hRDX, jr(3)); a.patch(at, a.pos()) }, ldEAX3, load(hRAX, jr(3))},
		{"raw code", func(a *jasm) { a.ld(hRDX, jr(3)); a.byte1(0x90) }, ldEAX3, load(hRAX, jr(3))},
		{"not a tracked field", func(a *jasm) { a.ld(hRDX, joEIP) }, func(a *jasm) { a.ld(hRAX, joEIP) }, load(hRAX, joEIP)},
		{"stopReq is never held", func(a *jasm) { a.ld(hRDX, joStop) }, func(a *jasm) { a.ld(hRAX, joStop) }, load(hRAX, joStop)},
	}
	for _, tc := range cases {
		var a jasm
		tc.setup(&a)
		n := len(a.b)
		tc.last(&a)
		if got := a.b[n:]; !bytes.Equal(got, tc.want) {
			t.Errorf("%s: emitted % x, want % x", tc.name, got, tc.want)
		}
	}
}

// TestJITSegmentBase: with DS or SS based above 0, translated code may
// not take the data segments for plain (flatData) and must leave their
// accesses to the interpreter, which adds the base. Each access is laid
// out so that, with the base forgotten, it would hit the TLB entry of
// another page the loop touches (and use the wrong word) instead of
// missing: the first read of each iteration and the stack, whose pushed
// word (the count, new each iteration) is read back through DS.
func TestJITSegmentBase(t *testing.T) {
	if !jitHost {
		t.Skip("no block translator on this host")
	}
	src := `  mov $0x200000, %ebx
  mov $0x300, %ecx
2:
  mov 0x1000(%ebx), %eax
  add (%ebx), %eax
  mov %eax, 0x10(%ebx)
  push %ecx
  mov 0x17fc(%ebx), %edi
  pop %edx
  add %edx, %esi
  dec %ecx
  jnz 2b
  int $0x1f
`
	for _, s := range []SReg{DS, SS} {
		var got [2][8]uint32
		for i, translate := range []bool{false, true} {
			e := newEnv(t)
			e.c.SetTranslate(translate)
			e.load(0x10000, asm(t, 0x10000, src))
			for pa := uint32(0x200000); pa < 0x203000; pa += 0x1000 {
				e.m.Write32(pa, pa>>12)
			}
			e.c.SetEIP(0x10000)
			e.c.SetReg(ESP, 0x200800)
			seg := e.c.Seg(s)
			seg.Base = 0x1000
			e.c.SetSegRaw(s, seg)
			if ex := e.c.Run(1 << 20); ex.Reason != ExitTrap || ex.Vector != 0x1f {
				t.Fatalf("%v base 0x1000 (translate %v): %s", s, translate, exitString(ex))
			}
			for r := range got[i] {
				got[i][r] = e.c.Reg(Reg(r))
			}
		}
		if got[0] != got[1] {
			t.Errorf("%v based at 0x1000: registers interpreted %x, translated %x", s, got[0], got[1])
		}
	}
}

// TestJITByteOpsUnseenFlags: an 8-bit ALU operation whose flags the next
// producer replaces unseen is translated to the host's own byte operation
// (on DL/DH and CL/CH); every pairing of low and high bytes, within one
// register and across two, matches the interpreter.
func TestJITByteOpsUnseenFlags(t *testing.T) {
	if !jitHost {
		t.Skip("no block translator on this host")
	}
	// (EBX holds the loop's count address: a source only)
	pairs := [][2]string{{"ah", "al"}, {"al", "ah"}, {"cl", "ch"}, {"dh", "dl"}, {"bh", "dl"}, {"bl", "dh"}, {"al", "cl"}, {"ch", "ah"}, {"dl", "dl"}}
	for _, op := range []string{"add", "or", "and", "sub", "xor"} {
		for _, p := range pairs {
			src := fmt.Sprintf(`  mov $0x200000, %%ebx
  movl $40, 0x2ff0(%%ebx)
  mov $0x12345678, %%eax
  mov $0x9abcdef0, %%ecx
  mov $0x0f1e2d3c, %%edx
2:
  mov %%ebx, %%esi
  add $4, %%esi
  %sb %%%s, %%%s
  add %%esi, %%edi
  rol $5, %%eax
  ror $3, %%ecx
  xor %%eax, %%edx
  decl 0x2ff0(%%ebx)
  jnz 2b
  int $0x1f
`, op, p[0], p[1])
			code := asm(t, 0x10000, src)
			interp := jitRun(t, code, false, false, 1)
			jit := jitRun(t, code, true, false, 1)
			if jit[len(jit)-1].translated == 0 {
				t.Fatalf("%sb %%%s, %%%s: the loop was not translated", op, p[0], p[1])
			}
			a, b := interp[len(interp)-1], jit[len(jit)-1]
			if a.regs != b.regs || a.eflags != b.eflags {
				t.Errorf("%sb %%%s, %%%s: interpreted %x (flags %#x), translated %x (flags %#x)", op, p[0], p[1], a.regs, a.eflags, b.regs, b.eflags)
			}
		}
	}
}

// TestJITGlobals: an access at a constant address (a global variable) is
// translated with its TLB slot and tag known in advance; loads, stores,
// read-modify-writes and byte loads, at a page's first byte, inside it and
// across its end, match the interpreter.
func TestJITGlobals(t *testing.T) {
	if !jitHost {
		t.Skip("no block translator on this host")
	}
	forms := []string{ // @: the address
		"mov @, %eax\n  add %eax, %esi",
		"mov %esi, @",
		"addl %ecx, @\n  mov @, %edi",
		"incl @\n  mov @, %edx",
		"movzbl @, %edx\n  add %edx, %esi",
		"cmp @, %esi\n  setb %dl\n  add %edx, %edi",
	}
	for _, at := range []string{"0x201000", "0x201234", "0x201ffe", "0x201ffc"} {
		for _, f := range forms {
			body := strings.ReplaceAll(f, "@", at)
			src := fmt.Sprintf(`  mov $0x200000, %%ebx
  movl $40, 0x2ff0(%%ebx)
  movl $0x01020304, 0x201000
  movl $0x05060708, 0x201234
  movl $0x090a0b0c, 0x201ffc
  mov $0x11, %%ecx
  mov $0x100, %%esi
2:
  mov %%ebx, %%eax
  add $4, %%eax
  %s
  add $3, %%ecx
  decl 0x2ff0(%%ebx)
  jnz 2b
  int $0x1f
`, body)
			code := asm(t, 0x10000, src)
			interp := jitRun(t, code, false, false, 1)
			jit := jitRun(t, code, true, false, 1)
			if jit[len(jit)-1].translated == 0 {
				t.Fatalf("%s: the loop was not translated", body)
			}
			a, b := interp[len(interp)-1], jit[len(jit)-1]
			if a.regs != b.regs || a.data != b.data {
				t.Errorf("%s: interpreted %x, translated %x (memory same: %v)", body, a.regs, b.regs, a.data == b.data)
			}
		}
	}
}

// TestJITGlobalStoreIntoCode: a store at a constant address goes through
// the write TLB, which never maps a page holding decoded code: a loop
// that patches the immediate of an instruction it runs next (on the next
// page, so that the loop's own translation stands) sees each new value,
// as interpreted.
func TestJITGlobalStoreIntoCode(t *testing.T) {
	if !jitHost {
		t.Skip("no block translator on this host")
	}
	src := `  mov $0x200000, %ebx
  movl $40, 0x2ff0(%ebx)
  mov $0x11, %ecx
2:
  mov %ebx, %eax
  add $4, %eax
  movl %ecx, 4f+1
  add $3, %ecx
  jmp 4f
.balign 4096
4:
  mov $0, %edx
  add %edx, %esi
  decl 0x2ff0(%ebx)
  jnz 2b
  int $0x1f
`
	code := asm(t, 0x10000, src)
	interp := jitRun(t, code, false, false, 1)
	jit := jitRun(t, code, true, false, 1)
	if jit[len(jit)-1].translated == 0 {
		t.Fatal("the loop was not translated")
	}
	if a, b := interp[len(interp)-1], jit[len(jit)-1]; a.regs != b.regs {
		t.Errorf("interpreted %x, translated %x", a.regs, b.regs)
	}
}

// TestJITReadWatchOnReadModifyWrite: a translated read-modify-write needs
// the read TLB's entry as well as the write TLB's, so a read watchpoint
// set on its target once the loop runs translated (a page the write TLB
// may still map) stops it at the next iteration.
func TestJITReadWatchOnReadModifyWrite(t *testing.T) {
	if !jitHost {
		t.Skip("no block translator on this host")
	}
	for _, form := range []string{"incl 0x201010", "addl %ecx, 0x201010", "incl 0x10(%esi)"} {
		e := newEnv(t)
		e.load(0x10000, asm(t, 0x10000, fmt.Sprintf(`  mov $0x201000, %%esi
  mov $0x100000, %%ecx
2:
  mov %%esi, %%eax
  add $4, %%eax
  %s
  dec %%ecx
  jnz 2b
  int $0x1f
`, form)))
		e.c.SetEIP(0x10000)
		e.c.SetReg(ESP, 0x80000)
		if ex := e.c.Run(5000); ex.Reason != ExitBudget {
			t.Fatalf("%s: %s before the watchpoint", form, exitString(ex))
		}
		if n := translatedBlocks(e.c); n == 0 {
			t.Fatalf("%s: the loop was not translated", form)
		}
		e.c.SetWatchpoint(0x201010, 4, WatchRead)
		before := e.c.ICount()
		ex := e.c.Run(1000)
		if ex.Reason != ExitWatchpoint || e.c.ICount()-before > 5 {
			t.Errorf("%s: %s after %d instructions, want a read watchpoint at once", form, exitString(ex), e.c.ICount()-before)
		}
	}
}

// translatedBlocks counts the blocks with a translation.
func translatedBlocks(c *CPU) int {
	n := 0
	for _, p := range c.pages {
		if p == nil {
			continue
		}
		for _, blk := range p.blocks {
			if blk != nil && blk.jitCode != 0 {
				n++
			}
		}
	}
	return n
}
