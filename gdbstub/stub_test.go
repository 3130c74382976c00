package gdbstub

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/cpu"
)

// hexOf is the hex of a string, as gdb sends qRcmd.
func hexOf(s string) string { return hex.EncodeToString([]byte(s)) }

func le(v uint32) string { return string(encodeHex(le32(v))) }

// TestQueries covers the packets whose reply depends only on the stub.
func TestQueries(t *testing.T) {
	c := connect(t, newDemo(t))
	tests := []struct {
		send string
		want string // regexp, anchored
	}{
		{"qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386", `PacketSize=4000;qXfer:features:read\+;QStartNoAckMode\+;vContSupported\+;swbreak\+;hwbreak\+`},
		{"?", `T05thread:1;`},
		{"qAttached", `1`},
		{"qAttached:1", `1`},
		{"qC", `QC1`},
		{"qfThreadInfo", `m1`},
		{"qsThreadInfo", `l`},
		{"qOffsets", ``},
		{"qTStatus", ``},
		{"qSymbol::", `OK`},
		{"Hg0", `OK`},
		{"Hc-1", `OK`},
		{"T1", `OK`},
		{"vCont?", `vCont;c;C;s;S`},
		{"vMustReplyEmpty", ``},
		{"vFile:open:6a7573742070726f62696e67,0,1c0", ``},
		{"!", ``},
		{"bc", ``},
		{"qXfer:features:read:nosuch.xml:0,100", `E00`},
		{"qXfer:features:read:target.xml:zz,100", `E01`},
		{"qXfer:auxv:read::0,100", ``},
		{"Z9,100000,1", ``},
		{"Z0,100000", `E01`},
		{"Z0,zz,1", `E01`},
		{"Z2,100000,0", `E01`},
		{"Z2,100000,fffffff", `E01`},
		{"p40", `E01`},
		{"pzz", `E01`},
		{"p10", `0{20}`},    // st0 after FNINIT's reset state
		{"p19", `00000000`}, // fstat
		{"p18", `7f030000`}, // fctrl: 0x037f after reset
		{"p1a", `ffff0000`}, // ftag: every register empty
		{"p28", `801f0000`}, // mxcsr: 0x1f80 after reset
		{"p2b", `00000000`}, // cr3: linear_pages on, the Guest has no table yet
		{"p2f", `01000000`}, // linear_pages
		{"P40=00000000", `E\.there is no register 64`},
		{"P2b=00100000", `E\.the Guest changes cr3 only through hypercalls.*`},
		{"P0=0000", `E01`},
		{"P0", `E01`},
		{"G00", `E01`},
		{"mzz,4", `E01`},
		{"m100000", `E01`},
		{"m100000,ffffffff", `E01`},
		{"m1000000000,4", `E01`}, // wider than 32 bits
		{"m10000000,4", `E14`},   // above guest RAM under linear_pages
		{"M100000,2:123", `E01`},
		{"M100000,3:1234", `E01`},
		{"M100000,2:zz34", `E01`},
		{"M100000,2", `E01`},
		{"M10000000,1:00", `E14`},
		{"X100000,0:", `OK`},
		{"X100000,2:a", `E01`},
		{"c zz", `E01`},
		{"vCont;x", `E01`},
		{"vCont;", `E01`},
		{"", ``},
	}
	for _, tt := range tests {
		got := c.ask(tt.send)
		if !regexp.MustCompile(`^(?:` + tt.want + `)$`).MatchString(got) {
			t.Errorf("%q: got %q, want /%s/", tt.send, got, tt.want)
		}
	}
}

