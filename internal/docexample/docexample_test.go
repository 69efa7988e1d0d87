package docexample

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const doc = "# Title\n" +
	"\n" +
	"```sh\n" +
	"echo before\n" +
	"```\n" +
	"\n" +
	"## Part\n" +
	"\n" +
	"### On A\n" +
	"\n" +
	"Text.\n" +
	"\n" +
	"```sh\n" +
	"# a comment\n" +
	"segmentkit demo --out d\n" +
	"cat > t.sql <<'EOF'\n" +
	"## not a heading\n" +
	"SELECT 1;\n" +
	"EOF\n" +
	"segmentkit sql --data d \\\n" +
	"    --dialect spark > q.sql\n" +
	"```\n" +
	"\n" +
	"#### A detail, inside On A\n" +
	"\n" +
	"````text\n" +
	"```\n" +
	"out\n" +
	"````\n" +
	"\n" +
	"### On B\n" +
	"\n" +
	"```sql\n" +
	"SELECT 2\n" +
	"```\n" +
	"\n" +
	"## Next\n" +
	"\n" +
	"```\n" +
	"plain\n" +
	"```\n"

func TestSection(t *testing.T) {
	a := Section(doc, "### On A")
	require.Len(t, a, 2)
	require.Equal(t, "sh", a[0].Info)
	require.Equal(t, 13, a[0].Line)
	require.Equal(t, "text", a[1].Info)
	require.Equal(t, "```\nout\n", a[1].Text)

	b := Section(doc, "### On B")
	require.Equal(t, []Block{{Info: "sql", Text: "SELECT 2\n", Line: 33}}, b)

	part := Section(doc, "## Part")
	require.Len(t, part, 3, "a section holds its subsections")
	require.Equal(t, a, part[:2])

	require.Nil(t, Section(doc, "### On C"))
	require.Nil(t, Section(doc, "## not a heading"), "a line in a fence is no heading")
	require.Nil(t, Section(doc, "not a heading"))

	open := Section("## X\n```sh\nls\n", "## X")
	require.Equal(t, []Block{{Info: "sh", Text: "ls\n", Line: 2}}, open, "a fence left open runs to the end")
}

func TestHeredocsAndCommands(t *testing.T) {
	sh := Section(doc, "### On A")[0].Text
	require.Equal(t, map[string]string{"t.sql": "## not a heading\nSELECT 1;\n"}, Heredocs(sh))
	require.Equal(t, []string{
		"segmentkit demo --out d",
		"cat > t.sql <<'EOF'",
		"segmentkit sql --data d --dialect spark > q.sql",
	}, Commands(sh))
}
