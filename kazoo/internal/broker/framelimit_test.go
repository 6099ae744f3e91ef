package broker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"testing"
)

// chunkedConn serves its bytes in reads of random sizes (1 byte up to max).
type chunkedConn struct {
	net.Conn
	data []byte
	rnd  *rand.Rand
	max  int
}

func (c *chunkedConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := 1 + c.rnd.IntN(c.max)
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func frame(typ byte, ch uint16, payload []byte) []byte {
	b := make([]byte, 0, 8+len(payload))
	b = append(b, typ)
	b = binary.BigEndian.AppendUint16(b, ch)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	return append(b, frameEnd)
}

func shortstr(b []byte, s string) []byte { return append(append(b, byte(len(s))), s...) }

func deliverFrame(ch uint16, ctag string, dtag uint64, exchange, rk string) []byte {
	p := binary.BigEndian.AppendUint16(nil, classBasic)
	p = binary.BigEndian.AppendUint16(p, methodBasicDeliver)
	p = shortstr(p, ctag)
	p = binary.BigEndian.AppendUint64(p, dtag)
	p = append(p, 0) // redelivered
	p = shortstr(p, exchange)
	return frame(frameMethod, ch, shortstr(p, rk))
}

func getOKFrame(ch uint16, dtag uint64) []byte {
	p := binary.BigEndian.AppendUint16(nil, classBasic)
	p = binary.BigEndian.AppendUint16(p, methodBasicGetOK)
	p = binary.BigEndian.AppendUint64(p, dtag)
	p = append(p, 0)
	p = shortstr(p, "x")
	p = shortstr(p, "rk")
	return frame(frameMethod, ch, binary.BigEndian.AppendUint32(p, 0))
}

func returnFrame(ch uint16) []byte {
	p := binary.BigEndian.AppendUint16(nil, classBasic)
	p = binary.BigEndian.AppendUint16(p, methodBasicReturn)
	p = binary.BigEndian.AppendUint16(p, 312)
	p = shortstr(p, "NO_ROUTE")
	p = shortstr(p, "x")
	return frame(frameMethod, ch, shortstr(p, "rk"))
}

func headerFrame(ch uint16, bodySize uint64) []byte {
	p := binary.BigEndian.AppendUint16(nil, classBasic)
	p = binary.BigEndian.AppendUint16(p, 0)
	p = binary.BigEndian.AppendUint64(p, bodySize)
	p = binary.BigEndian.AppendUint16(p, 0x8000) // content-type
	return frame(frameHeader, ch, shortstr(p, "application/json"))
}

var heartbeat = frame(8, 0, nil)

// contentFrames is a message's frames: method, content header, body in frames of at most
// frameMax bytes. want is what the limiter must hand on.
func contentFrames(method []byte, ch uint16, body []byte, frameMax int, limit uint64) (sent, want [][]byte) {
	sent = append(sent, method, headerFrame(ch, uint64(len(body))))
	for rest := body; len(rest) > 0; {
		n := min(frameMax, len(rest))
		sent = append(sent, frame(frameBody, ch, rest[:n]))
		rest = rest[n:]
	}
	if uint64(len(body)) <= limit {
		return sent, sent
	}
	return sent, [][]byte{method, headerFrame(ch, 0)}
}

type oversizedWant struct {
	ctag   string
	dtag   uint64
	size   int
	prefix []byte
}

// stream is a recorded broker stream: several channels' messages interleaved frame by
// frame (each channel's frames in order), heartbeats in between.
func stream(rnd *rand.Rand, limit uint64) (in, out []byte, records []oversizedWant) {
	type seq struct{ sent, want [][]byte }
	var chans []*seq
	for ch := uint16(1); ch <= uint16(1+rnd.IntN(6)); ch++ {
		s := &seq{}
		for i := 0; i < 1+rnd.IntN(5); i++ {
			size := rnd.IntN(int(limit) + 1)
			if rnd.IntN(3) == 0 {
				size = int(limit) + 1 + rnd.IntN(3*int(limit))
			}
			if rnd.IntN(8) == 0 {
				size = 0
			}
			body := make([]byte, size)
			for j := range body {
				body[j] = byte('a' + rnd.IntN(26))
			}
			ctag := fmt.Sprintf("ctag-%d", ch)
			dtag := uint64(ch)*100 + uint64(i+1)
			var method []byte
			switch rnd.IntN(6) {
			case 0:
				method = getOKFrame(ch, dtag)
				ctag = ""
			case 1:
				method = returnFrame(ch)
			default:
				method = deliverFrame(ch, ctag, dtag, "ex", "rk.x")
			}
			sent, want := contentFrames(method, ch, body, 1+rnd.IntN(300), limit)
			if uint64(size) > limit && method[10] != methodBasicReturn {
				records = append(records, oversizedWant{ctag, dtag, size, body[:min(size, oversizedPrefix)]})
			}
			if rnd.IntN(4) == 0 { // an ack-like method between messages
				m := frame(frameMethod, ch, []byte{0, 60, 0, 80, 0, 0, 0, 0, 0, 0, 0, 1, 0})
				sent, want = append(sent, m), append(want, m)
			}
			s.sent, s.want = append(s.sent, sent...), append(s.want, want...)
		}
		chans = append(chans, s)
	}
	// merge: pick a random channel for each next frame; a frame handed on is the same
	// frame, a dropped one is absent, so walk sent and want together
	pos := make([][2]int, len(chans))
	for {
		var live []int
		for i, s := range chans {
			if pos[i][0] < len(s.sent) {
				live = append(live, i)
			}
		}
		if len(live) == 0 {
			break
		}
		if rnd.IntN(10) == 0 {
			in, out = append(in, heartbeat...), append(out, heartbeat...)
		}
		i := live[rnd.IntN(len(live))]
		s, p := chans[i], &pos[i]
		f := s.sent[p[0]]
		p[0]++
		in = append(in, f...)
		if p[1] < len(s.want) && (bytes.Equal(f, s.want[p[1]]) || f[0] == frameHeader && s.want[p[1]][0] == frameHeader) {
			out = append(out, s.want[p[1]]...)
			p[1]++
		}
	}
	return in, out, records
}

func readAllFiltered(t testing.TB, fc *frameLimitConn, rnd *rand.Rand) ([]byte, error) {
	var got []byte
	for {
		p := make([]byte, 9+rnd.IntN(5000))
		if rnd.IntN(4) == 0 {
			p = p[:1+rnd.IntN(8)] // a tiny buffer
		}
		n, err := fc.Read(p)
		got = append(got, p[:n]...)
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
	}
}

func TestFrameLimitRandomChunkings(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		rnd := rand.New(rand.NewPCG(seed, 7))
		limit := uint64(1 + rnd.IntN(2000))
		in, want, records := stream(rnd, limit)
		for _, maxChunk := range []int{1, 2, 7, 19, 64, 4096} {
			fc := newFrameLimitConn(&chunkedConn{data: in, rnd: rnd, max: maxChunk}, limit)
			got, err := readAllFiltered(t, fc, rnd)
			if err != nil {
				t.Fatalf("seed %d chunk %d: %v", seed, maxChunk, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("seed %d chunk %d: output differs (%d bytes, want %d) at byte %d", seed, maxChunk, len(got), len(want), firstDiff(got, want))
			}
			for _, r := range records {
				o, ok := fc.seen.take(r.ctag, r.dtag)
				if !ok {
					t.Fatalf("seed %d: no record for %q/%d", seed, r.ctag, r.dtag)
				}
				if o.Size != uint64(r.size) || o.Limit != limit || !bytes.Equal(o.Prefix(), r.prefix) {
					t.Fatalf("seed %d: record %+v prefix %q, want size %d prefix %q", seed, o, o.prefix, r.size, r.prefix)
				}
			}
			if fc.nDrops != 0 {
				t.Fatalf("seed %d: %d channels still dropping", seed, fc.nDrops)
			}
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// A content header that declares a 16 MB body passes as an empty message; the 16 MB of
// body frames never reach the reader, and the limiter allocates nothing for them.
func TestFrameLimitDropsHugeBodyWithoutHoldingIt(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 16<<20)
	sent, want := contentFrames(deliverFrame(3, "c", 9, "ex", "rk"), 3, body, 131072, 1<<20)
	in := bytes.Join(append(sent, deliverFrame(3, "c", 10, "ex", "rk"), headerFrame(3, 2), frame(frameBody, 3, []byte("{}"))), nil)
	wantOut := bytes.Join(append(want, deliverFrame(3, "c", 10, "ex", "rk"), headerFrame(3, 2), frame(frameBody, 3, []byte("{}"))), nil)
	fc := newFrameLimitConn(&chunkedConn{data: in, rnd: rand.New(rand.NewPCG(1, 2)), max: 65536}, 1<<20)
	var got []byte
	buf := make([]byte, 4096)
	allocs := testing.AllocsPerRun(1, func() {
		for {
			n, err := fc.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
	})
	if !bytes.Equal(got, wantOut) {
		t.Fatalf("output differs at %d (%d bytes, want %d)", firstDiff(got, wantOut), len(got), len(wantOut))
	}
	if allocs > 20 {
		t.Errorf("%v allocations", allocs)
	}
	if o, ok := fc.seen.take("c", 9); !ok || o.Size != 16<<20 {
		t.Fatalf("record %+v %v", o, ok)
	}
}

// A body frame longer than what its content header declared, or a frame-end octet other
// than 0xCE in a dropped frame, ends the connection like any malformed frame.
func TestFrameLimitMalformed(t *testing.T) {
	for name, in := range map[string][]byte{
		"body larger than declared": bytes.Join([][]byte{deliverFrame(1, "c", 1, "", ""), headerFrame(1, 20), frame(frameBody, 1, make([]byte, 30))}, nil),
		"bad frame end": func() []byte {
			b := bytes.Join([][]byte{deliverFrame(1, "c", 1, "", ""), headerFrame(1, 20), frame(frameBody, 1, make([]byte, 20))}, nil)
			b[len(b)-1] = 0
			return b
		}(),
	} {
		fc := newFrameLimitConn(&chunkedConn{data: in, rnd: rand.New(rand.NewPCG(1, 2)), max: 5}, 10)
		_, err := readAllFiltered(t, fc, rand.New(rand.NewPCG(3, 4)))
		if !errors.Is(err, errBadFrame) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Whatever the bytes, the output does not depend on how the reads were cut, and nothing
// panics.
func FuzzFrameLimit(f *testing.F) {
	for seed := uint64(0); seed < 8; seed++ {
		in, _, _ := stream(rand.New(rand.NewPCG(seed, 1)), 20) // small: the fuzzer minimises
		f.Add(in, uint16(20), seed)
	}
	f.Add(heartbeat, uint16(0), uint64(1))
	f.Fuzz(func(t *testing.T, in []byte, limit uint16, seed uint64) {
		whole := newFrameLimitConn(&chunkedConn{data: in, rnd: rand.New(rand.NewPCG(seed, 0)), max: len(in) + 1}, uint64(limit))
		want, werr := readAllFiltered(t, whole, rand.New(rand.NewPCG(seed, 1)))
		cut := newFrameLimitConn(&chunkedConn{data: in, rnd: rand.New(rand.NewPCG(seed, 2)), max: 1 + int(seed%29)}, uint64(limit))
		got, gerr := readAllFiltered(t, cut, rand.New(rand.NewPCG(seed, 3)))
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("errors differ: %v / %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("output depends on the chunking: %d vs %d bytes", len(got), len(want))
		}
		if werr == nil && len(got) > len(in) {
			t.Fatalf("output longer than input")
		}
	})
}

func BenchmarkFrameLimitSmallMessages(b *testing.B) {
	var in []byte
	body := bytes.Repeat([]byte("y"), 600)
	for i := 0; i < 1000; i++ {
		sent, _ := contentFrames(deliverFrame(uint16(1+i%4), "ctag", uint64(i), "callevt", "call.CHANNEL_CREATE.x"), uint16(1+i%4), body, 131072, 1<<20)
		in = append(in, bytes.Join(sent, nil)...)
	}
	buf := make([]byte, 4096)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	src := &chunkedConn{rnd: rand.New(rand.NewPCG(1, 1)), max: 1 << 30}
	fc := newFrameLimitConn(src, 1<<20)
	for b.Loop() {
		src.data = in
		for {
			if _, err := fc.Read(buf); err != nil {
				break
			}
		}
	}
}
