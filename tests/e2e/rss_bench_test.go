package e2e

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// BenchmarkPeakRSS measures what `lgdbg run --headless -m SIZE` costs the
// machine: the peak resident set of the CLI process (getrusage's
// ru_maxrss, what /usr/bin/time -v reports), for two guests at each size:
//
//	demo       the embedded demo guest: boots, hands off, powers off
//	touch-all  a guest that writes one byte to every page of its RAM, the
//	           worst case a kernel can make of it (each page is then backed
//	           by the Host, and its shadow PTE page allocated)
//
// Guest RAM is one allocation the OS backs lazily, so the peak follows what
// the guest touches, not -m. Run with
//
//	go test ./tests/e2e -run '^$' -bench PeakRSS -benchtime 1x
func BenchmarkPeakRSS(b *testing.B) {
	touch := filepath.Join(b.TempDir(), "touch-all.elf")
	if err := os.WriteFile(touch, touchAllGuest(), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, g := range []struct{ name, image string }{{"demo", ""}, {"touch-all", touch}} {
		for _, mem := range []string{"64M", "1G", "3G"} {
			b.Run(g.name+"/"+mem, func(b *testing.B) {
				var peak int64
				for b.Loop() {
					args := []string{"run", "--headless", "-q", "-m", mem}
					if g.image != "" {
						args = append(args, g.image)
					}
					cmd := exec.Command(lgdbgBin, args...)
					out, err := cmd.CombinedOutput()
					if err != nil {
						b.Fatalf("lgdbg %s: %v\n%s", strings.Join(args, " "), err, out)
					}
					ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
					peak = max(peak, ru.Maxrss) // KiB on Linux
				}
				b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
			})
		}
	}
}

// touchAllGuest builds a minimal ELF32 guest: LGUEST_INIT, then one byte
// written to every page from 4 MiB to the end of RAM (read from the e820
// map the Launcher puts in the zero page, spec §2.4), then power-off.
func touchAllGuest() []byte {
	const (
		base  = 0x100000
		ldata = base + 0x1000 // lguest_data
		msg   = base + 0x800  // "Power down"
		first = 0x400000      // first page touched
	)
	var code []byte
	emit := func(b ...byte) { code = append(code, b...) }
	imm := func(v uint32) { code = binary.LittleEndian.AppendUint32(code, v) }
	emit(0xB8)
	imm(1) // mov $LGUEST_INIT, %eax
	emit(0xBB)
	imm(ldata) // mov $lguest_data, %ebx
	emit(0xCD, 0x1F)
	emit(0x8B, 0x0D)
	imm(0x2D8) // mov e820[0].size, %ecx
	emit(0x81, 0xE9)
	imm(first)           // sub $first, %ecx
	emit(0xC1, 0xE9, 12) // shr $12, %ecx
	emit(0xBF)
	imm(first) // mov $first, %edi
	loop := len(code)
	emit(0xC6, 0x07, 0x01) // movb $1, (%edi)
	emit(0x81, 0xC7)
	imm(0x1000)   // add $4096, %edi
	emit(0x49)    // dec %ecx
	emit(0x75, 0) // jnz loop
	code[len(code)-1] = byte(loop - len(code))
	emit(0xB8)
	imm(2) // mov $SHUTDOWN, %eax
	emit(0xBB)
	imm(msg)
	emit(0xB9)
	imm(1) // LGUEST_SHUTDOWN_POWEROFF
	emit(0xCD, 0x1F)
	emit(0xEB, 0xFE) // jmp .

	img := make([]byte, 0x2000)
	copy(img, code)
	copy(img[msg-base:], "Power down\x00")
	ld := img[ldata-base:]
	le := binary.LittleEndian
	le.PutUint32(ld[0x004:], 1) // blocked_interrupts: timer blocked
	for i := range 64 {
		ld[0x018+i] = 0xFF // hcall_status: ring empty
	}
	le.PutUint32(ld[0x560:], base)       // noirq_start
	le.PutUint32(ld[0x564:], base)       // noirq_end
	le.PutUint32(ld[0x568:], 0xC0000000) // kernel_address
	le.PutUint32(ld[0x56C:], 0x80)       // syscall_vec

	elf := make([]byte, 0x1000, 0x1000+len(img)) // the segment page-aligned in the file too
	copy(elf, "\x7fELF\x01\x01\x01")
	le.PutUint16(elf[16:], 2) // ET_EXEC
	le.PutUint16(elf[18:], 3) // EM_386
	le.PutUint32(elf[20:], 1) // EV_CURRENT
	le.PutUint32(elf[24:], base)
	le.PutUint32(elf[28:], 52) // e_phoff
	le.PutUint16(elf[40:], 52) // e_ehsize
	le.PutUint16(elf[42:], 32) // e_phentsize
	le.PutUint16(elf[44:], 1)  // e_phnum
	ph := elf[52:]
	le.PutUint32(ph[0:], 1) // PT_LOAD
	le.PutUint32(ph[4:], 0x1000)
	le.PutUint32(ph[8:], base)
	le.PutUint32(ph[12:], base)
	le.PutUint32(ph[16:], uint32(len(img)))
	le.PutUint32(ph[20:], uint32(len(img)))
	le.PutUint32(ph[24:], 7) // RWX
	le.PutUint32(ph[28:], 0x1000)
	return append(elf, img...)
}
