package refeval

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// day is a calendar day: the number of days since 1970-01-01.
type day int64

// Data is a loaded data directory. It is not modified by Eval and may be
// shared between goroutines.
type Data struct {
	customer string
	entities map[string]*entity
	rels     map[string]*relationship
	measures map[string]map[string]any
}

type entity struct {
	name  string
	key   string
	types map[string]string // attribute name -> type name
	// rows holds one map per file row, attribute name -> value; a null is
	// a missing entry or nil. Values are int64, float64, string, day,
	// time.Time (UTC) or bool.
	rows []map[string]any
	// keyRow maps a key value to its row.
	keyRow map[any]int
	// paths lists every relationship path up to the customer entity.
	paths [][]string
	// linked maps a path (names joined by "/") to, per customer row, the
	// rows of this entity linked to it in file order.
	linked map[string][][]int
}

type relationship struct {
	name                 string
	fromEntity, fromAttr string
	toEntity, toAttr     string
}

type schemaFile struct {
	CustomerEntity string `json:"customerEntity"`
	Entities       []struct {
		Name       string `json:"name"`
		Key        string `json:"key"`
		Source     string `json:"source"`
		Attributes []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"attributes"`
	} `json:"entities"`
	Relationships []struct {
		Name string `json:"name"`
		From struct {
			Entity    string `json:"entity"`
			Attribute string `json:"attribute"`
		} `json:"from"`
		To struct {
			Entity    string `json:"entity"`
			Attribute string `json:"attribute"`
		} `json:"to"`
	} `json:"relationships"`
	Measures []json.RawMessage `json:"measures"`
}

// Load reads dir/schema.json and the CSV files it names. It checks only
// what it needs to evaluate: it assumes the directory is valid.
func Load(dir string) (*Data, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "schema.json"))
	if err != nil {
		return nil, err
	}
	var sf schemaFile
	if err := json.Unmarshal(raw, &sf); err != nil {
		return nil, fmt.Errorf("schema.json: %w", err)
	}
	d := &Data{
		customer: sf.CustomerEntity,
		entities: map[string]*entity{},
		rels:     map[string]*relationship{},
		measures: map[string]map[string]any{},
	}
	for _, se := range sf.Entities {
		e := &entity{name: se.Name, key: se.Key, types: map[string]string{}, keyRow: map[any]int{}, linked: map[string][][]int{}}
		for _, a := range se.Attributes {
			e.types[a.Name] = a.Type
		}
		if !strings.HasSuffix(se.Source, ".csv") {
			return nil, fmt.Errorf("entity %s: only CSV sources are supported, not %q", se.Name, se.Source)
		}
		if err := e.readCSV(filepath.Join(dir, se.Source)); err != nil {
			return nil, err
		}
		for i, row := range e.rows {
			k := row[e.key]
			if k == nil {
				return nil, fmt.Errorf("%s row %d: null key", e.name, i)
			}
			if _, dup := e.keyRow[k]; dup {
				return nil, fmt.Errorf("%s row %d: duplicate key %v", e.name, i, k)
			}
			e.keyRow[k] = i
		}
		d.entities[e.name] = e
	}
	if d.entities[d.customer] == nil {
		return nil, fmt.Errorf("customer entity %q is not defined", d.customer)
	}
	for _, sr := range sf.Relationships {
		d.rels[sr.Name] = &relationship{
			name:       sr.Name,
			fromEntity: sr.From.Entity, fromAttr: sr.From.Attribute,
			toEntity: sr.To.Entity, toAttr: sr.To.Attribute,
		}
	}
	for _, e := range d.entities {
		if e.name == d.customer {
			continue
		}
		e.paths = d.findPaths(e.name, map[string]bool{e.name: true})
		for _, p := range e.paths {
			e.linked[strings.Join(p, "/")] = d.link(e, p)
		}
	}
	for _, rm := range sf.Measures {
		m, err := decodeObject(rm)
		if err != nil {
			return nil, fmt.Errorf("schema.json measures: %w", err)
		}
		name, _ := m["name"].(string)
		d.measures[name] = m
	}
	return d, nil
}

func (e *entity) readCSV(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for a := range e.types {
		if _, ok := col[a]; !ok {
			return fmt.Errorf("%s: missing column %s", path, a)
		}
	}
	line := 1
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		line++
		row := map[string]any{}
		for a, t := range e.types {
			text := rec[col[a]]
			if text == "" {
				continue
			}
			v, err := parseCell(t, text)
			if err != nil {
				return fmt.Errorf("%s:%d: column %s: %w", path, line, a, err)
			}
			row[a] = v
		}
		e.rows = append(e.rows, row)
	}
	return nil
}

// parseCell converts one non-empty CSV field to the Go value of its type.
func parseCell(typ, text string) (any, error) {
	switch typ {
	case "integer":
		return strconv.ParseInt(text, 10, 64)
	case "number":
		return strconv.ParseFloat(text, 64)
	case "string":
		return text, nil
	case "date":
		return parseDay(text)
	case "datetime":
		t, err := time.Parse(time.RFC3339Nano, text)
		if err != nil {
			return nil, err
		}
		return t.UTC(), nil
	case "boolean":
		switch text {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("not a boolean: %q", text)
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

func parseDay(s string) (day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, err
	}
	return dayOf(t), nil
}

// dayOf returns the UTC calendar day of t.
func dayOf(t time.Time) day {
	u := t.UTC()
	midnight := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	return day(midnight.Unix() / 86400)
}

// findPaths returns every relationship path from the entity named from up
// to the customer entity. seen guards against cycles.
func (d *Data) findPaths(from string, seen map[string]bool) [][]string {
	var out [][]string
	for _, r := range d.rels {
		if r.fromEntity != from || seen[r.toEntity] {
			continue
		}
		if r.toEntity == d.customer {
			out = append(out, []string{r.name})
			continue
		}
		seen[r.toEntity] = true
		for _, rest := range d.findPaths(r.toEntity, seen) {
			out = append(out, append([]string{r.name}, rest...))
		}
		delete(seen, r.toEntity)
	}
	return out
}

// link walks path hop by hop from every row of e and returns, per customer
// row, the rows of e that reach it. A null or dangling foreign key at any
// hop links the row to no customer.
func (d *Data) link(e *entity, path []string) [][]int {
	cust := d.entities[d.customer]
	out := make([][]int, len(cust.rows))
	for i := range e.rows {
		cur, curEnt := i, e
		ok := true
		for _, name := range path {
			r := d.rels[name]
			fk := curEnt.rows[cur][r.fromAttr]
			if fk == nil {
				ok = false
				break
			}
			target := d.entities[r.toEntity]
			next, found := target.keyRow[fk]
			if !found {
				ok = false
				break
			}
			cur, curEnt = next, target
		}
		if ok && curEnt == cust {
			out[cur] = append(out[cur], i)
		}
	}
	return out
}

// decodeObject parses a JSON object keeping numbers as json.Number.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

// CustomerKeys returns the customer entity's key values as written in its
// file (integers in decimal), indexed by customer row.
func (d *Data) CustomerKeys() []string {
	cust := d.entities[d.customer]
	out := make([]string, len(cust.rows))
	for i, row := range cust.rows {
		out[i] = fmt.Sprint(row[cust.key])
	}
	return out
}
