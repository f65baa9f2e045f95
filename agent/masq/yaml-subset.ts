// agent/masq/yaml-subset: a small strict parser for the YAML that ip-masq-agent config files use, so the
// agent needs no YAML dependency. Pure.
//
// Accepted: one mapping of top-level `key: value` lines; values are plain or quoted scalars, flow sequences
// (`[a, b]`) or block sequences (indented `- item` lines under `key:`); `#` comments, blank lines, and a
// leading `---`. Everything else (nested mappings, anchors, multi-line strings, tabs for indentation, ...)
// is rejected with the line number, rather than guessed at.

/** A scalar keeps its source form: `quoted` scalars are always strings, plain ones may be booleans. */
export interface YamlScalar {
  readonly text: string;
  readonly quoted: boolean;
}

export type YamlValue = YamlScalar | readonly YamlScalar[];

export class YamlSubsetError extends SyntaxError {
  override readonly name = "YamlSubsetError";
  readonly line: number;
  constructor(line: number, message: string) {
    super(`Line ${line}: ${message}`);
    this.line = line;
  }
}

const KEY_RE = /^([A-Za-z_][A-Za-z0-9_-]*)\s*:(?:\s+(.*)|)$/;

/** Parses the subset into an ordered map of top-level keys. @throws YamlSubsetError */
export function parseYamlSubset(text: string): Map<string, YamlValue> {
  const out = new Map<string, YamlValue>();
  const lines = text.split(/\r?\n/);
  let openList: { key: string; items: YamlScalar[]; indent: number | undefined; line: number } | undefined;
  // "key:" with no items below is YAML's null, not an empty list: refused (write [] for none).
  const closeList = (): void => {
    if (openList !== undefined && openList.items.length === 0) {
      throw new YamlSubsetError(openList.line, `key ${JSON.stringify(openList.key)} has no value: write [] for an empty list, or list the items below it`);
    }
    openList = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i] ?? "";
    if (raw.includes("\t")) throw new YamlSubsetError(lineNo, "tabs are not allowed in YAML indentation or values");
    const line = stripComment(raw, lineNo).trimEnd();
    if (line.trim() === "") continue;
    if (i === 0 && line === "---") continue;
    const indent = line.length - line.trimStart().length;
    const body = line.trimStart();
    if (indent > 0) {
      if (openList === undefined || !body.startsWith("-")) {
        throw new YamlSubsetError(lineNo, `unexpected indented content ${JSON.stringify(body)}`);
      }
      if (openList.indent !== undefined && indent !== openList.indent) {
        throw new YamlSubsetError(lineNo, "list items must share one indentation");
      }
      openList.indent = indent;
      openList.items.push(parseListItem(body, lineNo));
      continue;
    }
    if (body.startsWith("-")) {
      // "key:\n- item" (items at column 0) is valid YAML too.
      if (openList === undefined) throw new YamlSubsetError(lineNo, "a list item needs a key above it");
      if (openList.indent !== undefined && openList.indent !== 0) {
        throw new YamlSubsetError(lineNo, "list items must share one indentation");
      }
      openList.indent = 0;
      openList.items.push(parseListItem(body, lineNo));
      continue;
    }
    closeList();
    const m = KEY_RE.exec(body);
    if (m === null) throw new YamlSubsetError(lineNo, `expected "key: value", got ${JSON.stringify(body)}`);
    const key = m[1] ?? "";
    if (out.has(key)) throw new YamlSubsetError(lineNo, `duplicate key ${JSON.stringify(key)}`);
    const rest = (m[2] ?? "").trim();
    if (rest === "") {
      const items: YamlScalar[] = [];
      out.set(key, items);
      openList = { key, items, indent: undefined, line: lineNo };
    } else if (rest.startsWith("[")) {
      out.set(key, parseFlowList(rest, lineNo));
    } else {
      out.set(key, parseScalar(rest, lineNo));
    }
  }
  closeList();
  return out;
}

