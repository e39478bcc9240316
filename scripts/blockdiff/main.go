// Command blockdiff shows where an incremental snapshot's bytes go: for two
// states of a persist directory, per file and block size, how many blocks
// changed and what they weigh raw and compressed with zstd at each level.
//
//	go run ./scripts/blockdiff OLD_DIR NEW_DIR
package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"

	"github.com/klauspost/compress/zstd"
)

var (
	blockSizes = []int{4 << 10, 16 << 10, 64 << 10, 128 << 10, 256 << 10, 1 << 20}
	levels     = []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression}
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: blockdiff OLD_DIR NEW_DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "blockdiff:", err)
		os.Exit(1)
	}
}

func run(oldDir, newDir string) error {
	var files []string
	err := filepath.WalkDir(newDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(newDir, p)
			files = append(files, rel)
		}
		return err
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	encs := make([]*zstd.Encoder, len(levels))
	for i, l := range levels {
		encs[i], _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(l), zstd.WithEncoderConcurrency(1))
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "file\tsize\tblock\tchanged\traw MiB\tfastest\tdefault\tbetter\t")
	totals := map[int][]int64{}
	for _, rel := range files {
		nw, err := os.ReadFile(filepath.Join(newDir, rel))
		if err != nil {
			return err
		}
		old, _ := os.ReadFile(filepath.Join(oldDir, rel))
		for _, bs := range blockSizes {
			row := diff(old, nw, bs, encs)
			if row[0] == 0 {
				continue
			}
			t := totals[bs]
			if t == nil {
				t = make([]int64, len(row))
			}
			for i := range row {
				t[i] += row[i]
			}
			totals[bs] = t
			printRow(tw, rel, int64(len(nw)), bs, row)
		}
	}
	for _, bs := range blockSizes {
		if t := totals[bs]; t != nil {
			printRow(tw, "TOTAL", 0, bs, t)
		}
	}
	return tw.Flush()
}

// diff returns changed blocks, their raw bytes, and their bytes compressed
// at each level (a block that does not shrink is counted raw).
func diff(old, nw []byte, bs int, encs []*zstd.Encoder) []int64 {
	row := make([]int64, 2+len(encs))
	for off := 0; off < len(nw); off += bs {
		end := min(off+bs, len(nw))
		b := nw[off:end]
		if end <= len(old) && bytes.Equal(old[off:end], b) {
			continue
		}
		row[0]++
		row[1] += int64(len(b))
		for i, e := range encs {
			row[2+i] += int64(min(len(e.EncodeAll(b, nil)), len(b)))
		}
	}
	return row
}

func printRow(tw *tabwriter.Writer, name string, size int64, bs int, row []int64) {
	mib := func(n int64) string { return fmt.Sprintf("%.2f", float64(n)/(1<<20)) }
	fmt.Fprintf(tw, "%s\t%s\t%dK\t%d\t%s\t%s\t%s\t%s\t\n", name, mib(size), bs>>10, row[0], mib(row[1]), mib(row[2]), mib(row[3]), mib(row[4]))
}
