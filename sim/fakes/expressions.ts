/**
 * DynamoDB's update and condition expressions, evaluated on an item in memory: enough of the language for
 * the fake to run the real ledger adapter's writes (whatever expressions it is changed to), and to refuse
 * loudly what it does not understand rather than guess.
 *
 * Supported: SET (`=`, `+`, `-`, if_not_exists, list_append), REMOVE, ADD (numbers), paths with `.` and
 * `[n]`, `#names` and `:values`; conditions with comparisons, BETWEEN, IN, AND/OR/NOT, parentheses,
 * attribute_exists, attribute_not_exists, attribute_type, begins_with, contains and size.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export type Item = Record<string, AttributeValue>;

export class ExpressionError extends Error {
  override name = 'ValidationException';
}

type Token = { kind: 'name' | 'value' | 'ident' | 'num' | 'op'; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re =
    /\s*(?:(#[A-Za-z0-9_]+)|(:[A-Za-z0-9_]+)|([A-Za-z_][A-Za-z0-9_]*)|(\d+)|(<>|<=|>=|[=<>(),.[\]+-]))/y;
  let index = 0;
  while (index < text.length) {
    if (/^\s*$/.test(text.slice(index))) break;
    re.lastIndex = index;
    const m = re.exec(text);
    if (!m) throw new ExpressionError(`sim: cannot parse expression at '${text.slice(index, index + 20)}'`);
    index = re.lastIndex;
    if (m[1]) tokens.push({ kind: 'name', text: m[1] });
    else if (m[2]) tokens.push({ kind: 'value', text: m[2] });
    else if (m[3]) tokens.push({ kind: 'ident', text: m[3] });
    else if (m[4]) tokens.push({ kind: 'num', text: m[4] });
    else tokens.push({ kind: 'op', text: m[5] as string });
  }
  return tokens;
}

type PathPart = string | number;

interface Context {
  readonly names: Record<string, string>;
  readonly values: Record<string, AttributeValue>;
}

class Parser {
  #i = 0;
  constructor(
    readonly tokens: Token[],
    readonly ctx: Context,
  ) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.#i + offset];
  }
  next(): Token {
    const t = this.tokens[this.#i++];
    if (!t) throw new ExpressionError('sim: unexpected end of expression');
    return t;
  }
  done(): boolean {
    return this.#i >= this.tokens.length;
  }
  expect(text: string): void {
    const t = this.next();
    if (t.text.toUpperCase() !== text.toUpperCase()) {
      throw new ExpressionError(`sim: expected '${text}', found '${t.text}'`);
    }
  }
  isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t?.kind === 'ident' && t.text.toUpperCase() === word;
  }

  path(): PathPart[] {
    const parts: PathPart[] = [this.nameOf(this.next())];
    for (;;) {
      const t = this.peek();
      if (t?.text === '.') {
        this.next();
        parts.push(this.nameOf(this.next()));
      } else if (t?.text === '[') {
        this.next();
        parts.push(Number(this.next().text));
        this.expect(']');
      } else return parts;
    }
  }

  nameOf(t: Token): string {
    if (t.kind === 'name') {
      const name = this.ctx.names[t.text];
      if (name === undefined) throw new ExpressionError(`sim: ExpressionAttributeNames has no ${t.text}`);
      return name;
    }
    if (t.kind === 'ident') return t.text;
    throw new ExpressionError(`sim: expected an attribute name, found '${t.text}'`);
  }

  valueOf(t: Token): AttributeValue {
    const value = this.ctx.values[t.text];
    if (value === undefined) throw new ExpressionError(`sim: ExpressionAttributeValues has no ${t.text}`);
    return value;
  }
}

function get(item: Item, path: PathPart[]): AttributeValue | undefined {
  let current: AttributeValue | undefined = { M: item };
  for (const part of path) {
    if (current === undefined) return undefined;
    if (typeof part === 'number') current = current.L?.[part];
    else current = current.M?.[part];
  }
  return current;
}

function set(item: Item, path: PathPart[], value: AttributeValue | undefined): void {
  let container: AttributeValue = { M: item };
  for (let i = 0; i < path.length - 1; i++) {
    const part = path[i] as PathPart;
    const child: AttributeValue | undefined =
      typeof part === 'number' ? container.L?.[part] : container.M?.[part];
    if (child === undefined) {
      throw new ExpressionError('The document path provided in the update expression is invalid for update');
    }
    container = child;
  }
  const last = path[path.length - 1] as PathPart;
  if (typeof last === 'number') {
    if (!container.L) throw new ExpressionError('sim: index into a non-list');
    if (value === undefined) container.L.splice(last, 1);
    else container.L[last] = value;
  } else {
    if (!container.M) throw new ExpressionError('sim: member of a non-map');
    if (value === undefined) delete container.M[last];
    else container.M[last] = value;
  }
}

// ---- operands ---------------------------------------------------------------------------------------

function operand(p: Parser, item: Item): AttributeValue | undefined {
  const t = p.peek();
  if (!t) throw new ExpressionError('sim: operand expected');
  if (t.kind === 'value') {
    p.next();
    return p.valueOf(t);
  }
  if (t.kind === 'ident' && p.peek(1)?.text === '(') {
    const fn = p.next().text;
    p.expect('(');
    if (fn === 'if_not_exists') {
      const path = p.path();
      p.expect(',');
      const fallback = operand(p, item);
      p.expect(')');
      return get(item, path) ?? fallback;
    }
    if (fn === 'list_append') {
      const a = operand(p, item);
      p.expect(',');
      const b = operand(p, item);
      p.expect(')');
      return { L: [...(a?.L ?? []), ...(b?.L ?? [])] };
    }
    if (fn === 'size') {
      const v = get(item, p.path());
      p.expect(')');
      return v === undefined ? undefined : { N: String(sizeOf(v)) };
    }
    throw new ExpressionError(`sim: unsupported function ${fn}`);
  }
  return get(item, p.path());
}

function sizeOf(v: AttributeValue): number {
  if (v.S !== undefined) return v.S.length;
  if (v.B !== undefined) return v.B.length;
  if (v.L) return v.L.length;
  if (v.M) return Object.keys(v.M).length;
  if (v.SS) return v.SS.length;
  if (v.NS) return v.NS.length;
  return 0;
}

function compare(a: AttributeValue | undefined, b: AttributeValue | undefined): number | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (a.N !== undefined && b.N !== undefined) return Number(a.N) - Number(b.N);
  if (a.S !== undefined && b.S !== undefined) return a.S < b.S ? -1 : a.S > b.S ? 1 : 0;
  return undefined;
}

function equal(a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

function normalize(v: AttributeValue): unknown {
  if (v.N !== undefined) return { N: Number(v.N) };
  if (v.M)
    return {
      M: Object.fromEntries(
        Object.keys(v.M)
          .sort()
          .map((k) => [k, normalize(v.M![k]!)]),
      ),
    };
  if (v.L) return { L: v.L.map(normalize) };
  return v;
}

// ---- conditions -------------------------------------------------------------------------------------

function condition(p: Parser, item: Item): boolean {
  let result = conjunction(p, item);
  while (p.isKeyword('OR')) {
    p.next();
    const right = conjunction(p, item);
    result = result || right;
  }
  return result;
}

function conjunction(p: Parser, item: Item): boolean {
  let result = factor(p, item);
  while (p.isKeyword('AND')) {
    p.next();
    const right = factor(p, item);
    result = result && right;
  }
  return result;
}

function factor(p: Parser, item: Item): boolean {
  if (p.isKeyword('NOT')) {
    p.next();
    return !factor(p, item);
  }
  const t = p.peek();
  if (t?.text === '(') {
    p.next();
    const result = condition(p, item);
    p.expect(')');
    return result;
  }
  if (t?.kind === 'ident' && p.peek(1)?.text === '(' && t.text !== 'size') {
    const fn = p.next().text;
    p.expect('(');
    const path = p.path();
    let result: boolean;
    if (fn === 'attribute_exists') result = get(item, path) !== undefined;
    else if (fn === 'attribute_not_exists') result = get(item, path) === undefined;
    else {
      p.expect(',');
      const arg = operand(p, item);
      const v = get(item, path);
      if (fn === 'begins_with') result = v?.S !== undefined && arg?.S !== undefined && v.S.startsWith(arg.S);
      else if (fn === 'contains')
        result =
          (v?.S !== undefined && arg?.S !== undefined && v.S.includes(arg.S)) ||
          (v?.SS !== undefined && arg?.S !== undefined && v.SS.includes(arg.S)) ||
          (v?.L !== undefined && v.L.some((e) => equal(e, arg)));
      else if (fn === 'attribute_type') result = v !== undefined && arg?.S !== undefined && arg.S in v;
      else throw new ExpressionError(`sim: unsupported condition function ${fn}`);
    }
    p.expect(')');
    return result;
  }
  const left = operand(p, item);
  if (p.isKeyword('BETWEEN')) {
    p.next();
    const low = operand(p, item);
    p.expect('AND');
    const high = operand(p, item);
    const a = compare(left, low);
    const b = compare(left, high);
    return a !== undefined && b !== undefined && a >= 0 && b <= 0;
  }
  if (p.isKeyword('IN')) {
    p.next();
    p.expect('(');
    const options = [operand(p, item)];
    while (p.peek()?.text === ',') {
      p.next();
      options.push(operand(p, item));
    }
    p.expect(')');
    return options.some((o) => equal(left, o));
  }
  const op = p.next().text;
  const right = operand(p, item);
  switch (op) {
    case '=':
      return equal(left, right);
    case '<>':
      return left !== undefined && right !== undefined && !equal(left, right);
    default: {
      const c = compare(left, right);
      if (c === undefined) return false;
      return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : op === '>=' ? c >= 0 : false;
    }
  }
}

/** Whether `expression` holds for `item` (an absent item is `{}`). */
export function evaluateCondition(expression: string, item: Item, ctx: Context): boolean {
  const p = new Parser(tokenize(expression), ctx);
  const result = condition(p, item);
  if (!p.done()) throw new ExpressionError(`sim: trailing tokens in condition '${expression}'`);
  return result;
}

