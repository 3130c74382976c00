package virtio

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestDiskHistoryRestoresEveryInstant: random writes (unaligned, across
// page boundaries, into the short last page) with a checkpoint after each
// batch; restoring any checkpoint, in any order, leaves the file exactly
// as it was at that checkpoint, and writing on from there is recorded as
// a new future.
func TestDiskHistoryRestoresEveryInstant(t *testing.T) {
	const size = 5*diskPageSize + 700
	f := &memFile{data: make([]byte, size)}
	for i := range f.data {
		f.data[i] = byte(i * 7)
	}
	blk, _, _ := NewBlock(f, size, false, false)
	blk.Record()
	rnd := rand.New(rand.NewPCG(1, 2))
	var states []*DiskState
	var files [][]byte
	save := func() {
		states = append(states, blk.SaveDisk())
		files = append(files, bytes.Clone(f.data))
	}
	save()
	for batch := range 12 {
		for range rnd.IntN(4) {
			off := rnd.Int64N(size - 1)
			n := 1 + rnd.Int64N(min(3*diskPageSize, size-off))
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(rnd.Uint32())
			}
			if err := blk.writeAt(p, off); err != nil {
				t.Fatal(err)
			}
			blk.Writes++
		}
		if batch%3 == 0 {
			save() // also a checkpoint with nothing written since the last
		}
		save()
	}
	if bytes.Equal(files[0], files[len(files)-1]) {
		t.Fatal("the writes changed nothing: the test tests nothing")
	}
	for _, k := range rnd.Perm(len(states)) {
		if err := blk.RestoreDisk(states[k]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f.data, files[k]) {
			t.Fatalf("after restoring checkpoint %d the file differs", k)
		}
	}
	// A new future from checkpoint 2 does not disturb checkpoint 5's past.
	blk.RestoreDisk(states[2])
	blk.writeAt([]byte("new future"), 10)
	blk.RestoreDisk(states[5])
	if !bytes.Equal(f.data, files[5]) {
		t.Fatal("a write after a restore changed a saved checkpoint")
	}
	blk.RestoreDisk(states[0])
	if !bytes.Equal(f.data, files[0]) || blk.Writes != 0 {
		t.Fatalf("back to the start: file differs or %d writes", blk.Writes)
	}
}

// TestDiskHistoryOffWritesOnly: without Record a write is the file write
// alone, and SaveDisk/RestoreDisk carry only the counters.
func TestDiskHistoryOffWritesOnly(t *testing.T) {
	f := &memFile{data: make([]byte, 2*diskPageSize)}
	blk, _, _ := NewBlock(f, int64(len(f.data)), false, false)
	s := blk.SaveDisk()
	blk.writeAt([]byte{1, 2, 3}, 100)
	blk.Writes = 4
	blk.RestoreDisk(s)
	if f.data[100] != 1 || blk.Writes != 0 {
		t.Fatalf("history off: file byte %d, writes %d", f.data[100], blk.Writes)
	}
}

// TestRNGTapeReplays: going back to a saved position hands out the bytes
// the source gave the first time, without reading the source again, and
// reading past the tape's end continues the source.
func TestRNGTapeReplays(t *testing.T) {
	src := &countingSource{}
	r := NewRNG(src)
	r.Record()
	buf := make([]byte, 10)
	r.read(buf)
	at := r.SaveRNG()
	first := make([]byte, 25)
	r.read(first)
	r.RestoreRNG(at)
	again := make([]byte, 40)
	if n, err := r.read(again); n != 40 || err != nil {
		t.Fatalf("read %d, %v", n, err)
	}
	if !bytes.Equal(again[:25], first) {
		t.Fatalf("replayed % x, first % x", again[:25], first)
	}
	for i, b := range again {
		if b != byte(10+i) {
			t.Fatalf("byte %d of the stream after position 10 is %d", i, b)
		}
	}
	if src.next != 50 || r.Taped() != 50 {
		t.Fatalf("the source gave %d bytes, the tape holds %d; want 50", src.next, r.Taped())
	}
}

// TestDiskHistoryCharges: a checkpoint is charged for the disk pages
// written since the one before, once per page however often it was
// written, the short last page by its length.
func TestDiskHistoryCharges(t *testing.T) {
	const size = 2*diskPageSize + 512
	f := &memFile{data: make([]byte, size)}
	blk, _, _ := NewBlock(f, size, false, false)
	blk.Record()
	if n := blk.SaveDisk().New; n != 0 {
		t.Fatalf("nothing written, charged %d", n)
	}
	blk.writeAt([]byte{1}, 10)
	blk.writeAt([]byte{2}, 20)
	blk.writeAt([]byte{3, 4}, diskPageSize-1) // pages 0 and 1
	blk.writeAt([]byte{5}, 2*diskPageSize+3)
	if n := blk.SaveDisk().New; n != 2*diskPageSize+512 {
		t.Fatalf("three pages written, charged %d", n)
	}
	blk.writeAt([]byte{6}, 30)
	if n := blk.SaveDisk().New; n != diskPageSize {
		t.Fatalf("one page rewritten, charged %d", n)
	}
}
