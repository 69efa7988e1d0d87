package segment

import (
	"errors"

	"github.com/segmentkit/segmentkit/schema"
)

// Sentinel errors for the kinds of definition problems. Every problem that
// Parse or Validate reports wraps one of them; test with errors.Is.
var (
	ErrSyntax           = errors.New("definition syntax")
	ErrUnknownEntity    = errors.New("unknown entity")
	ErrUnknownAttribute = errors.New("unknown attribute")
	ErrUnknownOperator  = errors.New("unknown operator")
	ErrOperatorType     = errors.New("operator not allowed for the type")
	ErrValue            = errors.New("invalid value")
	ErrPath             = errors.New("invalid relationship path")
	ErrWhere            = errors.New("invalid where")
	ErrAggregate        = errors.New("invalid aggregate")
	ErrEmpty            = errors.New("empty condition list")
	ErrGroups           = errors.New("invalid groups")
	ErrName             = errors.New("invalid name")
	ErrUnknownSegment   = errors.New("unknown segment")
	ErrSegmentCycle     = errors.New("segment reference cycle")
	ErrMeasure          = errors.New("invalid measure")
)

// ValidateOptions adjusts Validate.
type ValidateOptions struct {
	// Segments reports whether a segment of that name exists, for segment
	// references. Nil means no segment exists: every reference is a problem.
	Segments func(name string) bool
}

var _ = schema.Invalid
