package chromaapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Batch is records in Chroma's columnar form: what get returns and what
// add and upsert take. Metadatas stay raw JSON, so that every value keeps
// its type on the way through (a float 5.0 is not turned into the integer
// 5). Embeddings decode into float32 exactly: Chroma sends a float32's
// shortest decimal form, which parses back to the same bits, and Go sends
// the same form, which Chroma parses back to the same bits.
type Batch struct {
	IDs        []string          `json:"ids"`
	Embeddings [][]float32       `json:"embeddings,omitempty"`
	Documents  []*string         `json:"documents,omitempty"`
	Metadatas  []json.RawMessage `json:"metadatas,omitempty"`
	URIs       []*string         `json:"uris,omitempty"`
}

// Len is the number of records.
func (b Batch) Len() int { return len(b.IDs) }

// check requires every column that is there to have one entry per id.
func (b Batch) check() error {
	for _, col := range []struct {
		name string
		n    int
	}{{"embeddings", len(b.Embeddings)}, {"documents", len(b.Documents)}, {"metadatas", len(b.Metadatas)}, {"uris", len(b.URIs)}} {
		if col.n != 0 && col.n != len(b.IDs) {
			return fmt.Errorf("chromaapi: %d ids but %d %s", len(b.IDs), col.n, col.name)
		}
	}
	return nil
}

// record returns the i-th record, its metadata decoded.
func (b Batch) record(i int) (Record, error) {
	r := Record{ID: b.IDs[i]}
	if i < len(b.Embeddings) {
		r.Embedding = b.Embeddings[i]
	}
	if i < len(b.Documents) {
		r.Document = b.Documents[i]
	}
	if i < len(b.Metadatas) && b.Metadatas[i] != nil {
		if err := json.Unmarshal(b.Metadatas[i], &r.Metadata); err != nil {
			return Record{}, fmt.Errorf("chroma get: metadata of record %q: %w", r.ID, err)
		}
	}
	return r, nil
}

// GetPage returns up to limit records from offset in the collection's
// order: with everything Chroma stores for them when full is set, else
// their ids only. A page shorter than limit is the last.
func (c *Client) GetPage(ctx context.Context, collID string, offset, limit int, full bool) (Batch, error) {
	return c.get(ctx, collID, map[string]any{"include": include(full), "limit": limit, "offset": offset})
}

// GetIDs returns those of ids the collection holds: with everything Chroma
// stores for them when full is set, else their ids only.
func (c *Client) GetIDs(ctx context.Context, collID string, ids []string, full bool) (Batch, error) {
	return c.get(ctx, collID, map[string]any{"ids": ids, "include": include(full)})
}

func include(full bool) []string {
	if full {
		return []string{"embeddings", "documents", "metadatas", "uris"}
	}
	return []string{}
}

func (c *Client) get(ctx context.Context, collID string, body map[string]any) (Batch, error) {
	var b Batch
	if err := c.do(ctx, http.MethodPost, c.collPath(collID, "get"), body, &b); err != nil {
		return Batch{}, err
	}
	if err := b.check(); err != nil {
		return Batch{}, fmt.Errorf("chroma get: %w", err)
	}
	return b, nil
}

// UpsertBatch inserts or replaces the records of b. Metadata floats are
// sent so that Chroma stores exactly the values given (floats.go).
func (c *Client) UpsertBatch(ctx context.Context, collID string, b Batch) error {
	if err := b.check(); err != nil {
		return err
	}
	if b.Metadatas != nil {
		exact := make([]json.RawMessage, len(b.Metadatas))
		for i, md := range b.Metadatas {
			var err error
			if exact[i], err = exactMetadata(md); err != nil {
				return fmt.Errorf("chromaapi: record %q: %w", b.IDs[i], err)
			}
		}
		b.Metadatas = exact
	}
	return c.do(ctx, http.MethodPost, c.collPath(collID, "upsert"), b, nil)
}

// MaxBatchSize returns the most records the server takes in one add,
// upsert or get (its pre-flight checks).
func (c *Client) MaxBatchSize(ctx context.Context) (int, error) {
	var out struct {
		MaxBatchSize int `json:"max_batch_size"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v2/pre-flight-checks", nil, &out); err != nil {
		return 0, err
	}
	if out.MaxBatchSize <= 0 {
		return 0, fmt.Errorf("chroma pre-flight-checks: max_batch_size %d", out.MaxBatchSize)
	}
	return out.MaxBatchSize, nil
}

// CollectionSpec is what a collection is created with: its metadata and
// configuration as Chroma describes them (Collection.Metadata and
// ConfigurationJSON), raw.
type CollectionSpec struct {
	Name          string          `json:"name"`
	Metadata      json.RawMessage `json:"metadata,omitempty"`
	Configuration json.RawMessage `json:"configuration,omitempty"`
}

// CreateCollectionFrom creates a collection from spec. It fails with HTTP
// 409 if the name is taken.
func (c *Client) CreateCollectionFrom(ctx context.Context, spec CollectionSpec) (Collection, error) {
	if string(spec.Metadata) == "null" {
		spec.Metadata = nil
	}
	if string(spec.Configuration) == "null" {
		spec.Configuration = nil
	}
	var err error
	if spec.Metadata, err = exactMetadata(spec.Metadata); err != nil {
		return Collection{}, fmt.Errorf("chromaapi: collection %q: %w", spec.Name, err)
	}
	var coll Collection
	err = c.do(ctx, http.MethodPost, c.dbPath()+"/collections", spec, &coll)
	return coll, err
}

// RenameCollection gives the collection with this id a new name.
func (c *Client) RenameCollection(ctx context.Context, collID, newName string) error {
	return c.do(ctx, http.MethodPut, c.collPath(collID, ""), map[string]any{"new_name": newName}, nil)
}

// CheckDatabase checks that the client's tenant and database exist (HTTP
// 404 otherwise).
func (c *Client) CheckDatabase(ctx context.Context) error {
	var out map[string]any
	return c.do(ctx, http.MethodGet, c.dbPath(), nil, &out)
}
