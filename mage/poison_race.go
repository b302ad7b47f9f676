//go:build race

package mage

// poisonRecycled makes a race-enabled build poison the pooled messages
// given back (messageBlock.poison) instead of pooling them, so that the
// tests, which run with -race, catch a use after Release or after
// WriteMessage: the race detector sees a data race only when a reused
// block meets a stale reader at the same time, a poisoned header always.
const poisonRecycled = true
