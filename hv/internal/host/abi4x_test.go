package host

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv/cpu"
)

// init4x rewrites the prelude's 3.x lguest_data into the 4.x layout (4.x
// spec §1: noirq_iret, kernel_address, syscall_vec from 0x560) and makes
// LGUEST_INIT.
const init4x = `
	movl $0x100800, lguest_data+0x560  /* noirq_iret */
	movl $0xC0000000, lguest_data+0x564 /* kernel_address */
	movl $0x80, lguest_data+0x568      /* syscall_vec */
	movl $0, lguest_data+0x56C
	HCALL 1, lguest_data
`

const result = 0x300000 // where the test guests leave what they read

func TestABI4xDetectedAtInit(t *testing.T) {
	h := newTestHost(t, init4x+"HCALL 17, 0x1000\n", false)
	s := runTest(t, h)
	if s.Reason != StopKilled || h.deathReason != "Bad hypercall 17\n" {
		t.Fatalf("NOTIFY under 4.x: %v %q", s, h.deathReason)
	}
	if !h.abi4x.Load() || h.noirqIret != 0x100800 || h.kernelAddress != 0xC0000000 {
		t.Fatalf("abi4x %v noirq_iret %#x kernel_address %#x", h.abi4x.Load(), h.noirqIret, h.kernelAddress)
	}
	if ev := eventsOf(h, EvLauncher); len(ev) != 1 || !strings.Contains(ev[0].Text, "4.x layout") {
		t.Fatalf("launcher events %v", ev)
	}
	// A 3.x Guest stays 3.x: NOTIFY is a console write.
	h = newTestHost(t, "HCALL 1, lguest_data\nHCALL 17, msg\n"+powerOff+"msg: .asciz \"hi\"\n", false)
	if s := runTest(t, h); s.Reason != StopPowerOff || h.abi4x.Load() {
		t.Fatalf("3.x guest: %v abi4x %v", s, h.abi4x.Load())
	}
	// Neither slot holds 0x80: the 3.x kill, as before.
	h = newTestHost(t, "movl $0x81, lguest_data+0x56C\nHCALL 1, lguest_data\n"+powerOff, false)
	if runTest(t, h); h.deathReason != "bad syscall vector" || h.abi4x.Load() {
		t.Fatalf("bad vector: %q abi4x %v", h.deathReason, h.abi4x.Load())
	}
}

// Port I/O reaches the 4.x Launcher's PCI space (the console alone: slot
// 1); a 3.x Guest's in/out still reads all ones (spec §5.3).
func TestPCIConfigThroughPortIO(t *testing.T) {
	prog := `
	movl $0x80000800, %eax   /* bus 0, device 1, function 0, register 0 */
	movw $0xCF8, %dx
	outl %eax, %dx
	movw $0xCFC, %dx
	inl %dx, %eax
	movl %eax, 0x300000
	movl $0x8000083C, %eax   /* register 0x3C: interrupt line */
	movw $0xCF8, %dx
	outl %eax, %dx
	movw $0xCFC, %dx
	inb %dx, %al
	movb %al, 0x300004
` + powerOff
	h := newTestHost(t, init4x+prog, false)
	if s := runTest(t, h); s.Reason != StopPowerOff {
		t.Fatalf("%v %q", s, h.deathReason)
	}
	if id, irq := h.readGuest32(result), h.readGuest32(result+4)&0xFF; id != 0x10431AF4 || irq != 1 {
		t.Fatalf("4.x: vendor/device %#x, IRQ line %d; want 0x10431af4 (virtio console) and 1", id, irq)
	}
	h = newTestHost(t, "HCALL 1, lguest_data\n"+prog, false)
	if s := runTest(t, h); s.Reason != StopPowerOff || h.readGuest32(result) != 0xFFFFFFFF {
		t.Fatalf("3.x: %v, read %#x", s, h.readGuest32(result))
	}
}

// The 4.x early console: one emerg_wr write per character through the PCI
// configuration access window (4.x spec §4, "Early console").
func TestEarlyConsoleThroughEmergWr(t *testing.T) {
	cfgw := func(reg, v uint32) string {
		return `
	movl $` + hex32(0x80000800|reg) + `, %eax
	movw $0xCF8, %dx
	outl %eax, %dx
	movl $` + hex32(v) + `, %eax
	movw $0xCFC, %dx
	outl %eax, %dx
`
	}
	prog := init4x + cfgw(0x88, 0) + cfgw(0x90, 4) + cfgw(0x8C, 60+8) + cfgw(0x94, 'o') + cfgw(0x94, 'k') + cfgw(0x94, '\n') + powerOff
	h := newTestHost(t, prog, false)
	if s := runTest(t, h); s.Reason != StopPowerOff {
		t.Fatalf("%v %q", s, h.deathReason)
	}
	var out string
	for _, e := range eventsOf(h, EvConsole) {
		out += e.Text
	}
	if out != "ok\n" {
		t.Fatalf("console %q", out)
	}
}

