package cpu

// Shared harness for the evidence tests (vec_*, unit_*, fuzz_*): a tiny flat
// machine, register/flag helpers and an instruction-bytes builder. The CPU is
// driven only through its exported API (api.go), so these tests stay valid
// whatever the implementation looks like inside.

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv/mem"
)

// Guest GDT entries of spec §6 (as the Host's fixup leaves them: DPL raised
// to 1 for kernel segments, accessed bit set) plus user segments.
const (
	descKernelCS = 0x00CFBB000000FFFF // entry 12, selector 0x61
	descKernelDS = 0x00CFB3000000FFFF // entry 13, selector 0x69
	descUserCS   = 0x00CFFB000000FFFF // entry 14, selector 0x73
	descUserDS   = 0x00CFF3000000FFFF // entry 15, selector 0x7b

	selKCS = 12<<3 | 1
	selKDS = 13<<3 | 1
	selUCS = 14<<3 | 3
	selUDS = 15<<3 | 3

	// access words (descriptor high dword bits 8..15 and 20..23, see Segment)
	accKCS = 0xC0BB
	accKDS = 0xC0B3
	accUCS = 0xC0FB
	accUDS = 0xC0F3

	statusFlags = FlagCF | FlagPF | FlagAF | FlagZF | FlagSF | FlagOF
)

// machine is a CPU over a small physical memory with the standard flat
// segments loaded, paging off (linear == physical).
type machine struct {
	t   testing.TB
	m   *mem.Phys
	c   *CPU
	ram []byte
}

const testRAM = 4 << 20

func newMachine(t testing.TB) *machine {
	t.Helper()
	return newMachineSize(t, testRAM, 256)
}

func newMachineSize(t testing.TB, ram uint32, pool int) *machine {
	t.Helper()
	m, err := mem.New(ram, pool)
	if err != nil {
		t.Fatalf("mem.New: %v", err)
	}
	c := New(m)
	for i, d := range map[int]uint64{12: descKernelCS, 13: descKernelDS, 14: descUserCS, 15: descUserDS} {
		c.SetGDTEntry(i, d)
	}
	mc := &machine{t: t, m: m, c: c, ram: m.Bytes()}
	mc.flat(1)
	c.SetPaging(false, 0, false)
	c.SetEFLAGS(0x202)
	return mc
}

// flat loads flat code/data segment caches for CPL 1 or 3 directly.
func (mc *machine) flat(cpl int) {
	cs, ds := Segment{Sel: selKCS, Limit: 0xFFFFFFFF, Access: accKCS, Valid: true},
		Segment{Sel: selKDS, Limit: 0xFFFFFFFF, Access: accKDS, Valid: true}
	if cpl == 3 {
		cs, ds = Segment{Sel: selUCS, Limit: 0xFFFFFFFF, Access: accUCS, Valid: true},
			Segment{Sel: selUDS, Limit: 0xFFFFFFFF, Access: accUDS, Valid: true}
	}
	mc.c.SetSegRaw(CS, cs)
	for _, s := range []SReg{SS, DS, ES, FS, GS} {
		mc.c.SetSegRaw(s, ds)
	}
}

// load writes bytes into physical memory (through mem, so the decode cache
// is invalidated as for any other writer).
func (mc *machine) load(pa uint32, b []byte) {
	mc.t.Helper()
	if !mc.m.WriteBytes(pa, b) {
		mc.t.Fatalf("WriteBytes(%#x, %d bytes) out of range", pa, len(b))
	}
}

func (mc *machine) r32(pa uint32) uint32 {
	v, ok := mc.m.Read32(pa)
	if !ok {
		mc.t.Fatalf("Read32(%#x) out of range", pa)
	}
	return v
}

func (mc *machine) w32(pa, v uint32) {
	if !mc.m.Write32(pa, v) {
		mc.t.Fatalf("Write32(%#x) out of range", pa)
	}
}

// regs is a full general register file, in encoding order.
type regs [8]uint32

func (mc *machine) regs() regs {
	var r regs
	for i := range r {
		r[i] = mc.c.Reg(Reg(i))
	}
	return r
}

func (mc *machine) setRegs(r regs) {
	for i, v := range r {
		mc.c.SetReg(Reg(i), v)
	}
}

var regNames = func() (n [8]string) {
	for i := range n {
		n[i] = Reg(i).String()
	}
	return
}()

// diff lists the registers that differ, readable.
func (r regs) diff(got regs) string {
	var b strings.Builder
	for i := range r {
		if r[i] != got[i] {
			fmt.Fprintf(&b, " %s: want %#08x got %#08x;", regNames[i], r[i], got[i])
		}
	}
	return b.String()
}

