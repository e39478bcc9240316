// Package chromadb reads facts from a Chroma persist directory's chroma.sqlite3
// without ever writing to it: journal mode, migration levels, collections with
// their record counts, and segments with their persisted max_seq_id.
//
// The database is always opened read-only (mode=ro), so no journal, WAL or
// shared-memory file is ever created beside Chroma's database. The snapshot
// engine, the metrics receiver and the CLI share this package.
package chromadb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3" // also registers the "sqlite3" driver (SQLite in C, through cgo)
)

// DatabaseFile is the name of Chroma's SQLite database inside a persist directory.
const DatabaseFile = "chroma.sqlite3"

// ScopeVector is the segments.scope value of HNSW vector segments, the ones
// that keep their data in a folder of the persist directory.
const ScopeVector = "VECTOR"

// ScopeMetadata is the segments.scope value of the SQLite metadata segment,
// whose embeddings rows are a collection's records.
const ScopeMetadata = "METADATA"

// ErrNotChroma is returned (wrapped) when a path is not a Chroma persist
// directory or database.
var ErrNotChroma = errors.New("not a Chroma persist directory")

// Facts describes a Chroma database at one point in time.
type Facts struct {
	JournalMode string
	// Migrations maps each migrations dir (sysdb, metadb, embeddings_queue)
	// to the highest version applied.
	Migrations  map[string]int64
	Collections []Collection
	Segments    []Segment
}

// Collection is one Chroma collection.
type Collection struct {
	ID   string
	Name string
	// Tenant and Database name where the collection lives (Chroma's API
	// addresses a collection through them); empty in a schema without
	// databases.
	Tenant, Database string
	// Records counts the rows of the collection's metadata segment.
	Records int64
}

// Segment is one row of the segments table with its persisted position.
type Segment struct {
	ID         string
	Type       string
	Scope      string
	Collection string
	// MaxSeqID is the segment's max_seq_id row; 0 when it has none yet.
	MaxSeqID uint64
}

// VectorSeqIDs returns the max_seq_id of every vector segment, by segment id.
func (f *Facts) VectorSeqIDs() map[string]uint64 {
	return VectorSeqIDs(f.Segments)
}

// VectorSeqIDs returns the max_seq_id of every vector segment in segs, by
// segment id.
func VectorSeqIDs(segs []Segment) map[string]uint64 {
	m := make(map[string]uint64)
	for _, s := range segs {
		if s.Scope == ScopeVector {
			m[s.ID] = s.MaxSeqID
		}
	}
	return m
}

// DB is a read-only handle on a chroma.sqlite3 file.
type DB struct {
	path   string
	db     *sql.DB
	tables map[string]bool
}

// Open opens a live chroma.sqlite3 file read-only and checks that it holds
// Chroma's collections and segments tables. busyTimeout is how long a query
// waits for a lock held by Chroma's writer before failing (zero: 2 seconds).
func Open(ctx context.Context, path string, busyTimeout time.Duration) (*DB, error) {
	return open(ctx, path, busyTimeout, false)
}

// OpenCopy opens a private copy of a Chroma database that nothing else
// changes while it is open: SQLite takes no locks and reads no journal.
// Its queries run on one connection, one after another. Never use it on a
// live Chroma database.
func OpenCopy(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, 0, true)
}

func open(ctx context.Context, path string, busyTimeout time.Duration, immutable bool) (*DB, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist", ErrNotChroma, path)
		}
		return nil, fmt.Errorf("open Chroma database %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrNotChroma, path)
	}
	busy := busyTimeout
	if busy <= 0 {
		busy = 2 * time.Second
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open Chroma database %s: %w", path, err)
	}
	q := url.Values{}
	q.Set("mode", "ro")
	if immutable {
		q.Set("immutable", "1")
	}
	q.Set("_busy_timeout", fmt.Sprint(busy.Milliseconds()))
	// query_only guards against any statement of ours ever writing.
	q.Set("_query_only", "1")
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open Chroma database %s: %w", path, err)
	}
	if immutable {
		// One connection: its queries run one after another, in one SQLite
		// page cache.
		db.SetMaxOpenConns(1)
	}
	d := &DB{path: path, db: db}
	if err := d.loadTables(ctx); err != nil {
		db.Close()
		return nil, err
	}
	for _, t := range []string{"collections", "segments"} {
		if !d.tables[t] {
			db.Close()
			return nil, fmt.Errorf("%w: %s has no %q table", ErrNotChroma, path, t)
		}
	}
	return d, nil
}

