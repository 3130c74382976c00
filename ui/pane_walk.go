package ui

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/event"
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

// Provenance (issue 14): below the walk, for each shadow entry, the event
// that wrote it (hv.Machine.ShadowWriter) and what made the Host write it
// — the page fault demand_page answered, the hypercall, or the Host's own
// setup — so "how did this shadow PTE get here?" is answered in the pane.

// shadowProv is one shadow level's writer, as the refresher found it.
type shadowProv struct {
	level string // "pgd", "pmd", "pte"
	ev    hv.Event
	ok    bool // the event log still holds the write
}

// walkProv finds the writer of each shadow level of w. It copies the
// event log, so the refresher calls it only while the Guest is stopped,
// and only when the walk or the log changed (the cache).
func (a *app) walkProv(w hv.Walks, next, gen uint64) []shadowProv {
	key := provKey{slot: w.Slot, va: w.Guest.VAddr, next: next, gen: gen, n: len(w.Shadow.Levels)}
	if a.provCache.ok && a.provCache.key == key {
		return a.provCache.prov
	}
	var out []shadowProv
	for _, l := range w.Shadow.Levels {
		e, ok := a.m.ShadowWriter(w.Slot, l.Kind.String(), w.Guest.VAddr)
		out = append(out, shadowProv{level: l.Kind.String(), ev: e, ok: ok})
	}
	a.provCache.key, a.provCache.prov, a.provCache.ok = key, out, true
	return out
}

type provKey struct {
	slot int
	va   uint32
	next uint64
	gen  uint64
	n    int
}

// shadowCause is the trap or hypercall whose handling made shadow change
// e, found in the log panes' lines (each sorted by sequence number). The
// Host logs a trap after handling it (its outcome is known then) and a
// hypercall before, so demand_page's change is followed by its #PF at the
// same icount and a hypercall's change is preceded by it, with no other
// trap or hypercall between. ok is false for the Host's own writes
// (the Switcher mapping at boot) and when the lines left the panes.
func shadowCause(e hv.Event, hcalls, events []logLine) (hv.Event, bool) {
	// The next trap after e, if no hypercall comes first.
	i := sort.Search(len(events), func(i int) bool { return events[i].ev.Seq > e.Seq })
	j := sort.Search(len(hcalls), func(i int) bool { return hcalls[i].ev.Seq > e.Seq })
	var trap, call *hv.Event
	for k := i; k < len(events); k++ {
		x := &events[k].ev
		if x.ICount != e.ICount || (j < len(hcalls) && hcalls[j].ev.Seq < x.Seq) {
			break
		}
		if x.Kind == event.Trap {
			trap = x
			break
		}
	}
	// The last hypercall before e, if no trap comes between.
	if j > 0 {
		x := &hcalls[j-1].ev
		between := false
		for k := i - 1; k >= 0 && events[k].ev.Seq > x.Seq; k-- {
			if events[k].ev.Kind == event.Trap {
				between = true
				break
			}
		}
		if x.ICount == e.ICount && !between {
			call = x
		}
	}
	switch {
	case trap != nil && (e.Why == "demand_page" || call == nil):
		return *trap, true
	case call != nil:
		return *call, true
	}
	return hv.Event{}, false
}

// renderProv is the provenance rows under the walk.
func renderProv(prov []shadowProv, known bool, hcalls, events []logLine) string {
	if !known {
		return tagDim + "shadow entries' writers: shown while the guest is stopped" + tagOff
	}
	var sb strings.Builder
	for _, p := range prov {
		if !p.ok {
			fmt.Fprintf(&sb, "%sshadow %s: no write in the event log (never written, or older than the ring)%s\n", tagDim, p.level, tagOff)
			continue
		}
		by := "the Host"
		if c, ok := shadowCause(p.ev, hcalls, events); ok {
			switch c.Kind {
			case event.Trap:
				by = fmt.Sprintf("trap %d (%s) at %#x", c.Nr, c.Name, c.EIP)
				if c.Nr == 14 {
					by += fmt.Sprintf(" cr2 %#x", c.CR2)
				}
			case event.Hypercall:
				by = fmt.Sprintf("hcall %s at %#x", c.Name, c.EIP)
			}
		}
		fmt.Fprintf(&sb, "shadow %s written @%d by %s: %s\n", p.level, p.ev.ICount, tview.Escape(by), tview.Escape(p.ev.Why))
	}
	return strings.TrimRight(sb.String(), "\n")
}

// Guest entries' writers (hv.Machine.GuestWalkWriters): the last store to
// each guest entry of the walk, the Guest's instruction (icount, EIP,
// symbol) or the Host's (what it was handling). The Machine finds them by
// replaying history, which takes the CPU for a while, so the refresher
// never asks itself: it queues the query on the controller (where a
// command the user gives meanwhile waits its turn instead of finding the
// Guest busy) and shows the answer once it is there, cached by instant
// and walk. Without history there is nothing to replay and no rows.

// guestProvKey is the instant and walk a guest-writers answer is for.
type guestProvKey struct {
	icount, next, gen uint64
	va                uint32
	levels            string // the walk's entries (address and value)
}

