package registry

import "testing"

type named string

func (n named) MethodName(ordinal uint32) string { return string(n) }

func TestFirstRegisteredWins(t *testing.T) {
	const fp = 0x7e570001
	if got := Register(fp, named("first")); got != named("first") {
		t.Fatalf("Register = %v", got)
	}
	if got := Register(fp, named("second")); got != named("first") {
		t.Fatalf("a second Register under one fingerprint kept %v", got)
	}
	if got := MethodName(fp, 3); got != "first" {
		t.Errorf("MethodName = %q", got)
	}
	if got := MethodName(0x7e570002, 7); got != "interface 0x7e570002 method 7" {
		t.Errorf("MethodName of an unknown fingerprint = %q", got)
	}
	if _, ok := Lookup(0x7e570002); ok {
		t.Error("Lookup found an unregistered fingerprint")
	}
}
