package snapshot

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/file"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/storagetest"
)

// The schema of a Chroma 1.0 persist directory's chroma.sqlite3 (the tables
// the engine reads, plus the log).
const fixtureSchema = `
CREATE TABLE migrations (dir TEXT NOT NULL, version INTEGER NOT NULL, filename TEXT NOT NULL,
	sql TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (dir, version));
CREATE TABLE tenants (id TEXT PRIMARY KEY, UNIQUE (id));
CREATE TABLE databases (id TEXT PRIMARY KEY, name TEXT NOT NULL,
	tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE, UNIQUE (tenant_id, name));
CREATE TABLE collections (id TEXT PRIMARY KEY, name TEXT NOT NULL, dimension INTEGER,
	database_id TEXT NOT NULL REFERENCES databases(id) ON DELETE CASCADE, config_json_str TEXT,
	UNIQUE (name, database_id));
CREATE TABLE segments (id TEXT PRIMARY KEY, type TEXT NOT NULL, scope TEXT NOT NULL,
	collection TEXT REFERENCES collection(id) NOT NULL);
CREATE TABLE embeddings (id INTEGER PRIMARY KEY, segment_id TEXT NOT NULL, embedding_id TEXT NOT NULL,
	seq_id BLOB NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	UNIQUE (segment_id, embedding_id));
CREATE TABLE embedding_metadata (id INTEGER REFERENCES embeddings(id), key TEXT NOT NULL,
	string_value TEXT, int_value INTEGER, float_value REAL, bool_value INTEGER, PRIMARY KEY (id, key));
CREATE TABLE max_seq_id (segment_id TEXT PRIMARY KEY, seq_id INTEGER);
CREATE TABLE embeddings_queue (seq_id INTEGER PRIMARY KEY, created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	operation INTEGER NOT NULL, topic TEXT NOT NULL, id TEXT NOT NULL, vector BLOB, encoding TEXT, metadata TEXT);
INSERT INTO migrations VALUES ('sysdb', 9, '00009.sql', '', ''), ('metadb', 5, '00005.sql', '', ''),
	('embeddings_queue', 2, '00002.sql', '', '');
INSERT INTO tenants VALUES ('default_tenant');
INSERT INTO databases VALUES ('00000000-0000-0000-0000-000000000000', 'default_database', 'default_tenant');
`

// secretMarker is stored in every document, so tests can look for it in
// the bucket.
const secretMarker = "SECRET-MARKER-7f3a"

type fixtureOpts struct {
	collections int
	records     int   // per collection
	hnswBytes   int64 // size of each data_level0.bin
	wal         bool
	seed        uint64
}

type fixtureColl struct {
	id, name, metaSeg, vecSeg string
	records                   int
	seq                       int64
}

// fixture is a synthetic Chroma persist directory.
type fixture struct {
	dir   string
	opts  fixtureOpts
	colls []*fixtureColl
	rng   *rand.Rand
	// keep holds a connection open (WAL mode: as a running Chroma would).
	keep *sql.DB
}

func newFixture(t testing.TB, o fixtureOpts) *fixture {
	t.Helper()
	if o.collections == 0 {
		o.collections = 2
	}
	if o.records == 0 {
		o.records = 200
	}
	if o.hnswBytes == 0 {
		o.hnswBytes = 300 << 10
	}
	f := &fixture{dir: filepath.Join(t.TempDir(), "chroma"), opts: o, rng: rand.New(rand.NewPCG(o.seed, 99))}
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f.exec(t, func(db *sql.DB) error {
		if o.wal {
			if _, err := db.Exec(`PRAGMA journal_mode=WAL`); err != nil {
				return err
			}
		}
		_, err := db.Exec(fixtureSchema)
		return err
	})
	for i := range o.collections {
		c := &fixtureColl{
			id:      f.uuid(),
			name:    fmt.Sprintf("collection-%d", i),
			metaSeg: f.uuid(),
			vecSeg:  f.uuid(),
		}
		f.colls = append(f.colls, c)
		f.exec(t, func(db *sql.DB) error {
			if _, err := db.Exec(`INSERT INTO collections (id, name, dimension, database_id, config_json_str)
				VALUES (?, ?, 32, '00000000-0000-0000-0000-000000000000', '{}')`, c.id, c.name); err != nil {
				return err
			}
			_, err := db.Exec(`INSERT INTO segments VALUES (?, 'urn:chroma:segment/metadata/sqlite', 'METADATA', ?),
				(?, 'urn:chroma:segment/vector/hnsw-local-persisted', 'VECTOR', ?)`, c.metaSeg, c.id, c.vecSeg, c.id)
			return err
		})
		f.persist(t, i, o.records)
	}
	if o.wal {
		db, err := sql.Open("sqlite3", f.dsn())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Ping(); err != nil {
			t.Fatal(err)
		}
		f.keep = db
		t.Cleanup(func() { db.Close() })
	}
	return f
}

func (f *fixture) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(f.rng.UintN(256))
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (f *fixture) dbPath() string { return filepath.Join(f.dir, "chroma.sqlite3") }

func (f *fixture) dsn() string {
	return "file:" + (&url.URL{Path: f.dbPath()}).EscapedPath() + "?_busy_timeout=10000"
}

