package gdbstub

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/hcall"
	"github.com/lgdbg/lgdbg/hv/pgtable"
)

// The `monitor` commands (qRcmd): what the Host knows and gdb cannot see.
// Output goes back as 'O' packets followed by OK, as QEMU does; a bad
// argument is reported in the output (gdb turns an E reply to qRcmd into a
// bare "Protocol error", which helps nobody).

type monitorCmd struct {
	name  string
	args  string
	help  string
	run   func(m *hv.Machine, args []string) (string, error)
	alias []string
}

var monitorCmds []monitorCmd

func init() {
	monitorCmds = []monitorCmd{
		{name: "help", help: "this list", run: monHelp},
		{name: "walk", args: "ADDR [END|+N]", help: "guest and shadow page walks of a virtual address, side by side, and who last wrote each entry (guest entries: needs history); with END or +N pages, one line a page", run: monWalk},
		{name: "linear", help: "the Host's linear_pages flag", run: monLinear},
		{name: "v2p", args: "ADDR", help: "virtual to guest-physical, through the Guest's own tables", run: monV2P},
		{name: "phys", args: "[-b] ADDR [LEN]", help: "physical memory as 32-bit little-endian words, -b as bytes (LEN default 64, at most 4096)", run: monPhys},
		{name: "hcalls", args: "[N]", help: "the last N hypercalls, decoded (default 20)", run: monHcalls},
		{name: "events", args: "[N]", help: "the last N Host events (default 20)", run: monEvents},
		{name: "slots", help: "the shadow pgdir cache", run: monSlots},
		{name: "pgd", args: "[SLOT]", help: "every present top-level entry, guest next to shadow, differences marked", run: monPgd},
		{name: "devices", help: "the lguest bus: each device, its status and its queues", run: monDevices},
		{name: "host", help: "lguest_data, kernel_address, Switcher, interrupts, timer, TS, SET_STACK", run: monHost},
		{name: "regs", help: "what gdb's registers leave out: CPL, CR2, CR3, shadow CR3, segment caches, icount", run: monRegs},
		{name: "stop", help: "why the Guest last stopped", run: monStop},
	}
}

// rcmd handles qRcmd,HEX.
func (ss *session) rcmd(arg []byte) error {
	cmd, err := decodeHex(arg)
	if err != nil {
		return ss.send(replyBad)
	}
	var out string
	stop := ss.keepAlive(keepAliveEvery)
	if f := strings.Fields(string(cmd)); len(f) > 0 && f[0] == stopOnHelp.name {
		out = ss.monStopOn(f[1:])
	} else {
		// walk, history and goto may replay history for a long time:
		// the keep-alives above cover them
		out = runMonitor(ss.m, string(cmd))
	}
	stop()
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	if err := ss.sendConsole(out); err != nil {
		return err
	}
	return ss.send(replyOK)
}

// keepAliveEvery is how often a long monitor command tells gdb it is still
// working: under gdb's remote timeout (remotetimeout, 2 s by default).
var keepAliveEvery = 500 * time.Millisecond

