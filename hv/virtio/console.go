package virtio

import (
	"fmt"
	"sync"
)

// Console queue indexes (spec §2.7): the Launcher creates the input queue
// first, then the output queue.
const (
	ConsoleRx = 0 // receiveq: Host → Guest (keyboard)
	ConsoleTx = 1 // transmitq: Guest → Host (screen)
)

// maxPendingInput bounds the input held for a Guest that has not posted
// receive buffers (a tty's buffer plays this role for the Launcher).
const maxPendingInput = 64 << 10

// outChunk bounds one call of the output callback: a hostile Guest may
// point a transmit buffer at all of guest memory.
const outChunk = 64 << 10

// Console is the virtio console (type 3): no features, no config, two
// queues. Output is handed to the out callback; input is queued by Input
// from any goroutine and delivered by Bus.Poll on the Host goroutine.
type Console struct {
	t   Transport
	out func([]byte)

	mu     sync.Mutex
	cond   *sync.Cond // signalled when pending input drains or on Close
	in     []byte     // input that arrived from outside, not yet admitted
	closed bool
	// ready is input the Host has admitted for the Guest (Admit, at a
	// deterministic point of its loop) and not yet delivered: Guest-visible
	// device state, saved in checkpoints. What arrives in in is not, so a
	// replay from a checkpoint admits the recorded bytes instead.
	ready []byte
	// gated: only Admit makes input Guest-visible (the Host's loop calls
	// it at deterministic instants); ungated, delivery admits it itself.
	gated bool
}

// Gate makes Admit and AdmitRecorded the only way input reaches the Guest.
// Host goroutine, before the first run.
func (c *Console) Gate() { c.gated = true }

// Admit moves the input that arrived from outside into the device, where
// the Guest can receive it, and returns the bytes admitted (the Host
// records them for replay). Host goroutine.
func (c *Console) Admit() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := min(len(c.in), maxPendingInput-len(c.ready))
	if k <= 0 {
		return nil
	}
	p := append([]byte(nil), c.in[:k]...)
	c.ready = append(c.ready, p...)
	c.in = c.in[:copy(c.in, c.in[k:])]
	c.cond.Broadcast()
	return p
}

// AdmitRecorded admits bytes recorded earlier (a replay) instead of the
// outside input. Host goroutine.
func (c *Console) AdmitRecorded(p []byte) {
	c.mu.Lock()
	c.ready = append(c.ready, p...)
	c.mu.Unlock()
}

// Ready is the admitted input not yet delivered, and SetReady replaces it
// (checkpoints). Host goroutine.
func (c *Console) Ready() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.ready...)
}

func (c *Console) SetReady(p []byte) {
	c.mu.Lock()
	c.ready = append(c.ready[:0], p...)
	c.mu.Unlock()
}

// AddConsole adds the console to the bus. The Launcher always creates it,
// after the command-line devices (spec §2.7). out receives every byte the
// Guest transmits, on the Host goroutine, in order; it may keep the slice.
func (b *Bus) AddConsole(out func([]byte)) (*Console, error) {
	c := NewConsole(out)
	d, err := b.addDevice("console", TypeConsole, 2, nil, nil, c)
	if err != nil {
		return nil, err
	}
	c.t = d
	return c, nil
}

// NewConsole is the console device for another transport (hv/pci); call
// Attach before the Guest can reach it.
func NewConsole(out func([]byte)) *Console {
	c := &Console{out: out}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Attach sets the transport whose queues 0 (receive) and 1 (transmit) the
// console uses.
func (c *Console) Attach(t Transport) { c.t = t }

// Input queues p for the Guest, blocking while maxPendingInput bytes are
// already waiting (back-pressure for a stdin reader). It returns the number
// of bytes accepted, which is short only if the console was closed.
// Goroutine-safe.
func (c *Console) Input(p []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for len(p) > 0 {
		for len(c.in) >= maxPendingInput && !c.closed {
			c.cond.Wait()
		}
		if c.closed {
			break
		}
		k := min(len(p), maxPendingInput-len(c.in))
		c.in = append(c.in, p[:k]...)
		p, n = p[k:], n+k
		if c.t != nil {
			c.t.SignalInput()
		}
	}
	return n
}

// TryInput is Input without blocking (for a UI event loop): it accepts
// what fits and returns the count. Goroutine-safe.
func (c *Console) TryInput(p []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0
	}
	k := min(len(p), maxPendingInput-len(c.in))
	if k > 0 {
		c.in = append(c.in, p[:k]...)
		if c.t != nil {
			c.t.SignalInput()
		}
	}
	return k
}

// Pending is the number of input bytes not yet delivered. Goroutine-safe.
func (c *Console) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.in) + len(c.ready)
}

// Close wakes blocked Input calls and refuses further input (the Guest is
// gone). Goroutine-safe.
func (c *Console) Close() {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
}

func (c *Console) Kick(qi int) error {
	switch qi {
	case ConsoleTx:
		return c.transmit()
	case ConsoleRx:
		// New receive buffers: deliver whatever input is waiting.
		return c.Poll()
	}
	return fmt.Errorf("virtio: console has no queue %d", qi)
}

// transmit is the Launcher's console_output run until the ring is empty,
// then the trigger_irq it does before sleeping.
func (c *Console) transmit() error {
	q := c.t.Queue(ConsoleTx)
	if q == nil {
		return nil
	}
	err := q.Serve(func(ch Chain) (uint32, error) {
		if len(ch.In) != 0 {
			return 0, fmt.Errorf("Input buffers in console output queue?")
		}
		for _, s := range ch.Out {
			b := q.Bytes(s)
			for len(b) > 0 && c.out != nil {
				k := min(len(b), outChunk)
				c.out(append([]byte(nil), b[:k]...))
				b = b[k:]
			}
		}
		return 0, nil
	})
	if err != nil {
		return err
	}
	c.t.Trigger(ConsoleTx)
	return nil
}

// poll is the Launcher's console_input: each posted buffer gets as much of
// the pending input as fits (one readv), is marked used with that length,
// and the queue's interrupt is raised (add_used_and_trigger).
func (c *Console) Poll() error {
	if !c.gated {
		c.Admit()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.ready) == 0 {
		return nil
	}
	q := c.t.Queue(ConsoleRx)
	if q == nil {
		return nil
	}
	for len(c.ready) > 0 {
		ch, ok, err := q.Pop()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if len(ch.Out) != 0 {
			return fmt.Errorf("Output buffers in console in queue?")
		}
		// A zero-capacity buffer makes the Launcher's readv return 0, which
		// it takes for end of input and stops the console for good; we
		// knowingly hand the buffer back empty instead.
		n := q.WriteIn(ch, c.ready)
		c.ready = c.ready[:copy(c.ready, c.ready[n:])]
		q.Push(ch.Head, n)
		c.t.Trigger(ConsoleRx)
	}
	c.cond.Broadcast()
	return nil
}

// reset keeps pending input: it sits in the tty until the Guest's driver
// posts buffers again.
func (c *Console) Reset() {}
