package virtio

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

// Guest buffers for the console tests live in RAM below the device page.
const (
	tBufA = 0x3000
	tBufB = 0x4000
	tBufC = 0x5000
)

func TestConsoleTransmit(t *testing.T) {
	r := newConsoleRig(t)
	r.start(t)

	// One single-descriptor buffer, like hvc's put_chars.
	writeStr(t, r.m, tBufA, "hello, ")
	r.tx.desc(0, tBufA, 7, 0, 0)
	r.tx.publish(0)
	res := r.bus.Notify(tTxAddr)
	if res.Kind != NotifyKick || res.Fatal != "" || res.Device != "console" || res.Queue != ConsoleTx {
		t.Fatalf("kick: %+v", res)
	}
	if r.out.String() != "hello, " {
		t.Fatalf("out = %q", r.out.String())
	}
	if id, n := r.tx.usedElem(0); r.tx.usedIdx() != 1 || id != 0 || n != 0 {
		t.Fatalf("used idx %d elem {%d,%d}", r.tx.usedIdx(), id, n)
	}
	if !slices.Equal(r.irqs, []int{2}) {
		t.Fatalf("irqs %v, want [2] (transmitq is the second queue)", r.irqs)
	}

	// Two buffers before one kick, one of them chained: serviced in order,
	// one interrupt when the ring runs dry.
	writeStr(t, r.m, tBufB, "wor")
	writeStr(t, r.m, tBufC, "ld\n!")
	r.tx.desc(1, tBufB, 3, DescFNext, 2)
	r.tx.desc(2, tBufC, 3, 0, 0)
	r.tx.desc(3, tBufC+3, 1, 0, 0)
	r.tx.publish(1)
	r.tx.publish(3)
	r.irqs = nil
	if res := r.bus.Notify(tTxAddr); res.Fatal != "" {
		t.Fatal(res.Fatal)
	}
	if r.out.String() != "hello, world\n!" {
		t.Fatalf("out = %q", r.out.String())
	}
	if !slices.Equal(r.irqs, []int{2}) || r.tx.usedIdx() != 3 {
		t.Fatalf("irqs %v used.idx %d", r.irqs, r.tx.usedIdx())
	}
	if id, _ := r.tx.usedElem(1); id != 1 {
		t.Fatalf("used[1].id = %d, want head 1", id)
	}

	// NO_INTERRUPT: serviced, but no IRQ.
	r.tx.setAvailFlags(AvailFNoInterrupt)
	r.tx.publish(0)
	r.irqs = nil
	r.bus.Notify(tTxAddr)
	if len(r.irqs) != 0 || r.tx.usedIdx() != 4 {
		t.Fatalf("NO_INTERRUPT: irqs %v used.idx %d", r.irqs, r.tx.usedIdx())
	}

	// A kick with nothing new: nothing happens.
	r.bus.Notify(tTxAddr)
	if len(r.irqs) != 0 || r.tx.usedIdx() != 4 {
		t.Fatal("empty kick did something")
	}
}

// A hostile Guest pointing a transmit buffer at all of guest memory gets
// its output streamed in bounded chunks, not one giant allocation.
func TestConsoleTransmitChunked(t *testing.T) {
	r := newConsoleRig(t)
	var calls []int
	r.cons.out = func(p []byte) { calls = append(calls, len(p)) }
	r.start(t)
	r.tx.desc(0, 0, tConsLimit, 0, 0)
	r.tx.publish(0)
	if res := r.bus.Notify(tTxAddr); res.Fatal != "" {
		t.Fatal(res.Fatal)
	}
	total := 0
	for _, n := range calls {
		if n > outChunk {
			t.Fatalf("chunk of %d bytes", n)
		}
		total += n
	}
	if total != tConsLimit || len(calls) != 2 {
		t.Fatalf("chunks %v total %d", calls, total)
	}
}

