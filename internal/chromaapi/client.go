// Package chromaapi is a small client for Chroma's HTTP API v2 and a way to run
// a Chroma server on a loopback port: what the restore drill needs to ask a
// restored copy whether Chroma reads it, and what tests use to drive Chroma.
package chromaapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// DefaultTenant and DefaultDatabase exist in every new persist directory.
	DefaultTenant   = "default_tenant"
	DefaultDatabase = "default_database"
)

// Client is a minimal client for Chroma's HTTP API v2, bound to one tenant
// and database.
type Client struct {
	BaseURL  string
	Tenant   string
	Database string
	HTTP     *http.Client
	// Auth, when its Token is set, is sent with every request.
	Auth Auth
}

// NewClient returns a client for the server at baseURL on the default tenant
// and database.
func NewClient(baseURL string) *Client {
	return &Client{
		BaseURL:  strings.TrimRight(baseURL, "/"),
		Tenant:   DefaultTenant,
		Database: DefaultDatabase,
		HTTP:     &http.Client{Timeout: 2 * time.Minute},
	}
}

// APIError is a non-2xx answer from the server.
type APIError struct {
	Method string
	Path   string
	Status int
	Body   string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("chroma %s %s: HTTP %d: %s", e.Method, e.Path, e.Status, strings.TrimSpace(e.Body))
}

// IsStatus reports whether err is an *APIError with the given HTTP status.
func IsStatus(err error, status int) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Status == status
}

// Collection is a collection as the API describes it.
type Collection struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Dimension *int   `json:"dimension"`
	// Metadata is kept as Chroma sent it: a float 5.0 stays a float
	// when it is sent back (decoded into any, it would become the
	// integer 5).
	Metadata          json.RawMessage `json:"metadata"`
	ConfigurationJSON json.RawMessage `json:"configuration_json"`
	Tenant            string          `json:"tenant"`
	Database          string          `json:"database"`
}

func (c *Client) dbPath() string {
	return "/api/v2/tenants/" + url.PathEscape(c.Tenant) + "/databases/" + url.PathEscape(c.Database)
}

func (c *Client) collPath(collID, op string) string {
	p := c.dbPath() + "/collections/" + url.PathEscape(collID)
	if op != "" {
		p += "/" + op
	}
	return p
}

// do sends a request with an optional JSON body and decodes a JSON answer
// into out when out is not nil.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("chroma %s %s: encode body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	c.Auth.set(req.Header)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("chroma %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("chroma %s %s: HTTP %d: read body: %w", method, path, resp.StatusCode, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Body: string(data)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("chroma %s %s: HTTP %d: decode %q: %w", method, path, resp.StatusCode, truncate(string(data), 512), err)
	}
	return nil
}

// Heartbeat checks that the server answers /api/v2/heartbeat.
func (c *Client) Heartbeat(ctx context.Context) error {
	var out map[string]any
	return c.do(ctx, http.MethodGet, "/api/v2/heartbeat", nil, &out)
}

// Version returns the server's version string.
func (c *Client) Version(ctx context.Context) (string, error) {
	var v string
	err := c.do(ctx, http.MethodGet, "/api/v2/version", nil, &v)
	return v, err
}

// CreateCollection creates a collection and returns its id. It fails with
// HTTP 409 if the name is taken. Names are 3-512 characters of
// [a-zA-Z0-9._-], starting and ending with an alphanumeric.
func (c *Client) CreateCollection(ctx context.Context, name string) (string, error) {
	return c.createCollection(ctx, map[string]any{"name": name})
}

// GetOrCreateCollection returns the id of the named collection, creating it
// if needed.
func (c *Client) GetOrCreateCollection(ctx context.Context, name string) (string, error) {
	return c.createCollection(ctx, map[string]any{"name": name, "get_or_create": true})
}

func (c *Client) createCollection(ctx context.Context, body map[string]any) (string, error) {
	var coll Collection
	if err := c.do(ctx, http.MethodPost, c.dbPath()+"/collections", body, &coll); err != nil {
		return "", err
	}
	return coll.ID, nil
}

