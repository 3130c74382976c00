package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/internal/inputfile"
)

// deviceFlag is one --block or --rng, kept in command-line order: the
// Launcher creates devices in that order, and it is bus and IRQ order.
type deviceFlag struct {
	kind hv.DeviceKind
	path string // block
	ro   bool   // block
	seed *uint64
}

type deviceFlags []deviceFlag

// blockFlag parses --block FILE or --block FILE,ro.
type blockFlag struct{ d *deviceFlags }

func (f blockFlag) String() string { return "" }

func (f blockFlag) Set(v string) error {
	path, opt, hasOpt := strings.Cut(v, ",")
	if path == "" {
		return fmt.Errorf("--block needs a file name")
	}
	if hasOpt && opt != "ro" {
		return fmt.Errorf("--block %s: unknown option %q (only ro)", v, opt)
	}
	*f.d = append(*f.d, deviceFlag{kind: hv.DeviceBlock, path: path, ro: hasOpt})
	return nil
}

// rngFlag parses --rng (crypto/rand) and --rng=seed:N.
type rngFlag struct{ d *deviceFlags }

func (f rngFlag) String() string   { return "" }
func (f rngFlag) IsBoolFlag() bool { return true }

func (f rngFlag) Set(v string) error {
	df := deviceFlag{kind: hv.DeviceRNG}
	switch {
	case v == "true":
	case strings.HasPrefix(v, "seed:"):
		n, err := strconv.ParseUint(strings.TrimPrefix(v, "seed:"), 0, 64)
		if err != nil {
			return fmt.Errorf("--rng=%s: the seed is not a number", v)
		}
		df.seed = &n
	default:
		return fmt.Errorf("--rng=%s: want --rng or --rng=seed:N", v)
	}
	*f.d = append(*f.d, df)
	return nil
}

// open turns the flags into the Machine's devices, opening block files.
// The files stay open for the life of the process.
func (ds deviceFlags) open() ([]hv.DeviceSpec, error) {
	var out []hv.DeviceSpec
	for _, d := range ds {
		switch d.kind {
		case hv.DeviceBlock:
			mode := os.O_RDWR
			if d.ro {
				mode = os.O_RDONLY
			}
			// Regular files only: a FIFO opened read-only would block
			// here forever, and a device would never end.
			f, st, err := inputfile.Open(d.path, mode)
			if err != nil {
				return nil, fmt.Errorf("--block: %w", err)
			}
			out = append(out, hv.DeviceSpec{Kind: hv.DeviceBlock, File: f, Size: st.Size(), ReadOnly: d.ro})
		case hv.DeviceRNG:
			spec := hv.DeviceSpec{Kind: hv.DeviceRNG, Entropy: rand.Reader}
			if d.seed != nil {
				spec.Entropy = hv.SeededEntropy(*d.seed)
			}
			out = append(out, spec)
		}
	}
	return out, nil
}
