package detect

import "testing"

var benchValues = []string{
	"GET", "/api/v2/tenants/{tenant}/databases/{database}/collections", "200", "chroma_frontend::server",
	"tokio-runtime-worker", "NotFound", "QueryCollection", "sqlite", "collection_add",
	"Bailing because no records were found", "started processing request", "default",
	"SELECT id FROM embeddings WHERE collection = ?", "python-requests/2.31", "worker-7",
	"IncludeList([Document, Metadata])", "Some(10)", "frontend", "ok", "rust/frontend/src/server.rs",
	"/api/v2/tenants/default_tenant/databases/default_database/collections/98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb/add",
	"Cache miss for collection 98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb",
}

func BenchmarkFind(b *testing.B) {
	var buf [16]Match
	n := 0
	for _, v := range benchValues {
		n += len(v)
	}
	b.SetBytes(int64(n))
	for b.Loop() {
		for _, v := range benchValues {
			_ = Find(v, All, buf[:0])
		}
	}
}

func BenchmarkFindEach(b *testing.B) {
	var buf [16]Match
	for k := Kind(0); k < NumKinds; k++ {
		b.Run(k.String(), func(b *testing.B) {
			for b.Loop() {
				for _, v := range benchValues {
					_ = Find(v, Of(k), buf[:0])
				}
			}
		})
	}
}
