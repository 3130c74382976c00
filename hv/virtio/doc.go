// Package virtio is the lguest device bus (3.x "lguest bus", spec §2.7) and
// its devices, as the 3.x Launcher provides them: the device descriptor page
// just above guest RAM, legacy virtio 0.9.5 rings after it, and the
// Launcher's NOTIFY handling, including the Host's eventfd fast path.
//
// # Memory layout (spec §2.2)
//
//	gpa ram                 descriptor page: packed device entries, type 0 ends
//	gpa ram+0x1000 ...      rings, 3 pages per 256-entry queue, in device/queue order
//	gpa GuestLimit()        first byte the Guest may not name (pfn_limit*4096)
//
// Each entry is type, num_vq, feature_len, config_len, status, then num_vq
// lguest_vqconfig {u16 num; u16 irq; u32 pfn}, the offered and the accepted
// feature bytes, and config_len config bytes. Queues get IRQs 1, 2, 3, ... in
// creation order (IRQ 0 is the timer).
//
// # Use by the Host
//
//	bus, err := virtio.NewBus(ram)                  // descriptor page at gpa ram
//	cons, err := bus.AddConsole(func(p []byte) {...}) // after any other devices, as the Launcher does
//	m, err := mem.New(bus.GuestLimit(), pool)       // pfn_limit = GuestLimit()/4096
//	err = bus.Install(m)                            // writes the descriptor page, zeroes the rings
//	bus.SetIRQ(func(irq int) { /* set_interrupt */ })
//
// then, on the Host goroutine:
//
//   - for LHCALL_NOTIFY(addr): r := bus.Notify(addr). r.Text is an early
//     console string to print; r.Warning is a Launcher warning for the log;
//     a non-empty r.Fatal is the Launcher's fatal message: kill the Guest
//     with it as the reason. A kick on a started device's ring is serviced
//     before Notify returns (console output goes to the AddConsole callback,
//     used buffers are marked, the queue IRQ raised unless the Guest set
//     VRING_AVAIL_F_NO_INTERRUPT), which is what the Guest's busy-waiting
//     hvc put_chars needs.
//   - at each exit: if err := bus.Poll(); err != nil { kill with err.Error() }.
//     Poll moves console input into posted receive buffers and raises the
//     receive IRQ.
//   - while the Guest halts: also wake on <-bus.InputReady().
//   - for the UI and the gdb monitor: bus.Devices().
//
// Console.Input (blocking when 64 KiB are pending: back-pressure for a stdin
// reader), Console.TryInput (non-blocking, for a UI event loop),
// Console.Close and Bus.InputReady are the only goroutine-safe entry points.
// The bus starts no goroutines: the same Guest actions give the same results.
//
// # NOTIFY dispatch (spec §2.7, §3.3.15)
//
//  1. 0 is ignored (indistinguishable from "no notify").
//  2. The eventfd path: a ring address of a device that was started once.
//     Running: the queue is serviced. Reset since: ignored, because the Host
//     never detaches an eventfd and a stale one swallows the kick.
//  3. handle_output, per device in bus order: its entry address is a status
//     update (0 resets; FAILED warns "Device %s configuration FAILED" and
//     resets if running; anything else starts the device, or is fatal
//     "Device %s features finalized twice" if running); one of its ring
//     addresses is fatal "Notification on %s before setup!".
//  4. Otherwise addr >= guest_limit is fatal "Bad NOTIFY %#lx", and anything
//     else is an early-console string: up to the first NUL, at most
//     guest_limit-addr bytes.
//
// # Rings (ring.go)
//
// Queue implements wait_for_vq_desc (Pop), add_used (Push) and trigger_irq
// (Trigger) over mem.Phys. Ring location and size are the Host's private
// copy; every index and address the Guest writes is checked and a bad one
// is an error whose text is the Launcher's message word for word: "Guest
// moved used index from %u to %u" (avail.idx more than num ahead), "Guest
// says index %u is available", "Desc next is %u", "Looped descriptor",
// "Descriptor has out after in", "Invalid address %#lx" (addr+len beyond
// guest_limit or wrapping). Indirect descriptors are not offered by any
// device here and are rejected ("Indirect descriptor %u but
// VIRTIO_RING_F_INDIRECT_DESC was not offered").
//
// # Block and entropy (block.go, rng.go)
//
// AddBlock and AddRNG are the Launcher's setup_block_file and setup_rng;
// add them before the console, in command-line order. The block device
// services blk_request word for word (its fatal messages: "Bad virtblk cmd
// %u out=%u in=%u", "Bad iovec size %zu for ...", "Write past end
// %llu+%u", "Bad seek to sector %llu"); the rng fills every writable
// buffer from its source ("Output buffers in rng?"). Bus.SetWarn receives
// the Launcher's non-fatal stderr lines ("Scsi commands unsupported").
// Departures: a read-only block device (an lgdbg option) offers
// VIRTIO_BLK_F_RO and answers a write with VIRTIO_BLK_S_IOERR; a write
// past the end writes only what fits instead of writing and truncating
// (the same file results); a read chain with several out segments reads
// into its in segments, where the Launcher's iov+1 assumed one.
//
// # Adding a device type
//
// One file per type: a struct implementing handler (kick, poll, reset) and
// an AddX method that calls addDevice with the name the Launcher uses
// ("block", "rng"), the virtio type, the queue count, the offered feature
// bits and the config bytes. Create devices in the Launcher's order:
// command-line devices first, the console last.
//
// # Knowing departures from the 3.x Launcher
//
//   - A descriptor address above 4 GiB is rejected; the 32-bit Launcher
//     truncated it.
//   - A zero-capacity console receive buffer is returned used with length 0;
//     the Launcher's readv returned 0, which it took for end of input,
//     stopping console input for good.
//   - Restarting a device after a reset services its kicks again; in the
//     3.x Host the first (stale) eventfd kept swallowing them.
//   - The "three ^C within a second kill the Launcher" console hack is left
//     to the front end.
package virtio
