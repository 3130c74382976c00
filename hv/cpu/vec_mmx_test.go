package cpu

// MMX differential replay: testdata/mmx/mmx.txt, recorded on this
// machine's silicon by tools/vecgen/mmxgen.c (see its header for the line
// formats). Data lines run one MMX instruction with register numbers and
// the register/memory form varied by line number; state lines load an
// FXRSTOR image, run one MMX instruction and compare FNSTENV's status and
// tag words and the FXSAVE image with the silicon's (the x87 aliasing).

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const mmxVecFile = "testdata/mmx/mmx.txt"

// mmxOp describes how to encode one OP of the vector file.
type mmxOp struct {
	b     byte // second opcode byte (0F b)
	group uint8
	kind  int
}

const (
	mkBin   = iota // mm, mm/m64 (mm/m32 for PUNPCKL*)
	mkImm          // 0F 71-73 group, register only, imm8
	mkShuf         // PSHUFW mm, mm/m64, imm8
	mkIn32         // MOVD mm, r/m32
	mkOut32        // MOVD r/m32, mm
	mkMask         // PMOVMSKB r32, mm
	mkMovq         // MOVQ: 6F load, 7F register/store, E7 (MOVNTQ) store
)

var mmxOps = map[string]mmxOp{
	"punpcklbw": {0x60, 0, mkBin}, "punpcklwd": {0x61, 0, mkBin}, "punpckldq": {0x62, 0, mkBin},
	"packsswb": {0x63, 0, mkBin}, "pcmpgtb": {0x64, 0, mkBin}, "pcmpgtw": {0x65, 0, mkBin},
	"pcmpgtd": {0x66, 0, mkBin}, "packuswb": {0x67, 0, mkBin}, "punpckhbw": {0x68, 0, mkBin},
	"punpckhwd": {0x69, 0, mkBin}, "punpckhdq": {0x6A, 0, mkBin}, "packssdw": {0x6B, 0, mkBin},
	"pcmpeqb": {0x74, 0, mkBin}, "pcmpeqw": {0x75, 0, mkBin}, "pcmpeqd": {0x76, 0, mkBin},
	"paddq": {0xD4, 0, mkBin}, "pmullw": {0xD5, 0, mkBin}, "psubusb": {0xD8, 0, mkBin},
	"psubusw": {0xD9, 0, mkBin}, "pminub": {0xDA, 0, mkBin}, "pand": {0xDB, 0, mkBin},
	"paddusb": {0xDC, 0, mkBin}, "paddusw": {0xDD, 0, mkBin}, "pmaxub": {0xDE, 0, mkBin},
	"pandn": {0xDF, 0, mkBin}, "pavgb": {0xE0, 0, mkBin}, "pavgw": {0xE3, 0, mkBin},
	"pmulhuw": {0xE4, 0, mkBin}, "pmulhw": {0xE5, 0, mkBin}, "psubsb": {0xE8, 0, mkBin},
	"psubsw": {0xE9, 0, mkBin}, "pminsw": {0xEA, 0, mkBin}, "por": {0xEB, 0, mkBin},
	"paddsb": {0xEC, 0, mkBin}, "paddsw": {0xED, 0, mkBin}, "pmaxsw": {0xEE, 0, mkBin},
	"pxor": {0xEF, 0, mkBin}, "pmuludq": {0xF4, 0, mkBin}, "pmaddwd": {0xF5, 0, mkBin},
	"psadbw": {0xF6, 0, mkBin}, "psubb": {0xF8, 0, mkBin}, "psubw": {0xF9, 0, mkBin},
	"psubd": {0xFA, 0, mkBin}, "psubq": {0xFB, 0, mkBin}, "paddb": {0xFC, 0, mkBin},
	"paddw": {0xFD, 0, mkBin}, "paddd": {0xFE, 0, mkBin},
	"psrlw": {0xD1, 0, mkBin}, "psrld": {0xD2, 0, mkBin}, "psrlq": {0xD3, 0, mkBin},
	"psraw": {0xE1, 0, mkBin}, "psrad": {0xE2, 0, mkBin}, "psllw": {0xF1, 0, mkBin},
	"pslld": {0xF2, 0, mkBin}, "psllq": {0xF3, 0, mkBin},
	"psrlw_i": {0x71, 2, mkImm}, "psrld_i": {0x72, 2, mkImm}, "psrlq_i": {0x73, 2, mkImm},
	"psraw_i": {0x71, 4, mkImm}, "psrad_i": {0x72, 4, mkImm}, "psllw_i": {0x71, 6, mkImm},
	"pslld_i": {0x72, 6, mkImm}, "psllq_i": {0x73, 6, mkImm},
	"pshufw": {0x70, 0, mkShuf}, "movd_in": {0x6E, 0, mkIn32}, "movd_out": {0x7E, 0, mkOut32},
	"pmovmskb": {0xD7, 0, mkMask}, "movq": {0x6F, 0, mkMovq},
}