// GetCollection returns the named collection (HTTP 404 if there is none).
func (c *Client) GetCollection(ctx context.Context, name string) (Collection, error) {
	var coll Collection
	err := c.do(ctx, http.MethodGet, c.collPath(name, ""), nil, &coll)
	return coll, err
}

// DeleteCollection deletes the named collection.
func (c *Client) DeleteCollection(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, c.collPath(name, ""), nil, nil)
}

// ListCollections returns every collection of the database.
func (c *Client) ListCollections(ctx context.Context) ([]Collection, error) {
	const page = 100
	var all []Collection
	for offset := 0; ; offset += page {
		var batch []Collection
		p := c.dbPath() + "/collections?limit=" + strconv.Itoa(page) + "&offset=" + strconv.Itoa(offset)
		if err := c.do(ctx, http.MethodGet, p, nil, &batch); err != nil {
			return nil, err
		}
		all = append(all, batch...)
		if len(batch) < page {
			return all, nil
		}
	}
}

// CountCollections returns the number of collections in the database.
func (c *Client) CountCollections(ctx context.Context) (int, error) {
	var n int
	err := c.do(ctx, http.MethodGet, c.dbPath()+"/collections_count", nil, &n)
	return n, err
}

// recordsBody is the body of add and upsert.
type recordsBody struct {
	IDs        []string         `json:"ids"`
	Embeddings [][]float32      `json:"embeddings,omitempty"`
	Metadatas  []map[string]any `json:"metadatas,omitempty"`
	Documents  []string         `json:"documents,omitempty"`
}

func newRecordsBody(ids []string, embeddings [][]float32, metadatas []map[string]any, documents []string) (recordsBody, error) {
	if len(embeddings) != len(ids) {
		return recordsBody{}, fmt.Errorf("chromaapi: %d ids but %d embeddings", len(ids), len(embeddings))
	}
	if metadatas != nil && len(metadatas) != len(ids) {
		return recordsBody{}, fmt.Errorf("chromaapi: %d ids but %d metadatas", len(ids), len(metadatas))
	}
	if documents != nil && len(documents) != len(ids) {
		return recordsBody{}, fmt.Errorf("chromaapi: %d ids but %d documents", len(ids), len(documents))
	}
	return recordsBody{IDs: ids, Embeddings: embeddings, Metadatas: metadatas, Documents: documents}, nil
}

// Add adds records to a collection. metadatas and documents may be nil;
// otherwise they have one entry per id (a nil map is a record without
// metadata). Chroma ignores ids that already exist.
func (c *Client) Add(ctx context.Context, collID string, ids []string, embeddings [][]float32, metadatas []map[string]any, documents []string) error {
	body, err := newRecordsBody(ids, embeddings, metadatas, documents)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, c.collPath(collID, "add"), body, nil)
}

// Upsert inserts or replaces records, shaped as in Add.
func (c *Client) Upsert(ctx context.Context, collID string, ids []string, embeddings [][]float32, metadatas []map[string]any, documents []string) error {
	body, err := newRecordsBody(ids, embeddings, metadatas, documents)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, c.collPath(collID, "upsert"), body, nil)
}

// Delete deletes records by id. Ids that do not exist are ignored.
func (c *Client) Delete(ctx context.Context, collID string, ids []string) error {
	return c.do(ctx, http.MethodPost, c.collPath(collID, "delete"), map[string]any{"ids": ids}, nil)
}

// Count returns the number of records in a collection.
func (c *Client) Count(ctx context.Context, collID string) (int, error) {
	var n int
	err := c.do(ctx, http.MethodGet, c.collPath(collID, "count"), nil, &n)
	return n, err
}

// Query returns the ids of the n records nearest to embedding, nearest first.
func (c *Client) Query(ctx context.Context, collID string, embedding []float32, n int) ([]string, error) {
	body := map[string]any{
		"query_embeddings": [][]float32{embedding},
		"n_results":        n,
		"include":          []string{},
	}
	var out struct {
		IDs [][]string `json:"ids"`
	}
	if err := c.do(ctx, http.MethodPost, c.collPath(collID, "query"), body, &out); err != nil {
		return nil, err
	}
	if len(out.IDs) != 1 {
		return nil, fmt.Errorf("chroma query: %d result lists for 1 query", len(out.IDs))
	}
	return out.IDs[0], nil
}

