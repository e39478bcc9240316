// Command bench-restore-collection measures `snapshot restore-collection`
// (BENCHMARKS.md "Restoring one collection into a running Chroma"): it
// fills a collection of a real Chroma with -n records of dimension -dim
// (normalized Gaussian vectors, a 200-byte document and a small metadata
// each), snapshots the persist directory into a folder bucket, starts an
// empty target Chroma, and runs restore-collection into it -repeat times,
// printing the wall time, the copy's records/s, and the peak RSS of the
// binary and of the Chroma it starts on the restored snapshot.
//
//	go build -trimpath -o bin/otelcol-chroma ./cmd/otelcol-chroma
//	go run ./scripts/bench-restore-collection -n 100000 -repeat 3
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

type config struct {
	n, dim, repeat, batch int
	bin, chroma           string
}

func main() {
	var cfg config
	flag.IntVar(&cfg.n, "n", 100000, "records in the collection")
	flag.IntVar(&cfg.dim, "dim", 384, "embedding dimension")
	flag.IntVar(&cfg.repeat, "repeat", 3, "restores to run")
	flag.IntVar(&cfg.batch, "batch-size", 0, "restore-collection --batch-size (0: its default)")
	flag.StringVar(&cfg.bin, "bin", "bin/otelcol-chroma", "the otelcol-chroma binary")
	flag.StringVar(&cfg.chroma, "chroma", "", "chroma executable (default: .tools/npm/node_modules/.bin/chroma)")
	flag.Parse()
	if err := run(context.Background(), cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench-restore-collection:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	if cfg.chroma == "" {
		bin, err := chromatest.FindBinary()
		if err != nil {
			return err
		}
		cfg.chroma = bin
	}
	work, err := os.MkdirTemp("", "bench-restore-collection-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := prepareSnapshot(ctx, cfg, work); err != nil {
		return err
	}
	target, err := startChroma(ctx, cfg, filepath.Join(work, "target"))
	if err != nil {
		return err
	}
	defer target.Stop()
	fmt.Printf("| run | records | dim | wall | restore into scratch | copy + checks | records/s | CPU otelcol-chroma | peak RSS otelcol-chroma | peak RSS scratch Chroma |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for i := range cfg.repeat {
		if err := restoreOnce(ctx, cfg, work, target, i+1); err != nil {
			return err
		}
		if err := target.Client.DeleteCollection(ctx, "bench"); err != nil {
			return err
		}
	}
	return nil
}

func startChroma(ctx context.Context, cfg config, dir string) (*chromaapi.Server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return chromaapi.StartServer(ctx, chromaapi.ServerOptions{Command: cfg.chroma, PersistDir: dir, LogDir: dir})
}

// prepareSnapshot fills a collection in a fresh Chroma, stops it and takes
// a snapshot of its persist directory into work/bucket.
func prepareSnapshot(ctx context.Context, cfg config, work string) error {
	persist := filepath.Join(work, "source")
	src, err := startChroma(ctx, cfg, persist)
	if err != nil {
		return err
	}
	start := time.Now()
	err = fill(ctx, src.Client, cfg.n, cfg.dim)
	if serr := src.Stop(); err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(os.Stderr, "wrote %d records of dimension %d through the API in %s (%.0f records/s)\n", cfg.n, cfg.dim, took.Round(time.Millisecond), float64(cfg.n)/took.Seconds())
	bucket := filepath.Join(work, "bucket")
	if err := os.Mkdir(bucket, 0o755); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, cfg.bin, "snapshot", "now", "--bucket", "file://"+bucket, "--persist-directory", persist).CombinedOutput()
	if err != nil {
		return fmt.Errorf("snapshot now: %w\n%s", err, out)
	}
	return nil
}

func fill(ctx context.Context, c *chromaapi.Client, n, dim int) error {
	id, err := c.CreateCollection(ctx, "bench")
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const batch = 1000
	for lo := 0; lo < n; lo += batch {
		var b chromaapi.Batch
		for i := lo; i < min(lo+batch, n); i++ {
			doc := fmt.Sprintf("document %d %s", i, strings.Repeat("lorem ipsum ", 16))
			b.IDs = append(b.IDs, fmt.Sprintf("id-%07d", i))
			b.Embeddings = append(b.Embeddings, unitVector(rng, dim))
			b.Documents = append(b.Documents, &doc)
			b.Metadatas = append(b.Metadatas, json.RawMessage(fmt.Sprintf(`{"i":%d,"source":"bench","score":%d.5}`, i, i%100)))
		}
		if err := c.UpsertBatch(ctx, id, b); err != nil {
			return err
		}
	}
	return nil
}

func unitVector(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var sum float64
	for i := range v {
		x := rng.NormFloat64()
		v[i], sum = float32(x), sum+x*x
	}
	norm := float32(math.Sqrt(sum))
	for i := range v {
		v[i] /= norm
	}
	return v
}

// report is the part of restore-collection --json this reads.
type report struct {
	Restore     time.Duration `json:"restore_ns"`
	Collections []struct {
		Records  int64         `json:"records"`
		Duration time.Duration `json:"duration_ns"`
	} `json:"collections"`
}

func restoreOnce(ctx context.Context, cfg config, work string, target *chromaapi.Server, run int) error {
	scratch := filepath.Join(work, "scratch")
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return err
	}
	args := []string{"snapshot", "restore-collection", "latest", "--bucket", "file://" + filepath.Join(work, "bucket"),
		"--collection", "bench", "--into", target.URL, "--chroma-command", cfg.chroma, "--scratch-directory", scratch, "--json"}
	if cfg.batch > 0 {
		args = append(args, "--batch-size", strconv.Itoa(cfg.batch))
	}
	cmd := exec.CommandContext(ctx, cfg.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	own, scratchChroma, err := watchRSS(cmd.Process.Pid, scratch, done)
	wall := time.Since(start)
	if err != nil {
		return fmt.Errorf("restore-collection: %w\n%s", err, stderr.String())
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || len(rep.Collections) != 1 {
		return fmt.Errorf("decode the report (%v): %s", err, stdout.String())
	}
	col := rep.Collections[0]
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	fmt.Printf("| %d | %d | %d | %.2f s | %.2f s | %.2f s | %.0f | %.2f s | %d MiB | %d MiB |\n", run, col.Records, cfg.dim, wall.Seconds(),
		rep.Restore.Seconds(), col.Duration.Seconds(), float64(col.Records)/col.Duration.Seconds(), cpu.Seconds(), own>>20, scratchChroma>>20)
	return nil
}

// watchRSS samples until done the peak RSS of pid (VmHWM) and the largest
// RSS of a process whose command line names scratch (the Chroma serving
// the restored snapshot).
func watchRSS(pid int, scratch string, done <-chan error) (own, chroma int64, err error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return own, chroma, err
		case <-tick.C:
		}
		own = max(own, procStatus(pid, "VmHWM:"))
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(scratch)) && bytes.Contains(b, []byte("run")) {
				other, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
				if other != pid {
					chroma = max(chroma, procStatus(other, "VmHWM:"))
				}
			}
		}
	}
}

// procStatus returns a /proc/<pid>/status field in bytes (0 if unknown).
func procStatus(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
