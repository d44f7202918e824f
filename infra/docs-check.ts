/**
 * `make docs-check`: README.md and docs/*.md cannot drift from the repository. Fails (exit 1, one line per
 * problem) when the docs name
 *   - a repository file or folder that does not exist (backticked paths, relative links and their #anchors;
 *     generated, git-ignored paths such as `.local/stack.env` are fine),
 *   - a `make` target the Makefile does not define,
 *   - an environment variable no code reads (rows of a "variable" table and `VAR=value` strictly; any other
 *     backticked UPPER_SNAKE name must at least be a name the code uses, e.g. an error code),
 *   - a Prometheus metric no service registers, or an alert no rule in infra/prometheus/rules defines;
 * and when a variable the services, the pipeline or the local stack read is documented nowhere.
 *
 * The checks are pure functions of the docs and the facts gathered from the repository (`gatherFacts`), so
 * the unit test (docs-check.test.ts) plants wrong names and sees each fail. Runs in well under a second.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DocFile {
  /** Repository-relative path, e.g. `docs/drift.md`. */
  readonly path: string;
  readonly text: string;
}

export interface Facts {
  /** Does this repository-relative path exist (file or folder), or is it a generated, git-ignored one? Globs (`*`) must match something. */
  readonly pathOk: (p: string) => boolean;
  /** First path segments that make a backticked token a repository path (top-level folders and files). */
  readonly roots: ReadonlySet<string>;
  readonly makeTargets: ReadonlySet<string>;
  /** Variables a target refuses to run without (`[ -z "$(VERSION)" ] ... exit 2` in its recipe). */
  readonly requiredMakeVars: ReadonlyMap<string, readonly string[]>;
  /** Variables the Makefile reads (`$(VERSION)`), settable as `make promote VERSION=3`. */
  readonly makeVars: ReadonlySet<string>;
  /** Environment variables some code reads (services, pipeline, infra, tests, benchmarks). */
  readonly envRead: ReadonlySet<string>;
  /** Other UPPER_SNAKE names the code uses as strings (error codes, Kafka error names, ...). */
  readonly codeNames: ReadonlySet<string>;
  /** Registered Prometheus metric names, with _bucket/_sum/_count of histograms. */
  readonly metrics: ReadonlySet<string>;
  /** Prefixes that make a lowercase name a metric claim (`scorer_`, `drift_`, ...). */
  readonly metricPrefixes: readonly string[];
  readonly alerts: ReadonlySet<string>;
  /** Headings' anchors per markdown file (repository-relative path). */
  readonly anchors: (mdPath: string) => ReadonlySet<string> | undefined;
}

export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly kind: 'path' | 'anchor' | 'make-target' | 'variable' | 'metric' | 'alert' | 'undocumented-variable';
  readonly name: string;
  readonly message: string;
}

const UPPER = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;
const UPPER_PATTERN = /^\*?_?[A-Z][A-Z0-9_]*\*?$/;

/** GitHub's heading anchor: lower case, punctuation dropped (but - and _), spaces to '-'. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

export function headingAnchors(md: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of md.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (m) out.add(slug(m[1]!));
  }
  return out;
}

interface Span {
  readonly text: string;
  readonly line: number;
  /** Inside a fenced block (a command line) rather than an inline `code` span. */
  readonly block: boolean;
}

/** Inline code spans and fenced code lines, with their line numbers (1-based). */
export function codeSpans(md: string): Span[] {
  const spans: Span[] = [];
  let fenced = false;
  md.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return;
    }
    if (fenced) {
      spans.push({ text: line, line: i + 1, block: true });
      return;
    }
    for (const m of line.matchAll(/(`+)(.+?)\1/g)) spans.push({ text: m[2]!.trim(), line: i + 1, block: false });
  });
  return spans;
}

/** Rows of markdown tables whose header's first cell is "variable": the names in their first cell. */
export function variableTableNames(md: string): { name: string; line: number }[] {
  const out: { name: string; line: number }[] = [];
  let inVarTable = false;
  md.split('\n').forEach((line, i) => {
    if (!line.startsWith('|')) {
      inVarTable = false;
      return;
    }
    const first = line.split('|')[1]?.trim() ?? '';
    if (/^variable$/i.test(first)) {
      inVarTable = true;
      return;
    }
    if (!inVarTable || /^:?-+:?$/.test(first)) return;
    for (const m of first.matchAll(/`([^`]+)`/g)) if (UPPER_PATTERN.test(m[1]!)) out.push({ name: m[1]!, line: i + 1 });
  });
  return out;
}

