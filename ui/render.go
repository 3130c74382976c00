package ui

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/cpu"
	"github.com/lgdbg/lgdbg/hv/pgtable"
	"github.com/rivo/tview"
)

// The panes are plain text with tview colour tags, produced by the pure
// functions in this file from Machine snapshots, so they can be tested
// without a screen. Red means "changed" or "differs" throughout, as in
// Bochs' debugger GUI and gdb's TUI register window.
const (
	tagChanged = "[red::b]"
	tagOff     = "[-:-:-]"
	tagDim     = "[gray]"
	tagLabel   = "[yellow]"
	tagFake    = "[yellow]"
	tagPC      = "[green::b]"
	tagBP      = "[red::b]"
)

// regsWidth is the registers pane's inner width: four "eax 00000000"
// columns.
const regsWidth = 51

// renderRegs shows the registers, marking in red what differs from prev
// (the registers at the previous stop, so a step shows what it changed).
func renderRegs(cur, prev hv.Regs, havePrev bool) string {
	var sb strings.Builder
	hex := func(name string, v, old uint32, digits int) {
		tag := ""
		if havePrev && v != old {
			tag = tagChanged
		}
		fmt.Fprintf(&sb, "%s %s%0*x%s", name, tag, digits, v, endTag(tag))
	}
	for row := 0; row < 2; row++ {
		for col := 0; col < 4; col++ {
			i := row*4 + col
			if col > 0 {
				sb.WriteByte(' ')
			}
			hex(regNames[i], cur.GPR[i], prev.GPR[i], 8)
		}
		sb.WriteByte('\n')
	}
	hex("eip", cur.EIP, prev.EIP, 8)
	sb.WriteByte(' ')
	hex("eflags", cur.EFLAGS, prev.EFLAGS, 8)
	fmt.Fprintf(&sb, " cpl %d ", cur.CPL)
	hex("cr2", cur.CR2, prev.CR2, 8)
	sb.WriteByte('\n')
	sb.WriteString(renderFlags(cur.EFLAGS, prev.EFLAGS, havePrev))
	sb.WriteByte('\n')
	for i, n := range segNames {
		if i > 0 {
			sb.WriteByte(' ')
		}
		hex(n, uint32(cur.Seg[i].Sel), uint32(prev.Seg[i].Sel), 4)
	}
	sb.WriteByte('\n')
	hex("cr3", cur.CR3, prev.CR3, 8)
	sb.WriteString(" ")
	hex("shadow cr3", cur.ShadowCR3, prev.ShadowCR3, 8)
	return sb.String()
}

var segNames = [...]string{"es", "cs", "ss", "ds", "fs", "gs"}

var flagBits = []struct {
	name string
	bit  uint32
}{
	{"CF", cpu.FlagCF}, {"PF", cpu.FlagPF}, {"AF", cpu.FlagAF}, {"ZF", cpu.FlagZF},
	{"SF", cpu.FlagSF}, {"TF", cpu.FlagTF}, {"IF", cpu.FlagIF}, {"DF", cpu.FlagDF},
	{"OF", cpu.FlagOF}, {"NT", cpu.FlagNT}, {"RF", cpu.FlagRF}, {"AC", cpu.FlagAC},
}

// renderFlags lists every flag: set ones bright, clear ones dim and in
// lower case, and the ones that changed in red either way.
func renderFlags(cur, prev uint32, havePrev bool) string {
	var parts []string
	for _, f := range flagBits {
		set := cur&f.bit != 0
		name := f.name
		if !set {
			name = strings.ToLower(name)
		}
		switch {
		case havePrev && (cur^prev)&f.bit != 0:
			name = tagChanged + name + tagOff
		case !set:
			name = tagDim + name + tagOff
		}
		parts = append(parts, name)
	}
	iopl := (cur & cpu.FlagIOPL) >> 12
	return strings.Join(parts, " ") + fmt.Sprintf(" iopl %d", iopl)
}

func endTag(open string) string {
	if open == "" {
		return ""
	}
	return tagOff
}

// Three-row block letters for the linear_pages indicator: the one fact a
// kernel developer watching the handoff must not miss (spec §7.8: the
// first NEW_PGTABLE clears linear_pages and the fake 1:1 mapping is gone).
var bigFont = map[rune][3]string{
	'O': {"█▀▀█", "█  █", "▀▀▀▀"},
	'N': {"█▄ █", "█ ▀█", "▀  ▀"},
	'F': {"█▀▀▀", "█▀▀ ", "▀   "},
}

// bigOFFWidth is the width of the widest word the indicator shows.
var bigOFFWidth = utf8.RuneCountInString(bigText("OFF")[0])

func bigText(s string) [3]string {
	var rows [3]string
	for i, r := range s {
		g := bigFont[r]
		for row := range rows {
			if i > 0 {
				rows[row] += " "
			}
			rows[row] += g[row]
		}
	}
	return rows
}

// linearState is what the indicator shows.
type linearState struct {
	on       bool
	offAt    uint64 // icount of the linear-off event
	haveOff  bool
	gpgdir   uint32
	slot     int
	haveSlot bool
}

