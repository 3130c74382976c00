package cpu

import (
	"math"
	"testing"
	"time"
)

func TestALUBasics(t *testing.T) {
	cases := []struct {
		name  string
		src   string
		want  map[Reg]uint32
		flags uint32 // expected arithmetic flags (masked by fmask)
		fmask uint32
	}{
		{"add", "mov $5,%eax; add $7,%eax", map[Reg]uint32{EAX: 12}, 0, FlagZF | FlagCF | FlagSF},
		{"sub-borrow", "mov $1,%eax; sub $2,%eax", map[Reg]uint32{EAX: 0xFFFFFFFF}, FlagCF | FlagSF, FlagZF | FlagCF | FlagSF | FlagOF},
		{"overflow", "mov $0x7fffffff,%eax; add $1,%eax", map[Reg]uint32{EAX: 0x80000000}, FlagOF | FlagSF, FlagOF | FlagSF | FlagCF},
		{"byte-carry", "mov $0x1ff,%eax; add $1,%al", map[Reg]uint32{EAX: 0x100}, FlagCF | FlagZF | FlagAF, FlagCF | FlagZF | FlagAF},
		{"word", "mov $0x12345678,%eax; add $0x10000-0x5678,%ax", map[Reg]uint32{EAX: 0x12340000}, FlagCF | FlagZF | FlagPF, FlagCF | FlagZF | FlagPF},
		{"adc", "stc; mov $1,%ecx; adc $1,%ecx", map[Reg]uint32{ECX: 3}, 0, FlagCF},
		{"sbb", "stc; mov $0,%ecx; sbb $0,%ecx", map[Reg]uint32{ECX: 0xFFFFFFFF}, FlagCF, FlagCF},
		{"inc-keeps-cf", "stc; mov $-1,%edx; inc %edx", map[Reg]uint32{EDX: 0}, FlagCF | FlagZF, FlagCF | FlagZF},
		{"imul", "mov $-3,%eax; mov $7,%ebx; imul %ebx,%eax", map[Reg]uint32{EAX: 0xFFFFFFEB}, 0, FlagCF | FlagOF},
		{"mul", "mov $0x80000000,%eax; mov $4,%ebx; mul %ebx", map[Reg]uint32{EAX: 0, EDX: 2}, FlagCF | FlagOF, FlagCF | FlagOF},
		{"div", "mov $0,%edx; mov $100,%eax; mov $7,%ecx; div %ecx", map[Reg]uint32{EAX: 14, EDX: 2}, 0, 0},
		{"idiv", "mov $-100,%eax; cdq; mov $7,%ecx; idiv %ecx", map[Reg]uint32{EAX: 0xFFFFFFF2, EDX: 0xFFFFFFFE}, 0, 0},
		{"shl", "mov $0x80000001,%eax; shl $1,%eax", map[Reg]uint32{EAX: 2}, FlagCF | FlagOF, FlagCF | FlagOF | FlagZF},
		{"sar", "mov $-8,%eax; sar $2,%eax", map[Reg]uint32{EAX: 0xFFFFFFFE}, FlagSF, FlagSF | FlagCF},
		{"rcr", "stc; mov $2,%eax; rcr $1,%eax", map[Reg]uint32{EAX: 0x80000001}, 0, FlagCF},
		{"shld", "mov $0x12345678,%eax; mov $0x9abcdef0,%ebx; shld $8,%ebx,%eax", map[Reg]uint32{EAX: 0x3456789a}, 0, FlagCF},
		{"bsr", "mov $0x00f00000,%eax; bsr %eax,%ecx", map[Reg]uint32{ECX: 23}, 0, FlagZF},
		{"bts", "mov $1,%eax; bts $4,%eax", map[Reg]uint32{EAX: 0x11}, 0, FlagCF},
		{"bswap", "mov $0x11223344,%eax; bswap %eax", map[Reg]uint32{EAX: 0x44332211}, 0, 0},
		{"setcc", "mov $3,%eax; cmp $5,%eax; setl %bl; setb %bh; sete %cl", map[Reg]uint32{EBX: 0x0101, ECX: 0}, 0, 0},
		{"cmov", "mov $1,%eax; mov $2,%ebx; cmp %eax,%ebx; cmova %ebx,%eax", map[Reg]uint32{EAX: 2}, 0, 0},
		{"movsx", "mov $0xff80,%eax; movsbl %al,%ebx; movzwl %ax,%ecx; movswl %ax,%edx", map[Reg]uint32{EBX: 0xFFFFFF80, ECX: 0xFF80, EDX: 0xFFFFFF80}, 0, 0},
		{"xadd", "mov $5,%eax; mov $7,%ebx; xadd %eax,%ebx", map[Reg]uint32{EAX: 7, EBX: 12}, 0, 0},
		{"cmpxchg", "mov $5,%eax; mov $5,%ebx; mov $9,%ecx; cmpxchg %ecx,%ebx", map[Reg]uint32{EBX: 9, EAX: 5}, FlagZF, FlagZF},
		{"daa", "mov $0x15,%eax; add $0x27,%al; daa", map[Reg]uint32{EAX: 0x42}, 0, FlagCF},
		{"aam", "mov $77,%eax; aam", map[Reg]uint32{EAX: 0x0707}, 0, 0},
		{"lea16", "mov $0x1234,%ebx; mov $0xF000,%esi; addr16 lea 0x10(%bx,%si),%eax", map[Reg]uint32{EAX: 0x0244}, 0, 0},
		{"pusha", "mov $1,%eax; mov $2,%ecx; pusha; mov $0,%eax; mov $0,%ecx; popa", map[Reg]uint32{EAX: 1, ECX: 2, ESP: 0x80000}, 0, 0},
		{"enter-leave", "mov $0x1234,%ebp; enter $16,$0; mov %ebp,%ecx; leave", map[Reg]uint32{EBP: 0x1234, ECX: 0x80000 - 4, ESP: 0x80000}, 0, 0},
		{"loop", "mov $10,%ecx; xor %eax,%eax; 1: add $2,%eax; loop 1b", map[Reg]uint32{EAX: 20, ECX: 0}, 0, 0},
		{"rep-stos-movs", "mov $0x20000,%edi; mov $0x55,%eax; mov $100,%ecx; cld; rep stosb; mov $0x20000,%esi; mov $0x30000,%edi; mov $25,%ecx; rep movsl; mov -1(%edi),%bl; mov %ecx,%edx",
			map[Reg]uint32{EDI: 0x30064, EBX: 0x55, EDX: 0}, 0, 0},
		{"repne-scasb", "mov $0x20000,%edi; movl $0x00636261,(%edi); mov $0x63,%al; mov $10,%ecx; repne scasb", map[Reg]uint32{ECX: 7, EDI: 0x20003}, FlagZF, FlagZF},
		{"cpuid", "mov $0,%eax; cpuid", map[Reg]uint32{EAX: 1, EBX: 0x6264676c}, 0, 0},
		{"xlat", "mov $0x20000,%ebx; movl $0x44332211,(%ebx); mov $2,%eax; xlat", map[Reg]uint32{EAX: 0x33}, 0, 0},
		{"cmpxchg8b", "mov $0x20000,%esi; movl $1,(%esi); movl $2,4(%esi); mov $1,%eax; mov $2,%edx; mov $3,%ebx; mov $4,%ecx; cmpxchg8b (%esi); mov (%esi),%edi; mov 4(%esi),%ebp", map[Reg]uint32{EDI: 3, EBP: 4}, FlagZF, FlagZF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ex := e.runAsm(tc.src+"\n"+hlt, 10000)
			e.wantTrap(ex, 0x1f)
			for r, v := range tc.want {
				if got := e.c.Reg(r); got != v {
					t.Errorf("reg %d = %#x, want %#x", r, got, v)
				}
			}
			if got := e.c.EFLAGS() & tc.fmask; got != tc.flags {
				t.Errorf("flags %#x (masked %#x), want %#x", e.c.EFLAGS(), got, tc.flags)
			}
		})
	}
}

