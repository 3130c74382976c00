//go:build !amd64 || !unix

package cpu

const jitHost = false

func jitCall(code, cpu, rt, wt, ram uintptr) uint64 { panic("no block translator on this host") }

type jitArena struct {
	mem   []byte
	cells []jitLink
	gen   uint32
	bad   bool
}

func newJITArena() *jitArena                  { return &jitArena{bad: true} }
func (j *jitArena) room(n, links int) bool    { return false }
func (j *jitArena) reset()                    {}
func (j *jitArena) cell() (uint32, uintptr)   { return 0, 0 }
func (j *jitArena) place(code []byte) uintptr { return 0 }