func TestConsoleReceive(t *testing.T) {
	r := newConsoleRig(t)

	// Input before the driver is up waits (in the tty, for the Launcher).
	if n := r.cons.Input([]byte("abcdef")); n != 6 {
		t.Fatalf("Input = %d", n)
	}
	select {
	case <-r.bus.InputReady():
	default:
		t.Fatal("InputReady not signalled")
	}
	if err := r.bus.Poll(); err != nil {
		t.Fatal(err)
	}
	if len(r.irqs) != 0 || r.cons.Pending() != 6 {
		t.Fatalf("stopped console took input: irqs %v pending %d", r.irqs, r.cons.Pending())
	}

	r.start(t)
	// Started but no buffers posted: still waiting.
	if err := r.bus.Poll(); err != nil || r.cons.Pending() != 6 {
		t.Fatalf("no buffers: err %v pending %d", err, r.cons.Pending())
	}

	// Two 4-byte receive buffers, posted and kicked like add_inbuf does:
	// the kick itself delivers the waiting input.
	r.rx.desc(0, tBufA, 4, DescFWrite, 0)
	r.rx.desc(1, tBufB, 4, DescFWrite, 0)
	r.rx.publish(0)
	r.rx.publish(1)
	if res := r.bus.Notify(tRxAddr); res.Fatal != "" || res.Kind != NotifyKick || res.Queue != ConsoleRx {
		t.Fatalf("rx kick: %+v", res)
	}
	if got := readStr(t, r.m, tBufA, 4) + "|" + readStr(t, r.m, tBufB, 4); got != "abcd|ef\x00\x00" {
		t.Fatalf("guest buffers %q", got)
	}
	id0, n0 := r.rx.usedElem(0)
	id1, n1 := r.rx.usedElem(1)
	if r.rx.usedIdx() != 2 || id0 != 0 || n0 != 4 || id1 != 1 || n1 != 2 {
		t.Fatalf("used idx %d elems {%d,%d} {%d,%d}", r.rx.usedIdx(), id0, n0, id1, n1)
	}
	// add_used_and_trigger: one IRQ per filled buffer, on receiveq's line 1.
	if !slices.Equal(r.irqs, []int{1, 1}) || r.cons.Pending() != 0 {
		t.Fatalf("irqs %v pending %d", r.irqs, r.cons.Pending())
	}

	// Later input is delivered by Poll into a freshly posted buffer.
	r.rx.desc(0, tBufC, 16, DescFWrite, 0)
	r.rx.publish(0)
	r.cons.Input([]byte("xyz"))
	r.irqs = nil
	if err := r.bus.Poll(); err != nil {
		t.Fatal(err)
	}
	if readStr(t, r.m, tBufC, 3) != "xyz" || !slices.Equal(r.irqs, []int{1}) {
		t.Fatalf("poll delivery: %q irqs %v", readStr(t, r.m, tBufC, 3), r.irqs)
	}
	if _, n := r.rx.usedElem(2); n != 3 {
		t.Fatalf("used len %d, want 3", n)
	}
}

func TestConsoleReceiveNoInterrupt(t *testing.T) {
	r := newConsoleRig(t)
	r.start(t)
	r.rx.setAvailFlags(AvailFNoInterrupt)
	r.rx.desc(0, tBufA, 8, DescFWrite, 0)
	r.rx.publish(0)
	r.cons.Input([]byte("q"))
	if err := r.bus.Poll(); err != nil {
		t.Fatal(err)
	}
	if len(r.irqs) != 0 || r.rx.usedIdx() != 1 {
		t.Fatalf("irqs %v used.idx %d", r.irqs, r.rx.usedIdx())
	}
}

// Malformed console traffic is a kill with the Launcher's reason, and the
// Host (this test process) survives it.
func TestConsoleHostile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(r *consoleRig)
		poll  bool // deliver via Poll instead of a kick
		addr  uint32
		want  string
	}{
		{"input buffer in transmitq", func(r *consoleRig) {
			r.tx.desc(0, tBufA, 4, DescFWrite, 0)
			r.tx.publish(0)
		}, false, tTxAddr, "Input buffers in console output queue?"},
		{"output buffer in receiveq", func(r *consoleRig) {
			r.rx.desc(0, tBufA, 4, 0, 0)
			r.rx.publish(0)
			r.cons.Input([]byte("k"))
		}, true, 0, "Output buffers in console in queue?"},
		{"transmit buffer outside guest memory", func(r *consoleRig) {
			r.tx.desc(0, tConsLimit-2, 4, 0, 0)
			r.tx.publish(0)
		}, false, tTxAddr, "Invalid address 0x16ffe"},
		{"receive buffer outside guest memory", func(r *consoleRig) {
			r.rx.desc(0, 0x80000000, 4, DescFWrite, 0)
			r.rx.publish(0)
			r.cons.Input([]byte("k"))
		}, true, 0, "Invalid address 0x80000000"},
		{"transmit descriptor loop", func(r *consoleRig) {
			r.tx.desc(5, tBufA, 1, DescFNext, 6)
			r.tx.desc(6, tBufA, 1, DescFNext, 5)
			r.tx.publish(5)
		}, false, tTxAddr, "Looped descriptor"},
		{"receive avail idx far ahead", func(r *consoleRig) {
			r.rx.setAvailIdx(QueueNum + 1)
			r.cons.Input([]byte("k"))
		}, true, 0, "Guest moved used index from 0 to 257"},
		{"transmit head out of range", func(r *consoleRig) {
			r.tx.publish(QueueNum)
		}, false, tTxAddr, "Guest says index 256 is available"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newConsoleRig(t)
			r.start(t)
			tc.setup(r)
			var got string
			if tc.poll {
				err := r.bus.Poll()
				if err != nil {
					got = err.Error()
				}
			} else {
				got = r.bus.Notify(tc.addr).Fatal
			}
			if got != tc.want {
				t.Fatalf("fatal %q, want %q", got, tc.want)
			}
			if r.out.Len() != 0 {
				t.Fatalf("hostile buffer produced output %q", r.out.String())
			}
		})
	}
}