function parseListItem(body: string, lineNo: number): YamlScalar {
  if (!/^-(\s|$)/.test(body)) throw new YamlSubsetError(lineNo, `expected "- item", got ${JSON.stringify(body)}`);
  const value = body.slice(1).trim();
  if (value === "") throw new YamlSubsetError(lineNo, "empty list item");
  if (value.startsWith("[") || value.startsWith("-") || /^[^"']*:\s/.test(value) || value.endsWith(":")) {
    throw new YamlSubsetError(lineNo, `nested lists and mappings are not supported: ${JSON.stringify(value)}`);
  }
  return parseScalar(value, lineNo);
}

function parseFlowList(text: string, lineNo: number): YamlScalar[] {
  if (!text.endsWith("]")) throw new YamlSubsetError(lineNo, `unterminated flow list ${JSON.stringify(text)}`);
  const inner = text.slice(1, -1).trim();
  if (inner === "") return [];
  const items: YamlScalar[] = [];
  let pos = 0;
  while (pos <= inner.length) {
    let end: number;
    const ch = inner[pos];
    if (ch === '"' || ch === "'") {
      end = closingQuote(inner, pos, lineNo) + 1;
    } else {
      end = inner.indexOf(",", pos);
      if (end < 0) end = inner.length;
    }
    const item = inner.slice(pos, end).trim();
    if (item === "") throw new YamlSubsetError(lineNo, `empty item in flow list ${JSON.stringify(text)}`);
    if (/[[\]{}]/.test(item) && !item.startsWith('"') && !item.startsWith("'")) {
      throw new YamlSubsetError(lineNo, `nested collections are not supported: ${JSON.stringify(item)}`);
    }
    items.push(parseScalar(item, lineNo));
    const after = inner.slice(end).trimStart();
    if (after === "") break;
    if (!after.startsWith(",")) throw new YamlSubsetError(lineNo, `expected "," in flow list ${JSON.stringify(text)}`);
    pos = inner.length - after.length + 1;
    while (inner[pos] === " ") pos++;
  }
  return items;
}

function parseScalar(text: string, lineNo: number): YamlScalar {
  const first = text[0];
  if (first === '"' || first === "'") {
    const close = closingQuote(text, 0, lineNo);
    if (close !== text.length - 1) throw new YamlSubsetError(lineNo, `unexpected text after quoted value ${JSON.stringify(text)}`);
    const inner = text.slice(1, -1);
    if (first === "'") return { text: inner.replaceAll("''", "'"), quoted: true };
    try {
      return { text: JSON.parse(text) as string, quoted: true };
    } catch {
      throw new YamlSubsetError(lineNo, `unsupported escape in ${text}`);
    }
  }
  if (/^[&*!|>%@`{]/.test(text)) {
    throw new YamlSubsetError(lineNo, `YAML feature not supported here: ${JSON.stringify(text)}`);
  }
  return { text, quoted: false };
}

/** Index of the quote closing the one at `start` ('' escapes a single quote, \" a double one). */
function closingQuote(text: string, start: number, lineNo: number): number {
  const q = text[start];
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (q === '"' && c === "\\") {
      i++;
      continue;
    }
    if (c === q) {
      if (q === "'" && text[i + 1] === "'") {
        i++;
        continue;
      }
      return i;
    }
  }
  throw new YamlSubsetError(lineNo, `unterminated quoted value ${JSON.stringify(text.slice(start))}`);
}

/** Removes a `#` comment (one that starts the line or follows a space) outside quotes. */
function stripComment(line: string, lineNo: number): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote !== undefined) {
      if (quote === '"' && c === "\\") i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      // A quote only opens a quoted scalar at the start of a value.
      const before = line.slice(0, i).trimEnd();
      if (before === "" || before.endsWith(":") || before.endsWith("-") || before.endsWith("[") || before.endsWith(",")) quote = c;
    } else if (c === "#" && (i === 0 || line[i - 1] === " ")) {
      return line.slice(0, i);
    }
  }
  if (quote !== undefined) throw new YamlSubsetError(lineNo, "unterminated quoted value");
  return line;
}
