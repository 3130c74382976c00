package gdbstub

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lgdbg/lgdbg/hv"
)

// fakeGDB is a minimal RSP client for tests: it writes raw bytes and reads
// the stub's output on a goroutine, splitting it into acks and packets.
type fakeGDB struct {
	t     testing.TB
	conn  net.Conn
	items chan wireItem
	noAck bool
	ended chan struct{} // closed when the stub side hung up
	done  chan struct{} // ServeConn returned
}

type wireItem struct {
	ack     byte   // '+' or '-', or 0 for a packet
	payload string // unescaped packet payload
	sumOK   bool
}

const wait = 5 * time.Second

// connect starts a session on m over net.Pipe.
func connect(t testing.TB, m *hv.Machine) *fakeGDB {
	t.Helper()
	a, b := net.Pipe()
	c := &fakeGDB{t: t, conn: a, items: make(chan wireItem, 64), ended: make(chan struct{}), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	srv := NewServer(m, Options{Logf: t.Logf})
	go func() {
		srv.ServeConn(ctx, b)
		close(c.done)
	}()
	go c.readLoop()
	t.Cleanup(func() {
		a.Close()
		cancel()
		select {
		case <-c.done:
		case <-time.After(wait):
			t.Error("session did not end after the client hung up")
		}
	})
	return c
}

func (c *fakeGDB) readLoop() {
	defer close(c.ended)
	r := bufio.NewReader(c.conn)
	for {
		b, err := r.ReadByte()
		if err != nil {
			return
		}
		switch b {
		case '+', '-':
			c.items <- wireItem{ack: b}
		case '$':
			var raw []byte
			var sum byte
			for {
				b, err = r.ReadByte()
				if err != nil {
					return
				}
				if b == '#' {
					break
				}
				sum += b
				raw = append(raw, b)
			}
			h, _ := r.ReadByte()
			l, _ := r.ReadByte()
			want, ok := parseHexByte(h, l)
			c.items <- wireItem{payload: string(unescape(raw)), sumOK: ok && want == sum}
		default:
			c.t.Errorf("stray byte %#x from the stub", b)
		}
	}
}

func (c *fakeGDB) write(s string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(wait))
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// sendPacket frames and writes a packet (escaping as gdb does).
func (c *fakeGDB) sendPacket(payload string) { c.t.Helper(); c.write(string(frame([]byte(payload)))) }

func (c *fakeGDB) next() wireItem {
	c.t.Helper()
	select {
	case it := <-c.items:
		return it
	case <-time.After(wait):
		c.t.Fatal("timed out waiting for the stub")
	}
	return wireItem{}
}

func (c *fakeGDB) expectAck(want byte) {
	c.t.Helper()
	if it := c.next(); it.ack != want {
		c.t.Fatalf("want ack %q, got %+v", want, it)
	}
}

// recv returns the next packet, acknowledging it in ack mode.
func (c *fakeGDB) recv() string {
	c.t.Helper()
	it := c.next()
	if it.ack != 0 {
		c.t.Fatalf("want a packet, got ack %q", it.ack)
	}
	if !it.sumOK {
		c.t.Fatalf("packet %q has a bad checksum", it.payload)
	}
	if !c.noAck {
		// The stub may already have hung up (after D): an ack that
		// cannot be delivered is not an error, as with TCP.
		c.conn.SetWriteDeadline(time.Now().Add(wait))
		c.conn.Write([]byte("+"))
	}
	return it.payload
}

// cmd sends a packet and returns the reply, skipping 'O' console packets
// (returned separately, hex-decoded; an empty one is a keep-alive).
func (c *fakeGDB) cmd(payload string) (reply, console string) {
	c.t.Helper()
	c.sendPacket(payload)
	if !c.noAck {
		c.expectAck('+')
	}
	var out strings.Builder
	for {
		r := c.recv()
		if len(r) > 0 && r[0] == 'O' && r != "OK" {
			b, err := decodeHex([]byte(r[1:]))
			if err != nil {
				c.t.Fatalf("O packet %q: %v", r, err)
			}
			out.Write(b)
			continue
		}
		return r, out.String()
	}
}

// ask is cmd for replies without console output.
func (c *fakeGDB) ask(payload string) string {
	c.t.Helper()
	r, out := c.cmd(payload)
	if out != "" {
		c.t.Errorf("%s: unexpected console output %q", payload, out)
	}
	return r
}

// quiet asserts nothing more arrives for a short while.
func (c *fakeGDB) quiet() {
	c.t.Helper()
	select {
	case it := <-c.items:
		c.t.Fatalf("unexpected %+v from the stub", it)
	case <-time.After(50 * time.Millisecond):
	}
}

// hungUp waits for the stub to close the connection.
func (c *fakeGDB) hungUp() {
	c.t.Helper()
	select {
	case <-c.ended:
	case <-time.After(wait):
		c.t.Fatal("the stub did not close the connection")
	}
}