// TestRegisters checks g/G/p/P against the Machine's own view.
func TestRegisters(t *testing.T) {
	m := newDemo(t)
	c := connect(t, m)
	r := m.Regs()
	g := c.ask("g")
	if len(g) != 16*8 {
		t.Fatalf("g: %d hex digits, want 128: %q", len(g), g)
	}
	want := []uint32{r.GPR[0], r.GPR[1], r.GPR[2], r.GPR[3], r.GPR[4], r.GPR[5], r.GPR[6], r.GPR[7], r.EIP, r.EFLAGS,
		uint32(r.Seg[1].Sel), uint32(r.Seg[2].Sel), uint32(r.Seg[3].Sel), uint32(r.Seg[0].Sel), uint32(r.Seg[4].Sel), uint32(r.Seg[5].Sel)}
	for i, w := range want {
		if got := g[8*i : 8*i+8]; got != le(w) {
			t.Errorf("g: %s = %s, want %s", regTable[i].name, got, le(w))
		}
		if got := c.ask(fmt.Sprintf("p%x", i)); got != le(w) {
			t.Errorf("p%x (%s) = %s, want %s", i, regTable[i].name, got, le(w))
		}
	}

	// P: each writable register, read back through the Machine.
	for i := 0; i < 10; i++ {
		v := uint32(0x11223300 + i)
		if i == 9 {
			v = 0x246 // eflags: a value the CPU keeps as is
		}
		if got := c.ask(fmt.Sprintf("P%x=%s", i, le(v))); got != "OK" {
			t.Fatalf("P%x: %q", i, got)
		}
		if got := c.ask(fmt.Sprintf("p%x", i)); got != le(v) {
			t.Errorf("after P%x: p reads %s, want %s", i, got, le(v))
		}
	}
	if got := m.Regs().GPR[0]; got != 0x11223300 {
		t.Errorf("eax in the Machine: %#x", got)
	}
	// Segment registers: writing the same value is fine, changing it is not.
	cs := uint32(m.Regs().Seg[1].Sel)
	if got := c.ask("Pa=" + le(cs)); got != "OK" {
		t.Errorf("P cs unchanged: %q", got)
	}
	if got := c.ask("Pa=" + le(cs+8)); got != eMessage(whySegment) {
		t.Errorf("P cs changed: %q, want the reason as E.message", got)
	}

	// G: write everything back with new eax/eip; a changed segment
	// register refuses the whole packet and changes nothing.
	g = c.ask("g")
	g2 := le(0xCAFEBABE) + g[8:64] + le(0x100006) + g[72:]
	if got := c.ask("G" + g2); got != "OK" {
		t.Fatalf("G: %q", got)
	}
	if r := m.Regs(); r.GPR[0] != 0xCAFEBABE || r.EIP != 0x100006 {
		t.Errorf("after G: eax %#x eip %#x", r.GPR[0], r.EIP)
	}
	bad := le(1) + g2[8:80] + le(cs+8) + g2[88:]
	if got := c.ask("G" + bad); !strings.HasPrefix(got, "E.segment registers") {
		t.Errorf("G with a new cs: %q, want the reason as E.message", got)
	}
	if m.Regs().GPR[0] != 0xCAFEBABE {
		t.Error("a refused G still wrote eax")
	}
	if got := c.ask("G" + g2[:100] + "zz" + g2[102:]); got != "E01" {
		t.Errorf("G with bad hex: %q", got)
	}
}