func TestHypercallTrapEIPAfter(t *testing.T) {
	e := newEnv(t)
	e.c.SetGate(0x1f, Gate{DPL: 1})
	ex := e.runAsm("nop; int $0x1f; nop", 100)
	e.wantTrap(ex, 0x1f)
	if e.c.EIP() != 0x10003 {
		t.Fatalf("eip %#x, want 0x10003 (after int)", e.c.EIP())
	}
	if e.c.ICount() != 2 {
		t.Fatalf("icount %d, want 2 (int retires)", e.c.ICount())
	}
}

func TestPageFaultExit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pte    uint32
		src    string
		cpl    int
		errc   uint32
		faults bool
	}{
		{"not-present-read", 0, "mov 0x400010,%eax", 1, 0, true},
		{"not-present-write", 0, "movl $1,0x400010", 1, 2, true},
		{"ro-write-supervisor", 0x400000 | 5, "movl $1,0x400010", 1, 3, true},
		{"ro-read-ok", 0x400000 | 5, "mov 0x400010,%eax", 1, 0, false},
		{"user-supervisor-page", 0x400000 | 3, "mov 0x400010,%eax", 3, 5, true},
		{"user-write-ro", 0x400000 | 5, "movl $1,0x400010", 3, 7, true},
		{"rmw-ro", 0x400000 | 5, "addl $1,0x400010", 1, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.setPTE(0x400000, tc.pte)
			code := asm(t, 0x10000, "mov $0x80000,%esp\n"+tc.src+"\n"+hlt)
			e.load(0x10000, code)
			if tc.cpl == 3 {
				e.loadRing(3)
			}
			e.c.SetEIP(0x10000)
			ex := e.c.Run(100)
			if !tc.faults {
				e.wantTrap(ex, 0x1f)
				return
			}
			e.wantTrap(ex, VecPF)
			if ex.ErrCode != tc.errc || !ex.HasErr || ex.CR2 != 0x400010 || e.c.CR2() != 0x400010 {
				t.Fatalf("exit %+v, want errcode %#x cr2 0x400010", ex, tc.errc)
			}
			if e.c.EIP() != 0x10005 {
				t.Fatalf("eip %#x: faults restart at the instruction (0x10005)", e.c.EIP())
			}
			if e.c.ICount() != 1 {
				t.Fatalf("icount %d: the faulting instruction must not retire", e.c.ICount())
			}
		})
	}
}

