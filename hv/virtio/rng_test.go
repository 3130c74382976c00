package virtio

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
)

// countingSource yields 0, 1, 2, ... so the test knows every byte.
type countingSource struct{ next byte }

func (c *countingSource) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.next
		c.next++
	}
	return len(p), nil
}

type failingSource struct{}

func (failingSource) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// With rng then console: rng queue at pfn 0x11, guest_limit 0x1a000.
const tRNGQ = 0x11000

func newRNGRig(t *testing.T, src io.Reader) (*Bus, *RNG, *guestRing, *[]int) {
	t.Helper()
	b, err := NewBus(tRAM)
	if err != nil {
		t.Fatal(err)
	}
	rng, err := b.AddRNG(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddConsole(nil); err != nil {
		t.Fatal(err)
	}
	m := newMem(t, b.GuestLimit())
	if err := b.Install(m); err != nil {
		t.Fatal(err)
	}
	irqs := &[]int{}
	b.SetIRQ(func(irq int) { *irqs = append(*irqs, irq) })
	m.Write8(tRAM+4, StatusAcknowledge|StatusDriver)
	if res := b.Notify(tRAM); res.Device != "rng" || res.Fatal != "" {
		t.Fatalf("start: %+v", res)
	}
	return b, rng, newGuestRing(t, m, tRNGQ, QueueNum), irqs
}

func TestRNGFillsBuffers(t *testing.T) {
	b, rng, q, irqs := newRNGRig(t, &countingSource{})
	d := b.Devices()[0]
	if d.Type != TypeRNG || len(d.Offered) != 0 || len(d.Config) != 0 || d.Queues[0].IRQ != 1 {
		t.Fatalf("rng device %+v", d)
	}
	// One chain of two writable buffers, then a single one.
	q.desc(0, 0x3000, 5, DescFWrite|DescFNext, 1)
	q.desc(1, 0x4000, 3, DescFWrite, 0)
	q.desc(2, 0x5000, 40000, DescFWrite, 0)
	q.publish(0)
	q.publish(2)
	if res := b.Notify(tRNGQ); res.Fatal != "" || res.Kind != NotifyKick {
		t.Fatalf("kick: %+v", res)
	}
	if got := readStr(t, q.m, 0x3000, 5) + readStr(t, q.m, 0x4000, 3); got != "\x00\x01\x02\x03\x04\x05\x06\x07" {
		t.Fatalf("bytes % x", got)
	}
	big := make([]byte, 40000)
	q.m.ReadBytes(0x5000, big)
	for i, c := range big {
		if c != byte(8+i) {
			t.Fatalf("byte %d of the big buffer = %#x", i, c)
		}
	}
	if _, n := q.usedElem(0); n != 8 {
		t.Fatalf("used len %d, want 8", n)
	}
	if _, n := q.usedElem(1); n != 40000 {
		t.Fatalf("used len %d, want 40000", n)
	}
	if !slices.Equal(*irqs, []int{1}) || rng.Bytes != 40008 {
		t.Fatalf("irqs %v bytes %d", *irqs, rng.Bytes)
	}
}

func TestRNGHostile(t *testing.T) {
	b, _, q, _ := newRNGRig(t, &countingSource{})
	q.desc(0, 0x3000, 4, 0, 0)
	q.publish(0)
	if got := b.Notify(tRNGQ).Fatal; got != "Output buffers in rng?" {
		t.Fatalf("fatal %q", got)
	}
	b, _, q, _ = newRNGRig(t, failingSource{})
	q.desc(0, 0x3000, 4, DescFWrite, 0)
	q.publish(0)
	if got := b.Notify(tRNGQ).Fatal; got != "Read from /dev/urandom gave -1: no entropy" {
		t.Fatalf("fatal %q", got)
	}
	b, _, q, _ = newRNGRig(t, bytes.NewReader(nil))
	q.desc(0, 0x3000, 4, DescFWrite, 0)
	q.publish(0)
	if got := b.Notify(tRNGQ).Fatal; got != "Read from /dev/urandom gave 0" {
		t.Fatalf("fatal %q", got)
	}
}
