package cpu

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// jitCall runs translated code; see jit_amd64.s.
//
//go:noescape
func jitCall(code, cpu uintptr) uint64

const jitHost = true

// jitArenaSize is the executable memory of one CPU. When it is full every
// translation is dropped (jitArena.gen) and translating starts over.
const jitArenaSize = 8 << 20

// jitArena is one CPU's executable memory: translations are appended, never
// freed one by one.
type jitArena struct {
	mem  []byte
	used int
	gen  uint32 // bumped when mem is reused: older translations are dead
	bad  bool   // no executable memory: translation is off
}

// newJITArena maps the CPU's executable memory, or returns a disabled arena
// when the system refuses writable executable pages.
func newJITArena() *jitArena {
	m, err := unix.Mmap(-1, 0, jitArenaSize, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return &jitArena{bad: true}
	}
	j := &jitArena{mem: m, gen: 1}
	runtime.AddCleanup(j, func(m []byte) { _ = unix.Munmap(m) }, m)
	return j
}

// place copies code into the arena and returns its address; a full arena
// starts a new generation first.
func (j *jitArena) place(code []byte) uintptr {
	if len(code) > len(j.mem) {
		return 0
	}
	if j.used+len(code) > len(j.mem) {
		j.used = 0
		j.gen++
	}
	at := j.used
	copy(j.mem[at:], code)
	// 16-byte aligned starts
	j.used = (at + len(code) + 15) &^ 15
	return uintptrOf(j.mem[at:])
}
