package ui

import (
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/rivo/tview"
)

// The layout: widgets, the small-terminal arrangement, focus and help.

// build creates the widgets; relayout arranges them:
//
//	+-- 1 Registers --+-- linear_pages --+ (wide: 5 Memory) ---+
//	+-- 2 Disassembly ---------+-- 3 Hypercalls ---------------+
//	+-- 4 Walk (guest | shadow) -------------------------------+
//	+-- (5 Memory) --+-- 6 Events ---------------+-- 7 Console +
//	handoff summary
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
	// The log panes are drawn whole by renderLog, which escapes the
	// Guest's text itself.
	a.panes[paneHcalls].SetDynamicColors(true).SetWrap(false).SetScrollable(false)
	a.panes[paneEvents].SetDynamicColors(true).SetWrap(false).SetScrollable(false)
	// Guest-controlled text: no colour tags are interpreted.
	a.panes[paneConsole].SetDynamicColors(false).SetMaxLines(maxConsoleLines).SetScrollable(true).SetWrap(true)
	a.panes[paneConsole].ScrollToEnd()

	// Scrollable so that it shows its first lines (the flag) when the
	// host lines do not fit.
	a.linearTV = tview.NewTextView().SetDynamicColors(true).SetScrollable(true)
	a.linearTV.SetBorder(true).SetTitle(" linear_pages ").SetTitleAlign(tview.AlignLeft)

	a.handoffTV = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	a.status = tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	a.msg = tview.NewTextView().SetDynamicColors(true).SetWrap(true)
	a.prompt = tview.NewInputField()
	a.prompt.SetFieldBackgroundColor(tcell.ColorDefault)
	a.prompt.SetDoneFunc(a.promptDone)
	a.prompt.SetInputCapture(a.promptKey)
	a.bottom = tview.NewPages().
		AddPage("msg", a.msg, true, true).
		AddPage("prompt", a.prompt, true, false)
	a.side = tview.NewPages()
	a.root = tview.NewPages()
	a.walkRows, a.msgRows = 7, 1
	a.relayout(layoutNormal, 120)

	a.helpStr = helpText()
	a.help = tview.NewTextView().SetDynamicColors(true).SetText(a.helpStr)
	a.help.SetBorder(true).SetTitle(helpTitle).SetTitleAlign(tview.AlignLeft)
	a.helpRow = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(nil, 0, 1, false).
		AddItem(a.help, 10, 0, true).
		AddItem(nil, 0, 1, false)
	a.helpBox = tview.NewFlex().
		AddItem(nil, 0, 1, false).
		AddItem(a.helpRow, 10, 0, true).
		AddItem(nil, 0, 1, false)

	a.root.AddPage("help", a.helpBox, true, false)
	a.tv.SetRoot(a.root, true).SetFocus(a.panes[paneDisasm])
	a.tv.SetInputCapture(a.onKey)
	a.tv.SetMouseCapture(a.onMouse)
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
	a.screenW, a.screenH = w, h
	a.tooSmall = w < MinWidth || h < MinHeight
	if a.wantLayout() != a.mode || (w >= wideWidth) != (a.layoutW >= wideWidth) {
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
// disassembly (the one focused last is shown, 5-7 or Tab switch).
const smallHeight = 34

// wideWidth is the width from which Memory moves up beside the
// registers, leaving the bottom row to Events and Console.
const wideWidth = 160

type layoutMode int

const (
	layoutNormal layoutMode = iota
	layoutSmall
	layoutZoom // the focused pane alone
)

// Widths sized to content: the disassembly with bytes (gutter, address,
// 21 byte columns, a 40-column instruction), the memory pane's 16 bytes a
// row, the compact linear_pages pane.
const (
	disasmWidth = 3 + 9 + 22 + 44 + 2
	memWidth    = 9 + 3*16 + 2 + 16 + 2
	linearWidth = 44 + 2
)

// relayout rebuilds the containers for mode at screen width w. Every
// container is new, so a primitive is always in exactly one of them, the
// one on screen (its rectangle, and with it mouse focus, is right).
func (a *app) relayout(mode layoutMode, w int) {
	a.mode, a.layoutW = mode, w
	wide := w >= wideWidth
	for _, name := range a.side.GetPageNames(false) {
		a.side.RemovePage(name)
	}
	bar := func(f *tview.Flex) *tview.Flex {
		return f.AddItem(a.handoffTV, 1, 0, false).
			AddItem(a.status, 1, 0, false).
			AddItem(a.bottom, a.msgRows, 0, false)
	}
	a.main = tview.NewFlex().SetDirection(tview.FlexRow)
	if mode == layoutZoom {
		var zp tview.Primitive = a.panes[a.zoomed]
		a.main.AddItem(zp, 0, 1, true)
		a.root.AddPage("main", bar(a.main), true, true).SendToBack("main")
		return
	}
	top := tview.NewFlex().AddItem(a.panes[paneRegs], regsWidth+2, 0, false)
	if wide {
		top.AddItem(a.linearTV, linearWidth, 0, false).AddItem(a.panes[paneMemory], 0, 1, false)
	} else {
		top.AddItem(a.linearTV, 0, 1, false)
	}
	a.side.AddPage(paneNames[paneHcalls], a.panes[paneHcalls], true, true)
	// The disassembly gets what its bytes and instructions need, the
	// hypercall log the rest.
	mid := tview.NewFlex().
		AddItem(a.panes[paneDisasm], min(disasmWidth, max(w/2, min(64, w*3/5))), 0, true).
		AddItem(a.side, 0, 1, false)
	a.main.AddItem(top, 8, 0, false).AddItem(mid, 0, 3, true)
	shared := []pane{paneEvents, paneConsole}
	if !wide {
		shared = []pane{paneMemory, paneEvents, paneConsole}
	}
	if mode == layoutSmall {
		// A short terminal: the walk too takes turns beside the
		// disassembly, which keeps enough rows to read.
		shared = append([]pane{paneWalk}, shared...)
	} else {
		a.main.AddItem(a.panes[paneWalk], a.walkRows, 0, false)
	}
	if mode == layoutSmall {
		for _, p := range shared {
			a.side.AddPage(paneNames[p], a.panes[p], true, false)
		}
		if p, ok := a.focusedPane(); ok && a.side.HasPage(paneNames[p]) {
			a.side.SwitchToPage(paneNames[p])
		} else {
			a.side.SwitchToPage(paneNames[paneHcalls])
		}
	} else {
		bot := tview.NewFlex()
		if !wide {
			bot.AddItem(a.panes[paneMemory], min(memWidth, max(w/3, 56)), 0, false)
		}
		bot.AddItem(a.panes[paneEvents], 0, 3, false).AddItem(a.panes[paneConsole], 0, 2, false)
		a.main.AddItem(bot, 0, 2, false)
	}
	a.root.AddPage("main", bar(a.main), true, true).SendToBack("main")
}

// wantLayout is the mode the screen size and the zoom key ask for.
func (a *app) wantLayout() layoutMode {
	switch {
	case a.zoomOn:
		return layoutZoom
	case a.screenH < smallHeight:
		return layoutSmall
	}
	return layoutNormal
}

// fixLayout rebuilds the layout when the screen or the zoom changed; not
// from a draw (which holds the application lock SetFocus takes).
func (a *app) fixLayout() {
	mode := a.wantLayout()
	wide := a.screenW >= wideWidth
	if mode != a.mode || wide != (a.layoutW >= wideWidth) || (mode == layoutZoom && a.zoomed != a.zoomedBuilt) {
		foc := a.tv.GetFocus()
		a.zoomedBuilt = a.zoomed
		a.relayout(mode, a.screenW)
		if foc != nil {
			a.tv.SetFocus(foc)
		}
	}
}

// cmdZoom maximizes the focused pane, or puts it back.
func (a *app) cmdZoom(*tcell.EventKey) {
	p, ok := a.focusedPane()
	if !ok {
		p = paneDisasm
	}
	a.zoomOn = !a.zoomOn || p != a.zoomed
	a.zoomed = p
	a.fixLayout()
	a.renderAll()
}

// drawTooSmall word-wraps TooSmallMessage into whatever space there is.
func drawTooSmall(screen tcell.Screen, w, h int) {
	if w <= 0 || h <= 0 {
		return
	}
	lines := event.WrapWords(fmt.Sprintf("%s; this one is %dx%d", TooSmallMessage, w, h), w)
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
	if a.zoomOn && a.zoomed != p {
		a.zoomed = p // the zoom follows the focus
		a.fixLayout()
	}
	a.tv.SetFocus(a.panes[p])
	a.renderDisasm() // the cursor shows only while focused
	a.renderStatus()
}

// reveal shows pane p without focusing it: on a short terminal it takes
// the slot beside the disassembly (":x ADDR" shows the dump it asked for).
func (a *app) reveal(p pane) {
	if a.side.HasPage(paneNames[p]) {
		a.side.SwitchToPage(paneNames[p])
	}
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

// showOverlay shows text in the help overlay's box (the breakpoint list,
// the devices), titled title; ? brings the help back.
func (a *app) showOverlay(title, text string) {
	a.help.SetTitle(title)
	a.help.SetText(text)
	a.showHelp(true)
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

const helpTitle = " help: ? or Esc closes, arrows scroll "
