// Package cpu is lgdbg's software i386: the processor an lguest Guest runs on.
//
// It models what lguest's Guest sees of real hardware (spec §5.6 "Software-CPU
// model", §9.4): 32-bit protected mode at CPL 1 (guest kernel) and CPL 3
// (guest user), segment registers with descriptor caches loaded from the
// Host-owned live GDT, paging through the *shadow* tables the Host installs as
// CR3 (non-PAE 2-level or PAE 3-level, CR0.WP = 1), and an IDT in which every
// vector belongs to the Host except the direct trap gates the Host copied from
// the Guest. Whenever the Switcher would return to the Host, Run returns an
// Exit instead, with the registers exactly where a real CPU would have left
// them (faults restart, traps continue).
//
// This file is the contract the Host (package hv), the gdb stub and the UI
// program against. Everything else in the package is implementation.
package cpu

// The String methods of Reg, SReg, ExitReason and WatchKind are generated
// (enum_string.go) from the line comments below, so front ends print the
// names the CPU defines instead of keeping their own lists.
//go:generate go run golang.org/x/tools/cmd/stringer@v0.52.0 -type=Reg,SReg,ExitReason,WatchKind -linecomment -output=enum_string.go

// Reg names a 32-bit general register, in the x86 encoding order.
type Reg int

// General registers (ModRM encoding order).
const (
	EAX Reg = iota // eax
	ECX            // ecx
	EDX            // edx
	EBX            // ebx
	ESP            // esp
	EBP            // ebp
	ESI            // esi
	EDI            // edi
)

// SReg names a segment register, in the x86 encoding order.
type SReg int

// Segment registers (ModRM encoding order).
const (
	ES SReg = iota // es
	CS             // cs
	SS             // ss
	DS             // ds
	FS             // fs
	GS             // gs
)

// EFLAGS bits.
const (
	FlagCF   = 1 << 0
	FlagPF   = 1 << 2
	FlagAF   = 1 << 4
	FlagZF   = 1 << 6
	FlagSF   = 1 << 7
	FlagTF   = 1 << 8
	FlagIF   = 1 << 9
	FlagDF   = 1 << 10
	FlagOF   = 1 << 11
	FlagIOPL = 3 << 12
	FlagNT   = 1 << 14
	FlagRF   = 1 << 16
	FlagVM   = 1 << 17
	FlagAC   = 1 << 18
	FlagID   = 1 << 21
)

// Exception vectors.
const (
	VecDE = 0  // divide error (fault)
	VecDB = 1  // debug
	VecBP = 3  // int3 (trap)
	VecOF = 4  // into (trap)
	VecBR = 5  // bound
	VecUD = 6  // invalid opcode (fault)
	VecNM = 7  // device not available (fault; CR0.TS)
	VecDF = 8  // double fault
	VecTS = 10 // invalid TSS
	VecNP = 11 // segment not present
	VecSS = 12 // stack fault
	VecGP = 13 // general protection
	VecPF = 14 // page fault
	VecMF = 16 // x87 error
	VecAC = 17 // alignment check
)

// Segment is a segment register with its hidden descriptor cache.
type Segment struct {
	Sel   uint16
	Base  uint32
	Limit uint32 // byte-granular effective limit (G already applied)
	// Access is bits 8..15 of the descriptor's high word (type, S, DPL, P)
	// in bits 0..7, and bits 20..23 (AVL, L, D/B, G) in bits 12..15 — the
	// same packing as the "attr" word of hardware VMCS-style caches.
	Access uint16
	Valid  bool // false for a null selector loaded into DS/ES/FS/GS
}

// ExitReason says why Run or Step returned to the Host.
type ExitReason int

const (
	// ExitTrap: a vector whose live IDT entry is a Host stub was raised
	// (exception, int n, int3, into, the 0x1f hypercall). Vector, ErrCode,
	// HasErr and (for #PF) CR2 describe it; the registers are the ones a
	// real CPU would have pushed.
	ExitTrap ExitReason = iota // trap
	// ExitBudget: the instruction budget given to Run is used up.
	ExitBudget // budget
	// ExitStop: RequestStop was called (from any goroutine).
	ExitStop // stop
	// ExitBreakpoint: EIP reached an execution breakpoint, before the
	// instruction there ran.
	ExitBreakpoint // breakpoint
	// ExitWatchpoint: an instruction accessed a watched linear address;
	// it has completed (as on hardware, data breakpoints are traps).
	ExitWatchpoint // watchpoint
	// ExitStep: Step completed one instruction.
	ExitStep // step
	// ExitUnimplemented: the instruction at InsnAddr is valid x86 the CPU
	// does not implement (Insn holds its bytes). State is as before it.
	ExitUnimplemented // unimplemented
)

// WatchKind is the access a watchpoint reacts to (gdb's Z2/Z3/Z4).
type WatchKind int

const (
	WatchWrite  WatchKind = 1 << iota              // write
	WatchRead                                      // read
	WatchAccess WatchKind = WatchWrite | WatchRead // access
)

// Exit describes a return to the Host.
type Exit struct {
	Reason ExitReason

	// ExitTrap
	Vector  int
	ErrCode uint32
	HasErr  bool
	CR2     uint32 // faulting linear address, for Vector == VecPF

	// ExitWatchpoint
	WatchAddr uint32 // the watchpoint's address (as it was set)
	WatchHit  uint32 // the linear address the instruction accessed
	WatchKind WatchKind

	// ExitUnimplemented
	InsnAddr uint32
	Insn     []byte
}

// Gate is one entry of the live IDT, as the Host built it (spec §5.6
// "Live IDT construction").
type Gate struct {
	// Direct is true when the Host copied a Guest trap gate (type 0xF)
	// into the live IDT: the CPU delivers the vector itself, switching to
	// the TSS ring-1 stack when coming from ring 3. Otherwise the entry is
	// a Host stub and raising the vector exits with ExitTrap.
	Direct bool
	Sel    uint16 // code selector (Direct only)
	Offset uint32 // handler (Direct only)
	DPL    int    // for the int n / int3 / into privilege check
	Type   int    // 0xE interrupt gate, 0xF trap gate
}

// CPUID model reported by the CPU. It claims only what the CPU implements
// (spec §10.3: the Guest masks it further): FPU, TSC, PAE, CX8, CMOV, MMX
// (state only), FXSR, SSE, SSE2 (state and the fences/prefetch hints).
// Family 6 model 15 stepping 1, vendor "lgdbgVirtCPU", no hypervisor leaf,
// brand string "lgdbg virtual i386". See cpuid.go for the exact leaves.
