package collrestore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// copyRecords reads the source collection page by page, in its order (the
// restored copy takes no writes, so offsets are stable), and upserts each
// page into the target. The next page is read while one is written, so at
// most three pages are in memory. Continuing an interrupted create, it
// first asks which of a page's ids the target has and writes only the
// others: ids are the key, and a temporary collection holds only records
// this restore wrote.
func (r *run) copyRecords(ctx context.Context) error {
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	pages := make(chan page, 1)
	go r.readPages(readCtx, pages)
	r.report(0, r.res.Records)
	for p := range pages {
		if ctx.Err() != nil {
			// Before p.err, which may be a read cut short by the same
			// cancellation: say why ("interrupt signal received").
			return context.Cause(ctx)
		}
		if p.err != nil {
			return p.err
		}
		if err := r.writePage(ctx, p.batch); err != nil {
			return fmt.Errorf("write records %d-%d: %w", p.offset, p.offset+p.batch.Len(), targetFailure(err))
		}
		r.report(int64(p.offset+p.batch.Len()), r.res.Records)
	}
	return nil
}

// page is one page read from the source, or why it could not be.
type page struct {
	offset int
	batch  chromaapi.Batch
	err    error
}

// readPages sends the source's pages in order, then closes out; it stops
// at the first error, which it sends, or when ctx ends.
func (r *run) readPages(ctx context.Context, out chan<- page) {
	defer close(out)
	total, size := r.res.Records, r.res.BatchSize
	for offset := 0; int64(offset) < total; offset += size {
		p := page{offset: offset}
		p.batch, p.err = r.opts.Source.GetPage(ctx, r.src.ID, offset, size, true)
		switch {
		case p.err != nil:
			p.err = fmt.Errorf("read records %d-%d from the restored snapshot: %w", offset, offset+size, p.err)
		case p.batch.Len() == 0:
			p.err = fmt.Errorf("%w: the restored snapshot returned no records at offset %d of %d", ErrMismatch, offset, total)
		}
		select {
		case out <- p:
		case <-ctx.Done():
			return
		}
		if p.err != nil {
			return
		}
	}
}

// writeTimeout bounds a write that is let finish after a cancellation.
const writeTimeout = 2 * time.Minute

// writePage upserts the records of page the target still lacks (all of
// them, unless continuing an interrupted create). A write in flight when
// the caller cancels is let finish: Chroma 1.0's single-node server stops
// taking any write (each answers "Error sending message to compactor")
// after a client dropped one mid-request, until it is restarted.
func (r *run) writePage(ctx context.Context, page chromaapi.Batch) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	if r.res.Resumed {
		have, err := r.opts.Target.GetIDs(ctx, r.targetID, page.IDs, false)
		if err != nil {
			return err
		}
		before := page.Len()
		page = without(page, have.IDs)
		r.res.Skipped += int64(before - page.Len())
		if page.Len() == 0 {
			return nil
		}
	}
	if err := r.opts.Target.UpsertBatch(ctx, r.targetID, page); err != nil {
		return err
	}
	r.res.Written += int64(page.Len())
	return nil
}

// targetFailure marks a server error of the target with ErrTargetFailing.
func targetFailure(err error) error {
	var apiErr *chromaapi.APIError
	if errors.As(err, &apiErr) && apiErr.Status >= http.StatusInternalServerError {
		return fmt.Errorf("%w: %w", ErrTargetFailing, err)
	}
	return err
}

// without returns b without the records whose ids are in drop.
func without(b chromaapi.Batch, drop []string) chromaapi.Batch {
	if len(drop) == 0 {
		return b
	}
	gone := make(map[string]bool, len(drop))
	for _, id := range drop {
		gone[id] = true
	}
	var out chromaapi.Batch
	for i, id := range b.IDs {
		if gone[id] {
			continue
		}
		out.IDs = append(out.IDs, id)
		out.Embeddings = appendAt(out.Embeddings, b.Embeddings, i)
		out.Documents = appendAt(out.Documents, b.Documents, i)
		out.Metadatas = appendAt(out.Metadatas, b.Metadatas, i)
		out.URIs = appendAt(out.URIs, b.URIs, i)
	}
	return out
}

// appendAt appends src[i] to dst when src is a column that is there.
func appendAt[T any](dst, src []T, i int) []T {
	if len(src) == 0 {
		return dst
	}
	return append(dst, src[i])
}

func (r *run) report(done, total int64) {
	if r.opts.Progress != nil {
		r.opts.Progress.Report(snapshot.Update{Phase: PhaseCopy, Done: done, Total: total})
	}
}
