package chromatest

import "github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"

// The HTTP client lives in internal/chromaapi, where production code (the
// restore drill) uses it too; these names keep the tests' vocabulary.
type (
	// Client is chromaapi.Client.
	Client = chromaapi.Client
	// APIError is chromaapi.APIError.
	APIError = chromaapi.APIError
	// Collection is chromaapi.Collection.
	Collection = chromaapi.Collection
	// Record is chromaapi.Record.
	Record = chromaapi.Record
)

const (
	// DefaultTenant is chromaapi.DefaultTenant.
	DefaultTenant = chromaapi.DefaultTenant
	// DefaultDatabase is chromaapi.DefaultDatabase.
	DefaultDatabase = chromaapi.DefaultDatabase
)

// NewClient is chromaapi.NewClient.
func NewClient(baseURL string) *Client { return chromaapi.NewClient(baseURL) }

// IsStatus is chromaapi.IsStatus.
func IsStatus(err error, status int) bool { return chromaapi.IsStatus(err, status) }
