package ui

import (
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// The layout: widgets, the small-terminal arrangement, focus and help.

// build creates the widgets and the layout:
//
//	+-- 1 Registers --------+-- linear_pages ---------+
//	+-- 2 Disassembly ------+-- 3 Hypercalls ---------+
//	+-- 4 Walk (guest | shadow) ----------------------+
//	+-- 5 Memory ------+-- 6 Events ----+-- 7 Console +
//	status line
//	message / command line
func (a *app) build() {
	for i := range a.panes {
		tv := tview.NewTextView()
		tv.SetBorder(true).SetTitle(fmt.Sprintf(" %d %s ", i+1, paneNames[i])).SetTitleAlign(tview.AlignLeft)
		a.panes[i] = tv
	}
	for _, p := range []pane{paneRegs, paneDisasm, paneWalk, paneMemory} {
		// Scrollable, because a non-scrollable TextView shows the
		// last lines; these are rebuilt each refresh and read from the top.
		a.panes[p].SetDynamicColors(true).SetWrap(false).SetScrollable(true)
	}
	for _, p := range []pane{paneHcalls, paneEvents, paneConsole} {
		// Guest-controlled text: no colour tags are interpreted.
		a.panes[p].SetDynamicColors(false).SetMaxLines(maxLogLines).SetScrollable(true)
		a.panes[p].ScrollToEnd()
	}
	a.panes[paneHcalls].SetWrap(false)
	a.panes[paneEvents].SetWrap(false)
	a.panes[paneConsole].SetWrap(true)

	// Scrollable so that it shows its first lines (the flag) when the
	// host lines do not fit.
	a.linearTV = tview.NewTextView().SetDynamicColors(true).SetScrollable(true)
	a.linearTV.SetBorder(true).SetTitle(" linear_pages ").SetTitleAlign(tview.AlignLeft)

	a.status = tview.NewTextView().SetDynamicColors(true)
	a.msg = tview.NewTextView().SetDynamicColors(true)
	a.prompt = tview.NewInputField()
	a.prompt.SetFieldBackgroundColor(tcell.ColorDefault)
	a.prompt.SetDoneFunc(a.promptDone)
	a.bottom = tview.NewPages().
		AddPage("msg", a.msg, true, true).
		AddPage("prompt", a.prompt, true, false)

	top := tview.NewFlex().
		AddItem(a.panes[paneRegs], regsWidth+2, 0, false).
		AddItem(a.linearTV, 0, 1, false)
	a.side = tview.NewPages().AddPage(paneNames[paneHcalls], a.panes[paneHcalls], true, true)
	mid := tview.NewFlex().
		AddItem(a.panes[paneDisasm], 0, 3, true).
		AddItem(a.side, 0, 2, false)
	bot := tview.NewFlex()
	a.bot = bot
	a.fillBottom()
	a.main = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(top, 8, 0, false).
		AddItem(mid, 0, 3, true).
		AddItem(a.panes[paneWalk], 7, 0, false).
		AddItem(bot, 0, 2, false).
		AddItem(a.status, 1, 0, false).
		AddItem(a.bottom, 1, 0, false)

	a.helpStr = helpText()
	a.help = tview.NewTextView().SetDynamicColors(true).SetText(a.helpStr)
	a.help.SetBorder(true).SetTitle(" help: ? or Esc closes, arrows scroll ").SetTitleAlign(tview.AlignLeft)
	a.helpRow = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(nil, 0, 1, false).
		AddItem(a.help, 10, 0, true).
		AddItem(nil, 0, 1, false)
	a.helpBox = tview.NewFlex().
		AddItem(nil, 0, 1, false).
		AddItem(a.helpRow, 10, 0, true).
		AddItem(nil, 0, 1, false)

	a.root = tview.NewPages().
		AddPage("main", a.main, true, true).
		AddPage("help", a.helpBox, true, false)
	a.tv.SetRoot(a.root, true).SetFocus(a.panes[paneDisasm])
	a.tv.SetInputCapture(a.onKey)
	a.tv.SetBeforeDrawFunc(a.beforeDraw)
	if a.opts.AfterDraw != nil {
		a.tv.SetAfterDrawFunc(a.opts.AfterDraw)
	}
	a.status.SetText("starting")
}

// beforeDraw replaces the layout by a plain message on a terminal too
// small for it, and sizes the help overlay to the screen.
func (a *app) beforeDraw(screen tcell.Screen) bool {
	w, h := screen.Size()
	a.screenH = h
	if (h < smallHeight) != a.small {
		// The layout cannot change here: draw holds the application's
		// lock, which SetFocus and friends take. The next refresh
		// switches it.
		a.refreshNow()
	}
	if w < MinWidth || h < MinHeight {
		drawTooSmall(screen, w, h)
		if a.opts.AfterDraw != nil {
			a.opts.AfterDraw(screen) // tview skips it when we draw instead
		}
		return true
	}
	if a.helpOn {
		text := a.help.GetText(true)
		lines := strings.Count(text, "\n") + 3
		width := 0
		for _, l := range strings.Split(text, "\n") {
			width = max(width, len([]rune(l)))
		}
		a.helpBox.ResizeItem(a.helpRow, min(w-2, width+4), 0)
		a.helpRow.ResizeItem(a.help, min(h-2, lines), 0)
	}
	return false
}

// smallHeight is the terminal height below which the bottom row would be
// too short to read: its panes then take turns in the slot beside the
// disassembly (the one focused last is shown).
const smallHeight = 34

var bottomPanes = []struct {
	p      pane
	weight int
}{{paneMemory, 4}, {paneEvents, 3}, {paneConsole, 3}}

func (a *app) fillBottom() {
	for _, b := range bottomPanes {
		a.bot.AddItem(a.panes[b.p], 0, b.weight, false)
	}
}

// setSmall moves the bottom row's panes into the side slot and back. A
// primitive lives in one container at a time, so that its rectangle (and
// with it mouse focus) is always the one on screen.
func (a *app) setSmall(small bool) {
	a.small = small
	if small {
		for _, b := range bottomPanes {
			a.bot.RemoveItem(a.panes[b.p])
			a.side.AddPage(paneNames[b.p], a.panes[b.p], true, false)
		}
		a.main.ResizeItem(a.bot, 0, 0)
		if p, ok := a.focusedPane(); ok && a.side.HasPage(paneNames[p]) {
			a.side.SwitchToPage(paneNames[p])
		} else {
			a.side.SwitchToPage(paneNames[paneHcalls])
		}
		return
	}
	for _, b := range bottomPanes {
		a.side.RemovePage(paneNames[b.p])
	}
	a.fillBottom()
	a.main.ResizeItem(a.bot, 0, 2)
	a.side.SwitchToPage(paneNames[paneHcalls])
}

// drawTooSmall word-wraps TooSmallMessage into whatever space there is.
func drawTooSmall(screen tcell.Screen, w, h int) {
	if w <= 0 || h <= 0 {
		return
	}
	msg := fmt.Sprintf("%s; this one is %dx%d", TooSmallMessage, w, h)
	var lines []string
	line := ""
	for _, word := range strings.Fields(msg) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) <= w:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	lines = append(lines, line)
	top := max(0, (h-len(lines))/2)
	style := tcell.StyleDefault.Foreground(tcell.ColorYellow).Bold(true)
	for i, l := range lines {
		if top+i >= h {
			break
		}
		x := max(0, (w-len(l))/2)
		for j, r := range l {
			if x+j >= w {
				break
			}
			screen.SetContent(x+j, top+i, r, nil, style)
		}
	}
}

func (a *app) focusedPane() (pane, bool) {
	f := a.tv.GetFocus()
	for i, p := range a.panes {
		if p == f {
			return pane(i), true
		}
	}
	return 0, false
}

func (a *app) focusPane(p pane) {
	if p < 0 || p >= numPanes {
		return
	}
	if a.side.HasPage(paneNames[p]) {
		a.side.SwitchToPage(paneNames[p])
	}
	a.tv.SetFocus(a.panes[p])
	a.renderDisasm() // the cursor shows only while focused
	a.renderStatus()
}

func (a *app) cmdCycleFocus(ev *tcell.EventKey) {
	p, ok := a.focusedPane()
	if !ok {
		p = paneDisasm
	}
	if ev.Key() == tcell.KeyBacktab {
		p = (p + numPanes - 1) % numPanes
	} else {
		p = (p + 1) % numPanes
	}
	a.focusPane(p)
}

func (a *app) showHelp(on bool) {
	a.helpOn = on
	if on {
		a.lastFoc = a.tv.GetFocus()
		a.root.ShowPage("help")
		a.tv.SetFocus(a.help)
		return
	}
	a.root.HidePage("help")
	if a.lastFoc != nil {
		a.tv.SetFocus(a.lastFoc)
	}
}
