// Package detect finds sensitive values inside strings with linear scanners:
// no regular expressions and no backtracking, and no allocation when a
// string holds nothing sensitive.
package detect // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor/internal/detect"

import (
	"strings"
)

// Kind names one detector.
type Kind uint8

const (
	Email Kind = iota
	IPv4
	IPv6
	CardNumber
	USSSN
	JWT
	Credentials
	AWSAccessKey
	APIKey
	PrivateKey
	URLUserinfo
	HomePath
	UUID
	NumKinds
)

var kindNames = [NumKinds]string{
	Email:        "email",
	IPv4:         "ipv4",
	IPv6:         "ipv6",
	CardNumber:   "card_number",
	USSSN:        "us_ssn",
	JWT:          "jwt",
	Credentials:  "credentials",
	AWSAccessKey: "aws_access_key",
	APIKey:       "api_key",
	PrivateKey:   "private_key",
	URLUserinfo:  "url_userinfo",
	HomePath:     "home_path",
	UUID:         "uuid",
}

// String returns the configuration name of the detector.
func (k Kind) String() string {
	if k < NumKinds {
		return kindNames[k]
	}
	return "unknown"
}

// Parse returns the detector with the given configuration name.
func Parse(name string) (Kind, bool) {
	for k, n := range kindNames {
		if n == name {
			return Kind(k), true
		}
	}
	return 0, false
}

// Names lists the configuration names of all detectors.
func Names() []string {
	return append([]string(nil), kindNames[:]...)
}

// Set is a set of detectors.
type Set uint32

// All holds every detector.
const All = Set(1<<NumKinds - 1)

// Of returns the set holding the given detectors.
func Of(kinds ...Kind) Set {
	var s Set
	for _, k := range kinds {
		s |= 1 << k
	}
	return s
}

// Has reports whether k is in the set.
func (s Set) Has(k Kind) bool { return s&(1<<k) != 0 }

// Match is one sensitive value found at s[Start:End].
type Match struct {
	Start, End int
	Kind       Kind
}

// character classes, OR-ed over a string to decide which scanners can match.
const (
	cDigit uint16 = 1 << iota
	cUpper
	cLower
	cAt
	cDot
	cColon
	cDash
	cSlash
	cBackslash
	cSpace
	cEq
	cUnder
	cB    // 'b' or 'B', which the Bearer and Basic schemes start with
	cT    // 't' or 'T', which the Token scheme starts with
	cPct  // '%', which starts an encoded '@'
	cHigh // a byte of a multi-byte character (full-width '@', zero-width spaces)
)

var class = func() (t [256]uint16) {
	for c := '0'; c <= '9'; c++ {
		t[c] = cDigit
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = cUpper
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = cLower
	}
	t['@'] = cAt
	t['.'] = cDot
	t[':'] = cColon
	t['-'] = cDash
	t['/'] = cSlash
	t['\\'] = cBackslash
	t[' '], t['\t'], t['\n'], t['\r'] = cSpace, cSpace, cSpace, cSpace
	t['='] = cEq
	t['_'] = cUnder
	t['b'] |= cB
	t['B'] |= cB
	t['t'] |= cT
	t['T'] |= cT
	t['%'] = cPct
	t['~'] = cSlash // a home directory "~user" is scanned with the paths
	for c := 0x80; c < 0x100; c++ {
		t[c] = cHigh
	}
	return t
}()

// scanner counts the steps of a scan: one per loop iteration, so that a test
// can check that the work grows linearly with the input.
type scanner struct{ steps int }

// Find appends to dst every match of the detectors in set found in s, in no
// particular order; matches may overlap. Find does not allocate unless dst
// must grow.
func Find(s string, set Set, dst []Match) []Match {
	var sc scanner
	return sc.find(s, set, dst)
}

func (sc *scanner) find(s string, set Set, dst []Match) []Match {
	n := len(s)
	if n < 3 || set == 0 {
		return dst
	}
	var f uint16
	digits := 0
	for i := 0; i < n; i++ {
		sc.steps++
		c := class[s[i]]
		f |= c
		digits += int(c & cDigit)
	}
	has := func(bits uint16) bool { return f&bits == bits }

	if set.Has(PrivateKey) && has(cDash) && n >= 30 {
		dst = sc.findPrivateKey(s, dst)
	}
	if set.Has(JWT) && has(cDot) && n >= 23 {
		dst = sc.findJWT(s, dst)
	}
	if set.Has(URLUserinfo) && has(cAt|cColon) {
		if has(cSlash) {
			dst = sc.findURLUserinfo(s, dst)
		}
		dst = sc.findDSNUserinfo(s, dst)
	}
	if set.Has(Email) && has(cDot) && f&(cAt|cPct|cHigh) != 0 {
		dst = sc.findEmail(s, dst)
	}
	if set.Has(Credentials) && f&(cSpace|cEq|cColon) != 0 {
		dst = sc.findCredentials(s, f, dst)
	}
	if set.Has(AWSAccessKey) && has(cUpper) && n >= 20 {
		dst = sc.findAWSKey(s, dst)
	}
	if set.Has(APIKey) && n >= 13 && f&(cDash|cUnder|cDot|cUpper) != 0 {
		dst = sc.findAPIKey(s, dst)
	}
	if set.Has(HomePath) && f&(cSlash|cBackslash) != 0 && n >= 7 {
		dst = sc.findHomePath(s, f, dst)
	}
	if set.Has(UUID) && n >= 32 {
		dst = sc.findUUID(s, f, dst)
	}
	if set.Has(IPv4) && digits >= 4 {
		dst = sc.findIPv4(s, f, dst)
	}
	if set.Has(IPv6) && has(cColon) && n >= 3 {
		dst = sc.findIPv6(s, dst)
	}
	if set.Has(USSSN) && digits >= 9 {
		dst = sc.findSSN(s, dst)
	}
	if set.Has(CardNumber) && digits >= 13 {
		dst = sc.findCards(s, dst)
	}
	return dst
}

