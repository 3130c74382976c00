package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/event"
)

// The model: what the refresher copies out of the Machine (one Snapshot)
// and how a snapshot becomes pane contents.

// view is the part of the UI state the refresher needs to know what to
// copy; the UI goroutine writes it, the refresher reads it, under mu.
type view struct {
	walkVA       uint32
	walkFollow   bool // walk EIP
	memVA        uint32
	memFollow    bool // dump from ESP
	memBytes     int
	disasmCursor uint32
	disasmFollow bool // cursor = EIP
	disasmRows   int
}

// snapshot is one Machine.Snapshot, reshaped for rendering.
type snapshot struct {
	at      time.Time
	running bool
	stop    hv.Stop
	regs    hv.Regs
	host    hv.HostState
	linear  bool
	walk    hv.Walks
	slot    int
	curSlot int // Snapshot.CurrentSlot, even under linear_pages
	gpgdir  uint32
	code    codeWindow
	mem     codeWindow
	// memAliased: the memory pane's link address is read at its load
	// address memAlias (the Guest runs physical; hv.Memory.Aliased).
	memAlias   uint32
	memAliased bool
	events     []hv.Event
	lost       uint64 // events that fell out of the ring before we read them
	// rewound: the Machine travelled back and the events from rewoundTo
	// on are no longer history (hv.Snapshot.Rewound); events starts there.
	rewound   bool
	rewoundTo uint64
	// prov: the writers of the walk's shadow entries, when provKnown
	// (the Guest is stopped; walkProv).
	prov      []shadowProv
	provKnown bool
	guestProv guestProv
}

func (a *app) refresher() {
	defer a.wg.Done()
	t := time.NewTicker(a.opts.Refresh)
	defer t.Stop()
	for {
		s := a.gather()
		done := make(chan struct{})
		// QueueUpdateDraw waits for the event loop, which is gone once
		// the user quits, so wait for it on the side.
		go func() {
			a.tv.QueueUpdateDraw(func() { a.apply(s) })
			close(done)
		}()
		select {
		case <-a.ctx.Done():
			return
		case <-done:
		}
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		case <-a.kick:
		}
	}
}

// gather takes one Machine.Snapshot for what the panes show: the walk,
// the code window and the memory window follow EIP and ESP at the same
// instant as the registers.
func (a *app) gather() *snapshot {
	a.mu.Lock()
	v := a.v
	a.mu.Unlock()
	walk := hv.Place{From: hv.AtEIP}
	if !v.walkFollow {
		walk = hv.Place{Addr: v.walkVA}
	}
	code := hv.Window{At: hv.Place{From: hv.AtEIP}, Before: backReach * 4, Len: maxInsnSize * (v.disasmRows + 4)}
	if !v.disasmFollow {
		code.At = hv.Place{Addr: v.disasmCursor}
	}
	memory := hv.Window{At: hv.Place{From: hv.AtESP, Align: 16}, Len: v.memBytes}
	if !v.memFollow {
		memory.At = hv.Place{Addr: v.memVA}
	}
	ms := a.m.Snapshot(hv.View{Walk: &walk, Windows: []hv.Window{code, memory}, Events: true, EventsFrom: a.seq, EventsGen: a.evGen})
	s := &snapshot{
		at: time.Now(), running: ms.Running, stop: ms.Stop, regs: ms.Regs, host: ms.Host,
		linear: ms.Linear, walk: ms.Walk, events: ms.Events, curSlot: ms.CurrentSlot,
		code: windowOf(ms.Windows[0]), mem: windowOf(ms.Windows[1]),
		memAlias: ms.Windows[1].LoadAddr, memAliased: ms.Windows[1].Aliased,
		rewound: ms.Rewound, rewoundTo: ms.RewoundTo,
	}
	for _, sl := range ms.Slots {
		if sl.Current {
			s.slot, s.gpgdir = sl.Index, sl.GPgdir
		}
	}
	from := a.seq
	if s.rewound {
		from = s.rewoundTo
	}
	if len(s.events) > 0 && s.events[0].Seq > from {
		s.lost = s.events[0].Seq - from
	}
	a.seq, a.evGen = ms.NextEvent, ms.EventsGen
	if !ms.Running {
		s.prov, s.provKnown = a.walkProv(ms.Walk, ms.NextEvent, ms.EventsGen), true
		s.guestProv = a.guestWalkProv(ms.Walk, ms.Regs.ICount, ms.NextEvent, ms.EventsGen)
		s.prov = withReplayedShadow(s.prov, s.guestProv)
	}
	return s
}

func windowOf(m hv.Memory) codeWindow { return codeWindow{base: m.Base, data: m.Data, ok: m.OK} }

