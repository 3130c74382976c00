package pgtable

import (
	"reflect"

	"github.com/lgdbg/lgdbg/hv/internal/fieldcopy"
)

// The shadow tables themselves live in Host pool pages (saved with memory);
// what Tables keeps besides is the pgdir cache, the mode and the PRNG, all
// plain values copied by reflection so new fields are captured too.
var tablesPlan = fieldcopy.Must(reflect.TypeOf(Tables{}), []string{"m", "mmu", "kill", "onChange"}, nil)

// State is a saved copy of the Tables' own state.
type State struct{ t Tables }

// SaveState copies the pgdir cache and the mode.
func (t *Tables) SaveState() *State {
	s := &State{}
	tablesPlan.Copy(&s.t, t)
	return s
}

// RestoreState puts them back; the CPU's root is the CPU's to restore.
func (t *Tables) RestoreState(s *State) { tablesPlan.Copy(t, &s.t) }