func renderLinear(s linearState, width int) string {
	word, color := "OFF", "[red::b]"
	if s.on {
		word, color = "ON", "[lime::b]"
	}
	text := []string{color + "linear_pages " + word + tagOff}
	switch {
	case s.on:
		text = append(text, "fake 1:1 mapping (no NEW_PGTABLE yet)")
	case s.haveOff:
		text = append(text, fmt.Sprintf("off at icount %d", s.offAt))
	default:
		text = append(text, "off (event no longer in the ring)")
	}
	if s.haveSlot {
		text = append(text, fmt.Sprintf("slot %d guest pgdir %08x", s.slot, s.gpgdir))
	}
	big := bigText(word)
	bigW := utf8.RuneCountInString(big[0])
	textW := 0
	for _, t := range text {
		textW = max(textW, utf8.RuneCountInString(stripTags(t)))
	}
	var lines []string
	switch {
	case width >= bigOFFWidth+2+textW:
		// Letters on the left, the facts beside them.
		for i, row := range big {
			// Pad to the width of "OFF" so the facts do not jump sideways
			// when the flag flips.
			l := color + row + tagOff + strings.Repeat(" ", max(0, bigOFFWidth-bigW)+2)
			if i < len(text) {
				l += text[i]
			}
			lines = append(lines, l)
		}
	case width >= bigW:
		lines = append(lines, text[0])
		for _, row := range big {
			lines = append(lines, color+row+tagOff)
		}
		lines = append(lines, text[1:]...)
	default:
		lines = text
	}
	return strings.Join(lines, "\n")
}

// renderHost adds what the Host knows beyond the registers under the
// indicator: where lguest_data is (LGUEST_INIT, spec §3.3.2, §4), the pending
// interrupts and the clock.
func renderHost(h hv.HostState) string {
	data := tagDim + "no LGUEST_INIT yet" + tagOff
	if h.HaveLguestData {
		data = fmt.Sprintf("lguest_data %08x kernel_address %08x", h.LguestData, h.KernelAddress)
	}
	timer := "timer off"
	if h.TimerArmed {
		timer = fmt.Sprintf("timer in %d ns", int64(h.TimerDeadline-h.Now))
	}
	state := ""
	if h.Halted {
		state = " halted"
	}
	if h.Dead {
		state = " " + tagChanged + "dead" + tagOff
	}
	return fmt.Sprintf("%s\nirqs pending %08x %s%s", data, h.IrqsPending, timer, state)
}

// renderWalk shows the guest walk and the shadow walk of one address level
// by level, side by side when the pane is wide enough and stacked
// otherwise, with what differs in red and linear_pages fakes in yellow.
func renderWalk(w hv.Walks, pae bool, width int) string {
	g, s := w.Guest, w.Shadow
	rawW := 8
	if pae {
		rawW = 16
	}
	n := max(len(g.Levels), len(s.Levels))
	type cell struct{ text, plain string }
	lvl := func(ls []pgtable.Level, i int) (pgtable.Level, bool) {
		if i < len(ls) {
			return ls[i], true
		}
		return pgtable.Level{}, false
	}
	mkCell := func(l pgtable.Level, ok bool, other pgtable.Level, otherOK bool, fake bool) cell {
		if !ok {
			return cell{tagDim + "-" + tagOff, "-"}
		}
		// Only the leaf's frame must agree: gpte_to_spte keeps the
		// Guest's frame (guest RAM is Host memory at the same address,
		// spec §7.4), while the shadow's directories live in the Host's
		// own pool and always differ from the Guest's (spec §7.5).
		rawTag := ""
		if fake {
			rawTag = tagFake
		} else if otherOK && l.Kind == pgtable.LevelPTE && frameOf(l.Raw, pae) != frameOf(other.Raw, pae) {
			rawTag = tagChanged
		}
		plain := fmt.Sprintf("%0*x", rawW, l.Raw)
		text := rawTag + plain + endTag(rawTag)
		otherFlags := map[string]bool{}
		for _, f := range strings.Fields(other.Flags) {
			otherFlags[f] = true
		}
		for _, f := range strings.Fields(l.Flags) {
			plain += " " + f
			if otherOK && !otherFlags[f] {
				text += " " + tagChanged + f + tagOff
			} else {
				text += " " + f
			}
		}
		if !l.Present {
			plain += " (not present)"
			text += " " + tagChanged + "(not present)" + tagOff
		}
		return cell{text, plain}
	}
	names := make([]string, n)
	gc := make([]cell, n)
	sc := make([]cell, n)
	for i := range n {
		gl, gok := lvl(g.Levels, i)
		sl, sok := lvl(s.Levels, i)
		l := gl
		if !gok {
			l = sl
		}
		names[i] = fmt.Sprintf("%s[%d]", l.Kind, l.Index)
		gc[i] = mkCell(gl, gok, sl, sok, g.Linear)
		sc[i] = mkCell(sl, sok, gl, gok, false)
	}
	pa := func(wk pgtable.Walk, other pgtable.Walk) cell {
		if !wk.Mapped {
			return cell{tagDim + "unmapped" + tagOff, "unmapped"}
		}
		p := fmt.Sprintf("%08x", wk.PA)
		if other.Mapped && other.PA != wk.PA {
			return cell{tagChanged + p + tagOff, p}
		}
		return cell{p, p}
	}
	names = append(names, "PA")
	gc = append(gc, pa(g, s))
	sc = append(sc, pa(s, g))

	gHead := "guest pgdir"
	if g.Linear {
		gHead = tagFake + "guest: linear_pages FAKE entries" + tagOff
	} else if w.Linear {
		gHead = tagFake + "guest: linear_pages" + tagOff
	}
	sHead := fmt.Sprintf("shadow slot %d", w.Slot)

	// The address itself is in the pane's title.
	var sb strings.Builder
	const nameW = 10
	leftW := len("guest: linear_pages FAKE entries")
	for _, c := range gc {
		leftW = max(leftW, utf8.RuneCountInString(c.plain))
	}
	rightW := len(sHead)
	for _, c := range sc {
		rightW = max(rightW, utf8.RuneCountInString(c.plain))
	}
	pad := func(c cell, w int) string {
		return c.text + strings.Repeat(" ", max(0, w-utf8.RuneCountInString(c.plain)))
	}
	if nameW+leftW+3+rightW <= width {
		fmt.Fprintf(&sb, "%-*s%s │ %s\n", nameW, "", pad(cell{gHead, stripTags(gHead)}, leftW), sHead)
		for i := range names {
			fmt.Fprintf(&sb, "%-*s%s │ %s\n", nameW, names[i], pad(gc[i], leftW), sc[i].text)
		}
	} else {
		fmt.Fprintf(&sb, "g = %s, s = %s\n", gHead, sHead)
		for i := range names {
			fmt.Fprintf(&sb, "%-*sg %s\n%-*ss %s\n", nameW, names[i], gc[i].text, nameW, "", sc[i].text)
		}
	}
	if g.Note != "" {
		fmt.Fprintf(&sb, "guest: %s\n", tview.Escape(g.Note))
	}
	if s.Note != "" {
		fmt.Fprintf(&sb, "shadow: %s\n", tview.Escape(s.Note))
	}
	return strings.TrimRight(sb.String(), "\n")
}

