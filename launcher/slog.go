package launcher

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// maxStructuredFields bounds the keys of a structured line that is
// re-emitted with its keys: a line with more is logged as it is. A line is
// at most maxStderrLine bytes already; this bounds the work and the size
// of the entry the parent's logger builds from it.
const maxStructuredFields = 128

// slogReserved are the keys of a log/slog handler's line that become the
// entry's level and message, or are dropped because the parent's logger
// writes its own time.
var slogReserved = map[string]bool{
	"time":  true,
	"level": true,
	"msg":   true,
}

// parseSlogLevel reads a level as log/slog writes it: DEBUG, INFO, WARN or
// ERROR, maybe with an offset ("INFO+2", "DEBUG-4"), and maps it to the
// hclog level whose band it falls in: below DEBUG is Trace, from DEBUG to
// INFO Debug, and so on up to Error from ERROR. The names are matched
// without regard to case, so that the lines of other JSON loggers that use
// the same keys (level, msg) are understood too; "warning", "trace",
// "fatal" and "panic" are accepted for them.
func parseSlogLevel(s string) (hclog.Level, bool) {
	name, offset := s, 0
	if i := strings.IndexAny(s, "+-"); i > 0 {
		n, err := strconv.Atoi(s[i:])
		// slog's offsets are small; a huge one is not a level.
		if err != nil || n < -100 || n > 100 {
			return 0, false
		}
		name, offset = s[:i], n
	}
	var base int
	switch strings.ToUpper(name) {
	case "TRACE":
		base = -8
	case "DEBUG":
		base = -4
	case "INFO":
		base = 0
	case "WARN", "WARNING":
		base = 4
	case "ERROR", "FATAL", "PANIC", "DPANIC":
		base = 8
	default:
		return 0, false
	}
	switch v := base + offset; {
	case v < -4:
		return hclog.Trace, true
	case v < 0:
		return hclog.Debug, true
	case v < 4:
		return hclog.Info, true
	case v < 8:
		return hclog.Warn, true
	default:
		return hclog.Error, true
	}
}

// errNotStructured says a line is not the kind a parser looked for.
var errNotStructured = errors.New("launcher: not a structured log line")

// parseSlogJSON recognises a line written by log/slog's JSON handler: a
// JSON object with a string "msg" and a string "level" that parseSlogLevel
// understands. It returns the entry's level and message and the other keys
// as key/value pairs in the order the line had them ("time" is dropped:
// the parent's logger stamps its own). Nested objects (slog groups) are
// kept as values.
func parseSlogJSON(line []byte) (hclog.Level, string, []any, bool) {
	if len(line) == 0 || line[0] != '{' {
		return 0, "", nil, false
	}
	fields, err := decodeObjectInOrder(line)
	if err != nil {
		return 0, "", nil, false
	}
	var (
		msg, levelName string
		hasMsg, hasLvl bool
	)
	args := make([]any, 0, len(fields))
	for i := 0; i < len(fields); i += 2 {
		key := fields[i].(string)
		switch key {
		case "msg":
			msg, hasMsg = fields[i+1].(string)
		case "level":
			levelName, hasLvl = fields[i+1].(string)
		}
		if !slogReserved[key] {
			args = append(args, key, fields[i+1])
		}
	}
	if !hasMsg || !hasLvl {
		return 0, "", nil, false
	}
	level, ok := parseSlogLevel(levelName)
	if !ok {
		return 0, "", nil, false
	}
	return level, msg, args, true
}

// decodeObjectInOrder decodes one JSON object that is the whole of line
// into its keys and values, alternating, in order. Numbers stay
// json.Number, so that nothing is rounded on the way through.
func decodeObjectInOrder(line []byte) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errNotStructured
	}
	var fields []any
	for dec.More() {
		if len(fields) == 2*maxStructuredFields {
			return nil, errNotStructured
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, errNotStructured
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errNotStructured
		}
		var value any
		if err := dec.Decode(&value); err != nil {
			return nil, errNotStructured
		}
		fields = append(fields, key, value)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errNotStructured
	}
	// Nothing but spaces may follow the object.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errNotStructured
	}
	return fields, nil
}

// parseSlogText recognises a line written by log/slog's text handler:
// key=value pairs separated by spaces, a value quoted as Go quotes strings
// when it needs to be, beginning with time= or level= and holding level=
// and msg=. It returns what parseSlogJSON does; every value is a string.
func parseSlogText(line []byte) (hclog.Level, string, []any, bool) {
	if !bytes.HasPrefix(line, []byte("time=")) && !bytes.HasPrefix(line, []byte("level=")) {
		return 0, "", nil, false
	}
	pairs, ok := splitLogfmt(string(line))
	if !ok {
		return 0, "", nil, false
	}
	var (
		msg, levelName string
		hasMsg, hasLvl bool
	)
	args := make([]any, 0, len(pairs))
	for i := 0; i < len(pairs); i += 2 {
		switch pairs[i] {
		case "msg":
			msg, hasMsg = pairs[i+1], true
		case "level":
			levelName, hasLvl = pairs[i+1], true
		}
		if !slogReserved[pairs[i]] {
			args = append(args, pairs[i], pairs[i+1])
		}
	}
	if !hasMsg || !hasLvl {
		return 0, "", nil, false
	}
	level, ok := parseSlogLevel(levelName)
	if !ok {
		return 0, "", nil, false
	}
	return level, msg, args, true
}

// splitLogfmt splits s into keys and values, alternating. A key runs to
// '='; a value is a Go-quoted string or runs to the next space. Anything
// else (a key with no '=', an unterminated quote, too many pairs) is not
// such a line.
func splitLogfmt(s string) ([]string, bool) {
	var out []string
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return out, len(out) > 0
		}
		if len(out) == 2*maxStructuredFields {
			return nil, false
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || strings.ContainsAny(s[:eq], " \"") {
			return nil, false
		}
		key := s[:eq]
		s = s[eq+1:]
		var value string
		if strings.HasPrefix(s, `"`) {
			quoted, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, false
			}
			if value, err = strconv.Unquote(quoted); err != nil {
				return nil, false
			}
			s = s[len(quoted):]
			if s != "" && s[0] != ' ' {
				return nil, false
			}
		} else {
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			value, s = s[:end], s[end:]
		}
		out = append(out, key, value)
	}
}
