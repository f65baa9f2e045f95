// native/iptables/codec: the one iptables text codec of the project, used by the plugin (ipMasq, hostPort)
// and the agent (masquerade rules). Pure: reads `iptables-save` output into chains and rules, writes rule
// arguments back in the quoting `iptables-restore` reads, and compares rules.
//
// The grammar is iptables 1.8's own (xshared.c add_param_to_argv, xtables_save_string):
//  - blanks separate arguments, except inside double quotes;
//  - inside quotes a backslash takes the next character literally (`\"`, `\\`, `\'`, also `\x` = `x`);
//    outside quotes a backslash is an ordinary character;
//  - an opening quote does not start a new argument (`x"y z"` is `xy z`); a closing quote ends one (`""` is
//    an empty argument); a quote left open runs to the end of the line;
//  - iptables-save quotes an argument that holds anything but [A-Za-z0-9_-] and escapes `"`, `\`, `'`.
// Rules are compared as argument lists, not as text: iptables-save prints every rule in one canonical order
// and the renderers emit that order, so a rule that is already right compares equal and costs no write.

export interface SavedRule {
  readonly chain: string;
  /** The rule's arguments after "-A <chain>", unquoted. */
  readonly args: readonly string[];
}

export interface SavedTable {
  readonly table: string;
  readonly chains: ReadonlySet<string>;
  readonly rules: readonly SavedRule[];
}

/** The table as an empty one (absent, or its family unsupported): no chains, no rules. */
export const emptyTable = (table: string): SavedTable => ({ table, chains: new Set<string>(), rules: [] });

/**
 * Splits a rule line into arguments exactly as iptables-restore does (see the grammar above). Never throws:
 * whatever iptables-save printed, iptables-restore would read it this way.
 */
export function tokenizeRule(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted) {
      if (c === "\\" && i + 1 < line.length) cur += line[++i];
      else if (c === '"') {
        quoted = false;
        out.push(cur); // a closing quote ends the argument, even an empty one
        cur = "";
      } else cur += c;
    } else if (c === '"') {
      quoted = true;
    } else if (c === " " || c === "\t" || c === "\n") {
      if (cur !== "") out.push(cur);
      cur = "";
    } else {
      cur += c;
    }
  }
  if (quoted || cur !== "") out.push(cur);
  return out;
}

const PLAIN_ARG_RE = /^[^\s"'\\]+$/;

/**
 * One argument as iptables-restore must read it back: as is when it holds no blank, quote or backslash;
 * otherwise in double quotes with `"`, `\` and `'` escaped, which is how iptables-save prints comments.
 */
export function quoteArg(arg: string): string {
  if (PLAIN_ARG_RE.test(arg)) return arg;
  return `"${arg.replace(/["'\\]/g, (c) => `\\${c}`)}"`;
}

/** Rule arguments joined for an iptables-restore line. */
export const formatRuleArgs = (args: readonly string[]): string => args.map(quoteArg).join(" ");

/** One iptables-restore line: `-A CHAIN args`, `-D`, `-C` (check: fails the payload when absent), `-I CHAIN 1 args` (pass "1"). */
export const formatRule = (op: "-A" | "-D" | "-C" | "-I", chain: string, args: readonly string[]): string =>
  [op, chain, ...args.map(quoteArg)].join(" ");

export const sameArgs = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** The value following `flag` in a rule's arguments (e.g. "-j", "--comment", "-s"). */
export function argOf(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

/** The `-j` target of a rule. */
export const targetOf = (rule: SavedRule): string | undefined => argOf(rule.args, "-j");

/**
 * Reads the `*<table>` block of iptables-save output. A table that is absent yields no chains and no rules
 * (a fresh namespace where nothing created it yet). Other tables are skipped.
 */
export function parseIptablesSave(text: string, table: string): SavedTable {
  const chains = new Set<string>();
  const rules: SavedRule[] = [];
  let inTable = false;
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (line.startsWith("*")) {
      inTable = line.slice(1).trim() === table;
    } else if (!inTable) {
      continue;
    } else if (line === "COMMIT") {
      inTable = false;
    } else if (line.startsWith(":")) {
      const name = line.slice(1).split(" ")[0] ?? "";
      if (name !== "") chains.add(name);
    } else if (line.startsWith("-A ")) {
      const tokens = tokenizeRule(line);
      const chain = tokens[1];
      if (chain !== undefined) rules.push({ chain, args: tokens.slice(2) });
    }
  }
  return { table, chains, rules };
}

/** Rules anywhere in the table that jump to `chain` (not counting the chain's own rules). */
export const jumpsTo = (table: SavedTable, chain: string): SavedRule[] =>
  table.rules.filter((r) => r.chain !== chain && targetOf(r) === chain);