// MMIO to a BAR: the fault goes to the Launcher's emulate_mmio, which
// decodes the store and the load (under linear_pages the fake 1:1 PTE for
// the BAR address is I/O memory too). A write to the ISR is the
// Launcher's bad_driver.
func TestMMIOThroughTheLauncher(t *testing.T) {
	bar := testRAM + 256*4096
	prog := init4x + `
	movl $` + hex32(uint32(bar)+20) + `, %edx  /* device_status */
	movb $1, %al
	movb %al, (%edx)
	movb (%edx), %cl
	movb %cl, 0x300000
	movl $` + hex32(uint32(bar)+58) + `, %edx  /* isr */
	movb %al, (%edx)
` + powerOff
	h := newTestHost(t, prog, false)
	s := runTest(t, h)
	if got := h.readGuest32(result) & 0xFF; got != 1 {
		t.Fatalf("device_status read back %d, want 1", got)
	}
	if s.Reason != StopKilled || h.deathReason != "console: bad driver: Unexpected write to isr" {
		t.Fatalf("%v %q", s, h.deathReason)
	}
	traps := eventsOf(h, EvTrap)
	n := 0
	for _, e := range traps {
		if e.Outcome == "emulated (Launcher)" {
			n++
		}
	}
	if n < 2 {
		t.Fatalf("%d Launcher-emulated traps in %v", n, traps)
	}
}

// 4.x interrupt delivery at noirq_iret reuses the iret frame: no new
// frame is pushed, eflags come from it (esp+8), the handler runs.
func TestNoirqIretReusesFrame(t *testing.T) {
	prog := init4x + `
	HCALL 6, 33, 0x00610900, 0x00108e00   /* IRQ 1 -> 0x100900, interrupt gate */
	jmp .
	.org 0x800
	iret
	.org 0x900
	jmp .
`
	h := newTestHost(t, prog, false)
	if s := h.run(runOpts{limit: 2000}); s.Reason != StopInstructionLimit {
		t.Fatalf("%v %q", s, h.deathReason)
	}
	c := h.cpu
	// The Guest sits on its iret with a frame {eip, cs, eflags} at esp.
	const sp = 0x380000
	h.mem.Write32(sp, 0x100123)
	h.mem.Write32(sp+4, 0x61)
	h.mem.Write32(sp+8, 0x202|cpu.FlagTF)
	c.SetReg(cpu.ESP, sp)
	c.SetEIP(0x100800)
	h.ldWrite(ldIrqEnabled, cpu.FlagIF)
	h.ldWrite(ldBlocked, 0)
	h.setInterrupt(1)
	h.tryDeliverInterrupt(1)
	if c.EIP() != 0x100900 || c.Reg(cpu.ESP) != sp {
		t.Fatalf("eip %#x esp %#x: want the handler on the same frame", c.EIP(), c.Reg(cpu.ESP))
	}
	if c.EFLAGS()&cpu.FlagTF != 0 || h.readGuest32(testLguestData+ldIrqEnabled) != 0 {
		t.Fatalf("eflags %#x irq_enabled %#x", c.EFLAGS(), h.readGuest32(testLguestData+ldIrqEnabled))
	}
	// Anywhere else the usual frame is pushed.
	c.SetEIP(0x100000)
	h.setInterrupt(1)
	h.ldWrite(ldIrqEnabled, cpu.FlagIF)
	h.tryDeliverInterrupt(1)
	if c.EIP() != 0x100900 || c.Reg(cpu.ESP) != sp-12 {
		t.Fatalf("ordinary delivery: eip %#x esp %#x", c.EIP(), c.Reg(cpu.ESP))
	}
}

func hex32(v uint32) string { return fmt.Sprintf("%#x", v) }

// Between guest memory and the BARs: the Launcher's "not a device", and the
// #PF goes back to the Guest (here with no handler: the unhandled trap).
func TestMMIOOutsideBARs(t *testing.T) {
	h := newTestHost(t, init4x+`
	movl $`+hex32(testRAM+128*4096)+`, %edx
	movl (%edx), %eax
`+powerOff, false)
	s := runTest(t, h)
	if s.Reason != StopKilled || !strings.HasPrefix(h.deathReason, "unhandled trap 14") {
		t.Fatalf("%v %q", s, h.deathReason)
	}
	ev := eventsOf(h, EvLauncher)
	if len(ev) != 2 || ev[1].Text != "MMIO touching 0x2080000 (not a device)" {
		t.Fatalf("launcher events %v", ev)
	}
}
