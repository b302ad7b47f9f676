//go:build race

package mage_test

// raceAllocSlack is what the allocation tests allow per operation over
// their counts under the race detector: its runtime allocates more, and a
// race-enabled build poisons the pooled messages given back instead of
// pooling them (mage/poison_race.go), so that every message received or
// from NewMessage is made afresh (measured: 2 per round trip between two
// nodes, 1 per caller to a child, 5 more per typed round trip across two
// nodes, which also pays for the race detector's sync.Pool dropping a
// share of the Encoders on purpose).
const raceAllocSlack = 3

// raceMediumAllocSlack is what they allow more for a medium payload (more
// than mage.MaxInlinePayload bytes), whose pooled buffer a race-enabled
// build poisons too: one made afresh per message on each side.
const raceMediumAllocSlack = 2
