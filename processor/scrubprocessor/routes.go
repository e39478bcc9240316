package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"strings"
)

// knownMethods are the HTTP methods of RFC 9110 and RFC 5789 and the QUERY
// method the semantic conventions list; others become _OTHER.
var knownMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY"}

const otherMethod = "_OTHER"

// normalizeMethod returns a known method in upper case, whatever case it
// came in, and _OTHER for anything else, as the semantic conventions say
// for http.request.method.
func normalizeMethod(s string) string {
	for _, m := range knownMethods {
		if strings.EqualFold(s, m) {
			return m
		}
	}
	return otherMethod
}

// isToken reports whether s is an RFC 9110 token (the syntax of a method).
func isToken(s string) bool { return onlyAlnumAnd(s, "!#$%&'*+-.^_`|~") }

// spanMethod splits "METHOD path" into the method as a span name shows it
// and the rest. A known method in any case is upper-cased; another method
// token in upper case becomes HTTP, as the semantic conventions name the
// spans of unknown methods. A lower-case word that is no known method is
// not a method.
func spanMethod(name string) (method, rest string) {
	sp := strings.IndexByte(name, ' ')
	if sp <= 0 || !isToken(name[:sp]) || !looksLikeURL(name[sp+1:]) {
		return "", name
	}
	word := name[:sp]
	m := normalizeMethod(word)
	switch {
	case m == word:
		return name[:sp+1], name[sp+1:]
	case m != otherMethod:
		return m + " ", name[sp+1:]
	case strings.ToUpper(word) == word && len(word) <= 20:
		return "HTTP ", name[sp+1:]
	}
	return "", name
}

// routeTemplate returns a route with every literal segment outside the
// vocabulary replaced by *, without its query and fragment. A value that is
// not a path fits only when all its words are known. Without an active vocabulary, only the query
// and fragment go.
func (e *engine) routeTemplate(s string) (string, bool) {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if s == "*" {
		return s, true
	}
	if !strings.HasPrefix(s, "/") {
		// Not a path: only a name made of known words ("(unknown route)"),
		// a path inside it a route.
		return e.vocab.namePaths(maskValueSlots(s, false)), e.vocab.active() && !strings.Contains(s, "://") && e.vocab.allKnown(s)
	}
	if !e.vocab.active() {
		return s, true
	}
	return e.vocab.routePath(s), true
}

// routePath returns a path with every segment that knownSegment does not
// know replaced by *; the path itself when it knows them all.
func (v *vocabulary) routePath(s string) string {
	if v.knownPath(s) {
		return s
	}
	segs := strings.Split(s, "/")
	for i, seg := range segs {
		if !v.knownSegment(seg) {
			segs[i] = string(wildcard)
		}
	}
	return strings.Join(segs, "/")
}

func (v *vocabulary) knownPath(s string) bool {
	for s != "" {
		seg, rest, _ := strings.Cut(s, "/")
		if !v.knownSegment(seg) {
			return false
		}
		s = rest
	}
	return true
}

// knownSegment: an empty segment, a wildcard, an API version (v1, v2beta1),
// a placeholder all of whose words are known ({collection_id}, :id), or a
// literal segment of the route vocabulary. A literal segment is a value
// of the request (a tenant named default, a database named users) unless
// a known route has it, so the general vocabulary does not vouch for it.
func (v *vocabulary) knownSegment(seg string) bool {
	switch {
	case seg == "" || seg == string(wildcard):
		return true
	case isVersion(seg):
		return true
	case isTemplateSegment(seg):
		return v.allKnown(seg)
	}
	return v.routeSegment(seg)
}

// routeSegments are the literal path segments of the routes Chroma 1.0
// serves (its /api/v1 and /api/v2 paths, the OpenAPI document) and of the
// collector's own HTTP endpoints (OTLP/HTTP, health, metrics, pprof).
var routeSegments = []string{
	"api", "heartbeat", "version", "reset", "pre-flight-checks", "healthcheck",
	"auth", "identity", "tenants", "databases", "collections", "collections_count",
	"add", "update", "upsert", "get", "query", "delete", "count", "fork",
	"openapi.json", "docs",
	"traces", "metrics", "logs", "profiles", "health", "status", "debug", "pprof",
}

// routeOnce is routeTemplate, remembered for the rest of the call; a route
// that does not fit is remembered as "".
func (e *engine) routeOnce(s string, st *scratch) (string, bool) {
	out := remember(st.routes, s, func(s string) string {
		out, ok := e.routeTemplate(s)
		if !ok {
			return ""
		}
		return out
	})
	return out, out != ""
}
