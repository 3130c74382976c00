package virtio

import (
	"fmt"
	"io"
)

// RNG is the virtio entropy device (type 4) as the 3.x Launcher's
// setup_rng and rng_input build it: one queue of Guest-writable buffers,
// each filled completely from the entropy source. No features, no config.
//
// The Launcher reads /dev/urandom; the CLI passes crypto/rand.Reader, or a
// seeded stream when the run must be reproducible (see cmd/lgdbg --rng).
//
// For time travel the device reads its source as a tape (Record): every
// byte taken from it is kept in order, and the position on the tape is
// device state, saved in checkpoints. A replay from a checkpoint hands the
// Guest the bytes it had then, whatever the source (crypto/rand cannot be
// rewound); past the end of the tape the source is read live again.
type RNG struct {
	t   Transport
	src io.Reader
	buf []byte

	// Bytes is how much entropy the Guest has been given.
	Bytes uint64
	// pos is the position in the entropy stream: on the tape, when
	// recording.
	pos uint64
	// tape is every byte read from src since Record, the stream from
	// position 0; nil when not recording. It is outside the checkpointed
	// state: going back keeps the future's bytes, as inputRecord keeps
	// console input.
	tape *[]byte
}

const rngQueue = 0

// rngChunk bounds one read from the source: a hostile Guest may post a
// buffer covering all of guest memory.
const rngChunk = 64 << 10

// AddRNG adds the entropy device reading src. Add it before the console
// (spec §2.7: command-line devices first, in command-line order).
func (b *Bus) AddRNG(src io.Reader) (*RNG, error) {
	if src == nil {
		return nil, fmt.Errorf("virtio: rng: no entropy source")
	}
	r := NewRNG(src)
	d, err := b.addDevice("rng", TypeRNG, 1, nil, nil, r)
	if err != nil {
		return nil, err
	}
	r.t = d
	return r, nil
}

// NewRNG is the entropy device for another transport (hv/pci); call
// Attach before the Guest can reach it.
func NewRNG(src io.Reader) *RNG { return &RNG{src: src} }

// Attach sets the transport whose queue 0 takes the Guest's buffers.
func (r *RNG) Attach(t Transport) { r.t = t }

func (r *RNG) Kick(qi int) error {
	if qi != rngQueue {
		return fmt.Errorf("virtio: rng has no queue %d", qi)
	}
	q := r.t.Queue(rngQueue)
	if q == nil {
		return nil
	}
	err := q.Serve(func(ch Chain) (uint32, error) {
		if len(ch.Out) != 0 {
			return 0, fmt.Errorf("Output buffers in rng?")
		}
		// "Just like the console write, we loop to cover the whole
		// iovec. In this case, short reads actually happen quite a bit."
		var total uint32
		for _, s := range ch.In {
			for done := uint32(0); done < s.Len; {
				k := min(s.Len-done, rngChunk)
				if cap(r.buf) < int(k) {
					r.buf = make([]byte, rngChunk)
				}
				n, err := r.read(r.buf[:k])
				if err != nil {
					// readv's 0 at end of file, -1 with errno otherwise;
					// err(1, ...) appends the error.
					if n == 0 && err == io.EOF {
						return 0, fmt.Errorf("Read from /dev/urandom gave 0")
					}
					return 0, fmt.Errorf("Read from /dev/urandom gave -1: %v", err)
				}
				q.m.WriteBytes(s.Addr+done, r.buf[:n])
				done += uint32(n)
				total += uint32(n)
			}
		}
		r.Bytes += uint64(total)
		return total, nil
	})
	if err != nil {
		return err
	}
	r.t.Trigger(rngQueue)
	return nil
}

// read fills p from the stream: the tape up to its end, then the source
// (io.ReadFull's result, recorded on the tape).
func (r *RNG) read(p []byte) (int, error) {
	if r.tape == nil {
		n, err := io.ReadFull(r.src, p)
		r.pos += uint64(n)
		return n, err
	}
	t := *r.tape
	n := 0
	if r.pos < uint64(len(t)) {
		n = copy(p, t[r.pos:])
	}
	var err error
	if n < len(p) {
		var m int
		m, err = io.ReadFull(r.src, p[n:])
		*r.tape = append(t, p[n:n+m]...)
		n += m
	}
	r.pos += uint64(n)
	return n, err
}

// Record starts keeping the entropy stream on a tape, so checkpoints
// (SaveRNG) can rewind it. Host goroutine, before the Guest runs.
func (r *RNG) Record() {
	if r.tape == nil {
		r.tape = new([]byte)
	}
}

// Taped is the bytes on the tape (what history holds for this device).
func (r *RNG) Taped() int64 {
	if r.tape == nil {
		return 0
	}
	return int64(len(*r.tape))
}

// RNGState is the device's place in its stream, for a checkpoint.
type RNGState struct{ bytes, pos uint64 }

// SaveRNG saves the stream position.
func (r *RNG) SaveRNG() RNGState { return RNGState{r.Bytes, r.pos} }

// RestoreRNG goes back (or forward) to a saved position; what the Guest
// reads from there on comes from the tape.
func (r *RNG) RestoreRNG(s RNGState) { r.Bytes, r.pos = s.bytes, s.pos }

func (r *RNG) Poll() error { return nil }

func (r *RNG) Reset() {}
