package ui

import (
	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// Keys and the command prompt.

// onKey is the application-wide key handler: the help overlay and the
// prompt keep their keys, the console sends keys to the Guest, and
// everything else goes through the keymap.
func (a *app) onKey(ev *tcell.EventKey) *tcell.EventKey {
	if a.tooSmall {
		// Nothing acts unseen behind the "too small" message: only
		// quitting and pausing, which it does not hide, work.
		switch {
		case ev.Key() == tcell.KeyCtrlC:
			a.cmdPause(ev)
		case ev.Key() == tcell.KeyRune && ev.Rune() == 'q':
			a.quit()
		}
		return nil
	}
	if a.tv.GetFocus() != a.prompt {
		a.clearMsg() // a message answers the last key; the next one clears it
	}
	if a.helpOn {
		switch {
		case ev.Key() == tcell.KeyEscape, ev.Key() == tcell.KeyRune && (ev.Rune() == '?' || ev.Rune() == 'q'):
			a.showHelp(false)
			return nil
		case ev.Key() == tcell.KeyCtrlC:
			a.cmdPause(ev)
			return nil
		}
		return ev // let the help text scroll
	}
	if a.tv.GetFocus() == a.prompt {
		return ev
	}
	p, ok := a.focusedPane()
	if ok && p == paneConsole {
		return a.consoleKey(ev)
	}
	scope := scopeGlobal
	if ok {
		switch p {
		case paneDisasm:
			scope = scopeDisasm
		case paneMemory:
			scope = scopeMemory
		case paneHcalls, paneEvents:
			scope = scopeLog
		}
	}
	if b, found := lookupKey(ev, scope); found {
		b.act(a, ev)
		return nil
	}
	if ev.Key() == tcell.KeyCtrlC {
		return nil // never let tview's default Ctrl-C quit the UI
	}
	return ev
}

func (a *app) openPrompt(label, text string) {
	a.lastFoc = a.tv.GetFocus()
	a.prompt.SetLabel(label).SetText(text)
	a.bottom.SwitchToPage("prompt")
	a.tv.SetFocus(a.prompt)
}

func (a *app) closePrompt() {
	a.bottom.SwitchToPage("msg")
	if a.lastFoc != nil {
		a.tv.SetFocus(a.lastFoc)
	} else {
		a.focusPane(paneDisasm)
	}
}

func (a *app) promptDone(key tcell.Key) {
	switch key {
	case tcell.KeyEnter:
	case tcell.KeyEscape:
		a.closePrompt()
		return
	default:
		return // Tab and friends: keep editing
	}
	label, text := a.prompt.GetLabel(), a.prompt.GetText()
	a.closePrompt()
	if label == "/" {
		a.setSearch(a.search, text)
		return
	}
	if err := a.hist.add(text); err != nil {
		a.setMsg(true, err.Error())
	}
	if err := a.exec(text); err != nil {
		a.setMsg(true, err.Error())
	}
}

// onMouse ignores the mouse behind the "too small" message, as onKey
// ignores keys.
func (a *app) onMouse(ev *tcell.EventMouse, action tview.MouseAction) (*tcell.EventMouse, tview.MouseAction) {
	if a.tooSmall {
		return nil, action
	}
	return ev, action
}
