/**
 * The run filter language, e.g. `params.optim.lr > 0.001 and metrics.val_top1_error < 0.5`.
 * Pure TypeScript with no imports: the browser UI parses filters too, to point at mistakes live.
 *
 *   filter     = [ or ] ;                         (* blank text means "no filter" *)
 *   or         = and { "or" and } ;
 *   and        = not { "and" not } ;
 *   not        = "not" not | "(" or ")" | comparison ;
 *   comparison = field ( cmp value | [ "not" ] "like" value | "is" [ "not" ] "null" ) ;
 *   cmp        = "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=" ;
 *   field      = run_field | "params." key | "tags." key | "metrics." segment [ ".min" | ".max" ] ;
 *   key        = segment { "." segment } ;       (* no spaces around the dots *)
 *   segment    = string | bare_key ;             (* bare_key: no space, quote, ( ) = ! < > or . *)
 *   value      = number | string | word | "null" ;
 *   run_field  = id | name | status | preset | experiment | dataset | backend | created_at
 *              | started_at | ended_at | seed | epochs_done | cluster | node ;
 *
 * Keywords, run field names and the params/metrics/tags prefixes are case-insensitive; keys and
 * values are not. A word is any run of characters other than space, quotes, ( ) = ! < >, so
 * `status = completed` and `created_at >= 2024-03-01` need no quotes; a word that reads as a
 * number (-1, .5, 1e-3) is a number, except after LIKE, where the pattern is kept as typed.
 * Metrics are numbers, so they take only numbers (or null) and no LIKE. `x = null` is `x is null`.
 */

/** Run columns a filter may name without a prefix. */
// prettier-ignore
export const RUN_FIELDS = [
  'id', 'name', 'status', 'preset', 'experiment', 'dataset', 'backend', 'created_at', 'started_at',
  'ended_at', 'seed', 'epochs_done', 'cluster', 'node',
] as const;

/**
 * What a comparison looks at. `stat` is set only for metrics: absent means the latest value,
 * 'min'/'max' the best seen (written `metrics.<key>.min`; metric keys never contain dots).
 */
export type FieldRef = {
  scope: 'run' | 'params' | 'metrics' | 'tags';
  name: string;
  stat?: 'min' | 'max';
};

/** Comparison operators; `x is null` parses as `=` null and `x is not null` as `!=` null. */
export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'like' | 'not like';

/** One comparison. `value` is null only with '=' or '!='. */
export type CompareNode = {
  kind: 'compare';
  field: FieldRef;
  op: CompareOp;
  value: string | number | null;
};

/** A parsed filter; NOT binds tighter than AND, AND tighter than OR, both left-associative. */
export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode }
  | CompareNode;

/**
 * A mistake in a filter. `position` is the 0-based offset of the bad token in the text and
 * `length` its length (at least 1; at the end of the text it points just past the last
 * character). `reason` is the message without the excerpt, for UIs that draw their own marker.
 */
export class FilterSyntaxError extends Error {
  override name = 'FilterSyntaxError';
  constructor(
    readonly reason: string,
    readonly text: string,
    readonly position: number,
    readonly length: number,
  ) {
    super(formatError(reason, text, position, length));
  }
}

