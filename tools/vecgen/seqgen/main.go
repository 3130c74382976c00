// Command seqgen writes seq.inc for tools/vecgen/snippets.c: random i386
// instruction sequences (AT&T syntax) that never fault for any register
// state and never let an architecturally undefined flag reach a result.
//
// It tracks which status flags are defined after each instruction (Intel SDM
// per instruction) and only emits a flag consumer (ADC, SBB, SETcc, CMOVcc,
// Jcc, RCL/RCR, LAHF, DAA...) when the flags it reads are defined. The final
// mask of defined flags becomes the snippet's flag mask. Memory operands are
// absolute addresses inside the generator's sdata buffer; DIV is guarded so
// it cannot raise #DE; BSF/BSR get a non-zero source.
//
//	go run ./seqgen > seq.inc
package main

import (
	"fmt"
	"math/rand"
	"os"
	"strings"
)

const (
	cf = 0x001
	pf = 0x004
	af = 0x010
	zf = 0x040
	sf = 0x080
	of = 0x800

	all = cf | pf | af | zf | sf | of

	nSeq   = 480 // the first half uses absolute memory operands, the second base+disp
	seqLen = 28
)

var (
	r8  = []string{"%al", "%cl", "%dl", "%bl", "%ah", "%ch", "%dh", "%bh"}
	r16 = []string{"%ax", "%cx", "%dx", "%bx", "%bp", "%si", "%di"}
	r32 = []string{"%eax", "%ecx", "%edx", "%ebx", "%ebp", "%esi", "%edi"}
)

// In memory mode EBX, ESI and EDI keep pointing into sdata (the runner's
// initial state) and serve as bases for d(%reg) operands, so no instruction
// may write them.
var (
	m8  = []string{"%al", "%cl", "%dl", "%ah", "%ch", "%dh"}
	m16 = []string{"%ax", "%cx", "%dx", "%bp"}
	m32 = []string{"%eax", "%ecx", "%edx", "%ebp"}
)

type gen struct {
	memMode bool
	rnd     *rand.Rand
	defined int // status flags currently defined
	out     []string
	pushed  int
}

func (g *gen) pick(s []string) string { return s[g.rnd.Intn(len(s))] }

func (g *gen) size() int { return []int{8, 16, 32}[g.rnd.Intn(3)] }

func (g *gen) reg(size int) string {
	if g.memMode {
		switch size {
		case 8:
			return g.pick(m8)
		case 16:
			return g.pick(m16)
		}
		return g.pick(m32)
	}
	switch size {
	case 8:
		return g.pick(r8)
	case 16:
		return g.pick(r16)
	}
	return g.pick(r32)
}

func suffix(size int) string { return map[int]string{8: "b", 16: "w", 32: "l"}[size] }

// mem is an absolute operand inside sdata (8 KiB), aligned or not.
func (g *gen) mem() string {
	if g.memMode && g.rnd.Intn(4) != 0 {
		return fmt.Sprintf("%d(%s)", g.rnd.Intn(800)-400, g.pick([]string{"%ebx", "%esi", "%edi"}))
	}
	return fmt.Sprintf("sdata+%d", 512+g.rnd.Intn(7000))
}

func (g *gen) imm(size int) string {
	var v int64
	switch g.rnd.Intn(4) {
	case 0:
		v = int64(g.rnd.Intn(16))
	case 1:
		v = -int64(g.rnd.Intn(16) + 1)
	default:
		v = g.rnd.Int63()
	}
	switch size {
	case 8:
		v = int64(int8(v))
	case 16:
		v = int64(int16(v))
	default:
		v = int64(int32(v))
	}
	return fmt.Sprintf("$%d", v)
}

// operand pair for a two-operand ALU instruction: src, dst.
func (g *gen) pair(size int) (string, string) {
	switch g.rnd.Intn(5) {
	case 0:
		return g.imm(size), g.reg(size)
	case 1:
		return g.mem(), g.reg(size)
	case 2:
		return g.reg(size), g.mem()
	case 3:
		return g.imm(size), g.mem()
	}
	return g.reg(size), g.reg(size)
}

var conds = []struct {
	cc    string
	reads int
}{
	{"o", of}, {"no", of}, {"b", cf}, {"ae", cf}, {"e", zf}, {"ne", zf}, {"be", cf | zf}, {"a", cf | zf},
	{"s", sf}, {"ns", sf}, {"p", pf}, {"np", pf}, {"l", sf | of}, {"ge", sf | of}, {"le", zf | sf | of}, {"g", zf | sf | of},
}

