package gdbstub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/hv/cpu"
)

// Replies with a fixed meaning. gdb only checks the 'E' prefix; the number
// is for people reading packet logs: E01 bad packet, E14 (EFAULT) memory.
const (
	replyOK       = "OK"
	replyBad      = "E01"
	replyMemFault = "E14"
	replyEmpty    = "" // "unsupported packet"
)

// maxMem bounds one m/M/X transfer: the hex reply must fit in MaxPacket.
const maxMem = (MaxPacket - 16) / 2

// A session's breakpoints and watchpoints are bounded: the engine checks
// them by linear scan, so a client inserting millions would slow the Guest
// to a crawl and grow our memory without limit. gdb itself needs a handful
// (x86 hardware has four watchpoints); the limits are far above that.
const (
	maxBreakpoints = 1024
	maxWatchpoints = 64
)

// dispatch handles one packet and sends its reply (or, for resumes, the
// stop reply when the Guest stops).
func (ss *session) dispatch(ctx context.Context, p []byte) error {
	if len(p) == 0 {
		return ss.send(replyEmpty)
	}
	arg := p[1:]
	switch p[0] {
	case '?':
		return ss.send(ss.stopReply(ss.haltReason(ss.m.LastStop())))
	case 'g':
		return ss.readRegs()
	case 'G':
		return ss.reply(ss.writeRegs(arg))
	case 'p':
		return ss.readReg(arg)
	case 'P':
		return ss.reply(ss.writeReg(arg))
	case 'm':
		return ss.readMem(arg)
	case 'M':
		return ss.reply(ss.writeMemHex(arg))
	case 'X':
		return ss.reply(ss.writeMemBinary(arg))
	case 'c', 's':
		if len(arg) > 0 {
			addr, err := parseHex32(arg)
			if err != nil {
				return ss.send(replyBad)
			}
			if err := ss.m.SetReg("eip", addr); err != nil {
				return ss.send(replyBad)
			}
		}
		return ss.resume(ctx, p[0] == 's')
	case 'C', 'S':
		// Continue/step with a signal: a Guest kernel has no signals to
		// deliver; the optional ";addr" still applies.
		if _, a, ok := bytes.Cut(arg, []byte{';'}); ok {
			addr, err := parseHex32(a)
			if err != nil {
				return ss.send(replyBad)
			}
			if err := ss.m.SetReg("eip", addr); err != nil {
				return ss.send(replyBad)
			}
		}
		return ss.resume(ctx, p[0] == 'S')
	case 'b':
		return ss.reverse(arg)
	case 'Z', 'z':
		return ss.reply(ss.breakpoint(p[0] == 'Z', arg))
	case 'H', 'T':
		// Hg/Hc select a thread; T asks whether one is alive. There is
		// one vCPU and it is always thread 1.
		return ss.send(replyOK)
	case 'D':
		// Detach: gdb is done; the Guest carries on (QEMU resumes too).
		ss.clearAll()
		if err := ss.send(replyOK); err != nil {
			return err
		}
		ss.m.Resume()
		return errSessionEnd
	case 'k':
		// Kill: gdb expects no reply.
		ss.kill()
		return errSessionEnd
	case 'q':
		return ss.query(arg)
	case 'Q':
		return ss.set(arg)
	case 'v':
		return ss.vPacket(ctx, arg)
	}
	return ss.send(replyEmpty)
}

// kill is gdb's kill: a live Guest is paused where it is (never left
// running behind a debugger that said it is done); then the front end that
// owns the run decides (Options.OnKill: lgdbg's CLI ends, as QEMU exits).
// The Guest itself is never destroyed: the TUI, or a later gdb, may still
// look at it.
func (ss *session) kill() {
	ss.clearAll()
	if !ss.m.LastStop().Reason.Terminal() {
		ss.m.Pause()
	}
	if ss.srv.opts.OnKill != nil {
		ss.srv.opts.OnKill()
	}
}

// reply sends OK, or E01 with the error logged.
func (ss *session) reply(err error) error {
	if err != nil {
		ss.srv.logf("gdb: %v", err)
		var r refusal
		if errors.As(err, &r) {
			return ss.send(eMessage(r.msg))
		}
		if errors.Is(err, errUnsupported) {
			return ss.send(replyEmpty)
		}
		if errors.Is(err, errMemFault) {
			return ss.send(replyMemFault)
		}
		return ss.send(replyBad)
	}
	return ss.send(replyOK)
}

