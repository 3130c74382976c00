package ui

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/rivo/tview"
)

// The log panes (Hypercalls, Events): every line since icount 0, bounded
// by memory, with a selection, "/" search, n/N and Enter to expand and
// jump. A pane's text is rebuilt from its logBuf by renderLog, so what is
// drawn is a pure function of the buffer and the pane's size.

// maxLogLines bounds each log pane; past it the oldest quarter is dropped
// at once (so appending stays cheap) and the pane says how many went.
const maxLogLines = 1 << 18

// logLine is one line of a log pane and the event it came from.
type logLine struct {
	text string
	ev   hv.Event
}

// logBuf is one log pane's lines and view state; UI goroutine only.
type logBuf struct {
	lines    []logLine
	dropped  int  // lines dropped at maxLogLines
	lost     int  // events that left the Machine's ring before we read them
	sel      int  // the selected line; meaningful only when !follow
	follow   bool // the selection is the newest line, and stays so
	expanded bool // the selected line shows its details
	search   string
	// The match count for the title, recomputed only when the lines,
	// the selection or the search change.
	mkey         [4]int
	mnth, mtotal int
	mkeySearch   string
}

func newLogBuf() *logBuf { return &logBuf{follow: true} }

func (b *logBuf) add(l logLine) {
	if len(b.lines) >= maxLogLines {
		n := maxLogLines / 4
		b.lines = append(b.lines[:0:0], b.lines[n:]...)
		b.dropped += n
		b.sel = max(0, b.sel-n)
	}
	b.lines = append(b.lines, l)
}

// selected is the index of the selected line, or -1 for an empty log.
func (b *logBuf) selected() int {
	if len(b.lines) == 0 {
		return -1
	}
	if b.follow {
		return len(b.lines) - 1
	}
	return min(b.sel, len(b.lines)-1)
}

// move moves the selection by d lines; reaching the newest line follows
// the log again.
func (b *logBuf) move(d int) {
	i := b.selected()
	if i < 0 {
		return
	}
	b.setSel(i + d)
}

func (b *logBuf) setSel(i int) {
	i = max(0, min(len(b.lines)-1, i))
	b.sel, b.follow, b.expanded = i, i == len(b.lines)-1, false
}

// find selects the next (dir 1) or previous (dir -1) line containing the
// search text, wrapping around; false when no line does.
func (b *logBuf) find(dir int) bool {
	if b.search == "" || len(b.lines) == 0 {
		return false
	}
	needle := strings.ToLower(b.search)
	n := len(b.lines)
	start := b.selected()
	for k := 1; k <= n; k++ {
		i := ((start+dir*k)%n + n) % n
		if strings.Contains(strings.ToLower(b.lines[i].text), needle) {
			b.setSel(i)
			return true
		}
	}
	return false
}

// matches counts the lines containing the search text and says which of
// them the selection is (1-based; 0 when the selection is no match).
func (b *logBuf) matches() (nth, total int) {
	if b.search == "" {
		return 0, 0
	}
	key := [4]int{len(b.lines), b.dropped, b.selected(), 1}
	if key == b.mkey && b.search == b.mkeySearch {
		return b.mnth, b.mtotal
	}
	defer func() { b.mkey, b.mkeySearch, b.mnth, b.mtotal = key, b.search, nth, total }()
	needle := strings.ToLower(b.search)
	sel := b.selected()
	for i, l := range b.lines {
		if strings.Contains(strings.ToLower(l.text), needle) {
			total++
			if i == sel {
				nth = total
			}
		}
	}
	return nth, total
}

// renderLog draws the rows of a log pane height x width: the dropped-lines
// notice, then the lines around the selection, the selected one in
// reverse video and wrapped so it is readable in full, its details below
// it when expanded, and search matches highlighted.
func renderLog(b *logBuf, height, width int, detail func(hv.Event) []string) string {
	if height <= 0 {
		height = 10
	}
	width = max(width, 10)
	var head []string
	if b.dropped > 0 {
		head = append(head, fmt.Sprintf("%s... %d older events dropped (the pane keeps the last %d) ...%s", tagDim, b.dropped, maxLogLines, tagOff))
	}
	if b.lost > 0 {
		head = append(head, fmt.Sprintf("%s... %d events left the Machine's ring before the UI read them ...%s", tagDim, b.lost, tagOff))
	}
	if len(b.lines) == 0 {
		return strings.Join(append(head, tagDim+"(nothing yet)"+tagOff), "\n")
	}
	sel := b.selected()
	// The selected line's rows: wrapped to the width, then its details.
	selRows := wrapText(b.lines[sel].text, width)
	for i := range selRows {
		selRows[i] = "[::r]" + highlight(selRows[i], b.search) + "[::-]"
	}
	if b.expanded && detail != nil {
		for _, d := range detail(b.lines[sel].ev) {
			for _, r := range wrapText("    "+d, width) {
				selRows = append(selRows, tagLabel+tview.Escape(r)+tagOff)
			}
		}
	}
	room := max(1, height-len(head))
	selRows = selRows[:min(len(selRows), room)]
	// Put the selection near the bottom when following, else a third
	// of the way down, so there is context above it.
	above := room - len(selRows)
	if !b.follow {
		above = min(above, max(0, room/3))
	}
	above = min(above, sel)
	below := room - len(selRows) - above
	if n := len(b.lines) - 1 - sel; n < below {
		// Near the end: spend the spare rows above the selection.
		above = min(sel, above+below-n)
		below = n
	}
	rows := head
	for i := sel - above; i < sel; i++ {
		rows = append(rows, clipLine(b.lines[i].text, width, b.search))
	}
	rows = append(rows, selRows...)
	for i := sel + 1; i <= sel+below && i < len(b.lines); i++ {
		rows = append(rows, clipLine(b.lines[i].text, width, b.search))
	}
	return strings.Join(rows, "\n")
}

// clipLine fits an unselected line to the width, marking the cut.
func clipLine(s string, width int, search string) string {
	if utf8.RuneCountInString(s) > width {
		s = string([]rune(s)[:width-1]) + "»"
	}
	return highlight(s, search)
}

// wrapText cuts s into rows of at most width runes, at a space when one
// is near, continuation rows indented so they read as one line.
func wrapText(s string, width int) []string {
	r := []rune(s)
	if len(r) <= width {
		return []string{s}
	}
	const indent = "           "
	var out []string
	w, pre := width, ""
	for len(r) > w {
		n := w
		for i := w; i > w/2; i-- {
			if r[i] == ' ' {
				n = i
				break
			}
		}
		out = append(out, pre+string(r[:n]))
		r = []rune(strings.TrimLeft(string(r[n:]), " "))
		w, pre = max(1, width-len(indent)), indent
	}
	return append(out, pre+string(r))
}

// highlight escapes s for tview and marks each case-insensitive match of
// search in it.
func highlight(s, search string) string {
	if search == "" {
		return tview.Escape(s)
	}
	var sb strings.Builder
	low, needle := strings.ToLower(s), strings.ToLower(search)
	for {
		i := strings.Index(low, needle)
		if i < 0 || len(low) != len(s) {
			sb.WriteString(tview.Escape(s))
			return sb.String()
		}
		sb.WriteString(tview.Escape(s[:i]))
		sb.WriteString("[black:yellow]" + tview.Escape(s[i:i+len(needle)]) + "[-:-]")
		s, low = s[i+len(needle):], low[i+len(needle):]
	}
}
