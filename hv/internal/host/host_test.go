package host

import (
	"fmt"
	"strings"
	"testing"
)

// powerOff ends a test guest the way Linux's lguest_power_off does.
const powerOff = `
	HCALL 2, msg_power_down, 1
	jmp .
msg_power_down: .asciz "Power down"
`

func TestInitHandshakeFillsLguestData(t *testing.T) {
	h := newTestHost(t, `
	HCALL 1, lguest_data
`+powerOff, false)
	s := runTest(t, h)
	if s.Reason != StopPowerOff {
		t.Fatalf("stop = %v, want power-off", s)
	}
	// spec §3.3.2: tsc_khz, reserve_mem and time are the Host's to write.
	if got := h.readGuest32(testLguestData + ldTscKHz); got != TSCkHz {
		t.Errorf("tsc_khz = %d, want %d", got, TSCkHz)
	}
	if got := h.readGuest32(testLguestData + ldReserveMem); got != 0x400000 {
		t.Errorf("reserve_mem = %#x, want 0x400000 (Switcher at 0xFFC00000)", got)
	}
	if sec := h.readGuest32(testLguestData + ldTime); sec != bootEpochNS/1e9 {
		t.Errorf("time.tv_sec = %d, want the fixed boot epoch %d", sec, uint64(bootEpochNS/1e9))
	}
	if !h.pt.LinearPages() {
		t.Error("LGUEST_INIT left linear_pages mode; only NEW_PGTABLE may (spec §7.8)")
	}
	hc := eventsOf(h, EvHypercall)
	if len(hc) != 2 || hc[0].Name != "LGUEST_INIT" || hc[0].Args[0] != testLguestData || hc[1].Name != "SHUTDOWN" {
		t.Errorf("hypercall log = %v", hc)
	}
}

// Every kill path the Host owns, word for word (spec §3.5).
func TestKillReasons(t *testing.T) {
	init := "HCALL 1, lguest_data\n"
	cases := []struct {
		name, src, want string
		pae             bool
	}{
		{"hypercall before INIT", "HCALL 4, 0x1000\n", "hypercall 4 before INIT", false},
		{"lguest_data beyond memory", fmt.Sprintf("HCALL 1, %#x\n", testRAM+0x100000), fmt.Sprintf("bad guest page %#x", testRAM+0x100000), false},
		{"bad syscall vector", "movl $0x81, lguest_data+0x56C\n" + init, "bad syscall vector", false},
		{"kernel address in the Switcher", "movl $0xFFC00000, lguest_data+0x568\n" + init, "bad kernel address 0xffc00000", false},
		{"second INIT", init + init, "already have lguest_data", false},
		{"unused hypercall 3", init + "HCALL 3\n", "Bad hypercall 3\n", false},
		{"SET_PMD on a non-PAE Host", init + "HCALL 13, 0x3000, 0\n", "Bad hypercall 13\n", false},
		{"unknown hypercall", init + "HCALL 99\n", "Bad hypercall 99\n", false},
		{"stack segment without RPL 1", init + "HCALL 7, 0x68, 0x90000, 1\n", "bad stack segment 104", false},
		{"too many stack pages", init + "HCALL 7, 0x69, 0x90000, 3\n", "bad stack pages 3", false},
		{"IDT vector out of range", init + "HCALL 6, 256, 0, 0x8E00\n", "Setting idt entry 256", false},
		{"IDT gate of a bad type", init + "HCALL 6, 32, 0, 0x8500\n", "bad IDT type 5", false},
		{"GDT index out of range", init + "HCALL 18, 32, 0, 0\n", "too many gdt entries 32", false},
		{"SHUTDOWN message off the end", init + fmt.Sprintf("HCALL 2, %#x, 1\n", testRAM+7*4096-64), fmt.Sprintf("bad read address %#x len 128", testRAM+7*4096-64), false},
		{"undefined opcode with no IDT", init + "ud2\n", "unhandled trap 6 at 0x10001b (0x0)", false},
		{"linear access beyond memory", init + fmt.Sprintf("movl %#x, %%eax\n", testRAM+0x800000), "bad page table entry", false},
		{"SET_PTE into the Switcher", init + "HCALL 14, 0, 0xFFC01000, 0\n", "attempt to set pte into Switcher pages", false},
		{"live data segment replaced by a non-present one", init + "HCALL 18, 13, 0xFFFF, 0x00CF1300\n", "unhandled trap 256", false},
		{"NOTIFY beyond guest memory", init + fmt.Sprintf("HCALL 17, %#x\n", testRAM+0x100000), fmt.Sprintf("Bad NOTIFY %#x", testRAM+0x100000), false},
	}
	// Guest page tables: 0..4 MiB identity-mapped, nothing else, loaded
	// with the first NEW_PGTABLE (so linear_pages is off).
	paging := init + `
	movl $0x301000, %edi
	movl $0x63, %eax
	movl $1024, %ecx
1:	movl %eax, (%edi)
	addl $4, %edi
	addl $0x1000, %eax
	loop 1b
	movl $0x301067, 0x300000
	HCALL 4, 0x300000
`
	cases = append(cases, []struct {
		name, src, want string
		pae             bool
	}{
		{"kernel stack that is not mapped", paging + "HCALL 7, 0x69, 0x900000, 1\n", "bad stack page 0x8fffff", false},
		{"page fault with no handler", paging + "movl 0x800000, %eax\n", "unhandled trap 14 at 0x10005b (0x800000)", false},
		{"reflection onto an unmapped stack", paging + "HCALL 6, 6, 0x00610000, 0x00108E00\nmovl $0x800000, %esp\nud2\n", "Bad address 0x800000", false},
		{"page directory entry with PSE", paging + "movl $0x4000E7, 0x300004\nmovl 0x400000, %eax\n", "bad page directory entry", false},
		{"SET_PGD index past the table", paging + "HCALL 15, 0x300000, 1024\n", "Attempt to set pgd 1024/1024", false},
	}...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newTestHost(t, c.src+powerOff, c.pae)
			s := runTest(t, h)
			if s.Reason != StopKilled {
				t.Fatalf("stop = %v, want killed with %q", s, c.want)
			}
			if !strings.HasPrefix(s.Text, c.want) {
				t.Fatalf("kill reason %q, want %q", s.Text, c.want)
			}
			if k := eventsOf(h, EvKill); len(k) != 1 || k[0].Text != s.Text {
				t.Errorf("kill events %v: want exactly one, with the reason", k)
			}
		})
	}
}