func isDigit(c byte) bool { return c-'0' < 10 }
func isAlpha(c byte) bool { return (c|0x20)-'a' < 26 }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func isHex(c byte) bool   { return isDigit(c) || (c|0x20)-'a' < 6 }
func isWord(c byte) bool  { return isAlnum(c) || c == '_' }

// hasFoldPrefix reports whether s starts with the lower-case ASCII word p,
// ignoring case.
func hasFoldPrefix(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}

func hasFoldSuffix(s, p string) bool {
	return len(s) >= len(p) && hasFoldPrefix(s[len(s)-len(p):], p)
}

// ---- email ----

func isEmailLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isDomainChar(c byte) bool { return isAlnum(c) || c == '.' || c == '-' }

func (sc *scanner) findEmail(s string, dst []Match) []Match {
	floor := 0
	for off := 0; off < len(s); {
		sc.steps++
		at, atLen := sc.nextAt(s, off)
		if at < 0 {
			break
		}
		off = at + atLen
		start := at
		for start > floor {
			sc.steps++
			if isEmailLocal(s[start-1]) {
				start--
			} else if n := sc.invisibleBefore(s, start); n > 0 {
				start -= n
			} else {
				break
			}
		}
		for start < at && s[start] == '.' {
			sc.steps++
			start++
		}
		if start == at {
			continue
		}
		end := at + atLen
		for end < len(s) {
			sc.steps++
			if isDomainChar(s[end]) {
				end++
			} else if n := sc.invisibleAt(s, end); n > 0 {
				end += n
			} else {
				break
			}
		}
		for end > at+atLen && (s[end-1] == '.' || s[end-1] == '-') {
			sc.steps++
			end--
		}
		if !sc.validDomain(s[at+atLen : end]) {
			continue
		}
		dst = append(dst, Match{start, end, Email})
		floor, off = end, end
	}
	return dst
}

// nextAt finds the next at sign from off as written in addresses people
// hide: '@', URL-encoded "%40", full-width U+FF20 and small U+FE6B. It
// returns its position and length, or -1.
func (sc *scanner) nextAt(s string, off int) (int, int) {
	for i := off; i < len(s); i++ {
		sc.steps++
		switch s[i] {
		case '@':
			return i, 1
		case '%':
			if i+2 < len(s) && s[i+1] == '4' && s[i+2] == '0' {
				return i, 3
			}
		case 0xEF:
			if strings.HasPrefix(s[i:], "\uff20") || strings.HasPrefix(s[i:], "\ufe6b") {
				return i, 3
			}
		}
	}
	return -1, 0
}

