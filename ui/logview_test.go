package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/rivo/tview"
)

func plainRows(s string) []string {
	return strings.Split(tview.Escape(stripTags(s)), "\n")
}

func bufOf(lines ...string) *logBuf {
	b := newLogBuf()
	for i, l := range lines {
		b.add(logLine{text: l, ev: hv.Event{Seq: uint64(i)}})
	}
	return b
}

func TestRenderLogFollowsAndSelects(t *testing.T) {
	b := bufOf("one", "two", "three", "four", "five")
	rows := plainRows(renderLog(b, 3, 20, nil))
	if strings.Join(rows, "|") != "three|four|five" {
		t.Errorf("following: %q, want the newest three", rows)
	}
	b.setSel(0)
	rows = plainRows(renderLog(b, 3, 20, nil))
	if strings.Join(rows, "|") != "one|two|three" {
		t.Errorf("selection at the top: %q", rows)
	}
	if !strings.Contains(renderLog(b, 3, 20, nil), "[::r]one[::-]") {
		t.Errorf("the selected line is not in reverse video:\n%s", renderLog(b, 3, 20, nil))
	}
	b.move(100)
	if !b.follow {
		t.Error("moving to the newest line does not follow the log again")
	}
}

func TestRenderLogSelectedLineInFull(t *testing.T) {
	long := "    123456 SET_PTE pgdir=0x39bd000 va=0xbfef952b (pgd 767 pte 239) pte=0x11fa067 P RW US A D"
	b := bufOf("short", long, "tail")
	b.setSel(1)
	out := stripTags(renderLog(b, 10, 40, nil))
	joined := strings.Join(strings.Fields(out), " ")
	if !strings.Contains(joined, strings.Join(strings.Fields(long), " ")) {
		t.Errorf("the selected line is not shown whole:\n%s", out)
	}
	b.setSel(2)
	out = stripTags(renderLog(b, 10, 40, nil))
	if !strings.Contains(out, "»") || strings.Contains(out, "A D") {
		t.Errorf("an unselected long line is not clipped with a mark:\n%s", out)
	}
}

func TestRenderLogDropped(t *testing.T) {
	b := newLogBuf()
	for i := 0; i < maxLogLines+10; i++ {
		b.add(logLine{text: "x"})
	}
	if b.dropped != maxLogLines/4 || len(b.lines) != maxLogLines*3/4+10 {
		t.Fatalf("dropped %d kept %d", b.dropped, len(b.lines))
	}
	out := renderLog(b, 5, 100, nil)
	if !strings.Contains(out, "65536 older events dropped") {
		t.Errorf("no dropped-lines notice:\n%s", out)
	}
	b.lost = 7
	if out := renderLog(b, 5, 100, nil); !strings.Contains(out, "7 events left the Machine's ring") {
		t.Errorf("no lost-events notice:\n%s", out)
	}
	if out := renderLog(newLogBuf(), 5, 100, nil); strings.Contains(out, "dropped") {
		t.Errorf("an empty log claims drops: %q", out)
	}
}

func TestLogSearch(t *testing.T) {
	b := bufOf("LGUEST_INIT", "NOTIFY a", "SET_PTE", "NOTIFY b", "SHUTDOWN")
	b.search = "notify"
	for _, want := range []int{1, 3, 1} {
		if !b.find(1) || b.selected() != want {
			t.Fatalf("n: at %d, want %d", b.selected(), want)
		}
	}
	if !b.find(-1) || b.selected() != 3 {
		t.Errorf("N from the first match: at %d, want the last (3)", b.selected())
	}
	if nth, total := b.matches(); nth != 2 || total != 2 {
		t.Errorf("matches %d/%d, want 2/2", nth, total)
	}
	out := renderLog(b, 10, 40, nil)
	if !strings.Contains(out, "[black:yellow]NOTIFY[-:-] a") {
		t.Errorf("matches are not highlighted:\n%s", out)
	}
	b.search = "nothing"
	if b.find(1) {
		t.Error("found a missing text")
	}
	// Guest text cannot inject colour tags.
	if h := highlight("[red]x", "x"); !strings.Contains(h, "[red[]") {
		t.Errorf("highlight does not escape: %q", h)
	}
}

