package cpu

// The CPUID model. It claims only what this CPU implements (the Guest masks
// it further, spec §10.3):
//
//	leaf 0:          max basic leaf 1, vendor "lgdbgVirtCPU"
//	leaf 1:          EAX = 0x000006F1 (family 6, model 15, stepping 1)
//	                 EBX = 0 (no CLFLUSH line size, APIC id 0)
//	                 ECX = 0 (no SSE3 or later, no hypervisor bit)
//	                 EDX = FPU TSC PAE CX8 CMOV MMX FXSR SSE SSE2 = 0x07808151
//	                 (MMX: the Pentium MMX set on mm0-mm7 aliased to the x87
//	                 registers, mmx.go; SSE/SSE2: their state, the fences,
//	                 the prefetch hints, the SSE-era MMX additions of mmx.go
//	                 and the SSE2 subset of sse.go; other SIMD instructions,
//	                 e.g. PINSRW PEXTRW MASKMOVQ, exit as unimplemented)
//	0x80000000:      max extended leaf 0x80000008
//	0x80000001:      all zero (no NX, no SYSCALL, no long mode)
//	0x80000002..4:   brand string "lgdbg virtual i386", NUL padded
//	0x80000008:      EAX = 0x2024 (36 physical, 32 linear address bits)
//	anything else:   all zero (no hypervisor leaf at 0x40000000)
const (
	cpuidVendor    = "lgdbgVirtCPU"
	cpuidBrand     = "lgdbg virtual i386"
	cpuidSignature = 0x000006F1
	cpuidEDX1      = 1<<0 | 1<<4 | 1<<6 | 1<<8 | 1<<15 | 1<<23 | 1<<24 | 1<<25 | 1<<26
)

// CPUID returns the model's answer for a leaf (exported for the Host and
// the debugger's "info" views).
func CPUID(leaf uint32) (eax, ebx, ecx, edx uint32) {
	le := func(s string) uint32 {
		var v uint32
		for i := 0; i < 4 && i < len(s); i++ {
			v |= uint32(s[i]) << (8 * i)
		}
		return v
	}
	switch leaf {
	case 0:
		v := cpuidVendor
		return 1, le(v[0:4]), le(v[8:12]), le(v[4:8])
	case 1:
		return cpuidSignature, 0, 0, cpuidEDX1
	case 0x80000000:
		return 0x80000008, 0, 0, 0
	case 0x80000002, 0x80000003, 0x80000004:
		var b [48]byte
		copy(b[:], cpuidBrand)
		o := (leaf - 0x80000002) * 16
		s := string(b[o : o+16])
		return le(s[0:4]), le(s[4:8]), le(s[8:12]), le(s[12:16])
	case 0x80000008:
		return 0x2024, 0, 0, 0
	}
	return 0, 0, 0, 0
}

func (c *CPU) cpuid() {
	c.r[EAX], c.r[EBX], c.r[ECX], c.r[EDX] = CPUID(c.r[EAX])
}