// invisibles are characters that show nothing: zero-width space, non-joiner
// and joiner, word joiner, byte order mark, soft hyphen.
var invisibles = []string{"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}

// invisibleAt returns the length of an invisible character at s[i:], or 0.
func (sc *scanner) invisibleAt(s string, i int) int {
	if s[i] < 0x80 {
		return 0
	}
	for _, z := range invisibles {
		sc.steps++
		if strings.HasPrefix(s[i:], z) {
			return len(z)
		}
	}
	return 0
}

// invisibleBefore returns the length of an invisible character ending at
// s[:i], or 0.
func (sc *scanner) invisibleBefore(s string, i int) int {
	if s[i-1] < 0x80 {
		return 0
	}
	for _, z := range invisibles {
		sc.steps++
		if strings.HasSuffix(s[:i], z) {
			return len(z)
		}
	}
	return 0
}

// validDomain wants at least two non-empty labels and a top-level label of
// two or more letters; invisible characters do not count.
func (sc *scanner) validDomain(d string) bool {
	var buf [256]byte
	if strings.IndexFunc(d, func(r rune) bool { return r >= 0x80 }) >= 0 {
		n := 0
		for i := 0; i < len(d); {
			sc.steps++
			if k := sc.invisibleAt(d, i); k > 0 {
				i += k
				continue
			}
			if n == len(buf) || d[i] >= 0x80 {
				return false
			}
			buf[n] = d[i]
			n++
			i++
		}
		d = string(buf[:n])
	}
	dot := strings.LastIndexByte(d, '.')
	if dot <= 0 || len(d)-dot-1 < 2 {
		return false
	}
	for i := dot + 1; i < len(d); i++ {
		sc.steps++
		if !isAlpha(d[i]) {
			return false
		}
	}
	return d[0] != '.' && d[0] != '-' && !strings.Contains(d, "..")
}

// ---- IPv4 ----

// findIPv4 finds dotted quads, quads joined by dashes or underscores as
// in host names (ip-10-91-2-3), and addresses written as one decimal or hex
// number where a URL names its host (http://167772161/).
func (sc *scanner) findIPv4(s string, f uint16, dst []Match) []Match {
	if f&cDot != 0 {
		dst = sc.findDottedIPv4(s, dst)
	}
	if f&cDash != 0 {
		dst = sc.findJoinedIPv4(s, '-', dst)
	}
	if f&cUnder != 0 {
		dst = sc.findJoinedIPv4(s, '_', dst)
	}
	if f&(cColon|cSlash) == cColon|cSlash {
		dst = sc.findNumericHost(s, dst)
	}
	return dst
}

func (sc *scanner) findDottedIPv4(s string, dst []Match) []Match {
	n := len(s)
	for i := 0; i < n; {
		sc.steps++
		if !isDigit(s[i]) {
			i++
			continue
		}
		if i > 0 && (isAlpha(s[i-1]) || s[i-1] == '.' || s[i-1] == '_') {
			for i < n && (isDigit(s[i]) || s[i] == '.') {
				sc.steps++
				i++
			}
			continue
		}
		if end, ok := sc.dottedQuad(s, i); ok {
			dst = append(dst, Match{i, end, IPv4})
			i = end
			continue
		}
		for i < n && (isDigit(s[i]) || s[i] == '.') {
			sc.steps++
			i++
		}
	}
	return dst
}

func (sc *scanner) dottedQuad(s string, i int) (int, bool) {
	return sc.quad(s, i, '.')
}

// quad checks four octets joined by sep at s[i:] and returns their end.
func (sc *scanner) quad(s string, i int, sep byte) (int, bool) {
	n := len(s)
	for part := 0; part < 4; part++ {
		sc.steps++
		if part > 0 {
			if i >= n || s[i] != sep {
				return 0, false
			}
			i++
		}
		v, d := 0, 0
		for i < n && isDigit(s[i]) && d < 4 {
			sc.steps++
			v = v*10 + int(s[i]-'0')
			i++
			d++
		}
		if d == 0 || d > 3 || v > 255 {
			return 0, false
		}
	}
	if i < n && (isAlnum(s[i]) || s[i] == '_' || (s[i] == sep && i+1 < n && isDigit(s[i+1]))) {
		return 0, false
	}
	if sep != '.' && i < n && s[i] == '.' && i+1 < n && isDigit(s[i+1]) {
		return 0, false
	}
	return i, true
}

// findJoinedIPv4 finds four octets joined by sep, as cloud host names
// carry them (ip-10-91-2-3, 10-91-2-3.nip.io), where the run does not go
// on with more digits.
func (sc *scanner) findJoinedIPv4(s string, sep byte, dst []Match) []Match {
	for i := 0; i < len(s); {
		sc.steps++
		if !isDigit(s[i]) {
			i++
			continue
		}
		if i > 0 && (isDigit(s[i-1]) || s[i-1] == sep && i > 1 && isDigit(s[i-2])) {
			for i < len(s) && (isDigit(s[i]) || s[i] == sep) {
				sc.steps++
				i++
			}
			continue
		}
		if end, ok := sc.quad(s, i, sep); ok {
			dst = append(dst, Match{i, end, IPv4})
			i = end
			continue
		}
		for i < len(s) && (isDigit(s[i]) || s[i] == sep) {
			sc.steps++
			i++
		}
	}
	return dst
}

// findNumericHost finds a URL host written as one number, decimal
// (167772161) or hex (0x0a000001), that is an IPv4 address.
func (sc *scanner) findNumericHost(s string, dst []Match) []Match {
	for off := 0; off < len(s); {
		sc.steps++
		k := strings.Index(s[off:], "://")
		if k < 0 {
			break
		}
		i := off + k + 3
		off = i
		if at := strings.IndexByte(s[i:min(len(s), i+256)], '@'); at >= 0 && strings.IndexAny(s[i:i+at], "/?# ") < 0 {
			i += at + 1
		}
		end := i
		for end < len(s) && isAlnum(s[end]) {
			sc.steps++
			end++
		}
		if end < len(s) && !strings.ContainsRune("/:?#", rune(s[end])) && !urlEnd(s[end]) {
			continue
		}
		if sc.numericIPv4(s[i:end]) {
			dst = append(dst, Match{i, end, IPv4})
		}
	}
	return dst
}

func (sc *scanner) numericIPv4(h string) bool {
	base, digits := uint64(10), h
	if len(h) > 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X') {
		base, digits = 16, h[2:]
	}
	if digits == "" || len(digits) > 10 {
		return false
	}
	var v uint64
	for i := 0; i < len(digits); i++ {
		sc.steps++
		c := digits[i]
		var d uint64
		switch {
		case isDigit(c):
			d = uint64(c - '0')
		case base == 16 && isHex(c):
			d = uint64(c|0x20) - 'a' + 10
		default:
			return false
		}
		v = v*base + d
	}
	return v >= 1<<24 && v < 1<<32
}

// ---- IPv6 ----

func isV6Char(c byte) bool { return isHex(c) || c == ':' || c == '.' }

