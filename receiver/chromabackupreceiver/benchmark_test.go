package chromabackupreceiver

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

const (
	benchFiles   = 10_000
	benchRecords = 1_000_000
)

// largePersistDir builds a Chroma persist directory with benchFiles files and
// benchRecords records: the demo database grown with rows of its own schema,
// plus segment folders of small files.
func largePersistDir(b *testing.B) string {
	b.Helper()
	dir := chromatest.CopyDemo(b)
	db, err := sql.Open("sqlite3", filepath.Join(dir, "chroma.sqlite3"))
	require.NoError(b, err)
	defer db.Close()
	var segment string
	require.NoError(b, db.QueryRow(`SELECT id FROM segments WHERE scope='METADATA' LIMIT 1`).Scan(&segment))
	var have int
	require.NoError(b, db.QueryRow(`SELECT count(*) FROM embeddings`).Scan(&have))
	tx, err := db.Begin()
	require.NoError(b, err)
	stmt, err := tx.Prepare(`INSERT INTO embeddings (segment_id, embedding_id, seq_id) VALUES (?, ?, ?)`)
	require.NoError(b, err)
	for i := have; i < benchRecords; i++ {
		_, err := stmt.Exec(segment, fmt.Sprintf("bench-%d", i), i)
		require.NoError(b, err)
	}
	require.NoError(b, stmt.Close())
	require.NoError(b, tx.Commit())

	var n int
	require.NoError(b, filepath.Walk(dir, func(string, os.FileInfo, error) error { n++; return nil }))
	for i := 0; n < benchFiles; i++ {
		seg := filepath.Join(dir, fmt.Sprintf("00000000-0000-0000-0000-%012d", i))
		require.NoError(b, os.MkdirAll(seg, 0o755))
		for _, f := range []string{"header.bin", "data_level0.bin", "length.bin", "link_lists.bin"} {
			require.NoError(b, os.WriteFile(filepath.Join(seg, f), make([]byte, 512), 0o644))
			n++
		}
	}
	return dir
}

// BenchmarkScrape measures one scrape of a persist directory with 10,000 files and
// 1,000,000 records. "changed" re-reads the database every time (Chroma wrote since
// the last scrape); "unchanged" is an idle Chroma, whose counts are reused.
func BenchmarkScrape(b *testing.B) {
	dir := largePersistDir(b)
	s, _ := newTestScraper(b, dir)
	ctx := context.Background()

	b.Run("changed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.probe.cachedStamp = fileStamp{}
			if _, err := s.scrape(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.scrape(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
