package gdbstub

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hostile clients over real TCP: whatever a client sends, the stub answers
// with a bounded buffer and a clean error, the session (or the next one)
// keeps working, and afterwards a real gdb still attaches and reads the
// registers. All cases share one Machine and one Server, so damage one
// case leaves behind shows up in the next.

// rawClient speaks the wire protocol byte by byte.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	return &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func (c *rawClient) write(b []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readByte returns the next byte from the stub.
func (c *rawClient) readByte() byte {
	c.t.Helper()
	b, err := c.r.ReadByte()
	if err != nil {
		c.t.Fatalf("reading from the stub: %v", err)
	}
	return b
}

// readPacket reads one "$...#cc" and checks its checksum.
func (c *rawClient) readPacket() string {
	c.t.Helper()
	for b := c.readByte(); b != '$'; b = c.readByte() {
		if b != '+' {
			c.t.Fatalf("expected a packet, got %q", b)
		}
	}
	var p []byte
	var sum byte
	for b := c.readByte(); b != '#'; b = c.readByte() {
		p = append(p, b)
		sum += b
	}
	cs := []byte{c.readByte(), c.readByte()}
	if want := fmt.Sprintf("%02x", sum); string(cs) != want {
		c.t.Fatalf("reply checksum %s, want %s", cs, want)
	}
	return string(unescape(p))
}

// cmd sends payload, expects the ack, reads packets until one that is not
// console output ('O...'), and acks each.
func (c *rawClient) cmd(payload string) string {
	c.t.Helper()
	c.write(frame([]byte(payload)))
	if b := c.readByte(); b != '+' {
		c.t.Fatalf("%.40q: ack %q", payload, b)
	}
	for {
		p := c.readPacket()
		c.write([]byte{'+'})
		if len(p) > 1 && p[0] == 'O' && p != "OK" {
			continue
		}
		return p
	}
}

func (c *rawClient) close() { c.conn.Close() }

// expectHangUp: the stub closes the connection.
func (c *rawClient) expectHangUp() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(c.r); err != nil {
		c.t.Fatalf("waiting for the stub to hang up: %v", err)
	}
}

// waitIdle waits until every session the server started has ended, so
// the next client is not refused as a second one.
func waitIdle(t *testing.T, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		started, ended := 0, 0
		for _, l := range strings.Split(logs(), "\n") {
			if strings.HasPrefix(l, "gdb: session from ") {
				if strings.Contains(l, " ended") {
					ended++
				} else {
					started++
				}
			}
		}
		if started == ended {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions started, %d ended:\n%s", started, ended, logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// realGDBReadsRegisters attaches Debian's gdb, reads the registers and
// disconnects (no detach, which would resume the Guest).
func realGDBReadsRegisters(t *testing.T, addr string, logs func() string) {
	t.Helper()
	waitIdle(t, logs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "gdb", "-batch", "-nx",
		"-ex", "set architecture i386",
		"-ex", "target remote "+addr,
		"-ex", "info registers eip esp",
		"-ex", "disconnect").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "eip            0x") || !strings.Contains(string(out), "esp            0x") {
		t.Fatalf("real gdb after the hostile client: %v\n%s\nstub log:\n%s", err, out, logs())
	}
	waitIdle(t, logs)
}

// heapWatch samples the heap while a case runs and reports the peak growth.
func heapWatch() (stop func() uint64) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	peak := base
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak - base
	}
}