func (g *gen) emit(s string, defines, undefines int) {
	g.out = append(g.out, s)
	g.defined = (g.defined | defines) &^ undefines
}

// step emits one random instruction whose flag inputs are defined.
func (g *gen) step() {
	for {
		k := g.rnd.Intn(30)
		sz := g.size()
		sfx := suffix(sz)
		switch k {
		case 0, 1, 2: // arithmetic
			op := g.pick([]string{"add", "sub", "cmp", "adc", "sbb"})
			if (op == "adc" || op == "sbb") && g.defined&cf == 0 {
				continue
			}
			s, d := g.pair(sz)
			g.emit(fmt.Sprintf("%s%s %s, %s", op, sfx, s, d), all, 0)
		case 3, 4: // logic
			op := g.pick([]string{"and", "or", "xor", "test"})
			s, d := g.pair(sz)
			if op == "test" && strings.HasPrefix(s, "sdata") { // test has no r/m,reg swapped memory-source form issue; keep reg/mem as dst
				s, d = d, s
			}
			g.emit(fmt.Sprintf("%s%s %s, %s", op, sfx, s, d), all&^af, af)
		case 5: // inc dec neg not
			op := g.pick([]string{"inc", "dec", "neg", "not"})
			dst := g.reg(sz)
			if g.rnd.Intn(3) == 0 {
				dst = g.mem()
			}
			switch op {
			case "inc", "dec":
				g.emit(fmt.Sprintf("%s%s %s", op, sfx, dst), all&^cf, 0)
			case "neg":
				g.emit(fmt.Sprintf("%s%s %s", op, sfx, dst), all, 0)
			default:
				g.emit(fmt.Sprintf("%s%s %s", op, sfx, dst), 0, 0)
			}
		case 6, 7: // shifts by immediate
			op := g.pick([]string{"shl", "shr", "sar", "rol", "ror", "rcl", "rcr"})
			if (op == "rcl" || op == "rcr") && g.defined&cf == 0 {
				continue
			}
			n := g.pick([]string{"0", "1", "1", "2", "3", "7", "8", "15", "16", "31", "33"})
			dst := g.reg(sz)
			if g.rnd.Intn(4) == 0 {
				dst = g.mem()
			}
			var cnt int
			fmt.Sscan(n, &cnt)
			cnt &= 31
			def, undef := 0, 0
			switch {
			case cnt == 0:
			case op == "shl" || op == "shr" || op == "sar":
				def, undef = all&^af, af
				if cnt != 1 {
					undef |= of
				}
				if op != "sar" && cnt >= sz {
					undef |= cf
				}
			default: // rotates: CF; OF only for 1
				def = cf
				if cnt == 1 {
					def |= of
				} else {
					undef = of
				}
			}
			g.emit(fmt.Sprintf("%s%s $%s, %s", op, sfx, n, dst), def&^undef, undef)
		case 8: // shift by CL: the count is data-dependent, so every flag may or may not change
			op := g.pick([]string{"shl", "shr", "sar", "rol", "ror"})
			dst := g.reg(sz)
			if strings.Contains(dst, "c") && (dst == "%cl" || dst == "%cx" || dst == "%ecx" || dst == "%ch") {
				continue
			}
			g.emit(fmt.Sprintf("%s%s %%cl, %s", op, sfx, dst), 0, all)
		case 9: // shld/shrd by immediate (16: count <= 16)
			if sz == 8 {
				continue
			}
			op := g.pick([]string{"shld", "shrd"})
			cnt := g.rnd.Intn(sz) + 1
			if sz == 16 {
				cnt = g.rnd.Intn(16) + 1
			}
			dst := g.reg(sz)
			if g.rnd.Intn(3) == 0 {
				dst = g.mem()
			}
			undef := af
			if cnt != 1 {
				undef |= of
			}
			g.emit(fmt.Sprintf("%s%s $%d, %s, %s", op, sfx, cnt, g.reg(sz), dst), all&^undef, undef)
		case 10: // imul 2/3 operand
			if sz == 8 {
				continue
			}
			if g.rnd.Intn(2) == 0 {
				g.emit(fmt.Sprintf("imul%s %s, %s", sfx, g.pick([]string{g.reg(sz), g.mem()}), g.reg(sz)), cf|of, all&^(cf|of))
			} else {
				g.emit(fmt.Sprintf("imul%s %s, %s, %s", sfx, g.imm(sz), g.pick([]string{g.reg(sz), g.mem()}), g.reg(sz)), cf|of, all&^(cf|of))
			}
		case 11: // one-operand mul/imul
			op := g.pick([]string{"mul", "imul"})
			g.emit(fmt.Sprintf("%s%s %s", op, sfx, g.pick([]string{g.reg(sz), g.mem()})), cf|of, all&^(cf|of))
		case 12: // guarded unsigned division
			if sz == 8 {
				g.emit("movb $0, %ah; orb $1, %cl; divb %cl", 0, all)
			} else {
				r := map[int][2]string{16: {"%dx", "%cx"}, 32: {"%edx", "%ecx"}}[sz]
				g.emit(fmt.Sprintf("xor%s %s, %s; or%s $1, %s; div%s %s", sfx, r[0], r[0], sfx, r[1], sfx, r[1]), 0, all)
			}
		case 13: // setcc
			c := conds[g.rnd.Intn(len(conds))]
			if g.defined&c.reads != c.reads {
				continue
			}
			dst := g.reg(8)
			if g.rnd.Intn(3) == 0 {
				dst = g.mem()
			}
			g.emit(fmt.Sprintf("set%s %s", c.cc, dst), 0, 0)
		case 14: // cmovcc
			c := conds[g.rnd.Intn(len(conds))]
			if g.defined&c.reads != c.reads || sz == 8 {
				continue
			}
			g.emit(fmt.Sprintf("cmov%s%s %s, %s", c.cc, sfx, g.pick([]string{g.reg(sz), g.mem()}), g.reg(sz)), 0, 0)
		case 15: // jcc over one instruction
			c := conds[g.rnd.Intn(len(conds))]
			if g.defined&c.reads != c.reads {
				continue
			}
			// the skipped instruction must not change the flag state: a mov
			g.emit(fmt.Sprintf("j%s 1f; mov%s %s, %s; 1:", c.cc, sfx, g.imm(sz), g.reg(sz)), 0, 0)
		case 16: // moves and conversions
			switch g.rnd.Intn(6) {
			case 0:
				g.emit(fmt.Sprintf("movzb%s %s, %s", suffix(32), g.reg(8), g.reg(32)), 0, 0)
			case 1:
				g.emit(fmt.Sprintf("movsw%s %s, %s", suffix(32), g.pick([]string{g.reg(16), g.mem()}), g.reg(32)), 0, 0)
			case 2:
				g.emit(g.pick([]string{"cbtw", "cwtl", "cwtd", "cltd"}), 0, 0)
			case 3:
				g.emit(fmt.Sprintf("bswap %s", g.reg(32)), 0, 0)
			case 4:
				g.emit(fmt.Sprintf("lea%s %d(%s,%s,%d), %s", suffix(32), g.rnd.Intn(200)-100, g.reg(32), g.reg(32), 1<<g.rnd.Intn(4), g.reg(32)), 0, 0)
			case 5:
				s, d := g.pair(sz)
				g.emit(fmt.Sprintf("mov%s %s, %s", sfx, s, d), 0, 0)
			}
		case 17: // xchg, xadd, cmpxchg
			switch g.rnd.Intn(3) {
			case 0:
				g.emit(fmt.Sprintf("xchg%s %s, %s", sfx, g.reg(sz), g.pick([]string{g.reg(sz), g.mem()})), 0, 0)
			case 1:
				g.emit(fmt.Sprintf("xadd%s %s, %s", sfx, g.reg(sz), g.pick([]string{g.reg(sz), g.mem()})), all, 0)
			case 2:
				g.emit(fmt.Sprintf("cmpxchg%s %s, %s", sfx, g.reg(sz), g.pick([]string{g.reg(sz), g.mem()})), all, 0)
			}
		case 18: // bit tests
			if sz == 8 {
				continue
			}
			op := g.pick([]string{"bt", "bts", "btr", "btc"})
			if g.rnd.Intn(2) == 0 {
				g.emit(fmt.Sprintf("%s%s $%d, %s", op, sfx, g.rnd.Intn(64), g.pick([]string{g.reg(sz), g.mem()})), cf, all&^cf)
			} else {
				g.emit(fmt.Sprintf("%s%s %s, %s", op, sfx, g.reg(sz), g.reg(sz)), cf, all&^cf)
			}
		case 19: // bsf/bsr with a non-zero source
			if sz == 8 {
				continue
			}
			src := g.reg(sz)
			g.emit(fmt.Sprintf("or%s $0x%x, %s; %s%s %s, %s", sfx, 1<<g.rnd.Intn(sz), src, g.pick([]string{"bsf", "bsr"}), sfx, src, g.reg(sz)), zf, all&^zf)
		case 20: // lahf/sahf
			if g.rnd.Intn(2) == 0 {
				if g.defined&(sf|zf|af|pf|cf) != sf|zf|af|pf|cf {
					continue
				}
				g.emit("lahf", 0, 0)
			} else {
				g.emit("sahf", sf|zf|af|pf|cf, 0)
			}
		case 21: // BCD
			switch g.rnd.Intn(4) {
			case 0:
				if g.defined&(af|cf) != af|cf {
					continue
				}
				g.emit(g.pick([]string{"daa", "das"}), all&^of, of)
			case 1:
				if g.defined&(af|cf) != af|cf {
					continue
				}
				g.emit(g.pick([]string{"aaa", "aas"}), af|cf, of|sf|zf|pf)
			case 2:
				g.emit(fmt.Sprintf("aam $%d", g.rnd.Intn(255)+1), sf|zf|pf, of|af|cf)
			case 3:
				g.emit(fmt.Sprintf("aad $%d", g.rnd.Intn(256)), sf|zf|pf, of|af|cf)
			}
		case 22: // flag instructions
			switch g.rnd.Intn(4) {
			case 0:
				g.emit("clc", cf, 0)
			case 1:
				g.emit("stc", cf, 0)
			case 2:
				if g.defined&cf == 0 {
					continue
				}
				g.emit("cmc", 0, 0)
			case 3:
				g.emit(g.pick([]string{"cld", "std"}), 0, 0)
			}
		case 23: // rcl/rcr by 1 on memory or register
			if g.defined&cf == 0 {
				continue
			}
			g.emit(fmt.Sprintf("%s%s $1, %s", g.pick([]string{"rcl", "rcr"}), sfx, g.pick([]string{g.reg(sz), g.mem()})), cf|of, 0)
		case 24: // push/pop
			if g.pushed < 8 && g.rnd.Intn(2) == 0 {
				g.emit(fmt.Sprintf("push%s %s", suffix(32), g.pick([]string{g.reg(32), g.imm(32), g.mem()})), 0, 0)
				g.pushed++
			} else if g.pushed > 0 {
				g.emit(fmt.Sprintf("pop%s %s", suffix(32), g.pick([]string{g.reg(32), g.mem()})), 0, 0)
				g.pushed--
			} else {
				continue
			}
		default: // plain ALU register ops dominate real code
			op := g.pick([]string{"add", "sub", "xor", "and", "or"})
			def, undef := all, 0
			if op == "xor" || op == "and" || op == "or" {
				def, undef = all&^af, af
			}
			g.emit(fmt.Sprintf("%s%s %s, %s", op, sfx, g.reg(sz), g.reg(sz)), def, undef)
		}
		return
	}
}

func main() {
	g := &gen{rnd: rand.New(rand.NewSource(20261125))}
	var b strings.Builder
	b.WriteString("/* Generated by `go run ./seqgen` (tools/vecgen/seqgen). DO NOT EDIT. */\n#define SEQUENCES(X) \\\n")
	for i := 0; i < nSeq; i++ {
		g.defined, g.out, g.pushed = all, nil, 0
		g.memMode = i >= nSeq/2
		for j := 0; j < seqLen; j++ {
			g.step()
		}
		for g.pushed > 0 { // keep ESP balanced at the end
			g.emit("popl %ebp", 0, 0)
			g.pushed--
		}
		fmt.Fprintf(&b, "\tX(seq%03d, 0x%03x, %q) \\\n", i, g.defined, strings.Join(g.out, "; "))
	}
	b.WriteString("\n")
	if _, err := os.Stdout.WriteString(b.String()); err != nil {
		fmt.Fprintln(os.Stderr, "seqgen:", err)
		os.Exit(1)
	}
}