// TestMemory checks m/M/X through the Guest's translation.
func TestMemory(t *testing.T) {
	m := newDemo(t)
	c := connect(t, m)
	entry := m.Regs().EIP
	want := make([]byte, 16)
	if err := m.ReadVirt(entry, want); err != nil {
		t.Fatal(err)
	}
	if got := c.ask(fmt.Sprintf("m%x,10", entry)); got != hex.EncodeToString(want) {
		t.Errorf("m: %s, want %x", got, want)
	}
	if got := c.ask(fmt.Sprintf("M%x,4:deadbeef", entry)); got != "OK" {
		t.Fatalf("M: %q", got)
	}
	buf := make([]byte, 4)
	m.ReadVirt(entry, buf)
	if !bytes.Equal(buf, []byte{0xde, 0xad, 0xbe, 0xef}) {
		t.Errorf("after M: % x", buf)
	}
	// X with bytes the framing must escape.
	data := []byte{'$', '#', '}', '*', 0x00, 0xff}
	if got := c.ask(fmt.Sprintf("X%x,%x:%s", entry, len(data), data)); got != "OK" {
		t.Fatalf("X: %q", got)
	}
	buf = make([]byte, len(data))
	m.ReadVirt(entry, buf)
	if !bytes.Equal(buf, data) {
		t.Errorf("after X: % x, want % x", buf, data)
	}

	// A read that runs off the end of mapped memory returns what it
	// could. Under linear_pages the mapping ends at the memory limit
	// (RAM plus the lguest bus pages, spec §2.2): find it.
	end := m.RAM()
	for i := 0; i < 1024; i++ {
		if _, ok := m.VirtToPhys(end); !ok {
			break
		}
		end += 0x1000
	}
	if _, ok := m.VirtToPhys(end); ok {
		t.Fatalf("no unmapped page within 4 MiB above RAM (%#x)", end)
	}
	if got := c.ask(fmt.Sprintf("m%x,8", end-4)); len(got) != 8 {
		t.Errorf("short read at the end of memory %#x: %q, want 4 bytes", end, got)
	}
	if got := c.ask(fmt.Sprintf("m%x,8", end)); got != "E14" {
		t.Errorf("read of unmapped %#x: %q, want E14", end, got)
	}
	if got := c.ask(fmt.Sprintf("M%x,8:0000000000000000", end-4)); got != "E14" {
		t.Errorf("write across the end of memory: %q, want E14", got)
	}
}

// TestTargetXML reads the description in small chunks, as gdb may, and
// checks it is the i386 core gdb requires.
func TestTargetXML(t *testing.T) {
	c := connect(t, newDemo(t))
	var doc strings.Builder
	for off := 0; ; {
		r := c.ask(fmt.Sprintf("qXfer:features:read:target.xml:%x,%x", off, 100))
		if r == "" || (r[0] != 'm' && r[0] != 'l') {
			t.Fatalf("chunk at %d: %q", off, r)
		}
		doc.WriteString(r[1:])
		off += len(r) - 1
		if r[0] == 'l' {
			break
		}
		if off > 1<<16 {
			t.Fatal("target.xml never ends")
		}
	}
	if doc.String() != targetXML {
		t.Fatal("reassembled target.xml differs from the original")
	}
	var tgt struct {
		Arch    string `xml:"architecture"`
		Feature []struct {
			Name string `xml:"name,attr"`
			Regs []struct {
				Name    string `xml:"name,attr"`
				Bitsize int    `xml:"bitsize,attr"`
			} `xml:"reg"`
		} `xml:"feature"`
	}
	if err := xml.Unmarshal([]byte(doc.String()), &tgt); err != nil {
		t.Fatalf("target.xml: %v", err)
	}
	wantFeatures := []struct {
		name  string
		first string
		n     int
	}{
		// gdb's i386 back end validates the first two by these names
		// and counts (i386_validate_tdesc_p).
		{"org.gnu.gdb.i386.core", "eax", 32},
		{"org.gnu.gdb.i386.sse", "xmm0", 9},
		{"org.lgdbg.i386.cr", "cr0", 4},
		{"org.lgdbg.lguest.host", "shadow_cr3", 5},
	}
	if tgt.Arch != "i386" || len(tgt.Feature) != len(wantFeatures) {
		t.Fatalf("target.xml: arch %q, %d features", tgt.Arch, len(tgt.Feature))
	}
	n := 0
	for i, w := range wantFeatures {
		f := tgt.Feature[i]
		if f.Name != w.name || len(f.Regs) != w.n || f.Regs[0].Name != w.first {
			t.Errorf("feature %d: %s with %d registers from %s, want %s/%d/%s", i, f.Name, len(f.Regs), f.Regs[0].Name, w.name, w.n, w.first)
		}
		for _, r := range f.Regs {
			// Every described register answers 'p' with exactly its size.
			if got := c.ask(fmt.Sprintf("p%x", n)); len(got) != r.Bitsize/4 {
				t.Errorf("p%x (%s): %d hex digits, want %d", n, r.Name, len(got), r.Bitsize/4)
			}
			n++
		}
	}
	if got := c.ask(fmt.Sprintf("qXfer:features:read:target.xml:%x,10", len(targetXML))); got != "l" {
		t.Errorf("read past the end: %q", got)
	}
}

