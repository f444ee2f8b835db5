//go:build !race

package multinode

// copyMessages is the size of the ledger TestStoreCopy moves: the issue's
// 100,000 messages.
const copyMessages = 100_000

// realRecords of them are written through the store API; the rest in bulk.
const realRecords = 2_000
