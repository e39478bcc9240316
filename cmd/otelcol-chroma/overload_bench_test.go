package main

import (
	"context"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// TestOverloadPlateau measures the shipped configuration's RSS under a load
// generator that sends more than it can forward: OVERLOAD_SENDERS
// concurrent OTLP/gRPC clients (default 8) sending 1,000-span requests as
// fast as they are answered for OVERLOAD_SECONDS (default 45), while the
// vendor's endpoint is down (its queue fills on disk) and the customer's is
// up. The collector runs with GOMEMLIMIT from the environment (default
// 450MiB). It is a measurement, run by scripts/bench-pipelines.sh, not part
// of `make test`.
func TestOverloadPlateau(t *testing.T) {
	if os.Getenv("OVERLOAD_BENCH") == "" {
		t.Skip("a measurement: scripts/bench-pipelines.sh runs it (OVERLOAD_BENCH=1)")
	}
	senders, seconds := envInt("OVERLOAD_SENDERS", 8), envInt("OVERLOAD_SECONDS", 45)
	limit := os.Getenv("GOMEMLIMIT")
	if limit == "" {
		limit = "450MiB"
	}
	ctx := e2eContext(t)
	vendor, customer := newCapture(t), newCapture(t)
	vendor.stop()
	p := newProductionCollector(t, "overload", "VENDOR_OTLP_ENDPOINT="+vendor.endpoint(),
		"CUSTOMER_OTLP_ENDPOINT="+customer.endpoint(), "SCRUB_HASH_KEY="+testHashKey, "GOMEMLIMIT="+limit)
	c := p.start(ctx, t)
	conn, err := grpc.NewClient(p.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	loadCtx, stop := context.WithTimeout(ctx, time.Duration(seconds)*time.Second)
	defer stop()
	var accepted, refused atomic.Int64
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() { overloadSender(loadCtx, ptraceotlp.NewGRPCClient(conn), s, &accepted, &refused) })
	}
	samples := sampleRSS(loadCtx, c.cmd.Process.Pid)
	wg.Wait()
	sort.Ints(samples[len(samples)/2:])
	plateau := samples[len(samples)/2:]
	t.Logf("GOMEMLIMIT=%s, %d senders for %d s: %d spans accepted, %d requests refused; RSS peak %d MiB, second half median %d MiB, max %d MiB",
		limit, senders, seconds, accepted.Load(), refused.Load(), peakRSS(t, c.cmd.Process.Pid)/1024,
		plateau[len(plateau)/2]/1024, plateau[len(plateau)-1]/1024)
	if !healthy(p.health) {
		t.Fatal("the collector stopped answering its health check under overload")
	}
}

func overloadSender(ctx context.Context, client ptraceotlp.GRPCClient, id int, accepted, refused *atomic.Int64) {
	for n := 0; ctx.Err() == nil; n++ {
		req := spanBatch("overload-"+strconv.Itoa(id), n*1000, 1000)
		if _, err := client.Export(ctx, req); err != nil {
			refused.Add(1)
			continue
		}
		accepted.Add(1000)
	}
}

// sampleRSS reads the process's RSS in KiB every 250 ms until ctx ends.
func sampleRSS(ctx context.Context, pid int) []int {
	var samples []int
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return samples
		case <-tick.C:
		}
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			return samples
		}
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kib, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
				samples = append(samples, kib)
			}
		}
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