/** "reason at column N: excerpt" plus a caret line under the bad token. */
function formatError(reason: string, text: string, position: number, length: number): string {
  const flat = text.replace(/\s/g, ' ');
  // Long filters are cut to a window around the mistake so the caret stays on one screen line.
  const start = Math.max(0, position - 40);
  const end = Math.min(flat.length, position + length + 40);
  const head = `${reason} at column ${position + 1}: ${start > 0 ? '...' : ''}`;
  const excerpt = flat.slice(start, end) + (end < flat.length ? '...' : '');
  return `${head}${excerpt}\n${' '.repeat(head.length + position - start)}${'^'.repeat(length)}`;
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const WORD = /[^\s()'"=!<>]+/y;
const KEY_SEGMENT = /[^\s()'"=!<>.]+/y;
const OPERATOR = /<=|>=|!=|<>|==|=|<|>/y;
const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
// Words that cannot be bare values: `status = and` is far more likely a slip than a status.
const RESERVED = new Set(['and', 'or', 'not', 'like', 'is']);
const ESCAPES: Record<string, string> = {
  '\\': '\\',
  '"': '"',
  "'": "'",
  n: '\n',
  t: '\t',
  r: '\r',
};

/**
 * Parses a filter. Blank text means no filter and returns null.
 * @throws FilterSyntaxError pointing at the first mistake.
 */
export function parseFilter(text: string): FilterNode | null {
  return new Parser(text).parse();
}

class Parser {
  private pos = 0;
  /** The last keyword, operator or '(' consumed, for "expected X after Y" messages. */
  private prev: string | null = null;

  constructor(private readonly text: string) {}

  parse(): FilterNode | null {
    this.skipSpace();
    if (this.pos >= this.text.length) return null;
    const node = this.or();
    this.skipSpace();
    if (this.text[this.pos] === ')') this.fail("unexpected ')' without a matching '('");
    if (this.pos < this.text.length)
      this.fail(`expected 'and', 'or' or the end of the filter, found ${this.found()}`);
    return node;
  }

  private or(): FilterNode {
    let left = this.and();
    while (this.keyword('or')) left = { kind: 'or', left, right: this.and() };
    return left;
  }

  private and(): FilterNode {
    let left = this.not();
    while (this.keyword('and')) left = { kind: 'and', left, right: this.not() };
    return left;
  }

  private not(): FilterNode {
    if (this.keyword('not')) return { kind: 'not', operand: this.not() };
    this.skipSpace();
    if (this.text[this.pos] !== '(') return this.comparison();
    const open = this.pos++;
    this.prev = '(';
    const inner = this.or();
    this.skipSpace();
    if (this.text[this.pos] !== ')')
      this.fail(`expected ')' to close the '(' from column ${open + 1}, found ${this.found()}`);
    this.pos++;
    return inner;
  }

  private comparison(): CompareNode {
    const start = this.pos;
    const field = this.field();
    const fieldText = this.text.slice(start, this.pos);
    this.skipSpace();
    const opAt = this.pos;
    let op: CompareOp;
    if (this.keyword('is')) {
      const negated = this.keyword('not');
      if (!this.keyword('null'))
        this.fail(`expected 'null' after '${this.prev}', found ${this.found()}`);
      return { kind: 'compare', field, op: negated ? '!=' : '=', value: null };
    } else if (this.keyword('not')) {
      if (!this.keyword('like')) this.fail(`expected 'like' after 'not', found ${this.found()}`);
      op = 'not like';
    } else if (this.keyword('like')) {
      op = 'like';
    } else {
      const symbol = this.match(OPERATOR);
      if (!symbol) this.fail(`expected an operator after '${fieldText}', found ${this.found()}`);
      this.pos += symbol.length;
      this.prev = symbol;
      op = symbol === '==' ? '=' : symbol === '<>' ? '!=' : (symbol as CompareOp);
    }
    const like = op === 'like' || op === 'not like';
    if (like && field.scope === 'metrics')
      this.fail('metrics are numbers and cannot be matched with like', opAt, this.pos - opAt);
    this.skipSpace();
    const valueAt = this.pos;
    const value = this.value(like);
    const span = this.pos - valueAt;
    if (value === null && op !== '=' && op !== '!=')
      this.fail(`null can only follow = or != (or use 'is null'), not '${op}'`, valueAt, span);
    if (field.scope === 'metrics' && typeof value === 'string')
      this.fail(
        `expected a number after '${this.prev}', found ${this.found(valueAt)}`,
        valueAt,
        span,
      );
    return { kind: 'compare', field, op, value };
  }

  private field(): FieldRef {
    this.skipSpace();
    const start = this.pos;
    const name = this.match(IDENT) ?? '';
    const lower = name.toLowerCase();
    const after = this.prev ? ` after '${this.prev}'` : '';
    if (!name || RESERVED.has(lower))
      this.fail(`expected a field name${after}, found ${this.found()}`);
    this.pos += name.length;
    const scoped = lower === 'params' || lower === 'metrics' || lower === 'tags';
    if (this.text[this.pos] !== '.') {
      if ((RUN_FIELDS as readonly string[]).includes(lower)) return { scope: 'run', name: lower };
      // A near-miss of a run field (stat, epochs, created) is likelier than a missing prefix.
      const near = RUN_FIELDS.find((f) => f.startsWith(lower.slice(0, 3)));
      const others = `params.${name}, metrics.${name} or tags.${name}`;
      const hint = scoped ? `${lower}.<key>` : near ? `${near} or ${others}` : others;
      this.fail(`unknown field '${name}' (did you mean ${hint}?)`, start, name.length);
    }
    const prefix = `unknown field prefix '${name}.' (use params., metrics. or tags.)`;
    if (!scoped) this.fail(prefix, start, name.length + 1);
    this.pos++;
    const key = [this.segment(start)];
    if (lower === 'metrics') {
      if (this.text[this.pos] !== '.') return { scope: 'metrics', name: key[0]! };
      const soFar = this.text.slice(start, ++this.pos);
      const stat = this.match(IDENT)?.toLowerCase();
      if (stat !== 'min' && stat !== 'max')
        this.fail(`expected 'min' or 'max' after '${soFar}' (metric keys have no dots)`);
      this.pos += stat.length;
      return { scope: 'metrics', name: key[0]!, stat };
    }
    while (this.text[this.pos] === '.') {
      this.pos++;
      key.push(this.segment(start));
    }
    return { scope: lower, name: key.join('.') };
  }

  /** One dot-separated part of a key: bare, or quoted when it holds spaces, dots or quotes. */
  private segment(fieldStart: number): string {
    const at = this.pos;
    const quote = this.text[at];
    const segment = quote === '"' || quote === "'" ? this.string() : this.match(KEY_SEGMENT);
    if (!segment) this.fail(`expected a key after '${this.text.slice(fieldStart, at)}'`, at);
    if (quote !== '"' && quote !== "'") this.pos += segment.length;
    return segment;
  }

  private value(raw: boolean): string | number | null {
    const quote = this.text[this.pos];
    if (quote === '"' || quote === "'") return this.string();
    const at = this.pos;
    const word = this.match(WORD);
    if (!word || RESERVED.has(word.toLowerCase()))
      this.fail(`expected a value after '${this.prev}', found ${this.found()}`);
    this.pos += word.length;
    if (word.toLowerCase() === 'null') return null;
    if (raw || !NUMBER.test(word)) return word;
    const number = Number(word);
    if (!Number.isFinite(number)) this.fail(`number ${word} is out of range`, at, word.length);
    return number;
  }

  private string(): string {
    const start = this.pos;
    const quote = this.text[this.pos++];
    let out = '';
    for (;;) {
      const ch = this.text[this.pos];
      const next = this.text[this.pos + 1];
      if (ch === undefined || (ch === '\\' && next === undefined))
        this.fail('unterminated string', start, this.text.length - start);
      if (ch === quote) break;
      const char = ch === '\\' ? ESCAPES[next!] : ch;
      const bad = `unknown escape '\\${next}' in string (write \\\\ for a backslash)`;
      if (char === undefined) this.fail(bad, this.pos, 2);
      out += char;
      this.pos += ch === '\\' ? 2 : 1;
    }
    this.pos++;
    return out;
  }

  /** Consumes `word` (case-insensitive, whole word) if it comes next. */
  private keyword(word: string): boolean {
    this.skipSpace();
    const ident = this.match(IDENT);
    if (ident?.toLowerCase() !== word) return false;
    this.pos += ident.length;
    this.prev = ident;
    return true;
  }

  private match(re: RegExp, at = this.pos): string | null {
    re.lastIndex = at;
    return re.exec(this.text)?.[0] ?? null;
  }

  private skipSpace(): void {
    while (/\s/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  /** The token at `at`, for messages and caret length. */
  private token(at: number): string {
    const ch = this.text[at];
    if (ch === undefined) return '';
    if (ch === '"' || ch === "'") {
      const close = this.text.indexOf(ch, at + 1);
      return this.text.slice(at, close < 0 ? undefined : close + 1);
    }
    return this.match(OPERATOR, at) ?? this.match(WORD, at) ?? ch;
  }

  private found(at = this.pos): string {
    return at >= this.text.length ? 'the end of the filter' : `'${this.token(at)}'`;
  }

  private fail(reason: string, at = this.pos, length = Math.max(1, this.token(at).length)): never {
    throw new FilterSyntaxError(reason, this.text, at, length);
  }
}
