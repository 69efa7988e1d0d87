package schema

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestParseKeys: keys match exactly, and an unknown one is named with its
// line, where it is and the nearest valid key.
func TestParseKeys(t *testing.T) {
	for _, tt := range []struct {
		name, json string
		want       []string
	}{
		{"unknown top-level key", "{\n\"customerEntity\": \"C\",\n\"foo\": 1}",
			[]string{`foo: line 3: unknown key "foo" in the schema object`}},
		{"case differs", `{"CUSTOMERENTITY": "C"}`,
			[]string{`CUSTOMERENTITY: line 1: unknown key "CUSTOMERENTITY" in the schema object; keys are case-sensitive (did you mean customerEntity?)`}},
		{"typo in an attribute", "{\"customerEntity\": \"C\", \"entities\": [\n{\"name\": \"C\", \"key\": \"Id\", \"attributes\": [\n{\"name\": \"Id\", \"typ\": \"integer\"}]}]}",
			[]string{`entities[0].attributes[0].typ: line 3: unknown key "typ" in entities[0].attributes[0] (did you mean type?)`}},
		{"in a relationship endpoint", `{"relationships": [{"name": "R", "from": {"entity": "A", "atribute": "B"}}]}`,
			[]string{`relationships[0].from.atribute: line 1: unknown key "atribute" in relationships[0].from (did you mean attribute?)`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.json))
			require.ErrorIs(t, err, ErrSyntax)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
	// Measures are kept as written: their keys are the segment package's.
	_, err := Parse([]byte(`{"customerEntity": "C", "entities": [{"name": "C", "key": "Id", "attributes": [{"name": "Id", "type": "integer"}]}],
	  "measures": [{"anything": 1}]}`))
	require.NotErrorIs(t, err, ErrSyntax)
}

// TestParseText: a leading byte order mark is skipped; a second one, and
// bytes that are not UTF-8, are problems that say so.
func TestParseText(t *testing.T) {
	const ok = `{"customerEntity": "C", "entities": [{"name": "C", "key": "Id", "attributes": [{"name": "Id", "type": "integer"}]}]}`
	s, err := Parse([]byte("\xEF\xBB\xBF" + ok))
	require.NoError(t, err)
	require.Equal(t, "C", s.CustomerEntity)

	_, err = Parse([]byte("\xEF\xBB\xBF\xEF\xBB\xBF" + ok))
	require.ErrorIs(t, err, ErrSyntax)
	require.Contains(t, err.Error(), "line 1: a byte order mark (U+FEFF)")

	_, err = Parse([]byte(strings.Replace(ok, `"C"`, "\"C\xff\"", 1)))
	require.ErrorIs(t, err, ErrSyntax)
	require.Contains(t, err.Error(), "line 1, column 22: byte 0xff is not UTF-8")
}

// widening returns a schema of hops levels of two entities each, each
// linked to both of the level above by two relationships: 2^hops paths
// from the bottom to the customer.
func widening(hops int) string {
	var ents, rels []string
	ent := func(name string) {
		ents = append(ents, fmt.Sprintf(`{"name": %q, "key": "Id", "attributes": [{"name": "Id", "type": "integer"}, {"name": "U", "type": "integer"}, {"name": "V", "type": "integer"}]}`, name))
	}
	ent("C")
	up := "C"
	for i := range hops {
		e := fmt.Sprintf("E%d", i)
		ent(e)
		rels = append(rels,
			fmt.Sprintf(`{"name": "%sU", "from": {"entity": %q, "attribute": "U"}, "to": {"entity": %q, "attribute": "Id"}}`, e, e, up),
			fmt.Sprintf(`{"name": "%sV", "from": {"entity": %q, "attribute": "V"}, "to": {"entity": %q, "attribute": "Id"}}`, e, e, up))
		up = e
	}
	return `{"customerEntity": "C", "entities": [` + strings.Join(ents, ",") + `], "relationships": [` + strings.Join(rels, ",") + `]}`
}

// TestPathsCounted: a schema whose paths multiply is refused at once, by
// counting them: 2^40 paths would never be listed.
func TestPathsCounted(t *testing.T) {
	start := time.Now()
	_, err := Parse([]byte(widening(40)))
	require.ErrorIs(t, err, ErrLimit)
	require.Contains(t, err.Error(), "entity E6 reaches C by more than 64 relationship paths; at most 64 are allowed")
	require.Less(t, len(err.Error()), 64<<10, "the message is bounded")
	require.Less(t, time.Since(start), 10*time.Second, "counting is linear") // a bound far above the milliseconds it takes

	s, err := Parse([]byte(widening(6)))
	require.NoError(t, err)
	require.Len(t, s.Paths("E5"), 64)
}

// TestAttributeLimit: more than MaxAttributes attributes is one problem.
func TestAttributeLimit(t *testing.T) {
	attrs := []string{`{"name": "Id", "type": "integer"}`}
	for i := range MaxAttributes {
		attrs = append(attrs, fmt.Sprintf(`{"name": "A%d", "type": "integer"}`, i))
	}
	_, err := Parse([]byte(`{"customerEntity": "C", "entities": [{"name": "C", "key": "Id", "attributes": [` + strings.Join(attrs, ",") + `]}]}`))
	require.ErrorIs(t, err, ErrLimit)
	require.Contains(t, err.Error(), `entity "C" has 10,001 attributes; at most 10,000 are allowed`)
}