// Close releases the database handle.
func (d *DB) Close() error { return d.db.Close() }

// Path is the database file's path as given to Open.
func (d *DB) Path() string { return d.path }

func (d *DB) loadTables(ctx context.Context) error {
	rows, err := d.db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type IN ('table', 'view')`)
	if err != nil {
		if hasCode(err, sqlite3.ErrNotADB) {
			return fmt.Errorf("%w: %s is not a SQLite database", ErrNotChroma, d.path)
		}
		return fmt.Errorf("read schema of %s: %w", d.path, err)
	}
	defer rows.Close()
	d.tables = make(map[string]bool)
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("read schema of %s: %w", d.path, err)
		}
		d.tables[name] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read schema of %s: %w", d.path, err)
	}
	return nil
}

// JournalMode returns the database's journal mode ("delete", "wal", ...).
func (d *DB) JournalMode(ctx context.Context) (string, error) {
	var mode string
	if err := d.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return "", fmt.Errorf("read journal mode of %s: %w", d.path, err)
	}
	return strings.ToLower(mode), nil
}

// Segments lists every segment with its max_seq_id, ordered by id. An
// error from a malformed page matches ErrDamaged.
func (d *DB) Segments(ctx context.Context) ([]Segment, error) {
	segs, err := d.segments(ctx)
	return segs, classify(err)
}

func (d *DB) segments(ctx context.Context) ([]Segment, error) {
	query := `SELECT s.id, s.type, s.scope, s.collection, NULL FROM segments s ORDER BY s.id`
	if d.tables["max_seq_id"] {
		query = `SELECT s.id, s.type, s.scope, s.collection, m.seq_id
			FROM segments s LEFT JOIN max_seq_id m ON m.segment_id = s.id ORDER BY s.id`
	}
	rows, err := d.db.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("read segments of %s: %w", d.path, err)
	}
	defer rows.Close()
	var segs []Segment
	for rows.Next() {
		var s Segment
		var raw any
		if err := rows.Scan(&s.ID, &s.Type, &s.Scope, &s.Collection, &raw); err != nil {
			return nil, fmt.Errorf("read segments of %s: %w", d.path, err)
		}
		if s.MaxSeqID, err = decodeSeqID(raw); err != nil {
			return nil, fmt.Errorf("read max_seq_id of segment %s in %s: %w", s.ID, d.path, err)
		}
		segs = append(segs, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read segments of %s: %w", d.path, err)
	}
	return segs, nil
}

// decodeSeqID accepts both encodings Chroma has used for seq_id: an INTEGER
// column, and in older schemas a big-endian unsigned BLOB.
func decodeSeqID(v any) (uint64, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case int64:
		if x < 0 {
			return 0, fmt.Errorf("negative seq_id %d", x)
		}
		return uint64(x), nil
	case []byte:
		return decodeSeqIDBlob(x)
	case string:
		var n uint64
		if _, err := fmt.Sscan(x, &n); err == nil {
			return n, nil
		}
		return decodeSeqIDBlob([]byte(x))
	default:
		return 0, fmt.Errorf("unexpected seq_id type %T", v)
	}
}

func decodeSeqIDBlob(b []byte) (uint64, error) {
	// Older schemas used 8 bytes, or 24 bytes for ids that never exceed 64 bits
	// in a local persist directory; leading zero bytes are allowed.
	var n uint64
	for i, c := range b {
		if len(b)-i > 8 && c != 0 {
			return 0, fmt.Errorf("seq_id blob of %d bytes does not fit 64 bits", len(b))
		}
		n = n<<8 | uint64(c)
	}
	return n, nil
}

// Collections lists collections ordered by name, with their record counts
// (see RecordCounts).
func (d *DB) Collections(ctx context.Context) ([]Collection, error) {
	query := `SELECT id, name, '', '' FROM collections ORDER BY name, id`
	if d.tables["databases"] {
		query = `SELECT c.id, c.name, COALESCE(db.tenant_id, ''), COALESCE(db.name, '')
			FROM collections c LEFT JOIN databases db ON db.id = c.database_id ORDER BY c.name, c.id`
	}
	rows, err := d.db.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("read collections of %s: %w", d.path, err)
	}
	var cols []Collection
	for rows.Next() {
		var c Collection
		if err := rows.Scan(&c.ID, &c.Name, &c.Tenant, &c.Database); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read collections of %s: %w", d.path, err)
		}
		cols = append(cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read collections of %s: %w", d.path, err)
	}
	counts, err := d.RecordCounts(ctx)
	if err != nil {
		return nil, err
	}
	for i := range cols {
		cols[i].Records = counts[cols[i].ID]
	}
	return cols, nil
}

// Counts returns the number of collections and the number of records in all
// of them (see RecordCounts). An error from a malformed page matches
// ErrDamaged.
func (d *DB) Counts(ctx context.Context) (collections, records int64, err error) {
	collections, records, err = d.counts(ctx)
	return collections, records, classify(err)
}

func (d *DB) counts(ctx context.Context) (collections, records int64, err error) {
	// One read transaction: the counts agree with each other, and Chroma's
	// writers wait for it at most once.
	tx, err := d.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, 0, fmt.Errorf("read %s: %w", d.path, err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM collections`).Scan(&collections); err != nil {
		return 0, 0, fmt.Errorf("count collections in %s: %w", d.path, err)
	}
	records, err = d.totalRecords(ctx, tx)
	if err != nil {
		return 0, 0, err
	}
	return collections, records, nil
}

