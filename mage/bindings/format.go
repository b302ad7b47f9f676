package bindings

// The payload format of the typed bindings. docs/magen.md describes it in
// prose; bindings_format_test.go pins every constant.
//
// A request's payload is its parameters in declaration order, after an
// 8-byte timeout when the header has flagTimeout; a reply's is a status
// byte, then the results in declaration order (status OK), one string, the
// implementation's error text (status error), or a 4-byte code and a
// string (status coded error). Parameters and results added by a later
// version of the interface ([MinVersion=N]) follow the older ones; the
// header's version bits say which are present (control.go). Values are:
//
//	bool          1 byte, 0 or 1
//	char          1 byte
//	int           4 bytes, little-endian two's complement
//	long          8 bytes, little-endian two's complement
//	double        8 bytes, little-endian IEEE 754 bits
//	string bytes  4-byte little-endian length, then that many bytes
//	array<T>      4-byte little-endian count, then each element
//	MessagePipe,  4-byte little-endian index into the message's Pipes
//	pending_*<I>  (noIndex for none)
//	handle        4-byte little-endian index into the message's Handles
//	              (noIndex for none)
//
// Indexes must count up from 0 in the order the values appear, and every
// attached pipe and handle must be used exactly once. There is no padding
// and nothing may follow the last value.
const (
	// noIndex is the index of an absent pipe or handle (an invalid
	// MessagePipe, a nil *os.File).
	noIndex uint32 = 0xFFFFFFFF

	// replyOK starts the payload of a reply that carries results.
	replyOK byte = 0
	// replyError starts the payload of a reply that carries the
	// implementation's error text instead.
	replyError byte = 1
	// replyCodedError starts the payload of a reply that carries a *Error:
	// a 4-byte code, then the message as a string.
	replyCodedError byte = 2

	// maxErrorText bounds the error text a reply carries, in bytes; longer
	// text is cut.
	maxErrorText = 4096

	// maxLen is the largest length or count the format can carry.
	maxLen = 0xFFFFFFFF
)
