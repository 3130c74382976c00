package cpu

import (
	"hash/crc32"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// threadCPU is the calling thread's CPU time: on a loaded machine wall-clock
// MIPS understate the CPU's speed, so benchmarks report both.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Benchmarks report guest MIPS (retired instructions per second of wall
// time) and allocations. Programs are assembled with binutils at test time.

const crcSrc = `
	mov $0x100000,%esi
	mov $4096,%ecx
	mov $-1,%eax
1:	movzbl (%esi),%edx
	xor %edx,%eax
	mov $8,%edx
2:	shr $1,%eax
	jnc 3f
	xor $0xEDB88320,%eax
3:	dec %edx
	jnz 2b
	inc %esi
	dec %ecx
	jnz 1b
	not %eax
	int $0x1f
`

// insertion sort of 512 dwords at 0x200000 (a compare/branch/memory mix)
const sortSrc = `
	mov $0x200000,%esi
	mov $1,%ecx
1:	cmp $512,%ecx
	jae 9f
	mov (%esi,%ecx,4),%eax
	mov %ecx,%edi
2:	test %edi,%edi
	jz 3f
	mov -4(%esi,%edi,4),%edx
	cmp %eax,%edx
	jbe 3f
	mov %edx,(%esi,%edi,4)
	dec %edi
	jmp 2b
3:	mov %eax,(%esi,%edi,4)
	inc %ecx
	jmp 1b
9:	int $0x1f
`

const memcpySrc = `
	cld
	mov $0x100000,%esi
	mov $0x300000,%edi
	mov $16384,%ecx
	rep movsl
	mov $0x100000,%esi
	mov $0x300000,%edi
	mov $8192,%ecx
1:	mov (%esi),%eax
	mov 4(%esi),%edx
	mov %eax,(%edi)
	mov %edx,4(%edi)
	add $8,%esi
	add $8,%edi
	dec %ecx
	jnz 1b
	int $0x1f
`

// touches one dword in each of 2048 pages, 4 times: far more pages than
// TLB entries
const tlbSrc = `
	mov $4,%ebx
1:	mov $0x400000,%esi
	mov $2048,%ecx
2:	add (%esi),%eax
	movl %eax,4(%esi)
	add $4096,%esi
	dec %ecx
	jnz 2b
	dec %ebx
	jnz 1b
	int $0x1f
`

func fillBuf(e *env, addr uint32, n int) []byte {
	b := make([]byte, n)
	x := uint32(12345)
	for i := range b {
		x = x*1103515245 + 12345
		b[i] = byte(x >> 16)
	}
	e.load(addr, b)
	return b
}

func TestCRCProgram(t *testing.T) {
	e := newEnv(t)
	buf := fillBuf(e, 0x100000, 4096)
	ex := e.runAsm(crcSrc, 1<<30)
	e.wantTrap(ex, 0x1f)
	if got, want := e.c.Reg(EAX), crc32.ChecksumIEEE(buf); got != want {
		t.Fatalf("crc %#x, want %#x", got, want)
	}
}

func TestSortProgram(t *testing.T) {
	e := newEnv(t)
	fillBuf(e, 0x200000, 2048)
	e.wantTrap(e.runAsm(sortSrc, 1<<30), 0x1f)
	prev := uint32(0)
	for i := uint32(0); i < 512; i++ {
		v, _ := e.m.Read32(0x200000 + 4*i)
		if v < prev {
			t.Fatalf("not sorted at %d", i)
		}
		prev = v
	}
}

func benchProgram(b *testing.B, src string, setup func(e *env)) {
	e := newEnv(b)
	if setup != nil {
		setup(e)
	}
	code := asm(b, 0x10000, src)
	e.load(0x10000, code)
	run := func() {
		e.c.SetEIP(0x10000)
		e.c.SetReg(ESP, 0x80000)
		if ex := e.c.Run(1 << 40); ex.Reason != ExitTrap || ex.Vector != 0x1f {
			b.Fatalf("exit %+v", ex)
		}
	}
	run() // warm the decode cache and TLB
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	start := e.c.ICount()
	t0, c0 := time.Now(), threadCPU()
	for i := 0; i < b.N; i++ {
		run()
	}
	el, cpu := time.Since(t0), threadCPU()-c0
	n := e.c.ICount() - start
	b.ReportMetric(float64(n)/el.Seconds()/1e6, "MIPS")
	if cpu > 0 {
		b.ReportMetric(float64(n)/cpu.Seconds()/1e6, "cpuMIPS")
	}
	b.ReportMetric(float64(n)/float64(b.N), "insns/op")
}

func BenchmarkCRC32(b *testing.B) {
	benchProgram(b, crcSrc, func(e *env) { fillBuf(e, 0x100000, 4096) })
}

func BenchmarkSort(b *testing.B) {
	var data []byte
	benchProgram(b, "mov $0x200000,%edi\nmov $0x210000,%esi\nmov $512,%ecx\nrep movsl\n"+sortSrc, func(e *env) {
		data = fillBuf(e, 0x210000, 2048)
	})
	_ = data
}

func BenchmarkMemcpy(b *testing.B) {
	benchProgram(b, memcpySrc, nil)
}

func BenchmarkTLBMiss(b *testing.B) {
	benchProgram(b, tlbSrc, nil)
}

// Code that writes near itself: a counter in the same page as the loop
// (data next to code), and a loop that patches an immediate it then
// executes (self-modifying code proper: one re-decode per iteration).
func BenchmarkStoreNextToCode(b *testing.B) {
	benchProgram(b, `
	mov $10000,%ecx
1:	mov %ecx,0x10800
	addl $1,0x10804
	dec %ecx
	jnz 1b
	int $0x1f
`, nil)
}

func BenchmarkSelfModifying(b *testing.B) {
	benchProgram(b, `
	mov $10000,%ecx
1:	mov %ecx,0x10000+(2f-_start)+1
2:	mov $0,%eax
	add %eax,%edx
	dec %ecx
	jnz 1b
	int $0x1f
`, nil)
}