// exec runs fn on a short-lived read-write connection, as Chroma's writer would.
func (f *fixture) exec(t testing.TB, fn func(db *sql.DB) error) {
	t.Helper()
	db, err := sql.Open("sqlite3", f.dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := fn(db); err != nil {
		t.Fatal(err)
	}
}

// persist adds n records to collection i and persists its vector segment
// the way Chroma does: HNSW files rewritten in place first, then the
// max_seq_id rows.
func (f *fixture) persist(t testing.TB, i, n int) {
	t.Helper()
	c := f.colls[i]
	f.writeHNSW(t, c)
	f.exec(t, func(db *sql.DB) error {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for range n {
			c.seq++
			c.records++
			res, err := tx.Exec(`INSERT INTO embeddings (segment_id, embedding_id, seq_id) VALUES (?, ?, ?)`,
				c.metaSeg, fmt.Sprintf("id-%d", c.records), c.seq)
			if err != nil {
				return err
			}
			rowid, _ := res.LastInsertId()
			if _, err := tx.Exec(`INSERT INTO embedding_metadata (id, key, string_value) VALUES (?, 'chroma:document', ?)`,
				rowid, fmt.Sprintf("%s document %d of %s", secretMarker, c.records, c.name)); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO embeddings_queue (operation, topic, id, vector, encoding) VALUES (0, ?, ?, ?, 'FLOAT32')`,
				c.id, fmt.Sprintf("id-%d", c.records), f.randBytes(128)); err != nil {
				return err
			}
		}
		for _, seg := range []string{c.metaSeg, c.vecSeg} {
			if _, err := tx.Exec(`INSERT INTO max_seq_id (segment_id, seq_id) VALUES (?, ?)
				ON CONFLICT (segment_id) DO UPDATE SET seq_id = excluded.seq_id`, seg, c.seq); err != nil {
				return err
			}
		}
		return tx.Commit()
	})
}

func (f *fixture) randBytes(n int) []byte { return randomBytes(f.rng, n) }

// randomBytes returns n bytes from rng.
func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// writeHNSW writes (first time) or partially rewrites a vector segment's
// files in place, like hnswlib's persist.
func (f *fixture) writeHNSW(t testing.TB, c *fixtureColl) {
	t.Helper()
	dir := filepath.Join(f.dir, c.vecSeg)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data_level0.bin")
	if _, err := os.Stat(data); errors.Is(err, fs.ErrNotExist) {
		w, err := os.Create(data)
		if err != nil {
			t.Fatal(err)
		}
		chunk := make([]byte, 1<<20)
		for left := f.opts.hnswBytes; left > 0; left -= int64(len(chunk)) {
			n := int(min(left, int64(len(chunk))))
			for i := 0; i < n; i += 8 {
				v := f.rng.Uint64()
				for j := 0; j < 8 && i+j < n; j++ {
					chunk[i+j] = byte(v >> (8 * j))
				}
			}
			if _, err := w.Write(chunk[:n]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		f.overwrite(t, data, 0, f.randBytes(4096))
	}
	for name, size := range map[string]int{"header.bin": 100, "length.bin": 4000, "link_lists.bin": 2500, "index_metadata.pickle": 1000} {
		if err := os.WriteFile(filepath.Join(dir, name), f.randBytes(size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) overwrite(t testing.TB, path string, off int64, data []byte) {
	t.Helper()
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// files returns every regular file below dir with its content.
func readTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// requireSameTree compares the files of a restored folder with the source,
// byte for byte, with modes and mtimes.
func requireSameTree(t testing.TB, want, got string) {
	t.Helper()
	w, g := readTree(t, want), readTree(t, got)
	var wantNames, gotNames []string
	for k := range w {
		wantNames = append(wantNames, k)
	}
	for k := range g {
		gotNames = append(gotNames, k)
	}
	sort.Strings(wantNames)
	sort.Strings(gotNames)
	if strings.Join(wantNames, ",") != strings.Join(gotNames, ",") {
		t.Fatalf("restored files differ:\nwant %v\ngot  %v", wantNames, gotNames)
	}
	for _, name := range wantNames {
		if !bytes.Equal(w[name], g[name]) {
			t.Fatalf("restored %s differs from the source (%d vs %d bytes)", name, len(g[name]), len(w[name]))
		}
		ws, _ := os.Stat(filepath.Join(want, name))
		gs, _ := os.Stat(filepath.Join(got, name))
		if ws.Mode() != gs.Mode() || !ws.ModTime().Equal(gs.ModTime()) {
			t.Fatalf("restored %s: mode %v mtime %v, want %v %v", name, gs.Mode(), gs.ModTime(), ws.Mode(), ws.ModTime())
		}
	}
}

func newBucket(t testing.TB) *file.Bucket {
	t.Helper()
	b, err := file.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustOpen(t testing.TB, b storage.Bucket, k Keys) *Repository {
	t.Helper()
	r, err := Open(testContext(t), b, k)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustKeys(t testing.TB) (writer, reader Keys) {
	t.Helper()
	w, r, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	wk, err := ParseWriterKey(w, "writer.key")
	if err != nil {
		t.Fatal(err)
	}
	rk, err := ParseReaderKey(r, "reader.key")
	if err != nil {
		t.Fatal(err)
	}
	return wk, rk
}

// objectKeys lists the keys under prefix.
func objectKeys(t testing.TB, b storage.Bucket, prefix string) []string {
	t.Helper()
	var keys []string
	for info, err := range b.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, info.Key)
	}
	return keys
}

func readObject(t testing.TB, b storage.Bucket, key string) []byte {
	t.Helper()
	data := storagetest.ReadObject(t, b, key)
	if data == nil {
		t.Fatalf("read %s in %s: %v", key, b, storage.ErrNotExist)
	}
	return data
}

func writeObject(t testing.TB, b storage.Bucket, key string, data []byte) {
	t.Helper()
	if err := b.Write(context.Background(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
}

// leftovers lists entries in dir other than the given names.
func leftovers(t testing.TB, dir string, except ...string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
outer:
	for _, e := range entries {
		for _, x := range except {
			if e.Name() == x {
				continue outer
			}
		}
		out = append(out, e.Name())
	}
	return out
}

func newRand() *rand.Rand { return rand.New(rand.NewPCG(7, 7)) }