// walkLines is how many rows renderWalk needs, so the layout can size the
// pane before drawing.
func walkLines(text string) int { return strings.Count(text, "\n") + 1 }

func frameOf(raw uint64, pae bool) uint64 {
	if pae {
		return raw & 0x000F_FFFF_FFFF_F000
	}
	return raw & 0xFFFF_F000
}

// stripTags removes the colour tags this file writes, for width sums.
func stripTags(s string) string {
	var sb strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			sb.WriteString(s)
			break
		}
		sb.WriteString(s[:i])
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			sb.WriteString(s[i:])
			break
		}
		s = s[i+j+1:]
	}
	return sb.String()
}

// renderHex dumps memory as "addr  bytes  ascii", perLine bytes a row;
// unreadable bytes show as "??" so an unmapped page is obvious.
func renderHex(base uint32, data []byte, ok []bool, perLine int) string {
	var sb strings.Builder
	for off := 0; off < len(data); off += perLine {
		if off > 0 {
			sb.WriteByte('\n')
		}
		fmt.Fprintf(&sb, "%08x ", base+uint32(off))
		var ascii strings.Builder
		for i := off; i < off+perLine && i < len(data); i++ {
			if !ok[i] {
				sb.WriteString(" " + tagDim + "??" + tagOff)
				ascii.WriteByte(' ')
				continue
			}
			fmt.Fprintf(&sb, " %02x", data[i])
			c := data[i]
			if c < 0x20 || c >= 0x7f {
				c = '.'
			}
			ascii.WriteByte(c)
		}
		sb.WriteString("  " + tview.Escape(ascii.String()))
	}
	return sb.String()
}

// hexPerLine picks how many bytes fit a row of the memory pane: "addr",
// then three columns and one ASCII column per byte.
func hexPerLine(width int) int {
	for _, n := range []int{16, 8, 4} {
		if 9+3*n+2+n <= width {
			return n
		}
	}
	return 4
}

// sanitizeConsole makes Guest output safe to show: newlines and tabs
// stay, other control characters and invalid UTF-8 become '.', so a
// Guest printing garbage (the CPU bug case) cannot corrupt the screen.
func sanitizeConsole(s string) string {
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			sb.WriteRune(r)
		case r == '\r':
		case r == utf8.RuneError || !unicode.IsPrint(r):
			sb.WriteByte('.')
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// hcallLine renders one hypercall for the log: icount, name, arguments,
// and the Host's decoding of what it did.
func hcallLine(e hv.Event) string {
	return fmt.Sprintf("%10d %s", e.ICount, sanitizeConsole(strings.TrimPrefix(e.String(), "hcall ")))
}

func eventLine(e hv.Event) string {
	return fmt.Sprintf("%10d %s", e.ICount, sanitizeConsole(e.String()))
}
