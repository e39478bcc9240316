package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

// Values a client plants in Chroma's telemetry. None may reach the vendor.
const (
	plantedCollection = "CANARYCOLL-jdoe-ssn-123-45-6789"
	plantedSSN        = "123-45-6789"
	plantedUserAgent  = "CanaryAgent/1.0 (ua-canary-42)"
	plantedQuery      = "canary_qs=CANARY-QUERYSTRING-SECRET&token=sk_live_CANARYTOKEN0123456789abcdef"
	plantedDocument   = "CANARY-DOCUMENT jane.doe@example.com card 4111 1111 1111 1111"
	plantedMissing    = "CANARY-MISSING-COLLECTION-NAME"
)

// userAgent sets the User-Agent of every request.
type userAgent struct {
	next  http.RoundTripper
	value string
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.value)
	return u.next.RoundTrip(r)
}

// plantSecrets drives a real Chroma with the planted values: a collection
// name, documents, a query string with a token, a user agent, a missing
// collection and a missing path.
func plantSecrets(ctx context.Context, t *testing.T, srv *chromatest.Server) {
	t.Helper()
	cl := chromatest.NewClient(srv.URL)
	cl.HTTP.Transport = userAgent{next: http.DefaultTransport, value: plantedUserAgent}
	id, err := cl.CreateCollection(ctx, plantedCollection)
	if err != nil {
		t.Fatal(err)
	}
	embeddings := [][]float32{{0.1, 0.2, 0.3}, {0.3, 0.2, 0.1}}
	meta := []map[string]any{{"owner": "jane.doe@example.com"}, {"api_key": "sk_live_CANARYTOKEN0123456789abcdef"}}
	if err := cl.Add(ctx, id, []string{"canary-id-1", "canary-id-2"}, embeddings, meta, []string{plantedDocument, plantedDocument}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Query(ctx, id, embeddings[0], 1); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GetCollection(ctx, plantedMissing); err == nil {
		t.Fatal("a missing collection was found")
	}
	for _, path := range []string{
		"/api/v2/tenants/default_tenant/databases/default_database/collections?limit=10&" + plantedQuery,
		"/api/v2/does-not-exist-CANARY-PATH",
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := cl.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
}

// TestChromaTelemetryThroughBothPolicies runs a real Chroma server whose
// OTLP goes to the shipped configuration, with two capturing servers as the
// vendor and the customer. The vendor gets span names, routes and metric
// values and none of the planted values; the customer gets its policy's view
// (names, routes and query strings kept, the token in the query string
// masked). A second deployment reports to the
// same vendor: the vendor tells the two apart by hashed identities only.
func TestChromaTelemetryThroughBothPolicies(t *testing.T) {
	ctx := e2eContext(t)
	vendor, customer := newCapture(t), newCapture(t)
	instances := []string{"canary-instance-eu-1", "canary-instance-us-2"}
	p := newProductionCollector(t, instances[0],
		"VENDOR_OTLP_ENDPOINT="+vendor.endpoint(), "CUSTOMER_OTLP_ENDPOINT="+customer.endpoint(), "SCRUB_HASH_KEY="+testHashKey)
	p.start(ctx, t)
	other := newProductionCollector(t, instances[1], "VENDOR_OTLP_ENDPOINT="+vendor.endpoint(), "SCRUB_HASH_KEY="+testHashKey)
	other.start(ctx, t)
	srv := chromatest.Start(t, chromatest.Options{OTLPEndpoint: "http://" + p.grpc})
	plantSecrets(ctx, t, srv)

	route := "/api/v2/tenants/{tenant}/databases/{database}/collections/{collection_id}/add"
	vendor.waitUntil(ctx, t, "Chroma's add span at the vendor", func() bool {
		return vendor.spans()["POST "+route] > 0
	})
	vendor.waitUntil(ctx, t, "Chroma's own metrics at the vendor (every 60 s)", func() bool {
		return strings.Contains(vendor.all(), `"name":"collection_add"`)
	})
	customer.waitUntil(ctx, t, "the missing collection's name at the customer", func() bool {
		return strings.Contains(customer.all(), plantedMissing)
	})
	vendor.waitUntil(ctx, t, "both deployments' backup metrics at the vendor", func() bool {
		return len(vendor.resourceValues("chroma.persist.records", "service.instance.id")) == 2
	})

	got := vendor.all()
	for _, want := range []string{`"http.route"`, route, `"chroma.persist.records"`, `"asInt":"2270"`} {
		if !strings.Contains(got, want) {
			t.Errorf("the vendor capture lacks %s", want)
		}
	}
	lower := strings.ToLower(got)
	for _, planted := range []string{"canary", "jdoe", plantedSSN, "sk_live", "jane.doe", "/home/"} {
		if strings.Contains(lower, strings.ToLower(planted)) {
			t.Errorf("the vendor capture holds the planted %q", planted)
		}
	}
	// The card number's first eight digits, spaced or not: "4111" alone
	// turns up in random trace ids and timestamps.
	if card := regexp.MustCompile(`4111[ -]?1111`).FindString(got); card != "" {
		t.Errorf("the vendor capture holds the planted card number (%q)", card)
	}
	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)
	for id := range vendor.resourceValues("chroma.persist.records", "service.instance.id") {
		if !hex16.MatchString(id) {
			t.Errorf("the vendor sees deployment identity %q, want a 16-hex-digit hash", id)
		}
	}

	view := customer.all()
	for _, want := range []string{plantedMissing, "ua-canary-42", "CANARY-QUERYSTRING-SECRET", instances[0], route} {
		if !strings.Contains(view, want) {
			t.Errorf("the customer capture lacks %q", want)
		}
	}
	for _, masked := range []string{"sk_live_CANARYTOKEN", plantedSSN} {
		if strings.Contains(view, masked) {
			t.Errorf("the customer capture holds %q, which its policy masks", masked)
		}
	}
}
