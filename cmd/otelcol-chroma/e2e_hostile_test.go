package main

import (
	protowire "encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// rawCodec sends bytes already encoded as protobuf, so that a test can send
// a message no Go OTLP library would build.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*(v.(*[]byte)))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*(v.(*[]byte)) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// field appends a length-delimited protobuf field.
func field(b []byte, num int, payload []byte) []byte {
	b = protowire.AppendUvarint(b, uint64(num<<3|2))
	b = protowire.AppendUvarint(b, uint64(len(payload)))
	return append(b, payload...)
}

func uvarintLen(n int) int { return len(protowire.AppendUvarint(nil, uint64(n))) }

// nestedAttribute encodes an AnyValue that nests levels arrays, each
// holding the next, around the string "x" (about 10 bytes a level). It
// writes from the outside in, from the sizes computed inside out.
func nestedAttribute(levels int) []byte {
	sizes := make([]int, levels+1) // sizes[i]: encoded AnyValue of depth i
	sizes[0] = 3                   // string_value "x"
	arrayLen := func(inner int) int { return 1 + uvarintLen(inner) + inner }
	for i := 1; i <= levels; i++ {
		arr := arrayLen(sizes[i-1])
		sizes[i] = 1 + uvarintLen(arr) + arr
	}
	b := make([]byte, 0, sizes[levels])
	for i := levels; i >= 1; i-- {
		b = append(b, 0x2a) // AnyValue.array_value
		b = protowire.AppendUvarint(b, uint64(arrayLen(sizes[i-1])))
		b = append(b, 0x0a) // ArrayValue.values
		b = protowire.AppendUvarint(b, uint64(sizes[i-1]))
	}
	return append(b, 0x0a, 0x01, 'x')
}

// nestedTraceRequest is an ExportTraceServiceRequest with one span whose
// attribute "deep" is nestedAttribute(levels).
func nestedTraceRequest(levels int) []byte {
	attr := field(field(nil, 1, []byte("deep")), 2, nestedAttribute(levels))
	span := field(nil, 1, make([]byte, 16))
	span[2] = 1 // a non-zero trace id
	span = field(span, 2, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	span = field(span, 5, []byte("deep"))
	span = field(span, 9, attr)
	scope := field(nil, 2, span)
	resource := field(nil, 2, scope)
	return field(nil, 1, resource)
}

// peakRSS reads a process's peak resident set size (VmHWM) in KiB.
func peakRSS(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return kib
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestDeeplyNestedRequestIsRefused sends the shipped configuration the
// request that ends an unlimited collector with a stack overflow: one
// attribute nested 2,000,000 levels deep (arrays in arrays), 19.5 MB. It must be refused from
// its size before it is decoded, and the collector must stay up and keep
// forwarding. A nested request just under the limit is decoded; the
// collector must survive it too, and the test reports its peak RSS.
func TestDeeplyNestedRequestIsRefused(t *testing.T) {
	ctx := e2eContext(t)
	customer := newCapture(t)
	p := newProductionCollector(t, "hostile", "CUSTOMER_OTLP_ENDPOINT="+customer.endpoint())
	c := p.start(ctx, t)
	conn, err := grpc.NewClient(p.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	send := func(levels int) (int, error) {
		req, resp := nestedTraceRequest(levels), []byte(nil)
		err := conn.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &req, &resp, grpc.ForceCodecV2(rawCodec{}))
		return len(req), err
	}

	size, err := send(2_000_000)
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a %d-byte nested request: got %v, want ResourceExhausted", size, err)
	}
	t.Logf("%d-byte request nested 2,000,000 levels refused: %v", size, err)
	size, err = send(200_000)
	if size >= 2<<20 {
		t.Fatalf("the under-limit request is %d bytes, not under the 2 MiB limit", size)
	}
	t.Logf("%d-byte request nested 200,000 levels: %v; collector peak RSS %d MiB", size, err, peakRSS(t, c.cmd.Process.Pid)/1024)

	if !healthy(p.health) {
		t.Fatalf("the health check stopped answering")
	}
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, spanBatch("after", 0, 1)); err != nil {
		t.Fatalf("a normal request after the hostile ones: %v", err)
	}
	customer.waitUntil(ctx, t, "the span sent after the hostile requests", func() bool { return customer.spans()["after-000000"] > 0 })
	c.stop(ctx, t)
}

// maxOTLPRequestBytes is the largest request size limit the shipped
// configuration may set on an OTLP protocol: a request nested to this size
// costs the upstream decoder a few hundred MiB of stack (see README.md).
const maxOTLPRequestBytes = 2 << 20

// TestShippedConfigLimitsEveryOTLPProtocol checks that each OTLP protocol the
// shipped configuration opens has its own request size limit, at most
// maxOTLPRequestBytes: the upstream defaults (4 MiB for gRPC, 20 MiB for
// HTTP) let one nested request end the process.
func TestShippedConfigLimitsEveryOTLPProtocol(t *testing.T) {
	ret, err := fileprovider.NewFactory().Create(confmap.ProviderSettings{}).Retrieve(t.Context(), "file:"+productionConfig(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := ret.AsConf()
	if err != nil {
		t.Fatal(err)
	}
	limits := map[string]struct {
		key   string
		bytes func(any) int
	}{
		"grpc": {"max_recv_msg_size_mib", func(v any) int { return toInt(t, v) << 20 }},
		"http": {"max_request_body_size", func(v any) int { return toInt(t, v) }},
	}
	for id := range conf.Get("receivers").(map[string]any) {
		if id != "otlp" && !strings.HasPrefix(id, "otlp/") {
			continue
		}
		for proto, limit := range limits {
			base := "receivers::" + id + "::protocols::" + proto
			if !conf.IsSet(base) {
				continue
			}
			v := conf.Get(base + "::" + limit.key)
			if v == nil || limit.bytes(v) <= 0 || limit.bytes(v) > maxOTLPRequestBytes {
				t.Errorf("%s: %s is %v; set it, at most %d bytes", base, limit.key, v, maxOTLPRequestBytes)
			}
		}
	}
}

func toInt(t *testing.T, v any) int {
	t.Helper()
	n, err := strconv.Atoi(fmt.Sprint(v))
	if err != nil {
		t.Fatalf("not a number: %v", v)
	}
	return n
}