// query handles the 'q' packets.
func (ss *session) query(arg []byte) error {
	if hexCmd, ok := bytes.CutPrefix(arg, []byte("Rcmd,")); ok {
		return ss.rcmd(hexCmd)
	}
	name, rest, _ := bytes.Cut(arg, []byte{':'})
	switch string(name) {
	case "Supported":
		for _, f := range bytes.Split(rest, []byte{';'}) {
			switch string(f) {
			case "swbreak+":
				ss.swbreak = true
			case "hwbreak+":
				ss.hwbreak = true
			}
		}
		return ss.send(fmt.Sprintf("PacketSize=%x;qXfer:features:read+;QStartNoAckMode+;vContSupported+;swbreak+;hwbreak+%s", MaxPacket, ss.reverseFeatures()))
	case "Attached":
		// 1: we attached to an existing process, so gdb's "quit"
		// detaches instead of killing.
		return ss.send("1")
	case "C":
		return ss.send("QC1")
	case "fThreadInfo":
		return ss.send("m1")
	case "sThreadInfo":
		return ss.send("l")
	case "Offsets":
		// The Guest runs at its link addresses: nothing to relocate.
		return ss.send(replyEmpty)
	case "Symbol":
		return ss.send(replyOK)
	case "qemu.Supported":
		// QEMU's own query; of its features we offer physical memory
		// mode, so tools written for QEMU (gdb-pt-dump, pwndbg) find it.
		return ss.send("PhyMemMode")
	case "qemu.PhyMemMode":
		if ss.physMem {
			return ss.send("1")
		}
		return ss.send("0")
	case "Xfer":
		return ss.xfer(rest)
	}
	return ss.send(replyEmpty)
}

// set handles the 'Q' packets.
func (ss *session) set(arg []byte) error {
	if string(arg) == "StartNoAckMode" {
		// The flag is set before the OK goes out: gdb sends its next
		// packet only after reading the OK, so the reader sees the flag
		// in time not to acknowledge it. The OK itself is acked by gdb.
		ss.noAck.Store(true)
		return ss.send(replyOK)
	}
	// Qqemu.PhyMemMode:1 makes m/M/X address guest-physical memory, as
	// QEMU's stub does (its "maint packet Qqemu.PhyMemMode:1").
	if v, ok := bytes.CutPrefix(arg, []byte("qemu.PhyMemMode:")); ok {
		switch string(v) {
		case "1":
			ss.physMem = true
		case "0":
			ss.physMem = false
		default:
			return ss.send(replyBad)
		}
		return ss.send(replyOK)
	}
	return ss.send(replyEmpty)
}

// xfer serves qXfer:features:read:target.xml:OFFSET,LENGTH.
func (ss *session) xfer(arg []byte) error {
	parts := bytes.SplitN(arg, []byte{':'}, 4)
	if len(parts) != 4 || string(parts[0]) != "features" || string(parts[1]) != "read" {
		return ss.send(replyEmpty)
	}
	if string(parts[2]) != "target.xml" {
		return ss.send("E00") // the documented reply for an unknown annex
	}
	off, n, err := parseAddrLen(parts[3])
	if err != nil {
		return ss.send(replyBad)
	}
	doc := targetXML
	if off >= uint32(len(doc)) {
		return ss.send("l")
	}
	// Escaping may double a byte, so half the packet is always safe.
	n = min(n, MaxPacket/2)
	end := min(uint64(off)+uint64(n), uint64(len(doc)))
	chunk := doc[off:end]
	if end == uint64(len(doc)) {
		return ss.send("l" + chunk)
	}
	return ss.send("m" + chunk)
}

