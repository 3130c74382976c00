// Package gdbstub is lgdbg's GDB Remote Serial Protocol server: `gdb
// vmlinux` with `target remote :1234` debugs the lguest Guest as it would a
// QEMU guest, and `monitor ...` commands show what only the Host knows
// (page walks guest-versus-shadow, linear_pages, the hypercall log, the
// shadow pgdir cache).
//
// The stub follows QEMU's gdbstub where gdb users have expectations:
// connecting pauses the Guest, one session at a
// time, T05 stop replies with swbreak/hwbreak/watch reasons, monitor output
// as 'O' packets. It differs where the Host allows better: breakpoints and
// watchpoints are the engine's (the CPU checks them; guest memory is never
// patched), and no-ack mode is supported.
//
// Layout: packet.go is the wire format, server.go the connection and run
// control, commands.go the packet handlers, monitor.go the qRcmd commands,
// regs.go and target.go the i386 register layout.
package gdbstub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lgdbg/lgdbg/hv"
)

// Options tune a Server. The zero value is fine.
type Options struct {
	// Logf, if set, receives one line per notable protocol event
	// (connections, malformed packets). It must be safe for concurrent use.
	Logf func(format string, args ...any)
	// OnKill, if set, is called when gdb sends 'k' (gdb's kill): the
	// person is done with this Guest, and lgdbg's CLI ends the run, as
	// QEMU exits. Without it a kill only ends the session.
	OnKill func()
}

// Server serves gdb sessions for one Machine, one session at a time.
type Server struct {
	m    *hv.Machine
	opts Options

	busy     atomic.Bool  // a session is active
	refusing atomic.Int32 // connections being told the stub is busy
	wg       sync.WaitGroup
}

// Refusing a second gdb: it is told why (an "E.text" reply to its first
// packet, which gdb prints as "Remote failure reply: ..."), within a
// bounded time and for a bounded number at once, so a flood of connections
// costs a few goroutines at most.
const (
	busyMessage    = "E.another gdb is already attached to this lgdbg; only one session at a time"
	refuseTimeout  = 2 * time.Second
	maxRefusing    = 8
	refuseDrainFor = 200 * time.Millisecond
)

// NewServer returns a Server for m.
func NewServer(m *hv.Machine, opts Options) *Server {
	return &Server{m: m, opts: opts}
}

// Listen opens the TCP listener for addr, binding to loopback when addr
// names no host (":1234" means 127.0.0.1:1234): a gdb stub can read and
// write all Guest memory, so exposing it is a deliberate choice.
func Listen(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("gdb listen address %q: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("gdb stub: %w", err)
	}
	return ln, nil
}

// Serve accepts gdb connections on ln until ctx ends, then closes ln, ends
// the active session and returns nil. Any other accept error is returned.
func Serve(ctx context.Context, ln net.Listener, m *hv.Machine, opts Options) error {
	return NewServer(m, opts).Serve(ctx, ln)
}

// Serve is the accept loop. A second gdb connecting while a session is
// active is refused, as QEMU does: two debuggers fighting over one vCPU's
// run state helps nobody. Unlike QEMU we say why (see refuse).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	defer s.wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("gdb stub accept: %w", err)
		}
		if !s.busy.CompareAndSwap(false, true) {
			s.logf("gdb: refusing %s: a session is already active", conn.RemoteAddr())
			if s.refusing.Add(1) > maxRefusing {
				s.refusing.Add(-1)
				conn.Close()
				continue
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer s.refusing.Add(-1)
				refuse(conn)
			}()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.busy.Store(false)
			s.ServeConn(ctx, conn)
		}()
	}
}

// refuse answers the first packet of a connection we cannot serve with
// busyMessage, then hangs up. gdb ignores anything sent before it asks, so
// the reply waits for its first packet (qSupported).
func refuse(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(refuseTimeout))
	pr := newPacketReader(conn)
	for {
		ev, err := pr.next()
		if err != nil {
			return
		}
		if ev.kind == inPacket || ev.kind == inOversized {
			break
		}
	}
	if _, err := conn.Write(append([]byte{'+'}, frame([]byte(busyMessage))...)); err != nil {
		return
	}
	// Let gdb read the reply and ack it before we close: closing with its
	// '+' unread would reset the connection under the message.
	conn.SetReadDeadline(time.Now().Add(refuseDrainFor))
	var buf [64]byte
	for {
		if _, err := conn.Read(buf[:]); err != nil {
			return
		}
	}
}

