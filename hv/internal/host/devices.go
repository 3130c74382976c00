package host

import (
	"errors"
	"fmt"
	"io"

	"github.com/lgdbg/lgdbg/hv/virtio"
)

// DeviceKind names a Launcher device a user asks for on the command line.
type DeviceKind string

const (
	DeviceBlock DeviceKind = "block" // --block FILE[,ro]
	DeviceRNG   DeviceKind = "rng"   // --rng
)

// DeviceSpec is one command-line device. The Launcher creates them in
// command-line order, before the console (spec §2.7), so the order of
// Config.Devices is bus order and IRQ order. With no devices the bus holds
// the console alone, exactly as before devices existed.
type DeviceSpec struct {
	Kind DeviceKind
	// Block: the backing file, its length in bytes, read-only or not.
	File     virtio.BlockFile
	Size     int64
	ReadOnly bool
	// RNG: where the entropy comes from (crypto/rand.Reader, or a seeded
	// stream for a reproducible run).
	Entropy io.Reader
}

// addDevices puts the command-line devices on the lguest bus, before the
// console.
func (h *Host) addDevices(specs []DeviceSpec) error {
	for i, s := range specs {
		switch s.Kind {
		case DeviceBlock:
			blk, err := h.bus.AddBlock(s.File, s.Size, s.ReadOnly)
			if err != nil {
				return err
			}
			h.blocks = append(h.blocks, blk)
		case DeviceRNG:
			r, err := h.bus.AddRNG(s.Entropy)
			if err != nil {
				return err
			}
			h.rngs = append(h.rngs, r)
		default:
			return fmt.Errorf("device %d: unknown kind %q", i, s.Kind)
		}
	}
	return nil
}

// launcherWarning logs a non-fatal Launcher message (its stderr).
func (h *Host) launcherWarning(msg string) {
	h.emit(Event{Kind: EvLauncher, Text: msg})
}

// Devices lists the lguest bus devices and their queues.
func (h *Host) Devices() []virtio.DeviceInfo { return h.bus.Devices() }

// CloseDevices syncs every block device's backing file (the Guest may
// never have sent FLUSH).
func (h *Host) CloseDevices() error {
	var errs []error
	for _, b := range h.blocks {
		if err := b.Close(); err != nil {
			errs = append(errs, fmt.Errorf("syncing the block device: %w", err))
		}
	}
	return errors.Join(errs...)
}

// ConsoleIn is the console the Guest's ABI reads input from.
func (h *Host) ConsoleIn() *virtio.Console { return h.consoleIn() }

// CloseConsoles refuses further console input on both transports.
func (h *Host) CloseConsoles() {
	h.con.Close()
	if h.con4 != nil {
		h.con4.Close()
	}
}
