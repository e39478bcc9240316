package chromadb

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

const schema = `
CREATE TABLE migrations (dir TEXT NOT NULL, version INTEGER NOT NULL, filename TEXT NOT NULL, sql TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (dir, version));
CREATE TABLE collections (id TEXT PRIMARY KEY, name TEXT NOT NULL, dimension INTEGER, database_id TEXT NOT NULL, config_json_str TEXT);
CREATE TABLE segments (id TEXT PRIMARY KEY, type TEXT NOT NULL, scope TEXT NOT NULL, collection TEXT NOT NULL);
CREATE TABLE embeddings (id INTEGER PRIMARY KEY, segment_id TEXT NOT NULL, embedding_id TEXT NOT NULL, seq_id BLOB NOT NULL, UNIQUE (segment_id, embedding_id));
CREATE TABLE max_seq_id (segment_id TEXT PRIMARY KEY, seq_id);
CREATE TABLE embeddings_queue (seq_id INTEGER PRIMARY KEY, operation INTEGER NOT NULL, topic TEXT NOT NULL, id TEXT NOT NULL);
INSERT INTO migrations VALUES ('sysdb', 8, '', '', ''), ('sysdb', 9, '', '', ''), ('metadb', 5, '', '', '');
INSERT INTO collections VALUES ('c1', 'alpha', 3, 'db', '{}'), ('c2', 'beta', 3, 'db', '{}');
INSERT INTO segments VALUES ('m1', 'urn:chroma:segment/metadata/sqlite', 'METADATA', 'c1'),
	('v1', 'urn:chroma:segment/vector/hnsw-local-persisted', 'VECTOR', 'c1'),
	('m2', 'urn:chroma:segment/metadata/sqlite', 'METADATA', 'c2'),
	('v2', 'urn:chroma:segment/vector/hnsw-local-persisted', 'VECTOR', 'c2');
INSERT INTO embeddings (segment_id, embedding_id, seq_id) VALUES ('m1', 'a', 1), ('m1', 'b', 2), ('m1', 'c', 3), ('m2', 'x', 4);
-- c1's metadata segment applied the log up to 5; its vector segment up to 3
-- (stored as a big-endian blob, as older schemas did). c2 has no rows yet.
INSERT INTO max_seq_id VALUES ('m1', 5), ('v1', X'0000000000000003'), ('m2', 4);
INSERT INTO embeddings_queue VALUES
	(4, 0, 'persistent://default/default/c1', 'd'),
	(5, 3, 'persistent://default/default/c1', 'd'),
	(6, 0, 'persistent://default/default/c1', 'a'),  -- add of an existing id: no change
	(7, 0, 'persistent://default/default/c1', 'e'),  -- new
	(8, 2, 'persistent://default/default/c1', 'f'),  -- upsert, new
	(9, 3, 'persistent://default/default/c1', 'b'),  -- delete
	(10, 1, 'persistent://default/default/c1', 'g'), -- update of a missing id: no change
	(11, 3, 'persistent://default/default/c1', 'zz'),-- delete of a missing id
	(12, 0, 'persistent://default/default/c2', 'y');
`

func newDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), DatabaseFile)
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(schema); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFacts(t *testing.T) {
	ctx := testContext(t)
	path := newDB(t)
	f, err := Inspect(ctx, filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if f.JournalMode != "delete" || f.Migrations["sysdb"] != 9 || f.Migrations["metadb"] != 5 {
		t.Errorf("journal %q, migrations %v", f.JournalMode, f.Migrations)
	}
	// c1: a, b, c applied; pending: +e +f -b → 4. c2: x, pending +y → 2.
	if len(f.Collections) != 2 || f.Collections[0].Records != 4 || f.Collections[1].Records != 2 {
		t.Errorf("collections %+v", f.Collections)
	}
	vec := f.VectorSeqIDs()
	if len(vec) != 2 || vec["v1"] != 3 || vec["v2"] != 0 {
		t.Errorf("vector seq ids %v", vec)
	}
	db, err := Open(ctx, path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	colls, records, err := db.Counts(ctx)
	if err != nil || colls != 2 || records != 6 {
		t.Errorf("counts = %d, %d, %v", colls, records, err)
	}
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
	// Nothing was created beside the database.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("files beside the database: %v", entries)
	}
}

// Pending entries count in log order across every topic of a collection,
// from each collection's own position, with the topics named in the query
// or, past maxTopicFilter, filtered in Go.
func TestPendingAcrossTopics(t *testing.T) {
	ctx := testContext(t)
	path := newDB(t)
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`
INSERT INTO collections VALUES ('c3', 'gamma', 3, 'db', '{}');
INSERT INTO segments VALUES ('m3', 'urn:chroma:segment/metadata/sqlite', 'METADATA', 'c3');
INSERT INTO embeddings (segment_id, embedding_id, seq_id) VALUES ('m3', 'p', 13);
INSERT INTO max_seq_id VALUES ('m3', 14);
INSERT INTO embeddings_queue VALUES
	(13, 0, 'persistent://default/default/c3', 'p'),
	(14, 0, 'persistent://default/default/c3', 'q'),  -- applied, though q is no row
	(15, 2, 'persistent://archive/ns/c2', 'z'),       -- c2 under a second topic
	(16, 0, 'persistent://default/default/c3', 'r'),
	(17, 3, 'persistent://archive/ns/c2', 'x'),
	(18, 0, 'persistent://default/default/c9', 'n'),  -- no such collection
	(20, 0, 'persistent://default/default/c2', 'v'),
	(21, 3, 'persistent://archive/ns/c2', 'v');       -- after the add under the other topic`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer func(v int) { maxTopicFilter = v }(maxTopicFilter)
	for _, limit := range []int{maxTopicFilter, 1} {
		maxTopicFilter = limit
		f, err := Inspect(ctx, filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, c := range f.Collections {
			got[c.ID] = c.Records
		}
		// c1 as in TestFacts: 4. c2: x +y (12) +z -x +v -v: 2. c3: p +r: 2.
		if len(got) != 3 || got["c1"] != 4 || got["c2"] != 2 || got["c3"] != 2 {
			t.Errorf("topic filter limit %d: records %v", limit, got)
		}
	}
}

func TestDecodeSeqID(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want uint64
		ok   bool
	}{
		{nil, 0, true},
		{int64(42), 42, true},
		{int64(-1), 0, false},
		{[]byte{0, 0, 0, 0, 0, 0, 1, 0}, 256, true},
		{append(make([]byte, 16), 0, 0, 0, 0, 0, 0, 0, 7), 7, true},
		{append([]byte{1}, make([]byte, 23)...), 0, false},
		{"123", 123, true},
	} {
		got, err := decodeSeqID(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("decodeSeqID(%v) = %d, %v", tc.in, got, err)
		}
	}
}

func TestNotChroma(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	if _, err := Inspect(ctx, dir); !errors.Is(err, ErrNotChroma) {
		t.Errorf("empty dir: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, DatabaseFile), []byte("not a database at all, really not"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Inspect(ctx, dir); !errors.Is(err, ErrNotChroma) {
		t.Errorf("not sqlite: %v", err)
	}
}

// While WithReadLock runs its function, Chroma's writers cannot commit.
func TestWithReadLockBlocksWriters(t *testing.T) {
	ctx := testContext(t)
	path := newDB(t)
	db, err := Open(ctx, path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	write := func() error {
		w, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=0")
		if err != nil {
			return err
		}
		defer w.Close()
		_, err = w.Exec(`INSERT INTO embeddings (segment_id, embedding_id, seq_id) VALUES ('m1', 'new', 99)`)
		return err
	}
	cli, _ := exec.LookPath("sqlite3")
	held, err := db.WithReadLock(ctx, func(context.Context) error {
		if err := write(); err == nil || !strings.Contains(err.Error(), "locked") {
			t.Errorf("in-process write under the read lock: %v", err)
		}
		if cli != "" {
			// Another process, as Chroma is.
			out, err := exec.CommandContext(ctx, cli, path, `INSERT INTO embeddings (segment_id, embedding_id, seq_id) VALUES ('m1', 'cli', 98)`).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "locked") {
				t.Errorf("write from another process under the read lock: %v %s", err, out)
			}
		}
		return nil
	})
	if err != nil || held <= 0 {
		t.Fatalf("WithReadLock = %v, %v", held, err)
	}
	if err := write(); err != nil {
		t.Fatalf("write after the lock was released: %v", err)
	}
	if _, err := os.Stat(path + "-journal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a journal was left beside the database: %v", err)
	}
}

func TestDemo(t *testing.T) {
	want := chromatest.DemoExpected(t)
	f, err := Inspect(testContext(t), chromatest.DemoDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Collections) != want.Collections {
		t.Fatalf("%d collections, Chroma reported %d", len(f.Collections), want.Collections)
	}
	for _, c := range f.Collections {
		if int(c.Records) != want.PerCollection[c.Name] {
			t.Errorf("collection %s: %d records, Chroma reported %d", c.Name, c.Records, want.PerCollection[c.Name])
		}
		// Where Chroma's API finds it (the demo was written through it).
		if c.Tenant != chromatest.DefaultTenant || c.Database != chromatest.DefaultDatabase {
			t.Errorf("collection %s: in %s/%s", c.Name, c.Tenant, c.Database)
		}
	}
}

func TestChecksFindCorruption(t *testing.T) {
	ctx := testContext(t)
	path := newDB(t)
	db, err := Open(ctx, path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.QuickCheck(ctx); err != nil {
		t.Fatalf("quick_check of a sound database: %v", err)
	}
	db.Close()

	// Overwrite the b-tree page of a table with garbage.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	if len(data) < 3*page {
		t.Fatalf("test database has only %d bytes", len(data))
	}
	for i := 2 * page; i < 3*page; i++ {
		data[i] = 0x5a
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err = OpenCopy(ctx, path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer db.Close()
	err = db.QuickCheck(ctx)
	var ce *CheckError
	if !errors.Is(err, ErrDamaged) || !errors.As(err, &ce) || len(ce.Problems) == 0 || ce.Pragma != "quick_check" {
		t.Errorf("quick_check of a database with a page of garbage = %v; want a CheckError matching ErrDamaged", err)
	}
	if err := db.IntegrityCheck(ctx); !errors.Is(err, ErrDamaged) {
		t.Errorf("integrity_check of a database with a page of garbage = %v; want ErrDamaged", err)
	}
}

// A query that meets a malformed page reports ErrDamaged, classified by
// SQLite's result code.
func TestMalformedPageIsDamaged(t *testing.T) {
	ctx := testContext(t)
	dir := chromatest.CopyDemo(t)
	chromatest.DamageTable(t, dir, "collections")
	db, err := OpenCopy(ctx, filepath.Join(dir, DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Facts(ctx); !errors.Is(err, ErrDamaged) {
		t.Fatalf("facts of a database whose collections page is garbage = %v; want ErrDamaged", err)
	}
}
