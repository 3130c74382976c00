package ui

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/cpu"
	"golang.org/x/arch/x86/x86asm"
)

// Debugger navigation: next (step over calls), finish, run to the
// cursor, and the breakpoint list (numbers, enable/disable/delete, hit
// counts, and the name a hit came from).

// runTo is a run to a temporary breakpoint, owned by the controller
// goroutine: the stop at addr ends it once the stack is above frameESP
// (a recursive call reaching addr deeper down runs on).
type runTo struct {
	what     string // "next", "finish", "advance"
	addr     uint32
	checkESP bool
	frameESP uint32
}

// startRunTo sets the temporary breakpoint and resumes; controller only.
func (a *app) startRunTo(r runTo) {
	a.m.SetBreakpoint(r.addr) // counted: a user breakpoint there stays
	a.runTo = &r
	if err := a.m.Resume(); err != nil {
		a.m.ClearBreakpoint(r.addr)
		a.runTo = nil
		a.queueMsg(true, fmt.Sprintf("%s: %v", r.what, err))
	}
}

// onRunToStop ends (or continues) a pending run-to; controller only.
func (a *app) onRunToStop(st hv.Stop) {
	r := a.runTo
	if r == nil {
		return
	}
	if st.Reason == hv.StopBreakpoint && st.EIP == r.addr {
		if r.checkESP && a.m.Regs().GPR[cpu.ESP] <= r.frameESP {
			// The same address in a deeper frame: not our return.
			if err := a.m.Resume(); err == nil {
				return
			}
		}
		a.m.ClearBreakpoint(r.addr)
		a.runTo = nil
		a.queueMsg(false, fmt.Sprintf("%s: at %s", r.what, a.describe(r.addr)))
		return
	}
	a.m.ClearBreakpoint(r.addr)
	a.runTo = nil
	a.queueMsg(st.Reason.Terminal(), fmt.Sprintf("%s: stopped first: %s", r.what, st.String()))
}

// cmdNext steps over a call: a call instruction runs until it returns to
// the instruction after it; anything else is one stepi.
func (a *app) cmdNext(*tcell.EventKey) {
	a.followEIP()
	a.control(func() {
		r := a.m.Regs()
		code := make([]byte, maxInsnSize)
		if err := a.m.ReadVirt(r.EIP, code); err != nil {
			code = code[:0]
		}
		inst, err := x86asm.Decode(code, 32)
		if err != nil || inst.Op != x86asm.CALL {
			if _, err := a.m.Step(); err != nil {
				a.queueMsg(true, err.Error())
			}
			return
		}
		// The call pushes the return address: we are back when ESP is
		// above where it was before the push.
		a.startRunTo(runTo{what: "next", addr: r.EIP + uint32(inst.Len), checkESP: true, frameESP: r.GPR[cpu.ESP] - 4})
	})
}

// cmdFinish runs until the current function returns. With no frame
// information, the return address is found as gdb does without debug
// info: at the entry of a function (EIP at a symbol, or before the frame
// is set up) it is at [ESP]; in the body of a frame-pointer function at
// [EBP+4].
func (a *app) cmdFinish(*tcell.EventKey) {
	a.followEIP()
	a.control(func() {
		r := a.m.Regs()
		esp, ebp := r.GPR[cpu.ESP], r.GPR[cpu.EBP]
		slot := ebp + 4
		if _, off, ok := a.syms.lookup(r.EIP); (ok && off == 0) || ebp < esp {
			slot = esp
		}
		var b [4]byte
		if err := a.m.ReadVirt(slot, b[:]); err != nil {
			a.queueMsg(true, fmt.Sprintf("finish: no return address at %#x: %v", slot, err))
			return
		}
		ret := binary.LittleEndian.Uint32(b[:])
		a.startRunTo(runTo{what: "finish", addr: ret, checkESP: true, frameESP: slot})
	})
}

// cmdAdvance runs to addr (the disassembly cursor for the key), as gdb's
// advance: it stops earlier at a breakpoint or anything else.
func (a *app) cmdAdvance(addr uint32) {
	a.followEIP()
	a.control(func() { a.startRunTo(runTo{what: "advance", addr: addr}) })
}