func TestRenderLogExpanded(t *testing.T) {
	b := bufOf("a", "b")
	b.setSel(0)
	b.expanded = true
	out := stripTags(renderLog(b, 10, 40, func(hv.Event) []string { return []string{"detail one", "detail two"} }))
	if !strings.Contains(out, "a\n    detail one\n    detail two\nb") {
		t.Errorf("details not under the selected line:\n%s", out)
	}
}

func TestJumpOf(t *testing.T) {
	pf := jumpOf(hv.Event{Kind: event.Trap, Nr: 14, EIP: 0xc0100000, CR2: 0xc0400000})
	if pf.walk == nil || *pf.walk != 0xc0400000 || pf.code == nil || *pf.code != 0xc0100000 {
		t.Errorf("a #PF jumps to %+v, want the walk of CR2 and the code at EIP", pf)
	}
	sh := jumpOf(hv.Event{Kind: event.Shadow, VAddr: 0x9f000})
	if sh.walk == nil || *sh.walk != 0x9f000 {
		t.Errorf("a shadow change jumps to %+v", sh)
	}
	pte := jumpOf(hv.Event{Kind: event.Hypercall, Nr: 14, Args: []uint32{0x1000, 0xbfef952b, 0x67}, EIP: 0xc0101000})
	if pte.walk == nil || *pte.walk != 0xbfef952b {
		t.Errorf("SET_PTE jumps to %+v, want the walk of its va", pte)
	}
	st := jumpOf(hv.Event{Kind: event.Hypercall, Nr: 7, Args: []uint32{0x69, 0xc0129000, 2}})
	if st.mem == nil || *st.mem != 0xc0129000 {
		t.Errorf("SET_STACK jumps to %+v, want the memory pane at the stack", st)
	}
	if j := jumpOf(hv.Event{Kind: event.Console, Text: "x"}); j.what != "" {
		t.Errorf("console text jumps: %+v", j)
	}
}

func TestRenderHandoff(t *testing.T) {
	var h handoff
	if s := stripTags(renderHandoff(h, 0)); !strings.Contains(s, "LGUEST_INIT not yet") || !strings.Contains(s, "linear_pages on") {
		t.Errorf("before the handoff: %q", s)
	}
	for _, e := range []hv.Event{
		{Kind: event.Hypercall, Nr: 1, ICount: 98465, EIP: 0x10012d},
		{Kind: event.Trap, Nr: 14}, // before the handoff: not counted
		{Kind: event.LinearOff, ICount: 98468, Slot: 3},
		{Kind: event.Trap, Nr: 14},
		{Kind: event.Trap, Nr: 13},
		{Kind: event.Trap, Nr: 14},
	} {
		h.see(e)
	}
	h.slot = 1
	want := "handoff: LGUEST_INIT @98465 eip 0x10012d │ first NEW_PGTABLE @98468 slot 1 -> 3 │ 2 shadow faults since"
	if s := renderHandoff(h, 0); s != want {
		t.Errorf("renderHandoff = %q\nwant %q", s, want)
	}
	short := "INIT @98465 0x10012d │ NEW_PGTABLE @98468 slot 1->3 │ 2 #PF since"
	if s := renderHandoff(h, 80); s != short {
		t.Errorf("renderHandoff at 80 columns = %q\nwant %q", s, short)
	}
}

func TestRenderBreakpoints(t *testing.T) {
	if s := renderBreakpoints(nil); !strings.Contains(s, "No breakpoints") {
		t.Errorf("empty list: %q", s)
	}
	s := renderBreakpoints([]*breakpoint{
		{num: 1, addr: 0xc0101640, spec: "start_kernel", enabled: true, hits: 2, lastHit: "start_kernel"},
		{num: 3, addr: 0x100010, spec: "(cursor)"},
	})
	for _, want := range []string{
		"1    y    0xc0101640 2      start_kernel             start_kernel",
		"3    n    0x00100010 0      (cursor)                 -",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("list lacks %q:\n%s", want, s)
		}
	}
}

