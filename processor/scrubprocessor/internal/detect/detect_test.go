package detect

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// found returns the matched substrings of kind k in s.
func found(s string, k Kind) []string {
	ms := Find(s, Of(k), nil)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Start < ms[j].Start })
	var out []string
	for _, m := range ms {
		if m.Kind != k {
			panic("match of another detector")
		}
		out = append(out, s[m.Start:m.End])
	}
	return out
}

func TestDetectors(t *testing.T) {
	tests := []struct {
		kind Kind
		in   string
		want []string
	}{
		{Email, "contact jdoe@acme-corp.com now", []string{"jdoe@acme-corp.com"}},
		{Email, "a.b+tag@mail.example.co.uk.", []string{"a.b+tag@mail.example.co.uk"}},
		{Email, "x@y@z.io", []string{"y@z.io"}},
		{Email, "user=first.last@corp.example,other=2@3.45", []string{"first.last@corp.example"}},
		{Email, "@handle and foo@bar and git@10.0.0.1", nil},
		{Email, "to jdoe%40acme.com now", []string{"jdoe%40acme.com"}},
		{Email, "jdoe\uff20acme.com, ann\ufe6bcorp.example", []string{"jdoe\uff20acme.com", "ann\ufe6bcorp.example"}},
		{Email, "j\u200bdoe@ac\u200dme.com", []string{"j\u200bdoe@ac\u200dme.com"}},
		{Email, "100% 40 units, 50%40", nil},

		{IPv4, "peer 10.1.22.254:4317 ok", []string{"10.1.22.254"}},
		{IPv4, "127.0.0.1", []string{"127.0.0.1"}},
		{IPv4, "v1.2.3.4 and 1.2.3 and 300.1.1.1 and 1.2.3.4.5", nil},
		{IPv4, "host ip-10-91-2-3.ec2.internal and 10-0-0-7.nip.io", []string{"10-91-2-3", "10-0-0-7"}},
		{IPv4, "node_10_1_2_3 up", []string{"10_1_2_3"}},
		{IPv4, "http://167772161/x and https://u@0x0a000001:8080/", []string{"167772161", "0x0a000001"}},
		{IPv4, "2024-01-02 1-2-3-4-5 http://12345/ http://example.com/", nil},

		{IPv6, "addr=[2001:db8::8a2e:370:7334]:443", []string{"2001:db8::8a2e:370:7334"}},
		{IPv6, "::1 and fe80::1ff:fe23:4567:890a", []string{"::1", "fe80::1ff:fe23:4567:890a"}},
		{IPv6, "::ffff:192.168.1.10.", []string{"::ffff:192.168.1.10"}},
		{IPv6, "2001:0db8:85a3:0000:0000:8a2e:0370:7334", []string{"2001:0db8:85a3:0000:0000:8a2e:0370:7334"}},
		{IPv6, "chroma_frontend::tower_tracing std::io::Error 12:30:45 aa:bb:cc:dd:ee:ff a::b", nil},

		{CardNumber, "card 4111 1111 1111 1111 exp", []string{"4111 1111 1111 1111"}},
		{CardNumber, "pan=4111-1111-1111-1111;", []string{"4111-1111-1111-1111"}},
		{CardNumber, "amex 378282246310005", []string{"378282246310005"}},
		{CardNumber, "12 5555555555554444", []string{"5555555555554444"}},
		{CardNumber, "ts 1795218563251959654 and 4111111111111112 and 41111111111111111111", nil},
		{CardNumber, "4111.1111.1111.1111 4111_1111_1111_1111 4111/1111/1111/1111", []string{"4111.1111.1111.1111", "4111_1111_1111_1111", "4111/1111/1111/1111"}},

		{USSSN, "CANARYCOLL-jdoe-ssn-123-45-6789", []string{"123-45-6789"}},
		{USSSN, "ssn 555-44-3333.", []string{"555-44-3333"}},
		{USSSN, "000-12-3456 666-12-3456 912-12-3456 123-00-4567 123-45-0000 1123-45-6789 2024-01-02", nil},
		{USSSN, "ssn 123 45 6789, 123.45.6789 and 123_45_6789", []string{"123 45 6789", "123.45.6789", "123_45_6789"}},
		{USSSN, "123-45 6789 and 123 45 67890 and 123.45.6789.1", nil},

		{JWT, "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U end",
			[]string{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"}},
		{JWT, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4eHh4In0.", []string{"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4eHh4In0."}},
		{JWT, "keyJunk.eyJ.x", nil},

		{Credentials, "Authorization: Bearer abc123.def-456_ghi", []string{"abc123.def-456_ghi"}},
		{Credentials, "authorization: basic dXNlcjpwYXNzd29yZA==", []string{"dXNlcjpwYXNzd29yZA=="}},
		{Credentials, "password=hunter2&user=bob", []string{"hunter2"}},
		{Credentials, `{"client_secret": "s3cr3t value", "x": 1}`, []string{"s3cr3t value"}},
		{Credentials, "X-Chroma-Token: ck-abc", []string{"ck-abc"}},
		{Credentials, "accessToken=zzz9", []string{"zzz9"}},
		{Credentials, `"api_key": "k-123`, []string{"k-123"}},
		{Credentials, "AWS_SECRET_ACCESS_KEY=abc/def+ghi private_key: x1", []string{"abc/def+ghi", "x1"}},
		{Credentials, "basic configuration, bearer of news, max_tokens=5, chroma_log::log, oauth=x, Authorization: Bearer", nil},
		{Credentials, "Authorization: Token 0123456789abcdef0123456789abcdef01234567", []string{"0123456789abcdef0123456789abcdef01234567"}},
		{Credentials, "PGPASSWORD=hunter2 psql", []string{"hunter2"}},
		{Credentials, "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=abc+def==;EndpointSuffix=core", []string{"abc+def=="}},
		{Credentials, "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=k3y=", []string{"k3y="}},
		{Credentials, "https://b.s3.amazonaws.com/o?X-Amz-Credential=AKIA%2F&X-Amz-Signature=f00d&x=1", []string{"AKIA%2F", "f00d"}},
		{Credentials, "https://a.blob.core.windows.net/c?sv=2020&sig=abc%3D&se=1", []string{"abc%3D"}},
		{Credentials, "Authorization: opaque-value-123", []string{"opaque-value-123"}},
		{Credentials, "a token was found, token count, Token refresh", nil},

		{AWSAccessKey, "key AKIAIOSFODNN7EXAMPLE used", []string{"AKIAIOSFODNN7EXAMPLE"}},
		{AWSAccessKey, "XAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPL AKIAIOSFODNN7EXAMPLEX", nil},

		{APIKey, "OPENAI_API_KEY=sk-proj-a1B2c3D4e5F6g7H8i9J0kLmN", []string{"sk-proj-a1B2c3D4e5F6g7H8i9J0kLmN"}},
		{APIKey, "ghp_0123456789abcdefghijABCDEFGHIJ012345 and ck-7Hq2mP9xR4tW8yZ1aB3cD5e", []string{"ghp_0123456789abcdefghijABCDEFGHIJ012345", "ck-7Hq2mP9xR4tW8yZ1aB3cD5e"}},
		{APIKey, "xoxb-1234567890-abcdef and AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", []string{"xoxb-1234567890-abcdef", "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"}},
		{APIKey, "sk-learn-compatible-estimator ask-1234567890123456789012 back-pressure-in-queue-12", nil},

		{PrivateKey, "k=-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY----- tail",
			[]string{"-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----"}},
		{PrivateKey, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA", []string{"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA"}},
		{PrivateKey, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", nil},

		{URLUserinfo, "dsn postgres://app:p4ss@db.internal:5432/x", []string{"app:p4ss"}},
		{URLUserinfo, "https://user:pa/ss@host/x", []string{"user:pa/ss"}},
		{URLUserinfo, "https://host/path?email=a@b.com https://host/@me", nil},
		{URLUserinfo, "dsn=app:p4ss@tcp(db:3306)/x", []string{"app:p4ss"}},
		{URLUserinfo, "Error: jdoe@acme.com, key:value @x, ssh git@github.com:org/repo", nil},

		{HomePath, "at /home/runner/.cargo/registry/src/x.rs:12", []string{"/home/runner/.cargo/registry/src/x.rs:12"}},
		{HomePath, `open C:\Users\jdoe\AppData\x.txt failed`, []string{`C:\Users\jdoe\AppData\x.txt`}},
		{HomePath, "file:///Users/jane/notes and /root/.ssh/id_rsa", []string{"/Users/jane/notes", "/root/.ssh/id_rsa"}},
		{HomePath, "/api/home/x /home/ rust/frontend/src/server.rs", nil},
		{HomePath, "at /var/home/u/.config, /export/home/u2 and /mnt/c/Users/u3/x", []string{"/var/home/u/.config", "/export/home/u2", "/mnt/c/Users/u3/x"}},
		{HomePath, "see ~jdoe/notes.txt and ~ann", []string{"~jdoe/notes.txt", "~ann"}},
		{HomePath, "~/x a~b /srv/home/u ~1", nil},

		{UUID, "Cache miss for collection 98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb", []string{"98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb"}},
		{UUID, "CollectionUuid(2F410304-531E-4EE6-A80E-894646EBC9F7)", []string{"2F410304-531E-4EE6-A80E-894646EBC9F7"}},
		{UUID, "98aa09b7-eafe-4c6d-aece-ad1a2b54b6e tower-http-0.6.2", nil},
		{UUID, "collection 98aa09b7eafe4c6daecead1a2b54b6eb found", []string{"98aa09b7eafe4c6daecead1a2b54b6eb"}},
		{UUID, "98aa09b7eafe4c6daecead1a2b54b6eb0 x98aa09b7eafe4c6daecead1a2b54b6eb 12345678901234567890123456789012", nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.kind, tt.in), func(t *testing.T) {
			assert.Equal(t, tt.want, found(tt.in, tt.kind))
		})
	}
}

func TestParseAndNames(t *testing.T) {
	for _, n := range Names() {
		k, ok := Parse(n)
		require.True(t, ok, n)
		assert.Equal(t, n, k.String())
	}
	_, ok := Parse("emial")
	assert.False(t, ok)
	assert.Len(t, Names(), int(NumKinds))
}

func TestIsCardNumber(t *testing.T) {
	for _, good := range []string{"4111111111111111", "5555-5555-5555-4444", "378282246310005", "6011111111111117", "2223003122003222"} {
		assert.True(t, IsCardNumber(good), good)
	}
	for _, bad := range []string{"4111111111111112", "1111111111111117", "411111111111", "7111111111111111", "41111111111111111111"} {
		assert.False(t, IsCardNumber(bad), bad)
	}
}

// Values typical of Chroma's telemetry carry no false positives.
func TestCleanValues(t *testing.T) {
	clean := []string{
		"GET /api/v2/tenants/{tenant}/databases/{database}/collections/{collection_id}/query",
		"rust/frontend/src/tower_tracing.rs", "chroma_frontend::tower_tracing", "tokio-runtime-worker",
		"HTTP/1.1", "IncludeList([Document, Metadata, Embedding])", "Some(10)", "Status code: 501 Not Implemented",
		"Collection forking is unsupported for local chroma", "Bailing because no records were found",
		"1795218563251959654", "284.252µs", "7.607e-05", "sqlx_core::logger", "tower-http-0.6.2",
	}
	for _, s := range clean {
		assert.Empty(t, Find(s, All, nil), s)
	}
}

func TestFindDoesNotAllocate(t *testing.T) {
	values := []string{
		"GET /api/v2/tenants/{tenant}/databases/{database}/collections/{collection_id}/query",
		"/api/v2/tenants/default_tenant/databases/default_database/collections/98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb/add",
		"password=hunter2 jdoe@acme.com 10.0.0.1 4111 1111 1111 1111",
	}
	var buf [16]Match
	for _, v := range values {
		allocs := testing.AllocsPerRun(100, func() {
			_ = Find(v, All, buf[:0])
		})
		assert.Zero(t, allocs, v)
	}
}

// Every kind is found when surrounded by delimiters and arbitrary text.
func TestFoundInContext(t *testing.T) {
	samples := map[Kind]string{
		Email:        "first.last@sub.example.org",
		IPv4:         "192.168.10.20",
		IPv6:         "2001:db8:0:1::42",
		CardNumber:   "5555 5555 5555 4444",
		USSSN:        "219-09-9999",
		JWT:          "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJlMTIz",
		AWSAccessKey: "ASIAY34FZKBOKMUTVV7A",
		APIKey:       "glpat-Zx81kq93LmPw02nRtY6v",
		PrivateKey:   "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----",
		HomePath:     "/home/alice/work/secrets.txt",
		UUID:         "c0e88519-8bdd-4a86-b91e-193062623944",
	}
	for k, secret := range samples {
		for _, pre := range []string{"", "x ", "a1 (", "12 ", "\"", "[", "=\t"} {
			for _, post := range []string{"", " y", ") z9", "\"", "]", ", 12", "\n"} {
				s := pre + secret + post
				got := found(s, k)
				require.Equal(t, []string{secret}, got, "%s in %q", k, s)
			}
		}
	}
}

// The work of a scan grows linearly with its input: the steps the scanners
// take on a pathological repetition, doubled, at most double (with a little
// slack for fixed costs). Steps are counted, not timed.
func TestLongInputsStayLinear(t *testing.T) {
	units := []string{
		"a@", "1.", "1 ", ":a", "eyJaaaaaaaaaaa.", "-----BEGIN x", "password=", "/home/", "aaaaaaaa-",
		"a%40", "a\uff20", "a\u200b", "ip-1-1-1-", "1_1_", "http://1", "a:b@", "~a/", "/var/home/x ",
		"123 45 ", "4111.1111.", "Token ", "x-amz-signature=", "0123456789abcdef", "C:\\Users\\",
	}
	steps := func(s string) int {
		var sc scanner
		sc.find(s, All, nil)
		return sc.steps
	}
	for _, u := range units {
		small, large := steps(strings.Repeat(u, 2000)), steps(strings.Repeat(u, 4000))
		assert.Positive(t, small, "%q", u)
		assert.LessOrEqual(t, large, 2*small+small/10+64, "%q: %d steps for 2000 repetitions, %d for 4000", u, small, large)
	}
}