func (sc *scanner) findIPv6(s string, dst []Match) []Match {
	n := len(s)
	for off := 0; off < n; {
		sc.steps++
		k := strings.IndexByte(s[off:], ':')
		if k < 0 {
			break
		}
		// Expand the colon to the run of address characters around it.
		start, end := off+k, off+k
		for start > off && isV6Char(s[start-1]) {
			sc.steps++
			start--
		}
		colons, digits := 0, 0
		for end < n && isV6Char(s[end]) {
			sc.steps++
			switch {
			case s[end] == ':':
				colons++
			case isDigit(s[end]):
				digits++
			}
			end++
		}
		for i := start; i < off+k; i++ {
			sc.steps++
			if isDigit(s[i]) {
				digits++
			}
		}
		off = end
		if colons < 2 || (start > 0 && isWord(s[start-1])) || (end < n && isWord(s[end])) {
			continue
		}
		for end > start && s[end-1] == '.' {
			sc.steps++
			end--
		}
		if digits == 0 && end-start < 8 {
			continue
		}
		if sc.validIPv6(s[start:end]) {
			dst = append(dst, Match{start, end, IPv6})
		}
	}
	return dst
}

// validIPv6 checks the textual form of an IPv6 address (RFC 4291 2.2),
// optionally ending with a dotted IPv4 address.
func (sc *scanner) validIPv6(t string) bool {
	if len(t) < 2 || len(t) > 45 {
		return false
	}
	groups, compressed := 0, false
	i := 0
	if strings.HasPrefix(t, "::") {
		compressed = true
		i = 2
		if i == len(t) {
			return true
		}
	} else if t[0] == ':' {
		return false
	}
	for i < len(t) {
		sc.steps++
		j := i
		for j < len(t) && isHex(t[j]) && j-i < 5 {
			sc.steps++
			j++
		}
		if j < len(t) && t[j] == '.' {
			// Embedded IPv4 takes the last 32 bits.
			end, ok := sc.dottedQuad(t, i)
			if !ok || end != len(t) {
				return false
			}
			groups += 2
			break
		}
		if j == i || j-i > 4 {
			return false
		}
		groups++
		i = j
		if i == len(t) {
			break
		}
		if t[i] != ':' {
			return false
		}
		i++
		if i < len(t) && t[i] == ':' {
			if compressed {
				return false
			}
			compressed = true
			i++
			if i == len(t) {
				break
			}
		} else if i == len(t) {
			return false
		}
	}
	if compressed {
		return groups < 8
	}
	return groups == 8
}

// ---- payment cards ----

const maxCardGroups = 8

// cardSeparators may stand between the digit groups of a card number.
const cardSeparators = " -._/"

func (sc *scanner) findCards(s string, dst []Match) []Match {
	n := len(s)
	for i := 0; i < n; {
		sc.steps++
		if !isDigit(s[i]) {
			i++
			continue
		}
		// Digit groups separated by a single separator.
		var gs, ge [maxCardGroups]int
		g := 0
		j := i
		for {
			sc.steps++
			st := j
			for j < n && isDigit(s[j]) {
				sc.steps++
				j++
			}
			if g < maxCardGroups {
				gs[g], ge[g] = st, j
				g++
			}
			if j+1 < n && strings.IndexByte(cardSeparators, s[j]) >= 0 && isDigit(s[j+1]) && g < maxCardGroups {
				j++
				continue
			}
			break
		}
		dst = sc.cardWindows(s, gs[:g], ge[:g], dst)
		i = j
	}
	return dst
}

// cardWindows tries, for each group that can start a card number, the
// longest run of whole groups holding 13 to 19 digits that passes the card
// checks.
func (sc *scanner) cardWindows(s string, gs, ge []int, dst []Match) []Match {
	for a := 0; a < len(gs); a++ {
		sc.steps++
		if len(gs) > 1 && ge[a]-gs[a] < 3 {
			continue
		}
		best := -1
		digits := 0
		for b := a; b < len(gs); b++ {
			sc.steps++
			if b > a && ge[b]-gs[b] < 3 {
				break
			}
			digits += ge[b] - gs[b]
			if digits > 19 {
				break
			}
			if digits >= 13 && sc.isCardNumber(s[gs[a]:ge[b]]) {
				best = b
			}
		}
		if best >= 0 {
			dst = append(dst, Match{gs[a], ge[best], CardNumber})
			a = best
		}
	}
	return dst
}

// IsCardNumber reports whether s, digits with optional single space or dash
// separators, has a payment card's length (13-19 digits), a card issuer's
// leading digit (2-6) and a valid Luhn check digit.
func IsCardNumber(s string) bool {
	var sc scanner
	return sc.isCardNumber(s)
}

