package hv

import (
	"encoding/binary"
	"io"
	"math/rand/v2"

	"github.com/lgdbg/lgdbg/hv/internal/host"
	"github.com/lgdbg/lgdbg/hv/pci"
	"github.com/lgdbg/lgdbg/hv/virtio"
)

// DeviceSpec is one command-line device (--block, --rng); see
// host.DeviceSpec. Config.Devices lists them in command-line order.
type (
	DeviceSpec = host.DeviceSpec
	DeviceKind = host.DeviceKind
)

const (
	DeviceBlock = host.DeviceBlock
	DeviceRNG   = host.DeviceRNG
)

// SeededEntropy is the reproducible entropy source behind --rng=seed:N: a
// ChaCha8 stream keyed by seed (little-endian in the first 8 key bytes). The
// same seed gives the same Guest-visible bytes on every run and platform.
func SeededEntropy(seed uint64) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	return rand.NewChaCha8(key)
}

// Devices lists the lguest bus devices and their queues (the TUI, the gdb
// monitor).
func (m *Machine) Devices() []virtio.DeviceInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.Devices()
}

// PCIDevices lists the virtio-PCI functions a 4.x Guest sees.
func (m *Machine) PCIDevices() []pci.DeviceInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.PCIDevices()
}

// ABI4x reports whether the Guest turned out to speak the 4.x ABI.
func (m *Machine) ABI4x() bool { return m.h.ABI4x() }

// Close ends the run's hold on the outside world: every block device's
// backing file is synced (the Guest may never have sent FLUSH). Call it
// once the Guest has stopped for good; the Machine stays inspectable.
func (m *Machine) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.CloseDevices()
}
