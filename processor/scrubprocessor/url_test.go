package scrubprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStripURL(t *testing.T) {
	tests := map[string]string{
		"/api/v2/tenants/default_tenant/databases/default_database/collections?limit=10&offset=0&canary_qs=SECRET": "/api/v2/tenants/default_tenant/databases/default_database/collections?limit=&offset=&canary_qs=",
		"/api/v2/collections/98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb/add":                                             "/api/v2/collections/{id}/add",
		"https://user:pw@host.example:8443/v1/orders/12345#frag":                                                   "https://host.example:8443/v1/orders/{id}",
		"/files/report%20q3.pdf":                                  "/files/{id}",
		"/users/CANARYCOLL-jdoe-ssn-123-45-6789/items/deadbeef00": "/users/{id}/items/{id}",
		"/api/{tenant}/x/:id":                                     "/api/{tenant}/x/:id",
		"/":                                                       "/",
	}
	for in, want := range tests {
		assert.Equal(t, want, stripURL(in, "{id}"), in)
	}
}

func TestIdentifierLike(t *testing.T) {
	for _, seg := range []string{"12345", "98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb", "deadbeefcafe", "a1b2c3d4e5", "x@y", "name=v"} {
		assert.True(t, identifierLike(seg), seg)
	}
	for _, seg := range []string{"", "api", "v2", "v1beta1", "collections_count", "{collection_id}", ":id", "pre-flight-checks", "heartbeat"} {
		assert.False(t, identifierLike(seg), seg)
	}
}

func TestURLSpanName(t *testing.T) {
	strip := &engine{placeholder: "****", vocab: newVocabulary(UnknownKeep, nil)}
	drop := &engine{placeholder: "****", urlDrop: true, vocab: newVocabulary(UnknownTemplate, nil)}
	tests := []struct {
		e           *engine
		name, route string
		want        string
	}{
		{strip, "GET /api/v2/tenants/acme", "/api/v2/tenants/{tenant}", "GET /api/v2/tenants/{tenant}"},
		{strip, "GET /api/v2/tenants/{tenant}", "/api/v2/tenants/{tenant}", "GET /api/v2/tenants/{tenant}"},
		{strip, "/orders/12345", "", "/orders/****"},
		{drop, "DELETE /orders/12345", "", "DELETE ****"},
		{drop, "GET /api/v2/tenants/{tenant}", "", "GET /api/v2/tenants/{tenant}"},
		{drop, "GET (unknown route)", "", "GET (unknown route)"},
		{drop, "Component received message", "", "Component received message"},
		{drop, "fetch https://api.example/x", "", "fetch https://api.example/x"},
		{drop, "get /api/v2/tenants/{tenant}/acme-payroll", "", "GET /api/v2/tenants/{tenant}/*"},
		{drop, "PROPFIND /api/{x}/acme?q=1", "", "HTTP /api/{x}/*"},
		{drop, "POST /api/v2/acme", "/api/v2/{tenant}", "POST /api/v2/{tenant}"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.e.urlSpanName(tt.name, tt.route), tt.name)
	}
}
