package gdbstub

import _ "embed"

// GDBScript is lgdbg's gdb Python file: lg- commands over the monitor and
// $lg_ convenience functions over the Host-view registers. `lgdbg gdbinit`
// writes it next to the command file it prints.
//
//go:embed python/lgdbg.py
var GDBScript string