func (sc *scanner) isCardNumber(s string) bool {
	digits := 0
	first := byte(0)
	for i := 0; i < len(s); i++ {
		sc.steps++
		if isDigit(s[i]) {
			if digits == 0 {
				first = s[i]
			}
			digits++
		}
	}
	if digits < 13 || digits > 19 || first < '2' || first > '6' {
		return false
	}
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		sc.steps++
		c := s[i]
		if !isDigit(c) {
			continue
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// ---- US social security numbers ----

// ssnSeparators may join the three parts of a social security number; both
// places hold the same one.
const ssnSeparators = "- ._/"

func (sc *scanner) findSSN(s string, dst []Match) []Match {
	n := len(s)
	for i := 0; i+11 <= n; {
		sc.steps++
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i
		for j < n && isDigit(s[j]) {
			sc.steps++
			j++
		}
		if j-i == 3 && ssnAt(s, i) {
			dst = append(dst, Match{i, i + 11, USSSN})
			i += 11
			continue
		}
		i = j
	}
	return dst
}

// ssnAt checks ddd?dd?dddd at s[i:], where s[i:i+3] are the only digits of
// their run, and the number's area, group and serial.
func ssnAt(s string, i int) bool {
	sep := s[i+3]
	if strings.IndexByte(ssnSeparators, sep) < 0 || s[i+6] != sep ||
		!isDigit(s[i+4]) || !isDigit(s[i+5]) ||
		!isDigit(s[i+7]) || !isDigit(s[i+8]) || !isDigit(s[i+9]) || !isDigit(s[i+10]) ||
		(i+11 < len(s) && (isDigit(s[i+11]) || s[i+11] == sep && i+12 < len(s) && isDigit(s[i+12]))) {
		return false
	}
	area := s[i : i+3]
	return area != "000" && area != "666" && area[0] != '9' && s[i+4:i+6] != "00" && s[i+7:i+11] != "0000"
}

// ---- JSON web tokens ----

func isB64URL(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

func (sc *scanner) findJWT(s string, dst []Match) []Match {
	for off := 0; off < len(s); {
		sc.steps++
		k := strings.Index(s[off:], "eyJ")
		if k < 0 {
			break
		}
		i := off + k
		off = i + 3
		if i > 0 && isB64URL(s[i-1]) {
			continue
		}
		j := i
		for j < len(s) && isB64URL(s[j]) {
			sc.steps++
			j++
		}
		if j-i < 10 || j >= len(s) || s[j] != '.' {
			continue
		}
		p := j + 1
		j = p
		for j < len(s) && isB64URL(s[j]) {
			sc.steps++
			j++
		}
		if j-p < 10 {
			continue
		}
		if j < len(s) && s[j] == '.' {
			j++
			for j < len(s) && isB64URL(s[j]) {
				sc.steps++
				j++
			}
		}
		dst = append(dst, Match{i, j, JWT})
		off = j
	}
	return dst
}

// ---- credentials: Authorization schemes and secret assignments ----

func isToken68(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '='
}

// secretWords end an identifier whose value is a secret ("password=...",
// "X-Api-Key: ...", "client_secret": "...").
var secretWords = []string{
	"password", "passwd", "pwd", "secret", "token", "apikey", "api_key", "api-key",
	"access_key", "secret_key", "private_key", "auth", "credential", "credentials",
	"authorization", "accountkey", "sharedaccesskey", "sharedaccesssignature",
	"signature", "sig",
}

// strongSecretWords end a secret's name even inside a word (PGPASSWORD,
// dbpassword, appsecret).
var strongSecretWords = []string{"password", "passwd", "secret"}

func (sc *scanner) findCredentials(s string, f uint16, dst []Match) []Match {
	if f&cSpace != 0 && f&(cB|cT) != 0 {
		dst = sc.findAuthSchemes(s, dst)
	}
	if f&(cEq|cColon) != 0 {
		dst = sc.findAssignments(s, dst)
	}
	return dst
}

func (sc *scanner) findAuthSchemes(s string, dst []Match) []Match {
	dst = sc.findAuthSchemesAfter(s, ' ', dst)
	if strings.IndexByte(s, '\t') >= 0 {
		dst = sc.findAuthSchemesAfter(s, '\t', dst)
	}
	return dst
}

// findAuthSchemesAfter looks at each blank and the scheme word before it.
func (sc *scanner) findAuthSchemesAfter(s string, blank byte, dst []Match) []Match {
	n := len(s)
	for off := 0; off < n; {
		sc.steps++
		k := strings.IndexByte(s[off:], blank)
		if k < 0 {
			break
		}
		p := off + k // the blank after the scheme word
		off = p + 1
		var basic bool
		var i int
		switch {
		case p >= 6 && hasFoldPrefix(s[p-6:], "bearer"):
			i = p - 6
		case p >= 5 && hasFoldPrefix(s[p-5:], "basic"):
			i, basic = p-5, true
		case p >= 5 && hasFoldPrefix(s[p-5:], "token"):
			i = p - 5
		default:
			continue
		}
		if i > 0 && isAlnum(s[i-1]) {
			continue
		}
		j := p
		for j < n && (s[j] == ' ' || s[j] == '\t') {
			sc.steps++
			j++
		}
		k2 := j
		special := false
		for k2 < n && isToken68(s[k2]) {
			sc.steps++
			if !isAlpha(s[k2]) {
				special = true
			}
			k2++
		}
		tok := s[j:k2]
		if len(tok) < 8 {
			continue
		}
		if basic {
			if !sc.basicCredentials(tok) {
				continue
			}
		} else if !special && len(tok) < 24 {
			continue
		}
		dst = append(dst, Match{j, k2, Credentials})
		off = k2
	}
	return dst
}

// basicCredentials reports whether tok is base64 of "user:password".
func (sc *scanner) basicCredentials(tok string) bool {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var buf uint32
	bits := 0
	for i := 0; i < len(tok); i++ {
		sc.steps++
		c := tok[i]
		if c == '=' {
			break
		}
		v := strings.IndexByte(enc, c)
		if v < 0 {
			return false
		}
		buf = buf<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			if byte(buf>>bits) == ':' {
				return true
			}
		}
	}
	return false
}

func isIdent(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' }

func (sc *scanner) findAssignments(s string, dst []Match) []Match {
	for _, op := range [...]byte{'=', ':'} {
		sc.steps++
		for off := 0; off < len(s); {
			sc.steps++
			k := strings.IndexByte(s[off:], op)
			if k < 0 {
				break
			}
			p := off + k
			off = p + 1
			if op == ':' && p+1 < len(s) && s[p+1] == ':' {
				off++
				continue
			}
			if start, end, ok := sc.assignmentAt(s, p); ok {
				dst = append(dst, Match{start, end, Credentials})
				off = end
			}
		}
	}
	return dst
}

// assignmentAt checks "secret-name<op>value" around the operator at p and
// returns the value's bounds.
func (sc *scanner) assignmentAt(s string, p int) (int, int, bool) {
	n := len(s)
	e := p
	for e > 0 && s[e-1] == ' ' {
		sc.steps++
		e--
	}
	if e > 0 && (s[e-1] == '"' || s[e-1] == '\'') {
		e--
	}
	b := e
	for b > 0 && isIdent(s[b-1]) {
		sc.steps++
		b--
	}
	if b == e || !sc.secretIdent(s[b:e]) {
		return 0, 0, false
	}
	v := p + 1
	for v < n && (s[v] == ' ' || s[v] == '\t') {
		sc.steps++
		v++
	}
	var quote byte
	if v < n && (s[v] == '"' || s[v] == '\'') {
		quote = s[v]
		v++
	}
	end := v
	if quote != 0 {
		for end < n && s[end] != quote && s[end] != '\n' {
			sc.steps++
			end++
		}
	} else {
		for end < n && !valueEnd(s[end]) {
			sc.steps++
			end++
		}
	}
	if end == v {
		return 0, 0, false
	}
	// "Authorization: Bearer x" is the scheme scanner's; a bare scheme
	// word is not the secret.
	if w := s[v:end]; hasFoldPrefix(w, "bearer") && len(w) == 6 || hasFoldPrefix(w, "basic") && len(w) == 5 || hasFoldPrefix(w, "token") && len(w) == 5 {
		return 0, 0, false
	}
	return v, end, true
}

func valueEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '&', ',', ';', ')', '}', ']', '<', '>', '|':
		return true
	}
	return false
}

// secretIdent reports whether ident ends with one of secretWords at a word
// boundary (separator or camelCase).
func (sc *scanner) secretIdent(ident string) bool {
	for _, w := range strongSecretWords {
		sc.steps++
		if hasFoldSuffix(ident, w) {
			return true
		}
	}
	for _, w := range secretWords {
		sc.steps++
		if !hasFoldSuffix(ident, w) {
			continue
		}
		k := len(ident) - len(w)
		if k == 0 {
			return true
		}
		prev, first := ident[k-1], ident[k]
		if prev == '_' || prev == '-' || prev == '.' {
			return true
		}
		if prev >= 'a' && prev <= 'z' && first >= 'A' && first <= 'Z' {
			return true
		}
	}
	return false
}

// ---- cloud and service keys ----

var awsPrefixes = []string{"AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "APKA"}

func (sc *scanner) findAWSKey(s string, dst []Match) []Match {
	n := len(s)
	for off := 0; off+20 <= n; {
		sc.steps++
		k := strings.IndexByte(s[off:n-19], 'A')
		if k < 0 {
			break
		}
		i := off + k
		off = i + 1
		if i > 0 && isAlnum(s[i-1]) {
			continue
		}
		ok := false
		for _, p := range awsPrefixes {
			sc.steps++
			if s[i:i+4] == p {
				ok = true
				break
			}
		}
		if !ok {
			continue
		}
		j := i + 4
		for j < i+20 && (isDigit(s[j]) || (s[j] >= 'A' && s[j] <= 'Z')) {
			sc.steps++
			j++
		}
		if j != i+20 || (j < n && isAlnum(s[j])) {
			continue
		}
		dst = append(dst, Match{i, j, AWSAccessKey})
		off = j
	}
	return dst
}

type keyShape struct {
	prefix string
	min    int  // shortest body after the prefix
	dots   bool // body may contain '.'
}

// keyShapes are prefixes of API keys and tokens issued by common services.
var keyShapes = []keyShape{
	{"sk-", 20, false},      // OpenAI, Anthropic and others
	{"sk_live_", 16, false}, // Stripe
	{"sk_test_", 16, false},
	{"rk_live_", 16, false},
	{"rk_test_", 16, false},
	{"ghp_", 30, false}, // GitHub
	{"gho_", 30, false},
	{"ghu_", 30, false},
	{"ghs_", 30, false},
	{"ghr_", 30, false},
	{"github_pat_", 30, false},
	{"glpat-", 20, false}, // GitLab
	{"xoxb-", 10, false},  // Slack
	{"xoxp-", 10, false},
	{"xoxa-", 10, false},
	{"xoxr-", 10, false},
	{"xoxs-", 10, false},
	{"xapp-", 10, false},
	// Google keys ("AIza") have no separator: see googleKey.
	{"npm_", 30, false},
	{"hf_", 30, false}, // Hugging Face
	{"ck-", 20, false}, // Chroma Cloud
	{"SG.", 20, true},  // SendGrid
	{"shpat_", 30, false},
	{"shpss_", 30, false},
	{"dop_v1_", 40, false},
	{"pypi-", 40, false},
	{"sq0atp-", 20, false},
	{"sq0csp-", 20, false},
}

// keyStart[c] is a bitset of the bytes that follow c in some prefix.
var keyStart = func() (t [256][4]uint64) {
	for _, k := range keyShapes {
		c1 := k.prefix[1]
		t[k.prefix[0]][c1>>6] |= 1 << (c1 & 63)
	}
	t['A']['I'>>6] |= 1 << ('I' & 63)
	return t
}()

// findAPIKey visits the start of every word.
func (sc *scanner) findAPIKey(s string, dst []Match) []Match {
	n := len(s)
	for i := 0; i+1 < n; {
		sc.steps++
		if !alnum[s[i]] {
			i++
			continue
		}
		c1 := s[i+1]
		if keyStart[s[i]][c1>>6]&(1<<(c1&63)) != 0 {
			shapes := keyShapes
			if s[i] == 'A' {
				shapes = googleKey
			}
			if end := sc.keyAt(s, i, shapes); end > 0 {
				dst = append(dst, Match{i, end, APIKey})
				i = end
				continue
			}
		}
		for i++; i < n && alnum[s[i]]; i++ {
			sc.steps++
		}
	}
	return dst
}

var googleKey = []keyShape{{"AIza", 30, false}}

// keyAt returns the end of a key of one of the shapes starting at s[i], or 0.
func (sc *scanner) keyAt(s string, i int, shapes []keyShape) int {
	for _, k := range shapes {
		sc.steps++
		if !strings.HasPrefix(s[i:], k.prefix) {
			continue
		}
		j := i + len(k.prefix)
		var digit, upper, lower bool
		for j < len(s) && (isB64URL(s[j]) || (k.dots && s[j] == '.')) {
			sc.steps++
			c := s[j]
			digit = digit || isDigit(c)
			upper = upper || (c >= 'A' && c <= 'Z')
			lower = lower || (c >= 'a' && c <= 'z')
			j++
		}
		body := j - i - len(k.prefix)
		if body >= k.min && (digit || (body >= 32 && upper && lower)) {
			return j
		}
		return 0
	}
	return 0
}

var alnum = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = isAlnum(byte(c))
	}
	return t
}()

