// Command demo runs the TUI on the built-in demo guest, for trying the UI
// in a real terminal until cmd/lgdbg calls ui.Run itself.
//
//	go run ./ui/internal/demo [-S] [-intel] [bzImage|vmlinux]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lgdbg/lgdbg/hv"
	"github.com/lgdbg/lgdbg/tests/guests"
	"github.com/lgdbg/lgdbg/ui"
)

func main() {
	paused := flag.Bool("S", false, "start paused")
	intel := flag.Bool("intel", false, "Intel syntax")
	flag.Parse()
	img, name := guests.BootImage, "boot.bzImage (demo)"
	if flag.NArg() > 0 {
		name = flag.Arg(0)
		b, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			os.Exit(1)
		}
		img = b
	}
	m, err := hv.New(hv.Config{Image: img})
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	opts := ui.Options{StartPaused: *paused, ImageName: name}
	if *intel {
		opts.Syntax = "intel"
	}
	if err := ui.Run(m, opts); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	fmt.Println(m.LastStop())
}