func TestShutdownVariants(t *testing.T) {
	cases := []struct {
		src  string
		want StopReason
		text string
	}{
		{powerOff, StopPowerOff, "CRASH: Power down"},
		{"HCALL 2, msg, 1\nmsg: .asciz \"Kernel panic - not syncing: test\"\n", StopCrash, "CRASH: Kernel panic - not syncing: test"},
		{"HCALL 2, msg, 2\nmsg: .asciz \"Restarting system\"\n", StopRestart, "CRASH: Restarting system"},
	}
	for _, c := range cases {
		h := newTestHost(t, "HCALL 1, lguest_data\n"+c.src, false)
		s := runTest(t, h)
		if s.Reason != c.want || s.Text != c.text {
			t.Errorf("stop %v %q, want %v %q", s.Reason, s.Text, c.want, c.text)
		}
	}
}

// The async ring runs in ring order, before the synchronous call that
// drains it, and every slot is handed back as 0xFF (spec §3.4).
func TestAsyncRingDrainsInOrderBeforeTheSyncCall(t *testing.T) {
	h := newTestHost(t, `
	HCALL 1, lguest_data
	/* queue FLUSH_TLB(0), TS(8), FLUSH_TLB(1) in slots 0..2 */
	movl $5, lguest_data+0x58
	movl $0, lguest_data+0x58+4
	movb $0, lguest_data+0x18
	movl $8, lguest_data+0x58+20
	movl $8, lguest_data+0x58+24
	movb $0, lguest_data+0x19
	movl $5, lguest_data+0x58+40
	movl $1, lguest_data+0x58+44
	movb $0, lguest_data+0x1a
	HCALL 0
`+powerOff, false)
	s := runTest(t, h)
	if s.Reason != StopPowerOff {
		t.Fatalf("stop = %v", s)
	}
	var got []string
	for _, e := range eventsOf(h, EvHypercall) {
		got = append(got, fmt.Sprintf("%s%v/%v", e.Name, e.Args, e.Async))
	}
	want := []string{"LGUEST_INIT[2097152]/false", "FLUSH_TLB[0]/true", "TS[8]/true", "FLUSH_TLB[1]/true", "FLUSH_ASYNC[]/false", "SHUTDOWN[" + fmt.Sprint(h.shutdownArg()) + " 1]/false"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("hypercalls\n got %v\nwant %v", got, want)
	}
	for i := 0; i < 3; i++ {
		if b, _ := h.mem.Read8(testLguestData + ldHcallStatus + uint32(i)); b != 0xFF {
			t.Errorf("hcall_status[%d] = %#x, want 0xff", i, b)
		}
	}
	if h.ts != 8 || !h.cpu.TS() {
		t.Errorf("TS from the ring not applied: ts=%d cpu.TS=%v", h.ts, h.cpu.TS())
	}
}

// shutdownArg is the address of the "Power down" string the test guest
// passed (found from the event log, so the test does not hard-code layout).
func (h *Host) shutdownArg() uint32 {
	for _, e := range eventsOf(h, EvHypercall) {
		if e.Name == "SHUTDOWN" {
			return e.Args[0]
		}
	}
	return 0
}