type mmxVec struct {
	line             int
	text             string
	op               string
	a, b, r          uint64
	imm              int // -1: none
	state            bool
	sKind            string
	sTop, sAbr       uint8
	sRegs            [8][10]byte // ST(i) order, as in the FXSAVE image
	sMem             uint64
	wFSW, wFTW, wAbr uint16
	wRegs            [8][10]byte
}

func parseReg80(s string) ([10]byte, error) {
	var r [10]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 10 {
		return r, fmt.Errorf("bad 80-bit register %q", s)
	}
	for i := range r {
		r[i] = b[9-i] // written sign/exponent first
	}
	return r, nil
}

func parseMMXVectors(path string) ([]mmxVec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open MMX vectors: %w", err)
	}
	defer f.Close()
	var vs []mmxVec
	sc := bufio.NewScanner(f)
	ln := 0
	for sc.Scan() {
		ln++
		t := sc.Text()
		if t == "" || t[0] == '#' {
			continue
		}
		v, err := parseMMXVector(t)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, ln, err)
		}
		v.line, v.text = ln, t
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return vs, nil
}

func parseMMXVector(t string) (mmxVec, error) {
	v := mmxVec{imm: -1}
	f := strings.Fields(t)
	hx := func(s string) (uint64, error) {
		x, err := strconv.ParseUint(s, 16, 64)
		if err != nil {
			return 0, fmt.Errorf("bad hex %q in %q", s, t)
		}
		return x, nil
	}
	if len(f) > 0 && f[0] == "state" {
		// state KIND TOP ABR R0..R7 [M64] -> FSW FTW ABR R0..R7
		arrow := 12
		if len(f) > 2 && f[1] == "l" {
			arrow = 13
		}
		if len(f) != arrow+12 || f[arrow] != "->" {
			return v, fmt.Errorf("malformed state vector %q", t)
		}
		v.state, v.sKind, v.op = true, f[1], "state_"+f[1]
		var nums [5]uint64
		for i, s := range []string{f[2], f[3], f[arrow+1], f[arrow+2], f[arrow+3]} {
			x, err := hx(s)
			if err != nil {
				return v, err
			}
			nums[i] = x
		}
		v.sTop, v.sAbr = uint8(nums[0]), uint8(nums[1])
		v.wFSW, v.wFTW, v.wAbr = uint16(nums[2]), uint16(nums[3]), uint16(nums[4])
		for i := 0; i < 8; i++ {
			var err error
			if v.sRegs[i], err = parseReg80(f[4+i]); err != nil {
				return v, err
			}
			if v.wRegs[i], err = parseReg80(f[arrow+4+i]); err != nil {
				return v, err
			}
		}
		if arrow == 13 {
			m, err := hx(f[12])
			if err != nil {
				return v, err
			}
			v.sMem = m
		}
		return v, nil
	}
	// OP A B C -> R
	if len(f) != 6 || f[4] != "->" {
		return v, fmt.Errorf("malformed vector %q", t)
	}
	v.op = f[0]
	if _, ok := mmxOps[v.op]; !ok {
		return v, fmt.Errorf("unknown MMX op %q", v.op)
	}
	var err error
	if v.a, err = hx(f[1]); err != nil {
		return v, err
	}
	if v.b, err = hx(f[2]); err != nil {
		return v, err
	}
	if f[3] != "-" {
		x, err := hx(f[3])
		if err != nil || x > 0xFF {
			return v, fmt.Errorf("bad imm8 in %q", t)
		}
		v.imm = int(x)
	}
	if v.r, err = hx(f[5]); err != nil {
		return v, err
	}
	return v, nil
}

