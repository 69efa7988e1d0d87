package server

import (
	"github.com/segmentkit/segmentkit/catalog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
)

// The OpenAPI 3.1 document, built from the route table: the mux and the
// document cannot disagree on what exists, and the API tests check each
// answer against the schema documented for it.

type schemaMap = map[string]any

func str() schemaMap                   { return schemaMap{"type": "string"} }
func strDoc(doc string) schemaMap      { return schemaMap{"type": "string", "description": doc} }
func integer() schemaMap               { return schemaMap{"type": "integer"} }
func boolean() schemaMap               { return schemaMap{"type": "boolean"} }
func number() schemaMap                { return schemaMap{"type": "number"} }
func dateTime() schemaMap              { return schemaMap{"type": "string", "format": "date-time"} }
func anyValue() schemaMap              { return schemaMap{} }
func arrayOf(item schemaMap) schemaMap { return schemaMap{"type": "array", "items": item} }
func ref(name string) schemaMap        { return schemaMap{"$ref": "#/components/schemas/" + name} }
func enum(values ...string) schemaMap  { return schemaMap{"type": "string", "enum": values} }

// obj is an object schema with the properties, of which the named ones
// are required.
func obj(required []string, props schemaMap) schemaMap {
	m := schemaMap{"type": "object", "properties": props}
	if len(required) > 0 {
		m["required"] = required
	}
	return m
}

func withDoc(m schemaMap, doc string) schemaMap { m["description"] = doc; return m }

// definitionSchema is a segment definition: FORMAT.md section 2 (a JSON
// object; a string holding one is also taken).
func definitionSchema() schemaMap {
	return withDoc(schemaMap{"type": []string{"object", "string"}}, "a segment definition (docs/format.md section 2)")
}

// jobStatus is a job's, task's or segment's status.
func jobStatus() schemaMap {
	var names []string
	for s := catalog.NotStarted; s.Done() || s < catalog.Successful; s++ {
		names = append(names, s.String())
	}
	return enum(names...)
}

// components are the document's schemas.
func components() schemaMap {
	m := baseComponents()
	for k, v := range splitSchemas() {
		m[k] = v
	}
	return m
}