// TestRunControl: step, breakpoints (swbreak/hwbreak reasons), vCont,
// and the exit report when the demo guest powers off.
func TestRunControl(t *testing.T) {
	m := newDemo(t)
	c := connect(t, m)
	c.ask("qSupported:swbreak+;hwbreak+")
	entry := m.Regs().EIP

	if got := c.ask("s"); got != "T05thread:1;" {
		t.Fatalf("s: %q", got)
	}
	step1 := m.Regs().EIP
	if step1 == entry {
		t.Fatal("s did not move eip")
	}
	if got := c.ask("vCont;s:1;c"); got != "T05thread:1;" {
		t.Fatalf("vCont;s: %q", got)
	}
	step2 := m.Regs().EIP
	if step2 == step1 {
		t.Fatal("vCont;s did not move eip")
	}
	// S/C carry a signal gdb wants delivered; a Guest kernel has none,
	// so S05 is a plain step, and ";ADDR" still moves eip.
	if got := c.ask("S05"); got != "T05thread:1;" {
		t.Fatalf("S05: %q", got)
	}
	if got := c.ask(fmt.Sprintf("S05;%x", entry)); got != "T05thread:1;" || m.Regs().EIP != step1 {
		t.Fatalf("S05;ADDR: %q, eip %#x want %#x", got, m.Regs().EIP, step1)
	}
	if got := c.ask("S05;zz"); got != "E01" {
		t.Errorf("S05;zz: %q", got)
	}
	if got := c.ask("vCont;t:1"); got != "T02thread:1;" {
		t.Errorf("vCont;t: %q", got)
	}
	// Restart at the entry with an "s ADDR" address argument.
	if got := c.ask(fmt.Sprintf("s%x", entry)); got != "T05thread:1;" {
		t.Fatalf("s ADDR: %q", got)
	}
	if got := m.Regs().EIP; got != step1 {
		t.Errorf("s %#x: eip %#x, want %#x", entry, got, step1)
	}

	// Z0 and Z1 at later instructions; c stops at each with its reason.
	if got := c.ask(fmt.Sprintf("Z0,%x,1", step2)); got != "OK" {
		t.Fatal(got)
	}
	if got := c.ask("c"); got != "T05swbreak:;thread:1;" {
		t.Fatalf("c to Z0: %q", got)
	}
	if got := m.Regs().EIP; got != step2 {
		t.Fatalf("stopped at %#x, want %#x", got, step2)
	}
	// '?' reports the real last stop, not a fixed reply.
	if got := c.ask("?"); got != "T05swbreak:;thread:1;" {
		t.Errorf("? at the Z0 stop: %q, want the breakpoint's reply", got)
	}
	if got := c.ask(fmt.Sprintf("z0,%x,1", step2)); got != "OK" {
		t.Fatal(got)
	}
	// Restart at the entry with vCont;c after a Z1 on step1.
	if got := c.ask(fmt.Sprintf("Z1,%x,1", step1)); got != "OK" {
		t.Fatal(got)
	}
	c.ask("P8=" + le(entry))
	if got := c.ask("vCont;c"); got != "T05hwbreak:;thread:1;" {
		t.Fatalf("vCont;c to Z1: %q", got)
	}
	if got := c.ask(fmt.Sprintf("z1,%x,1", step1)); got != "OK" {
		t.Fatal(got)
	}

	// Run to the end: the demo guest powers off.
	r, out := c.cmd("c")
	if r != "W00" {
		t.Fatalf("c to power-off: %q (console %q)", r, out)
	}
	if !strings.Contains(out, "the Guest is dead: power-off") {
		t.Errorf("exit console message: %q", out)
	}
	// The corpse stays inspectable; resuming reports the exit again.
	if got := c.ask("?"); got != "T05thread:1;" {
		t.Errorf("? after power-off: %q", got)
	}
	if got := c.ask("g"); len(got) != 128 {
		t.Errorf("g after power-off: %q", got)
	}
	if r, _ := c.cmd("s"); r != "W00" {
		t.Errorf("s after power-off: %q", r)
	}
}

