package guests

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Devices in an expectation ([guest] section), for guests that need
// command-line devices (vblock, vrng):
//
//	device block KIB [ro]        a fresh KIB-KiB disk file of DiskPattern, --block FILE[,ro]
//	device rng seed:N            --rng=seed:N
//	disk-after FIRST COUNT fill:B     after the run, sectors FIRST.. FIRST+COUNT-1 hold byte B
//	disk-after FIRST COUNT xor:B      ... hold B ^ (offset in the range), truncated to a byte
//
// Every disk byte outside the disk-after ranges must still be DiskPattern's.

// DeviceExpect is one `device` line.
type DeviceExpect struct {
	Kind string // "block" or "rng"
	KiB  int    // block: disk size
	RO   bool   // block: read-only
	Seed uint64 // rng
}

// DiskRange is one `disk-after` line.
type DiskRange struct {
	First, Count uint32
	Xor          bool // B ^ offset, else fill with B
	B            byte
}

// DiskPattern is the disk's byte at off before the guest runs: every
// sector differs from its neighbours and every byte within one.
func DiskPattern(off int) byte { return byte(off/512*31 + off%512) }

func (e *Expectation) parseDeviceLine(f []string) error {
	switch f[0] {
	case "device":
		if len(f) < 2 {
			return errors.New("device KIND ...")
		}
		switch f[1] {
		case "block":
			if len(f) < 3 || len(f) > 4 || (len(f) == 4 && f[3] != "ro") {
				return errors.New("want device block KIB [ro]")
			}
			kib, err := strconv.Atoi(f[2])
			if err != nil || kib <= 0 {
				return fmt.Errorf("bad disk size %q", f[2])
			}
			e.Devices = append(e.Devices, DeviceExpect{Kind: "block", KiB: kib, RO: len(f) == 4})
		case "rng":
			if len(f) != 3 || !strings.HasPrefix(f[2], "seed:") {
				return errors.New("want device rng seed:N")
			}
			n, err := strconv.ParseUint(strings.TrimPrefix(f[2], "seed:"), 0, 64)
			if err != nil {
				return err
			}
			e.Devices = append(e.Devices, DeviceExpect{Kind: "rng", Seed: n})
		default:
			return fmt.Errorf("unknown device %q", f[1])
		}
	case "disk-after":
		if len(f) != 4 {
			return errors.New("want disk-after FIRST COUNT fill:B|xor:B")
		}
		first, err1 := strconv.ParseUint(f[1], 0, 32)
		count, err2 := strconv.ParseUint(f[2], 0, 32)
		kind, b, _ := strings.Cut(f[3], ":")
		v, err3 := strconv.ParseUint(b, 0, 8)
		if err := errors.Join(err1, err2, err3); err != nil || (kind != "fill" && kind != "xor") {
			return fmt.Errorf("bad disk-after line (%v)", err)
		}
		e.DiskAfter = append(e.DiskAfter, DiskRange{First: uint32(first), Count: uint32(count), Xor: kind == "xor", B: byte(v)})
	}
	return nil
}

// Disk is a block device's backing file made for one run.
type Disk struct {
	Path string
	RO   bool
	KiB  int
}

// MakeDisks writes a fresh DiskPattern file in dir for every block device
// and returns them in device order.
func (e *Expectation) MakeDisks(dir string) ([]Disk, error) {
	var out []Disk
	for i, d := range e.Devices {
		if d.Kind != "block" {
			continue
		}
		data := make([]byte, d.KiB<<10)
		for j := range data {
			data[j] = DiskPattern(j)
		}
		p := filepath.Join(dir, fmt.Sprintf("%s-disk%d.img", e.Name, i))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, err
		}
		out = append(out, Disk{Path: p, RO: d.RO, KiB: d.KiB})
	}
	return out, nil
}

// DeviceArgs is the lgdbg command line for the devices, given the disks
// MakeDisks made.
func (e *Expectation) DeviceArgs(disks []Disk) []string {
	var args []string
	k := 0
	for _, d := range e.Devices {
		switch d.Kind {
		case "block":
			a := disks[k].Path
			if disks[k].RO {
				a += ",ro"
			}
			args = append(args, "--block", a)
			k++
		case "rng":
			args = append(args, fmt.Sprintf("--rng=seed:%d", d.Seed))
		}
	}
	return args
}

// CheckDisk compares the disk file after the run with DiskPattern and the
// disk-after ranges; one line per difference (at most a few).
func (e *Expectation) CheckDisk(data []byte, kib int) []string {
	var diffs []string
	if len(data) != kib<<10 {
		diffs = append(diffs, fmt.Sprintf("disk is %d bytes after the run, want %d", len(data), kib<<10))
	}
	for off, got := range data {
		want := DiskPattern(off)
		for _, r := range e.DiskAfter {
			lo, hi := int(r.First)*512, int(r.First+r.Count)*512
			if off >= lo && off < hi {
				want = r.B
				if r.Xor {
					want ^= byte(off - lo)
				}
			}
		}
		if got != want {
			diffs = append(diffs, fmt.Sprintf("disk byte %#x (sector %d) is %#x, want %#x", off, off/512, got, want))
			if len(diffs) >= 5 {
				break
			}
		}
	}
	return diffs
}
