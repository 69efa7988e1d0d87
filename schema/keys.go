package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/segmentkit/segmentkit/diag"
)

// checkKeys reports every object key of data, a schema.json, that is not a
// JSON field of the Go type it is read into (rawSchema), with its path,
// its line and the nearest valid key. Keys match exactly: encoding/json
// alone would accept "CUSTOMERENTITY" for "customerEntity" (it folds
// case) and say only `unknown field "foo"` of an unknown one. Malformed
// JSON is left to the decoder, which says where it is; checkKeys then
// returns what it found before it.
func checkKeys(data []byte, t reflect.Type) diag.List {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	k := keyChecker{data: data, dec: dec}
	k.value("", t)
	return k.l
}

type keyChecker struct {
	data []byte
	dec  *json.Decoder
	l    diag.List
	bad  bool // the JSON is malformed: stop
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// value reads one JSON value that is read into a value of type t.
func (k *keyChecker) value(path string, t reflect.Type) {
	if k.bad {
		return
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := k.dec.Token()
	if err != nil {
		k.bad = true
		return
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return // a scalar: its type is the decoder's to check
	}
	switch d {
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t != rawMessageType {
			elem = t.Elem()
		}
		for i := 0; k.dec.More() && !k.bad; i++ {
			k.value(fmt.Sprintf("%s[%d]", path, i), elem)
		}
	case '{':
		var fields map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		}
		for k.dec.More() && !k.bad {
			offset := k.dec.InputOffset()
			tok, err := k.dec.Token()
			if err != nil {
				k.bad = true
				return
			}
			key, _ := tok.(string)
			at := key
			if path != "" {
				at = path + "." + key
			}
			ft, known := fields[key]
			if fields != nil && !known {
				names := make([]string, 0, len(fields))
				for n := range fields {
					names = append(names, n)
				}
				// The offset is where the value before ended: the key is
				// at the next quote.
				for offset < int64(len(k.data)) && k.data[offset] != '"' {
					offset++
				}
				p := k.l.AddSuggest(at, ErrSyntax, key, names, "line %d: unknown key %s%s",
					lineOf(k.data, offset+1), quoteKey(key), where(path))
				if exact := caseMatch(key, names); exact != "" {
					p.Suggestion = exact
					p.Message += "; keys are case-sensitive"
				}
			}
			k.value(at, ft)
		}
	}
	if _, err := k.dec.Token(); err != nil { // the closing ] or }
		k.bad = true
	}
}

// where names the object a key is in, for messages.
func where(path string) string {
	if path == "" {
		return " in the schema object"
	}
	return " in " + path
}

// quoteKey quotes a key as JSON writes it, cut for a message.
func quoteKey(key string) string {
	b, _ := json.Marshal(key)
	s := string(b)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// caseMatch returns the name that equals key but for case, or "".
func caseMatch(key string, names []string) string {
	for _, n := range names {
		if strings.EqualFold(n, key) {
			return n
		}
	}
	return ""
}

// jsonFields returns the JSON names of t's fields, as encoding/json reads
// them, with each field's type; a json.RawMessage field's type is nil (its
// value is kept as written).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		ft := f.Type
		if ft == rawMessageType {
			ft = nil
		}
		out[name] = ft
	}
	return out
}