// Migrations returns the highest applied version per migrations dir.
func (d *DB) Migrations(ctx context.Context) (map[string]int64, error) {
	m := make(map[string]int64)
	if !d.tables["migrations"] {
		return m, nil
	}
	rows, err := d.db.QueryContext(ctx, `SELECT dir, MAX(version) FROM migrations GROUP BY dir`)
	if err != nil {
		return nil, fmt.Errorf("read migrations of %s: %w", d.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var dir string
		var v int64
		if err := rows.Scan(&dir, &v); err != nil {
			return nil, fmt.Errorf("read migrations of %s: %w", d.path, err)
		}
		m[dir] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read migrations of %s: %w", d.path, err)
	}
	return m, nil
}

// Facts gathers journal mode, migrations, collections and segments. An
// error from a malformed page matches ErrDamaged.
func (d *DB) Facts(ctx context.Context) (*Facts, error) {
	f, err := d.facts(ctx)
	return f, classify(err)
}

func (d *DB) facts(ctx context.Context) (*Facts, error) {
	var f Facts
	var err error
	if f.JournalMode, err = d.JournalMode(ctx); err != nil {
		return nil, err
	}
	if f.Migrations, err = d.Migrations(ctx); err != nil {
		return nil, err
	}
	if f.Collections, err = d.Collections(ctx); err != nil {
		return nil, err
	}
	if f.Segments, err = d.segments(ctx); err != nil {
		return nil, err
	}
	return &f, nil
}

// The SQLite checks Check runs.
const (
	// PragmaIntegrityCheck checks every page, b-tree and constraint and
	// compares every index with its table.
	PragmaIntegrityCheck = "integrity_check"
	// PragmaQuickCheck is integrity_check without comparing every index with
	// its table, several times faster on a large database.
	PragmaQuickCheck = "quick_check"
)

// IntegrityCheck runs PRAGMA integrity_check and returns an error listing
// the first problems it reports.
func (d *DB) IntegrityCheck(ctx context.Context) error { return d.Check(ctx, PragmaIntegrityCheck) }

// QuickCheck runs PRAGMA quick_check (see PragmaQuickCheck).
func (d *DB) QuickCheck(ctx context.Context) error { return d.Check(ctx, PragmaQuickCheck) }

// Check runs pragma, PragmaIntegrityCheck or PragmaQuickCheck, and returns
// a *CheckError listing the first problems it reports.
func (d *DB) Check(ctx context.Context, pragma string) error {
	if pragma != PragmaIntegrityCheck && pragma != PragmaQuickCheck {
		return fmt.Errorf("unknown SQLite check %q", pragma)
	}
	rows, err := d.db.QueryContext(ctx, `PRAGMA `+pragma+`(20)`)
	if err != nil {
		return classify(fmt.Errorf("%s of %s: %w", pragma, d.path, err))
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return classify(fmt.Errorf("%s of %s: %w", pragma, d.path, err))
		}
		problems = append(problems, problemLines(line)...)
	}
	if err := rows.Err(); err != nil {
		return classify(fmt.Errorf("%s of %s: %w", pragma, d.path, err))
	}
	if len(problems) > 0 {
		return &CheckError{Pragma: pragma, Path: d.path, Problems: problems}
	}
	return nil
}