// ---- PEM private keys ----

func (sc *scanner) findPrivateKey(s string, dst []Match) []Match {
	for off := 0; off < len(s); {
		sc.steps++
		k := strings.Index(s[off:], "-----BEGIN ")
		if k < 0 {
			break
		}
		i := off + k
		h := i + len("-----BEGIN ")
		he := strings.Index(s[h:], "-----")
		if he < 0 {
			break
		}
		label := s[h : h+he]
		off = h + he + 5
		if !strings.Contains(label, "PRIVATE KEY") {
			continue
		}
		end := len(s)
		if e := strings.Index(s[off:], "-----END "); e >= 0 {
			t := off + e + len("-----END ")
			if te := strings.Index(s[t:], "-----"); te >= 0 {
				end = t + te + 5
			}
		}
		dst = append(dst, Match{i, end, PrivateKey})
		off = end
	}
	return dst
}

// ---- URLs with user information ----

func (sc *scanner) findURLUserinfo(s string, dst []Match) []Match {
	for off := 0; off < len(s); {
		sc.steps++
		k := strings.Index(s[off:], "://")
		if k < 0 {
			break
		}
		i := off + k + 3
		j, at, query := i, -1, false
		for j < len(s) && !urlEnd(s[j]) {
			sc.steps++
			switch s[j] {
			case '@':
				if !query {
					at = j
				}
			case '?', '#':
				query = true
			}
			j++
		}
		off = j
		if at <= i {
			continue
		}
		info := s[i:at]
		if slash := strings.IndexByte(info, '/'); slash >= 0 && strings.IndexByte(info[:slash], ':') < 0 {
			continue
		}
		dst = append(dst, Match{i, at, URLUserinfo})
	}
	return dst
}

