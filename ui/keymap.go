package ui

import (
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/rivo/tview"
)

// keySpec is one key: a rune (key == tcell.KeyRune) or a special key.
type keySpec struct {
	key tcell.Key
	r   rune
}

func runeKey(r rune) keySpec { return keySpec{tcell.KeyRune, r} }

// Scopes: where a binding applies. Global bindings work in every pane
// except the console, which sends typed keys to the Guest (see
// consoleKeys); pane bindings only while that pane has the focus.
const (
	scopeGlobal  = ""
	scopeDisasm  = "Disassembly"
	scopeMemory  = "Memory"
	scopeLog     = "Hypercalls and Events"
	scopeConsole = "Console"
)

// binding is one row of the keymap. The help overlay is generated from
// the same table the key dispatcher reads, so the two cannot disagree
// (the approach of lazygit and k9s).
type binding struct {
	keys  []keySpec
	label string // the keys as the help shows them
	scope string
	help  string
	act   func(a *app, ev *tcell.EventKey)
}

// keymap is built once; dispatch and help both read it.
var keymap = []binding{
	{keys: []keySpec{runeKey('c')}, label: "c", help: "continue the guest", act: (*app).cmdContinue},
	{keys: []keySpec{runeKey('p'), {tcell.KeyCtrlC, 0}}, label: "p  Ctrl-C", help: "pause the guest", act: (*app).cmdPause},
	{keys: []keySpec{runeKey('s'), runeKey('i')}, label: "s  i", help: "step one instruction (stepi)", act: (*app).cmdStep},
	{keys: []keySpec{runeKey('w')}, label: "w", help: "set the walk address (:walk ADDR)", act: func(a *app, _ *tcell.EventKey) { a.openPrompt(":", "walk ") }},
	{keys: []keySpec{runeKey('g')}, label: "g", help: "go to an address in the memory pane (:x ADDR; in a log pane: travel to before its line)", act: func(a *app, _ *tcell.EventKey) { a.openPrompt(":", "x ") }},
	{keys: []keySpec{runeKey('n')}, label: "n", help: "next: step over a call (in a log pane: next match)", act: (*app).cmdNext},
	{keys: []keySpec{runeKey('f')}, label: "f", help: "finish: run until the current function returns", act: (*app).cmdFinish},
	{keys: []keySpec{runeKey('u')}, label: "u", help: "run to the disassembly cursor (:advance)", act: (*app).cmdRunToCursor},
	{keys: []keySpec{runeKey('b')}, label: "b", help: "toggle a breakpoint at the disassembly cursor", act: (*app).cmdToggleBreak},
	{keys: []keySpec{runeKey('B')}, label: "B", help: "the breakpoint list (:info break)", act: func(a *app, _ *tcell.EventKey) { a.cmdInfo("break") }},
	{keys: []keySpec{runeKey('o')}, label: "o", help: "go to a symbol or address in the disassembly (:disas; Tab completes)", act: func(a *app, _ *tcell.EventKey) { a.openPrompt(":", "disas ") }},
	{keys: []keySpec{runeKey('z')}, label: "z", help: "zoom: maximize the focused pane, again to restore", act: (*app).cmdZoom},
	{keys: []keySpec{runeKey('/')}, label: "/", help: "search a log (the focused one, else Hypercalls); n N in it", act: (*app).logSearchPrompt},
	{keys: []keySpec{{tcell.KeyTab, 0}, {tcell.KeyBacktab, 0}}, label: "Tab  S-Tab", help: "focus the next / previous pane", act: (*app).cmdCycleFocus},
	{keys: digitKeys(), label: "1-7", help: "focus pane N (numbers are in the pane titles)", act: func(a *app, ev *tcell.EventKey) { a.focusPane(pane(ev.Rune() - '1')) }},
	{keys: []keySpec{runeKey('?')}, label: "?", help: "this help (Esc or ? closes it)", act: func(a *app, _ *tcell.EventKey) { a.showOverlay(helpTitle, a.helpStr) }},
	{keys: []keySpec{runeKey(':')}, label: ":", help: "command line (commands below; Esc cancels)", act: func(a *app, _ *tcell.EventKey) { a.openPrompt(":", "") }},
	{keys: []keySpec{runeKey('q')}, label: "q", help: "quit (the guest is paused, not killed)", act: func(a *app, _ *tcell.EventKey) { a.quit() }},

	{keys: []keySpec{{tcell.KeyUp, 0}, {tcell.KeyDown, 0}, runeKey('k'), runeKey('j')}, label: "Up Down j k", scope: scopeDisasm, help: "move the cursor one instruction", act: (*app).disasmMove},
	{keys: []keySpec{{tcell.KeyPgUp, 0}, {tcell.KeyPgDn, 0}}, label: "PgUp PgDn", scope: scopeDisasm, help: "move the cursor one screen", act: (*app).disasmMove},
	{keys: []keySpec{runeKey('.')}, label: ".", scope: scopeDisasm, help: "back to EIP (follow it again)", act: (*app).disasmMove},
	{keys: []keySpec{{tcell.KeyUp, 0}, {tcell.KeyDown, 0}, runeKey('k'), runeKey('j')}, label: "Up Down j k", scope: scopeLog, help: "select the previous / next line (shown in full)", act: (*app).logMove},
	{keys: []keySpec{{tcell.KeyPgUp, 0}, {tcell.KeyPgDn, 0}, {tcell.KeyHome, 0}, {tcell.KeyEnd, 0}}, label: "PgUp PgDn Home End", scope: scopeLog, help: "one screen; the oldest line; the newest (and follow it)", act: (*app).logMove},
	{keys: []keySpec{runeKey('n'), runeKey('N')}, label: "n  N", scope: scopeLog, help: "next / previous match", act: (*app).logFind},
	{keys: []keySpec{{tcell.KeyEnter, 0}}, label: "Enter", scope: scopeLog, help: "expand the line, jump the walk, memory, code to it; again: travel to just before it", act: (*app).logEnter},
	{keys: []keySpec{runeKey('g')}, label: "g", scope: scopeLog, help: "travel in time to just before the line's event at once (needs history)", act: (*app).logTravel},
	{keys: []keySpec{{tcell.KeyEscape, 0}}, label: "Esc", scope: scopeLog, help: "fold the expanded line (Enter again folds it when history is off)", act: (*app).logFold},
	{keys: []keySpec{{tcell.KeyUp, 0}, {tcell.KeyDown, 0}, runeKey('k'), runeKey('j')}, label: "Up Down j k", scope: scopeMemory, help: "scroll one line", act: (*app).memMove},
	{keys: []keySpec{{tcell.KeyPgUp, 0}, {tcell.KeyPgDn, 0}}, label: "PgUp PgDn", scope: scopeMemory, help: "scroll one screen", act: (*app).memMove},
}