// WithReadLock runs fn while this process holds a SQLite SHARED lock on the
// database: a transaction is begun on a dedicated connection and a page is
// read, then fn runs, then the transaction ends. While fn runs, no writer can
// change the database file (in rollback-journal modes), and Chroma's writers
// wait. WithReadLock returns how long the lock was held.
//
// fn must not close any file descriptor it opened on the database file:
// closing any descriptor of a file drops every POSIX lock this process holds
// on it. Close such descriptors after WithReadLock returns.
func (d *DB) WithReadLock(ctx context.Context, fn func(ctx context.Context) error) (time.Duration, error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("connect to %s: %w", d.path, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN`); err != nil {
		return 0, fmt.Errorf("begin read transaction on %s: %w", d.path, err)
	}
	var n int64
	err = conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master`).Scan(&n)
	start := time.Now()
	if err == nil {
		err = fn(ctx)
	} else {
		err = fmt.Errorf("take read lock on %s: %w", d.path, err)
	}
	// End the transaction even when ctx is done, so the lock is released.
	_, endErr := conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
	held := time.Since(start)
	if err != nil {
		return held, err
	}
	if endErr != nil {
		return held, fmt.Errorf("end read transaction on %s: %w", d.path, endErr)
	}
	return held, nil
}

// VacuumInto writes a consistent copy of the database to dst, which must not
// exist. It is the copy method for WAL mode, where readers do not block
// writers and a plain file copy would miss the WAL's pages.
func (d *DB) VacuumInto(ctx context.Context, dst string) error {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", d.path, err)
	}
	// query_only forbids VACUUM INTO even though it writes another file;
	// the connection stays read-only (mode=ro) for this database.
	defer func() {
		conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA query_only=1`)
		conn.Close()
	}()
	if _, err := conn.ExecContext(ctx, `PRAGMA query_only=0`); err != nil {
		return fmt.Errorf("VACUUM INTO %s from %s: %w", dst, d.path, err)
	}
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("VACUUM INTO %s from %s: %w", dst, d.path, err)
	}
	return nil
}

// Inspect opens a chroma.sqlite3 file read-only with a short busy timeout,
// gathers its Facts with short queries, and closes it. dbPath may also be a
// persist directory.
func Inspect(ctx context.Context, dbPath string) (*Facts, error) {
	if st, err := os.Stat(dbPath); err == nil && st.IsDir() {
		dbPath = filepath.Join(dbPath, DatabaseFile)
	}
	d, err := Open(ctx, dbPath, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Facts(ctx)
}

// SortedVectorIDs returns the ids of the vector segments in m, sorted.
func SortedVectorIDs(m map[string]uint64) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
