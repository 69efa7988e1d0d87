package sqlgen

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// compiler turns one definition (and the definitions it references) into
// one query. It is used once.
type compiler struct {
	d      Dialect
	f      Features
	sch    *schema.Schema
	opts   Options
	ms     *segment.Measures
	cust   *schema.Entity
	inline bool

	args     []any
	problems diag.List
	// path is the definition path of the node being compiled, for the
	// problems of literals and identifiers found deep in it.
	path string

	// used holds every name a query part may not take: the tables' names
	// and the parts already named, lower-cased (SQLite's names ignore
	// ASCII case).
	used   map[string]bool
	parts  []part
	idents map[string]string
	// refs maps a referenced segment to the part holding its members;
	// compiling marks the references being compiled, to find cycles.
	refs      map[string]string
	compiling map[string]bool
	// loc is the time zone of the definition being compiled, whose
	// calendar its relative days count in.
	loc *time.Location
}

// part is one named part of the query: a CTE, or a nested subquery where
// the dialect has no CTEs.
type part struct {
	name    string // quoted
	comment string
	body    string
}

func newCompiler(sch *schema.Schema, opts Options) (*compiler, error) {
	var l diag.List
	if opts.Dialect == nil {
		l.Add("", ErrOptions, "no SQL dialect: set Options.Dialect (one of %s)", strings.Join(Dialects(), ", "))
	}
	if sch == nil {
		l.Add("", ErrOptions, "no schema")
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	c := &compiler{
		d: opts.Dialect, f: opts.Dialect.Features(), sch: sch, opts: opts,
		ms: segment.MeasuresOf(sch), cust: sch.Customer(),
		inline: opts.Inline || !opts.Dialect.Features().Params,
		used:   map[string]bool{}, idents: map[string]string{},
		refs: map[string]string{}, compiling: map[string]bool{}, loc: time.UTC,
	}
	for ent, table := range opts.Tables {
		if _, ok := sch.Entity(ent); !ok {
			l.AddSuggest("Tables", ErrOptions, ent, sch.EntityNames(), "Tables names %q, which is not an entity", ent)
		}
		if !validTableName(table) {
			l.Add("Tables", ErrOptions, "the table of %s is %q; give a name (parts joined by dots, none empty)", ent, table)
		}
	}
	for name, ref := range opts.Segments {
		switch {
		case ref.Definition == nil && ref.Table == "":
			l.Add("Segments", ErrOptions, "segment %s has neither a definition nor a table", name)
		case ref.Definition != nil && ref.Table != "":
			l.Add("Segments", ErrOptions, "segment %s has both a definition and a table; give one", name)
		case ref.Table != "" && !validTableName(ref.Table):
			l.Add("Segments", ErrOptions, "the table of segment %s is %q; give a name (parts joined by dots, none empty)", name, ref.Table)
		}
	}
	for ent, col := range opts.RowOrder {
		if _, ok := sch.Entity(ent); !ok {
			l.AddSuggest("RowOrder", ErrOptions, ent, sch.EntityNames(), "RowOrder names %q, which is not an entity", ent)
		}
		if col == "" {
			l.Add("RowOrder", ErrOptions, "the row order column of %s is empty", ent)
		}
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	// A part named like a table would hide it from the parts after it.
	for _, e := range sch.Entities {
		for _, p := range strings.Split(c.tableName(e.Name), ".") {
			c.used[strings.ToLower(p)] = true
		}
	}
	for _, ref := range opts.Segments {
		for _, p := range strings.Split(ref.Table, ".") {
			c.used[strings.ToLower(p)] = true
		}
	}
	return c, nil
}

// hasSegment reports whether opts.Segments resolves the segment name,
// whole or one of its split groups (keyed name + "/" + group).
func (c *compiler) hasSegment(name string) bool {
	if _, ok := c.opts.Segments[name]; ok {
		return true
	}
	for k := range c.opts.Segments {
		if strings.HasPrefix(k, name+"/") {
			return true
		}
	}
	return false
}

func validTableName(s string) bool {
	for _, p := range strings.Split(s, ".") {
		if p == "" {
			return false
		}
	}
	return true
}

func (c *compiler) compile(def *segment.Definition) (*Query, error) {
	if err := c.validate(def); err != nil {
		return nil, err
	}
	final, _ := c.members(def, "", "")
	if err := c.problems.Err(); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- segment %s, as of %s, for %s\n", comment(def.Name), comment(c.asOf()), comment(c.d.Name()))
	fmt.Fprintf(&b, "-- one row per member: %s.%s\n", comment(c.cust.Name), comment(c.cust.Key))
	if c.f.CTE && len(c.parts) > 0 {
		b.WriteString("WITH\n")
		for i, p := range c.parts {
			if p.comment != "" {
				b.WriteString("-- " + p.comment + "\n")
			}
			b.WriteString(p.name + " AS (\n" + indent(p.body) + "\n)")
			if i < len(c.parts)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
	}
	b.WriteString(final)
	b.WriteString("\n")
	q := &Query{SQL: b.String(), Args: c.args}
	if q.Args == nil {
		q.Args = []any{}
	}
	return q, nil
}

func (c *compiler) asOf() string {
	if c.opts.AsOf.IsZero() {
		return "(no as-of instant)"
	}
	return c.opts.AsOf.UTC().Format(time.RFC3339Nano)
}

// validate checks def against the schema and the references Options can
// resolve.
func (c *compiler) validate(def *segment.Definition) error {
	return def.ValidateWith(c.sch, segment.ValidateOptions{
		Segments: c.hasSegment,
		Measures: c.ms,
	})
}

// fail records a problem at path. An error of the dialect that wraps no
// sentinel is reported as unsupported.
func (c *compiler) fail(path string, err error) {
	if diag.Code(err) == "" {
		err = fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	c.problems = append(c.problems, &diag.Problem{Path: path, Message: err.Error(), Err: err})
}

// unsupported records that the dialect cannot express the construct at
// path.
func (c *compiler) unsupported(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.problems = append(c.problems, &diag.Problem{
		Path: path, Message: fmt.Sprintf("%s: %s", c.d.Name(), msg), Err: ErrUnsupported,
	})
}

// ident quotes a name, once.
func (c *compiler) ident(name string) string {
	if q, ok := c.idents[name]; ok {
		return q
	}
	q, err := c.d.Ident(name)
	if err != nil {
		c.fail(c.path, fmt.Errorf("name %s: %w", strconv.Quote(name), err))
		q = `"?"`
	}
	c.idents[name] = q
	return q
}

// tableName returns the table holding entity's rows, unquoted.
func (c *compiler) tableName(entity string) string {
	if t, ok := c.opts.Tables[entity]; ok {
		return t
	}
	return entity
}

// table returns the quoted table holding entity's rows.
func (c *compiler) table(entity string) string { return c.qualified(c.tableName(entity)) }

// qualified quotes each dot-separated part of a table name.
func (c *compiler) qualified(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = c.ident(p)
	}
	return strings.Join(parts, ".")
}

// fresh returns a name for a query part that no table or other part has,
// unquoted: hint, or hint_2, hint_3 ...
func (c *compiler) fresh(hint string) string {
	name := hint
	for i := 2; c.used[strings.ToLower(name)]; i++ {
		name = hint + "_" + strconv.Itoa(i)
	}
	c.used[strings.ToLower(name)] = true
	return name
}

// lit writes a value as a bind parameter or, inlined, as a literal. The
// literal is made either way, so that a value the dialect cannot write is
// a problem whether or not it is inlined.
func (c *compiler) lit(v any) string {
	text, err := c.d.Literal(v)
	if err != nil {
		c.fail(c.path, err)
		return "NULL"
	}
	if c.inline {
		return text
	}
	c.args = append(c.args, v)
	return c.d.Placeholder(len(c.args))
}

// partRef returns how a query refers to a part in a FROM clause: its name,
// or the part itself as a nested subquery.
func (c *compiler) partRef(p part) string {
	if c.f.CTE {
		return p.name
	}
	body := p.body
	if p.comment != "" {
		body = "-- " + p.comment + "\n" + body
	}
	return "(\n" + indent(body) + "\n) AS " + p.name
}

// addPart adds a part and returns it.
func (c *compiler) addPart(hint, comment, body string) part {
	p := part{name: c.ident(c.fresh(hint)), comment: comment, body: body}
	c.parts = append(c.parts, p)
	return p
}

// keyCol is the customer key column of the customer rows aliased alias.
func (c *compiler) keyCol(alias string) col {
	raw := alias + "." + c.ident(c.cust.Key)
	t := c.attrType(c.cust, c.cust.Key)
	return col{raw: raw, val: c.d.Value(raw, t), t: t}
}

// memberQuery selects the (Value form of the) keys of a part of members.
func (c *compiler) memberQuery(p part) string {
	key := c.ident(c.cust.Key)
	return "SELECT " + c.d.Value(key, c.attrType(c.cust, c.cust.Key)) + " FROM " + c.partRef(p)
}

// members compiles the groups of def into parts and returns them and the
// query that combines them: for the definition compiled (prefix ""), the
// final SELECT; for a referenced segment, prefix is its name and the query
// is the body of its part. root is the path of def's problems.
func (c *compiler) members(def *segment.Definition, root, prefix string) (string, []part) {
	outer := c.loc
	defer func() { c.loc = outer }()
	var err error
	if c.loc, err = segment.Location(def.TimeZone); err != nil {
		c.fail(joinPath(root, "timeZone"), err) // Validate reported it
		c.loc = time.UTC
	}
	groupPath := func(i int) string { return joinPath(root, fmt.Sprintf("groups[%d]", i)) }
	var groups []part
	for i, g := range def.Groups {
		path := groupPath(i)
		comment := path
		if g.SetOp != segment.NoSetOp {
			comment += ": " + g.SetOp.String()
		}
		hint := fmt.Sprintf("group%d", i+1)
		if prefix != "" {
			hint = prefix + "_" + hint
		}
		body := c.groupBody(joinPath(path, "condition"), g.Condition)
		groups = append(groups, c.addPart(hint, comment, body))
	}
	key := c.ident(c.cust.Key)
	if c.f.SetOps {
		acc := "SELECT " + key + " FROM " + c.partRef(groups[0])
		for i := 1; i < len(groups); i++ {
			op := strings.ToUpper(def.Groups[i].SetOp.String())
			if def.Groups[i].SetOp == segment.Intersect && i >= 2 {
				// INTERSECT binds tighter than UNION and EXCEPT in
				// standard SQL; groups combine left to right.
				alias := c.ident(fmt.Sprintf("groups1to%d", i))
				acc = "SELECT " + key + " FROM (\n" + indent(acc) + "\n) AS " + alias
			}
			acc += "\n" + op + "\n" + "SELECT " + key + " FROM " + c.partRef(groups[i])
		}
		return acc, groups
	}
	// Without set operators, groups combine as conditions on membership.
	ck := c.keyCol(c.ident("c"))
	acc := leaf(c.d.In(ck.val, c.memberQuery(groups[0]), false))
	for i := 1; i < len(groups); i++ {
		in := leaf(c.d.In(ck.val, c.memberQuery(groups[i]), false))
		switch def.Groups[i].SetOp {
		case segment.Union:
			acc = c.or(acc, in)
		case segment.Intersect:
			acc = c.and(acc, in)
		case segment.Except:
			acc = c.and(acc, c.not(in))
		}
	}
	return "SELECT " + ck.raw + "\nFROM " + c.table(c.cust.Name) + " AS " + c.ident("c") + "\nWHERE\n" + indent(acc.sql), groups
}

// groupBody selects the customers for whom cond holds.
func (c *compiler) groupBody(path string, cond segment.Condition) string {
	alias := c.ident("c")
	e := c.condition(path, cond, false)
	return "SELECT " + c.keyCol(alias).raw + "\nFROM " + c.table(c.cust.Name) + " AS " + alias + "\nWHERE\n" + indent(e.sql)
}

// segmentPart returns the part holding the members of the referenced
// segment name, compiling its definition the first time.
func (c *compiler) segmentPart(path, name string, def *segment.Definition) (part, bool) {
	if q, ok := c.refs[name]; ok {
		for _, p := range c.parts {
			if p.name == q {
				return p, true
			}
		}
	}
	if c.compiling[name] {
		c.problems = append(c.problems, &diag.Problem{
			Path: path, Message: fmt.Sprintf("segment %s references itself through other segments", name),
			Err: segment.ErrSegmentCycle,
		})
		return part{}, false
	}
	root := "segments." + name
	if err := c.validate(def); err != nil {
		c.problems.Merge(root, err)
		return part{}, false
	}
	c.compiling[name] = true
	defer delete(c.compiling, name)
	saved := c.path
	body, groups := c.members(def, root, name)
	c.path = saved
	p := groups[0]
	if len(groups) == 1 {
		// One group: its part holds the members already.
		p.comment = "segment " + name + ", " + p.comment
		c.parts[len(c.parts)-1] = p
	} else {
		p = c.addPart(name, "segment "+name, body)
	}
	c.refs[name] = p.name
	return p, true
}

// joinPath joins definition path parts as diag does.
func joinPath(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	}
	return prefix + "." + path
}

// indent puts two spaces before every line of s. The dialects' text has
// no line break inside a literal or a name, so this changes no value.
func indent(s string) string {
	if s == "" {
		return s
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// comment makes s safe in a -- comment: it keeps letters, digits and the
// punctuation of definition paths and instants, and writes any other
// character as '?', so that nothing a definition or schema holds can end
// the comment or open another.
func comment(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			strings.ContainsRune("_-.[]:+ ,()", r):
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// errorf returns an error wrapping ErrUnsupported, for the dialects.
func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}
