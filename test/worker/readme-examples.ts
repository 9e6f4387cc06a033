/*
 * The README's examples, parsed so that test/worker/readme.test.ts can run them as written. A ```sh block is
 * a script: `export NAME=value` sets a variable of the Worker's environment, `NAME='...'` a shell variable,
 * and each `curl` against localhost:8787 is a request. The `#` lines right under a command are its
 * documented answer (`# 422 {...}`: the status, 200 when left out, then the body, which may carry on over
 * further `#` lines); a ```http block right after the script documents its last command's status, headers
 * and body.
 */

export interface Command {
  line: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  answer?: Answer;
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  /** The documented body; undefined when none is documented (a 204, or a command shown without it). */
  body?: unknown;
}

export interface Script {
  /** The heading the script sits under, and its place there: a test's name. */
  title: string;
  vars: Record<string, string>;
  commands: Command[];
}

export interface Fence {
  lang: string;
  text: string;
  /** Where the block starts and ends in the document. */
  start: number;
  end: number;
}

/** A Markdown document's fenced blocks. */
export function fencesOf(markdown: string): Fence[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((match) => ({
    lang: match[1] as string,
    text: match[2] as string,
    start: match.index,
    end: match.index + match[0].length,
  }));
}

/** The words of one shell line: '...' kept as is, "..." and bare words with `$NAME` expanded, `#` a comment. */
function words(line: string, shellVars: Record<string, string>): string[] {
  const expand = (text: string) => text.replace(/\$(\w+)/g, (_, name: string) => shellVars[name] ?? "");
  const out: string[] = [];
  let word: string | undefined;
  let i = 0;
  while (i < line.length) {
    const char = line[i] as string;
    if (/\s/.test(char)) {
      if (word !== undefined) out.push(word);
      word = undefined;
      i++;
    } else if (char === "#" && word === undefined) {
      break;
    } else if (char === "'" || char === '"') {
      const end = line.indexOf(char, i + 1);
      const quoted = line.slice(i + 1, end);
      word = (word ?? "") + (char === "'" ? quoted : expand(quoted));
      i = end + 1;
    } else {
      const end = line.slice(i).search(/[\s'"]/);
      const stop = end === -1 ? line.length : i + end;
      word = (word ?? "") + expand(line.slice(i, stop));
      i = stop;
    }
  }
  if (word !== undefined) out.push(word);
  return out;
}

/** A curl command line as the request it sends. Flags the examples do not use fail the test. */
function commandOf(line: string, shellVars: Record<string, string>): Command {
  const args = words(line, shellVars).slice(1);
  const command: Command = { line, method: "GET", path: "", headers: {} };
  let explicitMethod: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (/^-[si]+$/.test(arg)) continue;
    if (arg === "-X") explicitMethod = args[++i];
    else if (arg === "-H") {
      const [name, ...value] = (args[++i] as string).split(":");
      command.headers[(name as string).trim().toLowerCase()] = value.join(":").trim();
    } else if (arg === "-d") command.body = args[++i];
    else if (arg.startsWith("localhost:8787/")) command.path = arg.slice("localhost:8787".length);
    else throw new Error(`README: curl argument this test does not know: ${arg} in ${line}`);
  }
  if (command.body !== undefined) {
    command.method = "POST";
    // What curl sends with -d when no content type is given.
    command.headers["content-type"] ??= "application/x-www-form-urlencoded";
  }
  command.method = explicitMethod ?? command.method;
  return command;
}

/** The first JSON value at the start of `text` and what follows it. */
function leadingJson(text: string): unknown {
  for (let end = text.length; end > 0; end--) {
    if (!"]}".includes(text[end - 1] as string)) continue;
    try {
      return JSON.parse(text.slice(0, end));
    } catch {}
  }
  throw new Error(`README: no JSON at the start of ${text}`);
}

/** `# 422 {...}` (and the `#` lines that carry on its JSON) as an answer. */
function answerOf(lines: string[]): Answer {
  const text = lines.map((line) => line.replace(/^#\s?/, "")).join("\n");
  const match = /^\s*(\d{3})?\s*([\s\S]*)$/.exec(text) as RegExpExecArray;
  const rest = (match[2] as string).trim();
  const body = /^[[{]/.test(rest) ? leadingJson(rest) : undefined;
  return { status: Number(match[1] ?? 200), headers: {}, body };
}

/** An ```http block: status line, headers, blank line, body. */
function httpAnswerOf(text: string): Answer {
  const [head, ...rest] = text.split("\n\n");
  const [statusLine, ...headerLines] = (head as string).split("\n");
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const at = line.indexOf(":");
    headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  const body = rest.join("\n\n").trim();
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine as string)?.[1]);
  return { status, headers, body: body === "" ? undefined : JSON.parse(body) };
}

/** Every ```sh block of `markdown` that sends a curl, with its documented answers. */
export function scriptsOf(markdown: string): Script[] {
  const fences = fencesOf(markdown);
  const found: Script[] = [];
  fences.forEach((fence, index) => {
    if (fence.lang !== "sh") return;
    const headings = [...markdown.slice(0, fence.start).matchAll(/^#{2,3} (.+)$/gm)];
    const heading = headings.at(-1)?.[1] ?? "the top";
    const before = found.filter((script) => script.title.startsWith(`${heading} (`)).length;
    const script: Script = { title: `${heading} (${before + 1})`, vars: {}, commands: [] };
    const shellVars: Record<string, string> = {};
    const lines = fence.text.replace(/\\\n\s*/g, "").split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = (lines[i] as string).trim();
      const exported = /^export (\w+)=(\S+)/.exec(line);
      const assigned = /^(\w+)=(.*)$/.exec(line);
      if (exported) script.vars[exported[1] as string] = exported[2] as string;
      else if (assigned) shellVars[assigned[1] as string] = words(assigned[2] as string, shellVars)[0] ?? "";
      else if (line.startsWith("curl ")) {
        const command = commandOf(line, shellVars);
        const answer: string[] = [];
        while ((lines[i + 1] ?? "").startsWith("#")) answer.push(lines[++i] as string);
        if (answer.length > 0) command.answer = answerOf(answer);
        script.commands.push(command);
      }
    }
    const next = fences[index + 1];
    const last = script.commands.at(-1);
    if (next?.lang === "http" && last && markdown.slice(fence.end, next.start).trim() === "") {
      last.answer = httpAnswerOf(next.text);
    }
    if (script.commands.length > 0) found.push(script);
  });
  return found;
}
