//go:build unix

package cpu

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// jitCall runs translated code; see jit_amd64.s.
//
//go:noescape
func jitCall(code, cpu, rt, wt, ram uintptr) uint64

const jitHost = true

// The executable memory of one CPU and its link cells. When either is
// full every translation is dropped (jitArena.reset) and translating
// starts over.
const (
	jitArenaSize = 8 << 20
	jitCells     = 1 << 15
)

// jitArena is one CPU's executable memory, where translations are
// appended and never freed one by one, and the link cells their exits
// chain through (jitLink), in memory of their own: a store next to code
// being run would cost the host a self-modifying-code flush.
type jitArena struct {
	mem   []byte
	used  int
	cells []jitLink
	ncell int
	gen   uint32 // bumped by reset: older translations are dead
	bad   bool   // no executable memory: translation is off
}

// newJITArena maps the CPU's executable memory, or returns a disabled arena
// when the system refuses writable executable pages.
func newJITArena() *jitArena {
	m, err := unix.Mmap(-1, 0, jitArenaSize, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return &jitArena{bad: true}
	}
	cm, err := unix.Mmap(-1, 0, jitCells*int(unsafe.Sizeof(jitLink{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		_ = unix.Munmap(m)
		return &jitArena{bad: true}
	}
	j := &jitArena{mem: m, cells: unsafe.Slice((*jitLink)(unsafe.Pointer(unsafe.SliceData(cm))), jitCells), gen: 1}
	runtime.AddCleanup(j, func(m [2][]byte) {
		_ = unix.Munmap(m[0])
		_ = unix.Munmap(m[1])
	}, [2][]byte{m, cm})
	return j
}

// room reports whether one more translation of up to n bytes with up to
// links exits fits.
func (j *jitArena) room(n, links int) bool {
	return j.used+n <= len(j.mem) && j.ncell+links < len(j.cells)
}

// reset drops every translation.
func (j *jitArena) reset() {
	j.used, j.ncell = 0, 0
	j.gen++
}

// cell hands out a link cell: its number (from 1) and address.
func (j *jitArena) cell() (uint32, uintptr) {
	j.ncell++
	c := &j.cells[j.ncell]
	*c = jitLink{}
	return uint32(j.ncell), uintptr(unsafe.Pointer(c))
}

// place copies code into the arena and returns its address.
func (j *jitArena) place(code []byte) uintptr {
	at := j.used
	copy(j.mem[at:], code)
	// 16-byte aligned starts
	j.used = (at + len(code) + 15) &^ 15
	return uintptrOf(j.mem[at:])
}
