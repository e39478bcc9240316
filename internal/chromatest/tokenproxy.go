package chromatest

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
)

// TokenProxy stands for a Chroma behind token auth, as deployments put it
// behind a gateway: a request whose header does not carry want gets 401,
// the others go to chromaURL. It returns the proxy's URL.
func TokenProxy(t testing.TB, chromaURL, header, want string) string {
	t.Helper()
	u, err := url.Parse(chromaURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(header) != want {
			http.Error(w, `{"error":"AuthError","message":"Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