/** Applies an update expression to a copy of `item` and returns it. */
export function applyUpdate(expression: string, original: Item, ctx: Context): Item {
  const item = structuredClone(original);
  const p = new Parser(tokenize(expression), ctx);
  // Every operand reads the item as it was before the update (DynamoDB semantics).
  const before = structuredClone(original);
  while (!p.done()) {
    const clause = p.next().text.toUpperCase();
    do {
      if (p.peek()?.text === ',') p.next();
      if (clause === 'SET') {
        const path = p.path();
        p.expect('=');
        let value = operand(p, before);
        const t = p.peek();
        if (t?.text === '+' || t?.text === '-') {
          p.next();
          const other = operand(p, before);
          if (value?.N === undefined || other?.N === undefined) {
            throw new ExpressionError('An operand in the update expression has an incorrect data type');
          }
          const n = t.text === '+' ? Number(value.N) + Number(other.N) : Number(value.N) - Number(other.N);
          value = { N: String(n) };
        }
        if (value === undefined) {
          throw new ExpressionError(
            'The provided expression refers to an attribute that does not exist in the item',
          );
        }
        set(item, path, value);
      } else if (clause === 'REMOVE') {
        const path = p.path();
        if (get(item, path) !== undefined) set(item, path, undefined);
      } else if (clause === 'ADD') {
        const path = p.path();
        const value = operand(p, before);
        const existing = get(item, path);
        if (value?.N === undefined) throw new ExpressionError('sim: ADD supports numbers only');
        set(item, path, { N: String(Number(existing?.N ?? '0') + Number(value.N)) });
      } else {
        throw new ExpressionError(`sim: unsupported update clause ${clause}`);
      }
    } while (p.peek()?.text === ',');
  }
  return item;
}