/** A name with `*` wildcards (`TOPIC_*`, `*_CREATE_TOPICS`) against a set: true when it names at least one. */
export function namesSome(name: string, set: ReadonlySet<string>): boolean {
  if (!name.includes('*')) return set.has(name);
  const re = new RegExp(`^${name.replace(/\*/g, '[A-Z0-9_]+')}$`);
  return [...set].some((n) => re.test(n));
}

const PATH_TOKEN = /^[A-Za-z0-9_.@-][A-Za-z0-9_./@*{},-]*$/;

function pathCandidates(span: string, roots: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const raw of span.split(/[\s,;()"'=|<>[\]]+/)) {
    if (raw.includes('<') || raw.includes('…') || raw.includes('...')) continue;
    const t = raw.replace(/[.:,]+$/, '').replace(/#.*$/, '').replace(/:\d+$/, '');
    if (!t.includes('/') || !PATH_TOKEN.test(t) || t.includes('//')) continue;
    if (!roots.has(t.split('/')[0]!)) continue;
    out.push(t.replace(/\/+$/, ''));
  }
  return out;
}

const ASSIGN = String.raw`[A-Za-z_][A-Za-z0-9_]*=(?:"[^"]*"|\S+)`;
const MAKE = new RegExp(String.raw`(?:^|[\s;&|(\`])make\s+((?:-[-\w]+\s+)*)((?:${ASSIGN}\s*)*)([a-z][a-z0-9-]*(?:\|[a-z][a-z0-9-]*)*)?((?:\s+${ASSIGN})*)`, 'g');

/** Every problem of one markdown file. */
export function checkDoc(doc: DocFile, f: Facts): Problem[] {
  const problems: Problem[] = [];
  const add = (line: number, kind: Problem['kind'], name: string, message: string) => problems.push({ file: doc.path, line, kind, name, message });
  const spans = codeSpans(doc.text);
  const seenVarLines = new Set<string>();

  // Files and folders named in code.
  for (const s of spans) {
    for (const p of pathCandidates(s.text, f.roots)) if (!f.pathOk(p)) add(s.line, 'path', p, `names ${p}, which does not exist in the repository`);
  }
  // Relative links and their anchors.
  doc.text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target)) continue;
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const p = file === '' ? doc.path : normalize(join(dirname(doc.path), file));
      if (file !== '' && !f.pathOk(p)) {
        add(i + 1, 'path', p, `links to ${file}, which does not exist`);
        continue;
      }
      if (anchor && p.endsWith('.md')) {
        const a = f.anchors(p);
        if (a && !a.has(anchor.toLowerCase())) add(i + 1, 'anchor', `${p}#${anchor}`, `links to #${anchor}, which is no heading of ${p}`);
      }
    }
  });
  // make targets and make/env assignments on a make command line.
  for (const s of spans) {
    for (const m of s.text.matchAll(MAKE)) {
      const assigned = `${m[2] ?? ''} ${m[4] ?? ''}`;
      for (const a of assigned.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)) {
        const v = a[1]!;
        if (!f.makeVars.has(v) && !f.envRead.has(v)) add(s.line, 'variable', v, `make ... ${v}=: neither the Makefile nor any code reads ${v}`);
        seenVarLines.add(`${v}@${s.line}`);
      }
      for (const t of (m[3] ?? '').split('|').filter(Boolean)) {
        if (!f.makeTargets.has(t)) add(s.line, 'make-target', t, `names \`make ${t}\`, which the Makefile does not define`);
        const missing = (m[3]!.includes('|') ? [] : (f.requiredMakeVars.get(t) ?? [])).filter((v) => !new RegExp(`(^|\\s)${v}=`).test(assigned));
        if (missing.length) add(s.line, 'make-target', t, `shows \`make ${t}\` without ${missing.join(', ')}, which it requires (exit 2)`);
      }
    }
  }
  // VAR=value in commands: a variable some code (or the Makefile) reads.
  for (const s of spans) {
    for (const m of s.text.matchAll(/(?:^|[\s;&|(])([A-Z][A-Z0-9_]*)=/g)) {
      const v = m[1]!;
      if (!UPPER.test(v) && !f.makeVars.has(v)) continue;
      if (seenVarLines.has(`${v}@${s.line}`)) continue;
      seenVarLines.add(`${v}@${s.line}`);
      if (!f.envRead.has(v) && !f.makeVars.has(v)) add(s.line, 'variable', v, `sets ${v}=, which no code reads`);
    }
  }
  // Configuration tables: strictly variables some code reads.
  for (const { name, line } of variableTableNames(doc.text)) {
    seenVarLines.add(`${name}@${line}`);
    if (!namesSome(name, f.envRead)) add(line, 'variable', name, `documents the variable ${name}, which no code reads`);
  }
  // Any other backticked UPPER_SNAKE name: a variable or a name the code uses.
  for (const s of spans) {
    if (s.block || !UPPER_PATTERN.test(s.text) || !/[A-Z]_|_[A-Z]/.test(s.text) || seenVarLines.has(`${s.text}@${s.line}`)) continue;
    if (!namesSome(s.text, f.envRead) && !namesSome(s.text, f.codeNames) && !namesSome(s.text, f.makeVars)) {
      add(s.line, 'variable', s.text, `names ${s.text}: no code reads such a variable or uses such a name`);
    }
  }
  // Metrics (in code spans) and alerts.
  for (const s of spans) {
    for (const m of s.text.matchAll(/\b([a-z][a-z0-9]*_[a-z0-9_]+)\b/g)) {
      const name = m[1]!;
      if (!f.metricPrefixes.some((p) => name.startsWith(p))) continue;
      if (!f.metrics.has(name)) add(s.line, 'metric', name, `names the metric ${name}, which no service registers`);
    }
    const line = doc.text.split('\n')[s.line - 1] ?? '';
    if (!s.block && /\balert/i.test(line) && /^[A-Z][a-z]+(?:[A-Z][a-z0-9]+)+$/.test(s.text) && !f.alerts.has(s.text)) {
      add(s.line, 'alert', s.text, `names the alert ${s.text}, which no rule in infra/prometheus/rules defines`);
    }
  }
  return problems;
}