func TestComplete(t *testing.T) {
	syms := []string{"start_kernel", "start_secondary", "startup_32", "lguest_init"}
	words := func(cmd string) []string {
		switch cmd {
		case "until":
			return eventWords()
		case "disas", "break":
			return syms
		}
		return nil
	}
	for _, tc := range []struct {
		line, want string
		cands      int
	}{
		{"unt", "until ", 1},
		{"dis", "disa", 3}, // disable disas disassemble
		{"disas start_k", "disas start_kernel", 1},
		{"disas sta", "disas start", 3},
		{"break start_kernel+0x10-lgu", "break start_kernel+0x10-lguest_init", 1},
		{"until hcall:NEW_P", "until hcall:NEW_PGTABLE", 1},
		{"until linear", "until linear-off", 1},
		{"until nothing", "until nothing", 0},
		{"zzz", "zzz", 0},
	} {
		got, cands := complete(tc.line, words)
		if got != tc.want || len(cands) != tc.cands {
			t.Errorf("complete(%q) = %q with %d candidates %q, want %q with %d", tc.line, got, len(cands), cands, tc.want, tc.cands)
		}
	}
	// Every event word is one Match accepts.
	for _, w := range eventWords() {
		if _, err := event.Match(w); err != nil {
			t.Errorf("completion offers %q, which Match refuses: %v", w, err)
		}
	}
}

func TestHistoryFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state", "lgdbg", "history")
	h, err := loadHistory(file)
	if err != nil || len(h.lines) != 0 {
		t.Fatalf("a missing file: %v %v", h.lines, err)
	}
	for _, l := range []string{"walk c0000000", "x 1000", "x 1000", "", "until linear-off"} {
		if err := h.add(l); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.step(-1, "typed"); got != "until linear-off" {
		t.Errorf("Up: %q", got)
	}
	if got := h.step(-1, ""); got != "x 1000" {
		t.Errorf("Up Up: %q (repeats are kept once)", got)
	}
	h.step(-1, "")
	if got := h.step(-1, ""); got != "walk c0000000" {
		t.Errorf("Up past the oldest: %q", got)
	}
	for range 2 {
		h.step(1, "")
	}
	if got := h.step(1, ""); got != "typed" {
		t.Errorf("Down back to the draft: %q", got)
	}
	again, err := loadHistory(file)
	if err != nil || strings.Join(again.lines, "|") != "walk c0000000|x 1000|until linear-off" {
		t.Errorf("reloaded %q %v", again.lines, err)
	}
	if err := os.WriteFile(file, []byte(strings.Repeat("l\n", 2*maxHistory)), 0o600); err != nil {
		t.Fatal(err)
	}
	if big, _ := loadHistory(file); len(big.lines) != maxHistory {
		t.Errorf("kept %d lines, want %d", len(big.lines), maxHistory)
	}
	t.Setenv("XDG_STATE_HOME", "/tmp/xdg")
	if f := DefaultHistoryFile(); f != "/tmp/xdg/lgdbg/history" {
		t.Errorf("DefaultHistoryFile = %q", f)
	}
}

func TestMemoryTitle(t *testing.T) {
	if s := memoryTitle(0xfffff000, false, false, ""); s != " 5 Memory fffff000 virtual " {
		t.Errorf("paged: %q", s)
	}
	if s := memoryTitle(0x1000, true, true, ""); s != " 5 Memory 00001000 (ESP) virt=phys " {
		t.Errorf("linear: %q", s)
	}
	if unreadableNote([]bool{true, true}) != "" || !strings.Contains(unreadableNote([]bool{true, false}), "?? = unreadable") {
		t.Error("unreadableNote")
	}
}
