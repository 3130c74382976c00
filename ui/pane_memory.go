package ui

import (
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// Pane 5, Memory.

func (a *app) renderMemory() {
	s := a.snap
	if s == nil {
		return
	}
	tv := a.panes[paneMemory]
	_, _, w, h := tv.GetInnerRect()
	per := hexPerLine(w)
	rows := max(h, 1)
	a.mu.Lock()
	a.v.memBytes = per * rows
	follow := a.v.memFollow
	a.mu.Unlock()
	n := min(len(s.mem.data), per*rows)
	text := renderHex(s.mem.base, s.mem.data[:n], s.mem.ok[:n], per)
	if note := unreadableNote(s.mem.ok[:n]); note != "" {
		text = note + "\n" + text
	}
	tv.SetText(text)
	alias := ""
	if s.memAliased {
		// A link address read at its load address: the Guest still
		// runs physical (hv/symbols).
		alias = fmt.Sprintf(" (read at load address %08x)", s.memAlias)
	}
	tv.SetTitle(memoryTitle(s.mem.base, follow, s.linear, alias))
}

// unreadableNote explains "??" above a dump that has some (issue 12:
// ":x 0xfffff000" showed them without saying why).
func unreadableNote(ok []bool) string {
	for _, k := range ok {
		if !k {
			return tagDim + "?? = unreadable: not mapped, or beyond guest memory" + tagOff
		}
	}
	return ""
}

// memoryTitle says what the dump is: a virtual address, through the
// Guest's page tables or 1:1 under linear_pages.
func memoryTitle(base uint32, follow, linear bool, alias string) string {
	note := ""
	if follow {
		note = " (ESP)"
	}
	note += alias
	space := " virtual"
	switch {
	case alias != "":
		space = "" // a link address read physically says so already
	case linear:
		space = " virt=phys"
	}
	return fmt.Sprintf(" 5 Memory %08x%s%s ", base, note, space)
}

func (a *app) memMove(ev *tcell.EventKey) {
	_, _, w, h := a.panes[paneMemory].GetInnerRect()
	per := uint32(hexPerLine(w))
	a.mu.Lock()
	if a.v.memFollow && a.snap != nil {
		a.v.memVA = a.snap.mem.base
	}
	a.v.memFollow = false
	switch {
	case ev.Key() == tcell.KeyUp || ev.Rune() == 'k':
		a.v.memVA -= per
	case ev.Key() == tcell.KeyDown || ev.Rune() == 'j':
		a.v.memVA += per
	case ev.Key() == tcell.KeyPgUp:
		a.v.memVA -= per * uint32(max(1, h))
	case ev.Key() == tcell.KeyPgDn:
		a.v.memVA += per * uint32(max(1, h))
	}
	a.mu.Unlock()
	a.refreshNow()
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