/** Variables read by the services, the pipeline or the local stack that no doc mentions. */
export function undocumented(docs: readonly DocFile[], mustDocument: ReadonlyMap<string, string>): Problem[] {
  const text = docs.map((d) => d.text).join('\n');
  const out: Problem[] = [];
  for (const [v, where] of mustDocument) {
    if (!new RegExp(`(^|[^A-Z0-9_])${v}([^A-Z0-9_]|$)`).test(text)) {
      out.push({ file: where, line: 0, kind: 'undocumented-variable', name: v, message: `reads ${v}, which README.md and docs/*.md do not document` });
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ facts

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Environment reads in source text: `env.X`, `env['X']`, `get('X')`, zod shape keys `X: env.`, JSON `"env": "X"`, helper literals. */
export function envReadsIn(text: string, shell = false): Set<string> {
  const out = new Set<string>();
  const res = [
    /\b(?:process\.env|[a-zA-Z]*[eE]nv|environ|raw)\??\.([A-Z][A-Z0-9_]+)\b/g,
    /\b(?:process\.env|[a-zA-Z]*[eE]nv|environ|raw)\s*\[\s*['"]([A-Z][A-Z0-9_]+)['"]\s*\]/g,
    /\b(?:get|getenv)\(\s*['"]([A-Z][A-Z0-9_]+)['"]/g,
    /(?:^|[{,])\s*([A-Z][A-Z0-9_]+)\s*:\s*(?:env\.|z\.)/gm,
    /"env"\s*:\s*"([A-Z][A-Z0-9_]+)"/g,
    /\b(?:port|findJava\(\s*\d+\s*,|envFlag|envInt|envString)\(?\s*['"]([A-Z][A-Z0-9_]+)['"]/g,
    // Python helpers taking the environment first (`_int(env, "RETRAIN_MAX_ATTEMPTS", ...)`) and named
    // variable constants (`STORE_ENV = "ARTIFACT_STORE_URL"`).
    /\(\s*env\s*,\s*['"]([A-Z][A-Z0-9_]+)['"]/g,
    /\b[A-Z_]*_ENV\s*=\s*['"]([A-Z][A-Z0-9_]+)['"]/g,
  ];
  // Shell and compose files: ${VAR:-default} / ${VAR?} read the environment (not TypeScript's template literals).
  if (shell) res.push(/\$\{([A-Z][A-Z0-9_]+)(?::?[-=?][^}]*)\}/g);
  for (const re of res) for (const m of text.matchAll(re)) out.add(m[1]!);
  return out;
}

function gitFiles(): string[] {
  const r = spawnSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`git ls-files failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

function globRe(glob: string): RegExp {
  const alt = glob.replace(/\{([^}]+)\}/g, (_, a: string) => `(${a.split(',').join('|')})`);
  return new RegExp(`^${alt.replace(/\./g, '\\.').replace(/\*\*/g, '@@DSTAR@@').replace(/\*/g, '[^/]*').replace(/@@DSTAR@@/g, '.*')}(/.*)?$`);
}

/** The rules of the repository's .gitignore files (root and nested), for `ignoredBy`. */
export interface IgnoreRule {
  readonly base: string;
  readonly re: RegExp;
  readonly dirOnly: boolean;
  readonly negate: boolean;
}

export function parseGitignore(text: string, base = ''): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split('\n')) {
    let l = raw.trim();
    if (!l || l.startsWith('#')) continue;
    const negate = l.startsWith('!');
    if (negate) l = l.slice(1);
    const dirOnly = l.endsWith('/');
    l = l.replace(/\/+$/, '');
    const anchored = l.startsWith('/') || l.includes('/');
    l = l.replace(/^\//, '');
    const body = l.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '@@DSTAR@@').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/@@DSTAR@@/g, '.*');
    rules.push({ base, re: new RegExp(`^${anchored ? '' : '(?:.*/)?'}${body}$`), dirOnly, negate });
  }
  return rules;
}

/** Git-ignored (generated) path: the path or one of its folders matches a rule (the last matching rule wins). */
export function ignoredBy(rules: readonly IgnoreRule[], p: string): boolean {
  const parts = p.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const sub = parts.slice(0, i).join('/');
    const isDir = i < parts.length;
    let ignored = false;
    for (const r of rules) {
      if (r.base && !sub.startsWith(`${r.base}/`)) continue;
      const rel = r.base ? sub.slice(r.base.length + 1) : sub;
      if ((isDir || !r.dirOnly || !/\.[a-z0-9]+$/i.test(rel)) && r.re.test(rel)) ignored = !r.negate;
    }
    if (ignored) return true;
  }
  return false;
}

export function makefileFacts(makefile: string): { targets: Set<string>; vars: Set<string>; required: Map<string, string[]> } {
  const targets = new Set<string>();
  const vars = new Set<string>();
  const required = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of makefile.split('\n')) {
    if (line.startsWith('\t')) {
      if (/exit 2/.test(line)) {
        const need = [...line.matchAll(/-z\s+"\$\(([A-Z][A-Z0-9_]*)\)"/g)].map((x) => x[1]!);
        for (const t of current) required.set(t, [...(required.get(t) ?? []), ...need]);
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([A-Za-z0-9_. -]+?)\s*:(?![=])/.exec(line);
    current = [];
    if (m && !/^\s*\.PHONY/.test(m[1]!) && !/:\s*[A-Z_]+\s*[:?]?=/.test(line)) current = m[1]!.split(/\s+/).filter((t) => t && !t.startsWith('.') && !t.includes('$'));
    for (const t of current) targets.add(t);
    const phony = /^\.PHONY\s*:\s*(.+)$/.exec(line);
    if (phony) for (const t of phony[1]!.split(/\s+/)) if (t) targets.add(t);
  }
  for (const m of makefile.matchAll(/\$\(([A-Z][A-Z0-9_]*)\)/g)) vars.add(m[1]!);
  for (const m of makefile.matchAll(/\$\$\{?([A-Z][A-Z0-9_]*)/g)) vars.add(m[1]!);
  return { targets, vars, required };
}

/** Metric names registered through prom-client (`name: 'x'` in a Counter/Gauge/Histogram/Summary). */
export function metricsIn(text: string): { name: string; kind: string }[] {
  const out: { name: string; kind: string }[] = [];
  for (const m of text.matchAll(/new\s+(?:client\.)?(Counter|Gauge|Histogram|Summary)\s*(?:<[^>]*>)?\(\s*\{[^}]*?name:\s*[`'"]([a-z_:][a-z0-9_:]*)[`'"]/gs)) {
    out.push({ kind: m[1]!, name: m[2]! });
  }
  return out;
}

export function gatherFacts(root = ROOT): { facts: Facts; mustDocument: Map<string, string>; docs: DocFile[] } {
  const files = gitFiles();
  const fileSet = new Set(files);
  const dirSet = new Set(files.flatMap((f) => f.split('/').slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join('/'))));
  const roots = new Set([...files.map((f) => f.split('/')[0]!), '.local', '.cache', 'models', 'mlruns', 'test-artifacts']);
  const ignoreRules = files.filter((f) => f === '.gitignore' || f.endsWith('/.gitignore')).flatMap((f) => parseGitignore(readFileSync(join(root, f), 'utf8'), dirname(f) === '.' ? '' : dirname(f)));
  const isIgnored = (p: string) => ignoredBy(ignoreRules, p);
  const pathOk = (p: string): boolean => {
    const n = normalize(p).replace(/\/+$/, '');
    if (n.includes('*') || n.includes('{')) {
      const re = globRe(n);
      return files.some((f) => re.test(f)) || isIgnored(n.replace(/\*+/g, 'x').replace(/\{([^,}]+)[^}]*\}/g, '$1'));
    }
    return fileSet.has(n) || dirSet.has(n) || existsSync(join(root, n)) || isIgnored(n);
  };

  const codeFiles = files.filter((f) => /\.(ts|mjs|py|sh|json|ya?ml)$/.test(f) && !f.startsWith('docs/') && !f.startsWith('infra/docs-check') && !f.endsWith('package-lock.json') && !f.startsWith('pipeline/data/'));
  const envRead = new Set<string>();
  const codeNames = new Set<string>();
  const mustDocument = new Map<string, string>();
  const metrics = new Set<string>();
  const isDocumentedSurface = (f: string) =>
    /^(services|pipeline|infra)\//.test(f) && !/(\.test\.ts|\/tests\/|test_[^/]*\.py)$/.test(f) && !f.includes('/tests/') && !f.endsWith('docs-check.ts');
  for (const f of codeFiles) {
    const text = readFileSync(join(root, f), 'utf8');
    const reads = envReadsIn(text, /\.(sh|ya?ml)$/.test(f));
    for (const v of reads) {
      envRead.add(v);
      if (isDocumentedSurface(f) && !mustDocument.has(v)) mustDocument.set(v, f);
    }
    for (const m of text.matchAll(/['"`]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['"`]/g)) codeNames.add(m[1]!);
    for (const m of text.matchAll(/\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b/g)) if (/\.(py|sh)$/.test(f)) codeNames.add(m[1]!);
    // Constants, and object keys (variables the code sets for a child process, e.g. the retrain command's).
    for (const m of text.matchAll(/\b(?:const|let|var|enum)\s+([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b/g)) codeNames.add(m[1]!);
    for (const m of text.matchAll(/^\s*([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\s*:/gm)) codeNames.add(m[1]!);
    if (/\.(ts|mjs)$/.test(f) && !f.endsWith('.test.ts')) {
      for (const m of metricsIn(text)) {
        metrics.add(m.name);
        if (m.kind === 'Histogram' || m.kind === 'Summary') for (const s of ['_bucket', '_sum', '_count']) metrics.add(m.name + s);
      }
    }
  }
  // Process metrics of prom-client's collectDefaultMetrics (the services call it).
  const metricPrefixes = [...new Set([...metrics].map((m) => `${m.split('_')[0]}_`))];

  const mk = makefileFacts(readFileSync(join(root, 'Makefile'), 'utf8'));
  for (const v of mk.vars) envRead.add(v);
  const alerts = new Set<string>();
  for (const f of files.filter((x) => x.startsWith('infra/prometheus/rules/'))) {
    for (const m of readFileSync(join(root, f), 'utf8').matchAll(/-\s*alert:\s*(\S+)/g)) alerts.add(m[1]!);
  }
  const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((d) => d.endsWith('.md')).map((d) => `docs/${d}`)].map((p) => ({ path: p, text: readFileSync(join(root, p), 'utf8') }));
  const anchorCache = new Map<string, Set<string>>();
  const anchors = (p: string) => {
    if (!anchorCache.has(p)) {
      const full = join(root, p);
      if (!existsSync(full)) return undefined;
      anchorCache.set(p, headingAnchors(readFileSync(full, 'utf8')));
    }
    return anchorCache.get(p);
  };
  return {
    facts: { pathOk, roots, makeTargets: mk.targets, requiredMakeVars: mk.required, makeVars: mk.vars, envRead, codeNames, metrics, metricPrefixes, alerts, anchors },
    mustDocument,
    docs,
  };
}

export function runDocsCheck(root = ROOT): Problem[] {
  const { facts, mustDocument, docs } = gatherFacts(root);
  return [...docs.flatMap((d) => checkDoc(d, facts)), ...undocumented(docs, mustDocument)];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  const problems = runDocsCheck();
  for (const p of problems) console.error(`${relative(process.cwd(), join(ROOT, p.file))}${p.line ? `:${p.line}` : ''}: ${p.kind}: ${p.message}`);
  console.error(`docs-check: ${problems.length} problem${problems.length === 1 ? '' : 's'} (${Date.now() - t0} ms)`);
  process.exit(problems.length ? 1 : 0);
}
