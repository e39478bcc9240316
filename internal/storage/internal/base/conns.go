package base

// IdleConnsPerHost is how many idle connections each remote backend keeps
// open to its endpoint: more than the requests a restore keeps waiting at
// once (32), so that a restore reuses its connections instead of opening
// (and, over TLS, negotiating) most of them again for every block. The SDKs'
// defaults keep 2 or 10.
const IdleConnsPerHost = 64