// vPacket handles vCont and friends.
func (ss *session) vPacket(ctx context.Context, arg []byte) error {
	switch {
	case string(arg) == "Cont?":
		return ss.send("vCont;c;C;s;S")
	case bytes.HasPrefix(arg, []byte("Cont;")):
		// vCont;ACTION[:TID];...: the first action that applies to our
		// one thread wins, as the protocol says ("the leftmost action
		// with a matching thread-id"). Thread ids name thread 1, "-1"
		// (all) or a pid.tid pair; we accept any.
		for _, a := range bytes.Split(arg[len("Cont;"):], []byte{';'}) {
			if len(a) == 0 {
				continue
			}
			switch a[0] {
			case 'c', 'C':
				return ss.resume(ctx, false)
			case 's', 'S':
				return ss.resume(ctx, true)
			case 't':
				// Stop: the Guest is already stopped in all-stop mode.
				return ss.send(ss.stopReply(hv.Stop{Reason: hv.StopPaused}))
			}
			return ss.send(replyBad)
		}
		return ss.send(replyBad)
	case string(arg) == "CtrlC":
		ss.m.Pause()
		return ss.send(replyOK)
	case bytes.HasPrefix(arg, []byte("Kill")):
		// As 'k', but vKill expects an OK.
		ss.kill()
		if err := ss.send(replyOK); err != nil {
			return err
		}
		return errSessionEnd
	case string(arg) == "MustReplyEmpty":
		return ss.send(replyEmpty)
	}
	return ss.send(replyEmpty)
}

// resume runs the Guest: one instruction for a step, until something stops
// it for a continue. While it runs, a Ctrl-C (0x03) pauses it; a hang-up
// leaves it running (the dropped session must not lose it).
func (ss *session) resume(ctx context.Context, step bool) error {
	if last := ss.m.LastStop(); last.Reason.Terminal() {
		return ss.sendExit(last)
	}
	if step {
		st, err := ss.m.Step()
		if st.Reason.Terminal() {
			return ss.sendExit(st)
		}
		if err != nil {
			return ss.send(replyBad)
		}
		return ss.send(ss.stopReply(st))
	}
	// Subscribe before resuming, so the stop cannot slip past.
	stopped, cancel := ss.m.Subscribe()
	defer cancel()
	if err := ss.m.ResumeUntil(ss.stopOnPredicate(), 0); err != nil && !errors.Is(err, hv.ErrRunning) {
		return ss.sendExit(ss.m.LastStop())
	}
	for {
		select {
		case st := <-stopped:
			if st.Reason.Terminal() {
				return ss.sendExit(st)
			}
			if st.Reason == hv.StopUntil {
				if err := ss.sendConsole(ss.stopOnNote(st)); err != nil {
					return err
				}
			}
			return ss.send(ss.stopReply(st))
		case ev, ok := <-ss.in:
			if !ok {
				return ss.inErr
			}
			switch ev.kind {
			case inInterrupt:
				ss.m.RequestPause() // the stop arrives on stopped
			case inNak:
				ss.retransmit()
			case inPacket:
				if string(ev.payload) == "vCtrlC" {
					ss.m.RequestPause()
					if err := ss.send(replyOK); err != nil {
						return err
					}
					continue
				}
				// All-stop gdb sends nothing else while the target
				// runs; a confused client gets an error, not a hang.
				ss.srv.logf("gdb: packet %q while the Guest runs refused", truncate(ev.payload))
				if err := ss.send(replyBad); err != nil {
					return err
				}
			}
		case <-ctx.Done():
			// Shutting down as the Guest stopped (lgdbg exits when
			// it dies): gdb still gets the stop, if there is one.
			// Running waits for the stop to be fully delivered.
			if !ss.m.Running() {
				if st := ss.m.LastStop(); st.Reason.Terminal() {
					ss.sendExit(st)
				} else {
					ss.send(ss.stopReply(st))
				}
			}
			return ctx.Err()
		}
	}
}

// haltReason is the stop '?' reports: the Guest's real last stop, so a
// gdb attaching to a Guest the TUI stopped at a breakpoint or watchpoint
// learns that. The Guest is always stopped here (we paused it on connect,
// and every resume waits for a stop). A pause, the connect's own included,
// is reported as SIGTRAP, as QEMU answers '?' after attaching (SIGINT is
// for the reply to a Ctrl-C itself); a dead Guest is also reported stopped
// so gdb can attach to the corpse and inspect it, and resuming it then
// reports the exit (see resume).
func (ss *session) haltReason(last hv.Stop) hv.Stop {
	if last.Reason == hv.StopPaused || last.Reason.Terminal() {
		last.Reason = hv.StopStep
	}
	return last
}

