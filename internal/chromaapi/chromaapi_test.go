package chromaapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

// A token never prints, also inside a client printed whole.
func TestTokenNeverPrinted(t *testing.T) {
	const secret = "tok-0123456789"
	c := chromaapi.NewClient("http://127.0.0.1:1")
	c.Auth = chromaapi.Auth{Header: chromaapi.HeaderChromaToken, Token: secret}
	for _, s := range []string{fmt.Sprint(c.Auth), fmt.Sprintf("%+v", *c), fmt.Sprintf("%#v", c.Auth), fmt.Sprintf("%s", c.Auth.Token)} {
		if strings.Contains(s, secret) {
			t.Fatalf("printed the token: %s", s)
		}
	}
}

// The token goes in the header Chroma's clients use for it.
func TestAuthHeaders(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Write([]byte(`{"max_batch_size":7}`))
	}))
	defer srv.Close()
	for _, tc := range []struct{ flag, header, want string }{
		{"", "Authorization", "Bearer s1"},
		{"authorization", "Authorization", "Bearer s1"},
		{"x-chroma-token", "X-Chroma-Token", "s1"},
	} {
		h, err := chromaapi.ParseTokenHeader(tc.flag)
		if err != nil {
			t.Fatal(err)
		}
		c := chromaapi.NewClient(srv.URL)
		c.Auth = chromaapi.Auth{Header: h, Token: "s1"}
		if n, err := c.MaxBatchSize(context.Background()); err != nil || n != 7 {
			t.Fatalf("MaxBatchSize: %d, %v", n, err)
		}
		if got.Get(tc.header) != tc.want {
			t.Errorf("header %q: %s = %q, want %q", tc.flag, tc.header, got.Get(tc.header), tc.want)
		}
	}
	if _, err := chromaapi.ParseTokenHeader("Cookie"); err == nil {
		t.Fatal("accepted Cookie as the token header")
	}
}

// Records written as a Batch come back from a real Chroma exactly:
// embeddings bit for bit (random float32 bit patterns, subnormals, -0),
// metadata values with their types (5.0 stays a float), documents, uris.
func TestBatchRoundTripExact(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := chromatest.Start(t, chromatest.Options{}).Client
	coll, err := c.CreateCollectionFrom(ctx, chromaapi.CollectionSpec{Name: "exact", Metadata: json.RawMessage(`{"v":5.0,"n":5}`)})
	if err != nil {
		t.Fatal(err)
	}
	if string(coll.Metadata) != `{"v":5.0,"n":5}` && string(coll.Metadata) != `{"n":5,"v":5.0}` {
		t.Fatalf("collection metadata came back as %s", coll.Metadata)
	}
	want := chromatest.HardRecords(rand.New(rand.NewPCG(7, 8)), "r", 400, 32)
	if err := c.UpsertBatch(ctx, coll.ID, want); err != nil {
		t.Fatal(err)
	}
	got, err := chromatest.ReadRecords(ctx, c, coll.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := chromatest.BatchRecords(want).Diff(got); d != "" {
		t.Fatal(d)
	}
}

// Chroma reads some floats to a neighbouring value (17 digits, large
// exponents), and reads each twice: metadata copied from one collection to
// another through UpsertBatch keeps every value Chroma returned, of every
// magnitude, and whole floats stay floats.
func TestMetadataFloatsSurviveACopy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := chromatest.Start(t, chromatest.Options{}).Client
	first, err := c.CreateCollectionFrom(ctx, chromaapi.CollectionSpec{Name: "first"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.CreateCollectionFrom(ctx, chromaapi.CollectionSpec{Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	var b chromaapi.Batch
	for i := range 2000 {
		b.IDs = append(b.IDs, fmt.Sprint(i))
		b.Embeddings = append(b.Embeddings, []float32{1})
		bits := math.Float64frombits(rng.Uint64())
		for math.IsNaN(bits) || math.IsInf(bits, 0) {
			bits = math.Float64frombits(rng.Uint64())
		}
		b.Metadatas = append(b.Metadatas, json.RawMessage(fmt.Sprintf(`{"f":%v,"g":%v,"h":%v,"bits":%s,"whole":%d.0,"n":%d}`,
			rng.Float64(), rng.NormFloat64()*1e6, rng.ExpFloat64()*1e-9, strconv.FormatFloat(bits, 'g', -1, 64), i, i)))
	}
	if err := c.UpsertBatch(ctx, first.ID, b); err != nil {
		t.Fatal(err)
	}
	want, err := chromatest.ReadRecords(ctx, c, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.GetPage(ctx, first.ID, 0, 2000, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.UpsertBatch(ctx, second.ID, page); err != nil {
		t.Fatal(err)
	}
	got, err := chromatest.ReadRecords(ctx, c, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := want.Diff(got); d != "" {
		t.Fatal(d)
	}
}
