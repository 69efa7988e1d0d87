// Package docexample reads the examples of a Markdown document, for the
// tests that run what a document tells a user to run, or compare what it
// shows with what the code prints: the fenced code blocks of a section,
// and in a shell block its commands and the files it writes with
// here-documents.
//
//	blocks := docexample.Section(doc, "### On Trino")
//	for _, b := range blocks {
//		if b.Info == "sh" {
//			files := docexample.Heredocs(b.Text)    // "trino-tables.sql": "CREATE ..."
//			commands := docexample.Commands(b.Text) // "segmentkit sql --data ...", ...
//		}
//	}
package docexample

import (
	"regexp"
	"strings"
)

// Block is one fenced code block of a document.
type Block struct {
	// Info is the fence's info string: the language, such as "sh",
	// "sql" or "text"; "" when the fence has none.
	Info string
	// Text is the block's lines, each ending in "\n".
	Text string
	// Line is the 1-based line of the opening fence in the document.
	Line int
}

// Section returns the fenced code blocks of the section whose heading
// line is heading ("### On Trino", as written), in order: from the
// heading to the next heading of the same or a higher level, or the end.
// It returns nil when the document has no such heading. Lines inside a
// fence are never headings; a fence left open runs to the end.
func Section(doc string, heading string) []Block {
	level := headingLevel(heading)
	if level == 0 {
		return nil
	}
	var (
		blocks  []Block
		in      bool   // inside the section
		fence   string // the open fence, "" outside one
		current Block
	)
	for i, line := range strings.Split(strings.TrimSuffix(doc, "\n"), "\n") {
		if fence != "" {
			if strings.TrimSpace(line) == fence {
				if in {
					blocks = append(blocks, current)
				}
				fence = ""
			} else {
				current.Text += line + "\n"
			}
			continue
		}
		if f, info, ok := openingFence(line); ok {
			fence, current = f, Block{Info: info, Line: i + 1}
			continue
		}
		if l := headingLevel(line); l > 0 {
			if in && l <= level {
				return blocks
			}
			in = in || strings.TrimSpace(line) == strings.TrimSpace(heading)
		}
	}
	if in && fence != "" {
		blocks = append(blocks, current)
	}
	if !in {
		return nil
	}
	return blocks
}

// headingLevel returns the level of an ATX heading line ("## x" is 2), or
// 0 for another line.
func headingLevel(line string) int {
	n := 0
	for n < len(line) && line[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || n == len(line) || line[n] != ' ' {
		return 0
	}
	return n
}

// openingFence reports whether line opens a fenced block: its fence (the
// run of backquotes or tildes) and its info string.
func openingFence(line string) (fence, info string, ok bool) {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 || len(t) < 3 || (t[0] != '`' && t[0] != '~') {
		return "", "", false
	}
	n := 0
	for n < len(t) && t[n] == t[0] {
		n++
	}
	if n < 3 {
		return "", "", false
	}
	return t[:n], strings.TrimSpace(t[n:]), true
}

// heredocStart matches a command that writes a here-document to a file:
// cat > NAME <<'EOF' (the delimiter quoted, so the shell expands nothing).
var heredocStart = regexp.MustCompile(`^\s*cat\s*>\s*(\S+)\s*<<\s*'(\w+)'\s*$`)

// Heredocs returns the files a shell block writes with
// cat > NAME <<'DELIM' ... DELIM, by NAME: the lines between, each ending
// in "\n".
func Heredocs(sh string) map[string]string {
	files := map[string]string{}
	lines := strings.Split(sh, "\n")
	for i := 0; i < len(lines); i++ {
		m := heredocStart.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		var b strings.Builder
		for i++; i < len(lines) && lines[i] != m[2]; i++ {
			b.WriteString(lines[i] + "\n")
		}
		files[m[1]] = b.String()
	}
	return files
}

// Commands returns the commands of a shell block, one string each: its
// lines with the here-documents' bodies, blank lines and comments left
// out, and lines ending in a backslash joined with the next.
func Commands(sh string) []string {
	var out []string
	lines := strings.Split(sh, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if m := heredocStart.FindStringSubmatch(lines[i]); m != nil {
			for i++; i < len(lines) && lines[i] != m[2]; i++ {
			}
			out = append(out, line)
			continue
		}
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSpace(strings.TrimSuffix(line, `\`)) + " " + strings.TrimSpace(lines[i])
		}
		out = append(out, line)
	}
	return out
}