// stopReply is the T packet for a stop (stop reasons: "Stop Reply Packets"
// in the GDB manual). Signal 5 (SIGTRAP) for breakpoints, steps and
// anything the debugger caused; 2 (SIGINT) for a Ctrl-C pause.
func (ss *session) stopReply(st hv.Stop) string {
	sig := 5
	reason := ""
	switch st.Reason {
	case hv.StopPaused:
		sig = 2
	case hv.StopBreakpoint:
		// Report the kind only if gdb said it understands it; with
		// swbreak gdb trusts that EIP already points at the breakpoint
		// (the engine stops before the instruction, no int3 to undo).
		switch k, ok := ss.bps[st.EIP]; {
		case ok && k == bpHardware && ss.hwbreak:
			reason = "hwbreak:;"
		case ok && k == bpSoftware && ss.swbreak:
			reason = "swbreak:;"
		}
	case hv.StopWatchpoint:
		reason = ss.watchReason(st.Exit)
	}
	return fmt.Sprintf("T%02x%sthread:1;", sig, reason)
}

// watchReason names the watchpoint that fired: watch (Z2, write), rwatch
// (Z3, read) or awatch (Z4, access) with the address gdb set it at.
func (ss *session) watchReason(x cpu.Exit) string {
	name := ""
	for w := range ss.watches {
		if w.addr != x.WatchAddr {
			continue
		}
		switch {
		case w.kind == 2 && x.WatchKind&cpu.WatchWrite != 0:
			name = "watch"
		case w.kind == 3 && x.WatchKind&cpu.WatchRead != 0:
			name = "rwatch"
		case w.kind == 4 && name == "":
			name = "awatch"
		}
		if name == "watch" || name == "rwatch" {
			break
		}
	}
	if name == "" {
		// Not ours (the UI set it): still a watchpoint stop.
		name = "awatch"
	}
	return fmt.Sprintf("%s:%x;", name, x.WatchAddr)
}

// sendExit reports a Guest that can never run again: an 'O' line with the
// reason (gdb prints it), then W00 for a clean power-off or restart and
// X<signal> for a death: 09 (SIGKILL) for kill_guest, 06 (SIGABRT) for a
// crash (SHUTDOWN with a panic message, spec §3.3.3), 04 (SIGILL) for an
// instruction the CPU does not implement.
func (ss *session) sendExit(st hv.Stop) error {
	if err := ss.sendConsole(fmt.Sprintf("lgdbg: the Guest is dead: %s\n", st)); err != nil {
		return err
	}
	switch st.Reason {
	case hv.StopPowerOff, hv.StopRestart:
		return ss.send("W00")
	case hv.StopCrash:
		return ss.send("X06")
	case hv.StopUnimplemented:
		return ss.send("X04")
	}
	return ss.send("X09")
}

// sendConsole sends text as 'O' packets, split to fit MaxPacket.
func (ss *session) sendConsole(text string) error {
	const chunk = (MaxPacket - 8) / 2
	for len(text) > 0 {
		n := min(len(text), chunk)
		if err := ss.sendBytes(append([]byte{'O'}, encodeHex([]byte(text[:n]))...)); err != nil {
			return err
		}
		text = text[n:]
	}
	return nil
}

func (ss *session) readRegs() error {
	v := takeView(ss.m)
	out := make([]byte, 0, numGRegs*8)
	for _, d := range regTable[:numGRegs] {
		out = append(out, encodeHex(d.read(v))...)
	}
	return ss.sendBytes(out)
}

// writeRegs is 'G': every register of a 'g' packet, validated before any
// is changed, so a refused segment write leaves the rest alone too.
func (ss *session) writeRegs(arg []byte) error {
	if len(arg) < numGRegs*8 {
		return fmt.Errorf("G: %d hex digits, want at least %d", len(arg), numGRegs*8)
	}
	v := takeView(ss.m)
	vals := make([][]byte, numGRegs)
	for i, d := range regTable[:numGRegs] {
		b, err := decodeHex(arg[8*i : 8*i+8])
		if err != nil {
			return fmt.Errorf("G: register %s: %w", d.name, err)
		}
		if d.write == nil && string(b) != string(d.read(v)) {
			return refusal{d.why}
		}
		vals[i] = b
	}
	for i, d := range regTable[:numGRegs] {
		if d.write == nil {
			continue
		}
		if err := d.write(ss.m, v, vals[i]); err != nil {
			return fmt.Errorf("G: %w", err)
		}
	}
	return nil
}