func TestPushFaultKeepsESP(t *testing.T) {
	e := newEnv(t)
	e.setPTE(0x400000, 0)
	code := asm(t, 0x10000, "mov $0x400004,%esp\nmov $7,%eax\npush %eax\n"+hlt)
	e.load(0x10000, code)
	e.c.SetEIP(0x10000)
	ex := e.c.Run(100)
	e.wantTrap(ex, VecPF)
	if e.c.Reg(ESP) != 0x400004 || ex.ErrCode != 2 {
		t.Fatalf("esp %#x err %#x: a faulting push must not move ESP", e.c.Reg(ESP), ex.ErrCode)
	}
}

func TestAccessedDirtyBits(t *testing.T) {
	e := newEnv(t)
	e.setPTE(0x400000, 0x400000|7)
	e.setPTE(0x401000, 0x401000|7)
	e.runAsm("mov 0x400000,%eax; movl $1,0x401000\n"+hlt, 100)
	p1, _ := e.m.Read32(e.pte(0x400000))
	p2, _ := e.m.Read32(e.pte(0x401000))
	if p1&(pteA|pteD) != pteA || p2&(pteA|pteD) != pteA|pteD {
		t.Fatalf("pte flags %#x %#x: want A on read, A|D on write", p1, p2)
	}
}

func TestDirectTrapRing3(t *testing.T) {
	e := newEnv(t)
	// kernel handler at 0x20000: marks, then returns with iret
	handler := asm(t, 0x20000, "mov $0x42,%ebx\nmov (%esp),%esi\nmov 4(%esp),%edi\nmov 16(%esp),%ebp\niret")
	e.load(0x20000, handler)
	e.c.SetGate(0x80, Gate{Direct: true, Sel: selKCode, Offset: 0x20000, DPL: 3, Type: 0xF})
	e.c.SetRing1Stack(selKData, 0x90000)
	user := asm(t, 0x10000, "mov $0x70000,%esp\nint $0x80\nmov $1,%ecx\n"+hlt)
	e.load(0x10000, user)
	e.loadRing(3)
	e.c.SetGate(0x1f, Gate{DPL: 1})
	e.c.SetEIP(0x10000)
	ex := e.c.Run(100)
	// int $0x1f from ring 3 with a DPL 1 gate: #GP(0x1f*8+2)
	e.wantTrap(ex, VecGP)
	if ex.ErrCode != 0x1f*8+2 {
		t.Fatalf("errcode %#x, want %#x", ex.ErrCode, 0x1f*8+2)
	}
	if e.c.Reg(EBX) != 0x42 || e.c.Reg(ECX) != 1 || e.c.CPL() != 3 {
		t.Fatalf("ebx %#x ecx %#x cpl %d: handler must run and iret to ring 3", e.c.Reg(EBX), e.c.Reg(ECX), e.c.CPL())
	}
	if e.c.Reg(ESI) != 0x10007 || e.c.Reg(EDI) != selUCode || e.c.Reg(EBP) != selUData {
		t.Fatalf("frame eip %#x cs %#x ss %#x", e.c.Reg(ESI), e.c.Reg(EDI), e.c.Reg(EBP))
	}
	if e.c.Reg(ESP) != 0x70000 || e.c.Seg(SS).Sel != selUData {
		t.Fatalf("esp %#x ss %#x after iret", e.c.Reg(ESP), e.c.Seg(SS).Sel)
	}
}