// MMX replay layout (flat, paging off).
const (
	mvCode = 0x2000
	mvA    = 0x6000 // initial destination
	mvB    = 0x6008 // initial source
	mvOut  = 0x6010 // result stored here by the final MOVQ
	mvMem  = 0x6100 // the memory operand of the instruction under test
	mvFX   = 0x7000 // FXRSTOR image
	mvEnv  = 0x7400 // FNSTENV
	mvFXO  = 0x7800 // FXSAVE
)

func modrmReg(reg, rm uint8) byte { return 0xC0 | reg<<3 | rm }

func modrmAbs(reg uint8, addr uint32) []byte {
	return []byte{0x05 | reg<<3, byte(addr), byte(addr >> 8), byte(addr >> 16), byte(addr >> 24)}
}

// replayMMX runs one data vector; it returns "" or what differed.
func (mc *machine) replayMMX(v *mmxVec, variant int) string {
	op := mmxOps[v.op]
	d := uint8(variant % 8)
	s := uint8((variant/8 + 1 + int(d)) % 8)
	if s == d {
		s = (d + 1) % 8
	}
	mem := variant/3%2 == 1
	gpr := uint8([]int{0, 1, 2, 3, 5, 6, 7}[variant%7]) // never ESP
	ldA := cat([]byte{0x0F, 0x6F}, modrmAbs(d, mvA))    // movq mmD, [mvA]
	ldB := cat([]byte{0x0F, 0x6F}, modrmAbs(s, mvB))
	st := cat([]byte{0x0F, 0x7F}, modrmAbs(d, mvOut)) // movq [mvOut], mmD
	var code []byte
	var memInit []byte
	wantMem, wantGPR := false, false
	switch op.kind {
	case mkBin, mkShuf:
		var ins []byte
		if mem {
			ins = cat([]byte{0x0F, op.b}, modrmAbs(d, mvMem))
			memInit = binary.LittleEndian.AppendUint64(nil, v.b)
			if op.b >= 0x60 && op.b <= 0x62 {
				// PUNPCKL* read m32 only: the high dword must not matter
				binary.LittleEndian.PutUint32(memInit[4:], ^uint32(v.b>>32)^0x5A5A5A5A)
			}
			code = cat(ldA, ins)
		} else {
			ins = []byte{0x0F, op.b, modrmReg(d, s)}
			code = cat(ldA, ldB, ins)
		}
		if op.kind == mkShuf {
			code = append(code, byte(v.imm))
		}
		code = cat(code, st)
	case mkImm:
		code = cat(ldA, []byte{0x0F, op.b, modrmReg(op.group, d), byte(v.imm)}, st)
	case mkIn32:
		if mem {
			memInit = binary.LittleEndian.AppendUint32(nil, uint32(v.a))
			code = cat([]byte{0x0F, 0x6E}, modrmAbs(d, mvMem))
		} else {
			mc.c.SetReg(Reg(gpr), uint32(v.a))
			code = []byte{0x0F, 0x6E, modrmReg(d, gpr)}
		}
		code = cat(ldA, code, st) // mmD starts as junk (below): zero-extension shows
	case mkOut32, mkMask:
		if mem && op.kind == mkOut32 {
			code = cat(ldA, []byte{0x0F, 0x7E}, modrmAbs(d, mvMem))
			wantMem = true
		} else {
			mc.c.SetReg(Reg(gpr), 0x5A5A5A5A)
			code = cat(ldA, []byte{0x0F, op.b, modrmReg(gpr, d)})
			if op.kind == mkOut32 {
				code[len(code)-1] = modrmReg(d, gpr)
			}
			wantGPR = true
		}
	case mkMovq:
		switch variant % 4 {
		case 0: // 0F 6F mm, mm
			code = cat(ldA, ldB, []byte{0x0F, 0x6F, modrmReg(d, s)}, st)
		case 1: // 0F 6F mm, m64
			memInit = binary.LittleEndian.AppendUint64(nil, v.b)
			code = cat(ldA, []byte{0x0F, 0x6F}, modrmAbs(d, mvMem), st)
		case 2: // 0F 7F mm, mm (rm is the destination)
			code = cat(ldA, ldB, []byte{0x0F, 0x7F, modrmReg(s, d)}, st)
		case 3: // 0F 7F / 0F E7 m64, mm
			b := byte(0x7F)
			if variant%8 == 7 {
				b = 0xE7
			}
			code = cat(ldA, ldB, []byte{0x0F, b}, modrmAbs(s, mvMem))
			wantMem = true
		}
	}
	mc.load(mvA, binary.LittleEndian.AppendUint64(nil, v.a))
	if op.kind == mkIn32 {
		mc.load(mvA, binary.LittleEndian.AppendUint64(nil, 0xDEADBEEFCAFEF00D))
	}
	mc.load(mvB, binary.LittleEndian.AppendUint64(nil, v.b))
	mc.load(mvOut, binary.LittleEndian.AppendUint64(nil, 0xA5A5A5A5A5A5A5A5))
	mc.load(mvMem, binary.LittleEndian.AppendUint64(nil, 0xA5A5A5A5A5A5A5A5))
	mc.load(mvMem+8, []byte{0xA5, 0xA5, 0xA5, 0xA5})
	if memInit != nil {
		mc.load(mvMem, memInit)
	}
	mc.load(mvCode, code)
	mc.c.SetEIP(mvCode)
	end := uint32(mvCode + len(code))
	for n := 0; mc.c.EIP() != end; n++ {
		if ex := mc.c.Step(); ex.Reason != ExitStep || n > 8 {
			return fmt.Sprintf("code % x: at eip %#x got %s", code, mc.c.EIP(), exitString(ex))
		}
	}
	var got uint64
	switch {
	case wantGPR:
		got = uint64(mc.c.Reg(Reg(gpr)))
	case wantMem:
		n := uint32(8)
		if op.kind == mkOut32 {
			n = 4
		}
		for i := uint32(0); i < n; i++ {
			b, _ := mc.m.Read8(mvMem + i)
			got |= uint64(b) << (8 * i)
		}
		if p := mc.r32(mvMem + n); p != 0xA5A5A5A5 {
			return fmt.Sprintf("code % x: store wrote past its %d bytes (%#x)", code, n, p)
		}
	default:
		got = uint64(mc.r32(mvOut)) | uint64(mc.r32(mvOut+4))<<32
	}
	if got != v.r {
		return fmt.Sprintf("code % x: want %#016x got %#016x", code, v.r, got)
	}
	return ""
}