// findDSNUserinfo finds "user:password@" in a data source name without a
// scheme (Go's MySQL driver: user:password@tcp(host:3306)/db).
func (sc *scanner) findDSNUserinfo(s string, dst []Match) []Match {
	for off := 0; off < len(s); {
		sc.steps++
		k := strings.IndexByte(s[off:], '@')
		if k < 0 {
			break
		}
		at := off + k
		start := at
		for start > off && at-start < 256 && !dsnEnd(s[start-1]) {
			sc.steps++
			start--
		}
		off = at + 1
		if start > 0 && s[start-1] == '/' || at+1 >= len(s) || !isAlnum(s[at+1]) {
			continue
		}
		colon := strings.IndexByte(s[start:at], ':')
		if colon <= 0 || start+colon+1 == at || !sc.isIdentRun(s[start:start+colon]) {
			continue
		}
		dst = append(dst, Match{start, at, URLUserinfo})
	}
	return dst
}

func dsnEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '<', '>', '/', '@', '(', '=', ';', ',':
		return true
	}
	return false
}

func (sc *scanner) isIdentRun(s string) bool {
	for i := 0; i < len(s); i++ {
		sc.steps++
		if !isIdent(s[i]) {
			return false
		}
	}
	return true
}

func urlEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '<', '>':
		return true
	}
	return false
}

// ---- home directories ----

func pathEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '<', '>', '|', ',', ';', ')', ']', '}', 0:
		return true
	}
	return false
}

func (sc *scanner) findHomePath(s string, f uint16, dst []Match) []Match {
	if f&cSlash != 0 {
		dst = sc.findHomePathSep(s, '/', dst)
		dst = sc.findTildeHome(s, dst)
	}
	if f&cBackslash != 0 {
		dst = sc.findHomePathSep(s, '\\', dst)
	}
	return dst
}

