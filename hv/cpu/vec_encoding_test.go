package cpu

import (
	"strings"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// TestVectorEncodings checks the replay harness itself, independently of the
// CPU: every encoded vector must decode (x86asm, 32-bit mode) to exactly its
// length, as the instruction the vector names, at the vector's operand size.
// Without it a wrong encoding could make a CPU bug look like a pass or the
// other way round.
func TestVectorEncodings(t *testing.T) {
	files := vectorFiles(t)
	alias := map[string]string{"IMUL2": "IMUL", "IMUL3": "IMUL", "SETAE": "SETAE"}
	bad := 0
	for _, path := range files {
		vs, err := parseVectors(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := range vs {
			v := &vs[i]
			st, ok := build(v)
			if !ok {
				t.Errorf("%s:%d: no encoder for %s", v.file, v.line, v.op)
				bad++
				continue
			}
			inst, err := x86asm.Decode(st.code, 32)
			want := v.op
			if a, ok := alias[want]; ok {
				want = a
			}
			got := ""
			if err == nil {
				got = strings.TrimPrefix(inst.Op.String(), "LOCK ")
			}
			switch {
			case err != nil:
				t.Errorf("%s:%d: %x does not decode: %v", v.file, v.line, st.code, err)
			case inst.Len != len(st.code):
				t.Errorf("%s:%d: %x decodes as %d bytes (%v)", v.file, v.line, st.code, inst.Len, inst)
			case !sameMnemonic(want, got, v.size):
				t.Errorf("%s:%d: %x decodes as %v, want %s", v.file, v.line, st.code, inst, v.op)
			case operandBits(inst) != 0 && operandBits(inst) != v.size && !sizeExempt(v.op):
				t.Errorf("%s:%d: %x decodes as %v: %d-bit, want %d", v.file, v.line, st.code, inst, operandBits(inst), v.size)
			default:
				continue
			}
			bad++
			if bad > 30 {
				t.Fatal("too many bad encodings")
			}
		}
	}
}

// sameMnemonic accepts x86asm's spelling of the same instruction.
func sameMnemonic(want, got string, size int) bool {
	if want == got {
		return true
	}
	eq := map[string][]string{
		"SHL":   {"SAL"},
		"SETB":  {"SETB", "SETC", "SETNAE"},
		"SETAE": {"SETAE", "SETNB", "SETNC"},
		"SETE":  {"SETZ"}, "SETNE": {"SETNZ"},
		"CMOVE": {"CMOVZ"}, "CMOVNE": {"CMOVNZ"},
		"SETBE": {"SETNA"}, "SETA": {"SETNBE"},
		"CBW": {"CBW", "CWDE"}, "CWD": {"CWD", "CDQ"},
		"SETP": {"SETPE"}, "SETNP": {"SETPO"},
		"CMOVP": {"CMOVPE"}, "CMOVNP": {"CMOVPO"},
	}
	for _, g := range eq[want] {
		if g == got {
			return true
		}
	}
	return false
}

func sizeExempt(op string) bool {
	switch op {
	case "LAHF", "SAHF", "DAA", "DAS", "AAA", "AAS", "AAM", "AAD", "CBW", "CWD":
		return true
	}
	return strings.HasPrefix(op, "SET")
}

// operandBits is the size of the instruction's first register or memory
// operand (0 if it has none).
func operandBits(inst x86asm.Inst) int {
	for _, a := range inst.Args {
		switch a := a.(type) {
		case x86asm.Reg:
			switch {
			case a >= x86asm.AL && a <= x86asm.R15B:
				return 8
			case a >= x86asm.AX && a <= x86asm.R15W:
				return 16
			case a >= x86asm.EAX && a <= x86asm.R15L:
				return 32
			}
		case x86asm.Mem:
			return inst.MemBytes * 8
		}
	}
	return 0
}
