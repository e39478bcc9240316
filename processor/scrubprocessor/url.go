package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// routeOf returns the route template among an item's attributes, if any,
// with literal segments outside the vocabulary replaced (see routeTemplate).
func (e *engine) routeOf(m pcommon.Map, st *scratch) string {
	for k, v := range m.All() {
		if (k == "http.route" || k == "url.template") && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
			route, _ := e.routeOnce(v.Str(), st)
			return route
		}
	}
	return ""
}

// looksLikeURL reports whether s is a path or an absolute URL.
func looksLikeURL(s string) bool {
	if strings.HasPrefix(s, "/") {
		return true
	}
	i := strings.Index(s, "://")
	return i > 0 && isScheme(s[:i])
}

func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// rewriteURL gives a raw URL's route template when the item has one.
// Otherwise, with url_without_route: drop it asks for the attribute to go,
// and with strip it keeps the URL's shape without its values. A value that
// is not a URL is never kept as it is: drop drops it, strip masks it.
func (e *engine) rewriteURL(s, route string) (string, bool) {
	if route != "" {
		return route, false
	}
	if e.urlDrop {
		return "", true
	}
	if !looksLikeURL(s) {
		return e.placeholder, false
	}
	return stripURL(s, e.placeholder), false
}

// stripURL removes user information, query values and the fragment, and
// replaces identifier-like path segments with the placeholder.
func stripURL(s, placeholder string) string {
	var b strings.Builder
	b.Grow(len(s))
	rest := s
	if i := strings.Index(s, "://"); i > 0 && isScheme(s[:i]) {
		b.WriteString(s[:i+3])
		auth := s[i+3:]
		end := strings.IndexAny(auth, "/?#")
		if end < 0 {
			end = len(auth)
		}
		host := auth[:end]
		if at := strings.LastIndexByte(host, '@'); at >= 0 {
			host = host[at+1:]
		}
		b.WriteString(host)
		rest = auth[end:]
	}
	if h := strings.IndexByte(rest, '#'); h >= 0 {
		rest = rest[:h]
	}
	path, query, hasQuery := strings.Cut(rest, "?")
	for i, seg := range strings.Split(path, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		if identifierLike(seg) {
			b.WriteString(placeholder)
		} else {
			b.WriteString(seg)
		}
	}
	if hasQuery {
		b.WriteByte('?')
		for i, kv := range strings.Split(query, "&") {
			if i > 0 {
				b.WriteByte('&')
			}
			k, _, _ := strings.Cut(kv, "=")
			if identifierLike(k) {
				k = placeholder
			}
			b.WriteString(k)
			b.WriteByte('=')
		}
	}
	return b.String()
}

// identifierLike reports whether a path segment looks like an identifier or a
// value rather than a fixed part of a route: numbers, hex and UUIDs, long
// mixes of letters and digits, encoded or punctuated text.
func identifierLike(seg string) bool {
	if seg == "" || isTemplateSegment(seg) {
		return false
	}
	if len(seg) > 40 {
		return true
	}
	digits, hex, other := 0, 0, false
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			hex++
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			hex++
		case c >= 'g' && c <= 'z' || c >= 'G' && c <= 'Z' || c == '-' || c == '_' || c == '.' || c == '~':
		default:
			other = true
		}
	}
	switch {
	case other:
		return true
	case digits == len(seg):
		return true
	case hex == len(seg) && len(seg) >= 8:
		return true
	case digits == 0:
		return false
	case isVersion(seg):
		return false
	}
	return len(seg) >= 8 || digits*2 >= len(seg)
}

// isVersion matches API version segments as Kubernetes writes them: v1,
// v2beta1, v1alpha2, v3rc1. Nothing else may follow the v and its number,
// so a segment such as v1acme is not a version.
func isVersion(seg string) bool {
	if len(seg) < 2 || (seg[0] != 'v' && seg[0] != 'V') {
		return false
	}
	n := digitRun(seg[1:])
	if n == 0 {
		return false
	}
	rest := seg[1+n:]
	for _, stage := range []string{"alpha", "beta", "rc"} {
		if tail, ok := strings.CutPrefix(strings.ToLower(rest), stage); ok {
			return allDigits(tail)
		}
	}
	return rest == ""
}

// digitRun is the number of ASCII digits at the start of s.
func digitRun(s string) int {
	n := 0
	for n < len(s) && isDigitByte(s[n]) {
		n++
	}
	return n
}

func isTemplateSegment(seg string) bool {
	return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") || strings.HasPrefix(seg, ":") && len(seg) > 1
}

// isTemplatePath reports whether a path has route template placeholders.
func isTemplatePath(p string) bool {
	for p != "" {
		seg, rest, _ := strings.Cut(p, "/")
		if isTemplateSegment(seg) {
			return true
		}
		p = rest
	}
	return false
}

// urlSpanName treats a span name of the form "[METHOD ]path" like the url
// action: the route template when known, a template path with its literal
// segments checked against the vocabulary, else the url_without_route
// treatment (drop masks the path). The method is normalized (see
// spanMethod).
func (e *engine) urlSpanName(name, route string) string {
	method, path := spanMethod(name)
	if !looksLikeURL(path) {
		return name
	}
	switch {
	case route != "":
		if len(name) == len(method)+len(route) && strings.HasSuffix(name, route) {
			return name
		}
		return method + route
	case isTemplatePath(path):
		if out, ok := e.routeTemplate(path); ok {
			return method + out
		}
		return method + e.placeholder
	case e.urlDrop:
		return method + e.placeholder
	}
	return method + stripURL(path, e.placeholder)
}