func TestHostileClients(t *testing.T) {
	if _, err := exec.LookPath("gdb"); err != nil {
		t.Skip("gdb not installed")
	}
	m := newDemo(t)
	addr, logs := serveTCP(t, m)
	realGDBReadsRegisters(t, addr, logs) // the baseline: gdb works at all

	// sendHuge writes a packet of n payload bytes from a reused 64 KiB
	// chunk, so the test itself does not allocate n bytes.
	sendHuge := func(c *rawClient, n int, end bool) {
		chunk := []byte(strings.Repeat("a", 64<<10))
		c.write([]byte{'$'})
		for left := n; left > 0; left -= len(chunk) {
			c.write(chunk[:min(left, len(chunk))])
		}
		if end {
			c.write([]byte("#00"))
		}
	}
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"1 MiB packet", func(t *testing.T) {
			c := dialRaw(t, addr)
			defer c.close()
			sendHuge(c, 1<<20, true)
			if b := c.readByte(); b != '+' {
				t.Fatalf("ack %q", b)
			}
			if p := c.readPacket(); p != "E01" {
				t.Errorf("reply to a 1 MiB packet %q, want E01", p)
			}
			c.write([]byte{'+'})
			if p := c.cmd("qC"); p != "QC1" {
				t.Errorf("the session after the big packet: qC -> %q", p)
			}
		}},
		{"64 MiB packet, bounded memory", func(t *testing.T) {
			c := dialRaw(t, addr)
			defer c.close()
			peak := heapWatch()
			sendHuge(c, 64<<20, true)
			if b := c.readByte(); b != '+' {
				t.Fatalf("ack %q", b)
			}
			if p := c.readPacket(); p != "E01" {
				t.Errorf("reply to a 64 MiB packet %q, want E01", p)
			}
			grew := peak()
			t.Logf("heap grew by at most %d KiB while the stub read 64 MiB", grew>>10)
			if grew > 8<<20 {
				t.Errorf("heap grew by %d MiB while reading one packet: buffering is not bounded", grew>>20)
			}
			c.write([]byte{'+'})
			if p := c.cmd("qC"); p != "QC1" {
				t.Errorf("the session after the 64 MiB packet: qC -> %q", p)
			}
		}},
		{"packets cut mid-way, then a hang-up", func(t *testing.T) {
			for _, cut := range []string{"$", "$qSupported:multipro", "$qC#", "$qC#b", "$m100000,4#", strings.Repeat("$x", 1000)} {
				c := dialRaw(t, addr)
				c.write([]byte(cut))
				c.close()
			}
			c := dialRaw(t, addr)
			defer c.close()
			sendHuge(c, 8<<20, false) // 8 MiB and no end
			c.close()
		}},
		{"bad checksums", func(t *testing.T) {
			c := dialRaw(t, addr)
			defer c.close()
			for _, bad := range []string{"$qC#00", "$qC#zz", "$g#ff", "$?#40", "$m0,4#aa"} {
				c.write([]byte(bad))
				if b := c.readByte(); b != '-' {
					t.Fatalf("%q: ack %q, want '-'", bad, b)
				}
			}
			if p := c.cmd("qC"); p != "QC1" {
				t.Errorf("after bad checksums: qC -> %q", p)
			}
		}},
		{"200 connect/disconnect loops", func(t *testing.T) {
			waitIdle(t, logs)
			before := runtime.NumGoroutine()
			for i := range 200 {
				c := dialRaw(t, addr)
				switch i % 4 {
				case 1:
					c.write([]byte("+"))
				case 2:
					c.write(frame([]byte("qSupported:swbreak+")))
				case 3:
					c.write([]byte("$?#3"))
				}
				c.close()
			}
			waitIdle(t, logs)
			// The refusals of connections that arrived while the last
			// session was ending time out within refuseTimeout.
			deadline := time.Now().Add(refuseTimeout + 5*time.Second)
			for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > before+2 {
				t.Errorf("%d goroutines after 200 connections, %d before", n, before)
			}
		}},
		{"two clients at once", func(t *testing.T) {
			first := dialRaw(t, addr)
			defer first.close()
			if p := first.cmd("qC"); p != "QC1" {
				t.Fatalf("first client: qC -> %q", p)
			}
			second := dialRaw(t, addr)
			if p := second.cmd("qSupported:swbreak+"); p != busyMessage {
				t.Errorf("second client got %q, want %q", p, busyMessage)
			}
			second.expectHangUp()
			// A real gdb as the second client prints the reason.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, _ := exec.CommandContext(ctx, "gdb", "-batch", "-nx", "-ex", "set architecture i386", "-ex", "target remote "+addr).CombinedOutput()
			if !strings.Contains(string(out), "another gdb is already attached") {
				t.Errorf("a second real gdb was not told why it was refused:\n%s", out)
			}
			// The first is unharmed.
			if p := first.cmd("g"); len(p) < 16*8 {
				t.Errorf("first client after the refusals: g -> %q", p)
			}
			if p := first.cmd("qC"); p != "QC1" {
				t.Errorf("first client after the refusals: qC -> %q", p)
			}
		}},
		{"qRcmd garbage", func(t *testing.T) {
			c := dialRaw(t, addr)
			defer c.close()
			for _, cmd := range []string{
				"qRcmd,", "qRcmd,zz", "qRcmd,1", "qRcmd,6", "qRcmd," + strings.Repeat("ff", 2000),
				"qRcmd," + hex.EncodeToString([]byte("\x00\x01\xff walk")),
				"qRcmd," + hex.EncodeToString([]byte("walk 0xffffffffffffffff")),
				"qRcmd," + hex.EncodeToString([]byte("walk -1")),
				"qRcmd," + hex.EncodeToString([]byte("phys 0xfffffff0 64")),
				"qRcmd," + hex.EncodeToString([]byte("phys 0 4294967295")),
				"qRcmd," + hex.EncodeToString([]byte("events 99999999999")),
				"qRcmd," + hex.EncodeToString([]byte("hcalls 0")),
				"qRcmd," + hex.EncodeToString([]byte(strings.Repeat(" ", 3000))),
				"qRcmd," + hex.EncodeToString([]byte("v2p 0xffffffff")),
			} {
				p := c.cmd(cmd)
				if p != "OK" && (len(p) == 0 || p[0] != 'E') {
					t.Errorf("%.60q: final reply %q, want OK or an error", cmd, p)
				}
			}
			if p := c.cmd("qC"); p != "QC1" {
				t.Errorf("after qRcmd garbage: qC -> %q", p)
			}
		}},
		{"m of huge and wrapping ranges", func(t *testing.T) {
			c := dialRaw(t, addr)
			defer c.close()
			for _, q := range []struct{ pkt, want string }{
				{"mffffffff,ffffffff", "E01"}, // over the transfer limit
				{"m0,ffffffff", "E01"},
				{"m0,80000000", "E01"},
				{"m100000000,4", "E01"}, // a 33-bit address
				{"m0000000000100000,4", ""},
				{"mfffffffc,100", ""}, // wraps: cut at 4 GiB (or unmapped: E14)
				{"m,", "E01"}, {"m", "E01"}, {"m100000", "E01"}, {"m100000,", "E01"}, {"m-1,4", "E01"},
				{"m100000,0", ""},
			} {
				p := c.cmd(q.pkt)
				switch {
				case q.want != "" && p != q.want:
					t.Errorf("%s -> %q, want %q", q.pkt, p, q.want)
				case len(p) > 2*maxMem:
					t.Errorf("%s -> %d characters, over the %d-byte transfer limit", q.pkt, len(p), maxMem)
				}
			}
			if p := c.cmd("m100000,4"); len(p) != 8 {
				t.Errorf("after the bad reads: m100000,4 -> %q", p)
			}
		}},
		{"Z with bogus kinds", func(t *testing.T) {
			c := dialRaw(t, addr)
			defer c.close()
			for _, q := range []struct{ pkt, want string }{
				{"Z5,100000,1", ""}, {"Z-1,100000,1", "E01"}, {"Z99999999999999999999,0,1", "E01"},
				{"Z0", "E01"}, {"Z0,", "E01"}, {"Z0,,", "E01"}, {"Z0,100000,", "E01"},
				{"Z2,0,0", "E01"}, {"Z2,0,200000", "E01"}, {"Z2,fffffff0,100", "E01"},
				{"Z3,100000,4;X1,ff", "OK"}, {"z3,100000,4", "OK"},
				{"z0,12345678,1", "OK"}, // removing what is not there
			} {
				if p := c.cmd(q.pkt); p != q.want {
					t.Errorf("%s -> %q, want %q", q.pkt, p, q.want)
				}
			}
			// Breakpoints and watchpoints are bounded per session.
			for i := range maxBreakpoints {
				if p := c.cmd(fmt.Sprintf("Z0,%x,1", 0x200000+i)); p != "OK" {
					t.Fatalf("breakpoint %d: %q", i, p)
				}
			}
			if p := c.cmd("Z0,1,1"); p != "E01" {
				t.Errorf("breakpoint %d over the limit: %q, want E01", maxBreakpoints+1, p)
			}
			if p := c.cmd("Z0,200000,1"); p != "OK" {
				t.Errorf("re-inserting an existing breakpoint at the limit: %q", p)
			}
			for i := range maxWatchpoints {
				if p := c.cmd(fmt.Sprintf("Z2,%x,4", 0x300000+4*i)); p != "OK" {
					t.Fatalf("watchpoint %d: %q", i, p)
				}
			}
			if p := c.cmd("Z2,1,4"); p != "E01" {
				t.Errorf("watchpoint %d over the limit: %q, want E01", maxWatchpoints+1, p)
			}
			// Hanging up removes them all, so the next gdb's Guest runs
			// at full speed and stops only where it asks.
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t)
			realGDBReadsRegisters(t, addr, logs)
		})
	}
}