// loopAt plants "jmp ." at the entry so the guest runs until stopped.
func loopAt(t *testing.T, m *hv.Machine) uint32 {
	t.Helper()
	eip := m.Regs().EIP
	if err := m.WriteVirt(eip, []byte{0xeb, 0xfe}); err != nil {
		t.Fatal(err)
	}
	return eip
}

// TestCtrlC: 0x03 while the guest runs pauses it and reports T02.
func TestCtrlC(t *testing.T) {
	m := newDemo(t)
	loop := loopAt(t, m)
	c := connect(t, m)
	c.sendPacket("c")
	c.expectAck('+')
	c.quiet() // it keeps running
	if !m.Running() {
		t.Fatal("guest not running after c")
	}
	c.write("\x03")
	if got := c.recv(); got != "T02thread:1;" {
		t.Fatalf("after Ctrl-C: %q", got)
	}
	if m.Running() || m.Regs().EIP != loop {
		t.Errorf("after Ctrl-C: running %v eip %#x", m.Running(), m.Regs().EIP)
	}
	// vCtrlC works too, and stray packets while running are refused.
	c.sendPacket("c")
	c.expectAck('+')
	if got := c.ask("g"); got != "E01" {
		t.Errorf("g while running: %q", got)
	}
	if got := c.ask("vCtrlC"); got != "OK" {
		t.Errorf("vCtrlC: %q", got)
	}
	if got := c.recv(); got != "T02thread:1;" {
		t.Errorf("stop after vCtrlC: %q", got)
	}
}

// TestWatchpoints: the demo guest's first loop clears memory; watch it.
func TestWatchpoints(t *testing.T) {
	m := newDemo(t)
	c := connect(t, m)
	// The entry code is "cld; mov $bss,%edi; ...; rep stos": find the
	// first store's target from edi after two steps instead of
	// hard-coding the guest's layout.
	c.ask("s")
	c.ask("s")
	dst := m.Regs().GPR[7] // edi
	tests := []struct {
		z    string
		want string
	}{
		{"Z2", fmt.Sprintf("T05watch:%x;thread:1;", dst)},
		{"Z4", fmt.Sprintf("T05awatch:%x;thread:1;", dst)},
	}
	for _, tt := range tests {
		// Restart the store loop from the same point each time.
		snap := c.ask("g")
		if got := c.ask(fmt.Sprintf("%s,%x,4", tt.z, dst)); got != "OK" {
			t.Fatalf("%s: %q", tt.z, got)
		}
		if got, out := c.cmd("c"); got != tt.want {
			t.Errorf("%s: c -> %q (console %q), want %q", tt.z, got, out, tt.want)
		}
		if got := c.ask(fmt.Sprintf("z%s,%x,4", tt.z[1:], dst)); got != "OK" {
			t.Fatalf("z%s: %q", tt.z[1:], got)
		}
		c.ask("G" + snap)
		m.WriteVirt(dst, []byte{1, 2, 3, 4}) // undo the cleared bytes: irrelevant to the next store
	}
}

func TestWatchReason(t *testing.T) {
	ss := &session{watches: map[watchKey]bool{
		{addr: 0x1000, n: 4, kind: 2}: true,
		{addr: 0x2000, n: 4, kind: 3}: true,
		{addr: 0x3000, n: 4, kind: 4}: true,
		{addr: 0x5000, n: 4, kind: 2}: true,
		{addr: 0x5000, n: 4, kind: 4}: true,
	}}
	tests := []struct {
		addr uint32
		hit  cpu.WatchKind
		want string
	}{
		{0x1000, cpu.WatchWrite, "watch:1000;"},
		{0x2000, cpu.WatchRead, "rwatch:2000;"},
		{0x3000, cpu.WatchWrite, "awatch:3000;"},
		{0x3000, cpu.WatchRead, "awatch:3000;"},
		{0x5000, cpu.WatchWrite, "watch:5000;"},  // the write watch wins
		{0x5000, cpu.WatchRead, "awatch:5000;"},  // only the access one matches
		{0x4000, cpu.WatchWrite, "awatch:4000;"}, // set by someone else
	}
	for _, tt := range tests {
		x := cpu.Exit{Reason: cpu.ExitWatchpoint, WatchAddr: tt.addr, WatchHit: tt.addr, WatchKind: tt.hit}
		if got := ss.watchReason(x); got != tt.want {
			t.Errorf("%#x hit %d: %q, want %q", tt.addr, tt.hit, got, tt.want)
		}
	}
}

