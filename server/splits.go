package server

import (
	"net/http"

	"github.com/segmentkit/segmentkit/catalog"
)

// Splits and priority lists (docs/format.md sections 14 and 15): their
// routes, schemas and handlers.

func splitRoutes() []route {
	qFields := param{"fields", "string", "comma-separated fields (Entity.Attribute or measure names); default: every customer attribute"}
	return []route{
		{method: "PUT", path: "/api/segments/{name}/split", id: "splitSegment", summary: "Split a segment into groups by percentages, or change its split (moving as few customers as possible)", role: catalog.Editor, body: "SetSplit", ok: 200, resp: "Split", errs: []int{404, 409, 422}, h: (*Server).splitSegment},
		{method: "GET", path: "/api/segments/{name}/split", id: "getSplit", summary: "A segment's split: salt, groups and their buckets", role: catalog.Viewer, ok: 200, resp: "Split", errs: []int{404}, h: (*Server).getSplit},
		{method: "DELETE", path: "/api/segments/{name}/split", id: "removeSplit", summary: "Remove a segment's split", role: catalog.Editor, ok: 204, errs: []int{404, 409}, h: (*Server).removeSplit},
		{method: "GET", path: "/api/segments/{name}/groups", id: "segmentGroups", summary: "A split segment's groups with their current member counts", role: catalog.Viewer, ok: 200, resp: "SplitCounts", errs: []int{404, 409}, h: (*Server).segmentGroups},
		{method: "GET", path: "/api/priority-lists", id: "listPriorityLists", summary: "The priority lists", role: catalog.Viewer, ok: 200, resp: "PriorityLists", h: (*Server).listPriorityLists},
		{method: "POST", path: "/api/priority-lists", id: "createPriorityList", summary: "Create a priority list: ordered segments (or groups), each customer assigned to the first that contains them", role: catalog.Editor, body: "PriorityList", ok: 201, resp: "PriorityList", errs: []int{404, 409, 422}, h: (*Server).createPriorityList},
		{method: "GET", path: "/api/priority-lists/{list}", id: "getPriorityList", summary: "A priority list", role: catalog.Viewer, ok: 200, resp: "PriorityList", errs: []int{404}, h: (*Server).getPriorityList},
		{method: "DELETE", path: "/api/priority-lists/{list}", id: "deletePriorityList", summary: "Delete a priority list", role: catalog.Editor, ok: 204, errs: []int{404}, h: (*Server).deletePriorityList},
		{method: "GET", path: "/api/priority-lists/{list}/counts", id: "priorityCounts", summary: "The customers assigned to each entry of a priority list", role: catalog.Viewer, ok: 200, resp: "PriorityCounts", errs: []int{404, 409}, h: (*Server).priorityCounts},
		{method: "POST", path: "/api/priority-lists/{list}/exports", id: "exportPriorityListTo", summary: "Send each assigned customer once, with its entry, to a file or a webhook (a full export)", role: catalog.Admin, body: "PriorityExport", ok: 200, resp: "PriorityExported", errs: []int{404, 409, 422, 502}, h: (*Server).exportPriorityListTo},
		{method: "GET", path: "/api/priority-lists/{list}/export", id: "exportPriorityList", summary: "Each assigned customer once as CSV, with its entry first, streamed", role: catalog.Viewer,
			query: []param{qFields}, ok: 200, resp: "csv", errs: []int{404, 409, 422}, stream: true, h: (*Server).exportPriorityList},
	}
}

