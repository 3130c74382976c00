package ui

import (
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// Pane 2, Disassembly.

func (a *app) cursorAddr() uint32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.v.disasmFollow {
		return a.cur.EIP
	}
	return a.v.disasmCursor
}

func (a *app) renderDisasm() {
	s := a.snap
	if s == nil {
		return
	}
	tv := a.panes[paneDisasm]
	_, _, w, h := tv.GetInnerRect()
	if h <= 0 {
		h = 20
	}
	a.mu.Lock()
	a.v.disasmRows = h
	a.mu.Unlock()
	cursor := a.cursorAddr()
	a.listing = disassemble(s.code, cursor, h/3, h, a.syntax, a.syms)
	tv.SetText(renderListing(a.listing, listingMarks{eip: s.regs.EIP, cursor: cursor, bps: a.bps, focused: tv.HasFocus(), wide: w >= 60}))
	title := " 2 Disassembly "
	if n := a.syms.display(cursor); n != "" {
		title = fmt.Sprintf(" 2 Disassembly %s ", n)
	}
	tv.SetTitle(title)
}

// listingMarks is what the disassembly marks beside the code.
type listingMarks struct {
	eip, cursor uint32
	bps         map[uint32]bool
	focused     bool // the cursor shows only while the pane has focus
	wide        bool // room for the instruction bytes
}

// renderListing draws the disassembly: labels, the breakpoint and EIP
// gutter, addresses, bytes when wide, and the cursor in reverse video.
func renderListing(listing []asmLine, mk listingMarks) string {
	var sb strings.Builder
	for i, l := range listing {
		if l.label != "" {
			fmt.Fprintf(&sb, "%s%s:%s\n", tagLabel, tview.Escape(l.label), tagOff)
		}
		gutter := "   "
		switch {
		case mk.bps[l.addr] && l.addr == mk.eip:
			gutter = tagBP + "B" + tagOff + tagPC + "=>" + tagOff
		case mk.bps[l.addr]:
			gutter = tagBP + "B  " + tagOff
		case l.addr == mk.eip:
			gutter = " " + tagPC + "=>" + tagOff
		}
		line := fmt.Sprintf("%08x ", l.addr)
		if mk.wide && l.mapped {
			line += hexBytes(l.bytes, 21) + " "
		}
		line += tview.Escape(l.text)
		if mk.focused && l.addr == mk.cursor {
			line = "[::r]" + line + "[::-]"
		}
		sb.WriteString(gutter + line)
		if i < len(listing)-1 {
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

func (a *app) disasmMove(ev *tcell.EventKey) {
	_, _, _, h := a.panes[paneDisasm].GetInnerRect()
	if ev.Key() == tcell.KeyRune && ev.Rune() == '.' {
		a.followEIP()
		a.renderDisasm()
		a.refreshNow()
		return
	}
	cur := a.cursorAddr()
	idx := -1
	for i, l := range a.listing {
		if l.addr == cur {
			idx = i
		}
	}
	if idx < 0 || len(a.listing) == 0 {
		return
	}
	step := 1
	switch {
	case ev.Key() == tcell.KeyUp || ev.Rune() == 'k':
		step = -1
	case ev.Key() == tcell.KeyPgUp:
		step = -max(1, h-1)
	case ev.Key() == tcell.KeyPgDn:
		step = max(1, h-1)
	}
	idx = max(0, min(len(a.listing)-1, idx+step))
	a.mu.Lock()
	a.v.disasmFollow = false
	a.v.disasmCursor = a.listing[idx].addr
	a.mu.Unlock()
	a.renderDisasm()
	a.refreshNow()
}