// replayMMXState runs one state vector.
func (mc *machine) replayMMXState(v *mmxVec) string {
	var img [512]byte
	binary.LittleEndian.PutUint16(img[0:], 0x037F)
	binary.LittleEndian.PutUint16(img[2:], uint16(v.sTop)<<11)
	img[4] = v.sAbr
	binary.LittleEndian.PutUint32(img[24:], 0x1F80)
	for i := 0; i < 8; i++ {
		copy(img[32+16*i:], v.sRegs[i][:])
	}
	mc.load(mvFX, img[:])
	mc.load(mvA, binary.LittleEndian.AppendUint64(nil, v.sMem))
	code := cat([]byte{0x0F, 0xAE}, modrmAbs(1, mvFX)) // fxrstor
	switch v.sKind {
	case "w":
		code = append(code, 0x0F, 0x6F, modrmReg(3, 5)) // movq mm3, mm5
	case "l":
		code = cat(code, []byte{0x0F, 0x6F}, modrmAbs(6, mvA)) // movq mm6, [mvA]
	case "r":
		code = append(code, 0x0F, 0x7E, modrmReg(2, 0)) // movd eax, mm2
	case "e":
		code = append(code, 0x0F, 0x77)
	default:
		return "unknown state kind " + v.sKind
	}
	code = cat(code, []byte{0xD9}, modrmAbs(6, mvEnv), []byte{0x0F, 0xAE}, modrmAbs(0, mvFXO)) // fnstenv, fxsave
	mc.load(mvCode, code)
	mc.c.SetEIP(mvCode)
	end := uint32(mvCode + len(code))
	for n := 0; mc.c.EIP() != end; n++ {
		if ex := mc.c.Step(); ex.Reason != ExitStep || n > 8 {
			return fmt.Sprintf("at eip %#x got %s", mc.c.EIP(), exitString(ex))
		}
	}
	var b strings.Builder
	if got := uint16(mc.r32(mvEnv + 4)); got != v.wFSW {
		fmt.Fprintf(&b, " FSW want %#04x got %#04x;", v.wFSW, got)
	}
	if got := uint16(mc.r32(mvEnv + 8)); got != v.wFTW {
		fmt.Fprintf(&b, " FTW want %#04x got %#04x;", v.wFTW, got)
	}
	if got := uint16(mc.r32(mvFXO+4) & 0xFF); got != v.wAbr {
		fmt.Fprintf(&b, " abridged tags want %#02x got %#02x;", v.wAbr, got)
	}
	for i := 0; i < 8; i++ {
		var r [10]byte
		for j := range r {
			r[j], _ = mc.m.Read8(mvFXO + 32 + uint32(16*i+j))
		}
		if r != v.wRegs[i] {
			fmt.Fprintf(&b, " ST(%d) want % x got % x;", i, v.wRegs[i], r)
		}
	}
	if v.sKind == "r" {
		// movd eax, mm2 reads physical R2 = ST((2-TOP) mod 8) of the image
		want := binary.LittleEndian.Uint32(v.sRegs[(2-int(v.sTop))&7][:4])
		if got := mc.c.Reg(EAX); got != want {
			fmt.Fprintf(&b, " eax want %#x got %#x;", want, got)
		}
	}
	return b.String()
}

