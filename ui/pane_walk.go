package ui

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/hcall"
	"github.com/lgdbg/lgdbg/hv/pgtable"
	"github.com/rivo/tview"
)

// Pane 4, Walk: one address through the guest and shadow tables.

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
		for _, f := range strings.Fields(hcall.EntryFlags(other.Raw, other.Kind == pgtable.LevelPTE, pae)) {
			otherFlags[f] = true
		}
		for _, f := range strings.Fields(hcall.EntryFlags(l.Raw, l.Kind == pgtable.LevelPTE, pae)) {
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
	if n := g.Note(); n != "" {
		fmt.Fprintf(&sb, "guest: %s\n", tview.Escape(n))
	}
	if n := s.Note(); n != "" {
		fmt.Fprintf(&sb, "shadow: %s\n", tview.Escape(n))
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

func (a *app) followNote() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.v.walkFollow {
		return " (EIP)"
	}
	return ""
}

// walkTitle names the walked address and, when the symbol table knows
// it, the symbol (":walk start_kernel" says so in the title).
func walkTitle(va uint32, sym, follow string) string {
	if sym != "" {
		return fmt.Sprintf(" 4 Walk %08x %s%s: guest | shadow ", va, sym, follow)
	}
	return fmt.Sprintf(" 4 Walk %08x%s: guest | shadow ", va, follow)
}
