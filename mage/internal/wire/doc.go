// Package wire is the frame codec of mage: the bytes two nodes exchange
// over a channel.
//
// Every frame is a 16-byte header followed by a body whose layout depends on
// the frame type. All integers are little-endian, every frame length is a
// multiple of 8, and a frame never exceeds MaxFrameSize. docs/protocol.md
// describes every byte; wire.go holds the same numbers as constants, and
// wire_test.go pins each one.
//
// Decoding is strict: every length, count, offset, name, flag bit, reserved
// field and padding byte is checked, so that a frame decodes only if it is
// the one canonical encoding of its value. Re-encoding a decoded frame gives
// back the same bytes. Decode never panics, whatever the input; it reports
// problems as a *DecodeError that matches one of the sentinel errors with
// errors.Is.
//
// Encoding appends to a caller-owned buffer (AppendUser, AppendHello, ...)
// and allocates nothing beyond growing that buffer. The Append functions
// panic on a value that cannot be encoded (a limit exceeded, a zero name);
// values built from untrusted or user-sized data should be checked with
// their Validate method first.
//
// The package knows nothing of sockets, ports or nodes beyond their names:
// OS handles (file descriptors) travel beside the bytes, and a frame only
// says how many belong to it (Header.NumHandles).
package wire
