package boot

import "errors"

// Sentinel errors. Every error returned by this package wraps exactly one of
// them with a one-line explanation of what was wrong and where.
var (
	// ErrNotKernel: the data is neither a bzImage ("HdrS" at 0x202) nor an ELF file.
	ErrNotKernel = errors.New("not a bzImage or ELF kernel")
	// ErrTruncated: the file ends before something its headers describe.
	ErrTruncated = errors.New("truncated image")
	// ErrProtocolTooOld: the bzImage boot protocol predates 2.07, the first
	// with hardware_subarch, which is how the kernel finds lguest (spec §2.4).
	ErrProtocolTooOld = errors.New("boot protocol too old for lguest (need 2.07, hardware_subarch)")
	// Err64Bit: a 64-bit kernel; lguest guests are i386 only.
	Err64Bit = errors.New("64-bit kernel (lguest runs 32-bit i386 kernels only)")
	// ErrUnsupported: a well-formed ELF that is not an i386 executable
	// (spec §2.3 requires ET_EXEC and EM_386), or a big-endian one.
	ErrUnsupported = errors.New("unsupported ELF image")
	// ErrMalformed: headers that contradict themselves or the rules of spec §2.3.
	ErrMalformed = errors.New("malformed image")
	// ErrTooBig: an image, initrd or memory size beyond what can be loaded.
	ErrTooBig = errors.New("does not fit")
	// ErrOverlap: two things Load would place in guest memory overlap.
	ErrOverlap = errors.New("overlapping guest memory regions")
	// ErrCmdline: the kernel command line cannot be passed (spec §2.4: 2048
	// bytes including the NUL, no embedded NUL).
	ErrCmdline = errors.New("bad kernel command line")
	// ErrBadSize: a memory size string ParseSize does not accept.
	ErrBadSize = errors.New("bad memory size")
	// ErrConfig: a Load call whose arguments are inconsistent (nil image,
	// RAM larger than the physical memory given, empty initrd, ...).
	ErrConfig = errors.New("bad load configuration")
)
