package virtio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"testing"
)

// memFile is a BlockFile in memory that counts Syncs and can fail.
type memFile struct {
	data    []byte
	syncs   int
	failIO  bool
	failSyn bool
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if f.failIO {
		return 0, errors.New("injected read error")
	}
	if off >= int64(len(f.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	if f.failIO {
		return 0, errors.New("injected write error")
	}
	if end := off + int64(len(p)); end > int64(len(f.data)) {
		f.data = append(f.data, make([]byte, end-int64(len(f.data)))...)
	}
	return copy(f.data[off:], p), nil
}

func (f *memFile) Sync() error {
	f.syncs++
	if f.failSyn {
		return errors.New("injected sync error")
	}
	return nil
}

// With block then console: descriptor page at 0x10000, the block request
// queue at pfn 0x11, console rings at 0x14 and 0x17, guest_limit 0x1a000.
const (
	tBlkQ     = 0x11000
	tBlkLimit = 0x1a000
	tHdr      = 0x2000 // request header
	tData     = 0x3000 // data buffer (up to 0x4000)
	tStatus   = 0x6000 // status byte
)

type blockRig struct {
	bus  *Bus
	blk  *Block
	f    *memFile
	q    *guestRing
	irqs []int
	warn []string
}

func newBlockRig(t *testing.T, sectors int, ro bool) *blockRig {
	t.Helper()
	r := &blockRig{f: &memFile{data: make([]byte, sectors*SectorSize+100)}}
	for i := range r.f.data {
		r.f.data[i] = byte(i / SectorSize) // sector n holds n
	}
	b, err := NewBus(tRAM)
	if err != nil {
		t.Fatal(err)
	}
	// The trailing 100 bytes are a partial sector: invisible to the Guest.
	if r.blk, err = b.AddBlock(r.f, int64(len(r.f.data)), ro); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddConsole(nil); err != nil {
		t.Fatal(err)
	}
	if b.GuestLimit() != tBlkLimit {
		t.Fatalf("GuestLimit %#x, want %#x", b.GuestLimit(), tBlkLimit)
	}
	m := newMem(t, b.GuestLimit())
	if err := b.Install(m); err != nil {
		t.Fatal(err)
	}
	b.SetIRQ(func(irq int) { r.irqs = append(r.irqs, irq) })
	b.SetWarn(func(s string) { r.warn = append(r.warn, s) })
	r.bus = b
	r.q = newGuestRing(t, m, tBlkQ, QueueNum)
	m.Write8(tRAM+4, StatusAcknowledge|StatusDriver)
	if res := b.Notify(tRAM); res.Kind != NotifyStatus || res.Fatal != "" || res.Device != "block" {
		t.Fatalf("start: %+v", res)
	}
	return r
}

// req posts header + data + status as virtio_blk does (data readable for a
// write, writable for a read) and kicks.
func (r *blockRig) req(t *testing.T, typ uint32, sector uint64, data uint32, write bool) NotifyResult {
	t.Helper()
	var h [16]byte
	binary.LittleEndian.PutUint32(h[0:], typ)
	binary.LittleEndian.PutUint64(h[8:], sector)
	r.q.m.WriteBytes(tHdr, h[:])
	r.q.m.Write8(tStatus, 0xee)
	df := uint16(DescFWrite)
	if write {
		df = 0
	}
	r.q.desc(0, tHdr, 16, DescFNext, 1)
	if data == 0 {
		r.q.desc(1, tStatus, 1, DescFWrite, 0)
	} else {
		r.q.desc(1, tData, data, df|DescFNext, 2)
		r.q.desc(2, tStatus, 1, DescFWrite, 0)
	}
	r.q.publish(0)
	return r.bus.Notify(tBlkQ)
}

func (r *blockRig) status() byte { v, _ := r.q.m.Read8(tStatus); return v }

func TestBlockDescriptor(t *testing.T) {
	r := newBlockRig(t, 8, false)
	d := r.bus.Devices()[0]
	// 3.x Launcher: SEG_MAX (bit 2) and FLUSH (bit 9) -> two feature
	// bytes; config = capacity (8 sectors), size_max 0, seg_max 254.
	if d.Name != "block" || d.Type != TypeBlock || !bytes.Equal(d.Offered, []byte{0x04, 0x02}) {
		t.Fatalf("block device %+v", d)
	}
	want := []byte{8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 254, 0, 0, 0}
	if !bytes.Equal(d.Config, want) {
		t.Fatalf("config % x, want % x", d.Config, want)
	}
	if q := d.Queues[0]; q.IRQ != 1 || q.PFN != 0x11 {
		t.Fatalf("queue %+v", q)
	}
	ro := newBlockRig(t, 8, true)
	if d := ro.bus.Devices()[0]; !bytes.Equal(d.Offered, []byte{0x24, 0x02}) {
		t.Fatalf("read-only offered % x, want RO (bit 5) too", d.Offered)
	}
}

func TestBlockReadWriteFlush(t *testing.T) {
	r := newBlockRig(t, 8, false)
	// Read sector 3 (1024 bytes: sectors 3 and 4).
	if res := r.req(t, BlkTIn, 3, 1024, false); res.Fatal != "" {
		t.Fatal(res.Fatal)
	}
	got := make([]byte, 1024)
	r.q.m.ReadBytes(tData, got)
	if got[0] != 3 || got[511] != 3 || got[512] != 4 || got[1023] != 4 || r.status() != BlkSOK {
		t.Fatalf("read: % x.. status %d", got[:4], r.status())
	}
	if id, n := r.q.usedElem(0); id != 0 || n != 1025 {
		t.Fatalf("used {%d,%d}, want {0,1025}: status byte + data", id, n)
	}
	if !slices.Equal(r.irqs, []int{1}) {
		t.Fatalf("irqs %v", r.irqs)
	}
	// Write sector 6: reaches the file at once, before any flush.
	r.q.m.WriteBytes(tData, bytes.Repeat([]byte{0xab}, 512))
	if res := r.req(t, BlkTOut, 6, 512, true); res.Fatal != "" {
		t.Fatal(res.Fatal)
	}
	if r.f.data[6*512] != 0xab || r.f.data[7*512-1] != 0xab || r.f.data[7*512] != 7 || r.status() != BlkSOK {
		t.Fatalf("write did not reach the file: status %d", r.status())
	}
	if _, n := r.q.usedElem(1); n != 1 {
		t.Fatalf("write used len %d, want 1", n)
	}
	// FLUSH: fdatasync.
	if res := r.req(t, BlkTFlush, 0, 0, false); res.Fatal != "" || r.f.syncs != 1 || r.status() != BlkSOK {
		t.Fatalf("flush: %+v syncs %d status %d", res, r.f.syncs, r.status())
	}
	r.f.failSyn = true
	if r.req(t, BlkTFlush, 0, 0, false); r.status() != BlkSIOErr {
		t.Fatalf("failed flush status %d", r.status())
	}
	r.f.failSyn = false
	// Read past the end: nothing stored, OK (readv returns 0).
	if r.req(t, BlkTIn, 100, 512, false); r.status() != BlkSOK {
		t.Fatal("read past end")
	}
	if _, n := r.q.usedElem(4); n != 1 {
		t.Fatalf("read past end used len %d, want 1", n)
	}
	// The partial sector after sector 7 is readable as readv would give it.
	if r.req(t, BlkTIn, 8, 512, false); r.status() != BlkSOK {
		t.Fatal("read of the partial tail")
	}
	if _, n := r.q.usedElem(5); n != 101 {
		t.Fatalf("partial tail used len %d, want 101", n)
	}
	// SCSI: unsupported, a warning, not fatal.
	if res := r.req(t, BlkTSCSICmd, 0, 0, false); res.Fatal != "" || r.status() != BlkSUnsupp ||
		!slices.Equal(r.warn, []string{"Scsi commands unsupported"}) {
		t.Fatalf("scsi: %+v status %d warn %v", res, r.status(), r.warn)
	}
	// I/O errors are the Guest's status, not fatal.
	r.f.failIO = true
	if res := r.req(t, BlkTIn, 0, 512, false); res.Fatal != "" || r.status() != BlkSIOErr {
		t.Fatalf("read error: %+v status %d", res, r.status())
	}
	r.f.failIO = false
	if r.blk.Reads != 4 || r.blk.Writes != 1 || r.blk.Flushes != 2 {
		t.Fatalf("stats r%d w%d f%d", r.blk.Reads, r.blk.Writes, r.blk.Flushes)
	}
	if err := r.blk.Close(); err != nil || r.f.syncs != 3 {
		t.Fatalf("Close: %v, syncs %d", err, r.f.syncs)
	}
}

func TestBlockReadOnly(t *testing.T) {
	r := newBlockRig(t, 8, true)
	before := slices.Clone(r.f.data)
	r.q.m.WriteBytes(tData, bytes.Repeat([]byte{0xab}, 512))
	if res := r.req(t, BlkTOut, 1, 512, true); res.Fatal != "" || r.status() != BlkSIOErr {
		t.Fatalf("write to ro: %+v status %d", res, r.status())
	}
	if !bytes.Equal(before, r.f.data) {
		t.Fatal("read-only file changed")
	}
	if r.req(t, BlkTIn, 1, 512, false); r.status() != BlkSOK {
		t.Fatal("read from ro")
	}
}

func TestBlockHostile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(r *blockRig)
		want  string
	}{
		{"header only", func(r *blockRig) {
			r.q.desc(0, tHdr, 16, 0, 0)
		}, "Bad virtblk cmd 0 out=1 in=0"},
		{"status only", func(r *blockRig) {
			r.q.desc(0, tStatus, 1, DescFWrite, 0)
		}, "Bad virtblk cmd 0 out=0 in=1"},
		{"short header", func(r *blockRig) {
			r.q.desc(0, tHdr, 8, DescFNext, 1)
			r.q.desc(1, tStatus, 1, DescFWrite, 0)
		}, "Bad iovec size 8 for struct virtio_blk_outhdr"},
		{"misaligned header", func(r *blockRig) {
			r.q.desc(0, tHdr+2, 16, DescFNext, 1)
			r.q.desc(1, tStatus, 1, DescFWrite, 0)
		}, "Bad alignment 0x2002 for struct virtio_blk_outhdr"},
		{"fat status", func(r *blockRig) {
			r.q.desc(0, tHdr, 16, DescFNext, 1)
			r.q.desc(1, tStatus, 4, DescFWrite, 0)
		}, "Bad iovec size 4 for u8"},
		{"write past end", func(r *blockRig) {
			r.q.m.Write32(tHdr, BlkTOut)
			r.q.m.Write64(tHdr+8, 8) // the partial sector: 100 bytes left
			r.q.desc(0, tHdr, 16, DescFNext, 1)
			r.q.desc(1, tData, 512, DescFNext, 2)
			r.q.desc(2, tStatus, 1, DescFWrite, 0)
		}, "Write past end 4096+512"},
		{"seek overflow", func(r *blockRig) {
			r.q.m.Write64(tHdr+8, 1<<60)
			r.q.desc(0, tHdr, 16, DescFNext, 1)
			r.q.desc(1, tData, 512, DescFWrite|DescFNext, 2)
			r.q.desc(2, tStatus, 1, DescFWrite, 0)
		}, "Bad seek to sector 1152921504606846976"},
		{"data beyond guest_limit", func(r *blockRig) {
			r.q.desc(0, tHdr, 16, DescFNext, 1)
			r.q.desc(1, tBlkLimit-8, 512, DescFWrite|DescFNext, 2)
			r.q.desc(2, tStatus, 1, DescFWrite, 0)
		}, "Invalid address 0x19ff8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newBlockRig(t, 8, false)
			before := slices.Clone(r.f.data)
			r.q.m.WriteBytes(tHdr, make([]byte, 16))
			tc.setup(r)
			r.q.publish(0)
			if got := r.bus.Notify(tBlkQ).Fatal; got != tc.want {
				t.Fatalf("fatal %q, want %q", got, tc.want)
			}
			if tc.name == "write past end" {
				// What fits is written (the Launcher writes, then
				// truncates back to the original length).
				if len(r.f.data) != len(before) || r.f.data[4096] != 0 {
					t.Fatalf("file length %d, byte %#x", len(r.f.data), r.f.data[4096])
				}
				return
			}
			if !bytes.Equal(before, r.f.data) {
				t.Fatal("hostile request changed the file")
			}
		})
	}
}
