package ui

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gdamore/tcell/v2"
)

// Pane 7, Console: the Guest's text, and keys typed to it.

// maxConsoleLines bounds the console pane (a boot prints a few thousand).
const maxConsoleLines = 20000

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

// consoleKey sends a key typed into the focused console to the Guest.
func (a *app) consoleKey(ev *tcell.EventKey) *tcell.EventKey {
	var b []byte
	switch k := ev.Key(); {
	case k == tcell.KeyTab || k == tcell.KeyBacktab:
		a.cmdCycleFocus(ev)
		return nil
	case k == tcell.KeyEscape:
		a.focusPane(paneDisasm)
		return nil
	case k == tcell.KeyCtrlC:
		a.cmdPause(ev)
		return nil
	case k == tcell.KeyRune && ev.Modifiers()&tcell.ModAlt != 0:
		// Esc followed quickly by a key reaches us as Alt-key: the
		// user left the console and pressed a UI key, which must not
		// leak into the Guest.
		a.focusPane(paneDisasm)
		return a.onKey(tcell.NewEventKey(tcell.KeyRune, ev.Rune(), tcell.ModNone))
	case k == tcell.KeyRune:
		b = []byte(string(ev.Rune()))
	case k == tcell.KeyEnter:
		b = []byte{'\n'}
	case k == tcell.KeyBackspace || k == tcell.KeyBackspace2:
		b = []byte{0x7f}
	case k >= tcell.KeyCtrlA && k <= tcell.KeyCtrlZ:
		b = []byte{byte(k)}
	default:
		return ev // arrows etc. scroll the console
	}
	if n := a.m.TryConsoleInput(b); n < len(b) {
		a.setMsg(true, "console input is full; the guest is not reading it")
	}
	return nil
}
