package diag

import "encoding/json"

// problemJSON is a problem as segmentkit's JSON output writes it: the CLI's
// --json, the catalog's segments and the service's problem documents.
type problemJSON struct {
	Path       string `json:"path,omitempty"`
	Message    string `json:"message"`
	Code       string `json:"code,omitempty"`
	Suggestion string `json:"suggestion,omitempty"`
}

// MarshalJSON writes the problem as an object with its path, message,
// code (of its sentinel, see [Code]) and suggestion; the empty ones are
// left out, except the message.
func (p *Problem) MarshalJSON() ([]byte, error) {
	return json.Marshal(problemJSON{Path: p.Path, Message: p.Message, Code: Code(p), Suggestion: p.Suggestion})
}

// UnmarshalJSON reads what MarshalJSON writes; the sentinel comes back
// from the code when it is known ([Sentinel]).
func (p *Problem) UnmarshalJSON(b []byte) error {
	var j problemJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*p = Problem{Path: j.Path, Message: j.Message, Suggestion: j.Suggestion, Err: Sentinel(j.Code)}
	return nil
}

// MarshalJSON writes the list as an array of problems ([Problem.MarshalJSON]),
// [] when it is empty.
func (l List) MarshalJSON() ([]byte, error) {
	if l == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]*Problem(l))
}