// TestAckProtocol: NAKs, bad checksums, no-ack mode, oversized packets,
// noise between packets.
func TestAckProtocol(t *testing.T) {
	c := connect(t, newDemo(t))

	// A bad checksum is NAKed and nothing else happens.
	c.write("$qC#00")
	c.expectAck('-')
	c.quiet()
	// Noise and acks between packets are ignored.
	c.write("+++garbage\r\n")
	if got := c.ask("qC"); got != "QC1" {
		t.Fatalf("after noise: %q", got)
	}
	// A NAK from gdb makes the stub resend its last packet.
	c.write("-")
	if it := c.next(); it.payload != "QC1" {
		t.Fatalf("retransmission: %+v", it)
	}
	c.write("+")
	// An oversized packet is acked and refused; the session goes on.
	c.write(string(frame(bytes.Repeat([]byte("m"), MaxPacket+100))))
	c.expectAck('+')
	if got := c.recv(); got != "E01" {
		t.Fatalf("oversized: %q", got)
	}
	// A frame abandoned half-way is superseded by the next '$'.
	c.write("$qfThr")
	if got := c.ask("qC"); got != "QC1" {
		t.Fatalf("after an abandoned frame: %q", got)
	}
	// No-ack mode: the QStartNoAckMode packet itself is acked, then none.
	if got := c.ask("QStartNoAckMode"); got != "OK" {
		t.Fatal(got)
	}
	c.noAck = true
	if got := c.ask("qC"); got != "QC1" {
		t.Fatalf("no-ack qC: %q", got)
	}
	c.write("$qC#00") // a bad checksum is dropped silently now
	c.quiet()
	c.write("-") // and NAKs mean nothing
	c.quiet()
	if got := c.ask("qfThreadInfo"); got != "m1" {
		t.Fatalf("no-ack after junk: %q", got)
	}
}

func TestMonitorOverRcmd(t *testing.T) {
	m := newDemo(t)
	c := connect(t, m)
	r, out := c.cmd("qRcmd," + hexOf("help"))
	if r != "OK" || !strings.Contains(out, "walk ADDR") {
		t.Errorf("monitor help: %q %q", r, out)
	}
	r, out = c.cmd("qRcmd," + hexOf("linear"))
	if r != "OK" || !strings.HasPrefix(out, "linear_pages: ON") {
		t.Errorf("monitor linear: %q %q", r, out)
	}
	r, out = c.cmd("qRcmd," + hexOf("phys 0x100000 4000"))
	if r != "OK" || strings.Count(out, "\n") != 4000/16 {
		t.Errorf("monitor phys 4000: %q, %d lines", r, strings.Count(out, "\n"))
	}
	if got := c.ask("qRcmd,zz"); got != "E01" {
		t.Errorf("qRcmd bad hex: %q", got)
	}
}

