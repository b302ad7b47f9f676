package main

import (
	"regexp"
	"runtime/debug"
	"strings"
)

// magenModule is the module magen is part of.
const magenModule = "github.com/mage-ipc/mage"

// magenVersion is the version recorded in generated headers: the mage
// module's release version when magen was built from one (a user's
// `go tool magen` of a tagged mage), else "(devel)". Pseudo-versions and
// VCS stamps are left out on purpose: they change with every commit, and
// committed generated files would then go stale without any change in
// what magen writes.
func magenVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	v := info.Main.Version
	if info.Main.Path != magenModule {
		v = ""
		for _, dep := range info.Deps {
			if dep.Path == magenModule {
				v = dep.Version
				if dep.Replace != nil {
					v = "" // a local or forked copy: its version says nothing
				}
			}
		}
	}
	return releaseVersion(v)
}

var (
	// release matches a semantic version without build metadata.
	release = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)
	// pseudo matches the timestamp and commit of a pseudo-version
	// (v0.0.0-20260101120000-0123456789ab, v1.2.4-0.20260101120000-0123456789ab).
	pseudo = regexp.MustCompile(`[-.][0-9]{14}-[0-9a-f]{12}$`)
)

// releaseVersion is v when it is a release (v1.2.3, v1.2.3-rc.1), else
// "(devel)".
func releaseVersion(v string) string {
	if !release.MatchString(v) || pseudo.MatchString(v) {
		return "(devel)"
	}
	return v
}

// commandLine is the invocation recorded in generated headers, as a shell
// would take it: "magen" and the arguments, each quoted if it needs it.
func commandLine(args []string) string {
	parts := append([]string{"magen"}, args...)
	for i, a := range parts {
		parts[i] = shellQuote(a)
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// letters, digits and -_./=+:,@.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=+:,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
