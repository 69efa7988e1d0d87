// The Spark SQL and Trino syntax check of segmentkit's tests (package
// internal/sqlsyntax), bundled by esbuild into one file that Node.js runs.
//
//   node bundle.js spark|trino
//
// reads one JSON request a line on stdin, {"id": 7, "sql": "SELECT ..."},
// and answers each on stdout, in order, with one line:
// {"id": 7, "errors": [{"line": 1, "column": 8, "message": "..."}]}
// (an empty list when the query parses), or {"id": 7, "fatal": "..."} when
// the check itself failed. It ends when stdin closes.
import * as readline from 'node:readline';
import { BailErrorStrategy, CommonTokenStream, PredictionMode } from 'antlr4ng';
import { SparkSQL, TrinoSQL } from 'dt-sql-parser';

const dialect = process.argv[2];
const parsers = { spark: SparkSQL, trino: TrinoSQL };
if (!parsers[dialect]) {
	process.stderr.write(`validate.js: unknown dialect ${JSON.stringify(dialect)}: want spark or trino\n`);
	process.exit(2);
}
const sql = new parsers[dialect]();
const Lexer = sql.createLexer('').constructor;

// A listener that only counts, for the quick passes.
const counter = {
	errors: 0,
	syntaxError() {
		this.errors++;
	},
	reportAmbiguity() {},
	reportAttemptingFullContext() {},
	reportContextSensitivity() {},
};

// tokenize returns the text's tokens and whether the lexer took it all.
function tokenize(text) {
	const lexer = sql.createLexer(text);
	lexer.removeErrorListeners();
	counter.errors = 0;
	lexer.addErrorListener(counter);
	const tokens = new CommonTokenStream(lexer);
	tokens.fill();
	return { tokens, ok: counter.errors === 0 };
}

// parses tells whether the tokens parse, stopping at the first error,
// without building a tree, in ANTLR's prediction mode.
function parses(tokens, mode) {
	tokens.seek(0);
	const parser = sql.createParserFromTokenStream(tokens);
	parser.removeErrorListeners();
	parser.interpreter.predictionMode = mode;
	parser.errorHandler = new BailErrorStrategy();
	parser.buildParseTrees = false;
	try {
		parser.program();
		return true;
	} catch {
		return false;
	}
}

// grammarErrors parses text with the dialect's grammar. The fast SLL mode
// (what dt-sql-parser's validate uses) decides most queries; one that SLL
// rejects is parsed in full LL mode, since SLL may reject a valid query
// that needs full context. A query that LL rejects too goes to
// dt-sql-parser's validate, which words the errors with what was
// expected.
function grammarErrors(text, tokens, lexed) {
	if (lexed && (parses(tokens, PredictionMode.SLL) || parses(tokens, PredictionMode.LL))) {
		return [];
	}
	const errors = sql.validate(text).map((e) => ({ line: e.startLine, column: e.startColumn, message: e.message }));
	if (errors.length === 0) {
		// Never seen: SLL with recovery accepts what SLL rejected.
		errors.push({ line: 1, column: 1, message: 'the query does not parse (no position known)' });
	}
	return errors;
}

// trinoTokenErrors reports what Trino's parser rejects after its grammar
// has accepted it (in its AstBuilder): backquoted identifiers and
// identifiers that start with a digit, with Trino's messages.
function trinoTokenErrors(tokens) {
	const out = [];
	for (const t of tokens.getTokens()) {
		let message = '';
		if (t.type === Lexer.BACKQUOTED_IDENTIFIER) {
			message = 'backquoted identifiers are not supported; use double quotes to quote identifiers';
		} else if (t.type === Lexer.DIGIT_IDENTIFIER) {
			message = 'identifiers must not start with a digit; surround the identifier with double quotes';
		}
		if (message) {
			out.push({ line: t.line, column: t.column + 1, message: `'${t.text}': ${message}` });
		}
	}
	return out;
}

function check(text) {
	const { tokens, ok } = tokenize(text);
	const errors = grammarErrors(text, tokens, ok);
	if (dialect === 'trino') {
		errors.push(...trinoTokenErrors(tokens));
	}
	errors.sort((a, b) => a.line - b.line || a.column - b.column);
	return errors;
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
	if (line.trim() === '') {
		return;
	}
	let id = null;
	let answer;
	try {
		const req = JSON.parse(line);
		id = req.id;
		if (typeof req.sql !== 'string') {
			throw new Error('the request has no string "sql"');
		}
		answer = { id, errors: check(req.sql) };
	} catch (e) {
		answer = { id, fatal: String((e && e.stack) || e) };
	}
	process.stdout.write(JSON.stringify(answer) + '\n');
});
