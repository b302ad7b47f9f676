//go:build windows

package sockets

// mage passes pipes and files between processes over Unix-domain sockets
// with SCM_RIGHTS, which Windows does not offer. Building for Windows stops
// here, with an error that says so, instead of at the first missing
// syscall.
var _ = mage_requires_unix_domain_sockets_windows_is_not_supported