func (a *app) cmdRunToCursor(*tcell.EventKey) { a.cmdAdvance(a.cursorAddr()) }

// breakpoint is one row of the breakpoint list.
type breakpoint struct {
	num     int
	addr    uint32
	spec    string // what the user typed (a symbol, an expression, or the cursor)
	enabled bool
	hits    int
	lastHit string // the symbol name the last hit was reported under
}

// bpByAddr finds the breakpoint at addr.
func (a *app) bpByAddr(addr uint32) *breakpoint {
	for _, b := range a.bplist {
		if b.addr == addr {
			return b
		}
	}
	return nil
}

func (a *app) bpByNum(arg string) (*breakpoint, error) {
	var n int
	if _, err := fmt.Sscanf(arg, "%d", &n); err != nil {
		return nil, fmt.Errorf("%q is not a breakpoint number (see :info break)", arg)
	}
	for _, b := range a.bplist {
		if b.num == n {
			return b, nil
		}
	}
	return nil, fmt.Errorf("no breakpoint number %d", n)
}

// takeHits counts the breakpoint stops the controller saw; UI goroutine.
func (a *app) takeHits() {
	a.mu.Lock()
	hits := a.hits
	a.hits = nil
	a.mu.Unlock()
	for _, addr := range hits {
		b := a.bpByAddr(addr)
		if b == nil {
			// A hit at the load alias of a link-address breakpoint.
			if link, ok := a.syms.toLink(addr); ok {
				b = a.bpByAddr(link)
			}
		}
		if b != nil && b.enabled {
			b.hits++
			b.lastHit = strings.TrimSpace(fmt.Sprintf("%#x %s", addr, a.syms.display(addr)))
		}
	}
}

// renderBreakpoints is the ":info break" list.
func renderBreakpoints(bps []*breakpoint) string {
	if len(bps) == 0 {
		return "No breakpoints. b toggles one at the disassembly cursor; :break ADDR|SYMBOL sets one.\n"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-4s %-4s %-10s %-6s %-24s %s\n", "Num", "Enb", "Address", "Hits", "What", "Last hit as")
	for _, b := range bps {
		enb := "y"
		if !b.enabled {
			enb = "n"
		}
		last := b.lastHit
		if last == "" {
			last = "-"
		}
		fmt.Fprintf(&sb, "%-4d %-4s 0x%08x %-6d %-24s %s\n", b.num, enb, b.addr, b.hits, b.spec, last)
	}
	sb.WriteString("\n:enable N  :disable N  :delete N  (Esc closes)\n")
	return sb.String()
}

func (a *app) cmdInfo(arg string) error {
	switch arg {
	case "break", "breakpoints", "b", "br":
		a.showOverlay(" breakpoints: Esc closes ", renderBreakpoints(a.bplist))
		return nil
	}
	return errors.New("info what? (info break)")
}

func (a *app) cmdEnable(arg string, on bool) error {
	b, err := a.bpByNum(arg)
	if err != nil {
		return err
	}
	if b.enabled != on {
		b.enabled = on
		addr := b.addr
		if on {
			a.control(func() { a.m.SetBreakpoint(addr) })
			a.bps[addr] = true
		} else {
			a.control(func() { a.m.ClearBreakpoint(addr) })
			delete(a.bps, addr)
		}
	}
	state := map[bool]string{true: "enabled", false: "disabled"}[on]
	a.setMsg(false, fmt.Sprintf("breakpoint %d %s at %s", b.num, state, a.describe(b.addr)))
	a.renderDisasm()
	return nil
}

func (a *app) cmdDisas(arg string) error {
	if arg == "" {
		a.followEIP()
		a.refreshNow()
		return nil
	}
	addr, err := a.addr(arg)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.v.disasmCursor, a.v.disasmFollow = addr, false
	a.mu.Unlock()
	a.focusPane(paneDisasm)
	a.refreshNow()
	return nil
}