func (ss *session) readReg(arg []byte) error {
	n, err := parseHex32(arg)
	if err != nil || n >= uint32(len(regTable)) {
		return ss.send(replyBad)
	}
	return ss.sendBytes(encodeHex(regTable[n].read(takeView(ss.m))))
}

func (ss *session) writeReg(arg []byte) error {
	num, val, ok := bytes.Cut(arg, []byte{'='})
	if !ok {
		return errors.New("P: no '='")
	}
	n, err := parseHex32(num)
	if err != nil {
		return fmt.Errorf("P: %w", err)
	}
	b, err := decodeHex(val)
	if err != nil {
		return fmt.Errorf("P: %w", err)
	}
	return writeRegister(ss.m, takeView(ss.m), int(n), b)
}

var (
	errMemFault    = errors.New("memory not accessible")
	errUnsupported = errors.New("not supported")
)

// parseAddrLen parses "ADDR,LEN".
func parseAddrLen(s []byte) (addr, n uint32, err error) {
	a, l, ok := bytes.Cut(s, []byte{','})
	if !ok {
		return 0, 0, fmt.Errorf("%q: want ADDR,LENGTH", truncate(s))
	}
	if addr, err = parseHex32(a); err != nil {
		return 0, 0, err
	}
	if n, err = parseHex32(l); err != nil {
		return 0, 0, err
	}
	return addr, n, nil
}

// readMem answers m ADDR,LEN. Memory is read through the Guest's own
// translation (Machine.ReadVirt). A read that runs into an unmapped page
// returns the part before it, which the protocol allows; nothing at all
// is E14.
func (ss *session) readMem(arg []byte) error {
	addr, n, err := parseAddrLen(arg)
	if err != nil || n > maxMem {
		return ss.send(replyBad)
	}
	if uint64(addr)+uint64(n) > 1<<32 {
		n = uint32(1<<32 - uint64(addr))
	}
	buf := make([]byte, n)
	read := ss.m.ReadVirt
	if ss.physMem {
		read = ss.m.ReadPhys
	}
	got := 0
	for got < len(buf) {
		a := addr + uint32(got)
		k := min(len(buf)-got, int(0x1000-a&0xFFF))
		if read(a, buf[got:got+k]) != nil {
			break
		}
		got += k
	}
	if got == 0 && n > 0 {
		return ss.send(replyMemFault)
	}
	return ss.sendBytes(encodeHex(buf[:got]))
}

func (ss *session) writeMemHex(arg []byte) error {
	head, data, ok := bytes.Cut(arg, []byte{':'})
	if !ok {
		return errors.New("M: no ':'")
	}
	addr, n, err := parseAddrLen(head)
	if err != nil {
		return fmt.Errorf("M: %w", err)
	}
	b, err := decodeHex(data)
	if err != nil {
		return fmt.Errorf("M: %w", err)
	}
	if uint32(len(b)) != n {
		return fmt.Errorf("M: length %d but %d bytes of data", n, len(b))
	}
	return ss.writeMem(addr, b)
}

// writeMemBinary handles X ADDR,LEN:data (data already unescaped). gdb
// probes for X support with a zero-length write.
func (ss *session) writeMemBinary(arg []byte) error {
	head, data, ok := bytes.Cut(arg, []byte{':'})
	if !ok {
		return errors.New("X: no ':'")
	}
	addr, n, err := parseAddrLen(head)
	if err != nil {
		return fmt.Errorf("X: %w", err)
	}
	if uint32(len(data)) != n {
		return fmt.Errorf("X: length %d but %d bytes of data", n, len(data))
	}
	return ss.writeMem(addr, data)
}