// TestSessionEnds: detach resumes, kill leaves the guest paused, a hang-up
// leaves it running and removes the session's breakpoints.
func TestSessionEnds(t *testing.T) {
	t.Run("detach", func(t *testing.T) {
		m := newDemo(t)
		c := connect(t, m)
		entry := m.Regs().EIP
		c.ask(fmt.Sprintf("Z0,%x,1", entry+1)) // would stop the run if left behind
		if got := c.ask("D"); got != "OK" {
			t.Fatalf("D: %q", got)
		}
		c.hungUp()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		st, err := m.WaitStop(ctx)
		if err != nil || st.Reason != hv.StopPowerOff {
			t.Errorf("after detach the guest should run to power-off: %v %v", st, err)
		}
	})
	t.Run("kill", func(t *testing.T) {
		m := newDemo(t)
		c := connect(t, m)
		c.sendPacket("k")
		c.expectAck('+')
		c.hungUp()
		if m.Running() || m.LastStop().Reason.Terminal() {
			t.Errorf("after k: running %v, last stop %v", m.Running(), m.LastStop())
		}
	})
	t.Run("vKill", func(t *testing.T) {
		m := newDemo(t)
		c := connect(t, m)
		if got := c.ask("vKill;1"); got != "OK" {
			t.Fatalf("vKill: %q", got)
		}
		c.hungUp()
		if m.Running() || m.LastStop().Reason.Terminal() {
			t.Errorf("after vKill: running %v, last stop %v", m.Running(), m.LastStop())
		}
	})
	t.Run("C continues", func(t *testing.T) {
		m := newDemo(t)
		c := connect(t, m)
		if r, _ := c.cmd("C09"); r != "W00" {
			t.Errorf("C09 to power-off: %q", r)
		}
	})
	t.Run("hangup while running", func(t *testing.T) {
		m := newDemo(t)
		loop := loopAt(t, m)
		c := connect(t, m)
		c.ask(fmt.Sprintf("Z0,%x,1", loop)) // the loop passes here every instruction
		c.ask("z0," + fmt.Sprintf("%x", loop) + ",1")
		c.ask(fmt.Sprintf("Z0,%x,1", loop+0x100)) // never reached
		c.sendPacket("c")
		c.expectAck('+')
		c.conn.Close()
		<-c.done
		if !m.Running() {
			t.Fatal("hang-up stopped the guest")
		}
		// A new session pauses it (as QEMU's connect does).
		c2 := connect(t, m)
		if got := c2.ask("?"); got != "T05thread:1;" {
			t.Errorf("second session ?: %q", got)
		}
		if m.Running() {
			t.Error("connecting did not pause the guest")
		}
	})
	t.Run("breakpoints removed", func(t *testing.T) {
		// The guest passes its second instruction right away; a
		// breakpoint there left behind by a dead session would stop it.
		second := mustStep(t, newDemo(t)).EIP
		m := newDemo(t)
		c := connect(t, m)
		if got := c.ask(fmt.Sprintf("Z0,%x,1", second)); got != "OK" {
			t.Fatal(got)
		}
		c.conn.Close()
		<-c.done
		m.Resume()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if st, err := m.WaitStop(ctx); err != nil || st.Reason != hv.StopPowerOff {
			t.Errorf("after the session ended the guest should run to power-off: %v %v", st, err)
		}
	})
}