func guestKey(w hv.Walks, icount, next, gen uint64) guestProvKey {
	var lv strings.Builder
	for _, l := range w.Guest.Levels {
		fmt.Fprintf(&lv, "%x=%x ", l.EntryAddr, l.Raw)
	}
	return guestProvKey{icount: icount, next: next, gen: gen, va: w.Guest.VAddr, levels: lv.String()}
}

// guestProv is what the walk pane shows of the guest writers.
type guestProv struct {
	show    bool // history on and the Guest's own tables walked
	pending bool // asked, no answer yet
	err     error
	writers []hv.LevelWriter
	// shadow: the shadow levels' writers found on the same trip to the
	// controller (hv.Machine.ShadowWritersInHistory), which reach past
	// the event ring; shadowOK[i] says whether level i has one
	shadow   []hv.Event
	shadowOK []bool
}

type guestProvCache struct {
	mu       sync.Mutex
	key      guestProvKey
	ok       bool // key's answer is in writers/err
	asked    bool // a query for key is queued
	writers  []hv.LevelWriter
	err      error
	shadow   []hv.Event
	shadowOK []bool
	// seen is the last key the refresher asked about and since when:
	// a query is queued only once the instant has held for settle, so
	// stepping (a held S or s) does not queue a replay per step
	seen   guestProvKey
	seenAt time.Time
}

// settle is how long the Guest must stay at an instant before the walk
// pane replays history for its writers.
const settle = 200 * time.Millisecond

// cancelGuestProv stops a writers' query queued or running, because the
// user asked for something else (the controller runs one thing at a time,
// and a replay can take seconds on a long run); the refresher asks again
// once the Guest settles.
func (a *app) cancelGuestProv() {
	c := &a.guestCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.asked {
		a.m.CancelQuery()
	}
}

// guestWalkProv returns the guest writers for the walk w at the stopped
// instant, queueing the query when the cache does not hold it (refresher
// only).
func (a *app) guestWalkProv(w hv.Walks, icount, next, gen uint64) guestProv {
	if !a.m.History().On || w.Guest.Linear || len(w.Guest.Levels) == 0 {
		return guestProv{}
	}
	key := guestKey(w, icount, next, gen)
	c := &a.guestCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && c.key == key {
		return guestProv{show: true, err: c.err, writers: c.writers, shadow: c.shadow, shadowOK: c.shadowOK}
	}
	if now := time.Now(); c.seen != key {
		c.seen, c.seenAt = key, now
		return guestProv{show: true, pending: true}
	} else if now.Sub(c.seenAt) < settle {
		return guestProv{show: true, pending: true}
	}
	if !c.asked || c.key != key {
		c.key, c.ok, c.asked = key, false, true
		va, slot := w.Guest.VAddr, w.Slot
		var levels []string
		for _, l := range w.Shadow.Levels {
			levels = append(levels, l.Kind.String())
		}
		q := func() {
			// Still the instant asked for? (A command queued before
			// this may have moved the Guest.)
			r := a.m.Regs()
			c.mu.Lock()
			stale := c.key != key || r.ICount != key.icount
			c.mu.Unlock()
			if stale {
				return
			}
			lw, err := a.m.GuestWalkWriters(va)
			var sev []hv.Event
			var sok []bool
			if !errors.Is(err, hv.ErrCancelled) {
				var serr error
				sev, sok, serr = a.m.ShadowWritersInHistory(slot, levels, va)
				if errors.Is(serr, hv.ErrCancelled) {
					err = serr
				}
			}
			c.mu.Lock()
			switch {
			case errors.Is(err, hv.ErrCancelled):
				c.asked = false // ask again once the Guest settles
			case c.key == key:
				c.writers, c.err, c.ok, c.asked = lw, err, true, false
				c.shadow, c.shadowOK = sev, sok
			}
			c.mu.Unlock()
		}
		select {
		case a.ctl <- q:
		default:
			c.asked = false // the controller is busy: ask again next time
		}
	}
	return guestProv{show: true, pending: true}
}

// withReplayedShadow fills the shadow levels the event ring no longer
// knows the writer of with what the replay found (g.shadow), leaving
// prov's cache untouched.
func withReplayedShadow(prov []shadowProv, g guestProv) []shadowProv {
	if len(g.shadowOK) != len(prov) {
		return prov
	}
	var out []shadowProv
	for i, p := range prov {
		if !p.ok && g.shadowOK[i] {
			if out == nil {
				out = slices.Clone(prov)
			}
			out[i].ev, out[i].ok = g.shadow[i], true
		}
	}
	if out == nil {
		return prov
	}
	return out
}

// renderGuestProv is the guest writers' rows under the walk.
func renderGuestProv(g guestProv) string {
	if !g.show {
		return ""
	}
	if g.pending {
		return tagDim + "guest entries' writers: replaying history..." + tagOff
	}
	if g.err != nil {
		return tagDim + "guest entries' writers: " + tview.Escape(g.err.Error()) + tagOff
	}
	var sb strings.Builder
	for _, l := range g.writers {
		x := l.Writer
		if !x.Found {
			fmt.Fprintf(&sb, "%sguest %s: %s%s\n", tagDim, l.Level.Kind, tview.Escape(x.Note), tagOff)
			continue
		}
		fmt.Fprintf(&sb, "guest %s written @%d by %s\n", l.Level.Kind, x.ICount, tview.Escape(x.By()))
	}
	return strings.TrimRight(sb.String(), "\n")
}