// baseComponents are the schemas of the operations of routes.go.
func baseComponents() schemaMap {
	problem := obj([]string{"type", "title", "status", "code"}, schemaMap{
		"type": str(), "title": str(), "status": integer(), "detail": str(), "instance": str(),
		"code":     strDoc("the stable code of the problem's kind, such as catalog.not_found"),
		"problems": arrayOf(ref("DefinitionProblem")),
	})
	segmentSchema := obj([]string{"name", "type", "state", "status", "members", "created", "modified", "definition"}, schemaMap{
		"name": str(), "displayName": str(), "description": str(), "type": enum("dynamic", "static"),
		"state": enum("active", "inactive", "draft"), "status": jobStatus(), "members": integer(), "frozen": boolean(),
		"lastRefreshed": dateTime(), "lastJob": integer(), "lastError": str(), "created": dateTime(), "modified": dateTime(),
		"activateAt": dateTime(), "deactivateAt": dateTime(), "schedule": str(), "scheduleError": str(),
		"references": arrayOf(str()), "problems": arrayOf(ref("DefinitionProblem")), "definition": anyValue(),
	})
	job := obj([]string{"id", "trigger", "status", "created", "tasks"}, schemaMap{
		"id": integer(), "trigger": str(), "all": boolean(), "requested": arrayOf(str()), "status": jobStatus(),
		"created": dateTime(), "started": dateTime(), "ended": dateTime(), "duration": integer(), "asOf": dateTime(),
		"data": obj(nil, schemaMap{}), "tasks": arrayOf(obj(nil, schemaMap{})), "errors": arrayOf(str()), "warnings": arrayOf(str()),
		"exports": arrayOf(integer()),
	})
	exportJob := obj([]string{"id", "segment", "destination", "status", "members"}, schemaMap{
		"id": integer(), "segment": str(), "destination": str(), "where": str(), "mode": enum("full", "delta"), "trigger": str(),
		"status": str(), "created": dateTime(), "members": integer(), "entered": integer(), "changed": integer(), "left": integer(),
		"stats": obj(nil, schemaMap{}), "errors": arrayOf(str()), "group": str(),
	})
	destination := obj([]string{"name", "where", "mode", "created"}, schemaMap{
		"name": str(), "where": str(), "mode": enum("full", "delta"), "fields": arrayOf(str()), "hash": arrayOf(str()),
		"changes": boolean(), "batchSize": integer(), "onDemand": boolean(), "created": dateTime(), "sent": integer(),
		"lastExport": integer(), "lastStatus": str(), "lastError": str(), "lastSuccess": dateTime(), "pending": boolean(),
		"group": str(),
	})
	quickField := obj([]string{"name", "source", "type", "kind"}, schemaMap{
		"name": str(), "source": enum("profiles", "measures", "intelligence"), "type": str(), "kind": enum("categorical", "numerical"), "displayName": str(),
	})
	return schemaMap{
		"Problem":           problem,
		"DefinitionProblem": obj([]string{"message"}, schemaMap{"path": str(), "message": str(), "code": str(), "suggestion": str()}),
		"Session": obj([]string{"role", "name", "session", "tokensRequired"}, schemaMap{
			"role": enum("viewer", "editor", "admin"), "name": str(), "csrfToken": strDoc("send it as X-CSRF-Token with every change made with the session cookie"),
			"session": boolean(), "tokensRequired": boolean(),
		}),
		"Login":   obj(nil, schemaMap{"token": strDoc("an API token; on loopback it may be left out")}),
		"OpenAPI": obj([]string{"openapi", "paths"}, schemaMap{"openapi": str(), "info": obj(nil, schemaMap{}), "paths": obj(nil, schemaMap{})}),
		"Data": obj([]string{"source", "customers", "loaded", "schema", "paths", "operators"}, schemaMap{
			"source": str(), "customers": integer(), "loaded": dateTime(),
			"schema":    withDoc(obj([]string{"customerEntity", "entities"}, schemaMap{"customerEntity": str(), "entities": arrayOf(obj(nil, schemaMap{}))}), "schema.json (docs/format.md section 1)"),
			"paths":     withDoc(obj(nil, schemaMap{}), "per related entity, its relationship paths to the customer entity"),
			"operators": withDoc(obj(nil, schemaMap{}), "per attribute type, the operators it allows"),
		}),
		"Segment":       segmentSchema,
		"SegmentList":   obj([]string{"segments", "total"}, schemaMap{"segments": arrayOf(ref("Segment")), "total": integer(), "offset": integer(), "limit": integer()}),
		"CreateSegment": obj([]string{"definition"}, schemaMap{"definition": definitionSchema(), "name": strDoc("the segment's name when the definition has none (it must match when it has one)"), "active": boolean(), "asOf": dateTime()}),
		"EditSegment":   obj([]string{"definition"}, schemaMap{"definition": definitionSchema()}),
		"Rename":        obj([]string{"name"}, schemaMap{"name": str()}),
		"Activate":      obj(nil, schemaMap{"at": withDoc(dateTime(), "activate at this instant instead of now"), "asOf": dateTime(), "cancel": withDoc(boolean(), "cancel the scheduled activation")}),
		"Activation":    obj([]string{"segment"}, schemaMap{"segment": ref("Segment"), "job": ref("Job")}),
		"Deactivate":    obj(nil, schemaMap{"at": withDoc(dateTime(), "deactivate at this instant instead of now"), "cancel": withDoc(boolean(), "cancel the scheduled deactivation")}),
		"Schedule":      obj([]string{"cron"}, schemaMap{"cron": strDoc("a cron schedule such as \"0 6 * * *\", or \"\" for none")}),
		"History": obj([]string{"segment", "history"}, schemaMap{"segment": str(), "history": arrayOf(obj([]string{"time", "job", "members"}, schemaMap{
			"time": dateTime(), "job": integer(), "asOf": dateTime(), "members": integer(), "entered": integer(), "left": integer(), "kept": boolean(),
		}))}),
		"Preview": obj([]string{"segment", "total", "columns", "rows", "asOf"}, schemaMap{
			"segment": str(), "total": integer(), "columns": arrayOf(obj([]string{"name", "type"}, schemaMap{"name": str(), "type": str()})),
			"rows": arrayOf(arrayOf(schemaMap{"type": []string{"string", "null"}})), "asOf": dateTime(), "warnings": arrayOf(str()),
		}),
		"EditPreviewRequest": obj([]string{"definition"}, schemaMap{"definition": definitionSchema(), "asOf": withDoc(dateTime(), "default: the instant the current members were computed at"),
			"samples": withDoc(integer(), "how many keys to list of those added and of those removed (default 10, at most 1000)")}),
		"EditPreview": obj([]string{"segment", "asOf", "refreshed", "current", "members", "added", "removed", "addedKeys", "removedKeys"}, schemaMap{
			"segment": str(), "asOf": dateTime(), "refreshed": boolean(), "current": integer(), "members": integer(),
			"added": integer(), "removed": integer(), "addedKeys": arrayOf(str()), "removedKeys": arrayOf(str()),
		}),
		"Overlap": obj([]string{"sets", "sizes", "customers", "regions"}, schemaMap{
			"sets": arrayOf(str()), "sizes": arrayOf(integer()), "customers": integer(),
			"regions": arrayOf(obj([]string{"mask", "in", "count"}, schemaMap{
				"mask": withDoc(integer(), "bit i set for the i-th of sets"), "in": arrayOf(str()), "count": integer(),
				"byValue": withDoc(arrayOf(integer()), "the region's customers with each of values, in order"),
				"other":   withDoc(integer(), "with a value not in values"), "null": withDoc(integer(), "without a value"),
			})),
			"by": str(), "values": withDoc(arrayOf(str()), "by's values, the most frequent first (at most 100)"),
		}),
		"Differentiators": obj([]string{"segment", "segmentSize", "baseSize", "customers", "attributes"}, schemaMap{
			"segment": str(), "against": withDoc(str(), "absent: all customers"), "segmentSize": integer(), "baseSize": integer(), "customers": integer(),
			"asOf": withDoc(dateTime(), "the instant measures were computed at"),
			"attributes": withDoc(arrayOf(obj([]string{"attribute", "type", "statistic", "score", "segment", "base"}, schemaMap{
				"attribute": str(), "type": str(),
				"statistic": withDoc(schemaMap{"type": "string", "enum": []string{"totalVariation", "ks"}}, "totalVariation for strings and booleans, ks (two-sample Kolmogorov-Smirnov) for the others"),
				"score":     withDoc(number(), "the statistic, 0 to 1"),
				"segment":   obj([]string{"values", "null"}, schemaMap{"values": integer(), "null": integer(), "mean": withDoc(number(), "dates and datetimes in days since 1970-01-01"), "sd": number(), "median": str()}), "base": obj([]string{"values", "null"}, schemaMap{"values": integer(), "null": integer(), "mean": withDoc(number(), "dates and datetimes in days since 1970-01-01"), "sd": number(), "median": str()}),
				"values": withDoc(arrayOf(obj([]string{"value", "segment", "base", "segmentShare", "baseShare", "difference"}, schemaMap{
					"value": str(), "segment": integer(), "base": integer(), "segmentShare": number(), "baseShare": number(), "difference": number(),
					"lift": withDoc(number(), "segmentShare / baseShare; absent when the base has none"),
				})), "the values with the largest absolute share difference"),
				"distinct": integer(), "identifying": withDoc(boolean(), "more than half of the base's values are distinct: ranked last"), "smd": withDoc(number(), "Cohen's d with the pooled standard deviation"),
				"ksAt": str(), "segmentBelow": number(), "baseBelow": number(),
			})), "by score, largest first"),
		}),
		"Changes": obj([]string{"segment", "changes"}, schemaMap{"segment": str(), "changes": arrayOf(obj([]string{"time", "job", "entered", "left"}, schemaMap{
			"time": dateTime(), "job": integer(), "asOf": dateTime(), "enteredCount": integer(), "leftCount": integer(),
			"entered": arrayOf(str()), "left": arrayOf(str()),
		}))}),
		"Destination":  destination,
		"Destinations": obj([]string{"segment", "destinations"}, schemaMap{"segment": str(), "destinations": arrayOf(ref("Destination"))}),
		"AddDestination": obj([]string{"to"}, schemaMap{
			"name": str(), "to": strDoc("csv:FILE, jsonl:FILE, parquet:FILE, arrow:FILE, roaring:FILE, webhook:URL or postgres:CONNSTRING#TABLE"),
			"mode": enum("full", "delta"), "fields": arrayOf(str()), "hash": arrayOf(str()), "changes": boolean(), "batchSize": integer(), "onDemand": boolean(),
			"group": strDoc("send only this group of the segment's split (never its holdout)"),
		}),
		"Export":           obj([]string{"destination"}, schemaMap{"destination": str()}),
		"ExportJob":        exportJob,
		"Exports":          obj([]string{"exports"}, schemaMap{"segment": withDoc(str(), "the segment, when one segment's are listed"), "exports": arrayOf(ref("ExportJob"))}),
		"CustomerSegments": obj([]string{"customer", "segments"}, schemaMap{"customer": str(), "segments": arrayOf(obj([]string{"segment", "status"}, schemaMap{"segment": str(), "status": str(), "since": dateTime(), "sinceKnown": boolean(), "before": dateTime()}))}),
		"Refresh":          obj(nil, schemaMap{"segments": arrayOf(str()), "all": boolean(), "asOf": dateTime()}),
		"Job":              job,
		"Jobs":             obj([]string{"jobs"}, schemaMap{"jobs": arrayOf(ref("Job"))}),
		"Definition":       obj([]string{"definition"}, schemaMap{"definition": definitionSchema()}),
		"Validation":       obj([]string{"valid", "problems"}, schemaMap{"valid": boolean(), "problems": arrayOf(ref("DefinitionProblem"))}),
		"Evaluate":         obj([]string{"definition"}, schemaMap{"definition": definitionSchema(), "asOf": dateTime(), "first": withDoc(integer(), "how many member keys to return (default 10, at most 1000)")}),
		"Inspect":          obj([]string{"definition"}, schemaMap{"definition": definitionSchema(), "asOf": dateTime()}),
		"Inspection": obj([]string{"members", "customers", "groups"}, schemaMap{
			"members": integer(), "customers": integer(),
			"groups": arrayOf(obj([]string{"path", "condition", "size", "running", "conditions"}, schemaMap{
				"path": str(), "setOp": enum("union", "intersect", "except"), "condition": str(),
				"size":       withDoc(integer(), "the customers the group's condition holds for, alone"),
				"running":    withDoc(integer(), "the members after this group's set operation"),
				"conditions": arrayOf(obj([]string{"path", "condition", "size"}, schemaMap{"path": str(), "condition": str(), "size": integer()})),
			})),
		}),
		"Explain": obj([]string{"definition", "customer"}, schemaMap{"definition": definitionSchema(), "asOf": dateTime(), "customer": strDoc("the customer's key")}),
		"Explanation": obj([]string{"customer", "member", "groups"}, schemaMap{
			"customer": str(), "member": boolean(),
			"groups": arrayOf(obj([]string{"running", "condition"}, schemaMap{
				"setOp": enum("union", "intersect", "except"), "running": boolean(), "condition": ref("ExplainNode"),
			})),
		}),
		"ExplainNode": obj([]string{"path", "kind", "condition", "holds"}, schemaMap{
			"path": str(), "kind": enum("and", "or", "not", "predicate", "related", "segment"), "condition": str(), "holds": boolean(),
			"children": arrayOf(ref("ExplainNode")),
			"value":    withDoc(str(), "the customer's value of the predicate's attribute or measure"), "null": boolean(),
			"rows": obj([]string{"entity", "total", "matched", "listed", "attributes", "rows"}, schemaMap{
				"entity": str(), "total": integer(), "matched": integer(), "match": enum("any", "all", "none"),
				"listed": enum("matching", "failing"), "attributes": arrayOf(str()),
				"rows":      withDoc(arrayOf(arrayOf(str())), "up to 20 of the listed rows, each with the values of attributes"),
				"aggregate": str(), "aggregateNull": boolean(),
			}),
		}),
		"Evaluation":  obj([]string{"members", "customers", "asOf", "first"}, schemaMap{"members": integer(), "customers": integer(), "asOf": dateTime(), "first": arrayOf(str())}),
		"QuickField":  quickField,
		"QuickFields": obj([]string{"fields"}, schemaMap{"fields": arrayOf(ref("QuickField"))}),
		"QuickInsights": obj([]string{"name", "source", "type", "kind", "asOf", "customers", "nulls", "distinct"}, schemaMap{
			"name": str(), "source": str(), "type": str(), "kind": str(), "displayName": str(), "asOf": dateTime(),
			"customers": integer(), "nulls": integer(), "distinct": integer(),
			"top": arrayOf(obj([]string{"value", "customers"}, schemaMap{"value": anyValue(), "customers": integer()})), "other": integer(),
			"percentiles": withDoc(arrayOf(anyValue()), "p0 to p100, nearest rank"),
		}),
		"QuickEstimate": obj([]string{"field", "operator", "members", "customers", "share"}, schemaMap{
			"field": str(), "operator": str(), "value": str(), "asOf": dateTime(), "members": integer(), "customers": integer(), "share": number(),
		}),
		"QuickCreate": obj([]string{"name", "field", "op"}, schemaMap{
			"name": str(), "displayName": str(), "field": str(), "op": enum("is", "between", "greaterThan", "lessThan"),
			"value": strDoc("the value as text; between: LOW,HIGH"), "active": boolean(), "asOf": dateTime(),
		}),
		"Token":       obj([]string{"id", "name", "role", "created"}, schemaMap{"id": integer(), "name": str(), "role": enum("viewer", "editor", "admin"), "created": dateTime()}),
		"Tokens":      obj([]string{"tokens"}, schemaMap{"tokens": arrayOf(ref("Token"))}),
		"CreateToken": obj([]string{"role"}, schemaMap{"name": str(), "role": enum("viewer", "editor", "admin")}),
		"NewToken": obj([]string{"token", "id", "name", "role", "created"}, schemaMap{
			"token": strDoc("the secret: shown here once, kept nowhere"), "id": integer(), "name": str(), "role": str(), "created": dateTime(),
		}),
	}
}