// TestOneSessionAtATime: over TCP, a second gdb is refused while one is
// attached; after the first leaves, a new one is served.
func TestOneSessionAtATime(t *testing.T) {
	m := newDemo(t)
	addr, _ := serveTCP(t, m)
	dial := func() net.Conn {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
	roundTrip := func(conn net.Conn, payload, want string) {
		t.Helper()
		conn.SetDeadline(time.Now().Add(wait))
		if _, err := conn.Write(frame([]byte(payload))); err != nil {
			t.Fatal(err)
		}
		exp := "+" + string(frame([]byte(want)))
		buf := make([]byte, len(exp))
		if _, err := ioReadFull(conn, buf); err != nil || string(buf) != exp {
			t.Fatalf("%s: got %q (%v), want %q", payload, buf, err, exp)
		}
		conn.Write([]byte("+"))
	}
	first := dial()
	roundTrip(first, "qC", "QC1")
	second := dial()
	// Refused with a reason, as the reply to its first packet.
	roundTrip(second, "qC", busyMessage)
	second.SetReadDeadline(time.Now().Add(wait))
	if n, err := second.Read(make([]byte, 1)); err == nil {
		t.Errorf("second session was served (%d more bytes)", n)
	}
	second.Close()
	first.Close()
	// The first session's goroutine needs a moment to notice the hang-up.
	deadline := time.Now().Add(wait)
	for {
		third := dial()
		third.SetDeadline(time.Now().Add(wait))
		third.Write(frame([]byte("qC")))
		buf := make([]byte, 1)
		_, err := third.Read(buf)
		if err == nil {
			rest := make([]byte, len(frame([]byte("QC1"))))
			ioReadFull(third, rest)
			if strings.HasPrefix(string(rest), "$E.") {
				// Still refused: the first session has not ended yet.
				third.Close()
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if buf[0] != '+' || string(rest) != string(frame([]byte("QC1"))) {
				t.Errorf("third session: %q%q", buf, rest)
			}
			third.Close()
			return
		}
		third.Close()
		if time.Now().After(deadline) {
			t.Fatal("no session served after the first ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ioReadFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := c.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func TestListenDefaultsToLoopback(t *testing.T) {
	ln, err := Listen(":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Errorf("Listen(\":0\") bound %v", ip)
	}
	if _, err := Listen("no-port"); err == nil {
		t.Error("Listen(no-port): no error")
	}
}

func TestServeStopsWithContext(t *testing.T) {
	m := newDemo(t)
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, m, Options{}) }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write(frame([]byte("qC")))
	conn.SetReadDeadline(time.Now().Add(wait))
	if _, err := conn.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Serve did not return after cancel with a session open")
	}
}

// TestPhysMemMode: QEMU's Qqemu.PhyMemMode switches m/M to guest-physical
// addresses; the Host's pages above the Guest's memory read but never
// write.
func TestPhysMemMode(t *testing.T) {
	m := newDemo(t)
	c := connect(t, m)
	if got := c.ask("qqemu.Supported"); !strings.Contains(got, "PhyMemMode") {
		t.Errorf("qqemu.Supported = %q", got)
	}
	if got := c.ask("qqemu.PhyMemMode"); got != "0" {
		t.Errorf("mode before = %q", got)
	}
	root := m.DebugRegs().ShadowCR3
	if got := c.ask(fmt.Sprintf("m%x,4", root)); got != "E14" {
		t.Errorf("virtual read of the shadow root's address: %q, want E14 (above guest RAM)", got)
	}
	for _, tt := range []struct{ send, want string }{
		{"Qqemu.PhyMemMode:2", "E01"},
		{"Qqemu.PhyMemMode:1", "OK"},
		{"qqemu.PhyMemMode", "1"},
	} {
		if got := c.ask(tt.send); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.send, got, tt.want)
		}
	}
	want := make([]byte, 8)
	if err := m.ReadPhys(root, want); err != nil {
		t.Fatal(err)
	}
	if got := c.ask(fmt.Sprintf("m%x,8", root)); got != hex.EncodeToString(want) {
		t.Errorf("physical read of the shadow root = %s, want %x", got, want)
	}
	if got := c.ask(fmt.Sprintf("M%x,1:00", root)); got != "E14" {
		t.Errorf("physical write to the Host's shadow page = %q, want E14", got)
	}
	if got := c.ask("M3000,2:beef"); got != "OK" {
		t.Errorf("physical write to guest RAM = %q", got)
	}
	b := make([]byte, 2)
	if err := m.ReadPhys(0x3000, b); err != nil || b[0] != 0xbe || b[1] != 0xef {
		t.Errorf("guest RAM after the write: % x %v", b, err)
	}
	if got := c.ask("Qqemu.PhyMemMode:0"); got != "OK" {
		t.Errorf("back to virtual: %q", got)
	}
	if got := c.ask(fmt.Sprintf("m%x,4", root)); got != "E14" {
		t.Errorf("virtual again: %q", got)
	}
}

// mustStep steps m one instruction, failing the test if it cannot.
func mustStep(t testing.TB, m *hv.Machine) hv.Stop {
	t.Helper()
	s, err := m.Step()
	if err != nil {
		t.Fatalf("step: %v", err)
	}
	return s
}
