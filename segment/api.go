package segment

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
)

// Sentinel errors for the kinds of definition problems. Every problem that
// Parse or Validate reports wraps one of them; test with errors.Is.
var (
	// ErrSyntax: the JSON is malformed, a key is unknown, duplicated or
	// missing, a JSON value has the wrong type, or a node is missing.
	ErrSyntax = diag.NewSentinel("segment.syntax", "definition syntax")
	// ErrUnknownEntity: a name refers to no entity of the schema. It is
	// schema.ErrUnknownEntity, the same kind in a schema and in a
	// definition: errors.Is matches either name.
	ErrUnknownEntity = schema.ErrUnknownEntity
	// ErrUnknownAttribute: a name refers to no attribute (or measure), or
	// is not written as "Entity.Attribute". It is
	// schema.ErrUnknownAttribute: errors.Is matches either name.
	ErrUnknownAttribute = schema.ErrUnknownAttribute
	// ErrUnknownOperator: an operator name is not one of FORMAT.md's, or a
	// predicate has none.
	ErrUnknownOperator = diag.NewSentinel("segment.unknown_operator", "unknown operator")
	// ErrOperatorType: an operator, or ignoreCase, does not apply to the
	// type of what it compares.
	ErrOperatorType = diag.NewSentinel("segment.operator_type", "operator not allowed for the type")
	// ErrValue: a value is missing, present where none is taken, or not of
	// the form and type the operator needs.
	ErrValue = diag.NewSentinel("segment.value", "invalid value")
	// ErrPath: a related entity has no relationship path to the customer
	// entity, several where one is needed, or a given path is not one.
	ErrPath = diag.NewSentinel("segment.path", "invalid relationship path")
	// ErrWhere: a related condition's where holds something other than
	// and, or, not and predicates on the related entity.
	ErrWhere = diag.NewSentinel("segment.where", "invalid where")
	// ErrAggregate: a related condition or measure mixes match and
	// aggregate, or its aggregate function, attribute, orderBy or comparison
	// does not fit.
	ErrAggregate = diag.NewSentinel("segment.aggregate", "invalid aggregate")
	// ErrEmpty: an and or or has no conditions.
	ErrEmpty = diag.NewSentinel("segment.empty", "empty condition list")
	// ErrGroups: a definition has no group, or a group's setOperator is
	// missing, unknown or given on the first group.
	ErrGroups = diag.NewSentinel("segment.groups", "invalid groups")
	// ErrName: a segment or measure name is not 1 to 128 letters, digits,
	// '_' and '-'.
	ErrName = diag.NewSentinel("segment.name", "invalid name")
	// ErrUnknownSegment: a segment reference names no existing segment.
	ErrUnknownSegment = diag.NewSentinel("segment.unknown_segment", "unknown segment")
	// ErrSegmentCycle: segment references form a cycle, such as a
	// definition that references itself.
	ErrSegmentCycle = diag.NewSentinel("segment.reference_cycle", "segment reference cycle")
	// ErrMeasure: a schema's measures are not well formed together, such
	// as two measures with the same name.
	ErrMeasure = diag.NewSentinel("segment.measure", "invalid measure")
	// ErrLimit: a definition exceeds one of the limits below (its size in
	// bytes, its number of JSON values, its nesting, the length of a
	// number, the values of an in list, its groups); docs/limits.md lists
	// them all.
	ErrLimit = diag.NewSentinel("segment.limit", "definition limit exceeded")
)

// The limits of a definition (docs/limits.md). They are checked before the
// parts beyond them are read: a definition of a gigabyte is refused after
// its size is seen, not after it is parsed.
const (
	// MaxDefinitionBytes is the largest definition, in bytes of JSON.
	MaxDefinitionBytes = 1 << 20
	// MaxDefinitionValues is the most JSON values (objects, arrays,
	// strings, numbers, booleans, nulls, at any depth) in a definition.
	MaxDefinitionValues = 100_000
	// MaxDepth is the deepest nesting of JSON arrays and objects.
	MaxDepth = 500
	// MaxNumberLength is the longest number literal, in characters: longer
	// texts are rarely numbers anyone meant, and their exact values cost
	// time to read.
	MaxNumberLength = 100
	// MaxInValues is the most values of one in or notIn list.
	MaxInValues = 10_000
	// MaxGroups is the most groups of one definition.
	MaxGroups = 1_000
	// MaxPatternLength is the most bytes of a matches operator's regular
	// expression.
	MaxPatternLength = 1_000
)

// ValidateOptions adjusts Validate. The zero value validates a definition
// on its own: no segment exists, so every segment reference is a problem.
type ValidateOptions struct {
	// Segments reports whether a segment of that name exists, for segment
	// references. Nil means no segment exists: every reference is a problem.
	Segments func(name string) bool
	// Measures, if not nil, are the schema's measures as MeasuresOf
	// parsed them, reused instead of parsing them again. They are used
	// only when parsed from the very schema validated against
	// (Measures.Schema() == s); for any other schema ValidateWith parses
	// that schema's own, so a wrong value costs time, never a wrong result.
	Measures *Measures
}

// MaxNameLength is the longest segment or measure name, in characters.
const MaxNameLength = 128

// ValidateName reports whether name is a valid segment or measure name: 1
// to MaxNameLength characters, each a letter, a digit, '_' or '-'. It
// returns nil or an error wrapping ErrName that says what is wrong.
func ValidateName(name string) error {
	if msg := nameProblem(name); msg != "" {
		return fmt.Errorf("%w: %s", ErrName, msg)
	}
	return nil
}

// nameProblem returns what is wrong with name, or "".
func nameProblem(name string) string {
	if name == "" {
		return "name is empty"
	}
	if !utf8.ValidString(name) {
		return fmt.Sprintf("name %q is not valid UTF-8", name)
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLength {
		return fmt.Sprintf("name is %d characters long; at most %d are allowed", n, MaxNameLength)
	}
	for i, r := range []rune(name) {
		if r != '_' && r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return fmt.Sprintf("name %q has %q at position %d; use only letters, digits, '_' and '-'", name, r, i+1)
		}
	}
	return ""
}