var pathParam = regexp.MustCompile(`\{([a-zA-Z]+)\}`)

// OpenAPI returns the API's OpenAPI 3.1 document.
func OpenAPI() map[string]any {
	paths := schemaMap{}
	for _, rt := range apiRoutes() {
		op := schemaMap{"operationId": rt.id, "summary": rt.summary}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, schemaMap{"name": m[1], "in": "path", "required": true, "schema": str()})
		}
		for _, q := range rt.query {
			s := str()
			switch q.typ {
			case "integer":
				s = integer()
			case "boolean":
				s = boolean()
			case "date-time":
				s = dateTime()
			}
			params = append(params, schemaMap{"name": q.name, "in": "query", "description": q.doc, "schema": s})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.body != "" {
			op["requestBody"] = schemaMap{"required": true, "content": schemaMap{"application/json": schemaMap{"schema": ref(rt.body)}}}
		}
		responses := schemaMap{}
		okResp := schemaMap{"description": "success"}
		switch rt.resp {
		case "":
		case "csv":
			okResp["content"] = schemaMap{"text/csv": schemaMap{"schema": str()}}
		default:
			okResp["content"] = schemaMap{"application/json": schemaMap{"schema": ref(rt.resp)}}
		}
		responses[strconv.Itoa(rt.ok)] = okResp
		for _, code := range append(append([]int(nil), commonErrors...), rt.errs...) {
			responses[strconv.Itoa(code)] = schemaMap{"description": strings.ToLower(statusText(code)),
				"content": schemaMap{"application/problem+json": schemaMap{"schema": ref("Problem")}}}
		}
		op["responses"] = responses
		if rt.role != 0 {
			op["x-segmentkit-role"] = rt.role.String()
		} else {
			op["security"] = []any{}
		}
		item, _ := paths[rt.path].(schemaMap)
		if item == nil {
			item = schemaMap{}
			paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": schemaMap{"title": "segmentkit", "version": moduleVersion(),
			"description": "segmentkit's service: segments, their refreshes, previews, downloads and exports, quick segments. Errors are RFC 9457 problem documents. Roles: viewer reads, editor changes segments, admin manages tokens and destinations (x-segmentkit-role is each operation's)."},
		"paths": paths,
		"components": schemaMap{
			"schemas": components(),
			"securitySchemes": schemaMap{
				"token":   schemaMap{"type": "http", "scheme": "bearer", "description": "an API token (segmentkit serve token create); not needed on loopback"},
				"session": schemaMap{"type": "apiKey", "in": "cookie", "name": SessionCookie, "description": "the page's session; changes need the X-CSRF-Token header"},
			},
		},
		"security": []any{schemaMap{"token": []any{}}, schemaMap{"session": []any{}}},
	}
}

func statusText(code int) string {
	switch code {
	case 499:
		return "client closed the request"
	}
	return http.StatusText(code)
}

// moduleVersion is segmentkit's module version from the build
// information, "(devel)" in the source tree.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