// sub-register access in encoding order for 8/16/32-bit operands: 8-bit
// numbers 4..7 are AH CH DH BH.
func getOp(r *regs, size int, n int) uint32 {
	switch size {
	case 8:
		if n < 4 {
			return r[n] & 0xFF
		}
		return r[n-4] >> 8 & 0xFF
	case 16:
		return r[n] & 0xFFFF
	}
	return r[n]
}

func setOp(r *regs, size int, n int, v uint32) {
	switch size {
	case 8:
		if n < 4 {
			r[n] = r[n]&^0xFF | v&0xFF
		} else {
			r[n-4] = r[n-4]&^0xFF00 | (v&0xFF)<<8
		}
	case 16:
		r[n] = r[n]&^0xFFFF | v&0xFFFF
	default:
		r[n] = v
	}
}

// physReg is the 32-bit register an operand number of a size lives in.
func physReg(size, n int) int {
	if size == 8 && n >= 4 {
		return n - 4
	}
	return n
}

// flagString renders the status flags for diffs: "OF SF ZF AF PF CF" letters.
func flagString(f uint32) string {
	var b strings.Builder
	for _, x := range []struct {
		bit  uint32
		name string
	}{{FlagOF, "O"}, {FlagSF, "S"}, {FlagZF, "Z"}, {FlagAF, "A"}, {FlagPF, "P"}, {FlagCF, "C"}} {
		if f&x.bit != 0 {
			b.WriteString(x.name)
		} else {
			b.WriteString("-")
		}
	}
	return b.String()
}

func hexBytes(b []byte) string { return hex.EncodeToString(b) }

// rng is splitmix64: deterministic register fill and operand choice.
type rng uint64

