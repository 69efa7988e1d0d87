package segment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/internal/jsonin"
)

// The parser reads JSON into a small ordered tree first, rather than into
// structs, so that it can report every problem with its path: unknown and
// duplicate keys, wrong JSON types, keys of two condition forms.

// MaxDepth bounds the nesting of arrays and objects, so that no input can
// make the parser, the validator or the printer recurse without limit;
// MaxDefinitionBytes, MaxDefinitionValues and MaxNumberLength bound the
// rest of what decodeJSON reads.

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

// jval is one JSON value; objects keep their keys in input order.
type jval struct {
	kind jkind
	b    bool
	num  json.Number
	str  string
	arr  []*jval
	obj  []jmember
}

type jmember struct {
	key string
	val *jval
}

// describe names the value's JSON type, with the value for scalars, for
// messages such as "must be a string, not number 5".
func (v *jval) describe() string {
	switch v.kind {
	case jNull:
		return "null"
	case jBool:
		return "boolean " + strconv.FormatBool(v.b)
	case jNumber:
		return "number " + clip(string(v.num))
	case jString:
		return "string " + clip(quoteJSON(v.str))
	case jArray:
		return "an array"
	default:
		return "an object"
	}
}

// clip shortens s for a message.
func clip(s string) string { return exact.Clip(s) }

// appendJSON writes v as compact JSON.
func (v *jval) appendJSON(b []byte) []byte {
	switch v.kind {
	case jNull:
		return append(b, "null"...)
	case jBool:
		return strconv.AppendBool(b, v.b)
	case jNumber:
		return append(b, v.num...)
	case jString:
		return appendString(b, v.str)
	case jArray:
		b = append(b, '[')
		for i, e := range v.arr {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.appendJSON(b)
		}
		return append(b, ']')
	default:
		b = append(b, '{')
		for i, m := range v.obj {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m.key)
			b = append(b, ':')
			b = m.val.appendJSON(b)
		}
		return append(b, '}')
	}
}

var (
	errTooDeep     = errors.New("too deeply nested")
	errTooMany     = errors.New("too many values")
	errLongNumber  = errors.New("number too long")
	errTrailing    = errors.New("unexpected data after the first value")
	errorsOfLimits = []error{errTooDeep, errTooMany, errLongNumber}
)

// decodeJSON reads data as exactly one JSON value. A UTF-8 byte order mark
// at the start is skipped (editors on Windows write one); anywhere else it
// is a problem, as are bytes that are not UTF-8 (encoding/json would read
// them as U+FFFD, silently). On malformed JSON it returns a problem whose
// message gives the line and column; beyond a limit, an ErrLimit problem.
func decodeJSON(data []byte) (*jval, *diag.Problem) {
	if len(data) > MaxDefinitionBytes {
		return nil, &diag.Problem{Err: ErrLimit, Message: fmt.Sprintf(
			"the definition is %s bytes; at most %s (1 MiB) are allowed",
			exact.FormatCount(len(data)), exact.FormatCount(MaxDefinitionBytes))}
	}
	data, err := jsonin.Text(data)
	if err != nil {
		return nil, &diag.Problem{Err: ErrSyntax, Message: "invalid JSON at " + err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	r := reader{dec: dec}
	v, err := r.read(0)
	if err == nil {
		_, err = dec.Token()
		if err == io.EOF {
			return v, nil
		}
		if err == nil {
			err = errTrailing
		}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &diag.Problem{Err: ErrSyntax, Message: "invalid JSON: the input is empty"}
	}
	for _, limit := range errorsOfLimits {
		if !errors.Is(err, limit) {
			continue
		}
		line, col := position(data, dec.InputOffset())
		var what string
		switch limit {
		case errTooDeep:
			what = fmt.Sprintf("nested more than %d levels deep", MaxDepth)
		case errTooMany:
			what = fmt.Sprintf("more than %s JSON values", exact.FormatCount(MaxDefinitionValues))
		default:
			what = fmt.Sprintf("a number of more than %d characters", MaxNumberLength)
		}
		return nil, &diag.Problem{Err: ErrLimit,
			Message: fmt.Sprintf("the definition is beyond a limit at line %d, column %d: %s", line, col, what)}
	}
	// The token reader's error offsets are not always where the problem
	// is; a full scan's are.
	var x any
	var se *json.SyntaxError
	if errors.As(json.Unmarshal(data, &x), &se) {
		line, col := position(data, se.Offset)
		msg := se.Error()
		if jsonin.BOMAt(data, int(se.Offset-1)) {
			msg = jsonin.BOMMessage
		}
		return nil, &diag.Problem{Err: ErrSyntax,
			Message: fmt.Sprintf("invalid JSON at line %d, column %d: %s", line, col, msg)}
	}
	return nil, &diag.Problem{Err: ErrSyntax, Message: "invalid JSON: " + err.Error()}
}

// position converts a decoder offset, the number of bytes read when the
// problem was found, to the 1-based line and column of the last byte read.
func position(data []byte, offset int64) (line, col int) {
	pos := int(min(max(offset-1, 0), int64(len(data))))
	before := data[:pos]
	line = bytes.Count(before, []byte("\n")) + 1
	col = pos - bytes.LastIndexByte(before, '\n')
	return line, col
}

// reader reads JSON values from dec, counting them against
// MaxDefinitionValues.
type reader struct {
	dec    *json.Decoder
	values int
}

func (r *reader) read(depth int) (*jval, error) {
	dec := r.dec
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if r.values++; r.values > MaxDefinitionValues {
		return nil, errTooMany
	}
	switch t := tok.(type) {
	case nil:
		return &jval{kind: jNull}, nil
	case bool:
		return &jval{kind: jBool, b: t}, nil
	case json.Number:
		if len(t) > MaxNumberLength {
			return nil, errLongNumber
		}
		return &jval{kind: jNumber, num: t}, nil
	case string:
		return &jval{kind: jString, str: t}, nil
	case json.Delim:
		if depth >= MaxDepth {
			return nil, errTooDeep
		}
		switch t {
		case '[':
			v := &jval{kind: jArray}
			for dec.More() {
				e, err := r.read(depth + 1)
				if err != nil {
					return nil, err
				}
				v.arr = append(v.arr, e)
			}
			_, err := dec.Token() // ']'
			return v, err
		case '{':
			v := &jval{kind: jObject}
			for dec.More() {
				ktok, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := ktok.(string)
				if !ok {
					return nil, fmt.Errorf("object key is not a string")
				}
				e, err := r.read(depth + 1)
				if err != nil {
					return nil, err
				}
				v.obj = append(v.obj, jmember{key: key, val: e})
			}
			_, err := dec.Token() // '}'
			return v, err
		}
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// appendString writes s as a JSON string exactly as encoding/json does
// (HTML characters escaped), so that MarshalJSON and json.Marshal give the
// same bytes.
func appendString(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil {
		panic("BUG: encoding a string: " + err.Error())
	}
	return append(b, q...)
}

// quoteJSON returns s as a JSON string for printing: like appendString,
// but with "<", ">" and "&" left readable.
func quoteJSON(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic("BUG: encoding a string: " + err.Error())
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}
