// Package reconnectnode is a program for the mage-run scenario of a
// reconnecting Remote (testdata/scripts-reconnect): a server that dies in
// the middle of a call and is restarted, and a client that keeps a
// bindings.Reconnecting to it through supervisor.Redial. The tests of
// cmd/mage-run run it as their own test binary.
package reconnectnode