func splitSchemas() schemaMap {
	group := obj([]string{"name", "percent"}, schemaMap{
		"name": str(), "percent": withDoc(number(), "more than 0, in steps of 0.01; a split's add up to 100"),
		"holdout": withDoc(boolean(), "no export receives this group (at most one)"),
		"buckets": withDoc(arrayOf(arrayOf(integer())), "the buckets [from, to) the group owns (docs/format.md section 14); set by the catalog"),
	})
	entry := obj([]string{"segment"}, schemaMap{"segment": str(), "group": strDoc("a group of the segment's split; none: the whole segment")})
	list := obj([]string{"name", "entries"}, schemaMap{
		"name": str(), "description": str(), "entries": arrayOf(entry), "created": dateTime(), "modified": dateTime(),
	})
	counted := obj([]string{"name", "percent", "members"}, schemaMap{
		"name": str(), "percent": number(), "holdout": boolean(), "buckets": arrayOf(arrayOf(integer())), "members": integer(),
	})
	return schemaMap{
		"SplitGroup": group,
		"SetSplit": obj([]string{"groups"}, schemaMap{
			"salt":   strDoc("the hash's salt; default: the current split's, or the segment's name; a new salt reassigns everyone"),
			"groups": arrayOf(ref("SplitGroup")),
		}),
		"Split": obj([]string{"segment", "salt", "groups", "created", "modified"}, schemaMap{
			"segment": str(), "salt": str(), "groups": arrayOf(ref("SplitGroup")), "created": dateTime(), "modified": dateTime(),
		}),
		"SplitCounts":  obj([]string{"segment", "salt", "members", "groups"}, schemaMap{"segment": str(), "salt": str(), "members": integer(), "groups": arrayOf(counted)}),
		"PriorityList": list,
		"PriorityExport": obj([]string{"to"}, schemaMap{
			"to":     strDoc("csv:FILE, jsonl:FILE, parquet:FILE, arrow:FILE or webhook:URL"),
			"fields": arrayOf(str()),
		}),
		"PriorityExported": obj([]string{"list", "to", "stats"}, schemaMap{"list": str(), "to": str(), "stats": obj(nil, schemaMap{})}),
		"PriorityLists":    obj([]string{"lists"}, schemaMap{"lists": arrayOf(ref("PriorityList"))}),
		"PriorityCounts": obj([]string{"list", "entries", "customers"}, schemaMap{
			"list": str(), "customers": integer(),
			"entries": arrayOf(obj([]string{"segment", "members"}, schemaMap{
				"segment": str(), "group": str(), "members": withDoc(integer(), "the customers assigned to the entry"),
				"held": withDoc(integer(), "of them, those in the segment's holdout: assigned, never exported"),
			})),
		}),
	}
}

func (s *Server) splitSegment(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Salt   string               `json:"salt"`
		Groups []catalog.SplitGroup `json:"groups"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	sp, err := s.cat.SetSplit(r.Context(), r.PathValue("name"), catalog.SplitOptions{Salt: body.Salt, Groups: body.Groups})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sp)
}

func (s *Server) getSplit(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.cat.Split(r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sp)
}

func (s *Server) removeSplit(w http.ResponseWriter, r *http.Request) error {
	if err := s.cat.RemoveSplit(r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) segmentGroups(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.cat.GroupCounts(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sc)
}

func (s *Server) listPriorityLists(w http.ResponseWriter, _ *http.Request) error {
	lists, err := s.cat.PriorityLists()
	if err != nil {
		return err
	}
	if lists == nil {
		lists = []*catalog.PriorityList{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"lists": lists})
}

func (s *Server) createPriorityList(w http.ResponseWriter, r *http.Request) error {
	var body catalog.PriorityList
	if err := decode(r, &body); err != nil {
		return err
	}
	pl, err := s.cat.CreatePriorityList(r.Context(), catalog.PriorityList{Name: body.Name, Description: body.Description, Entries: body.Entries})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, pl)
}

func (s *Server) getPriorityList(w http.ResponseWriter, r *http.Request) error {
	pl, err := s.cat.GetPriorityList(r.PathValue("list"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pl)
}

func (s *Server) deletePriorityList(w http.ResponseWriter, r *http.Request) error {
	if err := s.cat.DeletePriorityList(r.PathValue("list")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) priorityCounts(w http.ResponseWriter, r *http.Request) error {
	pc, err := s.cat.PriorityCounts(r.Context(), r.PathValue("list"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pc)
}

func (s *Server) exportPriorityList(w http.ResponseWriter, r *http.Request) error {
	fields := queryList(r, "fields")
	name := r.PathValue("list")
	out := &lazyCSV{w: w, name: name}
	if err := s.cat.ExportPriorityList(r.Context(), name, out, fields); err != nil {
		return err
	}
	if out.n == 0 {
		out.Write(nil)
	}
	return nil
}

func (s *Server) exportPriorityListTo(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		To     string   `json:"to"`
		Fields []string `json:"fields"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.To == "" {
		return badRequest("the body has no \"to\": where to send the list's customers")
	}
	name := r.PathValue("list")
	st, err := s.cat.ExportPriorityListTo(r.Context(), name, body.To, body.Fields)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"list": name, "to": body.To, "stats": st})
}
