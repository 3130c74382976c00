package gdbstub

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/cpu"
)

// One table of every register the stub serves. Its order is gdb's register
// numbering; target.xml is generated from it, and g/p/P read and write
// through it, so the description and the packets cannot disagree.
//
// gdb's i386 back end numbers the core feature first (eax..gs, then the
// x87 registers), then org.gnu.gdb.i386.sse (xmm0-7, mxcsr); what follows
// are lgdbg's own features: the control registers QEMU also offers, and
// the Host's view of the Guest's paging that no CPU register holds.

// regView is everything a register read needs, taken once per packet.
type regView struct {
	r   hv.Regs
	dbg hv.DebugRegs
	fpu cpu.FPU
}

func takeView(m *hv.Machine) *regView {
	return &regView{r: m.Regs(), dbg: m.DebugRegs(), fpu: m.FPU()}
}

// regDef describes one register. read returns its little-endian bytes.
// write, when set, changes it on the Machine; a nil write means the
// register is read-only and why says so to the person at gdb.
type regDef struct {
	name, typ, group, feature string
	bits                      int
	read                      func(v *regView) []byte
	write                     func(m *hv.Machine, v *regView, b []byte) error
	why                       string // why a write is refused (read-only registers)
}

const (
	featCore = "org.gnu.gdb.i386.core"
	featSSE  = "org.gnu.gdb.i386.sse"
	featCR   = "org.lgdbg.i386.cr"
	featHost = "org.lgdbg.lguest.host"
)

// Why the Host's registers cannot be written (spec sections say who owns them).
const (
	whySegment = "segment registers are the Guest's to load from its GDT (spec §6); lgdbg does not change them"
	whyCR      = "the Guest changes %s only through hypercalls (NEW_PGTABLE, TS; spec §3.3); lgdbg does not fake them"
	whyHost    = "%s is the Host's view of the Guest, read-only"
)

var gprNames = [...]string{"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"}

// gdbSegOrder maps gdb's cs ss ds es fs gs to the CPU's SReg numbering.
var gdbSegOrder = [...]cpu.SReg{cpu.CS, cpu.SS, cpu.DS, cpu.ES, cpu.FS, cpu.GS}

var regTable = buildRegTable()