func TestHostTrapGateNotDirect(t *testing.T) {
	e := newEnv(t)
	e.c.SetGate(0x80, Gate{DPL: 3, Type: 0xE})
	e.loadRing(3)
	code := asm(t, 0x10000, "int $0x80")
	e.load(0x10000, code)
	e.c.SetEIP(0x10000)
	e.c.SetReg(ESP, 0x70000)
	ex := e.c.Run(10)
	e.wantTrap(ex, 0x80)
	if e.c.EIP() != 0x10002 || e.c.CPL() != 3 {
		t.Fatalf("eip %#x cpl %d", e.c.EIP(), e.c.CPL())
	}
}

func TestPrivilegedGP(t *testing.T) {
	for _, src := range []string{"hlt", "cli", "sti", "in $0x60,%al", "out %al,$0x80", "mov %cr3,%eax", "mov %eax,%cr0",
		"lgdt (%eax)", "invlpg (%eax)", "wbinvd", "rdmsr", "wrmsr", "clts", "ltr %ax", "sysenter"} {
		t.Run(src, func(t *testing.T) {
			e := newEnv(t)
			ex := e.runAsm(src, 10)
			e.wantTrap(ex, VecGP)
			if ex.ErrCode != 0 || e.c.EIP() != 0x10000 {
				t.Fatalf("err %#x eip %#x", ex.ErrCode, e.c.EIP())
			}
		})
	}
	e := newEnv(t)
	e.wantTrap(e.runAsm("ud2", 10), VecUD)
	e = newEnv(t)
	e.wantTrap(e.runAsm(".byte 0xf0, 0x90", 10), VecUD)
	e = newEnv(t)
	e.wantTrap(e.runAsm("xor %edx,%edx; xor %ecx,%ecx; div %ecx", 10), VecDE)
	if e.c.EIP() != 0x10004 {
		t.Fatalf("#DE eip %#x", e.c.EIP())
	}
}

func TestBreakpointAndWatchpoint(t *testing.T) {
	e := newEnv(t)
	code := asm(t, 0x10000, "mov $1,%eax\nmov $2,%ebx\nmovl $5,0x20000\nmov 0x20004,%ecx\nmov $3,%edx\n"+hlt)
	e.load(0x10000, code)
	e.c.SetEIP(0x10000)
	e.c.SetReg(ESP, 0x80000)
	e.c.SetBreakpoint(0x10005)
	ex := e.c.Run(100)
	if ex.Reason != ExitBreakpoint || e.c.EIP() != 0x10005 || e.c.Reg(EAX) != 1 || e.c.Reg(EBX) != 0 {
		t.Fatalf("bp exit %+v eip %#x", ex, e.c.EIP())
	}
	// resuming executes the instruction at the breakpoint
	e.c.SetWatchpoint(0x20000, 4, WatchWrite)
	e.c.SetWatchpoint(0x20004, 4, WatchRead)
	ex = e.c.Run(100)
	if ex.Reason != ExitWatchpoint || ex.WatchAddr != 0x20000 || ex.WatchKind != WatchWrite {
		t.Fatalf("watch exit %+v", ex)
	}
	if v, _ := e.m.Read32(0x20000); v != 5 || e.c.EIP() != 0x10014 {
		t.Fatalf("watch: store must complete (%d), eip %#x", v, e.c.EIP())
	}
	ex = e.c.Run(100)
	if ex.Reason != ExitWatchpoint || ex.WatchAddr != 0x20004 || ex.WatchKind != WatchRead {
		t.Fatalf("read watch exit %+v", ex)
	}
	e.c.ClearBreakpoint(0x10005)
	e.c.ClearWatchpoint(0x20000, 4, WatchWrite)
	e.c.ClearWatchpoint(0x20004, 4, WatchRead)
	e.wantTrap(e.c.Run(100), 0x1f)
	if e.c.Reg(EDX) != 3 {
		t.Fatal("did not finish")
	}
}