// A zero-capacity receive buffer is handed back empty (the Launcher would
// take readv's 0 for end of input and stop the console; we knowingly don't).
func TestConsoleZeroLengthReceiveBuffer(t *testing.T) {
	r := newConsoleRig(t)
	r.start(t)
	r.rx.desc(0, tBufA, 0, DescFWrite, 0)
	r.rx.desc(1, tBufB, 8, DescFWrite, 0)
	r.rx.publish(0)
	r.rx.publish(1)
	r.cons.Input([]byte("hi"))
	if err := r.bus.Poll(); err != nil {
		t.Fatal(err)
	}
	_, n0 := r.rx.usedElem(0)
	_, n1 := r.rx.usedElem(1)
	if n0 != 0 || n1 != 2 || readStr(t, r.m, tBufB, 2) != "hi" {
		t.Fatalf("used lens %d %d, buf %q", n0, n1, readStr(t, r.m, tBufB, 2))
	}
}

// Input blocks while the pending buffer is full and resumes when the Guest
// drains it; Close releases a blocked writer.
func TestConsoleInputBackPressure(t *testing.T) {
	r := newConsoleRig(t)
	big := bytes.Repeat([]byte{'z'}, maxPendingInput+100)
	done := make(chan int)
	go func() { done <- r.cons.Input(big) }()
	// The writer must block with exactly maxPendingInput bytes queued.
	deadline := time.Now().Add(5 * time.Second)
	for r.cons.Pending() < maxPendingInput {
		if time.Now().After(deadline) {
			t.Fatal("Input never filled the buffer")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case n := <-done:
		t.Fatalf("Input returned %d without blocking", n)
	case <-time.After(20 * time.Millisecond):
	}
	if n := r.cons.TryInput([]byte("more")); n != 0 {
		t.Fatalf("TryInput on a full buffer accepted %d", n)
	}
	// Drain 4096 bytes through one receive buffer.
	r.start(t)
	r.rx.desc(0, tBufA, 4096, DescFWrite, 0)
	r.rx.publish(0)
	if err := r.bus.Poll(); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-done:
		if n != len(big) {
			t.Fatalf("Input = %d, want %d", n, len(big))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Input still blocked after the Guest drained the buffer")
	}

	go func() { done <- r.cons.Input(big) }()
	deadline = time.Now().Add(5 * time.Second)
	for r.cons.Pending() < maxPendingInput {
		if time.Now().After(deadline) {
			t.Fatal("Input never filled the buffer")
		}
		time.Sleep(time.Millisecond)
	}
	r.cons.Close()
	select {
	case n := <-done:
		if n >= len(big) {
			t.Fatalf("Input after Close accepted everything (%d)", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release Input")
	}
	if n := r.cons.TryInput([]byte("x")); n != 0 {
		t.Fatal("TryInput accepted after Close")
	}
}

// The same Guest actions give the same guest memory, output and IRQs.
func TestConsoleDeterministic(t *testing.T) {
	run := func() ([]byte, string, []int) {
		r := newConsoleRig(t)
		r.setStatus(t, 0)
		r.start(t)
		for i := range 300 { // wraps the 256-entry rings
			s := strings.Repeat(string(rune('a'+i%26)), 1+i%7)
			writeStr(t, r.m, tBufA, s)
			h := uint32(i % QueueNum)
			r.tx.desc(h, tBufA, uint32(len(s)), 0, 0)
			r.tx.publish(uint16(h))
			if i%3 == 0 {
				if res := r.bus.Notify(tTxAddr); res.Fatal != "" {
					t.Fatal(res.Fatal)
				}
			}
			r.rx.desc(h, uint64(tBufB+uint32(i%8)*16), 16, DescFWrite, 0)
			r.rx.publish(uint16(h))
			r.cons.Input([]byte{byte('0' + i%10)})
			if err := r.bus.Poll(); err != nil {
				t.Fatal(err)
			}
		}
		r.bus.Notify(tTxAddr)
		return append([]byte(nil), r.m.Bytes()...), r.out.String(), r.irqs
	}
	m1, o1, i1 := run()
	m2, o2, i2 := run()
	if !bytes.Equal(m1, m2) || o1 != o2 || !slices.Equal(i1, i2) {
		t.Fatal("two identical runs differ")
	}
	if len(o1) == 0 || len(i1) == 0 {
		t.Fatal("the scenario did nothing")
	}
}

// BenchmarkConsoleTransmit measures one hvc-style put_chars round trip:
// publish a 16-byte buffer, NOTIFY, output, used, IRQ.
func BenchmarkConsoleTransmit(b *testing.B) {
	r := newConsoleRig(b)
	r.start(b)
	r.cons.out = func([]byte) {}
	r.bus.SetIRQ(func(int) {})
	writeStr(b, r.m, tBufA, "0123456789abcdef")
	for i := range QueueNum {
		r.tx.desc(uint32(i), tBufA, 16, 0, 0)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.tx.publish(uint16(i % QueueNum))
		if res := r.bus.Notify(tTxAddr); res.Fatal != "" {
			b.Fatal(res.Fatal)
		}
	}
}
