package chromadb

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
)

// Operations in embeddings_queue.operation.
const (
	opAdd    = 0
	opUpdate = 1
	opUpsert = 2
	opDelete = 3
)

// metaSegment is a collection's metadata segment and its position.
type metaSegment struct {
	id       string
	maxSeqID uint64
}

type logOp struct {
	op int
	id string
}

// RecordCounts returns the number of records per collection id as Chroma
// reports them: the rows of the collection's metadata segment, plus the
// effect of log entries (embeddings_queue) newer than that segment's
// max_seq_id. Chroma logs a write before it applies it to the metadata
// segment, and applies what is pending on next use, so a database (or a
// copy of one) can hold accepted writes that are not rows yet.
func (d *DB) RecordCounts(ctx context.Context) (map[string]int64, error) {
	counts := make(map[string]int64)
	if !d.tables["embeddings"] {
		return counts, nil
	}
	metas, err := d.metaSegments(ctx, d.db)
	if err != nil {
		return nil, err
	}
	rows, err := d.db.QueryContext(ctx, `SELECT segment_id, COUNT(*) FROM embeddings GROUP BY segment_id`)
	if err != nil {
		return nil, fmt.Errorf("count records in %s: %w", d.path, err)
	}
	perSegment := make(map[string]int64)
	for rows.Next() {
		var seg string
		var n int64
		if err := rows.Scan(&seg, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("count records in %s: %w", d.path, err)
		}
		perSegment[seg] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count records in %s: %w", d.path, err)
	}
	for coll, m := range metas {
		counts[coll] = perSegment[m.id]
	}
	pending, err := d.pendingLog(ctx, d.db, metas)
	if err != nil {
		return nil, err
	}
	for coll, ops := range pending {
		delta, err := d.applyPending(ctx, d.db, metas[coll].id, ops)
		if err != nil {
			return nil, err
		}
		counts[coll] += delta
	}
	return counts, nil
}

// querier is a database handle or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// totalRecords returns the number of records over all collections, as
// RecordCounts would sum them, in one read transaction: a count of the
// metadata segments' rows (index-only) plus the effect of pending log
// entries. It is the cheap question a probe asks of a live database.
func (d *DB) totalRecords(ctx context.Context, q querier) (int64, error) {
	var total int64
	if !d.tables["embeddings"] {
		return 0, nil
	}
	// Only metadata segments keep rows in embeddings.
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM embeddings`).Scan(&total); err != nil {
		return 0, fmt.Errorf("count records in %s: %w", d.path, err)
	}
	metas, err := d.metaSegments(ctx, q)
	if err != nil {
		return 0, err
	}
	pending, err := d.pendingLog(ctx, q, metas)
	if err != nil {
		return 0, err
	}
	for coll, ops := range pending {
		delta, err := d.applyPending(ctx, q, metas[coll].id, ops)
		if err != nil {
			return 0, err
		}
		total += delta
	}
	return total, nil
}

// metaSegments returns each collection's metadata segment, by collection id.
func (d *DB) metaSegments(ctx context.Context, q querier) (map[string]metaSegment, error) {
	query := `SELECT s.id, s.collection, NULL FROM segments s WHERE s.scope = ?`
	if d.tables["max_seq_id"] {
		query = `SELECT s.id, s.collection, m.seq_id FROM segments s
			LEFT JOIN max_seq_id m ON m.segment_id = s.id WHERE s.scope = ?`
	}
	rows, err := q.QueryContext(ctx, query, ScopeMetadata)
	if err != nil {
		return nil, fmt.Errorf("read metadata segments of %s: %w", d.path, err)
	}
	defer rows.Close()
	metas := make(map[string]metaSegment)
	for rows.Next() {
		var id, coll string
		var raw any
		if err := rows.Scan(&id, &coll, &raw); err != nil {
			return nil, fmt.Errorf("read metadata segments of %s: %w", d.path, err)
		}
		seq, err := decodeSeqID(raw)
		if err != nil {
			return nil, fmt.Errorf("read max_seq_id of segment %s in %s: %w", id, d.path, err)
		}
		metas[coll] = metaSegment{id: id, maxSeqID: seq}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read metadata segments of %s: %w", d.path, err)
	}
	return metas, nil
}

// pendingLog returns, per collection, the log entries its metadata segment
// has not applied yet, in order. The log is addressed by topic, whose last
// path element is the collection id. Only entries above the lowest
// metadata position are read, through the primary key.
func (d *DB) pendingLog(ctx context.Context, q querier, metas map[string]metaSegment) (map[string][]logOp, error) {
	if !d.tables["embeddings_queue"] || len(metas) == 0 {
		return nil, nil
	}
	from := uint64(math.MaxUint64)
	for _, m := range metas {
		from = min(from, m.maxSeqID)
	}
	if from > math.MaxInt64 {
		return nil, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT seq_id, operation, topic, id FROM embeddings_queue
		WHERE seq_id > ? ORDER BY seq_id`, int64(from))
	if err != nil {
		return nil, fmt.Errorf("read the log of %s: %w", d.path, err)
	}
	defer rows.Close()
	pending := make(map[string][]logOp)
	for rows.Next() {
		var seq int64
		var op int
		var topic, id string
		if err := rows.Scan(&seq, &op, &topic, &id); err != nil {
			return nil, fmt.Errorf("read the log of %s: %w", d.path, err)
		}
		coll := topic[strings.LastIndexByte(topic, '/')+1:]
		m, ok := metas[coll]
		if !ok || seq < 0 || uint64(seq) <= m.maxSeqID {
			continue
		}
		pending[coll] = append(pending[coll], logOp{op: op, id: id})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the log of %s: %w", d.path, err)
	}
	return pending, nil
}

// applyPending returns how pending operations change a metadata segment's
// record count: an add creates a record that does not exist yet (adding an
// existing id changes nothing), an upsert creates or replaces one, a delete
// removes one, an update creates none.
func (d *DB) applyPending(ctx context.Context, q querier, segment string, ops []logOp) (int64, error) {
	exists := make(map[string]bool)
	var ids []string
	for _, o := range ops {
		if _, ok := exists[o.id]; !ok {
			exists[o.id] = false
			ids = append(ids, o.id)
		}
	}
	const batch = 500
	for i := 0; i < len(ids); i += batch {
		part := ids[i:min(i+batch, len(ids))]
		args := make([]any, 0, len(part)+1)
		args = append(args, segment)
		for _, id := range part {
			args = append(args, id)
		}
		query := `SELECT embedding_id FROM embeddings WHERE segment_id = ? AND embedding_id IN (?` +
			strings.Repeat(",?", len(part)-1) + `)`
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return 0, fmt.Errorf("read records of segment %s in %s: %w", segment, d.path, err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return 0, fmt.Errorf("read records of segment %s in %s: %w", segment, d.path, err)
			}
			exists[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("read records of segment %s in %s: %w", segment, d.path, err)
		}
	}
	var delta int64
	for _, o := range ops {
		switch o.op {
		case opAdd, opUpsert:
			if !exists[o.id] {
				exists[o.id] = true
				delta++
			}
		case opDelete:
			if exists[o.id] {
				exists[o.id] = false
				delta--
			}
		case opUpdate:
		}
	}
	return delta, nil
}
