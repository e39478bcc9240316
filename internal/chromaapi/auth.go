package chromaapi

import (
	"fmt"
	"net/http"
	"strings"
)

// Headers that carry a token, as Chroma's clients send it
// (chroma_auth_token_transport_header).
const (
	// HeaderAuthorization carries "Bearer <token>" (the default).
	HeaderAuthorization = "Authorization"
	// HeaderChromaToken carries the token as it is.
	HeaderChromaToken = "X-Chroma-Token"
)

// Token is a secret that prints as [REDACTED], also inside structs
// printed with %v or %+v.
type Token string

// String hides the token.
func (Token) String() string { return "[REDACTED]" }

// GoString hides the token from %#v.
func (Token) GoString() string { return `"[REDACTED]"` }

// Auth says how a client proves itself to a Chroma behind token auth.
type Auth struct {
	// Header is HeaderAuthorization (default) or HeaderChromaToken.
	Header string
	Token  Token
}

// ParseTokenHeader accepts a header name for Auth.Header, in any case:
// Authorization or X-Chroma-Token.
func ParseTokenHeader(name string) (string, error) {
	switch {
	case name == "" || strings.EqualFold(name, HeaderAuthorization):
		return HeaderAuthorization, nil
	case strings.EqualFold(name, HeaderChromaToken):
		return HeaderChromaToken, nil
	}
	return "", fmt.Errorf("token header %q: use %s (sends \"Bearer <token>\") or %s", name, HeaderAuthorization, HeaderChromaToken)
}

func (a Auth) set(h http.Header) {
	if a.Token == "" {
		return
	}
	if a.Header == HeaderChromaToken {
		h.Set(HeaderChromaToken, string(a.Token))
		return
	}
	h.Set(HeaderAuthorization, "Bearer "+string(a.Token))
}
