// agent/masq/iptables-save: reads `iptables-save -t <table>` output into chains and rules, and writes rule
// arguments back in the quoting iptables-restore accepts. Pure.
//
// Rules are compared as token lists, not as text: iptables-save prints every rule in one canonical order
// (-s/-d/-i/-o/-p first, then matches in order, then the target), and our renderer emits that order, so a
// chain that is already right compares equal and costs no write.

export interface SavedRule {
  readonly chain: string;
  /** The rule's arguments after "-A CHAIN", unquoted. */
  readonly args: readonly string[];
}

export interface SavedTable {
  readonly table: string;
  readonly chains: ReadonlySet<string>;
  readonly rules: readonly SavedRule[];
}

/**
 * Parses the `*<table>` block of iptables-save output. A table that is absent yields no chains and no rules
 * (a fresh namespace where nothing created the table yet).
 * @throws SyntaxError on a line it cannot tokenise
 */
export function parseIptablesSave(text: string, table: string): SavedTable {
  const chains = new Set<string>();
  const rules: SavedRule[] = [];
  let inTable = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) {
      inTable = line.slice(1).trim() === table;
      continue;
    }
    if (!inTable) continue;
    if (line.startsWith("COMMIT")) {
      inTable = false;
    } else if (line.startsWith(":")) {
      const name = line.slice(1).split(" ")[0];
      if (name !== undefined && name !== "") chains.add(name);
    } else if (line.startsWith("-A ")) {
      const tokens = tokenizeRule(line);
      const chain = tokens[1];
      if (chain === undefined) throw new SyntaxError(`Cannot parse iptables-save line ${JSON.stringify(line)}: no chain`);
      rules.push({ chain, args: tokens.slice(2) });
    }
  }
  return { table, chains, rules };
}

/**
 * Splits a rule line the way iptables-restore does: on spaces, except inside double quotes, where `\"`
 * and `\\` are escapes.
 * @throws SyntaxError on an unterminated quote
 */
export function tokenizeRule(line: string): string[] {
  const tokens: string[] = [];
  let cur = "";
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] ?? "";
    if (quoted) {
      if (c === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) {
        cur += line[i + 1];
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c === '"') {
      quoted = true;
      inToken = true;
    } else if (c === " " || c === "\t") {
      if (inToken) tokens.push(cur);
      cur = "";
      inToken = false;
    } else {
      cur += c;
      inToken = true;
    }
  }
  if (quoted) throw new SyntaxError(`Cannot parse iptables rule ${JSON.stringify(line)}: unterminated quote`);
  if (inToken) tokens.push(cur);
  return tokens;
}

/** Joins rule arguments for an iptables-restore line, quoting the ones that need it (comments). */
export function formatRuleArgs(args: readonly string[]): string {
  return args.map((a) => (a !== "" && /^[^\s"\\']+$/.test(a) ? a : `"${a.replace(/[\\"]/g, (m) => `\\${m}`)}"`)).join(" ");
}

export function sameArgs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}
