package virtio

import (
	"reflect"

	"github.com/lgdbg/lgdbg/hv/internal/fieldcopy"
)

// Checkpoints of the bus for time travel. The rings live in guest memory
// (saved with it); what the Launcher's side keeps privately is which
// devices run, which rings are bound, each ring's last_avail_idx and
// pending used count (the Queue's plain fields, by reflection), and the
// console input admitted but not yet delivered.

var queuePlan = fieldcopy.Must(reflect.TypeOf(Queue{}), []string{"segs"}, []string{"m"})

// State is a saved copy of the bus's private device state.
type State struct {
	devs    []devState
	ready   []byte
	pages   uint32
	descEnd uint32
	nextIRQ int
}

type devState struct {
	running bool
	queues  []queueState
}

type queueState struct {
	bound bool
	q     *Queue // nil: not installed
}

// SaveState copies the device state.
func (b *Bus) SaveState(con *Console) *State {
	s := &State{pages: b.pages, descEnd: b.descEnd, nextIRQ: b.nextIRQ}
	for _, d := range b.devs {
		ds := devState{running: d.running}
		for _, vq := range d.queues {
			qs := queueState{bound: vq.bound}
			if vq.q != nil {
				qs.q = &Queue{}
				queuePlan.Copy(qs.q, vq.q)
			}
			ds.queues = append(ds.queues, qs)
		}
		s.devs = append(s.devs, ds)
	}
	if con != nil {
		con.mu.Lock()
		s.ready = append([]byte(nil), con.ready...)
		con.mu.Unlock()
	}
	return s
}

// RestoreState puts it back. The devices are the same ones (the Guest
// cannot add or remove any), so only their state changes.
func (b *Bus) RestoreState(s *State, con *Console) {
	b.pages, b.descEnd, b.nextIRQ = s.pages, s.descEnd, s.nextIRQ
	for i, d := range b.devs {
		if i >= len(s.devs) {
			break
		}
		ds := s.devs[i]
		d.running = ds.running
		for j, vq := range d.queues {
			if j >= len(ds.queues) {
				break
			}
			qs := ds.queues[j]
			vq.bound = qs.bound
			switch {
			case qs.q == nil:
				vq.q = nil
			case vq.q == nil:
				vq.q = &Queue{}
				queuePlan.Copy(vq.q, qs.q)
			default:
				queuePlan.Copy(vq.q, qs.q)
			}
		}
	}
	if con != nil {
		con.mu.Lock()
		con.ready = append(con.ready[:0], s.ready...)
		con.mu.Unlock()
	}
}

// SaveQueue copies q's Host-side state (last_avail_idx, pending used
// count, where the ring is) for another transport's checkpoint (hv/pci);
// nil for nil.
func SaveQueue(q *Queue) *Queue {
	if q == nil {
		return nil
	}
	s := &Queue{}
	queuePlan.Copy(s, q)
	return s
}

// RestoreQueue puts a SaveQueue copy back into live (nil: no queue yet)
// and returns the queue the transport keeps: live itself when it exists,
// so a handler holding it sees the restored state.
func RestoreQueue(live, saved *Queue) *Queue {
	switch {
	case saved == nil:
		return nil
	case live == nil:
		live = &Queue{}
	}
	queuePlan.Copy(live, saved)
	return live
}