// consoleHelp documents the console pane, whose keys are not bindings.
var consoleHelp = [][2]string{
	{"any key", "typed into the guest console (TryConsoleInput)"},
	{"Tab  S-Tab", "leave the console: next / previous pane"},
	{"Esc", "leave the console for the disassembly"},
	{"Ctrl-C", "pause the guest"},
}

func digitKeys() []keySpec {
	var ks []keySpec
	for r := '1'; r < '1'+rune(numPanes); r++ {
		ks = append(ks, runeKey(r))
	}
	return ks
}

func (k keySpec) matches(ev *tcell.EventKey) bool {
	if k.key == tcell.KeyRune {
		return ev.Key() == tcell.KeyRune && ev.Rune() == k.r && ev.Modifiers()&(tcell.ModAlt|tcell.ModCtrl) == 0
	}
	return ev.Key() == k.key
}

// lookupKey finds the binding for ev in scope; pane bindings win over
// global ones.
func lookupKey(ev *tcell.EventKey, scope string) (binding, bool) {
	if scope != scopeGlobal {
		if b, ok := findKey(ev, scope); ok {
			return b, true
		}
	}
	return findKey(ev, scopeGlobal)
}

func findKey(ev *tcell.EventKey, scope string) (binding, bool) {
	for _, b := range keymap {
		if b.scope != scope {
			continue
		}
		for _, k := range b.keys {
			if k.matches(ev) {
				return b, true
			}
		}
	}
	return binding{}, false
}

// helpText renders the keymap for the overlay.
func helpText() string {
	var sb strings.Builder
	sb.WriteString("[::b]lgdbg keys[::-]  (gdb TUI single-key style)\n")
	section := func(title string) {
		fmt.Fprintf(&sb, "\n[yellow]%s[-]\n", title)
	}
	row := func(keys, help string) {
		fmt.Fprintf(&sb, "  %-18s %s\n", tview.Escape(keys), tview.Escape(help))
	}
	for _, scope := range []string{scopeGlobal, scopeDisasm, scopeLog, scopeMemory} {
		if scope == scopeGlobal {
			section("Everywhere but the console")
		} else {
			section("In the " + scope + " pane" + map[bool]string{true: "s"}[scope == scopeLog])
		}
		for _, b := range keymap {
			if b.scope == scope {
				row(b.label, b.help)
			}
		}
	}
	section("In the Console pane")
	for _, r := range consoleHelp {
		row(r[0], r[1])
	}
	section("Commands after :")
	width := 0
	for _, c := range commands {
		usage, _, _ := strings.Cut(c.usage, "  ")
		width = max(width, len(usage))
	}
	for _, c := range commands {
		usage, what, _ := strings.Cut(c.usage, "  ")
		pad := strings.Repeat(" ", width-len(usage))
		// Long explanations (the until words) wrap under themselves.
		for i, l := range event.WrapWords(strings.TrimSpace(what), 72) {
			if i > 0 {
				usage, pad = "", strings.Repeat(" ", width)
			}
			fmt.Fprintf(&sb, "  %s%s  %s\n", tview.Escape(usage), pad, tview.Escape(l))
		}
	}
	section("Addresses")
	row("", "hex numbers (0x optional), symbols, registers ($esp), sums: start_kernel+0x10")
	row("", "mouse: click a pane to focus it")
	return sb.String()
}
