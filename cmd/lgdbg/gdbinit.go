package main

import (
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/lgdbg/lgdbg/gdbstub"
	"github.com/lgdbg/lgdbg/internal/inputfile"
)

// `lgdbg gdbinit [--gdb HOST:PORT] [vmlinux]` prints a gdb command file for
// `gdb -x FILE`. gdb knows a kernel only at its link addresses, while the
// Guest runs its first instructions at their load addresses (linear_pages,
// then the identity-mapped head until the jump to PAGE_OFFSET): gdb stops
// there as at "0x011ccb38 in ?? ()" and never recognises `break
// lguest_entry`. So the file loads the vmlinux's symbols a second time at
// the load addresses, section by section, with the offsets read from the
// ELF's PT_LOAD headers (p_paddr - p_vaddr): `break lguest_entry` then has
// a location at both addresses, gdb names the frame at either, and `x/i
// startup_32` reads the link address, which lgdbg serves from the load
// alias while the Guest runs physical.

func gdbinitUsage(w io.Writer) {
	fmt.Fprint(w, `usage: lgdbg gdbinit [--gdb HOST:PORT] [vmlinux]

Prints a gdb command file: connect to lgdbg's stub (default :1234) and, with
the kernel's ELF, its symbols at both link and load addresses.

  lgdbg gdbinit vmlinux > lgdbg.gdb
  lgdbg run --gdb :1234 -S bzImage &
  gdb -x lgdbg.gdb
`)
}

func gdbinitMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gdbinit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("gdb", ":1234", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			gdbinitUsage(stderr)
			return exitOK
		}
		fmt.Fprintf(stderr, "lgdbg gdbinit: %v\n", err)
		return exitUsage
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(stderr, "lgdbg gdbinit: at most one vmlinux")
		return exitUsage
	}
	vmlinux := ""
	if fs.NArg() == 1 {
		vmlinux = fs.Arg(0)
	}
	text, err := gdbinit(vmlinux, *addr)
	if err != nil {
		fmt.Fprintf(stderr, "lgdbg gdbinit: %v\n", err)
		return exitUsage
	}
	io.WriteString(stdout, text)
	return exitOK
}

// gdbinit builds the command file text.
func gdbinit(vmlinux, addr string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# gdb command file from `lgdbg gdbinit`; use: gdb -x FILE\n")
	b.WriteString("set architecture i386\n")
	var aliases []string
	if vmlinux != "" {
		abs, err := filepath.Abs(vmlinux)
		if err != nil {
			return "", err
		}
		// A vmlinux with DWARF: the symbols limit, and regular files only.
		if _, err := inputfile.Read(abs, maxSymbolsSize); err != nil {
			return "", err
		}
		aliases, err = loadSections(abs)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "file %s\n", gdbQuote(abs))
		if len(aliases) > 0 {
			b.WriteString("# The kernel's symbols again at their load addresses (p_paddr), where it runs\n")
			b.WriteString("# until the jump to PAGE_OFFSET: breakpoints get both locations.\n")
			// add-symbol-file asks for confirmation when gdb is interactive.
			b.WriteString("set confirm off\n")
			fmt.Fprintf(&b, "add-symbol-file %s %s\n", gdbQuote(abs), strings.Join(aliases, " "))
			b.WriteString("set confirm on\n")
		}
	}
	fmt.Fprintf(&b, "target remote %s\n", addr)
	// lgdbg's lg- commands and $lg_ functions, last: in a gdb without
	// Python this block fails alone, after everything above took effect.
	b.WriteString("python\n")
	b.WriteString(gdbstub.GDBScript)
	if !strings.HasSuffix(gdbstub.GDBScript, "\n") {
		b.WriteString("\n")
	}
	b.WriteString("end\n")
	return b.String(), nil
}

// loadSections returns "-s NAME LOADADDR" for every allocated section that
// a PT_LOAD links away from its load address.
func loadSections(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS32 || f.Machine != elf.EM_386 {
		return nil, fmt.Errorf("%s is %v %v, not a 32-bit i386 kernel", path, f.Class, f.Machine)
	}
	if _, err := f.Symbols(); err != nil {
		return nil, fmt.Errorf("%s: no symbol table (an ELF vmlinux, not stripped, is needed): %w", path, err)
	}
	var out []string
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Size == 0 {
			continue
		}
		for _, p := range f.Progs {
			if p.Type != elf.PT_LOAD || p.Vaddr == p.Paddr || s.Addr < p.Vaddr || s.Addr+s.Size > p.Vaddr+p.Memsz {
				continue
			}
			out = append(out, fmt.Sprintf("-s %s %#x", s.Name, s.Addr-p.Vaddr+p.Paddr))
			break
		}
	}
	return out, nil
}

// gdbQuote quotes a file name for gdb's command line when it needs it.
func gdbQuote(s string) string {
	if !strings.ContainsAny(s, " \t\"'\\") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