func (r *rng) next() uint64 {
	*r += 0x9E3779B97F4A7C15
	z := uint64(*r)
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// exitString renders an Exit for failure messages.
func exitString(e Exit) string {
	names := map[ExitReason]string{ExitTrap: "Trap", ExitBudget: "Budget", ExitStop: "Stop",
		ExitBreakpoint: "Breakpoint", ExitWatchpoint: "Watchpoint", ExitStep: "Step", ExitUnimplemented: "Unimplemented"}
	s := names[e.Reason]
	switch e.Reason {
	case ExitTrap:
		s += fmt.Sprintf("(vec=%d err=%#x hasErr=%v cr2=%#x)", e.Vector, e.ErrCode, e.HasErr, e.CR2)
	case ExitUnimplemented:
		s += fmt.Sprintf("(at %#x bytes %x)", e.InsnAddr, e.Insn)
	case ExitWatchpoint:
		s += fmt.Sprintf("(addr=%#x hit=%#x kind=%d)", e.WatchAddr, e.WatchHit, e.WatchKind)
	}
	return s
}

// Page-table entry bits.
const (
	ptP  = 1 << 0
	ptRW = 1 << 1
	ptUS = 1 << 2
	ptA  = 1 << 5
	ptD  = 1 << 6
	ptPS = 1 << 7
)

// pageTables builds shadow page tables in the Host pool (spec §7: the
// tables the Host installs as the real CR3), non-PAE 2-level or PAE 3-level.
type pageTables struct {
	mc  *machine
	pae bool
	cr3 uint32
}

func (mc *machine) newPageTables(pae bool) *pageTables {
	mc.t.Helper()
	pa, ok := mc.m.AllocPage()
	if !ok {
		mc.t.Fatal("pool exhausted")
	}
	return &pageTables{mc: mc, pae: pae, cr3: pa}
}

func (p *pageTables) alloc() uint32 {
	pa, ok := p.mc.m.AllocPage()
	if !ok {
		p.mc.t.Fatal("pool exhausted")
	}
	return pa
}

// pdeAddr returns the physical address of the directory entry for lin,
// creating the PAE directory (PDPTE with only P, as the architecture
// requires) on the way.
func (p *pageTables) pdeAddr(lin uint32) uint32 {
	if !p.pae {
		return p.cr3 + (lin>>22)*4
	}
	pdpte := p.cr3 + (lin>>30)*8
	e, _ := p.mc.m.Read64(pdpte)
	if e&ptP == 0 {
		e = uint64(p.alloc()) | ptP
		p.mc.m.Write64(pdpte, e)
	}
	return uint32(e&^0xFFF) + (lin>>21&0x1FF)*8
}

// pteAddr returns the physical address of lin's PTE, creating the page
// table with directory flags pdeFlags if the directory entry is empty (an
// existing entry's flags are replaced by pdeFlags).
func (p *pageTables) pteAddr(lin uint32, pdeFlags uint32) uint32 {
	de := p.pdeAddr(lin)
	var table uint32
	if p.pae {
		e, _ := p.mc.m.Read64(de)
		table = uint32(e &^ 0xFFF)
		if table == 0 {
			table = p.alloc()
		}
		p.mc.m.Write64(de, uint64(table|pdeFlags))
		return table + (lin>>12&0x1FF)*8
	}
	e, _ := p.mc.m.Read32(de)
	table = e &^ 0xFFF
	if table == 0 {
		table = p.alloc()
	}
	p.mc.m.Write32(de, table|pdeFlags)
	return table + (lin>>12&0x3FF)*4
}

// mapPage maps the 4 KiB page at lin to pa.
func (p *pageTables) mapPage(lin, pa, pdeFlags, pteFlags uint32) {
	a := p.pteAddr(lin, pdeFlags)
	if p.pae {
		p.mc.m.Write64(a, uint64(pa&^0xFFF|pteFlags))
	} else {
		p.mc.m.Write32(a, pa&^0xFFF|pteFlags)
	}
}

// readPTE and readPDE return the current entries (for A/D checks).
func (p *pageTables) readPTE(lin uint32) uint64 {
	de := p.pdeAddr(lin)
	var table uint64
	if p.pae {
		e, _ := p.mc.m.Read64(de)
		table = e &^ 0xFFF
		v, _ := p.mc.m.Read64(uint32(table) + (lin>>12&0x1FF)*8)
		return v
	}
	e, _ := p.mc.m.Read32(de)
	v, _ := p.mc.m.Read32(e&^0xFFF + (lin>>12&0x3FF)*4)
	return uint64(v)
}

func (p *pageTables) readPDE(lin uint32) uint64 {
	de := p.pdeAddr(lin)
	if p.pae {
		v, _ := p.mc.m.Read64(de)
		return v
	}
	v, _ := p.mc.m.Read32(de)
	return uint64(v)
}

// identity maps [0, n) one to one, user+writable, and installs the tables.
func (p *pageTables) identity(n uint32) {
	for a := uint32(0); a < n; a += mem.PageSize {
		p.mapPage(a, a, ptP|ptRW|ptUS, ptP|ptRW|ptUS)
	}
}

func (p *pageTables) install() {
	p.mc.c.SetPaging(true, p.cr3, p.pae)
	p.mc.c.FlushTLB()
}

// desc builds a segment descriptor: access byte (P DPL S type), flags
// nibble (G D/B L AVL), byte limit (G applied by the caller's choice).
func desc(base, limit uint32, access byte, flags byte) uint64 {
	return uint64(limit&0xFFFF) | uint64(base&0xFFFFFF)<<16 | uint64(access)<<40 |
		uint64(limit>>16&0xF)<<48 | uint64(flags&0xF)<<52 | uint64(base>>24)<<56
}

// at loads code at addr and points EIP there.
func (mc *machine) at(addr uint32, code ...byte) {
	mc.t.Helper()
	mc.load(addr, code)
	mc.c.SetEIP(addr)
}

// wantTrap checks a trap exit: vector, error code (when hasErr) and EIP.
func (mc *machine) wantTrap(what string, ex Exit, vec int, hasErr bool, errcode uint32, eip uint32) {
	mc.t.Helper()
	if ex.Reason != ExitTrap || ex.Vector != vec || ex.HasErr != hasErr || (hasErr && ex.ErrCode != errcode) {
		e := fmt.Sprintf("vector %d", vec)
		if hasErr {
			e += fmt.Sprintf(" err %#x", errcode)
		}
		mc.t.Errorf("%s: got %s, want Trap(%s)", what, exitString(ex), e)
	}
	if got := mc.c.EIP(); got != eip {
		mc.t.Errorf("%s: eip after the trap = %#x, want %#x", what, got, eip)
	}
}

// wantStep checks that one instruction completed and EIP moved to eip.
func (mc *machine) wantStep(what string, ex Exit, eip uint32) bool {
	mc.t.Helper()
	ok := true
	if ex.Reason != ExitStep {
		mc.t.Errorf("%s: got %s, want Step", what, exitString(ex))
		ok = false
	}
	if got := mc.c.EIP(); got != eip {
		mc.t.Errorf("%s: eip = %#x, want %#x", what, got, eip)
		ok = false
	}
	return ok
}

// push32 and the stack readers work on flat SS (base 0).
func (mc *machine) push32(v uint32) {
	esp := mc.c.Reg(ESP) - 4
	mc.w32(esp, v)
	mc.c.SetReg(ESP, esp)
}