func TestStep(t *testing.T) {
	e := newEnv(t)
	e.load(0x10000, asm(t, 0x10000, "mov $1,%eax\nmov $2,%eax\n"+hlt))
	e.c.SetEIP(0x10000)
	for i, want := range []uint32{1, 2} {
		if ex := e.c.Step(); ex.Reason != ExitStep || e.c.Reg(EAX) != want {
			t.Fatalf("step %d: %+v eax %d", i, ex, e.c.Reg(EAX))
		}
	}
	e.wantTrap(e.c.Step(), 0x1f)
}

func TestSelfModifyingCode(t *testing.T) {
	e := newEnv(t)
	// patch the immediate of the later mov, after it has been decoded once
	src := `
	mov $2,%ecx
1:	mov $0x11,%eax
	movl $0x22,0x10000+(2f-_start)+1
	mov $0x33,%ebx
2:	mov $0x11,%edx
	add %edx,%esi
	dec %ecx
	jnz 1b
	` + hlt
	ex := e.runAsm(src, 1000)
	e.wantTrap(ex, 0x1f)
	if e.c.Reg(ESI) != 0x44 {
		t.Fatalf("esi %#x, want 0x44 (patched code must run)", e.c.Reg(ESI))
	}
}

func TestRequestStopAndBudget(t *testing.T) {
	e := newEnv(t)
	e.load(0x10000, asm(t, 0x10000, "1: inc %eax\njmp 1b"))
	e.c.SetEIP(0x10000)
	if ex := e.c.Run(1001); ex.Reason != ExitBudget || e.c.ICount() != 1001 {
		t.Fatalf("budget: %+v icount %d", ex, e.c.ICount())
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		e.c.RequestStop()
	}()
	if ex := e.c.Run(^uint64(0)); ex.Reason != ExitStop {
		t.Fatalf("stop: %+v", ex)
	}
}

func TestSegmentLoads(t *testing.T) {
	e := newEnv(t)
	e.c.SetGDTEntry(16, 0x00CF93000000FFFF) // DPL 0 data: not loadable at CPL 1
	e.c.SetGDTEntry(17, 0x00CF33000000FFFF) // not present, DPL 1
	e.c.SetGDTEntry(18, 0x0040B3000000000F) // byte-granular limit 15, DPL 1
	for _, tc := range []struct {
		s    SReg
		sel  uint16
		vec  int
		errc uint32
		ok   bool
	}{
		{DS, 0, 0, 0, true},
		{SS, 0, VecGP, 0, false},
		{DS, 16<<3 | 1, VecGP, 16 << 3, false},
		{DS, 17<<3 | 1, VecNP, 17 << 3, false},
		{SS, 17<<3 | 1, VecSS, 17 << 3, false},
		{DS, 40 << 3, VecGP, 40 << 3, false},
		{DS, 13<<3 | 4, VecGP, 13<<3 | 4, false},
		{SS, selKCode, VecGP, selKCode &^ 3, false},
		{DS, selKCode, 0, 0, true}, // readable code is fine in DS
	} {
		v, ec, ok := e.c.LoadSeg(tc.s, tc.sel)
		if ok != tc.ok || (!ok && (v != tc.vec || ec != tc.errc)) {
			t.Errorf("LoadSeg(%d,%#x) = %d,%#x,%v want %d,%#x,%v", tc.s, tc.sel, v, ec, ok, tc.vec, tc.errc, tc.ok)
		}
	}
	// null DS then an access: #GP(0); limit check on a small segment
	e = newEnv(t)
	e.wantTrap(e.runAsm("xor %eax,%eax; mov %eax,%ds; mov (0),%eax", 10), VecGP)
	e = newEnv(t)
	e.c.SetGDTEntry(18, 0x0040B3000000000F)
	e.wantTrap(e.runAsm("mov $0x91,%eax; mov %eax,%fs; mov %fs:12,%ebx; mov %fs:13,%ebx", 10), VecGP)
	if e.c.EIP() != 0x10000+5+2+7 {
		t.Fatalf("limit fault eip %#x", e.c.EIP())
	}
}