// ServeConn runs one gdb session on conn (any net.Conn: tests use
// net.Pipe) and closes it. It returns when gdb detaches, kills, hangs up or
// ctx ends. The Guest survives all of these: a detach resumes it, anything
// else leaves it paused or running as it was.
func (s *Server) ServeConn(ctx context.Context, conn net.Conn) {
	ss := newSession(s, conn)
	s.logf("gdb: session from %s", conn.RemoteAddr())
	err := ss.run(ctx)
	ss.close()
	if err != nil {
		s.logf("gdb: session from %s ended: %v", conn.RemoteAddr(), err)
	} else {
		s.logf("gdb: session from %s ended", conn.RemoteAddr())
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// bpKind records which Z type set an engine breakpoint, so the stop reply
// can say swbreak or hwbreak as gdb asked.
type bpKind int

const (
	bpSoftware bpKind = iota // Z0
	bpHardware               // Z1
)

type watchKey struct {
	addr, n uint32
	kind    int // Z type: 2 write, 3 read, 4 access
}

// session is one gdb connection.
type session struct {
	srv  *Server
	m    *hv.Machine
	conn net.Conn

	wmu     sync.Mutex // serialises writes: the reader goroutine acks
	noAck   atomic.Bool
	lastOut []byte // the last packet sent, for '-' retransmission

	in    chan inEvent
	inErr error         // why the reader stopped (valid once in is closed)
	done  chan struct{} // closed when the session ends: stops the reader

	// Features gdb announced in qSupported.
	swbreak, hwbreak bool
	// physMem: m/M/X address guest-physical memory (Qqemu.PhyMemMode:1).
	physMem bool
	// stopOns: Host events armed with monitor stop-on.
	stopOns []stopOn

	// Breakpoints and watchpoints this session set in the engine; removed
	// when it ends, so an orphan breakpoint never stops a Guest nobody is
	// debugging.
	bps     map[uint32]bpKind
	watches map[watchKey]bool
}

func newSession(s *Server, conn net.Conn) *session {
	return &session{
		srv: s, m: s.m, conn: conn,
		in:      make(chan inEvent, 16),
		done:    make(chan struct{}),
		bps:     map[uint32]bpKind{},
		watches: map[watchKey]bool{},
	}
}

// errSessionEnd ends a session normally (D, k).
var errSessionEnd = errors.New("session ended by gdb")

// run is the session's command loop.
func (ss *session) run(ctx context.Context) error {
	// QEMU stops the VM when gdb connects (gdb_chr_event); gdb's first
	// questions ('?', 'g') assume a stopped target.
	ss.m.Pause()
	go ss.readLoop()
	for {
		ev, err := ss.next(ctx)
		if err != nil {
			return err
		}
		if ev.kind != inPacket {
			continue
		}
		if err := ss.dispatch(ctx, ev.payload); err != nil {
			if errors.Is(err, errSessionEnd) {
				return nil
			}
			return err
		}
	}
}

// next returns the next packet or interrupt, handling the protocol-level
// events (NAKs, malformed frames) itself. It is used both between
// commands and while the Guest runs.
func (ss *session) next(ctx context.Context) (inEvent, error) {
	for {
		select {
		case <-ctx.Done():
			return inEvent{}, ctx.Err()
		case ev, ok := <-ss.in:
			if !ok {
				return inEvent{}, ss.inErr
			}
			switch ev.kind {
			case inNak:
				ss.retransmit()
				continue
			case inOversized:
				// Acked by the reader (retransmitting it would not
				// help); tell gdb the command failed.
				ss.srv.logf("gdb: packet longer than %d bytes refused", MaxPacket)
				if err := ss.send("E01"); err != nil {
					return inEvent{}, err
				}
				continue
			case inBadSum:
				ss.srv.logf("gdb: packet with a bad checksum")
				continue // the reader NAKed it; gdb resends
			}
			return ev, nil
		}
	}
}

// readLoop turns the byte stream into events. Acknowledgements are sent
// here, as soon as a frame is complete, so gdb is never left waiting for
// a '+' while a long command (a continue) runs.
func (ss *session) readLoop() {
	defer close(ss.in)
	pr := newPacketReader(ss.conn)
	for {
		ev, err := pr.next()
		if err != nil {
			ss.inErr = fmt.Errorf("reading from gdb: %w", err)
			return
		}
		if !ss.noAck.Load() {
			switch ev.kind {
			case inPacket, inOversized:
				err = ss.writeRaw([]byte{'+'})
			case inBadSum:
				err = ss.writeRaw([]byte{'-'})
			}
			if err != nil {
				ss.inErr = fmt.Errorf("acknowledging: %w", err)
				return
			}
		}
		select {
		case ss.in <- ev:
		case <-ss.done:
			return
		}
	}
}

func (ss *session) writeRaw(b []byte) error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	// A gdb that stopped reading must not wedge the session forever.
	ss.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := ss.conn.Write(b)
	if err != nil {
		return fmt.Errorf("writing to gdb: %w", err)
	}
	return nil
}

// send frames and writes one reply packet.
func (ss *session) send(payload string) error {
	return ss.sendBytes([]byte(payload))
}

func (ss *session) sendBytes(payload []byte) error {
	f := frame(payload)
	ss.wmu.Lock()
	ss.lastOut = f
	ss.wmu.Unlock()
	return ss.writeRaw(f)
}

// retransmit answers a '-' by sending the last packet again (ack mode).
func (ss *session) retransmit() {
	ss.wmu.Lock()
	f := ss.lastOut
	ss.wmu.Unlock()
	if f != nil && !ss.noAck.Load() {
		ss.writeRaw(f) // a write error shows up on the next send or read
	}
}

// close removes the session's breakpoints and watchpoints and hangs up.
// The Guest's run state is left alone.
func (ss *session) close() {
	ss.clearAll()
	close(ss.done)
	ss.conn.Close()
}

func (ss *session) clearAll() {
	for addr := range ss.bps {
		ss.m.ClearBreakpoint(addr)
	}
	clear(ss.bps)
	for w := range ss.watches {
		ss.m.ClearWatchpoint(w.addr, w.n, watchKind(w.kind))
	}
	clear(ss.watches)
}