func (sc *scanner) findHomePathSep(s string, sep byte, dst []Match) []Match {
	n := len(s)
	for off := 0; off < n; {
		sc.steps++
		k := strings.IndexByte(s[off:], sep)
		if k < 0 {
			break
		}
		i := off + k
		off = i + 1
		parent, ok := sc.homeParent(s, i, sep)
		if !ok {
			continue
		}
		rest := s[i+1:]
		var w int
		switch {
		case strings.HasPrefix(rest, "home") && len(rest) > 4 && rest[4] == sep:
			w = 5
		case hasFoldPrefix(rest, "users") && len(rest) > 5 && rest[5] == sep:
			w = 6
		case strings.HasPrefix(rest, "root") && len(rest) > 4 && rest[4] == sep:
			w = 5
		default:
			continue
		}
		u := i + 1 + w
		if u >= n || pathEnd(s[u]) || s[u] == sep {
			continue
		}
		start := parent
		if i >= 2 && s[i-1] == ':' && isAlpha(s[i-2]) && (i == 2 || !isAlnum(s[i-3])) {
			start = i - 2
		}
		end := u
		for end < n && !pathEnd(s[end]) {
			sc.steps++
			end++
		}
		dst = append(dst, Match{start, end, HomePath})
		off = end
	}
	return dst
}

// homeParents are the folders that hold home directories elsewhere than
// at the root: Fedora Atomic, Solaris, WSL's Windows drives, macOS's data
// volume.
var homeParents = []string{"/var", "/export", "/System/Volumes/Data"}

// homeParent returns where a path whose home folder's separator is at s[i]
// starts: at s[i] itself when nothing of a word comes before, or at a
// known parent folder (/var/home/u, /mnt/c/Users/u) that starts a path.
func (sc *scanner) homeParent(s string, i int, sep byte) (int, bool) {
	if i == 0 || !isAlnum(s[i-1]) {
		return i, true
	}
	if sep != '/' {
		return 0, false
	}
	start := -1
	for _, p := range homeParents {
		sc.steps++
		if strings.HasSuffix(s[:i], p) {
			start = i - len(p)
		}
	}
	if i >= 6 && strings.HasSuffix(s[:i-1], "/mnt/") && isAlpha(s[i-1]) {
		start = i - 6
	}
	return start, start == 0 || start > 0 && (pathEnd(s[start-1]) || s[start-1] == '=' || s[start-1] == ':')
}

// findTildeHome finds "~user" paths, whose start names a user.
func (sc *scanner) findTildeHome(s string, dst []Match) []Match {
	for off := 0; off < len(s); {
		sc.steps++
		k := strings.IndexByte(s[off:], '~')
		if k < 0 {
			break
		}
		i := off + k
		off = i + 1
		if i > 0 && !pathEnd(s[i-1]) && s[i-1] != '=' && s[i-1] != ':' || i+1 >= len(s) || !isAlpha(s[i+1]) {
			continue
		}
		u := i + 1
		for u < len(s) && (isAlnum(s[u]) || s[u] == '_' || s[u] == '-' || s[u] == '.') {
			sc.steps++
			u++
		}
		if u < len(s) && s[u] != '/' && !pathEnd(s[u]) {
			continue
		}
		end := u
		for end < len(s) && !pathEnd(s[end]) {
			sc.steps++
			end++
		}
		dst = append(dst, Match{i, end, HomePath})
		off = end
	}
	return dst
}

// ---- UUIDs ----

// findUUID finds UUIDs with dashes and without (32 hex digits standing
// alone, with letters and digits both).
func (sc *scanner) findUUID(s string, f uint16, dst []Match) []Match {
	if f&cDash != 0 && len(s) >= 36 {
		dst = sc.findDashedUUID(s, dst)
	}
	return sc.findBareUUID(s, dst)
}

func (sc *scanner) findBareUUID(s string, dst []Match) []Match {
	for i := 0; i < len(s); {
		sc.steps++
		if !isHex(s[i]) {
			i++
			continue
		}
		j, letters, digits := i, 0, 0
		for j < len(s) && isHex(s[j]) {
			sc.steps++
			if isDigit(s[j]) {
				digits++
			} else {
				letters++
			}
			j++
		}
		if j-i == 32 && letters > 0 && digits > 0 && (i == 0 || !isWord(s[i-1])) && (j == len(s) || !isWord(s[j])) {
			dst = append(dst, Match{i, j, UUID})
		}
		for j < len(s) && isWord(s[j]) {
			sc.steps++
			j++
		}
		i = j
	}
	return dst
}

func (sc *scanner) findDashedUUID(s string, dst []Match) []Match {
	n := len(s)
	for off := 0; off < n; {
		sc.steps++
		k := strings.IndexByte(s[off:], '-')
		if k < 0 {
			break
		}
		p := off + k
		off = p + 1
		i := p - 8
		if i < 0 || i+36 > n || !sc.uuidAt(s[i:i+36]) {
			continue
		}
		dst = append(dst, Match{i, i + 36, UUID})
		off = i + 36
	}
	return dst
}

func (sc *scanner) uuidAt(u string) bool {
	for j := 0; j < 36; j++ {
		sc.steps++
		switch j {
		case 8, 13, 18, 23:
			if u[j] != '-' {
				return false
			}
		default:
			if !isHex(u[j]) {
				return false
			}
		}
	}
	return true
}