func TestFPUState(t *testing.T) {
	e := newEnv(t)
	ex := e.runAsm("fninit; fnstcw 0x20000; movw $0x27f,0x20002; fldcw 0x20002; fnstsw %ax; mov $0x20100,%esi; fxsave (%esi); movzwl (%esi),%ebx\n"+hlt, 100)
	e.wantTrap(ex, 0x1f)
	if v, _ := e.m.Read16(0x20000); v != 0x37F || e.c.Reg(EBX) != 0x27F {
		t.Fatalf("fcw %#x fxsave fcw %#x", v, e.c.Reg(EBX))
	}
	e = newEnv(t)
	e.c.SetTS(true)
	e.wantTrap(e.runAsm("fninit", 10), VecNM)
	e = newEnv(t)
	ex = e.runAsm("addps %xmm0,%xmm1", 10)
	if ex.Reason != ExitUnimplemented || ex.InsnAddr != 0x10000 || len(ex.Insn) != 3 {
		t.Fatalf("unimplemented exit %+v", ex)
	}
}

// newPAEEnv builds PAE shadow tables: PDPT -> 8 page directories' worth of
// 2 MiB ranges for the first 16 MiB, 4 KiB pages except one 2 MiB large
// page at 8 MiB mapped read-only for user.
func newPAEEnv(t *testing.T) *env {
	e := newEnv(t)
	m := e.m
	pdpt, _ := m.AllocPage()
	pd, _ := m.AllocPage()
	m.Write64(pdpt, uint64(pd)|1)
	for i := uint32(0); i < 8; i++ { // 8 x 2 MiB = 16 MiB
		if i == 4 {
			m.Write64(pd+8*i, uint64(i<<21)|ptePS|pteU|pteP) // read-only large page
			continue
		}
		pt, _ := m.AllocPage()
		m.Write64(pd+8*i, uint64(pt)|7)
		for j := uint32(0); j < 512; j++ {
			m.Write64(pt+8*j, uint64(i<<21|j<<12)|7)
		}
	}
	e.c.SetPaging(true, pdpt, true)
	return e
}

func TestPAEPaging(t *testing.T) {
	e := newPAEEnv(t)
	e.wantTrap(e.runAsm("movl $0x1234,0x300000; mov 0x300000,%eax; mov 0x800010,%ebx\n"+hlt, 100), 0x1f)
	if e.c.Reg(EAX) != 0x1234 {
		t.Fatalf("eax %#x", e.c.Reg(EAX))
	}
	if pa, ok := e.c.Translate(0x812345, false); !ok || pa != 0x812345 {
		t.Fatalf("large page translate %#x %v", pa, ok)
	}
	// supervisor write to the read-only large page: #PF P|W
	e = newPAEEnv(t)
	ex := e.runAsm("movl $1,0x800010", 10)
	e.wantTrap(ex, VecPF)
	if ex.ErrCode != 3 || ex.CR2 != 0x800010 {
		t.Fatalf("exit %+v", ex)
	}
	// beyond the PDPT entry: not present
	e = newPAEEnv(t)
	ex = e.runAsm("mov 0x40000000,%eax", 10)
	e.wantTrap(ex, VecPF)
	if ex.ErrCode != 0 || ex.CR2 != 0x40000000 {
		t.Fatalf("exit %+v", ex)
	}
}

func TestTLBFlushSemantics(t *testing.T) {
	e := newEnv(t)
	e.load(0x20000, []byte{1, 0, 0, 0})
	e.load(0x21000, []byte{2, 0, 0, 0})
	code := asm(t, 0x10000, "mov 0x400000,%eax\n"+hlt)
	e.load(0x10000, code)
	e.setPTE(0x400000, 0x20000|7)
	run := func() uint32 {
		e.c.SetEIP(0x10000)
		e.wantTrap(e.c.Run(10), 0x1f)
		return e.c.Reg(EAX)
	}
	if run() != 1 {
		t.Fatal("first mapping")
	}
	// change the shadow PTE without a flush: the stale translation is
	// still used (the TLB is a cache, spec §7.14)
	e.m.Write32(e.pte(0x400000), 0x21000|7)
	if run() != 1 {
		t.Fatal("TLB must keep the old translation until flushed")
	}
	e.c.FlushTLBPage(0x400000)
	if run() != 2 {
		t.Fatal("FlushTLBPage must drop it")
	}
	e.m.Write32(e.pte(0x400000), 0x20000|7|pteG)
	e.c.FlushTLB()
	run()
	e.m.Write32(e.pte(0x400000), 0x21000|7)
	e.c.FlushTLBNonGlobal()
	if run() != 1 {
		t.Fatal("global entries survive FlushTLBNonGlobal")
	}
}