// #GP(0) emulation covers in/out and cli only (spec §5.3).
func TestGPEmulationOfInOutAndCli(t *testing.T) {
	h := newTestHost(t, `
	HCALL 1, lguest_data
	movl $0x12345600, %eax
	inb $0x71, %al        /* eax |= 0xff */
	movl %eax, res
	inw (%dx), %ax        /* 16-bit: eax |= 0xffff */
	movl %eax, res+4
	movl $0, %eax
	inl (%dx), %eax       /* eax = 0xffffffff */
	movl %eax, res+8
	outb %al, $0x80
	cli                   /* skipped, irq_enabled untouched */
`+powerOff+`
res: .long 0, 0, 0
`, false)
	s := runTest(t, h)
	if s.Reason != StopPowerOff {
		t.Fatalf("stop = %v", s)
	}
	want := []uint32{0x123456FF, 0x1234FFFF, 0xFFFFFFFF}
	var emulated int
	for _, e := range eventsOf(h, EvTrap) {
		if e.Nr == 13 && e.Outcome == "emulated" {
			emulated++
		}
	}
	if emulated != 5 {
		t.Errorf("%d #GP exits emulated, want 5 (3 in, 1 out, 1 cli)", emulated)
	}
	res := h.shutdownArg() + uint32(len("Power down")+1)
	for i, w := range want {
		if got := h.readGuest32(res + uint32(i)*4); got != w {
			t.Errorf("result %d = %#x, want %#x", i, got, w)
		}
	}
}

// Timer interrupts on the virtual clock: SET_CLOCKEVENT, HALT skipping to
// the deadline, delivery through the Guest's IDT with irq_enabled cleared
// by the interrupt gate (spec §5.5, §8).
func TestTimerTicksWhileHalted(t *testing.T) {
	h := newTestHost(t, `
	HCALL 1, lguest_data
	movl $0x180000, %esp
	HCALL 6, 32, 0x00611000, 0x00108E00
	movl $0, lguest_data+4          /* unblock IRQ 0 */
	HCALL 9, 100000                 /* first tick in 100 us */
1:	movl $0x200, lguest_data        /* irq_enabled */
	HCALL 10                        /* HALT */
	cmpl $3, ticks
	jb 1b
`+powerOff+`
	.org 0x1000
tick:
	pusha
	cmpl $0, lguest_data            /* the gate turned virtual IF off */
	jne bad
	incl ticks
	HCALL 9, 100000
	popa
	iret
bad:	HCALL 2, msg_bad, 1
msg_bad: .asciz "irq_enabled still set in the handler"
ticks: .long 0
`, false)
	s := runTest(t, h)
	if s.Reason != StopPowerOff {
		t.Fatalf("stop = %v", s)
	}
	if n := len(eventsOf(h, EvInterrupt)); n != 3 {
		t.Errorf("%d timer interrupts delivered, want 3", n)
	}
	if h.now() < 300000 {
		t.Errorf("virtual time %d ns after three 100 us ticks", h.now())
	}
	if n := len(eventsOf(h, EvHalt)); n != 3 {
		t.Errorf("%d halts skipped time, want 3", n)
	}
}

// The same guest and flags give the same event stream.
func TestRunsAreDeterministic(t *testing.T) {
	src := `
	HCALL 1, lguest_data
	movl $0x12345678, %eax
	movl %eax, 0x300000
	movl 0x900000, %ebx
` + powerOff
	var logs [2]string
	for i := range logs {
		h := newTestHost(t, src, false)
		runTest(t, h)
		evs, _ := h.events.Since(0)
		logs[i] = fmt.Sprint(evs)
	}
	if logs[0] != logs[1] {
		t.Errorf("two runs differ:\n%s\n%s", logs[0], logs[1])
	}
}

// An instruction the CPU does not implement ends the run with its address
// and bytes, never a silent wrong result (issue 2).
func TestUnimplementedInstructionStops(t *testing.T) {
	h := newTestHost(t, `
	HCALL 1, lguest_data
	fninit
	fadd %st(1), %st
`+powerOff, false)
	s := runTest(t, h)
	if s.Reason != StopUnimplemented {
		t.Fatalf("stop = %v, want unimplemented", s)
	}
	if want := "unimplemented instruction at 0x10001d: d8 c1"; s.Text != want {
		t.Errorf("reason %q, want %q", s.Text, want)
	}
	if s.Exit.InsnAddr != 0x10001d || s.EIP != 0x10001d {
		t.Errorf("stopped at %#x (exit %#x), want the fadd at 0x10001d", s.EIP, s.Exit.InsnAddr)
	}
}
