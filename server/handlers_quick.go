package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/quick"
)

// view returns the quick view of the current snapshot at the request's
// asOf (default now); the caller calls ref.done.
func (s *Server) view(r *http.Request) (*snapshotRef, quick.View, error) {
	asOf, err := queryTime(r, "asOf")
	if err != nil {
		return nil, quick.View{}, err
	}
	if asOf.IsZero() {
		asOf = s.clock.Now().UTC()
	}
	ref, err := s.acquire()
	if err != nil {
		return nil, quick.View{}, err
	}
	return ref, ref.stats.At(asOf), nil
}

func (s *Server) quickFields(w http.ResponseWriter, r *http.Request) error {
	origins := quick.Origins()
	if v := r.URL.Query().Get("source"); v != "" {
		o, err := quick.ParseOrigin(v)
		if err != nil {
			return err
		}
		origins = []quick.Origin{o}
	}
	ref, view, err := s.view(r)
	if err != nil {
		return err
	}
	defer ref.done()
	fields := []quick.Field{}
	for _, o := range origins {
		fs, err := view.Fields(r.Context(), o)
		if err != nil {
			return err
		}
		fields = append(fields, fs...)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"fields": fields})
}

// requiredQuery returns a query parameter that must be given.
func requiredQuery(r *http.Request, name, what string) (string, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return "", badRequest("missing query parameter %s: %s", name, what)
	}
	return v, nil
}

func (s *Server) quickInsights(w http.ResponseWriter, r *http.Request) error {
	field, err := requiredQuery(r, "field", "the field, such as Customer.Country")
	if err != nil {
		return err
	}
	ref, view, err := s.view(r)
	if err != nil {
		return err
	}
	defer ref.done()
	ins, err := view.Insights(r.Context(), field)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ins)
}

// quickQuery is a field, an operator and a value, parsed and checked.
func quickQuery(r *http.Request, view quick.View, field, opText, value string) (quick.Field, quick.Op, quick.Size, error) {
	op, err := quick.ParseOp(opText)
	if err != nil {
		return quick.Field{}, 0, quick.Size{}, err
	}
	f, err := view.Field(r.Context(), field)
	if err != nil {
		return quick.Field{}, 0, quick.Size{}, err
	}
	v, err := quick.ParseValue(f, op, value)
	if err != nil {
		return quick.Field{}, 0, quick.Size{}, fmt.Errorf("value: %w", err)
	}
	size, err := view.Estimate(r.Context(), f.Name, op, v)
	if err != nil {
		return quick.Field{}, 0, quick.Size{}, fmt.Errorf("value: %w", err)
	}
	return f, op, size, nil
}

func (s *Server) quickEstimate(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	field, err := requiredQuery(r, "field", "the field, such as Customer.Age")
	if err != nil {
		return err
	}
	opText, err := requiredQuery(r, "op", "is, between, greaterThan or lessThan")
	if err != nil {
		return err
	}
	ref, view, err := s.view(r)
	if err != nil {
		return err
	}
	defer ref.done()
	f, op, size, err := quickQuery(r, view, field, opText, q.Get("value"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"field": f.Name, "operator": op.String(), "value": q.Get("value"),
		"asOf": view.AsOf(), "members": size.MemberCount, "customers": size.Customers, "share": size.Share})
}

func (s *Server) quickCreate(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name        string  `json:"name"`
		DisplayName string  `json:"displayName"`
		Field       string  `json:"field"`
		Op          string  `json:"op"`
		Value       string  `json:"value"`
		Active      bool    `json:"active"`
		AsOf        optTime `json:"asOf"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	for _, m := range []struct{ v, name string }{{body.Name, "name"}, {body.Field, "field"}, {body.Op, "op"}} {
		if m.v == "" {
			return badRequest("the body has no %q", m.name)
		}
	}
	asOf := body.AsOf.Time
	if asOf.IsZero() {
		asOf = s.clock.Now().UTC()
	}
	ref, err := s.acquire()
	if err != nil {
		return err
	}
	defer ref.done()
	view := ref.stats.At(asOf)
	f, op, _, err := quickQuery(r, view, body.Field, body.Op, body.Value)
	if err != nil {
		return err
	}
	v, _ := quick.ParseValue(f, op, body.Value) // checked by quickQuery
	def, err := view.Build(r.Context(), body.Name, body.DisplayName, f.Name, op, v)
	if err != nil {
		return err
	}
	raw, err := def.MarshalJSON()
	if err != nil {
		return err
	}
	seg, err := s.cat.Create(r.Context(), raw, catalog.CreateOptions{Active: body.Active, AsOf: asOf})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, seg)
}

// --- tokens ---

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.cat.Tokens()
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []catalog.Token{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tokens": ts})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	role, err := catalog.ParseRole(body.Role)
	if err != nil {
		return err
	}
	secret, t, err := s.cat.CreateToken(body.Name, role)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"token": secret, "id": t.ID, "name": t.Name, "role": t.Role, "created": t.Created})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		return fmt.Errorf("token %q %w", r.PathValue("id"), catalog.ErrNotFound)
	}
	if err := s.cat.RevokeToken(id); err != nil {
		return err
	}
	s.sessions.dropToken(id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
