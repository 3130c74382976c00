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
	gpgdir  uint32
	code    codeWindow
	mem     codeWindow
	// memAliased: the memory pane's link address is read at its load
	// address memAlias (the Guest runs physical; hv.Memory.Aliased).
	memAlias   uint32
	memAliased bool
	events     []hv.Event
	dropped    bool // events fell out of the ring before we read them
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
	ms := a.m.Snapshot(hv.View{Walk: &walk, Windows: []hv.Window{code, memory}, Events: true, EventsFrom: a.seq})
	s := &snapshot{
		at: time.Now(), running: ms.Running, stop: ms.Stop, regs: ms.Regs, host: ms.Host,
		linear: ms.Linear, walk: ms.Walk, events: ms.Events,
		code: windowOf(ms.Windows[0]), mem: windowOf(ms.Windows[1]),
		memAlias: ms.Windows[1].LoadAddr, memAliased: ms.Windows[1].Aliased,
	}
	for _, sl := range ms.Slots {
		if sl.Current {
			s.slot, s.gpgdir = sl.Index, sl.GPgdir
		}
	}
	s.dropped = len(s.events) > 0 && s.events[0].Seq > a.seq
	a.seq = ms.NextEvent
	return s
}

func windowOf(m hv.Memory) codeWindow { return codeWindow{base: m.Base, data: m.Data, ok: m.OK} }

// apply renders a snapshot; UI goroutine only.
func (a *app) apply(s *snapshot) {
	if a.haveCur && s.regs.ICount != a.cur.ICount {
		a.prev, a.havePrev = a.cur, true
	}
	a.cur, a.haveCur = s.regs, true
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
	a.takeEvents(s.events, s.dropped)
	a.mu.Lock()
	msg := a.pending
	a.pending = nil
	a.mu.Unlock()
	if msg != nil {
		a.setMsg(msg.isErr, msg.text)
	}
	if small := a.screenH < smallHeight; small != a.small {
		a.setSmall(small)
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
	walk := renderWalk(s.walk, a.pae, ww)
	a.panes[paneWalk].SetText(walk)
	walkRows := 12
	if a.small {
		walkRows = 5 // the notes are clipped; the levels and PA stay
	}
	a.main.ResizeItem(a.panes[paneWalk], min(walkLines(walk), walkRows)+2, 0)
	a.panes[paneWalk].SetTitle(fmt.Sprintf(" 4 Walk %08x%s: guest | shadow ", s.walk.Guest.VAddr, a.followNote()))

	a.renderDisasm()
	a.renderMemory()
	a.renderStatus()
}

// takeEvents routes new events to their panes.
func (a *app) takeEvents(evs []hv.Event, dropped bool) {
	var hc, ev, con strings.Builder
	if dropped {
		ev.WriteString("  ... older events fell out of the ring ...\n")
	}
	for _, e := range evs {
		switch e.Kind {
		case event.Hypercall:
			l := hcallLine(a.m, e)
			a.hcalls = append(a.hcalls, l)
			if a.matchFilter(l) {
				hc.WriteString(l + "\n")
			}
			continue
		case event.Console:
			con.WriteString(sanitizeConsole(e.Text))
			continue
		case event.LinearOff:
			a.linOffAt, a.haveOff = e.ICount, true
		}
		ev.WriteString(eventLine(e) + "\n")
	}
	if len(a.hcalls) > 2*maxLogLines {
		a.hcalls = append([]string(nil), a.hcalls[len(a.hcalls)-maxLogLines:]...)
	}
	write := func(p pane, s string) {
		if s == "" {
			return
		}
		// A "\n" is written before a line rather than after it, so the
		// last line does not leave an empty row at the bottom.
		tv := a.panes[p]
		if p != paneConsole && tv.GetText(false) != "" {
			s = "\n" + s
		}
		if p != paneConsole {
			s = strings.TrimSuffix(s, "\n")
		}
		fmt.Fprint(tv, s)
	}
	write(paneHcalls, hc.String())
	write(paneEvents, ev.String())
	write(paneConsole, con.String())
}