// Record is one record as returned by Get.
type Record struct {
	ID        string
	Embedding []float32
	Metadata  map[string]any
	Document  *string
}

// Get returns records of a collection with their embeddings, metadata and
// documents: the given ids, or all records if ids is nil. Records are read
// in pages of up to 1000.
func (c *Client) Get(ctx context.Context, collID string, ids []string) ([]Record, error) {
	const page = 1000
	var all []Record
	for offset := 0; ; offset += page {
		body := map[string]any{"include": []string{"embeddings", "metadatas", "documents"}, "limit": page, "offset": offset}
		if ids != nil {
			body["ids"] = ids
		}
		b, err := c.get(ctx, collID, body)
		if err != nil {
			return nil, err
		}
		for i := range b.IDs {
			r, err := b.record(i)
			if err != nil {
				return nil, err
			}
			all = append(all, r)
		}
		if b.Len() < page {
			return all, nil
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// InDatabase returns a client for another tenant and database of the same
// server.
func (c *Client) InDatabase(tenant, database string) *Client {
	cp := *c
	cp.Tenant, cp.Database = tenant, database
	return &cp
}

// Neighbour is one result of a nearest-neighbour query.
type Neighbour struct {
	ID       string
	Distance float64
}

// Nearest returns the n records nearest to embedding with their distances,
// nearest first.
func (c *Client) Nearest(ctx context.Context, collID string, embedding []float32, n int) ([]Neighbour, error) {
	return c.nearest(ctx, collID, map[string]any{
		"query_embeddings": [][]float32{embedding},
		"n_results":        n,
		"include":          []string{"distances"},
	})
}

// nearest runs one query. A result without a distance (Chroma sends a
// distance that is not a number as null) is an error.
func (c *Client) nearest(ctx context.Context, collID string, body map[string]any) ([]Neighbour, error) {
	var out struct {
		IDs       [][]string   `json:"ids"`
		Distances [][]*float64 `json:"distances"`
	}
	if err := c.do(ctx, http.MethodPost, c.collPath(collID, "query"), body, &out); err != nil {
		return nil, err
	}
	if len(out.IDs) != 1 || len(out.Distances) != 1 || len(out.IDs[0]) != len(out.Distances[0]) {
		return nil, fmt.Errorf("chroma query: %d result lists and %d distance lists for 1 query", len(out.IDs), len(out.Distances))
	}
	res := make([]Neighbour, len(out.IDs[0]))
	for i, id := range out.IDs[0] {
		d := out.Distances[0][i]
		if d == nil {
			return nil, fmt.Errorf("chroma query: record %q came back without a distance (not a number)", id)
		}
		res[i] = Neighbour{ID: id, Distance: *d}
	}
	return res, nil
}

// FirstAmong reports whether id is among the results at the nearest
// distance: records with equal embeddings tie, in any order.
func FirstAmong(got []Neighbour, id string) bool {
	for _, nb := range got {
		if nb.Distance > got[0].Distance {
			return false
		}
		if nb.ID == id {
			return true
		}
	}
	return false
}

// RecordAt returns the record at offset in the collection's order, with
// its embedding; ok is false when the collection has fewer records.
func (c *Client) RecordAt(ctx context.Context, collID string, offset int) (rec Record, ok bool, err error) {
	b, err := c.get(ctx, collID, map[string]any{"include": []string{"embeddings"}, "limit": 1, "offset": offset})
	if err != nil || b.Len() == 0 {
		return Record{}, false, err
	}
	if len(b.Embeddings) != b.Len() {
		return Record{}, false, fmt.Errorf("chroma get: %d ids but %d embeddings", b.Len(), len(b.Embeddings))
	}
	return Record{ID: b.IDs[0], Embedding: b.Embeddings[0]}, true, nil
}