// numGRegs is how many registers a 'g' packet carries: the 16 general and
// segment registers, as before; gdb fetches the rest with 'p'.
const numGRegs = 16

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func buildRegTable() []regDef {
	var t []regDef
	for i, n := range gprNames {
		typ := "int32"
		if n == "esp" || n == "ebp" {
			typ = "data_ptr"
		}
		t = append(t, regDef{name: n, typ: typ, feature: featCore, bits: 32,
			read:  func(v *regView) []byte { return le32(v.r.GPR[i]) },
			write: setGeneral(n)})
	}
	t = append(t,
		regDef{name: "eip", typ: "code_ptr", feature: featCore, bits: 32,
			read: func(v *regView) []byte { return le32(v.r.EIP) }, write: setGeneral("eip")},
		regDef{name: "eflags", typ: "i386_eflags", feature: featCore, bits: 32,
			read: func(v *regView) []byte { return le32(v.r.EFLAGS) }, write: setGeneral("eflags")})
	for i, n := range []string{"cs", "ss", "ds", "es", "fs", "gs"} {
		s := gdbSegOrder[i]
		t = append(t, regDef{name: n, typ: "int32", feature: featCore, bits: 32, why: whySegment,
			read: func(v *regView) []byte { return le32(uint32(v.r.Seg[s].Sel)) }})
	}
	for i := 0; i < 8; i++ {
		t = append(t, regDef{name: fmt.Sprintf("st%d", i), typ: "i387_ext", feature: featCore, bits: 80,
			read:  func(v *regView) []byte { return append([]byte(nil), v.fpu.ST[i][:]...) },
			write: setFPU(func(f *cpu.FPU, b []byte) { copy(f.ST[i][:], b) })})
	}
	x87 := []struct {
		name string
		get  func(f *cpu.FPU) uint32
		set  func(f *cpu.FPU, v uint32)
	}{
		{"fctrl", func(f *cpu.FPU) uint32 { return uint32(f.FCW) }, func(f *cpu.FPU, v uint32) { f.FCW = uint16(v) }},
		{"fstat", func(f *cpu.FPU) uint32 { return uint32(f.FSW) }, func(f *cpu.FPU, v uint32) { f.FSW = uint16(v) }},
		{"ftag", func(f *cpu.FPU) uint32 { return uint32(f.FTW) }, func(f *cpu.FPU, v uint32) { f.FTW = uint16(v) }},
		{"fiseg", func(f *cpu.FPU) uint32 { return uint32(f.FCS) }, func(f *cpu.FPU, v uint32) { f.FCS = uint16(v) }},
		{"fioff", func(f *cpu.FPU) uint32 { return f.FIP }, func(f *cpu.FPU, v uint32) { f.FIP = v }},
		{"foseg", func(f *cpu.FPU) uint32 { return uint32(f.FDS) }, func(f *cpu.FPU, v uint32) { f.FDS = uint16(v) }},
		{"fooff", func(f *cpu.FPU) uint32 { return f.FDP }, func(f *cpu.FPU, v uint32) { f.FDP = v }},
		{"fop", func(f *cpu.FPU) uint32 { return uint32(f.FOP) }, func(f *cpu.FPU, v uint32) { f.FOP = uint16(v) & 0x7FF }},
	}
	for _, r := range x87 {
		t = append(t, regDef{name: r.name, typ: "int", group: "float", feature: featCore, bits: 32,
			read:  func(v *regView) []byte { return le32(r.get(&v.fpu)) },
			write: setFPU(func(f *cpu.FPU, b []byte) { r.set(f, binary.LittleEndian.Uint32(b)) })})
	}
	for i := 0; i < 8; i++ {
		t = append(t, regDef{name: fmt.Sprintf("xmm%d", i), typ: "vec128", feature: featSSE, bits: 128,
			read:  func(v *regView) []byte { return append([]byte(nil), v.fpu.XMM[i][:]...) },
			write: setFPU(func(f *cpu.FPU, b []byte) { copy(f.XMM[i][:], b) })})
	}
	t = append(t, regDef{name: "mxcsr", typ: "i386_mxcsr", group: "vector", feature: featSSE, bits: 32,
		read:  func(v *regView) []byte { return le32(v.fpu.MXCSR) },
		write: setFPU(func(f *cpu.FPU, b []byte) { f.MXCSR = binary.LittleEndian.Uint32(b) })})

	crs := []struct {
		name, typ string
		get       func(d *hv.DebugRegs) uint32
	}{
		{"cr0", "i386_cr0", func(d *hv.DebugRegs) uint32 { return d.CR0 }},
		{"cr2", "data_ptr", func(d *hv.DebugRegs) uint32 { return d.CR2 }},
		{"cr3", "int32", func(d *hv.DebugRegs) uint32 { return d.CR3 }},
		{"cr4", "i386_cr4", func(d *hv.DebugRegs) uint32 { return d.CR4 }},
	}
	for _, r := range crs {
		t = append(t, regDef{name: r.name, typ: r.typ, feature: featCR, bits: 32, why: fmt.Sprintf(whyCR, r.name),
			read: func(v *regView) []byte { return le32(r.get(&v.dbg)) }})
	}
	host := []struct {
		name, typ string
		bits      int
		get       func(d *hv.DebugRegs) uint64
	}{
		{"shadow_cr3", "int32", 32, func(d *hv.DebugRegs) uint64 { return uint64(d.ShadowCR3) }},
		{"cpl", "int32", 32, func(d *hv.DebugRegs) uint64 { return uint64(d.CPL) }},
		{"linear_pages", "int32", 32, func(d *hv.DebugRegs) uint64 {
			if d.LinearPages {
				return 1
			}
			return 0
		}},
		{"pgdir_slot", "int32", 32, func(d *hv.DebugRegs) uint64 { return uint64(d.Slot) }},
		{"icount", "uint64", 64, func(d *hv.DebugRegs) uint64 { return d.ICount }},
	}
	for _, r := range host {
		t = append(t, regDef{name: r.name, typ: r.typ, feature: featHost, bits: r.bits,
			why: fmt.Sprintf(whyHost, r.name),
			read: func(v *regView) []byte {
				return binary.LittleEndian.AppendUint64(nil, r.get(&v.dbg))[:r.bits/8]
			}})
	}
	return t
}

// setGeneral writes a general register, eip or eflags: the only state a
// debugger may change behind the Guest's back without breaking the Host's
// invariants.
func setGeneral(name string) func(m *hv.Machine, v *regView, b []byte) error {
	return func(m *hv.Machine, _ *regView, b []byte) error {
		return m.SetReg(name, binary.LittleEndian.Uint32(b))
	}
}

// setFPU writes one field of the FPU file: lguest keeps no invariant over
// the Guest's FPU contents (spec §5.9 only concerns TS).
func setFPU(set func(f *cpu.FPU, b []byte)) func(m *hv.Machine, v *regView, b []byte) error {
	return func(m *hv.Machine, v *regView, b []byte) error {
		f := v.fpu
		set(&f, b)
		m.SetFPU(f)
		v.fpu = f
		return nil
	}
}

// refusal is a write lguest forbids; it reaches gdb as E.message, so the
// person sees why instead of a bare error number.
type refusal struct{ msg string }

func (r refusal) Error() string { return r.msg }

// writeRegister writes register n from its little-endian bytes. Writing a
// read-only register with the value it already has is accepted (gdb's 'G'
// sends every register back); changing it is refused.
func writeRegister(m *hv.Machine, v *regView, n int, b []byte) error {
	if n < 0 || n >= len(regTable) {
		return refusal{fmt.Sprintf("there is no register %d", n)}
	}
	d := regTable[n]
	if len(b) != d.bits/8 {
		return fmt.Errorf("register %s: %d bytes, want %d", d.name, len(b), d.bits/8)
	}
	if d.write == nil {
		if string(d.read(v)) == string(b) {
			return nil
		}
		return refusal{d.why}
	}
	return d.write(m, v, b)
}

// eMessage is a refusal's reply: "E." and ASCII text without the
// characters that frame packets.
func eMessage(msg string) string {
	msg = strings.Map(func(r rune) rune {
		switch {
		case r == '$' || r == '#' || r == '}' || r == '*':
			return '_'
		case r < 0x20 || r > 0x7E:
			return -1
		}
		return r
	}, msg)
	return "E." + msg
}