func (ss *session) writeMem(addr uint32, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if uint64(addr)+uint64(len(b)) > 1<<32 {
		return fmt.Errorf("write at %#x+%d wraps the address space: %w", addr, len(b), errMemFault)
	}
	if ss.physMem {
		// Above the Guest's memory are the shadow tables and the
		// Switcher: readable, but a write there would corrupt the
		// Host's own state behind its back.
		if lim := ss.m.GuestPhysLimit(); uint64(addr)+uint64(len(b)) > uint64(lim) {
			return fmt.Errorf("physical write at %#x+%d: only guest memory below %#x is writable: %w", addr, len(b), lim, errMemFault)
		}
		if err := ss.m.WritePhys(addr, b); err != nil {
			return fmt.Errorf("%w: %w", errMemFault, err)
		}
		return nil
	}
	// Check every page first so a write that runs into an unmapped page
	// fails whole instead of leaving half of it behind.
	for va := addr &^ 0xFFF; ; va += 0x1000 {
		if _, ok := ss.m.VirtToPhys(va); !ok {
			return fmt.Errorf("write at %#x+%d: page %#x not mapped: %w", addr, len(b), va, errMemFault)
		}
		if va >= (addr+uint32(len(b))-1)&^0xFFF {
			break
		}
	}
	if err := ss.m.WriteVirt(addr, b); err != nil {
		return fmt.Errorf("%w: %w", errMemFault, err)
	}
	return nil
}

// breakpoint handles Z/z TYPE,ADDR,KIND. Types 0 and 1 are both engine
// breakpoints (the CPU checks EIP; memory is never patched, so a software
// breakpoint cannot be overwritten by the Guest or seen by its checksums).
// Types 2-4 are watchpoints on KIND bytes.
func (ss *session) breakpoint(insert bool, arg []byte) error {
	parts := bytes.Split(arg, []byte{','})
	if len(parts) < 3 {
		return fmt.Errorf("Z/z %q: want TYPE,ADDR,KIND", truncate(arg))
	}
	typ, err := strconv.Atoi(string(parts[0]))
	if err != nil || typ < 0 {
		return fmt.Errorf("Z/z type %q: not a type number", truncate(parts[0]))
	}
	addr, err := parseHex32(parts[1])
	if err != nil {
		return fmt.Errorf("Z/z address: %w", err)
	}
	// KIND may carry ";cond_list" for target-side conditions, which we
	// do not advertise; cut it off.
	kindField, _, _ := bytes.Cut(parts[2], []byte{';'})
	kind, err := parseHex32(kindField)
	if err != nil {
		return fmt.Errorf("Z/z kind: %w", err)
	}
	switch typ {
	case 0, 1:
		k := bpKind(typ)
		// The Machine counts front ends per address; this session holds
		// one reference however often gdb inserts the same address.
		_, have := ss.bps[addr]
		if insert {
			if !have && len(ss.bps) >= maxBreakpoints {
				return fmt.Errorf("Z%d %#x: this session already has %d breakpoints, the limit", typ, addr, maxBreakpoints)
			}
			if !have {
				ss.m.SetBreakpoint(addr)
			}
			ss.bps[addr] = k
		} else {
			if have {
				ss.m.ClearBreakpoint(addr)
			}
			delete(ss.bps, addr)
		}
		return nil
	case 2, 3, 4:
		if kind == 0 || kind > 1<<20 {
			return fmt.Errorf("watchpoint length %d out of range", kind)
		}
		if uint64(addr)+uint64(kind) > 1<<32 {
			return fmt.Errorf("watchpoint %#x+%d wraps the address space", addr, kind)
		}
		key := watchKey{addr: addr, n: kind, kind: typ}
		if insert {
			if !ss.watches[key] && len(ss.watches) >= maxWatchpoints {
				return fmt.Errorf("Z%d %#x: this session already has %d watchpoints, the limit", typ, addr, maxWatchpoints)
			}
			ss.m.SetWatchpoint(addr, kind, watchKind(typ))
			ss.watches[key] = true
		} else {
			ss.m.ClearWatchpoint(addr, kind, watchKind(typ))
			delete(ss.watches, key)
		}
		return nil
	}
	return fmt.Errorf("Z/z type %d: %w", typ, errUnsupported)
}

// watchKind maps a Z type to the engine's access kind.
func watchKind(typ int) cpu.WatchKind {
	switch typ {
	case 2:
		return cpu.WatchWrite
	case 3:
		return cpu.WatchRead
	}
	return cpu.WatchAccess
}

// truncate keeps log lines short for hostile packets.
func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}