// keepAlive sends an empty console packet ("O", which gdb prints as
// nothing) every interval until stop is called, so a monitor command that
// replays far (goto, history) never outlasts gdb's remote timeout: gdb
// would go on waiting but say "Ignoring packet error, continuing..." at
// each expiry. stop returns once the last keep-alive is written, so the
// command's own output follows it.
func (ss *session) keepAlive(every time.Duration) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				if ss.sendBytes([]byte{'O'}) != nil {
					return // the reply's send reports the broken connection
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// runMonitor runs one monitor command line and returns its output.
func runMonitor(m *hv.Machine, line string) string {
	f := strings.Fields(line)
	if len(f) == 0 {
		return monHelpText()
	}
	for _, c := range monitorCmds {
		if c.name == f[0] {
			out, err := c.run(m, f[1:])
			if err != nil {
				return fmt.Sprintf("monitor %s: %v\n", c.name, err)
			}
			return out
		}
	}
	return fmt.Sprintf("unknown monitor command %q; try \"monitor help\"\n", f[0])
}

func monHelp(*hv.Machine, []string) (string, error) { return monHelpText(), nil }

func monHelpText() string {
	var b strings.Builder
	b.WriteString("lgdbg monitor commands (addresses and lengths: C syntax, 0x for hex):\n")
	for _, c := range append(monitorCmds, stopOnHelp) {
		fmt.Fprintf(&b, "  %-18s %s\n", strings.TrimSpace(c.name+" "+c.args), c.help)
	}
	return b.String()
}

// parseNum parses a number as C would write it (0x.., 0.., decimal),
// bounded to 32 bits.
func parseNum(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return uint32(v), nil
}

func oneAddr(args []string) (uint32, error) {
	if len(args) != 1 {
		return 0, fmt.Errorf("want one address, got %d arguments", len(args))
	}
	return parseNum(args[0])
}

// optCount parses the optional N of hcalls/events.
func optCount(args []string, def int) (int, error) {
	switch len(args) {
	case 0:
		return def, nil
	case 1:
		n, err := parseNum(args[0])
		if err != nil {
			return 0, err
		}
		if n == 0 || n > 1<<16 {
			return 0, fmt.Errorf("count %d out of range 1..65536", n)
		}
		return int(n), nil
	}
	return 0, fmt.Errorf("want at most one count, got %d arguments", len(args))
}

func onOff(b bool) string {
	if b {
		return "ON"
	}
	return "off"
}

// monWalk shows the Guest's walk and the shadow walk of one address level
// by level (spec §7.3 demand_page walks the first and fills the second).
// Under linear_pages the guest column is the Host's fake walk, marked.
func monWalk(m *hv.Machine, args []string) (string, error) {
	if len(args) == 2 {
		return monWalkRange(m, args)
	}
	va, err := oneAddr(args)
	if err != nil {
		return "", err
	}
	w := m.Walk(va)
	entryW := 10
	if m.PAE() {
		entryW = 18
	}
	var b strings.Builder
	fmt.Fprintf(&b, "walk 0x%08x: linear_pages %s, shadow slot %d\n", va, onOff(w.Linear), w.Slot)
	fmt.Fprintf(&b, "%-5s %-5s | %-*s %-*s %-22s | %-*s %-*s %s\n", "level", "index",
		10, "guest @", entryW, "entry", "flags", 10, "shadow @", entryW, "entry", "flags")
	n := max(len(w.Guest.Levels), len(w.Shadow.Levels))
	for i := range n {
		name, idx := "", ""
		gcol := fmt.Sprintf("%-*s %-*s %-22s", 10, "-", entryW, "-", "")
		scol := "-"
		if i < len(w.Guest.Levels) {
			l := w.Guest.Levels[i]
			name, idx = l.Kind.String(), strconv.FormatUint(uint64(l.Index), 10)
			at := fmt.Sprintf("0x%08x", l.EntryAddr)
			if w.Guest.Linear {
				at = "(fake)"
			}
			gcol = fmt.Sprintf("%-10s 0x%0*x %-22s", at, entryW-2, l.Raw, flagsOrNP(l, m.PAE()))
		}
		if i < len(w.Shadow.Levels) {
			l := w.Shadow.Levels[i]
			name, idx = l.Kind.String(), strconv.FormatUint(uint64(l.Index), 10)
			scol = fmt.Sprintf("0x%08x 0x%0*x %s", l.EntryAddr, entryW-2, l.Raw, flagsOrNP(l, m.PAE()))
		}
		fmt.Fprintf(&b, "%-5s %-5s | %s | %s\n", name, idx, gcol, strings.TrimRight(scol, " "))
	}
	fmt.Fprintf(&b, "guest:  %s\n", walkResult(w.Guest))
	fmt.Fprintf(&b, "shadow: %s\n", walkResult(w.Shadow))
	// The event ring answers for recent writes; with history on, older
	// ones are found by replay (without it, the ring is all there is, and
	// its error says nothing the user asked about).
	var levels []string
	for _, l := range w.Shadow.Levels {
		levels = append(levels, l.Kind.String())
	}
	evs, found, _ := m.ShadowWritersInHistory(w.Slot, levels, va)
	for i, e := range evs {
		if found[i] {
			fmt.Fprintf(&b, "shadow %s written at icount %d: %s\n", levels[i], e.ICount, e.Why)
		}
	}
	guestWriters(&b, m, w, va)
	return b.String(), nil
}

// guestWriters adds the last writer of each guest entry of the walk: the
// Machine finds it by replaying history (hv.Machine.GuestWalkWriters), so
// it needs history on. Under linear_pages the entries are fakes no one
// wrote.
func guestWriters(b *strings.Builder, m *hv.Machine, w hv.Walks, va uint32) {
	if w.Guest.Linear || len(w.Guest.Levels) == 0 {
		return
	}
	lw, err := m.GuestWalkWriters(va)
	if err != nil {
		fmt.Fprintf(b, "guest entries' writers: %v\n", err)
		return
	}
	for _, l := range lw {
		if x := l.Writer; x.Found {
			fmt.Fprintf(b, "guest %s written at icount %d by %s\n", l.Level.Kind, x.ICount, x.By())
		} else {
			fmt.Fprintf(b, "guest %s: %s\n", l.Level.Kind, x.Note)
		}
	}
}

func flagsOrNP(l pgtable.Level, pae bool) string {
	if f := hcall.EntryFlags(l.Raw, l.Kind == pgtable.LevelPTE, pae); f != "" {
		return f
	}
	return "(none)"
}

func walkResult(w pgtable.Walk) string {
	s := "not mapped"
	if w.Mapped {
		s = fmt.Sprintf("-> 0x%08x", w.PA)
	}
	if w.Linear {
		s += " [linear_pages fake]"
	}
	if n := w.Note(); n != "" {
		s += " (" + n + ")"
	}
	return s
}

func monLinear(m *hv.Machine, args []string) (string, error) {
	if len(args) != 0 {
		return "", fmt.Errorf("takes no arguments")
	}
	if m.LinearPages() {
		return "linear_pages: ON (no NEW_PGTABLE yet: the Host maps the Guest 1:1 with fake entries, spec §7.8)\n", nil
	}
	return "linear_pages: off (the Guest's own page tables are shadowed, spec §7.8)\n", nil
}

func monV2P(m *hv.Machine, args []string) (string, error) {
	va, err := oneAddr(args)
	if err != nil {
		return "", err
	}
	pa, ok := m.VirtToPhys(va)
	if !ok {
		if la, ok := m.LoadAlias(va); ok {
			// gdb's m packets and x read this alias (hv.Machine.LoadAlias).
			return fmt.Sprintf("0x%08x: not mapped; linear_pages is on, so lgdbg reads and writes it at its load address 0x%08x\n", va, la), nil
		}
		return fmt.Sprintf("0x%08x: not mapped\n", va), nil
	}
	return fmt.Sprintf("0x%08x -> 0x%08x\n", va, pa), nil
}

// maxPhysDump bounds monitor phys: its output must stay a few packets.
const maxPhysDump = 4096

func monPhys(m *hv.Machine, args []string) (string, error) {
	bytesView := len(args) > 0 && args[0] == "-b"
	if bytesView {
		args = args[1:]
	}
	if len(args) < 1 || len(args) > 2 {
		return "", fmt.Errorf("want [-b] ADDR [LEN]")
	}
	pa, err := parseNum(args[0])
	if err != nil {
		return "", err
	}
	n := uint32(64)
	if len(args) == 2 {
		if n, err = parseNum(args[1]); err != nil {
			return "", err
		}
		if n == 0 || n > maxPhysDump {
			return "", fmt.Errorf("length %d out of range 1..%d", n, maxPhysDump)
		}
	}
	buf := make([]byte, n)
	if err := m.ReadPhys(pa, buf); err != nil {
		return "", err
	}
	if bytesView {
		return hexDump(pa, buf), nil
	}
	return wordDump(pa, buf), nil
}

// wordDump shows memory as the Guest's own 32-bit values, four a line, as
// gdb's x/4wx does: a page-table entry reads 0x01236067, not 67602301. A
// tail shorter than a word is shown as bytes.
func wordDump(addr uint32, b []byte) string {
	var s strings.Builder
	for off := 0; off < len(b); off += 16 {
		line := b[off:min(off+16, len(b))]
		fmt.Fprintf(&s, "%08x:", addr+uint32(off))
		for i := 0; i < len(line); i += 4 {
			if i+4 <= len(line) {
				fmt.Fprintf(&s, " 0x%08x", binary.LittleEndian.Uint32(line[i:]))
				continue
			}
			for _, c := range line[i:] {
				fmt.Fprintf(&s, " 0x%02x", c)
			}
		}
		s.WriteByte('\n')
	}
	return s.String()
}

// hexDump formats 16 bytes a line with an ASCII column, as xxd does.
func hexDump(addr uint32, b []byte) string {
	var s strings.Builder
	for off := 0; off < len(b); off += 16 {
		line := b[off:min(off+16, len(b))]
		fmt.Fprintf(&s, "%08x:", addr+uint32(off))
		for i := range 16 {
			if i%4 == 0 {
				s.WriteByte(' ')
			}
			if i < len(line) {
				fmt.Fprintf(&s, "%02x", line[i])
			} else {
				s.WriteString("  ")
			}
		}
		s.WriteString("  ")
		for _, c := range line {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			s.WriteByte(c)
		}
		s.WriteByte('\n')
	}
	return s.String()
}

// lastEvents returns up to n of the most recent events that keep accepts,
// oldest first. The ring can hold 64Ki events, so it is read backwards in
// growing windows rather than copied whole for a "last 20".
func lastEvents(m *hv.Machine, n int, keep func(hv.Event) bool) []hv.Event {
	_, next := m.Events(^uint64(0))
	var out []hv.Event
	for window := uint64(256); ; window *= 4 {
		from := next - min(window, next)
		evs, _ := m.Events(from)
		out = out[:0]
		for _, e := range evs {
			if e.Seq < next && keep(e) {
				out = append(out, e)
			}
		}
		// Done when enough matched, or the window reached the oldest
		// event kept (the ring returned fewer than asked for).
		if len(out) >= n || from == 0 || uint64(len(evs)) < next-from {
			break
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// decodeHcall renders a hypercall event with hv/hcall's decoder: flags,
// indices, queue names, reasons and times, then where the Guest made it.
func decodeHcall(m *hv.Machine, e hv.Event) string {
	d, _ := m.DecodeHcall(e)
	var b strings.Builder
	fmt.Fprintf(&b, "%-9d %s", e.ICount, d.String())
	if e.Async {
		b.WriteString(" [async ring]")
	}
	if e.EIP != 0 {
		fmt.Fprintf(&b, " @%#x%s", e.EIP, codeName(m, e.EIP))
	}
	return b.String()
}

func monHcalls(m *hv.Machine, args []string) (string, error) {
	n, err := optCount(args, 20)
	if err != nil {
		return "", err
	}
	evs := lastEvents(m, n, func(e hv.Event) bool { return e.Kind == event.Hypercall })
	if len(evs) == 0 {
		return "no hypercalls yet\n", nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-9s %s\n", "icount", "hypercall")
	for _, e := range evs {
		b.WriteString(decodeHcall(m, e) + "\n")
	}
	return b.String(), nil
}

func monEvents(m *hv.Machine, args []string) (string, error) {
	n, err := optCount(args, 20)
	if err != nil {
		return "", err
	}
	evs := lastEvents(m, n, func(hv.Event) bool { return true })
	if len(evs) == 0 {
		return "no events yet\n", nil
	}
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "#%-7d %-9d %s\n", e.Seq, e.ICount, e)
	}
	return b.String(), nil
}

func monSlots(m *hv.Machine, args []string) (string, error) {
	if len(args) != 0 {
		return "", fmt.Errorf("takes no arguments")
	}
	slots := m.ShadowSlots()
	sort.Slice(slots, func(i, j int) bool { return slots[i].Index < slots[j].Index })
	var b strings.Builder
	fmt.Fprintf(&b, "shadow pgdir cache (spec §7.7); linear_pages %s\n", onOff(m.LinearPages()))
	fmt.Fprintf(&b, "slot  %-10s %-12s %s\n", "guest pgd", "shadow root", "switcher")
	for _, s := range slots {
		if !s.Allocated {
			fmt.Fprintf(&b, "%-4d  (free)\n", s.Index)
			continue
		}
		cur := ""
		if s.Current {
			cur = "<- current (CR3)"
		}
		line := fmt.Sprintf("%-4d  0x%08x 0x%08x   %-9s %s", s.Index, s.GPgdir, s.ShadowRoot, yesNo(s.SwitcherMapped), cur)
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return b.String(), nil
}

func monDevices(m *hv.Machine, args []string) (string, error) {
	if len(args) != 0 {
		return "", fmt.Errorf("takes no arguments")
	}
	var b strings.Builder
	if m.ABI4x() {
		b.WriteString("virtio-PCI devices on bus 0 (4.x spec §4)\n")
		for _, d := range m.PCIDevices() {
			fmt.Fprintf(&b, "%02x.0 %-8s %04x:%04x  irq %d  BAR0 0x%08x+%d  status 0x%02x  running %s  features %#x / accepted %#x  %d queues\n",
				d.Slot, d.Name, d.Vendor, d.DeviceID, d.IRQ, d.BAR0, d.Size, d.Status, yesNo(d.Running), d.Features, d.Accepted, d.Queues)
		}
		return b.String(), nil
	}
	b.WriteString("lguest bus devices (spec §2.7)\n")
	for _, d := range m.Devices() {
		fmt.Fprintf(&b, "%-8s type %d  entry 0x%08x  status 0x%02x  running %s  features % x / accepted % x\n",
			d.Name, d.Type, d.Addr, d.Status, yesNo(d.Running), d.Offered, d.Accepted)
		for i, q := range d.Queues {
			fmt.Fprintf(&b, "  queue %d: %d entries, irq %d, ring 0x%08x, avail %d (flags %#x), used %d, host last_avail %d\n",
				i, q.Num, q.IRQ, q.PFN<<12, q.AvailIdx, q.AvailFlags, q.UsedIdx, q.LastAvail)
		}
	}
	return b.String(), nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func monHost(m *hv.Machine, args []string) (string, error) {
	if len(args) != 0 {
		return "", fmt.Errorf("takes no arguments")
	}
	snap := m.Snapshot(hv.View{}) // one instant: the host lines agree
	h, d := snap.Host, snap.Host
	var b strings.Builder
	if h.HaveLguestData {
		fmt.Fprintf(&b, "lguest_data     0x%08x (guest-physical, LGUEST_INIT spec §3.3.2)\n", h.LguestData)
		fmt.Fprintf(&b, "kernel_address  0x%08x\n", h.KernelAddress)
		fmt.Fprintf(&b, "noirq range     [0x%08x, 0x%08x)\n", d.NoirqStart, d.NoirqEnd)
	} else {
		b.WriteString("lguest_data     (none: LGUEST_INIT not called yet)\n")
	}
	fmt.Fprintf(&b, "switcher        0x%08x (pages at host-physical %#x %#x %#x)\n", h.SwitcherAddr, d.SwitcherPages[0], d.SwitcherPages[1], d.SwitcherPages[2])
	fmt.Fprintf(&b, "paging          %s, linear_pages %s\n", map[bool]string{false: "non-PAE", true: "PAE"}[snap.PAE], onOff(snap.Linear))
	fmt.Fprintf(&b, "irqs pending    0x%08x%s\n", h.IrqsPending, irqList(h.IrqsPending))
	fmt.Fprintf(&b, "halted          %s\n", yesNo(h.Halted))
	if h.TimerArmed {
		left := int64(h.TimerDeadline - h.Now)
		fmt.Fprintf(&b, "timer           armed: deadline %d ns (now %d, in %d ns)\n", h.TimerDeadline, h.Now, left)
	} else {
		fmt.Fprintf(&b, "timer           not armed (now %d ns)\n", h.Now)
	}
	fmt.Fprintf(&b, "TS              %s (lazy FPU, spec §5.9)\n", onOff(h.TS))
	fmt.Fprintf(&b, "SET_STACK       ss1 0x%04x esp1 0x%08x pages %d\n", h.SS1, h.ESP1, d.StackPages)
	fmt.Fprintf(&b, "last #PF cr2    0x%08x\n", d.LastPagefault)
	if h.Dead {
		fmt.Fprintf(&b, "DEAD            %s\n", h.DeathReason)
	}
	return b.String(), nil
}

func irqList(p uint32) string {
	if p == 0 {
		return ""
	}
	var l []string
	for i := range 32 {
		if p&(1<<i) != 0 {
			l = append(l, strconv.Itoa(i))
		}
	}
	return " (irq " + strings.Join(l, ",") + ")"
}

func monRegs(m *hv.Machine, args []string) (string, error) {
	if len(args) != 0 {
		return "", fmt.Errorf("takes no arguments")
	}
	r := m.Regs()
	var b strings.Builder
	fmt.Fprintf(&b, "cpl %d  icount %d\n", r.CPL, r.ICount)
	fmt.Fprintf(&b, "cr2 0x%08x  cr3 (guest) 0x%08x  cr3 (shadow) 0x%08x\n", r.CR2, r.CR3, r.ShadowCR3)
	for _, i := range gdbSegOrder {
		s := r.Seg[i]
		fmt.Fprintf(&b, "%s 0x%04x base 0x%08x limit 0x%08x access 0x%04x valid %s\n",
			[...]string{"es", "cs", "ss", "ds", "fs", "gs"}[i], s.Sel, s.Base, s.Limit, s.Access, yesNo(s.Valid))
	}
	return b.String(), nil
}

func monStop(m *hv.Machine, args []string) (string, error) {
	if len(args) != 0 {
		return "", fmt.Errorf("takes no arguments")
	}
	state := "stopped"
	if m.Running() {
		state = "running"
	}
	st := m.LastStop()
	return fmt.Sprintf("%s; last stop: %s%s\n", state, st, codeName(m, st.EIP)), nil
}

// codeName is " <sym+off>" or " <sym+off> (load address)" for where code
// runs, as the TUI shows it (hv/symbols); "" when nothing is known.
func codeName(m *hv.Machine, eip uint32) string {
	n, ok := m.Symbols().Code(eip)
	if !ok {
		return ""
	}
	s := " <" + n.Base() + ">"
	if n.Load {
		s += " (load address)"
	}
	return s
}
