//go:build race

package multinode

// copyMessages is scaled down under the race detector, which makes the
// pure-Go SQLite of this process (filling and reading the ledgers) about
// ten times slower; without -race the test moves the 100,000.
const copyMessages = 25_000

// realRecords of them are written through the store API; the rest in bulk.
const realRecords = 500