func TestIretFlagsRules(t *testing.T) {
	e := newEnv(t)
	// iret at CPL 1 to CPL 1 with an image that clears IF and sets IOPL 3:
	// neither may change (CPL 1 > IOPL 0)
	src := `
	pushl $0x3002      # eflags: IOPL 3, IF 0
	pushl $0x61
	pushl $1f
	iret
1:	pushf
	pop %eax
	` + hlt
	e.wantTrap(e.runAsm(src, 100), 0x1f)
	if f := e.c.Reg(EAX); f&FlagIF == 0 || f&FlagIOPL != 0 {
		t.Fatalf("flags after iret %#x: IF and IOPL must be kept", f)
	}
}

func TestWriteVirtInvalidatesCode(t *testing.T) {
	e := newEnv(t)
	e.load(0x10000, asm(t, 0x10000, "mov $1,%eax\n"+hlt))
	e.c.SetEIP(0x10000)
	e.wantTrap(e.c.Run(10), 0x1f)
	if err := e.c.WriteVirt(0x10001, []byte{7}); err != nil {
		t.Fatal(err)
	}
	e.c.SetEIP(0x10000)
	e.wantTrap(e.c.Run(10), 0x1f)
	if e.c.Reg(EAX) != 7 {
		t.Fatalf("eax %d: a Host write to code must drop the decoded block", e.c.Reg(EAX))
	}
	if err := e.c.WriteVirt(0x4000000, []byte{1}); err == nil {
		t.Fatal("unmapped WriteVirt must fail")
	}
}

// TestX87CheckFPU runs Linux's boot-time FDIV check (arch/x86 check_fpu)
// and a few more x87 operations; results must equal IEEE extended math.
func TestX87CheckFPU(t *testing.T) {
	e := newEnv(t)
	src := `
	fninit
	fldl x
	fdivl y
	fmull y
	fldl x
	fsubp %st,%st(1)
	fistpl 0x20000
	fwait
	fildl ten
	fld1
	faddp %st,%st(1)
	fstps 0x20004
	fldl x
	fcoml y
	fnstsw %ax
	fstpl 0x20008
	fninit
	` + hlt + `
	.align 8
x:	.double 4195835.0
y:	.double 3145727.0
ten:	.long 10
`
	e.wantTrap(e.runAsm(src, 1000), 0x1f)
	if v, _ := e.m.Read32(0x20000); v != 0 {
		t.Fatalf("fdiv check = %d, want 0", v)
	}
	if v, _ := e.m.Read32(0x20004); v != 0x41300000 { // 11.0f
		t.Fatalf("fild+fld1+faddp+fstps = %#x, want 11.0f", v)
	}
	if sw := e.c.Reg(EAX) & 0x4500; sw != 0 { // x > y: C3=C2=C0=0
		t.Fatalf("fcom status %#x", sw)
	}
	if v, _ := e.m.Read64(0x20008); v != math.Float64bits(4195835.0) {
		t.Fatalf("fstpl %#x", v)
	}
	// NaN operands are not modelled: unimplemented, FPU state unchanged
	e = newEnv(t)
	ex := e.runAsm("fninit\nfldl nan\n"+hlt+"\n.align 8\nnan: .quad 0x7ff8000000000000", 100)
	if ex.Reason != ExitUnimplemented {
		t.Fatalf("NaN load: %+v", ex)
	}
}