// apply renders a snapshot; UI goroutine only.
func (a *app) apply(s *snapshot) {
	if a.haveCur && s.regs.ICount != a.cur.ICount {
		a.prev, a.havePrev = a.cur, true
	}
	a.cur, a.haveCur = s.regs, true
	a.furthest = max(a.furthest, s.regs.ICount)
	if s.running {
		if a.lastRun != nil {
			if dt := s.at.Sub(a.lastRun.at).Seconds(); dt > 0 {
				a.mips = float64(s.regs.ICount-a.lastRun.regs.ICount) / dt / 1e6
			}
		}
		a.lastRun = s
	} else {
		a.lastRun = nil
	}
	a.snap = s
	if s.linear && !a.handoff.haveOff {
		a.handoff.slot = s.curSlot // the slot linear_pages runs in
	}
	if s.rewound {
		a.rewind(s.rewoundTo)
	}
	a.takeEvents(s.events, s.lost)
	a.takeHits()
	a.mu.Lock()
	msg := a.pending
	a.pending = nil
	a.mu.Unlock()
	if msg != nil {
		a.setMsg(msg.isErr, msg.text)
	}
	a.fixLayout()
	a.renderAll()
}

// renderAll draws every pane from the last snapshot.
func (a *app) renderAll() {
	s := a.snap
	if s == nil {
		return
	}
	a.panes[paneRegs].SetText(renderRegs(s.regs, a.prev, a.havePrev))
	_, _, lw, _ := a.linearTV.GetInnerRect()
	a.linearTV.SetText(renderLinear(linearState{
		on: s.linear, offAt: a.linOffAt, haveOff: a.haveOff,
		slot: s.slot, gpgdir: s.gpgdir, haveSlot: !s.linear,
	}, lw) + "\n" + renderHost(s.host))

	_, _, ww, _ := a.panes[paneWalk].GetInnerRect()
	if ww <= 0 {
		ww = 118
	}
	walk := renderWalk(s.walk, a.pae, ww) + "\n" + renderProv(s.prov, s.provKnown, a.logs[paneHcalls].lines, a.logs[paneEvents].lines)
	if g := renderGuestProv(s.guestProv); g != "" {
		walk += "\n" + g
	}
	a.panes[paneWalk].SetText(walk)
	walkRows := 12
	a.walkRows = min(walkLines(walk), walkRows) + 2
	if a.mode == layoutNormal {
		a.main.ResizeItem(a.panes[paneWalk], a.walkRows, 0)
	}
	a.panes[paneWalk].SetTitle(walkTitle(s.walk.Guest.VAddr, a.syms.display(s.walk.Guest.VAddr), a.followNote()))
	a.handoffTV.SetText(renderHandoff(a.handoff, a.screenW))
	a.renderLogs()

	a.renderDisasm()
	a.renderMemory()
	a.renderStatus()
}

// takeEvents routes new events to their panes and the handoff summary.
func (a *app) takeEvents(evs []hv.Event, lost uint64) {
	var con strings.Builder
	if lost > 0 {
		a.logs[paneEvents].lost += int(lost)
	}
	for _, e := range evs {
		a.handoff.see(e)
		switch e.Kind {
		case event.Hypercall:
			d, _ := a.m.DecodeHcall(e)
			a.logs[paneHcalls].add(logLine{text: hcallLine(e, d), ev: e})
			continue
		case event.Console:
			t := sanitizeConsole(e.Text)
			con.WriteString(t)
			a.keepConsole(e.Seq, t)
			continue
		case event.LinearOff:
			a.linOffAt, a.haveOff = e.ICount, true
		}
		a.logs[paneEvents].add(logLine{text: eventLine(e), ev: e})
	}
	if con.Len() > 0 {
		fmt.Fprint(a.panes[paneConsole], con.String())
	}
}

// renderLogs redraws the log panes from their buffers.
func (a *app) renderLogs() {
	for _, p := range []pane{paneHcalls, paneEvents} {
		a.renderLog(p)
	}
}

func (a *app) renderLog(p pane) {
	b, tv := a.logs[p], a.panes[p]
	_, _, w, h := tv.GetInnerRect()
	tv.SetText(renderLog(b, h, w, a.logDetail))
	title := fmt.Sprintf(" %d %s ", p+1, paneNames[p])
	if b.search != "" {
		nth, total := b.matches()
		title = fmt.Sprintf(" %d %s /%s %d/%d ", p+1, paneNames[p], b.search, nth, total)
	}
	tv.SetTitle(title)
}

// logDetail expands a log line's event.
func (a *app) logDetail(e hv.Event) []string {
	var out []string
	if d, ok := a.m.DecodeHcall(e); ok {
		out = append(hcallDetail(e, d), eventDetail(e, a.pae)[1:]...)
	} else {
		out = eventDetail(e, a.pae)
	}
	if a.m.History().On {
		out = append(out, travelHint(e))
	}
	return out
}
