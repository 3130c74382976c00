package boot

import (
	"fmt"
	"strconv"
	"strings"
)

// RAM size limits for ParseSize.
const (
	// MinRAM: kernels decompress to and run at 16 MiB (spec §2.4, the
	// kernel_alignment the Launcher sets), and need room above that for the
	// decompressed image, BSS and early page tables.
	MinRAM = 32 << 20
	// MaxRAM: guest memory plus the device pages and the Host's page pool
	// must fit below the Switcher at the top of the 4 GiB space (spec §7.12).
	MaxRAM = 3 << 30
)

// sizeUnits maps an upper-cased suffix to its shift. No suffix means MiB.
var sizeUnits = map[string]uint{
	"":  20,
	"K": 10, "KB": 10, "KIB": 10,
	"M": 20, "MB": 20, "MIB": 20,
	"G": 30, "GB": 30, "GIB": 30,
}

// ParseSize parses a guest memory size as given to "-m": a decimal number
// with an optional K, M or G suffix (binary units, case-insensitive, "iB" or
// "B" may follow). A plain number means MiB, as in QEMU. The result must be
// a page multiple between MinRAM and MaxRAM.
func ParseSize(s string) (uint32, error) {
	t := strings.TrimSpace(s)
	num := strings.TrimRightFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	suffix := strings.ToUpper(t[len(num):])
	if num == "" || strings.IndexFunc(num, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, fmt.Errorf("memory size %q: want a number of MiB or a number with a K, M or G suffix: %w", s, ErrBadSize)
	}
	shift, ok := sizeUnits[suffix]
	if !ok {
		return 0, fmt.Errorf("memory size %q: unknown unit %q (use K, M or G): %w", s, t[len(num):], ErrBadSize)
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n > MaxRAM>>10 {
		return 0, fmt.Errorf("memory size %q is more than the %d MiB maximum (guest memory, device pages and the Host's pages must fit below the Switcher): %w",
			s, MaxRAM>>20, ErrBadSize)
	}
	b := n << shift
	switch {
	case b > MaxRAM:
		return 0, fmt.Errorf("memory size %q is more than the %d MiB maximum (guest memory, device pages and the Host's pages must fit below the Switcher): %w",
			s, MaxRAM>>20, ErrBadSize)
	case b < MinRAM:
		return 0, fmt.Errorf("memory size %q is less than the %d MiB minimum (Linux decompresses itself to 16 MiB and runs there): %w",
			s, MinRAM>>20, ErrBadSize)
	case b%pageSize != 0:
		return 0, fmt.Errorf("memory size %q (%d bytes) is not a multiple of the 4 KiB page size: %w", s, b, ErrBadSize)
	}
	return uint32(b), nil
}
