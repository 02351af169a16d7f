// A grpc-go GetEvents client for the fan-out benchmark, run as its own
// process (like one `tetra getevents`, which is a grpc-go client with
// grpc-go's default windows). Same behaviour and stdout protocol as
// ../fanout-client.mjs: "ready" once the response headers arrived; each exec
// event of "/bin/true lat <i>" is stamped with CLOCK_MONOTONIC on receipt;
// "count <n>" every 200 ms when that count changed; on SIGTERM, "recv <pid>
// <ns>" lines then "done" in one write; "error <msg>" on a stream error.
// It decodes only what it needs, with no generated code:
// GetEventsResponse.process_exec(1) → process(1) → pid(2, UInt32Value) and
// arguments(6).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
)

const method = "/tetragon.FineGuidanceSensors/GetEvents"

// rawCodec passes message bytes through untouched.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("raw codec: cannot marshal %T", v)
	}
	return *b, nil
}

// Unmarshal keeps data without copying: grpc-go (1.33) allocates a fresh
// buffer for every received message and never reuses it.
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T", v)
	}
	*b = data
	return nil
}

func (rawCodec) Name() string { return "proto" }

// monotonic is CLOCK_MONOTONIC in ns, the clock of exec_paced and of Node's
// process.hrtime.bigint().
func monotonic() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err)
	}
	return ts.Nano()
}

// varint reads a base-128 varint at b[at:]; ok is false if it runs off the end.
func varint(b []byte, at int) (n uint64, next int, ok bool) {
	for shift := uint(0); at < len(b) && shift < 64; shift += 7 {
		c := b[at]
		at++
		n |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return n, at, true
		}
	}
	return 0, at, false
}

// fields calls f(field, value) for each length-delimited field of b and skips
// the others; it stops at the first malformed byte.
func fields(b []byte, f func(no uint64, v []byte)) {
	for at := 0; at < len(b); {
		tag, next, ok := varint(b, at)
		if !ok {
			return
		}
		at = next
		switch tag & 7 {
		case 0:
			if _, at, ok = varint(b, at); !ok {
				return
			}
		case 1:
			at += 8
		case 5:
			at += 4
		case 2:
			n, next, ok := varint(b, at)
			if !ok || n > uint64(len(b)-next) {
				return
			}
			f(tag>>3, b[next:next+int(n)])
			at = next + int(n)
		default:
			return
		}
	}
}

// uint32Value is google.protobuf.UInt32Value.value (field 1, varint).
func uint32Value(b []byte) uint64 {
	for at := 0; at < len(b); {
		tag, next, ok := varint(b, at)
		if !ok || tag&7 != 0 {
			return 0
		}
		v, next, ok := varint(b, next)
		if !ok {
			return 0
		}
		if tag>>3 == 1 {
			return v
		}
		at = next
	}
	return 0
}

// receipts is the first receipt time per pid of the "lat " execs.
type receipts struct {
	mu sync.Mutex
	at map[uint64]int64
}

func (r *receipts) onMessage(msg []byte, t int64) {
	fields(msg, func(no uint64, exec []byte) {
		if no != 1 { // process_exec
			return
		}
		fields(exec, func(no uint64, proc []byte) {
			if no != 1 { // process
				return
			}
			var pid uint64
			args := ""
			fields(proc, func(no uint64, v []byte) {
				switch no {
				case 2:
					pid = uint32Value(v)
				case 6:
					args = string(v)
				}
			})
			if !strings.HasPrefix(args, "lat ") {
				return
			}
			r.mu.Lock()
			if _, seen := r.at[pid]; !seen {
				r.at[pid] = t
			}
			r.mu.Unlock()
		})
	})
}

func (r *receipts) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.at)
}

func (r *receipts) report() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var sb strings.Builder
	for pid, t := range r.at {
		fmt.Fprintf(&sb, "recv %d %d\n", pid, t)
	}
	sb.WriteString("done\n")
	return sb.String()
}

// out serializes writes to stdout from the receiving and the main goroutine.
var outMu sync.Mutex

func say(line string) {
	outMu.Lock()
	defer outMu.Unlock()
	os.Stdout.WriteString(line)
}

func receive(conn *grpc.ClientConn, r *receipts) {
	desc := &grpc.StreamDesc{StreamName: "GetEvents", ServerStreams: true}
	stream, err := conn.NewStream(context.Background(), desc, method, grpc.ForceCodec(rawCodec{}))
	if err == nil {
		empty := []byte{}
		err = stream.SendMsg(&empty)
	}
	if err == nil {
		err = stream.CloseSend()
	}
	if err == nil {
		_, err = stream.Header()
	}
	if err != nil {
		say(fmt.Sprintf("error %v\n", err))
		return
	}
	say("ready\n")
	for {
		var msg []byte
		if err := stream.RecvMsg(&msg); err != nil {
			if err != io.EOF {
				say(fmt.Sprintf("error %v\n", err))
			}
			return
		}
		r.onMessage(msg, monotonic())
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fanout-go HOST:PORT")
		os.Exit(2)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	conn, err := grpc.Dial(os.Args[1], grpc.WithInsecure())
	if err != nil {
		say(fmt.Sprintf("error %v\n", err))
		os.Exit(1)
	}
	r := &receipts{at: make(map[uint64]int64)}
	go receive(conn, r)
	tick := time.NewTicker(200 * time.Millisecond)
	told := 0
	for {
		select {
		case <-tick.C:
			if n := r.size(); n != told {
				told = n
				say(fmt.Sprintf("count %d\n", n))
			}
		case <-stop:
			say(r.report())
			os.Exit(0)
		}
	}
}