// TestSlowModeReusesBlocks: with a breakpoint set the CPU runs one
// instruction at a time but must not decode a new block per address.
func TestSlowModeReusesBlocks(t *testing.T) {
	e := newEnv(t)
	code := asm(t, 0x10000, "mov $100,%ecx\n1: add $1,%eax\nadd $2,%ebx\nadd $3,%edx\ndec %ecx\njnz 1b\n"+hlt)
	e.load(0x10000, code)
	e.c.SetEIP(0x10000)
	e.c.SetBreakpoint(0x50000) // never reached
	e.wantTrap(e.c.Run(10000), 0x1f)
	if e.c.Reg(EAX) != 100 || e.c.Reg(EDX) != 300 {
		t.Fatalf("eax %d edx %d", e.c.Reg(EAX), e.c.Reg(EDX))
	}
	pg := e.c.pages[0x10]
	if pg == nil || len(pg.blocks) > 4 {
		t.Fatalf("%d blocks decoded for a 3-block program", len(pg.blocks))
	}
	// stepping through it does not multiply blocks either
	e.c.ClearBreakpoint(0x50000)
	e.c.SetEIP(0x10000)
	for i := 0; i < 50; i++ {
		if ex := e.c.Step(); ex.Reason != ExitStep {
			t.Fatalf("step %d: %+v", i, ex)
		}
	}
	if len(pg.blocks) > 4 {
		t.Fatalf("%d blocks after stepping", len(pg.blocks))
	}
}

func TestSingleStepSkipsSoftInt(t *testing.T) {
	e := newEnv(t)
	e.load(0x20000, []byte{0x90, 0xcf}) // handler: nop; iret
	e.c.SetGate(0x80, Gate{Direct: true, Sel: selKCode, Offset: 0x20000, DPL: 3, Type: 0xF})
	e.load(0x10000, []byte{0xcd, 0x80, 0x90})
	e.c.SetEIP(0x10000)
	e.c.SetReg(ESP, 0x80000)
	e.c.SetEFLAGS(FlagIF | FlagTF)
	// int $0x80 clears TF on entry: no #DB until the iret restores it
	ex := e.c.Run(100)
	e.wantTrap(ex, VecDB)
	if e.c.EIP() != 0x10003 || e.c.ICount() != 4 {
		t.Fatalf("#DB at eip %#x after %d insns, want 0x10003 after 4 (int, nop, iret, nop)", e.c.EIP(), e.c.ICount())
	}
}

// Data stored next to code in the same page leaves the page's decoded
// blocks alone (no invalidation per store, REP STOS stays in bulk); a store
// into a decoded instruction still invalidates it.
func TestDataWritesNextToCode(t *testing.T) {
	e := newEnv(t)
	e.load(0x10000, []byte{
		0xB9, 0x64, 0, 0, 0, // mov ecx, 100
		0x89, 0x0D, 0x00, 0x08, 0x01, 0x00, // 1: mov [0x10800], ecx
		0x49,       // dec ecx
		0x75, 0xF7, // jnz 1b
		0xB9, 0x10, 0, 0, 0, // mov ecx, 16
		0xF3, 0xAA, // rep stosb (to 0x10900)
		0xB8, 0x11, 0, 0, 0, // mov eax, 0x11
		0xCD, 0x1F, // int 0x1f
	})
	const perRun = 1 + 100*3 + 4
	run := func(al uint32) {
		t.Helper()
		e.c.SetEIP(0x10000)
		e.c.SetReg(EDI, 0x10900)
		e.c.SetReg(EAX, al)
		e.wantTrap(e.c.Run(1000), 0x1f)
		b := make([]byte, 16)
		e.m.ReadBytes(0x10900, b)
		for i, v := range b {
			if uint32(v) != al {
				t.Fatalf("rep stosb byte %d = %#x, want %#x", i, v, al)
			}
		}
	}
	run(0x5A)
	gen := e.c.gen
	run(0xA5)
	if e.c.gen != gen {
		t.Errorf("stores next to decoded code bumped the generation %d times", e.c.gen-gen)
	}
	if v, _ := e.m.Read32(0x10800); v != 1 {
		t.Errorf("[0x10800] = %d, want 1", v)
	}
	if e.c.ICount() != 2*perRun {
		t.Errorf("icount %d, want %d", e.c.ICount(), 2*perRun)
	}
	// a Host patch of the mov eax immediate is seen by the next run
	e.m.Write8(0x10016, 0x22)
	run(0x77)
	if e.c.Reg(EAX) != 0x22 {
		t.Fatalf("eax %#x after a Host patch, want 0x22", e.c.Reg(EAX))
	}
	if e.c.gen == gen {
		t.Error("a store into a decoded instruction did not invalidate")
	}
}