// TestMMXVectors replays every MMX vector, grouped per OP.
func TestMMXVectors(t *testing.T) {
	vs, err := parseMMXVectors(mmxVecFile)
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string][]*mmxVec{}
	var keys []string
	for i := range vs {
		if groups[vs[i].op] == nil {
			keys = append(keys, vs[i].op)
		}
		groups[vs[i].op] = append(groups[vs[i].op], &vs[i])
	}
	sort.Strings(keys)
	// every encoder entry must have vectors: an op without evidence would
	// otherwise go unnoticed
	for op := range mmxOps {
		if groups[op] == nil {
			t.Errorf("no vectors for %s", op)
		}
	}
	for _, k := range keys {
		g := groups[k]
		t.Run(k, func(t *testing.T) {
			min := 200
			if strings.HasPrefix(k, "state_") {
				min = 64
			}
			if len(g) < min {
				t.Errorf("only %d vectors for %s, want >= %d", len(g), k, min)
			}
			mc := newMachine(t)
			fails := 0
			for i, v := range g {
				var msg string
				if v.state {
					msg = mc.replayMMXState(v)
				} else {
					msg = mc.replayMMX(v, i)
				}
				if msg != "" {
					fails++
					if fails <= 8 {
						t.Errorf("%s:%d %q\n    %s", mmxVecFile, v.line, v.text, msg)
					}
				}
			}
			if fails > 8 {
				t.Errorf("... %d of %d vectors of %s fail", fails, len(g), k)
			}
		})
	}
	t.Logf("%d MMX vectors replayed", len(vs))
}
