package pci

import "github.com/lgdbg/lgdbg/hv/virtio"

// Checkpoints of the bus for time travel. The rings live in guest memory
// (saved with it); what the Launcher keeps besides, and a 4.x Guest can
// change, is pci_config_addr, each function's configuration space (BAR
// sizing writes, the cfg_access window), its BAR0 bytes (the common
// config with the selected queue's registers, ISR, device status,
// emerg_wr), the accepted features, whether it runs and has re-read
// FEATURES_OK, and per queue the saved common-config registers, a
// notification waiting for DRIVER_OK and the ring's Host side
// (last_avail_idx, where the ring is). The layout (slots, IRQs, BAR
// addresses, offered features) is fixed before the Guest runs.

// State is a saved copy of the bus's Guest-changeable state.
type State struct {
	addr uint32
	devs []devState // by slot; the host bridge included
}

type devState struct {
	cfg             [configSize]byte
	mmio            []byte
	accepted        uint64
	running         bool
	wroteFeaturesOK bool
	queues          []queueState
}

type queueState struct {
	num     uint16
	saved   [mQueueEnd - mQueueFirst]byte
	q       *virtio.Queue
	pending bool
}

// SaveState copies the bus's state.
func (b *Bus) SaveState() *State {
	s := &State{addr: b.addr, devs: make([]devState, MaxSlots)}
	for i, d := range b.slots {
		if d == nil {
			continue
		}
		ds := devState{cfg: d.cfg, mmio: append([]byte(nil), d.mmio...), accepted: d.accepted,
			running: d.running, wroteFeaturesOK: d.wroteFeaturesOK}
		for _, vq := range d.queues {
			ds.queues = append(ds.queues, queueState{num: vq.num, saved: vq.saved, q: virtio.SaveQueue(vq.q), pending: vq.pending})
		}
		s.devs[i] = ds
	}
	return s
}

// RestoreState puts it back (the same bus: the devices are the ones it
// was saved from).
func (b *Bus) RestoreState(s *State) {
	b.addr = s.addr
	for i, d := range b.slots {
		if d == nil {
			continue
		}
		ds := &s.devs[i]
		d.cfg = ds.cfg
		copy(d.mmio, ds.mmio)
		d.accepted, d.running, d.wroteFeaturesOK = ds.accepted, ds.running, ds.wroteFeaturesOK
		for j, vq := range d.queues {
			qs := ds.queues[j]
			vq.num, vq.saved, vq.pending = qs.num, qs.saved, qs.pending
			vq.q = virtio.RestoreQueue(vq.q, qs.q)
		}
	}
}
